"""Cell files: the format, the built-ins written as files, the examples, the errors.

Oracles are independent of the engine: each example's derivative is
sympy.diff of the cell's raw equations, composed by hand here with the
sigmoid written through exp, and relu as Max(0, u).
"""

import json
import random
import re
from pathlib import Path

import pytest
import sympy

from symgrad.cellfile import MAX_FILE_BYTES, CellFileError, dumps_cell, load_cell, loads_cell
from symgrad.cells import BUILTIN, Cell, get_cell
from symgrad.derivation import derive
from tests.latex import compile_latex, needs_pdflatex
from tests.tolerances import DIGITS30

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
ORACLE_POINTS = 8
ORACLE_SEED = 7


def sig(u):
    return 1 / (1 + sympy.exp(-u))


def symbols(names):
    return {n: sympy.Symbol(n, real=True) for n in names.split()}


def random_point(names, rng, lo=-2, hi=2):
    return {n: sympy.Rational(rng.randint(lo * 1000, hi * 1000), 1000) for n in names}


def assert_close(value, expected):
    value, expected = sympy.Float(value, 30), sympy.Float(expected, 30)
    assert abs(value - expected) <= DIGITS30 * (1 + abs(expected)), (value, expected)


# ---------------------------------------------------------------- the built-ins as files


@pytest.mark.parametrize("name", BUILTIN)
def test_builtin_written_as_file_gives_exactly_the_builtin(run, name, tmp_path):
    cell = get_cell(name)
    path = tmp_path / f"{name}.toml"
    path.write_text(dumps_cell(cell))
    loaded = load_cell(path)
    assert loaded == cell
    assert derive(loaded) == derive(cell)
    # The whole command output, byte for byte, in the two formats that carry everything.
    for fmt in ("json", "latex"):
        builtin = run("derive", name, "--format", fmt)
        from_file = run("derive", "--cell-file", str(path), "--format", fmt)
        assert from_file == builtin
        assert builtin.code == 0


def test_the_round_trip_comparison_can_fail(tmp_path):
    # Planted: one changed character in a written built-in must show in the derivation.
    text = dumps_cell(get_cell("gru")).replace("U_h*(r*h_prev)", "U_h*(z*h_prev)")
    assert derive(loads_cell(text)) != derive(get_cell("gru"))


def test_state_jacobian_from_a_file_equals_the_builtin():
    loaded = loads_cell(dumps_cell(get_cell("lstm")))
    assert derive(loaded, "state") == derive(get_cell("lstm"), "state")


def test_written_file_is_stable():
    for name in BUILTIN:
        text = dumps_cell(get_cell(name))
        assert dumps_cell(loads_cell(text)) == text


# ---------------------------------------------------------------- examples with oracles


def example(name) -> Cell:
    return load_cell(EXAMPLES / name)


def test_peephole_lstm_against_sympy_diff():
    cell = example("peephole-lstm.toml")
    s = symbols("x c_prev o_prev W_f U_f p_f b_f W_i U_i p_i b_i W_c U_c b_c W_o U_o p_o b_o")
    # The article's one-step convention: h_{t-1} = o_{t-1} tanh c_{t-1}, o_{t-1} fixed.
    h_prev = s["o_prev"] * sympy.tanh(s["c_prev"])
    f = sig(s["W_f"] * s["x"] + s["U_f"] * h_prev + s["p_f"] * s["c_prev"] + s["b_f"])
    i = sig(s["W_i"] * s["x"] + s["U_i"] * h_prev + s["p_i"] * s["c_prev"] + s["b_i"])
    c_hat = sympy.tanh(s["W_c"] * s["x"] + s["U_c"] * h_prev + s["b_c"])
    c = f * s["c_prev"] + i * c_hat
    d = derive(cell)
    assert [t.name for t in d.terms] == ["c_prev", "f", "i", "c_hat"]
    assert d.dominant.name == "c_prev" and d.check.passed
    oracle = {
        "c_prev": f,
        "f": s["c_prev"] * sympy.diff(f, s["c_prev"]),
        "i": c_hat * sympy.diff(i, s["c_prev"]),
        "c_hat": i * sympy.diff(c_hat, s["c_prev"]),
    }
    total = sympy.diff(c, s["c_prev"])
    assert set(d.free_names) == {n for n in s if n not in ("W_o", "U_o", "p_o", "b_o")}
    rng = random.Random(ORACLE_SEED)
    for _ in range(ORACLE_POINTS):
        point = random_point(d.free_names, rng)
        env = {s[n]: v for n, v in point.items()}
        value, per_term = d.evaluate(point)
        assert_close(value, total.xreplace(env).evalf(30))
        for term, got in zip(d.terms, per_term, strict=True):
            assert_close(got, oracle[term.name].xreplace(env).evalf(30))
    # Gate counts by hand: the peephole part p_f of the forget term is not
    # multiplied by o_{t-1}(1 - tanh^2 c_{t-1}), so that term keeps f(1 - f) only.
    assert [t.gate_count for t in d.terms] == [1, 2, 2, 4]
    assert cell.latex["c_hat_prev"] == r"\tilde{c}_{t-1}"


