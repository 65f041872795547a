"""Hypothesis properties: symbolic derivatives equal finite differences, the identities
of SPEC section 2 hold, saturated regimes stay finite, and the engine's
differentiator agrees with SymPy's.

Parametrised by ``cells.BUILTIN``: a new built-in cell is tested here with no
new line of code.
"""

from fractions import Fraction

import mpmath
import numpy as np
import pytest
import sympy
from hypothesis import assume, given
from hypothesis import strategies as st

from symgrad.cells import BUILTIN, get_cell
from symgrad.check import _derivations, _plan, compare_at_points
from symgrad.derivation import compose, derive, partial
from symgrad.numeric import sigmoid_pair, tanh_sech2
from symgrad.primitives import sigmoid, tanh
from symgrad.report.check import check_report
from tests.strategies import SATURATION, cell_point, reals
from tests.tolerances import DIGITS50, PRIMITIVE_REL, SIGMOID_PAIR_REL

_CACHE: dict = {}


def _everything(name):
    """The default derivative and the state Jacobian of a cell, and the names they read."""
    if name not in _CACHE:
        derivations, _ = _derivations(name, "all")
        names = sorted({n for d in derivations for n in _plan(d).names})
        _CACHE[name] = derivations, names
    return _CACHE[name]


# ---------------------------------------------------------------- symbolic = finite differences


@pytest.mark.parametrize("name", BUILTIN)
@given(data=st.data())
def test_every_term_and_jacobian_entry_equals_finite_differences(name, data):
    derivations, names = _everything(name)
    point = data.draw(cell_point(get_cell(name), names))
    report = compare_at_points(derivations, point)
    # On a relu kink the derivative is not defined (the checker leaves the point out).
    assume(all(c.points for c in report.comparisons))
    assert report.passed, check_report(report)


@pytest.mark.parametrize("name", BUILTIN)
@given(data=st.data())
def test_saturated_points_agree_with_finite_differences(name, data):
    # Biases up to 30: pre-activations up to |u| = 30 and beyond, where sigma(u)
    # is 1 - 1e-13 and 1 - tanh(u)^2 is 4e-26: the gate form must keep the digits.
    derivations, names = _everything(name)
    point = data.draw(cell_point(get_cell(name), names, bias_bound=SATURATION))
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        report = compare_at_points(derivations, point)
    assume(all(c.points for c in report.comparisons))
    assert report.passed, check_report(report)


@pytest.mark.parametrize("name", BUILTIN)
@given(data=st.data())
def test_far_beyond_saturation_nothing_overflows(name, data):
    # Pre-activations up to ~1e4, where the naive exp form overflows (e^710 = inf):
    # kernels and reference stay finite and still agree.
    derivations, names = _everything(name)
    point = data.draw(cell_point(get_cell(name), names, bound=50.0, bias_bound=1000.0))
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        for d in derivations:
            f = d.numeric()
            total, terms = f(**{n: point[n] for n in f.names})
            assert np.isfinite(total) and all(np.isfinite(t) for t in terms)
        report = compare_at_points(derivations, point)
    assume(all(c.points for c in report.comparisons))
    assert report.passed, check_report(report)


# ---------------------------------------------------------------- the identities of SPEC section 2

x = sympy.Symbol("x", real=True)


def test_identities_symbolically():
    # Proved in the exp form, which SymPy's simplify decides for rational functions of e^x.
    identities = {
        "tanh x = 2 sigma(2x) - 1": tanh(x) - (2 * sigmoid(2 * x) - 1),
        "sigma(x) = (tanh(x/2) + 1)/2": sigmoid(x) - (tanh(x / 2) + 1) / 2,
        "tanh' = 1 - tanh^2": sympy.diff(tanh(x).rewrite(sympy.exp), x)
        - (1 - tanh(x) ** 2).rewrite(sympy.exp),
        "sigma' = sigma (1 - sigma)": sympy.diff(sigmoid(x).rewrite(sympy.exp), x)
        - (sigmoid(x) * (1 - sigmoid(x))).rewrite(sympy.exp),
    }
    for name, difference in identities.items():
        assert sympy.simplify(difference.rewrite(sympy.exp)) == 0, name
    # The gate-form rules themselves: what the engine differentiates with.
    assert sympy.diff(tanh(x), x) == 1 - tanh(x) ** 2
    assert sympy.diff(sigmoid(x), x) == sigmoid(x) * (1 - sigmoid(x))


@given(reals(SATURATION))
def test_identities_at_random_points(value):
    mpmath.mp.dps = 50
    v = mpmath.mpf(value)
    s = 1 / (1 + mpmath.exp(-v))
    assert mpmath.almosteq(mpmath.tanh(v), 2 / (1 + mpmath.exp(-2 * v)) - 1, DIGITS50)
    assert mpmath.almosteq(s, (mpmath.tanh(v / 2) + 1) / 2, DIGITS50)
    assert mpmath.almosteq(mpmath.diff(mpmath.tanh, v), 1 - mpmath.tanh(v) ** 2, DIGITS50)
    assert mpmath.almosteq(
        mpmath.diff(lambda y: 1 / (1 + mpmath.exp(-y)), v), s * (1 - s), DIGITS50
    )
    # The same identities in float64, through the kernels' stable primitives.
    g, gc = sigmoid_pair(value)
    t, sech2 = tanh_sech2(value)
    assert abs(g - float(s)) <= SIGMOID_PAIR_REL * float(s)
    assert abs(gc - float(1 - s)) <= SIGMOID_PAIR_REL * float(1 - s)
    assert abs(t - float(mpmath.tanh(v))) <= PRIMITIVE_REL * abs(float(mpmath.tanh(v)))
    assert abs(sech2 - float(mpmath.sech(v) ** 2)) <= PRIMITIVE_REL * float(mpmath.sech(v) ** 2)


# ---------------------------------------------------------------- the engine's differentiator


@pytest.mark.parametrize("name", BUILTIN)
def test_partial_agrees_with_sympy_diff(name):
    cell = get_cell(name)
    for eq in cell.equations:
        for w in eq.rhs.free_symbols:
            assert sympy.expand(partial(eq.rhs, w) - sympy.diff(eq.rhs, w)) == 0, (eq.name, w)
    # And on the composed forward pass, many levels deep.
    for d in [derive(name)] + [e for row in derive(name, "state").entries for e in row]:
        raw = compose(cell, d.carry, cell.equation(d.target).symbol)
        s = cell.symbol(d.source)
        assert sympy.expand(partial(raw, s) - sympy.diff(raw, s)) == 0, (d.target, d.source)


@given(
    st.integers(-6, 6),
    st.integers(-192, 192).map(lambda n: Fraction(n, 64)),  # dyadic: exact balls
    st.integers(0, 128).map(lambda n: Fraction(n, 64)),
)
def test_ball_powers_enclose_every_power_in_the_ball(k, mid, rad):
    # python-flint's ** is nan on a ball that holds 0: powers go by multiplication.
    from flint import arb

    from symgrad.primitives import ARB, evaluate

    def ball(q, radius=0):
        return arb(q.numerator) / q.denominator + arb(0, float(radius))

    x = sympy.Symbol("x")
    got = evaluate(x**k, {x: ball(mid, rad)}, ARB)
    for t in (mid - rad, mid, mid + rad):
        if t == 0 and k < 0:
            assert not got.is_finite()
            continue
        assert got.contains(ball(t**k)), (k, t, got)
