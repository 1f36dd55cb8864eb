"""Ownership follows the level through the store (seed 003), on SQLite and PostgreSQL: inside sales
gets level 2/3 leads, field sales level 4 (Osaka for Kinki), ownership moves up and never back,
disqualified leads have no owner, recycled leads are owned by marketing from the recycle on."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from leadrelay import FakeClock, LeadRelay
from leadrelay.adapters.store.tables import accounts, leads, outbox, routing_decisions, timers
from tests.conftest import NOW

INSIDE = {"is-kobayashi", "is-yamamoto", "is-nakamura"}
HQ = {"rep-tanaka", "rep-suzuki", "rep-takahashi", "rep-watanabe"}
OSAKA = {"rep-nishimura", "rep-okada"}


@pytest.fixture
def relay(db_url: str) -> Iterator[LeadRelay]:
    with LeadRelay.open(db_url, clock=FakeClock(NOW)) as instance:
        yield instance  # the default playbook: the seeds' level table


def person(email: str, **place: str) -> dict[str, Any]:
    return {
        "email": email,
        "title": "製造部 部長",
        "seniority": "manager",
        "company": {"name": "さくら製作所", "industry": "manufacturing", "employees": 800},
        **place,
    }


def did(email: str, type_: str, hours_ago: float, **properties: Any) -> dict[str, Any]:
    return {
        "email": email,
        "type": type_,
        "occurred_at": (NOW - timedelta(hours=hours_ago)).isoformat(),
        "properties": properties,
    }


def owner(relay: LeadRelay, email: str) -> tuple[str, str | None, str | None]:
    with relay.store.engine.connect() as connection:
        row = connection.execute(
            sa.select(leads.c.stage, leads.c.owner_department, leads.c.owner_rep).where(leads.c.email == email)
        ).one()
    return row.stage, row.owner_department, row.owner_rep


def department_of(rep: str | None) -> str:
    if rep in INSIDE:
        return "hq_inside_sales"
    if rep in HQ:
        return "hq_corporate_sales"
    if rep in OSAKA:
        return "osaka_branch"
    return "none"


@pytest.mark.parametrize(
    ("activity", "place", "stage", "department"),
    [
        (("trade_show_visited", {}), {"prefecture": "東京都"}, "nurture", None),
        (("email_opened", {"kind": "document_delivery"}), {"prefecture": "東京都"}, "mql", "hq_inside_sales"),
        (("webinar_attended", {}), {"prefecture": "大阪府"}, "mql", "hq_inside_sales"),
        (("booth_visited", {"detailed_talk": True}), {"prefecture": "東京都"}, "mql", "hq_corporate_sales"),
        (("booth_visited", {"detailed_talk": True}), {"prefecture": "大阪府"}, "mql", "osaka_branch"),
        (("booth_visited", {"detailed_talk": True}), {"postal_code": "〒650-0001"}, "mql", "osaka_branch"),  # Kobe
        (("booth_visited", {"detailed_talk": True}), {"phone": "075-123-4567"}, "mql", "osaka_branch"),  # Kyoto
        (("booth_visited", {"detailed_talk": True}), {"phone": "03-1234-5678"}, "mql", "hq_corporate_sales"),
    ],
    ids=["L1", "L2", "L3-kinki", "L4-tokyo", "L4-osaka", "L4-postal-only", "L4-phone-only", "L4-tokyo-phone"],
)
def test_a_lead_goes_to_the_department_that_owns_its_level(
    relay: LeadRelay,
    activity: tuple[str, dict[str, Any]],
    place: dict[str, str],
    stage: str,
    department: str | None,
) -> None:
    email = "k.sato@sakura-mfg.co.jp"
    relay.add_leads([person(email, **place)])
    type_, properties = activity
    relay.record_activities([did(email, type_, 5, **properties)])

    got_stage, got_department, rep = owner(relay, email)

    assert got_stage == stage
    if department is None:
        assert rep is None
    else:
        assert (got_department, department_of(rep)) == (department, department)


def test_a_level_rise_moves_an_unanswered_lead_from_inside_sales_to_field_sales_once(relay: LeadRelay) -> None:
    email = "k.sato@sakura-mfg.co.jp"
    relay.add_leads([person(email, prefecture="大阪府")])
    relay.record_activities([did(email, "webinar_attended", 30)])
    _, department, inside_rep = owner(relay, email)
    assert department == "hq_inside_sales" and inside_rep in INSIDE

    relay.record_activities([did(email, "booth_visited", 5, detailed_talk=True)])  # level 4 now
    _, department, field_rep = owner(relay, email)
    assert department == "osaka_branch" and field_rep in OSAKA

    with relay.store.engine.connect() as connection:
        made = connection.execute(
            sa.select(routing_decisions.c.kind, routing_decisions.c.rep_id, routing_decisions.c.previous_rep,
                      routing_decisions.c.reason).order_by(routing_decisions.c.id)
        ).all()  # fmt: skip
        assigned = connection.execute(
            sa.select(outbox.c.recipient).where(outbox.c.event == "assigned").order_by(outbox.c.id)
        ).all()
        live = connection.execute(
            sa.select(timers.c.payload).where(
                timers.c.kind == "sla_breach", timers.c.fired_at.is_(None), timers.c.failed_at.is_(None)
            )
        ).all()
    assert [(k, rep, prev) for k, rep, prev, _ in made] == [
        ("route", inside_rep, None),
        ("level", field_rep, inside_rep),
    ]
    assert made[1].reason.startswith("level 4 reached, owned by HQ Corporate Sales / Osaka Branch Sales: ")
    assert len(assigned) == 2  # the inside sales rep, then the field rep: each told once
    live_reps = {payload["rep_id"] for (payload,) in live}
    assert live_reps == {field_rep}  # the inside rep's clocks stopped, the field rep's run

    relay.record_activities([did(email, "page_viewed", 1, page_kind="pricing")])  # nothing new about the level
    assert owner(relay, email)[2] == field_rep


def test_a_level_going_down_leaves_the_lead_with_field_sales(relay: LeadRelay) -> None:
    email = "k.sato@sakura-mfg.co.jp"
    relay.add_leads([person(email, prefecture="東京都")])
    relay.record_activities([did(email, "booth_visited", 5, detailed_talk=True)])  # level 4: field sales
    first = owner(relay, email)
    assert first[1] == "hq_corporate_sales" and first[2] in HQ

    later = NOW + timedelta(days=200)  # the booth talk has aged out of the 180-day window
    webinar = {**did(email, "webinar_attended", 0), "occurred_at": (later - timedelta(hours=1)).isoformat()}
    relay.record_activities([webinar], now=later)  # level 3 now: inside sales' level

    assert owner(relay, email) == first


def test_a_disqualified_lead_has_no_owner_and_no_running_clock(relay: LeadRelay) -> None:
    email = "k.sato@sakura-mfg.co.jp"
    relay.add_leads([person(email, prefecture="東京都")])
    relay.record_activities([did(email, "demo_requested", 5)])
    assert owner(relay, email)[2] is not None

    relay.add_leads([{**person(email), "title": "学生", "seniority": "student"}])

    assert owner(relay, email) == ("disqualified", None, None)
    with relay.store.engine.connect() as connection:
        due = connection.execute(
            sa.select(sa.func.count())
            .select_from(timers)
            .where(timers.c.kind.like("sla_%"), timers.c.fired_at.is_(None), timers.c.failed_at.is_(None))
        ).scalar_one()
    assert due == 0


def test_a_recycled_lead_is_owned_by_marketing_from_the_moment_of_the_recycle(relay: LeadRelay) -> None:
    email = "k.sato@sakura-mfg.co.jp"
    relay.add_leads([person(email, prefecture="東京都")])
    relay.record_activities([did(email, "demo_requested", 5)])
    later = NOW + timedelta(hours=3)

    relay.reject(email, "not_ready", now=later)

    with relay.store.engine.connect() as connection:
        row = connection.execute(
            sa.select(leads.c.stage, leads.c.owner_department, leads.c.owner_rep, leads.c.assigned_at).where(
                leads.c.email == email
            )
        ).one()
    assert (row.stage, row.owner_department, row.owner_rep) == ("recycled", "marketing", None)
    assert row.assigned_at == later


def test_free_mail_leads_that_name_a_company_make_no_account_and_share_nothing(relay: LeadRelay) -> None:
    relay.add_leads(
        [
            {
                "email": "taro@gmail.com",
                "company": {"name": "さくら製作所", "industry": "manufacturing", "employees": 800},
            },
            {"email": "hanako@gmail.com", "company_name": "ふじ物流", "title": "学生"},
        ]
    )

    with relay.store.engine.connect() as connection:
        rows = connection.execute(
            sa.select(leads.c.email, leads.c.account_id, leads.c.company_name).order_by(leads.c.email)
        ).all()
        made = connection.execute(sa.select(sa.func.count()).select_from(accounts)).scalar_one()
    assert [tuple(r) for r in rows] == [
        ("hanako@gmail.com", None, "ふじ物流"),
        ("taro@gmail.com", None, "さくら製作所"),
    ]
    assert made == 0
    assert relay.summary().unique_companies == 0
    assert relay.lead("taro@gmail.com").profile.company_name == "さくら製作所"
    assert relay.lead("taro@gmail.com").account is None
