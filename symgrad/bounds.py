"""The named bounds behind ``symgrad bound``: the catalog, each entry built from the engine.

Each entry of :data:`BOUNDS` builds, from the engine, the quantity whose
supremum the article's boundedness arguments rest on (the LSTM's
:math:`\\sup_c |(1 - \\tanh^2 c)\\,c| < 0.45`, each minor term of
:math:`\\partial c_t/\\partial c_{t-1}` divided by its weight, ...) as a
:class:`symgrad.suprema.Problem`, with the inequalities the article claims
about it and, where one exists, a closed form; :func:`compute_bound` solves
it two ways (SciPy, and a certified enclosure) with :func:`symgrad.suprema.solve`.

Worst cases over gate values and states are taken factor by factor: the
engine writes each term as a product of factors; factors over disjoint values
range independently (every gate's pre-activation has its own bias, so each
gate value in (0, 1) is reached whatever the states), and the supremum of the
product is the product of the suprema.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from functools import partial as bind
from numbers import Real

import sympy

from . import lemmas
from .cells import get_cell
from .certify import ball, bracket_root
from .defaults import BOUND_TOLERANCE
from .derivation import compose, derive, partial
from .extrema import LineProblem, Tail, solve_line
from .primitives import sigmoid, tanh
from .render import D, Factors
from .suprema import (
    REALS,
    BoundResult,
    ClosedForm,
    Domain,
    Inequality,
    Part,
    Problem,
    Verdict,
    printers,
    show_exact,
    solve,
)
from .text import plain

__all__ = [
    "BOUNDS",
    "BoundError",
    "BoundSpec",
    "Param",
    "certify_below",
    "check_params",
    "compute_bound",
]

#: Widths a caller may ask for: below 1e-20 the 128-bit arithmetic runs out of digits
#: for the largest parameters; above 0.1 an enclosure says little.
MIN_TOLERANCE, MAX_TOLERANCE = 1e-20, 0.1


class BoundError(ValueError):
    """An unknown bound or a bad parameter: the message names the valid choices."""


@dataclass(frozen=True)
class Param:
    """A bound's parameter: exact limits (inclusive); ``nonzero`` explains why 0 is refused."""

    name: str
    default: Fraction
    doc: str
    lo: Fraction
    hi: Fraction
    nonzero: str = ""


@dataclass(frozen=True)
class BoundSpec:
    """A catalog entry: ``build(params) -> Problem`` from the engine."""

    name: str
    summary: str
    build: Callable
    params: tuple[Param, ...] = ()


# ---------------------------------------------------------------- the public entry points


def compute_bound(
    name: str, below=None, tolerance: float = BOUND_TOLERANCE, **params
) -> BoundResult:
    """Compute the bound ``name`` of :data:`BOUNDS` two ways and check its inequalities.

    ``params``: the bound's parameters as numbers (int, Fraction or finite
    float; see ``BOUNDS[name].params``), defaults for the rest. ``below``: if
    given, the inequality is "sup < below" instead of the bound's own.
    ``tolerance``: the largest width of the certified interval, relative to the
    supremum where it exceeds 1 (1e-20 to 0.1).
    Raises :class:`BoundError` for an unknown name or a bad parameter.
    """
    start = time.perf_counter()
    spec = _spec(name)
    values = check_params(name, params)
    tolerance = _check_tolerance(tolerance)
    problem = spec.build(values)
    if isinstance(problem, LineProblem):
        if below is not None:
            raise BoundError(f"{name} is a range (infimum and supremum): --below does not apply")
        return solve_line(problem, tolerance, name=name, params=values, start=start)
    inequalities = None
    if below is not None:
        bound = _number("below", below)
        asked = Inequality(
            f"$\\sup < {show_exact(bound)}$", "<", bound, meaning="the claim asked for"
        )
        inequalities = (asked,)
    return solve(
        problem, tolerance, name=name, params=values, inequalities=inequalities, start=start
    )


def certify_below(name: str, bound, **params) -> BoundResult:
    """:func:`compute_bound` with the inequality "sup < ``bound``": ``result.proved`` is
    True only if the certificate's hi is below ``bound``; a bound at or under
    the certified lo is refuted."""
    return compute_bound(name, below=bound, **params)


def check_params(name: str, params: dict) -> dict:
    """The parameters of bound ``name`` as exact Fractions, defaults filled in.

    Raises :class:`BoundError` naming the valid parameters and their ranges.
    """
    spec = _spec(name)
    known = {p.name: p for p in spec.params}
    for key in params:
        if key not in known:
            valid = f"valid parameters: {', '.join(known)}" if known else "it takes no parameters"
            raise BoundError(f"unknown parameter {key!r} for {name}; {valid}")
    out = {}
    for p in spec.params:
        value = _number(p.name, params.get(p.name, p.default))
        if value == 0 and p.nonzero:
            raise BoundError(f"{p.name} = 0 is not allowed: {plain(p.nonzero)}")
        if not p.lo <= value <= p.hi:
            raise BoundError(
                f"{p.name} = {show_exact(value)} is out of range: {show_exact(p.lo)} <= {p.name} "
                f"<= {show_exact(p.hi)} ({plain(p.doc)})"
            )
        out[p.name] = value
    return out


