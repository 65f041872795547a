"""The article's claims, each checked by evidence of its own kind.

:data:`CLAIMS` is the catalog of SPEC section 3, one entry per claim, in the
article's order. A claim holds what it states as data (``given``: the
article's formulas as text, its numbers, its thresholds) and a checker that
confronts that statement with the derivation engine, the bounds, finite
differences and seeded Monte Carlo, yielding :class:`Evidence` records:

===  =======================================================================
S    symbolic identity (SymPy: exact ``expand``/``cancel`` to zero)
N    numerical optimisation (SciPy, global)
C    certified enclosure by interval/ball arithmetic (a proof, not a sample)
M    seeded Monte Carlo with confidence intervals
P    property check against finite differences
===  =======================================================================

A claim passes only when every piece of its evidence passes; each prints the
caveats under which it holds (SPEC section 3: "a verifier that only confirms
is not one"). Nothing here derives a cell by hand: derivatives come from
:func:`symgrad.derive.derive`, gate counts from its terms, ranges from
:func:`symgrad.ranges.value_ranges`.

NumPy, SciPy and flint are imported inside the checkers that use them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from types import MappingProxyType

import sympy

from .cells import get_cell
from .defaults import CLAIM_SAMPLES, CLAIM_SEED, LONG_HORIZON_SAMPLES, LONG_HORIZON_STEPS
from .derive import compose, derive, partial
from .expr import parse_equation
from .primitives import ARB, evaluate
from .ranges import interval, is_gate, value_ranges

__all__ = [
    "CLAIMS",
    "KINDS",
    "Claim",
    "ClaimError",
    "ClaimResult",
    "Context",
    "Evidence",
    "check_claim",
    "claim_ids",
    "get_claim",
    "verify",
]

#: Evidence kinds, in the order they are listed.
KINDS = {
    "S": "symbolic identity",
    "N": "numerical optimisation",
    "C": "certified enclosure",
    "M": "seeded Monte Carlo",
    "P": "property check against finite differences",
}


class ClaimError(ValueError):
    """An unknown claim id; the message lists the valid ones."""


# ---------------------------------------------------------------- records


@dataclass(frozen=True)
class Evidence:
    """One check of a claim.

    ``kind``: a key of :data:`KINDS`; ``passed``; ``summary``: the key figure in
    one line; ``method``: how it was checked; ``details``: lines of numbers
    and sub-checks (inline LaTeX between ``$``); ``figures``: the same numbers
    for JSON; ``seconds``: time taken; ``math``: LaTeX rows (``lhs &= rhs``) of
    the derivation behind it, for the proof documents; ``caveats``: caveats
    the check computed (e.g. the exact gate counts behind "one gate fewer").
    """

    kind: str
    passed: bool
    summary: str
    method: str
    details: tuple = ()
    figures: dict = field(default_factory=dict)
    seconds: float = 0.0
    math: tuple = ()
    caveats: tuple = ()

    @property
    def status(self) -> str:
        return "pass" if self.passed else "fail"


@dataclass(frozen=True)
class Claim:
    """A claim of the article: what it states and how it is checked.

    ``id``: SPEC section 3's id; ``kinds``: its evidence kinds (``"SP"``);
    ``title``: one plain line; ``statement``: the claim in the article's terms
    (inline LaTeX between ``$``); ``article``: the article's own words;
    ``given``: the statement as data the checker confronts with the evidence
    (formulas as text in the cells' ASCII names, numbers, thresholds);
    ``caveats``: where the article needs an assumption or holds only in the
    typical case; ``commands``: other commands that show the pieces;
    ``key``: the evidence kind whose summary is the claim's key figure.
    """

    id: str
    kinds: str
    title: str
    statement: str
    article: str
    given: MappingProxyType
    checker: object
    caveats: tuple = ()
    commands: tuple = ()
    key: str = ""


@dataclass(frozen=True)
class ClaimResult:
    """A checked claim: its evidence, caveats (static and computed) and time."""

    claim: Claim
    evidence: tuple
    caveats: tuple
    seconds: float

    @property
    def passed(self) -> bool:
        return bool(self.evidence) and all(e.passed for e in self.evidence)

    @property
    def status(self) -> str:
        return "pass" if self.passed else "fail"

    @property
    def key_figure(self) -> str:
        failed = [e for e in self.evidence if not e.passed]
        if failed:
            return f"{failed[0].kind}: {failed[0].summary}"
        key = self.claim.key or self.claim.kinds[-1]
        chosen = next((e for e in self.evidence if e.kind == key), self.evidence[-1])
        return chosen.summary


class Context:
    """What a run of claims shares: Monte Carlo settings, flow settings, caches.

    ``settings``: :class:`symgrad.montecarlo.Settings`; ``steps`` and
    ``flow_samples``: the long-horizon run (trajectories of ``steps`` steps).
    """

    def __init__(
        self,
        settings=None,
        steps: int = LONG_HORIZON_STEPS,
        flow_samples: int = LONG_HORIZON_SAMPLES,
    ):
        from .montecarlo import Settings

        self.settings = settings or Settings()
        self.steps = steps
        self.flow_samples = flow_samples
        self._one_step: dict = {}
        self._bounds: dict = {}

    def one_step(self, cell: str, forget_bias=...):
        """The cached :func:`symgrad.montecarlo.one_step` of ``cell``."""
        from .montecarlo import one_step

        bias = self.settings.forget_bias if forget_bias is ... else forget_bias
        key = (cell, bias)
        if key not in self._one_step:
            self._one_step[key] = one_step(cell, self.settings, forget_bias=bias)
        return self._one_step[key]

    def bound(self, name: str, **params):
        """The cached :func:`symgrad.bounds.compute_bound` of ``name``."""
        from .bounds import compute_bound

        key = (name, tuple(sorted(params.items())))
        if key not in self._bounds:
            self._bounds[key] = compute_bound(name, **params)
        return self._bounds[key]

    def command(self, claim_id: str) -> str:
        """The command that reproduces ``claim_id`` under these settings."""
        s = self.settings
        parts = ["symgrad verify", claim_id]
        if s.seed != CLAIM_SEED:
            parts.append(f"--seed {s.seed}")
        if s.samples != CLAIM_SAMPLES:
            parts.append(f"--samples {s.samples}")
        if s.init != "normal":
            parts.append(f"--init {s.init}")
        if s.forget_bias is not None:
            parts.append(f"--forget-bias {s.forget_bias:g}")
        if self.steps != LONG_HORIZON_STEPS:
            parts.append(f"--steps {self.steps}")
        if self.flow_samples != LONG_HORIZON_SAMPLES:
            parts.append(f"--flow-samples {self.flow_samples}")
        return " ".join(parts)


class _Record:
    """What a check body fills in: sub-checks, numbers, LaTeX rows."""

    def __init__(self):
        self.passed = True
        self.summary = ""
        self.details: list = []
        self.figures: dict = {}
        self.math: list = []
        self.caveats: list = []
        self.seconds: float | None = None  # set where the work was done elsewhere (cached)

    def require(self, ok: bool, text: str) -> bool:
        """Record a sub-check; the evidence fails if any sub-check fails."""
        ok = bool(ok)
        self.passed = self.passed and ok
        self.details.append(("holds: " if ok else "FAILS: ") + text)
        return ok

    def note(self, text: str) -> None:
        self.details.append(text)


def _evidence(kind: str, method: str, body) -> Evidence:
    """Run ``body(record)`` and time it; a body that raises has not passed."""
    record = _Record()
    start = time.perf_counter()
    try:
        body(record)
    except Exception as err:  # a crashed check is reported as a failed one, with why
        record.passed = False
        record.summary = f"error: {type(err).__name__}: {err}"
    seconds = time.perf_counter() - start if record.seconds is None else record.seconds
    if not record.summary:
        record.summary = "checked" if record.passed else "failed"
    return Evidence(
        kind,
        record.passed,
        record.summary,
        method,
        tuple(record.details),
        record.figures,
        seconds,
        tuple(record.math),
        tuple(record.caveats),
    )


# ---------------------------------------------------------------- helpers


def _names(cell) -> dict:
    return {n: cell.symbol(n) for n in cell.latex}


def _parse(cell, text: str):
    return parse_equation(text, _names(cell))


def _latex(cell, ranges=None):
    from .render import LatexMath

    return LatexMath(cell, ranges)


def _same(cell, carry, a, b) -> bool:
    """``a == b`` exactly: in gate form, else with every value composed out."""
    if sympy.expand(a - b) == 0:
        return True
    return sympy.expand(compose(cell, carry, a - b)) == 0


def _fmt(x, digits: int = 4) -> str:
    """A number rounded to ``digits`` significant digits, so documents are reproducible."""
    x = float(x)
    if x == 0:
        return "0"
    return f"{x:.{digits}g}"


def _within(x: float, tolerance: float) -> str:
    """A rounding-level error stated against its tolerance, in words that do not
    depend on the error's last digits (they differ between CPUs' exp and tanh):
    "below 1e-13 (tolerance 2.8e-13)", the decade under the tolerance, when the
    error is below it; else "within the tolerance" or "above the tolerance"."""
    import math

    if not math.isfinite(x) or x > tolerance:
        return f"{_sci(x)}, above the tolerance {_sci(tolerance)}"
    exponent = math.floor(math.log10(tolerance))
    if 10.0**exponent == tolerance:
        return f"below the tolerance {_sci(tolerance)}"
    if x < 10.0**exponent:
        return f"below 1e{exponent} (tolerance {_sci(tolerance)})"
    return f"within the tolerance {_sci(tolerance)}"


def _sci(x: float) -> str:
    """Two significant digits in scientific notation: 2.8e-13, 1e-6."""
    mantissa, _, exponent = f"{x:.1e}".partition("e")
    return f"{mantissa.removesuffix('.0')}e{int(exponent)}"


def _gates(n: int) -> str:
    return f"{n} gate" + ("" if n == 1 else "s")


def _term_rows(d, notes=True) -> list:
    """LaTeX rows: the chain rule with the partials named, each term, the sum."""
    from .render import D, Factors, Prod, Sum

    p = _latex(d.cell, d.ranges)
    lhs = D(d.target, d.source)

    def path(t):
        return t.coefficient if t.via == d.source else Prod((t.coefficient, D(t.via, d.source)))

    rows = [f"{p.item(lhs)} &= {p.item(Sum(tuple(path(t) for t in d.terms)))}"]
    for t in d.terms:
        gates = _gates(t.gate_count)
        note = (", dominant" if t.dominant else "") if notes else ""
        tag = f" &&\\text{{{gates}{note}}}" if notes else ""
        if t.via == d.source:
            rows.append(f"&\\quad {p.item(Factors(t.factors))}{tag}")
        else:
            rows.append(f"{p.item(path(t))} &= {p.item(Factors(t.factors))}{tag}")
    return rows


def _one_step_lines(r) -> list:
    """The required Monte Carlo figures of one cell, as detail lines."""
    lines = [
        f"`{r.cell}`, ${_derivative_tex(r.label)}$: {r.n} samples, seed {r.seed}; "
        f"distribution: {r.distribution}",
        f"|dominant term| ${r.dominant_latex}$: {_summary_text(r.dominant)}",
    ]
    if r.minor is not None:
        lines.append(f"|sum of minor terms|: {_summary_text(r.minor)}")
        lines.append(f"fraction |minor terms| > |dominant term|: {r.minor_outweighs.text()}")
    else:
        lines.append("no minor terms: the derivative is one term")
    lines.append(f"fraction $|{_derivative_tex(r.label)}| > 1$: {r.exceeds_one.text()}")
    return lines


def _summary_text(s) -> str:
    parts = [f"mean {s.mean.text()}"]
    parts += [f"p{p} {e.text()}" for p, e in s.percentiles.items()]
    return "; ".join(parts)


def _derivative_tex(label: str) -> str:
    """``dc/dc_prev`` -> ``\\partial c_t/\\partial c_{t-1}``."""
    num, den = label[1:].split("/d")
    base = den.removesuffix("_prev")
    return f"\\partial {_tex_name(num)}_t/\\partial {_tex_name(base)}_{{t-1}}"


def _tex_name(name: str) -> str:
    return {"c_hat": "\\hat{c}", "h_hat": "\\hat{h}"}.get(name, name)


# ---------------------------------------------------------------- S: identities


def _check_identities(claim, ctx):
    def body(rec):
        x = sympy.Symbol("x", real=True)
        y = sympy.Symbol("y", positive=True)
        names = {"x": x}

        def tex(text):
            # As written: the article's order, not SymPy's canonical one.
            return sympy.latex(parse_equation(text, names, evaluate=False), order="none")

        def exact(expr):
            # x = 2 log y (y > 0) is a bijection onto the reals that makes every
            # exp(+-x/2), exp(+-x), exp(+-2x) a power of y: the identity becomes
            # one between rational functions of y, which cancel() decides exactly.
            return sympy.cancel(sympy.powsimp(expr.rewrite(sympy.exp).subs(x, 2 * sympy.log(y))))

        for lhs_text, rhs_text in claim.given["identities"]:
            lhs, rhs = parse_equation(lhs_text, names), parse_equation(rhs_text, names)
            rec.require(exact(lhs - rhs) == 0, f"${tex(lhs_text)} = {tex(rhs_text)}$")
            rec.math.append(f"{tex(lhs_text)} &= {tex(rhs_text)}")
        for f_text, rhs_text in claim.given["derivatives"]:
            f, rhs = parse_equation(f_text, names), parse_equation(rhs_text, names)
            # Differentiated in exp form, independent of the gate-form rule (fdiff) ...
            by_exp = sympy.diff(f.rewrite(sympy.exp), x)
            ok = exact(by_exp - rhs) == 0
            # ... and the engine's own rule must give the same gate form.
            engine = sympy.expand(partial(f, x) - rhs) == 0
            lhs_tex = f"\\frac{{d}}{{dx}} {tex(f_text)}"
            rec.require(ok, f"${lhs_tex} = {tex(rhs_text)}$ (differentiated in exp form)")
            rec.require(engine, "the engine's gate-form rule gives the same expression")
            rec.math.append(f"{lhs_tex} &= {tex(rhs_text)}")
        n = len(claim.given["identities"]) + len(claim.given["derivatives"])
        rec.summary = f"{n} identities exact (cancel to 0 with x = 2 log y)"
        rec.figures = {"identities": n}

    return [
        _evidence(
            "S",
            "each side rewritten through exp, x = 2 log y substituted, cancel() to 0",
            body,
        )
    ]


# ---------------------------------------------------------------- S: recursion


class _F(sympy.Function):
    """An arbitrary one-step map h_t = F(h_{t-1}, x_t, theta), differentiable."""

    nargs = 3

    def fdiff(self, argindex=1):
        return (_Fh, _Fx, _Ftheta)[argindex - 1](*self.args)


class _Fh(sympy.Function):
    """dF/dh at a point: the one-step partial."""

    nargs = 3


class _Fx(sympy.Function):
    nargs = 3


class _Ftheta(sympy.Function):
    """dF/dtheta at a point: the step's own partial."""

    nargs = 3


