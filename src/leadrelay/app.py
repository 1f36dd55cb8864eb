"""The Python API: open a database, choose a playbook, feed leads and activities, read leads.

from leadrelay import LeadRelay
relay = LeadRelay.open("sqlite:///leadrelay.db")
relay.record_activities([{"email": "k.sato@example.co.jp", "type": "webinar_attended",
                          "occurred_at": "2026-11-20T15:00:00+09:00", "campaign": "web-2026-11"}])
relay.lead("k.sato@example.co.jp")["stage"]
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from leadrelay.clock import Clock, SystemClock
from leadrelay.intake import InputError, parse_activity, parse_email, parse_lead
from leadrelay.playbook.loader import LoadedPlaybook, default_playbook_path, load_playbook, parse_playbook
from leadrelay.rescore import RescoreReport, rescore
from leadrelay.services import BatchResult, Rejection, ingest
from leadrelay.store.schema import DEFAULT_URL
from leadrelay.store.sql_store import SqlStore
from leadrelay.views import lead_report, summary

DB_ENV = "LEADRELAY_DB"
ACTIVE_PLAYBOOK = "active_playbook"
DEFAULT_BATCH = 5000

#: Records with their numbers (line numbers of a file); an :class:`InputError` in place of a
#: record reports a line that could not even be read as a record.
Numbered = Iterable[tuple[int, Mapping[str, Any] | InputError]]


def database_url(url: str | None = None) -> str:
    return url or os.environ.get(DB_ENV) or DEFAULT_URL


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

    def use_playbook(self, source: str | Path | LoadedPlaybook, *, now: datetime | None = None) -> LoadedPlaybook:
        """Validate a playbook, store its text (by hash) and make it the active one."""
        loaded = source if isinstance(source, LoadedPlaybook) else load_playbook(source)
        pb = loaded.playbook
        with self.store.transaction() as tx:
            tx.save_playbook(pb.hash, pb.id, pb.version, pb.name, loaded.source, loaded.text, self._now(now))
            tx.set_setting(ACTIVE_PLAYBOOK, pb.hash)
        self._playbooks[pb.hash] = loaded
        return loaded

    def playbook(self) -> LoadedPlaybook:
        """The active playbook; the bundled default one until another is chosen."""
        with self.store.reading() as tx:
            digest = tx.setting(ACTIVE_PLAYBOOK)
        if digest is None:
            return self.use_playbook(default_playbook_path())
        return self.playbook_by_hash(digest)

    def playbook_by_hash(self, digest: str) -> LoadedPlaybook:
        cached = self._playbooks.get(digest)
        if cached is not None:
            return cached
        with self.store.reading() as tx:
            row = tx.playbook_row(digest)
        if row is None:
            raise LookupError(f"playbook {digest[:12]} is not stored in this database")
        loaded = parse_playbook(row.text, row.source)
        self._playbooks[digest] = loaded
        return loaded

    # --- intake ---------------------------------------------------------------------------

    def add_leads(self, records: Iterable[Mapping[str, Any]], *, now: datetime | None = None) -> BatchResult:
        return self.add_leads_numbered(enumerate(records, start=1), now=now)

    def add_leads_numbered(
        self, records: Numbered, *, now: datetime | None = None, batch_size: int = DEFAULT_BATCH
    ) -> BatchResult:
        """Add or update leads in batches of ``batch_size``; bad records come back as rejections."""
        return self._ingest_numbered(records, now, batch_size, leads=True)

    def record_activities(self, records: Iterable[Mapping[str, Any]], *, now: datetime | None = None) -> BatchResult:
        return self.record_activities_numbered(enumerate(records, start=1), now=now)

    def record_activities_numbered(
        self, records: Numbered, *, now: datetime | None = None, batch_size: int = DEFAULT_BATCH
    ) -> BatchResult:
        """Record activities in batches of ``batch_size``, each batch in one transaction.

        Bad records are returned as rejections; the good ones around them are kept.
        """
        return self._ingest_numbered(records, now, batch_size, leads=False)

    def _ingest_numbered(self, records: Numbered, now: datetime | None, batch_size: int, *, leads: bool) -> BatchResult:
        moment = self._now(now)
        playbook = self.playbook().playbook
        total = BatchResult()
        parsed: list[Any] = []

        def flush() -> None:
            with self.store.transaction() as tx:
                if leads:
                    total.merge(ingest(tx, playbook, parsed, [], moment))
                else:
                    total.merge(ingest(tx, playbook, [], parsed, moment))
            parsed.clear()

        for number, record in records:
            try:
                if isinstance(record, InputError):
                    raise record
                if leads:
                    parsed.append(parse_lead(record, moment))
                else:
                    parsed.append(parse_activity(record, moment, playbook.activity_types))
            except InputError as exc:
                total.rejected.append(Rejection(number, exc.field, exc.message))
            if len(parsed) >= batch_size:
                flush()
        if parsed:
            flush()
        return total

    def record_activity(self, *, now: datetime | None = None, **fields: Any) -> BatchResult:
        """Record one activity; raises :class:`InputError` if it is not valid."""
        moment = self._now(now)
        playbook = self.playbook().playbook
        parsed = parse_activity(fields, moment, playbook.activity_types)
        with self.store.transaction() as tx:
            return ingest(tx, playbook, [], [parsed], moment)

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
        moment = self._now(now)
        if playbook is None:
            loaded = self.playbook()
        elif dry_run:
            loaded = playbook if isinstance(playbook, LoadedPlaybook) else load_playbook(playbook)
        else:
            loaded = self.use_playbook(playbook, now=moment)
        return rescore(self.store, loaded.playbook, moment, dry_run=dry_run)

    # --- reading --------------------------------------------------------------------------

    def lead(self, email: str, *, now: datetime | None = None) -> dict[str, Any]:
        """Everything about one lead, with every point explained (see ``leadrelay lead show``)."""
        normalised = parse_email(email)
        active = self.playbook()
        with self.store.reading() as tx:
            return lead_report(tx, normalised, self._now(now), self.playbook_by_hash, active)

    def summary(self, *, now: datetime | None = None, top: int = 10) -> dict[str, Any]:
        active = self.playbook()
        with self.store.reading() as tx:
            return summary(tx, self._now(now), active, top)
