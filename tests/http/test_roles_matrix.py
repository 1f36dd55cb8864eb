"""Every route of the app, every role: allowed (any answer but 401/403, never a 5xx) or denied
(403), as the hand-written table below says; without a key every non-public route is 401; and a
rep or manager gets 404 for a lead that is not theirs on every ``/v1/leads/{ref}…`` route they
may call. The web-form and webhook routes take no key at all (a browser or another tool posts
them; CORS, honeypot, rate limit and HMAC signatures protect them, see test_forms.py and
test_hooks.py): with any key they answer exactly as without one.

The table must name every route of the app (``app.routes``) and nothing else: a new endpoint
without an entry here fails :func:`test_the_table_names_every_route_of_the_app`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from starlette.routing import Mount, Route

from leadrelay.services.access import Role
from tests.support.http import ApiHarness, auth
from tests.support.leads import SAKURA, fill

ADMIN, MARKETING, MANAGER, REP = Role.admin, Role.marketing, Role.manager, Role.rep
EVERY = frozenset({ADMIN, MARKETING, MANAGER, REP})
SALES = frozenset({ADMIN, MANAGER, REP})
CHANGERS = frozenset({ADMIN, MANAGER})
INTAKE = frozenset({ADMIN, MARKETING})
PUBLIC = frozenset[Role]()  # no key needed: every role (and nobody) is let in

MINE = SAKURA[2]  # rep a's lead, in inside sales: the acting rep's and manager's own
YAML = {"Content-Type": "application/yaml"}


@dataclass(frozen=True)
class Entry:
    allowed: frozenset[Role]
    json: Any = None
    yaml: bool = False  # the body is the active playbook's YAML text
    public: bool = False
    params: dict[str, str] = field(default_factory=dict)
    keyless: bool = False  # a public route that does not read keys: the same answer with or without one
    ref: str = MINE  # the lead a /v1/leads/{ref}… call names


#: (method, path) → who may call it, and a request to call it with. Written by hand.
TABLE: dict[tuple[str, str], Entry] = {
    ("GET", "/healthz"): Entry(PUBLIC, public=True),
    ("GET", "/openapi.json"): Entry(PUBLIC, public=True),
    ("GET", "/docs"): Entry(PUBLIC, public=True),
    ("GET", "/docs/oauth2-redirect"): Entry(PUBLIC, public=True),
    ("GET", "/v1/me"): Entry(EVERY),
    ("GET", "/v1/leads"): Entry(EVERY, params={"stage": "mql"}),
    ("GET", "/v1/leads/{ref}"): Entry(EVERY),
    ("POST", "/v1/leads/{ref}/accept"): Entry(SALES, json={}),
    # inside sales' answer (Pre-SQL): who may call it as accept; this playbook has no Pre-SQL, so 409
    ("POST", "/v1/leads/{ref}/qualify"): Entry(SALES, json={}),
    ("POST", "/v1/leads/{ref}/reject"): Entry(SALES, json={"reason": "wrong_person"}),
    ("POST", "/v1/leads/{ref}/advance"): Entry(SALES, json={"to": "sql"}),
    ("POST", "/v1/leads/{ref}/recycle"): Entry(SALES, json={"reason": "no budget"}),
    ("POST", "/v1/leads/{ref}/touches"): Entry(SALES, json={"kind": "call", "outcome": "connected"}),
    ("POST", "/v1/leads/{ref}/notes"): Entry(EVERY, json={"text": "matrix"}),
    ("GET", "/v1/reps"): Entry(EVERY),
    ("PATCH", "/v1/reps/{rep_id}"): Entry(CHANGERS, json={"capacity": 100}),
    ("POST", "/v1/reps/{rep_id}/reassign"): Entry(CHANGERS, json={}),
    ("GET", "/v1/departments"): Entry(EVERY),
    ("GET", "/v1/playbook"): Entry(EVERY),
    ("GET", "/v1/playbook/versions"): Entry(EVERY),
    ("POST", "/v1/playbook/validate"): Entry(frozenset({ADMIN, MARKETING, MANAGER}), yaml=True),
    ("POST", "/v1/playbook/activate"): Entry(frozenset({ADMIN}), yaml=True),
    ("POST", "/v1/activities"): Entry(
        INTAKE, json={"email": "matrix@sakura-mfg.co.jp", "type": "page_viewed", "occurred_at": "2026-11-20T10:00:00Z"}
    ),
    ("POST", "/v1/leads"): Entry(INTAKE, json={"email": "matrix@sakura-mfg.co.jp", "first_name": "表"}),
    # another lead than MINE: erasing it must not take away the lead the other rows act on
    ("DELETE", "/v1/leads/{ref}/personal-data"): Entry(INTAKE, ref=SAKURA[0]),
    ("GET", "/v1/reports"): Entry(EVERY),
    ("GET", "/v1/reports/aging"): Entry(EVERY),
    ("GET", "/v1/reports/funnel"): Entry(EVERY),
    ("GET", "/v1/reports/sla"): Entry(EVERY),
    ("GET", "/v1/reports/status"): Entry(EVERY),
    ("GET", "/v1/reports/quality"): Entry(EVERY),
    ("GET", "/v1/reports/dependency"): Entry(EVERY),
    ("GET", "/v1/reports/campaigns"): Entry(EVERY),
    # the dashboard: pages behind a session cookie, not an API key (tests/http/test_web_pages.py and
    # tests/browser check who sees what); with or without a key they answer the same (the log-in page)
    ("GET", "/login"): Entry(PUBLIC, public=True, keyless=True),
    ("POST", "/login"): Entry(PUBLIC, public=True, keyless=True),
    ("POST", "/logout"): Entry(PUBLIC, public=True, keyless=True),
    ("GET", "/lang/{code}"): Entry(PUBLIC, public=True, keyless=True),
    ("GET", "/"): Entry(PUBLIC, public=True, keyless=True),
    ("GET", "/leads"): Entry(PUBLIC, public=True, keyless=True),
    ("GET", "/leads.csv"): Entry(PUBLIC, public=True, keyless=True),
    ("GET", "/leads/{ref:path}"): Entry(PUBLIC, public=True, keyless=True),
    ("POST", "/leads/{ref:path}/{action}"): Entry(PUBLIC, public=True, keyless=True),
    ("GET", "/reps"): Entry(PUBLIC, public=True, keyless=True),
    ("POST", "/reps/{rep_id}/{action}"): Entry(PUBLIC, public=True, keyless=True),
    ("GET", "/reports"): Entry(PUBLIC, public=True, keyless=True),
    ("GET", "/reports/{name}"): Entry(PUBLIC, public=True, keyless=True),
    ("GET", "/reports/{name}/{table}.csv"): Entry(PUBLIC, public=True, keyless=True),
    ("GET", "/playbook"): Entry(PUBLIC, public=True, keyless=True),
    ("GET", "/playbook/versions"): Entry(PUBLIC, public=True, keyless=True),
    ("GET", "/playbook/diff"): Entry(PUBLIC, public=True, keyless=True),
    ("GET", "/playbook/candidate"): Entry(PUBLIC, public=True, keyless=True),
    ("POST", "/playbook/validate"): Entry(PUBLIC, public=True, keyless=True),
    ("POST", "/playbook/activate"): Entry(PUBLIC, public=True, keyless=True),
    ("GET", "/static"): Entry(PUBLIC, public=True, keyless=True),  # the dashboard's CSS and JavaScript
    ("POST", "/forms/{form_id}"): Entry(PUBLIC, public=True, keyless=True),
    ("OPTIONS", "/forms/{form_id}"): Entry(PUBLIC, public=True, keyless=True),
    ("POST", "/hooks/{source}"): Entry(PUBLIC, public=True, keyless=True, json={"Email": "matrix@sakura-mfg.co.jp"}),
}


def app_routes(api: ApiHarness) -> set[tuple[str, str]]:
    """Every (method, path) the app answers: its own routes and those of the routers it includes."""
    found: set[tuple[str, str]] = set()
    for route in api.client.app.routes:  # type: ignore[attr-defined]
        if isinstance(route, APIRoute | Route):
            found.update((method, route.path) for method in route.methods or () if method != "HEAD")
        elif isinstance(route, Mount) and route.name == "static":
            found.add(("GET", route.path))
        elif hasattr(route, "effective_route_contexts"):  # a router included (FastAPI ≥ 0.160)
            for context in route.effective_route_contexts():
                found.update((method, context.path) for method in context.methods or () if method != "HEAD")
        else:
            raise AssertionError(f"a route the matrix cannot read: {route!r}")
    return found


def call(api: ApiHarness, method: str, path: str, entry: Entry, headers: dict[str, str], ref: str | None = None) -> Any:
    url = path.replace("{ref}", ref or entry.ref).replace("{rep_id}", "c")
    url = url.replace("{form_id}", "contact").replace("{source}", "hubspot")
    if entry.yaml:
        text = api.relay.playbook().text  # the active playbook again: activating it changes nothing
        return api.client.request(method, url, content=text.encode(), headers={**headers, **YAML})
    return api.client.request(method, url, json=entry.json, params=entry.params, headers=headers)


@pytest.fixture
def matrix(api: ApiHarness, tmp_path: Path) -> ApiHarness:
    fill(api.relay, tmp_path)  # reps a, b, c of inside sales
    return api


def keys_by_role(api: ApiHarness) -> dict[Role, str]:
    return {
        ADMIN: api.make_user(ADMIN)[1],
        MARKETING: api.make_user(MARKETING)[1],
        MANAGER: api.make_user(MANAGER, departments=["inside"])[1],
        REP: api.make_user(REP, rep="a")[1],
    }


def test_the_table_names_every_route_of_the_app(api: ApiHarness) -> None:
    assert app_routes(api) == set(TABLE)


def test_every_role_is_allowed_or_denied_on_every_route_as_the_table_says(matrix: ApiHarness) -> None:
    keys = keys_by_role(matrix)
    seen: list[tuple[str, str, str, int]] = []
    for (method, path), entry in sorted(TABLE.items(), key=lambda item: item[0][1]):
        for role, key in keys.items():
            status = call(matrix, method, path, entry, auth(key)).status_code
            seen.append((method, path, role.value, status))
            assert status < 500, (method, path, role.value, status)
            if entry.keyless:
                assert status == call(matrix, method, path, entry, {}).status_code, (method, path, role.value)
            elif entry.public or role in entry.allowed:
                assert status not in (401, 403), (method, path, role.value, status)
            else:
                assert status == 403, (method, path, role.value, status)
    assert len(seen) == 4 * len(TABLE)


def test_without_a_key_every_route_but_the_public_ones_is_401(matrix: ApiHarness) -> None:
    for (method, path), entry in TABLE.items():
        status = call(matrix, method, path, entry, {}).status_code
        if entry.keyless:
            assert status < 500, (method, path, status)
        elif entry.public:
            assert status == 200, (method, path, status)
        else:
            assert status == 401, (method, path, status)


def test_another_reps_lead_is_404_on_every_lead_route_for_a_rep_and_a_manager(matrix: ApiHarness) -> None:
    outsiders = {
        "rep b": matrix.make_user(REP, rep="b")[1],
        "manager of marketing": matrix.make_user(MANAGER, departments=["marketing"])[1],
    }
    # the lead routes a rep and a manager may call (erasure is refused them by role: 403 above)
    lead_routes = [
        (m, p) for (m, p), e in TABLE.items() if p.startswith("/v1/leads/{ref}") and {REP, MANAGER} <= e.allowed
    ]
    assert len(lead_routes) == 8
    for who, key in outsiders.items():
        for method, path in lead_routes:
            response = call(matrix, method, path, TABLE[(method, path)], auth(key))
            assert response.status_code == 404, (who, method, path, response.text)
    report = matrix.relay.lead(MINE)
    assert (report.stage, report.touches, report.notes) == ("mql", [], [])