def _spec(name: str) -> BoundSpec:
    if name not in BOUNDS:
        raise BoundError(f"unknown bound {name!r}. Valid bounds: {', '.join(BOUNDS)}")
    return BOUNDS[name]


def _number(name: str, value) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, (Real, Fraction)):
        raise BoundError(f"{name} must be a number, not {type(value).__name__}")
    if isinstance(value, float) and not math.isfinite(value):
        raise BoundError(f"{name} must be finite, not {value}")
    return Fraction(value)


def _check_tolerance(tolerance) -> float:
    tolerance = float(_number("tolerance", tolerance))
    if not MIN_TOLERANCE <= tolerance <= MAX_TOLERANCE:
        raise BoundError(
            f"tolerance {tolerance:g} is out of range: {MIN_TOLERANCE:g} to {MAX_TOLERANCE:g}"
        )
    return tolerance


# ---------------------------------------------------------------- building the problems


def _u() -> sympy.Symbol:
    return sympy.Symbol("u", real=True)


#: LaTeX of the variables a bound adds to the cell's (their text is read from it).
_NAMES = {"u": "u", "v": "v", "h_active": "[h_t > 0]"}


def _root_function(c):
    # d/dc [c sech^2 c] = sech^2 c (1 - 2c tanh c): the LSTM constant peaks at its root.
    return 2 * c * c.tanh() - 1


def _c_star():
    """c*, the root of 2c tanh c = 1 in [1/2, 1] (there h(1/2) < 0 < h(1), h increasing)."""
    return bracket_root(_root_function, Fraction(1, 2), Fraction(1))


def _s0_closed(multiple: Fraction = Fraction(1)):
    """multiple * S(0), S(0) = c* sech^2 c* = c* - 1/(4c*) (tanh c* = 1/(2c*))."""
    c = _c_star()
    return ball(multiple) * (c - 1 / (4 * c))


def _c_star_times(multiple: Fraction = Fraction(1)):
    return ball(multiple) * _c_star()


def _activation(kind: str, params) -> Problem:
    u = _u()
    cell = get_cell("rnn")
    if kind == "sigmoid-slope":
        expr = partial(sigmoid(u), u)
        closed = ClosedForm("$1/4$ at $u = 0$", bind(ball, Fraction(1, 4)), "u", bind(ball, 0))
        quantity = r"$\sup_u \sigma'(u) = \sup_u \sigma(u)(1 - \sigma(u))$"
        tex = r"\sup_u \sigma'(u)"
    elif kind == "tanh-slope":
        expr = partial(tanh(u), u)
        closed = ClosedForm("$1$ at $u = 0$", bind(ball, Fraction(1)), "u", bind(ball, 0))
        quantity = r"$\sup_u \tanh'(u) = \sup_u (1 - \tanh^2 u)$"
        tex = r"\sup_u \tanh'(u)"
    else:
        expr = u * partial(sigmoid(u), u)
        closed = ClosedForm(
            r"$S(0)/2$ at $u = 2c^*$, $c^*$ the root of $2c \tanh c = 1$",
            bind(_s0_closed, Fraction(1, 2)),
            "u",
            bind(_c_star_times, Fraction(2)),
        )
        quantity, tex = r"$\sup_u |u \sigma'(u)|$", r"\sup_u |u \sigma'(u)|"
    notes = ()
    if kind == "sigmoid-saturation":
        notes = (
            r"$\sigma(u) = (1 + \tanh(u/2))/2$ gives "
            r"$u \sigma'(u) = (1/2) c \operatorname{sech}^2 c$ with $c = u/2$: half "
            r"the LSTM constant $S(0)$, at twice its maximiser",
        )
    return Problem(
        quantity=quantity,
        quantity_latex=tex,
        cell=cell,
        parts=(Part(expr, {u: REALS}, names=_NAMES),),
        source="the derivative of the activation by the engine's differentiator, in gate form",
        closed_form=closed,
        notes=notes,
    )


