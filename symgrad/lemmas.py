"""Statements proved for every value they quantify over, each step checked by SymPy.

A :class:`Lemma` is a statement and the steps of its proof; each step is an
exact identity (``expand``/``cancel`` to 0) or a sign that SymPy's assumptions
decide from how the symbols are declared (nonnegative, positive), and it is
checked each time the lemma is built: a step that does not check leaves the
lemma unproved. The joins between steps are the elementary rules of
inequalities (a sum or product of nonnegative numbers is nonnegative; a
supremum bounds each value), stated in the steps' text.

- :func:`triangle_bound`: :math:`S(a) \\le |a| + S(0)` for every real a;
- :func:`sharp_bound`: :math:`S(a) \\le (|a| + \\sqrt{1 + a^2})/2` for every real a;
- :func:`geometric_limits`: :math:`\\rho^{t-1} \\to 0` for every
  :math:`0 < \\rho < 1` and :math:`\\to \\infty` for every :math:`\\rho > 1`, and
  the products they bound;
- :func:`relu_unbounded`: :math:`\\sup_{|U| \\le L} |\\partial h_t/\\partial h_{t-1}|
  = L` for the ReLU cell and every L > 0;
- :func:`convex_step`: a GRU-type update keeps :math:`|h_t| < 1` whenever
  :math:`|h_{t-1}| < 1`, for every parameter value and input.

Here :math:`S(a) = \\sup_v |v - a|(1 - \\tanh^2 v)`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import sympy

from .cells import Cell, get_cell
from .derivation import compose, derive
from .primitives import relu
from .ranges import value_ranges
from .render import LatexMath

__all__ = [
    "Lemma",
    "Step",
    "convex_step",
    "geometric_limits",
    "relu_unbounded",
    "sharp_bound",
    "triangle_bound",
]


@dataclass(frozen=True)
class Step:
    """One step of a proof: ``text`` (inline LaTeX between ``$``) and whether
    SymPy checked it."""

    text: str
    holds: bool


@dataclass(frozen=True)
class Lemma:
    """A statement (inline LaTeX between ``$``) and its checked steps."""

    statement: str
    steps: tuple[Step, ...]

    @property
    def proved(self) -> bool:
        return bool(self.steps) and all(s.holds for s in self.steps)

    @property
    def argument(self) -> str:
        """The steps in one sentence, for a verdict's detail."""
        return "; ".join(s.text for s in self.steps)


# ---------------------------------------------------------------- checks


def _zero(expr) -> bool:
    """``expr == 0`` exactly: hyperbolic functions written through exp, then
    x = 2 log y for every real symbol x (y > 0), which makes every exp(+-x/2),
    exp(+-x) a power of y: a rational function that ``cancel`` decides."""
    expr = sympy.powsimp(expr.rewrite(sympy.exp))
    for x in sorted(expr.free_symbols, key=str):
        y = sympy.Symbol(f"{x.name}_y", positive=True)
        expr = sympy.powsimp(expr.xreplace({x: 2 * sympy.log(y)}))
    return sympy.cancel(sympy.expand(expr)) == 0


def _nonnegative(expr) -> bool:
    return sympy.expand(expr).is_nonnegative is True


def _triangle() -> Step:
    """|v - a| <= |v| + |a| in each sign case: v = +-p, a = +-q with p, q >= 0,
    and |v - a| = max(v - a, a - v)."""
    v, a = sympy.symbols("v a", real=True)
    p, q = sympy.symbols("p q", nonnegative=True)
    holds = True
    for sv, sa in itertools.product((1, -1), repeat=2):
        case = {v: sv * p, a: sa * q}
        bound = (sympy.Abs(v) + sympy.Abs(a)).xreplace(case)
        for side in (v - a, a - v):
            holds = holds and _nonnegative(bound - side.xreplace(case))
    return Step(
        "$|v - a| \\le |v| + |a|$: $|v| + |a| - (v - a) \\ge 0$ and $|v| + |a| + (v - a) "
        "\\ge 0$ in each of the four sign cases of $(v, a)$",
        holds,
    )


def _sech2_at_most_one() -> Step:
    v = sympy.Symbol("v", real=True)
    holds = _zero(1 - (1 - sympy.tanh(v) ** 2) - sympy.tanh(v) ** 2)
    holds = holds and (sympy.tanh(v) ** 2).is_nonnegative is True
    return Step("$1 - (1 - \\tanh^2 v) = \\tanh^2 v \\ge 0$, so $1 - \\tanh^2 v \\le 1$", holds)


# ---------------------------------------------------------------- the SimpleRNN's S(a)


def triangle_bound() -> Lemma:
    """:math:`S(a) \\le |a| + S(0)` for every real a (the triangle inequality)."""
    return Lemma(
        "$S(a) \\le |a| + S(0)$ for every real $a$: $|v - a|(1 - \\tanh^2 v) \\le "
        "|v|(1 - \\tanh^2 v) + |a|(1 - \\tanh^2 v) \\le S(0) + |a|$ for every $v$",
        (_triangle(), _sech2_at_most_one()),
    )


