"""Real receivers for delivery tests: an HTTP server on localhost and an SMTP server (aiosmtpd)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    """Answers each POST with the next status of ``statuses`` (then 200), and keeps what was
    accepted (2xx). Counts accepted requests by ``Idempotency-Key``. With ``delay``, each answer
    comes that many seconds after the request was taken (a slow chat service)."""

    statuses: list[int] = field(default_factory=list)
    accepted: list[Received] = field(default_factory=list)
    refused: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def by_key(self) -> Counter[str]:
        return Counter(r.headers.get("Idempotency-Key", "") for r in self.accepted)


@contextmanager
def webhook_receiver(statuses: list[int] | None = None, port: int = 0, delay: float = 0.0) -> Iterator[WebhookReceiver]:
    state = WebhookReceiver(list(statuses or []))

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            item = Received(self.path, dict(self.headers.items()), self.rfile.read(length))
            with state.lock:
                status = state.statuses.pop(0) if state.statuses else 200
                (state.accepted if status < 300 else state.refused).append(item)
            reply = b"ok" if status < 300 else b"try later"
            if delay:
                time.sleep(delay)
            try:
                self.send_response(status)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the sender went away (killed) while we answered

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Mailbox:
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    port: int = 0


@contextmanager
def smtp_server() -> Iterator[Mailbox]:
    """An SMTP server (aiosmtpd) on a free local port, keeping every message it receives."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import Envelope, Session

    box = Mailbox()

    class Keep:
        async def handle_DATA(self, _server: Any, _session: Session, envelope: Envelope) -> str:
            data = envelope.original_content or envelope.content
            raw = data if isinstance(data, bytes) else str(data).encode()
            parsed = message_from_bytes(raw, policy=policy.default)
            assert isinstance(parsed, EmailMessage)
            box.messages.append(parsed)
            box.envelopes.append((str(envelope.mail_from), list(envelope.rcpt_tos)))
            return "250 Message accepted for delivery"

    box.port = free_port()
    controller = Controller(Keep(), hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
