"""The one-step derivative in matrix form (hidden size n, input size m).

Oracles, each independent of the engine's rules: central differences of a
forward pass written out here (a product with a W*/U* weight is a
matrix-vector product, everything else elementwise), torch.autograd's
Jacobian of nn.LSTMCell / nn.GRUCell / nn.RNNCell, and the scalar engine at
n = 1 (numerically and exactly).
"""

import dataclasses
import json

import numpy as np
import pytest
import sympy

from symgrad.cellfile import load_cell
from symgrad.cells import BUILTIN, get_cell, make_cell, param_kind, prev_name
from symgrad.derivation import derive
from symgrad.linear import Chain, Diag, Kron, MatVec, Paren, VectorError, Weight, read_vector
from symgrad.vector import check_vector, derive_vector, vector_steps
from tests.latex import ARTICLE, compile_latex, needs_pdflatex, overfull
from tests.tolerances import (
    DOZENS_OPS,
    FEW_OPS,
    FLOAT64_DERIVATIVE_REL,
    OVERFULL_PT,
    TORCH_REL,
    VECTOR_FD_REL,
    VECTOR_FD_STEP,
    VECTOR_N1_REL,
)

SEED = 20201113
PEEPHOLE = "examples/peephole-lstm.toml"
DIMS = (2, 3, 8)


def _cell(name):
    return load_cell(PEEPHOLE) if name == PEEPHOLE else get_cell(name)


# ---------------------------------------------------------------- the oracle's forward pass


def _evaluate(expr, cell, values):
    """``expr`` at ``values`` (name -> array) read with vectors, written out by hand."""
    if expr.is_Symbol:
        return values[expr.name]
    if expr.is_Number:
        return float(expr)
    if expr.is_Add:
        return sum(_evaluate(a, cell, values) for a in expr.args)
    if expr.is_Mul:
        weights = [a for a in expr.args if a.is_Symbol and a.name in cell.params
                   and param_kind(a.name) == "matrix"]  # fmt: skip
        out = 1.0
        for a in expr.args:
            if a not in weights:
                out = out * _evaluate(a, cell, values)
        return values[weights[0].name] @ out if weights else out
    if expr.is_Pow:
        return _evaluate(expr.base, cell, values) ** int(expr.exp)
    u = _evaluate(expr.args[0], cell, values)
    name = type(expr).__name__
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-u))
    if name == "tanh":
        return np.tanh(u)
    assert name == "relu", name
    return np.maximum(u, 0.0)


def _forward(cell, carry, point):
    """Every value of one step; ``carry``: the scalar engine's one-step convention."""
    values = dict(point)
    for prev, expr in carry.items():
        values[prev.name] = _evaluate(expr, cell, values)
    for eq in cell.equations:
        values[eq.name] = _evaluate(eq.rhs, cell, values)
    return values


def _point(cell, n, m, rng):
    """Every input, parameter and previous-step value: one point (no batch axis)."""
    columns = read_vector(cell).columns
    point = {}
    for name in cell.params:
        if name in columns:
            k = m if columns[name] == "m" else n
            point[name] = rng.normal(size=(n, k)) / np.sqrt(k)
        else:
            point[name] = rng.normal(size=n)
    for name in cell.inputs:
        point[name] = rng.normal(size=m)
    for value in cell.values:
        point[prev_name(value)] = rng.uniform(-1.0, 1.0, size=n)
    return point


def _finite_differences(cell, carry, point, targets, sources):
    """d targets / d sources (blocks in order) by central differences."""
    h = VECTOR_FD_STEP
    blocks = []
    for target in targets:
        row = []
        for source in sources:
            base = point[source]
            columns = []
            for j in range(base.size):
                step = np.zeros(base.size)
                step[j] = h
                step = step.reshape(base.shape)
                up = _forward(cell, carry, {**point, source: base + step})[target]
                down = _forward(cell, carry, {**point, source: base - step})[target]
                columns.append((up - down) / (2 * h))
            row.append(np.stack(columns, axis=-1).reshape(len(columns[0]), *base.shape))
        blocks.append(row)
    return blocks


def _close(ours, reference, rtol):
    return np.max(np.abs(ours - reference)) <= rtol * (1.0 + np.max(np.abs(reference)))


# ---------------------------------------------------------------- finite differences


