"""Report ``aging``: how long leads have been in the stage they are in now.

Time in stage is ``as_of - stage_at`` (the time of the lead's last stage move), in days of 24
hours. Per stage: the count, the median and 90th percentile, the distribution over fixed steps
(under 1 day, 1–3, 3–7, 7–14, 14–30, 30–90, 90 days or more) and the oldest leads. Closed stages
(won, lost, disqualified) are left out unless ``stages=all``. Aging is a picture of now: the
period does not filter it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from leadrelay.adapters.store.tables import UtcDateTime, leads
from leadrelay.domain.lifecycle import Stage
from leadrelay.services.read_models import Moment, ReadModel, local
from leadrelay.services.report_kit import (
    Quantiles,
    Report,
    ReportContext,
    ReportOption,
    ReportSpec,
    Table,
    col,
    epoch_seconds,
    title,
)

CLOSED = (Stage.WON, Stage.LOST, Stage.DISQUALIFIED)
#: The distribution's steps: (key, lower bound in days, included).
STEPS: tuple[tuple[str, float], ...] = (
    ("under_1d", 0),
    ("1_3d", 1),
    ("3_7d", 3),
    ("7_14d", 7),
    ("14_30d", 14),
    ("30_90d", 30),
    ("90d_plus", 90),
)
STEP_LABELS: dict[str, tuple[str, str]] = {
    "under_1d": ("< 1 day", "1日未満"),
    "1_3d": ("1–3 days", "1〜3日"),
    "3_7d": ("3–7 days", "3〜7日"),
    "7_14d": ("7–14 days", "7〜14日"),
    "14_30d": ("14–30 days", "14〜30日"),
    "30_90d": ("30–90 days", "30〜90日"),
    "90d_plus": ("≥ 90 days", "90日以上"),
}
DAY = 86400.0


class StageAge(ReadModel):
    stage: str
    label: dict[str, str]
    leads: int
    days: Quantiles  # time in stage
    distribution: dict[str, int]  # STEPS key → leads


class OldLead(ReadModel):
    lead_id: int
    lead: str | None  # e-mail or external id (None once erased)
    company: str | None
    stage: str
    since: Moment
    days: float
    owner_department: str | None
    owner_rep: str | None


class AgingReport(Report):
    stages: list[StageAge]
    oldest: list[OldLead]

    def tables(self) -> list[Table]:
        step_columns = [col(key, en, ja, "int") for key, (en, ja) in STEP_LABELS.items()]
        stage_rows = [
            {
                "stage": s.stage,
                "leads": s.leads,
                "median_days": s.days.median,
                "p90_days": s.days.p90,
                **s.distribution,
            }
            for s in self.stages
        ]
        totals = {"stage": "total", "leads": sum(s.leads for s in self.stages)}
        totals.update({key: sum(s.distribution[key] for s in self.stages) for key, _ in STEPS})
        return [
            Table(
                name="stages",
                title=title("Time in current stage", "現在のステージでの経過日数"),
                columns=[
                    col("stage", "Stage", "ステージ"),
                    col("leads", "Leads", "リード数", "int"),
                    col("median_days", "Median (days)", "中央値（日）", "days"),
                    col("p90_days", "p90 (days)", "90パーセンタイル（日）", "days"),
                    *step_columns,
                ],
                rows=stage_rows,
                totals=totals,
            ),
            Table(
                name="oldest",
                title=title("Oldest leads per stage", "ステージ別の最も古いリード"),
                columns=[
                    col("stage", "Stage", "ステージ"),
                    col("lead", "Lead", "リード"),
                    col("company", "Company", "会社"),
                    col("since", "In stage since", "ステージ開始", "moment"),
                    col("days", "Days", "日数", "days"),
                    col("owner_department", "Department", "部署"),
                    col("owner_rep", "Rep", "担当者"),
                ],
                rows=[o.model_dump(mode="json", include={*OldLead.model_fields} - {"lead_id"}) for o in self.oldest],
            ),
        ]


def _days_in_stage(
    ctx: ReportContext, where: sa.ColumnElement[bool], stage: str, n: int, mean_epoch: float
) -> Quantiles:
    """Median, p90 (linear interpolation, as ``percentile_cont``) and mean of the days the ``n``
    leads of ``stage`` have been in it, read from the (stage, stage_at) index: the leads in the
    order they entered the stage, newest first, are in rising order of age, so each quantile is
    the two rows around its position — no row of the stage is fetched but those."""
    tx, now = ctx.tx, ctx.now
    newest_first = (
        sa.select(leads.c.stage_at)
        .where(where, leads.c.stage == stage)
        .order_by(leads.c.stage_at.desc(), leads.c.id.desc())
    )

    def at(q: float) -> float:
        position = q * (n - 1)
        low = int(position)
        pair = [now - r for r in tx.execute(newest_first.offset(low).limit(2)).scalars()]
        upper = pair[1] if len(pair) > 1 else pair[0]
        return float((pair[0] + (upper - pair[0]) * (position - low)).total_seconds() / DAY)

    mean = (now.timestamp() - mean_epoch) / DAY
    return Quantiles(count=n, median=at(0.5), p90=at(0.9), mean=mean)


def run(ctx: ReportContext) -> AgingReport:
    tx, now = ctx.tx, ctx.now
    closed = [s.value for s in CLOSED]
    where = ctx.visible(leads.c.owner_rep, leads.c.owner_department)
    if ctx.options["stages"] == "open":
        where = sa.and_(where, leads.c.stage.not_in(closed))
    # the steps as moments: "under N days" is "entered after now - N days", so each step of each
    # stage is a range of the (stage, stage_at) index, counted there (a count over an index range
    # reads no row; one grouped pass computing a step per lead took 30 times as long)
    since = leads.c.stage_at
    bounds = [sa.literal(now - timedelta(days=low), UtcDateTime) for _, low in STEPS[1:]]
    shown = [s.value for s in Stage if ctx.options["stages"] != "open" or s not in CLOSED]
    counts: dict[str, dict[str, int]] = {}
    means: dict[str, float] = {}  # the mean entry moment per stage, epoch seconds
    for stage in shown:
        in_stage = sa.and_(where, leads.c.stage == stage)
        read = tx.execute(
            sa.select(sa.func.count().label("n"), sa.func.avg(epoch_seconds(tx.dialect, since)).label("mean")).where(
                in_stage
            )
        ).one()
        total = int(read.n)
        if not total:
            continue
        means[stage] = float(read.mean)
        found: dict[str, int] = {}
        for i, (key, _) in enumerate(STEPS[:-1]):
            newer = since > bounds[i]
            older = since <= bounds[i - 1] if i > 0 else sa.true()
            n = tx.execute(sa.select(sa.func.count()).where(in_stage, newer, older)).scalar_one()
            if n:
                found[key] = n
        rest = total - sum(found.values())
        if rest:
            found[STEPS[-1][0]] = rest
        counts[stage] = found
    ages = {
        stage: _days_in_stage(ctx, where, stage, sum(found.values()), means[stage]) for stage, found in counts.items()
    }
    stages = []
    for stage in Stage:
        if stage.value not in counts:
            continue
        found = counts[stage.value]
        stages.append(
            StageAge(
                stage=stage.value,
                label={"en": ctx.playbook.stage_label(stage, "en"), "ja": ctx.playbook.stage_label(stage, "ja")},
                leads=sum(found.values()),
                days=ages[stage.value],
                distribution={key: found.get(key, 0) for key, _ in STEPS},
            )
        )
    # the oldest of each stage: one short read of the (stage, stage_at, id) index per stage
    oldest_rows: list[Any] = []
    if ctx.options["oldest"] > 0:
        for s in stages:
            oldest_rows += tx.execute(
                sa.select(
                    leads.c.id,
                    leads.c.email,
                    leads.c.external_id,
                    leads.c.company_name,
                    leads.c.stage,
                    leads.c.stage_at,
                    leads.c.owner_department,
                    leads.c.owner_rep,
                )
                .where(where, leads.c.stage == s.stage)
                .order_by(leads.c.stage_at, leads.c.id)
                .limit(ctx.options["oldest"])
            ).all()
    oldest = [
        OldLead(
            lead_id=r.id,
            lead=r.email or r.external_id,
            company=r.company_name,
            stage=r.stage,
            since=local(r.stage_at, ctx.tz),
            days=(now - r.stage_at).total_seconds() / DAY,
            owner_department=r.owner_department,
            owner_rep=r.owner_rep,
        )
        for r in oldest_rows
    ]
    return AgingReport(**ctx.base(), stages=stages, oldest=oldest)


SPEC = ReportSpec(
    name="aging",
    title=("Aging: time in current stage", "滞留：現在のステージでの経過時間"),
    description=(
        "How long leads have been in their current stage, its distribution and the oldest leads per stage.",
        "各リードが現在のステージに留まっている期間、その分布、ステージ別の最も古いリード。",
    ),
    run=run,
    model=AgingReport,
    options=(
        ReportOption(
            "oldest",
            "int",
            5,
            ("Oldest leads listed per stage", "ステージごとに表示する古いリードの数"),
            minimum=0,
            maximum=100,
        ),
        ReportOption(
            "stages",
            "choice",
            "open",
            (
                "open: leave out won, lost, disqualified; all: every stage",
                "open：受注・失注・対象外を除く／all：全ステージ",
            ),
            choices=("open", "all"),
        ),
    ),
)
