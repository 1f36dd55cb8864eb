"""The Python API: open a database, choose a playbook, feed leads and activities, read leads.

from leadrelay import LeadRelay
relay = LeadRelay.open("sqlite:///leadrelay.db")
relay.record_activities([{"email": "k.sato@example.co.jp", "type": "webinar_attended",
                          "occurred_at": "2026-11-20T15:00:00+09:00", "campaign": "web-2026-11"}])
relay.lead("k.sato@example.co.jp").stage
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from leadrelay import bootstrap
from leadrelay.adapters.clock import Clock, SystemClock
from leadrelay.adapters.playbook.loader import (
    LoadedPlaybook,
    PlaybookError,
    default_playbook_path,
    load_playbook,
    parse_playbook,
    parse_stored_playbook,
    stored_form,
)
from leadrelay.adapters.records import (
    ActivityInput,
    InputError,
    LeadInput,
    parse_activity,
    parse_email,
    parse_lead,
    parse_outcome,
)
from leadrelay.adapters.store.campaign_reach import rezone as rezone_campaign_reach
from leadrelay.adapters.store.schema import StoreError
from leadrelay.adapters.store.sql_store import SqlStore, StoreTx
from leadrelay.adapters.store.summaries import retouch as retouch_summaries
from leadrelay.config import load_settings
from leadrelay.domain.identity import lead_key
from leadrelay.domain.playbook import Playbook
from leadrelay.services import access, matching, web_sessions
from leadrelay.services.access import KeyView, NewKey, Principal, UserView
from leadrelay.services.bulk_routing import route_many
from leadrelay.services.erasure import MAX_ACTOR, ErasureReport, erase, erase_files, identifiers
from leadrelay.services.intake import BatchResult, Rejection, ingest, link_identities, refuse_erased
from leadrelay.services.lead_list import DEFAULT_LIMIT, EVERYTHING, LeadFilters, LeadPage, Visibility, lead_page
from leadrelay.services.leads import (
    ExplainedView,
    LeadNotFound,
    LeadReport,
    explained_view,
    lead_report,
    why_not_routed,
)
from leadrelay.services.matching import AccountChange, AccountRow, RematchReport, ReviewRow
from leadrelay.services.outbox import OutboxReport, outbox_report
from leadrelay.services.outcomes import record_outcomes
from leadrelay.services.playbooks import (
    PlaybookCheck,
    PlaybookProblem,
    PlaybookVersion,
    PlaybookView,
    playbook_versions,
    playbook_view,
)
from leadrelay.services.reports import Summary, summary
from leadrelay.services.routing import (
    DepartmentRow,
    RepRow,
    RoutedRow,
    RoutedRows,
    department_table,
    explain,
    pending_ids,
    reassign,
    rep_table,
    set_rep_status,
    take_routing_lock,
)
from leadrelay.services.sales import (
    Feedback,
    Handoff,
    RecycleReport,
    SuppressionRow,
    accept,
    advance,
    qualify,
    recycle,
    recycle_inactive,
    reject,
    suppression_rows,
)
from leadrelay.services.sla import SlaRow, sla_rows
from leadrelay.services.touches import NoteView, TouchView, add_note, record_touch

# Re-scoring (NumPy, the bulk path) and file imports (the file readers) are imported by the methods that
# use them: a process that only reads or records leads, such as most command-line calls, never loads them.
if TYPE_CHECKING:
    from leadrelay.services.activity_log import LogStatus
    from leadrelay.services.imports import FileFingerprint, ImportRun
    from leadrelay.services.report_catalog import ReportInfo
    from leadrelay.services.report_kit import Report
    from leadrelay.services.rescore import RescoreReport
    from leadrelay.services.summaries import SummaryStatus

ACTIVE_PLAYBOOK = "active_playbook"
#: Setting beside each stored playbook: its YAML as JSON (``loader.stored_form``), read instead of parsing the YAML.
PLAYBOOK_JSON = "playbook_json:"
DEFAULT_BATCH = 5000

Kind = Literal["leads", "activities", "outcomes"]

#: Records with their numbers (line numbers of a file); an :class:`InputError` in place of a
#: record reports a line that could not even be read as a record.
Numbered = Iterable[tuple[int, Mapping[str, Any] | InputError]]
#: Writes a batch's rejections durably before the batch commits; returns the rejects file's size.
OnRejects = Callable[[list[Rejection]], int]


def database_url(url: str | None = None) -> str:
    """``url``, else ``LEADRELAY_DB`` (read by :mod:`leadrelay.config`), else ``leadrelay.db``."""
    return url or bootstrap.database_url(load_settings())


class LeadRelay:
    def __init__(self, store: SqlStore, clock: Clock | None = None) -> None:
        self.store = store
        self.clock = clock or SystemClock()
        self._playbooks: dict[str, LoadedPlaybook] = {}

    @classmethod
    def open(cls, url: str | None = None, clock: Clock | None = None) -> LeadRelay:
        return cls(SqlStore.open(database_url(url)), clock)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> LeadRelay:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _now(self, now: datetime | None) -> datetime:
        moment = now or self.clock.now()
        if moment.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        return moment

    # --- playbooks ------------------------------------------------------------------------

    def use_playbook(
        self, source: str | Path | LoadedPlaybook, *, now: datetime | None = None, actor: str = "api"
    ) -> LoadedPlaybook:
        """Validate a playbook, store its text (by hash) and make it the active one; the activation
        is kept with its time and ``actor`` when the active playbook changes."""
        loaded = source if isinstance(source, LoadedPlaybook) else load_playbook(source)
        pb = loaded.playbook
        moment = self._now(now)
        with self.store.transaction() as tx:
            tx.save_playbook(pb.hash, pb.id, pb.version, pb.name, loaded.source, loaded.text, moment)
            stored = stored_form(loaded.text)
            if stored is not None:
                tx.set_setting(PLAYBOOK_JSON + pb.hash, stored)
            if tx.setting(ACTIVE_PLAYBOOK) != pb.hash:
                tx.record_activation(pb.hash, actor, moment)
            tx.set_setting(ACTIVE_PLAYBOOK, pb.hash)
            # the assignments summary times first touches by this playbook's touch types
            retouch_summaries(tx, pb.sales.touch_types)
            # the campaign reach summary counts days local to this playbook's time zone
            rezone_campaign_reach(tx, str(pb.timezone))
        self._playbooks[pb.hash] = loaded
        return loaded

    def activate_playbook(self, text: str, *, actor: str, now: datetime | None = None) -> PlaybookView:
        """Check a playbook's YAML text and make it the active one (``POST /v1/playbook/activate``);
        :class:`PlaybookError` (with the line) if it cannot be used."""
        self.use_playbook(parse_playbook(text, "<upload>"), now=now, actor=actor)
        return self.playbook_view()

    def playbook_view(self) -> PlaybookView:
        """The active playbook with who activated it and when, and its document."""
        loaded = self.playbook()
        with self.store.reading() as tx:
            return playbook_view(tx, loaded, loaded.playbook.timezone)

    def playbook_versions(self) -> list[PlaybookVersion]:
        """Every stored playbook with its activations, the most recently activated first."""
        active = self.playbook()
        with self.store.reading() as tx:
            return playbook_versions(tx, active.playbook.hash, active.playbook.timezone)

    @staticmethod
    def check_playbook(text: str) -> PlaybookCheck:
        """Check a candidate playbook's YAML text as ``leadrelay playbook validate`` does; nothing is stored."""
        try:
            pb = parse_playbook(text, "<upload>").playbook
        except PlaybookError as exc:
            return PlaybookCheck(valid=False, id=None, version=None, hash=None, errors=[PlaybookProblem.of(exc)])
        return PlaybookCheck(valid=True, id=pb.id, version=pb.version, hash=pb.hash, errors=[])

    def playbook(self) -> LoadedPlaybook:
        """The active playbook; the bundled default one until another is chosen."""
        with self.store.reading() as tx:
            digest = tx.setting(ACTIVE_PLAYBOOK)
        if digest is None:
            return self.use_playbook(default_playbook_path(), actor="engine")
        return self.playbook_by_hash(digest)

    def playbook_by_hash(self, digest: str) -> LoadedPlaybook:
        cached = self._playbooks.get(digest)
        if cached is not None:
            return cached
        with self.store.reading() as tx:
            row = tx.playbook_row(digest)
            stored = tx.setting(PLAYBOOK_JSON + digest)
        if row is None:
            raise StoreError(f"playbook {digest[:12]} is not stored in this database")
        loaded = parse_stored_playbook(row.text, stored, row.source)
        self._playbooks[digest] = loaded
        return loaded

    # --- intake ---------------------------------------------------------------------------

    def add_leads(self, records: Iterable[Mapping[str, Any]], *, now: datetime | None = None) -> BatchResult:
        return self.add_leads_numbered(enumerate(records, start=1), now=now)

    def add_leads_numbered(
        self,
        records: Numbered,
        *,
        now: datetime | None = None,
        batch_size: int = DEFAULT_BATCH,
        checkpoint: int | None = None,
        on_rejects: OnRejects | None = None,
    ) -> BatchResult:
        """Add or update leads in batches of ``batch_size``; bad records come back as rejections.

        ``checkpoint``: an import run (see :meth:`begin_import`) whose last committed record number
        is moved on in the same transaction as each batch. ``on_rejects``: called with each batch's
        rejections before the batch commits (again if the batch is retried); it writes them
        durably and returns the size of the rejects file, stored with the checkpoint.
        """
        return self._ingest_numbered(records, now, batch_size, "leads", checkpoint, on_rejects)

    def record_activities(self, records: Iterable[Mapping[str, Any]], *, now: datetime | None = None) -> BatchResult:
        return self.record_activities_numbered(enumerate(records, start=1), now=now)

    def record_activities_numbered(
        self,
        records: Numbered,
        *,
        now: datetime | None = None,
        batch_size: int = DEFAULT_BATCH,
        checkpoint: int | None = None,
        on_rejects: OnRejects | None = None,
    ) -> BatchResult:
        """Record activities in batches of ``batch_size``, each batch in one transaction.

        Bad records are returned as rejections; the good ones around them are kept.
        """
        return self._ingest_numbered(records, now, batch_size, "activities", checkpoint, on_rejects)

    def record_outcomes(self, records: Iterable[Mapping[str, Any]], *, now: datetime | None = None) -> BatchResult:
        """Record closed deals (won or lost) from a CRM; each moves its lead to Won or Lost.

        A record: ``email`` or ``external_id`` (the lead), ``outcome`` (won|lost), ``closed_at``,
        and optionally ``amount``, ``currency``, ``product``, ``lost_reason``, ``sdr``, ``sr``,
        ``source_id``, ``properties``. An outcome for an unknown lead is a rejection.
        """
        return self.record_outcomes_numbered(enumerate(records, start=1), now=now)

    def record_outcomes_numbered(
        self,
        records: Numbered,
        *,
        now: datetime | None = None,
        batch_size: int = DEFAULT_BATCH,
        checkpoint: int | None = None,
        on_rejects: OnRejects | None = None,
    ) -> BatchResult:
        return self._ingest_numbered(records, now, batch_size, "outcomes", checkpoint, on_rejects)

    def _ingest_numbered(
        self,
        records: Numbered,
        now: datetime | None,
        batch_size: int,
        kind: Kind,
        checkpoint: int | None,
        on_rejects: OnRejects | None = None,
    ) -> BatchResult:
        moment = self._now(now)
        playbook = self.playbook().playbook
        total = BatchResult()
        refused_here: list[Rejection] = []  # records of this batch that could not be parsed
        parsed: list[tuple[int, Any]] = []
        last = 0  # the number of the last record seen

        def batch(tx: StoreTx) -> BatchResult:
            if kind == "outcomes":
                result = record_outcomes(tx, playbook, parsed, moment)
            else:
                kept, refused = link_identities(tx, playbook, parsed, moment)
                people = [item for _, item in kept if isinstance(item, LeadInput)]
                numbered = [(number, item) for number, item in kept if isinstance(item, ActivityInput)]
                acts = [item for _, item in numbered]
                result = ingest(tx, playbook, people, acts, moment, numbers=[n for n, _ in numbered])
                result = result.merged(BatchResult(rejected=refused))
            rejected = sorted([*result.rejected, *refused_here], key=lambda r: r.record)
            rejects_size = on_rejects(rejected) if on_rejects is not None else None
            if checkpoint is not None:
                tx.advance_import_run(checkpoint, last, moment, rejects_size=rejects_size)
            return result.model_copy(update={"rejected": rejected})

        def flush() -> None:
            nonlocal total
            # two imports touching the same leads may deadlock on PostgreSQL: the loser is run again
            total = total.merged(self.store.retrying(batch))
            parsed.clear()
            refused_here.clear()

        for number, record in records:
            last = number
            try:
                if isinstance(record, InputError):
                    raise record
                if kind == "leads":
                    parsed.append((number, parse_lead(record, moment)))
                elif kind == "activities":
                    parsed.append((number, parse_activity(record, moment, playbook.activity_types)))
                else:
                    parsed.append((number, parse_outcome(record, moment)))
            except InputError as exc:
                refused_here.append(Rejection(number, exc.field, exc.message))
            if len(parsed) >= batch_size:
                flush()
        if parsed or refused_here or (checkpoint is not None and last):
            flush()
        rejected = sorted(total.rejected, key=lambda r: r.record)
        return total.model_copy(update={"rejected": rejected})

    def record_activity(self, *, now: datetime | None = None, **fields: Any) -> BatchResult:
        """Record one activity; raises :class:`InputError` if it is not valid."""
        moment = self._now(now)
        playbook = self.playbook().playbook
        parsed = parse_activity(fields, moment, playbook.activity_types)
        with self.store.transaction() as tx:
            _, erased = refuse_erased(tx, [(1, parsed)])
            if erased:
                raise InputError(erased[0].field, erased[0].message)
            return ingest(tx, playbook, [], [parsed], moment, numbers=[1])

    # --- import runs (resuming a file import after a crash) -------------------------------

    def begin_import(
        self,
        file: FileFingerprint,
        kind: Kind,
        mapping: str,
        *,
        rejects: Path | None = None,
        now: datetime | None = None,
    ) -> ImportRun:
        """The checkpoint of importing ``file``: resume after its last committed row if an earlier
        run of the same file (same path, size and first MB), kind and mapping did not finish;
        otherwise start from the first row (re-importing is idempotent anyway). ``rejects``: where
        the rejected rows go, recorded so that an erasure can take a person's rows out of it."""
        from leadrelay.services.imports import ImportRun

        moment = self._now(now)
        key = hashlib.sha256("\x1f".join([kind, mapping, *map(str, file)]).encode("utf-8")).hexdigest()
        rejects_path = str(rejects.resolve()) if rejects is not None else None
        with self.store.transaction() as tx:
            row = tx.import_run(key)
            if row is not None and row.finished_at is None and row.last_row > 0:
                tx.set_rejects_path(row.id, rejects_path)
                return ImportRun(row.id, row.last_row, row.rejects_size)
            values = {"key": key, "kind": kind, "mapping": mapping, "path": file.path, "size": file.size}
            run_id = tx.start_import_run({**values, "head_hash": file.head_hash, "rejects_path": rejects_path}, moment)
            if row is not None:
                tx.restart_import_run(run_id, moment)
                tx.set_rejects_path(run_id, rejects_path)
        return ImportRun(run_id, 0, 0)

    def import_checkpoint(self, run: ImportRun) -> int:
        """The last record number an import run has committed (it resumes after it)."""
        with self.store.reading() as tx:
            return tx.import_checkpoint(run.id)

    def finish_import(self, run: ImportRun, *, now: datetime | None = None) -> None:
        with self.store.transaction() as tx:
            tx.finish_import_run(run.id, self._now(now))

    # --- re-scoring ------------------------------------------------------------------------

    def rescore(
        self,
        playbook: str | Path | LoadedPlaybook | None = None,
        *,
        dry_run: bool = False,
        now: datetime | None = None,
    ) -> RescoreReport:
        """Recompute every lead's scores, level and qualification (bulk path) and report what changed.

        With ``playbook``, that playbook is made the active one first (with ``dry_run`` it is only
        used, not applied). ``dry_run`` computes the same report and writes nothing.
        """
        from leadrelay.services.activity_log import default_folder
        from leadrelay.services.rescore import rescore

        moment = self._now(now)
        if playbook is None:
            loaded = self.playbook()
        elif dry_run:
            loaded = playbook if isinstance(playbook, LoadedPlaybook) else load_playbook(playbook)
        else:
            loaded = self.use_playbook(playbook, now=moment)
        log = default_folder(self.store.engine.url, load_settings().activity_log)
        return rescore(self.store, loaded.playbook, moment, dry_run=dry_run, log=log)

    def refresh_activity_log(self, *, rebuild: bool = False) -> LogStatus | None:
        """Bring the columnar activity log that ``rescore`` reads up to the activities table
        (``rebuild``: from nothing); ``None`` when this database has no log (setting ``off``)."""
        from leadrelay.adapters.files.activity_log import ActivityLog
        from leadrelay.services.activity_log import default_folder, refresh

        folder = default_folder(self.store.engine.url, load_settings().activity_log)
        if folder is None:
            return None
        if rebuild:
            with ActivityLog(folder).locked():
                ActivityLog(folder).clear()
        return refresh(self.store, folder)

    def check_summaries(self, *, rebuild: bool = False) -> SummaryStatus:
        """Compare the summary tables the reports read with a recount from the facts (``rebuild``:
        derive them all again first)."""
        from leadrelay.services.summaries import check

        playbook = self.playbook().playbook
        return check(self.store, playbook.sales.touch_types, str(playbook.timezone), rebuild=rebuild)

    # --- accounts and matching ---------------------------------------------------------------

    def accounts(self) -> list[AccountRow]:
        """Every account with its domains, aliases, owner, tier and lead counts (by match tier)."""
        playbook = self.playbook().playbook
        with self.store.reading() as tx:
            return matching.account_rows(tx, playbook)

    def merge_accounts(
        self, keep: str, merged: str, *, actor: str = "api", now: datetime | None = None
    ) -> AccountChange:
        """Merge account ``merged`` into ``keep`` (by domain or id): leads, domains and names move."""
        playbook = self.playbook().playbook
        with self.store.transaction() as tx:
            return matching.merge(tx, playbook, keep, merged, actor, self._now(now))

    def add_account_domain(
        self, account: str, domain: str, *, actor: str = "api", now: datetime | None = None
    ) -> AccountChange:
        """Give an account one more domain (matched in tier 1 from now on)."""
        playbook = self.playbook().playbook
        with self.store.transaction() as tx:
            return matching.add_domain(tx, playbook, account, domain, actor, self._now(now))

    def match_review(self) -> list[ReviewRow]:
        """The weak (tier 3) matches waiting for a person to confirm or reject."""
        with self.store.reading() as tx:
            return matching.review_rows(tx)

    def confirm_match(self, lead_id: int, *, actor: str = "api", now: datetime | None = None) -> AccountChange:
        """Confirm a tier-3 match: its company name becomes an alias of the account."""
        playbook = self.playbook().playbook
        with self.store.transaction() as tx:
            return matching.confirm(tx, playbook, lead_id, actor, self._now(now))

    def reject_match(self, lead_id: int, *, actor: str = "api", now: datetime | None = None) -> AccountChange:
        """Reject a tier-3 match: the pair never matches again; the lead is matched once more."""
        playbook = self.playbook().playbook
        with self.store.transaction() as tx:
            return matching.reject(tx, playbook, lead_id, actor, self._now(now))

    def rematch(self, *, dry_run: bool = False, now: datetime | None = None) -> RematchReport:
        """Match every lead again under the current rules (bulk path); ``dry_run`` writes nothing."""
        return matching.rematch(self.store, self.playbook().playbook, self._now(now), dry_run=dry_run)

    # --- reading --------------------------------------------------------------------------

    def lead(self, ref: str, *, now: datetime | None = None, visibility: Visibility = EVERYTHING) -> LeadReport:
        """Everything about one lead, with every point explained (see ``leadrelay lead show``).

        ``ref`` is the lead's e-mail or its external id (the source CRM's record id). A lead
        ``visibility`` does not let one see is :class:`LeadNotFound`, as an unknown one is.
        """
        keys = _lead_keys(ref)
        active = self.playbook()
        with self.store.reading() as tx:
            lead_id = self._lead_id(tx, ref, visibility)
            found = tx.lead_ids(keys)
            key = next(k for k in keys if found.get(k) == lead_id)
            return lead_report(tx, key, self._now(now), self.playbook_by_hash, active)

    def _lead_id(self, tx: StoreTx, ref: str, visibility: Visibility = EVERYTHING) -> int:
        keys = _lead_keys(ref)
        found = tx.lead_ids(keys)
        for key in keys:
            if key in found:
                if not visibility.everything and not visibility.sees(*tx.lead_owner(found[key])):
                    break  # the same answer as an unknown lead: ids cannot be probed
                return found[key]
        raise LeadNotFound(ref)

    def leads(
        self,
        filters: LeadFilters | None = None,
        *,
        visibility: Visibility = EVERYTHING,
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
        sort: str | None = None,
    ) -> LeadPage:
        """A page of leads by ``filters``, of those ``visibility`` lets one see, newest change first
        or in the order ``sort`` (``name``, ``company``, ``stage``, ``level``, ``score``, ``owner``,
        ``updated``; ``-`` before one: descending); pass the page's ``next_cursor`` as ``cursor``
        (with the same ``sort``) for the next page."""
        playbook = self.playbook().playbook
        with self.store.reading() as tx:
            return lead_page(tx, playbook, filters or LeadFilters(), visibility, limit=limit, cursor=cursor, sort=sort)

    def touch(
        self,
        ref: str,
        *,
        kind: str,
        outcome: str,
        at: datetime | None = None,
        note: str | None = None,
        actor: str = "api",
        visibility: Visibility = EVERYTHING,
        now: datetime | None = None,
    ) -> TouchView:
        """Record a touch (a call, meeting or e-mail, and how it went): it stops the first-touch SLA
        clock and restarts the inactivity clock."""
        playbook = self.playbook().playbook
        moment = self._now(now)
        with self.store.transaction() as tx:
            lead_id = self._lead_id(tx, ref, visibility)
            return record_touch(
                tx, playbook, lead_id, moment, kind=kind, outcome=outcome, actor=actor, at=at, note=note
            )

    def note(
        self,
        ref: str,
        text: str,
        *,
        actor: str = "api",
        visibility: Visibility = EVERYTHING,
        now: datetime | None = None,
    ) -> NoteView:
        """Keep a note on a lead, with who wrote it and when (listed by :meth:`lead`)."""
        playbook = self.playbook().playbook
        moment = self._now(now)
        with self.store.transaction() as tx:
            return add_note(tx, playbook, self._lead_id(tx, ref, visibility), text, moment, actor=actor)

    # --- erasure (APPI / GDPR requests) ------------------------------------------------------

    def erase(self, ref: str, *, actor: str = "api", now: datetime | None = None) -> ErasureReport:
        """Erase the personal data of the lead ``ref`` (e-mail, external id, or the ``erased-…`` ref
        of an erased lead) everywhere leadrelay stores it, keeping the anonymous counts; ``actor``:
        who asked (kept in the erasure record). Erasing again says ``already_erased``. Raises
        :class:`LeadNotFound` for a lead that is not known (and was never erased)."""
        actor = actor.strip()
        if not actor or len(actor) > MAX_ACTOR:
            raise InputError("actor", f"who asked for the erasure: 1 to {MAX_ACTOR} characters")
        tz = self.playbook().playbook.timezone
        moment = self._now(now)
        keys = _lead_keys(ref)
        with self.store.reading() as tx:
            person = identifiers(tx, keys)
            files = erase_files(tx, person) if person is not None else None
        return self.store.retrying(lambda tx: erase(tx, keys, ref, actor, moment, tz, files))

    # --- routing --------------------------------------------------------------------------

    def route(self, *, include_assigned: bool = False, now: datetime | None = None, actor: str = "api") -> RoutedRows:
        """Route every MQL without a rep (after reps came back, or the playbook changed); with
        ``include_assigned`` re-route every open lead too (they may change owner). The answer is a
        sequence of :class:`RoutedRow`, each built when first read (equal to a list of them)."""
        moment = self._now(now)
        playbook = self.playbook().playbook
        with self.store.transaction() as tx:
            take_routing_lock(tx)  # read what is pending only once no one else is routing
            ids = pending_ids(tx, playbook, include_assigned=include_assigned)
            kind = "reroute" if include_assigned else "route"
            return RoutedRows(route_many(tx, playbook, ids, moment, kind=kind, actor=actor))

    def route_explain(self, ref: str, *, now: datetime | None = None) -> ExplainedView:
        """What routing would decide for the lead now, and why — nothing is assigned, no turn is used."""
        playbook = self.playbook().playbook
        moment = self._now(now)
        with self.store.reading() as tx:
            lead_id = self._lead_id(tx, ref)
            routed = explain(tx, playbook, lead_id, moment)
            state = tx.lead_states([lead_id])[lead_id]
            dq_reason, level = tx.dq_reason_and_level(lead_id)
        why_not = why_not_routed(state.stage, dq_reason, playbook, level)
        return explained_view(routed, moment, playbook.timezone, stage=state.stage, why_not=why_not)

    def departments(self) -> list[DepartmentRow]:
        """Every routing department with its reps, manager, open and queued leads."""
        playbook = self.playbook().playbook
        with self.store.reading() as tx:
            return department_table(tx, playbook)

    def reps(self, *, now: datetime | None = None) -> list[RepRow]:
        playbook = self.playbook().playbook
        with self.store.reading() as tx:
            return rep_table(tx, playbook, self._now(now))

    def set_rep(
        self,
        rep_id: str,
        *,
        active: bool | None = None,
        away: tuple[date, date] | None = None,
        back: bool = False,
        note: str | None = None,
        capacity: int | None = None,
        playbook_capacity: bool = False,
        now: datetime | None = None,
    ) -> None:
        """Switch a rep off or on, mark them away from one date to another (inclusive), or set
        their capacity (``playbook_capacity``: back to the playbook's)."""
        playbook = self.playbook().playbook
        with self.store.transaction() as tx:
            set_rep_status(
                tx,
                playbook,
                rep_id,
                self._now(now),
                active=active,
                away=away,
                back=back,
                note=note,
                capacity=capacity,
                playbook_capacity=playbook_capacity,
            )

    def reassign(
        self, rep_id: str, *, to: str | None = None, now: datetime | None = None, actor: str = "api"
    ) -> list[RoutedRow]:
        """Give a rep's open leads to ``to``, or route them again to everyone else."""
        playbook = self.playbook().playbook
        with self.store.transaction() as tx:
            return [RoutedRow.of(r) for r in reassign(tx, playbook, rep_id, self._now(now), to=to, actor=actor)]

    # --- sales feedback ---------------------------------------------------------------------

    def accept(
        self,
        ref: str,
        *,
        actor: str = "api",
        note: str | None = None,
        now: datetime | None = None,
        visibility: Visibility = EVERYTHING,
    ) -> Feedback:
        """Sales accepts the lead (MQL → SAL)."""
        return self._feedback(
            ref,
            lambda tx, pb, lead_id, moment: accept(tx, pb, lead_id, moment, actor=actor, note=note),
            now,
            visibility,
        )

    def qualify(
        self,
        ref: str,
        *,
        actor: str = "api",
        note: str | None = None,
        now: datetime | None = None,
        visibility: Visibility = EVERYTHING,
    ) -> Handoff:
        """Inside sales qualifies the lead (MQL → Pre-SQL) and hands it to field sales by the
        playbook's ``pre_sql`` rules; the playbook must use the Pre-SQL stage."""
        playbook = self.playbook().playbook
        moment = self._now(now)
        with self.store.transaction() as tx:
            lead_id = self._lead_id(tx, ref, visibility)
            return qualify(tx, playbook, lead_id, moment, actor=actor, note=note)

    def reject(
        self,
        ref: str,
        reason: str,
        *,
        text: str | None = None,
        actor: str = "api",
        now: datetime | None = None,
        visibility: Visibility = EVERYTHING,
    ) -> Feedback:
        """Sales rejects the lead with a reason code from the playbook; recyclable reasons send it
        back to marketing at once."""
        return self._feedback(
            ref,
            lambda tx, pb, lead_id, moment: reject(tx, pb, lead_id, reason, moment, actor=actor, text=text),
            now,
            visibility,
        )

    def advance(
        self,
        ref: str,
        to: str,
        *,
        amount: str | None = None,
        currency: str | None = None,
        lost_reason: str | None = None,
        actor: str = "api",
        now: datetime | None = None,
        visibility: Visibility = EVERYTHING,
    ) -> Feedback:
        """SAL → SQL → Opportunity → Won or Lost."""
        return self._feedback(
            ref,
            lambda tx, pb, lead_id, moment: advance(
                tx, pb, lead_id, to, moment, actor=actor, amount=amount, currency=currency, lost_reason=lost_reason
            ),
            now,
            visibility,
        )

    def recycle(
        self,
        ref: str,
        *,
        reason: str,
        actor: str = "api",
        now: datetime | None = None,
        visibility: Visibility = EVERYTHING,
    ) -> Feedback:
        """Send a lead sales has let go back to marketing (Recycled)."""
        return self._feedback(
            ref,
            lambda tx, pb, lead_id, moment: recycle(tx, pb, lead_id, moment, actor=actor, reason=reason),
            now,
            visibility,
        )

    def recycle_inactive(self, *, dry_run: bool = False, now: datetime | None = None) -> RecycleReport:
        """Recycle the leads sales has left without activity for the playbook's ``inactive_days``.

        ``dry_run`` recycles them in a transaction that is rolled back: the report lists what would
        be recycled, and nothing changes."""
        playbook = self.playbook().playbook
        moment = self._now(now)
        with self.store.rehearsal(dry_run=dry_run) as tx:
            done = recycle_inactive(tx, playbook, moment)
        return RecycleReport(
            dry_run=dry_run,
            as_of=moment.astimezone(playbook.timezone),
            inactive_days=playbook.sales.inactive_days,
            recycled=done,
        )

    def sla(self, *, everything: bool = False, now: datetime | None = None) -> list[SlaRow]:
        """Leads waiting for sales' answer whose SLA clock is near or past breach (or all running)."""
        playbook = self.playbook().playbook
        with self.store.reading() as tx:
            return sla_rows(tx, playbook, self._now(now), everything=everything)

    def suppression(self) -> list[SuppressionRow]:
        """The leads sales owns now, which marketing must not e-mail."""
        playbook = self.playbook().playbook
        with self.store.reading() as tx:
            return suppression_rows(tx, playbook)

    def outbox(self, *, failed: bool = False, limit: int = 100) -> OutboxReport:
        """Messages waiting to be sent (or, with ``failed``, given up), and the counts."""
        tz = self.playbook().playbook.timezone
        with self.store.reading() as tx:
            return outbox_report(tx, tz, failed=failed, limit=limit)

    def _feedback(
        self,
        ref: str,
        act: Callable[[StoreTx, Playbook, int, datetime], Feedback],
        now: datetime | None,
        visibility: Visibility = EVERYTHING,
    ) -> Feedback:
        playbook = self.playbook().playbook
        moment = self._now(now)
        with self.store.transaction() as tx:
            return act(tx, playbook, self._lead_id(tx, ref, visibility), moment)

    # --- users and API keys ----------------------------------------------------------------

    def add_user(
        self,
        email: str,
        *,
        role: str,
        actor: str,
        departments: Iterable[str] = (),
        rep: str | None = None,
        name: str | None = None,
        password: str | None = None,
        now: datetime | None = None,
        password_hash: str | None = None,
    ) -> UserView:
        """Add a user who may use the HTTP API (a manager with departments, a rep user with a rep id);
        ``password_hash``: a password already hashed by ``services.access.hash_password``."""
        playbook = self.playbook().playbook
        with self.store.transaction() as tx:
            return access.add_user(
                tx,
                playbook,
                email=email,
                role=role,
                actor=actor,
                now=self._now(now),
                departments=list(departments),
                rep=rep,
                name=name,
                password=password,
                password_hash=password_hash,
            )

    def users(self) -> list[UserView]:
        tz = self.playbook().playbook.timezone
        with self.store.reading() as tx:
            return access.list_users(tx, tz)

    def disable_user(self, email: str, *, actor: str, now: datetime | None = None) -> UserView:
        """Disable a user: their keys are refused from now on."""
        tz = self.playbook().playbook.timezone
        with self.store.transaction() as tx:
            return access.disable_user(tx, email, actor=actor, now=self._now(now), tz=tz)

    def create_key(
        self,
        user: str,
        *,
        actor: str,
        name: str | None = None,
        role: str | None = None,
        now: datetime | None = None,
    ) -> NewKey:
        """A new API key for ``user`` (an e-mail); the key is in the result and nowhere else."""
        tz = self.playbook().playbook.timezone
        with self.store.transaction() as tx:
            return access.create_key(tx, email=user, actor=actor, now=self._now(now), tz=tz, name=name, role=role)

    def api_keys(self) -> list[KeyView]:
        tz = self.playbook().playbook.timezone
        with self.store.reading() as tx:
            return access.list_keys(tx, tz)

    def revoke_key(self, ref: str, *, actor: str, now: datetime | None = None) -> KeyView:
        """Revoke a key by its prefix (as ``keys()`` shows it) or its id."""
        tz = self.playbook().playbook.timezone
        with self.store.transaction() as tx:
            return access.revoke_key(tx, ref, actor=actor, now=self._now(now), tz=tz)

    def login(
        self, email: str, password: str, *, idle: timedelta, now: datetime | None = None
    ) -> tuple[str, Principal]:
        """A dashboard session for ``email`` and ``password``: its token (the cookie) and the user.
        Raises :class:`~leadrelay.services.web_sessions.LoginFailed` (wrong, locked, disabled)."""
        with self.store.transaction() as tx:
            outcome = web_sessions.login(tx, email, password, self._now(now), idle)
        if isinstance(outcome, web_sessions.LoginFailed):
            raise outcome  # after the commit: the wrong password is counted
        return outcome

    def session(self, token: str | None, *, idle: timedelta, now: datetime | None = None) -> Principal:
        """The user of a dashboard session (:class:`NotAuthenticated` when it is not valid)."""
        with self.store.transaction() as tx:
            return web_sessions.session_principal(tx, token, self._now(now), idle)

    def logout(self, token: str | None, *, now: datetime | None = None) -> None:
        with self.store.transaction() as tx:
            web_sessions.logout(tx, token, self._now(now))

    def authenticate(self, key: str | None, *, now: datetime | None = None) -> Principal:
        """The user behind an API key (raises ``access.NotAuthenticated``); records the key's use,
        at most once a minute."""
        with self.store.reading() as tx:
            principal, last_used = access.principal_of_key(tx, key)
        moment = self._now(now)
        if principal.key_id is not None and access.due_for_touch(last_used, moment):
            with self.store.transaction() as tx:
                access.record_use(tx, principal.key_id, moment)
        return principal

    def summary(self, *, now: datetime | None = None, top: int = 10) -> Summary:
        active = self.playbook()
        with self.store.reading() as tx:
            return summary(tx, self._now(now), active, top)

    @staticmethod
    def reports() -> list[ReportInfo]:
        """Every report: name, titles, groupings and options."""
        from leadrelay.services.report_catalog import catalog  # NumPy: imported when a report is asked for

        return catalog()

    def report(
        self,
        name: str,
        *,
        start: str | date | None = None,
        end: str | date | None = None,
        by: str | None = None,
        options: Mapping[str, Any] | None = None,
        visibility: Visibility = EVERYTHING,
        now: datetime | None = None,
    ) -> Report:
        """Report ``name`` (see :meth:`reports`) over ``start``..``end`` (local dates in the playbook's
        zone, both included), grouped ``by``, with ``options``; counting the leads ``visibility`` sees."""
        from leadrelay.services.report_catalog import run_report

        playbook = self.playbook().playbook
        raw = {k: None if v is None else str(v) for k, v in (options or {}).items()}
        with self.store.reading() as tx:
            return run_report(
                tx,
                playbook,
                name,
                now=self._now(now),
                start=None if start is None else str(start),
                end=None if end is None else str(end),
                by=by,
                options=raw,
                visibility=visibility,
            )


def _lead_keys(ref: str) -> list[str]:
    """The keys a reference may mean: an e-mail first, then an external id."""
    text = ref.strip()
    keys = [lead_key(None, text)] if text else []
    if "@" in text:
        with contextlib.suppress(InputError):
            keys.insert(0, parse_email(text))
    if not keys:
        raise InputError("lead", "give an e-mail or an external id")
    return keys
