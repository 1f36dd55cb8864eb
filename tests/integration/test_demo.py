"""The demo's summary is right for its data: checked against counts made from the generator's persona
labels (``DemoData.truth``), without the engine's rules."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from leadrelay import FakeClock, LeadRelay
from leadrelay.entrypoints.demo.runner import run_demo
from leadrelay.entrypoints.demo.synthetic import DISQUALIFYING_PERSONAS, PERSONAS, generate
from tests.conftest import NOW

SIZE = {"seed": 11, "people": 500, "companies": 60, "days": 90}

#: Where each persona must end with the default playbook, by what its label promises (see
#: entrypoints/demo/synthetic.py): one disqualifying trait each; a qualifying signal (hand raise,
#: webinar + "wants contact", detailed booth talk, BANT) at a fitting company; no activity at all.
STRONG = ("hand_raiser", "webinar_wants_contact", "booth_talk", "bant")
DORMANT = ("dormant",)
#: Engaged people, webinar attendees and document readers may cross a score threshold (engagement
#: 60, or 30 at a named or target account) or reach a level inside sales owns (level 2: opened the
#: e-mail delivering a document; level 3: attended a webinar) at a fitting company: MQL or nurture,
#: which the label alone does not tell.
SCORED = ("engaged", "webinar_attendee", "document_only")
SCORE_RULES = {
    "mql_score",
    "mql_target_account",
    "mql_analytics_pricing",
    "handoff_level2_document_email_opened",
    "handoff_level3_webinar_attended",
}
NURTURE = ("light", "trade_show_only", "no_show")
LEVEL4 = ("booth_talk", "webinar_wants_contact")


def test_the_persona_groups_cover_every_persona_once() -> None:
    groups = [*DISQUALIFYING_PERSONAS, *STRONG, *DORMANT, *SCORED, *NURTURE]
    assert sorted(groups) == sorted(PERSONAS)


def test_demo_summary_matches_a_count_by_persona(db_url: str) -> None:
    data = generate(seed=SIZE["seed"], now=NOW, companies=SIZE["companies"], people=SIZE["people"], days=SIZE["days"])
    personas = Counter(data.truth.values())

    def count(group: tuple[str, ...]) -> int:
        return sum(personas[p] for p in group)

    with LeadRelay.open(db_url, clock=FakeClock(NOW)) as relay:
        outcome = run_demo(relay, **SIZE)
        summary = relay.summary()
        may_qualify = [email for email, persona in data.truth.items() if persona in STRONG + SCORED]
        histories = {email: relay.lead(email).history for email in may_qualify}
    assert outcome["rejected"] == 0, outcome["rejections"]
    assert summary.leads == SIZE["people"] == sum(personas.values())
    by_stage = {k: v for k, v in summary.by_stage.items() if v}
    assert set(by_stage) == {"disqualified", "new", "mql", "nurture"}
    assert by_stage["disqualified"] == count(DISQUALIFYING_PERSONAS)
    assert by_stage["new"] == count(DORMANT)
    scored_mqls = by_stage["mql"] - count(STRONG)
    assert 0 < scored_mqls < count(SCORED)
    for email, history in histories.items():  # without a signal of their own, only a score or a level qualifies them
        if data.truth[email] in SCORED:
            assert {m.rule for m in history if m.to_stage == "mql"} <= SCORE_RULES, email
    assert by_stage["nurture"] == count(NURTURE) + count(SCORED) - scored_mqls
    assert summary.by_level["4"] == count(LEVEL4)
    week = summary.week_start
    assert week == datetime(2026, 11, 23, tzinfo=NOW.tzinfo)  # the Monday of NOW's week, in Tokyo
    mql_this_week = {
        email for email, history in histories.items() if any(m.to_stage == "mql" and m.at >= week for m in history)
    }
    assert summary.mqls_this_week == len(mql_this_week) > 0


def test_demo_personas_land_where_the_playbook_says(sqlite_url: str) -> None:
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
