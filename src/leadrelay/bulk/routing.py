"""Routing many leads at once: the decisions :func:`leadrelay.domain.routing.decide` makes one lead
at a time, with the work that does not depend on the order of the leads done once per set.

What is computed per *set* instead of per lead:

* **Rule conditions**: each field test of the routing rules (``FieldTest``: its getter, then its
  test) is judged once per distinct value it reads, and the rules' conditions (field tests joined
  by and, or, not) once per distinct combination of those results. Leads with the same level,
  score and account fields share one evaluation; a value that cannot be a key is judged alone.
* **Territories**: ``Territory.covers`` once per (rule, what of the place it reads: country,
  region, prefecture, postal code and the phone's first digits).
* **Static candidates**: which reps of a department can take a lead regardless of load — excluded,
  inactive, away, not working today, not the account's owner, outside their territory or segment —
  once per (rule, the place or account fields those checks read), as the same ``PassedOver``
  values (they are immutable and shared between decisions).

* **Paths**: leads alike in all of the above (same condition results, place, account fields read,
  owners and exclusions) take the same path through the rules: the rules they miss whatever the
  load, and the rules that may place them, each with its static candidates. The path, the reason
  text per (rule, rep) and the ``no_rep`` misses are built once per kind of lead.

What stays a loop over the leads in routing order: capacity (every assignment fills a rep) and
the stride scheduler (every assignment moves the turns the next lead's choice reads). That loop
is the arithmetic of ``_pick`` over the precomputed candidates and nothing else, so fairness is
the domain's own; :func:`decide_many` is tested equal to ``decide`` lead by lead, state included.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from datetime import date

from leadrelay.domain.conditions import AllOf, Always, AnyOf, Condition, FieldTest, NotOf, reads_activities
from leadrelay.domain.model import Account
from leadrelay.domain.routing import (
    _EPSILON,
    STRATEGIES,
    PassedOver,
    Place,
    Rep,
    Routing,
    RoutingDecision,
    RoutingInput,
    RoutingRule,
    RoutingState,
    RuleMiss,
    queued,
    release,
)


def _by_fields(condition: Condition) -> bool:
    """Whether the condition is field tests joined by and, or and not (or always true): judged
    from its tests' results alone."""
    if reads_activities(condition):
        return False
    if isinstance(condition, AllOf | AnyOf):
        return all(_by_fields(part) for part in condition.parts)
    if isinstance(condition, NotOf):
        return _by_fields(condition.part)
    return isinstance(condition, FieldTest | Always)


def _field_tests(condition: Condition) -> list[FieldTest]:
    if isinstance(condition, AllOf | AnyOf):
        return [t for part in condition.parts for t in _field_tests(part)]
    if isinstance(condition, NotOf):
        return _field_tests(condition.part)
    if isinstance(condition, FieldTest):
        return [condition]
    return []


