"""Running ``leadrelay worker`` as a process against a database with due timers: shared by the worker
tests (crash, restart, outages)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from leadrelay.adapters.store.outbox import Timer, schedule
from leadrelay.adapters.store.sql_store import SqlStore
from tests.e2e.timer_plugin import EFFECTS_TABLE

NOW = "2026-11-25T12:00:00+09:00"
ROOT = Path(__file__).resolve().parents[2]


#: The default playbook sends e-mail, so a worker needs an SMTP server to start; these tests send
#: none (nothing is listening there).
SMTP = {"LEADRELAY_SMTP_URL": "smtp://127.0.0.1:9", "LEADRELAY_SMTP_FROM": "leadrelay@example.co.jp"}


def env_for(db: str, name: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADRELAY_")}
    env.update(LEADRELAY_NOW=NOW, LEADRELAY_DB=db, TEST_WORKER=name, COLUMNS="200", PYTHONPATH=str(ROOT))
    env.update({**SMTP, **extra})
    return env


def start_worker(db: str, name: str, *args: str, **extra: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "leadrelay", "--lang", "en", "worker", "--id", name, "--quiet"]
    command += ["--plugin", "tests.e2e.timer_plugin", *args]
    return subprocess.Popen(
        command, env=env_for(db, name, **extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def run(db: str, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "leadrelay", "--lang", "en", *args],
        env=env_for(db, "cli", **extra),
        capture_output=True,
        text=True,
        timeout=120,
    )


def due_timers(url: str, count: int) -> SqlStore:
    store = SqlStore.open(url)
    now = datetime.fromisoformat(NOW)
    with store.transaction() as tx:
        tx.execute(sa.text(EFFECTS_TABLE))
        for start in range(0, count, 5000):
            items = [
                Timer(f"t{i:06d}", "effect", now - timedelta(seconds=i % 600))
                for i in range(start, min(count, start + 5000))
            ]
            schedule(tx, items, now)
    return store


def scalar(store: SqlStore, sql: str) -> int:
    with store.reading() as tx:
        return int(tx.execute(sa.text(sql)).scalar_one())


def assert_each_fired_exactly_once(store: SqlStore, count: int) -> None:
    assert scalar(store, "SELECT count(*) FROM timers WHERE fired_at IS NULL") == 0
    assert scalar(store, "SELECT count(DISTINCT timer_key) FROM timer_effects") == count
    assert scalar(store, "SELECT count(*) FROM timer_effects") == count  # nothing twice
    # the effect and the mark were written by the same worker, in the same transaction
    mismatched = (
        "SELECT count(*) FROM timer_effects e JOIN timers t ON t.key = e.timer_key WHERE t.fired_by <> e.worker"
    )
    assert scalar(store, mismatched) == 0