@pytest.mark.parametrize("n", DIMS)
@pytest.mark.parametrize("name", [*BUILTIN, PEEPHOLE])
def test_one_step_derivative_equals_finite_differences(name, n):
    cell = _cell(name)
    d = derive_vector(cell)
    assert d.check.passed, d.check.detail
    carry = derive(cell).carry
    f = d.numeric()
    rng = np.random.default_rng([SEED, n])
    for m in (1, n + 1):
        point = _point(cell, n, m, rng)
        J, terms = f(**{k: point[k] for k in f.names})
        assert J.shape == (n, n)
        assert np.allclose(sum(terms), J, rtol=0, atol=DOZENS_OPS)
        ((fd,),) = _finite_differences(cell, carry, point, [d.target], [d.source])
        assert _close(J, fd, VECTOR_FD_REL), (name, n, m)


@pytest.mark.parametrize("n", DIMS)
@pytest.mark.parametrize("name", [*BUILTIN, PEEPHOLE])
def test_state_jacobian_equals_finite_differences(name, n):
    cell = _cell(name)
    j = derive_vector(cell, "state")
    assert j.check.passed, j.check.detail
    f = j.numeric()
    point = _point(cell, n, 2, np.random.default_rng([SEED, n, 1]))
    J, terms = f(**{k: point[k] for k in f.names})
    size = n * len(cell.state)
    assert J.shape == (size, size)
    assert len(terms) == len(cell.state) and all(len(row) == len(cell.state) for row in terms)
    prevs = [prev_name(s) for s in cell.state]
    fd = np.block(_finite_differences(cell, {}, point, list(cell.state), prevs))
    assert _close(J, fd, VECTOR_FD_REL), (name, n)


@pytest.mark.parametrize(
    ("name", "wrt", "of"),
    [("rnn", "W", None), ("rnn", "U", None), ("lstm", "W_f", "h"), ("lstm", "b_i", "h"),
     ("gru-torch", "b_hn", None)],
)  # fmt: skip
def test_derivative_with_respect_to_a_parameter_equals_finite_differences(name, wrt, of):
    cell = get_cell(name)
    d = derive_vector(cell, wrt, of)
    assert d.check.passed, d.check.detail
    assert not any(t.dominant for t in d.terms)  # no carry term for a parameter
    n, m = 3, 2
    point = _point(cell, n, m, np.random.default_rng([SEED, 2]))
    f = d.numeric()
    J, _ = f(**{k: point[k] for k in f.names})
    assert J.shape == (n, *point[wrt].shape)  # [a, i, j] = d target_a / d W_ij
    ((fd,),) = _finite_differences(cell, {}, point, [d.target], [wrt])
    assert _close(J, fd, VECTOR_FD_REL)


def test_a_leading_batch_axis_gives_each_points_jacobian():
    d = derive_vector("gru")
    f = d.numeric()
    rng = np.random.default_rng(SEED)
    points = [_point(d.cell, 3, 2, rng) for _ in range(4)]
    stacked = {k: np.stack([p[k] for p in points]) for k in f.names}
    stacked["U_h"] = points[0]["U_h"]  # unbatched arrays broadcast
    J, terms = f(**stacked)
    assert J.shape == (4, 3, 3) and all(t.shape == (4, 3, 3) for t in terms)
    for k, p in enumerate(points):
        one, _ = f(**{name: p[name] for name in f.names if name != "U_h"}, U_h=points[0]["U_h"])
        assert np.allclose(J[k], one, rtol=FEW_OPS, atol=FEW_OPS)


def _k_steps(cell, carry, point, inputs, target):
    """``target`` after len(inputs) steps from the previous-step values in ``point``
    (the convention's carry applied at step t - 1), by hand."""
    values = dict(point)
    for x in inputs:
        out = _forward(cell, carry, {**values, "x": x})
        carry = {}
        values = {**point, **{prev_name(v): out[v] for v in cell.values}}
    return out[target]