class _Plan:
    """The routing plan's per-set caches for one batch (one day, one state)."""

    def __init__(self, routing: Routing, state: RoutingState, today: date) -> None:
        self.routing = routing
        self.state = state
        self.today = today
        self.rules = routing.rules
        self.tests = [t for rule in self.rules for t in _field_tests(rule.condition)]
        #: conditions that read activities depend on more than field values: judged lead by lead
        self.keyed = all(_by_fields(rule.condition) for rule in self.rules)
        self._memos: list[tuple[FieldTest, dict[Hashable, bool]]] = []
        self._test_index: dict[int, int] = {}
        for test in self.tests:
            if id(test) not in self._test_index:
                self._test_index[id(test)] = len(self._memos)
                self._memos.append((test, {}))
        self._conditions: dict[tuple[bool, ...], tuple[bool, ...]] = {}
        self._covers: dict[tuple[int, Hashable], bool] = {}
        self._static: dict[tuple[int, Hashable, frozenset[str]], list[tuple[Rep, PassedOver | None]]] = {}
        self._turn: dict[str, PassedOver] = {}
        self._full: dict[tuple[str, int], PassedOver] = {}
        self._digits: int | None = None
        self._paths: dict[Hashable, _Path] = {}
        self._reasons: dict[tuple[int, str], str] = {}
        self._no_rep = [RuleMiss(rule.id, "no_rep") for rule in self.rules]
        self._misses: dict[tuple[int, str], RuleMiss] = {}
        #: the reps passed over by each distinct outcome of a choice, and each distinct decision
        self._passed: dict[tuple[int, tuple[int, ...], int, tuple[int, ...]], tuple[PassedOver, ...]] = {}
        self._decisions: dict[tuple[object, ...], RoutingDecision] = {}
        # what of a lead's place and account the strategies read, as the answers they give
        territories = [rule.territory for rule in self.rules] + [rep.territory for rep in routing.reps.values()]
        self._territories = [t for t in territories if t is not None]
        by_strategy: dict[str, list[Rep]] = {}
        for rule in self.rules:
            by_strategy.setdefault(rule.strategy, []).extend(
                routing.reps[r] for r in routing.departments[rule.department].reps
            )
        self._segmented = [rep.segment for rep in by_strategy.get("segment", []) if rep.segment is not None]
        self._named = by_strategy.get("named_account", [])
        self._listed = frozenset(d for rep in self._named for d in rep.named_accounts)
        self._covered_by: dict[Hashable, tuple[bool, ...]] = {}
        self._fits_of: dict[Hashable, tuple[bool, ...]] = {}
        self._owned_by: dict[Hashable, tuple[bool, ...]] = {}

    def path(self, lead: RoutingInput) -> _Path | None:
        """The lead's way through the rules (``None``: its conditions are judged on their own).

        Leads share a path when they agree on everything it is made of: the rules' condition
        results, which territories (of the rules and the reps) cover their place, which reps own
        their account and whose segment it fits, the departments owning their level, the reps
        excluded."""
        if not self.keyed:
            return None
        account = lead.facts.account
        key = (
            self.conditions(lead),
            self._covered(lead.place),
            self._fits(account),
            self._owned(account),
            lead.owners,
            lead.exclude,
        )
        found = self._paths.get(key)
        if found is None:
            found = self._paths[key] = self._build_path(lead)
        return found

    def _covered(self, place: Place) -> tuple[bool, ...] | None:
        if not self._territories:
            return None
        where = self._where(place)
        found = self._covered_by.get(where)
        if found is None:
            found = self._covered_by[where] = tuple(t.covers(place) for t in self._territories)
        return found

    def _fits(self, account: Account | None) -> tuple[bool, ...] | None:
        if not self._segmented:  # Segment.fits reads the size and the industry
            return None
        key = (account.employees, account.industry) if account is not None else None
        found = self._fits_of.get(key)
        if found is None:
            found = self._fits_of[key] = tuple(s.fits(account) for s in self._segmented)
        return found

    def _owned(self, account: Account | None) -> tuple[bool, ...] | None:
        if not self._named:
            return None
        if account is None:
            key: Hashable = None
        else:  # Rep.owns reads the domain (only whether a rep lists it matters) and the owner
            domain = account.domain if account.domain in self._listed else None
            key = (domain, account.owner.casefold() if account.owner else None)
        found = self._owned_by.get(key)
        if found is None:
            found = self._owned_by[key] = tuple(rep.owns(account) for rep in self._named)
        return found

    def _build_path(self, lead: RoutingInput) -> _Path:
        tries: list[tuple[tuple[RuleMiss, ...], int, RoutingRule, list[tuple[Rep, PassedOver | None]]]] = []
        misses: list[RuleMiss] = []
        matched = self.conditions(lead)
        for index, rule in enumerate(self.rules):
            if lead.owners and rule.department not in lead.owners and rule.strategy != "named_account":
                misses.append(self.miss(index, "level_owner"))
            elif not matched[index]:
                misses.append(self.miss(index, "condition"))
            elif rule.territory is not None and not self.covers(index, rule, lead):
                misses.append(self.miss(index, "territory"))
            else:
                tries.append((tuple(misses), index, rule, self.static(index, rule, lead)))
                misses = []
        return _Path(tuple(tries), tuple(misses))

    def miss(self, index: int, why: str) -> RuleMiss:
        """One ``RuleMiss`` object per (rule, why), shared by the decisions of the set."""
        found = self._misses.get((index, why))
        if found is None:
            found = self._misses[(index, why)] = RuleMiss(self.rules[index].id, why)
        return found

    def reason(self, index: int, rule: RoutingRule, rep: Rep) -> str:
        key = (index, rep.id)
        found = self._reasons.get(key)
        if found is None:
            found = self._reasons[key] = f"{rule.label}: {rep.name} ({STRATEGIES[rule.strategy][0]})"
        return found

    def conditions(self, lead: RoutingInput) -> tuple[bool, ...]:
        """Whether each rule's condition holds for the lead: each field test judged once per
        distinct value it reads, each rule once per distinct combination of those results."""
        facts = lead.facts
        if not self.keyed:
            return tuple(rule.condition(facts) for rule in self.rules)
        bits: list[bool] = []
        for test, memo in self._memos:
            value = test.getter(facts)
            try:
                key = (value.__class__, value)  # 1, 1.0 and True are equal keys but not equal inputs
                found = memo.get(key)
            except TypeError:  # a value that cannot be a key (a list in a custom field): judged alone
                bits.append(test.test(value))
                continue
            if found is None:
                found = memo[key] = test.test(value)
            bits.append(found)
        results = tuple(bits)
        judged = self._conditions.get(results)
        if judged is None:
            judged = self._conditions[results] = tuple(self._judge(rule.condition, results) for rule in self.rules)
        return judged

    def _judge(self, condition: Condition, bits: tuple[bool, ...]) -> bool:
        """A rule's condition from its field tests' results (``FieldTest`` is its test of its getter)."""
        if isinstance(condition, FieldTest):
            return bits[self._test_index[id(condition)]]
        if isinstance(condition, AllOf):
            return all(self._judge(part, bits) for part in condition.parts)
        if isinstance(condition, AnyOf):
            return any(self._judge(part, bits) for part in condition.parts)
        if isinstance(condition, NotOf):
            return not self._judge(condition.part, bits)
        return condition(None)  # reads nothing of the lead (``Always``): see ``keyed``

    def covers(self, index: int, rule: RoutingRule, lead: RoutingInput) -> bool:
        assert rule.territory is not None
        key = (index, self._where(lead.place))
        found = self._covers.get(key)
        if found is None:
            found = self._covers[key] = rule.territory.covers(lead.place)
        return found

    def static(self, index: int, rule: RoutingRule, lead: RoutingInput) -> list[tuple[Rep, PassedOver | None]]:
        """The department's reps in order, each with why it cannot take this lead whatever its load
        (``None``: it can, if it has room)."""
        strategy = rule.strategy
        account = lead.facts.account
        where: Hashable
        if strategy == "territory":
            where = self._where(lead.place)
        elif strategy == "segment":  # Segment.fits reads the size and the industry
            where = (account.employees, account.industry) if account is not None else None
        elif strategy == "named_account":  # Rep.owns reads the domain and the owner
            where = (account.domain, account.owner) if account is not None else None
        else:
            where = None
        key = (index, where, lead.exclude)
        found = self._static.get(key)
        if found is not None:
            return found
        out: list[tuple[Rep, PassedOver | None]] = []
        routing = self.routing
        for rep_id in routing.departments[rule.department].reps:
            rep = routing.reps[rep_id]
            if rep_id in lead.exclude:
                out.append((rep, PassedOver(rep_id, "excluded")))
                continue
            why = self.state.unavailable(rep, self.today)
            if why is None:
                if strategy == "named_account":
                    if not rep.owns(account):
                        why = "not_owner"
                elif strategy == "territory" and (rep.territory is None or not rep.territory.covers(lead.place)):
                    why = "not_in_territory"
                elif strategy == "segment" and (rep.segment is None or not rep.segment.fits(account)):
                    why = "not_in_segment"
            out.append((rep, PassedOver(rep_id, why) if why is not None else None))
        self._static[key] = out
        return out

    def _where(self, place: Place) -> Hashable:
        """What of a place ``Territory.covers`` reads: all of it but the phone number, of which only
        the first digits as long as the longest area code a territory (of a rep or a rule) lists."""
        if self._digits is None:
            territories = [rep.territory for rep in self.routing.reps.values()]
            territories += [rule.territory for rule in self.rules]
            codes = [code for territory in territories if territory is not None for code in territory.area_codes]
            self._digits = max((len(c) for c in codes), default=0)
        phone = place.phone[: self._digits] if place.phone is not None else None
        return (place.country, place.region, place.prefecture, place.postal_code, phone)

    def passed(
        self,
        static: list[tuple[Rep, PassedOver | None]],
        full: list[int],
        candidates: list[Rep],
        best: int,
        counts: tuple[int, ...],
    ) -> tuple[PassedOver, ...]:
        """The reps a choice passed over, in ``domain.routing._pick``'s order: those of ``static``
        named whatever their load or found full (``full``: their places in ``static`` and open
        leads, in pairs), then the candidates not chosen (``best``; -1: none chosen), load-balanced
        with their open leads (``counts``). One shared tuple per distinct outcome."""
        key = (id(static), tuple(full), best, counts)
        found = self._passed.get(key)
        if found is not None:
            return found
        at_capacity = dict(zip(full[::2], full[1::2], strict=True))
        out: list[PassedOver] = []
        for position, (rep, why) in enumerate(static):
            if why is not None:
                out.append(why)
            elif position in at_capacity:
                out.append(self.full(rep, at_capacity[position]))
        if counts:  # load-balanced: by open leads against capacity
            loads = [
                (count / rep.capacity if rep.capacity else float(count))
                for rep, count in zip(candidates, counts, strict=True)
            ]
            for i, (rep, count) in enumerate(zip(candidates, counts, strict=True)):
                if i != best:
                    reason = "more_load" if loads[i] > loads[best] else "turn"
                    out.append(PassedOver(rep.id, reason, f"{count}/{rep.capacity}" if rep.capacity else str(count)))
        elif best >= 0:
            out.extend(self.turn(rep.id) for i, rep in enumerate(candidates) if i != best)
        found = self._passed[key] = tuple(out)
        return found

    def turn(self, rep_id: str) -> PassedOver:
        found = self._turn.get(rep_id)
        if found is None:
            found = self._turn[rep_id] = PassedOver(rep_id, "turn")
        return found

    def full(self, rep: Rep, open_now: int) -> PassedOver:
        key = (rep.id, open_now)
        found = self._full.get(key)
        if found is None:
            found = self._full[key] = PassedOver(rep.id, "at_capacity", f"{open_now}/{rep.capacity}")
        return found


