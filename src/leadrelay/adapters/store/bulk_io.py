"""Reading and writing every lead at once for the bulk path, through the raw database driver.

Rows are read with plain SQL (no ORM objects). The lead table is read a batch at a time — on
SQLite through the driver's cursor, on PostgreSQL as ``COPY … TO STDOUT`` CSV parsed by Arrow —
into NumPy arrays (ids, stored scores) and dictionary codes (text: stage, rule ids, the profile
fields the playbook reads), so a lead costs a few dozen bytes, not a Python row; leads with the
same profile values share one :class:`Lead`. Activities are read a chunk of leads at a time as
columns (lead row, time in microseconds, signature). Scores are written back with
``executemany`` on SQLite and ``COPY`` (CSV written by Arrow) into a temporary table plus one
``UPDATE … FROM`` on PostgreSQL. Everything runs on the caller's connection, in the caller's
transaction.
"""

from __future__ import annotations

import io
import json
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from leadrelay.adapters.store import queries
from leadrelay.adapters.store.columns import copied_batches, raw_connection
from leadrelay.adapters.store.sql_store import StoreTx
from leadrelay.adapters.store.times import sqlite_time
from leadrelay.bulk.engine import ActivityColumns, Bool, Float, Int, Signatures
from leadrelay.domain.model import LEAD_PROFILE_FIELDS, Account, Campaign, Lead

_LEAD_COLUMNS = (*LEAD_PROFILE_FIELDS, "external_id")
_ACCOUNT_COLUMNS = tuple(f.name for f in fields(Account))
_FETCH = 50_000
#: Leads a batch read at a time (SQLite).
_LEAD_FETCH = 20_000


class _EncodedColumn:
    """A column read a batch at a time, each batch dictionary-encoded in Arrow (few bytes a row
    when values repeat); :meth:`codes` unifies the batches' dictionaries at the end, so a value
    first seen in a later batch gets the next code."""

    __slots__ = ("_batches", "_type")

    def __init__(self, type_: pa.DataType) -> None:
        self._type = type_
        self._batches: list[pa.DictionaryArray] = []

    def add(self, values: pa.Array) -> None:
        self._batches.append(values.cast(self._type).dictionary_encode())

    def codes(self) -> tuple[Int, pa.Array]:
        """Every row's code (int32, ``-1``: NULL) and the distinct values the codes point into."""
        if not self._batches:
            return np.zeros(0, dtype=np.int32), pa.array([], type=self._type)
        unified = pa.chunked_array(self._batches).unify_dictionaries()
        indices = [chunk.indices.fill_null(-1).to_numpy(zero_copy_only=False) for chunk in unified.chunks]
        return np.concatenate(indices).astype(np.int32), unified.chunk(0).dictionary

    @staticmethod
    def values(dictionary: pa.Array, codes: Int) -> list[Any]:
        """The values of ``codes`` (``None`` for ``-1``) as Python objects."""
        if not len(dictionary):
            return [None] * len(codes)
        values = dictionary.take(pa.array(np.where(codes >= 0, codes, 0))).to_pylist()
        return [v if c >= 0 else None for v, c in zip(values, codes.tolist(), strict=True)]


@dataclass(frozen=True, slots=True)
class Coded:
    """A text column of every lead as codes into ``names`` (``-1``: NULL)."""

    codes: Int
    names: list[Any]

    def positions(self, wanted: Sequence[str]) -> Int:
        """Each lead's value as its position in ``wanted``: ``-1`` for NULL, ``-2`` for a value not there."""
        lookup = {name: i for i, name in enumerate(wanted)}
        table = np.array([*(lookup.get(name, -2) for name in self.names), -1], dtype=np.int64)
        return table[self.codes]

    def isin(self, wanted: Collection[Any]) -> Bool:
        """Whether each lead's value is one of ``wanted`` (NULL never is)."""
        table = np.array([*(name in wanted for name in self.names), False], dtype=np.bool_)
        return table[self.codes]


@dataclass(slots=True)
class LeadTable:
    """Every lead, by ascending id: its profile (index into ``profiles``) and what is stored now.
    Numbers are arrays and text columns codes (:class:`Coded`): no Python object per lead."""

    ids: Int
    profile: Int
    profiles: list[tuple[Lead, Account | None]]
    stage: Coded
    level: Int  # 0: no level
    level_rule: Coded
    fit: Float
    engagement: Float
    total: Float
    fit_passed: Bool
    dq_rule: Coded
    mql_rule: Coded
    playbook_hash: Coded

    def __len__(self) -> int:
        return len(self.ids)


