"""From an event to messages in the outbox: who is told, on which channel, in which language.

Call :func:`notify` (one event) or :func:`notify_all` (a batch of the same event) inside the
transaction that changes the state the event is about: the messages commit with the change.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from leadrelay.adapters.store.outbox import Message, enqueue, message_key
from leadrelay.adapters.store.sql_store import StoreTx
from leadrelay.domain.lifecycle import Stage
from leadrelay.domain.model import Activity
from leadrelay.domain.notifications import Channel, EventFacts, NotificationRule, Person, render
from leadrelay.domain.playbook import Playbook
from leadrelay.domain.routing import Routing

log = logging.getLogger("leadrelay.adapters.notify")

#: stages where sales holds a lead: what it does then is news for sales
_WITH_SALES = frozenset({Stage.MQL, Stage.PRE_SQL, Stage.SAL, Stage.SQL, Stage.OPPORTUNITY})


@dataclass(frozen=True, slots=True)
class NotificationContext:
    """What an event is about. Only ``lead_id`` is usually needed: the lead's name, company,
    level, score and owner are read from the database.

    ``rep_id``/``department`` override the lead's stored owner; ``ref`` is what makes this
    notification distinct from an earlier one of the same event for the same lead (a decision,
    a timer key, ...): the same ``ref`` is enqueued once. Without it, ``now`` is used."""

    lead_id: int | None = None
    rep_id: str | None = None
    department: str | None = None
    reason: str | None = None
    due_at: datetime | None = None
    page: str | None = None
    ref: str | None = None
    details: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _LeadRow:
    name: str
    email: str | None
    company: str | None
    title: str | None
    level: int | None
    score: float | None
    rep: str | None
    department: str | None


def notify(tx: StoreTx, playbook: Playbook, event: str, context: NotificationContext, now: datetime) -> int:
    """Enqueue the messages the playbook's rules ask for about ``event``. Returns how many."""
    return notify_all(tx, playbook, event, [context], now)


def notify_all(
    tx: StoreTx, playbook: Playbook, event: str, contexts: Sequence[NotificationContext], now: datetime
) -> int:
    """:func:`notify` for many contexts of one event, with one read of the leads."""
    plan = playbook.notifications
    if plan is None or not contexts:
        return 0
    rules = plan.rules_for(event)
    if not rules:
        return 0
    leads = _lead_rows(tx, [c.lead_id for c in contexts if c.lead_id is not None])
    messages: list[Message] = []
    for context in contexts:
        row = leads.get(context.lead_id) if context.lead_id is not None else None
        for rule in rules:
            messages.extend(_messages(playbook, plan.channels, rule, event, context, row, now))
    enqueue(tx, messages, now)
    return len(messages)


def _messages(
    playbook: Playbook,
    channels: Mapping[str, Channel],
    rule: NotificationRule,
    event: str,
    context: NotificationContext,
    row: _LeadRow | None,
    now: datetime,
) -> list[Message]:
    routing = playbook.routing
    rep_id = context.rep_id or (row.rep if row else None)
    department_id = context.department or (row.department if row else None)
    people = _people(routing, rule.to, rep_id, department_id)
    department = routing.departments.get(department_id) if routing and department_id else None
    rep = routing.reps.get(rep_id) if routing and rep_id else None
    facts = EventFacts(
        lead=row.name if row else (context.details.get("lead") or "—"),
        email=row.email if row else None,
        company=row.company if row else None,
        title=row.title if row else None,
        level=row.level if row else None,
        score=row.score if row else None,
        rep=rep.name if rep else rep_id,
        department=(department.label_en, department.label_ja) if department else None,
        reason=context.reason,
        due_at=context.due_at,
        page=context.page,
        extra=dict(context.details),
    )
    ref = context.ref or now.isoformat()
    out: list[Message] = []
    for channel_id in rule.channels:
        channel = channels[channel_id]
        if channel.kind == "email":
            targets = [(p.email, p.lang) for p in people if p.email]
            for person in people:
                if not person.email:
                    log.warning("%s: %s %s has no e-mail address; not notified", rule.id, person.role, person.name)
            targets += [(address, channel.lang) for address in channel.to]
            seen: set[str] = set()
            for address, lang in targets:
                if address in seen:
                    continue
                seen.add(address)
                subject, body = render(event, facts, lang, playbook.timezone)
                out.append(
                    Message(
                        key=message_key(event, ref, context.lead_id, rule.id, channel.id, address),
                        channel="email",
                        recipient=address,
                        subject=subject,
                        body=body,
                        lang=lang,
                        event=event,
                        target=channel.id,
                        lead_id=context.lead_id,
                    )
                )
        else:
            subject, body = render(event, facts, channel.lang, playbook.timezone)
            names = [p.name for p in people]
            if names:
                body = ("宛先：" if channel.lang == "ja" else "For: ") + ", ".join(names) + "\n" + body
            key = message_key(event, ref, context.lead_id, rule.id, channel.id)
            document: dict[str, Any] = {
                "id": key,
                "event": event,
                "occurred_at": now.isoformat(),
                "lead": {
                    "id": context.lead_id,
                    "name": facts.lead,
                    "email": facts.email,
                    "company": facts.company,
                    "level": facts.level,
                    "score": facts.score,
                },
                "owner": {"rep": rep_id, "department": department_id},
                "recipients": [{"role": p.role, "name": p.name, "email": p.email} for p in people],
                "reason": context.reason,
                "due_at": context.due_at.isoformat() if context.due_at else None,
                "lang": channel.lang,
                "subject": subject,
                "text": body,
                "details": dict(context.details),
            }
            payload = {
                "format": channel.format,
                "url": channel.url,
                "url_env": channel.url_env,
                "secret_env": channel.secret_env,
                "document": document,
            }
            out.append(
                Message(
                    key=key,
                    channel="webhook",
                    recipient=channel.id,
                    subject=subject,
                    body=body,
                    lang=channel.lang,
                    event=event,
                    target=channel.id,
                    payload=payload,
                    lead_id=context.lead_id,
                )
            )
    return out


