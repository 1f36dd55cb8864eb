"""Erasing a person's personal data (APPI / GDPR), on SQLite and PostgreSQL.

The key test builds a lead with every kind of data leadrelay keeps, erases it, then reads every
table and every text and JSON column the database has — found by reflection, so tables added
later are searched too — and the import's rejects file, and finds none of the person's
identifiers; the counts of the summary are the same as before.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from leadrelay import FakeClock, LeadRelay
from leadrelay.adapters.files.rejects import RejectsWriter
from leadrelay.adapters.records import InputError
from leadrelay.adapters.store import personal_data
from leadrelay.adapters.store.personal_data import PersonalRows
from leadrelay.services.imports import fingerprint
from leadrelay.services.intake import Rejection
from leadrelay.services.leads import LeadNotFound
from tests.conftest import NOW
from tests.support.cli import run

EMAIL = "taro.yamada@sakura-mfg.co.jp"
FIRST, LAST = "Taro", "Yamada"
PHONE = "03-5555-0199"
POSTAL = "100-0005"  # the company's office address
EXTERNAL_ID = "crm-7781"
OTHER = "hanako.suzuki@sakura-mfg.co.jp"
#: Everything that names the person; none of it may be left anywhere after the erasure.
NEEDLES = (EMAIL, "taro.yamada", FIRST, LAST, PHONE, "0355550199", POSTAL, EXTERNAL_ID)


@pytest.fixture
def relay(db_url: str) -> Iterator[LeadRelay]:
    with LeadRelay.open(db_url, clock=FakeClock(NOW)) as instance:
        instance.playbook()
        yield instance


def at(hours_ago: float) -> str:
    return (NOW - timedelta(hours=hours_ago)).isoformat()


def profile(email: str, first: str, last: str, phone: str, external_id: str, postal: str = POSTAL) -> dict[str, Any]:
    return {
        "email": email,
        "external_id": external_id,
        "first_name": first,
        "last_name": last,
        "phone": phone,
        "postal_code": postal,
        "title": "情報システム部 部長",
        "seniority": "manager",
        "country": "JP",
        "prefecture": "東京都",
        "company": {"name": "さくら製作所", "industry": "manufacturing", "employees": 800},
        "custom": {"mobile": phone, "assistant": f"{first} {last}'s assistant"},
    }


def demo_request(email: str, first: str, last: str, phone: str, hours_ago: float) -> dict[str, Any]:
    return {
        "email": email,
        "type": "demo_requested",
        "occurred_at": at(hours_ago),
        "source_id": f"form-{email}",
        "properties": {
            "message": f"Please call {first} {last} at {phone}",
            "reply_to": email.upper(),
            "detailed_talk": True,
            "seats": 40,
        },
    }


def build_person(relay: LeadRelay, db_url: str, tmp_path: Path) -> Path:
    """The person and a colleague, with every kind of data; returns the import's rejects file."""
    added = relay.add_leads(
        [
            profile(EMAIL, FIRST, LAST, PHONE, EXTERNAL_ID),
            profile(OTHER, "Hanako", "Suzuki", "03-5555-0200", "crm-7782", postal="530-0001"),
        ]
    )
    assert (added.leads_created, added.rejected) == (2, [])
    recorded = relay.record_activities(
        [
            demo_request(EMAIL, FIRST, LAST, PHONE, 30),
            demo_request(OTHER, "Hanako", "Suzuki", "03-5555-0200", 29),
            {"email": EMAIL, "type": "page_viewed", "occurred_at": at(28), "properties": {"url": f"/p?u={EMAIL}"}},
        ]
    )
    assert recorded.rejected == []
    relay.accept(EMAIL, actor="is-kobayashi", note=f"spoke with {LAST}-san ({PHONE})")
    csv_file = tmp_path / "activities.csv"
    csv_file.write_text(
        "email,type,occurred_at,lead.first_name,lead.last_name,lead.phone\n"
        f"{EMAIL},webinar_attended,2026-11-20T10:00:00,{FIRST},{LAST},{PHONE}\n"
        f"{OTHER},webinar_attended,2026-11-20T10:00:00,Hanako,Suzuki,03-5555-0200\n",
        encoding="utf-8",
    )
    imported = run("activity", "import", str(csv_file), db=db_url)
    assert imported.returncode == 1, imported.stderr  # both rows rejected: no time zone
    rejects = csv_file.with_name("activities.csv.rejects.csv")
    assert EMAIL in rejects.read_text(encoding="utf-8")
    return rejects


def text_values(relay: LeadRelay) -> list[tuple[str, str, str]]:
    """(table, column, value) of every text and JSON value in the database, found by reflection."""
    found = []
    meta = sa.MetaData()
    meta.reflect(relay.store.engine)
    with relay.store.reading() as tx:
        for table in meta.sorted_tables:
            columns = [c for c in table.c if isinstance(c.type, sa.String | sa.JSON) or "JSON" in str(c.type).upper()]
            if not columns:
                continue
            for row in tx.execute(sa.select(*columns)):
                for column, value in zip(columns, row, strict=True):
                    if value is None:
                        continue
                    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                    found.append((table.name, column.name, text))
    return found


