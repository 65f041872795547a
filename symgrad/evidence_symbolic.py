"""S evidence: the article's formulas against the derivation engine, exactly.

Each function below is one piece of symbolic evidence (see
:mod:`symgrad.evidence`): it parses what a claim states (its ``given``) and
decides it by exact algebra, ``expand``/``cancel`` to zero, against
:func:`symgrad.derive.derive`'s terms, gate counts and value ranges. Nothing
here derives a cell by hand; LaTeX comes from the cells' names and
:mod:`symgrad.render`'s printer.
"""

from __future__ import annotations

import re

import sympy

from .cells import get_cell
from .derive import compose, derive, partial
from .evidence import evidence_function, parse_stated
from .expr import parse_equation
from .primitives import tanh
from .ranges import interval, is_gate, value_ranges
from .render import AsWritten, D, Factors, LatexMath, Prod, Sum, jacobian_matrix_latex

__all__ = [
    "clipping_factors",
    "decomposition_terms",
    "forget_gate_range",
    "gate_counts",
    "gru_convex_update",
    "identities_exact",
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

    for lhs_text, rhs_text in given["identities"]:
        lhs, rhs = parse_equation(lhs_text, names), parse_equation(rhs_text, names)
        rec.require(exact(lhs - rhs) == 0, f"${tex(lhs_text)} = {tex(rhs_text)}$")
        rec.math.append(f"{tex(lhs_text)} &= {tex(rhs_text)}")
    for f_text, rhs_text in given["derivatives"]:
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


@evidence_function("S", "SymPy limits and a closed-form product")
def vanish_explode_limits(rec, given, ctx):
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
    for via, text in given["terms"].items():
        claimed = parse_stated(cell, text)
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
    rec.require(not extra, "no term beyond those stated" + (f" (extra: {extra})" if extra else ""))
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


# ---------------------------------------------------------------- SimpleRNN


@evidence_function("S", "substitution U = (v - a)/h_{t-1}, expand to 0")
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
    printer = LatexMath(cell, d.ranges)
    rec.math += _term_rows(d, notes=False)
    rec.math += [
        f"{printer.doprint(d.total)} &= \\frac{{(v - a)(1 - \\tanh^2 v)}}{{h_{{t-1}}}}, "
        "\\quad v = a + U h_{t-1},\\ a = W x_t + b",
        "\\sup_U \\big|(1 - h_t^2) U\\big| &= \\frac{S(a)}{|h_{t-1}|}, \\quad "
        "S(a) = \\sup_v |v - a| (1 - \\tanh^2 v) \\le |a| + S(0)",
    ]
    rec.summary = "sup_U |(1 - h^2) U| = S(a)/|h_prev| by substitution"


@evidence_function("S", "the engine's derivative with [h_t > 0] set to 1 and to 0")
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
    rec.math += _term_rows(d, notes=False)
    rec.summary = f"d h/d h_prev = {active} on the active side: unbounded in U"


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
    rec.summary = "|dh/dh_prev| <= |U| for tanh and relu"


# ---------------------------------------------------------------- LSTM


@evidence_function("S", "factors of the engine's terms against the value ranges")
def minor_term_factors(rec, given, ctx):
    cell = get_cell("lstm")
    d = derive(cell)
    rnn_gates = derive("rnn").terms[0].gate_count
    printer = LatexMath(cell, d.ranges)
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
            f"${printer.doprint(term.expr)}$: ${param}$ times "
            f"{term.gate_count} gates and factors bounded by 1",
        )
        rec.require(
            term.gate_count - rnn_gates == given["more_than_rnn"],
            f"{term.gate_count - rnn_gates} gates more than the SimpleRNN's {rnn_gates}",
        )
    rec.math += _term_rows(d)
    rec.summary = "each minor term = |U_g| x gates x factors bounded by 1"


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
    rec.require(lo >= 0 and hi <= 1, f"${name} \\in [{lo:g}, {hi:g}]$: it cannot explode")
    rec.math += _term_rows(d)
    definition = _inline(printer.item(AsWritten(cell.equation(gate).display)))
    rec.math.append(f"{name} &= {definition} \\in (0, 1)")
    rec.summary = "dominant term f_t in (0, 1)"


@evidence_function("S", "the engine's state Jacobian against its one-step derivative")
def state_jacobian_rows(rec, given, ctx):
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
        shift = {cell.symbol(f"{v}_prev"): cell.symbol(v) for v in cell.values}
        now = partial(expr.xreplace(shift), cell.symbol(d.source.removesuffix("_prev")))
        exact = j.entries[car][src].total + j.entries[car][car].total * slope
        missed = exact - now * d.total
        path = next((t for t in j.entries[car][car].terms if t.via == via), None)
        printer = LatexMath(cell, d.ranges)
        ok = path is not None and _same(cell, d.carry, missed, path.expr * slope)
        ok = ok and not _same(cell, d.carry, missed, sympy.Integer(0))
        rec.require(
            ok,
            f"`{name}`: the product of one-step terms misses "
            f"${printer.doprint(path.expr * slope) if path else '?'}$ per step, the path "
            f"through ${printer.doprint(cell.symbol(via))}$",
        )
        rec.math.append(f"\\text{{{name}: }} J &= {jacobian_matrix_latex(j)}")
        if path is not None:
            rec.math.append(f"\\text{{missed per step}} &= {printer.doprint(path.expr * slope)}")
    rec.summary = "one step exact; two steps miss the path through o_t (r_t)"


# ---------------------------------------------------------------- GRU


@evidence_function("S", "the update as a convex combination; interval induction")
def gru_convex_update(rec, given, ctx):
    for name, step_text in given["cells"].items():
        cell = get_cell(name)
        h = cell.symbol("h")
        lo, hi = value_ranges(cell)[h]
        step = cell.equation("h").rhs - cell.symbol("h_prev")
        claimed = parse_stated(cell, step_text)
        printer = LatexMath(cell)
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
    lat = get_cell(given["certify"]).latex
    h, h_prev, z, h_hat = (lat[n] for n in ("h", "h_prev", "z", "h_hat"))
    rec.math.append(
        f"|{h}| &\\le (1 - {z})|{h_prev}| + {z} |{h_hat}| "
        f"\\le \\max(|{h_prev}|, |{h_hat}|) < 1 \\quad (|{h_prev}| < 1,\\ "
        f"|{h_hat}| < 1,\\ {z} \\in (0, 1))"
    )
    rec.summary = "h_t between h_{t-1} and a tanh: |h_t| < 1 by induction"


@evidence_function("S", "the engine's gate counts, term by term")
def gate_counts(rec, given, ctx):
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
                f"GRU term through ${_gate_name(gru_d.cell, via)}$: {gru[via].gate_count} "
                f"gates; LSTM term through ${_gate_name(lstm_d.cell, m)}$: "
                f"{lstm[m].gate_count} ({diff} fewer)",
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
