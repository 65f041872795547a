"""`symgrad bound`: certified enclosures against independent oracles.

The oracles below are the article's formulas typed by hand and evaluated with
mpmath at 30 digits: an independent route to the same quantities that the
bounds build from the engine. Results are computed once per process
(``result``), so the properties sample many points against one certificate.
"""

import doctest
import json
import math
import re
from fractions import Fraction
from functools import lru_cache, partial
from pathlib import Path

import mpmath
import pytest
import sympy
from flint import arb, ctx
from hypothesis import given
from hypothesis import strategies as st
from strategies import reals

from symgrad.bounds import BOUNDS, BoundError, certify_below, check_params, compute_bound
from symgrad.cells import get_cell
from symgrad.certify import (
    PREC,
    CertificateError,
    IntervalFunction,
    Supremum,
    ball,
    decide,
    make_tail_lemma,
)
from symgrad.expr import FUNCTIONS, parse_equation
from symgrad.primitives import sigmoid, tanh
from symgrad.ranges import value_ranges
from symgrad.report.bounds import format_catalog, format_result
from symgrad.suprema import ClosedForm, Domain, _closed_form_check, _split, scipy_check
from symgrad.text import plain
from tests.latex import compile_latex, needs_pdflatex
from tests.tolerances import (
    ARGMAX_ABS,
    BOUND_WIDTH,
    DIGITS30,
    FEW_OPS,
    FLOAT64_ENDS_REL,
    HAND_FORMULA_ABS,
    MPMATH30_RADIUS_REL,
    RADIUS_FLOOR,
    SCIPY_OPTIMUM_REL,
)

mpmath.mp.dps = 30

#: S(0) = sup_c |c sech^2 c| to 16 digits, computed by hand: c* = 0.77170231920910422
#: solves 2c tanh c = 1 (mpmath.findroot, 30 digits) and S(0) = c* - 1/(4c*).
S0 = 0.4477432046943028
C_STAR = 0.7717023192091042


@lru_cache
def result(name, **params):
    return compute_bound(name, **params)


# ---------------------------------------------------------------- hand-written oracles


def _sig(u):
    return 1 / (1 + mpmath.exp(-u))


def _sech2(u):
    return 1 / mpmath.cosh(u) ** 2


def _sigmoid_slope_at(u):
    # sigma(u)(1 - sigma(u)) = e^{-|u|}/(1 + e^{-|u|})^2: no cancellation on either tail.
    e = mpmath.exp(-abs(u))
    return e / (1 + e) ** 2


def _lstm_constant_at(c):
    return abs(c * _sech2(c))


def sigmoid_slope(draw):
    return _sigmoid_slope_at(draw(reals(30)))


def sigmoid_saturation(draw):
    u = draw(reals(30))
    return abs(u) * _sigmoid_slope_at(u)


def tanh_slope(draw):
    return _sech2(draw(reals(30)))


def lstm_saturation(draw):
    return _lstm_constant_at(draw(reals(30)))


def _lstm_gates(draw):
    # The cell as SPEC section 1 writes it, h_{t-1} = o_{t-1} tanh c_{t-1}.
    x, c_prev, o_prev = draw(reals()), draw(reals(10)), draw(st.floats(0, 1))
    h_prev = o_prev * mpmath.tanh(c_prev)
    gate = {g: _sig(draw(reals()) * x + draw(reals()) * h_prev + draw(reals())) for g in "fi"}
    c_hat = mpmath.tanh(draw(reals()) * x + draw(reals()) * h_prev + draw(reals()))
    return gate["f"], gate["i"], c_hat, o_prev, c_prev


def lstm_forget_term(draw):
    f, _, _, o_prev, c_prev = _lstm_gates(draw)
    return abs(f * (1 - f) * o_prev * _sech2(c_prev) * c_prev)


def lstm_input_term(draw):
    _, i, c_hat, o_prev, c_prev = _lstm_gates(draw)
    return abs(i * (1 - i) * o_prev * _sech2(c_prev) * c_hat)


def lstm_candidate_term(draw):
    _, i, c_hat, o_prev, c_prev = _lstm_gates(draw)
    return abs(i * (1 - c_hat**2) * o_prev * _sech2(c_prev))


