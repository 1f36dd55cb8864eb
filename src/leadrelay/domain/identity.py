"""Who is who: e-mail normalisation and matching people to companies by domain."""

from __future__ import annotations

import re
import unicodedata

from leadrelay.domain.errors import LeadRelayError

_EMAIL = re.compile(r"^[a-z0-9!#$%&'*+/=?^_`{|}~.-]+@([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


#: Lead keys: a lead is known by its normalised e-mail, or — without one — by its source CRM's id,
#: written ``id:<external id>`` (never a valid e-mail: ``:`` cannot appear in one).
EXTERNAL_KEY_PREFIX = "id:"


def lead_key(email: str | None, external_id: str | None) -> str:
    """The key a lead is found by: its e-mail if it has one, else ``id:`` and its external id."""
    if email:
        return email
    if external_id:
        return EXTERNAL_KEY_PREFIX + external_id
    raise ValueError("a lead needs an e-mail or an external id")


def key_email(key: str) -> str | None:
    return None if key.startswith(EXTERNAL_KEY_PREFIX) else key


def key_external_id(key: str) -> str | None:
    return key[len(EXTERNAL_KEY_PREFIX) :] if key.startswith(EXTERNAL_KEY_PREFIX) else None


class InvalidEmail(LeadRelayError, ValueError):
    pass


def normalise_email(raw: str) -> str:
    """Lower-case, trimmed, NFKC-folded (full-width ``ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ`` becomes ASCII).

    Raises :class:`InvalidEmail` with the reason when the result is not a usable address.
    """
    if not isinstance(raw, str):
        raise InvalidEmail("e-mail must be text")
    email = unicodedata.normalize("NFKC", raw).strip().strip("<>").casefold().rstrip(".")
    if not email:
        raise InvalidEmail("e-mail is empty")
    if email.count("@") != 1:
        raise InvalidEmail(f"'{raw}' is not an e-mail address (it needs exactly one @)")
    local, _, domain = email.partition("@")
    if not local or local.startswith(".") or local.endswith(".") or ".." in local:
        raise InvalidEmail(f"'{raw}' has an invalid part before the @")
    if not _EMAIL.match(email):
        raise InvalidEmail(f"'{raw}' is not an e-mail address")
    return local + "@" + domain


def email_domain(email: str) -> str:
    return email.rsplit("@", 1)[1]


def normalise_domain(raw: str) -> str:
    """A domain as accounts are keyed by: NFKC, lower case, without scheme, path, ``www.`` and trailing dots."""
    domain = unicodedata.normalize("NFKC", raw).strip().casefold()
    domain = domain.removeprefix("http://").removeprefix("https://").split("/", 1)[0].rstrip(".")
    return domain.removeprefix("www.")


def account_domain(email: str, free_mail: frozenset[str]) -> str | None:
    """The company domain of an address, or ``None`` for free-mail providers (never matched)."""
    domain = email_domain(email)
    return None if is_free_mail(domain, free_mail) else domain


def is_free_mail(domain: str, free_mail: frozenset[str]) -> bool:
    if domain in free_mail:
        return True
    # sub-domains of a provider (e.g. mail.yahoo.co.jp style hosts)
    parts = domain.split(".")
    return any(".".join(parts[i:]) in free_mail for i in range(1, len(parts) - 1))
