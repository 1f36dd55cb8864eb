"""Reports over the stored facts: the summary (leads by stage and level, MQLs this week, won and lost
deals, top leads). Counts are plain SQL over the stored rows; times are in the playbook's zone."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from pydantic import Field

from leadrelay.adapters.playbook.loader import LoadedPlaybook
from leadrelay.adapters.store.sql_store import StoreTx
from leadrelay.adapters.store.tables import leads, outcomes, transitions
from leadrelay.domain.identity import lead_key
from leadrelay.domain.lifecycle import MARKETING_STAGES, Stage
from leadrelay.domain.playbook import Playbook
from leadrelay.services.leads import lead_report
from leadrelay.services.read_models import Moment, PlaybookRef, ReadModel, department_labels, local


def week_start(now: datetime, tz: Any) -> datetime:
    local = now.astimezone(tz)
    monday = (local - timedelta(days=local.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    return monday


class AmountSums(ReadModel):
    """Won and lost amounts of one currency, as decimal text."""

    won: str = "0.00"
    lost: str = "0.00"


class ClosedDeals(ReadModel):
    won: int
    lost: int
    won_leads: int  # leads with at least one won deal
    amounts: dict[str, AmountSums]  # by currency ("-": none given)


class TopLead(ReadModel):
    email: str | None
    external_id: str | None
    name: str | None
    company: str | None
    stage: str
    level: int | None
    score: float
    why: list[str]  # the largest contributions, e.g. "Webinar attended +20"


class OwnerCount(ReadModel):
    """How many leads one holder has: a sales department (with a rep / waiting in its queue),
    marketing (nurture), or nobody (disqualified)."""

    holder: str  # sales | marketing | nobody
    department: str | None
    label: dict[str, str] | None  # by language: en, ja
    with_rep: int
    queued: int


class Summary(ReadModel):
    """``leadrelay summary``: the state of the funnel at ``as_of``."""

    as_of: Moment
    playbook: PlaybookRef
    leads: int
    unique_companies: int
    by_stage: dict[str, int]
    by_level: dict[str, int]  # "-": no level
    mqls_this_week: int
    week_start: Moment
    disqualified_by_reason: dict[str, int]
    outcomes: ClosedDeals
    owners: list[OwnerCount] = Field(default_factory=list)  # who holds the leads now (seed 003)
    top_leads: list[TopLead] = Field(default_factory=list)


def summary(tx: StoreTx, now: datetime, active: LoadedPlaybook, top: int = 10) -> Summary:
    playbook = active.playbook
    tz = playbook.timezone
    by_stage = {
        r.stage: r.n for r in tx.execute(sa.select(leads.c.stage, sa.func.count().label("n")).group_by(leads.c.stage))
    }
    level_rows = tx.execute(
        sa.select(leads.c.level, sa.func.count().label("n"))
        .where(leads.c.stage != Stage.DISQUALIFIED.value)
        .group_by(leads.c.level)
    )
    by_level = {("-" if r.level is None else str(r.level)): r.n for r in level_rows}
    since = week_start(now, tz)
    mql_week = tx.execute(
        sa.select(sa.func.count(sa.distinct(transitions.c.lead_id))).where(
            transitions.c.to_stage == Stage.MQL.value,
            transitions.c.occurred_at >= since,
            transitions.c.occurred_at <= now,
        )
    ).scalar_one()
    dq_rows = tx.execute(
        sa.select(leads.c.dq_reason, sa.func.count().label("n"))
        .where(leads.c.stage == Stage.DISQUALIFIED.value)
        .group_by(leads.c.dq_reason)
    )
    unique_companies = tx.execute(
        sa.select(sa.func.count(sa.distinct(leads.c.account_id))).where(leads.c.account_id.is_not(None))
    ).scalar_one()
    total = sum(by_stage.values())
    counts = {"won": 0, "lost": 0}
    amounts: dict[str, dict[str, str]] = {}
    outcome_rows = tx.execute(
        sa.select(
            outcomes.c.outcome,
            outcomes.c.currency,
            sa.func.count().label("n"),
            sa.func.count(sa.distinct(outcomes.c.lead_id)).label("leads"),
            sa.func.sum(outcomes.c.amount).label("amount"),
        ).group_by(outcomes.c.outcome, outcomes.c.currency)
    )
    exact_sums = tx.dialect != "sqlite"  # SQLite keeps amounts as text: its sum() is a float
    for r in outcome_rows:
        counts[r.outcome] += r.n
        if r.amount is not None and exact_sums:
            amounts.setdefault(r.currency or "-", {})[r.outcome] = str(r.amount)
    if not exact_sums:
        sums: dict[tuple[str, str], Decimal] = {}
        for o in tx.execute(
            sa.select(outcomes.c.outcome, outcomes.c.currency, outcomes.c.amount).where(outcomes.c.amount.is_not(None))
        ):
            sums[(o.currency or "-", o.outcome)] = sums.get((o.currency or "-", o.outcome), Decimal(0)) + o.amount
        for (currency, outcome), total_amount in sums.items():
            amounts.setdefault(currency, {})[outcome] = str(total_amount)
    won_leads = tx.execute(
        sa.select(sa.func.count(sa.distinct(outcomes.c.lead_id))).where(outcomes.c.outcome == "won")
    ).scalar_one()
    top_rows = tx.execute(
        sa.select(leads.c.email, leads.c.external_id)
        .where(leads.c.stage != Stage.DISQUALIFIED.value)
        .order_by(leads.c.total_score.desc(), leads.c.email, leads.c.external_id)
        .limit(top)
    ).all()
    closed = ClosedDeals(
        won=counts["won"],
        lost=counts["lost"],
        won_leads=won_leads,
        amounts={currency: AmountSums(**sums) for currency, sums in amounts.items()},
    )
    top_leads = []
    for top_row in top_rows:
        email, external_id = top_row.email, top_row.external_id
        report = lead_report(tx, lead_key(email, external_id), now, lambda _h: active, active)
        reasons = sorted((c for c in report.engagement if c.points > 0), key=lambda c: -c.points)
        grouped: dict[str | None, float] = {}
        for c in reasons:  # a contribution without a rule (label None) earns no points
            grouped[c.label] = grouped.get(c.label, 0.0) + c.points
        why = [f"{label} +{points:.0f}" for label, points in sorted(grouped.items(), key=lambda kv: -kv[1])[:3]]
        why += [f"{f.label} +{f.points:.0f}" for f in report.fit[:2]]
        account = report.account
        top_leads.append(
            TopLead(
                email=email,
                external_id=external_id,
                name=report.profile.name,
                company=(account.name or account.domain) if account else None,
                stage=report.stage,
                level=report.level.level if report.level else None,
                score=report.scores.total,
                why=why,
            )
        )
    return Summary(
        owners=owner_counts(tx, playbook),
        as_of=local(now, tz),
        playbook=PlaybookRef(id=playbook.id, version=playbook.version, hash=playbook.hash),
        leads=total,
        unique_companies=unique_companies,
        by_stage={s.value: by_stage.get(s.value, 0) for s in Stage},
        by_level=dict(sorted(by_level.items(), reverse=True)),
        mqls_this_week=mql_week,
        week_start=local(since, tz),
        disqualified_by_reason={r.dq_reason or "-": r.n for r in dq_rows},
        outcomes=closed,
        top_leads=top_leads,
    )


def owner_counts(tx: StoreTx, playbook: Playbook) -> list[OwnerCount]:
    """Who holds the leads now: each sales department (leads with a rep, leads in its queue),
    marketing (every lead in a marketing stage) and nobody (disqualified)."""
    routing = playbook.routing
    marketing_stages = [s.value for s in MARKETING_STAGES]
    rows = tx.execute(
        sa.select(
            leads.c.owner_department,
            sa.func.count(leads.c.owner_rep).label("with_rep"),
            (sa.func.count() - sa.func.count(leads.c.owner_rep)).label("queued"),
        )
        .where(leads.c.stage.not_in([*marketing_stages, Stage.DISQUALIFIED.value]))
        .group_by(leads.c.owner_department)
        .order_by(leads.c.owner_department)
    ).all()
    in_marketing = tx.execute(
        sa.select(sa.func.count()).select_from(leads).where(leads.c.stage.in_(marketing_stages))
    ).scalar_one()
    nobody = tx.execute(
        sa.select(sa.func.count()).select_from(leads).where(leads.c.stage == Stage.DISQUALIFIED.value)
    ).scalar_one()

    counts = [
        OwnerCount(holder="sales", department=r.owner_department, label=department_labels(playbook, r.owner_department),
                   with_rep=r.with_rep, queued=r.queued)
        for r in rows
    ]  # fmt: skip
    fallback = routing.fallback if routing is not None else None
    counts.append(
        OwnerCount(
            holder="marketing",
            department=fallback,
            label=department_labels(playbook, fallback),
            with_rep=0,
            queued=in_marketing,
        )
    )
    counts.append(OwnerCount(holder="nobody", department=None, label=None, with_rep=0, queued=nobody))
    return counts
