"""Opening a file as numbered rows: encoding and delimiter detection, CSV, JSONL and Parquet streams."""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal, cast

from leadrelay.adapters.files.formats import (
    CSV_FIELD_MAX,
    DELIMITERS,
    DETECT_ENCODINGS,
    HEADER_COLUMNS_MAX,
    HEADER_LINE_MAX,
    PARQUET_BATCH_ROWS,
    PARQUET_MAGIC,
    PARQUET_SUFFIXES,
    SAMPLE_BYTES,
    STDIN_NAME,
    ImportFileError,
)
from leadrelay.adapters.records import (
    InputError,
)

# --- sources ---------------------------------------------------------------------------------


#: Byte order marks of the encodings a spreadsheet tool may write instead of UTF-8 (UTF-32 first:
#: its little-endian mark starts with UTF-16's).
_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32-LE"),
    (codecs.BOM_UTF32_BE, "UTF-32-BE"),
    (codecs.BOM_UTF16_LE, "UTF-16-LE"),
    (codecs.BOM_UTF16_BE, "UTF-16-BE"),
)
_CONVERT = "convert it to UTF-8 first (e.g. iconv -f {0} -t UTF-8 FILE > FILE-utf8.csv) or name it with --encoding {1}"


def detect_encoding(sample: bytes, at_end: bool) -> str:
    """utf-8-sig if the sample is UTF-8 (with or without BOM), else cp932 (Shift_JIS), else an error.

    UTF-16 and UTF-32 text (with a byte order mark, or ASCII with every other byte NUL) is refused
    with its name: it would decode as UTF-8 with NULs between the letters and no column be found.
    """
    for bom, name in _BOMS:
        if sample.startswith(bom):
            raise ImportFileError(
                f"{name} text (it starts with a byte order mark), not UTF-8 or Shift_JIS (CP932); "
                + _CONVERT.format(name.rsplit("-", 1)[0], name.rsplit("-", 1)[0].lower())
            )
    wide = _wide_without_bom(sample)
    if wide is not None:
        raise ImportFileError(
            f"looks like {wide} text without a byte order mark (NUL bytes between the letters), "
            f"not UTF-8 or Shift_JIS (CP932); " + _CONVERT.format(wide, wide.lower())
        )
    for encoding in DETECT_ENCODINGS:
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            decoder.decode(sample, final=at_end)
        except UnicodeDecodeError:
            continue
        return encoding
    raise ImportFileError("not UTF-8 or Shift_JIS (CP932) text; name the encoding with --encoding")


def _wide_without_bom(sample: bytes) -> str | None:
    """UTF-16-LE or -BE when a quarter of the first 4 KB's byte pairs have a NUL on one side only.

    A UTF-8 or CP932 file has no NUL bytes but in a broken row (rejected as that row); UTF-16
    text has one beside every ASCII letter, digit, delimiter and line end.
    """
    head = sample[:4096]
    pairs = len(head) // 2
    if pairs < 4:
        return None
    even, odd = head[0::2].count(0), head[1::2].count(0)
    if odd * 4 >= pairs and even * 16 < pairs:
        return "UTF-16-LE"
    if even * 4 >= pairs and odd * 16 < pairs:
        return "UTF-16-BE"
    return None


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
    #: Read from a pipe (standard input): read once, front to back; ``size`` counts only the bytes
    #: read ahead to detect the format, and an import of it cannot be resumed.
    streamed: bool = False

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

    def close(self) -> None:
        self._text.close()
        self._binary.close()

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def open_source(path: Path, encoding: str | None = None) -> Source:
    """Open a CSV, JSONL or Parquet file for streaming; raises :class:`ImportFileError` if it cannot be read.

    ``-`` is standard input; it and other pipes (``/dev/stdin``) are read once, front to back:
    CSV and JSONL only, since Parquet keeps its index at the end of the file.
    """
    if str(path) == "-":
        return open_stream(open(sys.stdin.fileno(), "rb", closefd=False), Path(STDIN_NAME), encoding)
    try:
        binary: IO[bytes] = path.open("rb")
    except FileNotFoundError:
        raise ImportFileError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise ImportFileError(f"{path}: is a directory, not a file") from None
    except OSError as exc:
        raise ImportFileError(f"{path}: cannot read ({exc.strerror})") from None
    if not binary.seekable():
        return open_stream(binary, path, encoding)
    return _open(path, binary, encoding, streamed=False)


