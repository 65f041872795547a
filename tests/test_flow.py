"""symgrad.trajectory and symgrad.flow: the accumulated product against independent oracles.

Oracles: the derivative of the unrolled SymPy expression (sigmoid written
through exp, relu as Max, differentiated by a small dual-number evaluator of
this file at 40 digits, itself checked against sympy.diff), central finite
differences of a 50-digit mpmath forward pass, hand-computed products of
linear cells, the one-step kernels of symgrad.numeric, finite differences and
PyTorch for n-dimensional Jacobians.
"""

import math
import random

import mpmath
import numpy as np
import pytest
import sympy
from hypothesis import given
from hypothesis import strategies as st
from strategies import ORDINARY, point
from tolerances import (
    DIGITS30,
    DOZENS_OPS,
    FD64_STEP,
    FD64_TOLERANCE,
    FD_RELATIVE,
    FEW_OPS,
    FLOAT64_DERIVATIVE_REL,
    HOUSEHOLDER_ABS,
    LOG_GROWTH_ABS,
    LOG_PRODUCT_ABS,
    PRODUCT_TOLERANCE,
    STEP_VALUE_ABS,
    TORCH_JACOBIAN_ABS,
)

from symgrad import trajectory
from symgrad.bounds import compute_bound
from symgrad.cells import BUILTIN, get_cell, make_cell, prev_name
from symgrad.derivation import derive
from symgrad.flow import FlowError, classical_form, log_steps, run_flow
from symgrad.numeric import make_numeric
from symgrad.primitives import PRIMITIVES, relu, sigmoid
from symgrad.sampling import draw_vector_params, sample
from symgrad.trajectory import VectorProgram, state_jacobian_product

#: How far a planted error of one part in a million must push the mismatch.
PLANTED = 1e-6


# ---------------------------------------------------------------- oracles


def _raw(expr):
    """The equation as plain SymPy: sigmoid through exp, relu as Max, SymPy's tanh."""
    expr = expr.replace(sigmoid, lambda u: 1 / (1 + sympy.exp(-u)))
    expr = expr.replace(relu, lambda u: sympy.Max(0, u))
    return expr.replace(
        lambda e: isinstance(e, sympy.tanh), lambda e: sympy.tanh(e.args[0], evaluate=False)
    )


def _unrolled(cell, params, inputs):
    """s_T as SymPy expressions of the symbols s_0 (numbers everywhere else)."""
    s0 = [sympy.Symbol(f"{s}_0", real=True) for s in cell.state]
    env = {cell.symbol(k): v for k, v in params.items()}
    env.update({cell.symbol(prev_name(v)): sympy.Integer(0) for v in cell.values})
    env.update({cell.symbol(prev_name(s)): sym for s, sym in zip(cell.state, s0, strict=True)})
    rhs = {eq.symbol: _raw(eq.rhs) for eq in cell.equations}
    for step in inputs:
        here = {**env, **{cell.symbol(k): v for k, v in step.items()}}
        # Unevaluated: SymPy's tanh would ask the assumption system about the
        # sign of every nested argument, seconds per step.
        with sympy.evaluate(False):
            for eq in cell.equations:
                here[eq.symbol] = rhs[eq.symbol].xreplace(here)
        for v in cell.values:
            env[cell.symbol(prev_name(v))] = here[cell.symbol(v)]
    return [env[cell.symbol(prev_name(s))] for s in cell.state], s0


