"""Erasing a person's personal data (an APPI / GDPR request), keeping the anonymous counts.

What :func:`erase` does, in one transaction (the lead's row locked):

- the lead row stays, anonymous: e-mail, names, title, phone, postal code, company name and custom
  fields emptied, the external id replaced by a random pseudonymous ref (``erased-…``), ``erased_at``
  set; stage, scores, level, owner and account stay, so counts, funnels and SLA reports stay right;
- every row of every table with a ``lead_id`` (activities, transitions and their corrections,
  routing decisions, outcomes, outbox messages, timers, and tables added later): the person's
  identifiers are replaced by ``[erased]`` in every text and JSON column; activities and outcomes
  keep their type, time, campaign, product and their true/false and number properties (text
  properties go), their source ids are dropped and their deduplication keys re-hashed; messages
  still waiting are not sent;
- rows of the tables registered in ``PERSONAL_DATA_TABLES`` that name the person are deleted;
- the rejects files of imports are rewritten without the person's rows;
- the e-mail and external id are kept only as keyed hashes on the list of erased identities:
  intake refuses later records for them (``services.intake.refuse_erased``), so marketing automation cannot
  bring the person back;
- an erasure record says who asked, when, the pseudonymous ref and how many rows of each table
  changed — nothing of the personal data.

Erasing again is harmless and says so (``already_erased``).
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, Literal

from leadrelay.adapters.files.rejects import default_rejects_path, remove_rows
from leadrelay.adapters.store import personal_data as pd
from leadrelay.adapters.store.sql_store import StoreTx
from leadrelay.domain.identity import lead_key
from leadrelay.services.leads import LeadNotFound
from leadrelay.services.read_models import Moment, ReadModel, local

REF_PREFIX = "erased-"
_MIN_NEEDLE = 2  # shorter names (a one-letter initial) would match everywhere
_MIN_CODE = 4  # shorter ids, phone numbers and postal codes would match scores and counts
#: The longest ``actor`` an erasure record keeps (``erasures.requested_by``).
MAX_ACTOR = 320


class RejectsFileErasure(ReadModel):
    """One rejects file: how many of the person's rows were taken out, or why it was not reachable."""

    path: str
    status: Literal["rewritten", "clean", "missing", "unreadable"]
    rows_removed: int = 0
    error: str | None = None


class ErasureReport(ReadModel):
    """What an erasure changed: rows per table, rejects files, and whether it had been done before."""

    ref: str | None  # the anonymous lead's pseudonymous ref (None: known only as an erased identity)
    already_erased: bool
    erased_at: Moment | None
    requested_by: str | None
    tables: dict[str, int]  # table → rows changed (or deleted, for registered tables)
    messages_cancelled: int = 0  # outbox messages about the lead that were still waiting
    files: tuple[RejectsFileErasure, ...] = ()


@dataclass(frozen=True, slots=True)
class Identifiers:
    """What names the person: written out of every text, searched for in rejects files."""

    email: str | None
    external_id: str | None
    first_name: str | None
    last_name: str | None
    phone: str | None
    postal_code: str | None = None

    @classmethod
    def of(cls, row: Any) -> Identifiers:
        return cls(row.email, row.external_id, row.first_name, row.last_name, row.phone, row.postal_code)

    def needles(self) -> list[str]:
        """Every text to take out, longest first (so a full name goes before its parts)."""
        found: set[str] = set()
        for value in (self.email, self.first_name, self.last_name):
            if value and len(value.strip()) >= _MIN_NEEDLE:
                found.add(value.strip())
        for value in (self.external_id, self.phone, self.postal_code):  # "42" would cut numbers out of texts
            if value and len(value.strip()) >= _MIN_CODE:
                found.add(value.strip())
        if self.email:
            local_part = self.email.split("@", 1)[0]
            if len(local_part) >= 4:
                found.add(local_part)
        first, last = (self.first_name or "").strip(), (self.last_name or "").strip()
        if first and last:
            found.update({f"{first} {last}", f"{last} {first}", f"{last}{first}", f"{first}{last}"})
        if self.phone:
            digits = re.sub(r"\D", "", self.phone)
            if len(digits) >= 8:
                found.add(digits)
        return sorted(found, key=lambda n: (-len(n), n))

    def strong(self) -> list[str]:
        """The identifiers one row of a rejects file is taken out for (one is enough)."""
        return [v for v in (self.email, self.external_id, self.phone) if v and len(v.strip()) >= _MIN_CODE]


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _pattern(needle: str) -> str:
    """ASCII words are matched as whole words ("Li" is not taken out of "qualified"); text in other
    scripts (Japanese names have no spaces around them) wherever it appears."""
    body = re.escape(needle)
    if needle.isascii():
        return rf"(?<![0-9A-Za-z]){body}(?![0-9A-Za-z])"
    return body


