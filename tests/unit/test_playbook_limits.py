"""A playbook that validates cannot break ingestion: whatever would crash or hang at run time is
refused at load with one line naming the file and the line."""

from __future__ import annotations

import copy
import io
import math
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from leadrelay.adapters.playbook.document import MAX_BYTES, MAX_NESTING, MAX_VALUES, plain
from leadrelay.adapters.playbook.loader import PlaybookError, default_playbook_path, load_playbook, parse_playbook
from leadrelay.domain.conditions import MAX_DEPTH, OPERATORS, Facts
from leadrelay.domain.evaluation import assess, derive_moves, sort_activities
from leadrelay.domain.lifecycle import Stage
from leadrelay.domain.model import ACTIVITY_TYPES, Account, Activity, Campaign, Lead
from tests.conftest import NOW

HEADER = "id: test\nname: Limits test\nversion: '1'\n"
SOURCE = "playbooks/sales.yaml"


def error_of(body: str) -> PlaybookError:
    with pytest.raises(PlaybookError) as caught:
        parse_playbook(HEADER + body, SOURCE)
    return caught.value


@contextmanager
def deadline(seconds: int) -> Iterator[None]:
    """Fail instead of hanging: SIGALRM raises after ``seconds`` (a bound, not a speed test)."""

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# --- the document: size, nesting, aliases ----------------------------------------------------


def alias_bomb(levels: int) -> str:
    text = 'description: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
    for level in range(1, levels + 1):
        text += f"x{level}: &l{level} [{', '.join([f'*l{level - 1}'] * 9)}]\n"
    return text


def test_an_alias_bomb_is_refused_before_it_expands() -> None:
    with deadline(5):
        error = error_of(alias_bomb(9))  # 9**10 values once expanded

    assert error.line is not None
    assert str(error).startswith(f"{SOURCE}:")
    assert f"more than {MAX_VALUES:,} values with its aliases expanded" in error.message


def test_a_few_aliases_are_still_yaml() -> None:
    loaded = parse_playbook(
        HEADER + "activity_types: &mine [podcast_listened]\n"
        "engagement:\n  rules:\n    - id: podcast\n      activity: *mine\n      points: 5\n"
    )
    assert [r.id for r in loaded.playbook.rules_by_type["podcast_listened"]] == ["podcast"]


def test_an_alias_inside_its_own_anchor_is_refused() -> None:
    error = error_of("description: &loop [1, *loop]\n")
    assert str(error) == f"{SOURCE}:4: invalid YAML: alias *loop refers to a node it is inside"


def test_aliases_that_nest_too_deep_once_expanded_are_refused() -> None:
    chain = "a0: &a0 [1]\n" + "".join(f"a{i}: &a{i} [*a{i - 1}]\n" for i in range(1, MAX_NESTING + 5))
    error = error_of(chain)
    assert error.line is not None
    assert f"nested more than {MAX_NESTING} levels deep with its aliases expanded" in error.message


def test_conditions_nested_a_thousand_deep_are_refused_with_the_line() -> None:
    deep = "{not: " * 1000 + "{field: lead.title, op: exists}" + "}" * 1000
    error = error_of(f"fit:\n  gate:\n    when: {deep}\n")
    assert str(error) == f"{SOURCE}:6: the document is nested more than {MAX_NESTING} levels deep"


def test_a_document_over_the_size_limit_is_refused_before_parsing() -> None:
    error = error_of("description: " + "x" * MAX_BYTES + "\n")
    assert (
        str(error) == f"{SOURCE}: the document is larger than 1,000,000 bytes (a playbook is configuration, not data)"
    )


def test_a_file_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_bytes(HEADER.encode() + b"# " + b"x" * MAX_BYTES + b"\n")

    with pytest.raises(PlaybookError) as caught:
        load_playbook(path)
    assert str(caught.value) == (
        f"{path}: the document is larger than 1,000,000 bytes (a playbook is configuration, not data)"
    )


def test_a_file_just_under_the_size_limit_loads(tmp_path: Path) -> None:
    path = tmp_path / "large.yaml"
    body = HEADER.encode() + b"# "
    path.write_bytes(b"\xef\xbb\xbf" + body + b"x" * (MAX_BYTES - len(body) - 1) + b"\n")

    assert load_playbook(path).playbook.id == "test"


# --- conditions: depth, numbers, ranges -----------------------------------------------------


def nested(depth: int) -> str:
    """A level condition ``depth`` nodes deep: ``not`` around ``not`` ... around a field test."""
    return "{not: " * (depth - 1) + "{field: lead.title, op: exists}" + "}" * (depth - 1)


