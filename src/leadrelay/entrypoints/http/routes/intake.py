"""``POST /v1/activities`` and ``POST /v1/leads``: one record or a batch, answered record by record.

The body is one record (an object, the format of the import files) or ``{"records": [...]}`` with
up to 10,000 of them. Only the envelope is checked as a whole; the records are checked one by one
with the rules of the import files, so a bad record is answered with its index and field and the
good ones around it are stored. Every call takes an ``Idempotency-Key`` header (see
:mod:`leadrelay.services.idempotency`): a repeat gets the first answer with
``Idempotent-Replayed: true``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import nullcontext
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from leadrelay.adapters.store.sql_store import StoreTx
from leadrelay.adapters.store.writer_queue import first_in_line
from leadrelay.domain.playbook import Playbook
from leadrelay.entrypoints.api import LeadRelay
from leadrelay.entrypoints.http.deps import RelayDep, require
from leadrelay.entrypoints.http.error_texts import record_message
from leadrelay.entrypoints.http.examples import CREATED_EXAMPLE
from leadrelay.entrypoints.http.problems import MEDIA_TYPE, FieldProblem, ProblemError, problem_body, request_lang
from leadrelay.entrypoints.http.problems import responses as problem_responses
from leadrelay.entrypoints.i18n import t
from leadrelay.services.access import Principal, Role
from leadrelay.services.idempotency import Answer, IdempotencyKeyReused, once
from leadrelay.services.live_intake import MAX_RECORDS, IntakeResult, RecordKind, take_records

router = APIRouter(tags=["intake"])

REPLAYED_HEADER = "Idempotent-Replayed"
JSON = "application/json"

IntakeUser = Annotated[Principal, Depends(require(Role.admin, Role.marketing))]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=255,
        description="Any unique text (a UUID): a repeat with the same key and body gets the first answer.",
    ),
]


class RecordBatch(BaseModel):
    """A batch of records: ``{"records": [...]}`` (each record is checked on its own)."""

    model_config = ConfigDict(extra="forbid")

    records: list[dict[str, Any]] = Field(max_length=MAX_RECORDS)


ACTIVITY_EXAMPLE = {
    "email": "k.sato@sakura-mfg.co.jp",
    "type": "demo_requested",
    "occurred_at": "2026-11-25T11:50:00+09:00",
    "campaign": "web-contact",
    "source_id": "web-8841",
    "lead": {"last_name": "佐藤", "first_name": "健太", "title": "情報システム部 部長", "company_name": "さくら製作所"},
}
LEAD_EXAMPLE = {
    "email": "k.sato@sakura-mfg.co.jp",
    "last_name": "佐藤",
    "first_name": "健太",
    "seniority": "manager",
    "department": "it",
    "company": {"name": "さくら製作所", "industry": "manufacturing", "employees": 800},
}
RESULT_EXAMPLE = {
    "received": 2,
    "created": 1,
    "updated": 0,
    "duplicates": 0,
    "rejected": 1,
    "records": [
        {
            "index": 0,
            "status": "created",
            "lead": "k.sato@sakura-mfg.co.jp",
            "field": None,
            "reason": None,
            "stage": "mql",
            "level": None,
            "scores": {"fit": 50.0, "engagement": 40.0, "total": 90.0},
            "owner_department": "hq_inside_sales",
            "owner_rep": "is-kobayashi",
            "hand_raiser": True,
            "routed": {
                "department": "hq_inside_sales",
                "rep": "is-kobayashi",
                "queue": None,
                "rule": "route_inside_sales",
                "reason": "Other MQLs → HQ Inside Sales: 小林 美咲 (round robin)",
            },
        },
        {
            "index": 1,
            "status": "rejected",
            "lead": None,
            "field": "email",
            "reason": "'sato@' is not an e-mail address",
            "stage": None,
            "level": None,
            "scores": None,
            "owner_department": None,
            "owner_rep": None,
            "hand_raiser": False,
            "routed": None,
        },
    ],
}


def request_body(example: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI request body of an intake endpoint: one record, or a batch of them."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                JSON: {
                    "schema": {
                        "oneOf": [
                            {
                                "type": "object",
                                "description": "one record, as in the import files",
                                "not": {"required": ["records"]},
                            },
                            RecordBatch.model_json_schema(),
                        ]
                    },
                    "examples": {
                        "one": {"summary": "one record", "value": example},
                        "batch": {"summary": "a batch", "value": {"records": [example]}},
                    },
                }
            },
        }
    }


def answer_response(answer: Answer) -> Response:
    headers = {k: v for k, v in answer.headers.items() if k.lower() != "content-type"}
    if answer.replayed:
        headers[REPLAYED_HEADER] = "true"
    media = answer.headers.get("Content-Type", JSON)
    return Response(answer.body, status_code=answer.status, headers=headers, media_type=media)


def parse_json(body: bytes, lang: str) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        error = str(exc)
    except RecursionError:
        error = "nested too deeply"
    detail = t("not_json", lang).format(error=error)
    raise ProblemError(422, detail, errors=[FieldProblem(field="body", message=f"{t('json_invalid', lang)}: {error}")])


def records_of(document: Any, lang: str) -> tuple[list[Any], bool]:
    """The records of a body (and whether it was a batch): one object, or ``{"records": [...]}``."""
    if isinstance(document, dict) and "records" in document:
        records = document.get("records")
        if isinstance(records, list) and len(records) > MAX_RECORDS:
            detail = t("too_many_records", lang).format(count=f"{len(records):,}", limit=f"{MAX_RECORDS:,}")
            raise ProblemError(413, detail, errors=[FieldProblem(field="body.records", message=detail)])
        extra = sorted(k for k in document if k != "records")
        if not isinstance(records, list) or extra:
            field = f"body.{extra[0]}" if extra else "body.records"
            message = (
                t("val_extra", lang)
                if extra and lang == "ja"
                else "unknown field"
                if extra
                else "must be a list of records"
            )
            raise ProblemError(422, t("records_envelope", lang), errors=[FieldProblem(field=field, message=message)])
        return records, True
    if isinstance(document, dict):
        return [document], False
    raise ProblemError(
        422, t("records_envelope", lang), errors=[FieldProblem(field="body", message="must be an object")]
    )


def intake_answer(
    result: IntakeResult, ids: dict[str, int], *, batch: bool, lang: str, path: str, field_prefix: str = "body"
) -> Answer:
    """The HTTP answer to an intake: 200 for a batch (record by record); for one record, 201 when
    it created a lead, 200 otherwise, and a 422 problem naming the field when it was rejected."""
    lead_ids = result.lead_ids(ids)
    if not batch and result.records and result.records[0].status == "rejected":
        record = result.records[0]
        field, message = f"{field_prefix}.{record.field}", record_message(record.reason or "", lang)
        detail = t("record_rejected", lang).format(field=record.field, message=message)
        body = problem_body(422, lang, detail, instance=path, errors=[FieldProblem(field=field, message=message)])
        return Answer(422, json.dumps(body, ensure_ascii=False), {"Content-Type": MEDIA_TYPE}, lead_ids)
    status = 201 if not batch and result.created else 200
    return Answer(status, result.model_dump_json(), {"Content-Type": JSON}, lead_ids)


async def run_intake(
    request: Request,
    engine: LeadRelay,
    *,
    kind: RecordKind,
    scope: str,
    key: str | None,
    body: bytes,
    records: Callable[[datetime], list[Any]],
    batch: bool,
) -> Response:
    """Take the records in one transaction (with the idempotency key, when given) and answer.

    Everything that touches the database (the active playbook, the transaction) runs in one hop to
    the thread pool, none of it on the event loop. A request carrying a hand-raiser's activity goes
    first in line for SQLite's write lock (:func:`first_in_line`): a person is waiting on it."""
    lang = request_lang(request.headers)
    path = request.url.path

    def handle() -> Answer:
        now = engine.clock.now()
        taken = records(now)
        playbook = engine.playbook().playbook

        def work(tx: StoreTx) -> Answer:
            result, ids = take_records(tx, playbook, kind, taken, now)
            return intake_answer(result, ids, batch=batch, lang=lang, path=path)

        with first_in_line() if kind == "activities" and raises_hands(playbook, taken) else nullcontext():
            return once(engine.store, scope=scope, key=key, body=body, now=now, work=work)

    try:
        answer = await run_in_threadpool(handle)
    except IdempotencyKeyReused:
        raise ProblemError(
            422,
            t("idempotency_reused", lang),
            errors=[FieldProblem(field="header.Idempotency-Key", message=t("idempotency_reused", lang))],
        ) from None
    return answer_response(answer)


