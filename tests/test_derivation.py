"""The chain-rule engine: terms in gate form, their split, counts and self-check."""

import pytest
import sympy

import symgrad
from symgrad.cells import BUILTIN, get_cell
from symgrad.derivation import (
    Check,
    Derivation,
    Term,
    compose,
    partial,
    self_check,
)
from symgrad.primitives import sigmoid, tanh
from symgrad.ranges import value_ranges
from symgrad.text import plain
from tests.tolerances import DIGITS30


def S(name):
    return sympy.Symbol(name, real=True)


def as_sympy(expr):
    """symgrad's activations replaced by SymPy's own, for comparing with oracles."""
    return expr.replace(tanh, sympy.tanh)


def same(a, b) -> bool:
    return sympy.expand(as_sympy(a) - as_sympy(b)) == 0


# ---------------------------------------------------------------- every cell


@pytest.mark.parametrize("name", BUILTIN)
def test_terms_add_up_to_the_raw_derivative(name):
    d = symgrad.derive(name)
    assert d.check.passed, d.check.detail
    # relu's indicator defeats expansion; everything else is decided exactly.
    assert d.check.method == ("numeric" if name == "rnn-relu" else "symbolic")


@pytest.mark.parametrize("name", BUILTIN)
def test_terms_equal_sympys_own_derivative_of_the_exp_form(name):
    # Independent of the engine's differentiator and of the gate-form rules:
    # SymPy's diff of the composed definition with sigma written through exp.
    d = symgrad.derive(name)
    cell, s = d.cell, S(d.source)
    raw = compose(cell, d.carry, cell.equation(d.target).symbol)
    reference = sympy.diff(as_sympy(raw.rewrite(sympy.exp)), s)
    claimed = as_sympy(compose(cell, d.carry, d.total))
    point = {
        sym: sympy.Rational(k % 7 - 3, 4) + sympy.Rational(1, 9)
        for k, sym in enumerate(sorted(reference.free_symbols | claimed.free_symbols, key=str))
    }
    assert abs((claimed - reference).evalf(30, subs=point)) < DIGITS30


@pytest.mark.parametrize("name", [n for n in BUILTIN if get_cell(n).state != ("h",)])
def test_state_jacobian_entries_are_exact(name):
    j = symgrad.derive(name, "state")
    cell = j.cell
    assert j.check.passed
    for row in j.entries:
        for d in row:
            raw = compose(cell, {}, cell.equation(d.target).symbol)
            assert same(compose(cell, {}, d.total), sympy.diff(as_sympy(raw), S(d.source)))


@pytest.mark.parametrize("name", BUILTIN)
def test_gate_form_has_no_exp(name):
    d = symgrad.derive(name)
    for t in d.terms:
        assert not t.expr.has(sympy.exp)
        assert not t.expr.has(sigmoid)  # every sigma(u) became its gate's symbol


@pytest.mark.parametrize("name", BUILTIN)
def test_engine_differentiator_agrees_with_sympy(name):
    cell = get_cell(name)
    for eq in cell.equations:
        for w in eq.rhs.free_symbols:
            ours = partial(eq.rhs, w)
            assert same(ours, sympy.diff(eq.rhs, w)), (eq.name, w)


# ---------------------------------------------------------------- the article's formulas


def test_lstm_terms_are_the_articles():
    f, i, c_hat, c_prev, o_prev = S("f"), S("i"), S("c_hat"), S("c_prev"), S("o_prev")
    carry = o_prev * (1 - sympy.tanh(c_prev) ** 2)
    expected = {
        "c_prev": (f, 1, True),
        "f": (f * (1 - f) * carry * c_prev * S("U_f"), 4, False),
        "i": (i * (1 - i) * carry * c_hat * S("U_i"), 4, False),
        "c_hat": (i * (1 - c_hat**2) * carry * S("U_c"), 4, False),
    }
    d = symgrad.derive("lstm")
    assert [t.name for t in d.terms] == list(expected)
    for t in d.terms:
        expr, gates, dominant = expected[t.name]
        assert same(t.expr, expr), t.name
        assert (t.gate_count, t.dominant) == (gates, dominant)
    assert d.carry == {S("h_prev"): o_prev * tanh(c_prev)}