def _check_recursion(claim, ctx):
    given = claim.given
    horizon = given["T"]

    def abstract(rec):
        theta = sympy.Symbol("theta", real=True)
        xs = sympy.symbols(f"x1:{horizon + 1}", real=True)
        hs = [sympy.Symbol("h_0", real=True)]
        for t in range(horizon):
            hs.append(_F(hs[-1], xs[t], theta))
        a_, g_, b_ = sympy.symbols("a g b")
        recursion = parse_equation(given["recursion"], {"a": a_, "g": g_, "b": b_})
        factors = parse_equation(given["coefficient_factors"], {"T": sympy.Symbol("T")})

        def a(t):
            return _Fh(hs[t - 1], xs[t - 1], theta)

        def b(t):
            return _Ftheta(hs[t - 1], xs[t - 1], theta)

        ok_rec = ok_unrolled = ok_coef = True
        for big_t in range(1, horizon + 1):
            total = sympy.diff(hs[big_t], theta)
            g = sympy.Integer(0)
            for t in range(1, big_t + 1):
                g = recursion.xreplace({a_: a(t), g_: g, b_: b(t)})
            ok_rec &= sympy.expand(total - g) == 0
            unrolled = sympy.Add(
                *(
                    sympy.Mul(*(a(j) for j in range(k + 1, big_t + 1))) * b(k)
                    for k in range(1, big_t + 1)
                )
            )
            ok_unrolled &= sympy.expand(total - unrolled) == 0
            count = int(factors.subs(sympy.Symbol("T"), big_t))
            coefficient = sympy.expand(total).coeff(b(1))
            claimed = sympy.Mul(*(a(j) for j in range(big_t - count + 1, big_t + 1)))
            ok_coef &= count >= 0 and sympy.expand(coefficient - claimed) == 0
        span = f"T = 1..{horizon}"
        rec.require(
            ok_rec,
            f"$dh_T/d\\theta$ of $h_T = F(\\cdots F(h_0, x_1, \\theta)\\cdots, x_T, \\theta)$ "
            f"obeys the recursion for any differentiable $F$ ({span})",
        )
        rec.require(ok_unrolled, f"and equals the unrolled sum ({span})")
        rec.require(
            ok_coef,
            "the coefficient of $\\partial h_1/\\partial\\theta$ is the product of the "
            f"{given['coefficient_factors']} one-step partials ({span})",
        )
        rec.math += [
            "\\frac{dh_t}{d\\theta} &= \\frac{\\partial h_t}{\\partial h_{t-1}} "
            "\\frac{dh_{t-1}}{d\\theta} + \\frac{\\partial h_t}{\\partial \\theta}",
            "\\frac{dh_T}{d\\theta} &= \\sum_{k=1}^{T} \\Big(\\prod_{j=k+1}^{T} "
            "\\frac{\\partial h_j}{\\partial h_{j-1}}\\Big) "
            "\\frac{\\partial h_k}{\\partial\\theta}",
        ]
        rec.summary = f"recursion and unrolled form exact for {span}"
        rec.figures = {"T": horizon}

    def concrete(rec):
        for name in given["cells"]:
            cell = get_cell(name)
            d = derive(cell)
            h, h_prev, x = cell.symbol(d.target), cell.symbol(d.source), cell.symbol("x")
            raw = compose(cell, {}, h)
            a = compose(cell, {}, d.total)
            xs = sympy.symbols(f"x1:{horizon + 1}", real=True)
            hs = [sympy.Symbol("h_0", real=True)]
            for t in range(horizon):
                hs.append(raw.xreplace({h_prev: hs[-1], x: xs[t]}))
            for theta in (cell.symbol(p) for p in cell.params if p[0] in "WU"):
                b = partial(raw, theta)
                ok = True
                for big_t in range(1, horizon + 1):
                    g = sympy.Integer(0)
                    for t in range(1, big_t + 1):
                        step = {h_prev: hs[t - 1], x: xs[t - 1]}
                        g = a.xreplace(step) * g + b.xreplace(step)
                    ok &= _polynomial_zero(sympy.diff(hs[big_t], theta) - g)
                rec.require(
                    ok,
                    f"`{name}`: $dh_T/d{theta.name}$ of the unrolled cell = the recursion "
                    f"with the engine's $\\partial h_t/\\partial h_{{t-1}}$ (T = 1..{horizon})",
                )
        rec.summary = f"{', '.join(given['cells'])}: exact for T = 1..{horizon}"

    return [
        _evidence("S", "SymPy's chain rule on an abstract F, expand to 0", abstract),
        _evidence(
            "S", "the engine's derivative against SymPy's diff of the unrolled cell", concrete
        ),
    ]


def _polynomial_zero(expr) -> bool:
    """``expr == 0`` as a polynomial in its function calls (each call an atom):
    exact, and fast where expanding inside nested tanh arguments is not."""
    atoms = {f: sympy.Dummy() for f in expr.atoms(sympy.Function)}
    return sympy.expand(expr.xreplace(atoms)) == 0


# ---------------------------------------------------------------- S, M: vanish-explode


