"""Gradient flow over many steps: what a run of the flow engines reports.

A run (:func:`run_flow`) draws ``samples`` random cells (parameters once per
sample, :mod:`symgrad.sampling`), drives them from state 0 on fresh inputs for
``steps`` steps (:mod:`symgrad.trajectory`: the exact product
:math:`\\partial s_t/\\partial s_0` of state Jacobians, chunk by chunk) and
keeps, as the chunks stream past, only what it reports, so memory does not
grow with the number of steps.

Reported per cell (:class:`FlowResult`): quantiles over samples of
:math:`\\log_{10}\\|\\partial s_t/\\partial s_0\\|_F` at log-spaced t, the
Lyapunov exponent :math:`\\lambda = E[\\ln\\|\\partial s_T/\\partial s_0\\|]/T`
(natural log, per step) with a confidence interval, the step at which the
median falls below :data:`VANISH`, the fraction of samples above
:data:`EXPLODE`; for cells whose default derivative follows the article's
one-step convention (the LSTM's :math:`\\partial c_t/\\partial c_{t-1}` through
:math:`h_{t-1} = o_{t-1}\\tanh c_{t-1}`), the article's product of one-step
derivatives beside the exact entry of the product, and their gap (:class:`ArticleDrift`);
for cells of the form :math:`s_t = F(U s_{t-1} + \\ldots)`, the classical
sufficient condition for vanishing (:func:`classical_form`).

``dim = n > 1`` makes every value a vector in :math:`R^n` (weights n x n
matrices, :class:`symgrad.trajectory.VectorProgram`); the product's
renormalised power iteration gives the top Lyapunov exponent.

:func:`compare_cells` puts every cell's one-step derivative and flow side by
side. The reports are :mod:`symgrad.report.flow`'s.

NumPy at module level: only the ``flow`` and ``compare`` commands import this
module, inside the command.
"""

from __future__ import annotations

import math
import numbers
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from .cells import Cell, builtin_cells, get_cell, prev_name
from .defaults import (
    FLOW_MINUTES,
    FLOW_SAMPLES_1D,
    FLOW_SAMPLES_ND,
    FLOW_SEED,
    FLOW_STEPS,
    INITS,
    MAX_DIM,
    MEMORY_BUDGET,
)
from .derivation import derive, partial
from .numeric import make_numeric
from .primitives import primitive_of
from .render import Factors, LatexMath, TextMath
from .sampling import describe, draw_vector_params, param_kind, sample
from .stats import CONFIDENCE, cell_rng, student_ci
from .text import json_ready
from .threads import numeric_threads
from .trajectory import (
    CHUNK_ELEMENTS,
    Chunk,
    FlowError,
    ScalarEngine,
    VectorEngine,
    VectorProgram,
    drive,
)

__all__ = [
    "EXPLODE",
    "LEVELS",
    "VANISH",
    "ArticleDrift",
    "CompareRow",
    "FlowError",
    "FlowResult",
    "check_budget",
    "classical_form",
    "compare_cells",
    "estimate",
    "log_steps",
    "run_flow",
]

#: Quantile levels of every table (the plot's band is the outer pair).
LEVELS = (0.1, 0.25, 0.5, 0.75, 0.9)
#: A gradient below this has vanished (the article's "vanishes over thousands of steps").
VANISH = 1e-8
#: A gradient above this has exploded: the mirror image of VANISH.
EXPLODE = 1e8
#: Steps recorded for the plot's curves, evenly spaced over the run.
PLOT_POINTS = 500