def test_conditions_nested_deeper_than_the_cap_are_refused() -> None:
    error = error_of(f"levels:\n  - level: 1\n    id: deep\n    when: {nested(MAX_DEPTH + 1)}\n")
    assert (error.line, error.rule_id) == (7, "deep")
    assert error.message == (
        f"conditions are nested more than {MAX_DEPTH} deep (simplify the rule or split it into several)"
    )


def test_conditions_nested_up_to_the_cap_load() -> None:
    playbook = parse_playbook(HEADER + f"levels:\n  - level: 1\n    id: deep\n    when: {nested(MAX_DEPTH)}\n").playbook
    facts = Facts(Lead(email="a@acme.example", title="CTO"), None, [], NOW, {})
    assert playbook.levels[0].condition(facts) is (MAX_DEPTH % 2 == 1)


def test_a_huge_within_days_is_refused() -> None:
    error = error_of(
        "levels:\n  - level: 1\n    id: ever\n    when: {activity: {type: email_opened, within_days: 99999999999}}\n"
    )
    assert (error.line, error.rule_id) == (7, "ever")
    assert error.where == "levels[0].when.activity.within_days"
    assert error.message == "within_days can be at most 36,500 (a hundred years)"


@pytest.mark.parametrize("days", [".nan", ".inf", "-.inf"])
def test_a_non_finite_within_days_is_refused(days: str) -> None:
    error = error_of(
        f"levels:\n  - level: 1\n    id: ever\n    when: {{activity: {{type: email_opened, within_days: {days}}}}}\n"
    )
    assert error.line == 7
    assert error.message == "within_days must be a positive number of days"


def test_a_huge_min_count_is_refused() -> None:
    error = error_of(
        "levels:\n  - level: 1\n    id: many\n    when: {activity: {type: email_opened, min_count: 10000000000}}\n"
    )
    assert error.line == 7
    assert error.message == "min_count must be a whole number from 1 to 1,000,000"


def test_a_reversed_between_is_refused() -> None:
    error = error_of(
        "fit:\n  rules:\n    - id: mid_size\n      points: 5\n"
        "      when: {field: account.employees, op: between, value: [999, 100]}\n"
    )
    assert str(error) == (
        f"{SOURCE}:8: rule 'mid_size' fit.rules[0].when.value: the range [999, 100] is empty: low is above high"
    )


@pytest.mark.parametrize(
    ("op", "value"),
    [
        ("gte", ".nan"),
        ("lt", ".inf"),
        ("eq", "-.inf"),
        ("between", "[0, .inf]"),
        ("in", "[1, .nan]"),
        ("gt", "1" + "0" * 400),  # an integer beyond any float
    ],
)
def test_non_finite_numbers_in_conditions_are_refused(op: str, value: str) -> None:
    error = error_of(
        f"fit:\n  rules:\n    - id: odd\n      points: 5\n      when: {{field: account.employees, op: {op}, value: {value}}}\n"
    )
    assert (error.line, error.where) == (8, "fit.rules[0].when.value")
    assert error.message.startswith(f"operator '{op}' needs finite numbers, not ")


# --- numbers in the schema -------------------------------------------------------------------


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
def test_a_non_finite_min_score_is_refused(value: str) -> None:
    error = error_of(f"fit:\n  gate:\n    min_score: {value}\n")
    assert str(error) == f"{SOURCE}:6: fit.gate.min_score: Input should be a finite number"


@pytest.mark.parametrize(
    ("body", "line", "where"),
    [
        ("engagement:\n  window_days: .inf\n", 5, "engagement.window_days"),
        ("engagement:\n  decay: {half_life_days: .nan}\n", 5, "engagement.decay.half_life_days"),
        (
            "engagement:\n  rules:\n    - id: opened\n      activity: email_opened\n      points: .nan\n",
            8,
            "engagement.rules[0].points",
        ),
        ("sales:\n  recycle: {inactive_days: .inf}\n", 5, "sales.recycle.inactive_days"),
    ],
)
def test_non_finite_numbers_are_refused_everywhere_in_the_schema(body: str, line: int, where: str) -> None:
    error = error_of(body)
    assert (error.line, error.where) == (line, where)
    assert error.message == "Input should be a finite number"