def _lstm_saturation(params) -> Problem:
    d = derive("lstm")
    term = _term(d, "f")
    c = d.cell.symbol("c_prev")
    expr = sympy.Mul(*(f for f in term.factors if c in f.free_symbols))
    return Problem(
        quantity=r"$\sup$ over $c_{t-1} \in \mathbb{R}$ of $|(1 - \tanh^2 c_{t-1}) c_{t-1}|$",
        quantity_latex=r"\sup_{c_{t-1}} \left|\left(1 - \tanh^2 c_{t-1}\right) c_{t-1}\right|",
        cell=d.cell,
        parts=(Part(expr, {c: _value_domain(d.ranges[c])}),),
        source=r"the factors in $c_{t-1}$ of the forget term "
        r"$c_{t-1} \partial f_t/\partial c_{t-1}$ of $\partial c_t/\partial c_{t-1}$ "
        r"(`lstm`), as the engine derives it",
        inequalities=(
            Inequality("$\\sup < 0.45$", "<", Fraction(9, 20), meaning="the article's constant"),
        ),
        closed_form=ClosedForm(
            r"$S(0) = c^* - 1/(4c^*)$ at $c_{t-1} = \pm c^*$, $c^*$ the root of $2c \tanh c = 1$",
            _s0_closed,
            "c_prev",
            _c_star,
        ),
        notes=(
            r"the factor $(1 - \tanh^2 c_{t-1}) c_{t-1}$ is signed, in $[-S(0), S(0)]$: not a gate",
        ),
    )


def _rnn_s(a: Fraction, h: Fraction):
    """(1 - tanh^2 v)(v - a) from the engine's (1 - h_t^2) U of rnn: h_t composed
    back to tanh(W x + U h_{t-1} + b), W x + b = a, h_{t-1} = h, U = (v - a)/h,
    times h. Returns (expression, v)."""
    d = derive("rnn")
    (term,) = d.terms
    W, x, b, U, h_prev = (d.cell.symbol(n) for n in ("W", "x", "b", "U", "h_prev"))
    v = sympy.Symbol("v", real=True)
    a_, h_ = _rational(a), _rational(h)
    raw = compose(d.cell, d.carry, term.expr)
    in_v = raw.xreplace({b: a_ - W * x, h_prev: h_}).xreplace({U: (v - a_) / h_})
    return _absorb(in_v * h_, v), v


def _rnn_tanh(params) -> Problem:
    a, h = params["a"], params["h"]
    d = derive("rnn")
    s_expr, v = _rnn_s(a, h)
    s0_expr, _ = _rnn_s(Fraction(0), h)

    def to_u(argmax, a=a, h=h):
        return {"U": float((Fraction(argmax["v"]) - a) / h), "v": argmax["v"]}

    names = _NAMES
    s_part = Part(s_expr, {v: REALS}, names=names, back=to_u)
    main = Part(s_expr, {v: REALS}, scale=1 / abs(h), names=names, back=to_u)
    s0_part = Part(s0_expr, {v: REALS}, names=names)
    show_a = show_exact(a)
    inequalities = (
        Inequality(
            f"$S(a) \\le |a| + S(0)$ at $a = {show_a}$",
            "<=",
            bind(_loose, abs(a), s0_part),
            lhs=s_part,
            symbolic=lemmas.triangle_bound,
        ),
        Inequality(
            f"$S(a) \\le (|a| + \\sqrt{{1 + a^2}})/2$ at $a = {show_a}$",
            "<=",
            bind(_sharp, a),
            lhs=s_part,
            meaning="the sharper bound",
            symbolic=lemmas.sharp_bound,
        ),
    )
    closed = None
    if a == 0:
        closed = ClosedForm(
            f"$S(0)/|h|$ at $U = \\pm c^*/h = \\pm c^*/{show_exact(h)}$, $c^*$ the root of "
            r"$2c \tanh c = 1$",
            bind(_s0_closed, 1 / abs(h)),
            "U",
            bind(_c_star_times, 1 / abs(h)),
        )
    return Problem(
        quantity=r"$\sup$ over $U$ of $|(1 - \tanh^2(a + U h)) U| = S(a)/|h|$ at "
        f"$a = {show_a}$, $h = {show_exact(h)}$, "
        r"$S(a) = \sup_v |(1 - \tanh^2 v)(v - a)|$",
        quantity_latex=(
            r"\sup_U \left|\left(1 - \tanh^2(a + U h_{t-1})\right) U\right| = "
            r"\frac{S(a)}{|h_{t-1}|}"
        ),
        cell=d.cell,
        parts=(main,),
        source=r"the engine's $\partial h_t/\partial h_{t-1} = (1 - h_t^2) U$ (`rnn`), $h_t$ "
        r"composed back to $\tanh(W x_t + U h_{t-1} + b)$, with $W x_t + b = a$ and the "
        r"substitution $v = a + U h_{t-1}$ ($U = (v - a)/h$)",
        inequalities=inequalities,
        closed_form=closed,
        notes=(
            r"holds for fixed $h_{t-1} \ne 0$ only: $S(a)/|h_{t-1}|$ blows up as "
            r"$h_{t-1} \to 0$ (the first step from $h_0 = 0$ is unbounded in $U$) and grows "
            r"like $|a| = |W x_t + b|$",
            r"the certificates decide both inequalities at this $a$ only; for every $a$ they "
            r"are lemmas whose steps SymPy checks (`symgrad verify rnn-tanh-bounded`): "
            r"$|v - a| \operatorname{sech}^2 v \le |v| \operatorname{sech}^2 v + |a| "
            r"\le S(0) + |a|$, and $\le (|a| + |v|)/(1 + v^2) \le (|a| + \sqrt{1 + a^2})/2$ "
            r"since $\cosh^2 v \ge 1 + v^2$",
        ),
    )


