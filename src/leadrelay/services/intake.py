"""Service functions: one unit of work each, on a :class:`~leadrelay.adapters.store.sql_store.StoreTx`.

They take parsed input and ``now``; they turn the domain's decisions into stored facts.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, tzinfo
from typing import Any

from pydantic import Field

from leadrelay.adapters.records import ActivityInput, LeadInput
from leadrelay.adapters.store import personal_data
from leadrelay.adapters.store.sql_store import LeadState, StoredMove, StoreTx
from leadrelay.domain.evaluation import Assessment, StageChange, derive_moves, fit_is_static
from leadrelay.domain.identity import account_domain, is_free_mail, lead_key
from leadrelay.domain.lifecycle import (
    ACTIVITY_TRIGGERS,
    DISQUALIFIABLE_STAGES,
    MARKETING_STAGES,
    Stage,
    Trigger,
    next_stage,
)
from leadrelay.domain.model import LEAD_PROFILE_FIELDS, Account, Activity, Lead
from leadrelay.domain.playbook import Playbook
from leadrelay.services.matching import claim_of, match_batch, store_decisions
from leadrelay.services.notifications import NotificationContext, notify_all, notify_sales_of_activity
from leadrelay.services.read_models import ReadModel, StageMove
from leadrelay.services.routing import Routed, RoutedRow, hand_over_on_level, release_owners, route_leads


@dataclass(frozen=True, slots=True)
class Rejection:
    """A record that was not taken: its number (line in a file), the field, and why."""

    record: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"record {self.record}: {self.field}: {self.message}"


class LeadMove(StageMove):
    """A stage move of the lead with key ``lead`` (its e-mail, or id:<external id>)."""

    lead: str


class BatchResult(ReadModel):
    """What a batch of leads, activities or outcomes did: counts, the records refused, the stage
    moves it caused and the leads it handed to sales."""

    leads_created: int = 0
    leads_updated: int = 0
    activities_inserted: int = 0
    outcomes_inserted: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = Field(default_factory=list)
    moves: list[LeadMove] = Field(default_factory=list)
    routed: list[RoutedRow] = Field(default_factory=list)

    @classmethod
    def of(
        cls,
        tz: tzinfo,
        *,
        moves: Sequence[tuple[str, StageChange]] = (),
        routed: Sequence[Routed] = (),
        rejected: Sequence[Rejection] = (),
        **counts: int,
    ) -> BatchResult:
        """A result from the domain's values: moves (by lead key) in the playbook's zone ``tz``."""
        return cls(
            moves=[LeadMove.of(m, tz, lead=key) for key, m in moves],
            routed=[RoutedRow.of(r) for r in routed],
            rejected=list(rejected),
            **counts,
        )

    def merged(self, other: BatchResult) -> BatchResult:
        """This result and ``other`` together (batches of one import)."""
        return BatchResult(
            leads_created=self.leads_created + other.leads_created,
            leads_updated=self.leads_updated + other.leads_updated,
            activities_inserted=self.activities_inserted + other.activities_inserted,
            outcomes_inserted=self.outcomes_inserted + other.outcomes_inserted,
            duplicates=self.duplicates + other.duplicates,
            rejected=[*self.rejected, *other.rejected],
            moves=[*self.moves, *other.moves],
            routed=[*self.routed, *other.routed],
        )


@dataclass(slots=True)
class IngestFacts:
    """What :func:`ingest` did lead by lead, for callers that answer record by record (the HTTP
    intake): the leads' ids by key, the keys of the leads it created, the ids of the leads whose
    profile changed, and the activity keys that were stored before this batch."""

    lead_ids: dict[str, int] = field(default_factory=dict)
    created: set[str] = field(default_factory=set)
    changed: set[int] = field(default_factory=set)
    existing_activities: set[str] = field(default_factory=set)


def ingest(
    tx: StoreTx,
    playbook: Playbook,
    lead_inputs: Sequence[LeadInput],
    activity_inputs: Sequence[ActivityInput],
    now: datetime,
    *,
    numbers: Sequence[int] | None = None,
    facts: IngestFacts | None = None,
) -> BatchResult:
    """Store leads and activities, then judge every lead they touched — in one transaction.

    ``numbers``: the record number (line) of each activity input, for the rejections of records
    that reuse a ``source_id`` for a different activity (a conflict, not a duplicate).
    ``facts``, when given, is filled with what happened to each lead (see :class:`IngestFacts`)."""
    duplicates = 0
    record_of = dict(zip(map(id, activity_inputs), numbers or (), strict=False))
    # leads are keyed by e-mail, or by "id:<external id>" without one (see domain.identity.lead_key)
    profiles: dict[str, LeadInput] = {}
    for item in [*lead_inputs, *(a.lead for a in activity_inputs if a.lead is not None)]:
        profiles[item.key] = item
    activity_inputs = _by_known_email(activity_inputs, profiles.values())
    first_seen: dict[str, datetime] = {}
    for act in activity_inputs:
        seen = first_seen.get(act.key)
        if seen is None or act.activity.occurred_at < seen:
            first_seen[act.key] = act.activity.occurred_at
    emails = set(profiles) | set(first_seen)

    # a free-mail address never makes an account: the company such a lead names stays on the lead
    profiles = {key: _without_free_mail_company(p, playbook.free_mail) for key, p in profiles.items()}
    lead_ids = tx.lead_ids(emails)
    # which company each lead is from (domain.matching, in tiers): every new lead, and every known
    # lead whose record names its company; the others keep the account they have
    claims = {
        key: claim
        for key in sorted(emails)
        if key not in lead_ids or _names_company(profiles.get(key))
        if (claim := claim_of(key, profiles.get(key), playbook.free_mail)).domain or claim.name_key
    }  # a lead with neither a corporate domain nor a company name has nothing to be matched by
    companies = {p.company.domain: p.company for p in profiles.values() if p.company is not None}
    account_of, decisions, changed_accounts = match_batch(tx, playbook, claims, companies, now)

    def account_for(key: str) -> int | None:
        return account_of.get(key)

    new_rows: list[tuple[Lead, int | None, datetime]] = []
    for email in sorted(emails - set(lead_ids)):
        profile = profiles.get(email)
        created = (profile.created_at if profile else None) or min(first_seen.get(email, now), now)
        new_rows.append((profile.lead if profile else Lead.for_key(email), account_for(email), created))
    tx.insert_leads(new_rows)
    leads_created = len(new_rows)
    created_emails = {row[0].key for row in new_rows}
    lead_ids = tx.lead_ids(emails)
    store_decisions(tx, lead_ids, decisions, now, keep_same_account=True)
    # another process may be judging the same leads: take turns (read their state after it commits)
    tx.lock_leads(lead_ids.values())

    changed_ids: set[int] = set()
    known_leads = {key: lead_ids[key] for key in profiles if key not in created_emails}
    stored = tx.lead_states(known_leads.values()) if known_leads else {}
    for key, lead_id in known_leads.items():
        profile = profiles[key]
        values = _profile_values(profile)
        if key in claims:
            values["account_id"] = account_for(key)
        values = {name: value for name, value in values.items() if _stored_value(stored[lead_id], name) != value}
        company_changed = key in decisions and decisions[key].account in changed_accounts
        if values:  # only what really differs is written: importing the same file twice changes nothing
            tx.update_profile(lead_id, values, now)
        if values or company_changed:
            changed_ids.add(lead_id)
    leads_updated = len(changed_ids)

    campaign_list = [a.activity.campaign for a in activity_inputs if a.activity.campaign is not None]
    campaign_ids = tx.upsert_campaigns(campaign_list, now) if campaign_list else {}

    batch: dict[str, ActivityInput] = {}
    conflicts: list[Rejection] = []
    for act in activity_inputs:
        first = batch.get(act.activity.key)
        if first is None:
            batch[act.activity.key] = act
        elif act.source_id is not None and (
            differs := _differences((lead_ids[first.key], first.activity), (lead_ids[act.key], act.activity))
        ):
            conflicts.append(_conflict(record_of.get(id(act), 0), act.source_id, differs))
        else:
            duplicates += 1
    existing = tx.existing_activity_keys(batch)
    resent = [key for key in existing if batch[key].source_id is not None]
    stored_activities = tx.activities_by_key(resent) if resent else {}
    for key in existing:
        act = batch[key]
        stored_activity = stored_activities.get(key)
        if stored_activity is not None and (
            differs := _differences(stored_activity, (lead_ids[act.key], act.activity))
        ):
            assert act.source_id is not None
            conflicts.append(_conflict(record_of.get(id(act), 0), act.source_id, differs))
        else:
            duplicates += 1
    rows = []
    touched: set[int] = set(changed_ids)
    for key, act in batch.items():
        if key in existing:
            continue
        lead_id = lead_ids[act.key]
        touched.add(lead_id)
        activity = act.activity
        rows.append(
            {
                "key": key,
                "lead_id": lead_id,
                "type": activity.type,
                "occurred_at": activity.occurred_at,
                "recorded_at": now,
                "campaign_id": campaign_ids.get(activity.campaign.code) if activity.campaign else None,
                "product": activity.product,
                "properties": dict(activity.properties),
                "source_id": act.source_id,
            }
        )
    tx.insert_activities(rows)
    activities_inserted = len(rows)
    if facts is not None:
        facts.lead_ids.update(lead_ids)
        facts.created.update(created_emails)
        facts.changed.update(changed_ids)
        facts.existing_activities.update(existing)
    new_ids = {lead_ids[e] for e in created_emails}
    touched |= new_ids
    arrivals: dict[int, datetime] = {}
    for key, act in batch.items():
        if key not in existing:
            lead_id, moment = lead_ids[act.key], act.activity.occurred_at
            if lead_id not in arrivals or moment < arrivals[lead_id]:
                arrivals[lead_id] = moment
    moves = evaluate(tx, playbook, touched, now, new_ids=new_ids, profile_changed=changed_ids, arrivals=arrivals)
    routed: list[Routed] = []
    if playbook.routing is not None:  # a lead that just qualified goes to sales in the same transaction
        qualified = {lead_ids[key] for key, move in moves if move.to_stage == Stage.MQL}
        routed = route_leads(tx, playbook, qualified, now, only_pending=True)
        # a lead with sales whose level rose to another department's level goes there (seed 003)
        routed += hand_over_on_level(tx, playbook, touched - qualified, now)
    if playbook.notifications is not None:
        _notify_activity(tx, playbook, batch, existing, lead_ids, moves, now)
    return BatchResult.of(
        playbook.timezone,
        moves=moves,
        routed=routed,
        leads_created=leads_created,
        leads_updated=leads_updated,
        activities_inserted=activities_inserted,
        duplicates=duplicates,
        rejected=conflicts,
    )


def _differences(stored: tuple[int, Activity], given: tuple[int, Activity]) -> list[str]:
    """The fields in which two activities with one ``source_id`` differ (none: the same activity sent again)."""
    (stored_lead, old), (given_lead, new) = stored, given
    pairs = {
        "lead": (stored_lead, given_lead),
        "type": (old.type, new.type),
        "occurred_at": (old.occurred_at, new.occurred_at),
        "campaign": (old.campaign.code if old.campaign else None, new.campaign.code if new.campaign else None),
        "product": (old.product, new.product),
        # stored properties went through JSON: compare the record's properties the same way
        "properties": (dict(old.properties), json.loads(json.dumps(dict(new.properties)))),
    }
    return [name for name, (a, b) in pairs.items() if a != b]


def _conflict(record: int, source_id: str, differs: Sequence[str]) -> Rejection:
    return Rejection(
        record,
        "source_id",
        f"{source_id!r} already names another activity (it differs in {', '.join(differs)}); not recorded",
    )


def _notify_activity(
    tx: StoreTx,
    playbook: Playbook,
    batch: Mapping[str, ActivityInput],
    existing: set[str],
    lead_ids: Mapping[str, int],
    moves: Sequence[tuple[str, StageChange]],
    now: datetime,
) -> None:
    """Tell sales what its leads did since they went to sales (key pages, hand-raises), and
    marketing about a recycled lead that came back with engagement (nurture finished)."""
    fresh: dict[int, list[Activity]] = {}
    for key, act in batch.items():
        if key not in existing:
            fresh.setdefault(lead_ids[act.key], []).append(act.activity)
    notify_sales_of_activity(tx, playbook, fresh, (), now)  # routing told the leads it just handed over
    back = [
        NotificationContext(lead_id=lead_ids[key], reason=move.reason, ref=f"back:{move.at.isoformat()}")
        for key, move in moves
        if move.from_stage == Stage.RECYCLED and move.to_stage == Stage.MQL
    ]
    notify_all(tx, playbook, "nurture_finished", back, now)


def _without_free_mail_company(profile: LeadInput, free_mail: frozenset[str]) -> LeadInput:
    if profile.company is not None and is_free_mail(profile.company.domain, free_mail):
        return replace(profile, company=None)
    return profile


def _names_company(profile: LeadInput | None) -> bool:
    """Whether a lead record says which company the lead is from."""
    return profile is not None and (profile.company is not None or "company_name" in profile.given)


def _by_known_email(activity_inputs: Sequence[ActivityInput], profiles: Iterable[LeadInput]) -> Sequence[ActivityInput]:
    """Activities naming a lead by external id only, where the batch's profiles give its e-mail: by e-mail."""
    emails = {p.lead.external_id: p.lead.email for p in profiles if p.lead.external_id and p.lead.email}
    if not emails:
        return activity_inputs
    return [
        replace(a, email=emails[a.external_id]) if a.email is None and a.external_id in emails else a
        for a in activity_inputs
    ]


