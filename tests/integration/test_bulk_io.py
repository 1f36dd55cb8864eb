"""The bulk reader of the lead table (``bulk_io.read_leads``) on a real database: every lead's
stored judgement as arrays and codes, and one profile per distinct combination of the fields the
playbook reads — with NULL fields, Japanese text, CSV-hostile text (PostgreSQL reads by ``COPY``
as CSV) and values first seen in a later batch."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa

from leadrelay import FakeClock, LeadRelay
from leadrelay.adapters.store import bulk_io, columns
from leadrelay.adapters.store.tables import leads
from tests.conftest import NOW

NEEDED = frozenset({"lead.domain", "lead.title", "lead.department", "lead.custom.inquiry_type", "account.industry"})
INQUIRY = '見積\n"依頼", 至急'  # a newline, quotes and a comma inside a value
PEOPLE: list[dict[str, Any]] = [
    {
        "email": "k.sato@sakura-mfg.co.jp",
        "title": "営業部長",
        "department": "営業",
        "custom": {"inquiry_type": INQUIRY},
    },
    {"external_id": "0051A00000XYZ"},  # no e-mail, nothing else known: NULL fields
    {
        "email": "y.tanaka@sakura-mfg.co.jp",
        "title": "営業部長",
        "department": "営業",
        "custom": {"inquiry_type": INQUIRY},
    },
    {"email": "m.suzuki@gmail.com", "title": "営業部長", "department": "営業"},
    {"email": "h.ito@kaede-soft.co.jp", "title": "CTO, 技術本部"},  # a title first seen in the last batch
]


@pytest.fixture
def relay(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[LeadRelay]:
    monkeypatch.setattr(bulk_io, "_LEAD_FETCH", 2)  # SQLite: batches of leads 1-2, 3-4, 5
    monkeypatch.setattr(columns, "_COPY_BLOCK", 512)  # PostgreSQL: a few rows an Arrow block
    relay = LeadRelay.open(db_url, clock=FakeClock(NOW))
    for person in PEOPLE:  # one by one: ids 1 … 5 in this order
        relay.add_leads([person])
    with relay.store.engine.begin() as connection:
        stored: dict[int, dict[str, Any]] = {
            1: {"fit_score": 12.5, "engagement_score": 0.1, "total_score": 12.6},
            3: {"level": 2, "level_rule": "lv2", "mql_rule": "demo_request"},
            4: {"fit_passed": True, "stage": "mql"},
            5: {"dq_rule": "competitor", "playbook_hash": None},
        }
        for lead_id, values in stored.items():
            connection.execute(sa.update(leads).where(leads.c.id == lead_id).values(**values))
    yield relay
    relay.close()


def test_the_lead_table_reads_as_arrays_and_codes_of_the_stored_values(relay: LeadRelay) -> None:
    with relay.store.reading() as tx:
        table = bulk_io.read_leads(tx, NEEDED)
    assert table.ids.tolist() == [1, 2, 3, 4, 5]
    assert table.fit.tolist() == [12.5, 0.0, 0.0, 0.0, 0.0]
    assert table.engagement.tolist() == [0.1, 0.0, 0.0, 0.0, 0.0]
    assert table.total.tolist() == [12.6, 0.0, 0.0, 0.0, 0.0]
    assert table.level.tolist() == [0, 0, 2, 0, 0]  # NULL: 0
    assert table.fit_passed.tolist() == [False, False, False, True, False]
    assert table.stage.positions(["new", "mql"]).tolist() == [0, 0, 0, 1, 0]
    assert table.level_rule.positions(["lv1", "lv2"]).tolist() == [-1, -1, 1, -1, -1]
    assert table.mql_rule.isin({"demo_request"}).tolist() == [False, False, True, False, False]
    # intake disqualified the free-mail address; -2: a value not among those asked for
    assert table.dq_rule.positions(["free_mail"]).tolist() == [-1, -1, -1, 0, -2]
    assert (~table.playbook_hash.isin({relay.playbook().playbook.hash})).tolist() == [False] * 4 + [True]


def test_leads_with_the_same_values_share_a_profile_numbered_by_first_appearance(relay: LeadRelay) -> None:
    with relay.store.reading() as tx:
        table = bulk_io.read_leads(tx, NEEDED)
    assert table.profile.tolist() == [0, 1, 0, 2, 3]
    seen = [
        (lead.domain, lead.title, lead.department, dict(lead.custom), account.domain if account else None)
        for lead, account in table.profiles
    ]
    assert seen == [
        ("sakura-mfg.co.jp", "営業部長", "営業", {"inquiry_type": INQUIRY}, "sakura-mfg.co.jp"),
        (None, None, None, {}, None),
        ("gmail.com", "営業部長", "営業", {}, None),
        ("kaede-soft.co.jp", "CTO, 技術本部", None, {}, "kaede-soft.co.jp"),
    ]


def test_the_exact_e_mail_is_read_when_the_playbook_reads_it(relay: LeadRelay) -> None:
    with relay.store.reading() as tx:
        table = bulk_io.read_leads(tx, frozenset({"lead.email"}))
    assert table.profile.tolist() == [0, 1, 2, 3, 4]
    assert [lead.email for lead, _ in table.profiles] == [
        "k.sato@sakura-mfg.co.jp",
        None,
        "y.tanaka@sakura-mfg.co.jp",
        "m.suzuki@gmail.com",
        "h.ito@kaede-soft.co.jp",
    ]
    assert all(account is None for _, account in table.profiles)  # no account field read


def test_an_empty_lead_table_reads_as_empty_columns(db_url: str) -> None:
    relay = LeadRelay.open(db_url, clock=FakeClock(NOW))
    with relay.store.reading() as tx:
        table = bulk_io.read_leads(tx, NEEDED)
    assert len(table) == 0 and table.profiles == [] and table.profile.dtype == np.int64
    assert table.stage.positions(["new"]).tolist() == []
    relay.close()