def test_gru_terms_are_the_articles():
    z, r, h_hat, h = S("z"), S("r"), S("h_hat"), S("h_prev")
    expected = {
        "h_prev": (1 - z, 1, True),
        "z": (z * (1 - z) * (h_hat - h) * S("U_z"), 2, False),
        "h_hat": (z * (1 - h_hat**2) * r * (1 + (1 - r) * h * S("U_r")) * S("U_h"), 3, False),
    }
    d = symgrad.derive("gru")
    assert [t.name for t in d.terms] == list(expected)
    for t in d.terms:
        expr, gates, dominant = expected[t.name]
        assert same(t.expr, expr), t.name
        assert (t.gate_count, t.dominant) == (gates, dominant)
    # The factor the reset gate brings in, pulled out as the article writes it.
    assert 1 + (1 - r) * h * S("U_r") in d.terms[2].factors


def test_late_reset_minor_terms_gain_the_previous_reset_gate():
    gru, late = symgrad.derive("gru"), symgrad.derive("gru-late-reset")
    r_prev = S("r_prev")
    assert late.carry == {S("o_prev"): r_prev * S("h_prev")}
    for t in late.terms:
        assert (r_prev in t.factors) == (not t.dominant)
    update = {t.name: t for t in gru.terms}["z"]
    assert {t.name: t for t in late.terms}["z"].gate_count == update.gate_count + 1


def test_torch_gru_swaps_the_roles_of_z():
    d = symgrad.derive("gru-torch")
    assert d.dominant.expr == S("z")
    n_term = {t.name: t for t in d.terms}["n"]
    assert n_term.expr.has(S("b_hn"))  # the reset after the matmul brings in b_hn


def test_rnn_terms():
    (t,) = symgrad.derive("rnn").terms
    assert same(t.expr, (1 - S("h") ** 2) * S("U")) and t.dominant and t.gate_count == 1
    (t,) = symgrad.derive("rnn-relu").terms
    assert t.expr == sympy.Heaviside(S("h"), 0) * S("U") and t.gate_count == 0


# ---------------------------------------------------------------- the self-check can fail


def _with_wrong_term(d: Derivation, k: int, wrong) -> Derivation:
    terms = list(d.terms)
    t = terms[k]
    terms[k] = Term(t.via, t.coefficient, t.path, (wrong,), wrong, t.gate_count, t.dominant)
    return Derivation(
        d.cell,
        d.target,
        d.source,
        d.carry,
        d.links,
        d.steps,
        tuple(terms),
        d.ranges,
        Check("none", False, ""),
    )


@pytest.mark.parametrize("name", ["lstm", "gru", "gru-torch"])
def test_check_catches_a_term_off_by_a_thousandth(name):
    d = symgrad.derive(name)
    wrong = _with_wrong_term(d, 1, d.terms[1].expr * sympy.Rational(1001, 1000))
    check = self_check(wrong)
    assert not check.passed
    assert check.method == "numeric" and check.max_error > 1e-6


def test_check_catches_a_forgotten_factor():
    d = symgrad.derive("lstm")  # drop o_{t-1}: the article's convention forgotten
    wrong = _with_wrong_term(d, 1, d.terms[1].expr.subs(S("o_prev"), 1))
    assert not self_check(wrong).passed


def test_numeric_check_catches_a_wrong_relu_term():
    d = symgrad.derive("rnn-relu")
    wrong = _with_wrong_term(d, 0, S("U"))  # forgets the indicator
    check = self_check(wrong)
    assert check.method == "numeric" and not check.passed


# ---------------------------------------------------------------- API


def test_wrt_errors_name_the_choices():
    with pytest.raises(ValueError, match="Valid choices: c_prev, h_prev, state"):
        symgrad.derive("lstm", wrt="x")
    with pytest.raises(ValueError, match="Valid targets: f, i, o, c_hat, c, h"):
        symgrad.derive("lstm", of="q")
    with pytest.raises(symgrad.CellError, match="Valid cells: rnn, rnn-relu, lstm"):
        symgrad.derive("lstmm")


def test_other_source_and_target():
    d = symgrad.derive("lstm", wrt="h_prev", of="h")
    assert d.carry == {}  # c_{t-1} is not computed from h_{t-1}: held fixed
    assert d.check.passed and {t.name for t in d.terms} == {"o", "c"}


