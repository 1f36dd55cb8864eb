"""Routing through the store: decisions kept with their reasons, turns that survive a restart,
reps switched off or away, reassigning — on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from leadrelay import FakeClock, LeadRelay
from leadrelay.adapters.store.tables import leads, routing_decisions
from leadrelay.services.routing import RoutingUnavailable
from tests.conftest import NOW
from tests.support.playbooks import without_level_owners
from tests.support.routing import hand_raise, playbook_file


@pytest.fixture
def relay(db_url: str, tmp_path: Path) -> Iterator[LeadRelay]:
    with LeadRelay.open(db_url, clock=FakeClock(NOW)) as instance:
        instance.use_playbook(playbook_file(tmp_path))
        yield instance


def owners(relay: LeadRelay) -> dict[str, str | None]:
    with relay.store.engine.connect() as connection:
        return dict(connection.execute(sa.select(leads.c.email, leads.c.owner_rep)).all())


def decisions(relay: LeadRelay) -> list[Any]:
    with relay.store.engine.connect() as connection:
        return list(connection.execute(sa.select(routing_decisions).order_by(routing_decisions.c.id)))


def test_a_lead_that_qualifies_is_routed_in_the_same_batch_and_the_decision_explains_itself(
    relay: LeadRelay,
) -> None:
    result = relay.record_activities([hand_raise(1)])
    assert [(r.lead, r.rep) for r in result.routed] == [("person1@sakura-mfg.co.jp", "a")]
    report = relay.lead("person1@sakura-mfg.co.jp")
    assert report.owner.rep == "a" and report.owner.department == "inside"
    [decision] = report.routing
    assert decision.rule == "to_inside" and decision.strategy == "round_robin"
    assert [p.as_json() for p in decision.passed_over] == [
        {"rep": "b", "why": "turn", "detail": ""},
        {"rep": "c", "why": "turn", "detail": ""},
    ]


def test_round_robin_turns_survive_a_restart(db_url: str, tmp_path: Path) -> None:
    got: list[str | None] = []
    for n in range(7):  # a new process (engine) for every lead
        with LeadRelay.open(db_url, clock=FakeClock(NOW)) as relay:
            if n == 0:
                relay.use_playbook(playbook_file(tmp_path))
            got.extend(r.rep for r in relay.record_activities([hand_raise(n, hours=n)]).routed)
    assert got == ["a", "b", "c", "a", "b", "c", "a"]


def test_hand_raisers_are_routed_first_when_capacity_is_short(db_url: str, tmp_path: Path) -> None:
    with LeadRelay.open(db_url, clock=FakeClock(NOW)) as relay:
        relay.use_playbook(playbook_file(tmp_path, capacity=1))
        scored = [
            {
                "email": f"reader{n}@sakura-mfg.co.jp",
                "type": "bant_collected",
                "occurred_at": (NOW - timedelta(days=3, hours=n)).isoformat(),
                "source_id": f"bant-{n}",
                "lead": hand_raise(0)["lead"],
            }
            for n in range(3)
        ]
        batch = scored + [hand_raise(n, hours=n) for n in range(2)]  # qualified later, but raised hands
        routed = relay.record_activities(batch).routed
    assert sorted(r.lead for r in routed if r.rep)[:2] == [
        "person0@sakura-mfg.co.jp",
        "person1@sakura-mfg.co.jp",
    ]
    waiting = [r for r in routed if r.rep is None]
    assert len(waiting) == 2 and all(r.department == "marketing" for r in waiting)
    assert all(m.why == "no_rep" for r in waiting for m in r.rules_not_taken)


def test_an_inactive_or_away_rep_gets_nothing_and_a_queued_lead_is_routed_when_they_return(
    relay: LeadRelay,
) -> None:
    relay.set_rep("a", active=False)
    relay.set_rep("b", away=(date(2026, 11, 24), date(2026, 11, 27)), note="研修")
    relay.set_rep("c", active=False)
    routed = relay.record_activities([hand_raise(1)]).routed
    assert routed[0].rep is None and routed[0].department == "marketing"
    why = {p.rep: p.why for p in routed[0].passed_over}
    assert why == {"a": "inactive", "b": "out_of_office", "c": "inactive"}
    table = {row.rep: row for row in relay.reps()}
    assert table["b"].status == "out_of_office" and table["b"].away_until == date(2026, 11, 27)
    assert relay.route() == []  # nobody can take it yet: it stays queued, nothing is recorded
    relay.set_rep("b", back=True)
    [again] = relay.route()
    assert again.rep == "b"
    assert owners(relay)["person1@sakura-mfg.co.jp"] == "b"
    assert [d.kind for d in decisions(relay)] == ["route", "route"]


def test_reassigning_moves_open_leads_to_the_others_or_to_one_named_rep(relay: LeadRelay) -> None:
    relay.record_activities([hand_raise(n, hours=n) for n in range(6)])
    assert Counter(owners(relay).values()) == {"a": 2, "b": 2, "c": 2}
    moved = relay.reassign("a")
    assert len(moved) == 2 and all(r.previous_rep == "a" and r.rep in {"b", "c"} for r in moved)
    assert Counter(owners(relay).values()) == {"b": 3, "c": 3}
    to_one = relay.reassign("b", to="a")
    assert {r.rep for r in to_one} == {"a"} and len(to_one) == 3
    assert Counter(owners(relay).values()) == {"a": 3, "c": 3}
    table = {row.rep: (row.open, row.received_this_week) for row in relay.reps()}
    assert table == {"a": (3, 5), "b": (0, 3), "c": (3, 3)}
    with pytest.raises(RoutingUnavailable, match="no rep 'nobody'"):
        relay.reassign("nobody")


def test_explain_routes_nothing_and_uses_no_turn(relay: LeadRelay) -> None:
    relay.record_activities([hand_raise(1)])
    explained = relay.route_explain("person1@sakura-mfg.co.jp")
    assert explained.previous_rep == "a" and explained.rep == "b"
    assert len(decisions(relay)) == 1
    routed = relay.record_activities([hand_raise(2, hours=1)]).routed
    assert routed[0].rep == "b"  # the turn explain looked at was not used up


def test_after_a_playbook_change_rerouting_changes_owners_only_when_asked(relay: LeadRelay, tmp_path: Path) -> None:
    relay.record_activities([hand_raise(n, hours=n) for n in range(3)])
    before = owners(relay)
    text = playbook_file(tmp_path).read_text(encoding="utf-8").replace("{id: a, name: Rep A", "{id: d, name: Rep D")
    changed = tmp_path / "changed.yaml"
    changed.write_text(text, encoding="utf-8")
    relay.use_playbook(changed)
    assert relay.route() == [] and owners(relay) == before
    rerouted = relay.route(include_assigned=True)
    assert len(rerouted) == 3 and "a" not in set(owners(relay).values())
    assert {d.kind for d in decisions(relay)} == {"route", "reroute"}


def test_a_playbook_without_routing_says_so(db_url: str, tmp_path: Path) -> None:
    from leadrelay.adapters.playbook.loader import default_playbook_path

    text = default_playbook_path().read_text(encoding="utf-8")
    path = tmp_path / "no-routing.yaml"
    path.write_text(without_level_owners(text)[: without_level_owners(text).index("\nrouting:")], encoding="utf-8")
    with LeadRelay.open(db_url, clock=FakeClock(NOW)) as relay:
        relay.use_playbook(path)
        assert relay.record_activities([hand_raise(1)]).routed == []
        with pytest.raises(RoutingUnavailable, match="no routing section"):
            relay.route()
