"""The flow engines: a cell run forward along trajectories, with the exact
product of its state Jacobians.

For a cell with state :math:`s` (:math:`h`; :math:`(c, h)` for the LSTM;
:math:`(h, o)` for the late-reset GRU) the gradient of step T with respect to
step 0 is the product of one-step state Jacobians,

.. math::  \\frac{\\partial s_T}{\\partial s_0} = J_T J_{T-1} \\cdots J_1, \\qquad
           J_k = \\frac{\\partial s_k}{\\partial s_{k-1}},

each :math:`J_k` evaluated on the values the cell's own equations produce at
step k. Two engines compute it, one per way of reading a cell:

- :class:`ScalarEngine` (one-dimensional cells): the forward pass compiled from
  the equations as written, the exact Jacobian entries of
  :func:`symgrad.derive.derive` (``wrt="state"``) in gate form, bound to the
  forward pass's values (:class:`ScalarProgram`);
- :class:`VectorEngine` (values in :math:`R^n`): a forward-mode chain rule over
  the same equations with n x n weight matrices (:class:`VectorProgram`).

The product is kept as a matrix of Frobenius norm one times a logarithmic
scale, so that 10,000 steps neither underflow nor overflow.

The chunked driver (:func:`drive`) lives here, with the engines, because it
is what keeps memory bounded in T: an engine advances a chunk of at most
:data:`CHUNK_ELEMENTS` recorded values and hands back a :class:`Chunk`
(ln |d s_t/d s_0| per step and sample, and the one-step norms asked for), and
the driver passes it to a *stream* that keeps what it needs and lets the
chunk go. What a run reports from those chunks (quantiles at checkpoints,
Lyapunov exponents, the vanishing step) is a statistic of the run, not of the
engines: the stream that computes it is :mod:`symgrad.flow`'s.
:func:`state_jacobian_product` drives an engine with no stream and returns
the product itself.

NumPy at module level: only the flow commands import this module.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import sympy

from .cells import Cell, get_cell, prev_name
from .derive import derive
from .numeric import lambdify
from .sampling import param_kind

__all__ = [
    "CHUNK_ELEMENTS",
    "Chunk",
    "FlowError",
    "ScalarEngine",
    "ScalarProgram",
    "VectorEngine",
    "VectorProgram",
    "drive",
    "scalar_program",
    "state_jacobian_product",
]

#: Elements of one chunk buffer (steps x samples): 512 KiB of float64 each, so a
#: chunk of the LSTM's recorded values stays near 20 MiB whatever T is.
CHUNK_ELEMENTS = 2**16


class FlowError(ValueError):
    """A flow run that cannot be done as asked (unknown init, a cell n-dim cannot read...)."""


# ---------------------------------------------------------------- numeric compilation


def _kernel(expr):
    """``(names, function)``: ``expr`` as a function of its free symbols' ASCII names."""
    symbols = sorted(expr.free_symbols, key=lambda s: s.name)
    return tuple(s.name for s in symbols), lambdify(symbols, expr)


# ---------------------------------------------------------------- one-dimensional cells


class ScalarProgram:
    """A one-dimensional cell compiled for :class:`ScalarEngine` (see there).

    ``step(*step_args)``: every value of one step (``outputs``, in order) from
    the previous step's values, parameters and the step's hoisted input terms;
    ``hoisted``: the terms that read only inputs and parameters, computed for a
    whole chunk at once; ``kernel(*kernel_names)``: the state Jacobian's
    entries (row by row) and, where the cell follows the article's one-step
    convention (``article``), the article's one-step derivative last.
    """

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
        this_step = set(cell.values) | set(cell.params)
        for expr, symbol in calls.items():
            rename[expr] = symbol
            # A call of this step's values and parameters only (tanh c_t) has a
            # previous-step value of its own (tanh c_{t-1}); one that reads an
            # input or a previous-step value does not.
            if {s.name for s in expr.free_symbols} <= this_step:
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
        # Every call is an output of the step (recorded at its step); those that
        # read no input are carried to the next step too (tanh c_{t-1}).
        timed = {name for v in self.carried for name in (v, prev_name(v))}
        timed |= {symbol.name for symbol in calls.values()}
        self.recorded = sorted(set(self.kernel_names) & timed)
        self.size = len(cell.state)
        self.entry = None
        if self.article:
            self.entry = (
                cell.state.index(self.article.target),
                cell.state.index(self.article.source.removesuffix("_prev")),
            )


@functools.cache
def scalar_program(cell: Cell) -> ScalarProgram:
    """The compiled program of ``cell``, built once per distinct cell (derive and
    lambdify are slow; a :class:`~symgrad.cells.Cell` is hashable)."""
    return ScalarProgram(cell)


