"""Conditions as data: ``all`` / ``any`` / ``not`` trees over field, operator and value.

A condition is parsed once (when the playbook loads) into a tree of small callable nodes;
the operator set is closed (:data:`OPERATORS`), fields are checked against what exists, and
nothing is ever evaluated as code. Two scopes exist:

* the **lead scope** (levels, fit, disqualification, MQL rules) sees ``lead.*``, ``account.*``,
  ``score.*`` and may test the lead's activities with ``activity`` / ``same_campaign`` nodes;
* the **activity scope** (scoring rules and ``where`` clauses) sees ``activity.*`` only.

A condition that parses cannot fail or hang when it is evaluated: numbers are finite (and
``between`` ranges not reversed), windows at most :data:`MAX_WITHIN_DAYS` days, trees at most
:data:`MAX_DEPTH` nodes deep, and ``matches`` patterns are compiled by the engine the caller
hands in (a :data:`PatternCompiler`): the playbook loader gives a linear-time engine, since the
standard library's backtracking one can take minutes over one value for a pattern like
``^(a+)+$``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from itertools import takewhile
from typing import Any, Protocol, runtime_checkable

from leadrelay.domain.errors import LeadRelayError
from leadrelay.domain.model import Account, Activity, Lead

Path = tuple[str | int, ...]

#: the deepest a condition tree may nest (``all`` inside ``any`` inside ``not`` ... counts each)
MAX_DEPTH = 32
#: the longest ``within_days`` window: a hundred years
MAX_WITHIN_DAYS = 36_500
#: the largest ``min_count``
MAX_MIN_COUNT = 1_000_000


class ConditionError(LeadRelayError, ValueError):
    """A condition that cannot be used; ``path`` points into the playbook document."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


@dataclass(frozen=True, slots=True)
class Facts:
    """What a lead-scope condition sees: the lead, its account, its scores, its history."""

    lead: Lead
    account: Account | None
    activities: Sequence[Activity]  # in time order
    as_of: datetime
    scores: dict[str, float]


@runtime_checkable
class TextPattern(Protocol):
    """A compiled, case-insensitive pattern: all the ``matches`` operator needs of a regex engine."""

    @property
    def pattern(self) -> str: ...

    def search(self, text: str, /) -> object: ...


#: Compiles a pattern's text, or raises :class:`ValueError` whose text is the engine's reason.
PatternCompiler = Callable[[str], TextPattern]


def python_pattern(text: str) -> TextPattern:
    """The standard library's engine, case-insensitive.

    It backtracks, so a pattern like ``^(a+)+$`` can run for minutes over one value; the
    playbook loader hands :func:`parse_condition` a linear-time engine instead.
    """
    try:
        return re.compile(text, re.IGNORECASE)
    except re.error as exc:
        raise ValueError(str(exc)) from None


# --- operators -------------------------------------------------------------------------------


def _fold(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | str):
        try:
            return float(value)
        except (ValueError, OverflowError):  # not a number, or an integer beyond any float
            return None
    return None


