"""Lead-to-account matching through the store, on SQLite and PostgreSQL: the tiers as leads arrive,
named-account routing and unique companies by the matched account, review, merge, add-domain and
re-matching on the bulk path without rewriting history."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from leadrelay import FakeClock, LeadRelay
from leadrelay.adapters.playbook.loader import default_playbook_path, parse_playbook
from leadrelay.adapters.store.tables import account_changes, account_domains, accounts, leads, routing_decisions
from leadrelay.services.matching import AccountError
from tests.conftest import NOW

SAKURA = {
    "name": "株式会社さくら製作所",
    "reading": "サクラセイサクショ",
    "industry": "manufacturing",
    "employees": 800,
    "tier": "named",
    "owner": "rep-tanaka",
}


@pytest.fixture
def relay(db_url: str) -> Iterator[LeadRelay]:
    with LeadRelay.open(db_url, clock=FakeClock(NOW)) as instance:
        yield instance


def manager(email: str | None, **fields: Any) -> dict[str, Any]:
    record: dict[str, Any] = {"title": "製造部 部長", "seniority": "manager", **fields}
    if email:
        record["email"] = email
    return record


def demo_request(key: str) -> dict[str, Any]:
    who = {"email": key} if "@" in key else {"external_id": key}
    return {**who, "type": "demo_requested", "occurred_at": (NOW - timedelta(hours=2)).isoformat()}


def seed_sakura(relay: LeadRelay) -> None:
    relay.add_leads([manager("k.sato@sakura-mfg.co.jp", company=SAKURA, phone="06-1234-5678")])


def test_a_lead_naming_a_named_account_from_another_domain_goes_to_its_owner(relay: LeadRelay) -> None:
    seed_sakura(relay)
    relay.add_leads([manager("info@sakura-mfg.jp", company_name="(株)さくら製作所")])
    relay.record_activities([demo_request("info@sakura-mfg.jp")])
    report = relay.lead("info@sakura-mfg.jp")
    assert report.account.domain == "sakura-mfg.co.jp"
    assert report.match.tier == 2
    assert [e.kind for e in report.match.evidence] == ["name"]
    assert report.owner.rep == "rep-tanaka"
    assert report.routing[0].rule == "route_named_account_hq"


def test_ten_people_from_one_company_written_ten_ways_are_one_company(relay: LeadRelay) -> None:
    seed_sakura(relay)
    relay.add_leads(
        [
            manager("a.ito@sakura-mfg.co.jp"),
            manager("b.kato@sakura-mfg.co.jp", company={"name": "さくら製作所"}),
            manager("c.endo@osaka.sakura-mfg.co.jp"),
            manager("d.abe@sakura-mfg.jp", company_name="(株)さくら製作所"),
            manager("e.mori@sakura-mfg.jp", company_name="さくら製作所株式会社"),
            manager("f.ono@gmail.com", company_name="ｻｸﾗｾｲｻｸｼｮ"),
            manager("g.ueda@yahoo.co.jp", company_name="㈱ さくら製作所"),
            manager(None, external_id="card-1", company_name="さくら製作所 大阪支店", phone="06-1234-5678"),
            manager(None, external_id="card-2", company_name="Sakura Seisakusho", company={"name": "サクラ製作所"}),
        ]
    )
    assert relay.summary().unique_companies == 1
    tiers = {row.domain: row.by_tier for row in relay.accounts()}
    # the first lead made the account (tier 4); the others found it by domain, name, or close name + phone
    assert tiers == {"sakura-mfg.co.jp": {"1": 3, "2": 5, "3": 1, "4": 1}}


def test_a_booth_scan_without_e_mail_is_matched_by_name_and_phone_and_a_confirmed_alias_is_used(
    relay: LeadRelay,
) -> None:
    seed_sakura(relay)
    relay.add_leads([manager(None, external_id="card-1", company_name="さくら製作所 大阪支店", phone="06-1234-5678")])
    card = relay.lead("card-1")
    assert card.account.domain == "sakura-mfg.co.jp"
    assert (card.match.tier, card.match.evidence[1].kind) == (3, "phone")
    review = relay.match_review()
    assert [(r.lead, r.account, r.score) for r in review] == [("id:card-1", "sakura-mfg.co.jp", 90.0)]
    change = relay.confirm_match(review[0].id, actor="ops-ito")
    assert (change.kind, change.account, change.value) == ("confirm", "sakura-mfg.co.jp", "さくら製作所 大阪支店")
    assert relay.match_review() == []
    assert relay.lead("card-1").match.tier == 2
    # the alias is used from then on: the same name without a phone now matches by name
    relay.add_leads([manager(None, external_id="card-2", company_name="さくら製作所　大阪支店")])
    second = relay.lead("card-2")
    assert (second.account.domain, second.match.tier, second.match.evidence[0].kind) == ("sakura-mfg.co.jp", 2, "alias")
    assert "さくら製作所 大阪支店" in relay.accounts()[0].aliases
    with relay.store.engine.connect() as connection:
        assert connection.execute(sa.select(account_changes.c.kind, account_changes.c.actor)).all() == [
            ("confirm", "ops-ito")
        ]


def test_a_rejected_match_is_undone_and_never_made_again(relay: LeadRelay) -> None:
    seed_sakura(relay)
    relay.add_leads([manager(None, external_id="card-1", company_name="さくら製作所 大阪支店", phone="06-1234-5678")])
    lead_id = relay.match_review()[0].id
    change = relay.reject_match(lead_id, actor="ops-ito")
    assert change.kind == "reject"
    card = relay.lead("card-1")
    assert card.account is None
    assert [(c.account, c.why) for c in card.match.passed_over] == [("sakura-mfg.co.jp", "rejected")]
    assert relay.rematch().moved == 0
    assert relay.lead("card-1").account is None
    with pytest.raises(AccountError, match="not a weak"):
        relay.confirm_match(lead_id)


def test_merging_two_accounts_moves_their_leads_and_keeps_earlier_decisions(relay: LeadRelay) -> None:
    seed_sakura(relay)
    relay.add_leads([manager("s.mori@sakura-group.com", company={"name": "Sakura Group Holdings"})])
    relay.record_activities([demo_request("s.mori@sakura-group.com")])
    with relay.store.engine.connect() as connection:
        decided = connection.execute(sa.select(routing_decisions.c.lead_id, routing_decisions.c.rep_id)).all()
    change = relay.merge_accounts("sakura-mfg.co.jp", "sakura-group.com", actor="ops-ito")
    assert (change.account, change.other, change.leads_moved) == ("sakura-mfg.co.jp", "sakura-group.com", 1)
    assert relay.lead("s.mori@sakura-group.com").account.domain == "sakura-mfg.co.jp"
    rows = relay.accounts()
    assert [(r.domain, r.domains, r.aliases, r.leads) for r in rows] == [
        ("sakura-mfg.co.jp", ["sakura-group.com"], ["Sakura Group Holdings"], 2)
    ]
    relay.add_leads(
        [manager("t.new@sakura-group.com"), manager("u.new@gmail.com", company_name="Sakura Group Holdings")]
    )
    assert relay.lead("t.new@sakura-group.com").match.evidence[0].kind == "extra_domain"
    assert relay.lead("u.new@gmail.com").match.evidence[0].kind == "alias"
    with relay.store.engine.connect() as connection:
        # routing made earlier is history: not rewritten by the merge
        assert connection.execute(sa.select(routing_decisions.c.lead_id, routing_decisions.c.rep_id)).all() == decided
    with pytest.raises(AccountError, match="same account"):
        relay.merge_accounts("sakura-group.com", "sakura-mfg.co.jp")


def test_adding_a_domain_matches_its_leads_in_tier_one_and_refuses_what_cannot_be(relay: LeadRelay) -> None:
    seed_sakura(relay)
    relay.add_leads([manager("x@hikari.co.jp")])
    change = relay.add_account_domain("sakura-mfg.co.jp", "HTTPS://www.Sakura-Mfg.jp/", actor="ops-ito")
    assert change.value == "sakura-mfg.jp"
    relay.add_leads([manager("y@tokyo.sakura-mfg.jp")])
    assert relay.lead("y@tokyo.sakura-mfg.jp").match.evidence[0].kind == "subdomain"
    for domain, message in [
        ("gmail.com", "free-mail"),
        ("hikari.co.jp", "another account"),
        ("sakura-mfg.jp", "already a domain"),
        ("not a domain", "not a domain name"),
    ]:
        with pytest.raises(AccountError, match=message):
            relay.add_account_domain("sakura-mfg.co.jp", domain)
    with pytest.raises(AccountError, match=r"no account 'nowhere\.jp'"):
        relay.add_account_domain("nowhere.jp", "x.jp")


def test_rematch_after_a_rule_change_moves_leads_only_for_decisions_from_then_on(relay: LeadRelay) -> None:
    seed_sakura(relay)
    relay.add_leads([manager("m.sato@sakura-global.com", company={"name": "Sakura Global"})])
    relay.record_activities([demo_request("m.sato@sakura-global.com")])
    before = relay.lead("m.sato@sakura-global.com")
    assert before.account.domain == "sakura-global.com"
    text = default_playbook_path().read_text(encoding="utf-8")
    text += "\nmatching:\n  accounts:\n    - {domain: sakura-mfg.co.jp, extra_domains: [sakura-global.com]}\n"
    relay.use_playbook(parse_playbook(text, "with-matching.yaml"))
    dry = relay.rematch(dry_run=True)
    assert (dry.dry_run, dry.moved) == (True, 1)
    assert [(m.lead, m.from_account, m.to_account, m.tier) for m in dry.moves] == [
        ("m.sato@sakura-global.com", "sakura-global.com", "sakura-mfg.co.jp", 1)
    ]
    assert relay.lead("m.sato@sakura-global.com").account.domain == "sakura-global.com"  # nothing written
    done = relay.rematch()
    assert done.moved == 1
    after = relay.lead("m.sato@sakura-global.com")
    assert (after.account.domain, after.match.tier, after.match.evidence[0].kind) == (
        "sakura-mfg.co.jp",
        1,
        "extra_domain",
    )
    # the routing decided before the change stays as it was decided
    assert [(r.rule, r.rep) for r in after.routing] == [(r.rule, r.rep) for r in before.routing]
    assert relay.rematch(dry_run=True).moved == 0


def test_matching_leaves_free_mail_leads_without_a_company_alone(relay: LeadRelay) -> None:
    seed_sakura(relay)
    relay.add_leads([manager("taro@gmail.com"), manager("jiro@gmail.com", company_name="ひかり電機")])
    nothing = relay.lead("taro@gmail.com")  # no corporate domain, no company name: nothing to match by
    assert (nothing.account, nothing.match) == (None, None)
    named = relay.lead("jiro@gmail.com")  # a name no account has
    assert (named.account, named.match.tier, named.match.evidence) == (None, 4, [])
    assert [r.domain for r in relay.accounts()] == ["sakura-mfg.co.jp"]
    with relay.store.engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).where(leads.c.account_id.is_(None))).scalar() == 2


def test_accounts_another_connection_writes_are_matched_by_one_that_matched_before(
    relay: LeadRelay, db_url: str
) -> None:
    """Matching keeps its index of accounts in memory between batches: what another process
    writes (a new account, a renamed one, a domain added, a merge, even a row written by hand) is
    seen by the next batch here."""
    seed_sakura(relay)
    relay.add_leads([manager("a@gmail.com", company_name="さくら製作所")])  # the index is built here
    assert relay.lead("a@gmail.com").account.domain == "sakura-mfg.co.jp"

    def account_of(email: str, **fields: Any) -> tuple[str | None, int]:
        relay.add_leads([manager(email, **fields)])
        report = relay.lead(email)
        return (report.account.domain if report.account else None), report.match.tier

    with LeadRelay.open(db_url, clock=FakeClock(NOW)) as other:
        other.add_leads([manager("t.ueno@momiji-kogyo.co.jp", company={"name": "もみじ工業株式会社"})])
        assert account_of("b@gmail.com", company_name="もみじ工業") == ("momiji-kogyo.co.jp", 2)
        # a company record renames the account
        other.add_leads([manager("u.ota@momiji-kogyo.co.jp", company={"name": "かえで電機株式会社"})])
        assert account_of("c@gmail.com", company_name="かえで電機") == ("momiji-kogyo.co.jp", 2)
        other.add_account_domain("momiji-kogyo.co.jp", "kaede-denki.jp", actor="ops")
        assert account_of("d@kaede-denki.jp") == ("momiji-kogyo.co.jp", 1)
        other.merge_accounts("sakura-mfg.co.jp", "momiji-kogyo.co.jp", actor="ops")
        assert account_of("e@kaede-denki.jp") == ("sakura-mfg.co.jp", 1)
        assert account_of("f@yahoo.co.jp", company_name="かえで電機株式会社") == ("sakura-mfg.co.jp", 2)
    # a domain written straight into the table, by no command of leadrelay
    with relay.store.engine.connect() as connection:
        sakura = connection.execute(sa.select(accounts.c.id).where(accounts.c.domain == "sakura-mfg.co.jp")).scalar()
        connection.execute(
            account_domains.insert().values(
                account_id=sakura, domain="sakura-group.jp", source="added", actor="dba", created_at=NOW
            )
        )
        connection.commit()
    assert account_of("g@sakura-group.jp") == ("sakura-mfg.co.jp", 1)
