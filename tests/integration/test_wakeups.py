"""The outbox wake-up a waiting worker uses: LISTEN/NOTIFY on PostgreSQL, the newest message id on SQLite."""

from __future__ import annotations

import threading

import pytest

from leadrelay.adapters.store.outbox import Message, enqueue
from leadrelay.adapters.store.sql_store import SqlStore
from leadrelay.adapters.store.wakeups import OutboxListener, OutboxWatch, outbox_wakeup
from tests.conftest import NOW


def chat(key: str) -> Message:
    return Message(key, "webhook", "team", key, "本文", target="team", payload={"format": "chat"})


def test_a_waiting_worker_is_woken_by_a_committed_message_and_never_by_a_rolled_back_one(db_url: str) -> None:
    store = SqlStore.open(db_url)
    wakeup = outbox_wakeup(store, 0.01)
    assert isinstance(wakeup, OutboxListener if db_url.startswith("postgresql") else OutboxWatch)
    stop = threading.Event()
    try:
        wakeup.prime()
        with pytest.raises(RuntimeError), store.transaction() as tx:
            enqueue(tx, [chat("rolled-back")], NOW)
            raise RuntimeError("the change that caused it failed")
        assert wakeup.wait(0.5, stop) is False  # the notice went with the transaction
        with store.transaction() as tx:
            enqueue(tx, [chat("committed")], NOW)
        assert wakeup.wait(30, stop) is True
        wakeup.prime()
        assert wakeup.wait(0.3, stop) is False  # nothing new since the prime
        with store.transaction() as tx:
            enqueue(tx, [chat("later")], NOW)
        stop.set()
        assert wakeup.wait(30, stop) is False  # a worker told to stop stops waiting, whatever came
    finally:
        wakeup.close()
        store.close()


@pytest.mark.postgres
def test_a_listener_that_lost_its_connection_says_look_now_and_listens_again(postgres_url: str) -> None:
    store = SqlStore.open(postgres_url)
    listener = OutboxListener(store)
    stop = threading.Event()
    try:
        listener.prime()
        listener.reset()  # as after a database outage: the connection is gone
        with store.transaction() as tx:
            enqueue(tx, [chat("while-away")], NOW)  # nobody heard this one
        assert listener.wait(30, stop) is True  # connected again: look for what came meanwhile
        listener.prime()
        with store.transaction() as tx:
            enqueue(tx, [chat("after")], NOW)
        assert listener.wait(30, stop) is True  # and listening again
    finally:
        listener.close()
        store.close()
