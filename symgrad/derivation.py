"""The chain-rule engine: one-step derivatives of any cell, in gate form, split into terms.

For a cell, a target value (``c``) and a previous-step source (``c_prev``) the
engine computes the path derivative :math:`D(v) = dv/d\\,\\text{source}` of every
value in dependency order,

.. math::  D(v) = \\sum_{w \\in \\text{operands}(v)} \\frac{\\partial v}{\\partial w} D(w),

and splits the target's derivative into one *term* per operand of the target's
own equation (for the LSTM: :math:`f_t + c_{t-1}\\partial f_t/\\partial c_{t-1} +
\\hat c_t \\partial i_t/\\partial c_{t-1} + i_t \\partial \\hat c_t/\\partial c_{t-1}`).
The term through the source itself is the *dominant* (carry) term. Each
partial is written in gate form by replacing every activation call by the value
it defines (:math:`\\sigma(u_f) \\to f_t`), so :math:`\\sigma'` reads
:math:`f_t(1 - f_t)` and :math:`\\tanh'` reads :math:`1 - \\hat c_t^2`.

The article's one-step convention: a previous-step value that the cell
computes from the source in a closing equation (the LSTM's
:math:`h_{t-1} = o_{t-1}\\tanh c_{t-1}`, the late-reset GRU's
:math:`o_{t-1} = r_{t-1} h_{t-1}`) depends on the source through that
equation, its other operands (:math:`o_{t-1}`, :math:`r_{t-1}`) held fixed.
``wrt="state"`` instead gives the exact state Jacobian, every entry split the
same way, with no such convention.

Every derivation checks itself (:func:`self_check`): the terms must add up to
the derivative of the raw composed definition.
"""

from __future__ import annotations

import functools
import math
import random
from dataclasses import dataclass, field, replace
from functools import cached_property

import mpmath
import sympy

from . import documents
from .cells import Cell, get_cell, prev_name
from .expr import ExprError, check_growth
from .primitives import MPMATH, DomainError, evaluate, relu, sigmoid, softplus
from .ranges import count_gates, factor_rank, value_ranges
from .text import scientific_math

__all__ = [
    "Check",
    "Derivation",
    "StateJacobian",
    "Term",
    "ancestors",
    "clear_cache",
    "compose",
    "derivative_names",
    "derive",
    "derive_entry",
    "gate_form",
    "gate_form_rules",
    "numeric_check",
    "one_step_carries",
    "operands",
    "self_check",
]

#: Points and digits of the numeric fallback of the self-check.
CHECK_POINTS = 24
CHECK_DIGITS = 30
CHECK_SEED = 20201113  # the article's date: fixed so every run checks the same points
# At 30 significant digits the two sides agree to ~1e-28 relative; 1e-20 leaves
# eight digits for cancellation in sums of terms of order 1e8 at most.
CHECK_TOLERANCE = 1e-20


@dataclass(frozen=True)
class Term:
    """One chain-rule term of a derivative.

    ``via`` is the operand of the target's equation the path goes through (the
    source itself for the direct term); ``coefficient`` is the target's partial
    with respect to it and ``path`` its path derivative, so ``expr`` =
    ``coefficient * path`` in gate form; ``factors`` is the same product in the
    order the paper writes it (gates, other factors, parameters).
    ``gate_count`` counts the factors of ``expr`` that lie in [0, 1] (gates,
    1 - gate, 1 - tanh^2 ...).
    """

    via: str
    coefficient: sympy.Expr
    path: sympy.Expr
    factors: tuple
    expr: sympy.Expr
    gate_count: int
    dominant: bool

    @property
    def name(self) -> str:
        return self.via


@dataclass(frozen=True)
class Check:
    """How a derivation was verified: ``method`` is ``"symbolic"`` or ``"numeric"``."""

    method: str
    passed: bool
    detail: str
    max_error: float | None = None