@pytest.mark.parametrize("name", ["lstm", "gru", "gru-late-reset"])
def test_k_step_derivative_equals_finite_differences_of_k_steps(name):
    cell, n, m, steps = get_cell(name), 3, 2, 4
    d = derive_vector(cell)
    carry = derive(cell).carry
    point = _point(cell, n, m, np.random.default_rng([SEED, 6]))
    inputs = np.random.default_rng([SEED, 7]).normal(size=(steps, m))
    arrays = {f"x_{k + 1}": x for k, x in enumerate(inputs)}
    result = vector_steps(cell, steps, {**arrays, **_steps_point(cell, steps, point)})
    h, base, columns = VECTOR_FD_STEP, point[d.source], []
    for j in range(n):
        step = np.eye(n)[j] * h
        up = _k_steps(cell, carry, {**point, d.source: base + step}, inputs, d.target)
        down = _k_steps(cell, carry, {**point, d.source: base - step}, inputs, d.target)
        columns.append((up - down) / (2 * h))
    assert _close(result.exact, np.stack(columns, axis=-1), VECTOR_FD_REL)
    assert result.states.shape == (n * len(cell.state),) * 2


def _steps_point(cell, steps, point):
    from symgrad.vecnumeric import steps_names

    names = steps_names(derive_vector(cell, "state"), derive_vector(cell), steps, True)
    return {k: point[k] for k in names if k in point}


@pytest.mark.parametrize("name", ["lstm", "gru-late-reset", "gru"])
def test_k_step_derivative_at_n_1_is_the_scalar_multistep(name):
    from symgrad.multistep import derive_steps

    cell = get_cell(name)
    rng = np.random.default_rng([SEED, 8])
    for steps in (1, 2, 3):
        ms = derive_steps(cell, steps, "per step")
        point = {k: round(float(rng.uniform(-1, 1)), 3) for k in ms.free_names}
        scalar = ms.evaluate(point)
        columns = read_vector(cell).columns
        arrays = {k: np.full((1, 1) if k in columns else (1,), v) for k, v in point.items()}
        result = vector_steps(cell, steps, arrays)
        for ours, theirs in ((result.exact, scalar["exact"]), (result.product, scalar["product"])):
            assert abs(ours[0, 0] - float(theirs)) <= VECTOR_N1_REL * (1 + abs(float(theirs)))
        if steps == 1 or name == "gru":  # one state: the article's product is exact
            assert abs(result.gap[0, 0]) <= VECTOR_N1_REL
        else:  # the path through o_t (r_t) the one-step terms leave out
            assert abs(result.gap[0, 0]) > 1e-6


def test_k_step_derivative_names_what_it_needs():
    cell = get_cell("lstm")
    point = _point(cell, 3, 2, np.random.default_rng(SEED))
    arrays = {**_steps_point(cell, 2, point), "x_1": np.ones(2), "x_2": np.ones(2)}
    assert vector_steps(cell, 2, arrays).exact.shape == (3, 3)
    broken = {k: v for k, v in arrays.items() if k != "x_2"}
    broken["h_prev"] = point["h_prev"]  # the convention computes it: not an input
    with pytest.raises(ValueError, match="missing x_2; unknown h_prev"):
        vector_steps(cell, 2, broken)


# ---------------------------------------------------------------- PyTorch


def _t(torch, a):
    return torch.tensor(np.asarray(a), dtype=torch.float64)


def _copy(torch, module, weight_ih, weight_hh, bias_ih, bias_hh):
    with torch.no_grad():
        module.weight_ih.copy_(_t(torch, np.concatenate(weight_ih)))
        module.weight_hh.copy_(_t(torch, np.concatenate(weight_hh)))
        module.bias_ih.copy_(_t(torch, np.concatenate(bias_ih)))
        module.bias_hh.copy_(_t(torch, np.concatenate(bias_hh)))
    return module


def _split_bias(p, names, rng):
    """torch's two biases per gate, summing to the cell's one: b_g = b_ih + b_hh."""
    hh = [rng.normal(size=p[names[0]].shape) for _ in names]
    return [p[b] - extra for b, extra in zip(names, hh, strict=True)], hh


@pytest.mark.parametrize("n", DIMS)
def test_lstm_state_jacobian_equals_autograd_of_lstm_cell(torch, n):
    cell = get_cell("lstm")
    f = derive_vector(cell, "state").numeric()  # rows (c, h), columns (c_prev, h_prev)
    rng = np.random.default_rng([SEED, n, 2])
    for m in (2, n + 1):
        p = _point(cell, n, m, rng)
        module = torch.nn.LSTMCell(m, n, dtype=torch.float64)
        # torch stacks the gates as input, forget, cell (g), output.
        ih, hh = _split_bias(p, ["b_i", "b_f", "b_c", "b_o"], rng)
        gates = ["i", "f", "c", "o"]
        _copy(torch, module, [p[f"W_{g}"] for g in gates], [p[f"U_{g}"] for g in gates], ih, hh)

        def step(c_prev, h_prev, module=module, p=p):
            h, c = module(_t(torch, p["x"]), (h_prev, c_prev))
            return c, h

        blocks = torch.autograd.functional.jacobian(
            step, (_t(torch, p["c_prev"]), _t(torch, p["h_prev"]))
        )
        reference = np.block([[b.numpy() for b in row] for row in blocks])
        J, _ = f(**{k: p[k] for k in f.names})
        assert np.max(np.abs(J - reference)) <= TORCH_REL * np.max(np.abs(reference)), (n, m)


