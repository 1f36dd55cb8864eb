"""Turning outside records (dicts from the CLI, JSONL, the API) into checked domain values.

Each function raises :class:`InputError` naming the field at fault; callers attach the line or
record number and keep going with the good records.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from leadrelay.adapters.geo import normalise_country, prefecture
from leadrelay.domain.identity import InvalidEmail, lead_key, normalise_domain, normalise_email
from leadrelay.domain.matching import site_key
from leadrelay.domain.model import (
    ACCOUNT_PROFILE_FIELDS,
    LEAD_IDENTITY_FIELDS,
    LEAD_PROFILE_FIELDS,
    LIST_SOURCES,
    Account,
    Activity,
    Campaign,
    Lead,
)
from leadrelay.errors import LeadRelayError

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

#: How far ahead of the engine's clock an activity may be stamped (clock skew between systems).
FUTURE_TOLERANCE = timedelta(minutes=5)

#: The fields a lead record may carry: the lead's own (see ``domain.model``), its company, and
#: when it was created in the source system.
LEAD_FIELDS = frozenset(
    {
        *LEAD_IDENTITY_FIELDS,
        *LEAD_PROFILE_FIELDS,
        "custom",
        "company",
        "company_name",
        "company_domain",
        "created_at",
    }
)
ACCOUNT_FIELDS = frozenset({"domain", *ACCOUNT_PROFILE_FIELDS})
ACTIVITY_FIELDS = frozenset(
    {"email", "external_id", "type", "occurred_at", "campaign", "product", "properties", "source_id", "lead"}
)
CAMPAIGN_FIELDS = frozenset({"code", "name", "channel", "kind"})
CAMPAIGN_KINDS = frozenset({"acquisition", "nurture", "pipeline"})


# --- what both databases can store ---------------------------------------------------------
# A value beyond these limits is refused with its row (line, field, reason) before it reaches the
# store: SQLite would keep some of them, PostgreSQL refuses them and would fail the whole batch.

#: An INTEGER column (PostgreSQL int4), e.g. ``accounts.employees``.
INTEGER_MAX = 2**31 - 1
#: Time stamps are stored in UTC; outside these years (after conversion to UTC) a value is a typo
#: (0001, 20266) and overflows the UTC column type.
EARLIEST_TIME = datetime(1900, 1, 1, tzinfo=UTC)
LATEST_TIME = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
#: Lengths of the columns in ``adapters/store/tables.py`` that values are checked against.
EMAIL_MAX = 320  # leads.email
DOMAIN_MAX = 255  # accounts.domain (also the part of an e-mail after the @)
EXTERNAL_ID_MAX = 200  # leads.external_id
SOURCE_ID_MAX = 200  # activities.source_id, outcomes.source_id
CAMPAIGN_CODE_MAX = 120  # campaigns.code
PREFECTURE_MAX = 20  # leads.prefecture, accounts.prefecture
#: Characters no text column can hold: NUL (PostgreSQL text and jsonb refuse it) and lone
#: surrogates (not encodable as UTF-8; both drivers refuse them).
_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")
#: Types of JSON values that need no encoding to be checked (NaN and Infinity aside).
_FLAT_JSON = frozenset({str, int, float, bool, type(None)})
#: Longest value quoted back in a rejection's reason (the rejects file also has the whole row).
_SHOWN_MAX = 80


_NO_DOMAIN = "is required for a lead without e-mail, unless the company is named (it is then matched by name)"


class InputError(LeadRelayError, ValueError):
    def __init__(self, field: str, message: str, *, cells: list[str] | None = None) -> None:
        """``cells``: the row as read, when it could not be matched to the header (kept in the rejects file)."""
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.cells = cells


@dataclass(frozen=True, slots=True)
class LeadInput:
    lead: Lead
    company: Account | None
    created_at: datetime | None
    given: frozenset[str]  # profile fields the record actually carried

    @property
    def key(self) -> str:
        return self.lead.key


@dataclass(frozen=True, slots=True)
class ActivityInput:
    email: str | None
    activity: Activity
    source_id: str | None
    lead: LeadInput | None
    external_id: str | None = None

    @property
    def key(self) -> str:
        """The lead it belongs to (see :func:`~leadrelay.domain.identity.lead_key`)."""
        return lead_key(self.email, self.external_id)


def _text(record: Mapping[str, Any], name: str, *, limit: int = 500, fold: bool = False) -> str | None:
    """Trimmed text (case-folded with ``fold``) that a column of ``limit`` characters can hold."""
    value = record.get(name)
    if value is None:
        return None
    if isinstance(value, (bool, dict | list)):
        raise InputError(name, "must be text")
    text = str(value).strip()
    if fold:
        text = text.casefold()  # before the length check: folding may lengthen text ("ß" becomes "ss")
    if len(text) > limit:
        raise InputError(name, f"is longer than {limit} characters")
    if _UNSTORABLE.search(text) is not None:
        raise InputError(name, _unstorable(text))
    return text or None


def _storable(text: str, name: str, limit: int) -> str:
    """``text`` if a text column of ``limit`` characters on either database can hold it."""
    if len(text) > limit:
        raise InputError(name, f"is longer than {limit} characters")
    if _UNSTORABLE.search(text) is not None:
        raise InputError(name, _unstorable(text))
    return text


def _unstorable(text: str) -> str:
    if "\x00" in text:
        return "must not contain NUL characters (\\x00)"
    return "is not valid Unicode text (it holds a lone surrogate)"


def _shown(value: Any) -> str:
    """A value as quoted back in a reason: at most 80 characters, unstorable characters replaced."""
    text = str(value)
    cut = text[:_SHOWN_MAX] + ("…" if len(text) > _SHOWN_MAX else "")
    return _UNSTORABLE.sub("\ufffd", cut)


def _json_object(value: Any, name: str) -> dict[str, Any]:
    """An object of JSON values (``properties``, ``custom``) that PostgreSQL's jsonb can store."""
    if not isinstance(value, Mapping):
        raise InputError(name, "must be an object of name: value")
    if not value:
        return {}
    for key, item in value.items():  # the common case, flat text and numbers, without encoding it
        kind = type(item)
        if type(key) is not str or kind not in _FLAT_JSON or _UNSTORABLE.search(key) is not None:
            break
        if (kind is str and _UNSTORABLE.search(item) is not None) or (kind is float and not math.isfinite(item)):
            break
    else:
        return dict(value)
    try:
        text = json.dumps(value, allow_nan=False, ensure_ascii=False)  # NaN, Infinity: not JSON, nor jsonb
    except (TypeError, ValueError, RecursionError):
        raise InputError(name, "must hold only JSON values") from None
    if "\\u0000" not in text and _UNSTORABLE.search(text) is None:  # NUL is written escaped, surrogates as they are
        return dict(value)
    pending: list[Any] = [value]  # rare: a real NUL or surrogate, or text that reads \u0000
    while pending:
        item = pending.pop()
        if isinstance(item, Mapping):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)
        elif isinstance(item, str) and _UNSTORABLE.search(item) is not None:
            raise InputError(name, _unstorable(item))
    return dict(value)


