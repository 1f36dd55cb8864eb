"""``leadrelay serve``: the HTTP API on uvicorn, optionally with the worker loop in the same command.

Start-up checks everything first and refuses to start with one line when something is wrong (a
database that cannot be opened or migrated, a stored playbook that cannot be read, a channel the
playbook sends on that cannot be used with ``--with-worker``). Then uvicorn runs
:func:`leadrelay.entrypoints.http.app.app_from_environment` (``factory=True``) in this process or,
with ``--workers N``, in N worker processes; each builds its settings from the environment, so the
command's own options (``--db``, ``--lang``, ``--now``, the HTTP settings) are handed to them as
``LEADRELAY_*`` variables.

SIGINT or SIGTERM stop it: uvicorn finishes the requests under way, the worker loop finishes the
deliveries under way, and the command exits 0.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from typing import TYPE_CHECKING, Annotated

import typer

from leadrelay.entrypoints.cli.common import UserError, errors, options, relay
from leadrelay.variables import (
    DB_ENV,
    HTTP_BODY_LIMIT_ENV,
    HTTP_HOST_ENV,
    HTTP_PORT_ENV,
    HTTP_RETRY_AFTER_ENV,
    HTTP_WORKERS_ENV,
    LANG_ENV,
    NOW_ENV,
)

if TYPE_CHECKING:
    from leadrelay.config import Settings
    from leadrelay.entrypoints.api import LeadRelay

#: What uvicorn imports in each process: a factory building the app from the environment.
APP_FACTORY = "leadrelay.entrypoints.http.app:app_from_environment"


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)


def serve_command(
    host: Annotated[
        str | None, typer.Option("--host", help=f"Address to listen on [default: {HTTP_HOST_ENV} or 127.0.0.1].")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option("--port", min=1, max=65535, help=f"Port to listen on [default: {HTTP_PORT_ENV} or 8000]."),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            max=64,
            help=f"Server processes sharing the database [default: {HTTP_WORKERS_ENV} or 1].",
        ),
    ] = None,
    with_worker: Annotated[
        bool,
        typer.Option(
            "--with-worker", help="Also fire timers and send the outbox (as `leadrelay worker`) in this command."
        ),
    ] = False,
    access_log: Annotated[bool, typer.Option("--access-log/--no-access-log", help="Log every request.")] = True,
) -> None:
    """Run the HTTP API (OpenAPI at /docs) until SIGINT or SIGTERM."""
    import uvicorn

    from leadrelay.config import redact

    given = {"http_host": host, "http_port": port, "http_workers": workers}
    settings = options.current.model_copy(update={k: v for k, v in given.items() if v is not None})
    _check_address(settings.http_host, settings.http_port)
    with relay() as engine:
        engine.playbook()  # migrates the database and reads (or, on a new one, applies) the playbook
        dialect = engine.store.engine.dialect.name
        worker_engine = _worker_engine(settings, engine) if with_worker else None
    _hand_to_processes(settings)
    database = redact(settings.db) if settings.db else "leadrelay.db"
    errors.print(
        f"leadrelay serve: http://{settings.http_host}:{settings.http_port} (docs at /docs); "
        f"{settings.describe_http()}; database {database}: {_database_note(dialect, settings.http_workers)}"
        + ("; with the worker loop (timers and outbox) in this process" if with_worker else ""),
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    if with_worker:
        errors.print(f"worker loop: {settings.describe()}", markup=False, highlight=False, soft_wrap=True)
    stopping = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        # uvicorn handles the signal first (stops serving); it hands it back here once it has
        # stopped, and then the worker loop is told to stop too
        if not stopping.is_set():
            errors.print(f"{signal.Signals(signum).name}: stopping", markup=False, highlight=False)
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    thread = _start_worker(worker_engine, settings, stopping) if worker_engine is not None else None
    try:
        uvicorn.run(
            APP_FACTORY,
            factory=True,
            host=settings.http_host,
            port=settings.http_port,
            workers=settings.http_workers,
            access_log=access_log,
            log_level="info",
            timeout_graceful_shutdown=30,
        )
    finally:
        stopping.set()
        if thread is not None:
            thread.join()
        if worker_engine is not None:
            worker_engine.close()
    errors.print("leadrelay serve: stopped", markup=False, highlight=False)


def _check_address(host: str, port: int) -> None:
    """Refuse at once (one line) when the address cannot be listened on: in use, or no such host."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise UserError(f"--host {host}: {exc.strerror or exc}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind(address)
        except OSError as exc:
            raise UserError(f"--host {host} --port {port}: {exc.strerror or exc}") from None


def _database_note(dialect: str, workers: int) -> str:
    if dialect == "sqlite":
        note = "SQLite (WAL, busy timeout 30 s, one writer at a time: writes wait for each other)"
        if workers > 1:
            note += f"; {workers} processes share the file, so they write one after another"
        return note
    return "PostgreSQL (processes and workers share it safely)"


def _hand_to_processes(settings: Settings) -> None:
    """Put the effective settings where every server process reads them: the environment."""
    values = {
        HTTP_HOST_ENV: settings.http_host,
        HTTP_PORT_ENV: str(settings.http_port),
        HTTP_WORKERS_ENV: str(settings.http_workers),
        HTTP_BODY_LIMIT_ENV: str(settings.http_body_limit),
        HTTP_RETRY_AFTER_ENV: str(settings.http_retry_after),
        LANG_ENV: settings.language,
    }
    if settings.db:
        values[DB_ENV] = settings.db
    if settings.now:
        values[NOW_ENV] = settings.now.isoformat()
    os.environ.update(values)


def _worker_engine(settings: Settings, checked: LeadRelay) -> LeadRelay:
    """A second engine for the worker loop, once the channels the playbook sends on are checked."""
    from leadrelay.bootstrap import check_delivery

    for warning in check_delivery(settings, checked.playbook().playbook.notifications):
        errors.print(f"warning: {warning}", markup=False, highlight=False)
    return relay()


def _start_worker(engine: LeadRelay, settings: Settings, stop: threading.Event) -> threading.Thread:
    """The loop of ``leadrelay worker`` in a background thread, until ``stop`` is set."""
    from leadrelay.bootstrap import make_senders, timer_handlers
    from leadrelay.entrypoints.worker import Worker, WorkerSettings

    worker_settings = WorkerSettings.from_settings(settings, None)
    worker = Worker(
        engine.store,
        lambda: engine.playbook().playbook,
        engine.clock,
        make_senders(settings),
        worker_settings,
        timer_handlers(),
    )
    logger = logging.getLogger("leadrelay")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)

    def loop() -> None:
        try:
            report = worker.run(stop)
        finally:
            worker.close()
        logger.info(
            "worker %s stopped: fired %d timers, sent %d messages, %d to retry, %d failed",
            worker_settings.worker_id,
            report.fired,
            report.sent,
            report.retrying,
            report.failed,
        )

    thread = threading.Thread(target=loop, name="leadrelay-worker", daemon=True)
    thread.start()
    return thread
