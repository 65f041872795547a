"""Suprema computed two ways: the problem a bound poses, the solver, the result.

A :class:`Problem` asks for ``scale * sup |expr|`` over a product of intervals
(one :class:`Part` or several, the largest counting) and may state
inequalities about it. :func:`solve` answers it:

- SciPy finds the optimum and the maximiser globally: a dense grid over the
  domain, then L-BFGS-B from the best grid point with the engine's gradient.
  (A single bounded local search stalls on the flat tails of sech^2 and
  returns 0.)
- :mod:`symgrad.certify` encloses the supremum rigorously in ``[lo, hi]`` by
  interval arithmetic on arb and branch and bound, the unbounded tail of R cut off by a
  stated and checked lemma.
- An :class:`Inequality` ("sup < 0.45") is *proved* only by the certificate:
  ``hi < 0.45``. Where a closed form exists it is a third witness, enclosed in
  ball arithmetic and compared with ``[lo, hi]``; the SciPy optimum must lie in
  ``[lo, hi]`` too (a stalled optimiser fails here).

Each part is split into groups of factors over disjoint variables, and the
supremum of the product is the product of the groups' suprema (the catalog in
:mod:`symgrad.bounds` says why its factors range independently).
"""

from __future__ import annotations

import importlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from fractions import Fraction
from types import MappingProxyType

import sympy

# python-flint is SymPy's ground types wherever it is installed, so SymPy has
# loaded it already: the certificate's imports cost nothing here.
from flint import arb, ctx

from .cells import Cell
from .certify import PREC, Supremum, ball, decide, down, ends, scientific, significant, up
from .derivation import partial
from .ranges import value_ranges
from .render import LatexMath, TextMath
from .text import plain

__all__ = [
    "REALS",
    "BoundResult",
    "ClosedForm",
    "Domain",
    "Extremum",
    "FactorResult",
    "Inequality",
    "Part",
    "Problem",
    "Verdict",
    "compare_text",
    "make_result",
    "printers",
    "scipy_check",
    "scipy_sup",
    "show_exact",
    "solve",
    "tex_scientific",
]

#: An undecided inequality (its bound inside [lo, hi]) is refined by factors of
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
    """``scale * sup |expr|`` over ``domains`` (symbol -> :class:`Domain`); ``expr``
    a product of factors.

    ``names`` maps symbols the cell does not know (``u``, ``v``) to their LaTeX
    (their text is read from it, as for the cell's own names); ``back`` maps
    the maximiser (ASCII name -> value) to the variables the bound is stated
    in (e.g. v -> U for ``rnn-tanh``).
    """

    expr: sympy.Expr
    domains: dict
    scale: Fraction = Fraction(1)
    label: str = ""
    names: dict = field(default_factory=dict)
    back: Callable | None = None


@dataclass(frozen=True)
class Inequality:
    """``lhs op rhs``, op in ``<``, ``<=``, ``>=``: ``lhs`` the supremum (None) or a
    :class:`Part`'s, ``rhs`` an exact number or a function of an
    ``enclose(part) -> arb`` callback.

    ``symbolic``: ``() -> Lemma`` (:mod:`symgrad.lemmas`), a proof for every
    parameter value whose steps SymPy checks, used only where the enclosures
    cannot separate the two sides (S(a) <= |a| + S(0) at a = 0 is an equality,
    and at |a| = 1e-30 a gap of 4e-31 is below any working width); the verdict
    then says so, and is "proved" only if every step checks. Without it an
    undecided inequality is refined down to width :data:`REFINE_FLOOR`, then
    reported undecided."""

    statement: str
    op: str
    rhs: object
    lhs: Part | None = None
    meaning: str = ""
    symbolic: Callable | None = None


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
    """The supremum of the largest of ``parts``, stated as ``quantity`` (prose with
    ``$math$``) and ``quantity_latex`` (math-mode LaTeX), with the ``inequalities``
    it claims; ``cell`` names the factors. ``source``, ``notes`` and the closed
    form's text are prose with ``$math$`` too (printed through
    :func:`symgrad.text.plain` as text and JSON, :func:`symgrad.text.tex_inline`
    as LaTeX)."""

    quantity: str
    quantity_latex: str
    cell: Cell
    parts: tuple[Part, ...]
    source: str
    inequalities: tuple[Inequality, ...] = ()
    closed_form: ClosedForm | None = None
    notes: tuple[str, ...] = ()


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class Verdict:
    """One checked statement: ``kind`` "claim" (an :class:`Inequality`), "closed
    form" or "scipy";
    ``verdict`` "proved", "refuted", "undecided", "agrees", "disagrees"."""

    kind: str
    statement: str
    verdict: str
    detail: str

    @property
    def status(self) -> str:
        """``"pass"`` (proved, agrees), ``"refuted"`` (a certified counterexample) or
        ``"fail"`` (undecided, or two methods disagree: no verdict)."""
        if self.verdict in ("proved", "agrees"):
            return "pass"
        return "refuted" if self.verdict == "refuted" else "fail"


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
class Extremum:
    """The other end of a range (:func:`symgrad.extrema.solve_line`): SciPy's
    ``value`` at ``argmax``, said in words (``where``), and the certified
    ``interval`` (floats rounded outward)."""

    value: float
    argmax: dict
    where: str
    where_latex: str
    interval: tuple[float, float]


