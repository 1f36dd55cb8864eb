"""Reading and writing the engine's facts with SQLAlchemy Core, a batch at a time.

:class:`SqlStore` opens transactions; a :class:`StoreTx` does the reads and writes of one
unit of work on one connection, so a batch lands whole or not at all.
"""

from __future__ import annotations

import json
import logging
import random
import sqlite3
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from leadrelay.adapters.store import campaign_reach, queries, summaries
from leadrelay.adapters.store.schema import create_db_engine, migrate
from leadrelay.adapters.store.tables import (
    UtcDateTime,
    account_aliases,
    account_changes,
    account_domains,
    accounts,
    campaigns,
    import_runs,
    lead_notes,
    lead_touches,
    leads,
    opportunity_amounts,
    outcomes,
    playbook_activations,
    playbooks,
    rep_status,
    routing_decisions,
    settings,
    transition_corrections,
    transitions,
)
from leadrelay.adapters.store.times import read_time, sqlite_time, stored_time
from leadrelay.adapters.store.writer_queue import queue_for
from leadrelay.domain.identity import key_email, key_external_id, lead_key
from leadrelay.domain.lifecycle import AWAITING_ANSWER, Stage
from leadrelay.domain.model import ACCOUNT_PROFILE_FIELDS, LEAD_PROFILE_FIELDS, Account, Activity, Campaign, Lead

_CHUNK = 500  # ids per IN (...) list: well under SQLite's and PostgreSQL's parameter limits

_LEAD_TIMES = frozenset(
    {"created_at", "updated_at", "stage_at", "anchor_at", "mql_at", "last_activity_at", "scored_at"}
)
_STATE_COLUMNS = (
    "account_id",
    "created_at",
    "stage",
    "stage_at",
    "anchor_stage",
    "anchor_at",
    "anchor_check",
    "mql_rule",
    "mql_at",
    "mql_product",
    "priority",
    "fit_passed",
    "last_activity_at",
)
assert _STATE_COLUMNS[-1] == "last_activity_at" and len(_STATE_COLUMNS) == 13  # lead_states unpacks them
_STAGE_OF = {stage.value: stage for stage in Stage}

#: The setting that says which accounts changed lately (see :meth:`StoreTx.note_accounts_changed`).
ACCOUNTS_VERSION = "accounts_version"
_VERSION_LOG = 64  # changes kept in it
_VERSION_IDS = 2000  # accounts named in one change at most; more: "every account"
#: One statement: the accounts' change log and the largest ids of the account tables.
_ACCOUNT_STATE = sa.select(
    sa.select(settings.c.value).where(settings.c.key == ACCOUNTS_VERSION).scalar_subquery(),
    sa.select(sa.func.max(accounts.c.id)).scalar_subquery(),
    sa.select(sa.func.max(account_domains.c.id)).scalar_subquery(),
    sa.select(sa.func.max(account_aliases.c.id)).scalar_subquery(),
    sa.select(sa.func.max(account_changes.c.id)).scalar_subquery(),
)


@dataclass(frozen=True, slots=True)
class AccountChanges:
    """The accounts' change log as one transaction reads it.

    ``epoch`` names the log (a new database, a new log); ``seq`` counts the changes written to it;
    ``log`` holds the last ones as (seq, account ids or None: every account). ``tops``: the largest
    ids of accounts, account_domains and account_aliases (rows added by any path show there);
    ``last_change``: the largest id of account_changes."""

    epoch: str | None
    seq: int
    log: tuple[tuple[int, tuple[int, ...] | None], ...]
    tops: tuple[int, int, int]
    last_change: int

    def since(self, seq: int) -> set[int] | None:
        """The accounts changed after change ``seq``; None when the log cannot tell (too old, or
        a change of every account)."""
        if seq == self.seq:
            return set()
        later = [ids for number, ids in self.log if number > seq]
        if seq > self.seq or not self.log or self.log[0][0] > seq + 1 or any(ids is None for ids in later):
            return None
        return {i for ids in later if ids is not None for i in ids}


#: From this many rows on, PostgreSQL writes go by COPY (see :meth:`StoreTx._copies`).
COPY_MIN_ROWS = 200

_TRANSITION_COLUMNS = (
    "lead_id",
    "occurred_at",
    "recorded_at",
    "from_stage",
    "to_stage",
    "trigger",
    "actor",
    "rule_id",
    "reason",
    "derived",
    "level",
    "score",
    "product",
    "priority",
    "activity_key",
    "playbook_hash",
)
_ACCOUNT_PROFILE = ACCOUNT_PROFILE_FIELDS


# Statements of the single-lead calls (a touch, an SLA timer, an evaluation) built once with bound
# parameters: SQLAlchemy then neither builds them again nor walks them for a cache key each time.
_INSERT_TOUCH = lead_touches.insert().returning(lead_touches.c.id)
_TOUCH_AT = sa.bindparam("at", type_=UtcDateTime)
_TOUCHED_AT = (
    leads.update()
    .where(leads.c.id == sa.bindparam("lead"))
    .values(
        last_touch_at=sa.case(
            (sa.or_(leads.c.last_touch_at.is_(None), leads.c.last_touch_at < _TOUCH_AT), _TOUCH_AT),
            else_=leads.c.last_touch_at,
        ),
        updated_at=sa.bindparam("now", type_=UtcDateTime),
    )
)
_TOUCHED_SINCE = (
    sa.select(lead_touches.c.lead_id)
    .distinct()
    .where(
        lead_touches.c.occurred_at >= sa.bindparam("since", type_=UtcDateTime),
        lead_touches.c.lead_id.in_(sa.bindparam("ids", expanding=True)),
    )
)
_TOUCHED_SINCE_ASSIGNED = (
    sa.select(lead_touches.c.lead_id)
    .distinct()
    .join(leads, leads.c.id == lead_touches.c.lead_id)
    .where(
        leads.c.owner_rep.is_not(None),
        lead_touches.c.occurred_at >= leads.c.assigned_at,
        lead_touches.c.lead_id.in_(sa.bindparam("ids", expanding=True)),
        leads.c.stage.in_(sa.bindparam("stages", expanding=True)),
    )
)
_AWAITING_ANSWER = sorted(s.value for s in AWAITING_ANSWER)
_ACCOUNT_IDS = sa.select(accounts.c.domain, accounts.c.id).where(
    accounts.c.domain.in_(sa.bindparam("domains", expanding=True))
)
_ADVISORY_XACT_LOCK = sa.text(queries.ADVISORY_XACT_LOCK)
_BUMP_COUNTER = sa.text(queries.BUMP_COUNTER)


def _first(row: tuple[Any, ...]) -> Any:
    return row[0]


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass(frozen=True, slots=True)
class LeadState:
    """A stored lead: its profile and where it stands."""

    id: int
    lead: Lead
    account_id: int | None
    created_at: datetime
    stage: Stage
    stage_at: datetime
    anchor_stage: Stage
    anchor_at: datetime | None
    anchor_check: bool
    mql_rule: str | None
    mql_at: datetime | None
    mql_product: str | None
    priority: bool
    fit_passed: bool
    last_activity_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class RoutingLead:
    """A lead as routing in sets reads it: profile, account, where it stands, owner and scores."""

    id: int
    lead: Lead
    account_id: int | None
    stage: Stage
    mql_rule: str | None
    priority: bool
    qualified_at: datetime  # its MQL time, or when it entered its stage
    owner_rep: str | None
    owner_department: str | None
    scores: dict[str, float]  # fit, engagement, total, level


