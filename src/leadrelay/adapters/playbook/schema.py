"""The shape of a playbook file, validated with pydantic. Conditions (``when``/``where``) are
checked afterwards by :mod:`leadrelay.domain.conditions`, which knows fields and operators.

Every number has a range a real playbook stays well inside, so that no value that validates can
overflow the date and time arithmetic later (``within 99999999999 days``); ``.nan`` and ``.inf``
are refused everywhere.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

RuleId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=80)]
Points = Annotated[float, Field(ge=-1000, le=1000)]
#: a number of days: more than zero, at most a hundred years
Days = Annotated[float, Field(gt=0, le=36_500)]
#: a score threshold: a fit or total score is a sum of rule points, each within ±1,000
Score = Annotated[float, Field(ge=-1_000_000, le=1_000_000)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Label(Strict):
    en: str
    ja: str | None = None


class FreeMailDoc(Strict):
    enabled: bool = True
    reason: str = "free_mail"
    label: str = "Free-mail address"
    extra_domains: list[str] = []


class CompetitorsDoc(Strict):
    reason: str = "competitor"
    label: str = "Competitor"
    domains: list[str] = []


class CountriesServedDoc(Strict):
    reason: str = "country_not_served"
    label: str = "Country not served"
    countries: list[str]
    unknown: Literal["allow", "disqualify"] = "allow"


class DisqualificationRuleDoc(Strict):
    id: RuleId
    reason: str
    label: str | None = None
    when: Any


class DisqualificationDoc(Strict):
    free_mail: FreeMailDoc | None = FreeMailDoc()
    competitors: CompetitorsDoc | None = None
    countries_served: CountriesServedDoc | None = None
    rules: list[DisqualificationRuleDoc] = []


class FitRuleDoc(Strict):
    id: RuleId
    label: str | None = None
    points: Points
    when: Any


class FitGateDoc(Strict):
    min_score: Score | None = None
    when: Any = None


class FitDoc(Strict):
    gate: FitGateDoc = FitGateDoc()
    rules: list[FitRuleDoc] = []


class DecayDoc(Strict):
    half_life_days: Days | None = None
    window_days: Days | None = None
    linear_days: Days | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> DecayDoc:
        given = [k for k in ("half_life_days", "window_days", "linear_days") if getattr(self, k) is not None]
        if len(given) > 1:
            raise ValueError(f"choose one decay: {', '.join(given)} given together")
        return self


class RepeatDoc(Strict):
    max_times: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    unique_by: str | None = None


class CapDoc(Strict):
    points: Annotated[float, Field(gt=0, le=1_000_000)]
    per: Literal["day", "week", "month", "lead"]


class EngagementRuleDoc(Strict):
    id: RuleId
    label: str | None = None
    activity: str | list[str]
    where: Any = None
    points: Points
    repeat: RepeatDoc | None = None
    cap: CapDoc | None = None
    decay: DecayDoc | None = None

    @model_validator(mode="after")
    def _cap_needs_gain(self) -> EngagementRuleDoc:
        if self.cap is not None and self.points <= 0:
            raise ValueError("cap applies to rules that give points; this rule's points are not positive")
        return self


class EngagementDoc(Strict):
    window_days: Days | None = None
    decay: DecayDoc = DecayDoc()
    rules: list[EngagementRuleDoc] = []


class LevelDoc(Strict):
    level: Annotated[int, Field(ge=1, le=20)]
    id: RuleId
    label: str | None = None
    #: the routing department(s) that own a lead at this level; the fallback department (marketing) or
    #: nothing: marketing owns it and no rep is assigned
    owner: str | list[str] | None = None
    when: Any


class MqlRuleDoc(Strict):
    id: RuleId
    label: str | None = None
    product: str | None = None
    priority: bool = False
    when: Any


class MqlDoc(Strict):
    rules: list[MqlRuleDoc] = []


class HandRaiserRuleDoc(Strict):
    id: RuleId
    label: str | None = None
    activity: str | list[str]
    where: Any = None


class HandRaisersDoc(Strict):
    bypass_fit_gate: bool = False
    rules: list[HandRaiserRuleDoc] = []


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Strategy = Literal["round_robin", "weighted", "load_balanced", "named_account", "territory", "segment"]


class TerritoryDoc(Strict):
    countries: list[str] = []
    regions: list[str] = []
    prefectures: list[str] = []
    postal_codes: list[str] = []
    area_codes: list[str] = []


class SegmentDoc(Strict):
    employees: (
        tuple[Annotated[int, Field(ge=0, le=10_000_000)] | None, Annotated[int, Field(ge=0, le=10_000_000)] | None]
        | None
    ) = None
    industries: list[str] = []


class AbsenceDoc(Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    starts: date = Field(alias="from")
    ends: date = Field(alias="to")
    note: str = ""

    @model_validator(mode="after")
    def _ordered(self) -> AbsenceDoc:
        if self.ends < self.starts:
            raise ValueError("'to' is before 'from'")
        return self


class RepDoc(Strict):
    id: RuleId
    name: str | None = None
    email: str | None = None
    capacity: Annotated[int, Field(ge=0, le=100_000)] | None = None
    weight: Annotated[float, Field(gt=0, le=1000)] = 1.0
    territory: TerritoryDoc | None = None
    named_accounts: list[str] = []
    segment: SegmentDoc | None = None
    working_days: list[Weekday] = ["mon", "tue", "wed", "thu", "fri"]
    out_of_office: list[AbsenceDoc] = []
    active: bool = True
    lang: Literal["en", "ja"] = "ja"  # the language of the messages the rep receives


class ManagerDoc(Strict):
    name: str
    email: str | None = None
    lang: Literal["en", "ja"] = "ja"


class DepartmentDoc(Strict):
    id: RuleId
    label: Label | str | None = None
    calendar: str | None = None  # a calendars[].id; default: the playbook's first calendar
    manager: ManagerDoc | None = None
    reps: list[RepDoc] = []


class RoutingRuleDoc(Strict):
    id: RuleId
    label: str | None = None
    when: Any = None
    territory: TerritoryDoc | None = None
    department: str
    strategy: Strategy = "round_robin"


class RoutingDoc(Strict):
    open_stages: list[str] = ["mql", "pre_sql", "sal", "sql"]
    departments: list[DepartmentDoc]
    rules: list[RoutingRuleDoc] = []
    fallback: str


class RejectReasonDoc(Strict):
    code: RuleId
    label: Label | str | None = None
    recycle: bool = True  # back to marketing (Recycled) rather than staying rejected
    needs_text: bool = False


class RecycleDoc(Strict):
    inactive_days: Annotated[float, Field(gt=0, le=36500)] | None = 30  # no activity while with sales
    on_lost: bool = True
    #: what makes a recycled lead an MQL again (domain.playbook.REQUALIFY_POLICIES)
    requalify: Literal["any_activity", "new_evidence", "cooldown"] = "new_evidence"
    cooldown_days: Annotated[float, Field(gt=0, le=3650)] | None = None

    @model_validator(mode="after")
    def _cooldown(self) -> RecycleDoc:
        if self.requalify == "cooldown" and self.cooldown_days is None:
            raise ValueError("requalify: cooldown needs cooldown_days (how long after the recycle)")
        if self.requalify != "cooldown" and self.cooldown_days is not None:
            raise ValueError("cooldown_days applies only with requalify: cooldown")
        return self


DEFAULT_REJECT_REASONS = [
    {"code": "not_ready", "label": {"en": "Not ready yet", "ja": "検討時期ではない"}},
    {"code": "bad_timing", "label": {"en": "Bad timing", "ja": "タイミングが合わない"}},
    {"code": "no_budget", "label": {"en": "No budget", "ja": "予算なし"}},
    {"code": "no_authority", "label": {"en": "No authority", "ja": "決裁権なし"}},
    {"code": "existing_contract", "label": {"en": "Existing contract elsewhere", "ja": "他社と契約中"}},
    {"code": "wrong_person", "label": {"en": "Wrong person", "ja": "担当者違い"}, "recycle": False},
    {"code": "duplicate", "label": {"en": "Duplicate", "ja": "重複"}, "recycle": False},
    {"code": "competitor", "label": {"en": "Competitor", "ja": "競合"}, "recycle": False},
    {"code": "other", "label": {"en": "Other", "ja": "その他"}, "recycle": False, "needs_text": True},
]


class SalesDoc(Strict):
    reject_reasons: list[RejectReasonDoc] = [RejectReasonDoc.model_validate(r) for r in DEFAULT_REJECT_REASONS]
    recycle: RecycleDoc = RecycleDoc()
    touch_types: list[str] = ["call_connected", "bant_collected"]
    #: activities worth telling a lead's rep about at once (notification event key_page_visit)
    key_pages: Any = {
        "all": [
            {"field": "activity.type", "op": "eq", "value": "page_viewed"},
            {"field": "activity.properties.page_kind", "op": "in", "value": ["pricing", "case_study"]},
        ]
    }


class ClosureDoc(Strict):
    """Closed every year from one month-day to another (``12-29`` to ``01-03`` wraps the year)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    starts: str | date = Field(alias="from")
    ends: str | date = Field(alias="to")
    note: str = ""


