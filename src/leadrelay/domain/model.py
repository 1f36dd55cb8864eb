"""The facts the engine reasons about: accounts, leads, campaigns and activities.

Plain frozen values, standard library only. Everything time-related is timezone-aware.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from leadrelay.domain.identity import key_email, key_external_id, lead_key

#: The activity vocabulary the engine knows out of the box. A playbook may declare more.
ACTIVITY_TYPES: tuple[str, ...] = (
    "form_submitted",
    "document_downloaded",
    "email_opened",
    "email_clicked",
    "page_viewed",
    "webinar_registered",
    "webinar_attended",
    "webinar_no_show",
    "survey_answered",
    "trade_show_visited",
    "booth_visited",
    "demo_requested",
    "contact_requested",
    "free_audit_requested",
    "call_connected",
    "bant_collected",
    "ad_clicked",
    "unsubscribed",
)

#: Where a lead came from: own channels, bought databases, BDR research.
LIST_SOURCES: tuple[str, ...] = ("house", "purchased", "bdr")


@dataclass(frozen=True, slots=True)
class Account:
    """A company, known by its main domain; leads are matched to it in tiers (domain, name, close
    name with a corroborating field: see :mod:`leadrelay.domain.matching`)."""

    domain: str
    name: str | None = None
    industry: str | None = None
    employees: int | None = None
    country: str | None = None
    region: str | None = None
    prefecture: str | None = None
    tier: str | None = None
    owner: str | None = None
    reading: str | None = None  # how the name reads (furigana), e.g. サクラセイサクショ
    phone: str | None = None
    postal_code: str | None = None
    website: str | None = None


@dataclass(frozen=True, slots=True)
class Lead:
    """A person, known by a normalised e-mail (see :mod:`leadrelay.domain.identity`), by the source
    CRM's record id (``external_id``), or both."""

    email: str | None
    first_name: str | None = None
    last_name: str | None = None
    title: str | None = None
    seniority: str | None = None
    department: str | None = None
    phone: str | None = None
    country: str | None = None
    prefecture: str | None = None
    postal_code: str | None = None
    source_channel: str | None = None
    #: the company as the lead gave it; kept on the lead itself when it names no account (free mail)
    company_name: str | None = None
    list_source: str = "house"
    custom: Mapping[str, Any] = field(default_factory=dict)
    external_id: str | None = None

    @classmethod
    def for_key(cls, key: str) -> Lead:
        """A lead with nothing known but its key (see :func:`~leadrelay.domain.identity.lead_key`)."""
        return cls(email=key_email(key), external_id=key_external_id(key))

    @property
    def key(self) -> str:
        return lead_key(self.email, self.external_id)

    @property
    def domain(self) -> str | None:
        """The e-mail's domain; ``None`` for a lead known only by its external id."""
        return self.email.rsplit("@", 1)[1] if self.email else None

    @property
    def name(self) -> str:
        parts = [p for p in (self.last_name, self.first_name) if p]
        return " ".join(parts)


#: How a lead is known: a normalised e-mail, the source CRM's record id, or both.
LEAD_IDENTITY_FIELDS: tuple[str, ...] = ("email", "external_id")
#: A lead's profile: every field of :class:`Lead` besides its identity and its ``custom`` fields,
#: in the order of the dataclass. The input parser, the store and the bulk reader derive their
#: field lists from this one.
LEAD_PROFILE_FIELDS: tuple[str, ...] = tuple(
    f.name for f in fields(Lead) if f.name not in {*LEAD_IDENTITY_FIELDS, "custom"}
)

#: What an account says about its company besides its domain, in the order of :class:`Account`:
#: the input parser and the store derive their field lists from this one.
ACCOUNT_PROFILE_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Account) if f.name != "domain")


@dataclass(frozen=True, slots=True)
class Campaign:
    """A marketing programme activities belong to. ``kind``: acquisition, nurture or pipeline."""

    code: str
    name: str | None = None
    channel: str | None = None
    kind: str | None = None


@dataclass(frozen=True, slots=True)
class Activity:
    """Something a lead did, at ``occurred_at``. ``key`` identifies it for idempotency."""

    key: str
    type: str
    occurred_at: datetime
    campaign: Campaign | None = None
    product: str | None = None
    properties: Mapping[str, Any] = field(default_factory=dict)