@dataclass(frozen=True)
class Derivation:
    """d target / d source of a cell, split into :class:`Term` s, checked.

    ``carry`` maps previous-step values taken to depend on the source (the
    one-step convention) to their expressions; ``links`` holds the path
    derivative of every value between source and target, in dependency order,
    as a tuple of factors in paper order (``sympy.Mul(*factors)``), and
    ``steps`` its chain-rule expansion: ``v -> ((w, dv/dw), ...)``. ``ranges``
    encloses every value (gates in [0, 1]), for gate counts and factor order.
    """

    cell: Cell
    target: str
    source: str
    carry: dict
    links: dict
    steps: dict
    terms: tuple[Term, ...]
    ranges: dict = field(repr=False)
    check: Check = field(compare=False)

    @property
    def total(self) -> sympy.Expr:
        return sympy.Add(*(t.expr for t in self.terms))

    @property
    def dominant(self) -> Term | None:
        return next((t for t in self.terms if t.dominant), None)

    @cached_property
    def key(self) -> tuple:
        """What the derivation's values depend on, hashable: the cell, the
        derivative, the convention's carries and every term's expression (a
        derivation with planted terms has its own key). Kernels and
        finite-difference plans are cached by it."""
        return (
            self.cell,
            self.target,
            self.source,
            tuple(self.carry.items()),
            tuple(t.expr for t in self.terms),
        )

    def __hash__(self) -> int:
        return hash(self.key)

    @cached_property
    def free_names(self) -> tuple[str, ...]:
        """Names a point must give to evaluate this derivation (see :meth:`evaluate`)."""
        return tuple(
            sorted(s.name for s in compose(self.cell, self.carry, self.total).free_symbols)
        )

    def evaluate(self, point: dict, digits: int = 30) -> tuple[sympy.Float, list]:
        """Total and per-term values at ``point`` to ``digits`` significant digits.

        ``point`` maps every name of :attr:`free_names` to a number (exact
        rationals stay exact until the activations); other names of the cell
        are ignored (U_o, which dc_t/dc_{t-1} does not use). Raises
        ``ValueError`` listing missing names, or names the cell does not have.
        """
        return evaluate_point(self, point, digits)

    def numeric(self):
        """A vectorised NumPy function of the free names returning ``(total, terms)``."""
        from .numeric import make_numeric  # NumPy, imported on first use

        return make_numeric(self)

    def latex(self, **options) -> str:
        """The derivation as LaTeX (see :func:`symgrad.documents.derivation_latex`:
        ``standalone=True`` for a whole document, ``steps=False`` for the sum)."""
        return documents.derivation_latex(self, **options)

    def _repr_latex_(self) -> str:
        return documents.notebook(self, "mathjax")

    def _repr_markdown_(self) -> str:
        return documents.notebook(self, "markdown")

    def __repr__(self) -> str:
        names = [t.name for t in self.terms]
        shown = names if len(names) <= 6 else [*names[:5], "..."]
        dominant = self.dominant.name if self.dominant else None
        return (
            f"<Derivation {self.cell.name}: d{self.target}/d{self.source}, "
            f"{len(names)} terms {shown}, dominant {dominant}, check {self.check.method}"
            f"{'' if self.check.passed else ' FAILED'}>"
        )


