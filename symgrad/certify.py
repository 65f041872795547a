"""Certified suprema: interval arithmetic on python-flint's ``arb`` with branch and bound.

An enclosure ``[lo, hi]`` of :math:`\\sup_{x \\in D} |g(x)|` is a proof, not a
sample:

- ``lo`` is :math:`|g|` at a point of D, enclosed and rounded down;
- ``hi`` bounds :math:`|g|` on every box of a cover of ``D``. On a box X the
  natural interval extension g(X) and the mean-value form
  :math:`g(m) + \\sum_k \\partial_k g(X)\\,(X_k - m_k)` both bound it, and the
  smaller bound counts (the mean-value form's excess shrinks like
  the square of the box width near a smooth maximum, so a 1e-9 enclosure needs
  boxes of width ~3e-5, not 1e-9); a box on which g and some
  :math:`\\partial_k g` keep their signs is replaced by the face where
  :math:`|g|` is largest. Boxes whose bound falls below ``lo`` are discarded.
- a variable ranging over an unbounded interval is cut at :math:`|x| = V` by a
  :class:`TailLemma`, stated from the factors of g and checked in ball
  arithmetic: beyond V, :math:`|g(x)| \\le C |x|^k e^{-\\lambda |x|} \\le
  C V^k e^{-\\lambda V} <` ``lo``, so the supremum lies inside the cut.

Intervals are pairs ``(lo, hi)`` of exact arb numbers. Each operation is done
by arb, whose tanh, exp, products and sums come with rigorous error balls, and
the result's ends are taken outward (``ball.lower()``, ``ball.upper()``).
Pairs rather than arb's own midpoint-radius balls: a ball's radius has 30
bits, so [0, c] as a ball reaches below 0, and 1 - h^2 would exceed 1 near
h = 0; a claim such as "sup <= 1" with the supremum exactly 1 could never be
proved. The derivatives :math:`\\partial_k g` come from the engine's
differentiator (:func:`symgrad.derivation.partial`), so they are in gate form too.
Arithmetic uses :data:`PREC` bits throughout, far more than any tolerance asks
for.

mpmath's interval type has no tanh, and tanh written through exp loses the
enclosure (the argument appears twice); arb's tanh, sech and exp are rigorous.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from fractions import Fraction

import sympy
from flint import arb, ctx, fmpq

from .derivation import partial
from .primitives import PRIMITIVES, primitive_of, sigmoid

__all__ = [
    "PREC",
    "CertificateError",
    "IntervalFunction",
    "Supremum",
    "TailLemma",
    "ball",
    "bracket_root",
    "decide",
    "down",
    "ends",
    "fixed",
    "scientific",
    "significant",
    "up",
]

#: Working precision of every operation, in bits (~38 digits). arb's cost
#: barely depends on it at this size, and it leaves room to refine an undecided
#: claim to widths of 1e-20 on values up to 1e3 and more.
PREC = 128
#: A branch and bound that needs more boxes than this has met a function it
#: cannot separate (or a bug): it stops with an error rather than run on.
MAX_SUBDIVISIONS = 200_000
#: Coarse grid that finds a first positive lower bound, to place a tail cut-off.
SCOUT_POINTS = 33
SCOUT_HALF_WIDTH = 8


class CertificateError(ArithmeticError):
    """A certificate that cannot be built (no tail lemma, no convergence)."""


# ---------------------------------------------------------------- balls and floats


def ball(value) -> arb:
    """An exact rational (int, Fraction, SymPy Rational) as a ball at the current precision."""
    value = Fraction(int(value.p), int(value.q)) if isinstance(value, sympy.Rational) else value
    value = Fraction(value)
    return arb(fmpq(value.numerator, value.denominator))


def down(x: arb) -> float:
    """The largest float at or below every point of the ball ``x``."""
    low = x.lower()
    f = float(low)
    return math.nextafter(f, -math.inf) if arb(f) > low else f


def up(x: arb) -> float:
    """The smallest float at or above every point of the ball ``x``."""
    high = x.upper()
    f = float(high)
    return math.nextafter(f, math.inf) if arb(f) < high else f


def _rounding(direction: str) -> str:
    if direction not in ("down", "up"):
        raise ValueError(f"unknown direction {direction!r}. Valid: down, up")
    return ROUND_FLOOR if direction == "down" else ROUND_CEILING


def fixed(x: float, decimals: int, direction: str) -> str:
    """``x`` with ``decimals`` decimals, rounded ``"down"`` or ``"up"``: a printed
    bound stays a bound (0.44774320468 with 10 decimals is 0.4477432046 down)."""
    quantum = Decimal(1).scaleb(-decimals)
    return f"{Decimal(x).quantize(quantum, rounding=_rounding(direction)):f}"


def significant(x: float, digits: int, direction: str) -> str:
    """``x`` with ``digits`` significant digits in plain notation, rounded
    ``"down"`` or ``"up"``, trailing zeros dropped: 0.4477432046 (down), 1."""
    d = Decimal(x)
    if d == 0:
        return "0"
    quantum = Decimal(1).scaleb(d.adjusted() - digits + 1)
    return f"{d.quantize(quantum, rounding=_rounding(direction)).normalize():f}"


def scientific(x: float, digits: int, direction: str) -> str:
    """``x`` as ``m.mme-XX`` with ``digits`` significant digits, rounded ``"down"``
    or ``"up"`` (e^-4 = 0.0183156... is 1.84e-02 up, not 1.83e-02)."""
    d = Decimal(x)
    if d == 0:
        return f"{0:.{digits - 1}e}"
    exponent = d.adjusted()
    quantum = Decimal(1).scaleb(-(digits - 1))
    mantissa = d.scaleb(-exponent).quantize(quantum, rounding=_rounding(direction))
    if abs(mantissa) >= 10:  # 9.99.. rounded up to 10.0
        exponent += 1
        mantissa = d.scaleb(-exponent).quantize(quantum, rounding=_rounding(direction))
    return f"{mantissa:f}e{exponent:+03d}"


def decide(lhs, op: str, rhs) -> str:
    """``"proved"``, ``"refuted"`` or ``"undecided"`` for ``lhs op rhs``, op in < <= >= >.

    Each side is a ball or an exact ``(lo, hi)`` pair (kept apart, as a ball
    around [1, 1 + 1e-30] would also reach below 1). A verdict holds for every
    pair of points of the two sides, so for the true values they enclose.
    """
    (a, b), (c, d) = ends(lhs), ends(rhs)
    if op == "<":
        return "proved" if b < c else "refuted" if a >= d else "undecided"
    if op == "<=":
        return "proved" if b <= c else "refuted" if a > d else "undecided"
    if op == ">=":
        return "proved" if a >= d else "refuted" if b < c else "undecided"
    if op == ">":
        return "proved" if a > d else "refuted" if b <= c else "undecided"
    raise ValueError(f"unknown comparison {op!r}. Valid: <, <=, >=, >")


def ends(x) -> tuple[arb, arb]:
    """The exact (lo, hi) of a ball, or a pair as it is."""
    return x if isinstance(x, tuple) else (x.lower(), x.upper())


def _power(x: arb, k: int) -> arb:
    out = arb(1)
    for _ in range(k):
        out = out * x
    return out


# ---------------------------------------------------------------- interval arithmetic


def _min(values):
    best = values[0]
    for v in values[1:]:
        if v < best:
            best = v
    return best


def _max(values):
    best = values[0]
    for v in values[1:]:
        if v > best:
            best = v
    return best


def _add(x, y):
    return (x[0] + y[0]).lower(), (x[1] + y[1]).upper()


def _mul(x, y):
    (a, b), (c, d) = x, y
    if a >= 0 and c >= 0:
        return (a * c).lower(), (b * d).upper()
    products = [a * c, a * d, b * c, b * d]
    return _min([p.lower() for p in products]), _max([p.upper() for p in products])


def _pow(x, k: int):
    """x**k, k >= 0: tight for intervals that contain 0 (x*x would give [-r^2, r^2])."""
    a, b = x
    if k % 2 == 1 or a >= 0:
        return _power(a, k).lower(), _power(b, k).upper()
    if b <= 0:
        return _power(b, k).lower(), _power(a, k).upper()
    return arb(0), _power(_max([-a, b]), k).upper()


def _increasing(f):
    """The interval rule of an increasing function f of a ball."""

    def rule(x):
        return f(x[0]).lower(), f(x[1]).upper()

    rule.__name__ = f.__name__
    return rule


def _abs(x):
    a, b = x
    if a >= 0:
        return x
    if b <= 0:
        return -b, -a
    return arb(0), _max([-a, b])


def _rule(primitive):
    """The interval rule of a primitive: its ball form at both ends where it is
    increasing, the case split of |x| for abs; None where arb has no form."""
    if primitive.name == "abs":
        return _abs
    if primitive.increasing and primitive.arb is not None:
        return _increasing(primitive.arb)
    return None


_RULES = {p.name: _rule(p) for p in PRIMITIVES.values()}


class IntervalFunction:
    """A SymPy expression evaluated in interval arithmetic: ``f([(lo, hi), ...]) -> (lo, hi)``.

    ``variables`` fixes the order of the arguments; each is an interval of
    exact arbs (a point is ``(x, x)``). Supported: exact rationals, + and *,
    integer powers >= 0, square roots, sigmoid, tanh, exp, log, abs. The
    expression is compiled once into a postfix program. The result encloses
    the range of the expression over the box (a variable appearing twice
    widens it, never narrows it).
    """

    def __init__(self, expr, variables):
        self.expr = expr
        self.variables = tuple(variables)
        self._index = {v: k for k, v in enumerate(self.variables)}
        self._program: list = []
        self._emit(expr)

    def _emit(self, e) -> None:
        prog = self._program
        if e in self._index:
            prog.append(("var", self._index[e]))
        elif e.is_Rational:
            prog.append(("const", fmpq(int(e.p), int(e.q))))
        elif e.is_Add or e.is_Mul:
            for a in e.args:
                self._emit(a)
            prog.append(("add" if e.is_Add else "mul", len(e.args)))
        elif e.is_Pow and e.exp.is_Integer and e.exp >= 0:
            self._emit(e.base)
            prog.append(("pow", int(e.exp)))
        else:
            p = primitive_of(e)  # sqrt included: the power 1/2
            rule = None if p is None else _RULES[p.name]
            if rule is None:
                raise CertificateError(f"no interval arithmetic for {e} (in {self.expr})")
            self._emit(e.base if e.is_Pow else e.args[0])
            prog.append(("call", rule))

    def __call__(self, args) -> tuple[arb, arb]:
        stack: list = []
        for op, arg in self._program:
            if op == "var":
                stack.append(args[arg])
            elif op == "const":
                stack.append(ends(arb(arg)))
            elif op in ("add", "mul"):
                combine = _add if op == "add" else _mul
                result = stack[-arg]
                for x in stack[-arg + 1 :]:
                    result = combine(result, x)
                del stack[-arg:]
                stack.append(result)
            elif op == "pow":
                stack.append(_pow(stack.pop(), arg))
            else:
                stack.append(arg(stack.pop()))
        return stack[0]


# ---------------------------------------------------------------- tail lemmas


@dataclass(frozen=True)
class TailLemma:
    """For |x| >= ``cutoff``: :math:`|g(x)| \\le C |x|^k e^{-\\lambda |x|}`, a
    decreasing function there (``cutoff`` >= max(1, k/lambda)), so
    :math:`|g| \\le` :meth:`bound` on the whole tail.

    ``reasons`` justify the envelope factor by factor (sech^2 x <= 4 e^{-2|x|}
    because cosh x >= e^{|x|}/2; sigma(x)(1 - sigma(x)) = e^{-|x|}/(1 + e^{-|x|})^2
    <= e^{-|x|}; a polynomial p with coefficients c_j has |p(x)| <= (sum |c_j|)
    |x|^deg for |x| >= 1; tanh and sigma are at most 1 in absolute value).
    """

    variable: sympy.Symbol
    coefficient: Fraction  # C
    degree: int  # k
    rate: int  # lambda
    cutoff: int  # V
    reasons: tuple[str, ...]

    def envelope(self, t) -> arb:
        """:math:`C t^k e^{-\\lambda t}` as a ball, for a ball or number t >= 0."""
        t = t if isinstance(t, arb) else ball(t)
        return ball(self.coefficient) * _power(t, self.degree) * (-self.rate * t).exp()

    def bound(self) -> arb:
        return self.envelope(self.cutoff)

    def holds_below(self, lo: arb) -> bool:
        """True if the tail bound is certainly below ``lo`` (the lemma then confines
        the supremum to |x| < cutoff)."""
        return self.cutoff >= max(1, self.degree / self.rate) and self.bound() < lo

    def envelope_latex(self, name: str) -> str:
        """:math:`C |x|^k e^{-\\lambda |x|}` in LaTeX, ``name`` the LaTeX of x."""
        c = f"{self.coefficient}" if self.coefficient != 1 else ""
        poly = {0: "", 1: f"|{name}|"}.get(self.degree, f"|{name}|^{{{self.degree}}}")
        rate = "" if self.rate == 1 else str(self.rate)
        factor = f"{c}{poly}\\, " if c or poly else ""
        return f"{factor}e^{{-{rate}|{name}|}}"


def make_tail_lemma(expr, x, lower: arb) -> TailLemma:
    """A tail lemma for ``|expr|`` in the variable ``x`` whose bound is below ``lower``/4.

    ``expr`` must be a product of factors the lemma knows (polynomials in x,
    1 - tanh^2 x, sigma(x) with 1 - sigma(x), tanh x, sigma(x), powers of these)
    whose exponential rates add up to lambda > 0; else :class:`CertificateError`.
    """
    sig, one_minus_sig = sigmoid(x), 1 - sigmoid(x)
    bases = [
        (f.base, int(f.exp)) if f.is_Pow and f.exp.is_Integer and f.exp > 0 else (f, 1)
        for f in sympy.Mul.make_args(expr)
    ]
    coefficient, degree, rate, reasons = Fraction(1), 0, 0, []
    n_sig = sum(n for b, n in bases if b == sig)
    n_one_minus = sum(n for b, n in bases if b == one_minus_sig)
    pairs = min(n_sig, n_one_minus)
    if n_sig + n_one_minus > 2 * pairs:
        reasons.append("$0 < \\sigma(x) < 1$")
    if pairs:
        rate += pairs
        reasons.append("$\\sigma(x)(1 - \\sigma(x)) = e^{-|x|}/(1 + e^{-|x|})^2 \\le e^{-|x|}$")
    for base, n in bases:
        if base.is_Rational:
            coefficient *= abs(Fraction(int(base.p), int(base.q))) ** n
        elif base in (sig, one_minus_sig):
            pass  # counted above
        elif _is_call(base, sympy.tanh, x):
            reasons.append("$|\\tanh x| \\le 1$")
        elif _is_sech2(base, x):
            coefficient *= 4**n
            rate += 2 * n
            reasons.append(
                "$1 - \\tanh^2 x = \\operatorname{sech}^2 x \\le 4 e^{-2|x|}$, as "
                "$\\cosh x \\ge e^{|x|}/2$"
            )
        elif base.is_polynomial(x) and all(c.is_Rational for c in sympy.Poly(base, x).all_coeffs()):
            poly = sympy.Poly(base, x)
            total = sum(abs(Fraction(int(c.p), int(c.q))) for c in poly.all_coeffs())
            coefficient *= total**n
            degree += poly.degree() * n
            if base != x:
                generic = sympy.latex(base.xreplace({x: sympy.Symbol("x")}))
                power = "|x|" if poly.degree() == 1 else f"|x|^{{{poly.degree()}}}"
                reasons.append(f"$|{generic}| \\le {total} {power}$ for $|x| \\ge 1$")
        else:
            raise CertificateError(f"no tail lemma for the factor {base} of {expr}")
    if rate <= 0:
        raise CertificateError(f"|{expr}| does not decay as |{x}| grows: no tail lemma")
    cutoff = max(1, math.ceil(degree / rate))
    while True:
        lemma = TailLemma(x, coefficient, degree, rate, cutoff, tuple(dict.fromkeys(reasons)))
        if lemma.bound() < lower / 4:
            return lemma
        cutoff *= 2


def _is_call(e, kind, x) -> bool:
    return isinstance(e, kind) and e.args == (x,)


def _is_sech2(e, x) -> bool:
    """``e`` is 1 - tanh(x)**2, tanh' as the engine writes it."""
    rest = 1 - e
    return rest.is_Pow and rest.exp == 2 and _is_call(rest.base, sympy.tanh, x)


