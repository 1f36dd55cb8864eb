"""``DELETE /v1/leads/{ref}/personal-data``: erase a person's personal data (an APPI / GDPR request)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from leadrelay.entrypoints.http.deps import RelayDep, require
from leadrelay.entrypoints.http.problems import responses
from leadrelay.services.access import Principal, Role
from leadrelay.services.erasure import ErasureReport

router = APIRouter(tags=["erasure"])

EXAMPLE = {
    "ref": "erased-5ac11beaa7aea908",
    "already_erased": False,
    "erased_at": "2026-11-25T12:00:00+09:00",
    "requested_by": "dpo@example.co.jp",
    "tables": {
        "activities": 3,
        "erased_identities": 2,
        "leads": 1,
        "outbox": 4,
        "outcomes": 0,
        "routing_decisions": 1,
        "timers": 1,
        "transition_corrections": 0,
        "transitions": 2,
    },
    "messages_cancelled": 2,
    "files": [{"path": "/data/imports/activities.csv.rejects.csv", "status": "rewritten", "rows_removed": 1}],
}

Erasers = Annotated[Principal, Depends(require(Role.admin, Role.marketing))]


@router.delete(
    "/v1/leads/{ref}/personal-data",
    response_model=ErasureReport,
    summary="Erase a person's personal data, keeping anonymous counts",
    description=(
        "Erases the person's personal data everywhere leadrelay stores it — the lead's profile, activity "
        "properties, outbox messages, decision and transition texts, rejects files of imports — and keeps the "
        "lead as an anonymous record (a random `erased-…` ref) so counts and reports stay right. Later records "
        "with the person's e-mail or external id are refused. Erasing again answers `already_erased: true`. "
        "`ref`: the lead's e-mail, external id, or `erased-…` ref. Roles: admin, marketing. "
        "See docs/privacy-and-erasure.md."
    ),
    responses={200: {"content": {"application/json": {"example": EXAMPLE}}}, **responses(401, 403, 404, 422, 503)},
)
def erase_personal_data(
    engine: RelayDep,
    who: Erasers,
    ref: Annotated[str, Path(description="The lead's e-mail, external id or erased- ref.", max_length=320)],
) -> ErasureReport:
    return engine.erase(ref, actor=who.actor)