class CalendarDoc(Strict):
    id: RuleId
    label: str | None = None
    timezone: str | None = None  # default: the playbook's time zone
    working_days: list[Weekday] = ["mon", "tue", "wed", "thu", "fri"]
    hours: str | list[str] = ["09:00-18:00"]
    holidays: list[str] = []  # country codes (JP, US) or country-subdivision codes (US-NY)
    closures: list[ClosureDoc] = []
    closed_dates: list[date] = []


class ChannelDoc(Strict):
    id: RuleId
    kind: Literal["email", "webhook"]
    format: Literal["chat", "signed"] | None = None
    url: str | None = None
    url_env: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] | None = None
    secret_env: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] | None = None
    to: list[str] = []
    lang: Literal["en", "ja"] = "ja"


Event = Literal[
    "assigned",
    "hand_raiser",
    "key_page_visit",
    "nurture_finished",
    "sla_warning",
    "sla_breach",
    "recycled",
    "suppression_changed",
]


class NotificationRuleDoc(Strict):
    id: RuleId
    label: str | None = None
    event: Event
    to: list[str] = []
    channels: list[str]


class NotificationsDoc(Strict):
    channels: list[ChannelDoc] = []
    rules: list[NotificationRuleDoc] = []


EnvName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=120)]
#: A posted form field's name, as the HTML form writes it (``name="email"``)
PostedName = Annotated[str, Field(min_length=1, max_length=120)]


