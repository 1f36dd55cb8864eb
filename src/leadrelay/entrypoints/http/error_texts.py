"""The ``detail`` of a problem, and the message of each field at fault, in the request's language.

Errors are raised with one English line (``str(exc)``, what the command line prints). For the
errors an API user meets, the HTTP API says them in Japanese too (``Accept-Language: ja``), from
what the errors carry:

- service errors by their class and attributes (:func:`user_error_detail`): an unknown lead, an
  illegal stage move, an unknown or unexplained reason code, an idempotency key in use or invalid;
- invalid fields of a request (:func:`validation_message`), by pydantic's error ``type`` and its
  context (a required field, an unknown one, a wrong type, a length, a range, a choice, ...);
- the messages of records the intake rejects (:func:`record_message`), by the shape of the English
  message the record parsers write (``is required``, ``'x' is not an e-mail address``, an unknown
  field or activity type, a timestamp without a zone or in the future, a length).

Anything else keeps its English text inside the Japanese title. The Japanese texts are in
:mod:`leadrelay.entrypoints.i18n`; ``tests/http/test_japanese_details.py`` sends each of these errors.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from leadrelay.domain.lifecycle import IllegalTransition
from leadrelay.entrypoints.i18n import t
from leadrelay.errors import LeadRelayError
from leadrelay.services.idempotency import IdempotencyKeyInUse, IdempotencyKeyInvalid, IdempotencyKeyReused
from leadrelay.services.leads import LeadNotFound
from leadrelay.services.sales import IllegalMove, ReasonNeedsText, UnknownReason

# --- service errors -------------------------------------------------------------------------


def _lead_not_found(exc: LeadRelayError, lang: str) -> str:
    return t("err_lead_not_found", lang).format(ref=exc.args[0] if exc.args else "?")


def _illegal_move(exc: LeadRelayError, lang: str) -> str:
    assert isinstance(exc, IllegalMove)
    said = t("err_illegal_move", lang).format(stage=exc.stage, trigger=exc.trigger, allowed=", ".join(exc.allowed))
    return f"{exc.lead}: {said}" if exc.lead else said


def _illegal_transition(exc: LeadRelayError, lang: str) -> str:
    assert isinstance(exc, IllegalTransition)
    allowed = ", ".join(exc.allowed)
    return t("err_illegal_move", lang).format(stage=exc.stage.value, trigger=exc.trigger.value, allowed=allowed)


def _unknown_reason(exc: LeadRelayError, lang: str) -> str:
    assert isinstance(exc, UnknownReason)
    return t("err_unknown_reason", lang).format(code=exc.code, codes=", ".join(exc.codes))


def _reason_needs_text(exc: LeadRelayError, lang: str) -> str:
    assert isinstance(exc, ReasonNeedsText)
    return t("err_reason_needs_text", lang).format(code=exc.code)


def _fixed(key: str) -> Callable[[LeadRelayError, str], str]:
    return lambda exc, lang: t(key, lang)


#: How each kind of service error is said (the first class of an error's MRO found here wins);
#: English is ``str(exc)`` unless the text is given here for both languages.
DETAILS: dict[type[LeadRelayError], tuple[Callable[[LeadRelayError, str], str], bool]] = {
    # (the text, whether English comes from it too)
    LeadNotFound: (_lead_not_found, True),
    IllegalMove: (_illegal_move, False),
    IllegalTransition: (_illegal_transition, False),
    UnknownReason: (_unknown_reason, False),
    ReasonNeedsText: (_reason_needs_text, False),
    IdempotencyKeyInUse: (_fixed("err_idempotency_in_use"), False),
    IdempotencyKeyInvalid: (_fixed("err_idempotency_invalid"), False),
    IdempotencyKeyReused: (_fixed("idempotency_reused"), False),
}


def user_error_detail(exc: LeadRelayError, lang: str) -> str:
    """The ``detail`` of a service error in ``lang``."""
    for cls in type(exc).__mro__:
        found = DETAILS.get(cls)
        if found is not None:
            say, english_too = found
            return say(exc, lang) if lang == "ja" or english_too else str(exc)
    message = getattr(exc, "message", None)
    field = getattr(exc, "field", None)
    if lang == "ja" and isinstance(message, str) and isinstance(field, str):
        return f"{field}: {record_message(message, lang)}"
    return str(exc)


def user_error_field_message(exc: LeadRelayError, lang: str) -> str | None:
    """The message of the field a service error names (None when it names none)."""
    message = getattr(exc, "message", None)
    if not isinstance(message, str):
        return None
    if lang == "ja" and isinstance(exc, UnknownReason | ReasonNeedsText | IllegalMove):
        detail = user_error_detail(exc, lang)
        return detail.split(": ", 1)[1] if isinstance(exc, IllegalMove) and exc.lead else detail
    return record_message(message, lang)


# --- the messages of records ------------------------------------------------------------------

#: The English messages of the record parsers (adapters/records.py, domain/identity.py,
#: services/forms.py), by shape, and the key of their Japanese text (given the named groups).
RECORD_MESSAGES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"is required"), "rec_required"),
    (re.compile(r"is required \(or an external_id\)"), "rec_required_or_external_id"),
    (re.compile(r"e-mail is empty"), "rec_required"),
    (re.compile(r"'(?P<value>.*)' is not an e-mail address(?: \(it needs exactly one @\))?"), "rec_not_email"),
    (re.compile(r"'(?P<value>.*)' has an invalid part before the @"), "rec_not_email"),
    (re.compile(r"unknown field \(known: (?P<known>.*)\)"), "rec_unknown_field"),
    (re.compile(r"unknown activity type '(?P<value>.*)' \(known: (?P<known>.*)\)"), "rec_unknown_type"),
    (re.compile(r"must be an ISO 8601 timestamp"), "rec_not_timestamp"),
    (re.compile(r"'(?P<value>.*)' has no time zone \(add \+09:00, Z or another offset\)"), "rec_no_zone"),
    (re.compile(r"'(?P<value>.*)' is in the future \(now is (?P<now>.*)\)"), "rec_future"),
    (re.compile(r"is longer than (?P<limit>\d+) characters"), "rec_too_long"),
    (re.compile(r"must be text"), "rec_not_text"),
    (re.compile(r"must be an object"), "rec_not_object"),
    (re.compile(r"'(?P<value>.*)' is not a whole number"), "rec_not_integer"),
]


def record_message(message: str, lang: str) -> str:
    """A record parser's message in ``lang`` (as it is when its shape is not known)."""
    if lang != "ja":
        return message
    for pattern, key in RECORD_MESSAGES:
        match = pattern.fullmatch(message)
        if match is not None:
            return t(key, lang).format(**match.groupdict())
    return message


