"""What every report shares: the request (period, grouping, options), the typed answer with its
display tables, and the SQL helpers reports are written with.

A report is a :class:`ReportSpec`: a name, titles in English and Japanese, the groupings (``by``)
and options it accepts, and a ``run`` function from a :class:`ReportContext` to a :class:`Report`.
``run`` reads stored facts with plain SQL (SQLAlchemy Core): aggregates in the database, never a
Python loop over leads. Quantiles are computed with NumPy over one fetched column.

Periods: ``from`` and ``to`` are *local dates in the playbook's time zone*, both included; the
period runs from local midnight of ``from`` to local midnight after ``to``. Weeks start on Monday
and are named by their Monday (``2026-09-07``); months by ``2026-09``; days by their date. Buckets
are clipped to the period, and a time falls in a bucket when ``starts_at <= t < ends_at`` (UTC
bounds computed here, so a zone with daylight saving time is counted right).

Every report answers the same questions for every caller, restricted to the leads the caller may
see (:class:`~leadrelay.services.lead_list.Visibility`): a rep their own, a manager their
departments', marketing and admin every lead.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from typing import Any, Literal

import numpy as np
import sqlalchemy as sa

from leadrelay.adapters.store import sql_time
from leadrelay.adapters.store.sql_store import StoreTx
from leadrelay.adapters.store.summaries import after_in_order as after_in_order
from leadrelay.domain.errors import LeadRelayError
from leadrelay.domain.playbook import Playbook
from leadrelay.services.lead_list import EVERYTHING, Visibility
from leadrelay.services.read_models import Moment, PlaybookRef, ReadModel

Grouping = Literal["day", "week", "month"]
GROUPINGS: tuple[str, ...] = ("day", "week", "month")
ColumnKind = Literal["text", "int", "float", "percent", "hours", "days", "amount", "moment", "date"]


class ReportInputError(LeadRelayError, ValueError):
    """A report was asked for with a bad name, period, grouping or option (``field`` names it)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class UnknownReport(ReportInputError, LookupError):
    def __init__(self, name: str, known: Sequence[str]) -> None:
        super().__init__("name", f"no report named '{name}' (reports: {', '.join(known)})")


# --- the answer -----------------------------------------------------------------------------------


class Column(ReadModel):
    """One column of a display table: its key in the rows, its heading in each language and what it
    holds (how the command line formats it: ``percent`` is a share 0–1, ``hours``/``days`` durations)."""

    key: str
    label: dict[str, str]  # en, ja
    kind: ColumnKind = "text"


class Table(ReadModel):
    """A report as rows: what the command line prints, ``--csv`` writes and a dashboard shows under
    its chart. ``totals`` is the row of totals (None where totals make no sense)."""

    name: str
    title: dict[str, str]  # en, ja
    columns: list[Column]
    rows: list[dict[str, Any]]
    totals: dict[str, Any] | None = None


class Period(ReadModel):
    """The period a report covers: local dates in ``timezone`` (both included) and its UTC bounds."""

    start: date
    end: date
    timezone: str
    starts_at: Moment  # local midnight of ``start``
    ends_at: Moment  # local midnight after ``end`` (not included)


class Report(ReadModel):
    """Fields every report has. A report's own model adds its typed figures and implements
    :meth:`tables`."""

    report: str
    as_of: Moment
    period: Period
    by: str | None
    options: dict[str, Any]
    playbook: PlaybookRef

    def tables(self) -> list[Table]:  # pragma: no cover - every report overrides it
        raise NotImplementedError