def _check_vanish_explode(claim, ctx):
    given = claim.given

    def symbolic(rec):
        n, t = sympy.symbols("n t", integer=True, positive=True)
        for label, rho_text, expected in given["examples"]:
            rho = parse_equation(rho_text, {})
            limit = sympy.limit(rho ** (t - 1), t, sympy.oo)
            want = sympy.oo if expected == "oo" else parse_equation(expected, {})
            rec.require(
                limit == want,
                f"{label}: $\\lim_{{t\\to\\infty}} ({sympy.latex(rho)})^{{t-1}} = "
                f"{sympy.latex(limit)}$",
            )
        factor_text, claimed_limit = given["counterexample"]
        factor = parse_equation(factor_text, {"n": n})
        big_n = sympy.Symbol("N", integer=True, positive=True)
        closed = sympy.simplify(sympy.product(factor, (n, 2, big_n)))
        limit = sympy.limit(closed, big_n, sympy.oo)
        below_one = sympy.simplify(factor.subs(n, 2)) < 1 and sympy.limit(factor, n, sympy.oo) == 1
        rec.require(
            below_one and limit == parse_equation(claimed_limit, {}),
            f"every factor ${sympy.latex(factor)} < 1$, yet "
            f"$\\prod_{{n=2}}^{{N}} ({sympy.latex(factor)}) = {sympy.latex(closed)} \\to "
            f"{sympy.latex(limit)}$: a uniform bound $\\rho < 1$ is needed",
        )
        rec.math += [
            "\\Big|\\prod_{k=2}^{t} \\frac{\\partial h_k}{\\partial h_{k-1}}\\Big| "
            "&\\le \\rho^{t-1} \\to 0 \\quad (\\text{all } |\\partial h_k/\\partial h_{k-1}| "
            "\\le \\rho < 1)",
            f"\\prod_{{n=2}}^{{N}} \\Big({sympy.latex(factor)}\\Big) &= {sympy.latex(closed)} "
            f"\\to {sympy.latex(limit)}",
        ]
        rec.summary = f"rho^(t-1) -> 0 / oo; prod(1 - 1/n^2) -> {limit}"
        rec.figures = {"counterexample_limit": str(limit)}

    def monte_carlo(rec):
        cells = given["cells"]
        rec.figures["cells"] = {}
        vanishing = []
        for name in cells:
            r = ctx.one_step(name)
            rec.figures["cells"][name] = r.as_json()
            for line in _one_step_lines(r):
                rec.note(line)
            near = r.near_one
            rec.require(
                near.hi < given["near_one_at_most"],
                f"`{name}`: fraction with $||{_derivative_tex(r.label)}| - 1| < 0.01$: "
                f"{near.text()} (at most {given['near_one_at_most']})",
            )
            if r.zero.k:
                drift = f"exactly 0 in {r.zero.text()} of samples: a product through one is 0"
                ok = True
                vanishing.append(name)
            else:
                geo = r.log_abs
                ok = geo.hi < 0 or geo.lo > 0
                direction = "vanishes" if geo.hi < 0 else "explodes"
                if geo.hi < 0:
                    vanishing.append(name)
                drift = (
                    f"mean $\\log|{_derivative_tex(r.label)}|$ = {geo.text()}: a product of "
                    "independent steps "
                    f"{direction} like exp({_fmt(geo.value, 3)} t)"
                )
            rec.require(ok, f"`{name}`: {drift}")
        rec.summary = (
            f"{len(vanishing)}/{len(cells)} cells' one-step products drift to 0 "
            f"(seed {ctx.settings.seed}, n = {ctx.settings.samples})"
        )

    return [
        _evidence("S", "SymPy limits and a closed-form product", symbolic),
        _evidence(
            "M",
            "one-step derivatives at seeded points: Wilson intervals on fractions, "
            "normal intervals on means",
            monte_carlo,
        ),
    ]


# ---------------------------------------------------------------- S: decompositions


def _decomposition_evidence(claim, ctx):
    given = claim.given
    cell = get_cell(given["cell"])

    def body(rec):
        from .render import Factors

        d = derive(cell)
        rec.require(
            d.check.passed, f"the engine's terms add up to the raw derivative ({d.check.method})"
        )
        engine = {t.via: t for t in d.terms}
        printer = _latex(cell, d.ranges)
        for via, text in given["terms"].items():
            claimed = _parse(cell, text)
            term = engine.get(via)
            ok = term is not None and _same(cell, d.carry, term.expr, claimed)
            where = f"term through ${printer.doprint(cell.symbol(via))}$"
            shown = printer.item(Factors(term.factors)) if ok else printer.doprint(claimed)
            rec.require(
                ok,
                f"{where}: ${shown}$"
                + (f" ({_gates(term.gate_count)})" if term is not None else " (no such term)"),
            )
        extra = sorted(set(engine) - set(given["terms"]))
        rec.require(
            not extra, "no term beyond those stated" + (f" (extra: {extra})" if extra else "")
        )
        rec.require(
            d.dominant is not None and d.dominant.via == given["dominant"],
            f"dominant term: ${printer.doprint(d.dominant.expr)}$",
        )
        rec.math += _term_rows(d)
        rec.summary = (
            f"{len(d.terms)} terms = the article's; dominant "
            f"{d.dominant.expr}; sum checked {d.check.method}"
        )
        rec.figures = {
            "terms": {t.via: {"expr": str(t.expr), "gate_count": t.gate_count} for t in d.terms},
            "dominant": d.dominant.via,
            "self_check": d.check.method,
        }

    return _evidence("S", "the article's terms against the engine's, expand to 0", body)


#: Points of each finite-difference check (symgrad check's default).
FD_POINTS = 200


def _fd_evidence(claim, ctx):
    given = claim.given
    cell = get_cell(given["cell"])

    def body(rec):
        from dataclasses import replace

        from .check import compare_derivatives

        d = derive(cell)
        # The statement as a derivation: the engine's term split and chain-rule
        # pieces, each term's expression replaced by the article's (0 where the
        # article has no such term), so finite differences judge the article.
        claimed = {via: _parse(cell, text) for via, text in given["terms"].items()}
        stated = replace(
            d, terms=tuple(replace(t, expr=claimed.get(t.via, sympy.Integer(0))) for t in d.terms)
        )
        s = ctx.settings
        report = compare_derivatives(
            stated, samples=FD_POINTS, seed=s.seed, init=s.init, forget_bias=s.forget_bias
        )
        missing = sorted(set(claimed) - {t.via for t in d.terms})
        rec.require(
            not missing,
            "every stated term has a chain-rule path"
            + (f" (none for {', '.join(missing)})" if missing else ""),
        )
        for c in report.comparisons:
            rec.require(
                c.passed,
                f"{c.quantity}: largest relative error {_within(c.max_rel_error, c.tolerance)}",
            )
        rec.note(f"{FD_POINTS} points, seed {s.seed}; {report.distribution}")
        rec.note(f"tolerance: {report.tolerance_reason}")
        rec.figures = {
            "method": report.method,
            "points": FD_POINTS,
            "seed": s.seed,
            "max_rel_error": report.max_rel_error,
            "tolerance": report.tolerance,
            "passed": report.passed,
        }
        rec.summary = f"{report.method}: every term within tolerance at {FD_POINTS} points"
        if not report.passed:
            rec.summary = f"{report.method}: a term is off ({report.max_rel_error:.1e})"

    return _evidence(
        "P",
        "the article's terms against finite differences of the forward pass (symgrad check)",
        body,
    )


def _check_decomposition(claim, ctx):
    return [_decomposition_evidence(claim, ctx), _fd_evidence(claim, ctx)]


# ---------------------------------------------------------------- S: SimpleRNN bounds


def _check_rnn_tanh_bounded(claim, ctx):
    given = claim.given

    def symbolic(rec):
        cell = get_cell("rnn")
        d = derive(cell)
        u, w, b, x, h_prev = (cell.symbol(n) for n in ("U", "W", "b", "x", "h_prev"))
        v, a = sympy.symbols("v a", real=True)
        total = compose(cell, {}, d.total)
        # U = (v - a)/h_{t-1}, a = W x_t + b: for h_{t-1} != 0 a bijection of U onto v.
        substituted = total.xreplace({u: (v - w * x - b) / h_prev})
        claimed = parse_equation(given["substituted"], {"v": v, "a": a, "h_prev": h_prev})
        claimed = claimed.xreplace({a: w * x + b})
        rec.require(
            sympy.expand(substituted - claimed) == 0,
            "with $v = a + U h_{t-1}$, $a = W x_t + b$: $(1 - h_t^2) U = "
            "(1 - \\tanh^2 v)(v - a)/h_{t-1}$, so $\\sup_U |(1 - h_t^2) U| = S(a)/|h_{t-1}|$",
        )
        lo, hi = value_ranges(cell)[cell.symbol("h")]
        rec.require(
            lo >= -1 and hi <= 1,
            "$1 - \\tanh^2 v \\in (0, 1]$, so $|v - a|(1 - \\tanh^2 v) \\le "
            "|v|(1 - \\tanh^2 v) + |a|$ and $S(a) \\le S(0) + |a|$",
        )
        printer = _latex(cell, d.ranges)
        rec.math += _term_rows(d, notes=False)
        rec.math += [
            f"{printer.doprint(d.total)} &= \\frac{{(v - a)(1 - \\tanh^2 v)}}{{h_{{t-1}}}}, "
            "\\quad v = a + U h_{t-1},\\ a = W x_t + b",
            "\\sup_U \\big|(1 - h_t^2) U\\big| &= \\frac{S(a)}{|h_{t-1}|}, \\quad "
            "S(a) = \\sup_v |v - a| (1 - \\tanh^2 v) \\le |a| + S(0)",
        ]
        rec.summary = "sup_U |(1 - h^2) U| = S(a)/|h_prev| by substitution"

    return [_evidence("S", "substitution U = (v - a)/h_{t-1}, expand to 0", symbolic)]


def _check_rnn_relu_unbounded(claim, ctx):
    def symbolic(rec):
        cell = get_cell("rnn-relu")
        d = derive(cell)
        rec.require(d.check.passed, f"the engine's derivative checked ({d.check.method})")
        steps = d.total.atoms(sympy.Heaviside)
        active = d.total.xreplace({s: 1 for s in steps})
        inactive = d.total.xreplace({s: 0 for s in steps})
        claimed = _parse(cell, claim.given["active"])
        printer = _latex(cell, d.ranges)
        rec.require(
            steps and sympy.expand(active - claimed) == 0,
            "active side ($h_t > 0$): $\\partial h_t/\\partial h_{t-1} = "
            f"{printer.doprint(active)}$",
        )
        rec.require(inactive == 0, "inactive side: $\\partial h_t/\\partial h_{t-1} = 0$")
        rec.math += _term_rows(d, notes=False)
        rec.summary = f"d h/d h_prev = {active} on the active side: unbounded in U"

    return [_evidence("S", "the engine's derivative with [h_t > 0] set to 1 and to 0", symbolic)]


def _in_unit(factor, ranges) -> bool:
    """A factor whose value lies in [0, 1]: a gate, or relu's indicator."""
    return isinstance(factor, sympy.Heaviside) or is_gate(factor, ranges)


def _check_clipping(claim, ctx):
    def symbolic(rec):
        for name in claim.given["cells"]:
            cell = get_cell(name)
            d = derive(cell)
            (term,) = d.terms
            params = [f for f in term.factors if f.is_Symbol and f.name in cell.params]
            others = [f for f in term.factors if f not in params]
            ok = [p.name for p in params] == ["U"] and all(_in_unit(f, d.ranges) for f in others)
            printer = _latex(cell, d.ranges)
            rec.require(
                ok,
                f"`{name}`: ${printer.doprint(d.total)}$, every factor but $U$ in $[0, 1]$, "
                "so $|\\partial h_t/\\partial h_{t-1}| \\le |U| \\le 1$",
            )
            rec.math += _term_rows(d, notes=False)
        rec.summary = "|dh/dh_prev| <= |U| for tanh and relu"

    return [_evidence("S", "factors of the engine's derivative against the value ranges", symbolic)]


# ---------------------------------------------------------------- N, C: bounds


def _bound_figures(r) -> dict:
    """What a bound's evidence carries: optimum, maximiser, certified [lo, hi]."""
    return {
        "bound": r.name,
        "params": {k: float(v) for k, v in r.params.items()},
        "value": r.value,
        "argmax": r.argmax,
        "interval": list(r.interval),
        "width": r.width,
        "subdivisions": r.subdivisions,
        "claim": r.claim,
        "proved": r.proved,
    }


def _half_unit(text: str) -> float:
    """Half a unit in the last digit written: the rounding a stated value allows."""
    decimals = len(text.partition(".")[2])
    return 0.5 * 10.0**-decimals