def _finite(value: Any) -> bool:
    """False for NaN, infinities and integers too large for a float; True for anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return True
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def _op_eq(actual: Any, expected: Any) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool):
        return _truthy(actual) == expected if isinstance(expected, bool) else bool(actual == expected)
    if isinstance(expected, int | float):
        return _number(actual) == float(expected)
    return bool(_fold(actual) == _fold(expected))


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().casefold() in {"true", "yes", "1", "y", "on", "はい"}
    return bool(value)


def _op_in(actual: Any, expected: Sequence[Any]) -> bool:
    return any(_op_eq(actual, option) for option in expected)


def _compare(actual: Any, expected: Any, test: Callable[[float, float], bool]) -> bool:
    a = _number(actual)
    return a is not None and test(a, float(expected))


def _op_contains(actual: Any, expected: Any) -> bool:
    if actual is None:
        return False
    if isinstance(actual, list | tuple | set | frozenset):
        return any(_op_eq(item, expected) for item in actual)
    return str(expected).casefold() in str(actual).casefold()


def _op_contains_any(actual: Any, expected: Sequence[Any]) -> bool:
    return any(_op_contains(actual, option) for option in expected)


def _op_starts_with(actual: Any, expected: Any) -> bool:
    return actual is not None and str(actual).casefold().startswith(str(expected).casefold())


def _op_ends_with(actual: Any, expected: Any) -> bool:
    return actual is not None and str(actual).casefold().endswith(str(expected).casefold())


def _op_matches(actual: Any, expected: TextPattern) -> bool:
    return actual is not None and expected.search(str(actual)) is not None


def _op_exists(actual: Any, _expected: Any) -> bool:
    return actual is not None and actual != "" and actual != [] and actual != {}


@dataclass(frozen=True, slots=True)
class Operator:
    name: str
    value: str  # what the value must be: scalar, list, number, pair, regex, none
    text_en: str
    text_ja: str
    test: Callable[[Any, Any], bool]


OPERATORS: dict[str, Operator] = {
    op.name: op
    for op in (
        Operator("eq", "scalar", "equals", "と等しい", _op_eq),
        Operator("ne", "scalar", "does not equal", "と等しくない", lambda a, e: not _op_eq(a, e)),
        Operator("in", "list", "is one of", "のいずれか", _op_in),
        Operator("not_in", "list", "is none of", "のいずれでもない", lambda a, e: not _op_in(a, e)),
        Operator("gt", "number", "is greater than", "より大きい", lambda a, e: _compare(a, e, float.__gt__)),
        Operator("gte", "number", "is at least", "以上", lambda a, e: _compare(a, e, float.__ge__)),
        Operator("lt", "number", "is less than", "未満", lambda a, e: _compare(a, e, float.__lt__)),
        Operator("lte", "number", "is at most", "以下", lambda a, e: _compare(a, e, float.__le__)),
        Operator(
            "between",
            "pair",
            "is between",
            "の範囲内",
            lambda a, e: _compare(a, e[0], float.__ge__) and _compare(a, e[1], float.__le__),
        ),
        Operator("contains", "scalar", "contains", "を含む", _op_contains),
        Operator("not_contains", "scalar", "does not contain", "を含まない", lambda a, e: not _op_contains(a, e)),
        Operator("contains_any", "list", "contains any of", "のいずれかを含む", _op_contains_any),
        Operator("starts_with", "scalar", "starts with", "で始まる", _op_starts_with),
        Operator("ends_with", "scalar", "ends with", "で終わる", _op_ends_with),
        Operator("matches", "regex", "matches the pattern", "のパターンに一致", _op_matches),
        Operator("exists", "none", "is present", "値がある", _op_exists),
        Operator("not_exists", "none", "is missing", "値がない", lambda a, e: not _op_exists(a, e)),
    )
}


# --- fields ----------------------------------------------------------------------------------

_LEAD_ATTRS = frozenset(f.name for f in fields(Lead) if f.name != "custom") | {"domain", "name"}
_ACCOUNT_ATTRS = frozenset(f.name for f in fields(Account))
_CAMPAIGN_ATTRS = frozenset({"code", "name", "channel", "kind"})
_SCORE_ATTRS = frozenset({"fit", "engagement", "total"})

Getter = Callable[[Any], Any]


def _lead_getter(path: list[str], where: Path, raw: str) -> Getter:
    if len(path) == 3 and path[1] == "custom":
        key = path[2]
        return lambda facts: facts.lead.custom.get(key)
    if len(path) == 2 and path[1] in _LEAD_ATTRS:
        attr = path[1]
        return lambda facts: getattr(facts.lead, attr)
    raise ConditionError(
        where, f"unknown field '{raw}' (lead fields: {', '.join(sorted(_LEAD_ATTRS))}, lead.custom.NAME)"
    )


def _account_getter(path: list[str], where: Path, raw: str) -> Getter:
    if len(path) == 2 and path[1] in _ACCOUNT_ATTRS:
        attr = path[1]
        return lambda facts: getattr(facts.account, attr) if facts.account is not None else None
    raise ConditionError(where, f"unknown field '{raw}' (account fields: {', '.join(sorted(_ACCOUNT_ATTRS))})")


def _score_getter(path: list[str], where: Path, raw: str) -> Getter:
    if len(path) == 2 and path[1] in _SCORE_ATTRS:
        key = path[1]
        return lambda facts: facts.scores.get(key, 0.0)
    if len(path) == 3 and path[1] == "product":
        key = f"product.{path[2].casefold()}"
        return lambda facts: facts.scores.get(key, 0.0)
    raise ConditionError(
        where, f"unknown field '{raw}' (score fields: score.fit, score.engagement, score.total, score.product.NAME)"
    )


def _activity_getter(path: list[str], where: Path, raw: str) -> Getter:
    if len(path) == 2 and path[1] in {"type", "product"}:
        attr = path[1]
        return lambda activity: getattr(activity, attr)
    if len(path) == 3 and path[1] == "properties":
        key = path[2]
        return lambda activity: activity.properties.get(key)
    if len(path) == 3 and path[1] == "campaign" and path[2] in _CAMPAIGN_ATTRS:
        attr = path[2]
        return lambda activity: getattr(activity.campaign, attr) if activity.campaign is not None else None
    raise ConditionError(
        where,
        f"unknown field '{raw}' (activity fields: activity.type, activity.product, "
        "activity.properties.NAME, activity.campaign.code|name|channel|kind)",
    )


LEAD_SCOPE = "lead"
ACTIVITY_SCOPE = "activity"


def compile_field(raw: object, scope: str, where: Path) -> Getter:
    if not isinstance(raw, str) or not raw:
        raise ConditionError(where, "field must be a dotted name such as lead.title")
    path = raw.split(".")
    root = path[0]
    if scope == ACTIVITY_SCOPE:
        if root != "activity":
            raise ConditionError(where, f"field '{raw}' is not available here: only activity.* fields are")
        return _activity_getter(path, where, raw)
    if raw == "level":
        return lambda facts: facts.scores.get("level", 0)
    if root == "lead":
        return _lead_getter(path, where, raw)
    if root == "account":
        return _account_getter(path, where, raw)
    if root == "score":
        return _score_getter(path, where, raw)
    raise ConditionError(where, f"field '{raw}' is not available here: use lead.*, account.*, score.* or level")


# --- nodes -----------------------------------------------------------------------------------


class Condition:
    """A compiled condition. Call it with the scope object (Facts or Activity)."""

    __slots__ = ()

    def __call__(self, subject: Any) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self, lang: str = "en") -> str:  # pragma: no cover - abstract
        raise NotImplementedError


class Always(Condition):
    __slots__ = ()

    def __call__(self, subject: Any) -> bool:
        return True

    def describe(self, lang: str = "en") -> str:
        return "always" if lang == "en" else "常に"


ALWAYS = Always()


class AllOf(Condition):
    __slots__ = ("parts",)

    def __init__(self, parts: Sequence[Condition]) -> None:
        self.parts = tuple(parts)

    def __call__(self, subject: Any) -> bool:
        return all(part(subject) for part in self.parts)

    def describe(self, lang: str = "en") -> str:
        joiner = " and " if lang == "en" else " かつ "
        return joiner.join(_wrap(p, lang) for p in self.parts)


class AnyOf(Condition):
    __slots__ = ("parts",)

    def __init__(self, parts: Sequence[Condition]) -> None:
        self.parts = tuple(parts)

    def __call__(self, subject: Any) -> bool:
        return any(part(subject) for part in self.parts)

    def describe(self, lang: str = "en") -> str:
        joiner = " or " if lang == "en" else " または "
        return joiner.join(_wrap(p, lang) for p in self.parts)


class NotOf(Condition):
    __slots__ = ("part",)

    def __init__(self, part: Condition) -> None:
        self.part = part

    def __call__(self, subject: Any) -> bool:
        return not self.part(subject)

    def describe(self, lang: str = "en") -> str:
        inner = _wrap(self.part, lang)
        return f"not {inner}" if lang == "en" else f"{inner} ではない"


def _wrap(node: Condition, lang: str) -> str:
    text = node.describe(lang)
    return f"({text})" if isinstance(node, AllOf | AnyOf) and len(node.parts) > 1 else text


def _show(value: Any) -> str:
    if isinstance(value, TextPattern):
        return f"/{value.pattern}/"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fast_test(op: Operator, value: Any) -> Callable[[Any], bool]:
    """The operator bound to its value; lists of plain text become a set lookup."""
    if op.name in {"eq", "ne", "in", "not_in"}:
        options = [value] if op.name in {"eq", "ne"} else value
        if all(isinstance(v, str) for v in options):
            folded = frozenset(v.casefold() for v in options)
            negate = op.name in {"ne", "not_in"}

            def member(actual: Any) -> bool:
                if isinstance(actual, str):
                    return (actual.casefold() in folded) != negate
                return negate  # nothing but text equals text (see _op_eq)

            return member
    test = op.test
    return lambda actual: test(actual, value)


class FieldTest(Condition):
    __slots__ = ("field", "getter", "op", "test", "value")

    def __init__(self, field: str, op: Operator, value: Any, getter: Getter) -> None:
        self.field = field
        self.op = op
        self.value = value
        self.getter = getter
        self.test = _fast_test(op, value)

    def __call__(self, subject: Any) -> bool:
        return self.test(self.getter(subject))

    def describe(self, lang: str = "en") -> str:
        if self.op.value == "none":
            return f"{self.field} {self.op.text_en if lang == 'en' else self.op.text_ja}"
        if lang == "en":
            return f"{self.field} {self.op.text_en} {_show(self.value)}"
        return f"{self.field} が {_show(self.value)} {self.op.text_ja}"


@dataclass(frozen=True, slots=True)
class ActivitySpec:
    """Which activities an ``activity`` or ``same_campaign`` node looks for."""

    types: frozenset[str]
    where: Condition

    def matches(self, activity: Activity) -> bool:
        return activity.type in self.types and self.where(activity)

    def describe(self, lang: str) -> str:
        names = " / ".join(sorted(self.types))
        if self.where is ALWAYS:
            return names
        return f"{names} ({self.where.describe(lang)})" if lang == "en" else f"{names}（{self.where.describe(lang)}）"


def _recent(facts: Facts, within: timedelta | None) -> Iterable[Activity]:
    """The activities in the window, newest first (``facts.activities`` is in time order)."""
    if within is None:
        return facts.activities
    since = facts.as_of - within
    return takewhile(lambda a: a.occurred_at >= since, reversed(facts.activities))


class ActivityTest(Condition):
    """True when the lead has at least ``min_count`` matching activities (in the window)."""

    __slots__ = ("min_count", "spec", "within")

    def __init__(self, spec: ActivitySpec, within: timedelta | None, min_count: int) -> None:
        self.spec = spec
        self.within = within
        self.min_count = min_count

    def __call__(self, facts: Facts) -> bool:
        count = 0
        for activity in _recent(facts, self.within):
            if self.spec.matches(activity):
                count += 1
                if count >= self.min_count:
                    return True
        return False

    def describe(self, lang: str = "en") -> str:
        text = self.spec.describe(lang)
        if lang == "en":
            times = f" at least {self.min_count} times" if self.min_count > 1 else ""
            window = f" within {self.within.days} days" if self.within else ""
            return f"did {text}{times}{window}"
        times = f"{self.min_count}回以上" if self.min_count > 1 else ""
        window = f"{self.within.days}日以内に" if self.within else ""
        return f"{window}{text}{times}"


class SameCampaignTest(Condition):
    """True when one campaign holds a matching activity for every spec (e.g. attended + survey)."""

    __slots__ = ("specs", "within")

    def __init__(self, specs: Sequence[ActivitySpec], within: timedelta | None) -> None:
        self.specs = tuple(specs)
        self.within = within

    def __call__(self, facts: Facts) -> bool:
        seen: dict[str, set[int]] = {}
        for activity in _recent(facts, self.within):
            if activity.campaign is None:
                continue
            for index, spec in enumerate(self.specs):
                if spec.matches(activity):
                    hit = seen.setdefault(activity.campaign.code, set())
                    hit.add(index)
                    if len(hit) == len(self.specs):
                        return True
        return False

    def describe(self, lang: str = "en") -> str:
        parts = [s.describe(lang) for s in self.specs]
        window = ""
        if self.within:
            window = f" within {self.within.days} days" if lang == "en" else f"（{self.within.days}日以内）"
        if lang == "en":
            return "in one campaign: " + " + ".join(parts) + window
        return "同一キャンペーンで " + " + ".join(parts) + window


# --- parsing ---------------------------------------------------------------------------------

_NODE_KEYS = ("all", "any", "not", "field", "activity", "same_campaign")


def parse_condition(
    data: object, scope: str, where: Path = (), *, patterns: PatternCompiler = python_pattern
) -> Condition:
    """Turn a condition document into a callable tree, or raise :class:`ConditionError`.

    ``patterns`` compiles the patterns of ``matches`` tests (see :data:`PatternCompiler`).
    """
    return _parse(data, scope, where, patterns, 1)


def _parse(data: object, scope: str, where: Path, patterns: PatternCompiler, depth: int) -> Condition:
    if data is None:
        return ALWAYS
    if depth > MAX_DEPTH:
        raise ConditionError(
            where, f"conditions are nested more than {MAX_DEPTH} deep (simplify the rule or split it into several)"
        )
    if not isinstance(data, Mapping):
        raise ConditionError(
            where, "a condition must be a mapping with all, any, not, field, activity or same_campaign"
        )
    keys = [k for k in data if k in _NODE_KEYS]
    if len(keys) != 1:
        raise ConditionError(
            where,
            f"a condition needs exactly one of {', '.join(_NODE_KEYS)}; found {', '.join(map(str, data)) or 'nothing'}",
        )
    kind = keys[0]
    if kind in {"all", "any"}:
        _only(data, {kind}, where)
        items = data[kind]
        if not isinstance(items, list) or not items:
            raise ConditionError((*where, kind), f"'{kind}' takes a non-empty list of conditions")
        parts = [_parse(item, scope, (*where, kind, i), patterns, depth + 1) for i, item in enumerate(items)]
        return AllOf(parts) if kind == "all" else AnyOf(parts)
    if kind == "not":
        _only(data, {"not"}, where)
        return NotOf(_parse(data["not"], scope, (*where, "not"), patterns, depth + 1))
    if kind == "field":
        return _parse_field_test(data, scope, where, patterns)
    if scope != LEAD_SCOPE:
        raise ConditionError(
            (*where, kind), f"'{kind}' tests a lead's history and cannot be used inside an activity rule"
        )
    if kind == "activity":
        _only(data, {"activity"}, where)
        body = data["activity"]
        if not isinstance(body, Mapping):
            raise ConditionError(
                (*where, "activity"), "'activity' takes a mapping with type, where, within_days, min_count"
            )
        _only(body, {"type", "where", "within_days", "min_count"}, (*where, "activity"))
        spec = _parse_spec(body, (*where, "activity"), patterns, depth)
        min_count = body.get("min_count", 1)
        if not isinstance(min_count, int) or isinstance(min_count, bool) or not 1 <= min_count <= MAX_MIN_COUNT:
            raise ConditionError(
                (*where, "activity", "min_count"), f"min_count must be a whole number from 1 to {MAX_MIN_COUNT:,}"
            )
        return ActivityTest(spec, _window(body, (*where, "activity")), min_count)
    _only(data, {"same_campaign"}, where)
    body = data["same_campaign"]
    if not isinstance(body, Mapping) or not isinstance(body.get("all"), list) or len(body["all"]) < 2:
        raise ConditionError(
            (*where, "same_campaign"), "'same_campaign' takes 'all': a list of two or more activity specs"
        )
    _only(body, {"all", "within_days"}, (*where, "same_campaign"))
    specs = []
    for i, item in enumerate(body["all"]):
        at = (*where, "same_campaign", "all", i)
        if not isinstance(item, Mapping):
            raise ConditionError(at, "each entry needs a type and optionally where")
        _only(item, {"type", "where"}, at)
        specs.append(_parse_spec(item, at, patterns, depth))
    return SameCampaignTest(specs, _window(body, (*where, "same_campaign")))


def _parse_spec(body: Mapping[str, Any], where: Path, patterns: PatternCompiler, depth: int) -> ActivitySpec:
    raw = body.get("type")
    types = [raw] if isinstance(raw, str) else raw
    if not isinstance(types, list) or not types or not all(isinstance(t, str) and t for t in types):
        raise ConditionError((*where, "type"), "type must be an activity type or a list of them")
    where_clause = _parse(body.get("where"), ACTIVITY_SCOPE, (*where, "where"), patterns, depth + 1)
    return ActivitySpec(frozenset(types), where_clause)


def _window(body: Mapping[str, Any], where: Path) -> timedelta | None:
    days = body.get("within_days")
    if days is None:
        return None
    if not isinstance(days, int | float) or isinstance(days, bool) or not _finite(days) or days <= 0:
        raise ConditionError((*where, "within_days"), "within_days must be a positive number of days")
    if days > MAX_WITHIN_DAYS:
        raise ConditionError(
            (*where, "within_days"), f"within_days can be at most {MAX_WITHIN_DAYS:,} (a hundred years)"
        )
    return timedelta(days=days)


def _only(data: Mapping[str, Any], allowed: set[str], where: Path) -> None:
    for key in data:
        if key not in allowed:
            raise ConditionError((*where, key), f"unexpected key '{key}' (allowed here: {', '.join(sorted(allowed))})")


def _parse_field_test(data: Mapping[str, Any], scope: str, where: Path, patterns: PatternCompiler) -> Condition:
    _only(data, {"field", "op", "value"}, where)
    name = data["field"]
    getter = compile_field(name, scope, (*where, "field"))
    op_name = data.get("op", "eq")
    op = OPERATORS.get(op_name) if isinstance(op_name, str) else None
    if op is None:
        raise ConditionError((*where, "op"), f"unknown operator '{op_name}' (known: {', '.join(OPERATORS)})")
    value = data.get("value")
    at = (*where, "value")
    for item in value if isinstance(value, list) else [value]:
        if not _finite(item):
            raise ConditionError(at, f"operator '{op.name}' needs finite numbers, not {item}")
    if op.value == "none":
        if "value" in data:
            raise ConditionError(at, f"operator '{op.name}' takes no value")
    elif "value" not in data:
        raise ConditionError(at, f"operator '{op.name}' needs a value")
    elif op.value == "list":
        if not isinstance(value, list) or not value:
            raise ConditionError(at, f"operator '{op.name}' needs a non-empty list")
    elif op.value == "number":
        if _number(value) is None or isinstance(value, str):
            raise ConditionError(at, f"operator '{op.name}' needs a number")
    elif op.value == "pair":
        if (
            not isinstance(value, list)
            or len(value) != 2
            or any(_number(v) is None or isinstance(v, str) for v in value)
        ):
            raise ConditionError(at, f"operator '{op.name}' needs a list of two numbers [low, high]")
        if value[0] > value[1]:
            raise ConditionError(at, f"the range [{value[0]}, {value[1]}] is empty: low is above high")
    elif op.value == "regex":
        if not isinstance(value, str):
            raise ConditionError(at, "operator 'matches' needs a pattern string")
        try:
            value = patterns(value)
        except ValueError as exc:
            raise ConditionError(at, f"invalid pattern: {exc}") from None
    elif isinstance(value, list | dict):
        raise ConditionError(at, f"operator '{op.name}' needs a single value; use 'in' for a list")
    return FieldTest(str(name), op, value, getter)


def activity_types_named(condition: Condition) -> set[str]:
    """Every activity type a lead-scope condition refers to (for validation)."""
    if isinstance(condition, AllOf | AnyOf):
        return set().union(*(activity_types_named(p) for p in condition.parts))
    if isinstance(condition, NotOf):
        return activity_types_named(condition.part)
    if isinstance(condition, ActivityTest):
        return set(condition.spec.types)
    if isinstance(condition, SameCampaignTest):
        return set().union(*(s.types for s in condition.specs))
    return set()


def fields_named(condition: Condition) -> set[str]:
    """Every field a condition reads (for validation)."""
    if isinstance(condition, AllOf | AnyOf):
        return set().union(*(fields_named(p) for p in condition.parts))
    if isinstance(condition, NotOf):
        return fields_named(condition.part)
    if isinstance(condition, FieldTest):
        return {condition.field}
    return set()


def reads_history(condition: Condition) -> bool:
    """True when the condition looks at the lead's activities or scores."""
    if isinstance(condition, AllOf | AnyOf):
        return any(reads_history(p) for p in condition.parts)
    if isinstance(condition, NotOf):
        return reads_history(condition.part)
    if isinstance(condition, ActivityTest | SameCampaignTest):
        return True
    if isinstance(condition, FieldTest):
        return condition.field == "level" or condition.field.startswith("score.")
    return False


def reads_activities(condition: Condition) -> bool:
    """True when the condition needs the activities themselves: activity nodes, or per-product
    scores (a lead's stored fit, engagement, total and level do not need them)."""
    if isinstance(condition, AllOf | AnyOf):
        return any(reads_activities(p) for p in condition.parts)
    if isinstance(condition, NotOf):
        return reads_activities(condition.part)
    if isinstance(condition, ActivityTest | SameCampaignTest):
        return True
    return isinstance(condition, FieldTest) and condition.field.startswith("score.product.")
