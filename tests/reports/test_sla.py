"""Report ``sla`` over a hand-made scenario (SQLite and PostgreSQL). Inside sales (reps a, b, c in
turn) must answer within 8 and first touch within 2 business hours of the jp_office calendar
(09:00–18:00 on weekdays, Japanese holidays: Tuesday 3 November 2026 is Culture Day).

    A1 person1  assigned to a Mon 11-02 10:00; call 11:30 (1.5 bh); accepted 16:00 (6 bh)
    A2 person2  assigned to b Mon 11-02 17:00; accepted Wed 11-04 11:00: 1 + 0 + 2 = 3 bh (42 h);
                the answer is its first touch: touch breached
    A3 person3  demo request Fri 11-06 17:00 that reached leadrelay at 17:30 (the system's half hour),
                assigned to c; rejected Tue 11-10 10:00: 0.5 + 9 + 1 = 10.5 bh (88.5 h): both breached
    A4 person4  assigned to a Mon 11-09 10:00, never answered: both breached
    A5 person5  assigned to b Fri 11-20 11:00, an hour before the report: both clocks open
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from leadrelay import FakeClock, LeadRelay
from leadrelay.services.lead_list import Visibility
from leadrelay.services.report_sla import SlaGroup, SlaReport
from tests.conftest import JST
from tests.reports.scenario import demo_request, email
from tests.support.routing import playbook_file
from tests.support.summaries import derive_assignments_with

SLA = """
sla:
  policies:
    - id: sla_inside
      label: Inside sales answers within 8 business hours
      departments: [inside]
      accept_within_hours: 8
      first_touch_within_hours: 2
"""
AS_OF = datetime(2026, 11, 20, 12, 0, tzinfo=JST)


def tokyo(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=JST)


@pytest.fixture
def relay(db_url: str, tmp_path: Path) -> Iterator[LeadRelay]:
    path = playbook_file(tmp_path)
    path.write_text(path.read_text(encoding="utf-8") + SLA, encoding="utf-8")
    with LeadRelay.open(db_url, clock=FakeClock(tokyo(2, 9))) as instance:
        instance.use_playbook(path, now=tokyo(2, 9))
        story(instance)
        yield instance


def story(relay: LeadRelay) -> None:
    relay.record_activities([demo_request(1, tokyo(2, 10))], now=tokyo(2, 10))
    relay.touch(email(1), kind="call", outcome="connected", actor="a", now=tokyo(2, 11, 30))
    relay.accept(email(1), actor="a", now=tokyo(2, 16))
    relay.record_activities([demo_request(2, tokyo(2, 17))], now=tokyo(2, 17))
    relay.accept(email(2), actor="b", now=tokyo(4, 11))
    relay.record_activities([demo_request(3, tokyo(6, 17))], now=tokyo(6, 17, 30))
    relay.reject(email(3), "bad_timing", actor="c", now=tokyo(10, 10))
    relay.record_activities([demo_request(4, tokyo(9, 10))], now=tokyo(9, 10))
    relay.record_activities([demo_request(5, tokyo(20, 11))], now=tokyo(20, 11))


def sla(relay: LeadRelay, **kw: Any) -> SlaReport:
    report = relay.report("sla", start="2026-11-01", end="2026-11-30", now=AS_OF, **kw)
    assert isinstance(report, SlaReport)
    return report


def clocks(g: SlaGroup) -> tuple[tuple[int, int, int, int], tuple[int, int, int, int]]:
    """(met, breached, open, stopped) of the accept and the touch clock."""
    return (
        (g.accept.met, g.accept.breached, g.accept.open, g.accept.stopped),
        (g.touch.met, g.touch.breached, g.touch.open, g.touch.stopped),
    )


def test_compliance_and_speed_to_lead_in_business_and_wall_clock_hours(relay: LeadRelay) -> None:
    overall = sla(relay).overall
    assert overall.assignments == 5
    assert clocks(overall) == ((2, 2, 1, 0), (1, 3, 1, 0))
    assert (overall.accept.within_sla, overall.touch.within_sla) == (0.5, 0.25)
    # answered: A1 6, A2 3, A3 10.5 business hours; 6, 42, 88.5 wall-clock hours
    accept = overall.accept
    assert (accept.business_hours.count, accept.business_hours.median, accept.business_hours.p90) == pytest.approx(
        (3, 6.0, 9.6)
    )
    assert (accept.wall_hours.median, accept.wall_hours.p90) == pytest.approx((42.0, 79.2))
    # first touch: A1's call 1.5, A2's answer 3, A3's answer 10.5 business hours
    touch = overall.touch
    assert (touch.business_hours.median, touch.business_hours.p90) == pytest.approx((3.0, 9.0))
    assert (touch.wall_hours.median, touch.wall_hours.mean) == pytest.approx((42.0, (1.5 + 42 + 88.5) / 3))


def test_the_delay_is_split_into_the_systems_part_and_the_reps(relay: LeadRelay) -> None:
    report = sla(relay)
    overall = report.overall
    # activity → assignment: 0, 0, 0.5 (A3 reached leadrelay half an hour late), 0, 0
    assert (overall.system_hours.count, overall.system_hours.p90, overall.system_hours.mean) == pytest.approx(
        (5, 0.3, 0.1)
    )
    assert overall.activity_to_mql_hours.mean == 0.0  # the engine qualifies at the activity's moment
    assert overall.mql_to_assignment_hours.mean == pytest.approx(0.1)
    assert overall.rep_hours == overall.touch.wall_hours
    speed = {(row["measure"], row["unit"]): row for row in report.tables()[3].rows}
    assert speed[("MQL → assignment", "wall-clock")]["p90_hours"] == pytest.approx(0.3)
    assert speed[("assignment → answer", "business")]["median_hours"] == pytest.approx(6.0)


def test_breaches_by_rep_by_department_and_over_time(relay: LeadRelay) -> None:
    report = sla(relay, by="week")
    assert {g.key: clocks(g) for g in report.by_rep} == {
        "a": ((1, 1, 0, 0), (1, 1, 0, 0)),  # A1 met both, A4 breached both
        "b": ((1, 0, 1, 0), (0, 1, 1, 0)),  # A2 touched late, A5 open
        "c": ((0, 1, 0, 0), (0, 1, 0, 0)),  # A3
    }
    assert [(g.key, clocks(g)) for g in report.by_department] == [("inside", clocks(report.overall))]
    assert {g.key: g.assignments for g in report.by_period} == {
        "2026-10-26": 0,
        "2026-11-02": 3,
        "2026-11-09": 1,
        "2026-11-16": 1,
        "2026-11-23": 0,
        "2026-11-30": 0,
    }
    table = report.tables()[0]
    assert table.totals is not None and table.totals["accept_breached"] == 2 and table.totals["touch_within"] == 0.25


def test_a_reassigned_lead_starts_a_new_clock_for_its_new_rep(relay: LeadRelay) -> None:
    relay.reassign("a", to="c", actor="manager", now=tokyo(20, 11, 30))  # A4 goes to c
    report = sla(relay)
    assert report.overall.assignments == 6
    by_rep = {g.key: clocks(g) for g in report.by_rep}
    assert by_rep["a"] == ((1, 1, 0, 0), (1, 1, 0, 0))  # A4's limit ran out long before it was taken away
    assert by_rep["c"] == ((0, 1, 1, 0), (0, 1, 1, 0))  # A3, and A4's new clock half an hour old


def test_a_rep_sees_only_their_own_assignments(relay: LeadRelay) -> None:
    report = sla(relay, visibility=Visibility(rep="b"))
    assert report.overall.assignments == 2
    assert [g.key for g in report.by_rep] == ["b"]
    assert sla(relay, visibility=Visibility(departments=("marketing",))).overall.assignments == 0


LEVEL_POLICY = """
    - id: sla_level3
      label: A level-3 lead is answered within the hour
      departments: [inside]
      levels: [3]
      accept_within_hours: 1
      first_touch_within_hours: 1
