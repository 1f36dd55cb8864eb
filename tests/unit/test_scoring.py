"""Fit and engagement scoring: points, decay, the scoring window, caps, repeats and products."""

from __future__ import annotations

import textwrap
from datetime import datetime, timedelta
from typing import Any

import pytest

from leadrelay.adapters.playbook.loader import parse_playbook
from leadrelay.domain.conditions import Facts
from leadrelay.domain.evaluation import sort_activities
from leadrelay.domain.model import Account, Activity, Lead
from leadrelay.domain.playbook import Playbook
from leadrelay.domain.scoring import EngagementScore, count_points, engagement_at, score_fit, score_map
from tests.conftest import JST, NOW

HEADER = "id: test\nname: Scoring test\nversion: '1'\ntimezone: Asia/Tokyo\n"


def playbook(body: str) -> Playbook:
    return parse_playbook(HEADER + textwrap.dedent(body)).playbook


def engagement_playbook(rules: str, *, decay: str = "", window_days: float | None = None) -> Playbook:
    lines = ["engagement:"]
    if window_days is not None:
        lines.append(f"  window_days: {window_days}")
    if decay:
        lines.append(f"  decay: {decay}")
    lines.append("  rules:")
    lines.append(textwrap.indent(textwrap.dedent(rules).strip("\n"), "    "))
    return playbook("\n".join(lines) + "\n")


_counter = iter(range(1_000_000))


def act(
    type_: str,
    at: datetime | None = None,
    *,
    days_ago: float = 0,
    product: str | None = None,
    key: str | None = None,
    **properties: Any,
) -> Activity:
    moment = at if at is not None else NOW - timedelta(days=days_ago)
    return Activity(
        key=key or f"k{next(_counter):06d}",
        type=type_,
        occurred_at=moment,
        product=product,
        properties=properties,
    )


def engagement(pb: Playbook, activities: list[Activity], at: datetime = NOW) -> EngagementScore:
    ordered = sort_activities(activities)
    return engagement_at(count_points(ordered, pb), pb, at, explain=True)


def counted_points(pb: Playbook, activities: list[Activity]) -> list[tuple[str | None, float, str]]:
    return [(c.rule.id if c.rule else None, c.counted, c.note) for c in count_points(sort_activities(activities), pb)]


# --- fit -------------------------------------------------------------------------------------

FIT = """
fit:
  rules:
    - id: target_industry
      label: Target industry
      points: 20
      when: {field: account.industry, op: in, value: [manufacturing, it]}
    - id: mid_size
      points: 10
      when: {field: account.employees, op: between, value: [100, 999]}
    - id: decision_maker
      points: 15
      when: {field: lead.seniority, op: in, value: [director, executive]}
    - id: not_japan
      points: -5
      when: {field: lead.country, op: ne, value: JP}
"""


def test_fit_adds_the_points_of_every_matching_rule_with_its_contributions() -> None:
    pb = playbook(FIT)
    lead = Lead(email="a@acme.co.jp", seniority="manager", country="JP")
    account = Account(domain="acme.co.jp", industry="Manufacturing", employees=450)

    fit = score_fit(Facts(lead, account, [], NOW, {}), pb)

    assert fit.total == 30
    assert [(c.rule_id, c.label, c.points) for c in fit.contributions] == [
        ("target_industry", "Target industry", 20),
        ("mid_size", "mid_size", 10),
    ]


def test_fit_rule_with_negative_points_lowers_the_fit() -> None:
    pb = playbook(FIT)
    lead = Lead(email="a@acme.com", seniority="director", country="US")

    fit = score_fit(Facts(lead, None, [], NOW, {}), pb)

    assert fit.total == 10
    assert [c.rule_id for c in fit.contributions] == ["decision_maker", "not_japan"]


# --- decay -----------------------------------------------------------------------------------

WEBINAR_20 = """
- id: webinar
  activity: webinar_attended
  points: 20
"""


@pytest.mark.parametrize(("days_ago", "points"), [(0, 20.0), (45, 10.0), (90, 5.0), (135, 2.5)])
def test_half_life_decay_halves_the_points_every_half_life(days_ago: float, points: float) -> None:
    pb = engagement_playbook(WEBINAR_20, decay="{half_life_days: 45}")

    score = engagement(pb, [act("webinar_attended", days_ago=days_ago)])

    assert score.total == points
    assert score.contributions[0].factor == points / 20


@pytest.mark.parametrize(("days_ago", "points"), [(0, 20.0), (30, 20.0), (30.5, 0.0), (200, 0.0)])
def test_window_decay_counts_in_full_then_nothing(days_ago: float, points: float) -> None:
    pb = engagement_playbook(WEBINAR_20, decay="{window_days: 30}")

    assert engagement(pb, [act("webinar_attended", days_ago=days_ago)]).total == points


@pytest.mark.parametrize(("days_ago", "points"), [(0, 20.0), (25, 15.0), (50, 10.0), (100, 0.0), (150, 0.0)])
def test_linear_decay_fades_to_zero(days_ago: float, points: float) -> None:
    pb = engagement_playbook(WEBINAR_20, decay="{linear_days: 100}")

    assert engagement(pb, [act("webinar_attended", days_ago=days_ago)]).total == points