@dataclass(frozen=True)
class StateJacobian:
    """The exact one-step Jacobian d(state_t)/d(state_{t-1}); ``entries[i][j]`` is a
    :class:`Derivation` of state ``i`` with respect to previous state ``j``."""

    cell: Cell
    entries: tuple[tuple[Derivation, ...], ...]

    @property
    def check(self) -> Check:
        checks = [d.check for row in self.entries for d in row]
        method = "symbolic" if all(c.method == "symbolic" for c in checks) else "numeric"
        failed = [
            f"`d{d.target}/d{d.source}`: {d.check.detail}"
            for row in self.entries
            for d in row
            if not d.check.passed
        ]
        detail = "; ".join(failed) or (
            f"all {len(checks)} entries checked ({', '.join(sorted({c.method for c in checks}))}): "
            "each entry's terms add up to its raw derivative"
        )
        return Check(method, not failed, detail)

    @property
    def matrix(self) -> sympy.Matrix:
        return sympy.Matrix([[d.total for d in row] for row in self.entries])

    @cached_property
    def free_names(self) -> tuple[str, ...]:
        """Names a point must give to evaluate every entry (see :meth:`evaluate`)."""
        return tuple(sorted({n for row in self.entries for d in row for n in d.free_names}))

    def evaluate(self, point: dict, digits: int = 30) -> tuple[sympy.Matrix, list]:
        """The Jacobian at ``point`` to ``digits`` digits: the matrix of the
        entries' totals, and per entry (row by row) its total and per-term
        values, as :meth:`Derivation.evaluate` gives them.

        ``point`` maps every name of :attr:`free_names` to a number; other
        names of the cell are ignored. Raises ``ValueError`` listing missing
        or unknown names."""
        _check_point(self.cell, self.free_names, point)
        entries = [[d.evaluate(point, digits) for d in row] for row in self.entries]
        return sympy.Matrix([[total for total, _ in row] for row in entries]), entries

    def numeric(self):
        """A vectorised NumPy function of :attr:`free_names` returning
        ``(totals, terms)``: ``totals[i, j]`` the entries' totals (arrays of the
        arguments' broadcast shape after the two matrix axes), ``terms[i][j]``
        each entry's per-term arrays. ``.names`` lists the arguments."""
        import numpy as np

        from .numeric import make_numeric  # NumPy, imported on first use

        kernels = [[make_numeric(d) for d in row] for row in self.entries]
        names = self.free_names

        def jacobian(**arrays):
            unknown = sorted(set(arrays) - set(names))
            if unknown:  # a missing name: the entry that needs it says so
                raise TypeError(
                    f"numeric() of the {self.cell.name} state Jacobian takes "
                    f"{', '.join(names)}; unknown {', '.join(unknown)}"
                )
            shape = np.broadcast_shapes(*(np.shape(a) for a in arrays.values()))
            totals = np.zeros((len(kernels), len(kernels[0]), *shape))
            terms = []
            for i, row in enumerate(kernels):
                terms.append([])
                for j, kernel in enumerate(row):
                    total, parts = kernel(**{n: arrays[n] for n in kernel.names if n in arrays})
                    totals[i, j] = total
                    terms[i].append(parts)
            return totals, terms

        jacobian.names = names
        return jacobian

    @cached_property
    def article(self) -> Derivation:
        """The cell's default derivative, under the article's one-step
        convention: A_t, the target's entry of J_t applied to the convention's
        tangent (printed with the Jacobian)."""
        return derive(self.cell)

    def latex(self, standalone: bool = False) -> str:
        """The Jacobian as LaTeX: the matrix of partials, each entry's chain
        rule, terms and sum, and the article's term; ``standalone=True`` for a
        whole document."""
        return documents.jacobian_latex(self, standalone, self.article)

    def _repr_latex_(self) -> str:
        return documents.notebook(self, "mathjax", self.article)

    def _repr_markdown_(self) -> str:
        return documents.notebook(self, "markdown", self.article)

    def __repr__(self) -> str:
        n = len(self.cell.state)
        return (
            f"<StateJacobian {self.cell.name}: d({', '.join(self.cell.state)})/"
            f"d({', '.join(self.cell.prevs)}), {n}x{n} entries, check {self.check.method}"
            f"{'' if self.check.passed else ' FAILED'}>"
        )


# ---------------------------------------------------------------- the engine


def derive(cell: Cell | str, wrt: str | None = None, of: str | None = None):
    """Derive a cell's one-step derivative.

    ``cell``: a :class:`Cell` or a built-in name. ``wrt``: ``None`` for the
    cell's default source (``c_prev`` for ``lstm``, ``h_prev`` otherwise), a
    previous-step state name, ``"state"`` for the exact state Jacobian
    (a :class:`StateJacobian`), or a parameter (``U``, ``U_f``, ``b_f``) for
    the explicit part :math:`\\partial h_t/\\partial\\theta` of the article's
    recursion :math:`dh_t/d\\theta = (\\partial h_t/\\partial h_{t-1})\\,
    dh_{t-1}/d\\theta + \\partial h_t/\\partial\\theta`, every previous-step
    value held fixed. ``of``: the target value (default: the cell's).
    Returns a :class:`Derivation` whose terms add up to the derivative.
    """
    if isinstance(cell, str):
        cell = get_cell(cell)
    names = derivative_names(cell, wrt, of)
    if names is None:
        entries = tuple(
            tuple(_derive(cell, t, p, convention=False) for p in cell.prevs) for t in cell.state
        )
        return StateJacobian(cell, entries)
    target, source = names
    return _derive(cell, target, source, convention=source in cell.prevs)


