"""The ``pre_sql`` playbook section (seed 001): read from the file, off unless given, and every
mistake named with its line; SLA policies that time the Pre-SQL handoff."""

from __future__ import annotations

import pytest

from leadrelay.adapters.playbook.loader import PlaybookError, default_playbook_path, load_playbook, parse_playbook
from leadrelay.domain.lifecycle import Stage
from leadrelay.domain.sla import policy_for

#: line 1-3: the header; the routing section starts on line 4
BASE = """\
id: test
name: Pre-SQL test
version: '1'
calendars:
  - {id: office, hours: ["09:00-18:00"]}
routing:
  departments:
    - id: marketing
    - id: inside
      reps: [{id: is-1}]
    - id: field
      reps: [{id: fs-1}, {id: fs-2}]
    - id: field_west
      reps: [{id: fw-1}]
  rules:
    - {id: to_inside, department: inside}
  fallback: marketing
"""

PRE_SQL = """\
pre_sql:
  inside_sales: [inside]
  rules:
    - id: handoff_west
      territory: {regions: [kinki]}
      department: field_west
    - id: handoff_field
      department: field
      strategy: load_balanced
"""


def error_of(text: str) -> PlaybookError:
    with pytest.raises(PlaybookError) as caught:
        parse_playbook(text, "pb.yaml")
    return caught.value


def line_of(text: str, fragment: str) -> int:
    """The last line holding ``fragment`` (the pre_sql section comes after the routing one)."""
    return max(i for i, line in enumerate(text.splitlines(), start=1) if fragment in line)


def test_a_playbook_without_a_pre_sql_section_does_not_use_the_stage() -> None:
    assert parse_playbook(BASE).playbook.pre_sql is None


def test_the_section_gives_inside_sales_the_handoff_rules_in_order_and_the_first_rules_queue() -> None:
    policy = parse_playbook(BASE + PRE_SQL).playbook.pre_sql

    assert policy is not None
    assert policy.inside_sales == frozenset({"inside"})
    assert [(r.id, r.department, r.strategy) for r in policy.rules] == [
        ("handoff_west", "field_west", "round_robin"),
        ("handoff_field", "field", "load_balanced"),
    ]
    assert policy.fallback == "field_west"


def test_enabled_false_keeps_the_section_checked_but_turns_the_stage_off() -> None:
    assert parse_playbook(BASE + PRE_SQL.replace("pre_sql:\n", "pre_sql:\n  enabled: false\n")).playbook.pre_sql is None
    broken = BASE + PRE_SQL.replace("pre_sql:\n", "pre_sql:\n  enabled: false\n").replace("[inside]", "[insid]")
    assert "unknown department 'insid'" in str(error_of(broken))


def test_the_default_playbook_uses_pre_sql_from_hq_inside_sales_to_field_sales() -> None:
    playbook = load_playbook(default_playbook_path()).playbook

    assert playbook.pre_sql is not None
    assert playbook.pre_sql.inside_sales == frozenset({"hq_inside_sales"})
    assert [(r.id, r.department) for r in playbook.pre_sql.rules] == [
        ("handoff_named_account_osaka", "osaka_branch"),
        ("handoff_named_account_hq", "hq_corporate_sales"),
        ("handoff_kinki", "osaka_branch"),
        ("handoff_hq", "hq_corporate_sales"),
    ]
    assert playbook.pre_sql.fallback == "hq_corporate_sales"
    assert playbook.stage_label(Stage.PRE_SQL, "en") == "Pre-SQL"
    assert playbook.stage_label(Stage.PRE_SQL, "ja") == "Pre-SQL（IS精査済み）"
    assert playbook.routing is not None and Stage.PRE_SQL in playbook.routing.open_stages
    # its own SLA policy: the field rep answers within 9 business hours, first touch within 4
    policy = policy_for(playbook.sla, "hq_corporate_sales", 3, Stage.PRE_SQL)
    assert policy is not None and policy.id == "sla_pre_sql"
    assert policy.accept_within is not None and policy.accept_within.total_seconds() == 9 * 3600
    assert policy.first_touch_within is not None and policy.first_touch_within.total_seconds() == 4 * 3600
    # an MQL's clocks are the MQL policies', never the Pre-SQL one
    mql_policy = policy_for(playbook.sla, "hq_corporate_sales", 4, Stage.MQL)
    assert mql_policy is not None and mql_policy.id == "sla_level4"
    assert policy_for(playbook.sla, "hq_corporate_sales", 3, Stage.MQL) is None


