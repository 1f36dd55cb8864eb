"""Playbook versions: every activation kept with who and when; candidates checked with the line;
a rep's capacity set at run time (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from leadrelay import FakeClock, LeadRelay
from leadrelay.adapters.playbook.loader import default_playbook_path
from tests.conftest import NOW
from tests.support.routing import hand_raise, playbook_file


def test_each_activation_is_kept_with_its_actor_and_time(db_url: str, tmp_path: Path) -> None:
    default_text = default_playbook_path().read_text(encoding="utf-8")
    other_text = default_text.replace("\nversion: ", "\nversion: 9", 1)
    with LeadRelay.open(db_url, clock=FakeClock(NOW)) as relay:
        first = relay.playbook_view()  # the bundled default, activated on first use
        assert (first.activated_by, first.activated_at and first.activated_at.isoformat()) == (
            "engine",
            "2026-11-25T12:00:00+09:00",
        )
        later = relay.activate_playbook(other_text, actor="admin@example.co.jp", now=NOW + timedelta(hours=1))
        assert later.version.startswith("9")
        assert (later.activated_by, later.source) == ("admin@example.co.jp", "<upload>")
        assert later.document["version"] == later.version
        relay.activate_playbook(other_text, actor="someone@example.co.jp", now=NOW + timedelta(hours=2))  # no change
        relay.activate_playbook(default_text, actor="m@example.co.jp", now=NOW + timedelta(hours=3))
        versions = relay.playbook_versions()
        assert [(v.version.startswith("9"), v.active) for v in versions] == [(False, True), (True, False)]
        assert [(a.by, a.at.isoformat()) for a in versions[0].activations] == [
            ("engine", "2026-11-25T12:00:00+09:00"),
            ("m@example.co.jp", "2026-11-25T15:00:00+09:00"),
        ]
        assert [(a.by, a.at.isoformat()) for a in versions[1].activations] == [
            ("admin@example.co.jp", "2026-11-25T13:00:00+09:00")
        ]


def test_a_candidate_playbook_is_checked_with_the_line_of_its_error() -> None:
    text = default_playbook_path().read_text(encoding="utf-8")
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("timezone:"))
    lines[at] = "timezone: Mars/Olympus"
    check = LeadRelay.check_playbook("\n".join(lines) + "\n")
    assert check.valid is False
    [problem] = check.errors
    assert problem.line == at + 1
    assert "Mars/Olympus" in problem.message
    good = LeadRelay.check_playbook(text)
    assert (good.valid, good.errors, good.version) == (True, [], "2026.12.1")


def test_a_capacity_set_at_run_time_holds_until_set_back(db_url: str, tmp_path: Path) -> None:
    with LeadRelay.open(db_url, clock=FakeClock(NOW)) as relay:
        relay.use_playbook(playbook_file(tmp_path, capacity=5))
        relay.set_rep("a", capacity=0)
        relay.set_rep("b", active=False)
        result = relay.record_activities([hand_raise(1), hand_raise(2)])
        assert [r.rep for r in result.routed] == ["c", "c"]  # a takes no more leads, b is off
        rows = {row.rep: (row.capacity, row.status) for row in relay.reps()}
        assert rows == {"a": (0, "available"), "b": (5, "inactive"), "c": (5, "available")}
        relay.set_rep("a", playbook_capacity=True)
        assert {row.rep: row.capacity for row in relay.reps()}["a"] == 5


def test_a_playbook_another_connection_activates_is_used_by_the_next_call(db_url: str) -> None:
    default_text = default_playbook_path().read_text(encoding="utf-8")
    other_text = default_text.replace("\nversion: ", "\nversion: 9", 1)
    with LeadRelay.open(db_url, clock=FakeClock(NOW)) as mine, LeadRelay.open(db_url, clock=FakeClock(NOW)) as theirs:
        assert not mine.playbook().playbook.version.startswith("9")  # the bundled default, now known to this relay
        theirs.activate_playbook(other_text, actor="admin@example.co.jp")
        assert mine.playbook().playbook.version.startswith("9")
        theirs.activate_playbook(default_text, actor="admin@example.co.jp")
        assert not mine.playbook().playbook.version.startswith("9")  # back to one this relay had read before
