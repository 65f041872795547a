"""The Lyapunov spectrum of a cell driven by inputs: a trained network, or random ones.

A cell with given weights (a user's trained PyTorch network, read by
:mod:`symgrad.weights`, or seeded random ones) runs forward from state 0 on
input sequences; at every step the exact state Jacobian comes from the
engine's matrix-form derivation (:func:`symgrad.vector.derive_vector` with
``wrt="state"``), compiled once and evaluated on the forward pass's own gate
values (:func:`symgrad.veckernel.make_state_step`); the k largest Lyapunov
exponents come from QR re-orthonormalisation of the products
(:func:`symgrad.lyapunov.spectrum`). Memory does not grow with the number of
steps: one step's Jacobians live at a time.

Researchers compute these spectra with torch's autograd at every step, which
their own authors call slow, or with Jacobians written by hand per
architecture; here every cell, a user's cell file included, gets its
analytic Jacobian from the one engine.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from .cells import Cell
from .lyapunov import Spectrum, spectrum
from .threads import numeric_threads
from .veckernel import make_state_step
from .vector import derive_vector

__all__ = ["NetworkSpectrum", "make_step", "network_spectrum"]


@dataclass(frozen=True, eq=False)
class NetworkSpectrum:
    """The spectrum of ``cell`` along ``samples`` input sequences of ``steps``
    steps (after ``warmup`` more), hidden size ``hidden``, input size ``inputs``;
    ``spectrum``: the :class:`~symgrad.lyapunov.Spectrum` (exponents per sample,
    their mean and confidence interval, natural log per step); ``source``: where
    the inputs came from."""

    cell: Cell
    hidden: int
    inputs: int
    steps: int
    warmup: int
    samples: int
    source: str
    spectrum: Spectrum

    @property
    def dimension(self) -> int:
        """The state's dimension d: the exponents there are."""
        return self.hidden * len(self.cell.state)


@functools.cache
def make_step(cell: Cell):
    """The compiled one-step map of ``cell`` in n dimensions: ``step(arrays) ->
    (J, states)`` (see :func:`symgrad.veckernel.make_state_step`), once per cell."""
    return make_state_step(derive_vector(cell, wrt="state"))


def network_spectrum(
    cell: Cell,
    params: dict,
    inputs,
    k: int | None = None,
    warmup: int = 0,
    source: str = "given",
) -> NetworkSpectrum:
    """The ``k`` largest Lyapunov exponents (default: all) of ``cell`` with the
    weights ``params`` (name -> array: W (n, m), U (n, n), vectors (n,); a
    leading sample axis allowed) driven by ``inputs`` (input name -> array
    (T, N, m): T steps of N sequences) from state 0, the first ``warmup`` steps
    turning the basis but left out of the average. Raises ``ValueError`` for
    shapes that do not fit the cell, or k out of range."""
    step = make_step(cell)
    names = sorted(inputs)
    if not names:
        raise ValueError(f"{cell.name} reads no input: nothing drives it")
    first = np.asarray(inputs[names[0]])
    if first.ndim != 3:
        raise ValueError(
            f"inputs must be (steps, sequences, size), got {first.shape} for {names[0]}"
        )
    total, samples = first.shape[:2]
    hidden = _hidden(cell, params)
    state = {f"{s}_prev": np.zeros((samples, hidden)) for s in cell.state}
    d = hidden * len(cell.state)
    k = d if k is None else k
    if not 1 <= k <= d:
        raise ValueError(f"k must be from 1 to the state's dimension {d}, not {k}")
    if not 0 <= warmup < total:
        raise ValueError(f"warmup must be from 0 to {total - 1} (the steps given), not {warmup}")

    def jacobians():
        nonlocal state
        for t in range(total):
            arrays = {**params, **state, **{x: inputs[x][t] for x in names}}
            jac, state = step(arrays)
            yield jac

    with numeric_threads():
        result = spectrum(jacobians(), k, warmup)
    return NetworkSpectrum(
        cell=cell,
        hidden=hidden,
        inputs=first.shape[2],
        steps=total - warmup,
        warmup=warmup,
        samples=samples,
        source=source,
        spectrum=result,
    )


def _hidden(cell: Cell, params: dict) -> int:
    """n, read off a recurrent weight (n, n) or any vector parameter (n,)."""
    for name in cell.params:
        a = np.asarray(params[name])
        if name.startswith("U") and a.ndim >= 2:
            return a.shape[-1]
    return np.asarray(params[cell.params[0]]).shape[-1]
