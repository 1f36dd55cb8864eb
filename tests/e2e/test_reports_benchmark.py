"""``benchmarks/reports.py --keep`` generates its data set once and reuses it: the first run writes
the rows and keeps the database, the second measures the same database without generating it. The
times themselves are not checked (no timing assertions in tests)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_kept_data_set_is_generated_once_and_measured_again_without_generating(tmp_path: Path) -> None:
    out = tmp_path / "results"
    args = [
        sys.executable, str(ROOT / "benchmarks" / "reports.py"),
        "--leads", "1000", "--activities", "20000", "--runs", "1", "--keep", "--tmp", str(tmp_path),
        "--only", "aging,campaigns", "--out", str(out),
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADRELAY_")}
    runs = []
    for _ in range(2):
        done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=600, cwd=ROOT / "benchmarks")
        assert done.returncode == 0, done.stderr[-4000:]
        runs.append(json.loads((out / "reports-sqlite-1000.json").read_text(encoding="utf-8")))
    first, second = runs
    assert first["kept"] == "generated" and first["rows"]["leads"] == 1000 and first["rows"]["activities"] == 20000
    assert second["kept"] == "reused" and "rows" not in second
    assert sorted(first["reports"]) == sorted(second["reports"]) == ["aging", "campaigns"]
    # the same rows were counted both times: the data set was not generated again
    for name in ("aging", "campaigns"):
        counted = [{t: f["rows"] for t, f in run["reports"][name]["tables"].items()} for run in runs]
        assert counted[0] == counted[1]
    assert counted_aging(runs[0]) == 1000
    # campaigns reads its two summaries (filled from the generated activities), not the activities
    tables = runs[0]["reports"]["campaigns"]["tables"]
    assert "activities" not in tables
    assert tables["summary_credits"]["rows"] > 0 and tables["summary_campaign_reach"]["rows"] > 0
    assert [p.name for p in tmp_path.glob("*.db")] == ["leadrelay-bench-kept-1000-20000.db"]


def counted_aging(run: dict[str, object]) -> int:
    """The leads the aging report's bare count found."""
    return int(run["reports"]["aging"]["tables"]["leads"]["rows"])  # type: ignore[index]