def raises_hands(playbook: Playbook, records: list[Any]) -> bool:
    """Whether a record is of an activity type a hand-raiser rule names (its other conditions are
    judged later: this only decides who waits less for the write lock)."""
    types = {kind for rule in playbook.hand_raisers for kind in rule.types}
    return any(isinstance(record, dict) and record.get("type") in types for record in records)


async def post_records(
    request: Request, engine: LeadRelay, who: Principal, key: str | None, kind: RecordKind
) -> Response:
    lang = request_lang(request.headers)
    body = await request.body()
    records, batch = records_of(parse_json(body, lang), lang)
    scope = f"user:{who.user_id} POST {request.url.path}"
    return await run_intake(
        request, engine, kind=kind, scope=scope, key=key, body=body, records=lambda _now: records, batch=batch
    )


OUTCOMES = {
    200: {"model": IntakeResult, "description": "What each record did", "content": {JSON: {"example": RESULT_EXAMPLE}}},
    201: {
        "model": IntakeResult,
        "description": "The one record created its lead",
        "content": {JSON: {"example": CREATED_EXAMPLE}},
    },
    **problem_responses(400, 401, 403, 409, 413, 422, 503),
}


@router.post(
    "/v1/activities",
    summary="Record activities: one, or a batch of up to 10,000",
    description=(
        "Records what leads did, in the format of the import files. Every lead they touch is judged at once "
        "(scores, level, stage); a hand-raiser or new MQL is routed to a department and rep within the request. "
        "The answer says, record by record, what happened. Roles: admin, marketing."
    ),
    response_model=IntakeResult,
    responses=OUTCOMES,
    openapi_extra=request_body(ACTIVITY_EXAMPLE),
)
async def post_activities(request: Request, engine: RelayDep, who: IntakeUser, key: IdempotencyKey = None) -> Response:
    return await post_records(request, engine, who, key, "activities")


@router.post(
    "/v1/leads",
    summary="Add or update leads: one, or a batch of up to 10,000",
    description=(
        "Upserts leads by e-mail (or external id) in the format of the lead import files; a profile change is "
        "judged at once. The answer says, record by record, created, updated, duplicate (nothing changed) or "
        "rejected (with the field). Roles: admin, marketing."
    ),
    response_model=IntakeResult,
    responses=OUTCOMES,
    openapi_extra=request_body(LEAD_EXAMPLE),
)
async def post_leads(request: Request, engine: RelayDep, who: IntakeUser, key: IdempotencyKey = None) -> Response:
    return await post_records(request, engine, who, key, "leads")
