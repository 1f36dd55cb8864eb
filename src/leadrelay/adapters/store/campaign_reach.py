"""The campaign reach summary (:data:`summary_campaign_reach`): how many distinct leads each campaign
reached in a period of whole local days, as one range sum instead of a ``COUNT(DISTINCT)`` over
the period's activities (millions of lead–campaign pairs at a million leads).

For a lead and a campaign, take the local days (in the zone recorded in the setting :data:`ZONE`:
the active playbook's) on which the lead had an activity of the campaign, ``d1 < d2 < … < dk``.
The lead was reached in the days ``F..T`` if one of them lies there, and then exactly one of those
has its previous day before ``F`` (or is ``d1``): the first one in the period. A row
``(campaign_id, day, since, lead_count)`` counts the lead–campaign pairs that have the day ``day`` with
the previous day ``since`` (0: none), so::

    reached(F, T) = SUM(lead_count) WHERE F <= day <= T AND since < F      (per campaign)

Activities are never deleted or moved to another lead, and erasure keeps their campaigns and
times, so the facts that change a row are new activities only. A unit of work reads the campaign
days of the leads it is about to give activities (:meth:`Upkeep.before`, before the insert) and
again when it settles (:meth:`Upkeep.settle`); the difference of the two pair by pair is added to
the rows, in key order (two transactions never wait on each other in a circle). Intake holds the
leads' rows while it writes their activities, so no other transaction changes those days in
between. :func:`rebuild` derives every row from the activities at once (the migration, a change of
the playbook's zone: :func:`rezone`); :func:`recount` gives them by plain Python for the checks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from leadrelay.adapters.store import queries
from leadrelay.adapters.store.tables import activities, settings, summary_campaign_reach

if TYPE_CHECKING:
    import numpy as np

    from leadrelay.adapters.store.sql_store import StoreTx

#: The setting that holds the time zone (an IANA name) the rows' days are local to; none recorded:
#: the summary is not kept (the report counts the activities).
ZONE = "summary_campaign_zone"
#: Leads per read of their campaign days.
CHUNK = 500
#: Leads per block of a rebuild (the rows of one block are read at once).
REBUILD_BLOCK = 200_000
#: ``date.toordinal()`` of 1970-01-01: a local day as the days since the epoch plus this.
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
#: Offsets are looked up per quarter of an hour (every zone's offsets and changes fall on them
#: since 1970; a slot whose two ends differ is looked up per row).
_SLOT = 900

Key = tuple[int, int, int]  # (campaign_id, day, since)
Row = tuple[int, int, int, int]  # (campaign_id, day, since, lead_count)


def local_day(moment: datetime, zone: ZoneInfo) -> int:
    """The local day of ``moment`` in ``zone`` as a ``date.toordinal()``."""
    return moment.astimezone(zone).toordinal()


def day_bounds(start: date, end: date) -> tuple[int, int]:
    """The days (ordinals) of a period of local dates, both included."""
    return start.toordinal(), end.toordinal()


def contributions(days: Iterable[int]) -> list[tuple[int, int]]:
    """A lead–campaign pair's ``(day, since)`` rows: each day with the previous one (0: none)."""
    out = []
    previous = 0
    for day in sorted(set(days)):
        out.append((day, previous))
        previous = day
    return out


_ZONE_SETTING = sa.select(settings.c.value).where(settings.c.key == ZONE)


def recorded_zone(connection: sa.Connection | StoreTx) -> str | None:
    """The zone the rows are derived in (None: none recorded, the summary is not kept)."""
    value: str | None = connection.execute(_ZONE_SETTING).scalar_one_or_none()
    return value


