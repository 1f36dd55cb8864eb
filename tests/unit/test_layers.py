"""The floors of the package are a checked contract: ``lint-imports`` (import-linter, with the
contracts in pyproject.toml) passes on the package as it is, and fails, naming the contract and the
import, as soon as a floor imports one above it. Each case runs on a copy of ``src/leadrelay``."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
FUTURE = "from __future__ import annotations\n"
#: A violation another change is removing (the SLA service registering its timer handlers with the
#: worker, an entry point). Until it is gone the untouched package may show it, and only it.
IN_FLIGHT = {("leadrelay.services.sla", "leadrelay.entrypoints.worker")}


def _contract_names() -> dict[str, str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return {contract["id"]: contract["name"] for contract in config["tool"]["importlinter"]["contracts"]}


CONTRACTS = _contract_names()


def _copy(tmp_path: Path) -> Path:
    """A copy of the package and of pyproject.toml (the contracts) under ``tmp_path``."""
    shutil.copytree(
        ROOT / "src" / "leadrelay", tmp_path / "src" / "leadrelay", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path / "src" / "leadrelay"


def _add_import(module: Path, statement: str) -> None:
    """Put ``statement`` at the top of ``module``'s imports (right after its ``__future__`` import)."""
    text = module.read_text(encoding="utf-8")
    assert text.count(FUTURE) == 1, module
    module.write_text(text.replace(FUTURE, f"{FUTURE}\n{statement}\n"), encoding="utf-8")


def _lint_imports(tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` on the copy under ``tmp_path``: its pyproject's contracts, its package first on the path."""
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "src"), "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )


def _verdicts(output: str) -> dict[str, str]:
    """Contract name -> KEPT or BROKEN, from the summary lines of the report."""
    found = {}
    for line in output.splitlines():
        for name in CONTRACTS.values():
            if line.strip() in (f"{name} KEPT", f"{name} BROKEN"):
                found[name] = line.strip().rsplit(" ", 1)[1]
    return found


def _violations(output: str) -> set[tuple[str, str]]:
    """Every import between two modules of the package that the report names (importer, imported)."""
    return set(re.findall(r"(leadrelay(?:\.\w+)*) -> (leadrelay(?:\.\w+)*)", output))


@pytest.fixture(scope="module", autouse=True)
def _lint_imports_installed() -> None:
    assert LINT_IMPORTS.exists(), f"{LINT_IMPORTS} is missing: install the dev extra (pip install -e '.[dev]')"


def test_the_package_as_it_is_keeps_its_floors(tmp_path: Path) -> None:
    _copy(tmp_path)
    result = _lint_imports(tmp_path)
    output = result.stdout + result.stderr
    verdicts = _verdicts(output)
    assert set(verdicts) == set(CONTRACTS.values()), output
    assert verdicts[CONTRACTS["pure-domain"]] == "KEPT"
    assert verdicts[CONTRACTS["bulk-kernel"]] == "KEPT"
    violations = _violations(output)
    assert violations <= IN_FLIGHT, output
    assert not any(importer.startswith(("leadrelay.domain", "leadrelay.adapters")) for importer, _ in violations)
    if not violations:
        assert result.returncode == 0, output
        assert set(verdicts.values()) == {"KEPT"}


def test_a_domain_module_importing_a_service_breaks_the_floors_and_the_pure_domain(tmp_path: Path) -> None:
    package = _copy(tmp_path)
    _add_import(package / "domain" / "model.py", "import leadrelay.services.intake")
    result = _lint_imports(tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    verdicts = _verdicts(output)
    assert verdicts[CONTRACTS["layers"]] == "BROKEN", output
    assert verdicts[CONTRACTS["pure-domain"]] == "BROKEN", output
    assert "leadrelay.domain is not allowed to import leadrelay.services" in output
    assert ("leadrelay.domain.model", "leadrelay.services.intake") in _violations(output)


def test_an_adapter_importing_a_service_breaks_the_floors(tmp_path: Path) -> None:
    package = _copy(tmp_path)
    _add_import(package / "adapters" / "geo.py", "import leadrelay.services.intake")
    result = _lint_imports(tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    verdicts = _verdicts(output)
    assert verdicts[CONTRACTS["layers"]] == "BROKEN", output
    assert verdicts[CONTRACTS["pure-domain"]] == "KEPT", output
    assert "leadrelay.adapters is not allowed to import leadrelay.services" in output
    assert ("leadrelay.adapters.geo", "leadrelay.services.intake") in _violations(output)
