"""Business calendars and business-time arithmetic: "48 business hours after Friday 17:30".

A :class:`BusinessCalendar` says when an office is open: a time zone, working weekdays, one or
more working spans per day (09:00–12:00 and 13:00–18:00), public holidays (a predicate the caller
injects, e.g. :func:`leadrelay.adapters.calendars.country_holidays`), yearly closures by month-day that may
wrap the year (12-29..01-03, 年末年始) and one-off closed dates. Pure: no clock, no packages.

The API other modules use::

    calendar.is_open(moment) -> bool              # inside a working span (start included, end not)
    calendar.is_business_day(day) -> bool         # a working weekday, no holiday, no closure
    calendar.first_business_day(year) -> date     # the year's first business day, or None
    calendar.next_open(moment) -> datetime        # ``moment`` if open, else the next opening
    calendar.add(start, duration) -> datetime     # ``duration`` of business time after ``start``
    calendar.elapsed(a, b) -> timedelta           # business time from ``a`` to ``b``
    calendar.open_intervals(first, last) -> list  # the working spans of those days, as UTC intervals
    calendar.hours_per_day() -> timedelta         # an ordinary working day's business time
    calendar.describe(lang) -> str                # one line, "en" or "ja"

For an SLA: ``due = calendar.add(assigned_at, timedelta(hours=48))``, breached when ``now >= due``;
warn at ``calendar.add(assigned_at, 0.75 * timedelta(hours=48))``.

Definitions (the unit and property tests hold the code to these):

- **Business time** is real elapsed time inside working spans, counted in the calendar's zone: a
  09:00–18:00 day is 9 hours, also on a day when the clocks change outside the span; a span the
  change falls inside is as long as the clock says (a 00:00–24:00 span is 23 h or 25 h then).
- Spans are half-open: at exactly 09:00 the office is open, at exactly 18:00 it is closed.
- ``elapsed(a, b)`` for ``a <= b`` is the business time inside ``[a, b)``; it is zero when both
  fall in the same closed stretch, and ``elapsed(b, a) == -elapsed(a, b)`` (so it is negative
  when ``b`` is before ``a``).
- ``add(start, d)`` is the **earliest** moment ``m >= start`` with ``elapsed(start, m) == d``. So
  a start outside working hours counts from the next opening (Friday 20:00 + 1 h is Monday 10:00);
  a deadline that uses up a day ends at that span's end (Monday 09:00 + 9 h is Monday 18:00, not
  Tuesday 09:00 — "due by the end of Monday"); ``add(start, 0) == start``. It follows that
  ``add(a, d1 + d2) == add(add(a, d1), d2)``. The result is in the calendar's time zone.
- Holidays, closures and closed dates are judged on the **local date** in the calendar's zone. A
  closure that falls on a weekend just closes the weekend again; nothing moves to a weekday
  (substitute holidays, 振替休日, come from the holiday predicate, which knows them).

Only timezone-aware datetimes are accepted (``ValueError`` otherwise), and negative durations are
refused. ``add`` and ``elapsed`` step a day at a time, never a minute at a time: 10,000 business
hours are about 1,600 calendar days of steps. A calendar that stays closed for more than
:data:`MAX_CLOSED_DAYS` days in a row (say, a closure that covers the whole year) raises
:class:`CalendarError` instead of looping.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from itertools import pairwise

from leadrelay.domain.errors import LeadRelayError

WEEKDAY_NAMES: tuple[tuple[str, str], ...] = (
    ("Mon", "月"),
    ("Tue", "火"),
    ("Wed", "水"),
    ("Thu", "木"),
    ("Fri", "金"),
    ("Sat", "土"),
    ("Sun", "日"),
)

#: ``add`` and ``next_open`` give up after this many closed days in a row.
MAX_CLOSED_DAYS = 1_100

_ZERO = timedelta(0)
_DAY = timedelta(days=1)


class CalendarError(LeadRelayError, ValueError):
    """A calendar that cannot be used (bad span, overlapping spans, never open)."""


def no_holidays(day: date) -> bool:
    """The holiday predicate of a calendar that keeps no public holidays."""
    return False


@dataclass(frozen=True, slots=True)
class Span:
    """Working time within one day, ``start`` to ``end`` local time; ``end == time(0)`` is 24:00."""

    start: time
    end: time

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise CalendarError("span times are local wall-clock times, without a time zone")
        if self.end != time(0) and self.end <= self.start:
            raise CalendarError(f"span {self.text()} ends before it starts (spans cannot cross midnight)")

    @classmethod
    def parse(cls, text: str) -> Span:
        """``"09:00-18:00"`` (also with ``–`` or ``~``; ``24:00`` ends at midnight)."""
        cleaned = text.strip().replace("–", "-").replace("〜", "-").replace("~", "-")
        parts = [p.strip() for p in cleaned.split("-")]
        if len(parts) != 2:
            raise CalendarError(f"'{text}' is not a span like 09:00-18:00")
        return cls(_clock(parts[0], text, end=False), _clock(parts[1], text, end=True))

    def minutes(self) -> tuple[int, int]:
        """Start and end as minutes after midnight (end 1440 for 24:00)."""
        end = 24 * 60 if self.end == time(0) else self.end.hour * 60 + self.end.minute
        return self.start.hour * 60 + self.start.minute, end

    def text(self) -> str:
        end = "24:00" if self.end == time(0) else f"{self.end:%H:%M}"
        return f"{self.start:%H:%M}–{end}"


def _clock(part: str, text: str, *, end: bool) -> time:
    if end and part == "24:00":
        return time(0)
    hours, sep, minutes = part.partition(":")
    if not (sep and hours.isdigit() and minutes.isdigit() and len(minutes) == 2 and 1 <= len(hours) <= 2):
        raise CalendarError(f"'{text}' is not a span like 09:00-18:00 ('{part}' is not HH:MM)")
    if int(hours) > 23 or int(minutes) > 59:
        raise CalendarError(f"'{text}': '{part}' is not a time of day")
    return time(int(hours), int(minutes))


@dataclass(frozen=True, slots=True)
class MonthDay:
    month: int
    day: int

    def __post_init__(self) -> None:
        try:
            date(2000, self.month, self.day)  # a leap year, so 02-29 is a month-day
        except ValueError:
            raise CalendarError(f"{self.month:02d}-{self.day:02d} is not a day of the year") from None

    @classmethod
    def parse(cls, text: str) -> MonthDay:
        """``"12-29"`` (also ``12/29``)."""
        month, sep, day = text.strip().replace("/", "-").partition("-")
        if not (sep and month.isdigit() and day.isdigit() and len(month) <= 2 and len(day) <= 2):
            raise CalendarError(f"'{text}' is not a month-day like 12-29")
        return cls(int(month), int(day))

    def key(self) -> tuple[int, int]:
        return self.month, self.day

    def text(self) -> str:
        return f"{self.month:02d}-{self.day:02d}"


@dataclass(frozen=True, slots=True)
class Closure:
    """Closed every year from ``starts`` to ``ends`` inclusive; wraps the year when ``ends < starts``."""

    starts: MonthDay
    ends: MonthDay
    note: str = ""

    def covers(self, day: date) -> bool:
        key = (day.month, day.day)
        low, high = self.starts.key(), self.ends.key()
        if low <= high:
            return low <= key <= high
        return key >= low or key <= high

    def text(self, lang: str = "en") -> str:
        if lang == "ja":
            first, last = (f"{m.month}/{m.day}" for m in (self.starts, self.ends))
            span = first if self.starts == self.ends else f"{first}〜{last}"
            return f"{span}（{self.note}）" if self.note else span
        span = self.starts.text() if self.starts == self.ends else f"{self.starts.text()}..{self.ends.text()}"
        return f"{span} ({self.note})" if self.note else span


@dataclass(frozen=True, slots=True)
class BusinessCalendar:
    """When an office works. See the module docstring for what the arithmetic means."""

    id: str
    timezone: tzinfo
    working_days: frozenset[int] = frozenset(range(5))  # Monday = 0
    spans: tuple[Span, ...] = (Span(time(9), time(18)),)
    holidays: Callable[[date], bool] = no_holidays
    holiday_source: str = ""  # what ``holidays`` is, for describe(): e.g. "JP"
    closures: tuple[Closure, ...] = ()
    closed_dates: frozenset[date] = frozenset()
    label: str = ""

    def __post_init__(self) -> None:
        if not self.spans:
            raise CalendarError(f"calendar '{self.id}' has no working hours")
        if not self.working_days:
            raise CalendarError(f"calendar '{self.id}' has no working days")
        if not self.working_days <= frozenset(range(7)):
            raise CalendarError(f"calendar '{self.id}': working days are 0 (Monday) to 6 (Sunday)")
        ordered = sorted(self.spans, key=lambda s: s.minutes())
        for before, after in pairwise(ordered):
            if after.minutes()[0] < before.minutes()[1]:
                raise CalendarError(f"calendar '{self.id}': spans {before.text()} and {after.text()} overlap")
        object.__setattr__(self, "spans", tuple(ordered))

    # --- days -----------------------------------------------------------------------------

    def is_business_day(self, day: date) -> bool:
        """A working weekday that is no holiday, no yearly closure and no closed date."""
        if day.weekday() not in self.working_days or day in self.closed_dates:
            return False
        if any(c.covers(day) for c in self.closures):
            return False
        return not self.holidays(day)

    def first_business_day(self, year: int) -> date | None:
        """The first business day of ``year``, or ``None`` when the calendar is closed all year.

        A business day always has business hours: spans are never empty (see :class:`Span`).
        """
        day, last = date(year, 1, 1), date(year, 12, 31)
        while not self.is_business_day(day):
            if day == last:
                return None
            day += _DAY
        return day

    def _intervals(self, day: date) -> Iterator[tuple[datetime, datetime]]:
        """The day's working spans as UTC intervals (empty when the day is closed)."""
        if not self.is_business_day(day):
            return
        floor: datetime | None = None
        for span in self.spans:
            opens = datetime.combine(day, span.start, self.timezone).astimezone(UTC)
            closes_day = day + _DAY if span.end == time(0) else day
            closes = datetime.combine(closes_day, span.end, self.timezone).astimezone(UTC)
            if floor is not None and opens < floor:  # a clock change folded the spans together
                opens = floor
            if closes > opens:
                yield opens, closes
                floor = closes

    def open_intervals(self, first: date, last: date) -> list[tuple[datetime, datetime]]:
        """The working spans of the local days ``first`` to ``last`` (both included) as UTC
        intervals, in order: what a cumulative business-time index is built from."""
        out: list[tuple[datetime, datetime]] = []
        day = first
        while day <= last:
            out.extend(self._intervals(day))
            day += _DAY
        return out

    # --- moments --------------------------------------------------------------------------

    def is_open(self, moment: datetime) -> bool:
        at = _utc(moment, "moment")
        local = at.astimezone(self.timezone)
        return any(opens <= at < closes for opens, closes in self._intervals(local.date()))

    def next_open(self, moment: datetime) -> datetime:
        """``moment`` itself when the office is open then, else the next opening (calendar's zone)."""
        at = _utc(moment, "moment")
        for opens, closes in self._walk(at):
            if at < closes:
                return max(at, opens).astimezone(self.timezone)
        raise AssertionError("unreachable: _walk raises before it ends")  # pragma: no cover

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The earliest moment after ``start`` at which ``duration`` of business time has passed."""
        at = _utc(start, "start")
        if duration < _ZERO:
            raise ValueError(f"a business-time duration cannot be negative ({duration})")
        if duration == _ZERO:
            return at.astimezone(self.timezone)
        remaining = duration
        for opens, closes in self._walk(at):
            if closes <= at:
                continue
            begin = max(at, opens)
            available = closes - begin
            if remaining <= available:
                return (begin + remaining).astimezone(self.timezone)
            remaining -= available
        raise AssertionError("unreachable: _walk raises before it ends")  # pragma: no cover

    def elapsed(self, a: datetime, b: datetime) -> timedelta:
        """Business time from ``a`` to ``b``; negative when ``b`` is before ``a``."""
        start, end = _utc(a, "a"), _utc(b, "b")
        if end < start:
            return -self.elapsed(b, a)
        total = _ZERO
        day = start.astimezone(self.timezone).date()
        last = end.astimezone(self.timezone).date()
        while day <= last:
            for opens, closes in self._intervals(day):
                low, high = max(opens, start), min(closes, end)
                if high > low:
                    total += high - low
            day += _DAY
        return total

    def _walk(self, at: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working intervals from the local day of ``at`` on, for ever; raises after a long closure."""
        day = at.astimezone(self.timezone).date()
        closed = 0
        while True:
            found = False
            for interval in self._intervals(day):
                found = True
                yield interval
            closed = 0 if found else closed + 1
            if closed > MAX_CLOSED_DAYS:
                raise CalendarError(f"calendar '{self.id}' stays closed for more than {MAX_CLOSED_DAYS} days")
            day += _DAY

    # --- text -----------------------------------------------------------------------------

    def hours_per_day(self) -> timedelta:
        """Business time of an ordinary working day (no clock change)."""
        return timedelta(minutes=sum(end - start for start, end in (s.minutes() for s in self.spans)))

    def describe(self, lang: str = "en") -> str:
        ja = lang == "ja"
        days = _weekday_ranges(self.working_days, ja)
        hours = ", ".join(s.text() for s in self.spans)
        zone = str(self.timezone)
        closed: list[str] = []
        if self.holiday_source:
            closed.append(f"祝日（{self.holiday_source}）" if ja else f"{self.holiday_source} public holidays")
        closed.extend(c.text(lang) for c in self.closures)
        if self.closed_dates:
            count = len(self.closed_dates)
            closed.append(f"指定休業日{count}日" if ja else f"{count} other closed date{'s' if count > 1 else ''}")
        if ja:
            text = f"{days} {hours}（{zone}）"
            return f"{text}、休業: {'、'.join(closed)}" if closed else text
        text = f"{days} {hours} ({zone})"
        return f"{text}; closed on {', '.join(closed)}" if closed else text


def _utc(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got naive {moment.isoformat()}")
    return moment.astimezone(UTC)


def _weekday_ranges(days: frozenset[int], ja: bool) -> str:
    names = [ja_name if ja else en for en, ja_name in WEEKDAY_NAMES]
    dash = "〜" if ja else "–"
    runs: list[list[int]] = []
    for day in sorted(days):
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts = [names[r[0]] if len(r) == 1 else f"{names[r[0]]}{dash}{names[r[-1]]}" for r in runs]
    return "・".join(parts) if ja else ", ".join(parts)
