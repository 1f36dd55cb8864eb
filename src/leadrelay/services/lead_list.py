"""``GET /v1/leads``: a page of leads by filters, newest change first, with an opaque cursor.

One SQL query per page (:func:`leadrelay.adapters.store.queries.lead_page`): the filters and who may
see which lead are conditions of that query, so a page is never filtered afterwards in Python and
a rep's page holds only their own leads. Order: ``updated_at`` descending, then id descending; the
cursor is the (``updated_at``, id) of the last lead of a page, so a walk over the pages returns
each lead once even while other leads change (a lead that changes during the walk moves to the
front, before the cursor, and is not returned twice).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from leadrelay.adapters.records import InputError
from leadrelay.adapters.store.sql_store import StoreTx
from leadrelay.domain.identity import lead_key
from leadrelay.domain.lifecycle import Stage
from leadrelay.domain.playbook import Playbook
from leadrelay.services.access import Principal, Role
from leadrelay.services.read_models import Moment, ReadModel, local

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


@dataclass(frozen=True, slots=True)
class Visibility:
    """Which leads someone may see: every lead, or those of one rep and of some departments."""

    everything: bool = False
    rep: str | None = None  # the leads this rep owns
    departments: tuple[str, ...] = ()  # the leads these departments own

    def sees(self, owner_rep: str | None, owner_department: str | None) -> bool:
        if self.everything:
            return True
        if self.rep is not None and owner_rep == self.rep:
            return True
        return owner_department is not None and owner_department in self.departments

    def conditions(self) -> dict[str, Any] | None:
        """The page query's visibility conditions (``None``: every lead)."""
        if self.everything:
            return None
        out: dict[str, Any] = {}
        if self.rep is not None:
            out["visible_rep"] = self.rep
        if self.departments:
            out["visible_departments"] = list(self.departments)
        return out


EVERYTHING = Visibility(everything=True)


def visibility_of(principal: Principal) -> Visibility:
    """The leads ``principal`` may see (the rules of :func:`leadrelay.services.access.can_see_lead`):
    admin and marketing every lead, a manager their departments' leads, a rep their own."""
    if principal.role in (Role.admin, Role.marketing):
        return EVERYTHING
    if principal.role is Role.manager:
        return Visibility(departments=tuple(principal.departments))
    return Visibility(rep=principal.rep)


@dataclass(frozen=True, slots=True)
class LeadFilters:
    """What a page of leads is filtered by; ``None``/empty: not filtered by it."""

    stages: tuple[str, ...] = ()
    level: int | None = None
    owner: str | None = None  # a rep id
    department: str | None = None
    domain: str | None = None  # the account's domain
    fit_min: float | None = None
    fit_max: float | None = None
    engagement_min: float | None = None
    engagement_max: float | None = None
    total_min: float | None = None
    total_max: float | None = None
    updated_since: datetime | None = None
    q: str | None = None  # text in the name, e-mail or company (case does not matter)


class LeadListItem(ReadModel):
    """One lead of a page: who, where it stands, its scores and owner."""

    lead: str  # the lead's key: its e-mail, or id:<external id> (what /v1/leads/{ref} takes)
    email: str | None
    external_id: str | None
    name: str | None
    company: str | None  # the account's name, else the company the lead named
    account_domain: str | None
    stage: str
    level: int | None
    fit: float
    engagement: float
    total: float
    owner_rep: str | None
    owner_department: str | None
    assigned_at: Moment | None
    last_activity_at: Moment | None
    last_touch_at: Moment | None
    created_at: Moment
    updated_at: Moment


class LeadPage(ReadModel):
    """A page of leads and the cursor of the next page (``None``: this is the last page)."""

    leads: list[LeadListItem]
    limit: int
    next_cursor: str | None


