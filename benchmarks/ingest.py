"""Ingest throughput: activities/s through the whole engine (parse, dedupe, store, score,
qualify, record moves; durable commits) against a plain bulk insert of the same rows into the
same database. Prints the figures and writes them as JSON.

    python benchmarks/ingest.py                          # SQLite, 50,000 activities
    python benchmarks/ingest.py --activities 200000 --batch-size 10000
    python benchmarks/ingest.py --db postgresql://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from leadrelay import FakeClock, LeadRelay
from leadrelay.store.scratch import scratch_database
from leadrelay.store.tables import activities, leads

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
TYPES = [
    ("email_opened", {"kind": "newsletter"}),
    ("email_opened", {"kind": "document_delivery"}),
    ("email_clicked", {}),
    ("page_viewed", {"page_kind": "service"}),
    ("page_viewed", {"page_kind": "pricing"}),
    ("document_downloaded", {"document": "wp-dx"}),
    ("webinar_registered", {}),
    ("webinar_attended", {}),
    ("ad_clicked", {}),
]


def make_records(count: int, leads_count: int, seed: int = 1) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out = []
    for i in range(count):
        kind, props = TYPES[rng.randrange(len(TYPES))]
        lead = rng.randrange(leads_count)
        out.append(
            {
                "email": f"person{lead}@company{lead % max(leads_count // 5, 1)}.co.jp",
                "type": kind,
                "occurred_at": (NOW - timedelta(minutes=rng.randrange(90 * 24 * 60))).isoformat(),
                "campaign": f"c{rng.randrange(20)}",
                "properties": props,
                "source_id": f"bench-{i}",
            }
        )
    out.sort(key=lambda r: r["occurred_at"])  # a stream arrives roughly in time order
    return out


@contextmanager
def fresh_database(base: str | None, folder: Path) -> Iterator[str]:
    """A new empty database: a SQLite file in ``folder``, or a new database on the server ``base``."""
    if base is None:
        yield f"sqlite:///{folder / f'bench-{uuid.uuid4().hex[:8]}.db'}"
        return
    with scratch_database(base, prefix="leadrelay_bench") as url:
        yield url


def engine_run(url: str, records: list[dict[str, Any]], batch: int) -> float:
    with LeadRelay.open(url, clock=FakeClock(NOW)) as relay:
        relay.playbook()
        started = time.perf_counter()
        result = relay.record_activities_numbered(enumerate(records, start=1), batch_size=batch)
        elapsed = time.perf_counter() - started
        assert result.activities_inserted == len(records), result
    return elapsed


def bulk_insert_run(url: str, records: list[dict[str, Any]], batch: int) -> float:
    """The floor: the same rows inserted as-is into the same table, one commit per batch."""
    with LeadRelay.open(url, clock=FakeClock(NOW)) as relay:
        emails = sorted({r["email"] for r in records})
        relay.add_leads([{"email": e} for e in emails])
        engine = relay.store.engine
        with engine.connect() as connection:
            ids = {row.email: row.id for row in connection.execute(sa.select(leads.c.email, leads.c.id))}
        rows = [
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
        started = time.perf_counter()
        for start in range(0, len(rows), batch):
            with engine.begin() as connection:
                connection.execute(sa.insert(activities), rows[start : start + batch])
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--activities", type=int, default=50_000)
    parser.add_argument("--leads", type=int, default=5_000)
    parser.add_argument("--batch-size", type=int, default=5_000)
    parser.add_argument("--db", default=None, help="PostgreSQL server URL (default: a SQLite file in a temp folder)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    records = make_records(args.activities, args.leads)
    with tempfile.TemporaryDirectory() as folder:
        with fresh_database(args.db, Path(folder)) as url:
            engine_seconds = engine_run(url, records, args.batch_size)
        with fresh_database(args.db, Path(folder)) as url:
            bulk_seconds = bulk_insert_run(url, records, args.batch_size)
    kind = "postgresql" if args.db else "sqlite"
    figures = {
        "benchmark": "ingest",
        "database": kind,
        "activities": args.activities,
        "leads": args.leads,
        "batch_size": args.batch_size,
        "engine_seconds": round(engine_seconds, 3),
        "engine_activities_per_s": round(args.activities / engine_seconds),
        "bulk_insert_seconds": round(bulk_seconds, 3),
        "bulk_insert_rows_per_s": round(args.activities / bulk_seconds),
        "ratio_to_bulk_insert": round(bulk_seconds / engine_seconds, 3),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
    }
    print(json.dumps(figures, indent=2))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"ingest-{kind}.json").write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