class FormFieldsDoc(Strict):
    """Which posted field is which (``name=`` of the HTML inputs)."""

    email: PostedName
    company: PostedName | None = None
    name: PostedName | None = None  # the full name in one field
    first_name: PostedName | None = None
    last_name: PostedName | None = None
    phone: PostedName | None = None
    wants_contact: PostedName | None = None  # a checkbox: checked makes the post a hand-raise


class FormDoc(Strict):
    id: RuleId
    label: str | None = None
    activity: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")] = "form_submitted"
    campaign: Annotated[str, Field(min_length=1, max_length=120)] | None = None
    fields: FormFieldsDoc
    profile: dict[str, PostedName] = {}  # further lead fields: lead field -> posted field
    wants_contact_activity: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")] = "contact_requested"
    allowed_origins: list[str] = []
    honeypot: PostedName | None = None
    thank_you_url: str


class HookDoc(Strict):
    source: RuleId
    mapping: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")]
    secret_env: EnvName
    records: Literal["leads", "activities"] = "leads"
    activity: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")] | None = None
    campaign: Annotated[str, Field(min_length=1, max_length=120)] | None = None


class SlaPolicyDoc(Strict):
    id: RuleId
    label: str | None = None
    departments: list[str] = []  # empty: every department
    levels: list[Annotated[int, Field(ge=1, le=20)]] = []  # empty: every level
    accept_within_hours: Annotated[float, Field(gt=0, le=10_000)] | None = None
    first_touch_within_hours: Annotated[float, Field(gt=0, le=10_000)] | None = None
    warn_at: Annotated[float, Field(gt=0, lt=1)] = 0.75
    on_breach: Literal["escalate", "reassign"] = "escalate"
    #: the stage whose answer it times: mql (the rep routing gave the lead) or pre_sql (the field rep
    #: inside sales handed it to; needs the pre_sql section)
    stage: Literal["mql", "pre_sql"] = "mql"

    @model_validator(mode="after")
    def _some_clock(self) -> SlaPolicyDoc:
        if self.accept_within_hours is None and self.first_touch_within_hours is None:
            raise ValueError("give accept_within_hours, first_touch_within_hours or both")
        return self


