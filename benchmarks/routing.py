"""Routing throughput: decisions/s for one batch of new MQLs across many reps with mixed
strategies (named account, territory by prefecture / postal range / area code, load balanced
with capacities, segment, weighted, round robin, and a fallback queue), decision log stored.

    python benchmarks/routing.py                         # SQLite, 100,000 MQLs, 50 reps
    python benchmarks/routing.py --leads 20000 --reps 20
    python benchmarks/routing.py --db postgresql://postgres@127.0.0.1:5432/postgres
    python benchmarks/routing.py --profile /tmp/routing.prof   # cProfile the route() call
    python benchmarks/routing.py --per-lead              # the same, routed one lead at a time (before)
    python benchmarks/routing.py --sla-notifications     # the playbook also starts SLA clocks and notifies reps

Accounts and leads (stage mql, no owner) are written straight into the tables with the raw driver
(generation time is not a figure); then one ``LeadRelay.route()`` call, in a fresh process so its
peak RSS (``getrusage``) is its own, routes every pending lead in one transaction. Goal: at least
30,000 decisions/s (issue 15). After the route, in a transaction rolled back, the script measures
its write floor: the same owner updates and decision-log rows written again by the raw driver
(``executemany`` on SQLite under the same page cache, ``COPY`` on PostgreSQL) into the same tables
with their indexes. Figures go to stdout and to ``benchmarks/results/routing-<db>.json``
(not written for a profiled run: the profiler slows it down).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import random
import resource
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from _shared import in_fresh_process, machine, positive, publish

from leadrelay import FakeClock, LeadRelay
from leadrelay.adapters.geo import PREFECTURES
from leadrelay.adapters.store import queries
from leadrelay.adapters.store.scratch import fresh_database
from leadrelay.services.bulk_routing import DECISION_COLUMNS
from leadrelay.services.routing import RoutedRow, pending_ids, route_leads, take_routing_lock

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)  # a Wednesday in Tokyo: every rep works
GOAL_PER_S = 30_000
STAMP = "%Y-%m-%d %H:%M:%S.%f"
HAND_RAISER_RULE = "hand_raiser_request"

INDUSTRIES = ["manufacturing", "it", "software", "finance", "logistics", "retail", "healthcare", "construction"]
#: where companies and people are: weights roughly like a Japanese B2B list (Tokyo heavy)
PREFECTURE_WEIGHTS = {p.name_ja: 1.0 for p in PREFECTURES} | {
    "東京都": 30.0,
    "神奈川県": 6.0,
    "大阪府": 10.0,
    "愛知県": 6.0,
    "京都府": 3.0,
    "兵庫県": 3.0,
    "福岡県": 4.0,
    "北海道": 3.0,
    "埼玉県": 3.0,
    "千葉県": 3.0,
}
#: real postal codes (Japan Post) per prefecture, for profiles that carry one
POSTAL_CODES = {
    "東京都": ["100-0001", "160-0023", "105-0011", "150-0002", "135-0064"],
    "大阪府": ["530-0001", "541-0041", "550-0002", "590-0014"],
    "京都府": ["600-8216", "604-8006"],
    "兵庫県": ["650-0001", "662-0911"],
    "愛知県": ["460-0002", "450-0002"],
    "神奈川県": ["231-0023"],
    "埼玉県": ["330-0063"],
    "福岡県": ["812-0011"],
    "北海道": ["060-0001"],
    "宮城県": ["980-0021"],
    "広島県": ["730-0011"],
    "香川県": ["760-0001"],
    "石川県": ["920-0031"],
    "熊本県": ["860-0806"],
    "沖縄県": ["900-0021"],
}
AREA_CODES = {
    "東京都": "03",
    "大阪府": "06",
    "京都府": "075",
    "兵庫県": "078",
    "愛知県": "052",
    "神奈川県": "045",
    "北海道": "011",
    "宮城県": "022",
    "広島県": "082",
    "福岡県": "092",
}
REGION_OF = {p.name_ja: p.region for p in PREFECTURES}

# --- the playbook ---------------------------------------------------------------------------

#: department → (share of the reps, strategy of its rule)
DEPARTMENTS = [
    ("enterprise", 6, "named_account"),
    ("kansai", 6, "territory"),
    ("corporate", 8, "load_balanced"),
    ("segment", 8, "segment"),
    ("regional", 8, "territory"),
    ("inside", 7, "weighted"),
    ("smb", 7, "round_robin"),
]
KANSAI_TERRITORIES = [
    "prefectures: [大阪府]",
    "postal_codes: [530-0000..599-9999]",
    "area_codes: ['06']",
    "prefectures: [京都府, 滋賀県]",
    "area_codes: ['075', '077']",
    "prefectures: [兵庫県, 奈良県, 和歌山県], postal_codes: [650-0000..679-9999]",
]
REGIONAL_TERRITORIES = [
    "regions: [hokkaido, tohoku]",
    "prefectures: [東京都]",
    "postal_codes: [100-0000..209-9999]",
    "area_codes: ['03']",
    "regions: [kanto]",
    "regions: [chubu]",
    "regions: [chugoku, shikoku]",
    "regions: [kyushu]",
]
SEGMENTS = [
    "{employees: [300, 999], industries: [manufacturing, construction]}",
    "{employees: [1000, null], industries: [manufacturing, construction]}",
    "{employees: [300, 999], industries: [it, software]}",
    "{employees: [1000, null], industries: [it, software]}",
    "{employees: [300, null], industries: [finance]}",
    "{employees: [300, null], industries: [logistics, retail]}",
    "{employees: [300, null], industries: [healthcare]}",
    "{employees: [300, null]}",
]


def rep_counts(reps: int) -> dict[str, int]:
    """Reps per department, in the proportions of the 50-rep plan (at least one each)."""
    shares = sum(share for _, share, _ in DEPARTMENTS)
    counts = {name: max(1, round(reps * share / shares)) for name, share, _ in DEPARTMENTS}
    counts["smb"] = max(1, counts["smb"] + reps - sum(counts.values()))
    return counts


def playbook_text(reps: int, leads: int, *, sla_notifications: bool = False) -> tuple[str, dict[str, list[str]]]:
    """The playbook and the rep ids of every department. Capacities are set so that Corporate
    Sales fills up (its overflow goes on down the rules) and SMB too (its overflow waits in
    the marketing queue). ``sla_notifications``: every rep routed a lead is told by e-mail and
    starts two SLA clocks (accept, first touch) on a business calendar, as a production playbook does."""
    counts = rep_counts(reps)
    ids: dict[str, list[str]] = {name: [f"{name}-{i:02d}" for i in range(counts[name])] for name in counts}
    lines = [
        "id: routing-benchmark",
        "name: Routing benchmark",
        'version: "1"',
        "timezone: Asia/Tokyo",
        "hand_raisers:",
        "  rules:",
        f"    - id: {HAND_RAISER_RULE}",
        "      activity: [demo_requested, contact_requested]",
        "routing:",
        "  departments:",
        "    - id: marketing",
        "      label: {en: Marketing, ja: マーケティング部}",
    ]
    corporate_capacity = max(1, leads * 8 // 100 // counts["corporate"])
    smb_capacity = max(1, leads * 8 // 100 // counts["smb"])
    weights = [1, 1, 2, 2, 3, 0.5, 1.5]
    for name, _, _ in DEPARTMENTS:
        lines += [f"    - id: {name}", "      reps:"]
        for i, rep in enumerate(ids[name]):
            extra = ""
            if name == "enterprise" and i < 2:  # two of them list accounts by domain; all own some by owner
                extra = f", named_accounts: [{', '.join(named_domain(i, n) for n in range(20))}]"
            elif name == "kansai":
                extra = f", territory: {{{KANSAI_TERRITORIES[i % len(KANSAI_TERRITORIES)]}}}"
            elif name == "regional":
                extra = f", territory: {{{REGIONAL_TERRITORIES[i % len(REGIONAL_TERRITORIES)]}}}"
            elif name == "segment":
                extra = f", segment: {SEGMENTS[i % len(SEGMENTS)]}"
            elif name == "corporate":
                extra = f", capacity: {corporate_capacity}"
            elif name == "inside":
                extra = f", weight: {weights[i % len(weights)]}"
            elif name == "smb":
                extra = f", capacity: {smb_capacity}"
            lines.append(f"        - {{id: {rep}, email: {rep}@sales.example.co.jp{extra}}}")
    lines += [
        "  rules:",
        "    - {id: named, when: {field: account.tier, op: eq, value: named}, department: enterprise,"
        " strategy: named_account}",
        "    - {id: kinki, when: {field: level, op: gte, value: 3}, territory: {regions: [kinki]},"
        " department: kansai, strategy: territory}",
        "    - {id: level4, when: {field: level, op: gte, value: 4}, department: corporate, strategy: load_balanced}",
        "    - {id: large, when: {field: account.employees, op: gte, value: 300}, department: segment,"
        " strategy: segment}",
        "    - {id: regional, when: {field: level, op: gte, value: 2}, department: regional, strategy: territory}",
        "    - {id: engaged, when: {field: score.total, op: gte, value: 60}, department: inside, strategy: weighted}",
        "    - {id: rest, department: smb, strategy: round_robin}",
        "  fallback: marketing",
    ]
    if sla_notifications:
        lines[4:4] = [
            "calendars:",
            "  - {id: office, timezone: Asia/Tokyo, working_days: [mon, tue, wed, thu, fri], hours: ['09:00-18:00'],"
            " holidays: [JP]}",
        ]
        lines += [
            "sla:",
            "  policies:",
            "    - {id: answer, label: Sales answers within one business day, accept_within_hours: 9,"
            " first_touch_within_hours: 4, warn_at: 0.75, on_breach: escalate}",
            "notifications:",
            "  channels:",
            "    - {id: email, kind: email}",
            "  rules:",
            "    - {id: notify_assigned, event: assigned, to: [owner], channels: [email]}",
        ]
    return "\n".join(lines) + "\n", ids


def named_domain(rep: int, n: int) -> str:
    return f"named{rep}-{n}.example.co.jp"


# --- the data -------------------------------------------------------------------------------


_ACCOUNT_COLUMNS = (
    "id",
    "domain",
    "name",
    "industry",
    "employees",
    "country",
    "region",
    "prefecture",
    "tier",
    "owner",
    "created_at",
    "updated_at",
)
_LEAD_COLUMNS = (
    "id",
    "email",
    "first_name",
    "last_name",
    "phone",
    "country",
    "prefecture",
    "postal_code",
    "list_source",
    "custom",
    "account_id",
    "created_at",
    "updated_at",
    "stage",
    "stage_at",
    "anchor_stage",
    "anchor_at",
    "anchor_check",
    "level",
    "fit_score",
    "engagement_score",
    "total_score",
    "fit_passed",
    "mql_rule",
    "mql_at",
    "priority",
    "recycled_count",
)


def generate(url: str, leads: int, ids: dict[str, list[str]], seed: int = 1) -> dict[str, int]:
    """Accounts (industries, sizes, prefectures, tiers, owners) and MQLs without an owner, with
    profiles (prefecture, postal code, phone), written in bulk: executemany on SQLite, COPY on
    PostgreSQL."""
    rng = random.Random(seed)
    prefectures = list(PREFECTURE_WEIGHTS)
    weights = list(PREFECTURE_WEIGHTS.values())
    enterprise = ids["enterprise"]
    with LeadRelay.open(url, clock=FakeClock(NOW)) as relay, relay.store.engine.begin() as connection:
        pg = connection.dialect.name == "postgresql"
        driver = connection.connection.driver_connection
        assert driver is not None
        cursor = driver.cursor()
        now_text = NOW.strftime(STAMP) + ("+00" if pg else "")
        account_rows = []
        count = max(leads // 5, 1)
        for i in range(count):
            prefecture = rng.choices(prefectures, weights)[0]
            roll = rng.random()
            tier, owner, domain = None, None, f"co{i}.example.co.jp"
            if i < 20 * min(len(enterprise), 2):  # named accounts listed by domain on two reps
                tier, domain = "named", named_domain(i // 20, i % 20)
            elif roll < 0.02:  # named accounts with an owner
                tier, owner = "named", rng.choice(enterprise)
            elif roll < 0.1:
                tier = "target"
            account_rows.append(
                (
                    i + 1,
                    domain,
                    f"Company {i}",
                    rng.choice(INDUSTRIES),
                    rng.choices([8, 30, 120, 450, 800, 2500, 12000], [20, 30, 30, 10, 5, 3, 2])[0],
                    "JP",
                    REGION_OF[prefecture],
                    prefecture,
                    tier,
                    owner,
                    now_text,
                    now_text,
                )
            )
        account_ids = [row[0] for row in account_rows]
        tier_of = {row[0]: row[8] for row in account_rows}
        prefecture_of = {row[0]: row[7] for row in account_rows}
        lead_rows = []
        for i in range(leads):
            account_id = rng.choice(account_ids) if rng.random() < 0.85 else None
            home = (
                prefecture_of[account_id] if account_id and rng.random() < 0.7 else rng.choices(prefectures, weights)[0]
            )
            roll = rng.random()
            lead_prefecture = home if roll < 0.6 else None
            postal = rng.choice(POSTAL_CODES[home]) if home in POSTAL_CODES and roll > 0.4 else None
            area = AREA_CODES.get(home, "090")
            phone = f"{area}-{rng.randrange(1000, 9999)}-{rng.randrange(1000, 9999)}" if rng.random() < 0.5 else None
            level = rng.choices([0, 1, 2, 3, 4], [10, 20, 30, 25, 15])[0]
            total = round(rng.uniform(20, 120), 1)
            hand_raiser = rng.random() < 0.05
            mql_at = (NOW - timedelta(minutes=rng.randrange(30 * 24 * 60))).strftime(STAMP) + ("+00" if pg else "")
            lead_rows.append(
                (
                    i + 1,
                    f"person{i}@lead{i % 9973}.example.co.jp",
                    f"名{i}",
                    f"姓{i % 500}",
                    phone,
                    "JP",
                    lead_prefecture,
                    postal,
                    "house",
                    "{}",
                    account_id,
                    now_text,
                    now_text,
                    "mql",
                    mql_at,
                    "mql",
                    mql_at,
                    False,
                    level,
                    30.0,
                    total - 30.0,
                    total,
                    True,
                    HAND_RAISER_RULE if hand_raiser else "mql_score",
                    mql_at,
                    tier_of.get(account_id) in ("named", "target") if account_id else False,
                    0,
                )
            )
        loads = (("accounts", _ACCOUNT_COLUMNS, account_rows), ("leads", _LEAD_COLUMNS, lead_rows))
        if pg:
            for table, columns, rows in loads:
                with cursor.copy(queries.copy_rows(table, columns)) as copy:
                    for row in rows:
                        copy.write_row(row)
            for table, _, _ in loads:  # the COPY gave explicit ids
                cursor.execute(queries.reset_id_sequence(table))
            cursor.execute(queries.analyze())
        else:
            for table, columns, rows in loads:
                cursor.executemany(queries.insert_rows(table, columns), rows)
        cursor.close()
    return {"accounts": len(account_rows), "named_accounts": sum(t == "named" for t in tier_of.values())}


# --- the run --------------------------------------------------------------------------------


def _route_per_lead(relay: LeadRelay) -> list[RoutedRow]:
    """What ``LeadRelay.route()`` did before routing in sets: ``route_leads``, one decision at a time."""
    playbook = relay.playbook().playbook
    with relay.store.transaction() as tx:
        take_routing_lock(tx)
        ids = pending_ids(tx, playbook)
        return [RoutedRow.of(r) for r in route_leads(tx, playbook, ids, NOW, actor="benchmark")]


def _write_floor(relay: LeadRelay) -> dict[str, float]:
    """The raw driver writing the rows routing wrote (the owners of every lead routed, in id order,
    and the decision log, in its order) into the same tables with their indexes, in a transaction
    rolled back: the least these writes cost on this database. SQLite: ``executemany`` under the
    page cache routing uses; PostgreSQL: ``COPY`` (the owners into a temporary table, then one
    ``UPDATE … FROM``). The decision log is then twice as long as it was when routing wrote it."""
    with relay.store.engine.connect() as connection:
        transaction = connection.begin()
        try:
            driver = connection.connection.driver_connection
            assert driver is not None
            cursor = driver.cursor()
            pg = connection.dialect.name == "postgresql"
            cursor.execute(queries.ROUTED_OWNERS)
            owners = cursor.fetchall()
            cursor.execute(queries.routing_decision_rows(DECISION_COLUMNS))
            log = cursor.fetchall()
            if pg:
                log = [(*row[:9], json.dumps(row[9], ensure_ascii=False), *row[10:]) for row in log]
            else:
                cursor.execute(queries.set_page_cache_size(-64 * 1024))
            started, cpu = time.perf_counter(), time.process_time()
            if pg:
                cursor.execute(queries.CREATE_OWNERS_TABLE)
                with cursor.copy(queries.COPY_OWNERS) as copy:
                    for rep, department, _, lead_id in owners:
                        copy.write_row((lead_id, rep, department))
                cursor.execute(queries.UPDATE_FROM_OWNERS, (NOW,))
            else:
                cursor.executemany(queries.ASSIGN_OWNER, owners)
            owners_s, owners_cpu = time.perf_counter() - started, time.process_time() - cpu
            started, cpu = time.perf_counter(), time.process_time()
            if pg:
                with cursor.copy(queries.copy_rows("routing_decisions", DECISION_COLUMNS)) as copy:
                    for row in log:
                        copy.write_row(row)
            else:
                cursor.executemany(queries.insert_rows("routing_decisions", DECISION_COLUMNS), log)
            log_s, log_cpu = time.perf_counter() - started, time.process_time() - cpu
            cursor.close()
        finally:
            transaction.rollback()
    return {
        "floor_owners_seconds": owners_s,
        "floor_owners_cpu_seconds": owners_cpu,
        "floor_log_seconds": log_s,
        "floor_log_cpu_seconds": log_cpu,
    }


def _child(url: str, profile: str | None, per_lead: bool, out: Any) -> None:
    with LeadRelay.open(url, clock=FakeClock(NOW)) as relay:
        relay.playbook()  # parsed and cached before the clock starts
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        profiler = cProfile.Profile() if profile else None
        started = time.perf_counter()
        cpu_started = time.process_time()
        if profiler is not None:
            profiler.enable()
        routed = _route_per_lead(relay) if per_lead else relay.route(actor="benchmark")
        if profiler is not None:
            profiler.disable()
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu_started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        with relay.store.engine.connect() as connection:
            stored = connection.execute(sa.text(queries.COUNT_ROUTING_DECISIONS)).scalar_one()
            by_strategy: dict[str, int] = dict(connection.execute(sa.text(queries.ROUTING_DECISIONS_BY_STRATEGY)).all())
            by_rule: dict[str, int] = dict(connection.execute(sa.text(queries.ROUTING_DECISIONS_BY_RULE)).all())
            over_capacity = [r.rep for r in relay.reps() if r.capacity is not None and r.open > r.capacity]
            unrouted = connection.execute(sa.text(queries.COUNT_MQLS_WITHOUT_DEPARTMENT)).scalar_one()
            messages = connection.execute(sa.text(queries.COUNT_OUTBOX)).scalar_one()
            clocks = connection.execute(sa.text(queries.COUNT_TIMERS)).scalar_one()
        floor = _write_floor(relay)
    figures: dict[str, Any] = {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "routed": len(routed),
        "returned_by_strategy": dict(Counter(r.strategy or "queued" for r in routed)),
        "decisions_stored": stored,
        "stored_by_strategy": by_strategy,
        "stored_by_rule": by_rule,
        "unrouted": unrouted,
        "over_capacity": over_capacity,
        "messages_stored": messages,
        "timers_stored": clocks,
        **floor,
        "rss_before_route_mb": round(rss_before),
        "peak_rss_mb": round(peak),
    }
    if profiler is not None and profile is not None:
        profiler.dump_stats(profile)
        text = io.StringIO()
        stats = pstats.Stats(profiler, stream=text).strip_dirs()
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(40)
        figures["profile"] = text.getvalue()
    out.put(figures)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=positive, default=100_000)
    parser.add_argument("--reps", type=positive, default=50)
    parser.add_argument("--db", default=None, help="PostgreSQL server URL (default: a SQLite file in a temp folder)")
    parser.add_argument("--tmp", type=Path, default=None, help="Folder for the SQLite file (default: system temp)")
    parser.add_argument("--profile", default=None, help="cProfile the route() call into this file; print the top")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument("--per-lead", action="store_true", help="route one lead at a time (route_leads), as before")
    parser.add_argument(
        "--sla-notifications",
        action="store_true",
        help="the playbook also e-mails each rep routed a lead and starts its SLA clocks (two timers per clock)",
    )
    parser.add_argument("--save-as", default=None, help="name of the JSON file (default routing-<db>[-sla])")
    args = parser.parse_args()
    if args.reps < len(DEPARTMENTS):
        parser.error(f"--reps must be at least {len(DEPARTMENTS)} (one per department)")
    kind = "postgresql" if args.db else "sqlite"
    text, ids = playbook_text(args.reps, args.leads, sla_notifications=args.sla_notifications)
    with tempfile.TemporaryDirectory(dir=args.tmp) as folder, fresh_database(args.db, Path(folder)) as url:
        path = Path(folder) / "routing-benchmark.yaml"
        path.write_text(text, encoding="utf-8")
        with LeadRelay.open(url, clock=FakeClock(NOW)) as relay:
            relay.use_playbook(path)
        started = time.perf_counter()
        data = generate(url, args.leads, ids)
        generated = time.perf_counter() - started
        load_before = list(os.getloadavg())
        run = in_fresh_process(_child, url, args.profile, args.per_lead)
    seconds = run["seconds"]
    figures = {
        "benchmark": "routing",
        "database": kind,
        "leads": args.leads,
        "reps": sum(len(v) for v in ids.values()),
        "reps_by_department": {name: len(v) for name, v in ids.items()},
        **data,
        "generate_seconds": round(generated, 1),
        "route_seconds": round(seconds, 3),
        "route_cpu_seconds": round(run["cpu_seconds"], 3),  # this process only (the database server's not counted)
        "decisions_per_s": round(run["routed"] / seconds),
        "goal_decisions_per_s": GOAL_PER_S,
        "goal_met": run["routed"] / seconds >= GOAL_PER_S,
        "decisions_returned": run["routed"],
        "decisions_stored": run["decisions_stored"],
        "stored_by_strategy": run["stored_by_strategy"],
        "stored_by_rule": run["stored_by_rule"],
        "unrouted_after": run["unrouted"],
        "sla_notifications": args.sla_notifications,
        "messages_stored": run["messages_stored"],
        "timers_stored": run["timers_stored"],
        "write_floor_seconds": round(run["floor_owners_seconds"] + run["floor_log_seconds"], 3),
        "write_floor_cpu_seconds": round(run["floor_owners_cpu_seconds"] + run["floor_log_cpu_seconds"], 3),
        "write_floor": {k: round(v, 3) for k, v in run.items() if k.startswith("floor_")},
        "reps_over_capacity": run["over_capacity"],
        "rss_before_route_mb": run["rss_before_route_mb"],
        "peak_rss_mb": run["peak_rss_mb"],
        "profiled": bool(args.profile),
        "routed_in_sets": not args.per_lead,
        "load_average_before": load_before,
        "load_average": list(os.getloadavg()),
        "machine": machine(),
    }
    name = args.save_as or f"routing-{kind}" + ("-sla" if args.sla_notifications else "")
    publish(figures, args.out, name, save=not args.profile)
    if args.profile:
        print(run["profile"])


if __name__ == "__main__":
    main()
