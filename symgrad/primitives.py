"""The functions a cell's equations may call, and everything symgrad knows about them.

The activations are SymPy ``Function`` subclasses whose derivative is written
through the function itself, so that every derivative comes out in *gate
form* with no rewriting pass:

.. math::  \\sigma'(u) = \\sigma(u)\\,(1 - \\sigma(u)), \\qquad
           \\tanh'(u) = 1 - \\tanh^2 u .

:data:`PRIMITIVES` is the one table of their facts (range, slope supremum,
analyticity, how to evaluate them in mpmath, arb balls and NumPy); every
other module reads it. :func:`evaluate` is the one evaluator of expressions,
with a backend per arithmetic (:data:`MPMATH`, :data:`ARB`, :data:`NUMPY`).

SymPy only at import: NumPy is imported by the NumPy backend on first use and
arb balls are only ever received, never created here.
"""

from __future__ import annotations

from dataclasses import dataclass

import mpmath
import sympy
from mpmath.libmp import prec_to_dps

__all__ = [
    "ARB",
    "MPMATH",
    "NUMPY",
    "PRIMITIVES",
    "DomainError",
    "Primitive",
    "complement_pairs",
    "evaluate",
    "primitive_of",
    "relu",
    "sigmoid",
    "softplus",
    "tanh",
]

# ---------------------------------------------------------------- the activations


class _Activation(sympy.Function):
    """A one-argument activation of symgrad's own: evaluated through its closed
    form (:meth:`closed`), printed as ``tex`` applied to its argument."""

    nargs = 1
    tex = ""

    @staticmethod
    def closed(u):
        raise NotImplementedError

    def _eval_evalf(self, prec):
        return self.closed(self.args[0]).evalf(prec_to_dps(prec))

    def _latex(self, printer, exp=None):
        # exp: SymPy's printer asks for f(u)**n as f^{n}(u).
        power = "" if exp is None else f"^{{{exp}}}"
        return rf"{self.tex}{power}\left({printer._print(self.args[0])}\right)"


class sigmoid(_Activation):
    """The logistic sigmoid :math:`\\sigma(u) = 1/(1 + e^{-u})`, u in R, value in (0, 1)."""

    tex = r"\sigma"

    @staticmethod
    def closed(u):
        return 1 / (1 + sympy.exp(-u))

    def fdiff(self, argindex=1):
        # sigma' = sigma (1 - sigma): the derivative stays in gate form.
        return self * (1 - self)

    @classmethod
    def eval(cls, arg):
        # Only a literal 0: asking arg.is_zero would run SymPy's assumption
        # system on every gate, a third of derive's start-up time.
        if arg.is_Number and arg == 0:
            return sympy.Rational(1, 2)
        return None

    def _eval_rewrite_as_exp(self, arg, **kwargs):
        return self.closed(arg)

    def _eval_rewrite_as_tanh(self, arg, **kwargs):
        return (sympy.tanh(arg / 2) + 1) / 2

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_is_positive(self):
        return self.args[0].is_real

    def _numpycode(self, printer):
        # exp(-log(1 + e^{-u})): no overflow for any u, relative error of a
        # few ulp on both tails (1/(1+exp(-u)) overflows for u < -709).
        arg = printer._print(self.args[0])
        np = printer._module_format(printer._module + ".exp")
        lae = printer._module_format(printer._module + ".logaddexp")
        return f"{np}(-{lae}(0, -({arg})))"

    def _mpmathcode(self, printer):
        exp = printer._module_format("mpmath.exp")  # registers the import for lambdify
        return f"1/(1 + {exp}(-({printer._print(self.args[0])})))"


class tanh(sympy.tanh):
    """:math:`\\tanh u`, value in (-1, 1); derivative :math:`1 - \\tanh^2 u` in (0, 1].

    SymPy's ``tanh`` with a cheap ``eval``: SymPy's own consults the assumption
    system for the sign of every argument (to pull out minus signs), which
    cost 40 ms of ``symgrad derive lstm``'s start-up and rewrote equations
    away from how they were written.
    """

    @classmethod
    def eval(cls, arg):
        if arg.is_Number and arg == 0:
            return sympy.Integer(0)
        return None

    def fdiff(self, argindex=1):
        return 1 - self**2


class relu(_Activation):
    """The rectifier :math:`\\max(0, u)`; derivative the indicator :math:`[u > 0]`."""

    tex = r"\operatorname{relu}"

    @staticmethod
    def closed(u):
        return sympy.Max(0, u)

    def fdiff(self, argindex=1):
        # relu'(0) taken as 0 (the convention of PyTorch and NumPy code alike).
        return sympy.Heaviside(self.args[0], 0)

    @classmethod
    def eval(cls, arg):
        if arg.is_Number:
            return sympy.Max(0, arg)
        return None

    def _eval_rewrite_as_Max(self, arg, **kwargs):
        return self.closed(arg)

    def _numpycode(self, printer):
        mx = printer._module_format(printer._module + ".maximum")
        return f"{mx}(0, {printer._print(self.args[0])})"

    def _mpmathcode(self, printer):
        return f"max(0, {printer._print(self.args[0])})"


