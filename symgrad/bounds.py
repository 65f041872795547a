"""The named bounds behind ``symgrad bound``: every supremum computed two ways.

Each entry of :data:`BOUNDS` builds, from the engine, the quantity whose
supremum the article's boundedness arguments rest on (the LSTM's
:math:`\\sup_c |(1 - \\tanh^2 c)\\,c| < 0.45`, each minor term of
:math:`\\partial c_t/\\partial c_{t-1}` divided by its weight, ...). Then:

- SciPy finds the optimum and the maximiser globally: a dense grid over the
  domain, then L-BFGS-B from the best grid point with the engine's gradient.
  (A single bounded local search stalls on the flat tails of sech^2 and
  returns 0.)
- :mod:`symgrad.certify` encloses the supremum rigorously in ``[lo, hi]`` by
  interval arithmetic on arb and branch and bound, the unbounded tail of R cut off by a
  stated and checked lemma.
- A claimed inequality ("sup < 0.45") is *proved* only by the certificate:
  ``hi < 0.45``. Where a closed form exists it is a third witness, enclosed in
  ball arithmetic and compared with ``[lo, hi]``; the SciPy optimum must lie in
  ``[lo, hi]`` too (a stalled optimiser fails here).

Worst cases over gate values and states are taken factor by factor: the
engine writes each term as a product of factors; factors over disjoint values
range independently (every gate's pre-activation has its own bias, so each
gate value in (0, 1) is reached whatever the states), and the supremum of the
product is the product of the suprema.
"""

from __future__ import annotations

import importlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from functools import partial as bind
from numbers import Real

import sympy

from .cells import Cell, get_cell
from .defaults import BOUND_TOLERANCE
from .derive import compose, derive, partial
from .primitives import sigmoid
from .render import Factors

__all__ = [
    "BOUNDS",
    "BoundError",
    "BoundResult",
    "BoundSpec",
    "Param",
    "certify_below",
    "check_params",
    "compute_bound",
    "format_catalog",
    "format_result",
]

#: Widths a caller may ask for: below 1e-20 the 128-bit arithmetic runs out of digits
#: for the largest parameters; above 0.1 an enclosure says little.
MIN_TOLERANCE, MAX_TOLERANCE = 1e-20, 0.1
#: An undecided claim (its bound inside [lo, hi]) is refined by factors of
#: 1000 down to this width, then reported undecided.
REFINE_FLOOR = 1e-20
#: Grid points of the SciPy search (per group of variables, spread over its dimensions).
GRID_POINTS = 4001
#: How far (relative) the SciPy optimum may sit outside [lo, hi]: float64
#: evaluation of a few dozen operations errs by ~1e-15 relative, and the
#: polish stops ~1e-16 below the peak; 1e-12 leaves a margin of a thousand.
SCIPY_SLACK = 1e-12
#: A maximiser this close (relative to the domain) to an end of an open range
#: is reported as approached, not attained.
AT_END = 1e-9


class BoundError(ValueError):
    """An unknown bound or a bad parameter: the message names the valid choices."""


# ---------------------------------------------------------------- the problem a bound poses


@dataclass(frozen=True)
class Domain:
    """An interval of a variable; ``None`` for an infinite end. ``open``: the ends
    are limits, not values (gates in (0, 1), |h_{t-1}| < 1)."""

    lo: Fraction | None
    hi: Fraction | None
    open: bool = True


REALS = Domain(None, None)


@dataclass(frozen=True)
class Part:
    """``scale * sup |expr|`` over ``domains``; ``expr`` a product of factors.

    ``names`` maps symbols the cell does not know (``u``, ``v``) to their text
    and LaTeX; ``back`` maps the maximiser (ASCII name -> value) to the
    variables the bound is stated in (e.g. v -> U for ``rnn-tanh``).
    """

    expr: sympy.Expr
    domains: dict
    scale: Fraction = Fraction(1)
    label: str = ""
    names: dict = field(default_factory=dict)
    back: Callable | None = None


@dataclass(frozen=True)
class Claim:
    """``lhs op rhs``: ``lhs`` the bound (or a :class:`Part`), ``rhs`` a number or a
    function of an ``enclose(part) -> arb`` callback.

    ``symbolic``: a proof for every parameter value, used only where the
    enclosures cannot separate the two sides (S(a) <= |a| + S(0) at a = 0 is an
    equality, and at |a| = 1e-30 a gap of 4e-31 is below any working width);
    the verdict then says so. Without it an undecided claim is refined down to
    width :data:`REFINE_FLOOR`, then reported undecided."""

    statement: str
    op: str
    rhs: object
    lhs: Part | None = None
    meaning: str = ""
    symbolic: str = ""


@dataclass(frozen=True)
class ClosedForm:
    """A third witness: ``value()`` encloses the supremum in ball arithmetic;
    ``argmax()`` (optional) the maximiser of ``variable``."""

    text: str
    value: Callable
    variable: str = ""
    argmax: Callable | None = None


@dataclass(frozen=True)
class Problem:
    quantity: str
    quantity_latex: str
    cell: Cell  # whose names print the factors
    parts: tuple[Part, ...]
    source: str
    claims: tuple[Claim, ...] = ()
    closed_form: ClosedForm | None = None
    notes: tuple[str, ...] = ()


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


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class Verdict:
    """One checked statement: ``kind`` "claim", "closed form" or "scipy";
    ``verdict`` "proved", "refuted", "undecided", "agrees", "disagrees"."""

    kind: str
    statement: str
    verdict: str
    detail: str

    @property
    def passed(self) -> bool:
        return self.verdict in ("proved", "agrees")


@dataclass(frozen=True)
class FactorResult:
    """The supremum of one group of factors (its values range independently)."""

    label: str
    text: str
    latex: str
    value: float
    argmax: dict
    where: str
    where_latex: str
    interval: tuple[float, float]
    subdivisions: int
    tail: str | None


