"""``leadrelay lead touch`` and ``leadrelay lead note`` as a user runs them: a touch stops the
first-touch clock; notes and touches are listed by ``lead show``; bad input is one line and exit 2."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import run

LEAD = "k.sato@sakura-mfg.co.jp"


def demo_request(db: Path) -> None:
    """A fitting person asks for a demo: an MQL routed at once to a rep of the default playbook."""
    profile = run(
        "lead",
        "add",
        "--email",
        LEAD,
        "--title",
        "情報システム部 部長",
        "--seniority",
        "manager",
        "--country",
        "JP",
        "--prefecture",
        "東京都",
        "--company",
        "さくら製作所",
        "--industry",
        "manufacturing",
        "--employees",
        "800",
        db=db,
    )
    assert profile.returncode == 0, profile.stderr
    added = run(
        "activity",
        "add",
        "--email",
        LEAD,
        "--type",
        "demo_requested",
        "--at",
        "2026-11-25T10:00:00+09:00",
        db=db,
    )
    assert added.returncode == 0, added.stderr


def test_a_touch_and_a_note_are_recorded_and_shown(tmp_path: Path) -> None:
    db = tmp_path / "leadrelay.db"
    demo_request(db)
    touched = run(
        "lead",
        "touch",
        LEAD,
        "--kind",
        "call",
        "--outcome",
        "connected",
        "--at",
        "2026-11-25T11:30:00+09:00",
        "--note",
        "予算あり",
        "--as",
        "rep-tanaka",
        "--json",
        db=db,
    )
    assert touched.returncode == 0, touched.stderr
    assert json.loads(touched.stdout) == {
        "kind": "call",
        "outcome": "connected",
        "at": "2026-11-25T11:30:00+09:00",
        "note": "予算あり",
        "actor": "rep-tanaka",
        "recorded_at": "2026-11-25T12:00:00+09:00",
    }
    noted = run("lead", "note", LEAD, "CTO も同席希望", "--as", "rep-tanaka", db=db)
    assert noted.returncode == 0, noted.stderr
    assert noted.stdout.strip() == f"✓ {LEAD}: note kept"
    shown = json.loads(run("lead", "show", LEAD, "--json", db=db).stdout)
    assert [(t["kind"], t["outcome"], t["actor"]) for t in shown["touches"]] == [("call", "connected", "rep-tanaka")]
    assert shown["notes"] == [{"text": "CTO も同席希望", "actor": "rep-tanaka", "at": "2026-11-25T12:00:00+09:00"}]
    table = run("lead", "show", LEAD, db=db, lang="ja").stdout
    assert "営業の接触" in table
    assert "メモ 2026-11-25 12:00 rep-tanaka: CTO も同席希望" in table


def test_a_touch_stops_the_first_touch_clock(tmp_path: Path) -> None:
    db = tmp_path / "leadrelay.db"
    demo_request(db)
    before = json.loads(run("sla", "--all", "--json", db=db).stdout)
    assert sorted(row["clock"] for row in before) == ["accept", "touch"]
    assert run("lead", "touch", LEAD, "--kind", "email", "--outcome", "sent", db=db).returncode == 0
    after = json.loads(run("sla", "--all", "--json", db=db).stdout)
    assert [row["clock"] for row in after] == ["accept"]


def test_bad_touches_and_notes_are_one_line_and_exit_2(tmp_path: Path) -> None:
    db = tmp_path / "leadrelay.db"
    demo_request(db)
    cases = [
        (["lead", "touch", LEAD, "--kind", "visit", "--outcome", "held"], "kind: 'visit' is not a kind of touch"),
        (["lead", "touch", LEAD, "--kind", "call", "--outcome", "held"], "outcome: 'held' is not an outcome of a call"),
        (
            ["lead", "touch", LEAD, "--kind", "call", "--outcome", "connected", "--at", "2027-01-01T00:00:00+09:00"],
            "--at: '2027-01-01T00:00:00+09:00' is in the future",
        ),
        (["lead", "note", LEAD, "  "], "text: must not be empty"),
        (["lead", "note", "nobody@sakura-mfg.co.jp", "hello"], "no lead with e-mail or external id"),
    ]
    for args, message in cases:
        result = run(*args, db=db)
        assert result.returncode == 2, (args, result.stderr)
        assert message in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        assert "Traceback" not in result.stderr
    shown = json.loads(run("lead", "show", LEAD, "--json", db=db).stdout)
    assert (shown["touches"], shown["notes"]) == ([], [])
