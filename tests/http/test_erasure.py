"""``DELETE /v1/leads/{ref}/personal-data``: who may erase, what the answer lists, 404 for nobody."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from leadrelay.services.access import Role
from tests.support.http import ApiHarness, MakeUser, auth

EMAIL = "taro.yamada@sakura-mfg.co.jp"


@pytest.fixture
def person(api: ApiHarness) -> str:
    added = api.relay.add_leads(
        [{"email": EMAIL, "first_name": "Taro", "last_name": "Yamada", "phone": "03-5555-0199"}]
    )
    assert added.leads_created == 1
    return EMAIL


@pytest.mark.parametrize("role", [Role.admin, Role.marketing])
def test_admin_and_marketing_erase_and_the_answer_lists_rows_per_table(
    api: ApiHarness, make_user: MakeUser, person: str, role: Role
) -> None:
    who, key = make_user(role)
    response = api.client.delete(f"/v1/leads/{person}/personal-data", headers=auth(key))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["already_erased"] is False
    assert body["ref"].startswith("erased-")
    assert body["requested_by"] == who.email
    assert body["erased_at"] == "2026-11-25T12:00:00+09:00"
    assert (body["tables"]["leads"], body["tables"]["erased_identities"]) == (1, 1)
    assert api.relay.lead(body["ref"]).email is None

    again = api.client.delete(f"/v1/leads/{body['ref']}/personal-data", headers=auth(key))
    assert again.status_code == 200
    assert (again.json()["already_erased"], again.json()["ref"]) == (True, body["ref"])


@pytest.mark.parametrize("role", [Role.manager, Role.rep])
def test_managers_and_reps_may_not_erase(api: ApiHarness, make_user: MakeUser, person: str, role: Role) -> None:
    if role is Role.manager:
        _, key = make_user(role, departments=["hq_inside_sales"])
    else:
        _, key = make_user(role, rep="is-kobayashi")
    response = api.client.delete(f"/v1/leads/{person}/personal-data", headers=auth(key))
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert api.relay.lead(person).email == EMAIL


def test_without_a_key_it_is_401_and_nothing_is_erased(client: TestClient, api: ApiHarness, person: str) -> None:
    response = client.delete(f"/v1/leads/{person}/personal-data")
    assert response.status_code == 401
    assert api.relay.lead(person).email == EMAIL


def test_an_unknown_lead_is_404_in_english_and_japanese(client: TestClient, make_user: MakeUser) -> None:
    _, key = make_user(Role.admin)
    response = client.delete("/v1/leads/nobody@sakura-mfg.co.jp/personal-data", headers=auth(key))
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert "nobody@sakura-mfg.co.jp" in response.json()["detail"]
    japanese = client.delete(
        "/v1/leads/nobody@sakura-mfg.co.jp/personal-data", headers={**auth(key), "Accept-Language": "ja"}
    )
    assert japanese.status_code == 404
    assert japanese.json()["title"] != response.json()["title"]


def test_the_endpoint_is_in_the_openapi_document_with_an_example(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/v1/leads/{ref}/personal-data"]["delete"]
    assert operation["tags"] == ["erasure"]
    assert operation["responses"]["200"]["content"]["application/json"]["example"]["ref"].startswith("erased-")
    assert {"401", "403", "404"} <= set(operation["responses"])
