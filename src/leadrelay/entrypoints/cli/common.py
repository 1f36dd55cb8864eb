"""What the commands share: the consoles, the settings with the global options, opening the engine."""

from __future__ import annotations

from datetime import datetime

from rich.console import Console

from leadrelay.bootstrap import make_clock, open_store
from leadrelay.config import Settings
from leadrelay.entrypoints.api import LeadRelay
from leadrelay.errors import LeadRelayError

console = Console()
errors = Console(stderr=True, soft_wrap=True)


class Options:
    """The settings of this run: the environment's, with the global options (``--db``, ``--lang``,
    ``--now``) put over them by the app's callback."""

    settings: Settings | None = None

    @property
    def current(self) -> Settings:
        if self.settings is None:
            raise RuntimeError("the settings are loaded by the app's callback before any command runs")
        return self.settings

    @property
    def db(self) -> str | None:
        return self.current.db

    @property
    def lang(self) -> str:
        return self.current.language

    @property
    def now(self) -> datetime | None:
        return self.current.now


options = Options()


class UserError(LeadRelayError):
    """A problem the user can fix; printed as one line, exit code 2."""


def relay() -> LeadRelay:
    """The engine on the chosen database, at the chosen time (``--now``) or the real one."""
    settings = options.current
    return LeadRelay(open_store(settings), make_clock(settings))
