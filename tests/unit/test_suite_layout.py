"""The test suite's own rule: test modules share helpers through support modules (``tests/support``,
``tests/conftest.py``, ``tests/receivers.py``), never by importing another test module."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).parents[1]


def _is_test_module(name: str) -> bool:
    return any(part.startswith("test_") for part in name.split("."))


def _imported_test_modules(path: Path) -> list[str]:
    """The test modules (``test_*``) that the module at ``path`` imports, as written."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            joined = [base + ("." if node.module else "") + alias.name for alias in node.names]
            names = [base] if _is_test_module(base) else joined
        else:
            continue
        found += [name for name in names if _is_test_module(name)]
    return found


def test_no_test_module_imports_another_test_module() -> None:
    offenders = {
        str(path.relative_to(TESTS)): imported
        for path in sorted(TESTS.rglob("*.py"))
        if (imported := _imported_test_modules(path))
    }
    assert offenders == {}


def test_the_check_sees_each_way_of_importing_a_test_module(tmp_path: Path) -> None:
    module = tmp_path / "test_example.py"
    module.write_text(
        "import tests.e2e.test_cli\n"
        "from tests.integration.test_routing import hand_raise\n"
        "from .test_outbox import make_worker\n"
        "from . import test_sla\n"
        "from test_cli import run\n"
        "from tests.support.cli import run as shared_run\n",
        encoding="utf-8",
    )
    assert _imported_test_modules(module) == [
        "tests.e2e.test_cli",
        "tests.integration.test_routing",
        ".test_outbox",
        ".test_sla",
        "test_cli",
    ]
