"""Run the ``leadrelay`` command under yappi (CPU time of every thread: the event loop and the
threads FastAPI runs endpoints in) and write its top functions when it exits.

    python benchmarks/_profiled.py OUT.txt serve        # what benchmarks/api.py --profile OUT.txt runs

yappi is not a dependency of leadrelay: ``pip install yappi`` first.
"""

from __future__ import annotations

import sys
from pathlib import Path


def main() -> None:
    try:
        import yappi
    except ImportError:
        raise SystemExit("--profile needs yappi: pip install yappi") from None
    out = Path(sys.argv[1])
    sys.argv = ["leadrelay", *sys.argv[2:]]
    yappi.set_clock_type("cpu")
    yappi.start(builtins=False, profile_threads=True)
    try:
        from leadrelay.entrypoints.cli.app import main as leadrelay

        leadrelay()
    finally:
        yappi.stop()
        stats = yappi.get_func_stats()
        with out.open("w", encoding="utf-8") as text:
            for order, title in (("tsub", "own time"), ("ttot", "time with callees")):
                stats.sort(order, "desc")
                text.write(f"# top 60 functions by {title} (CPU seconds, all threads)\n")
                text.write(f"{'calls':>10} {'own s':>9} {'total s':>9}  function\n")
                for item in list(stats)[:60]:
                    where = f"{Path(item.module).name}:{item.lineno} {item.name}"
                    text.write(f"{item.ncall:>10} {item.tsub:>9.3f} {item.ttot:>9.3f}  {where}\n")
                text.write("\n")


if __name__ == "__main__":
    main()