def open_stream(stream: IO[bytes], path: Path, encoding: str | None = None) -> Source:
    """Open a stream that cannot seek (a pipe), named ``path`` in messages, for streaming CSV or JSONL."""
    try:
        sample = stream.read(SAMPLE_BYTES)
    except BaseException:
        stream.close()
        raise
    replay = io.BufferedReader(_Replay(sample, stream))
    return _open(path, cast(IO[bytes], replay), encoding, streamed=True, sample=sample)


class _Replay(io.RawIOBase):
    """A pipe read again from its start: first the bytes already read from it, then the rest."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        super().__init__()
        self._head = memoryview(head)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._head:
            count = min(len(buffer), len(self._head))
            buffer[:count] = self._head[:count]
            self._head = self._head[count:]
            return count
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._rest.close()
        super().close()


def _open(
    path: Path, binary: IO[bytes], encoding: str | None, *, streamed: bool, sample: bytes | None = None
) -> Source:
    try:
        if sample is None:
            size = path.stat().st_size
            sample = binary.read(SAMPLE_BYTES)
        else:
            size = len(sample)
        is_parquet = path.suffix.lower() in PARQUET_SUFFIXES or (
            sample.startswith(PARQUET_MAGIC) and path.suffix.lower() != ".csv"
        )
        if is_parquet and streamed:
            raise ImportFileError(
                f"{path}: Parquet cannot be read from a pipe or standard input (it needs a file it can seek in); "
                "save it to a file and import that"
            )
        if is_parquet:
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
        if not streamed:
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
        source.streamed = streamed
    except UnicodeDecodeError:
        binary.close()
        raise ImportFileError(f"{path}: not valid {encoding} text; name the encoding with --encoding") from None
    except BaseException:
        binary.close()
        raise
    return source


def _csv_source(path: Path, encoding: str, size: int, binary: IO[bytes], text: IO[str]) -> Source:
    source = Source(path, "csv", encoding, size, [], None, binary, text, iter(()))
    first = _header_line(text, source)
    while first and not first.strip():
        source.line += 1
        first = _header_line(text, source)
    if not first:
        return source
    delimiter = sniff_delimiter(first)
    record: list[str] = []
    lines = _counting(_chain(first, text), source, record)
    # The limit is the csv module's, for every reader in the process: leadrelay reads CSV only here.
    csv.field_size_limit(CSV_FIELD_MAX)
    reader = csv.reader(lines, delimiter=delimiter)
    try:
        header_row = next(reader, [])
    except csv.Error as exc:
        raise ImportFileError(f"{path}: the header is not readable CSV ({_csv_reason(exc)})") from None
    if len(header_row) > HEADER_COLUMNS_MAX:
        raise ImportFileError(
            f"{path}: the header has {len(header_row):,} columns, more than the {HEADER_COLUMNS_MAX:,} an import takes"
        )
    source.headers = [h.strip() for h in header_row]
    source.delimiter = delimiter
    source._rows = _csv_rows(reader, lines, record, source)
    return source


def _header_line(text: IO[str], source: Source) -> str:
    """The next physical line, refused beyond :data:`HEADER_LINE_MAX` characters (without reading it all)."""
    line = text.readline(HEADER_LINE_MAX + 2)  # room for the line end, \r\n
    if len(line.rstrip("\r\n")) > HEADER_LINE_MAX:
        raise ImportFileError(
            f"{source.path}: the header line is longer than {HEADER_LINE_MAX:,} characters; "
            "is this a CSV file with one header line?"
        )
    return line


def _chain(first: str, rest: IO[str]) -> Iterator[str]:
    yield first
    yield from rest


def _counting(lines: Iterator[str], source: Source, record: list[str]) -> Iterator[str]:
    """Physical lines, counting them in ``source.line`` and keeping the current row's in ``record``."""
    for line in lines:
        source.line += 1
        record.append(line)
        yield line


def _csv_rows(
    reader: Any, lines: Iterator[str], record: list[str], source: Source
) -> Iterator[tuple[int, dict[str, Any] | InputError]]:
    headers = source.headers
    while True:
        start = source.line + 1
        record.clear()
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # a field over the limit: reject this row, read on after its end
            yield start, _skip_broken_row(exc, lines, record, source)
            continue
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) > len(headers) and any(cell.strip() for cell in row[len(headers) :]):
            yield start, InputError("row", f"has {len(row)} fields but the header has {len(headers)}", cells=row)
            continue
        yield start, dict(zip(headers, row, strict=False))