# --- invalid fields of a request (pydantic) ---------------------------------------------------

#: pydantic's error types and the key of their Japanese text (given the error's context).
VALIDATION_TYPES: dict[str, str] = {
    "missing": "val_missing",
    "extra_forbidden": "val_extra",
    "string_type": "val_string",
    "string_too_short": "val_too_short",
    "string_too_long": "val_too_long",
    "string_pattern_mismatch": "val_pattern",
    "int_type": "val_int",
    "int_parsing": "val_int",
    "int_from_float": "val_int",
    "float_type": "val_number",
    "float_parsing": "val_number",
    "finite_number": "val_number",
    "bool_type": "val_bool",
    "bool_parsing": "val_bool",
    "greater_than_equal": "val_ge",
    "greater_than": "val_gt",
    "less_than_equal": "val_le",
    "less_than": "val_lt",
    "literal_error": "val_choice",
    "enum": "val_choice",
    "list_type": "val_list",
    "too_long": "val_list_too_long",
    "too_short": "val_list_too_short",
    "dict_type": "val_object",
    "model_type": "val_object",
    "model_attributes_type": "val_object",
    "datetime_type": "val_datetime",
    "datetime_parsing": "val_datetime",
    "datetime_from_date_parsing": "val_datetime",
    "timezone_aware": "val_timezone",
    "date_type": "val_date",
    "date_parsing": "val_date",
    "date_from_datetime_parsing": "val_date",
}


def validation_message(error: Mapping[str, Any], lang: str) -> str:
    """The message of one of pydantic's errors in ``lang``."""
    english = str(error.get("msg", "is not valid"))
    if lang != "ja":
        return english
    key = VALIDATION_TYPES.get(str(error.get("type")))
    if key is None:
        return english
    context = {name: _shown(value) for name, value in (error.get("ctx") or {}).items()}
    try:
        return t(key, lang).format(**context)
    except (KeyError, IndexError):  # a context this text does not expect: say it in English
        return english


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else str(value)
