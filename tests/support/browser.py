"""What browser tests share (the approach of ``tests/browser/test_dashboard.py``): the served demo
database with one user of each role, Chromium's pages in a language, logging in, axe-core, screenshots.

The test modules keep their own skips (Playwright or Chromium missing) and fixtures."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from leadrelay import LeadRelay
from tests.support.serving import serving
from tests.support.worker_process import env_for

ROOT = Path(__file__).resolve().parents[2]
SHOTS = Path(os.environ.get("LEADRELAY_SCREENSHOTS", ROOT / "build" / "screenshots"))
AXE = ROOT / "tests" / "browser" / "vendor" / "axe.min.js"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PASSWORD = "correct horse battery"
USERS = {
    "admin": {"role": "admin"},
    "marketing": {"role": "marketing"},
    "manager": {"role": "manager", "departments": ["hq_inside_sales"]},
    "rep": {"role": "rep", "rep": "is-kobayashi"},
}


@contextmanager
def served_demo(folder: Path) -> Iterator[tuple[str, str]]:
    """``leadrelay serve`` on a small static demo database with one user of each role (``USERS``,
    ``<name>@example.co.jp``, ``PASSWORD``): its base URL and the database file."""
    db = str(folder / "demo.db")
    made = subprocess.run(
        [sys.executable, "-m", "leadrelay", "demo", "--static", "--people", "300", "--companies", "40", "--days", "30"],
        env=env_for(db, "demo"), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    with LeadRelay.open(db) as relay:
        for name, user in USERS.items():
            relay.add_user(f"{name}@example.co.jp", actor="test", password=PASSWORD, **user)  # type: ignore[arg-type]
    with serving(db) as (base, _process):
        yield base, db


def new_page(browser: Any, lang: str = "en") -> Any:
    context = browser.new_context(
        locale="ja-JP" if lang == "ja" else "en-US",
        timezone_id="Asia/Tokyo",
        viewport={"width": 1280, "height": 900},
        accept_downloads=True,
    )
    return context.new_page()


def log_in(page: Any, base: str, who: str, next_path: str = "/") -> None:
    page.goto(f"{base}/login?next={next_path}")
    page.get_by_label("E-mail" if page.locator("html").get_attribute("lang") == "en" else "メールアドレス").fill(
        f"{who}@example.co.jp"
    )
    page.locator("#password").fill(PASSWORD)
    page.locator("button.primary").click()
    page.wait_for_load_state("load")


def check_accessibility(page: Any) -> None:
    """axe-core on the page as it is: no serious or critical violation."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, f"{page.url}: {bad}"


def shoot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
