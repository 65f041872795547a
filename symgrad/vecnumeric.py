"""NumPy evaluation of a cell read with vectors, and of its linear maps in gate form.

:class:`Values` runs the forward pass of :func:`symgrad.linear.read_vector`'s
reading (values in R^n, any leading batch axes) and evaluates every vector
expression of the gate form over it. With ``stable=True`` (the kernels) each
activation is computed once with its complement, as in
:mod:`symgrad.numeric`: :math:`1 - f_t` is :math:`\\sigma(-u_f)` and
:math:`1 - \\hat c_t \\odot \\hat c_t` is :math:`\\operatorname{sech}^2 u_c`,
never a subtraction of two numbers close to 1. With ``stable=False`` it is the
plain forward pass in any dtype, complex included (the self-check's complex
step). :func:`chain_value` turns a :class:`~symgrad.linear.Chain` into a
matrix; :func:`make_vector_numeric` builds a derivation's ``numeric()``;
:func:`reference_jacobian` differentiates the raw forward pass, independently
of the engine's rules.
"""

from __future__ import annotations

import numpy as np
import sympy

from .linear import Diag, Kron, MatVec, Paren, VectorCell, Weight
from .numeric import name_problems, require_names, sigmoid_pair, tanh_sech2
from .primitives import PRIMITIVES, complement_pairs, primitive_of, sigmoid

__all__ = [
    "Values",
    "analytic",
    "chain_value",
    "make_vector_numeric",
    "reference_jacobian",
    "shapes",
    "steps_names",
    "steps_product",
]

# ---------------------------------------------------------------- the forward pass


class Values:
    """Every vector expression of a cell at one batch of arrays.

    ``arrays``: ASCII name -> array (vectors ``(..., n)`` or ``(..., m)``,
    weights ``(..., n, k)``); ``carry``: previous-step symbol -> its vector
    expression (the one-step convention); values are computed from their
    equations on first use. ``kinks``, if a list, receives the argument of
    every call that is not differentiable everywhere (relu, abs), so that a
    finite difference can tell whether it crossed one.
    """

    def __init__(
        self, vcell: VectorCell, carry: dict, arrays: dict, stable=True, kinks=None, plans=None
    ):
        cell = vcell.cell
        self.env = {cell.symbol(name): a for name, a in arrays.items()}
        self.definitions = {**carry, **vcell.rhs}
        self.stable = stable
        self.kinks = kinks
        self.memo: dict = {}
        # Which terms of each sum are 1 - g (found once, kept by a caller that
        # evaluates the same expressions step after step: no SymPy in the loop).
        self.plans = {} if plans is None else plans
        self.complement: dict = {}  # gate g (a value or a sigmoid call) -> 1 - g
        self.sech2: dict = {}  # tanh value or call t -> 1 - t^2

    def value(self, e):
        out = self.memo.get(e)
        if out is None:
            out = self._value(e)
            self.memo[e] = out
        return out

    def _value(self, e):
        if e.is_Symbol:
            if e in self.env:
                return self.env[e]
            return self._call(e, self.definitions[e])
        if e.is_Number:
            return float(e)
        if e.is_Add:
            rest, signed = e.args, []
            if self.stable:
                plan = self.plans.get(e)
                if plan is None:
                    plan = self.plans[e] = complement_pairs(e.args, self._has_partner)
                pairs, rest = plan
                signed = [float(one) * self._partner(g) for one, g in pairs]
            parts = [*signed, *(self.value(a) for a in rest)]
            return sum(parts[1:], parts[0])
        if e.is_Mul:
            out = self.value(e.args[0])
            for a in e.args[1:]:
                out = out * self.value(a)
            return out
        if isinstance(e, MatVec):
            weight, operand = (self.value(a) for a in e.args)
            return np.matmul(weight, np.asarray(operand)[..., None])[..., 0]
        if e.is_Pow:
            base = self.value(e.base)
            if e.exp.is_Integer:
                k = int(e.exp)
                return base**k if k > 0 else 1.0 / base ** (-k)
            if e.exp == sympy.Rational(1, 2):
                return np.sqrt(base)
            return np.power(base, float(e.exp))
        if isinstance(e, sympy.Heaviside):
            at_zero = float(e.args[1]) if len(e.args) > 1 else 0.5
            return np.heaviside(self.value(e.args[0]), at_zero)
        if isinstance(e, sympy.sign):
            return np.sign(self.value(e.args[0]))
        return self._call(e, e)

    def _call(self, key, expr):
        """The value of ``expr`` (``key``'s definition), registering the
        complement of a gate and the sech^2 of a tanh under ``key``."""
        p = primitive_of(expr)
        if p is None or p.name == "sqrt":
            return self.value(expr)
        u = self.value(expr.args[0])
        if self.kinks is not None and not p.analytic:
            self.kinks.append(u)
        if self.stable and p.name == "sigmoid":
            g, self.complement[key] = sigmoid_pair(u)
            return g
        if self.stable and p.name == "tanh":
            t, self.sech2[key] = tanh_sech2(u)
            return t
        return PRIMITIVES[p.name].numpy(u)

    def _has_partner(self, g):
        """``g`` itself if 1 - g is computed directly (see :meth:`_partner`), else None."""
        return None if self._partner(g) is None else g

    def _partner(self, g):
        """1 - g computed directly for a gate g, 1 - t^2 for a tanh t; else None."""
        if g.is_Pow and g.exp == 2:
            self.value(g.base)
            return self.sech2.get(g.base)
        if g.is_Symbol or isinstance(g, sigmoid):
            self.value(g)
            return self.complement.get(g)
        return None


