"""``leadrelay summaries``: an operator checks the summary tables the reports read against a
recount from the facts, sees which differ after facts were written past leadrelay, and rebuilds."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.support.cli import run


def test_check_finds_a_hand_edited_summary_and_rebuild_repairs_it(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    assert run("demo", "--static", "--people", "300", "--companies", "30", db=db).returncode == 0
    fine = run("summaries", "--json", db=db)
    assert fine.returncode == 0, fine.stderr
    status = json.loads(fine.stdout)
    assert status["equal"] is True and status["rebuilt"] is False
    loops = {s["summary"]: s for s in status["summaries"]}["loops"]
    assert loops["rows"] == loops["recounted"] > 0 and loops["differing"] == 0

    with sqlite3.connect(db) as connection:  # facts and summaries written past leadrelay
        connection.execute(
            "UPDATE summary_loops SET rep_id = 'nobody' WHERE loop_id = (SELECT min(loop_id) FROM summary_loops)"
        )
        connection.execute("DELETE FROM summary_loops WHERE loop_id = (SELECT max(loop_id) FROM summary_loops)")
    broken = run("summaries", db=db)
    assert broken.returncode == 1
    assert "leadrelay summaries --rebuild" in broken.stdout
    japanese = run("summaries", "--json", db=db, lang="ja")
    figures = {s["summary"]: s for s in json.loads(japanese.stdout)["summaries"]}["loops"]
    # the edited row counts twice (as stored and as recounted), the deleted one once; two leads
    assert (figures["differing"], figures["leads"], figures["rows"]) == (3, 2, loops["rows"] - 1)
    assert "再集計と異なるサマリー行があります" in run("summaries", db=db, lang="ja").stdout

    repaired = run("summaries", "--rebuild", db=db)
    assert repaired.returncode == 0, repaired.stderr
    assert "derived again from the facts" in repaired.stdout and "equals a recount" in repaired.stdout


def test_check_says_when_first_touches_were_timed_by_other_touch_types(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    assert run("demo", "--static", "--people", "300", "--companies", "30", db=db).returncode == 0
    status = json.loads(run("summaries", "--json", db=db).stdout)
    assert status["touch_types"] == status["playbook_touch_types"] == ["bant_collected", "call_connected"]
    with sqlite3.connect(db) as connection:  # as if derived under a playbook that counted only calls
        connection.execute("UPDATE settings SET value = '[\"call_connected\"]' WHERE key = 'summary_touch_types'")
    stale = run("summaries", db=db)
    assert stale.returncode == 1
    assert "timed by the touch types call_connected" in stale.stdout
    assert "bant_collected, call_connected" in stale.stdout
    assert "タッチ種別 call_connected で計測" in run("summaries", db=db, lang="ja").stdout
    repaired = run("summaries", "--rebuild", "--json", db=db)
    assert repaired.returncode == 0, repaired.stderr
    assert json.loads(repaired.stdout)["touch_types"] == ["bant_collected", "call_connected"]