def derivative_names(cell: Cell, wrt: str | None, of: str | None) -> tuple[str, str] | None:
    """(target, source) of the derivative d ``of`` / d ``wrt`` (defaults: the
    cell's), None for ``wrt="state"`` (every state); ValueError naming the
    valid choices for an unknown name, or for ``of`` beside ``wrt="state"``."""
    if wrt == "state":
        if of is not None:
            raise ValueError("of names one value; wrt='state' derives every state (drop one)")
        return None
    source, target = wrt or cell.source, of or cell.target
    if source not in cell.prevs and source not in cell.params:
        raise ValueError(
            f"cannot differentiate with respect to {source!r}. "
            f"Valid choices: {', '.join([*cell.prevs, 'state'])}, or a parameter "
            f"({', '.join(cell.params)})"
        )
    if target not in cell.values:
        raise ValueError(
            f"{target!r} is not a value of {cell.name}. Valid targets: {', '.join(cell.values)}"
        )
    return target, source


def derive_entry(cell: Cell | str, of: str, wrt: str) -> Derivation:
    """d ``of`` / d ``wrt`` with every other previous-step value held fixed (no
    one-step convention): an entry of the state Jacobian when ``of`` is a state,
    the partial of any value of the step otherwise (the LSTM's do_t/dh_{t-1})."""
    if isinstance(cell, str):
        cell = get_cell(cell)
    if wrt not in cell.prevs or of not in cell.values:
        raise ValueError(f"{of!r} and {wrt!r} must be a value and a previous state of {cell.name}")
    return _derive(cell, of, wrt, convention=False)


def gate_form(cell: Cell, expr):
    """``expr`` with every activation call that a value of ``cell`` defines
    replaced by that value: ``sigmoid(u_f) -> f``, relu's ``[u > 0] -> [h > 0]``."""
    return _gate(expr, gate_form_rules(cell))


def clear_cache() -> None:
    """Forget every derivation made so far (after changing a differentiation
    rule, as the tests that plant a wrong rule do)."""
    _derive.cache_clear()


@functools.lru_cache(maxsize=512)
def _derive(cell: Cell, target: str, source: str, convention: bool) -> Derivation:
    """d target/d source, once per cell; ``convention``: apply the article's
    one-step convention (:func:`one_step_carries`), else hold every other state fixed."""
    s = cell.symbol(source)
    carries = one_step_carries(cell, source) if convention else {}
    gate_form = gate_form_rules(cell)
    ranges = value_ranges(cell)

    # links[v]: dv/d source as a tuple of factors in chain-rule order (outer first).
    links: dict = {s: ()}
    steps: dict = {}
    for prev, expr in carries.items():
        step = _gate(partial(expr, s), gate_form)
        steps[prev] = ((s, step),)
        links[prev] = _factors(step, prev)
    needed = ancestors(cell, target)
    for eq in cell.equations:
        if eq.name not in needed:
            continue
        parts, chain = [], []
        for w in operands(cell, eq.rhs):
            if w in links:
                step = _gate(partial(eq.rhs, w), gate_form)
                if step != 0:
                    chain.append((w, step))
                    parts.append(_factors(step, eq.symbol) + links[w])
        if parts:
            steps[eq.symbol] = tuple(chain)
            links[eq.symbol] = _paper_order(_common_factors_out(parts), ranges, cell)

    rhs = cell.equation(target).rhs
    terms = []
    for w in operands(cell, rhs):
        if w not in links:
            continue
        coefficient = _gate(partial(rhs, w), gate_form)
        if coefficient == 0:
            continue
        factors = _paper_order(_factors(coefficient, None) + links[w], ranges, cell)
        expr = sympy.Mul(*factors)
        terms.append(
            Term(
                via=w.name,
                coefficient=coefficient,
                path=sympy.Mul(*links[w]),
                factors=factors,
                expr=expr,
                gate_count=count_gates(expr, ranges),
                # The carry term (through the previous state itself); a
                # parameter's explicit part has none.
                dominant=(w == s and source in cell.prevs),
            )
        )
    # The direct (carry) term first, as the article writes it.
    terms.sort(key=lambda t: not t.dominant)
    unchecked = Derivation(
        cell,
        target,
        source,
        carries,
        {k: v for k, v in links.items() if k != s},
        steps,
        tuple(terms),
        ranges,
        Check("none", False, "not checked yet"),
    )
    return replace(unchecked, check=self_check(unchecked))


def ancestors(cell: Cell, target: str) -> set:
    """The values ``target`` depends on within the step, itself included."""
    found, todo = set(), [target]
    values = set(cell.values)
    while todo:
        name = todo.pop()
        if name not in found:
            found.add(name)
            todo += [s.name for s in cell.equation(name).rhs.free_symbols if s.name in values]
    return found