BROKEN = [
    ("[inside]", "[nowhere]", "[nowhere]", "pre_sql.inside_sales[0]: unknown department 'nowhere'"),
    ("[inside]", "[marketing]", "[marketing]", "'marketing' is marketing's queue (routing.fallback)"),
    ("[inside]", "[]", "inside_sales: []", "name the inside-sales department(s)"),
    (
        "department: field_west",
        "department: inside",
        "department: inside",
        "pre_sql.rules[0].department: a Pre-SQL goes to field sales: 'inside' is listed under pre_sql.inside_sales",
    ),
    ("department: field_west", "department: west", "department: west", "unknown department 'west'"),
    ("id: handoff_field", "id: to_inside", "id: to_inside", "rule id 'to_inside' is used twice"),
    ("strategy: load_balanced", "strategy: fastest", "strategy: fastest", "pre_sql.rules[1].strategy"),
    ("    - id: handoff_west\n", "    - id: handoff_west\n      colour: red\n", "colour: red", "unknown key"),
]


@pytest.mark.parametrize(("old", "new", "at", "message"), BROKEN, ids=[b[3][:40] for b in BROKEN])
def test_pre_sql_mistakes_name_the_line_and_what_is_wrong(old: str, new: str, at: str, message: str) -> None:
    text = BASE + PRE_SQL.replace(old, new, 1)
    error = error_of(text)

    assert message in str(error)
    assert error.line == line_of(text, at)


def test_a_pre_sql_queue_must_be_a_field_sales_department() -> None:
    text = BASE + PRE_SQL + "  fallback: inside\n"
    error = error_of(text)
    assert str(error) == (
        f"pb.yaml:{line_of(text, 'fallback: inside')}: pre_sql.fallback: a Pre-SQL waits in a field-sales queue:"
        " 'inside' is an inside-sales department"
    )
    assert "unknown department 'nobody'" in str(error_of(BASE + PRE_SQL + "  fallback: nobody\n"))


def test_a_pre_sql_section_needs_a_routing_section() -> None:
    text = "id: t\nname: T\nversion: '1'\n" + PRE_SQL
    error = error_of(text)
    assert error.line == 4
    assert "declare them under routing.departments" in str(error)


SLA_PRE_SQL = """\
sla:
  policies:
    - id: sla_handoff
      stage: pre_sql
      accept_within_hours: 4
"""


def test_an_sla_policy_for_pre_sql_times_only_pre_sqls() -> None:
    playbook = parse_playbook(BASE + PRE_SQL + SLA_PRE_SQL).playbook

    assert [p.stage for p in playbook.sla] == [Stage.PRE_SQL]
    assert policy_for(playbook.sla, "field", None, Stage.PRE_SQL) is not None
    assert policy_for(playbook.sla, "field", None, Stage.MQL) is None


def test_an_sla_policy_for_pre_sql_needs_the_pre_sql_section() -> None:
    text = BASE + SLA_PRE_SQL
    error = error_of(text)
    assert error.line == line_of(text, "stage: pre_sql")
    assert "stage pre_sql times the Pre-SQL handoff: the playbook has no pre_sql section" in str(error)


def test_an_sla_policy_names_a_known_stage() -> None:
    text = BASE + PRE_SQL + SLA_PRE_SQL.replace("stage: pre_sql", "stage: sal")
    error = error_of(text)
    assert error.line == line_of(text, "stage: sal")
    assert "sla.policies[0].stage" in str(error)