def _plan(needed: frozenset[str] | None) -> tuple[list[str], bool, bool, list[str]]:
    """Which lead columns, whether the e-mail and custom fields, which account columns to read."""
    if needed is None:
        return list(_LEAD_COLUMNS), True, True, list(_ACCOUNT_COLUMNS)
    lead_cols: set[str] = set()
    email = custom = False
    account_cols: set[str] = set()
    for name in needed:
        parts = name.split(".")
        if parts[0] == "lead":
            if parts[1] in {"email", "domain"}:
                email = True
            elif parts[1] == "name":
                lead_cols |= {"first_name", "last_name"}
            elif parts[1] == "custom":
                custom = True
            else:
                lead_cols.add(parts[1])
        else:
            account_cols.add(parts[1])
    return sorted(lead_cols), email, custom, sorted(account_cols)


#: The stored judgement of a lead, read for every lead; the profile columns follow.
_STORED = (
    "id",
    "stage",
    "level",
    "level_rule",
    "fit_score",
    "engagement_score",
    "total_score",
    "fit_passed",
    "dq_rule",
    "mql_rule",
    "playbook_hash",
)
_TEXT_STORED = ("stage", "level_rule", "dq_rule", "mql_rule", "playbook_hash")
_STORED_TYPES = [
    pa.string() if name in _TEXT_STORED else pa.int64() if name in {"id", "level"} else pa.float64() for name in _STORED
]
_STORED_TYPES[_STORED.index("fit_passed")] = pa.bool_()


def _accounts(tx: StoreTx, account_cols: list[str]) -> dict[int, Account]:
    cursor = raw_connection(tx).cursor()
    cursor.execute(queries.all_accounts(account_cols))
    accounts: dict[int, Account] = {}
    while rows := cursor.fetchmany(_FETCH):
        for row in rows:
            values = dict(zip(account_cols, row[2:], strict=True)) if account_cols else {}
            values.pop("domain", None)
            accounts[row[0]] = Account(domain=row[1], **values)
    cursor.close()
    return accounts


def _lead_batches(tx: StoreTx, columns: list[str], types: list[pa.DataType]) -> Iterator[list[pa.Array]]:
    """The leads' ``columns`` (of Arrow ``types``) by ascending id, a batch of rows at a time, as
    Arrow arrays. SQLite: the driver's rows, ``_LEAD_FETCH`` at a time. PostgreSQL: ``COPY … TO
    STDOUT`` as CSV, parsed by Arrow as it streams in (no Python object per row)."""
    if tx.dialect == "postgresql":
        yield from copied_batches(tx, queries.copy_out(queries.all_leads(columns)), types)
        return
    types = [pa.int64() if pa.types.is_boolean(t) else t for t in types]  # SQLite's booleans: 0 / 1
    cursor = raw_connection(tx).cursor()
    try:
        cursor.execute(queries.all_leads(columns))
        while rows := cursor.fetchmany(_LEAD_FETCH):
            yield [pa.array(column, type=t) for column, t in zip(zip(*rows, strict=True), types, strict=True)]
            del rows
    finally:
        cursor.close()


def _numbers(values: pa.Array, dtype: type, null: Any = 0) -> np.ndarray:
    """A numeric column as NumPy, NULL as ``null``."""
    if pa.types.is_null(values.type):
        return np.full(len(values), null, dtype=dtype)
    if values.null_count:
        values = values.fill_null(null)
    return np.asarray(values.to_numpy(zero_copy_only=False), dtype=dtype)


def _domains(emails: pa.Array) -> pa.Array:
    """What follows the last ``@`` of each e-mail (:attr:`Lead.domain`); NULL stays NULL."""
    if pa.types.is_null(emails.type):
        return emails
    return pc.replace_substring_regex(emails.cast(pa.string()), pattern="^.*@", replacement="", max_replacements=1)


def _profile_codes(keys: list[Int], count: int) -> tuple[Int, Int]:
    """A profile per distinct combination of ``keys`` (codes of ``count`` rows, ``-1``: NULL),
    numbered in order of first appearance: the profile of each row and the first row of each."""
    combined = np.zeros(count, dtype=np.int64)
    span = 1
    for key in keys:
        width = int(key.max()) + 2 if count else 1
        if span * width >= 2**62:  # renumber what is combined so far to keep within int64
            distinct, combined = np.unique(combined, return_inverse=True)
            span = len(distinct)
        combined = combined * width + (key.astype(np.int64) + 1)
        span *= width
    _, first, inverse = np.unique(combined, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")  # by first appearance
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order), dtype=np.int64)
    return rank[inverse.reshape(-1)], first[order]


