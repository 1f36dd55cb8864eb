"""Opening a file as numbered rows: encoding and delimiter detection, CSV, JSONL and Parquet streams."""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

from leadrelay.adapters.files.formats import (
    DELIMITERS,
    DETECT_ENCODINGS,
    PARQUET_BATCH_ROWS,
    PARQUET_MAGIC,
    PARQUET_SUFFIXES,
    SAMPLE_BYTES,
    ImportFileError,
)
from leadrelay.adapters.records import (
    InputError,
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
