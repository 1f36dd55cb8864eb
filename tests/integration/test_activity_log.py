"""The columnar activity log on a real database: a rescore that reads it computes exactly what a
rescore that reads the table computes — after a full build, after new activities (a new segment,
or rows above the watermark the log has not taken in yet), after an erasure (the person's old
properties leave the files), after damage (checksums) and after a process was killed while
writing it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from leadrelay import FakeClock, LeadRelay
from leadrelay.adapters.files.activity_log import ActivityLog, ActivityLogError
from leadrelay.adapters.store.bulk_io import LeadTable
from leadrelay.adapters.store.tables import activities, leads
from leadrelay.domain.playbook import Playbook
from leadrelay.entrypoints.demo.runner import run_demo
from leadrelay.services.activity_log import default_folder, refresh
from leadrelay.services.rescore import _Tally, _Totals, compute
from tests.conftest import NOW

SIZE = {"seed": 5, "people": 150, "companies": 30, "days": 60}
LATER = NOW + timedelta(days=3)
SECRET_PAGE = "/thanks?name=yamada-taro-private"


@pytest.fixture
def demo(db_url: str) -> LeadRelay:
    relay = LeadRelay.open(db_url, clock=FakeClock(NOW))
    run_demo(relay, **SIZE)
    return relay


def judged(relay: LeadRelay, log: Path | None, now: datetime = LATER) -> tuple[LeadTable, _Totals]:
    playbook: Playbook = relay.playbook().playbook
    with relay.store.reading() as tx:
        return compute(tx, playbook, now, _Tally(now, True), log)


def assert_same(relay: LeadRelay, log: Path) -> None:
    """The log path and the table path give the same judgement of every lead."""
    table_a, from_log = judged(relay, log)
    table_b, from_table = judged(relay, None)
    assert np.array_equal(table_a.ids, table_b.ids)
    assert float(from_table.engagement.sum()) > 0, "the demo has engagement to compare"
    for name in ("fit", "engagement", "total"):
        assert np.allclose(getattr(from_log, name), getattr(from_table, name), rtol=0, atol=1e-9), name
    for name in ("level", "level_rule", "fit_passed", "dq", "mql", "hand_raise"):
        assert np.array_equal(getattr(from_log, name), getattr(from_table, name)), name


def count_activities(relay: LeadRelay) -> int:
    with relay.store.reading() as tx:
        return int(tx.execute(sa.select(sa.func.count()).select_from(activities)).scalar_one())


def some_emails(relay: LeadRelay, count: int) -> list[str]:
    with relay.store.reading() as tx:
        query = sa.select(leads.c.email).where(leads.c.email.is_not(None)).order_by(leads.c.id).limit(count)
        return list(tx.execute(query).scalars())


def test_a_rescore_from_the_log_judges_every_lead_as_one_from_the_table(demo: LeadRelay, tmp_path: Path) -> None:
    folder = tmp_path / "log"
    status = refresh(demo.store, folder)
    assert status.rebuilt and status.rows == count_activities(demo) and status.segments == 1
    assert_same(demo, folder)
    again = refresh(demo.store, folder)
    assert (again.rebuilt, again.added, again.rows) == (False, 0, status.rows)
    demo.close()


def test_new_activities_become_a_segment_and_rows_above_the_watermark_are_read_from_the_table(
    demo: LeadRelay, tmp_path: Path
) -> None:
    folder = tmp_path / "log"
    refresh(demo.store, folder)
    emails = some_emails(demo, 5)
    stamp = (NOW - timedelta(hours=2)).isoformat()
    demo.record_activities(
        [
            {"email": e, "type": "page_viewed", "occurred_at": stamp, "properties": {"page_kind": "pricing"}}
            for e in emails
        ]
    )
    assert_same(demo, folder)  # not refreshed: the five rows come from the table beside the log
    status = refresh(demo.store, folder)
    assert (status.added, status.segments, status.rebuilt) == (5, 2, False)
    assert status.rows == count_activities(demo)
    assert_same(demo, folder)
    demo.close()


def test_an_erasure_takes_the_persons_old_properties_out_of_the_log(demo: LeadRelay, tmp_path: Path) -> None:
    (email,) = some_emails(demo, 1)
    stamp = (NOW - timedelta(hours=1)).isoformat()
    demo.record_activity(email=email, type="page_viewed", occurred_at=stamp, properties={"url": SECRET_PAGE})
    folder = tmp_path / "log"
    refresh(demo.store, folder)
    assert any(SECRET_PAGE.encode() in path.read_bytes() for path in folder.iterdir())
    demo.erase(email)
    assert_same(demo, folder)  # before the refresh: the erased lead's rows come from the table
    status = refresh(demo.store, folder)
    assert status.erased_leads_rewritten == 1 and status.segments == 1
    assert not any(SECRET_PAGE.encode() in path.read_bytes() for path in folder.iterdir())
    assert_same(demo, folder)
    demo.close()


def test_a_damaged_segment_fails_its_checksum_and_the_rescore_rebuilds_the_log(demo: LeadRelay, tmp_path: Path) -> None:
    folder = tmp_path / "log"
    refresh(demo.store, folder)
    expected = judged(demo, None)[1]
    (times,) = folder.glob("seg-*.at")
    data = bytearray(times.read_bytes())
    data[len(data) // 2] ^= 0x40  # one bit of one activity's time
    times.write_bytes(bytes(data))
    with pytest.raises(ActivityLogError, match="checksums"):
        judged(demo, folder)
    later = NOW + timedelta(days=1)
    report = demo.rescore(now=later) if default_folder(demo.store.engine.url) == folder else None
    if report is None:  # the relay's own log is elsewhere: rescore through this folder directly
        from leadrelay.services.rescore import rescore

        rescore(demo.store, demo.playbook().playbook, later, dry_run=True, log=folder)
    assert not list(folder.glob(times.name)), "the damaged segment was replaced"
    assert np.allclose(judged(demo, folder)[1].engagement, expected.engagement, rtol=0, atol=1e-9)
    demo.close()


def test_leftovers_of_a_write_that_died_are_swept_and_a_torn_manifest_is_rebuilt(
    demo: LeadRelay, tmp_path: Path
) -> None:
    folder = tmp_path / "log"
    refresh(demo.store, folder)
    (folder / "seg-deadbeef00000000.lead").write_bytes(b"\0" * 12)  # a segment no manifest names
    (folder / ".manifest.json.abcd").write_text("{", encoding="utf-8")  # a manifest not renamed yet
    emails = some_emails(demo, 2)
    demo.record_activities([{"email": e, "type": "email_clicked", "occurred_at": NOW.isoformat()} for e in emails])
    status = refresh(demo.store, folder)
    assert not status.rebuilt and status.added == 2
    assert sorted(p.name for p in folder.iterdir() if "deadbeef" in p.name or p.name.startswith(".")) == []
    manifest = folder / "manifest.json"
    manifest.write_text(manifest.read_text(encoding="utf-8")[:40], encoding="utf-8")  # torn
    status = refresh(demo.store, folder)
    assert status.rebuilt and status.rows == count_activities(demo)
    assert_same(demo, folder)
    demo.close()


def test_a_log_of_another_database_at_the_same_folder_is_not_used(db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "log"
    with LeadRelay.open(db_url, clock=FakeClock(NOW)) as first:
        run_demo(first, **SIZE)
        refresh(first.store, folder)
        manifest = ActivityLog(folder).manifest()
    # the same watermark id, another row there: a database made again at the same path
    text = (folder / "manifest.json").read_text(encoding="utf-8")
    (folder / "manifest.json").write_text(
        text.replace(f'"watermark_key": "{manifest.watermark_key}"', '"watermark_key": "another"'), encoding="utf-8"
    )
    with LeadRelay.open(db_url, clock=FakeClock(NOW)) as relay:
        status = refresh(relay.store, folder)
        assert status.rebuilt
        assert_same(relay, folder)


_KILLED_BUILD = """
import sys
from pathlib import Path
from leadrelay import LeadRelay
from leadrelay.services.activity_log import refresh
with LeadRelay.open(sys.argv[1]) as relay:
    print("ready", flush=True)
    while True:  # build, then build again from nothing, until killed
        refresh(relay.store, Path(sys.argv[2]))
        for path in Path(sys.argv[2]).iterdir():
            path.unlink()
"""


@pytest.mark.parametrize("delay", [0.05, 0.2, 0.6, 1.5])
def test_a_build_killed_at_any_moment_leaves_a_log_that_refreshes_to_the_table(
    demo: LeadRelay, tmp_path: Path, delay: float
) -> None:
    folder = tmp_path / "log"
    url = str(demo.store.engine.url.render_as_string(hide_password=False))
    process = subprocess.Popen(
        [sys.executable, "-c", _KILLED_BUILD, url, str(folder)],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert process.stdout is not None and process.stdout.readline().strip() == b"ready"
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=30) == -signal.SIGKILL
    process.stdout.close()
    status = refresh(demo.store, folder)
    assert status.rows == count_activities(demo)
    assert not [p for p in folder.iterdir() if p.name.startswith(".")], "no spill or manifest left behind"
    assert_same(demo, folder)
    demo.close()