def _dual(expr, point, cache):
    """(value, gradient) of ``expr`` at ``point`` (symbol -> (value, gradient)),
    with a cache per subexpression: linear in the unrolled DAG, not its tree."""
    if expr in cache:
        return cache[expr]
    k = len(next(iter(point.values()))[1])
    if expr.is_Number:
        out = (mpmath.mpf(sympy.Float(expr, 45)), [mpmath.mpf(0)] * k)
    elif expr.is_Symbol:
        out = point[expr]
    elif expr.is_Add:
        parts = [_dual(a, point, cache) for a in expr.args]
        out = (
            mpmath.fsum(v for v, _ in parts),
            [mpmath.fsum(g) for g in zip(*(g for _, g in parts), strict=True)],
        )
    elif expr.is_Mul:
        value, grad = mpmath.mpf(1), [mpmath.mpf(0)] * k
        for a in expr.args:
            v, g = _dual(a, point, cache)
            grad = [gi * v + value * g2 for gi, g2 in zip(grad, g, strict=True)]
            value *= v
        out = (value, grad)
    elif expr.is_Pow and expr.exp.is_Number:
        v, g = _dual(expr.base, point, cache)
        e = mpmath.mpf(sympy.Float(expr.exp, 45))
        out = (v**e, [e * v ** (e - 1) * gi for gi in g])
    elif isinstance(expr, sympy.exp):
        v, g = _dual(expr.args[0], point, cache)
        value = mpmath.exp(v)
        out = (value, [value * gi for gi in g])
    elif isinstance(expr, sympy.tanh):
        v, g = _dual(expr.args[0], point, cache)
        value = mpmath.tanh(v)
        out = (value, [(1 - value**2) * gi for gi in g])
    elif isinstance(expr, sympy.Max):
        parts = [_dual(a, point, cache) for a in expr.args]
        out = max(parts, key=lambda p: p[0])
    else:
        raise TypeError(f"the dual-number oracle cannot read {type(expr).__name__}")
    cache[expr] = out
    return out


def unrolled_jacobian(cell, params, inputs):
    """d s_T/d s_0 at s_0 = 0 of the unrolled expression, to 40 digits."""
    outputs, s0 = _unrolled(cell, params, inputs)
    k = len(s0)
    point = {s: (mpmath.mpf(0), [mpmath.mpf(i == j) for j in range(k)]) for i, s in enumerate(s0)}
    cache = {}
    with mpmath.workdps(40):
        return np.array([[float(g) for g in _dual(o, point, cache)[1]] for o in outputs])


def _mismatch(ours, oracle) -> float:
    return float(np.max(np.abs(ours - oracle)) / max(np.linalg.norm(oracle), 1e-300))


def _random_case(cell, steps, rng):
    """Exact rational parameters and inputs, and the same as float64 arrays (N = 1)."""

    def draw():
        return sympy.Rational(rng.randint(-1500, 1500), 1000)

    params = {p: draw() for p in cell.params}
    inputs = [{x: draw() for x in cell.inputs} for _ in range(steps)]
    arrays = {k: np.array([float(v)]) for k, v in params.items()}
    series = {x: np.array([[float(step[x])] for step in inputs]) for x in cell.inputs}
    return params, inputs, arrays, series


def _product(cell, arrays, series):
    log_scale, direction = state_jacobian_product(cell, arrays, series)
    return np.exp(log_scale)[:, None, None] * direction


# ---------------------------------------------------------------- the oracles check themselves


def test_dual_oracle_agrees_with_sympy_diff():
    rng = random.Random(7)
    for name in ("rnn", "gru-late-reset"):
        cell = get_cell(name)
        params, inputs, _, _ = _random_case(cell, 2, rng)
        outputs, s0 = _unrolled(cell, params, inputs)
        at = {s: 0 for s in s0}
        expected = np.array(
            [[float(sympy.diff(o, s).xreplace(at).evalf(30)) for s in s0] for o in outputs]
        )
        assert _mismatch(unrolled_jacobian(cell, params, inputs), expected) < DIGITS30


def test_unrolled_oracle_catches_a_planted_error(monkeypatch):
    cell = get_cell("lstm")
    params, inputs, arrays, series = _random_case(cell, 3, random.Random(3))
    oracle = unrolled_jacobian(cell, params, inputs)
    assert _mismatch(_product(cell, arrays, series), oracle) < PRODUCT_TOLERANCE
    program = trajectory.scalar_program(cell)
    kernel = program.kernel

    def planted(*args):
        out = kernel(*args)
        return [out[0] * (1 + PLANTED), *out[1:]]

    monkeypatch.setattr(program, "kernel", planted)
    assert _mismatch(_product(cell, arrays, series), oracle) > PLANTED / 10


