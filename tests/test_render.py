"""Prose with mathematics, the printers' one order, documents, notebooks.

The toolkit of symgrad.text (Prose, Math, Code, prose, ascii_prose,
typed_number, interval_text) against hand-written expectations; the
printers against the engine (a product printed from SymPy reads as the
engine's ordered factors); the documents of show and derive as the issue
asks them (no escaped ASCII, headings as math, the state Jacobian's
matrix and the article's term); notebook displays through IPython's own
formatter; one-line reprs; evaluating the state Jacobian.
"""

import json

import pytest
import sympy

import symgrad
from symgrad.cells import BUILTIN
from symgrad.derivation import compose
from symgrad.multistep import derive_steps
from symgrad.render import Factors, LatexMath, TextMath
from symgrad.text import (
    Code,
    Math,
    Prose,
    ascii_prose,
    interval_text,
    md_text,
    prose,
    typed_number,
)
from tests.cli_runner import cli_output
from tests.tolerances import DOZENS_OPS

# ---------------------------------------------------------------- Prose


def test_prose_prints_in_every_format():
    p = Prose("with ", Math("o_{t-1}"), " held fixed; 50% of ", Code("h_prev"), " & *more*")
    assert p.latex() == r"with $o_{t-1}$ held fixed; 50\% of \texttt{h\_prev} \& *more*"
    assert p.markdown() == r"with $o_{t-1}$ held fixed; 50% of `h_prev` & \*more\*"
    assert p.mathjax() == "with $o_{t-1}$ held fixed; 50% of h_prev & *more*"
    assert p.text() == str(p) == "with o_{t-1} held fixed; 50% of h_prev & *more*"
    with pytest.raises(ValueError, match="Valid formats: latex, markdown, mathjax, text"):
        p.render("html")


def test_prose_joins_and_is_immutable():
    a = Prose("a ") + Math(r"\hat{h}_t") + " b"
    assert a == Prose("a ", Math(r"\hat{h}_t"), " b") and a.text() == "a h\u0302_t b"
    assert ("x " + a).pieces[0] == "x a "
    assert Prose.join(", ", [Math("x_t"), "y", Math("z")]).latex() == "$x_t$, y, $z$"
    assert not Prose("") and Prose("", Math("x"))
    with pytest.raises(AttributeError):
        a.pieces = ()
    with pytest.raises(TypeError, match="prose pieces"):
        Prose(3)


def test_prose_reads_dollars_and_backquotes():
    p = prose(r"the term $\partial c_t/\partial c_{t-1}$ of `derive`")
    assert p.pieces == ("the term ", Math(r"\partial c_t/\partial c_{t-1}"), " of ", Code("derive"))
    assert p.text() == "the term ∂c_t/∂c_{t-1} of derive"


def test_markdown_text_escapes_what_would_turn_into_markup():
    assert md_text("a_b *c* [d](e) <f> $g$ `h` #i |j|") == (
        r"a\_b \*c\* \[d\](e) \<f\> \$g\$ \`h\` \#i \|j\|"
    )


# ---------------------------------------------------------------- ASCII prose

GRU_TORCH = {"z": "z", "h_{t-1}": "h_{t-1}", "b_hn": "b_{hn}", "h": "h"}


