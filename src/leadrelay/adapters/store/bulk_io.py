"""Reading and writing every lead at once for the bulk path, through the raw database driver.

Rows are read with plain SQL (no ORM objects): leads with only the profile fields the playbook
reads, activities a chunk of leads at a time as columns (lead row, time in microseconds,
signature). Scores are written back with ``executemany`` on SQLite and ``COPY`` into a temporary
table plus one ``UPDATE … FROM`` on PostgreSQL. Everything runs on the caller's connection, in
the caller's transaction.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import numpy as np

from leadrelay.adapters.store import queries
from leadrelay.adapters.store.sql_store import StoreTx
from leadrelay.adapters.store.times import sqlite_time
from leadrelay.bulk.engine import ActivityColumns, Bool, Float, Int, Signatures
from leadrelay.domain.model import LEAD_PROFILE_FIELDS, Account, Campaign, Lead

_LEAD_COLUMNS = (*LEAD_PROFILE_FIELDS, "external_id")
_ACCOUNT_COLUMNS = tuple(f.name for f in fields(Account))
_FETCH = 50_000


@dataclass(slots=True)
class LeadTable:
    """Every lead, by ascending id: its profile (index into ``profiles``) and what is stored now."""

    ids: Int
    profile: Int
    profiles: list[tuple[Lead, Account | None]]
    emails: list[str] | None
    stage: list[str]
    level: Int  # 0: no level
    level_rule: list[str | None]
    fit: Float
    engagement: Float
    total: Float
    fit_passed: Bool
    dq_rule: list[str | None]
    mql_rule: list[str | None]
    playbook_hash: list[str | None]

    def __len__(self) -> int:
        return len(self.ids)


def _raw(tx: StoreTx) -> Any:
    return tx.connection.connection.driver_connection


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


def read_leads(tx: StoreTx, needed: frozenset[str] | None) -> LeadTable:
    """All leads with the profile fields ``needed`` (``fields_read``; ``None``: all of them)."""
    lead_cols, need_email, need_custom, account_cols = _plan(needed)
    exact_email = needed is None or "lead.email" in needed
    raw = _raw(tx)
    accounts: dict[int, Account] = {}
    if account_cols or needed is None:
        cursor = raw.cursor()
        cursor.execute(queries.all_accounts(account_cols))
        for row in cursor.fetchall():
            values = dict(zip(account_cols, row[2:], strict=True)) if account_cols else {}
            values.pop("domain", None)
            accounts[row[0]] = Account(domain=row[1], **values)
    custom_sql = queries.custom_as_text(tx.dialect) if need_custom else "NULL"
    columns = [
        "id",
        "email",
        custom_sql,
        "account_id",
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
        *lead_cols,
    ]
    cursor = raw.cursor()
    cursor.execute(queries.all_leads(columns))
    rows = cursor.fetchall()
    count = len(rows)
    cols: list[tuple[Any, ...]] = list(zip(*rows, strict=True)) if rows else [()] * len(columns)
    del rows
    emails: list[str] = list(cols[1])
    if exact_email:
        mail_keys: Sequence[Any] = emails
    elif need_email:
        mail_keys = [email.rsplit("@", 1)[1] if email else None for email in emails]
    else:
        mail_keys = [None] * count
    accounts_read = bool(account_cols) or needed is None
    key_columns = [mail_keys, cols[2], cols[3] if accounts_read else [None] * count, *cols[14:]]
    # a profile per distinct key (in order of first appearance); its objects once per profile
    index: dict[tuple[Any, ...], int] = {}
    profile = np.fromiter(
        (index.setdefault(key, len(index)) for key in zip(*key_columns, strict=True)), dtype=np.int64, count=count
    )
    firsts = np.unique(profile, return_index=True)[1] if count else np.zeros(0, dtype=np.int64)
    profiles: list[tuple[Lead, Account | None]] = []
    for row in firsts.tolist():
        email, custom, account_id = emails[row], cols[2][row], cols[3][row]
        mail_key = mail_keys[row]
        lead = Lead(
            email=email if exact_email else f"x@{mail_key}" if need_email else "x@x",
            custom=(json.loads(custom) if isinstance(custom, str) else custom or {}) if need_custom else {},
            **{name: cols[14 + k][row] for k, name in enumerate(lead_cols)},
        )
        profiles.append((lead, accounts.get(account_id) if account_id is not None else None))
    return LeadTable(
        ids=np.array(cols[0], dtype=np.int64),
        profile=profile,
        profiles=profiles,
        emails=emails,
        stage=list(cols[4]),
        level=np.fromiter((v or 0 for v in cols[5]), dtype=np.int64, count=count),
        level_rule=list(cols[6]),
        fit=np.array(cols[7], dtype=np.float64),
        engagement=np.array(cols[8], dtype=np.float64),
        total=np.array(cols[9], dtype=np.float64),
        fit_passed=np.array(cols[10], dtype=np.bool_),
        dq_rule=list(cols[11]),
        mql_rule=list(cols[12]),
        playbook_hash=list(cols[13]),
    )


def read_campaigns(tx: StoreTx) -> dict[int, Campaign]:
    cursor = _raw(tx).cursor()
    cursor.execute(queries.ALL_CAMPAIGNS)
    return {row[0]: Campaign(row[1], row[2], row[3], row[4]) for row in cursor.fetchall()}


def read_activities(tx: StoreTx, ids: Int, signatures: Signatures, campaigns: dict[int, Campaign]) -> ActivityColumns:
    """The activities of the leads ``ids[0] … ids[-1]`` (ascending) as columns, by (lead, time)."""
    if not len(ids):
        empty = np.zeros(0, dtype=np.int64)
        return ActivityColumns(empty, empty, empty)
    # PostgreSQL: a server-side cursor, so the driver holds one batch of rows, not the chunk
    pg = tx.dialect == "postgresql"
    cursor = _raw(tx).cursor(name="rescore_activities") if pg else _raw(tx).cursor()
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


def write_scores(tx: StoreTx, scores: ScoreColumns, playbook_hash: str, now: datetime) -> None:
    """Store new scores, level, fit gate and disqualification of many leads at once."""
    if not len(scores):
        return
    raw = _raw(tx)
    cursor = raw.cursor()
    s = scores
    if tx.dialect == "postgresql":
        cursor.execute(queries.CREATE_SCORES_TABLE)
        with cursor.copy(queries.COPY_SCORES) as copy:
            columns = (s.ids, s.fit, s.engagement, s.total, s.level, s.level_rule, s.fit_passed, s.dq_rule, s.dq_reason)
            for row in zip(*columns, strict=True):
                copy.write_row(row)
        cursor.execute(queries.UPDATE_FROM_SCORES, (playbook_hash, now))
        cursor.execute(queries.DROP_SCORES_TABLE)
        return
    count = len(s)
    cursor.executemany(
        queries.UPDATE_SCORES,
        zip(
            s.fit,
            s.engagement,
            s.total,
            s.level,
            s.level_rule,
            s.fit_passed,
            s.dq_rule,
            s.dq_reason,
            [playbook_hash] * count,
            [sqlite_time(now)] * count,
            s.ids,
            strict=True,
        ),
    )