def _agrees(text: str, lo: float, hi: float) -> bool:
    """The value the article states (rounded, as text) is consistent with [lo, hi]."""
    v, half = float(text), _half_unit(text)
    return lo <= v + half and hi >= v - half


def _bound_name(r) -> str:
    params = ", ".join(f"{k} = {float(v):g}" for k, v in r.params.items())
    return f"`{r.name}`" + (f" ({params})" if params else "")


def _interval_text(r, digits: int = 10) -> str:
    lo, hi = r.interval
    return f"[{lo:.{digits}f}, {hi:.{digits}f}]"


def _argmax_text(r, digits: int = 4) -> str:
    return ", ".join(f"{k} = {abs(v):.{digits}f}" for k, v in r.argmax.items())


class _Meter:
    """Fetches bounds for one piece of evidence and charges it the part of their
    time it used (SciPy's or the certificate's): bounds are computed once and
    shared, so wall time would credit the first piece of evidence with both."""

    def __init__(self, ctx, rec, part: str):
        self.ctx, self.rec, self.part = ctx, rec, part
        self.seen: set = set()
        rec.seconds = 0.0

    def __call__(self, name: str, **params):
        r = self.ctx.bound(name, **params)
        if id(r) not in self.seen:
            self.seen.add(id(r))
            self.rec.seconds += getattr(r, self.part)
        return r


_SCIPY = "SciPy: dense grid, then L-BFGS-B from the best point (symgrad bound)"
_CERTIFIED = "arb interval arithmetic, branch and bound, tail lemma (symgrad bound)"


def _check_rnn_tanh_numeric(claim, ctx):
    given = claim.given

    def numeric(rec):
        bound = _Meter(ctx, rec, "scipy_seconds")
        s0 = bound("rnn-tanh", a=0, h=1)
        rec.figures = _bound_figures(s0)
        rec.require(
            _agrees(given["S0"], s0.value, s0.value),
            f"$S(0)$ = {s0.value:.5f} at $|v|$ = {abs(s0.argmax['v']):.4f} "
            f"(article: {given['S0']})",
        )
        rows = []
        for a in given["a"]:
            r = bound("rnn-tanh", a=a, h=1)
            rows.append(_bound_figures(r))
            rec.require(
                r.value <= abs(a) + s0.value,
                f"$S({a:g})$ = {r.value:.5f} $\\le |a| + S(0)$ = {abs(a) + s0.value:.5f}",
            )
        base = bound("rnn-tanh", a=given["a"][0], h=1)
        for h in given["h"]:
            r = bound("rnn-tanh", a=given["a"][0], h=h)
            rows.append(_bound_figures(r))
            scaled = r.value * h
            rec.require(
                abs(scaled - base.value) <= 1e-9 * base.value,
                f"$h_{{t-1}} = {h:g}$: sup = {r.value:.5f} = $S({given['a'][0]:g})/|h_{{t-1}}|$ "
                f"({scaled:.5f} x 1/{h:g})",
            )
        rec.figures["bounds"] = rows
        rec.summary = f"S(0) = {s0.value:.5f} at |v| = {abs(s0.argmax['v']):.4f}"

    def certified(rec):
        bound = _Meter(ctx, rec, "certificate_seconds")
        s0 = bound("rnn-tanh", a=0, h=1)
        rec.figures = _bound_figures(s0)
        lo0, hi0 = s0.interval
        rec.require(
            _agrees(given["S0"], lo0, hi0),
            f"$S(0) \\in$ {_interval_text(s0)} (article: {given['S0']})",
        )
        rows = []
        for a in given["a"]:
            r = bound("rnn-tanh", a=a, h=1)
            rows.append(_bound_figures(r))
            hi = r.interval[1]
            rec.require(
                hi <= abs(a) + lo0,
                f"$S({a:g}) \\in$ {_interval_text(r, 7)}: hi $\\le |a| + $ lo$(S(0))$ = "
                f"{abs(a) + lo0:.7f}",
            )
            for check in r.checks:
                if check.kind == "claim":
                    rec.require(check.passed, f"certificate: {check.statement}: {check.verdict}")
        rec.figures["bounds"] = rows
        small = bound("rnn-tanh", a=given["a"][0], h=given["h"][-1])
        rec.caveats.append(
            f"At $h_{{t-1}} = {given['h'][-1]:g}$ the supremum is already "
            f"{small.interval[1]:.3f} (certified): the bound grows like $1/|h_{{t-1}}|$."
        )
        rec.summary = f"S(0) in {_interval_text(s0, 9)}; S(a) <= |a| + S(0) proved"

    return [
        *_check_rnn_tanh_bounded(claim, ctx),
        _evidence("N", _SCIPY, numeric),
        _evidence("C", _CERTIFIED, certified),
    ]


def _check_rnn_relu(claim, ctx):
    def numeric(rec):
        bound = _Meter(ctx, rec, "scipy_seconds")
        rows = []
        for big_l in claim.given["L"]:
            r = bound("rnn-relu", L=big_l)
            rows.append(_bound_figures(r))
            rec.require(
                r.value >= big_l * (1 - 1e-12) and r.proved,
                f"$\\sup_{{|U| \\le {big_l:g}}} |\\partial h_t/\\partial h_{{t-1}}|$ = "
                f"{r.value:g} (SciPy), certified {_interval_text(r, 3)}",
            )
        rec.figures = {**rows[-1], "bounds": rows}
        rec.summary = "sup over |U| <= L = L for L = " + ", ".join(
            f"{x:g}" for x in claim.given["L"]
        )

    return [
        *_check_rnn_relu_unbounded(claim, ctx),
        _evidence("N", _SCIPY + "; the certificate proves sup >= L", numeric),
    ]


def _check_clipping_bound(claim, ctx):
    def certified(rec):
        bound = _Meter(ctx, rec, "certificate_seconds")
        r = bound("clipping")
        rec.figures = _bound_figures(r)
        hi = r.interval[1]
        rec.require(
            hi <= claim.given["bound"],
            f"$\\sup_{{|U| \\le 1}} |\\partial h_t/\\partial h_{{t-1}}| \\in$ "
            f"{_interval_text(r, 6)} $\\le {claim.given['bound']:g}$",
        )
        rec.note(f"SciPy: {r.value:g} at {_argmax_text(r, 3)}")
        rec.summary = f"certified sup = {hi:g} <= {claim.given['bound']:g}"

    return [*_check_clipping(claim, ctx), _evidence("C", _CERTIFIED, certified)]


def _check_lstm_saturation(claim, ctx):
    given = claim.given

    def numeric(rec):
        bound = _Meter(ctx, rec, "scipy_seconds")
        r = bound("lstm-saturation")
        rec.figures = _bound_figures(r)
        c_star = abs(r.argmax["c_prev"])
        rec.require(
            _agrees(given["value"], r.value, r.value),
            f"SciPy optimum {r.value:.6f} (article: {given['value']})",
        )
        rec.require(
            _agrees(given["argmax"], c_star, c_star),
            f"at $|c_{{t-1}}|$ = {c_star:.5f} (article: {given['argmax']})",
        )
        for check in r.checks:
            if check.kind == "closed form":
                rec.require(
                    check.passed,
                    "third witness: the root $c^*$ of $2 c \\tanh c = 1$ gives "
                    f"$S(0) = c^* - 1/(4 c^*)$, inside the certified interval ({check.verdict})",
                )
        rec.summary = f"sup = {r.value:.5f} at c = {c_star:.4f}"

    def certified(rec):
        bound = _Meter(ctx, rec, "certificate_seconds")
        r = bound("lstm-saturation")
        rec.figures = _bound_figures(r)
        lo, hi = r.interval
        rec.require(
            hi < given["bound"],
            f"$\\sup_c |(1 - \\tanh^2 c)\\, c| \\in$ {_interval_text(r)}: "
            f"hi $< {given['bound']:g}$",
        )
        rec.require(
            _agrees(given["value"], lo, hi), f"the interval contains {given['value']} (rounded)"
        )
        for f in r.factors:
            if f.tail:
                rec.note(f"tail lemma: {f.tail}")
        rec.note(f"width {r.width:.1e}, {r.subdivisions} subdivisions")
        rec.math.append(
            "\\sup_c \\big|(1 - \\tanh^2 c)\\, c\\big| &\\in "
            f"[{lo:.10f}, {hi:.10f}] \\subset (0, {given['bound']:g})"
        )
        rec.summary = f"certified {_interval_text(r, 9)} < {given['bound']:g}"

    return [_evidence("N", _SCIPY, numeric), _evidence("C", _CERTIFIED, certified)]


def _check_minor_bounds(claim, ctx):
    def certified(rec):
        bound = _Meter(ctx, rec, "certificate_seconds")
        rows = []
        for name, value in claim.given["worst"].items():
            r = bound(name)
            rows.append(_bound_figures(r))
            lo, hi = r.interval
            rec.require(
                _agrees(value, lo, hi),
                f"{_bound_name(r)}: worst case / $|U_g|$ $\\in$ {_interval_text(r, 7)} "
                f"(stated: {value}) at {_argmax_text(r, 3)}",
            )
            for check in r.checks:
                if check.kind == "claim" and not check.passed:
                    rec.note(f"{_bound_name(r)}: {check.statement}: {check.verdict}")
        s0 = bound("lstm-saturation")
        forget = bound("lstm-forget-term")
        rec.require(
            forget.interval[0] <= s0.interval[1] / 4 and forget.interval[1] >= s0.interval[0] / 4,
            "the forget term's worst case is $S(0)/4$: $f(1 - f) \\le 1/4$ times the "
            "saturation constant",
        )
        rec.figures = {**rows[0], "bounds": rows}
        rec.summary = ", ".join(
            f"{r['bound'].removeprefix('lstm-').removesuffix('-term')} {r['interval'][1]:.4f}"
            for r in rows
        )

    return _evidence("C", _CERTIFIED, certified)


# ---------------------------------------------------------------- S, M: LSTM


