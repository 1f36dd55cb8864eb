"""The playbooks a database holds: the active one, every stored version, and who activated which when.

A playbook is stored by its hash with its text the first time it is used; every time a playbook
becomes the active one (``leadrelay playbook apply``, ``POST /v1/playbook/activate``, or the
bundled default on first use) an activation is kept with its time and actor (``playbook_activations``).
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from leadrelay.adapters.playbook.loader import LoadedPlaybook, PlaybookError
from leadrelay.adapters.store.sql_store import StoreTx
from leadrelay.services.read_models import Moment, ReadModel, local


class Activation(ReadModel):
    at: Moment
    by: str


class PlaybookVersion(ReadModel):
    """One stored playbook: which it is, when it was first stored, every activation of it."""

    hash: str
    id: str
    version: str
    name: str
    source: str  # the file (or upload) it came from
    loaded_at: Moment
    active: bool
    activations: list[Activation]


class PlaybookView(ReadModel):
    """The active playbook: which, since when and by whom, and its document (as YAML text and parsed)."""

    hash: str
    id: str
    version: str
    name: str
    source: str
    activated_at: Moment | None  # None: activated before activations were recorded
    activated_by: str | None
    text: str
    document: dict[str, Any]


class PlaybookProblem(ReadModel):
    """Why a candidate playbook cannot be used: the line, the rule and what is wrong."""

    line: int | None
    rule: str | None
    where: str
    message: str

    @classmethod
    def of(cls, error: PlaybookError) -> PlaybookProblem:
        return cls(line=error.line, rule=error.rule_id, where=error.where, message=error.message)


class PlaybookCheck(ReadModel):
    """A candidate playbook checked: valid (with its id, version and hash), or its errors."""

    valid: bool
    id: str | None
    version: str | None
    hash: str | None
    errors: list[PlaybookProblem]


def _by_hash(tx: StoreTx) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for row in tx.activations():
        out.setdefault(row.hash, []).append(row)
    return out


def playbook_view(tx: StoreTx, loaded: LoadedPlaybook, tz: tzinfo) -> PlaybookView:
    pb = loaded.playbook
    last = (_by_hash(tx).get(pb.hash) or [None])[-1]
    return PlaybookView(
        hash=pb.hash,
        id=pb.id,
        version=pb.version,
        name=pb.name,
        source=loaded.source,
        activated_at=None if last is None else local(last.activated_at, tz),
        activated_by=None if last is None else last.activated_by,
        text=loaded.text,
        document=loaded.document.model_dump(mode="json", by_alias=True),
    )


def playbook_versions(tx: StoreTx, active_hash: str | None, tz: tzinfo) -> list[PlaybookVersion]:
    """Every stored playbook, the most recently activated first (never activated: last)."""
    activations = _by_hash(tx)
    versions = [
        PlaybookVersion(
            hash=row.hash,
            id=row.playbook_id,
            version=row.version,
            name=row.name,
            source=row.source,
            loaded_at=local(row.loaded_at, tz),
            active=row.hash == active_hash,
            activations=[
                Activation(at=local(a.activated_at, tz), by=a.activated_by) for a in activations.get(row.hash, [])
            ],
        )
        for row in tx.playbook_rows()
    ]
    latest = {digest: rows[-1].id for digest, rows in activations.items()}  # two activations in one second

    def last_activated(v: PlaybookVersion) -> tuple[float, int]:
        return (v.activations[-1].at.timestamp() if v.activations else float("-inf"), latest.get(v.hash, -1))

    return sorted(versions, key=last_activated, reverse=True)