def _gru(draw, u_r):
    x, h_prev = draw(reals()), draw(st.floats(-1, 1))
    z = _sig(draw(reals()) * x + draw(reals()) * h_prev + draw(reals()))
    r = _sig(draw(reals()) * x + u_r * h_prev + draw(reals()))
    h_hat = mpmath.tanh(draw(reals()) * x + draw(reals()) * r * h_prev + draw(reals()))
    return z, r, h_hat, h_prev


def gru_update_term(draw):
    z, _, h_hat, h_prev = _gru(draw, draw(reals()))
    return abs(z * (1 - z) * (h_hat - h_prev))


def gru_candidate_term(draw, U_r=2):
    z, r, h_hat, h_prev = _gru(draw, U_r)
    return abs(z * (1 - h_hat**2) * r * (1 + (1 - r) * h_prev * U_r))


def rnn_tanh(draw, a=0, h=1):
    U = draw(reals(50))
    return abs(_sech2(a + U * h) * U)


def rnn_relu(draw, L=10):
    U, a, h_prev = draw(st.floats(-L, L)), draw(reals()), draw(reals())
    return abs(U) if a + U * h_prev > 0 else 0


def clipping(draw):
    U, a, h_prev = draw(st.floats(-1, 1)), draw(reals()), draw(reals())
    relu = abs(U) if a + U * h_prev > 0 else 0
    return max(abs(_sech2(a + U * h_prev) * U), relu)


ORACLES = {
    "sigmoid-slope": sigmoid_slope,
    "sigmoid-saturation": sigmoid_saturation,
    "tanh-slope": tanh_slope,
    "lstm-saturation": lstm_saturation,
    "rnn-tanh": rnn_tanh,
    "rnn-relu": rnn_relu,
    "clipping": clipping,
    "lstm-forget-term": lstm_forget_term,
    "lstm-input-term": lstm_input_term,
    "lstm-candidate-term": lstm_candidate_term,
    "gru-update-term": gru_update_term,
    "gru-candidate-term": gru_candidate_term,
}


def holding(x) -> arb:
    """A ball that holds the exact value of a 30-digit mpmath result (its error is
    below 1e-28 relative; the radius allows 1e-27)."""
    return arb(mpmath.nstr(x, 30), mpmath.nstr(abs(x) * MPMATH30_RADIUS_REL + RADIUS_FLOOR, 5))


def first_above(hi: float, values):
    """The first value above ``hi`` (None if none): the checker of the properties."""
    return next((v for v in values if v > hi), None)


#: Bounds that are ranges (infimum and supremum of a signed quantity), with
#: their own oracle: tests/test_verdicts.py.
RANGES = ("gru-reset-factor",)


def test_every_bound_has_an_oracle():
    assert set(ORACLES) | set(RANGES) == set(BOUNDS)


# ---------------------------------------------------------------- certificate vs samples


@pytest.mark.parametrize("name", list(ORACLES))
@given(data=st.data())
def test_no_sampled_point_exceeds_the_certified_hi(name, data):
    hi = result(name).interval[1]
    values = [ORACLES[name](data.draw) for _ in range(8)]
    assert first_above(hi, values) is None


def test_the_sampling_check_catches_a_planted_low_hi():
    # A certificate 0.1% too low must be caught by the same checker on a grid.
    hi = result("lstm-saturation").interval[1] * 0.999
    grid = [abs(c * _sech2(c)) for c in mpmath.linspace(0, 2, 2001)]
    assert first_above(hi, grid) is not None


@pytest.mark.parametrize("name", list(BOUNDS))
def test_scipy_optimum_lies_in_the_certified_interval(name):  # ranges: their supremum
    r = result(name)
    lo, hi = r.interval
    assert lo <= hi
    slack = SCIPY_OPTIMUM_REL * max(1.0, abs(r.value))
    assert lo - slack <= r.value <= hi + slack
    assert r.width <= BOUND_WIDTH or r.width <= FLOAT64_ENDS_REL * abs(hi)
    assert {c.kind: c.verdict for c in r.checks}["scipy"] == "agrees"