def _check_lstm_minor_terms(claim, ctx):
    given = claim.given

    def symbolic(rec):
        from .primitives import tanh

        cell = get_cell("lstm")
        d = derive(cell)
        rnn_gates = derive("rnn").terms[0].gate_count
        printer = _latex(cell, d.ranges)
        c_prev = cell.symbol("c_prev")
        saturation = 1 - tanh(c_prev) ** 2
        for via, (param, gates) in given["terms"].items():
            term = next(t for t in d.terms if t.via == via)
            params = [f.name for f in term.factors if f.is_Symbol and f.name in cell.params]
            rest = [f for f in term.factors if not (f.is_Symbol and f.name in cell.params)]
            loose = []
            for f in rest:
                if _in_unit(f, d.ranges):
                    continue
                lo, hi = interval(f, d.ranges) or (-sympy.oo, sympy.oo)
                if lo >= -1 and hi <= 1:
                    continue  # a signed factor in [-1, 1] (c_hat)
                if f == c_prev and any(_same(cell, {}, g, saturation) for g in rest):
                    continue  # (1 - tanh^2 c) c: in [-S(0), S(0)], S(0) < 0.45
                loose.append(f)
            rec.require(
                params == [param] and term.gate_count == gates and not loose,
                f"${printer.doprint(term.expr)}$: ${param.replace('_', '_')}$ times "
                f"{term.gate_count} gates and factors bounded by 1",
            )
            rec.require(
                term.gate_count - rnn_gates == given["more_than_rnn"],
                f"{term.gate_count - rnn_gates} gates more than the SimpleRNN's {rnn_gates}",
            )
        rec.math += _term_rows(d)
        rec.summary = "each minor term = |U_g| x gates x factors bounded by 1"

    def monte_carlo(rec):
        r = ctx.one_step("lstm")
        rec.figures = r.as_json()
        for line in _one_step_lines(r):
            rec.note(line)
        dom = r.dominant.percentiles[50]
        for via, s in r.terms.items():
            med = s.percentiles[50]
            rec.require(
                med.hi < dom.lo,
                f"median |term through {via}| {med.text()} < median |f| {dom.text()}",
            )
            comp = r.compression.get(via)
            if comp is not None:
                rec.note(
                    f"compression |term through {via}| / |U|: median "
                    f"{comp.percentiles[50].text()}, p99 {comp.percentiles[99].text()}"
                )
        rec.caveats.append(
            f"In {r.exceeds_one.text()} of samples $|\\partial c_t/\\partial c_{{t-1}}| > 1$ "
            f"({r.distribution})."
        )
        rec.summary = (
            "median minor terms "
            + ", ".join(f"{k} {_fmt(v.percentiles[50].value, 3)}" for k, v in r.terms.items())
            + f" vs f {_fmt(dom.value, 3)}"
        )

    return [
        _evidence("S", "factors of the engine's terms against the value ranges", symbolic),
        _check_minor_bounds(claim, ctx),
        _evidence("M", "seeded Monte Carlo, distribution-free intervals on medians", monte_carlo),
    ]


def _check_lstm_forget_dominant(claim, ctx):
    given = claim.given

    def symbolic(rec):
        cell = get_cell("lstm")
        d = derive(cell)
        claimed = _parse(cell, given["dominant"])
        lo, hi = d.ranges[cell.symbol(given["dominant"])]
        rec.require(
            sympy.expand(d.dominant.expr - claimed) == 0,
            f"the engine's dominant term is ${_latex(cell).doprint(d.dominant.expr)}$",
        )
        rec.require(lo >= 0 and hi <= 1, f"$f_t \\in [{lo:g}, {hi:g}]$: it cannot explode")
        rec.math += _term_rows(d)
        rec.math.append("f_t &= \\sigma(W_f x_t + U_f h_{t-1} + b_f) \\in (0, 1)")
        rec.summary = "dominant term f_t in (0, 1)"

    def monte_carlo(rec):
        from .stats import wilson

        r = ctx.one_step("lstm")
        rec.figures = r.as_json()
        for line in _one_step_lines(r):
            rec.note(line)
        k = r.minor_outweighs.k
        smaller = wilson(r.n - k, r.n, ctx.settings.confidence)
        rec.require(
            smaller.lo > given["most"],
            f"fraction |minor terms| < $f_t$: {smaller.text()} (claimed: more than "
            f"{given['most']})",
        )
        rec.figures["minor_smaller_than_f"] = smaller.as_json()
        summary = f"|minor| < f in {smaller.text()}"
        if ctx.settings.forget_bias != 1.0:
            r1 = ctx.one_step("lstm", forget_bias=1.0)
            s1 = wilson(r1.n - r1.minor_outweighs.k, r1.n, ctx.settings.confidence)
            rec.note(
                f"with forget bias $b_f = 1$: fraction |minor terms| < $f_t$ {s1.text()}; "
                f"fraction $|\\partial c_t/\\partial c_{{t-1}}| > 1$ {r1.exceeds_one.text()}"
            )
            rec.figures["forget_bias_1"] = {
                "minor_smaller_than_f": s1.as_json(),
                "abs_derivative_exceeds_1": r1.exceeds_one.as_json(),
            }
            summary += f"; b_f = 1: {s1.text()}"
        rec.summary = summary

    return [
        _evidence("S", "the engine's dominant term and value ranges", symbolic),
        _evidence("M", "seeded Monte Carlo, Wilson interval", monte_carlo),
    ]


def _check_state_jacobian(claim, ctx):
    given = claim.given

    def symbolic(rec):
        for name, via in given["cells"].items():
            cell = get_cell(name)
            d = derive(cell)
            j = derive(cell, "state")
            rec.require(
                j.check.passed, f"`{name}`: exact state Jacobian checked ({j.check.method})"
            )
            ((prev, expr),) = d.carry.items()
            src = cell.prevs.index(d.source)
            car = cell.prevs.index(prev.name)
            slope = partial(expr, cell.symbol(d.source))
            one_step = j.entries[src][src].total + j.entries[src][car].total * slope
            rec.require(
                _same(cell, d.carry, d.total, one_step),
                f"`{name}`: the article's one-step derivative = the Jacobian's row through "
                f"$\\partial {cell.latex[prev.name]}/\\partial {cell.latex[d.source]}$: exact for "
                "one step",
            )
            shift = {cell.symbol(f"{v}_prev"): cell.symbol(v) for v in cell.values}
            now = partial(expr.xreplace(shift), cell.symbol(d.source.removesuffix("_prev")))
            exact = j.entries[car][src].total + j.entries[car][car].total * slope
            missed = exact - now * d.total
            path = next((t for t in j.entries[car][car].terms if t.via == via), None)
            printer = _latex(cell, d.ranges)
            ok = path is not None and _same(cell, d.carry, missed, path.expr * slope)
            ok = ok and not _same(cell, d.carry, missed, sympy.Integer(0))
            rec.require(
                ok,
                f"`{name}`: the product of one-step terms misses "
                f"${printer.doprint(path.expr * slope) if path else '?'}$ per step, the path "
                f"through ${printer.doprint(cell.symbol(via))}$",
            )
            rec.math.append(f"\\text{{{name}: }} J &= {_jacobian_latex(j)}")
            if path is not None:
                rec.math.append(
                    f"\\text{{missed per step}} &= {printer.doprint(path.expr * slope)}"
                )
        rec.summary = "one step exact; two steps miss the path through o_t (r_t)"

    def monte_carlo(rec):
        from .montecarlo import FD_TOLERANCE, state_gap

        rec.figures["cells"] = {}
        parts = []
        for name in given["cells"]:
            r = ctx.one_step(name)
            for line in _one_step_lines(r):
                rec.note(line)
            g = state_gap(name, ctx.settings)
            rec.figures["cells"][name] = {"one_step": r.as_json(), "gap": g.as_json()}
            rec.note(
                f"`{name}`: {g.n} trajectories, seed {g.seed}, parameters fixed per trajectory, "
                f"inputs N(0, 1); initial {g.held} ~ U(0, 1)"
            )
            rec.require(
                g.fd_error <= FD_TOLERANCE,
                f"`{name}`: exact product = central differences of the forward pass at T = "
                f"{g.fd_steps} (largest relative difference {_within(g.fd_error, FD_TOLERANCE)})",
            )
            rec.require(
                g.t1_gap <= _T1_TOLERANCE,
                f"`{name}`: at T = 1 the article's product is exact "
                f"(gap {_within(g.t1_gap, _T1_TOLERANCE)})",
            )
            for t in g.horizons[1:]:
                rec.note(
                    f"`{name}`, T = {t}: relative gap |exact - product|/|exact| median "
                    f"{g.gap[t].percentiles[50].text()}, p90 {g.gap[t].percentiles[90].text()}; "
                    f"above 1%: {g.off[t].text()}"
                )
            t2 = g.horizons[1]
            rec.require(g.off[t2].lo > 0, f"`{name}`: the gap is visible from T = {t2} on")
            last = g.horizons[-1]
            parts.append(
                f"{name} T={last}: median gap {_fmt(g.gap[last].percentiles[50].value, 2)}"
            )
        rec.summary = "; ".join(parts)

    return [
        _evidence("S", "the engine's state Jacobian against its one-step derivative", symbolic),
        _evidence("M", "seeded trajectories, finite differences, Wilson intervals", monte_carlo),
    ]


# Both sides are float64 products of the same factors: T = 1 agrees to a few ulp.
_T1_TOLERANCE = 1e-10


def _jacobian_latex(j) -> str:
    from .render import jacobian_matrix_latex

    return jacobian_matrix_latex(j)


# ---------------------------------------------------------------- S, C, M: GRU


def _check_gru_bounded_state(claim, ctx):
    given = claim.given

    def symbolic(rec):
        for name, step_text in given["cells"].items():
            cell = get_cell(name)
            h = cell.symbol("h")
            lo, hi = value_ranges(cell)[h]
            step = cell.equation("h").rhs - cell.symbol("h_prev")
            claimed = _parse(cell, step_text)
            printer = _latex(cell)
            rec.require(
                sympy.expand(step - claimed) == 0,
                f"`{name}`: $h_t - h_{{t-1}} = {printer.doprint(claimed)}$: $h_t$ lies between "
                "$h_{t-1}$ and a value of tanh in $(-1, 1)$",
            )
            rec.require(
                lo >= -1 and hi <= 1,
                f"`{name}`: by induction from $h_0 = 0$, $h_t \\in [{lo:g}, {hi:g}]$ (engine's "
                "interval induction)",
            )
            rec.math.append(f"\\text{{{name}: }} h_t - h_{{t-1}} &= {printer.doprint(claimed)}")
        rec.math.append(
            "|h_t| &\\le (1 - z_t)|h_{t-1}| + z_t |\\hat{h}_t| "
            "\\le \\max(|h_{t-1}|, |\\hat{h}_t|) < 1 \\quad (|h_{t-1}| < 1,\\ "
            "|\\hat{h}_t| < 1,\\ z_t \\in (0, 1))"
        )
        rec.summary = "h_t between h_{t-1} and a tanh: |h_t| < 1 by induction"

    def certified(rec):
        import numpy as np

        from .montecarlo import make_step
        from .sampling import sample
        from .stats import rng_for

        cell = get_cell(given["certify"])
        runs, steps = given["runs"], given["steps"]
        step = make_step(cell)
        rng = rng_for(ctx.settings.seed, "gru-bounded-state")
        at_one = certified_steps = 0
        closest, precision, failed = 1.0, 0, []
        for scale in given["scales"]:
            params = {k: v * scale for k, v in sample(cell, cell.params, runs, rng).items()}
            xs = rng.standard_normal((steps, runs))
            for k in range(runs):
                run = {name: float(v[k]) for name, v in params.items()}
                margin, bits = _certify_run(cell, run, xs[:, k])
                precision = max(precision, bits)
                if margin is None:
                    failed.append(f"weight scale {scale}, run {k}")
                    continue
                certified_steps += steps
                closest = min(closest, margin)
            prevs = {"h_prev": np.zeros(runs)}
            for t in range(steps):
                values = step(prevs, params, {"x": xs[t]})
                prevs = {"h_prev": values["h"]}
                at_one += int(np.count_nonzero(np.abs(values["h"]) == 1.0))
        total = runs * steps * len(given["scales"])
        rec.require(
            not failed,
            f"{certified_steps} of {total} steps of `{cell.name}` from $h_0 = 0$ ({runs} seeded "
            f"runs per weight scale {', '.join(str(s) for s in given['scales'])}): every ball "
            f"certifies $|h_t| < 1$ (up to {precision} bits)"
            + (f"; not certified: {', '.join(failed)}" if failed else ""),
        )
        rec.note(f"smallest certified $1 - |h_t|$: {closest:.1e}")
        rec.caveats.append(
            f"In float64 the same runs give $|h_t| = 1$ exactly at {at_one} of "
            f"{certified_steps} steps (tanh rounds to 1): only $|h_t| \\le 1$ holds in "
            "floating point."
        )
        rec.figures = {
            "steps_certified": certified_steps,
            "smallest_margin": closest,
            "float64_steps_at_1": at_one,
            "bits": precision,
        }
        rec.summary = (
            f"{certified_steps} steps certified |h_t| < 1; float64 gives |h_t| = 1 at {at_one}"
        )

    return [
        _evidence("S", "the update as a convex combination; interval induction", symbolic),
        _evidence(
            "C", "ball arithmetic (arb, 256 to 4096 bits as needed) along seeded runs", certified
        ),
    ]


