"""What every benchmark script shares: the machine it ran on, printing and saving the figures,
and running a measurement in a fresh process (so its peak memory is its own)."""

from __future__ import annotations

import json
import multiprocessing
import os
import platform
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from leadrelay.adapters.store.scratch import fresh_database


@contextmanager
def database(kind: str) -> Iterator[str]:
    """``--db sqlite``: a temporary SQLite file; a PostgreSQL URL, or anything else: a scratch database on
    that server (default: the one in ``LEADRELAY_TEST_POSTGRES_URL``), dropped afterwards."""
    server = None
    if kind != "sqlite":
        server = kind if "://" in kind else os.environ.get("LEADRELAY_TEST_POSTGRES_URL", "")
        if not server:
            raise SystemExit("set LEADRELAY_TEST_POSTGRES_URL or give --db postgresql://... (or --db sqlite)")
    with tempfile.TemporaryDirectory() as folder, fresh_database(server, Path(folder)) as url:
        yield url


def machine(**extra: str) -> dict[str, Any]:
    return {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform(), **extra}


def publish(figures: dict[str, Any], out: Path, name: str, *, save: bool = True) -> None:
    """Print the figures as JSON and write them to ``out/name.json``."""
    figures = {**figures, "at": figures.get("at") or datetime.now(UTC).isoformat(timespec="seconds")}
    text = json.dumps(figures, indent=2, ensure_ascii=False)
    print(text)
    if save:
        out.mkdir(parents=True, exist_ok=True)
        (out / f"{name}.json").write_text(text + "\n", encoding="utf-8")


def in_fresh_process(target: Callable[..., None], *args: Any) -> dict[str, Any]:
    """Run ``target(*args, queue)`` in a new process; return what it puts on the queue."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=target, args=(*args, queue))
    process.start()
    figures: dict[str, Any] = queue.get()
    process.join()
    return figures


def positive(text: str) -> int:
    """An argparse type: a whole number of at least 1 (a size, a count, a number of runs), so a
    wrong one is a one-line usage error instead of a traceback deep in the generator."""
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value
