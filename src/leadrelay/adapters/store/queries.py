"""Every SQL text the store sends that SQLAlchemy Core does not build, by name.

The hot paths (ingest, routing, the outbox and timers, rescoring) talk to the database driver
directly. Their statements are kept here, named by what they do, so they can be read side by side
and checked against the schema in one place; the modules that run them
(:mod:`~leadrelay.adapters.store.sql_store`, :mod:`~leadrelay.adapters.store.outbox`,
:mod:`~leadrelay.adapters.store.bulk_io`, :mod:`~leadrelay.adapters.store.schema`) hold none.

Conventions:

- Statements for the driver use ``?`` placeholders; ``StoreTx`` turns them into psycopg's ``%s``
  on PostgreSQL. Statements run through SQLAlchemy (``sa.text``) use ``:name`` parameters.
- Where PostgreSQL and SQLite differ, a function takes the dialect name and both spellings stand
  next to each other in it.
- A function taking ``count`` is for an ``IN (...)`` list of that many values.
- Names (tables, columns) come from the code, never from input.
"""

from __future__ import annotations

from collections.abc import Sequence

POSTGRESQL = "postgresql"


def marks(count: int) -> str:
    """``count`` driver placeholders: ``?, ?, ?``."""
    return ", ".join("?" * count)


def json_text(dialect: str, column: str) -> str:
    """A JSON column selected as text, so equal documents are parsed once per batch."""
    return f"CAST({column} AS text)" if dialect == POSTGRESQL else column


def json_param(dialect: str) -> str:
    """The placeholder of a JSON value given as text."""
    return "CAST(? AS jsonb)" if dialect == POSTGRESQL else "?"


def skip_locked(dialect: str) -> str:
    """Lock the selected rows, passing over those another transaction holds (PostgreSQL); SQLite
    has one writer at a time, taken by :data:`TAKE_WRITE_LOCK`."""
    return " FOR UPDATE SKIP LOCKED" if dialect == POSTGRESQL else ""


# --- connections, schema and locks ---------------------------------------------------------------

#: Set on every new SQLite connection: write-ahead log, durable commits, enforced foreign keys,
#: and waiting for the write lock instead of failing at once.
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=30000",
)
#: A migration that rebuilds a SQLite table turns foreign keys off; this turns them on again.
SQLITE_FOREIGN_KEYS_ON = "PRAGMA foreign_keys=ON"
#: Wait for, then hold until the transaction ends, the PostgreSQL advisory lock ``:key``.
SETTING = "SELECT value FROM settings WHERE key = ?"

ADVISORY_XACT_LOCK = "SELECT pg_advisory_xact_lock(:key)"
#: Write the counter row ``:key``: on SQLite this takes the database's write lock until the
#: transaction ends, so transactions that start with it take turns.
BUMP_COUNTER = (
    "INSERT INTO routing_counters (key, value) VALUES (:key, 1)"
    " ON CONFLICT (key) DO UPDATE SET value = routing_counters.value + 1"
)


def create_database(name: str) -> str:
    return f'CREATE DATABASE "{name}"'


def create_database_from(name: str, template: str) -> str:
    """A new database copied from ``template`` (which nobody may be connected to)."""
    return f'CREATE DATABASE "{name}" TEMPLATE "{template}"'


def drop_database(name: str) -> str:
    return f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'


def rename_database(name: str, new_name: str) -> str:
    return f'ALTER DATABASE "{name}" RENAME TO "{new_name}"'


#: PostgreSQL: 1 when a database named ``:name`` exists on the server.
DATABASE_EXISTS = "SELECT 1 FROM pg_database WHERE datname = :name"


# --- leads ---------------------------------------------------------------------------------------


def campaign_ids(count: int) -> str:
    """Campaigns' ids by code: the code and the id."""
    return f"SELECT code, id FROM campaigns WHERE code IN ({marks(count)})"


def lead_ids_by(column: str, count: int) -> str:
    """Leads' ids by ``column`` (``email`` or ``external_id``): the column's value and the id."""
    if column not in ("email", "external_id"):
        raise ValueError(f"no lead key column {column}")
    return f"SELECT {column}, id FROM leads WHERE {column} IN ({marks(count)})"


def lock_leads(count: int) -> str:
    """Row locks on leads, taken in id order (two batches never wait on each other in a circle)."""
    return f"SELECT id FROM leads WHERE id IN ({marks(count)}) ORDER BY id FOR UPDATE"


def lead_columns(dialect: str, names: Sequence[str], count: int) -> str:
    """Columns ``names`` of leads by id; the ``custom`` document as text."""
    columns = ", ".join(json_text(dialect, n) if n == "custom" else n for n in names)
    return f"SELECT {columns} FROM leads WHERE id IN ({marks(count)})"


def lead_columns_of_array(names: Sequence[str]) -> str:
    """PostgreSQL: :func:`lead_columns` of the leads whose ids come as one array parameter (one
    statement for any number of leads, no long list of placeholders for the driver to parse)."""
    columns = ", ".join(json_text(POSTGRESQL, n) if n == "custom" else n for n in names)
    return f"SELECT {columns} FROM leads WHERE id = ANY(?)"


