"""The ``leadrelay`` command line. Thin: parse, call one service, print, map errors to exit codes."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from leadrelay.domain.lifecycle import TRANSITIONS, mermaid
from leadrelay.entrypoints.cli import render
from leadrelay.entrypoints.cli.accounts import register as register_accounts
from leadrelay.entrypoints.cli.activity_log import register as register_activity_log
from leadrelay.entrypoints.cli.common import UserError, console, errors, options, relay
from leadrelay.entrypoints.cli.erasure import register as register_erasure
from leadrelay.entrypoints.cli.reports import register as register_reports
from leadrelay.entrypoints.cli.rescore import register as register_rescore
from leadrelay.entrypoints.cli.routing import reps_app, route_app
from leadrelay.entrypoints.cli.sales import register as register_sales
from leadrelay.entrypoints.cli.serve import register as register_serve
from leadrelay.entrypoints.cli.summaries import register as register_summaries
from leadrelay.entrypoints.cli.users import register as register_users
from leadrelay.entrypoints.cli.worker import register as register_worker
from leadrelay.entrypoints.i18n import LANGS, t
from leadrelay.errors import LeadRelayError
from leadrelay.variables import DB_ENV, LANG_ENV, NOW_ENV

# The engine, the settings, the file readers, the worker and the services (with SQLAlchemy, pydantic,
# PyArrow, NumPy, ruamel.yaml, ...) are imported by the commands that use them, so that
# `leadrelay --help` and every command start without loading them all (tests/unit/test_startup.py).
if TYPE_CHECKING:
    from leadrelay.adapters.files.formats import Kind
    from leadrelay.adapters.files.sources import Source
    from leadrelay.entrypoints.api import LeadRelay
    from leadrelay.services.intake import BatchResult

app = typer.Typer(
    name="leadrelay",
    help="Lead handoff engine: score, qualify and hand leads from marketing to sales, explaining every decision.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
playbook_app = typer.Typer(help="Check, show and apply playbooks.", no_args_is_help=True)
lead_app = typer.Typer(help="Look at leads (and erase a person's personal data).", no_args_is_help=True)
activity_app = typer.Typer(help="Record activities.", no_args_is_help=True)
import_app = typer.Typer(
    help="Import leads, activities or outcomes from CSV, JSONL or Parquet files.", no_args_is_help=True
)
app.add_typer(playbook_app, name="playbook")
app.add_typer(lead_app, name="lead")
app.add_typer(activity_app, name="activity")
app.add_typer(import_app, name="import")
app.add_typer(route_app, name="route")
app.add_typer(reps_app, name="reps")
register_rescore(app)
register_activity_log(app)
register_summaries(app)
register_sales(lead_app, app)
register_erasure(lead_app)
register_worker(app)
register_users(app)
register_serve(app)
register_accounts(app)
register_reports(app)


@app.callback()
def main_options(
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help=f"Database: a SQLite file path or a URL (sqlite:///file.db, postgresql://...). Default: {DB_ENV}, else leadrelay.db.",
        ),
    ] = None,
    lang: Annotated[
        str | None,
        typer.Option(
            "--lang", help=f"Language of the output: en or ja. Default: {LANG_ENV}, else the locale (LC_ALL, LANG)."
        ),
    ] = None,
    now: Annotated[
        str | None,
        typer.Option(
            "--now", help=f"Act as if it were this time (ISO 8601 with zone): for replays. Default: {NOW_ENV}."
        ),
    ] = None,
) -> None:
    if lang is not None and lang not in LANGS:
        raise UserError(f"--lang: '{lang}' is not one of {', '.join(LANGS)}")
    # Recorded only: the environment is read and checked (with --now) when the command first needs a
    # setting, not here, because Typer runs this callback for `leadrelay COMMAND --help` too.
    options.give(db=db, lang=lang, now=now)


def _print_result(result: BatchResult, lang: str) -> None:
    parts = []
    if result.leads_created:
        parts.append(f"{result.leads_created} {t('leads_created', lang)}")
    if result.leads_updated:
        parts.append(f"{result.leads_updated} {t('leads_updated', lang)}")
    parts.append(f"{result.activities_inserted} {t('activities_recorded', lang)}")
    parts.append(f"{result.duplicates} {t('duplicates_skipped', lang)}")
    parts.append(f"{len(result.moves)} {t('stage_moves', lang)}")
    parts.append(f"{len(result.rejected)} {t('rejected', lang)}")
    console.print(", ".join(parts))
    for move in result.moves[:20]:
        console.print(
            f"  {move.lead}: {move.from_stage} → [bold]{move.to_stage}[/] ({move.trigger}, {move.rule or '—'})"
        )
    if len(result.moves) > 20:
        console.print(f"  … {len(result.moves) - 20} more")
    for rejection in result.rejected[:50]:
        errors.print(f"rejected {rejection}", markup=False, highlight=False)
    if len(result.rejected) > 50:
        errors.print(f"… {len(result.rejected) - 50} more rejected")


# --- demo and summary ----------------------------------------------------------------------


#: The reports ``leadrelay demo`` points at when it is done.
DEMO_REPORTS = ("status", "funnel", "sla", "aging", "dependency", "campaigns", "quality")


@app.command()
def demo(
    seed: Annotated[int, typer.Option(help="Seed of the synthetic data set (same seed and --now, same data).")] = 7,
    people: Annotated[int, typer.Option(min=50, help="Number of people.")] = 3000,
    companies: Annotated[int, typer.Option(min=20, help="Number of companies.")] = 300,
    days: Annotated[int, typer.Option(min=7, help="Days of live operation simulated, ending at --now.")] = 90,
    truth: Annotated[
        Path | None,
        typer.Option(
            help="Where to write the ground truth (JSON); default: beside the SQLite file, as NAME.truth.json."
        ),
    ] = None,
    keep: Annotated[bool, typer.Option(help="Keep an existing demo database instead of starting afresh.")] = False,
    static: Annotated[
        bool,
        typer.Option(
            "--static", help="Load the data set at once at --now, without time passing or reps answering (faster)."
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Create a demo database: a quarter of live operation simulated hour by hour (leads arrive and
    qualify, reps answer at their own pace, SLA timers fire, leads are recycled and re-worked),
    write its ground truth, and summarise."""
    from leadrelay.adapters.clock import FakeClock, SystemClock
    from leadrelay.entrypoints.api import LeadRelay, database_url
    from leadrelay.entrypoints.demo.runner import dashboard_lines, live_demo, serve_command, truth_path

    url = database_url(options.db or "leadrelay-demo.db")
    if not keep:
        _remove_sqlite(url)
    end = options.now or SystemClock().now()
    engine = LeadRelay.open(url, clock=FakeClock(end))  # the simulation ends at this one moment
    if static:
        _static_demo(engine, url, seed=seed, people=people, companies=companies, days=days, as_json=as_json)
        return
    try:
        run = live_demo(engine, seed=seed, people=people, companies=companies, days=days)
        written = truth or truth_path(url)
        run.truth.write(written)
        outcome = {**run.facts, "truth": str(written), "serve": serve_command(_db_arg(url))}
        data = engine.summary()
        if as_json:
            print(json.dumps({"demo": outcome, "summary": data.as_json()}, ensure_ascii=False, indent=2))
            return
        lang = options.lang
        console.print(t("demo_done", lang).format(url=url, **outcome))
        console.print(t("demo_sim", lang).format(**outcome))
        render.summary(console, data, engine.playbook().playbook, lang)
        console.print(t("demo_truth", lang).format(path=written))
        db = _db_arg(url)
        lead = data.top_leads[0].email if data.top_leads else "EMAIL"
        console.print(f"[dim]leadrelay --db {db} lead show {lead}[/]", highlight=False)
        console.print(f"[bold]{t('demo_next', lang)}[/]")
        for name in DEMO_REPORTS:
            console.print(f"  leadrelay --db {db} report {name}", highlight=False)
        for line in dashboard_lines(db, run.users, lang):
            console.print(line, highlight=False, markup=False)
    finally:
        engine.close()


