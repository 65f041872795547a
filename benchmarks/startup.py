"""Wall time of `symgrad derive lstm` against `python -c "import sympy"`, side by side.

Bar (SPEC section 6): the ratio of medians is at most 1.25.
Usage: python benchmarks/startup.py [runs]
"""

import sys

from side_by_side import medians, symgrad_command


def main(runs: int = 15) -> None:
    m = medians(
        {
            "import sympy": [sys.executable, "-c", "import sympy"],
            "symgrad derive lstm": [symgrad_command(), "derive", "lstm"],
        },
        runs,
    )
    ratio = m["symgrad derive lstm"] / m["import sympy"]
    print(f"ratio derive/import: {ratio:.3f}  (bar: <= 1.25)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 15)