@pytest.mark.parametrize(
    ("ascii", "latex"),
    [
        (
            "z_t keeps h_{t-1} (h_t = (1 - z_t) n_t + z_t h_{t-1}) and",
            r"$z_t$ keeps $h_{t-1}$ ($h_t = (1 - z_t) n_t + z_t h_{t-1}$) and",
        ),
        ("multiplies U_n h_{t-1} + b_hn after", r"multiplies $U_n h_{t-1} + b_{hn}$ after"),
        ("(1) z and 1 - z swap roles", r"(1) $z$ and $1 - z$ swap roles"),
        ("the derivative is dc_t/dc_{t-1}.", r"the derivative is $\partial c_t/\partial c_{t-1}$."),
        ("z_t hat h_t", r"$z_t \hat{h}_t$"),
        ("h_{t-1} = o_{t-1} tanh c_{t-1} with", r"$h_{t-1} = o_{t-1} \tanh c_{t-1}$ with"),
        ("and |u_l| <= 1 bounds", r"and $|u_l| \le 1$ bounds"),
        (
            "Keras reset_after=True, tests/test_torch.py",
            r"Keras \texttt{reset\_after=True}, "
            r"\texttt{tests/test\_torch.py}",
        ),
        ("as torch.nn.GRUCell, e.g. here", r"as \texttt{torch.nn.GRUCell}, e.g. here"),
        ("a reparametrisation, I think", "a reparametrisation, I think"),
        ("(gates from o_{t-1}) does", "(gates from $o_{t-1}$) does"),
        ("Cho et al. 2014 with", "Cho et al. 2014 with"),
    ],
)
def test_ascii_prose_makes_the_formulas_mathematics(ascii, latex):
    assert ascii_prose(ascii, GRU_TORCH).latex() == latex


def test_ascii_prose_uses_the_cells_names():
    cell = symgrad.get_cell("lstm")
    from symgrad.documents import cell_prose_names

    p = ascii_prose("c_prev and c_hat and W_hn and h1_t", cell_prose_names(cell))
    # A value's bare name is the value without its time index: c_hat is \hat{c}.
    assert p.latex() == r"$c_{t-1}$ and $\hat{c}$ and $W_{hn}$ and $h1_t$"
    assert p.text() == "c_{t-1} and c\u0302 and W_hn and h1_t"


# ---------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    ("typed", "latex"), [("0.5", "0.5"), ("-3/4", "-3/4"), ("1e-3", r"1 \times 10^{-3}")]
)
def test_numbers_stay_as_typed(typed, latex):
    m = typed_number(typed)
    assert (m.latex, m.text) == (latex, typed)


def test_derive_at_prints_the_numbers_as_typed():
    at = "x=0.5,W=1/2,U=2,b=0,h_prev=1e-3"
    text = cli_output("derive", "rnn", "--at", at, "--format", "text")
    assert "At x_t = 0.5, W = 1/2, U = 2, b = 0, h_{t-1} = 1e-3:" in text
    latex = cli_output("derive", "rnn", "--at", at)
    assert r"$x_t = 0.5$" in latex and r"$h_{t-1} = 1 \times 10^{-3}$" in latex


@pytest.mark.parametrize(
    ("lo", "hi", "shown"),
    [
        (0.447743205, 0.4477432051, ("0.44774320", "0.44774321")),
        (0.4, 0.6, ("0.4000", "0.6000")),
        (-2e-9, 3e-9, ("-2.000e-9", "3.000e-9")),
        (1.0, 1.0000001, ("1.0000000", "1.0000001")),
    ],
)
def test_intervals_print_ends_that_differ_and_contain_the_interval(lo, hi, shown):
    a, b = interval_text(lo, hi)
    assert (a, b) == shown and a != b
    assert float(a) <= lo and float(b) >= hi


# ---------------------------------------------------------------- the printers' one order


@pytest.mark.parametrize("cell", BUILTIN)
def test_a_product_from_sympy_prints_in_the_engines_order(cell):
    derivations = [symgrad.derive(cell)]
    derivations += [d for row in symgrad.derive(cell, "state").entries for d in row]
    for d in derivations:
        latex, text = LatexMath(d.cell, d.ranges), TextMath(d.cell, d.ranges)
        for t in d.terms:
            assert latex.doprint(t.expr) == latex.item(Factors(t.factors))
            assert text.doprint(t.expr) == text.item(Factors(t.factors))


def test_the_spec_order_and_parenthesised_functions():
    lstm = cli_output("derive", "lstm", "--format", "text")
    assert "f_t (1 - f_t) o_{t-1} (1 - tanh² c_{t-1}) c_{t-1} U_f" in lstm
    state = cli_output("derive", "lstm", "--wrt", "state", "--format", "text")
    assert "o_t (1 - o_t) (tanh c_t) U_o" in state and "tanh c_t U_o" not in state
    assert "h_t = o_t tanh c_t" in state  # a function that ends the product needs none
    assert r"\left(\tanh c_t\right) U_o" in cli_output("derive", "lstm", "--wrt", "state")


