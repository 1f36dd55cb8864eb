"""The HTTP API under load: intake throughput and speed-to-lead, server and worker in their own processes.

    python benchmarks/api.py                          # SQLite file
    python benchmarks/api.py --postgres               # PostgreSQL at LEADRELAY_TEST_POSTGRES_URL (or --postgres URL)
    python benchmarks/api.py --quick                  # a tiny run (seconds): does everything work
    python benchmarks/api.py --profile prof.txt       # the server under yappi (every thread), top functions to prof.txt

On a fresh database it starts ``leadrelay serve`` and ``leadrelay worker`` as processes of their
own (``--with-worker``: the worker loop inside ``leadrelay serve`` instead), and a receiver process standing in for the rep's chat webhook (HTTP) and the mail server
(SMTP, aiosmtpd) that record when each notification arrives. This process is the load generator:
an asyncio client over ``--connections`` keep-alive connections (its own small
HTTP/1.1 client: see :class:`Connection`). Phases, one after the other:

1. **floor**: ``GET /healthz`` (no key, one ``SELECT 1``): what the server, the framework and this
   client do at most, with no leadrelay work;
2. **single**: ``--requests`` single-activity ``POST /v1/activities`` (a page view or an e-mail
   open by one of ``--leads`` leads): requests/s and latency p50/p95/p99;
3. **batch**: ``--batches`` ``POST /v1/activities`` of 1,000 activities each: activities/s;
4. **speed-to-lead**: for ``--seconds``, the single-activity load goes on while a hand-raiser
   (a demo request from a new lead) is posted every ``--every`` seconds; the response comes after
   the commit that routed the lead and wrote its notifications, so the request latency is
   "hand-raiser → rep assigned and notification committed" (p50/p99); every hand-raiser's rep is
   read back from the database afterwards; and "hand-raiser → chat webhook received" by the
   receiver (p50/p99), which the worker delivers.

Figures go to stdout and ``benchmarks/results/api-<db>.json`` (``api-<db>-quick.json`` for
``--quick``), with the goals of issue 12 and whether each was reached.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from _shared import database, machine, positive, publish

from leadrelay import LeadRelay
from leadrelay.adapters.playbook.loader import default_playbook_path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
ADMIN = "bench-admin@example.co.jp"
#: hand-raisers' addresses: the receiver picks these out of the chat messages
HAND_RAISER = re.compile(r"hr-\d+@[a-z0-9.-]+")
GOALS = {
    "single_per_second": 1500,
    "single_p99_ms": 50,
    "batch_activities_per_second": 30_000,
    "hand_raiser_p99_ms": 50,
    "form_to_webhook_p99_ms": 1000,
}
TYPES = ("page_viewed", "email_opened")
FORM = "/forms/contact"  # the default playbook's contact form
ORIGIN = "https://www.example.co.jp"  # on its allow-list
PAGES = ("/", "/product", "/pricing", "/case-studies", "/blog/dx")


# --- the receiver: chat webhooks and e-mail, each arrival's time kept -------------------------------


def receive(http_port: int, smtp_port: int) -> None:
    """Runs in a process of its own: an HTTP server taking the chat webhooks (it keeps when each
    hand-raiser's message arrived, by the lead's address in its text) and an SMTP server taking
    the e-mails (counted). ``GET /seen`` answers what arrived."""
    from aiosmtpd.controller import Controller

    arrived: dict[str, float] = {}
    counts = {"webhooks": 0, "emails": 0}

    class Hooks(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            now = time.time()
            counts["webhooks"] += 1
            for address in HAND_RAISER.findall(body.decode("utf-8", "replace")):
                arrived.setdefault(address, now)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:
            body = json.dumps({"arrived": arrived, **counts}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            pass

    class Mail:
        async def handle_DATA(self, _server: Any, _session: Any, _envelope: Any) -> str:
            counts["emails"] += 1
            return "250 OK"

    mail = Controller(Mail(), hostname="127.0.0.1", port=smtp_port)
    mail.start()
    server = ThreadingHTTPServer(("127.0.0.1", http_port), Hooks)
    server.daemon_threads = True
    server.serve_forever()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for(url: str, seconds: float, what: str, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            if process is not None and process.poll() is not None:
                raise SystemExit(f"{what} exited with code {process.returncode}") from None
            if time.monotonic() > deadline:
                raise SystemExit(f"{what} did not answer at {url} within {seconds:g} s") from None
            time.sleep(0.1)


@contextmanager
def receiver() -> Iterator[tuple[str, int]]:
    """The receiver process; yields its base URL and its SMTP port."""
    http_port, smtp_port = free_port(), free_port()
    process = multiprocessing.get_context("spawn").Process(target=receive, args=(http_port, smtp_port), daemon=True)
    process.start()
    base = f"http://127.0.0.1:{http_port}"
    wait_for(base + "/seen", 30, "the receiver")
    try:
        yield base, smtp_port
    finally:
        process.terminate()
        process.join(5)


def seen(base: str) -> dict[str, Any]:
    answer: dict[str, Any] = json.loads(urllib.request.urlopen(base + "/seen", timeout=10).read())
    return answer


# --- the server and the worker -----------------------------------------------------------------------


#: Every day of the week, for the reps of the benchmark's playbook.
EVERY_DAY = "working_days: [mon, tue, wed, thu, fri, sat, sun]"


def every_day_playbook(folder: Path) -> Path:
    """The default playbook with every rep at work every day: a hand-raiser finds a rep whatever
    day the benchmark runs on (on a Saturday in Tokyo the default reps are all off, and each lead
    would wait in Marketing's queue), and the routing is the same work."""
    text = default_playbook_path().read_text(encoding="utf-8")
    text = re.sub(r"working_days: \[mon, tue, wed\]", EVERY_DAY, text)  # the part-timer
    text = re.sub(r"(- \{id: (?:is|rep)-[a-z]+, [^}\n]*capacity: \d+)", rf"\1, {EVERY_DAY}", text)
    path = folder / "every-day.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def prepare(url: str, folder: Path) -> str:
    """The database migrated, the default playbook with reps at work every day active
    (:func:`every_day_playbook`), an admin user; returns its API key."""
    with LeadRelay.open(url) as relay:
        relay.use_playbook(every_day_playbook(folder))
        relay.add_user(ADMIN, role="admin", actor="benchmark")
        return relay.create_key(ADMIN, actor="benchmark", name="benchmark").key


def environment(url: str, hooks: str, smtp_port: int, port: int, workers: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADRELAY_")}
    env.update(
        LEADRELAY_DB=url,
        LEADRELAY_LANG="en",
        LEADRELAY_HTTP_HOST="127.0.0.1",
        LEADRELAY_HTTP_PORT=str(port),
        LEADRELAY_HTTP_WORKERS=str(workers),
        LEADRELAY_SMTP_URL=f"smtp://127.0.0.1:{smtp_port}",
        LEADRELAY_SMTP_FROM="leadrelay@example.co.jp",
        LEADRELAY_SALES_CHAT_WEBHOOK_URL=hooks + "/chat",
        # every hand-raiser comes from this one address: lift the per-IP limit on form posts
        LEADRELAY_FORM_RATE_PER_MINUTE="1000000",
        LEADRELAY_FORM_BURST="100000",
        PYTHONPATH=os.pathsep.join(filter(None, [str(HERE), env.get("PYTHONPATH")])),
    )
    return env


def leadrelay_command(profile: Path | None) -> list[str]:
    """``python -m leadrelay``, or under yappi (``_profiled.py``) writing its figures to ``profile``."""
    if profile is None:
        return [sys.executable, "-m", "leadrelay"]
    return [sys.executable, str(HERE / "_profiled.py"), str(profile)]


@contextmanager
def running(command: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A process, stopped with SIGTERM (then killed) at the end; its output goes to ``log``."""
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        try:
            yield process
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(60)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


# --- the load ------------------------------------------------------------------------------------------


def moment(seconds_ago: float = 1.0) -> str:
    return (datetime.now(UTC) - timedelta(seconds=seconds_ago)).isoformat()


def activity(chance: random.Random, leads: int) -> dict[str, Any]:
    """A page view or an e-mail open by one of ``leads`` leads of 200 companies."""
    n = chance.randrange(leads)
    kind = chance.choice(TYPES)
    record: dict[str, Any] = {"email": f"lead{n}@co{n % 200}.example.co.jp", "type": kind, "occurred_at": moment()}
    if kind == "page_viewed":
        record["properties"] = {"url": chance.choice(PAGES)}
    return record


def hand_raiser(n: int) -> dict[str, str]:
    """The default playbook's contact form as a landing page posts it, "wants contact" checked:
    a hand-raiser from a new lead."""
    return {
        "email": f"hr-{n}@maker{n % 50}.example.co.jp",
        "company": f"メーカー{n % 50}",
        "name": f"佐藤 健{n}",
        "phone": "03-1234-5678",
        "wants_contact": "on",
        "title": "部長",
        "position": "manager",
        "department": "it",
        "prefecture": "東京都",
        "website": "",  # the honeypot, left empty as people do
    }


class Connection:
    """One keep-alive HTTP/1.1 connection: a request at a time, the answer read whole.

    The load generator's own client, because it has to cost far less than the server it drives:
    on this project's 2-core machine httpx's AsyncClient takes 1.5–3.7 ms of CPU per request
    (measured against a bare FastAPI endpoint: 170–370 requests/s from one process), this one
    about 0.05 ms."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes = b"", headers: str = "") -> tuple[int, bytes]:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        assert self._reader is not None
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Length: {len(body)}\r\n{headers}\r\n"
        self._writer.write(head.encode() + body)
        await self._writer.drain()
        status_line, _, rest = (await self._reader.readuntil(b"\r\n\r\n")).partition(b"\r\n")
        fields = {}
        for line in rest.split(b"\r\n"):
            name, _, value = line.partition(b":")
            fields[name.strip().lower()] = value.strip()
        if fields.get(b"transfer-encoding", b"").lower() == b"chunked":
            chunks = []
            while size := int((await self._reader.readuntil(b"\r\n")).strip(), 16):
                chunks.append(await self._reader.readexactly(size + 2))
            await self._reader.readuntil(b"\r\n")
            answer = b"".join(c[:-2] for c in chunks)
        else:
            answer = await self._reader.readexactly(int(fields.get(b"content-length", b"0")))
        if fields.get(b"connection", b"").lower() == b"close":
            await self.close()
        return int(status_line.split()[1]), answer

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._reader = self._writer = None


Request = Callable[[Connection], Awaitable[tuple[int, bytes]]]


@dataclass
class Timings:
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)  # seconds, of the successful requests
    errors: dict[str, int] = field(default_factory=dict)

    def fail(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1

    def figures(self, per: int = 1) -> dict[str, Any]:
        done = len(self.latencies)
        return {
            "requests": done,
            "errors": self.errors,
            "seconds": round(self.seconds, 3),
            "requests_per_second": round(done / self.seconds, 1) if self.seconds else 0.0,
            **({"items_per_second": round(done * per / self.seconds, 1)} if per > 1 and self.seconds else {}),
            **percentiles(self.latencies),
        }


def percentiles(values: list[float]) -> dict[str, float | None]:
    """p50, p95, p99 and max in milliseconds (nearest rank)."""
    ordered = sorted(values)

    def rank(q: float) -> float | None:
        if not ordered:
            return None
        return round(ordered[min(len(ordered) - 1, max(0, int(q * len(ordered) + 0.5) - 1))] * 1000, 1)

    return {"p50_ms": rank(0.50), "p95_ms": rank(0.95), "p99_ms": rank(0.99), "max_ms": rank(1.0)}


async def timed(connection: Connection, request: Request, timings: Timings) -> tuple[int, bytes] | None:
    started = time.perf_counter()
    try:
        status, body = await request(connection)
    except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
        timings.fail(type(exc).__name__)
        await connection.close()
        return None
    if 200 <= status < 300:
        timings.latencies.append(time.perf_counter() - started)
    else:
        timings.fail(f"HTTP {status}: {body[:160].decode('utf-8', 'replace')}")
    return status, body


async def closed_loop(
    plan: Plan, make: Callable[[int], Request], count: int | None, connections: int, until: float = 0.0
) -> Timings:
    """``connections`` loops, each on its own connection, sending its next request when the last
    one was answered: ``count`` requests in all, or (``count`` None) until ``time.perf_counter()``
    passes ``until``."""
    timings = Timings()
    numbers = iter(range(count if count is not None else 1 << 62))

    async def loop() -> None:
        connection = Connection(plan.host, plan.port)
        try:
            for n in numbers:
                if count is None and time.perf_counter() >= until:
                    return
                await timed(connection, make(n), timings)
        finally:
            await connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(connections)))
    timings.seconds = time.perf_counter() - started
    return timings


@dataclass(frozen=True)
class Plan:
    host: str
    port: int
    key: str
    connections: int
    requests: int
    leads: int
    batches: int
    batch_size: int
    batch_connections: int
    seconds: float
    every: float
    seed: int


def post_json(path: str, body: Any, key: str) -> Request:
    content = json.dumps(body, ensure_ascii=False).encode()
    headers = f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
    return lambda connection: connection.request("POST", path, content, headers)


def post_form(path: str, fields: dict[str, str]) -> Request:
    """A browser's form post from the landing page, as ``fetch()`` sends it (JSON answer)."""
    content = urlencode(fields).encode()
    headers = f"Content-Type: application/x-www-form-urlencoded\r\nAccept: application/json\r\nOrigin: {ORIGIN}\r\n"
    return lambda connection: connection.request("POST", path, content, headers)


async def drive(plan: Plan) -> dict[str, Any]:
    chance = random.Random(plan.seed)
    out: dict[str, Any] = {}

    def healthz(_n: int) -> Request:
        return lambda connection: connection.request("GET", "/healthz")

    def single(_n: int) -> Request:
        return post_json("/v1/activities", activity(chance, plan.leads), plan.key)

    def batch(_n: int) -> Request:
        return post_json(
            "/v1/activities", {"records": [activity(chance, plan.leads) for _ in range(plan.batch_size)]}, plan.key
        )

    await closed_loop(plan, single, max(plan.connections * 5, 50), plan.connections)  # warm-up
    out["floor"] = (await closed_loop(plan, healthz, plan.requests, plan.connections)).figures()
    out["single"] = (await closed_loop(plan, single, plan.requests, plan.connections)).figures()
    out["batch"] = (await closed_loop(plan, batch, plan.batches, plan.batch_connections)).figures(plan.batch_size)
    out["speed_to_lead"] = await speed_to_lead(plan, single)
    return out


async def speed_to_lead(plan: Plan, single: Callable[[int], Request]) -> dict[str, Any]:
    """Hand-raisers every ``plan.every`` seconds while ``connections - 1`` loops keep up the load."""
    until = time.perf_counter() + plan.seconds
    background = asyncio.ensure_future(closed_loop(plan, single, None, max(plan.connections - 1, 1), until))
    raised = Timings()
    sent_at: dict[str, float] = {}
    connection = Connection(plan.host, plan.port)
    started = time.perf_counter()
    n = 0
    while time.perf_counter() < until:
        fields = hand_raiser(n)
        sent_at[fields["email"]] = time.time()
        await timed(connection, post_form(FORM, fields), raised)
        n += 1
        pause = started + n * plan.every - time.perf_counter()
        if pause > 0:
            await asyncio.sleep(pause)
    raised.seconds = time.perf_counter() - started
    await connection.close()
    load = await background
    return {"hand_raisers": raised, "background": load, "sent_at": sent_at}


# --- putting it together ---------------------------------------------------------------------------------


def reps_assigned(url: str, addresses: list[str]) -> dict[str, str | None]:
    """Each hand-raiser's rep, read back from the database."""
    with LeadRelay.open(url) as relay:
        return {address: relay.lead(address).owner.rep for address in addresses}


def webhook_latencies(hooks: str, sent_at: dict[str, float], wait: float) -> tuple[list[float], int]:
    """Seconds from each hand-raiser's post to its chat message at the receiver (waiting up to
    ``wait`` seconds for the last ones), and how many never arrived."""
    deadline = time.monotonic() + wait
    while True:
        arrived: dict[str, float] = seen(hooks)["arrived"]
        if set(sent_at) <= set(arrived) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    latencies = [arrived[a] - sent for a, sent in sent_at.items() if a in arrived]
    return latencies, len(sent_at) - len(latencies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", nargs="?", const="postgresql", default=None, metavar="URL",
                        help="PostgreSQL (a scratch database on the server at URL, default LEADRELAY_TEST_POSTGRES_URL)")  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="a tiny run: does everything work")
    parser.add_argument("--connections", type=positive, default=None, help="concurrent connections (default 16)")
    parser.add_argument("--requests", type=positive, default=None, help="single-activity posts (default 10,000)")
    parser.add_argument("--leads", type=positive, default=5000, help="leads the activities are spread over")
    parser.add_argument("--batches", type=positive, default=None, help="batch posts (default 30)")
    parser.add_argument("--batch-size", type=positive, default=1000)
    parser.add_argument("--batch-connections", type=positive, default=2)
    parser.add_argument("--seconds", type=float, default=None, help="speed-to-lead phase (default 20)")
    parser.add_argument("--every", type=float, default=0.1, help="seconds between hand-raisers")
    parser.add_argument("--server-workers", type=positive, default=1, help="leadrelay serve --workers")
    parser.add_argument("--with-worker", action="store_true", help="leadrelay serve --with-worker, no worker process")
    parser.add_argument("--profile", type=Path, default=None, help="run the server under yappi; top functions here")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args()
    quick = args.quick
    connections = args.connections or (4 if quick else 16)
    kind = "postgresql" if args.postgres else "sqlite"
    load_before = os.getloadavg()
    with ExitStack() as stack, tempfile.TemporaryDirectory() as folder:
        url = stack.enter_context(database(args.postgres or "sqlite"))
        key = prepare(url, Path(folder))
        hooks, smtp_port = stack.enter_context(receiver())
        port = free_port()
        env = environment(url, hooks, smtp_port, port, args.server_workers)
        logs = Path(folder)
        serve = [*leadrelay_command(args.profile), "serve", "--no-access-log", *(["--with-worker"] * args.with_worker)]
        server = stack.enter_context(running(serve, env, logs / "server.log"))
        worker = [sys.executable, "-m", "leadrelay", "worker", "--quiet"]
        (logs / "worker.log").touch()
        if not args.with_worker:
            stack.enter_context(running(worker, env, logs / "worker.log"))
        try:
            wait_for(f"http://127.0.0.1:{port}/healthz", 60, "leadrelay serve", server)
            plan = Plan(
                host="127.0.0.1",
                port=port,
                key=key,
                connections=connections,
                requests=args.requests or (200 if quick else 10_000),
                leads=args.leads,
                batches=args.batches or (2 if quick else 30),
                batch_size=args.batch_size,
                batch_connections=args.batch_connections,
                seconds=args.seconds or (2.0 if quick else 20.0),
                every=args.every,
                seed=args.seed,
            )
            phases = asyncio.run(drive(plan))
            speed = phases.pop("speed_to_lead")
            webhook, missing = webhook_latencies(hooks, speed["sent_at"], 30)
            reps = reps_assigned(url, list(speed["sent_at"]))
            delivered = seen(hooks)
        except BaseException:
            for name in ("server", "worker"):
                print(
                    f"--- {name} log ---\n{(logs / f'{name}.log').read_text(errors='replace')[-4000:]}", file=sys.stderr
                )
            raise
    raised: Timings = speed["hand_raisers"]
    single, batch = phases["single"], phases["batch"]
    figures = {
        "benchmark": "api",
        "database": kind,
        "quick": quick,
        "connections": connections,
        "server_workers": args.server_workers,
        "worker": "leadrelay serve --with-worker (a thread)" if args.with_worker else "leadrelay worker (a process)",
        "floor_healthz": phases["floor"],
        "single_activity_post": single,
        "batch_post": {**batch, "batch_size": args.batch_size, "connections": args.batch_connections},
        "speed_to_lead": {
            "hand_raiser_post": raised.figures(),
            "background_single_posts": speed["background"].figures(),
            "hand_raisers_assigned_a_rep": sum(1 for rep in reps.values() if rep),
            "hand_raisers_without_rep": sorted(a for a, rep in reps.items() if not rep),
            "form_to_webhook": {**percentiles(webhook), "received": len(webhook), "missing": missing},
        },
        "receiver": {"webhooks": delivered["webhooks"], "emails": delivered["emails"]},
        "goals": GOALS,
        "reached": {
            "single_per_second": single["requests_per_second"] >= GOALS["single_per_second"],
            "single_p99_ms": _at_most(single["p99_ms"], GOALS["single_p99_ms"]),
            "batch_activities_per_second": batch.get("items_per_second", 0) >= GOALS["batch_activities_per_second"],
            "hand_raiser_p99_ms": _at_most(raised.figures()["p99_ms"], GOALS["hand_raiser_p99_ms"]),
            "form_to_webhook_p99_ms": _at_most(percentiles(webhook)["p99_ms"], GOALS["form_to_webhook_p99_ms"]),
        },
        "profile": str(args.profile) if args.profile else None,
        # the machine is shared: the 1-minute load average before and after says how much
        "load_average": {"before": round(load_before[0], 2), "after": round(os.getloadavg()[0], 2)},
        "machine": machine(),
    }
    publish(figures, args.out, f"api-{kind}{'-quick' if quick else ''}")


def _at_most(value: float | None, goal: float) -> bool:
    return value is not None and value <= goal


if __name__ == "__main__":
    main()