@pytest.mark.parametrize(
    ("body", "where", "message"),
    [
        ("engagement:\n  window_days: 99999999999\n", "engagement.window_days", "less than or equal to 36500"),
        (
            "engagement:\n  decay: {linear_days: 99999999999}\n",
            "engagement.decay.linear_days",
            "less than or equal to 36500",
        ),
        ("fit:\n  gate:\n    min_score: 1e300\n", "fit.gate.min_score", "less than or equal to 1000000"),
        (
            "engagement:\n  rules:\n    - id: opened\n      activity: email_opened\n      points: 5\n"
            "      repeat: {max_times: 99999999999}\n",
            "engagement.rules[0].repeat.max_times",
            "less than or equal to 1000000",
        ),
        (
            "engagement:\n  rules:\n    - id: opened\n      activity: email_opened\n      points: 5\n"
            "      cap: {points: 1e300, per: day}\n",
            "engagement.rules[0].cap.points",
            "less than or equal to 1000000",
        ),
    ],
)
def test_days_and_points_are_bounded(body: str, where: str, message: str) -> None:
    error = error_of(body)
    assert error.where == where
    assert error.line is not None
    assert message in error.message


# --- patterns: a linear-time engine ---------------------------------------------------------


def title_rule(pattern: str) -> str:
    return (
        "disqualification:\n  rules:\n    - id: odd_title\n      reason: odd\n"
        f"      when: {{field: lead.title, op: matches, value: '{pattern}'}}\n"
    )


def test_a_catastrophic_pattern_runs_in_linear_time() -> None:
    playbook = parse_playbook(HEADER + title_rule("^(a+)+$")).playbook
    [rule] = [r for r in playbook.disqualifications if r.id == "odd_title"]

    def facts(title: str) -> Facts:
        return Facts(Lead(email="a@acme.example", title=title), None, [], NOW, {})

    with deadline(5):  # Python's backtracking engine takes minutes over this title
        assert rule.test(facts("a" * 60 + "!")) is False
    assert rule.test(facts("AAAA")) is True  # still case-insensitive


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        (r"(cto)\1", "invalid pattern: invalid escape sequence: \\1"),
        ("(?<=chief )officer", "invalid pattern: invalid perl operator: (?<="),
        ("(unclosed", "invalid pattern: missing ): (unclosed"),
    ],
)
def test_a_pattern_re2_cannot_run_is_refused_with_its_reason(pattern: str, reason: str) -> None:
    error = error_of(title_rule(pattern))
    assert (error.line, error.rule_id, error.where) == (8, "odd_title", "disqualification.rules[0].when.value")
    assert error.message == reason


# --- e-mail addresses ------------------------------------------------------------------------

ROUTING = """\
routing:
  departments:
    - id: sales
      manager: {{name: Boss, email: {manager}}}
      reps:
        - id: rep1
          email: {rep}
  fallback: sales
"""


def test_a_rep_email_that_is_no_address_is_refused() -> None:
    error = error_of(ROUTING.format(manager="boss@acme.co.jp", rep="not-an-email"))
    assert str(error) == (
        f"{SOURCE}:10: rule 'rep1' routing.departments[0].reps[0].email: "
        "'not-an-email' is not an e-mail address (it needs exactly one @)"
    )


def test_a_manager_email_that_is_no_address_is_refused() -> None:
    error = error_of(ROUTING.format(manager="boss@localhost", rep="rep1@acme.co.jp"))
    assert (error.line, error.where) == (7, "routing.departments[0].manager.email")
    assert error.message == "'boss@localhost' is not an e-mail address"


def test_rep_and_manager_emails_are_normalised_as_leads_are() -> None:
    routing = parse_playbook(
        HEADER + ROUTING.format(manager="Boss@ACME.co.jp", rep="ｒｅｐ１＠acme.co.jp")
    ).playbook.routing
    assert routing is not None
    assert routing.reps["rep1"].email == "rep1@acme.co.jp"
    manager = routing.departments["sales"].manager
    assert manager is not None and manager.email == "boss@acme.co.jp"


def test_a_channel_address_that_is_no_address_is_refused() -> None:
    error = error_of(
        "notifications:\n  channels:\n    - id: mail\n      kind: email\n      to: [ops@acme.co.jp, ops.acme.co.jp]\n"
    )
    assert (error.line, error.where) == (8, "notifications.channels[0].to[1]")
    assert error.message == "'ops.acme.co.jp' is not an e-mail address (it needs exactly one @)"


# --- calendars that never open ---------------------------------------------------------------


