"""Golden outputs: every command in every format at small sizes, diffed against
``tests/golden/``. The change log of the command line: a change to any output
shows here, line by line.

Regenerate after an intended change with ``SYMGRAD_REGEN_GOLDEN=1 pytest
tests/test_golden.py`` and read the diff before committing it;
``SYMGRAD_GOLDEN_EXACT=1`` compares byte for byte (on the machine that wrote
the files).

Timings are masked; numbers are compared to the precision the error analysis
supports (see :func:`same_output`).
"""

import os
import re
from pathlib import Path

import pytest

from tests.cli_runner import run_cli
from tests.latex import ascii_math
from tests.tolerances import GOLDEN_FLOAT_REL, GOLDEN_RESIDUAL

GOLDEN = Path(__file__).parent / "golden"
EXAMPLES = Path(__file__).parent.parent / "examples"
REGEN = os.environ.get("SYMGRAD_REGEN_GOLDEN") == "1"
#: Byte for byte, for a restructuring on the machine that wrote the files.
EXACT = os.environ.get("SYMGRAD_GOLDEN_EXACT") == "1"

CELLS = ("rnn", "rnn-relu", "lstm", "gru", "gru-merged", "gru-late-reset", "gru-torch")
FORMATS = ("text", "markdown", "json", "latex")
BOUNDS = (
    "sigmoid-slope",
    "sigmoid-saturation",
    "tanh-slope",
    "lstm-saturation",
    "rnn-tanh",
    "rnn-relu",
    "clipping",
    "lstm-forget-term",
    "lstm-input-term",
    "lstm-candidate-term",
    "gru-update-term",
    "gru-candidate-term",
    "gru-reset-factor",
)
SMALL_FLOW = "--steps 60 --samples 16"
SMALL_VERIFY = "--samples 4000 --steps 200 --flow-samples 12"


