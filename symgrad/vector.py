"""Derivatives in n dimensions: the one-step derivative in matrix form, in gate form.

Hidden size n, input size m, the vector reading of :mod:`symgrad.linear`:
h_t, c_t, x_t, gates and biases are vectors (x_t in R^m, the rest in R^n),
W_g is n x m and U_g is n x n; a product with a weight is a matrix-vector
product and every other product is elementwise. The engine is the chain rule
of :mod:`symgrad.derive` over the same equations of the same cell (a user's
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
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from functools import cached_property

import sympy

from .cells import Cell, get_cell, prev_name
from .derive import (
    CHECK_SEED,
    Check,
    ancestors,
    derive,
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
    VectorLatex,
    VectorText,
    Weight,
    read_vector,
    sides,
)
from .render import AsWritten, D, Line, Prod, Sum, latex_document

__all__ = [
    "CHECK_M",
    "CHECK_N",
    "CHECK_POINTS",
    "VectorDerivation",
    "VectorError",
    "VectorStateJacobian",
    "VectorTerm",
    "check_vector",
    "derive_vector",
]

#: The self-check's points: hidden size, input size, number (one batch), every
#: entry drawn uniformly from [-2, 2] with derive's seed.
CHECK_N = 3
CHECK_M = 2
CHECK_POINTS = 24
#: The complex step is exact to a few ulp and so is each term's float64 value
#: (a few dozen roundings): ~1e-14 relative to 1 + |J| at most; 1e-11 leaves 1000x.
CHECK_TOLERANCE_COMPLEX = 1e-11
#: Central differences with h = 2^-20: rounding ~EPS/h ~ 2e-10 and truncation
#: ~h^2 ~ 1e-12 relative to 1 + |J|; 1e-7 leaves 500x.
CHECK_TOLERANCE_CENTRAL = 1e-7


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
        return _render(self.document(values), fmt, self, standalone)

    def latex(self, standalone: bool = False) -> str:
        return self.render("latex", standalone)

    def text(self) -> str:
        return self.render("text")

    def document(self, values=None) -> list:
        return _derivation_document(self, values)

    def json(self, values=None) -> dict:
        """Per term: ``name``, ``latex``, ``text``, ``gate_count`` (with
        ``row_gates``, ``column_gates``, ``gate_count_1d``), ``dominant``,
        ``notes``; ``values`` (``numeric()``'s ``(J, terms)`` at one point)
        adds ``value`` per term and ``total_value``."""
        return _derivation_json(self, values)

    def _repr_latex_(self) -> str:
        p = _printer(self, "latex")
        lhs, rhs = p.item(D(self.target, self.source)), p.item(Sum(self.operators))
        return f"$$\\begin{{aligned}} {lhs} &= {rhs} \\end{{aligned}}$$"


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
        failed = [f"{d.label}: {d.check.detail}" for row in self.entries for d in row
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
        return _render(_jacobian_document(self), fmt, self.entries[0][0], standalone)

    def latex(self, standalone: bool = False) -> str:
        return self.render("latex", standalone)

    def text(self) -> str:
        return self.render("text")

    def json(self) -> dict:
        return {
            "cell": self.cell.name,
            "form": "matrix",
            "wrt": "state",
            "state": list(self.cell.state),
            "entries": [[_derivation_json(d) for d in row] for row in self.entries],
            "check": _check_json(self.check),
        }


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
    if wrt == "state":
        if of is not None:
            raise ValueError("of names one value; wrt='state' derives every state (drop one)")
        entries = tuple(
            tuple(_derive_vector(cell, t, prev_name(s), False) for s in cell.state)
            for t in cell.state
        )
        return VectorStateJacobian(cell, entries)
    source = wrt or cell.source
    target = of or cell.target
    prevs = [prev_name(s) for s in cell.state]
    if source not in prevs and source not in cell.params:
        raise ValueError(
            f"cannot differentiate with respect to {source!r}. Valid choices: "
            f"{', '.join([*prevs, 'state', *cell.params])}"
        )
    if target not in cell.values:
        raise ValueError(
            f"{target!r} is not a value of {cell.name}. Valid targets: {', '.join(cell.values)}"
        )
    return _derive_vector(cell, target, source, source in prevs)


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
    """The scalar engine's terms of the same derivative, by operand (none for a
    parameter source, which the scalar engine does not take)."""
    try:
        if convention:
            d = derive(cell, source, target)
        else:
            row = derive(cell, "state").entries[cell.state.index(target)]
            d = row[[prev_name(s) for s in cell.state].index(source)]
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
        for a in _bases(row)
        for b in _bases(column)
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


def _bases(factors) -> list:
    out = []
    for f in factors:
        base = f.base if f.is_Pow and f.exp.is_Integer and f.exp > 0 else f
        if base not in out:
            out.append(base)
    return out


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

    At :data:`CHECK_POINTS` seeded random points with n = :data:`CHECK_N` and
    m = :data:`CHECK_M` (every entry uniform in [-2, 2]), the sum of the
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
    rng = np.random.default_rng(CHECK_SEED)
    arrays = {}
    for name in names:
        cols = {"m": CHECK_M, "n": CHECK_N}.get(vcell.columns.get(name))
        size = CHECK_M if vcell.sizes.get(name) == "m" else CHECK_N
        shape = (CHECK_POINTS, CHECK_N, cols) if cols else (CHECK_POINTS, size)
        arrays[name] = rng.uniform(-2.0, 2.0, shape)
    reference, usable = reference_jacobian(vcell, d.carry, d.target, d.source, arrays)
    with np.errstate(all="ignore"):
        total, _ = d.numeric()(**{n: arrays[n] for n in d.free_names})
        axes = tuple(range(1, total.ndim))
        error = np.max(np.abs(total - reference), axis=axes)
        error = error / (1.0 + np.max(np.abs(reference), axis=axes))
    usable &= np.isfinite(error)
    complex_step = analytic(vcell)
    method = (
        "the complex step (h = 1e-20)"
        if complex_step
        else "central differences (h = 2^-20; points whose steps cross a kink left out)"
    )
    where = f"(seed {CHECK_SEED}, n = {CHECK_N}, m = {CHECK_M}, entries uniform in [-2, 2])"
    if not usable.any():
        return Check(
            "numeric",
            False,
            f"no point of {CHECK_POINTS} random points {where} lies in every function's domain",
            max_error=float("inf"),
        )
    worst = float(np.max(error[usable]))
    tolerance = CHECK_TOLERANCE_COMPLEX if complex_step else CHECK_TOLERANCE_CENTRAL
    return Check(
        "numeric",
        worst <= tolerance,
        f"sum of terms = Jacobian of the forward pass by {method} at "
        f"{int(usable.sum())} random points {where}: largest relative difference "
        f"{worst:.1e} (tolerance {tolerance:.0e})",
        max_error=worst,
    )


# ---------------------------------------------------------------- documents


class Raw:
    """Math given directly per format (LaTeX, text), for the notation paragraph."""

    def __init__(self, latex: str, text: str):
        self.latex, self.text = latex, text


def _printer(d: VectorDerivation, fmt: str):
    cls = VectorText if fmt == "text" else VectorLatex
    return cls(d.cell, _algebra(d.cell).ranges, d.vcell.columns)


def _gate_note(t: VectorTerm) -> str:
    n = t.gate_count
    note = f"{n} gate" + ("" if n == 1 else "s")
    if t.weight is not None:
        note += f": {len(t.row_gates)} row, {len(t.column_gates)} column"
    if t.gate_count_1d is not None and t.gate_count_1d != n:
        note += f"; 1-D: {t.gate_count_1d}"
    elif t.gate_count_1d is not None:
        note += "; as in 1-D"
    return f"dominant, {note}" if t.dominant else note


def _term_path(d, t):
    return t.coefficient if t.via == d.source else Prod((t.coefficient, D(t.via, d.source)))


def _listing(factors) -> list:
    parts = []
    for k, f in enumerate(factors):
        parts += ([", "] if k else []) + [f]
    return parts


def _weight_name(t: VectorTerm) -> list:
    """The weight a term's row and column factors are on either side of."""
    if isinstance(t.weight, Weight):
        return [t.weight]
    return ["its first weight"]


