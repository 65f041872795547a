"""Wall time of `symgrad verify` (the whole catalog), against the 30 s bar.

Runs the command in a fresh interpreter (imports included, as a user sees it)
REPEAT times and prints the median and the spread, then the median time of
each claim as the text table reports it. Usage: python benchmarks/verify.py [REPEAT]
"""

from __future__ import annotations

import os
import re
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
            [sys.executable, "-m", "symgrad", "verify"],
            capture_output=True,
            text=True,
            env=env,
        )
        walls.append(time.perf_counter() - start)
        # The text table's rows end in each claim's time (JSON carries no
        # wall-clock figures, so that a seeded run is the same run after run).
        table = done.stdout.split("\n\n")[1]
        for row in table.splitlines()[1:]:
            claim_id, seconds = row.split()[0], re.search(r"([0-9.]+)s$", row).group(1)
            per_claim.setdefault(claim_id, []).append(float(seconds))
        status = (
            "exit 0: every verdict established"
            if done.returncode == 0
            else f"exit {done.returncode}"
        )
    median = statistics.median(walls)
    print(
        f"symgrad verify ({len(per_claim)} claims), {repeat} runs: median {median:.1f} s "
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
