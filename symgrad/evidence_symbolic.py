"""S evidence: the article's formulas against the derivation engine, exactly.

Each function below is one piece of symbolic evidence (see
:mod:`symgrad.evidence`): it parses what a claim states (its ``given``) and
decides it by exact algebra, ``expand``/``cancel`` to zero, against
:func:`symgrad.derivation.derive`'s terms, gate counts and value ranges. Nothing
here derives a cell by hand; LaTeX comes from the cells' names and
:mod:`symgrad.render`'s printer.
"""

from __future__ import annotations

import re

import sympy

from . import lemmas
from .cells import get_cell, make_cell
from .derivation import CHECK_DIGITS, CHECK_TOLERANCE, compose, derive, partial
from .evidence import evidence_function, parse_stated, separating_point
from .expr import parse_equation
from .multistep import (
    CHECK_POINTS,
    derive_steps,
    forward,
    step_latex,
    step_symbol,
)
from .primitives import tanh
from .ranges import interval, is_gate
from .render import AsWritten, D, Factors, LatexMath, Prod, Sum, jacobian_matrix_latex

__all__ = [
    "clipping_factors",
    "decomposition_terms",
    "forget_gate_range",
    "gate_counts",
    "gru_convex_update",
    "identities_exact",
    "late_reset_readings",
    "minor_term_factors",
    "recursion_abstract",
    "recursion_unrolled_cells",
    "relu_active_side",
    "rnn_tanh_substitution",
    "state_jacobian_rows",
    "vanish_explode_limits",
]

# ---------------------------------------------------------------- helpers


def _same(cell, carry, a, b) -> bool:
    """``a == b`` exactly: in gate form, else with every value composed out."""
    if sympy.expand(a - b) == 0:
        return True
    return sympy.expand(compose(cell, carry, a - b)) == 0


def _polynomial_zero(expr) -> bool:
    """``expr == 0`` as a polynomial in its function calls (each call an atom):
    exact, and fast where expanding inside nested tanh arguments is not."""
    atoms = {f: sympy.Dummy() for f in expr.atoms(sympy.Function)}
    return sympy.expand(expr.xreplace(atoms)) == 0


def _in_unit(factor, ranges) -> bool:
    """A factor whose value lies in [0, 1]: a gate, or relu's indicator."""
    return isinstance(factor, sympy.Heaviside) or is_gate(factor, ranges)


def _gates(n: int) -> str:
    return f"{n} gate" + ("" if n == 1 else "s")


def _terms(n: int) -> str:
    return f"{n} term" + ("" if n == 1 else "s")


def _proved(rec, lemma) -> bool:
    """A lemma's steps as sub-checks: each must check for any verdict."""
    ok = True
    for step in lemma.steps:
        ok = rec.require(step.holds, step.text) and ok
    return ok


def _gate_name(cell, name: str) -> str:
    """The LaTeX of a value without its time index: ``\\hat{h}_t`` -> ``\\hat{h}``."""
    return re.sub(r"_(?:t|\{t\})$", "", cell.latex[name])


def _inline(tex: str) -> str:
    """Printed LaTeX with plain parentheses, as it reads inline in prose."""
    return tex.replace("\\left(", "(").replace("\\right)", ")")


def _term_rows(d, notes=True) -> list:
    """LaTeX rows: the chain rule with the partials named, each term, the sum."""
    p = LatexMath(d.cell, d.ranges)
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


# ---------------------------------------------------------------- identities