def leftovers(values: list[tuple[str, str, str]]) -> list[str]:
    return [
        f"{table}.{column}: {text[:120]}"
        for table, column, text in values
        for needle in NEEDLES
        if needle.casefold() in text.casefold()
    ]


def counts_of(relay: LeadRelay) -> dict[str, Any]:
    """What the reports count: the summary (without who the top leads are), reps' loads, SLA clocks."""
    summary = relay.summary().as_json()
    summary.pop("as_of")
    summary["top_leads"] = [(t["stage"], t["level"], t["score"]) for t in summary["top_leads"]]
    summary["reps"] = [(r.rep, r.open, r.received_this_week) for r in relay.reps()]
    summary["sla"] = [(s.rep, s.policy, s.clock, s.due_at, s.state) for s in relay.sla(everything=True)]
    return summary


def test_erasure_leaves_no_trace_of_the_person_in_any_table_or_rejects_file_and_keeps_the_counts(
    relay: LeadRelay, db_url: str, tmp_path: Path
) -> None:
    rejects = build_person(relay, db_url, tmp_path)
    before = counts_of(relay)
    person = relay.lead(EMAIL)
    assert person.stage == "sal"
    assert person.routing, "the hand-raiser was routed"
    tables_before = {t for t, _, _ in text_values(relay)}
    assert {"activities", "transitions", "routing_decisions", "outbox", "leads"} <= tables_before
    assert leftovers(text_values(relay)), "the scan finds the person before the erasure"

    report = relay.erase(EMAIL, actor="dpo@example.co.jp")

    assert leftovers(text_values(relay)) == []
    assert FIRST not in rejects.read_text(encoding="utf-8")
    assert "Hanako" in rejects.read_text(encoding="utf-8"), "the colleague's rejected row stays"
    assert report.already_erased is False
    assert report.ref is not None and report.ref.startswith("erased-")
    assert report.requested_by == "dpo@example.co.jp"
    assert report.tables["leads"] == 1
    assert report.tables["activities"] == 2
    assert report.tables["erased_identities"] == 2  # the e-mail and the external id
    assert report.messages_cancelled >= 1  # the rep's notifications had not been sent
    [rewritten] = [f for f in report.files if f.status == "rewritten"]
    assert (Path(rewritten.path), rewritten.rows_removed) == (rejects.resolve(), 1)

    assert counts_of(relay) == before
    assert before["leads"] == 2 and before["by_stage"]["sal"] == 1
    assert sum(open_ for _, open_, _ in before["reps"]) == 2, "both leads are with a rep"
    assert len(before["sla"]) == 2, "the colleague's accept clock and the person's first-touch clock run"
    erased = relay.lead(report.ref)
    assert (erased.email, erased.external_id, erased.profile.name) == (None, report.ref, None)
    assert (erased.stage, erased.scores.total) == ("sal", person.scores.total)
    assert erased.activities == 2
    colleague = relay.lead(OTHER)
    assert colleague.profile.name is not None and "Hanako" in colleague.profile.name


def test_erasing_twice_says_it_was_done_and_changes_nothing(relay: LeadRelay, db_url: str, tmp_path: Path) -> None:
    relay.add_leads([profile(EMAIL, FIRST, LAST, PHONE, EXTERNAL_ID)])
    first = relay.erase(EXTERNAL_ID, actor="dpo@example.co.jp")
    assert first.ref is not None
    by_ref = relay.erase(first.ref, actor="someone-else")
    assert (by_ref.already_erased, by_ref.ref, by_ref.requested_by) == (True, first.ref, "dpo@example.co.jp")
    assert by_ref.tables == first.tables
    by_email = relay.erase(EMAIL.upper())
    assert (by_email.already_erased, by_email.ref, by_email.tables) == (True, None, {})
    with relay.store.reading() as tx:
        assert tx.execute(sa.text("SELECT count(*) FROM erasures")).scalar_one() == 1
    with pytest.raises(LeadNotFound):
        relay.erase("nobody@sakura-mfg.co.jp")


