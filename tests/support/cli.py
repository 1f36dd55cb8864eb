"""Running the command line as a user does: a real process with a fixed clock and its own database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

#: What ``LEADRELAY_NOW`` says in every command-line test: Wednesday 25 November 2026, noon in Tokyo.
NOW = "2026-11-25T12:00:00+09:00"


def run(
    *args: str, db: Path | str | None = None, lang: str = "en", cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``leadrelay --lang LANG ARGS`` in a fresh process, without the caller's ``LEADRELAY_*`` settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADRELAY_")}
    env["LEADRELAY_NOW"] = NOW
    env["COLUMNS"] = "200"
    if db is not None:
        env["LEADRELAY_DB"] = str(db)
    return subprocess.run(
        [sys.executable, "-m", "leadrelay", "--lang", lang, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        cwd=cwd,
    )
