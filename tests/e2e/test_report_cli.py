"""``leadrelay report`` as a user runs it: the list of reports, a report as tables (English and
Japanese), as JSON and as CSV; a bad option is one line naming it and exit 2."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path

import pytest

from leadrelay import LeadRelay
from tests.conftest import NOW
from tests.support.cli import run

LEAD = "k.sato@sakura-mfg.co.jp"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "reports.db"
    with LeadRelay.open(f"sqlite:///{path}") as relay:
        relay.add_leads([{"email": LEAD, "company": {"name": "さくら製作所"}}], now=NOW - timedelta(days=10))
    return path


def test_the_list_of_reports(db: Path) -> None:
    listed = run("report", db=db)
    assert listed.returncode == 0, listed.stderr
    assert "aging" in listed.stdout and "oldest=5" in listed.stdout
    japanese = run("report", db=db, lang="ja")
    assert "滞留" in japanese.stdout


def test_a_report_as_tables_json_and_csv(db: Path) -> None:
    shown = run("report", "aging", db=db)
    assert shown.returncode == 0, shown.stderr
    assert "Time in current stage" in shown.stdout and "total" in shown.stdout
    assert "2026-08-27 – 2026-11-25 (Asia/Tokyo)" in shown.stdout  # 91 days up to today
    assert "現在のステージでの経過日数" in run("report", "aging", db=db, lang="ja").stdout
    data = json.loads(run("report", "aging", "--json", db=db).stdout)
    assert data["stages"][0]["stage"] == "new" and data["stages"][0]["days"]["median"] == pytest.approx(10)
    rows = list(csv.DictReader(io.StringIO(run("report", "aging", "--csv", "--table", "oldest", db=db).stdout)))
    assert [(r["stage"], r["lead"]) for r in rows] == [("new", LEAD)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["report", "aging", "-o", "oldest=x"], "oldest: 'x' is not a whole number"),
        (["report", "aging", "-o", "oldest"], "--option: 'oldest' is not NAME=VALUE"),
        (["report", "aging", "--from", "2026-02-30"], "from: '2026-02-30' is not a date"),
        (["report", "sla", "--to", "0001-01-02"], "to: 0001-01-02 is not between 1900-01-01 and 9998-12-31"),
        (["report", "nope"], "name: no report named 'nope'"),
        (["report", "aging", "--csv", "--table", "nope"], "--table: no table 'nope'"),
        (["report", "aging", "--json", "--csv"], "choose one"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(db: Path, args: list[str], message: str) -> None:
    done = run(*args, db=db)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert message in done.stderr and "Traceback" not in done.stderr