#: The columns of an account, in the order of ``domain.model.Account``'s fields, after its id.
ACCOUNT_COLUMNS = (
    "domain, name, industry, employees, country, region, prefecture, tier, owner, reading, phone, postal_code, website"
)


def accounts_by_id(count: int) -> str:
    """Accounts by id: the id, then :data:`ACCOUNT_COLUMNS`."""
    return f"SELECT id, {ACCOUNT_COLUMNS} FROM accounts WHERE id IN ({marks(count)})"


#: PostgreSQL: :func:`accounts_by_id` with the ids as one array parameter.
ACCOUNTS_OF_ARRAY = f"SELECT id, {ACCOUNT_COLUMNS} FROM accounts WHERE id = ANY(?)"


def update_leads(columns: Sequence[str]) -> str:
    """Set ``columns`` of one lead; the lead's id is the last parameter."""
    return f"UPDATE leads SET {', '.join(f'{c} = ?' for c in columns)} WHERE id = ?"


def routing_facts(count: int) -> str:
    return (
        "SELECT id, owner_rep, owner_department, fit_score, engagement_score, total_score, level FROM leads"
        f" WHERE id IN ({marks(count)})"
    )


def unassigned_in_stage(count: int) -> str:
    """Those of ``count`` leads in the stage given after them that have no rep."""
    return f"SELECT id FROM leads WHERE id IN ({marks(count)}) AND stage = ? AND owner_rep IS NULL"


ASSIGN_OWNER = "UPDATE leads SET owner_rep = ?, owner_department = ?, assigned_at = ? WHERE id = ?"

#: SQLite: the connection's page cache (negative: in KiB), read and set around a bulk write.
PAGE_CACHE_SIZE = "PRAGMA cache_size"


def set_page_cache_size(size: int) -> str:
    """SQLite: the connection's page cache, ``size`` pages (negative: ``-size`` KiB)."""
    return f"PRAGMA cache_size = {int(size)}"


#: PostgreSQL, routing in sets: the new owners are copied into this table, then written with one
#: ``UPDATE … FROM`` (what ``ASSIGN_OWNER`` does lead by lead).
CREATE_OWNERS_TABLE = (
    "CREATE TEMPORARY TABLE routed_owners (id integer, owner_rep text, owner_department text) ON COMMIT DROP"
)
COPY_OWNERS = "COPY routed_owners (id, owner_rep, owner_department) FROM STDIN"
#: Parameter: assigned at.
UPDATE_FROM_OWNERS = (
    "UPDATE leads SET owner_rep = o.owner_rep, owner_department = o.owner_department, assigned_at = %s"
    " FROM routed_owners o WHERE leads.id = o.id"
)
DROP_OWNERS_TABLE = "DROP TABLE routed_owners"


def notification_leads(count: int) -> str:
    """What a notification says about each lead: name, contact, company, level, score, owner."""
    return (
        "SELECT l.id, l.first_name, l.last_name, l.email, l.external_id, l.title, l.level, l.total_score,"
        " l.owner_rep, l.owner_department, a.name FROM leads l LEFT OUTER JOIN accounts a ON a.id = l.account_id"
        f" WHERE l.id IN ({marks(count)})"
    )


#: ``GET /v1/leads``: the filters a page of leads may take, by name, each a condition on ``l``
#: (leads) or ``a`` (its account) with the parameter of the same name. A page ANDs those given.
LEAD_FILTERS = {
    "stages": "l.stage IN :stages",
    "level": "l.level = :level",
    "owner": "l.owner_rep = :owner",
    "department": "l.owner_department = :department",
    "domain": "a.domain = :domain",
    "fit_min": "l.fit_score >= :fit_min",
    "fit_max": "l.fit_score <= :fit_max",
    "engagement_min": "l.engagement_score >= :engagement_min",
    "engagement_max": "l.engagement_score <= :engagement_max",
    "total_min": "l.total_score >= :total_min",
    "total_max": "l.total_score <= :total_max",
    "updated_since": "l.updated_at >= :updated_since",
    # :q is a lower-case LIKE pattern, % and _ escaped with a backslash
    "q": (
        "(LOWER(l.email) LIKE :q ESCAPE '\\'"
        " OR LOWER(COALESCE(l.last_name, '') || ' ' || COALESCE(l.first_name, '')) LIKE :q ESCAPE '\\'"
        " OR LOWER(COALESCE(l.first_name, '') || ' ' || COALESCE(l.last_name, '')) LIKE :q ESCAPE '\\'"
        " OR LOWER(COALESCE(l.last_name, '') || COALESCE(l.first_name, '')) LIKE :q ESCAPE '\\'"
        " OR LOWER(l.company_name) LIKE :q ESCAPE '\\'"
        " OR LOWER(a.name) LIKE :q ESCAPE '\\')"
    ),
    # the cursor: the leads after the last one of the previous page, in the page's order
    "after": "(l.updated_at < :after_at OR (l.updated_at = :after_at AND l.id < :after_id))",
}
#: Who may see a lead (the principal's visibility), ORed: their own leads, their departments' leads.
LEAD_VISIBILITY = {
    "visible_rep": "l.owner_rep = :visible_rep",
    "visible_departments": "l.owner_department IN :visible_departments",
}
LEAD_PAGE_COLUMNS = (
    "l.id, l.email, l.external_id, l.first_name, l.last_name, l.company_name, a.domain, a.name, l.stage,"
    " l.level, l.fit_score, l.engagement_score, l.total_score, l.owner_rep, l.owner_department, l.assigned_at,"
    " l.last_activity_at, l.last_touch_at, l.created_at, l.updated_at"
)


