"""Many activities and moves in one batch are written in bulk (COPY on PostgreSQL, executemany on
SQLite) with the same outcome as row by row: every field stored as given, a key stored already
skipped (another process may store it between the batch's check and its write), nothing else lost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from leadrelay.adapters.store.sql_store import COPY_MIN_ROWS, SqlStore
from leadrelay.adapters.store.tables import activities, transitions
from leadrelay.domain.model import Account, Lead

AT = datetime(2026, 11, 20, 9, 30, 15, 250_000, tzinfo=UTC)


def activity_row(i: int, lead_id: int) -> dict[str, Any]:
    return {
        "key": f"k-{i:05d}",
        "lead_id": lead_id,
        "type": "page_viewed",
        "occurred_at": AT + timedelta(minutes=i),
        "recorded_at": AT + timedelta(days=1),
        "campaign_id": None,
        "product": "crm" if i % 3 == 0 else None,
        "properties": {"page_kind": "pricing", "url": f"/p/{i}", "note": "tab\tand\nnew line, 日本語"} if i % 2 else {},
        "source_id": f"src-{i}" if i % 5 else None,
    }


def move_row(i: int, lead_id: int) -> dict[str, Any]:
    return {
        "lead_id": lead_id,
        "occurred_at": AT + timedelta(minutes=i),
        "recorded_at": AT + timedelta(days=1),
        "from_stage": "new",
        "to_stage": "nurture",
        "trigger": "engaged",
        "actor": "engine",
        "rule_id": None,
        "reason": f"first activity: page_viewed ({i})",
        "derived": True,
        "level": 2 if i % 2 else None,
        "score": 12.5 + i,
        "product": None,
        "priority": i % 7 == 0,
        "activity_key": f"k-{i:05d}",
        "playbook_hash": "abc",
    }


def test_many_activities_and_moves_are_stored_whole_and_keys_stored_already_are_skipped(db_url: str) -> None:
    count = COPY_MIN_ROWS + 50
    store = SqlStore.open(db_url)
    try:
        with store.transaction() as tx:
            tx.insert_leads([(Lead(email="a@sakura-mfg.co.jp"), None, AT)])
            lead_id = tx.lead_ids(["a@sakura-mfg.co.jp"])["a@sakura-mfg.co.jp"]
            tx.insert_activities([activity_row(i, lead_id) for i in range(0, 40)])  # stored before
        with store.transaction() as tx:
            rows = [activity_row(i, lead_id) for i in range(20, 20 + count)]
            tx.insert_activities(rows[: count // 2])
            tx.insert_activities(rows[count // 2 :])  # twice in one transaction: nothing left over
            tx.insert_transitions([move_row(i, lead_id) for i in range(count)])
        with store.engine.connect() as connection:
            stored = connection.execute(sa.select(activities).order_by(activities.c.key)).all()
            moves = connection.execute(sa.select(transitions).order_by(transitions.c.occurred_at)).all()
    finally:
        store.engine.dispose()
    assert [r.key for r in stored] == [f"k-{i:05d}" for i in range(20 + count)]
    sample = {r.key: r for r in stored}["k-00047"]
    assert (sample.type, sample.product, sample.source_id, sample.lead_id) == ("page_viewed", None, "src-47", lead_id)
    assert sample.properties == {"page_kind": "pricing", "url": "/p/47", "note": "tab\tand\nnew line, 日本語"}
    assert _utc(sample.occurred_at) == AT + timedelta(minutes=47)
    assert {r.key: r for r in stored}["k-00020"].properties == {}
    assert len(moves) == count
    last = moves[-1]
    assert (last.reason, last.level, last.score, last.priority, last.derived) == (
        f"first activity: page_viewed ({count - 1})",
        2 if (count - 1) % 2 else None,
        12.5 + count - 1,
        (count - 1) % 7 == 0,
        True,
    )
    assert _utc(last.occurred_at) == AT + timedelta(minutes=count - 1)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def test_accounts_read_by_id_come_back_with_every_field_as_stored(db_url: str) -> None:
    sakura = Account(
        "sakura-mfg.co.jp",
        name="株式会社サクラ製作所",
        industry="manufacturing",
        employees=450,
        country="JP",
        region="kinki",
        prefecture="大阪府",
        tier="named",
        owner="rep-okada",
        reading="サクラセイサクショ",
        phone="06-6123-4567",
        postal_code="530-0001",
        website="https://sakura-mfg.co.jp",
    )
    store = SqlStore.open(db_url)
    try:
        with store.transaction() as tx:
            ids = tx.upsert_accounts([sakura, Account("kaede.co.jp")], AT)
        with store.reading() as tx:
            found = tx.accounts_by_id([ids["sakura-mfg.co.jp"], ids["kaede.co.jp"], 10_000])
        assert found == {ids["sakura-mfg.co.jp"]: sakura, ids["kaede.co.jp"]: Account("kaede.co.jp")}
    finally:
        store.close()
