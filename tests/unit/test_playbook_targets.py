"""The playbook's ``targets``: the agreed MQLs a month and each department's weekly intake, checked at
load with errors naming the file, the line and the key."""

from __future__ import annotations

import pytest

from leadrelay.adapters.playbook.loader import PlaybookError, default_playbook_path, load_playbook, parse_playbook
from leadrelay.domain.playbook import Targets

HEADER = "id: test\nname: Targets test\nversion: '1'\n"
ROUTING = """routing:
  departments:
    - id: marketing
      label: {en: Marketing, ja: マーケティング部}
    - id: inside
      label: {en: Inside Sales, ja: インサイドセールス}
      reps:
        - {id: a, name: Rep A}
  rules:
    - {id: to_inside, label: All, department: inside, strategy: round_robin}
  fallback: marketing
"""


def error_of(body: str) -> PlaybookError:
    with pytest.raises(PlaybookError) as caught:
        parse_playbook(HEADER + body, "playbooks/sales.yaml")
    return caught.value


def test_the_default_playbook_agrees_on_50_mqls_a_month() -> None:
    targets = load_playbook(default_playbook_path()).playbook.targets
    assert targets == Targets(50, {"hq_inside_sales": 40, "hq_corporate_sales": 12, "osaka_branch": 6})


def test_a_playbook_without_targets_has_none_agreed() -> None:
    assert parse_playbook(HEADER).playbook.targets == Targets(None, {})


def test_weekly_intake_of_declared_departments_loads() -> None:
    body = ROUTING + "targets:\n  mqls_per_month: 30\n  weekly_intake: {inside: 8}\n"
    assert parse_playbook(HEADER + body).playbook.targets == Targets(30, {"inside": 8})


def test_an_unknown_department_is_named_with_its_line() -> None:
    error = error_of(ROUTING + "targets:\n  weekly_intake:\n    inside: 8\n    osaka: 3\n")
    assert (error.line, error.where) == (18, "targets.weekly_intake.osaka")
    assert "unknown department 'osaka' (declared: marketing, inside)" in str(error)


def test_weekly_intake_needs_routing() -> None:
    error = error_of("targets:\n  weekly_intake: {inside: 8}\n")
    assert error.where == "targets.weekly_intake"
    assert "needs a routing section" in error.message


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ("targets:\n  mqls_per_month: -1\n", "targets.mqls_per_month"),
        ("targets:\n  mqls_per_month: fifty\n", "targets.mqls_per_month"),
        ("targets:\n  mql_per_month: 50\n", "targets.mql_per_month"),
    ],
)
def test_a_bad_target_is_refused(body: str, where: str) -> None:
    assert error_of(body).where == where
