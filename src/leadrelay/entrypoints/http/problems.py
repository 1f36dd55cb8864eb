"""Errors as RFC 9457 problem details (``application/problem+json``), never a traceback.

Every error response of the API is a :class:`Problem`: ``type`` (a URN naming the kind of problem),
``title`` (by status), ``status``, ``detail`` (what is wrong, for a person), ``instance`` (the request
path) and, for invalid input, ``errors``: one entry per field, named by where it is
(``body.records[3].email``). Titles, details and field messages are in Japanese when the request
asks for it (``Accept-Language: ja``): see :mod:`.error_texts`.

How exceptions map (:func:`install`):

- :class:`ProblemError` (raised by the API's own checks): its status;
- FastAPI's ``RequestValidationError``: 422, every field named;
- :class:`LeadRelayError` (a user's mistake found by a service): by :data:`STATUS_OF` (the first class
  of its MRO listed there; 400 when none is). A new error class that needs another status is added
  to :data:`STATUS_OF`;
- the database unreachable (:func:`database_unavailable`): 503 with ``Retry-After``;
- anything else: 500, logged with its traceback, answered without it (:class:`CatchAll`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leadrelay.adapters.files.formats import ImportFileError
from leadrelay.adapters.playbook.loader import PlaybookError
from leadrelay.adapters.records import InputError
from leadrelay.adapters.store.sql_store import database_unavailable
from leadrelay.domain.conditions import ConditionError
from leadrelay.domain.identity import InvalidEmail
from leadrelay.domain.lifecycle import IllegalTransition
from leadrelay.entrypoints.http.error_texts import user_error_detail, user_error_field_message, validation_message
from leadrelay.entrypoints.i18n import t
from leadrelay.errors import LeadRelayError
from leadrelay.services.access import AccessError, NotAuthenticated, UnknownKey, UnknownUser, UserExists
from leadrelay.services.forms import FormPostError, UnknownForm
from leadrelay.services.hooks import HookNotConfigured, HookUnauthorized, UnknownHook
from leadrelay.services.idempotency import IdempotencyKeyInUse, IdempotencyKeyInvalid, IdempotencyKeyReused
from leadrelay.services.leads import LeadNotFound
from leadrelay.services.report_kit import ReportInputError, UnknownReport
from leadrelay.services.routing import RoutingUnavailable
from leadrelay.services.sales import FeedbackError, IllegalMove, PreSqlRefused

log = logging.getLogger("leadrelay.http")

MEDIA_TYPE = "application/problem+json"
#: The ``type`` of every problem starts with this; then its kind (``unauthorized``, ``invalid-input``, ...).
TYPE_PREFIX = "urn:leadrelay:problem:"

#: The status of each kind of user error (the first class of an error's MRO found here wins).
STATUS_OF: dict[type[LeadRelayError], int] = {
    NotAuthenticated: 401,
    LeadNotFound: 404,
    UnknownUser: 404,
    UnknownKey: 404,
    UserExists: 409,
    IllegalTransition: 409,
    IllegalMove: 409,
    PreSqlRefused: 409,
    RoutingUnavailable: 409,
    AccessError: 422,
    InputError: 422,
    InvalidEmail: 422,
    FeedbackError: 422,
    PlaybookError: 422,
    ConditionError: 422,
    ImportFileError: 422,
    UnknownForm: 404,
    UnknownHook: 404,
    HookUnauthorized: 401,
    HookNotConfigured: 503,
    FormPostError: 422,
    IdempotencyKeyInUse: 409,
    IdempotencyKeyInvalid: 422,
    IdempotencyKeyReused: 422,
    ReportInputError: 422,
    UnknownReport: 404,
}

#: The kind of problem (the end of ``type``) of each status the API answers with.
KIND_OF = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "body-too-large",
    415: "unsupported-media-type",
    422: "invalid-input",
    429: "too-many-requests",
    500: "internal-error",
    503: "database-unavailable",
}


class FieldProblem(BaseModel):
    """One invalid field: where it is (``body.records[3].email``) and what is wrong with it."""

    model_config = ConfigDict(extra="forbid")

    field: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "type": "urn:leadrelay:problem:invalid-input",
                "title": "Invalid input",
                "status": 422,
                "detail": "1 field(s) are not valid",
                "instance": "/v1/activities",
                "errors": [{"field": "body.records[3].email", "message": "is not an e-mail address"}],
            }
        },
    )

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldProblem] | None = None


class ProblemError(Exception):
    """Raised by the API's own checks: answered as a problem with ``status``."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
        errors: Sequence[FieldProblem] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = dict(headers or {})
        self.errors = list(errors) if errors is not None else None


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` of an endpoint's error statuses, each a :class:`Problem`."""
    return {
        status: {"model": Problem, "content": {MEDIA_TYPE: {}}, "description": t(f"problem_{status}", "en")}
        for status in statuses
    }


def request_lang(headers: Mapping[str, str]) -> str:
    """``ja`` when ``Accept-Language`` prefers Japanese to English, else ``en``."""
    best, best_q = "en", 0.0
    for part in headers.get("accept-language", "").split(","):
        tag, _, params = part.strip().partition(";")
        code = tag.strip().lower()[:2]
        if code not in ("en", "ja"):
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > best_q:
            best, best_q = code, q
    return best


def problem_body(
    status: int,
    lang: str,
    detail: str | None = None,
    *,
    instance: str | None = None,
    errors: Sequence[FieldProblem] | None = None,
) -> dict[str, Any]:
    """The problem document of ``status`` (its title in ``lang``)."""
    title_key = f"problem_{status}"
    try:
        title = t(title_key, lang)
    except KeyError:
        title = t("problem_400" if status < 500 else "problem_500", lang)
    body: dict[str, Any] = {
        "type": TYPE_PREFIX + KIND_OF.get(status, "bad-request" if status < 500 else "internal-error"),
        "title": title,
        "status": status,
    }
    if detail is not None:
        body["detail"] = detail
    if instance is not None:
        body["instance"] = instance
    if errors is not None:
        body["errors"] = [e.model_dump() for e in errors]
    return body


def problem_response(
    request: Request,
    status: int,
    detail: str | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    errors: Sequence[FieldProblem] | None = None,
) -> JSONResponse:
    body = problem_body(status, request_lang(request.headers), detail, instance=request.url.path, errors=errors)
    return JSONResponse(body, status_code=status, headers=dict(headers or {}), media_type=MEDIA_TYPE)


def field_name(location: Sequence[int | str]) -> str:
    """``("body", "records", 3, "email")`` → ``body.records[3].email``."""
    name = ""
    for part in location:
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name += f".{part}" if name else str(part)
    return name or "body"


def _field_problem(error: Mapping[str, Any], lang: str) -> FieldProblem:
    location = tuple(error.get("loc", ()))
    if error.get("type") == "json_invalid":  # the location is ("body", character offset)
        offset = location[1] if len(location) > 1 else None
        reason = str((error.get("ctx") or {}).get("error", ""))
        key = "json_invalid_at" if isinstance(offset, int) else "json_invalid"
        message = t(key, lang).format(offset=offset) + (f": {reason}" if reason else "")
        return FieldProblem(field="body", message=message)
    return FieldProblem(field=field_name(location), message=validation_message(error, lang))


def status_of(exc: LeadRelayError) -> int:
    for cls in type(exc).__mro__:
        status = STATUS_OF.get(cls)
        if status is not None:
            return status
    return 400


def database_down(request: Request) -> JSONResponse:
    """503: the database cannot be reached; ``Retry-After`` says when to try again."""
    seconds = _retry_after(request)
    lang = request_lang(request.headers)
    return problem_response(
        request, 503, t("database_down", lang).format(seconds=seconds), headers={"Retry-After": str(seconds)}
    )


def _retry_after(request: Request) -> int:
    settings = getattr(request.app.state, "settings", None)
    return int(getattr(settings, "http_retry_after", 5))


def install(app: FastAPI) -> None:
    """Answer every error of ``app`` as a problem."""

    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ProblemError)
        return problem_response(request, exc.status, exc.detail, headers=exc.headers, errors=exc.errors)

    async def on_invalid(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        lang = request_lang(request.headers)
        errors = [_field_problem(error, lang) for error in exc.errors()]
        return problem_response(request, 422, t("invalid_fields", lang).format(count=len(errors)), errors=errors)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        lang = request_lang(request.headers)
        detail = exc.detail if isinstance(exc.detail, str) else None
        if exc.status_code == 404 and detail in (None, "Not Found"):
            detail = t("no_route", lang).format(path=request.url.path)
        return problem_response(request, exc.status_code, detail, headers=exc.headers)

    async def on_user_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, LeadRelayError)
        status = status_of(exc)
        lang = request_lang(request.headers)
        errors = None
        field = getattr(exc, "field", None)
        message = user_error_field_message(exc, lang)
        if status == 422 and isinstance(field, str) and message is not None:
            errors = [FieldProblem(field=field, message=message)]
        return problem_response(request, status, user_error_detail(exc, lang), errors=errors)

    async def on_database(request: Request, exc: Exception) -> JSONResponse:
        if database_unavailable(exc):
            log.warning("database unavailable: %s", _one_line(exc))
            return database_down(request)
        log.error("database error on %s %s", request.method, request.url.path, exc_info=exc)
        return problem_response(request, 500, t("internal_error", request_lang(request.headers)))

    app.add_exception_handler(ProblemError, on_problem)
    app.add_exception_handler(RequestValidationError, on_invalid)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(LeadRelayError, on_user_error)
    app.add_exception_handler(sa.exc.DBAPIError, on_database)
    app.add_exception_handler(sa.exc.DisconnectionError, on_database)


def _one_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


async def send_problem(scope: Scope, send: Send, status: int, detail: str, headers: Mapping[str, str] = {}) -> None:
    """Send a problem straight on the ASGI channel (for middleware, outside FastAPI's handlers)."""
    raw_headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
    body = problem_body(status, request_lang(raw_headers), detail, instance=scope.get("path"))
    payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
    response_headers = [
        (b"content-type", MEDIA_TYPE.encode()),
        (b"content-length", str(len(payload)).encode()),
        *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": response_headers})
    await send({"type": "http.response.body", "body": payload})


class CatchAll:
    """Innermost guard: an exception nothing else handled is logged with its traceback and answered
    with a 500 problem without it (when no response has started yet)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception:
            log.exception("unexpected error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            raw_headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
            await send_problem(scope, send, 500, t("internal_error", request_lang(raw_headers)))
