"""The dashboard in a real browser: Debian's Chromium driven by Playwright against a real
``leadrelay serve`` on a demo database. Each role logs in and sees what it may; a rep opening
another rep's lead by its URL gets 404; filter, open, accept, reject with a reason, switch the
language, download the CSV; axe-core (vendored in tests/browser/vendor) finds no serious or critical
violation on any page. Screenshots of every page in both languages are saved under
``build/screenshots/`` (``LEADRELAY_SCREENSHOTS`` to change it) — look at them.

Skipped with a message where Chromium or Playwright is missing (``.ci/run`` installs Chromium)."""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from leadrelay import LeadRelay
from tests.support.browser import (
    CHROMIUM,
    PASSWORD,
    USERS,
    check_accessibility,
    log_in,
    new_page,
    shoot,
)
from tests.support.serving import serving
from tests.support.worker_process import env_for

playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright is not installed (pip install -e '.[dev]')"
)
if CHROMIUM is None:
    pytest.skip("Chromium is not installed (apt-get install chromium; .ci/run does)", allow_module_level=True)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``leadrelay serve`` on a small demo database with one user of each role."""
    import subprocess

    db = str(tmp_path_factory.mktemp("dashboard") / "demo.db")
    made = subprocess.run(
        # the static demo: every MQL routed and still waiting for its rep, so each rep has leads to answer
        [sys.executable, "-m", "leadrelay", "demo", "--static", "--people", "300", "--companies", "40", "--days", "30"],
        env=env_for(db, "demo"), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    with LeadRelay.open(db) as relay:
        for name, user in USERS.items():
            relay.add_user(f"{name}@example.co.jp", actor="test", password=PASSWORD, **user)  # type: ignore[arg-type]
    with serving(db) as (base, _process):
        _DBS[base] = db
        yield base


@pytest.fixture(scope="module")
def living_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``leadrelay serve`` on a small living demo (two months simulated hour by hour: reps answer,
    SLA clocks run out, leads are recycled and re-worked), for report pages with something to draw."""
    import subprocess

    db = str(tmp_path_factory.mktemp("living") / "demo.db")
    made = subprocess.run(
        [sys.executable, "-m", "leadrelay", "demo", "--people", "300", "--companies", "40", "--days", "60"],
        env=env_for(db, "demo"), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    with LeadRelay.open(db) as relay:
        for name, user in USERS.items():
            relay.add_user(f"{name}@example.co.jp", actor="test", password=PASSWORD, **user)  # type: ignore[arg-type]
    with serving(db) as (base, _process):
        _DBS[base] = db
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield launched
        launched.close()


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_every_page_for_marketing_is_accessible_and_shot(site: str, browser: Any, lang: str) -> None:
    page = new_page(browser, lang)
    page.goto(f"{site}/login")
    check_accessibility(page)
    shoot(page, f"login-{lang}")
    log_in(page, site, "marketing")
    assert page.url == f"{site}/"
    for path, name in [("/", "overview"), ("/leads", "leads"), ("/reps", "reps")]:
        page.goto(site + path)
        check_accessibility(page)
        shoot(page, f"{name}-{lang}")
    page.goto(f"{site}/leads?stage=mql")
    page.locator("table.list tbody a").first.click()
    page.wait_for_load_state("load")
    assert "/leads/" in page.url
    check_accessibility(page)
    shoot(page, f"lead-{lang}")
    if lang == "ja":
        assert page.locator("h2", has_text="スコアの内訳").count() == 1


def test_a_rep_sees_only_their_leads_and_gets_404_for_another(site: str, browser: Any) -> None:
    page = new_page(browser)
    log_in(page, site, "rep", "/leads")
    owners = page.locator("table.list tbody tr td:nth-child(6)").all_inner_texts()
    assert owners and all(text.startswith("is-kobayashi") for text in owners)
    with LeadRelay.open(site_db(site)) as relay:
        theirs = relay.leads(_filters(owner="is-yamamoto"), limit=1).leads
    assert theirs, "the demo routes leads to is-yamamoto too"
    answer = page.goto(f"{site}/leads/{theirs[0].lead}")
    assert answer is not None and answer.status == 404
    assert theirs[0].lead not in page.content()


def test_a_rep_filters_opens_accepts_and_rejects(site: str, browser: Any) -> None:
    page = new_page(browser)
    log_in(page, site, "rep", "/leads")
    page.locator("#f-stage").select_option("mql")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_load_state("load")
    assert "stage=mql" in page.url
    links = page.locator("table.list tbody a")
    assert links.count() >= 2
    first, second = links.nth(0).get_attribute("href"), links.nth(1).get_attribute("href")
    page.goto(site + first)
    page.get_by_role("button", name="Accept").click()
    page.wait_for_load_state("load")
    assert page.get_by_role("status").inner_text() == "Accepted."
    assert page.locator(".timeline li").first.inner_text().count("SAL") == 1
    page.goto(site + second)
    page.locator("#reason").select_option("wrong_person")
    page.get_by_role("button", name="Reject").click()
    page.wait_for_load_state("load")
    assert page.get_by_role("status").inner_text() == "Rejected."
    assert "Rejected" in page.locator(".timeline li").first.inner_text()


def test_the_language_switch_is_remembered(site: str, browser: Any) -> None:
    page = new_page(browser, "en")
    log_in(page, site, "manager", "/leads")
    page.get_by_role("link", name="日本語").click()
    page.wait_for_load_state("load")
    assert page.locator("h1").inner_text() == "リード一覧"
    page.goto(f"{site}/reps")
    assert page.locator("h1").inner_text() == "担当者とキャパシティ"
    check_accessibility(page)
    shoot(page, "reps-manager-ja")


def test_the_csv_download_has_the_rows_of_the_list(site: str, browser: Any) -> None:
    page = new_page(browser)
    log_in(page, site, "admin", "/leads?stage=mql")
    with page.expect_download() as caught:
        page.get_by_role("link", name="Download CSV").click()
    text = Path(caught.value.path()).read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    with LeadRelay.open(site_db(site)) as relay:
        expected = [item.lead for item in relay.leads(_filters(stages=("mql",)), limit=500).leads]
    assert rows and {r["stage"] for r in rows} == {"mql"}
    assert [r["lead"] for r in rows] == expected


_DBS: dict[str, str] = {}


def site_db(base: str) -> str:
    return _DBS[base]


def _filters(**given: Any) -> Any:
    from leadrelay.services.lead_list import LeadFilters

    return LeadFilters(**given)


REPORTS = ["status", "funnel", "sla", "aging", "dependency", "campaigns", "quality"]


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_every_report_page_draws_its_charts_is_accessible_and_shot(living_site: str, browser: Any, lang: str) -> None:
    page = new_page(browser, lang)
    log_in(page, living_site, "marketing", "/reports")
    assert page.locator("h1").inner_text() == ("Reports" if lang == "en" else "レポート")
    assert page.locator(".report-list a").count() == len(REPORTS)
    check_accessibility(page)
    shoot(page, f"reports-{lang}")
    for name in REPORTS:
        page.goto(f"{living_site}/reports/{name}")
        charts = page.locator("figure .chart[role=img]")
        assert charts.count() >= 1, name
        for i in range(charts.count()):
            charts.nth(i).locator("svg").wait_for()  # drawn by ECharts (SVG renderer)
            assert charts.nth(i).locator("svg text").count() > 0, name  # axes and labels as text
        assert page.locator("table.report").count() >= 1, name
        check_accessibility(page)
        shoot(page, f"report-{name}-{lang}")
    page.goto(f"{living_site}/")
    page.locator("#chart-funnel svg").wait_for()
    check_accessibility(page)
    shoot(page, f"overview-living-{lang}")


def test_a_reports_table_downloads_as_csv_with_the_numbers_shown(living_site: str, browser: Any) -> None:
    page = new_page(browser)
    log_in(page, living_site, "rep", "/reports/sla")
    with page.expect_download() as caught:
        page.get_by_role("link", name="Download “SLA compliance by rep” as CSV").click()
    rows = list(csv.DictReader(io.StringIO(Path(caught.value.path()).read_text(encoding="utf-8"))))
    # a rep's report counts their own assignments only
    assert {r["rep"] for r in rows} <= {"is-kobayashi", "total"} and rows[0]["rep"] == "is-kobayashi"
    shown = page.locator("#table-by_rep tbody tr th").all_inner_texts()
    assert shown == ["is-kobayashi"]
    page.goto(f"{living_site}/")  # the rep's own overview
    page.locator("#chart-funnel svg").wait_for()
    check_accessibility(page)
    shoot(page, "overview-rep-en")


def test_the_lead_list_sorts_from_the_keyboard(site: str, browser: Any) -> None:
    page = new_page(browser)
    log_in(page, site, "admin", "/leads?stage=mql")
    header = page.get_by_role("columnheader", name="Score")
    header.get_by_role("link").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "stage=mql" in page.url and "sort=-score" in page.url
    assert header.get_attribute("aria-sort") == "descending"
    scores = [float(s.replace(",", "")) for s in page.locator("table.list tbody td:nth-child(5)").all_inner_texts()]
    assert scores == sorted(scores, reverse=True) and len(scores) > 1
    check_accessibility(page)