@pytest.mark.parametrize("n", DIMS)
def test_gru_torch_equals_autograd_of_gru_cell(torch, n):
    cell = get_cell("gru-torch")
    f = derive_vector(cell).numeric()
    rng = np.random.default_rng([SEED, n, 3])
    for m in (2, n + 1):
        p = _point(cell, n, m, rng)
        module = torch.nn.GRUCell(m, n, dtype=torch.float64)
        gates = ["r", "z", "n"]  # torch's order: reset, update, new
        _copy(torch, module, [p[f"W_{g}"] for g in gates], [p[f"U_{g}"] for g in gates],
              [p[f"b_i{g}"] for g in gates], [p[f"b_h{g}"] for g in gates])  # fmt: skip
        reference = torch.autograd.functional.jacobian(
            lambda h, module=module, p=p: module(_t(torch, p["x"]), h), _t(torch, p["h_prev"])
        ).numpy()
        J, _ = f(**{k: p[k] for k in f.names})
        assert np.max(np.abs(J - reference)) <= TORCH_REL * np.max(np.abs(reference)), (n, m)


@pytest.mark.parametrize("n", DIMS)
def test_rnn_equals_autograd_of_rnn_cell(torch, n):
    cell = get_cell("rnn")
    f = derive_vector(cell).numeric()
    rng = np.random.default_rng([SEED, n, 4])
    for m in (2, n + 1):
        p = _point(cell, n, m, rng)
        module = torch.nn.RNNCell(m, n, nonlinearity="tanh", dtype=torch.float64)
        ih, hh = _split_bias(p, ["b"], rng)
        _copy(torch, module, [p["W"]], [p["U"]], ih, hh)
        reference = torch.autograd.functional.jacobian(
            lambda h, module=module, p=p: module(_t(torch, p["x"]), h), _t(torch, p["h_prev"])
        ).numpy()
        J, _ = f(**{k: p[k] for k in f.names})
        assert np.max(np.abs(J - reference)) <= TORCH_REL * np.max(np.abs(reference)), (n, m)


# ---------------------------------------------------------------- one dimension


def _scalar_reading(op):
    """A linear map at n = m = 1 as a SymPy expression (weights and vectors are numbers)."""
    if isinstance(op, Chain):
        return op.coeff * sympy.Mul(*(_scalar_reading(f) for f in op.factors))
    if isinstance(op, Diag):
        return sympy.Mul(*(_plain(x) for x in op.factors))
    if isinstance(op, Weight):
        return sympy.Symbol(op.name, real=True)
    if isinstance(op, Kron):
        return _plain(op.vector)
    assert isinstance(op, Paren)
    return sympy.Add(*(_scalar_reading(c) for c in op.chains))


def _product(weight, vector):
    return weight * vector


def _plain(expr):
    return expr.replace(MatVec, _product)


def _entries(cell):
    """(scalar derivation, vector derivation) pairs: the default and the state Jacobian."""
    pairs = [(derive(cell), derive_vector(cell))]
    scalar, vector = derive(cell, "state"), derive_vector(cell, "state")
    for row_s, row_v in zip(scalar.entries, vector.entries, strict=True):
        pairs += list(zip(row_s, row_v, strict=True))
    return pairs


@pytest.mark.parametrize("name", [*BUILTIN, PEEPHOLE])
def test_at_n_1_the_terms_are_the_scalar_engines_exactly(name):
    for scalar, vector in _entries(_cell(name)):
        assert [t.via for t in vector.terms] == [t.via for t in scalar.terms]
        for tv, ts in zip(vector.terms, scalar.terms, strict=True):
            assert sympy.expand(_scalar_reading(tv.operator) - ts.expr) == 0, (name, tv.via)
            assert tv.gate_count == ts.gate_count == tv.gate_count_1d
            assert tv.dominant == ts.dominant