# ---------------------------------------------------------------- linear maps


def chain_value(chain, values: Values, n: int):
    """The matrix of a :class:`~symgrad.linear.Chain`: shape ``(..., n, k)``, k = n,
    or n * m after a :class:`~symgrad.linear.Kron` (columns: vec(W), W's
    columns stacked)."""
    out = _apply(chain, values, None, n)
    return np.eye(n) * float(chain.coeff) if out is None else out


class _Diagonal:
    """diag(v) not yet materialised: a weight times it scales the weight's
    columns (n^2 work, not a matrix product's n^3)."""

    def __init__(self, v):
        self.v = np.asarray(v)

    def matrix(self, n):
        return self.v[..., :, None] * np.eye(n)


def _apply(chain, values, right, n):
    """``chain`` times ``right`` (None: the identity, not materialised)."""
    out = right
    for f in reversed(chain.factors):
        if isinstance(out, _Diagonal) and not isinstance(f, Diag | Weight):
            out = out.matrix(n)
        if isinstance(f, Diag):
            d = values.value(f.factors[0])
            for x in f.factors[1:]:
                d = d * values.value(x)
            if out is None or isinstance(out, _Diagonal):
                out = _Diagonal(d if out is None else d * out.v)
            else:
                out = np.asarray(d)[..., :, None] * out
        elif isinstance(f, Weight):
            w = values.value(sympy.Symbol(f.name, real=True))
            if out is None:
                out = w
            elif isinstance(out, _Diagonal):
                out = w * out.v[..., None, :]
            else:
                out = np.matmul(w, out)
        elif isinstance(f, Kron):
            v = np.asarray(values.value(f.vector))
            k = v.shape[-1]
            kron = (v[..., None, :, None] * np.eye(n)[:, None, :]).reshape(*v.shape[:-1], n, k * n)
            out = kron if out is None else np.matmul(kron, out)
        elif isinstance(f, Paren):
            parts = [_apply(c, values, out, n) for c in f.chains]
            eye = np.eye(n) if out is None else out
            parts = [
                eye * float(c.coeff) if p is None else p
                for c, p in zip(f.chains, parts, strict=True)
            ]
            out = sum(parts[1:], parts[0])
        else:
            raise TypeError(f"not a factor of a linear map: {f!r}")
    if out is None:
        return None
    if isinstance(out, _Diagonal):
        out = out.matrix(n)
    return out if chain.coeff == 1 else out * float(chain.coeff)


# ---------------------------------------------------------------- kernels


