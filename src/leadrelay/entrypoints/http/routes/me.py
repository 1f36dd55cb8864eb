"""``GET /v1/me``: who the API key belongs to, with the role it carries."""

from __future__ import annotations

from fastapi import APIRouter

from leadrelay.entrypoints.http.deps import PrincipalDep
from leadrelay.entrypoints.http.problems import responses
from leadrelay.services.access import Principal

router = APIRouter(tags=["users"])

EXAMPLE = {
    "user_id": 3,
    "email": "manager@example.co.jp",
    "role": "manager",
    "departments": ["hq_corporate_sales"],
    "rep": None,
    "key_id": 7,
}


@router.get(
    "/v1/me",
    response_model=Principal,
    summary="The user and role behind the API key",
    description="What the request's API key may do: its user, the key's role, a manager's departments, a rep user's rep id.",
    responses={200: {"content": {"application/json": {"example": EXAMPLE}}}, **responses(401, 503)},
)
def me(who: PrincipalDep) -> Principal:
    return who
