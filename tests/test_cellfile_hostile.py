"""Hostile cell files run nothing; malformed ones never crash or hang.

Every payload that could run code writes a sentinel file if it ever runs; the
planted test below evaluates those payloads with Python's own eval to show that
the sentinel does catch code that runs.
"""

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import pytest
import sympy
from hypothesis import given
from hypothesis import strategies as st

from symgrad.cellfile import (
    MAX_FILE_BYTES,
    CellFileError,
    _Locator,
    _string,
    dumps_cell,
    loads_cell,
)
from symgrad.cells import BUILTIN, Cell, get_cell
from symgrad.cli import main
from symgrad.expr import MAX_DEGREE, MAX_TERMS, ExprError, check_growth, parse_equation
from symgrad.primitives import tanh
from tests.strategies import cell_file_texts, equation_texts, mutated

ROOT = Path(__file__).resolve().parent.parent
#: A hang guard, not a performance bar: the slowest clean outcome takes well
#: under a second; anything near this bound is a loop or an exponential blow-up.
HANG_SECONDS = 20.0

CELL = """\
name = "target"
inputs = ["x"]
parameters = ["W", "U", "b"]
state = ["h"]

[equations]
h = {equation}
"""

# Payloads that run code if anything evaluates them; {S} is the sentinel's path.
LIVE = [
    "__import__('os').system('touch {S}')",
    "open('{S}', 'w').close()",
    "(lambda: open('{S}', 'w').close())()",
    "[open('{S}', 'w').close() for _ in 'a']",
    "x if open('{S}', 'w').close() else x",
    "(y := open('{S}', 'w').close())",
    "__import__('builtins').open('{S}', 'w').close()",
    "exec(\"open('{S}', 'w').close()\")",
    "eval(\"open('{S}', 'w').close()\")",
    "f\"{open('{S}', 'w').close()}\"",
    "{open('{S}', 'w').close()}",
    "[__import__('pathlib').Path('{S}').touch()][0]",
]
# Payloads that would reach Python's or SymPy's internals, or cost unbounded time.
INERT = [
    "().__class__.__base__.__subclasses__()",
    "x.__class__.__mro__",
    "W.real",
    "x[0]",
    "sigmoid.__globals__",
    "__builtins__",
    "__import__",
    "S('x')",
    "sympify('x')",
    "parse_expr('x')",
    "Symbol('x')",
    "breakpoint()",
    "10**10**10",
    "9**9**9**9",
    "2**1000",
    "((x + 1)**8)**8",
    "(((1000000*x)**8)**8)**8",
    "(" * 1000 + "x" + ")" * 1000,
    "-" * 1900 + "x",
    "1e999",
    "1e-99999",
    "1" * 1500,
    "exp(exp(exp(x)))",
    "log(0)",
    "sqrt(-1)",
    "x/0",
    "\uff45\uff58\uff50(x)",  # fullwidth 'exp', which Python would read as exp
    "x\u0000",
    "x if x else x",
    "x < W",
    "True",
    "'text'",
    "b'bytes'",
    "1j",
    "...",
]


def write_cell(path, equation):
    path.write_text(CELL.format(equation=json.dumps(equation)))


def assert_clean_refusal(argv, capsys, sentinel=None):
    start = time.perf_counter()
    code = main(argv)
    elapsed = time.perf_counter() - start
    out, err = capsys.readouterr()
    assert code == 2, err
    assert out == ""
    assert err.count("\n") == 1 and err.startswith(f"symgrad {argv[0]}: ")
    assert "Traceback" not in err
    assert elapsed < HANG_SECONDS
    if sentinel is not None:
        assert not sentinel.exists(), "a payload ran"
    return err


@pytest.mark.parametrize("payload", LIVE + INERT)
def test_hostile_equation_runs_nothing(payload, tmp_path, capsys):
    sentinel = tmp_path / "ran"
    path = tmp_path / "cell.toml"
    write_cell(path, payload.replace("{S}", str(sentinel)))
    err = assert_clean_refusal(["derive", "--cell-file", str(path)], capsys, sentinel)
    # The refusal points into the equation's line (line 7 of the file).
    assert err.startswith(f"symgrad derive: {path}:7:")


