"""Routing: from a qualified lead to a department and a rep, with the reason for every choice.

Pure: the routing plan (departments, reps, rules) comes from the playbook, the lead's place and
facts from the caller, and the counters that make round robin fair (turns, open leads) live in a
:class:`RoutingState` the caller loads from the store and writes back in the same transaction.

Fairness is stride scheduling: every rep has a *pass*; the available rep whose next lead would
be done first (lowest pass + ``1 / weight``) gets it and its pass grows by ``1 / weight``
(round robin is weight 1 for everyone). A
department keeps a *clock* (the lowest pass among its reps when it last assigned), and a rep's
pass never counts below it, so a rep back from leave or newly added gets an ordinary share, not
a burst of everything missed. Ties go to the rep declared first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from leadrelay.domain.calendar import BusinessCalendar
from leadrelay.domain.conditions import Condition, Facts
from leadrelay.domain.lifecycle import Stage
from leadrelay.domain.model import Account

_EPSILON = 1e-9

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

#: How a rule picks the rep inside its department.
STRATEGIES: dict[str, tuple[str, str]] = {
    "round_robin": ("round robin", "ラウンドロビン"),
    "weighted": ("weighted round robin", "重み付きラウンドロビン"),
    "load_balanced": ("fewest open leads against capacity", "保有リード数（上限比）が最少"),
    "named_account": ("the account's owner", "アカウント担当者"),
    "territory": ("territory, then round robin", "担当エリア → ラウンドロビン"),
    "segment": ("segment, then round robin", "セグメント → ラウンドロビン"),
}

#: Why a rep was passed over (code → English, Japanese).
PASS_REASONS: dict[str, tuple[str, str]] = {
    "inactive": ("inactive", "無効"),
    "out_of_office": ("out of office", "不在"),
    "not_working_day": ("not a working day", "勤務日外"),
    "at_capacity": ("at capacity", "上限到達"),
    "not_in_territory": ("lead is outside their territory", "担当エリア外"),
    "not_in_segment": ("lead is outside their segment", "担当セグメント外"),
    "not_owner": ("not the account's owner", "アカウント担当外"),
    "turn": ("not their turn", "順番待ち"),
    "more_load": ("more open leads for their capacity", "保有リードが多い"),
    "excluded": ("excluded from this routing", "除外指定"),
}

#: Why a rule did not take the lead.
RULE_MISSES: dict[str, tuple[str, str]] = {
    "condition": ("condition not met", "条件に該当しない"),
    "territory": ("lead is outside the rule's territory", "ルールの対象エリア外"),
    "no_rep": ("no rep available", "対応可能な担当者がいない"),
    "level_owner": ("the lead's level is owned by another department", "このリードの確度レベルは別部門の担当"),
}


@dataclass(frozen=True, slots=True)
class Place:
    """Where a lead is, as far as its profile, account, postal code and phone tell."""

    country: str | None = None
    prefecture: str | None = None  # Japanese name, e.g. 大阪府
    region: str | None = None  # e.g. kinki, kanto
    postal_code: str | None = None  # seven digits for Japan
    phone: str | None = None  # national digits, e.g. 0661234567


@dataclass(frozen=True, slots=True)
class Territory:
    """An area: a lead is inside when any of the listed entries matches it."""

    countries: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()
    prefectures: frozenset[str] = frozenset()
    postal_ranges: tuple[tuple[str, str], ...] = ()
    area_codes: tuple[str, ...] = ()

    def covers(self, place: Place) -> bool:
        if place.country is not None and place.country in self.countries:
            return True
        if place.region is not None and place.region in self.regions:
            return True
        if place.prefecture is not None and place.prefecture in self.prefectures:
            return True
        code = place.postal_code
        if code is not None and self.postal_ranges and any(low <= code <= high for low, high in self.postal_ranges):
            return True
        phone = place.phone
        return phone is not None and bool(self.area_codes) and phone.startswith(self.area_codes)

    def describe(self) -> str:
        parts = [
            *sorted(self.countries),
            *sorted(self.regions),
            *sorted(self.prefectures),
            *(low if low == high else f"{low}..{high}" for low, high in self.postal_ranges),
            *(f"tel {a}" for a in self.area_codes),
        ]
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class Segment:
    """Company size and industry a rep covers (each optional)."""

    min_employees: int | None = None
    max_employees: int | None = None
    industries: frozenset[str] = frozenset()

    def fits(self, account: Account | None) -> bool:
        employees = account.employees if account else None
        if self.min_employees is not None and (employees is None or employees < self.min_employees):
            return False
        if self.max_employees is not None and (employees is None or employees > self.max_employees):
            return False
        if self.industries:
            industry = account.industry if account else None
            return industry is not None and industry.casefold() in self.industries
        return True


@dataclass(frozen=True, slots=True)
class Absence:
    starts: date
    ends: date  # inclusive
    note: str = ""


@dataclass(frozen=True, slots=True)
class Rep:
    id: str
    name: str
    department: str
    email: str | None = None
    capacity: int | None = None  # open leads at most
    weight: float = 1.0
    territory: Territory | None = None
    named_accounts: frozenset[str] = frozenset()
    segment: Segment | None = None
    working_days: frozenset[int] = frozenset(range(5))  # Monday = 0
    absences: tuple[Absence, ...] = ()
    active: bool = True
    lang: str = "ja"  # the language of the messages the rep receives

    def unavailable(self, today: date) -> str | None:
        """Why the rep cannot take a lead today, or ``None``."""
        if not self.active:
            return "inactive"
        if self.absences and any(a.starts <= today <= a.ends for a in self.absences):
            return "out_of_office"
        if today.weekday() not in self.working_days:
            return "not_working_day"
        return None

    def owns(self, account: Account | None) -> bool:
        if account is None:
            return False
        if account.domain in self.named_accounts:
            return True
        owner = account.owner.casefold() if account.owner else None
        return owner is not None and owner in {self.id.casefold(), (self.email or "").casefold()}


@dataclass(frozen=True, slots=True)
class Manager:
    name: str
    email: str | None = None
    lang: str = "ja"


@dataclass(frozen=True, slots=True)
class Department:
    id: str
    label_en: str
    label_ja: str
    reps: tuple[str, ...] = ()
    manager: Manager | None = None
    calendar: BusinessCalendar | None = None  # the business hours its SLA clocks run on

    def label(self, lang: str = "en") -> str:
        return self.label_ja if lang == "ja" else self.label_en


@dataclass(frozen=True, slots=True)
class RoutingRule:
    id: str
    label: str
    condition: Condition
    department: str
    strategy: str
    territory: Territory | None = None


@dataclass(frozen=True, slots=True)
class Routing:
    """The routing plan of a playbook."""

    departments: Mapping[str, Department]
    reps: Mapping[str, Rep]
    rules: tuple[RoutingRule, ...]
    fallback: str  # a department: the queue where a lead waits when no rule can place it
    open_stages: frozenset[Stage] = frozenset({Stage.MQL, Stage.PRE_SQL, Stage.SAL, Stage.SQL})

    def with_reps(self, reps: Mapping[str, Rep]) -> Routing:
        return Routing(self.departments, reps, self.rules, self.fallback, self.open_stages)


@dataclass(slots=True)
class RoutingState:
    """The counters routing reads and moves: turns (passes), department clocks, open leads."""

    passes: dict[str, float] = field(default_factory=dict)
    clocks: dict[str, float] = field(default_factory=dict)
    open_leads: dict[str, int] = field(default_factory=dict)
    touched_reps: set[str] = field(default_factory=set)
    touched_departments: set[str] = field(default_factory=set)
    #: (rep, day) → why the rep cannot take a lead that day, or None: the same for every lead
    availability: dict[tuple[str, date], str | None] = field(default_factory=dict)

    def unavailable(self, rep: Rep, today: date) -> str | None:
        key = (rep.id, today)
        if key not in self.availability:
            self.availability[key] = rep.unavailable(today)
        return self.availability[key]


@dataclass(frozen=True, slots=True)
class PassedOver:
    rep_id: str
    reason: str  # a PASS_REASONS code
    detail: str = ""


@dataclass(frozen=True, slots=True)
class RuleMiss:
    rule_id: str
    reason: str  # a RULE_MISSES code


@dataclass(frozen=True, slots=True)
class RoutingDecision:
    """Where a lead goes and why: the rule, the strategy, the rep, and every other candidate."""

    rule_id: str | None  # None: no rule placed it, it waits in the fallback queue
    department: str
    strategy: str | None
    rep_id: str | None
    reason: str
    passed_over: tuple[PassedOver, ...] = ()
    misses: tuple[RuleMiss, ...] = ()

    @property
    def queued(self) -> bool:
        return self.rep_id is None

    def details(self) -> dict[str, Any]:
        return {
            "passed_over": [[p.rep_id, p.reason, p.detail] for p in self.passed_over],
            "misses": [[m.rule_id, m.reason] for m in self.misses],
        }


@dataclass(frozen=True, slots=True)
class RoutingInput:
    """One lead as routing sees it."""

    facts: Facts
    place: Place
    exclude: frozenset[str] = frozenset()  # reps that must not get it (e.g. when reassigning)
    #: the departments that own the lead's level (empty: any rule may place it). Named-account rules
    #: are exempt: an account's owner comes first whatever the level (seed 000).
    owners: tuple[str, ...] = ()


def decide(routing: Routing, lead: RoutingInput, state: RoutingState, today: date) -> RoutingDecision:
    """Try the rules in order; the first that can place the lead with a rep wins. Moves ``state``."""
    misses: list[RuleMiss] = []
    passed_before: list[PassedOver] = []  # reps of earlier rules that could not take it
    for rule in routing.rules:
        if lead.owners and rule.department not in lead.owners and rule.strategy != "named_account":
            misses.append(RuleMiss(rule.id, "level_owner"))
            continue
        if not rule.condition(lead.facts):
            misses.append(RuleMiss(rule.id, "condition"))
            continue
        if rule.territory is not None and not rule.territory.covers(lead.place):
            misses.append(RuleMiss(rule.id, "territory"))
            continue
        department = routing.departments[rule.department]
        chosen, passed = _pick(routing, department, rule.strategy, lead, state, today)
        if chosen is None:
            misses.append(RuleMiss(rule.id, "no_rep"))
            passed_before.extend(passed)
            continue
        rep = routing.reps[chosen]
        return RoutingDecision(
            rule.id,
            department.id,
            rule.strategy,
            chosen,
            f"{rule.label}: {rep.name} ({STRATEGIES[rule.strategy][0]})",
            (*passed_before, *passed),
            tuple(misses),
        )
    return queued(routing, lead, passed_before, misses)


def queued(
    routing: Routing, lead: RoutingInput, passed_before: Sequence[PassedOver], misses: Sequence[RuleMiss]
) -> RoutingDecision:
    """No rule could place the lead: a lead whose level a department owns waits in that
    department's queue, others in the fallback's."""
    queue = routing.departments[lead.owners[0] if lead.owners else routing.fallback]
    return RoutingDecision(
        None,
        queue.id,
        None,
        None,
        f"no rule could place the lead: waiting in {queue.label_en}",
        tuple(passed_before),
        tuple(misses),
    )


def _pick(
    routing: Routing,
    department: Department,
    strategy: str,
    lead: RoutingInput,
    state: RoutingState,
    today: date,
) -> tuple[str | None, list[PassedOver]]:
    passed: list[PassedOver] = []
    account = lead.facts.account
    candidates: list[Rep] = []
    for rep_id in department.reps:
        rep = routing.reps[rep_id]
        if rep_id in lead.exclude:
            passed.append(PassedOver(rep_id, "excluded"))
            continue
        why = state.unavailable(rep, today)
        if why is None:
            if strategy == "named_account":
                if not rep.owns(account):
                    why = "not_owner"
            elif strategy == "territory" and (rep.territory is None or not rep.territory.covers(lead.place)):
                why = "not_in_territory"
            elif strategy == "segment" and (rep.segment is None or not rep.segment.fits(account)):
                why = "not_in_segment"
        # a named account's owner takes the account's leads whatever their load
        if why is None and strategy != "named_account" and rep.capacity is not None:
            open_now = state.open_leads.get(rep_id, 0)
            if open_now >= rep.capacity:
                why = "at_capacity"
                passed.append(PassedOver(rep_id, why, f"{open_now}/{rep.capacity}"))
                continue
        if why is not None:
            passed.append(PassedOver(rep_id, why))
            continue
        candidates.append(rep)
    if not candidates:
        return None, passed
    clock = state.clocks.get(department.id, 0.0)  # the department's virtual time
    shares = {rep.id: rep.weight if strategy == "weighted" else 1.0 for rep in candidates}
    # a rep is owed at most one lead: back from leave (or new), they rejoin at the present
    turns = {rep.id: max(state.passes.get(rep.id, clock), clock - 1.0 / shares[rep.id]) for rep in candidates}
    if strategy == "load_balanced":
        loads = {rep.id: _load(rep, state) for rep in candidates}
        best = min(candidates, key=lambda r: (loads[r.id], turns[r.id]))
        for rep in candidates:
            if rep is not best:
                reason = "more_load" if loads[rep.id] > loads[best.id] else "turn"
                passed.append(PassedOver(rep.id, reason, _load_text(rep, state)))
    else:
        # earliest eligible finish: among reps whose turn has started, the one whose lead would
        # be done first
        clock = max(clock, min(turns.values()))  # someone's turn has always started
        eligible = [r for r in candidates if turns[r.id] <= clock + _EPSILON]
        best = min(eligible, key=lambda r: turns[r.id] + 1.0 / shares[r.id])
        passed.extend(PassedOver(rep.id, "turn") for rep in candidates if rep is not best)
    turns[best.id] += 1.0 / shares[best.id]
    state.passes.update(turns)
    state.clocks[department.id] = clock + 1.0 / sum(shares.values())
    state.touched_reps.update(turns)
    state.touched_departments.add(department.id)
    state.open_leads[best.id] = state.open_leads.get(best.id, 0) + 1
    return best.id, passed


def _load(rep: Rep, state: RoutingState) -> float:
    open_now = state.open_leads.get(rep.id, 0)
    return open_now / rep.capacity if rep.capacity else float(open_now)


def _load_text(rep: Rep, state: RoutingState) -> str:
    open_now = state.open_leads.get(rep.id, 0)
    return f"{open_now}/{rep.capacity}" if rep.capacity else str(open_now)


def release(state: RoutingState, rep_id: str | None) -> None:
    """A lead left ``rep_id``'s open leads (reassigned away)."""
    if rep_id is not None and state.open_leads.get(rep_id, 0) > 0:
        state.open_leads[rep_id] -= 1


def priority_order(items: Sequence[tuple[int, bool, bool, datetime]]) -> list[int]:
    """Ids in routing order: hand-raisers first, then priority leads (named/target accounts),
    then the rest, each by when it qualified. Items are (id, hand_raised, priority, qualified_at)."""
    ranked = sorted(items, key=lambda item: (not item[1], not item[2], item[3], item[0]))
    return [item[0] for item in ranked]
