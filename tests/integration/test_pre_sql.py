"""Pre-SQL through the store (seed 001), on SQLite and PostgreSQL, with the default playbook: inside
sales qualifies an MQL it holds, the lead goes to field sales by the handoff rules (a decision kept
with its reasons), the field rep gets the assignment and the Pre-SQL SLA clocks, and accepts it (SAL,
then SQL) or rejects it; the history tells that path from MQL → SAL; a playbook without the section
behaves as before."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from leadrelay import FakeClock, LeadRelay
from leadrelay.adapters.playbook.loader import default_playbook_path
from leadrelay.adapters.store.tables import leads, outbox, routing_decisions, timers, transitions
from leadrelay.services.sales import IllegalMove, PreSqlRefused
from tests.conftest import JST, NOW
from tests.support.worker import make_worker

INSIDE = {"is-kobayashi", "is-yamamoto", "is-nakamura"}
EMAIL = "k.sato@sakura-mfg.co.jp"
QUALIFIED_AT = NOW + timedelta(hours=1)  # Wednesday 25 November 2026, 13:00 in Tokyo


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def relay(db_url: str, clock: FakeClock) -> Iterator[LeadRelay]:
    with LeadRelay.open(db_url, clock=clock) as instance:
        yield instance  # the default playbook: Pre-SQL on, hq_inside_sales hands over to field sales


def person(email: str = EMAIL, **more: Any) -> dict[str, Any]:
    return {
        "email": email,
        "title": "製造部 部長",
        "seniority": "manager",
        "prefecture": "東京都",
        "company": {"name": "さくら製作所", "industry": "manufacturing", "employees": 800},
        **more,
    }


def did(type_: str, hours_ago: float, email: str = EMAIL, **properties: Any) -> dict[str, Any]:
    return {
        "email": email,
        "type": type_,
        "occurred_at": (NOW - timedelta(hours=hours_ago)).isoformat(),
        "properties": properties,
    }


def with_inside_sales(relay: LeadRelay, **more: Any) -> str:
    """A level 3 MQL (webinar attended): routed to an inside sales rep; returns the rep."""
    relay.add_leads([person(**more)])
    relay.record_activities([did("webinar_attended", 5)])
    stage, department, rep = owner(relay)
    assert (stage, department) == ("mql", "hq_inside_sales") and rep in INSIDE
    return rep


def owner(relay: LeadRelay, email: str = EMAIL) -> tuple[str, str | None, str | None]:
    with relay.store.engine.connect() as connection:
        row = connection.execute(
            sa.select(leads.c.stage, leads.c.owner_department, leads.c.owner_rep).where(leads.c.email == email)
        ).one()
    return row.stage, row.owner_department, row.owner_rep


def history(relay: LeadRelay) -> list[tuple[str, str, str, str]]:
    with relay.store.engine.connect() as connection:
        rows = connection.execute(
            sa.select(transitions.c.from_stage, transitions.c.to_stage, transitions.c.trigger, transitions.c.actor)
            .join(leads, leads.c.id == transitions.c.lead_id)
            .where(leads.c.email == EMAIL)
            .order_by(transitions.c.id)
        ).all()
    return [tuple(r) for r in rows]


def decisions(relay: LeadRelay) -> list[Any]:
    with relay.store.engine.connect() as connection:
        return list(connection.execute(sa.select(routing_decisions).order_by(routing_decisions.c.id)))


def live_clocks(relay: LeadRelay) -> list[tuple[str, str, str, str]]:
    """(rep, policy, clock and timer kind, due in Tokyo) of the SLA timers that have not fired."""
    with relay.store.engine.connect() as connection:
        rows = connection.execute(
            sa.select(timers.c.kind, timers.c.due_at, timers.c.payload).where(
                timers.c.kind.like("sla_%"), timers.c.fired_at.is_(None), timers.c.failed_at.is_(None)
            )
        ).all()
    return sorted(
        (
            r.payload["rep_id"],
            r.payload["policy"],
            f"{r.payload['clock']}:{r.kind}",
            r.due_at.astimezone(JST).strftime("%m-%d %H:%M"),
        )
        for r in rows
    )


def told(relay: LeadRelay, event: str) -> list[str]:
    with relay.store.engine.connect() as connection:
        rows = connection.execute(sa.select(outbox.c.recipient).where(outbox.c.event == event).order_by(outbox.c.id))
        return [r.recipient for r in rows]


def test_qualify_hands_the_lead_to_field_sales_with_the_decision_and_its_reasons(relay: LeadRelay) -> None:
    inside_rep = with_inside_sales(relay)

    handoff = relay.qualify(EMAIL, actor=inside_rep, note="BANT: 予算あり", now=QUALIFIED_AT)

    # handoff_hq, load balanced: every HQ rep has no open lead, so the first declared takes it
    assert (handoff.stage, handoff.handoff.rule, handoff.handoff.rep) == ("pre_sql", "handoff_hq", "rep-tanaka")
    assert owner(relay) == ("pre_sql", "hq_corporate_sales", "rep-tanaka")
    assert [(m.from_stage, m.to_stage, m.trigger) for m in handoff.moves] == [("mql", "pre_sql", "pre_sql_qualified")]
    assert handoff.moves[0].reason == "qualified by inside sales, handed to field sales: BANT: 予算あり"
    route, handed = decisions(relay)
    assert (route.kind, route.rep_id) == ("route", inside_rep)
    assert (handed.kind, handed.rule_id, handed.department, handed.rep_id, handed.previous_rep, handed.actor) == (
        "handoff",
        "handoff_hq",
        "hq_corporate_sales",
        "rep-tanaka",
        inside_rep,
        inside_rep,
    )
    assert handed.reason == (
        f"Pre-SQL qualified by {inside_rep}: Pre-SQL → HQ Corporate Sales: 田中 一郎 (fewest open leads against capacity)"
    )
    details = handed.details  # JSON, read back as a mapping
    assert details["misses"] == [
        ["handoff_named_account_osaka", "condition"],  # not a named account
        ["handoff_named_account_hq", "condition"],
        ["handoff_kinki", "territory"],  # Tokyo
    ]
    assert [rep for rep, *_ in details["passed_over"]] == ["rep-suzuki", "rep-takahashi", "rep-watanabe"]
    # the field rep hears of it like of any assignment (the inside rep heard of the first one)
    assert told(relay, "assigned")[-1] == "i.tanaka@example.co.jp"
    assert len(told(relay, "assigned")) == 2


def test_the_field_rep_gets_the_pre_sql_clocks_and_inside_sales_clocks_stop(relay: LeadRelay) -> None:
    inside_rep = with_inside_sales(relay)
    assert {policy for _, policy, *_ in live_clocks(relay)} == {"sla_inside_sales"}

    relay.qualify(EMAIL, actor=inside_rep, now=QUALIFIED_AT)

    # sla_pre_sql: accept within 9 business hours, first touch within 4, warned at 75 %; the office
    # is open 09:00-18:00, so from Wednesday 13:00 five hours run that day and the rest on Thursday
    assert live_clocks(relay) == [
        ("rep-tanaka", "sla_pre_sql", "accept:sla_breach", "11-26 13:00"),
        ("rep-tanaka", "sla_pre_sql", "accept:sla_warning", "11-26 10:45"),
        ("rep-tanaka", "sla_pre_sql", "touch:sla_breach", "11-25 17:00"),
        ("rep-tanaka", "sla_pre_sql", "touch:sla_warning", "11-25 16:00"),
    ]
    rows = {r.clock: r for r in relay.sla(everything=True, now=QUALIFIED_AT + timedelta(hours=1))}
    assert {c: (r.rep, r.policy, r.state, r.business_hours_left) for c, r in rows.items()} == {
        "accept": ("rep-tanaka", "sla_pre_sql", "ok", 8.0),
        "touch": ("rep-tanaka", "sla_pre_sql", "ok", 3.0),
    }


def test_field_sales_accepts_the_pre_sql_and_the_history_shows_the_longer_path(relay: LeadRelay) -> None:
    inside_rep = with_inside_sales(relay)
    relay.qualify(EMAIL, actor=inside_rep, now=QUALIFIED_AT)

    relay.accept(EMAIL, actor="rep-tanaka", now=QUALIFIED_AT + timedelta(hours=2))
    relay.advance(EMAIL, "sql", actor="rep-tanaka", now=QUALIFIED_AT + timedelta(days=1))

    assert owner(relay) == ("sql", "hq_corporate_sales", "rep-tanaka")
    assert history(relay)[-3:] == [
        ("mql", "pre_sql", "pre_sql_qualified", inside_rep),
        ("pre_sql", "sal", "accepted", "rep-tanaka"),
        ("sal", "sql", "sales_qualified", "rep-tanaka"),
    ]
    assert live_clocks(relay) == []  # answered: the clocks stopped
    report = relay.lead(EMAIL)
    assert [(m.from_stage, m.to_stage) for m in report.history][-3:] == [
        ("mql", "pre_sql"),
        ("pre_sql", "sal"),
        ("sal", "sql"),
    ]
    assert [r.kind for r in report.routing][-1] == "handoff"


def test_an_mql_accepted_directly_has_no_pre_sql_in_its_history(relay: LeadRelay) -> None:
    inside_rep = with_inside_sales(relay)

    relay.accept(EMAIL, actor=inside_rep, now=QUALIFIED_AT)

    assert [(f, t, trig) for f, t, trig, _ in history(relay)][-1] == ("mql", "sal", "accepted")
    assert "pre_sql" not in {t for _, t, _, _ in history(relay)}
    # SAL is sales' acceptance: the waterfall does not go back to Pre-SQL
    with pytest.raises(IllegalMove, match=r"cannot apply 'pre_sql_qualified' to a lead in stage 'sal'"):
        relay.qualify(EMAIL, actor=inside_rep, now=QUALIFIED_AT + timedelta(hours=1))
    assert owner(relay) == ("sal", "hq_inside_sales", inside_rep)


def test_field_sales_rejecting_a_pre_sql_sends_it_back_to_marketing(relay: LeadRelay) -> None:
    inside_rep = with_inside_sales(relay)
    relay.qualify(EMAIL, actor=inside_rep, now=QUALIFIED_AT)

    feedback = relay.reject(EMAIL, "not_ready", actor="rep-tanaka", now=QUALIFIED_AT + timedelta(hours=2))

    assert [(m.from_stage, m.to_stage) for m in feedback.moves] == [("pre_sql", "rejected"), ("rejected", "recycled")]
    assert owner(relay) == ("recycled", "marketing", None)
    assert live_clocks(relay) == []


def test_a_kinki_pre_sql_goes_to_osaka(relay: LeadRelay) -> None:
    inside_rep = with_inside_sales(relay, prefecture="大阪府")

    handoff = relay.qualify(EMAIL, actor=inside_rep, now=QUALIFIED_AT)

    # handoff_kinki, round robin from the first declared Osaka rep
    assert (handoff.handoff.rule, handoff.handoff.department, handoff.handoff.rep) == (
        "handoff_kinki",
        "osaka_branch",
        "rep-nishimura",
    )


def test_only_inside_sales_qualifies_an_mql_field_sales_holds(relay: LeadRelay) -> None:
    relay.add_leads([person()])
    relay.record_activities([did("booth_visited", 5, detailed_talk=True)])  # level 4: straight to field sales
    before = owner(relay)
    assert before[1] == "hq_corporate_sales"

    with pytest.raises(PreSqlRefused) as caught:
        relay.qualify(EMAIL, actor=str(before[2]), now=QUALIFIED_AT)

    assert caught.value.field == "owner_department"
    assert str(caught.value) == (
        f"{EMAIL}: only inside sales (hq_inside_sales) qualifies a lead to Pre-SQL; it is with hq_corporate_sales"
        " — its rep accepts or rejects it"
    )
    assert owner(relay) == before
    assert [d.kind for d in decisions(relay)] == ["route"]


def test_a_queued_pre_sql_is_routed_when_a_field_rep_is_free_again(relay: LeadRelay) -> None:
    inside_rep = with_inside_sales(relay)
    for rep in ("rep-tanaka", "rep-suzuki", "rep-takahashi", "rep-watanabe"):
        relay.set_rep(rep, active=False)

    handoff = relay.qualify(EMAIL, actor=inside_rep, now=QUALIFIED_AT)

    assert (handoff.handoff.rep, handoff.handoff.department) == (None, "hq_corporate_sales")
    assert owner(relay) == ("pre_sql", "hq_corporate_sales", None)
    relay.set_rep("rep-suzuki", active=True)
    routed = relay.route(now=QUALIFIED_AT + timedelta(hours=1))
    assert [(r.rule, r.rep) for r in routed] == [("handoff_hq", "rep-suzuki")]
    assert owner(relay) == ("pre_sql", "hq_corporate_sales", "rep-suzuki")


def _pre_sql_playbook(tmp_path: Path, old: str, new: str) -> Path:
    text = default_playbook_path().read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "playbook.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_a_pre_sql_breach_escalates_to_the_field_manager(relay: LeadRelay, clock: FakeClock) -> None:
    inside_rep = with_inside_sales(relay)
    clock.set(QUALIFIED_AT)
    relay.qualify(EMAIL, actor=inside_rep)
    clock.set(datetime(2026, 11, 25, 17, 1, tzinfo=JST))  # the first-touch clock ran out at 17:00

    make_worker(relay).run_once()

    # notify_sla_breach: the rep and the manager by e-mail, and the sales chat room
    assert sorted(told(relay, "sla_breach")) == ["i.tanaka@example.co.jp", "k.matsumoto@example.co.jp", "sales_chat"]
    assert owner(relay) == ("pre_sql", "hq_corporate_sales", "rep-tanaka")


def test_a_pre_sql_breach_with_reassign_goes_to_another_field_rep_never_back_to_inside_sales(
    db_url: str, tmp_path: Path, clock: FakeClock
) -> None:
    reassigning = _pre_sql_playbook(
        tmp_path,
        "warn_at: 0.75\n      on_breach: escalate\n\nnotifications",
        "warn_at: 0.75\n      on_breach: reassign\n\nnotifications",
    )
    with LeadRelay.open(db_url, clock=clock) as relay:
        relay.use_playbook(reassigning)
        inside_rep = with_inside_sales(relay)
        clock.set(QUALIFIED_AT)
        relay.qualify(EMAIL, actor=inside_rep)
        clock.set(datetime(2026, 11, 25, 17, 1, tzinfo=JST))

        make_worker(relay).run_once()

        kinds = [(d.kind, d.rule_id, d.rep_id, d.actor) for d in decisions(relay)]
        assert kinds[1:] == [
            ("handoff", "handoff_hq", "rep-tanaka", inside_rep),
            ("reassign", "handoff_hq", "rep-suzuki", "sla:sla_pre_sql"),  # the next HQ rep by load, then turn
        ]
        assert owner(relay) == ("pre_sql", "hq_corporate_sales", "rep-suzuki")
        assert {(rep, policy) for rep, policy, *_ in live_clocks(relay)} == {("rep-suzuki", "sla_pre_sql")}


def test_without_a_pre_sql_section_qualify_is_refused_and_everything_else_is_as_before(
    db_url: str, tmp_path: Path, clock: FakeClock
) -> None:
    text = default_playbook_path().read_text(encoding="utf-8")
    start, end = text.index("pre_sql:\n  inside_sales"), text.index("# Who hears about what")
    sla_start = text.index("    - id: sla_pre_sql")
    sla_end = text.index("\nnotifications:")
    off = text[:start] + text[end:sla_start] + text[sla_end + 1 :]
    path = tmp_path / "off.yaml"
    path.write_text(off.replace("[mql, pre_sql, sal, sql]", "[mql, sal, sql]"), encoding="utf-8")
    with LeadRelay.open(db_url, clock=clock) as relay:
        assert relay.use_playbook(path).playbook.pre_sql is None
        inside_rep = with_inside_sales(relay)

        with pytest.raises(PreSqlRefused, match=r"^the active playbook 'default' does not use the Pre-SQL stage"):
            relay.qualify(EMAIL, actor=inside_rep, now=QUALIFIED_AT)

        assert owner(relay) == ("mql", "hq_inside_sales", inside_rep)
        assert {policy for _, policy, *_ in live_clocks(relay)} == {"sla_inside_sales"}
        relay.accept(EMAIL, actor=inside_rep, now=QUALIFIED_AT)
        assert history(relay)[-1] == ("mql", "sal", "accepted", inside_rep)
        assert [d.kind for d in decisions(relay)] == ["route"]