def _static_demo(engine: LeadRelay, url: str, *, as_json: bool, **size: int) -> None:
    from leadrelay.entrypoints.demo.runner import run_demo

    try:
        outcome = run_demo(engine, **size)
        data = engine.summary()
        if as_json:
            print(json.dumps({"demo": outcome, "summary": data.as_json()}, ensure_ascii=False, indent=2))
            return
        console.print(
            f"[bold]Demo data[/]: {outcome['accounts']} companies, {outcome['leads']} people, "
            f"{outcome['activities']} activity records in {outcome['seconds']:.1f} s "
            f"({outcome['activities_inserted']} new, {outcome['duplicates']} duplicates skipped) → {url}"
        )
        render.summary(console, data, engine.playbook().playbook, options.lang)
    finally:
        engine.close()


def _db_arg(url: str) -> str:
    return url.removeprefix("sqlite:///")


def _remove_sqlite(url: str) -> None:
    import sqlalchemy as sa

    parsed = sa.engine.make_url(url if "://" in url else f"sqlite:///{url}")
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return
    for suffix in ("", "-wal", "-shm"):
        Path(parsed.database + suffix).unlink(missing_ok=True)


@app.command("summary")
def summary_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
    top: Annotated[int, typer.Option(min=0, max=100, help="How many top leads to show.")] = 10,
) -> None:
    """Leads by stage and level, MQLs this week, the top leads and why they scored."""
    with relay() as engine:
        data = engine.summary(top=top)
        if as_json:
            print(render.as_json(data))
        else:
            render.summary(console, data, engine.playbook().playbook, options.lang)


