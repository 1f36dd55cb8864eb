"""Business-time arithmetic: worked examples a Japanese office worker would count the same way,
clock changes in New York, and properties over random moments and durations."""

from __future__ import annotations

import time as wall
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadrelay.adapters.calendars import UnknownRegion, country_holidays
from leadrelay.domain.calendar import BusinessCalendar, CalendarError, Closure, MonthDay, Span
from tests.support.calendars import (
    CALENDARS,
    JP_LUNCH,
    JP_OFFICE,
    NY_ALWAYS,
    NY_OFFICE,
    TOKYO,
    H,
    new_york,
    tokyo,
)

# --- worked examples (Tokyo, 9:00–18:00 = 9 business hours a day) ----------------------------


def test_friday_1730_plus_48_business_hours_is_the_second_monday_1130() -> None:
    # Fri 10-16: 0.5 h; Mon 19 – Fri 23: 5 × 9 = 45 h (45.5); Mon 10-26 09:00 + 2.5 h = 11:30
    start = tokyo(2026, 10, 16, 17, 30)
    assert JP_OFFICE.add(start, 48 * H) == tokyo(2026, 10, 26, 11, 30)
    assert JP_OFFICE.elapsed(start, tokyo(2026, 10, 26, 11, 30)) == 48 * H


def test_48_business_hours_skip_labor_thanksgiving_day_and_land_on_tuesday_1130() -> None:
    # Fri 11-20 17:30: 0.5 h; Mon 11-23 勤労感謝の日 closed; Tue 24 – Mon 30: 5 × 9 (45.5); Tue 12-01 11:30
    assert JP_OFFICE.add(tokyo(2026, 11, 20, 17, 30), 48 * H) == tokyo(2026, 12, 1, 11, 30)


def test_the_year_end_break_closes_12_29_to_01_03_so_monday_1700_plus_16_hours_is_january_5_1500() -> None:
    # Mon 12-28 17:00: 1 h; 12-29 … 01-03 closed (年末年始); Mon 01-04: 9 h (10); Tue 01-05 09:00 + 6 h
    start = tokyo(2026, 12, 28, 17, 0)
    assert JP_OFFICE.add(start, 16 * H) == tokyo(2027, 1, 5, 15, 0)
    assert JP_OFFICE.elapsed(start, tokyo(2027, 1, 4, 9, 0)) == 1 * H
    assert not any(JP_OFFICE.is_business_day(date(2026, 12, 29) + timedelta(days=n)) for n in range(6))


def test_48_business_hours_from_christmas_friday_1730_end_on_friday_january_8_1130() -> None:
    # Fri 12-25: 0.5 h; Mon 12-28: 9 h (9.5); closed to 01-03; Mon 01-04 – Thu 01-07: 36 h (45.5); Fri 01-08 11:30
    assert JP_OFFICE.add(tokyo(2026, 12, 25, 17, 30), 48 * H) == tokyo(2027, 1, 8, 11, 30)


def test_golden_week_2027_leaves_only_friday_april_30_open_between_the_holidays() -> None:
    # Wed 04-28 17:30: 0.5 h; Thu 04-29 昭和の日; Fri 04-30: 9 h (9.5); 05-01 … 05-05 closed; Thu 05-06 17:30
    assert JP_OFFICE.add(tokyo(2027, 4, 28, 17, 30), 18 * H) == tokyo(2027, 5, 6, 17, 30)
    # Fri 04-30 17:30 + 48 h: 0.5 h; Thu 05-06 – Wed 05-12: 5 × 9 (45.5); Thu 05-13 11:30
    assert JP_OFFICE.add(tokyo(2027, 4, 30, 17, 30), 48 * H) == tokyo(2027, 5, 13, 11, 30)


def test_silver_week_2026_closes_monday_to_wednesday_so_48_hours_from_friday_end_on_october_1_1130() -> None:
    # 09-21 敬老の日, 09-22 国民の休日, 09-23 秋分の日; Fri 09-18 17:30: 0.5 h; Thu 24 – Wed 30: 45 h; Thu 10-01 11:30
    assert [JP_OFFICE.is_business_day(date(2026, 9, d)) for d in range(21, 25)] == [False, False, False, True]
    assert JP_OFFICE.add(tokyo(2026, 9, 18, 17, 30), 48 * H) == tokyo(2026, 10, 1, 11, 30)