def test_planted_scipy_stall_and_wrong_closed_form_are_caught():
    # A single bounded local search on the flat tail of sech^2 returns ~0.
    assert scipy_check(0.0, 0.4477, 0.4478).verdict == "disagrees"
    with ctx.workprec(PREC):
        bound = (ball(Fraction(4477, 10000)), ball(Fraction(4478, 10000)))
        wrong = ClosedForm("0.45", partial(ball, Fraction(45, 100)))
        right = ClosedForm("S(0)", partial(ball, Fraction(44774, 100000)))
        assert _closed_form_check(wrong, bound, {})[1].verdict == "disagrees"
        assert _closed_form_check(right, bound, {})[1].verdict == "agrees"


def test_widths_shrink_as_the_requested_precision_grows():
    widths = [
        compute_bound("lstm-saturation", tolerance=t).width for t in (1e-4, 1e-7, 1e-10, 1e-13)
    ]
    assert widths == sorted(widths, reverse=True) and len(set(widths)) == 4
    assert all(w <= t for w, t in zip(widths, (1e-4, 1e-7, 1e-10, 1e-13), strict=True))
    intervals = [compute_bound("lstm-saturation", tolerance=t).interval for t in (1e-4, 1e-10)]
    assert intervals[0][0] <= intervals[1][0] <= S0 <= intervals[1][1] <= intervals[0][1]


# ---------------------------------------------------------------- claims


def test_lstm_saturation_proves_the_articles_045():
    r = result("lstm-saturation")
    assert r.claim == "sup < 0.45" and r.proved is True and r.status == "pass"
    lo, hi = r.interval
    assert lo <= S0 <= hi < 0.45
    assert r.argmax["c_prev"] == pytest.approx(C_STAR, abs=ARGMAX_ABS)


def test_the_certificate_refuses_a_false_bound():
    r = certify_below("lstm-saturation", Fraction(44, 100))
    assert r.proved is False and r.status == "refuted"  # a result, not a failure
    (claim,) = [c for c in r.checks if c.kind == "claim"]
    assert claim.verdict == "refuted" and plain(claim.detail).startswith("lo = 0.4477")


@pytest.mark.parametrize(
    ("name", "params", "true_sup"),
    [
        ("lstm-saturation", {}, S0),
        ("sigmoid-slope", {}, 0.25),
        ("rnn-tanh", {"a": 1, "h": Fraction(1, 2)}, 2 * 1.198451904311985),
        ("gru-candidate-term", {"U_r": 3}, 16 / 12),
    ],
)
def test_certify_below_decides_both_ways(name, params, true_sup):
    assert certify_below(name, true_sup * (1 - 1e-6), **params).checks[0].verdict == "refuted"
    assert certify_below(name, true_sup * (1 + 1e-6), **params).proved is True


def test_a_bound_inside_the_enclosure_is_refined_then_decided():
    # 1e-11 above S(0): undecided at width 1e-9, decided after refinement.
    r = certify_below("lstm-saturation", S0 + 1e-11)
    assert r.proved is True and r.width < 1e-11


def test_minor_term_claims_match_the_spec_caveats():
    verdicts = {
        name: result(name).proved
        for name in (
            "lstm-forget-term",
            "lstm-input-term",
            "lstm-candidate-term",
            "gru-update-term",
            "gru-candidate-term",
        )
    }
    # Uniformly compressed below |U_g|, except the U_c term (it reaches |U_c|) and the
    # GRU's U_h term, whose reset factor exceeds 1 for |U_r| > 1.
    assert verdicts == {
        "lstm-forget-term": True,
        "lstm-input-term": True,
        "lstm-candidate-term": False,
        "gru-update-term": True,
        "gru-candidate-term": False,
    }
    assert result("lstm-candidate-term").interval == (1.0, 1.0)


def test_clipping_proves_sup_at_most_one_exactly():
    r = result("clipping")
    assert r.interval == (1.0, 1.0) and r.proved is True


def test_rnn_relu_grows_with_l():
    for L in (1, 10, 1000):
        r = result("rnn-relu", L=L)
        assert r.interval == (L, L) and r.proved is True