# ---------------------------------------------------------------- the product is exact


@pytest.mark.parametrize("name", BUILTIN)
def test_product_equals_derivative_of_unrolled_expression(name):
    cell = get_cell(name)
    rng = random.Random(BUILTIN.index(name))
    for steps in (1, 2, 3, 4):
        params, inputs, arrays, series = _random_case(cell, steps, rng)
        oracle = unrolled_jacobian(cell, params, inputs)
        assert _mismatch(_product(cell, arrays, series), oracle) < PRODUCT_TOLERANCE, steps


def _mp_forward(cell):
    """The cell's step in mpmath, each equation lambdified on its own."""
    kernels = []
    for eq in cell.equations:
        args = sorted(eq.rhs.free_symbols, key=lambda s: s.name)
        # sigmoid prints as mpmath.exp(...): the namespace needs the module itself.
        fn = sympy.lambdify(args, eq.rhs, modules=[{"mpmath": mpmath}, "mpmath"])
        kernels.append((eq.name, [a.name for a in args], fn))

    def run(params, inputs, initial):
        env = {**params}
        env.update({prev_name(v): mpmath.mpf(0) for v in cell.values})
        env.update({prev_name(s): v for s, v in initial.items()})
        for step in inputs:
            env.update(step)
            for name, args, fn in kernels:
                env[name] = fn(*[env[a] for a in args])
            for v in cell.values:
                env[prev_name(v)] = env[v]
        return [env[s] for s in cell.state]

    return run