def shapes(vcell: VectorCell, names, arrays: dict) -> tuple[int, int | None, tuple]:
    """``(n, m, batch)`` from ``arrays`` (name -> array), checked against the vector
    reading: vectors ``(..., n)``, inputs ``(..., m)``, weights ``(..., n, n)``
    or ``(..., n, m)``, the leading (batch) axes broadcasting together. Raises
    ``ValueError`` naming the array at fault."""
    n = m = None
    # Vectors first: a state's size is n and an input's m, so that a weight of
    # the wrong shape is the one blamed.
    for name in sorted(names, key=lambda name: name in vcell.columns):
        a = arrays[name]
        matrix = name in vcell.columns
        if a.ndim < (2 if matrix else 1):
            kind = "a matrix (..., n, k)" if matrix else "a vector (..., size)"
            raise ValueError(f"{name} must be {kind}, got shape {a.shape}")
        if matrix:
            n = n or a.shape[-2]
            if vcell.columns[name] == "m":
                m = m or a.shape[-1]
        elif vcell.sizes.get(name, "n") == "m":
            m = m or a.shape[-1]
        else:
            n = n or a.shape[-1]
    size = {"n": n, "m": m}
    sizes = f"hidden size n = {n}" + (f", input size m = {m}" if m is not None else "")
    batch = []
    for name in names:
        a = arrays[name]
        if name in vcell.columns:
            want = (n, size[vcell.columns[name]])
        else:
            want = (size[vcell.sizes.get(name, "n")],)
        if a.shape[a.ndim - len(want) :] != want:
            raise ValueError(
                f"{name} must have shape (..., {', '.join(map(str, want))}) ({sizes}), "
                f"got {a.shape}"
            )
        batch.append(a.shape[: a.ndim - len(want)])
    try:
        return n, m, np.broadcast_shapes(*batch)
    except ValueError:
        listed = ", ".join(f"{k} {b}" for k, b in zip(names, batch, strict=True))
        raise ValueError(f"the leading (batch) axes do not broadcast: {listed}") from None


def make_vector_numeric(d):
    """``f(**arrays) -> (J, terms)`` for a vector derivation or state Jacobian ``d``.

    Keyword arguments: exactly ``d.free_names`` (``f.names``), float arrays of
    the shapes :func:`shapes` checks, with any leading batch axes (broadcast).
    For a derivation, ``J`` has shape ``(..., n, n)`` (``(..., n, n, k)`` with
    respect to an n x k weight W: entry ``[a, i, j]`` is dh_a/dW_ij) and
    ``terms`` is a tuple of arrays of that shape, in the order of ``d.terms``;
    for a state Jacobian, ``J`` is ``(..., s n, s n)`` with the states in the
    cell's order and ``terms[i][j]`` the terms of entry (i, j).
    """
    names = tuple(d.free_names)
    entries = d.entries if hasattr(d, "entries") else ((d,),)
    vcell = entries[0][0].vcell
    carry = entries[0][0].carry
    source_kind = entries[0][0].source_kind

    def numeric(**arrays):
        require_names(names, arrays, f"numeric() of {d.cell.name}'s {d.label}")
        arrays = {k: np.asarray(v, dtype=float) for k, v in arrays.items()}
        n, m, batch = shapes(vcell, names, arrays)
        blocks, terms = _blocks(entries, Values(vcell, carry, arrays), n, m, batch, source_kind)
        if not hasattr(d, "entries"):
            return blocks[0][0], terms[0][0]
        return np.block(blocks), terms

    numeric.names = names
    numeric.__name__ = numeric.__qualname__ = "vector_" + d.label.replace("/", "_")
    return numeric


def _blocks(entries, values: Values, n: int, m, batch, source_kind):
    """Every entry's total and terms at ``values``: (rows of totals, rows of term tuples)."""
    blocks, terms = [], []
    for row in entries:
        block_row, term_row = [], []
        for entry in row:
            parts = tuple(
                _finish(chain_value(t.operator, values, n), batch, n, source_kind)
                for t in entry.terms
            )
            if parts:
                total = sum(parts[1:], parts[0].copy())
            else:
                cols = {None: (n,), "n": (n, n), "m": (n, m)}[source_kind]
                total = np.zeros((*batch, n, *cols))
            block_row.append(total)
            term_row.append(parts)
        blocks.append(block_row)
        terms.append(tuple(term_row))
    return blocks, tuple(terms)