@given(a=reals(20), h=st.sampled_from([Fraction(1), Fraction(-1, 2), Fraction(1, 10)]))
def test_rnn_tanh_both_bounds_on_s_hold(a, h):
    r = compute_bound("rnn-tanh", a=a, h=h)
    assert r.proved is True and r.status == "pass"
    loose, sharp = (c for c in r.checks if c.kind == "claim")
    # Decided by the enclosures where the sides are 1e-9 apart or more (the gap is
    # ~0.42|a|); closer, by the lemma proved for every a, which the verdict names.
    assert plain(sharp.detail).startswith("hi = ")
    # Near a = 0 the gap |a| + S(0) - S(a) falls below the working width, and the
    # verdict may come from the lemma (SymPy checks its steps) instead of the enclosure.
    routes = ("hi = ",) if abs(a) >= 1e-6 else ("hi = ", "symbolically, for every value")
    assert plain(loose.detail).startswith(routes)
    # S(a)/|h| against the hand oracle at the reported maximiser and its neighbours.
    lo, hi = r.interval
    u = r.argmax["U"]
    for du in (0, 1e-3, -1e-3):
        assert abs(_sech2(a + (u + du) * float(h)) * (u + du)) <= hi
    assert lo <= (abs(a) + float(mpmath.sqrt(1 + a * a))) / 2 / abs(float(h)) + HAND_FORMULA_ABS


# ---------------------------------------------------------------- closed forms


def test_closed_forms_agree():
    c_star = mpmath.findroot(lambda c: 2 * c * mpmath.tanh(c) - 1, 0.77)
    s0 = c_star - 1 / (4 * c_star)
    assert float(c_star) == pytest.approx(C_STAR, abs=FEW_OPS)
    assert float(s0) == pytest.approx(S0, abs=FEW_OPS)
    expected = {
        "sigmoid-slope": 0.25,
        "tanh-slope": 1.0,
        "lstm-saturation": float(s0),
        "sigmoid-saturation": float(s0) / 2,  # half the LSTM constant ...
        "lstm-forget-term": float(s0) / 4,
        "lstm-input-term": 0.25,
        "lstm-candidate-term": 1.0,
        "gru-update-term": 0.5,
    }
    for name, value in expected.items():
        r = result(name)
        lo, hi = r.interval
        assert lo <= value <= hi, name
        assert r.closed_form["agrees"], name
    # ... at twice its maximiser.
    assert result("sigmoid-saturation").argmax["u"] == pytest.approx(2 * C_STAR, abs=ARGMAX_ABS)


@pytest.mark.parametrize("u_r", [0, Fraction(1, 2), 1, 2, -5])
def test_gru_candidate_term_is_a_function_of_u_r(u_r):
    k = abs(float(u_r))
    # sup over r in [0, 1] of r (1 + (1 - r) k), by hand: 1 for k <= 1, (1 + k)^2/(4k) above.
    expected = 1.0 if k <= 1 else (1 + k) ** 2 / (4 * k)
    lo, hi = result("gru-candidate-term", U_r=u_r).interval
    assert lo <= expected <= hi


# ---------------------------------------------------------------- the printed quantity

#: The LaTeX the quantities are printed in, rewritten (in this order, after the
#: names) into the syntax of symgrad's safe parser: a reading of the printed
#: text, independent of the printers that made some of it. A prime or a
#: partial derivative becomes a placeholder name, replaced after parsing.
TEX_SYNTAX = (
    (r"\\sigma'\((\w+)\)", r"prime_sigmoid_\1"),
    (r"\\tanh'\((\w+)\)", r"prime_tanh_\1"),
    (r"\\frac\{\\partial (\w+)\}\{\\partial (\w+)\}", r"partial_\1_wrt_\2"),
    (r"\\sigma", "sigmoid"),
    (r"\\tanh\^\{?2\}?\s*(\w+)", r"tanh(\1)**2"),
    (r"\\tanh\^\{?2\}?(\([^()]*\))", r"tanh\1**2"),
    (r"\^\{?(\d+)\}?", r"**\1"),
    (r"\|([^|]*)\|", r"abs(\1)"),
    (r"(?<=[\w)])\s+(?=[\w(])", "*"),  # juxtaposition is a product
)