def _absorb(expr, v):
    """Move the numeric coefficient into the factor linear in v: -(9/2 - 3v)/3 -> v - 3/2."""
    coeff, factors = expr.as_coeff_mul()
    linear = [f for f in factors if f.is_polynomial(v) and f.free_symbols == {v}]
    if coeff == 1 or not linear:
        return expr
    first = linear[0]
    return sympy.Mul(*(sympy.expand(coeff * f) if f is first else f for f in factors))


def _loose(a: Fraction, s0_part: Part, enclose):
    return ball(a) + enclose(s0_part)


def _sharp(a: Fraction, enclose):
    return (ball(abs(a)) + ball(1 + a * a).sqrt()) / 2


def _rnn_relu(params) -> Problem:
    L = params["L"]
    at = f"at $L = {show_exact(L)}$"
    return Problem(
        quantity=r"$\sup$ over $|U| \le L$ of $|\partial h_t/\partial h_{t-1}| = |[h_t > 0] U|$ "
        f"(ReLU) {at}",
        quantity_latex=r"\sup_{|U| \le L} \left|[h_t > 0]\, U\right|",
        cell=get_cell("rnn-relu"),
        parts=(_relu_part(L),),
        source=r"the engine's $\partial h_t/\partial h_{t-1} = [h_t > 0] U$ (`rnn-relu`)",
        inequalities=(
            Inequality(
                f"$\\sup \\ge L = {show_exact(L)}$",
                ">=",
                L,
                meaning="at this L",
            ),
        ),
        closed_form=ClosedForm(
            f"$L = {show_exact(L)}$ at $U = L$", bind(ball, L), "U", bind(ball, L)
        ),
        notes=(
            r"on the active side ($W x_t + U h_{t-1} + b > 0$) $\partial h_t/\partial h_{t-1} "
            r"= U$, attained at $U = L$: the certificate decides $\sup \ge L$ at this $L$ only",
            _lemma_note(lemmas.relu_unbounded()),
            r"the indicator $[h_t > 0]$ takes the values 0 and 1; $|[h_t > 0] U|$ is linear "
            r"in it, so its supremum over these two values is the one over $[0, 1]$",
        ),
    )


def _relu_part(L: Fraction, label: str = "") -> Part:
    d = derive("rnn-relu")
    (term,) = d.terms
    h, U = d.cell.symbol("h"), d.cell.symbol("U")
    active = sympy.Symbol("h_active", real=True)
    expr = term.expr.xreplace({sympy.Heaviside(h, 0): active})
    domains = {active: Domain(Fraction(0), Fraction(1), open=False), U: Domain(-L, L, open=False)}
    return Part(expr, domains, label=label, names=_NAMES)


def _clipping(params) -> Problem:
    d = derive("rnn")
    (term,) = d.terms
    h, U = d.cell.symbol("h"), d.cell.symbol("U")
    one = Fraction(1)
    _, latex = printers(d.cell)
    tanh_part = Part(
        term.expr,
        {h: _value_domain(d.ranges[h]), U: Domain(-one, one, open=False)},
        label="tanh",
    )
    return Problem(
        quantity=r"$\sup$ over $|U| \le 1$ of $|\partial h_t/\partial h_{t-1}|$, for tanh "
        r"($(1 - h_t^2) U$) and ReLU ($[h_t > 0] U$)",
        quantity_latex=rf"\sup_{{|U| \le 1}} \left|{latex.item(D(d.target, d.source))}\right|",
        cell=d.cell,
        parts=(tanh_part, _relu_part(one, label="ReLU")),
        source=r"the engine's $\partial h_t/\partial h_{t-1}$ of `rnn` and `rnn-relu`, $U$ "
        r"clipped into $[-1, 1]$",
        inequalities=(Inequality("$\\sup \\le 1$", "<=", one, meaning="clipping stops explosion"),),
        closed_form=ClosedForm("$1$", bind(ball, one)),
        notes=(
            r"$h_t$ ranges over $(-1, 1)$ whatever $U$ is: $a = W x_t + b$ is free; for tanh "
            r"the supremum 1 is attained at $h_t = 0$ ($W x_t + b = -U h_{t-1}$) with $|U| = 1$, "
            r"for ReLU at $U = \pm 1$ on the active side",
        ),
    )


