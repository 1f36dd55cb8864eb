"""Read models of one lead: what ``lead show`` and ``route explain`` print, built from stored facts.

Counts are plain SQL over the stored rows; explanations re-run the pure scoring with the exact
playbook version that made the stored decision (its hash is on the lead). Every time is in the
playbook's zone (see :mod:`leadrelay.services.read_models`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import Any

import sqlalchemy as sa
from pydantic import AliasChoices, Field

from leadrelay.adapters.playbook.loader import LoadedPlaybook
from leadrelay.adapters.store.sql_store import StoreTx, account_from_row
from leadrelay.adapters.store.tables import accounts, leads
from leadrelay.domain.evaluation import assess
from leadrelay.domain.identity import key_email, key_external_id
from leadrelay.domain.lifecycle import MARKETING_STAGES, Stage
from leadrelay.domain.playbook import Playbook
from leadrelay.errors import LeadRelayError
from leadrelay.services.matching import MatchView, match_view
from leadrelay.services.read_models import Moment, PlaybookRef, ReadModel, department_labels, local
from leadrelay.services.routing import PassedOver, Routed, RuleNotTaken
from leadrelay.services.sla import SlaRow, sla_rows
from leadrelay.services.touches import NoteView, TouchView, notes_of, touches_of

PlaybookByHash = Callable[[str], LoadedPlaybook]


class LeadNotFound(LeadRelayError, LookupError):
    pass


class Profile(ReadModel):
    name: str | None
    first_name: str | None
    last_name: str | None
    title: str | None
    seniority: str | None
    department: str | None
    phone: str | None
    country: str | None
    prefecture: str | None
    postal_code: str | None
    source_channel: str | None
    company_name: str | None  # the company the lead named (a free-mail lead has no account)
    list_source: str | None
    custom: dict[str, Any]
    created_at: Moment | None


class AccountView(ReadModel):
    domain: str
    name: str | None
    industry: str | None
    employees: int | None
    country: str | None
    prefecture: str | None
    tier: str | None
    owner: str | None


class HistoryEntry(ReadModel):
    """One stage move: when it counts (``at``), when the engine recorded it, and why."""

    at: Moment
    from_stage: str = Field(serialization_alias="from", validation_alias=AliasChoices("from", "from_stage"))
    to_stage: str = Field(serialization_alias="to", validation_alias=AliasChoices("to", "to_stage"))
    trigger: str
    actor: str
    rule: str | None
    reason: str
    level: int | None
    score: float | None
    playbook: str | None  # the first 12 characters of the playbook's hash
    recorded_at: Moment | None


class Disqualification(ReadModel):
    rule: str
    reason: str
    label: str


class Scores(ReadModel):
    fit: float
    engagement: float
    total: float
    by_product: dict[str, float]
    fit_gate_passed: bool
    fit_gate_min: float | None


class FitContribution(ReadModel):
    rule: str
    label: str
    points: float


class EngagementContribution(ReadModel):
    activity: str
    at: Moment
    campaign: str | None
    product: str | None
    rule: str | None
    label: str | None
    base: float
    counted: float
    decay: float
    points: float
    note: str


class LevelView(ReadModel):
    level: int
    rule: str
    label: str
    owner: str | None


class MqlView(ReadModel):
    rule: str | None
    at: Moment
    product: str | None
    priority: bool


class OutcomeView(ReadModel):
    outcome: str
    closed_at: Moment
    amount: str | None  # a decimal, written as text so that no digit is lost
    currency: str | None
    product: str | None
    lost_reason: str | None
    sdr: str | None
    sr: str | None
    source_id: str | None
    properties: dict[str, Any]
    recorded_at: Moment | None


class OwnerView(ReadModel):
    """Who owns the lead now and why: ``sales`` (a department, and a rep unless it waits in the
    department's queue), ``marketing`` (nurture; no rep) or ``nobody`` (disqualified)."""

    holder: str  # sales | marketing | nobody
    rep: str | None  # None: no rep (marketing, a queue, disqualified)
    rep_name: str | None
    department: str | None
    department_label: dict[str, str] | None  # by language: en, ja
    assigned_at: Moment | None  # since when (the time of the move that made it owner)
    why: str


class RoutingView(ReadModel):
    """A routing decision as ``lead show`` and ``route explain`` print it."""

    at: Moment | None
    kind: str
    rule: str | None
    department: str
    strategy: str | None
    rep: str | None
    previous_rep: str | None
    reason: str
    actor: str | None
    passed_over: list[PassedOver]
    rules_not_taken: list[RuleNotTaken]


class ExplainedView(RoutingView):
    """What ``route explain`` found: the decision routing would make now, for ``lead``. A lead
    routing does not take (not an MQL, answered by sales, disqualified) has ``would_route`` false
    and ``why_not``; the decision is then what routing would do if it qualified now."""

    lead: str
    stage: str
    would_route: bool
    why_not: str | None


class LeadReport(ReadModel):
    """Everything about one lead, with every point explained (``leadrelay lead show``)."""

    email: str | None
    external_id: str | None
    profile: Profile
    account: AccountView | None
    match: MatchView | None  # which account matched, by which tier and evidence, and who was passed over
    stage: str
    stage_label: dict[str, str]  # by language: en, ja
    stage_since: Moment
    recycled_count: int
    history: list[HistoryEntry]
    as_of: Moment
    playbook: PlaybookRef
    disqualification: Disqualification | None
    scores: Scores
    fit: list[FitContribution]
    engagement: list[EngagementContribution]
    level: LevelView | None
    mql: MqlView | None
    activities: int
    outcomes: list[OutcomeView]
    owner: OwnerView
    routing: list[RoutingView]
    sla: list[SlaRow]  # the running SLA clocks, as ``leadrelay sla --all`` reads them
    touches: list[TouchView]  # what sales did to reach the lead (calls, meetings, e-mails), oldest first
    notes: list[NoteView]  # notes on the lead, oldest first


def _lead_row(tx: StoreTx, key: str) -> Any:
    email, external_id = key_email(key), key_external_id(key)
    where = leads.c.email == email if email is not None else leads.c.external_id == external_id
    return tx.execute(sa.select(leads).where(where)).one_or_none()


def lead_report(
    tx: StoreTx, key: str, now: datetime, playbook_by_hash: PlaybookByHash, active: LoadedPlaybook
) -> LeadReport:
    """One lead by its key: an e-mail, or ``id:`` and its external id (see ``domain.identity.lead_key``)."""
    row = _lead_row(tx, key)
    if row is None:
        raise LeadNotFound(key_email(key) or key_external_id(key))
    loaded = playbook_by_hash(row.playbook_hash) if row.playbook_hash else active
    playbook = loaded.playbook
    tz = playbook.timezone
    account = None
    account_row = None
    if row.account_id is not None:
        account_row = tx.execute(sa.select(accounts).where(accounts.c.id == row.account_id)).one()
        account = account_from_row(account_row)
    state = tx.lead_states([row.id])[row.id]
    history = tx.activities_of([row.id]).get(row.id, [])
    judged = assess(state.lead, account, history, playbook, now, explain=True)
    moves = tx.history(row.id)
    decisions = tx.routing_decisions_of(row.id)
    return LeadReport(
        email=row.email,
        external_id=row.external_id,
        profile=Profile(
            name=state.lead.name or None,
            first_name=row.first_name,
            last_name=row.last_name,
            title=row.title,
            seniority=row.seniority,
            department=row.department,
            phone=row.phone,
            country=row.country,
            prefecture=row.prefecture,
            postal_code=row.postal_code,
            source_channel=row.source_channel,
            company_name=row.company_name,
            list_source=row.list_source,
            custom=row.custom or {},
            created_at=local(row.created_at, tz),
        ),
        account=None
        if account_row is None
        else AccountView(
            domain=account_row.domain,
            name=account_row.name,
            industry=account_row.industry,
            employees=account_row.employees,
            country=account_row.country,
            prefecture=account_row.prefecture,
            tier=account_row.tier,
            owner=account_row.owner,
        ),
        match=match_view(row.match, row.match_tier, row.matched_at, tz),
        stage=row.stage,
        stage_label={
            "en": playbook.stage_label(Stage(row.stage), "en"),
            "ja": playbook.stage_label(Stage(row.stage), "ja"),
        },
        stage_since=local(row.stage_at, tz),
        recycled_count=row.recycled_count,
        history=[
            HistoryEntry(
                at=local(m.occurred_at, tz),
                from_stage=m.from_stage,
                to_stage=m.to_stage,
                trigger=m.trigger,
                actor=m.actor,
                rule=m.rule_id,
                reason=m.reason,
                level=m.level,
                score=None if m.score is None else round(m.score, 2),
                playbook=m.playbook_hash[:12] if m.playbook_hash else None,
                recorded_at=local(m.recorded_at, tz),
            )
            for m in moves
        ],
        as_of=local(now, tz),
        playbook=PlaybookRef(id=playbook.id, version=playbook.version, hash=playbook.hash),
        disqualification=None
        if judged.disqualification is None
        else Disqualification(
            rule=judged.disqualification.rule_id,
            reason=judged.disqualification.reason,
            label=judged.disqualification.label,
        ),
        scores=Scores(
            fit=round(judged.fit.total, 2),
            engagement=round(judged.engagement.total, 2),
            total=round(judged.scores["total"], 2),
            by_product={k: round(v, 2) for k, v in judged.engagement.by_product.items()},
            fit_gate_passed=judged.fit_passed,
            fit_gate_min=playbook.fit_gate.min_score,
        ),
        fit=[FitContribution(rule=c.rule_id, label=c.label, points=c.points) for c in judged.fit.contributions],
        engagement=[
            EngagementContribution(
                activity=c.activity_type,
                at=local(c.occurred_at, tz),
                campaign=c.campaign,
                product=c.product,
                rule=c.rule_id,
                label=c.label,
                base=c.base,
                counted=c.counted,
                decay=round(c.factor, 4),
                points=round(c.points, 2) + 0.0,
                note=c.note,
            )
            for c in judged.engagement.contributions
        ],
        level=None
        if judged.level is None
        else LevelView(
            level=judged.level.level,
            rule=judged.level.rule_id,
            label=judged.level.label,
            owner=judged.level.owner,
        ),
        mql=None
        if row.mql_at is None
        else MqlView(rule=row.mql_rule, at=local(row.mql_at, tz), product=row.mql_product, priority=row.priority),
        activities=len(history),
        outcomes=[
            OutcomeView(
                outcome=o.outcome,
                closed_at=local(o.closed_at, tz),
                amount=None if o.amount is None else str(o.amount),
                currency=o.currency,
                product=o.product,
                lost_reason=o.lost_reason,
                sdr=o.sdr,
                sr=o.sr,
                source_id=o.source_id,
                properties=o.properties or {},
                recorded_at=local(o.recorded_at, tz),
            )
            for o in tx.outcomes_of(row.id)
        ],
        owner=owner_view(row, decisions, playbook, judged.level.level if judged.level else None),
        routing=[routing_view(d, tz) for d in decisions],
        sla=sla_rows(tx, active.playbook, now, everything=True, lead_ids=[row.id]),
        touches=touches_of(tx, active.playbook, row.id),
        notes=notes_of(tx, active.playbook, row.id),
    )


def owner_view(row: Any, decisions: list[Any], playbook: Playbook, level: int | None) -> OwnerView:
    """The lead's real owner, from where it stands: disqualified leads belong to nobody, leads in
    marketing's stages to marketing, the others to the department (and rep) routing gave them."""
    tz = playbook.timezone
    routing = playbook.routing
    stage = Stage(row.stage)

    if stage == Stage.DISQUALIFIED:
        why = f"disqualified ({row.dq_reason}): nobody follows it up" if row.dq_reason else "disqualified"
        return OwnerView(
            holder="nobody", rep=None, rep_name=None, department=None, department_label=None, assigned_at=None, why=why
        )
    if stage in MARKETING_STAGES:
        department = row.owner_department or (routing.fallback if routing is not None else None)
        rule = playbook.level_rule(level)
        if stage == Stage.RECYCLED:
            why = "recycled: back with marketing until it qualifies again"
        elif rule is not None:
            why = f"level {rule.level} ({rule.label}) is owned by {rule.owner or 'marketing'}: marketing nurtures it"
        else:
            why = "not qualified for sales yet: marketing nurtures it"
        return OwnerView(
            holder="marketing",
            rep=None,
            rep_name=None,
            department=department,
            department_label=department_labels(playbook, department),
            assigned_at=local(row.assigned_at, tz),
            why=why,
        )
    rep = row.owner_rep
    rep_name = routing.reps[rep].name if routing is not None and rep in routing.reps else None
    last = decisions[-1] if decisions else None
    if last is not None and last.department == row.owner_department and last.rep_id == rep:
        why = last.reason
    elif row.owner_department is None:
        why = "with sales, not routed (the playbook has no routing section)"
    else:
        why = "waiting in the department's queue" if rep is None else "assigned"
    return OwnerView(
        holder="sales",
        rep=rep,
        rep_name=rep_name,
        department=row.owner_department,
        department_label=department_labels(playbook, row.owner_department),
        assigned_at=local(row.assigned_at, tz),
        why=why,
    )


def routing_view(decision: Any, tz: tzinfo) -> RoutingView:
    """A stored routing decision as ``lead show`` and ``route explain`` print it."""
    details = decision.details or {}
    return RoutingView(
        at=local(decision.decided_at, tz),
        kind=decision.kind,
        rule=decision.rule_id,
        department=decision.department,
        strategy=decision.strategy,
        rep=decision.rep_id,
        previous_rep=decision.previous_rep,
        reason=decision.reason,
        actor=decision.actor,
        passed_over=[PassedOver(rep=r, why=why, detail=detail) for r, why, detail in details.get("passed_over", [])],
        rules_not_taken=[RuleNotTaken(rule=r, why=why) for r, why in details.get("misses", [])],
    )


def why_not_routed(stage: Stage, dq_reason: str | None, playbook: Playbook, level: int | None) -> str | None:
    """Why routing would not take a lead in ``stage`` (``None``: it would)."""
    open_stages = playbook.routing.open_stages if playbook.routing is not None else frozenset({Stage.MQL})
    if stage in open_stages:
        return None
    label = playbook.stage_label(stage)
    if stage == Stage.DISQUALIFIED:
        return f"it is disqualified ({dq_reason or 'no reason'}): a disqualified lead is never routed"
    if stage in MARKETING_STAGES:
        rule = playbook.level_rule(level)
        where = f"; level {rule.level} is owned by {rule.owner or 'marketing'}" if rule is not None else ""
        return f"it is in {label}, not an MQL{where}: a lead goes to sales when it becomes an MQL"
    return f"sales has answered it ({label}): only open leads ({', '.join(s.value for s in open_stages)}) are routed"


def explained_view(
    routed: Routed, now: datetime, tz: tzinfo, *, stage: Stage, why_not: str | None = None
) -> ExplainedView:
    """What ``route explain`` found: the decision routing would make now, in the shape of a
    stored one."""
    decision = routed.decision
    return ExplainedView(
        lead=routed.lead,
        stage=stage.value,
        would_route=why_not is None,
        why_not=why_not,
        at=local(now, tz),
        kind="explain",
        rule=decision.rule_id,
        department=decision.department,
        strategy=decision.strategy,
        rep=decision.rep_id,
        previous_rep=routed.previous_rep,
        reason=decision.reason,
        actor=None,
        passed_over=[PassedOver(rep=p.rep_id, why=p.reason, detail=p.detail) for p in decision.passed_over],
        rules_not_taken=[RuleNotTaken(rule=m.rule_id, why=m.reason) for m in decision.misses],
    )
