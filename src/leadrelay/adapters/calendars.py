"""Public holidays by country, for :class:`leadrelay.domain.calendar.BusinessCalendar`.

The domain calendar takes its holidays as a plain ``Callable[[date], bool]``; this adapter builds
one from the ``holidays`` package: ``country_holidays(["JP"])`` knows Japan's public holidays
including substitute holidays (振替休日) and the days between two holidays (国民の休日). Several
regions may be combined (``["JP", "US-NY"]``: a day off in either is a day off). Each year is
loaded the first time a date in it is asked about and then kept; the same regions give the same
predicate object, so a playbook loaded twice compares equal.

Years the package does not cover (for Japan, before 1949 and after 2099) have no holidays.

The package imports the module of every country it knows the first time any country is asked for
(about 0.4 s), which every CLI command would pay when it compiles the playbook's calendars. So what
was read from it — the country codes, subdivisions and each region's year — is also kept in a small
JSON file per package version (``$LEADRELAY_CACHE_DIR``, else ``$XDG_CACHE_HOME/leadrelay``, else
``~/.cache/leadrelay``; ``LEADRELAY_CACHE_DIR=off`` for none) and read from there next time. The file
only ever holds what the package answered; another package version uses another file. When it cannot
be written the package is simply asked again.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Sequence
from datetime import date
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path
from typing import Any

from leadrelay.errors import LeadRelayError


class UnknownRegion(LeadRelayError, ValueError):
    """A country (or country-subdivision) code the ``holidays`` package does not know."""


class _DiskCache:
    """What the package answered, kept in one JSON file per package version (see the module)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._data: dict[str, Any] | None = None
        self._path: Path | None = None

    def _file(self) -> Path | None:
        setting = os.environ.get("LEADRELAY_CACHE_DIR")
        if setting == "off":
            return None
        folder = (
            Path(setting) if setting else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "leadrelay"
        )
        return folder / f"holidays-{version('holidays')}.json"

    def _load(self) -> dict[str, Any]:
        if self._data is None:
            self._path = self._file()
            data: Any = {}
            if self._path is not None:
                try:
                    data = json.loads(self._path.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    data = {}
            self._data = data if isinstance(data, dict) else {}
        return self._data

    def get(self, key: str) -> Any:
        with self._lock:
            return self._load().get(key)

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            data = self._load()
            data[key] = value
            if self._path is None:
                return
            try:  # written whole and renamed into place: a reader never sees half a file
                self._path.parent.mkdir(parents=True, exist_ok=True)
                fd, temporary = tempfile.mkstemp(dir=self._path.parent, prefix=".holidays-", suffix=".json")
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump(data, handle, ensure_ascii=False)
                os.replace(temporary, self._path)
            except OSError:
                pass  # not writable: the package is asked again next time


_DISK = _DiskCache()


@lru_cache(maxsize=1)
def _countries() -> frozenset[str]:
    """The country codes (and aliases) the package knows, read from its registry: listing them with
    ``holidays.list_supported_countries()`` would import the module of every country."""
    known = _DISK.get("countries")
    if isinstance(known, list):
        return frozenset(known)
    from holidays.registry import EntityLoader  # imported on first use: the package is large

    codes = frozenset(EntityLoader.get_country_codes())
    _DISK.put("countries", sorted(codes))
    return codes


def _subdivisions(country: str) -> list[str]:
    key = f"subdivisions:{country}"
    known = _DISK.get(key)
    if isinstance(known, list):
        return known
    import holidays

    found = list(getattr(holidays, country).subdivisions)  # imports this one country's module
    _DISK.put(key, found)
    return found


def normalise_region(code: str) -> tuple[str, str | None]:
    """``"jp"`` → ``("JP", None)``, ``"US-NY"`` → ``("US", "NY")``; :class:`UnknownRegion` if unknown."""
    country, _, subdivision = code.strip().upper().partition("-")
    if country not in _countries():
        raise UnknownRegion(f"no public holidays known for '{code}' (use ISO country codes such as JP, US, SG)")
    if subdivision and subdivision not in (known_subdivisions := _subdivisions(country)):
        known = ", ".join(known_subdivisions[:12]) + (", …" if len(known_subdivisions) > 12 else "")
        raise UnknownRegion(f"'{code}': {country} has no subdivision '{subdivision}' (known: {known})")
    return country, subdivision or None


class CountryHolidays:
    """A holiday predicate for one or more regions; loads each year once, thread-safely."""

    def __init__(self, regions: Sequence[str]) -> None:
        if not regions:
            raise ValueError("name at least one country")
        self.regions: tuple[tuple[str, str | None], ...] = tuple(normalise_region(r) for r in regions)
        self._years: dict[tuple[int, str], dict[date, str]] = {}
        self._lock = threading.Lock()

    @property
    def label(self) -> str:
        return ", ".join(f"{c}-{s}" if s else c for c, s in self.regions)

    def __call__(self, day: date) -> bool:
        return day in self._year(day.year, "en")

    def name(self, day: date, lang: str = "en") -> str | None:
        """The holiday's name (in Japanese where the package has it, when ``lang`` is ``ja``), or ``None``."""
        return self._year(day.year, lang).get(day)

    def _year(self, year: int, lang: str) -> dict[date, str]:
        key = (year, lang)
        known = self._years.get(key)
        if known is not None:
            return known
        with self._lock:
            known = self._years.get(key)
            if known is None:
                known = {}
                for country, sub in self.regions:
                    for day, name in _load(country, sub, year, lang).items():
                        known[day] = f"{known[day]}; {name}" if day in known else name
                self._years[key] = known
        return known


def _load(country: str, subdivision: str | None, year: int, lang: str) -> dict[date, str]:
    key = f"year:{country}:{subdivision or ''}:{year}:{lang}"
    known = _DISK.get(key)
    if isinstance(known, dict):
        return {date.fromisoformat(day): name for day, name in known.items()}
    table = _ask_package(country, subdivision, year, lang)
    _DISK.put(key, {day.isoformat(): name for day, name in sorted(table.items())})
    return table


def _ask_package(country: str, subdivision: str | None, year: int, lang: str) -> dict[date, str]:
    import holidays

    options: dict[str, Any] = {"years": year}
    if subdivision:
        options["subdiv"] = subdivision
    table = holidays.country_holidays(country, **options)
    if lang != "en" and lang in table.supported_languages:
        table = holidays.country_holidays(country, language=lang, **options)
    return {day: str(name) for day, name in table.items()}


@lru_cache(maxsize=64)
def _cached(regions: tuple[str, ...]) -> CountryHolidays:
    return CountryHolidays(regions)


def country_holidays(regions: Sequence[str]) -> CountryHolidays:
    """The holiday predicate for ``regions`` (e.g. ``["JP"]``), shared by every caller."""
    key = tuple(sorted({f"{c}-{s}" if s else c for c, s in (normalise_region(r) for r in regions)}))
    return _cached(key)
