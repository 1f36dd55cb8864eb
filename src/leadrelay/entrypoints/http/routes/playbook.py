"""``/v1/playbook``: the active playbook, its stored versions, checking a candidate (errors with the
line, as ``leadrelay playbook validate``) and activating one (admin only; kept in the history with
who activated it and when).

Candidates are sent as YAML text (``application/yaml``, ``text/yaml`` or ``text/plain``), the file
as it is, so that the line numbers of errors are the file's.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from leadrelay.entrypoints.http.deps import PrincipalDep, RelayDep, require
from leadrelay.entrypoints.http.examples import CHECK_EXAMPLE, VERSIONS_EXAMPLE
from leadrelay.entrypoints.http.problems import FieldProblem, ProblemError, request_lang, responses
from leadrelay.entrypoints.i18n import t
from leadrelay.services.access import Principal, Role
from leadrelay.services.playbooks import PlaybookCheck, PlaybookVersion, PlaybookView

router = APIRouter(tags=["playbook"])

YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain")
YAML_EXAMPLE = "id: default\nname: Default B2B handoff\nversion: 2026.12.2\n# ... the rest of the playbook\n"
YAML_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            kind: {"schema": {"type": "string"}, "example": YAML_EXAMPLE} for kind in ("application/yaml", "text/plain")
        },
    }
}
Checker = Annotated[Principal, Depends(require(Role.admin, Role.marketing, Role.manager))]
Admin = Annotated[Principal, Depends(require(Role.admin))]


async def _yaml_text(request: Request) -> str:
    lang = request_lang(request.headers)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in YAML_TYPES:
        raise ProblemError(415, t("playbook_yaml_only", lang).format(types=", ".join(YAML_TYPES)))
    raw = await request.body()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ProblemError(
            422, t("playbook_not_utf8", lang), errors=[FieldProblem(field="body", message="not UTF-8 text")]
        ) from None
    if not text.strip():
        raise ProblemError(422, t("playbook_empty", lang), errors=[FieldProblem(field="body", message="empty")])
    return text


def _refuse(check: PlaybookCheck, request: Request) -> ProblemError:
    lang = request_lang(request.headers)
    errors = []
    for p in check.errors:
        context = " ".join(part for part in (f"rule '{p.rule}'" if p.rule else "", p.where) if part)
        errors.append(
            FieldProblem(
                field=f"body (line {p.line})" if p.line else "body",
                message=f"{context}: {p.message}" if context else p.message,
            )
        )
    first = check.errors[0]
    place = f"line {first.line}: " if first.line else ""
    return ProblemError(422, t("playbook_invalid", lang).format(where=place, message=first.message), errors=errors)


VIEW_EXAMPLE: dict[str, Any] = {
    "hash": "3f1c…",
    "id": "default",
    "version": "2026.12.1",
    "name": "Default B2B handoff (seed example)",
    "source": "<upload>",
    "activated_at": "2026-11-25T12:00:00+09:00",
    "activated_by": "admin@example.co.jp",
    "text": "id: default\n...",
    "document": {"id": "default", "version": "2026.12.1"},
}


@router.get(
    "/v1/playbook",
    response_model=PlaybookView,
    summary="The active playbook",
    description="Its hash, version, when and by whom it was activated, its YAML text and the parsed document.",
    responses={200: {"content": {"application/json": {"example": VIEW_EXAMPLE}}}, **responses(401, 503)},
)
def active_playbook(engine: RelayDep, who: PrincipalDep) -> PlaybookView:
    return engine.playbook_view()


@router.get(
    "/v1/playbook/versions",
    response_model=list[PlaybookVersion],
    summary="Every stored playbook version with its activations",
    description="The most recently activated first; each activation with its time and actor.",
    responses={200: {"content": {"application/json": {"example": VERSIONS_EXAMPLE}}}, **responses(401, 503)},
)
def playbook_versions(engine: RelayDep, who: PrincipalDep) -> list[PlaybookVersion]:
    return engine.playbook_versions()


@router.post(
    "/v1/playbook/validate",
    response_model=PlaybookCheck,
    summary="Check a candidate playbook (YAML) without storing it",
    description="200 with its id, version and hash when it can be used; 422 naming the line and rule otherwise.",
    openapi_extra=YAML_BODY,
    responses={
        200: {"content": {"application/json": {"example": CHECK_EXAMPLE}}},
        **responses(401, 403, 413, 415, 422, 503),
    },
)
async def validate_playbook(request: Request, engine: RelayDep, who: Checker) -> PlaybookCheck:
    check = engine.check_playbook(await _yaml_text(request))
    if not check.valid:
        raise _refuse(check, request)
    return check


@router.post(
    "/v1/playbook/activate",
    response_model=PlaybookView,
    summary="Make a playbook (YAML) the active one",
    description="Admin only. Checked first (422 with the line otherwise); stored by hash and kept in the "
    "history with who activated it and when. New activities are judged by it; leads are not rescored.",
    openapi_extra=YAML_BODY,
    responses={
        200: {"content": {"application/json": {"example": VIEW_EXAMPLE}}},
        **responses(401, 403, 413, 415, 422, 503),
    },
)
async def activate_playbook(request: Request, engine: RelayDep, who: Admin) -> PlaybookView:
    text = await _yaml_text(request)
    check = engine.check_playbook(text)
    if not check.valid:
        raise _refuse(check, request)
    return engine.activate_playbook(text, actor=who.actor)