@dataclass(frozen=True)
class BoundResult:
    """The outcome of :func:`solve` for a named bound (:func:`symgrad.bounds.compute_bound`).

    ``value``/``argmax``: SciPy's optimum and maximiser (ASCII name -> float);
    ``interval`` = (lo, hi) as floats rounded outward, certified to contain the
    supremum; ``width`` = hi - lo; ``subdivisions``: boxes split by the branch
    and bound; ``seconds``: wall time of the whole computation; ``claim``: the
    inequalities claimed, joined by "and" (None if the bound claims none);
    ``proved``: True if the certificate proved every inequality, False if not,
    None without any; ``checks``: every verdict (inequalities, closed form,
    SciPy inside [lo, hi]);
    ``factors``: the worst case factor by factor; ``notes``: the tail lemma,
    the closed form, caveats; ``infimum``: for a range (a signed quantity), its
    lower end as an :class:`Extremum`, the supremum being ``value`` and
    ``interval``.
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
    infimum: Extremum | None = None

    @property
    def status(self) -> str:
        """``"fail"`` if a check has no verdict (an inequality undecided, SciPy or the
        closed form against the certificate), else ``"refuted"`` if an inequality
        is refuted, else ``"pass"``: the exit status of ``symgrad bound`` is 1
        only on ``"fail"`` (a refutation is a result)."""
        statuses = {c.status for c in self.checks}
        return next(s for s in ("fail", "refuted", "pass") if s in statuses or s == "pass")

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "quantity": plain(self.quantity),
            "source": plain(self.source),
            "params": self.params,
            "value": self.value,
            "argmax": self.argmax,
            "where": self.where,
            "interval": list(self.interval),
            "width": self.width,
            "subdivisions": self.subdivisions,
            "claim": self.claim,
            "proved": self.proved,
            "status": self.status,
            "checks": [
                {
                    "kind": c.kind,
                    "statement": plain(c.statement),
                    "verdict": c.verdict,
                    "detail": plain(c.detail),
                }
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
                    "tail_lemma": plain(f.tail) if f.tail else None,
                }
                for f in self.factors
            ],
            "closed_form": (
                {**self.closed_form, "text": plain(self.closed_form["text"])}
                if self.closed_form
                else None
            ),
            "notes": [plain(note) for note in self.notes],
            **(
                {
                    "infimum": {
                        "value": self.infimum.value,
                        "argmin": self.infimum.argmax,
                        "where": self.infimum.where,
                        "interval": list(self.infimum.interval),
                    }
                }
                if self.infimum is not None
                else {}
            ),
        }


# ---------------------------------------------------------------- solving a problem


@dataclass
class _Group:
    """A product of factors over variables no other factor shares."""

    part: Part
    expr: sympy.Expr
    variables: tuple
    sup: Supremum
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
        t = time.perf_counter()
        domains = {v: (part.domains[v].lo, part.domains[v].hi) for v in variables}
        sup = Supremum(expr, variables, domains)
        self.certificate_seconds += time.perf_counter() - t
        group = _Group(part, expr, variables, sup)
        t = time.perf_counter()
        box = [_finite(part.domains[v], sup.tail) for v in variables]
        group.value, group.argmax, group.symmetric = scipy_sup(expr, variables, box)
        self.scipy_seconds += time.perf_counter() - t
        return group

    def enclose(self, part: Part, tolerance: float) -> tuple:
        """Exact (lo, hi) around ``part.scale * sup |part.expr|``, hi - lo at most
        ``tolerance`` times max(1, hi): absolute below 1, relative above (a
        supremum of 4e29 has no 1e-9-wide enclosure in :data:`PREC` bits)."""
        groups = self.groups_of(part)
        t = time.perf_counter()
        size = abs(float(part.scale)) * math.prod(max(abs(g.value), 1e-300) for g in groups)
        width = tolerance * max(1.0, size)
        with ctx.workprec(PREC):
            scale = ball(abs(part.scale) * _constant(part.expr))
            # Each group's share of the width, then tighter until the product fits.
            share = width / (2 * max(1, len(groups)) * max(1.0, float(abs(part.scale))))
            while True:
                for g in groups:
                    others = math.prod(max(1.0, float(h.sup.hi)) for h in groups if h is not g)
                    g.sup.refine(share / others)
                lo = (scale * math.prod((g.sup.lo for g in groups), start=arb(1))).lower()
                hi = (scale * math.prod((g.sup.hi for g in groups), start=arb(1))).upper()
                if hi - lo <= tolerance * max(1.0, float(hi)):
                    break
                share /= 4
        self.certificate_seconds += time.perf_counter() - t
        return lo, hi


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


def scipy_sup(expr, variables, box, signed: bool = False) -> tuple[float, tuple, bool]:
    """SciPy's global maximum of |expr| (with ``signed``: of expr) over a finite box:
    the best of a dense grid (:data:`GRID_POINTS`), polished by L-BFGS-B inside
    the grid cells around it, with the gradient from the engine. Returns
    (value, maximiser, symmetric): a one-variable maximiser on a symmetric
    domain is given as its positive representative when |expr| takes the same
    value at -x ("symmetric"; never for ``signed``)."""
    import numpy as np
    from scipy.optimize import minimize

    # SymPy's own NumPy printing (sigmoid as exp(-logaddexp(0, -u))), not
    # numeric.lambdify's expit: expit moves the printed optimum of
    # sigmoid-saturation in its last digits, and the outputs are pinned.
    f = sympy.lambdify(variables, expr, "numpy")
    grad = sympy.lambdify(variables, [partial(expr, v) for v in variables], "numpy")
    d = len(variables)
    n = max(3, round(GRID_POINTS ** (1 / d)))
    axes = [np.linspace(lo, hi, n) for lo, hi in box]
    mesh = np.meshgrid(*axes, indexing="ij")
    values = np.broadcast_to(f(*mesh), mesh[0].shape)
    values = values if signed else np.abs(values)
    k = np.unravel_index(int(np.argmax(values)), values.shape)
    x0 = np.array([axes[i][k[i]] for i in range(d)])
    cell = [(axes[i][max(k[i] - 1, 0)], axes[i][min(k[i] + 1, n - 1)]) for i in range(d)]

    def objective(x):
        value = float(f(*x))
        return -(value if signed else abs(value))

    def gradient(x):
        sign = 1.0 if signed else np.sign(float(f(*x)))
        return -sign * np.array(grad(*x), dtype=float)

    polished = minimize(
        objective,
        x0,
        jac=gradient,
        method="L-BFGS-B",
        bounds=cell,
        options={"ftol": 1e-16, "gtol": 1e-14, "maxiter": 500},
    )
    best = polished.x if -polished.fun >= values[k] else x0
    value = -objective(best)
    symmetric = False
    if d == 1 and box[0][0] == -box[0][1] and not signed:
        mirror = abs(float(f(-best[0])))
        symmetric = mirror >= value * (1 - SCIPY_SLACK)
        if symmetric and best[0] < 0:
            best, value = -best, max(value, mirror)
    return value, tuple(float(x) for x in best), symmetric


def solve(
    problem: Problem,
    tolerance: float,
    *,
    name: str,
    params: dict,
    inequalities: tuple[Inequality, ...] | None = None,
    start: float | None = None,
) -> BoundResult:
    """Solve ``problem`` two ways and decide its inequalities.

    ``tolerance``: the largest width of the certified interval (relative above
    1; an undecided inequality narrows it further, down to :data:`REFINE_FLOOR`);
    ``inequalities``: these instead of the problem's own; ``name``/``params``:
    the bound's name and exact parameter values, as the result reports them;
    ``start``: the ``time.perf_counter()`` the result's ``seconds`` count from
    (default: now). Raises :class:`symgrad.certify.CertificateError` where no
    certificate can be built.
    """
    start = time.perf_counter() if start is None else start
    inequalities = problem.inequalities if inequalities is None else inequalities
    run = _Run()
    tol = tolerance
    while True:
        pairs = [run.enclose(p, tol) for p in problem.parts]
        lo = max((p[0] for p in pairs), key=float)
        hi = max((p[1] for p in pairs), key=float)
        verdicts = _decide(inequalities, (lo, hi), run, tol)
        # An undecided inequality (its bound inside [lo, hi]) gets a narrower enclosure.
        if all(
            v != "undecided" or c.symbolic for c, (v, _) in zip(inequalities, verdicts, strict=True)
        ):
            break
        if tol <= REFINE_FLOOR:
            break
        tol = max(tol / 1000, REFINE_FLOOR)
    verdicts = [
        _by_lemma(c.symbolic(), detail) if v == "undecided" and c.symbolic else (v, detail)
        for c, (v, detail) in zip(inequalities, verdicts, strict=True)
    ]
    checks = [
        Verdict("claim", c.statement + (f" ({c.meaning})" if c.meaning else ""), v, detail)
        for c, (v, detail) in zip(inequalities, verdicts, strict=True)
    ]
    value, argmax, part = max(
        ((*_scipy_part(run, p), p) for p in problem.parts), key=lambda item: item[0]
    )
    where, where_latex = _where(problem, part, run, argmax)
    checks.append(scipy_check(value, down(lo), up(hi)))
    closed = None
    if problem.closed_form is not None:
        closed, check = _closed_form_check(problem.closed_form, (lo, hi), argmax)
        checks.append(check)
    factors = _factor_results(problem, run)
    return make_result(
        problem,
        name=name,
        params=params,
        start=start,
        ends=(lo, hi),
        value=value,
        argmax=argmax,
        where=where,
        where_latex=where_latex,
        subdivisions=sum(g.sup.subdivisions for g in run.groups.values()),
        scipy_seconds=run.scipy_seconds,
        certificate_seconds=run.certificate_seconds,
        claim=" and ".join(plain(c.statement) for c in inequalities) or None,
        proved=all(v == "proved" for v, _ in verdicts) if inequalities else None,
        checks=tuple(checks),
        factors=factors,
        closed_form=closed,
        notes=problem.notes + tuple(f"tail lemma: {f.tail}" for f in factors if f.tail),
    )


def make_result(problem, *, name: str, params: dict, start: float, ends: tuple, **fields):
    """The :class:`BoundResult` of ``problem`` (anything with ``quantity``,
    ``quantity_latex`` and ``source``): the exact ``ends`` (lo, hi) rounded outward,
    the parameters as floats, the time since ``start``; ``fields`` the rest."""
    lo, hi = ends
    return BoundResult(
        name=name,
        quantity=problem.quantity,
        quantity_latex=problem.quantity_latex,
        source=problem.source,
        params={k: float(v) for k, v in params.items()},
        interval=(down(lo), up(hi)),
        width=up(arb(up(hi)) - arb(down(lo))),
        seconds=time.perf_counter() - start,
        **fields,
    )


def _decide(inequalities, bound: tuple, run: _Run, tol: float) -> list[tuple[str, str]]:
    """(verdict, evidence) per inequality, each side a ball enclosing its true value."""

    def enclose(part):
        lo, hi = run.enclose(part, tol)
        return lo.union(hi)

    out = []
    with ctx.workprec(PREC):
        for c in inequalities:
            lhs = bound if c.lhs is None else run.enclose(c.lhs, tol)
            rhs = ball(c.rhs) if isinstance(c.rhs, Fraction) else c.rhs(enclose)
            shown = show_exact(c.rhs) if isinstance(c.rhs, Fraction) else None
            out.append((decide(lhs, c.op, rhs), compare_text(lhs, c.op, rhs, shown)))
    return out


def _by_lemma(lemma, detail: str) -> tuple[str, str]:
    """The verdict of an inequality the enclosures cannot decide, from a lemma
    proved for every parameter value (each step checked by SymPy)."""
    how = (
        f"{lemma.statement}; checked by SymPy: {lemma.argument} "
        f"(the enclosures alone cannot separate the sides: {detail})"
    )
    return (
        ("proved", "symbolically, for every value: " + how)
        if lemma.proved
        else (
            "undecided",
            "a step of the symbolic proof does not check: " + how,
        )
    )


def _scipy_part(run: _Run, part: Part) -> tuple[float, dict]:
    """SciPy's optimum and maximiser of one part: the product of its groups'."""
    groups = run.groups_of(part)
    value = float(abs(part.scale) * _constant(part.expr)) * math.prod(g.value for g in groups)
    argmax = {}
    for g in groups:
        argmax.update({v.name: x for v, x in zip(g.variables, g.argmax, strict=True)})
    return value, (part.back(argmax) if part.back is not None else argmax)


def scipy_check(value: float, lo: float, hi: float, what: str = "optimum") -> Verdict:
    slack = SCIPY_SLACK * max(1.0, abs(value))
    interval = f"[{lo!r}, {hi!r}]"
    if lo <= value <= hi:
        verdict, detail = "agrees", f"{value!r} in {interval}"
    elif lo - slack <= value <= hi + slack:
        # float64 rounding of the objective, not a disagreement: said as it is.
        verdict = "agrees"
        detail = (
            f"{value!r} within ${tex_scientific(f'{SCIPY_SLACK:.0e}')}$ (relative) of "
            f"{interval}, float64 rounding"
        )
    else:
        verdict = "disagrees"
        detail = f"{value!r} is outside {interval}: " + (
            "the optimiser missed the global extremum"
            if value < lo
            else "the optimiser (or the certificate) is wrong"
        )
    return Verdict(
        "scipy",
        f"the SciPy {what} lies in the certified interval (or within float64 rounding of it)",
        verdict,
        detail,
    )


def _closed_form_check(cf: ClosedForm, bound: tuple, argmax: dict) -> tuple[dict, Verdict]:
    with ctx.workprec(PREC):
        exact = cf.value()
        # Containment in the interval as printed (its floats, rounded outward): a
        # closed form that merely overlaps the enclosure is not confirmed by it.
        agrees = exact.lower() >= down(bound[0]) and exact.upper() <= up(bound[1])
        closed = {"text": cf.text, "interval": [down(exact), up(exact)], "agrees": agrees}
        detail = f"{cf.text}: [{down(exact)!r}, {up(exact)!r}]"
        if cf.argmax is not None and cf.variable in argmax:
            at = cf.argmax()
            closed["argmax"] = {cf.variable: float(at)}
            distance = abs(float(at) - abs(argmax[cf.variable]))
            detail += (
                f"; SciPy's maximiser lies ${tex_scientific(f'{distance:.1e}')}$ "
                "from the closed form's"
            )
    verdict = Verdict(
        "closed form",
        "the closed form lies inside the certified interval",
        "agrees" if agrees else "disagrees",
        detail,
    )
    return closed, verdict


#: An inequality's operator in LaTeX.
OP_LATEX = {"<": "<", "<=": "\\le", ">=": "\\ge", ">": ">"}


def compare_text(lhs, op: str, rhs, shown: str | None, names=("lo", "hi")) -> str:
    """The evidence of a verdict, as prose with ``$math$``: the end of [lo, hi]
    that decides it (``names``: what to call the two ends), against the claimed
    bound (``shown`` as the user wrote it, else the bound's own interval)."""
    verdict = decide(lhs, op, rhs)
    (a, b), (c, d) = ends(lhs), ends(rhs)
    low, high = (shown, shown) if shown else (repr(down(c)), repr(up(d)))
    # A name is "lo" (printed "lo = x") or ends in its own relation (r"\sup - 1 \ge", then x).
    lo, hi = (
        f"\\text{{{n}}} =" if n.isalpha() else n if n.endswith(("\\ge", "\\le")) else f"{n} ="
        for n in names
    )
    if verdict == "proved":
        if op in (">=", ">"):
            return f"${lo} {down(a)!r} {OP_LATEX[op]} {high}$"
        return f"${hi} {up(b)!r} {OP_LATEX[op]} {low}$"
    if verdict == "refuted":
        if op in (">=", ">"):
            return f"${hi} {up(b)!r} {OP_LATEX['<' if op == '>=' else '<=']} {low}$"
        return f"${lo} {down(a)!r} {OP_LATEX['>=' if op == '<' else '>']} {high}$"
    return f"$[{down(a)!r}, {up(b)!r}]$ meets $[{down(c)!r}, {up(d)!r}]$"


# ---------------------------------------------------------------- the result in words


def _factor_results(problem: Problem, run: _Run) -> tuple[FactorResult, ...]:
    out = []
    for part in problem.parts:
        text, latex = printers(problem.cell, part.names)
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
                    tail=_tail_text(g, latex) if g.sup.tail is not None else None,
                )
            )
    return tuple(out)


