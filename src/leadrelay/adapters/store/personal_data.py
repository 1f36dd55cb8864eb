"""Where a person's personal data lies in the store, and the writes that take it out (``services.erasure``).

Erasure anonymises the lead row and every row of every table with a ``lead_id`` column
(activities, transitions, corrections, routing decisions, outcomes, outbox, timers, ...). The
tables are taken from :data:`~leadrelay.adapters.store.tables.metadata` — the one declaration
of the schema the migrations must match — so a table added later with a ``lead_id`` is covered
without a change here: its text and JSON columns are cleaned of the person's identifiers.

A table whose rows belong to a person without a ``lead_id`` column — e.g. stored HTTP responses
of idempotency keys, which may quote the person's e-mail — is listed in
:data:`PERSONAL_DATA_TABLES`: erasure DELETES its rows that name the lead (by ``lead_column``)
or whose ``text_columns`` contain the person's e-mail or external id.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from leadrelay.adapters.store import summaries
from leadrelay.adapters.store.sql_store import StoreTx
from leadrelay.adapters.store.tables import (
    activities,
    erased_identities,
    erasures,
    import_runs,
    leads,
    metadata,
    outbox,
    outcomes,
)


@dataclass(frozen=True, slots=True)
class PersonalRows:
    """How to find a person's rows in a table: by a lead id column, or by text that quotes them."""

    lead_column: str | None = None  # a column holding ``leads.id``
    lead_ids_column: str | None = None  # a JSON column holding a list of ``leads.id``
    text_columns: tuple[str, ...] = ()  # text or JSON columns searched for the e-mail and external id


#: Table name → how its rows of one person are found; erasure deletes them. Add a table here in the
#: change that creates it. A table this database does not have (its migration is on another
#: branch, or not run yet) is skipped.
PERSONAL_DATA_TABLES: dict[str, PersonalRows] = {
    # stored answers of Idempotency-Key requests (HTTP intake, migration 0011): they quote the
    # posted records and name the leads they touched
    "idempotency_keys": PersonalRows(lead_ids_column="lead_ids", text_columns=("response_body",)),
}

#: Tables erasure leaves alone although they have a ``lead_id``: its own record of what it did.
_OWN = frozenset({erasures.name})
#: The setting holding this database's key for the hashes of erased identities.
SECRET_SETTING = "erasure_secret"
#: Profile columns erasure empties: they name, reach or describe the person. Seniority,
#: department (job function), country and prefecture stay: categories that routing and reports
#: count by, which name nobody on their own.
ERASED_PROFILE = ("email", "first_name", "last_name", "title", "phone", "postal_code", "company_name")
#: What an erased text says instead of the person's identifier.
MARK = "[erased]"
#: Why a message that was still waiting is not sent.
CANCELLED = "cancelled: the lead's personal data was erased"


def secret(tx: StoreTx) -> bytes:
    """This database's key for hashing erased identities (made at the first erasure)."""
    return bytes.fromhex(tx.setting_once(SECRET_SETTING, secrets.token_hex(32)))


def existing_secret(tx: StoreTx) -> bytes | None:
    """The key, or None when nobody was ever erased here (then no identity is suppressed)."""
    stored = tx.setting(SECRET_SETTING)
    return bytes.fromhex(stored) if stored else None


def identity_digest(key: bytes, identity: str) -> str:
    """HMAC-SHA256 of a lead key (an e-mail, or ``id:`` and an external id) under ``key``."""
    return hmac.new(key, identity.encode("utf-8"), hashlib.sha256).hexdigest()


def erased_digests(tx: StoreTx, digests: Iterable[str]) -> set[str]:
    """Those of ``digests`` that are on the list of erased identities."""
    wanted = sorted(set(digests))
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        part = wanted[start : start + 500]
        query = sa.select(erased_identities.c.digest).where(erased_identities.c.digest.in_(part))
        found.update(tx.execute(query).scalars())
    return found


def suppress(tx: StoreTx, digests: Iterable[str]) -> None:
    tx._insert_ignore(erased_identities, [{"digest": d} for d in sorted(set(digests))], "digest")


