"""An idle ``leadrelay worker`` is woken by new messages (PostgreSQL: LISTEN/NOTIFY; SQLite: a watch
of the newest message id) and by its next due timer, instead of waiting for its next poll.

The workers here poll once a minute, so anything they do within the 15 s each wait allows was
woken; these are checks of behaviour, not of speed (benchmarks/api.py measures that)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

import pytest
import sqlalchemy as sa

from leadrelay.adapters.store.outbox import Message, Timer, enqueue, schedule
from leadrelay.adapters.store.sql_store import SqlStore
from tests.e2e.timer_plugin import EFFECTS_TABLE
from tests.receivers import WebhookReceiver, webhook_receiver
from tests.support.postgres import OwnCluster, own_cluster
from tests.support.worker_process import env_for, scalar

CHAT = {"format": "chat", "url_env": "TEAM_HOOK_URL"}
POLL = "60"  # seconds: far longer than any wait below


@pytest.fixture
def cluster() -> Iterator[OwnCluster]:
    try:
        with own_cluster() as started:
            yield started
    except LookupError as missing:
        pytest.skip(f"{missing}: install the PostgreSQL server to run this test")


def send_to_chat(store: SqlStore, key: str) -> None:
    """One chat message, due now, in a transaction of its own."""
    with store.transaction() as tx:
        enqueue(tx, [Message(key, "webhook", "team", key, "本文", target="team", payload=CHAT)], datetime.now(UTC))


def wait_until(condition: Callable[[], bool], seconds: float, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            said = f"; the worker's log:\n{log.read_text()}" if log is not None else ""
            raise AssertionError(f"not within {seconds:g} s: {what}{said}")
        time.sleep(0.02)


def received(receiver: WebhookReceiver, key: str) -> Callable[[], bool]:
    return lambda: receiver.by_key()[key] == 1


def recorded_sent(store: SqlStore, key: str) -> Callable[[], bool]:
    return lambda: scalar(store, f"SELECT count(*) FROM outbox WHERE key = '{key}' AND sent_at IS NOT NULL") == 1


def start(url: str, log: IO[str], receiver: WebhookReceiver, **extra: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "leadrelay", "--lang", "en", "worker", "--id", "w1", "--quiet"]
    command += ["--plugin", "tests.e2e.timer_plugin", "--poll", POLL]
    env = env_for(url, "w1", TEAM_HOOK_URL=receiver.url, LEADRELAY_NOW="", **extra)
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=log, text=True)


def stop(worker: subprocess.Popen[str], log: Path) -> None:
    worker.send_signal(signal.SIGTERM)
    worker.communicate(timeout=30)
    assert worker.returncode == 0, log.read_text()


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_an_idle_worker_delivers_a_new_message_and_fires_a_timer_long_before_its_next_poll(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = str(request.getfixturevalue("sqlite_url" if kind == "sqlite" else "postgres_url"))
    store = SqlStore.open(url)
    with store.transaction() as tx:
        tx.execute(sa.text(EFFECTS_TABLE))
        # due well after the worker's first round: it must wake for it, not poll
        schedule(tx, [Timer("soon", "effect", datetime.now(UTC) + timedelta(seconds=10))], datetime.now(UTC))
    send_to_chat(store, "first")
    log = tmp_path / "worker.log"
    with webhook_receiver() as receiver, log.open("w") as err:
        worker = start(url, err, receiver)
        try:
            wait_until(received(receiver, "first"), 60, "the worker delivers what waited when it started", log)
            wait_until(recorded_sent(store, "first"), 15, "the worker records it", log)
            time.sleep(0.5)  # the worker is waiting now: its next poll is a minute away
            send_to_chat(store, "second")
            wait_until(received(receiver, "second"), 15, "a message enqueued later wakes the worker", log)
            wait_until(
                lambda: scalar(store, "SELECT count(*) FROM timer_effects") == 1,
                25,
                "the timer fires when it is due, not at the next poll",
                log,
            )
            send_to_chat(store, "third")
            wait_until(received(receiver, "third"), 15, "and so does the next one", log)
        finally:
            if worker.poll() is None:
                stop(worker, log)
    (started,) = [line for line in log.read_text().splitlines() if "running; Ctrl-C to stop" in line]
    woken = "LISTEN/NOTIFY" if kind == "postgres" else "looked for every 50ms"
    assert f"poll 60s, woken by new messages ({woken})" in started
    assert receiver.by_key() == {"first": 1, "second": 1, "third": 1}
    store.close()


@pytest.mark.postgres
def test_after_a_database_outage_the_worker_listens_again_for_new_messages(cluster: OwnCluster, tmp_path: Path) -> None:
    store = SqlStore.open(cluster.url)
    send_to_chat(store, "before")
    store.close()  # the test's own connections must not outlive the cluster either
    log = tmp_path / "worker.log"
    with webhook_receiver() as receiver, log.open("w") as err:
        worker = start(cluster.url, err, receiver, LEADRELAY_WORKER_OUTAGE_RETRY_CAP="1")
        try:
            wait_until(received(receiver, "before"), 60, "the worker delivers the first message", log)
            cluster.stop()
            wait_until(lambda: "database unavailable" in log.read_text(), 20, "the worker sees the outage", log)
            cluster.start()
            wait_until(lambda: "database back after" in log.read_text(), 30, "the worker sees the database back", log)
            time.sleep(0.5)  # the worker is waiting again, a minute from its next poll
            store = SqlStore.open(cluster.url, migrate_schema=False)
            send_to_chat(store, "after")
            wait_until(received(receiver, "after"), 15, "a message enqueued after the outage wakes the worker", log)
            store.close()
        finally:
            if worker.poll() is None:
                stop(worker, log)
    assert receiver.by_key() == {"before": 1, "after": 1}