@pytest.mark.parametrize("name", [*BUILTIN, PEEPHOLE])
def test_at_n_1_the_kernels_equal_the_scalar_kernels(name):
    cell = _cell(name)
    rng = np.random.default_rng([SEED, 5])
    for scalar, vector in _entries(cell):
        f, g = scalar.numeric(), vector.numeric()
        for saturated in (False, True):
            point = {k: float(v.ravel()[0]) for k, v in _point(cell, 1, 1, rng).items()}
            if saturated:  # gates at 1 - 1e-17: the complements must keep their digits
                point = {k: 40.0 * np.sign(v) if k.startswith("b") else v
                         for k, v in point.items()}  # fmt: skip
            total, terms = f(**{k: point[k] for k in f.names})
            columns = read_vector(cell).columns
            arrays = {k: np.full((1, 1) if k in columns else (1,), point[k]) for k in g.names}
            J, matrices = g(**arrays)
            for a, b in zip(matrices, terms, strict=True):
                assert abs(a[0, 0] - b) <= VECTOR_N1_REL * (1 + abs(b)), (name, point)
            assert abs(J[0, 0] - total) <= VECTOR_N1_REL * (1 + abs(total))


# ---------------------------------------------------------------- the printed form


def test_simple_rnn_reads_diag_one_minus_h_odot_h_times_u():
    d = derive_vector("rnn")
    (term,) = d.terms
    assert d.json()["terms"][0]["latex"] == r"\operatorname{diag}\left(1 - h_t \odot h_t\right) U"
    assert d.json()["terms"][0]["text"] == "diag(1 - h_t ⊙ h_t) U"
    assert term.dominant and term.gate_count == 1


def test_lstm_forget_term_is_split_across_u_f():
    d = derive_vector("lstm")
    forget = next(t for t in d.terms if t.via == "f")
    text = d.json()["terms"][1]
    assert text["text"] == (
        "diag(f_t ⊙ (1 - f_t) ⊙ c_{t-1}) U_f diag(o_{t-1} ⊙ (1 - tanh² c_{t-1}))"
    )
    assert (forget.gate_count, len(forget.row_gates), len(forget.column_gates)) == (4, 2, 2)
    assert forget.gate_count_1d == 4
    # c_{t-1} left of U_f and 1 - tanh^2 c_{t-1} right of it: paired in 1-D (< 0.45), not here.
    ((row, column),) = forget.pairs
    assert row == sympy.Symbol("c_prev", real=True)
    assert column.has(sympy.Symbol("c_prev", real=True)) and column.is_Add
    assert any("no longer pair" in note for note in text["notes"])
    assert any("on opposite sides of U_f" in note for note in text["notes"])
    assert "o_{t-1} ⊙ tanh c_{t-1}" in d.text()  # the convention, in vector form


def test_gru_reset_factor_reads_i_plus_diag_times_u_r():
    h_hat = next(t for t in derive_vector("gru").terms if t.via == "h_hat")
    assert derive_vector("gru").json()["terms"][2]["text"] == (
        "diag(z_t ⊙ (1 - h\u0302_t ⊙ h\u0302_t)) U_h diag(r_t) (I + diag((1 - r_t) ⊙ h_{t-1}) U_r)"
    )
    assert (len(h_hat.row_gates), len(h_hat.column_gates), h_hat.gate_count_1d) == (2, 1, 3)


def test_a_gate_that_a_sum_swallows_in_n_dimensions_is_named():
    # In 1-D the two paths share k_t g_t and the link reads (1 - v^2) k g (U_1 + U_2);
    # in n-D only g_t is common (on the right): k_t sits inside the sum.
    cell = make_cell(
        "swallowed",
        "two paths through U_1 and U_2 that share their gates only in one dimension",
        inputs="x",
        params="W_g b_g W_k b_k U_1 U_2",
        state=["h"],
        equations=[
            ("g", None, "sigmoid(W_g*x + b_g)", "gate"),
            ("k", None, "sigmoid(W_k*x + b_k)", "gate"),
            ("p", None, "U_2*(g*h_prev)", None),
            ("v", None, "tanh(U_1*(k*g*h_prev) + k*p)", "candidate"),
            ("h", None, "v", None),
        ],
        wrt=("h", "h_prev"),
    )
    d = derive_vector(cell)
    assert d.check.passed, d.check.detail
    (term,) = d.terms
    assert (term.gate_count_1d, term.gate_count) == (3, 2)
    assert term.lost == (sympy.Symbol("k", real=True),)
    notes = d.json()["terms"][0]["notes"]
    assert any("no diag factor here" in note and "k_t" in note for note in notes)
    assert "1 gates" not in d.text() and "2 gates: 1 row, 1 column; 1-D: 3" in d.text()