@pytest.mark.parametrize("payload", LIVE)
def test_the_sentinel_catches_code_that_runs(payload, tmp_path):
    # Planted: Python's eval of the same text does run it, and the sentinel shows it.
    sentinel = tmp_path / "ran"
    names = {n: 1 for n in ("x", "W", "U", "b", "h_prev")}
    with contextlib.suppress(Exception):  # only the side effect matters
        eval(payload.replace("{S}", str(sentinel)), dict(names))
    assert sentinel.exists()


HOSTILE_FILES = {
    "dunder value name": CELL.format(equation='"x"').replace("h = ", "__import__ = "),
    "LaTeX \\input": CELL.format(equation='"tanh(x)"')
    + "\n[latex]\nh = '\\input{/etc/passwd}_t'\n",
    "LaTeX \\write18": CELL.format(equation='"tanh(x)"') + "[latex]\nh = '\\write18{touch S}'\n",
    "shell in the name": CELL.format(equation='"tanh(x)"').replace('"target"', '"$(touch S)"'),
    "deeply nested arrays": "x = " + "[" * 40_000 + "]" * 40_000 + "\n",
    "deeply nested tables": "x = " + "{a = " * 15_000 + "1" + "}" * 15_000 + "\n",
    "a 90,000-digit integer": "x = " + "1" * 90_000 + "\n",
    "7,000 keys": "".join(f"k{i} = {i}\n" for i in range(7_000)),
    "chain of squares": 'name = "bomb"\nstate = ["a0"]\n[equations]\na0 = "a0_prev"\n'
    + "".join(f'a{k} = "a{k - 1}*a{k - 1} + a{k - 1}"\n' for k in range(1, 40)),
    "exp through values": 'name = "e"\nstate = ["h"]\n[equations]\n'
    'a = "exp(h_prev)"\nb = "exp(a)"\nh = "b"\n',
}


@pytest.mark.parametrize("text", HOSTILE_FILES.values(), ids=HOSTILE_FILES.keys())
def test_hostile_file_is_refused(text, tmp_path, capsys):
    path = tmp_path / "cell.toml"
    path.write_text(text)
    assert len(text.encode()) <= MAX_FILE_BYTES
    assert_clean_refusal(["show", "--cell-file", str(path)], capsys)


def test_hundred_megabyte_file_is_refused_before_reading(tmp_path, capsys):
    path = tmp_path / "big.toml"
    with open(path, "wb") as handle:
        handle.truncate(100 * 2**20)  # sparse: the size is real, the disk untouched
    err = assert_clean_refusal(["derive", "--cell-file", str(path)], capsys)
    assert "file too large (104,857,600 bytes; a cell file is at most 100,000 bytes)" in err


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_endless_device_is_refused(capsys):
    err = assert_clean_refusal(["derive", "--cell-file", "/dev/zero"], capsys)
    assert "more than 100,000 bytes" in err


