"""Checking and rebuilding the summary tables the reports read (``adapters.store.summaries``).

They are kept in the same transaction as the facts, so a check should always find them equal to a
recount; it is there for an operator's peace of mind, and for a database whose facts were written
past leadrelay (rows loaded by hand with SQL), which a rebuild brings back in line."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Collection
from typing import Any

from leadrelay.adapters.store import campaign_reach, summaries
from leadrelay.adapters.store.sql_store import SqlStore
from leadrelay.services.read_models import ReadModel


class SummaryCheck(ReadModel):
    """One summary table: its rows, the rows a recount from the facts gives, and how many differ."""

    summary: str
    table: str
    rows: int
    recounted: int
    differing: int  # rows in one and not the other (a changed row counts twice)
    leads: int  # distinct leads among the differing rows (0 for the campaign reach: its rows are not a lead's)


class SummaryStatus(ReadModel):
    equal: bool  # every summary holds exactly what a recount gives, with the playbook's touch types
    rebuilt: bool
    seconds: float
    summaries: list[SummaryCheck]
    touch_types: list[str] | None  # the types the assignments are derived with (None: none recorded)
    playbook_touch_types: list[str]  # the active playbook's ``sales.touch_types``
    zone: str | None  # the zone the campaign reach's days are local to (None: none recorded)
    playbook_zone: str  # the active playbook's time zone


def check(store: SqlStore, touch_types: Collection[str], zone: str, *, rebuild: bool = False) -> SummaryStatus:
    """Compare every summary with a recount from the facts (``rebuild``: derive them all again
    first, in one transaction, with the active playbook's ``touch_types`` and time ``zone``, then
    compare)."""
    started = time.perf_counter()
    wanted = sorted(touch_types)
    if rebuild:
        with store.transaction() as tx:
            if not summaries.retouch(tx, wanted):
                summaries.rebuild(tx.connection)
            else:
                summaries.rebuild(tx.connection, [k for k in summaries.KINDS if k != summaries.ASSIGNMENTS])
            if not campaign_reach.rezone(tx, zone):
                campaign_reach.rebuild(tx, zone)
    out = []
    with store.reading() as tx:
        recorded = summaries.recorded_touch_types(tx)
        recorded_zone = campaign_reach.recorded_zone(tx)
        for kind in summaries.KINDS:
            table = summaries.table_of(kind)
            lead = list(table.columns.keys()).index("lead_id")
            out.append(
                _compared(
                    kind,
                    table.name,
                    summaries.stored(tx.connection, kind),
                    summaries.recount(tx.connection, kind),
                    lead,
                )
            )
        out.append(
            _compared(
                "campaign_reach",
                "summary_campaign_reach",
                campaign_reach.stored(tx.connection),
                campaign_reach.recount(tx.connection),
                None,
            )
        )
    return SummaryStatus(
        equal=all(s.differing == 0 for s in out) and recorded == tuple(wanted) and recorded_zone == zone,
        rebuilt=rebuild,
        seconds=round(time.perf_counter() - started, 3),
        summaries=out,
        touch_types=None if recorded is None else list(recorded),
        playbook_touch_types=wanted,
        zone=recorded_zone,
        playbook_zone=zone,
    )


def _compared(summary: str, table: str, held: list[Any], recount: list[Any], lead: int | None) -> SummaryCheck:
    stored, recounted = Counter(held), Counter(recount)
    differ = (stored - recounted) + (recounted - stored)
    return SummaryCheck(
        summary=summary,
        table=table,
        rows=sum(stored.values()),
        recounted=sum(recounted.values()),
        differing=sum(differ.values()),
        leads=0 if lead is None else len({row[lead] for row in differ}),
    )