_PM = r"\pm "


def _where(problem: Problem, part: Part, run: _Run, argmax: dict) -> tuple[str, str]:
    """The maximiser in words and in LaTeX: "f_t = 0.5, o_{t-1} → 1, c_{t-1} = ±0.7717"
    (→ where the value lies at an end of an open range: approached, not attained;
    ± where |g| takes the same value at -x)."""
    text, latex = printers(problem.cell, part.names)
    symmetric, approached, found = set(), {}, {}
    for g in run.groups_of(part):
        for v, x in zip(g.variables, g.argmax, strict=True):
            found[v.name] = x
            if g.symmetric:
                symmetric.add(v.name)
            d = part.domains[v]
            for end in (d.lo, d.hi) if d.open else ():
                if end is not None and abs(x - float(end)) <= AT_END * (1 + abs(float(end))):
                    approached[v.name] = show_exact(end)
    if part.back is not None and symmetric:
        # The mirror image in the variables the bound is stated in: U = (v - a)/h
        # changes sign with v only when a = 0.
        mirror = part.back({k: -x if k in symmetric else x for k, x in found.items()})
        symmetric = {k for k, x in argmax.items() if x != 0 and mirror.get(k) == -x}
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


def printers(cell: Cell, names: dict | None = None) -> tuple[TextMath, LatexMath]:
    """Text and LaTeX printers with the cell's names and ``names`` (ASCII name ->
    LaTeX) for symbols the cell does not know; factors in the cell's order."""
    ranges = value_ranges(cell)
    if names:
        # The printers read every name from the cell they print for: the cell,
        # its ranges kept, with the bound's own symbols named too.
        cell = replace(cell, latex=MappingProxyType({**cell.latex, **names}))
    return TextMath(cell, ranges), LatexMath(cell, ranges)


