"""The exact K-step derivative beside the article's product of one-step derivatives.

The article differentiates one step: for the LSTM,
:math:`A_t = \\partial c_t/\\partial c_{t-1}` through
:math:`h_{t-1} = o_{t-1}\\tanh c_{t-1}` with :math:`o_{t-1}` held fixed, and
treats :math:`\\prod_k A_{t+k}` as the K-step derivative. The true state is
:math:`s = (c, h)`; the exact derivative is the product of the exact state
Jacobians applied to the convention's tangent
:math:`\\tilde e_{t-1} = d s_{t-1}/d c_{t-1}` (with :math:`o_{t-1}` fixed):

.. math::  \\frac{d c_{t+K-1}}{d c_{t-1}} =
           \\big[J_{t+K-1} \\cdots J_t\\, \\tilde e_{t-1}\\big]_c .

Writing the exact tangent of step k as :math:`v_k = a_k \\tilde e_k + \\delta_k`
(:math:`a_k` its source component, :math:`\\tilde e_k` the convention's
tangent at step k), one step on gives :math:`a_{k+1} = A_{t+k+1} a_k +
[J_{t+k+1} \\delta_k]_c`, so

.. math::  \\frac{d c_{t+K-1}}{d c_{t-1}} = \\prod_{k} A_{t+k}
           + \\sum_{k=0}^{K-2} \\Big(\\prod_{j=k+2}^{K-1} A_{t+j}\\Big)
             \\big[J_{t+k+1}\\,\\delta_k\\big]_c ,

each sum term a path the product leaves out: :math:`\\delta_k` is the change of
the carried value (:math:`h_{t+k}`) through the value the convention holds
fixed (:math:`o_{t+k}`), :math:`\\delta_k = (\\partial h_{t+k}/\\partial o_{t+k})
\\, d o_{t+k}/d c_{t-1}`. For K = 2 that is the path
:math:`c_{t-1} \\to h_{t-1} \\to o_t \\to h_t \\to c_{t+1}`, with the factor
:math:`D_{t+1} = \\partial c_{t+1}/\\partial h_t`.

Everything is built from the engine's own derivatives (the convention's
derivation, the state Jacobian, the partials of the held values), with the
values of step t + k as symbols of their own; nothing is typed by hand. The
result checks itself against mpmath's derivative of the unrolled K-step
forward pass at seeded points.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, replace

import mpmath
import sympy

from .cells import Cell, get_cell, prev_name
from .derivation import (
    Check,
    Derivation,
    derive,
    derive_entry,
    gate_form,
    numeric_check,
    partial,
)
from .primitives import MPMATH, evaluate
from .ranges import value_ranges

__all__ = [
    "MAX_STEPS",
    "MissedPath",
    "MultiStep",
    "derive_steps",
    "step_latex",
    "step_names",
    "step_ranges",
    "step_shift",
    "step_symbol",
]

#: Steps the symbolic product is built for (the exact derivative has up to
#: 2^K paths; K = 8 is already a page).
MAX_STEPS = 8
#: Points of the self-check (half the one-step engine's: each unrolls K steps;
#: its digits, seed and tolerance are the engine's).
CHECK_POINTS = 12


@dataclass(frozen=True)
class MissedPath:
    """A path the article's product leaves out, at step t + ``step``:
    ``expr`` = (the article's factors of the later steps) x ``entry`` x ``delta``.

    ``entry`` = d(source state at step t+k+1)/d(``state`` at step t+k), an entry
    of the exact state Jacobian (the LSTM's D_{t+1} = dc_{t+1}/dh_t);
    ``delta``: the change of ``state`` at step t+k through ``held`` (the values
    the convention holds fixed: o for the LSTM; the state itself where the
    convention holds a whole state fixed), which the convention's tangent
    leaves out. Names are step symbols' (``"h@0"``: h_t).
    """

    step: int
    state: str
    held: tuple
    later: tuple
    entry: sympy.Expr
    delta: sympy.Expr
    expr: sympy.Expr


@dataclass(frozen=True)
class MultiStep:
    """d target_{t+K-1} / d source_{t-1} over ``steps`` = K steps.

    ``one_step``: the article's one-step :class:`~symgrad.derivation.Derivation`;
    ``factors``: its total at steps t, ..., t+K-1 (the article's :math:`A`);
    ``product``: their product; ``exact``: the exact derivative; ``paths``: the
    :class:`MissedPath` s with exact = product + their sum; ``names``: the
    LaTeX of every step symbol; ``ranges``: their value ranges; ``inputs``:
    "shared" (one x feeds every step) or "per step" (x_1 .. x_K).
    """

    cell: Cell
    steps: int
    one_step: Derivation
    factors: tuple
    product: sympy.Expr
    exact: sympy.Expr
    paths: tuple
    names: dict
    ranges: dict
    inputs: str
    check: Check

    @property
    def target(self) -> str:
        return self.one_step.target

    def __repr__(self) -> str:
        return (
            f"<MultiStep {self.cell.name}: d{self.target} over {self.steps} steps / "
            f"d{self.source}, {len(self.paths)} missed paths, inputs {self.inputs}, "
            f"check {self.check.method}{'' if self.check.passed else ' FAILED'}>"
        )

    def _repr_markdown_(self) -> str:
        from .documents import notebook

        return notebook(self, "markdown")

    def _repr_latex_(self) -> str:
        from .documents import notebook

        return notebook(self, "mathjax")

    @property
    def source(self) -> str:
        return self.one_step.source

    @functools.cached_property
    def free_names(self) -> tuple:
        """Names a point must give: the parameters, the inputs (x, or x_1 .. x_K),
        the previous-step values the equations read, except those the
        convention computes (the LSTM's h_{t-1} = o_{t-1} tanh c_{t-1}), and
        the values the convention holds fixed (o_{t-1})."""
        cell, carry = self.cell, self.one_step.carry
        read = set().union(*(eq.rhs.free_symbols for eq in cell.equations))
        names = {s.name for s in read} - set(cell.values) - set(cell.inputs)
        names -= {p.name for p in carry}
        names |= {s.name for e in carry.values() for s in e.free_symbols}
        return tuple(sorted(names | set(_inputs(cell, self.steps, self.inputs))))

    def evaluate(self, point: dict, digits: int = 30) -> dict:
        """``exact``, ``product``, ``gap`` (exact - product) and ``paths`` (a
        list) at ``point`` (names -> numbers; any name of the cell may be given,
        those not needed are ignored), to ``digits`` digits. Raises
        ``ValueError`` for a missing or unknown name, and
        :class:`~symgrad.primitives.DomainError` outside a function's domain."""
        known = set(self.free_names) | set(self.cell.latex)
        unknown = sorted(set(point) - known)
        missing = sorted(set(self.free_names) - set(point))
        if missing or unknown:
            problems = [f"missing values for {', '.join(missing)}"] if missing else []
            problems += [f"unknown names {', '.join(unknown)}"] if unknown else []
            raise ValueError(
                "; ".join(problems) + f" (this derivative needs: {', '.join(self.free_names)})"
            )
        exact_point = {n: sympy.Rational(point[n]) for n in self.free_names}
        with mpmath.workdps(digits + 20):
            env = forward(self, {self.cell.symbol(n): _mpf(q) for n, q in exact_point.items()})
            exact = evaluate(self.exact, env, MPMATH)
            product = evaluate(self.product, env, MPMATH)
            paths = [evaluate(p.expr, env, MPMATH) for p in self.paths]
            return {
                "exact": sympy.Float(exact, digits),
                "product": sympy.Float(product, digits),
                "gap": sympy.Float(exact - product, digits),
                "paths": [sympy.Float(p, digits) for p in paths],
            }


def _mpf(q: sympy.Rational):
    return mpmath.mpf(int(q.p)) / int(q.q)


# ---------------------------------------------------------------- step symbols


def step_symbol(name: str, k: int) -> sympy.Symbol:
    """The value ``name`` of step t + ``k`` (k >= 0) as a symbol of its own."""
    return sympy.Symbol(f"{name}@{k}", real=True)


def step_latex(latex: str, k: int) -> str:
    """A value's LaTeX moved to step t + k: ``f_t`` -> ``f_{t+1}``, ``\\hat{c}_t``
    -> ``\\hat{c}_{t+2}``, ``h_{1,t}`` -> ``h_{1,t+1}``; k = 0 leaves it."""
    if k == 0:
        return latex
    index = f"t+{k}" if k > 0 else f"t{k}"
    out = re.sub(r"_(?:t|\{t\})$", f"_{{{index}}}", latex)
    return re.sub(r",t\}$", f",{index}}}", out)


def step_shift(cell: Cell, k: int, inputs: str) -> dict:
    """Step-t symbols -> step t+k symbols (:func:`step_symbol`): the values, the
    previous values (of step t+k-1; those of step t stay ``*_prev``) and, with
    ``inputs`` = ``"per step"``, the inputs (x -> x_{k+1}); an ``xreplace``
    mapping."""
    out = {}
    for v in cell.values:
        out[cell.symbol(v)] = step_symbol(v, k)
        if k > 0:
            out[cell.symbol(prev_name(v))] = step_symbol(v, k - 1)
    if inputs == "per step":
        for x in cell.inputs:
            out[cell.symbol(x)] = cell.symbol(f"{x}_{k + 1}")
    return out


def _inputs(cell: Cell, steps: int, inputs: str) -> list:
    if inputs == "per step":
        return [f"{x}_{k + 1}" for x in cell.inputs for k in range(steps)]
    return list(cell.inputs)


# ---------------------------------------------------------------- the derivation


def derive_steps(cell: Cell | str, steps: int, inputs: str = "shared") -> MultiStep:
    """The exact ``steps``-step derivative of ``cell``'s article target, the
    article's product of one-step derivatives, and the paths between them.

    ``steps``: K from 1 to :data:`MAX_STEPS`. ``inputs``: ``"shared"`` (one x
    feeds every step) or ``"per step"`` (x_1, ..., x_K). Parameters are shared
    by every step. Raises ``ValueError`` for K out of range.
    """
    if isinstance(cell, str):
        cell = get_cell(cell)
    if not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS:
        raise ValueError(f"steps must be an integer from 1 to {MAX_STEPS}, not {steps!r}")
    if inputs not in ("shared", "per step"):
        raise ValueError(f"inputs must be 'shared' or 'per step', not {inputs!r}")
    return _derive_steps(cell, steps, inputs)


@functools.lru_cache(maxsize=64)
def _derive_steps(cell: Cell, steps: int, inputs: str) -> MultiStep:
    d = derive(cell)
    states = cell.state
    src = states.index(d.source.removesuffix("_prev"))
    source = cell.symbol(d.source)
    jacobian = [[derive_entry(cell, t, prev_name(s)).total for s in states] for t in states]
    # The convention's tangent d s_{t-1}/d source: 1 for the source, the carried
    # values through their closing equations, 0 for the states held fixed.
    tangent = []
    for s in states:
        prev = cell.symbol(prev_name(s))
        if prev == source:
            tangent.append(sympy.Integer(1))
        elif prev in d.carry:
            tangent.append(gate_form(cell, partial(d.carry[prev], source)))
        else:
            tangent.append(sympy.Integer(0))
    shifts = [step_shift(cell, k, inputs) for k in range(steps)]
    factors = tuple(d.total.xreplace(shifts[k]) for k in range(steps))
    vector = list(tangent)  # v_{-1}: the convention's tangent at step t - 1
    paths = []
    for k in range(steps):
        previous = vector
        vector = [
            sympy.Add(
                *(jacobian[i][j].xreplace(shifts[k]) * previous[j] for j in range(len(states)))
            )
            for i in range(len(states))
        ]
        if k == steps - 1:
            break
        after = sympy.Mul(*factors[k + 2 :])
        for i in range(len(states)):
            if i == src:
                continue
            delta = _delta(cell, d, i, k, shifts, previous, vector)
            if delta == 0:
                continue
            entry = jacobian[src][i].xreplace(shifts[k + 1])
            paths.append(
                MissedPath(
                    step=k,
                    state=states[i],
                    held=_held(cell, d, i),
                    later=tuple(range(k + 2, steps)),
                    entry=entry,
                    delta=delta,
                    expr=sympy.Mul(after, entry, delta),
                )
            )
    unchecked = MultiStep(
        cell=cell,
        steps=steps,
        one_step=d,
        factors=factors,
        product=sympy.Mul(*factors),
        exact=vector[src],
        paths=tuple(paths),
        names=step_names(cell, steps, inputs),
        ranges=step_ranges(cell, steps),
        inputs=inputs,
        check=Check("none", False, "not checked yet"),
    )
    return replace(unchecked, check=_self_check(unchecked))


def _held(cell: Cell, d: Derivation, i: int) -> tuple:
    """The values a missed path through state i goes through: those its closing
    equation reads besides the source (o for the LSTM's h), or the state itself
    where the convention holds it fixed."""
    prev = cell.symbol(prev_name(cell.state[i]))
    if prev in d.carry:
        held = {s.name.removesuffix("_prev") for s in d.carry[prev].free_symbols}
        return tuple(sorted(held - {d.source.removesuffix("_prev")}))
    return (cell.state[i],)


def _delta(cell: Cell, d: Derivation, i: int, k: int, shifts, previous, vector):
    """The part of state i's exact tangent at step t + k that the convention's
    tangent misses: through each held value w, (d state_i/d w)(d w/d source),
    d w/d source from the exact tangent of the step before (``previous``); for a
    state the convention holds fixed, its whole exact tangent (``vector[i]``)."""
    state = cell.state[i]
    prev = cell.symbol(prev_name(state))
    if prev not in d.carry:
        return vector[i]
    closing = cell.equation(state).rhs
    out = []
    for w in _held(cell, d, i):
        outer = gate_form(cell, partial(closing, cell.symbol(w))).xreplace(shifts[k])
        inner = sympy.Add(
            *(
                derive_entry(cell, w, prev_name(s)).total.xreplace(shifts[k]) * previous[j]
                for j, s in enumerate(cell.state)
            )
        )
        out.append(outer * inner)
    return sympy.Add(*out)


def step_names(cell: Cell, steps: int, inputs: str) -> dict:
    """ASCII name -> LaTeX of every symbol the K-step expressions use."""
    names = dict(cell.latex)
    for k in range(steps):
        for v in cell.values:
            names[step_symbol(v, k).name] = step_latex(cell.latex[v], k)
    if inputs == "per step":
        for x in cell.inputs:
            for k in range(steps):
                names[f"{x}_{k + 1}"] = step_latex(cell.latex[x], k)
    return names


def step_ranges(cell: Cell, steps: int) -> dict:
    """The value ranges of the step symbols: those of the values they are."""
    ranges = dict(value_ranges(cell))
    for k in range(steps):
        for v in cell.values:
            ranges[step_symbol(v, k)] = ranges[cell.symbol(v)]
    return ranges


# ---------------------------------------------------------------- evaluation and check


def forward(ms: MultiStep, env: dict) -> dict:
    """``env`` (symbols of :attr:`MultiStep.free_names` -> mpf) with the values
    of every step added: the convention's carried values at step t - 1, then the
    cell's equations at steps t, ..., t + K - 1."""
    cell, d = ms.cell, ms.one_step
    env = dict(env)
    for prev, expr in d.carry.items():
        env[prev] = evaluate(expr, env, MPMATH)
    for k in range(ms.steps):
        shift = step_shift(cell, k, ms.inputs)
        for eq in cell.equations:
            env[step_symbol(eq.name, k)] = evaluate(eq.rhs.xreplace(shift), env, MPMATH)
    return env


def _self_check(ms: MultiStep) -> Check:
    """The exact derivative against mpmath's derivative of the unrolled K-step
    forward pass, and exact = product + the missed paths, at seeded points."""
    cell = ms.cell
    source = cell.symbol(ms.source)
    target = step_symbol(ms.target, ms.steps - 1)
    names = [cell.symbol(n) for n in ms.free_names]

    def difference(point):
        env = forward(ms, point)
        exact = evaluate(ms.exact, env, MPMATH)
        split = evaluate(ms.product, env, MPMATH) + mpmath.fsum(
            evaluate(p.expr, env, MPMATH) for p in ms.paths
        )
        reference = mpmath.diff(_unrolled(ms, point, source, target), point[source])
        scale = 1 + abs(reference)
        return max(float(abs(exact - reference) / scale), float(abs(split - exact) / scale))

    return numeric_check(
        names,
        difference,
        f"the exact derivative = mpmath's derivative of the unrolled {ms.steps}-step forward "
        "pass, and = the product + the missed paths",
        points=CHECK_POINTS,
    )


def _unrolled(ms: MultiStep, point: dict, source, target):
    """The target after K steps as a function of the source alone."""

    def value(s):
        return forward(ms, {**point, source: s})[target]

    return value
