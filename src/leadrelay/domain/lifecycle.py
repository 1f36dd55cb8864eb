"""The lead lifecycle as data: a table of (trigger, from stages, to stage), checked at import.

Stages are fixed codes; a playbook may rename them for display. Every move the engine makes
goes through :func:`next_stage`, so an illegal move is refused in one place.

Pre-SQL (seed 001's waterfall: MQL → Pre-SQL → SAL/SQL) is in the table for every playbook, but
only a playbook with a ``pre_sql`` section lets inside sales qualify (``pre_sql_qualified``); in any
other playbook no lead ever reaches it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from leadrelay.domain.errors import LeadRelayError


class Stage(StrEnum):
    NEW = "new"
    NURTURE = "nurture"
    MQL = "mql"
    PRE_SQL = "pre_sql"
    SAL = "sal"
    REJECTED = "rejected"
    SQL = "sql"
    OPPORTUNITY = "opportunity"
    WON = "won"
    LOST = "lost"
    RECYCLED = "recycled"
    DISQUALIFIED = "disqualified"


DEFAULT_LABELS: dict[Stage, tuple[str, str]] = {
    Stage.NEW: ("New", "新規"),
    Stage.NURTURE: ("Nurture", "ナーチャリング"),
    Stage.MQL: ("MQL", "MQL"),
    Stage.PRE_SQL: ("Pre-SQL", "Pre-SQL（IS精査済み）"),
    Stage.SAL: ("SAL", "SAL（営業受入）"),
    Stage.REJECTED: ("Rejected", "差し戻し"),
    Stage.SQL: ("SQL", "SQL"),
    Stage.OPPORTUNITY: ("Opportunity", "商談"),
    Stage.WON: ("Won", "受注"),
    Stage.LOST: ("Lost", "失注"),
    Stage.RECYCLED: ("Recycled", "リサイクル"),
    Stage.DISQUALIFIED: ("Disqualified", "対象外"),
}

#: Stages where marketing owns the lead and activities alone may move it on.
MARKETING_STAGES = frozenset({Stage.NEW, Stage.NURTURE, Stage.RECYCLED})
#: Stages a profile or playbook change may disqualify automatically.
DISQUALIFIABLE_STAGES = frozenset({Stage.NEW, Stage.NURTURE, Stage.MQL, Stage.RECYCLED})
#: Stages where a rep owes the lead an answer (accept or reject): their SLA clocks run here.
#: A Pre-SQL is not disqualified automatically: inside sales judged it (BANT) by hand.
AWAITING_ANSWER = frozenset({Stage.MQL, Stage.PRE_SQL})


class Trigger(StrEnum):
    ENGAGED = "engaged"
    QUALIFIED = "qualified"
    HAND_RAISED = "hand_raised"
    DEQUALIFIED = "dequalified"
    DISQUALIFIED = "disqualified"
    REINSTATED = "reinstated"
    PRE_SQL_QUALIFIED = "pre_sql_qualified"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    RECYCLED = "recycled"
    SALES_QUALIFIED = "sales_qualified"
    OPPORTUNITY_CREATED = "opportunity_created"
    WON = "won"
    LOST = "lost"
    WON_IMPORTED = "won_imported"
    LOST_IMPORTED = "lost_imported"


#: A closed deal imported from a CRM is a fact from outside the engine: it may close a lead
#: from any stage that is not terminal (Won). A later won deal may follow a lost one.
IMPORT_WON_FROM = frozenset(Stage) - {Stage.WON}
IMPORT_LOST_FROM = frozenset(Stage) - {Stage.WON, Stage.LOST}
#: Triggers the engine derives from activities alone; their history is re-derived when an
#: activity arrives late, so out-of-order input gives the same history as in-order input.
ACTIVITY_TRIGGERS = frozenset({Trigger.ENGAGED, Trigger.QUALIFIED, Trigger.HAND_RAISED})


@dataclass(frozen=True, slots=True)
class Move:
    trigger: Trigger
    sources: frozenset[Stage]
    target: Stage
    text: str


def _move(trigger: Trigger, sources: Iterable[Stage], target: Stage, text: str) -> Move:
    return Move(trigger, frozenset(sources), target, text)


TRANSITIONS: tuple[Move, ...] = (
    _move(Trigger.ENGAGED, [Stage.NEW], Stage.NURTURE, "first activity that does not qualify"),
    _move(Trigger.QUALIFIED, MARKETING_STAGES, Stage.MQL, "an MQL rule matched"),
    _move(Trigger.HAND_RAISED, MARKETING_STAGES, Stage.MQL, "asked for a sales conversation"),
    _move(Trigger.DEQUALIFIED, [Stage.MQL], Stage.NURTURE, "no MQL rule matches after a playbook change"),
    _move(Trigger.DISQUALIFIED, DISQUALIFIABLE_STAGES, Stage.DISQUALIFIED, "a disqualification rule matched"),
    _move(Trigger.REINSTATED, [Stage.DISQUALIFIED], Stage.NURTURE, "no disqualification rule matches any more"),
    _move(
        Trigger.PRE_SQL_QUALIFIED,
        [Stage.MQL],
        Stage.PRE_SQL,
        "inside sales checked the lead (BANT) and hands it to field sales",
    ),
    _move(Trigger.ACCEPTED, AWAITING_ANSWER, Stage.SAL, "sales accepted the lead"),
    _move(Trigger.REJECTED, AWAITING_ANSWER, Stage.REJECTED, "sales rejected the lead with a reason"),
    _move(
        Trigger.RECYCLED, [Stage.REJECTED, Stage.SAL, Stage.SQL, Stage.LOST], Stage.RECYCLED, "returned to marketing"
    ),
    _move(Trigger.SALES_QUALIFIED, [Stage.SAL], Stage.SQL, "sales qualified the lead"),
    _move(Trigger.OPPORTUNITY_CREATED, [Stage.SQL], Stage.OPPORTUNITY, "an opportunity was created"),
    _move(Trigger.WON, [Stage.OPPORTUNITY], Stage.WON, "the opportunity was won"),
    _move(Trigger.LOST, [Stage.SAL, Stage.SQL, Stage.OPPORTUNITY], Stage.LOST, "the opportunity was lost"),
    _move(Trigger.WON_IMPORTED, IMPORT_WON_FROM, Stage.WON, "a won deal was imported from a CRM"),
    _move(Trigger.LOST_IMPORTED, IMPORT_LOST_FROM, Stage.LOST, "a lost deal was imported from a CRM"),
)


def _check_table(moves: tuple[Move, ...]) -> dict[tuple[Trigger, Stage], Stage]:
    table: dict[tuple[Trigger, Stage], Stage] = {}
    for move in moves:
        if not move.sources:
            raise ValueError(f"transition {move.trigger} has no source stage")
        for source in move.sources:
            if (move.trigger, source) in table:
                raise ValueError(f"transition {move.trigger} from {source} is declared twice")
            if source == move.target:
                raise ValueError(f"transition {move.trigger} loops on {source}")
            table[(move.trigger, source)] = move.target
    reachable = {Stage.NEW}
    changed = True
    while changed:
        changed = False
        for move in moves:
            if move.sources & reachable and move.target not in reachable:
                reachable.add(move.target)
                changed = True
    missing = set(Stage) - reachable
    if missing:
        raise ValueError(f"stages unreachable from New: {sorted(missing)}")
    return table


_TABLE = _check_table(TRANSITIONS)


class IllegalTransition(LeadRelayError, ValueError):
    def __init__(self, trigger: Trigger, stage: Stage) -> None:
        allowed = sorted(s.value for (t, s) in _TABLE if t == trigger)
        super().__init__(
            f"cannot apply '{trigger.value}' to a lead in stage '{stage.value}' (allowed from: {', '.join(allowed)})"
        )
        self.trigger = trigger
        self.stage = stage
        self.allowed = tuple(allowed)  # the stages ``trigger`` may be applied from


def next_stage(stage: Stage, trigger: Trigger) -> Stage:
    """The stage ``trigger`` leads to from ``stage``, or :class:`IllegalTransition`."""
    target = _TABLE.get((trigger, stage))
    if target is None:
        raise IllegalTransition(trigger, stage)
    return target


def allowed_triggers(stage: Stage) -> list[Trigger]:
    return [t for (t, s) in _TABLE if s == stage]


def mermaid() -> str:
    """The lifecycle as a Mermaid state diagram."""
    lines = ["stateDiagram-v2", "    [*] --> new"]
    for move in TRANSITIONS:
        for source in sorted(move.sources):
            lines.append(f"    {source.value} --> {move.target.value}: {move.trigger.value}")
    return "\n".join(lines)
