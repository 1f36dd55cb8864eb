"""The outbox and timers in the database: written with the change, idempotent, fired exactly once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from leadrelay import FakeClock, LeadRelay
from leadrelay.adapters.store.outbox import (
    Message,
    Timer,
    cancel_timers,
    enqueue,
    schedule,
)
from leadrelay.adapters.store.sql_store import StoreTx
from leadrelay.adapters.store.tables import timers
from leadrelay.domain.playbook import Playbook
from leadrelay.services.notifications import NotificationContext, notify
from tests.conftest import NOW
from tests.support.worker import make_worker


@pytest.fixture
def relay(db_url: str) -> Iterator[LeadRelay]:
    with LeadRelay.open(db_url, clock=FakeClock(NOW)) as engine:
        engine.playbook()
        yield engine


def rows(relay: LeadRelay, sql: str) -> list[Any]:
    with relay.store.reading() as tx:
        return list(tx.execute(sa.text(sql)))


def message(key: str) -> Message:
    return Message(key=key, channel="email", recipient="a@example.co.jp", subject="s", body="b")


def test_a_message_commits_with_the_change_that_caused_it_or_not_at_all(relay: LeadRelay) -> None:
    with pytest.raises(RuntimeError), relay.store.transaction() as tx:
        enqueue(tx, [message("k1")], NOW)
        raise RuntimeError("the state change failed")
    assert rows(relay, "SELECT key FROM outbox") == []
    with relay.store.transaction() as tx:
        enqueue(tx, [message("k1")], NOW)
    assert rows(relay, "SELECT key FROM outbox") == [("k1",)]


def test_enqueueing_or_scheduling_the_same_key_again_does_nothing(relay: LeadRelay) -> None:
    for _ in range(2):
        with relay.store.transaction() as tx:
            enqueue(tx, [message("k1"), message("k1")], NOW)
            schedule(tx, [Timer("t1", "notify", NOW, payload={"event": "sla_warning"})], NOW)
    assert rows(relay, "SELECT count(*) FROM outbox") == [(1,)]
    assert rows(relay, "SELECT count(*) FROM timers") == [(1,)]


def test_replace_rearms_a_timer_and_cancel_removes_only_pending_ones(relay: LeadRelay) -> None:
    later = NOW + timedelta(days=3)
    with relay.store.transaction() as tx:
        schedule(
            tx,
            [
                Timer("inactive:1", "recycle", NOW + timedelta(days=1), lead_id=1),
                Timer("sla:1", "sla", NOW + timedelta(hours=4), lead_id=1),
                Timer("sla:2", "sla", NOW + timedelta(hours=4), lead_id=2),
            ],
            NOW,
        )
        schedule(tx, [Timer("inactive:1", "recycle", later, lead_id=1, payload={"n": 2})], NOW, replace=True)
    with relay.store.reading() as tx:
        rearmed = tx.execute(sa.select(timers.c.due_at, timers.c.payload).where(timers.c.key == "inactive:1")).one()
    assert rearmed == (later, {"n": 2})
    with relay.store.transaction() as tx:
        assert cancel_timers(tx, lead_id=1, kind="sla") == 1
        assert cancel_timers(tx, ["sla:2", "missing"]) == 1
    assert rows(relay, "SELECT key FROM timers") == [("inactive:1",)]


def effect_handler(tx: StoreTx, timer: Timer, now: Any, playbook: Playbook) -> None:
    tx.set_setting(f"effect:{timer.key}", str(int(tx.setting(f"effect:{timer.key}") or 0) + 1))
    if timer.payload.get("fail"):
        raise ValueError("the handler broke")


def effects(relay: LeadRelay) -> dict[str, int]:
    found = rows(relay, "SELECT key, value FROM settings WHERE key LIKE 'effect:%'")
    return {k.removeprefix("effect:"): int(v) for k, v in found}


def test_a_timer_fires_once_when_due_with_its_effect_in_the_same_transaction(relay: LeadRelay) -> None:
    with relay.store.transaction() as tx:
        schedule(tx, [Timer(f"t{i}", "effect", NOW + timedelta(minutes=i)) for i in range(5)], NOW)
    worker = make_worker(relay, {"effect": effect_handler})
    assert worker.run_once().fired == 1  # only t0 is due
    assert effects(relay) == {"t0": 1}
    relay.clock.advance(timedelta(minutes=10))  # type: ignore[attr-defined]
    assert worker.run_once().fired == 4
    assert worker.run_once().fired == 0
    assert effects(relay) == {f"t{i}": 1 for i in range(5)}
    assert rows(relay, "SELECT count(*) FROM timers WHERE fired_at IS NOT NULL AND fired_by = 'w1'") == [(5,)]


def test_a_failing_handler_leaves_no_effect_is_retried_with_backoff_and_then_given_up(relay: LeadRelay) -> None:
    with relay.store.transaction() as tx:
        schedule(tx, [Timer("bad", "effect", NOW, payload={"fail": True}), Timer("good", "effect", NOW)], NOW)
        schedule(tx, [Timer("orphan", "nobody_handles_this", NOW)], NOW)
    worker = make_worker(relay, {"effect": effect_handler})
    report = worker.run_once()
    assert (report.fired, report.timer_errors) == (1, 2)
    assert effects(relay) == {"good": 1}  # the failing handler's write was rolled back
    bad = rows(relay, "SELECT attempts, last_error, fired_at, failed_at FROM timers WHERE key = 'bad'")[0]
    assert bad[0] == 1 and "ValueError: the handler broke" in bad[1] and bad[2] is None and bad[3] is None
    orphan = rows(relay, "SELECT last_error FROM timers WHERE key = 'orphan'")[0][0]
    assert "no handler for timer kind 'nobody_handles_this'" in orphan
    for _ in range(3):
        relay.clock.advance(timedelta(minutes=11))  # type: ignore[attr-defined]
        worker.run_once()
    assert rows(relay, "SELECT attempts, failed_at IS NOT NULL FROM timers WHERE key = 'bad'")[0] == (3, True)
    assert effects(relay) == {"good": 1}


def test_a_notify_timer_enqueues_its_message_when_it_fires(relay: LeadRelay) -> None:
    relay.add_leads([{"email": "k.sato@sakura-mfg.co.jp", "last_name": "佐藤"}])
    lead_id = rows(relay, "SELECT id FROM leads")[0][0]
    payload = {"event": "sla_warning", "rep_id": "rep-suzuki", "due_at": (NOW + timedelta(hours=4)).isoformat()}
    with relay.store.transaction() as tx:
        schedule(tx, [Timer(f"sla_warning:{lead_id}", "notify", NOW, lead_id=lead_id, payload=payload)], NOW)
    worker = make_worker(relay)
    assert worker.fire_timers().fired == 1
    sent = rows(relay, "SELECT recipient, lang, subject, body FROM outbox")
    assert sent[0][:3] == ("k.suzuki@example.co.jp", "en", "SLA due soon: 佐藤")
    assert "Due: 2026-11-25 16:00" in sent[0][3]


def test_routing_a_hand_raiser_tells_the_rep_and_the_manager_at_once_in_their_language(relay: LeadRelay) -> None:
    relay.add_leads(
        [
            {
                "email": "k.sato@sakura-mfg.co.jp",
                "last_name": "佐藤",
                "first_name": "健",
                "title": "部長",
                "seniority": "manager",
                "company": {"name": "さくら製作所", "industry": "manufacturing", "employees": 800},
            }
        ]
    )
    result = relay.record_activities(
        [{"email": "k.sato@sakura-mfg.co.jp", "type": "demo_requested", "occurred_at": "2026-11-25T10:00:00+09:00"}]
    )
    (routed,) = result.routed
    assert routed.hand_raised and routed.rep is not None
    found = rows(relay, "SELECT event, channel, recipient, lang, subject, due_at FROM outbox ORDER BY id")
    events = [(event, channel) for event, channel, *_ in found]
    assert events == [
        ("assigned", "email"),
        ("hand_raiser", "email"),
        ("hand_raiser", "email"),
        ("hand_raiser", "webhook"),
        ("suppression_changed", "email"),  # marketing: a rep owns the lead now
        ("suppression_changed", "webhook"),  # the e-mail tool
    ]
    rep_mail = relay.playbook().playbook.routing.reps[routed.rep].email
    assert found[0][2] == rep_mail and found[0][4] == "新しいリードが割り当てられました：佐藤 健"
    assert {found[1][2], found[2][2]} == {rep_mail, "m.sasaki@example.co.jp"}  # the rep and HQ Inside Sales' manager
    assert found[1][4] == "ハンドレイザー：佐藤 健 が商談を希望しています"


def test_notify_is_idempotent_for_the_same_ref_and_writes_to_a_rep_in_english(relay: LeadRelay) -> None:
    relay.add_leads([{"email": "a.b@sakura-mfg.co.jp"}])
    lead_id = rows(relay, "SELECT id FROM leads")[0][0]
    playbook = relay.playbook().playbook
    context = NotificationContext(lead_id=lead_id, rep_id="rep-suzuki", department="hq_corporate_sales", ref="d1")
    with relay.store.transaction() as tx:
        assert notify(tx, playbook, "assigned", context, NOW) == 1
        assert notify(tx, playbook, "assigned", context, NOW) == 1  # composed again, stored once
    assert rows(relay, "SELECT recipient, lang, subject FROM outbox") == [
        ("k.suzuki@example.co.jp", "en", "New lead assigned: a.b@sakura-mfg.co.jp")
    ]