def _stored_value(state: LeadState, name: str) -> Any:
    if name == "account_id":
        return state.account_id
    if name == "custom":
        return dict(state.lead.custom)
    return getattr(state.lead, name)


def _profile_values(profile: LeadInput) -> dict[str, Any]:
    values: dict[str, Any] = {}
    lead = profile.lead
    for name in (*LEAD_PROFILE_FIELDS, "external_id"):
        if name in profile.given:
            values[name] = getattr(lead, name)
    if "custom" in profile.given and lead.custom:
        values["custom"] = dict(lead.custom)
    return values


def evaluate(
    tx: StoreTx,
    playbook: Playbook,
    lead_ids: set[int] | Sequence[int],
    now: datetime,
    *,
    new_ids: set[int] | None = None,
    profile_changed: set[int] | None = None,
    arrivals: Mapping[int, datetime] | None = None,
) -> list[tuple[str, StageChange]]:
    """Judge the given leads at ``now`` and store their scores, level and any stage moves.

    Activity-driven moves after a lead's anchor are re-derived, so late activities land where
    they belong. Two things make the present a new anchor instead of rewriting the past:
    moves decided under another playbook (they stay as they were decided), and a profile
    change that changes whether the lead passes the fit gate (it is judged again from now).

    ``arrivals`` (lead id → earliest activity just stored) lets a lead whose new activities all
    come after everything it had before skip re-deriving the moves it already has: those moves
    depend only on earlier activities, so they hold, and only the new activities are walked.
    """
    ids = sorted(set(lead_ids))
    if not ids:
        return []
    new_ids = new_ids or set()
    profile_changed = profile_changed or set()
    arrivals = arrivals or {}
    states = tx.lead_states(ids)
    accounts = tx.accounts_by_id(s.account_id for s in states.values() if s.account_id is not None)
    histories = tx.activities_of(ids)
    stored = tx.derived_moves(ids)
    # here, not at the top: it brings NumPy, which a `lead show` or a single POST should not load
    from leadrelay.services.batch_judgement import judge_leads

    judgements = judge_leads(
        playbook,
        now,
        [
            (
                states[i].lead,
                accounts.get(account_id) if (account_id := states[i].account_id) is not None else None,
                histories.get(i, []),
            )
            for i in ids
        ],
    )
    corrections: dict[int, str] = {}  # derived move (transition id) replaced → why
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    moves_out: list[tuple[str, StageChange]] = []
    dropped: list[int] = []
    for lead_id, judged in zip(ids, judgements, strict=True):
        state = states[lead_id]
        rebased = False  # the present or the playbook change became a new anchor
        account = accounts.get(state.account_id) if state.account_id is not None else None
        history = histories.get(lead_id, [])
        old = [m for m in stored.get(lead_id, []) if _after_anchor(m, state)]
        if any(m.playbook_hash != playbook.hash for m in old):
            state = replace(
                state, anchor_stage=Stage(old[-1].to_stage), anchor_at=old[-1].occurred_at, anchor_check=False
            )
            old, rebased = [], True
        if lead_id in profile_changed and judged.fit_passed != state.fit_passed:
            current = Stage(old[-1].to_stage) if old else state.anchor_stage
            if not (judged.fit_passed and current in MARKETING_STAGES):
                # a lead that stops fitting (or is with sales) is judged again from now: no past
                # decision is taken back
                state = replace(state, anchor_stage=current, anchor_at=now, anchor_check=True)
                old, rebased = [], True
            # else: a lead marketing holds that now fits is judged on its whole history, as if the
            # profile had been known from the start (the same history whatever order facts came in)
        resume = None
        arrived = arrivals.get(lead_id)
        seen_until = state.last_activity_at
        if seen_until is not None and state.anchor_at is not None:
            seen_until = max(seen_until, state.anchor_at)
        if (
            arrived is not None
            and seen_until is not None
            and arrived > seen_until
            and lead_id not in profile_changed
            and lead_id not in new_ids
            and not rebased
        ):
            resume = (Stage(old[-1].to_stage) if old else state.anchor_stage, seen_until)
        plan = plan_moves(state, account, history, judged, playbook, now, is_new=lead_id in new_ids, resume=resume)
        if resume is None and _takes_back_handoff(old, plan.rederived):
            # sales already has this lead: a late fact cannot take the handoff back (sales answers it)
            resume = (Stage(old[-1].to_stage), old[-1].occurred_at)
            plan = plan_moves(state, account, history, judged, playbook, now, is_new=False, resume=resume)
        if resume is not None:  # the stored moves hold; only new ones are added
            inserts.extend(move_row(lead_id, m, now, playbook, derived=True) for m in plan.rederived)
            moves_out.extend((state.lead.key, m) for m in plan.rederived)
        elif not _same(old, plan.rederived):
            why = _correction(lead_id, arrivals, profile_changed)
            corrections.update({m.id: why for m in old})
            inserts.extend(move_row(lead_id, m, now, playbook, derived=True) for m in plan.rederived)
            moves_out.extend((state.lead.key, m) for m in _new_decisions(old, plan.rederived))
        inserts.extend(move_row(lead_id, m, now, playbook, derived=m.trigger in ACTIVITY_TRIGGERS) for m in plan.after)
        moves_out.extend((state.lead.key, m) for m in plan.after)
        updates.append(_lead_update(lead_id, state, history, judged, plan, playbook, now))
        if plan.stage == Stage.DISQUALIFIED and state.stage != Stage.DISQUALIFIED:
            dropped.append(lead_id)
    tx.supersede_transitions(corrections, now)
    tx.insert_transitions(inserts)
    tx.update_leads(updates)
    release_owners(tx, dropped, now)
    return moves_out


