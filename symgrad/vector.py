"""Derivatives in n dimensions: the one-step derivative in matrix form, in gate form.

Hidden size n, input size m, the vector reading of :mod:`symgrad.linear`:
h_t, c_t, x_t, gates and biases are vectors (x_t in R^m, the rest in R^n),
W_g is n x m and U_g is n x n; a product with a weight is a matrix-vector
product and every other product is elementwise. The engine is the chain rule
of :mod:`symgrad.derivation` over the same equations of the same cell (a user's
cell file too), with linear maps in place of scalars:

.. math::  D(v) = \\sum_{w \\in \\text{operands}(v)} \\frac{\\partial v}{\\partial w} D(w),

:math:`\\partial v/\\partial w` being :math:`\\operatorname{diag}(\\cdot)` for an
elementwise product or an activation (its own derivative in gate form,
:math:`\\operatorname{diag}(f_t \\odot (1 - f_t))`) and U for U w. The
target's derivative is split into one term per operand of its own equation,
as in one dimension, and the article's one-step convention is carried over:
the LSTM's :math:`h_{t-1} = o_{t-1} \\odot \\tanh c_{t-1}` with o_{t-1} held
fixed gives :math:`\\operatorname{diag}(o_{t-1} \\odot (1 - \\tanh^2 c_{t-1}))`.
No term is typed by hand: the SimpleRNN's
:math:`\\operatorname{diag}(1 - h_t \\odot h_t) U` comes out of its equation.

Printed notation (what papers on RNN gradients use): vectors in plain
italics, :math:`\\odot` the elementwise product, :math:`\\operatorname{diag}(v)`
the diagonal matrix of v; activations, :math:`1 - v` and
:math:`\\tanh^2 c` act elementwise (:math:`1 - h_t \\odot h_t` for a square
of a vector). With respect to a weight W the derivative is with respect to
vec(W), W's columns stacked: :math:`d(W v) = (v^\\top \\otimes I_n)\\,
d\\operatorname{vec}(W)`.

Gates: a term's gate count is the number of its diag factors whose values
lie in [0, 1], as in one dimension; they are *row* gates left of the term's
first weight (they scale its rows) and *column* gates right of it. In one
dimension every factor multiplies the same number; in n dimensions a row
factor and a column factor multiply different coordinates, so gates on
opposite sides of U no longer compound, and a pair of factors that bounded
each other in 1-D (the LSTM's :math:`c_{t-1}` and :math:`1 - \\tanh^2
c_{t-1}`, :math:`|c(1 - \\tanh^2 c)| < 0.45`) no longer pairs. Each term says so.

Every derivation checks itself (:func:`check_vector`): the sum of its terms,
evaluated numerically, against the Jacobian of the raw forward pass by the
complex step (central differences where the cell has relu or abs) at seeded
random points with n = 3, m = 2.

SymPy only at import; NumPy is imported by the check and by ``numeric()``.
"""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass, field, replace
from functools import cached_property

import sympy

from .cells import Cell, get_cell, prev_name
from .derivation import (
    Check,
    ancestors,
    derivative_names,
    derive,
    derive_entry,
    gate_form_rules,
    one_step_carries,
    operands,
)
from .linear import (
    IDENTITY,
    Algebra,
    Chain,
    Diag,
    Kron,
    VectorCell,
    VectorError,
    Weight,
    bases,
    read_vector,
    sides,
)
from .veccheck import check_arrays, relative, verdict
from .vecrender import (
    derivation_document,
    derivation_json,
    jacobian_document,
    jacobian_json,
    render_blocks,
    sum_latex,
)
from .vecsteps import VectorMultiStep, build_steps, check_step_count

__all__ = [
    "VectorDerivation",
    "VectorError",
    "VectorMultiStep",
    "VectorStateJacobian",
    "VectorSteps",
    "VectorTerm",
    "check_vector",
    "derive_vector",
    "derive_vector_steps",
    "vector_steps",
]