def lead_row(tx: StoreTx, lead_id: int, *, lock: bool = True) -> Any:
    """The lead's row; held until the transaction ends when ``lock``."""
    if lock:
        tx.lock_leads([lead_id])
    return tx.execute(sa.select(leads).where(leads.c.id == lead_id)).one()


def erasure_of(tx: StoreTx, lead_id: int) -> Any:
    return tx.execute(sa.select(erasures).where(erasures.c.lead_id == lead_id)).one_or_none()


def anonymise_lead(tx: StoreTx, lead_id: int, ref: str, now: datetime, clean: Clean) -> None:
    """Empty the lead's profile, give it the anonymous ``ref``, and rewrite its other text and JSON
    columns (e.g. the account match's evidence, which quotes the e-mail) with ``clean``."""
    row = tx.execute(sa.select(leads).where(leads.c.id == lead_id)).mappings().one()
    values: dict[str, Any] = {c.name: clean(row[c.name]) for c in personal_columns(leads)}
    values.update(dict.fromkeys(ERASED_PROFILE))
    stmt = leads.update().where(leads.c.id == lead_id)
    tx.execute(stmt.values(**{**values, "external_id": ref, "custom": {}, "erased_at": now, "updated_at": now}))


def lead_tables() -> list[sa.Table]:
    """Every table with a ``lead_id`` column (but erasure's own record), in dependency order."""
    return [t for t in metadata.sorted_tables if "lead_id" in t.c and t.name not in _OWN]


def _is_json(column: sa.Column[Any]) -> bool:
    kind = column.type
    return isinstance(kind, sa.JSON) or any(isinstance(v, sa.JSON) for v in getattr(kind, "mapping", {}).values())


def personal_columns(table: sa.Table) -> list[sa.Column[Any]]:
    """The text and JSON columns of ``table`` (where a person's identifiers can be written)."""
    return [c for c in table.c if _is_json(c) or isinstance(c.type, sa.String)]


Clean = Callable[[Any], Any]


def clean_lead_rows(tx: StoreTx, table: sa.Table, lead_id: int, clean: Clean, fixed: Clean | None = None) -> int:
    """Rewrite the text and JSON columns of ``table``'s rows of the lead with ``clean`` (a value →
    the value without the person's identifiers); ``fixed``: a row → more values to set. Returns the
    number of rows changed."""
    columns = personal_columns(table)
    key = list(table.primary_key.columns)  # one column, or several (a summary's rows)
    changed = 0
    rows = tx.execute(sa.select(table).where(table.c.lead_id == lead_id)).mappings().all()
    for row in rows:
        values = {c.name: clean(row[c.name]) for c in columns}
        values = {name: value for name, value in values.items() if value != row[name]}
        if fixed is not None:
            values.update(fixed(row))
        if values:
            tx.execute(table.update().where(*[k == row[k.name] for k in key]).values(**values))
            changed += 1
    return changed


def rehash(key: bytes, value: str) -> str:
    """A deduplication key (an activity's or outcome's) replaced by a keyed hash of itself."""
    return hmac.new(key, ("row:" + value).encode("utf-8"), hashlib.sha256).hexdigest()


def kept_properties(properties: Any) -> dict[str, Any]:
    """The properties that describe what happened, not who: true/false and numbers. Text, lists
    and objects may quote the person (a form's free text, a URL with their e-mail) and go."""
    if not isinstance(properties, Mapping):
        return {}
    return {
        name: value
        for name, value in properties.items()
        if isinstance(value, bool | int | float) and not isinstance(value, complex)
    }


def facts_fixed(key: bytes) -> Clean:
    """For activities and outcomes: properties cut to :func:`kept_properties`, the source's id
    dropped, the deduplication key re-hashed (a hash of the record would let someone holding the
    person's e-mail find their rows)."""

    def fixed(row: Any) -> dict[str, Any]:
        values: dict[str, Any] = {"source_id": None, "key": rehash(key, row["key"])}
        properties = kept_properties(row["properties"])
        if properties != row["properties"]:
            values["properties"] = properties
        return values

    return fixed