def _after_anchor(move: StoredMove, state: LeadState) -> bool:
    """Whether a stored derived move follows the lead's anchor (moves judged at the anchor itself
    belong to it too: they were derived by the check at the anchor)."""
    if state.anchor_at is None or move.occurred_at > state.anchor_at:
        return True
    return state.anchor_check and move.occurred_at == state.anchor_at


def _takes_back_handoff(old: Sequence[StoredMove], new: Sequence[StageChange]) -> bool:
    handed = any(m.to_stage == Stage.MQL.value for m in old)
    return handed and not any(m.to_stage == Stage.MQL for m in new)


def _new_decisions(old: Sequence[StoredMove], new: Sequence[StageChange]) -> list[StageChange]:
    """The re-derived moves that are new decisions. A move to a stage the old history also reached
    (the MQL placed earlier by a late activity, or by another rule) corrects that decision: it was
    announced already (routed, notified) and is not announced again."""
    reached = Counter(m.to_stage for m in old)
    out = []
    for move in new:
        if reached[move.to_stage.value] > 0:
            reached[move.to_stage.value] -= 1
        else:
            out.append(move)
    return out


def _correction(lead_id: int, arrivals: Mapping[int, datetime], profile_changed: set[int]) -> str:
    """Why derived moves were replaced, for the record in ``transition_corrections``."""
    if lead_id in arrivals:
        return f"an earlier activity arrived late (occurred {arrivals[lead_id].isoformat()})"
    if lead_id in profile_changed:
        return "the profile changed: the lead now passes the fit gate"
    return "judged again"


