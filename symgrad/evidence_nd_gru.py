"""Evidence for the GRU's claims in n dimensions.

The counterpart of :mod:`symgrad.evidence_nd` for the GRU: its state (every
coordinate stays in (-1, 1); the 2-norm does not), its reset factor
:math:`R = \\partial(r_t \\odot h_{t-1})/\\partial h_{t-1}` (the engine's factor right
of U_h in the term through the candidate) and its gate counts against the
LSTM's. NumPy, SciPy and flint are imported inside the functions.
"""

from __future__ import annotations

from fractions import Fraction

import sympy

from . import lemmas
from .certify import significant
from .evidence import evidence_function
from .evidence_nd import (
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
    proved,
    seeded,
)
from .evidence_nd_lstm import row_bound, term_of
from .linear import Chain, matrix_bearing, sides
from .ndsearch import (
    Layout,
    engine,
    exact_values,
    maximise,
    memoised,
    opnorm,
    point_json,
    rationalise,
    show_number,
    show_point,
)
from .ranges import value_ranges
from .render import LatexMath
from .vecexact import chain_matrix, exact_norm

__all__ = [
    "fewer_gates_nd_exact",
    "fewer_gates_nd_search",
    "gru_state_nd_exact",
    "gru_state_nd_search",
    "reset_nd_exact",
    "reset_nd_search",
]


# ---------------------------------------------------------------- gru-bounded-state-nd


def _gru_layout(d, n: int, steps: int, box: float) -> Layout:
    """Every recurrent weight and bias of a GRU-type cell in [-box, box], inputs
    x_1..x_T in [-box, box]^n, input weights the identity (m = n)."""
    import numpy as np

    entries, held = [], []
    for name in d.cell.params:
        if d.vcell.columns.get(name) == "n":
            entries.append((name, (n, n), -box, box))
        elif d.vcell.columns.get(name) == "m":
            held.append((name, np.eye(n)))
        else:
            entries.append((name, (n,), -box, box))
    entries += [(f"x_{t + 1}", (n,), -box, box) for t in range(steps)]
    return Layout(tuple(entries), tuple(held))


def _run_state(d, arrays: dict, n: int, steps: int, make_values):
    """h_T from h_0 = 0 (``make_values(env)`` evaluates one step in some arithmetic)."""
    h_sym = d.cell.symbol("h")
    env = {k: v for k, v in arrays.items() if not k.startswith("x_")}
    h = None
    for t in range(steps):
        env = {**env, "x": arrays[f"x_{t + 1}"], "h_prev": env.get("h_prev", h)}
        h = make_values(env).value(h_sym)
        env["h_prev"] = h
    return h


def _state_search(ctx, given, cell: str, n: int, order):
    import numpy as np

    from .vecnumeric import Values

    d, _ = engine(cell)
    steps = given["T"]
    layout = _gru_layout(d, n, steps, given["box"])

    def objective(arrays):
        batch = len(next(iter(arrays.values())))
        start = {**arrays, "h_prev": np.zeros((batch, n))}
        h = _run_state(d, start, n, steps, lambda env: Values(d.vcell, {}, env))
        return np.linalg.norm(h, order, axis=-1)

    label = f"gru-bounded-state-nd {cell} n={n} order={order}"
    found = memoised(
        (label, ctx.settings.seed, given["box"], steps),
        lambda: maximise(objective, layout, seeded(ctx, label), generations=30),
    )
    return found, layout, d


def _ball_state(d, point: dict, n: int, steps: int) -> tuple:
    """(largest upper end of |h_T,k|, smallest upper end of 1 - |h_T,k| taken as a
    lower bound of the margin, bits) in balls, raising precision until decided."""
    from flint import ctx as arb_ctx

    from .vecexact import BALL, VectorValues, to_ball

    for bits in (256, 1024, 4096):
        with arb_ctx.workprec(bits):
            env = {k: to_ball(v) for k, v in point.items()}
            env["h_prev"] = to_ball([0] * n)
            h = _run_state(d, env, n, steps, lambda e: VectorValues(d.vcell, {}, e, BALL, n))
            margins = [1 - abs(x) for x in h]
            if all(m > 0 for m in margins):
                return min(float(m.lower()) for m in margins), bits
    return None, bits