class softplus(_Activation):
    """:math:`\\log(1 + e^u)`, whose derivative is :math:`\\sigma(u)`."""

    tex = r"\operatorname{softplus}"

    @staticmethod
    def closed(u):
        return sympy.log(1 + sympy.exp(u))

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0])

    def _eval_rewrite_as_exp(self, arg, **kwargs):
        return self.closed(arg)

    def _numpycode(self, printer):
        lae = printer._module_format(printer._module + ".logaddexp")
        return f"{lae}(0, {printer._print(self.args[0])})"

    def _mpmathcode(self, printer):
        log, exp = printer._module_format("mpmath.log"), printer._module_format("mpmath.exp")
        return f"{log}(1 + {exp}({printer._print(self.args[0])}))"


# ---------------------------------------------------------------- how each is evaluated
#
# mpmath forms (the self-check and --at, 30 digits and more), arb forms (ball
# arithmetic: rigorous enclosures), NumPy forms (float64 or complex128: the
# forward pass that finite differences and the complex step see). A NumPy form
# must stay finite for complex arguments of any real part, so that the complex
# step goes through it.


def _mp_sigmoid(x):
    return 1 / (1 + mpmath.exp(-x))


def _mp_relu(x):
    return max(mpmath.mpf(0), x)


def _mp_softplus(x):
    return mpmath.log(1 + mpmath.exp(x))


def _arb_sigmoid(x):
    return 1 / (1 + (-x).exp())


def _arb_tanh(x):
    return x.tanh()


def _arb_relu(x):
    from flint import arb

    return x.max(arb(0))


def _arb_exp(x):
    return x.exp()


def _arb_log(x):
    return x.log()


def _arb_sqrt(x):
    return x.sqrt()


def _np():
    import numpy

    return numpy


def _np_sigmoid(z):
    # e^{-|Re z|} never overflows; both branches are analytic, so the complex
    # step goes through them.
    np = _np()
    positive = np.real(z) >= 0
    e = np.exp(np.where(positive, -z, z))
    return np.where(positive, 1.0 / (1.0 + e), e / (1.0 + e))


def _np_softplus(z):
    np = _np()
    positive = np.real(z) > 0
    e = np.exp(np.where(positive, -z, z))
    return np.where(positive, z, 0.0) + np.log1p(e)


def _np_tanh(z):
    return _np().tanh(z)


def _np_relu(z):
    return _np().maximum(0.0, z)


def _np_exp(z):
    return _np().exp(z)


def _np_log(z):
    return _np().log(z)


def _np_abs(z):
    return _np().abs(z)


def _np_sqrt(z):
    return _np().sqrt(z)


# ---------------------------------------------------------------- the table


@dataclass(frozen=True)
class Primitive:
    """What symgrad knows about one function an equation may call.

    ``function``: the SymPy class; ``range``: the closure of its values over
    the reals; ``slope_sup``: :math:`\\sup_u |f'(u)|` (None: unbounded), the
    gamma of the classical vanishing condition (certified by ``symgrad bound
    sigmoid-slope`` and ``tanh-slope``); ``analytic``: differentiable in the
    complex plane (the complex step applies); ``bounded``: its value is
    bounded, so an ``exp`` inside it cannot overflow the result;
    ``exponential``: it exponentiates its argument (an ``exp`` inside one
    overflows every format); ``increasing``: monotone, so an interval maps to
    the interval of its ends; ``mpmath``, ``arb``, ``numpy``: its value in
    each arithmetic.
    """

    name: str
    function: type
    range: tuple[float, float]
    slope_sup: float | None
    analytic: bool
    bounded: bool
    exponential: bool
    increasing: bool
    mpmath: object
    arb: object
    numpy: object


_INF = float("inf")

#: Functions an equation may call, by the name it is called with.
PRIMITIVES = {
    p.name: p
    for p in (
        Primitive(
            "sigmoid", sigmoid, (0.0, 1.0), 0.25, True, True, True, True,
            _mp_sigmoid, _arb_sigmoid, _np_sigmoid,
        ),
        Primitive(
            "tanh", tanh, (-1.0, 1.0), 1.0, True, True, False, True,
            mpmath.tanh, _arb_tanh, _np_tanh,
        ),
        Primitive(
            "relu", relu, (0.0, _INF), 1.0, False, False, False, True,
            _mp_relu, _arb_relu, _np_relu,
        ),
        Primitive(
            "softplus", softplus, (0.0, _INF), 1.0, True, False, True, True,
            _mp_softplus, None, _np_softplus,
        ),
        Primitive(
            "exp", sympy.exp, (0.0, _INF), None, True, False, True, True,
            mpmath.exp, _arb_exp, _np_exp,
        ),
        Primitive(
            "log", sympy.log, (-_INF, _INF), None, True, False, False, True,
            mpmath.log, _arb_log, _np_log,
        ),
        Primitive(
            "sqrt", sympy.sqrt, (0.0, _INF), None, True, False, False, True,
            mpmath.sqrt, _arb_sqrt, _np_sqrt,
        ),
        Primitive(
            "abs", sympy.Abs, (0.0, _INF), 1.0, False, False, False, False,
            abs, None, _np_abs,
        ),
    )
}  # fmt: skip