@dataclass(frozen=True)
class VectorTerm:
    """One chain-rule term of a derivative in matrix form.

    ``via``: the operand of the target's equation the path goes through (the
    source itself for the direct term); ``coefficient``: the target's partial
    with respect to it and ``path`` its path derivative, both linear maps
    (:class:`~symgrad.linear.Chain`); ``operator`` = coefficient path, in
    normal form. ``row_gates``/``column_gates``: the gate factors left and
    right of the first weight (``gate_count`` both together); ``gate_count_1d``
    the scalar engine's count of the same term (None where it has none);
    ``pairs``: (row factor, column factor) reading the same value, paired in
    1-D and not here; ``lost``: gates of the 1-D term that are no diag factor
    here (they sit inside a sum with a weight).
    """

    via: str
    coefficient: Chain
    path: Chain
    operator: Chain
    row_gates: tuple
    column_gates: tuple
    weight: object
    gate_count_1d: int | None
    pairs: tuple
    lost: tuple
    dominant: bool

    @property
    def name(self) -> str:
        return self.via

    @property
    def gate_count(self) -> int:
        return len(self.row_gates) + len(self.column_gates)


@dataclass(frozen=True, eq=False)
class VectorDerivation:
    """d target / d source in matrix form, split into :class:`VectorTerm` s, checked.

    ``carry``: previous-step values taken to depend on the source (the
    one-step convention), as vector expressions; ``links``: the path
    derivative of every value between source and target (linear maps) and
    ``steps`` their chain-rule expansion, ``v -> ((w, dv/dw), ...)``.
    """

    cell: Cell
    target: str
    source: str
    carry: dict
    terms: tuple[VectorTerm, ...]
    check: Check
    links: dict = field(repr=False)
    steps: dict = field(repr=False)
    vcell: VectorCell = field(repr=False)

    @property
    def dominant(self) -> VectorTerm | None:
        return next((t for t in self.terms if t.dominant), None)

    @property
    def operators(self) -> tuple[Chain, ...]:
        return tuple(t.operator for t in self.terms)

    @property
    def label(self) -> str:
        return f"d{self.target}/d{self.source}"

    @property
    def source_kind(self) -> str | None:
        """None for a vector source; for a weight, the size of its columns (``"m"``/``"n"``)."""
        return self.vcell.columns.get(self.source)

    @cached_property
    def free_names(self) -> tuple[str, ...]:
        """The ASCII names ``numeric()`` takes: what the terms read, down to
        inputs, parameters and previous-step values."""
        found = set()
        for t in self.terms:
            found |= _operator_symbols(t.operator)
        return _names(self.vcell, self.carry, found)

    def numeric(self):
        """``f(**arrays) -> (J, terms)``, J of shape ``(..., n, n)``; see
        :func:`symgrad.vecnumeric.make_vector_numeric`."""
        from .vecnumeric import make_vector_numeric  # NumPy, imported on first use

        return make_vector_numeric(self)

    def render(self, fmt: str = "latex", standalone: bool = False, values=None) -> str:
        return render_blocks(self.document(values), fmt, self, standalone)

    def latex(self, standalone: bool = False) -> str:
        return self.render("latex", standalone)

    def text(self) -> str:
        return self.render("text")

    def document(self, values=None) -> list:
        return derivation_document(self, values)

    def json(self, values=None) -> dict:
        """Per term: ``name``, ``latex``, ``text``, ``gate_count`` (with
        ``row_gates``, ``column_gates``, ``gate_count_1d``), ``dominant``,
        ``notes``; ``values`` (``numeric()``'s ``(J, terms)`` at one point)
        adds ``value`` per term and ``total_value``."""
        return derivation_json(self, values)

    def _repr_latex_(self) -> str:
        return "$$" + sum_latex(self) + "$$"