"""


def test_an_assignment_is_timed_by_the_level_the_lead_had_when_it_was_assigned(db_url: str, tmp_path: Path) -> None:
    """person6 asks for a demo (an MQL without a level: 8 h to answer) and goes to a; at 11:00 a
    webinar makes it level 3 (1 h to answer); at 11:30 a's leads go to b, who accepts at 14:30:
    3 business hours, within 8 h but not within the level-3 policy's hour. The engine started b's
    clocks by level 3 (a reassignment to a named rep too: it used to start them with no level);
    the report must time them the same way."""
    path = playbook_file(tmp_path)
    text = path.read_text(encoding="utf-8") + SLA
    text = text.replace("  policies:\n", "  policies:" + LEVEL_POLICY, 1)
    path.write_text(text, encoding="utf-8")
    with LeadRelay.open(db_url, clock=FakeClock(tokyo(16, 11, 15))) as relay:
        relay.use_playbook(path, now=tokyo(16, 9))
        relay.record_activities([demo_request(6, tokyo(16, 10))], now=tokyo(16, 10))
        webinar = {"email": email(6), "type": "webinar_attended", "occurred_at": tokyo(16, 11).isoformat()}
        relay.record_activities([webinar | {"source_id": "webinar-6"}], now=tokyo(16, 11))
        level = relay.lead(email(6)).level
        assert level is not None and level.level == 3
        relay.reassign("a", to="b", actor="manager", now=tokyo(16, 11, 30))
        relay.accept(email(6), actor="b", now=tokyo(16, 14, 30))
        by_rep = {g.key: clocks(g) for g in sla(relay).by_rep}
    assert by_rep["a"] == ((0, 0, 0, 1), (0, 0, 0, 1))  # taken away within both of its limits
    assert by_rep["b"] == ((0, 1, 0, 0), (0, 1, 0, 0))  # 3 business hours against the level-3 hour


def test_a_touch_activity_times_the_first_touch_whichever_way_the_report_reads_it(relay: LeadRelay) -> None:
    """Lead 4's rep is reached by a connected call the phone system logged (a touch type): the report
    reads it from the assignments summary, or from the activities when the summary was derived with
    other touch types — the same figures either way, and not those without the call."""
    before = sla(relay).overall.touch
    call = {"email": email(4), "type": "call_connected", "occurred_at": tokyo(9, 11).isoformat()}
    relay.record_activities([{**call, "source_id": "call-4"}], now=tokyo(9, 11))
    with_call = sla(relay)
    assert with_call.overall.touch.met == before.met + 1  # within 2 business hours of the 10:00 assignment
    derive_assignments_with(relay, ["bant_collected"])
    assert sla(relay).model_dump() == with_call.model_dump()