class PreSqlDoc(Strict):
    """Seed 001's Pre-SQL stage: inside sales qualifies an MQL and hands it to field sales."""

    enabled: bool = True
    inside_sales: list[str]  # departments whose answer to an MQL is "qualify"
    rules: list[RoutingRuleDoc]  # who in field sales takes a Pre-SQL, tried in order
    fallback: str | None = None  # the field-sales queue when no rule finds a rep (default: the first rule's)


class SlaDoc(Strict):
    policies: list[SlaPolicyDoc] = []


class SharedDomainSplitDoc(Strict):
    account: str  # the domain of the account these leads belong to
    names: list[str]  # a lead whose normalised company name contains one of these goes there


class SharedDomainDoc(Strict):
    id: RuleId
    domain: str
    split: list[SharedDomainSplitDoc] = []
    default: str | None = None  # the account of the shared domain's other leads (none: match by name)


class MatchingAccountDoc(Strict):
    domain: str  # the account's domain
    extra_domains: list[str] = []  # more domains of the same company (a group with several)
    names: list[str] = []  # more names it goes by (aliases: matched in tier 2)


Corroboration = Literal["phone", "postal_code", "website"]


class MatchingDoc(Strict):
    #: the fuzzy score (0-100) at or above which a close name is a candidate (see docs/account-matching.md)
    fuzzy_threshold: Annotated[float, Field(ge=50, le=100)] = 90
    corroborate: list[Corroboration] = ["phone", "postal_code", "website"]
    shared_domains: list[SharedDomainDoc] = []
    accounts: list[MatchingAccountDoc] = []


class LifecycleDoc(Strict):
    labels: dict[str, Label] = {}


class TargetsDoc(Strict):
    """What marketing and sales agreed on: MQLs delivered a month, new MQLs each department takes a week."""

    mqls_per_month: Annotated[int, Field(ge=0, le=10_000_000)] | None = None
    weekly_intake: dict[str, Annotated[int, Field(ge=0, le=10_000_000)]] = {}


class PlaybookDoc(Strict):
    id: RuleId
    name: str
    version: str
    description: str | None = None
    timezone: str = "Asia/Tokyo"
    activity_types: list[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]] = []
    lifecycle: LifecycleDoc = LifecycleDoc()
    disqualification: DisqualificationDoc = DisqualificationDoc()
    fit: FitDoc = FitDoc()
    engagement: EngagementDoc = EngagementDoc()
    levels: list[LevelDoc] = []
    mql: MqlDoc = MqlDoc()
    hand_raisers: HandRaisersDoc = HandRaisersDoc()
    calendars: list[CalendarDoc] = []
    routing: RoutingDoc | None = None
    sales: SalesDoc = SalesDoc()
    sla: SlaDoc = SlaDoc()
    pre_sql: PreSqlDoc | None = None
    matching: MatchingDoc = MatchingDoc()
    targets: TargetsDoc = TargetsDoc()

    notifications: NotificationsDoc | None = None
    forms: list[FormDoc] = []
    hooks: list[HookDoc] = []

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> Any:
        if isinstance(value, date):
            return value.isoformat()
        return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