def test_gru_torch_prints_the_sum_as_the_cell_writes_it():
    latex = cli_output("derive", "gru-torch")
    assert r"\left(U_n h_{t-1} + b_{hn}\right)" in latex
    assert "b_{hn} + h_{t-1} U_n" not in latex


# ---------------------------------------------------------------- documents


def test_show_writes_the_docstring_as_mathematics():
    latex = cli_output("show", "gru-torch")
    assert r"z\_t" not in latex and "$z_t$ keeps $h_{t-1}$" in latex
    assert r"($h_t = (1 - z_t) n_t + z_t h_{t-1}$)" in latex
    assert r"\texttt{reset\_after=True}" in latex
    assert "$z_t$ keeps $h_{t-1}$" in cli_output("show", "gru-torch", "--format", "markdown")


@pytest.mark.parametrize(("cell", "held"), [("lstm", "o_{t-1}"), ("gru-late-reset", "r_{t-1}")])
def test_the_convention_line_names_the_held_value_as_math(cell, held):
    latex = cli_output("derive", cell)
    assert f"with ${held}$ held fixed" in latex and r"\_" not in latex


def test_state_jacobian_shows_the_matrix_its_entries_and_the_articles_term():
    latex = cli_output("derive", "lstm", "--wrt", "state")
    assert r"J_t &= \begin{pmatrix} \dfrac{\partial c_t}{\partial c_{t-1}}" in latex
    for num, den in (("c", "c"), ("c", "h"), ("h", "c"), ("h", "h")):
        assert rf"\paragraph{{$\partial {num}_t/\partial {den}_{{t-1}}$}}" in latex
    assert r"A_t &= \left[J_t e_{t-1}\right]_{c}" in latex
    order = [latex.index(s) for s in (r"J_t &=", r"\paragraph{$\partial c_t", "A_t &=")]
    assert order == sorted(order)


@pytest.mark.parametrize("cell", [c for c in BUILTIN if len(symgrad.get_cell(c).state) > 1])
def test_the_articles_term_is_the_jacobians_row_along_the_convention(cell):
    # An oracle apart from the document: A_t = J[target] . d s_{t-1}/d source.
    d, j = symgrad.derive(cell), symgrad.derive(cell, "state")
    source = d.cell.symbol(d.source)
    row = next(r for r in j.entries if r[0].target == d.target)
    tangent = [
        sympy.Integer(1)
        if e.source == d.source
        else sympy.diff(d.carry.get(d.cell.symbol(e.source), 0), source)
        for e in row
    ]
    product = sum(e.total * t for e, t in zip(row, tangent, strict=True))
    assert sympy.expand(compose(d.cell, d.carry, product - d.total)) == 0


# ---------------------------------------------------------------- notebooks and reprs


def objects():
    out = [symgrad.derive(c) for c in BUILTIN]
    out += [symgrad.derive(c, "state") for c in BUILTIN]
    out += [symgrad.derive("rnn", "U"), derive_steps("lstm", 2)]
    return out


@pytest.mark.parametrize("obj", objects(), ids=repr)
def test_one_line_reprs(obj):
    assert len(repr(obj)) < 200 and "\n" not in repr(obj)


def test_cells_have_one_line_reprs():
    assert repr(symgrad.builtin_cells()) == (
        "<cells: rnn, rnn-relu, lstm, gru, gru-merged, gru-late-reset, gru-torch>"
    )
    assert symgrad.builtin_cells() == tuple(symgrad.get_cell(c) for c in BUILTIN)
    assert all(len(repr(c)) < 200 for c in symgrad.builtin_cells())


