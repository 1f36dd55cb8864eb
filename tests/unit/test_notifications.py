"""Notification rules in the playbook, the words of the messages, signatures and backoff."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

import pytest

from leadrelay.adapters.notify.webhook import sign, verify_signature
from leadrelay.adapters.playbook.loader import PlaybookError, default_playbook_path, parse_playbook
from leadrelay.adapters.store.outbox import Backoff
from leadrelay.domain.notifications import EventFacts, render

JST = timezone(timedelta(hours=9))
DEFAULT = default_playbook_path().read_text(encoding="utf-8")


def with_notifications(section: str) -> str:
    head = DEFAULT.split("\nnotifications:")[0]
    return head + "\n" + section


def test_the_default_playbook_notifies_reps_and_managers_by_email_and_a_chat_room() -> None:
    plan = parse_playbook(DEFAULT).playbook.notifications
    assert plan is not None
    assert plan.channels["sales_chat"].format == "chat"
    assert plan.channels["sales_chat"].url_env == "LEADRELAY_SALES_CHAT_WEBHOOK_URL"
    (hand_raiser,) = plan.rules_for("hand_raiser")
    assert hand_raiser.to == ("rep", "manager")
    assert set(hand_raiser.channels) == {"email", "sales_chat"}


@pytest.mark.parametrize(
    ("section", "line_text", "message"),
    [
        (
            "notifications:\n  channels:\n    - {id: email, kind: email}\n  rules:\n"
            "    - {id: n1, event: assigned, to: [rep], channels: [emial]}\n",
            "n1",
            "unknown channel 'emial' (declared: email)",
        ),
        (
            "notifications:\n  channels:\n    - {id: hook, kind: webhook, format: chat}\n",
            "hook",
            "needs either url or url_env",
        ),
        (
            "notifications:\n  channels:\n    - {id: hook, kind: webhook, format: signed, url: 'https://x.example/h'}\n",
            "hook",
            "needs secret_env",
        ),
        (
            "notifications:\n  channels:\n    - {id: email, kind: email}\n  rules:\n"
            "    - {id: n1, event: assigned, to: [boss], channels: [email]}\n",
            "n1",
            "unknown recipient 'boss'",
        ),
        (
            "notifications:\n  channels:\n    - {id: email, kind: email}\n  rules:\n"
            "    - {id: n1, event: assigned, channels: [email]}\n",
            "n1",
            "has nobody to write to",
        ),
        (
            "notifications:\n  channels:\n    - {id: email, kind: email}\n  rules:\n"
            "    - {id: n1, event: assignd, to: [rep], channels: [email]}\n",
            "n1",
            "assigned",
        ),
    ],
)
def test_a_bad_notifications_section_is_refused_naming_its_line(section: str, line_text: str, message: str) -> None:
    text = with_notifications(section)
    with pytest.raises(PlaybookError) as caught:
        parse_playbook(text, "pb.yaml")
    error = caught.value
    assert message in str(error)
    assert error.line is not None
    assert line_text in text.splitlines()[error.line - 1]


def test_a_department_id_names_its_manager_as_a_recipient() -> None:
    text = with_notifications(
        "notifications:\n  channels:\n    - {id: email, kind: email}\n  rules:\n"
        "    - {id: n1, event: recycled, to: [marketing, owner], channels: [email]}\n"
    )
    plan = parse_playbook(text).playbook.notifications
    assert plan is not None and plan.rules[0].to == ("marketing", "owner")


def test_messages_read_naturally_in_japanese_and_english() -> None:
    facts = EventFacts(
        lead="佐藤 健",
        email="k.sato@sakura-mfg.co.jp",
        company="さくら製作所",
        level=4,
        score=84.9487,
        rep="西村 拓也",
        department=("Osaka Branch Sales", "大阪支店 営業部"),
    )
    subject, body = render("assigned", facts, "ja", JST)
    assert subject == "新しいリードが割り当てられました：佐藤 健"
    assert "担当：西村 拓也 (大阪支店 営業部)" in body and "スコア：84.9" in body
    subject, body = render("assigned", facts, "en", JST)
    assert subject == "New lead assigned: 佐藤 健"
    assert "Owner: 西村 拓也 (Osaka Branch Sales)" in body
    due = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
    queued = EventFacts(lead="佐藤 健", department=("Marketing", "マーケティング部"), due_at=due)
    assert render("assigned", queued, "ja", JST)[0] == "マーケティング部のキューでリードが待機中：佐藤 健"
    assert "期限：2026-11-27 12:00" in render("sla_breach", queued, "ja", JST)[1]


def test_a_signature_verifies_only_for_the_same_secret_body_and_a_recent_timestamp() -> None:
    body = b'{"event": "assigned"}'
    header = sign("s3cret", 1_700_000_000, body)
    assert header.startswith("sha256=") and len(header) == 7 + 64
    assert verify_signature("s3cret", body, "1700000000", header, now=1_700_000_100)
    assert not verify_signature("other", body, "1700000000", header, now=1_700_000_100)
    assert not verify_signature("s3cret", body + b" ", "1700000000", header, now=1_700_000_100)
    assert not verify_signature("s3cret", body, "1700000000", header, now=1_700_001_000)  # too old: a replay


def test_backoff_doubles_with_jitter_up_to_its_cap() -> None:
    backoff = Backoff(base=10, cap=100, max_attempts=5)
    chance = random.Random(1)
    for attempts, full in [(1, 10), (2, 20), (3, 40), (4, 80), (5, 100), (9, 100)]:
        waits = [backoff.delay(attempts, chance).total_seconds() for _ in range(50)]
        assert all(full / 2 <= w <= full for w in waits)
        assert len(set(waits)) > 1  # jitter: workers retrying together spread out
