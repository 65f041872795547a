"""Wall time of `symgrad verify` (the whole catalog), against the 30 s bar.

Runs the command in a fresh interpreter (imports included, as a user sees it)
REPEAT times and prints the median and the spread, then the median time of
each claim as the text table reports it. Usage: python benchmarks/verify.py [REPEAT]
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time

BAR_SECONDS = 30.0


def main(repeat: int = 3) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    walls, per_claim = [], {}
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "symgrad", "verify", "--format", "json"],
            capture_output=True,
            text=True,
            env=env,
        )
        walls.append(time.perf_counter() - start)
        data = json.loads(done.stdout)
        for c in data["claims"]:
            per_claim.setdefault(c["id"], []).append(c["seconds"])
        status = "all pass" if done.returncode == 0 else f"exit {done.returncode}"
    median = statistics.median(walls)
    print(
        f"symgrad verify (19 claims), {repeat} runs: median {median:.1f} s "
        f"(min {min(walls):.1f}, max {max(walls):.1f}); {status}"
    )
    verdict = "met" if median < BAR_SECONDS else "MISSED"
    print(
        f"bar: under {BAR_SECONDS:.0f} s on 2 cores: {verdict} ({median / BAR_SECONDS:.2f} of it)"
    )
    print("median seconds per claim:")
    for claim_id, seconds in per_claim.items():
        print(f"  {claim_id:<26} {statistics.median(seconds):6.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
