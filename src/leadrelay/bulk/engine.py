"""Scores, level, fit gate and disqualification for many leads at once, exactly as
:func:`leadrelay.domain.evaluation.assess` decides them one lead at a time.

How each piece is vectorised (see the module docstring of :mod:`leadrelay.domain.scoring` for
what is computed):

* **Activities** arrive as columns: the lead (a row number in the chunk), the time in
  microseconds since the epoch (UTC) and a *signature*: the index of a distinct
  (type, campaign, product, properties) combination. ``where`` conditions, ``unique_by`` keys,
  activity specs and hand-raiser rules only read those fields, so each is evaluated once per
  signature with the domain's own condition objects and mapped back to rows with NumPy.
* **Lead and account fields** are read through *profiles*: a distinct combination of the values
  the playbook's lead-scope field tests read (``fields_read``). Fit, the fit gate and
  disqualification are ``score_fit``, ``FitGate.passes`` and ``disqualify`` over columns of
  profiles: every ``lead.*`` / ``account.*`` test runs once per distinct value of its field (the
  domain's own test on that value), every built-in disqualification check once per distinct
  (domain, countries).
* **Counting** (repeat rules, caps): engagement rules are independent of each other (their
  counters are per rule id), so each order-sensitive rule is counted over its own rows, which are
  in (lead, time) order: ``unique_by`` keeps the first (lead, key) pair, caps count the k-th row of
  a (lead, period) group as the k-th step of the same sequence ``count_points`` runs (computed
  once per rule, so float remainders are identical), and ``max_times`` keeps the rows while
  fewer than ``max_times`` earlier rows of the lead counted. Periods are local days, ISO weeks or
  months in the playbook's time zone.
* **Weighing** is elementwise (age → factor); the per-lead sums add the points in the same order
  as ``engagement_at`` (activities in time order, rules in playbook order), so equal inputs give
  equal sums.
* **History conditions**: ``activity`` nodes become per-lead counts of matching rows in the
  window; ``same_campaign`` nodes become the intersection of the (lead, campaign) pairs of each
  spec; ``score.*`` and ``level`` tests compare arrays (other operators run once per distinct
  value).

What is not vectorised: two activities of one lead at the same microsecond that an order-
sensitive rule (repeat or cap) counts and that differ — the per-lead engine orders them by key,
which the columns do not carry. Those leads are returned in ``BulkResult.fallback`` and the
caller judges them with the per-lead engine.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from leadrelay.bulk import kernel
from leadrelay.domain.conditions import (
    ActivitySpec,
    ActivityTest,
    AllOf,
    Always,
    AnyOf,
    Condition,
    Facts,
    FieldTest,
    NotOf,
    SameCampaignTest,
    fields_named,
)
from leadrelay.domain.evaluation import assess
from leadrelay.domain.model import Account, Activity, Campaign, Lead
from leadrelay.domain.playbook import Decay, EngagementRule, Playbook

Int = npt.NDArray[np.int64]
Float = npt.NDArray[np.float64]
Bool = npt.NDArray[np.bool_]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DAY_US = 86_400_000_000
HOUR_US = 3_600_000_000
_ONE_US = timedelta(microseconds=1)
#: The key of "a hand-raiser in the scoring window" among the compiled history columns.
HAND_RAISE = -1


def to_us(moment: datetime) -> int:
    """Microseconds since the epoch (UTC) of a timezone-aware datetime, exactly."""
    return (moment - EPOCH) // _ONE_US


def from_us(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=int(value))


# --- signatures ------------------------------------------------------------------------------


class Signatures:
    """Distinct (type, campaign, product, properties) combinations, numbered in order of arrival."""

    def __init__(self) -> None:
        self.items: list[Activity] = []
        self._index: dict[Hashable, int] = {}

    def __len__(self) -> int:
        return len(self.items)

    def code(
        self, type_: str, campaign: Campaign | None, product: str | None, properties: Any, identity: Hashable = None
    ) -> int:
        """The number of this combination; ``identity`` (if given) must identify it uniquely."""
        if identity is None:
            identity = (type_, campaign, product, json.dumps(properties, sort_keys=True, default=str))
        found = self._index.get(identity)
        if found is None:
            found = len(self.items)
            self._index[identity] = found
            self.items.append(Activity("", type_, EPOCH, campaign, product, dict(properties or {})))
        return found


# --- profiles --------------------------------------------------------------------------------

#: Fields the built-in disqualification checks read (competitor and free-mail domains, countries).
BUILTIN_DQ_FIELDS = frozenset({"lead.domain", "lead.country", "account.country"})
BUILTIN_DQ_IDS = frozenset({"competitor", "free_mail", "country_not_served"})


def _field_tests(condition: Condition) -> list[FieldTest]:
    if isinstance(condition, AllOf | AnyOf):
        return [t for part in condition.parts for t in _field_tests(part)]
    if isinstance(condition, NotOf):
        return _field_tests(condition.part)
    if isinstance(condition, FieldTest):
        return [condition]
    return []


def fields_read(playbook: Playbook) -> frozenset[str] | None:
    """The ``lead.*`` / ``account.*`` fields the playbook's lead-scope conditions read, or ``None``
    when a disqualification check cannot say which (then a profile must be the whole lead)."""
    names: set[str] = set()
    conditions: list[Condition] = [playbook.fit_gate.condition]
    conditions += [r.condition for r in playbook.fit_rules]
    conditions += [r.condition for r in playbook.levels]
    conditions += [r.condition for r in playbook.mql_rules]
    for rule in playbook.disqualifications:
        if isinstance(rule.test, Condition):
            conditions.append(rule.test)
        elif rule.id in BUILTIN_DQ_IDS:
            names |= BUILTIN_DQ_FIELDS
        else:
            return None
    for condition in conditions:
        names |= {f for f in fields_named(condition) if f.startswith(("lead.", "account."))}
    return frozenset(names)


def _builtin_dq_key(facts: Facts) -> tuple[Any, ...]:
    """What the built-in disqualification checks read (:data:`BUILTIN_DQ_FIELDS`)."""
    account = facts.account
    return (facts.lead.domain, facts.lead.country, account is not None, account.country if account else None)


# --- inputs and outputs ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ActivityColumns:
    """Activities of a chunk of leads, sorted by (lead, time). ``lead`` is the row number of the
    lead in the chunk, ``at`` microseconds since the epoch, ``sig`` a :class:`Signatures` code."""

    lead: Int
    at: Int
    sig: Int

    def __len__(self) -> int:
        return len(self.lead)

    def take(self, mask: Bool | Int) -> ActivityColumns:
        return ActivityColumns(self.lead[mask], self.at[mask], self.sig[mask])


@dataclass(slots=True)
class BulkResult:
    """Per lead of the chunk. ``level_rule``, ``dq`` and ``mql`` index the playbook's ``levels``,
    ``disqualifications`` and ``mql_rules`` (-1: none). ``mql`` is the first MQL rule that matches
    now with the fit gate passed; ``hand_raise`` says a hand-raiser activity lies within the
    scoring window. Leads in ``fallback`` must be judged by the per-lead engine."""

    fit: Float
    engagement: Float
    total: Float
    by_product: dict[str, Float]
    level: Int
    level_rule: Int
    fit_passed: Bool
    dq: Int
    mql: Int
    hand_raise: Bool
    fallback: Int = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


# --- the engine ------------------------------------------------------------------------------


class BulkEngine:
    """Judges chunks of leads under one playbook at one moment.

    ``profiles`` are the distinct (lead, account) combinations the chunks refer to by index; the
    leads in them need only carry the fields :func:`fields_read` names.
    """

    def __init__(
        self,
        playbook: Playbook,
        now: datetime,
        profiles: Sequence[tuple[Lead, Account | None]],
        signatures: Signatures,
        *,
        compiled: bool | None = False,
    ) -> None:
        """``compiled``: count engagement and history with the compiled passes
        (:mod:`leadrelay.bulk.kernel`) always (``True``), never (``False``, the default: ingest's
        small batches never load Numba), or for chunks of at least ``kernel.MIN_ROWS`` rows
        (``None``, what ``rescore`` asks for over a large log); the results are the same."""
        self.compiled = compiled
        self.playbook = playbook
        self.now = now
        self.now_us = to_us(now)
        self.profiles = profiles
        self.signatures = signatures
        self.rules = playbook.engagement_rules
        self._points = np.array([r.points for r in self.rules] + [0.0], dtype=np.float64)
        window = playbook.window()
        self._window_us = window // _ONE_US if window is not None else None
        self._decays: list[Decay] = []
        decay_of = []
        for rule in self.rules:
            if rule.decay is None:
                decay_of.append(-1)
            else:
                if rule.decay not in self._decays:
                    self._decays.append(rule.decay)
                decay_of.append(self._decays.index(rule.decay))
        self._decay_of = np.array([*decay_of, -1], dtype=np.int64)
        self._sensitive = [
            i
            for i, r in enumerate(self.rules)
            if r.unique_key is not None or r.max_times is not None or (r.cap is not None and r.points > 0)
        ]
        self._cap_steps: dict[int, list[float]] = {}
        self._offsets: dict[int, tuple[int, int]] = {}
        self._day_offsets: dict[int, int] = {}
        # per-signature tables, extended as signatures appear
        self._done = 0
        self._rule_lists: list[list[int]] = []
        self._product_of: list[int] = []
        self._campaign_of: list[int] = []
        self.products: dict[str, int] = {}
        self._campaign_codes: dict[str, int] = {}
        self._ukeys: dict[int, list[int]] = {i: [] for i in self._sensitive if self.rules[i].unique_key is not None}
        self._ukey_codes: dict[int, dict[Any, int]] = {i: {} for i in self._ukeys}
        self._unhashable: list[bool] = []
        self._specs: dict[int, tuple[ActivitySpec, list[bool]]] = {}
        self._raisers: list[bool] = []
        self._tables: dict[str, Any] = {}
        # per-profile results
        self._profile_tests: dict[int, tuple[Condition, Bool]] = {}
        self._profile_static: tuple[Float, Bool, Int] | None = None
        self._facts_list: list[Facts] | None = None
        self._field_values: dict[str, list[Any]] = {}
        self._keys: dict[Any, tuple[Int, Int]] = {}

    # --- per signature ---------------------------------------------------------------------

    def _extend(self) -> None:
        items = self.signatures.items
        if self._done == len(items) and self._tables:
            return
        for sig in items[self._done :]:
            matched = [
                self.rules.index(rule) for rule in self.playbook.rules_by_type.get(sig.type, ()) if rule.where(sig)
            ]
            self._rule_lists.append(matched)
            self._product_of.append(self.products.setdefault(sig.product, len(self.products)) if sig.product else -1)
            code = sig.campaign.code if sig.campaign is not None else None
            self._campaign_of.append(
                self._campaign_codes.setdefault(code, len(self._campaign_codes)) if code is not None else -1
            )
            bad = False
            for index, keys in self._ukeys.items():
                value = self.rules[index].unique_key(sig)  # type: ignore[misc]
                if value is None:
                    keys.append(-1)
                    continue
                try:
                    keys.append(self._ukey_codes[index].setdefault(value, len(self._ukey_codes[index])))
                except TypeError:  # an unhashable value: the per-lead engine decides what happens
                    keys.append(-1)
                    bad = True
            self._unhashable.append(bad)
            self._raisers.append(any(r.matches(sig) for r in self.playbook.hand_raisers))
            for spec, marks in self._specs.values():
                marks.append(spec.matches(sig))
        self._done = len(items)
        width = max((len(m) for m in self._rule_lists), default=0)
        table = np.full((max(width, 1), self._done), -1, dtype=np.int64)
        for sig_code, matched in enumerate(self._rule_lists):
            for m, rule_index in enumerate(matched):
                table[m, sig_code] = rule_index
        self._tables = {
            "rules": table,
            "product": np.array(self._product_of, dtype=np.int64),
            "campaign": np.array(self._campaign_of, dtype=np.int64),
            "raiser": np.array(self._raisers, dtype=np.bool_),
            "unhashable": np.array(self._unhashable, dtype=np.bool_),
            **{f"ukey{i}": np.array(v, dtype=np.int64) for i, v in self._ukeys.items()},
        }

    def _spec_marks(self, spec: ActivitySpec) -> Bool:
        entry = self._specs.get(id(spec))
        if entry is None:
            entry = (spec, [spec.matches(sig) for sig in self.signatures.items[: self._done]])
            self._specs[id(spec)] = entry
        return np.array(entry[1], dtype=np.bool_)

    # --- per profile -----------------------------------------------------------------------

    def _facts(self, index: int) -> Facts:
        lead, account = self.profiles[index]
        return Facts(lead, account, (), self.now, {})

    def _all_facts(self) -> list[Facts]:
        if self._facts_list is None:
            self._facts_list = [Facts(lead, account, (), self.now, {}) for lead, account in self.profiles]
        return self._facts_list

    def _static(self) -> tuple[Float, Bool, Int]:
        """Fit, fit gate and disqualification per profile: ``score_fit``, ``FitGate.passes`` and
        ``disqualify`` over the profiles at once — each field test once per distinct value of its
        field, each built-in disqualification check once per distinct value of the fields it
        reads (see :data:`BUILTIN_DQ_FIELDS`); the fit is summed in rule order as ``score_fit``
        sums it."""
        if self._profile_static is None:
            count = len(self.profiles)
            fit = np.zeros(count, dtype=np.float64)
            for rule in self.playbook.fit_rules:
                fit = fit + np.where(self._profile_condition(rule.condition), rule.points, 0.0)
            gate = self.playbook.fit_gate
            passed = self._profile_condition(gate.condition)
            if gate.min_score is not None:
                passed = passed & ~(fit < gate.min_score)
            dq = np.full(count, -1, dtype=np.int64)
            for index, check in enumerate(self.playbook.disqualifications):
                if isinstance(check.test, Condition):
                    hit = self._profile_condition(check.test)
                elif check.id in BUILTIN_DQ_IDS:
                    hit = self._per_key(check.test, _builtin_dq_key)
                else:
                    hit = np.array([bool(check.test(f)) for f in self._all_facts()], dtype=np.bool_)
                dq[(dq < 0) & hit] = index
            self._profile_static = (fit, passed, dq)
        return self._profile_static

    def _per_key(self, test: Any, key: Any) -> Bool:
        """``test(facts)`` of every profile, called once per distinct ``key(facts)`` (the keys
        and the first profile of each are worked out once per ``key``)."""
        found = self._keys.get(key)
        if found is None:
            index: dict[Any, int] = {}
            codes = np.fromiter(
                (index.setdefault(key(f), len(index)) for f in self._all_facts()),
                dtype=np.int64,
                count=len(self.profiles),
            )
            firsts = np.unique(codes, return_index=True)[1] if len(codes) else codes
            found = self._keys[key] = (codes, firsts)
        codes, firsts = found
        facts = self._all_facts()
        answers = np.array([bool(test(facts[i])) for i in firsts.tolist()], dtype=np.bool_)
        return answers[codes] if len(codes) else np.zeros(0, dtype=np.bool_)

    def _profile_condition(self, condition: Condition) -> Bool:
        """A lead-scope condition of every profile."""
        if isinstance(condition, Always):
            return np.ones(len(self.profiles), dtype=np.bool_)
        if isinstance(condition, AllOf | AnyOf) and condition.parts:
            parts = [self._profile_condition(part) for part in condition.parts]
            out = parts[0]
            for part in parts[1:]:
                out = out & part if isinstance(condition, AllOf) else out | part
            return out
        if isinstance(condition, NotOf):
            return ~self._profile_condition(condition.part)
        if isinstance(condition, FieldTest) and condition.field.startswith(("lead.", "account.")):
            return self._profile_test(condition)
        return np.array([bool(condition(f)) for f in self._all_facts()], dtype=np.bool_)

    def _profile_test(self, test: FieldTest) -> Bool:
        """One field test of every profile: once per distinct value of the field."""
        entry = self._profile_tests.get(id(test))
        if entry is None:
            values = self._field_values.get(test.field)
            if values is None:  # the field of every profile, once per field (getters read it alike)
                values = self._field_values[test.field] = [test.getter(f) for f in self._all_facts()]
            answers: dict[Any, bool] = {}
            out = np.empty(len(self.profiles), dtype=np.bool_)
            check = test.test
            for i, value in enumerate(values):
                try:  # keyed with the type too: 1, 1.0 and True are one key to a dict
                    key = (type(value), value)
                    found = answers.get(key)
                    if found is None:
                        found = answers[key] = bool(check(value))
                except TypeError:  # an unhashable value: tested as it is
                    found = bool(check(value))
                out[i] = found
            entry = (test, out)
            self._profile_tests[id(test)] = entry
        return entry[1]

    # --- one chunk -------------------------------------------------------------------------

    def assess(self, profile: Int, acts: ActivityColumns) -> BulkResult:
        """Judge the leads of one chunk (``profile[i]`` is lead i's profile) at ``now``."""
        n = len(profile)
        if len(acts) and not bool((acts.at <= self.now_us).all()):
            acts = acts.take(acts.at <= self.now_us)  # what assess sees: activities up to now
        self._extend()
        fits, gates, dqs = self._static()
        fit = fits[profile]
        fit_passed = gates[profile]
        dq = dqs[profile]
        fallback = np.zeros(n, dtype=np.bool_)
        engagement, by_product = self._engagement(n, acts, fallback)
        scores: dict[str, Float] = {"fit": fit, "engagement": engagement, "total": fit + engagement}
        for name, values in by_product.items():
            scores[f"product.{name}"] = values
        context = _Context(self, n, profile, acts, scores)
        if self._use_compiled(len(acts)):
            context.history = self._history(n, acts)
        level = np.zeros(n, dtype=np.int64)
        level_rule = np.full(n, -1, dtype=np.int64)
        for index, rule in enumerate(self.playbook.levels):  # highest level first
            hit = context.test(rule.condition) & (level_rule < 0)
            level_rule[hit] = index
            level[hit] = rule.level
        scores["level"] = level.astype(np.float64)
        mql = np.full(n, -1, dtype=np.int64)
        for index, mql_rule in enumerate(self.playbook.mql_rules):
            hit = context.test(mql_rule.condition) & fit_passed & (mql < 0)
            mql[hit] = index
        hand_raise = context.history.get(HAND_RAISE)
        if hand_raise is None:
            raised = self._tables["raiser"][acts.sig]
            if self._window_us is not None:
                raised &= acts.at >= self.now_us - self._window_us
            hand_raise = np.bincount(acts.lead[raised], minlength=n)[:n] > 0
        return BulkResult(
            fit=fit,
            engagement=engagement,
            total=scores["total"],
            by_product=by_product,
            level=level,
            level_rule=level_rule,
            fit_passed=fit_passed,
            dq=dq,
            mql=mql,
            hand_raise=hand_raise,
            fallback=np.flatnonzero(fallback).astype(np.int64),
        )

    def _use_compiled(self, rows: int) -> bool:
        if self.compiled is False:
            return False
        return self.compiled is True or rows >= kernel.MIN_ROWS

    def _engagement(self, n: int, acts: ActivityColumns, fallback: Bool) -> tuple[Float, dict[str, Float]]:
        table = self._tables["rules"]
        width = table.shape[0]
        if not len(acts):
            return np.zeros(n, dtype=np.float64), {}
        if self._use_compiled(len(acts)):
            totals, per_product, kept, flagged = kernel.engagement(
                n, acts.lead, acts.at, acts.sig, len(self.products), self._kernel_tables(acts)
            )
            fallback |= flagged
            compiled_products = {
                name: np.ascontiguousarray(per_product[:, code])
                for name, code in self.products.items()
                if bool(kept[:, code].any())
            }
            return totals, compiled_products
        rule_of = [table[m][acts.sig] for m in range(width)]  # -1: no m-th matching rule
        counted = [self._points[r] for r in rule_of]  # index -1 is the 0.0 at the end
        if self._tables["unhashable"].any():
            fallback[np.unique(acts.lead[self._tables["unhashable"][acts.sig]])] = True
        for rule_index in self._sensitive:
            parts = [(np.flatnonzero(rule_of[m] == rule_index), m) for m in range(width)]
            rows = np.concatenate([p for p, _ in parts])
            if not len(rows):
                continue
            which = np.concatenate([np.full(len(p), m, dtype=np.int64) for p, m in parts])
            order = np.argsort(rows, kind="stable")
            rows, which = rows[order], which[order]
            values = self._count_rule(rule_index, acts.lead[rows], acts.at[rows], acts.sig[rows], fallback)
            for m in range(width):
                pick = which == m
                counted[m][rows[pick]] = values[pick]
        age_days = (self.now_us - acts.at).astype(np.float64) / 1e6 / 86_400.0
        base = _decay_factor(self.playbook.decay, age_days)
        if self._window_us is not None:
            base = np.where(self.now_us - acts.at > self._window_us, 0.0, base)
        own = [_decay_factor(d, age_days) for d in self._decays]
        weighed = np.empty((len(acts), width), dtype=np.float64)
        for m in range(width):
            factor = base
            decay_index = self._decay_of[rule_of[m]]
            for d, values in enumerate(own):
                factor = np.where(decay_index == d, values, factor)
            weighed[:, m] = counted[m] * factor
        # the same order of additions as engagement_at: activities in time order, rules in order
        leads = np.repeat(acts.lead, width)
        flat = weighed.ravel()
        engagement: Float = np.bincount(leads, weights=flat, minlength=n)[:n].astype(np.float64)
        by_product: dict[str, Float] = {}
        products = np.repeat(self._tables["product"][acts.sig], width)
        keep = (products >= 0) & (flat != 0.0)
        if keep.any():
            count = len(self.products)
            keys = leads[keep] * count + products[keep]
            unique, inverse = np.unique(keys, return_inverse=True)
            sums = np.bincount(inverse.ravel(), weights=flat[keep])
            names = {code: name for name, code in self.products.items()}
            for code in np.unique(unique % count):
                values = np.zeros(n, dtype=np.float64)
                pick = unique % count == code
                values[unique[pick] // count] = sums[pick]
                by_product[names[int(code)]] = values
        return engagement, by_product

    def _history(self, n: int, acts: ActivityColumns) -> dict[int, Bool]:
        """Every ``activity`` and ``same_campaign`` node of the level and MQL rules, per lead of
        the chunk, in one compiled pass (``kernel.history``), by the node's ``id``."""
        nodes: list[ActivityTest | SameCampaignTest] = []

        def walk(condition: Condition) -> None:
            if isinstance(condition, AllOf | AnyOf):
                for part in condition.parts:
                    walk(part)
            elif isinstance(condition, NotOf):
                walk(condition.part)
            elif isinstance(condition, ActivityTest | SameCampaignTest):
                nodes.append(condition)

        for condition in [r.condition for r in self.playbook.levels] + [r.condition for r in self.playbook.mql_rules]:
            walk(condition)
        marks: list[Bool] = []
        since: list[int] = []
        lowest = np.iinfo(np.int64).min

        def spec_row(spec: ActivitySpec, within: timedelta | None) -> int:
            marks.append(self._spec_marks(spec))
            since.append(self.now_us - within // _ONE_US if within is not None else lowest)
            return len(marks) - 1

        counted: list[int] = []
        groups: list[tuple[int, int]] = []
        marks.append(self._tables["raiser"])  # hand-raisers in the scoring window: the first count
        since.append(self.now_us - self._window_us if self._window_us is not None else lowest)
        counted.append(0)
        for node in nodes:
            if isinstance(node, ActivityTest):
                counted.append(spec_row(node.spec, node.within))
            else:
                first = len(marks)
                for spec in node.specs:
                    spec_row(spec, node.within)
                groups.append((first, len(marks)))
        counts, together = kernel.history(
            n,
            acts.lead,
            acts.at,
            acts.sig,
            np.stack(marks),
            np.array(since, dtype=np.int64),
            np.array(counted, dtype=np.int64),
            self._tables["campaign"],
            len(self._campaign_codes),
            groups,
        )
        out: dict[int, Bool] = {HAND_RAISE: counts[:, 0] > 0}
        tests, groups_seen = 1, 0
        for node in nodes:
            if isinstance(node, ActivityTest):
                out[id(node)] = counts[:, tests] >= node.min_count
                tests += 1
            else:
                out[id(node)] = np.ascontiguousarray(together[:, groups_seen])
                groups_seen += 1
        return out

    def _kernel_tables(self, acts: ActivityColumns) -> dict[str, Any]:
        """The per-rule and per-signature arrays the compiled pass reads (see ``kernel._pass``)."""
        kinds = {"none": kernel.DECAY_NONE, "half_life": kernel.DECAY_HALF_LIFE, "window": kernel.DECAY_WINDOW}
        pers = {"lead": kernel.PER_LEAD, "day": kernel.PER_DAY, "week": kernel.PER_WEEK, "month": kernel.PER_MONTH}

        def kind(decay: Decay) -> int:
            return kernel.DECAY_NONE if decay.days is None else kinds.get(decay.kind, kernel.DECAY_LINEAR)

        slot_of = np.full(len(self.rules) + 1, -1, dtype=np.int64)
        ukey_row, cap_points, cap_per, max_times = [], [], [], []
        ukey_rules = list(self._ukeys)
        for slot, index in enumerate(self._sensitive):
            rule = self.rules[index]
            slot_of[index] = slot
            ukey_row.append(ukey_rules.index(index) if index in self._ukeys else -1)
            capped = rule.cap is not None and rule.points > 0
            cap_points.append(rule.cap.points if capped and rule.cap is not None else 0.0)
            cap_per.append(pers[rule.cap.per] if capped and rule.cap is not None else kernel.PER_NONE)
            max_times.append(rule.max_times if rule.max_times is not None else -1)
        signatures = self._done
        ukeys = (
            np.stack([self._tables[f"ukey{i}"] for i in ukey_rules])
            if ukey_rules
            else np.full((1, max(signatures, 1)), -1, dtype=np.int64)
        )
        tz_at, tz_offset = self._transitions(int(acts.at.min()), int(acts.at.max()))
        decay = self.playbook.decay
        return {
            "now_us": int(self.now_us),
            "rules": np.ascontiguousarray(self._tables["rules"], dtype=np.int64),
            "points": self._points,
            "decay_of": self._decay_of,
            "base_kind": kind(decay),
            "base_days": float(decay.days or 0.0),
            "window_us": int(self._window_us) if self._window_us is not None else -1,
            "own_kind": np.array([kind(d) for d in self._decays], dtype=np.int64),
            "own_days": np.array([float(d.days or 0.0) for d in self._decays], dtype=np.float64),
            "slot_of": slot_of,
            "ukey_row": np.array(ukey_row, dtype=np.int64),
            "ukeys": np.ascontiguousarray(ukeys, dtype=np.int64),
            "ukey_sizes": np.array([len(self._ukey_codes[i]) for i in ukey_rules] or [0], dtype=np.int64),
            "cap_points": np.array(cap_points, dtype=np.float64),
            "cap_per": np.array(cap_per, dtype=np.int64),
            "max_times": np.array(max_times, dtype=np.int64),
            "tz_at": tz_at,
            "tz_offset": tz_offset,
            "product": self._tables["product"],
            "unhashable": self._tables["unhashable"],
        }

    def _transitions(self, low: int, high: int) -> tuple[Int, Int]:
        """The playbook time zone's UTC offsets over ``[low, high]`` (µs): the moments from which
        each holds (the first at ``low``) and the offsets. Sampled at each UTC midnight; a day
        whose two ends differ is bisected to the microsecond of the change."""
        first = low // DAY_US
        last = high // DAY_US + 1
        moments = [low]
        offsets = [self._offset(low)]
        previous = self._day_offset(first)
        for day in range(first + 1, last + 1):
            current = self._day_offset(day)
            if current != previous:
                below, above = (day - 1) * DAY_US, day * DAY_US  # offset(below) = previous, offset(above) = current
                while above - below > 1:
                    middle = (below + above) // 2
                    if self._offset(middle) == previous:
                        below = middle
                    else:
                        above = middle
                if above > low:
                    moments.append(above)
                    offsets.append(current)
                else:
                    offsets[0] = self._offset(low)
            previous = current
        return np.array(moments, dtype=np.int64), np.array(offsets, dtype=np.int64)

    def _day_offset(self, day: int) -> int:
        found = self._day_offsets.get(day)
        if found is None:
            found = self._offset(day * DAY_US)
            self._day_offsets[day] = found
        return found

    def _count_rule(self, rule_index: int, lead: Int, at: Int, sig: Int, fallback: Bool) -> Float:
        """What one order-sensitive rule counts for each of its rows (sorted by lead, time)."""
        rule = self.rules[rule_index]
        size = len(lead)
        same_moment = (lead[1:] == lead[:-1]) & (at[1:] == at[:-1]) & (sig[1:] != sig[:-1])
        if same_moment.any():  # order by key unknown here: the per-lead engine decides
            fallback[np.unique(lead[1:][same_moment])] = True
        live = np.ones(size, dtype=np.bool_)  # not a repeat
        if rule.unique_key is not None:
            keys = self._tables[f"ukey{rule_index}"][sig]
            has = keys >= 0
            pairs = lead[has] * (len(self._ukey_codes[rule_index]) + 1) + keys[has]
            _, first = np.unique(pairs, return_index=True)
            firsts = np.zeros(int(has.sum()), dtype=np.bool_)
            firsts[first] = True
            live[np.flatnonzero(has)] = firsts
        values = np.where(live, rule.points, 0.0)
        positive = live.copy()
        if rule.cap is not None and rule.points > 0:
            groups = self._cap_groups(rule, lead, at)
            rank = _rank_in_groups(np.where(live, groups, -1))
            steps = self._cap_sequence(rule_index, int(rank[live].max()) + 1 if live.any() else 0)
            capped = steps[np.minimum(rank, len(steps) - 1)]
            values = np.where(live, capped, 0.0)
            positive = live & (capped > 0)
        if rule.max_times is not None:
            counts = positive.astype(np.int64)
            before = np.cumsum(counts) - counts
            starts = np.flatnonzero(np.r_[True, lead[1:] != lead[:-1]])
            lengths = np.diff(np.r_[starts, size])
            before -= np.repeat(before[starts], lengths)
            values = np.where(before < rule.max_times, values, 0.0)
        return values

    def _cap_sequence(self, rule_index: int, length: int) -> Float:
        """What the k-th row of one (lead, period) counts under the rule's cap: the same float
        arithmetic as ``count_points`` (``used + counted``, ``max(cap - used, 0)``)."""
        rule = self.rules[rule_index]
        assert rule.cap is not None
        steps = self._cap_steps.setdefault(rule_index, [])
        used = 0.0
        for value in steps:
            used = used + value
        while len(steps) < max(length, 1):
            if steps and steps[-1] == 0.0:
                break  # nothing left: every later row counts 0 too
            left = max(rule.cap.points - used, 0.0)
            value = left if rule.points > left else rule.points
            steps.append(value)
            used = used + value
        return np.array(steps + [0.0], dtype=np.float64)

    def _cap_groups(self, rule: EngagementRule, lead: Int, at: Int) -> Int:
        """A number per row naming its (lead, cap period) in the playbook's time zone."""
        assert rule.cap is not None
        per = rule.cap.per
        if per == "lead":
            return lead.copy()
        local = at + self._offsets_of(at)
        day = np.floor_divide(local, DAY_US)
        if per == "day":
            period = day
        elif per == "week":
            period = day - (day + 3) % 7  # the Monday of the ISO week (1970-01-01 was a Thursday)
        else:
            period = day.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
        span = int(period.max() - period.min()) + 1 if len(period) else 1
        return np.asarray(lead * span + (period - period.min()), dtype=np.int64)

    def _offsets_of(self, at: Int) -> Int:
        """The playbook time zone's UTC offset (µs) at each moment; per hour, per row where an
        hour holds an offset change."""
        hours = np.floor_divide(at, HOUR_US)
        low = int(hours.min())
        high = int(hours.max())
        distinct = np.unique(hours) if high - low > 200_000 else np.arange(low, high + 1)
        start = np.empty(len(distinct), dtype=np.int64)
        end = np.empty(len(distinct), dtype=np.int64)
        for i, hour in enumerate(distinct.tolist()):
            cached = self._offsets.get(hour)
            if cached is None:
                cached = (self._offset(hour * HOUR_US), self._offset(hour * HOUR_US + HOUR_US - 1))
                self._offsets[hour] = cached
            start[i], end[i] = cached
        position = np.searchsorted(distinct, hours)
        offsets = start[position]
        odd = np.flatnonzero(start[position] != end[position])
        for row in odd.tolist():
            offsets[row] = self._offset(int(at[row]))
        return offsets

    def _offset(self, moment_us: int) -> int:
        offset = self.playbook.local(from_us(moment_us)).utcoffset()
        return 0 if offset is None else offset // _ONE_US


def _decay_factor(decay: Decay, age_days: Float) -> Float:
    """``Decay.factor`` for every age (days, never negative here) at once."""
    if decay.kind == "none" or decay.days is None:
        return np.ones(len(age_days), dtype=np.float64)
    if decay.kind == "half_life":
        return np.power(0.5, age_days / decay.days)
    if decay.kind == "window":
        return np.where(age_days <= decay.days, 1.0, 0.0)
    return np.maximum(0.0, 1.0 - age_days / decay.days)


def _rank_in_groups(groups: Int) -> Int:
    """For each element, how many earlier elements share its group number."""
    order = np.argsort(groups, kind="stable")
    sorted_groups = groups[order]
    positions = np.arange(len(groups))
    starts = np.r_[True, sorted_groups[1:] != sorted_groups[:-1]]
    first = np.maximum.accumulate(np.where(starts, positions, 0))
    rank = np.empty(len(groups), dtype=np.int64)
    rank[order] = positions - first
    return rank


class _Context:
    """Lead-scope conditions over a chunk: a boolean per lead."""

    def __init__(self, engine: BulkEngine, n: int, profile: Int, acts: ActivityColumns, scores: dict[str, Float]):
        self.engine = engine
        self.n = n
        self.profile = profile
        self.acts = acts
        self.scores = scores
        self.history: dict[int, Bool] = {}  # activity and same_campaign nodes, computed already

    def test(self, condition: Condition) -> Bool:
        known = self.history.get(id(condition))
        if known is not None:
            return known
        if isinstance(condition, Always):
            return np.ones(self.n, dtype=np.bool_)
        if isinstance(condition, AllOf):
            out = self.test(condition.parts[0])
            for part in condition.parts[1:]:
                out = out & self.test(part)
            return out
        if isinstance(condition, AnyOf):
            out = self.test(condition.parts[0])
            for part in condition.parts[1:]:
                out = out | self.test(part)
            return out
        if isinstance(condition, NotOf):
            return ~self.test(condition.part)
        if isinstance(condition, FieldTest):
            return self._field(condition)
        if isinstance(condition, ActivityTest):
            rows = self._rows(condition.spec, condition.within)
            return np.bincount(self.acts.lead[rows], minlength=self.n)[: self.n] >= condition.min_count
        if isinstance(condition, SameCampaignTest):
            return self._same_campaign(condition)
        raise NotImplementedError(f"no bulk form for {type(condition).__name__}")

    def _rows(self, spec: ActivitySpec, within: timedelta | None) -> Bool:
        rows = self.engine._spec_marks(spec)[self.acts.sig]
        if within is not None:
            rows &= self.acts.at >= self.engine.now_us - within // _ONE_US
        return rows

    def _same_campaign(self, condition: SameCampaignTest) -> Bool:
        campaigns = self.engine._tables["campaign"][self.acts.sig]
        width = max(len(self.engine._campaign_codes), 1)
        common: Int | None = None
        for spec in condition.specs:
            rows = self._rows(spec, condition.within) & (campaigns >= 0)
            pairs = np.unique(self.acts.lead[rows] * width + campaigns[rows])
            common = pairs if common is None else np.intersect1d(common, pairs, assume_unique=True)
        out = np.zeros(self.n, dtype=np.bool_)
        if common is not None:
            out[common // width] = True
        return out

    def _field(self, test: FieldTest) -> Bool:
        name = test.field
        if name.startswith(("lead.", "account.")):
            return self.engine._profile_test(test)[self.profile]
        if name == "level":
            values = self.scores.get("level", np.zeros(self.n, dtype=np.float64))
        elif name.startswith("score.product."):
            key = f"product.{name.split('.')[2].casefold()}"
            values = self.scores.get(key, np.zeros(self.n, dtype=np.float64))
        else:
            values = self.scores[name.split(".", 1)[1]]
        return _numeric(test, values)


def _numeric(test: FieldTest, values: Float) -> Bool:
    """A field test over float scores: common comparisons at once, any other once per value."""
    op, expected = test.op.name, test.value
    plain_number = isinstance(expected, int | float) and not isinstance(expected, bool)
    if op in {"gt", "gte", "lt", "lte"} and plain_number:
        limit = float(expected)
        return {
            "gt": values > limit,
            "gte": values >= limit,
            "lt": values < limit,
            "lte": values <= limit,
        }[op]
    if op == "between":
        return (values >= float(expected[0])) & (values <= float(expected[1]))
    if op in {"eq", "ne"} and plain_number:
        equal = np.asarray(values == float(expected), dtype=np.bool_)
        return equal if op == "eq" else ~equal
    unique, inverse = np.unique(values, return_inverse=True)
    answers = np.array([test.test(float(v)) for v in unique.tolist()], dtype=np.bool_)
    return answers[inverse.ravel()]


# --- the per-lead engine for the leads the bulk path leaves out ---------------------------------


def fill_from_engine(
    result: BulkResult,
    row: int,
    lead: Lead,
    account: Account | None,
    activities: Sequence[Activity],
    playbook: Playbook,
    now: datetime,
) -> None:
    """Put the per-lead engine's judgement of one lead (``activities`` sorted) into row ``row``."""
    judged = assess(lead, account, activities, playbook, now)
    result.fit[row] = judged.fit.total
    result.engagement[row] = judged.engagement.total
    result.total[row] = judged.scores["total"]
    for name in set(result.by_product) | set(judged.engagement.by_product):
        if name not in result.by_product:
            result.by_product[name] = np.zeros(len(result.fit), dtype=np.float64)
        result.by_product[name][row] = judged.engagement.by_product.get(name, 0.0)
    result.level[row] = judged.level.level if judged.level else 0
    result.level_rule[row] = (
        [r.id for r in playbook.levels].index(judged.level.rule_id) if judged.level is not None else -1
    )
    result.fit_passed[row] = judged.fit_passed
    dq = judged.disqualification
    result.dq[row] = [r.id for r in playbook.disqualifications].index(dq.rule_id) if dq is not None else -1
    visible = [a for a in activities if a.occurred_at <= now]
    facts = Facts(lead, account, visible, now, judged.scores)
    result.mql[row] = next(
        (i for i, r in enumerate(playbook.mql_rules) if judged.fit_passed and r.condition(facts)), -1
    )
    window = playbook.window()
    result.hand_raise[row] = any(
        any(r.matches(a) for r in playbook.hand_raisers) and (window is None or a.occurred_at >= now - window)
        for a in visible
    )


def assess_many(
    playbook: Playbook,
    now: datetime,
    leads: Sequence[tuple[Lead, Account | None, Sequence[Activity]]],
    *,
    compiled: bool | None = False,
) -> BulkResult:
    """The bulk path over objects in memory (each lead's activities sorted): for tests and tools.
    ``compiled``: as for :class:`BulkEngine`."""
    signatures = Signatures()
    lead_rows: list[int] = []
    times: list[int] = []
    sigs: list[int] = []
    for row, (_lead, _account, activities) in enumerate(leads):
        for activity in sorted(activities, key=lambda a: a.occurred_at):
            lead_rows.append(row)
            times.append(to_us(activity.occurred_at))
            sigs.append(signatures.code(activity.type, activity.campaign, activity.product, activity.properties))
    profiles = [(lead, account) for lead, account, _ in leads]
    engine = BulkEngine(playbook, now, profiles, signatures, compiled=compiled)
    columns = ActivityColumns(
        np.array(lead_rows, dtype=np.int64), np.array(times, dtype=np.int64), np.array(sigs, dtype=np.int64)
    )
    result = engine.assess(np.arange(len(leads), dtype=np.int64), columns)
    for row in result.fallback.tolist():
        lead, account, activities = leads[row]
        fill_from_engine(result, row, lead, account, activities, playbook, now)
    return result