#: The orders a page of leads may take besides the default (``updated``: last change first), each
#: an expression of ``l`` and ``a`` that is never NULL (so the cursor can compare it), ties by id.
LEAD_SORTS = {
    "updated": "l.updated_at",
    "name": (
        "LOWER(COALESCE(l.last_name || ' ' || l.first_name, l.last_name, l.first_name, l.email, l.external_id, ''))"
    ),
    "company": "LOWER(COALESCE(a.name, l.company_name, ''))",
    # the lifecycle's order, not the codes' alphabet
    "stage": "CASE l.stage "
    + " ".join(
        f"WHEN '{code}' THEN {n}"
        for n, code in enumerate(
            ("new", "nurture", "mql", "pre_sql", "sal", "rejected", "sql", "opportunity", "won", "lost", "recycled")
        )
    )
    + " ELSE 99 END",
    "level": "COALESCE(l.level, -1)",
    "score": "l.total_score",
    "owner": "COALESCE(l.owner_rep, '')",
}


def lead_page(
    filters: Sequence[str], visibility: Sequence[str] | None, sort: str = "updated", descending: bool = True
) -> str:
    """One page of leads at most ``:limit``, in the order ``sort`` (a key of :data:`LEAD_SORTS`; the
    default: newest change first), then id, both descending or both ascending: the conditions
    ``filters`` (names of :data:`LEAD_FILTERS`, and ``after_key``: the leads after ``:after_key``,
    ``:after_id`` in this order) and, unless ``visibility`` is ``None`` (sees everything), any of the
    conditions ``visibility`` (names of :data:`LEAD_VISIBILITY`; none: no lead)."""
    order = LEAD_SORTS[sort]
    way, beyond = ("DESC", "<") if descending else ("ASC", ">")
    where = [
        f"({order} {beyond} :after_key OR ({order} = :after_key AND l.id {beyond} :after_id))"
        if name == "after_key"
        else LEAD_FILTERS[name]
        for name in filters
    ]
    if visibility is not None:
        seen = [LEAD_VISIBILITY[name] for name in visibility]
        where.append(f"({' OR '.join(seen)})" if seen else "1 = 0")
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    return (
        f"SELECT {LEAD_PAGE_COLUMNS}, {order} AS sort_key"
        f" FROM leads l LEFT OUTER JOIN accounts a ON a.id = l.account_id{clause}"
        f" ORDER BY {order} {way}, l.id {way} LIMIT :limit"
    )


# --- activities ----------------------------------------------------------------------------------


def existing_activity_keys(count: int) -> str:
    return f"SELECT key FROM activities WHERE key IN ({marks(count)})"


def insert_activities(dialect: str) -> str:
    """One activity; a key stored already is skipped."""
    return (
        "INSERT INTO activities (key, lead_id, type, occurred_at, recorded_at, campaign_id, product,"
        f" properties, source_id) VALUES (?, ?, ?, ?, ?, ?, ?, {json_param(dialect)}, ?)"
        " ON CONFLICT (key) DO NOTHING"
    )


#: PostgreSQL, many activities: COPY into a staging table, then one INSERT … SELECT that skips the
#: keys stored already (another process may have stored one since the batch looked).
CREATE_ACTIVITIES_IN = (
    "CREATE TEMPORARY TABLE IF NOT EXISTS activities_in (key text, lead_id integer, type text,"
    " occurred_at timestamptz, recorded_at timestamptz, campaign_id integer, product text,"
    " properties jsonb, source_id text) ON COMMIT DELETE ROWS"
)
COPY_ACTIVITIES_IN = (
    "COPY activities_in (key, lead_id, type, occurred_at, recorded_at, campaign_id, product, properties,"
    " source_id) FROM STDIN"
)
INSERT_FROM_ACTIVITIES_IN = (
    "INSERT INTO activities (key, lead_id, type, occurred_at, recorded_at, campaign_id, product, properties,"
    " source_id) SELECT key, lead_id, type, occurred_at, recorded_at, campaign_id, product, properties,"
    " source_id FROM activities_in ORDER BY key ON CONFLICT (key) DO NOTHING"
)
EMPTY_ACTIVITIES_IN = "DELETE FROM activities_in"


