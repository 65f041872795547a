"""PyTorch as the outside referee: ``lstm`` is torch.nn.LSTMCell, ``gru-torch`` is
torch.nn.GRUCell, and the textbook ``gru`` is not.

Random weights are copied into cells of hidden size 1 in float64; torch.autograd's
derivatives must equal the engine's (evaluated by its NumPy kernels) at every
point. Without torch these tests skip (``pip install 'symgrad[torch]'``); CI
installs torch==2.13.0.
"""

import dataclasses
import functools

import mpmath
import numpy as np
import sympy

from symgrad.cells import get_cell
from symgrad.derivation import compose, derive
from symgrad.sampling import sample
from tests.tolerances import STEP_VALUE_ABS, TORCH_REL

SEED = 20201113
POINTS = 16


def _points(cell_name, extra=()):
    cell = get_cell(cell_name)
    names = set(extra)
    for row in derive(cell, "state").entries:
        for d in row:
            names |= set(d.free_names)
    draws = sample(cell, sorted(names), POINTS, np.random.default_rng(SEED))
    return [{n: float(v[k]) for n, v in draws.items()} for k in range(POINTS)]


def _kernel_value(d, point) -> float:
    f = d.numeric()
    total, _ = f(**{n: point[n] for n in f.names})
    return float(total)


@functools.cache
def _step(cell_name, value):
    cell = get_cell(cell_name)
    expr = compose(cell, {}, cell.symbol(value))
    names = sorted(s.name for s in expr.free_symbols)
    symbols = [cell.symbol(n) for n in names]
    # expr.sigmoid prints as mpmath.exp(...): the module itself must be in scope.
    return names, sympy.lambdify(symbols, expr, modules=[{"mpmath": mpmath}, "mpmath"])


def _forward(cell_name, value, point) -> float:
    """A value of the cell's step at ``point``, from its equations, in 30-digit mpmath."""
    names, f = _step(cell_name, value)
    with mpmath.workdps(30):
        return float(f(*(mpmath.mpf(point[n]) for n in names)))


def _close(ours, theirs, rtol=TORCH_REL):
    return abs(ours - theirs) <= rtol * abs(theirs)


def _same_value(ours, theirs):
    return abs(ours - theirs) <= STEP_VALUE_ABS * (1 + abs(theirs))


# ---------------------------------------------------------------- LSTM


def _tensor(torch, values):
    # float64 throughout: torch.tensor's default dtype is float32.
    return torch.tensor(values, dtype=torch.float64)


def _lstm_cell(torch, p):
    cell = torch.nn.LSTMCell(1, 1, dtype=torch.float64)
    with torch.no_grad():
        # torch stacks the gates as input, forget, cell (g), output.
        cell.weight_ih.copy_(_tensor(torch, [[p["W_i"]], [p["W_f"]], [p["W_c"]], [p["W_o"]]]))
        cell.weight_hh.copy_(_tensor(torch, [[p["U_i"]], [p["U_f"]], [p["U_c"]], [p["U_o"]]]))
        cell.bias_ih.copy_(_tensor(torch, [p["b_i"], p["b_f"], p["b_c"], p["b_o"]]))
        cell.bias_hh.zero_()  # one bias per gate: b_g = b_ih + b_hh, exactly
    return cell


def _scalar(torch, value, grad=False):
    return torch.tensor([[value]], dtype=torch.float64, requires_grad=grad)


def test_lstm_state_jacobian_equals_autograd(torch):
    jacobian = derive("lstm", "state")  # rows c, h; columns c_prev, h_prev
    for p in _points("lstm"):
        cell = _lstm_cell(torch, p)
        c_prev, h_prev = _scalar(torch, p["c_prev"], True), _scalar(torch, p["h_prev"], True)
        h, c = cell(_scalar(torch, p["x"]), (h_prev, c_prev))
        # The cell is LSTMCell: same step, from its equations.
        assert _same_value(_forward("lstm", "c", p), c.item())
        assert _same_value(_forward("lstm", "h", p), h.item())
        for row, out in zip(jacobian.entries, (c, h), strict=True):
            grads = torch.autograd.grad(out.sum(), (c_prev, h_prev), retain_graph=True)
            for d, g in zip(row, grads, strict=True):
                assert _close(_kernel_value(d, p), g.item()), (d.target, d.source, p)


def test_lstm_one_step_derivative_equals_autograd_through_the_carry(torch):
    # The article's dc_t/dc_{t-1}: h_{t-1} = o_{t-1} tanh c_{t-1}, o_{t-1} held fixed.
    d = derive("lstm")
    for p in _points("lstm", extra=d.free_names):
        cell = _lstm_cell(torch, p)
        c_prev = _scalar(torch, p["c_prev"], True)
        h_prev = p["o_prev"] * torch.tanh(c_prev)
        _, c = cell(_scalar(torch, p["x"]), (h_prev, c_prev))
        (g,) = torch.autograd.grad(c.sum(), c_prev)
        assert _close(_kernel_value(d, p), g.item()), p
        # Each term, too, where torch can isolate it: f_t is the direct path.
        f = torch.sigmoid(_tensor(torch, p["W_f"] * p["x"] + p["U_f"] * h_prev.item() + p["b_f"]))
        f = f.item()
        _, terms = d.numeric()(**{n: p[n] for n in d.free_names})
        assert _close(float(terms[0]), f)


# ---------------------------------------------------------------- GRU


