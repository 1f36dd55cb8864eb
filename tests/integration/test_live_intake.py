"""Live intake in the service layer: answers record by record, idempotency keys, on both databases."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from leadrelay import FakeClock, LeadRelay
from leadrelay.adapters.store.sql_store import StoreTx
from leadrelay.adapters.store.tables import activities, idempotency_keys, leads
from leadrelay.services.idempotency import Answer, IdempotencyKeyReused, once
from leadrelay.services.live_intake import TooManyRecords, take_records
from tests.conftest import NOW

SATO = "k.sato@sakura-mfg.co.jp"


@pytest.fixture
def relay(db_url: str) -> Iterator[LeadRelay]:
    with LeadRelay.open(db_url, clock=FakeClock(NOW)) as instance:
        instance.playbook()
        yield instance


def at(minutes_ago: float) -> str:
    return (NOW - timedelta(minutes=minutes_ago)).isoformat()


def demo_request(email: str = SATO, **extra: Any) -> dict[str, Any]:
    return {
        "email": email,
        "type": "demo_requested",
        "occurred_at": at(10),
        "lead": {
            "last_name": "佐藤",
            "seniority": "manager",
            "department": "it",
            "company": {"name": "さくら製作所", "industry": "manufacturing", "employees": 800},
        },
        **extra,
    }


def take(relay: LeadRelay, kind: str, records: list[Any]) -> Any:
    playbook = relay.playbook().playbook
    with relay.store.transaction() as tx:
        result, _ = take_records(tx, playbook, kind, records, NOW)  # type: ignore[arg-type]
    return result


def count(relay: LeadRelay, table: sa.Table) -> int:
    with relay.store.reading() as tx:
        return int(tx.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_a_hand_raiser_is_routed_to_a_rep_within_the_request(relay: LeadRelay) -> None:
    result = take(relay, "activities", [demo_request()])

    (record,) = result.records
    assert (record.index, record.status, record.lead) == (0, "created", SATO)
    assert record.hand_raiser is True
    assert record.stage == "mql"
    assert record.scores.fit == 50.0  # manufacturing 20 + 100-999 employees 10 + manager 15 + IT 5
    assert record.routed is not None
    assert (record.routed.department, record.routed.rep, record.routed.queue) == (
        "hq_inside_sales",
        "is-kobayashi",
        None,
    )
    assert (record.owner_department, record.owner_rep) == ("hq_inside_sales", "is-kobayashi")


def test_a_bad_record_in_a_batch_is_reported_by_index_and_field_and_the_good_ones_are_kept(relay: LeadRelay) -> None:
    records: list[Any] = [
        {"email": "a.ito@hoshi-logi.co.jp", "type": "webinar_attended", "occurred_at": at(60)},
        {"email": "not-an-address", "type": "webinar_attended", "occurred_at": at(60)},
        {"email": "b.ueda@hoshi-logi.co.jp", "type": "webinar_joined", "occurred_at": at(60)},
        "not a record",
        {"email": "c.oda@hoshi-logi.co.jp", "type": "webinar_attended", "occurred_at": at(60)},
    ]

    result = take(relay, "activities", records)

    assert [(r.index, r.status, r.field) for r in result.records] == [
        (0, "created", None),
        (1, "rejected", "email"),
        (2, "rejected", "type"),
        (3, "rejected", "activity"),
        (4, "created", None),
    ]
    assert "unknown activity type 'webinar_joined'" in (result.records[2].reason or "")
    assert (result.received, result.created, result.rejected) == (5, 2, 3)
    assert count(relay, leads) == 2
    assert count(relay, activities) == 2


def test_the_same_activity_again_is_a_duplicate_and_a_new_one_for_a_known_lead_updates_it(relay: LeadRelay) -> None:
    first = {"email": SATO, "type": "webinar_attended", "occurred_at": at(60), "source_id": "w-1"}
    take(relay, "activities", [first])

    result = take(relay, "activities", [first, {"email": SATO, "type": "webinar_registered", "occurred_at": at(90)}])

    assert [r.status for r in result.records] == ["duplicate", "updated"]
    assert result.records[1].level == 3  # webinar attended
    assert count(relay, activities) == 2


def test_lead_upserts_say_created_updated_and_duplicate(relay: LeadRelay) -> None:
    take(relay, "leads", [{"email": SATO, "last_name": "佐藤"}])

    result = take(
        relay,
        "leads",
        [{"email": SATO, "last_name": "佐藤"}, {"email": SATO, "title": "部長"}, {"email": "x.y@hoshi-logi.co.jp"}],
    )

    # the batch's two records of one lead are merged: its title changed, so both say updated
    assert [r.status for r in result.records] == ["updated", "updated", "created"]
    again = take(relay, "leads", [{"email": SATO, "title": "部長"}])
    assert [r.status for r in again.records] == ["duplicate"]


def test_more_than_ten_thousand_records_are_refused_whole(relay: LeadRelay) -> None:
    records = [{"email": f"p{i}@hoshi-logi.co.jp"} for i in range(10_001)]

    with pytest.raises(TooManyRecords) as caught:
        take(relay, "leads", records)

    assert "at most 10,000 per request" in str(caught.value)
    assert count(relay, leads) == 0


# --- idempotency keys ------------------------------------------------------------------------


def intake_once(relay: LeadRelay, key: str | None, records: list[Any], calls: list[int]) -> Answer:
    body = json.dumps(records).encode()
    playbook = relay.playbook().playbook

    def work(tx: StoreTx) -> Answer:
        calls.append(1)
        result, ids = take_records(tx, playbook, "activities", records, NOW)
        return Answer(201, result.model_dump_json(), {"Content-Type": "application/json"}, result.lead_ids(ids))

    return once(relay.store, scope="user:1 POST /v1/activities", key=key, body=body, now=NOW, work=work)


def test_a_repeat_with_the_same_key_and_body_replays_the_first_answer_without_processing(relay: LeadRelay) -> None:
    calls: list[int] = []
    first = intake_once(relay, "key-1", [demo_request()], calls)

    second = intake_once(relay, "key-1", [demo_request()], calls)

    assert calls == [1]
    assert (second.status, second.body, second.replayed) == (201, first.body, True)
    assert second.headers == {"Content-Type": "application/json"}
    with relay.store.reading() as tx:
        row = tx.execute(sa.select(idempotency_keys)).one()
    assert row.lead_ids == [1]  # the lead the answer names, for erasure
    assert row.expires_at == NOW + timedelta(hours=24)


def test_the_same_key_with_another_body_is_refused_and_nothing_is_processed(relay: LeadRelay) -> None:
    calls: list[int] = []
    intake_once(relay, "key-1", [demo_request()], calls)

    with pytest.raises(IdempotencyKeyReused):
        intake_once(relay, "key-1", [demo_request("other@sakura-mfg.co.jp")], calls)

    assert calls == [1]
    assert count(relay, leads) == 1


def test_a_failed_request_keeps_no_key_so_it_can_be_sent_again(relay: LeadRelay) -> None:
    def failing(tx: StoreTx) -> Answer:
        take_records(tx, relay.playbook().playbook, "activities", [demo_request()], NOW)
        raise RuntimeError("the process dies here")

    with pytest.raises(RuntimeError):
        once(relay.store, scope="s", key="key-1", body=b"[]", now=NOW, work=failing)

    assert count(relay, idempotency_keys) == 0
    assert count(relay, leads) == 0  # the work and the key went together


def test_two_requests_with_one_key_at_the_same_time_are_processed_once(relay: LeadRelay) -> None:
    calls: list[int] = []
    answers: list[Answer] = []
    start = threading.Barrier(2)

    def send() -> None:
        start.wait()
        answers.append(intake_once(relay, "key-1", [demo_request()], calls))

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert calls == [1]
    assert sorted(a.replayed for a in answers) == [False, True]
    assert answers[0].body == answers[1].body
    assert count(relay, activities) == 1


def test_requests_without_a_key_are_still_deduplicated_by_content(relay: LeadRelay) -> None:
    calls: list[int] = []
    intake_once(relay, None, [demo_request()], calls)

    again = intake_once(relay, None, [demo_request()], calls)

    assert calls == [1, 1]
    assert json.loads(again.body)["records"][0]["status"] == "duplicate"
    assert count(relay, activities) == 1