def show_exact(x: Fraction) -> str:
    """An exact number as the user wrote it: 9/20 reads 0.45, 1/3 stays 1/3, and a
    float's exact binary value reads as the float."""
    if x.denominator == 1:
        return str(x.numerator)
    f = float(x)
    return repr(f) if Fraction(repr(f)) == x or Fraction(f) == x else str(x)


def tex_scientific(text: str) -> str:
    """A number printed in Python's exponent format (``1.5e-12``, ``2.69e-03``) as
    math-mode LaTeX, ``1.5 \\cdot 10^{-12}`` (``1e-12``: ``10^{-12}``); a zero as ``0``."""
    mantissa, _, exponent = text.partition("e")
    if not exponent:
        return text
    if float(mantissa) == 0:
        return "0"
    if mantissa == "1":
        return f"10^{{{int(exponent)}}}"
    return rf"{mantissa} \cdot 10^{{{int(exponent)}}}"


def _tail_text(g: _Group, latex) -> str:
    """The tail lemma's proof, as prose with ``$math$`` (``latex`` prints the part)."""
    lemma = g.sup.tail
    x = latex.doprint(lemma.variable)
    with ctx.workprec(PREC):
        bound = up(lemma.bound())
        lo = down(g.sup.lo)
    decay = Fraction(lemma.degree, lemma.rate)
    mantissa, _, exponent = scientific(bound, 3, "up").partition("e")
    return (
        f"for $|{x}| \\ge {lemma.cutoff}$: $|{latex.doprint(g.expr)}| \\le "
        f"{lemma.envelope_latex(x)} \\le {mantissa} \\cdot 10^{{{int(exponent)}}} < "
        f"\\text{{lo}} = {significant(lo, 10, 'down')}$, since "
        + "; ".join(lemma.reasons)
        + f" ($x = {x}$); and $C t^k e^{{-\\lambda t}}$ decreases for "
        f"$t \\ge \\max(1, k/\\lambda) = \\max(1, {decay})$. So the supremum over all of "
        f"$\\mathbb{{R}}$ lies in $[-{lemma.cutoff}, {lemma.cutoff}]$, covered box by box."
    )
