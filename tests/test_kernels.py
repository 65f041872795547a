"""The NumPy kernels (symgrad.numeric): hand-computed values, stability in saturation
against mpmath, one evaluation per gate, caching, chunks and threads."""

import mpmath
import numpy as np
import pytest
import sympy
from hypothesis import given

from symgrad import numeric
from symgrad.cells import BUILTIN, make_cell
from symgrad.derivation import derive
from symgrad.numeric import make_numeric, run_generated, sigmoid_pair, tanh_sech2
from tests.strategies import SATURATION, reals
from tests.tolerances import (
    FEW_OPS,
    PRIMITIVE_REL,
    SATURATED_PRODUCT_REL,
    SIGMOID_FLUSH,
    SUBNORMAL_ABS,
)


def _mp(f, u, digits=50):
    with mpmath.workdps(digits):
        return float(f(mpmath.mpf(u)))


# ---------------------------------------------------------------- hand-computed values


def test_hand_computed_values():
    # sigma(0) = 1/2 and its complement 1/2; tanh 0 = 0, sech^2 0 = 1: exact.
    assert sigmoid_pair(0.0) == (0.5, 0.5)
    assert tanh_sech2(0.0) == (0.0, 1.0)
    # rnn at W = b = h_prev = 0: dh_t/dh_{t-1} = (1 - tanh^2 0) U = U.
    f = derive("rnn").numeric()
    total, (term,) = f(x=0.3, W=0.0, U=1.7, b=0.0, h_prev=0.0)
    assert total == term == 1.7
    # An LSTM with f = 1, i = 0 (biases +-800, no other input) keeps its memory:
    # dc_t/dc_{t-1} = f_t = 1 exactly, every minor term 0 (f(1 - f) = i = 0 in float64).
    f = derive("lstm").numeric()
    point = {n: 0.0 for n in f.names}
    point.update(b_f=800.0, b_i=-800.0, c_prev=0.7, o_prev=0.5, U_f=1.0, U_i=1.0, U_c=1.0)
    total, terms = f(**point)
    assert total == 1.0
    assert [float(t) for t in terms] == [1.0, 0.0, 0.0, 0.0]
    # The GRU with z = 1/2 (all zero but h_prev): dh_t/dh_{t-1} = 1 - z = 1/2 plus
    # z (1 - z)(h_hat - h_prev) U_z = 0 (U_z = 0) plus z (1 - h_hat^2) r (...) U_h = 0.
    f = derive("gru").numeric()
    point = {n: 0.0 for n in f.names}
    point["h_prev"] = 0.4
    total, _ = f(**point)
    assert total == 0.5


# ---------------------------------------------------------------- stability


@given(reals(800.0))
def test_sigmoid_pair_is_accurate_on_both_tails(u):
    g, gc = sigmoid_pair(u)
    exact_g = _mp(lambda v: 1 / (1 + mpmath.exp(-v)), u)
    exact_gc = _mp(lambda v: 1 / (1 + mpmath.exp(v)), u)
    # Relative accuracy down to sigma(-709) = 1.2e-308; below, 0.
    assert abs(g - exact_g) <= PRIMITIVE_REL * exact_g + SIGMOID_FLUSH
    assert abs(gc - exact_gc) <= PRIMITIVE_REL * exact_gc + SIGMOID_FLUSH


@given(reals(360.0))
def test_tanh_sech2_is_accurate_everywhere(u):
    t, sech2 = tanh_sech2(u)
    assert abs(t - _mp(mpmath.tanh, u)) <= PRIMITIVE_REL * abs(_mp(mpmath.tanh, u))
    exact = _mp(lambda v: mpmath.sech(v) ** 2, u)
    assert abs(sech2 - exact) <= PRIMITIVE_REL * exact + SUBNORMAL_ABS


@pytest.mark.parametrize("u", [1e-300, 1e-12, 0.1, 0.125, 0.1250000001, 0.3, 19.1, 30.0])
def test_tanh_near_the_series_threshold_and_zero(u):
    for v in (u, -u):
        t, _ = tanh_sech2(v)
        assert abs(t - _mp(mpmath.tanh, v)) <= PRIMITIVE_REL * abs(_mp(mpmath.tanh, v))


