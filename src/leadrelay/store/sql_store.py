"""Reading and writing the engine's facts with SQLAlchemy Core, a batch at a time.

:class:`SqlStore` opens transactions; a :class:`StoreTx` does the reads and writes of one
unit of work on one connection, so a batch lands whole or not at all.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from leadrelay.domain.identity import key_email, key_external_id, lead_key
from leadrelay.domain.lifecycle import Stage
from leadrelay.domain.model import Account, Activity, Campaign, Lead
from leadrelay.store.schema import create_db_engine, migrate
from leadrelay.store.tables import (
    accounts,
    activities,
    campaigns,
    import_runs,
    leads,
    outcomes,
    playbooks,
    settings,
    transitions,
)

_CHUNK = 500  # ids per IN (...) list: well under SQLite's and PostgreSQL's parameter limits

_LEAD_PROFILE = (
    "first_name",
    "last_name",
    "title",
    "seniority",
    "department",
    "phone",
    "country",
    "prefecture",
    "postal_code",
    "source_channel",
    "list_source",
)
_ACCOUNT_PROFILE = ("name", "industry", "employees", "country", "region", "prefecture", "tier", "owner")


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


def _lead_from_row(row: Any) -> Lead:
    return Lead(
        email=row.email,
        first_name=row.first_name,
        last_name=row.last_name,
        title=row.title,
        seniority=row.seniority,
        department=row.department,
        phone=row.phone,
        country=row.country,
        prefecture=row.prefecture,
        postal_code=row.postal_code,
        source_channel=row.source_channel,
        list_source=row.list_source,
        custom=row.custom or {},
        external_id=row.external_id,
    )


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
    )


class StoreTx:
    """One unit of work on one connection."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.dialect = connection.dialect.name

    def execute(self, statement: Any, params: Any = None) -> sa.CursorResult[Any]:
        return self.connection.execute(statement, params) if params is not None else self.connection.execute(statement)

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
        return self.execute(sa.select(settings.c.value).where(settings.c.key == key)).scalar_one_or_none()

    def set_setting(self, key: str, value: str) -> None:
        if self.setting(key) is None:
            self._insert_ignore(settings, [{"key": key, "value": value}], "key")
        self.execute(settings.update().where(settings.c.key == key).values(value=value))

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

    # --- accounts and campaigns ---------------------------------------------------------

    def account_ids(self, domains: Iterable[str]) -> dict[str, int]:
        wanted = sorted(set(domains))
        found: dict[str, int] = {}
        for part in _chunks(wanted):
            for row in self.execute(sa.select(accounts.c.domain, accounts.c.id).where(accounts.c.domain.in_(part))):
                found[row.domain] = row.id
        return found

    def upsert_accounts(self, items: Sequence[Account], now: datetime) -> dict[str, int]:
        """Create missing accounts; fill in the fields the new records carry. Returns domain → id."""
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
        updates = []
        for domain, account in latest.items():
            if domain in known:
                values = {f: getattr(account, f) for f in _ACCOUNT_PROFILE if getattr(account, f) is not None}
                if values:
                    updates.append((domain, values))
        for domain, values in updates:
            self.execute(accounts.update().where(accounts.c.domain == domain).values(**values, updated_at=now))
        return self.account_ids(latest)

    def accounts_by_id(self, ids: Iterable[int]) -> dict[int, Account]:
        wanted = sorted(set(ids))
        out: dict[int, Account] = {}
        for part in _chunks(wanted):
            for row in self.execute(sa.select(accounts).where(accounts.c.id.in_(part))):
                out[row.id] = account_from_row(row)
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
            for row in self.execute(sa.select(campaigns.c.code, campaigns.c.id).where(campaigns.c.code.in_(part))):
                found[row.code] = row.id
        return found

    # --- leads ----------------------------------------------------------------------------

    def lead_ids(self, keys: Iterable[str]) -> dict[str, int]:
        """Lead ids by key: an e-mail, or ``id:`` and an external id (see ``domain.identity.lead_key``)."""
        wanted = sorted(set(keys))
        found: dict[str, int] = {}
        emails = [k for k in wanted if key_email(k) is not None]
        for part in _chunks(emails):
            for row in self.execute(sa.select(leads.c.email, leads.c.id).where(leads.c.email.in_(part))):
                found[row.email] = row.id
        external = [x for k in wanted if (x := key_external_id(k)) is not None]
        for part in _chunks(external):
            query = sa.select(leads.c.external_id, leads.c.id).where(leads.c.external_id.in_(part))
            for row in self.execute(query):
                found[lead_key(None, row.external_id)] = row.id
        return found

    def insert_leads(self, rows: Sequence[tuple[Lead, int | None, datetime]]) -> None:
        """Insert new leads (lead, account id, created at); ones that exist already are left alone."""
        self._insert_ignore(
            leads,
            [
                {
                    "email": lead.email,
                    "external_id": lead.external_id,
                    **{f: getattr(lead, f) for f in _LEAD_PROFILE},
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

    def update_profile(self, lead_id: int, values: Mapping[str, Any], now: datetime) -> None:
        self.execute(leads.update().where(leads.c.id == lead_id).values(**values, updated_at=now))

    def lead_states(self, ids: Iterable[int]) -> dict[int, LeadState]:
        wanted = sorted(set(ids))
        out: dict[int, LeadState] = {}
        for part in _chunks(wanted):
            for row in self.execute(sa.select(leads).where(leads.c.id.in_(part))):
                out[row.id] = LeadState(
                    id=row.id,
                    lead=_lead_from_row(row),
                    account_id=row.account_id,
                    created_at=row.created_at,
                    stage=Stage(row.stage),
                    stage_at=row.stage_at,
                    anchor_stage=Stage(row.anchor_stage),
                    anchor_at=row.anchor_at,
                    anchor_check=row.anchor_check,
                    mql_rule=row.mql_rule,
                    mql_at=row.mql_at,
                    mql_product=row.mql_product,
                    priority=row.priority,
                    fit_passed=row.fit_passed,
                )
        return out

    def lead_row(self, email: str) -> Any:
        return self.execute(sa.select(leads).where(leads.c.email == email)).one_or_none()

    def update_leads(self, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        keys = [k for k in rows[0] if k != "id"]
        stmt = (
            leads.update().where(leads.c.id == sa.bindparam("b_id")).values({k: sa.bindparam(f"b_{k}") for k in keys})
        )
        self.connection.execute(stmt, [{f"b_{k}": v for k, v in row.items()} for row in rows])

    # --- activities -----------------------------------------------------------------------

    def existing_activity_keys(self, keys: Iterable[str]) -> set[str]:
        wanted = sorted(set(keys))
        found: set[str] = set()
        for part in _chunks(wanted):
            found.update(self.execute(sa.select(activities.c.key).where(activities.c.key.in_(part))).scalars())
        return found

    def insert_activities(self, rows: list[dict[str, Any]]) -> None:
        self._insert_ignore(activities, rows, "key")

    def activities_of(self, lead_ids: Iterable[int]) -> dict[int, list[Activity]]:
        wanted = sorted(set(lead_ids))
        out: dict[int, list[Activity]] = defaultdict(list)
        campaign_cache: dict[int, Campaign] = {}
        for part in _chunks(wanted):
            query = (
                sa.select(
                    activities.c.lead_id,
                    activities.c.key,
                    activities.c.type,
                    activities.c.occurred_at,
                    activities.c.product,
                    activities.c.properties,
                    activities.c.campaign_id,
                    campaigns.c.code,
                    campaigns.c.name,
                    campaigns.c.channel,
                    campaigns.c.kind,
                )
                .select_from(activities.outerjoin(campaigns, activities.c.campaign_id == campaigns.c.id))
                .where(activities.c.lead_id.in_(part))
                .order_by(activities.c.lead_id, activities.c.occurred_at, activities.c.key)
            )
            for row in self.execute(query):
                campaign = None
                if row.campaign_id is not None:
                    campaign = campaign_cache.get(row.campaign_id)
                    if campaign is None:
                        campaign = Campaign(row.code, row.name, row.channel, row.kind)
                        campaign_cache[row.campaign_id] = campaign
                out[row.lead_id].append(
                    Activity(row.key, row.type, row.occurred_at, campaign, row.product, row.properties or {})
                )
        return out

    # --- transitions ----------------------------------------------------------------------

    def derived_moves(self, lead_ids: Iterable[int]) -> dict[int, list[StoredMove]]:
        wanted = sorted(set(lead_ids))
        out: dict[int, list[StoredMove]] = defaultdict(list)
        for part in _chunks(wanted):
            query = (
                sa.select(transitions)
                .where(transitions.c.lead_id.in_(part), transitions.c.derived.is_(True))
                .order_by(transitions.c.lead_id, transitions.c.occurred_at, transitions.c.id)
            )
            for row in self.execute(query):
                out[row.lead_id].append(
                    StoredMove(
                        row.id,
                        row.trigger,
                        row.from_stage,
                        row.to_stage,
                        row.occurred_at,
                        row.rule_id,
                        row.score,
                        row.playbook_hash,
                    )
                )
        return out

    def delete_transitions(self, ids: Sequence[int]) -> None:
        for part in _chunks(list(ids)):
            self.execute(transitions.delete().where(transitions.c.id.in_(part)))

    def insert_transitions(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            self.connection.execute(sa.insert(transitions), rows)

    def history(self, lead_id: int) -> list[Any]:
        query = (
            sa.select(transitions)
            .where(transitions.c.lead_id == lead_id)
            .order_by(transitions.c.occurred_at, transitions.c.id)
        )
        return list(self.execute(query))

    # --- outcomes (closed deals imported from a CRM) --------------------------------------

    def existing_outcome_keys(self, keys: Iterable[str]) -> set[str]:
        wanted = sorted(set(keys))
        found: set[str] = set()
        for part in _chunks(wanted):
            found.update(self.execute(sa.select(outcomes.c.key).where(outcomes.c.key.in_(part))).scalars())
        return found

    def insert_outcomes(self, rows: list[dict[str, Any]]) -> None:
        self._insert_ignore(outcomes, rows, "key")

    def outcomes_of(self, lead_id: int) -> list[Any]:
        query = sa.select(outcomes).where(outcomes.c.lead_id == lead_id).order_by(outcomes.c.closed_at, outcomes.c.id)
        return list(self.execute(query))

    # --- import runs (checkpoints of file imports) ----------------------------------------

    def import_run(self, key: str) -> Any:
        return self.execute(sa.select(import_runs).where(import_runs.c.key == key)).one_or_none()

    def start_import_run(self, values: Mapping[str, Any], now: datetime) -> int:
        """The run with ``values["key"]``, created if new; returns its id."""
        row = {**values, "last_row": 0, "started_at": now, "updated_at": now, "finished_at": None}
        self._insert_ignore(import_runs, [row], "key")
        run_id: int = self.execute(sa.select(import_runs.c.id).where(import_runs.c.key == values["key"])).scalar_one()
        return run_id

    def restart_import_run(self, run_id: int, now: datetime) -> None:
        stmt = import_runs.update().where(import_runs.c.id == run_id)
        self.execute(stmt.values(last_row=0, started_at=now, updated_at=now, finished_at=None))

    def advance_import_run(self, run_id: int, last_row: int, now: datetime) -> None:
        """Rows up to ``last_row`` are committed (call in the transaction that commits them)."""
        stmt = import_runs.update().where(import_runs.c.id == run_id)
        later = sa.case((import_runs.c.last_row > last_row, import_runs.c.last_row), else_=last_row)
        self.execute(stmt.values(last_row=later, updated_at=now))

    def finish_import_run(self, run_id: int, now: datetime) -> None:
        stmt = import_runs.update().where(import_runs.c.id == run_id)
        self.execute(stmt.values(finished_at=now, updated_at=now))


class SqlStore:
    """The database behind the engine: SQLite by file, or PostgreSQL by URL."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str, *, migrate_schema: bool = True) -> SqlStore:
        engine = create_db_engine(url)
        if migrate_schema:
            migrate(engine)
        return cls(engine)

    @contextmanager
    def transaction(self) -> Iterator[StoreTx]:
        with self.engine.begin() as connection:
            yield StoreTx(connection)

    @contextmanager
    def reading(self) -> Iterator[StoreTx]:
        with self.engine.connect() as connection:
            yield StoreTx(connection)

    def close(self) -> None:
        self.engine.dispose()