#: Ball precisions tried in turn: tanh(u) is 1 - 2e^{-2|u|} to within a ball
#: only when the precision exceeds ~2.9|u| bits.
_ARB_BITS = (256, 1024, 4096)


def _certify_run(cell, params: dict, xs) -> tuple:
    """Run ``cell`` from h_0 = 0 in ball arithmetic; return (smallest lower
    bound of 1 - |h_t|, bits used), or (None, bits) if no precision certifies it."""
    from flint import arb
    from flint import ctx as arb_ctx

    old = arb_ctx.prec
    try:
        for bits in _ARB_BITS:
            arb_ctx.prec = bits
            # floats convert exactly
            env = {cell.symbol(name): arb(v) for name, v in params.items()}
            h, closest = arb(0), None
            x_t, h_prev, h_t = (cell.symbol(n) for n in ("x", "h_prev", "h"))
            for x in xs:
                env[x_t], env[h_prev] = arb(float(x)), h
                for eq in cell.equations:
                    env[eq.symbol] = evaluate(eq.rhs, env, ARB)
                h = env[h_t]
                margin = (1 - abs(h)).lower()
                if not margin > 0:
                    break
                closest = margin if closest is None else min(closest, margin)
            else:
                return float(closest), bits
        return None, bits
    finally:
        arb_ctx.prec = old


def _check_gru_fewer_gates(claim, ctx):
    given = claim.given

    def symbolic(rec):
        gru_d, lstm_d = derive(given["cell"]), derive("lstm")
        gru = {t.via: t for t in gru_d.terms}
        lstm = {t.via: t for t in lstm_d.terms}
        rec.math += _term_rows(gru_d) + _term_rows(lstm_d)
        rows = []
        for via, matches in given["match"].items():
            for m in matches:
                diff = lstm[m].gate_count - gru[via].gate_count
                rows.append((via, m, gru[via].gate_count, lstm[m].gate_count, diff))
                rec.require(
                    diff >= given["fewer"],
                    f"GRU term through ${_tex_name(via)}$: {gru[via].gate_count} gates; LSTM "
                    f"term through ${_tex_name(m)}$: {lstm[m].gate_count} ({diff} fewer)",
                )
        exact = [f"{v} vs {m}: {d} fewer" for v, m, _, _, d in rows]
        literal = all(d == given["fewer"] for *_, d in rows)
        rec.caveats.append(
            "The engine's gate counts: "
            + "; ".join(exact)
            + (
                '. The article\'s "one gate fewer" holds literally for every pair.'
                if literal
                else '. The article\'s "one gate fewer" is literal only where the '
                "difference is 1; elsewhere the GRU term has more gates fewer."
            )
        )
        rec.figures = {
            "pairs": [
                {"gru": v, "lstm": m, "gru_gates": g, "lstm_gates": lg, "fewer": d}
                for v, m, g, lg, d in rows
            ]
        }
        rec.summary = ", ".join(f"{v}/{m}: {g} vs {lg}" for v, m, g, lg, _ in rows)

    return [_evidence("S", "the engine's gate counts, term by term", symbolic)]


def _check_gru_less_stable(claim, ctx):
    given = claim.given

    def monte_carlo(rec):
        cells = [given["cell"], given["than"], *given["context"]]
        rec.figures["cells"] = {}
        results = {}
        for name in cells:
            r = results[name] = ctx.one_step(name)
            rec.figures["cells"][name] = r.as_json()
            for line in _one_step_lines(r):
                rec.note(line)
            rec.note(
                f"`{name}`: spread p1..p99 of {r.label} {r.spread.text()} (p1 {r.p1.text()}, "
                f"p99 {r.p99.text()}); standard deviation {_fmt(r.std, 3)}"
            )
        rec.math.append(
            "\\text{spread} &= q_{0.99} - q_{0.01} \\text{ of the one-step derivative over "
            "the samples}"
        )
        a, b = results[given["cell"]], results[given["than"]]
        rec.require(
            a.spread.lo > b.spread.hi,
            f"spread: {a.cell} {a.spread.text()} > {b.cell} {b.spread.text()}",
        )
        rec.require(
            a.exceeds_one.lo > b.exceeds_one.hi,
            f"fraction |derivative| > 1: {a.cell} {a.exceeds_one.text()} > {b.cell} "
            f"{b.exceeds_one.text()}",
        )
        rec.summary = (
            f"spread {_fmt(a.spread.value, 3)} vs {_fmt(b.spread.value, 3)}; "
            f"P(|d|>1) {a.exceeds_one.value:.3f} vs {b.exceeds_one.value:.3f}"
        )

    return [_evidence("M", "seeded Monte Carlo, order-statistic and Wilson intervals", monte_carlo)]


# ---------------------------------------------------------------- M: long horizon


def _check_long_horizon(claim, ctx):
    given = claim.given

    def monte_carlo(rec):
        from .flow import flow_distribution, run_flow

        s = ctx.settings
        rec.figures["cells"] = {}
        rates = []
        for name in given["cells"]:
            r = run_flow(
                name,
                steps=ctx.steps,
                samples=ctx.flow_samples,
                seed=s.seed,
                init=s.init,
                forget_bias=s.forget_bias,
            )
            rec.figures["cells"][name] = r.to_json()
            lo, hi = r.lyapunov_ci
            last = r.checkpoints[-1]
            vanish = f"step {r.vanish_step}" if r.vanish_step is not None else "not within the run"
            rec.require(
                hi < given["rate_below"],
                f"`{name}`: Lyapunov exponent {_fmt(r.lyapunov, 3)} "
                f"[{_fmt(lo, 3)}, {_fmt(hi, 3)}] per step (below {given['rate_below']:g}); "
                f"median $\\log_{{10}} |\\partial s_{{{last}}}/\\partial s_0|$ = "
                f"{_fmt(r.median_at(last), 3)}; median below $10^{{-8}}$ from {vanish}; "
                f"exploding in {r.explode_fraction:.3f} of samples",
            )
            if r.article is not None:
                a = r.article
                rec.note(
                    f"`{name}`: the article's product of one-step "
                    f"${_derivative_tex(a.derivative)}$ decays at "
                    f"{_fmt(a.lyapunov_article, 3)} per step, the exact entry at "
                    f"{_fmt(a.lyapunov_exact, 3)}"
                )
            rates.append((name, r.lyapunov, r.vanish_step))
        rec.note(
            f"{ctx.flow_samples} trajectories of {ctx.steps} steps per cell, seed {s.seed}; "
            f"{flow_distribution(s.init, s.forget_bias, 1)}; the exact product of state "
            "Jacobians, in log space"
        )
        for bias in given["lstm_forget_biases"]:
            # A forget bias b pushes f_t towards sigma(b): the regime where the
            # article says the LSTM keeps its gradient longest.
            r = run_flow(
                "lstm",
                steps=ctx.steps,
                samples=ctx.flow_samples,
                seed=s.seed,
                init=s.init,
                forget_bias=bias,
            )
            rec.figures["cells"][f"lstm, forget bias {bias:g}"] = r.to_json()
            lo, hi = r.lyapunov_ci
            vanish = f"step {r.vanish_step}" if r.vanish_step is not None else "not within the run"
            rec.require(
                hi < given["rate_below"],
                f"`lstm` with $b_f = {bias:g}$: Lyapunov exponent {_fmt(r.lyapunov, 3)} "
                f"[{_fmt(lo, 3)}, {_fmt(hi, 3)}] per step; median below $10^{{-8}}$ from {vanish}",
            )
            rates.append((f"lstm (b_f = {bias:g})", r.lyapunov, r.vanish_step))
        lstm = next((x for x in rates if x[0] == "lstm"), None)
        if lstm is not None:
            rec.caveats.append(
                "Under this distribution the LSTM's gradient falls below $10^{-8}$ (median) "
                + (f"by step {lstm[2]}" if lstm[2] is not None else "not within the run")
                + "; the rate depends on the initialisation: with a large forget bias the "
                "LSTM keeps its gradient for thousands of steps, yet it still decays."
            )
        rec.math.append(
            "\\lambda &= \\frac{1}{T}\\, \\mathbb{E} \\ln \\Big\\| "
            "\\prod_{t=1}^{T} J_t \\Big\\|, \\quad J_t = \\frac{\\partial s_t}"
            "{\\partial s_{t-1}}"
        )
        rec.summary = "; ".join(f"{n} {_fmt(x, 2)}" for n, x, _ in rates) + " per step"

    return [
        _evidence(
            "M",
            "exact state-Jacobian products along seeded trajectories (symgrad flow); "
            "normal interval on the mean log growth",
            monte_carlo,
        )
    ]


# ---------------------------------------------------------------- registry helpers


def _given(**kwargs) -> MappingProxyType:
    return MappingProxyType(kwargs)


def claim_ids() -> tuple:
    return tuple(c.id for c in CLAIMS)


def get_claim(claim_id: str) -> Claim:
    """The claim ``claim_id``; :class:`ClaimError` lists the valid ids."""
    for c in CLAIMS:
        if c.id == claim_id:
            return c
    raise ClaimError(f"unknown claim {claim_id!r}. Valid claims: {', '.join(claim_ids())}")


