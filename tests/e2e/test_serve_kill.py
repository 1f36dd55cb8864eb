"""Killing ``leadrelay serve`` (SIGKILL) while it is taking a batch loses no answered record and
never leaves half a batch; a client that sends the unanswered batch again with its
``Idempotency-Key`` gets it stored exactly once. On SQLite and PostgreSQL."""

from __future__ import annotations

import signal
import threading
import time
from typing import Any

import httpx
import sqlalchemy as sa

from leadrelay.adapters.store.schema import create_db_engine
from tests.support.serving import new_key, serving

BATCH = 200


def batch(n: int) -> dict[str, Any]:
    return {
        "records": [
            {"email": f"b{n}-{i}@kill-test.co.jp", "type": "page_viewed", "occurred_at": "2026-11-20T10:00:00+09:00"}
            for i in range(BATCH)
        ]
    }


def stored(db: str, n: int) -> tuple[int, int]:
    """Leads and activities of batch ``n`` in the database."""
    engine = create_db_engine(db)
    try:
        with engine.connect() as connection:
            pattern = {"p": f"b{n}-%"}
            leads = connection.execute(sa.text("SELECT count(*) FROM leads WHERE email LIKE :p"), pattern).scalar()
            activities = connection.execute(
                sa.text("SELECT count(*) FROM activities a JOIN leads l ON l.id = a.lead_id WHERE l.email LIKE :p"),
                pattern,
            ).scalar()
    finally:
        engine.dispose()
    return int(leads or 0), int(activities or 0)


def test_a_killed_server_keeps_every_answered_batch_whole_and_a_keyed_retry_stores_the_rest_once(db_url: str) -> None:
    key = new_key(db_url, "ops@example.co.jp", "marketing")
    headers = {"Authorization": f"Bearer {key}"}
    answered: set[int] = set()
    sent: list[int] = []
    for round_ in range(3):
        with serving(db_url) as (base, process):
            in_flight = threading.Event()
            one_answered = threading.Event()
            stop = threading.Event()

            def post_batches(
                base: str = base,
                in_flight: threading.Event = in_flight,
                one_answered: threading.Event = one_answered,
                stop: threading.Event = stop,
            ) -> None:
                with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
                    while not stop.is_set():
                        n = len(sent)
                        sent.append(n)
                        in_flight.set()
                        try:
                            response = client.post(
                                "/v1/activities", json=batch(n), headers={"Idempotency-Key": f"k{n}"}
                            )
                        except httpx.TransportError:
                            return  # the server died under this request
                        if response.status_code == 200:
                            answered.add(n)
                            one_answered.set()

            poster = threading.Thread(target=post_batches)
            poster.start()
            in_flight.wait(30)
            # some batches answered (however busy the machine is), then one under way
            assert one_answered.wait(120), "the server answered no batch in two minutes"
            time.sleep(0.2 + 0.3 * round_)
            process.send_signal(signal.SIGKILL)
            process.wait(30)
            stop.set()
            poster.join(60)
            assert not poster.is_alive()

    assert answered, "some batches were answered before the kills"
    unanswered = [n for n in sent if n not in answered]
    assert len(unanswered) == 3, "each kill cut one request off (under way, or being sent)"
    for n in sent:
        leads, activities = stored(db_url, n)
        if n in answered:
            assert (leads, activities) == (BATCH, BATCH), n
        else:  # killed under it (or never reached the server): all of it or nothing, never half
            assert (leads, activities) in ((0, 0), (BATCH, BATCH)), (n, leads, activities)

    # the client sends what it got no answer for again, with the same keys: stored once
    with serving(db_url) as (base, _), httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        for n in unanswered:
            response = client.post("/v1/activities", json=batch(n), headers={"Idempotency-Key": f"k{n}"})
            assert response.status_code == 200, response.text
    for n in sent:
        assert stored(db_url, n) == (BATCH, BATCH), n