def read_quantity(tex: str, latex_names: dict):
    r"""``\sup_{sub} body`` as (sub, SymPy expression of the body): ``latex_names``
    maps LaTeX names to ASCII; the right side of a ``=`` (a definition) is left out."""
    match = re.fullmatch(r"\\sup(?:_(\w|\{(?:[^{}]|\{[^{}]*\})*\}))?\s+(.*)", tex)
    sub, body = match.group(1) or "", match.group(2).split(" = ")[0]
    body = re.sub(r"\\left|\\right|\\,", "", body)
    names = sorted(latex_names, key=len, reverse=True)
    by_name = "|".join(re.escape(n) for n in names)
    ascii_body = re.sub(
        rf"(?<![A-Za-z\\])(?:{by_name})(?![A-Za-z_{{])", lambda m: latex_names[m[0]], body
    )
    for pattern, replacement in TEX_SYNTAX:
        ascii_body = re.sub(pattern, replacement, ascii_body)
    symbols = {n: sympy.Symbol(n, real=True) for n in re.findall(r"[A-Za-z_]\w*", ascii_body)}
    symbols = {n: v for n, v in symbols.items() if n not in FUNCTIONS}
    expr = parse_equation(ascii_body, symbols)
    for name, symbol in symbols.items():
        if name.startswith("prime_"):
            _, function, x = name.split("_", 2)
            x = sympy.Symbol(x, real=True)
            expr = expr.xreplace({symbol: sympy.diff(FUNCTIONS[function](x), x)})
    return sub.strip("{}"), expr


def _exact(x) -> sympy.Rational:
    x = Fraction(x)
    return sympy.Rational(x.numerator, x.denominator)


def _raw_point(part, point):
    """A point of the cell's inputs, weights and previous state at which h_t and
    U take the values of ``point`` (W x_t = 0, h_{t-1} = 1, b = pre-activation - U)."""
    U = point["U"]
    # tanh: the pre-activation atanh(h_t); ReLU: 1 or -1, as [h_t > 0] is 1 or 0.
    pre = sympy.atanh(point["h"]) if "h" in point else 2 * point["h_active"] - 1
    return {"W": 0, "x": 0, "h_prev": 1, "U": U, "b": pre - U}


def stated_point(name, params, part, point) -> tuple[dict, dict]:
    """The variables the quantity is stated in, at a point of the part (exact), and
    the placeholders' values: rnn-tanh's U from v = a + U h (its source), clipping's
    raw inputs for the partial derivative of the part's cell (tanh: rnn, ReLU: rnn-relu)."""
    if name == "rnn-tanh":
        a, h = _exact(params["a"]), _exact(params["h"])
        return {"a": a, "h_prev": h, "U": (point["v"] - a) / h}, {}
    if name == "clipping":
        cell = get_cell({"tanh": "rnn", "ReLU": "rnn-relu"}[part.label])
        dh = sympy.diff(cell.equation("h").rhs, cell.symbol("h_prev"))
        return _raw_point(part, point), {"partial_h_wrt_h_prev": dh}
    return {**{k: _exact(v) for k, v in params.items()}, **point}, {}


def _draw(data, domain):
    if domain.lo == 0 and domain.hi == 1 and not domain.open:  # an indicator: 0 or 1
        return _exact(data.draw(st.sampled_from([0, 1])))
    lo = -5.0 if domain.lo is None else float(domain.lo)
    hi = 5.0 if domain.hi is None else float(domain.hi)
    return _exact(data.draw(st.floats(lo, hi, exclude_min=domain.open, exclude_max=domain.open)))


QUANTITY_CASES = [
    *((name, ()) for name in ORACLES),
    ("rnn-tanh", (("a", Fraction(1, 2)), ("h", Fraction(-1, 2)))),
    ("rnn-relu", (("L", 3),)),
    ("gru-candidate-term", (("U_r", Fraction(-5, 2)),)),
]


@lru_cache
def quantity(name, params: tuple):
    """The bound's parameters, its problem, and per part the printed quantity read back."""
    values = check_params(name, dict(params))
    problem = BOUNDS[name].build(values)
    readings = []
    for part in problem.parts:
        latex = {**problem.cell.latex, **part.names}
        readings.append(read_quantity(problem.quantity_latex, {t: n for n, t in latex.items()}))
    return values, problem, readings