@evidence_function("S", "each side rewritten through exp, x = 2 log y substituted, cancel() to 0")
def identities_exact(rec, given, ctx):
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

    def counterexample(a, b):
        return lambda: separating_point(None, {}, a, b, labels=("the left side", "the right"))

    for lhs_text, rhs_text in given["identities"]:
        lhs, rhs = parse_equation(lhs_text, names), parse_equation(rhs_text, names)
        rec.claim(
            exact(lhs - rhs) == 0,
            f"${tex(lhs_text)} = {tex(rhs_text)}$",
            counterexample(lhs, rhs),
        )
        rec.math.append(f"{tex(lhs_text)} &= {tex(rhs_text)}")
    for f_text, rhs_text in given["derivatives"]:
        f, rhs = parse_equation(f_text, names), parse_equation(rhs_text, names)
        # Differentiated in exp form, independent of the gate-form rule (fdiff) ...
        by_exp = sympy.diff(f.rewrite(sympy.exp), x)
        ok = exact(by_exp - rhs) == 0
        # ... and the engine's own rule must give the same gate form.
        engine = exact(partial(f, x) - by_exp) == 0
        lhs_tex = f"\\frac{{d}}{{dx}} {tex(f_text)}"
        rec.claim(
            ok,
            f"${lhs_tex} = {tex(rhs_text)}$ (differentiated in exp form)",
            counterexample(by_exp, rhs),
        )
        rec.require(engine, "the engine's gate-form rule gives the same derivative")
        rec.math.append(f"{lhs_tex} &= {tex(rhs_text)}")
    n = len(given["identities"]) + len(given["derivatives"])
    rec.summary = f"{n} identities exact (cancel to 0 with x = 2 log y)"
    rec.figures = {"identities": n}


# ---------------------------------------------------------------- recursion


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


@evidence_function("S", "SymPy's chain rule on an abstract F, expand to 0")
def recursion_abstract(rec, given, ctx):
    horizon = given["T"]
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


@evidence_function("S", "the engine's derivative against SymPy's diff of the unrolled cell")
def recursion_unrolled_cells(rec, given, ctx):
    horizon = given["T"]
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


# ---------------------------------------------------------------- vanishing and exploding


@evidence_function("S", "a lemma for symbolic rho (SymPy), and a closed-form product")
def vanish_explode_limits(rec, given, ctx):
    lemma = lemmas.geometric_limits()
    proved = _proved(rec, lemma)
    n = sympy.Symbol("n", integer=True, positive=True)
    factor_text, claimed_limit = given["counterexample"]
    factor = parse_equation(factor_text, {"n": n})
    big_n = sympy.Symbol("N", integer=True, positive=True)
    closed = sympy.simplify(sympy.product(factor, (n, 2, big_n)))
    limit = sympy.limit(closed, big_n, sympy.oo)
    below_one = sympy.simplify(factor.subs(n, 2)) < 1 and sympy.limit(factor, n, sympy.oo) == 1
    counter = rec.require(
        below_one and limit == parse_equation(claimed_limit, {}),
        f"every factor ${sympy.latex(factor)} < 1$, yet "
        f"$\\prod_{{n=2}}^{{N}} ({sympy.latex(factor)}) = {sympy.latex(closed)} \\to "
        f"{sympy.latex(limit)}$, not 0",
    )
    if proved and counter:
        rec.qualify(
            "with a uniform bound: every factor at most $\\rho < 1$ (at least $\\rho > 1$)",
            f"{lemma.statement}, proved for every $\\rho$; the article's \"every factor below "
            f'1" alone is not enough: the factors ${sympy.latex(factor)} < 1$ have product '
            f"$\\to {sympy.latex(limit)}$",
        )
    rec.math += [
        "\\Big|\\prod_{k=2}^{t} \\frac{\\partial h_k}{\\partial h_{k-1}}\\Big| "
        "&\\le \\rho^{t-1} \\to 0 \\quad (\\text{all } |\\partial h_k/\\partial h_{k-1}| "
        "\\le \\rho < 1)",
        "\\Big|\\prod_{k=2}^{t} \\frac{\\partial h_k}{\\partial h_{k-1}}\\Big| "
        "&\\ge \\rho^{t-1} \\to \\infty \\quad (\\text{all } |\\partial h_k/\\partial "
        "h_{k-1}| \\ge \\rho > 1)",
        f"\\prod_{{n=2}}^{{N}} \\Big({sympy.latex(factor)}\\Big) &= {sympy.latex(closed)} "
        f"\\to {sympy.latex(limit)}",
    ]
    rec.summary = (
        "$\\rho^{t-1} \\to 0$ for every $0 < \\rho < 1$, $\\to \\infty$ for every $\\rho > 1$ "
        "(proved); needs a uniform $\\rho$: "
        f"$\\prod_n (1 - 1/n^2) \\to {sympy.latex(limit)}$"
    )
    rec.figures = {"counterexample_limit": str(limit), "lemma_proved": proved}