@evidence_function(
    "N",
    SEARCH_METHOD.replace(
        "through the vector engine's numeric()",
        "through T steps of the vector engine's forward pass",
    ),
)
def gru_state_nd_search(rec, given, ctx):
    import numpy as np

    rec.note(
        f"seed {ctx.settings.seed}; from $h_0 = 0$, {given['T']} steps; every recurrent weight, "
        f"bias and input in $[-{given['box']:g}, {given['box']:g}]$ entrywise, input weights "
        "the identity; the largest $||h_T||_\\infty$ and $||h_T||_2$"
    )
    figures = {}
    for cell in given["cells"]:
        for n in given["n"]:
            found, layout, d = _state_search(ctx, given, cell, n, np.inf)
            point = rationalise(layout, found.x, 6)
            margin, _ = _ball_state(d, point, n, given["T"])
            rec.claim(
                margin is not None,
                f"`{cell}`, n = {n}: largest $||h_T||_\\infty$ found {show_number(found.value, 6)} "
                "in float64 "
                "(to six digits: the search drives tanh and the gates to saturation); at its point "
                "on the grid 1/64 the balls certify $||h_T||_\\infty < 1$",
                None,
            )
            two, _, _ = _state_search(ctx, given, cell, n, 2)
            rec.note(
                f"`{cell}`, n = {n}: largest $||h_T||_2$ found {show_number(two.value, 6)} "
                "(above 1; "
                f"$\\sqrt{{n}}$ = {show_number(np.sqrt(n), 6)})"
            )
            figures[f"{cell} (n = {n})"] = {"inf_norm": found.value, "two_norm": two.value}
    rec.figures = figures
    rec.summary = (
        "largest $||h_T||_\\infty$ found: 1 to six digits in float64, certified $< 1$ at its "
        "point; "
        "$||h_T||_2$ up to $\\sqrt{n}$"
    )


@evidence_function("S", "the update read with vectors is elementwise; the 1-D lemma per coordinate")
def gru_state_nd_exact(rec, given, ctx):
    from .linear import MatVec

    ok = True
    for cell in given["lemma_cells"]:
        d, _ = engine(cell)
        rhs = d.vcell.rhs[d.cell.symbol("h")]
        elementwise = not rhs.atoms(MatVec)
        ok = (
            rec.require(
                elementwise,
                f"`{cell}`: $h_t$'s equation has no weight: coordinate k of $h_t$ is the 1-D "
                "update of $h_{t-1,k}$ with the gate and candidate values of coordinate k",
            )
            and ok
        )
        rec.note(f"lemma: {lemmas.convex_step(d.cell).statement}")
        ok = proved(rec, lemmas.convex_step(d.cell)) and ok
    rec.claim(
        ok,
        "with $h_0 = 0$, every coordinate of $h_t$ stays in $(-1, 1)$: $||h_t||_\\infty < 1$ "
        "for every t, every n, every parameter value and input (exact arithmetic)",
    )
    # The 2-norm reading: z = h_hat = q at U = W = 0.
    d, _ = engine("gru")
    q = family(given["family"], {})
    for n in given["n"]:
        point = {name: [[0] * n for _ in range(n)] for name in d.cell.params if name[0] in "UW"}
        point |= {name: [0] * n for name in d.cell.params if name[0] == "b"}
        point |= {"b_z": [q["b_z"]] * n, "b_h": [q["b_h"]] * n, "x": [0] * n, "h_prev": [0] * n}
        values = exact_values(d, point, n)
        h1 = [sympy.simplify(x.rewrite(sympy.exp)) for x in values.value(d.cell.symbol("h"))]
        norm2 = sympy.sqrt(sum(x**2 for x in h1))
        rec.note(
            f"the 2-norm reading fails: n = {n}, $U = W = 0$, $b_z = {sympy.latex(q['b_z'])}$, "
            f"$b_h = {sympy.latex(q['b_h'])}$ give $z_1 = \\hat{{h}}_1 = 9/10$ and $h_1 = "
            f"{matrix_tex(h1)}$ (exact), $||h_1||_2 = {sympy.latex(norm2)} \\approx "
            f"{float(norm2):.4f}$"
        )
    rec.note(
        "in the 2-norm only $||h_t||_2 \\le \\sqrt{n} \\cdot ||h_t||_\\infty < \\sqrt{n}$ holds, "
        "and it is sharp: $z_1 = \\hat{h}_1 = q$ gives $||h_1||_2 = q^2 \\sqrt{n} \\to \\sqrt{n}$ "
        "as $q \\to 1$"
    )
    rec.math.append("|h_{t,k}| &\\le (1 - z_{t,k}) |h_{t-1,k}| + z_{t,k} |\\hat{h}_{t,k}| < 1")
    rec.summary = (
        "$||h_t||_\\infty < 1$ for every t and n (proved, coordinatewise); $||h_t||_2$ exceeds "
        "1 (sharp bound $\\sqrt{n}$)"
    )