class Redactor:
    """Replaces the person's identifiers in text and in JSON documents (keys and values)."""

    def __init__(self, identifiers: Identifiers) -> None:
        needles = identifiers.needles()
        self._regex = re.compile("|".join(_pattern(n) for n in needles), re.IGNORECASE) if needles else None

    def text(self, value: str) -> str:
        """``value`` without the identifiers; a text that quotes one in full-width letters is
        NFKC-folded first (the rest of a text without any is left exactly as it was)."""
        if self._regex is None:
            return value
        out = self._regex.sub(pd.MARK, value)
        folded = unicodedata.normalize("NFKC", out)
        return self._regex.sub(pd.MARK, folded) if self._regex.search(folded) else out

    def __call__(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {self(k) if isinstance(k, str) else k: self(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self(v) for v in value]
        return value


def _row_matcher(identifiers: Identifiers) -> Callable[[list[str]], bool]:
    strong = [_fold(s) for s in identifiers.strong()]
    digits = re.sub(r"\D", "", identifiers.phone or "")
    names = [_fold(n) for n in (identifiers.first_name, identifiers.last_name) if n and n.strip()]

    def matches(row: list[str]) -> bool:
        cells = [_fold(c) for c in row]
        joined = "\x1f".join(cells)
        if any(s in joined for s in strong):
            return True
        if len(digits) >= 8 and any(re.sub(r"\D", "", c) == digits for c in cells):
            return True
        return len(names) == 2 and all(n in joined for n in names)

    return matches


@dataclass(frozen=True, slots=True)
class FilesErased:
    """What :func:`erase_files` did: each rejects file, and the new checkpoint sizes of unfinished
    imports whose files got shorter (stored by :func:`erase`, in the transaction that erases)."""

    files: tuple[RejectsFileErasure, ...] = ()
    sizes: tuple[tuple[int, int], ...] = ()  # (import run id, rejects size)


def identifiers(tx: StoreTx, keys: Sequence[str]) -> Identifiers | None:
    """The identifiers of the lead found by ``keys`` if it is not erased yet (else None)."""
    lead_id = _find(tx, keys)
    if lead_id is None:
        return None
    row = pd.lead_row(tx, lead_id, lock=False)
    return Identifiers.of(row) if row.erased_at is None else None


def erase_files(tx: StoreTx, identifiers: Identifiers) -> FilesErased:
    """Rewrite the rejects file of every import run without the person's rows. Done before the
    rows are erased (their identifiers find the rows) and outside that transaction, so that a
    retried transaction does not rewrite them again; each rewrite is atomic (see ``remove_rows``)."""
    out: list[RejectsFileErasure] = []
    sizes: list[tuple[int, int]] = []
    seen: set[str] = set()
    matches = _row_matcher(identifiers)
    for item in pd.rejects_files(tx, lambda path: str(default_rejects_path(Path(path)))):
        if item.path in seen:
            continue
        seen.add(item.path)
        path = Path(item.path)
        if not path.is_file():
            out.append(RejectsFileErasure(path=item.path, status="missing"))
            continue
        try:
            removed, size = remove_rows(path, matches, item.committed)
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            out.append(RejectsFileErasure(path=item.path, status="unreadable", error=reason))
            continue
        if removed and item.committed:  # an unfinished import that had committed rejections
            sizes.append((item.run_id, size))
        out.append(RejectsFileErasure(path=item.path, status="rewritten" if removed else "clean", rows_removed=removed))
    return FilesErased(tuple(out), tuple(sizes))


def _digests(key: bytes, keys: Sequence[str]) -> set[str]:
    return {pd.identity_digest(key, k) for k in keys}


def _find(tx: StoreTx, keys: Sequence[str]) -> int | None:
    found = tx.lead_ids(keys)
    return next((found[k] for k in keys if k in found), None)


def erase(
    tx: StoreTx,
    keys: Sequence[str],
    ref: str,
    actor: str,
    now: datetime,
    tz: tzinfo,
    files: FilesErased | None = None,
) -> ErasureReport:
    """Erase the personal data of the lead found by one of ``keys`` (lead keys: e-mail first, then
    ``id:`` and an external id; ``ref`` is what the user gave); ``files``: what
    :func:`erase_files` did to the rejects files first. Raises :class:`LeadNotFound`."""
    lead_id = _find(tx, keys)
    if lead_id is None:
        key = pd.existing_secret(tx)
        if key is not None and pd.erased_digests(tx, _digests(key, keys)):
            return ErasureReport(ref=None, already_erased=True, erased_at=None, requested_by=None, tables={})
        raise LeadNotFound(ref)
    row = pd.lead_row(tx, lead_id)
    if row.erased_at is not None:
        done = pd.erasure_of(tx, lead_id)
        return ErasureReport(
            ref=row.external_id,
            already_erased=True,
            erased_at=local(row.erased_at, tz),
            requested_by=done.requested_by if done is not None else None,
            tables=dict(done.counts) if done is not None else {},
        )
    key = pd.secret(tx)
    redact = Redactor(Identifiers.of(row))
    files = files or FilesErased()
    for run_id, size in files.sizes:
        pd.set_rejects_size(tx, run_id, size)
    counts: dict[str, int] = {}
    cancelled = 0
    for table in pd.lead_tables():
        fixed = pd.fixed_for(table, key)
        if table.name == "outbox":
            cancelled = pd.outbox_fixed(now)(tx, lead_id)
        counts[table.name] = pd.clean_lead_rows(tx, table, lead_id, redact, fixed)
    counts.update(pd.delete_registered(tx, lead_id, Identifiers.of(row).strong()))
    identities = [lead_key(e, None) for e in [row.email] if e] + [lead_key(None, x) for x in [row.external_id] if x]
    digests = _digests(key, identities)
    pd.suppress(tx, digests)
    new_ref = REF_PREFIX + secrets.token_hex(8)
    pd.anonymise_lead(tx, lead_id, new_ref, now, redact)
    counts["leads"] = 1
    counts["erased_identities"] = len(digests)
    counts = {name: n for name, n in sorted(counts.items())}
    pd.record_erasure(tx, lead_id, new_ref, actor, now, counts, [f.as_json() for f in files.files])
    return ErasureReport(
        ref=new_ref,
        already_erased=False,
        erased_at=local(now, tz),
        requested_by=actor,
        tables=counts,
        messages_cancelled=cancelled,
        files=files.files,
    )
