"""Routing as a pure function: distribution properties over many leads, and every reason."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadrelay.adapters.geo import PREFECTURES
from leadrelay.adapters.playbook.loader import default_playbook_path, load_playbook
from leadrelay.domain.conditions import ALWAYS, Facts, parse_condition
from leadrelay.domain.model import Account, Lead
from leadrelay.domain.routing import (
    Absence,
    Department,
    Place,
    Rep,
    Routing,
    RoutingInput,
    RoutingRule,
    RoutingState,
    Segment,
    Territory,
    decide,
    priority_order,
)
from leadrelay.services.routing import Places, place_of

WEDNESDAY = date(2026, 11, 25)
NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


def routing_of(reps: list[Rep], strategy: str, *, when: str = "always", territory: Territory | None = None) -> Routing:
    condition = ALWAYS if when == "always" else parse_condition({"field": "level", "op": "gte", "value": 4}, "lead")
    return Routing(
        departments={
            "sales": Department("sales", "Sales", "営業", tuple(r.id for r in reps)),
            "queue": Department("queue", "Queue", "キュー"),
        },
        reps={r.id: r for r in reps},
        rules=(RoutingRule("main", "Main", condition, "sales", strategy, territory),),
        fallback="queue",
    )


def lead_input(
    n: int = 0, *, account: Account | None = None, place: Place | None = None, level: int = 4
) -> RoutingInput:
    lead = Lead(email=f"p{n}@example.co.jp")
    facts = Facts(lead, account, [], NOW, {"level": float(level), "fit": 0.0, "engagement": 0.0, "total": 0.0})
    return RoutingInput(facts, place or Place())


def run(routing: Routing, leads: int, state: RoutingState | None = None) -> tuple[dict[str | None, int], RoutingState]:
    state = state or RoutingState()
    counts: dict[str | None, int] = {}
    for n in range(leads):
        decision = decide(routing, lead_input(n), state, WEDNESDAY)
        counts[decision.rep_id] = counts.get(decision.rep_id, 0) + 1
    return counts, state


@settings(max_examples=60, deadline=None)
@given(reps=st.integers(1, 12), leads=st.integers(0, 400))
def test_round_robin_counts_differ_by_at_most_one(reps: int, leads: int) -> None:
    team = [Rep(f"r{i}", f"Rep {i}", "sales") for i in range(reps)]
    counts, _ = run(routing_of(team, "round_robin"), leads)
    got = [counts.get(r.id, 0) for r in team]
    assert sum(got) == leads
    assert max(got) - min(got) <= 1


@settings(max_examples=60, deadline=None)
@given(weights=st.lists(st.integers(1, 10), min_size=1, max_size=8), leads=st.integers(1, 600))
def test_weighted_shares_follow_the_weights_within_one_lead(weights: list[int], leads: int) -> None:
    team = [Rep(f"r{i}", f"Rep {i}", "sales", weight=w) for i, w in enumerate(weights)]
    counts, _ = run(routing_of(team, "weighted"), leads)
    total = sum(weights)
    for rep in team:
        expected = leads * rep.weight / total
        assert abs(counts.get(rep.id, 0) - expected) <= 1.0 + 1e-9, (rep.id, counts, expected)


@settings(max_examples=80, deadline=None)
@given(
    capacities=st.lists(st.integers(0, 15), min_size=1, max_size=6),
    already=st.lists(st.integers(0, 20), min_size=6, max_size=6),
    leads=st.integers(0, 120),
    strategy=st.sampled_from(["round_robin", "weighted", "load_balanced"]),
)
def test_capacity_is_never_exceeded_and_the_rest_wait_in_the_queue(
    capacities: list[int], already: list[int], leads: int, strategy: str
) -> None:
    team = [Rep(f"r{i}", f"Rep {i}", "sales", capacity=c) for i, c in enumerate(capacities)]
    state = RoutingState(open_leads={r.id: already[i] for i, r in enumerate(team)})
    start = dict(state.open_leads)
    counts, state = run(routing_of(team, strategy), leads, state)
    room = sum(max(r.capacity - start[r.id], 0) for r in team if r.capacity is not None)
    for rep in team:
        got = counts.get(rep.id, 0)
        assert rep.capacity is not None
        assert got == 0 or start[rep.id] + got <= rep.capacity
    assert counts.get(None, 0) == max(leads - room, 0)  # everyone who could take one did


@settings(max_examples=60, deadline=None)
@given(
    status=st.lists(st.sampled_from(["ok", "inactive", "away", "off_today"]), min_size=1, max_size=8),
    leads=st.integers(1, 100),
)
def test_a_rep_out_of_office_inactive_or_off_today_never_gets_a_lead(status: list[str], leads: int) -> None:
    team = []
    for i, kind in enumerate(status):
        rep = Rep(f"r{i}", f"Rep {i}", "sales")
        if kind == "inactive":
            rep = Rep(rep.id, rep.name, "sales", active=False)
        elif kind == "away":
            rep = Rep(rep.id, rep.name, "sales", absences=(Absence(date(2026, 11, 20), date(2026, 11, 30)),))
        elif kind == "off_today":
            rep = Rep(rep.id, rep.name, "sales", working_days=frozenset({0, 1}))  # Monday, Tuesday
        team.append(rep)
    counts, _ = run(routing_of(team, "round_robin"), leads)
    for rep, kind in zip(team, status, strict=True):
        if kind != "ok":
            assert counts.get(rep.id, 0) == 0
    if "ok" not in status:
        assert counts == {None: leads}


def test_every_rep_passed_over_is_named_with_the_reason() -> None:
    team = [
        Rep("a", "A", "sales", active=False),
        Rep("b", "B", "sales", absences=(Absence(date(2026, 11, 24), date(2026, 11, 26), "leave"),)),
        Rep("c", "C", "sales", capacity=1),
        Rep("d", "D", "sales"),
        Rep("e", "E", "sales"),
    ]
    state = RoutingState(open_leads={"c": 1})
    decision = decide(routing_of(team, "round_robin"), lead_input(), state, WEDNESDAY)
    assert decision.rep_id == "d"
    reasons = {p.rep_id: (p.reason, p.detail) for p in decision.passed_over}
    assert reasons == {
        "a": ("inactive", ""),
        "b": ("out_of_office", ""),
        "c": ("at_capacity", "1/1"),
        "e": ("turn", ""),
    }


def test_a_rep_back_from_leave_gets_an_ordinary_share_not_a_burst() -> None:
    away = Rep("c", "C", "sales", absences=(Absence(date(2026, 11, 1), date(2026, 11, 24)),))
    team = [Rep("a", "A", "sales"), Rep("b", "B", "sales"), away]
    routing = routing_of(team, "round_robin")
    state = RoutingState()
    for n in range(100):  # c is away: a and b share these
        decide(routing, lead_input(n), state, date(2026, 11, 20))
    counts: dict[str | None, int] = {}
    for n in range(30):  # c is back
        rep = decide(routing, lead_input(n), state, WEDNESDAY).rep_id
        counts[rep] = counts.get(rep, 0) + 1
    assert counts == {"a": 10, "b": 10, "c": 10}


def test_load_balanced_picks_the_rep_with_the_most_room_for_their_capacity() -> None:
    team = [Rep("a", "A", "sales", capacity=10), Rep("b", "B", "sales", capacity=40)]
    state = RoutingState(open_leads={"a": 5, "b": 10})  # a is half full, b a quarter
    decision = decide(routing_of(team, "load_balanced"), lead_input(), state, WEDNESDAY)
    assert decision.rep_id == "b"
    assert [(p.rep_id, p.reason, p.detail) for p in decision.passed_over] == [("a", "more_load", "5/10")]


def test_named_account_owner_gets_the_lead_even_at_capacity_but_not_when_away() -> None:
    owner = Rep("tanaka", "Tanaka", "sales", capacity=1, named_accounts=frozenset({"sakura.co.jp"}))
    team = [owner, Rep("suzuki", "Suzuki", "sales")]
    routing = routing_of(team, "named_account")
    account = Account("sakura.co.jp", tier="named")
    state = RoutingState(open_leads={"tanaka": 5})
    decision = decide(routing, lead_input(account=account), state, WEDNESDAY)
    assert decision.rep_id == "tanaka"
    assert [(p.rep_id, p.reason) for p in decision.passed_over] == [("suzuki", "not_owner")]
    by_owner_field = decide(routing, lead_input(account=Account("other.co.jp", owner="Tanaka")), state, WEDNESDAY)
    assert by_owner_field.rep_id == "tanaka"
    owner_away = replace(owner, absences=(Absence(date(2026, 11, 25), date(2026, 11, 25)),))
    routing = routing_of([owner_away, team[1]], "named_account")
    queued = decide(routing, lead_input(account=account), RoutingState(), WEDNESDAY)
    assert queued.rep_id is None and queued.department == "queue"
    assert [(m.rule_id, m.reason) for m in queued.misses] == [("main", "no_rep")]


def test_territory_and_segment_pick_the_reps_who_cover_the_lead() -> None:
    east = Rep("east", "East", "sales", territory=Territory(regions=frozenset({"kanto"})))
    west = Rep("west", "West", "sales", territory=Territory(postal_ranges=(("5300000", "5999999"),)))
    phone = Rep("tel", "Tel", "sales", territory=Territory(area_codes=("075",)))
    routing = routing_of([east, west, phone], "territory")
    assert decide(routing, lead_input(place=Place(region="kanto")), RoutingState(), WEDNESDAY).rep_id == "east"
    assert decide(routing, lead_input(place=Place(postal_code="5300001")), RoutingState(), WEDNESDAY).rep_id == "west"
    assert decide(routing, lead_input(place=Place(phone="0751234567")), RoutingState(), WEDNESDAY).rep_id == "tel"
    nowhere = decide(routing, lead_input(place=Place(region="kyushu")), RoutingState(), WEDNESDAY)
    assert nowhere.rep_id is None
    assert {p.reason for p in nowhere.passed_over} == {"not_in_territory"}

    big = Rep("big", "Big", "sales", segment=Segment(min_employees=1000))
    small = Rep("small", "Small", "sales", segment=Segment(max_employees=999, industries=frozenset({"retail"})))
    routing = routing_of([big, small], "segment")
    large = Account("a.co.jp", employees=5000, industry="finance")
    shop = Account("b.co.jp", employees=30, industry="Retail")
    assert decide(routing, lead_input(account=large), RoutingState(), WEDNESDAY).rep_id == "big"
    assert decide(routing, lead_input(account=shop), RoutingState(), WEDNESDAY).rep_id == "small"


def test_rules_are_tried_in_order_and_the_misses_are_kept() -> None:
    team = [Rep("a", "A", "sales")]
    routing = routing_of(team, "round_robin", when="level4", territory=Territory(regions=frozenset({"kinki"})))
    low = decide(routing, lead_input(level=2, place=Place(region="kinki")), RoutingState(), WEDNESDAY)
    assert (low.rep_id, [(m.rule_id, m.reason) for m in low.misses]) == (None, [("main", "condition")])
    outside = decide(routing, lead_input(place=Place(region="kanto")), RoutingState(), WEDNESDAY)
    assert [(m.rule_id, m.reason) for m in outside.misses] == [("main", "territory")]
    inside = decide(routing, lead_input(place=Place(region="kinki")), RoutingState(), WEDNESDAY)
    assert inside.rep_id == "a" and inside.rule_id == "main"


@pytest.mark.parametrize("pref", PREFECTURES, ids=lambda p: p.name_en)
def test_the_default_playbook_sends_level_4_kinki_leads_to_osaka_and_the_rest_to_hq(pref: object) -> None:
    routing = load_playbook(default_playbook_path()).playbook.routing
    assert routing is not None
    lead = Lead(email="k@example.co.jp", prefecture=pref.name_ja)  # type: ignore[attr-defined]
    facts = Facts(lead, Account("example.co.jp"), [], NOW, {"level": 4.0, "fit": 40.0, "engagement": 0.0})
    decision = decide(routing, RoutingInput(facts, place_of(lead, facts.account)), RoutingState(), WEDNESDAY)
    kinki = {"滋賀県", "京都府", "大阪府", "兵庫県", "奈良県", "和歌山県"}
    expected = "osaka_branch" if pref.name_ja in kinki else "hq_corporate_sales"  # type: ignore[attr-defined]
    assert decision.department == expected


def test_a_postal_code_alone_places_a_lead_in_its_prefecture_and_region() -> None:
    place = place_of(Lead(email="k@example.co.jp", postal_code="〒600-8216"), None)
    assert (place.country, place.prefecture, place.region, place.postal_code) == ("JP", "京都府", "kinki", "6008216")
    place = place_of(Lead(email="k@example.co.jp", phone="+81 6-6123-4567"), Account("x.co.jp", prefecture="大阪府"))
    assert (place.prefecture, place.phone) == ("大阪府", "0661234567")
    abroad = place_of(Lead(email="k@example.com", country="US", postal_code="94105", phone="+1 415 555 0100"), None)
    assert (abroad.prefecture, abroad.postal_code, abroad.phone) == (None, None, None)


_PHONES = [
    None,
    "",
    "06-6123-4567",
    "+81 6-6123-4567",
    "０７５－２２１－００００",
    "090-1234-5678",
    "+1 415 555 0100",
    "03",
]
_ACCOUNTS = [
    None,
    Account("a.co.jp", prefecture="大阪府"),
    Account("b.co.jp", country="US", region="West"),
    Account("c.co.jp", region="Kanto"),
    Account("d.co.jp", country="JP"),
]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([None, "JP", "US", ""]),
            st.sampled_from([None, "大阪", "Kyoto", "東京都", "nowhere"]),
            st.sampled_from([None, "〒600-8216", "530-0001", "94105", "１００－０００１"]),
            st.sampled_from(_PHONES),
            st.sampled_from(range(len(_ACCOUNTS))),
        ),
        max_size=30,
    )
)
def test_places_for_many_leads_are_where_place_of_puts_each_lead(
    profiles: list[tuple[str | None, str | None, str | None, str | None, int]],
) -> None:
    places = Places()  # shared between the leads, as routing in sets shares it
    for country, pref, postal, phone, account in profiles:
        lead = Lead(email="k@example.co.jp", country=country, prefecture=pref, postal_code=postal, phone=phone)
        assert places(lead, _ACCOUNTS[account]) == place_of(lead, _ACCOUNTS[account])


def test_a_phone_number_places_a_lead_whose_profile_and_account_say_nothing() -> None:
    places = Places()
    for phone, prefecture, region in (("06-6123-4567", "大阪府", "kinki"), ("075-221-0000", "京都府", "kinki")):
        place = places(Lead(email="k@example.co.jp", phone=phone), None)
        assert (place.country, place.prefecture, place.region) == ("JP", prefecture, region)
    mobile = places(Lead(email="k@example.co.jp", phone="090-1234-5678"), Account("c.co.jp", region="Kanto"))
    assert (mobile.country, mobile.prefecture, mobile.region, mobile.phone) == (None, None, "kanto", "09012345678")


def test_hand_raisers_go_first_then_priority_leads_each_by_when_they_qualified() -> None:
    t = [datetime(2026, 11, 25, h, tzinfo=UTC) for h in range(6)]
    items = [(1, False, False, t[0]), (2, True, False, t[3]), (3, False, True, t[1]), (4, True, True, t[2])]
    assert priority_order(items) == [4, 2, 3, 1]


BROKEN = [
    (
        "department: hq_inside_sales\n      strategy: round_robin\n  fallback",
        "department: nowhere\n      strategy: round_robin\n  fallback",
        "unknown department 'nowhere'",
    ),
    ("{id: is-yamamoto,", "{id: is-kobayashi,", "rep 'is-kobayashi' is declared twice"),
    (
        "territory: {regions: [kinki]}",
        "territory: {regions: [kinki], postal_codes: [53x-0001]}",
        "'53x-0001' is not a postal code",
    ),
    ("territory: {regions: [kinki]}", "territory: {prefectures: [Osak]}", "'Osak' is not a Japanese prefecture"),
    ("territory: {regions: [kinki]}", "territory: {regions: [kansai]}", "unknown region 'kansai'"),
    ("strategy: load_balanced", "strategy: territory", "strategy territory needs reps with a territory"),
    ("fallback: marketing", "fallback: sales", "unknown department 'sales'"),
    ("working_days: [mon, tue, wed]", "working_days: [mon, tue, wednesday]", "working_days"),
    ("capacity: 80", "capacity: -1", "greater than or equal to 0"),
]


@pytest.mark.parametrize(("old", "new", "message"), BROKEN, ids=[b[2][:30] for b in BROKEN])
def test_routing_mistakes_in_a_playbook_name_the_line(tmp_path: object, old: str, new: str, message: str) -> None:
    from leadrelay.adapters.playbook.loader import PlaybookError, parse_playbook

    text = default_playbook_path().read_text(encoding="utf-8")
    assert old in text
    broken = text.replace(old, new, 1)
    changed_line = next(
        i for i, (a, b) in enumerate(zip(text.splitlines(), broken.splitlines(), strict=False), start=1) if a != b
    )
    with pytest.raises(PlaybookError) as caught:
        parse_playbook(broken, "playbook.yaml")
    assert message in str(caught.value)
    assert caught.value.line is not None and abs(caught.value.line - changed_line) <= 2, (
        caught.value.line,
        changed_line,
    )