def _unknown(record: Mapping[str, Any], allowed: frozenset[str], where: str = "") -> None:
    for key in record:
        if key not in allowed:
            raise InputError(f"{where}{key}", f"unknown field (known: {', '.join(sorted(allowed))})")


def parse_time(value: Any, name: str, now: datetime | None = None) -> datetime:
    """An aware timestamp from a datetime or ISO 8601 text; refuses naive, future and out-of-range times."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise InputError(
                name, f"'{_shown(value)}' is not an ISO 8601 timestamp (e.g. 2026-11-20T10:30:00+09:00)"
            ) from None
    elif value is None or value == "":
        raise InputError(name, "is required")
    else:
        raise InputError(name, "must be an ISO 8601 timestamp")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InputError(name, f"'{_shown(value)}' has no time zone (add +09:00, Z or another offset)")
    try:
        in_range = EARLIEST_TIME <= moment.astimezone(UTC) <= LATEST_TIME
    except OverflowError:  # 0001-01-01T00:00+09:00 is before year 1 in UTC
        in_range = False
    if not in_range:
        raise InputError(name, f"'{_shown(value)}' is not between the years 1900 and 9999 (in UTC)")
    if now is not None and moment > now + FUTURE_TOLERANCE:
        raise InputError(name, f"'{value}' is in the future (now is {now.isoformat(timespec='seconds')})")
    return moment


def parse_email(value: Any, name: str = "email") -> str:
    if value is None or value == "":
        raise InputError(name, "is required")
    text = str(value)
    try:
        email = normalise_email(text)  # ASCII only once normalised: no NUL nor surrogate left
    except InvalidEmail as exc:
        reason = _unstorable(text) if _UNSTORABLE.search(text) else str(exc)  # not echoed back when unprintable
        raise InputError(name, reason) from None
    if len(email) > EMAIL_MAX:
        raise InputError(name, f"is longer than {EMAIL_MAX} characters")
    if len(email) - email.index("@") - 1 > DOMAIN_MAX:
        raise InputError(name, f"has a domain longer than {DOMAIN_MAX} characters")
    return email


def parse_external_id(value: Any, name: str = "external_id") -> str | None:
    """A source CRM's record id: text (numbers are taken as written), trimmed, at most 200 characters."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InputError(name, "must be text or a whole number")
    text = str(value).strip()
    if len(text) > EXTERNAL_ID_MAX:
        raise InputError(name, f"is longer than {EXTERNAL_ID_MAX} characters")
    if any(ord(char) < 32 for char in text):
        raise InputError(name, "must not contain control characters")
    return _storable(text, name, EXTERNAL_ID_MAX)


