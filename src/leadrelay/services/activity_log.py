"""Keeping the columnar activity log (:mod:`leadrelay.adapters.files.activity_log`) up to date with
the ``activities`` table, and reading a rescore's activities from it.

The log is a cache, rebuilt from the table — ingest does not know it exists:

* **Refresh** (:func:`refresh`, run by ``rescore`` first, or by ``leadrelay activity-log refresh``):
  the activities with ids above the log's watermark become a new segment, and the leads erased
  since the log's last erasure are rewritten from the table (their old rows, with the text
  properties erasure removed, leave the files; signatures nobody uses any more leave the manifest).
  On PostgreSQL this runs under ``LOCK TABLE activities, erasures IN SHARE MODE``: every writer
  that took an id has ended and no new one starts until the refresh commits, so no activity with
  an id at or below the new watermark can appear later. On SQLite ids are given under the one
  write lock, so the same holds without a lock.
* **Full build**: with no usable log (none yet, torn, another format, or the watermark row's
  lead, type and time no longer match: another database at the same path) the log is built from
  the whole table read in id order (sequential), sorted by lead with an external bucket sort
  (memory: one bucket), and then refreshed as above. The long read takes no lock. A log of more
  than ``MAX_SEGMENTS`` segments is merged into one from its own files.
* **Read** (:class:`LogReader`): a rescore memory-maps the segments and, in its own transaction,
  reads from the table only what the log cannot hold: activities above the watermark and every
  activity of leads erased since. The CRC-32 checksums of the mapped files are computed on the
  second core while the first one scores; a mismatch throws the log away and the rescore reads
  everything again from a rebuilt log, before anything is written.

A crash at any line leaves the old manifest or the new one (segments are fsynced before the
manifest is renamed into place), never a log that claims rows it does not hold; a crash between
the table's commit and a refresh only leaves the log behind the table, which the next refresh
catches up.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa

from leadrelay.adapters.files.activity_log import (
    ActivityLog,
    ActivityLogError,
    Identity,
    Manifest,
    MappedLog,
    Rows,
    SegmentWriter,
)
from leadrelay.adapters.store import queries
from leadrelay.adapters.store.activity_rows import (
    activity_key,
    erased_after,
    high_marks,
    lock_for_log,
    max_lead_id,
    row_batches,
)
from leadrelay.adapters.store.sql_store import SqlStore, StoreTx
from leadrelay.bulk import kernel
from leadrelay.bulk.engine import ActivityColumns, Int, Signatures
from leadrelay.domain.model import Campaign
from leadrelay.services.read_models import ReadModel

#: Rows fetched from the driver at a time.
FETCH = 100_000
#: Rows per bucket of a full build's external sort (the memory a build holds at once).
BUCKET_ROWS = 2_000_000
#: More segments than this and a refresh merges them into one.
MAX_SEGMENTS = 8
#: Environment variable: where the log of a PostgreSQL database is kept; ``off`` for no log.
LOG_ENV = "LEADRELAY_ACTIVITY_LOG"


def default_folder(url: sa.URL, setting: str | None = None) -> Path | None:
    """Where the log of the database at ``url`` lives: ``setting`` (``off``: nowhere) when given;
    else beside a SQLite file (``<file>.activity-log``), or for PostgreSQL in the user's cache
    folder, one per server and database. ``None``: no log (an in-memory database, or ``off``)."""
    if setting:
        return None if setting.strip().lower() == "off" else Path(setting).expanduser()
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
            return None
        return Path(url.database).expanduser().resolve().with_name(Path(url.database).name + ".activity-log")
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    where = f"{url.host or 'local'}-{url.port or 5432}-{url.database or ''}"
    digest = hashlib.sha256(where.encode()).hexdigest()[:12]
    return cache / "leadrelay" / "activity-log" / f"{url.database or 'db'}-{digest}"


class LogStatus(ReadModel):
    """What ``leadrelay activity-log`` refreshed (or found)."""

    folder: str
    rows: int
    segments: int
    signatures: int
    watermark: int  # the highest activity id the log holds
    rebuilt: bool  # built from the whole table this time
    added: int  # rows added by this refresh
    erased_leads_rewritten: int
    seconds: float


class _Coder:
    """Signature identities → log codes, growing as new ones are seen."""

    def __init__(self, signatures: list[Identity]) -> None:
        self.signatures = list(signatures)
        self.index: dict[Identity, int] = {s: i for i, s in enumerate(self.signatures)}

    def code(self, identity: Identity) -> int:
        found = self.index.get(identity)
        if found is None:
            found = self.index[identity] = len(self.signatures)
            self.signatures.append(identity)
        return found


def _as_rows(rows: list[Any], coder: _Coder) -> Rows:
    count = len(rows)
    code = coder.code
    return Rows(
        lead=np.fromiter((r[1] for r in rows), dtype=np.int64, count=count),
        at=np.fromiter((r[2] for r in rows), dtype=np.int64, count=count),
        sig=np.fromiter((code((r[3], r[4], r[5], r[6])) for r in rows), dtype=np.int64, count=count),
        id=np.fromiter((r[0] for r in rows), dtype=np.int64, count=count),
    )


def _fetch(tx: StoreTx, sql: str, params: tuple[Any, ...], coder: _Coder, *, name: str) -> Iterator[Rows]:
    """Run ``sql`` on the raw driver; yield its rows as columns a batch at a time."""
    for rows in row_batches(tx, sql, params, name=name, size=FETCH):
        yield _as_rows(rows, coder)


def _table_rows(tx: StoreTx, after: int, upto: int, coder: _Coder) -> Iterator[Rows]:
    if upto > after:
        yield from _fetch(tx, queries.activity_log_rows(tx.dialect), (after, upto), coder, name="log_rows")


def _rows_of_leads(tx: StoreTx, lead_ids: list[int], after: int, coder: _Coder) -> Rows:
    """Activities with an id above ``after``, and every activity of ``lead_ids``."""
    parts: list[Rows] = []
    step = 500
    for start in range(0, max(len(lead_ids), 1), step):
        part = lead_ids[start : start + step]
        sql = queries.activity_log_rows(tx.dialect, leads=len(part)) if part else queries.activity_log_rows(tx.dialect)
        params = (after, *part) if part else (after, 2**62)
        parts.extend(_fetch(tx, sql, params, coder, name="log_tail"))
        after = 2**62  # the rows above the watermark came with the first batch
    rows = Rows.concat(parts)
    if len(rows):  # a row can come twice (above the watermark and of an erased lead)
        _, first = np.unique(rows.id, return_index=True)
        rows = Rows(rows.lead[first], rows.at[first], rows.sig[first], rows.id[first])
    return rows.sorted()


def _bucket_sort(log: ActivityLog, batches: Iterator[Rows], max_lead: int, expected_rows: int) -> tuple[Any, Int]:
    """Rows in any order → one segment sorted by (lead, time, id), one bucket of leads in memory
    at a time. Returns the segment and the signature codes it uses (ascending)."""
    buckets = max(1, -(-expected_rows // BUCKET_ROWS))
    width = max(1, -(-(max_lead + 1) // buckets))
    spill = log.spill()
    used: set[int] = set()
    try:
        for batch in batches:
            used.update(np.unique(batch.sig).tolist())
            which = batch.lead // width
            order = np.argsort(which, kind="stable")
            which = which[order]
            cuts = np.flatnonzero(np.r_[True, which[1:] != which[:-1], True])
            for a, b in zip(cuts[:-1].tolist(), cuts[1:].tolist(), strict=True):
                pick = order[a:b]
                with (spill / f"{int(which[a])}.bin").open("ab") as out:
                    out.write(np.stack([batch.lead[pick], batch.at[pick], batch.sig[pick], batch.id[pick]]).T.tobytes())
        codes = np.array(sorted(used), dtype=np.int64)
        remap = np.full(int(codes.max()) + 1 if len(codes) else 1, -1, dtype=np.int64)
        remap[codes] = np.arange(len(codes))
        writer = SegmentWriter(log.folder)
        try:
            for bucket in range(buckets + 1):
                path = spill / f"{bucket}.bin"
                if not path.exists():
                    continue
                table = np.fromfile(path, dtype=np.int64).reshape(-1, 4)
                path.unlink()
                rows = Rows(table[:, 0].copy(), table[:, 1].copy(), remap[table[:, 2]], table[:, 3].copy())
                del table
                writer.append(rows.sorted())
        except BaseException:
            writer.abandon()
            raise
        return writer.finish(), codes
    finally:
        shutil.rmtree(spill, ignore_errors=True)


def _log_batches(mapped: MappedLog, skip: Int) -> Iterator[Rows]:
    """The log's rows without the leads ``skip``, with running numbers for ids (segments are in id
    order, so they order ties as the ids did)."""
    count = 0
    for rows in mapped.all_rows():
        numbered = Rows(rows.lead, rows.at, rows.sig, np.arange(count, count + len(rows), dtype=np.int64))
        count += len(rows)
        yield numbered.without_leads(skip)


def refresh(store: SqlStore, folder: Path) -> LogStatus:
    """Bring the log in ``folder`` up to the table (building it when there is none); see the module."""
    started = time.perf_counter()
    log = ActivityLog(folder)
    with log.locked():
        return _refresh(store, log, started)


def _refresh(store: SqlStore, log: ActivityLog, started: float) -> LogStatus:
    rebuilt = False
    manifest: Manifest | None
    try:
        manifest = log.manifest()
        log.sweep(manifest)  # what a refresh that died left
    except ActivityLogError:
        manifest = None
    if manifest is not None:
        with store.reading() as tx:
            if activity_key(tx, manifest.watermark) != manifest.watermark_key or high_marks(tx)[0] < manifest.watermark:
                manifest = None  # another database, or the table was replaced: start again
    if manifest is None or len(manifest.segments) > MAX_SEGMENTS:
        manifest = _build(store, log, manifest)
        rebuilt = True
    added, rewritten, manifest = _catch_up(store, log, manifest)
    return LogStatus(
        folder=str(log.folder),
        rows=manifest.rows,
        segments=len(manifest.segments),
        signatures=len(manifest.signatures),
        watermark=manifest.watermark,
        rebuilt=rebuilt,
        added=added,
        erased_leads_rewritten=rewritten,
        seconds=round(time.perf_counter() - started, 3),
    )


def _build(store: SqlStore, log: ActivityLog, old: Manifest | None) -> Manifest:
    """The whole log again: from the old log's own rows when it is only fragmented, else from the table."""
    with store.transaction() as tx:  # the high marks, final under the lock
        lock_for_log(tx)
        high, erasures = high_marks(tx)
        key = activity_key(tx, high)
        max_lead = max_lead_id(tx)
    if old is not None:  # fragmented: merge the segments (no new rows here; the catch-up adds them)
        mapped = log.open(old)
        try:
            segment, codes = _bucket_sort(log, _log_batches(mapped, np.zeros(0, dtype=np.int64)), max_lead, old.rows)
        finally:
            mapped.close()
        fresh = Manifest(old.watermark, old.watermark_key, old.erasures, [old.signatures[c] for c in codes], [segment])
        log.commit(fresh)
        return fresh
    log.clear()
    coder = _Coder([])
    with store.reading() as tx:
        segment, codes = _bucket_sort(log, _table_rows(tx, 0, high, coder), max_lead, high)
    fresh = Manifest(high, key, erasures, [coder.signatures[c] for c in codes], [segment])
    log.commit(fresh)
    return fresh


