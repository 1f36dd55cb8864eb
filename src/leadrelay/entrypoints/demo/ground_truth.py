"""What the demo simulation knows that the engine does not: the ground truth.

Per lead the generator's persona, per rep the behaviour the simulation plays, and per lead every
thing the simulation did to it and when (touches, answers with reasons, stage moves with amounts,
inside sales' re-work). Tests and reports count from it independently of the engine: the
simulation writes it as JSON next to the demo database (``leadrelay-demo.truth.json``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

__all__ = ["Action", "LeadTruth", "RepBehaviour", "SimulationTruth"]

#: What the simulation may do to a lead (``Action.what``).
ACTIONS = (
    "assigned",  # routing (or an SLA reassignment, or inside sales' handoff) gave the lead to a rep (detail: department, stage)
    "touch",  # a rep recorded a call, e-mail or meeting (detail: kind, outcome)
    "qualify",  # inside sales qualified the MQL (MQL → Pre-SQL), handed to field sales (detail: to, department, rule, path)
    "accept",  # a rep accepted the MQL or Pre-SQL (→ SAL)
    "reject",  # a rep rejected it (detail: reason)
    "sql",  # detail: path
    "opportunity",  # detail: amount (JPY), path (direct | nurture, as the dependency report defines them)
    "won",  # detail: amount (JPY)
    "lost",  # detail: lost_reason, amount (JPY)
    "recycle",  # a rep sent an SQL back to marketing: no opportunity (detail: reason)
    "recycled_idle",  # the worker's sweep sent it back to marketing: no activity for the inactive days
    "ignored",  # the rep it was given to decided never to follow it (detail: assigned_at)
    "rework_call",  # inside sales called a rejected or recycled lead (an activity, call_connected)
    "rework_bant",  # ... and collected BANT (an activity, bant_collected): it qualifies again
)

#: What shows a rep followed a lead given to them.
ANSWERS = ("touch", "accept", "reject", "qualify")


@dataclass(frozen=True, slots=True)
class RepBehaviour:
    """How one rep works in the simulation. Delays are business minutes on the department's
    calendar, drawn uniformly on a log scale between the two bounds."""

    rep_id: str
    department: str
    pace: str  # fast | steady | slow
    touch_minutes: tuple[float, float]  # assignment → first touch
    answer_minutes: tuple[float, float]  # first touch → accept or reject
    follows: float  # share of the leads given to them that they follow at all
    accepts: float  # share of followed leads they accept (the rest they reject with a reason)
    keeps_up: float  # share of accepted leads they keep working (the rest go idle and are recycled)
    working_days: tuple[int, ...] = (0, 1, 2, 3, 4)  # Monday = 0
    away: tuple[date, date] | None = None  # on leave (set via the API: routing skips them)


@dataclass(frozen=True, slots=True)
class Action:
    at: datetime
    what: str  # one of ACTIONS
    rep: str | None
    detail: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class LeadTruth:
    email: str
    persona: str
    actions: list[Action] = field(default_factory=list)
    reworked: bool = False  # inside sales re-worked it after a rejection or a recycle

    def first(self, what: str) -> Action | None:
        return next((a for a in self.actions if a.what == what), None)

    @property
    def first_touch_at(self) -> datetime | None:
        touch = self.first("touch")
        return touch.at if touch else None

    @property
    def never_followed(self) -> bool:
        """Its last assignment went to a rep who ignored it, and nobody touched or answered it since."""
        last = next((i for i in range(len(self.actions) - 1, -1, -1) if self.actions[i].what == "assigned"), None)
        after = self.actions[last:] if last is not None else []
        return any(a.what == "ignored" for a in after) and not any(a.what in ANSWERS for a in after)

    @property
    def won_amount(self) -> int | None:
        won = self.first("won")
        return int(won.detail["amount"]) if won else None


@dataclass(slots=True)
class SimulationTruth:
    seed: int
    start: datetime
    end: datetime
    reps: dict[str, RepBehaviour]
    leads: dict[str, LeadTruth]  # by e-mail, every lead of the data set

    def count(self, what: str) -> int:
        """How many times the simulation did ``what`` (see :data:`ACTIONS`)."""
        return sum(1 for lead in self.leads.values() for a in lead.actions if a.what == what)

    def as_json(self) -> dict[str, Any]:
        def moment(value: datetime) -> str:
            return value.isoformat()

        return {
            "seed": self.seed,
            "start": moment(self.start),
            "end": moment(self.end),
            "reps": {
                rep_id: {
                    **{k: v for k, v in asdict(b).items() if k != "away"},
                    "away": [b.away[0].isoformat(), b.away[1].isoformat()] if b.away else None,
                }
                for rep_id, b in self.reps.items()
            },
            "leads": {
                email: {
                    "persona": lead.persona,
                    "reworked": lead.reworked,
                    "never_followed": lead.never_followed,
                    "first_touch_at": moment(lead.first_touch_at) if lead.first_touch_at else None,
                    "won_amount": lead.won_amount,
                    "actions": [
                        {"at": moment(a.at), "what": a.what, "rep": a.rep, **({"detail": a.detail} if a.detail else {})}
                        for a in lead.actions
                    ],
                }
                for email, lead in self.leads.items()
            },
        }

    def write(self, path: Path) -> None:
        """Write the truth as JSON (UTF-8, keys in a fixed order): same run, same bytes."""
        text = json.dumps(self.as_json(), ensure_ascii=False, indent=1)
        path.write_text(text + "\n", encoding="utf-8")
