"""The database schema (SQLAlchemy Core). Alembic migrations must produce exactly this."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect

from leadrelay.adapters.store.times import read_time


class UtcDateTime(sa.types.TypeDecorator[datetime]):
    """Timezone-aware datetimes stored as UTC on every database (SQLite keeps no zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return read_time(value)


_CENTS = Decimal("0.01")
_PLACES = Decimal("0.0001")


class Money(sa.types.TypeDecorator[Decimal]):
    """An exact decimal amount: up to 15 digits before the point and 4 after (see
    ``records.parse_amount``). PostgreSQL keeps it as NUMERIC(19, 4); SQLite has no exact decimal
    type (NUMERIC keeps a float's 15 digits), so there it is kept as its decimal text."""

    impl = sa.Numeric(19, 4)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.String(24))
        return dialect.type_descriptor(sa.Numeric(19, 4))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        return str(Decimal(value)) if dialect.name == "sqlite" else Decimal(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        """Two decimal places, or four when the amount needs them (as ``parse_amount`` gives it)."""
        if value is None:
            return None
        amount = Decimal(str(value))
        cents = amount.quantize(_CENTS)
        return cents if cents == amount else amount.quantize(_PLACES)


JsonType = sa.JSON().with_variant(JSONB(), "postgresql")

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

playbooks = sa.Table(
    "playbooks",
    metadata,
    sa.Column("hash", sa.String(64), primary_key=True),
    sa.Column("playbook_id", sa.String(80), nullable=False),
    sa.Column("version", sa.String(80), nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("loaded_at", UtcDateTime, nullable=False),
)

#: Every time a playbook was made the active one: which, when, and by whom (newest last).
playbook_activations = sa.Table(
    "playbook_activations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("hash", sa.String(64), sa.ForeignKey("playbooks.hash"), nullable=False),
    sa.Column("activated_at", UtcDateTime, nullable=False),
    sa.Column("activated_by", sa.String(320), nullable=False),
    sa.Index("ix_playbook_activations_time", "activated_at"),
)

settings = sa.Table(
    "settings",
    metadata,
    sa.Column("key", sa.String(80), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("domain", sa.String(255), nullable=False, unique=True),
    sa.Column("name", sa.Text),
    sa.Column("industry", sa.String(80)),
    sa.Column("employees", sa.Integer),
    sa.Column("country", sa.String(2)),
    sa.Column("region", sa.String(80)),
    sa.Column("prefecture", sa.String(20)),
    sa.Column("tier", sa.String(40)),
    sa.Column("owner", sa.String(80)),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    # matching (see domain.matching): how the name reads, the fields that corroborate a close name,
    # the normalised keys of the name and the reading, and the account it was merged into
    sa.Column("reading", sa.String(200)),
    sa.Column("phone", sa.String(40)),
    sa.Column("postal_code", sa.String(20)),
    sa.Column("website", sa.String(255)),
    sa.Column("name_key", sa.String(200), index=True),
    sa.Column("reading_key", sa.String(200), index=True),
    sa.Column("merged_into", sa.Integer),
)

#: More domains of an account (added by a person, or taken over from an account merged into it).
account_domains = sa.Table(
    "account_domains",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id"), nullable=False, index=True),
    sa.Column("domain", sa.String(255), nullable=False, unique=True),
    sa.Column("source", sa.String(20), nullable=False),  # added, merged
    sa.Column("actor", sa.String(120), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
)

#: More names an account goes by: confirmed in review, or taken over in a merge (matched in tier 2).
account_aliases = sa.Table(
    "account_aliases",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id"), nullable=False, index=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("name_key", sa.String(200), nullable=False, index=True),
    sa.Column("source", sa.String(20), nullable=False),  # confirmed, merged
    sa.Column("actor", sa.String(120), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.UniqueConstraint("account_id", "name_key", name="uq_account_aliases_account_key"),
)

#: What people changed about accounts, with who and when: merge, add_domain, confirm, reject.
#: A rejected (name key, account) pair is never matched in tier 3 again.
account_changes = sa.Table(
    "account_changes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("account_id", sa.Integer, nullable=False),
    sa.Column("other_account_id", sa.Integer),  # merge: the account merged into account_id
    sa.Column("lead_id", sa.Integer),  # confirm, reject: the lead reviewed
    sa.Column("value", sa.Text),  # add_domain: the domain; confirm, reject: the name key
    sa.Column("actor", sa.String(120), nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Index("ix_account_changes_kind_lead", "kind", "lead_id"),
)

campaigns = sa.Table(
    "campaigns",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("code", sa.String(120), nullable=False, unique=True),
    sa.Column("name", sa.Text),
    sa.Column("channel", sa.String(80)),
    sa.Column("kind", sa.String(40)),
    sa.Column("created_at", UtcDateTime, nullable=False),
)

leads = sa.Table(
    "leads",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("email", sa.String(320), unique=True),  # a lead has an e-mail, an external id, or both
    sa.Column("external_id", sa.String(200), unique=True),  # the source CRM's record id
    sa.Column("first_name", sa.Text),
    sa.Column("last_name", sa.Text),
    sa.Column("title", sa.Text),
    sa.Column("seniority", sa.String(40)),
    sa.Column("department", sa.String(80)),
    sa.Column("phone", sa.String(40)),
    sa.Column("country", sa.String(2)),
    sa.Column("prefecture", sa.String(20)),
    sa.Column("postal_code", sa.String(20)),
    sa.Column("source_channel", sa.String(80)),
    sa.Column("company_name", sa.String(200)),
    sa.Column("list_source", sa.String(20), nullable=False),
    sa.Column("custom", JsonType, nullable=False),
    sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id"), index=True),
    # how the account was matched: the tier (1-4, see domain.matching) and the decision with its
    # evidence, the candidates passed over and the claim it was made from
    sa.Column("match_tier", sa.Integer, index=True),
    sa.Column("match", JsonType),
    sa.Column("matched_at", UtcDateTime),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    # where the lead stands (derived from the history; kept for fast reads)
    sa.Column("stage", sa.String(20), nullable=False),  # by stage: ix_leads_stage_since, ix_leads_stage_owner
    sa.Column("stage_at", UtcDateTime, nullable=False),
    # the last fixed point of the history: activity-driven moves after it are re-derived
    sa.Column("anchor_stage", sa.String(20), nullable=False),
    sa.Column("anchor_at", UtcDateTime),
    sa.Column("anchor_check", sa.Boolean, nullable=False),
    sa.Column("level", sa.Integer),
    sa.Column("level_rule", sa.String(80)),
    sa.Column("fit_score", sa.Float, nullable=False),
    sa.Column("engagement_score", sa.Float, nullable=False),
    sa.Column("total_score", sa.Float, nullable=False),
    sa.Column("fit_passed", sa.Boolean, nullable=False),
    sa.Column("mql_rule", sa.String(80)),
    sa.Column("mql_product", sa.String(80)),
    sa.Column("mql_at", UtcDateTime),
    sa.Column("priority", sa.Boolean, nullable=False),
    sa.Column("dq_rule", sa.String(80)),
    sa.Column("dq_reason", sa.String(80)),
    sa.Column("last_activity_at", UtcDateTime),
    sa.Column("playbook_hash", sa.String(64)),
    sa.Column("scored_at", UtcDateTime),
    sa.Column("recycled_count", sa.Integer, nullable=False),
    # who owns the lead now: a rep in a department, or a department's queue (rep empty)
    sa.Column("owner_rep", sa.String(80), index=True),
    sa.Column("owner_department", sa.String(80)),
    sa.Column("assigned_at", UtcDateTime),
    # the last touch sales recorded (call, meeting, e-mail): a sign of life for the inactivity rule
    sa.Column("last_touch_at", UtcDateTime),
    # set when the person's personal data was erased (see ``services.erasure``): the row stays, anonymous
    sa.Column("erased_at", UtcDateTime),
    sa.CheckConstraint("email IS NOT NULL OR external_id IS NOT NULL", name="ck_leads_identity"),
    sa.Index("ix_leads_updated_at", "updated_at", "id"),
    # open leads by owner (the status report's counts read this index alone)
    sa.Index("ix_leads_stage_owner", "stage", "owner_department", "owner_rep", "assigned_at"),
    # aging: per stage, by the moment the lead entered it (counts per step, oldest first)
    sa.Index("ix_leads_stage_since", "stage", "stage_at", "id"),
    # leads by creation time (the quality report's effective leads and unique companies)
    sa.Index("ix_leads_created_owner", "created_at", "stage", "account_id", "owner_department", "owner_rep"),
    # PostgreSQL: room on each page so that a rescore's score updates stay HOT (migration 0023)
    postgresql_with={"fillfactor": 80},
)

activities = sa.Table(
    "activities",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("key", sa.String(64), nullable=False, unique=True),
    sa.Column("lead_id", sa.Integer, sa.ForeignKey("leads.id"), nullable=False),
    sa.Column("type", sa.String(60), nullable=False),
    sa.Column("occurred_at", UtcDateTime, nullable=False),
    sa.Column("recorded_at", UtcDateTime, nullable=False),
    sa.Column("campaign_id", sa.Integer, sa.ForeignKey("campaigns.id")),
    sa.Column("product", sa.String(80)),
    sa.Column("properties", JsonType, nullable=False),
    sa.Column("source_id", sa.String(200)),
    sa.Index("ix_activities_lead_time", "lead_id", "occurred_at"),
    # a lead's activities of some types after a moment (touch types: untouched leads, first touches)
    sa.Index("ix_activities_lead_type_time", "lead_id", "type", "occurred_at"),
    # the campaigns report: a lead's campaign touches before a conversion, and the leads a campaign
    # reached in a period, read from the indexes alone
    sa.Index(
        "ix_activities_campaign_touches",
        "lead_id",
        "occurred_at",
        "campaign_id",
        "id",  # the touches' order is (occurred_at, id): PostgreSQL reads them from the index alone
        postgresql_where=sa.text("campaign_id IS NOT NULL"),
        sqlite_where=sa.text("campaign_id IS NOT NULL"),
    ),
    sa.Index(
        "ix_activities_campaign_time",
        "occurred_at",
        "campaign_id",
        "lead_id",
        postgresql_where=sa.text("campaign_id IS NOT NULL"),
        sqlite_where=sa.text("campaign_id IS NOT NULL"),
    ),
)

transitions = sa.Table(
    "transitions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("lead_id", sa.Integer, sa.ForeignKey("leads.id"), nullable=False),
    sa.Column("occurred_at", UtcDateTime, nullable=False),
    sa.Column("recorded_at", UtcDateTime, nullable=False),
    sa.Column("from_stage", sa.String(20), nullable=False),
    sa.Column("to_stage", sa.String(20), nullable=False),
    sa.Column("trigger", sa.String(40), nullable=False),
    sa.Column("actor", sa.String(120), nullable=False),
    sa.Column("rule_id", sa.String(80)),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("derived", sa.Boolean, nullable=False),
    sa.Column("level", sa.Integer),
    sa.Column("score", sa.Float),
    sa.Column("product", sa.String(80)),
    sa.Column("priority", sa.Boolean, nullable=False),
    sa.Column("activity_key", sa.String(64)),
    sa.Column("playbook_hash", sa.String(64)),
    # a lead's history in time order, with the stages moved between (the reports read it alone)
    sa.Index("ix_transitions_lead_time", "lead_id", "occurred_at", "to_stage", "from_stage"),
    sa.Index("ix_transitions_to_stage_time", "to_stage", "occurred_at"),
)

#: Derived moves a late fact changed: the row as it was, when it was replaced and why. The history in
#: ``transitions`` is the current truth; this table keeps what it said before (appended, never rewritten).
transition_corrections = sa.Table(
    "transition_corrections",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("lead_id", sa.Integer, sa.ForeignKey("leads.id"), nullable=False),
    sa.Column("transition_id", sa.Integer, nullable=False),  # the row's id in transitions before it was replaced
    sa.Column("occurred_at", UtcDateTime, nullable=False),
    sa.Column("recorded_at", UtcDateTime, nullable=False),
    sa.Column("from_stage", sa.String(20), nullable=False),
    sa.Column("to_stage", sa.String(20), nullable=False),
    sa.Column("trigger", sa.String(40), nullable=False),
    sa.Column("rule_id", sa.String(80)),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("score", sa.Float),
    sa.Column("corrected_at", UtcDateTime, nullable=False),
    sa.Column("correction", sa.Text, nullable=False),  # why it was replaced
    sa.Index("ix_transition_corrections_lead", "lead_id", "corrected_at"),
)

routing_decisions = sa.Table(
    "routing_decisions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("lead_id", sa.Integer, sa.ForeignKey("leads.id"), nullable=False),
    sa.Column("decided_at", UtcDateTime, nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),  # route, reroute, reassign
    sa.Column("rule_id", sa.String(80)),
    sa.Column("department", sa.String(80), nullable=False),
    sa.Column("strategy", sa.String(40)),
    sa.Column("rep_id", sa.String(80)),
    sa.Column("previous_rep", sa.String(80)),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("details", JsonType, nullable=False),
    sa.Column("actor", sa.String(120), nullable=False),
    sa.Column("playbook_hash", sa.String(64)),
    # the lead's level when it was decided: the level that chose its SLA policy (NULL before 0018)
    sa.Column("level", sa.SmallInteger),
    sa.Index("ix_routing_decisions_lead_time", "lead_id", "decided_at"),
    # by time (the quality report: intake per department, leads received per rep; a rep's leads
    # received since a moment): the rep is in the index, read alone over a range of time
    sa.Index("ix_routing_decisions_time", "decided_at", "kind", "department", "rep_id", "lead_id"),
)

#: Round-robin turns: ``rep:<id>`` → the rep's pass, ``department:<id>`` → the department's clock.
routing_counters = sa.Table(
    "routing_counters",
    metadata,
    sa.Column("key", sa.String(120), primary_key=True),
    sa.Column("value", sa.Float, nullable=False),
)

#: What changed about a rep since the playbook was written: switched off, or away for a while.
rep_status = sa.Table(
    "rep_status",
    metadata,
    sa.Column("rep_id", sa.String(80), primary_key=True),
    sa.Column("active", sa.Boolean),
    sa.Column("away_from", sa.Date),
    sa.Column("away_to", sa.Date),
    sa.Column("note", sa.Text),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Column("capacity", sa.Integer),  # open leads at most, set at run time (None: the playbook's)
)

outcomes = sa.Table(
    "outcomes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("key", sa.String(64), nullable=False, unique=True),  # source id or a hash of the record
    sa.Column("lead_id", sa.Integer, sa.ForeignKey("leads.id"), nullable=False),
    sa.Column("outcome", sa.String(10), nullable=False),  # won or lost
    sa.Column("closed_at", UtcDateTime, nullable=False),
    sa.Column("recorded_at", UtcDateTime, nullable=False),
    sa.Column("amount", Money),
    sa.Column("currency", sa.String(3)),
    sa.Column("product", sa.String(80)),
    sa.Column("lost_reason", sa.Text),
    sa.Column("sdr", sa.String(120)),  # who qualified the lead
    sa.Column("sr", sa.String(120)),  # who closed the deal
    sa.Column("source_id", sa.String(200)),
    sa.Column("properties", JsonType, nullable=False),
    sa.Index("ix_outcomes_lead_time", "lead_id", "closed_at"),
)

#: Summary tables (``adapters.store.summaries``): rows derived from the facts above, one set per lead,
#: derived again for a lead in the same transaction as any change to its facts — what the reports
#: read instead of walking every lead's history. A recount from the facts always gives the same rows.

#: One row per **loop** of a lead: from one of its MQL moves up to (not including) its next one. The
#: funnel report reads it.
summary_loops = sa.Table(
    "summary_loops",
    metadata,
    sa.Column("loop_id", sa.Integer, primary_key=True, autoincrement=False),  # the MQL move (transitions.id)
    sa.Column("lead_id", sa.Integer, nullable=False),
    sa.Column("start", UtcDateTime, nullable=False),  # the MQL move's moment
    sa.Column("until", UtcDateTime),  # the lead's next MQL move's moment (NULL: none yet)
    sa.Column("level", sa.Integer),  # the level at the MQL move
    sa.Column("campaign_id", sa.Integer),  # the campaign of the activity that made the MQL
    sa.Column("rep_id", sa.String(80)),  # the loop's last routing decision: who owns it
    sa.Column("department", sa.String(80)),
    # the loop's first move into each later stage (NULL: not reached)
    sa.Column("pre_sql_at", UtcDateTime),
    sa.Column("sal_at", UtcDateTime),
    sa.Column("sql_at", UtcDateTime),
    sa.Column("opportunity_at", UtcDateTime),
    sa.Column("won_at", UtcDateTime),
    sa.Column("exited", sa.Boolean, nullable=False),  # the loop holds a move that ends it
    sa.Column("rejected", sa.String(80)),  # the reason code of the loop's first rejection
    sa.Column("recycled", sa.String(20)),  # why the loop was recycled (see the funnel report)
    sa.Index("ix_summary_loops_start", "start"),
    sa.Index("ix_summary_loops_lead", "lead_id"),
)

#: One row per **step**: a move into Pre-SQL, SQL or Opportunity, with the path it took there (a
#: break — rejected or recycled — in its window: nurture) and its amount. The dependency and
#: campaigns reports read it (definitions in ``services.report_paths``).
summary_steps = sa.Table(
    "summary_steps",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),  # the move (transitions.id)
    sa.Column("stage", sa.String(20), nullable=False),
    sa.Column("lead_id", sa.Integer, nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("nurture_from", UtcDateTime),  # the window's first break (NULL: the direct path)
    sa.Column("amount", Money),
    sa.Column("currency", sa.String(3)),
    sa.Index("ix_summary_steps_stage_time", "stage", "at"),
    sa.Index("ix_summary_steps_lead", "lead_id"),
)

#: One row per **assignment**: a routing decision that gave a lead to a rep, up to the lead's next
#: decision — with the moments the SLA and status reports time it by: the answer, the first touch
#: sales recorded, the first touch-type activity (the playbook's ``sales.touch_types`` recorded in
#: the setting ``summary_touch_types``), the end, and the MQL it came from.
summary_assignments = sa.Table(
    "summary_assignments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),  # the decision (routing_decisions.id)
    sa.Column("lead_id", sa.Integer, nullable=False),
    sa.Column("decided_at", UtcDateTime, nullable=False),
    sa.Column("rep_id", sa.String(80), nullable=False),
    sa.Column("department", sa.String(80), nullable=False),
    sa.Column("level", sa.Integer),  # stored with the decision; before revision 0018, the level at the MQL
    sa.Column("at_mql", sa.Boolean, nullable=False),  # the lead was an MQL when it was given (an SLA clock started)
    sa.Column("until", UtcDateTime),  # the lead's next routing decision (NULL: the lead's current one)
    sa.Column("answered_at", UtcDateTime),  # the first accept, reject or Pre-SQL qualify within
    sa.Column("leaving_at", UtcDateTime),  # the first move out of MQL within (an answer or not)
    sa.Column("touched_at", UtcDateTime),  # the first touch sales recorded within
    sa.Column("touch_activity_at", UtcDateTime),  # the first touch-type activity within
    sa.Column("mql_at", UtcDateTime),  # the lead's last MQL move at or before the decision
    sa.Column("activity_at", UtcDateTime),  # the moment of the activity that made that MQL
    sa.Column("stage_now", sa.String(20)),  # the lead's stage now, on its current assignment (else NULL)
    sa.Index("ix_summary_assignments_time", "decided_at"),
    sa.Index("ix_summary_assignments_lead", "lead_id", "decided_at"),
    # the status report's untouched leads: current assignments without a touch, oldest first
    sa.Index(
        "ix_summary_assignments_untouched",
        "decided_at",
        "stage_now",
        "department",
        "rep_id",
        "lead_id",
        postgresql_where=sa.text("until IS NULL AND touched_at IS NULL AND touch_activity_at IS NULL"),
        sqlite_where=sa.text("until IS NULL AND touched_at IS NULL AND touch_activity_at IS NULL"),
    ),
)

#: One row per **conversion and campaign**: the credit the campaigns report gives the campaign for
#: the conversion (a move into MQL or Opportunity, or a won deal) by its touches — the lead's
#: activities of a campaign up to 90 days before it (the report's default influence window). Kept
#: per lead (``adapters.store.summaries.credit_rows``); a conversion without a touch has no row.
summary_credits = sa.Table(
    "summary_credits",
    metadata,
    sa.Column("kind", sa.String(12), primary_key=True),  # mql, opportunity, won
    sa.Column("conversion", sa.Integer, primary_key=True, autoincrement=False),  # the move's or the deal's id
    sa.Column("campaign_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("lead_id", sa.Integer, nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),  # the conversion's moment (a won deal's: its close)
    sa.Column("first", sa.Integer, nullable=False),  # 1: the campaign of the earliest touch
    sa.Column("last", sa.Integer, nullable=False),  # 1: the campaign of the latest touch
    sa.Column("share", sa.Float, nullable=False),  # the campaign's touches / all the touches (linear)
    sa.Column("amount", Money),  # a won deal's amount
    sa.Column("currency", sa.String(3)),
    sa.Column("direct", sa.Integer, nullable=False),  # 1: an opportunity on the direct path
    sa.Index("ix_summary_credits_time", "at"),
    sa.Index("ix_summary_credits_lead", "lead_id"),
)

#: How many leads each campaign reached, by local day (``adapters.store.campaign_reach``): the
#: lead–campaign pairs with an activity on ``day`` (a ``date.toordinal()`` in the zone recorded in
#: the setting ``summary_campaign_zone``) whose previous such day was ``since`` (0: none). The
#: distinct leads a campaign reached on the days F..T are the sum over ``F <= day <= T AND since < F``.
summary_campaign_reach = sa.Table(
    "summary_campaign_reach",
    metadata,
    sa.Column("campaign_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("day", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("since", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("lead_count", sa.Integer, nullable=False),
    # the report's range: the period's days, read from the index alone
    sa.Index("ix_summary_campaign_reach_day", "day", "since", "campaign_id", "lead_count"),
)

#: The amount sales gave when it created an opportunity (``leadrelay advance LEAD opportunity
#: --amount``): the pipeline amount of that loop of the lead, at the time of the opportunity's move.
opportunity_amounts = sa.Table(
    "opportunity_amounts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("lead_id", sa.Integer, sa.ForeignKey("leads.id"), nullable=False),
    sa.Column("occurred_at", UtcDateTime, nullable=False),  # the opportunity transition's time
    sa.Column("recorded_at", UtcDateTime, nullable=False),
    sa.Column("amount", Money, nullable=False),
    sa.Column("currency", sa.String(3)),
    sa.Column("actor", sa.String(120), nullable=False),
    sa.Index("ix_opportunity_amounts_lead_time", "lead_id", "occurred_at"),
)

import_runs = sa.Table(
    "import_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    # hash of kind, mapping, file path, size and the first MB: a changed file is another run
    sa.Column("key", sa.String(64), nullable=False, unique=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("mapping", sa.Text, nullable=False),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("head_hash", sa.String(64), nullable=False),
    sa.Column("last_row", sa.Integer, nullable=False),  # committed up to this row (line) number
    # bytes of the rejects file written (and fsynced) before the checkpoint committed
    sa.Column("rejects_size", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("rejects_path", sa.Text),  # where the rejected rows went (absolute); erasure rewrites it
    sa.Column("started_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Column("finished_at", UtcDateTime),
)

#: Messages to send (e-mail, webhooks), written in the same transaction as the change that
#: caused them and delivered by workers (see ``leadrelay.adapters.store.outbox`` and ``leadrelay.entrypoints.worker``).
outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("key", sa.String(64), nullable=False, unique=True),  # enqueueing the same key again does nothing
    sa.Column("channel", sa.String(20), nullable=False),  # email or webhook
    sa.Column("target", sa.String(80)),  # the playbook's channel id
    sa.Column("recipient", sa.Text, nullable=False),  # an e-mail address, or the channel for a webhook
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("payload", JsonType, nullable=False),  # delivery details and the webhook document
    sa.Column("lang", sa.String(2), nullable=False),
    sa.Column("event", sa.String(40), nullable=False),
    sa.Column("lead_id", sa.Integer),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("due_at", UtcDateTime, nullable=False),  # next attempt not before this
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("last_error", sa.Text),
    sa.Column("sent_at", UtcDateTime),
    sa.Column("failed_at", UtcDateTime),  # gave up: after the last attempt, or an error retrying cannot fix
    sa.Column("claimed_by", sa.String(120)),  # the worker delivering it now ...
    sa.Column("claimed_until", UtcDateTime),  # ... until its lease runs out
    sa.Index(
        "ix_outbox_pending_due",
        "due_at",
        postgresql_where=sa.text("sent_at IS NULL AND failed_at IS NULL"),
        sqlite_where=sa.text("sent_at IS NULL AND failed_at IS NULL"),
    ),
    sa.Index("ix_outbox_lead", "lead_id"),
)

#: Durable timers (SLA warnings and breaches, inactivity recycling, ...): fired once each, by
#: whichever worker takes them, in the same transaction as their effect.
timers = sa.Table(
    "timers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("key", sa.String(200), nullable=False, unique=True),
    sa.Column("kind", sa.String(40), nullable=False),  # picks the handler
    sa.Column("lead_id", sa.Integer),
    sa.Column("due_at", UtcDateTime, nullable=False),  # fire at or after this (after a failed try: the next try)
    sa.Column("payload", JsonType, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("fired_at", UtcDateTime),
    sa.Column("fired_by", sa.String(120)),  # the worker that fired it
    sa.Column("attempts", sa.Integer, nullable=False),  # failed tries (the handler raised)
    sa.Column("last_error", sa.Text),
    sa.Column("failed_at", UtcDateTime),  # gave up after the last try
    sa.Index(
        "ix_timers_pending_due",
        "due_at",
        postgresql_where=sa.text("fired_at IS NULL AND failed_at IS NULL"),
        sqlite_where=sa.text("fired_at IS NULL AND failed_at IS NULL"),
    ),
    sa.Index("ix_timers_lead_kind", "lead_id", "kind"),
)

#: What sales did to reach a lead (a call, a meeting, an e-mail) and how it went: facts recorded by
#: the rep. A touch stops the first-touch SLA clock and restarts the inactivity clock.
lead_touches = sa.Table(
    "lead_touches",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("lead_id", sa.Integer, sa.ForeignKey("leads.id"), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),  # call | meeting | email
    sa.Column("outcome", sa.String(40), nullable=False),
    sa.Column("occurred_at", UtcDateTime, nullable=False),
    sa.Column("recorded_at", UtcDateTime, nullable=False),
    sa.Column("note", sa.Text),
    sa.Column("actor", sa.String(320), nullable=False),
    sa.Index("ix_lead_touches_lead_time", "lead_id", "occurred_at"),
)

#: Free-text notes on a lead, with who wrote them and when.
lead_notes = sa.Table(
    "lead_notes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("lead_id", sa.Integer, sa.ForeignKey("leads.id"), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("actor", sa.String(320), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Index("ix_lead_notes_lead_time", "lead_id", "created_at"),
)

#: Personal-data erasures (APPI / GDPR requests): who asked, when, the erased lead's pseudonymous
#: ref and how many rows of each table were changed — never the personal data itself.
erasures = sa.Table(
    "erasures",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("ref", sa.String(40), nullable=False, unique=True),  # the anonymous lead's new external id
    sa.Column("lead_id", sa.Integer, sa.ForeignKey("leads.id"), nullable=False, unique=True),
    sa.Column("requested_by", sa.String(320), nullable=False),
    sa.Column("erased_at", UtcDateTime, nullable=False),
    sa.Column("counts", JsonType, nullable=False),  # table -> rows changed
    sa.Column("files", JsonType, nullable=False),  # rejects files rewritten, rows taken out, files not reachable
)

#: Keyed hashes (HMAC-SHA256 with this database's secret, setting ``erasure_secret``) of the
#: e-mails and external ids of erased people: intake refuses records for them, so marketing
#: automation cannot bring the person back. Deliberately not linked to the erasure or the lead:
#: knowing the e-mail must not lead back to the anonymous lead's history.
erased_identities = sa.Table(
    "erased_identities",
    metadata,
    sa.Column("digest", sa.String(64), primary_key=True),
)

#: The people who may use the HTTP API (and, later, the dashboard), each with one role.
users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("email", sa.String(255), nullable=False, unique=True),  # normalised (lower-case)
    sa.Column("name", sa.Text),
    sa.Column("role", sa.String(20), nullable=False),  # admin | marketing | manager | rep
    sa.Column("departments", JsonType, nullable=False),  # a manager's departments (playbook ids)
    sa.Column("rep", sa.String(80)),  # a rep user's rep id in the playbook
    sa.Column("password_hash", sa.Text),  # argon2id; None: no password (API keys only)
    sa.Column("disabled_at", UtcDateTime),  # set: every key of the user is refused
    sa.Column("disabled_by", sa.String(255)),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("created_by", sa.String(255), nullable=False),
    # wrong dashboard passwords in a row, and until when the user may not log in after too many
    sa.Column("failed_logins", sa.Integer, nullable=False, server_default="0"),
    sa.Column("locked_until", UtcDateTime),
)

#: Dashboard sessions: only the SHA-256 of the session token (the cookie) is stored.
web_sessions = sa.Table(
    "web_sessions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("last_seen_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),  # idle expiry, moved on as the session is used
    sa.Column("ended_at", UtcDateTime),  # logged out (or the user disabled)
    sa.Index("ix_web_sessions_user", "user_id"),
)

#: API keys: only their SHA-256 is stored (the key is shown once, when created).
api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("name", sa.Text),
    sa.Column("prefix", sa.String(16), nullable=False),  # the key's first characters, shown in lists
    sa.Column("hash", sa.String(64), nullable=False, unique=True),  # SHA-256 hex of the whole key
    sa.Column("role", sa.String(20), nullable=False),  # the user's role or a narrower one
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("created_by", sa.String(255), nullable=False),
    sa.Column("last_used_at", UtcDateTime),  # recorded at most once a minute
    sa.Column("revoked_at", UtcDateTime),
    sa.Column("revoked_by", sa.String(255)),
    sa.Index("ix_api_keys_user_id", "user_id"),
)

#: Idempotency keys of HTTP intake calls (Stripe semantics): the first response to a key, replayed
#: for a repeat with the same body. The row is written in the same transaction as the intake it
#: answers (claimed first, its response filled in last), so a request is processed at most once
#: per key: a second request with the key waits for the first to commit and replays its answer.
idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("scope", sa.String(200), nullable=False),  # who and where: user id and route, form, hook
    sa.Column("key", sa.String(255), nullable=False),
    sa.Column("request_hash", sa.String(64), nullable=False),  # SHA-256 of the request body
    sa.Column("status_code", sa.Integer),  # set with the response, in the claiming transaction
    sa.Column("response_headers", JsonType),
    sa.Column("response_body", sa.Text),
    sa.Column("lead_ids", JsonType, nullable=False),  # the leads the response mentions (erasure drops it)
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),  # kept 24 hours; a key may be used again after
    sa.UniqueConstraint("scope", "key", name="uq_idempotency_keys_scope_key"),
    sa.Index("ix_idempotency_keys_expires_at", "expires_at"),
)