# The empirical quantile without interpolation: log-norms may be -inf (an
# exactly zero gradient), where interpolation would give nan.
_QUANTILE_METHOD = "inverted_cdf"


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class ArticleDrift:
    """The article's product of one-step derivatives against the exact entry.

    ``target``/``source`` name the derivative (``c``/``c_prev``;
    ``derivative`` writes it ``"dc/dc_prev"``); ``convention``: the carried
    values of the article's one-step convention; ``article``, ``exact`` and
    ``gap`` are quantile tables at the run's checkpoints (one row per
    checkpoint, one column per :data:`LEVELS`) of log10 |article product|,
    log10 |exact entry of d s_t/d s_0| and their difference per sample;
    ``lyapunov_article``/``lyapunov_exact`` are their mean log growths per step.
    """

    target: str
    source: str
    convention: dict
    article: tuple
    exact: tuple
    gap: tuple
    lyapunov_article: float
    lyapunov_exact: float
    #: The derivative and the convention's carried equations as prose with
    #: inline math (``$\partial c_t/\partial c_{t-1}$``,
    #: ``$h_{t-1} = o_{t-1} \tanh c_{t-1}$``), for Markdown and LaTeX.
    derivative_latex: str = ""
    convention_latex: str = ""

    @property
    def derivative(self) -> str:
        return f"d{self.target}/d{self.source}"


@dataclass(frozen=True)
class FlowResult:
    """One cell's gradient flow (see the module docstring for every definition).

    ``quantiles[k][j]`` is the :data:`LEVELS` ``[j]`` quantile over samples of
    log10 |d s_t/d s_0| (Frobenius norm) at ``t = checkpoints[k]``;
    ``lyapunov`` (natural log per step) is the sample mean of
    ln |d s_T/d s_0| / T, ``-inf`` if some sample's gradient is exactly 0;
    ``vanish_step`` is the first step whose median is below :data:`VANISH`
    (None if none within the run); ``curve`` holds ``steps``, ``low``,
    ``median``, ``high`` (10%, 50%, 90% quantiles of log10) for the plot;
    ``one_step``: the spectral norm of the one-step Jacobian over samples and
    checkpoint steps; ``classical``: the classical sufficient condition for
    vanishing, where the cell has the form s_t = F(U s_{t-1} + ...), else None.
    ``nonfinite_fraction``: samples whose state overflowed float64;
    ``undefined_fraction``: those whose gradient became undefined with it
    (inf - inf in a Jacobian): they are left out of every statistic, which is
    nan when no sample is left.
    """

    cell: str
    state: tuple
    settings: dict
    checkpoints: tuple
    quantiles: tuple
    lyapunov: float
    lyapunov_ci: tuple
    lyapunov_median: float
    vanish_step: int | None
    explode_fraction: float
    vanish_fraction: float
    zero_fraction: float
    nonfinite_fraction: float
    undefined_fraction: float
    curve: dict = field(repr=False)
    one_step: dict = field(repr=False)
    classical: dict | None = field(repr=False)
    article: ArticleDrift | None = field(repr=False)
    seconds: float = field(repr=False, compare=False)

    def median_at(self, t: int) -> float:
        """The median of log10 |d s_t/d s_0| at checkpoint ``t``."""
        return self.quantiles[self.checkpoints.index(t)][LEVELS.index(0.5)]

    def to_json(self) -> dict:
        """A JSON-ready dict; infinities as the strings ``"-inf"``, ``"inf"``, an
        undefined figure (nan) as ``None``."""
        out = {
            "cell": self.cell,
            "state": list(self.state),
            "lyapunov": self.lyapunov,
            "lyapunov_ci": list(self.lyapunov_ci),
            "lyapunov_median": self.lyapunov_median,
            "lyapunov_units": "natural log of the gradient norm per step",
            "vanish_step": self.vanish_step,
            "explode_fraction": self.explode_fraction,
            "vanish_fraction": self.vanish_fraction,
            "zero_fraction": self.zero_fraction,
            "nonfinite_fraction": self.nonfinite_fraction,
            "undefined_fraction": self.undefined_fraction,
            "quantiles": {
                "quantity": "log10 of the Frobenius norm of d state_t / d state_0",
                "levels": list(LEVELS),
                "rows": [
                    {"t": t, "values": list(q)}
                    for t, q in zip(self.checkpoints, self.quantiles, strict=True)
                ],
            },
            "one_step": self.one_step,
            "classical": self.classical,
            "settings": self.settings,
        }
        if self.article is not None:
            a = self.article
            out["article"] = {
                "derivative": a.derivative,
                "convention": a.convention,
                "levels": list(LEVELS),
                "rows": [
                    {"t": t, "article": list(p), "exact": list(e), "gap": list(g)}
                    for t, p, e, g in zip(self.checkpoints, a.article, a.exact, a.gap, strict=True)
                ],
                "lyapunov_article": a.lyapunov_article,
                "lyapunov_exact": a.lyapunov_exact,
            }
        return json_ready(out)