@dataclass(frozen=True, slots=True)
class MovePlan:
    """What happens to a lead now: the re-derived activity moves after its anchor, fixed moves
    after them, and its new anchor."""

    rederived: list[StageChange]
    after: list[StageChange]
    anchor_stage: Stage
    anchor_at: datetime | None
    anchor_check: bool
    start_stage: Stage  # where the lead stood before these moves

    @property
    def stage(self) -> Stage:
        last = self.last
        return last.to_stage if last else self.start_stage

    @property
    def last(self) -> StageChange | None:
        if self.after:
            return self.after[-1]
        return self.rederived[-1] if self.rederived else None


def plan_moves(
    state: LeadState,
    account: Account | None,
    history: list[Activity],
    judged: Assessment,
    playbook: Playbook,
    now: datetime,
    *,
    is_new: bool,
    resume: tuple[Stage, datetime] | None = None,
) -> MovePlan:
    """Decide a lead's moves: derived ones from its activities, then disqualification or
    reinstatement, which become the new fixed point (anchor) of its history.

    With ``resume`` (stage, time) the derived moves up to that time are stored and still hold:
    ``rederived`` then holds only the moves of the activities after it."""
    dq = judged.disqualification
    anchor_stage, anchor_at, anchor_check = state.anchor_stage, state.anchor_at, state.anchor_check
    if dq is not None and is_new and anchor_stage == Stage.NEW:
        at = min(history[0].occurred_at, now) if history else state.created_at
        move = StageChange(
            Trigger.DISQUALIFIED, Stage.NEW, Stage.DISQUALIFIED, at, dq.rule_id, f"{dq.label} ({dq.reason})"
        )
        return MovePlan([], [move], Stage.DISQUALIFIED, at, False, anchor_stage)
    # the points counted for the assessment serve the derivation too when it saw every activity
    counted = judged.counted if not history or history[-1].occurred_at <= now else None
    fit = judged.fit.total if fit_is_static(playbook) else None
    start_stage, start_at, check = anchor_stage, anchor_at, anchor_check
    if resume is not None:
        start_stage, start_at, check = resume[0], resume[1], False
    rederived = derive_moves(
        start_stage, start_at, state.lead, account, history, playbook, check_at_anchor=check, counted=counted, fit=fit
    )
    stage = rederived[-1].to_stage if rederived else start_stage
    after: list[StageChange] = []
    if dq is not None and stage in DISQUALIFIABLE_STAGES:
        at = max(now, rederived[-1].at) if rederived else now
        after.append(
            StageChange(
                Trigger.DISQUALIFIED,
                stage,
                next_stage(stage, Trigger.DISQUALIFIED),
                at,
                dq.rule_id,
                f"{dq.label} ({dq.reason})",
            )
        )
        return MovePlan(rederived, after, Stage.DISQUALIFIED, at, False, start_stage)
    if dq is None and stage == Stage.DISQUALIFIED:
        back = next_stage(stage, Trigger.REINSTATED)
        after.append(
            StageChange(Trigger.REINSTATED, stage, back, now, None, "no disqualification rule matches any more")
        )
        after.extend(derive_moves(back, now, state.lead, account, history, playbook, check_at_anchor=True))
        return MovePlan(rederived, after, back, now, True, start_stage)
    return MovePlan(rederived, after, anchor_stage, anchor_at, anchor_check, start_stage)