def _csv_reason(exc: csv.Error) -> str:
    if "field limit" in str(exc):
        return f"a field is longer than {CSV_FIELD_MAX:,} characters"
    return str(exc)


def _skip_broken_row(exc: csv.Error, lines: Iterator[str], record: list[str], source: Source) -> InputError:
    """The rejection of a row the csv module refused (a field over :data:`CSV_FIELD_MAX`).

    The reader gave up inside the row's last line read; the row goes on after it if that line
    ends inside a quoted field: its remaining lines are read past here, so the next row starts
    where the csv module would have started it. Only the broken row's lines are kept meanwhile.
    """
    scan = _RowScan(source.delimiter or ",", CSV_FIELD_MAX)
    ended = True
    for line in record:
        ended = scan.feed(line)
    record.clear()
    while not ended:
        more = next(lines, None)
        if more is None:
            break
        record.clear()
        ended = scan.feed(more)
    if "field limit" not in str(exc):
        return InputError("row", f"broken CSV ({exc})")
    hint = " (a quote left open runs on to the end of the file)" if not ended else ""
    limit = f"longer than {CSV_FIELD_MAX:,} characters, the longest CSV field an import reads{hint}"
    if scan.over is not None and scan.over < len(source.headers) and source.headers[scan.over]:
        return InputError(source.headers[scan.over], f"is {limit}")
    return InputError("row", f"has a field {limit}")


class _RowScan:
    """The csv module's reading of one row (default dialect, ``"`` quotes), fed line by line:
    where the row ends and which field is the first over ``limit`` characters."""

    def __init__(self, delimiter: str, limit: int) -> None:
        self.delimiter = delimiter
        self.limit = limit
        self.field = 0
        self.length = 0
        self.state = "start"  # start of a field, in a field, in quotes, a quote in quotes
        self.over: int | None = None

    def feed(self, line: str) -> bool:
        """Read one physical line; whether the row ends with it."""
        for char in line:
            state = self.state
            if state == "quoted":
                if char == '"':
                    self.state = "quote"
                else:
                    self._grow()
            elif char == self.delimiter and state != "quoted":
                self.field += 1
                self.length = 0
                self.state = "start"
            elif char in "\r\n":
                return True
            elif char == '"' and state in ("start", "quote"):
                if state == "quote":  # "" in a quoted field is one quote
                    self._grow()
                self.state = "quoted"
            else:
                self._grow()
                self.state = "field"
        return self.state != "quoted"

    def _grow(self) -> None:
        self.length += 1
        if self.length > self.limit and self.over is None:
            self.over = self.field


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
            rows: list[dict[str, Any] | InputError]
            try:
                rows = batch.to_pylist()
            except (OverflowError, ValueError):  # a value Python cannot hold (a date past 9999): find its row
                rows = [_parquet_row(batch, index) for index in range(batch.num_rows)]
            for row in rows:
                number += 1
                source.line = number
                yield number, row
    except arrow_error as exc:
        raise ImportFileError(f"{source.path}: Parquet file unreadable after row {number} ({exc})") from None


def _parquet_row(batch: Any, index: int) -> dict[str, Any] | InputError:
    row: dict[str, Any] = {}
    for name, column in zip(batch.schema.names, batch.columns, strict=True):
        try:
            row[name] = column[index].as_py()
        except (OverflowError, ValueError) as exc:
            return InputError(name, f"cannot be read ({exc})")
    return row


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
        except ValueError:  # the only other one: an integer too long to convert
            yield number, InputError("json", f"holds a number of more than {sys.get_int_max_str_digits()} digits")
            continue
        except RecursionError:
            yield number, InputError("json", "is nested too deeply")
            continue
        if not isinstance(value, dict):
            yield number, InputError("json", "each line must be a JSON object")
            continue
        if _SURROGATE_ESCAPE.search(line) is not None and _has_lone_surrogate(value):
            yield number, InputError("json", "holds a \\u escape of half a character (a lone surrogate), not text")
            continue
        yield number, value


#: ``\\ud800`` to ``\\udfff``: halves of a character outside the BMP; valid only in pairs.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _has_lone_surrogate(value: Any) -> bool:
    """Whether decoded JSON holds text no file or database can store (UTF-8 cannot encode it)."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
