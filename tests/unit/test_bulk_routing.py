"""Routing in sets (``bulk.routing.decide_many``) decides exactly what ``decide`` decides lead by
lead — rule, rep, reason, every rep passed over and every rule missed — and leaves the same turns,
clocks and open leads, over random plans (every strategy, capacities, weights, territories,
segments, named accounts, absences), random leads and random starting counters."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from leadrelay.bulk.routing import decide_many
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
)

WEDNESDAY = date(2026, 11, 25)
NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
PREFECTURES = ["東京都", "大阪府", "京都府", "北海道"]
REGIONS = {"東京都": "kanto", "大阪府": "kinki", "京都府": "kinki", "北海道": "hokkaido"}
INDUSTRIES = ["it", "manufacturing", "finance"]
STRATEGY_NAMES = ["round_robin", "weighted", "load_balanced", "named_account", "territory", "segment"]
CONDITIONS = [
    None,
    {"field": "level", "op": "gte", "value": 3},
    {"field": "score.total", "op": "gte", "value": 50},
    {"field": "account.employees", "op": "gte", "value": 300},
    {"any": [{"field": "account.tier", "op": "eq", "value": "named"}, {"field": "level", "op": "eq", "value": 4}]},
    {
        "all": [
            {"field": "level", "op": "gte", "value": 2},
            {"not": {"field": "lead.custom.flag", "op": "eq", "value": 1}},
        ]
    },
    {"field": "lead.custom.flag", "op": "eq", "value": True},
    {"field": "lead.custom.flag", "op": "in", "value": ["yes", "1"]},
]
#: custom values that are equal as keys but not as inputs (1, 1.0, True), text, and a list (no key)
FLAGS = [None, True, False, 1, 1.0, 0, "1", "yes", "x", [1]]


@st.composite
def reps_of(draw: st.DrawFn, department: str, count: int, domains: list[str]) -> list[Rep]:
    reps = []
    for i in range(count):
        rep_id = f"{department}-{i}"
        absent = draw(st.booleans()) and draw(st.booleans())
        reps.append(
            Rep(
                id=rep_id,
                name=f"Rep {department} {i}",
                department=department,
                email=f"{rep_id}@example.co.jp",
                capacity=draw(st.none() | st.integers(0, 6)),
                weight=draw(st.sampled_from([0.5, 1.0, 2.0, 3.0])),
                territory=draw(
                    st.none()
                    | st.builds(
                        lambda p, r, a: Territory(prefectures=frozenset(p), regions=frozenset(r), area_codes=a),
                        st.sets(st.sampled_from(PREFECTURES), max_size=2),
                        st.sets(st.sampled_from(sorted(set(REGIONS.values()))), max_size=1),
                        st.sampled_from([(), ("03",), ("066", "075")]),
                    )
                ),
                named_accounts=frozenset(draw(st.sets(st.sampled_from(domains), max_size=2))),
                segment=draw(
                    st.none()
                    | st.builds(
                        lambda low, industries: Segment(min_employees=low, industries=frozenset(industries)),
                        st.sampled_from([None, 100, 1000]),
                        st.sets(st.sampled_from(INDUSTRIES), max_size=2),
                    )
                ),
                absences=(Absence(date(2026, 11, 20), date(2026, 11, 30)),) if absent else (),
                active=draw(st.integers(0, 9)) > 0,
            )
        )
    return reps


@st.composite
def plans(draw: st.DrawFn) -> tuple[Routing, list[Account]]:
    domains = [f"co{i}.example.co.jp" for i in range(6)]
    accounts = [
        Account(
            domain=d,
            industry=draw(st.sampled_from([None, *INDUSTRIES])),
            employees=draw(st.sampled_from([None, 20, 300, 5000])),
            tier=draw(st.sampled_from([None, "named", "target"])),
            owner=draw(st.sampled_from([None, "a-0", "b-1", "c-0"])),
        )
        for d in domains
    ]
    departments = {"queue": Department("queue", "Queue", "キュー")}
    reps: dict[str, Rep] = {}
    for name in ("a", "b", "c"):
        members = draw(reps_of(name, draw(st.integers(1, 5)), domains))
        reps |= {r.id: r for r in members}
        departments[name] = Department(name, name.upper(), name, tuple(r.id for r in members))
    rules = []
    for i in range(draw(st.integers(1, 5))):
        when = draw(st.sampled_from(CONDITIONS))
        condition = ALWAYS if when is None else parse_condition(when, "lead")
        territory = draw(
            st.none() | st.just(Territory(regions=frozenset({"kinki"}))) | st.just(Territory(area_codes=("06",)))
        )
        rules.append(
            RoutingRule(
                f"r{i}",
                f"Rule {i}",
                condition,
                draw(st.sampled_from(["a", "b", "c"])),
                draw(st.sampled_from(STRATEGY_NAMES)),
                territory,
            )
        )
    return Routing(departments, reps, tuple(rules), "queue"), accounts


@st.composite
def leads_for(draw: st.DrawFn, accounts: list[Account]) -> list[RoutingInput]:
    out = []
    for n in range(draw(st.integers(0, 60))):
        account = draw(st.none() | st.sampled_from(accounts))
        prefecture = draw(st.none() | st.sampled_from(PREFECTURES))
        phone = draw(st.sampled_from([None, "0312345678", "0661234567", "0751234567", "0669999999"]))
        place = Place("JP", prefecture, REGIONS.get(prefecture or ""), None, phone)
        level = draw(st.integers(0, 4))
        scores = {"level": float(level), "fit": 0.0, "engagement": 0.0, "total": float(draw(st.integers(0, 100)))}
        custom = {"flag": draw(st.sampled_from(FLAGS))}
        facts = Facts(Lead(email=f"p{n}@example.co.jp", custom=custom), account, [], NOW, scores)
        exclude = frozenset(draw(st.sets(st.sampled_from(["a-0", "b-0", "c-1"]), max_size=1)))
        owners = tuple(draw(st.sampled_from([(), (), ("a",), ("b", "c")])))
        out.append(RoutingInput(facts, place, exclude, owners))
    return out


@st.composite
def cases(draw: st.DrawFn) -> tuple[Routing, list[RoutingInput], RoutingState]:
    routing, accounts = draw(plans())
    leads = draw(leads_for(accounts))
    state = RoutingState()
    for rep_id in routing.reps:
        if draw(st.booleans()):
            state.passes[rep_id] = draw(st.sampled_from([0.0, 0.5, 1.0, 2.5]))
        if draw(st.booleans()):
            state.open_leads[rep_id] = draw(st.integers(0, 5))
    for department in ("a", "b", "c"):
        if draw(st.booleans()):
            state.clocks[department] = draw(st.sampled_from([0.0, 1.0, 3.0]))
    return routing, leads, state


@settings(max_examples=150, deadline=None)
@given(case=cases())
def test_routing_in_sets_decides_what_routing_one_by_one_decides(
    case: tuple[Routing, list[RoutingInput], RoutingState],
) -> None:
    routing, leads, state = case
    one_by_one = copy.deepcopy(state)
    expected = [decide(routing, lead, one_by_one, WEDNESDAY) for lead in leads]
    in_sets = copy.deepcopy(state)
    assert decide_many(routing, leads, in_sets, WEDNESDAY) == expected
    assert (in_sets.passes, in_sets.clocks, in_sets.open_leads) == (
        one_by_one.passes,
        one_by_one.clocks,
        one_by_one.open_leads,
    )
    assert (in_sets.touched_reps, in_sets.touched_departments) == (
        one_by_one.touched_reps,
        one_by_one.touched_departments,
    )


def test_round_robin_in_sets_hands_out_leads_in_turn_and_respects_capacity() -> None:
    reps = [Rep(f"r{i}", f"Rep {i}", "sales", capacity=3 if i == 0 else None) for i in range(3)]
    routing = Routing(
        {
            "sales": Department("sales", "Sales", "営業", tuple(r.id for r in reps)),
            "queue": Department("queue", "Q", "Q"),
        },
        {r.id: r for r in reps},
        (RoutingRule("main", "Main", ALWAYS, "sales", "round_robin"),),
        "queue",
    )
    facts = Facts(Lead(email="x@example.co.jp"), None, [], NOW, {"level": 4.0})
    decisions = decide_many(routing, [RoutingInput(facts, Place())] * 12, RoutingState(), WEDNESDAY)
    # r0, r1, r2 in turn until r0 holds its 3; then r1 and r2 alternate (written out by hand)
    assert [d.rep_id for d in decisions] == ["r0", "r1", "r2"] * 3 + ["r1", "r2", "r1"]
    assert (decisions[9].passed_over[0].rep_id, decisions[9].passed_over[0].detail) == ("r0", "3/3")
    assert decisions[9].passed_over[0].reason == "at_capacity"
    assert decisions[0].reason == "Main: Rep 0 (round robin)"
