"""Numeric values of derivations against an independent 30-digit oracle.

The oracle is SymPy's own ``diff`` of the composed definition with sigma
written through exp, evaluated by mpmath at 30 digits: independent of the
engine, of the gate form and of the NumPy kernels.
"""

import functools

import mpmath
import numpy as np
import pytest
import sympy
from hypothesis import assume, given
from hypothesis import strategies as st

import symgrad
from symgrad.cells import BUILTIN
from symgrad.derivation import compose
from tests import strategies
from tests.tolerances import (
    DIGITS30,
    DOZENS_OPS,
    FLOAT64_TERM_ABS,
    FLOAT64_TERM_REL,
    SIGMOID_FLUSH,
    scale,
)


@functools.cache
def oracle(name):
    d = symgrad.derive(name)
    cell = d.cell
    raw = compose(cell, d.carry, cell.equation(d.target).symbol)
    raw = raw.rewrite(sympy.exp).rewrite(sympy.Max).replace(symgrad.primitives.tanh, sympy.tanh)
    reference = sympy.diff(raw, cell.symbol(d.source))
    names = list(d.free_names)
    function = sympy.lambdify([cell.symbol(n) for n in names], reference, "mpmath")
    pre = [arg for m in raw.atoms(sympy.Max) for arg in m.args if arg != 0]
    return d, names, function, pre


@functools.cache
def kernel(name):
    return symgrad.derive(name).numeric()


def exact(name, point):
    _d, names, function, _ = oracle(name)
    with mpmath.workdps(30):
        return function(*(mpmath.mpf(point[n]) for n in names))


def away_from_relu_kink(name, point):
    # relu'(0) is a convention (0 here, 1/2 for SymPy's Heaviside): skip the kink.
    _, _, _, pre = oracle(name)
    subs = {sympy.Symbol(n, real=True): v for n, v in point.items()}
    return all(abs(float(u.evalf(subs=subs))) > 1e-9 for u in pre)


def points(name, bound):
    """Weights, biases and states up to ``bound``: |pre-activation| up to ~3 bound."""
    d = oracle(name)[0]
    prevs = {"o_prev": st.floats(0, 1), "r_prev": st.floats(0, 1), "h_prev": st.floats(-1, 1)}
    return st.fixed_dictionaries({n: prevs.get(n, strategies.reals(bound)) for n in d.free_names})


@pytest.mark.parametrize("name", BUILTIN)
@pytest.mark.parametrize("bound", [strategies.ORDINARY, strategies.SATURATION / 3])
@given(data=st.data())
def test_numeric_kernel_equals_the_oracle(name, bound, data):
    point = data.draw(points(name, bound))
    assume(away_from_relu_kink(name, point))
    total, terms = kernel(name)(**point)
    assert np.all(np.isfinite(terms)) and np.isfinite(total)
    reference = float(exact(name, point))
    tolerance = FLOAT64_TERM_REL * abs(reference) + FLOAT64_TERM_ABS * scale(point)
    assert abs(float(total) - reference) <= tolerance


@pytest.mark.parametrize("name", BUILTIN)
@given(data=st.data())
def test_evaluate_at_30_digits_equals_the_oracle(name, data):
    point = data.draw(points(name, strategies.ORDINARY))
    assume(away_from_relu_kink(name, point))
    exact_point = {n: sympy.Rational(v) for n, v in point.items()}
    total, terms = oracle(name)[0].evaluate(exact_point)
    reference = exact(name, point)
    with mpmath.workdps(30):
        assert abs(mpmath.mpf(str(total)) - reference) <= DIGITS30 * (1 + abs(reference))
    assert abs(sum(terms) - total) <= DIGITS30 * (1 + abs(total))


def test_numeric_is_vectorised_and_broadcasts():
    d = symgrad.derive("lstm")
    f = d.numeric()
    point = {n: 0.3 for n in f.names}
    point["x"] = np.linspace(-2, 2, 5)
    total, terms = f(**point)
    assert total.shape == (5,) and len(terms) == len(d.terms)
    for k, x in enumerate(point["x"]):
        one = dict(point, x=x)
        assert total[k] == pytest.approx(float(exact("lstm", one)), rel=DOZENS_OPS)


def test_numeric_names_its_missing_arguments():
    f = symgrad.derive("rnn").numeric()
    with pytest.raises(TypeError, match="missing h_prev"):
        f(x=1, W=1, U=1, b=0)


def test_saturated_gates_evaluate_without_overflow():
    # u = +-60: exp(60) is fine but 1 + exp(-u) style code overflows for u < -709;
    # the kernel must stay finite and exact in the limit f -> 0 or 1.
    d = symgrad.derive("lstm")
    f = d.numeric()
    point = {n: 0.0 for n in f.names}
    point.update(b_f=np.array([-800.0, 800.0]), b_i=np.array([800.0, -800.0]))
    point.update(c_prev=1.0, o_prev=1.0)
    total, _terms = f(**point)
    assert np.all(np.isfinite(total))
    assert total[0] == pytest.approx(0.0, abs=SIGMOID_FLUSH) and total[1] == pytest.approx(1.0)


def test_activations_lambdify_to_mpmath():
    # The mpmath printer must register its imports (a bare "mpmath.exp" is a NameError).
    x = sympy.Symbol("x", real=True)
    f = sympy.lambdify(x, symgrad.primitives.sigmoid(x) + symgrad.primitives.softplus(x), "mpmath")
    with mpmath.workdps(30):
        expected = 1 / (1 + mpmath.exp(-0.5)) + mpmath.log(1 + mpmath.exp(0.5))
        assert abs(f(mpmath.mpf(0.5)) - expected) < DIGITS30


def test_evaluate_keeps_30_digits_in_deep_saturation():
    # Weights and biases 1 but b_c = 40: c_hat's pre-activation is 41 + h_{t-1}, so
    # 1 - c_hat^2 ~ 1e-35 cancels 35 digits of a fixed-precision run.
    d, names, _, _ = oracle("lstm")
    point = {n: 1 for n in names}
    point.update(b_c=40, c_prev=0.5, o_prev=0.5)
    _, terms = d.evaluate({n: sympy.Rational(v) for n, v in point.items()})
    with mpmath.workdps(120):
        u = 1 + mpmath.tanh(mpmath.mpf(0.5)) / 2 + 40
        i = 1 / (1 + mpmath.exp(-(2 + mpmath.tanh(mpmath.mpf(0.5)) / 2)))  # b_i = 1
        candidate = i * (1 - mpmath.tanh(u) ** 2) * mpmath.mpf(0.5) * (1 - mpmath.tanh(0.5) ** 2)
        assert abs(mpmath.mpf(str(terms[3])) - candidate) <= DIGITS30 * candidate


def test_evaluate_takes_floats_at_their_exact_value():
    d = symgrad.derive("gru")
    point = {n: 0.1 * (k + 1) for k, n in enumerate(d.free_names)}
    from_floats, _ = d.evaluate(point)
    exact, _ = d.evaluate({n: sympy.Rational(v) for n, v in point.items()})
    assert from_floats == exact