def _same(old: list[StoredMove], new: list[StageChange]) -> bool:
    if len(old) != len(new):
        return False
    return all(_known([o], n) for o, n in zip(old, new, strict=True))


def _known(old: list[StoredMove], move: StageChange) -> bool:
    return any(
        o.trigger == move.trigger.value
        and o.to_stage == move.to_stage.value
        and o.occurred_at == move.at
        and o.rule_id == move.rule_id
        and _close(o.score, move.score)
        for o in old
    )


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) < 1e-6


def move_row(lead_id: int, move: StageChange, now: datetime, playbook: Playbook, *, derived: bool) -> dict[str, Any]:
    return {
        "lead_id": lead_id,
        "occurred_at": move.at,
        "recorded_at": now,
        "from_stage": move.from_stage.value,
        "to_stage": move.to_stage.value,
        "trigger": move.trigger.value,
        "actor": move.actor,
        "rule_id": move.rule_id,
        "reason": move.reason,
        "derived": derived,
        "level": move.level,
        "score": move.score,
        "product": move.product,
        "priority": move.priority,
        "activity_key": move.activity_key,
        "playbook_hash": playbook.hash,
    }


def _lead_update(
    lead_id: int,
    state: LeadState,
    history: list[Activity],
    judged: Assessment,
    plan: MovePlan,
    playbook: Playbook,
    now: datetime,
) -> dict[str, Any]:
    last = plan.last
    stage = plan.stage
    stage_at = last.at if last else state.stage_at
    mql_move = next((m for m in reversed([*plan.rederived, *plan.after]) if m.to_stage == Stage.MQL), None)
    dq = judged.disqualification
    return {
        "id": lead_id,
        "stage": stage.value,
        "stage_at": stage_at,
        "anchor_stage": plan.anchor_stage.value,
        "anchor_at": plan.anchor_at,
        "anchor_check": plan.anchor_check,
        "level": judged.level.level if judged.level else None,
        "level_rule": judged.level.rule_id if judged.level else None,
        "fit_score": judged.fit.total,
        "engagement_score": judged.engagement.total,
        "total_score": judged.scores["total"],
        "fit_passed": judged.fit_passed,
        "mql_rule": mql_move.rule_id if mql_move else (state.mql_rule if stage == Stage.MQL else None),
        "mql_product": mql_move.product if mql_move else (state.mql_product if stage == Stage.MQL else None),
        "mql_at": mql_move.at if mql_move else (state.mql_at if stage == Stage.MQL else None),
        "priority": mql_move.priority if mql_move else (state.priority and stage == Stage.MQL),
        "dq_rule": dq.rule_id if dq else None,
        "dq_reason": dq.reason if dq else None,
        "last_activity_at": history[-1].occurred_at if history else None,
        "playbook_hash": playbook.hash,
        "scored_at": now,
        "updated_at": now,  # a new fact judged: the lead moves to the front of GET /v1/leads
    }