def test_a_calendar_closed_all_year_is_refused() -> None:
    error = error_of("calendars:\n  - id: never\n    closures: [{from: 01-01, to: 12-31}]\n")
    assert str(error) == (
        f"{SOURCE}:5: rule 'never' calendars[0]: the calendar has no business hour in 2024: "
        "every working day (mon, tue, wed, thu, fri) is a holiday, a closure or a closed date"
    )


def test_a_closure_that_wraps_to_the_day_before_is_refused() -> None:
    error = error_of("calendars:\n  - id: never\n    working_days: [sun]\n    closures: [{from: 01-02, to: 01-01}]\n")
    assert error.line == 5
    assert "no business hour in 2024" in error.message


def test_a_year_of_closed_dates_is_refused() -> None:
    weekdays = [NOW.date().replace(month=1, day=1) + timedelta(days=n) for n in range(365)]
    dates = ", ".join(d.isoformat() for d in weekdays if d.year == 2026)
    error = error_of(f"calendars:\n  - id: shut\n    closed_dates: [{dates}]\n")
    assert error.line == 5
    assert "no business hour in 2026" in error.message


def test_a_calendar_open_only_on_one_weekday_a_year_loads() -> None:
    # closed all year but 12-31: every year has at least that day or the next ones open
    playbook = parse_playbook(
        HEADER + "calendars:\n  - id: rare\n    working_days: [mon, tue, wed, thu, fri, sat, sun]\n"
        "    closures: [{from: 01-01, to: 12-30}]\n"
    ).playbook
    assert playbook.calendars["rare"].first_business_day(2026) == NOW.date().replace(month=12, day=31)


# --- property: whatever validates, runs ------------------------------------------------------
#
# Generated playbooks and semantic mutations of the default playbook either stop at load with a
# clean one-line PlaybookError naming the line, or load and then judge a few generated leads
# without an exception and in bounded time.

ACTIVITY_TYPE_NAMES = sorted(ACTIVITY_TYPES)
LEAD_FIELDS = [
    "lead.title",
    "lead.country",
    "lead.custom.budget",
    "account.employees",
    "account.industry",
    "score.fit",
    "score.total",
    "score.product.analytics",
    "level",
]
ACTIVITY_FIELDS = ["activity.type", "activity.product", "activity.properties.page_kind", "activity.campaign.code"]
NASTY_NUMBERS = [math.nan, math.inf, -math.inf, -1, 0, 1e308, 10**30, 99_999_999_999, -99_999_999_999]
NASTY_PATTERNS = ["^(a+)+$", "(a|aa)+$", "(x+x+)+y", r"(cto)\1", "(?=a)", "(unclosed", "[z-a]", "", ".*" * 50]
ANYTHING = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from(NASTY_NUMBERS),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(NASTY_PATTERNS),
    st.lists(st.one_of(st.integers(-100, 10_000), st.text(max_size=6), st.sampled_from(NASTY_NUMBERS)), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)


def mostly(usual: st.SearchStrategy[Any], odd: st.SearchStrategy[Any] = ANYTHING) -> st.SearchStrategy[Any]:
    """``usual`` 19 times in 20, ``odd`` otherwise (so that many examples load and run)."""
    return st.sampled_from(range(20)).flatmap(lambda n: odd if n == 19 else usual)


NUMBERS = mostly(st.one_of(st.integers(-50, 200), st.floats(-50, 200)), st.sampled_from(NASTY_NUMBERS))
TEXTS = st.sampled_from(["cto", "JP", "pricing", "analytics", "学生", "c1", ""])
VALUE_FOR = {
    "scalar": st.one_of(TEXTS, NUMBERS, st.booleans()),
    "list": st.lists(st.one_of(TEXTS, NUMBERS), min_size=1, max_size=3),
    "number": NUMBERS,
    "pair": st.tuples(NUMBERS, NUMBERS).map(sorted),
    "regex": st.one_of(st.sampled_from(["^c.o$", "pric", r"\d+", *NASTY_PATTERNS]), st.text(max_size=8)),
}


@st.composite
def field_tests(draw: st.DrawFn, fields: list[str]) -> dict[str, Any]:
    op = draw(mostly(st.sampled_from(list(OPERATORS)), st.sampled_from(["greater", 5, None])))
    test: dict[str, Any] = {
        "field": draw(mostly(st.sampled_from(fields), st.sampled_from(["lead.salary", "x", ""]))),
        "op": op,
    }
    kind = OPERATORS[op].value if op in OPERATORS else "scalar"
    if kind != "none" or draw(st.integers(0, 9)) == 0:
        test["value"] = draw(mostly(VALUE_FOR.get(kind, ANYTHING)))
    return test


