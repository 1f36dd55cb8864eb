"""Column mappings: which column of an export is which leadrelay field, with value maps and defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from leadrelay.adapters.files.formats import (
    _ACTIVITY_TOP,
    _REQUIRED,
    TIME_FIELDS,
    ImportFileError,
    Kind,
    Record,
)
from leadrelay.adapters.playbook.document import DocumentError, line_of, parse_yaml, plain, read_text
from leadrelay.adapters.records import (
    ACCOUNT_FIELDS,
    ACTIVITY_FIELDS,
    CAMPAIGN_FIELDS,
    LEAD_FIELDS,
    OUTCOME_FIELDS,
    InputError,
)

# --- mappings --------------------------------------------------------------------------------


class MappingSchema(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    description: str | None = None
    identity: bool = False
    columns: dict[str, str | None] = {}
    values: dict[str, dict[str, Any]] = {}
    constants: dict[str, Any] = {}
    timezone: str | None = None
    date_formats: list[str] = []

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"'{value}' is not a time zone (e.g. Asia/Tokyo, UTC)") from None
        return value

    @field_validator("date_formats")
    @classmethod
    def _formats(cls, value: list[str]) -> list[str]:
        for fmt in value:
            if "%" not in fmt:
                raise ValueError(f"'{fmt}' is not a strptime format (e.g. %Y/%m/%d %H:%M)")
        return value


def _known_target(target: str) -> bool:
    head, _, rest = target.partition(".")
    if not rest and head in ("lead", "company", "campaign", "properties", "custom"):
        return True  # a whole nested object (JSONL)
    if head == "lead":
        return _known_target(rest) if rest else False
    if head == "company":
        return rest in ACCOUNT_FIELDS
    if head == "campaign":
        return not rest or rest in CAMPAIGN_FIELDS
    if head in ("properties", "custom"):
        return bool(rest)
    return not rest and (head in LEAD_FIELDS or head in ACTIVITY_FIELDS or head in OUTCOME_FIELDS)


def _key(header: str) -> str:
    return " ".join(header.split()).casefold()


@dataclass(frozen=True)
class Mapping:
    """How a source row becomes a leadrelay record (see README, "Importing files")."""

    name: str
    columns: dict[str, str | None] = field(default_factory=dict)
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    constants: dict[str, Any] = field(default_factory=dict)
    timezone: str | None = None
    date_formats: tuple[str, ...] = ()
    identity: bool = False

    def with_timezone(self, zone: str | None) -> Mapping:
        if zone is None:
            return self
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ImportFileError(f"--timezone: '{zone}' is not a time zone (e.g. Asia/Tokyo, UTC)") from None
        return Mapping(self.name, self.columns, self.values, self.constants, zone, self.date_formats, self.identity)

    def targets(self, headers: list[str]) -> dict[str, str | None]:
        """Each header's target field (None: ignored)."""
        if self.identity:
            return {h: (h.strip() if _known_target(h.strip()) else None) for h in headers}
        by_key = {_key(source): target for source, target in self.columns.items()}
        return {h: by_key.get(_key(h)) for h in headers}

    def unknown(self, headers: list[str]) -> list[str]:
        """Headers the mapping does not mention at all (ignored, worth a warning)."""
        if self.identity:
            return [h for h in headers if h.strip() and not _known_target(h.strip())]
        known = {_key(source) for source in self.columns}
        return [h for h in headers if h.strip() and _key(h) not in known]

    def check_headers(self, headers: list[str], kind: Kind, where: str) -> None:
        """Refuse a file that lacks a required column, before any row is read."""
        given = {t for t in self.targets(headers).values() if t} | set(self.constants)
        if "external_id" in given:
            given.add("email")  # a lead may be named by its external id instead
        required = ["email", *_REQUIRED[kind]]
        missing = [name for name in required if name not in given]
        if not missing:
            return
        wanted = []
        for name in missing:
            sources = [s for s, t in self.columns.items() if t == name]
            target = "email or external_id" if name == "email" else name
            wanted.append(f"'{sources[0]}' ({name})" if sources else f"one mapped to {target}")
        raise ImportFileError(
            f"{where}: missing required column {', '.join(wanted)} for mapping {self.name}; "
            f"the file's columns are: {', '.join(headers)}"
        )

    def apply(self, row: dict[str, Any], kind: Kind, targets: dict[str, str | None] | None = None) -> Record:
        """Map one source row (header → value) to a leadrelay record; raises :class:`InputError`."""
        if targets is None:
            targets = self.targets(list(row))
        out: Record = {}
        for source, value in row.items():
            target = targets.get(source)
            if target is None or _missing(value):
                continue
            value = self._convert(target, value.strip() if isinstance(value, str) else value)
            _put(out, _placed(target, kind), value)
        for target, value in self.constants.items():
            placed = _placed(target, kind)
            if _get(out, placed) is None:
                _put(out, placed, self._convert(target, value))
        return out

    def _convert(self, target: str, value: Any) -> Any:
        vocabulary = self.values.get(target)
        if vocabulary is not None and isinstance(value, str | int | float) and not isinstance(value, bool):
            text = str(value)
            if text in vocabulary:
                value = vocabulary[text]
            else:
                folded = {str(k).casefold(): v for k, v in vocabulary.items()}
                value = folded.get(text.casefold(), value)
        if target in TIME_FIELDS:
            if isinstance(value, str):
                return self._time(target, value)
            if isinstance(value, datetime):  # typed files (Parquet) carry real time stamps
                return self._zoned(value)
            if isinstance(value, date):
                return self._zoned(datetime.combine(value, time()))
        if target.startswith("properties.") and isinstance(value, str):
            return _scalar(value)
        return value

    def _time(self, target: str, text: str) -> str:
        moment: datetime | None = None
        for fmt in self.date_formats:
            try:
                moment = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
        if moment is None:
            try:
                moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
            except ValueError:
                tried = ", ".join(self.date_formats) or "ISO 8601"
                raise InputError(target, f"'{text}' matches no date format (tried {tried})") from None
        return self._zoned(moment)

    def _zoned(self, moment: datetime) -> str:
        if moment.tzinfo is None:
            if self.timezone is None:
                return moment.isoformat()  # intake refuses it, naming the missing zone
            moment = moment.replace(tzinfo=ZoneInfo(self.timezone))
        return moment.isoformat()


