"""Report ``funnel``: MQL → (Pre-SQL) → SAL → SQL → Opportunity → Won, by MQL cohort.

Cohort-based: the unit is a **loop** of a lead, from one of its MQL transitions up to (not
including) its next MQL transition — or up to now when there is none. A loop belongs to the
cohort (week or month, ``by``) of its MQL moment, and only loops whose MQL moment falls in the
period are counted; their later steps are followed to now, also past the period's end. A lead
that went back to marketing and qualified again is counted once per loop.

A loop reaches a step when the lead's history has a transition *to* that stage inside the loop
(a won deal imported from a CRM, trigger ``won_imported``, is a transition to Won). The two kinds
of funnel HubSpot offers (``kind``):

- ``strict``: "contacts that have gone through all stages": a step counts only when every earlier
  step was reached, in order, no later than it. Pre-SQL is the optional inside-sales path: it is
  not required for later steps, and counts only when no later than SAL.
- ``any``: "contacts that have gone through any stages": the step was reached within the loop.

A loop is **ended** when a later MQL started the next loop, or the loop holds an exit: rejected,
lost, recycled, disqualified, dequalified (back to nurture) or won. At each step: ``in_flight``
is the loops that reached the step before it (Pre-SQL and SAL: MQL) and are not ended, so may
still reach it; ``dropped`` the rest of those that did not reach it. Times between steps are
from the latest earlier step the loop reached to the step (so SAL counts from Pre-SQL on the
inside-sales path), and from the MQL moment; in days of 24 hours, median and p90 over the loops
counted at the step.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import sqlalchemy as sa

from leadrelay.adapters.store.columns import read_columns
from leadrelay.adapters.store.summaries import PRE_SQL as PRE_SQL
from leadrelay.adapters.store.tables import campaigns, leads, summary_loops
from leadrelay.domain.lifecycle import Stage
from leadrelay.services.read_models import ReadModel
from leadrelay.services.report_kit import (
    Quantiles,
    Report,
    ReportContext,
    ReportOption,
    ReportSpec,
    Table,
    bucket_of,
    col,
    epoch_seconds,
    in_period,
    quantiles,
    share,
    title,
)

PRE_SQL_LABEL = ("Pre-SQL", "Pre-SQL（インサイドセールス精査済）")
#: The steps after MQL, in order, each with the step whose loops it converts from.
STEPS: tuple[tuple[str, str], ...] = (
    (PRE_SQL, Stage.MQL.value),
    (Stage.SAL.value, Stage.MQL.value),
    (Stage.SQL.value, Stage.SAL.value),
    (Stage.OPPORTUNITY.value, Stage.SQL.value),
    (Stage.WON.value, Stage.OPPORTUNITY.value),
)
SPLITS = ("none", "channel", "campaign", "level", "department", "rep")
KINDS = ("strict", "any")
SPLIT_LABELS: dict[str, tuple[str, str]] = {
    "none": ("", ""),
    "channel": ("Source channel", "流入経路"),
    "campaign": ("Campaign", "キャンペーン"),
    "level": ("Level", "レベル"),
    "department": ("Department", "部署"),
    "rep": ("Rep", "担当者"),
}
RECYCLE_REASONS: dict[str, tuple[str, str]] = {
    "after_rejection": ("Rejected with a recyclable reason", "差し戻し（再ナーチャリング対象の理由）"),
    "after_lost": ("Deal lost", "失注"),
    "inactive": ("No activity with sales for the playbook's days", "営業での活動なし（規定日数）"),
    "by_sales": ("Sent back by sales", "営業が差し戻し"),
}
DAY = 86400.0
_SEP = "\x1f"


class FunnelStep(ReadModel):
    step: str
    label: dict[str, str]
    reached: int
    in_flight: int  # reached the step before, not ended: may still reach this one
    dropped: int  # reached the step before, ended without this one
    of_previous: float | None  # reached / reached at the step before
    of_mql: float | None  # reached / MQL loops
    days_from_previous: Quantiles
    days_from_mql: Quantiles


class FunnelGroup(ReadModel):
    cohort: str
    split: str | None
    mqls: int  # loops (MQL moments) in the cohort
    open: int  # loops not ended
    steps: list[FunnelStep]  # MQL first


class ReasonCount(ReadModel):
    reason: str | None
    label: dict[str, str]
    loops: int


class FunnelReport(Report):
    kind: str
    split: str
    steps: list[FunnelStep]  # every loop of the period, MQL first
    groups: list[FunnelGroup]  # per cohort (and split value)
    rejected: list[ReasonCount]
    recycled: list[ReasonCount]

    def tables(self) -> list[Table]:
        step_rows = [
            {
                "step": s.step,
                "label": s.label["en"],
                "label_ja": s.label["ja"],
                "reached": s.reached,
                "in_flight": s.in_flight,
                "dropped": s.dropped,
                "of_previous": s.of_previous,
                "of_mql": s.of_mql,
                "median_days_previous": s.days_from_previous.median,
                "p90_days_previous": s.days_from_previous.p90,
                "median_days_mql": s.days_from_mql.median,
                "p90_days_mql": s.days_from_mql.p90,
            }
            for s in self.steps
        ]
        shown = [s for s in self.steps if s.step != Stage.MQL.value]
        group_rows = []
        for g in self.groups:
            row: dict[str, Any] = {"cohort": g.cohort, "split": g.split, "mql": g.mqls}
            row.update({s.step: s.reached for s in g.steps if s.step != Stage.MQL.value})
            row["won_share"] = g.steps[-1].of_mql
            row["open"] = g.open
            group_rows.append(row)
        totals: dict[str, Any] = {"cohort": "total", "mql": self.steps[0].reached}
        totals.update({s.step: s.reached for s in shown})
        totals["won_share"] = self.steps[-1].of_mql
        totals["open"] = sum(g.open for g in self.groups)
        reason_columns = [
            col("reason", "Reason", "理由"),
            col("label", "Label", "内容（英語）"),
            col("label_ja", "Label (Japanese)", "内容"),
            col("loops", "Loops", "件数", "int"),
        ]
        return [
            Table(
                name="steps",
                title=title("Funnel steps", "ファネルのステップ"),
                columns=[
                    col("step", "Step", "ステップ"),
                    col("label", "Label", "名称（英語）"),
                    col("label_ja", "Label (Japanese)", "名称"),
                    col("reached", "Reached", "到達", "int"),
                    col("in_flight", "In flight", "進行中", "int"),
                    col("dropped", "Dropped", "離脱", "int"),
                    col("of_previous", "Of previous step", "前ステップ比", "percent"),
                    col("of_mql", "Of MQLs", "MQL比", "percent"),
                    col("median_days_previous", "Median days from previous", "前ステップからの日数（中央値）", "days"),
                    col("p90_days_previous", "p90 days from previous", "前ステップからの日数（90%）", "days"),
                    col("median_days_mql", "Median days from MQL", "MQLからの日数（中央値）", "days"),
                    col("p90_days_mql", "p90 days from MQL", "MQLからの日数（90%）", "days"),
                ],
                rows=step_rows,
            ),
            Table(
                name="cohorts",
                title=title("Funnel by MQL cohort", "MQLコホート別ファネル"),
                columns=[
                    col("cohort", "Cohort", "コホート"),
                    *(
                        [col("split", SPLIT_LABELS[self.split][0], SPLIT_LABELS[self.split][1])]
                        if self.split != "none"
                        else []
                    ),
                    col("mql", "MQL", "MQL", "int"),
                    *[col(s.step, s.label["en"], s.label["ja"], "int") for s in shown],
                    col("won_share", "Won of MQLs", "受注率（MQL比）", "percent"),
                    col("open", "Open loops", "進行中", "int"),
                ],
                rows=group_rows,
                totals=totals,
            ),
            Table(
                name="rejected",
                title=title("Rejected, by reason", "差し戻し（理由別）"),
                columns=reason_columns,
                rows=[
                    {"reason": r.reason, "label": r.label["en"], "label_ja": r.label["ja"], "loops": r.loops}
                    for r in self.rejected
                ],
                totals={"reason": "total", "loops": sum(r.loops for r in self.rejected)},
            ),
            Table(
                name="recycled",
                title=title("Recycled, by reason", "リサイクル（理由別）"),
                columns=reason_columns,
                rows=[
                    {"reason": r.reason, "label": r.label["en"], "label_ja": r.label["ja"], "loops": r.loops}
                    for r in self.recycled
                ],
                totals={"reason": "total", "loops": sum(r.loops for r in self.recycled)},
            ),
        ]


def _label(ctx: ReportContext, stage: str) -> dict[str, str]:
    if stage == PRE_SQL and stage not in {s.value for s in Stage}:
        return {"en": PRE_SQL_LABEL[0], "ja": PRE_SQL_LABEL[1]}
    known = Stage(stage)
    return {"en": ctx.playbook.stage_label(known, "en"), "ja": ctx.playbook.stage_label(known, "ja")}


def _per_loop(ctx: ReportContext) -> dict[str, np.ndarray[Any, Any]]:
    """One row per visible loop of the period (read from the loops' summary, ``summary_loops``), as
    columns: its cohort and split value, the moment it reached each step (epoch seconds, NaN: not
    reached), whether it holds an exit or was followed by another MQL, and its rejection's reason
    code and recycle's reason ('' when none)."""
    tx = ctx.tx
    loops = summary_loops
    split = ctx.options["split"]
    source: sa.FromClause = loops
    value: sa.ColumnElement[Any] = sa.literal("")
    if split == "channel":
        source = source.join(leads, leads.c.id == loops.c.lead_id)
        value = leads.c.source_channel
    elif split == "campaign":
        source = source.outerjoin(campaigns, campaigns.c.id == loops.c.campaign_id)
        value = campaigns.c.code
    elif split == "level":
        value = sa.cast(loops.c.level, sa.String)
    elif split == "department":
        value = loops.c.department
    elif split == "rep":
        value = loops.c.rep_id
    columns: list[sa.ColumnElement[Any]] = [
        sa.func.coalesce(bucket_of(loops.c.start, ctx.buckets()), "").label("cohort"),
        sa.func.coalesce(value, "").label("split"),
        epoch_seconds(tx.dialect, loops.c.start).label(Stage.MQL.value),
        *[epoch_seconds(tx.dialect, loops.c[f"{stage}_at"]).label(stage) for stage, _ in STEPS],
        sa.case((loops.c.exited, 1), else_=0).label("exited"),
        sa.case((loops.c.until.is_not(None), 1), else_=0).label("superseded"),
        sa.func.coalesce(loops.c.rejected, "").label("rejected"),
        sa.func.coalesce(loops.c.recycled, "").label("recycled"),
    ]
    statement = (
        sa.select(*columns)
        .select_from(source)
        .where(in_period(loops.c.start, ctx.period), ctx.visible(loops.c.rep_id, loops.c.department))
    )
    text = ("cohort", "split", "rejected", "recycled")
    types = [pa.string() if c.name in text else pa.float64() for c in columns]
    read = read_columns(tx, statement, types)  # as Arrow columns: no Python row per loop
    return {
        c.name: np.asarray(values.to_numpy(zero_copy_only=False), dtype=object if c.name in text else np.float64)
        for c, values in zip(columns, read, strict=True)
    }


def run(ctx: ReportContext) -> FunnelReport:
    c = _per_loop(ctx)
    at = {stage: c[stage] for stage in (Stage.MQL.value, *[x for x, _ in STEPS])}
    strict = ctx.options["kind"] == "strict"
    reached: dict[str, np.ndarray[Any, Any]] = {Stage.MQL.value: np.ones(at[Stage.MQL.value].shape, dtype=bool)}
    with np.errstate(invalid="ignore"):
        for stage, before in STEPS:
            got = ~np.isnan(at[stage])
            if not strict:
                reached[stage] = got
            elif stage == PRE_SQL:
                sal = at[Stage.SAL.value]
                reached[stage] = got & (np.isnan(sal) | (at[stage] <= sal))
            else:
                reached[stage] = reached[before] & got & (at[stage] >= at[before])
    still_open = (c["exited"] == 0) & (c["superseded"] == 0)
    steps = [(stage, before) for stage, before in STEPS if stage != PRE_SQL or reached[PRE_SQL].any()]
    from_previous: dict[str, np.ndarray[Any, Any]] = {}
    for i, (stage, _) in enumerate(STEPS):
        previous = at[Stage.MQL.value]
        for earlier, _ in STEPS[:i]:  # the latest earlier step reached wins
            previous = np.where(np.isnan(at[earlier]), previous, at[earlier])
        from_previous[stage] = at[stage] - previous
    none = Quantiles(count=0, median=None, p90=None, mean=None)

    def figures(mask: np.ndarray[Any, Any]) -> list[FunnelStep]:
        mqls = int(mask.sum())
        out = [
            FunnelStep(
                step=Stage.MQL.value,
                label=_label(ctx, Stage.MQL.value),
                reached=mqls,
                in_flight=0,
                dropped=0,
                of_previous=None,
                of_mql=share(mqls, mqls),
                days_from_previous=none,
                days_from_mql=none,
            )
        ]
        for stage, before in steps:
            here = mask & reached[stage]
            came = mask & reached[before] & ~reached[stage]
            n = int(here.sum())
            out.append(
                FunnelStep(
                    step=stage,
                    label=_label(ctx, stage),
                    reached=n,
                    in_flight=int((came & still_open).sum()),
                    dropped=int((came & ~still_open).sum()),
                    of_previous=share(n, int((mask & reached[before]).sum())),
                    of_mql=share(n, mqls),
                    days_from_previous=quantiles(from_previous[stage][here], DAY),
                    days_from_mql=quantiles((at[stage] - at[Stage.MQL.value])[here], DAY),
                )
            )
        return out

    groups = []
    if c["cohort"].size:
        pairs = np.char.add(np.char.add(c["cohort"].astype(str), _SEP), c["split"].astype(str))
        for key in np.unique(pairs):
            cohort, split = str(key).split(_SEP)
            mask = pairs == key
            groups.append(
                FunnelGroup(
                    cohort=cohort,
                    split=split or None,
                    mqls=int(mask.sum()),
                    open=int((mask & still_open).sum()),
                    steps=figures(mask),
                )
            )
    groups.sort(key=lambda g: (g.cohort, g.split is None, g.split or ""))
    return FunnelReport(
        **ctx.base(),
        kind=ctx.options["kind"],
        split=ctx.options["split"],
        steps=figures(np.ones(at[Stage.MQL.value].shape, dtype=bool)),
        groups=groups,
        rejected=_rejected(ctx, c["rejected"]),
        recycled=_recycled(c["recycled"]),
    )


def _counts(codes: np.ndarray[Any, Any]) -> dict[str, int]:
    """How many loops have each code ('' — none — left out)."""
    if not codes.size:
        return {}
    found, counts = np.unique(codes.astype(str), return_counts=True)
    return {str(k): int(n) for k, n in zip(found.tolist(), counts.tolist(), strict=True) if k != ""}


def _rejected(ctx: ReportContext, codes: np.ndarray[Any, Any]) -> list[ReasonCount]:
    reasons = ctx.playbook.sales.reject_reasons
    out = []
    for code, n in sorted(_counts(codes).items(), key=lambda item: (-item[1], item[0])):
        known = reasons.get(code)
        label = {"en": known.label("en"), "ja": known.label("ja")} if known else {"en": code, "ja": code}
        out.append(ReasonCount(reason=code, label=label, loops=n))
    return out


def _recycled(codes: np.ndarray[Any, Any]) -> list[ReasonCount]:
    found = _counts(codes)
    return [
        ReasonCount(reason=key, label={"en": en, "ja": ja}, loops=found[key])
        for key, (en, ja) in RECYCLE_REASONS.items()
        if key in found
    ]


SPEC = ReportSpec(
    name="funnel",
    title=("Funnel: MQL to Won by cohort", "ファネル：MQLから受注まで（コホート別）"),
    description=(
        "Conversion and time between steps from MQL to Won, by MQL week or month, with rejections and recycles.",
        "MQLから受注までの各ステップの転換率とステップ間の日数（MQLの週・月コホート別）、差し戻しとリサイクル。",
    ),
    run=run,
    model=FunnelReport,
    by=("month", "week"),
    options=(
        ReportOption(
            "kind",
            "choice",
            "any",
            (
                "any: a step counts when reached in the loop; strict: only when every earlier step was reached in order",
                "any：ループ内で到達したステップを数える／strict：それ以前のステップを順に経た場合のみ数える",
            ),
            choices=KINDS,
        ),
        ReportOption(
            "split",
            "choice",
            "none",
            (
                "Break each cohort down by: none, channel, campaign, level, department, rep",
                "コホートの内訳：none、channel（流入経路）、campaign、level、department（部署）、rep（担当者）",
            ),
            choices=SPLITS,
        ),
    ),
)