def term_notes(d: VectorDerivation, t: VectorTerm) -> list[list]:
    """What n dimensions change for a term: each note a list of prose (str) and math."""
    notes = []
    if t.row_gates and t.column_gates:
        notes.append(
            ["row gates ", *_listing(_bases(t.row_gates)), "; column gates ",
             *_listing(_bases(t.column_gates)), ": on opposite sides of ", *_weight_name(t),
             ", they no longer compound"]
        )  # fmt: skip
    for a, b in t.pairs:
        notes.append(
            [a, " (row) and ", b, " (column) read the same value: in 1-D they multiply one "
             "coordinate and bound each other, in n-D coordinate i of one meets coordinate "
             "j of the other, so they no longer pair"]
        )  # fmt: skip
    if t.lost:
        notes.append(
            ["gates of the 1-D term that are no diag factor here (they sit inside a sum "
             "with a weight): ", *_listing(_bases(t.lost))]
        )  # fmt: skip
    return notes


def _notation(d: VectorDerivation) -> list:
    cell, vcell = d.cell, d.vcell
    states = [cell.latex[s] for s in cell.state]
    m_cols = [w for w, k in vcell.columns.items() if k == "m"]
    n_cols = [w for w, k in vcell.columns.items() if k == "n"]
    rn, rm = Raw(r"\mathbf{R}^n", "R^n"), Raw(r"\mathbf{R}^m", "R^m")
    parts: list = ["Hidden size n, input size m. In ", rn, ": the states "]
    parts += _listing([Raw(s, s) for s in states])
    parts += [", every value (gates included), bias and elementwise parameter"]
    if cell.inputs:
        parts += ["; in ", rm, ": the input" + ("s " if len(cell.inputs) > 1 else " ")]
        parts += _listing([sympy.Symbol(x, real=True) for x in cell.inputs])
    for names, kind in ((m_cols, "n x m"), (n_cols, "n x n")):
        if names:
            parts += ["; " + kind + ": "]
            parts += _listing([Weight(w) for w in names])
    parts += [
        ". ",
        Raw(r"\odot", "⊙"),
        " is the elementwise product, ",
        Raw(r"\operatorname{diag}(v)", "diag(v)"),
        " the diagonal matrix of v; activations, 1 - v and squares act elementwise.",
    ]
    if d.source_kind:
        parts += [
            " The derivative with respect to a weight W is with respect to vec W (its "
            "columns stacked): ",
            Raw(r"d(W v) = (v^{\top} \otimes I_n)\, d \operatorname{vec} W", "d(W v) = "
                "(vᵀ ⊗ I_n) d vec W"),
            ".",
        ]  # fmt: skip
    return parts


