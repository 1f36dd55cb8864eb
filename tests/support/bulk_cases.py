"""Leads with their histories for comparing the bulk engine with the per-lead engine: the
synthetic demo's people, parsed as the importer would."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from leadrelay.adapters.playbook.loader import default_playbook_path, load_playbook
from leadrelay.adapters.records import parse_activity, parse_lead
from leadrelay.domain.evaluation import sort_activities
from leadrelay.domain.model import Account, Activity, Lead
from leadrelay.entrypoints.demo.runner import demo_records
from leadrelay.entrypoints.demo.synthetic import generate

Case = tuple[Lead, Account | None, Sequence[Activity]]


def demo_cases(now: datetime, people: int = 1500) -> list[Case]:
    playbook = load_playbook(default_playbook_path()).playbook
    data = generate(seed=5, now=now, companies=150, people=people, days=120)
    leads, activities = demo_records(data)
    profiles = {p.lead.email: p for p in (parse_lead(r, now) for r in leads)}
    histories: dict[str | None, dict[str, Activity]] = defaultdict(dict)
    for record in activities:
        parsed = parse_activity(record, now, playbook.activity_types)
        histories[parsed.email][parsed.activity.key] = parsed.activity
    return [
        (p.lead, p.company, sort_activities(list(histories[email].values()))) for email, p in sorted(profiles.items())
    ]
