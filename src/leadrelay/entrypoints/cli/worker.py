"""``leadrelay worker`` (fire timers, deliver the outbox) and ``leadrelay outbox`` (look, retry)."""

from __future__ import annotations

import logging
import signal
import threading
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from leadrelay.entrypoints.cli import render
from leadrelay.entrypoints.cli.common import UserError, console, errors, options, relay

# The worker, its senders (httpx, smtplib) and the outbox are imported by the commands.
if TYPE_CHECKING:
    from leadrelay.entrypoints.worker import WorkerReport


def register(app: typer.Typer) -> None:
    """Add the commands to the ``leadrelay`` app."""
    app.command("worker")(worker_command)
    app.command("outbox")(outbox_command)


def worker_command(
    once: Annotated[bool, typer.Option("--once", help="Do what is due now, then exit (for cron and tests).")] = False,
    batch: Annotated[
        int | None,
        typer.Option(
            "--batch", min=1, help="Timers fired per transaction [default: LEADRELAY_WORKER_TIMER_BATCH or 500]."
        ),
    ] = None,
    messages: Annotated[
        int | None,
        typer.Option(
            "--messages", min=1, help="Messages claimed per batch [default: LEADRELAY_WORKER_MESSAGE_BATCH or 200]."
        ),
    ] = None,
    poll: Annotated[
        float | None,
        typer.Option(
            "--poll",
            min=0.01,
            help=(
                "Longest wait when idle (new messages and due timers wake the worker sooner)"
                " [default: LEADRELAY_WORKER_POLL or 1]."
            ),
        ),
    ] = None,
    worker_id: Annotated[str | None, typer.Option("--id", help="This worker's name (default host:pid).")] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency", min=1, help="Deliveries at the same time [default: LEADRELAY_WORKER_CONCURRENCY or 16]."
        ),
    ] = None,
    max_attempts: Annotated[
        int | None,
        typer.Option(
            "--max-attempts",
            min=1,
            help="Delivery attempts before a message is given up [default: LEADRELAY_WORKER_MAX_ATTEMPTS or 10].",
        ),
    ] = None,
    lease: Annotated[
        float | None,
        typer.Option(
            "--lease",
            min=1,
            help="Seconds a claimed message stays this worker's [default: LEADRELAY_WORKER_LEASE or 300].",
        ),
    ] = None,
    plugin: Annotated[
        list[str] | None,
        typer.Option("--plugin", help="A module whose TIMER_HANDLERS ({kind: handler}) fire timers too. Repeatable."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="Print only the final count.")] = False,
) -> None:
    """Fire due timers (SLA warnings and breaches, recycling, ...) and send the outbox, until
    SIGINT or SIGTERM (the deliveries under way are finished first); waits out database outages."""
    from leadrelay.bootstrap import PluginError, check_delivery, make_senders, timer_handlers
    from leadrelay.entrypoints.worker import Worker, WorkerSettings

    try:
        handlers = timer_handlers(plugin or [])
    except PluginError as exc:
        raise UserError(f"--plugin {exc.name}: {exc.reason}") from None
    given = {
        "timer_batch": batch,
        "message_batch": messages,
        "poll": poll,
        "concurrency": concurrency,
        "max_attempts": max_attempts,
        "lease": lease,
    }
    settings = options.current.model_copy(update={k: v for k, v in given.items() if v is not None})
    worker_settings = WorkerSettings.from_settings(settings, worker_id)
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    logger = logging.getLogger("leadrelay")
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING if quiet else logging.INFO)
    with relay() as engine:
        for warning in check_delivery(settings, engine.playbook().playbook.notifications):
            errors.print(f"warning: {warning}", markup=False, highlight=False)
        worker = Worker(
            engine.store,
            lambda: engine.playbook().playbook,
            engine.clock,
            make_senders(settings),
            worker_settings,
            handlers,
        )
        started = f"worker {worker_settings.worker_id} ({settings.describe()})"
        try:
            if once:
                if not quiet:
                    errors.print(f"{started}: doing what is due", markup=False, highlight=False)
                report = worker.run_once()
            else:
                stop = threading.Event()

                def request_stop(signum: int, _frame: object) -> None:
                    errors.print(f"{signal.Signals(signum).name}: finishing what is under way, then stopping")
                    stop.set()

                signal.signal(signal.SIGINT, request_stop)
                signal.signal(signal.SIGTERM, request_stop)
                errors.print(f"{started} running; Ctrl-C to stop", markup=False, highlight=False)
                report = worker.run(stop, None if quiet else _print_batch)
        finally:
            worker.close()
    _print_report(report)


def _print_batch(step: WorkerReport) -> None:
    logging.getLogger("leadrelay.entrypoints.worker").info(
        "fired %d timers, sent %d, retrying %d, failed %d; purged %d expired idempotency keys",
        step.fired,
        step.sent,
        step.retrying,
        step.failed,
        step.purged,
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
    from leadrelay.adapters.store.outbox import retry_failed
    from leadrelay.services.read_models import iso_time

    with relay() as engine:
        if retry is not None:
            ids = None if retry == "all" else [_message_id(retry)]
            with engine.store.transaction() as tx:
                count = retry_failed(tx, ids, engine.clock.now())
            if ids is not None and count == 0:
                raise UserError(f"--retry: no failed message with id {retry}")
            console.print(f"{count} message(s) will be sent again by the next worker run")
            return
        report = engine.outbox(failed=failed, limit=limit)
    if as_json:
        print(render.as_json(report))
        return
    counts = report.counts.model_dump()
    ja = options.lang == "ja"
    console.print(
        (
            "送信待ち {pending} 件、送信失敗 {failed} 件、送信済み {sent} 件；未実行タイマー {timers_pending} 件"
            if ja
            else "{pending} pending, {failed} failed, {sent} sent; {timers_pending} timers pending"
        ).format(**counts)
    )
    if not report.messages:
        return
    table = Table()
    for name in ("id", "status", "channel", "to", "event", "subject", "attempts", "due / failed", "last error"):
        table.add_column(name)
    for row in report.messages:
        moment = row.failed_at if row.failed_at else row.due_at
        table.add_row(
            str(row.id),
            row.status,
            row.target or row.channel,
            row.recipient,
            row.event,
            row.subject,
            str(row.attempts),
            iso_time(moment),
            row.last_error or "",
        )
    console.print(table)


def _message_id(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise UserError(f"--retry: give a message id (a number) or 'all', not '{text}'") from None
