"""Seeded Monte Carlo evidence with confidence intervals.

Every figure a claim reports from random draws is a
:class:`symgrad.stats.Estimate` or :class:`symgrad.stats.Proportion`. Draws come from
:func:`symgrad.sampling.sample` under :class:`Settings` (seed, sample size,
initialisation, forget bias), and every stream is derived from the seed and a
fixed label (``"one-step/lstm"``), so a figure does not change when other
claims run before it, and the same seed gives identical figures.

Intervals come from :mod:`symgrad.stats`: Wilson on fractions, normal on
means (every sample here has thousands of points), order statistics on
percentiles.

NumPy and SciPy are imported here at module level: only ``verify``/``prove``
import this module, inside the command.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import sympy

from .cells import Cell, get_cell
from .defaults import CLAIM_SAMPLES, CLAIM_SEED, INITS
from .derivation import derive, partial
from .render import Factors, LatexMath
from .sampling import describe, sample
from .stats import (
    CONFIDENCE,
    Estimate,
    Proportion,
    Summary,
    mean_ci,
    quantile_ci,
    rng_for,
    summarize,
    wilson,
)
from .text import plain

__all__ = ["OneStep", "Settings", "StateGap", "make_step", "one_step", "state_gap"]


@dataclass(frozen=True)
class Settings:
    """What a Monte Carlo run draws: ``samples`` points per cell from ``init``
    (see :data:`symgrad.defaults.INITS`), optionally with the LSTM's forget
    bias fixed to ``forget_bias``, from streams derived from ``seed``."""

    seed: int = CLAIM_SEED
    samples: int = CLAIM_SAMPLES
    init: str = "normal"
    forget_bias: float | None = None
    confidence: float = CONFIDENCE

    def __post_init__(self):
        if self.init not in INITS:
            raise ValueError(f"unknown init {self.init!r}. Valid choices: {', '.join(INITS)}")
        if self.samples < 100:
            raise ValueError(f"samples must be at least 100, got {self.samples}")
        if not 0.5 < self.confidence < 1:
            raise ValueError(f"confidence must lie in (0.5, 1), got {self.confidence}")

    @property
    def distribution(self) -> str:
        return describe(self.init, self.forget_bias)

    def as_json(self) -> dict:
        return {
            "seed": self.seed,
            "samples": self.samples,
            "init": self.init,
            "forget_bias": self.forget_bias,
            "confidence": self.confidence,
            "distribution": plain(self.distribution),
        }


# ---------------------------------------------------------------- one step


@dataclass(frozen=True)
class OneStep:
    """The one-step derivative of a cell (the engine's default, e.g. dc_t/dc_{t-1})
    at ``n`` seeded points.

    ``target`` and ``source`` name the derivative d target_t / d source (ASCII
    names of the cell: ``"c"``, ``"c_prev"``); ``dominant_name`` is the
    dominant term's chain-rule path and ``dominant_latex`` its LaTeX;
    ``dominant`` and ``minor`` summarise |dominant term| and |sum of the other
    terms| (``minor`` is None for a one-term cell); ``terms`` summarises
    |term| for every minor term by name; ``minor_outweighs`` counts
    |sum of minor terms| > |dominant term|; ``exceeds_one`` counts
    |derivative| > 1; ``near_one`` counts | |derivative| - 1 | < 0.01;
    ``zero`` counts derivatives that are exactly 0 (relu's inactive side);
    ``log_abs`` is the mean of log|derivative| over the non-zero ones (its
    exponential is the geometric mean, the per-step factor of a product of
    independent steps); ``total`` summarises the signed derivative and
    ``spread`` is its 1st-99th percentile range; ``compression`` summarises
    |term| / |U_g| for every minor term with one parameter factor U_g: how much
    its gates and bounded factors shrink the weight; ``smaller`` counts, per
    minor term, the samples where |term| < |dominant term| (compared sample by
    sample); ``kink``: the derivative has an indicator (relu's), whose value at
    the kink is a convention.
    """

    cell: str
    target: str
    source: str
    n: int
    seed: int
    distribution: str
    dominant_name: str
    dominant: Summary
    minor: Summary | None
    terms: dict
    minor_outweighs: Proportion | None
    exceeds_one: Proportion
    near_one: Proportion
    zero: Proportion
    log_abs: Estimate | None
    total: Summary
    p1: Estimate
    p99: Estimate
    std: float
    gate_counts: dict = field(default_factory=dict)
    compression: dict = field(default_factory=dict)
    dominant_latex: str = ""
    smaller: dict = field(default_factory=dict)
    kink: bool = False

    @property
    def label(self) -> str:
        """The derivative in ASCII names: ``dc/dc_prev``."""
        return f"d{self.target}/d{self.source}"

    @property
    def spread(self) -> Estimate:
        """p99 - p1 of the signed derivative, with a conservative interval
        (the lower end from the inner endpoints, the upper from the outer)."""
        return Estimate(
            self.p99.value - self.p1.value, self.p99.lo - self.p1.hi, self.p99.hi - self.p1.lo
        )

    def as_json(self) -> dict:
        out = {
            "cell": self.cell,
            "derivative": self.label,
            "samples": self.n,
            "seed": self.seed,
            "distribution": plain(self.distribution),
            "dominant_term": self.dominant_name,
            "dominant_latex": self.dominant_latex,
            "abs_dominant": self.dominant.as_json(),
            "abs_minor_sum": self.minor.as_json() if self.minor else None,
            "abs_minor_terms": {k: v.as_json() for k, v in self.terms.items()},
            "minor_outweighs_dominant": (
                self.minor_outweighs.as_json() if self.minor_outweighs else None
            ),
            "abs_derivative_exceeds_1": self.exceeds_one.as_json(),
            "abs_derivative_within_1pct_of_1": self.near_one.as_json(),
            "derivative_exactly_0": self.zero.as_json(),
            "mean_log_abs_derivative": self.log_abs.as_json() if self.log_abs else None,
            "signed_derivative": self.total.as_json(),
            "p1": self.p1.as_json(),
            "p99": self.p99.as_json(),
            "spread_p1_p99": self.spread.as_json(),
            "std": self.std,
            "abs_term_over_abs_weight": {k: v.as_json() for k, v in self.compression.items()},
            "fraction_abs_term_below_abs_dominant": {
                k: v.as_json() for k, v in self.smaller.items()
            },
            "gate_counts": self.gate_counts,
        }
        return out


#: | |a| - 1 | below this counts as "the derivative equals 1" (a 1% band).
NEAR_ONE = 0.01


def one_step(cell: Cell | str, settings: Settings, forget_bias: float | None = ...) -> OneStep:
    """Evaluate the engine's one-step derivative of ``cell`` at ``settings.samples``
    points drawn under ``settings`` (``forget_bias`` overrides the settings' one)
    and summarise it term by term."""
    cell = get_cell(cell) if isinstance(cell, str) else cell
    bias = settings.forget_bias if forget_bias is ... else forget_bias
    d = derive(cell)
    kernel = d.numeric()
    rng = rng_for(settings.seed, f"one-step/{cell.name}")
    points = sample(cell, kernel.names, settings.samples, rng, settings.init, bias)
    total, terms = kernel(**points)
    conf = settings.confidence
    n = settings.samples
    dominant_index = next(k for k, t in enumerate(d.terms) if t.dominant)
    dom = terms[dominant_index]
    minor_terms = {t.via: terms[k] for k, t in enumerate(d.terms) if not t.dominant}
    minor = sum(minor_terms.values()) if minor_terms else None
    compression = {}
    for k, t in enumerate(d.terms):
        weights = [f.name for f in t.factors if f.is_Symbol and f.name in cell.params]
        if not t.dominant and len(weights) == 1:
            w = np.abs(points[weights[0]])
            ratio = np.abs(terms[k])[w > 0] / w[w > 0]
            compression[t.via] = summarize(ratio, settings.confidence)
    abs_total = np.abs(total)
    nonzero = abs_total[abs_total > 0]
    srt = np.sort(total)
    return OneStep(
        cell=cell.name,
        target=d.target,
        source=d.source,
        n=n,
        seed=settings.seed,
        distribution=describe(settings.init, bias, cell, names=kernel.names),
        dominant_name=d.dominant.via,
        dominant=summarize(np.abs(dom), conf),
        minor=summarize(np.abs(minor), conf) if minor is not None else None,
        terms={k: summarize(np.abs(v), conf) for k, v in minor_terms.items()},
        minor_outweighs=(
            wilson(int(np.count_nonzero(np.abs(minor) > np.abs(dom))), n, conf)
            if minor is not None
            else None
        ),
        exceeds_one=wilson(int(np.count_nonzero(abs_total > 1)), n, conf),
        near_one=wilson(int(np.count_nonzero(np.abs(abs_total - 1) < NEAR_ONE)), n, conf),
        zero=wilson(n - len(nonzero), n, conf),
        log_abs=mean_ci(np.log(nonzero), conf) if len(nonzero) > 1 else None,
        total=summarize(total, conf),
        p1=quantile_ci(srt, 0.01, conf, presorted=True),
        p99=quantile_ci(srt, 0.99, conf, presorted=True),
        std=float(total.std(ddof=1)),
        gate_counts={t.via: t.gate_count for t in d.terms},
        compression=compression,
        dominant_latex=LatexMath(d.cell, d.ranges).item(Factors(d.dominant.factors)),
        smaller={
            via: wilson(int(np.count_nonzero(np.abs(v) < np.abs(dom))), n, conf)
            for via, v in minor_terms.items()
        },
        kink=bool(d.total.atoms(sympy.Heaviside)),
    )


# ---------------------------------------------------------------- multi-step gap


def make_step(cell: Cell):
    """A NumPy function ``step(prev, params, x) -> values`` running one step of
    ``cell``: ``prev`` maps ``s_prev`` names to arrays, ``params`` parameter
    names, ``x`` the input; the result maps every value name to its array.
    Each equation is compiled from the cell's own definition."""
    compiled = []
    for eq in cell.equations:
        names = sorted(s.name for s in eq.rhs.free_symbols)
        compiled.append((eq.name, names, _compile([cell.symbol(n) for n in names], eq.rhs)))

    def step(prev, params, inputs):
        env = {**prev, **params, **inputs}
        out = {}
        for name, names, fn in compiled:
            out[name] = env[name] = np.broadcast_to(fn(*(env[n] for n in names)), _shape(env))
        return out

    return step


def _compile(args, expr):
    # The primitives' own NumPy forms (sigmoid as exp(-logaddexp(0, -u))), not
    # numeric.lambdify's expit: the committed figures were computed with them,
    # and expit differs in the last bits.
    return sympy.lambdify(args, expr, modules="numpy")


def _shape(env):
    return np.broadcast_shapes(*(np.shape(v) for v in env.values()))


@dataclass(frozen=True)
class StateGap:
    """The article's product of one-step derivatives against the exact multi-step
    derivative, along seeded trajectories of a two-state cell.

    At each horizon T in ``horizons``, "exact" is d target_T / d source_0 from
    the product of exact state Jacobians and "article" the product of the T
    one-step derivatives: ``gap[T]`` summarises |exact - article| / |exact|;
    ``off[T]`` counts samples with a relative gap above :data:`GAP_VISIBLE`;
    ``fd_error`` is the largest relative difference between the exact product
    and central differences of the forward pass at ``fd_steps`` steps;
    ``t1_gap`` the largest relative gap at T = 1, where the two must agree;
    ``held`` names the previous values drawn at the start (``o_prev``) that
    the run then carries.
    """

    cell: str
    n: int
    seed: int
    distribution: str
    horizons: tuple
    gap: dict
    off: dict
    fd_error: float
    fd_steps: int
    t1_gap: float
    held: tuple

    def as_json(self) -> dict:
        return {
            "cell": self.cell,
            "samples": self.n,
            "seed": self.seed,
            "distribution": plain(self.distribution),
            "held_fixed": ", ".join(self.held),
            "relative_gap": {str(t): g.as_json() for t, g in self.gap.items()},
            f"fraction_gap_above_{GAP_VISIBLE:g}": {
                str(t): f.as_json() for t, f in self.off.items()
            },
            "largest_relative_gap_at_T1": self.t1_gap,
            "finite_difference_check": {"steps": self.fd_steps, "max_rel_error": self.fd_error},
        }


#: A relative gap above this counts as "the article's product is visibly off".
GAP_VISIBLE = 0.01
#: Horizons T at which the gap is reported.
GAP_HORIZONS = (1, 2, 10, 50)
#: Trajectories checked against finite differences (a subset: each needs 2 extra runs).
FD_SAMPLES = 200
# Central differences on c_0: truncation ~ h^2 |f'''|, rounding ~ eps |f| / h;
# h = 1e-5 balances them near 1e-10 relative for T <= 50 steps of O(1)
# derivatives. 1e-6 leaves four orders for growth of the third derivative.
FD_STEP = 1e-5
FD_TOLERANCE = 1e-6


def state_gap(cell: Cell | str, settings: Settings, horizons=GAP_HORIZONS) -> StateGap:
    """Run ``settings.samples // 10`` seeded trajectories of a two-state cell
    (``lstm``, ``gru-late-reset``) for ``max(horizons)`` steps with fixed
    parameters and N(0, 1) inputs, and compare at each horizon the exact
    derivative of the target with respect to the initial source (the product
    of the engine's exact state Jacobians) with the article's product of the
    engine's one-step derivatives. The initial closing value (h_0 = o_0 tanh c_0)
    follows the article's convention, so the two agree at T = 1."""
    cell = get_cell(cell) if isinstance(cell, str) else cell
    d = derive(cell)
    if not d.carry:
        raise ValueError(f"{cell.name} has one state: its one-step derivative is exact")
    jac = derive(cell, "state")
    n = max(100, settings.samples // 10)
    rng = rng_for(settings.seed, f"state-gap/{cell.name}")
    article = d.numeric()
    entries = [[e.numeric() for e in row] for row in jac.entries]
    params = sample(cell, cell.params, n, rng, settings.init, settings.forget_bias)
    step = make_step(cell)
    held = sorted(
        {s.name for e in d.carry.values() for s in e.free_symbols} - {d.source}
    )  # o_prev for the LSTM: drawn like any previous gate, then carried by the run
    initial = sample(cell, [d.source, *held], n, rng, settings.init)
    # The closing value of step 0 and its derivative along the convention.
    carry_values = _closing(cell, initial, n)
    carry_slopes = _closing(cell, initial, n, slope=True)
    prevs = {d.source: initial[d.source], **carry_values}
    held_now = {k: initial[k] for k in held}
    source_index = cell.prevs.index(d.source)
    target_index = cell.prevs.index(f"{d.target}_prev")
    v = np.zeros((len(cell.state), n))
    v[source_index] = 1.0
    for prev, slope in carry_slopes.items():
        v[cell.prevs.index(prev)] = slope
    product = np.ones(n)
    xs = rng.standard_normal((max(horizons), n))
    gaps, offs, t1 = {}, {}, 0.0
    fd_steps = min(10, max(horizons))
    exact_at_fd = None
    for t in range(1, max(horizons) + 1):
        point = {**prevs, **held_now, **params, "x": xs[t - 1]}
        a, _ = article(**{k: point[k] for k in article.names})
        product = product * a
        jm = np.empty((len(cell.state), len(cell.state), n))
        for i, row in enumerate(entries):
            for j, e in enumerate(row):
                jm[i, j], _ = e(**{k: point[k] for k in e.names})
        v = np.einsum("ijn,jn->in", jm, v)
        values = step(prevs, params, {"x": xs[t - 1]})
        prevs = {f"{s}_prev": values[s] for s in cell.state}
        held_now = {k: values[k.removesuffix("_prev")] for k in held}
        exact = v[target_index]
        if t == fd_steps:
            exact_at_fd = exact.copy()
        if t in horizons:
            with np.errstate(divide="ignore", invalid="ignore"):
                rel = np.abs(exact - product) / np.abs(exact)
            rel = rel[np.isfinite(rel)]
            if t == 1:
                t1 = float(rel.max())
            gaps[t] = summarize(rel, settings.confidence)
            offs[t] = wilson(
                int(np.count_nonzero(rel > GAP_VISIBLE)), len(rel), settings.confidence
            )
    fd = _fd_check(cell, d, step, initial, held, params, xs, fd_steps, exact_at_fd)
    return StateGap(
        cell=cell.name,
        n=n,
        seed=settings.seed,
        distribution=describe(
            settings.init, settings.forget_bias, cell, names=[*cell.params, d.source, *held]
        ),
        horizons=tuple(horizons),
        gap=gaps,
        off=offs,
        fd_error=fd,
        fd_steps=fd_steps,
        t1_gap=t1,
        held=tuple(held),
    )


def _closing(cell: Cell, start: dict, n: int, slope: bool = False) -> dict:
    """The closing values of step 0 under the article's convention (the LSTM's
    h_0 = o_0 tanh c_0) from the ``start`` values, or with ``slope`` their
    derivatives along the source: arrays of length ``n`` by previous name."""
    return {
        prev: np.broadcast_to(fn(*(start[k] for k in names)), (n,))
        for prev, names, fn in _carry_kernels(cell, slope)
    }


@functools.cache
def _carry_kernels(cell: Cell, slope: bool) -> tuple:
    d = derive(cell)
    kernels = []
    for prev, expr in d.carry.items():
        names = sorted(s.name for s in expr.free_symbols)
        if slope:
            expr = partial(expr, cell.symbol(d.source))
        kernels.append((prev.name, names, _compile([cell.symbol(k) for k in names], expr)))
    return tuple(kernels)


def _fd_check(cell, d, step, initial, held, params, xs, steps, exact) -> float:
    """Largest relative difference between ``exact`` and central differences of
    the target after ``steps`` forward steps, w.r.t. the initial source."""
    k = min(FD_SAMPLES, len(exact))
    sub = slice(0, k)

    def run(delta):
        start = {n: initial[n][sub] for n in initial}
        start[d.source] = start[d.source] + delta
        prevs = {d.source: start[d.source], **_closing(cell, start, k)}
        p = {name: v[sub] for name, v in params.items()}
        values = None
        for t in range(steps):
            values = step(prevs, p, {"x": xs[t][sub]})
            prevs = {f"{s}_prev": values[s] for s in cell.state}
        return values[d.target]

    fd = (run(FD_STEP) - run(-FD_STEP)) / (2 * FD_STEP)
    scale = np.maximum(np.abs(exact[sub]), 1e-3)  # derivatives near 0: absolute error
    return float(np.max(np.abs(fd - exact[sub]) / scale))
