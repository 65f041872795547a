"""Evidence for the LSTM's claims in n dimensions.

The counterpart of :mod:`symgrad.evidence_nd` for the LSTM (the GRU's are in
:mod:`symgrad.evidence_nd_gru`), with the same three kinds: a seeded search
through the vector engine whose best point is certified in balls (N), exact
families and proofs (S), and, for the typical-case claims, seeded Monte Carlo
with Wilson intervals (M); the saturation constant reuses the 1-D certificate
(C).

In n dimensions a term of a one-step derivative is ``diag(alpha) U diag(beta)``:
row factors left of the weight, column factors right of it (the engine's
:func:`symgrad.linear.sides`). Its sharp bound is ``max|alpha| ||U|| max|beta|``;
factors that multiplied one number in 1-D now multiply different coordinates.
NumPy, SciPy and flint are imported inside the functions.
"""

from __future__ import annotations

from fractions import Fraction

import sympy

from .certify import fixed, significant
from .evidence import evidence_function
from .evidence_nd import (
    BALL_BITS,
    EXACT_METHOD,
    SEARCH_METHOD,
    SEARCH_ROUNDING,
    bound,
    box_search,
    certified_norm,
    certify_point,
    display_matrix,
    family,
    jacobian_matrix,
    matrix_tex,
    same_matrix,
    seeded,
)
from .linear import sides
from .ndsearch import (
    Layout,
    certified_upper,
    engine,
    exact_values,
    maximise,
    memoised,
    opnorm,
    point_json,
    show_number,
    show_point,
)
from .ranges import is_gate, value_ranges
from .render import LatexMath
from .vecexact import chain_matrix, exact_norm

__all__ = [
    "forget_dominant_nd_exact",
    "forget_dominant_nd_monte_carlo",
    "minor_terms_nd_exact",
    "minor_terms_nd_monte_carlo",
    "minor_terms_nd_search",
    "quarter",
    "row_bound",
    "saturation_nd_certified",
    "saturation_nd_exact",
    "saturation_nd_search",
    "term_of",
]


# ---------------------------------------------------------------- shared


def term_of(d, via: str):
    """The engine's term of ``d`` through ``via``."""
    return next(t for t in d.terms if t.via == via)


def _lstm_arrays(n: int) -> dict:
    """Every LSTM input at 0 (m = 1): a search or a family overrides what it varies."""
    import numpy as np

    out = {f"U_{g}": np.zeros((n, n)) for g in "fic"}
    out |= {f"W_{g}": np.zeros((n, 1)) for g in "fic"}
    out |= {f"b_{g}": np.zeros(n) for g in "fic"}
    return out | {"x": np.zeros(1)}


def quarter() -> bool:
    """g (1 - g) <= 1/4 for every real g: 1/4 - g (1 - g) = (g - 1/2)^2 (SymPy)."""
    g = sympy.Symbol("g", real=True)
    return sympy.expand(sympy.Rational(1, 4) - g * (1 - g) - (g - sympy.Rational(1, 2)) ** 2) == 0


def _saturation(ctx):
    """The certified S(0) = sup_c |c| (1 - tanh^2 c) (symgrad bound lstm-saturation)."""
    return bound(ctx, "lstm-saturation")


# ---------------------------------------------------------------- lstm-minor-terms-nd