def campaign_days(dialect: str, count: int) -> str:
    """The activities of ``count`` leads that carry a campaign: (lead, campaign, time in µs), from
    the index of campaign touches alone."""
    return (
        f"SELECT lead_id, campaign_id, {_occurred_us(dialect)} FROM activities"
        f" WHERE lead_id IN ({marks(count)}) AND campaign_id IS NOT NULL"
    )


def activities_of(dialect: str, count: int) -> str:
    """The activities of ``count`` leads with their campaigns, by lead, time and key."""
    return (
        f"SELECT a.lead_id, a.key, a.type, a.occurred_at, a.product, {json_text(dialect, 'a.properties')},"
        " a.campaign_id,"
        " c.code, c.name, c.channel, c.kind"
        " FROM activities a LEFT OUTER JOIN campaigns c ON a.campaign_id = c.id"
        f" WHERE a.lead_id IN ({marks(count)})"
        " ORDER BY a.lead_id, a.occurred_at, a.key"
    )


def activities_by_key(dialect: str, count: int) -> str:
    """The stored activities with ``count`` keys, with their campaign codes (to compare a resent record)."""
    return (
        f"SELECT a.key, a.lead_id, a.type, a.occurred_at, a.product, {json_text(dialect, 'a.properties')},"
        " c.code, c.name, c.channel, c.kind"
        " FROM activities a LEFT OUTER JOIN campaigns c ON a.campaign_id = c.id"
        f" WHERE a.key IN ({marks(count)})"
    )


# --- transitions ---------------------------------------------------------------------------------


def derived_moves(count: int) -> str:
    """The moves of ``count`` leads whose ``derived`` flag is the parameter after them."""
    return (
        "SELECT lead_id, id, trigger, from_stage, to_stage, occurred_at, rule_id, score, playbook_hash"
        f" FROM transitions WHERE lead_id IN ({marks(count)}) AND derived = ?"
        " ORDER BY lead_id, occurred_at, id"
    )


def insert_rows(table: str, columns: Sequence[str], *, params: Sequence[str] | None = None) -> str:
    """One row of ``columns`` into ``table``; ``params``: the placeholder of each column (default ``?``)."""
    values = ", ".join(params) if params is not None else marks(len(columns))
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({values})"


# --- routing -------------------------------------------------------------------------------------


def insert_routing_decisions(dialect: str, columns: Sequence[str]) -> str:
    """One routing decision; its ``details`` document is given as text."""
    return insert_rows(
        "routing_decisions", columns, params=[json_param(dialect) if c == "details" else "?" for c in columns]
    )


SET_COUNTER = (
    "INSERT INTO routing_counters (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"
)


# --- the outbox (messages to send) ---------------------------------------------------------------


def enqueue_message(dialect: str) -> str:
    """One message; a key stored already is skipped."""
    return (
        "INSERT INTO outbox (key, channel, target, recipient, subject, body, payload, lang, event, lead_id,"
        f" created_at, due_at, attempts) VALUES (?, ?, ?, ?, ?, ?, {json_param(dialect)}, ?, ?, ?, ?, ?, 0)"
        " ON CONFLICT (key) DO NOTHING"
    )


def due_messages(dialect: str) -> str:
    """Up to ``limit`` messages due at ``now`` and not claimed (or their lease ran out), locked.
    Parameters: now, now, limit."""
    return (
        "SELECT id, key, channel, target, recipient, subject, body,"
        f" {json_text(dialect, 'payload')}, lang, event, lead_id, created_at, attempts FROM outbox"
        " WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= ?"
        " AND (claimed_until IS NULL OR claimed_until <= ?)"
        f" ORDER BY due_at, id LIMIT ?{skip_locked(dialect)}"
    )


CLAIM_MESSAGE = "UPDATE outbox SET claimed_by = ?, claimed_until = ?, attempts = attempts + 1 WHERE id = ?"

# A worker writes only the messages it holds the claim of: a message another worker took over
# after this one's lease ran out is left to that worker. The last two parameters: id, worker.
_CLAIMED_BY_ME = "WHERE id = ? AND claimed_by = ? AND sent_at IS NULL"
MARK_SENT = (
    f"UPDATE outbox SET sent_at = ?, last_error = NULL, claimed_by = NULL, claimed_until = NULL {_CLAIMED_BY_ME}"
)
MARK_RETRY = f"UPDATE outbox SET last_error = ?, due_at = ?, claimed_by = NULL, claimed_until = NULL {_CLAIMED_BY_ME}"
MARK_FAILED = (
    f"UPDATE outbox SET last_error = ?, failed_at = ?, claimed_by = NULL, claimed_until = NULL {_CLAIMED_BY_ME}"
)
RELEASE_MESSAGE = (
    "UPDATE outbox SET claimed_by = NULL, claimed_until = NULL, attempts = attempts - 1"
    " WHERE id = ? AND claimed_by = ? AND sent_at IS NULL"
)