def check_claim(claim: Claim, ctx: Context | None = None) -> ClaimResult:
    """Check one claim; the result carries its evidence and caveats."""
    ctx = ctx or Context()
    start = time.perf_counter()
    if claim.checker is None:
        evidence = (Evidence(claim.kinds[0], False, "no checker yet", "none"),)
    else:
        evidence = tuple(claim.checker(claim, ctx))
    caveats = list(claim.caveats)
    for e in evidence:
        caveats += e.caveats
    return ClaimResult(claim, evidence, tuple(caveats), time.perf_counter() - start)


def verify(ids=None, ctx: Context | None = None, progress=None) -> list:
    """Check the claims ``ids`` (default: all, in catalog order).

    ``progress(k, n, claim_id)`` is called before each claim. Returns a list of
    :class:`ClaimResult`. Raises :class:`ClaimError` for an unknown id.
    """
    ctx = ctx or Context()
    chosen = [get_claim(i) for i in ids] if ids else list(CLAIMS)
    results = []
    for k, claim in enumerate(chosen):
        if progress:
            progress(k, len(chosen), claim.id)
        results.append(check_claim(claim, ctx))
    return results


# ---------------------------------------------------------------- the catalog
#
# One entry per claim of SPEC section 3, in the article's order. ``given`` is
# what the article states, as data; each checker confronts it with evidence.

_LSTM_TERMS = {
    "c_prev": "f",
    "f": "f*(1 - f)*o_prev*(1 - tanh(c_prev)**2)*c_prev*U_f",
    "i": "i*(1 - i)*o_prev*(1 - tanh(c_prev)**2)*c_hat*U_i",
    "c_hat": "i*(1 - c_hat**2)*o_prev*(1 - tanh(c_prev)**2)*U_c",
}

_GRU_TERMS = {
    "h_prev": "1 - z",
    "z": "z*(1 - z)*(h_hat - h_prev)*U_z",
    "h_hat": "z*(1 - h_hat**2)*r*(1 + (1 - r)*h_prev*U_r)*U_h",
}

