"""Wall time of `symgrad bound lstm-saturation` against `symgrad derive lstm`, side by side.

Bar (issue 3): `bound lstm-saturation`, certificate included, takes at most 3x
`derive lstm`. Usage: python benchmarks/bound.py [runs]
"""

import sys

from side_by_side import medians, symgrad_command


def main(runs: int = 11) -> None:
    symgrad = symgrad_command()
    m = medians(
        {
            "symgrad derive lstm": [symgrad, "derive", "lstm"],
            "symgrad bound lstm-saturation": [symgrad, "bound", "lstm-saturation"],
        },
        runs,
    )
    ratio = m["symgrad bound lstm-saturation"] / m["symgrad derive lstm"]
    print(f"ratio bound/derive: {ratio:.2f}  (bar: <= 3)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 11)