def test_cells_lists_the_builtins():
    assert tuple(c.name for c in symgrad.builtin_cells()) == BUILTIN


def test_value_ranges_prove_the_gru_state_bounded_and_the_lstm_memory_not():
    gru = {s.name: r for s, r in value_ranges(get_cell("gru")).items()}
    lstm = {s.name: r for s, r in value_ranges(get_cell("lstm")).items()}
    assert gru["h"] == (-1.0, 1.0)
    assert lstm["c"] == (float("-inf"), float("inf")) and lstm["h"] == (-1.0, 1.0)
    assert lstm["f"] == (0.0, 1.0) and lstm["c_hat"] == (-1.0, 1.0)


def test_repr_latex_renders_the_whole_derivation():
    text = symgrad.derive("gru")._repr_latex_()
    assert r"\frac{\partial h_t}{\partial h_{t-1}}" in text and "\\begin{aligned}" in text
    assert r"\left(1 - \hat{h}_t^{2}\right)" in text and "dominant, 1 gate" in text
    assert "align*" not in text and "\\paragraph" not in text


def test_python_keywords_are_not_names():
    with pytest.raises(symgrad.CellError, match="'lambda' is reserved"):
        symgrad.make_cell(
            "k", "", ["x"], ["lambda"], ["h"], [("h", None, "tanh(x)", None)], ("h", "h_prev")
        )


def test_sampling_describes_what_it_draws():
    from symgrad.sampling import describe

    assert "c_{t-1} ~ N(0,1); h_{t-1} ~ U(-1,1)" in plain(
        describe("normal", None, get_cell("lstm"))
    )
    assert "h_{t-1} ~ |N(0,1)|" in plain(describe("normal", None, get_cell("rnn-relu")))
    assert "c_{t-1}" not in describe("normal", None, get_cell("gru"))


def test_a_name_listed_twice_is_refused():
    with pytest.raises(symgrad.CellError, match="parameters: 'U' is listed twice"):
        symgrad.make_cell(
            "k",
            "",
            ["x"],
            ["U", "U"],
            ["h"],
            [("h", None, "tanh(U*h_prev)", None)],
            ("h", "h_prev"),
        )


# ---------------------------------------------------------------- parameters: the explicit part


@pytest.mark.parametrize(
    ("name", "param"),
    [(n, p) for n in BUILTIN for p in get_cell(n).params if p.startswith(("U", "b"))],
)
def test_parameter_derivative_is_sympys_partial_of_the_raw_target(name, param):
    # The explicit part of dh_t/dtheta: every previous-step value held fixed, so
    # SymPy's diff of the composed target (sigma through exp) with no convention.
    d = symgrad.derive(name, wrt=param)
    assert d.check.passed and d.dominant is None
    cell = d.cell
    raw = compose(cell, {}, cell.equation(d.target).symbol)
    reference = sympy.diff(as_sympy(raw.rewrite(sympy.exp)), S(param))
    claimed = as_sympy(compose(cell, {}, d.total))
    names = sorted(reference.free_symbols | claimed.free_symbols, key=str)
    point = {
        sym: sympy.Rational(k % 5 - 2, 3) + sympy.Rational(1, 7) for k, sym in enumerate(names)
    }
    assert abs((claimed - reference).evalf(30, subs=point)) < DIGITS30


def test_parameter_derivative_hand_computed():
    # rnn: h = tanh(W x + U h_prev + b), so dh/dU = (1 - h^2) h_prev, one term, one gate.
    d = symgrad.derive("rnn", wrt="U")
    ((term,),) = [d.terms]
    assert same(term.expr, (1 - S("h") ** 2) * S("h_prev")) and term.gate_count == 1
    # lstm: c = f c_prev + i c_hat and only f reads U_f: dc/dU_f = c_prev f (1 - f) h_prev.
    d = symgrad.derive("lstm", wrt="U_f")
    assert [t.via for t in d.terms] == ["f"]
    assert same(d.total, S("c_prev") * S("f") * (1 - S("f")) * S("h_prev"))
    # A parameter the target does not read within one step: no term at all.
    assert symgrad.derive("lstm", wrt="W_o").terms == ()
