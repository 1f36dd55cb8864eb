"""A small routing playbook (three reps of inside sales, round robin) and the demo request that
makes a fitting person an MQL at once."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from leadrelay.adapters.playbook.loader import default_playbook_path
from tests.conftest import NOW
from tests.support.playbooks import without_level_owners

PLAYBOOK_ROUTING = """
routing:
  departments:
    - id: marketing
      label: {en: Marketing, ja: マーケティング部}
    - id: inside
      label: {en: Inside Sales, ja: インサイドセールス}
      reps:
        - {id: a, name: Rep A, capacity: CAP}
        - {id: b, name: Rep B, capacity: CAP}
        - {id: c, name: Rep C, capacity: CAP}
  rules:
    - id: to_inside
      label: Every MQL to inside sales
      department: inside
      strategy: round_robin
  fallback: marketing
"""


def playbook_file(tmp_path: Path, capacity: int = 100) -> Path:
    text = default_playbook_path().read_text(encoding="utf-8")
    text = without_level_owners(text)
    text = text[: text.index("\nrouting:")] + PLAYBOOK_ROUTING.replace("CAP", str(capacity))
    path = tmp_path / f"routing-{capacity}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def hand_raise(
    n: int, *, hours: float = 0, company: str = "sakura-mfg.co.jp", company_name: str = "さくら製作所"
) -> dict[str, Any]:
    """A demo request from a fitting person: an MQL at once."""
    return {
        "email": f"person{n}@{company}",
        "type": "demo_requested",
        "occurred_at": (NOW - timedelta(hours=48 - hours)).isoformat(),
        "source_id": f"hr-{company}-{n}",
        "lead": {
            "title": "情報システム部 部長",
            "seniority": "manager",
            "country": "JP",
            "prefecture": "東京都",
            "company": {"name": company_name, "industry": "manufacturing", "employees": 800},
        },
    }