def _minor_search(ctx, given, via: str, n: int, c_box: float):
    """max ||T_via|| / ||U_g|| over c_{t-1}, o_{t-1}, U_g and every bias."""
    import numpy as np

    weight = given["weights"][via]
    d, _ = engine(given["cell"])
    index = [t.via for t in d.terms].index(via)
    held = _lstm_arrays(n)
    entries = [
        ("c_prev", (n,), -c_box, c_box),
        ("o_prev", (n,), 0.0, 1.0),
        (weight, (n, n), -given["U"], given["U"]),
        *((f"b_{g}", (n,), -given["b"], given["b"]) for g in "fic"),
    ]
    fixed_arrays = tuple((k, v) for k, v in held.items() if k not in {e[0] for e in entries})
    starts = {
        "U_g = 11^T, c = C 1, o = 1": {
            weight: np.ones((n, n)),
            "c_prev": np.full(n, c_box),
            "o_prev": np.ones(n),
        },
        "U_g = I, c = 0.77 1, o = 1": {
            weight: np.eye(n),
            "c_prev": np.full(n, 0.77),
            "o_prev": np.ones(n),
        },
    }
    starts = {k: {**{e[0]: np.zeros(e[1]) for e in entries}, **v} for k, v in starts.items()}
    return box_search(
        ctx,
        f"lstm-minor-terms-nd {via}",
        given["cell"],
        n,
        entries,
        fixed_arrays,
        lambda jac, terms, arrays: opnorm(terms[index]) / opnorm(arrays[weight]),
        starts,
    )


def _proven(d, via: str, c_box: float) -> float:
    """The bound on ||T_via||/||U_g|| the row factors give (:func:`row_bound`), with
    every unbounded row factor (c_{t-1}) at most ``c_box``; column factors <= 1."""
    row, _, _ = sides(term_of(d, via).operator)
    constant, unbounded = row_bound(row, value_ranges(d.cell))
    return float(constant) * c_box ** len(unbounded)


#: The arrays a forget/input/candidate counterexample prints (the rest are 0).
_SHOWN = {
    via: ("c_prev", "o_prev", weight, "b_f", "b_i", "b_c")
    for via, weight in (("f", "U_f"), ("i", "U_i"), ("c_hat", "U_c"))
}


def _certified_ratio(d, via: str, weight: str, point: dict, n: int) -> float:
    """A certified lower bound of ||T_via|| / ||U_g|| at an exact point."""
    from flint import ctx as arb_ctx

    from .vecexact import to_ball

    term = certified_norm(d, point, n, term_of(d, via).operator)
    with arb_ctx.workprec(BALL_BITS):
        upper = certified_upper(to_ball(point[weight]))
    return term / upper * (1 - 2.0**-50)  # the float division: one rounding, taken down


@evidence_function("N", SEARCH_METHOD)
def minor_terms_nd_search(rec, given, ctx):
    s0 = _saturation(ctx)
    stated = {
        via: (s0.interval[1] / 4 if text == "S(0)/4" else float(Fraction(text)), text)
        for via, text in given["stated"].items()
    }
    rec.note(
        f"seed {ctx.settings.seed}; searched: $c_{{t-1}}$ in $[-C, C]^n$, $o_{{t-1}}$ in "
        f"$[0, 1]^n$, the term's $U_g$ entrywise in $[-{given['U']:g}, {given['U']:g}]$, every "
        f"bias in $[-{given['b']:g}, {given['b']:g}]^n$, other weights 0"
    )
    figures, labels = {}, {}
    for via, (limit, text) in stated.items():
        weight = given["weights"][via]
        boxes = given["C"] if via == "f" else given["C"][-1:]
        for n in given["n"]:
            for c_box in boxes:
                found, layout, d = _minor_search(ctx, given, via, n, c_box)
                figures[f"{via}, n = {n}, C = {c_box:g}"] = {"search": found.value}
                labels[f"{via}, n = {n}, C = {c_box:g}"] = (
                    f"${d.cell.latex[via]}$, n = {n}, C = {c_box:g}"
                )
                proven = _proven(d, via, c_box)
                rec.require(
                    found.value <= proven * (1 + SEARCH_ROUNDING),
                    f"term through ${d.cell.latex[via]}$, n = {n}, C = {c_box:g}: largest "
                    f"$||T||/||{weight}||$ found {show_number(found.value, 4)} $\\le$ "
                    f"{show_number(proven, 4)} (the "
                    "bound the S evidence proves)",
                )
                if c_box != boxes[0]:
                    continue
                point, grid, certified = certify_point(
                    layout,
                    found.x,
                    lambda p, d=d, n=n, via=via, weight=weight: _certified_ratio(
                        d, via, weight, p, n
                    ),
                )
                figures[f"{via}, n = {n}, C = {c_box:g}"]["point"] = point_json(point, _SHOWN[via])
                rec.claim(
                    found.value <= limit * (1 + SEARCH_ROUNDING),
                    f"term through ${d.cell.latex[via]}$, n = {n}, C = {c_box:g}: "
                    f"$||T|| \\le {text} \\cdot ||{weight}||$, searched",
                    lambda point=point, grid=grid, certified=certified, n=n, via=via, limit=limit: (
                        (
                            f"n = {n}, at {show_point(point, _SHOWN[via])} "
                            f"(other weights 0; the search's point on the grid {grid}): "
                            f"$||T||/||{given['weights'][via]}|| \\ge$ "
                            f"{significant(certified, 4, 'down')} $>$ "
                            f"{significant(limit, 4, 'up')} "
                            "(arb balls)"
                        )
                        if point is not None and certified > limit
                        else None
                    ),
                )
    rec.figures = figures
    rec.summary = "largest $||T_g||/||U_g||$: " + "; ".join(
        f"{labels[k]}: {show_number(v['search'], 4)}" for k, v in figures.items()
    )


