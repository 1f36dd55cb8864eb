"""``leadrelay demo`` through the real command line: the simulated quarter, its ground truth beside
the database, and the summary that ends by pointing at the reports, in English and Japanese."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from leadrelay import LeadRelay
from leadrelay.config import Settings
from leadrelay.entrypoints.http.app import create_app
from leadrelay.entrypoints.http.web.pages import SESSION_COOKIE
from tests.support.cli import run

SMALL = ("--people", "60", "--companies", "20", "--days", "14")
REPORTS = ("status", "funnel", "sla", "aging", "dependency", "campaigns", "quality")


#: How the summary ends, by language: the reports' heading, the dashboard's, the logins' (password shown).
ENDINGS = {
    "en": (
        "Next: the reports",
        "The dashboard: run this, then open http://127.0.0.1:8000/ and log in",
        "Demo logins (password for this demo database only: {password})",
        ["administrator", "marketing", "manager of hq_inside_sales", "rep is-kobayashi"],
    ),
    "ja": (
        "次はレポート：",
        "ダッシュボード：次のコマンドを実行し、http://127.0.0.1:8000/ を開いてログイン",
        "デモ用ログイン（このデモデータベース専用のパスワード：{password}）",
        ["管理者", "マーケティング", "hq_inside_sales のマネージャー", "営業担当 is-kobayashi"],
    ),
}
LOGINS = [f"{name}@demo.leadrelay.example" for name in ("admin", "marketing", "manager", "rep")]
PASSWORD = "demo-only-not-secret"


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_demo_writes_its_ground_truth_and_ends_with_the_reports_and_the_dashboard(tmp_path: Path, lang: str) -> None:
    db = tmp_path / "demo.db"
    result = run("demo", *SMALL, db=db, lang=lang)
    assert result.returncode == 0, result.stderr
    lines = [line.strip() for line in result.stdout.strip().splitlines()]
    reports, dashboard, logins, roles = ENDINGS[lang]
    tail = lines[-(len(REPORTS) + 8) :]
    assert tail[0] == reports
    assert tail[1 : 1 + len(REPORTS)] == [f"leadrelay --db {db} report {name}" for name in REPORTS]
    assert tail[1 + len(REPORTS) :] == [
        dashboard,
        f"leadrelay --db {db} serve",
        logins.format(password=PASSWORD),
        *[f"{email.ljust(32)}  {role}" for email, role in zip(LOGINS, roles, strict=True)],  # aligned on the longest
    ]
    truth = tmp_path / "demo.truth.json"
    assert str(truth) in result.stdout.replace("\n", "")
    doc = json.loads(truth.read_text(encoding="utf-8"))
    assert len(doc["leads"]) == 60
    assert doc["end"] == "2026-11-25T12:00:00+09:00" and doc["start"] == "2026-11-11T12:00:00+09:00"
    assert {"is-kobayashi", "rep-tanaka", "rep-nishimura"} <= set(doc["reps"])


def test_demo_json_names_the_truth_file_it_wrote(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    chosen = tmp_path / "elsewhere.json"
    result = run("demo", *SMALL, "--truth", str(chosen), "--json", db=db)
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["demo"]["truth"] == str(chosen) and chosen.exists()
    assert shown["summary"]["leads"] == 60 == shown["demo"]["leads"]
    assert shown["demo"]["serve"] == f"leadrelay --db {db} serve"
    assert (shown["demo"]["users"], shown["demo"]["password"]) == (LOGINS, PASSWORD)


def _log_in(client: TestClient, email: str, password: str) -> Any:
    page = client.get("/login")
    assert page.status_code == 200
    token = re.search(r'name="form_token" value="([^"]+)"', page.text)
    assert token is not None
    form = {"email": email, "password": password, "form_token": token.group(1), "next": "/"}
    return client.post("/login", data=form, follow_redirects=False)


def test_the_demo_logins_open_the_dashboard_with_their_roles(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    assert run("demo", *SMALL, db=db).returncode == 0
    roles = dict(zip(LOGINS, ("admin", "marketing", "manager", "rep"), strict=True))
    with (
        TestClient(create_app(Settings(db=str(db))), base_url="https://testserver") as client,
        LeadRelay.open(str(db)) as relay,
    ):
        for email, role in roles.items():
            client.cookies.clear()
            done = _log_in(client, email, PASSWORD)
            assert (done.status_code, done.headers["location"]) == (303, "/"), email
            who = relay.session(client.cookies.get(SESSION_COOKIE), idle=timedelta(hours=1))
            assert (who.email, who.role.value) == (email, role)
            assert client.get("/", follow_redirects=False).status_code == 200  # the overview, not the login
        client.cookies.clear()
        assert _log_in(client, LOGINS[0], "not the demo password").status_code == 401
