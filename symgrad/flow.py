"""Gradient flow over many steps: the exact product of a cell's state Jacobians.

For a cell with state :math:`s` (:math:`h`; :math:`(c, h)` for the LSTM;
:math:`(h, o)` for the late-reset GRU) the gradient of step t with respect to
step 0 is the product of one-step state Jacobians,

.. math::  \\frac{\\partial s_t}{\\partial s_0} = J_t J_{t-1} \\cdots J_1, \\qquad
           J_k = \\frac{\\partial s_k}{\\partial s_{k-1}},

each :math:`J_k` the exact state Jacobian of :func:`symgrad.derive.derive`
(``wrt="state"``), evaluated along a trajectory that the cell's own equations
generate from :math:`s_0 = 0` on seeded random parameters and inputs. The
product is kept as a matrix of Frobenius norm one times a logarithmic scale, so
that 10,000 steps neither underflow nor overflow; steps are processed in chunks
and only quantiles at fixed checkpoints are kept, so memory does not grow with
the number of steps.

Reported per cell (:class:`FlowResult`): quantiles over samples of
:math:`\\log_{10}\\|\\partial s_t/\\partial s_0\\|_F` at log-spaced t, the
Lyapunov exponent :math:`\\lambda = E[\\ln\\|\\partial s_T/\\partial s_0\\|]/T`
(natural log, per step) with a confidence interval, the step at which the
median falls below :data:`VANISH`, the fraction of samples above
:data:`EXPLODE`; for cells whose default derivative follows the article's
one-step convention (the LSTM's :math:`\\partial c_t/\\partial c_{t-1}` through
:math:`h_{t-1} = o_{t-1}\\tanh c_{t-1}`), the article's product of one-step
derivatives beside the exact entry of the product, and their gap.

``dim = n > 1`` makes every value a vector in :math:`R^n`: weights
:math:`W_g, U_g` are n x n matrices, biases vectors, products of a weight and
a vector matrix-vector products and everything else elementwise. Jacobians
then come from a forward-mode chain rule over the same equations
(:class:`VectorProgram`); the product's renormalised power iteration gives the
top Lyapunov exponent.

NumPy and SciPy are imported at module level: only the ``flow`` and
``compare`` commands import this module, inside the command.
"""

from __future__ import annotations

import math
import numbers
import time
from dataclasses import dataclass, field

import numpy as np
import sympy

from .cells import Cell, get_cell, prev_name
from .defaults import FLOW_SAMPLES_1D, FLOW_SAMPLES_ND, FLOW_SEED, FLOW_STEPS, INITS, MAX_DIM
from .derive import derive, partial
from .numeric import lambdify
from .primitives import relu, sigmoid, softplus, tanh
from .sampling import describe, sample
from .stats import CONFIDENCE, cell_rng, student_ci
from .text import dumps, json_ready, table

__all__ = [
    "EXPLODE",
    "LEVELS",
    "VANISH",
    "CompareRow",
    "FlowError",
    "FlowResult",
    "VectorProgram",
    "compare_cells",
    "draw_vector_params",
    "log_steps",
    "run_flow",
    "state_jacobian_product",
]

#: Quantile levels of every table (the plot's band is the outer pair).
LEVELS = (0.1, 0.25, 0.5, 0.75, 0.9)
#: A gradient below this has vanished (the article's "vanishes over thousands of steps").
VANISH = 1e-8
#: A gradient above this has exploded: the mirror image of VANISH.
EXPLODE = 1e8
#: Steps recorded for the plot's curves, evenly spaced over the run.
PLOT_POINTS = 500
#: Elements of one chunk buffer (steps x samples): 512 KiB of float64 each, so a
#: chunk of the LSTM's recorded values stays near 20 MiB whatever T is.
CHUNK_ELEMENTS = 2**16

# The empirical quantile without interpolation: log-norms may be -inf (an
# exactly zero gradient), where interpolation would give nan.
_QUANTILE_METHOD = "inverted_cdf"

#: Supremum of each activation's slope, gamma of the classical condition
#: sigma_max(U) < 1/gamma: tanh' = 1 - tanh^2 <= 1 (at 0), sigma' = sigma(1 - sigma)
#: <= 1/4 (at 0), relu' in {0, 1}, softplus' = sigma < 1.
SLOPE_SUP = {tanh: 1.0, sigmoid: 0.25, relu: 1.0, softplus: 1.0}


class FlowError(ValueError):
    """A flow run that cannot be done as asked (unknown init, a cell n-dim cannot read...)."""


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class ArticleDrift:
    """The article's product of one-step derivatives against the exact entry.

    ``derivative`` names it (``"dc/dc_prev"``); ``article``, ``exact`` and
    ``gap`` are quantile tables at the run's checkpoints (one row per
    checkpoint, one column per :data:`LEVELS`) of log10 |article product|,
    log10 |exact entry of d s_t/d s_0| and their difference per sample;
    ``lyapunov_article``/``lyapunov_exact`` are their mean log growths per step.
    """

    derivative: str
    convention: dict
    article: tuple
    exact: tuple
    gap: tuple
    lyapunov_article: float
    lyapunov_exact: float


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
    curve: dict = field(repr=False)
    one_step: dict = field(repr=False)
    classical: dict | None = field(repr=False)
    article: ArticleDrift | None = field(repr=False)
    seconds: float = field(repr=False, compare=False)

    def median_at(self, t: int) -> float:
        """The median of log10 |d s_t/d s_0| at checkpoint ``t``."""
        return self.quantiles[self.checkpoints.index(t)][LEVELS.index(0.5)]

    def to_json(self) -> dict:
        """A JSON-ready dict; non-finite numbers as the strings ``"-inf"``, ``"inf"``, ``"nan"``."""
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
            "seconds": round(self.seconds, 3),
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