@dataclass(frozen=True, eq=False)
class VectorStateJacobian:
    """The exact one-step state Jacobian in matrix form: ``entries[i][j]`` is the
    :class:`VectorDerivation` of state i with respect to previous state j (no
    one-step convention); numerically an (s n) x (s n) matrix, states in the
    cell's order."""

    cell: Cell
    entries: tuple[tuple[VectorDerivation, ...], ...]

    label = "state Jacobian"

    @property
    def check(self) -> Check:
        checks = [d.check for row in self.entries for d in row]
        failed = [f"`{d.label}`: {d.check.detail}" for row in self.entries for d in row
                  if not d.check.passed]  # fmt: skip
        detail = "; ".join(failed) or (
            f"all {len(checks)} entries checked: each entry's terms add up to its Jacobian "
            f"({checks[0].detail.split(': ')[0]})"
        )
        worst = max((c.max_error or 0.0) for c in checks)
        return Check("numeric", not failed, detail, max_error=worst)

    @cached_property
    def free_names(self) -> tuple[str, ...]:
        return tuple(sorted({n for row in self.entries for d in row for n in d.free_names}))

    def numeric(self):
        """``f(**arrays) -> (J, terms)``, J of shape ``(..., s n, s n)`` in state
        order, ``terms[i][j]`` the term arrays of entry (i, j)."""
        from .vecnumeric import make_vector_numeric

        return make_vector_numeric(self)

    def render(self, fmt: str = "latex", standalone: bool = False) -> str:
        return render_blocks(jacobian_document(self), fmt, self.entries[0][0], standalone)

    def latex(self, standalone: bool = False) -> str:
        return self.render("latex", standalone)

    def text(self) -> str:
        return self.render("text")

    def json(self) -> dict:
        return jacobian_json(self)


@dataclass(frozen=True, eq=False)
class VectorSteps:
    """d target_{t+K-1}/d source_{t-1} over ``steps`` = K steps, in n dimensions, at
    one point (or a batch of them).

    ``exact`` ``(..., n, n)``: the state Jacobians of steps t .. t+K-1
    multiplied (``states``, ``(..., s n, s n)``) and applied to the
    convention's tangent d s_{t-1}/d source_{t-1}; ``product``: the
    article's product of its K one-step derivatives A_{t+K-1} ... A_t. Equal
    for K = 1; their ``gap`` is the paths through the held values (o_t for the
    LSTM) that the one-step terms leave out.
    """

    cell: Cell
    steps: int
    exact: object
    product: object
    states: object

    @property
    def gap(self):
        return self.exact - self.product


# ---------------------------------------------------------------- the engine


def derive_vector(cell: Cell | str, wrt: str | None = None, of: str | None = None):
    """The one-step derivative of ``cell`` in matrix form (hidden size n, input size m).

    ``cell``: a :class:`~symgrad.cells.Cell` (built-in or from a cell file) or
    a built-in name. ``wrt``: None for the cell's default source, a
    previous-step state (``h_prev``), a parameter (``b_f``, ``W_f``: the
    explicit part, h_{t-1} held fixed; a weight's derivative is with respect
    to vec(W)), or ``"state"`` for the exact state Jacobian (a
    :class:`VectorStateJacobian`). ``of``: the target value (default: the
    cell's). Returns a checked :class:`VectorDerivation`. Raises
    :class:`~symgrad.linear.VectorError` for a cell the vector reading cannot
    read, ``ValueError`` for an unknown ``wrt`` or ``of`` (naming the choices).
    """
    if isinstance(cell, str):
        cell = get_cell(cell)
    read_vector(cell)  # a cell that cannot be read with vectors fails here, by name
    names = derivative_names(cell, wrt, of)
    if names is None:
        entries = tuple(
            tuple(_derive_vector(cell, t, p, False) for p in cell.prevs) for t in cell.state
        )
        return VectorStateJacobian(cell, entries)
    target, source = names
    return _derive_vector(cell, target, source, source in cell.prevs)


def vector_steps(cell: Cell | str, steps: int, arrays: dict) -> VectorSteps:
    """The exact ``steps``-step derivative in n dimensions beside the article's product.

    The matrix-form counterpart of :func:`symgrad.multistep.derive_steps`,
    evaluated numerically: d target_{t+K-1}/d source_{t-1} for the cell's
    default derivative (the LSTM's dc/dc_prev through h_{t-1} = o_{t-1} ⊙
    tanh c_{t-1}, o_{t-1} held fixed), K = ``steps``. ``arrays``: the
    parameters, the inputs (``x`` shared by every step, or ``x_1`` .. ``x_K``)
    and the previous-step values of step t (``c_prev`` and ``o_prev`` for the
    LSTM), with any leading batch axes, shapes as ``numeric()`` takes them.
    Raises ``ValueError`` naming missing or unknown arrays.
    """
    from .vecnumeric import steps_product

    if isinstance(cell, str):
        cell = get_cell(cell)
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, not {steps!r}")
    exact, product, states = steps_product(
        derive_vector(cell, "state"), derive_vector(cell), steps, arrays
    )
    return VectorSteps(cell, steps, exact, product, states)