def _minor_term(cell_name: str, via: str, params) -> Problem:
    d = derive(cell_name)
    term = _term(d, via)
    (weight,) = [f for f in term.factors if f.is_Symbol and f.name in d.cell.params]
    rest = sympy.Mul(*(f for f in term.factors if f != weight))
    rest = rest.xreplace({d.cell.symbol(n): _rational(v) for n, v in params.items()})
    domains = {s: _value_domain(d.ranges[s]) for s in rest.free_symbols}
    _, latex = printers(d.cell)
    term_latex = latex.item(Factors(term.factors))
    w_latex = latex.doprint(weight)
    target, source = (latex.doprint(d.cell.symbol(n)) for n in (d.target, d.source))
    derivative = rf"\partial {target}/\partial {source}"
    notes = [
        "worst case over gate values and states, factor by factor: the factors depend on "
        "disjoint values, and each gate's pre-activation has its own bias, so every gate "
        "value in (0, 1) is reached whatever the states: the supremum of the product is "
        "the product of the factors' suprema (approached, not attained, where a factor "
        "needs a gate at 0 or 1)"
    ]
    notes += _MINOR_NOTES.get((cell_name, via), [])
    closed = _MINOR_CLOSED[(cell_name, via)]
    at = ", ".join(
        f"${latex.doprint(d.cell.symbol(n))} = {show_exact(v)}$" for n, v in params.items()
    )
    return Problem(
        quantity=f"$\\sup |{term_latex}| / |{w_latex}|$ over all gate values and states"
        + (f" at {at}" if at else ""),
        quantity_latex=rf"\sup \left|{term_latex}\right| / |{w_latex}|",
        cell=d.cell,
        parts=(Part(rest, domains),),
        source=f"the term through ${latex.doprint(d.cell.symbol(via))}$ of ${derivative}$ "
        f"(`{cell_name}`) as the engine derives it, divided by $|{w_latex}|$",
        inequalities=(
            Inequality(
                "$\\sup < 1$",
                "<",
                Fraction(1),
                meaning=f"compressed uniformly: $|T| \\le q\\,|{w_latex}|$ for "
                "one $q < 1$ over all gate values and states",
            ),
        ),
        closed_form=closed(params) if callable(closed) else closed,
        notes=tuple(notes),
    )


def _term(d, via: str):
    return next(t for t in d.terms if t.via == via)


#: gru-candidate-term (r_t free) and gru-reset-factor (r_t coupled to U_r), in words.
RESET_RECONCILED = (
    r"two models of the reset factor: `gru-candidate-term` takes $r_t$ as a free gate value "
    r"in $(0, 1)$ at fixed $U_r$, `gru-reset-factor` takes $r_t = \sigma(a_r + U_r h_{t-1})$ "
    r"coupled, at fixed $a_r = W_r x_t + b_r$, over every $U_r$. Every $r_t$ in $(0, 1)$ is "
    r"$\sigma(a_r + U_r h_{t-1})$ for some $a_r$, so the free-gate supremum at $U_r$ is the "
    r"coupled one over all $a_r$ with $|U_r h_{t-1}| < |U_r|$: at $|U_r| = k > 1$ the value "
    r"$(1 + k)^2/(4k)$ needs $U_r h_{t-1} \to \pm k$ and $a_r = \ln((k + 1)/(k - 1)) - k$ "
    r"(for $U_r = 100$, $a_r \approx -99.98$). At a fixed $a_r$ the coupled factor stays "
    r"within the range `gru-reset-factor` certifies, whatever $U_r$: it grows with $|a_r|$ "
    r"(about $|a_r|/4$), not with $|U_r|$"
)


def _gru_candidate_closed(params) -> ClosedForm:
    k = abs(params["U_r"])
    # sup over r in (0, 1), |h| < 1 of r (1 + (1 - r) h U_r) = r (1 + (1 - r) k) at
    # h -> sign(U_r): its r-derivative 1 + (1 - 2r) k is >= 0 up to r = 1 when k <= 1
    # (supremum 1, approached as r -> 1), and vanishes at r = (1 + k)/(2k) < 1 when k > 1.
    if k > 1:
        value = (1 + k) ** 2 / (4 * k)
        where = (
            f"$(1 + |U_r|)^2/(4|U_r|) = {show_exact(value)}$ ($|U_r| > 1$) at "
            f"$r_t = (1 + |U_r|)/(2|U_r|) = {show_exact((1 + k) / (2 * k))}$, "
            r"$h_{t-1} \to \operatorname{sign}(U_r)$"
        )
    else:
        value = Fraction(1)
        where = r"$1$ ($|U_r| \le 1$), approached as $r_t \to 1$"
    return ClosedForm(
        r"piecewise, $1$ for $|U_r| \le 1$ and $(1 + |U_r|)^2/(4|U_r|)$ above: "
        f"{where}, " + r"$z_t \to 1$, $\hat{h}_t = 0$",
        bind(ball, value),
    )