def conditions(fields: list[str], with_activities: bool) -> st.SearchStrategy[Any]:
    leaves: st.SearchStrategy[Any] = field_tests(fields)
    if with_activities:
        bodies = st.fixed_dictionaries(
            {"type": st.sampled_from(ACTIVITY_TYPE_NAMES)},
            optional={
                "within_days": mostly(st.sampled_from([1, 30, 365.5]), st.sampled_from(NASTY_NUMBERS)),
                "min_count": mostly(st.integers(1, 3), st.sampled_from([0, -1, 10**12, 1.5])),
                "where": field_tests(ACTIVITY_FIELDS),
            },
        )
        leaves = st.one_of(leaves, bodies.map(lambda body: {"activity": body}))
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.lists(inner, min_size=1, max_size=3).map(lambda parts: {"all": parts}),
            st.lists(inner, min_size=1, max_size=3).map(lambda parts: {"any": parts}),
            inner.map(lambda part: {"not": part}),
        ),
        max_leaves=10,
    )


LEAD_CONDITIONS = conditions(LEAD_FIELDS, with_activities=True)
PROFILE_CONDITIONS = conditions(["lead.title", "lead.country", "account.employees", "account.industry"], False)
ACTIVITY_CONDITIONS = conditions(ACTIVITY_FIELDS, with_activities=False)


def default_document() -> dict[str, Any]:
    return cast(dict[str, Any], plain(YAML(typ="safe", pure=True).load(default_playbook_path().read_text("utf-8"))))


DEFAULT_DOCUMENT = default_document()


def dump(document: Any) -> str:
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    out = io.StringIO()
    yaml.dump(document, out)
    return out.getvalue()


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every path into the document with the value there."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in items:
        yield (*prefix, key), child
        yield from paths(child, (*prefix, key))


def deepen(condition: Any, depth: int) -> Any:
    for level in range(depth):
        condition = {"not": condition} if level % 2 else {"all": [condition]}
    return condition


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


MUTATION_TARGETS: dict[str, Callable[[tuple[Any, ...], Any], bool]] = {
    "number": lambda path, value: _is_number(value),
    "deepen": lambda path, value: path[-1] in {"when", "where"} and isinstance(value, dict),
    "pattern": lambda path, value: path[-1] in {"when", "where"} and isinstance(value, dict),
    "condition": lambda path, value: path[-1] in {"when", "where"},
    "duplicate": lambda path, value: isinstance(value, list) and bool(value),
    "empty": lambda path, value: isinstance(value, list),
    "type": lambda path, value: True,
    "delete": lambda path, value: True,
}


@st.composite
def mutated_defaults(draw: st.DrawFn) -> str:
    """The default playbook with one to three semantic mutations."""
    document = copy.deepcopy(DEFAULT_DOCUMENT)
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(list(MUTATION_TARGETS)))
        candidates = [path for path, value in paths(document) if MUTATION_TARGETS[kind](path, value)]
        if not candidates:
            continue
        path = draw(st.sampled_from(candidates))
        parent = document
        for step in path[:-1]:
            parent = parent[step]
        key = path[-1]
        value = parent[key]
        if kind == "number":
            parent[key] = draw(st.one_of(st.sampled_from(NASTY_NUMBERS), st.integers(-(10**6), 10**6)))
        elif kind == "deepen":
            parent[key] = deepen(value, draw(st.integers(1, 60)))
        elif kind == "pattern":
            field = "activity.properties.page_kind" if key == "where" else "lead.title"
            pattern = draw(VALUE_FOR["regex"])
            parent[key] = {"all": [value, {"field": field, "op": "matches", "value": pattern}]}
        elif kind == "condition":
            parent[key] = draw(ACTIVITY_CONDITIONS if "where" in path else LEAD_CONDITIONS)
        elif kind == "duplicate":
            value.append(copy.deepcopy(draw(st.sampled_from(value))))
        elif kind == "empty":
            parent[key] = []
        elif kind == "type":
            parent[key] = draw(ANYTHING)
        else:
            del parent[key]
    return dump(document)


