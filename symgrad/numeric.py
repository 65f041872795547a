"""NumPy kernels of derivations: generated once, gate values shared, stable in saturation.

:func:`make_numeric` turns a :class:`~symgrad.derivation.Derivation` into a
vectorised function of its free names. The function is generated as straight
Python/NumPy code, once per derivation (cached by content), in three steps:

1. *lowering*: every activation is computed once from its pre-activation u,
   together with the complement the gate form needs: :math:`\\sigma(u)` with
   :math:`1 - \\sigma(u) = \\sigma(-u)` (:func:`sigmoid_pair`), :math:`\\tanh u`
   with :math:`1 - \\tanh^2 u = \\operatorname{sech}^2 u` (:func:`tanh_sech2`);
   the terms' factors ``1 - f`` and ``1 - c_hat**2`` are replaced by these, so
   no term ever subtracts two numbers close to 1;
2. common subexpressions of the terms (``o_prev*sech2(c_prev)`` in three LSTM
   terms) are computed once (:func:`sympy.cse`);
3. large batches are cut into cache-sized chunks, shared between threads
   (NumPy releases the GIL inside its loops).

NumPy is imported here and only here among the symbolic layers, so that
``symgrad derive`` never pays for it. The generated code contains no text of
the cell: every name is replaced by a positional one (``a0``, ``v3``).
"""

from __future__ import annotations

import ast
import re
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import numpy as np
import sympy
from sympy.printing.numpy import NumPyPrinter

from .primitives import sigmoid
from .threads import workers

__all__ = [
    "lambdify",
    "make_numeric",
    "name_problems",
    "require_names",
    "run_generated",
    "sigmoid_pair",
    "tanh_sech2",
]

# ---------------------------------------------------------------- stable primitives

# e^709 is finite (the largest double is e^709.78); sigma(-709) = 1.2e-308.
_EXP_MAX = 709.0


def sigmoid_pair(u):
    """:math:`(\\sigma(u), \\sigma(-u))` for u in R, elementwise: a gate and its complement.

    Both from one :math:`e = e^{-u}`: :math:`\\sigma(u) = 1/(1 + e)`,
    :math:`\\sigma(-u) = e/(1 + e)`, neither computed as 1 minus the other, so
    each keeps a relative error of a few ulp on both tails
    (:math:`\\sigma(-30) = 9.4\\cdot 10^{-14}` keeps all its digits;
    ``1 - sigmoid(30)`` would keep three). Below u = -709, where e would
    overflow, :math:`\\sigma(u) < 1.3\\cdot 10^{-308}` is returned as 0.
    """
    u = np.asarray(u, dtype=float)
    e = np.exp(-np.maximum(u, -_EXP_MAX))
    g = 1.0 / (1.0 + e)
    complement = e * g
    return g * (u >= -_EXP_MAX), complement


def tanh_sech2(u):
    """:math:`(\\tanh u, \\operatorname{sech}^2 u)` for u in R, elementwise.

    :math:`\\operatorname{sech}^2 u = (1/\\cosh u)^2`, not ``1 - tanh(u)**2``
    (0 from |u| = 19.1 on, half its digits lost at |u| = 9): a few ulp of
    relative error for every u, down into the subnormals (past |u| = 710.5,
    where cosh overflows, sech^2 u < 1e-617 is 0 in float64 anyway). NumPy's
    tanh and cosh, measured against mpmath at 65,000 points on three SIMD
    levels (AVX-512, AVX2, baseline): at most 2.6 and 4.9 ulp. One pass each,
    which the hand-written 1 - tanh^2 costs too.
    """
    u = np.asarray(u, dtype=float)
    with np.errstate(over="ignore"):
        sech = 1.0 / np.cosh(u)
    return np.tanh(u), sech * sech


# ---------------------------------------------------------------- kernels


def make_numeric(d):
    """A function ``f(**arrays) -> (total, terms)`` evaluating ``d`` elementwise.

    Keyword arguments are :attr:`Derivation.free_names` (ASCII names), float
    arrays or scalars that broadcast together; ``terms`` is a tuple of float64
    arrays of the broadcast shape, in the order of ``d.terms``, and ``total``
    their sum. ``f.names`` lists the arguments; ``f.source`` is the generated
    code. Finite inputs give finite outputs with no floating-point warning, at
    any pre-activation (gates and tanh' in their stable forms, see
    :func:`sigmoid_pair`, :func:`tanh_sech2`). Generated once per derivation
    content and cached.
    """
    definitions = tuple((eq.symbol, eq.rhs) for eq in d.cell.equations)
    key = (tuple(d.free_names), definitions, tuple(d.carry.items()), d.key[-1])
    return _make_numeric(key, d.cell.name, d.target, d.source)


