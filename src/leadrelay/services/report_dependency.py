"""Report ``dependency``: how much of the pipeline comes straight from marketing's campaigns and
how much from inside sales re-working leads sales had rejected or recycled (seed 001).

Of the steps into the chosen stage (``stage``: opportunity, pre_sql or sql) that happened in each
period bucket: how many, and how much amount, on the direct path and on the nurture path (the
paths are defined in :mod:`leadrelay.services.report_paths`); the nurture path's share of the
steps and of the amount; and how long the nurture took — from the window's first rejection or
recycle to the step, in days — its median, p90 and distribution, per bucket (its trend) and over
the period. Counted for the leads the caller sees (by the lead's current owner).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
import sqlalchemy as sa

from leadrelay.adapters.store.tables import leads, transitions
from leadrelay.domain.lifecycle import Stage
from leadrelay.services.read_models import ReadModel
from leadrelay.services.report_kit import (
    Quantiles,
    Report,
    ReportContext,
    ReportOption,
    ReportSpec,
    Table,
    amount_sum,
    bucket_of,
    col,
    currency_option,
    money,
    quantiles,
    seconds_between,
    share,
    title,
)
from leadrelay.services.report_paths import DIRECT, NURTURE, PRE_SQL, STEP_STAGES, steps, with_owner

DAY = 86400.0
#: The nurture duration's distribution: (key, lower bound in days).
DURATION_STEPS: tuple[tuple[str, float], ...] = (
    ("under_7d", 0),
    ("7_30d", 7),
    ("30_90d", 30),
    ("90_180d", 90),
    ("180d_plus", 180),
)
DURATION_LABELS: dict[str, tuple[str, str]] = {
    "under_7d": ("< 7 days", "7日未満"),
    "7_30d": ("7–30 days", "7〜30日"),
    "30_90d": ("30–90 days", "30〜90日"),
    "90_180d": ("90–180 days", "90〜180日"),
    "180d_plus": ("≥ 180 days", "180日以上"),
}
STAGE_LABELS: dict[str, tuple[str, str]] = {
    Stage.OPPORTUNITY.value: ("Opportunity", "商談"),
    PRE_SQL: ("Pre-SQL", "Pre-SQL"),
    Stage.SQL.value: ("SQL", "SQL"),
}


class PathFigures(ReadModel):
    """The steps of one path: how many, how many of them with an amount, and the amounts' sum."""

    steps: int
    with_amount: int
    amount: Decimal


class DependencyRow(ReadModel):
    """One bucket (or the whole period): both paths, the nurture path's shares and its duration."""

    bucket: str
    start: date | None
    steps: int
    direct: PathFigures
    nurture: PathFigures
    nurture_share: float | None  # of the steps
    nurture_amount_share: float | None  # of the amount
    nurture_days: Quantiles  # from the first rejection or recycle of the window to the step


