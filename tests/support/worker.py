"""A worker over a relay's store and clock that delivers nothing (:class:`FakeDeliverer`)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from leadrelay import LeadRelay
from leadrelay.adapters.store.outbox import Backoff, Delivery, OutboxMessage
from leadrelay.bootstrap import timer_handlers
from leadrelay.config import Settings
from leadrelay.entrypoints.worker import Worker, WorkerSettings


class FakeDeliverer:
    """Delivers nothing; records what it was given. Fails while ``failing`` is set."""

    def __init__(self) -> None:
        self.given: list[OutboxMessage] = []
        self.failing: str | None = None

    def deliver(self, message: OutboxMessage, now: Any) -> Delivery:
        self.given.append(message)
        return Delivery(message.id, self.failing) if self.failing else Delivery(message.id)

    def close(self) -> None:
        pass


def make_worker(relay: LeadRelay, handlers: dict[str, Any] | None = None, **settings: Any) -> Worker:
    """A worker with a fake deliverer; ``handlers`` None: the built-in ones (notify, SLA)."""
    options = {"timer_backoff": Backoff(base=60, cap=600, max_attempts=3), **settings}
    return Worker(
        relay.store,
        lambda: relay.playbook().playbook,
        relay.clock,
        FakeDeliverer(),
        replace(WorkerSettings.from_settings(Settings(), "w1"), **options),
        timer_handlers() if handlers is None else handlers,
    )