# ---------------------------------------------------------------- the public entry points


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
) -> FlowResult:
    """Run ``cell`` forward ``steps`` steps on ``samples`` seeded random draws and
    accumulate the exact product of its state Jacobians.

    ``cell``: a :class:`~symgrad.cells.Cell` or a built-in name. ``samples``:
    default :data:`FLOW_SAMPLES_1D` (``dim == 1``) or :data:`FLOW_SAMPLES_ND`.
    Parameters are drawn once per sample (:func:`symgrad.sampling.sample` for
    ``dim == 1``, :func:`draw_vector_params` otherwise), inputs afresh every
    step ~ N(0, 1), the state starts at 0. ``init``: one of
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
    start = time.perf_counter()
    rng = cell_rng(seed, cell.name)
    fixed = dict(fixed or {})
    if dim == 1:
        engine = _ScalarEngine(cell, _scalar_params(cell, samples, rng, init, forget_bias, fixed))
        engine.track_sign = False
    else:
        engine = _VectorEngine(
            VectorProgram(cell, dim),
            draw_vector_params(cell, samples, dim, rng, init, forget_bias, fixed),
        )
    stream = _Stream(steps, samples)
    source = _random_inputs(cell, samples, dim, rng, fixed)

    def report(t):
        if progress is not None:
            progress(cell.name, t, steps)

    _drive(engine, source, stream, steps, samples, report)
    settings = {
        "steps": steps,
        "samples": samples,
        "dim": dim,
        "seed": seed,
        "init": init,
        "forget_bias": forget_bias if "b_f" in cell.params else None,
        "fixed": fixed,
        "distribution": flow_distribution(init, forget_bias if "b_f" in cell.params else None, dim),
        "norm": "Frobenius norm of d state_t / d state_0 (the absolute value for one scalar state)",
        "confidence": CONFIDENCE,
        "vanish_threshold": VANISH,
        "explode_threshold": EXPLODE,
    }
    return _result(cell, engine, stream, settings, time.perf_counter() - start)


def state_jacobian_product(
    cell: Cell | str, params: dict, inputs: dict, initial: dict | None = None
):
    """The exact d s_T/d s_0 along the trajectory from s_0 driven by ``inputs``.

    ``inputs``: name -> array ``(T, N)`` for one-dimensional cells, or
    ``(T, N, n)`` for n-dimensional ones (n = 1 included: the vector
    program); ``params``: name -> array ``(N,)``, or the shapes of
    :func:`draw_vector_params`; ``initial``: state name -> s_0 of shape
    ``(N,)`` or ``(N, n)`` (default 0). Returns ``(log_scale, direction)``
    with ``log_scale`` of shape ``(N,)`` and ``direction`` of shape
    ``(N, d, d)``, d the state size (states in the cell's order, each n wide),
    Frobenius norm 1 (or 0): d s_T/d s_0 = exp(log_scale) * direction, finite
    for any T. With T = 1 this is the one-step state Jacobian at
    (inputs, params, s_0).
    """
    if isinstance(cell, str):
        cell = get_cell(cell)
    names = sorted(inputs)
    shape = np.shape(inputs[names[0]])
    steps, samples = shape[:2]
    if len(shape) == 2:
        engine = _ScalarEngine(cell, {k: np.asarray(v, dtype=float) for k, v in params.items()})
    else:
        engine = _VectorEngine(VectorProgram(cell, shape[2]), params)

    def source(t0, k):
        return {name: np.asarray(inputs[name][t0 : t0 + k], dtype=float) for name in names}

    _drive(engine, source, None, steps, samples, None, initial)
    return engine.log_scale.copy(), engine.direction()


def flow_distribution(init: str, forget_bias: float | None, dim: int) -> str:
    """The distribution of a flow run in one line (parameters, inputs, initial state)."""
    if dim == 1:
        text = f"{INITS[init]}; parameters drawn once per sample, x_t"
    else:
        text = {
            "normal": f"weight matrices {dim}x{dim} with entries ~ N(0, 1/{dim}), biases ~ N(0, 1)",
            "xavier": f"weight matrices {dim}x{dim} with entries ~ N(0, 2/({dim} + {dim})) "
            "(Glorot), biases 0",
            "orthogonal": f"recurrent matrices Haar-orthogonal {dim}x{dim}, input matrices "
            f"Glorot N(0, 1/{dim}), biases 0",
        }[init]
        text += (
            f", other parameters elementwise ~ N(0, 1), drawn once per sample; x_t ~ N(0, I_{dim})"
        )
    text += " afresh every step; state_0 = 0"
    if forget_bias is not None:
        text += f"; forget bias b_f = {forget_bias:g}"
    return text


def log_steps(steps: int) -> tuple[int, ...]:
    """Checkpoints 1, 2, 5, 10, 20, 50, ... below ``steps``, and ``steps`` itself."""
    out, scale = [], 1
    while scale <= steps:
        out += [m * scale for m in (1, 2, 5) if m * scale < steps]
        scale *= 10
    return (*out, steps)


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


# ---------------------------------------------------------------- numeric compilation


def _kernel(expr):
    """``(names, function)``: ``expr`` as a function of its free symbols' ASCII names."""
    symbols = sorted(expr.free_symbols, key=lambda s: s.name)
    return tuple(s.name for s in symbols), lambdify(symbols, expr)


# ---------------------------------------------------------------- one-dimensional cells


class _ScalarProgram:
    """A one-dimensional cell compiled for :class:`_ScalarEngine` (see there)."""

    def __init__(self, cell: Cell):
        parallel, inputs = set(cell.params) | set(cell.inputs), set(cell.inputs)
        # Activation calls inside an equation (the LSTM's tanh c_t in o_t tanh c_t)
        # become values of their own, so the Jacobian reuses them, and their
        # previous-step values (tanh c_{t-1}) too.
        calls, forward = {}, []
        for eq in cell.equations:
            for sub in sympy.postorder_traversal(eq.rhs):
                if isinstance(sub, sympy.Function) and sub != eq.rhs and sub not in calls:
                    symbol = sympy.Symbol(f"__call{len(calls)}", real=True)
                    forward.append((symbol.name, sub.xreplace(calls)))
                    calls[sub] = symbol
            forward.append((eq.name, eq.rhs.xreplace(calls)))
        # One function per step returning every value: each equation composed
        # into the earlier ones, the sharing recovered by common subexpression
        # elimination (one Python call per step instead of one per equation).
        hoisted: dict = {}
        defs: dict = {}
        self.outputs, exprs = [], []
        for name, rhs in forward:
            expr = _hoist(rhs, parallel, inputs, hoisted).xreplace(defs)
            defs[sympy.Symbol(name, real=True)] = expr
            self.outputs.append(name)
            exprs.append(expr)
        args = sorted(set().union(*(e.free_symbols for e in exprs)), key=lambda x: x.name)
        self.step_args = tuple(a.name for a in args)
        self.step = lambdify(args, exprs, cse=True)
        self.hoisted = [(symbol.name, _kernel(expr)) for expr, symbol in hoisted.items()]
        shift = {cell.symbol(v): cell.symbol(prev_name(v)) for v in cell.values}
        self.calls = {}  # call name -> kernel, for calls with a previous-step value
        rename = {}
        for expr, symbol in calls.items():
            rename[expr] = symbol
            if not {s.name for s in expr.free_symbols} & inputs:
                rename[expr.xreplace(shift)] = sympy.Symbol(prev_name(symbol.name), real=True)
                self.calls[symbol.name] = _kernel(expr)
        self.carried = [*cell.values, *self.calls]

        jacobian = derive(cell, "state")
        exprs = [d.total for row in jacobian.entries for d in row]
        self.article = _article_derivation(cell)
        if self.article:
            exprs.append(self.article.total)
        exprs = [e.xreplace(rename) for e in exprs]
        # One kernel for every entry: common subexpressions (the LSTM's sum of
        # minor terms) are computed once.
        symbols = sorted(set().union(*(e.free_symbols for e in exprs)), key=lambda x: x.name)
        self.kernel_names = tuple(x.name for x in symbols)
        self.kernel = lambdify(symbols, exprs, cse=True)
        timed = {name for v in self.carried for name in (v, prev_name(v))}
        self.recorded = sorted(set(self.kernel_names) & timed)
        self.size = len(cell.state)
        self.entry = None
        if self.article:
            self.entry = (
                cell.state.index(self.article.target),
                cell.state.index(self.article.source.removesuffix("_prev")),
            )


_programs: dict = {}


def _scalar_program(cell: Cell) -> _ScalarProgram:
    """The compiled program of ``cell``, built once per distinct cell (derive is slow)."""
    key = (cell.name, cell.inputs, cell.params, cell.state, cell.equations)
    if key not in _programs:
        _programs[key] = _ScalarProgram(cell)
    return _programs[key]


class _ScalarEngine:
    """Forward pass and exact state Jacobians of a one-dimensional cell, chunk by chunk.

    The forward step is each equation's right-hand side compiled as written
    (the state after step t is what the cell's equations make of it), with
    the parts that read only inputs and parameters (``W_f*x + b_f``) computed
    for the whole chunk at once. The Jacobian entries are the gate-form totals
    of ``derive(cell, "state")``, whose value symbols (f, c_hat, ...) are bound
    to the forward pass's values of the same step, so no gate is computed
    twice; they are evaluated for the whole chunk in one kernel. The product
    d s_t/d s_0 = exp(log_scale) * P is updated step by step with P of
    Frobenius norm one (layout ``P[i, j, sample]``).
    """

    def __init__(self, cell: Cell, params: dict):
        self.cell = cell
        self.params = params
        self.program = _scalar_program(cell)
        self.article = self.program.article
        self.track_sign = True  # run_flow reads norms only and turns this off

    def start(self, samples: int):
        size = self.program.size
        zero = {v: np.zeros(samples) for v in self.cell.values}  # state_0 = 0, every value too
        self.last = dict(zero)  # each output's value at the previous step
        for name, kernel in self.program.calls.items():  # tanh c_0 and the like
            self.last[name] = _evaluate(kernel, {**self.params, **zero}, (samples,))
        self.P = np.zeros((size, size, samples))
        for i in range(size):
            self.P[i, i] = 1.0
        self.log_scale = np.zeros(samples)
        self.nonfinite = np.zeros(samples, dtype=bool)

    def direction(self) -> np.ndarray:
        return np.moveaxis(self.P, -1, 0).copy()

    def set_previous(self, state: str, value):
        self.last[state] = np.broadcast_to(value, self.log_scale.shape).copy()

    def advance(self, inputs: dict, rows) -> _Chunk:
        """Run ``k`` steps (inputs: name -> (k, N)); one-step norms at ``rows``."""
        program, cell = self.program, self.cell
        k = len(next(iter(inputs.values())))
        shape = (k, len(self.log_scale))
        index = {name: i for i, name in enumerate(program.outputs)}
        # A state may overflow to inf (relu with |U| > 1): its gradient stays
        # defined (U [u > 0]), so the run goes on and the sample is counted.
        with np.errstate(over="ignore", invalid="ignore"):
            chunk_env = {**self.params, **inputs}
            for name, kernel in program.hoisted:
                chunk_env[name] = _evaluate(kernel, chunk_env, shape)
            args, per_step, carried = [], [], []
            for position, name in enumerate(program.step_args):
                if name.endswith("_prev"):
                    args.append(self.last[name.removesuffix("_prev")])
                    carried.append((position, index[name.removesuffix("_prev")]))
                elif name in self.params:
                    args.append(self.params[name])
                else:
                    args.append(None)
                    per_step.append((position, chunk_env[name]))
            step_fn, history = program.step, []
            for step in range(k):
                for position, rows_of in per_step:
                    args[position] = rows_of[step]
                out = step_fn(*args)
                history.append(out)
                for position, i in carried:
                    args[position] = out[i]
            if any(np.shape(v) != shape[1:] for v in history[0]):  # a constant value
                history = [[np.broadcast_to(v, shape[1:]) for v in out] for out in history]
            # values[step, output, sample] in one copy (np.stack per name costs ten times more)
            values = np.concatenate([v for out in history for v in out]).reshape(
                k, len(program.outputs), shape[1]
            )
            record = {}
            for name in program.recorded:
                i = index[name.removesuffix("_prev")]
                if name.endswith("_prev"):
                    before = self.last[name.removesuffix("_prev")]
                    record[name] = np.concatenate([before[None], values[:-1, i]])
                else:
                    record[name] = values[:, i]
            self.last = {name: values[-1, i].copy() for name, i in index.items()}
            for s in cell.state:
                self.nonfinite |= ~np.isfinite(self.last[s])
            arrays = {**self.params, **inputs, **record}
            outputs = program.kernel(*[arrays[n] for n in program.kernel_names])
            outputs = [np.broadcast_to(np.asarray(o, dtype=float), shape) for o in outputs]
        size = program.size
        jac = np.stack(outputs[: size * size]).reshape(size, size, *shape)  # [i, j, step, n]
        chunk = _Chunk(np.empty(shape))
        if self.article:
            with np.errstate(divide="ignore"):
                chunk.log_article = np.log(np.abs(outputs[-1]))
        chunk.one_step = {r: _spectral_norms(jac[:, :, r, :]) for r in rows}
        self._multiply(jac, chunk, rows)
        return chunk

    def _multiply(self, jac, chunk, rows):
        ln = chunk.log_norm
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.program.size == 1:
                ln[:] = np.log(np.abs(jac[0, 0]))
                if self.track_sign:  # a one-state product's direction is its sign
                    self.P[0, 0] *= np.prod(np.sign(jac[0, 0]), axis=0)
                ln[:] = np.cumsum(ln, axis=0) + self.log_scale
                self.log_scale = ln[-1].copy()
                return
            squares, entry = self._product_loop(jac)
            # P was divided by sqrt(max(F^2, tiny)) at every step, F^2 the squared
            # Frobenius norm before; the scale collects those divisors exactly.
            kept = 0.5 * np.log(np.maximum(squares, _TINY))
            scale = np.cumsum(kept, axis=0) + self.log_scale
            ln[:] = scale
            lost = squares < _TINY  # rare: the norm itself, not the divisor
            ln[lost] += 0.5 * np.log(squares[lost]) - kept[lost]
            self.log_scale = scale[-1].copy()
            if entry is not None:  # only where the stream reads it: checkpoints, the last step
                with np.errstate(divide="ignore"):
                    chunk.log_exact = {
                        r: np.log(np.abs(entry[r])) + scale[r] for r in {*rows, len(ln) - 1}
                    }

    def _product_loop(self, jac):
        """P <- J_k P for every step k of the chunk, renormalised; the squared
        Frobenius norms before renormalising and the article's entry after."""
        size, k = jac.shape[0], jac.shape[2]
        squares = np.empty(jac.shape[2:])
        entry = np.empty(jac.shape[2:]) if self.article else None
        product = self.P
        columns = [jac[:, m, :, None, :] for m in range(size)]  # columns[m][i, step, 0, n]
        for step in range(k):
            new = columns[0][:, step] * product[0]
            for m in range(1, size):
                new += columns[m][:, step] * product[m]
            f2 = np.einsum("ijn,ijn->n", new, new, out=squares[step])
            new /= np.sqrt(np.maximum(f2, _TINY))
            if entry is not None:
                entry[step] = new[self.program.entry]
            product = new
        self.P = product
        return squares, entry


#: Smallest normal float64: P is divided by sqrt(max(F^2, _TINY)), so an exactly
#: zero product stays 0 instead of becoming nan.
_TINY = np.finfo(float).tiny


def _hoist(expr, parallel: set, inputs: set, hoisted: dict):
    """``expr`` with its maximal subexpressions that read only inputs and
    parameters (and some input) replaced by symbols ``__pre0``, ``__pre1`` ...
    (``hoisted`` maps each subexpression to its symbol); a sum's such terms
    become one symbol: ``U_f*h_prev + W_f*x + b_f -> U_f*h_prev + __pre0``.
    Names starting with ``__`` are reserved by :func:`symgrad.cells.make_cell`."""
    names = {s.name for s in expr.free_symbols}
    if names <= parallel:
        if not names & inputs:
            return expr
        if expr not in hoisted:
            hoisted[expr] = sympy.Symbol(f"__pre{len(hoisted)}", real=True)
        return hoisted[expr]
    if expr.is_Add:
        part = [a for a in expr.args if {s.name for s in a.free_symbols} <= parallel]
        rest = [a for a in expr.args if a not in part]
        return sympy.Add(
            _hoist(sympy.Add(*part), parallel, inputs, hoisted),
            *[_hoist(a, parallel, inputs, hoisted) for a in rest],
        )
    if expr.args:
        return expr.func(*[_hoist(a, parallel, inputs, hoisted) for a in expr.args])
    return expr


def _evaluate(kernel, arrays, shape):
    names, fn = kernel
    value = fn(*[arrays[n] for n in names])
    return np.broadcast_to(np.asarray(value, dtype=float), shape)


def _spectral_norms(jac) -> np.ndarray:
    """Spectral norms of ``jac[i, j, sample]`` (one per sample)."""
    if jac.shape[0] == 1:
        return np.abs(jac[0, 0])
    return np.linalg.norm(np.moveaxis(jac, -1, 0), 2, axis=(1, 2))


def _article_derivation(cell: Cell):
    """The cell's default derivation if it uses the one-step convention on a state target."""
    if len(cell.state) < 2:
        return None
    d = derive(cell)
    if not d.carry or d.target not in cell.state:
        return None
    return d


def _scalar_params(cell, samples, rng, init, forget_bias, fixed) -> dict:
    params = sample(cell, cell.params, samples, rng, init=init, forget_bias=forget_bias)
    for name, value in fixed.items():
        if name in params:
            params[name] = np.full(samples, float(value))
    return params


# ---------------------------------------------------------------- n-dimensional cells


def _param_kind(name: str) -> str:
    """``matrix`` (W..., U...: n x n), ``bias`` (b...: R^n) or ``elementwise``
    (any other name: a vector in R^n acting unit by unit, as IndRNN's u or a
    peephole weight), by the naming convention of SPEC section 1 that
    sampling follows too."""
    kind = name.split("_")[0]
    if kind in ("W", "U"):
        return "matrix"
    return "bias" if kind == "b" else "elementwise"


class VectorProgram:
    """A cell read with vector values in R^n: values and state Jacobians by forward mode.

    Every input, previous-step value and value is a vector; parameters are
    n x n matrices (``W*``, ``U*``) or vectors (biases ``b*`` and any other
    name, acting elementwise). A product containing one matrix is the matrix times the
    (elementwise) product of the other factors: ``U_h*(r*h_prev)`` reads
    :math:`U_h (r_t \\circ h_{t-1})`; everything else is elementwise.
    Each node carries its value and its tangent d(value)/d(s_{t-1}) of shape
    ``(N, n, d)``; an activation's slope comes from its SymPy derivative,
    written through the activation's own value (sigma' = y (1 - y)), so
    nothing here knows a particular cell. Raises :class:`FlowError` for an
    equation whose matrices cannot be read this way.
    """

    def __init__(self, cell: Cell, n: int):
        self.cell, self.n = cell, n
        self.width = n * len(cell.state)
        self.kinds = {p: _param_kind(p) for p in cell.params}
        self.program = [(eq.name, self._compile(eq.rhs, eq.name)) for eq in cell.equations]

    # -- compilation: each node becomes a function env -> (value, tangent or None)

    def _compile(self, expr, where):
        if expr.is_Number:
            return _constant(float(expr))
        if expr.is_Symbol:
            if self.kinds.get(expr.name) == "matrix":
                raise FlowError(
                    f"{self.cell.name}: in equation {where!r}, the matrix {expr.name} "
                    "must multiply a vector"
                )
            return _lookup(expr.name)
        if expr.is_Add:
            return _add([self._compile(a, where) for a in expr.args])
        if expr.is_Mul:
            matrices = [a for a in expr.args if self.kinds.get(getattr(a, "name", "")) == "matrix"]
            rest = [a for a in expr.args if a not in matrices]
            if len(matrices) > 1:
                raise FlowError(
                    f"{self.cell.name}: in equation {where!r}, {' * '.join(map(str, matrices))} "
                    "multiplies matrices; write one weight per product"
                )
            if matrices:
                operand = sympy.Mul(*rest)
                if not self._is_vector(operand):
                    raise FlowError(
                        f"{self.cell.name}: in equation {where!r}, the matrix {matrices[0]} "
                        f"multiplies {operand}, which is not a vector"
                    )
                return _matvec(matrices[0].name, self._compile(operand, where))
            return _multiply([self._compile(a, where) for a in rest])
        if expr.is_Pow and not expr.exp.free_symbols:
            return _power(self._compile(expr.base, where), float(expr.exp))
        if isinstance(expr, sympy.Function) and len(expr.args) == 1:
            return _activation(type(expr), self._compile(expr.args[0], where))
        raise FlowError(f"{self.cell.name}: equation {where!r}: cannot read {expr} with vectors")

    def _is_vector(self, expr) -> bool:
        return any(self.kinds.get(s.name) != "matrix" for s in expr.free_symbols)

    # -- evaluation

    def step(self, env: dict) -> tuple[dict, np.ndarray]:
        """One step. ``env``: parameters, inputs (N, n) and ``s_prev`` (N, n)
        for every state s. Returns the values (name -> (N, n)) and the state
        Jacobian of shape (N, d, d), rows and columns in the state order."""
        samples, n = self.shape(env)
        pairs = {name: (value, None) for name, value in env.items()}
        for j, s in enumerate(self.cell.state):
            seed = np.zeros((samples, n, self.width))
            seed[:, np.arange(n), j * n + np.arange(n)] = 1.0
            pairs[prev_name(s)] = (env[prev_name(s)], seed)
        for name, node in self.program:
            pairs[name] = node(pairs)
        rows = []
        for s in self.cell.state:
            _, tangent = pairs[s]
            rows.append(
                np.zeros((samples, n, self.width))
                if tangent is None
                else np.broadcast_to(tangent, (samples, n, self.width))
            )
        values = {name: np.broadcast_to(pairs[name][0], (samples, n)) for name in self.cell.values}
        return values, np.concatenate(rows, axis=1)

    def shape(self, env) -> tuple[int, int]:
        samples = len(env[prev_name(self.cell.state[0])])
        return samples, self.n


def _constant(c):
    def constant(env):
        return c, None

    return constant


def _lookup(name):
    def lookup(env):
        return env[name]

    return lookup


def _add(parts):
    def add(env):
        pairs = [p(env) for p in parts]
        value = sum(v for v, _ in pairs[1:]) + pairs[0][0]
        tangents = [t for _, t in pairs if t is not None]
        return value, (sum(tangents[1:], tangents[0]) if tangents else None)

    return add


def _multiply(parts):
    def multiply(env):
        pairs = [p(env) for p in parts]
        value = pairs[0][0]
        for v, _ in pairs[1:]:
            value = value * v
        tangent = None
        for k, (_, t) in enumerate(pairs):
            if t is None:
                continue
            # Product rule: the other factors' values times this factor's tangent.
            others = 1.0
            for m, (v, _) in enumerate(pairs):
                if m != k:
                    others = others * v
            term = np.expand_dims(others, -1) * t if np.ndim(others) else others * t
            tangent = term if tangent is None else tangent + term
        return value, tangent

    return multiply


def _matvec(matrix, operand):
    def matvec(env):
        weight = env[matrix][0]
        value, tangent = operand(env)
        value = np.broadcast_to(value, weight.shape[:-1])
        out = np.matmul(weight, value[..., None])[..., 0]
        return out, (None if tangent is None else np.matmul(weight, tangent))

    return matvec


def _power(base, p):
    def power(env):
        value, tangent = base(env)
        out = value**p
        if tangent is None:
            return out, None
        return out, np.expand_dims(p * value ** (p - 1), -1) * tangent

    return power


def _activation(function, argument):
    """``F(u)`` and its tangent ``F'(u) du``, F' from SymPy's own derivative of F,
    rewritten through the value y = F(u) where it can be (gate form)."""
    u, y = sympy.Dummy("u", real=True), sympy.Dummy("y", real=True)
    value_fn = lambdify([u], function(u))
    slope = function(u).fdiff(1).xreplace({function(u): y})
    slope_fn = lambdify([u, y], slope)

    def activation(env):
        value, tangent = argument(env)
        out = value_fn(value)
        if tangent is None:
            return out, None
        return out, np.expand_dims(slope_fn(value, out), -1) * tangent

    activation.__qualname__ = f"activation[{function.__name__}]"
    return activation


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
    :func:`symgrad.sampling.sample`. ``fixed``: matrices c I, vectors c 1.
    """
    fixed = fixed or {}
    out = {}
    for name in cell.params:
        kind, weight = _param_kind(name), name.split("_")[0]
        if kind == "matrix":
            if init == "orthogonal" and weight == "U":
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
            kind = _param_kind(name)
            if kind == "matrix":
                out[name] = np.broadcast_to(float(c) * np.eye(n), (samples, n, n)).copy()
            else:
                out[name] = np.full(out[name].shape, float(c))
    return out


def _haar_orthogonal(rng, samples, n):
    # QR of a Gaussian matrix with R's diagonal made positive: Haar measure (Mezzadri 2007).
    q, r = np.linalg.qr(rng.standard_normal((samples, n, n)))
    return q * np.sign(np.diagonal(r, axis1=1, axis2=2))[:, None, :]


class _VectorEngine:
    """The n-dimensional run: :class:`VectorProgram` steps, a (N, d, d) product."""

    def __init__(self, program: VectorProgram, params: dict):
        self.program, self.params = program, params
        self.cell = program.cell
        self.article = None

    def start(self, samples: int):
        n, d = self.program.n, self.program.width
        self.prevs = {prev_name(s): np.zeros((samples, n)) for s in self.cell.state}
        self.P = np.broadcast_to(np.eye(d), (samples, d, d)).copy()
        self.log_scale = np.zeros(samples)
        self.nonfinite = np.zeros(samples, dtype=bool)

    def direction(self) -> np.ndarray:
        return self.P.copy()

    def set_previous(self, state: str, value):
        self.prevs[prev_name(state)] = np.broadcast_to(value, self.prevs[prev_name(state)].shape)

    def advance(self, inputs: dict, rows) -> _Chunk:
        k = len(next(iter(inputs.values())))
        ln = np.empty((k, len(self.log_scale)))
        chunk = _Chunk(ln)
        rows = set(rows)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for step in range(k):
                env = {**self.params, **self.prevs}
                for name in self.cell.inputs:
                    env[name] = inputs[name][step]
                values, jac = self.program.step(env)
                if step in rows:
                    chunk.one_step[step] = np.linalg.norm(jac, 2, axis=(1, 2))
                self.P = np.matmul(jac, self.P)
                norm = np.sqrt(np.einsum("nij,nij->n", self.P, self.P))
                np.divide(self.P, norm[:, None, None], out=self.P, where=norm[:, None, None] > 0)
                self.log_scale = self.log_scale + np.log(norm)
                ln[step] = self.log_scale
                self.prevs = {prev_name(s): values[s] for s in self.cell.state}
            for s in self.cell.state:
                self.nonfinite |= ~np.all(np.isfinite(values[s]), axis=1)
        return chunk


# ---------------------------------------------------------------- driving a run, streaming


@dataclass
class _Chunk:
    """What one chunk of steps yields: ln |d s_t/d s_0| per step and sample, and extras."""

    log_norm: np.ndarray
    log_article: np.ndarray | None = None
    log_exact: dict | None = None  # row -> ln |exact entry|, at checkpoints and the last row
    one_step: dict = field(default_factory=dict)


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


def _drive(engine, source, stream, steps, samples, progress, initial=None):
    """Run ``engine`` for ``steps`` steps in chunks, feeding ``stream``."""
    per_step = samples * (engine.program.width if isinstance(engine, _VectorEngine) else 1)
    chunk_steps = max(1, CHUNK_ELEMENTS // per_step)
    engine.start(samples)
    for name, value in (initial or {}).items():
        if name not in engine.cell.state:
            raise FlowError(f"{name!r} is not a state of {engine.cell.name}")
        engine.set_previous(name, np.asarray(value, dtype=float))
    t0 = 0
    while t0 < steps:
        k = min(chunk_steps, steps - t0)
        rows = stream.one_step_rows(t0, k) if stream else ()
        chunk = engine.advance(source(t0, k), rows)
        if stream:
            stream.feed(t0, chunk)
        t0 += k
        if progress:
            progress(t0)


class _Stream:
    """Statistics of a run kept as it streams past: memory independent of T."""

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

    def feed(self, t0: int, chunk: _Chunk):
        ln = chunk.log_norm
        k = len(ln)
        if self.vanish_step is None:
            median = np.quantile(ln, 0.5, axis=1, method=_QUANTILE_METHOD)
            below = np.flatnonzero(median < math.log(VANISH))
            if below.size:
                self.vanish_step = t0 + 1 + int(below[0])
        rows = [row for row in range(k) if t0 + row + 1 in self.grid]
        if rows:
            table = np.quantile(ln[rows], LEVELS, axis=1, method=_QUANTILE_METHOD) / math.log(10)
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


def _quantiles(values) -> tuple:
    return tuple(float(q) for q in np.quantile(values, LEVELS, method=_QUANTILE_METHOD))


def _result(cell, engine, stream, settings, seconds) -> FlowResult:
    steps, last = stream.steps, stream.last
    lam = last / steps
    mean, ci = student_ci(lam)
    curve_steps = sorted(stream.curve)
    one_step = np.concatenate(stream.one_step) if stream.one_step else np.array([np.nan])
    result_article = None
    if stream.last_article is not None:
        d = engine.article
        result_article = ArticleDrift(
            derivative=f"d{d.target}/d{d.source}",
            convention={p.name: str(e) for p, e in d.carry.items()},
            article=tuple(stream.article[t][0] for t in stream.checkpoints),
            exact=tuple(stream.article[t][1] for t in stream.checkpoints),
            gap=tuple(stream.article[t][2] for t in stream.checkpoints),
            lyapunov_article=student_ci(stream.last_article / steps)[0],
            lyapunov_exact=student_ci(stream.last_exact / steps)[0],
        )
    return FlowResult(
        cell=cell.name,
        state=tuple(cell.state),
        settings=settings,
        checkpoints=stream.checkpoints,
        quantiles=tuple(stream.table[t] for t in stream.checkpoints),
        lyapunov=mean,
        lyapunov_ci=ci,
        lyapunov_median=float(np.quantile(lam, 0.5, method=_QUANTILE_METHOD)),
        vanish_step=stream.vanish_step,
        explode_fraction=float(np.mean(last > math.log(EXPLODE))),
        vanish_fraction=float(np.mean(last < math.log(VANISH))),
        zero_fraction=float(np.mean(last == -np.inf)),
        nonfinite_fraction=float(np.mean(engine.nonfinite)),
        curve={
            "steps": curve_steps,
            "low": [stream.curve[t][0] for t in curve_steps],
            "median": [stream.curve[t][1] for t in curve_steps],
            "high": [stream.curve[t][2] for t in curve_steps],
        },
        one_step=_one_step_summary(one_step),
        classical=_classical(cell, engine, last, steps),
        article=result_article,
        seconds=seconds,
    )


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
    an activation of slope at most gamma (SimpleRNN: tanh, gamma = 1), else None.

    Then ||J_t||_2 <= gamma sigma_max(U) at every step, so sigma_max(U) < 1/gamma
    makes the gradient vanish (Pascanu, Mikolov and Bengio 2013): sufficient,
    not necessary.
    """
    if len(cell.state) != 1:
        return None
    eq = cell.equation(cell.state[0])
    if type(eq.rhs) not in SLOPE_SUP:
        return None
    pre = eq.rhs.args[0]
    if any(s.name in cell.values for s in pre.free_symbols):
        return None
    coefficient = partial(pre, cell.symbol(prev_name(cell.state[0])))
    if not (coefficient.is_Symbol and _param_kind(coefficient.name) == "matrix"):
        return None
    return coefficient.name, SLOPE_SUP[type(eq.rhs)]


def _classical(cell, engine, last, steps):
    form = classical_form(cell)
    if form is None:
        return None
    name, gamma = form
    weight = engine.params[name]
    sigma = np.abs(weight) if np.ndim(weight) == 1 else np.linalg.norm(weight, 2, axis=(1, 2))
    holds = sigma * gamma < 1.0
    # ||P_T||_F <= sqrt(d) ||P_T||_2 <= sqrt(d) (gamma sigma)^T; d = n for one state.
    width = 1 if np.ndim(weight) == 1 else weight.shape[-1]
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
) -> list[CompareRow]:
    """One :class:`CompareRow` per cell (default: every built-in cell, in order).

    The one-step derivative's spread uses the random stream ``(seed, cell, 1)``,
    the flow run the stream of :func:`run_flow` with the same seed.
    """
    from .cells import cells as builtin_cells
    from .numeric import make_numeric
    from .render import Factors, LatexMath, TextMath

    rows = []
    for cell in cells or builtin_cells():
        if isinstance(cell, str):
            cell = get_cell(cell)
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


