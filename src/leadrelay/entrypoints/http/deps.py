"""What endpoints depend on: the engine, and who is asking.

The dependencies that do no I/O are ``async`` so that FastAPI runs them on the event loop, not in
the thread pool (a hop to a thread and back for each costs more than they do); :func:`principal`
reads the database, so it runs in the pool.

- :data:`RelayDep` — the process's one :class:`LeadRelay` (opened at start-up by :mod:`.app`);
- :data:`PrincipalDep` — the user behind ``Authorization: Bearer <API key>``; a missing, unknown or
  revoked key, or a key of a disabled user, is answered 401 with ``WWW-Authenticate: Bearer``;
- :data:`LangDep` — ``ja`` when the request prefers Japanese (``Accept-Language``), else ``en``;
- :func:`require` — a dependency that also answers 403 unless the principal has one of the roles::

      @router.get("/v1/things")
      def things(who: Annotated[Principal, Depends(require(Role.admin, Role.marketing))]) -> ...
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from leadrelay.entrypoints.api import LeadRelay
from leadrelay.entrypoints.http.problems import ProblemError, request_lang
from leadrelay.entrypoints.i18n import t
from leadrelay.services.access import NotAuthenticated, Principal, Role

#: The security scheme in the OpenAPI document; it does not refuse by itself (``principal`` does).
bearer = HTTPBearer(
    auto_error=False,
    scheme_name="apiKey",
    description="An API key made by `leadrelay keys create`: `Authorization: Bearer lr_...`.",
)


async def relay(request: Request) -> LeadRelay:
    """The engine this process opened at start-up."""
    engine: LeadRelay = request.app.state.relay
    return engine


RelayDep = Annotated[LeadRelay, Depends(relay)]


def principal(
    request: Request,
    engine: RelayDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """Who is asking, by their API key; 401 without a usable one."""
    key = credentials.credentials if credentials is not None else None
    try:
        who = engine.authenticate(key)
    except NotAuthenticated as exc:
        lang = request_lang(request.headers)
        raise ProblemError(401, t(f"auth_{exc.reason}", lang), headers={"WWW-Authenticate": "Bearer"}) from None
    request.state.principal = who
    return who


PrincipalDep = Annotated[Principal, Depends(principal)]


async def lang(request: Request) -> str:
    """The language the request asks for (``Accept-Language``): ``ja`` or ``en``."""
    return request_lang(request.headers)


#: The request's language, for texts an endpoint writes itself (``t(key, lang)``).
LangDep = Annotated[str, Depends(lang)]


def require(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    """A dependency giving the principal when their role is one of ``roles``, else 403."""
    allowed = frozenset(roles)
    names = ", ".join(role.value for role in roles)

    async def allowed_principal(request: Request, who: PrincipalDep) -> Principal:
        if who.role not in allowed:
            lang = request_lang(request.headers)
            raise ProblemError(403, t("forbidden_role", lang).format(role=who.role.value, allowed=names))
        return who

    return allowed_principal