# ---------------------------------------------------------------- gru-reset-factor-nd


def _reset_chain(d) -> Chain:
    """R = d(r_t h_{t-1})/dh_{t-1}: the engine's term through h_hat right of U_h."""
    factors = term_of(d, "h_hat").operator.factors
    first = next(k for k, f in enumerate(factors) if matrix_bearing(f))
    return Chain(sympy.Integer(1), factors[first + 1 :])


def _gru_arrays(d, n: int) -> dict:
    import numpy as np

    out = {}
    for name in d.cell.params:
        kind = d.vcell.columns.get(name)
        out[name] = np.zeros((n, n) if kind == "n" else (n, 1) if kind == "m" else (n,))
    return out | {"x": np.zeros(1)}


def _reset_bound(ctx):
    """M(0): the largest |value| of the 1-D reset factor at a_r = 0 (certified range)."""
    r = bound(ctx, "gru-reset-factor", a_r=0)
    inf = r.infimum.value
    return r, max(abs(r.interval[1]), abs(inf))


@evidence_function("N", SEARCH_METHOD)
def reset_nd_search(rec, given, ctx):
    import numpy as np

    from .vecnumeric import Values, chain_value

    d, _ = engine("gru")
    chain = _reset_chain(d)
    _, big_m = _reset_bound(ctx)
    rec.note(
        f"seed {ctx.settings.seed}; $R = \\partial(r_t h_{{t-1}})/\\partial h_{{t-1}}$, the "
        "engine's factor right of $U_h$ in the term through $\\hat{h}_t$; $W_r x_t + b_r = 0$, "
        "fixed $h_{t-1}$, $U_r$ entrywise in $[-L, L]$"
    )
    figures = {}
    for n in given["n"]:
        h = [float(Fraction(x)) for x in given["h"][n]]
        held = {k: v for k, v in _gru_arrays(d, n).items() if k != "U_r"}
        held["h_prev"] = np.asarray(h)
        row = []
        for big_l in given["L"]:
            layout = Layout((("U_r", (n, n), -big_l, big_l),), tuple(held.items()))

            def objective(arrays, n=n):
                return opnorm(chain_value(chain, Values(d.vcell, d.carry, arrays), n))

            label = f"gru-reset-factor-nd n={n} L={big_l:g}"
            found = memoised(
                (label, ctx.settings.seed, tuple(h)),
                lambda objective=objective, layout=layout, label=label: maximise(
                    objective, layout, seeded(ctx, label)
                ),
            )
            row.append((big_l, found, layout))
        big_l, found, layout = row[-1]
        point, grid, certified = certify_point(
            layout, found.x, lambda p, n=n: certified_norm(d, p, n, chain)
        )
        rec.note(
            f"n = {n}, $h_{{t-1}}$ = ({', '.join(given['h'][n])}): largest $||R||$ found "
            + ", ".join(f"{show_number(f.value, 4)} (L = {x:g})" for x, f, _ in row)
        )
        rec.claim(
            found.value <= big_m * (1 + SEARCH_ROUNDING),
            f"n = {n}: $||R|| \\le$ {significant(big_m, 5, 'up')}, the 1-D factor's largest "
            "absolute value at $a_r = 0$ (symgrad bound gru-reset-factor), searched",
            lambda point=point, grid=grid, certified=certified, n=n, big_l=big_l: (
                (
                    f"n = {n}, at {show_point(point, ('U_r', 'h_prev'))} ($W_r x_t + b_r = 0$; "
                    f"the search's point at L = {big_l:g}, grid {grid}): $||R|| \\ge$ "
                    f"{significant(certified, 4, 'down')} (arb balls)"
                )
                if point is not None and certified > big_m
                else None
            ),
        )
        figures[n] = {f"{x:g}": f.value for x, f, _ in row} | {
            "certified": certified,
            "point": point_json(point, ("U_r", "h_prev")),
        }
    rec.figures = {"n": figures, "one_d_largest": big_m}
    last = f"{given['L'][-1]:g}"
    rec.summary = "largest $||R||$ grows with the box: " + "; ".join(
        f"n = {n}: {show_number(v[last], 4)} at L = {last}" for n, v in figures.items()
    )