# ---------------------------------------------------------------- reports


def _number(x, digits=4) -> str:
    if x is None:
        return "-"
    if not math.isfinite(x):
        return str(x)
    return f"{x:.{digits}f}"


def _percent(x) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _lyapunov_text(r: FlowResult) -> str:
    lo, hi = r.lyapunov_ci
    if not math.isfinite(r.lyapunov):
        return (
            f"{r.lyapunov} (the gradient is exactly 0 in {_percent(r.zero_fraction)} of "
            f"samples; median {_number(r.lyapunov_median)})"
        )
    return (
        f"{_number(r.lyapunov)} per step ({100 * CONFIDENCE:g}% CI {_number(lo)} to "
        f"{_number(hi)}; median {_number(r.lyapunov_median)})"
    )


def _ci_text(mean, ci) -> str:
    if not math.isfinite(mean):
        return "-"
    return f"{_number(ci[0])} to {_number(ci[1])}"


def _vanish_text(r: FlowResult) -> str:
    if r.vanish_step is None:
        return f"stays above {VANISH:g} for all {r.settings['steps']:,} steps"
    return f"below {VANISH:g} from step {r.vanish_step:,}"


def _settings_lines(settings) -> list[str]:
    lines = [
        f"{settings['steps']:,} steps, {settings['samples']:,} samples, hidden size "
        f"{settings['dim']}, seed {settings['seed']}, init {settings['init']}",
        f"distribution: {settings['distribution']}",
        "|d s_t/d s_0|: Frobenius norm of the product of exact state Jacobians; "
        "Lyapunov exponent: mean over samples of ln|d s_T/d s_0| / T "
        f"({100 * CONFIDENCE:g}% Student-t interval)",
    ]
    if settings.get("fixed"):
        lines.append("fixed: " + ", ".join(f"{k} = {v:g}" for k, v in settings["fixed"].items()))
    return lines