class DependencyReport(Report):
    stage: str
    stage_label: dict[str, str]
    stage_seen: bool  # the history has any move into the stage (Pre-SQL is optional)
    currency: str | None  # the currency summed (None: every amount, whatever its currency)
    currencies: list[str]  # the currencies of the amounts counted ("-": none given)
    rows: list[DependencyRow]
    total: DependencyRow
    distribution: dict[str, int]  # DURATION_STEPS key → nurture steps of the period

    def tables(self) -> list[Table]:
        def flat(r: DependencyRow) -> dict[str, Any]:
            return {
                "bucket": r.bucket,
                "steps": r.steps,
                "direct": r.direct.steps,
                "nurture": r.nurture.steps,
                "nurture_share": r.nurture_share,
                "direct_amount": str(r.direct.amount),
                "nurture_amount": str(r.nurture.amount),
                "nurture_amount_share": r.nurture_amount_share,
                "nurture_median_days": r.nurture_days.median,
                "nurture_p90_days": r.nurture_days.p90,
            }

        en, ja = self.stage_label["en"], self.stage_label["ja"]
        totals = flat(self.total)
        totals["bucket"] = "total"
        return [
            Table(
                name="paths",
                title=title(
                    f"{en}: direct from campaigns vs. inside sales' nurture",
                    f"{ja}：キャンペーンからの直接CVとインサイドセールスのナーチャリング",
                ),
                columns=[
                    col("bucket", "Period", "期間"),
                    col("steps", en, ja, "int"),
                    col("direct", "Direct", "直接CV", "int"),
                    col("nurture", "Nurture", "ナーチャリング", "int"),
                    col("nurture_share", "Nurture share", "ナーチャリング比率", "percent"),
                    col("direct_amount", "Direct amount", "直接CV金額", "amount"),
                    col("nurture_amount", "Nurture amount", "ナーチャリング金額", "amount"),
                    col("nurture_amount_share", "Nurture amount share", "ナーチャリング金額比率", "percent"),
                    col("nurture_median_days", "Nurture median (days)", "ナーチャリング期間 中央値（日）", "days"),
                    col("nurture_p90_days", "Nurture p90 (days)", "ナーチャリング期間 90パーセンタイル（日）", "days"),
                ],
                rows=[flat(r) for r in self.rows],
                totals=totals,
            ),
            Table(
                name="nurture_duration",
                title=title("How long the nurture took", "ナーチャリングの所要期間"),
                columns=[
                    col("duration", "Duration", "期間（英語）"),
                    col("duration_ja", "Duration (Japanese)", "期間"),
                    col("steps", en, ja, "int"),
                    col("share", "Share", "比率", "percent"),
                ],
                rows=[
                    {
                        "duration": DURATION_LABELS[key][0],
                        "duration_ja": DURATION_LABELS[key][1],
                        "steps": n,
                        "share": share(n, self.total.nurture.steps),
                    }
                    for key, n in self.distribution.items()
                ],
                totals={"duration": "total", "steps": self.total.nurture.steps, "share": None},
            ),
        ]


