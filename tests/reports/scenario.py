"""Small hand-made scenarios for the reports: demo requests at given moments (an MQL at once,
routed to inside sales' reps a, b, c in turn), then sales' answers, each at its own time."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tests.conftest import JST

#: Monday 2 November 2026, 10:00 in Tokyo: the first MQL of the scenarios.
T0 = datetime(2026, 11, 2, 10, 0, tzinfo=JST)
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


def email(n: int) -> str:
    return f"person{n}@sakura-mfg.co.jp"


def demo_request(
    n: int, at: datetime, *, campaign: str = "web-contact", channel: str = "web", again: int = 0
) -> dict[str, Any]:
    """Person ``n`` asks for a demo at ``at`` (``again`` > 0: a later request of the same person)."""
    return {
        "email": email(n),
        "type": "demo_requested",
        "occurred_at": at.isoformat(),
        "source_id": f"demo-{n}-{again}",
        "campaign": campaign,
        "lead": {
            "title": "情報システム部 部長",
            "seniority": "manager",
            "country": "JP",
            "prefecture": "東京都",
            "source_channel": channel,
            "company": {"name": "さくら製作所", "industry": "manufacturing", "employees": 800},
        },
    }