@pytest.mark.parametrize("name", BUILTIN)
def test_product_equals_finite_differences_over_50_steps(name):
    cell = get_cell(name)
    steps, samples = 50, 3
    rng = np.random.default_rng(50)
    arrays = sample(cell, cell.params, samples, rng)
    series = {x: rng.standard_normal((steps, samples)) for x in cell.inputs}
    ours = _product(cell, arrays, series)
    run = _mp_forward(cell)
    for n in range(samples):
        magnitude = math.log10(np.linalg.norm(ours[n])) if np.any(ours[n]) else -300
        digits = 30 + 2 * round(FD_RELATIVE - min(magnitude, 0))
        with mpmath.workdps(digits):
            h = mpmath.mpf(10) ** (-digits // 3)
            params = {k: mpmath.mpf(float(v[n])) for k, v in arrays.items()}
            inputs = [{x: mpmath.mpf(float(series[x][t, n])) for x in series} for t in range(steps)]
            columns = []
            for j in cell.state:
                plus = run(params, inputs, {j: h})
                minus = run(params, inputs, {j: -h})
                columns.append([float((p - m) / (2 * h)) for p, m in zip(plus, minus, strict=True)])
            oracle = np.array(columns).T
        if not np.any(oracle):  # a relu cell gone silent: exactly zero on both sides
            assert not np.any(ours[n])
            continue
        assert _mismatch(ours[n], oracle) < PRODUCT_TOLERANCE, (name, n)


# ---------------------------------------------------------------- hand-computed products


def _linear(name="linear"):
    return make_cell(
        name,
        "h_t = U h_{t-1} + W x_t",
        "x",
        "W U",
        ["h"],
        [("h", None, "U*h_prev + W*x", None)],
        ("h", "h_prev"),
    )


def test_linear_cell_exponent_is_log_of_its_weight():
    # d h_t/d h_0 = U^t exactly: lambda = ln|U|, log10 quantiles t log10|U|, even at
    # T = 5,000, where 0.5^5000 = 1e-1505 underflows any float.
    r = run_flow(_linear(), steps=5_000, samples=20, fixed={"U": -0.5})
    assert r.lyapunov == pytest.approx(math.log(0.5), abs=LOG_GROWTH_ABS)
    assert r.lyapunov_ci[0] == pytest.approx(math.log(0.5), abs=LOG_GROWTH_ABS)
    for t, q in zip(r.checkpoints, r.quantiles, strict=True):
        assert q == pytest.approx([t * math.log10(0.5)] * len(q), abs=LOG_PRODUCT_ABS)
    assert r.median_at(5_000) == pytest.approx(5_000 * math.log10(0.5), abs=LOG_PRODUCT_ABS)
    assert r.vanish_step == math.ceil(8 / math.log10(2) + 1e-12)  # 0.5^27 < 1e-8 < 0.5^26
    assert r.explode_fraction == 0.0
    assert r.vanish_fraction == 1.0


def test_two_state_swap_cell_frobenius_norm():
    # a_t = U b_{t-1}, b_t = W a_{t-1}: J = [[0, U], [W, 0]], J^2 = U W I, so
    # ||d s_t/d s_0||_F = sqrt(2) (U W)^(t/2) for even t, sqrt(U^2 + W^2) (U W)^((t-1)/2) odd.
    cell = make_cell(
        "swap",
        "a swap",
        "x",
        "U W",
        ["a", "b"],
        [("a", None, "U*b_prev + x", None), ("b", None, "W*a_prev", None)],
        ("a", "a_prev"),
    )
    u, w = 2.0, 0.125
    r = run_flow(cell, steps=1_000, samples=4, fixed={"U": u, "W": w})
    for t, q in zip(r.checkpoints, r.quantiles, strict=True):
        if t % 2 == 0:
            expected = 0.5 * math.log10(2) + t / 2 * math.log10(u * w)
        else:
            expected = 0.5 * math.log10(u * u + w * w) + (t - 1) / 2 * math.log10(u * w)
        assert q[2] == pytest.approx(expected, abs=LOG_PRODUCT_ABS), t


def test_exploding_relu_cell_has_positive_exponent():
    # relu(W |x_t| + U h_{t-1} + b) with U = 1.5, W = 1, b = 0: the input is
    # positive, h_t > 0 always, so d h_t/d h_{t-1} = U at every step: lambda = ln 1.5.
    cell = make_cell(
        "explode",
        "relu with positive inputs",
        "x",
        "W U b",
        ["h"],
        [("h", None, "relu(W*abs(x) + U*h_prev + b)", None)],
        ("h", "h_prev"),
    )
    r = run_flow(cell, steps=100, samples=50, fixed={"U": 1.5, "W": 1.0, "b": 0.0})
    assert r.lyapunov > 0
    assert r.lyapunov == pytest.approx(math.log(1.5), abs=LOG_GROWTH_ABS)
    assert r.explode_fraction == 1.0  # 1.5^100 = 4e17 > 1e8
    assert r.vanish_step is None


def test_lstm_with_default_initialisation_vanishes():
    r = run_flow("lstm", steps=300, samples=200, seed=1)
    assert r.lyapunov < 0
    assert r.lyapunov_ci[1] < 0
    assert r.vanish_step is not None
    assert r.explode_fraction == 0.0


def test_article_product_is_exact_for_two_steps_then_drifts():
    # With o_0 = 0 the article's f_1 is d c_1/d c_0; at two steps the missed path
    # c_0 -> h_1 -> o_2 -> ... needs a third step: the gap is 0 at t = 1, 2.
    r = run_flow("lstm", steps=50, samples=200)
    a = r.article
    assert a.derivative == "dc/dc_prev"
    for t in (1, 2):
        gap = a.gap[r.checkpoints.index(t)]
        assert max(abs(g) for g in gap) < LOG_GROWTH_ABS, t
    wide = a.gap[r.checkpoints.index(50)]
    assert wide[-1] - wide[0] > 1e-3


# ---------------------------------------------------------------- one-step Jacobians


_KERNELS: dict = {}


def _numeric_kernels(name):
    if name not in _KERNELS:
        entries = derive(name, "state").entries
        _KERNELS[name] = [[make_numeric(d) for d in row] for row in entries]
    return _KERNELS[name]


@pytest.mark.parametrize("name", BUILTIN)
@given(data=st.data())
def test_one_step_matches_numeric_kernels(name, data):
    """flow's path (forward values + gate-form kernel) against make_numeric of each entry."""
    cell = get_cell(name)
    kernels = _numeric_kernels(name)
    names = sorted(set(cell.inputs) | set(cell.params) | set(cell.prevs))
    p = data.draw(point(names, ORDINARY))
    arrays = {k: np.array([v]) for k, v in p.items()}
    params = {k: arrays[k] for k in cell.params}
    series = {x: arrays[x][None, :] for x in cell.inputs}
    initial = {s: arrays[prev_name(s)] for s in cell.state}
    log_scale, direction = state_jacobian_product(cell, params, series, initial=initial)
    ours = np.exp(log_scale[0]) * direction[0]
    expected = np.empty_like(ours)
    for i, row in enumerate(kernels):
        for j, kernel in enumerate(row):
            expected[i, j] = kernel(**{n: p[n] for n in kernel.names})[0]
    assert np.allclose(ours, expected, rtol=FLOAT64_DERIVATIVE_REL, atol=FLOAT64_DERIVATIVE_REL)


def _vector_case(cell, n, samples, seed):
    rng = np.random.default_rng(seed)
    params = draw_vector_params(cell, samples, n, rng)
    env = dict(params)
    for x in cell.inputs:
        env[x] = rng.standard_normal((samples, n))
    for s in cell.state:
        env[prev_name(s)] = rng.uniform(-1, 1, (samples, n))
    return env


def _states(program, env):
    values, _ = program.step(env)
    return np.concatenate([values[s] for s in program.cell.state], axis=1)


@pytest.mark.parametrize("name", BUILTIN)
def test_vector_jacobian_matches_finite_differences(name):
    cell = get_cell(name)
    program = VectorProgram(cell, 3)
    env = _vector_case(cell, 3, 4, seed=BUILTIN.index(name))
    _, jac = program.step(env)
    fd = np.empty_like(jac)
    for j, s in enumerate(cell.state):
        for k in range(3):
            shifted = []
            for h in (FD64_STEP, -FD64_STEP):
                moved = {**env, prev_name(s): env[prev_name(s)].copy()}
                moved[prev_name(s)][:, k] += h
                shifted.append(_states(program, moved))
            fd[:, :, j * 3 + k] = (shifted[0] - shifted[1]) / (2 * FD64_STEP)
    assert np.max(np.abs(jac - fd)) < FD64_TOLERANCE
    # The same check with a planted error must fail.
    jac[0, 0, 0] += 1e-4
    assert np.max(np.abs(jac - fd)) > FD64_TOLERANCE


def test_vector_rnn_jacobian_is_diag_one_minus_h_squared_times_u():
    cell = get_cell("rnn")
    env = _vector_case(cell, 5, 3, seed=11)
    values, jac = VectorProgram(cell, 5).step(env)
    h = values["h"]
    expected = (1 - h**2)[:, :, None] * env["U"]
    assert np.allclose(jac, expected, rtol=0, atol=FEW_OPS)


@pytest.mark.parametrize("name", BUILTIN)
def test_vector_program_at_n1_is_the_scalar_jacobian(name):
    cell = get_cell(name)
    env = _vector_case(cell, 1, 5, seed=3)
    _, jac = VectorProgram(cell, 1).step(env)
    params = {k: np.reshape(env[k], 5) for k in cell.params}
    series = {x: env[x].reshape(1, 5) for x in cell.inputs}
    initial = {s: env[prev_name(s)].reshape(5) for s in cell.state}
    ls, direction = state_jacobian_product(cell, params, series, initial=initial)
    assert np.allclose(
        jac, np.exp(ls)[:, None, None] * direction, rtol=FLOAT64_DERIVATIVE_REL, atol=DOZENS_OPS
    )


def test_vector_product_over_steps_matches_scalar_engine_at_n1():
    cell = get_cell("lstm")
    rng = np.random.default_rng(5)
    scalar = sample(cell, cell.params, 6, rng)
    series = {"x": rng.standard_normal((40, 6))}
    ls1, d1 = state_jacobian_product(cell, scalar, series)
    vector = {
        k: (v[:, None, None] if k.startswith(("W", "U")) else v[:, None]) for k, v in scalar.items()
    }
    ls2, d2 = state_jacobian_product(cell, vector, {"x": series["x"][:, :, None]})
    assert np.allclose(ls1, ls2, rtol=FLOAT64_DERIVATIVE_REL, atol=FLOAT64_DERIVATIVE_REL)
    assert np.allclose(d1, d2, rtol=PRODUCT_TOLERANCE, atol=FLOAT64_DERIVATIVE_REL)


@pytest.mark.parametrize("name", ["lstm", "gru-torch"])
def test_vector_jacobian_matches_pytorch(name, torch):
    cell, n = get_cell(name), 3
    env = _vector_case(cell, n, 2, seed=21)
    values, jac = VectorProgram(cell, n).step(env)
    for k in range(2):
        p = {key: torch.tensor(np.asarray(env[key][k]), dtype=torch.float64) for key in cell.params}
        x = torch.tensor(env["x"][k][None, :], dtype=torch.float64)
        if name == "lstm":
            module = torch.nn.LSTMCell(n, n, dtype=torch.float64)
            order = ("i", "f", "c", "o")  # torch's gate order: input, forget, cell, output
            rows_ih, rows_hh, bias_ih = (
                [p[f"W_{g}"] for g in order],
                [p[f"U_{g}"] for g in order],
                [p[f"b_{g}"] for g in order],
            )
            bias_hh = [torch.zeros(n, dtype=torch.float64)] * 4

            def fn(c, h, module=module, x=x):
                h1, c1 = module(x, (h[None], c[None]))
                return torch.cat([c1[0], h1[0]])

            state = [env["c_prev"][k], env["h_prev"][k]]
        else:
            module = torch.nn.GRUCell(n, n, dtype=torch.float64)
            rows_ih = [p["W_r"], p["W_z"], p["W_n"]]
            rows_hh = [p["U_r"], p["U_z"], p["U_n"]]
            bias_ih = [p["b_ir"], p["b_iz"], p["b_in"]]
            bias_hh = [p["b_hr"], p["b_hz"], p["b_hn"]]

            def fn(h, module=module, x=x):
                return module(x, h[None])[0]

            state = [env["h_prev"][k]]
        with torch.no_grad():
            module.weight_ih.copy_(torch.cat(rows_ih))
            module.weight_hh.copy_(torch.cat(rows_hh))
            module.bias_ih.copy_(torch.cat(bias_ih))
            module.bias_hh.copy_(torch.cat(bias_hh))
        inputs = tuple(torch.tensor(s, dtype=torch.float64) for s in state)
        expected = torch.cat(
            [torch.as_tensor(b) for b in torch.autograd.functional.jacobian(fn, inputs)], dim=1
        ).numpy()
        ours_state = np.concatenate([values[s][k] for s in cell.state])
        assert np.allclose(ours_state, fn(*inputs).detach().numpy(), rtol=0, atol=STEP_VALUE_ABS)
        assert np.allclose(jac[k], expected, rtol=0, atol=TORCH_JACOBIAN_ABS)


def test_vector_program_refuses_unreadable_matrices():
    two = make_cell(
        "two",
        "two matrices",
        "x",
        "W U",
        ["h"],
        [("h", None, "tanh(W*U*h_prev + x)", None)],
        ("h", "h_prev"),
    )
    with pytest.raises(FlowError, match="multiplies matrices"):
        VectorProgram(two, 2)
    bare = make_cell(
        "bare",
        "a bare matrix",
        "x",
        "U b",
        ["h"],
        [("h", None, "tanh(h_prev + U + x)", None)],
        ("h", "h_prev"),
    )
    with pytest.raises(FlowError, match="must multiply a vector"):
        VectorProgram(bare, 2)


def test_vector_run_classical_condition_bounds_every_sample():
    r = run_flow("rnn", steps=200, samples=30, dim=4, seed=2)
    c = r.classical
    assert c["matrix"] == "U" and c["gamma"] == 1.0
    assert c["bound_holds_fraction"] == 1.0
    assert r.lyapunov < 0
    assert 0 < r.one_step["spectral_norm"][2] < c["sigma_max_quantiles"][-1]


def test_classical_form():
    assert classical_form(get_cell("rnn")) == ("U", 1.0)
    assert classical_form(get_cell("rnn-relu")) == ("U", 1.0)
    assert classical_form(get_cell("gru")) is None
    logistic = make_cell(
        "logistic",
        "sigmoid rnn",
        "x",
        "W U b",
        ["h"],
        [("h", None, "sigmoid(W*x + U*h_prev + b)", None)],
        ("h", "h_prev"),
    )
    assert classical_form(logistic) == ("U", 0.25)


def _one_state_cell(rhs):
    return make_cell(
        "one", "one state", "x", "W U b", ["h"], [("h", None, rhs, None)], ("h", "h_prev")
    )


def test_classical_form_reads_the_primitives_table():
    # gamma is the primitive's slope supremum wherever it is finite: |abs'| = 1
    # almost everywhere; exp's slope is unbounded, so no condition.
    assert classical_form(_one_state_cell("abs(W*x + U*h_prev + b)")) == ("U", 1.0)
    assert classical_form(_one_state_cell("softplus(W*x + U*h_prev + b)")) == ("U", 1.0)
    assert classical_form(_one_state_cell("exp(W*x + U*h_prev + b)")) is None


@pytest.mark.parametrize("name", ["sigmoid", "tanh"])
def test_slope_suprema_lie_in_the_certified_bounds(name):
    # The table's gamma against `symgrad bound sigmoid-slope` / `tanh-slope`:
    # an interval enclosure of sup |f'(u)| over u in R, a proof, not a sample.
    lo, hi = compute_bound(f"{name}-slope").interval
    assert lo <= PRIMITIVES[name].slope_sup <= hi


def test_orthogonal_draws_are_orthogonal():
    params = draw_vector_params(get_cell("rnn"), 5, 4, np.random.default_rng(0), init="orthogonal")
    u = params["U"]
    assert np.allclose(np.swapaxes(u, 1, 2) @ u, np.eye(4), rtol=0, atol=HOUSEHOLDER_ABS)
    assert not np.any(params["b"])


# ---------------------------------------------------------------- streaming


def test_a_shorter_run_is_a_prefix_of_a_longer_one():
    short = run_flow("gru", steps=100, samples=50, seed=4)
    long = run_flow("gru", steps=1_000, samples=50, seed=4)
    for t, q in zip(short.checkpoints[:-1], short.quantiles[:-1], strict=True):
        assert long.quantiles[long.checkpoints.index(t)] == pytest.approx(q, abs=LOG_GROWTH_ABS)


def test_chunking_does_not_change_the_result(monkeypatch):
    whole = run_flow("lstm", steps=200, samples=30, seed=9)
    monkeypatch.setattr(trajectory, "CHUNK_ELEMENTS", 7 * 30)  # chunks of 7 steps
    chunked = run_flow("lstm", steps=200, samples=30, seed=9)
    assert chunked.lyapunov == pytest.approx(whole.lyapunov, abs=LOG_GROWTH_ABS)
    assert chunked.vanish_step == whole.vanish_step
    assert np.allclose(chunked.quantiles, whole.quantiles, rtol=0, atol=LOG_GROWTH_ABS)
    assert np.allclose(chunked.article.gap, whole.article.gap, rtol=0, atol=LOG_GROWTH_ABS)


def test_log_steps():
    assert log_steps(1) == (1,)
    assert log_steps(10) == (1, 2, 5, 10)
    assert log_steps(10_000)[-3:] == (2_000, 5_000, 10_000)


def test_results_are_reproducible_and_seeded_per_cell():
    a = run_flow("rnn", steps=30, samples=20, seed=5)
    b = run_flow("rnn", steps=30, samples=20, seed=5)
    c = run_flow("rnn", steps=30, samples=20, seed=6)
    assert a.quantiles == b.quantiles
    assert a.quantiles != c.quantiles


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"steps": 0}, "steps must be a positive integer"),
        ({"samples": 1}, "samples must be an integer of at least 2"),
        ({"dim": 0}, "dim must be an integer from 1"),
        ({"init": "he"}, "unknown init 'he'. Valid choices: normal, xavier, orthogonal"),
        ({"fixed": {"V": 1.0}}, "cannot fix 'V'"),
    ],
)
def test_bad_settings(kwargs, message):
    with pytest.raises(FlowError, match=message):
        run_flow("rnn", **kwargs)


