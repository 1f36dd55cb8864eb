"""Moments in and out of the store: timezone-aware UTC in Python, whatever the driver hands back.

SQLite keeps a moment as UTC text without a zone (SQLAlchemy's ``DATETIME`` format); PostgreSQL as
``timestamptz``. Every module of the store reads and writes moments through these functions.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def sqlite_time(value: datetime | None) -> str | None:
    """A moment as SQLAlchemy's SQLite DATETIME stores it (UTC, no zone, microseconds)."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the store")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


#: the lengths of SQLite's moment text without a zone: seconds, or seconds and microseconds
_ZONELESS = frozenset({19, 26})


def read_time(value: Any) -> datetime | None:
    """A stored moment (text from SQLite, a datetime from PostgreSQL, or ``None``) in UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        if len(value) in _ZONELESS:  # the store's own text: read as UTC in one step
            return datetime.fromisoformat(value + "+00:00")
        value = datetime.fromisoformat(value)
    moment: datetime = value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def stored_time(value: Any) -> datetime:
    """Like :func:`read_time`, for a moment the schema requires."""
    moment = read_time(value)
    if moment is None:
        raise ValueError("a required time is missing in the store")
    return moment
