"""``GET /v1/reports`` and ``GET /v1/reports/{name}``: the catalog, a report as JSON and as CSV,
each caller counting only the leads they may see, and bad filters as 422 naming the field."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from leadrelay.services.access import Role
from tests.support.http import ApiHarness, auth
from tests.support.leads import KAEDE, NEWEST_FIRST, OF_REP, SAKURA, fill


@pytest.fixture
def book(api: ApiHarness, tmp_path: Path) -> ApiHarness:
    fill(api.relay, tmp_path)  # four MQLs of reps a, b, c (inside sales) and two new leads
    return api


def test_the_catalog_names_each_report_with_its_options(book: ApiHarness) -> None:
    key = book.make_user(Role.rep, rep="a")[1]
    answer = book.client.get("/v1/reports", headers=auth(key))
    assert answer.status_code == 200
    aging = next(r for r in answer.json() if r["name"] == "aging")
    assert aging["title"]["ja"].startswith("滞留")
    assert [o["name"] for o in aging["options"]] == ["oldest", "stages"]


def test_marketing_sees_every_lead_and_a_rep_their_own(book: ApiHarness) -> None:
    marketing = book.make_user(Role.marketing)[1]
    everyone = book.client.get("/v1/reports/aging", params={"oldest": 10}, headers=auth(marketing)).json()
    assert {s["stage"]: s["leads"] for s in everyone["stages"]} == {"new": 2, "mql": 4}
    assert sorted(o["lead"] for o in everyone["oldest"]) == sorted(NEWEST_FIRST)
    rep_a = book.make_user(Role.rep, rep="a")[1]
    mine = book.client.get("/v1/reports/aging", params={"oldest": 10}, headers=auth(rep_a)).json()
    assert sorted(o["lead"] for o in mine["oldest"]) == sorted(OF_REP["a"])
    assert {s["stage"]: s["leads"] for s in mine["stages"]} == {"mql": 2}
    manager = book.make_user(Role.manager, departments=["inside"])[1]
    theirs = book.client.get("/v1/reports/aging", params={"oldest": 10}, headers=auth(manager)).json()
    assert sorted(o["lead"] for o in theirs["oldest"]) == sorted([KAEDE, *SAKURA])


def test_a_table_as_csv(book: ApiHarness) -> None:
    key = book.make_user(Role.admin)[1]
    answer = book.client.get(
        "/v1/reports/aging", params={"format": "csv", "table": "oldest", "oldest": 1}, headers=auth(key)
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"].startswith('attachment; filename="aging-oldest-')
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [r["stage"] for r in rows] == ["new", "mql"]  # the oldest lead of each stage
    assert rows[1]["lead"] == SAKURA[2]  # the first hand-raiser, routed to rep a
    stages = book.client.get("/v1/reports/aging", params={"format": "csv"}, headers=auth(key))
    assert list(csv.DictReader(io.StringIO(stages.text)))[-1]["stage"] == "total"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"oldest": 1000}, "oldest"),
        ({"oldest": "many"}, "oldest"),
        ({"stages": "some"}, "stages"),
        ({"from": "2026-12-01", "to": "2026-11-01"}, "to"),
        ({"from": "yesterday"}, "from"),
        ({"by": "week"}, "by"),  # aging has no grouping
        ({"table": "oldest"}, "table"),  # only with format=csv
        ({"format": "csv", "table": "nope"}, "table"),
        ({"format": "xml"}, "format"),
    ],
)
def test_a_bad_filter_is_422_naming_the_field(book: ApiHarness, params: dict[str, object], field: str) -> None:
    key = book.make_user(Role.admin)[1]
    answer = book.client.get("/v1/reports/aging", params=params, headers=auth(key))
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    # a type error found by FastAPI names it as query.NAME, a check of the report by its name
    assert field in [e["field"].removeprefix("query.") for e in problem["errors"]], problem


def test_without_a_key_401(book: ApiHarness) -> None:
    assert book.client.get("/v1/reports/aging").status_code == 401
    assert book.client.get("/v1/reports").status_code == 401
