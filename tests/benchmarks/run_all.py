"""`make bench`: run every benchmark script in this folder and print their figures.

Each ``bench_*.py`` is a plain script that prints its own table. Figures are
measurements, never pass/fail assertions.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    failed = []
    for script in sorted(HERE.glob("bench_*.py")):
        print(f"\n=== {script.name}", flush=True)
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, str(script), *sys.argv[1:]], check=False)
        print(f"--- {script.name}: {time.perf_counter() - started:.1f} s", flush=True)
        if proc.returncode != 0:
            failed.append(script.name)
    if failed:
        print(f"\nbenchmarks that did not finish: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
