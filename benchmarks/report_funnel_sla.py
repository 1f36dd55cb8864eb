"""Reports ``funnel`` and ``sla``: their time over a synthetic history, beside a bare ``COUNT(*)`` of
the tables they read, in the same run.

    python benchmarks/report_funnel_sla.py                    # SQLite, 20,000 MQL leads
    python benchmarks/report_funnel_sla.py --leads 100000
    python benchmarks/report_funnel_sla.py --db postgresql://postgres@127.0.0.1:5432/postgres

Every lead is an MQL once in 13 weeks, routed to an inside sales rep of the default playbook about
two hours later; a quarter are rejected (and recycled), 60 % accepted (then SQL, opportunity and
won at falling rates), the rest never answered; 70 % get a call. The rows are written straight into
the tables (generation time is not a figure). Each report runs three times; the best time counts.
Figures go to stdout and to ``benchmarks/results/report-funnel-sla-<db>.json``.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from _shared import database, machine, positive, publish

from leadrelay import FakeClock, LeadRelay
from leadrelay.adapters.store import summaries
from leadrelay.adapters.store.tables import lead_touches, leads, routing_decisions, transitions

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
START = NOW - timedelta(days=91)
REPS = ("is-kobayashi", "is-yamamoto", "is-nakamura")
CHANNELS = ("web", "event", "ads", "partner")
CHUNK = 5_000


def _lead(i: int, stage: str, at: datetime, rng: np.random.Generator) -> dict[str, Any]:
    return {
        "id": i,
        "email": f"person{i}@bench{i % 997}.co.jp",
        "list_source": "import",
        "custom": {},
        "created_at": START,
        "updated_at": at,
        "stage": stage,
        "stage_at": at,
        "anchor_stage": stage,
        "anchor_check": False,
        "fit_score": 0.0,
        "engagement_score": 0.0,
        "total_score": 0.0,
        "fit_passed": True,
        "priority": False,
        "recycled_count": 0,
        "source_channel": CHANNELS[int(rng.integers(len(CHANNELS)))],
        "level": int(rng.integers(2, 4)),
    }


def _move(lead_id: int, at: datetime, source: str, target: str, trigger: str, **extra: Any) -> dict[str, Any]:
    row = {
        "lead_id": lead_id,
        "occurred_at": at,
        "recorded_at": at,
        "from_stage": source,
        "to_stage": target,
        "trigger": trigger,
        "actor": "bench",
        "reason": trigger,
        "derived": False,
        "priority": False,
        "rule_id": None,
        "level": None,
    }
    row.update(extra)
    return row


def generate(url: str, count: int, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    engine = sa.create_engine(url)
    hours = timedelta(hours=1)
    with engine.begin() as connection:
        for first in range(1, count + 1, CHUNK):
            people, moves, decisions, touches = [], [], [], []
            for i in range(first, min(first + CHUNK, count + 1)):
                mql = START + timedelta(days=float(rng.uniform(0, 90)))
                routed = mql + hours * float(rng.exponential(2))
                rep = REPS[int(rng.integers(len(REPS)))]
                moves.append(_move(i, mql, "nurture", "mql", "qualified", rule_id="mql_score", level=2))
                decisions.append(
                    {
                        "lead_id": i,
                        "decided_at": routed,
                        "kind": "route",
                        "department": "hq_inside_sales",
                        "rep_id": rep,
                        "reason": "bench",
                        "details": {},
                        "actor": "bench",
                    }
                )
                if rng.random() < 0.7:
                    touches.append(
                        {
                            "lead_id": i,
                            "kind": "call",
                            "outcome": "connected",
                            "occurred_at": routed + hours * float(rng.exponential(1.5)),
                            "recorded_at": routed,
                            "actor": rep,
                        }
                    )
                u, at, stage = rng.random(), routed + hours * float(rng.exponential(5)), "mql"
                if u < 0.25:
                    moves.append(_move(i, at, "mql", "rejected", "rejected", rule_id="bad_timing"))
                    moves.append(_move(i, at, "rejected", "recycled", "recycled"))
                    stage = "recycled"
                elif u < 0.85:
                    moves.append(_move(i, at, "mql", "sal", "accepted"))
                    stage = "sal"
                    for source, target, trigger, rate, days in (
                        ("sal", "sql", "sales_qualified", 0.5, 3),
                        ("sql", "opportunity", "opportunity_created", 0.5, 5),
                        ("opportunity", "won", "won", 0.4, 10),
                    ):
                        if rng.random() >= rate:
                            break
                        at = at + timedelta(days=float(rng.exponential(days)))
                        moves.append(_move(i, at, source, target, trigger))
                        stage = target
                people.append(_lead(i, stage, at, rng))
            connection.execute(sa.insert(leads), people)
            connection.execute(sa.insert(transitions), moves)
            connection.execute(sa.insert(routing_decisions), decisions)
            if touches:
                connection.execute(sa.insert(lead_touches), touches)
            summaries.rebuild(connection)  # the rows went straight in: derive the summaries the reports read
    engine.dispose()


def best_of(three: int, call: Any) -> float:
    times = []
    for _ in range(three):
        began = time.perf_counter()
        call()
        times.append(time.perf_counter() - began)
    return min(times)


def measure(url: str, count: int) -> dict[str, Any]:
    with LeadRelay.open(url, clock=FakeClock(NOW)) as relay:
        relay.playbook()  # the default playbook, loaded once before timing
        start, end = "2026-08-26", "2026-11-24"
        figures: dict[str, Any] = {}
        with relay.store.reading() as tx:
            for table in (transitions, routing_decisions, lead_touches):
                query = sa.select(sa.func.count()).select_from(table)
                figures[f"count_{table.name}_s"] = round(best_of(3, lambda q=query: tx.execute(q).scalar_one()), 4)
        runs: dict[str, dict[str, Any]] = {
            "funnel": {"by": "week"},
            "funnel_split_channel": {"by": "week", "options": {"split": "channel"}},
            "funnel_strict": {"by": "month", "options": {"kind": "strict"}},
            "sla": {"by": "week"},
        }
        for name, kwargs in runs.items():
            report = name.split("_")[0]
            figures[f"{name}_s"] = round(
                best_of(3, lambda r=report, k=kwargs: relay.report(r, start=start, end=end, **k)), 4
            )
        funnel = relay.report("funnel", start=start, end=end, by="week")
        sla = relay.report("sla", start=start, end=end, by="week")
        figures["mql_loops"] = funnel.steps[0].reached  # type: ignore[attr-defined]
        figures["won"] = funnel.steps[-1].reached  # type: ignore[attr-defined]
        figures["assignments"] = sla.overall.assignments  # type: ignore[attr-defined]
        figures["leads"] = count
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="sqlite", help="sqlite (default) or a PostgreSQL server URL")
    parser.add_argument("--leads", type=positive, default=20_000)
    parser.add_argument("--no-save", action="store_true", help="print the figures only")
    args = parser.parse_args()
    with database(args.db) as url:
        LeadRelay.open(url).close()  # the schema
        began = time.perf_counter()
        generate(url, args.leads)
        generated = time.perf_counter() - began
        figures = measure(url, args.leads)
    kind = "sqlite" if args.db == "sqlite" else "postgresql"
    figures = {"database": kind, "generation_s": round(generated, 1), **figures, "machine": machine()}
    publish(figures, Path(__file__).parent / "results", f"report-funnel-sla-{kind}", save=not args.no_save)


if __name__ == "__main__":
    main()
