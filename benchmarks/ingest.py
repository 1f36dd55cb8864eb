"""Ingest throughput: activities/s through the whole engine (parse, dedupe, store, score,
qualify, record moves; durable commits) against two floors in the same database: the engine's own
bulk insert of the same rows (``insert_activities`` per batch), and the true write floor — the
same rows written straight through the driver (``executemany`` on SQLite, ``COPY`` on PostgreSQL)
into the activities table with all its indexes, one durable commit per batch. Prints the figures
(with the load average before the run: the cores may be shared) and writes them as JSON.

    python benchmarks/ingest.py                          # SQLite, 50,000 activities
    python benchmarks/ingest.py --activities 200000 --batch-size 10000
    python benchmarks/ingest.py --db postgresql://postgres@127.0.0.1:5432/postgres
    python benchmarks/ingest.py --activities 20000 --phases   # CPU seconds per phase of ingest
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import random
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from _shared import machine, positive, publish

from leadrelay import FakeClock, LeadRelay
from leadrelay.adapters.store import queries
from leadrelay.adapters.store.scratch import fresh_database
from leadrelay.adapters.store.tables import leads
from leadrelay.adapters.store.times import sqlite_time

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
#: (type, properties, weight): a marketing stream is mostly e-mail and web, a little is events and
#: hand-raises
TYPES = [
    ("email_opened", {"kind": "newsletter"}, 30),
    ("email_opened", {"kind": "document_delivery"}, 6),
    ("email_clicked", {}, 12),
    ("page_viewed", {"page_kind": "service"}, 15),
    ("page_viewed", {"page_kind": "case_study"}, 6),
    ("page_viewed", {"page_kind": "pricing"}, 4),
    ("document_downloaded", {"document": "wp-dx"}, 4),
    ("document_downloaded", {"document": "wp-crm"}, 3),
    ("webinar_registered", {}, 4),
    ("webinar_attended", {}, 3),
    ("ad_clicked", {}, 10),
    ("trade_show_visited", {}, 1),
    ("booth_visited", {"detailed_talk": True}, 1),
    ("contact_requested", {}, 1),
]
INDUSTRIES = ["manufacturing", "it", "software", "finance", "logistics", "retail", "education", "media"]
TITLES = ["部長", "課長", "マネージャー", "担当", "Director", "Engineer", "Manager", "学生"]


def make_leads(count: int, seed: int = 1) -> list[dict[str, Any]]:
    """People at companies of every size and industry (about a fifth without a company)."""
    rng = random.Random(seed)
    companies = max(count // 5, 1)
    out = []
    for i in range(count):
        company = i % companies
        record: dict[str, Any] = {"email": email_of(i, count), "title": rng.choice(TITLES), "country": "JP"}
        if company % 5:
            record["company"] = {
                "name": f"Company {company}",
                "industry": INDUSTRIES[company % len(INDUSTRIES)],
                "employees": rng.choice([30, 150, 800, 2500]),
                "tier": "target" if company % 17 == 0 else None,
            }
        out.append(record)
    return out


def email_of(lead: int, leads_count: int) -> str:
    return f"person{lead}@company{lead % max(leads_count // 5, 1)}.co.jp"


def make_records(count: int, leads_count: int, seed: int = 1) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    kinds = [(kind, props) for kind, props, _ in TYPES]
    weights = [weight for _, _, weight in TYPES]
    out = []
    for i in range(count):
        kind, props = rng.choices(kinds, weights)[0]
        out.append(
            {
                "email": email_of(rng.randrange(leads_count), leads_count),
                "type": kind,
                "occurred_at": (NOW - timedelta(minutes=rng.randrange(90 * 24 * 60))).isoformat(),
                "campaign": f"c{rng.randrange(20)}",
                "properties": props,
                "source_id": f"bench-{i}",
            }
        )
    out.sort(key=lambda r: str(r["occurred_at"]))  # a stream arrives roughly in time order
    return out


def engine_run(
    url: str,
    people: list[dict[str, Any]],
    records: list[dict[str, Any]],
    batch: int,
    spent: dict[str, float] | None = None,
) -> tuple[float, float]:
    """Wall-clock and CPU seconds of this process (the engine and, on SQLite, the database too)."""
    with LeadRelay.open(url, clock=FakeClock(NOW)) as relay:
        relay.playbook()
        relay.add_leads(people)
        if spent is not None:
            spent.clear()  # only the activities' ingest counts
        started, cpu = time.perf_counter(), time.process_time()
        result = relay.record_activities_numbered(enumerate(records, start=1), batch_size=batch)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        assert result.activities_inserted == len(records), result
    return elapsed, cpu


def bulk_insert_run(url: str, people: list[dict[str, Any]], records: list[dict[str, Any]], batch: int) -> float:
    """The floor: the same rows written as they are by the engine's own insert (driver-level
    executemany), one durable commit per batch — no parsing, no dedupe, no scoring."""
    with LeadRelay.open(url, clock=FakeClock(NOW)) as relay:
        rows = _rows(relay, people, records)
        started = time.perf_counter()
        for start in range(0, len(rows), batch):
            with relay.store.transaction() as tx:
                tx.insert_activities(rows[start : start + batch])
        return time.perf_counter() - started


def _rows(relay: LeadRelay, people: list[dict[str, Any]], records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    relay.add_leads(people)
    with relay.store.engine.connect() as connection:
        ids = {row.email: row.id for row in connection.execute(sa.select(leads.c.email, leads.c.id))}
    return [
        {
            "key": f"bulk-{i}",
            "lead_id": ids[r["email"]],
            "type": r["type"],
            "occurred_at": datetime.fromisoformat(r["occurred_at"]),
            "recorded_at": NOW,
            "campaign_id": None,
            "product": None,
            "properties": r["properties"],
            "source_id": r["source_id"],
        }
        for i, r in enumerate(records)
    ]


def write_floor_run(url: str, people: list[dict[str, Any]], records: list[dict[str, Any]], batch: int) -> float:
    """The true write floor: the same rows, already converted to the driver's values, written straight
    through the driver into the activities table with all its indexes — ``executemany`` of a plain
    INSERT on SQLite, ``COPY`` on PostgreSQL — one durable commit per batch. Nothing else happens."""
    with LeadRelay.open(url, clock=FakeClock(NOW)) as relay:
        rows = _rows(relay, people, records)
        postgres = relay.store.engine.dialect.name == "postgresql"
        stamp: Any = (lambda m: m) if postgres else sqlite_time
        values = [
            (
                r["key"],
                r["lead_id"],
                r["type"],
                stamp(r["occurred_at"]),
                stamp(r["recorded_at"]),
                None,
                None,
                json.dumps(r["properties"]),
                r["source_id"],
            )
            for r in rows
        ]
        columns = ["key", "lead_id", "type", "occurred_at", "recorded_at", "campaign_id", "product", "properties"]
        columns.append("source_id")
        connection = relay.store.engine.raw_connection()
        try:
            started = time.perf_counter()
            for start in range(0, len(values), batch):
                cursor = connection.cursor()
                if postgres:
                    with cursor.copy(queries.copy_rows("activities", columns)) as copy:
                        for row in values[start : start + batch]:
                            copy.write_row(row)
                else:
                    cursor.executemany(queries.insert_rows("activities", columns), values[start : start + batch])
                cursor.close()
                connection.commit()
            return time.perf_counter() - started
        finally:
            connection.close()


#: What ``--phases`` times: (module, function) pairs of the ingest path, and the store's calls.
PHASES = {
    "leadrelay.entrypoints.api": ("parse_activity", "link_identities", "ingest"),
    "leadrelay.services.intake": (
        "evaluate",
        "plan_moves",
        "_lead_update",
        "route_leads",
        "hand_over_on_level",
        "_notify_activity",
    ),
    "leadrelay.services.batch_judgement": ("judge_leads",),
}
STORE_PHASES = (
    "lead_states",
    "activities_of",
    "derived_moves",
    "insert_activities",
    "insert_transitions",
    "update_leads",
    "lead_ids",
    "accounts_by_id",
)


def time_phases() -> dict[str, float]:
    """CPU seconds spent in each phase of the ingest path (calls nested in another phase count in
    both), by wrapping the functions named in :data:`PHASES` and :data:`STORE_PHASES`."""
    import importlib

    from leadrelay.adapters.store.sql_store import StoreTx

    spent: dict[str, float] = defaultdict(float)

    def timed(owner: Any, name: str) -> None:
        inner = getattr(owner, name)

        @functools.wraps(inner)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.process_time()
            try:
                return inner(*args, **kwargs)
            finally:
                spent[name] += time.process_time() - started

        setattr(owner, name, wrapper)

    for module, names in PHASES.items():
        for name in names:
            timed(importlib.import_module(module), name)
    for name in STORE_PHASES:
        timed(StoreTx, name)
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--activities", type=positive, default=50_000)
    parser.add_argument("--leads", type=positive, default=5_000)
    parser.add_argument("--batch-size", type=positive, default=5_000)
    parser.add_argument("--db", default=None, help="PostgreSQL server URL (default: a SQLite file in a temp folder)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument("--phases", action="store_true", help="also print the CPU seconds of each phase of ingest")
    args = parser.parse_args()
    spent = time_phases() if args.phases else None
    load_before = round(os.getloadavg()[0], 2)  # the cores may be shared: say how busy they were
    people = make_leads(args.leads)
    records = make_records(args.activities, args.leads)
    with tempfile.TemporaryDirectory() as folder:
        with fresh_database(args.db, Path(folder)) as url:
            engine_seconds, engine_cpu = engine_run(url, people, records, args.batch_size, spent)
            phases = dict(sorted(spent.items(), key=lambda kv: -kv[1])) if spent is not None else None
            with LeadRelay.open(url, clock=FakeClock(NOW)) as relay:
                stages = relay.summary().by_stage
        with fresh_database(args.db, Path(folder)) as url:
            bulk_seconds = bulk_insert_run(url, people, records, args.batch_size)
        with fresh_database(args.db, Path(folder)) as url:
            floor_seconds = write_floor_run(url, people, records, args.batch_size)
    kind = "postgresql" if args.db else "sqlite"
    figures = {
        "benchmark": "ingest",
        "database": kind,
        "activities": args.activities,
        "leads": args.leads,
        "batch_size": args.batch_size,
        "engine_seconds": round(engine_seconds, 3),
        "engine_activities_per_s": round(args.activities / engine_seconds),
        # CPU time of the benchmark's process: steadier than wall-clock when other work shares the cores
        "engine_cpu_seconds": round(engine_cpu, 3),
        "engine_activities_per_cpu_s": round(args.activities / engine_cpu),
        "bulk_insert_seconds": round(bulk_seconds, 3),
        "bulk_insert_rows_per_s": round(args.activities / bulk_seconds),
        "ratio_to_bulk_insert": round(bulk_seconds / engine_seconds, 3),
        "write_floor": "copy" if args.db else "executemany",
        "write_floor_seconds": round(floor_seconds, 3),
        "write_floor_rows_per_s": round(args.activities / floor_seconds),
        "ratio_to_write_floor": round(floor_seconds / engine_seconds, 3),
        "load_average_before": load_before,
        **({"phase_cpu_seconds": {k: round(v, 3) for k, v in phases.items()}} if phases else {}),
        "leads_by_stage": stages,
        "machine": machine(),
    }
    publish(figures, args.out, f"ingest-{kind}")


if __name__ == "__main__":
    main()
