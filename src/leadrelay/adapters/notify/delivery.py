"""Delivering one outbox message on its channel."""

from __future__ import annotations

from datetime import datetime

from leadrelay.adapters.notify.errors import DeliveryError
from leadrelay.adapters.notify.smtp import SmtpSender
from leadrelay.adapters.notify.webhook import WebhookSender
from leadrelay.adapters.store.outbox import Delivery, OutboxMessage


class Senders:
    """The real channels, SMTP and HTTP (built from the settings by :mod:`leadrelay.bootstrap`)."""

    def __init__(self, smtp: SmtpSender, webhook: WebhookSender) -> None:
        self.smtp = smtp
        self.webhook = webhook

    def deliver(self, message: OutboxMessage, now: datetime) -> Delivery:
        try:
            if message.channel == "email":
                self.smtp.send(message)
            elif message.channel == "webhook":
                self.webhook.send(message, now)
            else:
                raise DeliveryError(f"unknown channel '{message.channel}'", permanent=True)
        except DeliveryError as exc:
            return Delivery(message.id, str(exc) or type(exc).__name__, exc.permanent, exc.retry_after)
        except Exception as exc:  # a bug or an unexpected library error: keep it, try again later
            return Delivery(message.id, f"{type(exc).__name__}: {exc}")
        return Delivery(message.id)

    def close(self) -> None:
        self.smtp.close()
        self.webhook.close()