def sharp_bound() -> Lemma:
    """:math:`S(a) \\le B = (|a| + \\sqrt{1 + a^2})/2` for every real a:
    :math:`\\cosh^2 v \\ge 1 + v^2` and :math:`B(1 + t^2) - (|a| + t)` is a
    perfect square over 4B."""
    v = sympy.Symbol("v", real=True)
    sinh, cosh, tanh = sympy.sinh, sympy.cosh, sympy.tanh
    cosh_step = (
        _zero(cosh(v) ** 2 - 1 - sinh(v) ** 2)
        and _zero(sympy.diff(sinh(v) - v, v) - 2 * sinh(v / 2) ** 2)
        and sinh(0) == 0
        and sinh(-v) == -sinh(v)
        and _zero(1 - tanh(v) ** 2 - 1 / cosh(v) ** 2)
    )
    alpha, t = sympy.symbols("alpha t", nonnegative=True)
    b = sympy.Symbol("B", positive=True)
    sharp = (alpha + sympy.sqrt(1 + alpha**2)) / 2
    square = 4 * b * (b * (1 + t**2) - (alpha + t)) - (2 * b * t - 1) ** 2
    square_step = (
        sympy.expand(square - (4 * b**2 - 4 * alpha * b - 1)) == 0
        and sympy.expand(4 * sharp**2 - 4 * alpha * sharp - 1) == 0
        and sharp.is_positive is True
    )
    return Lemma(
        "$S(a) \\le B = (|a| + \\sqrt{1 + a^2})/2$ for every real $a$: $|v - a|(1 - \\tanh^2 v) "
        "\\le (|a| + |v|)/(1 + v^2) \\le B$ for every $v$ (equality in the second at "
        "$|v| = 1/(2B)$)",
        (
            _triangle(),
            Step(
                "$1 - \\tanh^2 v = 1/\\text{cosh}^2 v \\le 1/(1 + v^2)$: $\\text{cosh}^2 v - 1 = "
                "\\text{sinh}^2 v$, and $\\text{sinh}\\,v - v$ is 0 at $v = 0$, odd, with "
                "derivative $\\text{cosh}\\,v - 1 = 2\\,\\text{sinh}^2(v/2) \\ge 0$, so "
                "$|\\text{sinh}\\,v| \\ge |v|$",
                cosh_step,
            ),
            Step(
                "with $s = |a|$, $t = |v|$: $4B\\,[B(1 + t^2) - (s + t)] = (2Bt - 1)^2 + "
                "(4B^2 - 4sB - 1)$, and $4B^2 - 4sB - 1 = 0$, $B > 0$: so $(s + t)/(1 + t^2) "
                "\\le B$",
                square_step,
            ),
        ),
    )


# ---------------------------------------------------------------- vanishing and exploding


def geometric_limits() -> Lemma:
    """A uniform bound on every factor bounds the product by a geometric sequence,
    and :math:`\\rho^{t-1}` tends to 0 for every 0 < rho < 1, to infinity for
    every rho > 1 (rho = 1/(1 + e), resp. 1 + e, with e > 0 symbolic)."""
    rho, p, alpha, e = sympy.symbols("rho p alpha epsilon", positive=True)
    k = sympy.Symbol("k", integer=True, nonnegative=True)
    t = sympy.Symbol("t", integer=True, positive=True)
    d1, d2 = sympy.symbols("d_1 d_2", nonnegative=True)
    # |a_k| = alpha <= rho and |P| = p <= rho^k: rho^{k+1} - alpha p >= 0.
    below = rho ** (k + 1) - alpha * p
    below_step = _zero(
        below.xreplace({alpha: rho - d2, p: rho**k - d1}) - (rho * d1 + (rho**k - d1) * d2)
    ) and _nonnegative(rho * d1)
    # |a_k| >= rho, |P| >= rho^k: alpha p - rho^{k+1} >= 0.
    above = alpha * p - rho ** (k + 1)
    above_step = _zero(
        above.xreplace({alpha: rho + d2, p: rho**k + d1}) - ((rho + d2) * d1 + rho**k * d2)
    ) and _nonnegative((rho + d2) * d1 + rho**k * d2)
    vanish = sympy.limit((1 / (1 + e)) ** (t - 1), t, sympy.oo) == 0
    explode = sympy.limit((1 + e) ** (t - 1), t, sympy.oo) == sympy.oo
    return Lemma(
        "if $|\\partial h_k/\\partial h_{k-1}| \\le \\rho$ for every $k$, then "
        "$|\\prod_{k=2}^{t} \\partial h_k/\\partial h_{k-1}| \\le \\rho^{t-1} \\to 0$ for "
        "every $0 < \\rho < 1$; if $\\ge \\rho$ for every $k$, then $\\ge \\rho^{t-1} \\to "
        "\\infty$ for every $\\rho > 1$",
        (
            Step(
                "induction on the product $P$ of the first factors, with the next factor's "
                "$|\\partial h_{k+1}/\\partial h_k| = \\rho - d_2$ and $|P| = \\rho^k - d_1$ "
                "($d_1, d_2 \\ge 0$): $\\rho^{k+1} - (\\rho - d_2)|P| = \\rho d_1 + |P| d_2 "
                "\\ge 0$",
                below_step,
            ),
            Step(
                "with $\\rho + d_2$ and $|P| = \\rho^k + d_1$ instead: $(\\rho + d_2)|P| - "
                "\\rho^{k+1} = (\\rho + d_2) d_1 + \\rho^k d_2 \\ge 0$",
                above_step,
            ),
            Step(
                "every $0 < \\rho < 1$ is $1/(1 + d)$ and every $\\rho > 1$ is $1 + d$ with "
                "$d > 0$: $1/(1 + d)^{t-1} \\to 0$ and $(1 + d)^{t-1} \\to \\infty$ as "
                "$t \\to \\infty$, for symbolic $d > 0$ (SymPy's limit)",
                vanish and explode,
            ),
        ),
    )