@evidence_function("S", EXACT_METHOD)
def reset_nd_exact(rec, given, ctx):
    s = sympy.Symbol("s", positive=True)
    d, _ = engine("gru")
    chain = _reset_chain(d)
    n = 2
    zeros = {k: v.tolist() for k, v in _gru_arrays(d, n).items()}
    fam = family(given["family"], {"s": s})
    point = {**zeros, **fam}
    values = exact_values(d, point, n)
    reset = chain_matrix(chain, values)
    norm, how = exact_norm(reset)
    slope = _slope(reset, s)
    ok = norm is not None and slope is not None and slope.is_positive
    text = (
        f"n = 2, $h_{{t-1}} = {matrix_tex(fam['h_prev'])}$, $W_r x_t + b_r = 0$, $U_r(s) = "
        f"{matrix_tex(fam['U_r'])}$: $U_r(s) h_{{t-1}} = 0$, so $r_t = (1/2, 1/2)$; the engine's "
        f"$R = {matrix_tex(reset)}$, $||R||$ in closed form ({how}), "
        f"$||R||/s \\to ||dR/ds|| = {sympy.latex(slope)}$"
    )
    if rec.require(ok, text):
        rec.claim(
            False,
            "for fixed $a_r = W_r x_t + b_r$ and $h_{t-1} \\ne 0$ the reset factor is bounded in "
            "$U_r$ (as in 1-D)",
            lambda: (
                f"n = 2, $h_{{t-1}} = {matrix_tex(fam['h_prev'])}$, $a_r = 0$, $U_r(s) = "
                f"{matrix_tex(fam['U_r'])}$: $R = {matrix_tex(reset)}$, $||R||/s \\to "
                f"{sympy.latex(slope)}$: $||R|| \\to \\infty$ (exact, every s > 0)"
            ),
        )
    # The whole one-step derivative along the family: U_z = 0, U_h = I.
    full = {**point, "U_h": [[1, 0], [0, 1]]}
    jac = jacobian_matrix(d, exact_values(d, full, n))
    j_slope = _slope(jac, s)
    if j_slope is not None:
        rec.note(
            f"with also $U_z = 0$, $U_h = I$, every bias 0: $\\partial h_t/\\partial h_{{t-1}} = "
            f"{matrix_tex(jac)}$, $||\\cdot||/s \\to$ {float(j_slope):.4f} (exact limit, "
            "the norm of the s-coefficient): the one-step derivative is unbounded in $U_r$ too"
        )
    _reset_along_h(rec, d, chain, ctx)
    rec.math.append(f"U_r(s) = {display_matrix(fam['U_r'])}:\\quad R &= {display_matrix(reset)}")
    rec.summary = (
        f"$||R||$ grows like {float(slope):.4f} s along $U_r(s)$ orthogonal to $h_{{t-1}}$ "
        "(exact); along $h_{t-1}$ the 1-D bound holds (proved)"
        if ok
        else "the family did not check"
    )