def _cases() -> dict[str, str]:
    cases = {}
    for fmt in FORMATS:
        cases[f"list.{fmt}"] = f"list --format {fmt}"
        cases[f"bound-catalog.{fmt}"] = f"bound --format {fmt}"
        for cell in CELLS:
            cases[f"show-{cell}.{fmt}"] = f"show {cell} --format {fmt}"
            cases[f"derive-{cell}.{fmt}"] = f"derive {cell} --format {fmt}"
            cases[f"derive-{cell}-state.{fmt}"] = f"derive {cell} --wrt state --format {fmt}"
        for name in BOUNDS:
            cases[f"bound-{name}.{fmt}"] = f"bound {name} --format {fmt}"
        cases[f"derive-lstm-at.{fmt}"] = (
            "derive lstm --at x=0.5,W_f=1,U_f=2,b_f=1,W_i=0.5,U_i=-1,b_i=0,W_c=1,U_c=1,b_c=0,"
            f"W_o=0.5,U_o=1,b_o=0,c_prev=0.3,o_prev=1/2 --format {fmt}"
        )
        cases[f"derive-rnn-at.{fmt}"] = (
            f"derive rnn --at x=1,W=0.5,U=2,b=0,h_prev=0.3 --format {fmt}"
        )
        cases[f"derive-lstm-vector-steps2.{fmt}"] = f"derive lstm --vector --steps 2 --format {fmt}"
        cases[f"derive-gru-vector.{fmt}"] = f"derive gru --vector --format {fmt}"
        cases[f"derive-lstm-vector-state.{fmt}"] = (
            f"derive lstm --vector --wrt state --format {fmt}"
        )
        cases[f"check-lstm.{fmt}"] = f"check lstm --samples 20 --format {fmt}"
        cases[f"check-rnn-relu.{fmt}"] = f"check rnn-relu --samples 20 --format {fmt}"
        cases[f"flow-lstm-gru.{fmt}"] = f"flow lstm gru {SMALL_FLOW} --format {fmt}"
        cases[f"flow-rnn-dim3.{fmt}"] = f"flow rnn lstm --dim 3 {SMALL_FLOW} --format {fmt}"
        cases[f"compare.{fmt}"] = f"compare {SMALL_FLOW} --format {fmt}"
        cases[f"verify.{fmt}"] = f"verify {SMALL_VERIFY} --format {fmt}"
    for cell in CELLS:
        cases[f"export-{cell}"] = f"export {cell}"
        cases[f"check-{cell}-all"] = f"check {cell} --samples 12 --seed 3"
    for example in sorted(EXAMPLES.glob("*.toml")):
        stem = example.stem
        cases[f"derive-file-{stem}"] = f"derive --cell-file {example} --format text"
        cases[f"derive-file-{stem}.latex"] = f"derive --cell-file {example}"
        cases[f"show-file-{stem}"] = f"show --cell-file {example} --format text"
        cases[f"export-file-{stem}"] = f"export --cell-file {example}"
    cases["derive-lstm-standalone"] = "derive lstm --standalone"
    cases["derive-gru-of-r"] = "derive gru --of r --format text"
    cases["derive-lstm-h_prev"] = "derive lstm --wrt h_prev --format text"
    cases["bound-rnn-tanh-param"] = "bound rnn-tanh --param a=2 --param h=1/2"
    cases["bound-gru-candidate-param"] = "bound gru-candidate-term --param U_r=3 --format json"
    cases["bound-below"] = "bound lstm-saturation --below 0.44"
    cases["bound-gru-reset-factor-param"] = "bound gru-reset-factor --param a_r=-2"
    cases["verify-forget-bias"] = (
        f"verify lstm-forget-dominant long-horizon --forget-bias 1 {SMALL_VERIFY}"
    )
    cases["verify-xavier"] = f"verify gru-less-stable --init xavier {SMALL_VERIFY}"
    cases["flow-forget-bias"] = f"flow lstm --forget-bias 1 --init xavier {SMALL_FLOW}"
    cases["flow-file"] = f"flow --cell-file {EXAMPLES / 'indrnn.toml'} {SMALL_FLOW}"
    # Usage errors: exit 2, one line on stderr.
    cases["error-unknown-cell"] = "derive lstmm"
    cases["error-unknown-claim"] = "verify nope"
    cases["error-unknown-bound"] = "bound nope"
    cases["error-bad-at"] = "derive rnn --at x=abc"
    cases["error-missing-at"] = "derive rnn --at x=1"
    cases["error-bad-format"] = "derive rnn --format pdf"
    cases["error-no-cell"] = "derive"
    return cases


CASES = _cases()

# Wall-clock figures: "0.12 s", "1.3s", "(12 ms)", JSON "seconds": 0.1.
_TIMES = [
    (re.compile(r'("(?:\w+_)?seconds": )-?[0-9.e+-]+'), r"\1<time>"),
    (re.compile(r"\b\d+(?:\.\d+)?(?:e[+-]?\d+)? ?(s|ms)\b"), r"<time> \1"),
]
_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


# The point where a rounding-level error comes closest to its tolerance: which
# of the seeded points that is depends on the last bit of every evaluation.
_NOISE_SELECTED = re.compile(r'"worst_point": \{[^}]*\}')


def _mask(text: str) -> str:
    for pattern, replacement in _TIMES:
        text = pattern.sub(replacement, text)
    text = _NOISE_SELECTED.sub('"worst_point": <noise>', text)
    # A table's time column is as wide as its longest time: spaces are not compared there.
    text = "\n".join(
        re.sub(r"  +", "  ", line) if "<time>" in line or line.endswith(" time") else line
        for line in text.split("\n")
    )
    # Absolute paths of the examples differ between checkouts.
    return text.replace(str(EXAMPLES), "<examples>")


def transcript(argv: str) -> str:
    """The command's exit code, standard output and standard error, masked."""
    code, out, err = run_cli(*argv.split())
    return _mask(f"$ symgrad {argv}\nexit {code}\n--- stdout\n{out}--- stderr\n{err}")


def _unit(token: str) -> float:
    """One unit in the last digit printed."""
    mantissa, _, exponent = token.lower().partition("e")
    decimals = len(mantissa.partition(".")[2])
    return 10.0 ** (-decimals + (int(exponent) if exponent else 0))


