"""POST /forms/{form_id}: a landing page's form, from a browser on another site."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from leadrelay.adapters.store.tables import metadata
from tests.support.http import ApiHarness, make_harness

SITE = "https://www.example.co.jp"
THANKS = "https://www.example.co.jp/contact/thanks"
POST = {
    "email": "k.sato@sakura-mfg.co.jp",
    "name": "佐藤 健太",
    "company": "さくら製作所",
    "phone": "06-6123-4567",
    "title": "情報システム部 部長",
    "position": "manager",
    "department": "it",
    "wants_contact": "on",
    "website": "",
}


def rows_everywhere(api: ApiHarness) -> dict[str, int]:
    with api.relay.store.reading() as tx:
        return {
            table.name: int(tx.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
            for table in metadata.sorted_tables
        }


def test_a_browser_post_is_stored_and_redirected_to_the_thank_you_page(api: ApiHarness) -> None:
    response = api.client.post("/forms/contact", data=POST, headers={"Origin": SITE}, follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == THANKS
    assert response.headers["access-control-allow-origin"] == SITE
    report = api.relay.lead("k.sato@sakura-mfg.co.jp")
    assert (report.profile.last_name, report.profile.first_name) == ("佐藤", "健太")
    assert report.profile.company_name == "さくら製作所"
    assert report.profile.title == "情報システム部 部長"
    # the checked box made it a hand-raise: handed to sales within the request
    assert report.stage == "mql"
    assert report.owner.rep is not None


def test_a_multipart_post_from_fetch_gets_json_without_anything_about_the_lead(api: ApiHarness) -> None:
    fields = {k: (None, v) for k, v in {**POST, "wants_contact": ""}.items()}

    response = api.client.post("/forms/contact", files=fields, headers={"Origin": SITE, "Accept": "application/json"})

    assert response.status_code == 200
    assert response.json() == {"status": "accepted", "form": "contact", "thank_you_url": THANKS}
    assert api.relay.lead("k.sato@sakura-mfg.co.jp").stage == "nurture"  # no box checked: no hand-raise


def test_a_preflight_is_answered_only_for_an_allowed_origin(api: ApiHarness) -> None:
    ask = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}

    allowed = api.client.options("/forms/contact", headers={**ask, "Origin": SITE})
    denied = api.client.options("/forms/contact", headers={**ask, "Origin": "https://evil.example.net"})

    assert allowed.status_code == 204
    assert allowed.headers["access-control-allow-origin"] == SITE
    assert "POST" in allowed.headers["access-control-allow-methods"]
    assert denied.status_code == 403
    assert "access-control-allow-origin" not in denied.headers


def test_a_post_from_a_page_of_another_origin_is_refused_and_stores_nothing(api: ApiHarness) -> None:
    before = rows_everywhere(api)

    response = api.client.post("/forms/contact", data=POST, headers={"Origin": "https://evil.example.net"})

    assert response.status_code == 403
    assert "access-control-allow-origin" not in response.headers
    assert rows_everywhere(api) == before


def test_a_filled_honeypot_is_answered_as_accepted_and_stores_nothing(api: ApiHarness) -> None:
    before = rows_everywhere(api)

    response = api.client.post(
        "/forms/contact",
        data={**POST, "website": "http://spam.example"},
        headers={"Origin": SITE},
        follow_redirects=False,
    )

    assert response.status_code == 303
    assert response.headers["location"] == THANKS
    assert rows_everywhere(api) == before


def test_a_bad_address_is_a_422_naming_the_posted_field_and_a_small_page_for_a_browser(api: ApiHarness) -> None:
    as_json = api.client.post("/forms/contact", data={**POST, "email": "sato@"}, headers={"Accept": "application/json"})
    as_page = api.client.post(
        "/forms/contact", data={**POST, "email": "sato@"}, headers={"Accept": "text/html", "Accept-Language": "ja"}
    )

    assert as_json.status_code == 422
    assert as_json.json()["errors"][0]["field"] == "email"
    assert as_page.status_code == 422
    assert as_page.headers["content-type"].startswith("text/html")
    assert "フォームを送信できませんでした" in as_page.text
    assert "Traceback" not in as_page.text


def test_malformed_posts_are_4xx_never_500(api: ApiHarness) -> None:
    broken = api.client.post(
        "/forms/contact",
        content=b"--xyz\r\nContent-Disposition: form-data\r\n\r\nno name\r\n--xyz--\r\n",
        headers={"Content-Type": "multipart/form-data; boundary=xyz", "Accept": "application/json"},
    )
    wrong_type = api.client.post("/forms/contact", json=POST, headers={"Accept": "application/json"})
    unknown = api.client.post("/forms/newsletter", data=POST, headers={"Accept": "application/json"})
    too_big = api.client.post(
        "/forms/contact", data={**POST, "title": "x" * 70_000}, headers={"Accept": "application/json"}
    )

    assert broken.status_code == 400
    assert broken.json()["detail"] == 'The Content-Disposition header field "name" must be provided.'
    assert wrong_type.status_code == 415
    assert unknown.status_code == 404
    assert too_big.status_code == 413


@pytest.fixture
def strict(db_url: str) -> Iterator[ApiHarness]:
    with make_harness(db_url, form_rate_per_minute=1.0, form_burst=2) as harness:
        yield harness


def test_an_address_posting_too_often_gets_429_with_retry_after(strict: ApiHarness) -> None:
    headers = {"Origin": SITE, "Accept": "application/json"}
    answers = [strict.client.post("/forms/contact", data=POST, headers=headers) for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 429]
    assert int(answers[2].headers["retry-after"]) >= 1
    assert answers[2].headers["access-control-allow-origin"] == SITE  # the page can read the refusal
