"""The lifecycle table: one test per row, every other move refused, the table checked when defined."""

from __future__ import annotations

import pytest

from leadrelay.domain.lifecycle import (
    TRANSITIONS,
    IllegalTransition,
    Move,
    Stage,
    Trigger,
    _check_table,
    _move,
    allowed_triggers,
    mermaid,
    next_stage,
)

ROWS = [(move.trigger, source, move.target) for move in TRANSITIONS for source in sorted(move.sources)]
LEGAL = {(trigger, source) for trigger, source, _ in ROWS}
ILLEGAL = [(trigger, stage) for trigger in Trigger for stage in Stage if (trigger, stage) not in LEGAL]


#: The lifecycle as the product specifies it, written out row by row.
EXPECTED_ROWS = [
    (Trigger.ENGAGED, Stage.NEW, Stage.NURTURE),
    (Trigger.QUALIFIED, Stage.NEW, Stage.MQL),
    (Trigger.QUALIFIED, Stage.NURTURE, Stage.MQL),
    (Trigger.QUALIFIED, Stage.RECYCLED, Stage.MQL),
    (Trigger.HAND_RAISED, Stage.NEW, Stage.MQL),
    (Trigger.HAND_RAISED, Stage.NURTURE, Stage.MQL),
    (Trigger.HAND_RAISED, Stage.RECYCLED, Stage.MQL),
    (Trigger.DEQUALIFIED, Stage.MQL, Stage.NURTURE),
    (Trigger.DISQUALIFIED, Stage.NEW, Stage.DISQUALIFIED),
    (Trigger.DISQUALIFIED, Stage.NURTURE, Stage.DISQUALIFIED),
    (Trigger.DISQUALIFIED, Stage.MQL, Stage.DISQUALIFIED),
    (Trigger.DISQUALIFIED, Stage.RECYCLED, Stage.DISQUALIFIED),
    (Trigger.REINSTATED, Stage.DISQUALIFIED, Stage.NURTURE),
    (Trigger.ACCEPTED, Stage.MQL, Stage.SAL),
    (Trigger.REJECTED, Stage.MQL, Stage.REJECTED),
    # Pre-SQL (seed 001): inside sales qualifies an MQL; field sales accepts or rejects the Pre-SQL
    (Trigger.PRE_SQL_QUALIFIED, Stage.MQL, Stage.PRE_SQL),
    (Trigger.ACCEPTED, Stage.PRE_SQL, Stage.SAL),
    (Trigger.REJECTED, Stage.PRE_SQL, Stage.REJECTED),
    (Trigger.RECYCLED, Stage.REJECTED, Stage.RECYCLED),
    (Trigger.RECYCLED, Stage.SAL, Stage.RECYCLED),
    (Trigger.RECYCLED, Stage.SQL, Stage.RECYCLED),
    (Trigger.RECYCLED, Stage.LOST, Stage.RECYCLED),
    (Trigger.SALES_QUALIFIED, Stage.SAL, Stage.SQL),
    (Trigger.OPPORTUNITY_CREATED, Stage.SQL, Stage.OPPORTUNITY),
    (Trigger.WON, Stage.OPPORTUNITY, Stage.WON),
    (Trigger.LOST, Stage.SAL, Stage.LOST),
    (Trigger.LOST, Stage.SQL, Stage.LOST),
    (Trigger.LOST, Stage.OPPORTUNITY, Stage.LOST),
    # a closed deal imported from a CRM closes the lead from any stage but Won
    *[(Trigger.WON_IMPORTED, s, Stage.WON) for s in Stage if s != Stage.WON],
    *[(Trigger.LOST_IMPORTED, s, Stage.LOST) for s in Stage if s not in (Stage.WON, Stage.LOST)],
]


@pytest.mark.parametrize(("trigger", "source", "target"), EXPECTED_ROWS)
def test_each_row_of_the_table_moves_the_lead(trigger: Trigger, source: Stage, target: Stage) -> None:
    assert next_stage(source, trigger) == target


def test_the_table_holds_exactly_the_specified_rows() -> None:
    assert sorted(ROWS) == sorted(EXPECTED_ROWS)


@pytest.mark.parametrize(("trigger", "stage"), ILLEGAL, ids=[f"{t.value}-from-{s.value}" for t, s in ILLEGAL])
def test_every_move_not_in_the_table_is_refused(trigger: Trigger, stage: Stage) -> None:
    with pytest.raises(IllegalTransition) as caught:
        next_stage(stage, trigger)

    assert caught.value.trigger == trigger
    assert caught.value.stage == stage
    assert f"'{trigger.value}'" in str(caught.value)
    assert f"stage '{stage.value}'" in str(caught.value)


