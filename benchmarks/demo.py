"""How long ``leadrelay demo`` takes: the simulated quarter at the default size, where its time goes.

    python benchmarks/demo.py                     # SQLite file, default size (3,000 people, 90 days)
    python benchmarks/demo.py --people 1000       # smaller
    python benchmarks/demo.py --db postgresql://postgres@127.0.0.1:5432/postgres

Prints wall-clock and CPU seconds of the whole run and of its parts (intake rounds, the worker's
rounds, the reps' answers) and writes them to ``benchmarks/results/demo-<db>.json``. The machine's
load average is recorded beside them: on a busy machine wall-clock time says little, CPU time more.
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from pathlib import Path
from typing import Any

from _shared import database, machine, positive, publish

from leadrelay.adapters.clock import FakeClock
from leadrelay.entrypoints.api import LeadRelay
from leadrelay.entrypoints.demo import simulation
from leadrelay.entrypoints.demo.runner import live_demo

NOW = datetime.fromisoformat("2026-11-27T12:00:00+09:00")
PARTS = {"intake": "intake rounds", "tick": "worker rounds", "first_touch": "first touches", "answer": "answers",
         "step": "pipeline steps", "close": "won / lost", "rework_recorded": "inside sales' re-work"}  # fmt: skip


def timed(
    wall: dict[str, float], cpu: dict[str, float], calls: Counter[str], name: str, method: Callable[..., Any]
) -> Any:
    @wraps(method)
    def run(*args: Any, **kwargs: Any) -> Any:
        started, cpu_started = time.perf_counter(), time.process_time()
        try:
            return method(*args, **kwargs)
        finally:
            wall[name] += time.perf_counter() - started
            cpu[name] += time.process_time() - cpu_started
            calls[name] += 1

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="sqlite")
    parser.add_argument("--people", type=positive, default=3000)
    parser.add_argument("--companies", type=positive, default=300)
    parser.add_argument("--days", type=positive, default=90)
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args()
    wall: dict[str, float] = dict.fromkeys(PARTS, 0.0)
    cpu: dict[str, float] = dict.fromkeys(PARTS, 0.0)
    calls: Counter[str] = Counter()
    for name in PARTS:
        setattr(simulation._Simulation, name, timed(wall, cpu, calls, name, getattr(simulation._Simulation, name)))
    load_before = os.getloadavg()
    with database(args.db) as url, LeadRelay.open(url, clock=FakeClock(NOW)) as relay:
        started, cpu_started = time.perf_counter(), time.process_time()
        run = live_demo(relay, people=args.people, companies=args.companies, days=args.days)
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    figures = {
        "db": "sqlite" if args.db == "sqlite" else "postgresql",
        "people": args.people,
        "companies": args.companies,
        "days": args.days,
        "seconds": round(seconds, 1),
        "cpu_seconds": round(cpu_seconds, 1),
        "parts": {
            label: {"calls": calls[name], "seconds": round(wall[name], 1), "cpu_seconds": round(cpu[name], 1)}
            for name, label in PARTS.items()
        },
        "facts": {k: v for k, v in run.facts.items() if k not in ("seconds", "users", "password")},
        "load_average": [round(x, 1) for x in (*load_before, *os.getloadavg())],
        "machine": machine(),
    }
    name = f"demo-{figures['db']}" + ("" if args.people == 3000 else f"-{args.people}")
    publish(figures, Path(__file__).parent / "results", name, save=not args.no_save)


if __name__ == "__main__":
    main()
