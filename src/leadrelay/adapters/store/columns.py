"""A query's result as Arrow columns, read through the raw database driver: on PostgreSQL as
``COPY … TO STDOUT`` CSV parsed by Arrow as it streams in (no Python object per value), on SQLite
from the driver's rows. For the reads of many rows: the bulk rescore's leads, the reports' facts."""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import sqlalchemy as sa

if TYPE_CHECKING:
    from leadrelay.adapters.store.sql_store import StoreTx

#: Bytes of a PostgreSQL ``COPY`` read at a time (Arrow's CSV block: a row must fit in one).
_COPY_BLOCK = 8 << 20


def raw_connection(tx: StoreTx) -> Any:
    """The driver's own connection under the transaction (sqlite3 or psycopg)."""
    return tx.connection.connection.driver_connection


class _CopyStream(io.RawIOBase):
    """The bytes of a psycopg ``COPY … TO STDOUT`` (a row a block), as a file Arrow's CSV reader
    reads from."""

    def __init__(self, blocks: Iterator[Any]) -> None:
        self._blocks = blocks
        self._pending = bytearray()
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        wanted = len(buffer)
        pending = self._pending
        if not self._done and len(pending) < wanted:
            for block in self._blocks:
                pending += block
                if len(pending) >= wanted:
                    break
            else:
                self._done = True
        size = min(wanted, len(pending))
        buffer[:size] = pending[:size]
        del pending[:size]
        return size


def copied_batches(tx: StoreTx, statement: str, types: list[pa.DataType]) -> Iterator[list[pa.Array]]:
    """The rows of a ``COPY … TO STDOUT (FORMAT csv)`` as Arrow arrays of ``types``, a block at a time."""
    read, parse, convert = _csv_options(types)
    cursor = raw_connection(tx).cursor()
    try:
        with cursor.copy(statement) as copy:
            stream = io.BufferedReader(_CopyStream(iter(copy)), buffer_size=_COPY_BLOCK)
            if stream.peek(1):  # Arrow refuses an empty file: no rows, no batches
                reader = pa_csv.open_csv(stream, read_options=read, parse_options=parse, convert_options=convert)
                for batch in reader:
                    yield list(batch.columns)
    finally:
        cursor.close()


def _csv_options(types: Sequence[pa.DataType]) -> tuple[Any, Any, Any]:
    """Arrow's options for PostgreSQL's CSV: NULL is an empty unquoted field, an empty text is "",
    booleans t / f (``COPY``) or true / false (a cast to text)."""
    names = [f"c{i}" for i in range(len(types))]
    read = pa_csv.ReadOptions(column_names=names, use_threads=False, block_size=_COPY_BLOCK)
    parse = pa_csv.ParseOptions(newlines_in_values=True)
    convert = pa_csv.ConvertOptions(
        column_types=dict(zip(names, types, strict=True)),
        null_values=[""],
        strings_can_be_null=True,
        quoted_strings_can_be_null=False,
        true_values=["t", "true"],
        false_values=["f", "false"],
    )
    return read, parse, convert


def _csv_field(column: sa.ColumnElement[Any], text: bool) -> sa.ColumnElement[str]:
    """One value as a field of PostgreSQL's CSV, as SQL: NULL empty, a text quoted."""
    if text:
        quoted = sa.literal('"') + sa.func.replace(column, '"', '""') + sa.literal('"')
        return sa.case((column.is_(None), sa.literal("")), else_=quoted)
    return sa.func.coalesce(sa.cast(column, sa.Text), sa.literal(""))


def read_columns(tx: StoreTx, statement: sa.Select[Any], types: Sequence[pa.DataType]) -> list[pa.Array]:
    """The rows of ``statement`` as one Arrow array per selected column, of ``types`` (moments are
    best selected as epoch seconds, ``pa.float64()``).

    On PostgreSQL the server folds the rows into one CSV text (``string_agg``), which Arrow parses:
    one value crosses the driver instead of a message per row (``COPY`` costs psycopg ~6 µs a row
    in Python), so it suits results of up to a few million rows; the statement's values are
    rendered as SQL literals (quoted by SQLAlchemy). On SQLite the driver's rows, unprocessed."""
    if tx.dialect == "postgresql":
        rows = statement.subquery("rows")
        fields = [_csv_field(c, pa.types.is_string(t)) for c, t in zip(rows.c, types, strict=True)]
        line = sa.func.concat_ws(",", *fields)
        folded = sa.select(sa.func.string_agg(line, sa.literal("\n")))
        sql = str(folded.compile(dialect=tx.connection.dialect, compile_kwargs={"literal_binds": True}))
        text = tx.connection.exec_driver_sql(sql).scalar()
        if not text:
            return [pa.array([], type=t) for t in types]
        read, parse, convert = _csv_options(types)
        table = pa_csv.read_csv(io.BytesIO(text.encode()), read, parse, convert)
        return [table.column(i).combine_chunks() for i in range(len(types))]
    result = tx.execute(statement)
    rows_ = result.cursor.fetchall()  # the driver's tuples: no SQLAlchemy processing per value
    result.close()
    columns = list(zip(*rows_, strict=True)) if rows_ else [() for _ in types]
    return [pa.array(column, type=t) for column, t in zip(columns, types, strict=True)]