def _missing(value: Any) -> bool:
    """A blank cell: None, empty text, or NaN (how dataframe tools write a missing number)."""
    return (
        value is None or (isinstance(value, str) and not value.strip()) or (isinstance(value, float) and value != value)
    )


def _placed(target: str, kind: Kind) -> str:
    """Where a target lands: in an activity import, person fields go under ``lead.``."""
    if kind == "activities" and not target.startswith("lead."):
        head = target.split(".", 1)[0]
        if head not in _ACTIVITY_TOP:
            return f"lead.{target}"
    return target


def _put(record: Record, dotted: str, value: Any) -> None:
    *path, last = dotted.split(".")
    node = record
    for step in path:
        child = node.get(step)
        if not isinstance(child, dict):
            child = {} if child is None else {"code": child}
            node[step] = child
        node = child
    if isinstance(node.get(last), dict) and not isinstance(value, dict):
        node[last]["code"] = value  # e.g. campaign and campaign.name both given
    else:
        node[last] = value


def _get(record: Record, dotted: str) -> Any:
    node: Any = record
    for step in dotted.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(step)
    return node


def _scalar(text: str) -> Any:
    lowered = text.casefold()
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return text
    return number if number == number and number not in (float("inf"), float("-inf")) else text


def builtin_mappings() -> list[str]:
    folder = resources.files("leadrelay.data").joinpath("mappings")
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_mapping(name_or_path: str) -> Mapping:
    """A built-in mapping by name, or a mapping YAML file; errors name the file, line and key."""
    if name_or_path in builtin_mappings():
        ref = resources.files("leadrelay.data").joinpath("mappings", f"{name_or_path}.yaml")
        return parse_mapping(ref.read_text(encoding="utf-8"), f"mapping {name_or_path}", name_or_path)
    path = Path(name_or_path)
    if not path.suffix and not path.exists():
        raise ImportFileError(
            f"--mapping: '{name_or_path}' is neither a built-in mapping ({', '.join(builtin_mappings())}) nor a file"
        )
    try:
        text = read_text(path)
    except DocumentError as exc:
        raise ImportFileError(f"{path}: mapping {exc.message}") from None
    return parse_mapping(text, str(path), path.stem)


def parse_mapping(text: str, source: str, default_name: str) -> Mapping:
    try:
        document = parse_yaml(text)
    except DocumentError as exc:
        raise ImportFileError(f"{source}:{exc.line or 1}: {exc.message}") from None
    if document is None:
        raise ImportFileError(f"{source}: empty mapping file")
    if not isinstance(document, dict):
        raise ImportFileError(f"{source}:1: a mapping file is a YAML mapping (columns:, values:, constants:, ...)")
    try:
        schema = MappingSchema.model_validate(plain(document))
    except ValidationError as exc:
        error = exc.errors()[0]
        path = [str(p) for p in error["loc"]]
        line = line_of(document, path)
        key = ".".join(path) or "mapping"
        raise ImportFileError(f"{source}:{line or 1}: {key}: {error['msg'].removeprefix('Value error, ')}") from None
    for section, targets in (
        ("columns", [(s, t) for s, t in schema.columns.items() if t is not None]),
        ("values", [(t, t) for t in schema.values]),
        ("constants", [(t, t) for t in schema.constants]),
    ):
        for key, target in targets:
            if not _known_target(target):
                line = line_of(document, [section, key])
                raise ImportFileError(f"{source}:{line or 1}: {section}.{key}: '{target}' is not a leadrelay field")
    return Mapping(
        name=schema.name or default_name,
        columns=dict(schema.columns),
        values={k: dict(v) for k, v in schema.values.items()},
        constants=dict(schema.constants),
        timezone=schema.timezone,
        date_formats=tuple(schema.date_formats),
        identity=schema.identity,
    )