def test_indrnn_against_sympy_diff():
    cell = example("indrnn.toml")
    s = symbols("x h1_prev h2_prev W_1 u_1 b_1 W_2 u_2 b_2")
    a1 = s["W_1"] * s["x"] + s["u_1"] * s["h1_prev"] + s["b_1"]
    h1 = sympy.Max(0, a1)
    a2 = s["W_2"] * h1 + s["u_2"] * s["h2_prev"] + s["b_2"]
    h2 = sympy.Max(0, a2)
    jacobian = derive(cell, "state")
    default = derive(cell)
    assert (default.target, default.source) == ("h2", "h2_prev")
    assert default.terms == jacobian.entries[1][1].terms  # no one-step convention applies
    rng = random.Random(ORACLE_SEED)
    checked = 0
    while checked < ORACLE_POINTS:
        point = random_point(s, rng)
        env = {s[n]: v for n, v in point.items()}
        if min(abs(a1.xreplace(env)), abs(a2.xreplace(env))) < sympy.Rational(1, 100):
            continue  # relu's kink: both sides pick a one-sided derivative there
        for i, value in enumerate((h1, h2)):
            for j, prev in enumerate(("h1_prev", "h2_prev")):
                entry = jacobian.entries[i][j]
                expected = sympy.diff(value, s[prev]).xreplace(env).evalf(30)
                got, _ = entry.evaluate({n: point[n] for n in entry.free_names})
                assert_close(got, expected)
        checked += 1
    assert jacobian.check.passed


def test_late_reset_other_reading_against_sympy_diff_and_the_gru():
    cell = example("gru-late-reset-output.toml")
    s = symbols("x h_prev W_z U_z b_z W_r U_r b_r W_h U_h b_h")
    z = sig(s["W_z"] * s["x"] + s["U_z"] * s["h_prev"] + s["b_z"])
    h_hat = sympy.tanh(s["W_h"] * s["x"] + s["U_h"] * s["h_prev"] + s["b_h"])
    h = (1 - z) * s["h_prev"] + z * h_hat
    d = derive(cell)
    rng = random.Random(ORACLE_SEED)
    for _ in range(ORACLE_POINTS):
        point = random_point(d.free_names, rng)
        env = {s[n]: v for n, v in point.items()}
        assert_close(d.evaluate(point)[0], sympy.diff(h, s["h_prev"]).xreplace(env).evalf(30))
    # The reset gate never reaches dh_t/dh_{t-1} in this reading ...
    assert not {"W_r", "U_r", "b_r"} & set(d.free_names)
    # ... so it has fewer gates than the GRU (SPEC section 3): the candidate's
    # term is z (1 - h^2) U_h, two gates, against the GRU's z (1 - h^2) r (...) U_h.
    gru = derive("gru")
    mine = {t.name: t.gate_count for t in d.terms}
    theirs = {t.name: t.gate_count for t in gru.terms}
    assert mine == {"h_prev": 1, "z": 2, "h_hat": 2}
    assert theirs == {"h_prev": 1, "z": 2, "h_hat": 3}
    # o_t = r_t h_t is an output that does depend on the reset gate.
    assert {"W_r", "U_r", "b_r"} <= set(derive(cell, of="o").free_names)


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.toml")), ids=lambda p: p.name)
def test_every_example_derives_and_checks(run, path):
    code, out, err = run("derive", "--cell-file", str(path), "--format", "json")
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert data["cell"] == load_cell(path).name
    assert data["check"]["passed"] is True


@needs_pdflatex
@pytest.mark.parametrize(
    ("name", "wrt"),
    # \tilde{c}_t from [latex]; a state Jacobian with an entry of no terms (dh1/dh2_prev).
    [("peephole-lstm.toml", []), ("indrnn.toml", ["--wrt", "state"])],
)
def test_user_cells_give_latex_that_compiles(run, name, wrt, tmp_path):
    code, out, _ = run("derive", "--cell-file", str(EXAMPLES / name), *wrt, "--standalone")
    assert code == 0
    compile_latex(tmp_path, "doc.tex", out)


