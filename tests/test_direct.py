"""Values worked out by hand, independent of the engine and of the test helpers.

In case the helpers break and start letting everything pass (autograd keeps a
file like this one for the same reason), each value here is computed in a
comment and compared with a literal.
"""

import math

import sympy

import symgrad
from symgrad.primitives import sigmoid, tanh
from tests.tolerances import DOZENS_OPS, FEW_OPS

u = sympy.Symbol("u", real=True)


def test_sigmoid_slope_at_zero_is_a_quarter():
    # sigma(0) = 1/2, sigma'(0) = sigma(0) (1 - sigma(0)) = 1/2 * 1/2 = 1/4
    assert sympy.diff(sigmoid(u), u).subs(u, 0) == sympy.Rational(1, 4)


def test_tanh_slope_at_zero_is_one():
    # tanh(0) = 0, tanh'(0) = 1 - 0^2 = 1
    assert sympy.diff(tanh(u), u).subs(u, 0) == 1


def test_lstm_with_open_forget_gate_and_closed_input_gate_carries_exactly():
    # f = 1, i = 0: f (1 - f) = 0 kills the forget term, i = 0 the other two,
    # so dc_t/dc_{t-1} = f = 1.
    d = symgrad.derive("lstm")
    f, i = sympy.Symbol("f", real=True), sympy.Symbol("i", real=True)
    assert d.total.subs({f: 1, i: 0}) == 1


def test_gru_with_closed_update_gate_carries_exactly():
    # z = 0: h_t = h_{t-1}, so dh_t/dh_{t-1} = 1 - 0 = 1 and both minor terms carry z.
    d = symgrad.derive("gru")
    assert d.total.subs(sympy.Symbol("z", real=True), 0) == 1


def test_rnn_derivative_at_a_point():
    # W = 1/2, x = 1, U = 2, b = 0, h_{t-1} = 3/10: u = 1/2 + 3/5 = 1.1,
    # h_t = tanh(1.1) = 0.8004990217606297, (1 - h_t^2) U = 0.7184026323205497.
    d = symgrad.derive("rnn")
    point = {"W": 0.5, "x": 1, "U": 2, "b": 0, "h_prev": 0.3}
    total, _ = d.evaluate({k: sympy.nsimplify(v) for k, v in point.items()})
    assert math.isclose(float(total), 0.7184026323205497, rel_tol=DOZENS_OPS)


def test_lstm_terms_at_a_point():
    # All weights 1, biases 0, x = 1, c_{t-1} = 1/2, o_{t-1} = 1/2:
    # h_{t-1} = tanh(1/2)/2 = 0.23105857863000487; u = 1 + h_{t-1} for f, i and c_hat;
    # f = i = sigma(u) = 0.7740037965825926, c_hat = tanh(u) = 0.8428861033202313,
    # dh_{t-1}/dc_{t-1} = o (1 - tanh^2(1/2)) = 0.5 * 0.7864477329659274.
    # forget term f(1-f) * 0.39322... * c_{t-1} (= 1/2) * U_f (= 1) = 0.034391736751012106;
    # input term i(1-i) * 0.39322... * c_hat; candidate term i (1 - c_hat^2) * 0.39322...;
    # total = f + the three = 0.95449654338067.
    d = symgrad.derive("lstm")
    point = {n: sympy.Integer(1) for n in d.free_names}
    point.update({"b_f": 0, "b_i": 0, "b_c": 0, "c_prev": sympy.Rational(1, 2)})
    point["o_prev"] = sympy.Rational(1, 2)
    total, terms = d.evaluate(point)
    by_name = dict(zip([t.name for t in d.terms], terms, strict=True))
    assert math.isclose(float(by_name["c_prev"]), 0.7740037965825926, rel_tol=DOZENS_OPS)
    assert math.isclose(float(by_name["f"]), 0.034391736751012106, rel_tol=DOZENS_OPS)
    assert math.isclose(float(total), 0.95449654338067, rel_tol=DOZENS_OPS)


def test_sigmoid_saturation_constant():
    # sup |u sigma'(u)| is half of sup |c sech^2 c| (u = 2c: u sigma'(u) = c sech^2(c) / 2);
    # the latter is 0.4477... at c = 0.7717 (2c tanh c = 1), so the former is 0.2238...
    c = 0.7717023192091041
    assert math.isclose(2 * c * math.tanh(c), 1.0, rel_tol=FEW_OPS)
    assert math.isclose(c / math.cosh(c) ** 2, 0.44774320469430284, rel_tol=FEW_OPS)
    s = 1 / (1 + math.exp(-2 * c))
    assert math.isclose(2 * c * s * (1 - s), c / math.cosh(c) ** 2 / 2, rel_tol=DOZENS_OPS)
