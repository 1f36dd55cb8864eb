"""Checking and rebuilding the summary tables the reports read (``adapters.store.summaries``).

They are kept in the same transaction as the facts, so a check should always find them equal to a
recount; it is there for an operator's peace of mind, and for a database whose facts were written
past leadrelay (rows loaded by hand with SQL), which a rebuild brings back in line."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Collection

from leadrelay.adapters.store import summaries
from leadrelay.adapters.store.sql_store import SqlStore
from leadrelay.services.read_models import ReadModel


class SummaryCheck(ReadModel):
    """One summary table: its rows, the rows a recount from the facts gives, and how many differ."""

    summary: str
    table: str
    rows: int
    recounted: int
    differing: int  # rows in one and not the other (a changed row counts twice)
    leads: int  # distinct leads among the differing rows


class SummaryStatus(ReadModel):
    equal: bool  # every summary holds exactly what a recount gives, with the playbook's touch types
    rebuilt: bool
    seconds: float
    summaries: list[SummaryCheck]
    touch_types: list[str] | None  # the types the assignments are derived with (None: none recorded)
    playbook_touch_types: list[str]  # the active playbook's ``sales.touch_types``


def check(store: SqlStore, touch_types: Collection[str], *, rebuild: bool = False) -> SummaryStatus:
    """Compare every summary with a recount from the facts (``rebuild``: derive them all again
    first, in one transaction, with the active playbook's ``touch_types``, then compare)."""
    started = time.perf_counter()
    wanted = sorted(touch_types)
    if rebuild:
        with store.transaction() as tx:
            if not summaries.retouch(tx, wanted):
                summaries.rebuild(tx.connection)
            else:
                summaries.rebuild(tx.connection, (summaries.LOOPS, summaries.STEPS))
    out = []
    with store.reading() as tx:
        recorded = summaries.recorded_touch_types(tx)
        for kind in summaries.KINDS:
            stored = Counter(summaries.stored(tx.connection, kind))
            recounted = Counter(summaries.recount(tx.connection, kind))
            differ = (stored - recounted) + (recounted - stored)
            table = summaries.table_of(kind)
            lead = list(table.columns.keys()).index("lead_id")
            out.append(
                SummaryCheck(
                    summary=kind,
                    table=table.name,
                    rows=sum(stored.values()),
                    recounted=sum(recounted.values()),
                    differing=sum(differ.values()),
                    leads=len({row[lead] for row in differ}),
                )
            )
    return SummaryStatus(
        equal=all(s.differing == 0 for s in out) and recorded == tuple(wanted),
        rebuilt=rebuild,
        seconds=round(time.perf_counter() - started, 3),
        summaries=out,
        touch_types=None if recorded is None else list(recorded),
        playbook_touch_types=wanted,
    )