CLAIMS = (
    Claim(
        id="identities",
        kinds="S",
        title="the four sigma/tanh identities",
        statement="$\\tanh x = 2\\sigma(2x) - 1$, $\\sigma(x) = (\\tanh(x/2) + 1)/2$, "
        "$\\tanh' = 1 - \\tanh^2$, $\\sigma' = \\sigma(1 - \\sigma)$: the derivatives of "
        "$\\sigma$ and $\\tanh$ are written through themselves (gate form).",
        article="These formulas essentially state one thing: tanh x and sigma(x) are basically "
        "equivalent, and their derivatives can be expressed in terms of themselves.",
        given=_given(
            identities=(("tanh(x)", "2*sigmoid(2*x) - 1"), ("sigmoid(x)", "(tanh(x/2) + 1)/2")),
            derivatives=(
                ("tanh(x)", "1 - tanh(x)**2"),
                ("sigmoid(x)", "sigmoid(x)*(1 - sigmoid(x))"),
            ),
        ),
        checker=_check_identities,
        commands=("symgrad derive rnn",),
    ),
    Claim(
        id="recursion",
        kinds="S",
        title="dh_t/dtheta recursion and its unrolled product form (T = 1..6)",
        statement="For $h_t = f(x_t, h_{t-1}; \\theta)$: $\\frac{dh_t}{d\\theta} = "
        "\\frac{\\partial h_t}{\\partial h_{t-1}} \\frac{dh_{t-1}}{d\\theta} + "
        "\\frac{\\partial h_t}{\\partial \\theta}$ (the gradient of an RNN is an RNN); unrolled, "
        "the coefficient of $\\partial h_1/\\partial\\theta$ is the product of the $t-1$ one-step "
        "partials.",
        article="As we can see, the gradient of an RNN is also an RNN. [...] the coefficient in "
        "front of the term dh_1/dtheta is the product of t-1 terms.",
        given=_given(recursion="a*g + b", coefficient_factors="T - 1", T=6, cells=("rnn",)),
        checker=_check_recursion,
    ),
    Claim(
        id="vanish-explode",
        kinds="SM",
        title="|dh_t/dh_{t-1}| <= rho < 1 => vanishing; >= rho > 1 => exploding",
        statement="If $|\\partial h_t/\\partial h_{t-1}| \\le \\rho < 1$ for all $t$, the "
        "coefficient of $\\partial h_1/\\partial\\theta$ is at most $\\rho^{t-1} \\to 0$; if it "
        "is $\\ge \\rho > 1$, it grows without bound. A one-step derivative equal to 1 at every "
        "step is improbable.",
        article="when |dh_t/dh_{t-1}| < 1 [...] the gradient will inevitably vanish [...] (similar "
        "to 0.9^n -> 0); when > 1 [...] explode (similar to 1.1^n -> infinity). It is impossible "
        "for |dh_t/dh_{t-1}| = 1 to hold all the time, right?",
        given=_given(
            examples=(("vanish", "9/10", "0"), ("explode", "11/10", "oo")),
            counterexample=("1 - 1/n**2", "1/2"),
            cells=("rnn", "rnn-relu", "lstm", "gru", "gru-merged", "gru-late-reset", "gru-torch"),
            near_one_at_most=0.05,
        ),
        checker=_check_vanish_explode,
        caveats=(
            'Needs a uniform bound $\\rho < 1$: "every factor below 1" alone is not enough '
            "($\\prod_{n \\ge 2} (1 - 1/n^2) = 1/2$, not 0).",
            "The Monte Carlo treats steps as independent draws; along a real trajectory the "
            "one-step derivatives are correlated (see long-horizon).",
        ),
        key="M",
    ),
    Claim(
        id="rnn-jacobian",
        kinds="SP",
        title="SimpleRNN: dh_t/dh_{t-1} = (1 - h_t^2) U",
        statement="For $h_t = \\tanh(W x_t + U h_{t-1} + b)$: "
        "$\\partial h_t/\\partial h_{t-1} = (1 - h_t^2) U$.",
        article="From the previous discussion, we know that gradient vanishing or explosion "
        "mainly depends on |dh_t/dh_{t-1}|, so we calculate: [...]",
        given=_given(cell="rnn", terms={"h_prev": "(1 - h**2)*U"}, dominant="h_prev"),
        checker=_check_decomposition,
        commands=("symgrad derive rnn", "symgrad check rnn"),
    ),
    Claim(
        id="rnn-tanh-bounded",
        kinds="SNC",
        title="sup_U |(1 - h_t^2) U| = S(a)/|h_{t-1}|, S(0) ~ 0.4477, S(a) <= |a| + S(0)",
        statement="For fixed $a = W x_t + b$ and $h_{t-1} \\ne 0$, "
        "$\\sup_U |(1 - h_t^2) U| = S(a)/|h_{t-1}|$ with "
        "$S(a) = \\sup_v |v - a| (1 - \\tanh^2 v)$ finite; $S(0) \\approx 0.4477$; "
        "$S(a) \\le |a| + S(0)$.",
        article="it can be strictly proven that if we fix h_{t-1} != 0, then (1-h_t^2)U is "
        "bounded as a function of U.",
        given=_given(
            substituted="(1 - tanh(v)**2)*(v - a)/h_prev",
            S0="0.4477",
            a=(0.5, 2.0, 5.0),
            h=(1.0, 0.5, 0.1),
        ),
        checker=_check_rnn_tanh_numeric,
        caveats=(
            "Holds for fixed $h_{t-1} \\ne 0$ only: the bound $S(a)/|h_{t-1}|$ blows up as "
            "$h_{t-1} \\to 0$ (the first step from $h_0 = 0$ is unbounded in $U$) and grows "
            "like $|W x_t + b|$.",
            "A sharper bound than $|a| + S(0)$ exists: $S(a) \\le (|a| + \\sqrt{1 + a^2})/2$.",
        ),
        commands=("symgrad bound rnn-tanh --param a=0 --param h=1",),
        key="C",
    ),
    Claim(
        id="rnn-relu-unbounded",
        kinds="SN",
        title="ReLU: dh_t/dh_{t-1} = U on the active side, unbounded in U",
        statement="With ReLU, $\\partial h_t/\\partial h_{t-1} = U$ where $h_t > 0$ (and 0 "
        "elsewhere): unbounded in $U$.",
        article="if ReLU activation is used, its derivative on the positive axis is always 1, "
        "and at this time dh_t/dh_{t-1} = U is unbounded",
        given=_given(active="U", L=(1.0, 10.0, 100.0, 1000.0)),
        checker=_check_rnn_relu,
        commands=("symgrad derive rnn-relu", "symgrad bound rnn-relu --param L=100"),
        key="N",
    ),
    Claim(
        id="clipping",
        kinds="SC",
        title="clipping U into [-1, 1] gives |dh_t/dh_{t-1}| <= 1 (tanh and ReLU)",
        statement="If $U$ is clipped into $[-1, 1]$, then $|\\partial h_t/\\partial h_{t-1}| "
        "\\le 1$ for the tanh and the ReLU SimpleRNN.",
        article="if I artificially clip U into the range [-1, 1], can't I guarantee that the "
        "gradient won't explode?",
        given=_given(cells=("rnn", "rnn-relu"), bound=1.0),
        checker=_check_clipping_bound,
        commands=("symgrad bound clipping",),
        key="C",
    ),
    Claim(
        id="lstm-decomposition",
        kinds="SP",
        title="LSTM: dc_t/dc_{t-1} = f_t + three minor terms",
        statement="$\\frac{\\partial c_t}{\\partial c_{t-1}} = f_t + c_{t-1} "
        "\\frac{\\partial f_t}{\\partial c_{t-1}} + \\hat{c}_t \\frac{\\partial i_t}{\\partial "
        "c_{t-1}} + i_t \\frac{\\partial \\hat{c}_t}{\\partial c_{t-1}}$ with "
        "$h_{t-1} = o_{t-1} \\tanh c_{t-1}$, $o_{t-1}$ held fixed; dominant term $f_t$.",
        article='The first term on the right, f_t, is what we call the "forget gate." [...] the '
        'other three terms are generally minor, so f_t is the "main term."',
        given=_given(cell="lstm", terms=_LSTM_TERMS, dominant="c_prev"),
        checker=_check_decomposition,
        caveats=(
            "Exact for one step only: the LSTM's state is $(c, h)$ and the product of one-step "
            "terms misses a path through $o_t$ (see lstm-state-jacobian).",
        ),
        commands=("symgrad derive lstm", "symgrad check lstm"),
    ),
    Claim(
        id="lstm-saturation-045",
        kinds="NC",
        title="sup_c |(1 - tanh^2 c) c| < 0.45",
        statement="$\\sup_c |(1 - \\tanh^2 c)\\, c| < 0.45$; the value is $\\approx 0.44774$ "
        "at $c \\approx 0.7717$, the root of $2 c \\tanh c = 1$.",
        article="it can also be proven that |(1 - tanh^2 c_{t-1}) c_{t-1}| < 0.45",
        given=_given(bound=0.45, value="0.44774", argmax="0.7717"),
        checker=_check_lstm_saturation,
        commands=("symgrad bound lstm-saturation",),
        key="C",
    ),
    Claim(
        id="lstm-minor-terms",
        kinds="SCM",
        title="each minor LSTM term is |U_g| times gates: bounds and typical sizes",
        statement="Each minor term of $\\partial c_t/\\partial c_{t-1}$ is $|U_g|$ times a "
        "product of gates and factors bounded by 1, e.g. $|c_{t-1} \\partial f_t/\\partial "
        "c_{t-1}| \\le S(0)/4 \\cdot |U_f| \\approx 0.1119 |U_f|$; under standard "
        "initialisation each is typically smaller than $f_t$.",
        article='c_{t-1} df_t/dc_{t-1} is equivalent to one U_f multiplied by four "gates," '
        "and the result will be compressed even smaller. [...] Compared with the simple RNN "
        "gradient, it has three more gates.",
        given=_given(
            terms={"f": ("U_f", 4), "i": ("U_i", 4), "c_hat": ("U_c", 4)},
            more_than_rnn=3,
            worst={
                "lstm-forget-term": "0.1119",
                "lstm-input-term": "0.2500",
                "lstm-candidate-term": "1.0000",
            },
        ),
        checker=_check_lstm_minor_terms,
        caveats=(
            "A typical-case statement: in the worst case the $U_c$ term is not compressed at "
            "all (it reaches $|U_c|$), and $\\partial c_t/\\partial c_{t-1}$ can exceed 1.",
            "The factor $(1 - \\tanh^2 c_{t-1})\\, c_{t-1}$ is signed, in $[-S(0), S(0)]$: not a "
            "gate.",
        ),
        commands=("symgrad bound lstm-forget-term", "symgrad bound lstm-candidate-term"),
        key="M",
    ),
    Claim(
        id="lstm-forget-dominant",
        kinds="SM",
        title="f_t in (0, 1) dominates: minor terms smaller than f_t in most samples",
        statement="$f_t \\in (0, 1)$, so the dominant term cannot explode; under common "
        "initialisations the sum of the minor terms is smaller than $f_t$ in most samples.",
        article="Since f_t is between 0 and 1, this means the risk of gradient explosion will be "
        "very small. [...] Thus, the dominant term is still f_t.",
        given=_given(dominant="f", most=0.5),
        checker=_check_lstm_forget_dominant,
        caveats=('"Most samples" depends on the distribution: see --init and --forget-bias.',),
        key="M",
    ),
    Claim(
        id="lstm-state-jacobian",
        kinds="SM",
        title="the exact (c, h) state Jacobian; gap to the article's product",
        statement="The LSTM's state is $(c_t, h_t)$; the article's $\\partial c_t/\\partial "
        "c_{t-1}$ is exact for one step, but over several steps the product of one-step terms "
        "misses the path $c_{t-1} \\to h_{t-1} \\to o_t \\to h_t \\to c_{t+1}$.",
        article="We could calculate dh_t/dh_{t-1} as we did before, but as h_t = o_t tanh(c_t), "
        "analyzing c_t is equivalent to analyzing h_t",
        given=_given(cells={"lstm": "o", "gru-late-reset": "r"}),
        checker=_check_state_jacobian,
        caveats=(
            "The article's product of one-step $\\partial c/\\partial c$ terms misses the path "
            "through $o_t$; gru-late-reset has the same kind of miss, through $r_t$.",
        ),
        commands=("symgrad derive lstm --wrt state",),
        key="M",
    ),
    Claim(
        id="gru-bounded-state",
        kinds="SC",
        title="GRU: with h_0 = 0, |h_t| < 1 for all t",
        statement="With $h_0 = 0$, $|h_t| < 1$ for all $t$: $h_t$ is a convex combination of "
        "$h_{t-1}$ and $\\hat{h}_t \\in (-1, 1)$.",
        article="h_t, as a weighted average of h_{t-1} and hat h_t, also remains between -1 and "
        "1. Thus, h_t itself has a function similar to a gate.",
        given=_given(
            cells={
                "gru": "z*(h_hat - h_prev)",
                "gru-merged": "r*(h_hat - h_prev)",
                "gru-torch": "(1 - z)*(n - h_prev)",
            },
            certify="gru",
            runs=8,
            steps=40,
            scales=(1, 30),
        ),
        checker=_check_gru_bounded_state,
        caveats=(
            "Exact arithmetic: in float64 tanh saturates to exactly 1, so only "
            "$|h_t| \\le 1$ holds there.",
        ),
        key="C",
    ),
    Claim(
        id="gru-decomposition",
        kinds="SP",
        title="GRU: dh_t/dh_{t-1} = (1 - z_t) + two minor terms",
        statement="$\\frac{\\partial h_t}{\\partial h_{t-1}} = (1 - z_t) + z_t (1 - z_t)"
        "(\\hat{h}_t - h_{t-1}) U_z + z_t (1 - \\hat{h}_t^2) r_t (1 + (1 - r_t) h_{t-1} U_r) "
        "U_h$; dominant term $1 - z_t$.",
        article="The dominant term should be 1 - z_t [...] it also introduces an additional "
        "term 1 + (1 - r_t) h_{t-1} U_r.",
        given=_given(cell="gru", terms=_GRU_TERMS, dominant="h_prev"),
        checker=_check_decomposition,
        caveats=(
            "$\\hat{h}_t - h_{t-1}$ lies in $(-2, 2)$, and the reset factor "
            "$r_t (1 + (1 - r_t) h_{t-1} U_r)$ is bounded in $U_r$ for fixed $W_r x_t + b_r$ but "
            "can exceed 1: the reset gate does not always shrink the $U_h$ term.",
            "gru-torch (PyTorch's GRUCell) is not the article's GRU: $z$ and $1 - z$ swap roles "
            "and the reset after the matrix product adds a term in $b_{hn}$ "
            "(symgrad derive gru-torch).",
        ),
        commands=("symgrad derive gru", "symgrad check gru", "symgrad derive gru-torch"),
    ),
    Claim(
        id="gru-fewer-gates",
        kinds="S",
        title="every minor GRU term has one gate fewer than the matching LSTM term",
        statement="Each minor term of the GRU's $\\partial h_t/\\partial h_{t-1}$ has fewer "
        "gates (the article: one fewer) than the matching term of the LSTM's "
        "$\\partial c_t/\\partial c_{t-1}$: the update-gate term against the forget- and "
        "input-gate terms, the candidate term against the candidate term.",
        article="the remaining terms have one fewer gate than the corresponding terms in LSTM, "
        "so their magnitudes could be larger.",
        given=_given(cell="gru", match={"z": ("f", "i"), "h_hat": ("c_hat",)}, fewer=1),
        checker=_check_gru_fewer_gates,
        commands=("symgrad derive gru --format text", "symgrad derive lstm --format text"),
    ),
    Claim(
        id="gru-less-stable",
        kinds="M",
        title="GRU's one-step derivative is more spread out than the LSTM's",
        statement="Under the same initialisation, the GRU's $\\partial h_t/\\partial h_{t-1}$ "
        "is more spread out than the LSTM's $\\partial c_t/\\partial c_{t-1}$: wider 1st-99th "
        "percentile range, more often above 1 in magnitude.",
        article="Compared to the LSTM gradient, it is inherently more unstable [...] it feels "
        "that GRU should be more unstable and more dependent on good initialization than LSTM.",
        given=_given(
            cell="gru", than="lstm", context=("gru-merged", "gru-late-reset", "gru-torch")
        ),
        checker=_check_gru_less_stable,
        caveats=(
            "Compares one-step derivatives at independent random points, not trained networks.",
        ),
    ),
    Claim(
        id="gru-merged-decomposition",
        kinds="SP",
        title="merged GRU (one gate r_t): its derivative",
        statement="With one gate $r_t$ as update and reset gate: "
        "$\\frac{\\partial h_t}{\\partial h_{t-1}} = (1 - r_t) + r_t (1 - r_t)"
        "(\\hat{h}_t - h_{t-1}) U_r + r_t^2 (1 - \\hat{h}_t^2)(1 + (1 - r_t) h_{t-1} U_r) U_h$; "
        "dominant term $1 - r_t$.",
        article="There is an even more extreme version where r_t and z_t are merged into one",
        given=_given(
            cell="gru-merged",
            terms={
                "h_prev": "1 - r",
                "r": "r*(1 - r)*(h_hat - h_prev)*U_r",
                "h_hat": "r*(1 - h_hat**2)*r*(1 + (1 - r)*h_prev*U_r)*U_h",
            },
            dominant="h_prev",
        ),
        checker=_check_decomposition,
        commands=("symgrad derive gru-merged",),
    ),
    Claim(
        id="late-reset-decomposition",
        kinds="SP",
        title="the article's proposal (r_t h_{t-1} at the end): each minor term gains r_{t-1}",
        statement="With $z_t, r_t, \\hat{h}_t$ computed from $o_{t-1} = r_{t-1} h_{t-1}$: "
        "$\\frac{\\partial h_t}{\\partial h_{t-1}} = (1 - z_t) + z_t (1 - z_t) r_{t-1}"
        "(\\hat{h}_t - h_{t-1}) U_z + z_t (1 - \\hat{h}_t^2) r_{t-1} U_h$: each minor term "
        "gains the gate $r_{t-1}$, as the LSTM's carry $o_{t-1}$.",
        article="a better approach would be to put r_t h_{t-1} at the very end [...] this would "
        "require caching an extra variable",
        given=_given(
            cell="gru-late-reset",
            terms={
                "h_prev": "1 - z",
                "z": "z*(1 - z)*r_prev*(h_hat - h_prev)*U_z",
                "h_hat": "z*(1 - h_hat**2)*r_prev*U_h",
            },
            dominant="h_prev",
        ),
        checker=_check_decomposition,
        caveats=(
            "Supports the article only in the reading of SPEC section 1 (gates from $o_{t-1}$); "
            "in the other reading (gates from $h_{t-1}$, $o_t$ only an output) the terms have "
            "fewer gates than the GRU's.",
            "Over two steps it misses a path through $r_t$, as the LSTM through $o_t$ (see "
            "lstm-state-jacobian).",
        ),
        commands=("symgrad derive gru-late-reset", "symgrad derive gru-late-reset --wrt state"),
    ),
    Claim(
        id="long-horizon",
        kinds="M",
        title="over thousands of steps even the LSTM's gradient vanishes",
        statement="Over thousands of steps the gradient of every cell, the LSTM's included, "
        "decays: the Lyapunov exponent (mean log growth per step) of the exact state "
        "Jacobian product is negative.",
        article="If your sequence is very long, such as thousands or tens of thousands of steps, "
        "whatever should vanish will still vanish.",
        given=_given(
            cells=("rnn", "rnn-relu", "lstm", "gru", "gru-merged", "gru-late-reset", "gru-torch"),
            lstm_forget_biases=(1.0, 5.0),
            rate_below=0.0,
        ),
        checker=_check_long_horizon,
        commands=("symgrad flow lstm --steps 10000",),
    ),
)