def outbox_fixed(now: datetime) -> Callable[[StoreTx, int], int]:
    """Messages about the lead still waiting: not sent any more (given up, with the reason)."""

    def cancel(tx: StoreTx, lead_id: int) -> int:
        waiting = sa.and_(outbox.c.lead_id == lead_id, outbox.c.sent_at.is_(None), outbox.c.failed_at.is_(None))
        stmt = outbox.update().where(waiting)
        done = tx.execute(stmt.values(failed_at=now, last_error=CANCELLED, claimed_by=None, claimed_until=None))
        return int(done.rowcount)

    return cancel


def fixed_for(table: sa.Table, key: bytes) -> Clean | None:
    return facts_fixed(key) if table.name in (activities.name, outcomes.name) else None


def delete_registered(tx: StoreTx, lead_id: int, needles: Sequence[str]) -> dict[str, int]:
    """Delete the rows of the tables in :data:`PERSONAL_DATA_TABLES` that belong to the person."""
    tx.changed(summaries.KINDS, (lead_id,))  # facts the summaries read are among them
    counts: dict[str, int] = {}
    present = set(sa.inspect(tx.connection).get_table_names())
    for name, how in sorted(PERSONAL_DATA_TABLES.items()):
        if name not in present:  # registered by a change whose migration this database has not run
            continue
        table = metadata.tables.get(name)
        if table is None:
            table = sa.Table(name, sa.MetaData(), autoload_with=tx.connection)
        conditions: list[Any] = []
        if how.lead_column is not None:
            conditions.append(table.c[how.lead_column] == lead_id)
        for column in how.text_columns:
            text = sa.func.lower(sa.cast(table.c[column], sa.Text))
            conditions.extend(text.contains(needle.lower(), autoescape=True) for needle in needles)
        deleted = int(tx.execute(table.delete().where(sa.or_(*conditions))).rowcount) if conditions else 0
        if how.lead_ids_column is not None:
            deleted += _delete_listing(tx, table, how.lead_ids_column, lead_id)
        counts[name] = deleted
    return counts


def _delete_listing(tx: StoreTx, table: sa.Table, column: str, lead_id: int) -> int:
    """Delete the rows whose JSON list ``column`` holds ``lead_id`` (read and matched here: the
    JSON functions differ between the databases, and such tables are small)."""
    (key,) = table.primary_key.columns
    listed = table.c[column]
    found: list[Any] = []
    rows: list[Any] = list(tx.execute(sa.select(key.label("key"), listed.label("ids"))))
    for row in rows:
        ids = json.loads(row.ids) if isinstance(row.ids, str) else row.ids
        if isinstance(ids, list) and lead_id in ids:
            found.append(row.key)
    for start in range(0, len(found), 500):
        tx.execute(table.delete().where(key.in_(found[start : start + 500])))
    return len(found)


@dataclass(frozen=True, slots=True)
class RejectsFile:
    """A rejects file an import wrote: its path and, for an unfinished import, the checkpoint's size."""

    run_id: int
    path: str
    committed: int | None


def rejects_files(tx: StoreTx, default: Callable[[str], str]) -> list[RejectsFile]:
    """The rejects files of every import run: the recorded path, or (runs from before paths were
    recorded) ``default`` of the imported file's path."""
    rows = tx.execute(
        sa.select(
            import_runs.c.id,
            import_runs.c.path,
            import_runs.c.rejects_path,
            import_runs.c.rejects_size,
            import_runs.c.finished_at,
        ).order_by(import_runs.c.id)
    )
    return [
        RejectsFile(r.id, r.rejects_path or default(r.path), None if r.finished_at is not None else r.rejects_size)
        for r in rows
    ]


def set_rejects_size(tx: StoreTx, run_id: int, size: int) -> None:
    tx.execute(import_runs.update().where(import_runs.c.id == run_id).values(rejects_size=size))


def record_erasure(
    tx: StoreTx,
    lead_id: int,
    ref: str,
    requested_by: str,
    now: datetime,
    counts: Mapping[str, int],
    files: Sequence[Mapping[str, Any]],
) -> None:
    tx.execute(
        erasures.insert().values(
            ref=ref, lead_id=lead_id, requested_by=requested_by, erased_at=now, counts=dict(counts), files=list(files)
        )
    )
