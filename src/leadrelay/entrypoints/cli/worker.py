"""``leadrelay worker`` (fire timers, deliver the outbox) and ``leadrelay outbox`` (look, retry)."""

from __future__ import annotations

import importlib
import json
import logging
import signal
import threading
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from leadrelay.entrypoints.cli.common import UserError, console, errors, options, relay

if TYPE_CHECKING:
    from leadrelay.entrypoints.worker import WorkerReport


def register(app: typer.Typer) -> None:
    """Add the commands to the ``leadrelay`` app."""
    app.command("worker")(worker_command)
    app.command("outbox")(outbox_command)


def worker_command(
    once: Annotated[bool, typer.Option("--once", help="Do what is due now, then exit (for cron and tests).")] = False,
    batch: Annotated[int, typer.Option("--batch", min=1, help="Timers fired per transaction.")] = 500,
    messages: Annotated[int, typer.Option("--messages", min=1, help="Messages claimed per batch.")] = 200,
    poll: Annotated[float, typer.Option("--poll", min=0.01, help="Seconds to wait when nothing is due.")] = 1.0,
    worker_id: Annotated[str | None, typer.Option("--id", help="This worker's name (default host:pid).")] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, help="Deliveries at the same time.")] = 16,
    max_attempts: Annotated[
        int, typer.Option("--max-attempts", min=1, help="Delivery attempts before a message is given up.")
    ] = 10,
    lease: Annotated[
        float, typer.Option("--lease", min=1, help="Seconds a claimed message stays this worker's.")
    ] = 300.0,
    plugin: Annotated[
        list[str] | None,
        typer.Option("--plugin", help="Import this module first (it may register timer handlers). Repeatable."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="Print only the final count.")] = False,
) -> None:
    """Fire due timers (SLA warnings and breaches, recycling, ...) and send the outbox, until
    SIGINT or SIGTERM (the batch under way is finished first)."""
    import leadrelay.services.sla  # noqa: F401  (registers the SLA timer handlers)
    from leadrelay.adapters.notify.delivery import Senders
    from leadrelay.adapters.store.outbox import Backoff
    from leadrelay.entrypoints.worker import Worker, WorkerSettings, default_worker_id

    for name in plugin or []:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise UserError(f"--plugin {name}: {exc}") from None
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    logger = logging.getLogger("leadrelay")
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING if quiet else logging.INFO)
    settings = WorkerSettings(
        worker_id=worker_id or default_worker_id(),
        timer_batch=batch,
        message_batch=messages,
        poll=poll,
        lease=timedelta(seconds=lease),
        concurrency=concurrency,
        backoff=Backoff(max_attempts=max_attempts),
    )
    with relay() as engine:
        worker = Worker(engine.store, lambda: engine.playbook().playbook, engine.clock, Senders(), settings)
        try:
            if once:
                report = worker.run_once()
            else:
                stop = threading.Event()

                def request_stop(signum: int, _frame: object) -> None:
                    errors.print(f"{signal.Signals(signum).name}: finishing the current batch, then stopping")
                    stop.set()

                signal.signal(signal.SIGINT, request_stop)
                signal.signal(signal.SIGTERM, request_stop)
                errors.print(f"worker {settings.worker_id} running; Ctrl-C to stop")
                report = worker.run(stop, None if quiet else _print_batch)
        finally:
            worker.close()
    _print_report(report)


def _print_batch(step: WorkerReport) -> None:
    logging.getLogger("leadrelay.entrypoints.worker").info(
        "fired %d timers, sent %d, retrying %d, failed %d", step.fired, step.sent, step.retrying, step.failed
    )


def _print_report(report: WorkerReport) -> None:
    if options.lang == "ja":
        console.print(
            f"タイマー実行 {report.fired} 件（エラー {report.timer_errors}）、送信 {report.sent} 件、"
            f"再試行待ち {report.retrying} 件、送信失敗 {report.failed} 件"
        )
    else:
        console.print(
            f"fired {report.fired} timers ({report.timer_errors} errors), sent {report.sent} messages, "
            f"{report.retrying} to retry, {report.failed} failed"
        )


def outbox_command(
    failed: Annotated[
        bool, typer.Option("--failed", help="List the messages given up, with their last error.")
    ] = False,
    retry: Annotated[str | None, typer.Option("--retry", help="Send a failed message again: its id, or 'all'.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="List at most this many.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Messages waiting to be sent (or, with --failed, given up), and counts; retry a failed one."""
    from leadrelay.adapters.store.outbox import outbox_counts, outbox_rows, retry_failed

    with relay() as engine:
        if retry is not None:
            ids = None if retry == "all" else [_message_id(retry)]
            with engine.store.transaction() as tx:
                count = retry_failed(tx, ids, engine.clock.now())
            if ids is not None and count == 0:
                raise UserError(f"--retry: no failed message with id {retry}")
            console.print(f"{count} message(s) will be sent again by the next worker run")
            return
        with engine.store.reading() as tx:
            counts = outbox_counts(tx)
            rows = outbox_rows(tx, failed=failed, limit=limit)
    if as_json:
        print(json.dumps({"counts": counts, "messages": [r.as_dict() for r in rows]}, ensure_ascii=False, indent=2))
        return
    ja = options.lang == "ja"
    console.print(
        (
            "送信待ち {pending} 件、送信失敗 {failed} 件、送信済み {sent} 件；未実行タイマー {timers_pending} 件"
            if ja
            else "{pending} pending, {failed} failed, {sent} sent; {timers_pending} timers pending"
        ).format(**counts)
    )
    if not rows:
        return
    table = Table()
    for name in ("id", "status", "channel", "to", "event", "subject", "attempts", "due / failed", "last error"):
        table.add_column(name)
    for row in rows:
        moment = row.failed_at if row.failed_at else row.due_at
        table.add_row(
            str(row.id),
            row.status,
            row.target or row.channel,
            row.recipient,
            row.event,
            row.subject,
            str(row.attempts),
            moment.isoformat(timespec="seconds"),
            row.last_error or "",
        )
    console.print(table)


def _message_id(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise UserError(f"--retry: give a message id (a number) or 'all', not '{text}'") from None
