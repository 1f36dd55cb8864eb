"""A page of leads by filters, newest change first, with a cursor (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from leadrelay import FakeClock, LeadRelay
from leadrelay.adapters.records import InputError
from leadrelay.services.lead_list import LeadFilters, Visibility
from tests.conftest import NOW
from tests.support.leads import KAEDE, NEWEST_FIRST, OF_REP, SAKURA, SMITH, YAMADA, fill


@pytest.fixture
def relay(db_url: str, tmp_path: Path) -> Iterator[LeadRelay]:
    with LeadRelay.open(db_url, clock=FakeClock(NOW + timedelta(hours=1))) as instance:
        fill(instance, tmp_path)
        yield instance


def keys(relay: LeadRelay, filters: LeadFilters | None = None, **options: object) -> list[str]:
    return [item.lead for item in relay.leads(filters, **options).leads]  # type: ignore[arg-type]


def test_every_lead_comes_newest_change_first(relay: LeadRelay) -> None:
    page = relay.leads()
    assert [item.lead for item in page.leads] == NEWEST_FIRST
    assert page.next_cursor is None
    first = page.leads[0]
    assert (first.name, first.company, first.account_domain, first.stage, first.owner_rep) == (
        "Smith John",
        "Maple Works Inc.",
        "maple-works.com",
        "new",
        None,
    )
    assert first.updated_at.isoformat() == "2026-11-25T12:05:00+09:00"


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (LeadFilters(stages=("mql",)), [KAEDE, *SAKURA]),
        (LeadFilters(stages=("new", "sal")), [SMITH, YAMADA]),
        (LeadFilters(owner="a"), [KAEDE, SAKURA[2]]),
        (LeadFilters(department="inside"), [KAEDE, *SAKURA]),
        (LeadFilters(domain="Sakura-MFG.co.jp"), SAKURA),
        (LeadFilters(total_min=80), [KAEDE, *SAKURA]),
        (LeadFilters(total_max=0), [SMITH, YAMADA]),
        (LeadFilters(fit_min=45, fit_max=45), [KAEDE, *SAKURA]),
        (LeadFilters(engagement_min=40), []),
        (LeadFilters(updated_since=NOW + timedelta(minutes=3)), [SMITH, YAMADA, KAEDE]),
        (LeadFilters(q="山田"), [YAMADA]),
        (LeadFilters(q="山田 太郎"), [YAMADA]),
        (LeadFilters(q="もみじ商事"), [YAMADA]),
        (LeadFilters(q="さくら製作所"), SAKURA),
        (LeadFilters(q="かえで"), [KAEDE]),
        (LeadFilters(q="SMITH"), [SMITH]),
        (LeadFilters(q="john smith"), [SMITH]),
        (LeadFilters(q="maple works"), [SMITH]),
        (LeadFilters(q="person2@"), [SAKURA[1]]),
        (LeadFilters(q="%"), []),  # a pattern character is only itself
        (LeadFilters(q="_"), []),
        (LeadFilters(level=4), []),
        (LeadFilters(stages=("mql",), owner="a", q="kaede"), [KAEDE]),
    ],
    ids=lambda v: repr(v) if isinstance(v, LeadFilters) else None,
)
def test_each_filter_keeps_the_leads_it_names(relay: LeadRelay, filters: LeadFilters, expected: list[str]) -> None:
    assert keys(relay, filters) == expected


def test_a_walk_over_the_pages_returns_every_lead_once(relay: LeadRelay) -> None:
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = relay.leads(limit=2, cursor=cursor)
        seen.extend(item.lead for item in page.leads)
        pages += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert pages == 3
    assert seen == NEWEST_FIRST


def test_a_lead_that_changes_during_a_walk_is_not_returned_twice(relay: LeadRelay) -> None:
    first = relay.leads(limit=3)
    assert [item.lead for item in first.leads] == NEWEST_FIRST[:3]
    relay.note(SMITH, "called back", actor="a@example.co.jp")  # SMITH changes: to the front, before the cursor
    rest = relay.leads(limit=3, cursor=first.next_cursor)
    assert [item.lead for item in rest.leads] == SAKURA
    assert rest.next_cursor is None


def test_a_rep_sees_only_their_own_leads_and_a_manager_their_departments(relay: LeadRelay) -> None:
    for rep, theirs in OF_REP.items():
        assert keys(relay, visibility=Visibility(rep=rep)) == theirs
    assert keys(relay, visibility=Visibility(departments=("inside",))) == [KAEDE, *SAKURA]
    assert keys(relay, visibility=Visibility(departments=("marketing",))) == []
    assert keys(relay, visibility=Visibility()) == []  # a rep user without a rep id sees nothing
    # filters narrow what one may see, never widen it
    assert keys(relay, LeadFilters(owner="b"), visibility=Visibility(rep="a")) == []


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": "WzEsMl0"}, "cursor"),  # base64 of [1,2]: not ours
        ({"filters": LeadFilters(stages=("qualified",))}, "stage"),
        ({"filters": LeadFilters(total_min=50, total_max=10)}, "total_min"),
    ],
)
def test_bad_paging_and_filters_name_the_field(relay: LeadRelay, options: dict[str, object], field: str) -> None:
    with pytest.raises(InputError) as caught:
        relay.leads(**options)  # type: ignore[arg-type]
    assert caught.value.field == field