# ---------------------------------------------------------------- decompositions


@evidence_function("S", "the article's terms against the engine's, expand to 0")
def decomposition_terms(rec, given, ctx):
    cell = get_cell(given["cell"])
    d = derive(cell)
    rec.require(
        d.check.passed, f"the engine's terms add up to the raw derivative ({d.check.method})"
    )
    engine = {t.via: t for t in d.terms}
    printer = LatexMath(cell, d.ranges)
    stated = {via: parse_stated(cell, text) for via, text in given["terms"].items()}
    for via, claimed in stated.items():
        term = engine.get(via)
        ok = term is not None and _same(cell, d.carry, term.expr, claimed)
        where = f"term through ${printer.doprint(cell.symbol(via))}$"
        shown = printer.item(Factors(term.factors)) if ok else printer.doprint(claimed)
        engine_term = term.expr if term is not None else sympy.Integer(0)
        rec.claim(
            ok,
            f"{where}: ${shown}$"
            + (f" ({_gates(term.gate_count)})" if term is not None else " (no such term)"),
            lambda a=claimed, b=engine_term: separating_point(cell, d.carry, a, b),
        )
    extra = sorted(set(engine) - set(given["terms"]))
    rec.claim(
        not extra,
        "no term beyond those stated" + (f" (extra: {', '.join(extra)})" if extra else ""),
        lambda: separating_point(cell, d.carry, sympy.Add(*stated.values()), d.total),
    )
    rec.require(
        d.dominant is not None and d.dominant.via == given["dominant"],
        f"dominant term: ${printer.doprint(d.dominant.expr)}$",
    )
    rec.math += _term_rows(d)
    rec.summary = (
        f"{_terms(len(d.terms))} = the article's; dominant "
        f"${printer.item(Factors(d.dominant.factors))}$; sum checked {d.check.method}"
    )
    rec.figures = {
        "terms": {t.via: {"expr": str(t.expr), "gate_count": t.gate_count} for t in d.terms},
        "dominant": d.dominant.via,
        "self_check": d.check.method,
    }


# ---------------------------------------------------------------- SimpleRNN