def _factors(expr, own) -> tuple:
    """The factors of one chain-rule step; those of the value's own activation
    derivative (``f``, ``1 - f``) first, so products read outer-to-inner."""
    args = sympy.Mul.make_args(expr)
    if own is None:
        return args
    return tuple(sorted(args, key=lambda a: not a.has(own)))


def _paper_order(factors, ranges, cell) -> tuple:
    """Merge repeated factors into powers; then numbers, gates, other factors,
    parameters, each group in chain-rule order: f (1 - f) o_{t-1} c_{t-1} U_f."""
    merged: dict = {}
    for f in factors:
        base, n = (f.base, f.exp) if f.is_Pow and f.exp.is_Integer and f.exp > 0 else (f, 1)
        merged[base] = merged.get(base, 0) + n
    # sorted() is stable: chain order is kept within each group.
    ordered = sorted(merged.items(), key=lambda item: factor_rank(item[0], ranges, cell))
    numbers = sympy.Mul(*(b**n for b, n in ordered if b.is_Number))
    rest = tuple(b**n for b, n in ordered if not b.is_Number)
    return rest if numbers == 1 else (numbers, *rest)


def partial(expr, w):
    """:math:`\\partial\\,\\text{expr}/\\partial w`, every other symbol held fixed.

    The chain rule over the expression tree, each function's derivative from
    its own ``fdiff`` (so sigmoid' comes out as sigma (1 - sigma)). SymPy's
    ``diff`` gives the same result (a test checks it) but builds a
    ``Derivative`` per node, several times slower on the path of ``derive``.
    """
    if expr == w:
        return sympy.Integer(1)
    if not expr.has(w):
        return sympy.Integer(0)
    if expr.is_Add:
        return sympy.Add(*(partial(a, w) for a in expr.args))
    if expr.is_Mul:
        args = expr.args
        return sympy.Add(
            *(
                sympy.Mul(*args[:k], partial(a, w), *args[k + 1 :])
                for k, a in enumerate(args)
                if a.has(w)
            )
        )
    if expr.is_Pow and not expr.exp.has(w):
        return expr.exp * expr.base ** (expr.exp - 1) * partial(expr.base, w)
    if isinstance(expr, sympy.Function) and len(expr.args) == 1:
        return expr.fdiff(1) * partial(expr.args[0], w)
    return sympy.diff(expr, w)


def _common_factors_out(parts) -> tuple:
    """``(a, b) + (a, c) -> (a, b + c)``: the factors all parts share, pulled out
    (so the GRU's reset path reads r_t (1 + (1 - r_t) h_{t-1} U_r))."""
    if len(parts) == 1:
        return parts[0]
    counts = [_factor_counts(p) for p in parts]
    common = {f: min(c.get(f, 0) for c in counts) for f in counts[0]}
    common = {f: n for f, n in common.items() if n > 0 and not f.is_Number}
    rest = sympy.Add(
        *(sympy.Mul(*(f ** (n - common.get(f, 0)) for f, n in c.items())) for c in counts)
    )
    return (*tuple(f**n for f, n in common.items()), rest)


def _factor_counts(factors) -> dict:
    counts: dict = {}
    for factor in factors:
        base, n = factor, 1
        if factor.is_Pow and factor.exp.is_Integer and factor.exp > 0:
            base, n = factor.base, int(factor.exp)
        counts[base] = counts.get(base, 0) + n
    return counts


def one_step_carries(cell: Cell, source: str) -> dict:
    """Previous-step values computed from the source by a closing equation.

    ``h_prev -> o_prev*tanh(c_prev)`` for the LSTM's c_prev: the equation of h
    reads only current-step values, one of them the source's own value, so
    shifting it one step back expresses h_{t-1} through c_{t-1}, its other
    operands becoming independent previous-step values.
    """
    base = source.removesuffix("_prev")
    values = set(cell.values)
    result = {}
    for state in cell.state:
        prev = prev_name(state)
        if prev == source:
            continue
        rhs = cell.equation(state).rhs
        names = {sym.name for sym in rhs.free_symbols}
        if base in names and names <= values | set(cell.params):
            shift = {cell.symbol(n): cell.symbol(prev_name(n)) for n in names if n in values}
            result[cell.symbol(prev)] = rhs.xreplace(shift)
    return result


def operands(cell: Cell, expr) -> list:
    """Free symbols of ``expr`` in the cell's reading order: states, values, the rest."""
    order = {name: k for k, name in enumerate(cell.prevs + cell.values)}
    return sorted(expr.free_symbols, key=lambda sym: (order.get(sym.name, len(order)), sym.name))


