"""GET /v1/leads and GET /v1/leads/{ref}: filters one by one, cursor walks, text search in
Japanese, and a rep or manager never seeing another's leads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from leadrelay.services.access import Role
from tests.support.http import ApiHarness, MakeUser, auth
from tests.support.leads import KAEDE, NEWEST_FIRST, OF_REP, SAKURA, SMITH, YAMADA, fill


@pytest.fixture
def filled(api: ApiHarness, tmp_path: Path) -> ApiHarness:
    fill(api.relay, tmp_path)
    return api


def leads(client: TestClient, key: str, **params: Any) -> list[str]:
    response = client.get("/v1/leads", params=params, headers=auth(key))
    assert response.status_code == 200, response.text
    return [item["lead"] for item in response.json()["leads"]]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, NEWEST_FIRST),
        ({"stage": "mql"}, [KAEDE, *SAKURA]),
        ({"stage": ["new", "sal"]}, [SMITH, YAMADA]),
        ({"owner": "b"}, [SAKURA[1]]),
        ({"department": "inside"}, [KAEDE, *SAKURA]),
        ({"domain": "kaede-soft.co.jp"}, [KAEDE]),
        ({"total_min": "80"}, [KAEDE, *SAKURA]),
        ({"fit_max": "0"}, [SMITH, YAMADA]),
        ({"engagement_min": "38", "engagement_max": "39"}, [KAEDE, *SAKURA]),
        ({"updated_since": "2026-11-25T12:04:00+09:00"}, [SMITH, YAMADA]),
        ({"q": "山田"}, [YAMADA]),
        ({"q": "もみじ"}, [YAMADA]),
        ({"q": "さくら製作所"}, SAKURA),
        ({"q": "かえで"}, [KAEDE]),
        ({"q": "Maple"}, [SMITH]),
        ({"level": "2"}, []),
    ],
)
def test_each_filter_keeps_the_leads_it_names(
    filled: ApiHarness, make_user: MakeUser, params: dict[str, Any], expected: list[str]
) -> None:
    _, key = make_user(Role.marketing)
    assert leads(filled.client, key, **params) == expected


def test_a_cursor_walk_over_three_pages_returns_each_lead_once(filled: ApiHarness, make_user: MakeUser) -> None:
    _, key = make_user(Role.admin)
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        body = filled.client.get("/v1/leads", params=params, headers=auth(key)).json()
        seen += [item["lead"] for item in body["leads"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == NEWEST_FIRST


def test_a_list_item_says_who_the_lead_is_and_where_it_stands(filled: ApiHarness, make_user: MakeUser) -> None:
    _, key = make_user(Role.admin)
    body = filled.client.get("/v1/leads", params={"q": "山田"}, headers=auth(key)).json()
    assert body["next_cursor"] is None
    [item] = body["leads"]
    assert item["name"] == "山田 太郎"
    assert item["company"] == "もみじ商事株式会社"
    assert (item["stage"], item["owner_rep"], item["total"]) == ("new", None, 0.0)
    assert item["updated_at"] == "2026-11-25T12:04:00+09:00"


def test_a_rep_lists_only_their_own_leads_and_a_manager_their_departments(
    filled: ApiHarness, make_user: MakeUser
) -> None:
    for rep, theirs in OF_REP.items():
        _, key = make_user(Role.rep, rep=rep)
        assert leads(filled.client, key) == theirs
        assert leads(filled.client, key, owner="b" if rep != "b" else "a") == []
    _, inside = make_user(Role.manager, departments=["inside"])
    assert leads(filled.client, inside) == [KAEDE, *SAKURA]
    _, elsewhere = make_user(Role.manager, departments=["marketing"])
    assert leads(filled.client, elsewhere) == []


def test_a_lead_shows_its_whole_explanation(filled: ApiHarness, make_user: MakeUser) -> None:
    _, key = make_user(Role.rep, rep="a")
    body = filled.client.get(f"/v1/leads/{SAKURA[2]}", headers=auth(key)).json()
    assert body["email"] == SAKURA[2]
    assert body["stage"] == "mql"
    assert (body["owner"]["holder"], body["owner"]["rep"], body["owner"]["department"]) == ("sales", "a", "inside")
    assert body["scores"]["fit"] == 45.0
    assert {c["rule"] for c in body["fit"]}  # every fit point with its rule
    assert [c["activity"] for c in body["engagement"]] == ["demo_requested"]
    [decision] = body["routing"]
    assert (decision["rule"], decision["rep"], decision["strategy"]) == ("to_inside", "a", "round_robin")
    assert [m["to"] for m in body["history"]][-1] == "mql"
    assert body["touches"] == [] and body["notes"] == []


def test_another_reps_lead_is_404_like_an_unknown_one(filled: ApiHarness, make_user: MakeUser) -> None:
    _, key = make_user(Role.rep, rep="b")
    hidden = filled.client.get(f"/v1/leads/{SAKURA[2]}", headers=auth(key))
    unknown = filled.client.get("/v1/leads/nobody@sakura-mfg.co.jp", headers=auth(key))
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.json()["title"] == unknown.json()["title"]
    assert set(hidden.json()) == set(unknown.json())


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "0"}, "query.limit"),
        ({"limit": "501"}, "query.limit"),
        ({"limit": "lots"}, "query.limit"),
        ({"total_min": "abc"}, "query.total_min"),
        ({"updated_since": "2026-11-25T12:00:00"}, "query.updated_since"),
        ({"colour": "red"}, "query.colour"),
        ({"q": "a\x00b"}, "query.q"),
        ({"cursor": "garbage"}, "cursor"),
        ({"stage": "qualified"}, "query.stage[0]"),
        ({"cursor": "not base64!"}, "query.cursor"),
        ({"total_min": "9", "total_max": "1"}, "total_min"),
    ],
)
def test_bad_query_parameters_are_422_naming_the_field(
    filled: ApiHarness, make_user: MakeUser, params: dict[str, str], field: str
) -> None:
    _, key = make_user(Role.admin)
    response = filled.client.get("/v1/leads", params=params, headers=auth(key))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in [e["field"] for e in response.json()["errors"]]


def test_a_reference_with_a_nul_character_is_422_not_a_database_error(filled: ApiHarness, make_user: MakeUser) -> None:
    _, key = make_user(Role.admin)
    response = filled.client.get("/v1/leads/a%00b@sakura-mfg.co.jp", headers=auth(key))
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["path.ref"]
