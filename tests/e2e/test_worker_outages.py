"""``leadrelay worker`` when things go wrong under it: its database stops and comes back (a
PostgreSQL cluster of the test's own, stopped and started), and the worker is killed with SIGKILL
in the middle of a batch of webhooks to a slow receiver."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from leadrelay.adapters.store.outbox import Message, enqueue
from leadrelay.adapters.store.sql_store import SqlStore
from tests.receivers import WebhookReceiver, webhook_receiver
from tests.support.postgres import OwnCluster, own_cluster
from tests.support.worker_process import NOW, assert_each_fired_exactly_once, due_timers, env_for, scalar, start_worker

CHAT = {"format": "chat", "url_env": "TEAM_HOOK_URL"}


@pytest.fixture
def cluster() -> Iterator[OwnCluster]:
    try:
        with own_cluster() as started:
            yield started
    except LookupError as missing:
        pytest.skip(f"{missing}: install the PostgreSQL server to run this test")


def chat_messages(store: SqlStore, count: int, now: datetime | None = None) -> list[str]:
    """``count`` webhook messages to the chat channel, due ``now`` (default: ``NOW``); their keys."""
    messages = [
        Message(f"m{i:04d}", "webhook", "team", f"lead {i}", "本文", target="team", payload=CHAT) for i in range(count)
    ]
    with store.transaction() as tx:
        enqueue(tx, messages, now or datetime.fromisoformat(NOW))
    return [m.key for m in messages]


def wait_until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds:g} s: {what}")
        time.sleep(0.02)


def lines(log: Path, text: str) -> list[str]:
    return [line for line in log.read_text().splitlines() if text in line]


@pytest.mark.postgres
def test_a_worker_waits_out_a_database_outage_and_then_does_everything_due_exactly_once(
    cluster: OwnCluster, tmp_path: Path
) -> None:
    timers, messages = 200, 50
    store = due_timers(cluster.url, timers)
    keys = chat_messages(store, messages)
    store.close()  # the test's own connections must not outlive the cluster either
    log = tmp_path / "worker.log"
    with webhook_receiver(delay=0.1) as receiver, log.open("w") as err:
        command = [sys.executable, "-m", "leadrelay", "--lang", "en", "worker", "--id", "w1", "--quiet"]
        command += ["--plugin", "tests.e2e.timer_plugin", "--batch", "20", "--messages", "5", "--concurrency", "2"]
        command += ["--lease", "5", "--poll", "0.05"]
        env = env_for(
            cluster.url,
            "w1",
            TEST_EFFECT_SECONDS="0.01",
            TEAM_HOOK_URL=receiver.url,
            LEADRELAY_WORKER_OUTAGE_RETRY_CAP="1",
        )
        worker = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=err, text=True)
        try:
            wait_until(lambda: len(receiver.accepted) >= 10, 60, "the worker sends the first messages")
            cluster.stop()
            sent_before = len(receiver.accepted)
            wait_until(lambda: bool(lines(log, "database unavailable")), 20, "the worker says the database is gone")
            time.sleep(3)  # several retries
            assert worker.poll() is None, log.read_text()
            (gone,) = lines(log, "database unavailable")  # one line for the whole outage
            assert gone.endswith("; retrying") and "Traceback" not in log.read_text()
            assert sent_before < messages, "everything was sent before the outage"
            cluster.start()
            wait_until(lambda: bool(lines(log, "database back after")), 30, "the worker sees the database back")
            store = SqlStore.open(cluster.url, migrate_schema=False)
            sent = "SELECT count(*) FROM outbox WHERE sent_at IS NOT NULL"
            wait_until(lambda: scalar(store, sent) == messages, 60, "every message is sent")
            wait_until(
                lambda: scalar(store, "SELECT count(*) FROM timers WHERE fired_at IS NULL") == 0, 60, "all timers fire"
            )
            assert_each_fired_exactly_once(store, timers)
            assert receiver.by_key() == dict.fromkeys(keys, 1)  # each message once: none lost, none twice
            (back,) = lines(log, "database back after")
            print(f"{gone}\n{back}")
            # a second outage, and SIGTERM while it lasts: the worker stops at once, cleanly
            store.close()
            cluster.stop()
            wait_until(lambda: len(lines(log, "database unavailable")) == 2, 20, "the second outage is seen")
            worker.send_signal(signal.SIGTERM)
            out, _ = worker.communicate(timeout=10)
            assert worker.returncode == 0, log.read_text()
            assert "sent" in out
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.communicate()


def in_doubt(store: SqlStore, receiver: WebhookReceiver) -> set[str]:
    """Messages the receiver has taken that the outbox does not record as sent: they go again."""
    with store.reading() as tx:
        unsent = {key for (key,) in tx.execute(sa.text("SELECT key FROM outbox WHERE sent_at IS NULL"))}
    return unsent & set(receiver.by_key())


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_worker_killed_mid_batch_makes_at_most_its_in_flight_messages_go_twice(
    kind: str, request: pytest.FixtureRequest
) -> None:
    url = str(request.getfixturevalue("sqlite_url" if kind == "sqlite" else "postgres_url"))
    count, concurrency, kills = 120, 4, 3
    store = SqlStore.open(url)
    # the real clock: a killed worker's lease must run out for the next one to take its messages
    keys = chat_messages(store, count, datetime.now(UTC))
    per_kill: list[int] = []
    # one claim takes all 120 messages (the batch is 200); at 0.1 s an answer and 4 at a time,
    # delivering them takes 3 s, and every kill lands in the middle of the batch
    options = ("--concurrency", str(concurrency), "--lease", "5", "--poll", "0.05")
    with webhook_receiver(delay=0.1) as receiver:
        for kill in range(kills):
            worker = start_worker(url, f"victim{kill}", *options, TEAM_HOOK_URL=receiver.url, LEADRELAY_NOW="")
            target = len(receiver.by_key()) + 15
            wait_until(lambda: len(receiver.by_key()) >= target, 60, "the worker sends")  # noqa: B023
            worker.send_signal(signal.SIGKILL)
            worker.communicate(timeout=30)
            time.sleep(0.3)  # let the receiver finish taking what was already on the wire
            assert len(receiver.by_key()) < count, "the batch was over before the kill"
            per_kill.append(len(in_doubt(store, receiver)))
        last = start_worker(url, "last", *options, TEAM_HOOK_URL=receiver.url, LEADRELAY_NOW="")
        sent = "SELECT count(*) FROM outbox WHERE sent_at IS NOT NULL"
        wait_until(lambda: scalar(store, sent) == count, 90, "every message is sent after the kills")
        last.send_signal(signal.SIGTERM)
        last.communicate(timeout=30)
    received = receiver.by_key()
    duplicates = sum(n - 1 for n in received.values())
    print(f"duplicates per kill: {per_kill} (delivery concurrency {concurrency}, batch 200)")
    assert set(received) == set(keys)  # nothing lost
    assert all(n <= concurrency for n in per_kill), per_kill  # the in-flight ones, not the batch
    assert duplicates == sum(per_kill)  # and only those went twice
    store.close()
