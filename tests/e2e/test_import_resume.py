"""An import killed in the middle (SIGKILL) resumes where its last committed batch ended, and its
rejects file ends as one clean import's."""

from __future__ import annotations

import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

from tests.support.cli import NOW, run

ROWS = 6_000
BATCH = 200
BAD_EVERY = 97  # every 97th line has a time stamp no one can read: a rejected row


def bad(line: int) -> bool:
    return line % BAD_EVERY == 0


def good_between(first: int, last: int) -> int:
    """Good data lines among lines ``first`` to ``last``."""
    return sum(1 for line in range(max(first, 2), last + 1) if not bad(line))


JST = timezone(timedelta(hours=9))


def activities_file(path: Path, rows: int = ROWS) -> Path:
    chance = random.Random(11)
    start = datetime(2026, 9, 1, tzinfo=JST)
    kinds = ["email_opened", "page_viewed", "document_downloaded", "webinar_attended", "form_submitted"]
    with path.open("w", encoding="utf-8") as handle:
        handle.write("email,type,occurred_at,campaign\n")
        for line in range(2, rows + 2):
            moment = start + timedelta(minutes=chance.randrange(120_000))
            when = "last tuesday" if bad(line) else moment.isoformat()
            handle.write(
                f"p{chance.randrange(1500)}@c{chance.randrange(200)}.co.jp,{chance.choice(kinds)},"
                f"{when},cmp-{chance.randrange(5)}\n"
            )
    return path


def query(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db, timeout=30) as connection:
        return connection.execute(sql).fetchall()


def last_row(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        rows = query(db, "SELECT last_row FROM import_runs")
    except sqlite3.OperationalError:  # the schema is not there yet
        return 0
    return int(rows[0][0]) if rows else 0  # type: ignore[call-overload]


HISTORY = (
    "SELECT l.email, t.from_stage, t.to_stage, t.trigger, t.occurred_at, t.rule_id"
    " FROM transitions t JOIN leads l ON l.id = t.lead_id ORDER BY 1, 5, 2, 3"
)


def test_a_killed_import_resumes_without_duplicates_and_ends_like_one_clean_import(tmp_path: Path) -> None:
    source = activities_file(tmp_path / "activities.csv")
    crashed = tmp_path / "crashed.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADRELAY_")}
    env.update(LEADRELAY_NOW=NOW, LEADRELAY_DB=str(crashed))
    crashed_rejects, clean_rejects = tmp_path / "crashed.rejects.csv", tmp_path / "clean.rejects.csv"
    options = ("--batch-size", str(BATCH))
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "leadrelay",
            "import",
            "activities",
            str(source),
            *options,
            "--rejects",
            str(crashed_rejects),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while last_row(crashed) < 2 * BATCH and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=30) == -signal.SIGKILL, "the import finished before it could be killed"
    committed = last_row(crashed)
    assert 2 * BATCH <= committed < ROWS
    assert query(crashed, "SELECT count(*) FROM activities")[0][0] == good_between(2, committed)
    assert query(crashed, "SELECT finished_at FROM import_runs") == [(None,)]

    resumed = run("import", "activities", str(source), *options, "--rejects", str(crashed_rejects), db=crashed)
    assert resumed.returncode == 1, resumed.stderr  # rows were rejected
    assert f"resuming at row {committed + 1}: rows up to {committed} were committed" in resumed.stderr
    recorded = re.search(r"(\d+) activities recorded, (\d+) duplicates skipped", resumed.stdout)
    assert recorded is not None, resumed.stdout
    assert (int(recorded[1]), int(recorded[2])) == (good_between(committed + 1, ROWS + 1), 0)  # nothing re-done

    clean = tmp_path / "clean.db"
    assert run("import", "activities", str(source), *options, "--rejects", str(clean_rejects), db=clean).returncode == 1
    assert crashed_rejects.read_bytes() == clean_rejects.read_bytes()
    assert len(clean_rejects.read_text(encoding="utf-8-sig").splitlines()) == 1 + (ROWS + 1) // BAD_EVERY
    for table in ("leads", "accounts", "campaigns", "activities", "transitions"):
        assert query(crashed, f"SELECT count(*) FROM {table}") == query(clean, f"SELECT count(*) FROM {table}"), table
    assert query(crashed, "SELECT count(*) FROM activities")[0][0] == good_between(2, ROWS + 1)
    assert query(crashed, HISTORY) == query(clean, HISTORY)
    duplicates = (
        "SELECT lead_id, trigger, to_stage, occurred_at FROM transitions"
        " GROUP BY lead_id, trigger, to_stage, occurred_at HAVING count(*) > 1"
    )
    assert query(crashed, duplicates) == []
    assert query(crashed, "SELECT finished_at IS NOT NULL, last_row FROM import_runs") == [(1, ROWS + 1)]

    again = run("import", "activities", str(source), *options, "--rejects", str(crashed_rejects), db=crashed)
    assert "resuming" not in again.stderr
    assert f"0 activities recorded, {good_between(2, ROWS + 1)} duplicates skipped" in again.stdout
    assert crashed_rejects.read_bytes() == clean_rejects.read_bytes()


