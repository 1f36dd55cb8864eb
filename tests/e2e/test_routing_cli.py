"""``leadrelay route`` and ``leadrelay reps`` through the real command line, on the demo data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import run


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("routing") / "demo.db"
    assert run("demo", "--static", "--people", "800", "--companies", "80", db=db).returncode == 0
    return db


def test_reps_lists_open_leads_against_capacity_in_both_languages(demo_db: Path) -> None:
    result = run("reps", "--json", db=demo_db)
    assert result.returncode == 0, result.stderr
    rows = {row["rep"]: row for row in json.loads(result.stdout)}
    assert {"rep-tanaka", "rep-nishimura", "is-kobayashi"} <= set(rows)
    assert sum(row["open"] for row in rows.values()) > 0
    # inside sales never takes named accounts (whose owners may go over), so it stays within capacity
    assert all(row["open"] <= row["capacity"] for row in rows.values() if row["department"] == "hq_inside_sales")
    japanese = run("reps", db=demo_db, lang="ja")
    assert "保有 / 上限" in japanese.stdout and "対応可" in japanese.stdout


def test_route_explain_names_the_rule_the_rep_and_who_was_passed_over(demo_db: Path) -> None:
    shown = json.loads(run("summary", "--json", db=demo_db).stdout)
    email = shown["top_leads"][0]["email"]
    result = run("route", "explain", email, "--json", db=demo_db)
    assert result.returncode == 0, result.stderr
    view = json.loads(result.stdout)
    assert view["kind"] == "explain" and view["department"] and view["reason"]
    assert all({"rep", "why"} <= set(p) for p in view["passed_over"])
    text = run("route", "explain", email, db=demo_db, lang="ja")
    assert "振り分け" in text.stdout


def test_away_stops_new_leads_and_reassign_moves_the_open_ones(tmp_path: Path, demo_db: Path) -> None:
    db = tmp_path / "copy.db"
    db.write_bytes(demo_db.read_bytes())
    away = run("reps", "away", "is-kobayashi", "--from", "2026-11-20", "--to", "2026-12-04", "--note", "研修", db=db)
    assert away.returncode == 0, away.stderr
    rows = {row["rep"]: row for row in json.loads(run("reps", "--json", db=db).stdout)}
    assert rows["is-kobayashi"]["status"] == "out_of_office" and rows["is-kobayashi"]["away_until"] == "2026-12-04"
    had = rows["is-kobayashi"]["open"]
    moved = run("reps", "reassign", "is-kobayashi", "--json", db=db)
    assert moved.returncode == 0, moved.stderr
    decisions = json.loads(moved.stdout)
    assert len(decisions) == had and all(d["previous_rep"] == "is-kobayashi" for d in decisions)
    assert all(d["rep"] != "is-kobayashi" for d in decisions)
    after = {row["rep"]: row for row in json.loads(run("reps", "--json", db=db).stdout)}
    assert after["is-kobayashi"]["open"] == 0
    assert run("reps", "back", "is-kobayashi", db=db).returncode == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("reps", "away", "nobody", "--from", "2026-11-20", "--to", "2026-11-21"), "no rep 'nobody'"),
        (("reps", "away", "is-yamamoto", "--from", "2026-11-20", "--to", "tomorrow"), "--to: 'tomorrow' is not a date"),
        (("reps", "away", "is-yamamoto", "--from", "2026-11-22", "--to", "2026-11-21"), "before --from"),
        (("route", "explain", "nobody@example.co.jp"), "no lead with e-mail or external id"),
    ],
)
def test_mistakes_are_one_line_and_exit_2(demo_db: Path, args: tuple[str, ...], message: str) -> None:
    result = run(*args, db=demo_db)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