def test_refusal_names_the_stages_the_trigger_is_allowed_from() -> None:
    with pytest.raises(
        IllegalTransition, match=r"^cannot apply 'won' to a lead in stage 'new' \(allowed from: opportunity\)$"
    ):
        next_stage(Stage.NEW, Trigger.WON)


def test_won_and_disqualified_leads_only_leave_by_their_own_triggers() -> None:
    assert allowed_triggers(Stage.WON) == []
    assert allowed_triggers(Stage.DISQUALIFIED) == [
        Trigger.REINSTATED,
        Trigger.WON_IMPORTED,
        Trigger.LOST_IMPORTED,
    ]
    assert set(allowed_triggers(Stage.MQL)) == {
        Trigger.DEQUALIFIED,
        Trigger.DISQUALIFIED,
        Trigger.PRE_SQL_QUALIFIED,
        Trigger.ACCEPTED,
        Trigger.REJECTED,
        Trigger.WON_IMPORTED,
        Trigger.LOST_IMPORTED,
    }


def test_a_pre_sql_is_answered_by_field_sales_and_never_moved_by_marketing_rules() -> None:
    # accept or reject (or a closed deal from a CRM); no activity, recycle or disqualification moves it
    assert set(allowed_triggers(Stage.PRE_SQL)) == {
        Trigger.ACCEPTED,
        Trigger.REJECTED,
        Trigger.WON_IMPORTED,
        Trigger.LOST_IMPORTED,
    }
    for trigger in (Trigger.QUALIFIED, Trigger.DEQUALIFIED, Trigger.DISQUALIFIED, Trigger.RECYCLED):
        with pytest.raises(IllegalTransition):
            next_stage(Stage.PRE_SQL, trigger)


def test_only_an_mql_is_qualified_to_pre_sql_not_a_lead_sales_already_accepted() -> None:
    assert next_stage(Stage.MQL, Trigger.PRE_SQL_QUALIFIED) == Stage.PRE_SQL
    with pytest.raises(
        IllegalTransition, match=r"^cannot apply 'pre_sql_qualified' to a lead in stage 'sal' \(allowed from: mql\)$"
    ):
        next_stage(Stage.SAL, Trigger.PRE_SQL_QUALIFIED)


def test_an_imported_deal_closes_a_lead_from_any_open_stage_but_never_reopens_a_won_one() -> None:
    for stage in Stage:
        if stage != Stage.WON:
            assert next_stage(stage, Trigger.WON_IMPORTED) == Stage.WON
    with pytest.raises(IllegalTransition):
        next_stage(Stage.WON, Trigger.LOST_IMPORTED)
    with pytest.raises(IllegalTransition):
        next_stage(Stage.LOST, Trigger.LOST_IMPORTED)


def test_check_table_refuses_a_duplicate_row() -> None:
    moves = (
        *TRANSITIONS,
        _move(Trigger.ENGAGED, [Stage.NEW], Stage.MQL, "a second engaged move from new"),
    )
    with pytest.raises(ValueError, match="transition engaged from new is declared twice"):
        _check_table(moves)


def test_check_table_refuses_a_loop() -> None:
    moves = (*TRANSITIONS, _move(Trigger.ACCEPTED, [Stage.SAL], Stage.SAL, "accepted again"))
    with pytest.raises(ValueError, match="transition accepted loops on sal"):
        _check_table(moves)


def test_check_table_refuses_a_move_without_source() -> None:
    moves = (*TRANSITIONS, Move(Trigger.WON, frozenset(), Stage.WON, "from nowhere"))
    with pytest.raises(ValueError, match="transition won has no source stage"):
        _check_table(moves)


def test_check_table_refuses_an_unreachable_stage() -> None:
    moves = tuple(m for m in TRANSITIONS if m.trigger not in (Trigger.WON, Trigger.WON_IMPORTED))
    with pytest.raises(ValueError, match=r"stages unreachable from New: \[<Stage.WON: 'won'>\]"):
        _check_table(moves)


def test_check_table_accepts_the_real_table() -> None:
    table = _check_table(TRANSITIONS)
    assert len(table) == 28 + 11 + 10  # the rows, won imported from 11 stages, lost from 10
    assert table[(Trigger.ACCEPTED, Stage.MQL)] == Stage.SAL


def test_mermaid_draws_every_transition() -> None:
    diagram = mermaid().splitlines()

    assert diagram[:2] == ["stateDiagram-v2", "    [*] --> new"]
    for trigger, source, target in ROWS:
        assert f"    {source.value} --> {target.value}: {trigger.value}" in diagram
    assert len(diagram) == 2 + len(ROWS)
