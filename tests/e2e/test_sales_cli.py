"""Sales' answers and the suppression list through the real command line."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tests.support.cli import run


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("sales") / "demo.db"
    assert run("demo", "--static", "--people", "600", "--companies", "60", db=db).returncode == 0
    return db


def owned_leads(db: Path) -> list[dict[str, str]]:
    result = run("suppression", "export", db=db)
    assert result.returncode == 0, result.stderr
    return list(csv.DictReader(io.StringIO(result.stdout)))


def test_accept_advance_and_lose_a_lead_then_it_leaves_the_suppression_list(tmp_path: Path, demo_db: Path) -> None:
    db = tmp_path / "copy.db"
    db.write_bytes(demo_db.read_bytes())
    before = owned_leads(db)
    assert before and set(before[0]) == {
        "email",
        "external_id",
        "stage",
        "owner_rep",
        "owner_department",
        "assigned_at",
    }
    email, rep = before[0]["email"], before[0]["owner_rep"]
    steps = [
        ("lead", "accept", email, "--as", rep, "--note", "電話済み"),
        ("lead", "advance", email, "--to", "sql", "--as", rep),
        ("lead", "advance", email, "--to", "opportunity", "--amount", "2400000", "--currency", "JPY", "--as", rep),
        ("lead", "advance", email, "--to", "lost", "--lost-reason", "予算凍結", "--as", rep),
    ]
    for step in steps:
        result = run(*step, db=db)
        assert result.returncode == 0, result.stderr
    assert "lost → recycled" in result.stdout
    assert email not in {row["email"] for row in owned_leads(db)}
    report = json.loads(run("lead", "show", email, "--json", db=db).stdout)
    assert [m["to"] for m in report["history"]][-5:] == ["sal", "sql", "opportunity", "lost", "recycled"]
    assert report["recycled_count"] == 1 and report["outcomes"][0]["lost_reason"] == "予算凍結"
    out = tmp_path / "suppression.csv"
    written = run("suppression", "export", "--out", str(out), db=db)
    assert written.returncode == 0 and out.read_text(encoding="utf-8").startswith("email,external_id,stage")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("lead", "reject", "{email}", "--reason", "nope"), "unknown reason 'nope' (reasons: not_ready"),
        (("lead", "reject", "{email}", "--reason", "other"), "needs a text"),
        (("lead", "advance", "{email}", "--to", "won"), "cannot apply 'won' to a lead in stage 'mql'"),
        (("lead", "advance", "{email}", "--to", "sql", "--amount", "many"), "not a number"),
        (("lead", "accept", "nobody@example.co.jp"), "no lead with e-mail or external id"),
    ],
)
def test_wrong_answers_are_one_line_and_exit_2(demo_db: Path, args: tuple[str, ...], message: str) -> None:
    email = owned_leads(demo_db)[0]["email"]
    result = run(*(a.format(email=email) for a in args), db=demo_db)
    assert result.returncode == 2, result.stdout
    assert message in result.stderr and "Traceback" not in result.stderr