def row_bound(row, ranges) -> tuple:
    """``(constant, unbounded)``: the row factors' product is at most ``constant``
    times the product of |f| over the ``unbounded`` factors (those with no finite
    range), a gate g beside 1 - g counting 1/4 (:func:`_quarter`) and every other
    factor its range's largest |value|."""
    from .ranges import interval

    rest, constant, unbounded = list(row), sympy.Integer(1), []
    for g in list(rest):
        if g in rest and (1 - g) in rest and is_gate(g, ranges) and quarter():
            rest.remove(g)
            rest.remove(1 - g)
            constant *= sympy.Rational(1, 4)
    for f in rest:
        enclosure = interval(f, ranges)
        if enclosure is None or not all(abs(x) < float("inf") for x in enclosure):
            unbounded.append(f)
        else:
            constant *= sympy.nsimplify(max(abs(enclosure[0]), abs(enclosure[1])))
    return constant, tuple(unbounded)


@evidence_function("S", EXACT_METHOD)
def minor_terms_nd_exact(rec, given, ctx):
    s, o1 = sympy.Symbol("s", positive=True), sympy.Symbol("o_1", positive=True)
    d, _ = engine(given["cell"])
    n = 2
    zeros = {k: v.tolist() for k, v in _lstm_arrays(n).items()}
    point = {**zeros, **family(given["family"], {"s": s, "o_1": o1})}
    values = exact_values(d, point, n)
    forget = chain_matrix(term_of(d, "f").operator, values)
    total = jacobian_matrix(d, values)
    t_norm, _ = exact_norm(forget)
    j_norm, how = exact_norm(total)
    closed = (s / 4 + sympy.sqrt(1 + s**2 / 16)) / 2
    family_ok = (
        same_matrix(forget, [[0, s / 4], [0, 0]])
        and t_norm is not None
        and sympy.simplify(t_norm - s / 4) == 0
        and same_matrix(total, [[sympy.Rational(1, 2), s / 4], [0, sympy.Rational(1, 2)]])
        and j_norm is not None
        # both sides positive: equal squares (SymPy does not denest the root)
        and sympy.simplify(sympy.expand(j_norm**2 - closed**2)) == 0
    )
    at_three = family_ok and sympy.simplify(j_norm.subs(s, 3) - 1) == 0
    rising = family_ok and sympy.diff(closed, s).is_positive is True
    u_f = matrix_tex(point["U_f"])
    text = (
        f"$U_f = {u_f}$, $W_f x_t + b_f = 0$, $c_{{t-1}} = (s, 0)$, $o_{{t-1}} = (o_1, 1)$, "
        "$U_i = U_c = 0$: $U_f h_{t-1} = 0$, so $f_t = (1/2, 1/2)$; the engine's term "
        f"$T_f = {matrix_tex(forget)}$, $||T_f|| = s/4$ with $||U_f|| = 1$; "
        f"$\\partial c_t/\\partial c_{{t-1}} = {matrix_tex(total)}$, of norm "
        f"$(s/4 + \\sqrt{{1 + s^2/16}})/2$ ({how}), 1 at s = 3 and increasing: above 1 for "
        "every s > 3"
    )
    stated = given["stated"]["f"]
    # ||T_f|| = s/4 exceeds c once s > 4c: "S(0)/4" is exceeded for s > S(0).
    threshold = stated.removesuffix("/4") if stated.endswith("/4") else f"4 \\cdot {stated}"
    if rec.require(family_ok and at_three and rising, text):
        # ||T_f|| = s/4 at ||U_f|| = 1: any stated constant c fails for s > 4c.
        rec.claim(
            False,
            f"$||c_{{t-1}} \\partial f_t/\\partial c_{{t-1}}|| \\le {stated} \\cdot ||U_f||$ for "
            "every value (the 1-D constant)",
            lambda: (
                f"n = 2, $U_f = {u_f}$ ($||U_f|| = 1$), $c_{{t-1}} = (s, 0)$, $o_{{t-1}} = "
                "(o_1, 1)$, $W_f x_t + b_f = 0$: $T_f = (s/4) E_{12}$, $||T_f|| = s/4$, above "
                f"${stated}$ for every $s > {threshold}$ and unbounded in $c_{{t-1}}$ "
                "(exact, every s, $o_1$)"
            ),
        )
    _minor_survivors(rec, d, ctx)
    rec.math += [
        "T_f &= \\text{diag}(c_{t-1} f_t (1 - f_t))\\, U_f\\, \\text{diag}(o_{t-1} (1 - "
        "\\tanh^2 c_{t-1}))",
        f"U_f = {display_matrix(point['U_f'])},\\ c_{{t-1}} = (s, 0):\\quad T_f &= "
        f"{display_matrix(forget)},\\quad ||T_f|| = \\frac{{s}}{{4}}",
    ]
    rec.summary = (
        "the forget term's 1-D constant $S(0)/4$ fails: $||T_f|| = s/4$ at $||U_f|| = 1$ (exact); "
        "$||T_i|| \\le ||U_i||/4$, $||T_c|| \\le ||U_c||$, $||T_f|| \\le ||c_{t-1}||_\\infty/4 "
        "\\cdot ||U_f||$ proved"
    )