@evidence_function("S", "substitution $U = (v - a)/h_{t-1}$, expand to 0")
def rnn_tanh_substitution(rec, given, ctx):
    cell = get_cell("rnn")
    d = derive(cell)
    u, w, b, x, h_prev = (cell.symbol(n) for n in ("U", "W", "b", "x", "h_prev"))
    v, a = sympy.symbols("v a", real=True)
    total = compose(cell, {}, d.total)
    # U = (v - a)/h_{t-1}, a = W x_t + b: for h_{t-1} != 0 a bijection of U onto v.
    substituted = total.xreplace({u: (v - w * x - b) / h_prev})
    claimed = parse_equation(given["substituted"], {"v": v, "a": a, "h_prev": h_prev})
    claimed = claimed.xreplace({a: w * x + b})
    rec.claim(
        sympy.expand(substituted - claimed) == 0,
        "with $v = a + U h_{t-1}$, $a = W x_t + b$: $(1 - h_t^2) U = "
        "(1 - \\tanh^2 v)(v - a)/h_{t-1}$; for $h_{t-1} \\ne 0$, the map from $U$ to $v$ is "
        "a bijection of R, so $\\sup_U |(1 - h_t^2) U| = S(a)/|h_{t-1}|$",
        lambda: separating_point(None, {}, substituted, claimed),
    )
    triangle, sharp = lemmas.triangle_bound(), lemmas.sharp_bound()
    for lemma in (triangle, sharp):
        rec.note(f"lemma: {lemma.statement}")
        _proved(rec, lemma)
    # At h_{t-1} = 0 the derivative is (1 - tanh^2(W x_t + b)) U: linear in U, slope > 0.
    at_zero = total.xreplace({h_prev: 0})
    slope = sympy.diff(at_zero, u)
    y = sympy.Symbol("y", real=True)
    arguments = {f.args[0]: y for f in slope.atoms(sympy.tanh)}
    unbounded = (
        at_zero.xreplace({u: 0}) == 0
        and u not in slope.free_symbols
        and len(arguments) == 1
        and sympy.simplify(slope.xreplace(arguments)).is_positive  # 1/cosh^2 y > 0
    )
    if rec.require(
        unbounded,
        f"at $h_{{t-1}} = 0$: $\\partial h_t/\\partial h_{{t-1}} = "
        f"{LatexMath(cell).doprint(at_zero)}$, linear in $U$ with a positive slope: "
        "unbounded in $U$",
    ):
        rec.qualify(
            "for each fixed $h_{t-1} \\ne 0$ and $a$: $\\sup_U = S(a)/|h_{t-1}|$; not uniformly: "
            "unbounded as $h_{t-1} \\to 0$, and growing like $|a|$",
            "bounded in $U$ only for fixed $h_{t-1} \\ne 0$: $S(a)/|h_{t-1}| \\to \\infty$ as "
            "$h_{t-1} \\to 0$, and at $h_{t-1} = 0$ (the first step from $h_0 = 0$) the "
            "derivative is unbounded in $U$",
        )
    printer = LatexMath(cell, d.ranges)
    rec.math += _term_rows(d, notes=False)
    rec.math += [
        f"{printer.doprint(d.total)} &= \\frac{{(v - a)(1 - \\tanh^2 v)}}{{h_{{t-1}}}}, "
        "\\quad v = a + U h_{t-1},\\ a = W x_t + b",
        "\\sup_U \\big|(1 - h_t^2) U\\big| &= \\frac{S(a)}{|h_{t-1}|}, \\quad "
        "S(a) = \\sup_v |v - a| (1 - \\tanh^2 v)",
        "S(a) &\\le |a| + S(0), \\qquad S(a) \\le \\frac{|a| + \\sqrt{1 + a^2}}{2} "
        "\\quad (\\text{every } a)",
    ]
    rec.summary = (
        "$\\sup_U |(1 - h_t^2) U| = S(a)/|h_{t-1}|$ ($h_{t-1} \\ne 0$); "
        "$S(a) \\le |a| + S(0)$ and $\\le (|a| + \\sqrt{1 + a^2})/2$ for every $a$: "
        + ("proved" if triangle.proved and sharp.proved else "NOT proved")
    )


@evidence_function("S", "the engine's derivative with $[h_t > 0]$ set to 1 and to 0")
def relu_active_side(rec, given, ctx):
    cell = get_cell("rnn-relu")
    d = derive(cell)
    rec.require(d.check.passed, f"the engine's derivative checked ({d.check.method})")
    steps = d.total.atoms(sympy.Heaviside)
    active = d.total.xreplace({s: 1 for s in steps})
    inactive = d.total.xreplace({s: 0 for s in steps})
    claimed = parse_stated(cell, given["active"])
    printer = LatexMath(cell, d.ranges)
    rec.require(
        steps and sympy.expand(active - claimed) == 0,
        f"active side ($h_t > 0$): $\\partial h_t/\\partial h_{{t-1}} = {printer.doprint(active)}$",
    )
    rec.require(inactive == 0, "inactive side: $\\partial h_t/\\partial h_{t-1} = 0$")
    rec.note(
        "$[h_t > 0]$ is relu' at the pre-activation $u = W x_t + U h_{t-1} + b$ ($h_t > 0$ iff "
        "$u > 0$); relu is not differentiable at $u = 0$, where the engine takes relu'(0) = 0"
    )
    lemma = lemmas.relu_unbounded()
    rec.note(f"lemma: {lemma.statement}")
    proved = _proved(rec, lemma)
    rec.math += _term_rows(d, notes=False)
    rec.summary = (
        f"$\\partial h_t/\\partial h_{{t-1}} = {printer.doprint(active)}$ on the active side; "
        "$\\sup_{|U| \\le L} = L$ for every $L > 0$: " + ("proved" if proved else "NOT proved")
    )