def name_problems(names, arrays) -> str:
    """'missing a, b; unknown c' for the names ``arrays`` lacks and those it
    has beyond ``names`` (empty when it names exactly ``names``)."""
    missing = [n for n in names if n not in arrays]
    unknown = [n for n in arrays if n not in names]
    problems = [f"missing {', '.join(missing)}"] if missing else []
    problems += [f"unknown {', '.join(unknown)}"] if unknown else []
    return "; ".join(problems)


def require_names(names, arrays: dict, what: str) -> None:
    """TypeError unless ``arrays`` names exactly ``names``, saying which are
    missing and which unknown."""
    if problems := name_problems(names, arrays):
        raise TypeError(f"{what} needs exactly {', '.join(names)}; {problems}")


@lru_cache(maxsize=256)
def _make_numeric(key: tuple, cell_name: str, target: str, source: str):
    names, definitions, carry, exprs = key
    kernel, code = _generate(names, dict(carry), dict(definitions), exprs)
    n_terms = len(exprs)

    def numeric(**arrays):
        require_names(names, arrays, f"numeric() of {cell_name} d{target}/d{source}")
        args = [np.asarray(arrays[n], dtype=float) for n in names]
        shape = np.broadcast_shapes(*(a.shape for a in args))
        size = int(np.prod(shape))
        out = np.empty((n_terms + 1, size))
        if size >= 1 << 14:  # temporaries of 128 KiB and more: glibc would mmap each
            _prime_allocator()
        if size <= CHUNK:
            _run(kernel, [np.broadcast_to(a, shape).reshape(-1) for a in args], out, 0, size)
        else:
            flat = [np.broadcast_to(a, shape).reshape(-1) for a in args]
            starts = range(0, size, CHUNK)
            pool = _pool() if size >= PARALLEL_FROM else None
            if pool is None:
                for s in starts:
                    _run(kernel, flat, out, s, min(s + CHUNK, size))
            else:
                jobs = [
                    pool.submit(_run, kernel, flat, out, s, min(s + CHUNK, size)) for s in starts
                ]
                for job in jobs:
                    job.result()
        out = out.reshape((n_terms + 1, *shape))
        return out[0], tuple(out[1:])

    numeric.names = names
    numeric.source = code
    numeric.__name__ = f"d{target}_d{source}"
    numeric.__qualname__ = numeric.__name__
    return numeric


#: Points per chunk: 2^15 float64 = 256 KiB per temporary, in L2 cache, and
#: above glibc's 128 KiB mmap threshold only once :func:`_prime_allocator` has
#: raised it (else every temporary was a fresh mmap: tanh_sech2 cost 2.5x
#: more). Above PARALLEL_FROM points the chunks go to threads; smaller chunks
#: made them fight over the GIL (the LSTM kernel on 10^6 points, two threads:
#: 2^13 40.6 ms, 2^14 26.7, 2^15 21.4, 2^16 20.6; one thread 2^15: 31.6).
CHUNK = 1 << 15
PARALLEL_FROM = 1 << 17
_POOL: list = []
_PRIMED: list = []


def _prime_allocator() -> None:
    """Free one 4 MiB block, once, so that chunk temporaries stay on the heap.

    glibc returns heap memory above its trim threshold (128 KiB in a fresh
    process) to the system whenever it is freed, so every chunk's temporaries
    were mapped and page-faulted anew: the LSTM kernel took 1000 ns a point
    instead of 110. Freeing a block obtained by mmap raises the threshold to
    twice its size (glibc's dynamic mmap threshold); elsewhere this is a no-op.
    """
    if not _PRIMED:
        block = np.empty(1 << 19)
        block[::512] = 0.0  # touch a page in eight, so the block is real
        del block
        _PRIMED.append(True)


def _pool():
    count = workers()
    if count < 2:
        return None
    if not _POOL:
        _POOL.append(ThreadPoolExecutor(count, thread_name_prefix="symgrad-kernel"))
    return _POOL[0]


def _run(kernel, flat, out, start, stop) -> None:
    terms = kernel(*(a[start:stop] for a in flat))
    total = out[0, start:stop]
    total[...] = 0.0
    for k, value in enumerate(terms, start=1):
        out[k, start:stop] = value
        total += out[k, start:stop]


