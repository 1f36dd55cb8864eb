"""Fit and engagement scores, each carrying every contribution that made it.

Engagement works in two steps so that scores at any time are cheap and order-independent:

1. :func:`count_points` walks the lead's activities in time order once and decides how many
   points each matching rule *counts* for it (repeat rules and caps look at earlier activities
   only, over the whole history);
2. :func:`engagement_at` weighs each counted point by its age at a given moment (decay and the
   scoring window).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from leadrelay.domain.conditions import Facts
from leadrelay.domain.model import Activity
from leadrelay.domain.playbook import Decay, EngagementRule, Playbook


@dataclass(frozen=True, slots=True)
class FitContribution:
    rule_id: str
    label: str
    points: float


@dataclass(frozen=True, slots=True)
class FitScore:
    total: float
    contributions: tuple[FitContribution, ...]


def score_fit(facts: Facts, playbook: Playbook) -> FitScore:
    hits = tuple(FitContribution(r.id, r.label, r.points) for r in playbook.fit_rules if r.condition(facts))
    return FitScore(sum(h.points for h in hits), hits)


@dataclass(frozen=True, slots=True)
class Counted:
    """What one rule counts for one activity, before decay. ``note`` explains any reduction."""

    activity: Activity
    rule: EngagementRule | None
    base: float
    counted: float
    note: str = ""


def _period(rule: EngagementRule, moment: datetime, playbook: Playbook) -> tuple[int, ...]:
    assert rule.cap is not None
    local = playbook.local(moment)
    per = rule.cap.per
    if per == "day":
        return (local.year, local.month, local.day)
    if per == "week":
        year, week, _ = local.isocalendar()
        return (year, week)
    if per == "month":
        return (local.year, local.month)
    return ()


def count_points(activities: Sequence[Activity], playbook: Playbook) -> list[Counted]:
    """Decide, in time order, what every rule counts for every activity (``activities`` sorted)."""
    out: list[Counted] = []
    times: dict[str, int] = {}
    seen: dict[str, set[Any]] = {}
    spent: dict[tuple[str, tuple[int, ...]], float] = {}
    for activity in activities:
        rules = playbook.rules_by_type.get(activity.type, ())
        matched = False
        for rule in rules:
            if not rule.where(activity):
                continue
            matched = True
            note = ""
            counted = rule.points
            key = rule.unique_key(activity) if rule.unique_key is not None else None
            if key is not None:  # an activity without the property is not a repeat of anything
                bucket = seen.setdefault(rule.id, set())
                if key in bucket:
                    out.append(Counted(activity, rule, rule.points, 0.0, f"repeat of {rule.unique_by}={key}"))
                    continue
                bucket.add(key)
            done = times.get(rule.id, 0)
            if rule.max_times is not None and done >= rule.max_times:
                out.append(Counted(activity, rule, rule.points, 0.0, f"counted {rule.max_times} times already"))
                continue
            if rule.cap is not None and counted > 0:
                slot = (rule.id, _period(rule, activity.occurred_at, playbook))
                used = spent.get(slot, 0.0)
                left = max(rule.cap.points - used, 0.0)
                if counted > left:
                    note = f"cap {rule.cap.points:g} per {rule.cap.per} reached"
                    counted = left
                spent[slot] = used + counted
            if counted or not note:  # an activity the cap cut to nothing does not use up a repeat
                times[rule.id] = done + 1
            out.append(Counted(activity, rule, rule.points, counted, note))
        if not matched:
            out.append(Counted(activity, None, 0.0, 0.0, "no scoring rule"))
    return out


@dataclass(frozen=True, slots=True)
class EngagementContribution:
    activity_key: str
    activity_type: str
    occurred_at: datetime
    campaign: str | None
    product: str | None
    rule_id: str | None
    label: str | None
    base: float
    counted: float
    factor: float
    points: float
    note: str


@dataclass(frozen=True, slots=True)
class EngagementScore:
    total: float
    by_product: dict[str, float]
    contributions: tuple[EngagementContribution, ...]


def _factor(rule: EngagementRule, age: timedelta, decay: Decay, window: timedelta | None) -> float:
    """A rule's own decay replaces both the playbook's decay and its scoring window."""
    if rule.decay is not None:
        return rule.decay.factor(age)
    if window is not None and age > window:
        return 0.0
    return decay.factor(age)


def engagement_at(
    counted: Iterable[Counted], playbook: Playbook, moment: datetime, *, explain: bool = False
) -> EngagementScore:
    """The engagement score at ``moment`` from the counted points of activities up to then."""
    total = 0.0
    by_product: dict[str, float] = {}
    rows: list[EngagementContribution] = []
    window = playbook.window()
    for item in counted:
        activity = item.activity
        if activity.occurred_at > moment:
            continue
        factor = 0.0
        points = 0.0
        note = item.note
        if item.rule is not None:
            age = moment - activity.occurred_at
            factor = _factor(item.rule, age, playbook.decay, window)
            points = item.counted * factor
            if factor == 0.0 and item.counted and not note:
                note = "older than the scoring window" if window is not None and age > window else "decayed to zero"
            total += points
            if activity.product and points:
                by_product[activity.product] = by_product.get(activity.product, 0.0) + points
        if explain:
            rows.append(
                EngagementContribution(
                    activity_key=activity.key,
                    activity_type=activity.type,
                    occurred_at=activity.occurred_at,
                    campaign=activity.campaign.code if activity.campaign else None,
                    product=activity.product,
                    rule_id=item.rule.id if item.rule else None,
                    label=item.rule.label if item.rule else None,
                    base=item.base,
                    counted=item.counted,
                    factor=factor,
                    points=points,
                    note=note,
                )
            )
    return EngagementScore(total, by_product, tuple(rows))


def score_map(fit: float, engagement: EngagementScore) -> dict[str, float]:
    scores = {"fit": fit, "engagement": engagement.total, "total": fit + engagement.total}
    for product, value in engagement.by_product.items():
        scores[f"product.{product}"] = value
    return scores
