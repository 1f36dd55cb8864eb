"""Real delivery: e-mail to an SMTP server the test starts, webhooks to an HTTP server on localhost."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from leadrelay import FakeClock, LeadRelay
from leadrelay.adapters.notify.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature
from leadrelay.adapters.store.outbox import Message, claim_messages, enqueue
from leadrelay.bootstrap import make_senders, timer_handlers
from leadrelay.config import Settings
from leadrelay.entrypoints.worker import Worker, WorkerSettings
from tests.conftest import NOW
from tests.receivers import free_port, smtp_server, webhook_receiver

SECRET = "shh-つまり秘密"
SATO = {
    "email": "k.sato@sakura-mfg.co.jp",
    "last_name": "佐藤",
    "first_name": "健",
    "title": "部長",
    "seniority": "manager",
    "company": {"name": "さくら製作所", "industry": "manufacturing", "employees": 800},
}


@pytest.fixture
def relay(sqlite_url: str) -> Iterator[LeadRelay]:
    with LeadRelay.open(sqlite_url, clock=FakeClock(NOW)) as engine:
        engine.playbook()
        yield engine


def worker(relay: LeadRelay, environ: dict[str, str], worker_id: str = "w1", **settings: Any) -> Worker:
    """A worker with the real senders, configured as ``environ`` would configure them."""
    config = Settings(
        smtp_url=environ.get("LEADRELAY_SMTP_URL"),
        smtp_from=environ.get("LEADRELAY_SMTP_FROM"),
        webhook_timeout=2.0,
        backoff_base=10,
        backoff_cap=60,
        max_attempts=4,
    ).with_variables(environ)
    return Worker(
        relay.store,
        lambda: relay.playbook().playbook,
        relay.clock,
        make_senders(config),
        replace(WorkerSettings.from_settings(config, worker_id), **settings),
        timer_handlers(),
    )


def webhook(key: str, fmt: str = "signed", url: str | None = None, url_env: str | None = None) -> Message:
    document = {"id": key, "event": "hand_raiser", "text": "ハンドレイザー：佐藤 健 が商談を希望しています"}
    payload = {"format": fmt, "url": url, "url_env": url_env, "secret_env": "HOOK_SECRET", "document": document}
    return Message(
        key=key,
        channel="webhook",
        recipient="crm",
        subject="ハンドレイザー：佐藤 健 が商談を希望しています",
        body="リード：佐藤 健",
        event="hand_raiser",
        target="crm",
        payload=payload,
    )


def put(relay: LeadRelay, *messages: Message) -> None:
    with relay.store.transaction() as tx:
        enqueue(tx, messages, relay.clock.now())


def status(relay: LeadRelay) -> list[tuple[Any, ...]]:
    with relay.store.reading() as tx:
        query = "SELECT key, attempts, sent_at IS NOT NULL, failed_at IS NOT NULL, last_error FROM outbox ORDER BY id"
        return [tuple(row) for row in tx.execute(sa.text(query))]


def test_email_reaches_a_real_smtp_server_with_japanese_subject_and_body(relay: LeadRelay) -> None:
    relay.add_leads([SATO])
    relay.record_activities(
        [{"email": "k.sato@sakura-mfg.co.jp", "type": "demo_requested", "occurred_at": "2026-11-25T10:00:00+09:00"}]
    )
    with smtp_server() as box:
        env = {"LEADRELAY_SMTP_URL": f"smtp://127.0.0.1:{box.port}", "LEADRELAY_SMTP_FROM": "leadrelay@example.co.jp"}
        w = worker(relay, env)
        report = w.run_once()
        w.close()
    # the chat's and the e-mail tool's webhook URL variables are not set: those two fail visibly
    assert report.sent == 4 and report.failed == 2
    by_subject = {m["Subject"]: m for m in box.messages}
    mail = by_subject["新しいリードが割り当てられました：佐藤 健"]
    assert mail["From"] == "leadrelay@example.co.jp"
    assert "リード：佐藤 健 <k.sato@sakura-mfg.co.jp>" in mail.get_content()
    assert mail.get_content_charset() == "utf-8"
    key = mail["X-Leadrelay-Idempotency-Key"].strip()  # a long header is folded
    assert mail["Message-ID"].strip() == f"<{key[:40]}@leadrelay>"
    recipients = sorted(rcpt for _, rcpts in box.envelopes for rcpt in rcpts)
    # the rep (assigned, hand-raiser), the manager (hand-raiser), marketing (suppression on)
    assert recipients == sorted([mail["To"], mail["To"], "m.sasaki@example.co.jp", "s.kimura@example.co.jp"])
    assert ("LEADRELAY_SALES_CHAT_WEBHOOK_URL is not set: no URL for webhook channel 'sales_chat'") in [
        row[4] for row in status(relay)
    ]


def test_a_signed_webhook_carries_a_valid_signature_and_the_idempotency_key(relay: LeadRelay) -> None:
    with webhook_receiver() as receiver:
        put(relay, webhook("m1", url_env="CRM_HOOK_URL"), webhook("m2", fmt="chat", url_env="CRM_HOOK_URL"))
        w = worker(relay, {"CRM_HOOK_URL": receiver.url, "HOOK_SECRET": SECRET})
        assert w.run_once().sent == 2
        w.close()
    signed, chat = sorted(receiver.accepted, key=lambda r: r.headers["Idempotency-Key"])
    assert signed.headers["Idempotency-Key"] == "m1"
    assert verify_signature(
        SECRET, signed.body, signed.headers[TIMESTAMP_HEADER], signed.headers[SIGNATURE_HEADER], now=NOW.timestamp()
    )
    assert signed.json()["text"] == "ハンドレイザー：佐藤 健 が商談を希望しています"
    assert SIGNATURE_HEADER not in chat.headers
    assert chat.json() == {"text": "ハンドレイザー：佐藤 健 が商談を希望しています\nリード：佐藤 健"}


def test_a_failing_receiver_gets_the_message_exactly_once_after_it_recovers(db_url: str) -> None:
    with LeadRelay.open(db_url, clock=FakeClock(NOW)) as relay, webhook_receiver([500, 503]) as receiver:
        relay.playbook()
        put(relay, webhook("m1", url=receiver.url))
        w = worker(relay, {"HOOK_SECRET": SECRET})
        assert w.run_once().retrying == 1
        assert w.run_once().idle  # not due again before its backoff
        relay.clock.advance(timedelta(seconds=10))  # type: ignore[attr-defined]
        assert w.run_once().retrying == 1
        relay.clock.advance(timedelta(seconds=20))  # type: ignore[attr-defined]
        assert w.run_once().sent == 1
        relay.clock.advance(timedelta(hours=1))  # type: ignore[attr-defined]
        assert w.run_once().idle
        w.close()
        assert len(receiver.refused) == 2
        assert receiver.by_key() == {"m1": 1}
        assert status(relay) == [("m1", 3, True, False, None)]


def test_a_receiver_that_is_down_then_up_gets_the_message_once(relay: LeadRelay) -> None:
    port = free_port()
    put(relay, webhook("m1", url=f"http://127.0.0.1:{port}/hook"))
    w = worker(relay, {"HOOK_SECRET": SECRET})
    assert w.run_once().retrying == 1
    assert "ConnectError" in status(relay)[0][4]
    with webhook_receiver(port=port) as receiver:
        relay.clock.advance(timedelta(seconds=10))  # type: ignore[attr-defined]
        assert w.run_once().sent == 1
        relay.clock.advance(timedelta(hours=1))  # type: ignore[attr-defined]
        assert w.run_once().idle
    w.close()
    assert receiver.by_key() == {"m1": 1}


def test_after_the_last_attempt_the_failure_is_visible_and_a_retry_sends_it(relay: LeadRelay) -> None:

    from leadrelay.adapters.store.outbox import outbox_rows, retry_failed

    with webhook_receiver([500] * 4) as receiver:
        put(relay, webhook("m1", url=receiver.url))
        w = worker(relay, {"HOOK_SECRET": SECRET})
        for _ in range(4):
            w.run_once()
            relay.clock.advance(timedelta(minutes=5))  # type: ignore[attr-defined]
        assert status(relay) == [("m1", 4, False, True, "webhook answered 500 try later")]
        with relay.store.reading() as tx:
            (failed,) = outbox_rows(tx, failed=True)
        assert failed.status == "failed" and failed.attempts == 4
        with relay.store.transaction() as tx:
            assert retry_failed(tx, [failed.id], relay.clock.now()) == 1
        assert w.run_once().sent == 1
        w.close()
    assert receiver.by_key() == {"m1": 1}


def test_a_4xx_answer_is_given_up_at_once(relay: LeadRelay) -> None:
    with webhook_receiver([410]) as receiver:
        put(relay, webhook("m1", url=receiver.url))
        w = worker(relay, {"HOOK_SECRET": SECRET})
        assert w.run_once().failed == 1
        w.close()
    assert status(relay)[0][1:4] == (1, False, True)


def test_a_message_claimed_by_a_worker_that_died_is_sent_after_its_lease_with_the_same_key(db_url: str) -> None:
    with LeadRelay.open(db_url, clock=FakeClock(NOW)) as relay, webhook_receiver() as receiver:
        relay.playbook()
        put(relay, webhook("m1", url=receiver.url))
        with relay.store.transaction() as tx:  # a worker claims it, then is killed before sending
            assert len(claim_messages(tx, NOW, 10, "dead", timedelta(minutes=5))) == 1
        other = worker(relay, {"HOOK_SECRET": SECRET}, worker_id="w2")
        assert other.run_once().idle  # still the dead worker's
        relay.clock.advance(timedelta(minutes=5))  # type: ignore[attr-defined]
        assert other.run_once().sent == 1
        other.close()
        assert receiver.by_key() == {"m1": 1}
        assert json.loads(receiver.accepted[0].body)["id"] == "m1"