# ---------------------------------------------------------------- code generation


def lambdify(args, exprs, cse: bool = False):
    """A NumPy function of ``args`` (symbols) computing ``exprs`` (one or a list).

    The general-purpose compiler, for expressions that are not a derivation's
    terms (forward passes, Jacobian entries, objectives): sigmoid is bound to
    SciPy's ``expit`` (correctly rounded to a few ulp, no overflow for any u,
    five times faster than exp(-logaddexp(0, -u))); ``cse`` shares common
    subexpressions of a list.
    """
    from scipy import special

    # Positional names only (a0, a1, ...): no name of a cell's reaches the code
    # SymPy generates and execs, nor shadows a name of its namespace ("expit").
    rename = {a: sympy.Symbol(f"a{k}", real=True) for k, a in enumerate(args)}
    positional = list(rename.values())
    expit = sympy.Function("expit")
    if isinstance(exprs, (list, tuple)):
        exprs = [e.xreplace(rename).replace(sigmoid, expit) for e in exprs]
    else:
        exprs = exprs.xreplace(rename).replace(sigmoid, expit)
    return sympy.lambdify(positional, exprs, modules=[{"expit": special.expit}, "numpy"], cse=cse)


class _Lowering:
    """Rewrites expressions over cell values into straight-line assignments.

    Each value (gate, candidate, state, carried previous value) and each
    activation call is assigned once; ``complement[g]`` is the symbol of
    1 - g for a sigmoid value g, ``sech2[t]`` that of 1 - t^2 for a tanh value t.
    """

    def __init__(self, free, carry, definitions):
        self.free = set(free)
        self.definitions = {**carry, **definitions}
        self.lines: list = []  # (targets, kind, expression)
        self.local: dict = {}
        self.calls: dict = {}
        self.complement: dict = {}
        self.sech2: dict = {}

    def fresh(self):
        return sympy.Dummy("v", real=True)

    def atom(self, expr):
        """``expr`` lowered and, unless a symbol or number, assigned to a fresh local."""
        low = self.lower(expr)
        if low.is_Symbol or low.is_Number:
            return low
        v = self.fresh()
        self.lines.append(((v,), "expr", low))
        return v

    def value(self, symbol):
        if symbol in self.local:
            return self.local[symbol]
        if symbol in self.free or symbol not in self.definitions:
            return symbol
        rhs = self.definitions[symbol]
        low = self.lower(rhs)
        if not (low.is_Symbol or low.is_Number):
            v = self.fresh()
            self.lines.append(((v,), "expr", low))
            low = v
        self.local[symbol] = low
        return low

    def activation(self, kind, arg):
        u = self.atom(arg)
        key = (kind, u)
        if key not in self.calls:
            value, partner = self.fresh(), self.fresh()
            self.lines.append(((value, partner), kind, u))
            (self.complement if kind == "sigmoid_pair" else self.sech2)[value] = partner
            self.calls[key] = value
        return self.calls[key]

    def lower(self, expr):
        if expr.is_Symbol:
            return self.value(expr)
        if expr.is_Number or not expr.args:
            return expr
        if isinstance(expr, sigmoid):
            return self.activation("sigmoid_pair", expr.args[0])
        if isinstance(expr, sympy.tanh):
            return self.activation("tanh_sech2", expr.args[0])
        args = [self.lower(a) for a in expr.args]
        if expr.is_Add:
            return self.stable_sum(args)
        return expr.func(*args)

    def stable_sum(self, args):
        """``1 - g`` -> complement(g), ``1 - t**2`` -> sech2(t), within any sum."""
        for k, arg in enumerate(args):
            coeff, rest = arg.as_coeff_Mul()
            if abs(coeff) != 1:
                continue
            if rest in self.complement:
                partner = self.complement[rest]
            elif rest.is_Pow and rest.exp == 2 and rest.base in self.sech2:
                partner = self.sech2[rest.base]
            else:
                continue
            one = -coeff  # 1 - g is +gc; g - 1 is -gc (likewise 1 - t^2, t^2 - 1)
            if one in args:
                others = [a for j, a in enumerate(args) if j != k]
                others.remove(one)
                return sympy.Add(one * partner, *others)
        return sympy.Add(*args)


