"""Wall times of whole commands, run side by side as a user runs them.

Each command is a fresh process with byte-code caching on (some sandboxes
disable it, which would charge symgrad's compile time to every run but not
SymPy's, installed with its .pyc files). Runs alternate, so machine load
affects every command alike; figures are medians.
"""

import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def symgrad_command() -> str:
    """The console script of this interpreter's environment, else whatever PATH has."""
    local = Path(sys.executable).with_name("symgrad")
    found = str(local) if local.exists() else shutil.which("symgrad")
    if found is None:
        sys.exit("symgrad is not installed in this environment (pip install -e .)")
    return found


def wall(cmd) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=ENV)
    return time.perf_counter() - start


def medians(commands: dict, runs: int) -> dict:
    """name -> median seconds over ``runs`` alternating runs; prints each line."""
    times = {name: [] for name in commands}
    for cmd in commands.values():
        wall(cmd)  # warm the file and byte-code caches
    for _ in range(runs):
        for name, cmd in commands.items():
            times[name].append(wall(cmd))
    width = max(map(len, commands))
    for name, ts in times.items():
        med = statistics.median(ts)
        print(
            f"{name:<{width}}  median {med * 1000:7.1f} ms  (min {min(ts) * 1000:.1f}, {runs} runs)"
        )
    return {name: statistics.median(ts) for name, ts in times.items()}
