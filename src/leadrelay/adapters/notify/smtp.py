"""E-mail over SMTP (standard library ``smtplib``).

The server, the sender address and the timeout come from :class:`SmtpSettings`, which
:mod:`leadrelay.bootstrap` builds from ``LEADRELAY_SMTP_URL``, ``LEADRELAY_SMTP_FROM`` and
``LEADRELAY_SMTP_TIMEOUT`` (checked by :mod:`leadrelay.config`): ``smtp://`` is plain (port 25),
``smtp+starttls://`` requires STARTTLS (587), ``smtps://`` is TLS from the start (465).
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate

from leadrelay.adapters.notify.errors import DeliveryError
from leadrelay.adapters.store.outbox import OutboxMessage


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    scheme: str  # smtp | smtp+starttls | smtps
    host: str
    port: int
    user: str | None
    password: str | None
    sender: str
    timeout: float


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
    """Sends e-mail; one SMTP connection per thread, reused across messages and reopened when lost.

    Without ``settings`` every message fails at once (permanently) with ``unavailable``, the
    reason e-mail cannot be sent."""

    def __init__(self, settings: SmtpSettings | None, unavailable: str = "no SMTP server is configured") -> None:
        self.settings = settings
        self.unavailable = unavailable
        self._local = threading.local()
        self._all: list[smtplib.SMTP] = []
        self._lock = threading.Lock()

    def send(self, message: OutboxMessage) -> None:
        settings = self.settings
        if settings is None:
            raise DeliveryError(self.unavailable, permanent=True)
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