_MINOR_CLOSED = {
    ("lstm", "f"): ClosedForm(
        r"$S(0)/4$ at $f_t = 1/2$, $o_{t-1} \to 1$, $c_{t-1} = \pm c^*$",
        bind(_s0_closed, Fraction(1, 4)),
    ),
    ("lstm", "i"): ClosedForm(
        r"$1/4$ at $i_t = 1/2$, $|\hat{c}_t| \to 1$, $o_{t-1} \to 1$, $c_{t-1} = 0$",
        bind(ball, Fraction(1, 4)),
    ),
    ("lstm", "c_hat"): ClosedForm(
        r"$1$ as $i_t \to 1$, $o_{t-1} \to 1$, at $\hat{c}_t = 0$, $c_{t-1} = 0$",
        bind(ball, Fraction(1)),
    ),
    ("gru", "z"): ClosedForm(
        r"$1/2$ at $z_t = 1/2$ as $\hat{h}_t - h_{t-1} \to \pm 2$", bind(ball, Fraction(1, 2))
    ),
    ("gru", "h_hat"): _gru_candidate_closed,  # a function of U_r
}

_MINOR_NOTES = {
    ("lstm", "f"): [
        r"$f_t (1 - f_t) \le 1/4$ and $o_{t-1} < 1$, so $|c_{t-1} \partial f_t/\partial c_{t-1}| "
        r"\le S(0)/4 \cdot |U_f| \approx 0.1119 |U_f|$; $(1 - \tanh^2 c_{t-1}) c_{t-1}$ is "
        r"signed, in $[-S(0), S(0)]$: not a gate",
    ],
    ("lstm", "c_hat"): [
        r"caveat: in the worst case the $U_c$ term is not compressed at all: it approaches "
        r"$|U_c|$ ($i_t \to 1$, $\hat{c}_t = 0$, $o_{t-1} \to 1$, $c_{t-1} = 0$), so "
        r"$\partial c_t/\partial c_{t-1}$ can exceed 1; the article's 'compressed' is a "
        r"statement about typical values",
    ],
    ("gru", "z"): [
        r"$h_{t-1}$ ranges over $(-1, 1)$: $|h_t| < 1$ by induction from $h_0 = 0$, so "
        r"$\hat{h}_t - h_{t-1}$ lies in $(-2, 2)$",
    ],
    ("gru", "h_hat"): [
        r"a function of $U_r$: the reset factor $r_t (1 + (1 - r_t) h_{t-1} U_r)$ has "
        r"supremum 1 for $|U_r| \le 1$ and $(1 + |U_r|)^2/(4|U_r|) > 1$ above: the reset gate "
        r"does not always shrink the $U_h$ term",
        r"$h_{t-1}$ ranges over $(-1, 1)$: $|h_t| < 1$ by induction from $h_0 = 0$",
        RESET_RECONCILED,
    ],
}


def _lemma_note(lemma) -> str:
    """A lemma as a note: its statement, proved (or not) with its checked steps."""
    verdict = "proved symbolically" if lemma.proved else "NOT proved (a step does not check)"
    return f"{lemma.statement}: {verdict}, steps checked by SymPy: {lemma.argument}"


# ---------------------------------------------------------------- the GRU's reset factor


def _reset_factor(a) -> tuple:
    """The engine's reset factor of the GRU's ĥ_t term, r_t (1 + (1 - r_t) h_{t-1} U_r)
    with r_t composed back to sigmoid(W_r x_t + U_r h_{t-1} + b_r), W_r x_t + b_r = a and
    U_r = v/h_{t-1}: a function of v = U_r h_{t-1} alone. Returns (expression, v)."""
    d = derive("gru")
    cell = d.cell
    term = _term(d, "h_hat")
    r, u_r = cell.symbol("r"), cell.symbol("U_r")
    factor = sympy.Mul(*(f for f in term.factors if f.free_symbols & {r, u_r}))
    w, x, b, h = (cell.symbol(n) for n in ("W_r", "x", "b_r", "h_prev"))
    v = sympy.Symbol("v", real=True)
    raw = compose(cell, d.carry, factor).xreplace({b: a - w * x}).xreplace({u_r: v / h})
    return raw, v


def _gate_complement(expr):
    """sigmoid(-u) written 1 - sigmoid(u), then expanded: exact zero tests of identities."""
    return sympy.expand(expr.replace(sigmoid, _complement_of_negative))


def _complement_of_negative(arg):
    return 1 - sigmoid(-arg) if arg.could_extract_minus_sign() else sigmoid(arg)


def _right_envelope(a: Fraction, cut) -> object:
    return (-ball(a)).exp() * ball(cut) * (-ball(cut)).exp()


def _left_envelope(a: Fraction, cut) -> object:
    return 2 * ball(a).exp() * ball(cut) * (-ball(cut)).exp()