def format_flow(results, fmt: str = "text") -> str:
    """``results`` (:class:`FlowResult` s of one run) as ``text``, ``markdown`` or ``json``."""
    if fmt == "json":
        settings = {k: v for k, v in results[0].settings.items()}
        return dumps({"settings": json_ready(settings), "cells": [r.to_json() for r in results]})
    md = fmt == "markdown"
    levels = [f"{100 * q:g}%" if q != 0.5 else "median" for q in LEVELS]
    out = ["# symgrad flow" if md else "symgrad flow", ""]
    out += [("- " if md else "") + line for line in _settings_lines(results[0].settings)]
    for r in results:
        out += ["", (f"## {r.cell}" if md else r.cell) + f" (state {', '.join(r.state)})", ""]
        bullet = "- " if md else "  "
        out.append(f"{bullet}Lyapunov exponent: {_lyapunov_text(r)}")
        out.append(
            f"{bullet}median gradient {_vanish_text(r)}; at T: exploded (> {EXPLODE:g}) "
            f"{_percent(r.explode_fraction)}, vanished (< {VANISH:g}) "
            f"{_percent(r.vanish_fraction)}, exactly 0 {_percent(r.zero_fraction)}"
        )
        if r.nonfinite_fraction:
            out.append(
                f"{bullet}the state overflowed float64 in {_percent(r.nonfinite_fraction)} of "
                "samples (the gradient stays defined there)"
            )
        spectral = r.one_step.get("spectral_norm")
        if spectral:
            out.append(
                f"{bullet}one-step Jacobian, spectral norm over samples and checkpoint steps: "
                f"median {_number(spectral[2], 3)}, 90% {_number(spectral[4], 3)}, "
                f">= 1 in {_percent(r.one_step.get('fraction_at_least_1'))}"
            )
        if r.classical:
            c = r.classical
            out.append(
                f"{bullet}classical sufficient condition {c['condition']}: holds in "
                f"{_percent(c['fraction_condition_holds'])} of samples (median sigma_max = "
                f"{_number(c['sigma_max_quantiles'][2], 3)}); vanished with it "
                f"{_percent(c['fraction_vanished_given_condition'])}, without it "
                f"{_percent(c['fraction_vanished_without_condition'])}; bound "
                f"|d s_T/d s_0| <= sqrt(n) (gamma sigma_max)^T holds in "
                f"{_percent(c['bound_holds_fraction'])}"
            )
        out.append("")
        header = ["t", *levels]
        rows = [
            [f"{t:,}", *(_number(v, 2) for v in q)]
            for t, q in zip(r.checkpoints, r.quantiles, strict=True)
        ]
        out.append(("" if md else "  ") + "log10 |d s_t/d s_0| over samples:")
        out += ([""] if md else []) + [
            ("" if md else "  ") + line for line in table(header, rows, md)
        ]
        if r.article is not None:
            a = r.article
            convention = ", ".join(f"{k} = {v}" for k, v in a.convention.items())
            out += [
                "",
                ("" if md else "  ")
                + f"the article's product of one-step {a.derivative} ({convention}) against "
                f"the exact entry of d s_t/d s_0, log10 over samples:",
            ]
            header = ["t", "article median", "exact median", "gap 10%", "gap median", "gap 90%"]
            mid = LEVELS.index(0.5)
            rows = [
                [
                    f"{t:,}",
                    _number(p[mid], 2),
                    _number(e[mid], 2),
                    _number(g[0], 2),
                    _number(g[mid], 2),
                    _number(g[-1], 2),
                ]
                for t, p, e, g in zip(r.checkpoints, a.article, a.exact, a.gap, strict=True)
            ]
            out += ([""] if md else []) + [
                ("" if md else "  ") + line for line in table(header, rows, md)
            ]
            out.append(
                ("" if md else "  ")
                + f"Lyapunov exponent of the article's product {_number(a.lyapunov_article)}, "
                f"of the exact entry {_number(a.lyapunov_exact)} per step"
            )
    out += ["", "## Summary" if md else "summary", ""]
    header = ["cell", "Lyapunov per step", f"{100 * CONFIDENCE:g}% CI", "vanish step", "exploded"]
    rows = [
        [
            r.cell,
            _number(r.lyapunov),
            _ci_text(r.lyapunov, r.lyapunov_ci),
            "-" if r.vanish_step is None else f"{r.vanish_step:,}",
            _percent(r.explode_fraction),
        ]
        for r in results
    ]
    out += [("" if md else "  ") + line for line in table(header, rows, md)]
    return "\n".join(out) + "\n"


