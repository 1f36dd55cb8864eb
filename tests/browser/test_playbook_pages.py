"""The playbook pages in a real browser: Chromium driven by Playwright against a real ``leadrelay
serve`` on a demo database (the fixture approach of ``tests/browser/test_dashboard.py``; helpers in
:mod:`tests.support.browser`). An admin checks a broken and a good candidate and activates it
through the form; the playbook, its versions, the diff and the candidate page in English and
Japanese have no serious or critical axe-core violation; screenshots under ``build/screenshots/``
(``playbook-*.png``). A rep reads the playbook without the admin's form."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from leadrelay import LeadRelay
from tests.support.browser import CHROMIUM, check_accessibility, log_in, new_page, served_demo, shoot

playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright is not installed (pip install -e '.[dev]')"
)
if CHROMIUM is None:
    pytest.skip("Chromium is not installed (apt-get install chromium; .ci/run does)", allow_module_level=True)

_DBS: dict[str, str] = {}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``leadrelay serve`` on a small demo database with one user of each role."""
    with served_demo(tmp_path_factory.mktemp("playbook")) as (base, db):
        _DBS[base] = db
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield launched
        launched.close()


def site_db(base: str) -> str:
    return _DBS[base]


ADMIN = "admin@example.co.jp"


def next_version(db: str) -> tuple[str, str]:
    """The active playbook's text with a new version number and one label changed, and that label."""
    with LeadRelay.open(db) as relay:
        view = relay.playbook_view()
    assert "      label: Attended a webinar\n" in view.text
    changed = view.text.replace(f'\nversion: "{view.version}"', '\nversion: "2099.1.1"', 1)
    changed = changed.replace("      label: Attended a webinar\n", "      label: Attended a live webinar\n", 1)
    return changed, "label: Attended a live webinar"


def ensure_two_versions(db: str) -> None:
    with LeadRelay.open(db) as relay:
        if len(relay.playbook_versions()) >= 2:
            return
    text, _ = next_version(db)
    with LeadRelay.open(db) as relay:
        relay.activate_playbook(text, actor=ADMIN)


def test_an_admin_checks_and_activates_a_playbook_in_the_form(site: str, browser: Any) -> None:
    db = site_db(site)
    with LeadRelay.open(db) as relay:
        if len(relay.playbook_versions()) >= 2:
            pytest.skip("the other test of this module activated a version first")
    page = new_page(browser)
    log_in(page, site, "admin", "/playbook/candidate")
    assert page.locator("h1").inner_text() == "Check or activate a playbook"
    text, label = next_version(db)
    broken = text.replace("\ntimezone: Asia/Tokyo\n", "\ntimezone: Mars/Olympus\n", 1)
    line = broken.splitlines().index("timezone: Mars/Olympus") + 1
    page.locator("#pb-yaml").fill(broken)
    page.get_by_role("button", name="Check").click()
    page.wait_for_load_state("load")
    alert = page.get_by_role("alert")
    assert "cannot be used" in alert.inner_text()
    first = page.locator("section.error tbody tr").first
    assert first.locator("th").inner_text() == str(line) and "Mars/Olympus" in first.inner_text()
    check_accessibility(page)
    shoot(page, "playbook-candidate-error-en")
    page.locator("#pb-yaml").fill(text)
    page.get_by_role("button", name="Check").click()
    page.wait_for_load_state("load")
    assert "This playbook can be used: default 2099.1.1" in page.get_by_role("status").inner_text()
    page.get_by_role("button", name="Activate").click()
    page.wait_for_load_state("load")
    assert page.url == f"{site}/playbook?done=activated"
    assert "Playbook 2099.1.1 is now the active one." in page.get_by_role("status").inner_text()
    assert page.locator(".pb-facts").inner_text().count(ADMIN) == 1
    with LeadRelay.open(db) as relay:
        versions = relay.playbook_versions()
    assert versions[0].version == "2099.1.1" and versions[0].activations[-1].by == ADMIN
    page.goto(f"{site}/playbook/versions")
    page.get_by_role("button", name="Show the differences").click()
    page.wait_for_load_state("load")
    added = page.locator("tr.pb-added", has_text=label)
    assert added.count() == 1 and added.locator(".pb-sign").inner_text() == "+"


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_the_playbook_pages_are_accessible_and_shot(site: str, browser: Any, lang: str) -> None:
    ensure_two_versions(site_db(site))
    page = new_page(browser, lang)
    log_in(page, site, "admin")
    for path, name in [
        ("/playbook", "playbook"),
        ("/playbook/versions", "playbook-versions"),
        ("/playbook/diff", "playbook-diff"),
        ("/playbook/candidate", "playbook-candidate"),
    ]:
        answer = page.goto(site + path)
        assert answer is not None and answer.status == 200, path
        check_accessibility(page)
        shoot(page, f"{name}-{lang}")
    page.goto(f"{site}/playbook")
    heading = page.locator("#h-levels").inner_text()
    assert heading == ("確度レベル" if lang == "ja" else "Level table")
    page.goto(f"{site}/playbook/diff")
    assert page.locator("tr.pb-removed").count() >= 1 and page.locator("tr.pb-added").count() >= 1
    bad = page.goto(f"{site}/playbook/diff?from=0.0.0")
    assert bad is not None and bad.status == 404
    assert "from" in page.get_by_role("alert").inner_text()
    check_accessibility(page)
    shoot(page, f"playbook-diff-unknown-{lang}")


def test_a_rep_reads_the_playbook_without_the_admin_form(site: str, browser: Any) -> None:
    page = new_page(browser, "ja")
    log_in(page, site, "rep", "/playbook")
    assert page.locator("h1").inner_text().startswith("プレイブック")
    assert page.get_by_role("link", name="プレイブックの検証・有効化").count() == 0
    answer = page.goto(f"{site}/playbook/candidate")
    assert answer is not None and answer.status == 403
    check_accessibility(page)