# ---------------------------------------------------------------- a run


def run_flow(
    cell: Cell | str,
    steps: int = FLOW_STEPS,
    samples: int | None = None,
    dim: int = 1,
    seed: int = FLOW_SEED,
    init: str = "normal",
    forget_bias: float | None = None,
    fixed: dict | None = None,
    progress=None,
    minutes: float = FLOW_MINUTES,
) -> FlowResult:
    """Run ``cell`` forward ``steps`` steps on ``samples`` seeded random draws and
    accumulate the exact product of its state Jacobians.

    ``cell``: a :class:`~symgrad.cells.Cell` or a built-in name. ``samples``:
    default :data:`FLOW_SAMPLES_1D` (``dim == 1``) or :data:`FLOW_SAMPLES_ND`.
    Parameters are drawn once per sample (:func:`symgrad.sampling.sample` for
    ``dim == 1``, :func:`symgrad.sampling.draw_vector_params` otherwise),
    inputs afresh every step ~ N(0, 1), the state starts at 0. ``init``: one of
    :data:`symgrad.defaults.INITS`; ``forget_bias`` sets ``b_f`` where the cell
    has one. ``fixed``: names (parameters or inputs) pinned to a constant in
    every sample (n-dim: weight matrices c I, vectors c 1). The random stream
    is seeded by ``(seed, cell name)``, so a cell's result does not depend on
    which other cells run with it, and a shorter run is a prefix of a longer
    one. ``progress(cell_name, step, steps)`` is called after every chunk.
    Raises :class:`FlowError` for arguments out of range.
    """
    if isinstance(cell, str):
        cell = get_cell(cell)
    samples = (FLOW_SAMPLES_1D if dim == 1 else FLOW_SAMPLES_ND) if samples is None else samples
    _check_settings(cell, steps, samples, dim, init, forget_bias, fixed)
    check_budget([cell], steps, samples, dim, minutes)
    start = time.perf_counter()
    rng = cell_rng(seed, cell.name)
    fixed = dict(fixed or {})
    stream = _Stream(steps, samples)
    groups = _groups(cell, steps, samples, dim)
    done = 0

    def report(t):
        if progress is not None:
            progress(cell.name, (done * steps + t * len(group)) // samples, steps)

    runs = []
    with numeric_threads():
        for group in groups:
            if dim == 1:
                params = _scalar_params(cell, len(group), rng, init, forget_bias, fixed)
                engine = ScalarEngine(cell, params, track_sign=False)  # a run reads norms only
            else:
                engine = VectorEngine(
                    VectorProgram(cell, dim),
                    draw_vector_params(cell, len(group), dim, rng, init, forget_bias, fixed),
                )
            source = _random_inputs(cell, len(group), dim, rng, fixed)
            record = stream if len(groups) == 1 else _Record(stream)
            drive(engine, source, record, steps, len(group), report, chunk_samples=len(groups[0]))
            runs.append((engine.nonfinite, _sigma(cell, engine), record))
            done += len(group)
    if len(groups) > 1:
        _Record.replay([r for *_, r in runs], stream)
    nonfinite = np.concatenate([n for n, *_ in runs])
    sigma = None if runs[0][1] is None else np.concatenate([s for _, s, _ in runs])
    settings = {
        "steps": steps,
        "samples": samples,
        "dim": dim,
        "seed": seed,
        "init": init,
        "forget_bias": forget_bias if "b_f" in cell.params else None,
        "fixed": fixed,
        "distribution": describe(init, forget_bias if "b_f" in cell.params else None, dim=dim),
        "norm": "Frobenius norm of d state_t / d state_0 (the absolute value for one scalar state)",
        "confidence": CONFIDENCE,
        "vanish_threshold": VANISH,
        "explode_threshold": EXPLODE,
    }
    article = engine.article if stream.last_article is not None else None
    return _result(cell, article, nonfinite, sigma, stream, settings, time.perf_counter() - start)


def log_steps(steps: int) -> tuple[int, ...]:
    """Checkpoints 1, 2, 5, 10, 20, 50, ... below ``steps``, and ``steps`` itself."""
    out, scale = [], 1
    while scale <= steps:
        out += [m * scale for m in (1, 2, 5) if m * scale < steps]
        scale *= 10
    return (*out, steps)


# ---------------------------------------------------------------- budgets

#: Seconds per sample and step: a fixed cost, and the cost per unit of d^3 (the
#: d x d product, d = n x states, and the tangents of the forward mode), both
#: measured on a 2-core machine in 2026 (dim 16 to 512) and rounded up: an
#: estimate to decide before work, not a promise.
_STEP_SECONDS, _CUBE_SECONDS = 5e-6, 4e-10
#: Bytes per sample of a vector run: the tangents of every node (n x d each,
#: about 25 nodes for the LSTM) and the product P (d x d), float64.
_NODES = 25


def estimate(cell: Cell, steps: int, samples: int, dim: int) -> tuple[float, float]:
    """``(seconds, bytes)`` a run of ``cell`` is expected to take: time grows as
    samples x steps x d^3, memory (which does not grow with steps) as samples x
    d^2 for hidden size ``dim`` and d = dim x (number of states)."""
    d = dim * len(cell.state)
    if dim == 1:
        # Chunks of CHUNK_ELEMENTS values, ~40 arrays of each: memory bounded.
        return samples * steps * 5e-7 * d * d, 40 * 8 * max(CHUNK_ELEMENTS, samples) * d * d
    seconds = samples * steps * (_STEP_SECONDS + _CUBE_SECONDS * d**3)
    group = len(_groups(cell, steps, samples, dim)[0])
    return seconds, group * _sample_bytes(dim, d) + _record_bytes(steps, samples)


def _sample_bytes(dim: int, d: int) -> float:
    """Memory of one sample of a vector run at hidden size ``dim`` (state size d)."""
    return 8.0 * (_NODES * dim * d + 3 * d * d)


def _record_bytes(steps: int, samples: int) -> float:
    """Memory of the per-sample figures of every step a run in groups keeps
    until the last group is done (log-norms, the article's and the exact)."""
    return 3 * 8.0 * steps * samples


def _groups(cell: Cell, steps: int, samples: int, dim: int) -> list[range]:
    """The samples in groups run one after the other, each within half of
    :data:`MEMORY_BUDGET` (one group, every sample, when they fit: 1-D runs
    stream in chunks of steps instead)."""
    if dim == 1:
        return [range(samples)]
    size = max(1, int(MEMORY_BUDGET / 2 // _sample_bytes(dim, dim * len(cell.state))))
    return [range(k, min(k + size, samples)) for k in range(0, samples, size)]


def check_budget(cells, steps: int, samples: int, dim: int, minutes: float) -> None:
    """Raise :class:`FlowError` before any work when a run of one of ``cells`` would
    need more memory than :data:`symgrad.defaults.MEMORY_BUDGET`, or the runs of
    all of them together longer than ``minutes``."""
    shape = f"{samples:,} samples x {steps:,} steps at hidden size {dim}"
    seconds = 0.0
    for cell in cells:
        time_needed, memory = estimate(cell, steps, samples, dim)
        seconds += time_needed
        if memory > MEMORY_BUDGET:
            raise FlowError(
                f"{cell.name}: {shape} needs about {memory / 2**30:.1f} GB at once, over "
                f"the {MEMORY_BUDGET / 2**30:g} GB budget: lower --samples or --dim"
            )
    if seconds > 60 * minutes:
        names = ", ".join(c.name for c in cells)
        raise FlowError(
            f"{names}: {shape} would take about {_duration(seconds)}, over the "
            f"{minutes:g}-minute budget: lower --steps, --samples or --dim, or raise "
            "--max-minutes"
        )


def _duration(seconds: float) -> str:
    if seconds < 3600:
        return f"{seconds / 60:.0f} minutes"
    if seconds < 86400 * 2:
        return f"{seconds / 3600:.0f} hours"
    return f"{seconds / 86400:,.0f} days"


def _check_settings(cell, steps, samples, dim, init, forget_bias, fixed):
    if not isinstance(steps, numbers.Integral) or steps < 1:
        raise FlowError(f"steps must be a positive integer, not {steps!r}")
    if not isinstance(samples, numbers.Integral) or samples < 2:
        raise FlowError(f"samples must be an integer of at least 2, not {samples!r}")
    if not isinstance(dim, numbers.Integral) or not 1 <= dim <= MAX_DIM:
        raise FlowError(f"dim must be an integer from 1 to {MAX_DIM}, not {dim!r}")
    if init not in INITS:
        raise FlowError(f"unknown init {init!r}. Valid choices: {', '.join(INITS)}")
    if forget_bias is not None and not math.isfinite(forget_bias):
        raise FlowError(f"forget bias must be a finite number, not {forget_bias!r}")
    known = set(cell.params) | set(cell.inputs)
    for name, value in (fixed or {}).items():
        if name not in known:
            raise FlowError(
                f"cannot fix {name!r}: {cell.name} has parameters and inputs "
                f"{', '.join(sorted(known))}"
            )
        if not math.isfinite(value):
            raise FlowError(f"fixed value of {name} must be finite, not {value!r}")


def _scalar_params(cell, samples, rng, init, forget_bias, fixed) -> dict:
    params = sample(cell, cell.params, samples, rng, init=init, forget_bias=forget_bias)
    for name, value in fixed.items():
        if name in params:
            params[name] = np.full(samples, float(value))
    return params


def _random_inputs(cell, samples, dim, rng, fixed):
    def source(t0, k):
        shape = (k, samples) if dim == 1 else (k, samples, dim)
        return {
            name: np.full(shape, float(fixed[name]))
            if name in fixed
            else rng.standard_normal(shape)
            for name in cell.inputs
        }

    return source


# ---------------------------------------------------------------- streaming statistics


class _Stream:
    """Statistics of a run kept as it streams past: memory independent of T.

    The stream of :func:`symgrad.trajectory.drive`: it asks for the one-step
    norms at the checkpoints and keeps, of each chunk, the quantiles at the
    checkpoints and plot steps, the first step whose median is below
    :data:`VANISH`, and the last step's log-norms.
    """

    def __init__(self, steps: int, samples: int):
        self.steps = steps
        self.checkpoints = log_steps(steps)
        grid = np.unique(np.linspace(1, steps, min(steps, PLOT_POINTS)).round().astype(int))
        self.grid = set(grid.tolist()) | set(self.checkpoints)
        self.table: dict = {}
        self.curve: dict = {}
        self.article: dict = {}
        self.one_step: list = []
        self.vanish_step = None
        self.last = None
        self.last_article = None
        self.last_exact = None
        self.article_total = 0.0  # ln of the article's product up to the current chunk

    def one_step_rows(self, t0, k):
        return [t - t0 - 1 for t in self.checkpoints if t0 < t <= t0 + k]

    def feed(self, t0: int, chunk):
        ln = chunk.log_norm
        k = len(ln)
        if self.vanish_step is None:
            median = _quantile(ln, 0.5, axis=1)
            below = np.flatnonzero(median < math.log(VANISH))
            if below.size:
                self.vanish_step = t0 + 1 + int(below[0])
        rows = [row for row in range(k) if t0 + row + 1 in self.grid]
        if rows:
            table = _quantile(ln[rows], LEVELS, axis=1) / math.log(10)
            for row, q in zip(rows, table.T.tolist(), strict=True):
                t = t0 + row + 1
                self.curve[t] = (q[0], q[2], q[4])
                if t in self.checkpoints:
                    self.table[t] = tuple(q)
                    if chunk.log_article is not None:
                        self.article[t] = self._article_row(chunk, row)
        self.one_step += [v for v in chunk.one_step.values()]
        if t0 + k == self.steps:
            self.last = ln[-1].copy()
            if chunk.log_article is not None:
                self.last_article = self.article_total + np.sum(chunk.log_article, axis=0)
                self.last_exact = chunk.log_exact[k - 1].copy()
        if chunk.log_article is not None:
            self.article_total = self.article_total + np.sum(chunk.log_article, axis=0)

    def _article_row(self, chunk, row):
        article = (self.article_total + np.sum(chunk.log_article[: row + 1], axis=0)) / math.log(10)
        exact = chunk.log_exact[row] / math.log(10)
        with np.errstate(invalid="ignore"):
            gap = article - exact
        gap = np.where(np.isnan(gap), 0.0, gap)  # both exactly 0: they agree
        return _quantiles(article), _quantiles(exact), _quantiles(gap)


class _Record:
    """A stream for one group of samples when a run is split into groups: it
    keeps every chunk until the last group is done, then :meth:`replay` feeds
    the real stream each chunk with every group's samples side by side (the
    statistics across samples need them all at once)."""

    def __init__(self, stream: _Stream):
        self.one_step_rows = stream.one_step_rows
        self.chunks: list = []

    def feed(self, t0: int, chunk) -> None:
        self.chunks.append((t0, chunk))

    @staticmethod
    def replay(records: list, stream: _Stream) -> None:
        for parts in zip(*(r.chunks for r in records), strict=True):
            t0 = parts[0][0]
            chunks = [c for _, c in parts]
            stream.feed(
                t0,
                Chunk(
                    log_norm=np.concatenate([c.log_norm for c in chunks], axis=1),
                    log_article=_joined(c.log_article for c in chunks),
                    log_exact=_joined_rows(c.log_exact for c in chunks),
                    one_step=_joined_rows(c.one_step for c in chunks) or {},
                ),
            )


def _joined(arrays):
    arrays = list(arrays)
    return None if arrays[0] is None else np.concatenate(arrays, axis=1)


def _joined_rows(dicts):
    dicts = list(dicts)
    if dicts[0] is None:
        return None
    return {row: np.concatenate([d[row] for d in dicts]) for row in dicts[0]}


def _quantiles(values) -> tuple:
    return tuple(float(q) for q in _quantile(values, LEVELS))


def _fraction(flags) -> float:
    return float(np.mean(flags)) if flags.size else math.nan


def _quantile(values, levels, axis=None):
    """Quantiles over the samples where the gradient is defined: a sample whose
    state overflowed float64 (inf - inf in its Jacobian) has a nan log-norm
    and is left out; nan where no sample is defined."""
    values = np.asarray(values)
    if not np.isnan(values).any():
        return np.quantile(values, levels, axis=axis, method=_QUANTILE_METHOD)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-nan slice is nan, on purpose
        return np.nanquantile(values, levels, axis=axis, method=_QUANTILE_METHOD)


def _result(cell, article, nonfinite, sigma, stream, settings, seconds) -> FlowResult:
    steps, last = stream.steps, stream.last
    lam = last / steps
    defined = ~np.isnan(lam)
    mean, ci = student_ci(lam[defined]) if defined.sum() >= 2 else (math.nan, (math.nan,) * 2)
    curve_steps = sorted(stream.curve)
    one_step = np.concatenate(stream.one_step) if stream.one_step else np.array([np.nan])
    result_article = None
    if article is not None:
        d = article
        result_article = ArticleDrift(
            target=d.target,
            source=d.source,
            convention={p.name: str(e) for p, e in d.carry.items()},
            article=tuple(stream.article[t][0] for t in stream.checkpoints),
            exact=tuple(stream.article[t][1] for t in stream.checkpoints),
            gap=tuple(stream.article[t][2] for t in stream.checkpoints),
            lyapunov_article=student_ci(stream.last_article / steps)[0],
            lyapunov_exact=student_ci(stream.last_exact / steps)[0],
            derivative_latex=_derivative_latex(cell, d),
            convention_latex=", ".join(
                f"${cell.latex[p.name]} = {LatexMath(cell, inline=True).doprint(e)}$"
                for p, e in d.carry.items()
            ),
        )
    return FlowResult(
        cell=cell.name,
        state=tuple(cell.state),
        settings=settings,
        checkpoints=stream.checkpoints,
        quantiles=tuple(stream.table[t] for t in stream.checkpoints),
        lyapunov=mean,
        lyapunov_ci=ci,
        lyapunov_median=float(_quantile(lam, 0.5)),
        vanish_step=stream.vanish_step,
        # Among the samples whose gradient is defined (nan: none is).
        explode_fraction=_fraction(last[defined] > math.log(EXPLODE)),
        vanish_fraction=_fraction(last[defined] < math.log(VANISH)),
        zero_fraction=_fraction(last[defined] == -np.inf),
        nonfinite_fraction=float(np.mean(nonfinite)),
        undefined_fraction=float(np.mean(~defined)),
        curve={
            "steps": curve_steps,
            "low": [stream.curve[t][0] for t in curve_steps],
            "median": [stream.curve[t][1] for t in curve_steps],
            "high": [stream.curve[t][2] for t in curve_steps],
        },
        one_step=_one_step_summary(one_step),
        classical=_classical(cell, sigma, last, steps, settings["dim"]),
        article=result_article,
        seconds=seconds,
    )


def _derivative_latex(cell: Cell, d) -> str:
    """``$\\partial c_t/\\partial c_{t-1}$``: the derivative ``d`` as inline math."""
    return f"$\\partial {cell.latex[d.target]}/\\partial {cell.latex[d.source]}$"


def _one_step_summary(norms) -> dict:
    finite = norms[np.isfinite(norms)]
    if finite.size == 0:
        return {"levels": list(LEVELS), "spectral_norm": [math.nan] * len(LEVELS)}
    return {
        "quantity": "spectral norm of the one-step state Jacobian, over samples and "
        "checkpoint steps",
        "levels": list(LEVELS),
        "spectral_norm": list(_quantiles(finite)),
        "fraction_at_least_1": float(np.mean(finite >= 1.0)),
    }


# ---------------------------------------------------------------- the classical condition


def classical_form(cell: Cell):
    """``(U, gamma)`` if the cell is s_t = F(U s_{t-1} + terms free of s_{t-1}) with F
    a primitive of slope at most gamma (SimpleRNN: tanh, gamma = 1; gamma is the
    ``slope_sup`` of :data:`symgrad.primitives.PRIMITIVES`), else None.

    Then ||J_t||_2 <= gamma sigma_max(U) at every step, so sigma_max(U) < 1/gamma
    makes the gradient vanish (Pascanu, Mikolov and Bengio 2013): sufficient,
    not necessary.
    """
    if len(cell.state) != 1:
        return None
    eq = cell.equation(cell.state[0])
    primitive = primitive_of(eq.rhs)
    if primitive is None or primitive.slope_sup is None:
        return None
    pre = eq.rhs.args[0]
    if any(s.name in cell.values for s in pre.free_symbols):
        return None
    coefficient = partial(pre, cell.symbol(prev_name(cell.state[0])))
    if not (coefficient.is_Symbol and param_kind(coefficient.name) == "matrix"):
        return None
    return coefficient.name, primitive.slope_sup


def _sigma(cell, engine):
    """sigma_max of the classical condition's matrix, per sample (None without one)."""
    form = classical_form(cell)
    if form is None:
        return None
    weight = engine.params[form[0]]
    if np.ndim(weight) == 1:
        return np.abs(weight)
    return np.linalg.norm(weight, 2, axis=(1, 2))


def _classical(cell, sigma, last, steps, width):
    form = classical_form(cell)
    if form is None:
        return None
    name, gamma = form
    holds = sigma * gamma < 1.0
    # ||P_T||_F <= sqrt(d) ||P_T||_2 <= sqrt(d) (gamma sigma)^T; d = n (width) for one state.
    with np.errstate(divide="ignore"):
        bound = steps * np.log(gamma * sigma) + 0.5 * math.log(width)
    # Each step's product and renormalisation err by at most ~(width + 4) eps, relatively.
    slack = steps * (width + 4) * np.finfo(float).eps
    return {
        "matrix": name,
        "gamma": gamma,
        "condition": f"sigma_max({name}) < 1/gamma = {1 / gamma:g}",
        "sigma_max_quantiles": list(_quantiles(sigma)),
        "fraction_condition_holds": float(np.mean(holds)),
        "fraction_vanished_given_condition": (
            float(np.mean(last[holds] < math.log(VANISH))) if holds.any() else None
        ),
        "fraction_vanished_without_condition": (
            float(np.mean(last[~holds] < math.log(VANISH))) if (~holds).any() else None
        ),
        "bound_holds_fraction": float(np.mean(last <= bound + slack)),
    }


# ---------------------------------------------------------------- compare


@dataclass(frozen=True)
class CompareRow:
    """One cell of ``symgrad compare``.

    ``dominant``: the dominant term (LaTeX and text); ``minor_gates``: gate
    counts of the other terms, in the derivation's order; ``one_step``: the
    Monte Carlo distribution of the default one-step derivative under
    :func:`symgrad.sampling.sample` (``median``, ``q10``, ``q90``, ``sd``,
    ``fraction_above_1`` of |D|); ``flow``: the cell's :class:`FlowResult`.
    """

    cell: str
    derivative: str
    dominant: dict
    minor_gates: tuple
    one_step: dict
    flow: FlowResult
    #: The derivative as inline math, ``$\partial h_t/\partial h_{t-1}$``.
    derivative_latex: str = ""

    def to_json(self) -> dict:
        return json_ready(
            {
                "cell": self.cell,
                "derivative": self.derivative,
                "dominant": self.dominant,
                "minor_gate_counts": list(self.minor_gates),
                "one_step": self.one_step,
                "lyapunov": self.flow.lyapunov,
                "lyapunov_ci": list(self.flow.lyapunov_ci),
                "vanish_step": self.flow.vanish_step,
            }
        )


def compare_cells(
    cells=None,
    steps: int = FLOW_STEPS,
    samples: int = FLOW_SAMPLES_1D,
    seed: int = FLOW_SEED,
    init: str = "normal",
    forget_bias: float | None = None,
    progress=None,
    minutes: float = FLOW_MINUTES,
) -> list[CompareRow]:
    """One :class:`CompareRow` per cell (default: every built-in cell, in order).

    The one-step derivative's spread uses the random stream ``(seed, cell, 1)``,
    the flow run the stream of :func:`run_flow` with the same seed. The budget
    (``minutes``, and memory) holds for all the runs together, checked first.
    """
    cells = [get_cell(c) if isinstance(c, str) else c for c in cells or builtin_cells()]
    check_budget(cells, steps, samples, 1, minutes)
    rows = []
    for cell in cells:
        d = derive(cell)
        point = sample(cell, d.free_names, samples, cell_rng(seed, cell.name, 1), init, forget_bias)
        total, _ = make_numeric(d)(**point)
        magnitude = np.abs(total)
        q10, q50, q90 = np.quantile(total, (0.1, 0.5, 0.9), method=_QUANTILE_METHOD)
        one_step = {
            "distribution": describe(init, forget_bias if "b_f" in cell.params else None, cell),
            "median": float(q50),
            "q10": float(q10),
            "q90": float(q90),
            "sd": float(np.std(total, ddof=1)),
            "fraction_above_1": float(np.mean(magnitude > 1.0)),
        }
        dominant = d.dominant
        latex, text = LatexMath(cell, d.ranges), TextMath(cell, d.ranges)
        rows.append(
            CompareRow(
                cell=cell.name,
                derivative=f"d{d.target}/d{d.source}",
                derivative_latex=_derivative_latex(cell, d),
                dominant={
                    "latex": latex.item(Factors(dominant.factors)),
                    "text": text.item(Factors(dominant.factors)),
                    "gate_count": dominant.gate_count,
                },
                minor_gates=tuple(t.gate_count for t in d.terms if not t.dominant),
                one_step=one_step,
                flow=run_flow(
                    cell,
                    steps=steps,
                    samples=samples,
                    seed=seed,
                    init=init,
                    forget_bias=forget_bias,
                    progress=progress,
                ),
            )
        )
    return rows