class _Path:
    """One kind of lead's way through the rules: each rule that may place it, with the rules
    missed whatever the load just before it and its static candidates; the rules missed after
    the last of them."""

    __slots__ = ("after", "tries")

    def __init__(
        self,
        tries: tuple[tuple[tuple[RuleMiss, ...], int, RoutingRule, list[tuple[Rep, PassedOver | None]]], ...],
        after: tuple[RuleMiss, ...],
    ) -> None:
        self.tries = tries
        self.after = after


def decide_many(
    routing: Routing,
    leads: Sequence[RoutingInput],
    state: RoutingState,
    today: date,
    previous: Sequence[str | None] | None = None,
) -> list[RoutingDecision]:
    """``[decide(routing, lead, state, today) for lead in leads]``, in that order, moving ``state``
    the same way; see the module for what is shared between the leads. ``previous``: each lead's
    current rep, whose open leads drop by one just before that lead is decided (re-routing)."""
    plan = _Plan(routing, state, today)
    if previous is None:
        return [_decide(plan, lead) for lead in leads]
    out = []
    for lead, rep_id in zip(leads, previous, strict=True):
        if rep_id is not None:
            release(state, rep_id)
        out.append(_decide(plan, lead))
    return out


def _decide(plan: _Plan, lead: RoutingInput) -> RoutingDecision:
    path = plan.path(lead)
    if path is None:
        return _decide_alone(plan, lead)
    # Each rule tried gives the reps passed over as one of the plan's shared tuples: with the
    # rep chosen, their identities name the whole decision, built once per distinct outcome.
    tried: list[tuple[PassedOver, ...]] = []
    for n, (_, index, rule, static) in enumerate(path.tries):
        chosen, passed = _choose(plan, rule, static)
        if chosen is None:
            tried.append(passed)
            continue
        tried.append(passed)
        key = (id(path), n, chosen.id, *map(id, tried))
        found = plan._decisions.get(key)
        if found is None:
            found = plan._decisions[key] = _placed(plan, path, n, index, rule, chosen, tried)
        return found
    key = (id(path), -1, None, *map(id, tried))
    found = plan._decisions.get(key)
    if found is None:
        misses: list[RuleMiss] = []
        for before, index, _, _ in path.tries:
            misses.extend(before)
            misses.append(plan._no_rep[index])
        misses.extend(path.after)
        found = plan._decisions[key] = queued(plan.routing, lead, [p for t in tried for p in t], misses)
    return found


