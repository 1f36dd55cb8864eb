"""Judging the leads one ingest batch touched all at once, with the vectorised engine.

:func:`judge_leads` returns for each lead what :func:`leadrelay.domain.evaluation.assess`
returns for it (scores, level, fit gate, disqualification), computed by
:class:`leadrelay.bulk.engine.BulkEngine` over the batch as columns: a batch of a few thousand
leads is judged with a few dozen NumPy operations instead of one Python walk over each lead's
history. The bulk engine is proven equal to the per-lead one (``tests/unit/test_bulk_engine.py``);
the leads it leaves out (two order-sensitive activities at the same microsecond) and batches too
small to pay for the set-up are judged by ``assess`` itself.

What the bulk path does not produce is the per-activity explanation (``counted`` and the
contributions): ingest does not store it, and :func:`leadrelay.domain.evaluation.derive_moves`
counts the points itself when it has to walk a lead's activities.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Sequence
from datetime import datetime
from typing import Any

import numpy as np

from leadrelay.bulk.engine import ActivityColumns, BulkEngine, BulkResult, Signatures, fields_read, to_us
from leadrelay.domain.evaluation import Assessment, Disqualification, LevelDecision, assess
from leadrelay.domain.model import Account, Activity, Lead
from leadrelay.domain.playbook import Playbook
from leadrelay.domain.scoring import EngagementScore, FitScore

#: Below this many leads the per-lead engine is faster than setting up the vectorised one.
MIN_BULK_LEADS = 32

Judged = tuple[Lead, Account | None, Sequence[Activity]]


def judge_leads(playbook: Playbook, now: datetime, leads: Sequence[Judged]) -> list[Assessment]:
    """Each lead's assessment at ``now`` (each lead's activities sorted), in the order given."""
    if len(leads) < MIN_BULK_LEADS:
        return [assess(lead, account, history, playbook, now) for lead, account, history in leads]
    needed = fields_read(playbook)
    profile_of: dict[Hashable, int] = {}
    profiles: list[tuple[Lead, Account | None]] = []
    profile = np.empty(len(leads), dtype=np.int64)
    signatures = Signatures()
    rows: list[int] = []
    times: list[int] = []
    codes: list[int] = []
    for row, (lead, account, history) in enumerate(leads):
        # leads that agree on every field the playbook reads are judged as one profile
        key = _profile_key(lead, account, needed) if needed is not None else row
        found = profile_of.get(key)
        if found is None:
            found = profile_of[key] = len(profiles)
            profiles.append((lead, account))
        profile[row] = found
        for activity in history:
            rows.append(row)
            times.append(to_us(activity.occurred_at))
            # the store shares one properties document (and campaign) among equal activities, so
            # their identity names the combination without serialising it for every activity
            identity = (activity.type, activity.campaign, activity.product, id(activity.properties))
            codes.append(
                signatures.code(activity.type, activity.campaign, activity.product, activity.properties, identity)
            )
    engine = BulkEngine(playbook, now, profiles, signatures)
    columns = ActivityColumns(
        np.array(rows, dtype=np.int64), np.array(times, dtype=np.int64), np.array(codes, dtype=np.int64)
    )
    result = engine.assess(profile, columns)
    out = [_assessment(result, row, playbook, now) for row in range(len(leads))]
    for row in result.fallback.tolist():
        lead, account, history = leads[row]
        out[row] = assess(lead, account, history, playbook, now)
    return out


def _profile_key(lead: Lead, account: Account | None, needed: frozenset[str]) -> Hashable:
    values: list[Any] = []
    for name in sorted(needed):
        scope, _, rest = name.partition(".")
        if scope == "lead":
            if rest.startswith("custom"):
                values.append(json.dumps(dict(lead.custom), sort_keys=True, default=str))
            else:
                values.append(getattr(lead, rest, None))
        else:
            values.append(getattr(account, rest, None) if account is not None else None)
    values.append(account is None)
    return tuple(values)


def _assessment(result: BulkResult, row: int, playbook: Playbook, now: datetime) -> Assessment:
    fit = float(result.fit[row])
    engagement = float(result.engagement[row])
    by_product = {name: float(values[row]) for name, values in result.by_product.items() if values[row]}
    scores = {"fit": fit, "engagement": engagement, "total": float(result.total[row])}
    for name, value in by_product.items():
        scores[f"product.{name}"] = value
    level = None
    if result.level_rule[row] >= 0:
        rule = playbook.levels[int(result.level_rule[row])]
        level = LevelDecision(rule.level, rule.id, rule.label, rule.owner)
    scores["level"] = float(level.level) if level else 0.0
    dq = None
    if result.dq[row] >= 0:
        dq_rule = playbook.disqualifications[int(result.dq[row])]
        dq = Disqualification(dq_rule.id, dq_rule.reason, dq_rule.label)
    return Assessment(
        as_of=now,
        disqualification=dq,
        fit=FitScore(fit, ()),
        fit_passed=bool(result.fit_passed[row]),
        engagement=EngagementScore(engagement, by_product, ()),
        scores=scores,
        level=level,
        counted=None,
    )
