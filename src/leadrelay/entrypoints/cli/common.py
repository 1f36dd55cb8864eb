"""What the commands share: the consoles, the settings with the global options, opening the engine."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from rich.console import Console

from leadrelay.errors import LeadRelayError

# The settings (pydantic-settings), the wiring and the engine (SQLAlchemy, ...) are imported when a
# command first needs them, so that `leadrelay --help` and a command's --help load none of them.
if TYPE_CHECKING:
    from leadrelay.config import Settings
    from leadrelay.entrypoints.api import LeadRelay

console = Console()
errors = Console(stderr=True, soft_wrap=True)


class Options:
    """The settings of this run: the environment's, with the global options (``--db``, ``--lang``,
    ``--now``) put over them. The app's callback only records the options (:meth:`give`); the
    environment is read and checked when a command first asks for a setting, so printing help
    loads neither pydantic nor the settings."""

    settings: Settings | None = None
    _given: dict[str, str | None] | None = None

    def give(self, *, db: str | None, lang: str | None, now: str | None) -> None:
        """The global options of this run (None: not given); the settings are loaded on first use."""
        self._given = {"db": db, "lang": lang, "now": now}
        self.settings = None

    @property
    def current(self) -> Settings:
        if self.settings is None:
            if self._given is None:
                raise RuntimeError("the global options are given by the app's callback before any command runs")
            self.settings = _load(**self._given)
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


def _load(db: str | None, lang: str | None, now: str | None) -> Settings:
    from leadrelay.config import load_settings

    return load_settings(db=db, lang=lang, now=_parse_now(now) if now else None)


def _parse_now(value: str) -> datetime:
    from leadrelay.adapters.records import InputError, parse_time

    try:
        return parse_time(value, "--now")
    except InputError as exc:
        raise UserError(str(exc)) from None


options = Options()


class UserError(LeadRelayError):
    """A problem the user can fix; printed as one line, exit code 2."""


def relay() -> LeadRelay:
    """The engine on the chosen database, at the chosen time (``--now``) or the real one."""
    from leadrelay.bootstrap import make_clock, open_store
    from leadrelay.entrypoints.api import LeadRelay

    settings = options.current
    return LeadRelay(open_store(settings), make_clock(settings))
