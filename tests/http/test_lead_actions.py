"""Sales' answers, touches and notes over HTTP: the acting user is the actor, bad input names the
field, illegal moves name the stage, and nobody acts on a lead they may not see."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadrelay.services.access import Role
from tests.support.http import ApiHarness, MakeUser, auth
from tests.support.leads import SAKURA, fill

MINE = SAKURA[2]  # rep a's lead (an MQL in inside sales)
THEIRS = SAKURA[1]  # rep b's


@pytest.fixture
def filled(api: ApiHarness, tmp_path: Path) -> ApiHarness:
    fill(api.relay, tmp_path)
    return api


def test_a_rep_answers_for_their_lead_and_is_recorded_as_the_actor(filled: ApiHarness, make_user: MakeUser) -> None:
    rep, key = make_user(Role.rep, rep="a", email="rep.a@example.co.jp")
    client = filled.client
    accepted = client.post(f"/v1/leads/{MINE}/accept", json={"note": "called, interested"}, headers=auth(key))
    assert accepted.status_code == 200, accepted.text
    [move] = accepted.json()["moves"]
    assert (move["from"], move["to"], move["actor"]) == ("mql", "sal", "rep.a@example.co.jp")
    assert move["reason"] == "accepted by sales: called, interested"
    advanced = client.post(f"/v1/leads/{MINE}/advance", json={"to": "sql"}, headers=auth(key))
    assert advanced.json()["stage"] == "sql"
    deal = client.post(
        f"/v1/leads/{MINE}/advance",
        json={"to": "opportunity", "amount": "3,500,000", "currency": "jpy"},
        headers=auth(key),
    )
    assert deal.status_code == 200, deal.text
    history = filled.relay.lead(MINE).history
    assert [(m.to_stage, m.actor) for m in history[-3:]] == [
        ("sal", rep.email),
        ("sql", rep.email),
        ("opportunity", rep.email),
    ]


def test_an_unknown_reason_code_is_422_naming_reason_and_listing_the_codes(
    filled: ApiHarness, make_user: MakeUser
) -> None:
    _, key = make_user(Role.rep, rep="a")
    response = filled.client.post(f"/v1/leads/{MINE}/reject", json={"reason": "nope"}, headers=auth(key))
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == "reason"
    assert error["message"] == (
        "unknown reason 'nope' (reasons: not_ready, bad_timing, no_budget, no_authority, existing_contract,"
        " wrong_person, duplicate, competitor, other)"
    )
    assert filled.relay.lead(MINE).stage == "mql"


def test_a_recyclable_rejection_sends_the_lead_back_to_marketing(filled: ApiHarness, make_user: MakeUser) -> None:
    _, key = make_user(Role.manager, departments=["inside"], email="m.sasaki@example.co.jp")
    response = filled.client.post(
        f"/v1/leads/{MINE}/reject", json={"reason": "bad_timing", "text": "来期に再検討"}, headers=auth(key)
    )
    assert response.status_code == 200, response.text
    assert [(m["to"], m["actor"]) for m in response.json()["moves"]] == [
        ("rejected", "m.sasaki@example.co.jp"),
        ("recycled", "m.sasaki@example.co.jp"),
    ]


def test_an_illegal_stage_move_is_409_naming_the_stage(filled: ApiHarness, make_user: MakeUser) -> None:
    _, key = make_user(Role.admin)
    response = filled.client.post(f"/v1/leads/{MINE}/advance", json={"to": "won"}, headers=auth(key))
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert "in stage 'mql'" in response.json()["detail"]
    filled.client.post(f"/v1/leads/{MINE}/accept", headers=auth(key))
    again = filled.client.post(f"/v1/leads/{MINE}/accept", headers=auth(key))
    assert again.status_code == 409
    assert "in stage 'sal'" in again.json()["detail"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("advance", {"to": "closed"}, "body.to"),
        ("advance", {"to": "opportunity", "amount": "lots"}, "amount"),
        ("advance", {"to": "opportunity", "currency": "yen"}, "currency"),
        ("reject", {}, "body.reason"),
        ("reject", {"reason": "other"}, "text"),
        ("recycle", {"reason": ""}, "body.reason"),
        ("touches", {"kind": "visit", "outcome": "held"}, "body.kind"),
        ("touches", {"kind": "call", "outcome": "held"}, "outcome"),
        ("touches", {"kind": "call", "outcome": "connected", "at": "2026-11-25T12:00:00"}, "body.at"),
        ("touches", {"kind": "call", "outcome": "connected", "at": "2030-01-01T00:00:00+09:00"}, "at"),
        ("touches", {"kind": "call", "outcome": "connected", "by": "me"}, "body.by"),
        ("notes", {"text": ""}, "body.text"),
        ("notes", {"text": "x", "pinned": True}, "body.pinned"),
        ("notes", {"text": "a\x00b"}, "body.text"),
        ("reject", {"reason": "not_ready", "text": "\x00"}, "body.text"),
    ],
)
def test_bad_input_is_422_naming_the_field(
    filled: ApiHarness, make_user: MakeUser, path: str, body: dict[str, object], field: str
) -> None:
    _, key = make_user(Role.admin)
    if path == "advance":
        filled.client.post(f"/v1/leads/{MINE}/accept", headers=auth(key))
    response = filled.client.post(f"/v1/leads/{MINE}/{path}", json=body, headers=auth(key))
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]


def test_a_touch_and_a_note_are_listed_with_their_actor(filled: ApiHarness, make_user: MakeUser) -> None:
    _, key = make_user(Role.rep, rep="a", email="rep.a@example.co.jp")
    client = filled.client
    touch = client.post(
        f"/v1/leads/{MINE}/touches",
        json={"kind": "call", "outcome": "connected", "at": "2026-11-25T11:30:00+09:00", "note": "予算あり"},
        headers=auth(key),
    )
    assert touch.status_code == 201, touch.text
    assert touch.json() == {
        "kind": "call",
        "outcome": "connected",
        "at": "2026-11-25T11:30:00+09:00",
        "note": "予算あり",
        "actor": "rep.a@example.co.jp",
        "recorded_at": "2026-11-25T12:00:00+09:00",
    }
    note = client.post(f"/v1/leads/{MINE}/notes", json={"text": "CTO も同席希望"}, headers=auth(key))
    assert note.status_code == 201
    shown = client.get(f"/v1/leads/{MINE}", headers=auth(key)).json()
    assert [(t["kind"], t["actor"]) for t in shown["touches"]] == [("call", "rep.a@example.co.jp")]
    assert shown["notes"] == [
        {"text": "CTO も同席希望", "actor": "rep.a@example.co.jp", "at": "2026-11-25T12:00:00+09:00"}
    ]


def test_marketing_reads_and_notes_but_does_not_answer_for_sales(filled: ApiHarness, make_user: MakeUser) -> None:
    _, key = make_user(Role.marketing)
    client = filled.client
    assert client.get(f"/v1/leads/{MINE}", headers=auth(key)).status_code == 200
    assert client.post(f"/v1/leads/{MINE}/notes", json={"text": "webinar 12/3"}, headers=auth(key)).status_code == 201
    for path, body in (("accept", {}), ("touches", {"kind": "email", "outcome": "sent"})):
        assert client.post(f"/v1/leads/{MINE}/{path}", json=body, headers=auth(key)).status_code == 403


def test_nobody_acts_on_a_lead_they_may_not_see(filled: ApiHarness, make_user: MakeUser) -> None:
    _, rep_key = make_user(Role.rep, rep="a")
    _, manager_key = make_user(Role.manager, departments=["marketing"])
    for key in (rep_key, manager_key):
        for path, body in (
            ("accept", {}),
            ("reject", {"reason": "not_ready"}),
            ("touches", {"kind": "call", "outcome": "connected"}),
            ("notes", {"text": "hello"}),
        ):
            response = filled.client.post(f"/v1/leads/{THEIRS}/{path}", json=body, headers=auth(key))
            assert response.status_code == 404, (path, response.text)
    report = filled.relay.lead(THEIRS)
    assert (report.stage, report.touches, report.notes) == ("mql", [], [])


def test_problems_speak_japanese_when_asked(filled: ApiHarness, make_user: MakeUser) -> None:
    _, key = make_user(Role.rep, rep="b")
    response = filled.client.get(f"/v1/leads/{MINE}", headers={**auth(key), "Accept-Language": "ja"})
    assert response.status_code == 404
    assert response.json()["title"] == "見つかりません"
