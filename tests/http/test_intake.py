"""POST /v1/activities and POST /v1/leads: one record or a batch, answered record by record."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from leadrelay.adapters.store.tables import activities, leads
from leadrelay.services.access import Role
from tests.conftest import NOW
from tests.support.http import ApiHarness, MakeUser, auth

SATO = "k.sato@sakura-mfg.co.jp"


def at(minutes_ago: float) -> str:
    return (NOW - timedelta(minutes=minutes_ago)).isoformat()


def demo_request(email: str = SATO) -> dict[str, Any]:
    return {
        "email": email,
        "type": "demo_requested",
        "occurred_at": at(10),
        "lead": {
            "last_name": "佐藤",
            "seniority": "manager",
            "department": "it",
            "company": {"name": "さくら製作所", "industry": "manufacturing", "employees": 800},
        },
    }


def count(api: ApiHarness, table: sa.Table) -> int:
    with api.relay.store.reading() as tx:
        return int(tx.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_a_hand_raiser_posted_alone_is_created_and_routed_to_a_rep(client: TestClient, make_user: MakeUser) -> None:
    _, key = make_user(Role.marketing)

    response = client.post("/v1/activities", json=demo_request(), headers=auth(key))

    assert response.status_code == 201
    body = response.json()
    assert (body["received"], body["created"], body["rejected"]) == (1, 1, 0)
    (record,) = body["records"]
    assert (record["status"], record["lead"], record["stage"], record["hand_raiser"]) == (
        "created",
        SATO,
        "mql",
        True,
    )
    assert record["scores"]["fit"] == 50.0
    assert record["routed"] == {
        "department": "hq_inside_sales",
        "rep": "is-kobayashi",
        "queue": None,
        "rule": "route_inside_sales",
        "reason": "Other MQLs → HQ Inside Sales: 小林 美咲 (round robin)",
    }


def test_a_bad_record_in_a_batch_is_named_by_index_and_field_and_the_good_ones_are_stored(
    api: ApiHarness, make_user: MakeUser
) -> None:
    _, key = make_user(Role.admin)
    records = [
        {"email": "a.ito@hoshi-logi.co.jp", "type": "webinar_attended", "occurred_at": at(60)},
        {"email": "a.ito@hoshi-logi.co.jp", "type": "webinar_attended", "occurred_at": "yesterday"},
        {"email": "b.ueda@hoshi-logi.co.jp", "type": "webinar_attended", "occurred_at": at(60), "colour": "red"},
        {"email": "c.oda@hoshi-logi.co.jp", "type": "webinar_attended", "occurred_at": at(60)},
    ]

    response = api.client.post("/v1/activities", json={"records": records}, headers=auth(key))

    assert response.status_code == 200
    body = response.json()
    assert [(r["index"], r["status"], r["field"]) for r in body["records"]] == [
        (0, "created", None),
        (1, "rejected", "occurred_at"),
        (2, "rejected", "colour"),
        (3, "created", None),
    ]
    assert "'yesterday' is not an ISO 8601 timestamp" in body["records"][1]["reason"]
    assert count(api, activities) == 2


def test_one_rejected_record_is_a_422_problem_naming_the_field(api: ApiHarness, make_user: MakeUser) -> None:
    _, key = make_user(Role.marketing)

    response = api.client.post(
        "/v1/activities", json={**demo_request(), "email": "sato@"}, headers={**auth(key), "Accept-Language": "ja"}
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["title"] == "入力内容が不正です"
    assert [e["field"] for e in body["errors"]] == ["body.email"]
    assert count(api, leads) == 0


def test_ten_thousand_and_one_records_are_refused_naming_the_limit(api: ApiHarness, make_user: MakeUser) -> None:
    _, key = make_user(Role.marketing)
    records = [{"email": f"p{i}@hoshi-logi.co.jp"} for i in range(10_001)]

    response = api.client.post("/v1/leads", json={"records": records}, headers=auth(key))

    assert response.status_code == 413
    assert response.json()["detail"] == "10,001 records: at most 10,000 per request"
    assert count(api, leads) == 0


def test_a_batch_of_lead_upserts_says_created_updated_and_duplicate(api: ApiHarness, make_user: MakeUser) -> None:
    _, key = make_user(Role.marketing)
    api.client.post("/v1/leads", json={"email": SATO, "last_name": "佐藤"}, headers=auth(key))

    response = api.client.post(
        "/v1/leads",
        json={"records": [{"email": SATO, "title": "部長"}, {"email": "x.y@hoshi-logi.co.jp"}]},
        headers=auth(key),
    )

    assert [r["status"] for r in response.json()["records"]] == ["updated", "created"]
    again = api.client.post("/v1/leads", json={"email": SATO, "title": "部長"}, headers=auth(key))
    assert again.status_code == 200
    assert again.json()["records"][0]["status"] == "duplicate"


def test_malformed_json_and_a_wrong_envelope_are_4xx_not_500(client: TestClient, make_user: MakeUser) -> None:
    _, key = make_user(Role.marketing)
    headers = {**auth(key), "Content-Type": "application/json"}

    assert client.post("/v1/activities", content=b'{"email": ', headers=headers).status_code == 400
    assert client.post("/v1/activities", content=b"[1, 2]", headers=headers).status_code == 422
    wrong = client.post("/v1/activities", json={"records": [], "extra": 1}, headers=headers)
    assert wrong.status_code == 422
    assert wrong.json()["errors"] == [{"field": "body.extra", "message": "unknown field"}]


def test_managers_and_reps_may_not_send_intake(client: TestClient, make_user: MakeUser) -> None:
    _, manager = make_user(Role.manager, departments=["hq_corporate_sales"])
    _, rep = make_user(Role.rep, rep="rep-tanaka")

    for key in (manager, rep):
        assert client.post("/v1/activities", json=demo_request(), headers=auth(key)).status_code == 403
        assert client.post("/v1/leads", json={"email": SATO}, headers=auth(key)).status_code == 403
    assert client.post("/v1/leads", json={"email": SATO}).status_code == 401
