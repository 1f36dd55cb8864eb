"""The worker deletes expired idempotency keys in small batches, every so often; keys still within
their 24 hours are kept and still replay their answer. On both databases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa

from leadrelay import FakeClock, LeadRelay
from leadrelay.adapters.store.sql_store import StoreTx
from leadrelay.adapters.store.tables import idempotency_keys
from leadrelay.services.idempotency import Answer, once, purge_expired
from tests.conftest import NOW
from tests.support.worker import make_worker

SCOPE = "user:1 POST /v1/activities"


@pytest.fixture
def relay(db_url: str) -> Iterator[LeadRelay]:
    with LeadRelay.open(db_url, clock=FakeClock(NOW)) as instance:
        instance.playbook()
        yield instance


def use_key(relay: LeadRelay, key: str, hours_ago: float, calls: list[str] | None = None) -> Answer:
    """A request with ``key`` made ``hours_ago`` hours before NOW (its key kept 24 hours from then)."""

    def work(tx: StoreTx) -> Answer:
        if calls is not None:
            calls.append(key)
        return Answer(200, f'{{"key": "{key}"}}', {"Content-Type": "application/json"})

    return once(relay.store, scope=SCOPE, key=key, body=b"{}", now=NOW - timedelta(hours=hours_ago), work=work)


def keys_left(relay: LeadRelay) -> list[str]:
    with relay.store.reading() as tx:
        return sorted(tx.execute(sa.select(idempotency_keys.c.key)).scalars())


def test_the_worker_deletes_expired_keys_in_batches_and_keeps_the_others(relay: LeadRelay) -> None:
    for n in range(7):
        use_key(relay, f"old-{n}", hours_ago=25)  # expired an hour ago
    use_key(relay, "fresh-1", hours_ago=23)  # an hour left
    use_key(relay, "fresh-2", hours_ago=0)
    worker = make_worker(relay, purge_batch=3, purge_every=3600)

    rounds = [worker.purge_idempotency_keys().purged for _ in range(4)]

    assert rounds == [3, 3, 1, 0]  # one batch per round until one comes back short, then not until later
    assert keys_left(relay) == ["fresh-1", "fresh-2"]


def test_a_kept_key_still_replays_and_a_purged_one_is_a_new_request(relay: LeadRelay) -> None:
    calls: list[str] = []
    use_key(relay, "old", hours_ago=25, calls=calls)
    use_key(relay, "fresh", hours_ago=1, calls=calls)
    make_worker(relay).run_once()

    replay = use_key(relay, "fresh", hours_ago=0, calls=calls)
    again = use_key(relay, "old", hours_ago=0, calls=calls)

    assert replay.replayed and not again.replayed
    assert calls == ["old", "fresh", "old"]  # the purged key's request was processed again
    assert keys_left(relay) == ["fresh", "old"]


def test_run_once_purges_every_expired_key(relay: LeadRelay) -> None:
    for n in range(5):
        use_key(relay, f"old-{n}", hours_ago=24 + n)
    use_key(relay, "fresh", hours_ago=0)

    report = make_worker(relay, purge_batch=2).run_once()

    assert report.purged == 5
    assert keys_left(relay) == ["fresh"]


def test_a_key_expires_at_24_hours_exactly(relay: LeadRelay) -> None:
    use_key(relay, "day-old", hours_ago=24)
    use_key(relay, "almost", hours_ago=23.99)

    assert purge_expired(relay.store, NOW) == 1
    assert keys_left(relay) == ["almost"]
    assert purge_expired(relay.store, NOW) == 0  # nothing expired: nothing deleted