@evidence_function("S", "factors of the engine's derivative against the value ranges")
def clipping_factors(rec, given, ctx):
    for name in given["cells"]:
        cell = get_cell(name)
        d = derive(cell)
        (term,) = d.terms
        params = [f for f in term.factors if f.is_Symbol and f.name in cell.params]
        others = [f for f in term.factors if f not in params]
        ok = [p.name for p in params] == ["U"] and all(_in_unit(f, d.ranges) for f in others)
        printer = LatexMath(cell, d.ranges)
        rec.require(
            ok,
            f"`{name}`: ${printer.doprint(d.total)}$, every factor but $U$ in $[0, 1]$, "
            "so $|\\partial h_t/\\partial h_{t-1}| \\le |U| \\le 1$",
        )
        rec.math += _term_rows(d, notes=False)
    rec.summary = "$|\\partial h_t/\\partial h_{t-1}| \\le |U|$ for tanh and relu"


# ---------------------------------------------------------------- LSTM


@evidence_function("S", "factors of the engine's terms against the value ranges")
def minor_term_factors(rec, given, ctx):
    cell = get_cell("lstm")
    d = derive(cell)
    rnn_gates = derive("rnn").terms[0].gate_count
    printer = LatexMath(cell, d.ranges)
    c_prev = cell.symbol("c_prev")
    saturation = 1 - tanh(c_prev) ** 2
    counts = []
    for via, (param, gates) in given["terms"].items():
        term = next(t for t in d.terms if t.via == via)
        params = [f.name for f in term.factors if f.is_Symbol and f.name in cell.params]
        rest = [f for f in term.factors if not (f.is_Symbol and f.name in cell.params)]
        gate_factors = [f for f in rest if _in_unit(f, d.ranges)]
        signed, loose = [], []
        for f in rest:
            if f in gate_factors:
                continue
            lo, hi = interval(f, d.ranges) or (-sympy.oo, sympy.oo)
            if lo >= -1 and hi <= 1:
                signed.append((f, printer.doprint(f), "\\in (-1, 1)"))
            elif f == c_prev and any(_same(cell, {}, g, saturation) for g in gate_factors):
                # c_{t-1} is unbounded; (1 - tanh^2 c_{t-1}) c_{t-1} is in [-S(0), S(0)]:
                # the pair is one signed factor, and its 1 - tanh^2 is no longer a gate.
                pair = next(g for g in gate_factors if _same(cell, {}, g, saturation))
                gate_factors.remove(pair)
                signed.append(
                    (pair * f, printer.doprint(pair * f), "\\in [-S(0), S(0)]$, $S(0) < 0.45")
                )
            else:
                loose.append(f)
        rec.require(
            params == [param] and not loose,
            f"${printer.doprint(term.expr)}$: ${param}$ times factors of magnitude below 1"
            + (f" (unbounded: {', '.join(map(str, loose))})" if loose else ""),
        )
        n_gates = len(gate_factors)
        what = f"${param}$ times {_gates(n_gates)} in (0, 1)" + "".join(
            f" and the signed factor ${tex} {where}$" for _, tex, where in signed
        )
        bounded = n_gates + len(signed)
        counts.append((via, n_gates, len(signed)))
        if n_gates == gates:
            rec.claim(True, what)
        elif bounded == gates:
            rec.qualify(
                f"the ${param}$ term: {_gates(n_gates)} and "
                + " and ".join(f"the signed ${tex}$" for _, tex, _ in signed)
                + f", not {_gates(gates)}",
                f"{what}: {bounded} factors of magnitude below 1 as the article counts, but "
                f"{n_gates} gates (the article: {gates})"
                + (
                    "; $c_{t-1}$ alone is unbounded, only $(1 - \\tanh^2 c_{t-1})\\,c_{t-1}$ is "
                    "bounded, and it is signed"
                    if any(f.has(c_prev) for f, _, _ in signed)
                    else ""
                ),
            )
        else:
            rec.require(False, f"{what}: {bounded} bounded factors, the article {gates}")
        more = n_gates - rnn_gates
        if more == given["more_than_rnn"]:
            rec.claim(True, f"{more} gates more than the SimpleRNN's {rnn_gates}")
        elif bounded - rnn_gates == given["more_than_rnn"]:
            rec.qualify(
                f"the ${param}$ term: {more} gates more than the SimpleRNN's, not "
                f"{given['more_than_rnn']}",
                f"{more} gates more than the SimpleRNN's {rnn_gates}, and one signed factor "
                f"bounded below 1: {bounded - rnn_gates} more factors of magnitude below 1",
            )
        else:
            rec.require(False, f"{more} gates more than the SimpleRNN's {rnn_gates}")
    rec.math += _term_rows(d)
    rec.figures = {"gates": {v: g for v, g, _ in counts}, "signed": {v: k for v, _, k in counts}}
    rec.summary = "; ".join(
        f"${_gate_name(cell, v)}$: {_gates(g)}" + (f" + {k} signed" if k else "")
        for v, g, k in counts
    )


