"""Every report's time over a large store, beside a bare ``COUNT(*)`` over the tables it reads.

    python benchmarks/reports.py                                  # SQLite, 100,000 leads / 2,000,000 activities
    python benchmarks/reports.py --postgres postgresql://postgres@127.0.0.1:5432/postgres
    python benchmarks/reports.py --full                           # 1,000,000 leads / 20,000,000 activities
    python benchmarks/reports.py --leads 20000 --activities 400000 --skip-sqlite --postgres URL
    python benchmarks/reports.py --full --keep --skip-sqlite --postgres URL    # generated once, reused after
    python benchmarks/reports.py --full --keep --only campaigns,sla --runs 1   # some reports of the kept data set

The data set is written straight into the tables (``COPY`` on PostgreSQL, ``executemany`` on
SQLite, the indexes built after the rows; on PostgreSQL without foreign-key triggers; generation
time is not a figure; PostgreSQL is then vacuumed, as autovacuum would soon
after such a load, so index-only scans read no heap page): a year of leads, of which about a third became MQLs,
were routed to one of 20 reps, accepted or rejected (rejections recycled), qualified to SQL and
Opportunity (most with an amount), won or lost (lost deals recycled); a part of the recycled leads
come back as MQLs months later and run through sales again (inside sales' nurture). Activities
are spread over each lead's life, 60 % of them carry one of 40 campaigns.

Each report in :data:`~leadrelay.services.report_catalog.REPORTS` (new reports appear here
without a change) runs with its defaults (period, grouping, options) for everyone (marketing's
view) three times; the best and the median are printed, with the tables its SQL named and the
time of a bare ``SELECT COUNT(*)`` over each of them, measured in the same run. The goal is at
most 1 s per report. Figures go to stdout and ``benchmarks/results/reports-<db>.json``.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from _shared import machine, positive, publish

from leadrelay import FakeClock, LeadRelay
from leadrelay.adapters.store import campaign_reach, queries, summaries
from leadrelay.adapters.store.schema import normalise_url
from leadrelay.adapters.store.scratch import fresh_database
from leadrelay.adapters.store.sql_store import StoreTx
from leadrelay.adapters.store.tables import (
    metadata,
    summary_assignments,
    summary_campaign_reach,
    summary_loops,
    summary_steps,
)
from leadrelay.services.report_catalog import REPORTS

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
US = 1_000_000
HOUR = 3600 * US
DAY = 24 * HOUR
REPS = [f"is-{i:02d}" for i in range(10)] + [f"fs-{i:02d}" for i in range(10)]
CAMPAIGN_KINDS = ["pipeline", "acquisition", "nurture", "event"]
CHANNELS = ["seminar", "ads", "content", "trade_show", "email"]
ACTIVITY_TYPES = ["page_viewed", "email_opened", "email_clicked", "document_downloaded", "webinar_attended"]
TOUCH_KINDS = ["call", "email", "meeting"]
#: The tables the generator writes.
LOADED = ("leads", "transitions", "routing_decisions", "lead_touches", "opportunity_amounts", "outcomes", "activities")


def stamps(micros: np.ndarray[Any, Any], pg: bool) -> list[str]:
    """Microseconds since the epoch as the drivers' timestamp text (UTC)."""
    text = np.datetime_as_string(micros.astype("datetime64[us]"), unit="us").tolist()
    suffix = "+00" if pg else ""
    return [t.replace("T", " ") + suffix for t in text]


class Events:
    """Transitions as columns: lead index, time, from, to, trigger (appended phase by phase, in the
    order each lead lives them, so the last phase a lead has is its stage)."""

    def __init__(self, leads: int) -> None:
        self.parts: list[tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], str, str, str]] = []
        self.stage = np.array(["new"] * leads, dtype=object)
        self.stage_at = np.zeros(leads, dtype=np.int64)

    def add(self, mask: np.ndarray[Any, Any], at: np.ndarray[Any, Any], source: str, target: str, trigger: str) -> None:
        chosen = np.flatnonzero(mask)
        self.parts.append((chosen, at[chosen], source, target, trigger))
        self.stage[chosen] = target
        self.stage_at[chosen] = at[chosen]


