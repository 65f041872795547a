r"""Lyapunov spectra of a recurrent map by QR re-orthonormalisation.

A recurrent network run on fixed inputs is a map :math:`s_{t+1} = F_t(s_t)` of
its state (:math:`s = (c, h)` for an LSTM, :math:`h` for a GRU or RNN) with
one-step Jacobians :math:`J_t = \partial s_{t+1}/\partial s_t \in R^{d \times d}`.
Its Lyapunov exponents are the growth rates of the singular values of the
product,

.. math::

    \lambda_j = \lim_{T\to\infty} \frac{1}{T} \ln \sigma_j(J_{T-1} \cdots J_1 J_0),
    \qquad \lambda_1 \ge \lambda_2 \ge \dots \ge \lambda_d ,

the largest being the rate at which the gradient :math:`\partial s_T/\partial
s_0` grows or vanishes. The product itself under- or overflows within a few
hundred steps, so it is never formed (Benettin, Galgani, Giorgilli & Strelcyn
1980, *Meccanica* 15, 9-30; Shimada & Nagashima 1979): start from the first k
columns of the identity, :math:`Q_0 = I_{d \times k}`, and at every step take
the QR factorisation

.. math::

    J_t Q_t = Q_{t+1} R_{t+1}, \qquad Q_{t+1}^\top Q_{t+1} = I_k,
    \quad R_{t+1} \text{ upper triangular with } \operatorname{diag} R_{t+1} \ge 0 .

Then :math:`J_{T-1} \cdots J_0 Q_0 = Q_T R_T \cdots R_1`, and the diagonal of a
product of upper-triangular matrices is the product of their diagonals, so

.. math::

    \lambda_j \approx \frac{1}{T - T_w} \sum_{t = T_w}^{T-1} \ln (R_{t+1})_{jj},
    \qquad j = 1, \dots, k,

after a warm-up of :math:`T_w` steps in which :math:`Q_t` turns from
:math:`Q_0` towards the most expanding directions (the exponents are those of
the first k Oseledets directions only once it has). This is the algorithm
Engelken, Wolf & Abbott use for the Lyapunov spectra of recurrent networks
("Lyapunov spectra of chaotic recurrent neural networks", 2020,
arXiv:2006.02427). Units: natural log per step.

A direction the map sends exactly to 0 (a ReLU gone silent, a saturated gate
in float64) has :math:`(R_{t+1})_{jj} = 0`: its exponent is :math:`-\infty`,
reported as such; Householder QR still returns orthonormal columns, so the
other exponents are unaffected.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

__all__ = ["CONFIDENCE", "Spectrum", "spectrum"]

#: Confidence level of the interval of each exponent's mean over samples.
CONFIDENCE = 0.95


@dataclass(frozen=True, eq=False)
class Spectrum:
    """The k largest Lyapunov exponents of N independent samples.

    ``exponents``: (N, k), natural log per step, each row in descending order.
    ``mean``: (k,), the mean over samples of each column. ``ci``: (k, 2), its
    Student-t interval at ``confidence`` (undefined, NaN, for N = 1; ``(-inf,
    -inf)`` for a column where some sample is ``-inf``). ``steps``: the steps
    averaged over; ``warmup``: the steps run before them.
    """

    exponents: np.ndarray
    mean: np.ndarray
    ci: np.ndarray
    steps: int
    warmup: int
    confidence: float = CONFIDENCE


def spectrum(jacobians: Iterable, k: int, warmup: int = 0) -> Spectrum:
    r"""The k largest Lyapunov exponents of a product of Jacobians, by QR.

    ``jacobians``: an iterable yielding, per step t, the one-step Jacobians
    :math:`J_t` of N independent samples as one array of shape (N, d, d),
    finite, the same N and d at every step; it is consumed once, one step at a
    time, so a generator that computes each step's Jacobian keeps memory
    independent of the number of steps. ``k``: 1 <= k <= d. ``warmup``: the
    number of first steps that turn :math:`Q` but are left out of the average.

    :math:`Q_0` is the first k columns of the identity: for k < d and Jacobians
    that keep their span invariant (block upper-triangular ones, e.g. diagonal)
    the exponents are that subspace's, not the k largest; generic Jacobians
    turn :math:`Q` within a few steps, which is what ``warmup`` is for.

    Returns a :class:`Spectrum` (natural log per step). Raises ``ValueError``
    on a malformed or non-finite Jacobian, a bad k, or no step after the
    warm-up.
    """
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ValueError(f"k must be a positive integer (the number of exponents), not {k!r}")
    if isinstance(warmup, bool) or not isinstance(warmup, int | np.integer) or warmup < 0:
        raise ValueError(f"warmup must be a non-negative integer of steps, not {warmup!r}")
    q = total = None
    t = -1
    for t, jac in enumerate(jacobians):
        jac = np.asarray(jac, dtype=np.float64)
        if q is None:
            q, total = _start(jac, k)
        if jac.shape != (q.shape[0], q.shape[1], q.shape[1]):
            raise ValueError(
                f"step {t}: Jacobians of shape {jac.shape}; the first step's were "
                f"{(q.shape[0], q.shape[1], q.shape[1])} (N samples, d x d)"
            )
        if not np.isfinite(jac).all():
            raise ValueError(f"step {t}: the Jacobian holds NaN or inf")
        q, r = np.linalg.qr(jac @ q)
        diag = np.diagonal(r, axis1=1, axis2=2)
        if not np.isfinite(diag).all():
            raise ValueError(
                f"step {t}: J Q overflowed float64 (|J| up to {np.abs(jac).max():.3g}); "
                "the Jacobians are too large to multiply"
            )
        # QR is unique up to the signs of R's diagonal; making it >= 0 keeps Q
        # continuous from step to step and diag R the stretch factors themselves.
        q *= np.where(diag < 0, -1.0, 1.0)[:, None, :]
        if t >= warmup:
            with np.errstate(divide="ignore"):  # log 0 = -inf: a direction sent to 0
                total += np.log(np.abs(diag))
    steps = t + 1 - warmup
    if steps <= 0:
        raise ValueError(f"no steps to average: {t + 1} Jacobians for a warm-up of {warmup} steps")
    exponents = np.sort(total / steps, axis=1)[:, ::-1]
    mean, ci = _mean_ci(exponents)
    return Spectrum(exponents=exponents, mean=mean, ci=ci, steps=steps, warmup=warmup)


def _start(jac: np.ndarray, k: int):
    if jac.ndim != 3 or jac.shape[1] != jac.shape[2] or jac.shape[0] < 1 or jac.shape[1] < 1:
        raise ValueError(
            f"Jacobians must be an array of shape (N, d, d) per step (N samples), not {jac.shape}"
        )
    samples, d, _ = jac.shape
    if k > d:
        raise ValueError(f"k = {k} exponents asked of a state of dimension d = {d}; k <= d")
    q = np.zeros((samples, d, k))
    q[:, np.arange(k), np.arange(k)] = 1.0
    return q, np.zeros((samples, k))


def _mean_ci(exponents: np.ndarray):
    """Column means and Student-t intervals; -inf columns and N = 1 handled apart."""
    samples, k = exponents.shape
    mean = exponents.mean(axis=0)  # -inf where any sample is -inf (nothing is +inf)
    ci = np.full((k, 2), -np.inf)
    finite = np.isfinite(exponents).all(axis=0)
    if samples == 1:
        ci[finite] = np.nan  # one sample: no spread, no interval
        return mean, ci
    if finite.any():
        from scipy import stats

        spread = exponents[:, finite].std(axis=0, ddof=1) / math.sqrt(samples)
        half = stats.t.ppf(0.5 + CONFIDENCE / 2, samples - 1) * spread
        ci[finite, 0] = mean[finite] - half
        ci[finite, 1] = mean[finite] + half
    return mean, ci
