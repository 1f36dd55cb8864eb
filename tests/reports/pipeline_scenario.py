"""A small hand-made pipeline for the dependency and campaigns reports: six people, three campaigns,
direct and nurtured opportunities over September–November 2026 (Asia/Tokyo), built through the
Python API step by step in time order, each step at its own ``now``.

Every moment is 10:00 JST on the day written. What happens (``[code]``: the activity's campaign):

- person1: 08-25 ad click [ads-search]; 09-03 (11:00) demo request [seminar-sep] → MQL; accepted 09-04,
  SQL 09-05, opportunity 09-10 (1,000,000 JPY). Direct.
- person2: 09-02 demo request [ads-search] → MQL; rejected 09-03 (bad timing: recycled);
  09-20 webinar registration [seminar-oct]; 10-01 demo request [seminar-oct] → MQL; accepted
  10-02, SQL 10-06, opportunity 10-13 (2,000,000, no currency). Nurture of 40 days.
- person3: 10-05 demo request [ads-search] → MQL; accepted 10-06, SQL 10-07, opportunity 10-20
  (no amount), won 10-30 (500,000 JPY). Direct; its amount is the won deal's.
- person4: 09-01 demo request [seminar-sep] → MQL; accepted 09-02, SQL 09-05, opportunity 09-08
  (300,000 JPY), lost 09-15 (recycled); 11-02 demo request [seminar-oct] → MQL; accepted 11-03,
  SQL 11-05, opportunity 11-10 (700,000 JPY). Direct, then a nurture of 56 days.
- person5: 08-19 demo request (no campaign) → MQL; rejected 08-20 (not ready: recycled);
  11-16 demo request [seminar-oct] → MQL; accepted 11-17, SQL 11-18, opportunity 11-20 (no
  amount). Nurture of 92 days.
- person6: 09-10 ad click [ads-search]; nothing more.

Campaigns: ads-search (kind acquisition), seminar-sep and seminar-oct (kind pipeline).
Every MQL is on a working day (a weekend MQL waits in the queue: no rep works). Routing is round
robin over reps a, b, c in the order of the MQLs: person5 (08-19) a, person4 b,
person2 c, person1 a, person2 again b, person3 c, person4 again a, person5 again b — so in the end
a owns person1 and person4, b person2 and person5, c person3.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable, Iterator
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from leadrelay import FakeClock, LeadRelay
from leadrelay.adapters.store.scratch import scratch_database
from tests.conftest import _server_or_skip
from tests.support.routing import playbook_file

JST = ZoneInfo("Asia/Tokyo")
AS_OF = datetime(2026, 12, 1, 9, 0, tzinfo=JST)
START, END = "2026-09-01", "2026-11-30"  # the period the tests report on
CAMPAIGNS = {
    "ads-search": {"code": "ads-search", "name": "Search ads", "channel": "ads", "kind": "acquisition"},
    "seminar-sep": {"code": "seminar-sep", "name": "September seminar", "channel": "seminar", "kind": "pipeline"},
    "seminar-oct": {"code": "seminar-oct", "name": "October seminar", "channel": "seminar", "kind": "pipeline"},
}
LEAD_PROFILE = {
    "title": "情報システム部 部長",
    "seniority": "manager",
    "country": "JP",
    "prefecture": "東京都",
    "company": {"name": "さくら製作所", "industry": "manufacturing", "employees": 800},
}


def at(month: int, day: int) -> datetime:
    return datetime.combine(datetime(2026, month, day).date(), time(10, 0), JST)


def email(n: int) -> str:
    return f"person{n}@sakura-mfg.co.jp"


def activity(n: int, kind: str, when: datetime, campaign: str | None, tag: str) -> dict[str, Any]:
    record: dict[str, Any] = {
        "email": email(n),
        "type": kind,
        "occurred_at": when.isoformat(),
        "source_id": f"p{n}-{tag}",
        "lead": LEAD_PROFILE,
    }
    if campaign is not None:
        record["campaign"] = CAMPAIGNS[campaign]
    return record


def steps() -> list[tuple[datetime, Callable[[LeadRelay, datetime], Any]]]:
    """The scenario's steps: (when, what), to be run in time order."""

    def act(n: int, kind: str, campaign: str | None, tag: str) -> Callable[[LeadRelay, datetime], Any]:
        return lambda relay, when: relay.record_activities(
            [activity(n, kind, when, campaign, tag)], now=when + timedelta(minutes=1)
        )

    def accept(n: int) -> Callable[[LeadRelay, datetime], Any]:
        return lambda relay, when: relay.accept(email(n), actor="rep", now=when)

    def reject(n: int, code: str) -> Callable[[LeadRelay, datetime], Any]:
        return lambda relay, when: relay.reject(email(n), code, actor="rep", now=when)

    def advance(n: int, to: str, amount: str | None = None, currency: str | None = None) -> Callable[..., Any]:
        return lambda relay, when: relay.advance(email(n), to, amount=amount, currency=currency, actor="rep", now=when)

    plan = [
        (at(8, 19), act(5, "demo_requested", None, "demo1")),
        (at(8, 20), reject(5, "not_ready")),
        (at(8, 25), act(1, "ad_clicked", "ads-search", "ad")),
        (at(9, 1), act(4, "demo_requested", "seminar-sep", "demo1")),
        (at(9, 2), accept(4)),
        (at(9, 2) + timedelta(hours=1), act(2, "demo_requested", "ads-search", "demo1")),
        (at(9, 3), reject(2, "bad_timing")),
        (at(9, 3) + timedelta(hours=1), act(1, "demo_requested", "seminar-sep", "demo")),
        (at(9, 4), accept(1)),
        (at(9, 5), advance(1, "sql")),
        (at(9, 5) + timedelta(hours=1), advance(4, "sql")),
        (at(9, 8), advance(4, "opportunity", "300000", "JPY")),
        (at(9, 10), advance(1, "opportunity", "1000000", "JPY")),
        (at(9, 10) + timedelta(hours=1), act(6, "ad_clicked", "ads-search", "ad")),
        (at(9, 15), advance(4, "lost")),
        (at(9, 20), act(2, "webinar_registered", "seminar-oct", "webinar")),
        (at(10, 1), act(2, "demo_requested", "seminar-oct", "demo2")),
        (at(10, 2), accept(2)),
        (at(10, 5), act(3, "demo_requested", "ads-search", "demo")),
        (at(10, 6), advance(2, "sql")),
        (at(10, 6) + timedelta(hours=1), accept(3)),
        (at(10, 7), advance(3, "sql")),
        (at(10, 13), advance(2, "opportunity", "2000000")),
        (at(10, 20), advance(3, "opportunity")),
        (at(10, 30), advance(3, "won", "500000", "JPY")),
        (at(11, 2), act(4, "demo_requested", "seminar-oct", "demo2")),
        (at(11, 3), accept(4)),
        (at(11, 5), advance(4, "sql")),
        (at(11, 10), advance(4, "opportunity", "700000", "JPY")),
        (at(11, 16), act(5, "demo_requested", "seminar-oct", "demo2")),
        (at(11, 17), accept(5)),
        (at(11, 18), advance(5, "sql")),
        (at(11, 20), advance(5, "opportunity")),
    ]
    return sorted(plan, key=lambda step: step[0])


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def relay(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_template: Path,
    postgres_template: str | None,
) -> Iterator[LeadRelay]:
    """The scenario, played once per test module on a fresh database of each kind (the reports only
    read it)."""
    folder = tmp_path_factory.mktemp("scenario")
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            shutil.copyfile(sqlite_template, folder / "leadrelay.db")
            url = f"sqlite:///{folder / 'leadrelay.db'}"
        else:
            url = stack.enter_context(
                scratch_database(_server_or_skip(), prefix="leadrelay_test", template=postgres_template)
            )
        instance = stack.enter_context(LeadRelay.open(url, clock=FakeClock(AS_OF)))
        instance.use_playbook(playbook_file(folder))
        for when, step in steps():
            step(instance, when)
        yield instance
