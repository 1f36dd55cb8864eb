"""Ingest throughput: activities/s through the whole engine (parse, dedupe, store, score,
qualify, record moves; durable commits) against a plain bulk insert of the same rows into the
same database. Prints the figures and writes them as JSON.

    python benchmarks/ingest.py                          # SQLite, 50,000 activities
    python benchmarks/ingest.py --activities 200000 --batch-size 10000
    python benchmarks/ingest.py --db postgresql://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from _shared import machine, publish

from leadrelay import FakeClock, LeadRelay
from leadrelay.adapters.store.scratch import fresh_database
from leadrelay.adapters.store.tables import leads

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


def engine_run(url: str, people: list[dict[str, Any]], records: list[dict[str, Any]], batch: int) -> float:
    with LeadRelay.open(url, clock=FakeClock(NOW)) as relay:
        relay.playbook()
        relay.add_leads(people)
        started = time.perf_counter()
        result = relay.record_activities_numbered(enumerate(records, start=1), batch_size=batch)
        elapsed = time.perf_counter() - started
        assert result.activities_inserted == len(records), result
    return elapsed


def bulk_insert_run(url: str, people: list[dict[str, Any]], records: list[dict[str, Any]], batch: int) -> float:
    """The floor: the same rows written as they are by the engine's own insert (driver-level
    executemany), one durable commit per batch — no parsing, no dedupe, no scoring."""
    with LeadRelay.open(url, clock=FakeClock(NOW)) as relay:
        relay.add_leads(people)
        with relay.store.engine.connect() as connection:
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
            with relay.store.transaction() as tx:
                tx.insert_activities(rows[start : start + batch])
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--activities", type=int, default=50_000)
    parser.add_argument("--leads", type=int, default=5_000)
    parser.add_argument("--batch-size", type=int, default=5_000)
    parser.add_argument("--db", default=None, help="PostgreSQL server URL (default: a SQLite file in a temp folder)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    people = make_leads(args.leads)
    records = make_records(args.activities, args.leads)
    with tempfile.TemporaryDirectory() as folder:
        with fresh_database(args.db, Path(folder)) as url:
            engine_seconds = engine_run(url, people, records, args.batch_size)
            with LeadRelay.open(url, clock=FakeClock(NOW)) as relay:
                stages = relay.summary().by_stage
        with fresh_database(args.db, Path(folder)) as url:
            bulk_seconds = bulk_insert_run(url, people, records, args.batch_size)
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
        "leads_by_stage": stages,
        "machine": machine(),
    }
    publish(figures, args.out, f"ingest-{kind}")


if __name__ == "__main__":
    main()
