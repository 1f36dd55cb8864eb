"""What every command module shares: the consoles, the global options, opening the engine."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from rich.console import Console

from leadrelay.adapters.clock import FakeClock, SystemClock

if TYPE_CHECKING:
    from leadrelay.entrypoints.api import LeadRelay

console = Console()
errors = Console(stderr=True, soft_wrap=True)


class Options:
    db: str | None = None
    lang: str = "en"
    now: datetime | None = None


options = Options()


class UserError(Exception):
    """A problem the user can fix; printed as one line, exit code 2."""


def relay() -> LeadRelay:
    """The engine on the chosen database, at the chosen time (``--now``) or the real one."""
    from leadrelay.entrypoints.api import LeadRelay  # the engine is loaded by the commands that use it

    clock = FakeClock(options.now) if options.now else SystemClock()
    return LeadRelay.open(options.db, clock=clock)
