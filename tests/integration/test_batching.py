"""However a stream is cut into batches and in whatever order they come, the outcome is the same.

The engine takes a shortcut for a lead whose new activities all come after everything it had
(it keeps the moves it has and walks only the new activities); these tests hold that shortcut
to the full re-derivation on the synthetic data set: every lead's stage, scores, level, MQL
decision and every stored move must be identical.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
import sqlalchemy as sa

from leadrelay import FakeClock, LeadRelay
from leadrelay.adapters.store.tables import leads, transitions
from leadrelay.entrypoints.demo.runner import demo_records
from leadrelay.entrypoints.demo.synthetic import generate
from tests.conftest import NOW

_LEAD_COLUMNS = (
    "email",
    "stage",
    "stage_at",
    "anchor_stage",
    "anchor_at",
    "level",
    "level_rule",
    "fit_score",
    "engagement_score",
    "total_score",
    "fit_passed",
    "mql_rule",
    "mql_product",
    "mql_at",
    "priority",
    "dq_rule",
    "last_activity_at",
)
_MOVE_COLUMNS = ("occurred_at", "from_stage", "to_stage", "trigger", "rule_id", "derived", "level", "activity_key")


def _outcome(relay: LeadRelay) -> tuple[dict[str, tuple[Any, ...]], list[tuple[Any, ...]]]:
    with relay.store.engine.connect() as connection:
        rows = connection.execute(sa.select(*(leads.c[c] for c in _LEAD_COLUMNS), leads.c.id)).all()
        emails = {row.id: row.email for row in rows}
        lead_rows = {row.email: tuple(_round(v) for v in row[:-1]) for row in rows}
        moves = sorted(
            (emails[row.lead_id], *(_round(v) for v in row[1:]))
            for row in connection.execute(sa.select(transitions.c.lead_id, *(transitions.c[c] for c in _MOVE_COLUMNS)))
        )
    return lead_rows, moves


def _round(value: Any) -> Any:
    return round(value, 6) if isinstance(value, float) else value


def _run(url: str, lead_records: list[dict[str, Any]], batches: list[list[dict[str, Any]]]) -> Any:
    with LeadRelay.open(url, clock=FakeClock(NOW)) as relay:
        relay.add_leads(lead_records)
        for batch in batches:
            relay.record_activities(batch)
        return _outcome(relay)


@pytest.fixture(scope="module")
def data_set() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    return demo_records(generate(seed=11, now=NOW, companies=40, people=400, days=90))


def test_the_data_set_moves_leads_so_the_comparison_means_something(data_set: Any, tmp_path: Any) -> None:
    lead_records, activity_records = data_set
    lead_rows, moves = _run(f"sqlite:///{tmp_path / 'one.db'}", lead_records, [activity_records])
    stages = {row[1] for row in lead_rows.values()}
    assert {"nurture", "mql"} <= stages
    assert any(m[4] == "qualified" for m in moves) and any(m[4] == "hand_raised" for m in moves)


@pytest.mark.parametrize("seed", [1, 2])
def test_time_ordered_small_batches_equal_one_batch(db_url: str, data_set: Any, tmp_path: Any, seed: int) -> None:
    lead_records, activity_records = data_set
    expected = _run(f"sqlite:///{tmp_path / 'one.db'}", lead_records, [activity_records])
    ordered = sorted(activity_records, key=lambda r: r["occurred_at"])
    rng = random.Random(seed)
    batches, start = [], 0
    while start < len(ordered):
        size = rng.randint(1, 120)
        batches.append(ordered[start : start + size])
        start += size
    assert _run(db_url, lead_records, batches) == expected


def test_shuffled_batches_equal_one_batch(data_set: Any, tmp_path: Any) -> None:
    lead_records, activity_records = data_set
    expected = _run(f"sqlite:///{tmp_path / 'one.db'}", lead_records, [activity_records])
    ordered = sorted(activity_records, key=lambda r: r["occurred_at"])
    # mostly in order, with every tenth record held back and sent late
    late = ordered[::10]
    on_time = [r for i, r in enumerate(ordered) if i % 10]
    batches = [on_time[i : i + 200] for i in range(0, len(on_time), 200)]
    rng = random.Random(3)
    for record in late:
        batches.insert(rng.randrange(len(batches) + 1), [record])
    assert _run(f"sqlite:///{tmp_path / 'late.db'}", lead_records, batches) == expected