def _derivation_document(d: VectorDerivation, values=None, head=True) -> list:
    cell, vcell = d.cell, d.vcell
    lhs = D(d.target, d.source)
    blocks = []
    if head:
        blocks += [
            ("title", f"{cell.name}: d{d.target}/d{d.source} in matrix form (hidden size n, "
                      "input size m), in gate form"),
            ("heading", "Notation"),
            ("para", _notation(d)),
            ("heading", "Cell"),
            ("lines", [Line(s, (AsWritten(e),)) for s, e in vcell.display.items()]),
        ]  # fmt: skip
    if d.carry and head:
        held = sorted({s.name for e in d.carry.values() for s in e.free_symbols} - {d.source})
        blocks += [
            ("heading", "Convention"),
            ("para", ["The previous step's closing equation is differentiated too, with ",
                      *_listing([sympy.Symbol(n, real=True) for n in held]),
                      " held fixed (the article's one-step convention):"]),
            ("lines", [Line(p, (e,)) for p, e in d.carry.items()]),
        ]  # fmt: skip
    blocks += [
        ("heading", "Chain rule"),
        ("lines", [Line(lhs, (Sum(tuple(_term_path(d, t) for t in d.terms)),))]),
    ]
    partials = []
    for v, chain in d.steps.items():
        if v.name == d.target:
            continue
        spelled = Sum(tuple(step if w.name == d.source else Prod((step, D(w.name, d.source)))
                            for w, step in chain))  # fmt: skip
        direct = len(chain) == 1 and chain[0][0].name == d.source
        rhs = (d.links[v],) if direct else (spelled, d.links[v])
        partials.append(Line(D(v.name, d.source), rhs))
    if partials:
        blocks += [("heading", "Partials in gate form"), ("lines", partials)]
    terms = [
        Line(t.operator, (), _gate_note(t))
        if t.via == d.source
        else Line(_term_path(d, t), (t.operator,), _gate_note(t))
        for t in d.terms
    ]
    none = f"None: {d.target} does not depend on {d.source} within one step."
    blocks += [
        ("heading", "Terms"),
        ("lines", terms) if terms else ("para", [none]),
        ("heading", "Sum"),
        ("lines", [Line(lhs, (Sum(d.operators),))]),
    ]
    notes = [(t, note) for t in d.terms for note in term_notes(d, t)]
    if notes:
        blocks += [
            ("heading", "Gates in n dimensions"),
            ("para", ["A gate is a diag factor with values in [0, 1]. Row gates stand left "
                      "of a term's first weight and scale its rows, column gates stand right "
                      "of it and scale its columns. In 1-D all the factors of a term multiply "
                      "one number, so its gates compound; in n-D a row gate a and a column "
                      "gate b multiply different coordinates: ",
                      Raw(r"\operatorname{diag}(a)\, U \operatorname{diag}(b)",
                          "diag(a) U diag(b)"),
                      " can have norm ",
                      Raw(r"\max_i a_i \max_j b_j \|U\|", "max_i a_i · max_j b_j · ‖U‖"),
                      " while every coordinatewise product ", Raw("a_i b_i", "a_i b_i"),
                      " is small."]),
        ]  # fmt: skip
        blocks += [("para", ["Term ", _term_path(d, t), ": ", *note, "."]) for t, note in notes]
    if head:
        blocks += [("heading", "Check"), ("para", [f"{d.check.method}: {d.check.detail}."])]
    if values is not None:
        total, per_term = values
        blocks += [
            ("heading", "Value"),
            ("para", [f"{d.label} = {_matrix_text(total)}"]),
        ]
        blocks += [("para", [t.via + ": " + _matrix_text(v)])
                   for t, v in zip(d.terms, per_term, strict=True)]  # fmt: skip
    return blocks