def test_gate_form_keeps_the_digits_the_naive_form_loses():
    u = np.array([-30.0, 30.0, 20.0])
    # 1 - sigma(30) computed as 1 minus a number next to 1: 3 digits left.
    naive = 1 - 1 / (1 + np.exp(-u[1]))
    _, complement = sigmoid_pair(u[1])
    exact = _mp(lambda v: 1 / (1 + mpmath.exp(v)), 30.0)
    assert abs(naive - exact) > 1e-4 * exact
    assert abs(complement - exact) <= PRIMITIVE_REL * exact
    # 1 - tanh(20)^2 is 0 in float64; sech^2(20) is 1.7e-17.
    assert 1 - np.tanh(20.0) ** 2 == 0.0
    _, sech2 = tanh_sech2(20.0)
    assert sech2 == pytest.approx(_mp(lambda v: mpmath.sech(v) ** 2, 20.0), rel=PRIMITIVE_REL)


def test_the_naive_exp_form_overflows_where_the_kernels_do_not():
    with pytest.warns(RuntimeWarning, match="overflow"):
        naive = 1 / (1 + np.exp(-np.array([-1000.0])))
    assert naive[0] == 0.0
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        g, gc = sigmoid_pair(np.array([-1000.0, 1000.0]))
        t, sech2 = tanh_sech2(np.array([-1000.0, 1000.0]))
    assert list(g) == [0.0, 1.0] and gc[1] == 0.0
    assert gc[0] == pytest.approx(1.0, rel=PRIMITIVE_REL)  # e/(1 + e): two roundings
    assert list(t) == [-1.0, 1.0] and list(sech2) == [0.0, 0.0]


def _stable_product(d, term) -> bool:
    """A product of numbers and of 1 - gate / 1 - tanh^2 factors: no sum that may cancel."""
    activations = {eq.symbol: eq.rhs for eq in d.cell.equations}
    for factor in sympy.Mul.make_args(term.expr):
        base = factor.base if factor.is_Pow else factor
        if not base.is_Add:
            continue
        rest = base - 1
        if rest.could_extract_minus_sign():
            rest = -rest
        if rest.is_Pow and rest.exp == 2:
            rest = activations.get(rest.base, rest.base)
            if isinstance(rest, sympy.tanh):
                continue
        elif rest in activations and activations[rest].func.__name__ == "sigmoid":
            continue
        return False
    return True


@pytest.mark.parametrize("name", BUILTIN)
def test_kernels_match_60_digit_evaluation_at_saturated_points(name):
    # Products of gates keep every digit however small they get in saturation
    # (terms with a genuine sum, such as h_hat - h_prev, inherit its condition).
    rng = np.random.default_rng(7)
    compared = 0
    for d in [derive(name)] + [e for row in derive(name, "state").entries for e in row]:
        f = d.numeric()
        for _ in range(3):
            point = {n: float(rng.uniform(-3, 3)) for n in f.names}
            for n in f.names:
                if n.startswith("b"):
                    point[n] = float(rng.uniform(-SATURATION, SATURATION))
                if n in ("o_prev", "r_prev"):
                    point[n] = float(rng.uniform(0, 1))
            _, terms = f(**point)
            # 60 digits: at |u| = 30, 1 - tanh^2 u cancels 26 of them. Exact
            # rationals: the float's own value, not a decimal approximation.
            exact = {n: sympy.Rational(v) for n, v in point.items()}
            _, exact_terms = d.evaluate(exact, digits=60)
            for term, ours, value in zip(d.terms, terms, exact_terms, strict=True):
                if _stable_product(d, term):
                    compared += 1
                    assert abs(float(ours) - float(value)) <= SATURATED_PRODUCT_REL * abs(
                        float(value)
                    ), (
                        d.target,
                        d.source,
                        term.via,
                        point,
                    )
    assert compared >= 3


# ---------------------------------------------------------------- structure of the kernels


def test_each_activation_is_evaluated_once_and_complements_are_not_subtracted():
    f = derive("lstm").numeric()
    # dc/dc_prev needs f, i (gates), c_hat and tanh c_{t-1}: two pairs each.
    assert f.source.count("sigmoid_pair(") == 2
    assert f.source.count("tanh_sech2(") == 2
    assert "1 - " not in f.source and "- 1" not in f.source
    jacobian = derive("lstm", "state")
    dh = jacobian.entries[1][1].numeric()  # o, f, i, c_hat, tanh c: all shared
    assert dh.source.count("sigmoid_pair(") == 3
    assert dh.source.count("tanh_sech2(") == 2


def test_kernels_are_generated_once_per_derivation():
    assert make_numeric(derive("gru")) is make_numeric(derive("gru"))
    d = derive("lstm")
    assert d.numeric() is d.numeric()
    assert derive("lstm", wrt="h_prev").numeric() is not d.numeric()