def _gru_reset_factor(params) -> LineProblem:
    a = params["a_r"]
    expr, v = _reset_factor(_rational(a))
    w = _rational(a) + v
    upper = sigmoid(-w) * (sigmoid(w) * v - 1)  # R - 1: precise where R is near 1
    lower = -sigmoid(w) * (1 + sigmoid(-w) * v)  # -R
    symbolic_a = sympy.Symbol("a", real=True)
    generic, _ = _reset_factor(symbolic_a)
    mirrored = generic.xreplace({symbolic_a: -symbolic_a, v: -v})
    identities = {
        r"$R - 1 = \sigma(-(a_r + v))(\sigma(a_r + v) v - 1)$": (
            _gate_complement(expr - 1 - upper) == 0
        ),
        r"$-R = -\sigma(a_r + v)(1 + \sigma(-(a_r + v)) v)$": (
            _gate_complement(-expr - lower) == 0
        ),
        r"$R_a(v) + R_{-a}(-v) = 1$ for every $a$ (so $\inf$ at $a_r$ is $1 - \sup$ at $-a_r$)": (
            _gate_complement(generic + mirrored - 1) == 0
        ),
    }
    checks = "; ".join(f"{k}: {'exact' if ok else 'NOT exact'}" for k, ok in identities.items())
    identity = Verdict(
        "identity",
        r"the forms certified equal the engine's factor ($\sigma(-u) = 1 - \sigma(u)$, "
        "expand to 0)",
        "agrees" if all(identities.values()) else "disagrees",
        checks,
    )

    def back(found, a=a):
        x = found["v"]
        return {"v": x, "r": 0.5 * (1 + math.tanh((float(a) + x) / 2))}  # sigmoid, no overflow

    show_a = show_exact(a)
    return LineProblem(
        quantity=r"range of $R = r_t (1 + (1 - r_t) h_{t-1} U_r)$ over $U_r \in \mathbb{R}$ and "
        r"$h_{t-1} \ne 0$, $r_t = \sigma(a_r + U_r h_{t-1})$ coupled, at " + f"$a_r = {show_a}$",
        quantity_latex=r"\inf, \sup_{U_r,\ h_{t-1} \ne 0} r_t \left(1 + (1 - r_t) h_{t-1} "
        r"U_r\right),\quad r_t = \sigma(a_r + U_r h_{t-1})",
        cell=derive("gru").cell,
        variable=v,
        expr=expr,
        upper=(Fraction(1), upper),
        lower=(Fraction(0), lower),
        identities=identity,
        tails=(
            Tail(
                1,
                Fraction(1),
                bind(_right_envelope, a),
                f"e^{{-a_r}} V e^{{-V}} = e^{{{show_exact(-a)}}} V e^{{-V}}",
                (
                    r"$R - 1 = \sigma(-(a_r + v))(\sigma(a_r + v) v - 1)$ (checked)",
                    r"$\sigma(-x) \le e^{-x}$",
                    r"$0 < \sigma(a_r + v) v < v$ for $v > 0$, so $|\sigma(a_r + v) v - 1| \le v$ "
                    r"for $v \ge 1$",
                    r"$v e^{-v}$ decreases for $v \ge 1$",
                ),
            ),
            Tail(
                -1,
                Fraction(0),
                bind(_left_envelope, a),
                f"2 e^{{a_r}} V e^{{-V}} = 2 e^{{{show_a}}} V e^{{-V}}",
                (
                    r"$\sigma(x) \le e^x$",
                    r"$|1 + \sigma(-(a_r + v)) v| \le 1 + |v| \le 2|v|$ for $|v| \ge 1$",
                    r"$|v| e^{-|v|}$ decreases for $|v| \ge 1$",
                ),
            ),
        ),
        source=r"the reset factor $r_t (1 + (1 - r_t) h_{t-1} U_r)$ of the GRU's $\hat{h}_t$ "
        r"term of $\partial h_t/\partial h_{t-1}$ as the engine derives it, $r_t$ composed back "
        r"to $\sigma(W_r x_t + U_r h_{t-1} + b_r)$ with $W_r x_t + b_r = a_r$ and "
        r"$U_r = v/h_{t-1}$: a function of $v = U_r h_{t-1}$ alone, "
        r"$R(v) = \sigma(a_r + v)(1 + \sigma(-(a_r + v)) v)$",
        claims=(
            (
                "sup",
                Inequality(
                    "$\\sup > 1$",
                    ">",
                    Fraction(1),
                    meaning="the reset gate can enlarge the $U_h$ term",
                ),
            ),
            ("inf", Inequality("$\\inf < 0$", "<", Fraction(0), meaning="the factor changes sign")),
        ),
        start=max(8, math.ceil(abs(a)) + 8),
        back=back,
        names={"v": r"U_r h_{t-1}"},
        label="R",
        notes=(
            r"for $h_{t-1} \ne 0$, $v = U_r h_{t-1}$ takes every real value as $U_r$ does: the "
            r"range over $U_r$ is the range over $v$, the same for every $h_{t-1} \ne 0$; each "
            r"extremum is attained, at any $U_r$ and $h_{t-1}$ with the product printed; "
            r"$R \to 1$ as $v \to +\infty$ and $R \to 0$ as $v \to -\infty$ (limits, not "
            r"attained)",
            f"so for $a_r = {show_a}$ the factor is bounded in $U_r$; the bound depends on "
            r"$a_r$ (about $|a_r|/4$ for large $|a_r|$: the supremum for $a_r < 0$, the infimum "
            r"for $a_r > 0$)",
            RESET_RECONCILED,
        ),
    )