# --- playbooks -------------------------------------------------------------------------------


@playbook_app.command("validate")
def playbook_validate(file: Annotated[Path, typer.Argument(help="Playbook YAML file.")]) -> None:
    """Check a playbook: schema, fields, operators, activity types, rule ids."""
    from leadrelay.adapters.playbook.loader import load_playbook

    loaded = load_playbook(file)
    pb = loaded.playbook
    console.print(
        f"[green]✓[/] {file}: {t('playbook_valid', options.lang)} — {pb.id} {pb.version} "
        f"({len(pb.disqualifications)} disqualification, {len(pb.fit_rules)} fit, {len(pb.engagement_rules)} engagement, "
        f"{len(pb.levels)} level, {len(pb.mql_rules)} MQL, {len(pb.hand_raisers)} hand-raiser rules; hash {pb.hash[:12]})"
    )


@playbook_app.command("show")
def playbook_show(
    file: Annotated[Path | None, typer.Argument(help="Playbook YAML file (default: the active one).")] = None,
) -> None:
    """Print a playbook as tables a marketing manager can read."""
    from leadrelay.adapters.playbook.loader import load_playbook

    if file is not None:
        loaded = load_playbook(file)
    else:
        with relay() as engine:
            loaded = engine.playbook()
    render.playbook(console, loaded, options.lang)


@playbook_app.command("apply")
def playbook_apply(file: Annotated[Path, typer.Argument(help="Playbook YAML file.")]) -> None:
    """Make a playbook the active one for new activities (stored by hash with its text)."""
    with relay() as engine:
        loaded = engine.use_playbook(file, actor="cli")
    pb = loaded.playbook
    console.print(f"[green]✓[/] {pb.id} {pb.version} [dim]({pb.hash[:12]})[/] {t('playbook_active', options.lang)}")


@playbook_app.command("operators")
def playbook_operators() -> None:
    """List the operators conditions may use."""
    render.operators(console, options.lang)