@needs_pdflatex
def test_every_vector_derivation_compiles(tmp_path):
    body = []
    for name in [*BUILTIN, PEEPHOLE]:
        body.append(derive_vector(_cell(name)).latex())
        body.append(derive_vector(_cell(name), "state").latex())
    body.append(derive_vector("lstm", "W_f", "h").latex())
    document = ARTICLE + "\\begin{document}\n" + "\n".join(body) + "\n\\end{document}\n"
    pdf = compile_latex(tmp_path, "vector.tex", document)
    assert pdf.stat().st_size > 0
    boxes = overfull(pdf.with_suffix(".log").read_text(errors="replace"))
    assert not [b for b in boxes if b[0] > OVERFULL_PT], boxes
    assert derive_vector("rnn").latex(standalone=True).startswith("\\documentclass")


def test_markdown_and_json_carry_the_same_terms():
    d = derive_vector("lstm")
    md = d.render("markdown")
    assert md.count("$$") >= 10 and r"\operatorname{diag}" in md
    f = d.numeric()
    point = _point(d.cell, 3, 2, np.random.default_rng(SEED))
    values = f(**{k: point[k] for k in f.names})
    out = json.loads(json.dumps(d.json(values)))
    assert [t["name"] for t in out["terms"]] == ["c_prev", "f", "i", "c_hat"]
    assert np.allclose(out["total_value"], values[0], rtol=0, atol=0)
    total = sum(np.array(t["value"]) for t in out["terms"])
    assert np.allclose(total, values[0], rtol=FLOAT64_DERIVATIVE_REL, atol=DOZENS_OPS)
    assert out["check"]["passed"] and out["convention"]
    state = json.loads(json.dumps(derive_vector("lstm", "state").json()))
    assert len(state["entries"]) == 2 and state["check"]["passed"]


# ---------------------------------------------------------------- the self-check can fail


def test_a_term_off_by_a_thousandth_fails_the_self_check():
    d = derive_vector("lstm")
    t = d.terms[1]
    off = dataclasses.replace(t, operator=Chain(t.operator.coeff * sympy.Rational(1001, 1000),
                                                t.operator.factors))  # fmt: skip
    planted = dataclasses.replace(d, terms=(d.terms[0], off, *d.terms[2:]))
    check = check_vector(planted)
    assert not check.passed and check.max_error > 1e-5


def test_row_and_column_factors_swapped_fail_although_equal_in_one_dimension():
    d = derive_vector("lstm")
    t = d.terms[1]
    row, weight, column = t.operator.factors
    swapped = Chain(t.operator.coeff, (column, weight, row))
    assert sympy.expand(_scalar_reading(swapped) - _scalar_reading(t.operator)) == 0
    planted = dataclasses.replace(d, terms=(d.terms[0], dataclasses.replace(t, operator=swapped),
                                            *d.terms[2:]))  # fmt: skip
    assert not check_vector(planted).passed


def test_central_differences_catch_a_planted_error_too():
    d = derive_vector("rnn-relu")  # not analytic: central differences
    assert "central differences" in d.check.detail and d.check.passed
    (t,) = d.terms
    off = dataclasses.replace(t, operator=Chain(t.operator.coeff * sympy.Rational(1001, 1000),
                                                t.operator.factors))  # fmt: skip
    assert not check_vector(dataclasses.replace(d, terms=(off,))).passed


# ---------------------------------------------------------------- mistakes, by name


@pytest.mark.parametrize(
    ("equation", "message"),
    [
        ("tanh(U*U_b*h_prev)", r"U \* U_b multiplies weight matrices"),
        ("tanh(x*h_prev)", "combined elementwise"),
        ("tanh(U + h_prev)", "the weight U must multiply a vector"),
        ("tanh(x)", "gives a vector of the input's size m"),
    ],
)
def test_a_cell_the_vector_reading_cannot_read_is_refused_by_name(equation, message):
    cell = make_cell("bad", "", "x", "U U_b", ["h"], [("h", None, equation, None)], ("h", "h_prev"))
    with pytest.raises(VectorError, match=message):
        derive_vector(cell)