def test_without_decay_old_points_count_in_full() -> None:
    pb = engagement_playbook(WEBINAR_20)

    assert engagement(pb, [act("webinar_attended", days_ago=1000)]).total == 20.0


def test_decay_of_a_rule_overrides_the_playbook_decay() -> None:
    pb = engagement_playbook(
        """
        - id: webinar
          activity: webinar_attended
          points: 20
        - id: unsubscribed
          activity: unsubscribed
          points: -20
          decay: {window_days: 365}
        """,
        decay="{half_life_days: 45}",
    )

    score = engagement(pb, [act("webinar_attended", days_ago=90), act("unsubscribed", days_ago=90)])

    assert [(c.rule_id, c.points) for c in score.contributions] == [("webinar", 5.0), ("unsubscribed", -20.0)]
    assert score.total == -15.0


def test_activities_after_the_moment_do_not_count() -> None:
    pb = engagement_playbook(WEBINAR_20)
    score = engagement(pb, [act("webinar_attended", days_ago=2), act("webinar_attended", days_ago=-1)])

    assert score.total == 20.0
    assert len(score.contributions) == 1


# --- scoring window --------------------------------------------------------------------------


def test_scoring_window_drops_activities_older_than_window_days() -> None:
    pb = engagement_playbook(WEBINAR_20, window_days=60)

    score = engagement(pb, [act("webinar_attended", days_ago=59), act("webinar_attended", days_ago=61)])

    assert score.total == 20.0
    assert [(c.points, c.note) for c in score.contributions] == [
        (0.0, "older than the scoring window"),
        (20.0, ""),
    ]


def test_scoring_window_applies_on_top_of_half_life_decay() -> None:
    pb = engagement_playbook(WEBINAR_20, decay="{half_life_days: 45}", window_days=60)

    score = engagement(pb, [act("webinar_attended", days_ago=45), act("webinar_attended", days_ago=90)])

    assert score.total == 10.0


def test_a_point_that_decayed_to_zero_says_so() -> None:
    pb = engagement_playbook(WEBINAR_20, decay="{window_days: 10}")

    score = engagement(pb, [act("webinar_attended", days_ago=11)])

    assert score.contributions[0].note == "decayed to zero"


# --- caps ------------------------------------------------------------------------------------


def capped(per: str) -> Playbook:
    return engagement_playbook(
        f"""
        - id: pricing
          activity: page_viewed
          points: 4
          cap: {{points: 10, per: {per}}}
        """
    )


def test_cap_per_day_truncates_the_third_view_and_notes_why() -> None:
    day = datetime(2026, 11, 24, 9, 0, tzinfo=JST)
    views = [act("page_viewed", day + timedelta(hours=h)) for h in range(4)]

    assert counted_points(capped("day"), views) == [
        ("pricing", 4.0, ""),
        ("pricing", 4.0, ""),
        ("pricing", 2.0, "cap 10 per day reached"),
        ("pricing", 0.0, "cap 10 per day reached"),
    ]


def test_cap_per_day_follows_the_playbook_time_zone() -> None:
    # 23:30 and 00:30 JST are the same UTC day but two days in Tokyo
    late = datetime(2026, 11, 23, 23, 30, tzinfo=JST)
    views = [act("page_viewed", late), act("page_viewed", late), act("page_viewed", late + timedelta(hours=1))]

    assert [c for _, c, _ in counted_points(capped("day"), views)] == [4.0, 4.0, 4.0]


def test_cap_per_day_starts_again_the_next_day() -> None:
    day = datetime(2026, 11, 24, 9, 0, tzinfo=JST)
    views = [act("page_viewed", day + timedelta(hours=h)) for h in range(3)]
    views.append(act("page_viewed", day + timedelta(days=1)))

    assert [c for _, c, _ in counted_points(capped("day"), views)] == [4.0, 4.0, 2.0, 4.0]


def test_cap_per_week_runs_monday_to_sunday() -> None:
    sunday = datetime(2026, 11, 22, 20, 0, tzinfo=JST)
    monday = datetime(2026, 11, 23, 9, 0, tzinfo=JST)
    views = [act("page_viewed", sunday - timedelta(days=d)) for d in range(3)]  # Fri, Sat, Sun
    views += [act("page_viewed", monday + timedelta(days=d)) for d in range(3)]  # Mon, Tue, Wed

    assert [c for _, c, _ in counted_points(capped("week"), views)] == [4.0, 4.0, 2.0, 4.0, 4.0, 2.0]


def test_cap_per_month_runs_by_calendar_month() -> None:
    views = [act("page_viewed", datetime(2026, 10, d, 12, 0, tzinfo=JST)) for d in (1, 15, 31)]
    views.append(act("page_viewed", datetime(2026, 11, 1, 0, 30, tzinfo=JST)))

    assert counted_points(capped("month"), views)[-2:] == [
        ("pricing", 2.0, "cap 10 per month reached"),
        ("pricing", 4.0, ""),
    ]