def test_an_erased_person_is_not_recorded_again_by_later_activities_or_leads(relay: LeadRelay) -> None:
    relay.add_leads([profile(EMAIL, FIRST, LAST, PHONE, EXTERNAL_ID)])
    relay.erase(EMAIL)
    again = relay.record_activities(
        [demo_request(EMAIL, FIRST, LAST, PHONE, 2), demo_request(OTHER, "Hanako", "Suzuki", "03-5555-0200", 1)]
    )
    assert [(r.record, r.field) for r in again.rejected] == [(1, "email")]
    assert "erased at their request" in again.rejected[0].message
    assert again.leads_created == 1, "the other person's record is kept"
    by_id = relay.add_leads([{"external_id": EXTERNAL_ID, "title": "CTO"}])
    assert [(r.record, r.field) for r in by_id.rejected] == [(1, "external_id")]
    with pytest.raises(InputError, match="erased at their request"):
        relay.record_activity(email=EMAIL, type="webinar_attended", occurred_at=at(1))
    assert relay.summary().leads == 2


def test_rows_of_a_registered_table_that_quote_the_person_or_list_the_lead_are_deleted(
    relay: LeadRelay, monkeypatch: pytest.MonkeyPatch
) -> None:
    relay.add_leads([profile(EMAIL, FIRST, LAST, PHONE, EXTERNAL_ID), {"email": OTHER}])
    lead_id, other_id = (_lead_id(relay, e) for e in (EMAIL, OTHER))
    with relay.store.transaction() as tx:
        tx.execute(
            sa.text(
                "CREATE TABLE stored_responses (id INTEGER PRIMARY KEY, body TEXT NOT NULL, lead_ids TEXT NOT NULL)"
            )
        )
        tx.execute(
            sa.text(
                "INSERT INTO stored_responses (id, body, lead_ids) VALUES (1, :a, :n), (2, :b, :m), (3, :c, :mine)"
            ),
            {
                "a": json.dumps({"lead": EMAIL.upper()}),
                "b": json.dumps({"lead": OTHER}),
                "c": json.dumps({"created": 1}),
                "n": "[]",
                "m": json.dumps([other_id]),
                "mine": json.dumps([other_id, lead_id]),
            },
        )
    how = PersonalRows(lead_ids_column="lead_ids", text_columns=("body",))
    monkeypatch.setitem(personal_data.PERSONAL_DATA_TABLES, "stored_responses", how)
    report = relay.erase(EMAIL)
    assert report.tables["stored_responses"] == 2
    with relay.store.reading() as tx:
        assert tx.execute(sa.text("SELECT id FROM stored_responses")).scalars().all() == [2]


def _lead_id(relay: LeadRelay, email: str) -> int:
    with relay.store.reading() as tx:
        return tx.lead_ids([email])[email]


def test_names_are_taken_out_as_whole_words_so_stage_names_and_other_text_survive(relay: LeadRelay) -> None:
    relay.add_leads([{"email": "li@sakura-mfg.co.jp", "first_name": "Li", "last_name": "Qualified", "title": "部長"}])
    relay.record_activities([{"email": "li@sakura-mfg.co.jp", "type": "demo_requested", "occurred_at": at(3)}])
    before = [(m.from_stage, m.to_stage, m.trigger) for m in relay.lead("li@sakura-mfg.co.jp").history]
    report = relay.erase("li@sakura-mfg.co.jp")
    assert report.ref is not None
    after = [(m.from_stage, m.to_stage, m.trigger) for m in relay.lead(report.ref).history]
    assert after == before


def test_an_unfinished_imports_rejects_file_is_rewritten_and_its_checkpoint_follows(
    relay: LeadRelay, tmp_path: Path
) -> None:
    source = tmp_path / "acts.csv"
    source.write_text("email,type,occurred_at\n", encoding="utf-8")
    relay.add_leads([profile(EMAIL, FIRST, LAST, PHONE, EXTERNAL_ID)])
    rows = {
        2: {"email": EMAIL, "type": "webinar_attended", "occurred_at": "2026-11-20T10:00:00"},
        3: {"email": OTHER, "type": "webinar_attended", "occurred_at": "2026-11-20T10:00:00"},
    }
    path = tmp_path / "acts.rejects.csv"
    run_ = relay.begin_import(fingerprint(source), "activities", "leadrelay", rejects=path)
    writer = RejectsWriter(path, ["email", "type", "occurred_at"])

    def on_rejects(rejected: list[Rejection]) -> int:
        writer.rewind()
        for rejection in rejected:
            writer.write(rejection.record, rejection.field, rejection.message, rows[rejection.record])
        return writer.sync()

    relay.record_activities_numbered(list(rows.items()), checkpoint=run_.id, on_rejects=on_rejects)
    writer.mark()
    writer.close()
    assert relay.begin_import(fingerprint(source), "activities", "leadrelay", rejects=path).rejects_size == (
        path.stat().st_size
    )

    report = relay.erase(EMAIL)

    [item] = report.files
    assert (item.status, item.rows_removed) == ("rewritten", 1)
    resumed = relay.begin_import(fingerprint(source), "activities", "leadrelay", rejects=path)
    assert (resumed.resume_after, resumed.rejects_size) == (3, path.stat().st_size)
    text = path.read_text(encoding="utf-8")
    assert EMAIL not in text
    assert OTHER in text
