"""Seeded random points for Monte Carlo evidence and gradient-flow runs.

The default distribution is SPEC section 3's: weights, biases and inputs
~ N(0, 1); previous-step values by what they are: gates of the previous step
~ U(0, 1), states proved to stay in [-1, 1] (h_{t-1}) ~ U(-1, 1), the LSTM's
unbounded memory c_{t-1} ~ N(0, 1). The range of each previous-step value
comes from the cell itself (:func:`symgrad.ranges.value_ranges`), not from its
name. ``init`` switches the weights to what a framework would draw for a
hidden size of ``dim`` (1 by default, where Xavier's scale is exactly 1).
"""

from __future__ import annotations

import math

import numpy as np

from .cells import Cell
from .defaults import INITS
from .ranges import value_ranges

__all__ = ["describe", "sample"]


def describe(
    init: str = "normal", forget_bias: float | None = None, cell: Cell | None = None
) -> str:
    """The distribution in one line, for printing beside every Monte Carlo figure.

    With ``cell``, the previous-step states are named with the distribution
    :func:`sample` really draws them from; without, SPEC section 3's defaults.
    """
    if cell is None:
        prevs = "c_{t-1} ~ N(0,1); previous gates ~ U(0,1); h_{t-1} ~ U(-1,1)"
    else:
        ranges = {sym.name: r for sym, r in value_ranges(cell).items()}
        states = [f"{s}_{{t-1}} ~ {_PREVIOUS[_kind(ranges[s])]}" for s in cell.state]
        prevs = "; ".join([*states, "previous gates ~ U(0,1)"])
    text = INITS[init] + "; " + prevs
    if forget_bias is not None:
        text += f"; forget bias b_f = {forget_bias:g}"
    return text


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
    kind = name.split("_")[0]  # W (input weight), U (recurrent weight), b (bias)
    if init == "normal" or kind not in ("W", "U", "b"):
        return rng.standard_normal(n)
    if kind == "b":
        return np.zeros(n)
    if kind == "U" and init == "orthogonal":
        return rng.choice([-1.0, 1.0], size=n)
    # Glorot normal with fan_in = fan_out = 1: standard deviation sqrt(2 / 2) = 1.
    return rng.standard_normal(n) * math.sqrt(2.0 / (1 + 1))


_PREVIOUS = {"gate": "U(0,1)", "bounded": "U(-1,1)", "nonnegative": "|N(0,1)|", "free": "N(0,1)"}


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