def _minor_survivors(rec, d, ctx) -> None:
    """Each minor term diag(alpha) U diag(beta) is at most max|alpha| ||U|| max|beta|:
    the bounds its row and column factors give, read from the engine's terms."""
    ranges = value_ranges(d.cell)
    tex = LatexMath(d.cell).doprint
    lines, ok = [], True
    for t in d.terms:
        if t.dominant:
            continue
        row, column, _ = sides(t.operator)
        constant, unbounded = row_bound(row, ranges)
        columns_ok = all(is_gate(f, ranges) for f in column)
        ok = ok and columns_ok
        extra = "".join(f" \\text{{max}}_k |{tex(f)}|" for f in unbounded)
        lines.append(
            f"through ${d.cell.latex[t.via]}$: row factors "
            f"{', '.join(f'${tex(f)}$' for f in row)} give "
            f"${sympy.latex(constant)}{extra}$; column factors "
            f"{', '.join(f'${tex(f)}$' for f in column)} in $[0, 1]$"
        )
        for pair in t.pairs:
            rec.note(
                f"through ${d.cell.latex[t.via]}$: ${tex(pair[0])}$ is a row factor "
                f"and ${tex(pair[1])}$ a column factor: in 1-D they multiply one number "
                "(their product is within $S(0)$), in n-D different coordinates"
            )
    if rec.require(
        ok,
        "the engine's minor terms, $\\text{diag}(p) U_g \\text{diag}(q)$ with "
        "$||\\text{diag}(p) U \\text{diag}(q)|| \\le \\text{max}|p| \\cdot ||U|| "
        "\\cdot \\text{max}|q|$: " + "; ".join(lines),
    ):
        s0 = _saturation(ctx)
        rec.qualify(
            "$||T_i|| \\le ||U_i||/4$ and $||T_c|| \\le ||U_c||$ as in 1-D; "
            "$||T_f|| \\le ||c_{t-1}||_\\infty/4 \\cdot ||U_f||$ (sharp), and the 1-D "
            "$S(0)/4 \\cdot ||U_f||$ when $U_f$ is diagonal",
            "proved from the row and column factors above ($g (1 - g) \\le 1/4$: $1/4 - g(1 - g) "
            "= (g - 1/2)^2$); for a diagonal $U_f$ the term is $\\text{diag}(c_{t-1} (1 - "
            "\\tanh^2 c_{t-1}) f_t (1 - f_t) o_{t-1} U_{f,kk})$, each entry at most "
            f"$S(0)/4 \\cdot |U_{{f,kk}}|$, $S(0) \\in$ [{fixed(s0.interval[0], 7, 'down')}, "
            f"{fixed(s0.interval[1], 7, 'up')}] (certified); along a run from $c_0 = 0$, "
            "$|c_{t,k}| < t$ for $t \\ge 1$ ($c_t = f_t c_{t-1} + i_t \\hat{c}_t$ elementwise), so "
            "$||T_f|| \\le (t - 1)/4 \\cdot ||U_f||$ at step t: at most linear growth",
        )