OUTBOX_PENDING = "sent_at IS NULL AND failed_at IS NULL"
OUTBOX_FAILED = "failed_at IS NOT NULL"


def outbox_rows(*, failed: bool) -> str:
    """Messages not yet sent (or, with ``failed``, the ones given up), oldest first; parameter: limit."""
    where = OUTBOX_FAILED if failed else OUTBOX_PENDING
    return (
        "SELECT id, channel, target, recipient, subject, event, lead_id, created_at, due_at, attempts, last_error,"
        f" sent_at, failed_at, claimed_by FROM outbox WHERE {where} ORDER BY due_at, id LIMIT ?"
    )


OUTBOX_COUNTS = (
    "SELECT"
    f" COALESCE(SUM(CASE WHEN {OUTBOX_PENDING} THEN 1 ELSE 0 END), 0),"
    f" COALESCE(SUM(CASE WHEN {OUTBOX_FAILED} THEN 1 ELSE 0 END), 0),"
    " COALESCE(SUM(CASE WHEN sent_at IS NOT NULL THEN 1 ELSE 0 END), 0) FROM outbox"
)

_RETRY_FAILED = "UPDATE outbox SET failed_at = NULL, attempts = 0, due_at = ?, claimed_by = NULL, claimed_until = NULL"
#: Every failed message due again at the parameter; returns their ids.
RETRY_ALL_FAILED = f"{_RETRY_FAILED} WHERE {OUTBOX_FAILED} RETURNING id"
#: One failed message (due at, id) due again; returns its id.
RETRY_FAILED = f"{_RETRY_FAILED} WHERE id = ? AND {OUTBOX_FAILED} RETURNING id"


# --- waking workers when there is new work ------------------------------------------------------

#: The PostgreSQL channel a transaction that enqueues messages notifies; the notice is delivered to
#: the listening workers when (and only if) that transaction commits.
OUTBOX_CHANNEL = "leadrelay_outbox"
NOTIFY_OUTBOX = f"SELECT pg_notify('{OUTBOX_CHANNEL}', '')"
LISTEN_OUTBOX = f"LISTEN {OUTBOX_CHANNEL}"
#: SQLite (no notifications): the newest message's id, which a waiting worker watches for a change.
LAST_MESSAGE_ID = "SELECT COALESCE(MAX(id), 0) FROM outbox"
#: Whether a pending timer is due at the parameter: a plain read, so that a worker with nothing to
#: fire does not take SQLite's write lock to find that out.
ANY_TIMER_DUE = "SELECT 1 FROM timers WHERE fired_at IS NULL AND failed_at IS NULL AND due_at <= ? LIMIT 1"
#: Whether a message is due at the parameters (now, now) and free to claim: a plain read, as above.
ANY_MESSAGE_DUE = (
    "SELECT 1 FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= ?"
    " AND (claimed_until IS NULL OR claimed_until <= ?) LIMIT 1"
)
#: When the next pending timer is due (NULL: none pending).
NEXT_TIMER_DUE = "SELECT MIN(due_at) FROM timers WHERE fired_at IS NULL AND failed_at IS NULL"
#: When the next pending message nobody holds is due (a retry later on; NULL: none).
NEXT_MESSAGE_DUE = "SELECT MIN(due_at) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL AND claimed_by IS NULL"


# --- timers --------------------------------------------------------------------------------------

TIMER_PENDING = "fired_at IS NULL AND failed_at IS NULL"


def schedule_timer(dialect: str, *, replace: bool) -> str:
    """One timer; a key stored already is left alone, or with ``replace`` re-armed (pending, fired
    or failed alike) with the new kind, lead, due time and payload."""
    conflict = (
        "DO UPDATE SET kind = excluded.kind, lead_id = excluded.lead_id, due_at = excluded.due_at,"
        " payload = excluded.payload, fired_at = NULL, fired_by = NULL, attempts = 0, last_error = NULL,"
        " failed_at = NULL"
        if replace
        else "DO NOTHING"
    )
    return (
        "INSERT INTO timers (key, kind, lead_id, due_at, payload, created_at, attempts)"
        f" VALUES (?, ?, ?, ?, {json_param(dialect)}, ?, 0) ON CONFLICT (key) {conflict}"
    )


#: PostgreSQL, many timers at once: copied into this staging table (made once per session, emptied at
#: commit), then moved on with one ``INSERT … SELECT`` in their order (what ``schedule_timer`` does
#: row by row, keys stored already left alone).
CREATE_TIMERS_IN = (
    "CREATE TEMPORARY TABLE IF NOT EXISTS timers_in (n integer, key text, kind text, lead_id integer,"
    " due_at timestamptz, payload jsonb, created_at timestamptz) ON COMMIT DELETE ROWS"
)
COPY_TIMERS_IN = "COPY timers_in (n, key, kind, lead_id, due_at, payload, created_at) FROM STDIN"
INSERT_FROM_TIMERS_IN = (
    "INSERT INTO timers (key, kind, lead_id, due_at, payload, created_at, attempts)"
    " SELECT key, kind, lead_id, due_at, payload, created_at, 0 FROM timers_in ORDER BY n"
    " ON CONFLICT (key) DO NOTHING"
)
EMPTY_TIMERS_IN = "DELETE FROM timers_in"


