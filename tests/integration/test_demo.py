"""The demo's summary is right for its data: checked against counts made without the store."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import timedelta

import pytest

from leadrelay import FakeClock, LeadRelay
from leadrelay.adapters.playbook.loader import default_playbook_path, load_playbook
from leadrelay.adapters.records import parse_activity, parse_lead
from leadrelay.domain.evaluation import assess, derive_moves, sort_activities
from leadrelay.domain.lifecycle import Stage
from leadrelay.domain.model import Account, Activity
from leadrelay.entrypoints.demo.runner import demo_records, run_demo
from leadrelay.entrypoints.demo.synthetic import generate
from tests.conftest import NOW

SIZE = {"seed": 11, "people": 500, "companies": 60, "days": 90}


def independent_stages() -> tuple[Counter[str], int, dict[str, str]]:
    """Final stage of every demo lead, from the pure core alone (no database, no services)."""
    playbook = load_playbook(default_playbook_path()).playbook
    data = generate(seed=SIZE["seed"], now=NOW, companies=SIZE["companies"], people=SIZE["people"], days=SIZE["days"])
    leads, activities = demo_records(data)
    profiles = {p.lead.email: p for p in (parse_lead(r, NOW) for r in leads)}
    histories: dict[str, dict[str, Activity]] = defaultdict(dict)
    for record in activities:
        parsed = parse_activity(record, NOW, playbook.activity_types)
        histories[parsed.email][parsed.activity.key] = parsed.activity
    week = (NOW - timedelta(days=NOW.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    stages: Counter[str] = Counter()
    by_email: dict[str, str] = {}
    mqls_this_week = 0
    for email, profile in profiles.items():
        account: Account | None = profile.company
        history = sort_activities(list(histories[email].values()))
        judged = assess(profile.lead, account, history, playbook, NOW)
        if judged.disqualification is not None:
            stage = Stage.DISQUALIFIED
        else:
            moves = derive_moves(Stage.NEW, None, profile.lead, account, history, playbook)
            stage = moves[-1].to_stage if moves else Stage.NEW
            mqls_this_week += any(m.to_stage == Stage.MQL and m.at >= week for m in moves)
        stages[stage.value] += 1
        by_email[email] = stage.value
    return stages, mqls_this_week, by_email


@pytest.fixture(scope="module")
def expected() -> tuple[Counter[str], int, dict[str, str]]:
    return independent_stages()


def test_demo_summary_matches_an_independent_count(
    db_url: str, expected: tuple[Counter[str], int, dict[str, str]]
) -> None:
    stages, mqls_this_week, _ = expected
    with LeadRelay.open(db_url, clock=FakeClock(NOW)) as relay:
        outcome = run_demo(relay, **SIZE)
        summary = relay.summary()
    assert outcome["rejected"] == 0, outcome["rejections"]
    assert summary.leads == SIZE["people"]
    assert {k: v for k, v in summary.by_stage.items() if v} == dict(stages)
    assert summary.mqls_this_week == mqls_this_week
    assert stages["mql"] > 0 and stages["nurture"] > 0 and stages["disqualified"] > 0


def test_demo_personas_land_where_the_playbook_says(
    sqlite_url: str, expected: tuple[Counter[str], int, dict[str, str]]
) -> None:
    data = generate(seed=SIZE["seed"], now=NOW, companies=SIZE["companies"], people=SIZE["people"], days=SIZE["days"])
    with LeadRelay.open(sqlite_url, clock=FakeClock(NOW)) as relay:
        outcome = run_demo(relay, **SIZE)
        summary = relay.summary()
        reasons = {
            email: relay.lead(email).disqualification
            for email, persona in data.truth.items()
            if persona in {"competitor", "free_mail", "student", "unserved_country", "job_seeker"}
        }
        stage_of = {email: relay.lead(email).stage for email in data.truth}
    expected_reason = {
        "competitor": "competitor",
        "free_mail": "free_mail",
        "student": "student",
        "unserved_country": "country_not_served",
        "job_seeker": "job_seeker",
    }
    for email, dq in reasons.items():
        assert dq is not None and dq.reason == expected_reason[data.truth[email]], email
    persona_counts = Counter(data.truth.values())
    assert summary.disqualified_by_reason == {
        reason: persona_counts[persona] for persona, reason in expected_reason.items() if persona_counts[persona]
    }
    for email, persona in data.truth.items():
        if persona in {"hand_raiser", "webinar_wants_contact", "booth_talk", "bant"}:
            assert stage_of[email] == "mql", (email, persona)
        if persona == "dormant":
            assert stage_of[email] == "new", email
    assert outcome["duplicates"] == data.duplicates
    assert summary.unique_companies == len({p["company_domain"] for p in data.leads if p["company_domain"]})
