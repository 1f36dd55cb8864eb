"""Every request is checked: who is asking (the API key), and whether their role may do it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from leadrelay.entrypoints.http.deps import PrincipalDep, require
from leadrelay.services.access import Principal, Role
from tests.support.http import ACTOR, ApiHarness, MakeUser, auth


def test_a_request_without_a_key_is_401_with_a_bearer_challenge(client: TestClient) -> None:
    response = client.get("/v1/me")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "urn:leadrelay:problem:unauthorized"
    assert body["status"] == 401
    assert body["instance"] == "/v1/me"
    assert body["detail"] == "an API key is required: Authorization: Bearer <key>"


def test_a_key_nobody_was_given_is_401(client: TestClient, make_user: MakeUser) -> None:
    _, key = make_user(Role.admin)
    wrong = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    for headers in (auth(wrong), auth("not-a-key"), {"Authorization": f"Basic {key}"}):
        response = client.get("/v1/me", headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["WWW-Authenticate"] == "Bearer"


def test_a_revoked_key_is_401_from_the_next_request_on(api: ApiHarness, make_user: MakeUser) -> None:
    _, key = make_user(Role.marketing)
    assert api.client.get("/v1/me", headers=auth(key)).status_code == 200
    api.relay.revoke_key(key[:11], actor=ACTOR)
    response = api.client.get("/v1/me", headers=auth(key))
    assert response.status_code == 401
    assert response.json()["detail"] == "the API key is revoked"


def test_the_keys_of_a_disabled_user_are_401(api: ApiHarness, make_user: MakeUser) -> None:
    principal, key = make_user(Role.manager, departments=["hq_corporate_sales"])
    api.relay.disable_user(principal.email, actor=ACTOR)
    response = api.client.get("/v1/me", headers=auth(key))
    assert response.status_code == 401
    assert response.json()["detail"] == "the API key's user is disabled"


def test_me_shows_the_user_and_the_role_of_the_key(client: TestClient, make_user: MakeUser) -> None:
    _, manager_key = make_user(Role.manager, departments=["hq_corporate_sales", "osaka_branch"], email="m@x.co.jp")
    body = client.get("/v1/me", headers=auth(manager_key)).json()
    assert body["email"] == "m@x.co.jp"
    assert body["role"] == "manager"
    assert body["departments"] == ["hq_corporate_sales", "osaka_branch"]
    assert body["rep"] is None
    _, narrow_key = make_user(Role.admin, email="boss@x.co.jp", key_role=Role.marketing)
    assert client.get("/v1/me", headers=auth(narrow_key)).json()["role"] == "marketing"


def test_a_role_not_allowed_is_403_and_an_allowed_one_passes(api: ApiHarness, make_user: MakeUser) -> None:
    app: FastAPI = api.client.app  # type: ignore[assignment]

    @app.get("/test-only/admins")
    def admins(who: Annotated[Principal, Depends(require(Role.admin))]) -> dict[str, str]:
        return {"email": who.email}

    _, rep_key = make_user(Role.rep, rep="rep-tanaka")
    _, admin_key = make_user(Role.admin, email="root@x.co.jp")
    refused = api.client.get("/test-only/admins", headers=auth(rep_key))
    assert refused.status_code == 403
    assert refused.json()["type"] == "urn:leadrelay:problem:forbidden"
    assert refused.json()["detail"] == "the role rep may not do this; allowed: admin"
    assert api.client.get("/test-only/admins", headers=auth(admin_key)).json() == {"email": "root@x.co.jp"}
    assert api.client.get("/test-only/admins").status_code == 401


def test_a_problem_is_in_japanese_when_the_request_asks(client: TestClient) -> None:
    body = client.get("/v1/me", headers={"Accept-Language": "ja,en;q=0.5"}).json()
    assert body["title"] == "認証されていません"
    assert body["detail"] == "APIキーが必要です：Authorization: Bearer <キー>"
    english = client.get("/v1/me", headers={"Accept-Language": "en-US,ja;q=0.3"}).json()
    assert english["title"] == "Not authenticated"


def test_last_use_is_recorded(api: ApiHarness, make_user: MakeUser) -> None:
    _, key = make_user(Role.marketing)
    (listed,) = [k for k in api.relay.api_keys() if k.prefix == key[:11]]
    assert listed.last_used_at is None
    assert api.client.get("/v1/me", headers=auth(key)).status_code == 200
    (listed,) = [k for k in api.relay.api_keys() if k.prefix == key[:11]]
    assert listed.last_used_at is not None
    assert listed.last_used_at.isoformat() == "2026-11-25T12:00:00+09:00"  # the test clock's time


def test_a_key_is_stored_hashed_nowhere_in_clear(api: ApiHarness, make_user: MakeUser) -> None:
    _, key = make_user(Role.admin)
    api.client.get("/v1/me", headers=auth(key))
    engine = create_engine(api.relay.store.engine.url)
    found = []
    with engine.connect() as connection:
        for table in ("api_keys", "users", "settings"):
            for row in connection.execute(text(f"SELECT * FROM {table}")):
                found += [table for value in row if isinstance(value, str) and key in value]
        stored_prefix = connection.execute(text("SELECT prefix FROM api_keys")).scalar_one()
    engine.dispose()
    assert found == []
    assert stored_prefix == key[:11]
    assert len(key) == 3 + 43  # lr_ and 32 bytes of URL-safe base64


def test_principal_dependency_is_the_one_routes_use(api: ApiHarness, make_user: MakeUser) -> None:
    app: FastAPI = api.client.app  # type: ignore[assignment]

    @app.get("/test-only/who")
    def who(principal: PrincipalDep) -> dict[str, int]:
        return {"user_id": principal.user_id}

    principal, key = make_user(Role.rep, rep="rep-suzuki")
    assert api.client.get("/test-only/who", headers=auth(key)).json() == {"user_id": principal.user_id}