_SCIENTIFIC = re.compile(r"(\d+(?:\.\d+)?) (?:\\cdot|·) 10\^\{(-?\d+)\}")


def same_output(expected: str, actual: str, exact: bool = EXACT) -> bool:
    """Equal text; numbers equal to the precision the error analysis supports.

    Another CPU's exp and tanh round differently in the last bit, so a printed
    number may differ by one unit in its last digit (a value at a rounding
    boundary), a full-precision float (JSON, repr) in its last ~7 of 17
    digits (1e-9 relative: the noise of a few hundred float64 operations,
    amplified by an optimiser's flat top), and a rounding-level residual in
    any digit (below 1e-6: complex-step residuals ~1e-16, central differences'
    ~1e-8 = eps/h): such residuals are noise by definition.
    """
    if expected == actual:
        return True
    if exact:
        return False
    # A number written for a reader, 3.1 \cdot 10^{-16} (or 3.1 · 10^{-16}), is 3.1e-16.
    expected, actual = (_SCIENTIFIC.sub(r"\1e\2", t) for t in (expected, actual))
    a_parts, b_parts = _NUMBER.split(expected), _NUMBER.split(actual)
    a_nums, b_nums = _NUMBER.findall(expected), _NUMBER.findall(actual)
    if a_parts != b_parts or len(a_nums) != len(b_nums):
        return False
    for a, b in zip(a_nums, b_nums, strict=True):
        if a == b:
            continue
        x, y = float(a), float(b)
        size = max(abs(x), abs(y))
        if size < GOLDEN_RESIDUAL:
            continue
        if abs(x - y) > max(_unit(a), _unit(b)) * (1 + GOLDEN_FLOAT_REL) + GOLDEN_FLOAT_REL * size:
            return False
    return True


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden(name):
    path = GOLDEN / f"{name}.txt"
    actual = transcript(CASES[name])
    if REGEN:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(actual)
        return
    assert path.exists(), f"no golden output {path.name}: run with SYMGRAD_REGEN_GOLDEN=1"
    expected = path.read_text()
    if not same_output(expected, actual):
        import difflib

        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(True), actual.splitlines(True), "golden", "now", n=1
            )
        )
        pytest.fail(f"{name} changed:\n{diff[:6000]}")


TYPESET = [n for n in CASES if n.endswith((".latex", ".markdown")) or "standalone" in n]


@pytest.mark.parametrize("name", TYPESET)
def test_typeset_outputs_write_mathematics_as_mathematics(name):
    # Issue 13: no ASCII math anywhere in LaTeX or Markdown (the first line of
    # a golden file is the command, not the output).
    output = (GOLDEN / f"{name}.txt").read_text().split("\n", 1)[1]
    lines = ascii_math(output, latex=not name.endswith(".markdown"))
    assert lines == [], "\n".join(lines[:5])


def test_golden_has_no_stale_files():
    stale = sorted(p.stem for p in GOLDEN.glob("*.txt") if p.stem not in CASES)
    assert not stale, f"golden files without a case: {stale}"


def test_same_output_allows_one_unit_in_the_last_digit_only():
    assert same_output("x 0.4477 y", "x 0.4478 y", exact=False)
    assert same_output("2.8e-13", "2.9e-13", exact=False)
    assert same_output("0.44774320469430295", "0.447743204694303", exact=False)
    assert same_output("3.1e-16", "4.4e-16", exact=False)
    assert same_output("$3.1 \\cdot 10^{-16}$", "$4.4 \\cdot 10^{-17}$", exact=False)
    assert not same_output("$3.1 \\cdot 10^{-3}$", "$4.4 \\cdot 10^{-3}$", exact=False)
    assert not same_output("x 0.4477 y", "x 0.4479 y", exact=False)
    assert not same_output("0.4477432046", "0.4477432146", exact=False)
    assert not same_output("x 0.4477 y", "z 0.4477 y", exact=False)
    assert not same_output("1 2", "1 2 3", exact=False)
