"""A PostgreSQL cluster of a test's own, which the test may stop and start (outages, failovers).

Made with the server's own ``initdb`` and ``pg_ctl`` on a free local port. As root (CI), they
run as the ``postgres`` user, which owns the cluster's folder: that folder is a fresh one in the
system's temporary directory, because pytest's ``tmp_path`` lies under a folder only root may
enter.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from tests.receivers import free_port


def server_binaries() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl`` (newest version first), or None."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True):
        if Path(folder, "pg_ctl").exists() and Path(folder, "initdb").exists():
            return Path(folder)
    return None


@dataclass
class OwnCluster:
    bin: Path
    data: Path
    port: int
    as_postgres: bool

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> None:
        args = [str(self.bin / command[0]), *command[1:]]
        if self.as_postgres:
            args = ["runuser", "-u", "postgres", "--", *args]
        subprocess.run(args, check=True, capture_output=True, text=True, timeout=120)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.data / "server.log"), "-o", options, "-w", "start")

    def stop(self) -> None:
        """Stop at once (``-m fast``: open connections are cut, as in a failover)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")


@contextmanager
def own_cluster() -> Iterator[OwnCluster]:
    """A started cluster (user ``postgres``, trust authentication), stopped and removed after.
    Raises LookupError when the server's binaries are not installed."""
    folder = server_binaries()
    if folder is None:
        raise LookupError("PostgreSQL server binaries (initdb, pg_ctl) not found")
    as_postgres = os.geteuid() == 0
    root = Path(tempfile.mkdtemp(prefix="leadrelay-pg-"))
    data = root / "data"
    cluster = OwnCluster(folder, data, free_port(), as_postgres)
    try:
        if as_postgres:
            shutil.chown(root, "postgres")
        cluster._run("initdb", "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
        cluster.start()
        try:
            yield cluster
        finally:
            with suppress(subprocess.CalledProcessError):  # already stopped
                cluster.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)
