"""``leadrelay demo``: generate the synthetic data set and run it through the engine.

:func:`live_demo` (what ``leadrelay demo`` runs) plays the data set through time as live operation
(:mod:`leadrelay.entrypoints.demo.simulation`); :func:`run_demo` loads it all at once at ``now``,
with no time passing and no rep answering (for tests and benchmarks of the intake itself).
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from leadrelay.domain.playbook import Playbook
from leadrelay.entrypoints.api import LeadRelay
from leadrelay.entrypoints.demo.ground_truth import SimulationTruth
from leadrelay.entrypoints.demo.simulation import simulate
from leadrelay.entrypoints.demo.synthetic import DemoData, generate
from leadrelay.services.access import hash_password

#: The demo users' one password, printed by ``leadrelay demo``: for the demo database only.
DEMO_PASSWORD = "demo-only-not-secret"
#: The e-mail domain of the demo users (``.example``: reserved, never a real mailbox).
DEMO_DOMAIN = "demo.leadrelay.example"
#: The dashboard ``leadrelay serve`` serves by default.
DASHBOARD_URL = "http://127.0.0.1:8000/"
#: The ground truth's file beside a SQLite demo database ``X.db``: ``X.truth.json``.
TRUTH_SUFFIX = ".truth.json"
DEFAULT_TRUTH = Path("leadrelay-demo" + TRUTH_SUFFIX)


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


@dataclass(frozen=True, slots=True)
class DemoRun:
    """What :func:`live_demo` did: the counts (``facts``, as ``leadrelay demo --json`` prints them)
    and the simulation's ground truth."""

    facts: dict[str, Any]
    truth: SimulationTruth
    data: DemoData
    users: list[DemoUser]


def live_demo(relay: LeadRelay, *, seed: int = 7, people: int = 3000, companies: int = 300, days: int = 90) -> DemoRun:
    """Generate the data set and play it as ``days`` of live operation ending at the relay's ``now``."""
    end = relay.clock.now()
    started = time.perf_counter()
    playbook = relay.playbook().playbook  # the bundled default playbook unless another one is active
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="demo-passwords") as pool:
        # Argon2 takes about half a second a user and releases the GIL: the demo users' password
        # hashes (one salt each) are made on the other core while the simulation runs.
        count = len(demo_users(playbook))
        hashes = pool.submit(lambda: [hash_password(DEMO_PASSWORD) for _ in range(count)])
        data = generate(seed=seed, now=end, companies=companies, people=people, days=days)
        leads, activities = demo_records(data)
        truth, stats = simulate(relay, data, leads, activities, seed=seed, end=end, days=days)
        users = add_demo_users(relay, end, hashes)
    facts = {
        "seed": seed,
        "now": end.isoformat(),
        "start": truth.start.isoformat(),
        "accounts": len(data.accounts),
        "leads": len(data.leads),
        "activities": len(activities),
        "intake_rounds": stats.intake_rounds,
        "worker_ticks": stats.worker_ticks,
        "timers_fired": stats.timers_fired,
        "recycled_by_worker": stats.recycled_by_worker,
        "messages_sent": stats.messages_sent,
        "assignments": stats.assignments_seen,
        **{f"{what}s": truth.count(what) for what in ("touch", "accept", "reject")},
        "qualified": truth.count("qualify"),
        "won": truth.count("won"),
        "lost": truth.count("lost"),
        "reworked": sum(1 for lead in truth.leads.values() if lead.reworked),
        "never_followed": sum(1 for lead in truth.leads.values() if lead.never_followed),
        "users": [user.email for user in users],
        "password": DEMO_PASSWORD,
        "seconds": time.perf_counter() - started,
    }
    return DemoRun(facts, truth, data, users)


@dataclass(frozen=True, slots=True)
class DemoUser:
    """A dashboard login the demo creates: one per role."""

    email: str
    role: str
    departments: tuple[str, ...] = ()
    rep: str | None = None


def demo_users(playbook: Playbook) -> list[DemoUser]:
    """One user per role: admin, marketing, a manager of inside sales (or the first department) and
    one of its reps (is-kobayashi in the default playbook)."""
    routing = playbook.routing
    reps = sorted(routing.reps) if routing else []
    rep = "is-kobayashi" if "is-kobayashi" in reps else (reps[0] if reps else None)
    department = routing.reps[rep].department if routing and rep else None
    users = [DemoUser(f"admin@{DEMO_DOMAIN}", "admin"), DemoUser(f"marketing@{DEMO_DOMAIN}", "marketing")]
    if department is not None:
        users.append(DemoUser(f"manager@{DEMO_DOMAIN}", "manager", departments=(department,)))
        users.append(DemoUser(f"rep@{DEMO_DOMAIN}", "rep", rep=rep))
    return users


def add_demo_users(relay: LeadRelay, now: datetime, hashes: Future[list[str]] | None = None) -> list[DemoUser]:
    """Add the demo users with :data:`DEMO_PASSWORD` (those already there, with ``--keep``, stay as
    they are); ``hashes``: the password's hashes made ahead, one per user of :func:`demo_users`."""
    users = demo_users(relay.playbook().playbook)
    made = hashes.result() if hashes is not None else [hash_password(DEMO_PASSWORD) for _ in users]
    known = {u.email for u in relay.users()}
    for user, made_hash in zip(users, made, strict=True):
        if user.email in known:
            continue
        relay.add_user(
            user.email,
            role=user.role,
            actor="demo",
            departments=user.departments,
            rep=user.rep,
            name=f"Demo {user.role}",
            password_hash=made_hash,
            now=now,
        )
    return users


#: How ``leadrelay demo`` ends (after the reports): the dashboard's command and the demo logins.
DASHBOARD_TEXTS = {
    "serve": (
        "The dashboard: run this, then open {url} and log in",
        "ダッシュボード：次のコマンドを実行し、{url} を開いてログイン",
    ),
    "logins": (
        "Demo logins (password for this demo database only: {password})",
        "デモ用ログイン（このデモデータベース専用のパスワード：{password}）",
    ),
    "admin": ("administrator", "管理者"),
    "marketing": ("marketing", "マーケティング"),
    "manager": ("manager of {departments}", "{departments} のマネージャー"),
    "rep": ("rep {rep}", "営業担当 {rep}"),
}


def serve_command(db: str) -> str:
    return f"leadrelay --db {db} serve"


def dashboard_lines(db: str, users: list[DemoUser], lang: str) -> list[str]:
    """The lines that end ``leadrelay demo``'s summary: the one command that serves the dashboard
    on the demo database, then the demo users' logins with their role."""
    i = 1 if lang == "ja" else 0
    lines = [DASHBOARD_TEXTS["serve"][i].format(url=DASHBOARD_URL), f"  {serve_command(db)}"]
    lines.append(DASHBOARD_TEXTS["logins"][i].format(password=DEMO_PASSWORD))
    width = max(len(u.email) for u in users)
    for user in users:
        role = DASHBOARD_TEXTS[user.role][i].format(departments=", ".join(user.departments), rep=user.rep)
        lines.append(f"  {user.email.ljust(width)}  {role}")
    return lines


def truth_path(url: str) -> Path:
    """Where the ground truth of the demo database ``url`` goes: beside a SQLite file, else
    ``leadrelay-demo.truth.json`` in the working directory."""
    parsed = sa.engine.make_url(url if "://" in url else f"sqlite:///{url}")
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return DEFAULT_TRUTH
    database = Path(parsed.database)
    return database.with_name(database.stem + TRUTH_SUFFIX)