def link_identities(
    tx: StoreTx, playbook: Playbook, items: Sequence[tuple[int, LeadInput | ActivityInput]], now: datetime
) -> tuple[list[tuple[int, LeadInput | ActivityInput]], list[Rejection]]:
    """Before :func:`ingest`: join e-mail and external id where a record carries both.

    A lead known so far only by its external id gets the record's e-mail (and, without an
    account, the account of the e-mail's domain unless it is free mail). A record whose external
    id belongs to a lead with another e-mail is refused (the field names it); so is a second
    record in the batch giving the same external id another e-mail. Records naming a lead by
    external id only, where another record of the batch gives its e-mail, are keyed by e-mail.
    """
    items, rejected = refuse_erased(tx, items)  # an erased person is never recorded again
    pairs: dict[str, str] = {}  # external id → e-mail
    kept: list[tuple[int, LeadInput | ActivityInput]] = []
    for number, item in items:
        profile = item if isinstance(item, LeadInput) else item.lead
        if profile is None or profile.lead.email is None or profile.lead.external_id is None:
            kept.append((number, item))
            continue
        external_id, email = profile.lead.external_id, profile.lead.email
        if pairs.setdefault(external_id, email) != email:
            field = "external_id" if isinstance(item, LeadInput) else "lead.external_id"
            rejected.append(Rejection(number, field, f"'{external_id}' is given to {pairs[external_id]} earlier"))
            continue
        kept.append((number, item))
    if pairs:
        by_id = tx.lead_ids(lead_key(None, x) for x in pairs)
        by_email = tx.lead_ids(pairs.values())
        owners = tx.lead_states(by_id.values())
        refused: set[str] = set()
        for external_id, email in pairs.items():
            owner = by_id.get(lead_key(None, external_id))
            if owner is None or by_email.get(email) == owner:
                continue
            holder = owners[owner].lead.email
            if holder is None and email not in by_email:
                values: dict[str, Any] = {"email": email}
                domain = account_domain(email, playbook.free_mail)
                if owners[owner].account_id is None and domain is not None:
                    values["account_id"] = tx.upsert_accounts([Account(domain=domain)], now)[domain]
                tx.update_profile(owner, values, now)
            else:
                refused.add(external_id)
                reason = f"'{external_id}' belongs to another lead ({holder or 'without e-mail'})"
                for number, item in kept:
                    profile = item if isinstance(item, LeadInput) else item.lead
                    if profile is not None and profile.lead.external_id == external_id and profile.lead.email:
                        field = "external_id" if isinstance(item, LeadInput) else "lead.external_id"
                        rejected.append(Rejection(number, field, reason))
        if refused:
            kept = [
                (n, i)
                for n, i in kept
                if not (
                    (p := i if isinstance(i, LeadInput) else i.lead) is not None
                    and p.lead.external_id in refused
                    and p.lead.email
                )
            ]
    kept = [(n, _keyed_by_email(i, pairs)) for n, i in kept]
    return kept, sorted(rejected, key=lambda r: r.record)


