"""``leadrelay serve`` as a real process on a free port, and API keys made with the command line."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from tests.receivers import free_port
from tests.support.worker_process import env_for, run


@contextmanager
def serving(db: str, *args: str, **extra: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``leadrelay serve`` on a free port, answering ``/healthz``; the base URL and the process."""
    port = free_port()
    command = [sys.executable, "-m", "leadrelay", "--lang", "en", "serve", "--port", str(port), *args]
    process = subprocess.Popen(
        command, env=env_for(db, "serve", **extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                raise AssertionError(f"serve ended with {process.returncode}: {process.communicate()[1]}")
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("serve did not answer /healthz in 90 s")
            time.sleep(0.2)
        yield base, process
    finally:
        if process.poll() is None:
            process.kill()
        if process.stdout is not None and not process.stdout.closed:  # killed by the test: read and close
            process.communicate(timeout=30)


def stop(process: subprocess.Popen[str]) -> tuple[int, str]:
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    return process.returncode, err


def new_key(db: str, email: str, role: str, *extra: str) -> str:
    added = run(db, "users", "add", email, "--role", role, *extra)
    assert added.returncode == 0, added.stderr
    created = run(db, "keys", "create", "--user", email)
    assert created.returncode == 0, created.stderr
    return created.stdout.splitlines()[0]