def _finish(matrix, batch, n, source_kind):
    """A term's matrix broadcast to the batch; with respect to a weight, as
    ``(..., n, n, k)`` (from vec(W)'s columns-stacked order)."""
    matrix = np.asarray(matrix)
    if source_kind:
        k = matrix.shape[-1] // n
        matrix = np.swapaxes(matrix.reshape(*matrix.shape[:-1], k, n), -1, -2)
    # A fresh array: a term may be an input itself (a bare weight U).
    return np.array(np.broadcast_to(matrix, (*batch, *matrix.shape[-(3 if source_kind else 2) :])))


# ---------------------------------------------------------------- the independent route

#: The complex step's h: nothing is subtracted, so any tiny h is exact to a few ulp.
COMPLEX_STEP = 1e-20
#: Central differences' h (a power of two): truncation ~h^2 |f'''| ~ 1e-12,
#: rounding ~EPS |f| / h ~ 2e-10 for values of order one.
CENTRAL_STEP = 2.0**-20


def reference_jacobian(vcell: VectorCell, carry: dict, target: str, source: str, arrays: dict):
    """d target/d source of the raw forward pass at ``arrays`` (each with one
    leading batch axis of B points), by the complex step where every function
    of the cell is analytic, else by central differences.

    Returns ``(J, usable)``: J of shape ``(B, n, n)`` (``(B, n, n, k)`` for a
    weight source), and a boolean ``(B,)``: points inside every function's
    domain and, for central differences, whose steps cross no kink of relu or
    abs. Independent of the gate form: it differentiates nothing symbolically.
    """
    cell = vcell.cell
    base = arrays[source]
    coords = int(np.prod(base.shape[1:]))
    unit = np.eye(coords).reshape(coords, 1, *base.shape[1:])  # [c, 1, ...]
    lifted = {k: v[None] for k, v in arrays.items() if k != source}
    target = cell.symbol(target)

    def run(shifted, kinks=None):
        env = {**lifted, source: shifted}
        return Values(vcell, carry, env, stable=False, kinks=kinks).value(target)

    with np.errstate(all="ignore"):
        plain_kinks: list = []
        plain = run(base[None], kinks=plain_kinks)
        usable = np.all(np.isfinite(plain), axis=(0, -1))
        if analytic(vcell):
            h = COMPLEX_STEP
            columns = np.imag(run(base[None] + 1j * h * unit)) / h
        else:
            h = CENTRAL_STEP
            up_kinks: list = []
            down_kinks: list = []
            up = run(base[None] + h * unit, kinks=up_kinks)
            down = run(base[None] - h * unit, kinks=down_kinks)
            columns = (up - down) / (2 * h)
            for p, u, v in zip(plain_kinks, up_kinks, down_kinks, strict=True):
                same = (np.sign(u) == np.sign(p)) & (np.sign(v) == np.sign(p))
                usable &= np.all(same, axis=(0, -1))
        # A target that does not depend on the source has no axis c yet.
        columns = np.broadcast_to(columns, (coords, *np.shape(plain)[1:]))
        usable &= np.all(np.isfinite(columns), axis=(0, -1))
    # columns[c, b, a] = d target_a / d source_c at point b.
    jac = np.moveaxis(columns, 0, -1)
    return jac.reshape(*jac.shape[:-1], *base.shape[1:]), usable


def analytic(vcell: VectorCell) -> bool:
    """Whether every function the cell calls is analytic (the complex step applies)."""
    for expr in vcell.rhs.values():
        for sub in sympy.preorder_traversal(expr):
            p = primitive_of(sub)
            if p is not None and not p.analytic:
                return False
    return True


# ---------------------------------------------------------------- many steps