def _matrix_text(a) -> str:
    import numpy as np

    return np.array2string(np.asarray(a), precision=6, separator=", ", max_line_width=1000)


def _jacobian_document(j: VectorStateJacobian) -> list:
    first = j.entries[0][0]
    names = ", ".join(j.cell.state)
    blocks = [
        ("title", f"{j.cell.name}: exact one-step state Jacobian of ({names}) in matrix form"),
        ("heading", "Notation"),
        ("para", _notation(first)),
        ("heading", "Cell"),
        ("lines", [Line(s, (AsWritten(e),)) for s, e in first.vcell.display.items()]),
        ("para", ["Each entry is an n x n block and holds the other previous-step states "
                  "fixed; no one-step convention is applied."]),
    ]  # fmt: skip
    for row in j.entries:
        for d in row:
            blocks.append(("heading", f"d{d.target}/d{d.source}"))
            blocks += _derivation_document(d, head=False)
    blocks += [("heading", "Check"), ("para", [f"{j.check.method}: {j.check.detail}."])]
    return blocks


# ---------------------------------------------------------------- formats


_TEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "^": r"\textasciicircum{}",
    "~": r"\textasciitilde{}",
    **{c: "\\" + c for c in "_%&#${}"},
}


def _tex_special(match) -> str:
    return _TEX_SPECIAL[match.group()]


