"""``/v1/reps`` and ``/v1/departments``: reps with their load, capacity and status; away and back,
capacity; reassigning a rep's open leads; the routing departments.

Every role may read reps and departments (no lead is shown); changing a rep or reassigning their
leads is for an admin, or a manager of the rep's department (403 for anyone else).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from leadrelay.entrypoints.api import LeadRelay
from leadrelay.entrypoints.http.deps import PrincipalDep, RelayDep, require
from leadrelay.entrypoints.http.examples import REASSIGNED_EXAMPLE
from leadrelay.entrypoints.http.problems import FieldProblem, ProblemError, request_lang, responses
from leadrelay.entrypoints.http.routes.leads import Text
from leadrelay.entrypoints.i18n import t
from leadrelay.services.access import Principal, Role
from leadrelay.services.routing import DepartmentRow, RepRow, RoutedRow

router = APIRouter(tags=["reps"])

Changer = Annotated[Principal, Depends(require(Role.admin, Role.manager))]
RepId = Annotated[Text, Path(description="The rep's id in the playbook.", examples=["rep-tanaka"], max_length=80)]


class Away(BaseModel):
    model_config = ConfigDict(extra="forbid")

    from_date: date = Field(alias="from", description="The first day away.")
    to_date: date = Field(alias="to", description="The last day away (inclusive).")

    @model_validator(mode="after")
    def _in_order(self) -> Away:
        if self.to_date < self.from_date:
            raise ValueError("'to' is before 'from'")
        return self


class RepChange(BaseModel):
    """What to change about a rep; what is left out stays as it is."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"away": {"from": "2026-12-01", "to": "2026-12-05"}, "note": "研修"},
                {"back": True},
                {"capacity": 30},
                {"capacity": None},
                {"active": False},
            ]
        },
    )

    active: bool | None = Field(None, description="false: takes no new leads until true again.")
    away: Away | None = Field(None, description="Out of office from one day to another (inclusive).")
    back: bool = Field(False, description="true: the away period ends now.")
    note: Text | None = Field(None, max_length=2000)
    capacity: int | None = Field(
        None, ge=0, le=100_000, description="Open leads at most; null: the playbook's capacity again."
    )


class Reassign(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"to": "rep-suzuki"}, {}]})

    to: Text | None = Field(
        None, max_length=80, description="Give every open lead to this rep; empty: route them again."
    )


REP_EXAMPLE: dict[str, Any] = {
    "rep": "rep-tanaka",
    "name": "田中 一郎",
    "department": "hq_corporate_sales",
    "open": 12,
    "capacity": 30,
    "received_this_week": 4,
    "weight": 1.0,
    "status": "available",
    "away_until": None,
}
DEPARTMENT_EXAMPLE: dict[str, Any] = {
    "department": "hq_corporate_sales",
    "label": {"en": "HQ Corporate Sales", "ja": "本社法人営業部"},
    "manager": "佐々木 恵",
    "reps": ["rep-tanaka", "rep-suzuki"],
    "open": 25,
    "queued": 2,
    "fallback": False,
}


def _rep(engine: LeadRelay, rep_id: str, who: Principal, request: Request) -> RepRow:
    """The rep, when ``who`` may change them: 404 for an unknown rep, 403 for a manager of another department."""
    found = next((row for row in engine.reps() if row.rep == rep_id), None)
    lang = request_lang(request.headers)
    if found is None:
        raise ProblemError(404, t("unknown_rep", lang).format(rep=rep_id))
    if who.role is Role.manager and found.department not in who.departments:
        raise ProblemError(403, t("not_your_department", lang).format(rep=rep_id, department=found.department))
    return found


@router.get(
    "/v1/reps",
    response_model=list[RepRow],
    summary="Reps with their load, capacity and status",
    description="Open leads against capacity, leads received this week, weight, status (available, or why not).",
    responses={200: {"content": {"application/json": {"example": [REP_EXAMPLE]}}}, **responses(401, 409, 503)},
)
def list_reps(engine: RelayDep, who: PrincipalDep) -> list[RepRow]:
    return engine.reps()


@router.patch(
    "/v1/reps/{rep_id}",
    response_model=RepRow,
    summary="Mark a rep away or back, switch them off or on, set their capacity",
    description="For an admin, or a manager of the rep's department.",
    responses={
        200: {"content": {"application/json": {"example": REP_EXAMPLE}}},
        **responses(401, 403, 404, 409, 422, 503),
    },
)
def change_rep(engine: RelayDep, who: Changer, rep_id: RepId, body: RepChange, request: Request) -> RepRow:
    _rep(engine, rep_id, who, request)
    reset = "capacity" in body.model_fields_set and body.capacity is None
    engine.set_rep(
        rep_id,
        active=body.active,
        away=(body.away.from_date, body.away.to_date) if body.away is not None else None,
        back=body.back,
        note=body.note,
        capacity=body.capacity,
        playbook_capacity=reset,
    )
    return _rep(engine, rep_id, who, request)


@router.post(
    "/v1/reps/{rep_id}/reassign",
    response_model=list[RoutedRow],
    summary="Reassign a rep's open leads",
    description="To one rep (`to`), or through routing again, never back to this rep. For an admin, or a manager "
    "of the rep's department. The answer: one routing decision per lead moved, with who was passed over.",
    responses={
        200: {"content": {"application/json": {"example": REASSIGNED_EXAMPLE}}},
        **responses(401, 403, 404, 409, 422, 503),
    },
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {
                    "examples": {
                        "to_rep": {"summary": "every open lead to one rep", "value": {"to": "rep-suzuki"}},
                        "route_again": {"summary": "route them again (never back to this rep)", "value": {}},
                    }
                }
            }
        }
    },
)
def reassign_rep(
    engine: RelayDep, who: Changer, rep_id: RepId, request: Request, body: Reassign | None = None
) -> list[RoutedRow]:
    _rep(engine, rep_id, who, request)
    to = body.to if body is not None else None
    if to is not None and to not in {row.rep for row in engine.reps()}:
        said = t("unknown_rep", request_lang(request.headers)).format(rep=to)
        raise ProblemError(422, said, errors=[FieldProblem(field="body.to", message=said)])
    return engine.reassign(rep_id, to=to, actor=who.actor)


@router.get(
    "/v1/departments",
    response_model=list[DepartmentRow],
    summary="The routing departments with their reps and leads",
    responses={
        200: {"content": {"application/json": {"example": [DEPARTMENT_EXAMPLE]}}},
        **responses(401, 409, 503),
    },
)
def list_departments(engine: RelayDep, who: PrincipalDep) -> list[DepartmentRow]:
    return engine.departments()