def _people(
    routing: Routing | None, names: Sequence[str], rep_id: str | None, department_id: str | None
) -> list[Person]:
    if routing is None:
        return []
    out: list[Person] = []

    def manager_of(department: str | None) -> None:
        found = routing.departments.get(department) if department else None
        if found is not None and found.manager is not None:
            m = found.manager
            out.append(Person("manager", m.name, m.email, m.lang))

    def the_rep() -> None:
        rep = routing.reps.get(rep_id) if rep_id else None
        if rep is not None:
            out.append(Person("rep", rep.name, rep.email, rep.lang))

    for name in names:
        if name == "rep":
            the_rep()
        elif name == "manager":
            manager_of(department_id)
        elif name == "owner":
            if rep_id and rep_id in routing.reps:
                the_rep()
            else:
                manager_of(department_id)
        else:
            manager_of(name)
    unique: dict[tuple[str | None, str], Person] = {}
    for person in out:
        unique.setdefault((person.email, person.name), person)
    return list(unique.values())


def _lead_rows(tx: StoreTx, ids: Sequence[int]) -> dict[int, _LeadRow]:
    out: dict[int, _LeadRow] = {}
    for id_, first, last, email, external, title, level, score, rep, department, company in tx.notification_leads(ids):
        name = " ".join(n for n in (last, first) if n) or email or external or str(id_)
        out[id_] = _LeadRow(name, email, company, title, level, score, rep, department)
    return out


def notify_sales_of_activity(
    tx: StoreTx,
    playbook: Playbook,
    fresh: Mapping[int, Sequence[Activity]],
    handed: Iterable[int],
    now: datetime,
) -> None:
    """Tell sales what a lead it holds did since it went to sales: a key page viewed
    (``key_page_visit``, to its rep) and a hand-raise (``hand_raiser``: demo, contact, free audit).

    What counts is what the lead did from its MQL time on, whatever order the facts arrive in:
    ``fresh`` activities just stored, and for leads just handed to sales (``handed``) the activities
    already stored since their MQL time. Each activity is told once (the notice's key is the
    activity's), so a late fact never repeats a notice and a reordered one never loses it.
    """
    key_pages = playbook.sales.key_pages
    seen: dict[int, dict[str, Activity]] = {}
    for lead_id, activities in fresh.items():
        seen.setdefault(lead_id, {}).update((a.key, a) for a in activities)
    handed = set(handed)
    if not seen and not handed:
        return
    marks = tx.stage_marks(set(seen) | handed)
    # only a lead with sales hears anything: the others are left out before anything more is read
    with_sales = {i for i, (stage, mql_at) in marks.items() if mql_at is not None and stage in _WITH_SALES}
    seen = {i: activities for i, activities in seen.items() if i in with_sales}
    handed &= with_sales
    # a late activity at or before the lead's MQL time may have moved that time earlier: what it did
    # since then, stored before, is news too
    for lead_id, activities in fresh.items():
        mql_at = marks[lead_id][1]
        if (
            lead_id in with_sales
            and mql_at is not None
            and activities
            and min(a.occurred_at for a in activities) <= mql_at
        ):
            handed.add(lead_id)
    if handed:
        for lead_id, history in tx.activities_of(handed).items():
            seen.setdefault(lead_id, {}).update((a.key, a) for a in history)
    if not seen:
        return
    owners = tx.routing_facts(seen)
    pages: list[NotificationContext] = []
    raised: list[NotificationContext] = []
    for lead_id in sorted(seen):
        mql_at = marks[lead_id][1]
        rep, department, _ = owners[lead_id]
        if mql_at is None or department is None:
            continue
        for activity in sorted(seen[lead_id].values(), key=lambda a: (a.occurred_at, a.key)):
            if activity.occurred_at < mql_at:
                continue
            if rep is not None and key_pages is not None and key_pages(activity):
                page = activity.properties.get("url") or activity.properties.get("page_kind") or activity.type
                pages.append(NotificationContext(lead_id=lead_id, page=str(page), ref=f"activity:{activity.key}"))
            if any(rule.matches(activity) for rule in playbook.hand_raisers):
                raised.append(NotificationContext(lead_id=lead_id, reason=activity.type, ref=f"hand:{activity.key}"))
    notify_all(tx, playbook, "key_page_visit", pages, now)
    notify_all(tx, playbook, "hand_raiser", raised, now)