class _Printer(NumPyPrinter):
    """NumPy code with integer powers as products/quotients and a plain heaviside."""

    def __init__(self):
        super().__init__({"order": "none", "fully_qualified_modules": True})

    def _print_Pow(self, expr, rational=False):
        exp = expr.exp
        if exp.is_Integer and exp != 0 and abs(exp) <= 4:
            base = self.parenthesize(expr.base, 100)
            power = base if abs(exp) == 1 else f"{base}**{abs(int(exp))}"
            return power if exp > 0 else f"(1.0/{power})" if abs(exp) > 1 else f"(1.0/{base})"
        if exp == sympy.Rational(1, 2):
            return f"numpy.sqrt({self._print(expr.base)})"
        return super()._print_Pow(expr, rational)

    def _print_Heaviside(self, expr):
        h0 = expr.args[1] if len(expr.args) > 1 else sympy.Rational(1, 2)
        return f"numpy.heaviside({self._print(expr.args[0])}, {float(h0)!r})"

    def _print_Abs(self, expr):
        return f"numpy.abs({self._print(expr.args[0])})"


def _generate(names, carry, definitions, exprs):
    """Compile the kernel ``f(a0, a1, ...) -> tuple of term arrays``; returns (f, code)."""
    free = [sympy.Symbol(n, real=True) for n in names]
    lowering = _Lowering(free, carry, definitions)
    outputs = [lowering.lower(e) for e in exprs]
    replacements, outputs = sympy.cse(outputs, symbols=_dummies(), order="none")

    # Positional names only: the generated code never contains a cell's own names.
    rename = {s: sympy.Symbol(f"a{k}", real=True) for k, s in enumerate(free)}
    local = [t for targets, _, _ in lowering.lines for t in targets] + [s for s, _ in replacements]
    rename.update({s: sympy.Symbol(f"v{k}", real=True) for k, s in enumerate(local)})
    printer = _Printer()

    def text(e):
        if not isinstance(e, sympy.Basic):  # SymPy objects only: never text, never parsed
            raise TypeError(f"kernel code is printed from SymPy objects, not {type(e).__name__}")
        return printer.doprint(e.xreplace(rename))

    body = []
    for targets, kind, e in lowering.lines:
        lhs = ", ".join(text(t) for t in targets)
        rhs = text(e) if kind == "expr" else f"{kind}({text(e)})"
        body.append(f"    {lhs} = {rhs}")
    body += [f"    {text(s)} = {text(e)}" for s, e in replacements]
    results = ", ".join(text(e) for e in outputs)
    params = ", ".join(text(s) for s in free)
    comma = "," if outputs else ""
    code = f"def kernel({params}):\n" + "\n".join(body) + f"\n    return ({results}{comma})\n"
    namespace = {"numpy": np, "sigmoid_pair": sigmoid_pair, "tanh_sech2": tanh_sech2}
    return run_generated(code, namespace, "kernel"), code


#: The names generated code may bind: positional arguments and values (a0, v3).
_POSITIONAL = re.compile(r"[av][0-9]+")


def run_generated(code: str, namespace: dict, entry: str, arguments=()):
    """Execute generated ``code`` in ``namespace`` and return its function
    ``entry``, after checking that it is generated code: one function whose
    names are positional (a0, v3), ``arguments`` or the namespace's, whose
    attributes exist on namespace objects (``numpy.tanh``) and whose constants
    are numbers (or the ``...`` and ``None`` of ``x[..., None]``). No text of a
    cell (a name, a string) can pass, so none reaches exec; a generator that
    let one through is a bug, raised here."""
    tree = ast.parse(code)
    allowed = set(namespace) | set(arguments)
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            ok = node is tree.body[0] and len(tree.body) == 1 and node.name == entry
        elif isinstance(node, ast.Name | ast.arg):
            name = node.id if isinstance(node, ast.Name) else node.arg
            ok = name in allowed or _POSITIONAL.fullmatch(name) is not None
        elif isinstance(node, ast.Attribute):
            base = node.value
            ok = isinstance(base, ast.Name) and base.id in namespace
            ok = ok and hasattr(namespace[base.id], node.attr)
        elif isinstance(node, ast.Constant):
            ok = type(node.value) in (int, float) or node.value in (None, Ellipsis)
        else:
            ok = not isinstance(node, ast.Import | ast.ImportFrom | ast.Lambda | ast.Global)
        if not ok:
            raise RuntimeError(f"generated code failed its check at {ast.dump(node)[:80]}")
    exec(compile(tree, f"<symgrad {entry}>", "exec"), namespace)
    return namespace[entry]


def _dummies():
    while True:
        yield sympy.Dummy("w", real=True)
