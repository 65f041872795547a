"""Wall time of `symgrad bound lstm-saturation` against `symgrad derive lstm`, side by side.

Bar (issue 3): `bound lstm-saturation`, certificate included, takes at most 3x
`derive lstm`. Both are run as a user runs them (a fresh process each, byte-code
caching on); runs alternate so that machine load affects both sides alike, and
the ratio is of the medians. Usage: python benchmarks/bound.py [runs]
"""

import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

# Byte-code caching as on a user's machine (some sandboxes disable it).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def wall(cmd) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=ENV)
    return time.perf_counter() - start


def main(runs: int = 11) -> None:
    local = Path(sys.executable).with_name("symgrad")
    symgrad = str(local) if local.exists() else shutil.which("symgrad")
    if symgrad is None:
        sys.exit("symgrad is not installed in this environment (pip install -e .)")
    pairs = {
        "symgrad derive lstm": [symgrad, "derive", "lstm"],
        "symgrad bound lstm-saturation": [symgrad, "bound", "lstm-saturation"],
    }
    times = {name: [] for name in pairs}
    for cmd in pairs.values():
        wall(cmd)  # warm the file and byte-code caches
    for _ in range(runs):
        for name, cmd in pairs.items():
            times[name].append(wall(cmd))
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:<31} median {med * 1000:7.1f} ms  (min {min(ts) * 1000:.1f}, {runs} runs)")
    ratio = statistics.median(times["symgrad bound lstm-saturation"]) / statistics.median(
        times["symgrad derive lstm"]
    )
    print(f"ratio bound/derive: {ratio:.2f}  (bar: <= 3)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 11)
