"""Wall time of `symgrad derive lstm` against `python -c "import sympy"`, side by side.

Bar (SPEC section 6): the ratio of medians is at most 1.25. Runs alternate so
that machine load affects both sides alike. Usage: python benchmarks/startup.py [runs]
"""

import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

# Byte-code caching as on a user's machine (some sandboxes disable it, which
# would charge symgrad's compile time to every run but not SymPy's, installed
# with its .pyc files).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def wall(cmd) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=ENV)
    return time.perf_counter() - start


def main(runs: int = 15) -> None:
    # The console script of this interpreter's environment, then whatever PATH has.
    local = Path(sys.executable).with_name("symgrad")
    symgrad = str(local) if local.exists() else shutil.which("symgrad")
    if symgrad is None:
        sys.exit("symgrad is not installed in this environment (pip install -e .)")
    pairs = {
        "import sympy": [sys.executable, "-c", "import sympy"],
        "symgrad derive lstm": [symgrad, "derive", "lstm"],
    }
    times = {name: [] for name in pairs}
    for cmd in pairs.values():
        wall(cmd)  # warm the file and byte-code caches
    for _ in range(runs):
        for name, cmd in pairs.items():
            times[name].append(wall(cmd))
    base = statistics.median(times["import sympy"])
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:<22} median {med * 1000:7.1f} ms  (min {min(ts) * 1000:.1f}, {runs} runs)")
    ratio = statistics.median(times["symgrad derive lstm"]) / base
    print(f"ratio derive/import: {ratio:.3f}  (bar: <= 1.25)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 15)