# sqrt(u) is the power u**(1/2) in SymPy, not a call: found by its exponent.
_CALLS = {p.function: p for p in PRIMITIVES.values() if p.name != "sqrt"}
_HALF = sympy.Rational(1, 2)


def primitive_of(expr) -> Primitive | None:
    """The :class:`Primitive` that ``expr`` is a call of (sqrt: a power 1/2), else None.

    SymPy's own ``tanh`` counts as symgrad's (a subclass of it)."""
    p = _CALLS.get(type(expr))
    if p is not None:
        return p
    if isinstance(expr, sympy.tanh):
        return PRIMITIVES["tanh"]
    if expr.is_Pow and expr.exp == _HALF:
        return PRIMITIVES["sqrt"]
    return None


# ---------------------------------------------------------------- one evaluator, three arithmetics


class _Backend:
    """The arithmetic of :func:`evaluate`: how numbers, sums, products, powers,
    indicators and calls are done. ``complement`` (optional) is the value of
    ``1 - g`` taken directly (sigma(-u) for a gate g), where subtracting would
    cancel digits."""

    name = ""

    def number(self, q):
        raise NotImplementedError

    def add(self, values):
        raise NotImplementedError

    def mul(self, values):
        raise NotImplementedError

    def power(self, base, exponent, evaluated_exponent):
        raise NotImplementedError

    def heaviside(self, x, at_zero):
        raise NotImplementedError

    def sign(self, x):
        raise TypeError(f"no {self.name} arithmetic for sign")

    def call(self, primitive, x):
        raise NotImplementedError


class DomainError(ValueError):
    """An expression evaluated outside its domain: log of a number <= 0, the
    square root of a negative number, a division by zero, the derivative of
    abs at 0. The message names the operation and the value."""


class _Mpmath(_Backend):
    """mpmath at the working precision (``mpmath.workdps``); outside a
    function's real domain it raises :class:`DomainError`, never a complex
    number or a division by zero."""

    name = "mpmath"

    def number(self, q):
        if q.is_Rational:
            return mpmath.mpf(q.p) / q.q
        return mpmath.mpf(str(q))

    def add(self, values):
        return mpmath.fsum(values)

    def mul(self, values):
        return mpmath.fprod(values)

    def power(self, base, exponent, evaluated_exponent):
        if base == 0 and exponent.is_negative:
            raise DomainError(f"division by zero (0 to the power {exponent})")
        if base < 0 and not exponent.is_Integer:
            raise DomainError(f"{_show(base)} to the power {exponent} is not a real number")
        return base**evaluated_exponent

    def heaviside(self, x, at_zero):
        at_zero = mpmath.mpf(0.5) if at_zero is None else at_zero
        return mpmath.mpf(1) if x > 0 else (mpmath.mpf(0) if x < 0 else at_zero)

    def sign(self, x):
        if x == 0:
            raise DomainError("abs is not differentiable at 0 (its derivative there is undefined)")
        return mpmath.sign(x)

    def call(self, primitive, x):
        if primitive.name == "log" and x <= 0:
            raise DomainError(f"log of {_show(x)} is not a real number")
        return primitive.mpmath(x)


class _Arb(_Backend):
    """python-flint's arb balls at its working precision: each result encloses
    the exact value of the expression at the (exact) inputs."""

    name = "arb"

    def number(self, q):
        from flint import arb

        return arb(int(q.p)) / int(q.q) if not q.is_Integer else arb(int(q))

    def add(self, values):
        out = values[0]
        for v in values[1:]:
            out = out + v
        return out

    def mul(self, values):
        out = values[0]
        for v in values[1:]:
            out = out * v
        return out

    def power(self, base, exponent, evaluated_exponent):
        if exponent == _HALF:
            return base.sqrt()
        if not exponent.is_Integer:
            raise TypeError(f"no ball arithmetic for the power {exponent}")
        # By multiplication: python-flint's ** is nan on a ball that holds 0
        # and loose on others ((1 +/- 1/2)^3 came out as [+/- 3.38]).
        k = int(exponent)
        out = base * 0 + 1
        for _ in range(abs(k)):
            out = out * base
        return 1 / out if k < 0 else out

    def heaviside(self, x, at_zero):
        raise TypeError("no ball arithmetic for Heaviside")

    def call(self, primitive, x):
        if primitive.arb is None:
            raise TypeError(f"no ball arithmetic for {primitive.function.__name__}")
        return primitive.arb(x)


