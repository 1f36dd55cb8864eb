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
from fastapi.staticfiles import StaticFiles

import leadrelay
from leadrelay import bootstrap
from leadrelay.config import Settings, load_settings
from leadrelay.entrypoints.api import LeadRelay
from leadrelay.entrypoints.http import openapi, problems
from leadrelay.entrypoints.http.limits import BodyLimit
from leadrelay.entrypoints.http.routes import erasure, forms, health, hooks, intake, leads, me, playbook, reports, reps
from leadrelay.entrypoints.http.web import pages as web_pages
from leadrelay.entrypoints.http.web import playbook_pages
from leadrelay.entrypoints.http.web import report_pages as web_reports

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

#: Every router of the API, included in this order.
ROUTERS = [
    health.router,
    me.router,
    intake.router,
    forms.router,
    hooks.router,
    leads.router,
    reps.router,
    playbook.router,
    erasure.router,
    reports.router,
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
    for router in ROUTERS:
        app.include_router(router)
    openapi.install(app, ROUTERS)
    # the dashboard: pages on the same app, their static files (no build step, nothing from a CDN)
    web_pages.install(app)
    app.include_router(web_pages.router)
    app.include_router(web_reports.router)
    app.include_router(playbook_pages.router)
    app.mount("/static", StaticFiles(directory=web_pages.HERE / "static"), name="static")
    return app


def app_from_environment() -> FastAPI:
    """The app from the ``LEADRELAY_*`` variables: uvicorn's factory in each worker process."""
    return create_app(load_settings())
