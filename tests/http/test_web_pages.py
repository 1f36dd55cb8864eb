"""The dashboard's pages through HTTP as a browser sends it: log in and out, the session cookie,
CSRF on every form, the lockout after wrong passwords, who sees which lead, the rep's actions, the
language switch and the lead list's CSV."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.support.http import ApiHarness, make_harness
from tests.support.leads import KAEDE, NEWEST_FIRST, OF_REP, SAKURA, SMITH, YAMADA, fill

PASSWORD = "correct horse battery"
USERS = {
    "admin": {"role": "admin"},
    "marketing": {"role": "marketing"},
    "manager": {"role": "manager", "departments": ["inside"]},
    "rep-a": {"role": "rep", "rep": "a"},
    "rep-b": {"role": "rep", "rep": "b"},
}


@pytest.fixture
def web(db_url: str, tmp_path: Path) -> Iterator[ApiHarness]:
    with make_harness(db_url, web_secure_cookie=False) as harness:
        fill(harness.relay, tmp_path)  # four MQLs of reps a, b, c (inside sales), two new leads
        for name, user in USERS.items():
            harness.relay.add_user(f"{name}@users.example.co.jp", actor="test", password=PASSWORD, **user)  # type: ignore[arg-type]
        yield harness


def form_token(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]+)"', page)
    assert found, f"no {name} in the page"
    return found.group(1)


def log_in(client: TestClient, who: str, password: str = PASSWORD, next_path: str = "/") -> object:
    page = client.get("/login", params={"next": next_path})
    return client.post(
        "/login",
        data={
            "email": f"{who}@users.example.co.jp",
            "password": password,
            "form_token": form_token(page.text, "form_token"),
            "next": next_path,
        },
        follow_redirects=False,
    )


def test_a_page_without_a_session_sends_to_the_log_in_page_and_back(web: ApiHarness) -> None:
    client = web.client
    answer = client.get("/leads?stage=mql", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=%2Fleads%3Fstage%3Dmql"
    logged = log_in(client, "marketing", next_path="/leads?stage=mql")
    assert logged.status_code == 303 and logged.headers["location"] == "/leads?stage=mql"  # type: ignore[attr-defined]
    assert client.get("/leads?stage=mql").status_code == 200


def test_the_session_cookie_is_http_only_secure_and_same_site(db_url: str, tmp_path: Path) -> None:
    with make_harness(db_url) as harness:  # the default: Secure cookies
        harness.relay.add_user("m@users.example.co.jp", role="marketing", actor="test", password=PASSWORD)
        page = harness.client.get("/login")
        harness.client.cookies.clear()  # the Secure log-in cookie is not sent over http: give it back by hand
        harness.client.cookies.set("leadrelay_login", form_token(page.text, "form_token"))
        answer = harness.client.post(
            "/login",
            data={
                "email": "m@users.example.co.jp",
                "password": PASSWORD,
                "form_token": form_token(page.text, "form_token"),
            },
            follow_redirects=False,
        )
        cookie = next(
            v for k, v in answer.headers.multi_items() if k == "set-cookie" and v.startswith("leadrelay_session=")
        )
        assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=lax" in cookie
        token = cookie.split(";")[0].split("=", 1)[1]
        with harness.relay.store.reading() as tx:
            stored = [r[0] for r in tx.execute(sa.text("SELECT token_hash FROM web_sessions"))]
        assert token not in stored and len(stored) == 1 and len(stored[0]) == 64  # only its SHA-256 is kept


def test_a_wrong_password_then_the_lockout_after_five(web: ApiHarness) -> None:
    client = web.client
    for _ in range(4):
        wrong = log_in(client, "rep-a", password="wrong password!")
        assert wrong.status_code == 401 and "Wrong e-mail or password." in wrong.text  # type: ignore[attr-defined]
    fifth = log_in(client, "rep-a", password="wrong password!")
    assert fifth.status_code == 429 and "locked until" in fifth.text  # type: ignore[attr-defined]
    right_but_locked = log_in(client, "rep-a")
    assert right_but_locked.status_code == 429  # type: ignore[attr-defined]
    unknown = log_in(client, "nobody")
    assert unknown.status_code == 401 and "Wrong e-mail or password." in unknown.text  # type: ignore[attr-defined]


def test_a_log_in_form_from_elsewhere_is_refused(web: ApiHarness) -> None:
    answer = web.client.post(
        "/login",
        data={"email": "admin@users.example.co.jp", "password": PASSWORD, "form_token": "forged"},
        follow_redirects=False,
    )
    assert answer.status_code == 400 and "leadrelay_session" not in answer.headers.get("set-cookie", "")


def test_a_rep_sees_their_own_leads_and_not_another_reps_lead(web: ApiHarness) -> None:
    client = web.client
    log_in(client, "rep-a")
    listed = client.get("/leads").text
    for lead in OF_REP["a"]:
        assert lead in listed
    for lead in [*OF_REP["b"], *OF_REP["c"]]:
        assert lead not in listed
    assert client.get(f"/leads/{OF_REP['a'][0]}").status_code == 200
    other = client.get(f"/leads/{OF_REP['b'][0]}")
    assert other.status_code == 404 and OF_REP["b"][0] not in other.text


def test_a_manager_sees_their_departments_leads(web: ApiHarness) -> None:
    log_in(web.client, "manager")
    listed = web.client.get("/leads").text
    assert all(lead in listed for lead in [KAEDE, *SAKURA])


def test_accept_and_reject_from_the_lead_page_change_the_history(web: ApiHarness) -> None:
    client = web.client
    log_in(client, "rep-a")
    lead = OF_REP["a"][0]
    page = client.get(f"/leads/{lead}").text
    csrf = form_token(page, "csrf")
    accepted = client.post(f"/leads/{lead}/accept", data={"csrf": csrf}, follow_redirects=False)
    assert accepted.status_code == 303 and accepted.headers["location"].endswith("?done=accepted")
    after = client.get(accepted.headers["location"]).text
    assert "Accepted." in after and "MQL → SAL" in after
    assert web.relay.lead(lead).stage == "sal"
    second = OF_REP["a"][1]
    rejected = client.post(
        f"/leads/{second}/reject", data={"csrf": csrf, "reason": "no_budget"}, follow_redirects=False
    )
    assert rejected.status_code == 303
    report = web.relay.lead(second)
    # no_budget sends the lead back to marketing: rejected with the reason, then recycled
    assert [(h.to_stage, h.actor) for h in report.history[-2:]] == [
        ("rejected", "rep-a@users.example.co.jp"),
        ("recycled", "rep-a@users.example.co.jp"),
    ]
    assert report.history[-1].reason == "recycled: rejected as No budget"


def test_a_form_without_the_csrf_token_is_refused_and_changes_nothing(web: ApiHarness) -> None:
    client = web.client
    log_in(client, "rep-a")
    lead = OF_REP["a"][0]
    for data in ({}, {"csrf": "forged"}):
        answer = client.post(f"/leads/{lead}/accept", data=data, follow_redirects=False)
        assert answer.status_code == 403
    assert web.relay.lead(lead).stage == "mql"


def test_marketing_may_add_a_note_but_not_answer_for_sales(web: ApiHarness) -> None:
    client = web.client
    log_in(client, "marketing")
    lead = OF_REP["a"][0]
    csrf = form_token(client.get(f"/leads/{lead}").text, "csrf")
    assert client.post(f"/leads/{lead}/accept", data={"csrf": csrf}, follow_redirects=False).status_code == 403
    noted = client.post(f"/leads/{lead}/notes", data={"csrf": csrf, "text": "展示会で名刺交換"}, follow_redirects=False)
    assert noted.status_code == 303
    assert "展示会で名刺交換" in client.get(f"/leads/{lead}").text


def test_an_illegal_move_is_shown_on_the_page(web: ApiHarness) -> None:
    client = web.client
    log_in(client, "rep-a")
    lead = OF_REP["a"][0]
    csrf = form_token(client.get(f"/leads/{lead}").text, "csrf")
    moved = client.post(f"/leads/{lead}/advance", data={"csrf": csrf, "to": "won"}, follow_redirects=True)
    assert moved.status_code == 200 and "Not done:" in moved.text
    assert web.relay.lead(lead).stage == "mql"


def test_log_out_ends_the_session(web: ApiHarness) -> None:
    client = web.client
    log_in(client, "admin")
    csrf = form_token(client.get("/").text, "csrf")
    out = client.post("/logout", data={"csrf": csrf}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login?message=logged_out"
    assert client.get("/", follow_redirects=False).status_code == 303


def test_the_language_is_the_browsers_then_the_chosen_one(web: ApiHarness) -> None:
    client = web.client
    log_in(client, "admin")
    assert "リード一覧" in client.get("/leads", headers={"Accept-Language": "ja"}).text
    assert "<h1>Leads</h1>" in client.get("/leads", headers={"Accept-Language": "en"}).text
    client.get("/lang/ja", params={"next": "/leads"})
    assert "リード一覧" in client.get("/leads", headers={"Accept-Language": "en"}).text
    away = client.get("/lang/en", params={"next": "https://evil.example/"}, follow_redirects=False)
    assert away.headers["location"] == "/"  # only paths of this site are followed


def test_the_lead_list_as_csv_has_the_visible_leads(web: ApiHarness) -> None:
    client = web.client
    log_in(client, "marketing")
    answer = client.get("/leads.csv")
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [r["email"] for r in rows] == NEWEST_FIRST
    mql = list(csv.DictReader(io.StringIO(client.get("/leads.csv", params={"stage": "mql"}).text)))
    assert {r["email"] for r in mql} == {KAEDE, *SAKURA}


def test_a_bad_filter_is_named_not_a_crash(web: ApiHarness) -> None:
    log_in(web.client, "admin")
    answer = web.client.get("/leads", params={"total_min": "lots"})
    assert answer.status_code == 422 and "total_min" in answer.text


# --- reports ---------------------------------------------------------------------------------------

REPORT_NAMES = ["status", "funnel", "sla", "aging", "dependency", "campaigns", "quality"]


def chart_data(page: str, chart: str) -> list[Any]:
    """The first series of a chart of the page (the JSON the browser draws it from)."""
    found = re.search(rf'<script type="application/json" id="chart-{chart}-spec">(.*?)</script>', page, re.S)
    assert found, f"no chart {chart} in the page"
    data: list[Any] = json.loads(found.group(1))["series"][0]["data"]
    return data


def csv_rows(client: TestClient, path: str, **params: str) -> list[dict[str, str]]:
    answer = client.get(path, params=params)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(answer.text)))


@pytest.mark.parametrize("who", list(USERS))
def test_every_report_page_renders_for_each_role(web: ApiHarness, who: str) -> None:
    client = web.client
    log_in(client, who)
    listed = client.get("/reports")
    assert listed.status_code == 200
    for name in REPORT_NAMES:
        assert f'href="/reports/{name}"' in listed.text
    assert "Funnel: MQL to Won by cohort" in listed.text and "Quality and capacity" in listed.text
    for name in REPORT_NAMES:
        page = client.get(f"/reports/{name}")
        assert page.status_code == 200, (name, page.text[:500])
        assert 'data-chart="chart-' in page.text  # every report has a chart
        assert f'href="/reports/{name}/' in page.text and '.csv"' in page.text  # and a CSV per table
        assert 'src="/static/vendor/echarts.min.js"' in page.text


def test_a_report_page_in_japanese(web: ApiHarness) -> None:
    log_in(web.client, "marketing")
    page = web.client.get("/reports/funnel", headers={"Accept-Language": "ja"}).text
    assert "ファネル：MQLから受注まで（コホート別）" in page
    assert "各ステップへの到達数" in page  # the chart's title
    assert "「ファネルのステップ」をCSVでダウンロード" in page
    sla = web.client.get("/reports/sla", headers={"Accept-Language": "ja"}).text
    assert "<td>割り当て → 初回接触</td>" in sla and "<td>営業時間</td>" in sla  # the rows' fixed texts too
    assert "<td>assignment → first touch</td>" in web.client.get("/reports/sla").text


def test_a_reps_report_numbers_count_only_their_own_leads(web: ApiHarness) -> None:
    """Four MQLs routed to reps a, b, c and a (department inside), two new leads nobody owns: rep a
    counts 2 MQLs, rep b 1, the inside-sales manager and marketing all 4."""
    expected_mqls = {"rep-a": 2, "rep-b": 1, "manager": 4, "marketing": 4}
    for who, mqls in expected_mqls.items():
        client = web.client
        client.cookies.clear()
        log_in(client, who)
        page = client.get("/reports/funnel").text
        assert chart_data(page, "funnel")[0] == mqls, who
        steps = csv_rows(client, "/reports/funnel/steps.csv")
        assert (steps[0]["step"], steps[0]["reached"]) == ("mql", str(mqls)), who
        assigned = csv_rows(client, "/reports/sla/by_rep.csv")
        assert {r["rep"]: r["assignments"] for r in assigned if r["rep"] != "total"} == {
            "rep-a": {"a": "2"},
            "rep-b": {"b": "1"},
            "manager": {"a": "2", "b": "1", "c": "1"},
            "marketing": {"a": "2", "b": "1", "c": "1"},
        }[who]
    client.cookies.clear()
    log_in(client, "rep-a")
    owned = csv_rows(client, "/reports/status/ownership.csv")
    assert [(r["department"], r["rep"], r["mql"], r["open"]) for r in owned] == [
        ("inside", "a", "2", "2"),
        ("total", "", "2", "2"),
    ]


def test_a_bad_report_filter_is_named_not_a_crash(web: ApiHarness) -> None:
    client = web.client
    log_in(client, "admin")
    cases = [
        ("funnel", {"from": "yesterday"}, "From: "),
        ("funnel", {"from": "2026-11-20", "to": "2026-11-01"}, "To (included): "),
        ("sla", {"by": "year"}, "Group by: "),
        ("funnel", {"kind": "loose"}, "Counting: "),
        ("status", {"limit": "-1"}, "Leads listed per check: must be at least 0"),
        ("campaigns", {"window_days": "ninety"}, "Attribution window (days): "),
    ]
    for name, params, named in cases:
        answer = client.get(f"/reports/{name}", params=params)
        assert answer.status_code == 422, (name, params)
        assert named in answer.text and 'role="alert"' in answer.text, (name, params)
        assert 'aria-invalid="true"' in answer.text
    japanese = client.get("/reports/funnel", params={"from": "yesterday"}, headers={"Accept-Language": "ja"})
    assert japanese.status_code == 422 and "「開始日」の値が正しくありません" in japanese.text
    as_csv = client.get("/reports/funnel/steps.csv", params={"to": "someday"})
    assert as_csv.status_code == 422 and as_csv.text.startswith("To (included): ")
    assert client.get("/reports/nonesuch").status_code == 404
    assert client.get("/reports/funnel/nonesuch.csv").status_code == 404


def test_a_report_csv_keeps_the_pages_filters(web: ApiHarness) -> None:
    client = web.client
    log_in(client, "admin")
    page = client.get("/reports/funnel", params={"from": "2026-11-01", "by": "week"}).text
    assert 'href="/reports/funnel/cohorts.csv?from=2026-11-01&amp;by=week"' in page
    answer = client.get("/reports/funnel/cohorts.csv", params={"from": "2026-11-01", "by": "week"})
    assert answer.headers["content-disposition"] == 'attachment; filename="funnel-cohorts-2026-11-01-2026-11-25.csv"'
    cohorts = list(csv.DictReader(io.StringIO(answer.text)))
    # the MQLs of 2026-11-23 (two days before the test's now, a Wednesday): the week of Monday 23 November
    assert [(r["cohort"], r["mql"]) for r in cohorts] == [("2026-11-23", "4"), ("total", "4")]


def test_the_vendored_chart_library_is_served_with_its_licence(web: ApiHarness) -> None:
    script = web.client.get("/static/vendor/echarts.min.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert "Licensed to the Apache Software Foundation" in script.text[:1000]
    assert "Apache License" in web.client.get("/static/vendor/echarts-LICENSE").text


def test_the_overview_shows_the_reports_figures(web: ApiHarness) -> None:
    client = web.client
    log_in(client, "rep-a")
    page = client.get("/").text
    assert chart_data(page, "funnel")[0] == 2  # rep a's two MQLs
    assert 'href="/reports/status#table-untouched"' in page
    assert "MQLs this month" in page and "Answered within SLA this week" in page


# --- the lead list's order -------------------------------------------------------------------------

BY_COMPANY = [SMITH, KAEDE, SAKURA[2], SAKURA[1], SAKURA[0], YAMADA]  # Maple Works, かえで, さくら ×3, もみじ


def test_the_lead_list_sorts_by_a_column_keeping_the_filters(web: ApiHarness) -> None:
    client = web.client
    log_in(client, "marketing")
    page = client.get("/leads", params={"q": "co.jp"}).text
    # the default order is the newest change first; a header link sorts by its column, keeping the filters
    assert 'aria-sort="descending"' in page and page.count("aria-sort=") == 1
    assert 'href="/leads?q=co.jp&amp;sort=company"' in page
    sorted_page = client.get("/leads", params={"q": "co.jp", "sort": "company"}).text
    assert 'aria-sort="ascending"' in sorted_page
    assert 'href="/leads?q=co.jp&amp;sort=-company"' in sorted_page  # the same header again: the other way
    shown = re.findall(r'<th scope="row"><a href="/leads/([^"]+)"', sorted_page)
    assert shown == [lead for lead in BY_COMPANY if lead != SMITH]  # Smith's address is .com
    rows = list(csv.DictReader(io.StringIO(client.get("/leads.csv", params={"sort": "-company"}).text)))
    assert [r["email"] for r in rows] == BY_COMPANY[::-1]
    by_stage = list(csv.DictReader(io.StringIO(client.get("/leads.csv", params={"sort": "stage"}).text)))
    assert [r["email"] for r in by_stage] == [YAMADA, SMITH, SAKURA[2], SAKURA[1], SAKURA[0], KAEDE]
    assert client.get("/leads", params={"sort": "shoe_size"}).status_code == 422


def test_the_pages_of_a_sorted_list_hold_each_lead_once(web: ApiHarness) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        page = web.relay.leads(limit=2, cursor=cursor, sort="company")
        seen += [item.lead for item in page.leads]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == BY_COMPANY


def test_the_overview_tells_the_marketing_department_from_the_leads_marketing_nurtures(web: ApiHarness) -> None:
    client = web.client
    log_in(client, "marketing")
    holders = client.get("/").text.split("<h2>Who holds the leads</h2>")[-1].split("</table>")[0]
    rows = re.findall(r'<th scope="row">(.*?)</th>', holders)
    nurtured = [r for r in rows if "nurture, before MQL" in r]
    assert len(nurtured) == 1  # one row for the leads before MQL, apart from the department's own queue


def test_the_overview_names_the_departments_taking_this_weeks_mqls(web: ApiHarness) -> None:
    client = web.client
    log_in(client, "marketing")
    intake = client.get("/").text.split('id="intake-title"')[-1].split("</section>")[0]
    rows = re.findall(r'<th scope="row">(.*?)</th>', intake)
    assert "Inside Sales" in rows and "inside" not in rows, rows  # the department's name, not its id