def derive_vector_steps(cell: Cell | str, steps: int, inputs: str = "shared") -> VectorMultiStep:
    """The exact ``steps``-step derivative in matrix form beside the article's product.

    The symbolic counterpart of :func:`vector_steps` and the matrix form of
    :func:`symgrad.multistep.derive_steps`: d target_{t+K-1}/d source_{t-1}
    for the cell's default derivative (the LSTM's dc/dc_prev through
    h_{t-1} = o_{t-1} ⊙ tanh c_{t-1}, o_{t-1} held fixed), K = ``steps`` from
    1 to :data:`symgrad.multistep.MAX_STEPS`: the article's product
    A_{t+K-1} ... A_t of this engine's one-step derivative, the exact
    derivative [J_{t+K-1} ... J_t e_{t-1}]_c from its state Jacobian, and the
    paths the product leaves out, as products of their blocks. ``inputs``:
    ``"shared"`` (one x feeds every step) or ``"per step"`` (x_1 .. x_K).
    Returns a checked :class:`~symgrad.vecsteps.VectorMultiStep` (``evaluate(arrays)``
    gives its matrices; ``render``/``json`` print it). Raises ``ValueError``
    for K out of range, :class:`~symgrad.linear.VectorError` for a cell the
    vector reading cannot read.
    """
    if isinstance(cell, str):
        cell = get_cell(cell)
    check_step_count(steps, inputs)
    read_vector(cell)
    return build_steps(derive_vector(cell), derive_vector(cell, "state"), _algebra(cell), steps,
                       inputs)  # fmt: skip


@functools.cache
def _algebra(cell: Cell) -> Algebra:
    vcell = read_vector(cell)
    rules = {vcell.vector(k): vcell.vector(v) for k, v in gate_form_rules(cell).items()}
    return Algebra(vcell, rules)


@functools.lru_cache(maxsize=256)
def _derive_vector(cell: Cell, target: str, source: str, convention: bool) -> VectorDerivation:
    vcell, alg = read_vector(cell), _algebra(cell)
    s = cell.symbol(source)
    prevs = {prev_name(state) for state in cell.state}
    carries = {}
    if convention:
        carries = {p: vcell.vector(e) for p, e in one_step_carries(cell, source).items()}

    links: dict = {s: IDENTITY}
    steps: dict = {}
    for prev, expr in carries.items():
        step = alg.partial(expr, s)
        steps[prev] = ((s, step),)
        links[prev] = step
    needed = ancestors(cell, target)
    for eq in cell.equations:
        if eq.name not in needed:
            continue
        parts, chain = [], []
        for w in operands(cell, eq.rhs):
            if w in links:
                step = alg.partial(vcell.rhs[eq.symbol], w)
                if not step.is_zero:
                    chain.append((w, step))
                    parts.append(alg.compose(step, links[w]))
        link = alg.add(parts)
        if not link.is_zero:
            steps[eq.symbol] = tuple(chain)
            links[eq.symbol] = link

    scalar = _scalar_terms(cell, target, source, convention)
    rhs = vcell.rhs[cell.symbol(target)]
    terms = []
    for w in operands(cell, cell.equation(target).rhs):
        if w not in links:
            continue
        coefficient = alg.partial(rhs, w)
        operator = alg.compose(coefficient, links[w])
        if not operator.is_zero:
            direct = w == s and source in prevs  # a parameter has no carry term
            terms.append(_term(alg, vcell, w, coefficient, links[w], operator, direct, scalar))
    terms.sort(key=lambda t: not t.dominant)  # the direct (carry) term first, as in 1-D
    unchecked = VectorDerivation(
        cell,
        target,
        source,
        carries,
        tuple(terms),
        Check("none", False, "not checked yet"),
        {k: v for k, v in links.items() if k != s},
        steps,
        vcell,
    )
    return replace(unchecked, check=check_vector(unchecked))


