"""``leadrelay lead erase`` as a user runs it: confirmation, --yes, --json, English and Japanese."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import NOW, run

EMAIL = "taro.yamada@sakura-mfg.co.jp"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "erase.db"
    added = run(
        "lead",
        "add",
        "--email",
        EMAIL,
        "--first-name",
        "Taro",
        "--last-name",
        "Yamada",
        "--phone",
        "03-5555-0199",
        db=path,
    )
    assert added.returncode == 0, added.stderr
    return path


def on_terminal(db: Path, answer: str) -> subprocess.CompletedProcess[str]:
    """``leadrelay lead erase EMAIL`` with a terminal as standard input, answering ``answer``."""
    controller, terminal = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADRELAY_")}
    env.update({"LEADRELAY_NOW": NOW, "LEADRELAY_DB": str(db), "COLUMNS": "200"})
    try:
        os.write(controller, answer.encode() + b"\n")
        done = subprocess.run(
            [sys.executable, "-m", "leadrelay", "lead", "erase", EMAIL],
            stdin=terminal,
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
    finally:
        os.close(terminal)
        os.close(controller)
    return done


def test_without_a_terminal_erasing_needs_yes_and_erases_nothing(db: Path) -> None:
    refused = run("lead", "erase", EMAIL, db=db)
    assert refused.returncode == 2
    assert "error: erasing needs --yes when there is no terminal to confirm on" in refused.stderr
    assert run("lead", "show", EMAIL, db=db).returncode == 0


def test_on_a_terminal_it_asks_and_a_no_erases_nothing(db: Path) -> None:
    declined = on_terminal(db, "n")
    assert declined.returncode == 1, declined.stderr
    assert f"Erase the personal data of {EMAIL} everywhere leadrelay stores it?" in declined.stderr
    assert "nothing erased" in declined.stderr
    assert run("lead", "show", EMAIL, db=db).returncode == 0
    accepted = on_terminal(db, "y")
    assert accepted.returncode == 0, accepted.stderr
    assert f"Personal data of {EMAIL} erased" in accepted.stdout
    assert run("lead", "show", EMAIL, db=db).returncode == 2


def test_yes_erases_prints_rows_per_table_and_a_second_time_says_it_was_done(db: Path) -> None:
    erased = run("lead", "erase", EMAIL, "--yes", "--as", "dpo@example.co.jp", "--json", db=db)
    assert erased.returncode == 0, erased.stderr
    report = json.loads(erased.stdout)
    assert report["already_erased"] is False
    assert report["ref"].startswith("erased-")
    assert report["requested_by"] == "dpo@example.co.jp"
    assert report["tables"]["leads"] == 1
    assert report["tables"]["erased_identities"] == 1
    assert report["erased_at"] == NOW

    shown = run("lead", "show", report["ref"], "--json", db=db)
    assert shown.returncode == 0, shown.stderr
    assert (json.loads(shown.stdout)["email"], json.loads(shown.stdout)["profile"]["name"]) == (None, None)

    again = run("lead", "erase", report["ref"], "--yes", db=db)
    assert again.returncode == 0, again.stderr
    assert f"{report['ref']} was already erased: nothing left to erase" in again.stdout
    assert "at the request of dpo@example.co.jp" in again.stdout
    by_email = run("lead", "erase", EMAIL, "--yes", db=db, lang="ja")
    assert by_email.returncode == 0, by_email.stderr
    assert f"{EMAIL} は消去済みです。消去するものはありません" in by_email.stdout


def test_the_table_of_rows_is_printed_in_japanese(db: Path) -> None:
    erased = run("lead", "erase", EMAIL, "--yes", db=db, lang="ja")
    assert erased.returncode == 0, erased.stderr
    assert f"{EMAIL} の個人データを消去しました" in erased.stdout
    for heading in ("テーブル", "変更行数", "leads"):
        assert heading in erased.stdout


def test_an_unknown_person_is_an_error_naming_the_reference(db: Path) -> None:
    missing = run("lead", "erase", "nobody@sakura-mfg.co.jp", "--yes", db=db)
    assert missing.returncode == 2
    assert "error: no lead with e-mail or external id nobody@sakura-mfg.co.jp" in missing.stderr


def test_an_import_refuses_the_erased_person_and_does_not_write_their_row_to_the_rejects_file(
    db: Path, tmp_path: Path
) -> None:
    assert run("lead", "erase", EMAIL, "--yes", db=db).returncode == 0
    source = tmp_path / "acts.csv"
    source.write_text(
        "email,type,occurred_at,lead.first_name\n"
        f"{EMAIL},webinar_attended,2026-11-20T10:00:00+09:00,Taro\n"
        "hanako@sakura-mfg.co.jp,webinar_attended,2026-11-20T10:00:00+09:00,Hanako\n",
        encoding="utf-8",
    )
    imported = run("activity", "import", str(source), db=db)
    assert imported.returncode == 1, imported.stderr
    lines = (tmp_path / "acts.csv.rejects.csv").read_text(encoding="utf-8-sig").splitlines()
    assert lines == [
        "line,field,reason,email,type,occurred_at,lead.first_name",
        "2,email,this person's personal data was erased at their request; leadrelay does not record them again",
    ]


def test_who_asked_must_be_given_in_at_most_320_characters(db: Path) -> None:
    for actor in ("", "x" * 321):
        refused = run("lead", "erase", EMAIL, "--yes", "--as", actor, db=db)
        assert refused.returncode == 2
        assert "error: actor: who asked for the erasure: 1 to 320 characters" in refused.stderr
    assert run("lead", "show", EMAIL, db=db).returncode == 0