def cancel_timers_of_leads(count: int, kinds: int) -> str:
    """Remove the pending timers of ``count`` leads, of ``kinds`` kinds (given next), due after the
    moment given last: ``cancel_timers_of_lead`` for many leads at once. Returns their ids."""
    return (
        f"DELETE FROM timers WHERE lead_id IN ({marks(count)}) AND {TIMER_PENDING}"
        f" AND kind IN ({marks(kinds)}) AND due_at > ? RETURNING id"
    )


def cancel_timers_by_key(count: int) -> str:
    """Remove pending timers by key; returns their ids."""
    return f"DELETE FROM timers WHERE key IN ({marks(count)}) AND {TIMER_PENDING} RETURNING id"


def cancel_timers_of_lead(*, kind: bool, due_after: bool) -> str:
    """Remove a lead's pending timers; with ``kind``, of the kind given next; with ``due_after``,
    only those due after the moment given last. Returns their ids."""
    sql = f"DELETE FROM timers WHERE lead_id = ? AND {TIMER_PENDING}"
    if kind:
        sql += " AND kind = ?"
    if due_after:
        sql += " AND due_at > ?"
    return sql + " RETURNING id"


#: A write that changes nothing: on SQLite it takes the database's write lock until the
#: transaction ends (one writer at a time).
TAKE_WRITE_LOCK = "UPDATE timers SET attempts = attempts WHERE id = -1 RETURNING id"

_TIMER_COLUMNS = "id, key, kind, lead_id, due_at, {payload}, attempts"


def due_timers(dialect: str) -> str:
    """Up to ``limit`` timers due at ``now``, earliest first, locked. Parameters: now, limit."""
    columns = _TIMER_COLUMNS.format(payload=json_text(dialect, "payload"))
    return (
        f"SELECT {columns} FROM timers WHERE {TIMER_PENDING} AND due_at <= ?"
        f" ORDER BY due_at, id LIMIT ?{skip_locked(dialect)}"
    )


def lock_pending_timers(dialect: str, count: int) -> str:
    """Those of ``count`` timers (by id) still pending, locked."""
    columns = _TIMER_COLUMNS.format(payload=json_text(dialect, "payload"))
    return (
        f"SELECT {columns} FROM timers WHERE id IN ({marks(count)}) AND {TIMER_PENDING}"
        f" ORDER BY due_at, id{skip_locked(dialect)}"
    )


def mark_timers_fired(count: int) -> str:
    """Parameters: fired at, worker, then ``count`` keys; returns the ids marked."""
    return (
        f"UPDATE timers SET fired_at = ?, fired_by = ?, last_error = NULL WHERE key IN ({marks(count)})"
        " AND fired_at IS NULL RETURNING id"
    )


TIMER_GIVEN_UP = "UPDATE timers SET attempts = ?, last_error = ?, failed_at = ? WHERE id = ?"
TIMER_RETRY = "UPDATE timers SET attempts = ?, last_error = ?, due_at = ? WHERE id = ?"
TIMER_COUNTS = (
    "SELECT"
    f" COALESCE(SUM(CASE WHEN {TIMER_PENDING} THEN 1 ELSE 0 END), 0),"
    " COALESCE(SUM(CASE WHEN failed_at IS NOT NULL THEN 1 ELSE 0 END), 0) FROM timers"
)


# --- the bulk path (rescoring every lead) --------------------------------------------------------


def all_accounts(columns: Sequence[str]) -> str:
    """Every account's id, domain and ``columns``."""
    return f"SELECT id, domain, {', '.join(columns) or 'NULL'} FROM accounts"


def all_leads(columns: Sequence[str]) -> str:
    """``columns`` of every lead but the erased ones (their scores stay as they were when the
    person's data was erased: the profile and properties they came from are gone), by ascending id."""
    return f"SELECT {', '.join(columns)} FROM leads WHERE erased_at IS NULL ORDER BY id"


def copy_out(select: str) -> str:
    """PostgreSQL: the rows of ``select`` as CSV through ``COPY … TO STDOUT``."""
    return f"COPY ({select}) TO STDOUT (FORMAT csv)"


def custom_as_text(dialect: str) -> str:
    return "custom::text" if dialect == POSTGRESQL else "custom"


ALL_CAMPAIGNS = "SELECT id, code, name, channel, kind FROM campaigns"


def _occurred_us(dialect: str) -> str:
    """An activity's time in microseconds since the epoch."""
    if dialect == POSTGRESQL:
        return "(EXTRACT(EPOCH FROM occurred_at) * 1000000)::bigint"
    # SQLite keeps UTC text 'YYYY-MM-DD HH:MM:SS.ffffff' (see UtcDateTime)
    return "CAST(strftime('%s', occurred_at) AS INTEGER) * 1000000 + CAST(substr(occurred_at, 21, 6) AS INTEGER)"


