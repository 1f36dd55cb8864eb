"""Accounts and matching as a user works them from the command line: ``leadrelay accounts`` (list,
merge, add-domain, review) and ``leadrelay rematch``, and ``lead show`` saying how a lead matched,
in English and Japanese; mistakes are one line and exit code 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import run

LEADS = [
    {
        "email": "k.sato@sakura-mfg.co.jp",
        "phone": "06-1234-5678",
        "company": {"name": "株式会社さくら製作所", "reading": "サクラセイサクショ", "tier": "named"},
    },
    {"email": "info@sakura-mfg.jp", "company_name": "(株)さくら製作所"},
    {"email": "taro@gmail.com", "company_name": "ｻｸﾗｾｲｻｸｼｮ"},
    {"external_id": "card-1", "company_name": "さくら製作所 大阪支店", "phone": "06-1234-5678"},
    {"email": "m.sato@sakura-global.com", "company": {"name": "Sakura Global"}},
]


def shown(db: Path, *args: str) -> Any:
    done = run(*args, "--json", db=db)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "accounts.db"
    source = tmp_path / "leads.jsonl"
    source.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in LEADS), encoding="utf-8")
    done = run("import", "leads", str(source), db=path)
    assert done.returncode == 0, done.stderr
    return path


def test_accounts_lists_domains_tiers_and_lead_counts(db: Path) -> None:
    rows = shown(db, "accounts")
    assert [(r["domain"], r["leads"], r["by_tier"]) for r in rows] == [
        ("sakura-global.com", 1, {"4": 1}),
        ("sakura-mfg.co.jp", 4, {"2": 2, "3": 1, "4": 1}),
    ]
    table = run("accounts", db=db)
    assert table.returncode == 0, table.stderr
    assert "株式会社さくら製作所" in table.stdout and "Leads" in table.stdout
    japanese = run("accounts", db=db, lang="ja")
    assert "企業一覧" in japanese.stdout and "リード数" in japanese.stdout


def test_lead_show_says_which_account_matched_how_in_both_languages(db: Path) -> None:
    report = shown(db, "lead", "show", "taro@gmail.com")
    assert report["account"]["domain"] == "sakura-mfg.co.jp"
    assert report["match"]["tier"] == 2
    assert [(e["kind"], e["lead"]) for e in report["match"]["evidence"]] == [("reading", "ｻｸﾗｾｲｻｸｼｮ")]
    english = run("lead", "show", "taro@gmail.com", db=db)
    assert "tier 2 — company name: normalised company name is the account's reading" in english.stdout
    japanese = run("lead", "show", "taro@gmail.com", db=db, lang="ja")
    assert "段階 2 — 企業名: 企業名が読み（フリガナ）に一致" in japanese.stdout
    card = shown(db, "lead", "show", "card-1")
    assert [e["kind"] for e in card["match"]["evidence"]] == ["close_name", "phone"]


def test_review_confirms_a_weak_match_and_records_who(db: Path) -> None:
    review = shown(db, "accounts", "review")
    assert [(r["lead"], r["account"], r["score"]) for r in review] == [("id:card-1", "sakura-mfg.co.jp", 90.0)]
    listed = run("accounts", "review", db=db)
    assert "id:card-1" in listed.stdout and "same phone number" in listed.stdout
    done = run("accounts", "review", "--confirm", str(review[0]["id"]), "--as", "ops-ito", db=db)
    assert done.returncode == 0, done.stderr
    assert "id:card-1: confirmed: alias added to sakura-mfg.co.jp (さくら製作所 大阪支店; ops-ito)" in done.stdout
    assert run("accounts", "review", db=db).stdout.strip() == "Nothing to review."
    assert run("accounts", "review", db=db, lang="ja").stdout.strip() == "確認待ちはありません。"
    again = run("accounts", "review", "--reject", str(review[0]["id"]), db=db)
    assert again.returncode == 2
    assert "not a weak (tier 3) match" in again.stderr


def test_review_rejects_a_weak_match(db: Path) -> None:
    lead_id = shown(db, "accounts", "review")[0]["id"]
    done = shown(db, "accounts", "review", "--reject", str(lead_id), "--as", "ops-ito")
    assert (done["kind"], done["account"], done["actor"]) == ("reject", "sakura-mfg.co.jp", "ops-ito")
    assert shown(db, "lead", "show", "card-1")["account"] is None


def test_merge_and_add_domain_fix_what_matching_could_not(db: Path) -> None:
    merged = run("accounts", "merge", "sakura-mfg.co.jp", "sakura-global.com", "--as", "ops-ito", db=db)
    assert merged.returncode == 0, merged.stderr
    assert "sakura-global.com merged into sakura-mfg.co.jp (1 leads moved; ops-ito)" in merged.stdout
    added = run("accounts", "add-domain", "sakura-mfg.co.jp", "sakura-group.com", db=db)
    assert added.returncode == 0, added.stderr
    rows = shown(db, "accounts")
    assert [(r["domain"], r["domains"], r["leads"]) for r in rows] == [
        ("sakura-mfg.co.jp", ["sakura-global.com", "sakura-group.com"], 5)
    ]
    bad = run("accounts", "add-domain", "sakura-mfg.co.jp", "gmail.com", db=db)
    assert bad.returncode == 2
    assert bad.stderr.strip().endswith("'gmail.com' is a free-mail domain: it says nothing about a company")
    unknown = run("accounts", "merge", "sakura-mfg.co.jp", "nowhere.jp", db=db)
    assert unknown.returncode == 2
    assert "no account 'nowhere.jp'" in unknown.stderr
    assert "Traceback" not in unknown.stderr


def test_rematch_dry_run_reports_what_would_move(db: Path, tmp_path: Path) -> None:
    report = shown(db, "rematch", "--dry-run")
    assert (report["dry_run"], report["leads"], report["moved"]) == (True, 5, 0)
    # the account the first lead made is matched by its domain now
    assert report["by_tier"] == {"1": 2, "2": 2, "3": 1}
    text = run("rematch", "--dry-run", db=db)
    assert "Re-match (dry run, nothing written): 5 leads" in text.stdout
    japanese = run("rematch", "--dry-run", db=db, lang="ja")
    assert "再照合（ドライラン、書き込みなし）: 5 件のリード" in japanese.stdout
