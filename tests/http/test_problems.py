"""Errors are problem details naming what is wrong; oversized bodies are refused as they stream in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict

from leadrelay.adapters.records import InputError
from leadrelay.services.leads import LeadNotFound
from tests.support.http import ApiHarness, make_harness

LIMIT = 2048


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str
    score: int


class Batch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    records: list[Record]


@pytest.fixture
def api(sqlite_url: str) -> Iterator[ApiHarness]:
    with make_harness(sqlite_url, http_body_limit=LIMIT) as harness:
        add_test_routes(harness)
        yield harness


def add_test_routes(harness: ApiHarness) -> None:
    app: FastAPI = harness.client.app  # type: ignore[assignment]
    seen: list[int] = []

    @app.post("/test-only/batch")
    def batch(body: Batch) -> dict[str, int]:
        seen.append(len(body.records))
        return {"records": len(body.records)}

    @app.get("/test-only/lead")
    def lead() -> None:
        raise LeadNotFound("nobody@example.co.jp")

    @app.get("/test-only/input")
    def bad_input() -> None:
        raise InputError("email", "is not an e-mail address")

    @app.get("/test-only/bug")
    def bug() -> None:
        raise RuntimeError("secret internals")

    app.state.seen = seen


def test_invalid_fields_are_422_each_named_by_where_it_is(api: ApiHarness) -> None:
    body = {"records": [{"email": "a@x.co.jp", "score": 1}, {"email": "b@x.co.jp", "score": "many", "extra": 1}]}
    response = api.client.post("/test-only/batch", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "urn:leadrelay:problem:invalid-input"
    assert problem["detail"] == "2 field(s) are not valid"
    assert [e["field"] for e in problem["errors"]] == ["body.records[1].score", "body.records[1].extra"]


def test_malformed_json_is_422_not_500(api: ApiHarness) -> None:
    response = api.client.post(
        "/test-only/batch", content=b'{"records": [', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["field"] == "body"
    assert error["message"].startswith("is not valid JSON at character 13")


def test_a_body_declared_larger_than_the_limit_is_413_before_it_is_read(api: ApiHarness) -> None:
    records = [{"email": f"p{i}@x.co.jp", "score": i} for i in range(200)]
    response = api.client.post("/test-only/batch", json={"records": records})
    assert response.status_code == 413
    assert response.json()["type"] == "urn:leadrelay:problem:body-too-large"
    assert response.json()["detail"] == f"the request body is larger than {LIMIT} bytes"
    assert api.client.app.state.seen == []  # type: ignore[attr-defined]


def test_a_streamed_body_without_a_length_is_counted_and_cut_at_the_limit(api: ApiHarness) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"records": ['
        for i in range(200):
            yield (b"," if i else b"") + b'{"email": "p%d@x.co.jp", "score": %d}' % (i, i)
        yield b"]}"

    response = api.client.post("/test-only/batch", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert api.client.app.state.seen == []  # type: ignore[attr-defined]
    small = api.client.post("/test-only/batch", json={"records": [{"email": "a@x.co.jp", "score": 1}]})
    assert small.json() == {"records": 1}


def test_user_errors_of_the_services_get_their_status(api: ApiHarness) -> None:
    missing = api.client.get("/test-only/lead")
    assert (missing.status_code, missing.json()["type"]) == (404, "urn:leadrelay:problem:not-found")
    invalid = api.client.get("/test-only/input")
    assert invalid.status_code == 422
    assert invalid.json()["errors"] == [{"field": "email", "message": "is not an e-mail address"}]


def test_a_bug_is_500_without_its_traceback(api: ApiHarness) -> None:
    response = api.client.get("/test-only/bug")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "something went wrong on the server; it is logged"
    assert "secret internals" not in response.text and "Traceback" not in response.text


def test_an_unknown_path_is_a_404_problem_in_japanese_when_asked(api: ApiHarness) -> None:
    response = api.client.get("/v1/nothing-here", headers={"Accept-Language": "ja"})
    assert response.status_code == 404
    assert response.json()["title"] == "見つかりません"
    assert response.json()["detail"] == "そのエンドポイントはありません：/v1/nothing-here"


def test_the_openapi_document_names_the_bearer_scheme_tags_and_problem_responses(api: ApiHarness) -> None:
    client: TestClient = api.client
    schema = client.get("/openapi.json").json()
    assert schema["info"]["title"] == "leadrelay"
    assert schema["info"]["version"] == "0.1.0"
    assert schema["components"]["securitySchemes"]["apiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key made by `leadrelay keys create`: `Authorization: Bearer lr_...`.",
    }
    me = schema["paths"]["/v1/me"]["get"]
    assert me["security"] == [{"apiKey": []}]
    assert me["tags"] == ["users"]
    assert "application/problem+json" in me["responses"]["401"]["content"]
    assert {tag["name"] for tag in schema["tags"]} >= {"users", "health"}
    assert "security" not in schema["paths"]["/healthz"]["get"]
