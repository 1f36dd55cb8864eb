"""Settings: every ``LEADRELAY_*`` variable, read from the environment in one place and checked once.

:func:`load_settings` reads the process environment and returns a validated, frozen
:class:`Settings`; a bad value is a :class:`SettingsError` whose message is one line naming the
variable (``LEADRELAY_SMTP_TIMEOUT: 'ten' is not a number``). Nothing else in leadrelay reads the
environment: the command line's global options override the object (``--db``, ``--lang``,
``--now``), :mod:`leadrelay.bootstrap` builds the store, the clock and the senders from it.

Webhook channels name their own variables in the playbook (``url_env``, ``secret_env``); those
are looked up with :meth:`Settings.variable` in the environment as it was when the settings were
loaded.

This module imports only the standard library, pydantic, :mod:`leadrelay.errors` and
:mod:`leadrelay.variables` (the variables' names), so any floor may import it (the domain
excepted: it takes values, not settings).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import parseaddr
from typing import Any, Literal
from urllib.parse import unquote, urlsplit, urlunsplit

from pydantic import AliasChoices, Field, PrivateAttr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from leadrelay.errors import LeadRelayError
from leadrelay.variables import (  # the names live in a module of constants, for the command line's --help
    DB_ENV,
    FORM_BURST_ENV,
    FORM_RATE_ENV,
    HTTP_BODY_LIMIT_ENV,
    HTTP_HOST_ENV,
    HTTP_PORT_ENV,
    HTTP_RETRY_AFTER_ENV,
    HTTP_WORKERS_ENV,
    LANG_ENV,
    LANGS,
    NOW_ENV,
    PROGRESS_SECONDS_ENV,
    SMTP_FROM_ENV,
    SMTP_TIMEOUT_ENV,
    SMTP_URL_ENV,
    WEB_SECURE_COOKIE_ENV,
    WEB_SESSION_HOURS_ENV,
    WEBHOOK_TIMEOUT_ENV,
    WORKER_POLL_ENV,
    WORKER_WAKE_MS_ENV,
)

Lang = Literal["en", "ja"]

#: SMTP URL schemes and their default ports: plain, STARTTLS required, TLS from the start.
SMTP_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


class SettingsError(LeadRelayError, ValueError):
    """A setting that cannot be used; ``str()`` is one line naming the variable."""


@dataclass(frozen=True, slots=True)
class SmtpServer:
    """``LEADRELAY_SMTP_URL`` taken apart."""

    scheme: str  # smtp | smtp+starttls | smtps
    host: str
    port: int
    user: str | None
    password: str | None


def parse_smtp_url(url: str) -> SmtpServer:
    """``smtp://[user[:password]@]host[:port]`` (or ``smtp+starttls://``, ``smtps://``); user and
    password percent-encoded. Raises ``ValueError`` saying what is wrong (never echoing the URL,
    which may hold a password)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in SMTP_PORTS or not parts.hostname:
        raise ValueError("must look like smtp://user:password@host:port (or smtp+starttls://, smtps://)")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("the port is not a number from 1 to 65535") from None
    return SmtpServer(
        parts.scheme,
        parts.hostname,
        port or SMTP_PORTS[parts.scheme],
        unquote(parts.username) if parts.username else None,
        unquote(parts.password) if parts.password else None,
    )


def redact(url: str) -> str:
    """``url`` with its password replaced by ``***``, for showing."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def _from(variable: str, default: Any = None, **constraints: Any) -> Any:
    """A field read from ``variable``; a constructor argument by the field's name wins over it."""
    return Field(default, validation_alias=variable, **constraints)


