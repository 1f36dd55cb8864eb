"""Web forms: a landing page's post turned into activity records by the form's mapping in the playbook.

A post records the form's activity (``form_submitted`` by default) with the person's profile; a
post with the "wants contact" box checked also records the form's ``wants_contact_activity``
(``contact_requested``), a hand-raise, so the lead goes to sales within the same request. A post
that fills the honeypot field is a bot's: it is answered as accepted and stored nowhere.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from leadrelay.domain.playbook import Playbook, WebForm
from leadrelay.errors import LeadRelayError

#: What a checked box may post (browsers send "on" unless the input has a value).
CHECKED = frozenset({"on", "1", "true", "yes", "y", "checked", "はい", "希望する"})
UNCHECKED = frozenset({"", "0", "false", "no", "n", "off", "いいえ", "希望しない"})
#: The most characters one posted value may have (a form field is short).
VALUE_MAX = 2000


class UnknownForm(LeadRelayError, LookupError):
    """No form with that id in the active playbook."""


class FormPostError(LeadRelayError, ValueError):
    """A post the form cannot take: the posted field and why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def form_of(playbook: Playbook, form_id: str) -> WebForm:
    form = playbook.forms.get(form_id)
    if form is None:
        known = ", ".join(sorted(playbook.forms)) or "none"
        raise UnknownForm(f"no form '{form_id}' in the active playbook (forms: {known})")
    return form


def origin_allowed(form: WebForm, origin: str | None) -> bool:
    """Whether a browser page at ``origin`` may post the form (no Origin header: not a browser's
    cross-site post, judged by the honeypot and the rate limit alone)."""
    if origin is None:
        return True
    return origin.strip().rstrip("/").lower() in form.allowed_origins


def is_bot(form: WebForm, posted: Mapping[str, str]) -> bool:
    """The honeypot field (hidden from people) was filled in."""
    return form.honeypot is not None and bool(posted.get(form.honeypot, "").strip())


def checked(value: str | None, field: str) -> bool:
    if value is None:
        return False
    text = unicodedata.normalize("NFKC", value).strip().casefold()
    if text in CHECKED:
        return True
    if text in UNCHECKED:
        return False
    raise FormPostError(field, f"'{value[:40]}' is not a checkbox value (on, 1, true, yes; or left out)")


def split_name(full: str) -> tuple[str | None, str | None]:
    """(first name, last name) of a name given in one field. Written in Japanese (kanji, kana)
    the family name comes first (山田 太郎); otherwise last (Taro Yamada). One word: the family name."""
    parts = full.replace("\u3000", " ").split()
    if not parts:
        return None, None
    if len(parts) == 1:
        return None, parts[0]
    if any(_japanese(c) for c in full):
        return " ".join(parts[1:]), parts[0]
    return " ".join(parts[:-1]), parts[-1]


def _japanese(char: str) -> bool:
    return "\u3040" <= char <= "\u30ff" or "\u4e00" <= char <= "\u9fff" or "\u3400" <= char <= "\u4dbf"


def form_records(form: WebForm, posted: Mapping[str, str], now: datetime) -> list[dict[str, Any]]:
    """The activity records of one post (the format of the import files): the form's activity,
    and the hand-raise when the "wants contact" box is checked. Raises :class:`FormPostError`."""
    for name, value in posted.items():
        if len(value) > VALUE_MAX:
            raise FormPostError(name, f"is longer than {VALUE_MAX} characters")
    email_field = form.fields["email"]
    email = posted.get(email_field, "").strip()
    if not email:
        raise FormPostError(email_field, "is required")
    lead: dict[str, Any] = {}
    if (field := form.posted("name")) is not None and (text := posted.get(field, "").strip()):
        given, family = split_name(text)
        lead.update({k: v for k, v in (("first_name", given), ("last_name", family)) if v})
    for target in ("first_name", "last_name", "phone"):
        if (field := form.posted(target)) is not None and (text := posted.get(field, "").strip()):
            lead[target] = text
    if (field := form.posted("company")) is not None and (text := posted.get(field, "").strip()):
        lead["company_name"] = text
    custom: dict[str, str] = {}
    for target, field in form.profile.items():
        text = posted.get(field, "").strip()
        if not text:
            continue
        if target.startswith("custom."):
            custom[target.removeprefix("custom.")] = text
        else:
            lead[target] = text
    if custom:
        lead["custom"] = custom
    wants = False
    if (field := form.posted("wants_contact")) is not None:
        wants = checked(posted.get(field), field)
    stamp = now.isoformat()
    first: dict[str, Any] = {
        "email": email,
        "type": form.activity,
        "occurred_at": stamp,
        "properties": {"form": form.id, "wants_contact": wants},
    }
    if form.campaign is not None:
        first["campaign"] = form.campaign
    if lead:
        first["lead"] = lead
    records = [first]
    if wants and form.wants_contact_activity is not None:
        raised: dict[str, Any] = {
            "email": email,
            "type": form.wants_contact_activity,
            "occurred_at": stamp,
            "properties": {"form": form.id},
        }
        if form.campaign is not None:
            raised["campaign"] = form.campaign
        records.append(raised)
    return records


def posted_field(form: WebForm, field: str) -> str:
    """The posted field behind a record's field (``lead.phone`` → the form's phone field)."""
    name = field.removeprefix("lead.")
    if name == "company_name":
        name = "company"
    if name in ("first_name", "last_name") and form.posted(name) is None and form.posted("name") is not None:
        name = "name"
    if name in form.fields:
        return form.fields[name]
    head, _, rest = name.partition(".")
    if head == "custom" and f"custom.{rest.split('.')[0]}" in form.profile:
        return form.profile[f"custom.{rest.split('.')[0]}"]
    return form.profile.get(name, field)
