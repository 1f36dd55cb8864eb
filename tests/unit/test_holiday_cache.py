"""The holidays read from the ``holidays`` package are kept on disk, so the next process answers
the same without importing the package (which imports every country it knows, ~0.4 s)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROBE = """
import sys
from datetime import date
from leadrelay.adapters.calendars import country_holidays
japan = country_holidays(["JP"])
print(japan(date(2026, 11, 23)), japan(date(2026, 11, 24)), japan.name(date(2026, 11, 23), "ja"))
print("holidays" in sys.modules)
"""


def probe(cache: str) -> list[str]:
    env = {**os.environ, "LEADRELAY_CACHE_DIR": cache}
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_the_second_process_answers_from_the_file_without_the_package(tmp_path: Path) -> None:
    first = probe(str(tmp_path))
    second = probe(str(tmp_path))

    assert first == ["True False 勤労感謝の日", "True"]  # Labour Thanksgiving Day; the package was asked
    assert second == ["True False 勤労感謝の日", "False"]  # the same answer, the package never imported
    (written,) = tmp_path.glob("holidays-*.json")
    kept = json.loads(written.read_text(encoding="utf-8"))
    assert kept["year:JP::2026:ja"]["2026-11-23"] == "勤労感謝の日"
    assert "JP" in kept["countries"]


def test_a_broken_file_or_none_at_all_only_means_asking_the_package(tmp_path: Path) -> None:
    probe(str(tmp_path))
    (written,) = tmp_path.glob("holidays-*.json")
    written.write_text("{not json", encoding="utf-8")

    assert probe(str(tmp_path)) == ["True False 勤労感謝の日", "True"]
    assert probe("off") == ["True False 勤労感謝の日", "True"]