def activity_columns(dialect: str) -> str:
    """The activities of the leads with ids from the first to the second parameter, as (lead,
    time in microseconds, type, campaign, product, properties text), by lead and time. The
    placeholders are the driver's own: this runs on a raw (server-side) cursor."""
    if dialect == POSTGRESQL:
        return (
            f"SELECT lead_id, {_occurred_us(dialect)}, type, campaign_id, product, properties::text FROM activities "
            "WHERE lead_id >= %s AND lead_id <= %s ORDER BY lead_id, occurred_at"
        )
    return (
        f"SELECT lead_id, {_occurred_us(dialect)}, type, campaign_id, product, properties FROM activities "
        "WHERE lead_id >= ? AND lead_id <= ? ORDER BY lead_id, occurred_at"
    )


# --- the columnar activity log (leadrelay.services.activity_log) ---------------------------------

#: PostgreSQL: wait for every transaction writing activities or erasures to end, and keep new
#: ones out until this one ends, so no row with an id at or below the largest seen commits later.
LOCK_FOR_ACTIVITY_LOG = "LOCK TABLE activities, erasures IN SHARE MODE"
LOG_HIGH_MARKS = "SELECT (SELECT COALESCE(MAX(id), 0) FROM activities), (SELECT COALESCE(MAX(id), 0) FROM erasures)"
#: What identifies one activity row across erasure (which re-hashes keys): its lead, type and time.
ACTIVITY_IDENTITY = "SELECT lead_id, type, occurred_at FROM activities WHERE id = :id"
#: The leads erased after erasure ``:id``.
ERASED_AFTER = "SELECT lead_id FROM erasures WHERE id > :id ORDER BY id"
MAX_LEAD_ID = "SELECT COALESCE(MAX(id), 0) FROM leads"


def activity_log_rows(dialect: str, *, leads: int = 0) -> str:
    """Activities as (id, lead, time in microseconds, type, campaign, product, properties text):
    with ``leads=0`` those with ids above the first parameter and at most the second, in id order
    (the table's own order: a sequential read); else those of ``leads`` lead ids, or with an id
    above the first parameter (the tail a rescore reads beside the log)."""
    properties = "properties::text" if dialect == POSTGRESQL else "properties"
    mark = "%s" if dialect == POSTGRESQL else "?"
    head = (
        f"SELECT id, lead_id, {_occurred_us(dialect)}, type, campaign_id, product, {properties} FROM activities WHERE "
    )
    if leads:
        return head + f"id > {mark} OR lead_id IN ({', '.join([mark] * leads)})"
    return head + f"id > {mark} AND id <= {mark} ORDER BY id"


#: PostgreSQL: new scores are copied into this table, then written with one UPDATE … FROM.
CREATE_SCORES_TABLE = (
    "CREATE TEMPORARY TABLE rescore_scores (id integer, fit double precision, engagement double precision, "
    "total double precision, level integer, level_rule text, fit_passed boolean, dq_rule text, "
    "dq_reason text) ON COMMIT DROP"
)
#: Arrow's CSV: NULL an empty field, text always quoted (so an empty text stays one)
COPY_SCORES_CSV = "COPY rescore_scores FROM STDIN (FORMAT csv)"
#: Parameters: playbook hash, scored at.
UPDATE_FROM_SCORES = (
    "UPDATE leads SET fit_score = s.fit, engagement_score = s.engagement, total_score = s.total, "
    "level = s.level, level_rule = s.level_rule, fit_passed = s.fit_passed, dq_rule = s.dq_rule, "
    "dq_reason = s.dq_reason, playbook_hash = %s, scored_at = %s FROM rescore_scores s WHERE leads.id = s.id"
)
DROP_SCORES_TABLE = "DROP TABLE rescore_scores"
#: SQLite: one lead's new scores (the id last).
UPDATE_SCORES = (
    "UPDATE leads SET fit_score = ?, engagement_score = ?, total_score = ?, level = ?, level_rule = ?, "
    "fit_passed = ?, dq_rule = ?, dq_reason = ?, playbook_hash = ?, scored_at = ? WHERE id = ?"
)


# --- loading many rows at once and counting them (benchmarks) ------------------------------------


def copy_rows(table: str, columns: Sequence[str]) -> str:
    """PostgreSQL: rows of ``columns`` into ``table`` through ``COPY``."""
    return f"COPY {table} ({', '.join(columns)}) FROM STDIN"


def reset_id_sequence(table: str) -> str:
    """PostgreSQL: after rows were loaded with explicit ids, new rows continue after the largest."""
    return f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"


#: Benchmarks: every lead's stored scores back to what the generator wrote (a kept data set).
RESET_SCORES_FOR_BENCHMARK = (
    "UPDATE leads SET fit_score = 0, engagement_score = 0, total_score = 0, level = NULL, level_rule = NULL, "
    "fit_passed = false, dq_rule = NULL, dq_reason = NULL, playbook_hash = NULL, scored_at = NULL"
)