@evidence_function("S", "the engine's dominant term and value ranges")
def forget_gate_range(rec, given, ctx):
    cell = get_cell("lstm")
    d = derive(cell)
    gate = given["dominant"]
    claimed = parse_stated(cell, gate)
    lo, hi = d.ranges[cell.symbol(gate)]
    printer = LatexMath(cell)
    rec.require(
        sympy.expand(d.dominant.expr - claimed) == 0,
        f"the engine's dominant term is ${printer.doprint(d.dominant.expr)}$",
    )
    name = cell.latex[gate]
    rec.require(
        cell.equation(gate).kind == "gate" and lo >= 0 and hi <= 1,
        f"${name}$ is a sigmoid of a real pre-activation: ${name} \\in (0, 1)$, so the dominant "
        "term alone lies below 1",
    )
    rec.math += _term_rows(d)
    definition = _inline(printer.item(AsWritten(cell.equation(gate).display)))
    rec.math.append(f"{name} &= {definition} \\in (0, 1)")
    rec.summary = f"dominant term ${name} \\in (0, 1)$"


@evidence_function(
    "S", "the engine's state Jacobian and its exact two-step derivative (symgrad derive --steps 2)"
)
def state_jacobian_rows(rec, given, ctx):
    import mpmath

    for name, via in given["cells"].items():
        cell = get_cell(name)
        d = derive(cell)
        j = derive(cell, "state")
        rec.require(j.check.passed, f"`{name}`: exact state Jacobian checked ({j.check.method})")
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
        ms = derive_steps(cell, 2)
        rec.require(
            ms.check.passed,
            f"`{name}`, two steps: the exact derivative equals mpmath's derivative of the "
            "unrolled two-step forward pass, and the product plus the missed path, at "
            f"{CHECK_POINTS} seeded points to within {CHECK_TOLERANCE:g} ({CHECK_DIGITS} digits)",
        )
        (path,) = ms.paths
        p = LatexMath(cell, ms.ranges, ms.names)
        target, source = cell.latex[d.target], cell.latex[d.source]
        later = step_latex(cell.latex[d.target], 1)
        state, (held,) = cell.latex[path.state], (cell.latex[w] for w in path.held)
        entry = f"\\partial {later}/\\partial {state}"
        change = f"\\partial {state}/\\partial {held} \\cdot d{held}/d{source}"
        rec.require(
            path.held == (via,) and not _same(cell, {}, path.expr, sympy.Integer(0)),
            f"`{name}`: $d{later}/d{source} = A_{{t+1}} A_t + D_{{t+1}} \\cdot m_t$ exactly, "
            f"$A$ the article's one-step derivative of ${target}$; the product misses the path "
            f"through ${held}$: $D_{{t+1}} = {entry}$ times the change of ${state}$ through "
            f"${held}$, $m_t = {change}$ (both written out in the display)",
        )
        rec.math.append(f"\\text{{{name}: }} J &= {jacobian_matrix_latex(j)}")
        rec.math.append(
            f"\\frac{{d{later}}}{{d{source}}} &= A_{{t+1}} A_t + D_{{t+1}}\\,m_t, "
            f"\\quad D_{{t+1}} = \\frac{{\\partial {later}}}{{\\partial {state}}}, \\quad "
            f"m_t = \\frac{{\\partial {state}}}{{\\partial {held}}} "
            f"\\frac{{d{held}}}{{d{source}}}"
        )
        rec.math.append(f"D_{{t+1}} &= {p.doprint(path.entry)}")
        rec.math.append(f"m_t &= {p.doprint(path.delta)}")
        example = given.get("example", {}).get(name)
        if example is None:
            continue
        values = ms.evaluate(example)
        point = {
            cell.symbol(k): mpmath.mpf(sympy.Rational(v).p) / sympy.Rational(v).q
            for k, v in example.items()
        }
        source_symbol = cell.symbol(d.source)
        with mpmath.workdps(40):
            unrolled = _unrolled(ms, point, source_symbol, step_symbol(d.target, 1))
            reference = mpmath.diff(unrolled, point[source_symbol])
            agree = abs(mpmath.mpf(str(values["exact"])) - reference) < mpmath.mpf(10) ** -25
        at = ", ".join(f"${cell.latex[k]} = {v}$" for k, v in example.items())
        rec.require(
            agree,
            f"`{name}` at {at}: product {float(values['product']):.6f}, missed path "
            f"{float(values['paths'][0]):.7f}, exact {float(values['exact']):.7f} = mpmath's "
            "derivative of the unrolled two-step map (40 digits)",
        )
    rec.summary = (
        "one step exact; two steps: exact = product + $D_{t+1} m_t$ ($m_t$ is $\\delta_t$ of "
        "`symgrad derive --steps 2`), the path through $o_t$ (`lstm`), $r_t$ (`gru-late-reset`)"
    )