# ---------------------------------------------------------------- Monte Carlo (both LSTM claims)


def _lstm_sample(seed: int, distribution: str, n: int, size: int, s0_hi: float) -> dict:
    """Counts over ``size`` seeded one-step derivatives of the LSTM at hidden size n.

    Weights W_g (n x n, m = n) and U_g with entries N(0, 1/n) (``"scaled"``) or
    N(0, 1) (``"unscaled"``); biases, x_t, c_{t-1} ~ N(0, 1); o_{t-1} ~ U(0, 1);
    h_{t-1} = o_{t-1} tanh c_{t-1} (the one-step convention)."""
    from .stats import rng_for
    from .threads import numeric_threads

    d, f = engine("lstm")
    vias = [t.via for t in d.terms]
    rng = rng_for(seed, f"lstm-nd {distribution} n={n}")
    sd = n**-0.5 if distribution == "scaled" else 1.0
    chunk = max(1, 409_600 // (n * n))  # ~3 MB per weight array
    with numeric_threads():
        return _lstm_counts(f, vias, rng, sd, n, size, chunk, s0_hi)


def _lstm_counts(f, vias, rng, sd, n, size, chunk, s0_hi) -> dict:
    import numpy as np

    counts = {"minor": 0, "norm": 0, "radius": 0, "forget": 0}
    medians = {"minor": [], "dominant": []}
    for start in range(0, size, chunk):
        b = min(chunk, size - start)
        arrays = {f"U_{g}": rng.normal(0.0, sd, (b, n, n)) for g in "fic"}
        arrays |= {f"W_{g}": rng.normal(0.0, sd, (b, n, n)) for g in "fic"}
        arrays |= {f"b_{g}": rng.normal(size=(b, n)) for g in "fic"}
        arrays |= {"x": rng.normal(size=(b, n)), "c_prev": rng.normal(size=(b, n))}
        arrays["o_prev"] = rng.uniform(size=(b, n))
        jac, terms = f(**arrays)
        dominant = np.abs(np.diagonal(terms[0], axis1=-2, axis2=-1)).max(-1)  # diag(f_t)
        minor = opnorm(jac - terms[0])
        counts["minor"] += int(np.count_nonzero(minor < dominant))
        counts["norm"] += int(np.count_nonzero(opnorm(jac) > 1))
        counts["radius"] += int(np.count_nonzero(np.abs(np.linalg.eigvals(jac)).max(-1) > 1))
        forget = opnorm(terms[vias.index("f")])
        counts["forget"] += int(np.count_nonzero(forget > s0_hi / 4 * opnorm(arrays["U_f"])))
        medians["minor"].append(minor)
        medians["dominant"].append(dominant)
    return counts | {f"median {k}": float(np.median(np.concatenate(v))) for k, v in medians.items()}


def _lstm_monte_carlo(ctx, given) -> dict:
    """(distribution, n) -> counts, each computed once per process."""
    s0_hi = _saturation(ctx).interval[1]
    out = {}
    for distribution in given["distributions"]:
        for n, size in given["sizes"].items():
            key = ("lstm-nd Monte Carlo", ctx.settings.seed, distribution, n, size, s0_hi)
            out[distribution, n] = memoised(
                key,
                lambda d=distribution, n=n, size=size: _lstm_sample(
                    ctx.settings.seed, d, n, size, s0_hi
                ),
            )
    return out


_DISTRIBUTIONS = {
    "scaled": "weights N(0, 1/n)",
    "unscaled": "weights N(0, 1)",
}
_MC_METHOD = "seeded Monte Carlo of the engine's n-D one-step derivative; Wilson intervals"


def _mc_header(rec, ctx, given) -> None:
    rec.note(
        f"seed {ctx.settings.seed}; per (distribution, n) a seeded stream; samples "
        + ", ".join(f"{size} at n = {n}" for n, size in given["sizes"].items())
        + " (the claim's own sizes, not --samples); $W_g$ (m = n) and $U_g$ entries "
        "N(0, 1/n) (scaled, the usual initialisation for hidden size n) or N(0, 1) "
        "(unscaled); biases, $x_t$ and $c_{t-1}$ each $\\sim N(0, 1)$; $o_{t-1} \\sim U(0, 1)$; "
        "$h_{t-1} = o_{t-1} \\tanh c_{t-1}$"
    )


@evidence_function("M", _MC_METHOD)
def minor_terms_nd_monte_carlo(rec, given, ctx):
    from .stats import wilson

    runs = _lstm_monte_carlo(ctx, given)
    _mc_header(rec, ctx, given)
    figures = {}
    for (distribution, n), c in runs.items():
        size = given["sizes"][n]
        forget = wilson(c["forget"], size, ctx.settings.confidence)
        smaller = wilson(c["minor"], size, ctx.settings.confidence)
        rec.note(
            f"{_DISTRIBUTIONS[distribution]}, n = {n}: $||T_f|| > S(0)/4 \\cdot ||U_f||$ (the "
            f"1-D constant exceeded) in {forget.text()}; $||T_f + T_i + T_c|| < "
            f"||\\text{{diag}}(f_t)||$ in {smaller.text()}"
        )
        figures[f"{distribution}, n = {n}"] = {
            "forget_above_1d_constant": forget.as_json(),
            "minor_smaller": smaller.as_json(),
        }
    rec.figures = figures
    worst = max(runs, key=lambda k: runs[k]["forget"] / given["sizes"][k[1]])
    rec.summary = (
        "the 1-D forget-term constant is exceeded in "
        f"{runs[worst]['forget'] / given['sizes'][worst[1]]:.3f} of samples "
        f"({_DISTRIBUTIONS[worst[0]]}, n = {worst[1]})"
    )


# ---------------------------------------------------------------- lstm-forget-dominant-nd


@evidence_function("S", "the engine's dominant term and the gate's range; the norm of a diagonal")
def forget_dominant_nd_exact(rec, given, ctx):
    d, _ = engine(given["cell"])
    ranges = value_ranges(d.cell)
    dom = d.dominant
    row, column, weight = sides(dom.operator)
    ok = weight is None and not column and all(is_gate(f, ranges) for f in row)
    shown = ", ".join(LatexMath(d.cell).doprint(f) for f in row)
    rec.claim(
        ok,
        f"the dominant term is $\\text{{diag}}({shown})$ with every entry a gate in (0, 1): "
        "$||\\text{diag}(f_t)|| = \\text{max}_k f_{t,k} < 1$ (a diagonal matrix's norm is its "
        "largest entry in absolute value): the dominant term cannot explode",
    )
    rec.math.append("||\\text{diag}(f_t)|| &= \\text{max}_k f_{t,k} < 1")
    rec.summary = "$||\\text{diag}(f_t)|| = \\text{max}_k f_{t,k} < 1$ for every value (proved)"


def _grouped(cases, shown=False) -> str:
    """ "weights N(0, 1/n) at n = 2, 8 and 64": cases grouped by distribution."""
    groups: dict = {}
    for where, x in cases:
        name, _, n = where.rpartition(", n = ")
        groups.setdefault(name, []).append(n + (f" ({x.text()})" if shown else ""))
    return "; ".join(f"{name} at n = {', '.join(ns)}" for name, ns in groups.items())


@evidence_function("M", _MC_METHOD)
def forget_dominant_nd_monte_carlo(rec, given, ctx):
    from .stats import wilson

    runs = _lstm_monte_carlo(ctx, given)
    _mc_header(rec, ctx, given)
    holds, fails, figures = [], [], {}
    for (distribution, n), c in runs.items():
        size = given["sizes"][n]
        conf = ctx.settings.confidence
        smaller = wilson(c["minor"], size, conf)
        norm, radius = wilson(c["norm"], size, conf), wilson(c["radius"], size, conf)
        where = f"{_DISTRIBUTIONS[distribution]}, n = {n}"
        decided = smaller.lo > given["most"] or smaller.hi < given["most"]
        rec.note(
            f"{where}: $||\\text{{minor terms}}|| < ||\\text{{diag}}(f_t)||$ in "
            f"{smaller.text()} of samples; $||\\partial c_t/\\partial c_{{t-1}}|| > 1$ in "
            f"{norm.text()}, its spectral radius $> 1$ in {radius.text()}; medians: "
            f"$||\\text{{minor}}||$ {show_number(c['median minor'], 3)}, $||\\text{{diag}}(f_t)||$ "
            f"{show_number(c['median dominant'], 3)}"
        )
        if not decided:
            rec.require(False, f"{where}: more than {given['most']:g} or not, at this size")
        (holds if smaller.lo > given["most"] else fails).append((where, smaller))
        figures[where] = {
            "minor_smaller": smaller.as_json(),
            "norm_above_1": norm.as_json(),
            "radius_above_1": radius.as_json(),
            "median_minor": c["median minor"],
            "median_dominant": c["median dominant"],
        }
    if fails:
        rec.qualify(
            "the minor terms are smaller than $||\\text{diag}(f_t)||$ in most samples with "
            + _grouped(holds)
            + "; not with "
            + _grouped(fails, shown=True),
            "the fraction depends on the weights' scale and on n: "
            + "; ".join(f"{w}: {x.text()}" for w, x in holds + fails),
        )
    largest = max((k for k in runs if k[0] == given["distributions"][0]), key=lambda k: k[1])
    share = runs[largest]["norm"] / given["sizes"][largest[1]]
    rec.caveats.append(
        f"The dominant term stays below 1, yet with {_DISTRIBUTIONS[largest[0]]} at "
        f"n = {largest[1]} the whole one-step norm exceeds 1 in {share:.3f} of samples: the "
        "largest gate grows with n ($||\\text{diag}(f_t)|| = \\text{max}_k f_{t,k}$), and a "
        "one-step norm above 1 is no sign of explosion in n-D (vanish-explode-nd)."
    )
    rec.figures = figures
    rec.summary = "; ".join(f"{w}: {x.value:.3f}" for w, x in holds + fails)


# ---------------------------------------------------------------- lstm-saturation-045-nd


@evidence_function("S", "the norm of a diagonal matrix, SymPy; the 1-D supremum per coordinate")
def saturation_nd_exact(rec, given, ctx):
    ds = sympy.symbols("d1:4", real=True)
    m = sympy.diag(*ds)
    gram = m.T * m
    ok = gram == sympy.diag(*(x**2 for x in ds))
    rec.claim(
        ok,
        "$||\\text{diag}(c_{t-1} (1 - \\tanh^2 c_{t-1}))|| = \\text{max}_k |c_{t-1,k}| (1 - "
        "\\tanh^2 c_{t-1,k})$: $M^T M$ of a diagonal M is diagonal with the squares of its "
        "entries (SymPy, n = 3 symbolic), and a diagonal matrix's eigenvalues are its entries; "
        "so the supremum over $c_{t-1}$ in $R^n$ is the 1-D $S(0)$, for every n",
    )
    d, _ = engine("lstm")
    tex = LatexMath(d.cell).doprint
    for t in d.terms:
        for row_factor, column_factor in t.pairs:
            rec.caveats.append(
                f"In the n-D LSTM derivative this factor is no longer one: the engine's term "
                f"through ${d.cell.latex[t.via]}$ has ${tex(row_factor)}$ as a row factor "
                f"and ${tex(column_factor)}$ as a column factor, so the constant bounds "
                "that term only for a diagonal $U_f$ (lstm-minor-terms-nd)."
            )
    rec.math.append(
        "\\sup_{c \\in R^n} ||\\text{diag}(c (1 - \\tanh^2 c))|| &= \\sup_{c \\in R} |c| "
        "(1 - \\tanh^2 c) = S(0)"
    )
    rec.summary = "the n-D norm is the largest coordinate's: the 1-D supremum for every n (proved)"


@evidence_function("C", "the 1-D certificate (symgrad bound lstm-saturation), per coordinate")
def saturation_nd_certified(rec, given, ctx):
    r = _saturation(ctx)
    lo, hi = r.interval
    interval = f"[{fixed(lo, 10, 'down')}, {fixed(hi, 10, 'up')}]"
    rec.claim(
        hi < given["bound"],
        f"$S(0) \\in$ {interval} $< {given['bound']:g}$ (certified, arb), for every n by the S "
        "evidence",
        None,
    )
    # "0.44774" stands for every number that rounds to it: within half its last digit.
    half = 0.5 * 10.0 ** -len(given["value"].partition(".")[2])
    rec.require(
        float(given["value"]) - half <= hi and float(given["value"]) + half >= lo,
        f"the stated {given['value']} lies within half a unit of its last digit of {interval}",
    )
    rec.figures = {"interval": [lo, hi]}
    rec.summary = f"certified {interval} $< {given['bound']:g}$, for every n"


@evidence_function("N", "SciPy differential evolution and L-BFGS-B at n = 2 and 3, seeded")
def saturation_nd_search(rec, given, ctx):
    import numpy as np

    r = _saturation(ctx)
    figures = {}
    for n in given["n"]:
        layout = Layout((("c", (n,), -given["box"], given["box"]),))

        def objective(arrays):
            c = arrays["c"]
            return np.abs(c * (1 - np.tanh(c) ** 2)).max(-1)

        label = f"lstm-saturation-045-nd n={n}"
        found = memoised(
            (label, ctx.settings.seed, given["box"]),
            lambda objective=objective, layout=layout, label=label: maximise(
                objective, layout, seeded(ctx, label), generations=30
            ),
        )
        figures[n] = found.value
        rec.require(
            found.value <= r.interval[1] * (1 + SEARCH_ROUNDING),
            f"n = {n}: largest $||\\text{{diag}}(c (1 - \\tanh^2 c))||$ found {found.value:.6f} "
            f"$\\le$ the certified {fixed(r.interval[1], 6, 'up')}",
        )
    rec.note(f"seed {ctx.settings.seed}; $c$ in $[-{given['box']:g}, {given['box']:g}]^n$")
    rec.figures = {"n": figures}
    rec.summary = "largest found: " + "; ".join(f"n = {n}: {v:.6f}" for n, v in figures.items())
