r"""The K-step derivative in n dimensions: the article's product beside the exact one.

The matrix-form counterpart of :mod:`symgrad.multistep`. The article's
one-step derivative :math:`A_t` (for the LSTM :math:`\partial c_t/\partial
c_{t-1}` through :math:`h_{t-1} = o_{t-1} \odot \tanh c_{t-1}`, o_{t-1} held
fixed) is an n x n matrix, and its K-step derivative the product
:math:`P = A_{t+K-1} \cdots A_t`, later steps on the left. The exact
derivative is the product of the exact state Jacobians (blocks of n x n)
applied to the convention's tangent :math:`e_{t-1} = d s_{t-1}/d c_{t-1}`
(I on c; :math:`\operatorname{diag}(o_{t-1} \odot (1 - \tanh^2 c_{t-1}))` on h):

.. math::  \frac{d c_{t+K-1}}{d c_{t-1}} =
           \big[J_{t+K-1} \cdots J_t\, e_{t-1}\big]_c .

With :math:`v_k = d s_{t+k}/d c_{t-1}` the exact tangent of step t + k (an
(s n) x n block column), :math:`a_k` its source block and :math:`e_k` the
convention's tangent of step k, write :math:`v_k = e_k a_k + \delta_k`; one
step on, :math:`a_{k+1} = A_{t+k+1} a_k + [J_{t+k+1} \delta_k]_c`, so

.. math::  \frac{d c_{t+K-1}}{d c_{t-1}} = P
           + \sum_{k=0}^{K-2} A_{t+K-1} \cdots A_{t+k+2}\,
             \big[J_{t+k+1}\,\delta_k\big]_c ,

each summand a path the product leaves out, through the value the convention
holds fixed: :math:`\delta_k = \operatorname{diag}(\tanh c_{t+k})\,
d o_{t+k}/d c_{t-1}` for the LSTM, and for K = 2 the path is
:math:`\partial c_{t+1}/\partial h_t\, \delta_t`. In n dimensions
:math:`d o_{t+k}/d c_{t-1}` reads the exact tangent :math:`v_{k-1}`, a
product of k state Jacobians; it is named, not expanded (for k = 0 it is the
convention's tangent, and :math:`\delta_t` is one explicit matrix).

Everything is the vector engine's own derivatives (:mod:`symgrad.vector`:
the article's terms, the state Jacobian's entries and their path
derivatives) with the values of step t + k as symbols of their own
(:func:`symgrad.multistep.step_shift`); nothing is typed by hand. Every
result checks itself numerically (:func:`check_steps`).

SymPy only at import; NumPy is imported by the evaluation and the check.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace

from .cells import Cell, prev_name
from .derivation import Check
from .linear import IDENTITY, Algebra, Chain, Diag, Paren, Weight, substitute
from .multistep import MAX_STEPS, step_names, step_ranges, step_shift, step_symbol
from .text import scientific_math
from .veccheck import check_arrays, relative, verdict

__all__ = [
    "VectorMissedPath",
    "VectorMultiStep",
    "build_steps",
    "check_step_count",
    "check_steps",
    "gate_segments",
]


@dataclass(frozen=True)
class VectorMissedPath:
    """A path the article's product leaves out, leaving the convention at step t + ``step``.

    ``state``: the state s_i whose change :math:`\\delta` the product misses
    (the LSTM's h); ``held``: the values the convention holds fixed that the
    path goes through (o), or the state itself where the convention holds it
    fixed; ``later``: the steps whose article factors A stand left of it.
    ``entry``: the terms of :math:`\\partial s_{src,t+k+1}/\\partial s_{i,t+k}`,
    the state Jacobian's entry at step t + k + 1, as ``(coefficient, via,
    operator)`` (``via``: the step name of the value the term goes through,
    None for the direct term); ``delta``: ``((chain, tangent), ...)`` with
    :math:`\\delta = \\sum` chain times the exact tangent ``tangent`` = (j, m),
    :math:`d s_{j,t+m}/d\\, source_{t-1}`, or times nothing (``tangent`` None:
    the chain is the whole matrix, the convention's tangent composed in).
    ``gates``: per entry term, its product with an explicit
    :math:`\\delta` (:class:`~symgrad.linear.Chain`) and :func:`gate_segments`
    of it; empty where :math:`\\delta` reads a named tangent or a sum.
    """

    step: int
    state: str
    held: tuple
    later: tuple
    entry: tuple
    delta: tuple
    gates: tuple

    @property
    def tangents(self) -> tuple:
        return tuple(t for _, t in self.delta if t is not None)


@dataclass(frozen=True, eq=False)
class VectorMultiStep:
    """d target_{t+K-1}/d source_{t-1} over ``steps`` = K steps, in matrix form.

    ``one_step``: the article's one-step
    :class:`~symgrad.vector.VectorDerivation` (A_t); ``jacobian``: the exact
    one-step :class:`~symgrad.vector.VectorStateJacobian` (J_t);
    ``factors[k]``: the article's terms at step t + k (A_{t+k}, linear maps);
    ``blocks[k][i][j]``: the terms of the state Jacobian's entry (i, j) at
    step t + k; ``tangent``: the convention's tangent e_{t-1}, a linear map per
    state (None: 0); ``paths``: the :class:`VectorMissedPath` s, exact =
    product + their sum; ``tangents``: the exact tangents (j, m) the paths
    read, :math:`d s_{j,t+m}/d\\,source_{t-1}` = the rows of state j of
    :math:`J_{t+m} \\cdots J_t e_{t-1}`; ``definitions``: every value of every
    step as a vector expression (the convention's carry too); ``names``,
    ``ranges``: the LaTeX and value ranges of the step symbols; ``inputs``:
    "shared" (one x feeds every step) or "per step" (x_1 .. x_K).
    """

    cell: Cell
    steps: int
    inputs: str
    one_step: object
    jacobian: object
    factors: tuple
    blocks: tuple
    tangent: tuple
    paths: tuple
    tangents: tuple
    names: dict = field(repr=False)
    ranges: dict = field(repr=False)
    definitions: dict = field(repr=False)
    check: Check

    @property
    def target(self) -> str:
        return self.one_step.target

    @property
    def source(self) -> str:
        return self.one_step.source

    @property
    def vcell(self):
        return self.one_step.vcell

    def __repr__(self) -> str:
        return (
            f"<VectorMultiStep {self.cell.name}: d{self.target} over {self.steps} steps / "
            f"d{self.source} in matrix form, {len(self.paths)} missed paths, inputs "
            f"{self.inputs}, check {self.check.method}{'' if self.check.passed else ' FAILED'}>"
        )

    @functools.cached_property
    def free_names(self) -> tuple[str, ...]:
        """The arrays :meth:`evaluate` takes: parameters, inputs (x, or x_1 ..
        x_K), the previous-step values the equations read except those the
        convention computes (the LSTM's h_prev), and the values it holds fixed
        (o_prev); as :func:`symgrad.vector.vector_steps` takes them."""
        from .vecnumeric import steps_names

        return steps_names(self.jacobian, self.one_step, self.steps, self.inputs == "per step")

    def evaluate(self, arrays: dict) -> dict:
        """The printed forms at ``arrays`` (:attr:`free_names` -> float arrays,
        vectors ``(..., n)`` or ``(..., m)``, weights ``(..., n, k)``, leading
        batch axes broadcast): ``exact`` (the product of the printed state
        Jacobians applied to e_{t-1}), ``product`` (the article's A_{t+K-1} ...
        A_t), ``gap`` (exact - product) and ``paths`` (a list, one matrix per
        missed path), each ``(..., n, n)``; ``states``, the printed state
        Jacobians multiplied, J_{t+K-1} ... J_t (``(..., s n, s n)``, the states
        in the cell's order). Raises ``ValueError`` naming a missing, unknown or
        misshapen array."""
        return _evaluate(self, arrays)

    def render(self, fmt: str = "latex", standalone: bool = False) -> str:
        """The document in ``fmt``: "latex" (``standalone``: a complete
        document), "text", "markdown" or "mathjax" (Jupyter's text/latex)."""
        from .vecstepsrender import steps_render

        return steps_render(self, fmt, standalone)

    def latex(self, standalone: bool = False) -> str:
        return self.render("latex", standalone)

    def text(self) -> str:
        return self.render("text")

    def json(self) -> dict:
        from .vecstepsrender import steps_json

        return steps_json(self)

    def _repr_markdown_(self) -> str:
        return self.render("markdown")

    def _repr_latex_(self) -> str:
        return self.render("mathjax")


# ---------------------------------------------------------------- the derivation


def build_steps(article, jacobian, algebra: Algebra, steps: int, inputs: str) -> VectorMultiStep:
    """The K-step derivative (K = ``steps``) from the vector engine's one-step
    results: ``article`` (the cell's default :class:`~symgrad.vector.VectorDerivation`,
    under the one-step convention), ``jacobian`` (its exact
    :class:`~symgrad.vector.VectorStateJacobian`) and ``algebra`` (the cell's
    :class:`~symgrad.linear.Algebra`, for its gate-form rules). ``inputs``:
    "shared" or "per step". Returns a checked :class:`VectorMultiStep`;
    ``ValueError`` for K outside 1 .. :data:`~symgrad.multistep.MAX_STEPS`."""
    check_step_count(steps, inputs)
    return _build(article, jacobian, algebra, steps, inputs)


def check_step_count(steps, inputs) -> None:
    """``ValueError`` unless ``steps`` is an integer from 1 to
    :data:`~symgrad.multistep.MAX_STEPS` and ``inputs`` "shared" or "per step"."""
    if not isinstance(steps, int) or isinstance(steps, bool) or not 1 <= steps <= MAX_STEPS:
        raise ValueError(f"steps must be an integer from 1 to {MAX_STEPS}, not {steps!r}")
    if inputs not in ("shared", "per step"):
        raise ValueError(f"inputs must be 'shared' or 'per step', not {inputs!r}")


@functools.lru_cache(maxsize=64)
def _build(article, jacobian, algebra, steps, inputs) -> VectorMultiStep:
    cell, vcell = article.cell, article.vcell
    states = cell.state
    src = states.index(article.source.removesuffix("_prev"))
    alg = Algebra(vcell, algebra.rules, step_ranges(cell, steps))
    shifts = [step_shift(cell, k, inputs) for k in range(steps)]
    definitions = dict(article.carry)
    for shift in shifts:
        for symbol, rhs in vcell.rhs.items():
            definitions[shift[symbol]] = rhs.xreplace(shift)
    factors = tuple(tuple(substitute(op, s) for op in article.operators) for s in shifts)
    blocks = tuple(
        tuple(tuple(tuple(substitute(op, s) for op in e.operators) for e in row)
              for row in jacobian.entries)
        for s in shifts
    )  # fmt: skip
    tangent = tuple(_tangent_block(cell, article, s) for s in states)
    # Which exact tangents d s_{j,t+m}/d source can be nonzero (m = -1: e_{t-1}).
    alive = {(j, -1) for j in range(len(states)) if tangent[j] is not None}
    for k in range(steps):
        alive |= {
            (i, k)
            for i in range(len(states))
            for j in range(len(states))
            if blocks[k][i][j] and (j, k - 1) in alive
        }
    paths = []
    for k in range(steps - 1):
        for i in range(len(states)):
            if i == src or not blocks[k + 1][src][i]:
                continue
            path = _missed_path(alg, article, jacobian, tangent, alive, shifts, k, i, src)
            if path is not None:
                paths.append(replace(path, later=tuple(range(k + 2, steps))))
    unchecked = VectorMultiStep(
        cell=cell,
        steps=steps,
        inputs=inputs,
        one_step=article,
        jacobian=jacobian,
        factors=factors,
        blocks=blocks,
        tangent=tangent,
        paths=tuple(paths),
        tangents=tuple(sorted({t for p in paths for t in p.tangents}, key=lambda t: (t[1], t[0]))),
        names=step_names(cell, steps, inputs),
        ranges=alg.ranges,
        definitions=definitions,
        check=Check("none", False, "not checked yet"),
    )
    return replace(unchecked, check=check_steps(unchecked))


def _tangent_block(cell: Cell, article, state: str):
    """d state_{t-1}/d source_{t-1} under the convention: I for the source, the
    carried value's path derivative, None (0) for a state held fixed."""
    prev = cell.symbol(prev_name(state))
    if prev.name == article.source:
        return IDENTITY
    return article.links.get(prev) if prev in article.carry else None


def _missed_path(alg, article, jacobian, tangent, alive, shifts, k, i, src):
    """The path through state i at step t + k (None if its delta is zero):
    delta = sum_j C_j v_{k-1}[j], C_j = sum over the held values w of
    (d s_i/d w)(d w/d s_{j,t+k-1}) for a carried state, the state Jacobian's
    entry (i, j) for a state the convention holds fixed."""
    cell, vcell = article.cell, article.vcell
    states = cell.state
    prev = cell.symbol(prev_name(states[i]))
    carried = prev in article.carry
    if carried:
        base = article.source.removesuffix("_prev")
        held = tuple(sorted({s.name.removesuffix("_prev") for s in article.carry[prev].free_symbols}
                            - {base}))  # fmt: skip
    else:
        held = (states[i],)
    parts = []
    for j, entry in enumerate(jacobian.entries[i]):
        if carried:
            closing = vcell.rhs[cell.symbol(states[i])]
            pieces = [
                alg.compose(alg.partial(closing, cell.symbol(w)), entry.links[cell.symbol(w)])
                for w in held
                if cell.symbol(w) in entry.links
            ]
            coefficient = alg.add(pieces)
        else:
            coefficient = alg.add(list(entry.operators))
        if coefficient.is_zero or (j, k - 1) not in alive:
            continue
        coefficient = substitute(coefficient, shifts[k])
        if k == 0:  # the convention's tangent e_{t-1}: explicit, composed in
            parts.append((alg.compose(coefficient, tangent[j]), None))
        else:
            parts.append((coefficient, (j, k - 1)))
    if k == 0 and parts:
        total = alg.add([chain for chain, _ in parts])
        parts = [] if total.is_zero else [(total, None)]
    if not parts:
        return None
    d = jacobian.entries[src][i]
    entry = tuple(
        (
            substitute(t.coefficient, shifts[k + 1]),
            None if t.via == d.source else step_symbol(t.via, k + 1).name,
            substitute(t.operator, shifts[k + 1]),
        )
        for t in d.terms
    )
    gates = ()
    if len(parts) == 1 and parts[0][1] is None:
        delta = parts[0][0]
        composed = [alg.compose(op, delta) for _, _, op in entry]
        if not any(isinstance(f, Paren) for c in composed for f in c.factors):
            gates = tuple((c, gate_segments(alg, c)) for c in composed)
    return VectorMissedPath(
        step=k, state=states[i], held=held, later=(), entry=entry, delta=tuple(parts), gates=gates
    )


def gate_segments(alg: Algebra, chain: Chain) -> tuple:
    """``(segments, weights)``: the gates of ``chain``'s diag factors (values in
    [0, 1]), in the stretches its weights cut it into, left to right, and the
    names of those weights. In one dimension every factor multiplies one number
    and all the gates compound; in n dimensions only those of one stretch
    multiply the same coordinates."""
    segments, weights = [[]], []
    for f in chain.factors:
        if isinstance(f, Diag):
            segments[-1] += alg.gates(f.factors)
        elif isinstance(f, Weight):
            weights.append(f.name)
            segments.append([])
    return tuple(tuple(s) for s in segments), tuple(weights)


# ---------------------------------------------------------------- evaluation


def _evaluate(ms: VectorMultiStep, arrays: dict) -> dict:
    import numpy as np

    from .numeric import name_problems
    from .vecnumeric import Values, chain_value, shapes

    cell, vcell = ms.cell, ms.vcell
    names = ms.free_names
    if problems := name_problems(names, arrays):
        raise ValueError(f"{problems} (over {ms.steps} steps: {', '.join(names)})")
    arrays = {k: np.asarray(v, dtype=float) for k, v in arrays.items()}
    fixed = [name for name in names if not _input_of(cell, name)]
    batches = []
    for k in range(ms.steps if ms.inputs == "per step" else 1):
        step = {x: arrays[f"{x}_{k + 1}" if ms.inputs == "per step" else x] for x in cell.inputs}
        n, _, batch = shapes(vcell, [*fixed, *cell.inputs], {**arrays, **step})
        batches.append(batch)
    shape = (*np.broadcast_shapes(*batches), n, n)
    values = Values(vcell, ms.definitions, arrays)
    zero = np.zeros(shape)

    def matrix(chains):
        """The sum of ``chains``' matrices, broadcast to the batch (0 for none)."""
        out = zero
        for c in chains:
            out = out + chain_value(c, values, n)
        return np.broadcast_to(out, shape)

    a = [matrix(terms) for terms in ms.factors]
    product = a[0]
    for later in a[1:]:
        product = later @ product
    tangent = np.concatenate([matrix(() if c is None else (c,)) for c in ms.tangent], axis=-2)
    exact = {-1: tangent}  # the exact tangents v_k = J_{t+k} ... J_t e_{t-1}
    states = None
    for k, rows in enumerate(ms.blocks):
        jacobian = np.concatenate(
            [np.concatenate([matrix(b) for b in row], axis=-1) for row in rows], axis=-2
        )
        exact[k] = jacobian @ exact[k - 1]
        states = jacobian if states is None else jacobian @ states

    def block(j, m):
        return exact[m][..., j * n : (j + 1) * n, :]

    paths = []
    for p in ms.paths:
        delta = sum(
            (matrix((c,)) if t is None else matrix((c,)) @ block(*t) for c, t in p.delta), zero
        )
        path = matrix(tuple(op for _, _, op in p.entry)) @ delta
        for j in p.later:
            path = a[j] @ path
        paths.append(path)
    src = cell.state.index(ms.target)
    total = block(src, ms.steps - 1)
    return {
        "exact": total,
        "product": product,
        "gap": total - product,
        "paths": paths,
        "states": states,
    }


# ---------------------------------------------------------------- the self-check


def check_steps(ms: VectorMultiStep) -> Check:
    """The printed forms against two routes that share nothing with them but
    the cell, at the seeded random points of :mod:`symgrad.veccheck`:
    the printed exact form (the product of the printed state Jacobians,
    shifted step by step, applied to e_{t-1}) must equal the Jacobian of the
    unrolled K-step forward pass by the complex step (central differences
    where the cell has relu or abs), which differentiates nothing
    symbolically, and :func:`symgrad.vector.vector_steps`'s (each step's
    ``numeric()`` on the forward pass's values); the printed state Jacobians
    multiplied and the article's product must equal ``vector_steps``'s; the
    product plus the missed paths must equal the exact form. Points outside
    a function's domain, or whose difference steps cross a kink, are left out.
    """
    import numpy as np

    from .vecnumeric import analytic, reference_jacobian, steps_product

    vcell = ms.vcell
    arrays = check_arrays(vcell, ms.free_names, lambda name: _input_of(ms.cell, name))
    target = step_symbol(ms.target, ms.steps - 1).name
    reference, usable = reference_jacobian(vcell, ms.definitions, target, ms.source, arrays)
    with np.errstate(all="ignore"):
        ours = ms.evaluate(arrays)
        route = steps_product(ms.jacobian, ms.one_step, ms.steps, arrays)
        exact = ours["exact"]
        split = ours["product"] + sum(ours["paths"], np.zeros_like(exact))
        errors = [
            relative(exact, reference),
            relative(exact, route[0]),
            relative(ours["states"], route[2]),
            relative(ours["product"], route[1]),
            relative(split, exact),
        ]

    def claim(worst, method):
        e = [scientific_math(w) for w in worst]
        return (
            f"the printed exact form = the Jacobian of the unrolled {ms.steps}-step forward "
            f"pass by {method} ({e[0]}) = the numeric step-by-step product's ({e[1]}); the "
            "printed state Jacobians multiplied and the article's product = the numeric "
            f"step-by-step route's ({e[2]}, {e[3]}); the product + the missed paths = the exact "
            f"form ({e[4]});"
        )

    return verdict(errors, usable, analytic(vcell), claim)


def _input_of(cell: Cell, name: str) -> bool:
    """An input of some step: x, or x_1 .. x_K."""
    return name in cell.inputs or any(
        name.startswith(f"{x}_") and name[len(x) + 1 :].isdigit() for x in cell.inputs
    )
