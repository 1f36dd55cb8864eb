"""Recording leads and activities end to end through the store, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from leadrelay import FakeClock, LeadRelay
from leadrelay.services.read_models import iso_time
from tests.conftest import NOW

SATO = "k.sato@sakura-mfg.co.jp"


@pytest.fixture
def relay(db_url: str) -> Iterator[LeadRelay]:
    with LeadRelay.open(db_url, clock=FakeClock(NOW)) as instance:
        yield instance


def at(days_ago: float, hour: int = 0) -> str:
    return (NOW - timedelta(days=days_ago) + timedelta(hours=hour)).isoformat()


def sato_profile() -> dict[str, Any]:
    return {
        "email": SATO,
        "last_name": "佐藤",
        "first_name": "健太",
        "title": "情報システム部 部長",
        "seniority": "manager",
        "department": "it",
        "country": "JP",
        "prefecture": "大阪府",
        "company": {"name": "さくら製作所", "industry": "manufacturing", "employees": 800},
    }


def journey() -> list[dict[str, Any]]:
    """A target person who downloads, reads, attends a webinar and asks to be contacted."""
    return [
        {
            "email": SATO,
            "type": "document_downloaded",
            "occurred_at": at(30),
            "campaign": "wp-dx",
            "properties": {"document": "dx-guide"},
            "source_id": "a1",
        },
        {
            "email": SATO,
            "type": "email_opened",
            "occurred_at": at(30, 1),
            "campaign": "wp-dx",
            "properties": {"kind": "document_delivery"},
            "source_id": "a2",
        },
        {"email": SATO, "type": "webinar_registered", "occurred_at": at(20), "campaign": "web-11", "source_id": "a3"},
        {"email": SATO, "type": "webinar_attended", "occurred_at": at(10), "campaign": "web-11", "source_id": "a4"},
        {
            "email": SATO,
            "type": "survey_answered",
            "occurred_at": at(10, 1),
            "campaign": "web-11",
            "properties": {"wants_contact": True},
            "source_id": "a5",
        },
        {
            "email": SATO,
            "type": "page_viewed",
            "occurred_at": at(2),
            "properties": {"page_kind": "pricing"},
            "source_id": "a6",
        },
    ]


def history_of(relay: LeadRelay, email: str) -> list[tuple[str, str, str, str | None]]:
    return [(iso_time(m.at), m.from_stage, m.to_stage, m.rule) for m in relay.lead(email).history]


def test_a_lead_moves_new_to_nurture_to_mql_with_every_move_explained(relay: LeadRelay) -> None:
    relay.add_leads([sato_profile()])
    result = relay.record_activities(journey())
    assert result.activities_inserted == 6 and not result.rejected
    report = relay.lead(SATO)
    assert report.stage == "mql"
    assert [(m.from_stage, m.to_stage, m.trigger) for m in report.history] == [
        ("new", "nurture", "engaged"),
        ("nurture", "mql", "qualified"),
    ]
    became_mql = report.history[1]
    # level 2 (the e-mail delivering the downloaded document, opened) belongs to inside sales: the
    # lead is handed over then; the webinar and survey later lift it to level 4
    assert became_mql.rule == "handoff_level2_document_email_opened"
    assert iso_time(became_mql.at) == (NOW - timedelta(days=30) + timedelta(hours=1)).isoformat()
    assert report.level.level == 4
    assert report.mql.rule == "handoff_level2_document_email_opened"


def test_lead_show_explains_every_point_of_both_scores(relay: LeadRelay) -> None:
    relay.add_leads([sato_profile()])
    relay.record_activities(journey())
    report = relay.lead(SATO)
    assert sum(c.points for c in report.fit) == pytest.approx(report.scores.fit)
    assert sum(c.points for c in report.engagement) == pytest.approx(report.scores.engagement, abs=0.05)
    assert {c.rule for c in report.fit} == {
        "target_industry",
        "company_size_mid",
        "decision_maker",
        "relevant_department",
    }
    webinar = next(c for c in report.engagement if c.rule == "webinar_attended")
    assert webinar.decay == pytest.approx(0.5 ** (10 / 45), abs=1e-4)
    assert webinar.points == pytest.approx(25 * 0.5 ** (10 / 45), abs=0.01)


def test_the_same_event_sent_twice_counts_once(relay: LeadRelay) -> None:
    first = relay.record_activities(journey())
    again = relay.record_activities(journey())
    assert first.activities_inserted == 6
    assert again.activities_inserted == 0 and again.duplicates == 6
    no_ids = [{k: v for k, v in record.items() if k != "source_id"} for record in journey()]
    relay.record_activities(no_ids[:2])
    repeat = relay.record_activities(no_ids[:2])
    assert repeat.duplicates == 2 and repeat.activities_inserted == 0
    assert relay.lead(SATO).activities == 8


def test_duplicates_inside_one_batch_count_once(relay: LeadRelay) -> None:
    records = journey()
    result = relay.record_activities([*records, records[0], records[3]])
    assert result.activities_inserted == 6 and result.duplicates == 2


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_out_of_order_batches_give_the_same_history_and_scores_as_in_order(
    db_url: str, tmp_path: Any, seed: int
) -> None:
    records = journey() + [
        {
            "email": "a.tanaka@sakura-mfg.co.jp",
            "type": "trade_show_visited",
            "occurred_at": at(40),
            "campaign": "ts-expo",
            "source_id": "b1",
        },
        {
            "email": "a.tanaka@sakura-mfg.co.jp",
            "type": "booth_visited",
            "occurred_at": at(40, 1),
            "campaign": "ts-expo",
            "properties": {"detailed_talk": True},
            "source_id": "b2",
        },
        {"email": "a.tanaka@sakura-mfg.co.jp", "type": "email_clicked", "occurred_at": at(5), "source_id": "b3"},
    ]
    with LeadRelay.open(db_url, clock=FakeClock(NOW)) as in_order:
        in_order.add_leads([sato_profile()])
        in_order.record_activities(sorted(records, key=lambda r: r["occurred_at"]))
        expected = {e: (history_of(in_order, e), in_order.lead(e).scores) for e in (SATO, "a.tanaka@sakura-mfg.co.jp")}
    shuffled = records[:]
    random.Random(seed).shuffle(shuffled)
    other = f"sqlite:///{tmp_path / f'shuffled-{seed}.db'}"
    with LeadRelay.open(other, clock=FakeClock(NOW)) as out_of_order:
        out_of_order.add_leads([sato_profile()])
        for record in shuffled:  # one batch per record, in shuffled order
            out_of_order.record_activities([record])
        actual = {e: (history_of(out_of_order, e), out_of_order.lead(e).scores) for e in expected}
    assert actual == expected


def test_a_late_activity_moves_the_mql_time_to_when_it_really_happened(relay: LeadRelay) -> None:
    relay.add_leads([sato_profile()])
    relay.record_activities([{"email": SATO, "type": "bant_collected", "occurred_at": at(3), "source_id": "late-2"}])
    assert iso_time(relay.lead(SATO).mql.at) == (NOW - timedelta(days=3)).isoformat()
    relay.record_activities([{"email": SATO, "type": "demo_requested", "occurred_at": at(8), "source_id": "late-1"}])
    report = relay.lead(SATO)
    assert [(m.to_stage, m.trigger, iso_time(m.at)) for m in report.history] == [
        ("mql", "hand_raised", (NOW - timedelta(days=8)).isoformat()),
    ]


def test_hand_raiser_from_a_target_company_skips_nurture(relay: LeadRelay) -> None:
    relay.add_leads([sato_profile()])
    relay.record_activities([{"email": SATO, "type": "demo_requested", "occurred_at": at(1), "source_id": "d1"}])
    report = relay.lead(SATO)
    assert [(m.from_stage, m.to_stage, m.trigger, m.rule) for m in report.history] == [
        ("new", "mql", "hand_raised", "hand_raiser_request")
    ]
    assert report.mql.priority is True


def test_non_target_hand_raiser_stays_with_marketing(relay: LeadRelay) -> None:
    relay.add_leads(
        [{"email": "info@tiny-cafe.jp", "company": {"name": "Tiny Cafe", "industry": "hospitality", "employees": 4}}]
    )
    relay.record_activities([{"email": "info@tiny-cafe.jp", "type": "demo_requested", "occurred_at": at(1)}])
    report = relay.lead("info@tiny-cafe.jp")
    assert report.stage == "nurture"
    assert report.scores.fit_gate_passed is False


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ({"email": "someone@gmail.com"}, "free_mail"),
        ({"email": "spy@rival-ma.co.jp"}, "competitor"),
        ({"email": "ana@empresa.com.br", "country": "BR"}, "country_not_served"),
        ({"email": "hana@uni-example.ac.jp", "title": "大学院生"}, "student"),
    ],
)
def test_disqualified_people_never_reach_sales_and_say_why(
    relay: LeadRelay, record: dict[str, Any], reason: str
) -> None:
    relay.add_leads([record])
    relay.record_activities([{"email": record["email"], "type": "demo_requested", "occurred_at": at(1)}])
    report = relay.lead(record["email"])
    assert report.stage == "disqualified"
    assert report.disqualification.reason == reason
    assert [m.to_stage for m in report.history] == ["disqualified"]


def test_a_profile_fix_reinstates_a_disqualified_lead_and_judges_it_at_once(relay: LeadRelay) -> None:
    relay.add_leads([{**sato_profile(), "title": "学生"}])
    relay.record_activities(journey())
    assert relay.lead(SATO).stage == "disqualified"
    relay.add_leads([{"email": SATO, "title": "情報システム部 部長"}])
    report = relay.lead(SATO)
    assert [(m.to_stage, m.trigger) for m in report.history] == [
        ("disqualified", "disqualified"),
        ("nurture", "reinstated"),
        ("mql", "qualified"),
    ]


def test_free_mail_leads_get_no_account_and_companies_are_counted_once(relay: LeadRelay) -> None:
    relay.add_leads(
        [
            sato_profile(),
            {"email": "a.tanaka@sakura-mfg.co.jp"},
            {"email": "SOMEONE@Gmail.com"},
        ]
    )
    assert relay.lead("someone@gmail.com").account is None
    assert relay.lead("a.tanaka@sakura-mfg.co.jp").account.name == "さくら製作所"
    assert relay.summary().unique_companies == 1


def test_bad_records_are_rejected_by_number_and_good_ones_kept(relay: LeadRelay) -> None:
    records = journey()[:2] + [
        {"email": "not-an-email", "type": "email_opened", "occurred_at": at(1)},
        {"email": SATO, "type": "telepathy", "occurred_at": at(1)},
        {"email": SATO, "type": "email_opened", "occurred_at": "2026-11-01T10:00:00"},
        {"email": SATO, "type": "email_opened", "occurred_at": (NOW + timedelta(days=1)).isoformat()},
    ]
    result = relay.record_activities(records)
    assert result.activities_inserted == 2
    assert [(r.record, r.field) for r in result.rejected] == [
        (3, "email"),
        (4, "type"),
        (5, "occurred_at"),
        (6, "occurred_at"),
    ]
    assert "time zone" in result.rejected[2].message and "future" in result.rejected[3].message


def test_summary_counts_mqls_of_this_week_only(relay: LeadRelay) -> None:
    relay.add_leads([sato_profile(), {"email": "b.suzuki@sakura-mfg.co.jp", "seniority": "director"}])
    relay.record_activities(
        [
            {"email": SATO, "type": "demo_requested", "occurred_at": at(10)},
            {"email": "b.suzuki@sakura-mfg.co.jp", "type": "contact_requested", "occurred_at": at(1)},
        ]
    )
    summary = relay.summary()
    assert summary.by_stage["mql"] == 2
    assert summary.mqls_this_week == 1


def test_a_new_playbook_never_rewrites_decisions_made_under_the_old_one(relay: LeadRelay, tmp_path: Any) -> None:
    from leadrelay.adapters.playbook.loader import default_playbook_path

    relay.add_leads([sato_profile()])
    relay.record_activities(journey()[:5])
    before = relay.lead(SATO).history
    assert before[-1].to_stage == "mql" and before[-1].rule == "handoff_level2_document_email_opened"
    stricter = tmp_path / "stricter.yaml"
    text = default_playbook_path().read_text(encoding="utf-8")
    stricter.write_text(
        text.replace("when: {field: level, op: gte, value: 4}", "when: {field: level, op: gte, value: 9}"),
        encoding="utf-8",
    )
    relay.use_playbook(stricter)
    relay.record_activities([{"email": SATO, "type": "email_opened", "occurred_at": at(1), "source_id": "later"}])
    after = relay.lead(SATO)
    assert after.stage == "mql"
    assert [(m.to_stage, m.rule, m.playbook) for m in after.history] == [
        (m.to_stage, m.rule, m.playbook) for m in before
    ]


def test_a_profile_that_arrives_after_the_activities_gives_the_history_of_one_known_from_the_start(
    relay: LeadRelay,
) -> None:
    relay.record_activities([{"email": SATO, "type": "demo_requested", "occurred_at": at(1), "source_id": "d1"}])
    assert relay.lead(SATO).stage == "nurture"  # nothing known about the company yet: fit gate not passed
    relay.add_leads([sato_profile()])
    report = relay.lead(SATO)
    # the same history as when the profile came first: the demo request made it an MQL when it was made
    assert [(m.to_stage, m.trigger, iso_time(m.at)) for m in report.history] == [
        ("mql", "hand_raised", (NOW - timedelta(days=1)).isoformat()),
    ]
    with relay.store.reading() as tx:
        [replaced] = tx.corrections_of(tx.lead_ids([SATO])[SATO])
    assert (replaced.to_stage, replaced.correction) == (
        "nurture",
        "the profile changed: the lead now passes the fit gate",
    )


def test_a_profile_that_stops_fitting_judges_the_lead_again_from_now_without_taking_back_the_past(
    relay: LeadRelay,
) -> None:
    relay.add_leads([sato_profile()])
    relay.record_activities([{"email": SATO, "type": "demo_requested", "occurred_at": at(1), "source_id": "d1"}])
    before = relay.lead(SATO).history
    relay.add_leads(
        [
            {
                **sato_profile(),
                "seniority": "staff",
                "department": "hr",
                "company": {"name": "さくら製作所", "industry": "agriculture", "employees": 3},
            }
        ]
    )
    assert relay.lead(SATO).history[: len(before)] == before


def test_the_same_profiles_twice_update_nothing_and_a_real_change_is_one_update(relay: LeadRelay) -> None:
    first = relay.add_leads([sato_profile()])
    assert (first.leads_created, first.leads_updated) == (1, 0)
    again = relay.add_leads([sato_profile()])
    assert (again.leads_created, again.leads_updated) == (0, 0)
    promoted = {**sato_profile(), "title": "情報システム部 本部長"}
    moved = relay.add_leads([promoted])
    assert (moved.leads_created, moved.leads_updated) == (0, 1)
    bigger = relay.add_leads([{**promoted, "company": {**promoted["company"], "employees": 1200}}])
    assert bigger.leads_updated == 1  # the company changed: the lead is judged again
    assert relay.lead(SATO).account.employees == 1200