def parse_identity(record: Mapping[str, Any], where: str = "") -> tuple[str | None, str | None]:
    """The e-mail and external id a record names a lead by; at least one is required."""
    external_id = parse_external_id(record.get("external_id"), f"{where}external_id")
    raw = record.get("email")
    if raw in (None, "") and external_id is not None:
        return None, external_id
    if raw in (None, ""):
        raise InputError(f"{where}email", "is required (or an external_id)")
    return parse_email(raw, f"{where}email"), external_id


def parse_account(record: Mapping[str, Any], where: str = "company.") -> Account:
    _unknown(record, ACCOUNT_FIELDS, where)
    raw_domain = _text(record, "domain", limit=255)
    if raw_domain is None:
        raise InputError(f"{where}domain", "is required")
    domain = normalise_domain(raw_domain)
    if "." not in domain or " " in domain:
        raise InputError(f"{where}domain", f"'{raw_domain}' is not a domain name")
    _storable(domain, f"{where}domain", DOMAIN_MAX)
    employees = record.get("employees")
    if employees is not None and employees != "":
        try:
            employees = int(str(employees).replace(",", "").strip())
        except ValueError:
            raise InputError(f"{where}employees", f"'{_shown(employees)}' is not a whole number") from None
        if employees < 0:
            raise InputError(f"{where}employees", "cannot be negative")
        if employees > INTEGER_MAX:
            raise InputError(f"{where}employees", f"is larger than {INTEGER_MAX}")
    else:
        employees = None
    country = _country(record, f"{where}country")
    return Account(
        domain=domain,
        name=_text(record, "name"),
        industry=_text(record, "industry", limit=80, fold=True),
        employees=employees,
        country=country,
        region=_text(record, "region", limit=80),
        prefecture=_prefecture(record, f"{where}prefecture", country),
        tier=_text(record, "tier", limit=40, fold=True),
        owner=_text(record, "owner", limit=80),
        reading=_text(record, "reading", limit=200),
        phone=_text(record, "phone", limit=40),
        postal_code=_text(record, "postal_code", limit=20),
        website=_text(record, "website", limit=255),
    )


def _country(record: Mapping[str, Any], name: str) -> str | None:
    raw = _text(record, name.rsplit(".", 1)[-1], limit=80)
    if raw is None:
        return None
    code = normalise_country(raw)
    if code is None:
        raise InputError(name, f"'{raw}' is not a country (use an ISO code such as JP or a country name)")
    return code


