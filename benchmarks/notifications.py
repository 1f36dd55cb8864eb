"""Notification throughput: signed webhooks from the outbox to a local receiver.

    python benchmarks/notifications.py                  # SQLite file, 20,000 messages
    python benchmarks/notifications.py --full           # 100,000 messages
    python benchmarks/notifications.py --db postgresql  # PostgreSQL at LEADRELAY_TEST_POSTGRES_URL

The receiver is a separate process (``http.server``, HTTP/1.1 keep-alive, a thread per
connection) that counts requests by ``Idempotency-Key``. One worker claims the messages in
batches, delivers them over ``--concurrency`` connections (signing each with HMAC-SHA256) and marks
them sent. Figures go to stdout and ``benchmarks/results/notifications-<db>.json``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import socket
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from _shared import database, machine, positive, publish

from leadrelay.adapters.clock import SystemClock
from leadrelay.adapters.playbook.loader import default_playbook_path, load_playbook
from leadrelay.adapters.store.outbox import Message, enqueue
from leadrelay.adapters.store.sql_store import SqlStore
from leadrelay.bootstrap import make_senders
from leadrelay.config import Settings
from leadrelay.entrypoints.worker import Worker, WorkerSettings


def receive(port: int) -> None:
    keys: set[str] = set()
    total = [0]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            keys.add(self.headers.get("Idempotency-Key", ""))
            total[0] += 1
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:
            body = json.dumps({"requests": total[0], "unique": len(keys)}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


@contextmanager
def receiver() -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = multiprocessing.get_context("spawn").Process(target=receive, args=(port,), daemon=True)
    process.start()
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(url + "/count", timeout=1).read()
            break
        except OSError:
            time.sleep(0.05)
    try:
        yield url
    finally:
        process.terminate()
        process.join(5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="sqlite", help="sqlite, postgresql (LEADRELAY_TEST_POSTGRES_URL) or a URL")
    parser.add_argument("--full", action="store_true", help="100,000 messages")
    parser.add_argument("--messages", type=positive, default=None)
    parser.add_argument("--batch", type=positive, default=500)
    parser.add_argument("--concurrency", type=positive, default=4)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    count = args.messages or (100_000 if args.full else 20_000)
    playbook = load_playbook(default_playbook_path()).playbook
    with database(args.db) as url, receiver() as base:
        store = SqlStore.open(url)
        kind = store.engine.dialect.name
        now = datetime.now(UTC)
        text = (
            "新しいリードが割り当てられました：佐藤 健\nリード：佐藤 健 <k.sato@sakura-mfg.co.jp>\n会社：さくら製作所"
        )
        with store.transaction() as tx:
            for start in range(0, count, 10_000):
                messages = [
                    Message(
                        key=f"bench-{i}",
                        channel="webhook",
                        recipient="crm",
                        subject="新しいリードが割り当てられました：佐藤 健",
                        body=text,
                        event="assigned",
                        target="crm",
                        payload={
                            "format": "signed",
                            "url": base + "/hook",
                            "secret_env": "BENCH_SECRET",
                            "document": {"id": f"bench-{i}", "event": "assigned", "text": text, "lead": {"id": i}},
                        },
                    )
                    for i in range(start, min(count, start + 10_000))
                ]
                enqueue(tx, messages, now)
        config = Settings(message_batch=args.batch, concurrency=args.concurrency, poll=0.05)
        settings = WorkerSettings.from_settings(config, "bench")
        senders = make_senders(config.with_variables({"BENCH_SECRET": "s3cret"}), connections=args.concurrency)
        worker = Worker(store, lambda: playbook, SystemClock(), senders, settings, {})
        started = time.perf_counter()
        report = worker.run_once()
        seconds = time.perf_counter() - started
        worker.close()
        store.close()
        seen = json.loads(urllib.request.urlopen(base + "/count", timeout=5).read())
    result = {
        "benchmark": "notifications",
        "database": kind,
        "messages": count,
        "format": "signed webhook (HMAC-SHA256)",
        "batch": args.batch,
        "concurrency": args.concurrency,
        "sent": report.sent,
        "failed": report.failed,
        "retrying": report.retrying,
        "seconds": round(seconds, 3),
        "per_second": round(report.sent / seconds, 1),
        "receiver": seen,
        "machine": machine(),
    }
    publish(result, args.out, f"notifications-{kind}{'-full' if args.full else ''}")


if __name__ == "__main__":
    main()
