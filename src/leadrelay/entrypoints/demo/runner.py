"""``leadrelay demo``: generate the synthetic data set and run it through the engine."""

from __future__ import annotations

import time
from typing import Any

from leadrelay.entrypoints.api import LeadRelay
from leadrelay.entrypoints.demo.synthetic import DemoData, generate


def demo_records(data: DemoData) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The data set as the engine's input records: leads (with their company) and activities."""
    accounts = {a["domain"]: a for a in data.accounts}
    campaigns = {c["code"]: c for c in data.campaigns}
    first_seen: dict[str, str] = {}
    activities = []
    for record in data.activities:
        when = record["occurred_at"].isoformat()
        first_seen.setdefault(record["email"], when)
        activity = {k: v for k, v in record.items() if v is not None}
        activity["occurred_at"] = when
        code = record.get("campaign")
        if code:
            activity["campaign"] = {k: v for k, v in campaigns[code].items() if v is not None}
        activities.append(activity)
    leads = []
    for person in data.leads:
        record = {k: v for k, v in person.items() if v is not None and k != "company_domain"}
        domain = person.get("company_domain")
        if domain:
            record["company"] = {k: v for k, v in accounts[domain].items() if v is not None}
        if person["email"] in first_seen:
            record["created_at"] = first_seen[person["email"]]
        leads.append(record)
    return leads, activities


def run_demo(
    relay: LeadRelay, *, seed: int = 7, people: int = 3000, companies: int = 300, days: int = 90
) -> dict[str, Any]:
    now = relay.clock.now()
    started = time.perf_counter()
    data = generate(seed=seed, now=now, companies=companies, people=people, days=days)
    leads, activities = demo_records(data)
    relay.playbook()  # the bundled default playbook unless another one is active
    added = relay.add_leads(leads, now=now)
    recorded = relay.record_activities(activities, now=now)
    return {
        "seed": seed,
        "now": now.isoformat(),
        "accounts": len(data.accounts),
        "leads": len(data.leads),
        "activities": len(activities),
        "activities_inserted": recorded.activities_inserted,
        "duplicates": recorded.duplicates,
        "rejected": len(added.rejected) + len(recorded.rejected),
        "rejections": [str(r) for r in [*added.rejected, *recorded.rejected][:20]],
        "seconds": time.perf_counter() - started,
    }