def _placed(
    plan: _Plan,
    path: _Path,
    n: int,
    index: int,
    rule: RoutingRule,
    chosen: Rep,
    tried: list[tuple[PassedOver, ...]],
) -> RoutingDecision:
    """The decision of a lead placed by the ``n``-th rule its path tries, after the earlier ones
    found no rep (``tried``: the reps each passed over)."""
    misses: list[RuleMiss] = []
    for before, earlier, _, _ in path.tries[:n]:
        misses.extend(before)
        misses.append(plan._no_rep[earlier])
    misses.extend(path.tries[n][0])
    return _decision(plan, index, rule, chosen, tuple(p for t in tried for p in t), misses)


def _decision(
    plan: _Plan, index: int, rule: RoutingRule, chosen: Rep, passed: tuple[PassedOver, ...], misses: list[RuleMiss]
) -> RoutingDecision:
    """The decision placing a lead with ``chosen`` by the plan's ``index``-th rule, with the reps
    passed over and the earlier rules that missed."""
    return RoutingDecision(
        rule.id, rule.department, rule.strategy, chosen.id, plan.reason(index, rule, chosen), passed, tuple(misses)
    )


def _decide_alone(plan: _Plan, lead: RoutingInput) -> RoutingDecision:
    """A lead of a plan whose conditions are more than field tests: judged on their own."""
    routing = plan.routing
    misses: list[RuleMiss] = []
    passed_before: list[PassedOver] = []
    matched = plan.conditions(lead)
    for index, rule in enumerate(plan.rules):
        if lead.owners and rule.department not in lead.owners and rule.strategy != "named_account":
            misses.append(RuleMiss(rule.id, "level_owner"))
            continue
        if not matched[index]:
            misses.append(RuleMiss(rule.id, "condition"))
            continue
        if rule.territory is not None and not plan.covers(index, rule, lead):
            misses.append(RuleMiss(rule.id, "territory"))
            continue
        chosen, passed = _pick(plan, index, rule, lead)
        if chosen is None:
            misses.append(RuleMiss(rule.id, "no_rep"))
            passed_before.extend(passed)
            continue
        return _decision(plan, index, rule, chosen, (*passed_before, *passed), misses)
    return queued(routing, lead, passed_before, misses)


