"""``leadrelay demo`` through the real command line: the simulated quarter, its ground truth beside
the database, and the summary that ends by pointing at the reports, in English and Japanese."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import run

SMALL = ("--people", "60", "--companies", "20", "--days", "14")
REPORTS = ("status", "funnel", "sla", "aging", "dependency", "campaigns", "quality")


@pytest.mark.parametrize(("lang", "next_line"), [("en", "Next: the reports"), ("ja", "次はレポート：")])
def test_demo_writes_its_ground_truth_and_points_at_the_reports(tmp_path: Path, lang: str, next_line: str) -> None:
    db = tmp_path / "demo.db"
    result = run("demo", *SMALL, db=db, lang=lang)
    assert result.returncode == 0, result.stderr
    lines = [line.strip() for line in result.stdout.strip().splitlines()]
    assert lines[-len(REPORTS) :] == [f"leadrelay --db {db} report {name}" for name in REPORTS]
    assert lines[-len(REPORTS) - 1] == next_line
    truth = tmp_path / "demo.truth.json"
    assert str(truth) in result.stdout.replace("\n", "")
    doc = json.loads(truth.read_text(encoding="utf-8"))
    assert len(doc["leads"]) == 60
    assert doc["end"] == "2026-11-25T12:00:00+09:00" and doc["start"] == "2026-11-11T12:00:00+09:00"
    assert {"is-kobayashi", "rep-tanaka", "rep-nishimura"} <= set(doc["reps"])


def test_demo_json_names_the_truth_file_it_wrote(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    chosen = tmp_path / "elsewhere.json"
    result = run("demo", *SMALL, "--truth", str(chosen), "--json", db=db)
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["demo"]["truth"] == str(chosen) and chosen.exists()
    assert shown["summary"]["leads"] == 60 == shown["demo"]["leads"]
