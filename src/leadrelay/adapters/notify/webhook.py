"""Webhooks over HTTP(S) with ``httpx``: chat-compatible JSON or generic JSON signed with HMAC-SHA256.

- ``chat``: ``{"text": "..."}`` — what Slack, Microsoft Teams (incoming webhook / Workflows)
  and Google Chat incoming webhooks accept.
- ``signed``: the event as a JSON document; headers ``X-Leadrelay-Timestamp`` (Unix seconds) and
  ``X-Leadrelay-Signature: sha256=<hex>``, the HMAC-SHA256 of ``"<timestamp>.<body>"`` with the
  secret from the channel's ``secret_env`` variable.

The channel's variables (``url_env``, ``secret_env``) are looked up when a message is sent, with
the ``lookup`` the sender was given (:meth:`leadrelay.config.Settings.variable`). Verify with :func:`verify_signature`.

Every request carries ``Idempotency-Key`` (the outbox key): the same message sent again after a
crash has the same key. 2xx is delivered; 408, 425, 429 and 5xx are retried (``Retry-After``
honoured); other 4xx answers are given up at once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import datetime

import httpx

from leadrelay.adapters.notify.errors import DeliveryError
from leadrelay.adapters.store.outbox import OutboxMessage

SIGNATURE_HEADER = "X-Leadrelay-Signature"
TIMESTAMP_HEADER = "X-Leadrelay-Timestamp"
_RETRY_STATUSES = frozenset({408, 425, 429})


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value for ``body`` sent at ``timestamp``: ``sha256=<hex>``."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(
    secret: str, body: bytes, timestamp: str, signature: str, *, now: float, tolerance: float = 300.0
) -> bool:
    """What a receiver does: the signature matches and the timestamp is within ``tolerance`` seconds."""
    try:
        moment = int(timestamp)
    except ValueError:
        return False
    if abs(now - moment) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, moment, body), signature)


def chat_body(message: OutboxMessage) -> bytes:
    return json.dumps({"text": f"{message.subject}\n{message.body}"}, ensure_ascii=False).encode("utf-8")


class WebhookSender:
    """Posts webhook messages; one connection pool shared by the delivering threads."""

    def __init__(self, lookup: Callable[[str], str | None], timeout: float = 10.0, connections: int = 32) -> None:
        self.lookup = lookup
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        self.client = httpx.Client(timeout=timeout, limits=limits, headers={"User-Agent": "leadrelay"})

    def send(self, message: OutboxMessage, now: datetime) -> None:
        payload = message.payload
        url = payload.get("url")
        if not url:
            name = payload.get("url_env")
            url = (self.lookup(name) or "") if name else ""
            if not url:
                raise DeliveryError(f"{name} is not set: no URL for webhook channel '{message.target}'", permanent=True)
        headers = {"Content-Type": "application/json; charset=utf-8", "Idempotency-Key": message.key}
        if payload.get("format") == "signed":
            secret_name = payload.get("secret_env")
            secret = (self.lookup(secret_name) or "") if secret_name else ""
            if not secret:
                raise DeliveryError(
                    f"{secret_name} is not set: no secret to sign webhook channel '{message.target}'", permanent=True
                )
            body = json.dumps(payload.get("document", {}), ensure_ascii=False, sort_keys=True).encode("utf-8")
            stamp = int(now.timestamp())
            headers[TIMESTAMP_HEADER] = str(stamp)
            headers[SIGNATURE_HEADER] = sign(secret, stamp, body)
            headers["X-Leadrelay-Event"] = message.event
        else:
            body = chat_body(message)
        try:
            response = self.client.post(url, content=body, headers=headers)
        except httpx.InvalidURL as exc:
            raise DeliveryError(f"bad webhook URL for channel '{message.target}': {exc}", permanent=True) from None
        except httpx.HTTPError as exc:
            raise DeliveryError(f"webhook {type(exc).__name__}: {exc}") from None
        status = response.status_code
        if 200 <= status < 300:
            return
        text = response.text[:200].strip()
        if status >= 500 or status in _RETRY_STATUSES:
            raise DeliveryError(f"webhook answered {status} {text}", retry_after=_retry_after(response))
        raise DeliveryError(f"webhook answered {status} {text}", permanent=True)

    def close(self) -> None:
        self.client.close()


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
