"""Seeded random draws: points for Monte Carlo evidence, parameters for flow runs.

The default distribution is SPEC section 3's: weights, biases and inputs
~ N(0, 1); previous-step values by what they are: gates of the previous step
~ U(0, 1), states proved to stay in [-1, 1] (h_{t-1}) ~ U(-1, 1), the LSTM's
unbounded memory c_{t-1} ~ N(0, 1). The range of each previous-step value
comes from the cell itself (:func:`symgrad.ranges.value_ranges`), not from its
name. ``init`` switches the weights to what a framework would draw for a
hidden size of ``dim`` (1 by default, where Xavier's scale is exactly 1).

One-dimensional draws (:func:`sample`: arrays ``(N,)``) and n-dimensional
ones (:func:`draw_vector_params`: n x n weight matrices, vectors in R^n) read
a parameter's role from its name the same way (:func:`param_kind`), and
:func:`describe` says in one line what either draws.
"""

from __future__ import annotations

import math

import numpy as np

from .cells import Cell, param_kind
from .defaults import INITS
from .ranges import value_ranges

__all__ = ["describe", "draw_vector_params", "param_kind", "sample"]


def describe(
    init: str = "normal",
    forget_bias: float | None = None,
    cell: Cell | None = None,
    *,
    dim: int | None = None,
    names=None,
) -> str:
    """The distribution in one line of prose with ``$math$`` (:func:`symgrad.text.plain`
    for plain text), printed beside every figure drawn from it.

    Without ``dim``: one point's draws (:func:`sample`), previous-step values
    included; with ``cell``, the previous-step states are named with the
    distribution :func:`sample` really draws them from; with ``cell`` and
    ``names`` (the names drawn), exactly the previous-step values among them,
    each with its distribution; without ``cell``, SPEC section 3's defaults.
    With ``dim``: the draws of a trajectory of a ``dim``-dimensional cell
    (``symgrad flow``): parameters once per sample (:func:`sample` or
    :func:`draw_vector_params`), inputs afresh every step, state 0 at step 0.
    """
    if dim is not None:
        text = _trajectory(init, dim)
    elif cell is not None and names is not None:
        ranges = {sym.name: r for sym, r in value_ranges(cell).items()}
        drawn = [n for n in names if n.endswith("_prev") and n in ranges]
        text = "; ".join(
            [INITS[init]]
            + [f"${cell.latex[n]} \\sim {_PREVIOUS[_kind(ranges[n])]}$" for n in drawn]
        )
    elif cell is None:
        text = (
            INITS[init] + "; $c_{t-1} \\sim N(0,1)$; previous gates $\\sim U(0,1)$; "
            "$h_{t-1} \\sim U(-1,1)$"
        )
    else:
        ranges = {sym.name: r for sym, r in value_ranges(cell).items()}
        states = [
            f"${cell.latex[f'{s}_prev']} \\sim {_PREVIOUS[_kind(ranges[s])]}$" for s in cell.state
        ]
        text = INITS[init] + "; " + "; ".join([*states, "previous gates $\\sim U(0,1)$"])
    if forget_bias is not None:
        text += f"; forget bias $b_f = {forget_bias:g}$"
    return text


def _trajectory(init: str, dim: int) -> str:
    if dim == 1:
        text = f"{INITS[init]}; parameters drawn once per sample, $x_t$"
    else:
        text = {
            "normal": f"weight matrices ${dim} \\times {dim}$ with entries $\\sim N(0, 1/{dim})$, "
            "biases $\\sim N(0, 1)$",
            "xavier": f"weight matrices ${dim} \\times {dim}$ with entries "
            f"$\\sim N(0, 2/({dim} + {dim}))$ (Glorot), biases 0",
            "orthogonal": f"recurrent matrices Haar-orthogonal ${dim} \\times {dim}$, "
            f"input matrices Glorot $N(0, 1/{dim})$, biases 0",
        }[init]
        text += (
            ", other parameters elementwise $\\sim N(0, 1)$, drawn once per sample; "
            f"$x_t \\sim N(0, I_{{{dim}}})$"
        )
    return text + " afresh every step; the state starts at 0"


def _recurrent(name: str) -> bool:
    return name.split("_")[0] == "U"


