"""SQL the store does not build with SQLAlchemy Core is written in one module: the named queries."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import leadrelay

SOURCE = Path(leadrelay.__file__).parent
BENCHMARKS = Path(__file__).parents[2] / "benchmarks"
SQL = re.compile(r"^\s*\(?\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|COPY|ANALYZE|PRAGMA)\b")

#: The one module of the store that holds SQL text (migrations, frozen history, are not checked).
HOMES = {SOURCE / "adapters" / "store" / "queries.py"}


def sql_literals(path: Path) -> list[str]:
    """String literals (and f-string parts) that start like an SQL statement."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.match(node.value):
            found.append(f"{path.name}:{node.lineno}: {node.value[:60]}")
    return found


CHECKED = sorted(
    [
        *(SOURCE / "services").glob("*.py"),
        *(SOURCE / "adapters" / "store").glob("*.py"),
        *BENCHMARKS.glob("*.py"),
    ]
)


@pytest.mark.parametrize("path", [p for p in CHECKED if p not in HOMES], ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_sql_text_outside_the_named_queries(path: Path) -> None:
    assert sql_literals(path) == []


@pytest.mark.parametrize("path", sorted((SOURCE / "services").glob("*.py")), ids=lambda p: p.name)
def test_services_run_no_sql_text_of_their_own(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for call in ("sa.text(", "exec_driver_sql", "_raw_rows(", "_raw_many(", "cursor("):
        assert call not in text, f"{path.name} calls {call}"


def test_the_named_queries_are_where_the_sql_is() -> None:
    assert len(sql_literals(SOURCE / "adapters" / "store" / "queries.py")) > 30