def simulate(n: int, rng: np.random.Generator) -> dict[str, Any]:
    """The leads' lives as arrays (see the module's text for the shape of the pipeline)."""
    now = int(NOW.timestamp() * US)

    def later(base: np.ndarray[Any, Any], low: int, high: int) -> np.ndarray[Any, Any]:
        return base + rng.integers(low, high, n)

    def chance(p: float) -> np.ndarray[Any, Any]:
        return rng.random(n) < p

    ev = Events(n)
    created = now - rng.integers(0, 365 * DAY, n)
    everyone = np.ones(n, dtype=bool)
    ev.add(everyone, created, "new", "nurture", "engaged")
    t_mql = later(created, HOUR, 60 * DAY)
    mql = chance(0.35) & (t_mql <= now)
    ev.add(mql, t_mql, "nurture", "mql", "qualified")
    answer = rng.random(n)
    t_sal = later(t_mql, HOUR, 3 * DAY)
    sal = mql & (answer < 0.6) & (t_sal <= now)
    t_rej = later(t_mql, HOUR, 3 * DAY)
    rej = mql & (answer >= 0.6) & (answer < 0.85) & (t_rej <= now)
    ev.add(sal, t_sal, "mql", "sal", "accepted")
    ev.add(rej, t_rej, "mql", "rejected", "rejected")
    ev.add(rej, t_rej, "rejected", "recycled", "recycled")
    t_sql = later(t_sal, DAY, 14 * DAY)
    sql = sal & chance(0.55) & (t_sql <= now)
    ev.add(sql, t_sql, "sal", "sql", "sales_qualified")
    t_opp = later(t_sql, DAY, 21 * DAY)
    opp = sql & chance(0.6) & (t_opp <= now)
    ev.add(opp, t_opp, "sql", "opportunity", "opportunity_created")
    close = rng.random(n)
    t_close = later(t_opp, 7 * DAY, 60 * DAY)
    won = opp & (close < 0.3) & (t_close <= now)
    lost = opp & (close >= 0.3) & (close < 0.6) & (t_close <= now)
    ev.add(won, t_close, "opportunity", "won", "won")
    ev.add(lost, t_close, "opportunity", "lost", "lost")
    ev.add(lost, t_close, "lost", "recycled", "recycled")
    t_back = np.where(rej, t_rej, t_close)
    t_mql2 = t_back + rng.integers(14 * DAY, 180 * DAY, n)
    mql2 = (rej | lost) & chance(0.3) & (t_mql2 <= now)
    ev.add(mql2, t_mql2, "recycled", "mql", "qualified")
    t_sal2 = later(t_mql2, HOUR, 3 * DAY)
    sal2 = mql2 & chance(0.8) & (t_sal2 <= now)
    ev.add(sal2, t_sal2, "mql", "sal", "accepted")
    t_sql2 = later(t_sal2, DAY, 14 * DAY)
    sql2 = sal2 & chance(0.6) & (t_sql2 <= now)
    ev.add(sql2, t_sql2, "sal", "sql", "sales_qualified")
    t_opp2 = later(t_sql2, DAY, 21 * DAY)
    opp2 = sql2 & chance(0.6) & (t_opp2 <= now)
    ev.add(opp2, t_opp2, "sql", "opportunity", "opportunity_created")
    t_won2 = later(t_opp2, 7 * DAY, 60 * DAY)
    won2 = opp2 & chance(0.35) & (t_won2 <= now)
    ev.add(won2, t_won2, "opportunity", "won", "won")
    rep1 = rng.integers(0, len(REPS), n)
    rep2 = rng.integers(0, len(REPS), n)
    return {
        "now": now,
        "created": created,
        "events": ev,
        "mql": mql,
        "t_mql": t_mql,
        "mql2": mql2,
        "t_mql2": t_mql2,
        "rep1": rep1,
        "rep2": rep2,
        "sal": sal,
        "t_sal": t_sal,
        "sal2": sal2,
        "t_sal2": t_sal2,
        "opp": opp,
        "t_opp": t_opp,
        "opp2": opp2,
        "t_opp2": t_opp2,
        "won": won,
        "lost": lost,
        "t_close": t_close,
        "won2": won2,
        "t_won2": t_won2,
        "recycled_count": (rej | lost).astype(int),
    }


