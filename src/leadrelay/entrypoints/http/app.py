"""The FastAPI application: ``create_app(settings)``.

One :class:`LeadRelay` (one SqlStore, its connection pool) per process, opened when the server
starts (the database migrated, the active playbook loaded: the bundled default one on a new
database) and closed when it stops; endpoints reach it through :data:`deps.RelayDep`. Each
``routes/*.py`` module's router is included below, explicitly.

``leadrelay serve`` runs :func:`app_from_environment` with uvicorn (``factory=True``), so each
worker process builds its own app from the same ``LEADRELAY_*`` variables.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

import leadrelay
from leadrelay import bootstrap
from leadrelay.config import Settings, load_settings
from leadrelay.entrypoints.api import LeadRelay
from leadrelay.entrypoints.http import problems
from leadrelay.entrypoints.http.limits import BodyLimit
from leadrelay.entrypoints.http.routes import erasure, forms, health, hooks, intake, leads, me, playbook, reports, reps

DESCRIPTION = """\
The HTTP API of leadrelay, the lead handoff engine: send it leads and activities, read leads with
the explanation of every score and routing decision, record sales' answers.

**Authentication**: every endpoint except `/healthz` (and the public form and webhook intake)
needs an API key, made with `leadrelay keys create --user EMAIL`:
`Authorization: Bearer lr_...`. The key's role decides what it may do: `admin`, `marketing`,
`manager` (the leads of their departments), `rep` (their own leads).

**Errors** are RFC 9457 problem details (`application/problem+json`) naming the fields at fault;
`Accept-Language: ja` gives them in Japanese. When the database does not answer the API says
503 with `Retry-After`, and recovers by itself when it is back.
"""

TAGS = [
    {"name": "users", "description": "Who the API key belongs to."},
    {"name": "health", "description": "Whether the server and its database answer."},
    {"name": "intake", "description": "Leads and activities in, answered record by record; signed webhooks."},
    {"name": "forms", "description": "Landing-page forms posted by browsers (public)."},
    {"name": "leads", "description": "Read leads with their explanation; sales' answers, touches and notes."},
    {"name": "reps", "description": "Reps and departments: load, capacity, status; away and back; reassigning."},
    {"name": "playbook", "description": "The active playbook, its versions, checking and activating one."},
]


def open_relay(settings: Settings) -> LeadRelay:
    """The engine on the settings' database, migrated, with its active playbook loaded."""
    engine = LeadRelay(bootstrap.open_store(settings), bootstrap.make_clock(settings))
    try:
        engine.playbook()
    except BaseException:
        engine.close()
        raise
    return engine


def create_app(settings: Settings) -> FastAPI:
    """The API on the database of ``settings``; the database is opened when the app starts."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = open_relay(settings)
        app.state.relay = engine
        try:
            yield
        finally:
            engine.close()

    app = FastAPI(
        title="leadrelay",
        version=leadrelay.__version__,
        summary="Lead handoff engine: score, qualify and hand leads from marketing to sales, explaining every decision.",
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    problems.install(app)
    app.add_middleware(problems.CatchAll)
    app.add_middleware(BodyLimit, limit=settings.http_body_limit)
    app.include_router(health.router)
    app.include_router(me.router)
    app.include_router(intake.router)
    app.include_router(forms.router)
    app.include_router(hooks.router)
    app.include_router(leads.router)
    app.include_router(reps.router)
    app.include_router(playbook.router)
    app.include_router(erasure.router)
    app.include_router(reports.router)
    return app


def app_from_environment() -> FastAPI:
    """The app from the ``LEADRELAY_*`` variables: uvicorn's factory in each worker process."""
    return create_app(load_settings())
