"""Judging a lead: disqualification, scores, level, MQL — and the stage moves activities cause.

Pure functions of (lead, account, activities, playbook, time). The moves a lead's activities
cause are *derived*: :func:`derive_moves` walks the activities after the last fixed point of the
lead's history in time order, so a late activity yields the same history as one sent in order.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from leadrelay.domain.conditions import Facts, reads_history
from leadrelay.domain.lifecycle import MARKETING_STAGES, Stage, Trigger, next_stage
from leadrelay.domain.model import Account, Activity, Lead
from leadrelay.domain.playbook import Playbook
from leadrelay.domain.scoring import (
    Counted,
    EngagementScore,
    FitScore,
    count_points,
    engagement_at,
    score_fit,
    score_map,
)

_START = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Disqualification:
    rule_id: str
    reason: str
    label: str


@dataclass(frozen=True, slots=True)
class LevelDecision:
    level: int
    rule_id: str
    label: str
    owner: str | None


@dataclass(frozen=True, slots=True)
class StageChange:
    """One move of a lead through the lifecycle, with what caused it."""

    trigger: Trigger
    from_stage: Stage
    to_stage: Stage
    at: datetime
    rule_id: str | None
    reason: str
    actor: str = "engine"
    level: int | None = None
    score: float | None = None
    product: str | None = None
    priority: bool = False
    activity_key: str | None = None


@dataclass(frozen=True, slots=True)
class Assessment:
    """A lead as the playbook sees it at ``as_of``."""

    as_of: datetime
    disqualification: Disqualification | None
    fit: FitScore
    fit_passed: bool
    engagement: EngagementScore
    scores: dict[str, float]
    level: LevelDecision | None
    #: the points every rule counted, activity by activity; ``None`` when judged without them
    #: (the vectorised engine, :mod:`leadrelay.services.batch_judgement`)
    counted: list[Counted] | None


def sort_activities(activities: Sequence[Activity]) -> list[Activity]:
    return sorted(activities, key=lambda a: (a.occurred_at, a.key))


def disqualify(facts: Facts, playbook: Playbook) -> Disqualification | None:
    for rule in playbook.disqualifications:
        if rule.test(facts):
            return Disqualification(rule.id, rule.reason, rule.label)
    return None


def level_of(facts: Facts, playbook: Playbook) -> LevelDecision | None:
    for rule in playbook.levels:  # highest level first
        if rule.condition(facts):
            return LevelDecision(rule.level, rule.id, rule.label, rule.owner)
    return None


def assess(
    lead: Lead,
    account: Account | None,
    activities: Sequence[Activity],
    playbook: Playbook,
    now: datetime,
    *,
    explain: bool = False,
) -> Assessment:
    """Scores, level and disqualification of a lead at ``now`` (``activities`` sorted)."""
    visible = activities[: bisect_right([a.occurred_at for a in activities], now)]
    base = Facts(lead, account, visible, now, {})
    fit = score_fit(base, playbook)
    counted = count_points(visible, playbook)
    engagement = engagement_at(counted, playbook, now, explain=explain)
    scores = score_map(fit.total, engagement)
    facts = Facts(lead, account, visible, now, scores)
    level = level_of(facts, playbook)
    scores["level"] = float(level.level) if level else 0.0
    return Assessment(
        as_of=now,
        disqualification=disqualify(base, playbook),
        fit=fit,
        fit_passed=playbook.fit_gate.passes(facts, fit.total),
        engagement=engagement,
        scores=scores,
        level=level,
        counted=counted,
    )


_STATIC_FIT: dict[str, bool] = {}


def fit_is_static(playbook: Playbook) -> bool:
    """Whether the fit score depends on the profile alone (no fit rule reads the activity
    history), so the fit at any moment equals the fit now."""
    known = _STATIC_FIT.get(playbook.hash)
    if known is None:
        known = _STATIC_FIT[playbook.hash] = not any(reads_history(rule.condition) for rule in playbook.fit_rules)
    return known


def derive_moves(
    stage: Stage,
    anchor: datetime | None,
    lead: Lead,
    account: Account | None,
    activities: Sequence[Activity],
    playbook: Playbook,
    *,
    check_at_anchor: bool = False,
    counted: list[Counted] | None = None,
    fit: float | None = None,
) -> list[StageChange]:
    """The moves the lead's activities cause after ``anchor``, starting in ``stage``.

    ``anchor`` ``None`` means the lead's history has no fixed point yet: every activity counts.
    ``activities`` must be sorted (see :func:`sort_activities`). With ``check_at_anchor`` the
    lead is also judged at the anchor itself (after it was reinstated or re-scored). ``counted``
    and ``fit`` may be passed in when the caller has them (see :func:`fit_is_static`).
    """
    if stage not in MARKETING_STAGES:
        return []
    requalify = playbook.sales.requalify if stage == Stage.RECYCLED and anchor is not None else "any_activity"
    if requalify == "new_evidence":
        # sales sent the lead back: only what it did after that counts towards levels and MQL rules
        assert anchor is not None
        activities = activities[bisect_right([a.occurred_at for a in activities], anchor) :]
        counted = None
    cooling_until = (
        anchor + timedelta(days=playbook.sales.cooldown_days)
        if requalify == "cooldown" and anchor is not None and playbook.sales.cooldown_days is not None
        else None
    )
    times = [a.occurred_at for a in activities]
    start = bisect_right(times, anchor) if anchor is not None else 0
    if start == len(times) and not check_at_anchor:
        return []  # nothing happened after the anchor
    if counted is None:
        counted = count_points(activities, playbook)
    if fit is None:
        fit = score_fit(Facts(lead, account, activities, anchor or _START, {}), playbook).total
    gate = playbook.fit_gate
    # below the gate's minimum fit only a hand-raise that bypasses the gate can qualify the lead
    blocked = gate.min_score is not None and fit < gate.min_score
    moves: list[StageChange] = []
    checkpoints: list[datetime] = [anchor] if check_at_anchor and anchor is not None else []
    for moment in times[start:]:
        if not checkpoints or checkpoints[-1] != moment:
            checkpoints.append(moment)
    for moment in checkpoints:
        end = bisect_right(times, moment)
        visible = activities[:end]
        if anchor is not None and moment == anchor and check_at_anchor:
            # judged again at the anchor: nothing arrives, but recent hand-raises (within the
            # scoring window) still count
            window = playbook.window()
            arrived = []
            raisers = list(activities[bisect_left(times, moment - window) if window is not None else 0 : end])
        else:
            arrived = [
                a for a in activities[bisect_left(times, moment) : end] if anchor is None or a.occurred_at > anchor
            ]
            raisers = arrived
        may_qualify = not blocked or (playbook.hand_raisers_bypass_fit_gate and _raises_hand(raisers, playbook))
        if cooling_until is not None and moment < cooling_until and not _raises_hand(raisers, playbook):
            continue  # recycled lately: only a hand-raise brings it back before the cooldown ends
        if not may_qualify and not (stage == Stage.NEW and arrived):
            continue
        engagement = engagement_at(counted, playbook, moment)
        scores = score_map(fit, engagement)
        facts = Facts(lead, account, visible, moment, scores)
        change = _qualify(stage, moment, facts, arrived, raisers, playbook, fit) if may_qualify else None
        if change is None and stage == Stage.NEW and arrived:
            change = StageChange(
                Trigger.ENGAGED,
                stage,
                next_stage(stage, Trigger.ENGAGED),
                moment,
                None,
                f"first activity: {arrived[0].type}",
                score=scores["total"],
                activity_key=arrived[0].key,
            )
        if change is not None:
            moves.append(change)
            stage = change.to_stage
            if stage == Stage.MQL:
                break
    return moves


def _raises_hand(activities: Sequence[Activity], playbook: Playbook) -> bool:
    return any(rule.matches(a) for a in activities for rule in playbook.hand_raisers)


def _qualify(
    stage: Stage,
    moment: datetime,
    facts: Facts,  # its scores are filled in with the level here
    arrived: list[Activity],
    raisers: list[Activity],
    playbook: Playbook,
    fit: float,
) -> StageChange | None:
    level = level_of(facts, playbook)
    level_no = level.level if level else None
    facts.scores["level"] = float(level_no or 0)
    gate = playbook.fit_gate.passes(facts, fit)
    for activity in raisers:
        for rule in playbook.hand_raisers:
            if rule.matches(activity) and (gate or playbook.hand_raisers_bypass_fit_gate):
                return StageChange(
                    Trigger.HAND_RAISED,
                    stage,
                    next_stage(stage, Trigger.HAND_RAISED),
                    moment,
                    rule.id,
                    f"{rule.label}: {activity.type}",
                    level=level_no,
                    score=facts.scores["total"],
                    priority=True,
                    activity_key=activity.key,
                )
    if not gate:
        return None
    for mql in playbook.mql_rules:
        if mql.condition(facts):
            return StageChange(
                Trigger.QUALIFIED,
                stage,
                next_stage(stage, Trigger.QUALIFIED),
                moment,
                mql.id,
                f"{mql.label}: {mql.condition.describe()} "
                f"(fit {facts.scores['fit']:.1f}, engagement {facts.scores['engagement']:.1f})",
                level=level_no,
                score=facts.scores["total"],
                product=mql.product,
                priority=mql.priority,
                activity_key=arrived[-1].key if arrived else None,
            )
    return None