def write(cursor: Any, pg: bool, table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> int:
    count = 0
    if pg:
        with cursor.copy(queries.copy_rows(table, columns)) as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
        return count
    batch: list[tuple[Any, ...]] = []
    statement = queries.insert_rows(table, columns)
    for row in rows:
        batch.append(row)
        if len(batch) == 100_000:
            cursor.executemany(statement, batch)
            count += len(batch)
            batch.clear()
    cursor.executemany(statement, batch)
    return count + len(batch)


def department(rep: int) -> str:
    return "hq_inside_sales" if rep < 10 else "hq_corporate_sales"


def generate(url: str, n: int, activities: int, seed: int = 1) -> dict[str, int]:
    """The data set, written in bulk; returns the rows written per table."""
    rng = np.random.default_rng(seed)
    life = simulate(n, rng)
    ev: Events = life["events"]
    written: dict[str, int] = {}
    with LeadRelay.open(url, clock=FakeClock(NOW)) as relay:
        relay.playbook()
        pg = relay.store.engine.dialect.name == "postgresql"
        with relay.store.engine.begin() as connection:
            # rows first, indexes after (one sort each instead of 20 million random index inserts)
            loaded = [metadata.tables[name] for name in LOADED]
            later = [index for table in loaded for index in sorted(table.indexes, key=lambda i: str(i.name))]
            if pg:
                for setting in queries.BULK_LOAD_SETTINGS:
                    connection.exec_driver_sql(setting)
            for index in later:
                index.drop(connection)
            raw = connection.connection.driver_connection
            assert raw is not None
            cursor = raw.cursor()
            now_text = stamps(np.array([life["now"]]), pg)[0]
            campaign_rows = [
                (
                    i + 1,
                    f"c{i:02d}",
                    f"Campaign {i}",
                    CHANNELS[i % len(CHANNELS)],
                    CAMPAIGN_KINDS[i % len(CAMPAIGN_KINDS)],
                    now_text,
                )
                for i in range(40)
            ]
            written["campaigns"] = write(
                cursor, pg, "campaigns", ("id", "code", "name", "channel", "kind", "created_at"), campaign_rows
            )
            stage, stage_at = ev.stage, stamps(ev.stage_at, pg)
            created = stamps(life["created"], pg)
            with_sales = np.isin(stage, ["mql", "sal", "sql", "opportunity", "won", "lost"])
            back = np.isin(stage, ["recycled", "rejected"])
            rep = np.where(life["mql2"], life["rep2"], life["rep1"])
            assigned = np.where(life["mql2"], life["t_mql2"], life["t_mql"])
            assigned_text = stamps(np.where(back, ev.stage_at, assigned), pg)
            mql_at = stamps(assigned, pg)

            def lead_rows() -> Iterable[tuple[Any, ...]]:
                for i in range(n):
                    sales = bool(with_sales[i])
                    returned = bool(back[i])
                    yield (
                        i + 1,
                        f"person{i}@company{i % (n // 5 + 1)}.co.jp",
                        "house",
                        "{}",
                        CHANNELS[i % len(CHANNELS)],
                        created[i],
                        stage_at[i],
                        stage[i],
                        stage_at[i],
                        stage[i],
                        False,
                        0.0,
                        0.0,
                        0.0,
                        False,
                        False,
                        int(life["recycled_count"][i]),
                        REPS[rep[i]] if sales else None,
                        department(int(rep[i])) if sales else ("marketing" if returned else None),
                        assigned_text[i] if sales or returned else None,
                        mql_at[i] if sales else None,
                    )

            written["leads"] = write(
                cursor,
                pg,
                "leads",
                (
                    "id",
                    "email",
                    "list_source",
                    "custom",
                    "source_channel",
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
                    "owner_rep",
                    "owner_department",
                    "assigned_at",
                    "mql_at",
                ),
                lead_rows(),
            )

            def transition_rows() -> Iterable[tuple[Any, ...]]:
                next_id = 1
                for chosen, at, source, target, trigger in ev.parts:
                    times = stamps(at, pg)
                    for lead, moment in zip(chosen.tolist(), times, strict=True):
                        yield (
                            next_id,
                            lead + 1,
                            moment,
                            moment,
                            source,
                            target,
                            trigger,
                            "bench",
                            trigger,
                            False,
                            False,
                        )
                        next_id += 1

            written["transitions"] = write(
                cursor,
                pg,
                "transitions",
                (
                    "id",
                    "lead_id",
                    "occurred_at",
                    "recorded_at",
                    "from_stage",
                    "to_stage",
                    "trigger",
                    "actor",
                    "reason",
                    "derived",
                    "priority",
                ),
                transition_rows(),
            )

            def decision_rows() -> Iterable[tuple[Any, ...]]:
                next_id = 1
                for mask, at, reps in (
                    (life["mql"], life["t_mql"], life["rep1"]),
                    (life["mql2"], life["t_mql2"], life["rep2"]),
                ):
                    chosen = np.flatnonzero(mask)
                    for lead, moment, r in zip(
                        chosen.tolist(), stamps(at[chosen], pg), reps[chosen].tolist(), strict=True
                    ):
                        yield (next_id, lead + 1, moment, "route", department(r), REPS[r], "bench", "{}", "engine")
                        next_id += 1

            written["routing_decisions"] = write(
                cursor,
                pg,
                "routing_decisions",
                ("id", "lead_id", "decided_at", "kind", "department", "rep_id", "reason", "details", "actor"),
                decision_rows(),
            )

            def touch_rows() -> Iterable[tuple[Any, ...]]:
                next_id = 1
                for mask, at in ((life["sal"], life["t_sal"]), (life["sal2"], life["t_sal2"])):
                    chosen = np.flatnonzero(mask)
                    before = at[chosen] - rng.integers(10 * 60 * US, 2 * HOUR, chosen.size)
                    for lead, moment in zip(chosen.tolist(), stamps(before, pg), strict=True):
                        yield (next_id, lead + 1, TOUCH_KINDS[next_id % 3], "connected", moment, moment, "bench")
                        next_id += 1

            written["lead_touches"] = write(
                cursor,
                pg,
                "lead_touches",
                ("id", "lead_id", "kind", "outcome", "occurred_at", "recorded_at", "actor"),
                touch_rows(),
            )

            def amount() -> str:
                return f"{int(rng.integers(10, 1000)) * 10_000}.00"

            def opportunity_rows() -> Iterable[tuple[Any, ...]]:
                next_id = 1
                for mask, at in ((life["opp"], life["t_opp"]), (life["opp2"], life["t_opp2"])):
                    chosen = np.flatnonzero(mask & (rng.random(n) < 0.8))
                    for lead, moment in zip(chosen.tolist(), stamps(at[chosen], pg), strict=True):
                        yield (next_id, lead + 1, moment, moment, amount(), "JPY", "bench")
                        next_id += 1

            written["opportunity_amounts"] = write(
                cursor,
                pg,
                "opportunity_amounts",
                ("id", "lead_id", "occurred_at", "recorded_at", "amount", "currency", "actor"),
                opportunity_rows(),
            )

            def outcome_rows() -> Iterable[tuple[Any, ...]]:
                next_id = 1
                for mask, at, kind in (
                    (life["won"], life["t_close"], "won"),
                    (life["lost"], life["t_close"], "lost"),
                    (life["won2"], life["t_won2"], "won"),
                ):
                    chosen = np.flatnonzero(mask)
                    for lead, moment in zip(chosen.tolist(), stamps(at[chosen], pg), strict=True):
                        yield (next_id, f"bench-{next_id}", lead + 1, kind, moment, moment, amount(), "JPY", "{}")
                        next_id += 1

            written["outcomes"] = write(
                cursor,
                pg,
                "outcomes",
                ("id", "key", "lead_id", "outcome", "closed_at", "recorded_at", "amount", "currency", "properties"),
                outcome_rows(),
            )

            def activity_rows() -> Iterable[tuple[Any, ...]]:
                step = 1_000_000
                for start in range(0, activities, step):
                    count = min(step, activities - start)
                    lead = rng.integers(0, n, count)
                    span = life["now"] - life["created"][lead]
                    at = life["created"][lead] + (rng.random(count) * span).astype(np.int64)
                    campaign = np.where(rng.random(count) < 0.6, rng.integers(1, 41, count), 0)
                    kinds = rng.integers(0, len(ACTIVITY_TYPES), count)
                    times = stamps(at, pg)
                    for i in range(count):
                        yield (
                            start + i + 1,
                            f"b{start + i}",
                            int(lead[i]) + 1,
                            ACTIVITY_TYPES[kinds[i]],
                            times[i],
                            times[i],
                            int(campaign[i]) or None,
                            "{}",
                        )

            written["activities"] = write(
                cursor,
                pg,
                "activities",
                ("id", "key", "lead_id", "type", "occurred_at", "recorded_at", "campaign_id", "properties"),
                activity_rows(),
            )
            for index in later:
                index.create(connection)
            # the facts went straight into the tables: derive the summaries the reports read from them
            # (what the migration that adds a summary does), timed apart
            began = time.perf_counter()
            summaries.rebuild(connection)
            campaign_reach.rebuild(StoreTx(connection), campaign_reach.recorded_zone(connection))
            for table in (summary_loops, summary_steps, summary_assignments, summary_campaign_reach):
                written[table.name] = connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            print(f"summaries derived from the facts in {time.perf_counter() - began:.1f} s", flush=True)
        if pg:  # the steady state autovacuum keeps after a load: visibility map set, statistics fresh
            with relay.store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.exec_driver_sql(queries.VACUUM_ANALYZE)
        else:
            with relay.store.engine.begin() as connection:
                connection.exec_driver_sql(queries.analyze())
    return written


def tables_named(statements: Sequence[str]) -> list[str]:
    """The store's tables the SQL statements name."""
    names = sorted(metadata.tables)
    found = {name for name in names for text in statements if re.search(rf"\b{name}\b", text)}
    return sorted(found)


def measure(url: str, runs: int, only: Sequence[str] = ()) -> dict[str, Any]:
    """Each report ``runs`` times (best, median) and the bare counts over the tables it reads."""
    out: dict[str, Any] = {}
    with LeadRelay.open(url, clock=FakeClock(NOW)) as relay:
        relay.playbook()
        engine = relay.store.engine
        for name in REPORTS:
            if only and name not in only:
                continue
            statements: list[str] = []

            def seen(conn: Any, cursor: Any, statement: str, *rest: Any, into: list[str] = statements) -> None:
                into.append(statement)

            sa.event.listen(engine, "before_cursor_execute", seen)
            times = []
            try:
                for _ in range(runs):
                    started = time.perf_counter()
                    relay.report(name, now=NOW)
                    times.append(time.perf_counter() - started)
            finally:
                sa.event.remove(engine, "before_cursor_execute", seen)
            tables = [t for t in tables_named(statements) if t not in ("playbooks", "playbook_activations", "settings")]
            counts: dict[str, dict[str, float]] = {}
            with engine.connect() as connection:
                for table in tables:
                    started = time.perf_counter()
                    rows = connection.execute(
                        sa.select(sa.func.count()).select_from(metadata.tables[table])
                    ).scalar_one()
                    counts[table] = {"rows": rows, "seconds": round(time.perf_counter() - started, 4)}
            out[name] = {
                "best_seconds": round(min(times), 4),
                "median_seconds": round(statistics.median(times), 4),
                "runs": runs,
                "queries": len(statements) // runs,
                "tables": counts,
                "count_star_seconds": round(sum(c["seconds"] for c in counts.values()), 4),
                "within_1s": min(times) <= 1.0,
            }
    return out


@contextmanager
def data_set(server: str | None, args: argparse.Namespace) -> Iterator[tuple[str, dict[str, Any]]]:
    """The benchmark's database and how it came to be (rows written, seconds, or ``kept``).

    Without ``--keep``: a fresh database, generated, dropped at the end. With ``--keep``: the
    database of this size kept by an earlier run is reused as it is (migrated to the current
    schema when the code opens it); when there is none it is generated under a temporary name and
    renamed only once complete, so an interrupted run leaves nothing that looks reusable. Kept
    databases: ``leadrelay_bench_kept_<leads>_<activities>`` on the PostgreSQL server, or
    ``leadrelay-bench-kept-<leads>-<activities>.db`` in ``--tmp`` (default: the system's temp folder);
    drop them by hand when done."""
    if not args.keep:
        with tempfile.TemporaryDirectory(dir=args.tmp) as folder, fresh_database(server, Path(folder)) as url:
            started = time.perf_counter()
            written = generate(url, args.leads, args.activities)
            yield url, {"rows": written, "generate_seconds": round(time.perf_counter() - started, 1), "kept": False}
        return
    name = f"leadrelay_bench_kept_{args.leads}_{args.activities}"
    if server is None:
        folder = args.tmp or Path(tempfile.gettempdir())
        final = folder / f"{name.replace('_', '-')}.db"
        if not final.exists():
            part = final.with_suffix(".part.db")
            for leftover in folder.glob(f"{part.name}*"):
                leftover.unlink()
            started = time.perf_counter()
            written = generate(f"sqlite:///{part}", args.leads, args.activities)
            part.rename(final)
            yield (
                f"sqlite:///{final}",
                {"rows": written, "generate_seconds": round(time.perf_counter() - started, 1), "kept": "generated"},
            )
            return
        yield f"sqlite:///{final}", {"kept": "reused"}
        return
    on_server = sa.engine.make_url(normalise_url(server))
    admin = sa.create_engine(on_server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            exists = connection.execute(sa.text(queries.DATABASE_EXISTS), {"name": name}).first() is not None
        if not exists:
            part = f"{name}_part"
            with admin.connect() as connection:
                connection.execute(sa.text(queries.drop_database(part)))
                connection.execute(sa.text(queries.create_database(part)))
            started = time.perf_counter()
            written = generate(
                on_server.set(database=part).render_as_string(hide_password=False), args.leads, args.activities
            )
            with admin.connect() as connection:
                connection.execute(sa.text(queries.rename_database(part, name)))
            made: dict[str, Any] = {
                "rows": written,
                "generate_seconds": round(time.perf_counter() - started, 1),
                "kept": "generated",
            }
        else:
            made = {"kept": "reused"}
    finally:
        admin.dispose()
    yield on_server.set(database=name).render_as_string(hide_password=False), made


def one_database(server: str | None, args: argparse.Namespace) -> dict[str, Any]:
    kind = "postgresql" if server else "sqlite"
    with data_set(server, args) as (url, made):
        reports = measure(url, args.runs, args.only.split(",") if args.only else ())
    how = f"generated in {made['generate_seconds']:.0f} s" if "generate_seconds" in made else "kept from an earlier run"
    print(f"\n{kind}: {args.leads:,} leads, {args.activities:,} activities ({how})")
    print(f"{'report':<14}{'best s':>9}{'median s':>10}{'COUNT(*) s':>12}  tables")
    for name, figures in reports.items():
        print(
            f"{name:<14}{figures['best_seconds']:>9.3f}{figures['median_seconds']:>10.3f}"
            f"{figures['count_star_seconds']:>12.3f}  {', '.join(figures['tables'])}"
        )
    return {
        "benchmark": "reports",
        "database": kind,
        "leads": args.leads,
        "activities": args.activities,
        **made,
        "goal_seconds": 1.0,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "reports": reports,
        "machine": machine(numpy=np.__version__),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=positive, default=100_000)
    parser.add_argument("--activities", type=positive, default=2_000_000)
    parser.add_argument("--full", action="store_true", help="1,000,000 leads and 20,000,000 activities")
    parser.add_argument("--postgres", default=None, help="also on this PostgreSQL server (a scratch database)")
    parser.add_argument("--skip-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--runs", type=positive, default=3, help="runs of each report (best and median are kept)")
    parser.add_argument("--tmp", type=Path, default=None, help="folder for the SQLite file (default: system temp)")
    parser.add_argument("--keep", action="store_true", help="reuse (or generate and keep) the data set of this size")
    parser.add_argument("--only", default=None, help="comma-separated report names (default: all)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    unknown = sorted(set(args.only.split(",")) - set(REPORTS)) if args.only else []
    if unknown:
        parser.error(f"--only: no report named {', '.join(unknown)} (the reports: {', '.join(REPORTS)})")
    if args.full:
        args.leads, args.activities = 1_000_000, 20_000_000
    servers: list[str | None] = [] if args.skip_sqlite else [None]
    if args.postgres:
        servers.append(args.postgres)
    for server in servers:
        figures = one_database(server, args)
        suffix = "" if args.leads == 100_000 and args.activities == 2_000_000 else f"-{args.leads}"
        publish(figures, args.out, f"reports-{figures['database']}{suffix}")


if __name__ == "__main__":
    main()
