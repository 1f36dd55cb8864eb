"""``POST /forms/{form_id}``: a landing page's form, posted by a browser from another site.

Public (no API key), guarded three ways: the form's CORS allow-list (a browser page from another
origin is refused, and preflights are answered only for allowed origins), a honeypot field (filled
in: answered as accepted, stored nowhere) and a token bucket per client IP address (429 with
``Retry-After``). A browser's post is answered with a 303 redirect to the form's thank-you page; a
``fetch()`` caller that sends ``Accept: application/json`` gets JSON. A malformed post gets a 4xx —
a problem document, or a small HTML page for a browser — never a 500.

What the server answers a public caller says nothing about the lead (no scores, no owner).
"""

from __future__ import annotations

import html
import json
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict

from leadrelay.adapters.store.sql_store import StoreTx
from leadrelay.adapters.store.writer_queue import first_in_line
from leadrelay.domain.playbook import WebForm
from leadrelay.domain.throttle import Throttle
from leadrelay.entrypoints.http.deps import RelayDep
from leadrelay.entrypoints.http.error_texts import record_message, user_error_detail
from leadrelay.entrypoints.http.problems import FieldProblem, ProblemError, problem_response, request_lang
from leadrelay.entrypoints.http.problems import responses as problem_responses
from leadrelay.entrypoints.http.routes.intake import REPLAYED_HEADER, IdempotencyKey
from leadrelay.entrypoints.i18n import t
from leadrelay.services.forms import FormPostError, form_of, form_records, is_bot, origin_allowed, posted_field
from leadrelay.services.idempotency import Answer, IdempotencyKeyReused, once
from leadrelay.services.live_intake import take_records

router = APIRouter(tags=["forms"])

#: The largest form post taken (bytes): a contact form is a few hundred.
FORM_BODY_LIMIT = 64 * 1024
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
ALLOWED_HEADERS = "Content-Type, Accept, Idempotency-Key"


class FormAccepted(BaseModel):
    """The answer to a ``fetch()`` caller: the post was taken (nothing about the lead is told)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "status": "accepted",
                "form": "contact",
                "thank_you_url": "https://www.example.co.jp/contact/thanks",
            }
        },
    )

    status: str
    form: str
    thank_you_url: str


def throttle_of(request: Request) -> Throttle:
    """This process's token buckets of form posts (one per client address)."""
    state = request.app.state
    throttle: Throttle | None = getattr(state, "form_throttle", None)
    if throttle is None:
        settings = state.settings
        throttle = state.form_throttle = Throttle(settings.form_rate_per_minute / 60.0, settings.form_burst)
    return throttle


def wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "").lower()


def cors_headers(origin: str | None) -> dict[str, str]:
    if origin is None:
        return {}
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}


def error_page(request: Request, status: int, message: str, headers: Mapping[str, str]) -> Response:
    """A small page for a person whose browser posted the form."""
    lang = request_lang(request.headers)
    title = html.escape(t("form_error_title", lang))
    page = (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title></head>'
        f"<body><h1>{title}</h1><p>{html.escape(message)}</p>"
        f'<p><a href="javascript:history.back()">{html.escape(t("form_error_back", lang))}</a></p></body></html>'
    )
    return HTMLResponse(page, status_code=status, headers=dict(headers))


def refuse(
    request: Request,
    status: int,
    detail: str,
    *,
    headers: Mapping[str, str] | None = None,
    errors: list[FieldProblem] | None = None,
) -> Response:
    if wants_json(request):
        return problem_response(request, status, detail, headers=headers, errors=errors)
    message = detail if not errors else "; ".join(f"{e.field}: {e.message}" for e in errors)
    return error_page(request, status, message, headers or {})


def refuse_post(request: Request, exc: FormPostError, lang: str, headers: Mapping[str, str]) -> Response:
    """422 for a post the form cannot take, naming the posted field (in the request's language)."""
    errors = [FieldProblem(field=exc.field, message=record_message(exc.message, lang))]
    return refuse(request, 422, user_error_detail(exc, lang), headers=headers, errors=errors)


def accepted(request: Request, form: WebForm, headers: Mapping[str, str]) -> Answer:
    """The answer to a post the form took: JSON for ``fetch()``, else a redirect to the thank-you page."""
    if wants_json(request):
        body = FormAccepted(status="accepted", form=form.id, thank_you_url=form.thank_you_url).model_dump_json()
        return Answer(200, body, {**headers, "Content-Type": "application/json"})
    return Answer(303, "", {**headers, "Location": form.thank_you_url, "Content-Type": "text/plain"})