def _catch_up(store: SqlStore, log: ActivityLog, manifest: Manifest) -> tuple[int, int, Manifest]:
    """New rows as a segment; erased leads rewritten (the whole log then, so their old rows go)."""
    with store.transaction() as tx:
        lock_for_log(tx)
        high, erasures = high_marks(tx)
        erased = erased_after(tx, manifest.erasures) if erasures > manifest.erasures else []
        if high == manifest.watermark and not erased:
            return 0, 0, manifest
        coder = _Coder(manifest.signatures)
        new = _rows_of_leads(tx, erased, manifest.watermark, coder)
        new = Rows(*(getattr(new, c)[new.id <= high] for c in ("lead", "at", "sig", "id")))
        key = activity_key(tx, high)
        max_lead = max_lead_id(tx)
        if erased:
            mapped = log.open(manifest)
            skip = np.array(erased, dtype=np.int64)

            def batches() -> Iterator[Rows]:
                yield from _log_batches(mapped, skip)
                yield new

            try:
                segment, codes = _bucket_sort(log, batches(), max_lead, manifest.rows + len(new))
            finally:
                mapped.close()
            fresh = Manifest(high, key, erasures, [coder.signatures[c] for c in codes], [segment])
        else:
            segment = log.write_segment(new)
            fresh = Manifest(high, key, erasures, coder.signatures, [*manifest.segments, segment])
        log.commit(fresh)  # inside the locked transaction: nothing below the watermark can still arrive
    return int(np.count_nonzero(~np.isin(new.lead, erased))) if erased else len(new), len(erased), fresh