# ---------------------------------------------------------------- README


def test_readme_example_is_the_example_file_and_derives():
    section = (ROOT / "README.md").read_text().split("## Your own cell")[1]
    (block,) = re.findall(r"```toml\n(.*?)```", section, flags=re.S)
    assert block == (EXAMPLES / "peephole-lstm.toml").read_text()
    assert loads_cell(block, "README.md") == example("peephole-lstm.toml")
    assert derive(loads_cell(block)).check.passed


def test_readme_error_examples_are_what_symgrad_prints(run, tmp_path, monkeypatch):
    section = (ROOT / "README.md").read_text().split("## Your own cell")[1]
    (block,) = [b for b in re.findall(r"```text\n(.*?)```", section, flags=re.S) if "my-gru" in b]
    shown = [line for line in block.splitlines() if not line.startswith("$")]
    monkeypatch.chdir(tmp_path)
    text = dumps_cell(get_cell("gru"))
    text = text.replace('z = "sigmoid(', 'z = "tanh(').replace("x + U_h*", "x + U_q*")
    Path("my-gru.toml").write_text(text)
    first = run("derive", "--cell-file", "my-gru.toml")
    Path("my-gru.toml").write_text(text.replace('z = "tanh(', 'z = "sigmoid('))
    second = run("derive", "--cell-file", "my-gru.toml")
    assert [first.err.strip(), second.err.strip()] == shown
    assert first.code == second.code == 2


# ---------------------------------------------------------------- the command line


def test_cell_file_instead_of_cell_on_show_and_derive(run):
    path = str(EXAMPLES / "gru-late-reset-output.toml")
    code, out, _ = run("show", "--cell-file", path, "--format", "json")
    assert code == 0 and json.loads(out)["name"] == "gru-late-reset-output"
    code, out, _ = run("derive", "--cell-file", path, "--at", _point_text(path), "--format", "json")
    assert code == 0 and "total_value" in json.loads(out)


def _point_text(path):
    names = derive(load_cell(path)).free_names
    return ",".join(f"{n}=0.5" for n in names)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["derive"], r"required: CELL \(one of: rnn, .*\) or --cell-file FILE"),
        (["derive", "lstm", "--cell-file", "x.toml"], "give a CELL or --cell-file FILE, not both"),
        (["show", "lstmm"], "unknown cell 'lstmm'. Valid cells: rnn, "),
        (["export"], "required: CELL"),
    ],
)
def test_cell_argument_errors(run, argv, message):
    code, out, err = run(*argv)
    assert code == 2 and out == ""
    assert re.fullmatch(rf"symgrad {argv[0]}: .*{message}.*\n", err)


def test_cell_file_from_standard_input(run):
    text = (EXAMPLES / "indrnn.toml").read_text()
    code, out, _ = run("show", "--cell-file", "-", "--format", "json", stdin=text)
    assert code == 0 and json.loads(out)["name"] == "indrnn-2"


def test_export_writes_a_file_that_loads_back(run, tmp_path):
    code, out, err = run("export", "gru-torch")
    assert (code, err) == (0, "")
    assert loads_cell(out) == get_cell("gru-torch")
    path = tmp_path / "p.toml"
    path.write_text(out)
    assert run("export", "--cell-file", str(path)).out == out


# ---------------------------------------------------------------- errors, placed in the file

BASE = """\
name = "mini"
inputs = ["x"]
parameters = ["W", "U", "b", "W_z", "U_z"]
state = ["h"]
gates = ["z"]

[equations]
z = "sigmoid(W_z*x + U_z*h_prev)"
h = "(1 - z)*h_prev + z*tanh(W*x + U*h_prev + b)"
"""


def test_base_file_is_valid():
    cell = loads_cell(BASE)
    assert (cell.target, cell.source, cell.gates) == ("h", "h_prev", ("z",))


def mistake(old, new):
    assert old in BASE, old
    return BASE.replace(old, new, 1)