def test_forget_bias_reaches_the_lstm():
    low = run_flow("lstm", steps=200, samples=100, forget_bias=-3.0)
    high = run_flow("lstm", steps=200, samples=100, forget_bias=3.0)
    assert high.settings["forget_bias"] == 3.0
    assert high.lyapunov > low.lyapunov


def test_json_is_strict():
    import json

    r = run_flow("rnn-relu", steps=50, samples=30)
    text = json.dumps(r.to_json(), allow_nan=False)
    data = json.loads(text)
    assert data["lyapunov"] == "-inf"
    assert data["zero_fraction"] > 0


def test_a_run_in_groups_of_samples_gives_the_statistics_of_one_run(monkeypatch):
    # flow splits an n-D run into groups of samples when all of them would not
    # fit the memory budget; the statistics across samples must not notice.
    from symgrad import flow

    monkeypatch.setattr(trajectory, "CHUNK_ELEMENTS", 60)  # several chunks of steps
    cell, dim, steps, n = get_cell("lstm"), 3, 25, 8
    rng = np.random.default_rng(5)
    params = draw_vector_params(cell, n, dim, rng, "normal", None, {})
    inputs = {x: rng.standard_normal((steps, n, dim)) for x in cell.inputs}

    def run(columns, stream):
        engine = trajectory.VectorEngine(
            VectorProgram(cell, dim), {k: v[columns] for k, v in params.items()}
        )
        width = len(range(n)[columns])

        def source(t0, k):
            return {x: v[t0 : t0 + k, columns] for x, v in inputs.items()}

        trajectory.drive(engine, source, stream, steps, width, None, chunk_samples=5)

    whole = flow._Stream(steps, n)
    run(slice(None), whole)
    grouped = flow._Stream(steps, n)
    records = [flow._Record(grouped), flow._Record(grouped)]
    run(slice(0, 5), records[0])
    run(slice(5, 8), records[1])
    flow._Record.replay(records, grouped)
    assert len(records[0].chunks) > 1
    assert grouped.table == whole.table and grouped.curve == whole.curve
    assert grouped.vanish_step == whole.vanish_step
    np.testing.assert_array_equal(grouped.last, whole.last)
    np.testing.assert_array_equal(np.concatenate(grouped.one_step), np.concatenate(whole.one_step))


def test_a_large_n_d_run_goes_in_groups_within_the_memory_budget():
    from symgrad import flow
    from symgrad.defaults import MEMORY_BUDGET

    cell = get_cell("lstm")
    groups = flow._groups(cell, 10, 100, 512)
    assert len(groups) > 1 and sum(len(g) for g in groups) == 100
    assert flow.estimate(cell, 10, 100, 512)[1] <= MEMORY_BUDGET
    assert flow._groups(cell, 10, 100, 8) == [range(100)]  # small runs: one group, as before