def gate_form_rules(cell: Cell) -> dict:
    """Activation calls -> the values they define: ``sigmoid(u_f) -> f``."""
    rules = {}
    for eq in cell.equations:
        if isinstance(eq.rhs, sympy.Function) and len(eq.rhs.args) == 1:
            rules[eq.rhs] = eq.symbol
        if isinstance(eq.rhs, relu):
            # relu's derivative [u > 0] is [v > 0] for v = relu(u).
            rules[eq.rhs.fdiff()] = sympy.Heaviside(eq.symbol, 0)
    return rules


def _gate(expr, rules):
    return expr.xreplace(rules)


def compose(cell: Cell, carries: dict, expr):
    """``expr`` with every value replaced by its definition, down to the free names.

    ``carries`` (a :attr:`Derivation.carry`) replaces previous-step values too,
    so the result is the raw forward pass the derivative differentiates.
    """
    return expr.xreplace(_definitions(cell, tuple(carries.items())))


@functools.lru_cache(maxsize=256)
def _definitions(cell: Cell, carries: tuple) -> dict:
    """Every value of ``cell`` (and each carried previous value) as its composed
    definition in the free names; computed once per cell and convention."""
    defs = dict(carries)
    for eq in cell.equations:
        defs[eq.symbol] = eq.rhs.xreplace(defs)
    return defs


def _check_point(cell: Cell, needed, point: dict) -> None:
    """ValueError unless ``point`` gives every name in ``needed``; names of
    the cell that are not needed are allowed (and ignored), others are not."""
    missing = sorted(set(needed) - set(point))
    unknown = sorted(set(point) - set(needed) - set(cell.latex))
    if missing or unknown:
        problems = []
        if missing:
            problems.append(f"missing values for {', '.join(missing)}")
        if unknown:
            problems.append(f"unknown names {', '.join(unknown)}")
        raise ValueError(
            "; ".join(problems) + f" (this derivative needs: {', '.join(sorted(needed))})"
        )


def evaluate_point(d: Derivation, point: dict, digits: int = 30):
    """See :meth:`Derivation.evaluate`."""
    _check_point(d.cell, d.free_names, point)
    exact = {d.cell.symbol(n): sympy.Rational(point[n]) for n in d.free_names}
    # Complements such as 1 - c_hat^2 cancel digits in saturation (|u| = 40 loses
    # 35 of them), so work at growing precision until two runs agree to `digits`.
    dps, previous = digits + 10, None
    while True:
        with mpmath.workdps(dps):
            try:
                terms = _mp_terms(d, exact)
            except DomainError as err:
                raise DomainError(f"cannot evaluate at this point: {err}") from None
            if previous is not None and all(
                abs(a - b) <= mpmath.mpf(10) ** -(digits + 2) * abs(a)
                for a, b in zip(terms, previous, strict=True)
            ):
                break
            if dps > 64 * (digits + 10):
                break  # exact zeros, or cancellation no precision can save: report as is
            previous, dps = terms, 2 * dps
    with mpmath.workdps(dps):
        total = mpmath.fsum(terms)
        return sympy.Float(total, digits), [sympy.Float(t, digits) for t in terms]


def _mp_terms(d: Derivation, exact: dict) -> list:
    env = {sym: mpmath.mpf(r.p) / r.q for sym, r in exact.items()}
    for prev, expr in d.carry.items():
        env[prev] = evaluate(expr, env, MPMATH)
    for eq in d.cell.equations:
        if eq.rhs.free_symbols <= env.keys():
            env[eq.symbol] = evaluate(eq.rhs, env, MPMATH)
    return [evaluate(t.expr, env, MPMATH) for t in d.terms]


# ---------------------------------------------------------------- the self-check