class Settings(BaseSettings):
    """What leadrelay reads from the environment, with the defaults used when a variable is unset.

    Construct with field names to override (``Settings(db="x.db")``): arguments win over the
    environment. :func:`load_settings` does the same and turns pydantic's ``ValidationError``
    into a one-line :class:`SettingsError`.
    """

    model_config = SettingsConfigDict(
        case_sensitive=True, env_ignore_empty=True, extra="ignore", frozen=True, populate_by_name=True
    )

    # where and when
    db: str | None = _from(DB_ENV, repr=False)  # a SQLite file path or a URL; unset: leadrelay.db
    lang: Lang | None = _from(LANG_ENV)  # unset: from the locale (LC_ALL, LANG), else English
    locale: str = Field("", validation_alias=AliasChoices("LC_ALL", "LANG"), repr=False)
    now: datetime | None = _from(NOW_ENV)  # act as if it were this time (replays); unset: the wall clock
    #: the folder of the columnar activity log rescore reads (``off``: read the table); unset:
    #: beside a SQLite file, in the user's cache folder for PostgreSQL (docs/activity-log.md)
    activity_log: str | None = _from("LEADRELAY_ACTIVITY_LOG")

    # delivery
    smtp_url: str | None = _from(SMTP_URL_ENV, repr=False)  # may hold a password: see describe()
    smtp_from: str | None = _from(SMTP_FROM_ENV)
    smtp_timeout: float = _from(SMTP_TIMEOUT_ENV, 10.0, gt=0)
    webhook_timeout: float = _from(WEBHOOK_TIMEOUT_ENV, 10.0, gt=0)
    #: without a terminal, an import prints a progress line this often (seconds)
    progress_seconds: float = _from(PROGRESS_SECONDS_ENV, 10.0, gt=0)

    # the worker: timers
    timer_batch: int = _from("LEADRELAY_WORKER_TIMER_BATCH", 500, ge=1)  # timers fired per transaction
    timer_max_attempts: int = _from("LEADRELAY_WORKER_TIMER_MAX_ATTEMPTS", 10, ge=1)
    timer_backoff_base: float = _from("LEADRELAY_WORKER_TIMER_BACKOFF_BASE", 30.0, gt=0)  # seconds
    timer_backoff_cap: float = _from("LEADRELAY_WORKER_TIMER_BACKOFF_CAP", 3600.0, gt=0)
    # the worker: messages
    message_batch: int = _from("LEADRELAY_WORKER_MESSAGE_BATCH", 200, ge=1)  # messages claimed per lease
    max_attempts: int = _from("LEADRELAY_WORKER_MAX_ATTEMPTS", 10, ge=1)  # delivery attempts per message
    backoff_base: float = _from("LEADRELAY_WORKER_BACKOFF_BASE", 10.0, gt=0)  # seconds
    backoff_cap: float = _from("LEADRELAY_WORKER_BACKOFF_CAP", 3600.0, gt=0)
    lease: float = _from("LEADRELAY_WORKER_LEASE", 300.0, ge=1)  # seconds a claimed message stays a worker's
    concurrency: int = _from("LEADRELAY_WORKER_CONCURRENCY", 16, ge=1)  # deliveries at the same time
    poll: float = _from(WORKER_POLL_ENV, 1.0, ge=0.01)  # seconds to wait at most when nothing is due
    #: SQLite: milliseconds between an idle worker's looks at the newest message id (PostgreSQL
    #: workers are woken by NOTIFY instead)
    wake_ms: int = _from(WORKER_WAKE_MS_ENV, 50, ge=1, le=60_000)
    # the worker: expired idempotency keys (kept 24 hours), deleted in batches
    purge_batch: int = _from("LEADRELAY_WORKER_PURGE_BATCH", 500, ge=1)  # keys deleted per transaction
    purge_every: float = _from("LEADRELAY_WORKER_PURGE_EVERY", 60.0, gt=0)  # seconds between purges
    # the worker: database outages (it waits and retries, doubling the wait up to the cap)
    outage_retry_base: float = _from("LEADRELAY_WORKER_OUTAGE_RETRY_BASE", 0.5, gt=0)  # seconds
    outage_retry_cap: float = _from("LEADRELAY_WORKER_OUTAGE_RETRY_CAP", 30.0, gt=0)

    # the HTTP API (leadrelay serve)
    http_host: str = _from(HTTP_HOST_ENV, "127.0.0.1", min_length=1)
    http_port: int = _from(HTTP_PORT_ENV, 8000, ge=1, le=65535)
    http_workers: int = _from(HTTP_WORKERS_ENV, 1, ge=1, le=64)  # processes
    http_body_limit: int = _from(HTTP_BODY_LIMIT_ENV, 16 * 1024 * 1024, ge=1024)  # bytes per request body
    http_retry_after: int = _from(HTTP_RETRY_AFTER_ENV, 5, ge=1)  # seconds, told with a 503 (database down)
    # public web forms (POST /forms/{id}): a token bucket per client IP address, per process
    form_rate_per_minute: float = _from(FORM_RATE_ENV, 10.0, gt=0)  # posts refilled per minute
    form_burst: int = _from(FORM_BURST_ENV, 5, ge=1)  # posts at once
    # the dashboard: a session ends after this many idle hours; its cookie is Secure unless false
    # (browsers send Secure cookies to http://localhost and 127.0.0.1, so false is rarely needed)
    web_session_hours: float = _from(WEB_SESSION_HOURS_ENV, 12.0, gt=0, le=24 * 30)
    web_secure_cookie: bool = _from(WEB_SECURE_COOKIE_ENV, True)

    _environ: dict[str, str] = PrivateAttr(default_factory=lambda: dict(os.environ))

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings)  # no .env file, no secrets directory: the environment only

    @field_validator("lang", mode="before")
    @classmethod
    def _lang(cls, value: Any) -> Any:
        if isinstance(value, str):
            code = value.strip().lower()
            for lang in LANGS:  # "ja", "ja_JP.UTF-8", "JA" all mean Japanese
                if code == lang or code.startswith((f"{lang}_", f"{lang}-", f"{lang}.")):
                    return lang
            raise ValueError(f"'{value}' is not one of {', '.join(LANGS)}")
        return value

    @field_validator("now", mode="before")
    @classmethod
    def _now(cls, value: Any) -> Any:
        moment = value
        if isinstance(value, str):
            text = value.strip()
            try:
                moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
            except ValueError:
                raise ValueError(f"'{value}' is not an ISO 8601 timestamp (e.g. 2026-11-20T10:30:00+09:00)") from None
        if isinstance(moment, datetime) and (moment.tzinfo is None or moment.utcoffset() is None):
            raise ValueError(f"'{value}' has no time zone (add +09:00, Z or another offset)")
        return moment

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: str | None) -> str | None:
        if value is not None:
            parse_smtp_url(value)
        return value

    @field_validator("smtp_from")
    @classmethod
    def _smtp_from(cls, value: str | None) -> str | None:
        if value is not None and "@" not in parseaddr(value)[1]:
            raise ValueError(f"'{value}' is not an e-mail address")
        return value

    @model_validator(mode="after")
    def _caps(self) -> Settings:
        for base, cap in (
            ("backoff_base", "backoff_cap"),
            ("timer_backoff_base", "timer_backoff_cap"),
            ("outage_retry_base", "outage_retry_cap"),
        ):
            if getattr(self, cap) < getattr(self, base):
                raise ValueError(
                    f"{_variable(cap)} ({getattr(self, cap)}) is below {_variable(base)} ({getattr(self, base)})"
                )
        return self

    # --- reading ---------------------------------------------------------------------------

    @property
    def language(self) -> Lang:
        """``lang``, else the locale's language (Japanese for ``ja*``), else English."""
        if self.lang is not None:
            return self.lang
        return "ja" if self.locale.lower().startswith("ja") else "en"

    @property
    def smtp(self) -> SmtpServer | None:
        return parse_smtp_url(self.smtp_url) if self.smtp_url else None

    def smtp_problem(self) -> str | None:
        """Why e-mail cannot be sent with these settings (naming the variable), or None."""
        if not self.smtp_url:
            return f"{SMTP_URL_ENV} is not set: no SMTP server to send e-mail through"
        if not self.smtp_from:
            return f"{SMTP_FROM_ENV} is not set: no sender address for e-mail"
        return None

    def variable(self, name: str) -> str | None:
        """The variable ``name`` (a webhook channel's ``url_env`` or ``secret_env``) as it was when
        these settings were loaded; None when unset or blank."""
        value = self._environ.get(name, "").strip()
        return value or None

    def with_variables(self, variables: Mapping[str, str]) -> Settings:
        """A copy that looks channel variables up in ``variables`` instead of the environment."""
        copy = self.model_copy()
        copy._environ = dict(variables)
        return copy

    def wake_description(self) -> str:
        """How an idle worker hears of new messages on this database."""
        if self.db and self.db.startswith(("postgres://", "postgresql")):
            return "LISTEN/NOTIFY"
        return f"looked for every {self.wake_ms}ms"

    def describe(self) -> str:
        """The effective settings in one line, without secrets (passwords, webhook URLs and secrets)."""
        smtp = f"{redact(self.smtp_url)} from {self.smtp_from or '(no sender)'}" if self.smtp_url else "not set"
        return (
            f"db {redact(self.db) if self.db else '(default) leadrelay.db'}; "
            f"smtp {smtp}, timeout {self.smtp_timeout:g}s; webhooks timeout {self.webhook_timeout:g}s; "
            f"timers {self.timer_batch} per batch, {self.timer_max_attempts} tries, "
            f"backoff {self.timer_backoff_base:g}-{self.timer_backoff_cap:g}s; "
            f"messages {self.message_batch} per batch, {self.concurrency} at a time, lease {self.lease:g}s, "
            f"{self.max_attempts} tries, backoff {self.backoff_base:g}-{self.backoff_cap:g}s; poll {self.poll:g}s, "
            f"woken by new messages ({self.wake_description()}); "
            f"database outages retried every {self.outage_retry_base:g}-{self.outage_retry_cap:g}s"
        )

    def describe_http(self) -> str:
        """The HTTP API's settings in one line (no secrets)."""
        return (
            f"http {self.http_host}:{self.http_port}, {self.http_workers} worker process(es), "
            f"request bodies up to {self.http_body_limit} bytes, Retry-After {self.http_retry_after}s when the database is down"
        )


def _variable(field: str) -> str:
    alias = Settings.model_fields[field].validation_alias
    return alias if isinstance(alias, str) else field


def load_settings(**overrides: Any) -> Settings:
    """The settings from the environment, ``overrides`` (by field name, None: not given) winning.

    Raises :class:`SettingsError`: one line naming the first bad variable."""
    given = {name: value for name, value in overrides.items() if value is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        raise SettingsError(_one_line(exc, given)) from None


def _one_line(exc: ValidationError, given: Mapping[str, Any]) -> str:
    error = exc.errors()[0]
    where = str(error["loc"][0]) if error["loc"] else ""
    field = next((name for name in Settings.model_fields if where in (name, _variable(name))), None)
    name = _variable(field) if field and field not in given else where
    message = str(error["msg"]).removeprefix("Value error, ")
    if field is None:
        return message  # a check across fields: its message names the variables
    if message.startswith("'"):  # our own checks quote the value themselves
        return f"{name}: {message}"
    message = message[:1].lower() + message[1:]
    if field in ("smtp_url", "db") or "input" not in error:  # may hold a password: not shown
        return f"{name}: {message}"
    return f"{name}: '{error['input']}': {message}"