def _tex_escape(text: str) -> str:
    """Prose for LaTeX's text mode: every special character printed as itself."""
    return re.sub(r"[\\^~_%&#${}]", _tex_special, text)


def _inline(part, printer, fmt) -> str:
    if isinstance(part, str):
        return _tex_escape(part) if fmt == "latex" else part
    if isinstance(part, Raw):
        math = part.text if fmt == "text" else part.latex
    else:
        math = printer.item(part)
    return math if fmt == "text" else f"${math}$"


def _aligned(printer, line) -> str:
    lhs = printer.item(line.lhs)
    if not line.rhs:
        return f"& {lhs}"
    return lhs + " &= " + " \\\\\n  &= ".join(printer.item(r) for r in line.rhs)


def _render(blocks, fmt: str, d: VectorDerivation, standalone: bool = False) -> str:
    if fmt not in ("latex", "text", "markdown"):
        raise ValueError(f"unknown format {fmt!r}. Valid formats: latex, text, markdown, json")
    printer = _printer(d, fmt)
    out = []
    for kind, content in blocks:
        if kind == "title":
            out += {"latex": [f"% {content}"], "text": [content, "=" * len(content)],
                    "markdown": [f"## {content}\n"]}[fmt]  # fmt: skip
        elif kind == "heading":
            out.append({"latex": rf"\paragraph{{{_tex_escape(content)}.}}",
                        "text": f"\n{content}", "markdown": f"**{content}.**\n"}[fmt])  # fmt: skip
        elif kind == "para":
            text = "".join(_inline(p, printer, fmt) for p in content)
            out.append(text + ("\n" if fmt == "markdown" else ""))
        elif fmt == "text":
            for line in content:
                text = "  " + printer.item(line.lhs)
                text += "".join(" = " + printer.item(r) for r in line.rhs)
                out.append(text + (f"    [{line.note}]" if line.note else ""))
        else:
            rows = []
            for line in content:
                note = f" && \\text{{{_tex_escape(line.note)}}}" if line.note else ""
                rows.append(f"  {_aligned(printer, line)}{note}")
            body = " \\\\\n".join(rows)
            out.append(
                f"\\begin{{align*}}\n{body}\n\\end{{align*}}"
                if fmt == "latex"
                else f"$$\n\\begin{{aligned}}\n{body}\n\\end{{aligned}}\n$$\n"
            )
    text = "\n".join(out) + "\n"
    return latex_document(text) if fmt == "latex" and standalone else text


def _check_json(check: Check) -> dict:
    return {"method": check.method, "passed": check.passed, "detail": check.detail}


def _derivation_json(d: VectorDerivation, values=None) -> dict:
    latex, text = _printer(d, "latex"), _printer(d, "text")
    per_term = values[1] if values is not None else [None] * len(d.terms)
    terms = []
    for t, v in zip(d.terms, per_term, strict=True):
        entry = {
            "name": t.via,
            "path": latex.item(_term_path(d, t)),
            "latex": latex.item(t.operator),
            "text": text.item(t.operator),
            "gate_count": t.gate_count,
            "row_gates": [latex.doprint(g) for g in t.row_gates],
            "column_gates": [latex.doprint(g) for g in t.column_gates],
            "gate_count_1d": t.gate_count_1d,
            "dominant": t.dominant,
            "notes": ["".join(_inline(p, text, "text") for p in n) for n in term_notes(d, t)],
        }
        if v is not None:
            entry["value"] = _as_lists(v)
        terms.append(entry)
    out = {
        "cell": d.cell.name,
        "form": "matrix",
        "target": d.target,
        "source": d.source,
        "derivative": latex.item(D(d.target, d.source)),
        "convention": {p.name: latex.doprint(e) for p, e in d.carry.items()},
        "terms": terms,
        "total_latex": latex.item(Sum(d.operators)),
        "total_text": text.item(Sum(d.operators)),
        "check": _check_json(d.check),
    }
    if values is not None:
        out["total_value"] = _as_lists(values[0])
    return out


def _as_lists(a):
    import numpy as np

    return np.asarray(a, dtype=float).tolist()