def _interruptible() -> None:
    """In the child before it starts: Ctrl-C acts, whatever the test process inherited (a shell
    starts background jobs with SIGINT ignored, and an ignored or blocked signal is inherited)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def test_an_interrupted_import_says_where_it_will_resume_and_prints_progress_without_a_terminal(
    tmp_path: Path,
) -> None:
    source = activities_file(tmp_path / "activities.csv")
    db = tmp_path / "interrupted.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADRELAY_")}
    env.update(LEADRELAY_NOW=NOW, LEADRELAY_DB=str(db), LEADRELAY_PROGRESS_SECONDS="0.01")
    process = subprocess.Popen(
        [sys.executable, "-m", "leadrelay", "import", "activities", str(source), "--batch-size", str(BATCH)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_interruptible,
    )
    # watch the progress lines (one per committed batch), not the database: a reader polling the
    # file can be kept waiting by the importer's writes until the whole file is done
    assert process.stderr is not None
    lines: list[str] = []
    for line in process.stderr:
        lines.append(line)
        progress = re.match(r"activities\.csv: (\d+) rows", line)
        if progress and int(progress.group(1)) >= 3 * BATCH:
            break
    process.send_signal(signal.SIGINT)
    _, rest = process.communicate(timeout=60)
    stderr = "".join(lines) + rest
    assert process.returncode == 130, stderr
    committed = last_row(db)
    assert 2 * BATCH <= committed < ROWS
    assert (
        f"interrupted: rows up to {committed} are committed; run the same command again to resume at row {committed + 1}"
        in stderr
    )
    assert re.search(r"activities\.csv: \d+ rows, \d+ rows/s, \d+%, ETA \d+ s", stderr), stderr  # stderr is no terminal

    resumed = run("import", "activities", str(source), "--batch-size", str(BATCH), db=db)
    assert f"resuming at row {committed + 1}" in resumed.stderr


PG_ROWS = 3_000  # each batch of 300 goes by COPY (more than COPY_MIN_ROWS); fewer rows keep it quick
PG_STATE = (
    "SELECT l.email, l.stage, l.level, l.level_rule, round(CAST(l.total_score AS numeric), 6), l.fit_passed,"
    " l.mql_rule, l.owner_rep FROM leads l ORDER BY 1"
)


def pg_query(url: str, sql: str) -> list[tuple[object, ...]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(sa.text(sql))]
    except sa.exc.ProgrammingError:  # the schema is not there yet
        return []
    finally:
        engine.dispose()


def test_a_killed_import_on_postgresql_resumes_and_ends_like_one_clean_import(
    postgres_url: str, empty_postgres_url: str, tmp_path: Path
) -> None:
    """The same on PostgreSQL, where a batch's activities and moves are written by COPY through a
    staging table: a kill between two batches (or inside one) leaves no half batch, and the
    resumed import's leads are judged exactly as one clean import's (scores, levels, owners)."""
    source = activities_file(tmp_path / "activities.csv", PG_ROWS)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADRELAY_")}
    env.update(LEADRELAY_NOW=NOW, LEADRELAY_DB=postgres_url)
    options = ("--batch-size", str(BATCH), "--rejects", str(tmp_path / "rejects.csv"))
    command = [sys.executable, "-m", "leadrelay", "import", "activities", str(source), *options]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def committed() -> int:
        rows = pg_query(postgres_url, "SELECT last_row FROM import_runs")
        return int(rows[0][0]) if rows else 0  # type: ignore[call-overload]

    deadline = time.monotonic() + 120
    while committed() < 2 * BATCH and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=30) == -signal.SIGKILL, "the import finished before it could be killed"
    done = committed()
    assert 2 * BATCH <= done < PG_ROWS
    assert pg_query(postgres_url, "SELECT count(*) FROM activities")[0][0] == good_between(2, done)

    resumed = run("import", "activities", str(source), *options, db=postgres_url)
    assert f"resuming at row {done + 1}" in resumed.stderr, resumed.stderr
    clean = run("import", "activities", str(source), "--batch-size", str(BATCH), db=empty_postgres_url)
    assert clean.returncode == 1, clean.stderr  # rows were rejected
    for table in ("leads", "activities", "transitions", "routing_decisions"):
        sql = f"SELECT count(*) FROM {table}"
        assert pg_query(postgres_url, sql) == pg_query(empty_postgres_url, sql), table
    assert pg_query(postgres_url, "SELECT count(*) FROM activities")[0][0] == good_between(2, PG_ROWS + 1)
    assert pg_query(postgres_url, HISTORY) == pg_query(empty_postgres_url, HISTORY)
    state = pg_query(postgres_url, PG_STATE)
    assert state == pg_query(empty_postgres_url, PG_STATE)
    assert len({row[4] for row in state}) > 50  # the comparison sees scores that differ lead by lead