def test_a_substitute_holiday_is_closed_may_6_2026_and_march_22_2027() -> None:
    # 2026-05-03 (Sun) 憲法記念日 → Wed 05-06 振替休日: Fri 05-01 17:30 + 9 h = Thu 05-07 17:30
    assert not JP_OFFICE.is_business_day(date(2026, 5, 6))
    assert JP_OFFICE.add(tokyo(2026, 5, 1, 17, 30), 9 * H) == tokyo(2026, 5, 7, 17, 30)
    # 2027-03-21 (Sun) 春分の日 → Mon 03-22 振替休日: Fri 03-19 17:30 + 9 h = Tue 03-23 17:30
    assert JP_OFFICE.add(tokyo(2027, 3, 19, 17, 30), 9 * H) == tokyo(2027, 3, 23, 17, 30)


def test_a_day_used_up_exactly_ends_at_1800_that_day_not_at_0900_the_next() -> None:
    assert JP_OFFICE.add(tokyo(2026, 11, 24, 9, 0), 9 * H) == tokyo(2026, 11, 24, 18, 0)
    assert not JP_OFFICE.is_open(tokyo(2026, 11, 24, 18, 0))
    assert JP_OFFICE.is_open(tokyo(2026, 11, 24, 9, 0))


def test_a_start_outside_hours_counts_from_the_next_opening() -> None:
    assert JP_OFFICE.add(tokyo(2026, 11, 27, 20, 0), 1 * H) == tokyo(2026, 11, 30, 10, 0)  # Fri evening → Mon
    assert JP_OFFICE.add(tokyo(2026, 11, 28, 11, 0), 30 * timedelta(minutes=1)) == tokyo(2026, 11, 30, 9, 30)
    assert JP_OFFICE.add(tokyo(2026, 11, 27, 20, 0), timedelta(0)) == tokyo(2026, 11, 27, 20, 0)
    assert JP_OFFICE.next_open(tokyo(2026, 11, 27, 20, 0)) == tokyo(2026, 11, 30, 9, 0)
    assert JP_OFFICE.next_open(tokyo(2026, 11, 27, 10, 15)) == tokyo(2026, 11, 27, 10, 15)


def test_the_lunch_break_is_not_business_time() -> None:
    assert JP_LUNCH.add(tokyo(2026, 11, 24, 11, 30), 1 * H) == tokyo(2026, 11, 24, 13, 30)
    assert JP_LUNCH.elapsed(tokyo(2026, 11, 24, 9, 0), tokyo(2026, 11, 24, 18, 0)) == 8 * H
    assert not JP_LUNCH.is_open(tokyo(2026, 11, 24, 12, 30))
    assert JP_LUNCH.next_open(tokyo(2026, 11, 24, 12, 0)) == tokyo(2026, 11, 24, 13, 0)


def test_obon_closure_and_a_closed_date_add_up_to_a_closed_week() -> None:
    # 08-11 山の日 (Tue), 08-12 closed date, 08-13 … 08-15 お盆: Mon 08-10 17:00 + 2 h = Mon 08-17 10:00
    assert JP_LUNCH.add(tokyo(2026, 8, 10, 17, 0), 2 * H) == tokyo(2026, 8, 17, 10, 0)


def test_elapsed_is_zero_inside_one_closed_stretch_and_negative_backwards() -> None:
    friday_evening, monday_early = tokyo(2026, 11, 27, 19, 0), tokyo(2026, 11, 30, 8, 0)
    assert JP_OFFICE.elapsed(friday_evening, monday_early) == timedelta(0)
    a, b = tokyo(2026, 11, 27, 17, 0), tokyo(2026, 11, 30, 10, 0)
    assert JP_OFFICE.elapsed(a, b) == 2 * H
    assert JP_OFFICE.elapsed(b, a) == -2 * H


def test_other_time_zones_are_read_in_the_calendars_zone() -> None:
    # 08:30 UTC on a Friday is 17:30 in Tokyo
    start = datetime(2026, 10, 16, 8, 30, tzinfo=ZoneInfo("UTC"))
    result = JP_OFFICE.add(start, 48 * H)
    assert result == tokyo(2026, 10, 26, 11, 30)
    assert result.tzinfo == TOKYO


# --- clock changes (America/New_York) -----------------------------------------------------


def test_spring_forward_weekend_keeps_an_eight_hour_day_in_new_york() -> None:
    # Fri 03-06 16:00 EST: 1 h; clocks go forward Sun 03-08; Mon 03-09 08:00 EDT + 3 h = 11:00 EDT
    result = NY_OFFICE.add(new_york(2026, 3, 6, 16, 0), 4 * H)
    assert result == new_york(2026, 3, 9, 11, 0)
    assert result.utcoffset() == timedelta(hours=-4)
    assert NY_OFFICE.elapsed(new_york(2026, 3, 9, 0, 0), new_york(2026, 3, 10, 0, 0)) == 8 * H


