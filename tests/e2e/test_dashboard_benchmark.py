"""``benchmarks/dashboard.py`` runs at a tiny size and writes its figures as JSON: the app starts on
the reports benchmark's data set, the marketing user logs in through the form, the overview and
every sampled lead page answer 200 (the benchmark stops otherwise). What the times are is not
checked here (no timing assertions in tests); that they exist and are consistent is."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_dashboard_benchmark_runs_at_a_tiny_size_and_writes_its_figures(tmp_path: Path) -> None:
    args = [
        sys.executable, str(ROOT / "benchmarks" / "dashboard.py"),
        "--leads", "1000", "--activities", "20000", "--runs", "2", "--sample", "4", "--out", str(tmp_path),
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADRELAY_")}
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=600, cwd=ROOT / "benchmarks")
    assert done.returncode == 0, done.stderr[-4000:]
    figures = json.loads((tmp_path / "dashboard-sqlite-1000.json").read_text(encoding="utf-8"))
    assert (figures["benchmark"], figures["database"], figures["leads"]) == ("dashboard", "sqlite", 1000)
    assert figures["rows"]["leads"] == 1000
    assert figures["overview"]["requests"] == 2 and figures["overview"]["goal_seconds"] == 1.5
    assert figures["lead_page"]["leads"] == 4 and figures["lead_page"]["requests"] == 8
    for page in ("overview", "lead_page"):
        f = figures[page]
        assert 0 < f["best_seconds"] <= f["median_seconds"] <= f["slowest_seconds"]