def read_leads(tx: StoreTx, needed: frozenset[str] | None) -> LeadTable:
    """All leads with the profile fields ``needed`` (``fields_read``; ``None``: all of them), read
    a batch at a time into arrays and dictionary codes (see :class:`LeadTable`)."""
    lead_cols, need_email, need_custom, account_cols = _plan(needed)
    exact_email = needed is None or "lead.email" in needed
    accounts_read = bool(account_cols) or needed is None
    accounts = _accounts(tx, account_cols) if accounts_read else {}
    profile_cols = [
        *(["email"] if need_email else []),
        *([queries.custom_as_text(tx.dialect)] if need_custom else []),
        *(["account_id"] if accounts_read else []),
        *lead_cols,
    ]
    text = {name: _EncodedColumn(pa.string()) for name in _TEXT_STORED}
    # the profile's columns: e-mail (or domain), custom, account id, lead columns
    keys = [_EncodedColumn(pa.int64() if name == "account_id" else pa.string()) for name in profile_cols]
    parts: dict[str, list[np.ndarray]] = {name: [] for name in _STORED if name not in _TEXT_STORED}
    types = [*_STORED_TYPES, *(pa.int64() if name == "account_id" else pa.string() for name in profile_cols)]
    for batch in _lead_batches(tx, [*_STORED, *profile_cols], types):
        stored = dict(zip(_STORED, batch, strict=False))
        parts["id"].append(_numbers(stored["id"], np.int64))
        parts["level"].append(_numbers(stored["level"], np.int64))
        for name in ("fit_score", "engagement_score", "total_score"):
            parts[name].append(_numbers(stored[name], np.float64))
        parts["fit_passed"].append(_numbers(stored["fit_passed"], np.bool_, False))
        for name, encoded in text.items():
            encoded.add(stored[name])
        for name, key, values in zip(profile_cols, keys, batch[len(_STORED) :], strict=True):
            key.add(_domains(values) if name == "email" and not exact_email else values)
    column = {name: _joined(chunks) for name, chunks in parts.items()}
    count = len(column["id"])
    key_codes = [key.codes() for key in keys]
    profile, firsts = _profile_codes([codes for codes, _ in key_codes], count)
    # each profile's values, those of its first lead
    firsts_of = [_EncodedColumn.values(dictionary, codes[firsts]) for codes, dictionary in key_codes]
    profiles: list[tuple[Lead, Account | None]] = []
    custom_col = queries.custom_as_text(tx.dialect)
    decoded: dict[str, dict[str, Any]] = {}
    for values in zip(*firsts_of, strict=True) if firsts_of else [()] * len(firsts):
        value = dict(zip(profile_cols, values, strict=True))
        mail, custom, account_id = value.get("email"), value.get(custom_col), value.get("account_id")
        if need_custom and custom is not None and custom not in decoded:
            decoded[custom] = json.loads(custom)
        lead = Lead(
            # the domain is all the playbook reads: a stand-in address with it (none without an e-mail)
            email=mail if exact_email or mail is None else f"x@{mail}" if need_email else "x@x",
            custom=decoded[custom] if need_custom and custom is not None else {},
            **{name: value[name] for name in lead_cols},
        )
        profiles.append((lead, accounts.get(account_id) if account_id is not None else None))

    def coded(name: str) -> Coded:
        codes, dictionary = text[name].codes()
        return Coded(codes, dictionary.to_pylist())

    return LeadTable(
        ids=column["id"],
        profile=profile,
        profiles=profiles,
        stage=coded("stage"),
        level=column["level"],
        level_rule=coded("level_rule"),
        fit=column["fit_score"].astype(np.float64),
        engagement=column["engagement_score"].astype(np.float64),
        total=column["total_score"].astype(np.float64),
        fit_passed=column["fit_passed"].astype(np.bool_),
        dq_rule=coded("dq_rule"),
        mql_rule=coded("mql_rule"),
        playbook_hash=coded("playbook_hash"),
    )


def _joined(chunks: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int64)


def read_campaigns(tx: StoreTx) -> dict[int, Campaign]:
    cursor = raw_connection(tx).cursor()
    cursor.execute(queries.ALL_CAMPAIGNS)
    return {row[0]: Campaign(row[1], row[2], row[3], row[4]) for row in cursor.fetchall()}


