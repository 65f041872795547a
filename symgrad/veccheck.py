"""The self-check of a derivation in matrix form: seeded points and a verdict.

Both the one-step vector derivation (:func:`symgrad.vector.check_vector`) and
the K-step one (:func:`symgrad.vecsteps.check_steps`) compare what they print
with the Jacobian of the raw forward pass at the same seeded random arrays,
by the complex step where the cell is analytic and central differences where
it has relu or abs; this module holds what they share.
"""

from __future__ import annotations

from .derivation import CHECK_SEED, Check
from .text import scientific_math

__all__ = [
    "CHECK_M",
    "CHECK_N",
    "CHECK_POINTS",
    "CHECK_TOLERANCE_CENTRAL",
    "CHECK_TOLERANCE_COMPLEX",
    "check_arrays",
    "relative",
    "verdict",
]

#: The points: hidden size, input size, number (one batch), every entry drawn
#: uniformly from [-2, 2] with derive's seed.
CHECK_N = 3
CHECK_M = 2
CHECK_POINTS = 24
#: Against the complex step: each side is exact to a few ulp per operation;
#: over K <= 8 steps a few hundred roundings, ~1e-14 relative to 1 + |J| at
#: most; 1e-11 leaves a factor of 100 or more.
CHECK_TOLERANCE_COMPLEX = 1e-11
#: Central differences with h = 2^-20 (a cell with relu or abs): rounding
#: ~EPS/h ~ 2e-10 and truncation ~h^2 ~ 1e-12 relative to 1 + |J|, grown by at
#: most the K steps' amplification of the error; 1e-7 leaves 100x.
CHECK_TOLERANCE_CENTRAL = 1e-7
_WHERE = f"(seed {CHECK_SEED}, n = {CHECK_N}, m = {CHECK_M}, entries uniform in [-2, 2])"


def check_arrays(vcell, names, is_input) -> dict:
    """Seeded arrays for ``names``: a leading axis of :data:`CHECK_POINTS`
    points, then (n,) or (m,) for a vector (m where ``is_input(name)``), or
    (n, n) / (n, m) for a weight."""
    import numpy as np

    rng = np.random.default_rng(CHECK_SEED)
    arrays = {}
    for name in names:
        cols = {"m": CHECK_M, "n": CHECK_N}.get(vcell.columns.get(name))
        size = CHECK_M if is_input(name) else CHECK_N
        shape = (CHECK_POINTS, CHECK_N, cols) if cols else (CHECK_POINTS, size)
        arrays[name] = rng.uniform(-2.0, 2.0, shape)
    return arrays


def relative(a, b):
    """Per point (leading axis): max |a - b| / (1 + max |b|)."""
    import numpy as np

    axes = tuple(range(1, np.ndim(b)))
    return np.max(np.abs(a - b), axis=axes) / (1.0 + np.max(np.abs(b), axis=axes))


def verdict(errors: list, usable, complex_step: bool, claim) -> Check:
    """The check's record: every array of ``errors`` (one value per point) at
    most the tolerance of the method at the ``usable`` points (finite errors
    only). ``claim(worst, method)``: the sentence, given each error's largest
    value and how the reference was computed."""
    import numpy as np

    for e in errors:
        usable = usable & np.isfinite(e)
    method = (
        "the complex step ($h = 10^{-20}$)"
        if complex_step
        else "central differences ($h = 2^{-20}$; points whose steps cross a kink left out)"
    )
    if not usable.any():
        return Check(
            "numeric",
            False,
            f"no point of {CHECK_POINTS} random points {_WHERE} lies in every function's domain",
            max_error=float("inf"),
        )
    worst = [float(np.max(e[usable])) for e in errors]
    tolerance = CHECK_TOLERANCE_COMPLEX if complex_step else CHECK_TOLERANCE_CENTRAL
    return Check(
        "numeric",
        max(worst) <= tolerance,
        f"{claim(worst, method)} at {int(usable.sum())} random points {_WHERE}: largest "
        f"relative difference {scientific_math(max(worst))} (tolerance "
        f"{scientific_math(tolerance, 0)})",
        max_error=max(worst),
    )