@app.command()
def lifecycle(
    as_mermaid: Annotated[bool, typer.Option("--mermaid", help="Print a Mermaid state diagram.")] = False,
) -> None:
    """Show the lifecycle's stages and the transitions between them."""
    if as_mermaid:
        print(mermaid())
        return
    from rich.table import Table

    table = Table(title="Lifecycle transitions")
    for name in ("trigger", "from", "to", "meaning"):
        table.add_column(name)
    for move in TRANSITIONS:
        table.add_row(
            move.trigger.value, ", ".join(sorted(s.value for s in move.sources)), move.target.value, move.text
        )
    console.print(table)


# --- leads -----------------------------------------------------------------------------------


@lead_app.command("show")
def lead_show(
    lead_ref: Annotated[str, typer.Argument(metavar="EMAIL|EXTERNAL_ID", help="The lead's e-mail or external id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """A lead: profile, account, stage history, every point of its scores, level, MQL, disqualification,
    outcomes, routing and its running SLA clocks."""
    with relay() as engine:
        report = engine.lead(lead_ref)
    if as_json:
        print(render.as_json(report))
    else:
        render.lead(console, report, options.lang)


@lead_app.command("add")
def lead_add(
    email: Annotated[str, typer.Option(help="E-mail address.")],
    first_name: Annotated[str | None, typer.Option()] = None,
    last_name: Annotated[str | None, typer.Option()] = None,
    title: Annotated[str | None, typer.Option()] = None,
    seniority: Annotated[str | None, typer.Option()] = None,
    department: Annotated[str | None, typer.Option()] = None,
    phone: Annotated[str | None, typer.Option()] = None,
    country: Annotated[str | None, typer.Option()] = None,
    prefecture: Annotated[str | None, typer.Option()] = None,
    postal_code: Annotated[str | None, typer.Option()] = None,
    company: Annotated[str | None, typer.Option(help="Company name.")] = None,
    industry: Annotated[str | None, typer.Option()] = None,
    employees: Annotated[int | None, typer.Option()] = None,
    tier: Annotated[str | None, typer.Option(help="Account tier, e.g. named or target.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Add a lead or update its profile (fields you leave out are kept)."""
    record: dict[str, Any] = {
        k: v
        for k, v in {
            "email": email,
            "first_name": first_name,
            "last_name": last_name,
            "title": title,
            "seniority": seniority,
            "department": department,
            "phone": phone,
            "country": country,
            "prefecture": prefecture,
            "postal_code": postal_code,
        }.items()
        if v is not None
    }
    company_fields = {
        k: v
        for k, v in {"name": company, "industry": industry, "employees": employees, "tier": tier}.items()
        if v is not None
    }
    if company_fields:
        record["company"] = company_fields
    with relay() as engine:
        result = engine.add_leads([record])
    _finish(result, as_json)


# --- activities ------------------------------------------------------------------------------


def _properties(items: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise UserError(f"--prop: '{item}' is not NAME=VALUE")
        name, _, raw = item.partition("=")
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        out[name.strip()] = value
    return out


@activity_app.command("add")
def activity_add(
    email: Annotated[str, typer.Option(help="The lead's e-mail address (the lead is created if new).")],
    type_: Annotated[str, typer.Option("--type", help="Activity type, e.g. webinar_attended.")],
    at: Annotated[
        str, typer.Option("--at", help="When it happened (ISO 8601 with zone, e.g. 2026-11-20T15:00:00+09:00).")
    ],
    campaign: Annotated[str | None, typer.Option(help="Campaign code.")] = None,
    product: Annotated[str | None, typer.Option(help="Product the activity is about.")] = None,
    prop: Annotated[
        list[str] | None, typer.Option("--prop", help="Property NAME=VALUE (JSON values allowed); repeatable.")
    ] = None,
    source_id: Annotated[str | None, typer.Option(help="The source system's id (makes re-sending safe).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Record one activity and process it at once."""
    record: dict[str, Any] = {"email": email, "type": type_, "occurred_at": at, "properties": _properties(prop or [])}
    for key, value in (("campaign", campaign), ("product", product), ("source_id", source_id)):
        if value is not None:
            record[key] = value
    with relay() as engine:
        result = engine.record_activity(**record)
    _finish(result, as_json)


@activity_app.command("import")
def activity_import(
    file: Annotated[Path, typer.Argument(help="JSONL (or CSV) file with leadrelay's field names.")],
    batch_size: Annotated[int, typer.Option(min=1, max=100_000, help="Records per transaction.")] = 5000,
) -> None:
    """Record activities from a file; the same as `leadrelay import activities FILE`."""
    _import("activities", file, "leadrelay", None, None, batch_size, None)


# --- file imports ----------------------------------------------------------------------------

#: Files at least this large get a progress bar on stderr.
PROGRESS_BYTES = 8 * 1024 * 1024

MappingOpt = Annotated[
    str,
    typer.Option(
        "--mapping", help="Built-in mapping (leadrelay, hubspot, salesforce, marketo) or a mapping YAML file."
    ),
]
EncodingOpt = Annotated[
    str | None,
    typer.Option("--encoding", help="Force the file's encoding (default: UTF-8 with or without BOM, else CP932)."),
]
RejectsOpt = Annotated[
    Path | None, typer.Option("--rejects", help="Where rejected rows go (default: FILE.rejects.csv beside FILE).")
]
BatchOpt = Annotated[int, typer.Option("--batch-size", min=1, max=100_000, help="Records per transaction.")]
TimezoneOpt = Annotated[
    str | None, typer.Option("--timezone", help="Time zone of time stamps without one (overrides the mapping's).")
]


def _import(
    kind: Kind,
    file: Path,
    mapping_name: str,
    encoding: str | None,
    rejects: Path | None,
    batch_size: int,
    timezone: str | None,
) -> None:
    from leadrelay.adapters.files.formats import ImportFileError
    from leadrelay.adapters.files.mappings import load_mapping
    from leadrelay.adapters.files.rejects import RejectsWriter, default_rejects_path
    from leadrelay.adapters.files.sources import open_source
    from leadrelay.services.imports import fingerprint, prepare, run_import
    from leadrelay.services.intake import BatchResult, Rejection

    if rejects is not None and _same_file(rejects, file):
        raise UserError(f"--rejects {rejects} is the file being imported: choose another rejects file")
    try:
        mapping = load_mapping(mapping_name).with_timezone(timezone)
        source = open_source(file, encoding)
    except ImportFileError as exc:
        raise UserError(str(exc)) from None
    with source:
        if source.empty:
            console.print(f"{source.path}: empty file, nothing to import")
            _print_import(kind, BatchResult(), None)
            return
        try:
            unknown = prepare(source, mapping, kind)
        except ImportFileError as exc:
            raise UserError(str(exc)) from None
        if unknown:
            errors.print(
                f"warning: columns not in mapping {mapping.name}, ignored: {', '.join(unknown)}",
                markup=False,
                highlight=False,
            )
        # standard input and other pipes: rejects in the working directory; no resuming (a pipe
        # cannot be read again to skip what an earlier run committed, nor told apart from another)
        rejects_path = rejects or (STDIN_REJECTS if source.streamed else default_rejects_path(file))
        writer: RejectsWriter | None = None
        try:
            with relay() as engine:
                run = (
                    None
                    if source.streamed
                    else engine.begin_import(fingerprint(file), kind, mapping_name, rejects=rejects_path)
                )
                resume_after = run.resume_after if run is not None else 0
                if resume_after:
                    errors.print(
                        f"{file}: resuming at row {resume_after + 1}: rows up to {resume_after} were "
                        "committed by an earlier run that did not finish",
                        markup=False,
                        highlight=False,
                    )
                writer = RejectsWriter(rejects_path, source.headers, resume_size=run.rejects_size if run else 0)
                submit = {
                    "leads": engine.add_leads_numbered,
                    "activities": engine.record_activities_numbered,
                    "outcomes": engine.record_outcomes_numbered,
                }[kind]

                def send(batch: list[tuple[int, Any]], on_rejects: Callable[[list[Rejection]], int]) -> BatchResult:
                    checkpoint = run.id if run is not None else None
                    return submit(batch, batch_size=batch_size + 1, checkpoint=checkpoint, on_rejects=on_rejects)

                try:
                    with _progress(source, options.current.progress_seconds) as on_batch:
                        outcome = run_import(
                            source,
                            mapping,
                            kind,
                            send,
                            writer,
                            batch_size=batch_size,
                            on_batch=on_batch,
                            resume_after=resume_after,
                        )
                except KeyboardInterrupt:  # the batch under way is rolled back; the committed ones stay
                    committed = engine.import_checkpoint(run) if run is not None else None
                    if committed is None:
                        errors.print(f"{file}: interrupted; standard input cannot be resumed", markup=False)
                    else:
                        errors.print(
                            f"{file}: interrupted: rows up to {committed} are committed; run the same command "
                            f"again to resume at row {committed + 1}",
                            markup=False,
                            highlight=False,
                        )
                    raise typer.Exit(130) from None
                if run is not None:
                    engine.finish_import(run)
        except ImportFileError as exc:
            raise UserError(str(exc)) from None
        finally:
            if writer is not None:
                writer.close()
    _print_import(kind, outcome.result, outcome.rejects_path)
    if outcome.result.rejected:
        raise typer.Exit(1)


def _same_file(one: Path, other: Path) -> bool:
    """Whether two paths name one file (also through a link or another spelling)."""
    try:
        return one.samefile(other)
    except OSError:  # one of them does not exist (yet): the same only if spelled the same
        return one.resolve() == other.resolve()


@contextmanager
def _progress(source: Source, every: float) -> Iterator[Callable[[int], None] | None]:
    """Progress on stderr: on a terminal a Rich bar (bytes read, rows/s, ETA) for large files; without
    one (a log, a pipe, cron) a plain line every ``every`` seconds — rows, rows/s and, when the size is
    known, how far and the ETA."""
    started = time.monotonic()
    if not errors.is_terminal:
        last = [started]

        def print_line(rows: int) -> None:
            moment = time.monotonic()
            if moment - last[0] < every:
                return
            last[0] = moment
            elapsed = max(moment - started, 1e-6)
            line = f"{source.path.name}: {rows} rows, {int(rows / elapsed)} rows/s"
            if source.size and not source.streamed:
                done = min(source.position() / source.size, 1.0)
                eta = elapsed * (1 - done) / done if done > 0 else 0.0
                line += f", {done:.0%}, ETA {int(eta)} s"
            errors.print(line, markup=False, highlight=False)

        yield print_line
        return
    if source.size < PROGRESS_BYTES:
        yield None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TextColumn("{task.fields[rows]} rows, {task.fields[rate]} rows/s"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=errors,
        transient=True,
    ) as progress:
        task = progress.add_task(source.path.name, total=source.size, rows=0, rate=0)

        def on_batch(rows: int) -> None:
            elapsed = max(time.monotonic() - started, 1e-6)
            progress.update(task, completed=source.position(), rows=rows, rate=int(rows / elapsed))

        yield on_batch


def _print_import(kind: str, result: BatchResult, rejects: Path | None) -> None:
    lang = options.lang
    parts = [
        f"{result.leads_created} {t('leads_created', lang)}",
        f"{result.leads_updated} {t('leads_updated', lang)}",
    ]
    if kind == "activities":
        parts.append(f"{result.activities_inserted} {t('activities_recorded', lang)}")
    if kind == "outcomes":
        parts = [f"{result.outcomes_inserted} {t('outcomes_recorded', lang)}"]
    parts.append(f"{result.duplicates} {t('duplicates_skipped', lang)}")
    parts.append(f"{len(result.moves)} {t('stage_moves', lang)}")
    parts.append(f"{len(result.rejected)} {t('rejected', lang)}")
    console.print(", ".join(parts), soft_wrap=True)
    for rejection in result.rejected[:20]:
        errors.print(
            f"rejected line {rejection.record}: {rejection.field}: {rejection.message}", markup=False, highlight=False
        )
    if len(result.rejected) > 20:
        errors.print(f"… {len(result.rejected) - 20} more rejected", markup=False, highlight=False)
    if rejects is not None:
        errors.print(f"rejected rows written to {rejects}", markup=False, highlight=False)


FileArg = Annotated[
    Path, typer.Argument(help="CSV (any of , ; TAB | delimiters), JSONL or Parquet file; - for standard input.")
]
#: Where rejected rows of standard input (or another pipe) go without --rejects.
STDIN_REJECTS = Path("stdin.rejects.csv")


def _import_command(kind: Kind, summary: str) -> None:
    """``leadrelay import KIND``: the same options for every kind of record."""

    def command(
        file: FileArg,
        mapping: MappingOpt = "leadrelay",
        encoding: EncodingOpt = None,
        rejects: RejectsOpt = None,
        batch_size: BatchOpt = 5000,
        timezone: TimezoneOpt = None,
    ) -> None:
        _import(kind, file, mapping, encoding, rejects, batch_size, timezone)

    command.__doc__ = summary
    import_app.command(kind)(command)


_import_command("leads", "Add or update leads from a file; bad rows go to the rejects file, good ones are kept.")
_import_command("activities", "Record activities from a file (re-importing is safe); bad rows go to the rejects file.")
_import_command("outcomes", "Record closed deals (won or lost) from a CRM export; each moves its lead to Won or Lost.")


def _finish(result: BatchResult, as_json: bool = False) -> None:
    if as_json:
        print(render.as_json(result))
    else:
        _print_result(result, options.lang)
    if result.rejected:
        raise typer.Exit(1)


def main() -> None:
    """Entry point: run the app and turn a user's errors into one clear line and an exit code.

    Only :class:`LeadRelayError` (a user can fix it), the database's ``OperationalError`` and
    Typer's usage errors are turned into a line; anything else is a bug and keeps its traceback."""
    try:
        code = app(standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        errors.print("aborted")
        sys.exit(130)
    except LeadRelayError as exc:
        lead_not_found = _loaded("leadrelay.services.leads", "LeadNotFound")
        message = f"no lead with e-mail or external id {exc}" if isinstance(exc, lead_not_found) else str(exc)
        _fail(message)
    except typer.TyperException as exc:  # usage errors: missing argument, bad option value
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            errors.print(f"error: {exc}", markup=False, highlight=False)
        sys.exit(getattr(exc, "exit_code", 2))
    except Exception as exc:
        if not isinstance(exc, _loaded("sqlalchemy.exc", "OperationalError")):
            raise  # a bug: its traceback
        _fail(f"database: {str(getattr(exc, 'orig', exc)).strip().splitlines()[0]}")


def _fail(message: str) -> NoReturn:
    errors.print(f"error: {message}", markup=False, highlight=False)
    sys.exit(2)


class _NotRaised(Exception):
    """Stands for the error class of a module that was never imported (so nothing raised it)."""


def _loaded(module: str, name: str) -> type[BaseException]:
    """The error class ``name`` of ``module`` if this run imported the module, else :class:`_NotRaised`:
    an error is matched without importing its library (SQLAlchemy, the services) to print one line."""
    cls = getattr(sys.modules.get(module), name, None)
    return cls if isinstance(cls, type) and issubclass(cls, BaseException) else _NotRaised
