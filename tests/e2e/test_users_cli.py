"""``leadrelay users`` and ``leadrelay keys`` as a user runs them: real processes, one SQLite file."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.support.cli import run


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "leadrelay.db"


def test_users_are_added_listed_and_disabled_with_who_did_it(db: Path) -> None:
    added = run("users", "add", "Mori@Example.co.jp", "--role", "manager", "--department", "osaka_branch",
                "--name", "森", "--actor", "admin@example.co.jp", db=db)  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "added user: mori@example.co.jp (manager: osaka_branch)" in added.stdout
    assert run("users", "add", "okada@example.co.jp", "--role", "rep", "--rep", "rep-okada", db=db).returncode == 0
    listed = json.loads(run("users", "list", "--json", db=db).stdout)
    assert [(u["email"], u["role"], u["departments"], u["rep"], u["created_by"]) for u in listed] == [
        ("mori@example.co.jp", "manager", ["osaka_branch"], None, "admin@example.co.jp"),
        ("okada@example.co.jp", "rep", [], "rep-okada", listed[1]["created_by"]),
    ]
    assert listed[1]["created_by"].startswith("cli:")
    assert listed[0]["name"] == "森"
    assert listed[0]["created_at"] == "2026-11-25T12:00:00+09:00"
    disabled = run("users", "disable", "mori@example.co.jp", "--actor", "boss@example.co.jp", db=db)
    assert disabled.returncode == 0, disabled.stderr
    (mori,) = [u for u in json.loads(run("users", "list", "--json", db=db).stdout) if u["role"] == "manager"]
    assert mori["disabled_at"] == "2026-11-25T12:00:00+09:00"
    assert mori["disabled_by"] == "boss@example.co.jp"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["x@example.co.jp", "--role", "owner"], "error: role: 'owner' is not one of admin, marketing, manager, rep"),
        (["x@example.co.jp", "--role", "manager"], "error: department: a manager needs at least one department"),
        (["x@example.co.jp", "--role", "manager", "--department", "tokyo"], "error: department: 'tokyo' is not a department of the active playbook"),
        (["x@example.co.jp", "--role", "rep"], "error: rep: a rep user needs the rep id of the active playbook (--rep)"),
        (["x@example.co.jp", "--role", "rep", "--rep", "rep-nobody"], "error: rep: 'rep-nobody' is not a rep of the active playbook"),
        (["not-an-address", "--role", "admin"], "error: email: 'not-an-address' is not an e-mail address"),
        (["dup@example.co.jp", "--role", "admin"], "error: email: a user with e-mail dup@example.co.jp already exists"),
    ],
)  # fmt: skip
def test_a_user_that_cannot_be_added_is_one_line_and_exit_2(db: Path, args: list[str], message: str) -> None:
    assert run("users", "add", "dup@example.co.jp", "--role", "marketing", db=db).returncode == 0
    result = run("users", "add", *args, db=db)
    assert result.returncode == 2
    assert result.stderr.startswith(message), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_a_password_is_read_from_stdin_and_stored_as_an_argon2_hash(db: Path) -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADRELAY_")}
    env.update(LEADRELAY_DB=str(db), LEADRELAY_NOW="2026-11-25T12:00:00+09:00")
    secret = "correct horse battery staple"
    result = subprocess.run(
        [sys.executable, "-m", "leadrelay", "users", "add", "pw@example.co.jp", "--role", "admin", "--password-stdin"],
        input=secret + "\n", capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(db) as connection:
        (stored,) = connection.execute("SELECT password_hash FROM users").fetchone()
    assert stored.startswith("$argon2id$")
    assert secret not in stored
    assert json.loads(run("users", "list", "--json", db=db).stdout)[0]["has_password"] is True


def test_a_key_is_shown_once_then_listed_by_its_prefix_and_revoked(db: Path) -> None:
    assert run("users", "add", "ops@example.co.jp", "--role", "admin", db=db).returncode == 0
    created = run("keys", "create", "--user", "ops@example.co.jp", "--name", "ci", "--role", "marketing", db=db)
    assert created.returncode == 0, created.stderr
    key, notice = created.stdout.strip().splitlines()
    assert key.startswith("lr_")
    assert notice.startswith("This key is not shown again: store it now.")
    listed = run("keys", "list", "--json", db=db)
    (row,) = json.loads(listed.stdout)
    assert (row["prefix"], row["user"], row["name"], row["role"]) == (key[:11], "ops@example.co.jp", "ci", "marketing")
    assert row["last_used_at"] is None and row["revoked_at"] is None
    assert key not in listed.stdout
    assert key not in run("keys", "list", db=db).stdout
    revoked = run("keys", "revoke", key[:11], "--actor", "sec@example.co.jp", db=db)
    assert revoked.returncode == 0, revoked.stderr
    (row,) = json.loads(run("keys", "list", "--json", db=db).stdout)
    assert (row["revoked_at"], row["revoked_by"]) == ("2026-11-25T12:00:00+09:00", "sec@example.co.jp")
    unknown = run("keys", "revoke", "lr_nothing", db=db)
    assert (unknown.returncode, unknown.stderr.strip()) == (2, "error: key: no key with prefix or id 'lr_nothing'")


def test_a_key_cannot_be_wider_than_its_user_nor_for_a_disabled_user(db: Path) -> None:
    assert run("users", "add", "mk@example.co.jp", "--role", "marketing", db=db).returncode == 0
    wider = run("keys", "create", "--user", "mk@example.co.jp", "--role", "admin", db=db)
    assert (wider.returncode, wider.stderr.strip()) == (
        2,
        "error: role: a key of a marketing user cannot have the wider role admin",
    )
    assert run("users", "disable", "mk@example.co.jp", db=db).returncode == 0
    disabled = run("keys", "create", "--user", "mk@example.co.jp", db=db)
    assert disabled.returncode == 2
    assert "disabled" in disabled.stderr
    nobody = run("keys", "create", "--user", "nobody@example.co.jp", db=db)
    assert (nobody.returncode, nobody.stderr.strip()) == (2, "error: user: no user with e-mail nobody@example.co.jp")


def test_messages_are_in_japanese_with_lang_ja(db: Path) -> None:
    added = run("users", "add", "ja@example.co.jp", "--role", "admin", db=db, lang="ja")
    assert "ユーザーを追加しました: ja@example.co.jp (admin)" in added.stdout
    created = run("keys", "create", "--user", "ja@example.co.jp", db=db, lang="ja")
    assert "このキーは二度と表示されません。" in created.stdout
