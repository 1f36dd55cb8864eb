"""Re-scoring every lead after a playbook change, on the bulk path.

1. Every lead's scores, level, fit gate and disqualification are computed at ``now`` with
   :mod:`leadrelay.bulk.engine` over the stored activities, a chunk of leads at a time (the few
   leads it cannot judge exactly go to the per-lead engine, see ``BulkResult.fallback``).
2. The leads whose stored values differ are written in bulk.
3. Leads whose *qualification* may have changed go through :func:`leadrelay.services.intake.evaluate`,
   the one place stage moves are decided: leads in a marketing stage that now meet an MQL rule or
   have a hand-raise in the scoring window, and leads that become disqualified or reinstated.
   The history decided under an earlier playbook is kept as it is (see ``services.evaluate``).

Everything happens in one transaction; ``dry_run`` rolls it back and reports the same figures.

With a ``log`` folder the activities come from the columnar activity log
(:mod:`leadrelay.services.activity_log`), refreshed from the table first, instead of from the
table in lead order; the results are the same.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import AliasChoices, Field, field_serializer

from leadrelay.adapters.files.activity_log import ActivityLog, ActivityLogError
from leadrelay.adapters.store.bulk_io import (
    LeadTable,
    ScoreColumns,
    read_activities,
    read_campaigns,
    read_leads,
    write_scores,
)
from leadrelay.adapters.store.sql_store import SqlStore, StoreTx
from leadrelay.bulk import kernel
from leadrelay.bulk.engine import BulkEngine, BulkResult, Signatures, fields_read, fill_from_engine
from leadrelay.domain.lifecycle import DISQUALIFIABLE_STAGES, MARKETING_STAGES, Stage, Trigger
from leadrelay.domain.model import Campaign
from leadrelay.domain.playbook import Playbook
from leadrelay.services.activity_log import LogReader, refresh
from leadrelay.services.bulk_routing import route_many
from leadrelay.services.intake import evaluate
from leadrelay.services.read_models import Moment, PlaybookRef, ReadModel, local

#: Leads per chunk: bounds memory (their activities are held as columns at once).
CHUNK_LEADS = 20_000
#: Changed leads written per call of ``write_scores``: bounds the Python values held at once.
WRITE_BATCH = 50_000
#: Leads per call of the per-lead ``evaluate``.
EVALUATE_BATCH = 2_000
TOLERANCE = 1e-6


@dataclass(slots=True)
class _Tally:
    """What a run counts as it goes; :meth:`RescoreReport.of` turns it into the report."""

    now: datetime
    dry_run: bool
    leads: int = 0
    written: int = 0
    level_changes: Counter[tuple[int, int]] = field(default_factory=Counter)
    became_mql: int = 0
    hand_raised: int = 0
    disqualified: int = 0
    reinstated: int = 0
    other_moves: int = 0
    mql_no_longer_meeting: int = 0
    qualify_without_move: int = 0
    evaluated: int = 0
    routed: int = 0
    per_lead_fallback: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


class LevelChange(ReadModel):
    """How many leads went from one level to another (0: no level)."""

    from_level: int = Field(serialization_alias="from", validation_alias=AliasChoices("from", "from_level"))
    to_level: int = Field(serialization_alias="to", validation_alias=AliasChoices("to", "to_level"))
    leads: int


class RescoreReport(ReadModel):
    """What ``leadrelay rescore`` changed (or, in a dry run, would change)."""

    playbook: PlaybookRef
    now: Moment
    dry_run: bool
    changed: bool
    leads_rescored: int
    leads_written: int
    level_moved_up: int
    level_moved_down: int
    level_changes: list[LevelChange]
    became_mql: int
    of_which_hand_raised: int
    mql_no_longer_meeting_a_rule: int
    meet_an_mql_rule_without_a_move: int
    disqualified: int
    reinstated: int
    other_moves: int
    judged_by_the_per_lead_engine: int
    routed: int
    per_lead_fallback: int
    seconds: dict[str, float]  # by phase, and the total

    @field_serializer("seconds")
    def _milliseconds(self, seconds: dict[str, float]) -> dict[str, float]:
        return {phase: round(value, 3) for phase, value in seconds.items()}

    @property
    def moves(self) -> int:
        """Stage moves made: became MQL, disqualified, reinstated, other."""
        return self.became_mql + self.disqualified + self.reinstated + self.other_moves

    @classmethod
    def of(cls, tally: _Tally, playbook: Playbook) -> RescoreReport:
        changes = tally.level_changes
        moves = tally.became_mql + tally.disqualified + tally.reinstated + tally.other_moves
        return cls(
            playbook=PlaybookRef(id=playbook.id, version=playbook.version, hash=playbook.hash),
            now=local(tally.now, playbook.timezone),
            dry_run=tally.dry_run,
            changed=bool(tally.written or moves),
            leads_rescored=tally.leads,
            leads_written=tally.written,
            level_moved_up=sum(n for (a, b), n in changes.items() if b > a),
            level_moved_down=sum(n for (a, b), n in changes.items() if b < a),
            level_changes=[LevelChange(from_level=a, to_level=b, leads=n) for (a, b), n in sorted(changes.items())],
            became_mql=tally.became_mql,
            of_which_hand_raised=tally.hand_raised,
            mql_no_longer_meeting_a_rule=tally.mql_no_longer_meeting,
            meet_an_mql_rule_without_a_move=tally.qualify_without_move,
            disqualified=tally.disqualified,
            reinstated=tally.reinstated,
            other_moves=tally.other_moves,
            judged_by_the_per_lead_engine=tally.evaluated,
            routed=tally.routed,
            per_lead_fallback=tally.per_lead_fallback,
            seconds=dict(tally.seconds),
        )


@dataclass(slots=True)
class _Totals:
    """The bulk results of all chunks, by lead row."""

    fit: np.ndarray
    engagement: np.ndarray
    total: np.ndarray
    level: np.ndarray
    level_rule: np.ndarray
    fit_passed: np.ndarray
    dq: np.ndarray
    mql: np.ndarray
    hand_raise: np.ndarray

    @classmethod
    def empty(cls, n: int) -> _Totals:
        f = np.zeros(n, dtype=np.float64)
        i = np.full(n, -1, dtype=np.int64)
        b = np.zeros(n, dtype=np.bool_)
        return cls(f, f.copy(), f.copy(), i.copy(), i.copy(), b, i.copy(), i.copy(), b.copy())

    def put(self, lo: int, hi: int, part: BulkResult) -> None:
        for name in ("fit", "engagement", "total", "level", "level_rule", "fit_passed", "dq", "mql", "hand_raise"):
            getattr(self, name)[lo:hi] = getattr(part, name)


def _clock(report: _Tally, phase: str, started: float) -> float:
    now = time.perf_counter()
    report.seconds[phase] = report.seconds.get(phase, 0.0) + now - started
    return now


def compute(
    tx: StoreTx, playbook: Playbook, now: datetime, report: _Tally, log: Path | None = None
) -> tuple[LeadTable, _Totals]:
    """Every lead's judgement at ``now`` by the bulk path (and the per-lead engine for the few).
    With ``log``, the activities come from the (refreshed) activity log in that folder; raises
    :class:`ActivityLogError` when its files do not match their checksums."""
    mark = time.perf_counter()
    campaigns = read_campaigns(tx)
    signatures = Signatures()
    reader = None
    if log is not None:
        reader = LogReader.open(tx, ActivityLog(log), signatures, campaigns)
    try:
        # the compiled passes for a large log only: loading them costs a process about a second
        compiled = reader is not None and reader.rows >= kernel.MIN_TOTAL_ROWS
        warm_up = None
        if reader is not None and compiled:  # loaded on a thread while the lead table is read
            reader.compiled = True
            warm_up = threading.Thread(target=kernel.warm_up, name="rescore-warm-up")
            warm_up.start()
        try:
            table = read_leads(tx, fields_read(playbook))
            mark = _clock(report, "read_leads", mark)
        finally:
            if warm_up is not None:
                warm_up.join()
        if warm_up is not None:  # what the compiled code's loading took beyond the read
            mark = _clock(report, "load_compiled", mark)
        engine = BulkEngine(playbook, now, table.profiles, signatures, compiled=None if compiled else False)
        totals = _Totals.empty(len(table))
        _assess_chunks(tx, playbook, now, report, table, totals, engine, signatures, campaigns, reader, mark)
        if reader is not None and not reader.verified():
            raise ActivityLogError("the activity log's files do not match their checksums")
    finally:
        if reader is not None:
            reader.close()
    return table, totals


def _assess_chunks(
    tx: StoreTx,
    playbook: Playbook,
    now: datetime,
    report: _Tally,
    table: LeadTable,
    totals: _Totals,
    engine: BulkEngine,
    signatures: Signatures,
    campaigns: dict[int, Campaign],
    reader: LogReader | None,
    mark: float,
) -> None:
    for lo in range(0, len(table), CHUNK_LEADS):
        hi = min(lo + CHUNK_LEADS, len(table))
        if reader is not None:
            columns = reader.columns(table.ids[lo:hi], first=lo == 0, last=hi == len(table))
        else:
            columns = read_activities(tx, table.ids[lo:hi], signatures, campaigns)
        mark = _clock(report, "read_activities", mark)
        part = engine.assess(table.profile[lo:hi], columns)
        if len(part.fallback):
            ids = [int(table.ids[lo + row]) for row in part.fallback]
            states = tx.lead_states(ids)
            accounts = tx.accounts_by_id(s.account_id for s in states.values() if s.account_id is not None)
            histories = tx.activities_of(ids)
            for row, lead_id in zip(part.fallback.tolist(), ids, strict=True):
                state = states[lead_id]
                account = accounts.get(state.account_id) if state.account_id is not None else None
                fill_from_engine(part, row, state.lead, account, histories.get(lead_id, []), playbook, now)
            report.per_lead_fallback += len(ids)
        totals.put(lo, hi, part)
        mark = _clock(report, "compute", mark)


def rescore(
    store: SqlStore, playbook: Playbook, now: datetime, *, dry_run: bool = False, log: Path | None = None
) -> RescoreReport:
    """Re-score every lead under ``playbook`` at ``now``; write and move (unless ``dry_run``).
    ``log``: the folder of the columnar activity log to read the activities from (refreshed first;
    rebuilt when its files are damaged); ``None``: read them from the table."""
    started = time.perf_counter()
    if log is not None:
        mark = time.perf_counter()
        refresh(store, log)
        refreshed = time.perf_counter() - mark
        try:
            report = _rescore(store, playbook, now, dry_run, log)
        except ActivityLogError:  # damaged since the refresh: nothing was written; build it again
            ActivityLog(log).clear()
            mark = time.perf_counter()
            refresh(store, log)
            refreshed += time.perf_counter() - mark
            report = _rescore(store, playbook, now, dry_run, log)
        report.seconds["refresh_log"] = refreshed
    else:
        report = _rescore(store, playbook, now, dry_run, None)
    report.seconds["total"] = time.perf_counter() - started
    return RescoreReport.of(report, playbook)


def _rescore(store: SqlStore, playbook: Playbook, now: datetime, dry_run: bool, log: Path | None) -> _Tally:
    report = _Tally(now, dry_run)
    with store.rehearsal(dry_run=dry_run) as tx:
        table, totals = compute(tx, playbook, now, report, log)
        mark = time.perf_counter()
        rows, candidates = _compare(table, totals, playbook, report)
        mark = _clock(report, "compare", mark)
        for lo in range(0, len(rows), WRITE_BATCH):  # Python values for one batch of leads at a time
            write_scores(tx, _scores(table, totals, playbook, rows[lo : lo + WRITE_BATCH]), playbook.hash, now)
        report.written = len(rows)
        mark = _clock(report, "write", mark)
        for start in range(0, len(candidates), EVALUATE_BATCH):
            batch = candidates[start : start + EVALUATE_BATCH]
            _count_moves(tx, report, evaluate(tx, playbook, batch, now), table, totals, batch)
            if playbook.routing is not None:  # a lead that qualified now goes to sales now
                report.routed += len(route_many(tx, playbook, batch, now, only_pending=True))
        report.evaluated = len(candidates)
        _clock(report, "evaluate", mark)
    return report


def _compare(table: LeadTable, totals: _Totals, playbook: Playbook, report: _Tally) -> tuple[np.ndarray, list[int]]:
    """The rows of the leads where anything stored differs (their new scores are written) and the
    leads the per-lead engine must judge, over columns."""
    report.leads = len(table)
    level_ids = [r.id for r in playbook.levels]
    dq_rules = playbook.disqualifications
    mql_ids = {r.id for r in playbook.mql_rules}
    stage_names = [stage.value for stage in Stage]
    stage = table.stage.positions(stage_names)

    def among(stages: frozenset[Stage]) -> np.ndarray:
        marks = np.array([name in stages for name in stage_names] + [False, False], dtype=np.bool_)
        return marks[np.where(stage >= 0, stage, len(stage_names))]

    stale = ~table.playbook_hash.isin({playbook.hash})
    differs = (
        (np.abs(totals.fit - table.fit) > TOLERANCE)
        | (np.abs(totals.engagement - table.engagement) > TOLERANCE)
        | (np.abs(totals.total - table.total) > TOLERANCE)
        | (totals.level != table.level)
        | (totals.fit_passed != table.fit_passed)
        | (totals.level_rule != table.level_rule.positions(level_ids))
        | (totals.dq != table.dq_rule.positions([r.id for r in dq_rules]))
        | stale
    )
    moved = totals.level != table.level
    if moved.any():
        pairs, counts = np.unique(np.stack([table.level[moved], totals.level[moved]]), axis=1, return_counts=True)
        for (old, new), n in zip(pairs.T.tolist(), counts.tolist(), strict=True):
            report.level_changes[(old, new)] += n
    meets = totals.mql >= 0
    counted_mql = table.mql_rule.isin(mql_ids)
    report.mql_no_longer_meeting += int(((stage == stage_names.index(Stage.MQL.value)) & counted_mql & ~meets).sum())
    disqualified = totals.dq >= 0
    changes_dq = (disqualified & among(DISQUALIFIABLE_STAGES)) | (
        ~disqualified & (stage == stage_names.index(Stage.DISQUALIFIED.value))
    )
    gate = totals.fit_passed | playbook.hand_raisers_bypass_fit_gate
    may_qualify = among(MARKETING_STAGES) & (meets | (totals.hand_raise & gate))
    candidates: list[int] = table.ids[changes_dq | may_qualify].tolist()
    return np.flatnonzero(differs), candidates


def _scores(table: LeadTable, totals: _Totals, playbook: Playbook, rows: np.ndarray) -> ScoreColumns:
    """The new scores of the lead ``rows``, as the columns :func:`write_scores` stores."""
    level_names = np.array([*(r.id for r in playbook.levels), None], dtype=object)  # -1 → the None at the end
    dq_rules = playbook.disqualifications
    dq_names = np.array([*(r.id for r in dq_rules), None], dtype=object)
    dq_reasons = np.array([*(r.reason for r in dq_rules), None], dtype=object)
    dq = totals.dq[rows]
    return ScoreColumns(
        ids=table.ids[rows].tolist(),
        fit=totals.fit[rows].tolist(),
        engagement=totals.engagement[rows].tolist(),
        total=totals.total[rows].tolist(),
        level=[v if v > 0 else None for v in totals.level[rows].tolist()],
        level_rule=level_names[totals.level_rule[rows]].tolist(),
        fit_passed=totals.fit_passed[rows].tolist(),
        dq_rule=dq_names[dq].tolist(),
        dq_reason=dq_reasons[dq].tolist(),
    )


def _count_moves(
    tx: StoreTx, report: _Tally, moves: list[tuple[str, Any]], table: LeadTable, totals: _Totals, batch: list[int]
) -> None:
    moved_keys = set()
    for key, move in moves:
        moved_keys.add(key)
        if move.to_stage == Stage.MQL:
            report.became_mql += 1
            report.hand_raised += move.trigger == Trigger.HAND_RAISED
        elif move.trigger == Trigger.DISQUALIFIED:
            report.disqualified += 1
        elif move.trigger == Trigger.REINSTATED:
            report.reinstated += 1
        else:
            report.other_moves += 1
    moved = np.array(sorted(tx.lead_ids(moved_keys).values()), dtype=np.int64)
    rows = np.searchsorted(table.ids, np.array(batch, dtype=np.int64))
    marketing = table.stage.isin({stage.value for stage in MARKETING_STAGES})[rows]
    meets = totals.mql[rows] >= 0
    report.qualify_without_move += int((meets & marketing & ~np.isin(table.ids[rows], moved)).sum())
