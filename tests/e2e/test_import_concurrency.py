"""Two imports of overlapping files at the same time on PostgreSQL both finish: a batch that
loses a deadlock (or a serialization failure) is retried, not reported as an error."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.support.cli import NOW

TRIALS = 3
PEOPLE = 400
ROWS = 3000


def activities_file(path: Path, seed: int) -> Path:
    chance = random.Random(seed)
    lines = ["email,type,occurred_at,campaign"]
    for _ in range(ROWS):
        person = chance.randrange(PEOPLE)
        day = 1 + chance.randrange(28)
        kind = chance.choice(["email_opened", "page_viewed", "webinar_attended", "form_submitted"])
        lines.append(f"p{person}@c{person % 40}.co.jp,{kind},2026-10-{day:02d}T10:00:00+09:00,cmp-{day % 3}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def importing(path: Path, url: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADRELAY_")}
    env.update(LEADRELAY_NOW=NOW, LEADRELAY_DB=url)
    return subprocess.Popen(
        [sys.executable, "-m", "leadrelay", "import", "activities", str(path), "--batch-size", "200"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.postgres
def test_two_overlapping_imports_on_postgresql_both_finish_every_time(postgres_url: str, tmp_path: Path) -> None:
    for trial in range(TRIALS):
        a = activities_file(tmp_path / f"a{trial}.csv", 2 * trial)  # the same leads, accounts and
        b = activities_file(tmp_path / f"b{trial}.csv", 2 * trial + 1)  # campaigns in other orders
        first, second = importing(a, postgres_url), importing(b, postgres_url)
        for process in (first, second):
            _out, err = process.communicate(timeout=300)
            assert process.returncode == 0, f"trial {trial}: {err}"
    engine = sa.create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT count(*) FROM leads")).scalar_one() == PEOPLE
    finally:
        engine.dispose()