def sample(
    cell: Cell,
    names,
    n: int,
    rng: np.random.Generator,
    init: str = "normal",
    forget_bias: float | None = None,
) -> dict[str, np.ndarray]:
    """``n`` independent draws of every name in ``names`` (inputs, parameters and
    previous-step values of ``cell``), as float64 arrays of shape ``(n,)``.

    Raises ``ValueError`` for an unknown ``init`` or a name the cell does not know.
    """
    if init not in INITS:
        raise ValueError(f"unknown init {init!r}. Valid choices: {', '.join(INITS)}")
    ranges = {sym.name: r for sym, r in value_ranges(cell).items()}
    params = set(cell.params)
    out = {}
    for name in names:
        if name in params:
            out[name] = _parameter(name, n, rng, init)
        elif name in cell.inputs:
            out[name] = rng.standard_normal(n)
        elif name in ranges:
            out[name] = _previous(ranges[name], n, rng)
        else:
            raise ValueError(f"{cell.name} has no input, parameter or previous value {name!r}")
    if forget_bias is not None and "b_f" in out:
        out["b_f"] = np.full(n, float(forget_bias))
    return out


def _parameter(name: str, n: int, rng, init: str) -> np.ndarray:
    kind = param_kind(name)
    if init == "normal" or kind == "elementwise":
        return rng.standard_normal(n)
    if kind == "bias":
        return np.zeros(n)
    if _recurrent(name) and init == "orthogonal":
        return rng.choice([-1.0, 1.0], size=n)
    # Glorot normal with fan_in = fan_out = 1: standard deviation sqrt(2 / 2) = 1.
    return rng.standard_normal(n) * math.sqrt(2.0 / (1 + 1))


def draw_vector_params(
    cell: Cell,
    samples: int,
    n: int,
    rng: np.random.Generator,
    init: str = "normal",
    forget_bias: float | None = None,
    fixed: dict | None = None,
) -> dict:
    """Parameters of ``samples`` independent n-dimensional cells.

    Weight matrices (``W*``, ``U*``) have shape ``(samples, n, n)``: entries
    N(0, 1/n) (``normal`` and ``xavier``: Glorot's 2/(fan_in + fan_out) is
    1/n for a square matrix), or Haar-orthogonal recurrent matrices
    (``orthogonal``). Biases ``(samples, n)``: N(0, 1) under ``normal``, 0
    otherwise; ``forget_bias`` sets ``b_f``. Other (elementwise) parameters
    ``(samples, n)`` ~ N(0, 1). At n = 1 these are the scales of
    :func:`sample`. ``fixed``: name -> c, matrices c I, vectors c 1.
    """
    fixed = fixed or {}
    out = {}
    for name in cell.params:
        kind = param_kind(name)
        if kind == "matrix":
            if init == "orthogonal" and _recurrent(name):
                out[name] = _haar_orthogonal(rng, samples, n)
            else:
                out[name] = rng.standard_normal((samples, n, n)) / math.sqrt(n)
        elif kind == "bias":
            draw = rng.standard_normal((samples, n))
            out[name] = draw if init == "normal" else np.zeros((samples, n))
        else:
            out[name] = rng.standard_normal((samples, n))
    if forget_bias is not None and "b_f" in out:
        out["b_f"] = np.full((samples, n), float(forget_bias))
    for name, c in fixed.items():
        if name in out:
            if param_kind(name) == "matrix":
                out[name] = np.broadcast_to(float(c) * np.eye(n), (samples, n, n)).copy()
            else:
                out[name] = np.full(out[name].shape, float(c))
    return out


def _haar_orthogonal(rng, samples, n):
    # QR of a Gaussian matrix with R's diagonal made positive: Haar measure (Mezzadri 2007).
    q, r = np.linalg.qr(rng.standard_normal((samples, n, n)))
    return q * np.sign(np.diagonal(r, axis1=1, axis2=2))[:, None, :]


_PREVIOUS = {
    "gate": "U(0,1)",
    "bounded": "U(-1,1)",
    "nonnegative": "|N(0,1)|",
    "free": "N(0,1)",
}


def _kind(interval) -> str:
    lo, hi = interval
    if lo >= 0.0 and hi <= 1.0:
        return "gate"
    if lo >= -1.0 and hi <= 1.0:
        return "bounded"
    if lo >= 0.0:
        return "nonnegative"  # relu states are never negative
    return "free"


def _previous(interval, n: int, rng) -> np.ndarray:
    kind = _kind(interval)
    if kind == "gate":
        return rng.uniform(0.0, 1.0, n)
    if kind == "bounded":
        return rng.uniform(-1.0, 1.0, n)
    if kind == "nonnegative":
        return np.abs(rng.standard_normal(n))
    return rng.standard_normal(n)
