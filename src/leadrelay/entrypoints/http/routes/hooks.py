"""``POST /hooks/{source}``: inbound webhooks from other tools, signed with HMAC-SHA256.

Open to the network (no API key): the signature is the authentication. It is checked on the raw
body before anything is parsed or stored; an unsigned or wrongly signed request, or one whose
timestamp is more than five minutes away, is answered 401 and stores nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from leadrelay.entrypoints.http.deps import RelayDep
from leadrelay.entrypoints.http.problems import ProblemError, request_lang
from leadrelay.entrypoints.http.problems import responses as problem_responses
from leadrelay.entrypoints.http.routes.intake import (
    JSON,
    RESULT_EXAMPLE,
    IdempotencyKey,
    parse_json,
    run_intake,
)
from leadrelay.entrypoints.i18n import t
from leadrelay.services.hooks import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    HookNotConfigured,
    HookUnauthorized,
    hook_of,
    hook_records,
    payload_rows,
    verify,
)
from leadrelay.services.live_intake import MAX_RECORDS, IntakeResult, RecordKind

router = APIRouter(tags=["intake"])

HOOK_EXAMPLE = {
    "Email": "k.sato@sakura-mfg.co.jp",
    "First Name": "健太",
    "Last Name": "佐藤",
    "Company Name": "さくら製作所",
}


@router.post(
    "/hooks/{source}",
    summary="Receive a signed webhook from another tool (HubSpot, Marketo, Salesforce style)",
    description=(
        'The payload (one object, a list, or {"records": [...]}) is read with the source\'s import mapping '
        f"(playbook `hooks:`). Sign it: `{TIMESTAMP_HEADER}: <Unix seconds>` and "
        f'`{SIGNATURE_HEADER}: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">` with the source\'s secret. '
        "Unsigned, wrongly signed or older than five minutes: 401, nothing stored."
    ),
    response_model=IntakeResult,
    responses={
        200: {"model": IntakeResult, "content": {JSON: {"example": RESULT_EXAMPLE}}},
        **problem_responses(400, 401, 404, 413, 422, 503),
    },
    openapi_extra={
        "requestBody": {"required": True, "content": {JSON: {"schema": {}, "example": HOOK_EXAMPLE}}},
        "security": [],
    },
)
async def receive_hook(source: str, request: Request, engine: RelayDep, key: IdempotencyKey = None) -> Response:
    lang = request_lang(request.headers)
    hook = hook_of(engine.playbook().playbook, source)
    body = await request.body()
    settings = request.app.state.settings
    try:
        verify(
            settings.variable(hook.secret_env),
            body,
            request.headers.get(TIMESTAMP_HEADER),
            request.headers.get(SIGNATURE_HEADER),
            engine.clock.now(),
        )
    except HookUnauthorized as exc:
        raise ProblemError(401, t("hook_unsigned", lang).format(reason=exc)) from None
    except HookNotConfigured:
        raise ProblemError(503, t("hook_not_configured", lang), headers={"Retry-After": "60"}) from None
    rows = payload_rows(parse_json(body, lang))
    if len(rows) > MAX_RECORDS:
        detail = t("too_many_records", lang).format(count=f"{len(rows):,}", limit=f"{MAX_RECORDS:,}")
        raise ProblemError(413, detail)

    def records(now: datetime) -> list[Any]:
        return hook_records(hook, rows, now)

    kind: RecordKind = "activities" if hook.records == "activities" else "leads"
    return await run_intake(
        request, engine, kind=kind, scope=f"hook:{source}", key=key, body=body, records=records, batch=True
    )