@st.composite
def generated_playbooks(draw: st.DrawFn) -> str:
    """A small playbook of generated rules with generated conditions."""
    ids = iter(f"rule{n}" for n in range(100))
    document: dict[str, Any] = {"id": "generated", "name": "Generated", "version": "1"}
    document["fit"] = {
        "gate": {"min_score": draw(st.one_of(st.none(), NUMBERS))},
        "rules": [
            {"id": next(ids), "points": draw(NUMBERS), "when": draw(PROFILE_CONDITIONS)}
            for _ in range(draw(st.integers(0, 3)))
        ],
    }
    document["engagement"] = {
        "decay": draw(st.sampled_from([{}, {"half_life_days": 45}, {"window_days": 0.5}, {"linear_days": 36_500}])),
        "rules": [
            {
                "id": next(ids),
                "activity": draw(st.sampled_from(ACTIVITY_TYPE_NAMES)),
                "points": draw(NUMBERS),
                "where": draw(st.one_of(st.none(), ACTIVITY_CONDITIONS)),
                **draw(st.sampled_from([{}, {"cap": {"points": 10, "per": "week"}}, {"repeat": {"max_times": 2}}])),
            }
            for _ in range(draw(st.integers(0, 3)))
        ],
    }
    document["levels"] = [
        {"level": level, "id": next(ids), "when": draw(LEAD_CONDITIONS)}
        for level in range(1, draw(st.integers(0, 3)) + 1)
    ]
    document["mql"] = {
        "rules": [{"id": next(ids), "when": draw(LEAD_CONDITIONS)} for _ in range(draw(st.integers(0, 2)))]
    }
    if draw(st.booleans()):
        document["calendars"] = [
            {
                "id": "office",
                "working_days": draw(st.lists(st.sampled_from(["mon", "tue", "sat", "sun"]), max_size=3, unique=True)),
                "closures": [
                    {
                        "from": draw(st.sampled_from(["01-01", "06-30", "12-31"])),
                        "to": draw(st.sampled_from(["01-01", "06-29", "12-31"])),
                    }
                ],
            }
        ]
    return dump(document)


LEADS = st.builds(
    Lead,
    email=st.just("taro@acme.co.jp"),
    title=st.one_of(st.none(), st.sampled_from(["CTO", "a" * 40 + "!", "学生"]), st.text(max_size=20)),
    country=st.sampled_from([None, "JP", "US"]),
    custom=st.dictionaries(st.sampled_from(["budget", "x"]), ANYTHING, max_size=2),
)
ACCOUNTS = st.one_of(
    st.none(),
    st.builds(
        Account,
        domain=st.just("acme.co.jp"),
        employees=st.one_of(st.none(), st.integers(0, 10**30)),
        industry=st.sampled_from([None, "manufacturing"]),
    ),
)
ACTIVITIES = st.lists(
    st.builds(
        Activity,
        key=st.uuids().map(str),
        type=st.sampled_from(ACTIVITY_TYPE_NAMES),
        occurred_at=st.integers(0, 400 * 24).map(lambda hours: NOW - timedelta(hours=hours)),
        campaign=st.one_of(st.none(), st.builds(Campaign, code=st.sampled_from(["c1", "c2"]))),
        product=st.sampled_from([None, "analytics"]),
        properties=st.dictionaries(st.sampled_from(["page_kind", "answer"]), ANYTHING, max_size=2),
    ),
    max_size=8,
)


def refused_cleanly_or_runs(text: str, lead: Lead, account: Account | None, activities: list[Activity]) -> None:
    with deadline(5):
        try:
            playbook = parse_playbook(text, SOURCE).playbook
        except PlaybookError as error:
            assert error.line is not None, str(error)
            assert "\n" not in str(error)
            assert str(error).startswith(f"{SOURCE}:{error.line}: ")
            return
        ordered = sort_activities(activities)
        assess(lead, account, ordered, playbook, NOW, explain=True)
        derive_moves(Stage.NEW, None, lead, account, ordered, playbook)
        derive_moves(Stage.NURTURE, NOW - timedelta(days=30), lead, account, ordered, playbook, check_at_anchor=True)
        for calendar in playbook.calendars.values():
            calendar.add(NOW, timedelta(hours=48))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutated_defaults(), LEADS, ACCOUNTS, ACTIVITIES)
def test_a_mutated_default_playbook_is_refused_cleanly_or_runs(
    text: str, lead: Lead, account: Account | None, activities: list[Activity]
) -> None:
    refused_cleanly_or_runs(text, lead, account, activities)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(generated_playbooks(), LEADS, ACCOUNTS, ACTIVITIES)
def test_a_generated_playbook_is_refused_cleanly_or_runs(
    text: str, lead: Lead, account: Account | None, activities: list[Activity]
) -> None:
    refused_cleanly_or_runs(text, lead, account, activities)
