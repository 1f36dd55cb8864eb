"""The playbook as the engine sees it: validated, compiled rules. Built by ``leadrelay.adapters.playbook``."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any

from leadrelay.domain.calendar import BusinessCalendar
from leadrelay.domain.conditions import ALWAYS, Condition, Facts
from leadrelay.domain.lifecycle import DEFAULT_LABELS, Stage
from leadrelay.domain.matching import MatchRules
from leadrelay.domain.model import Activity
from leadrelay.domain.notifications import Notifications
from leadrelay.domain.routing import Routing, RoutingRule
from leadrelay.domain.sla import SlaPolicy

SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class Decay:
    """How a point loses weight with age: ``none``, ``half_life``, ``window`` or ``linear``."""

    kind: str = "none"
    days: float | None = None

    def factor(self, age: timedelta) -> float:
        if self.kind == "none" or self.days is None:
            return 1.0
        age_days = max(age.total_seconds(), 0.0) / SECONDS_PER_DAY
        if self.kind == "half_life":
            return math.pow(0.5, age_days / self.days)
        if self.kind == "window":
            return 1.0 if age_days <= self.days else 0.0
        return max(0.0, 1.0 - age_days / self.days)  # linear

    def describe(self, lang: str = "en") -> str:
        if self.kind == "none" or self.days is None:
            return "no decay" if lang == "en" else "減衰なし"
        days = f"{self.days:g}"
        texts = {
            "half_life": (f"halves every {days} days", f"{days}日ごとに半減"),
            "window": (f"counts for {days} days", f"{days}日間のみ有効"),
            "linear": (f"fades to zero over {days} days", f"{days}日かけてゼロへ"),
        }
        en, ja = texts[self.kind]
        return en if lang == "en" else ja


@dataclass(frozen=True, slots=True)
class Cap:
    """At most ``points`` from one rule per ``per`` (day, week, month or lead)."""

    points: float
    per: str


@dataclass(frozen=True, slots=True)
class FitRule:
    id: str
    label: str
    points: float
    condition: Condition


@dataclass(frozen=True, slots=True)
class FitGate:
    """The fit a lead needs before it may become an MQL."""

    min_score: float | None = None
    condition: Condition = ALWAYS

    def passes(self, facts: Facts, fit_score: float) -> bool:
        if self.min_score is not None and fit_score < self.min_score:
            return False
        return self.condition(facts)


@dataclass(frozen=True, slots=True)
class EngagementRule:
    id: str
    label: str
    types: frozenset[str]
    where: Condition
    points: float
    max_times: int | None = None
    unique_by: str | None = None
    unique_key: Callable[[Activity], Any] | None = None
    cap: Cap | None = None
    decay: Decay | None = None


@dataclass(frozen=True, slots=True)
class DisqualificationRule:
    id: str
    reason: str
    label: str
    test: Callable[[Facts], bool]
    text_en: str
    text_ja: str


@dataclass(frozen=True, slots=True)
class LevelRule:
    """A likelihood level and who owns a lead at it (seed 003: each level is tied to a department).

    ``departments`` are the routing departments that own a lead at this level; empty means marketing
    owns it (no rep). A lead that passes the fit gate and reaches an owned level is handed to sales
    (an MQL routed by the rules of those departments); see :meth:`Playbook.handoff_rules`.
    """

    level: int
    id: str
    label: str
    condition: Condition
    owner: str | None = None  # who owns it, as people read it (English)
    departments: tuple[str, ...] = ()
    owner_ja: str | None = None

    def owner_label(self, lang: str = "en") -> str | None:
        return (self.owner_ja or self.owner) if lang == "ja" else self.owner


@dataclass(frozen=True, slots=True)
class MqlRule:
    id: str
    label: str
    condition: Condition
    product: str | None = None
    priority: bool = False
    #: set on the rules the loader derives from the level table: reaching this level hands the lead over
    handoff_level: int | None = None


@dataclass(frozen=True, slots=True)
class HandRaiserRule:
    id: str
    label: str
    types: frozenset[str]
    where: Condition = ALWAYS

    def matches(self, activity: Activity) -> bool:
        return activity.type in self.types and self.where(activity)


@dataclass(frozen=True, slots=True)
class RejectReason:
    code: str
    label_en: str
    label_ja: str
    recycle: bool  # the lead goes back to marketing (Recycled)
    needs_text: bool = False

    def label(self, lang: str = "en") -> str:
        return self.label_ja if lang == "ja" else self.label_en


@dataclass(frozen=True, slots=True)
class SalesPolicy:
    """What sales may answer and when a lead goes back to marketing."""

    reject_reasons: Mapping[str, RejectReason] = field(default_factory=dict)
    inactive_days: float | None = 30.0  # no activity for this long while with sales: recycled
    recycle_on_lost: bool = True
    touch_types: frozenset[str] = frozenset({"call_connected", "bant_collected"})
    key_pages: Condition | None = None  # activity scope: worth telling the lead's rep at once
    #: what makes a recycled lead an MQL again: see REQUALIFY_POLICIES
    requalify: str = "new_evidence"
    cooldown_days: float | None = None  # with requalify "cooldown": days after the recycle


@dataclass(frozen=True, slots=True)
class PreSqlPolicy:
    """Seed 001's waterfall, MQL → Pre-SQL → SAL/SQL: inside sales checks an MQL (BANT) and, when it
    is worth field sales' time, *qualifies* it: the lead becomes a Pre-SQL and is handed to field
    sales, whose rep then accepts (SAL) or rejects it as any MQL.

    ``inside_sales``: the departments whose answer to an MQL they hold is "qualify"; ``rules``: how
    the field rep is picked (tried in order, as routing rules; none names an inside-sales
    department); ``fallback``: the field-sales queue a Pre-SQL waits in when no rule finds a rep.
    """

    inside_sales: frozenset[str]
    rules: tuple[RoutingRule, ...]
    fallback: str

    def handoff_routing(self, routing: Routing) -> Routing:
        """The playbook's routing with the handoff's rules and queue (same departments and reps)."""
        return Routing(routing.departments, routing.reps, self.rules, self.fallback, routing.open_stages)


#: How a recycled lead becomes an MQL again (``sales.recycle.requalify``). Hand-raisers always qualify.
REQUALIFY_POLICIES: dict[str, tuple[str, str]] = {
    "any_activity": (
        "any new activity re-judges the lead on all its evidence in the scoring window",
        "新しい行動があれば、スコア期間内のすべての行動で再判定",
    ),
    "new_evidence": (
        "only activities after the recycle count towards levels and MQL rules",
        "リサイクル後の行動だけで確度レベルとMQL条件を判定",
    ),
    "cooldown": (
        "nothing but a hand-raise qualifies it for cooldown_days after the recycle; then any activity",
        "リサイクル後 cooldown_days 日間はハンドレイザーのみ、その後は新しい行動で再判定",
    ),
}


#: What a form's ``fields`` may name: the posted field holding each of these.
FORM_FIELDS: tuple[str, ...] = ("email", "company", "name", "first_name", "last_name", "phone", "wants_contact")


@dataclass(frozen=True, slots=True)
class WebForm:
    """A landing-page form that posts to ``/forms/{id}``: which posted field is which, the
    activity each post records, and who may post it (the origins of the pages that carry it).

    ``fields`` maps each of :data:`FORM_FIELDS` the form has to the name of its posted field;
    ``profile`` maps further lead fields (``title``, ``department``, ``custom.<name>``, ...) to
    posted fields. A post with the ``wants_contact`` box checked records ``wants_contact_activity``
    as well: a hand-raise, routed to sales at once. ``honeypot`` is a field people never see;
    a post that fills it is answered as if accepted and stored nowhere.
    """

    id: str
    label: str
    activity: str
    thank_you_url: str
    fields: Mapping[str, str]
    profile: Mapping[str, str] = field(default_factory=dict)
    campaign: str | None = None
    wants_contact_activity: str | None = None
    allowed_origins: frozenset[str] = frozenset()
    honeypot: str | None = None

    def posted(self, name: str) -> str | None:
        """The posted field that holds ``name`` (one of :data:`FORM_FIELDS`), if the form has it."""
        return self.fields.get(name)


#: What an inbound webhook's payload holds: lead records (upserted) or activity records.
HOOK_RECORDS: tuple[str, ...] = ("leads", "activities")


@dataclass(frozen=True, slots=True)
class Hook:
    """An inbound webhook source (``/hooks/{source}``): the import mapping that reads its payload
    (as a row of an export of that tool), what the records are, and the NAME of the variable that
    holds its HMAC secret (the secret itself is never in the playbook)."""

    source: str
    mapping: str
    secret_env: str
    records: str = "leads"
    activity: str | None = None  # the activity type of records that carry none (records: activities)
    campaign: str | None = None


@dataclass(frozen=True, slots=True)
class Targets:
    """The volumes marketing and sales agreed on (``targets``): the MQLs marketing delivers a month
    (seed 002's "50 MQLs a month") and the new MQLs each department can take in a week (its intake
    capacity, by department id). None / missing: not agreed."""

    mqls_per_month: int | None = None
    weekly_intake: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Playbook:
    id: str
    name: str
    version: str
    hash: str
    timezone: tzinfo
    activity_types: frozenset[str]
    fit_rules: tuple[FitRule, ...] = ()
    fit_gate: FitGate = FitGate()
    engagement_rules: tuple[EngagementRule, ...] = ()
    decay: Decay = Decay()
    window_days: float | None = None
    disqualifications: tuple[DisqualificationRule, ...] = ()
    levels: tuple[LevelRule, ...] = ()
    mql_rules: tuple[MqlRule, ...] = ()
    hand_raisers: tuple[HandRaiserRule, ...] = ()
    hand_raisers_bypass_fit_gate: bool = False
    free_mail: frozenset[str] = frozenset()
    stage_labels: Mapping[Stage, tuple[str, str]] = field(default_factory=lambda: dict(DEFAULT_LABELS))
    rules_by_type: Mapping[str, tuple[EngagementRule, ...]] = field(default_factory=dict)
    routing: Routing | None = None
    sales: SalesPolicy = field(default_factory=lambda: SalesPolicy())
    sla: tuple[SlaPolicy, ...] = ()
    pre_sql: PreSqlPolicy | None = None  # None: the playbook does not use the Pre-SQL stage
    calendars: Mapping[str, BusinessCalendar] = field(default_factory=dict)  # in declared order
    notifications: Notifications | None = None
    forms: Mapping[str, WebForm] = field(default_factory=dict)
    hooks: Mapping[str, Hook] = field(default_factory=dict)
    matching: MatchRules = field(default_factory=MatchRules)
    targets: Targets = field(default_factory=Targets)

    def stage_label(self, stage: Stage, lang: str = "en") -> str:
        en, ja = self.stage_labels.get(stage, DEFAULT_LABELS[stage])
        return ja if lang == "ja" else en

    def level_rule(self, level: int | None) -> LevelRule | None:
        """The rule of level number ``level`` (``None`` or 0: no level)."""
        return next((rule for rule in self.levels if rule.level == level), None) if level else None

    def owners_at(self, level: int | None) -> tuple[str, ...]:
        """The departments that own a lead at ``level``; empty: marketing owns it."""
        rule = self.level_rule(level)
        return rule.departments if rule is not None else ()

    def window(self) -> timedelta | None:
        return timedelta(days=self.window_days) if self.window_days else None

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.timezone)
