"""The matrix-form state Jacobian compiled to straight-line NumPy: one cell step.

:func:`make_state_step` turns a :class:`~symgrad.vector.VectorStateJacobian`
into a function of arrays that runs one step of the cell and returns its
exact state Jacobian beside the new states, generated once as Python source:

- every vector value of the step is computed once, an activation together
  with its complement (:math:`\\sigma(u)` with :math:`\\sigma(-u)`,
  :math:`\\tanh u` with :math:`\\operatorname{sech}^2 u`, as
  :mod:`symgrad.numeric` does in one dimension), and a sum's ``1 - f_t``
  reads that complement instead of subtracting;
- each term :math:`\\operatorname{diag}(a)\\,U\\,\\operatorname{diag}(b)` is
  applied right to left, a diagonal never materialised in front of a weight:
  :math:`U \\operatorname{diag}(b)` scales U's columns (n^2 work, not n^3);
- the Jacobian's blocks are summed in place and laid out in the cell's state
  order.

It is what ``symgrad flow --weights`` and ``--spectrum`` call at every step;
:mod:`symgrad.vecnumeric` interprets the same expressions (the derivation's
``numeric()``) and is the independent route that checks them. The generated
code holds positional names only, never a cell's own text.
"""

from __future__ import annotations

import numpy as np
import sympy

from .linear import Diag, MatVec, Paren, Weight
from .numeric import run_generated, sigmoid_pair, tanh_sech2
from .primitives import PRIMITIVES, complement_pairs, primitive_of, sigmoid
from .vecnumeric import shapes

__all__ = ["make_state_step"]


def _matvec(weight, vector):
    """W v for W (..., n, k) and v (..., k): one matrix product for a shared W."""
    if weight.ndim == 2:
        return vector @ weight.T
    return np.matmul(weight, vector[..., None])[..., 0]


class _Source:
    """Python source of one step, built line by line; every value once."""

    def __init__(self, vcell, arguments: dict):
        self.vcell = vcell
        self.lines: list = []
        self.names = dict(arguments)  # expression -> variable holding it
        self.complement: dict = {}  # gate (value symbol or call) -> variable of 1 - g
        self.sech2: dict = {}  # tanh (value symbol or call) -> variable of 1 - t^2
        self.count = 0

    def emit(self, code: str, outputs: int = 1):
        """A line assigning ``code`` to fresh variables; their names (one, or a tuple)."""
        names = tuple(f"v{self.count + k}" for k in range(outputs))
        self.count += outputs
        self.lines.append(f"    {', '.join(names)} = {code}")
        return names[0] if outputs == 1 else names

    # ---- vectors

    def vector(self, e) -> str:
        name = self.names.get(e)
        if name is None:
            name = self.names[e] = self._vector(e)
        return name

    def _vector(self, e) -> str:
        if e.is_Symbol:
            return self._call(e, self.vcell.rhs[e])
        if e.is_Number:
            return repr(float(e))
        if e.is_Add:
            pairs, rest = complement_pairs(e.args, self._has_partner)
            parts = [f"{'' if one > 0 else '-'}{self._partner(g)}" for one, g in pairs]
            parts += [self.vector(a) for a in rest]
            return self.emit(" + ".join(parts).replace("+ -", "- "))
        if e.is_Mul:
            return self.emit(" * ".join(self.vector(a) for a in e.args))
        if isinstance(e, MatVec):
            weight, operand = (self.vector(a) for a in e.args)
            return self.emit(f"matvec({weight}, {operand})")
        if e.is_Pow:
            base = self.vector(e.base)
            if e.exp == sympy.Rational(1, 2):
                return self.emit(f"np.sqrt({base})")
            return self.emit(f"{base} ** {float(e.exp)!r}")
        if isinstance(e, sympy.Heaviside):
            at_zero = float(e.args[1]) if len(e.args) > 1 else 0.5
            return self.emit(f"np.heaviside({self.vector(e.args[0])}, {at_zero!r})")
        if isinstance(e, sympy.sign):
            return self.emit(f"np.sign({self.vector(e.args[0])})")
        return self._call(e, e)

    def _call(self, key, expr) -> str:
        """``expr`` (the definition of ``key``), an activation with its complement."""
        p = primitive_of(expr)
        if p is None or p.name == "sqrt":
            return self.vector(expr)
        u = self.vector(expr.args[0])
        if p.name == "sigmoid":
            value, self.complement[key] = self.emit(f"sigmoid_pair({u})", 2)
            return value
        if p.name == "tanh":
            value, self.sech2[key] = self.emit(f"tanh_sech2({u})", 2)
            return value
        return self.emit(f"primitive_{p.name}({u})")

    def _has_partner(self, g):
        return None if self._partner(g) is None else g

    def _partner(self, g):
        """The variable of 1 - g (a gate) or 1 - t^2 (t a tanh), if there is one."""
        if g.is_Pow and g.exp == 2:
            self.vector(g.base)
            return self.sech2.get(g.base)
        if g.is_Symbol or isinstance(g, sigmoid):
            self.vector(g)
            return self.complement.get(g)
        return None

    # ---- linear maps, right to left

    def chain(self, chain, right=None) -> tuple[str, str] | None:
        """``chain`` times ``right`` as ``("diag", vector)`` or ``("matrix", m)``;
        None for the identity."""
        out = right
        for f in reversed(chain.factors):
            if isinstance(f, Diag):
                d = " * ".join(self.vector(x) for x in f.factors)
                if out is None:
                    out = ("diag", self.emit(d))
                elif out[0] == "diag":
                    out = ("diag", self.emit(f"({d}) * {out[1]}"))
                else:
                    out = ("matrix", self.emit(f"({d})[..., :, None] * {out[1]}"))
            elif isinstance(f, Weight):
                w = self.vector(sympy.Symbol(f.name, real=True))
                if out is None:
                    out = ("matrix", w)
                elif out[0] == "diag":
                    out = ("matrix", self.emit(f"{w} * {out[1]}[..., None, :]"))
                else:
                    out = ("matrix", self.emit(f"np.matmul({w}, {out[1]})"))
            elif isinstance(f, Paren):
                parts = [self.matrix(self.chain(c, out), c.coeff, out) for c in f.chains]
                out = ("matrix", self.emit(" + ".join(parts)))
            else:  # Kron: with respect to a weight, not in a state Jacobian
                raise TypeError(f"no kernel for {type(f).__name__} in a state step")
        if out is not None and chain.coeff != 1:
            out = (out[0], self.emit(f"{float(chain.coeff)!r} * {out[1]}"))
        return out

    def matrix(self, applied, coeff, right) -> str:
        """A :meth:`chain` result as a matrix variable (the identity as eye(n))."""
        if applied is None:  # the chain had no factor: coeff times ``right``
            base = "eye" if right is None else self.matrix(right, 1, None)
            return self.emit(f"{float(coeff)!r} * {base}")
        kind, name = applied
        return self.emit(f"{name}[..., :, None] * eye") if kind == "diag" else name


