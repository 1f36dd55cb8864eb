"""How a delivery fails."""

from __future__ import annotations

from leadrelay.errors import LeadRelayError


class DeliveryError(LeadRelayError):
    """A message could not be delivered. ``permanent``: retrying cannot help (a refused address,
    a 4xx answer, a missing setting) — the message is given up at once, with this reason."""

    def __init__(self, message: str, *, permanent: bool = False, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after
