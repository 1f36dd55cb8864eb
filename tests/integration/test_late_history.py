"""Late history (issue: "never wrong, never twice"): whatever order and batching a lead's facts arrive
in, its stage history, its final state and the notifications it causes are those of the in-order run;
replaced derived moves are kept as corrections with their reason."""

from __future__ import annotations

import random
import tempfile
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadrelay import FakeClock, LeadRelay
from leadrelay.adapters.store import summaries
from leadrelay.adapters.store.tables import leads, outbox, transition_corrections, transitions
from tests.conftest import NOW

EMAIL = "k@sakura-mfg.co.jp"
PROFILE = {
    "email": EMAIL,
    "title": "部長",
    "seniority": "manager",
    "country": "JP",
    "prefecture": "東京都",
    "company": {"name": "さくら製作所", "industry": "manufacturing", "employees": 800},
}

#: what a lead may do (no negative points: a late unsubscribe cannot take back a handoff, by design)
KINDS: list[tuple[str, dict[str, Any]]] = [
    ("page_viewed", {"page_kind": "pricing"}),
    ("page_viewed", {"page_kind": "service"}),
    ("email_opened", {"kind": "newsletter"}),
    ("email_opened", {"kind": "document_delivery"}),
    ("document_downloaded", {}),
    ("webinar_registered", {}),
    ("webinar_attended", {}),
    ("trade_show_visited", {}),
    ("booth_visited", {"detailed_talk": False}),
    ("demo_requested", {}),
]


def activity(kind: int, hours_ago: int) -> dict[str, Any]:
    type_, properties = KINDS[kind]
    return {
        "email": EMAIL,
        "type": type_,
        "occurred_at": (NOW - timedelta(hours=hours_ago)).isoformat(),
        "properties": properties,
        "source_id": f"{type_}-{hours_ago}",
    }


def outcome(url: str) -> tuple[Any, ...]:
    """What a user sees of the lead: its state, its history and every message it caused."""
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        state = connection.execute(
            sa.select(
                leads.c.stage,
                leads.c.level,
                leads.c.mql_rule,
                leads.c.mql_at,
                leads.c.owner_rep,
                leads.c.owner_department,
            )
        ).one()
        history = connection.execute(
            sa.select(
                transitions.c.from_stage,
                transitions.c.to_stage,
                transitions.c.trigger,
                transitions.c.occurred_at,
                transitions.c.rule_id,
                sa.func.round(transitions.c.score, 6),
            ).order_by(transitions.c.occurred_at, transitions.c.id)
        ).all()
        messages = sorted(connection.execute(sa.select(outbox.c.key, outbox.c.event, outbox.c.recipient)).all())
    engine.dispose()
    return tuple(state), history, messages


def run(folder: Path, name: str, batches: Sequence[Sequence[dict[str, Any]]], profile_after: int = 0) -> str:
    """Record the batches in order; the profile before batch number ``profile_after``."""
    url = f"sqlite:///{folder / name}.db"
    with LeadRelay.open(url, clock=FakeClock(NOW)) as relay:
        for number, batch in enumerate(batches):
            if number == profile_after:
                relay.add_leads([PROFILE])
            relay.record_activities(list(batch))
        if profile_after >= len(batches):
            relay.add_leads([PROFILE])
    return url


facts = st.lists(
    st.tuples(st.integers(0, len(KINDS) - 1), st.integers(1, 24 * 60)), min_size=1, max_size=7, unique_by=lambda f: f[1]
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items=facts, seed=st.integers(0, 2**32 - 1), cuts=st.integers(1, 4), profile_after=st.integers(0, 2))
def test_any_order_and_batching_gives_the_in_order_history_state_and_notices(
    items: list[tuple[int, int]], seed: int, cuts: int, profile_after: int
) -> None:
    records = [activity(kind, hours) for kind, hours in items]
    in_order = sorted(records, key=lambda r: r["occurred_at"])
    shuffled = list(records)
    rng = random.Random(seed)
    rng.shuffle(shuffled)
    points = sorted(rng.sample(range(1, len(shuffled)), min(cuts, len(shuffled) - 1))) if len(shuffled) > 1 else []
    batches = [shuffled[a:b] for a, b in zip([0, *points], [*points, len(shuffled)], strict=True)]
    with tempfile.TemporaryDirectory() as folder:
        expected = outcome(run(Path(folder), "in-order", [in_order]))
        got = outcome(run(Path(folder), "shuffled", batches, profile_after=min(profile_after, len(batches))))
    assert got == expected


def test_the_reproduction_moves_once_notifies_once_and_keeps_the_corrections(tmp_path: Path) -> None:
    """The issue's reproduction: a page view, the profile, then older activities one by one."""
    url = f"sqlite:///{tmp_path / 'x.db'}"
    at = ["2026-11-30T01:00:00Z", "2026-11-02T01:00:00Z", "2026-11-01T01:00:00Z", "2026-10-01T01:00:00Z"]
    kinds = ["page_viewed", "demo_requested", "page_viewed", "email_opened"]
    printed = []
    with LeadRelay.open(url, clock=FakeClock(NOW.replace(month=12, day=1))) as relay:
        for number, (moment, type_) in enumerate(zip(at, kinds, strict=True)):
            result = relay.record_activities([{"email": EMAIL, "type": type_, "occurred_at": moment}])
            printed += [(m.from_stage, m.to_stage) for m in result.moves]
            if number == 0:
                relay.add_leads([PROFILE])
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        moves = connection.execute(sa.select(transitions.c.from_stage, transitions.c.to_stage)).all()
        hand_raiser = connection.execute(
            sa.select(sa.func.count()).select_from(outbox).where(outbox.c.event == "hand_raiser")
        ).scalar_one()
        corrections = connection.execute(sa.select(transition_corrections.c.correction)).scalars().all()
        # the moves the late activities replaced left the summaries as a recount from the facts gives them
        loops = summaries.stored(connection, summaries.LOOPS)
        assert len(loops) == 1 and loops == summaries.recount(connection, summaries.LOOPS)
    engine.dispose()
    assert [tuple(m) for m in moves] == [("new", "nurture"), ("nurture", "mql")]  # as if sent in order
    assert printed.count(("nurture", "mql")) + printed.count(("new", "mql")) == 1  # announced once
    assert hand_raiser == 3  # rep, manager and the sales chat: once each
    assert corrections and all("arrived late" in c or "profile changed" in c for c in corrections)
