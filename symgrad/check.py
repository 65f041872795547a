"""Symbolic derivatives against finite differences of the raw forward pass: ``symgrad check``.

For every derivative of a cell (the default one, under the article's one-step
convention, and every entry of the exact state Jacobian) and every chain-rule
term of it, the value the engine derived (evaluated by its NumPy kernel) is
compared at seeded random points with a finite-difference derivative of the
cell's own equations, which never sees the engine's work:

- the total :math:`d\\,\\text{target}/d\\,\\text{source}` against the
  difference quotient of the composed forward pass (the target with every
  value replaced by its definition, down to the free names; for the LSTM's
  :math:`dc_t/dc_{t-1}` that includes :math:`h_{t-1} = o_{t-1}\\tanh c_{t-1}`);
- each term :math:`(\\partial\\,\\text{target}/\\partial v)(dv/d\\,\\text{source})`
  against the product of two difference quotients: the target's equation in v
  with its other operands held at their forward values, and the composed v in
  the source.

Where the forward pass is analytic the derivative is the complex step
:math:`\\operatorname{Im} f(s + ih)/h` (no subtraction, so no cancellation:
machine precision at h = 1e-20); where it is not (relu), central differences
with Richardson extrapolation, and points whose step interval crosses a kink
are left out. Each comparison's tolerance is derived from its method and
stated with it (:attr:`Comparison.tolerance_reason`).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np
import sympy

from .cells import Cell, get_cell, prev_name
from .defaults import CHECK_SAMPLES, CHECK_SEED, INITS, MAX_CHECK_SAMPLES
from .derivation import Derivation, StateJacobian, compose, derive
from .numeric import make_numeric
from .primitives import NUMPY, PRIMITIVES, evaluate, sigmoid
from .sampling import describe, sample
from .text import plain

__all__ = [
    "CheckReport",
    "Comparison",
    "compare_at_points",
    "compare_derivatives",
    "derivative_label",
    "derivative_math",
]

# ---------------------------------------------------------------- constants

#: Unit roundoff of float64: every correctly rounded operation errs by at most u.
UNIT_ROUNDOFF = 2.0**-53
#: Complex step: truncation h^2 |f'''/f'|/6 is ~1e-41 here, and no subtraction
#: occurs, so the step can be this small.
COMPLEX_STEP = 1e-20
#: Central differences: first step 2^-6 max(1, |s|), halved RICHARDSON_LEVELS - 1
#: times; the extrapolation removes the h^2, h^4 and h^6 error terms.
CENTRAL_STEP = 2.0**-6
RICHARDSON_LEVELS = 4
#: Rounding bounds are first-order estimates (Higham's gamma_n, library
#: functions correct to ~1 ulp rather than 0.5); 4 covers both.
SAFETY = 4.0
#: Below this a quantity is subnormal: its relative error is not meaningful.
TINY = 2.2250738585072014e-308
#: Errors are relative to max(magnitude, FLOOR): below TINY/h the complex step's
#: imaginary part h f' is itself subnormal.
FLOOR = TINY / COMPLEX_STEP

_NOT_ANALYTIC = (
    *(p.function for p in PRIMITIVES.values() if not p.analytic),
    sympy.Heaviside,
    sympy.Max,
    sympy.Min,
    sympy.sign,
)
# Functions whose argument's rounding error (absolute, ~ u * (|W x| + |U h| + |b|))
# they pass on: the condition factor 1 + 2 max|argument| covers them all.
_ACTIVATIONS = tuple(
    PRIMITIVES[name].function for name in ("sigmoid", "tanh", "softplus", "exp", "relu", "abs")
)

# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class Comparison:
    """One quantity (a term or a total) of one derivative, symbolic against finite differences.

    The error at a point is ``|symbolic - reference| / magnitude``, the
    magnitude being the term's value with every sum inside it taken in absolute
    value (the scale of its rounding error; ``|value|`` when the term is a
    plain product) and, for a total, the sum of its terms' magnitudes.
    ``tolerance`` is derived from ``method`` as ``tolerance_reason`` says: the
    same at every point for the complex step, per point for central
    differences. ``max_rel_error`` and ``tolerance`` are those of the decisive
    point ``worst_point`` (name -> value), where the error is the largest
    fraction of its tolerance; for the complex step that is the largest error.
    """

    derivative: str
    quantity: str
    method: str
    step: float
    max_rel_error: float
    tolerance: float
    tolerance_reason: str
    points: int
    excluded: int = 0
    worst_point: dict = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.points > 0 and self.max_rel_error <= self.tolerance


@dataclass(frozen=True)
class CheckReport:
    """The outcome of :func:`compare_derivatives`: every comparison, and a verdict.

    ``step``, ``tolerance`` and ``tolerance_reason`` are those of
    :attr:`standing`: the comparison whose error is the largest fraction of its
    tolerance when the check fails, the loosest tolerance when it passes (then
    every error is rounding, and which is largest depends on the last bit of
    the CPU's exp and tanh: a report must not); ``max_rel_error`` is the
    largest error; ``passed`` holds when every comparison is within its
    tolerance.
    """

    cell: str
    wrt: str
    samples: int
    seed: int | None
    init: str
    distribution: str
    derivatives: tuple[str, ...]
    conventions: dict
    comparisons: tuple[Comparison, ...]
    #: Prose with inline math for the reports: each derivative label's
    #: (``"$\partial c_t/\partial c_{t-1}$ (one-step)"``), each convention's
    #: carried equations (label -> ``"$h_{t-1} = o_{t-1} \tanh c_{t-1}$"``) and
    #: the LaTeX of the cell's names (``c_prev`` -> ``c_{t-1}``) for the terms.
    labels: dict = field(default_factory=dict, compare=False)
    convention_math: dict = field(default_factory=dict, compare=False)
    names: dict = field(default_factory=dict, compare=False)

    @property
    def passed(self) -> bool:
        return bool(self.comparisons) and all(c.passed for c in self.comparisons)

    @property
    def worst(self) -> Comparison | None:
        def ratio(c):
            if c.points == 0:
                return math.inf
            return c.max_rel_error / c.tolerance if c.tolerance > 0 else math.inf

        return max(self.comparisons, key=ratio, default=None)

    @property
    def standing(self) -> Comparison | None:
        """The comparison that stands for the report (see the class docstring)."""
        if not self.passed:
            return self.worst
        return max(self.comparisons, key=lambda c: c.tolerance, default=None)

    @property
    def method(self) -> str:
        methods = sorted({c.method for c in self.comparisons})
        return methods[0] if len(methods) == 1 else "mixed: " + ", ".join(methods)

    @property
    def step(self) -> float | None:
        return self.standing.step if self.standing else None

    @property
    def max_rel_error(self) -> float:
        return max((c.max_rel_error for c in self.comparisons), default=math.nan)

    @property
    def tolerance(self) -> float | None:
        return self.standing.tolerance if self.standing else None

    @property
    def tolerance_reason(self) -> str:
        return self.standing.tolerance_reason if self.standing else ""

    def to_json(self) -> dict:
        """The report as plain JSON data (floats, strings, lists, dicts)."""
        return {
            "cell": self.cell,
            "wrt": self.wrt,
            "samples": self.samples,
            "seed": self.seed,
            "init": self.init,
            "distribution": plain(self.distribution),
            "passed": self.passed,
            "method": self.method,
            "step": self.step,
            "max_rel_error": _finite(self.max_rel_error),
            "tolerance": self.tolerance,
            "tolerance_reason": plain(self.tolerance_reason),
            "conventions": self.conventions,
            "comparisons": [
                {
                    "derivative": c.derivative,
                    "quantity": c.quantity,
                    "method": c.method,
                    "step": c.step,
                    "max_rel_error": _finite(c.max_rel_error),
                    "tolerance": c.tolerance,
                    "passed": c.passed,
                    "points": c.points,
                    "excluded": c.excluded,
                    "worst_point": c.worst_point,
                    "tolerance_reason": plain(c.tolerance_reason),
                }
                for c in self.comparisons
            ],
        }


def _finite(x):
    return x if math.isfinite(x) else str(x)


# ---------------------------------------------------------------- entry points


def compare_derivatives(
    cell_or_name,
    wrt: str | None = None,
    samples: int = CHECK_SAMPLES,
    seed: int = CHECK_SEED,
    init: str = "normal",
    forget_bias: float | None = None,
    progress=None,
) -> CheckReport:
    """Compare symbolic derivatives with finite differences at ``samples`` seeded points.

    ``cell_or_name``: a built-in cell's name, a :class:`~symgrad.cells.Cell`, a
    :class:`~symgrad.derivation.Derivation` or a
    :class:`~symgrad.derivation.StateJacobian` (the last two are checked as they
    are, so a wrong derivation can be planted). ``wrt`` (for a cell): ``None``
    for the default derivative, a previous-step state (``"h_prev"``),
    ``"state"`` for every entry of the state Jacobian, ``"all"`` for the
    default derivative and the state Jacobian. Points are drawn by
    :func:`symgrad.sampling.sample` (``init``, ``forget_bias``) from
    ``numpy.random.default_rng(seed)``. ``progress(message)``, if given, is
    called before each derivative. Raises ``ValueError`` for a bad ``wrt``,
    ``init``, ``samples`` or ``seed``, :class:`~symgrad.cells.CellError` for an
    unknown cell name.
    """
    if not isinstance(samples, int) or not 1 <= samples <= MAX_CHECK_SAMPLES:
        raise ValueError(
            f"samples must be an integer from 1 to {MAX_CHECK_SAMPLES}, not {samples!r}"
        )
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, not {seed!r}")
    if init not in INITS:
        raise ValueError(f"unknown init {init!r}. Valid choices: {', '.join(INITS)}")
    derivations, label = _derivations(cell_or_name, wrt)
    cell = derivations[0].cell
    names = sorted({n for d in derivations for n in _plan(d).names})
    rng = np.random.default_rng(seed)
    points = sample(cell, names, samples, rng, init=init, forget_bias=forget_bias)
    report = compare_at_points(derivations, points, progress=progress)
    return CheckReport(
        cell=cell.name,
        wrt=label,
        samples=samples,
        seed=seed,
        init=init,
        distribution=describe(init, forget_bias, cell, names=names),
        derivatives=report.derivatives,
        conventions=report.conventions,
        comparisons=report.comparisons,
        labels=report.labels,
        convention_math=report.convention_math,
        names=report.names,
    )


def compare_at_points(derivations, points: dict, progress=None) -> CheckReport:
    """Compare at the given points: ``points`` maps every free name to a float array
    (all of one length) or a float. ``derivations``: a Derivation, a
    StateJacobian, or a sequence of Derivations of one cell. The report's
    ``seed`` is ``None`` (the points were not drawn here)."""
    if isinstance(derivations, Derivation):
        derivations = [derivations]
    elif isinstance(derivations, StateJacobian):
        derivations = [d for row in derivations.entries for d in row]
    derivations = list(derivations)
    arrays = {n: np.atleast_1d(np.asarray(v, dtype=float)) for n, v in points.items()}
    n = max((a.size for a in arrays.values()), default=1)
    arrays = {k: np.broadcast_to(a, (n,)) for k, a in arrays.items()}
    comparisons, labels, conventions = [], [], {}
    label_math, convention_math = {}, {}
    for k, d in enumerate(derivations):
        label = derivative_label(d)
        if progress is not None:
            progress(f"{label} ({k + 1}/{len(derivations)})")
        plan = _plan(d)
        missing = sorted(set(plan.names) - set(arrays))
        if missing:
            raise ValueError(f"points lack {', '.join(missing)} (needed by {label})")
        labels.append(label)
        label_math[label] = derivative_math(d)
        if d.carry:
            conventions[label] = {p.name: str(e) for p, e in d.carry.items()}
            convention_math[label] = _convention_math(d)
        comparisons += plan.compare({name: arrays[name] for name in plan.names})
    cell = derivations[0].cell
    return CheckReport(
        cell=cell.name,
        wrt=", ".join(labels),
        samples=n,
        seed=None,
        init="given",
        distribution="points given by the caller",
        derivatives=tuple(labels),
        conventions=conventions,
        comparisons=tuple(comparisons),
        labels=label_math,
        convention_math=convention_math,
        names=dict(cell.latex),
    )


def derivative_label(d: Derivation) -> str:
    """``dc/dc_prev`` (ASCII names), ``dc/dc_prev (one-step)`` under the one-step convention."""
    return f"d{d.target}/d{d.source}" + (" (one-step)" if d.carry else "")


def derivative_math(d: Derivation) -> str:
    """:func:`derivative_label` as prose with inline math:
    ``$\\partial c_t/\\partial c_{t-1}$ (one-step)``."""
    tex = d.cell.latex
    return f"$\\partial {tex[d.target]}/\\partial {tex[d.source]}$" + (
        " (one-step)" if d.carry else ""
    )


def _convention_math(d: Derivation) -> str:
    """The carried equations of the one-step convention as prose with inline
    math: ``$h_{t-1} = o_{t-1} \\tanh c_{t-1}$``."""
    from .render import LatexMath

    latex = LatexMath(d.cell, inline=True)
    return ", ".join(f"${d.cell.latex[p.name]} = {latex.doprint(e)}$" for p, e in d.carry.items())


def _derivations(cell_or_name, wrt):
    if isinstance(cell_or_name, Derivation):
        return [cell_or_name], derivative_label(cell_or_name)
    if isinstance(cell_or_name, StateJacobian):
        return [d for row in cell_or_name.entries for d in row], "state"
    cell = cell_or_name if isinstance(cell_or_name, Cell) else get_cell(cell_or_name)
    valid = [prev_name(s) for s in cell.state]
    if wrt not in (None, "all", "state", *valid, *cell.params):
        choices = ", ".join(["all", "state", *valid])
        raise ValueError(
            f"cannot check with respect to {wrt!r}. Valid choices: {choices}, or a parameter "
            f"({', '.join(cell.params)})"
        )
    chosen = []
    if wrt in (None, "all") or wrt in valid or wrt in cell.params:
        chosen.append(derive(cell, wrt=None if wrt == "all" else wrt))
    if wrt in ("all", "state"):
        for d in (d for row in derive(cell, "state").entries for d in row):
            # Without a carry the default derivative is a Jacobian entry: check it once.
            if not any(_same(d, c) for c in chosen):
                chosen.append(d)
    return chosen, wrt or derivative_label(chosen[0])


def _same(a: Derivation, b: Derivation) -> bool:
    return (a.target, a.source, a.carry) == (b.target, b.source, b.carry)


# ---------------------------------------------------------------- evaluation


class _Evaluator:
    """Evaluate SymPy expressions over NumPy arrays (real or complex), each node once.

    Independent of :mod:`symgrad.numeric` on purpose: this is the forward pass
    the finite differences see (:func:`symgrad.primitives.evaluate`, NumPy
    backend). A written ``1 - g`` for a sigmoid g is taken as sigma(-u)
    (``complements[g]`` for a value g held fixed): 1 - 0.9999999999999 would
    leave the reference, not the symbolic side, with three digits.
    """

    def __init__(self, env: dict, complements: dict | None = None):
        self.env = env
        self.complements = {} if complements is None else complements
        self.memo: dict = {}

    def __call__(self, expr):
        return evaluate(expr, self.env, NUMPY, self.memo, partner=self.complements.get)


_sigmoid = PRIMITIVES["sigmoid"].numpy


class _Magnitude:
    """|expr| with every sum taken in absolute value: the scale of its rounding error.

    A value stands for its definition, so the magnitude of tanh(c_t) with
    c_t = f_t c_{t-1} + i_t hat c_t is tanh(|f_t c_{t-1}| + |i_t hat c_t|): where
    the sum nearly cancels, tanh's relative condition 1/|u| is not charged to
    the derivative. ``1 - g`` for a sigmoid value g and ``1 - t^2`` for a tanh
    value t count as the single numbers sigma(-u) and sech^2 u that they are
    (no cancellation inside them when evaluated stably), not as 1 + g.
    """

    def __init__(self, evaluate: _Evaluator, definitions: dict):
        self.evaluate = evaluate
        self.definitions = definitions
        self.memo: dict = {}

    def __call__(self, expr):
        value = self.memo.get(expr)
        if value is None:
            value = self.memo[expr] = self._magnitude(expr)
        return value

    def activation(self, x):
        """The activation call that ``x`` is or names, if any."""
        call = self.definitions.get(x, x)
        return call if isinstance(call, (sigmoid, sympy.tanh)) else None

    def _magnitude(self, e):
        if e.is_Symbol and e in self.definitions:
            return self(self.definitions[e])
        if e.is_Add:
            total, rest = 0.0, list(e.args)
            for arg in e.args:
                coeff, x = arg.as_coeff_Mul()
                square = x.is_Pow and x.exp == 2
                call = self.activation(x.base if square else x)
                if abs(coeff) != 1 or call is None or -coeff not in rest or arg not in rest:
                    continue
                if isinstance(call, sigmoid) and not square:
                    u = self.evaluate(call.args[0])
                    total = total + _sigmoid(-u)  # 1 - sigma(u) = sigma(-u)
                elif isinstance(call, sympy.tanh) and square:
                    u = self.evaluate(call.args[0])
                    total = total + 4.0 * _sigmoid(2 * u) * _sigmoid(-2 * u)  # sech^2 u
                else:
                    continue
                rest.remove(arg)
                rest.remove(-coeff)
            return total + sum((self(a) for a in rest), 0.0)
        if e.is_Mul:
            out = 1.0
            for a in e.args:
                out = out * self(a)
            return out
        if e.is_Pow and e.exp.is_Integer and e.exp > 0:
            return self(e.base) ** int(e.exp)
        if isinstance(e, sympy.tanh):
            return np.tanh(self(e.args[0]))  # increasing: bounds |tanh u| by tanh(|u|)
        return np.abs(self.evaluate(e))


# ---------------------------------------------------------------- finite differences


def _complex_step(fn, y):
    """d fn/dy at y (a real array) by the complex step Im fn(y + ih)/h."""
    return np.imag(fn(y + 1j * COMPLEX_STEP)) / COMPLEX_STEP


def _richardson_weights(levels: int) -> np.ndarray:
    """Weights w_j of the extrapolated estimate sum_j w_j D(h 2^-j)."""
    table = list(np.eye(levels))
    for k in range(1, levels):
        factor = 4.0**k
        table = [(factor * table[j] - table[j - 1]) / (factor - 1) for j in range(1, len(table))]
    return table[-1]


# Sum over the extrapolation of |w_j| H/h_j: how much the rounding error of one
# evaluation, divided by the first step H, is amplified in the final estimate.
_AMPLIFICATION = float(
    sum(abs(w) * 2.0**j for j, w in enumerate(_richardson_weights(RICHARDSON_LEVELS)))
)


def _central(fn, y, kinks):
    """Central differences with Richardson extrapolation at y (a real array).

    Returns (estimate, truncation estimate, step H, usable mask): points where
    a non-analytic argument (``kinks(y)`` -> list of arrays) changes sign
    between the evaluation points are not usable.
    """
    big = CENTRAL_STEP * np.maximum(1.0, np.abs(y))
    signs = [np.sign(k) for k in kinks(y)]
    usable = np.ones(y.shape, dtype=bool)
    estimates = []
    for j in range(RICHARDSON_LEVELS):
        h = big / 2.0**j
        up, down = y + h, y - h
        h2 = up - down  # the step actually taken, after rounding
        for point in (up, down):
            for sign, k in zip(signs, kinks(point), strict=True):
                usable &= np.sign(k) == sign
        estimates.append((fn(up) - fn(down)) / h2)
    table = estimates
    previous = table[-1]
    for k in range(1, RICHARDSON_LEVELS):
        factor = 4.0**k
        previous = table[-1]
        table = [(factor * table[j] - table[j - 1]) / (factor - 1) for j in range(1, len(table))]
    best = table[-1]
    return best, np.abs(best - previous), big, usable


# ---------------------------------------------------------------- the plan of one derivative


@functools.lru_cache(maxsize=256)
def _plan(d: Derivation) -> _Plan:
    """The plan of ``d``, built once per derivation content (:attr:`Derivation.key`)."""
    return _Plan(d)


@dataclass(frozen=True)
class _Piece:
    """One finite-difference derivative: ``expr`` in ``var``, the other symbols held.

    ``forward``: the others are at their forward-pass values (a term's
    coefficient, from the target's own equation) or only free names occur
    (a composed path or total). ``symbolic`` is the engine's counterpart, whose
    magnitude scales the error; ``ops`` counts the operations that evaluate it.
    """

    expr: sympy.Expr
    var: sympy.Symbol
    forward: bool
    symbolic: sympy.Expr
    ops: int


@dataclass(frozen=True)
class _Quantity:
    """A term (coefficient piece times path piece) or the total, as the checker sees it."""

    name: str
    pieces: tuple
    symbolic: sympy.Expr | None  # in gate form, for its magnitude (None: the total)
    ops: int  # forward pass plus the symbolic side


class _Points:
    """The forward pass at the points and what the error model needs from it."""

    def __init__(self, plan, free: dict):
        cell = plan.d.cell
        self.free = {cell.symbol(n): v for n, v in free.items()}
        self.forward = dict(self.free)
        self.complements: dict = {}  # sigmoid value -> sigma(-u)
        evaluate = _Evaluator(self.forward, self.complements)
        for symbol, definition in plan.definitions.items():
            if symbol not in self.forward and definition.free_symbols <= set(self.forward):
                self.forward[symbol] = evaluate(definition)
                if isinstance(definition, sigmoid):
                    self.complements[symbol] = _sigmoid(-evaluate(definition.args[0]))
        self.magnitude = _Magnitude(_Evaluator(self.forward), plan.definitions)
        shape = np.shape(next(iter(self.free.values()), 0.0))
        self.inside = np.ones(shape, dtype=bool)
        for value in self.forward.values():
            self.inside &= np.isfinite(value)
        # An activation's relative condition is at most 2|u| (sech^2: 2|tanh u|;
        # sigma, sigma(-u): 1), and u carries an absolute rounding error of
        # about ops * u_round * (|W x| + |U h| + |b|).
        largest = 0.0
        free_magnitude = _Magnitude(_Evaluator(self.free), plan.definitions)
        for argument in plan.arguments:
            finite = np.asarray(free_magnitude(argument))[self.inside]
            if finite.size:
                largest = max(largest, float(np.max(finite)))
        self.cond = 1.0 + 2.0 * largest


class _Plan:
    """Everything about one derivation that does not depend on the points."""

    def __init__(self, d: Derivation):
        self.d = d
        cell = d.cell
        self.label = derivative_label(d)
        self.source = cell.symbol(d.source)
        self.kernel = make_numeric(d)
        self.definitions = dict(d.carry)
        for eq in cell.equations:
            self.definitions[eq.symbol] = eq.rhs
        raw = compose(cell, d.carry, cell.equation(d.target).symbol)
        raw_ops = sympy.count_ops(raw)
        rhs = cell.equation(d.target).rhs
        self.quantities = []
        for t in d.terms:
            via = cell.symbol(t.via)
            pieces = [_Piece(rhs, via, True, t.coefficient, raw_ops + sympy.count_ops(rhs))]
            if via != self.source:
                composed = compose(cell, d.carry, via)
                ops = sympy.count_ops(composed)
                pieces.append(_Piece(composed, self.source, False, t.path, ops))
            ops = raw_ops + sympy.count_ops(compose(cell, d.carry, t.expr))
            self.quantities.append(_Quantity(t.via, tuple(pieces), t.expr, ops))
        total_ops = raw_ops + sympy.count_ops(compose(cell, d.carry, d.total))
        total = _Piece(raw, self.source, False, d.total, raw_ops)
        self.quantities.append(_Quantity("total", (total,), None, total_ops))
        exprs = [p.expr for q in self.quantities for p in q.pieces]
        self.analytic = not any(e.has(*_NOT_ANALYTIC) for e in exprs)
        self.method = "complex-step" if self.analytic else "central-richardson"
        self.step = COMPLEX_STEP if self.analytic else CENTRAL_STEP
        # The forward pass reads more names than the derivative may (dc/dc_prev = f
        # without a carry needs no b_c, but c itself does).
        names = {s.name for s in raw.free_symbols} | set(d.free_names) | {d.source}
        self.names = tuple(sorted(names))
        self.arguments = sorted(
            {a.args[0] for a in raw.atoms(*_ACTIVATIONS)}, key=sympy.default_sort_key
        )

    def compare(self, free: dict) -> list[Comparison]:
        """Every term and the total at the points ``free`` (name -> array, :attr:`names`).

        Points where the cell or its derivative is undefined (log of a negative
        number, 1/0: a value that is not finite) are left out and counted."""
        # Outside a function's domain NumPy gives nan or inf: such points are
        # masked below, so the warnings would only repeat it.
        with np.errstate(all="ignore"):
            return self._compare(free)

    def _compare(self, free: dict) -> list[Comparison]:
        points = _Points(self, free)
        total, terms = self.kernel(**{name: free[name] for name in self.kernel.names})
        inside = points.inside & np.isfinite(total)
        for value in terms:
            inside &= np.isfinite(value)
        results, magnitudes = [], []
        for q, symbolic in zip(self.quantities, (*terms, total), strict=True):
            reference, bound, usable = 1.0, 0.0, True
            for piece in q.pieces:
                value, piece_bound, piece_usable = self.difference(piece, points)
                reference = reference * value
                bound = bound + piece_bound
                usable = usable & piece_usable
            if q.symbolic is not None:
                scale = points.magnitude(q.symbolic)
                magnitudes.append(scale)
            else:  # the total: the scale of a sum's rounding is the sum of its terms' scales
                scale = sum(magnitudes, np.zeros(np.shape(reference)))
            # Defined: inside the domain, and so are the difference quotient's steps.
            defined = inside & np.isfinite(reference) & np.isfinite(bound)
            check = _Errors(symbolic, reference, scale, bound, usable, defined)
            results.append(self.verdict(q, check, points, free))
        return results

    def difference(self, piece: _Piece, points: _Points):
        """(value, relative error bound, usable mask) of one finite-difference piece."""
        base = dict(points.forward if piece.forward else points.free)
        y = np.asarray(base[piece.var], dtype=float)
        held = {g: c for g, c in points.complements.items() if g != piece.var}

        def at(value, expressions):
            env = dict(base)
            env[piece.var] = value
            evaluate = _Evaluator(env, held)
            return [evaluate(e) for e in expressions]

        def f(value):
            return at(value, [piece.expr])[0]

        rounding = piece.ops * points.cond * UNIT_ROUNDOFF
        if self.analytic:
            return _complex_step(f, y), np.full(y.shape, rounding), np.ones(y.shape, dtype=bool)
        kink_args = [a.args[0] for a in piece.expr.atoms(*_NOT_ANALYTIC) if a.args]
        value, truncation, big, usable = _central(f, y, lambda v: at(v, kink_args))
        f_scale = _Magnitude(_Evaluator(base, held), self.definitions)(piece.expr)
        scale = points.magnitude(piece.symbolic)
        # Each evaluation of f errs by rounding * |f|; the extrapolated quotient
        # amplifies that by _AMPLIFICATION / H. Where the derivative is exactly 0
        # (an inactive relu, an entry with no terms) f is locally constant and the
        # quotient must be exactly 0 too: no allowance.
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            bound = (_AMPLIFICATION * rounding * f_scale / big + truncation) / np.maximum(
                scale, FLOOR
            )
        bound = np.where(scale > 0, bound, 0.0)
        return value, bound, usable

    def verdict(self, q: _Quantity, errors: _Errors, points: _Points, free: dict) -> Comparison:
        rounding = q.ops * points.cond * UNIT_ROUNDOFF
        if self.analytic:
            errors.judge(SAFETY * rounding)
            reason = (
                f"complex step ($h = 10^{{{round(math.log10(COMPLEX_STEP))}}}$): no "
                "subtraction, truncation $h^2 |f'''/f'|/6 \\approx 10^{-41}$, so only float64 "
                f"rounding remains: {SAFETY:g} (safety) $\\times$ {q.ops} operations (forward "
                f"pass and term) $\\times$ condition {points.cond:.3g} "
                "(one plus twice the largest absolute activation argument at these points) "
                "$\\times u$ "
                f"($2^{{-53}}$) = {errors.tolerance:.2g}"
            )
        else:
            errors.judge(SAFETY * (rounding + errors.bound))
            reason = (
                f"central differences, first step $H = 2^{{{round(math.log2(CENTRAL_STEP))}}} "
                f"\\max(1, |s|)$ halved {RICHARDSON_LEVELS - 1} times, Richardson extrapolation "
                f"to $O(h^{{{2 * RICHARDSON_LEVELS}}})$; a tolerance per point, {SAFETY:g} "
                f"(safety) $\\times$ [{q.ops} operations $\\times$ condition {points.cond:.3g} "
                f"$\\times u$ (the symbolic side) + {_AMPLIFICATION:.3g} $\\times$ operations "
                "$\\times$ condition $\\times u \\times |f|/(H |f'|)$ (rounding "
                "in $f$, amplified by the extrapolation) + the table's truncation estimate], "
                f"here {errors.tolerance:.2g} at the point where the error comes closest to it"
            )
            kinks = errors.excluded - errors.outside
            if kinks:
                reason += f"; {kinks} points whose steps cross a relu kink left out"
        if errors.outside:
            reason += (
                f"; {errors.outside} points where the cell, its derivative or a step of the "
                "differences lies outside its domain (log of a negative number, 1/0) left out"
            )
        return Comparison(
            derivative=self.label,
            quantity=q.name,
            method=self.method,
            step=self.step,
            max_rel_error=errors.largest,
            tolerance=errors.tolerance,
            tolerance_reason=reason,
            points=errors.points,
            excluded=errors.excluded,
            worst_point=errors.at(free),
        )


class _Errors:
    """Relative errors of one quantity at the usable points, and their verdict.

    The error at a point is |symbolic - reference| / max(magnitude, FLOOR);
    :meth:`judge` compares it with the tolerance at the same point and keeps
    the decisive point, where the error is the largest fraction of its tolerance.
    """

    def __init__(self, symbolic, reference, scale, bound, usable, defined):
        shape = np.shape(reference)
        diff = np.abs(np.broadcast_to(symbolic, shape) - reference)
        scale = np.broadcast_to(scale, shape)
        defined = np.broadcast_to(defined, shape)
        self.outside = int(np.count_nonzero(~defined))
        self.usable = np.broadcast_to(usable, shape) & defined
        self.bound = np.broadcast_to(bound, shape)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            error = np.where(diff == 0, 0.0, diff / np.maximum(scale, FLOOR))
        self.error = np.where(np.isnan(error), np.inf, error)
        self.points = int(np.count_nonzero(self.usable))
        self.excluded = int(error.size - self.points)
        self.worst, self.largest, self.tolerance = None, math.nan, math.nan

    def judge(self, tolerance) -> None:
        tolerance = np.broadcast_to(tolerance, self.error.shape)
        if not self.points:
            return
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(self.error == 0, 0.0, self.error / tolerance)
        self.worst = int(np.argmax(np.where(self.usable, ratio, -1.0)))
        self.largest = float(self.error[self.worst])
        self.tolerance = float(tolerance[self.worst])

    def at(self, free: dict) -> dict:
        """The decisive point, name -> value (empty if no point was usable)."""
        if self.worst is None:
            return {}
        return {k: float(np.ravel(v)[self.worst]) for k, v in free.items()}
