"""A batch's leads judged at once (services.batch_judgement) are judged as the per-lead engine
(``assess``) judges each of them — including leads that share every field the playbook reads
(judged as one profile) and equal activities of different leads (one signature)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from leadrelay.adapters.playbook.loader import default_playbook_path, load_playbook
from leadrelay.domain.evaluation import Assessment, assess
from leadrelay.domain.model import Account, Activity, Campaign, Lead
from leadrelay.services.batch_judgement import MIN_BULK_LEADS, judge_leads
from tests.conftest import NOW
from tests.support.bulk_cases import demo_cases


def summary(judged: Assessment) -> tuple[object, ...]:
    return (
        round(judged.fit.total, 6),
        round(judged.engagement.total, 6),
        round(judged.scores["total"], 6),
        {k: round(v, 6) for k, v in judged.engagement.by_product.items()},
        judged.level.rule_id if judged.level else None,
        judged.level.level if judged.level else None,
        judged.fit_passed,
        judged.disqualification.rule_id if judged.disqualification else None,
        judged.disqualification.reason if judged.disqualification else None,
    )


@pytest.mark.parametrize("days_later", [0, -10, 30])
def test_a_batch_is_judged_as_the_per_lead_engine_judges_each_lead(days_later: int) -> None:
    playbook = load_playbook(default_playbook_path()).playbook
    moment = NOW + timedelta(days=days_later)
    cases = demo_cases(NOW, people=400)
    got = judge_leads(playbook, moment, cases)
    expected = [assess(lead, account, history, playbook, moment) for lead, account, history in cases]
    assert [summary(g) for g in got] == [summary(e) for e in expected]
    # the comparison means something: levels, MQL-worthy scores and disqualifications occur
    assert len({g.level.rule_id for g in got if g.level}) >= 2
    assert sum(g.disqualification is not None for g in got) > 0


def test_leads_sharing_a_profile_keep_their_own_history_and_their_own_fields() -> None:
    """Forty people of one company with one title: one profile for the engine, forty verdicts."""
    playbook = load_playbook(default_playbook_path()).playbook
    account = Account(domain="sakura-mfg.co.jp", name="さくら製作所", industry="manufacturing", employees=800)
    webinar = Campaign("w-1", "DX webinar", "webinar", "acquisition")
    shared = {"page_kind": "pricing"}  # one properties document for many activities, as the store hands them
    cases = []
    for i in range(MIN_BULK_LEADS + 8):
        history = [
            Activity(f"a{i}-{j}", "page_viewed", NOW - timedelta(days=40 - j * 3, hours=i), None, None, shared)
            for j in range(i % 6)
        ]
        if i % 4 == 0:
            history.append(Activity(f"w{i}", "webinar_attended", NOW - timedelta(hours=2), webinar, None, {}))
        country = "BR" if i == 7 else "JP"  # one person in a country the playbook does not serve
        lead = Lead(email=f"p{i}@sakura-mfg.co.jp", title="部長", seniority="manager", country=country)
        cases.append((lead, account, sorted(history, key=lambda a: (a.occurred_at, a.key))))
    got = judge_leads(playbook, NOW, cases)
    expected = [assess(lead, acc, history, playbook, NOW) for lead, acc, history in cases]
    assert [summary(g) for g in got] == [summary(e) for e in expected]
    assert len({round(g.engagement.total, 6) for g in got}) >= 6  # histories differ, so do scores
    assert got[7].disqualification is not None and got[8].disqualification is None
