"""``rescore`` on a real database: bulk values equal the per-lead engine's, moves go through
``evaluate``, a second run changes nothing, a dry run writes nothing."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from leadrelay import FakeClock, LeadRelay
from leadrelay.adapters.playbook.loader import default_playbook_path
from leadrelay.adapters.store.tables import leads, transitions
from leadrelay.bulk import kernel
from leadrelay.domain.evaluation import assess
from leadrelay.entrypoints.demo.runner import run_demo
from tests.conftest import NOW

SIZE = {"seed": 3, "people": 400, "companies": 50, "days": 90}


def stored(relay: LeadRelay) -> dict[str, tuple[object, ...]]:
    with relay.store.engine.connect() as connection:
        rows = connection.execute(
            sa.select(
                leads.c.email,
                leads.c.fit_score,
                leads.c.engagement_score,
                leads.c.level,
                leads.c.level_rule,
                leads.c.fit_passed,
                leads.c.stage,
                leads.c.playbook_hash,
            )
        )
        return {row[0]: tuple(row[1:]) for row in rows}


def moves_count(relay: LeadRelay) -> int:
    with relay.store.engine.connect() as connection:
        return int(connection.execute(sa.select(sa.func.count()).select_from(transitions)).scalar_one())


@pytest.fixture
def demo(db_url: str) -> LeadRelay:
    relay = LeadRelay.open(db_url, clock=FakeClock(NOW))
    run_demo(relay, **SIZE)
    return relay


def stricter(tmp_path: Path) -> Path:
    text = default_playbook_path().read_text(encoding="utf-8")
    text = text.replace("op: gte, value: 60}", "op: gte, value: 25}").replace("within_days: 180\n", "within_days: 60\n")
    # inside sales takes trade-show visitors (level 1) too: fitting level 1 leads become MQLs
    text = text.replace("    owner: marketing\n", "    owner: hq_inside_sales\n")
    path = tmp_path / "changed.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_rescore_at_the_same_moment_finds_nothing_to_change(demo: LeadRelay) -> None:
    before = stored(demo)
    report = demo.rescore()
    assert report.leads_rescored == SIZE["people"]
    assert not report.changed and report.leads_written == 0 and not report.level_changes
    assert stored(demo) == before
    demo.close()


@pytest.mark.parametrize("path", ["numpy", "compiled"])
def test_rescore_after_a_playbook_change_writes_what_the_per_lead_engine_computes(
    demo: LeadRelay, tmp_path: Path, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if path == "compiled":  # every chunk through the compiled passes, however small
        monkeypatch.setattr(kernel, "MIN_ROWS", 0)
        monkeypatch.setattr(kernel, "MIN_TOTAL_ROWS", 0)
    moves_before = moves_count(demo)
    later = NOW + timedelta(days=10)
    report = demo.rescore(stricter(tmp_path), now=later)
    assert report.changed and report.leads_written == SIZE["people"]  # the new hash is on every lead
    assert report.level_moved_down > 0 and report.became_mql > 0
    assert moves_count(demo) == moves_before + report.moves
    playbook = demo.playbook().playbook
    values = stored(demo)
    with demo.store.reading() as tx:
        ids = tx.lead_ids(values)
        states = tx.lead_states(ids.values())
        accounts = tx.accounts_by_id(s.account_id for s in states.values() if s.account_id is not None)
        histories = tx.activities_of(ids.values())
    for email, lead_id in ids.items():
        state = states[lead_id]
        account = accounts.get(state.account_id) if state.account_id is not None else None
        judged = assess(state.lead, account, histories.get(lead_id, []), playbook, later)
        fit, engagement, level, level_rule, fit_passed, _stage, digest = values[email]
        assert fit == pytest.approx(judged.fit.total, abs=1e-6), email
        assert engagement == pytest.approx(judged.engagement.total, abs=1e-6), email
        assert level == (judged.level.level if judged.level else None), email
        assert level_rule == (judged.level.rule_id if judged.level else None), email
        assert bool(fit_passed) == judged.fit_passed, email
        assert digest == playbook.hash
    again = demo.rescore(now=later)
    assert not again.changed and again.moves == 0
    demo.close()


def test_dry_run_reports_the_same_and_writes_nothing(demo: LeadRelay, tmp_path: Path) -> None:
    before = stored(demo)
    moves_before = moves_count(demo)
    later = NOW + timedelta(days=10)
    dry = demo.rescore(stricter(tmp_path), dry_run=True, now=later)
    assert dry.dry_run and dry.changed
    assert stored(demo) == before and moves_count(demo) == moves_before
    assert demo.playbook().playbook.hash != dry.playbook.hash  # the file was used, not applied
    real = demo.rescore(stricter(tmp_path), now=later)
    assert (real.leads_written, real.level_changes, real.became_mql) == (
        dry.leads_written,
        dry.level_changes,
        dry.became_mql,
    )
    demo.close()
