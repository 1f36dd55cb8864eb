"""``POST /v1/leads/{ref}/qualify`` with the default playbook (Pre-SQL on): an inside sales rep or
manager qualifies their MQL and it goes to field sales; the answer carries the move and the routing
decision; refused moves are 409 saying why, bad input 422 naming the field; marketing may not
qualify and nobody qualifies a lead they may not see."""

from __future__ import annotations

from datetime import timedelta

import pytest

from leadrelay.services.access import Role
from tests.conftest import NOW
from tests.support.http import ApiHarness, MakeUser, auth

LEAD = "k.sato@sakura-mfg.co.jp"
FIELD = "y.ito@fuji-logi.co.jp"


@pytest.fixture
def leads(api: ApiHarness) -> ApiHarness:
    """LEAD: a level 3 MQL with inside sales (is-kobayashi, the first of its round robin); FIELD: a
    level 4 MQL with HQ Corporate Sales."""
    company = {"industry": "manufacturing", "employees": 800}
    api.relay.add_leads(
        [
            {
                "email": LEAD,
                "seniority": "manager",
                "prefecture": "東京都",
                "company": {"name": "さくら製作所", **company},
            },
            {
                "email": FIELD,
                "seniority": "manager",
                "prefecture": "東京都",
                "company": {"name": "富士物流", **company},
            },
        ]
    )
    at = (NOW - timedelta(hours=2)).isoformat()
    api.relay.record_activities(
        [
            {"email": LEAD, "type": "webinar_attended", "occurred_at": at},
            {"email": FIELD, "type": "booth_visited", "occurred_at": at, "properties": {"detailed_talk": True}},
        ]
    )
    assert api.relay.lead(LEAD).owner.rep == "is-kobayashi"
    assert (api.relay.lead(FIELD).owner.department, api.relay.lead(FIELD).owner.rep) == (
        "hq_corporate_sales",
        "rep-tanaka",
    )
    return api


def test_the_inside_sales_rep_qualifies_their_mql_and_it_goes_to_field_sales(
    leads: ApiHarness, make_user: MakeUser
) -> None:
    _, key = make_user(Role.rep, rep="is-kobayashi", email="m.kobayashi@example.co.jp")

    response = leads.client.post(f"/v1/leads/{LEAD}/qualify", json={"note": "BANT: 予算あり"}, headers=auth(key))

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["stage"] == "pre_sql"
    [move] = body["moves"]
    assert (move["from"], move["to"], move["trigger"], move["actor"]) == (
        "mql",
        "pre_sql",
        "pre_sql_qualified",
        "m.kobayashi@example.co.jp",
    )
    assert move["reason"] == "qualified by inside sales, handed to field sales: BANT: 予算あり"
    handoff = body["handoff"]
    # handoff_hq is load balanced: rep-tanaka holds FIELD, rep-suzuki nothing
    assert (handoff["rule"], handoff["department"], handoff["rep"], handoff["previous_rep"]) == (
        "handoff_hq",
        "hq_corporate_sales",
        "rep-suzuki",
        "is-kobayashi",
    )
    assert handoff["reason"].startswith("Pre-SQL qualified by m.kobayashi@example.co.jp: Pre-SQL → HQ Corporate Sales")
    assert [m["rule"] for m in handoff["rules_not_taken"]] == [
        "handoff_named_account_osaka",
        "handoff_named_account_hq",
        "handoff_kinki",
    ]
    # the lead is the field rep's now: the inside rep no longer sees it, the field rep accepts it
    assert leads.client.get(f"/v1/leads/{LEAD}", headers=auth(key)).status_code == 404
    _, field_key = make_user(Role.rep, rep="rep-suzuki")
    accepted = leads.client.post(f"/v1/leads/{LEAD}/accept", json={}, headers=auth(field_key))
    assert accepted.status_code == 200, accepted.text
    assert [(m["from"], m["to"]) for m in accepted.json()["moves"]] == [("pre_sql", "sal")]


def test_an_inside_sales_manager_may_qualify_without_a_body(leads: ApiHarness, make_user: MakeUser) -> None:
    _, key = make_user(Role.manager, departments=["hq_inside_sales"])
    response = leads.client.post(f"/v1/leads/{LEAD}/qualify", headers=auth(key))
    assert response.status_code == 200, response.text
    assert response.json()["moves"][0]["reason"] == "qualified by inside sales, handed to field sales"


def test_a_lead_field_sales_holds_is_409_naming_the_department(leads: ApiHarness, make_user: MakeUser) -> None:
    _, key = make_user(Role.admin)
    response = leads.client.post(f"/v1/leads/{FIELD}/qualify", json={}, headers=auth(key))
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "urn:leadrelay:problem:conflict"
    assert problem["detail"] == (
        f"{FIELD}: only inside sales (hq_inside_sales) qualifies a lead to Pre-SQL; it is with hq_corporate_sales"
        " — its rep accepts or rejects it"
    )
    assert leads.relay.lead(FIELD).stage == "mql"


def test_qualifying_twice_is_409_naming_the_stage(leads: ApiHarness, make_user: MakeUser) -> None:
    _, key = make_user(Role.admin)
    assert leads.client.post(f"/v1/leads/{LEAD}/qualify", json={}, headers=auth(key)).status_code == 200
    again = leads.client.post(f"/v1/leads/{LEAD}/qualify", json={}, headers=auth(key))
    assert again.status_code == 409
    assert "cannot apply 'pre_sql_qualified' to a lead in stage 'pre_sql' (allowed from: mql)" in again.json()["detail"]


@pytest.mark.parametrize(
    ("body", "field"),
    [({"note": "x" * 2001}, "body.note"), ({"note": "a\x00b"}, "body.note"), ({"notes": "typo"}, "body.notes")],
    ids=["too-long", "nul", "unknown-key"],
)
def test_bad_input_is_422_naming_the_field(leads: ApiHarness, make_user: MakeUser, body: object, field: str) -> None:
    _, key = make_user(Role.admin)
    response = leads.client.post(f"/v1/leads/{LEAD}/qualify", json=body, headers=auth(key))
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert leads.relay.lead(LEAD).stage == "mql"


def test_marketing_may_not_qualify_and_another_rep_does_not_see_the_lead(
    leads: ApiHarness, make_user: MakeUser
) -> None:
    _, marketing = make_user(Role.marketing)
    _, other_rep = make_user(Role.rep, rep="is-yamamoto")
    _, field_manager = make_user(Role.manager, departments=["hq_corporate_sales"])
    assert leads.client.post(f"/v1/leads/{LEAD}/qualify", json={}, headers=auth(marketing)).status_code == 403
    assert leads.client.post(f"/v1/leads/{LEAD}/qualify", json={}, headers=auth(other_rep)).status_code == 404
    assert leads.client.post(f"/v1/leads/{LEAD}/qualify", json={}, headers=auth(field_manager)).status_code == 404
    assert leads.relay.lead(LEAD).stage == "mql"


def test_the_problem_speaks_japanese_when_asked(leads: ApiHarness, make_user: MakeUser) -> None:
    _, key = make_user(Role.admin)
    response = leads.client.post(f"/v1/leads/{FIELD}/qualify", json={}, headers={**auth(key), "Accept-Language": "ja"})
    assert response.status_code == 409
    assert response.json()["title"] == "現在の状態と競合します"