def test_a_round_the_clock_day_is_23_hours_in_march_and_25_in_november() -> None:
    assert NY_ALWAYS.elapsed(new_york(2026, 3, 8), new_york(2026, 3, 9)) == 23 * H
    assert NY_ALWAYS.elapsed(new_york(2026, 11, 1), new_york(2026, 11, 2)) == 25 * H
    assert NY_ALWAYS.add(new_york(2026, 3, 8, 0, 0), 3 * H) == new_york(2026, 3, 8, 4, 0)  # 02:00–03:00 never was


def test_us_holidays_close_the_new_york_office() -> None:
    assert not NY_OFFICE.is_business_day(date(2026, 11, 26))  # Thanksgiving
    assert NY_OFFICE.add(new_york(2026, 11, 25, 16, 0), 2 * H) == new_york(2026, 11, 27, 9, 0)


# --- refusals and limits -------------------------------------------------------------------


def test_naive_datetimes_and_negative_durations_are_refused() -> None:
    naive = datetime(2026, 11, 24, 10, 0)
    with pytest.raises(ValueError, match="timezone-aware"):
        JP_OFFICE.add(naive, H)
    with pytest.raises(ValueError, match="timezone-aware"):
        JP_OFFICE.elapsed(tokyo(2026, 11, 24, 10, 0), naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        JP_OFFICE.is_open(naive)
    with pytest.raises(ValueError, match="negative"):
        JP_OFFICE.add(tokyo(2026, 11, 24, 10, 0), -H)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("18:00-09:00", "ends before it starts"),
        ("09:00", "not a span"),
        ("9-18", "not HH:MM"),
        ("09:00-25:00", "not a time of day"),
        ("09:60-10:00", "not a time of day"),
    ],
)
def test_bad_spans_are_refused(text: str, message: str) -> None:
    with pytest.raises(CalendarError, match=message):
        Span.parse(text)


def test_spans_parse_and_24_00_ends_at_midnight() -> None:
    assert Span.parse("09:00-18:00") == Span(time(9), time(18))
    assert Span.parse(" 9:30 – 24:00 ") == Span(time(9, 30), time(0))
    assert Span.parse("00:00-24:00").minutes() == (0, 1440)


def test_overlapping_spans_and_bad_month_days_are_refused() -> None:
    with pytest.raises(CalendarError, match="overlap"):
        BusinessCalendar("x", TOKYO, spans=(Span(time(9), time(13)), Span(time(12), time(18))))
    with pytest.raises(CalendarError, match="not a day of the year"):
        MonthDay.parse("02-30")
    assert MonthDay.parse("02-29") == MonthDay(2, 29)
    with pytest.raises(CalendarError, match="not a month-day"):
        MonthDay.parse("December 29")


def test_a_calendar_closed_all_year_raises_instead_of_looping() -> None:
    closed = BusinessCalendar("closed", TOKYO, closures=(Closure(MonthDay(1, 1), MonthDay(12, 31)),))
    with pytest.raises(CalendarError, match="stays closed"):
        closed.add(tokyo(2026, 1, 5, 9, 0), H)
    assert closed.elapsed(tokyo(2026, 1, 1), tokyo(2027, 1, 1)) == timedelta(0)


def test_ten_thousand_business_hours_take_milliseconds_not_a_minute_by_minute_walk() -> None:
    start = tokyo(2026, 1, 5, 9, 0)
    began = wall.perf_counter()
    end = JP_LUNCH.add(start, 10_000 * H)
    back = JP_LUNCH.elapsed(start, end)
    assert wall.perf_counter() - began < 1.0
    assert back == 10_000 * H
    assert end.year == 2031  # 1,250 eight-hour days, about five working years


def test_unknown_holiday_regions_are_refused() -> None:
    with pytest.raises(UnknownRegion, match="no public holidays known for 'XX'"):
        country_holidays(["XX"])
    with pytest.raises(UnknownRegion, match="no subdivision 'ZZ'"):
        country_holidays(["US-ZZ"])


def test_holiday_regions_combine_and_name_their_holidays() -> None:
    both = country_holidays(["JP", "us"])
    assert both(date(2026, 11, 26)) and both(date(2026, 11, 23))  # Thanksgiving, 勤労感謝の日
    assert country_holidays(["us", "JP"]) is both
    assert country_holidays(["JP"]).name(date(2026, 5, 6), "ja") == "振替休日"
    assert country_holidays(["JP"]).name(date(2026, 5, 7)) is None