ERRORS = [
    # (file text, line, column, message); columns counted by hand from BASE.
    (mistake('"sigmoid(W_z*x', '"sigmoid(W_q*x'), 8, 14, "equation 'z': undefined name 'W_q'"),
    (mistake('"sigmoid(', '"sigmod('), 8, 6, "unknown function 'sigmod' .allowed: sigmoid"),
    (mistake('"sigmoid(', '"tanh('), 8, 5, "value 'z' is declared a gate but is not sigmoid"),
    (mistake('"z"]\n', '"z"]\ncandidates = ["z"]\n'), 6, 15, "'z' is listed both as a gate and"),
    (
        mistake('gates = ["z"]', 'candidates = ["z"]'),
        8,
        5,
        "'z' is declared a candidate but is not",
    ),
    (mistake('state = ["h"]', 'state = ["h", "q"]'), 4, 15, "state variable 'q' is never updated"),
    (mistake('state = ["h"]', 'state = ["h", "h"]'), 4, 15, "state lists 'h' twice"),
    (mistake('state = ["h"]', "state = []"), 4, 9, "state is empty"),
    (mistake('gates = ["z"]', 'gates = ["y"]'), 5, 10, "gate 'y' is never defined"),
    (BASE + 'target = "h"\n', 10, 1, "'target' is read as an equation: TOML puts every key"),
    (mistake("[equations]", 'target = "y"\n[equations]'), 7, 10, "target 'y' is not a value"),
    (mistake("[equations]", 'source = "z_prev"\n[equations]'), 7, 10, "source 'z_prev' is not"),
    (mistake('"W", "U"', '"W", "x"'), 3, 20, "'x' is defined twice: as a parameter here and as"),
    (mistake('z = "', 'W = "'), 8, 1, "'W' is defined twice: as a value here and as a param"),
    (mistake("+ U_z*h_prev)", "+ U_z*h)"), 8, 5, "the equations form a cycle: z -> h -> z"),
    (mistake("(1 - z)*h_prev", "(1 - z)*h"), 9, 5, "equation 'h' refers to itself"),
    (mistake("state = ", "stat = "), 4, 1, "unknown key 'stat' .did you mean 'state'"),
    (mistake('state = ["h"]\n', ""), None, None, "missing key 'state'"),
    (mistake('name = "mini"\n', ""), None, None, "missing key 'name'"),
    (mistake("[equations]", "[equation]"), 7, 1, "unknown key 'equation' .did you mean 'equ"),
    (mistake('inputs = ["x"]', 'inputs = "x"'), 2, 10, "'inputs' must be a list"),
    (mistake('inputs = ["x"]', "inputs = [1]"), 2, 11, "inputs must list names in quotes"),
    (mistake('"x"]', '"x-y"]'), 2, 11, "input name 'x-y' is not a plain name"),
    (mistake('"x"]', '"x_prev"]'), 2, 11, "names ending in _prev are the previous step's"),
    (mistake('"x"]', '"tanh"]'), 2, 11, "'tanh' is the name of a function"),
    (mistake('"x"]', '"pi"]'), 2, 11, "input name 'pi' is reserved"),
    (mistake('name = "mini"', 'name = "a b"'), 1, 8, "cell name 'a b' must be letters"),
    (mistake('name = "mini"', "name = 3"), 1, 8, "'name' must be text in quotes, not a number"),
    (mistake('h = "', "h = 1 #"), 9, 5, "equation 'h' must be text in quotes"),
    (mistake('name = "mini"', 'name = "mini'), 1, 13, r"invalid TOML: Illegal character '\\n'"),
    (mistake('= "mini"', '= "mini"\nname = "x"'), 2, 11, "Cannot overwrite a value .this key is"),
    (mistake("[equations]", "[equations"), 7, 11, "invalid TOML"),
    (mistake("(1 - z)", "(1 - z"), 9, 6, r"equation 'h': syntax error: '\(' was never closed"),
    (mistake("U*h_prev + b)", "U.h_prev + b)"), 9, 36, "attribute access '.h_prev' is not"),
    (mistake("U*h_prev + b)", "U*h_prev**9 + b)"), 9, 46, "exponents must be integer literals"),
    (mistake("[equations]", "[latex]\nh = '\\input{x}'\n[equations]"), 8, 5, r"\\input is not"),
    (mistake("[equations]", "[latex]\nh = 'h'\n[equations]"), 8, 5, "must end in _t"),
    (mistake("[equations]", "[latex]\nh_prev = 'h'\n[equations]"), 8, 1, "follows from that of h"),
    (mistake("[equations]", "[latex]\nh = '{h_t'\n[equations]"), 8, 5, "never closed"),
    (mistake('= "mini"', '= "mini"\ndescription = "a \\\\ b"'), 2, 15, "contains a backslash"),
    (mistake('= "mini"', '= "mini"\ndescription = "tanh^2"'), 2, 15, "contains '\\^'"),
    (
        mistake('= "mini"', '= "mini"\ndescription = "\u03c3"'),
        2,
        15,
        "contains '\u03c3': it is plain",
    ),
    (mistake('= "mini"', '= "mini"\ndescription = "a}"'), 2, 15, "unbalanced braces"),
    ('name = "m"\nstate = ["h"]\n[equations]\nh = "exp(exp(h_prev))"\n', 4, 6, "inside exp"),
    (
        'name = "m"\nstate = ["h"]\n[equations]\ng = "exp(h_prev)"\nh = "sigmoid(g)"\n',
        5,
        5,
        r"equation 'h', with the values it uses substituted: exp\(...\) inside sigmoid",
    ),
]