def _scalar_terms(cell, target, source, convention) -> dict:
    """The scalar engine's terms of the same derivative, by operand."""
    try:
        if convention or source in cell.params:
            d = derive(cell, source, target)
        else:
            d = derive_entry(cell, target, source)
    except ValueError:
        return {}
    return {t.via: t for t in d.terms}


def _term(alg, vcell, w, coefficient, path, operator, dominant, scalar) -> VectorTerm:
    row, column, weight = sides(operator)
    row_gates, column_gates = alg.gates(row), alg.gates(column)
    one_d = scalar.get(w.name)
    lost: tuple = ()
    if one_d is not None:
        gates_1d = Counter(vcell.vector(g) for g in alg.gates(one_d.factors))
        lost = tuple((gates_1d - Counter(row_gates + column_gates)).elements())
    pairs = tuple(
        (a, b)
        for a in bases(row)
        for b in bases(column)
        if _values_read(a, alg.cell) & _values_read(b, alg.cell)
    )
    return VectorTerm(
        via=w.name,
        coefficient=coefficient,
        path=path,
        operator=operator,
        row_gates=row_gates,
        column_gates=column_gates,
        weight=weight,
        gate_count_1d=None if one_d is None else one_d.gate_count,
        pairs=pairs,
        lost=lost,
        dominant=dominant,
    )


def _values_read(expr, cell) -> set:
    """The values and previous-step values a factor reads (not inputs, not parameters)."""
    fixed = set(cell.params) | set(cell.inputs)
    return {s.name for s in expr.free_symbols if s.name not in fixed}


def _operator_symbols(chain: Chain) -> set:
    found = set()
    for f in chain.factors:
        if isinstance(f, Diag):
            for x in f.factors:
                found |= x.free_symbols
        elif isinstance(f, Weight):
            found.add(sympy.Symbol(f.name, real=True))
        elif isinstance(f, Kron):
            found |= f.vector.free_symbols
        else:
            for c in f.chains:
                found |= _operator_symbols(c)
    return found


def _names(vcell: VectorCell, carry: dict, symbols) -> tuple[str, ...]:
    """The inputs, parameters and previous-step values ``symbols`` are computed
    from (values through their equations, carried values through the convention)."""
    definitions = {**carry, **vcell.rhs}
    found, todo, seen = set(), list(symbols), set()
    while todo:
        sym = todo.pop()
        if sym in seen:
            continue
        seen.add(sym)
        if sym in definitions:
            todo += definitions[sym].free_symbols
        else:
            found.add(sym.name)
    return tuple(sorted(found))


# ---------------------------------------------------------------- the self-check


def check_vector(d: VectorDerivation) -> Check:
    """Check that the terms add up to the derivative of the raw forward pass.

    At the seeded random points of :mod:`symgrad.veccheck`, the sum of the
    terms (their NumPy values, the kernels of ``numeric()``) must equal the
    Jacobian of the vector forward pass by the complex step (central
    differences where the cell has relu or abs), which differentiates nothing
    symbolically and so shares no rule with the engine. Points outside a
    function's domain, or whose difference steps cross a kink, are left out.
    """
    import numpy as np

    from .vecnumeric import analytic, reference_jacobian

    vcell = d.vcell
    reads = _names(vcell, d.carry, {d.cell.symbol(d.target)})
    names = sorted({*reads, *d.free_names, d.source})
    arrays = check_arrays(vcell, names, lambda name: vcell.sizes.get(name) == "m")
    reference, usable = reference_jacobian(vcell, d.carry, d.target, d.source, arrays)
    with np.errstate(all="ignore"):
        if d.terms:
            total, _ = d.numeric()(**{n: arrays[n] for n in d.free_names})
        else:  # no path from source to target (a lower layer's entry): the sum is 0
            total = np.zeros_like(reference)
        error = relative(total, reference)
    return verdict(
        [error],
        usable,
        analytic(vcell),
        lambda worst, method: f"sum of terms = Jacobian of the forward pass by {method}",
    )
