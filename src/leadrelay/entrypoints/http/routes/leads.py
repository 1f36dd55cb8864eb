"""``/v1/leads``: read leads (a filtered page, one lead with its whole explanation) and record
sales' answers, touches and notes.

Who may see a lead is decided once, in the services (:func:`visibility_of`): a lead the principal
may not see answers 404, exactly as an unknown one, on every ``/v1/leads/{ref}`` endpoint, so ids
cannot be probed. Reading is open to every role; sales' answers and touches to admin, managers
(their departments' leads) and reps (their own); notes to every role that may see the lead.
The acting user's e-mail is recorded as the actor of every move, touch and note.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from leadrelay.domain.lifecycle import Stage
from leadrelay.entrypoints.http.deps import PrincipalDep, RelayDep, require
from leadrelay.entrypoints.http.examples import LEAD_REPORT_EXAMPLE
from leadrelay.entrypoints.http.problems import responses
from leadrelay.services.access import Principal, Role
from leadrelay.services.lead_list import DEFAULT_LIMIT, MAX_LIMIT, LeadFilters, LeadPage, visibility_of
from leadrelay.services.leads import LeadReport
from leadrelay.services.sales import Feedback, Handoff
from leadrelay.services.touches import NoteView, TouchView

router = APIRouter(tags=["leads"])


def _no_nul(text: str) -> str:
    if "\x00" in text:
        raise ValueError("must not contain a NUL character")
    return text


#: Text from a request: any characters but NUL (which no database column can hold).
Text = Annotated[str, AfterValidator(_no_nul)]

#: Roles that may answer for sales (accept, reject, advance, recycle) and record touches.
SALES = (Role.admin, Role.manager, Role.rep)
SalesPrincipal = Annotated[Principal, Depends(require(*SALES))]

Ref = Annotated[
    Text,
    Path(
        description="The lead's e-mail, or `id:` and its external id (the `lead` of a list item).",
        examples=["k.sato@sakura-mfg.co.jp"],
        max_length=330,
    ),
]


class LeadQuery(BaseModel):
    """The filters of ``GET /v1/leads`` (each narrows the list; none: every lead one may see)."""

    model_config = ConfigDict(extra="forbid")

    stage: list[Stage] = Field(default_factory=list, description="Stages (repeat for several).")
    level: int | None = Field(None, description="The lead's level (確度).", ge=0, le=100)
    owner: Text | None = Field(None, description="The owning rep's id.", max_length=80)
    department: Text | None = Field(None, description="The owning department's id.", max_length=80)
    domain: Text | None = Field(None, description="The account's domain.", max_length=255)
    fit_min: float | None = Field(None, allow_inf_nan=False)
    fit_max: float | None = Field(None, allow_inf_nan=False)
    engagement_min: float | None = Field(None, allow_inf_nan=False)
    engagement_max: float | None = Field(None, allow_inf_nan=False)
    total_min: float | None = Field(None, allow_inf_nan=False)
    total_max: float | None = Field(None, allow_inf_nan=False)
    updated_since: AwareDatetime | None = Field(None, description="Changed at or after (ISO 8601 with zone).")
    q: Text | None = Field(None, description="Text in the name, e-mail or company (case-insensitive).", max_length=200)
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description=f"Leads per page, 1 to {MAX_LIMIT}.")
    cursor: Text | None = Field(
        None, description="`next_cursor` of the previous page.", max_length=200, pattern=r"^[A-Za-z0-9_-]+$"
    )


class AcceptBody(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"note": "called, interested"}]})

    note: Text | None = Field(None, max_length=2000, description="Kept with the move.")


class QualifyBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"note": "BANT: 予算あり、決裁者同席、来期導入"}]}
    )

    note: Text | None = Field(None, max_length=2000, description="What inside sales found (BANT); kept with the move.")


class RejectBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "bad_timing", "text": "来期に再検討"}]}
    )

    reason: Text = Field(description="A reason code of the playbook (sales.reject_reasons).", max_length=80)
    text: Text | None = Field(None, max_length=2000, description="Why, in words (required by some reasons).")


class AdvanceBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"to": "opportunity", "amount": "3500000", "currency": "JPY"}]},
    )

    to: Literal["sql", "opportunity", "won", "lost"]
    amount: Text | None = Field(None, max_length=40, description="A decimal: opportunity, won or lost.")
    currency: Text | None = Field(None, max_length=3, description="ISO 4217 code, e.g. JPY.")
    lost_reason: Text | None = Field(None, max_length=2000)


class RecycleBody(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reason": "no budget this year"}]})

    reason: Text = Field(min_length=1, max_length=2000, description="Why it goes back to marketing.")


class TouchBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"kind": "call", "outcome": "connected", "at": "2026-11-25T10:30:00+09:00", "note": "BANT: 予算あり"}
            ]
        },
    )

    kind: Literal["call", "meeting", "email"]
    outcome: Text = Field(
        max_length=40,
        description="call: connected, no_answer, voicemail, wrong_number; meeting: held, no_show, rescheduled, "
        "cancelled; email: sent, replied, bounced.",
    )
    at: AwareDatetime | None = Field(None, description="When (default: now); not in the future.")
    note: Text | None = Field(None, max_length=10_000)


class NoteBody(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"text": "CTO も同席希望"}]})

    text: Text = Field(min_length=1, max_length=10_000)


LIST_EXAMPLE: dict[str, Any] = {
    "leads": [
        {
            "lead": "k.sato@sakura-mfg.co.jp",
            "email": "k.sato@sakura-mfg.co.jp",
            "external_id": None,
            "name": "佐藤 健",
            "company": "さくら製作所",
            "account_domain": "sakura-mfg.co.jp",
            "stage": "mql",
            "level": 4,
            "fit": 45.0,
            "engagement": 38.79,
            "total": 83.79,
            "owner_rep": "rep-tanaka",
            "owner_department": "hq_corporate_sales",
            "assigned_at": "2026-11-25T12:00:00+09:00",
            "last_activity_at": "2026-11-23T12:00:00+09:00",
            "last_touch_at": None,
            "created_at": "2026-11-20T15:00:00+09:00",
            "updated_at": "2026-11-25T12:00:00+09:00",
        }
    ],
    "limit": 50,
    "next_cursor": "WyIyMDI2LTExLTI1VDAzOjAwOjAwKzAwOjAwIiwxXQ",
}
FEEDBACK_EXAMPLE: dict[str, Any] = {
    "lead": "k.sato@sakura-mfg.co.jp",
    "stage": "sal",
    "moves": [
        {
            "at": "2026-11-25T12:00:00+09:00",
            "from": "mql",
            "to": "sal",
            "trigger": "accepted",
            "actor": "rep.tanaka@example.co.jp",
            "rule": None,
            "reason": "accepted by sales: called, interested",
        }
    ],
}
TOUCH_EXAMPLE = {
    "kind": "call",
    "outcome": "connected",
    "at": "2026-11-25T10:30:00+09:00",
    "note": "BANT: 予算あり",
    "actor": "rep.tanaka@example.co.jp",
    "recorded_at": "2026-11-25T10:31:00+09:00",
}
NOTE_EXAMPLE = {"text": "CTO も同席希望", "actor": "rep.tanaka@example.co.jp", "at": "2026-11-25T12:00:00+09:00"}


def _example(example: Any) -> dict[int | str, dict[str, Any]]:
    return {200: {"content": {"application/json": {"example": example}}}}


@router.get(
    "/v1/leads",
    response_model=LeadPage,
    summary="A page of leads by filters, newest change first",
    description="Filters: stage (repeatable), level, owner (rep id), department, domain (the account's), "
    "fit/engagement/total _min and _max, updated_since, q (name, e-mail or company; case-insensitive). "
    "Sorted by updated_at descending, then id; pass `next_cursor` as `cursor` for the next page "
    "(null on the last page). A rep sees their own leads, a manager their departments'.",
    responses={**_example(LIST_EXAMPLE), **responses(401, 422, 503)},
)
def list_leads(engine: RelayDep, who: PrincipalDep, query: Annotated[LeadQuery, Query()]) -> LeadPage:
    filters = LeadFilters(
        stages=tuple(stage.value for stage in query.stage),
        level=query.level,
        owner=query.owner,
        department=query.department,
        domain=query.domain,
        fit_min=query.fit_min,
        fit_max=query.fit_max,
        engagement_min=query.engagement_min,
        engagement_max=query.engagement_max,
        total_min=query.total_min,
        total_max=query.total_max,
        updated_since=query.updated_since,
        q=query.q,
    )
    return engine.leads(filters, visibility=visibility_of(who), limit=query.limit, cursor=query.cursor)


@router.get(
    "/v1/leads/{ref}",
    response_model=LeadReport,
    summary="One lead with the explanation of everything about it",
    description="Profile, account, stage history, every score contribution, level, MQL, routing decisions "
    "(with who was passed over and why), owner, SLA clocks, touches and notes. A lead you may not see is 404, "
    "as an unknown one.",
    responses={**_example(LEAD_REPORT_EXAMPLE), **responses(401, 404, 422, 503)},
)
def show_lead(engine: RelayDep, who: PrincipalDep, ref: Ref) -> LeadReport:
    return engine.lead(ref, visibility=visibility_of(who))


@router.post(
    "/v1/leads/{ref}/accept",
    response_model=Feedback,
    summary="Sales accepts the lead (MQL or Pre-SQL → SAL)",
    description="The body is optional: a note kept with the move.",
    responses={**_example(FEEDBACK_EXAMPLE), **responses(401, 403, 404, 409, 422, 503)},
    openapi_extra={"requestBody": {"content": {"application/json": {"example": {"note": "called, interested"}}}}},
)
def accept_lead(engine: RelayDep, who: SalesPrincipal, ref: Ref, body: AcceptBody | None = None) -> Feedback:
    note = body.note if body is not None else None
    return engine.accept(ref, actor=who.actor, note=note, visibility=visibility_of(who))


HANDOFF_EXAMPLE = {
    "lead": "k.sato@sakura-mfg.co.jp",
    "stage": "pre_sql",
    "moves": [
        {
            "at": "2026-11-25T12:00:00+09:00",
            "from": "mql",
            "to": "pre_sql",
            "trigger": "pre_sql_qualified",
            "actor": "is.kobayashi@example.co.jp",
            "rule": None,
            "reason": "qualified by inside sales, handed to field sales: BANT: 予算あり",
        }
    ],
    "handoff": {
        "lead": "k.sato@sakura-mfg.co.jp",
        "rule": "handoff_hq",
        "department": "hq_corporate_sales",
        "strategy": "load_balanced",
        "rep": "rep-tanaka",
        "previous_rep": "is-kobayashi",
        "reason": "Pre-SQL qualified by is.kobayashi@example.co.jp: Pre-SQL → HQ Corporate Sales: 田中 一郎 "
        "(fewest open leads against capacity)",
        "hand_raised": False,
        "passed_over": [{"rep": "rep-suzuki", "why": "turn", "detail": "0/40"}],
        "rules_not_taken": [{"rule": "handoff_named_account_osaka", "why": "condition"}],
    },
}


@router.post(
    "/v1/leads/{ref}/qualify",
    response_model=Handoff,
    summary="Inside sales qualifies the lead (MQL → Pre-SQL) and hands it to field sales",
    description="Only with a playbook that uses the Pre-SQL stage (its `pre_sql` section), and only for an MQL "
    "held by an inside-sales department: otherwise 409 saying why. The lead goes to field sales by the "
    "playbook's `pre_sql.rules` in the same transaction (`handoff`: the routing decision and its reasons); "
    "the field rep then accepts (SAL) or rejects it.",
    responses={**_example(HANDOFF_EXAMPLE), **responses(401, 403, 404, 409, 422, 503)},
    openapi_extra={
        "requestBody": {"content": {"application/json": {"example": {"note": "BANT: 予算あり、決裁者同席、来期導入"}}}}
    },
)
def qualify_lead(engine: RelayDep, who: SalesPrincipal, ref: Ref, body: QualifyBody | None = None) -> Handoff:
    note = body.note if body is not None else None
    return engine.qualify(ref, actor=who.actor, note=note, visibility=visibility_of(who))


@router.post(
    "/v1/leads/{ref}/reject",
    response_model=Feedback,
    summary="Sales rejects the lead with a reason code",
    description="The reason is a code of the playbook's sales.reject_reasons; a recyclable one sends the lead "
    "back to marketing at once. An unknown code is 422 naming `reason` and listing the codes.",
    responses={**_example(FEEDBACK_EXAMPLE), **responses(401, 403, 404, 409, 422, 503)},
)
def reject_lead(engine: RelayDep, who: SalesPrincipal, ref: Ref, body: RejectBody) -> Feedback:
    return engine.reject(ref, body.reason, text=body.text, actor=who.actor, visibility=visibility_of(who))


@router.post(
    "/v1/leads/{ref}/advance",
    response_model=Feedback,
    summary="Move a lead with sales on: SAL → SQL → Opportunity → Won or Lost",
    responses={**_example(FEEDBACK_EXAMPLE), **responses(401, 403, 404, 409, 422, 503)},
)
def advance_lead(engine: RelayDep, who: SalesPrincipal, ref: Ref, body: AdvanceBody) -> Feedback:
    return engine.advance(
        ref,
        body.to,
        amount=body.amount,
        currency=body.currency,
        lost_reason=body.lost_reason,
        actor=who.actor,
        visibility=visibility_of(who),
    )


@router.post(
    "/v1/leads/{ref}/recycle",
    response_model=Feedback,
    summary="Send a lead sales let go back to marketing",
    responses={**_example(FEEDBACK_EXAMPLE), **responses(401, 403, 404, 409, 422, 503)},
)
def recycle_lead(engine: RelayDep, who: SalesPrincipal, ref: Ref, body: RecycleBody) -> Feedback:
    return engine.recycle(ref, reason=body.reason, actor=who.actor, visibility=visibility_of(who))


@router.post(
    "/v1/leads/{ref}/touches",
    response_model=TouchView,
    status_code=201,
    summary="Record a touch: a call, meeting or e-mail and how it went",
    description="A touch stops the lead's first-touch SLA clock and restarts its inactivity clock.",
    responses={
        201: {"content": {"application/json": {"example": TOUCH_EXAMPLE}}},
        **responses(401, 403, 404, 422, 503),
    },
)
def touch_lead(engine: RelayDep, who: SalesPrincipal, ref: Ref, body: TouchBody) -> TouchView:
    return engine.touch(
        ref,
        kind=body.kind,
        outcome=body.outcome,
        at=body.at,
        note=body.note,
        actor=who.actor,
        visibility=visibility_of(who),
    )


@router.post(
    "/v1/leads/{ref}/notes",
    response_model=NoteView,
    status_code=201,
    summary="Keep a note on a lead",
    description="Stored with the acting user and the time; listed in GET /v1/leads/{ref}.",
    responses={201: {"content": {"application/json": {"example": NOTE_EXAMPLE}}}, **responses(401, 404, 422, 503)},
)
def note_lead(engine: RelayDep, who: PrincipalDep, ref: Ref, body: NoteBody) -> NoteView:
    return engine.note(ref, body.text, actor=who.actor, visibility=visibility_of(who))
