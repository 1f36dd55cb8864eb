"""The cumulative business-time index (leadrelay.bulk.business_time): worked examples counted by
hand, and the same answers as the calendar's own ``elapsed`` over random moments."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from leadrelay.bulk.business_time import BusinessIndex
from leadrelay.domain.calendar import BusinessCalendar
from tests.support.calendars import CALENDARS, JP_LUNCH, JP_OFFICE, tokyo

H = 3600.0


def seconds(*moments: datetime) -> np.ndarray:
    return np.array([m.timestamp() for m in moments], dtype=np.float64)


def test_business_hours_of_a_column_of_pairs_counted_by_hand() -> None:
    index = BusinessIndex.build(JP_OFFICE, date(2026, 10, 25), date(2026, 11, 30))
    starts = seconds(
        tokyo(2026, 11, 6, 17),  # Friday 17:00 ...
        tokyo(2026, 11, 2, 17),  # Monday 17:00, across Culture Day (Tuesday 11-03) ...
        tokyo(2026, 11, 7, 10),  # Saturday ...
        tokyo(2026, 11, 9, 10),
    )
    ends = seconds(
        tokyo(2026, 11, 9, 10),  # ... to Monday 10:00: 1 h + 1 h
        tokyo(2026, 11, 4, 11),  # ... to Wednesday 11:00: 1 h + 0 + 2 h
        tokyo(2026, 11, 8, 12),  # ... to Sunday: nothing
        tokyo(2026, 11, 9, 8),  # before the start: negative
    )
    assert (index.elapsed(starts, ends) / H).tolist() == [2.0, 3.0, 0.0, -1.0]
    lunch = BusinessIndex.build(JP_LUNCH, date(2026, 11, 1), date(2026, 11, 30))
    assert (lunch.elapsed(seconds(tokyo(2026, 11, 9, 11)), seconds(tokyo(2026, 11, 9, 14))) / H).tolist() == [2.0]
    assert np.isnan(index.elapsed(np.array([np.nan]), seconds(tokyo(2026, 11, 9, 8)))).all()


moments = st.datetimes(min_value=datetime(2026, 1, 5), max_value=datetime(2026, 12, 20))


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(CALENDARS), st.lists(st.tuples(moments, moments), min_size=1, max_size=20))
def test_the_index_agrees_with_the_calendars_elapsed(
    calendar: BusinessCalendar, pairs: list[tuple[datetime, datetime]]
) -> None:
    aware = [(a.replace(tzinfo=calendar.timezone), b.replace(tzinfo=calendar.timezone)) for a, b in pairs]
    index = BusinessIndex.build(calendar, date(2026, 1, 1), date(2026, 12, 31))
    got = index.elapsed(seconds(*[a for a, _ in aware]), seconds(*[b for _, b in aware]))
    expected = [calendar.elapsed(a, b) / timedelta(seconds=1) for a, b in aware]
    assert np.allclose(got, expected, atol=1e-6)
