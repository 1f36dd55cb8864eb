"""Report ``campaigns``: leads, MQLs, opportunities and won deals per campaign, credited by
first-touch, last-touch and linear attribution, with the pipeline campaigns that produced no
direct conversion flagged (seed 001).

A **conversion** is a lead's move into MQL or Opportunity in the period (each loop counts), or a
deal won in the period (``outcomes``). Its **touches** are the lead's activities that carry a
campaign, from ``window_days`` before the conversion's moment up to it (both included; 0: no
limit) — the influence time frame of Salesforce's campaign influence, measured for a won deal from
the lead's last opportunity before the win (from the win when there is none). **First-touch**
gives the conversion to the earliest touch's campaign, **last-touch** to the latest's, **linear**
splits it equally over the touches (a campaign touched twice gets two shares), as HubSpot's
attribution models do. Ties are broken by the order the activities were stored. A won deal's
amount is credited in the same shares. Conversions with no touch in the window are counted as
*no campaign touch*.

A campaign's **direct conversions** are the opportunities on the direct path (no rejection or
recycle of the lead in the loop, :mod:`leadrelay.services.report_paths`) whose last touch is the
campaign. A campaign of kind ``pipeline`` touched in the period without one is flagged.
**Leads** are the distinct leads with an activity of the campaign in the period.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from leadrelay.adapters.store import campaign_reach, summaries
from leadrelay.adapters.store.tables import activities, campaigns, leads, outcomes, summary_credits, transitions
from leadrelay.domain.lifecycle import Stage
from leadrelay.services.read_models import ReadModel
from leadrelay.services.report_kit import (
    Column,
    Report,
    ReportContext,
    ReportOption,
    ReportSpec,
    Table,
    col,
    currency_option,
    days_before,
    in_period,
    money,
    seconds_between,
    title,
)
from leadrelay.services.report_paths import DIRECT, steps, with_owner

DAY = 86400.0
PIPELINE_KIND = "pipeline"
MODELS: dict[str, tuple[str, str]] = {
    "first_touch": ("First-touch attribution", "ファーストタッチ・アトリビューション"),
    "last_touch": ("Last-touch attribution", "ラストタッチ・アトリビューション"),
    "linear": ("Linear attribution", "線形アトリビューション"),
}
KINDS = ("mql", "opportunity", "won")


class Credits(ReadModel):
    """What one attribution model gives a campaign (shares of conversions; amounts of won deals)."""

    mqls: float = 0.0
    opportunities: float = 0.0
    won: float = 0.0
    won_amount: Decimal = Decimal("0.00")


class CampaignRow(ReadModel):
    code: str
    name: str | None
    channel: str | None
    kind: str | None
    leads: int  # distinct leads with an activity of the campaign in the period
    first_touch: Credits
    last_touch: Credits
    linear: Credits
    direct_opportunities: int  # direct-path opportunities whose last touch is the campaign
    flagged: bool  # kind pipeline, touched in the period, no direct conversion


def _row(
    code: str, name: str | None, kind: str | None, leads: int | None, credits: Credits, direct: int | None, flag: str
) -> dict[str, Any]:
    return {
        "code": code,
        "name": name,
        "kind": kind,
        "leads": leads,
        "mqls": credits.mqls,
        "opportunities": credits.opportunities,
        "won": credits.won,
        "won_amount": str(credits.won_amount),
        "direct_opportunities": direct,
        "flag": flag,
    }


class CampaignsReport(Report):
    window_days: int  # 0: no limit
    currency: str | None
    campaigns: list[CampaignRow]
    unattributed: Credits  # conversions with no campaign touch in the window
    totals: Credits  # every conversion of the period

    def tables(self) -> list[Table]:
        out = []
        for model, (en, ja) in MODELS.items():
            kind = "float" if model == "linear" else "int"
            columns: list[Column] = [
                col("code", "Campaign", "キャンペーン"),
                col("name", "Name", "名称"),
                col("kind", "Kind", "種類"),
                col("leads", "Leads", "リード数", "int"),
                col("mqls", "MQLs", "MQL", kind),  # type: ignore[arg-type]
                col("opportunities", "Opportunities", "商談", kind),  # type: ignore[arg-type]
                col("won", "Won", "受注", kind),  # type: ignore[arg-type]
                col("won_amount", "Won amount", "受注金額", "amount"),
                col("direct_opportunities", "Direct opportunities", "直接CVの商談", "int"),
                col("flag", "No direct conversion", "直接CVなし"),
            ]

            rows = [
                _row(
                    r.code, r.name, r.kind, r.leads, getattr(r, model), r.direct_opportunities, "⚑" if r.flagged else ""
                )
                for r in self.campaigns
            ]
            rows.append(
                _row("-", "(no campaign touch / キャンペーン接触なし)", None, None, self.unattributed, None, "")
            )
            totals = _row(
                "total", None, None, None, self.totals, sum(r.direct_opportunities for r in self.campaigns), ""
            )
            out.append(Table(name=model, title=title(en, ja), columns=columns, rows=rows, totals=totals))
        return out


def _float_amount(dialect: str, column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """An amount to multiply by a share: exact NUMERIC on PostgreSQL, a double on SQLite (where
    amounts are decimal text)."""
    return sa.cast(column, sa.Float) if dialect == "sqlite" else column


def _reached(ctx: ReportContext, seen: sa.ColumnElement[bool]) -> dict[int, int]:
    """The distinct leads with an activity of each campaign in the period: for everyone's view a range
    of the reach summary (its days local to the playbook's zone), else counted from the activities."""
    tx, period = ctx.tx, ctx.period
    if ctx.visibility.everything and tx.summary_campaign_zone() == period.timezone:
        return campaign_reach.reached(tx, period.start, period.end)
    return {
        r.campaign_id: r.n
        for r in tx.execute(
            sa.select(activities.c.campaign_id, sa.func.count(sa.distinct(activities.c.lead_id)).label("n"))
            .select_from(with_owner(activities, activities.c.lead_id, ctx.visibility.everything))
            .where(activities.c.campaign_id.is_not(None), in_period(activities.c.occurred_at, period), seen)
            .group_by(activities.c.campaign_id)
        )
    }


def _in_currency(
    amount: sa.ColumnElement[Any], currency: sa.ColumnElement[Any], wanted: str | None
) -> sa.ColumnElement[Any]:
    """``amount`` where it counts for the currency option (in ``wanted`` or given without one; every
    amount when there is no option), else NULL."""
    if wanted is None:
        return amount
    return sa.case((sa.or_(currency.is_(None), currency == wanted), amount), else_=sa.cast(sa.null(), amount.type))


def _credit_sums(
    first: sa.ColumnElement[bool],
    last: sa.ColumnElement[bool],
    share: sa.ColumnElement[Any],
    amount: sa.ColumnElement[Any],
    direct: sa.ColumnElement[bool],
) -> list[sa.ColumnElement[Any]]:
    """The credits of a group of touches (or of summary rows) by the three models: counts, shares,
    amounts credited, and the direct opportunities whose last touch it is."""
    return [
        sa.func.sum(sa.case((first, 1), else_=0)).label("first"),
        sa.func.sum(sa.case((last, 1), else_=0)).label("last"),
        sa.func.sum(share).label("linear"),
        sa.func.sum(sa.case((first, amount), else_=None)).label("first_amount"),
        sa.func.sum(sa.case((last, amount), else_=None)).label("last_amount"),
        sa.func.sum(amount * share).label("linear_amount"),
        sa.func.sum(sa.case((sa.and_(last, direct), 1), else_=0)).label("direct"),
    ]


def _summed_credits(ctx: ReportContext, currency: str | None, seen: sa.ColumnElement[bool]) -> Sequence[Any]:
    """The credits per campaign and kind of the period's conversions, summed from the credits summary
    (derived with the default window; each row one conversion's credit to one campaign)."""
    c = summary_credits.c
    amount = _float_amount(ctx.dialect, _in_currency(c.amount, c.currency, currency))
    sums = _credit_sums(c.first == 1, c.last == 1, c.share, amount, c.direct == 1)
    return ctx.tx.execute(
        sa.select(c.campaign_id, c.kind, *sums)
        .select_from(with_owner(summary_credits, c.lead_id, ctx.visibility.everything))
        .where(in_period(c.at, ctx.period), seen)
        .group_by(c.campaign_id, c.kind)
    ).all()


def run(ctx: ReportContext) -> CampaignsReport:
    tx, period, dialect = ctx.tx, ctx.period, ctx.dialect
    window = int(ctx.options["window_days"])
    currency = currency_option(ctx.options["currency"])
    seen = ctx.visible(leads.c.owner_rep, leads.c.owner_department)
    null_amount = sa.cast(sa.null(), outcomes.c.amount.type)

    mqls = sa.select(
        sa.literal("mql").label("kind"),
        transitions.c.id.label("conversion"),
        transitions.c.lead_id,
        transitions.c.occurred_at.label("anchor"),
        null_amount.label("amount"),
        sa.literal(0).label("direct"),
    ).where(transitions.c.to_stage == Stage.MQL.value, in_period(transitions.c.occurred_at, period))
    opened = steps(Stage.OPPORTUNITY.value, period)
    opportunities = sa.select(
        sa.literal("opportunity").label("kind"),
        opened.c.id.label("conversion"),
        opened.c.lead_id,
        opened.c.at.label("anchor"),
        null_amount.label("amount"),
        sa.case((opened.c.path == DIRECT, 1), else_=0).label("direct"),
    )
    last_opportunity = (
        sa.select(sa.func.max(transitions.c.occurred_at))
        .where(
            transitions.c.lead_id == outcomes.c.lead_id,
            transitions.c.to_stage == Stage.OPPORTUNITY.value,
            transitions.c.occurred_at <= outcomes.c.closed_at,
        )
        .scalar_subquery()
    )
    counted = _in_currency(outcomes.c.amount, outcomes.c.currency, currency)
    won = sa.select(
        sa.literal("won").label("kind"),
        outcomes.c.id.label("conversion"),
        outcomes.c.lead_id,
        sa.func.coalesce(last_opportunity, outcomes.c.closed_at).label("anchor"),
        counted.label("amount"),
        sa.literal(0).label("direct"),
    ).where(outcomes.c.outcome == "won", in_period(outcomes.c.closed_at, period))
    union = sa.union_all(mqls, opportunities, won).subquery("conversions")
    conversions = (
        sa.select(union)
        .select_from(with_owner(union, union.c.lead_id, ctx.visibility.everything))
        .where(seen)
        .subquery("visible")
    )

    touch_window = [activities.c.occurred_at <= conversions.c.anchor]
    if window > 0:
        # a bound the (lead_id, occurred_at) index ranges over (a day early: never too late),
        # then the exact window
        touch_window.append(activities.c.occurred_at >= days_before(dialect, conversions.c.anchor, window + 1))
        touch_window.append(seconds_between(dialect, activities.c.occurred_at, conversions.c.anchor) <= window * DAY)
    partition = (conversions.c.kind, conversions.c.conversion)
    in_order = (activities.c.occurred_at, activities.c.id)  # a total order: the last touch is number n
    touches = (
        sa.select(
            conversions.c.kind,
            conversions.c.amount,
            conversions.c.direct,
            activities.c.campaign_id,
            sa.func.row_number().over(partition_by=partition, order_by=in_order).label("first"),
            # the same window as the numbering (one sort of the touches, not one per window)
            sa.func.count().over(partition_by=partition, order_by=in_order, rows=(None, None)).label("n"),
        )
        .select_from(
            conversions.join(
                activities,
                sa.and_(
                    activities.c.lead_id == conversions.c.lead_id,
                    activities.c.campaign_id.is_not(None),
                    *touch_window,
                ),
            )
        )
        .subquery("touches")
    )
    amount = _float_amount(dialect, touches.c.amount)
    share = 1.0 / sa.cast(touches.c.n, sa.Float)
    is_first, is_last = touches.c.first == 1, touches.c.first == touches.c.n
    if window == summaries.CREDIT_WINDOW_DAYS:
        credits = _summed_credits(ctx, currency, seen)
    else:  # another window than the summary's: counted from the touches
        sums = _credit_sums(is_first, is_last, share, amount, touches.c.direct == 1)
        credits = tx.execute(
            sa.select(touches.c.campaign_id, touches.c.kind, *sums).group_by(touches.c.campaign_id, touches.c.kind)
        ).all()
    whole = {
        r.kind: (r.n, r.amount)
        for r in tx.execute(
            sa.select(
                conversions.c.kind,
                sa.func.count().label("n"),
                sa.func.sum(_float_amount(dialect, conversions.c.amount)).label("amount"),
            ).group_by(conversions.c.kind)
        )
    }
    touched = _reached(ctx, seen)

    def add(target: Credits, kind: str, value: Any, amount_value: Any) -> Credits:
        if kind == "won":
            return target.model_copy(
                update={"won": target.won + float(value), "won_amount": target.won_amount + money(amount_value)}
            )
        field = "mqls" if kind == "mql" else "opportunities"
        return target.model_copy(update={field: getattr(target, field) + float(value)})

    per: dict[int, dict[str, Credits]] = {}
    direct: dict[int, int] = {}
    for r in credits:
        models = per.setdefault(r.campaign_id, {m: Credits() for m in MODELS})
        models["first_touch"] = add(models["first_touch"], r.kind, r.first, r.first_amount)
        models["last_touch"] = add(models["last_touch"], r.kind, r.last, r.last_amount)
        models["linear"] = add(models["linear"], r.kind, r.linear, r.linear_amount)
        direct[r.campaign_id] = direct.get(r.campaign_id, 0) + int(r.direct)
    totals = Credits()
    for kind in KINDS:
        n, total_amount = whole.get(kind, (0, None))
        totals = add(totals, kind, n, total_amount)
    attributed = Credits()
    for models in per.values():
        first = models["first_touch"]
        attributed = Credits(
            mqls=attributed.mqls + first.mqls,
            opportunities=attributed.opportunities + first.opportunities,
            won=attributed.won + first.won,
            won_amount=attributed.won_amount + first.won_amount,
        )
    unattributed = Credits(
        mqls=totals.mqls - attributed.mqls,
        opportunities=totals.opportunities - attributed.opportunities,
        won=totals.won - attributed.won,
        won_amount=totals.won_amount - attributed.won_amount,
    )
    ids = sorted(set(per) | set(touched))
    rows: list[CampaignRow] = []
    if ids:
        info = {
            r.id: r
            for r in tx.execute(
                sa.select(
                    campaigns.c.id, campaigns.c.code, campaigns.c.name, campaigns.c.channel, campaigns.c.kind
                ).where(campaigns.c.id.in_(ids))
            )
        }
        empty = {m: Credits() for m in MODELS}
        for campaign_id in ids:
            c = info[campaign_id]
            models = per.get(campaign_id, empty)
            rows.append(
                CampaignRow(
                    code=c.code,
                    name=c.name,
                    channel=c.channel,
                    kind=c.kind,
                    leads=int(touched.get(campaign_id, 0)),
                    first_touch=models["first_touch"],
                    last_touch=models["last_touch"],
                    linear=models["linear"],
                    direct_opportunities=direct.get(campaign_id, 0),
                    flagged=c.kind == PIPELINE_KIND and campaign_id in touched and direct.get(campaign_id, 0) == 0,
                )
            )
        rows.sort(key=lambda r: r.code)
    return CampaignsReport(
        **ctx.base(),
        window_days=window,
        currency=currency,
        campaigns=rows,
        unattributed=unattributed,
        totals=totals,
    )


SPEC = ReportSpec(
    name="campaigns",
    title=("Campaigns: attribution and direct conversions", "キャンペーン：アトリビューションと直接CV"),
    description=(
        "Leads, MQLs, opportunities and won amount per campaign by first-touch, last-touch and linear attribution; "
        "pipeline campaigns without a direct conversion are flagged.",
        "キャンペーンごとのリード・MQL・商談・受注金額（ファーストタッチ・ラストタッチ・線形アトリビューション）。"
        "直接CVのない案件創出（pipeline）キャンペーンに印を付ける。",
    ),
    run=run,
    model=CampaignsReport,
    options=(
        ReportOption(
            "window_days",
            "int",
            90,
            (
                "Touches count from this many days before the conversion (0: no limit)",
                "コンバージョンの何日前までの接点を数えるか（0：制限なし）",
            ),
            minimum=0,
            maximum=3650,
        ),
        ReportOption(
            "currency",
            "text",
            "",
            (
                "Sum only won amounts in this currency (and amounts given without one); empty: every amount",
                "この通貨の受注金額（と通貨のない金額）のみを合計する。空：すべての金額",
            ),
        ),
    ),
    default_days=91,
)
