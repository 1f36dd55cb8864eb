"""Who sees which lead: admin and marketing every lead, a manager their departments', a rep their own."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from leadrelay.services.access import Principal, Role, can_see_lead, due_for_touch, key_hash, lead_filter
from tests.conftest import NOW

ADMIN = Principal(user_id=1, email="a@x.co.jp", role=Role.admin)
MARKETING = Principal(user_id=2, email="mk@x.co.jp", role=Role.marketing)
OSAKA_MANAGER = Principal(user_id=3, email="m@x.co.jp", role=Role.manager, departments=("osaka_branch",))
OKADA = Principal(user_id=4, email="okada@x.co.jp", role=Role.rep, rep="rep-okada")
NO_REP = Principal(user_id=5, email="r@x.co.jp", role=Role.rep)

#: (owner_rep, owner_department) of each lead in the table below, by id.
LEADS = {
    1: ("rep-okada", "osaka_branch"),
    2: ("rep-nishimura", "osaka_branch"),
    3: ("rep-tanaka", "hq_corporate_sales"),
    4: (None, "osaka_branch"),  # waiting in Osaka's queue
    5: (None, None),  # marketing's
}

VISIBLE = [
    (ADMIN, {1, 2, 3, 4, 5}),
    (MARKETING, {1, 2, 3, 4, 5}),
    (OSAKA_MANAGER, {1, 2, 4}),
    (OKADA, {1}),
    (NO_REP, set()),
]


@pytest.mark.parametrize(("principal", "expected"), VISIBLE, ids=lambda v: getattr(v, "email", ""))
def test_can_see_lead_follows_the_role(principal: Principal, expected: set[int]) -> None:
    assert {lead for lead, (rep, department) in LEADS.items() if can_see_lead(principal, rep, department)} == expected


@pytest.mark.parametrize(("principal", "expected"), VISIBLE, ids=lambda v: getattr(v, "email", ""))
def test_lead_filter_keeps_the_same_leads_in_sql(principal: Principal, expected: set[int]) -> None:
    metadata = sa.MetaData()
    table = sa.Table(
        "leads",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("owner_rep", sa.String),
        sa.Column("owner_department", sa.String),
    )
    engine = sa.create_engine("sqlite://")
    metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(
            table.insert(), [{"id": i, "owner_rep": r, "owner_department": d} for i, (r, d) in LEADS.items()]
        )
        found = set(connection.execute(sa.select(table.c.id).where(lead_filter(principal, table))).scalars())
    engine.dispose()
    assert found == expected


def test_a_manager_without_departments_sees_nothing() -> None:
    nobody = Principal(user_id=6, email="m2@x.co.jp", role=Role.manager)
    assert not can_see_lead(nobody, "rep-okada", "osaka_branch")


def test_the_actor_is_the_users_email() -> None:
    assert OKADA.actor == "okada@x.co.jp"


def test_a_key_is_stored_as_its_sha256() -> None:
    assert key_hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"  # FIPS 180-2 vector


def test_a_keys_use_is_recorded_at_most_once_a_minute() -> None:
    assert due_for_touch(None, NOW)
    assert not due_for_touch(NOW - timedelta(seconds=59), NOW)
    assert due_for_touch(NOW - timedelta(seconds=61), NOW)