def _slope(matrix, s):
    """lim ||M(s)||/s for M affine in s: ||dM/ds|| (||M(s)/s - dM/ds|| = ||M(0)||/s -> 0),
    in closed form; None if M is not affine in s or the norm has no closed form."""
    slope = [[sympy.diff(x, s) for x in row] for row in matrix]
    if any(sympy.diff(x, s) != 0 for row in slope for x in row):
        return None
    norm, _ = exact_norm(slope)
    return None if norm is None else sympy.simplify(norm)


def _reset_along_h(rec, d, chain, ctx) -> None:
    """R h = r h (1 + (1 - r)(p - a_r)) coordinatewise, p = a_r + U_r h (symbolic, n = 2)."""
    n = 2
    us = sympy.symbols("u1:5", real=True)
    h = sympy.symbols("h1:3", real=True)
    a = sympy.symbols("a1:3", real=True)
    point = {k: v.tolist() for k, v in _gru_arrays(d, n).items()}
    point |= {"U_r": [list(us[:2]), list(us[2:])], "b_r": list(a), "h_prev": list(h)}
    values = exact_values(d, point, n)
    reset = chain_matrix(chain, values)
    p = [a[k] + us[2 * k] * h[0] + us[2 * k + 1] * h[1] for k in range(n)]
    r = [1 / (1 + sympy.exp(-x)) for x in p]
    along = [reset[k][0] * h[0] + reset[k][1] * h[1] for k in range(n)]
    claimed = [r[k] * h[k] * (1 + (1 - r[k]) * (p[k] - a[k])) for k in range(n)]
    ok = all(sympy.simplify(along[k] - claimed[k]) == 0 for k in range(n))
    _, big_m = _reset_bound(ctx)
    if rec.require(
        ok,
        "the engine's $R h_{t-1} = r_t h_{t-1} (1 + (1 - r_t)(p - a_r))$ coordinatewise, "
        "$p = a_r + U_r h_{t-1}$ (symbolic entries, n = 2): coordinate k is $h_{t-1,k}$ times "
        "the 1-D reset factor at $a_{r,k}$ with $U_r h_{t-1} = p_k - a_{r,k}$",
    ):
        rec.qualify(
            "along $h_{t-1}$: $||R h_{t-1}|| \\le \\text{max}_k M(a_{r,k}) ||h_{t-1}||$, $M$ "
            "the largest absolute value of the 1-D reset factor's certified range ($M(0) \\le$ "
            f"{significant(big_m, 5, 'up')}); in other directions $R$ is unbounded in $U_r$",
            "proved: each coordinate of $R h_{t-1}$ is bounded by the 1-D range (symgrad bound "
            "gru-reset-factor, certified over all of R)",
        )


# ---------------------------------------------------------------- gru-fewer-gates-nd


def _gate_sides(d, via: str) -> tuple:
    t = term_of(d, via)
    return len(t.row_gates), len(t.column_gates), t.gate_count_1d


