"""``leadrelay lead qualify`` through the real command line, with the default playbook (Pre-SQL on):
inside sales hands an MQL to field sales; a refused move is one line and exit 2."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from leadrelay import FakeClock, LeadRelay
from tests.conftest import NOW
from tests.support.cli import run

INSIDE_LEAD = "k.sato@sakura-mfg.co.jp"  # level 3: with inside sales (is-kobayashi)
FIELD_LEAD = "y.ito@fuji-logi.co.jp"  # level 4: with HQ Corporate Sales (rep-tanaka)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "leads.db"
    company = {"industry": "manufacturing", "employees": 800}
    at = (NOW - timedelta(hours=2)).isoformat()
    with LeadRelay.open(f"sqlite:///{path}", clock=FakeClock(NOW)) as relay:
        relay.add_leads(
            [
                {
                    "email": INSIDE_LEAD,
                    "seniority": "manager",
                    "prefecture": "東京都",
                    "company": {"name": "さくら製作所", **company},
                },
                {
                    "email": FIELD_LEAD,
                    "seniority": "manager",
                    "prefecture": "東京都",
                    "company": {"name": "富士物流", **company},
                },
            ]
        )
        relay.record_activities(
            [
                {"email": INSIDE_LEAD, "type": "webinar_attended", "occurred_at": at},
                {
                    "email": FIELD_LEAD,
                    "type": "booth_visited",
                    "occurred_at": at,
                    "properties": {"detailed_talk": True},
                },
            ]
        )
    return path


def test_qualify_moves_the_lead_to_pre_sql_and_names_the_field_rep(db: Path) -> None:
    # handoff_hq is load balanced: rep-tanaka holds the level 4 lead, rep-suzuki none
    result = run("lead", "qualify", INSIDE_LEAD, "--as", "is-kobayashi", "--note", "BANT: 予算あり", db=db)

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == (
        f"✓ {INSIDE_LEAD}: mql → pre_sql (pre_sql_qualified) — qualified by inside sales, handed to field sales:"
        " BANT: 予算あり"
    )
    assert lines[1].startswith(
        "→ handed to field sales: hq_corporate_sales / rep-suzuki — Pre-SQL qualified by is-kobayashi"
    )
    report = json.loads(run("lead", "show", INSIDE_LEAD, "--json", db=db).stdout)
    assert report["stage"] == "pre_sql"
    assert report["stage_label"] == {"en": "Pre-SQL", "ja": "Pre-SQL（IS精査済み）"}
    assert [(m["from"], m["to"], m["trigger"]) for m in report["history"]][-1] == (
        "mql",
        "pre_sql",
        "pre_sql_qualified",
    )
    assert report["owner"]["rep"] == "rep-suzuki"
    accepted = run("lead", "accept", INSIDE_LEAD, "--as", "rep-suzuki", db=db)
    assert accepted.returncode == 0, accepted.stderr
    assert "pre_sql → sal (accepted)" in accepted.stdout


def test_qualify_speaks_japanese_and_prints_json(db: Path) -> None:
    result = run("lead", "qualify", INSIDE_LEAD, "--json", db=db)
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert (body["stage"], body["handoff"]["rule"], body["handoff"]["rep"]) == ("pre_sql", "handoff_hq", "rep-suzuki")

    _ = run("lead", "reject", INSIDE_LEAD, "--reason", "wrong_person", "--as", "rep-suzuki", db=db)
    # a lead no longer an MQL: refused, in one line
    again = run("lead", "qualify", INSIDE_LEAD, db=db, lang="ja")
    assert again.returncode == 2
    assert "cannot apply 'pre_sql_qualified' to a lead in stage 'rejected' (allowed from: mql)" in again.stderr


def test_qualify_prints_the_handoff_in_japanese(db: Path) -> None:
    result = run("lead", "qualify", INSIDE_LEAD, db=db, lang="ja")
    assert result.returncode == 0, result.stderr
    assert "→ フィールドセールスへ引き渡し: hq_corporate_sales / rep-suzuki" in result.stdout


def test_a_lead_field_sales_holds_is_refused_in_one_line_with_exit_2(db: Path) -> None:
    result = run("lead", "qualify", FIELD_LEAD, db=db)

    assert result.returncode == 2, result.stdout
    assert (
        f"{FIELD_LEAD}: only inside sales (hq_inside_sales) qualifies a lead to Pre-SQL; it is with hq_corporate_sales"
        in result.stderr
    )
    assert "Traceback" not in result.stderr
    assert json.loads(run("lead", "show", FIELD_LEAD, "--json", db=db).stdout)["stage"] == "mql"
