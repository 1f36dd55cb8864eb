"""POST /hooks/{source}: signed webhooks read with the source's import mapping; unsigned ones store nothing."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from leadrelay.adapters.store.tables import metadata
from tests.conftest import NOW
from tests.support.http import ApiHarness, make_harness

SECRET = "whsec_test_0123456789"
PAYLOAD = {
    "records": [
        {"Email": "k.sato@sakura-mfg.co.jp", "First Name": "健太", "Last Name": "佐藤", "Company Name": "さくら製作所"},
        {"Email": "not-an-address", "Last Name": "鈴木"},
    ]
}


@pytest.fixture
def hooked(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[ApiHarness]:
    monkeypatch.setenv("LEADRELAY_HUBSPOT_HOOK_SECRET", SECRET)
    with make_harness(db_url) as harness:
        yield harness


def signed(body: bytes, timestamp: int, secret: str = SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "X-LeadRelay-Timestamp": str(timestamp),
        "X-LeadRelay-Signature": f"sha256={digest}",
    }


def rows_everywhere(api: ApiHarness) -> dict[str, int]:
    with api.relay.store.reading() as tx:
        return {
            table.name: int(tx.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
            for table in metadata.sorted_tables
        }


def test_a_signed_hubspot_payload_is_read_with_the_hubspot_mapping(hooked: ApiHarness) -> None:
    body = json.dumps(PAYLOAD).encode()

    response = hooked.client.post("/hooks/hubspot", content=body, headers=signed(body, int(NOW.timestamp())))

    assert response.status_code == 200
    records = response.json()["records"]
    assert [(r["status"], r["lead"], r["field"]) for r in records] == [
        ("created", "k.sato@sakura-mfg.co.jp", None),
        ("rejected", None, "email"),
    ]
    report = hooked.relay.lead("k.sato@sakura-mfg.co.jp")
    assert (report.profile.last_name, report.profile.first_name, report.profile.company_name) == (
        "佐藤",
        "健太",
        "さくら製作所",
    )


def test_a_wrong_signature_is_401_and_stores_nothing_anywhere(hooked: ApiHarness) -> None:
    body = json.dumps(PAYLOAD).encode()
    before = rows_everywhere(hooked)

    wrong_secret = hooked.client.post(
        "/hooks/hubspot", content=body, headers=signed(body, int(NOW.timestamp()), "guessed")
    )
    unsigned = hooked.client.post("/hooks/hubspot", content=body, headers={"Content-Type": "application/json"})
    tampered = hooked.client.post(
        "/hooks/hubspot", content=body.replace(b"sato", b"kato"), headers=signed(body, int(NOW.timestamp()))
    )

    assert [r.status_code for r in (wrong_secret, unsigned, tampered)] == [401, 401, 401]
    assert "does not match the body" in wrong_secret.json()["detail"]
    assert rows_everywhere(hooked) == before


def test_a_request_signed_more_than_five_minutes_ago_is_refused_as_a_replay(hooked: ApiHarness) -> None:
    body = json.dumps(PAYLOAD).encode()
    before = rows_everywhere(hooked)

    old = hooked.client.post("/hooks/hubspot", content=body, headers=signed(body, int(NOW.timestamp()) - 301))

    assert old.status_code == 401
    assert "more than five minutes" in old.json()["detail"]
    assert rows_everywhere(hooked) == before


def test_an_unknown_source_is_404_and_a_source_without_its_secret_set_is_503(api: ApiHarness) -> None:
    body = b"{}"

    assert api.client.post("/hooks/pardot", content=body, headers=signed(body, int(NOW.timestamp()))).status_code == 404
    unset = api.client.post("/hooks/marketo", content=body, headers=signed(body, int(NOW.timestamp())))
    assert unset.status_code == 503
    assert "LEADRELAY_MARKETO" not in unset.text  # the variable's name is not told to the network
