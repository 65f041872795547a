"""Seeded searches for counterexamples in n dimensions, and their certification.

The n-D claims (:mod:`symgrad.evidence_nd`) ask how large an operator 2-norm
can get: of a one-step Jacobian, of one of its terms, of a state. A search
here is SciPy's differential evolution (vectorised: the whole population in
one batch through the vector engine's ``numeric()``), then L-BFGS-B from its
best point, from structured starts (scaled identities, all-ones and
triangular matrices: where norms concentrate) and from seeded random
starts, with central-difference gradients taken in one batch as well.

:class:`Layout` maps a flat search vector to the named arrays the engine
takes (weights, biases, previous-step values) and back; :func:`maximise`
runs a search; :func:`rationalise` rounds its best point to a dyadic grid,
so that :mod:`symgrad.vecexact` can evaluate it exactly or in balls.

A search is a pure function of its seed and box: :func:`memoised` keeps its
result for the life of the process, so a process that checks a claim twice
(the tests) searches once.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from .threads import numeric_threads
from .vecexact import (
    BALL,
    EXACT,
    VectorValues,
    norm_below,
    norm_lower,
    rational,
    to_ball,
    to_exact,
)
from .vector import derive_vector

__all__ = [
    "Found",
    "Layout",
    "ball_mid",
    "ball_values",
    "certified_lower",
    "certified_upper",
    "engine",
    "exact_values",
    "maximise",
    "memoised",
    "opnorm",
    "point_json",
    "rationalise",
    "show_number",
    "show_point",
    "top_vector",
]


@functools.cache
def engine(cell_name: str, of: str | None = None, wrt: str | None = None):
    """``(derivation, numeric)``: the vector engine's derivative of a built-in
    cell and its ``numeric()``, built once per process."""
    d = derive_vector(cell_name, wrt=wrt, of=of)
    return d, d.numeric()


def opnorm(matrices):
    """Operator 2-norms of a batch of matrices ``(..., n, k)``: the square root of
    the largest eigenvalue of M^T M (LAPACK's symmetric solver: accurate to a few
    ulp of ||M||^2 relative, and faster than an SVD on small matrices)."""
    m = np.asarray(matrices, dtype=float)
    gram = np.swapaxes(m, -1, -2) @ m
    return np.sqrt(np.maximum(np.linalg.eigvalsh(gram)[..., -1], 0.0))


def top_vector(matrix):
    """The right singular vector of the largest singular value of one matrix:
    the direction that a certificate ``||M v|| / ||v||`` is evaluated along."""
    _, _, vt = np.linalg.svd(np.asarray(matrix, dtype=float))
    return vt[0]


# ---------------------------------------------------------------- search space


@dataclass(frozen=True)
class Layout:
    """Named arrays packed into one search vector.

    ``entries``: ``(name, shape, lo, hi)`` per searched array, each entry of
    it in [lo, hi]; ``fixed``: name -> array held fixed (broadcast over the
    batch).
    """

    entries: tuple
    fixed: tuple = ()

    @property
    def dim(self) -> int:
        return sum(int(np.prod(shape)) for _, shape, _, _ in self.entries)

    @property
    def bounds(self) -> list:
        out = []
        for _, shape, lo, hi in self.entries:
            out += [(lo, hi)] * int(np.prod(shape))
        return out

    def unpack(self, x) -> dict:
        """Arrays for a batch ``x`` of shape (S, dim): each ``(S, *shape)``; fixed
        arrays broadcast to the batch."""
        x = np.atleast_2d(x)
        out, k = {}, 0
        for name, shape, _, _ in self.entries:
            size = int(np.prod(shape))
            out[name] = x[:, k : k + size].reshape(len(x), *shape)
            k += size
        for name, value in self.fixed:
            value = np.asarray(value, dtype=float)
            out[name] = np.broadcast_to(value, (len(x), *value.shape))
        return out

    def pack(self, arrays: dict):
        """The search vector of one point given as name -> array."""
        return np.concatenate(
            [np.asarray(arrays[name], dtype=float).ravel() for name, *_ in self.entries]
        )


def rationalise(layout: Layout, x, bits: int = 6) -> dict:
    """One point of the search (flat ``x``) as name -> nested lists of Fractions,
    each entry rounded to a multiple of 2^-bits and kept inside its box; fixed
    arrays converted exactly (floats are dyadic)."""
    arrays = layout.unpack(np.asarray(x)[None])
    out = {}
    for name, _, lo, hi in layout.entries:
        box = (Fraction(float(lo)), Fraction(float(hi)))
        out[name] = _nested(arrays[name][0], lambda v, box=box: _in_box(rational(v, bits), box))
    for name, value in layout.fixed:
        out[name] = _nested(np.asarray(value, dtype=float), _short)
    return out


def _short(v: float) -> Fraction:
    """A held float as the short fraction it was written as (0.3 -> 3/10): the
    certificate is evaluated at the exact point it prints."""
    return Fraction(float(v)).limit_denominator(2**20)


def _in_box(q: Fraction, box: tuple) -> Fraction:
    return min(max(q, box[0]), box[1])


def _nested(array, convert):
    """An array as nested lists, each entry converted."""
    if np.ndim(array) == 0:
        return convert(float(array))
    return [_nested(a, convert) for a in array]


# ---------------------------------------------------------------- the search


@dataclass(frozen=True)
class Found:
    """A search's best point: ``value`` of the objective at flat ``x``, found from
    ``start`` (``"differential evolution"``, a structured start's name, or
    ``"random k"``); ``evaluations`` of the objective, counting batch members."""

    value: float
    x: np.ndarray
    start: str
    evaluations: int


def maximise(
    objective,
    layout: Layout,
    rng,
    starts: dict | None = None,
    generations: int = 40,
    popsize: int = 8,
    local_steps: int = 20,
    random_starts: int = 1,
) -> Found:
    """The largest value of ``objective`` over ``layout``'s box.

    ``objective(arrays)`` takes ``layout.unpack``'s batch and returns a value
    per member (nan counts as -inf). ``rng``: a seeded NumPy Generator (its
    seed printed by the caller). ``starts``: name -> flat point, the
    structured starts. Differential evolution runs ``generations`` generations
    of ``popsize * dim`` members; L-BFGS-B then runs ``local_steps`` steps from
    its best point, from every structured start and from ``random_starts``
    uniform random points.
    """
    from scipy.optimize import differential_evolution, minimize

    bounds = layout.bounds
    lo = np.array([b[0] for b in bounds], dtype=float)
    hi = np.array([b[1] for b in bounds], dtype=float)
    calls = [0]

    def values(x):
        x = np.clip(np.atleast_2d(x), lo, hi)
        calls[0] += len(x)
        with np.errstate(all="ignore"):
            v = np.asarray(objective(layout.unpack(x)), dtype=float)
        return np.where(np.isfinite(v), v, -np.inf)

    # Central differences: truncation ~h^2 |f'''| and rounding ~1e-16 |f| / h,
    # balanced near h ~ 1e-5 for values and curvatures of order one.
    step = 1e-5 * np.maximum(1.0, hi - lo)

    def negative_with_gradient(x):
        points = np.vstack([x, x + np.diag(step), x - np.diag(step)])
        v = values(points)
        up, down = v[1 : len(x) + 1], v[len(x) + 1 :]
        grad = np.where(np.isfinite(up - down), (up - down) / (2 * step), 0.0)
        return (-v[0] if np.isfinite(v[0]) else 1e300), -grad

    with numeric_threads():
        de = differential_evolution(
            lambda xt: -values(xt.T),
            bounds,
            seed=rng,
            maxiter=generations,
            popsize=popsize,
            vectorized=True,
            updating="deferred",
            polish=False,
            tol=0.0,
        )
        candidates = {"differential evolution": de.x}
        candidates.update(starts or {})
        for k in range(random_starts):
            candidates[f"random {k + 1}"] = rng.uniform(lo, hi)
        best = Found(float(-de.fun), np.asarray(de.x), "differential evolution", 0)
        for name, x0 in candidates.items():
            res = minimize(
                negative_with_gradient,
                np.clip(np.asarray(x0, dtype=float), lo, hi),
                jac=True,
                method="L-BFGS-B",
                bounds=bounds,
                options={"maxiter": local_steps},
            )
            value = float(values(res.x)[0])
            if value > best.value:
                best = Found(value, np.clip(res.x, lo, hi), name, 0)
    return Found(best.value, best.x, best.start, calls[0])


# ---------------------------------------------------------------- memo

_MEMO: dict = {}


def memoised(key, compute):
    """``compute()`` once per process for a hashable ``key`` (a search is a pure
    function of its seed, box and claim data)."""
    if key not in _MEMO:
        _MEMO[key] = compute()
    return _MEMO[key]


# ---------------------------------------------------------------- certificates


def ball_values(d, point: dict, n: int):
    """:class:`~symgrad.vecexact.VectorValues` of derivation ``d``'s cell at an
    exact ``point`` (name -> nested Fractions), in arb balls (at the precision
    of the caller's ``flint.ctx.workprec``)."""
    return VectorValues(d.vcell, d.carry, {k: to_ball(v) for k, v in point.items()}, BALL, n)


def exact_values(d, point: dict, n: int):
    """The same in SymPy's exact arithmetic (``point``: Fractions or SymPy numbers)."""
    return VectorValues(d.vcell, d.carry, {k: to_exact(v) for k, v in point.items()}, EXACT, n)


def ball_mid(matrix: list):
    """The midpoints of a ball matrix as floats (for a direction to certify along)."""
    return np.array([[float(x.mid()) for x in row] for row in matrix])


def certified_lower(matrix: list) -> float:
    """A certified lower bound of the operator 2-norm of every matrix in the
    balls ``matrix``: ``||M v|| / ||v||`` along v, the midpoint matrix's top
    right singular vector rounded to 2^-20 (exact, so the ratio is a ball)."""
    v = [Fraction(round(x * 2**20), 2**20) for x in top_vector(ball_mid(matrix))]
    if not any(v):
        return 0.0
    return float(norm_lower(matrix, to_ball(v)).lower())


def point_json(point: dict | None, names=None):
    """An exact point for JSON: name -> nested lists of fractions as text ("3/64")."""
    if point is None:
        return None

    def text(v):
        return [text(x) for x in v] if isinstance(v, list) else str(v)

    return {k: text(point[k]) for k in (names or point)}


def show_point(point: dict, names=None, latex=None) -> str:
    """``$U$ = [[1, -1], [0, 1/2]], $h_{t-1}$ = [3/5, 4/5]``: an exact point as
    prose, each name as math (``latex``: a cell's name -> LaTeX map; ``h_prev``
    -> ``h_{t-1}`` when not given there), its value as text: a math span cannot
    break across a line, and a 3 x 3 matrix of fractions is wider than TeX can
    absorb without an overfull line; as text it breaks after every comma."""

    def show(v):
        if isinstance(v, list):
            return "[" + ", ".join(show(x) for x in v) + "]"
        return str(v)

    def name(k):
        if latex and k in latex:
            return latex[k]
        base, prev, _ = k.partition("_prev")
        return f"{base}_{{t-1}}" if prev else k

    return ", ".join(f"${name(k)}$ = {show(point[k])}" for k in (names or point))


def show_number(x: float, digits: int = 3) -> str:
    """``x`` to ``digits`` significant digits as prose: plain decimals
    (0.0000196, not Python's 1.96e-05), a power of ten in math below 10^-6 or
    from 10^6 on."""
    from decimal import Decimal

    text = f"{x:.{digits}g}"
    if x == 0 or not np.isfinite(x) or 1e-6 <= abs(x) < 1e6:
        return f"{Decimal(text):f}" if np.isfinite(x) else text
    mantissa, _, exponent = f"{x:.{digits - 1}e}".partition("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"${mantissa} \\cdot 10^{{{int(exponent)}}}$"


def certified_upper(matrix: list) -> float:
    """A certified upper bound of the operator 2-norm of every matrix in the balls
    ``matrix``: the midpoint's norm, raised by 2^-30 relative and rounded up to a
    dyadic t, if t^2 I - M^T M is certified positive definite
    (:func:`~symgrad.vecexact.norm_below`), else the Frobenius norm's upper end."""
    import math

    guess = float(opnorm(ball_mid(matrix))) * (1 + 2.0**-30) + 2.0**-60
    t = Fraction(math.ceil(guess * 2**40), 2**40)
    if norm_below(matrix, to_ball(t)):
        return float(t)
    total = None
    for row in matrix:
        for x in row:
            total = x * x if total is None else total + x * x
    return float(total.sqrt().upper())
