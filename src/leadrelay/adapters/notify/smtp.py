"""E-mail over SMTP (standard library ``smtplib``), configured from the environment.

``LEADRELAY_SMTP_URL``: ``smtp://[user[:password]@]host[:port]`` (plain, port 25),
``smtp+starttls://...`` (STARTTLS required, port 587) or ``smtps://...`` (TLS from the start,
port 465); user and password percent-encoded. ``LEADRELAY_SMTP_FROM``: the sender address.
``LEADRELAY_SMTP_TIMEOUT``: seconds per connection and command (default 10).
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from urllib.parse import unquote, urlsplit

from leadrelay.adapters.notify.errors import DeliveryError
from leadrelay.adapters.store.outbox import OutboxMessage

SMTP_URL_ENV = "LEADRELAY_SMTP_URL"
SMTP_FROM_ENV = "LEADRELAY_SMTP_FROM"
SMTP_TIMEOUT_ENV = "LEADRELAY_SMTP_TIMEOUT"
_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    scheme: str
    host: str
    port: int
    user: str | None
    password: str | None
    sender: str
    timeout: float

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> SmtpSettings:
        url = environ.get(SMTP_URL_ENV, "").strip()
        if not url:
            raise DeliveryError(f"{SMTP_URL_ENV} is not set: no SMTP server to send e-mail through", permanent=True)
        parts = urlsplit(url)
        if parts.scheme not in _PORTS or not parts.hostname:
            raise DeliveryError(
                f"{SMTP_URL_ENV} must look like smtp://user:password@host:port (or smtp+starttls://, smtps://)",
                permanent=True,
            )
        sender = environ.get(SMTP_FROM_ENV, "").strip()
        if not sender:
            raise DeliveryError(f"{SMTP_FROM_ENV} is not set: no sender address for e-mail", permanent=True)
        try:
            timeout = float(environ.get(SMTP_TIMEOUT_ENV, "10"))
        except ValueError:
            raise DeliveryError(f"{SMTP_TIMEOUT_ENV} is not a number of seconds", permanent=True) from None
        return cls(
            parts.scheme,
            parts.hostname,
            parts.port or _PORTS[parts.scheme],
            unquote(parts.username) if parts.username else None,
            unquote(parts.password) if parts.password else None,
            sender,
            timeout,
        )


def build_email(message: OutboxMessage, sender: str) -> EmailMessage:
    """The e-mail for an outbox message: UTF-8, the subject encoded as RFC 2047 wants; the
    Message-ID is derived from the outbox key, so a resent message has the same one."""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = message.recipient
    mail["Subject"] = message.subject
    mail["Date"] = formatdate(message.created_at.timestamp(), localtime=False)
    mail["Message-ID"] = f"<{message.key[:40]}@leadrelay>"  # short enough not to be folded
    mail["X-Leadrelay-Idempotency-Key"] = message.key
    mail["X-Leadrelay-Event"] = message.event
    if message.lang == "ja":
        mail["Content-Language"] = "ja"
    mail.set_content(message.body, charset="utf-8")
    return mail


class SmtpSender:
    """Sends e-mail; one SMTP connection per thread, reused across messages and reopened when lost."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self._local = threading.local()
        self._all: list[smtplib.SMTP] = []
        self._lock = threading.Lock()

    def send(self, message: OutboxMessage) -> None:
        settings = SmtpSettings.from_env(self.environ)
        mail = build_email(message, settings.sender)
        for attempt in (1, 2):
            connection = self._connection(settings)
            try:
                refused = connection.send_message(mail)
            except smtplib.SMTPServerDisconnected as exc:
                self._drop()
                if attempt == 2:
                    raise DeliveryError(f"SMTP server closed the connection: {exc}") from None
                continue
            except smtplib.SMTPRecipientsRefused as exc:
                code, text = next(iter(exc.recipients.values()))
                raise DeliveryError(
                    f"SMTP refused {message.recipient}: {code} {_text(text)}", permanent=code >= 500
                ) from None
            except smtplib.SMTPResponseException as exc:
                self._drop()
                raise DeliveryError(
                    f"SMTP {exc.smtp_code} {_text(exc.smtp_error)}", permanent=exc.smtp_code >= 500
                ) from None
            except (smtplib.SMTPException, OSError) as exc:
                self._drop()
                raise DeliveryError(f"SMTP: {exc}") from None
            if refused:
                code, text = next(iter(refused.values()))
                raise DeliveryError(f"SMTP refused {message.recipient}: {code} {_text(text)}", permanent=code >= 500)
            return

    def _connection(self, settings: SmtpSettings) -> smtplib.SMTP:
        current: smtplib.SMTP | None = getattr(self._local, "connection", None)
        if current is not None:
            return current
        try:
            if settings.scheme == "smtps":
                connection: smtplib.SMTP = smtplib.SMTP_SSL(
                    settings.host, settings.port, timeout=settings.timeout, context=ssl.create_default_context()
                )
            else:
                connection = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
                if settings.scheme == "smtp+starttls":
                    connection.starttls(context=ssl.create_default_context())
            if settings.user:
                connection.login(settings.user, settings.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"SMTP login failed: {exc.smtp_code} {_text(exc.smtp_error)}") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"cannot reach the SMTP server {settings.host}:{settings.port}: {exc}") from None
        self._local.connection = connection
        with self._lock:
            self._all.append(connection)
        return connection

    def _drop(self) -> None:
        connection: smtplib.SMTP | None = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None:
            with contextlib.suppress(OSError):
                connection.close()

    def close(self) -> None:
        with self._lock:
            connections, self._all = self._all, []
        for connection in connections:
            try:
                connection.quit()
            except (smtplib.SMTPException, OSError):
                connection.close()
        self._local = threading.local()


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