def _keyed_by_email(item: LeadInput | ActivityInput, pairs: dict[str, str]) -> LeadInput | ActivityInput:
    if isinstance(item, LeadInput):
        if item.lead.email is None and item.lead.external_id in pairs:
            return replace(item, lead=replace(item.lead, email=pairs[item.lead.external_id]))
        return item
    if item.email is None and item.external_id in pairs:
        return replace(item, email=pairs[item.external_id])
    return item


#: Why a record of an erased person is refused. Import rejects files keep only the line, field and
#: this reason for such a record, not the row (which would write the person's data again).
ERASED_REASON = "this person's personal data was erased at their request; leadrelay does not record them again"


def _erased_message(field: str) -> tuple[str, str]:
    return field, ERASED_REASON


def refuse_erased(
    tx: StoreTx, items: Sequence[tuple[int, LeadInput | ActivityInput]]
) -> tuple[list[tuple[int, LeadInput | ActivityInput]], list[Rejection]]:
    """Before intake: refuse the records of erased people (their e-mail or external id is on the
    list of erased identities). Nothing is read when nobody was ever erased."""
    key = personal_data.existing_secret(tx)
    if key is None or not items:
        return list(items), []
    wanted: dict[int, list[tuple[str, str]]] = {}  # position → (field, lead key)
    for position, (_, item) in enumerate(items):
        pairs: list[tuple[str, str]] = []
        lead: Lead | None
        if isinstance(item, LeadInput):
            lead, prefix = item.lead, ""
        else:
            pairs += [("email", e) for e in [item.email] if e]
            pairs += [("external_id", lead_key(None, x)) for x in [item.external_id] if x]
            lead, prefix = (item.lead.lead if item.lead is not None else None), "lead."
        if lead is not None:
            pairs += [(prefix + "email", e) for e in [lead.email] if e]
            pairs += [(prefix + "external_id", lead_key(None, x)) for x in [lead.external_id] if x]
        wanted[position] = pairs
    digest_of = {k: personal_data.identity_digest(key, k) for pairs in wanted.values() for _, k in pairs}
    erased = personal_data.erased_digests(tx, digest_of.values())
    if not erased:
        return list(items), []
    kept: list[tuple[int, LeadInput | ActivityInput]] = []
    refused: list[Rejection] = []
    for position, (number, item) in enumerate(items):
        hit = next((f for f, k in wanted[position] if digest_of[k] in erased), None)
        if hit is None:
            kept.append((number, item))
        else:
            refused.append(Rejection(number, *_erased_message(hit)))
    return kept, refused
