"""An SLA playbook (inside sales answers within 2 business hours, first touch within 1) and the demo
request that makes a fitting person an MQL routed at once."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tests.conftest import JST
from tests.support.playbooks import without_level_owners
from tests.support.routing import PLAYBOOK_ROUTING

WEDNESDAY_NOON = datetime(2026, 11, 25, 12, 0, tzinfo=JST)
FRIDAY_1730 = datetime(2026, 11, 20, 17, 30, tzinfo=JST)  # Monday 11-23 is 勤労感謝の日

SLA = """
sla:
  policies:
    - id: quick
      label: Inside sales answers fast
      departments: [inside]
      accept_within_hours: 2
      first_touch_within_hours: 1
      warn_at: 0.5
      on_breach: ON_BREACH
notifications:
  channels:
    - {id: email, kind: email}
  rules:
    - {id: n_warn, event: sla_warning, to: [rep], channels: [email]}
    - {id: n_breach, event: sla_breach, to: [rep, manager], channels: [email]}
"""


def playbook(tmp_path: Path, on_breach: str) -> Path:
    from leadrelay.adapters.playbook.loader import default_playbook_path

    text = default_playbook_path().read_text(encoding="utf-8")
    routing = PLAYBOOK_ROUTING.replace("CAP", "50")
    for rep in "abc":
        routing = routing.replace(
            f"{{id: {rep}, name: Rep {rep.upper()},",
            f"{{id: {rep}, email: {rep}@example.co.jp, name: Rep {rep.upper()},",
        )
    routing = routing.replace(
        "      label: {en: Inside Sales, ja: インサイドセールス}\n",
        "      label: {en: Inside Sales, ja: インサイドセールス}\n      manager: {name: 佐々木 恵, email: m.sasaki@example.co.jp}\n",
    )
    text = (
        without_level_owners(text)[: without_level_owners(text).index("\nrouting:")]
        + routing
        + SLA.replace("ON_BREACH", on_breach)
    )
    path = tmp_path / f"sla-{on_breach}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def demo_request(at: datetime, n: int = 1) -> dict[str, Any]:
    return {
        "email": f"person{n}@sakura-mfg.co.jp",
        "type": "demo_requested",
        "occurred_at": (at - timedelta(minutes=5)).isoformat(),
        "source_id": f"demo-{n}-{at.isoformat()}",
        "lead": {
            "title": "部長",
            "seniority": "manager",
            "country": "JP",
            "company": {"name": "さくら製作所", "industry": "manufacturing", "employees": 800},
        },
    }