def _unrolled(ms, point: dict, source, target):
    """The target after the steps as a function of the source alone (mpmath)."""

    def value(x):
        return forward(ms, {**point, source: x})[target]

    return value


# ---------------------------------------------------------------- GRU


@evidence_function("S", "the update as a convex combination; induction, each step by SymPy")
def gru_convex_update(rec, given, ctx):
    proved = True
    for name, step_text in given["cells"].items():
        cell = get_cell(name)
        step = cell.equation("h").rhs - cell.symbol("h_prev")
        claimed = parse_stated(cell, step_text)
        printer = LatexMath(cell)
        rec.claim(
            sympy.expand(step - claimed) == 0,
            f"`{name}`: $h_t - h_{{t-1}} = {printer.doprint(claimed)}$: $h_t$ lies between "
            "$h_{t-1}$ and a value of tanh in $(-1, 1)$",
            lambda a=step, b=claimed, c=cell: separating_point(c, {}, a, b),
        )
        lemma = lemmas.convex_step(cell)
        rec.note(f"lemma: {lemma.statement}")
        proved = _proved(rec, lemma) and proved
        rec.math.append(f"\\text{{{name}: }} h_t - h_{{t-1}} &= {printer.doprint(claimed)}")
    lat = get_cell(given["certify"]).latex
    h, h_prev, z, h_hat = (lat[n] for n in ("h", "h_prev", "z", "h_hat"))
    rec.math.append(
        f"1 \\mp {h} &= (1 - {z})(1 \\mp {h_prev}) + {z}\\,(1 \\mp {h_hat}) > 0 \\quad "
        f"(|{h_prev}| < 1,\\ |{h_hat}| < 1,\\ {z} \\in (0, 1))"
    )
    rec.summary = (
        "$|h_{t-1}| < 1$ implies $|h_t| < 1$ for every parameter value and input: $|h_t| < 1$ "
        "for every $t$ from $h_0 = 0$, " + ("proved" if proved else "NOT proved")
    )