@dataclass(frozen=True, slots=True)
class StoredMove:
    id: int
    trigger: str
    from_stage: str
    to_stage: str
    occurred_at: datetime
    rule_id: str | None
    score: float | None
    playbook_hash: str | None


@dataclass(frozen=True, slots=True)
class StageFacts:
    """Where a lead stands and when it last showed life: what the inactivity rule reads."""

    id: int
    stage: Stage
    stage_at: datetime
    last_activity_at: datetime | None  # the later of its last activity and its last touch by sales


def _later(first: datetime | None, second: datetime | None) -> datetime | None:
    if first is None or second is None:
        return first or second
    return max(first, second)


def account_from_row(row: Any) -> Account:
    return Account(
        domain=row.domain,
        name=row.name,
        industry=row.industry,
        employees=row.employees,
        country=row.country,
        region=row.region,
        prefecture=row.prefecture,
        tier=row.tier,
        owner=row.owner,
        reading=row.reading,
        phone=row.phone,
        postal_code=row.postal_code,
        website=row.website,
    )


class StoreTx:
    """One unit of work on one connection."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.dialect = connection.dialect.name
        #: This transaction wrote accounts (what it reads of them is not yet committed).
        self.accounts_written = False
        #: The leads whose facts this transaction changed, per summary (``summaries``): their summary
        #: rows are derived again just before it commits (:meth:`settle`).
        self.stale: dict[str, set[int]] = {kind: set() for kind in summaries.KINDS}
        #: The activities this transaction stored (lists of rows): those of a touch type change their
        #: lead's assignments (which types is read once, when it settles).
        self._activities_in: list[list[dict[str, Any]]] = []
        #: The touch types the assignments summary is derived with, read once per transaction.
        self._touch_types: tuple[str, ...] | bool | None = False  # False: not read yet
        #: The campaign reach summary's upkeep: the campaign days of the leads given activities.
        self.reach = campaign_reach.Upkeep()
        #: The zone the campaign reach summary's days are local to, read once per transaction.
        self._reach_zone: str | bool | None = False  # False: not read yet

    def summary_touch_types(self) -> tuple[str, ...] | None:
        """The touch types the assignments summary is derived with (``summaries.TOUCH_TYPES``), as
        this transaction read them first (or set them: :meth:`set_summary_touch_types`)."""
        if self._touch_types is False:
            self._touch_types = summaries.recorded_touch_types(self)
        return self._touch_types  # type: ignore[return-value]

    def set_summary_touch_types(self, types: tuple[str, ...]) -> None:
        self.set_setting(summaries.TOUCH_TYPES, json.dumps(list(types)))
        self._touch_types = types

    def summary_campaign_zone(self) -> str | None:
        """The zone the campaign reach summary's days are local to (``campaign_reach.ZONE``; None:
        none recorded, the summary is not kept), as this transaction read it first or set it."""
        if self._reach_zone is False:
            self._reach_zone = campaign_reach.recorded_zone(self)
        return self._reach_zone  # type: ignore[return-value]

    def set_summary_campaign_zone(self, zone: str) -> None:
        self.set_setting(campaign_reach.ZONE, zone)
        self._reach_zone = zone

    def changed(self, kinds: Iterable[str], lead_ids: Iterable[int]) -> None:
        """Record that the facts of ``lead_ids`` that the ``kinds`` summaries derive from changed."""
        ids = set(lead_ids)
        for kind in kinds:
            self.stale[kind] |= ids

    def _moved(self, moves: Iterable[tuple[int, str, str]]) -> None:
        """Moves of these leads were written or removed (``(lead_id, from_stage, to_stage)``)."""
        for kind, ids in summaries.touched_by_moves(moves).items():
            self.stale[kind] |= ids

    def settle(self) -> None:
        """Bring the summary rows of the leads this transaction changed up to date (call it last,
        just before committing; the unit of work's context manager does)."""
        stale = self.stale
        if self._activities_in:
            kinds = set(self.summary_touch_types() or ())
            if kinds:
                stale[summaries.ASSIGNMENTS].update(
                    r["lead_id"] for rows in self._activities_in for r in rows if r["type"] in kinds
                )
            stale[summaries.CREDITS] |= summaries.credited_again(self, self._activities_in)
            self._activities_in.clear()
        self.reach.settle(self)
        for kind, ids in self.stale.items():
            if ids:
                summaries.refresh(self, kind, ids)
                ids.clear()

    # The hot paths of ingest (activities in, histories out, lead rows written back) talk to the
    # driver directly: the same SQL on both databases, values converted once here instead of
    # through SQLAlchemy's per-value type processing.

    def _sql(self, text: str) -> str:
        return text.replace("?", "%s") if self.dialect == "postgresql" else text

    def _time(self, value: datetime | None) -> Any:
        if self.dialect == "sqlite":
            return sqlite_time(value)
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        return value

    def _json_param(self) -> str:
        return queries.json_param(self.dialect)

    def _cursor(self) -> Any:
        """A driver cursor inside this unit of work's transaction."""
        return self.connection.connection.cursor()

    def _raw_many(self, text: str, rows: Sequence[tuple[Any, ...]]) -> int:
        """Run ``text`` for each of ``rows``; the rows it changed (both drivers sum them)."""
        if not rows:
            return 0
        cursor = self._cursor()
        try:
            if len(rows) == 1:  # one statement: skip the driver's batching (pipeline) set-up
                cursor.execute(self._sql(text), rows[0])
            else:
                cursor.executemany(self._sql(text), rows)
            return int(cursor.rowcount)
        finally:
            cursor.close()

    def _copies(self, rows: Sequence[tuple[Any, ...]]) -> bool:
        """Whether rows this many go by COPY (PostgreSQL): for a few, one ``executemany`` costs less
        than the COPY's set-up."""
        return self.dialect == "postgresql" and len(rows) >= COPY_MIN_ROWS

    def _copy(self, text: str, rows: Sequence[tuple[Any, ...]]) -> None:
        """PostgreSQL: ``COPY … FROM STDIN`` of ``rows``, in this unit of work's transaction."""
        cursor = self._cursor()
        try:
            with cursor.copy(text) as copy:
                for row in rows:
                    copy.write_row(row)
        finally:
            cursor.close()

    def _copy_through(self, create: str, copy: str, rows: Sequence[tuple[Any, ...]], insert: str, empty: str) -> int:
        """PostgreSQL: COPY ``rows`` into a staging table (``create`` makes it once per session;
        it empties at commit), then move them on with one ``insert`` (which may skip conflicts);
        the rows it inserted."""
        cursor = self._cursor()
        try:
            cursor.execute(create)
            cursor.execute(empty)  # an earlier call in this transaction may have left rows
            self._copy(copy, rows)
            cursor.execute(insert)
            inserted = int(cursor.rowcount)
            cursor.execute(empty)
            return inserted
        finally:
            cursor.close()

    def _raw_rows(self, text: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        cursor = self._cursor()
        try:
            cursor.execute(self._sql(text), tuple(params))
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def _json_text(self, column: str) -> str:
        """Select a JSON column as text, so equal documents are parsed once per batch."""
        return queries.json_text(self.dialect, column)

    def execute(self, statement: Any, params: Any = None) -> sa.CursorResult[Any]:
        return self.connection.execute(statement, params) if params is not None else self.connection.execute(statement)

    def for_reports(self) -> None:
        """Plan this transaction's statements as the reports want them: on PostgreSQL without JIT
        compilation (the reports' statements are many short index seeks whose cost estimate passes
        ``jit_above_cost``; compiling them took longer than running them), with memory enough to sort
        their larger sets in memory (``queries.REPORTS_WORK_MEM``). SQLite: nothing."""
        if self.dialect == "postgresql":
            self.connection.exec_driver_sql(queries.REPORTS_NO_JIT)
            self.connection.exec_driver_sql(queries.REPORTS_WORK_MEM)

    def _insert_ignore(self, table: sa.Table, rows: list[dict[str, Any]], key: str | None) -> None:
        """Insert, skipping rows that clash on ``key`` (``None``: on any unique key)."""
        if not rows:
            return
        elements = [key] if key is not None else None
        if self.dialect == "postgresql":
            stmt: Any = postgresql.insert(table).on_conflict_do_nothing(index_elements=elements)
        elif self.dialect == "sqlite":
            stmt = sqlite.insert(table).on_conflict_do_nothing(index_elements=elements)
        else:  # pragma: no cover - only SQLite and PostgreSQL are supported
            stmt = sa.insert(table)
        self.connection.execute(stmt, rows)

    # --- settings and playbooks ---------------------------------------------------------

    def setting(self, key: str) -> str | None:
        rows = self._raw_rows(queries.SETTING, (key,))
        return str(rows[0][0]) if rows else None

    def setting_once(self, key: str, value: str) -> str:
        """The setting ``key``; stored as ``value`` first if it has none (two processes doing it at
        once keep one value: the first to commit)."""
        self._insert_ignore(settings, [{"key": key, "value": value}], "key")
        stored = self.setting(key)
        if stored is None:  # pragma: no cover - the row was just inserted or was there
            raise RuntimeError(f"setting {key} could not be stored")
        return stored

    def set_setting(self, key: str, value: str) -> None:
        if self.setting(key) is None:
            self._insert_ignore(settings, [{"key": key, "value": value}], "key")
        self.execute(settings.update().where(settings.c.key == key).values(value=value))

    def account_changes(self) -> AccountChanges:
        """The accounts' change log and the account tables' largest ids (one statement)."""
        row = self.execute(_ACCOUNT_STATE).one()
        value, top_account, top_domain, top_alias, last_change = tuple(row)
        tops = (top_account or 0, top_domain or 0, top_alias or 0)
        if value is None:
            return AccountChanges(None, 0, (), tops, last_change or 0)
        state = json.loads(value)
        log = tuple((int(n), None if ids is None else tuple(ids)) for n, ids in state["log"])
        return AccountChanges(state["epoch"], int(state["seq"]), log, tops, last_change or 0)

    def note_accounts_changed(self, ids: Iterable[int] | None) -> None:
        """Say in this transaction that these accounts changed (None: every account), so that the
        processes keeping matching's index of accounts in memory reload them. Every write of
        accounts, their domains or aliases calls this (``services.matching`` and the upserts here)."""
        changed = None if ids is None else sorted(set(ids))
        if changed is not None and not changed:
            return
        if changed is not None and len(changed) > _VERSION_IDS:
            changed = None
        self.accounts_written = True
        for _ in range(100):
            old = self.setting(ACCOUNTS_VERSION)
            if old is None:
                fresh = json.dumps({"epoch": uuid.uuid4().hex, "seq": 0, "log": []})
                self._insert_ignore(settings, [{"key": ACCOUNTS_VERSION, "value": fresh}], "key")
                continue
            state = json.loads(old)
            seq = int(state["seq"]) + 1
            log = [*state["log"], [seq, changed]][-_VERSION_LOG:]
            new = json.dumps({"epoch": state["epoch"], "seq": seq, "log": log})
            # only over the value read: two writers at once each add their change (none is lost)
            query = settings.update().where(settings.c.key == ACCOUNTS_VERSION, settings.c.value == old)
            if self.execute(query.values(value=new)).rowcount == 1:
                return
        raise RuntimeError("the accounts' change log could not be written")  # pragma: no cover

    def save_playbook(
        self, digest: str, playbook_id: str, version: str, name: str, source: str, text: str, now: datetime
    ) -> None:
        self._insert_ignore(
            playbooks,
            [
                {
                    "hash": digest,
                    "playbook_id": playbook_id,
                    "version": version,
                    "name": name,
                    "source": source,
                    "text": text,
                    "loaded_at": now,
                }
            ],
            "hash",
        )

    def playbook_row(self, digest: str) -> Any:
        return self.execute(sa.select(playbooks).where(playbooks.c.hash == digest)).one_or_none()

    def record_activation(self, digest: str, actor: str, now: datetime) -> None:
        self.execute(playbook_activations.insert().values(hash=digest, activated_at=now, activated_by=actor))

    def activations(self) -> list[Any]:
        """Every activation of a playbook, oldest first."""
        query = sa.select(playbook_activations).order_by(playbook_activations.c.activated_at, playbook_activations.c.id)
        return list(self.execute(query))

    def playbook_rows(self) -> list[Any]:
        """Every stored playbook (without its text), first loaded first."""
        columns = [c for c in playbooks.c if c.name != "text"]
        return list(self.execute(sa.select(*columns).order_by(playbooks.c.loaded_at, playbooks.c.hash)))

    # --- accounts and campaigns ---------------------------------------------------------

    def account_ids(self, domains: Iterable[str]) -> dict[str, int]:
        wanted = sorted(set(domains))
        found: dict[str, int] = {}
        for part in _chunks(wanted):
            for row in self.execute(_ACCOUNT_IDS, {"domains": list(part)}):
                found[row.domain] = row.id
        return found

    def upsert_accounts(self, items: Sequence[Account], now: datetime) -> dict[str, int]:
        """Create missing accounts; fill in the fields the new records carry. Returns domain → id."""
        return self.upsert_accounts_changed(items, now)[0]

    def upsert_accounts_changed(self, items: Sequence[Account], now: datetime) -> tuple[dict[str, int], set[str]]:
        """Like :meth:`upsert_accounts`, and which domains were created or really changed."""
        latest: dict[str, Account] = {}
        for item in items:
            latest[item.domain] = item
        known = self.account_ids(latest)
        fresh = [
            {"domain": d, **{f: getattr(a, f) for f in _ACCOUNT_PROFILE}, "created_at": now, "updated_at": now}
            for d, a in latest.items()
            if d not in known
        ]
        self._insert_ignore(accounts, fresh, "domain")
        changed = {row["domain"] for row in fresh}
        stored = self.accounts_by_id(known.values())
        for domain, account in latest.items():
            if domain not in known:
                continue
            current = stored[known[domain]]
            values = {
                f: getattr(account, f)
                for f in _ACCOUNT_PROFILE
                if getattr(account, f) is not None and getattr(account, f) != getattr(current, f)
            }
            if values:
                changed.add(domain)
                self.execute(accounts.update().where(accounts.c.domain == domain).values(**values, updated_at=now))
        ids = self.account_ids(latest)
        self.note_accounts_changed(ids[d] for d in changed if d in ids)
        return ids, changed

    def accounts_by_id(self, ids: Iterable[int]) -> dict[int, Account]:
        """Accounts by id, through the driver (PostgreSQL: one statement, the ids as an array)."""
        wanted = sorted(set(ids))
        out: dict[int, Account] = {}
        if not wanted:
            return out
        if self.dialect == "postgresql":
            parts: Iterable[list[tuple[Any, ...]]] = [self._raw_rows(queries.ACCOUNTS_OF_ARRAY, [wanted])]
        else:
            parts = (self._raw_rows(queries.accounts_by_id(len(p)), p) for p in _chunks(wanted))
        for rows in parts:
            for row in rows:
                out[row[0]] = Account(*row[1:])
        return out

    def upsert_campaigns(self, items: Sequence[Campaign], now: datetime) -> dict[str, int]:
        latest: dict[str, Campaign] = {}
        for item in items:
            previous = latest.get(item.code)
            if previous is None or any((item.name, item.channel, item.kind)):
                latest[item.code] = item
        known = self._campaign_ids(latest)
        fresh = [
            {"code": c.code, "name": c.name, "channel": c.channel, "kind": c.kind, "created_at": now}
            for code, c in latest.items()
            if code not in known
        ]
        self._insert_ignore(campaigns, fresh, "code")
        for code, campaign in latest.items():
            values = {f: getattr(campaign, f) for f in ("name", "channel", "kind") if getattr(campaign, f) is not None}
            if code in known and values:
                self.execute(campaigns.update().where(campaigns.c.code == code).values(**values))
        return self._campaign_ids(latest)

    def _campaign_ids(self, codes: Iterable[str]) -> dict[str, int]:
        wanted = sorted(set(codes))
        found: dict[str, int] = {}
        for part in _chunks(wanted):
            for code, id_ in self._raw_rows(queries.campaign_ids(len(part)), part):
                found[code] = id_
        return found

    # --- leads ----------------------------------------------------------------------------

    def lead_ids(self, keys: Iterable[str]) -> dict[str, int]:
        """Lead ids by key: an e-mail, or ``id:`` and an external id (see ``domain.identity.lead_key``)."""
        wanted = sorted(set(keys))
        found: dict[str, int] = {}
        emails = [k for k in wanted if key_email(k) is not None]
        for part in _chunks(emails):  # on the driver: the API's single-lead calls do this thousands of times
            for email, id_ in self._raw_rows(queries.lead_ids_by("email", len(part)), part):
                found[email] = id_
        external = [x for k in wanted if (x := key_external_id(k)) is not None]
        for part in _chunks(external):
            for external_id, id_ in self._raw_rows(queries.lead_ids_by("external_id", len(part)), part):
                found[lead_key(None, external_id)] = id_
        return found

    def insert_leads(self, rows: Sequence[tuple[Lead, int | None, datetime]]) -> None:
        """Insert new leads (lead, account id, created at); ones that exist already are left alone."""
        self._insert_ignore(
            leads,
            [
                {
                    "email": lead.email,
                    "external_id": lead.external_id,
                    **{f: getattr(lead, f) for f in LEAD_PROFILE_FIELDS},
                    "custom": dict(lead.custom),
                    "account_id": account_id,
                    "created_at": created,
                    "updated_at": created,
                    "stage": Stage.NEW.value,
                    "stage_at": created,
                    "anchor_stage": Stage.NEW.value,
                    "anchor_at": None,
                    "anchor_check": False,
                    "fit_score": 0.0,
                    "engagement_score": 0.0,
                    "total_score": 0.0,
                    "fit_passed": False,
                    "priority": False,
                    "recycled_count": 0,
                }
                for lead, account_id, created in rows
            ],
            None,  # any unique key: e-mail or external id
        )

    def lock_leads(self, ids: Iterable[int]) -> None:
        """Hold the leads' rows until this transaction ends (PostgreSQL; SQLite has one writer at a
        time anyway). Locked in id order, so two batches never wait on each other in a circle."""
        if self.dialect != "postgresql":
            return
        for part in _chunks(sorted(set(ids))):
            self._raw_rows(queries.lock_leads(len(part)), part)

    def update_profile(self, lead_id: int, values: Mapping[str, Any], now: datetime) -> None:
        self.execute(leads.update().where(leads.c.id == lead_id).values(**values, updated_at=now))

    def lead_states(self, ids: Iterable[int]) -> dict[int, LeadState]:
        wanted = sorted(set(ids))
        out: dict[int, LeadState] = {}
        names = ("id", "email", "external_id", *LEAD_PROFILE_FIELDS, "custom", *_STATE_COLUMNS)
        profile_end = 3 + len(LEAD_PROFILE_FIELDS)
        stage_of, loads = _STAGE_OF, json.loads
        for part in _chunks(wanted):
            rows = self._raw_rows(queries.lead_columns(self.dialect, names, len(part)), part)
            for row in rows:
                (
                    account_id,
                    created_at,
                    stage,
                    stage_at,
                    anchor_stage,
                    anchor_at,
                    anchor_check,
                    mql_rule,
                    mql_at,
                    mql_product,
                    priority,
                    fit_passed,
                    last_activity_at,
                ) = row[profile_end + 1 :]
                custom = row[profile_end]
                # positional, in the order of the dataclass: e-mail, profile fields, custom, external id
                lead = Lead(row[1], *row[3:profile_end], loads(custom) if custom and custom != "{}" else {}, row[2])  # type: ignore[call-arg]
                out[row[0]] = LeadState(
                    id=row[0],
                    lead=lead,
                    account_id=account_id,
                    created_at=stored_time(created_at),
                    stage=stage_of[stage],
                    stage_at=stored_time(stage_at),
                    anchor_stage=stage_of[anchor_stage],
                    anchor_at=read_time(anchor_at),
                    anchor_check=bool(anchor_check),
                    mql_rule=mql_rule,
                    mql_at=read_time(mql_at),
                    mql_product=mql_product,
                    priority=bool(priority),
                    fit_passed=bool(fit_passed),
                    last_activity_at=read_time(last_activity_at),
                )
        return out

    def stage_marks(self, ids: Iterable[int]) -> dict[int, tuple[Stage, datetime | None]]:
        """Each lead's stage and MQL time: what deciding whether sales hears of an activity needs,
        without the whole :meth:`lead_states`."""
        out: dict[int, tuple[Stage, datetime | None]] = {}
        for part in _chunks(sorted(set(ids))):
            for id_, stage, mql_at in self._raw_rows(
                queries.lead_columns(self.dialect, ("id", "stage", "mql_at"), len(part)), part
            ):
                out[id_] = (_STAGE_OF[stage], read_time(mql_at))
        return out

    def idle_leads(self, stages: Iterable[Stage], before: datetime, *, limit: int | None = None) -> list[StageFacts]:
        """Leads in ``stages`` that entered their stage, and were last active, before ``before``; by id.
        On PostgreSQL their rows are locked, passing over leads another transaction holds, so two
        workers never take the same lead."""
        last_seen = sa.func.coalesce(leads.c.last_activity_at, leads.c.stage_at)
        last_touch = sa.func.coalesce(leads.c.last_touch_at, leads.c.stage_at)
        query = (
            sa.select(leads.c.id, leads.c.stage, leads.c.stage_at, leads.c.last_activity_at, leads.c.last_touch_at)
            .where(
                leads.c.stage.in_([s.value for s in stages]),
                leads.c.stage_at < before,
                last_seen < before,
                last_touch < before,
            )
            .order_by(leads.c.id)
        )
        if limit is not None:
            query = query.limit(limit)
        if self.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return [
            StageFacts(row.id, Stage(row.stage), row.stage_at, _later(row.last_activity_at, row.last_touch_at))
            for row in self.execute(query)
        ]

    def lead_page(
        self,
        filters: Mapping[str, Any],
        visibility: Mapping[str, Any] | None,
        limit: int,
        sort: str = "updated",
        descending: bool = True,
    ) -> list[Any]:
        """One page of leads (:func:`queries.lead_page`): ``filters`` and ``visibility`` by the names
        of ``queries.LEAD_FILTERS`` and ``queries.LEAD_VISIBILITY`` with their values (``after``: the
        (updated_at, id) of the default order's cursor; ``after_key``: the (sort value, id) of another
        order's), in the order ``sort`` of ``queries.LEAD_SORTS``; each row has its ``sort_key``."""
        text = sa.text(
            queries.lead_page(list(filters), None if visibility is None else list(visibility), sort, descending)
        )
        params: dict[str, Any] = {**filters, **(visibility or {}), "limit": limit}
        if "after" in params:
            after_at, after_id = params.pop("after")
            params.update(after_at=after_at, after_id=after_id)
        if "after_key" in params:
            params["after_key"], params["after_id"] = params["after_key"]
        moments = ("updated_since", "after_at", *(("after_key",) if sort == "updated" else ()))
        binds = [sa.bindparam(name, type_=UtcDateTime) for name in moments if name in params]
        binds += [sa.bindparam(name, expanding=True) for name in ("stages", "visible_departments") if name in params]
        typed = text.bindparams(*binds).columns(
            sa.column("id"),
            sa.column("email"),
            sa.column("external_id"),
            sa.column("first_name"),
            sa.column("last_name"),
            sa.column("company_name"),
            sa.column("account_domain"),
            sa.column("account_name"),
            sa.column("stage"),
            sa.column("level"),
            sa.column("fit_score"),
            sa.column("engagement_score"),
            sa.column("total_score"),
            sa.column("owner_rep"),
            sa.column("owner_department"),
            sa.column("assigned_at", UtcDateTime),
            sa.column("last_activity_at", UtcDateTime),
            sa.column("last_touch_at", UtcDateTime),
            sa.column("created_at", UtcDateTime),
            sa.column("updated_at", UtcDateTime),
            sa.column("sort_key"),
        )
        return list(self.execute(typed, params))

    def lead_owner(self, lead_id: int) -> tuple[str | None, str | None]:
        """The lead's rep and department (who may see it)."""
        row = self.execute(sa.select(leads.c.owner_rep, leads.c.owner_department).where(leads.c.id == lead_id)).one()
        return row.owner_rep, row.owner_department

    # --- touches and notes ----------------------------------------------------------------

    def insert_touch(self, values: Mapping[str, Any], now: datetime) -> int:
        """A touch (``lead_touches`` columns); the lead's last touch and update time move with it."""
        touch_id: int = self.execute(_INSERT_TOUCH, {**values, "recorded_at": now}).scalar_one()
        self.changed((summaries.ASSIGNMENTS,), (values["lead_id"],))
        self.execute(_TOUCHED_AT, {"lead": values["lead_id"], "at": values["occurred_at"], "now": now})
        return touch_id

    def touches_of(self, lead_id: int) -> list[Any]:
        query = (
            sa.select(lead_touches)
            .where(lead_touches.c.lead_id == lead_id)
            .order_by(lead_touches.c.occurred_at, lead_touches.c.id)
        )
        return list(self.execute(query))

    def touched_leads(self, lead_ids: Sequence[int] | None, since: datetime | None) -> set[int]:
        """Leads with a touch at or after ``since`` (``None``: since each was assigned), of ``lead_ids``
        (``None``: of leads waiting for their rep's answer, MQL or Pre-SQL)."""
        if lead_ids is not None:  # asked once per SLA timer and after every sales answer: built once
            ids = sorted(set(lead_ids))
            if since is not None:
                return set(self.execute(_TOUCHED_SINCE, {"ids": ids, "since": since}).scalars())
            return set(self.execute(_TOUCHED_SINCE_ASSIGNED, {"ids": ids, "stages": _AWAITING_ANSWER}).scalars())
        query = sa.select(lead_touches.c.lead_id).distinct()
        if since is None:
            query = query.join(leads, leads.c.id == lead_touches.c.lead_id).where(
                leads.c.stage.in_(_AWAITING_ANSWER),
                leads.c.owner_rep.is_not(None),
                lead_touches.c.occurred_at >= leads.c.assigned_at,
            )
        else:
            query = query.where(lead_touches.c.occurred_at >= since)
        return set(self.execute(query).scalars())

    def insert_note(self, lead_id: int, text: str, actor: str, now: datetime) -> int:
        note_id: int = self.execute(
            lead_notes.insert()
            .values(lead_id=lead_id, text=text, actor=actor, created_at=now)
            .returning(lead_notes.c.id)
        ).scalar_one()
        self.execute(leads.update().where(leads.c.id == lead_id).values(updated_at=now))
        return note_id

    def notes_of(self, lead_id: int) -> list[Any]:
        query = (
            sa.select(lead_notes)
            .where(lead_notes.c.lead_id == lead_id)
            .order_by(lead_notes.c.created_at, lead_notes.c.id)
        )
        return list(self.execute(query))

    def notification_leads(self, ids: Iterable[int]) -> list[tuple[Any, ...]]:
        """Per lead: id, first and last name, e-mail, external id, title, level, total score, rep,
        department and company name (what a notification says about it)."""
        wanted = sorted(set(ids))
        out: list[tuple[Any, ...]] = []
        for part in _chunks(wanted):
            out.extend(self._raw_rows(queries.notification_leads(len(part)), part))
        return out

    def take_turns(self, lock: int, counter: str) -> None:
        """Wait for other transactions taking the same turn to end, and hold the turn until this one
        ends: PostgreSQL's advisory lock ``lock``; on SQLite, the write lock, taken by writing the
        counter row ``counter``."""
        if self.dialect == "postgresql":
            self.execute(_ADVISORY_XACT_LOCK, {"key": lock})
        else:
            self.execute(_BUMP_COUNTER, {"key": counter})

    def lead_row(self, email: str) -> Any:
        return self.execute(sa.select(leads).where(leads.c.email == email)).one_or_none()

    def update_leads(self, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        keys = [k for k in rows[0] if k != "id"]
        times = {k for k in keys if k in _LEAD_TIMES}
        time = self._time
        self._raw_many(
            queries.update_leads(keys),
            [tuple(time(row[k]) if k in times else row[k] for k in keys) + (row["id"],) for row in rows],
        )

    # --- activities -----------------------------------------------------------------------

    def existing_activity_keys(self, keys: Iterable[str]) -> set[str]:
        wanted = sorted(set(keys))
        found: set[str] = set()
        for part in _chunks(wanted):
            rows = self._raw_rows(queries.existing_activity_keys(len(part)), part)
            found.update(row[0] for row in rows)
        return found

    def insert_activities(self, rows: list[dict[str, Any]]) -> None:
        """Store activities; a key stored already is skipped. Many rows on PostgreSQL go by COPY."""
        self.reach.before(self, rows)  # their leads' campaign days as they are before the rows
        self._activities_in.append(rows)
        time, dumps = self._time, json.dumps
        values = [
            (
                r["key"],
                r["lead_id"],
                r["type"],
                time(r["occurred_at"]),
                time(r["recorded_at"]),
                r["campaign_id"],
                r["product"],
                dumps(r["properties"]) if r["properties"] else "{}",
                r["source_id"],
            )
            for r in rows
        ]
        if self._copies(values):
            inserted = self._copy_through(
                queries.CREATE_ACTIVITIES_IN,
                queries.COPY_ACTIVITIES_IN,
                values,
                queries.INSERT_FROM_ACTIVITIES_IN,
                queries.EMPTY_ACTIVITIES_IN,
            )
        else:
            inserted = self._raw_many(queries.insert_activities(self.dialect), values)
        self.reach.stored(self, rows, every=inserted == len(values))

    def activities_of(self, lead_ids: Iterable[int]) -> dict[int, list[Activity]]:
        wanted = sorted(set(lead_ids))
        out: dict[int, list[Activity]] = defaultdict(list)
        campaign_cache: dict[int, Campaign] = {}
        parsed: dict[str, dict[str, Any]] = {}  # activities share a few property documents
        for part in _chunks(wanted):
            rows = self._raw_rows(queries.activities_of(self.dialect, len(part)), part)
            for lead_id, key, type_, occurred_at, product, properties, campaign_id, *campaign_row in rows:
                campaign = None
                if campaign_id is not None:
                    campaign = campaign_cache.get(campaign_id)
                    if campaign is None:
                        campaign = Campaign(*campaign_row)
                        campaign_cache[campaign_id] = campaign
                moment = read_time(occurred_at)
                assert moment is not None
                props = parsed.get(properties)
                if props is None:
                    props = parsed[properties] = json.loads(properties) if properties else {}
                out[lead_id].append(Activity(key, type_, moment, campaign, product, props))
        return out

    def activities_by_key(self, keys: Iterable[str]) -> dict[str, tuple[int, Activity]]:
        """The stored activities with these keys, each with its lead id."""
        out: dict[str, tuple[int, Activity]] = {}
        for part in _chunks(sorted(set(keys))):
            rows = self._raw_rows(queries.activities_by_key(self.dialect, len(part)), part)
            for key, lead_id, type_, occurred_at, product, properties, code, *campaign_row in rows:
                moment = read_time(occurred_at)
                assert moment is not None
                campaign = Campaign(code, *campaign_row) if code is not None else None
                props = json.loads(properties) if properties else {}
                out[key] = (lead_id, Activity(key, type_, moment, campaign, product, props))
        return out

    # --- transitions ----------------------------------------------------------------------

    def derived_moves(self, lead_ids: Iterable[int]) -> dict[int, list[StoredMove]]:
        wanted = sorted(set(lead_ids))
        out: dict[int, list[StoredMove]] = defaultdict(list)
        for part in _chunks(wanted):
            rows = self._raw_rows(queries.derived_moves(len(part)), [*part, True])
            for lead_id, id_, trigger, from_stage, to_stage, occurred_at, rule_id, score, digest in rows:
                moment = read_time(occurred_at)
                assert moment is not None
                out[lead_id].append(StoredMove(id_, trigger, from_stage, to_stage, moment, rule_id, score, digest))
        return out

    def supersede_transitions(self, corrections: Mapping[int, str], now: datetime) -> None:
        """Replace derived moves (transition id → why): each row is copied to ``transition_corrections``
        with the time and the reason, then removed from the current history."""
        ids = sorted(corrections)
        for part in _chunks(ids):
            rows = self.execute(
                sa.select(
                    transitions.c.id,
                    transitions.c.lead_id,
                    transitions.c.occurred_at,
                    transitions.c.recorded_at,
                    transitions.c.from_stage,
                    transitions.c.to_stage,
                    transitions.c.trigger,
                    transitions.c.rule_id,
                    transitions.c.reason,
                    transitions.c.score,
                ).where(transitions.c.id.in_(part))
            ).all()
            if rows:
                self.execute(
                    transition_corrections.insert(),
                    [
                        {
                            "transition_id": row.id,
                            "lead_id": row.lead_id,
                            "occurred_at": row.occurred_at,
                            "recorded_at": row.recorded_at,
                            "from_stage": row.from_stage,
                            "to_stage": row.to_stage,
                            "trigger": row.trigger,
                            "rule_id": row.rule_id,
                            "reason": row.reason,
                            "score": row.score,
                            "corrected_at": now,
                            "correction": corrections[row.id],
                        }
                        for row in rows
                    ],
                )
            self._moved((row.lead_id, row.from_stage, row.to_stage) for row in rows)
            self.execute(transitions.delete().where(transitions.c.id.in_(part)))

    def dq_reason_and_level(self, lead_id: int) -> tuple[str | None, int | None]:
        row = self.execute(sa.select(leads.c.dq_reason, leads.c.level).where(leads.c.id == lead_id)).one()
        return row.dq_reason, row.level

    def corrections_of(self, lead_id: int) -> list[Any]:
        query = (
            sa.select(transition_corrections)
            .where(transition_corrections.c.lead_id == lead_id)
            .order_by(transition_corrections.c.corrected_at, transition_corrections.c.id)
        )
        return list(self.execute(query))

    def insert_transitions(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        self._moved((row["lead_id"], row["from_stage"], row["to_stage"]) for row in rows)
        time = self._time
        values = [
            tuple(time(row[c]) if c in ("occurred_at", "recorded_at") else row[c] for c in _TRANSITION_COLUMNS)
            for row in rows
        ]
        if self._copies(values):
            self._copy(queries.copy_rows("transitions", _TRANSITION_COLUMNS), values)
        else:
            self._raw_many(queries.insert_rows("transitions", _TRANSITION_COLUMNS), values)

    def history(self, lead_id: int) -> list[Any]:
        query = (
            sa.select(transitions)
            .where(transitions.c.lead_id == lead_id)
            .order_by(transitions.c.occurred_at, transitions.c.id)
        )
        return list(self.execute(query))

    # --- routing --------------------------------------------------------------------------

    def routing_facts(self, ids: Iterable[int]) -> dict[int, tuple[str | None, str | None, dict[str, float]]]:
        """Each lead's owner (rep, department) and stored scores (fit, engagement, total, level)."""
        wanted = sorted(set(ids))
        out: dict[int, tuple[str | None, str | None, dict[str, float]]] = {}
        for part in _chunks(wanted):
            rows = self._raw_rows(queries.routing_facts(len(part)), part)
            for id_, rep, department, fit, engagement, total, level in rows:
                scores = {"fit": fit, "engagement": engagement, "total": total, "level": float(level or 0)}
                out[id_] = (rep, department, scores)
        return out

    def routing_leads(self, ids: Iterable[int]) -> dict[int, RoutingLead]:
        """What :meth:`lead_states` and :meth:`routing_facts` give routing, in one read per chunk
        and without the times routing does not look at."""
        wanted = sorted(set(ids))
        out: dict[int, RoutingLead] = {}
        names = (
            "id",
            "email",
            "external_id",
            *LEAD_PROFILE_FIELDS,
            "custom",
            "account_id",
            "stage",
            "mql_rule",
            "priority",
            "mql_at",
            "stage_at",
            "owner_rep",
            "owner_department",
            "fit_score",
            "engagement_score",
            "total_score",
            "level",
        )
        profile_end = 3 + len(LEAD_PROFILE_FIELDS)
        stage_of, loads = _STAGE_OF, json.loads
        times: dict[Any, datetime] = {}  # a batch of MQLs shares many moments: read each once
        if self.dialect == "postgresql":  # one statement, the ids as an array
            parts: Iterable[list[tuple[Any, ...]]] = [self._raw_rows(queries.lead_columns_of_array(names), [wanted])]
        else:
            parts = (self._raw_rows(queries.lead_columns(self.dialect, names, len(p)), p) for p in _chunks(wanted))
        for rows in parts:
            for row in rows:
                (
                    custom,
                    account_id,
                    stage,
                    mql_rule,
                    priority,
                    mql_at,
                    stage_at,
                    rep,
                    department,
                    fit,
                    engagement,
                    total,
                    level,
                ) = row[profile_end:]
                when = mql_at if mql_at is not None else stage_at
                qualified_at = times.get(when)
                if qualified_at is None:
                    qualified_at = times[when] = stored_time(when)
                lead = Lead(row[1], *row[3:profile_end], loads(custom) if custom and custom != "{}" else {}, row[2])  # type: ignore[call-arg]
                scores = {"fit": fit, "engagement": engagement, "total": total, "level": float(level or 0)}
                out[row[0]] = RoutingLead(
                    row[0],
                    lead,
                    account_id,
                    stage_of[stage],
                    mql_rule,
                    bool(priority),
                    qualified_at,
                    rep,
                    department,
                    scores,
                )
        return out

    def pending_among(self, ids: Iterable[int]) -> list[int]:
        """Those of the leads that are MQLs without a rep."""
        wanted = sorted(set(ids))
        found: list[int] = []
        for part in _chunks(wanted):
            rows = self._raw_rows(queries.unassigned_in_stage(len(part)), [*part, Stage.MQL.value])
            found.extend(row[0] for row in rows)
        return sorted(found)

    def assign_owners(self, rows: Sequence[tuple[int, str | None, str]], now: datetime) -> None:
        """(lead id, rep or None for the department's queue, department). Written in the order of
        the ids (a lead given twice keeps its last owner): the rows come in routing order, and
        updating the table's pages in the order they are stored is 2–3× fewer page visits on
        SQLite than hopping between them."""
        stamp = self._time(now)
        ordered = sorted(rows, key=_first)  # stable: the last of a lead's rows is still written last
        self._raw_many(
            queries.ASSIGN_OWNER,
            [(rep, department, stamp, lead_id) for lead_id, rep, department in ordered],
        )

    @contextmanager
    def page_cache(self, mebibytes: int) -> Iterator[None]:
        """SQLite: a page cache of ``mebibytes`` for the statements inside (a bulk write updates
        most pages of a table and of its indexes; the default 2 MiB cache evicts and re-reads
        them), back to what it was afterwards. Nothing on PostgreSQL (the server's buffers)."""
        if self.dialect != "sqlite":
            yield
            return
        cursor = self._cursor()
        try:
            cursor.execute(queries.PAGE_CACHE_SIZE)
            (before,) = cursor.fetchone()
            cursor.execute(queries.set_page_cache_size(-1024 * mebibytes))
            try:
                yield
            finally:
                cursor.execute(queries.set_page_cache_size(int(before)))
        finally:
            cursor.close()

    def assign_owners_in_bulk(self, rows: Sequence[tuple[int, str | None, str]], now: datetime) -> None:
        """:meth:`assign_owners` for many leads: on PostgreSQL a ``COPY`` into a temporary table
        and one ``UPDATE … FROM``."""
        if not self._copies(rows):
            self.assign_owners(rows, now)
            return
        cursor = self._cursor()
        try:
            cursor.execute(queries.CREATE_OWNERS_TABLE)
            with cursor.copy(queries.COPY_OWNERS) as copy:
                for row in rows:
                    copy.write_row(row)
            cursor.execute(queries.UPDATE_FROM_OWNERS, (now,))
            cursor.execute(queries.DROP_OWNERS_TABLE)
        finally:
            cursor.close()

    def insert_routing_decisions_in_bulk(self, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
        """Routing decisions as tuples of ``columns`` (``decided_at`` a datetime, ``details`` JSON
        text): ``executemany`` on SQLite, ``COPY`` on PostgreSQL (the same rows either way)."""
        if not rows:
            return
        lead, at, rep, department = (columns.index(c) for c in ("lead_id", "decided_at", "rep_id", "department"))
        decided = [(row[lead], row[at], row[rep], row[department]) for row in rows]
        if self._copies(rows):
            self._copy(queries.copy_rows("routing_decisions", columns), rows)
            summaries.decided(self, decided)
            return
        stamps: dict[Any, Any] = {}
        for row in rows:
            if row[at] not in stamps:
                stamps[row[at]] = self._time(row[at])
        if len(stamps) == 1:
            [stamp] = stamps.values()
            converted = [(*row[:at], stamp, *row[at + 1 :]) for row in rows]
        else:
            converted = [(*row[:at], stamps[row[at]], *row[at + 1 :]) for row in rows]
        self._raw_many(queries.insert_routing_decisions(self.dialect, columns), converted)
        summaries.decided(self, decided)

    def insert_routing_decisions(self, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        decided = [(row["lead_id"], row["decided_at"], row.get("rep_id"), row["department"]) for row in rows]
        names = tuple(rows[0])
        stamps: dict[datetime, Any] = {}  # a batch of decisions shares one moment: convert it once
        for row in rows:
            if row["decided_at"] not in stamps:
                stamps[row["decided_at"]] = self._time(row["decided_at"])
        self._raw_many(
            queries.insert_routing_decisions(self.dialect, names),
            [tuple(stamps[row[n]] if n == "decided_at" else row[n] for n in names) for row in rows],
        )
        summaries.decided(self, decided)

    def upsert_counters(self, rows: Sequence[tuple[str, float]]) -> None:
        self._raw_many(queries.SET_COUNTER, rows)

    def upsert_rep_status(self, rep_id: str, values: Mapping[str, Any], now: datetime) -> None:
        stmt = self._upsert(rep_status).values(rep_id=rep_id, **values, updated_at=now)
        self.execute(stmt.on_conflict_do_update(index_elements=["rep_id"], set_={**values, "updated_at": now}))

    def _upsert(self, table: sa.Table) -> Any:
        return postgresql.insert(table) if self.dialect == "postgresql" else sqlite.insert(table)

    def received_since(self, moment: datetime) -> dict[str, int]:
        """How many leads each rep was given since ``moment``."""
        query = (
            sa.select(routing_decisions.c.rep_id, sa.func.count().label("n"))
            .where(routing_decisions.c.rep_id.is_not(None), routing_decisions.c.decided_at >= moment)
            .group_by(routing_decisions.c.rep_id)
        )
        return {m["rep_id"]: m["n"] for m in self.execute(query).mappings()}

    def routing_decisions_of(self, lead_id: int) -> list[Any]:
        query = (
            sa.select(routing_decisions)
            .where(routing_decisions.c.lead_id == lead_id)
            .order_by(routing_decisions.c.decided_at, routing_decisions.c.id)
        )
        return list(self.execute(query))

    # --- outcomes (closed deals imported from a CRM) --------------------------------------

    def existing_outcome_keys(self, keys: Iterable[str]) -> set[str]:
        wanted = sorted(set(keys))
        found: set[str] = set()
        for part in _chunks(wanted):
            found.update(self.execute(sa.select(outcomes.c.key).where(outcomes.c.key.in_(part))).scalars())
        return found

    def outcomes_by_key(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The stored outcomes with these keys: what a resent record is compared with."""
        columns = ("lead_id", "outcome", "closed_at", "amount", "currency", "product")
        out: dict[str, dict[str, Any]] = {}
        for part in _chunks(sorted(set(keys))):
            query = sa.select(outcomes.c.key, *(outcomes.c[name] for name in columns)).where(outcomes.c.key.in_(part))
            for row in self.execute(query):
                out[row[0]] = dict(zip(columns, row[1:], strict=True))
        return out

    def insert_opportunity_amount(self, row: Mapping[str, Any]) -> None:
        """The amount sales gave when it created an opportunity (one row of ``opportunity_amounts``)."""
        self.changed((summaries.STEPS,), (row["lead_id"],))
        self.execute(opportunity_amounts.insert().values(**row))

    def insert_outcomes(self, rows: list[dict[str, Any]]) -> None:
        self.changed((summaries.STEPS, summaries.CREDITS), (row["lead_id"] for row in rows))
        self._insert_ignore(outcomes, rows, "key")

    def outcomes_of(self, lead_id: int) -> list[Any]:
        query = sa.select(outcomes).where(outcomes.c.lead_id == lead_id).order_by(outcomes.c.closed_at, outcomes.c.id)
        return list(self.execute(query))

    # --- import runs (checkpoints of file imports) ----------------------------------------

    def import_checkpoint(self, run_id: int) -> int:
        return int(self.execute(sa.select(import_runs.c.last_row).where(import_runs.c.id == run_id)).scalar_one())

    def import_run(self, key: str) -> Any:
        return self.execute(sa.select(import_runs).where(import_runs.c.key == key)).one_or_none()

    def start_import_run(self, values: Mapping[str, Any], now: datetime) -> int:
        """The run with ``values["key"]``, created if new; returns its id."""
        row = {**values, "last_row": 0, "rejects_size": 0, "started_at": now, "updated_at": now, "finished_at": None}
        self._insert_ignore(import_runs, [row], "key")
        run_id: int = self.execute(sa.select(import_runs.c.id).where(import_runs.c.key == values["key"])).scalar_one()
        return run_id

    def restart_import_run(self, run_id: int, now: datetime) -> None:
        stmt = import_runs.update().where(import_runs.c.id == run_id)
        self.execute(stmt.values(last_row=0, rejects_size=0, started_at=now, updated_at=now, finished_at=None))

    def advance_import_run(self, run_id: int, last_row: int, now: datetime, *, rejects_size: int | None = None) -> None:
        """Rows up to ``last_row`` are committed (call in the transaction that commits them), and
        the rejects file holds their rejections in its first ``rejects_size`` bytes."""
        stmt = import_runs.update().where(import_runs.c.id == run_id)
        later = sa.case((import_runs.c.last_row > last_row, import_runs.c.last_row), else_=last_row)
        values: dict[str, Any] = {"last_row": later, "updated_at": now}
        if rejects_size is not None:
            values["rejects_size"] = sa.case(
                (import_runs.c.last_row > last_row, import_runs.c.rejects_size), else_=rejects_size
            )
        self.execute(stmt.values(**values))

    def set_rejects_path(self, run_id: int, path: str | None) -> None:
        """Where the run's rejected rows go (an absolute path; None: not known)."""
        self.execute(import_runs.update().where(import_runs.c.id == run_id).values(rejects_path=path))

    def finish_import_run(self, run_id: int, now: datetime) -> None:
        stmt = import_runs.update().where(import_runs.c.id == run_id)
        self.execute(stmt.values(finished_at=now, updated_at=now))


log = logging.getLogger("leadrelay.adapters.store")
T = TypeVar("T")

#: PostgreSQL errors after which the whole transaction may simply be run again (SQLSTATE → name).
RETRIED_SQLSTATES = {"40P01": "deadlock", "40001": "serialization failure"}
#: How often a transaction is tried in all, and the first pause between tries (doubled each time).
TRIES = 5
FIRST_PAUSE = 0.05


def retried_reason(exc: BaseException) -> str | None:
    """``"deadlock"`` or ``"serialization failure"`` if ``exc`` is one (then a new try may succeed)."""
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return RETRIED_SQLSTATES.get(sqlstate) if isinstance(sqlstate, str) else None


class SqlStore:
    """The database behind the engine: SQLite by file, or PostgreSQL by URL.

    On a SQLite file, the write transactions of this process take turns in its
    :class:`~leadrelay.adapters.store.writer_queue.WriterQueue` (first come, first served; those
    started under :func:`~leadrelay.adapters.store.writer_queue.first_in_line` first) instead of
    in SQLite's busy handler; only other processes' writers are waited for there."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        database = engine.url.database if engine.dialect.name == "sqlite" else None
        on_file = database not in (None, "", ":memory:") and "mode=memory" not in str(engine.url)
        self.writers = queue_for(str(Path(database).expanduser().resolve())) if on_file and database else None

    @classmethod
    def open(cls, url: str, *, migrate_schema: bool = True) -> SqlStore:
        engine = create_db_engine(url)
        if migrate_schema:
            migrate(engine)
        return cls(engine)

    @contextmanager
    def transaction(self) -> Iterator[StoreTx]:
        if self.writers is None:
            with self.engine.begin() as connection:
                tx = StoreTx(connection)
                yield tx
                tx.settle()
            return
        with self.writers.turn(), self.engine.begin() as connection:
            tx = StoreTx(connection)
            yield tx
            tx.settle()

    @contextmanager
    def rehearsal(self, *, dry_run: bool) -> Iterator[StoreTx]:
        """One unit of work on its own connection (outside SQLite's writers' turns) that commits —
        its summaries settled first — or, with ``dry_run``, is rolled back: what a command that can
        show what it would change (rescore, rematch, recycling) runs in."""
        with self.engine.connect() as connection:
            transaction = connection.begin()
            tx = StoreTx(connection)
            try:
                yield tx
            except BaseException:
                transaction.rollback()
                raise
            if dry_run:
                transaction.rollback()
            else:
                tx.settle()
                transaction.commit()

    def retrying(self, work: Callable[[StoreTx], T], *, tries: int = TRIES, pause: float = FIRST_PAUSE) -> T:
        """``work`` in one transaction; run again in a new one (up to ``tries`` in all, with a
        growing, jittered pause and one log line each) when the database aborted it for a deadlock
        or a serialization failure. ``work`` must not keep effects of a failed try outside the
        database: it is called once per try."""
        for attempt in range(1, tries + 1):
            try:
                with self.transaction() as tx:
                    return work(tx)
            except sa.exc.DBAPIError as exc:
                reason = retried_reason(exc)
                if reason is None or attempt == tries:
                    raise
                wait = pause * 2 ** (attempt - 1) * (1 + random.random())
                log.warning("database %s (try %d of %d); retrying the batch in %.2f s", reason, attempt, tries, wait)
                time.sleep(wait)
        raise AssertionError("unreachable")

    @contextmanager
    def reading(self) -> Iterator[StoreTx]:
        with self.engine.connect() as connection:
            yield StoreTx(connection)

    def ping(self) -> str | None:
        """None when the database answers a query now, else why not (one line, no password)."""
        try:
            with self.engine.connect() as connection:
                connection.execute(sa.select(sa.literal(1)))
        except sa.exc.SQLAlchemyError as exc:
            text = str(getattr(exc, "orig", None) or exc).strip()
            return text.splitlines()[0] if text else type(exc).__name__
        return None

    def drop_connections(self) -> None:
        """Close every pooled connection, so that none left from before an outage is reused."""
        self.engine.dispose()

    def close(self) -> None:
        self.engine.dispose()


#: SQLite errors that say the file cannot be used now, not that the statement is wrong.
_SQLITE_TRANSIENT = ("database is locked", "unable to open database file", "disk i/o error")


def database_unavailable(exc: BaseException) -> bool:
    """True when ``exc`` says the database cannot be reached now — the server is stopped,
    restarting or failing over, the network or the connection dropped — rather than that the
    request was wrong. A worker waits and retries the first kind; everything else is a bug.

    That is SQLAlchemy's own disconnect detection (``connection_invalidated``), a pool that could
    not connect, and the DBAPI's ``OperationalError`` (PostgreSQL: connection refused, "terminating
    connection due to administrator command", "the database system is starting up"); on SQLite,
    where ``OperationalError`` also means "no such table", only a locked or unreadable file. The
    driver's own errors count the same when they come bare from the raw-cursor fast paths, which
    SQLAlchemy does not wrap."""
    if isinstance(exc, sa.exc.DisconnectionError):
        return True
    driver = sys.modules.get("psycopg")  # not imported: the error cannot be one of its own
    if driver is not None and isinstance(exc, driver.OperationalError):  # bare, from a raw cursor
        return True
    if isinstance(exc, sqlite3.OperationalError):
        return any(text in str(exc).lower() for text in _SQLITE_TRANSIENT)
    if not isinstance(exc, sa.exc.DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    if not isinstance(exc, sa.exc.OperationalError):
        return False
    if isinstance(exc.orig, sqlite3.Error):
        return any(text in str(exc.orig).lower() for text in _SQLITE_TRANSIENT)
    return True