def encode_position(updated_at: datetime, lead_id: int) -> str:
    text = json.dumps([updated_at.isoformat(), lead_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii").rstrip("=")


def decode_position(cursor: str) -> tuple[datetime, int]:
    """The (updated_at, id) a cursor holds; :class:`InputError` (field ``cursor``) if it is not one."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at_text, lead_id = json.loads(raw.decode("utf-8"))
        at = datetime.fromisoformat(at_text)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise InputError("cursor", "not a cursor this API gave (use next_cursor of the previous page)") from None
    if at.tzinfo is None or not isinstance(lead_id, int) or isinstance(lead_id, bool):
        raise InputError("cursor", "not a cursor this API gave (use next_cursor of the previous page)")
    return at, lead_id


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def check_filters(filters: LeadFilters) -> dict[str, Any]:
    """The filters as the page query's conditions; :class:`InputError` naming a filter that cannot be one."""
    valid = {s.value for s in Stage}
    for stage in filters.stages:
        if stage not in valid:
            raise InputError("stage", f"'{stage}' is not a stage (stages: {', '.join(s.value for s in Stage)})")
    for low, high in (("fit_min", "fit_max"), ("engagement_min", "engagement_max"), ("total_min", "total_max")):
        a, b = getattr(filters, low), getattr(filters, high)
        if a is not None and b is not None and a > b:
            raise InputError(low, f"{low} ({a:g}) is above {high} ({b:g})")
    if filters.updated_since is not None and filters.updated_since.tzinfo is None:
        raise InputError("updated_since", "give a time with its zone, e.g. 2026-11-20T00:00:00+09:00")
    out: dict[str, Any] = {}
    if filters.stages:
        out["stages"] = list(filters.stages)
    for name in (
        "level",
        "owner",
        "department",
        "fit_min",
        "fit_max",
        "engagement_min",
        "engagement_max",
        "total_min",
        "total_max",
        "updated_since",
    ):
        value = getattr(filters, name)
        if value is not None:
            out[name] = value
    if filters.domain is not None and filters.domain.strip():
        out["domain"] = filters.domain.strip().lower()
    if filters.q is not None and filters.q.strip():
        out["q"] = _like(filters.q.strip())
    return out


#: The orders of a page: ``updated`` (the default, newest change first), ``name``, ``company``,
#: ``stage`` (the lifecycle's order), ``level``, ``score``, ``owner``; ``-`` before one: descending.
SORTS = ("updated", "name", "company", "stage", "level", "score", "owner")
DEFAULT_SORT = "-updated"


def parse_sort(sort: str | None) -> tuple[str, bool]:
    """``"-score"`` → (``score``, descending); :class:`InputError` (field ``sort``) for another word."""
    raw = (sort or DEFAULT_SORT).strip()
    key, descending = (raw[1:], True) if raw.startswith("-") else (raw, False)
    if key not in SORTS:
        raise InputError("sort", f"'{raw}' is not an order (orders: {', '.join(SORTS)}; '-' before one: descending)")
    return key, descending


def _encode_sorted(sort: str, descending: bool, value: Any, lead_id: int) -> str:
    if isinstance(value, datetime):
        value = value.isoformat()
    text = json.dumps([("-" if descending else "") + sort, value, lead_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii").rstrip("=")


def _decode_sorted(cursor: str, sort: str, descending: bool) -> tuple[Any, int]:
    """The (sort value, id) a cursor of the order ``sort`` holds (a cursor of another order is refused)."""
    refused = InputError("cursor", "not a cursor of this order (use next_cursor of the previous page)")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        order, value, lead_id = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise refused from None
    if order != ("-" if descending else "") + sort or not isinstance(lead_id, int) or isinstance(lead_id, bool):
        raise refused
    if sort == "updated":
        try:
            value = datetime.fromisoformat(value)
        except (TypeError, ValueError):
            raise refused from None
    elif not isinstance(value, str | int | float) or isinstance(value, bool):
        raise refused
    return value, lead_id


def lead_page(
    tx: StoreTx,
    playbook: Playbook,
    filters: LeadFilters,
    visibility: Visibility,
    *,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
    sort: str | None = None,
) -> LeadPage:
    """One page of the leads ``visibility`` lets one see, filtered, in the order ``sort`` (see
    :data:`SORTS`; default newest change first)."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InputError("limit", f"give 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT})")
    key, descending = parse_sort(sort)
    default = key == "updated" and descending  # the API's order and cursor
    conditions = check_filters(filters)
    if cursor is not None:
        if default:
            conditions["after"] = decode_position(cursor)
        else:
            conditions["after_key"] = _decode_sorted(cursor, key, descending)
    rows = tx.lead_page(conditions, visibility.conditions(), limit + 1, key, descending)
    more = len(rows) > limit
    rows = rows[:limit]
    tz = playbook.timezone
    items = [_item(row, tz) for row in rows]
    last = rows[-1] if rows and more else None
    if last is None:
        following = None
    elif default:
        following = encode_position(last.updated_at, last.id)
    else:
        value = last.updated_at if key == "updated" else last.sort_key
        following = _encode_sorted(key, descending, value, last.id)
    return LeadPage(leads=items, limit=limit, next_cursor=following)


def _item(row: Any, tz: tzinfo) -> LeadListItem:
    name = " ".join(p for p in (row.last_name, row.first_name) if p) or None
    return LeadListItem(
        lead=lead_key(row.email, row.external_id),
        email=row.email,
        external_id=row.external_id,
        name=name,
        company=row.account_name or row.company_name,
        account_domain=row.account_domain,
        stage=row.stage,
        level=row.level,
        fit=round(row.fit_score, 2),
        engagement=round(row.engagement_score, 2),
        total=round(row.total_score, 2),
        owner_rep=row.owner_rep,
        owner_department=row.owner_department,
        assigned_at=local(row.assigned_at, tz),
        last_activity_at=local(row.last_activity_at, tz),
        last_touch_at=local(row.last_touch_at, tz),
        created_at=local(row.created_at, tz),
        updated_at=local(row.updated_at, tz),
    )