def self_check(derivation: Derivation) -> Check:
    """Check that the terms add up to the derivative of the raw definition.

    First exactly: with every value replaced by its definition, the sum of the
    terms minus d(raw target)/d(source) must expand to 0. Where expansion cannot
    decide (indicators of relu, ...), both sides are evaluated at
    :data:`CHECK_POINTS` seeded random points to :data:`CHECK_DIGITS` digits,
    the raw side with sigmoid written through exp (independent of the gate-form
    rule).
    """
    cell, carries = derivation.cell, derivation.carry
    if not _expandable(derivation):
        return _forward_check(derivation)
    s = cell.symbol(derivation.source)
    raw = compose(cell, carries, cell.equation(derivation.target).symbol)
    claimed = compose(cell, carries, derivation.total)
    if sympy.expand(claimed - partial(raw, s)) == 0:
        return Check(
            "symbolic",
            True,
            "expand(sum of terms - d raw/d source) = 0, the raw target differentiated "
            "as one composed expression",
        )
    # Only the activations with gate-form derivatives: rewrite(exp) on everything
    # would turn x**2 into exp(2 log x), complex for x < 0.
    reference = sympy.diff(raw.rewrite(sigmoid, softplus, sympy.exp), s)
    names = sorted(raw.free_symbols | claimed.free_symbols, key=str)

    def difference(point):
        a = evaluate(claimed, point, MPMATH)
        b = evaluate(reference, point, MPMATH)
        return float(abs(a - b) / (1 + abs(b)))

    return numeric_check(names, difference, "sum of terms = d raw/d source")


def numeric_check(names, difference, what: str, points: int = CHECK_POINTS) -> Check:
    """The check "``what``" by the largest ``difference(point)`` (a relative
    difference) over ``points`` seeded random points (every name in [-2, 2],
    exact thousandths) at :data:`CHECK_DIGITS` digits. A point outside a
    function's domain (log of a negative number) is skipped for the next of the
    same stream, up to ten times as many draws; no point of the domain fails."""
    rng = random.Random(CHECK_SEED)
    worst, used = 0.0, 0
    with mpmath.workdps(CHECK_DIGITS):
        for _ in range(10 * points):
            point = {n: mpmath.mpf(rng.randint(-2000, 2000)) / 1000 for n in names}
            try:
                worst = max(worst, difference(point))
            except DomainError:
                continue
            used += 1
            if used == points:
                break
    return Check(
        "numeric",
        used > 0 and worst <= CHECK_TOLERANCE,
        f"{what} at {used} random points (seed {CHECK_SEED}, {CHECK_DIGITS} digits): "
        f"largest relative difference {scientific_math(worst)}",
        max_error=worst if used else math.inf,
    )


def _expandable(d: Derivation) -> bool:
    """Whether the composed sum of terms stays within the parser's growth limits
    (:data:`symgrad.expr.MAX_TERMS` terms, degree :data:`symgrad.expr.MAX_DEGREE`)
    when multiplied out (function calls counted as atoms, their arguments on
    their own): a chain of values v_k = tanh(2 v_{k-1}) gives a product of k
    binomials 1 - v_k^2, 2^k terms, which ``expand`` would take hours on."""
    known = {}
    try:
        for eq in d.cell.equations:
            known[eq.symbol] = check_growth(eq.rhs, known)
        for prev, expr in d.carry.items():
            known[prev] = check_growth(expr, known)
        check_growth(d.total, known)
    except ExprError:
        return False
    return True


def _varying(forward, point: dict, source, target):
    """The target as a function of the source alone, the rest of ``point`` fixed."""

    def value(s):
        return forward({**point, source: s})[target]

    return value


def _forward_check(d: Derivation) -> Check:
    """The self-check of a derivation too large to expand: at seeded random
    points, the sum of terms against mpmath's numerical derivative (at raised
    precision) of the forward pass, each evaluated equation by equation, so the
    cost grows with the number of equations, not with the composed expression."""
    cell = d.cell
    source = cell.symbol(d.source)
    target = cell.symbol(d.target)
    names = set(d.total.free_symbols)
    for eq in cell.equations:
        names |= eq.rhs.free_symbols
    for expr in d.carry.values():
        names |= expr.free_symbols
    names -= {eq.symbol for eq in cell.equations} | set(d.carry)
    names = sorted(names, key=str)

    def forward(env):
        env = dict(env)
        for prev, expr in d.carry.items():
            env[prev] = evaluate(expr, env, MPMATH)
        for eq in cell.equations:
            if eq.rhs.free_symbols <= env.keys():
                env[eq.symbol] = evaluate(eq.rhs, env, MPMATH)
        return env

    def difference(point):
        a = evaluate(d.total, forward(point), MPMATH)
        b = mpmath.diff(_varying(forward, point, source, target), point[source])
        return float(abs(a - b) / (1 + abs(b)))

    return numeric_check(
        names,
        difference,
        "sum of terms = mpmath's derivative of the forward pass (too large to expand symbolically)",
    )