def test_unknown_wrt_and_of_list_the_choices():
    with pytest.raises(
        ValueError, match=r"Valid choices: c_prev, h_prev, state, or a parameter \(W_f"
    ):
        derive_vector("lstm", "q_prev")
    with pytest.raises(ValueError, match="Valid targets: f, i, o, c_hat, c, h"):
        derive_vector("lstm", of="q")


def test_numeric_names_its_arrays_and_their_shapes():
    f = derive_vector("rnn").numeric()
    assert f.names == ("U", "W", "b", "h_prev", "x")
    good = {"U": np.eye(3), "W": np.ones((3, 2)), "b": np.zeros(3), "h_prev": np.zeros(3),
            "x": np.ones(2)}  # fmt: skip
    with pytest.raises(TypeError, match="needs exactly U, W, b, h_prev, x; missing x"):
        f(**{k: v for k, v in good.items() if k != "x"})
    with pytest.raises(ValueError, match=r"U must have shape \(\.\.\., 3, 3\)"):
        f(**{**good, "U": np.eye(2)})
    with pytest.raises(ValueError, match=r"W must have shape \(\.\.\., 3, 2\)"):
        f(**{**good, "W": np.ones((3, 3))})
    J, _ = f(**good)  # h_prev = 0, W x + b = 2: J = diag(1 - tanh(2)^2) U
    assert np.allclose(J, (1 - np.tanh(2.0) ** 2) * np.eye(3), rtol=FEW_OPS, atol=0)


def test_numeric_returns_fresh_arrays():
    # h_t = U h_{t-1} + b: the one term is the weight U itself.
    cell = make_cell("linear", "", "x", "U b", ["h"], [("h", None, "U*h_prev + b", None)],
                     ("h", "h_prev"))  # fmt: skip
    f = derive_vector(cell).numeric()
    u = np.eye(2)
    assert f.names == ("U",)
    J, (term,) = f(U=u)
    J[0, 0] = 7.0
    term[1, 1] = 5.0
    assert np.array_equal(u, np.eye(2)) and term[0, 0] == 1.0


# ---------------------------------------------------------------- the command line and the API


@pytest.mark.parametrize("fmt", ["text", "latex", "markdown", "json"])
@pytest.mark.parametrize("wrt", [[], ["--wrt", "state"], ["--wrt", "U_f"]])
def test_derive_vector_on_the_command_line(run, fmt, wrt):
    code, out, _ = run("derive", "lstm", "--vector", *wrt, "--format", fmt)
    assert code == 0
    if fmt == "json":
        import json

        assert json.loads(out)["cell"] == "lstm"
    else:
        assert "diag" in out


def test_derive_vector_refuses_scalar_points(run):
    code, _, err = run("derive", "lstm", "--vector", "--at", "x=1")
    assert code == 2
    assert "Python API" in err


def test_the_top_level_derive_takes_vector():
    import symgrad

    assert type(symgrad.derive("gru", vector=True)).__name__ == "VectorDerivation"
    assert type(symgrad.derive("gru")).__name__ == "Derivation"


# ---------------------------------------------------------------- the compiled state step


@pytest.mark.parametrize("name", BUILTIN)
def test_the_compiled_state_step_equals_the_interpreted_jacobian(name):
    # flow --weights's kernel (generated code) against numeric() (the
    # expressions interpreted), at a batch of 4 seeded points, n = 5, m = 3.
    from symgrad.veckernel import make_state_step

    j = derive_vector(name, wrt="state")
    rng = np.random.default_rng(7)
    point = {
        k: np.stack([v] * 4) + 0.1 * rng.standard_normal((4, *np.shape(v)))
        for k, v in _point(j.cell, 5, 3, rng).items()
        if k in j.free_names
    }
    step = make_state_step(j)
    jacobian, states = step(point)
    expected, _ = j.numeric()(**point)
    np.testing.assert_allclose(
        jacobian, expected, rtol=FLOAT64_DERIVATIVE_REL, atol=FLOAT64_DERIVATIVE_REL
    )
    assert set(states) == {prev_name(s) for s in j.cell.state}
    assert "W_" not in step.source and name not in step.source  # positional names only