@pytest.mark.parametrize(("name", "params"), QUANTITY_CASES)
def test_the_printed_quantity_ranges_where_the_parts_do(name, params):
    values, problem, readings = quantity(name, params)
    for part, (sub, _) in zip(problem.parts, readings, strict=True):
        clipped = re.fullmatch(r"\|U\| \\le (\w+)", sub)
        if clipped:  # |U| <= L or a number
            radius = values.get(clipped[1]) or Fraction(clipped[1])
            U = sympy.Symbol("U", real=True)
            assert part.domains[U] == Domain(-radius, radius, open=False)
        elif sub:  # \sup_u: over R
            assert all(d == Domain(None, None) for d in part.domains.values())
        else:  # \sup alone: over every value the cell's gates and states can take
            ranges = value_ranges(problem.cell)
            assert {s: (d.lo, d.hi) for s, d in part.domains.items()} == {
                s: tuple(None if math.isinf(x) else Fraction(x) for x in ranges[s])
                for s in part.domains
            }


@pytest.mark.parametrize(("name", "params"), QUANTITY_CASES)
@given(data=st.data())
def test_the_printed_quantity_is_the_one_maximised(name, params, data):
    values, problem, readings = quantity(name, params)
    for part, (_, read) in zip(problem.parts, readings, strict=True):
        point = {s.name: _draw(data, d) for s, d in part.domains.items()}
        stated, placeholders = stated_point(name, values, part, point)
        read = read.xreplace({sympy.Symbol(n, real=True): e for n, e in placeholders.items()})
        read = read.xreplace({sympy.Symbol(n, real=True): v for n, v in stated.items()})
        expected = _exact(part.scale) * part.expr.xreplace({s: point[s.name] for s in part.domains})
        got, want = abs(read).evalf(30), abs(expected).evalf(30)
        assert read.free_symbols == set(), read
        assert abs(got - want) <= DIGITS30 * max(1, want), (point, got, want)


# ---------------------------------------------------------------- the machinery


def _cases():
    """(name, expression in x and y, the same by hand with mpmath)."""
    x, y = sympy.symbols("x y", real=True)
    return (
        x,
        y,
        {
            "x**2": (x**2, lambda px, py: px**2),
            "x**3": (x**3, lambda px, py: px**3),
            "x*y": (x * y, lambda px, py: px * py),
            "abs(x - y)": (sympy.Abs(x - y), lambda px, py: abs(px - py)),
            "sigmoid(x)": (sigmoid(x), lambda px, py: _sig(px)),
            "tanh(x)**2": (tanh(x) ** 2, lambda px, py: mpmath.tanh(px) ** 2),
            "exp(x)*y": (sympy.exp(x) * y, lambda px, py: mpmath.exp(px) * py),
            "sqrt(x**2 + 1)": (sympy.sqrt(x**2 + 1), lambda px, py: mpmath.sqrt(px**2 + 1)),
        },
    )


@pytest.mark.parametrize("name", list(_cases()[2]))
@given(a=reals(), b=reals(), c=reals(), d=reals(), s=st.floats(0, 1), t=st.floats(0, 1))
def test_interval_functions_enclose_the_range(name, a, b, c, d, s, t):
    x, y, cases = _cases()
    expr, by_hand = cases[name]
    (a, b), (c, d) = sorted((a, b)), sorted((c, d))
    with ctx.workprec(PREC):
        lo, hi = IntervalFunction(expr, (x, y))([(arb(a), arb(b)), (arb(c), arb(d))])
        px = Fraction(a) + Fraction(s) * (Fraction(b) - Fraction(a))
        py = Fraction(c) + Fraction(t) * (Fraction(d) - Fraction(c))
        exact = by_hand(
            mpmath.mpf(px.numerator) / px.denominator, mpmath.mpf(py.numerator) / py.denominator
        )
        value = holding(exact)
        assert lo <= hi
        assert not (value < lo or value > hi), (lo, value, hi)


