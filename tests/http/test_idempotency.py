"""Idempotency-Key on intake calls: a repeat replays the first answer; another body with the key is 422."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from leadrelay.adapters.store.tables import activities, idempotency_keys
from leadrelay.services.access import Role
from tests.conftest import NOW
from tests.support.http import ApiHarness, MakeUser, auth

SATO = "k.sato@sakura-mfg.co.jp"
RECORD = {"email": SATO, "type": "webinar_attended", "occurred_at": (NOW - timedelta(hours=1)).isoformat()}


def count(api: ApiHarness, table: sa.Table) -> int:
    with api.relay.store.reading() as tx:
        return int(tx.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_a_repeat_with_the_same_key_and_body_gets_the_first_answer_marked_replayed(
    api: ApiHarness, make_user: MakeUser
) -> None:
    _, key = make_user(Role.marketing)
    headers = {**auth(key), "Idempotency-Key": "3f1c-webinar-import"}

    first = api.client.post("/v1/activities", json=RECORD, headers=headers)
    second = api.client.post("/v1/activities", json=RECORD, headers=headers)

    assert first.status_code == second.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()
    assert second.json()["records"][0]["status"] == "created"  # the first answer, not "duplicate"
    assert count(api, activities) == 1


def test_the_same_key_with_another_body_is_422_and_stores_nothing(api: ApiHarness, make_user: MakeUser) -> None:
    _, key = make_user(Role.marketing)
    headers = {**auth(key), "Idempotency-Key": "k-1"}
    api.client.post("/v1/activities", json=RECORD, headers=headers)

    other = api.client.post("/v1/activities", json={**RECORD, "type": "webinar_registered"}, headers=headers)

    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "header.Idempotency-Key"
    assert count(api, activities) == 1


def test_keys_are_per_user_so_one_user_never_sees_anothers_answer(api: ApiHarness, make_user: MakeUser) -> None:
    _, alice = make_user(Role.marketing)
    _, bob = make_user(Role.marketing)
    api.client.post("/v1/activities", json=RECORD, headers={**auth(alice), "Idempotency-Key": "same"})

    response = api.client.post(
        "/v1/activities",
        json={**RECORD, "type": "webinar_registered"},
        headers={**auth(bob), "Idempotency-Key": "same"},
    )

    assert response.status_code == 200
    assert "Idempotent-Replayed" not in response.headers
    assert count(api, idempotency_keys) == 2


def test_the_stored_answer_names_the_leads_it_mentions_and_expires_after_a_day(
    api: ApiHarness, make_user: MakeUser
) -> None:
    _, key = make_user(Role.marketing)
    api.client.post("/v1/activities", json=RECORD, headers={**auth(key), "Idempotency-Key": "k-1"})

    with api.relay.store.reading() as tx:
        row = tx.execute(sa.select(idempotency_keys)).one()
    assert row.lead_ids == [1]
    assert row.status_code == 201
    assert row.expires_at == NOW + timedelta(hours=24)