def format_compare(rows, fmt: str = "text") -> str:
    """``rows`` (:class:`CompareRow` s) as one table in ``text``, ``markdown`` or ``json``."""
    first = rows[0]
    if fmt == "json":
        return dumps(
            {
                "settings": json_ready(first.flow.settings),
                "one_step_distribution": first.one_step["distribution"],
                "cells": [row.to_json() for row in rows],
            }
        )
    md = fmt == "markdown"
    s = first.flow.settings
    out = ["# symgrad compare" if md else "symgrad compare", ""]
    lead = "- " if md else ""
    out += [
        f"{lead}one-step derivative: Monte Carlo over {s['samples']:,} samples of "
        f"{first.one_step['distribution']}",
        f"{lead}Lyapunov exponent: {s['steps']:,} steps; {s['distribution']}",
        f"{lead}seed {s['seed']}",
        "",
    ]
    header = [
        "cell",
        "derivative",
        "dominant",
        "minor terms' gates",
        "median [10%, 90%]",
        "sd",
        "P(|D| > 1)",
        "Lyapunov per step",
        f"{100 * CONFIDENCE:g}% CI",
    ]
    body = []
    for row in rows:
        o, f = row.one_step, row.flow
        dominant = f"${row.dominant['latex']}$" if md else row.dominant["text"]
        body.append(
            [
                row.cell,
                row.derivative,
                dominant,
                ", ".join(map(str, row.minor_gates)) or "none",
                f"{o['median']:.3f} [{o['q10']:.3f}, {o['q90']:.3f}]",
                f"{o['sd']:.3f}",
                _percent(o["fraction_above_1"]),
                _number(f.lyapunov),
                _ci_text(f.lyapunov, f.lyapunov_ci),
            ]
        )
    out += table(header, body, md)
    return "\n".join(out) + "\n"
