"""The dashboard's server time: the overview page and lead pages, requested over HTTP with a
logged-in session, on the data set of the reports benchmark (``benchmarks/reports.py``).

    python benchmarks/dashboard.py                                # SQLite, 100,000 leads / 2,000,000 activities
    python benchmarks/dashboard.py --postgres postgresql://postgres@127.0.0.1:5432/postgres
    python benchmarks/dashboard.py --full --skip-sqlite --postgres URL   # 1,000,000 leads / 20,000,000 activities
    python benchmarks/dashboard.py --leads 20000 --activities 400000
    python benchmarks/dashboard.py --full --keep --skip-sqlite --postgres URL   # the reports benchmark's kept data set

The data set is the reports benchmark's, written by its :func:`reports.generate` (generation time
is not a figure). The app is the one ``leadrelay serve`` runs (``create_app``), driven by
Starlette's TestClient in this process: every request goes through the whole ASGI stack — the
session cookie, the templates, the database — so the time of a request is the server's time for
that page (with the in-process client's small share). A marketing user logs in through the
log-in form (marketing sees every lead: the whole funnel on the overview).

Measured: ``GET /`` (the overview) ``--runs`` times after one warm-up request, best and median;
``GET /leads/<e-mail>`` of ``--sample`` leads spread over the data set (half of them with a rep),
each ``--runs`` times after one warm-up, best, median and the slowest of all requests. Goals: the
overview ≤ 1.5 s, a lead page ≤ 200 ms. Figures go to stdout and
``benchmarks/results/dashboard-<db>[-<leads>].json``.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from _shared import machine, positive, publish
from fastapi.testclient import TestClient

from leadrelay.adapters.store.tables import leads, users
from leadrelay.config import Settings
from leadrelay.entrypoints.http.app import create_app
from reports import NOW, data_set

EMAIL = "bench-marketing@example.co.jp"
PASSWORD = "benchmark password 1"
OVERVIEW_GOAL = 1.5
LEAD_GOAL = 0.2


def log_in(client: TestClient) -> None:
    """Through the log-in form, as a browser: its CSRF token, then the session cookie."""
    page = client.get("/login")
    found = re.search(r'name="form_token" value="([^"]+)"', page.text)
    assert found, "no log-in form"
    answer = client.post(
        "/login",
        data={"email": EMAIL, "password": PASSWORD, "form_token": found.group(1), "next": "/"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, f"log-in failed: {answer.status_code}"


def timed(client: TestClient, path: str, runs: int, expect: str | None = None) -> list[float]:
    """One warm-up request, then ``runs`` timed ones (seconds); each must answer 200."""
    times = []
    for n in range(runs + 1):
        started = time.perf_counter()
        answer = client.get(path)
        spent = time.perf_counter() - started
        assert answer.status_code == 200, f"{path}: {answer.status_code} {answer.text[:300]}"
        if expect is not None:
            assert expect in answer.text, f"{path}: {expect!r} is not on the page"
        if n:
            times.append(spent)
    return times


def sample_leads(engine: sa.Engine, n: int, count: int) -> list[str]:
    """The e-mails of ``count`` leads spread evenly over the ids, half with a rep, half any."""
    step = max(n // max(count, 1), 1)
    with engine.connect() as connection:
        spread = leads.c.id % step
        with_rep = connection.execute(
            sa.select(leads.c.email)
            .where(leads.c.owner_rep.is_not(None), spread == 0)
            .order_by(leads.c.id)
            .limit(count - count // 2)
        ).scalars()
        chosen = list(with_rep)
        others = connection.execute(
            sa.select(leads.c.email).where(spread == 1).order_by(leads.c.id).limit(count - len(chosen))
        ).scalars()
        chosen.extend(e for e in others if e not in chosen)
    return chosen


def figures_of(times: list[float], goal: float) -> dict[str, Any]:
    return {
        "best_seconds": round(min(times), 4),
        "median_seconds": round(statistics.median(times), 4),
        "slowest_seconds": round(max(times), 4),
        "requests": len(times),
        "goal_seconds": goal,
        "within_goal": statistics.median(times) <= goal,
    }


def one_database(server: str | None, args: argparse.Namespace) -> dict[str, Any]:
    kind = "postgresql" if server else "sqlite"
    with data_set(server, args) as (url, made):
        settings = Settings(db=url, now=NOW, web_secure_cookie=False)
        with TestClient(create_app(settings)) as client:
            relay = client.app.state.relay  # type: ignore[attr-defined]
            with relay.store.engine.connect() as connection:  # a kept data set has the user of an earlier run
                known = connection.execute(sa.select(users.c.id).where(users.c.email == EMAIL)).first()
            if known is None:
                relay.add_user(EMAIL, role="marketing", actor="benchmark", password=PASSWORD)
            log_in(client)
            overview = timed(client, "/", args.runs)
            emails = sample_leads(relay.store.engine, args.leads, args.sample)
            lead_times: list[float] = []
            for email in emails:
                lead_times.extend(timed(client, f"/leads/{quote(email, safe='@')}", args.runs, expect=email))
    result = {
        "benchmark": "dashboard",
        "database": kind,
        "leads": args.leads,
        "activities": args.activities,
        **made,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "client": "Starlette TestClient in process, logged in as marketing through the log-in form",
        "overview": figures_of(overview, OVERVIEW_GOAL),
        "lead_page": {**figures_of(lead_times, LEAD_GOAL), "leads": len(emails)},
        "machine": machine(),
    }
    how = f"generated in {made['generate_seconds']:.0f} s" if "generate_seconds" in made else "kept from an earlier run"
    print(f"\n{kind}: {args.leads:,} leads, {args.activities:,} activities ({how})")
    for name in ("overview", "lead_page"):
        f = result[name]
        print(
            f"{name:<10} best {f['best_seconds']:.3f} s  median {f['median_seconds']:.3f} s  "
            f"slowest {f['slowest_seconds']:.3f} s  ({f['requests']} requests; goal ≤ {f['goal_seconds']} s)"
        )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=positive, default=100_000)
    parser.add_argument("--activities", type=positive, default=2_000_000)
    parser.add_argument("--full", action="store_true", help="1,000,000 leads and 20,000,000 activities")
    parser.add_argument("--postgres", default=None, help="also on this PostgreSQL server (a scratch database)")
    parser.add_argument("--skip-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--runs", type=positive, default=5, help="timed requests of each page (after one warm-up)")
    parser.add_argument("--sample", type=positive, default=10, help="lead pages measured")
    parser.add_argument("--tmp", type=Path, default=None, help="folder for the SQLite file (default: system temp)")
    parser.add_argument(
        "--keep", action="store_true", help="reuse (or generate and keep) the reports benchmark's data set"
    )
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    if args.full:
        args.leads, args.activities = 1_000_000, 20_000_000
    servers: list[str | None] = [] if args.skip_sqlite else [None]
    if args.postgres:
        servers.append(args.postgres)
    for server in servers:
        figures = one_database(server, args)
        suffix = "" if args.leads == 100_000 and args.activities == 2_000_000 else f"-{args.leads}"
        publish(figures, args.out, f"dashboard-{figures['database']}{suffix}")


if __name__ == "__main__":
    main()
