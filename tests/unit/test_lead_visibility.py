"""The lead list's visibility (applied in SQL) says exactly what ``access.can_see_lead`` says."""

from __future__ import annotations

import itertools

from leadrelay.services.access import Principal, Role, can_see_lead
from leadrelay.services.lead_list import visibility_of

PRINCIPALS = [
    Principal(user_id=1, email="admin@x.co.jp", role=Role.admin),
    Principal(user_id=2, email="mk@x.co.jp", role=Role.marketing),
    Principal(user_id=3, email="m@x.co.jp", role=Role.manager, departments=("inside", "osaka")),
    Principal(user_id=4, email="m2@x.co.jp", role=Role.manager, departments=()),
    Principal(user_id=5, email="a@x.co.jp", role=Role.rep, rep="a"),
    Principal(user_id=6, email="n@x.co.jp", role=Role.rep, rep=None),
]
OWNERS = [None, "a", "b"]
DEPARTMENTS = [None, "inside", "osaka", "marketing"]


def test_visibility_agrees_with_can_see_lead_for_every_role_and_owner() -> None:
    for who, rep, department in itertools.product(PRINCIPALS, OWNERS, DEPARTMENTS):
        assert visibility_of(who).sees(rep, department) == can_see_lead(who, rep, department), (who, rep, department)


def test_a_rep_sees_only_their_own_and_a_manager_only_their_departments() -> None:
    rep = visibility_of(PRINCIPALS[4])
    assert (rep.sees("a", "marketing"), rep.sees("b", "inside"), rep.sees(None, "inside")) == (True, False, False)
    manager = visibility_of(PRINCIPALS[2])
    assert (manager.sees("b", "inside"), manager.sees("a", "marketing")) == (True, False)
    assert visibility_of(PRINCIPALS[5]).conditions() == {}  # nothing to match: the query's "1 = 0"
