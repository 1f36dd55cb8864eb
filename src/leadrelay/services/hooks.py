"""Inbound webhooks: a signed payload from another tool, read with that tool's import mapping.

A hook source is declared in the playbook (``hooks:``) with the import mapping that reads its
payload (``hubspot``, ``marketo``, ``salesforce``: the same mappings as for exported files) and the
name of the variable holding its secret. A request is taken only when it carries
``X-LeadRelay-Timestamp`` (Unix seconds, within five minutes of now: an old request replayed is
refused) and ``X-LeadRelay-Signature: sha256=<hex>``, the HMAC-SHA256 of ``"<timestamp>.<body>"``
with the secret, compared in constant time. Anything else is refused before the body is read as
records, so nothing of it is stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from leadrelay.adapters.files.mappings import Mapping, load_mapping
from leadrelay.adapters.notify.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign, verify_signature
from leadrelay.adapters.records import InputError
from leadrelay.domain.playbook import Hook, Playbook
from leadrelay.errors import LeadRelayError

#: How far a request's timestamp may be from now (seconds): older requests are replays.
TOLERANCE = 300.0

__all__ = [
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "HookNotConfigured",
    "HookUnauthorized",
    "UnknownHook",
    "hook_of",
    "hook_records",
    "sign",
    "verify",
]


class UnknownHook(LeadRelayError, LookupError):
    """No hook source with that name in the active playbook."""


class HookUnauthorized(LeadRelayError, PermissionError):
    """The request is not signed with the source's secret, or its timestamp is too old."""


class HookNotConfigured(LeadRelayError, RuntimeError):
    """The variable that should hold the source's secret is not set on the server."""


def hook_of(playbook: Playbook, source: str) -> Hook:
    hook = playbook.hooks.get(source)
    if hook is None:
        raise UnknownHook(f"no hook '{source}' in the active playbook")
    return hook


def verify(secret: str | None, body: bytes, timestamp: str | None, signature: str | None, now: datetime) -> None:
    """Raise :class:`HookUnauthorized` unless ``signature`` signs ``timestamp.body`` with ``secret``
    and ``timestamp`` is within :data:`TOLERANCE` seconds of ``now``."""
    if secret is None:
        raise HookNotConfigured("the hook's signing secret is not configured on the server")
    if not timestamp or not signature:
        raise HookUnauthorized(f"the request is not signed: send {TIMESTAMP_HEADER} and {SIGNATURE_HEADER}")
    try:
        moment = int(timestamp.strip())
    except ValueError:
        raise HookUnauthorized(f"{TIMESTAMP_HEADER} must be Unix seconds") from None
    if abs(now.timestamp() - moment) > TOLERANCE:
        raise HookUnauthorized(f"{TIMESTAMP_HEADER} is more than five minutes from now: the request is refused")
    if not verify_signature(secret, body, str(moment), signature.strip(), now=now.timestamp(), tolerance=TOLERANCE):
        raise HookUnauthorized(f"{SIGNATURE_HEADER} does not match the body")


def payload_rows(payload: Any) -> list[Any]:
    """The rows of a payload: one object, a list of objects, or ``{"records": [...]}``."""
    if isinstance(payload, dict) and set(payload) == {"records"} and isinstance(payload["records"], list):
        return list(payload["records"])
    if isinstance(payload, list):
        return payload
    return [payload]


def hook_records(hook: Hook, rows: Sequence[Any], now: datetime) -> list[Any]:
    """Each row read by the hook's mapping as a leadrelay record; an :class:`InputError` in place
    of a row that cannot be read (the intake reports it with its index)."""
    mapping: Mapping = load_mapping(hook.mapping)
    kind: Literal["leads", "activities"] = "activities" if hook.records == "activities" else "leads"
    out: list[Any] = []
    for row in rows:
        if not isinstance(row, dict):
            out.append(InputError("record", "must be an object of field: value"))
            continue
        try:
            record = mapping.apply({str(k): v for k, v in row.items()}, kind)
        except InputError as exc:
            out.append(exc)
            continue
        if kind == "activities":
            if hook.activity is not None:
                record.setdefault("type", hook.activity)
            if hook.campaign is not None:
                record.setdefault("campaign", hook.campaign)
            record.setdefault("occurred_at", now.isoformat())
        out.append(record)
    return out
