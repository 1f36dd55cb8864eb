"""Calendars in the playbook: compiled into BusinessCalendar, given to departments, and every
mistake named by file, line and key."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from leadrelay.adapters.playbook.loader import PlaybookError, default_playbook_path, load_playbook, parse_playbook
from leadrelay.domain.calendar import Span

HEADER = "id: test\nname: Calendar test\nversion: '1'\n"
TOKYO = ZoneInfo("Asia/Tokyo")

TWO_OFFICES = """\
calendars:
  - id: tokyo
    label: 本社
    holidays: [JP]
    closures: [{from: 12-29, to: 01-03, note: 年末年始}]
  - id: new_york
    timezone: America/New_York
    working_days: [mon, tue, wed, thu, fri]
    hours: ["08:00-12:00", "13:00-17:00"]
    holidays: [US-NY]
    closed_dates: [2026-12-24]
routing:
  departments:
    - id: marketing
    - id: us_sales
      calendar: new_york
  fallback: marketing
"""


def error_of(body: str) -> PlaybookError:
    with pytest.raises(PlaybookError) as caught:
        parse_playbook(HEADER + body, "playbooks/sales.yaml")
    return caught.value


def calendars_with(lines: str) -> str:
    return "calendars:\n  - id: office\n" + lines


def test_the_default_playbook_declares_the_japanese_office_calendar_for_every_department() -> None:
    playbook = load_playbook(default_playbook_path()).playbook
    office = playbook.calendars["jp_office"]

    assert list(playbook.calendars) == ["jp_office"]
    assert office.timezone == TOKYO
    assert office.spans == (Span(time(9), time(18)),)
    assert office.working_days == frozenset(range(5))
    assert office.describe("ja") == "月〜金 09:00–18:00（Asia/Tokyo）、休業: 祝日（JP）、12/29〜1/3（年末年始）"
    assert playbook.routing is not None
    assert {d.calendar for d in playbook.routing.departments.values()} == {office}
    # Friday 2026-11-20 17:30 + 48 business hours, Monday 11-23 being 勤労感謝の日
    start = datetime(2026, 11, 20, 17, 30, tzinfo=TOKYO)
    assert office.add(start, timedelta(hours=48)) == datetime(2026, 12, 1, 11, 30, tzinfo=TOKYO)


def test_calendars_compile_with_defaults_and_departments_take_the_first_unless_they_name_one() -> None:
    playbook = parse_playbook(HEADER + TWO_OFFICES).playbook
    tokyo, new_york = playbook.calendars["tokyo"], playbook.calendars["new_york"]

    assert tokyo.timezone == TOKYO  # the playbook's time zone
    assert tokyo.spans == (Span(time(9), time(18)),)
    assert tokyo.label == "本社"
    assert not tokyo.is_business_day(date(2027, 1, 2)) and not tokyo.is_business_day(date(2026, 11, 23))
    assert str(new_york.timezone) == "America/New_York"
    assert new_york.spans == (Span(time(8), time(12)), Span(time(13), time(17)))
    assert not new_york.is_business_day(date(2026, 12, 24))
    assert not new_york.is_business_day(date(2026, 11, 26))  # Thanksgiving
    assert new_york.is_business_day(date(2026, 11, 23))  # not a US holiday
    assert playbook.routing is not None
    assert playbook.routing.departments["marketing"].calendar is tokyo
    assert playbook.routing.departments["us_sales"].calendar is new_york


def test_a_playbook_without_calendars_has_none_and_its_departments_have_no_calendar() -> None:
    playbook = parse_playbook(HEADER + "routing:\n  departments: [{id: queue}]\n  fallback: queue\n").playbook
    assert playbook.calendars == {}
    assert playbook.routing is not None
    assert playbook.routing.departments["queue"].calendar is None


def test_hours_may_be_one_text_with_several_spans() -> None:
    playbook = parse_playbook(HEADER + calendars_with('    hours: "09:00-12:00, 13:00-18:00"\n')).playbook
    assert playbook.calendars["office"].hours_per_day() == timedelta(hours=8)


def test_the_same_playbook_loaded_twice_gives_equal_calendars() -> None:
    first = parse_playbook(HEADER + TWO_OFFICES).playbook.calendars
    second = parse_playbook(HEADER + TWO_OFFICES).playbook.calendars
    assert first == second


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (
            "    timezone: Asia/Osaka\n",
            "playbooks/sales.yaml:6: rule 'office' calendars[0].timezone: unknown time zone 'Asia/Osaka' (e.g. Asia/Tokyo, America/New_York)",
        ),
        (
            '    hours: ["18:00-09:00"]\n',
            "playbooks/sales.yaml:6: rule 'office' calendars[0].hours[0]: span 18:00–09:00 ends before it starts (spans cannot cross midnight)",
        ),
        (
            '    hours:\n      - "09:00-18:00"\n      - "9h-12h"\n',
            "playbooks/sales.yaml:8: rule 'office' calendars[0].hours[1]: '9h-12h' is not a span like 09:00-18:00 ('9h' is not HH:MM)",
        ),
        (
            '    hours: ["09:00-13:00", "12:00-18:00"]\n',
            "playbooks/sales.yaml:6: rule 'office' calendars[0].hours: spans 09:00–13:00 and 12:00–18:00 overlap",
        ),
        (
            "    hours: []\n",
            "playbooks/sales.yaml:6: rule 'office' calendars[0].hours: name at least one span of working hours, e.g. 09:00-18:00",
        ),
        (
            "    working_days: []\n",
            "playbooks/sales.yaml:6: rule 'office' calendars[0].working_days: name at least one working day, e.g. [mon, tue, wed, thu, fri]",
        ),
        (
            "    holidays: [JP, XX]\n",
            "playbooks/sales.yaml:6: rule 'office' calendars[0].holidays[1]: no public holidays known for 'XX' (use ISO country codes such as JP, US, SG)",
        ),
        (
            "    closures:\n      - {from: 12-29, to: 01-32}\n",
            "playbooks/sales.yaml:7: rule 'office' calendars[0].closures[0].to: 01-32 is not a day of the year",
        ),
        (
            "    closures:\n      - {from: 2026-12-29, to: 01-03}\n",
            "playbooks/sales.yaml:7: rule 'office' calendars[0].closures[0].from: '2026-12-29' is a date; a closure repeats every year, so give a month-day like 12-29 (one-off days go under closed_dates)",
        ),
        (
            "    working_days: [mon, thursday]\n",
            "playbooks/sales.yaml:6: rule 'office' calendars[0].working_days[1]: Input should be 'mon', 'tue', 'wed', 'thu', 'fri', 'sat' or 'sun'",
        ),
    ],
)
def test_calendar_mistakes_name_the_line_and_key(lines: str, expected: str) -> None:
    assert str(error_of(calendars_with(lines))) == expected


def test_a_calendar_declared_twice_is_refused() -> None:
    error = error_of("calendars:\n  - id: office\n  - id: office\n")
    assert str(error) == "playbooks/sales.yaml:6: rule 'office' calendars[1].id: calendar 'office' is declared twice"


def test_an_unknown_calendar_on_a_department_names_the_line() -> None:
    error = error_of(TWO_OFFICES.replace("calendar: new_york", "calendar: osaka"))
    assert str(error) == (
        "playbooks/sales.yaml:19: rule 'us_sales' routing.departments[1].calendar: "
        "unknown calendar 'osaka' (declared: tokyo, new_york)"
    )


def test_a_department_calendar_without_any_calendars_says_to_declare_them() -> None:
    error = error_of("routing:\n  departments:\n    - {id: queue, calendar: jp_office}\n  fallback: queue\n")
    assert "unknown calendar 'jp_office' (declared: none; declare them under calendars)" in str(error)
