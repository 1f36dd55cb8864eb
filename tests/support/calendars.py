"""Business calendars the calendar tests and the business-time index tests share: a Japanese office
(with and without a lunch break and company days off), a New York office and a desk open around
the clock, with helpers for local moments."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from leadrelay.adapters.calendars import country_holidays
from leadrelay.domain.calendar import BusinessCalendar, Closure, MonthDay, Span

TOKYO = ZoneInfo("Asia/Tokyo")
NEW_YORK = ZoneInfo("America/New_York")
H = timedelta(hours=1)

JP_OFFICE = BusinessCalendar(
    "jp_office",
    TOKYO,
    holidays=country_holidays(["JP"]),
    holiday_source="JP",
    closures=(Closure(MonthDay(12, 29), MonthDay(1, 3), "年末年始"),),
)
# the same office with a lunch break and one company day off (お盆)
JP_LUNCH = BusinessCalendar(
    "jp_lunch",
    TOKYO,
    spans=(Span(time(9), time(12)), Span(time(13), time(18))),
    holidays=country_holidays(["JP"]),
    holiday_source="JP",
    closures=(Closure(MonthDay(12, 29), MonthDay(1, 3), "年末年始"), Closure(MonthDay(8, 13), MonthDay(8, 15), "お盆")),
    closed_dates=frozenset({date(2026, 8, 12)}),
)
NY_OFFICE = BusinessCalendar(
    "ny_office",
    NEW_YORK,
    spans=(Span(time(8), time(12)), Span(time(13), time(17))),
    holidays=country_holidays(["US-NY"]),
    holiday_source="US-NY",
)
# a desk staffed around the clock: its days are 23 or 25 hours long when the clocks change
NY_ALWAYS = BusinessCalendar("ny_always", NEW_YORK, working_days=frozenset(range(7)), spans=(Span(time(0), time(0)),))
CALENDARS = [JP_OFFICE, JP_LUNCH, NY_OFFICE, NY_ALWAYS]


def tokyo(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=TOKYO)


def new_york(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=NEW_YORK)