def _prefecture(record: Mapping[str, Any], name: str, country: str | None) -> str | None:
    raw = _text(record, name.rsplit(".", 1)[-1], limit=40)
    if raw is None:
        return None
    found = prefecture(raw)
    if found is not None:
        return found.name_ja
    if country in (None, "JP"):
        raise InputError(name, f"'{raw}' is not a Japanese prefecture (e.g. 大阪府, Osaka, 27)")
    return _storable(raw, name, PREFECTURE_MAX)


def parse_lead(record: Mapping[str, Any], now: datetime | None = None) -> LeadInput:
    if not isinstance(record, Mapping):
        raise InputError("lead", "must be an object")
    _unknown(record, LEAD_FIELDS)
    email, external_id = parse_identity(record)
    country = _country(record, "country")
    list_source = _text(record, "list_source") or "house"
    if list_source not in LIST_SOURCES:
        raise InputError("list_source", f"'{list_source}' is not one of {', '.join(LIST_SOURCES)}")
    custom = _json_object(record.get("custom") or {}, "custom")
    company = record.get("company")
    account: Account | None = None
    named: str | None = None  # a company named without any domain (a business card): matched by name
    if company is not None:
        if not isinstance(company, Mapping):
            raise InputError("company", "must be an object (domain, name, industry, employees, ...)")
        merged = dict(company)
        if email is not None:
            merged.setdefault("domain", email.rsplit("@", 1)[1])
        elif not merged.get("domain") and site_key(_text(merged, "website", limit=255)):
            merged["domain"] = site_key(_text(merged, "website", limit=255))
        if merged.get("domain"):
            account = parse_account(merged)
        else:
            _unknown(merged, ACCOUNT_FIELDS, "company.")
            named = _text(merged, "name")
            if named is None:
                raise InputError("company.domain", _NO_DOMAIN)
    elif record.get("company_name") or record.get("company_domain"):
        domain = record.get("company_domain") or (email.rsplit("@", 1)[1] if email else None)
        if domain:
            account = parse_account({"name": record.get("company_name"), "domain": domain}, where="company_")
        else:
            named = _text(record, "company_name", limit=200)
    created_at = parse_time(record["created_at"], "created_at", now) if record.get("created_at") else None
    lead = Lead(
        email=email,
        external_id=external_id,
        first_name=_text(record, "first_name"),
        last_name=_text(record, "last_name"),
        title=_text(record, "title"),
        seniority=_text(record, "seniority", limit=40, fold=True),
        department=_text(record, "department", limit=80, fold=True),
        phone=_text(record, "phone", limit=40),
        country=country,
        prefecture=_prefecture(record, "prefecture", country),
        postal_code=_text(record, "postal_code", limit=20),
        source_channel=_text(record, "source_channel", limit=80),
        company_name=account.name if account is not None else named,
        list_source=list_source,
        custom=custom,
    )
    given = frozenset(
        k for k, v in record.items() if v not in (None, "") and k not in {"company", "company_name", "company_domain"}
    ) | ({"company_name"} if (account is not None and account.name) or named else frozenset())
    return LeadInput(lead, account, created_at, given)


def parse_campaign(value: Any, name: str = "campaign") -> Campaign | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return Campaign(code=_storable(value.strip(), name, CAMPAIGN_CODE_MAX))
    if not isinstance(value, Mapping):
        raise InputError(name, "must be a campaign code or an object with code, name, channel, kind")
    _unknown(value, CAMPAIGN_FIELDS, f"{name}.")
    code = _text(value, "code", limit=CAMPAIGN_CODE_MAX)
    if code is None:
        raise InputError(f"{name}.code", "is required")
    kind = _text(value, "kind", limit=40, fold=True)
    if kind is not None and kind not in CAMPAIGN_KINDS:
        raise InputError(f"{name}.kind", f"'{kind}' is not one of {', '.join(sorted(CAMPAIGN_KINDS))}")
    return Campaign(
        code=code, name=_text(value, "name"), channel=_text(value, "channel", limit=80, fold=True), kind=kind
    )