@pytest.mark.parametrize(("text", "line", "column", "message"), ERRORS)
def test_error_names_the_place_and_what_was_expected(text, line, column, message):
    with pytest.raises(CellFileError, match=message) as info:
        loads_cell(text, "cell.toml")
    err = info.value
    assert (err.line, err.column) == (line, column), str(err)
    prefix = ":".join(str(p) for p in ("cell.toml", line, column) if p is not None)
    assert str(err).startswith(prefix + ": ") and "\n" not in str(err)


def test_column_maps_through_escapes_and_line_breaks():
    # \t and \u0020 are two and six characters in the file, one in the equation.
    text = mistake('z = "sigmoid(W_z*x + U_z*h_prev)"', 'z = "sigmoid(W_z*x\\t+\\u0020U_z*h_prv)"')
    with pytest.raises(CellFileError) as info:
        loads_cell(text)
    assert (info.value.line, info.value.column) == (8, 32)
    assert text.splitlines()[7][31:36] == "h_prv"
    # A multi-line string: the error is on the equation's second line.
    text = mistake('z = "sigmoid(W_z*x + U_z*h_prev)"', 'z = """sigmoid(W_z*x\n  + U_z*h_prv)"""')
    with pytest.raises(CellFileError) as info:
        loads_cell(text)
    assert (info.value.line, info.value.column) == (9, 9)
    # Dotted keys and literal strings are found too.
    text = BASE.replace('z = "sigmoid(W_z*x + U_z*h_prev)"\n', "") + "z = 'sigmoid(W_z*x + Q)'\n"
    text = text.replace("[equations]\n", "").replace('h = "', 'equations.h = "')
    text = text.replace("z = 'sig", "equations.z = 'sig")
    with pytest.raises(CellFileError) as info:
        loads_cell(text)
    assert (info.value.line, info.value.column) == (
        8,
        32,
    )  # Q, after equations.z = 'sigmoid(W_z*x +


def test_relu_of_a_power_derives_and_checks():
    # Regression: the checker's reference once rewrote x**2 as exp(2 log x),
    # complex for x < 0, and derive crashed on any relu cell with a power.
    cell = loads_cell(
        'name = "r"\ninputs = ["x"]\nparameters = ["U"]\nstate = ["h"]\n'
        '[equations]\nh = "relu(x**2 - 1 + U*h_prev)"\n'
    )
    d = derive(cell)
    assert d.check.passed and d.check.method == "numeric"
    x, u, h = sympy.symbols("x U h_prev", real=True)
    oracle = sympy.diff(sympy.Max(0, x**2 - 1 + u * h), h)
    for values in ((2, 3, 1), (-2, 3, 1), (sympy.Rational(1, 2), 1, -1)):
        point = dict(zip(("x", "U", "h_prev"), map(sympy.Rational, values), strict=True))
        expected = oracle.xreplace({x: point["x"], u: point["U"], h: point["h_prev"]})
        assert_close(d.evaluate(point)[0], expected)


def test_windows_line_endings_give_the_same_place():
    text = mistake('"sigmoid(W_z*x', '"sigmoid(W_q*x')
    for variant in (text, text.replace("\n", "\r\n")):
        with pytest.raises(CellFileError) as info:
            loads_cell(variant)
        assert (info.value.line, info.value.column) == (8, 14)


def test_file_errors(tmp_path):
    big = tmp_path / "big.toml"
    with open(big, "wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(CellFileError, match=r"file too large .100,001 bytes"):
        load_cell(big)
    with pytest.raises(CellFileError, match="cannot read the cell file: No such file"):
        load_cell(tmp_path / "missing.toml")
    with pytest.raises(CellFileError, match="cannot read the cell file"):
        load_cell(tmp_path)
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b'name = "a"\n\xff')
    with pytest.raises(CellFileError, match=r"bin.toml:2:1: not UTF-8"):
        load_cell(binary)
