"""The Olist example (docs/importing-crm-history.md): the real files from ../shared/data/olist.

8,000 MQLs known by mql_id only, their landing-page form fills, and 842 won deals with SDR and SR.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from leadrelay import FakeClock, LeadRelay
from leadrelay.adapters.store.tables import activities, leads, outcomes
from leadrelay.services.read_models import iso_time
from tests.conftest import NOW
from tests.support.olist import DEALS, MQLS, OLIST, load

pytestmark = pytest.mark.skipif(
    not MQLS.exists() or not DEALS.exists(),
    reason=f"the Olist data set is not at {OLIST} (see docs/importing-crm-history.md)",
)


def test_olist_loads_8000_leads_their_form_fills_and_842_won_deals(db_url: str, tmp_path: Path) -> None:
    with LeadRelay.open(db_url, clock=FakeClock(NOW)) as relay:
        loaded = load(MQLS, "leads.yaml", "leads", relay.add_leads_numbered, tmp_path / "l.csv")
        assert (loaded.leads_created, loaded.rejected) == (8000, [])
        filled = load(MQLS, "activities.yaml", "activities", relay.record_activities_numbered, tmp_path / "a.csv")
        assert (filled.activities_inserted, filled.leads_created, filled.rejected) == (8000, 0, [])
        won = load(DEALS, "outcomes.yaml", "outcomes", relay.record_outcomes_numbered, tmp_path / "o.csv")
        assert (won.outcomes_inserted, len(won.moves), won.rejected) == (842, 842, [])

        with relay.store.reading() as tx:
            assert tx.execute(sa.select(sa.func.count()).select_from(leads)).scalar_one() == 8000
            assert (
                tx.execute(sa.select(sa.func.count()).select_from(leads).where(leads.c.email.is_not(None))).scalar_one()
                == 0
            )
            assert tx.execute(sa.select(sa.func.count()).select_from(activities)).scalar_one() == 8000
            assert tx.execute(sa.select(sa.func.count()).select_from(outcomes)).scalar_one() == 842

        summary = relay.summary(top=0)
        assert summary.by_stage["won"] == 842
        assert summary.by_stage["nurture"] == 8000 - 842
        assert (summary.outcomes.won, summary.outcomes.lost) == (842, 0)
        assert summary.disqualified_by_reason == {}  # no e-mail is not free mail

        deal = relay.lead("5420aad7fec3549a85876ba1c529bd84")
        assert deal.stage == "won"
        assert len(deal.outcomes) == 1
        closed = deal.outcomes[0]
        assert closed.as_json()["closed_at"] == "2018-02-27T07:58:54+09:00"  # 2018-02-26 19:58:54 in São Paulo
        assert (closed.sdr, closed.sr) == ("a8387c01a09e99ce014107505b92388c", "4ef15afb4b2723d8f3d81e51ec7afefe")
        assert closed.source_id == "2c43fb513632d29b3b58df74816f1b06"
        assert closed.properties["business_segment"] == "pet"
        assert [(m.from_stage, m.to_stage, m.trigger) for m in deal.history] == [
            ("new", "nurture", "engaged"),
            ("nurture", "won", "won_imported"),
        ]

        # the deal won two days before its first contact is recorded at the first contact
        early = relay.lead("b91cf8812365f50ff4bda4bcd6206b05")
        assert early.outcomes[0].as_json()["closed_at"].startswith("2018-03-07T07:38:55")
        assert iso_time(early.history[-1].at) == iso_time(early.history[0].at) == "2018-03-08T12:00:00+09:00"

        # a blank origin leaves the lead without a source channel
        blank = relay.lead("8e952443b19bfc5d0b90e6c4eabcb8fb")
        assert blank.profile.source_channel is None
        assert blank.stage == "nurture"

        again = load(DEALS, "outcomes.yaml", "outcomes", relay.record_outcomes_numbered, tmp_path / "o2.csv")
        assert (again.outcomes_inserted, again.duplicates, again.moves) == (0, 842, [])