def analyze(table: str | None = None) -> str:
    """PostgreSQL: refresh the planner's statistics (of one table, or all)."""
    return f"ANALYZE {table}" if table else "ANALYZE"


#: PostgreSQL, in a report's transaction: no JIT compilation (see ``StoreTx.for_reports``).
REPORTS_NO_JIT = "SET LOCAL jit = off"
#: PostgreSQL, in a report's transaction: sorts of a few hundred thousand rows (the campaigns
#: report's touches, 640,000 rows at 1,000,000 leads) in memory instead of merged on disk.
REPORTS_WORK_MEM = "SET LOCAL work_mem = '64MB'"


def vacuum_analyze(table: str) -> str:
    """PostgreSQL, outside a transaction: one table's dead rows reclaimed and statistics refreshed."""
    return f"VACUUM ANALYZE {table}"


#: PostgreSQL, outside a transaction: after a bulk load, what autovacuum would do soon — the
#: visibility map set (index-only scans read no heap page) and the statistics refreshed.
VACUUM_ANALYZE = "VACUUM ANALYZE"

#: PostgreSQL, a bulk load of rows known to be consistent (benchmarks): no foreign-key triggers in
#: this transaction, and memory enough to build the indexes afterwards in one sort each.
BULK_LOAD_SETTINGS = ("SET LOCAL session_replication_role = replica", "SET LOCAL maintenance_work_mem = '1GB'")


#: PostgreSQL: ``:count`` pending timers ``pending:1`` … of kind ``effect``, due 1 to 30 days after ``:now``.
GENERATE_PENDING_TIMERS = (
    "INSERT INTO timers (key, kind, lead_id, due_at, payload, created_at, attempts)"
    " SELECT 'pending:' || g, 'effect', g, :now + (1 + g % 30) * interval '1 day' + g * interval '1 ms',"
    " '{}'::jsonb, :now, 0 FROM generate_series(1, :count) g"
)
#: Timers whose key starts with ``:prefix`` that have not fired.
COUNT_UNFIRED_TIMERS = "SELECT count(*) FROM timers WHERE key LIKE :prefix || '%' AND fired_at IS NULL"
#: Due and fired times of the timers whose key starts with ``:prefix``.
TIMER_TIMES = "SELECT due_at, fired_at FROM timers WHERE key LIKE :prefix || '%'"
#: The benchmark's stand-in for a handler's effect: one row per timer fired.
CREATE_BENCH_EFFECTS = "CREATE TABLE bench_effects (timer_id INTEGER NOT NULL, fired_at VARCHAR(40))"
INSERT_BENCH_EFFECT = "INSERT INTO bench_effects (timer_id, fired_at) VALUES (?, ?)"

COUNT_ROUTING_DECISIONS = "SELECT count(*) FROM routing_decisions"
ROUTING_DECISIONS_BY_STRATEGY = (
    "SELECT coalesce(strategy, 'queued'), count(*) FROM routing_decisions GROUP BY 1 ORDER BY 1"
)
ROUTING_DECISIONS_BY_RULE = (
    "SELECT coalesce(rule_id, 'fallback'), count(*) FROM routing_decisions GROUP BY 1 ORDER BY 1"
)
COUNT_MQLS_WITHOUT_DEPARTMENT = "SELECT count(*) FROM leads WHERE stage = 'mql' AND owner_department IS NULL"
#: the routing benchmark's write floor: the owners routing stored, and its decision log, read back
ROUTED_OWNERS = (
    "SELECT owner_rep, owner_department, assigned_at, id FROM leads WHERE owner_department IS NOT NULL ORDER BY id"
)


def routing_decision_rows(columns: Sequence[str]) -> str:
    return f"SELECT {', '.join(columns)} FROM routing_decisions ORDER BY id"


COUNT_OUTBOX = "SELECT count(*) FROM outbox"
COUNT_TIMERS = "SELECT count(*) FROM timers"

#: the revisions the database says it is at (Alembic's bookkeeping table)
ALEMBIC_VERSIONS = "SELECT version_num FROM alembic_version"


# --- users and API keys ----------------------------------------------------------------------------

#: The key with this SHA-256 (``:hash``) and its user: what every HTTP request is authenticated by.
KEY_PRINCIPAL = (
    "SELECT k.id AS key_id, k.role AS key_role, k.revoked_at, k.last_used_at,"
    " u.id AS user_id, u.email, u.role AS user_role, u.departments, u.rep, u.disabled_at"
    " FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.hash = :hash"
)
#: Record that key ``:id`` was used at ``:now``, unless it was already recorded since ``:since``
#: (at most one write a minute per key, however many requests it makes).
TOUCH_KEY = "UPDATE api_keys SET last_used_at = :now WHERE id = :id AND (last_used_at IS NULL OR last_used_at < :since)"