def test_even_powers_of_intervals_around_zero_start_at_zero():
    x = sympy.Symbol("x", real=True)
    with ctx.workprec(PREC):
        lo, hi = IntervalFunction(1 - x**2, (x,))([(arb(-1), arb(1))])
    assert lo == 0 and hi == 1  # exact: 1 - [0, 1], not a ball around it


def test_decide():
    with ctx.workprec(PREC):
        one, two = (arb(1), arb(1)), (arb(2), arb(2))
        assert decide(one, "<", two) == "proved"
        assert decide(two, "<", one) == "refuted"
        assert decide(one, "<=", one) == "proved"
        assert decide(one, "<", one) == "refuted"
        assert decide((arb(1), arb(3)), "<", two) == "undecided"
        assert decide(two, ">=", one) == "proved"
        with pytest.raises(ValueError, match="Valid"):
            decide(one, "!=", two)


TAIL_ORACLES = {
    "sigmoid-slope": _sigmoid_slope_at,
    "sigmoid-saturation": lambda u: abs(u) * _sigmoid_slope_at(u),
    "tanh-slope": _sech2,
    "rnn-tanh": _lstm_constant_at,  # a = 0: S(0)'s function |v| sech^2 v
}


@pytest.mark.parametrize("name", list(TAIL_ORACLES))
@given(t=st.floats(0, 200), sign=st.sampled_from([-1, 1]))
def test_tail_lemmas_hold_beyond_their_cutoff(name, t, sign):
    (expr, (v,)) = _split(BOUNDS[name].build(check_params(name, {})).parts[0].expr)[0]
    with ctx.workprec(PREC):
        lemma = make_tail_lemma(expr, v, ball(Fraction(1, 10)))
        x = sign * (lemma.cutoff + t)
        envelope = lemma.envelope(ball(Fraction(abs(x))))
        assert not envelope < holding(TAIL_ORACLES[name](mpmath.mpf(x)))


def test_no_tail_lemma_for_what_does_not_decay():
    u = sympy.Symbol("u", real=True)
    with ctx.workprec(PREC), pytest.raises(CertificateError, match="does not decay"):
        make_tail_lemma(u * tanh(u), u, arb(1))
    w = sympy.Symbol("w", real=True)
    with pytest.raises(CertificateError, match="one variable"):
        Supremum(u * w * tanh(u), (u, w), {u: (None, None), w: (0, 1)})