def run(ctx: ReportContext) -> DependencyReport:
    tx = ctx.tx
    stage = ctx.options["stage"]
    currency = currency_option(ctx.options["currency"])
    found = steps(stage, ctx.period)
    source = with_owner(found, found.c.lead_id, ctx.visibility.everything)
    seen = ctx.visible(leads.c.owner_rep, leads.c.owner_department)
    bucket = bucket_of(found.c.at, ctx.buckets())
    counted_amount: sa.ColumnElement[bool] = found.c.amount.is_not(None)
    if currency is not None:
        counted_amount = sa.and_(counted_amount, sa.or_(found.c.currency.is_(None), found.c.currency == currency))
    amount = sa.case((counted_amount, found.c.amount), else_=sa.null())
    days = seconds_between(tx.dialect, found.c.nurture_from, found.c.at)
    # every query computes the steps again, so there are two: the counts and amounts (by bucket,
    # path, currency and duration step), then the nurture durations for their quantiles
    duration_step = sa.case(
        (found.c.path == DIRECT, sa.null()),
        *[
            (days < DAY * DURATION_STEPS[i + 1][1], sa.literal(DURATION_STEPS[i][0]))
            for i in range(len(DURATION_STEPS) - 1)
        ],
        else_=sa.literal(DURATION_STEPS[-1][0]),
    )
    figures: dict[tuple[str, str], PathFigures] = {}
    found_currencies: set[str] = set()
    spread: dict[str, int] = {}
    for r in tx.execute(
        sa.select(
            bucket.label("bucket"),
            found.c.path,
            found.c.currency,
            duration_step.label("duration"),
            sa.func.count().label("n"),
            sa.func.count(amount).label("with_amount"),
            amount_sum(tx.dialect, amount).label("amount"),
        )
        .select_from(source)
        .where(seen)
        .group_by(bucket, found.c.path, found.c.currency, duration_step)
    ):
        before = figures.get((r.bucket, r.path), PathFigures(steps=0, with_amount=0, amount=Decimal("0.00")))
        figures[(r.bucket, r.path)] = PathFigures(
            steps=before.steps + r.n,
            with_amount=before.with_amount + r.with_amount,
            amount=before.amount + money(r.amount),
        )
        if r.with_amount:
            found_currencies.add(r.currency or "-")
        if r.duration is not None:
            spread[r.duration] = spread.get(r.duration, 0) + r.n
    currencies = sorted(found_currencies)
    nurture = sa.and_(seen, found.c.path == NURTURE)
    durations = tx.execute(
        sa.select(bucket.label("bucket"), days.label("days")).select_from(source).where(nurture)
    ).all()
    keys = np.array([r.bucket for r in durations], dtype=object)
    values = np.array([r.days for r in durations], dtype=np.float64)
    by_bucket = {key: quantiles(values[keys == key], DAY) for key in dict.fromkeys(keys.tolist())}
    overall = {"all": quantiles(values, DAY)}
    stage_seen = (
        tx.execute(sa.select(transitions.c.id).where(transitions.c.to_stage == stage).limit(1)).first() is not None
    )
    empty = PathFigures(steps=0, with_amount=0, amount=Decimal("0.00"))
    none = Quantiles(count=0, median=None, p90=None, mean=None)

    def row(key: str, start: date | None, direct: PathFigures, nurtured: PathFigures, q: Quantiles) -> DependencyRow:
        return DependencyRow(
            bucket=key,
            start=start,
            steps=direct.steps + nurtured.steps,
            direct=direct,
            nurture=nurtured,
            nurture_share=share(nurtured.steps, direct.steps + nurtured.steps),
            nurture_amount_share=share(float(nurtured.amount), float(direct.amount + nurtured.amount)),
            nurture_days=q,
        )

    rows = [
        row(
            b.key,
            b.start,
            figures.get((b.key, DIRECT), empty),
            figures.get((b.key, NURTURE), empty),
            by_bucket.get(b.key, none),
        )
        for b in ctx.buckets()
    ]

    def summed(path: str) -> PathFigures:
        parts = [f for (_, p), f in figures.items() if p == path]
        return PathFigures(
            steps=sum(f.steps for f in parts),
            with_amount=sum(f.with_amount for f in parts),
            amount=sum((f.amount for f in parts), Decimal("0.00")),
        )

    total = row("total", None, summed(DIRECT), summed(NURTURE), overall.get("all", none))
    en, ja = STAGE_LABELS[stage]
    if stage in {s.value for s in Stage}:
        en, ja = ctx.playbook.stage_label(Stage(stage), "en"), ctx.playbook.stage_label(Stage(stage), "ja")
    return DependencyReport(
        **ctx.base(),
        stage=stage,
        stage_label={"en": en, "ja": ja},
        stage_seen=stage_seen,
        currency=currency,
        currencies=currencies,
        rows=rows,
        total=total,
        distribution={key: int(spread.get(key, 0)) for key, _ in DURATION_STEPS},
    )


SPEC = ReportSpec(
    name="dependency",
    title=("Inside-sales dependency: direct vs. nurtured pipeline", "インサイドセールス依存度：直接CVとナーチャリング"),
    description=(
        "Of the opportunities (or Pre-SQLs, SQLs) created per month: how many and how much came straight from "
        "campaigns, and how many from inside sales re-working rejected or recycled leads; the nurture's duration.",
        "月ごとに創出された商談（またはPre-SQL・SQL）のうち、キャンペーンからの直接CVと、差し戻し・リサイクルされた"
        "リードをインサイドセールスが再育成したものの件数・金額と、ナーチャリングの所要期間。",
    ),
    run=run,
    model=DependencyReport,
    by=("month", "week"),
    options=(
        ReportOption(
            "stage",
            "choice",
            Stage.OPPORTUNITY.value,
            (
                "The step counted: opportunity, pre_sql (when the playbook has Pre-SQL) or sql",
                "数える段階：opportunity（商談）、pre_sql（Pre-SQLがある場合）、sql",
            ),
            choices=STEP_STAGES,
        ),
        ReportOption(
            "currency",
            "text",
            "",
            (
                "Sum only amounts in this currency (and amounts given without one); empty: every amount",
                "この通貨の金額（と通貨のない金額）のみを合計する。空：すべての金額",
            ),
        ),
    ),
    default_days=365,
)