@pytest.mark.parametrize("cell", BUILTIN)
def test_ipython_displays_the_whole_derivation(cell):
    formatters = pytest.importorskip("IPython.core.formatters")
    d = symgrad.derive(cell)
    data, _ = formatters.DisplayFormatter().format(d)
    assert data["text/plain"] == repr(d)
    printer = LatexMath(d.cell, d.ranges)
    for mime in ("text/latex", "text/markdown"):
        shown = data[mime]
        for heading in ("Cell", "Chain rule", "Terms", "Sum", "Check"):
            assert heading in shown
        for t in d.terms:
            gates = f"{t.gate_count} gate" + ("s" if t.gate_count != 1 else "")
            assert printer.item(Factors(t.factors)) in shown and gates in shown
        assert "dominant" in shown and "align*" not in shown


def test_ipython_displays_the_state_jacobian_and_the_multistep():
    formatters = pytest.importorskip("IPython.core.formatters")
    for obj in (symgrad.derive("lstm", "state"), derive_steps("lstm", 2)):
        data, _ = formatters.DisplayFormatter().format(obj)
        assert {"text/latex", "text/markdown"} <= set(data)
        assert "\\begin{aligned}" in data["text/markdown"]


# ---------------------------------------------------------------- evaluating


LSTM_POINT = {
    "x": "1/2",
    "W_f": 1,
    "U_f": 2,
    "b_f": 1,
    "W_i": "1/2",
    "U_i": -1,
    "b_i": 0,
    "W_c": 1,
    "U_c": 1,
    "b_c": 0,
    "W_o": "1/2",
    "U_o": 1,
    "b_o": 0,
    "c_prev": "3/10",
    "h_prev": "1/5",
    "o_prev": "1/2",
}


def test_evaluate_ignores_names_the_derivative_does_not_use():
    d = symgrad.derive("lstm")
    point = {k: sympy.Rational(v) for k, v in LSTM_POINT.items()}
    total, _ = d.evaluate(point)  # U_o, W_o, b_o, h_prev: names of the cell, unused
    assert total == d.evaluate({k: point[k] for k in d.free_names})[0]
    with pytest.raises(ValueError, match="unknown names q"):
        d.evaluate({**point, "q": 1})
    with pytest.raises(ValueError, match="missing values for U_f"):
        d.evaluate({k: v for k, v in point.items() if k != "U_f"})


def test_state_jacobian_evaluates_and_has_a_kernel():
    np = pytest.importorskip("numpy")
    j = symgrad.derive("lstm", "state")
    point = {k: sympy.Rational(v) for k, v in LSTM_POINT.items()}
    assert set(j.free_names) == {n for row in j.entries for d in row for n in d.free_names}
    matrix, entries = j.evaluate(point)
    for i, row in enumerate(j.entries):
        for k, d in enumerate(row):
            total, terms = entries[i][k]
            assert matrix[i, k] == total == d.evaluate(point)[0] and len(terms) == len(d.terms)
    f = j.numeric()
    totals, terms = f(**{n: float(point[n]) for n in f.names})
    assert totals.shape == (2, 2)
    assert np.allclose(totals, np.array(matrix.tolist(), dtype=float), rtol=DOZENS_OPS)
    assert len(terms[1][1]) == len(j.entries[1][1].terms)
    with pytest.raises(TypeError, match="missing x"):
        f(**{n: 0.0 for n in f.names if n != "x"})


def test_derive_at_works_with_the_state_jacobian():
    at = ",".join(f"{k}={v}" for k, v in LSTM_POINT.items())
    data = json.loads(
        cli_output("derive", "lstm", "--wrt", "state", "--at", at, "--format", "json")
    )
    j = symgrad.derive("lstm", "state")
    matrix, _ = j.evaluate({k: sympy.Rational(v) for k, v in LSTM_POINT.items()})
    assert data["matrix_value"] == [[float(v) for v in row] for row in matrix.tolist()]
    assert data["entries"][0][0]["total_value"] == float(matrix[0, 0])
    latex = cli_output("derive", "lstm", "--wrt", "state", "--at", at)
    assert r"\paragraph{Value.}" in latex and r"$U_f = 2$" in latex