@evidence_function("S", "the engine's gate counts, term by term")
def gate_counts(rec, given, ctx):
    gru_d, lstm_d = derive(given["cell"]), derive("lstm")
    gru = {t.via: t for t in gru_d.terms}
    lstm = {t.via: t for t in lstm_d.terms}
    rec.math += _term_rows(gru_d) + _term_rows(lstm_d)
    rows = []
    fewer = given["fewer"]
    for via, matches in given["match"].items():
        for m in matches:
            diff = lstm[m].gate_count - gru[via].gate_count
            rows.append((via, m, gru[via].gate_count, lstm[m].gate_count, diff))
            counts = (
                f"GRU term through ${_gate_name(gru_d.cell, via)}$: {gru[via].gate_count} "
                f"gates; LSTM term through ${_gate_name(lstm_d.cell, m)}$: "
                f"{lstm[m].gate_count} ({diff} fewer)"
            )
            rec.claim(
                diff >= fewer,
                counts,
                lambda c=counts: f"the engine's exact counts: {c}, not {fewer} fewer",
            )
    diffs = [d for *_, d in rows]
    if all(d >= fewer for d in diffs) and any(d != fewer for d in diffs):
        listed = ", ".join(str(d) for d in diffs[:-1]) + f" and {diffs[-1]}"
        rec.qualify(
            f"fewer gates: {listed} fewer",
            f"every minor GRU term has fewer gates than its LSTM match, but {listed} fewer, "
            f"not {fewer} each ("
            + "; ".join(
                f"${_gate_name(gru_d.cell, v)}$ vs ${_gate_name(lstm_d.cell, m)}$: {d} fewer"
                for v, m, _, _, d in rows
            )
            + ")",
        )
    rec.figures = {
        "pairs": [
            {"gru": v, "lstm": m, "gru_gates": g, "lstm_gates": lg, "fewer": d}
            for v, m, g, lg, d in rows
        ]
    }
    rec.summary = "gates GRU vs LSTM: " + ", ".join(
        f"${_gate_name(gru_d.cell, v)}/{_gate_name(lstm_d.cell, m)}$ {g} vs {lg}"
        for v, m, g, lg, _ in rows
    )


@evidence_function("S", "the engine's gate counts in both readings of the proposal")
def late_reset_readings(rec, given, ctx):
    spec = get_cell(given["cell"])
    other = _other_reading(spec)
    counts = {}
    for label, cell in (("SPEC", spec), ("other", other), ("gru", get_cell("gru"))):
        d = derive(cell)
        counts[label] = {t.via: t.gate_count for t in d.terms if not t.dominant}
        rec.math += _term_rows(d)
    gains = all(counts["SPEC"][v] == counts["other"][v] + 1 for v in counts["other"])
    rec.require(
        gains and counts["SPEC"].keys() == counts["other"].keys(),
        "gates from $o_{t-1} = r_{t-1} h_{t-1}$ (SPEC section 1): minor terms with "
        + ", ".join(f"{_gates(n)} (${_gate_name(spec, v)}$)" for v, n in counts["SPEC"].items())
        + "; gates from $h_{t-1}$, $o_t = r_t h_t$ only an output: "
        + ", ".join(f"{_gates(n)} (${_gate_name(other, v)}$)" for v, n in counts["other"].items())
        + ": each minor term gains exactly one gate, $r_{t-1}$, in the first reading",
    )
    fewer = [v for v, n in counts["other"].items() if n < counts["gru"].get(v, n)]
    at_most = all(n <= counts["gru"].get(v, n) for v, n in counts["other"].items())
    if rec.require(
        fewer and at_most,
        "the second reading against the GRU's "
        + ", ".join(f"{_gates(n)} (${_gate_name(spec, v)}$)" for v, n in counts["gru"].items())
        + ": fewer gates in the term through "
        + ", ".join(f"${_gate_name(spec, v)}$" for v in fewer)
        + ", none more",
    ):
        rec.qualify(
            "in the reading of SPEC section 1 (gates from $o_{t-1}$) only",
            "the article's proposal gains the gate $r_{t-1}$ in each minor term only when the "
            "gates read $o_{t-1}$; read with gates from $h_{t-1}$ (the cell built from "
            f"`{spec.name}` with $o_{{t-1}}$ replaced by $h_{{t-1}}$, as "
            "examples/gru-late-reset-output.toml) its minor terms have fewer gates than the "
            "GRU's",
        )
    rec.figures = {"gate_counts": counts}
    rec.summary = "minor-term gates: " + "; ".join(
        f"{k} " + ", ".join(str(n) for n in c.values()) for k, c in counts.items()
    )


def _other_reading(cell):
    """The proposal read the other way: every equation that reads o_{t-1} reads
    h_{t-1} instead, and o is an output, not a state."""
    equations = [
        (eq.name, None, eq.text.replace("o_prev", "h_prev"), eq.kind) for eq in cell.equations
    ]
    return make_cell(
        f"{cell.name}-output",
        "the late-reset GRU with gates from h_{t-1}; o_t = r_t h_t only an output",
        cell.inputs,
        cell.params,
        [s for s in cell.state if s != "o"],
        equations,
        (cell.target, cell.source),
    )
