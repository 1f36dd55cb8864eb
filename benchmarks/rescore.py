"""Rescore throughput: every lead re-scored on the bulk path, phase by phase, against two floors
measured in the same run: a bare aggregation (sum of points per lead) over the activity columns
read from the table, and the bare *decayed* sum (points × half-life decay, summed per lead) over
the columns of the memory-mapped activity log.

    python benchmarks/rescore.py                      # SQLite, 20,000 leads / 1,000,000 activities
    python benchmarks/rescore.py --full               # 1,000,000 leads / 50,000,000 activities
    python benchmarks/rescore.py --leads 100000 --activities 5000000
    python benchmarks/rescore.py --db postgresql://postgres@127.0.0.1:5432/postgres
    python benchmarks/rescore.py --no-table           # skip the (slow) rescore that reads the table
    python benchmarks/rescore.py --keep ~/.cache/leadrelay-bench --no-table   # generate once, reuse after

The data set is written straight into the tables with the raw driver (generation time is not a
figure). The activity log is built once (its own figure: a one-time cost); then the rescore runs
from the log, and (unless ``--no-table``) once more reading the table as before. Each runs in a
fresh process so that its peak RSS (``getrusage``) is its own. Figures go to stdout and to
``benchmarks/results/rescore-<db>.json``.

``--keep FOLDER`` keeps the generated data set for the next run of the same size (a SQLite file and
its activity log in FOLDER; on PostgreSQL a database named ``leadrelay_bench_rescore_<leads>_<activities>``
on the server and the log in FOLDER). A data set counts as generated once its ``.done`` marker is
written (a run killed while generating starts again). Before each rescore the stored scores are
reset to the generated ones (not timed), so every run writes every lead as the first one did; the
log build then only catches up (its figure is the refresh, not the first build).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from _shared import in_fresh_process, machine, positive, publish

from leadrelay import FakeClock, LeadRelay
from leadrelay.adapters.files.activity_log import ActivityLog
from leadrelay.adapters.store import queries
from leadrelay.adapters.store.bulk_io import read_activities, read_campaigns, read_leads
from leadrelay.adapters.store.schema import normalise_url
from leadrelay.adapters.store.scratch import fresh_database
from leadrelay.bulk.engine import BulkEngine, Signatures, fields_read, to_us
from leadrelay.services.activity_log import refresh
from leadrelay.services.rescore import CHUNK_LEADS, rescore

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
TYPES = [
    ("email_opened", {"kind": "newsletter"}),
    ("email_opened", {"kind": "document_delivery"}),
    ("email_clicked", {}),
    ("page_viewed", {"page_kind": "service"}),
    ("page_viewed", {"page_kind": "pricing"}),
    ("page_viewed", {"page_kind": "case_study"}),
    ("document_downloaded", {"document": "wp-dx"}),
    ("document_downloaded", {"document": "wp-cost"}),
    ("webinar_registered", {}),
    ("webinar_attended", {}),
    ("survey_answered", {"wants_contact": True}),
    ("trade_show_visited", {}),
    ("booth_visited", {"detailed_talk": True}),
    ("ad_clicked", {}),
    ("form_submitted", {}),
]
INDUSTRIES = ["manufacturing", "it", "education", "finance", "retail"]
SENIORITY = ["manager", "staff", "director", None]
PRODUCTS = [None, None, "analytics", "crm"]
STAMP = "%Y-%m-%d %H:%M:%S.%f"


def _stamps(micros: np.ndarray) -> list[str]:
    return [s.replace("T", " ") for s in np.datetime_as_string(micros.astype("datetime64[us]"), unit="us").tolist()]


_CAMPAIGN_COLUMNS = ("id", "code", "name", "channel", "kind", "created_at")
_ACCOUNT_COLUMNS = ("id", "domain", "industry", "employees", "country", "created_at", "updated_at")
_LEAD_COLUMNS = (
    "id",
    "email",
    "seniority",
    "department",
    "country",
    "list_source",
    "custom",
    "account_id",
    "created_at",
    "updated_at",
    "stage",
    "stage_at",
    "anchor_stage",
    "anchor_check",
    "fit_score",
    "engagement_score",
    "total_score",
    "fit_passed",
    "priority",
    "recycled_count",
)
_ACTIVITY_COLUMNS = (
    "id",
    "key",
    "lead_id",
    "type",
    "occurred_at",
    "recorded_at",
    "campaign_id",
    "product",
    "properties",
)


def _mark(pg: bool) -> str:
    """The driver's own placeholder (this runs on the raw driver cursor)."""
    return "%s" if pg else "?"