class _NumPy(_Backend):
    """NumPy arrays, real or complex: the forward pass finite differences see.

    ``1 - g`` for a gate g = sigma(u) is sigma(-u), computed, not subtracted:
    1 - 0.9999999999999 would leave three digits."""

    name = "numpy"

    def number(self, q):
        return float(q)

    def add(self, values):
        return sum(values[1:], values[0]) if values else 0.0

    def mul(self, values):
        out = values[0]
        for v in values[1:]:
            out = out * v
        return out

    def power(self, base, exponent, evaluated_exponent):
        if exponent.is_Integer:
            k = int(exponent)
            return base**k if k > 0 else 1.0 / base ** (-k)
        if exponent == _HALF:
            return _np().sqrt(base)
        return _np().power(base, float(exponent))

    def heaviside(self, x, at_zero):
        return _np().heaviside(x, 0.5 if at_zero is None else float(at_zero))

    def sign(self, x):
        return _np().sign(x)

    def call(self, primitive, x):
        return primitive.numpy(x)


def _show(x) -> str:
    """A number for a message: a few digits are enough to recognise it."""
    return mpmath.nstr(x, 6)


MPMATH = _Mpmath()
ARB = _Arb()
NUMPY = _NumPy()


def complement_pairs(args, partner) -> tuple[list, list]:
    """The ``1 - g`` (and ``g - 1``) inside a sum's ``args``, for g with a partner.

    ``partner(g)`` returns the complement of g (a symbol, a value) or None.
    Returns ``(pairs, rest)``: ``pairs`` a list of ``(one, value)`` with
    ``one`` = +1 for 1 - g and -1 for g - 1, each pair consuming the term
    ``-one*g`` and one constant ``one`` of the sum; ``rest`` the other args in
    their order. A complement is taken directly instead of subtracting two
    numbers close to 1 (the stable forms of :mod:`symgrad.numeric` and the
    forward pass of :mod:`symgrad.check`).
    """
    rest, pairs = list(args), []
    for arg in args:
        coeff, g = arg.as_coeff_Mul()
        if abs(coeff) != 1 or arg not in rest or -coeff not in rest:
            continue
        value = partner(g)
        if value is None:
            continue
        pairs.append((-coeff, value))
        rest.remove(arg)
        rest.remove(-coeff)
    return pairs, rest


def evaluate(expr, env: dict, backend: _Backend = MPMATH, memo: dict | None = None, partner=None):
    """``expr`` at ``env`` (symbol -> value) in ``backend``'s arithmetic.

    A direct walk of the tree, every subexpression once (``memo``, shared
    across calls if given): independent of SymPy's ``evalf`` and many times
    faster on a cell's composed expressions. ``partner(g)``, if given, is
    the directly computed value of ``1 - g`` for the g it knows (see
    :func:`complement_pairs`); a ``1 - sigmoid(u)`` written out is always
    taken as ``sigmoid(-u)`` then. Raises ``TypeError`` for a function the
    backend cannot evaluate.
    """
    memo = {} if memo is None else memo

    def walk(e):
        value = memo.get(e)
        if value is not None:
            return value
        if e.is_Symbol:
            value = env[e]
        elif e.is_Number:
            value = backend.number(e)
        elif e.is_Add:
            value = _add(e)
        elif e.is_Mul:
            value = backend.mul([walk(a) for a in e.args])
        elif e.is_Pow:  # sqrt too: each backend's power takes the exponent 1/2
            value = backend.power(walk(e.base), e.exp, walk(e.exp))
        elif isinstance(e, sympy.Heaviside):
            x = walk(e.args[0])
            value = backend.heaviside(x, walk(e.args[1]) if len(e.args) > 1 else None)
        elif isinstance(e, sympy.sign):  # the derivative of abs
            value = backend.sign(walk(e.args[0]))
        else:
            p = primitive_of(e)
            if p is None:
                raise TypeError(f"cannot evaluate {type(e).__name__} numerically")
            value = backend.call(p, walk(e.args[0]))
        memo[e] = value
        return value

    def complement(g):
        if isinstance(g, sigmoid):
            return backend.call(PRIMITIVES["sigmoid"], -walk(g.args[0]))
        return partner(g)

    def _add(e):
        if partner is None:
            return backend.add([walk(a) for a in e.args])
        pairs, rest = complement_pairs(e.args, complement)
        signed = [backend.number(one) * value for one, value in pairs]
        return backend.add([*signed, *(walk(a) for a in rest)])

    return walk(expr)