def test_console_script_prints_one_line_for_a_payload(tmp_path):
    sentinel = tmp_path / "ran"
    path = tmp_path / "cell.toml"
    write_cell(path, LIVE[0].replace("{S}", str(sentinel)))
    result = subprocess.run(
        [sys.executable, "-m", "symgrad", "derive", "--cell-file", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "only the functions sigmoid, tanh, relu, softplus, exp, log, sqrt, abs" in result.stderr
    assert not sentinel.exists()


# ---------------------------------------------------------------- the parser's limits


@pytest.mark.parametrize(
    ("text", "col", "message"),
    [
        ("x.real", 0, r"attribute access '\.real'"),
        ("sigmoid(x)(x)", 0, "only the functions"),
        ("print(x)", 0, "unknown function 'print'"),
        ("sigmoid(x, x)", 0, r"sigmoid\(\) takes exactly one argument"),
        ("sigmoid(x=1)", 0, "takes exactly one argument"),
        ("sigmoid", 0, "must be called"),
        ("__class__", 0, "name '__class__' is not allowed"),
        ("x**9", 3, "exponents must be integer literals from -8 to 8"),
        ("x**0.5", 3, "exponents must be integer literals"),
        ("x**-9", 3, "exponents must be integer literals"),
        ("0**-1", 0, "division by zero"),
        ("x/(x - x)", 3, "division by zero"),
        ("log(0)", 0, r"log\(\) of this argument is not a finite real number"),
        ("sqrt(-4)", 0, "not a finite real number"),
        ("1e7", 0, "exceeds 1e\\+06"),
        ("1e-13", 0, "below 1e-12"),
        ("1e-400", 0, "below 1e-12"),
        ("x @ W", 0, "operator @ is not allowed"),
        ("x ^ 2", 0, r"operator \^ is not allowed \(use \+ - \* / and \*\* for powers\)"),
        ("not x", 0, "operator 'not'"),
        ("x +", 3, "syntax error"),
        ("  x + y", 6, "undefined name 'y'"),
        ("(x +\n y)", 6, "undefined name 'y'"),
        ("\u03c3(x)", 0, "non-ASCII character"),
        ("x +\r1", 3, "control character"),
        ("(" * 41 + "x" + ")" * 41, 40, "brackets nested deeper than 40"),
        ("-" * 41 + "x", 41, "expression nested deeper than 40"),
        ("exp(sigmoid(exp(x)))", 4, r"exp\(\.\.\.\) inside sigmoid"),
        ("((x + W)**8)**8", 0, "more than 5000 terms"),
    ],
)
def test_parser_refuses_with_a_column(text, col, message):
    names = {n: sympy.Symbol(n, real=True) for n in ("x", "W")}
    with pytest.raises(ExprError, match=message) as info:
        parse_equation(text, names)
    assert info.value.col == col


def test_parser_accepts_what_cells_need():
    names = {n: sympy.Symbol(n, real=True) for n in ("x", "W")}
    x, w = names["x"], names["W"]
    assert parse_equation("x**-8", names) == x**-8
    assert parse_equation("0.1", names) == sympy.Rational(1, 10)  # the literal, not the double
    assert parse_equation("1e-8", names) == sympy.Rational(1, 10**8)
    # A long sum is one level of nesting, however many terms it has.
    assert parse_equation(" + ".join(["x"] * 300), names) == 300 * x
    assert parse_equation("exp(tanh(exp(x)))", names) == sympy.exp(tanh(sympy.exp(x)))
    assert parse_equation("(x + W)**8", names) == (x + w) ** 8
    assert parse_equation("(x**8)**8", names) == x**64  # degree 64: the limit itself


def test_growth_limits_sit_exactly_at_their_bounds():
    a, b = sympy.symbols("a b")
    assert check_growth(a * b, {a: (50, 1, False), b: (100, 1, False)})[0] == MAX_TERMS
    with pytest.raises(ExprError, match="terms"):
        check_growth(a * b, {a: (50, 1, False), b: (101, 1, False)})
    assert check_growth(a * b, {a: (1, 32, False), b: (1, 32, False)})[1] == MAX_DEGREE
    with pytest.raises(ExprError, match="degree"):
        check_growth(a * b, {a: (1, 32, False), b: (1, 33, False)})
    assert check_growth(sympy.exp(a), {a: (1, 1, False)})[2] is True
    with pytest.raises(ExprError, match="inside exp"):
        check_growth(sympy.exp(a), {a: (1, 1, True)})  # a stands for an exp(...)
    with pytest.raises(ExprError, match="inside exp"):
        check_growth(sympy.exp(sympy.exp(a)))
    # Bounded functions stop growth: exp(tanh(exp(a))) is fine.
    assert check_growth(sympy.exp(tanh(sympy.exp(a))))[2] is True


# ---------------------------------------------------------------- fuzzing

VALID = [dumps_cell(get_cell(n)) for n in BUILTIN] + [
    p.read_text() for p in sorted((ROOT / "examples").glob("*.toml"))
]


def assert_cell_or_clean_error(text):
    start = time.perf_counter()
    try:
        result = loads_cell(text, "fuzz.toml")
    except CellFileError as err:
        message = str(err)
        assert "\n" not in message and message.startswith("fuzz.toml")
        if err.line is not None:
            lines = text.split("\n")
            assert 1 <= err.line <= len(lines)
            assert 1 <= err.column <= len(lines[err.line - 1]) + 1
        result = err
    assert time.perf_counter() - start < HANG_SECONDS
    return result


@given(st.text(max_size=400))
def test_random_text_is_a_cell_or_a_clean_error(text):
    assert_cell_or_clean_error(text)


@given(cell_file_texts())
def test_random_toml_pieces_are_a_cell_or_a_clean_error(text):
    assert_cell_or_clean_error(text)


@given(mutated(VALID))
def test_mutated_valid_files_are_a_cell_or_a_clean_error(text):
    result = assert_cell_or_clean_error(text)
    if not isinstance(result, Cell):
        return
    # A cell that loads goes through the whole command without a traceback.
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cell.toml"
        path.write_text(text)
        start = time.perf_counter()
        code = main(["derive", "--cell-file", str(path), "--format", "json"], out=_Sink())
        assert code in (0, 1, 2)
        assert time.perf_counter() - start < HANG_SECONDS


@given(equation_texts())
def test_random_equations_derive_and_print_or_are_refused(equation):
    text = CELL.format(equation=json.dumps(equation))
    if not isinstance(assert_cell_or_clean_error(text), Cell):
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cell.toml"
        path.write_text(text)
        for fmt in ("latex", "text"):  # the two printers (markdown and JSON reuse LaTeX)
            code = main(["derive", "--cell-file", str(path), "--format", fmt], out=_Sink())
            assert code in (0, 1)


@pytest.mark.parametrize(
    "equation",
    [
        "h_prev / -sigmoid(U)",  # 1/sigma(U): SymPy prints it through _print_Mul(Pow)
        "sigmoid(x)**2 * h_prev + relu(x)**3 + softplus(U)**2",  # f(u)^n asks _latex(exp=n)
        "abs((W / W)**-8) * tanh(U*h_prev)",  # SymPy's LaTeX printer loops on this as written
        "sigmoid(exp(0)) * h_prev",  # exp(0) is 1 when evaluated, a call as written
    ],
)
def test_equations_that_once_crashed_the_printers(equation, tmp_path, capsys):
    path = tmp_path / "cell.toml"
    write_cell(path, equation)
    for command in ("show", "derive"):
        for fmt in ("latex", "markdown", "text", "json"):
            assert main([command, "--cell-file", str(path), "--format", fmt]) == 0
    capsys.readouterr()


def test_mutations_do_reach_both_outcomes():
    # Planted check on the fuzzer itself: its mutations must produce cells and errors.
    import random

    from tests.strategies import _apply_edits

    rng = random.Random(3)
    outcomes = set()
    for _ in range(200):
        edits = [("delete", rng.random(), rng.random(), "")]
        outcomes.add(type(assert_cell_or_clean_error(_apply_edits((rng.choice(VALID), edits)))))
    assert outcomes == {Cell, CellFileError}


class _Sink:
    def write(self, text):
        return len(text)


# ---------------------------------------------------------------- the locator on any TOML

SCALARS = st.one_of(
    st.text(max_size=12), st.integers(-(10**6), 10**6), st.booleans(), st.floats(-1e3, 1e3)
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)


def toml_value(value, style: int, inline: bool = False) -> str:
    """``value`` as TOML: strings in one of four styles, arrays across lines with
    comments (inline tables, which TOML keeps on one line, aside)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        items = [toml_value(v, style + k, inline) for k, v in enumerate(value)]
        if inline or not items:
            return "[" + ", ".join(items) + "]"
        return "[\n  " + ",  # a comment ' \" [\n  ".join(items) + "\n]"
    if isinstance(value, dict):
        pairs = [f"{_string(k)} = {toml_value(v, style, inline=True)}" for k, v in value.items()]
        return "{" + ", ".join(pairs) + "}"
    basic = _string(value)
    if inline:
        return basic
    literal = "'''" not in value and not value.endswith("'")
    if style % 4 == 1 and literal and all(c.isprintable() or c in "\t\n" for c in value):
        return "'''\n" + value + "'''"
    if style % 4 == 2 and basic.startswith('"'):
        return '"""' + basic[1:-1] + '"""'
    return basic


@given(st.dictionaries(st.text(min_size=1, max_size=8), VALUES, max_size=4), st.integers(0, 3))
def test_locator_finds_every_key_and_decodes_every_string(doc, style):
    text = "".join(f'{_string(k)} = {toml_value(v, style)}  # {k!r} "\n' for k, v in doc.items())
    parsed = tomllib.loads(text)
    assert parsed == doc  # the test's own writer is right
    locator = _Locator(text)
    for k, v in doc.items():
        assert text.startswith(_string(k), locator.keys[(k,)])
        if isinstance(v, str):
            decoded, offsets, _ = locator._decode(locator.values[(k,)])
            assert decoded == v
            assert all(
                text[o] == c
                for o, c in zip(offsets, v, strict=True)
                if c not in '"\\\n\t\b\f\r' and c.isprintable()
            )
        if isinstance(v, list):
            for i in range(len(v)):
                assert (k, i) in locator.values


# ---------------------------------------------------------------- TeX injection

LATEX_CELL = CELL.format(equation='"tanh(W*x + U*h_prev + b)"') + "\n[latex]\nh = '{tex}'\n"
#: Ways to reach a control sequence through a LaTeX name: TeX's ^^ character
#: codes (^^5c is a backslash), \csname, catcode changes, reading and writing files.
INJECTIONS = [
    r"h^^5cinput{^^2fetc^^2fhostname}_t",
    r"h^^5cimmediate^^5cwrite18{touch x}_t",
    r"h^^5c^^69nput{x}_t",
    r"h_{^^5cinput x}",
    r"\csname input\endcsname{x}_t",
    r"\input{/etc/hostname}_t",
    r"\immediate\write18{touch x}_t",
    r"\openout1=x_t",
    r"\catcode`\^^M=13_t",
    r"h\\input_t",
    r"h%_t",
    r"h$\input$_t",
    r"h^^M_t",
]
FORBIDDEN = ("\\input", "\\write", "\\openout", "\\catcode", "\\csname", "^^")


@pytest.mark.parametrize("tex", INJECTIONS)
def test_latex_names_cannot_reach_a_control_sequence(tex):
    with pytest.raises(CellFileError, match=r"not allowed|nothing to apply"):
        loads_cell(LATEX_CELL.format(tex=tex.replace("'", "")))


@pytest.mark.parametrize("tex", [r"\hat{h}_t", r"h^{(1)}_t", r"\mathbf{h}_t", r"\tilde{h}_t"])
def test_allowed_latex_names_print_no_forbidden_sequence(tex, tmp_path, capsys):
    path = tmp_path / "cell.toml"
    path.write_text(LATEX_CELL.format(tex=tex))
    for argv in (["derive", "--standalone"], ["show"], ["derive", "--wrt", "state"]):
        assert main([*argv, "--cell-file", str(path)]) == 0
        out = capsys.readouterr().out
        assert tex in out
        assert not any(f in out for f in FORBIDDEN), out


# ---------------------------------------------------------------- expressions that explode


def _chain(body: str, n: int) -> str:
    equations = [f'v0 = "tanh(U*v{n - 1}_prev + x)"']
    equations += [f'v{k} = "{body.format(v=f"v{k - 1}")}"' for k in range(1, n)]
    return (
        f'name = "chain"\ninputs = ["x"]\nparameters = ["U"]\nstate = ["v{n - 1}"]\n'
        "[equations]\n" + "\n".join(equations) + "\n"
    )


@pytest.mark.parametrize(
    ("body", "n"), [("tanh(2*{v})", 16), ("tanh({v}) + sigmoid({v})", 9), ("tanh(2*{v})", 40)]
)
def test_chains_of_values_derive_quickly_and_checked(body, n):
    # Composed, the sum of terms multiplies out to 2^(n-1) terms or more: the
    # self-check goes numeric (mpmath's derivative of the forward pass) instead.
    from symgrad.derive import derive

    start = time.perf_counter()
    d = derive(loads_cell(_chain(body, n)))
    assert time.perf_counter() - start < HANG_SECONDS
    assert d.check.passed and d.check.method == "numeric", d.check.detail
    assert "too large to expand" in d.check.detail


def test_the_forward_check_catches_a_wrong_term():
    import dataclasses

    from symgrad.derive import derive, self_check

    d = derive(loads_cell(_chain("tanh(2*{v})", 16)))
    term = d.terms[0]
    wrong = dataclasses.replace(term, expr=term.expr * sympy.Rational(1001, 1000))
    check = self_check(dataclasses.replace(d, terms=(wrong, *d.terms[1:])))
    assert not check.passed


@pytest.mark.parametrize(("key", "value"), [("gates", '[["h"]]'), ("candidates", "[{}]")])
def test_lists_of_the_wrong_type_are_refused_by_type(key, value, capsys):
    text = CELL.format(equation='"tanh(W*x + U*h_prev + b)"').replace(
        'state = ["h"]', f'state = ["h"]\n{key} = {value}'
    )
    with pytest.raises(CellFileError, match="must list names in quotes"):
        loads_cell(text)
