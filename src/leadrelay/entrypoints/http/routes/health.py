"""``GET /healthz``: whether this process answers and its database does (no API key needed)."""

from __future__ import annotations

import logging
from typing import Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict

from leadrelay.entrypoints.http.deps import RelayDep

router = APIRouter(tags=["health"])
log = logging.getLogger("leadrelay.http")


class Health(BaseModel):
    """``ok`` when the database answers; ``unavailable`` (status 503) when it does not."""

    model_config = ConfigDict(frozen=True, json_schema_extra={"examples": [{"status": "ok", "database": "ok"}]})

    status: Literal["ok", "unavailable"]
    database: str


@router.get(
    "/healthz",
    response_model=Health,
    summary="Health: does the database answer",
    description="No API key needed. 200 when the database answers a query, 503 (with Retry-After) when it does not.",
    responses={
        200: {"content": {"application/json": {"example": {"status": "ok", "database": "ok"}}}},
        503: {
            "model": Health,
            "description": "The database does not answer",
            "content": {
                "application/json": {
                    "example": {"status": "unavailable", "database": "OperationalError: connection refused"}
                }
            },
        },
    },
)
def healthz(engine: RelayDep, request: Request, response: Response) -> Health:
    problem = engine.store.ping()
    if problem is None:
        return Health(status="ok", database="ok")
    log.warning("health check: database unavailable: %s", problem)
    response.status_code = 503
    response.headers["Retry-After"] = str(request.app.state.settings.http_retry_after)
    return Health(status="unavailable", database=problem)
