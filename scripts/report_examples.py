"""Write src/leadrelay/data/report_examples.json: one answer of each report, for the OpenAPI document.

Runs a small demo (fixed seed and time) into a temporary database, asks every report of the
catalog, and keeps each answer with its lists cut to two items. Run it again after adding or
changing a report (tests/unit/test_report_examples.py checks every report has an example its model
accepts):

    .venv/bin/python scripts/report_examples.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "src" / "leadrelay" / "data" / "report_examples.json"
NOW = "2026-11-25T12:00:00+09:00"


def cut(value: Any) -> Any:
    if isinstance(value, list):
        return [cut(v) for v in value[:2]]
    if isinstance(value, dict):
        return {k: cut(v) for k, v in value.items()}
    return value


def main() -> None:
    from leadrelay import LeadRelay
    from leadrelay.adapters.clock import FakeClock

    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "examples.db"
        env = {"LEADRELAY_NOW": NOW, "LEADRELAY_DB": str(db), "PATH": "/usr/bin:/bin"}
        subprocess.run(
            [sys.executable, "-m", "leadrelay", "demo", "--people", "400", "--companies", "50"],
            env=env, check=True, capture_output=True,
        )  # fmt: skip
        with LeadRelay.open(f"sqlite:///{db}", clock=FakeClock(datetime.fromisoformat(NOW))) as relay:
            examples = {info.name: cut(relay.report(info.name).as_json()) for info in relay.reports()}
    TARGET.write_text(json.dumps(examples, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{TARGET.relative_to(ROOT)}: {', '.join(examples)}")


if __name__ == "__main__":
    main()