def generate(url: str, leads: int, activities: int, seed: int = 1) -> None:
    """Accounts, leads (stage sal: not re-judged for stage moves) and activities, in bulk."""
    rng = np.random.default_rng(seed)
    with LeadRelay.open(url, clock=FakeClock(NOW)) as relay:
        relay.playbook()
        pg = relay.store.engine.dialect.name == "postgresql"
        with relay.store.engine.begin() as connection:
            raw = connection.connection.driver_connection
            assert raw is not None
            cursor = raw.cursor()
            now_text = NOW.strftime(STAMP) + ("+00" if pg else "")
            companies = max(leads // 5, 1)
            cursor.executemany(
                queries.insert_rows("campaigns", _CAMPAIGN_COLUMNS, params=[_mark(pg)] * len(_CAMPAIGN_COLUMNS)),
                [(i + 1, f"c{i}", f"Campaign {i}", "webinar", "nurture", now_text) for i in range(20)],
            )
            account_rows = [
                (i + 1, f"company{i}.co.jp", INDUSTRIES[i % 5], int(50 + (i * 37) % 3000), "JP", now_text, now_text)
                for i in range(companies)
            ]
            lead_rows = [
                (
                    i + 1,
                    f"person{i}@company{i % companies}.co.jp",
                    SENIORITY[i % 4],
                    "it",
                    "JP",
                    "house",
                    "{}",
                    i % companies + 1,
                    now_text,
                    now_text,
                    "sal",
                    now_text,
                    "sal",
                    False,
                    0.0,
                    0.0,
                    0.0,
                    False,
                    False,
                    0,
                )
                for i in range(leads)
            ]
            for table, columns, rows in (
                ("accounts", _ACCOUNT_COLUMNS, account_rows),
                ("leads", _LEAD_COLUMNS, lead_rows),
            ):
                if pg:
                    with cursor.copy(queries.copy_rows(table, columns)) as copy:
                        for row in rows:
                            copy.write_row(row)
                else:
                    cursor.executemany(queries.insert_rows(table, columns), rows)
            del lead_rows, account_rows
            props = [json.dumps(p) for _, p in TYPES]
            step = 1_000_000
            for start in range(0, activities, step):
                count = min(step, activities - start)
                lead_ids = rng.integers(1, leads + 1, count)
                kinds = rng.integers(0, len(TYPES), count)
                ages = rng.integers(0, 200 * 86_400_000_000, count)
                times = _stamps(to_us(NOW) - ages)
                campaigns = rng.integers(0, 21, count)
                products = rng.integers(0, len(PRODUCTS), count)
                activity_rows = [
                    (
                        start + i + 1,
                        f"b{start + i}",
                        int(lead_ids[i]),
                        TYPES[k][0],
                        times[i] + ("+00" if pg else ""),
                        now_text,
                        int(campaigns[i]) or None,
                        PRODUCTS[products[i]],
                        props[k],
                    )
                    for i, k in enumerate(kinds.tolist())
                ]
                if pg:
                    with cursor.copy(queries.copy_rows("activities", _ACTIVITY_COLUMNS)) as copy:
                        for activity_row in activity_rows:
                            copy.write_row(activity_row)
                else:
                    cursor.executemany(queries.insert_rows("activities", _ACTIVITY_COLUMNS), activity_rows)
            if pg:
                cursor.execute(queries.analyze())


def bare_aggregation(url: str) -> dict[str, float]:
    """Read the same columns chunk by chunk and sum base points per lead: the floor for compute."""
    with LeadRelay.open(url, clock=FakeClock(NOW)) as relay:
        playbook = relay.playbook().playbook
        with relay.store.reading() as tx:
            table = read_leads(tx, fields_read(playbook))
            campaigns = read_campaigns(tx)
            signatures = Signatures()
            engine = BulkEngine(playbook, NOW, table.profiles, signatures)
            read = bare = compute = 0.0
            checksum = 0.0
            for lo in range(0, len(table), CHUNK_LEADS):
                hi = min(lo + CHUNK_LEADS, len(table))
                started = time.perf_counter()
                columns = read_activities(tx, table.ids[lo:hi], signatures, campaigns)
                read += time.perf_counter() - started
                started = time.perf_counter()
                points = np.array(
                    [sum(r.points for r in playbook.rules_by_type.get(s.type, ())) for s in signatures.items]
                )
                checksum += float(np.bincount(columns.lead, weights=points[columns.sig], minlength=hi - lo).sum())
                bare += time.perf_counter() - started
                started = time.perf_counter()
                engine.assess(table.profile[lo:hi], columns)
                compute += time.perf_counter() - started
    return {"read_seconds": read, "bare_seconds": bare, "compute_seconds": compute, "checksum": checksum}


def decayed_floor(folder: Path) -> dict[str, float]:
    """The bare decayed sum over the mapped log: one weight per signature, ``0.5 ** (age / 30 d)``,
    summed per lead — the least any exact rescore must do over these columns."""
    log = ActivityLog(folder)
    manifest = log.manifest()
    mapped = log.open(manifest)
    started = time.perf_counter()
    weights = np.array([1.0 + (i % 7) for i in range(max(len(manifest.signatures), 1))])
    total = 0.0
    now_us = to_us(NOW)
    for segment in mapped.segments:
        step = 5_000_000
        for start in range(0, segment.segment.rows, step):
            lead, at, sig = segment.take(start, min(start + step, segment.segment.rows))
            factor = np.power(0.5, (now_us - at) / (30 * 86_400e6))
            total += float(np.bincount(lead, weights=weights[sig] * factor).sum())
    seconds = time.perf_counter() - started
    mapped.close()
    return {"decayed_floor_seconds": seconds, "checksum": total}


def reset_scores(url: str) -> None:
    """Put every lead's stored scores back to the generated ones (a kept data set's next run).
    On PostgreSQL the leads' dead rows are vacuumed away after (what autovacuum does between two
    rescores of a real database): otherwise each run leaves two versions of every lead behind
    and the next one's ``UPDATE`` finds no room for HOT updates and slows down run after run."""
    with LeadRelay.open(url, clock=FakeClock(NOW)) as relay:
        with relay.store.engine.begin() as connection:
            connection.exec_driver_sql(queries.RESET_SCORES_FOR_BENCHMARK)
        if relay.store.engine.dialect.name == "postgresql":
            with relay.store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.exec_driver_sql(queries.vacuum_analyze("leads"))


@contextmanager
def kept_database(server: str | None, folder: Path, leads: int, activities: int) -> Iterator[tuple[str, bool]]:
    """The data set of this size kept in ``folder`` (and on the server): its URL and whether it was
    generated already."""
    folder.mkdir(parents=True, exist_ok=True)
    name = f"rescore_{leads}_{activities}"
    marker = folder / f"{name}{'-pg' if server else ''}.done"
    if server is None:
        path = folder / f"{name}.db"
        if not marker.exists():
            for stale in folder.glob(f"{name}.db*"):
                if stale.is_file():
                    stale.unlink()
        yield f"sqlite:///{path}", marker.exists()
    else:
        url = sa.engine.make_url(normalise_url(server))
        database = f"leadrelay_bench_{name}"
        admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as connection:
                exists = connection.execute(sa.text(queries.DATABASE_EXISTS), {"name": database}).first() is not None
                if exists and not marker.exists():
                    connection.exec_driver_sql(queries.drop_database(database))
                    exists = False
                if not exists:
                    connection.exec_driver_sql(queries.create_database(database))
        finally:
            admin.dispose()
        yield url.set(database=database).render_as_string(hide_password=False), marker.exists()
    if not marker.exists():
        marker.write_text(json.dumps({"leads": leads, "activities": activities}) + "\n", encoding="utf-8")


def _own_peak_mb() -> float:
    """This process's own peak resident memory: ``VmHWM`` of its address space (``ru_maxrss`` on
    Linux also carries the peak of the parent that started it, here the generator's)."""
    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(url: str, task: str, folder: str | None, out: Any) -> None:
    started = time.perf_counter()
    figures: dict[str, Any]
    if task == "rescore":
        with LeadRelay.open(url, clock=FakeClock(NOW)) as relay:
            playbook = relay.playbook().playbook
            report = rescore(relay.store, playbook, NOW, log=Path(folder) if folder else None)
        figures = {"report": report.as_json()}
    elif task == "build":
        with LeadRelay.open(url, clock=FakeClock(NOW)) as relay:
            figures = {"status": refresh(relay.store, Path(str(folder))).as_json()}
    elif task == "floor":
        figures = decayed_floor(Path(str(folder)))
    else:
        figures = bare_aggregation(url)
    figures["wall_seconds"] = time.perf_counter() - started
    figures["cpu_seconds"] = time.process_time()  # every thread of this process, since it started
    figures["peak_rss_mb"] = _own_peak_mb()
    out.put(figures)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=positive, default=20_000)
    parser.add_argument("--activities", type=positive, default=1_000_000)
    parser.add_argument("--full", action="store_true", help="1,000,000 leads and 50,000,000 activities")
    parser.add_argument("--db", default=None, help="PostgreSQL server URL (default: a SQLite file in a temp folder)")
    parser.add_argument("--tmp", type=Path, default=None, help="Folder for the SQLite file (default: system temp)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument("--no-table", action="store_true", help="skip the rescore and the floor that read the table")
    parser.add_argument("--save-as", default=None, help="name of the JSON file (default rescore-<db>)")
    parser.add_argument("--keep", type=Path, default=None, help="keep (and reuse) the generated data set here")
    args = parser.parse_args()
    if args.full:
        args.leads, args.activities = 1_000_000, 50_000_000
    kind = "postgresql" if args.db else "sqlite"
    with ExitStack() as stack:
        generated: float | None = None
        if args.keep is not None:
            url, ready = stack.enter_context(kept_database(args.db, args.keep, args.leads, args.activities))
            folder = str(args.keep / f"rescore_{args.leads}_{args.activities}{'-pg' if args.db else ''}.activity-log")
        else:
            temporary = stack.enter_context(tempfile.TemporaryDirectory(dir=args.tmp))
            url, ready = stack.enter_context(fresh_database(args.db, Path(temporary))), False
            folder = str(Path(temporary) / "activity-log")
        if ready:
            reset_scores(url)
        else:
            started = time.perf_counter()
            generate(url, args.leads, args.activities)
            generated = time.perf_counter() - started
        build = in_fresh_process(_child, url, "build", folder)
        logged = in_fresh_process(_child, url, "rescore", folder)
        floor = in_fresh_process(_child, url, "floor", folder)
        table = bare = None
        if not args.no_table:
            table = in_fresh_process(_child, url, "rescore", None)
            bare = in_fresh_process(_child, url, "bare", None)
    report = logged["report"]
    phases = report["seconds"]
    figures: dict[str, Any] = {
        "benchmark": "rescore",
        "database": kind,
        "leads": args.leads,
        "activities": args.activities,
        "generate_seconds": round(generated, 1) if generated is not None else "reused",
        "log_build_seconds": build["status"]["seconds"],
        "log_build_peak_rss_mb": round(build["peak_rss_mb"]),
        "log_rows": build["status"]["rows"],
        "rescore_total_seconds": phases["total"],
        "phases_seconds": phases,
        "rescore_peak_rss_mb": round(logged["peak_rss_mb"]),
        "rescore_process_cpu_seconds": round(logged["cpu_seconds"], 2),
        "rescore_process_wall_seconds": round(logged["wall_seconds"], 2),
        "decayed_floor_cpu_seconds": round(floor["cpu_seconds"], 2),
        "decayed_floor_seconds": round(floor["decayed_floor_seconds"], 3),
        "rescore_to_decayed_floor": round(phases["total"] / max(floor["decayed_floor_seconds"], 1e-9), 2),
        "leads_written": report["leads_written"],
        "per_lead_fallback": report["per_lead_fallback"],
        "load_average": list(os.getloadavg()),
    }
    if table is not None and bare is not None:
        figures |= {
            "table_rescore_total_seconds": table["report"]["seconds"]["total"],
            "table_phases_seconds": table["report"]["seconds"],
            "table_rescore_peak_rss_mb": round(table["peak_rss_mb"]),
            "compute_seconds_same_pass": round(bare["compute_seconds"], 3),
            "bare_aggregation_seconds": round(bare["bare_seconds"], 3),
            "compute_to_bare_ratio": round(bare["compute_seconds"] / max(bare["bare_seconds"], 1e-9), 1),
            "store_read_seconds_same_pass": round(bare["read_seconds"], 3),
            "activities_per_s_compute": round(args.activities / max(bare["compute_seconds"], 1e-9)),
        }
    figures |= {
        "machine": machine(numpy=np.__version__),
    }
    publish(figures, args.out, args.save_as or f"rescore-{kind}")


if __name__ == "__main__":
    main()