def _gru_cell(torch, p):
    cell = torch.nn.GRUCell(1, 1, dtype=torch.float64)
    with torch.no_grad():
        # torch stacks the gates as reset, update, new.
        cell.weight_ih.copy_(_tensor(torch, [[p["W_r"]], [p["W_z"]], [p["W_n"]]]))
        cell.weight_hh.copy_(_tensor(torch, [[p["U_r"]], [p["U_z"]], [p["U_n"]]]))
        cell.bias_ih.copy_(_tensor(torch, [p["b_ir"], p["b_iz"], p["b_in"]]))
        cell.bias_hh.copy_(_tensor(torch, [p["b_hr"], p["b_hz"], p["b_hn"]]))
    return cell


def _gru_cell_step(torch, p):
    """(h_t, dh_t/dh_{t-1}) of GRUCell at the point, by autograd."""
    h_prev = _scalar(torch, p["h_prev"], True)
    h = _gru_cell(torch, p)(_scalar(torch, p["x"]), h_prev)
    (g,) = torch.autograd.grad(h.sum(), h_prev)
    return h.item(), g.item()


def test_gru_torch_is_gru_cell_and_its_derivative_equals_autograd(torch):
    d = derive("gru-torch")
    assert [s for s in d.cell.params] == [
        "W_r",
        "W_z",
        "W_n",
        "U_r",
        "U_z",
        "U_n",
        "b_ir",
        "b_iz",
        "b_in",
        "b_hr",
        "b_hz",
        "b_hn",
    ]
    for p in _points("gru-torch"):
        h, g = _gru_cell_step(torch, p)
        assert _same_value(_forward("gru-torch", "h", p), h)
        assert _close(_kernel_value(d, p), g), p


def _textbook(p, swap_z: bool) -> dict:
    """gru's parameters from GRUCell's: like-named copies; ``swap_z`` negates the
    update gate's (sigma(-u) = 1 - sigma(u): gru's z_t is GRUCell's 1 - z_t)."""
    sign = -1.0 if swap_z else 1.0
    return {
        "x": p["x"],
        "h_prev": p["h_prev"],
        "W_z": sign * p["W_z"],
        "U_z": sign * p["U_z"],
        "b_z": sign * (p["b_iz"] + p["b_hz"]),
        "W_r": p["W_r"],
        "U_r": p["U_r"],
        "b_r": p["b_ir"] + p["b_hr"],
        "W_h": p["W_n"],
        "U_h": p["U_n"],
        "b_h": p["b_in"] + p["b_hn"],
    }


def test_textbook_gru_is_not_gru_cell_and_where_they_differ(torch):
    points = _points("gru-torch")
    gru = derive("gru")
    # (1) Copying like-named weights: far off, z and 1 - z play swapped roles.
    off = [
        abs(_forward("gru", "h", _textbook(p, False)) - _gru_cell_step(torch, p)[0]) for p in points
    ]
    assert np.median(off) > 1e-2
    # (2) With z swapped: still off wherever b_hn != 0, since GRUCell resets
    # U_n h_{t-1} + b_hn after the matrix product, and r_t b_hn is no constant bias.
    for p in points:
        h, g = _gru_cell_step(torch, p)
        textbook = _textbook(p, True)
        assert not _close(_forward("gru", "h", textbook), h, 1e-6)
        assert not _close(_kernel_value(gru, textbook), g, 1e-6)
    # (3) With z swapped and b_hn = 0, in one dimension the cells coincide: value
    # and derivative. Nothing else differs.
    for p in points:
        q = {**p, "b_hn": 0.0}
        h, g = _gru_cell_step(torch, q)
        textbook = _textbook(q, True)
        assert _same_value(_forward("gru", "h", textbook), h)
        assert _close(_kernel_value(gru, textbook), g)


# ---------------------------------------------------------------- without torch


def test_the_derivative_of_gru_torch_carries_a_b_hn_term():
    b_hn, r, u_r = sympy.symbols("b_hn r U_r", real=True)
    d = derive("gru-torch")
    (n_term,) = [t for t in d.terms if t.via == "n"]
    # r (1 - r) U_r b_hn appears in the n_t term once expanded; gru has no such bias.
    assert n_term.expr.has(b_hn)
    expanded = sympy.expand(n_term.expr)
    assert any(term.has(b_hn) and term.has(u_r) and term.has(r) for term in expanded.args)
    assert not any(t.expr.has(sympy.Symbol("b_h", real=True)) for t in derive("gru").terms)


def test_show_gru_torch_says_where_it_differs_from_gru(run):
    code, out, _ = run("show", "gru-torch", "--format", "text")
    assert code == 0
    text = " ".join(out.split())
    assert "Where it differs from gru" in text
    assert "z and 1 - z swap roles" in text
    assert "after the matrix product" in text
    assert "r_t b_hn" in text


def test_the_referee_notices_one_part_in_a_billion(torch):
    d = derive("lstm")
    terms = list(d.terms)
    terms[1] = dataclasses.replace(terms[1], expr=terms[1].expr * (1 + sympy.Rational(1, 10**9)))
    planted = dataclasses.replace(d, terms=tuple(terms))
    missed = 0
    for p in _points("lstm", extra=d.free_names):
        c_prev = _scalar(torch, p["c_prev"], True)
        h_prev = p["o_prev"] * torch.tanh(c_prev)
        _, c = _lstm_cell(torch, p)(_scalar(torch, p["x"]), (h_prev, c_prev))
        (g,) = torch.autograd.grad(c.sum(), c_prev)
        missed += _close(_kernel_value(planted, p), g.item())
    # Only where the planted term is below 1e-3 of the total can 1e-9 hide.
    assert missed <= POINTS // 4, missed
