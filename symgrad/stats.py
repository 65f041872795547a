"""Seeded random streams and confidence intervals: every figure drawn at random.

Every figure a claim or a flow run reports from random draws is an
:class:`Estimate` (a mean or a percentile, with a confidence interval) or a
:class:`Proportion` (a count out of n, with a Wilson interval), drawn from a
stream derived from the seed and a fixed label, so a figure does not change
when other figures are computed before it, and the same seed gives identical
figures.

Intervals:

- a fraction k/n: Wilson score interval (good coverage down to k = 0, unlike
  the normal approximation);
- a mean of many points: normal approximation, mean +- z s / sqrt(n)
  (central limit theorem); of a few (Lyapunov exponents over trajectories):
  Student's t;
- a percentile: distribution-free, between two order statistics whose ranks
  come from the binomial distribution of the count below the true percentile.
"""

from __future__ import annotations

import math
import statistics
import zlib
from dataclasses import dataclass

import numpy as np

__all__ = [
    "CONFIDENCE",
    "PERCENTILES",
    "Estimate",
    "Proportion",
    "Summary",
    "cell_rng",
    "mean_ci",
    "quantile_ci",
    "rng_for",
    "student_ci",
    "summarize",
    "wilson",
]

#: Two-sided confidence level of every interval.
CONFIDENCE = 0.95
#: Percentiles reported for every magnitude.
PERCENTILES = (50, 90, 99)

# ---------------------------------------------------------------- seeds


def rng_for(seed: int, label: str) -> np.random.Generator:
    """An independent generator for ``label`` under ``seed``.

    The label's CRC-32 is the spawn key, so streams do not depend on the order
    in which claims run (``hash()`` would change with PYTHONHASHSEED).
    """
    key = zlib.crc32(label.encode())
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(key,)))


def cell_rng(seed: int, name: str, stream: int = 0) -> np.random.Generator:
    """The random generator of one cell's run: seeded by ``(seed, cell name, stream)``,
    so a cell's figures do not depend on which other cells run with it."""
    return np.random.default_rng([seed, zlib.crc32(name.encode()), stream])


# ---------------------------------------------------------------- intervals


def _z(confidence: float) -> float:
    return statistics.NormalDist().inv_cdf(0.5 + confidence / 2)


@dataclass(frozen=True)
class Estimate:
    """A point estimate with a confidence interval [lo, hi]."""

    value: float
    lo: float
    hi: float

    def covers(self, x: float) -> bool:
        return self.lo <= x <= self.hi

    def as_json(self) -> dict:
        return {"value": self.value, "ci": [self.lo, self.hi]}

    def text(self, digits: int = 3) -> str:
        return f"{_g(self.value, digits)} [{_g(self.lo, digits)}, {_g(self.hi, digits)}]"


@dataclass(frozen=True)
class Proportion:
    """``k`` of ``n`` samples, with the Wilson interval [lo, hi] of the true fraction."""

    k: int
    n: int
    lo: float
    hi: float

    @property
    def value(self) -> float:
        return self.k / self.n

    def covers(self, x: float) -> bool:
        return self.lo <= x <= self.hi

    def as_json(self) -> dict:
        return {"value": self.value, "k": self.k, "n": self.n, "ci": [self.lo, self.hi]}

    def text(self, digits: int = 3) -> str:
        return f"{self.value:.{digits}f} [{self.lo:.{digits}f}, {self.hi:.{digits}f}]"


def _g(x: float, digits: int) -> str:
    if x == 0 or not math.isfinite(x):
        return f"{x:g}"
    return f"{x:.{digits}g}"


def wilson(k: int, n: int, confidence: float = CONFIDENCE) -> Proportion:
    """The Wilson score interval of a binomial fraction k/n (n >= 1)."""
    z = _z(confidence)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    # At k = 0 (k = n) the interval's end is exactly 0 (1); the formula leaves
    # a rounding residue of ~1e-17 there.
    lo = 0.0 if k == 0 else max(0.0, centre - half)
    hi = 1.0 if k == n else min(1.0, centre + half)
    return Proportion(int(k), int(n), lo, hi)


def mean_ci(x, confidence: float = CONFIDENCE) -> Estimate:
    """Mean of ``x`` with its normal-approximation interval."""
    x = np.asarray(x, dtype=float)
    m = float(x.mean())
    half = _z(confidence) * float(x.std(ddof=1)) / math.sqrt(len(x))
    return Estimate(m, m - half, m + half)


def quantile_ci(x, q: float, confidence: float = CONFIDENCE, presorted: bool = False) -> Estimate:
    """The ``q``-quantile (0 < q < 1) of ``x`` with a distribution-free interval.

    The number of samples below the true quantile is Binomial(n, q); the
    interval runs between the order statistics at that count's two-sided
    ``confidence`` quantiles, so it needs no assumption about the distribution.
    """
    s = np.asarray(x, dtype=float) if presorted else np.sort(np.asarray(x, dtype=float))
    n = len(s)
    alpha = 1 - confidence
    lo_rank = _binomial_ppf(alpha / 2, n, q)  # 1-based rank of the lower order statistic
    hi_rank = _binomial_ppf(1 - alpha / 2, n, q) + 1
    lo = s[max(lo_rank, 1) - 1]
    hi = s[min(hi_rank, n) - 1]
    return Estimate(float(np.quantile(s, q)), float(lo), float(hi))


def _binomial_ppf(level: float, n: int, q: float) -> int:
    """The smallest k with P(Binomial(n, q) <= k) >= level, by bisection on the
    exact CDF (scipy.special.bdtr; scipy.stats would cost seconds to import)."""
    from scipy.special import bdtr

    lo, hi = -1, n  # invariant: CDF(lo) < level <= CDF(hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if bdtr(mid, n, q) >= level:
            hi = mid
        else:
            lo = mid
    return hi


@dataclass(frozen=True)
class Summary:
    """Mean and the :data:`PERCENTILES` of a sample, each with its interval."""

    mean: Estimate
    percentiles: dict  # 50 -> Estimate, ...

    def as_json(self) -> dict:
        return {
            "mean": self.mean.as_json(),
            **{f"p{p}": e.as_json() for p, e in self.percentiles.items()},
        }


def summarize(x, confidence: float = CONFIDENCE, percentiles=PERCENTILES) -> Summary:
    """:class:`Summary` of the sample ``x``: its mean and ``percentiles``."""
    s = np.sort(np.asarray(x, dtype=float))
    return Summary(
        mean_ci(s, confidence),
        {p: quantile_ci(s, p / 100, confidence, presorted=True) for p in percentiles},
    )


def student_ci(values, confidence: float = CONFIDENCE) -> tuple[float, tuple[float, float]]:
    """Sample mean and its Student-t interval; a sample with an infinite value
    (an exactly vanished gradient: log 0) gets that mean and no interval."""
    from scipy import stats

    values = np.asarray(values, dtype=float)
    if not np.all(np.isfinite(values)):
        m = float(np.mean(values)) if not np.any(np.isnan(values)) else math.nan
        return m, (m, m)
    mean = float(np.mean(values))
    half = float(
        stats.t.ppf(0.5 + confidence / 2, len(values) - 1)
        * np.std(values, ddof=1)
        / math.sqrt(len(values))
    )
    return mean, (mean - half, mean + half)
