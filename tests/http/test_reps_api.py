"""Reps and departments over HTTP: load and status, away and back, capacity, reassigning; a
manager changes only the reps of their departments."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadrelay.services.access import Role
from tests.support.http import ApiHarness, MakeUser, auth
from tests.support.leads import fill


@pytest.fixture
def filled(api: ApiHarness, tmp_path: Path) -> ApiHarness:
    fill(api.relay, tmp_path)  # reps a, b, c of inside sales; a has two open leads, b and c one each
    return api


def test_reps_show_their_load_capacity_and_status(filled: ApiHarness, make_user: MakeUser) -> None:
    _, key = make_user(Role.rep, rep="c")
    rows = filled.client.get("/v1/reps", headers=auth(key)).json()
    assert [(r["rep"], r["department"], r["open"], r["capacity"], r["status"]) for r in rows] == [
        ("a", "inside", 2, 100, "available"),
        ("b", "inside", 1, 100, "available"),
        ("c", "inside", 1, 100, "available"),
    ]


def test_a_manager_marks_a_rep_away_and_back_and_sets_their_capacity(filled: ApiHarness, make_user: MakeUser) -> None:
    _, key = make_user(Role.manager, departments=["inside"])
    client = filled.client
    away = client.patch(
        "/v1/reps/b", json={"away": {"from": "2026-11-25", "to": "2026-11-27"}, "note": "研修"}, headers=auth(key)
    )
    assert away.status_code == 200, away.text
    assert (away.json()["status"], away.json()["away_until"]) == ("out_of_office", "2026-11-27")
    back = client.patch("/v1/reps/b", json={"back": True}, headers=auth(key))
    assert (back.json()["status"], back.json()["away_until"]) == ("available", None)
    assert client.patch("/v1/reps/b", json={"capacity": 1}, headers=auth(key)).json()["capacity"] == 1
    assert client.patch("/v1/reps/b", json={"capacity": None}, headers=auth(key)).json()["capacity"] == 100
    off = client.patch("/v1/reps/b", json={"active": False}, headers=auth(key))
    assert off.json()["status"] == "inactive"


def test_reassigning_a_reps_open_leads_routes_them_to_the_others(filled: ApiHarness, make_user: MakeUser) -> None:
    _, key = make_user(Role.admin, email="admin@example.co.jp")
    response = filled.client.post("/v1/reps/a/reassign", json={"to": "c"}, headers=auth(key))
    assert response.status_code == 200, response.text
    assert sorted((r["lead"], r["previous_rep"], r["rep"]) for r in response.json()) == [
        ("person1@sakura-mfg.co.jp", "a", "c"),
        ("person4@kaede-soft.co.jp", "a", "c"),
    ]
    rows = {r.rep: r.open for r in filled.relay.reps()}
    assert rows == {"a": 0, "b": 1, "c": 3}
    decision = filled.relay.lead("person1@sakura-mfg.co.jp").routing[-1]
    assert (decision.kind, decision.actor) == ("reassign", "admin@example.co.jp")


def test_a_manager_of_another_department_and_a_rep_may_not_change_reps(filled: ApiHarness, make_user: MakeUser) -> None:
    _, other = make_user(Role.manager, departments=["marketing"])
    _, rep = make_user(Role.rep, rep="a")
    for key in (other, rep):
        assert filled.client.patch("/v1/reps/b", json={"capacity": 3}, headers=auth(key)).status_code == 403
        assert filled.client.post("/v1/reps/b/reassign", json={}, headers=auth(key)).status_code == 403
    assert {r.rep: r.capacity for r in filled.relay.reps()}["b"] == 100


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"capacity": -1}, "body.capacity"),
        ({"away": {"from": "2026-11-27", "to": "2026-11-25"}}, "body.away"),
        ({"away": {"from": "someday", "to": "2026-11-25"}}, "body.away.from"),
        ({"holiday": True}, "body.holiday"),
    ],
)
def test_a_bad_change_is_422_naming_the_field(
    filled: ApiHarness, make_user: MakeUser, body: dict[str, object], field: str
) -> None:
    _, key = make_user(Role.admin)
    response = filled.client.patch("/v1/reps/b", json=body, headers=auth(key))
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]


def test_an_unknown_rep_is_404_and_an_unknown_target_422(filled: ApiHarness, make_user: MakeUser) -> None:
    _, key = make_user(Role.admin)
    response = filled.client.patch("/v1/reps/zz", json={"back": True}, headers=auth(key))
    assert response.status_code == 404
    assert response.json()["detail"] == "no rep 'zz' in the active playbook"
    target = filled.client.post("/v1/reps/a/reassign", json={"to": "zz"}, headers=auth(key))
    assert target.status_code == 422
    assert target.json()["errors"] == [{"field": "body.to", "message": "no rep 'zz' in the active playbook"}]
    assert {r.rep: r.open for r in filled.relay.reps()}["a"] == 2


def test_departments_show_their_reps_and_leads(filled: ApiHarness, make_user: MakeUser) -> None:
    _, key = make_user(Role.marketing)
    rows = filled.client.get("/v1/departments", headers=auth(key)).json()
    assert rows == [
        {
            "department": "marketing",
            "label": {"en": "Marketing", "ja": "マーケティング部"},
            "manager": None,
            "reps": [],
            "open": 0,
            "queued": 0,
            "fallback": True,
        },
        {
            "department": "inside",
            "label": {"en": "Inside Sales", "ja": "インサイドセールス"},
            "manager": None,
            "reps": ["a", "b", "c"],
            "open": 4,
            "queued": 0,
            "fallback": False,
        },
    ]