def activity_key(
    lead: str,
    type_: str,
    occurred_at: datetime,
    campaign: str | None,
    product: str | None,
    properties: Mapping[str, Any],
    source_id: str | None,
) -> str:
    """A stable identity for an activity: its source id if it has one, else a hash of its content."""
    if source_id is not None:
        payload = f"id\x1f{source_id}"
    else:
        stamp = (occurred_at - _EPOCH) // timedelta(microseconds=1)
        payload = "\x1f".join(
            [
                lead,
                type_,
                str(stamp),
                campaign or "",
                product or "",
                json.dumps(properties, sort_keys=True, ensure_ascii=False, default=str),
            ]
        )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


def _source_id(value: Any) -> str | None:
    """The source system's id of an activity or outcome (taken as written; numbers as text)."""
    if value in (None, ""):
        return None
    return _storable(str(value).strip(), "source_id", SOURCE_ID_MAX)


def parse_activity(record: Mapping[str, Any], now: datetime, activity_types: frozenset[str]) -> ActivityInput:
    if not isinstance(record, Mapping):
        raise InputError("activity", "must be an object")
    _unknown(record, ACTIVITY_FIELDS)
    email, external_id = parse_identity(record)
    type_ = record.get("type")
    if not isinstance(type_, str) or not type_.strip():
        raise InputError("type", "is required")
    type_ = type_.strip()
    if type_ not in activity_types:
        raise InputError(
            "type", f"unknown activity type '{_shown(type_)}' (known: {', '.join(sorted(activity_types))})"
        )
    occurred_at = parse_time(record.get("occurred_at"), "occurred_at", now)
    campaign = parse_campaign(record.get("campaign"))
    product = _text(record, "product", limit=80, fold=True)
    properties = _json_object(record.get("properties") or {}, "properties")
    source_id = _source_id(record.get("source_id"))
    lead_record = record.get("lead")
    lead: LeadInput | None = None
    if lead_record is not None:
        if not isinstance(lead_record, Mapping):
            raise InputError("lead", "must be an object")
        merged = {**lead_record}
        if email is not None:
            merged.setdefault("email", email)
        if external_id is not None:
            merged.setdefault("external_id", external_id)
        try:
            lead = parse_lead(merged, now)
        except InputError as exc:
            raise InputError(f"lead.{exc.field}", exc.message) from None
        if email is not None and lead.lead.email != email:
            raise InputError("lead.email", "differs from the activity's email")
        if external_id is not None and lead.lead.external_id != external_id:
            raise InputError("lead.external_id", "differs from the activity's external_id")
        email, external_id = lead.lead.email, lead.lead.external_id
    key = activity_key(
        lead_key(email, external_id),
        type_,
        occurred_at,
        campaign.code if campaign else None,
        product,
        properties,
        source_id,
    )
    activity = Activity(
        key=key, type=type_, occurred_at=occurred_at, campaign=campaign, product=product, properties=properties
    )
    return ActivityInput(email, activity, source_id, lead, external_id)


# --- outcomes: closed deals imported from a CRM -------------------------------------------------

OUTCOME_FIELDS = frozenset(
    {
        "email",
        "external_id",
        "outcome",
        "closed_at",
        "amount",
        "currency",
        "product",
        "lost_reason",
        "sdr",
        "sr",
        "source_id",
        "properties",
    }
)
OUTCOMES = ("won", "lost")


@dataclass(frozen=True, slots=True)
class OutcomeInput:
    """A closed deal: won or lost, when, for how much, who qualified (SDR) and who closed it (SR)."""

    key: str
    email: str | None
    external_id: str | None
    outcome: str
    closed_at: datetime
    amount: Decimal | None
    currency: str | None
    product: str | None
    lost_reason: str | None
    sdr: str | None
    sr: str | None
    source_id: str | None
    properties: Mapping[str, Any]

    @property
    def lead_key(self) -> str:
        return lead_key(self.email, self.external_id)


