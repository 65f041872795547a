"""Value ranges of a cell, and the article's "gates": factors that lie in [0, 1].

Every value of a cell and of its previous step gets an interval from its
equation (gates in [0, 1], candidates in [-1, 1], a convex combination of
two values between them), and the states are tried against the invariant
[-1, 1] by induction. A factor of a derivative is a *gate* when its interval
lies in [0, 1]: :math:`f_t`, :math:`1 - f_t`, :math:`o_{t-1}`,
:math:`1 - \\tanh^2 c_{t-1}`. The gate count of a term, the order factors are
printed in, and the distribution previous-step values are sampled from all
come from here.
"""

from __future__ import annotations

import functools
import math
from types import MappingProxyType

import sympy

from .cells import Cell, prev_name
from .primitives import primitive_of, relu

__all__ = ["count_gates", "factor_rank", "interval", "is_gate", "value_ranges"]


@functools.cache
def value_ranges(cell: Cell) -> dict:
    """An interval enclosing every value of the cell and of its previous step.

    Each value's interval comes from its equation. A state whose interval is
    unbounded is tried against the invariant [-1, 1] by induction: if
    s_{t-1} in [-1, 1] forces s_t in [-1, 1], every step stays there from
    s_0 = 0 (the GRU's convex combination of h_{t-1} and a tanh). Returns
    symbol -> (lo, hi); keys are the values and their ``_prev`` symbols.
    Computed once per cell: a read-only mapping.
    """
    assumed: dict = {}
    ranges = _value_ranges(cell, assumed)
    for state in cell.state:
        if ranges[cell.symbol(state)] == _UNBOUNDED:
            trial = _value_ranges(cell, {**assumed, state: (-1.0, 1.0)})
            lo, hi = trial[cell.symbol(state)]
            if lo >= -1.0 and hi <= 1.0:
                assumed[state] = (-1.0, 1.0)
    return MappingProxyType(_value_ranges(cell, assumed))


def _value_ranges(cell: Cell, assumed: dict) -> dict:
    ranges: dict = {cell.symbol(prev_name(s)): r for s, r in assumed.items()}
    for eq in cell.equations:
        ranges[eq.symbol] = interval(eq.rhs, ranges)
    for eq in cell.equations:
        prev = cell.symbol(prev_name(eq.name))
        ranges[prev] = assumed.get(eq.name, ranges[eq.symbol])
    return ranges


_UNBOUNDED = (-math.inf, math.inf)


def interval(expr, ranges) -> tuple[float, float] | None:
    """A crude enclosure of ``expr`` given ``ranges`` (symbol -> (lo, hi), as
    :func:`value_ranges` returns); None for an indicator, never a compressing gate."""
    if expr.is_Number:
        return (float(expr), float(expr))
    if expr.is_Symbol:
        return ranges.get(expr, _UNBOUNDED)
    if isinstance(expr, sympy.Heaviside):
        return None
    p = primitive_of(expr)
    if p is not None and math.isfinite(p.range[0]) and math.isfinite(p.range[1]):
        return p.range  # a bounded activation: sigmoid in [0, 1], tanh in [-1, 1]
    if isinstance(expr, relu):
        inner = interval(expr.args[0], ranges) or _UNBOUNDED
        return (max(0.0, inner[0]), max(0.0, inner[1]))
    if expr.is_Add and len(expr.args) == 2:
        hull = _convex_combination(expr, ranges)
        if hull is not None:
            return hull
    if expr.is_Add or expr.is_Mul:
        parts = [interval(a, ranges) for a in expr.args]
        if any(p is None for p in parts):
            return _UNBOUNDED
        lo, hi = parts[0]
        for plo, phi in parts[1:]:
            if expr.is_Add:
                lo, hi = lo + plo, hi + phi
            else:
                products = [a * b for a in (lo, hi) for b in (plo, phi)]
                if any(math.isnan(p) for p in products):
                    return _UNBOUNDED
                lo, hi = min(products), max(products)
        return (lo, hi)
    if expr.is_Pow and expr.exp.is_Integer and expr.exp > 0:
        base = interval(expr.base, ranges)
        if base is None:
            return _UNBOUNDED
        n = int(expr.exp)
        lo, hi = base[0] ** n, base[1] ** n
        if n % 2 == 0 and base[0] < 0 < base[1]:
            return (0.0, max(lo, hi))
        return (min(lo, hi), max(lo, hi))
    return _UNBOUNDED


def _convex_combination(expr, ranges):
    """(1 - g) a + g b with g in [0, 1] lies between a and b: the hull of both."""
    for first, second in (expr.args, expr.args[::-1]):
        a_factors, b_factors = sympy.Mul.make_args(first), sympy.Mul.make_args(second)
        for g in b_factors:
            if (1 - g) in a_factors and is_gate(g, ranges):
                a = interval(sympy.Mul(*(f for f in a_factors if f != 1 - g)), ranges)
                b = interval(sympy.Mul(*(f for f in b_factors if f != g)), ranges)
                if a is not None and b is not None:
                    return (min(a[0], b[0]), max(a[1], b[1]))
    return None


def count_gates(expr, ranges: dict) -> int:
    """Factors of ``expr`` whose value lies in [0, 1] (with multiplicity), constants aside.

    These are the article's "gates": :math:`f_t`, :math:`1 - f_t`,
    :math:`o_{t-1}`, :math:`1 - \\tanh^2 c_{t-1}`, :math:`1 - \\hat c_t^2`.
    """
    count = 0
    for factor in sympy.Mul.make_args(expr):
        power = 1
        if factor.is_Pow and factor.exp.is_Integer and factor.exp > 0:
            factor, power = factor.base, int(factor.exp)
        if not factor.is_Number and is_gate(factor, ranges):
            count += power
    return count


def factor_rank(factor, ranges, cell) -> int:
    """Where a factor goes in a printed product: 0 numbers, 1 gates, 2 other, 3 parameters."""
    if factor.is_Number:
        return 0
    if factor.is_Symbol and factor.name in cell.params:
        return 3
    return 1 if is_gate(factor, ranges) else 2


def is_gate(factor, ranges) -> bool:
    """``factor``'s value lies in [0, 1] whatever the cell's values (a gate,
    1 - gate, 1 - tanh^2 ...; never relu's indicator, which is not a gate)."""
    enclosure = interval(factor, ranges)
    return enclosure is not None and enclosure[0] >= 0.0 and enclosure[1] <= 1.0