def csv_text(table: Table) -> str:
    """``table`` as CSV: a header of column keys, the rows, then the totals row (if any)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    keys = [c.key for c in table.columns]
    writer.writerow(keys)
    for row in [*table.rows, *([table.totals] if table.totals else [])]:
        writer.writerow(["" if row.get(k) is None else _csv_value(row.get(k)) for k in keys])
    return out.getvalue()


def _csv_value(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return "; ".join(str(v) for v in value)
    return value


def col(key: str, en: str, ja: str, kind: ColumnKind = "text") -> Column:
    """A column, briefly."""
    return Column(key=key, label={"en": en, "ja": ja}, kind=kind)


def title(en: str, ja: str) -> dict[str, str]:
    return {"en": en, "ja": ja}


# --- the request ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReportOption:
    """An option a report accepts besides the period and grouping (``--option name=value`` on the
    command line, ``?name=value`` over HTTP)."""

    name: str
    kind: Literal["int", "float", "choice", "text"]
    default: Any
    help: tuple[str, str]  # en, ja
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None

    def parse(self, raw: str | None) -> Any:
        if raw is None or raw == "":
            return self.default
        raw = raw.strip()
        if self.kind == "choice":
            if raw not in self.choices:
                raise ReportInputError(self.name, f"'{raw}' is not one of {', '.join(self.choices)}")
            return raw
        if self.kind == "text":
            if len(raw) > 200:
                raise ReportInputError(self.name, "longer than 200 characters")
            return raw
        try:
            value: float = int(raw) if self.kind == "int" else float(raw)
        except ValueError:
            kind = "a whole number" if self.kind == "int" else "a number"
            raise ReportInputError(self.name, f"'{raw}' is not {kind}") from None
        if value != value or value in (float("inf"), float("-inf")):
            raise ReportInputError(self.name, f"'{raw}' is not a finite number")
        if self.minimum is not None and value < self.minimum:
            raise ReportInputError(self.name, f"must be at least {self.minimum:g}")
        if self.maximum is not None and value > self.maximum:
            raise ReportInputError(self.name, f"must be at most {self.maximum:g}")
        return value


@dataclass(frozen=True, slots=True)
class ReportContext:
    """Everything a report's ``run`` needs: the unit of work, the active playbook, the time, the
    period, the grouping, the parsed options and whose leads to count."""

    tx: StoreTx
    playbook: Playbook
    now: datetime
    period: Period
    by: str | None
    options: Mapping[str, Any]
    visibility: Visibility = EVERYTHING
    report: str = ""

    @property
    def tz(self) -> tzinfo:
        return self.playbook.timezone

    @property
    def dialect(self) -> str:
        return self.tx.dialect

    def base(self) -> dict[str, Any]:
        """The fields of :class:`Report`, for a report's model: ``Model(**ctx.base(), ...)``."""
        p = self.playbook
        return {
            "report": self.report,
            "as_of": self.now.astimezone(self.tz),
            "period": self.period,
            "by": self.by,
            "options": dict(self.options),
            "playbook": PlaybookRef(id=p.id, version=p.version, hash=p.hash),
        }

    def buckets(self, by: str | None = None) -> list[Bucket]:
        return buckets(self.period, by or self.by or "week", self.tz)

    def visible(self, rep: sa.ColumnElement[Any], department: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
        return visible(self.visibility, rep, department)


@dataclass(frozen=True, slots=True)
class ReportSpec:
    """A report: its name, titles, what it accepts and how it is made."""

    name: str
    title: tuple[str, str]  # en, ja
    description: tuple[str, str]  # en, ja: one sentence
    run: Callable[[ReportContext], Report]
    model: type[Report]
    by: tuple[str, ...] = ()  # accepted groupings; the first is the default ("" none)
    options: tuple[ReportOption, ...] = field(default_factory=tuple)
    default_days: int = 91  # the default period: this many days up to today


#: The days a report's period may name (a period and its default start stay within the calendar).
EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(9998, 12, 31)


def parse_date(raw: str, name: str) -> date:
    try:
        day = date.fromisoformat(raw.strip())
    except ValueError:
        raise ReportInputError(name, f"'{raw}' is not a date (YYYY-MM-DD)") from None
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise ReportInputError(name, f"{day.isoformat()} is not between {EARLIEST_DAY} and {LATEST_DAY}")
    return day


def make_period(start: date, end: date, tz: tzinfo) -> Period:
    if end < start:
        raise ReportInputError("to", f"{end.isoformat()} is before from ({start.isoformat()})")
    if (end - start).days > 3660:
        raise ReportInputError("from", "a period of at most ten years")
    return Period(
        start=start,
        end=end,
        timezone=str(tz),
        starts_at=datetime.combine(start, time(), tz),
        ends_at=datetime.combine(end + timedelta(days=1), time(), tz),
    )


def parse_request(
    spec: ReportSpec,
    *,
    start: str | None,
    end: str | None,
    by: str | None,
    options: Mapping[str, str | None],
    now: datetime,
    tz: tzinfo,
) -> tuple[Period, str | None, dict[str, Any]]:
    """The period, grouping and options of a request, checked; errors name the field."""
    today = now.astimezone(tz).date()
    end_day = parse_date(end, "to") if end else today
    start_day = parse_date(start, "from") if start else end_day - timedelta(days=spec.default_days - 1)
    period = make_period(start_day, end_day, tz)
    if by is not None and by != "":
        if by not in spec.by:
            allowed = ", ".join(spec.by) if spec.by else "none"
            raise ReportInputError("by", f"'{by}' is not a grouping of report {spec.name} (allowed: {allowed})")
        grouping: str | None = by
    else:
        grouping = spec.by[0] if spec.by else None
    known = {o.name: o for o in spec.options}
    for name in options:
        if name not in known:
            allowed = ", ".join(known) if known else "none"
            raise ReportInputError(name, f"report {spec.name} has no option '{name}' (options: {allowed})")
    parsed = {o.name: o.parse(options.get(o.name)) for o in spec.options}
    return period, grouping, parsed


# --- SQL helpers ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bucket:
    """One step of a grouping: its name and UTC bounds (``starts_at`` included, ``ends_at`` not)."""

    key: str
    start: date
    starts_at: datetime
    ends_at: datetime


def _step(d: date, by: str) -> tuple[date, date]:
    """The local dates a step of ``by`` containing ``d`` starts and ends (exclusive) on."""
    if by == "day":
        return d, d + timedelta(days=1)
    if by == "week":
        monday = d - timedelta(days=d.weekday())
        return monday, monday + timedelta(days=7)
    first = d.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following


def buckets(period: Period, by: str, tz: tzinfo) -> list[Bucket]:
    """The steps of ``by`` (day, week, month) that cover ``period``, clipped to it."""
    if by not in GROUPINGS:
        raise ReportInputError("by", f"'{by}' is not one of {', '.join(GROUPINGS)}")
    out: list[Bucket] = []
    d = period.start
    while d <= period.end:
        first, following = _step(d, by)
        key = first.strftime("%Y-%m") if by == "month" else first.isoformat()
        lo, hi = max(first, period.start), min(following, period.end + timedelta(days=1))
        out.append(Bucket(key, first, datetime.combine(lo, time(), tz), datetime.combine(hi, time(), tz)))
        d = following
    return out


def bucket_of(column: sa.ColumnElement[Any], steps: Sequence[Bucket]) -> sa.ColumnElement[Any]:
    """The key of the bucket ``column`` (a stored moment) falls in, or NULL outside them all.

    One CASE over the bounds: the same SQL on SQLite and PostgreSQL, exact with daylight saving."""
    if not steps:
        return sa.null()
    whens = [(sa.and_(column >= b.starts_at, column < b.ends_at), sa.literal(b.key)) for b in steps]
    return sa.case(*whens, else_=sa.null())


def in_period(column: sa.ColumnElement[Any], period: Period) -> sa.ColumnElement[bool]:
    return sa.and_(column >= period.starts_at, column < period.ends_at)


def seconds_between(dialect: str, start: sa.ColumnElement[Any], end: sa.ColumnElement[Any]) -> sa.ColumnElement[float]:
    """``end - start`` in seconds, as SQL (NULL when either is NULL; each database its own way)."""
    return sql_time.seconds_between(start, end)


def days_before(dialect: str, moment: sa.ColumnElement[Any], days: int) -> sa.ColumnElement[Any]:
    """The moment ``days`` days of 24 hours before ``moment``, as SQL, to bound an index range.
    SQLite's ``datetime()`` drops the fraction of a second (the bound is at most a second early),
    so keep an exact condition beside it where the edge counts."""
    return sql_time.days_before(moment, sa.literal(int(days)))


def amount_sum(dialect: str, column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """The sum of a money column. PostgreSQL sums exact NUMERICs; SQLite keeps amounts as decimal
    text, so there it sums them as doubles (exact to the yen below 10^13) — :func:`money` rounds."""
    if dialect == "sqlite":
        return sa.func.total(sa.cast(column, sa.Float))
    return sa.func.coalesce(sa.func.sum(column), 0)


def money(value: Any) -> Decimal:
    """A summed amount as a decimal with two places."""
    if value is None:
        return Decimal("0.00")
    return Decimal(str(value)).quantize(Decimal("0.01"))


def visible(
    visibility: Visibility, rep: sa.ColumnElement[Any], department: sa.ColumnElement[Any]
) -> sa.ColumnElement[bool]:
    """The SQL condition keeping the rows (of leads, decisions, ...) ``visibility`` may see, given
    the row's rep and department columns (the rules of ``Visibility.sees``)."""
    if visibility.everything:
        return sa.true()
    conditions: list[sa.ColumnElement[bool]] = []
    if visibility.rep is not None:
        conditions.append(rep == visibility.rep)
    if visibility.departments:
        conditions.append(department.in_(visibility.departments))
    return sa.or_(*conditions) if conditions else sa.false()


class Quantiles(ReadModel):
    """Count, median and 90th percentile of a set of durations or amounts (None when empty)."""

    count: int
    median: float | None
    p90: float | None
    mean: float | None


def quantiles(values: Sequence[float] | np.ndarray[Any, Any], scale: float = 1.0) -> Quantiles:
    """Median and p90 (linear interpolation, as PostgreSQL's ``percentile_cont``) of ``values``
    divided by ``scale`` (3600 turns seconds into hours)."""
    array = np.asarray(values, dtype=np.float64)
    array = array[~np.isnan(array)]
    if array.size == 0:
        return Quantiles(count=0, median=None, p90=None, mean=None)
    median, p90 = np.percentile(array, [50, 90]) / scale
    return Quantiles(count=int(array.size), median=float(median), p90=float(p90), mean=float(array.mean() / scale))


def share(part: int | float, whole: int | float) -> float | None:
    """``part / whole`` (None when ``whole`` is 0)."""
    return None if not whole else part / whole


def epoch_seconds(dialect: str, column: sa.ColumnElement[Any]) -> sa.ColumnElement[float]:
    """A stored moment (or an aggregate of one, e.g. ``min(occurred_at)``) as seconds since
    1970-01-01 UTC, as SQL (NULL stays NULL): moments fetched as numbers for NumPy."""
    from datetime import UTC  # imported here: this helper is appended to the kit, whose head is shared

    from leadrelay.adapters.store.tables import UtcDateTime

    epoch = sa.literal(datetime(1970, 1, 1, tzinfo=UTC), UtcDateTime)
    return seconds_between(dialect, epoch, sa.type_coerce(column, UtcDateTime))


def currency_option(raw: str, name: str = "currency") -> str | None:
    """A report's ``currency`` option: an ISO 4217 code in capitals, or None when empty."""
    code = raw.strip().upper()
    if not code:
        return None
    if not (len(code) == 3 and code.isascii() and code.isalpha()):
        raise ReportInputError(name, f"'{raw}' is not an ISO currency code (e.g. JPY)")
    return code
