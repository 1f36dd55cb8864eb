"""Live intake: a batch of lead or activity records in one transaction, answered record by record.

The HTTP API (``POST /v1/activities``, ``POST /v1/leads``, forms and webhooks) takes the same
records as the import files and the Python API — the same parsers (:mod:`leadrelay.adapters.records`)
and the same :func:`~leadrelay.services.intake.ingest` — and says for every record what happened:
created, updated, duplicate or rejected (with the field and why), the lead's scores, level and
stage, and for a lead handed to sales in this request (a hand-raiser, a new MQL) the department
and rep it was routed to, or the queue it waits in when nobody could take it. A rejected record
does not stop the others: the good records of the batch are stored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa

from leadrelay.adapters.records import ActivityInput, InputError, LeadInput, parse_activity, parse_lead
from leadrelay.adapters.store.sql_store import StoreTx
from leadrelay.adapters.store.tables import leads
from leadrelay.domain.identity import key_external_id
from leadrelay.domain.playbook import Playbook
from leadrelay.services.intake import IngestFacts, Rejection, ingest, link_identities
from leadrelay.services.read_models import ReadModel

#: The most records one request may carry.
MAX_RECORDS = 10_000

RecordKind = Literal["leads", "activities"]
Status = Literal["created", "updated", "duplicate", "rejected"]


class Scores(ReadModel):
    fit: float
    engagement: float
    total: float


class Routing(ReadModel):
    """Where the lead went in this request: a rep of a department, or the department's queue."""

    department: str
    rep: str | None  # None: nobody could take it now; it waits in ``queue``
    queue: str | None
    rule: str | None
    reason: str


class RecordResult(ReadModel):
    """What one record of the request did."""

    index: int  # its position in the request (0 for the first)
    status: Status
    lead: str | None = None  # the lead's reference: its e-mail, or its external id
    field: str | None = None  # rejected: the field at fault
    reason: str | None = None  # rejected: why
    stage: str | None = None
    level: int | None = None
    scores: Scores | None = None
    owner_department: str | None = None  # who holds the lead now
    owner_rep: str | None = None
    hand_raiser: bool = False  # the record is a request for a sales conversation
    routed: Routing | None = None  # set when this request handed the lead to sales


class IntakeResult(ReadModel):
    """The answer to one intake request: counts, then one result per record, in request order."""

    received: int
    created: int
    updated: int
    duplicates: int
    rejected: int
    records: list[RecordResult]

    def lead_ids(self, ids: Mapping[str, int]) -> list[int]:
        """The ids of the leads the answer mentions (``ids``: lead reference → id)."""
        return sorted({ids[r.lead] for r in self.records if r.lead is not None and r.lead in ids})


class TooManyRecords(InputError):
    """More records than one request may carry."""

    def __init__(self, count: int) -> None:
        super().__init__("records", f"{count} records: at most {MAX_RECORDS:,} per request")
        self.count = count


def take_records(
    tx: StoreTx, playbook: Playbook, kind: RecordKind, records: Sequence[Any], now: datetime
) -> tuple[IntakeResult, dict[str, int]]:
    """Store ``records`` (lead or activity records, as in the import files) and judge, route and
    notify every lead they touch, in the transaction ``tx``. Returns the answer and the ids of the
    leads it names (by reference), for the idempotency record."""
    if len(records) > MAX_RECORDS:
        raise TooManyRecords(len(records))
    rejected: dict[int, Rejection] = {}
    parsed: list[tuple[int, LeadInput | ActivityInput]] = []
    for index, record in enumerate(records):
        try:
            if isinstance(record, InputError):  # a row that could not even be read as a record
                raise record
            if kind == "leads":
                parsed.append((index, parse_lead(record, now)))
            else:
                parsed.append((index, parse_activity(record, now, playbook.activity_types)))
        except InputError as exc:
            rejected[index] = Rejection(index, exc.field, exc.message)
    kept, refused = link_identities(tx, playbook, parsed, now)  # refuses people erased at their request
    rejected.update((r.record, r) for r in refused)
    people = [item for _, item in kept if isinstance(item, LeadInput)]
    numbered = [(index, item) for index, item in kept if isinstance(item, ActivityInput)]
    facts = IngestFacts()
    acts = [item for _, item in numbered]
    batch = ingest(tx, playbook, people, acts, now, numbers=[index for index, _ in numbered], facts=facts)
    # a different activity under a source_id already used: refused by the ingest, not a duplicate
    rejected.update((r.record, r) for r in batch.rejected)

    routed = {row.lead: row for row in batch.routed}
    ids = facts.lead_ids
    rows = _lead_rows(tx, ids.values())
    seen_activities: set[str] = set(facts.existing_activities)
    first_of_lead: set[str] = set()
    results: dict[int, RecordResult] = {
        index: RecordResult(index=index, status="rejected", field=r.field, reason=r.message)
        for index, r in rejected.items()
    }
    for index, item in kept:
        if index in rejected:
            continue
        key = item.key
        lead_id = ids[key]
        status: Status
        hand_raiser = False
        if isinstance(item, ActivityInput):
            hand_raiser = any(rule.matches(item.activity) for rule in playbook.hand_raisers)
            if item.activity.key in seen_activities:
                status = "duplicate"
            else:
                seen_activities.add(item.activity.key)
                status = "created" if key in facts.created and key not in first_of_lead else "updated"
        elif key in facts.created and key not in first_of_lead:
            status = "created"
        else:
            status = "updated" if lead_id in facts.changed else "duplicate"
        where = routed.get(key) if key not in first_of_lead else None  # told once, on its first record
        first_of_lead.add(key)
        row = rows[lead_id]
        results[index] = RecordResult(
            index=index,
            status=status,
            lead=_reference(key),
            stage=row.stage,
            level=row.level,
            scores=Scores(fit=row.fit_score, engagement=row.engagement_score, total=row.total_score),
            owner_department=row.owner_department,
            owner_rep=row.owner_rep,
            hand_raiser=hand_raiser,
            routed=None
            if where is None
            else Routing(
                department=where.department,
                rep=where.rep,
                queue=where.department if where.rep is None else None,
                rule=where.rule,
                reason=where.reason,
            ),
        )
    ordered = [results[i] for i in sorted(results)]
    count = {s: sum(1 for r in ordered if r.status == s) for s in ("created", "updated", "duplicate", "rejected")}
    result = IntakeResult(
        received=len(records),
        created=count["created"],
        updated=count["updated"],
        duplicates=count["duplicate"],
        rejected=count["rejected"],
        records=ordered,
    )
    return result, {_reference(key): lead_id for key, lead_id in ids.items()}


def _reference(key: str) -> str:
    """A lead key as people and ``GET /v1/leads/{ref}`` write it: the e-mail, or the external id."""
    external = key_external_id(key)
    return external if external is not None else key


def _lead_rows(tx: StoreTx, ids: Any) -> dict[int, Any]:
    wanted = sorted(set(ids))
    out: dict[int, Any] = {}
    columns = (
        leads.c.id,
        leads.c.stage,
        leads.c.level,
        leads.c.fit_score,
        leads.c.engagement_score,
        leads.c.total_score,
        leads.c.owner_rep,
        leads.c.owner_department,
    )
    for start in range(0, len(wanted), 500):
        part = wanted[start : start + 500]
        for row in tx.execute(sa.select(*columns).where(leads.c.id.in_(part))):
            out[row.id] = row
    return out
