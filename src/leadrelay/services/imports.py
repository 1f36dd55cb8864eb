"""Reading lead, activity and outcome files (CSV, JSONL, Parquet) and mapping their rows to leadrelay records.

No database code here: :func:`open_source` streams a file as numbered rows, a :class:`Mapping`
turns each row into a record for :mod:`leadrelay.adapters.records`, and :func:`run_import` feeds batches to
a callable (``LeadRelay.add_leads_numbered`` or ``record_activities_numbered``) and writes the
rejected rows to a rejects CSV. Files are streamed: memory stays bounded by the batch size.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from importlib import resources
from pathlib import Path
from typing import IO, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from leadrelay.adapters.playbook.document import DocumentError, line_of, parse_yaml, plain, read_text
from leadrelay.adapters.records import (
    ACCOUNT_FIELDS,
    ACTIVITY_FIELDS,
    CAMPAIGN_FIELDS,
    LEAD_FIELDS,
    OUTCOME_FIELDS,
    InputError,
)
from leadrelay.entrypoints.api import FileFingerprint
from leadrelay.services.intake import BatchResult

Kind = Literal["leads", "activities", "outcomes"]
Record = dict[str, Any]
Numbered = tuple[int, Record | InputError]

DELIMITERS = (",", ";", "\t", "|")
DETECT_ENCODINGS = ("utf-8-sig", "cp932")
SAMPLE_BYTES = 1 << 20
PARQUET_SUFFIXES = (".parquet", ".pq")
PARQUET_MAGIC = b"PAR1"
#: Rows per record batch read from a Parquet file: memory stays bounded by this, not the file.
PARQUET_BATCH_ROWS = 2048
TIME_FIELDS = frozenset({"created_at", "occurred_at", "lead.created_at", "closed_at"})
#: Lead fields that, in an activity import, describe the person and go under ``lead.``.
_ACTIVITY_TOP = ACTIVITY_FIELDS - {"lead"}


#: Columns an import needs besides the lead's e-mail or external id.
_REQUIRED: dict[str, tuple[str, ...]] = {
    "leads": (),
    "activities": ("type", "occurred_at"),
    "outcomes": ("outcome", "closed_at"),
}


class ImportFileError(ValueError):
    """A file or mapping that cannot be imported at all (one clear line; the CLI exits 2)."""


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


# --- sources ---------------------------------------------------------------------------------


def detect_encoding(sample: bytes, at_end: bool) -> str:
    """utf-8-sig if the sample is UTF-8 (with or without BOM), else cp932 (Shift_JIS), else an error."""
    for encoding in DETECT_ENCODINGS:
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            decoder.decode(sample, final=at_end)
        except UnicodeDecodeError:
            continue
        return encoding
    raise ImportFileError("not UTF-8 or Shift_JIS (CP932) text; name the encoding with --encoding")


def sniff_delimiter(header_line: str) -> str:
    """The delimiter among , ; TAB | that the header line uses most (outside quotes)."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for char in header_line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


