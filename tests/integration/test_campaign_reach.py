"""The campaign reach summary (``summary_campaign_reach``): the distinct leads a campaign reached on
any run of local days, as the campaigns report counts them, equal to a count of the activities —
for activities in and out of order, resent ones, the days at a Tokyo midnight, a playbook with
another time zone and the migration that adds it (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from leadrelay import FakeClock, LeadRelay
from leadrelay.adapters.store import campaign_reach
from leadrelay.adapters.store.schema import alembic_config
from leadrelay.services.report_campaigns import CampaignsReport
from tests.conftest import NOW

ADS = "ads-search"
SEMINAR = "seminar-nov"


@pytest.fixture
def relay(db_url: str) -> Iterator[LeadRelay]:
    with LeadRelay.open(db_url, clock=FakeClock(NOW)) as instance:
        yield instance


def opened(n: int, at: datetime, campaign: str, key: str) -> dict[str, Any]:
    """Person ``n`` opened an e-mail of ``campaign`` at ``at``."""
    return {
        "email": f"person{n}@sakura-mfg.co.jp",
        "type": "email_opened",
        "occurred_at": at.isoformat(),
        "campaign": campaign,
        "source_id": key,
    }


def utc(year: int, month: int, day: int, hour: int, minute: int, second: int) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


#: Person 1: ads at 23:59:59 on 1 November in Tokyo (14:59:59 UTC) and at 00:00 on 2 November,
#: again on 20 November; the seminar on 2 November. Person 2: ads on 10 November. Person 3: the
#: seminar twice on 25 November.
ACTIVITIES = [
    opened(1, utc(2026, 11, 1, 14, 59, 59), ADS, "a1"),
    opened(1, utc(2026, 11, 1, 15, 0, 0), ADS, "a2"),
    opened(1, utc(2026, 11, 20, 1, 0, 0), ADS, "a3"),
    opened(1, utc(2026, 11, 2, 3, 0, 0), SEMINAR, "s1"),
    opened(2, utc(2026, 11, 10, 5, 0, 0), ADS, "a4"),
    opened(3, utc(2026, 11, 25, 0, 30, 0), SEMINAR, "s2"),
    opened(3, utc(2026, 11, 25, 2, 0, 0), SEMINAR, "s3"),
]

#: Distinct leads per campaign on the Tokyo days (first, last), counted by hand from ACTIVITIES.
EXPECTED = {
    (date(2026, 11, 1), date(2026, 11, 1)): {ADS: 1},
    (date(2026, 11, 2), date(2026, 11, 2)): {ADS: 1, SEMINAR: 1},
    (date(2026, 11, 1), date(2026, 11, 30)): {ADS: 2, SEMINAR: 2},
    (date(2026, 11, 3), date(2026, 11, 19)): {ADS: 1},
    (date(2026, 11, 3), date(2026, 11, 20)): {ADS: 2},
    (date(2026, 11, 21), date(2026, 11, 24)): {},
    (date(2026, 11, 25), date(2026, 11, 25)): {SEMINAR: 1},
}


def reached(relay: LeadRelay, first: date, last: date) -> dict[str, int]:
    """The campaigns report's leads per campaign code on the days ``first..last``."""
    report = relay.report("campaigns", start=first, end=last, now=NOW)
    assert isinstance(report, CampaignsReport)
    return {r.code: r.leads for r in report.campaigns if r.leads}


def summed(relay: LeadRelay, first: date, last: date) -> dict[str, int]:
    """The summary's range sum alone, by campaign code."""
    with relay.store.reading() as tx:
        codes: dict[int, str] = {row.id: row.code for row in tx.execute(sa.text("SELECT id, code FROM campaigns"))}
        return {codes[c]: n for c, n in campaign_reach.reached(tx, first, last).items()}


def assert_recounted(relay: LeadRelay) -> None:
    with relay.store.reading() as tx:
        assert campaign_reach.stored(tx.connection) == campaign_reach.recount(tx.connection)


def test_the_leads_a_campaign_reached_on_any_days_are_one_range_of_the_summary(relay: LeadRelay) -> None:
    relay.record_activities(ACTIVITIES)
    assert_recounted(relay)
    for (first, last), expected in EXPECTED.items():
        assert summed(relay, first, last) == expected, (first, last)
        assert reached(relay, first, last) == expected, (first, last)


def test_activities_out_of_order_one_at_a_time_and_resent_give_the_same_rows(relay: LeadRelay) -> None:
    for activity in reversed(ACTIVITIES):  # each in its own batch, the latest first
        relay.record_activities([activity])
        assert_recounted(relay)
    relay.record_activities(ACTIVITIES[:3])  # resent: stored already, nothing changes
    assert_recounted(relay)
    for (first, last), expected in EXPECTED.items():
        assert summed(relay, first, last) == expected, (first, last)


def test_a_playbook_in_another_time_zone_counts_its_own_days(relay: LeadRelay, tmp_path: Path) -> None:
    relay.record_activities(ACTIVITIES)
    text = relay.playbook().text.replace("timezone: Asia/Tokyo", "timezone: UTC", 1)
    path = tmp_path / "utc.yaml"
    path.write_text(text, encoding="utf-8")
    relay.use_playbook(path)
    with relay.store.reading() as tx:
        assert campaign_reach.recorded_zone(tx) == "UTC"
    assert_recounted(relay)
    # in UTC both of person 1's first two ads activities fall on 1 November
    assert summed(relay, date(2026, 11, 2), date(2026, 11, 2)) == {SEMINAR: 1}
    assert reached(relay, date(2026, 11, 1), date(2026, 11, 1)) == {ADS: 1}
    relay.record_activities([opened(4, utc(2026, 11, 2, 23, 0, 0), ADS, "a5")])
    assert_recounted(relay)
    assert relay.check_summaries().equal


def test_a_zone_recorded_apart_from_the_playbook_s_makes_the_report_count_the_activities(relay: LeadRelay) -> None:
    relay.record_activities(ACTIVITIES)
    with relay.store.transaction() as tx:  # as if the playbook's zone changed without leadrelay
        tx.set_summary_campaign_zone("UTC")
        campaign_reach.rebuild(tx, "UTC")
    for (first, last), expected in EXPECTED.items():
        assert reached(relay, first, last) == expected, (first, last)
    status = relay.check_summaries()
    assert (status.equal, status.zone, status.playbook_zone) == (False, "UTC", "Asia/Tokyo")
    assert relay.check_summaries(rebuild=True).equal


def test_the_migration_fills_the_summary_from_the_activities_already_stored(relay: LeadRelay) -> None:
    relay.record_activities(ACTIVITIES)
    with relay.store.reading() as tx:
        before = campaign_reach.stored(tx.connection)
    assert before
    with relay.store.engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0026")
    with relay.store.engine.connect() as connection:
        assert "summary_campaign_reach" not in sa.inspect(connection).get_table_names()
    with relay.store.engine.begin() as connection:
        command.upgrade(alembic_config(connection), "head")
    with relay.store.reading() as tx:
        assert campaign_reach.recorded_zone(tx) == "Asia/Tokyo"
        assert campaign_reach.stored(tx.connection) == before