@dataclass(slots=True)
class LogReader:
    """A rescore's activities: the mapped log and, read in the rescore's transaction, the rows the
    log does not hold (above its watermark, and of leads erased since)."""

    mapped: MappedLog
    codes: Int  # log signature → engine signature
    tail: Rows  # lead, time, engine signature, id
    skip: Int  # leads whose rows come from the tail only
    _pool: ThreadPoolExecutor
    _check: Future[None] | None = None
    compiled: bool = False  # place rows with the compiled merge walk (``kernel.positions``)

    @classmethod
    def open(
        cls,
        tx: StoreTx,
        log: ActivityLog,
        signatures: Signatures,
        campaigns: dict[int, Campaign],
    ) -> LogReader:
        def engine_code(identity: Identity) -> int:
            found = signatures._index.get(identity)
            if found is None:
                type_, campaign_id, product, properties = identity
                campaign = campaigns.get(campaign_id) if campaign_id is not None else None
                found = signatures.code(
                    type_, campaign, product, json.loads(properties) if properties else {}, identity
                )
            return found

        with log.locked(shared=True):  # the files of this manifest, mapped before a refresh can remove them
            manifest = log.manifest()
            mapped = log.open(manifest)
        codes = np.array([engine_code(s) for s in manifest.signatures] or [0], dtype=np.int64)
        erased = erased_after(tx, manifest.erasures)
        coder = _Coder(manifest.signatures)
        tail = _rows_of_leads(tx, erased, manifest.watermark, coder)
        extra = np.array([engine_code(s) for s in coder.signatures], dtype=np.int64)
        tail = Rows(tail.lead, tail.at, extra[tail.sig] if len(tail) else tail.sig, tail.id)
        return cls(mapped, codes, tail, np.array(erased, dtype=np.int64), ThreadPoolExecutor(1))

    @property
    def rows(self) -> int:
        """The activities this reader holds: the mapped log's and the tail's."""
        return sum(s.rows for s in self.mapped.manifest.segments) + len(self.tail)

    def columns(self, ids: Int, *, first: bool, last: bool) -> ActivityColumns:
        """The activities of the chunk of leads ``ids`` (ascending); chunks are read in order, and
        the first and the last say so, so that the chunks together cover every row of the log."""
        low = 0 if first else int(ids[0])
        high = int(ids[-1])
        if self._check is not None:
            self._check.result()
        self._check = self._pool.submit(self.mapped.check_through, low, high, last=last)
        rows = self.mapped.leads(low, high, last=last).without_leads(self.skip)
        rows = Rows(rows.lead, rows.at, self.codes[rows.sig] if len(rows) else rows.sig, rows.id)
        if len(self.tail):
            a, b = (
                np.searchsorted(self.tail.lead, [low, high + 1])
                if not last
                else (
                    int(np.searchsorted(self.tail.lead, low)),
                    len(self.tail),
                )
            )
            if b > a:
                extra = Rows(*(getattr(self.tail, c)[a:b] for c in ("lead", "at", "sig", "id")))
                rows = Rows.concat([rows, extra])
                order = np.lexsort((rows.at, rows.lead))  # stable: the log's rows first on a tie
                rows = Rows(rows.lead[order], rows.at[order], rows.sig[order], rows.id[order])
        if self.compiled and len(rows) >= kernel.MIN_ROWS:  # one merge walk, not a binary search a row
            position, everywhere = kernel.positions(ids, rows.lead)
        else:
            position = np.searchsorted(ids, rows.lead)
            everywhere = False
        if not everywhere:
            inside = (position < len(ids)) & (ids[np.minimum(position, len(ids) - 1)] == rows.lead)
        if not everywhere and not inside.all():  # rows of leads not in the table (none: a foreign key), left out
            position, rows = position[inside], Rows(*(getattr(rows, c)[inside] for c in ("lead", "at", "sig", "id")))
        return ActivityColumns(position.astype(np.int64), rows.at, rows.sig)

    def verified(self) -> bool:
        """Whether every mapped byte matched the manifest's checksums (call after the last chunk)."""
        if self._check is not None:
            self._check.result()
        return self.mapped.verified()

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self.mapped.close()