@dataclass(frozen=True)
class BoundResult:
    """The outcome of :func:`compute_bound`.

    ``value``/``argmax``: SciPy's optimum and maximiser (ASCII name -> float);
    ``interval`` = (lo, hi) as floats rounded outward, certified to contain the
    supremum; ``width`` = hi - lo; ``subdivisions``: boxes split by the branch
    and bound; ``seconds``: wall time of the whole computation; ``claim``: the
    claimed inequalities (None if the bound claims none); ``proved``: True if
    the certificate proved every claim, False if not, None without claims;
    ``checks``: every verdict (claims, closed form, SciPy inside [lo, hi]);
    ``factors``: the worst case factor by factor; ``notes``: the tail lemma,
    the closed form, caveats.
    """

    name: str
    quantity: str
    quantity_latex: str
    source: str
    params: dict
    value: float
    argmax: dict
    where: str
    where_latex: str
    interval: tuple[float, float]
    width: float
    subdivisions: int
    seconds: float
    scipy_seconds: float
    certificate_seconds: float
    claim: str | None
    proved: bool | None
    checks: tuple[Verdict, ...]
    factors: tuple[FactorResult, ...]
    closed_form: dict | None
    notes: tuple[str, ...]

    @property
    def passed(self) -> bool:
        """Every check holds (the exit status of ``symgrad bound``)."""
        return all(c.passed for c in self.checks)

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "quantity": self.quantity,
            "source": self.source,
            "params": self.params,
            "value": self.value,
            "argmax": self.argmax,
            "where": self.where,
            "interval": list(self.interval),
            "width": self.width,
            "subdivisions": self.subdivisions,
            "seconds": self.seconds,
            "scipy_seconds": self.scipy_seconds,
            "certificate_seconds": self.certificate_seconds,
            "claim": self.claim,
            "proved": self.proved,
            "passed": self.passed,
            "checks": [
                {"kind": c.kind, "statement": c.statement, "verdict": c.verdict, "detail": c.detail}
                for c in self.checks
            ],
            "factors": [
                {
                    "label": f.label,
                    "factor": f.text,
                    "latex": f.latex,
                    "value": f.value,
                    "argmax": f.argmax,
                    "where": f.where,
                    "interval": list(f.interval),
                    "subdivisions": f.subdivisions,
                    "tail_lemma": f.tail,
                }
                for f in self.factors
            ],
            "closed_form": self.closed_form,
            "notes": list(self.notes),
        }


# ---------------------------------------------------------------- the public entry points


def compute_bound(
    name: str, below=None, tolerance: float = BOUND_TOLERANCE, **params
) -> BoundResult:
    """Compute the bound ``name`` of :data:`BOUNDS` two ways and check its claims.

    ``params``: the bound's parameters as numbers (int, Fraction or finite
    float; see ``BOUNDS[name].params``), defaults for the rest. ``below``: if
    given, the claim becomes "sup < below" instead of the bound's own.
    ``tolerance``: the largest width of the certified interval (1e-20 to 0.1).
    Raises :class:`BoundError` for an unknown name or a bad parameter.
    """
    start = time.perf_counter()
    spec = _spec(name)
    values = check_params(name, params)
    tolerance = _check_tolerance(tolerance)
    problem = spec.build(values)
    claims = problem.claims
    if below is not None:
        bound = _number("below", below)
        claims = (Claim(f"sup < {_show(bound)}", "<", bound, meaning="the claim asked for"),)
    return _solve(spec, values, problem, claims, tolerance, start)


