"""Recycling after inactivity: a lead sales holds without any sign of life goes back to marketing.

The playbook's ``sales.recycle.inactive_days`` sets how long sales may hold a lead in a watched
stage (SAL, SQL) without a recorded activity and without a move. A lead is inactive at ``now``
when it entered its stage, and its last activity happened, strictly before
``now - inactive_days``: a lead whose last sign of life is exactly ``inactive_days`` old stays.

Pure: the store selects the candidates with :func:`inactive_before`'s cut-off, and the service
checks each with :func:`inactivity` before recycling it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from leadrelay.domain.lifecycle import Stage

#: Stages the inactivity rule watches (an opportunity is a deal: sales closes it as won or lost).
WATCHED_STAGES: tuple[Stage, ...] = (Stage.SAL, Stage.SQL)


def inactive_before(now: datetime, days: float) -> datetime:
    """The cut-off: a lead whose last sign of life is earlier than this is inactive at ``now``."""
    return now - timedelta(days=days)


@dataclass(frozen=True, slots=True)
class Inactivity:
    """Whether a lead is inactive at a moment, and why (or why not)."""

    inactive: bool
    reason: str
    last_seen: datetime  # its last activity, or when it entered its stage if that is later


def inactivity(
    stage: Stage,
    stage_at: datetime,
    last_activity_at: datetime | None,
    now: datetime,
    inactive_days: float | None,
) -> Inactivity:
    """Is a lead in ``stage`` since ``stage_at``, last active at ``last_activity_at``, inactive at ``now``?"""
    last_seen = stage_at if last_activity_at is None else max(stage_at, last_activity_at)
    if inactive_days is None:
        return Inactivity(False, "the playbook does not recycle inactive leads", last_seen)
    if stage not in WATCHED_STAGES:
        watched = ", ".join(s.value for s in WATCHED_STAGES)
        return Inactivity(False, f"stage {stage.value} is not watched for inactivity ({watched} are)", last_seen)
    if last_seen < inactive_before(now, inactive_days):
        return Inactivity(True, f"no activity for {inactive_days:g} days while with sales", last_seen)
    return Inactivity(
        False, f"last activity or move at {last_seen.isoformat()}, within {inactive_days:g} days", last_seen
    )