async def posted_fields(request: Request, lang: str) -> tuple[bytes, dict[str, str]]:
    """The raw body and the text fields of a form post (uploaded files are not taken)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in FORM_TYPES:
        raise ProblemError(415, t("form_media_type", lang))
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > FORM_BODY_LIMIT:
            raise ProblemError(413, t("body_too_large", lang).format(limit=FORM_BODY_LIMIT))
        chunks.append(chunk)
    body = b"".join(chunks)
    request._body = body  # Starlette's form() reads the cached body: it parses what was counted
    form = await request.form(max_files=0, max_fields=200)
    return body, {name: value for name, value in form.multi_items() if isinstance(value, str)}


@router.options(
    "/forms/{form_id}",
    summary="CORS preflight of a form post",
    description="Answered 204 with the CORS headers for an origin the form allows; 403 for any other.",
    status_code=204,
    responses={204: {"description": "The origin may post"}, **problem_responses(403, 404)},
)
async def preflight(form_id: str, request: Request, engine: RelayDep) -> Response:
    form = form_of(engine.playbook().playbook, form_id)
    origin = request.headers.get("origin")
    if origin is None or not origin_allowed(form, origin):
        lang = request_lang(request.headers)
        return problem_response(request, 403, t("form_origin_denied", lang).format(origin=origin or "?"))
    headers = {
        **cors_headers(origin),
        "Access-Control-Allow-Methods": "POST, OPTIONS",
        "Access-Control-Allow-Headers": ALLOWED_HEADERS,
        "Access-Control-Max-Age": "600",
    }
    return Response(status_code=204, headers=headers)


@router.post(
    "/forms/{form_id}",
    summary="Post a landing page's form (public; CORS allow-list, honeypot, rate limit)",
    description=(
        "A plain HTML form post (application/x-www-form-urlencoded or multipart/form-data), mapped by the form's "
        "`forms:` entry in the playbook. A browser is redirected (303) to the thank-you page; "
        '`Accept: application/json` gets JSON. A checked "wants contact" box makes it a hand-raise, routed to '
        "sales in the same request."
    ),
    status_code=303,
    response_model=None,
    response_class=Response,
    responses={
        200: {"model": FormAccepted, "description": "Taken (fetch() callers)"},
        303: {
            "description": "Taken: see the thank-you page (browsers); no body",
            "headers": {"Location": {"description": "The form's thank-you page", "schema": {"type": "string"}}},
        },
        **problem_responses(400, 403, 404, 413, 415, 422, 429, 503),
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {"type": "object", "additionalProperties": {"type": "string"}},
                    "example": {
                        "email": "k.sato@sakura-mfg.co.jp",
                        "name": "佐藤 健太",
                        "company": "さくら製作所",
                        "wants_contact": "on",
                    },
                },
                "multipart/form-data": {
                    "schema": {"type": "object", "additionalProperties": {"type": "string"}},
                    "example": {"email": "m.ito@kaede-logi.co.jp", "company": "かえで物流", "wants_contact": "on"},
                },
            },
        },
        "security": [],
    },
)
async def post_form(form_id: str, request: Request, engine: RelayDep, key: IdempotencyKey = None) -> Response:
    lang = request_lang(request.headers)
    playbook = engine.playbook().playbook  # one read of the active playbook's id, on the loop (a cached parse)
    form = form_of(playbook, form_id)
    origin = request.headers.get("origin")
    if not origin_allowed(form, origin):
        return refuse(request, 403, t("form_origin_denied", lang).format(origin=origin))
    cors = cors_headers(origin)
    address = request.client.host if request.client is not None else "unknown"
    wait = throttle_of(request).take(f"{form_id}|{address}", time.monotonic())
    if wait is not None:
        seconds = max(1, int(wait + 0.999))
        detail = t("form_rate_limited", lang).format(seconds=seconds)
        return refuse(request, 429, detail, headers={**cors, "Retry-After": str(seconds)})
    try:
        body, posted = await posted_fields(request, lang)
    except ProblemError as exc:
        return refuse(request, exc.status, exc.detail, headers=cors)
    if is_bot(form, posted):  # answered as if taken; nothing is stored
        return respond(accepted(request, form, cors))
    now = engine.clock.now()
    try:
        records = form_records(form, posted, now)
    except FormPostError as exc:
        return refuse_post(request, exc, lang, cors)

    def handle() -> Answer:
        def work(tx: StoreTx) -> Answer:
            result, ids = take_records(tx, playbook, "activities", records, now)
            bad = next((r for r in result.records if r.status == "rejected"), None)
            if bad is not None:  # nothing of this post is kept: it is one person's submission
                raise FormPostError(posted_field(form, bad.field or ""), bad.reason or "")
            return replace(accepted(request, form, cors), lead_ids=result.lead_ids(ids))

        with first_in_line():  # a person waits on the page: ahead of the API's other writers
            return once(engine.store, scope=f"form:{form_id}", key=key, body=body, now=now, work=work)

    try:
        answer = await run_in_threadpool(handle)
    except FormPostError as exc:
        return refuse_post(request, exc, lang, cors)
    except IdempotencyKeyReused:
        return refuse(request, 422, t("idempotency_reused", lang), headers=cors)
    return respond(answer)


def respond(answer: Answer) -> Response:
    headers: dict[str, Any] = {k: v for k, v in answer.headers.items() if k.lower() != "content-type"}
    if answer.replayed:
        headers[REPLAYED_HEADER] = "true"
    media = answer.headers.get("Content-Type")
    if media == "application/json":
        return JSONResponse(json.loads(answer.body), status_code=answer.status, headers=headers)
    return Response(answer.body, status_code=answer.status, headers=headers, media_type=media)
