"""Running a file import: map each row of a :class:`~leadrelay.adapters.files.sources.Source` with a
:class:`~leadrelay.adapters.files.mappings.Mapping`, feed batches to a callable
(``LeadRelay.add_leads_numbered`` or ``record_activities_numbered``) and write rejected rows to the
rejects file. Files are streamed: memory stays bounded by the batch size. A :class:`FileFingerprint`
names a file for resuming a killed import at its last committed row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from leadrelay.adapters.files.formats import (
    SAMPLE_BYTES,
    Kind,
    Record,
)
from leadrelay.adapters.files.mappings import Mapping
from leadrelay.adapters.files.rejects import RejectsWriter
from leadrelay.adapters.files.sources import Source
from leadrelay.adapters.records import (
    InputError,
)
from leadrelay.services.intake import ERASED_REASON, BatchResult, Rejection


class FileFingerprint(NamedTuple):
    """What identifies a file for resuming: its absolute path, size and a hash of its first MB."""

    path: str
    size: int
    head_hash: str


class ImportRun(NamedTuple):
    id: int
    resume_after: int  # rows (line numbers) up to this one were committed by an earlier run
    rejects_size: int = 0  # bytes of the rejects file that hold those rows' rejections


#: Commits one batch; calls the second argument with the batch's rejections before committing
#: (it writes them to the rejects file durably and returns the file's size, kept with the checkpoint).
Submit = Callable[[list[tuple[int, Record | InputError]], Callable[[list[Rejection]], int]], BatchResult]


def fingerprint(path: Path) -> FileFingerprint:
    """The file's absolute path, size and SHA-256 of its first MB (see ``LeadRelay.begin_import``)."""
    with path.open("rb") as handle:
        head = handle.read(SAMPLE_BYTES)
    return FileFingerprint(str(path.resolve()), path.stat().st_size, hashlib.sha256(head).hexdigest())


@dataclass
class ImportOutcome:
    result: BatchResult = field(default_factory=BatchResult)
    rows: int = 0
    unknown_columns: list[str] = field(default_factory=list)
    rejects_path: Path | None = None


def prepare(source: Source, mapping: Mapping, kind: Kind) -> list[str]:
    """Check a CSV's header against the mapping (raises on a missing required column); unknown columns."""
    if source.format == "jsonl" or source.empty:
        return []
    mapping.check_headers(source.headers, kind, str(source.path))
    return mapping.unknown(source.headers)


def run_import(
    source: Source,
    mapping: Mapping,
    kind: Kind,
    submit: Submit,
    rejects: RejectsWriter,
    *,
    batch_size: int = 5000,
    on_batch: Callable[[int], None] | None = None,
    resume_after: int = 0,
) -> ImportOutcome:
    """Map each row, hand batches to ``submit`` and write every rejected row to ``rejects``.

    Rows numbered up to ``resume_after`` were committed by an earlier run: they are read past,
    not mapped or submitted. Only the current batch's source rows are kept (to copy rejected
    ones into the rejects file).
    """
    outcome = ImportOutcome()
    targets = mapping.targets(source.headers) if source.format != "jsonl" else None
    raw: dict[int, dict[str, Any] | list[str]] = {}
    batch: list[tuple[int, Record | InputError]] = []

    def write_rejects(rejected: list[Rejection]) -> int:
        rejects.rewind()  # a retried batch writes its rejections again, not twice
        for rejection in rejected:
            row = None if rejection.message == ERASED_REASON else raw.get(rejection.record)  # not the person again
            rejects.write(rejection.record, rejection.field, rejection.message, row)
        return rejects.sync()

    def flush() -> None:
        result = submit(batch, write_rejects)
        rejects.mark()  # the batch committed: its rejections stay
        outcome.result = outcome.result.merged(result)
        outcome.rows += len(batch)
        batch.clear()
        raw.clear()
        if on_batch is not None:
            on_batch(outcome.rows)

    for number, row in source.rows():
        if number <= resume_after:
            continue
        if isinstance(row, InputError):
            if row.cells is not None:  # a row that does not fit the header: keep it as read
                raw[number] = row.cells
            batch.append((number, row))
        else:
            raw[number] = row
            if targets is None and mapping.identity:  # JSONL in leadrelay's own shape: intake checks it
                batch.append((number, dict(row)))
                continue
            try:
                batch.append((number, mapping.apply(row, kind, targets)))
            except InputError as exc:
                batch.append((number, exc))
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    if rejects.count or rejects.resumed:
        outcome.rejects_path = rejects.path
    return outcome