class ScalarEngine:
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

    ``params``: name -> array ``(N,)``; ``track_sign``: keep the sign of a
    one-state product (its direction); a caller that reads norms only saves
    the work.
    """

    def __init__(self, cell: Cell, params: dict, track_sign: bool = True):
        self.cell = cell
        self.params = params
        self.program = scalar_program(cell)
        self.article = self.program.article
        self.track_sign = track_sign

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

    def advance(self, inputs: dict, rows, k: int) -> Chunk:
        """Run ``k`` steps (inputs: name -> (k, N)); one-step norms at ``rows``."""
        program, cell = self.program, self.cell
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
        chunk = Chunk(np.empty(shape))
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
                logs = np.log(np.abs(jac[0, 0]))
                if self.track_sign:  # a one-state product's direction is its sign
                    self.P[0, 0] *= np.prod(np.sign(jac[0, 0]), axis=0)
                # A gradient exactly 0 stays 0, whatever follows (an overflowed
                # state's inf slope included): 0 x inf is 0 here, not nan.
                zero = np.logical_or.accumulate(logs == -np.inf, axis=0)
                zero |= self.log_scale == -np.inf
                ln[:] = np.cumsum(np.where(zero, 0.0, logs), axis=0) + self.log_scale
                ln[zero] = -np.inf
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
            zero = ~np.any(product != 0, axis=(0, 1))  # exactly 0: it stays 0
            new = columns[0][:, step] * product[0]
            for m in range(1, size):
                new += columns[m][:, step] * product[m]
            if zero.any():
                new[:, :, zero] = 0.0
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
    return _spectral_norms_finite(np.moveaxis(jac, -1, 0))


def _article_derivation(cell: Cell):
    """The cell's default derivation if it uses the one-step convention on a state target."""
    if len(cell.state) < 2:
        return None
    d = derive(cell)
    if not d.carry or d.target not in cell.state:
        return None
    return d


# ---------------------------------------------------------------- n-dimensional cells


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
        self.kinds = {p: param_kind(p) for p in cell.params}
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


class VectorEngine:
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

    def advance(self, inputs: dict, rows, k: int) -> Chunk:
        ln = np.empty((k, len(self.log_scale)))
        chunk = Chunk(ln)
        rows = set(rows)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for step in range(k):
                env = {**self.params, **self.prevs}
                for name in self.cell.inputs:
                    env[name] = inputs[name][step]
                values, jac = self.program.step(env)
                if step in rows:
                    chunk.one_step[step] = _spectral_norms_finite(jac)
                zero = self.log_scale == -np.inf  # exactly 0: it stays 0 (0 x inf too)
                self.P = np.matmul(jac, self.P)
                self.P[zero] = 0.0
                norm = np.sqrt(np.einsum("nij,nij->n", self.P, self.P))
                np.divide(self.P, norm[:, None, None], out=self.P, where=norm[:, None, None] > 0)
                self.log_scale = self.log_scale + np.log(norm)
                ln[step] = self.log_scale
                self.prevs = {prev_name(s): values[s] for s in self.cell.state}
            for s in self.cell.state:
                self.nonfinite |= ~np.all(np.isfinite(values[s]), axis=1)
        return chunk


def _spectral_norms_finite(jac) -> np.ndarray:
    """Spectral norms of ``jac[sample]`` (N, d, d); nan where the Jacobian is not
    finite (an overflowed state), which no SVD can take."""
    finite = np.all(np.isfinite(jac), axis=(1, 2))
    norms = np.full(len(jac), np.nan)
    if finite.any():
        norms[finite] = np.linalg.norm(jac[finite], 2, axis=(1, 2))
    return norms


# ---------------------------------------------------------------- driving a run in chunks


@dataclass
class Chunk:
    """What an engine yields for k steps of N samples.

    ``log_norm[row, sample]``: ln |d s_t/d s_0| (Frobenius) at t = t0 + row + 1;
    ``log_article[row, sample]``: ln |article's one-step derivative| at each
    step (cells with the article's convention only); ``log_exact``: row -> ln
    |the matching exact entry of d s_t/d s_0|, at the rows asked for and the
    last; ``one_step``: row -> spectral norm of J_t per sample, at the rows asked for.
    """

    log_norm: np.ndarray
    log_article: np.ndarray | None = None
    log_exact: dict | None = None  # row -> ln |exact entry|, at checkpoints and the last row
    one_step: dict = field(default_factory=dict)


def drive(engine, source, stream, steps, samples, progress, initial=None):
    """Run ``engine`` (:class:`ScalarEngine` or :class:`VectorEngine`) for ``steps``
    steps from state 0 (or ``initial``: state name -> s_0) in chunks of at most
    :data:`CHUNK_ELEMENTS` values.

    ``source(t0, k)``: the inputs of steps t0 + 1 .. t0 + k (name -> array with
    the steps first); ``stream`` (or None): asked ``one_step_rows(t0, k)``, the
    rows of the chunk whose one-step norms it wants, and fed every
    :class:`Chunk` by ``feed(t0, chunk)``; ``progress(t)`` (or None) after each
    chunk. Raises :class:`FlowError` for an ``initial`` name that is not a state.
    """
    per_step = samples * (engine.program.width if isinstance(engine, VectorEngine) else 1)
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
        chunk = engine.advance(source(t0, k), rows, k)
        if stream:
            stream.feed(t0, chunk)
        t0 += k
        if progress:
            progress(t0)


# ---------------------------------------------------------------- the product along given inputs


def state_jacobian_product(
    cell: Cell | str, params: dict, inputs: dict, initial: dict | None = None
):
    """The exact d s_T/d s_0 along the trajectory from s_0 driven by ``inputs``.

    ``inputs``: name -> array ``(T, N)`` for one-dimensional cells, or
    ``(T, N, n)`` for n-dimensional ones (n = 1 included: the vector
    program); ``params``: name -> array ``(N,)``, or the shapes of
    :func:`symgrad.sampling.draw_vector_params`; ``initial``: state name -> s_0 of shape
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
        engine = ScalarEngine(cell, {k: np.asarray(v, dtype=float) for k, v in params.items()})
    else:
        engine = VectorEngine(VectorProgram(cell, shape[2]), params)

    def source(t0, k):
        return {name: np.asarray(inputs[name][t0 : t0 + k], dtype=float) for name in names}

    drive(engine, source, None, steps, samples, None, initial)
    return engine.log_scale.copy(), engine.direction()
