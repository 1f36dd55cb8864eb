"""Arithmetic on stored moments as SQL that each database compiles its own way (SQLite keeps UTC
text; PostgreSQL ``timestamptz``), so one statement serves both."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


class seconds_between(FunctionElement[float]):
    """``end - start`` in seconds (NULL when either is NULL): ``seconds_between(start, end)``."""

    type = sa.Float()
    inherit_cache = True
    name = "seconds_between"


class days_before(FunctionElement[Any]):
    """The moment ``days`` days of 24 hours before ``moment``: ``days_before(moment, days)``. SQLite's
    ``datetime()`` drops the fraction of a second (the moment is at most a second early), so keep
    an exact condition beside it where the edge counts."""

    inherit_cache = True
    name = "days_before"


@compiles(seconds_between, "postgresql")
def _seconds_pg(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = list(element.clauses)
    return compiler.process(sa.cast(sa.func.extract("epoch", end - start), sa.Float), **kw)


@compiles(seconds_between, "sqlite")
def _seconds_sqlite(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = list(element.clauses)
    return compiler.process((sa.func.julianday(end) - sa.func.julianday(start)) * 86400.0, **kw)


@compiles(days_before, "postgresql")
def _days_pg(element: days_before, compiler: SQLCompiler, **kw: Any) -> str:
    moment, days = list(element.clauses)
    return compiler.process(moment - days * sa.literal_column("interval '1 day'"), **kw)


@compiles(days_before, "sqlite")
def _days_sqlite(element: days_before, compiler: SQLCompiler, **kw: Any) -> str:
    moment, days = list(element.clauses)
    return compiler.process(sa.func.datetime(moment, sa.literal("-") + sa.cast(days, sa.String) + " days"), **kw)
