"""With ``Accept-Language: ja`` the problem ``detail`` and the message of each field at fault are in
Japanese for the errors an API user meets: invalid fields, a rejected record, an unknown lead, an
illegal stage move, an unknown reason code, too many form posts, an idempotency key reused or not
usable. English stays as it was."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from leadrelay.services.access import Role
from tests.support.http import ApiHarness, auth, make_harness
from tests.support.leads import SAKURA, fill

JA = {"Accept-Language": "ja"}
MQL = SAKURA[2]  # an MQL of rep a (inside sales)
SITE = "https://www.example.co.jp"


@pytest.fixture
def api(sqlite_url: str) -> Iterator[ApiHarness]:
    with make_harness(sqlite_url, form_rate_per_minute=1.0, form_burst=1) as harness:
        yield harness


@pytest.fixture
def admin(api: ApiHarness) -> dict[str, str]:
    _, key = api.make_user(Role.admin)
    return auth(key)


@pytest.fixture
def filled(api: ApiHarness, tmp_path: Path) -> ApiHarness:
    fill(api.relay, tmp_path)
    return api


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


def test_invalid_fields_are_named_with_japanese_messages(filled: ApiHarness, admin: dict[str, str]) -> None:
    response = filled.client.post(
        f"/v1/leads/{MQL}/touches", json={"kind": "visit", "color": "red"}, headers={**admin, **JA}
    )

    body = problem(response, 422)
    assert body["title"] == "入力内容が不正です"
    assert body["detail"] == "3 件の項目が不正です"
    assert {e["field"]: e["message"] for e in body["errors"]} == {
        "body.kind": "次のいずれかで指定してください：'call', 'meeting' or 'email'",
        "body.outcome": "必須項目です",
        "body.color": "未知の項目です",
    }


def test_a_number_out_of_range_and_a_wrong_type_are_said_in_japanese(api: ApiHarness, admin: dict[str, str]) -> None:
    below = api.client.patch("/v1/reps/rep-tanaka", json={"capacity": -1}, headers={**admin, **JA})
    text = api.client.patch("/v1/reps/rep-tanaka", json={"capacity": "many"}, headers={**admin, **JA})

    assert problem(below, 422)["errors"] == [{"field": "body.capacity", "message": "0 以上で指定してください"}]
    assert problem(text, 422)["errors"] == [{"field": "body.capacity", "message": "整数で指定してください"}]


def test_the_same_invalid_fields_stay_in_english_without_japanese(filled: ApiHarness, admin: dict[str, str]) -> None:
    response = filled.client.post(f"/v1/leads/{MQL}/touches", json={"kind": "call"}, headers=admin)

    assert problem(response, 422)["errors"] == [{"field": "body.outcome", "message": "Field required"}]


@pytest.mark.parametrize(
    ("record", "field", "message"),
    [
        (
            {"email": "sato@", "type": "demo_requested", "occurred_at": "2026-11-25T11:50:00+09:00"},
            "email",
            "'sato@' はメールアドレスではありません",
        ),
        (
            {"type": "demo_requested", "occurred_at": "2026-11-25T11:50:00+09:00"},
            "email",
            "必須です（または external_id）",
        ),
        (
            {"email": "a@sakura-mfg.co.jp", "type": "demo_requested", "occurred_at": "2026-11-25T11:50:00"},
            "occurred_at",
            "'2026-11-25T11:50:00' にタイムゾーンがありません（+09:00 や Z などを付けてください）",
        ),
        (
            {"email": "a@sakura-mfg.co.jp", "type": "demo_requested", "occurred_at": "2026-11-26T12:00:00+09:00"},
            "occurred_at",
            "'2026-11-26T12:00:00+09:00' は未来の日時です（現在：2026-11-25T12:00:00+09:00）",
        ),
    ],
)
def test_a_rejected_record_is_said_in_japanese(
    api: ApiHarness, admin: dict[str, str], record: dict[str, Any], field: str, message: str
) -> None:
    response = api.client.post("/v1/activities", json=record, headers={**admin, **JA})

    body = problem(response, 422)
    assert body["detail"] == f"レコードが不正です：{field}：{message}"
    assert body["errors"] == [{"field": f"body.{field}", "message": message}]


def test_an_unknown_activity_type_lists_the_known_ones_in_japanese(api: ApiHarness, admin: dict[str, str]) -> None:
    record = {"email": "a@sakura-mfg.co.jp", "type": "fax_sent", "occurred_at": "2026-11-25T11:50:00+09:00"}
    response = api.client.post("/v1/activities", json=record, headers={**admin, **JA})

    [error] = problem(response, 422)["errors"]
    assert error["field"] == "body.type"
    assert error["message"].startswith("未知の活動タイプ 'fax_sent' です（使えるタイプ：")
    assert "demo_requested" in error["message"]


def test_an_unknown_lead_is_404_in_both_languages(api: ApiHarness, admin: dict[str, str]) -> None:
    japanese = api.client.get("/v1/leads/nobody@sakura-mfg.co.jp", headers={**admin, **JA})
    english = api.client.get("/v1/leads/nobody@sakura-mfg.co.jp", headers=admin)

    assert (
        problem(japanese, 404)["detail"] == "リード 'nobody@sakura-mfg.co.jp' は見つかりません（または閲覧できません）"
    )
    assert problem(english, 404)["detail"] == "no lead 'nobody@sakura-mfg.co.jp' (or not one you may see)"


def test_an_illegal_stage_move_is_409_in_japanese(filled: ApiHarness, admin: dict[str, str]) -> None:
    won = filled.client.post(f"/v1/leads/{MQL}/advance", json={"to": "won"}, headers={**admin, **JA})
    filled.client.post(f"/v1/leads/{MQL}/accept", headers=admin)
    accepted_again = filled.client.post(f"/v1/leads/{MQL}/accept", headers={**admin, **JA})
    in_english = filled.client.post(f"/v1/leads/{MQL}/accept", headers=admin)

    assert problem(won, 409)["detail"] == (
        f"{MQL}: ステージ 'mql' のリードには 'won' を適用できません（適用できるステージ：opportunity）"
    )
    assert problem(accepted_again, 409)["detail"] == (
        f"{MQL}: ステージ 'sal' のリードには 'accepted' を適用できません（適用できるステージ：mql, pre_sql）"
    )
    assert problem(in_english, 409)["detail"] == (
        f"{MQL}: cannot apply 'accepted' to a lead in stage 'sal' (allowed from: mql, pre_sql)"
    )


def test_an_unknown_reason_code_is_422_in_japanese_listing_the_codes(filled: ApiHarness, admin: dict[str, str]) -> None:
    response = filled.client.post(f"/v1/leads/{MQL}/reject", json={"reason": "nope"}, headers={**admin, **JA})

    said = (
        "理由コード 'nope' はありません（使える理由コード：not_ready, bad_timing, no_budget, no_authority, "
        "existing_contract, wrong_person, duplicate, competitor, other）"
    )
    body = problem(response, 422)
    assert body["detail"] == said
    assert body["errors"] == [{"field": "reason", "message": said}]


def test_too_many_form_posts_is_429_in_japanese(api: ApiHarness) -> None:
    headers = {"Origin": SITE, "Accept": "application/json", **JA}
    post = {"email": "k.sato@sakura-mfg.co.jp", "company": "さくら製作所"}
    first = api.client.post("/forms/contact", data=post, headers=headers)
    second = api.client.post("/forms/contact", data=post, headers=headers)

    assert first.status_code == 200
    body = problem(second, 429)
    assert body["title"] == "リクエストが多すぎます"
    assert body["detail"] == f"送信が多すぎます。{second.headers['retry-after']} 秒後に再度お試しください"


def test_a_reused_idempotency_key_is_422_in_japanese(api: ApiHarness, admin: dict[str, str]) -> None:
    headers = {**admin, **JA, "Idempotency-Key": "k-1"}
    record = {"email": "a@sakura-mfg.co.jp", "type": "page_view", "occurred_at": "2026-11-25T11:50:00+09:00"}
    api.client.post("/v1/activities", json=record, headers=headers)
    other = api.client.post("/v1/activities", json={**record, "email": "b@sakura-mfg.co.jp"}, headers=headers)

    said = "この Idempotency-Key は別の本文で使われています。新しいリクエストには新しいキーを送ってください"
    body = problem(other, 422)
    assert body["detail"] == said
    assert body["errors"] == [{"field": "header.Idempotency-Key", "message": said}]


def test_an_unusable_idempotency_key_is_422_in_japanese(api: ApiHarness, admin: dict[str, str]) -> None:
    record = {"email": "a@sakura-mfg.co.jp", "type": "page_view", "occurred_at": "2026-11-25T11:50:00+09:00"}
    response = api.client.post("/v1/activities", json=record, headers={**admin, **JA, "Idempotency-Key": "   "})

    assert problem(response, 422)["detail"] == "Idempotency-Key は 1〜255 文字で指定してください"