def steps_product(jacobian, article, steps: int, arrays: dict):
    """``(exact, product, states)`` over ``steps`` = K steps t, ..., t+K-1 at ``arrays``.

    ``jacobian``: the cell's :class:`~symgrad.vector.VectorStateJacobian`;
    ``article``: its default derivation (the one-step convention in its
    ``carry``); ``arrays``: the parameters, the inputs (``x`` for every step
    or ``x_1`` .. ``x_K``) and the previous-step values of step t
    (:func:`steps_names`). ``states`` = J_{t+K-1} ... J_t (``(..., s n, s n)``);
    ``exact`` = d target_{t+K-1}/d source_{t-1} (``(..., n, n)``): ``states``
    applied to the convention's tangent (d s_{t-1}/d source_{t-1}, the held
    values fixed: for the LSTM, I on c and diag(o_{t-1} ⊙ (1 - tanh² c_{t-1}))
    on h); ``product``: the article's A_{t+K-1} ... A_t.
    """
    cell = jacobian.cell
    vcell = article.vcell
    per_step = any(f"{x}_1" in arrays for x in cell.inputs)
    needed = steps_names(jacobian, article, steps, per_step)
    if problems := name_problems(needed, arrays):
        raise ValueError(f"{problems} (over {steps} steps: {', '.join(needed)})")
    arrays = {k: np.asarray(v, dtype=float) for k, v in arrays.items()}
    env = {k: arrays[k] for k in needed if not _is_step_input(cell, k)}
    f, g = jacobian.numeric(), article.numeric()
    read = set(f.names) | set(g.names)
    tangent = product = states = None
    for k in range(steps):
        for x in cell.inputs:
            env[x] = arrays[f"{x}_{k + 1}" if per_step else x]
        values = Values(vcell, article.carry if k == 0 else {}, env)
        if k == 0:
            for prev in article.carry:
                env[prev.name] = values.value(prev)
            n = env[article.source].shape[-1]
            tangent = _tangent(cell, article, values, n)
        jac, _ = f(**{name: env[name] for name in f.names})
        one, _ = g(**{name: env[name] for name in g.names})
        states = jac if states is None else np.matmul(jac, states)
        product = one if product is None else np.matmul(one, product)
        step = Values(vcell, {}, env)
        # Only the previous-step values the next step's derivatives read (the
        # states, the LSTM's o_prev): an output such as o_t = r_t h_t that no
        # derivative reads may need parameters that were not given.
        for v in cell.values:
            if f"{v}_prev" in read:
                env[f"{v}_prev"] = step.value(sympy.Symbol(v, real=True))
    n = product.shape[-1]
    row = cell.state.index(article.target)
    exact = np.matmul(states, tangent)[..., row * n : (row + 1) * n, :]
    return exact, product, states


def steps_names(jacobian, article, steps: int, per_step: bool) -> tuple:
    """The names :func:`steps_product` takes: parameters, inputs, and the
    previous-step values of step t the equations read, except those the
    convention computes (h_prev) and with the values it holds fixed (o_prev)."""
    cell = jacobian.cell
    names = set(jacobian.free_names) | set(article.free_names)
    names -= {p.name for p in article.carry} | set(cell.inputs)
    names |= {s.name for e in article.carry.values() for s in e.free_symbols}
    inputs = [f"{x}_{k + 1}" for x in cell.inputs for k in range(steps)] if per_step else []
    return tuple(sorted(names | set(inputs or cell.inputs)))


def _is_step_input(cell, name: str) -> bool:
    return name in cell.inputs or any(
        name.startswith(f"{x}_") and name[len(x) + 1 :].isdigit() for x in cell.inputs
    )


def _tangent(cell, article, values: Values, n: int):
    """d s_{t-1}/d source_{t-1} with the convention: ``(..., s n, n)``, the
    states stacked in the cell's order."""
    blocks = []
    for state in cell.state:
        prev = sympy.Symbol(f"{state}_prev", real=True)
        if prev.name == article.source:
            blocks.append(np.eye(n))
        elif prev in article.carry:
            blocks.append(chain_value(article.links[prev], values, n))
        else:
            blocks.append(np.zeros((n, n)))
    return np.concatenate(np.broadcast_arrays(*blocks), axis=-2)