def _days_of(tx: StoreTx, lead_ids: Sequence[int], zone: ZoneInfo) -> dict[tuple[int, int], set[int]]:
    """The local days of each lead–campaign pair of ``lead_ids`` (from the index of campaign touches)."""
    out: dict[tuple[int, int], set[int]] = {}
    for start in range(0, len(lead_ids), CHUNK):
        part = lead_ids[start : start + CHUNK]
        for lead, campaign, micros in tx._raw_rows(queries.campaign_days(tx.dialect, len(part)), part):
            out.setdefault((lead, campaign), set()).add(datetime.fromtimestamp(micros // 1_000_000, zone).toordinal())
    return out


def _delta(before: Mapping[tuple[int, int], set[int]], after: Mapping[tuple[int, int], set[int]]) -> dict[Key, int]:
    change: Counter[Key] = Counter()
    for pair in before.keys() | after.keys():
        old, new = before.get(pair, set()), after.get(pair, set())
        if old == new:
            continue
        campaign = pair[1]
        for day, since in contributions(new):
            change[(campaign, day, since)] += 1
        for day, since in contributions(old):
            change[(campaign, day, since)] -= 1
    return {key: n for key, n in change.items() if n}


@cache
def _upsert(dialect: str) -> Any:
    table = summary_campaign_reach
    insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    return insert.on_conflict_do_update(
        index_elements=["campaign_id", "day", "since"],
        set_={"lead_count": table.c.lead_count + insert.excluded.lead_count},
    )


_EMPTIED = summary_campaign_reach.delete().where(
    summary_campaign_reach.c.campaign_id == sa.bindparam("c"),
    summary_campaign_reach.c.day == sa.bindparam("d"),
    summary_campaign_reach.c.since == sa.bindparam("s"),
    summary_campaign_reach.c.lead_count == 0,
)


def add(tx: StoreTx, change: Mapping[Key, int]) -> None:
    """Add ``change`` (leads per row key) to the rows, in key order; rows left at 0 are removed."""
    if not change:
        return
    keys = sorted(change)
    tx.execute(
        _upsert(tx.dialect),
        [{"campaign_id": c, "day": d, "since": s, "lead_count": change[(c, d, s)]} for c, d, s in keys],
    )
    emptied = [{"c": c, "d": d, "s": s} for c, d, s in keys if change[(c, d, s)] < 0]
    if emptied:
        tx.execute(_EMPTIED, emptied)


class Upkeep:
    """What one unit of work does to the rows: the campaign days of the leads it gives activities,
    before and after (:mod:`this module <leadrelay.adapters.store.campaign_reach>`)."""

    def __init__(self) -> None:
        self._before: dict[tuple[int, int], set[int]] = {}
        self._after: dict[tuple[int, int], set[int]] = {}
        self._leads: set[int] = set()
        self._read_again = False  # a row was skipped (its key was stored already): read the days again

    def before(self, tx: StoreTx, rows: Iterable[Mapping[str, Any]]) -> None:
        """Activities are about to be stored: remember their leads' campaign days as they are now."""
        zone = tx.summary_campaign_zone()
        if zone is None:
            return
        new = sorted({r["lead_id"] for r in rows if r["campaign_id"] is not None} - self._leads)
        if new:
            found = _days_of(tx, new, ZoneInfo(zone))
            self._before.update(found)
            self._after.update((pair, set(days)) for pair, days in found.items())
            self._leads.update(new)

    def stored(self, tx: StoreTx, rows: Iterable[Mapping[str, Any]], *, every: bool) -> None:
        """The rows :meth:`before` saw are stored (``every``: none was skipped as a duplicate key)."""
        zone = tx.summary_campaign_zone()
        if zone is None:
            return
        if not every:
            self._read_again = True
            return
        tz = ZoneInfo(zone)
        for r in rows:
            if r["campaign_id"] is not None:
                self._after.setdefault((r["lead_id"], r["campaign_id"]), set()).add(local_day(r["occurred_at"], tz))

    def settle(self, tx: StoreTx) -> None:
        """Add the difference the stored activities made to the rows (just before committing)."""
        if not self._leads:
            return
        zone = tx.summary_campaign_zone()
        if zone is not None:
            after = _days_of(tx, sorted(self._leads), ZoneInfo(zone)) if self._read_again else self._after
            add(tx, _delta(self._before, after))
        self._before.clear()
        self._after.clear()
        self._leads.clear()
        self._read_again = False


def _epoch_seconds(dialect: str, column: sa.ColumnElement[Any]) -> sa.ColumnElement[int]:
    if dialect == "postgresql":
        return sa.cast(sa.func.floor(sa.extract("epoch", column)), sa.BigInteger)
    return sa.cast(sa.func.strftime("%s", column), sa.BigInteger)  # SQLite keeps UTC text


def _offsets(seconds: np.ndarray[Any, Any], zone: ZoneInfo) -> np.ndarray[Any, Any]:
    """The zone's UTC offset (seconds) at each moment (epoch seconds), looked up once per slot."""
    import numpy as np  # the bulk rebuild only: ingest and reads never load NumPy for this module

    slots, where = np.unique(seconds // _SLOT, return_inverse=True)
    at = [datetime.fromtimestamp(int(s) * _SLOT, UTC) for s in slots]
    first = np.array([zone.utcoffset(m) // timedelta(seconds=1) for m in at], dtype=np.int64)  # type: ignore[operator]
    last = np.array(
        [zone.utcoffset(m + timedelta(seconds=_SLOT - 1)) // timedelta(seconds=1) for m in at],  # type: ignore[operator]
        dtype=np.int64,
    )
    out = first[where]
    odd = np.flatnonzero((first != last)[where])  # an offset change inside the slot: per moment
    for i in odd.tolist():
        moment = datetime.fromtimestamp(int(seconds[i]), UTC)
        out[i] = zone.utcoffset(moment) // timedelta(seconds=1)  # type: ignore[operator]
    return out


def _block_rows(
    seconds: np.ndarray[Any, Any], leads: np.ndarray[Any, Any], campaigns: np.ndarray[Any, Any], zone: ZoneInfo
) -> Counter[Key]:
    """The rows of one block of leads' campaign activities (as columns)."""
    import numpy as np

    days = (seconds + _offsets(seconds, zone)) // 86400 + _EPOCH_ORDINAL
    order = np.lexsort((days, campaigns, leads))
    lead, campaign, day = leads[order], campaigns[order], days[order]
    distinct = np.ones(len(day), dtype=bool)
    distinct[1:] = (lead[1:] != lead[:-1]) | (campaign[1:] != campaign[:-1]) | (day[1:] != day[:-1])
    lead, campaign, day = lead[distinct], campaign[distinct], day[distinct]
    since = np.zeros(len(day), dtype=np.int64)
    same = np.zeros(len(day), dtype=bool)
    same[1:] = (lead[1:] == lead[:-1]) & (campaign[1:] == campaign[:-1])
    since[1:] = np.where(same[1:], day[:-1], 0)
    keys, counts = np.unique(np.stack([campaign, day, since], axis=1), axis=0, return_counts=True)
    return Counter(
        {(int(c), int(d), int(s)): int(n) for (c, d, s), n in zip(keys.tolist(), counts.tolist(), strict=True)}
    )


def rebuild(tx: StoreTx, zone_name: str | None) -> None:
    """Derive every row again from the activities, with days local to ``zone_name`` (None: no rows),
    a block of leads at a time (a pair's days all lie in its lead's block)."""
    import numpy as np
    import pyarrow as pa

    from leadrelay.adapters.store.columns import read_columns

    tx.execute(summary_campaign_reach.delete())
    if zone_name is None:
        return
    zone = ZoneInfo(zone_name)
    a = activities.c
    top = tx.execute(sa.select(sa.func.max(a.lead_id))).scalar() or 0
    total: Counter[Key] = Counter()
    for low in range(0, top + 1, REBUILD_BLOCK):
        query = sa.select(_epoch_seconds(tx.dialect, a.occurred_at), a.lead_id, a.campaign_id).where(
            a.campaign_id.is_not(None), a.lead_id >= low, a.lead_id < low + REBUILD_BLOCK
        )
        seconds, leads, campaigns = (
            np.asarray(c.to_numpy(zero_copy_only=False), dtype=np.int64)
            for c in read_columns(tx, query, [pa.int64()] * 3)
        )
        if len(seconds):
            total.update(_block_rows(seconds, leads, campaigns, zone))
    rows = [{"campaign_id": c, "day": d, "since": s, "lead_count": n} for (c, d, s), n in sorted(total.items())]
    for start in range(0, len(rows), 50_000):
        tx.execute(summary_campaign_reach.insert(), rows[start : start + 50_000])


def rezone(tx: StoreTx, zone_name: str) -> bool:
    """Record ``zone_name`` (the playbook put to use) as the zone of the rows' days; if it differs
    from the one recorded, derive every row again. True if it did."""
    if tx.summary_campaign_zone() == zone_name:
        return False
    tx.set_summary_campaign_zone(zone_name)
    rebuild(tx, zone_name)
    tx.reach = Upkeep()  # every row is derived from the activities stored so far
    return True


def recount(connection: sa.Connection) -> list[Row]:
    """The rows the summary must hold now, counted from the activities one by one (sorted)."""
    zone_name = recorded_zone(connection)
    if zone_name is None:
        return []
    zone = ZoneInfo(zone_name)
    a = activities.c
    days: dict[tuple[int, int], set[int]] = {}
    for lead, campaign, moment in connection.execute(
        sa.select(a.lead_id, a.campaign_id, a.occurred_at).where(a.campaign_id.is_not(None))
    ):
        days.setdefault((lead, campaign), set()).add(local_day(moment, zone))
    counts: Counter[Key] = Counter()
    for (_, campaign), seen in days.items():
        for day, since in contributions(seen):
            counts[(campaign, day, since)] += 1
    return [(c, d, s, n) for (c, d, s), n in sorted(counts.items())]


def stored(connection: sa.Connection) -> list[Row]:
    """The rows the summary holds (sorted), in :func:`recount`'s form."""
    t = summary_campaign_reach.c
    query = sa.select(t.campaign_id, t.day, t.since, t.lead_count).order_by(t.campaign_id, t.day, t.since)
    return [(c, d, s, n) for c, d, s, n in connection.execute(query)]


def reached(tx: StoreTx | sa.Connection, start: date, end: date) -> dict[int, int]:
    """The distinct leads each campaign reached on the local days ``start..end`` (both included)."""
    first, last = day_bounds(start, end)
    t = summary_campaign_reach.c
    query: sa.Select[Any] = (
        sa.select(t.campaign_id, sa.func.sum(t.lead_count))
        .where(t.day >= first, t.day <= last, t.since < first)
        .group_by(t.campaign_id)
    )
    rows: list[Any] = list(tx.execute(query))
    return {int(campaign): int(n) for campaign, n in rows if n}