def _pick(plan: _Plan, index: int, rule: RoutingRule, lead: RoutingInput) -> tuple[Rep | None, tuple[PassedOver, ...]]:
    return _choose(plan, rule, plan.static(index, rule, lead))


def _choose(
    plan: _Plan, rule: RoutingRule, static: list[tuple[Rep, PassedOver | None]]
) -> tuple[Rep | None, tuple[PassedOver, ...]]:
    """``domain.routing._pick`` over the precomputed static candidates; the reps passed over as
    one of the plan's shared tuples (:meth:`_Plan.passed`)."""
    state = plan.state
    strategy = rule.strategy
    open_leads = state.open_leads
    candidates: list[Rep] = []
    full: list[int] = []  # place in ``static``, open leads; for each rep at capacity
    capped = strategy != "named_account"
    for position, (rep, why) in enumerate(static):
        if why is not None:  # named for that, whatever their load, as decide does
            continue
        if capped and rep.capacity is not None:
            open_now = open_leads.get(rep.id, 0)
            if open_now >= rep.capacity:
                full.append(position)
                full.append(open_now)
                continue
        candidates.append(rep)
    if not candidates:
        return None, plan.passed(static, full, candidates, -1, ())
    department = rule.department
    clock = state.clocks.get(department, 0.0)
    passes = state.passes
    weighted = strategy == "weighted"
    shares = [rep.weight if weighted else 1.0 for rep in candidates]
    turns = [max(passes.get(rep.id, clock), clock - 1.0 / share) for rep, share in zip(candidates, shares, strict=True)]
    counts: tuple[int, ...] = ()
    if strategy == "load_balanced":
        counts = tuple(open_leads.get(rep.id, 0) for rep in candidates)
        loads = [
            (count / rep.capacity if rep.capacity else float(count))
            for rep, count in zip(candidates, counts, strict=True)
        ]
        best = min(range(len(candidates)), key=lambda i: (loads[i], turns[i]))
    else:
        clock = max(clock, min(turns))
        best = -1
        finish = 0.0
        for i, turn in enumerate(turns):  # the first of the earliest finishers, as min() picks
            if turn <= clock + _EPSILON:
                done = turn + 1.0 / shares[i]
                if best < 0 or done < finish:
                    best, finish = i, done
    passed = plan.passed(static, full, candidates, best, counts)
    chosen = candidates[best]
    turns[best] += 1.0 / shares[best]
    for rep, turn in zip(candidates, turns, strict=True):
        passes[rep.id] = turn
        state.touched_reps.add(rep.id)
    state.clocks[department] = clock + 1.0 / sum(shares)
    state.touched_departments.add(department)
    open_leads[chosen.id] = open_leads.get(chosen.id, 0) + 1
    return chosen, passed