def test_describe_in_english_and_japanese() -> None:
    assert JP_LUNCH.describe("en") == (
        "Mon–Fri 09:00–12:00, 13:00–18:00 (Asia/Tokyo); closed on JP public holidays, "
        "12-29..01-03 (年末年始), 08-13..08-15 (お盆), 1 other closed date"
    )
    assert JP_LUNCH.describe("ja") == (
        "月〜金 09:00–12:00, 13:00–18:00（Asia/Tokyo）、休業: 祝日（JP）、12/29〜1/3（年末年始）、8/13〜8/15（お盆）、指定休業日1日"
    )
    assert NY_ALWAYS.describe() == "Mon–Sun 00:00–24:00 (America/New_York)"


# --- properties ----------------------------------------------------------------------------

calendars = st.sampled_from(CALENDARS)
durations = st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=400))


@st.composite
def moments(draw: st.DrawFn, calendar: BusinessCalendar) -> datetime:
    # an aware moment in the calendar's own zone (clock-change gaps and folds included)
    zone = calendar.timezone
    naive = draw(st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2032, 12, 31)))
    return naive.replace(tzinfo=zone, fold=draw(st.integers(0, 1)))


def at_span_end(calendar: BusinessCalendar, moment: datetime) -> bool:
    local = moment.astimezone(calendar.timezone)
    minute = local.hour * 60 + local.minute
    ends = {s.minutes()[1] % 1440 for s in calendar.spans}
    return local.second == local.microsecond == 0 and minute in ends


@settings(max_examples=150, deadline=None)
@given(data=st.data(), calendar=calendars, d=durations)
def test_elapsed_undoes_add(data: st.DataObject, calendar: BusinessCalendar, d: timedelta) -> None:
    a = data.draw(moments(calendar))
    assert calendar.elapsed(a, calendar.add(a, d)) == d


@settings(max_examples=150, deadline=None)
@given(data=st.data(), calendar=calendars, d1=durations, d2=durations)
def test_add_is_monotonic_and_adds_up(
    data: st.DataObject, calendar: BusinessCalendar, d1: timedelta, d2: timedelta
) -> None:
    a = data.draw(moments(calendar))
    first = calendar.add(a, d1)
    both = calendar.add(a, d1 + d2)
    assert first <= both
    assert both == calendar.add(first, d2)


@settings(max_examples=150, deadline=None)
@given(data=st.data(), calendar=calendars, d=durations)
def test_a_deadline_is_inside_working_hours_or_exactly_at_a_span_end(
    data: st.DataObject, calendar: BusinessCalendar, d: timedelta
) -> None:
    a = data.draw(moments(calendar))
    due = calendar.add(a, d)
    assert due >= a
    if d > timedelta(0):
        assert calendar.is_open(due) or at_span_end(calendar, due)
        assert calendar.is_business_day(due.astimezone(calendar.timezone).date()) or at_span_end(calendar, due)
    assert calendar.next_open(a) >= a
    assert calendar.is_open(calendar.next_open(a))


@settings(max_examples=150, deadline=None)
@given(data=st.data(), calendar=calendars)
def test_elapsed_adds_up_reverses_and_never_exceeds_real_time(data: st.DataObject, calendar: BusinessCalendar) -> None:
    a, b, c = (data.draw(moments(calendar)) for _ in range(3))
    assert calendar.elapsed(a, b) + calendar.elapsed(b, c) == calendar.elapsed(a, c)
    assert calendar.elapsed(b, a) == -calendar.elapsed(a, b)
    if a <= b:  # real time: aware datetimes in one zone subtract as wall clocks, so go through UTC
        assert timedelta(0) <= calendar.elapsed(a, b) <= b.astimezone(UTC) - a.astimezone(UTC)


@settings(max_examples=200, deadline=None)
@given(data=st.data(), calendar=calendars)
def test_open_and_closed_agree_with_the_holidays_closures_and_weekdays(
    data: st.DataObject, calendar: BusinessCalendar
) -> None:
    moment = data.draw(moments(calendar))
    day = moment.astimezone(calendar.timezone).date()
    closed_day = (
        day.weekday() not in calendar.working_days
        or calendar.holidays(day)
        or day in calendar.closed_dates
        or any(c.covers(day) for c in calendar.closures)
    )
    assert calendar.is_business_day(day) is not closed_day
    if closed_day:
        assert not calendar.is_open(moment)
    local = moment.astimezone(calendar.timezone).timetz().replace(tzinfo=None)
    in_span = any(s.start <= local and (s.end == time(0) or local < s.end) for s in calendar.spans)
    if not in_span:
        assert not calendar.is_open(moment)
    elif not closed_day and calendar.timezone is TOKYO:  # no clock changes: the wall clock decides
        assert calendar.is_open(moment)
