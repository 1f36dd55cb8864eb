"""Wiring: the real store, clock, senders and timer handlers, built from one validated :class:`Settings`.

The entry points (the Python API, the command line, the worker) call these; services and adapters
are given what they need and never look it up. Tests build the same parts with fakes instead
(``FakeClock``, a fake deliverer, their own handler mapping).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from leadrelay.adapters.clock import Clock, FakeClock, SystemClock
from leadrelay.adapters.store.schema import DEFAULT_URL
from leadrelay.adapters.store.sql_store import SqlStore
from leadrelay.config import Settings, SettingsError
from leadrelay.domain.notifications import Notifications
from leadrelay.errors import LeadRelayError
from leadrelay.services import sla
from leadrelay.services.timers import TimerHandler, notify_timer

# The senders (httpx for webhooks, smtplib) are imported by make_senders: a process that only opens
# the store, such as most command-line calls, does not load them.
if TYPE_CHECKING:
    from leadrelay.adapters.notify.delivery import Senders
    from leadrelay.adapters.notify.smtp import SmtpSettings


class PluginError(LeadRelayError):
    """A ``--plugin`` module that cannot be imported or gives no timer handlers."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"plugin {name}: {reason}")
        self.name = name
        self.reason = reason


def database_url(settings: Settings) -> str:
    """The database to open: ``LEADRELAY_DB`` (or ``--db``), else ``leadrelay.db``."""
    return settings.db or DEFAULT_URL


def open_store(settings: Settings) -> SqlStore:
    """The database, migrated to the current schema."""
    return SqlStore.open(database_url(settings))


def make_clock(settings: Settings) -> Clock:
    """A clock standing still at ``LEADRELAY_NOW`` (``--now``) when set, else the wall clock."""
    return FakeClock(settings.now) if settings.now else SystemClock()


def smtp_settings(settings: Settings) -> SmtpSettings | None:
    """The SMTP server and sender, or None when e-mail cannot be sent (see ``smtp_problem``)."""
    from leadrelay.adapters.notify.smtp import SmtpSettings

    server, sender = settings.smtp, settings.smtp_from
    if server is None or sender is None:
        return None
    return SmtpSettings(
        server.scheme, server.host, server.port, server.user, server.password, sender, settings.smtp_timeout
    )


def make_senders(settings: Settings, *, connections: int = 32) -> Senders:
    """E-mail over SMTP and webhooks over HTTP; without a usable SMTP server every e-mail fails
    at once with the reason (a worker refuses to start first when its playbook sends e-mail:
    :func:`check_delivery`)."""
    from leadrelay.adapters.notify.delivery import Senders
    from leadrelay.adapters.notify.smtp import SmtpSender
    from leadrelay.adapters.notify.webhook import WebhookSender

    smtp = SmtpSender(smtp_settings(settings), settings.smtp_problem() or "")
    webhook = WebhookSender(settings.variable, timeout=settings.webhook_timeout, connections=connections)
    return Senders(smtp, webhook)


def timer_handlers(plugins: Iterable[str] = ()) -> dict[str, TimerHandler]:
    """The worker's handlers by timer kind: the built-in ones, then each plugin's ``TIMER_HANDLERS``
    (a plugin's handler replaces a built-in one of the same kind)."""
    handlers: dict[str, TimerHandler] = {
        "notify": notify_timer,
        "sla_warning": sla.fire_warning,
        "sla_breach": sla.fire_breach,
    }
    for name in plugins:
        handlers.update(plugin_handlers(name))
    return handlers


def plugin_handlers(name: str) -> Mapping[str, TimerHandler]:
    """The ``TIMER_HANDLERS`` mapping (``{kind: handler}``) of the module ``name``."""
    try:
        module = importlib.import_module(name)
    except ImportError as exc:
        raise PluginError(name, str(exc)) from None
    handlers = getattr(module, "TIMER_HANDLERS", None)
    if not isinstance(handlers, Mapping) or not handlers:
        raise PluginError(name, "the module has no TIMER_HANDLERS mapping of timer kinds to handlers")
    for kind, handler in handlers.items():
        if not isinstance(kind, str) or not callable(handler):
            raise PluginError(name, f"TIMER_HANDLERS[{kind!r}] is not a handler for a timer kind")
    return handlers


def check_delivery(settings: Settings, notifications: Notifications | None) -> list[str]:
    """Check that the channels the playbook's rules send on can be used, before a worker starts.

    E-mail without a usable SMTP server, and a webhook channel whose URL variable is set but is
    not an http(s) URL or whose signing secret is missing, are :class:`SettingsError` (one line
    naming the variables). A webhook channel whose URL variable is not set at all is returned as
    a warning: its messages fail with that reason, visible in ``leadrelay outbox --failed``."""
    if notifications is None:
        return []
    used = {channel for rule in notifications.rules for channel in rule.channels}
    channels = [notifications.channels[c] for c in sorted(used) if c in notifications.channels]
    problems: list[str] = []
    warnings: list[str] = []
    emails = [c.id for c in channels if c.kind == "email"]
    smtp = settings.smtp_problem()
    if emails and smtp is not None:
        problems.append(f"{smtp} (the playbook sends e-mail on channel '{emails[0]}')")
    for channel in channels:
        if channel.kind != "webhook":
            continue
        url = channel.url
        if url is None and channel.url_env:
            url = settings.variable(channel.url_env)
            if url is None:
                warnings.append(f"{channel.url_env} is not set: messages on webhook channel '{channel.id}' will fail")
                continue
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                problems.append(f"{channel.url_env} is not an http(s) URL (webhook channel '{channel.id}')")
                continue
        if channel.format == "signed" and channel.secret_env and settings.variable(channel.secret_env) is None:
            problems.append(f"{channel.secret_env} is not set: no secret to sign webhook channel '{channel.id}'")
    if problems:
        raise SettingsError("; ".join(problems))
    return warnings