@dataclass
class Source:
    """An opened file: its format, encoding, headers (CSV) and a stream of numbered rows."""

    path: Path
    format: Literal["csv", "jsonl", "parquet"]
    encoding: str
    size: int
    headers: list[str]
    delimiter: str | None
    _binary: IO[bytes]
    _text: IO[str]
    _rows: Iterator[tuple[int, dict[str, Any] | InputError]]
    rows_read: int = 0
    line: int = 0  # physical lines read so far (Parquet: rows)
    total_rows: int | None = None  # known up front for Parquet

    @property
    def empty(self) -> bool:
        return self.size == 0 or (self.format == "csv" and not self.headers) or self.total_rows == 0

    def position(self) -> int:
        """Bytes read so far (for a progress bar)."""
        if self.total_rows:
            return self.size * self.rows_read // self.total_rows
        try:
            return min(self._binary.tell(), self.size)
        except (OSError, ValueError):
            return self.size

    def rows(self) -> Iterator[tuple[int, dict[str, Any] | InputError]]:
        try:
            for item in self._rows:
                self.rows_read += 1
                yield item
        except UnicodeDecodeError:
            raise ImportFileError(
                f"{self.path}: not valid {self.encoding} text after line {self.line}; name the encoding with --encoding"
            ) from None
        except csv.Error as exc:
            raise ImportFileError(f"{self.path}: line {self.line}: broken CSV ({exc})") from None

    def close(self) -> None:
        self._text.close()
        self._binary.close()

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def open_source(path: Path, encoding: str | None = None) -> Source:
    """Open a CSV or JSONL file for streaming; raises :class:`ImportFileError` if it cannot be read."""
    try:
        binary: IO[bytes] = path.open("rb")
    except FileNotFoundError:
        raise ImportFileError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise ImportFileError(f"{path}: is a directory, not a file") from None
    except OSError as exc:
        raise ImportFileError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        size = path.stat().st_size
        sample = binary.read(SAMPLE_BYTES)
        if path.suffix.lower() in PARQUET_SUFFIXES or (
            sample.startswith(PARQUET_MAGIC) and path.suffix.lower() != ".csv"
        ):
            return _parquet_source(path, size, binary)
        if encoding is None:
            try:
                encoding = detect_encoding(sample, at_end=len(sample) < SAMPLE_BYTES)
            except ImportFileError as exc:
                raise ImportFileError(f"{path}: {exc}") from None
        else:
            try:
                codecs.lookup(encoding)
            except LookupError:
                raise ImportFileError(f"--encoding: '{encoding}' is not an encoding (e.g. utf-8, cp932)") from None
            if encoding.replace("_", "-").lower() in ("utf-8", "utf8"):
                encoding = "utf-8-sig"
        binary.seek(0)
        text = io.TextIOWrapper(binary, encoding=encoding, newline="")
        stripped = sample.lstrip(codecs.BOM_UTF8).lstrip()
        is_jsonl = path.suffix.lower() in (".jsonl", ".ndjson") or (
            path.suffix.lower() != ".csv" and stripped.startswith(b"{")
        )
        source: Source
        if is_jsonl:
            source = Source(path, "jsonl", encoding, size, [], None, binary, text, iter(()))
            source._rows = _jsonl_rows(text, source)
        else:
            source = _csv_source(path, encoding, size, binary, text)
    except UnicodeDecodeError:
        binary.close()
        raise ImportFileError(f"{path}: not valid {encoding} text; name the encoding with --encoding") from None
    except BaseException:
        binary.close()
        raise
    return source


def _csv_source(path: Path, encoding: str, size: int, binary: IO[bytes], text: IO[str]) -> Source:
    source = Source(path, "csv", encoding, size, [], None, binary, text, iter(()))
    first = text.readline()
    while first and not first.strip():
        source.line += 1
        first = text.readline()
    if not first:
        return source
    delimiter = sniff_delimiter(first)
    lines = _counting(_chain(first, text), source)
    reader = csv.reader(lines, delimiter=delimiter)
    header_row = next(reader, [])
    source.headers = [h.strip() for h in header_row]
    source.delimiter = delimiter
    source._rows = _csv_rows(reader, source)
    return source


def _chain(first: str, rest: IO[str]) -> Iterator[str]:
    yield first
    yield from rest


def _counting(lines: Iterator[str], source: Source) -> Iterator[str]:
    """Physical lines, counting them in ``source.line``."""
    for line in lines:
        source.line += 1
        yield line


def _csv_rows(reader: Any, source: Source) -> Iterator[tuple[int, dict[str, Any] | InputError]]:
    headers = source.headers
    while True:
        start = source.line + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) > len(headers) and any(cell.strip() for cell in row[len(headers) :]):
            yield start, InputError("row", f"has {len(row)} fields but the header has {len(headers)}")
            continue
        yield start, dict(zip(headers, row, strict=False))


def _parquet_source(path: Path, size: int, binary: IO[bytes]) -> Source:
    """A Parquet file read by record batches (``ParquetFile.iter_batches``); rows numbered from 1."""
    import pyarrow as pa  # imported here: only Parquet imports pay for loading Arrow
    import pyarrow.parquet as pq

    try:
        binary.seek(0)
        parquet = pq.ParquetFile(binary)
    except (pa.ArrowException, OSError) as exc:
        raise ImportFileError(f"{path}: not a readable Parquet file ({exc})") from None
    source = Source(
        path, "parquet", "binary", size, list(parquet.schema_arrow.names), None, binary, io.StringIO(), iter(())
    )
    source.total_rows = parquet.metadata.num_rows
    source._rows = _parquet_rows(parquet, source, pa.ArrowException)
    return source


def _parquet_rows(
    parquet: Any, source: Source, arrow_error: type[Exception]
) -> Iterator[tuple[int, dict[str, Any] | InputError]]:
    number = 0
    try:
        for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS):
            for row in batch.to_pylist():
                number += 1
                source.line = number
                yield number, row
    except arrow_error as exc:
        raise ImportFileError(f"{source.path}: Parquet file unreadable after row {number} ({exc})") from None