def test_cap_per_lead_holds_over_the_whole_history() -> None:
    views = [act("page_viewed", days_ago=d) for d in (300, 200, 100, 1)]

    assert [c for _, c, _ in counted_points(capped("lead"), views)] == [4.0, 4.0, 2.0, 0.0]


def test_capped_points_show_in_the_explained_score() -> None:
    day = datetime(2026, 11, 25, 9, 0, tzinfo=JST)
    views = [act("page_viewed", day + timedelta(minutes=m)) for m in range(3)]

    score = engagement(capped("day"), views)

    assert score.total == 10.0
    assert [(c.base, c.counted, c.note) for c in score.contributions][-1] == (4.0, 2.0, "cap 10 per day reached")


# --- repeats ---------------------------------------------------------------------------------

DOCUMENTS = """
- id: document
  activity: document_downloaded
  points: 10
  repeat: {unique_by: activity.properties.document, max_times: 3}
"""


def test_repeat_unique_by_counts_the_same_document_once() -> None:
    downloads = [
        act("document_downloaded", days_ago=3, document="whitepaper-a"),
        act("document_downloaded", days_ago=2, document="whitepaper-a"),
        act("document_downloaded", days_ago=1, document="case-study-b"),
    ]

    assert counted_points(engagement_playbook(DOCUMENTS), downloads) == [
        ("document", 10.0, ""),
        ("document", 0.0, "repeat of activity.properties.document=whitepaper-a"),
        ("document", 10.0, ""),
    ]


def test_repeat_max_times_stops_counting_after_that_many() -> None:
    downloads = [act("document_downloaded", days_ago=10 - d, document=f"doc-{d}") for d in range(5)]

    assert counted_points(engagement_playbook(DOCUMENTS), downloads)[2:] == [
        ("document", 10.0, ""),
        ("document", 0.0, "counted 3 times already"),
        ("document", 0.0, "counted 3 times already"),
    ]


def test_a_repeat_does_not_use_up_max_times() -> None:
    downloads = [act("document_downloaded", days_ago=10 - d, document="same") for d in range(4)]
    downloads += [act("document_downloaded", days_ago=5 - d, document=f"doc-{d}") for d in range(2)]

    assert [c for _, c, _ in counted_points(engagement_playbook(DOCUMENTS), downloads)] == [
        10.0,
        0.0,
        0.0,
        0.0,
        10.0,
        10.0,
    ]


# --- negative points, products, matching -----------------------------------------------------


def test_negative_points_lower_the_engagement() -> None:
    pb = engagement_playbook(
        """
        - id: webinar
          activity: webinar_attended
          points: 20
        - id: careers_page
          activity: page_viewed
          where: {field: activity.properties.page_kind, op: eq, value: careers}
          points: -10
          repeat: {max_times: 1}
        """
    )
    activities = [
        act("webinar_attended", days_ago=3),
        act("page_viewed", days_ago=2, page_kind="careers"),
        act("page_viewed", days_ago=1, page_kind="careers"),
    ]

    assert engagement(pb, activities).total == 10.0


def test_engagement_is_split_by_product() -> None:
    pb = engagement_playbook(WEBINAR_20)
    activities = [
        act("webinar_attended", days_ago=3, product="analytics"),
        act("webinar_attended", days_ago=2, product="analytics"),
        act("webinar_attended", days_ago=1, product="crm"),
        act("webinar_attended", days_ago=1),
    ]

    score = engagement(pb, activities)

    assert score.total == 80.0
    assert score.by_product == {"analytics": 40.0, "crm": 20.0}
    assert score_map(15.0, score) == {
        "fit": 15.0,
        "engagement": 80.0,
        "total": 95.0,
        "product.analytics": 40.0,
        "product.crm": 20.0,
    }


def test_rules_only_match_their_activity_types_and_where() -> None:
    pb = engagement_playbook(
        """
        - id: pricing
          activity: page_viewed
          where: {field: activity.properties.page_kind, op: eq, value: pricing}
          points: 15
        - id: hand_raise
          activity: [demo_requested, contact_requested]
          points: 40
        """
    )
    activities = [
        act("page_viewed", days_ago=5, page_kind="pricing"),
        act("page_viewed", days_ago=4, page_kind="blog"),
        act("contact_requested", days_ago=3),
        act("webinar_attended", days_ago=2),
    ]

    assert counted_points(pb, activities) == [
        ("pricing", 15.0, ""),
        (None, 0.0, "no scoring rule"),
        ("hand_raise", 40.0, ""),
        (None, 0.0, "no scoring rule"),
    ]
    assert engagement(pb, activities).total == 55.0


def test_one_activity_can_score_for_several_rules() -> None:
    pb = engagement_playbook(
        """
        - id: booth_visited
          activity: booth_visited
          points: 15
        - id: booth_detailed_talk
          activity: booth_visited
          where: {field: activity.properties.detailed_talk, op: eq, value: true}
          points: 25
        """
    )

    assert engagement(pb, [act("booth_visited", detailed_talk=True)]).total == 40.0
    assert engagement(pb, [act("booth_visited", detailed_talk=False)]).total == 15.0
