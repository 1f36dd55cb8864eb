"""Start-up time of the command line: `leadrelay --help` and `leadrelay lead show EMAIL`, fresh processes.

    python benchmarks/startup.py                 # 10 runs of each command
    python benchmarks/startup.py --runs 30
    python benchmarks/startup.py --src OTHER/src # measure another checkout (e.g. an older commit)

Each run is a new interpreter (``python -m leadrelay ...``), timed from start to exit; the figures
are the median (p50), the fastest and the slowest run, and the median CPU time (user + system), which
other work on the machine does not stretch. ``lead show`` reads a small SQLite database
made first (one lead, one activity; the schema is current, the default playbook active). The
script also lists the ten modules with the largest cumulative import time
(``python -X importtime``) for importing the command line and for a whole ``lead show``. Figures
go to stdout and ``benchmarks/results/startup.json``.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _shared import machine, positive, publish

EMAIL = "k@sakura-mfg.co.jp"
NOW = "2026-11-25T12:00:00+09:00"
GOAL_SECONDS = 0.4


def environment(src: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADRELAY_")}
    env["LEADRELAY_NOW"] = NOW
    env["COLUMNS"] = "120"
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(src.resolve()), env.get("PYTHONPATH", "")) if p)
    return env


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "leadrelay", *args], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"leadrelay {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
    return done


def small_database(folder: Path, env: dict[str, str]) -> Path:
    db = folder / "startup.db"
    cli("--db", str(db), "lead", "add", "--email", EMAIL, "--first-name", "Kenji", "--company", "Sakura", env=env)
    cli("--db", str(db), "lead", "add", "--email", EMAIL, "--industry", "manufacturing", "--employees", "800", env=env)
    cli("--db", str(db), "activity", "add", "--email", EMAIL, "--type", "webinar_attended", "--at", NOW, env=env)
    return db


def _children_cpu() -> float:
    """CPU seconds (user + system) used by the finished child processes: unlike the wall clock, not
    stretched when other work shares the cores."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(args: list[str], runs: int, env: dict[str, str]) -> dict[str, Any]:
    cli(*args, env=env)  # warm the file cache and the byte-code
    seconds = []
    cpu = []
    for _ in range(runs):
        used = _children_cpu()
        started = time.perf_counter()
        cli(*args, env=env)
        seconds.append(time.perf_counter() - started)
        cpu.append(_children_cpu() - used)
    return {
        "command": "leadrelay " + " ".join(args),
        "runs": runs,
        "p50_s": round(statistics.median(seconds), 3),
        "min_s": round(min(seconds), 3),
        "max_s": round(max(seconds), 3),
        "cpu_p50_s": round(statistics.median(cpu), 3),
        "goal_s": GOAL_SECONDS,
        "reached": statistics.median(seconds) <= GOAL_SECONDS,
    }


def import_times(code: str, env: dict[str, str], top: int = 10) -> dict[str, Any]:
    """The ``top`` modules by cumulative import time (ms) while running ``code``, and how many were imported."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, env=env)
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        own, cumulative, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
        if own.isdigit() and cumulative.isdigit():
            rows.append((int(cumulative), int(own), name.strip()))
    rows.sort(reverse=True)
    return {
        "modules": len(rows),
        "top_cumulative_ms": [
            {"module": name, "cumulative_ms": round(cum / 1000, 1), "self_ms": round(own / 1000, 1)}
            for cum, own, name in rows[:top]
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=positive, default=10, help="fresh processes per command")
    parser.add_argument("--src", type=Path, default=None, help="put this source folder first on PYTHONPATH")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument("--name", default="startup", help="results file name (without .json)")
    args = parser.parse_args()
    env = environment(args.src)
    with tempfile.TemporaryDirectory() as folder:
        db = small_database(Path(folder), env)
        show = ["--db", str(db), "lead", "show", EMAIL]
        commands = [timed(["--help"], args.runs, env), timed(show, args.runs, env)]
        run_show = f"import sys\nsys.argv = ['leadrelay', *{show!r}]\nimport leadrelay.__main__"
        imports = {
            "import leadrelay.entrypoints.cli.app": import_times("import leadrelay.entrypoints.cli.app", env),
            "leadrelay lead show": import_times(run_show, env),
        }
    started = time.perf_counter()
    for _ in range(args.runs):
        subprocess.run([sys.executable, "-c", "pass"], env=env, check=True)
    interpreter = (time.perf_counter() - started) / args.runs
    result = {
        "benchmark": "startup",
        "source": str(args.src) if args.src else "installed",
        "commands": commands,
        "python_without_imports_s": round(interpreter, 3),
        "importtime": imports,
        "load_average": list(os.getloadavg()),
        "machine": machine(),
    }
    publish(result, args.out, args.name)


if __name__ == "__main__":
    main()
