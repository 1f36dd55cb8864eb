"""``benchmarks/api.py --quick`` runs the whole path at a tiny size and writes its figures as JSON:
the server and the worker start, every phase is answered without errors, every hand-raiser gets
a rep and its chat message reaches the receiver. What the figures are is not checked here (no
timing assertions in tests); that they exist and add up is."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_the_api_benchmark_runs_at_a_tiny_size_and_writes_its_figures(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    args = [sys.executable, str(ROOT / "benchmarks" / "api.py"), "--quick", "--out", str(tmp_path)]
    if kind == "postgresql":
        request.getfixturevalue("postgres_url")  # skips without a server to make the scratch database on
        args.append("--postgres")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADRELAY_") or k == "LEADRELAY_TEST_POSTGRES_URL"}
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-4000:]
    figures = json.loads((tmp_path / f"api-{kind}-quick.json").read_text(encoding="utf-8"))
    assert figures["benchmark"] == "api" and figures["database"] == kind and figures["quick"] is True
    assert json.loads(done.stdout) == figures  # printed as written
    speed = figures["speed_to_lead"]
    phases = [
        figures["floor_healthz"],
        figures["single_activity_post"],
        figures["batch_post"],
        speed["hand_raiser_post"],
        speed["background_single_posts"],
    ]
    for phase in phases:
        assert phase["errors"] == {} and phase["requests"] > 0, phase
        assert phase["p50_ms"] <= phase["p99_ms"] <= phase["max_ms"]
    assert figures["single_activity_post"]["requests"] == 200
    assert figures["batch_post"]["requests"] == 2 and figures["batch_post"]["batch_size"] == 1000
    raised = speed["hand_raiser_post"]["requests"]
    assert speed["hand_raisers_assigned_a_rep"] == raised and speed["hand_raisers_without_rep"] == []
    assert speed["form_to_webhook"]["received"] == raised and speed["form_to_webhook"]["missing"] == 0
    assert figures["receiver"]["webhooks"] >= raised  # one chat message per hand-raiser, at least
    assert set(figures["reached"]) == set(figures["goals"])