def make_state_step(j):
    """``step(arrays) -> (J, states)``: one step of the cell of the vector state
    Jacobian ``j`` at ``arrays`` (parameters, inputs, previous states ``s_prev``;
    leading batch axes broadcast), returning the exact state Jacobian J of shape
    ``(..., s n, s n)`` in the cell's state order and the new states
    (``s_prev`` name -> array). Compiled once; ``step.source`` is the code."""
    entries = j.entries
    vcell = entries[0][0].vcell
    cell = vcell.cell
    names = tuple(j.free_names)
    arguments = {cell.symbol(n): f"a{k}" for k, n in enumerate(names)}
    source = _Source(vcell, arguments)
    states = [source.vector(cell.symbol(s)) for s in cell.state]
    rows = []
    for row in entries:
        blocks = []
        for entry in row:
            parts = [source.matrix(source.chain(t.operator), 1, None) for t in entry.terms]
            blocks.append(source.emit(" + ".join(parts)) if parts else "zero")
        rows.append(blocks)
    body = "\n".join(source.lines)
    listed = ", ".join(f"[{', '.join(f'wide({b})' for b in row)}]" for row in rows)
    code = (
        f"def step({', '.join(arguments.values())}, eye, zero, wide):\n{body}\n"
        f"    return np.block([{listed}]), ({', '.join(states)},)\n"
    )
    namespace = {
        "np": np,
        "matvec": _matvec,
        "sigmoid_pair": sigmoid_pair,
        "tanh_sech2": tanh_sech2,
        **{f"primitive_{p}": PRIMITIVES[p].numpy for p in PRIMITIVES},
    }
    kernel = run_generated(code, namespace, "step", ("eye", "zero", "wide"))

    def step(arrays):
        n, _, batch = shapes(vcell, names, arrays)
        shape = (*batch, n, n)

        def wide(block):
            return np.broadcast_to(block, shape)

        jacobian, new = kernel(*(arrays[name] for name in names), np.eye(n), np.zeros(shape), wide)
        return jacobian, {
            f"{s}_prev": np.broadcast_to(v, (*batch, n))
            for s, v in zip(cell.state, new, strict=True)
        }

    step.names = names
    step.source = code
    return step