@evidence_function("S", "the engine's vector terms: row and column gates; an exact example")
def fewer_gates_nd_exact(rec, given, ctx):
    gru, _ = engine(given["cell"])
    lstm, _ = engine(given["than"])
    same_counts, lines = True, []
    for via, matches in given["match"].items():
        g_row, g_col, g_1d = _gate_sides(gru, via)
        same_counts = same_counts and g_row + g_col == g_1d
        for other in matches:
            l_row, l_col, l_1d = _gate_sides(lstm, other)
            same_counts = same_counts and l_row + l_col == l_1d
            lines.append(
                f"${gru.cell.latex[via]}$ term {g_row} row + {g_col} column vs "
                f"${lstm.cell.latex[other]}$ term {l_row} row + {l_col} column: "
                f"{l_row + l_col - g_row - g_col} fewer"
            )
    rec.require(
        same_counts,
        "the n-D gate counts equal the 1-D ones, term by term: " + "; ".join(lines),
    )
    alpha = [sympy.Rational(Fraction(x)) for x in given["alpha"]]
    beta = [sympy.Rational(Fraction(x)) for x in given["beta"]]
    e12 = [[0, 1], [0, 0]]
    term = [[alpha[i] * e12[i][j] * beta[j] for j in range(2)] for i in range(2)]
    norm, _ = exact_norm(term)
    paired = max(a * b for a, b in zip(alpha, beta, strict=True))
    if rec.require(
        norm is not None and norm > paired,
        f"$p = {matrix_tex(alpha)}$ (row gates), $q = {matrix_tex(beta)}$ (column "
        f"gates), $U = E_{{12}}$: $||\\text{{diag}}(p) U \\text{{diag}}(q)|| = "
        f"{sympy.latex(norm)}$, while $\\text{{max}}_k p_k q_k = {sympy.latex(paired)}$ "
        "(exact): gates on opposite sides of $U$ do not compound",
    ):
        rec.qualify(
            "the gate counts carry over to n-D, but a count no longer bounds a term: "
            "$||\\text{diag}(p) U \\text{diag}(q)||$ is at most $\\text{max}|p| \\cdot "
            "||U|| \\cdot \\text{max}|q|$, and this bound is sharp: row and column gates count "
            "apart",
            "in 1-D every gate multiplies the one number; in n-D a row gate and a column gate "
            "multiply different coordinates (the example above); the LSTM's forget term, with "
            "more gates, is unbounded in $c_{t-1}$ (lstm-minor-terms-nd), while the GRU's "
            "update term stays within $||U_z||/2$ (the search beside this)",
        )
    rec.math.append(
        "||\\text{diag}(p)\\, U\\, \\text{diag}(q)|| &\\le \\text{max}_k |p_k| "
        "\\cdot ||U|| \\cdot \\text{max}_j |q_j|"
    )
    rec.summary = "counts as in 1-D; row and column gates do not compound in n-D"


@evidence_function("N", SEARCH_METHOD)
def fewer_gates_nd_search(rec, given, ctx):
    import numpy as np

    d, _ = engine(given["cell"])
    index = [t.via for t in d.terms].index("z")
    ranges = value_ranges(d.cell)
    row, _, _ = sides(d.terms[index].operator)
    constant, unbounded = row_bound(row, ranges)
    rec.require(
        not unbounded,
        f"the update-gate term's row factors "
        f"{', '.join(f'${LatexMath(d.cell).doprint(f)}$' for f in row)} "
        f"are bounded: $||T_z|| \\le {sympy.latex(constant)} \\cdot ||U_z||$ (proved)",
    )
    rec.note(
        f"seed {ctx.settings.seed}; $U_z$ entrywise in $[-1, 1]$, $h_{{t-1}}$ in $[-1, 1]^n$, "
        "biases in $[-3, 3]^n$, other weights 0"
    )
    figures = {}
    for n in given["n"]:
        held = {k: v for k, v in _gru_arrays(d, n).items() if k not in ("U_z", "b_z", "b_h")}
        entries = [
            ("U_z", (n, n), -1.0, 1.0),
            ("b_z", (n,), -3.0, 3.0),
            ("b_h", (n,), -3.0, 3.0),
            ("h_prev", (n,), -1.0, 1.0),
        ]
        found, _, _ = box_search(
            ctx,
            "gru-fewer-gates-nd",
            given["cell"],
            n,
            entries,
            tuple(held.items()),
            lambda jac, terms, arrays: opnorm(terms[index]) / opnorm(arrays["U_z"]),
            {
                "U_z = 11^T, h = 1": {
                    "U_z": np.ones((n, n)),
                    "b_z": np.zeros(n),
                    "b_h": np.full(n, -3.0),
                    "h_prev": np.ones(n),
                }
            },
        )
        figures[n] = found.value
        rec.require(
            found.value <= float(constant) * (1 + SEARCH_ROUNDING),
            f"n = {n}: largest $||T_z||/||U_z||$ found {show_number(found.value, 4)} $\\le "
            f"{sympy.latex(constant)}$",
        )
    rec.figures = {"n": figures}
    rec.summary = "largest $||T_z||/||U_z||$: " + "; ".join(
        f"n = {n}: {show_number(v, 4)}" for n, v in figures.items()
    )