# ---------------------------------------------------------------- ReLU


def relu_unbounded() -> Lemma:
    """For the engine's ReLU derivative: |D| <= |U| everywhere, and D = L at
    U = L, h_{t-1} = 1, W x_t + b = 0, for every L > 0 (symbolic L)."""
    cell = get_cell("rnn-relu")
    d = derive(cell)
    steps = d.total.atoms(sympy.Heaviside)
    indicator = bool(steps) and all(
        sympy.expand(d.total.xreplace({s: value for s in steps}) - value * cell.symbol("U")) == 0
        for value in (0, 1)
    )
    big_l = sympy.Symbol("L", positive=True)
    w, x, b, u, h_prev = (cell.symbol(n) for n in ("W", "x", "b", "U", "h_prev"))
    raw = compose(cell, {}, d.total).replace(relu, _max_form)
    at = raw.xreplace({u: big_l, h_prev: sympy.Integer(1), b: -w * x})
    attained = sympy.simplify(at - big_l) == 0
    return Lemma(
        "for every $L > 0$: $\\sup_{|U| \\le L} |\\partial h_t/\\partial h_{t-1}| = L$, so "
        "no bound independent of $U$ exists",
        (
            Step(
                "the engine's $\\partial h_t/\\partial h_{t-1}$ is $[h_t > 0]\\,U$, the "
                "indicator 0 or 1: $|\\partial h_t/\\partial h_{t-1}| \\le |U| \\le L$",
                indicator,
            ),
            Step(
                "at $U = L$, $h_{t-1} = 1$, $W x_t + b = 0$: $h_t = \\text{max}(0, L) = L > 0$ "
                "and $\\partial h_t/\\partial h_{t-1} = L$ (symbolic $L > 0$)",
                attained,
            ),
        ),
    )


def _max_form(arg):
    """relu(u) = max(0, u), its definition."""
    return sympy.Max(0, arg)


# ---------------------------------------------------------------- GRU state


def convex_step(cell: Cell | str) -> Lemma:
    """``cell``'s update of h keeps |h_t| < 1 whenever |h_{t-1}| < 1, for every
    parameter value and input: with each gate g in (0, 1) written 1/(1 + e_g)
    and each value v in (-1, 1) written 1 -+ p_v (e_g, p_v > 0), 1 - h_t and
    1 + h_t are positive by SymPy's assumptions."""
    cell = get_cell(cell) if isinstance(cell, str) else cell
    rhs = cell.equation("h").rhs
    ranges = value_ranges(cell)
    holds = True
    for sign in (1, -1):
        substitution = {}
        for s in sorted(rhs.free_symbols, key=str):
            lo, hi = ranges.get(s, (float("-inf"), float("inf")))
            positive = sympy.Symbol(f"{s.name}_pos", positive=True)
            if lo >= 0 and hi <= 1:  # a gate: (0, 1) for every real pre-activation
                substitution[s] = 1 / (1 + positive)
            elif lo >= -1 and hi <= 1:  # tanh, or h_{t-1} by the hypothesis
                substitution[s] = sign * (1 - positive)
            else:
                holds = False
        num, den = sympy.fraction(sympy.together(1 - sign * rhs.xreplace(substitution)))
        holds = holds and all(sympy.expand(x).is_positive is True for x in (num, den))
    name = cell.latex["h"]
    update = LatexMath(cell).doprint(rhs)
    return Lemma(
        f"`{cell.name}`: $|h_{{t-1}}| < 1$ implies $|{name}| < 1$, for every parameter value "
        "and input; from $h_0 = 0$, $|h_t| < 1$ for every $t$ (induction)",
        (
            Step(
                f"${name} = {update}$ with each gate in $(0, 1)$ written $1/(1 + e)$ and each "
                "value in $(-1, 1)$ written $1 - p$ (for the upper side) or $p - 1$ (for the "
                f"lower side), $e, p > 0$: $1 - {name}$ and $1 + {name}$ are positive",
                holds,
            ),
        ),
    )