def read_activities(tx: StoreTx, ids: Int, signatures: Signatures, campaigns: dict[int, Campaign]) -> ActivityColumns:
    """The activities of the leads ``ids[0] … ids[-1]`` (ascending) as columns, by (lead, time)."""
    if not len(ids):
        empty = np.zeros(0, dtype=np.int64)
        return ActivityColumns(empty, empty, empty)
    # PostgreSQL: a server-side cursor, so the driver holds one batch of rows, not the chunk
    pg = tx.dialect == "postgresql"
    cursor = raw_connection(tx).cursor(name="rescore_activities") if pg else raw_connection(tx).cursor()
    cursor.execute(queries.activity_columns(tx.dialect), (int(ids[0]), int(ids[-1])))
    index = signatures._index
    parts: list[tuple[Int, Int, Int]] = []
    while rows := cursor.fetchmany(_FETCH):  # a batch at a time: driver rows never pile up
        codes = np.empty(len(rows), dtype=np.int64)
        for i, row in enumerate(rows):
            identity = row[2:]
            found = index.get(identity)
            if found is None:
                campaign = campaigns.get(row[3]) if row[3] is not None else None
                found = signatures.code(row[2], campaign, row[4], json.loads(row[5]) if row[5] else {}, identity)
            codes[i] = found
        lead_ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
        times = np.fromiter((row[1] for row in rows), dtype=np.int64, count=len(rows))
        parts.append((lead_ids, times, codes))
    if not parts:
        cursor.close()
        empty = np.zeros(0, dtype=np.int64)
        return ActivityColumns(empty, empty, empty)
    cursor.close()
    lead_ids, times, codes = (np.concatenate(column) for column in zip(*parts, strict=True))
    return ActivityColumns(np.searchsorted(ids, lead_ids), times, codes)


@dataclass(frozen=True, slots=True)
class ScoreColumns:
    """New scores of the leads ``ids``, a column each (``None`` where nothing is stored)."""

    ids: list[int]
    fit: list[float]
    engagement: list[float]
    total: list[float]
    level: list[int | None]
    level_rule: list[str | None]
    fit_passed: list[bool]
    dq_rule: list[str | None]
    dq_reason: list[str | None]

    def __len__(self) -> int:
        return len(self.ids)


#: The columns of ``rescore_scores`` (``queries.CREATE_SCORES_TABLE``) as Arrow types.
_SCORE_TYPES = (
    pa.int64(),
    pa.float64(),
    pa.float64(),
    pa.float64(),
    pa.int64(),
    pa.string(),
    pa.bool_(),
    pa.string(),
    pa.string(),
)
_WRITE_ROWS = 50_000


def write_scores(tx: StoreTx, scores: ScoreColumns, playbook_hash: str, now: datetime) -> None:
    """Store new scores, level, fit gate and disqualification of many leads at once."""
    if not len(scores):
        return
    raw = raw_connection(tx)
    cursor = raw.cursor()
    s = scores
    count = len(s)
    # the values written, in the order of the scores' columns in both statements
    written: tuple[list[Any], ...] = (
        s.fit,
        s.engagement,
        s.total,
        s.level,
        s.level_rule,
        s.fit_passed,
        s.dq_rule,
        s.dq_reason,
    )
    if tx.dialect == "postgresql":
        cursor.execute(queries.CREATE_SCORES_TABLE)
        columns: tuple[list[Any], ...] = (s.ids, *written)
        with cursor.copy(queries.COPY_SCORES_CSV) as copy:
            for lo in range(0, count, _WRITE_ROWS):  # as CSV written by Arrow: no Python call per row
                part = pa.table(
                    [
                        pa.array(column[lo : lo + _WRITE_ROWS], type=t)
                        for column, t in zip(columns, _SCORE_TYPES, strict=True)
                    ],
                    names=[f"c{i}" for i in range(len(columns))],
                )
                out = io.BytesIO()
                pa_csv.write_csv(part, out, pa_csv.WriteOptions(include_header=False))
                copy.write(out.getbuffer())
        cursor.execute(queries.UPDATE_FROM_SCORES, (playbook_hash, now))
        cursor.execute(queries.DROP_SCORES_TABLE)
        return
    cursor.executemany(
        queries.UPDATE_SCORES,
        zip(
            *written,
            [playbook_hash] * count,
            [sqlite_time(now)] * count,
            s.ids,
            strict=True,
        ),
    )