# ---------------------------------------------------------------- parameters and the CLI


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["bound", "nope"], "Valid bounds: sigmoid-slope, "),
        (["bound", "rnn-tanh", "--param", "h=0"], "h = 0 is not allowed: .*blows up"),
        (["bound", "rnn-tanh", "--param", "x=1"], "valid parameters: a, h"),
        (["bound", "lstm-saturation", "--param", "a=1"], "takes no parameters"),
        (["bound", "rnn-tanh", "--param", "a=__import__('os')"], "is not a number"),
        (["bound", "rnn-tanh", "--param", "a=1e99"], "out of range: -1000 <= a <= 1000"),
        (["bound", "rnn-relu", "--param", "L=0"], "L = 0 is not allowed"),
        (["bound", "rnn-tanh", "--param", "a"], "expects NAME=VALUE"),
        (["bound", "rnn-tanh", "--param", "a=1,a=2"], "gives a twice"),
        (["bound", "lstm-saturation", "--tolerance", "0"], "tolerance 0 is out of range"),
        (["bound", "lstm-saturation", "--below", "1/0"], "is not a number"),
        (["bound", "lstm-saturation", "--format", "pdf"], "invalid choice"),
    ],
)
def test_bad_input_exits_2_with_one_line(run, argv, message):
    code, out, err = run(*argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and re.search(message, err), err


def test_check_params_rejects_non_numbers():
    for value in (True, "1", float("nan"), None):
        with pytest.raises(BoundError, match=r"number|finite"):
            check_params("rnn-tanh", {"a": value})
    assert check_params("rnn-tanh", {"h": 0.5}) == {"a": 0, "h": Fraction(1, 2)}


def test_cli_prints_the_proof_of_045(run):
    code, out, _ = run("bound", "lstm-saturation")
    assert code == 0
    assert re.search(r"claim +sup < 0\.45 .*PROVED, hi = 0\.44774320\d+ < 0\.45", out)
    assert "tail lemma: for |c_{t-1}| ≥ 4" in out


def test_cli_refutation_is_a_result_exit_0(run):
    code, out, _ = run("bound", "lstm-saturation", "--below", "0.44")
    assert (
        code == 0 and "REFUTED, lo = 0.4477" in out and out.rstrip().endswith("every check agrees")
    )


def test_json_fields(run):
    code, out, _ = run("bound", "rnn-tanh", "--param", "a=1/2", "--format", "json")
    data = json.loads(out)
    assert code == 0
    lo, hi = data["interval"]
    assert lo <= data["value"] <= hi and data["width"] >= hi - lo
    assert set(data["argmax"]) == {"U", "v"} and data["params"] == {"a": 0.5, "h": 1.0}
    assert data["proved"] is True and data["claim"].startswith("S(a) ≤ |a| + S(0)")
    # No wall-clock time: seeded JSON is the same on every run.
    assert data["subdivisions"] > 0 and "seconds" not in data
    # S(1/2) by hand: the maximiser solves 2(v - 1/2) tanh v = 1 on v < 1/2.
    v = mpmath.findroot(lambda v: 2 * (v - 0.5) * mpmath.tanh(v) - 1, -0.5)
    assert lo <= abs((v - 0.5) * _sech2(v)) <= hi


def test_catalog_lists_every_bound(run):
    code, out, _ = run("bound")
    assert code == 0 and all(name in out for name in BOUNDS)
    data = json.loads(format_catalog("json"))
    assert [b["name"] for b in data["bounds"]] == list(BOUNDS)
    assert format_catalog("markdown").count("\n") == len(BOUNDS) + 2


def test_markdown_table_has_every_row():
    text = format_result(result("lstm-forget-term"), "markdown")
    for row in ("SciPy optimum", "certified", "width", "claim", "closed form"):
        assert f"| {row} |" in text
    assert r"$\lvert o_{t-1} \rvert$" in text


@needs_pdflatex
def test_latex_output_compiles(tmp_path):
    from symgrad.render import latex_document

    body = "".join(format_result(result(name), "latex") for name in BOUNDS)
    assert "certified inf" in body  # the range's other end
    body += format_catalog("latex")
    compile_latex(tmp_path, "bounds.tex", latex_document(body))


def test_readme_bound_commands_run(run, request):
    """Every `$ symgrad bound ...` line of the README's section runs, with the exit
    code its comment announces (exit 1 where the comment says so, else 0: a
    refutation is a result)."""
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    section = readme.split("## Bounds", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"^\$ symgrad (bound[^#\n]*?)\s*(#.*)?$", section, re.M)
    assert len(commands) >= 5
    (example,) = re.findall(r"```python\n(.*?)```", section, re.S)
    test = doctest.DocTestParser().get_doctest(example, {}, "README", "README.md", 0)
    assert doctest.DocTestRunner().run(test).failed == 0
    # The plots last: without matplotlib (the [plot] extra) the test skips there.
    for line, comment in sorted(commands, key=lambda c: "--plot" in c[0]):
        if "--plot" in line:
            request.getfixturevalue("matplotlib")
        expected = 1 if "exit 1" in comment else 0
        assert run(*line.split()).code == expected, line


@pytest.mark.parametrize("h", ["1e-30", "1e-300"])
def test_a_supremum_past_float64_digits_is_enclosed_relatively_and_fast(h):
    # S(0)/|h| is ~4.5e29 at h = 1e-30: no 1e-9-wide enclosure exists in 128
    # bits, so the width is relative above 1 (it looped for minutes before).
    bound = compute_bound("rnn-tanh", h=Fraction(h), a=0)
    lo, hi = (Fraction(x) for x in bound.interval)
    s0 = mpmath.mpf(C_STAR) - 1 / (4 * mpmath.mpf(C_STAR))  # to the 16 digits of C_STAR
    exact = Fraction(str(s0)) / Fraction(h)
    assert bound.status == "pass"
    assert lo * (1 - Fraction(1, 10**15)) <= exact <= hi * (1 + Fraction(1, 10**15))
    assert hi - lo <= Fraction(1, 10**9) * hi