def _jsonl_rows(text: IO[str], source: Source) -> Iterator[tuple[int, dict[str, Any] | InputError]]:
    for number, line in enumerate(text, start=1):
        source.line = number
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, InputError("json", f"invalid JSON at column {exc.colno}: {exc.msg}")
            continue
        if not isinstance(value, dict):
            yield number, InputError("json", "each line must be a JSON object")
            continue
        yield number, value


# --- running an import -----------------------------------------------------------------------

Submit = Callable[[list[tuple[int, Record | InputError]]], BatchResult]


def fingerprint(path: Path) -> FileFingerprint:
    """The file's absolute path, size and SHA-256 of its first MB (see ``LeadRelay.begin_import``)."""
    with path.open("rb") as handle:
        head = handle.read(SAMPLE_BYTES)
    return FileFingerprint(str(path.resolve()), path.stat().st_size, hashlib.sha256(head).hexdigest())


def default_rejects_path(path: Path) -> Path:
    return path.with_name(f"{path.name}.rejects.csv")


class RejectsWriter:
    """The rejects CSV (UTF-8 with BOM, so spreadsheet tools read Japanese): line, field, reason, the row."""

    def __init__(self, path: Path, headers: list[str], *, append: bool = False) -> None:
        """``append``: add to the rejects file of an earlier run of the same import (when resuming)."""
        self.path = path
        self.headers = headers
        self.append = append and path.exists()
        self.count = 0
        self._handle: IO[str] | None = None
        self._writer: Any = None

    def write(self, line: int, field_name: str, reason: str, row: dict[str, Any] | None) -> None:
        if self._writer is None:
            try:
                if self.append:
                    self._handle = self.path.open("a", encoding="utf-8", newline="")
                else:
                    self._handle = self.path.open("w", encoding="utf-8-sig", newline="")
            except OSError as exc:
                raise ImportFileError(f"{self.path}: cannot write the rejects file ({exc.strerror})") from None
            self._writer = csv.writer(self._handle)
            if not self.append:
                self._writer.writerow(["line", "field", "reason", *self.headers])
        cells: list[Any] = []
        if row is not None:
            if self.headers:
                cells = [row.get(h, "") for h in self.headers]
            else:  # JSONL: the original object as one cell
                cells = [json.dumps(row, ensure_ascii=False)]
        self._writer.writerow([line, field_name, reason, *cells])
        self.count += 1

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()


@dataclass
class ImportOutcome:
    result: BatchResult = field(default_factory=BatchResult)
    rows: int = 0
    unknown_columns: list[str] = field(default_factory=list)
    rejects_path: Path | None = None


def prepare(source: Source, mapping: Mapping, kind: Kind) -> list[str]:
    """Check a CSV's header against the mapping (raises on a missing required column); unknown columns."""
    if source.format == "jsonl" or source.empty:
        return []
    mapping.check_headers(source.headers, kind, str(source.path))
    return mapping.unknown(source.headers)


def run_import(
    source: Source,
    mapping: Mapping,
    kind: Kind,
    submit: Submit,
    rejects: RejectsWriter,
    *,
    batch_size: int = 5000,
    on_batch: Callable[[int], None] | None = None,
    resume_after: int = 0,
) -> ImportOutcome:
    """Map each row, hand batches to ``submit`` and write every rejected row to ``rejects``.

    Rows numbered up to ``resume_after`` were committed by an earlier run: they are read past,
    not mapped or submitted. Only the current batch's source rows are kept (to copy rejected
    ones into the rejects file).
    """
    outcome = ImportOutcome()
    targets = mapping.targets(source.headers) if source.format != "jsonl" else None
    raw: dict[int, dict[str, Any]] = {}
    batch: list[tuple[int, Record | InputError]] = []

    def flush() -> None:
        result = submit(batch)
        for rejection in result.rejected:
            rejects.write(rejection.record, rejection.field, rejection.message, raw.get(rejection.record))
        outcome.result.merge(result)
        outcome.rows += len(batch)
        batch.clear()
        raw.clear()
        if on_batch is not None:
            on_batch(outcome.rows)

    for number, row in source.rows():
        if number <= resume_after:
            continue
        if isinstance(row, InputError):
            batch.append((number, row))
        else:
            raw[number] = row
            if targets is None and mapping.identity:  # JSONL in leadrelay's own shape: intake checks it
                batch.append((number, dict(row)))
                continue
            try:
                batch.append((number, mapping.apply(row, kind, targets)))
            except InputError as exc:
                batch.append((number, exc))
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    if rejects.count:
        outcome.rejects_path = rejects.path
    return outcome