def test_the_generated_code_uses_no_name_of_the_cell():
    # Names that would shadow the module or collide with the generated locals.
    cell = make_cell(
        "odd",
        "Parameters named like the kernel's own variables.",
        inputs="x",
        params="numpy a1 v0",
        state=["h"],
        equations=[("h", None, "tanh(numpy*x + a1*h_prev + v0)", None)],
        wrt=("h", "h_prev"),
    )
    f = derive(cell).numeric()
    assert f.names == ("a1", "h_prev", "numpy", "v0", "x")
    total, _ = f(numpy=0.5, a1=2.0, v0=0.0, x=1.0, h_prev=0.0)
    assert total == pytest.approx((1 - np.tanh(0.5) ** 2) * 2.0, rel=FEW_OPS)


def test_chunked_and_threaded_evaluation_equals_direct_evaluation():
    f = derive("gru-late-reset").numeric()
    rng = np.random.default_rng(3)
    n = numeric.PARALLEL_FROM + 1234
    points = {name: rng.standard_normal(n) for name in f.names}
    total, terms = f(**points)
    assert total.shape == (n,) and len(terms) == 3
    for start in (0, numeric.CHUNK - 5, n - 17):
        piece = {k: v[start : start + 17] for k, v in points.items()}
        t_piece, terms_piece = f(**piece)
        assert np.array_equal(total[start : start + 17], t_piece)
        for whole, part in zip(terms, terms_piece, strict=True):
            assert np.array_equal(whole[start : start + 17], part)


def test_broadcasting_and_shapes():
    f = derive("rnn").numeric()
    u = np.array([[0.5, 1.0, 2.0], [-1.0, 0.0, 3.0]])
    total, (term,) = f(x=1.0, W=0.5, U=u, b=0.0, h_prev=0.25)
    assert total.shape == (2, 3)
    expected = (1 - np.tanh(0.5 + u * 0.25) ** 2) * u
    assert np.allclose(total, expected, rtol=FEW_OPS, atol=0)
    assert np.array_equal(term, total)


def test_wrong_arguments_name_what_is_needed():
    f = derive("rnn").numeric()
    with pytest.raises(TypeError, match=r"needs exactly U, W, b, h_prev, x; missing x"):
        f(U=1.0, W=1.0, b=0.0, h_prev=0.0)
    with pytest.raises(TypeError, match=r"unknown c_prev"):
        f(U=1.0, W=1.0, b=0.0, h_prev=0.0, x=1.0, c_prev=0.0)


def test_the_readme_example_still_holds():
    d = derive("gru")
    f = d.numeric()
    total, _ = f(**{name: 0.5 for name in f.names})
    assert round(float(total), 6) == 0.424165
    exact, _ = d.evaluate({name: sympy.Rational(1, 2) for name in f.names}, digits=30)
    assert float(total) == pytest.approx(float(exact), rel=FEW_OPS)


def test_generated_kernel_code_carries_no_name_from_the_cell():
    # The kernel is compiled with exec: only positional names (a0, v0, ...), numbers
    # and symgrad's own functions may reach its text, never a name a cell file chose.
    import re

    from symgrad.cellfile import loads_cell

    cell = loads_cell(
        'name = "odd"\ninputs = ["os_system"]\nparameters = ["Import_W"]\nstate = ["h"]\n'
        '[equations]\nh = "tanh(Import_W*os_system + h_prev)"\n'
    )
    source = make_numeric(derive(cell)).source
    words = set(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", source))
    allowed = {"def", "kernel", "return", "numpy", "sigmoid_pair", "tanh_sech2"}
    assert {w for w in words if not re.fullmatch(r"[av]\d+", w)} <= allowed | {
        w for w in words if w.startswith("numpy")
    }
    assert "os_system" not in source and "Import_W" not in source


def test_generated_code_is_checked_before_it_runs():
    # The one door to exec: positional names, namespace names and attributes
    # that exist, numbers; anything else (a name or string from a cell) refused.
    namespace = {"numpy": np}
    good = "def kernel(a0, a1):\n    v0 = numpy.tanh(a0) * 2.0\n    return (v0[..., None] + a1,)\n"
    assert run_generated(good, dict(namespace), "kernel")(np.zeros(2), 1.0)[0].shape == (2, 1)
    for bad in (
        "def kernel(a0):\n    return (h_prev,)\n",
        "def kernel(a0):\n    return ('rm -rf',)\n",
        "def kernel(a0):\n    import os\n    return (a0,)\n",
        "def kernel(a0):\n    return (numpy.no_such_thing(a0),)\n",
        "def kernel(a0):\n    return (__import__,)\n",
        "def other(a0):\n    return (a0,)\n",
    ):
        with pytest.raises(RuntimeError, match="generated code failed its check"):
            run_generated(bad, dict(namespace), "kernel")