def _value_domain(interval) -> Domain:
    lo, hi = interval
    return Domain(
        None if math.isinf(lo) else Fraction(lo), None if math.isinf(hi) else Fraction(hi)
    )


def _rational(value: Fraction) -> sympy.Rational:
    return sympy.Rational(value.numerator, value.denominator)


# ---------------------------------------------------------------- the catalog

_A = Param(
    "a",
    Fraction(0),
    r"$a = W x_t + b$, the pre-activation without $U h_{t-1}$",
    Fraction(-1000),
    Fraction(1000),
)
_H = Param(
    "h",
    Fraction(1),
    r"$h = h_{t-1}$ of a tanh RNN, in $[-1, 1]$",
    Fraction(-1),
    Fraction(1),
    nonzero=r"with $h_{t-1} = 0$, $\partial h_t/\partial h_{t-1} = (1 - \tanh^2 a) U$ is "
    r"unbounded in $U$ (the bound $S(a)/|h|$ blows up); give `h` with $0 < |h| \le 1$",
)
_L = Param(
    "L",
    Fraction(10),
    r"the clipping radius: $|U| \le L$",
    Fraction(0),
    Fraction(10**6),
    nonzero=r"$|U| \le 0$ leaves only $U = 0$; give $L > 0$",
)
_UR = Param(
    "U_r", Fraction(2), "$U_r$, the reset gate's recurrent weight", Fraction(-1000), Fraction(1000)
)
_AR = Param(
    "a_r",
    Fraction(0),
    r"$a_r = W_r x_t + b_r$, the reset gate's pre-activation without $U_r h_{t-1}$",
    Fraction(-100),
    Fraction(100),
)

#: The named bounds (names are part of the interface): name -> spec.
BOUNDS: dict[str, BoundSpec] = {
    spec.name: spec
    for spec in (
        BoundSpec("sigmoid-slope", r"$\sup \sigma'(u) = 1/4$", bind(_activation, "sigmoid-slope")),
        BoundSpec(
            "sigmoid-saturation",
            r"$\sup |u \sigma'(u)|$: half the LSTM constant, at twice its maximiser",
            bind(_activation, "sigmoid-saturation"),
        ),
        BoundSpec("tanh-slope", r"$\sup \tanh'(u) = 1$", bind(_activation, "tanh-slope")),
        BoundSpec(
            "lstm-saturation",
            r"""$\sup |(1 - \tanh^2 c) c|$ (the article's "$< 0.45$")""",
            _lstm_saturation,
        ),
        BoundSpec(
            "rnn-tanh",
            r"$\sup_U |(1 - \tanh^2(a + U h)) U| = S(a)/|h|$",
            _rnn_tanh,
            (_A, _H),
        ),
        BoundSpec(
            "rnn-relu",
            r"$\sup_{|U| \le L} |\partial h_t/\partial h_{t-1}| = L$ for ReLU: no bound",
            _rnn_relu,
            (_L,),
        ),
        BoundSpec(
            "clipping",
            r"$\sup$ of $|\partial h_t/\partial h_{t-1}|$ over $|U| \le 1$, tanh and ReLU",
            _clipping,
        ),
        BoundSpec(
            "lstm-forget-term",
            r"worst case of $|c_{t-1} \partial f_t/\partial c_{t-1}| / |U_f|$",
            bind(_minor_term, "lstm", "f"),
        ),
        BoundSpec(
            "lstm-input-term",
            r"worst case of $|\hat{c}_t \partial i_t/\partial c_{t-1}| / |U_i|$",
            bind(_minor_term, "lstm", "i"),
        ),
        BoundSpec(
            "lstm-candidate-term",
            r"worst case of $|i_t \partial \hat{c}_t/\partial c_{t-1}| / |U_c|$",
            bind(_minor_term, "lstm", "c_hat"),
        ),
        BoundSpec(
            "gru-update-term",
            r"worst case of the GRU's $z_t$ term $/ |U_z|$, $|h_{t-1}| < 1$",
            bind(_minor_term, "gru", "z"),
        ),
        BoundSpec(
            "gru-candidate-term",
            r"worst case of the GRU's $\hat{h}_t$ term $/ |U_h|$, a function of $U_r$",
            bind(_minor_term, "gru", "h_hat"),
            (_UR,),
        ),
        BoundSpec(
            "gru-reset-factor",
            r"range ($\inf$, $\sup$) of the GRU's reset factor over $U_r$, $r_t$ coupled, at "
            r"fixed $a_r$",
            _gru_reset_factor,
            (_AR,),
        ),
    )
}