#: The largest amount both databases keep exactly (``outcomes.amount``, NUMERIC(19, 4)).
AMOUNT_INTEGER_DIGITS = 15
AMOUNT_DECIMAL_PLACES = 4
_AMOUNT_LIMIT = Decimal(10) ** AMOUNT_INTEGER_DIGITS


def parse_amount(value: Any, name: str = "amount") -> Decimal | None:
    """A deal amount as an exact :class:`Decimal`, or None when not given.

    Written as a number or text (``1200000``, ``1,200,000.50``, ``1.2e6``); at most
    15 digits before the decimal point and 4 after, zero or more. NaN, Infinity, negative amounts
    and larger or finer values are refused (never rounded) with an :class:`InputError` naming
    ``name``. The one parser of amounts: the outcomes import and ``lead advance --amount`` both
    use it, so they take and refuse the same values with the same message.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise InputError(name, "must be a number")
    text = str(value).strip().replace(",", "").replace("_", "")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise InputError(name, f"'{_shown(value)}' is not a number (e.g. 1200000 or 1,200,000.50)") from None
    if not amount.is_finite():
        raise InputError(name, f"'{_shown(value)}' is not a number (NaN and Infinity are not amounts)")
    if amount < 0:
        raise InputError(name, f"'{_shown(value)}' is negative (an amount is zero or more)")
    limit = f"at most {AMOUNT_INTEGER_DIGITS} digits before the decimal point and {AMOUNT_DECIMAL_PLACES} after"
    if amount >= _AMOUNT_LIMIT:
        raise InputError(name, f"'{_shown(value)}' is too large ({limit})")
    exponent = amount.normalize().as_tuple().exponent
    assert isinstance(exponent, int)  # finite
    if exponent < -AMOUNT_DECIMAL_PLACES:
        raise InputError(name, f"'{_shown(value)}' has too many decimal places ({limit}; it is not rounded)")
    # two places as before (the key of an outcome without source id hashes this text), four if needed
    places = Decimal("0.01") if exponent >= -2 else Decimal("0.0001")
    return amount.quantize(places)


def parse_outcome(record: Mapping[str, Any], now: datetime) -> OutcomeInput:
    """A closed deal from a CRM export; the lead is named by e-mail or external id."""
    if not isinstance(record, Mapping):
        raise InputError("outcome", "must be an object")
    _unknown(record, OUTCOME_FIELDS)
    email, external_id = parse_identity(record)
    raw = _text(record, "outcome", limit=40)
    if raw is None:
        raise InputError("outcome", "is required (won or lost)")
    outcome = raw.casefold()
    if outcome not in OUTCOMES:
        raise InputError("outcome", f"'{raw}' is not won or lost (map the CRM's values under values: outcome:)")
    closed_at = parse_time(record.get("closed_at"), "closed_at", now)
    amount = parse_amount(record.get("amount"))
    currency = _text(record, "currency", limit=40)
    if currency is not None:
        currency = currency.upper()
        if len(currency) != 3 or not currency.isalpha():
            raise InputError("currency", f"'{currency}' is not a currency code (e.g. JPY, USD, BRL)")
    lost_reason = _text(record, "lost_reason")
    properties = _json_object(record.get("properties") or {}, "properties")
    source_id = _source_id(record.get("source_id"))
    product = _text(record, "product", limit=80, fold=True)
    sdr = _text(record, "sdr", limit=120)
    sr = _text(record, "sr", limit=120)
    if source_id is not None:
        payload = f"id\x1f{source_id}"
    else:
        stamp = (closed_at - _EPOCH) // timedelta(microseconds=1)
        payload = "\x1f".join(
            [lead_key(email, external_id), outcome, str(stamp), str(amount or ""), currency or "", product or ""]
        )
    key = hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]
    return OutcomeInput(
        key=key,
        email=email,
        external_id=external_id,
        outcome=outcome,
        closed_at=closed_at,
        amount=amount,
        currency=currency,
        product=product,
        lost_reason=lost_reason,
        sdr=sdr,
        sr=sr,
        source_id=source_id,
        properties=properties,
    )