# ---------------------------------------------------------------- branch and bound


class Supremum:
    """A certified enclosure of :math:`\\sup |g|` over a product of intervals, or
    with ``signed`` of :math:`\\sup g` itself.

    ``expr``: a SymPy expression in ``variables`` (no other free symbols);
    ``domains``: per variable ``(lo, hi)`` with exact rational ends, ``None`` for
    an infinite end (at most one variable may have one; a :class:`TailLemma`
    then cuts it; a signed supremum takes bounded domains only: its tails are
    the caller's). Call :meth:`refine` with a tolerance; :attr:`lo`, :attr:`hi`
    are exact arb numbers with lo <= sup |g| (sup g) <= hi, and ``hi - lo``
    shrinks as the tolerance does. ``subdivisions`` counts the boxes split so far.
    """

    def __init__(self, expr, variables, domains, signed: bool = False):
        self.expr = expr
        self.signed = signed
        self.variables = tuple(variables)
        extra = expr.free_symbols - set(self.variables)
        if extra:
            raise CertificateError(f"{expr} has free symbols {extra} without a domain")
        self.g = IntervalFunction(expr, self.variables)
        self.grad = [IntervalFunction(partial(expr, v), self.variables) for v in self.variables]
        self.subdivisions = 0
        self.tail: TailLemma | None = None
        self._heap: list = []
        self._count = 0
        with ctx.workprec(PREC):
            # |g| >= 0 everywhere; a signed g may be negative everywhere: its
            # first point sets the first lower bound.
            self._best = None if signed else arb(0)
            self._best_point = None
            box = self._cut_domains(domains)
            self._push(box)

    # The domain, cut by a tail lemma where it is unbounded.
    def _cut_domains(self, domains):
        ends = [domains[v] for v in self.variables]
        if any(lo is None or hi is None for lo, hi in ends):
            if self.signed:
                raise CertificateError("a signed supremum needs bounded domains")
            if len(self.variables) != 1:
                raise CertificateError(
                    f"unbounded domains are supported in one variable only (got {self.variables})"
                )
            ends = [self._cut(*ends[0])]
        # Outward ends for the cover (hi), inward ends for points (lo): the two
        # coincide unless an end is not a binary fraction (L = 1/3).
        self._outer = [(ball(lo).lower(), ball(hi).upper()) for lo, hi in ends]
        self._inner = [(ball(lo).upper(), ball(hi).lower()) for lo, hi in ends]
        return list(self._outer)

    def _cut(self, lo, hi) -> tuple:
        x = self.variables[0]
        # A first lower bound from a coarse grid, to place the cut-off.
        a = Fraction(-SCOUT_HALF_WIDTH if lo is None else lo)
        b = Fraction(SCOUT_HALF_WIDTH if hi is None else hi)
        scout = _max(
            [
                _abs_lower(self.g([ends(ball(a + (b - a) * k / (SCOUT_POINTS - 1)))]))
                for k in range(SCOUT_POINTS)
            ]
        )
        if not scout > 0:
            raise CertificateError(f"|{self.expr}| vanishes on the scouting grid: no tail cut-off")
        self.tail = make_tail_lemma(self.expr, x, scout)
        v = Fraction(self.tail.cutoff)
        return (
            -v if lo is None else max(Fraction(lo), -v),
            v if hi is None else min(Fraction(hi), v),
        )

    def _point(self, m) -> list:
        """The centre as intervals; a coordinate beyond an inward end is replaced by
        the interval between the two ends, which holds the true end of the domain."""
        out = []
        for mk, (a_out, b_out), (a_in, b_in) in zip(m, self._outer, self._inner, strict=True):
            if mk < a_in:
                out.append((a_out, a_in))
            elif mk > b_in:
                out.append((b_in, b_out))
            else:
                out.append((mk, mk))
        return out

    def _enclose(self, box):
        """(upper bound of |g| on the box, |g| at a point of it rounded down, the
        point, the box after face collapses)."""
        box = list(box)
        while True:
            # A collapsed dimension is the pair (face, face): one object, so `is`.
            m = [a if a is b else ((a + b) / 2).mid() for a, b in box]
            gm = self.g(self._point(m))
            natural = self.g(box)
            slopes = {}
            mean_value = gm
            for k, (a, b) in enumerate(box):
                if a is not b:
                    slopes[k] = self.grad[k](box)
                    offset = ((a - m[k]).lower(), (b - m[k]).upper())
                    mean_value = _add(mean_value, _mul(slopes[k], offset))
            # Both enclose the range of g on the box: either bound is valid.
            # A signed g is largest at the face it increases towards, whatever its
            # sign: as if it were positive.
            positive = self.signed or natural[0] > 0 or mean_value[0] > 0
            negative = natural[1] < 0 or mean_value[1] < 0
            collapsed = False
            if positive or negative:
                # |g| = +-g grows towards one face along every monotone direction.
                for k, (lo, hi) in slopes.items():
                    if lo > 0 or hi < 0:
                        a, b = box[k]
                        face = b if (lo > 0) == positive else a
                        box[k] = (face, face)
                        collapsed = True
            if not collapsed:
                if self.signed:
                    return _min([natural[1], mean_value[1]]), gm[0], m, box
                hi = _min([_abs_upper(natural), _abs_upper(mean_value)])
                return hi, _abs_lower(gm), m, box

    def _push(self, box) -> None:
        hi, value, m, box = self._enclose(box)
        if self._best is None or value > self._best:
            self._best, self._best_point = value, m
        elif self._best_point is None:
            self._best_point = m
        if hi < self._best:
            return
        self._count += 1
        heapq.heappush(self._heap, (-up(hi), self._count, hi, box))

    def refine(self, tolerance: float) -> None:
        """Split boxes until hi - lo is at most ``tolerance`` (computed exactly; the
        floats around lo and hi may add an ulp each). ``CertificateError`` if that
        takes over :data:`MAX_SUBDIVISIONS` splits or the precision runs out."""
        with ctx.workprec(PREC):
            while True:
                if not self._heap:
                    raise CertificateError("every box was pruned, the maximiser's too: a bug")
                _, _, hi, box = self._heap[0]
                if hi - self._best <= tolerance:
                    break
                heapq.heappop(self._heap)
                if hi < self._best:
                    continue  # cannot hold the supremum: found a better point since
                widths = [0.0 if a is b else float((b - a).upper()) for a, b in box]
                k = max(range(len(box)), key=widths.__getitem__)
                if widths[k] == 0:
                    raise CertificateError(
                        f"precision exhausted at width {float(hi - self._best):.1e}"
                    )
                self.subdivisions += 1
                if self.subdivisions > MAX_SUBDIVISIONS:
                    raise CertificateError(
                        f"no enclosure of width {tolerance:g} after {MAX_SUBDIVISIONS} splits"
                    )
                a, b = box[k]
                mid = ((a + b) / 2).mid()
                for half in ((a, mid), (mid, b)):
                    child = list(box)
                    child[k] = half
                    self._push(child)
            if self.tail is not None and not self.tail.holds_below(self._best):
                raise CertificateError(
                    f"the tail bound {up(self.tail.bound()):.2e} is not below lo: no certificate"
                )

    @property
    def lo(self) -> arb:
        """An exact lower bound of the supremum: |g| (g) at the best point, rounded down."""
        return self._best

    @property
    def hi(self) -> arb:
        """An exact upper bound of the supremum over the whole domain (tail included)."""
        hi = self._heap[0][2]
        for _, _, h, _ in self._heap:
            if h > hi:
                hi = h
        return hi

    @property
    def argmax(self) -> tuple[float, ...]:
        """The point whose value gave :attr:`lo`."""
        return tuple(float(x) for x in self._best_point)


def _abs_lower(x: tuple) -> arb:
    """An exact lower bound of |t| over the interval x."""
    a, b = x
    return a if a > 0 else -b if b < 0 else arb(0)


def _abs_upper(x: tuple) -> arb:
    """An exact upper bound of |t| over the interval x."""
    return _max([-x[0], x[1]])


# ---------------------------------------------------------------- roots for closed forms


def bracket_root(h, lo: Fraction, hi: Fraction, steps: int = 100) -> arb:
    """A ball enclosing the root of ``h`` in [lo, hi], where ``h`` (a function of a
    ball) changes sign once: h(lo) < 0 < h(hi) is checked, then bisection keeps
    the sign change while the signs at the midpoints are certain."""
    with ctx.workprec(PREC):
        a, b = ball(lo), ball(hi)
        if not (h(a) < 0 and h(b) > 0):
            raise CertificateError("no certified sign change of the root's function")
        for _ in range(steps):
            m = ((a + b) / 2).mid()
            value = h(m)
            if value < 0:
                a = m
            elif value > 0:
                b = m
            else:
                break
        return a.union(b)