def certify_below(name: str, bound, **params) -> BoundResult:
    """:func:`compute_bound` with the claim "sup < ``bound``": ``result.proved`` is
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
            raise BoundError(f"{p.name} = 0 is not allowed: {p.nonzero}")
        if not p.lo <= value <= p.hi:
            raise BoundError(
                f"{p.name} = {_show(value)} is out of range: {_show(p.lo)} <= {p.name} "
                f"<= {_show(p.hi)} ({p.doc})"
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


def _show(x: Fraction) -> str:
    """A Fraction as the user wrote it: 9/20 reads 0.45, 1/3 stays 1/3, and a float's
    exact binary value reads as the float."""
    if x.denominator == 1:
        return str(x.numerator)
    f = float(x)
    return repr(f) if Fraction(repr(f)) == x or Fraction(f) == x else str(x)


# ---------------------------------------------------------------- solving a problem


@dataclass
class _Group:
    """A product of factors over variables no other factor shares."""

    part: Part
    expr: sympy.Expr
    variables: tuple
    sup: object  # certify.Supremum
    value: float = 0.0
    argmax: tuple = ()
    symmetric: bool = False


class _Run:
    """The groups of every part a bound needs, each certified once and refined on demand."""

    def __init__(self):
        # Imported here so that the import is not charged to the SciPy timing.
        importlib.import_module("scipy.optimize")

        self.groups: dict = {}
        self.scipy_seconds = 0.0
        self.certificate_seconds = 0.0

    def groups_of(self, part: Part) -> list[_Group]:
        out = []
        for expr, variables in _split(part.expr):
            key = (expr, tuple((v, part.domains[v]) for v in variables))
            if key not in self.groups:
                self.groups[key] = self._new_group(part, expr, variables)
            out.append(self.groups[key])
        return out

    def _new_group(self, part, expr, variables) -> _Group:
        from .certify import Supremum

        t = time.perf_counter()
        domains = {v: (part.domains[v].lo, part.domains[v].hi) for v in variables}
        sup = Supremum(expr, variables, domains)
        self.certificate_seconds += time.perf_counter() - t
        group = _Group(part, expr, variables, sup)
        t = time.perf_counter()
        box = [_finite(part.domains[v], sup.tail) for v in variables]
        group.value, group.argmax, group.symmetric = _scipy_sup(expr, variables, box)
        self.scipy_seconds += time.perf_counter() - t
        return group

    def enclose(self, part: Part, tolerance: float) -> tuple:
        """Exact (lo, hi) around ``part.scale * sup |part.expr|``, hi - lo <= ``tolerance``."""
        from flint import ctx

        from .certify import PREC, ball

        groups = self.groups_of(part)
        t = time.perf_counter()
        with ctx.workprec(PREC):
            scale = ball(abs(part.scale) * _constant(part.expr))
            # Each group's share of the width, then tighter until the product fits.
            share = tolerance / (2 * max(1, len(groups)) * max(1.0, float(abs(part.scale))))
            while True:
                for g in groups:
                    others = math.prod(max(1.0, float(h.sup.hi)) for h in groups if h is not g)
                    g.sup.refine(share / others)
                lo = (scale * math.prod((g.sup.lo for g in groups), start=_one())).lower()
                hi = (scale * math.prod((g.sup.hi for g in groups), start=_one())).upper()
                if hi - lo <= tolerance:
                    break
                share /= 4
        self.certificate_seconds += time.perf_counter() - t
        return lo, hi


def _one():
    from flint import arb

    return arb(1)


def _split(expr) -> list[tuple]:
    """The factors of ``expr`` grouped so that no two groups share a variable:
    [(product, variables sorted by name)], constants dropped (they go in the scale)."""
    groups: list[tuple[set, list]] = []
    for factor in sympy.Mul.make_args(expr):
        symbols = set(factor.free_symbols)
        if not symbols:
            continue
        joined = [g for g in groups if g[0] & symbols]
        for g in joined:
            groups.remove(g)
            symbols |= g[0]
        groups.append((symbols, [f for g in joined for f in g[1]] + [factor]))
    return [
        (sympy.Mul(*factors), tuple(sorted(symbols, key=lambda s: s.name)))
        for symbols, factors in groups
    ]


def _constant(expr) -> Fraction:
    coeff = sympy.Mul(*(f for f in sympy.Mul.make_args(expr) if not f.free_symbols))
    return abs(Fraction(int(coeff.p), int(coeff.q)))


def _finite(domain: Domain, tail) -> tuple[float, float]:
    cut = tail.cutoff if tail is not None else None
    lo = -cut if domain.lo is None else float(domain.lo)
    hi = cut if domain.hi is None else float(domain.hi)
    return lo, hi


def _scipy_sup(expr, variables, box) -> tuple[float, tuple, bool]:
    """SciPy's global maximum of |expr| over a finite box: the best of a dense grid
    (:data:`GRID_POINTS`), polished by L-BFGS-B inside the grid cells around it,
    with the gradient from the engine. Returns (value, maximiser, symmetric):
    a one-variable maximiser on a symmetric domain is given as its positive
    representative when |expr| takes the same value at -x ("symmetric")."""
    import numpy as np
    from scipy.optimize import minimize

    f = sympy.lambdify(variables, expr, "numpy")
    grad = sympy.lambdify(variables, [partial(expr, v) for v in variables], "numpy")
    d = len(variables)
    n = max(3, round(GRID_POINTS ** (1 / d)))
    axes = [np.linspace(lo, hi, n) for lo, hi in box]
    mesh = np.meshgrid(*axes, indexing="ij")
    values = np.abs(np.broadcast_to(f(*mesh), mesh[0].shape))
    k = np.unravel_index(int(np.argmax(values)), values.shape)
    x0 = np.array([axes[i][k[i]] for i in range(d)])
    cell = [(axes[i][max(k[i] - 1, 0)], axes[i][min(k[i] + 1, n - 1)]) for i in range(d)]

    def objective(x):
        return -abs(float(f(*x)))

    def gradient(x):
        return -np.sign(float(f(*x))) * np.array(grad(*x), dtype=float)

    polished = minimize(
        objective,
        x0,
        jac=gradient,
        method="L-BFGS-B",
        bounds=cell,
        options={"ftol": 1e-16, "gtol": 1e-14, "maxiter": 500},
    )
    best = polished.x if -polished.fun >= values[k] else x0
    value = abs(float(f(*best)))
    symmetric = False
    if d == 1 and box[0][0] == -box[0][1]:
        mirror = abs(float(f(-best[0])))
        symmetric = mirror >= value * (1 - SCIPY_SLACK)
        if symmetric and best[0] < 0:
            best, value = -best, max(value, mirror)
    return value, tuple(float(x) for x in best), symmetric


def _solve(spec, values, problem: Problem, claims, tolerance, start) -> BoundResult:
    from flint import arb

    from .certify import down, up

    run = _Run()
    tol = tolerance
    while True:
        pairs = [run.enclose(p, tol) for p in problem.parts]
        lo = max((p[0] for p in pairs), key=float)
        hi = max((p[1] for p in pairs), key=float)
        verdicts = _decide(claims, (lo, hi), run, tol)
        # An undecided claim (its bound inside [lo, hi]) gets a narrower enclosure.
        if all(v != "undecided" or c.symbolic for c, (v, _) in zip(claims, verdicts, strict=True)):
            break
        if tol <= REFINE_FLOOR:
            break
        tol = max(tol / 1000, REFINE_FLOOR)
    verdicts = [
        ("proved", f"{c.symbolic} (the enclosures alone cannot separate the sides: {detail})")
        if v == "undecided" and c.symbolic
        else (v, detail)
        for c, (v, detail) in zip(claims, verdicts, strict=True)
    ]
    checks = [
        Verdict("claim", c.statement + (f" ({c.meaning})" if c.meaning else ""), v, detail)
        for c, (v, detail) in zip(claims, verdicts, strict=True)
    ]
    value, argmax, part = max(
        ((*_scipy_part(run, p), p) for p in problem.parts), key=lambda item: item[0]
    )
    where, where_latex = _where(problem, part, run, argmax)
    checks.append(_scipy_check(value, down(lo), up(hi)))
    closed = None
    if problem.closed_form is not None:
        closed, check = _closed_form_check(problem.closed_form, (lo, hi), argmax)
        checks.append(check)
    factors = _factor_results(problem, run)
    return BoundResult(
        name=spec.name,
        quantity=problem.quantity,
        quantity_latex=problem.quantity_latex,
        source=problem.source,
        params={k: float(v) for k, v in values.items()},
        value=value,
        argmax=argmax,
        where=where,
        where_latex=where_latex,
        interval=(down(lo), up(hi)),
        width=up(arb(up(hi)) - arb(down(lo))),
        subdivisions=sum(g.sup.subdivisions for g in run.groups.values()),
        seconds=time.perf_counter() - start,
        scipy_seconds=run.scipy_seconds,
        certificate_seconds=run.certificate_seconds,
        claim=" and ".join(c.statement for c in claims) or None,
        proved=all(v == "proved" for v, _ in verdicts) if claims else None,
        checks=tuple(checks),
        factors=factors,
        closed_form=closed,
        notes=problem.notes + tuple(f"tail lemma: {f.tail}" for f in factors if f.tail),
    )


def _decide(claims, bound: tuple, run: _Run, tol: float) -> list[tuple[str, str]]:
    """(verdict, evidence) per claim, each side a ball enclosing its true value."""
    from flint import ctx

    from .certify import PREC, ball, decide

    def enclose(part):
        lo, hi = run.enclose(part, tol)
        return lo.union(hi)

    out = []
    with ctx.workprec(PREC):
        for claim in claims:
            lhs = bound if claim.lhs is None else run.enclose(claim.lhs, tol)
            rhs = ball(claim.rhs) if isinstance(claim.rhs, Fraction) else claim.rhs(enclose)
            shown = _show(claim.rhs) if isinstance(claim.rhs, Fraction) else None
            out.append((decide(lhs, claim.op, rhs), _compare_text(lhs, claim.op, rhs, shown)))
    return out


def _scipy_part(run: _Run, part: Part) -> tuple[float, dict]:
    """SciPy's optimum and maximiser of one part: the product of its groups'."""
    groups = run.groups_of(part)
    value = float(abs(part.scale) * _constant(part.expr)) * math.prod(g.value for g in groups)
    argmax = {}
    for g in groups:
        argmax.update({v.name: x for v, x in zip(g.variables, g.argmax, strict=True)})
    return value, (part.back(argmax) if part.back is not None else argmax)


def _scipy_check(value: float, lo: float, hi: float) -> Verdict:
    slack = SCIPY_SLACK * max(1.0, abs(value))
    inside = lo - slack <= value <= hi + slack
    detail = f"{value!r} in [{lo!r}, {hi!r}]"
    if not inside:
        detail = detail.replace(" in ", " is outside ") + (
            ": the optimiser missed the global maximum"
            if value < lo
            else ": the optimiser (or the certificate) is wrong"
        )
    return Verdict(
        "scipy",
        "the SciPy optimum lies in the certified interval",
        "agrees" if inside else "disagrees",
        detail,
    )


def _closed_form_check(cf: ClosedForm, bound: tuple, argmax: dict) -> tuple[dict, Verdict]:
    from flint import ctx

    from .certify import PREC, down, up

    with ctx.workprec(PREC):
        exact = cf.value()
        agrees = not (exact.upper() < bound[0] or exact.lower() > bound[1])
        closed = {"text": cf.text, "interval": [down(exact), up(exact)], "agrees": agrees}
        detail = f"{cf.text}: [{down(exact)!r}, {up(exact)!r}]"
        if cf.argmax is not None and cf.variable in argmax:
            at = cf.argmax()
            closed["argmax"] = {cf.variable: float(at)}
            distance = abs(float(at) - abs(argmax[cf.variable]))
            detail += f"; SciPy's maximiser lies {distance:.1e} from the closed form's"
    verdict = Verdict(
        "closed form",
        "the closed form lies in the certified interval",
        "agrees" if agrees else "disagrees",
        detail,
    )
    return closed, verdict


def _compare_text(lhs, op: str, rhs, shown: str | None) -> str:
    """The evidence of a verdict: the end of [lo, hi] that decides it, against the
    claimed bound (``shown`` as the user wrote it, else the bound's own interval)."""
    from .certify import decide, down, ends, up

    verdict = decide(lhs, op, rhs)
    (a, b), (c, d) = ends(lhs), ends(rhs)
    low, high = (shown, shown) if shown else (repr(down(c)), repr(up(d)))
    if verdict == "proved":
        return f"lo = {down(a)!r} >= {high}" if op == ">=" else f"hi = {up(b)!r} {op} {low}"
    if verdict == "refuted":
        if op == ">=":
            return f"hi = {up(b)!r} < {low}"
        return f"lo = {down(a)!r} {'>=' if op == '<' else '>'} {high}"
    return f"[{down(a)!r}, {up(b)!r}] meets [{down(c)!r}, {up(d)!r}]"


def _factor_results(problem: Problem, run: _Run) -> tuple[FactorResult, ...]:
    from .certify import down, up

    out = []
    for part in problem.parts:
        text, latex = _printers(problem.cell, part.names)
        for g in run.groups_of(part):
            argmax = {v.name: x for v, x in zip(g.variables, g.argmax, strict=True)}
            where, where_latex = _where(problem, part, run, argmax)
            out.append(
                FactorResult(
                    label=part.label,
                    text=text.doprint(g.expr),
                    latex=latex.doprint(g.expr),
                    value=g.value,
                    argmax=argmax,
                    where=where,
                    where_latex=where_latex,
                    interval=(down(g.sup.lo), up(g.sup.hi)),
                    subdivisions=g.sup.subdivisions,
                    tail=_tail_text(g, text) if g.sup.tail is not None else None,
                )
            )
    return tuple(out)


_PM = r"\pm "


def _where(problem: Problem, part: Part, run: _Run, argmax: dict) -> tuple[str, str]:
    """The maximiser in words and in LaTeX: "f_t = 0.5, o_{t-1} → 1, c_{t-1} = ±0.7717"
    (→ where the value lies at an end of an open range: approached, not attained;
    ± where |g| takes the same value at -x)."""
    text, latex = _printers(problem.cell, part.names)
    symmetric, approached = set(), {}
    for g in run.groups_of(part):
        for v, x in zip(g.variables, g.argmax, strict=True):
            if g.symmetric:
                symmetric.add(v.name)
            d = part.domains[v]
            for end in (d.lo, d.hi) if d.open else ():
                if end is not None and abs(x - float(end)) <= AT_END * (1 + abs(float(end))):
                    approached[v.name] = _show(end)
    words, tex = [], []
    for name, x in argmax.items():
        symbol = sympy.Symbol(name, real=True)
        t, lt = text.doprint(symbol), latex.doprint(symbol)
        if name in approached:
            words.append(f"{t} → {approached[name]}")
            tex.append(rf"{lt} \to {approached[name]}")
        else:
            sign = name in symmetric and x != 0
            words.append(f"{t} = {'±' if sign else ''}{x:.12g}")
            tex.append(f"{lt} = {_PM if sign else ''}{x:.12g}")
    return ", ".join(words), ", ".join(tex)


def _printers(cell: Cell, names: dict):
    """Text and LaTeX printers with the cell's names (and ``names`` for the rest)."""
    from .ranges import value_ranges
    from .render import LatexMath, TextMath

    ranges = value_ranges(cell)
    text, latex = TextMath(cell, ranges), LatexMath(cell, ranges)
    for name, (t, tex) in names.items():
        text.names[name] = t
        latex._settings["symbol_names"][sympy.Symbol(name, real=True)] = tex
    return text, latex


def _tail_text(g: _Group, text) -> str:
    from flint import ctx

    from .certify import PREC, down, up

    lemma = g.sup.tail
    x = text.doprint(lemma.variable)
    with ctx.workprec(PREC):
        bound = up(lemma.bound())
        lo = down(g.sup.lo)
    decay = Fraction(lemma.degree, lemma.rate)
    return (
        f"for |{x}| >= {lemma.cutoff}: |{text.doprint(g.expr)}| <= "
        f"{lemma.envelope_text(x)} <= {bound:.2e} < lo = {lo:.10g}, since "
        + "; ".join(lemma.reasons)
        + f" (x = {x}); and C t^k e^(-λt) decreases for t >= max(1, k/λ) = max(1, {decay}). "
        f"So the supremum over all of R lies in [-{lemma.cutoff}, {lemma.cutoff}], "
        "covered box by box."
    )


# ---------------------------------------------------------------- building the problems


def _u() -> sympy.Symbol:
    return sympy.Symbol("u", real=True)


_U_NAMES = {"u": ("u", "u"), "v": ("v", "v"), "h_active": ("[h_t > 0]", r"[h_t > 0]")}


def _root_function(c):
    # d/dc [c sech^2 c] = sech^2 c (1 - 2c tanh c): the LSTM constant peaks at its root.
    return 2 * c * c.tanh() - 1


def _c_star():
    """c*, the root of 2c tanh c = 1 in [1/2, 1] (there h(1/2) < 0 < h(1), h increasing)."""
    from .certify import bracket_root

    return bracket_root(_root_function, Fraction(1, 2), Fraction(1))


def _s0_closed(multiple: Fraction = Fraction(1)):
    """multiple * S(0), S(0) = c* sech^2 c* = c* - 1/(4c*) (tanh c* = 1/(2c*))."""
    from .certify import ball

    c = _c_star()
    return ball(multiple) * (c - 1 / (4 * c))


def _c_star_times(multiple: Fraction = Fraction(1)):
    from .certify import ball

    return ball(multiple) * _c_star()


def _exact(value: Fraction):
    from .certify import ball

    return ball(value)


def _activation(kind: str, params) -> Problem:
    u = _u()
    cell = get_cell("rnn")
    if kind == "sigmoid-slope":
        expr = partial(sigmoid(u), u)
        closed = ClosedForm("1/4 at u = 0", bind(_exact, Fraction(1, 4)), "u", bind(_exact, 0))
        quantity, tex = "sup_u σ'(u) = sup_u σ(u)(1 - σ(u))", r"\sup_u \sigma'(u)"
    elif kind == "tanh-slope":
        from .primitives import tanh

        expr = partial(tanh(u), u)
        closed = ClosedForm("1 at u = 0", bind(_exact, Fraction(1)), "u", bind(_exact, 0))
        quantity, tex = "sup_u tanh'(u) = sup_u (1 - tanh² u)", r"\sup_u \tanh'(u)"
    else:
        expr = u * partial(sigmoid(u), u)
        closed = ClosedForm(
            "S(0)/2 at u = 2c*, c* the root of 2c tanh c = 1",
            bind(_s0_closed, Fraction(1, 2)),
            "u",
            bind(_c_star_times, Fraction(2)),
        )
        quantity, tex = "sup_u |u σ'(u)|", r"\sup_u |u \sigma'(u)|"
    notes = ()
    if kind == "sigmoid-saturation":
        notes = (
            "σ(u) = (1 + tanh(u/2))/2 gives u σ'(u) = (1/2) c sech² c with c = u/2: half "
            "the LSTM constant S(0), at twice its maximiser",
        )
    return Problem(
        quantity=quantity,
        quantity_latex=tex,
        cell=cell,
        parts=(Part(expr, {u: REALS}, names=_U_NAMES),),
        source="the derivative of the activation by the engine's differentiator, in gate form",
        closed_form=closed,
        notes=notes,
    )


def _lstm_saturation(params) -> Problem:
    d = _derivation("lstm")
    term = _term(d, "f")
    c = d.cell.symbol("c_prev")
    expr = sympy.Mul(*(f for f in term.factors if c in f.free_symbols))
    return Problem(
        quantity="sup over c_{t-1} in R of |(1 - tanh² c_{t-1}) c_{t-1}|",
        quantity_latex=r"\sup_{c_{t-1}} \left|\left(1 - \tanh^2 c_{t-1}\right) c_{t-1}\right|",
        cell=d.cell,
        parts=(Part(expr, {c: _value_domain(d.ranges[c])}),),
        source="the factors in c_{t-1} of the forget term c_{t-1} ∂f_t/∂c_{t-1} of "
        "dc_t/dc_{t-1} (lstm), as the engine derives it",
        claims=(Claim("sup < 0.45", "<", Fraction(9, 20), meaning="the article's constant"),),
        closed_form=ClosedForm(
            "S(0) = c* - 1/(4c*) at c_{t-1} = ±c*, c* the root of 2c tanh c = 1",
            _s0_closed,
            "c_prev",
            _c_star,
        ),
        notes=("the factor (1 - tanh² c_{t-1}) c_{t-1} is signed, in [-S(0), S(0)]: not a gate",),
    )


def _rnn_s(a: Fraction, h: Fraction):
    """(1 - tanh^2 v)(v - a) from the engine's (1 - h_t^2) U of rnn: h_t composed
    back to tanh(W x + U h_{t-1} + b), W x + b = a, h_{t-1} = h, U = (v - a)/h,
    times h. Returns (expression, v)."""
    d = _derivation("rnn")
    (term,) = d.terms
    W, x, b, U, h_prev = (d.cell.symbol(n) for n in ("W", "x", "b", "U", "h_prev"))
    v = sympy.Symbol("v", real=True)
    a_, h_ = _rational(a), _rational(h)
    raw = compose(d.cell, d.carry, term.expr)
    in_v = raw.xreplace({b: a_ - W * x, h_prev: h_}).xreplace({U: (v - a_) / h_})
    return _absorb(in_v * h_, v), v


def _rnn_tanh(params) -> Problem:
    a, h = params["a"], params["h"]
    d = _derivation("rnn")
    s_expr, v = _rnn_s(a, h)
    s0_expr, _ = _rnn_s(Fraction(0), h)

    def to_u(argmax, a=a, h=h):
        return {"U": float((Fraction(argmax["v"]) - a) / h), "v": argmax["v"]}

    names = _U_NAMES
    s_part = Part(s_expr, {v: REALS}, names=names, back=to_u)
    main = Part(s_expr, {v: REALS}, scale=1 / abs(h), names=names, back=to_u)
    s0_part = Part(s0_expr, {v: REALS}, names=names)
    show_a = _show(a)
    claims = (
        Claim(
            "S(a) <= |a| + S(0)",
            "<=",
            bind(_loose, abs(a), s0_part),
            lhs=s_part,
            symbolic="by the triangle inequality, for every a: |v - a| sech² v <= "
            "|v| sech² v + |a| sech² v <= S(0) + |a|",
        ),
        Claim(
            "S(a) <= (|a| + sqrt(1 + a²))/2",
            "<=",
            bind(_sharp, a),
            lhs=s_part,
            meaning="the sharper bound",
        ),
    )
    closed = None
    if a == 0:
        closed = ClosedForm(
            f"S(0)/|h| at U = ±c*/h = ±c*/{_show(h)}, c* the root of 2c tanh c = 1",
            bind(_s0_closed, 1 / abs(h)),
            "U",
            bind(_c_star_times, 1 / abs(h)),
        )
    return Problem(
        quantity=f"sup over U of |(1 - tanh²(a + U h)) U| = S(a)/|h| at a = {show_a}, "
        f"h = {_show(h)}, S(a) = sup_v |(1 - tanh² v)(v - a)|",
        quantity_latex=(
            r"\sup_U \left|\left(1 - \tanh^2(a + U h_{t-1})\right) U\right| = "
            r"\frac{S(a)}{|h_{t-1}|}"
        ),
        cell=d.cell,
        parts=(main,),
        source="the engine's dh_t/dh_{t-1} = (1 - h_t²) U (rnn), h_t composed back to "
        "tanh(W x_t + U h_{t-1} + b), with W x_t + b = a and the substitution "
        "v = a + U h_{t-1} (U = (v - a)/h)",
        claims=claims,
        closed_form=closed,
        notes=(
            "holds for fixed h_{t-1} ≠ 0 only: S(a)/|h_{t-1}| blows up as h_{t-1} → 0 "
            "(the first step from h_0 = 0 is unbounded in U) and grows like |a| = |W x_t + b|",
            "S(a) <= |a| + S(0) by the triangle inequality |v - a| <= |v| + |a| and "
            "sech² <= 1; (|a| + sqrt(1 + a²))/2 is sharper (tight as |a| → ∞)",
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
    from .certify import ball

    return ball(a) + enclose(s0_part)


def _sharp(a: Fraction, enclose):
    from .certify import ball

    return (ball(abs(a)) + ball(1 + a * a).sqrt()) / 2


def _rnn_relu(params) -> Problem:
    L = params["L"]
    return Problem(
        quantity=f"sup over |U| <= L of |dh_t/dh_{{t-1}}| = |[h_t > 0] U| (ReLU) at L = {_show(L)}",
        quantity_latex=r"\sup_{|U| \le L} \left|[h_t > 0]\, U\right|",
        cell=get_cell("rnn-relu"),
        parts=(_relu_part(L),),
        source="the engine's dh_t/dh_{t-1} = [h_t > 0] U (rnn-relu)",
        claims=(
            Claim(
                f"sup >= L = {_show(L)}",
                ">=",
                L,
                meaning="unbounded: it grows with L without limit",
            ),
        ),
        closed_form=ClosedForm(f"L = {_show(L)} at U = L", bind(_exact, L), "U", bind(_exact, L)),
        notes=(
            "on the active side (W x_t + U h_{t-1} + b > 0) dh_t/dh_{t-1} = U, attained "
            "at U = L: no bound independent of U exists, and no tail lemma can cut U",
            "the indicator [h_t > 0] takes the values 0 and 1; |[h_t > 0] U| is linear in "
            "it, so its supremum over {0, 1} is the one over [0, 1]",
        ),
    )


def _relu_part(L: Fraction, label: str = "") -> Part:
    d = _derivation("rnn-relu")
    (term,) = d.terms
    h, U = d.cell.symbol("h"), d.cell.symbol("U")
    active = sympy.Symbol("h_active", real=True)
    expr = term.expr.xreplace({sympy.Heaviside(h, 0): active})
    domains = {active: Domain(Fraction(0), Fraction(1), open=False), U: Domain(-L, L, open=False)}
    return Part(expr, domains, label=label, names=_U_NAMES)


def _clipping(params) -> Problem:
    d = _derivation("rnn")
    (term,) = d.terms
    h, U = d.cell.symbol("h"), d.cell.symbol("U")
    one = Fraction(1)
    tanh_part = Part(
        term.expr,
        {h: _value_domain(d.ranges[h]), U: Domain(-one, one, open=False)},
        label="tanh",
    )
    return Problem(
        quantity="sup over |U| <= 1 of |dh_t/dh_{t-1}|, for tanh ((1 - h_t²) U) and "
        "ReLU ([h_t > 0] U)",
        quantity_latex=r"\sup_{|U| \le 1} \left|\frac{\partial h_t}{\partial h_{t-1}}\right|",
        cell=d.cell,
        parts=(tanh_part, _relu_part(one, label="ReLU")),
        source="the engine's dh_t/dh_{t-1} of rnn and rnn-relu, U clipped into [-1, 1]",
        claims=(Claim("sup <= 1", "<=", one, meaning="clipping stops explosion"),),
        closed_form=ClosedForm("1", bind(_exact, one)),
        notes=(
            "h_t ranges over (-1, 1) whatever U is: a = W x_t + b is free; for tanh the "
            "supremum 1 is approached as h_t → 0 with |U| = 1, for ReLU attained at U = 1",
        ),
    )


def _minor_term(cell_name: str, via: str, params) -> Problem:
    d = _derivation(cell_name)
    term = _term(d, via)
    (weight,) = [f for f in term.factors if f.is_Symbol and f.name in d.cell.params]
    rest = sympy.Mul(*(f for f in term.factors if f != weight))
    rest = rest.xreplace({d.cell.symbol(n): _rational(v) for n, v in params.items()})
    domains = {s: _value_domain(d.ranges[s]) for s in rest.free_symbols}
    text, latex = _printers(d.cell, {})
    term_text, term_latex = text.item(Factors(term.factors)), latex.item(Factors(term.factors))
    w_text = text.doprint(weight)
    derivative = (
        rf"∂{text.doprint(d.cell.symbol(d.target))}/∂{text.doprint(d.cell.symbol(d.source))}"
    )
    notes = [
        "worst case over gate values and states, factor by factor: the factors depend on "
        "disjoint values, and each gate's pre-activation has its own bias, so every gate "
        "value in (0, 1) is reached whatever the states: the supremum of the product is "
        "the product of the factors' suprema (approached, not attained, where a factor "
        "needs a gate at 0 or 1)"
    ]
    notes += _MINOR_NOTES.get((cell_name, via), [])
    closed = _MINOR_CLOSED[(cell_name, via)]
    at = ", ".join(f"{n} = {_show(v)}" for n, v in params.items())
    return Problem(
        quantity=f"sup |{term_text}| / |{w_text}| over all gate values and states"
        + (f" at {at}" if at else ""),
        quantity_latex=rf"\sup \left|{term_latex}\right| / |{latex.doprint(weight)}|",
        cell=d.cell,
        parts=(Part(rest, domains),),
        source=f"the term through {text.doprint(d.cell.symbol(via))} of {derivative} "
        f"({cell_name}) as the engine derives it, divided by |{w_text}|",
        claims=(
            Claim(
                "sup < 1",
                "<",
                Fraction(1),
                meaning=f"compressed: the term stays below |{w_text}| in every case",
            ),
        ),
        closed_form=closed(params) if callable(closed) else closed,
        notes=tuple(notes),
    )


@lru_cache
def _derivation(cell_name: str):
    """The engine's derivation of a built-in cell, once per process (a Derivation is
    immutable; rnn-relu's numeric self-check alone takes a second)."""
    return derive(cell_name)


def _term(d, via: str):
    return next(t for t in d.terms if t.via == via)


def _gru_candidate_closed(params) -> ClosedForm:
    k = abs(params["U_r"])
    # sup over r in [0,1] of r (1 + (1 - r) k): interior peak at r = (1 + k)/(2k) when k >= 1.
    value = (1 + k) ** 2 / (4 * k) if k >= 1 else Fraction(1)
    where = "r = (1 + |U_r|)/(2|U_r|), h_{t-1} → sign(U_r)" if k >= 1 else "r → 1"
    return ClosedForm(
        f"max(1, (1 + |U_r|)²/(4|U_r|)) = {_show(value)} at {where}, z_t → 1, ĥ_t = 0",
        bind(_exact, value),
    )


_MINOR_CLOSED = {
    ("lstm", "f"): ClosedForm(
        "S(0)/4 at f_t = 1/2, o_{t-1} → 1, c_{t-1} = ±c*", bind(_s0_closed, Fraction(1, 4))
    ),
    ("lstm", "i"): ClosedForm(
        "1/4 at i_t = 1/2, |ĉ_t| → 1, o_{t-1} → 1, c_{t-1} = 0", bind(_exact, Fraction(1, 4))
    ),
    ("lstm", "c_hat"): ClosedForm(
        "1 as i_t → 1, o_{t-1} → 1, at ĉ_t = 0, c_{t-1} = 0", bind(_exact, Fraction(1))
    ),
    ("gru", "z"): ClosedForm(
        "1/2 at z_t = 1/2 as ĥ_t - h_{t-1} → ±2", bind(_exact, Fraction(1, 2))
    ),
    ("gru", "h_hat"): _gru_candidate_closed,  # a function of U_r
}

_MINOR_NOTES = {
    ("lstm", "f"): [
        "f_t (1 - f_t) <= 1/4 and o_{t-1} < 1, so |c_{t-1} ∂f_t/∂c_{t-1}| <= S(0)/4 · |U_f| "
        "≈ 0.1119 |U_f|; (1 - tanh² c_{t-1}) c_{t-1} is signed, in [-S(0), S(0)]: not a gate",
    ],
    ("lstm", "c_hat"): [
        "caveat: in the worst case the U_c term is not compressed at all: it approaches "
        "|U_c| (i_t → 1, ĉ_t = 0, o_{t-1} → 1, c_{t-1} = 0), so dc_t/dc_{t-1} can exceed 1; "
        "the article's 'compressed' is a statement about typical values",
    ],
    ("gru", "z"): [
        "h_{t-1} ranges over (-1, 1): |h_t| < 1 by induction from h_0 = 0, so "
        "ĥ_t - h_{t-1} lies in (-2, 2)",
    ],
    ("gru", "h_hat"): [
        "a function of U_r: the reset factor r_t (1 + (1 - r_t) h_{t-1} U_r) has supremum 1 "
        "for |U_r| <= 1 and (1 + |U_r|)²/(4|U_r|) > 1 above: the reset gate does not always "
        "shrink the U_h term",
        "h_{t-1} ranges over (-1, 1): |h_t| < 1 by induction from h_0 = 0",
    ],
}


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
    "a = W x_t + b, the pre-activation without U h_{t-1}",
    Fraction(-1000),
    Fraction(1000),
)
_H = Param(
    "h",
    Fraction(1),
    "h = h_{t-1} of a tanh RNN, in [-1, 1]",
    Fraction(-1),
    Fraction(1),
    nonzero="with h_{t-1} = 0, dh_t/dh_{t-1} = (1 - tanh² a) U is unbounded in U "
    "(the bound S(a)/|h| blows up); give h with 0 < |h| <= 1",
)
_L = Param(
    "L",
    Fraction(10),
    "the clipping radius: |U| <= L",
    Fraction(0),
    Fraction(10**6),
    nonzero="|U| <= 0 leaves only U = 0; give L > 0",
)
_UR = Param(
    "U_r", Fraction(2), "the reset gate's recurrent weight", Fraction(-1000), Fraction(1000)
)

#: The named bounds (names are part of the interface): name -> spec.
BOUNDS: dict[str, BoundSpec] = {
    spec.name: spec
    for spec in (
        BoundSpec("sigmoid-slope", "sup σ'(u) = 1/4", bind(_activation, "sigmoid-slope")),
        BoundSpec(
            "sigmoid-saturation",
            "sup |u σ'(u)|: half the LSTM constant, at twice its maximiser",
            bind(_activation, "sigmoid-saturation"),
        ),
        BoundSpec("tanh-slope", "sup tanh'(u) = 1", bind(_activation, "tanh-slope")),
        BoundSpec(
            "lstm-saturation",
            'sup |(1 - tanh² c) c| (the article\'s "< 0.45")',
            _lstm_saturation,
        ),
        BoundSpec(
            "rnn-tanh",
            "sup over U of |(1 - tanh²(a + U h)) U| = S(a)/|h|",
            _rnn_tanh,
            (_A, _H),
        ),
        BoundSpec(
            "rnn-relu",
            "sup over |U| <= L of |dh_t/dh_{t-1}| for ReLU = L: no bound",
            _rnn_relu,
            (_L,),
        ),
        BoundSpec(
            "clipping",
            "sup of |dh_t/dh_{t-1}| over |U| <= 1, tanh and ReLU",
            _clipping,
        ),
        BoundSpec(
            "lstm-forget-term",
            "worst case of |c_{t-1} ∂f_t/∂c_{t-1}| / |U_f|",
            bind(_minor_term, "lstm", "f"),
        ),
        BoundSpec(
            "lstm-input-term",
            "worst case of |ĉ_t ∂i_t/∂c_{t-1}| / |U_i|",
            bind(_minor_term, "lstm", "i"),
        ),
        BoundSpec(
            "lstm-candidate-term",
            "worst case of |i_t ∂ĉ_t/∂c_{t-1}| / |U_c|",
            bind(_minor_term, "lstm", "c_hat"),
        ),
        BoundSpec(
            "gru-update-term",
            "worst case of the GRU's z_t term / |U_z|, |h_{t-1}| < 1",
            bind(_minor_term, "gru", "z"),
        ),
        BoundSpec(
            "gru-candidate-term",
            "worst case of the GRU's ĥ_t term / |U_h|, a function of U_r",
            bind(_minor_term, "gru", "h_hat"),
            (_UR,),
        ),
    )
}


# ---------------------------------------------------------------- output


def format_result(result: BoundResult, fmt: str) -> str:
    """``result`` as ``text`` (Unicode), ``markdown``, ``latex`` or ``json``."""
    if fmt == "json":
        from .render import dumps

        return dumps(result.to_json())
    rows = _rows(result)
    if fmt == "text":
        return _text(result, rows)
    if fmt == "markdown":
        return _markdown(result, rows)
    if fmt == "latex":
        return _latex(result, rows)
    raise ValueError(f"unknown format {fmt!r}. Valid formats: text, markdown, latex, json")


def _rows(r: BoundResult) -> list[tuple[str, str, str]]:
    """(label, text, LaTeX) of the summary table."""
    lo, hi = r.interval
    rows = []
    if r.params:
        params = ", ".join(f"{k} = {v:g}" for k, v in r.params.items())
        rows.append(("parameters", params, f"${params}$"))
    rows += [
        ("SciPy optimum", f"{r.value!r} at {r.where}", f"${r.value!r}$ at ${r.where_latex}$"),
        ("certified", f"[{lo!r}, {hi!r}]", f"$[{lo!r}, {hi!r}]$"),
        (
            "width",
            f"{r.width:.2e}, {r.subdivisions} subdivisions",
            f"${_tex_float(r.width)}$, {r.subdivisions} subdivisions",
        ),
        (
            "time",
            f"{r.seconds:.2f} s (SciPy {r.scipy_seconds:.2f} s, "
            f"certificate {r.certificate_seconds:.2f} s)",
            f"{r.seconds:.2f} s (SciPy {r.scipy_seconds:.2f} s, "
            f"certificate {r.certificate_seconds:.2f} s)",
        ),
    ]
    for c in r.checks:
        label = {"claim": "claim", "closed form": "closed form", "scipy": "SciPy check"}[c.kind]
        body = (
            f"{c.statement}: {c.verdict.upper()}, {c.detail}"
            if c.kind == "claim"
            else f"{c.verdict}: {c.detail}"
        )
        rows.append((label, body, _tex_text(body)))
    return rows


def _text(r: BoundResult, rows) -> str:
    out = [f"{r.name}: {r.quantity}", f"  from: {r.source}"]
    width = max(len(label) for label, _, _ in rows)
    out += [f"  {label:<{width}}  {body}" for label, body, _ in rows]
    if len(r.factors) > 1:
        out.append("  worst case, factor by factor:")
        fw = max(len(_factor_name(f)) for f in r.factors)
        for f in r.factors:
            out.append(
                f"    {_factor_name(f):<{fw}}  {f.value:.12g} at {f.where}"
                f"  certified [{f.interval[0]!r}, {f.interval[1]!r}]"
            )
    out += [f"  - {note}" for note in r.notes]
    verdict = "" if r.proved is None else ("proved" if r.proved else "NOT proved")
    status = "all checks pass" if r.passed else "a check FAILED"
    out.append(f"  {verdict + ': ' if verdict else ''}{status}")
    return "\n".join(out) + "\n"


def _factor_name(f: FactorResult) -> str:
    return f"{f.label}: |{f.text}|" if f.label else f"|{f.text}|"


def _markdown(r: BoundResult, rows) -> str:
    out = [
        f"### `symgrad bound {r.name}`",
        "",
        f"${r.quantity_latex}$: {r.quantity}.",
        "",
        f"From {r.source}.",
        "",
        "| | |",
        "|---|---|",
    ]
    out += [f"| {label} | {_md_cell(body)} |" for label, body, _ in rows]
    if len(r.factors) > 1:
        out += ["", "Worst case, factor by factor:", "", "| factor | sup | at | certified |"]
        out.append("|---|---|---|---|")
        out += [
            f"| {f.label + ': ' if f.label else ''}$\\lvert {f.latex} \\rvert$ | {f.value:.12g} "
            f"| ${f.where_latex}$ | [{f.interval[0]!r}, {f.interval[1]!r}] |"
            for f in r.factors
        ]
    out += [""] + [f"- {_md_cell(note)}" for note in r.notes]
    return "\n".join(out) + "\n"


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def _latex(r: BoundResult, rows) -> str:
    out = [
        f"% symgrad bound {r.name}",
        rf"\paragraph{{\texttt{{{_tex_text(r.name)}}}.}} ${r.quantity_latex}$",
        r"\begin{description}",
    ]
    out += [rf"  \item[{label}] {tex}" for label, _, tex in rows]
    if len(r.factors) > 1:
        out.append(r"  \item[worst case] factor by factor:")
        out.append(r"  \begin{itemize}")
        out += [
            rf"    \item {_tex_text(f.label + ': ') if f.label else ''}"
            rf"$\left|{f.latex}\right| \le {f.value:.12g}$ at ${f.where_latex}$, "
            rf"certified $[{f.interval[0]!r}, {f.interval[1]!r}]$"
            for f in r.factors
        ]
        out.append(r"  \end{itemize}")
    out += [rf"  \item[note] {_tex_text(note)}" for note in r.notes]
    out.append(r"\end{description}")
    return "\n".join(out) + "\n"


def _tex_float(x: float) -> str:
    mantissa, _, exponent = f"{x:.2e}".partition("e")
    return rf"{mantissa} \times 10^{{{int(exponent)}}}"


_TEX_ESCAPES = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "_": r"\_",
    "%": r"\%",
    "&": r"\&",
    "#": r"\#",
    "$": r"\$",
    "^": r"\^{}",
    "~": r"\~{}",
    "<": "$<$",
    ">": "$>$",
    "|": "$|$",
    "²": "$^2$",
    "→": r"$\to$",
    "±": r"$\pm$",
    "ĉ": r"$\hat{c}$",
    "ĥ": r"$\hat{h}$",
    "σ": r"$\sigma$",
    "λ": r"$\lambda$",
    "∂": r"$\partial$",
    "≈": r"$\approx$",
    "≠": r"$\neq$",
    "·": r"$\cdot$",
    "∞": r"$\infty$",
    "≤": r"$\le$",
    "≥": r"$\ge$",
}


def _tex_text(text: str) -> str:
    """Plain text (notes, evidence) for a LaTeX paragraph: specials escaped, the
    Unicode the notes use as math."""
    text = text.replace("<=", "≤").replace(">=", "≥")
    return "".join(_TEX_ESCAPES.get(ch, ch) for ch in text)


def format_catalog(fmt: str) -> str:
    """The table of :data:`BOUNDS` (names, summaries, parameters) in ``fmt``."""
    entries = [
        (
            spec.name,
            spec.summary,
            [(p.name, p.default, p.doc, p.lo, p.hi) for p in spec.params],
        )
        for spec in BOUNDS.values()
    ]
    if fmt == "json":
        from .render import dumps

        return dumps(
            {
                "bounds": [
                    {
                        "name": name,
                        "summary": summary,
                        "params": [
                            {
                                "name": p,
                                "default": float(d),
                                "doc": doc,
                                "range": [float(lo), float(hi)],
                            }
                            for p, d, doc, lo, hi in params
                        ],
                    }
                    for name, summary, params in entries
                ]
            }
        )

    def params_text(params):
        return ", ".join(f"{p}={_show(d)}" for p, d, *_ in params)

    if fmt == "markdown":
        out = ["| bound | quantity | parameters (default) |", "|---|---|---|"]
        out += [f"| `{n}` | {_md_cell(s)} | {params_text(p) or '-'} |" for n, s, p in entries]
    elif fmt == "latex":
        out = [r"\begin{tabular}{lll}"]
        out += [
            rf"\texttt{{{_tex_text(n)}}} & {_tex_text(s)} & {_tex_text(params_text(p))} \\"
            for n, s, p in entries
        ]
        out.append(r"\end{tabular}")
    else:
        width = max(len(n) for n, _, _ in entries)
        out = ["Bounds (symgrad bound NAME [--param NAME=VALUE ...]):"]
        for n, s, p in entries:
            extra = f"  [{params_text(p)}]" if p else ""
            out.append(f"  {n:<{width}}  {s}{extra}")
    return "\n".join(out) + "\n"
