"""Run a Python module or script under cProfile, save its statistics, keep its exit status.

``python -m cProfile`` exits 0 when the profiled program calls ``sys.exit(1)``; the scale
benchmark (``scale.py --profile``) must see a failing step fail.

    python benchmarks/profiled.py OUT.prof -m recsys.cli train ml-100k
    python benchmarks/profiled.py OUT.prof benchmarks/scale_probes.py serve ml-100k
"""

from __future__ import annotations

import cProfile
import runpy
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    """Profile ``argv[1:]`` (``-m MODULE ARGS`` or ``SCRIPT ARGS``) into ``argv[0]``; the
    program's exit status."""
    out, *command = argv
    is_module = command[0] == "-m"
    target, args = (command[1], command[2:]) if is_module else (command[0], command[1:])
    sys.argv = [target, *args]
    if not is_module:
        sys.path[0] = str(Path(target).resolve().parent)  # as `python SCRIPT` sets it
    profiler = cProfile.Profile()
    status = 0
    profiler.enable()
    try:
        if is_module:
            runpy.run_module(target, run_name="__main__", alter_sys=True)
        else:
            runpy.run_path(target, run_name="__main__")
    except SystemExit as stop:
        status = stop.code if isinstance(stop.code, int) else int(stop.code is not None)
    finally:
        profiler.disable()
        profiler.dump_stats(out)
    return status


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
