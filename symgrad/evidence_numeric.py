"""N, C, M and P evidence: the article's numbers against optima, proofs and samples.

Each function below is one piece of evidence (see :mod:`symgrad.evidence`):

- N: the SciPy optimum of a named bound (:mod:`symgrad.bounds`);
- C: the bound's certified interval, or ball arithmetic along seeded runs;
- M: seeded Monte Carlo figures with confidence intervals
  (:mod:`symgrad.montecarlo`, :mod:`symgrad.flow`);
- P: the article's terms against finite differences of the forward pass
  (:mod:`symgrad.check`).

Bounds and one-step Monte Carlo runs come from the run's
:class:`~symgrad.evidence.Context`, computed once and shared by every claim
that needs them. NumPy, SciPy and flint are imported inside the functions.
"""

from __future__ import annotations

import math
from dataclasses import replace

import sympy

from .cells import get_cell
from .certify import fixed, scientific
from .defaults import CHECK_SAMPLES
from .derivation import compose, derive
from .evidence import evidence_function, parse_stated, separating_point
from .primitives import ARB, evaluate

__all__ = [
    "clipping_certified",
    "decomposition_finite_differences",
    "forget_dominance_monte_carlo",
    "gru_spread_monte_carlo",
    "gru_state_certified",
    "long_horizon_monte_carlo",
    "lstm_saturation_certified",
    "lstm_saturation_optimum",
    "minor_term_worst_cases",
    "minor_terms_monte_carlo",
    "relu_optimum",
    "rnn_tanh_certified",
    "rnn_tanh_optimum",
    "state_gap_monte_carlo",
    "vanish_explode_monte_carlo",
]

# ---------------------------------------------------------------- helpers


def _fmt(x, digits: int = 4) -> str:
    """A number rounded to ``digits`` significant digits, so documents are reproducible."""
    x = float(x)
    if x == 0:
        return "0"
    if math.isinf(x):
        return "$\\infty$" if x > 0 else "$-\\infty$"
    text = f"{x:.{digits}g}"
    if "e" in text:  # -8.73e+03 as mathematics
        mantissa, exponent = text.split("e")
        return f"${mantissa} \\cdot 10^{{{int(exponent)}}}$"
    return text


def _within(x: float, tolerance: float) -> str:
    """A rounding-level error stated against its tolerance, in words that do not
    depend on the error's last digits (they differ between CPUs' exp and tanh):
    "below 1e-13 (tolerance 2.8e-13)", the decade under the tolerance, when the
    error is below it; else "within the tolerance" or "above the tolerance"."""
    if not math.isfinite(x) or x > tolerance:
        return f"{_sci(x)}, above the tolerance {_sci(tolerance)}"
    exponent = math.floor(math.log10(tolerance))
    if 10.0**exponent == tolerance:
        return f"below the tolerance {_sci(tolerance)}"
    if x < 10.0**exponent:
        return f"below 1e{exponent} (tolerance {_sci(tolerance)})"
    return f"within the tolerance {_sci(tolerance)}"


def _listed(values) -> str:
    """0.5, 2 and 5."""
    shown = [f"{x:g}" for x in values]
    return ", ".join(shown[:-1]) + f" and {shown[-1]}" if len(shown) > 1 else shown[0]


def _sci(x: float) -> str:
    """Two significant digits in scientific notation: 2.8e-13, 1e-6."""
    mantissa, _, exponent = f"{x:.1e}".partition("e")
    return f"{mantissa.removesuffix('.0')}e{int(exponent)}"


def _derivative_tex(cell_name: str, target: str, source: str) -> str:
    """``\\partial c_t/\\partial c_{t-1}``: the one-step derivative in the cell's names."""
    lat = get_cell(cell_name).latex
    return f"\\partial {lat[target]}/\\partial {lat[source]}"


def _quantity_tex(cell, quantity: str) -> str:
    """A row of symgrad check: the total, or the term through a value."""
    return "the total" if quantity == "total" else f"the term through ${cell.latex[quantity]}$"


def _one_step_tex(r) -> str:
    return _derivative_tex(r.cell, r.target, r.source)


# ---------------------------------------------------------------- N and C: bounds


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


def _agrees(text: str, lo: float, hi: float) -> bool:
    """The value the article states (rounded, as text) is consistent with [lo, hi]:
    within half a unit in its last written digit."""
    v, half = float(text), 0.5 * 10.0 ** -len(text.partition(".")[2])
    return lo <= v + half and hi >= v - half


def _stated_value(rec, r, text: str, what: str) -> None:
    """The value a claim states (rounded, as text) against the certified interval:
    consistent, or refuted by the interval itself (it excludes every number that
    rounds to the stated one)."""
    lo, hi = r.interval
    rec.claim(
        _agrees(text, lo, hi),
        f"{what} $\\in$ {_interval_text(r, 7)} (stated: {text})",
        lambda: f"{what} $\\in$ {_interval_text(r, 7)} (certified), at {_where(r)}: not {text}",
    )


def _where(r) -> str:
    """The maximiser, as math."""
    return f"${r.where_latex}$"


def _bound_name(r) -> str:
    params = ", ".join(f"{k} = {float(v):g}" for k, v in r.params.items())
    return f"`{r.name}`" + (f" (${params}$)" if params else "")


def _interval_text(r, digits: int = 10) -> str:
    """The certified interval with ``digits`` decimals, rounded outward: still an enclosure."""
    lo, hi = r.interval
    return f"[{fixed(lo, digits, 'down')}, {fixed(hi, digits, 'up')}]"


def _settle(rec, r, refuted=None) -> None:
    """Record a bound's checks: SciPy, closed form and identities must agree (else no
    verdict); each inequality is proved, refuted by the certified end printed, or
    undecided (no verdict). ``refuted(check)``, if given, records a refuted
    inequality instead (as a qualification, where the claim does not state it).

    A claim's detail is the certified end that decides it (arb: the same on every
    machine); SciPy's last digits are not, so an agreeing check prints its verdict only."""
    for check in r.checks:
        text = f"{_bound_name(r)}: {check.statement}: {check.verdict}"
        if check.kind != "claim":
            agrees = check.status == "pass"
            rec.require(agrees, text if agrees else f"{text} ({check.detail})")
        elif check.verdict == "refuted" and refuted is not None:
            refuted(check)
        else:
            rec.claim(
                check.verdict == "proved",
                f"{text} ({check.detail})",
                (lambda c=check: f"{c.detail}, at {_where(r)}")
                if check.verdict == "refuted"
                else None,
            )


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

    def headline(self, name: str, **params):
        """The bound whose figures the evidence carries (JSON: value, argmax, interval)."""
        r = self(name, **params)
        self.rec.figures = _bound_figures(r)
        return r


_SCIPY = "SciPy: dense grid, then L-BFGS-B from the best point (symgrad bound)"
_CERTIFIED = "arb interval arithmetic, branch and bound, tail lemma (symgrad bound)"


@evidence_function("N", _SCIPY)
def rnn_tanh_optimum(rec, given, ctx):
    bound = _Meter(ctx, rec, "scipy_seconds")
    s0 = bound.headline("rnn-tanh", a=0, h=1)
    rec.require(
        _agrees(given["S0"], s0.value, s0.value),
        f"$S(0)$ = {s0.value:.5f} at $|v|$ = {abs(s0.argmax['v']):.4f} (article: {given['S0']})",
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
    rec.summary = (
        f"$S(0)$ = {s0.value:.5f} at $|v|$ = {abs(s0.argmax['v']):.4f}; "
        f"$S(a) \\le |a| + S(0)$ checked at $a$ = {_listed(given['a'])}"
    )


@evidence_function("C", _CERTIFIED)
def rnn_tanh_certified(rec, given, ctx):
    bound = _Meter(ctx, rec, "certificate_seconds")
    s0 = bound.headline("rnn-tanh", a=0, h=1)
    _stated_value(rec, s0, given["S0"], "$S(0)$")
    rows = []
    for a in given["a"]:
        r = bound("rnn-tanh", a=a, h=1)
        rows.append(_bound_figures(r))
        rec.note(f"$S({a:g}) \\in$ {_interval_text(r, 7)}")
        _settle(rec, r)
    rec.figures["bounds"] = rows
    small = bound("rnn-tanh", a=given["a"][0], h=given["h"][-1])
    rec.caveats.append(
        f"At $h_{{t-1}} = {given['h'][-1]:g}$ the supremum is already at least "
        f"{fixed(small.interval[0], 3, 'down')} (certified): the bound grows like "
        "$1/|h_{t-1}|$."
    )
    rec.summary = (
        f"$S(0) \\in$ {_interval_text(s0, 9)}; $S(a) \\le |a| + S(0)$ and "
        f"$S(a) \\le (|a| + \\sqrt{{1 + a^2}})/2$ certified at $a$ = {_listed(given['a'])} "
        "(for every $a$: the S evidence)"
    )


@evidence_function("N", _SCIPY + "; the certificate proves $\\sup \\ge L$")
def relu_optimum(rec, given, ctx):
    bound = _Meter(ctx, rec, "scipy_seconds")
    rows = []
    for big_l in given["L"]:
        r = bound("rnn-relu", L=big_l)
        rows.append(_bound_figures(r))
        rec.require(
            r.value >= big_l * (1 - 1e-12) and r.proved,
            f"$\\sup_{{|U| \\le {big_l:g}}} |\\partial h_t/\\partial h_{{t-1}}|$ = "
            f"{r.value:g} (SciPy), certified {_interval_text(r, 3)}",
        )
    rec.figures = {**rows[-1], "bounds": rows}
    rec.summary = f"$\\sup_{{|U| \\le L}} = L$ checked at $L$ = {_listed(given['L'])}"


@evidence_function("C", _CERTIFIED)
def clipping_certified(rec, given, ctx):
    bound = _Meter(ctx, rec, "certificate_seconds")
    r = bound.headline("clipping")
    rec.note(
        f"$\\sup_{{|U| \\le 1}} |\\partial h_t/\\partial h_{{t-1}}| \\in$ "
        f"{_interval_text(r, 6)}; SciPy: {r.value:g} at {_argmax_text(r, 3)}"
    )
    _settle(rec, r)
    rec.summary = f"certified $\\sup \\in$ {_interval_text(r, 6)}, $\\le {given['bound']:g}$"


@evidence_function("N", _SCIPY)
def lstm_saturation_optimum(rec, given, ctx):
    bound = _Meter(ctx, rec, "scipy_seconds")
    r = bound.headline("lstm-saturation")
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
                check.status == "pass",
                "third witness: the root $c^*$ of $2 c \\tanh c = 1$ gives "
                f"$S(0) = c^* - 1/(4 c^*)$, inside the certified interval ({check.verdict})",
            )
    rec.summary = f"$\\sup$ = {r.value:.5f} at $|c_{{t-1}}|$ = {c_star:.4f}"


@evidence_function("C", _CERTIFIED)
def lstm_saturation_certified(rec, given, ctx):
    bound = _Meter(ctx, rec, "certificate_seconds")
    r = bound.headline("lstm-saturation")
    lo, hi = r.interval
    rec.claim(
        hi < given["bound"],
        f"$\\sup_c |(1 - \\tanh^2 c)\\,c| \\in$ {_interval_text(r)}: hi $< {given['bound']:g}$",
        (
            lambda: (
                f"$\\text{{lo}} = {fixed(lo, 10, 'down')} \\ge {given['bound']:g}$, at {_where(r)}"
            )
        )
        if lo >= given["bound"]
        else None,
    )
    _stated_value(rec, r, given["value"], "the supremum")
    for f in r.factors:
        if f.tail:
            rec.note(f"tail lemma: {f.tail}")
    rec.note(f"width {r.width:.1e}, {r.subdivisions} subdivisions")
    rec.math.append(
        "\\sup_c \\big|(1 - \\tanh^2 c)\\,c\\big| &\\in "
        f"{_interval_text(r)} \\subset (0, {given['bound']:g})"
    )
    rec.summary = f"certified {_interval_text(r, 9)} $< {given['bound']:g}$"


@evidence_function("C", _CERTIFIED)
def minor_term_worst_cases(rec, given, ctx):
    bound = _Meter(ctx, rec, "certificate_seconds")
    rows = []
    for name, value in given["worst"].items():
        r = bound(name)
        rows.append(_bound_figures(r))
        _stated_value(rec, r, value, f"{_bound_name(r)}: worst case / $|U_g|$")
        _settle(rec, r, refuted=lambda check, r=r: _not_compressed(rec, r, check))
    s0 = bound("lstm-saturation")
    forget = bound("lstm-forget-term")
    rec.require(
        forget.interval[0] <= s0.interval[1] / 4 and forget.interval[1] >= s0.interval[0] / 4,
        "the forget term's worst case is $S(0)/4$: $f(1 - f) \\le 1/4$ times the "
        "saturation constant",
    )
    rec.figures = {**rows[0], "bounds": rows}
    rec.summary = "worst case $/ |U_g| \\le$ " + ", ".join(
        f"{r['bound'].removeprefix('lstm-').removesuffix('-term')} "
        f"{fixed(r['interval'][1], 4, 'up')}"
        for r in rows
    )


def _not_compressed(rec, r, check) -> None:
    """A refuted "compressed uniformly" (sup < 1) qualifies the article's "compressed"."""
    reached = "approached (not attained)" if "→" in r.where else "attained"
    rec.qualify(
        f"`{r.name}`: compressed typically, not uniformly ($\\sup |T|/|U| \\ge "
        f"{fixed(r.interval[0], 4, 'down')}$)",
        f"{_bound_name(r)}: {check.statement}: refuted, {check.detail}: the supremum of "
        f"$|T|/|U|$ is {reached} at {_where(r)}: no constant below 1 bounds every value",
    )


# ---------------------------------------------------------------- C: ball arithmetic along runs


#: Ball precisions tried in turn: tanh(u) is 1 - 2e^{-2|u|} to within a ball
#: only when the precision exceeds ~2.9|u| bits.
_ARB_BITS = (256, 1024, 4096)


@evidence_function("C", "ball arithmetic (arb, 256 to 4096 bits as needed) along seeded runs")
def gru_state_certified(rec, given, ctx):
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
    n_runs = runs * len(given["scales"])
    rec.require(
        not failed,
        f"{certified_steps} of {total} steps of `{cell.name}` from $h_0 = 0$ ({n_runs} seeded "
        f"runs of {steps} steps, {runs} per weight scale "
        f"{', '.join(str(s) for s in given['scales'])}): at every step of these runs the ball "
        f"certifies $|h_t| < 1$ (up to {precision} bits); every $t$ and every parameter value: "
        "the S evidence" + (f"; not certified: {', '.join(failed)}" if failed else ""),
    )
    rec.note(f"smallest certified $1 - |h_t|$: {scientific(closest, 2, 'down')}")
    if at_one:
        rec.qualify(
            "in exact arithmetic; in float64 only $|h_t| \\le 1$",
            f"in float64 the same runs give $|h_t| = 1$ exactly at {at_one} of "
            f"{certified_steps} steps (tanh rounds to 1): only $|h_t| \\le 1$ holds in "
            "floating point",
        )
    rec.figures = {
        "steps_certified": certified_steps,
        "smallest_margin": closest,
        "float64_steps_at_1": at_one,
        "bits": precision,
    }
    rec.summary = (
        f"$|h_t| < 1$ certified at the {certified_steps} steps of {n_runs} seeded runs; float64 "
        f"gives $|h_t| = 1$ at {at_one}"
    )


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


# ---------------------------------------------------------------- M: Monte Carlo


def _one_step_lines(r) -> list:
    """The required Monte Carlo figures of one cell, as detail lines."""
    lines = [
        f"`{r.cell}`, ${_one_step_tex(r)}$: {r.n} samples, seed {r.seed}; "
        f"distribution: {r.distribution}",
        f"|dominant term| ${r.dominant_latex}$: {_summary_text(r.dominant)}",
    ]
    if r.minor is not None:
        lines.append(f"|sum of minor terms|: {_summary_text(r.minor)}")
        lines.append(f"fraction |minor terms| > |dominant term|: {r.minor_outweighs.text()}")
    else:
        lines.append("no minor terms: the derivative is one term")
    lines.append(f"fraction $|{_one_step_tex(r)}| > 1$: {r.exceeds_one.text()}")
    if r.kink:
        lines.append(
            "$[h_t > 0]$ is relu' at the pre-activation $u = W x_t + U h_{t-1} + b$; relu is not "
            "differentiable at $u = 0$, where relu'(0) is taken as 0: a set of probability 0 "
            "under the sampled distributions ($u$ is a continuous random variable)"
        )
    return lines


def _one_step(rec, ctx, name: str):
    """The run's one-step Monte Carlo of cell ``name``, its figures noted in ``rec``."""
    r = ctx.one_step(name)
    for line in _one_step_lines(r):
        rec.note(line)
    return r


def _summary_text(s) -> str:
    parts = [f"mean {s.mean.text()}"]
    parts += [f"p{p} {e.text()}" for p, e in s.percentiles.items()]
    return "; ".join(parts)


_ONE_STEP_METHOD = (
    "one-step derivatives at seeded points: Wilson intervals on fractions, "
    "normal intervals on means"
)


@evidence_function("M", _ONE_STEP_METHOD)
def vanish_explode_monte_carlo(rec, given, ctx):
    cells = given["cells"]
    rec.figures["cells"] = {}
    vanishing = []
    for name in cells:
        r = _one_step(rec, ctx, name)
        rec.figures["cells"][name] = r.as_json()
        near = r.near_one
        rec.require(
            near.hi < given["near_one_at_most"],
            f"`{name}`: fraction with $||{_one_step_tex(r)}| - 1| < 0.01$: "
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
                f"mean $\\log|{_one_step_tex(r)}|$ = {geo.text()}: a product of "
                "independent steps "
                f"{direction} like exp({_fmt(geo.value, 3)} t)"
            )
        rec.require(ok, f"`{name}`: {drift}")
    rec.summary = (
        f"{len(vanishing)}/{len(cells)} cells' one-step products drift to 0 "
        f"(seed {ctx.settings.seed}, n = {ctx.settings.samples})"
    )


@evidence_function("M", "seeded Monte Carlo, compared sample by sample; Wilson intervals")
def minor_terms_monte_carlo(rec, given, ctx):
    r = _one_step(rec, ctx, "lstm")
    rec.figures = r.as_json()
    latex = get_cell(r.cell).latex
    for via, smaller in r.smaller.items():
        term = f"|T_{{{latex[via]}}}|"
        rec.require(
            smaller.lo > given["most"],
            f"${term} < |{r.dominant_latex}|$ at the same point in {smaller.text()} of "
            f"samples (typically: more than {given['most']:g}); $T_v$ the term through $v$",
        )
        comp = r.compression.get(via)
        if comp is not None:
            rec.note(
                f"compression ${term}/|U|$: median "
                f"{comp.percentiles[50].text()}, p99 {comp.percentiles[99].text()}"
            )
    rec.caveats.append(
        f"In {r.exceeds_one.text()} of samples $|{_one_step_tex(r)}| > 1$ ({r.distribution})."
    )
    rec.summary = (
        f"$|T_v| < |{r.dominant_latex}|$ in "
        + ", ".join(f"{_fmt(v.value, 3)} (${latex[k]}$)" for k, v in r.smaller.items())
        + " of samples"
    )


@evidence_function("M", "seeded Monte Carlo, Wilson interval")
def forget_dominance_monte_carlo(rec, given, ctx):
    from .stats import wilson

    r = _one_step(rec, ctx, "lstm")
    rec.figures = r.as_json()
    dominant = f"${get_cell(r.cell).latex[given['dominant']]}$"
    k = r.minor_outweighs.k
    smaller = wilson(r.n - k, r.n, ctx.settings.confidence)
    rec.require(
        smaller.lo > given["most"],
        f"fraction $|\\text{{minor terms}}| <$ {dominant}: {smaller.text()} (claimed: more than "
        f"{given['most']})",
    )
    rec.figures["minor_smaller_than_f"] = smaller.as_json()
    summary = f"$|\\text{{minor terms}}| <$ {dominant} in {smaller.text()}"
    if ctx.settings.forget_bias != 1.0:
        r1 = ctx.one_step("lstm", forget_bias=1.0)
        s1 = wilson(r1.n - r1.minor_outweighs.k, r1.n, ctx.settings.confidence)
        rec.note(
            f"with forget bias $b_f = 1$: fraction $|\\text{{minor terms}}| <$ {dominant} "
            f"{s1.text()}; "
            f"fraction $|{_one_step_tex(r1)}| > 1$ {r1.exceeds_one.text()}"
        )
        rec.figures["forget_bias_1"] = {
            "minor_smaller_than_f": s1.as_json(),
            "abs_derivative_exceeds_1": r1.exceeds_one.as_json(),
        }
        summary += f"; $b_f = 1$: {s1.text()}"
    rec.summary = summary


# Both sides are float64 products of the same factors: T = 1 agrees to a few ulp.
_T1_TOLERANCE = 1e-10


@evidence_function("M", "seeded trajectories, finite differences, Wilson intervals")
def state_gap_monte_carlo(rec, given, ctx):
    from .montecarlo import FD_TOLERANCE, state_gap

    rec.figures["cells"] = {}
    parts = []
    for name in given["cells"]:
        r = _one_step(rec, ctx, name)
        g = state_gap(name, ctx.settings)
        rec.figures["cells"][name] = {"one_step": r.as_json(), "gap": g.as_json()}
        rec.note(
            f"`{name}`: {g.n} trajectories, seed {g.seed}, parameters fixed per trajectory, "
            f"inputs $\\sim N(0, 1)$; initial "
            + ", ".join(f"${get_cell(name).latex[v]} \\sim U(0, 1)$" for v in g.held)
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
                f"`{name}`, $T = {t}$: relative gap $|\\text{{exact}} - \\text{{product}}|/"
                f"|\\text{{exact}}|$ median "
                f"{g.gap[t].percentiles[50].text()}, p90 {g.gap[t].percentiles[90].text()}; "
                f"above 1%: {g.off[t].text()}"
            )
        t2 = g.horizons[1]
        rec.require(g.off[t2].lo > 0, f"`{name}`: the gap is visible from T = {t2} on")
        last = g.horizons[-1]
        parts.append(f"{name} T={last}: median gap {_fmt(g.gap[last].percentiles[50].value, 2)}")
    rec.summary = "; ".join(parts)


@evidence_function("M", "seeded Monte Carlo, order-statistic and Wilson intervals")
def gru_spread_monte_carlo(rec, given, ctx):
    cells = [given["cell"], given["than"], *given["context"]]
    rec.figures["cells"] = {}
    results = {}
    for name in cells:
        r = results[name] = _one_step(rec, ctx, name)
        rec.figures["cells"][name] = r.as_json()
        rec.note(
            f"`{name}`: spread $q_{{0.99}} - q_{{0.01}}$ of ${_one_step_tex(r)}$ "
            f"{r.spread.text()} ($q_{{0.01}}$ {r.p1.text()}, $q_{{0.99}}$ {r.p99.text()}); "
            f"standard deviation {_fmt(r.std, 3)}"
        )
    rec.math.append(
        "\\text{spread} &= q_{0.99} - q_{0.01} \\text{ of the one-step derivative over the samples}"
    )
    a, b = results[given["cell"]], results[given["than"]]
    rec.require(
        a.spread.lo > b.spread.hi,
        f"spread: {a.cell} {a.spread.text()} > {b.cell} {b.spread.text()}",
    )
    rec.require(
        a.exceeds_one.lo > b.exceeds_one.hi,
        f"fraction $|\\text{{derivative}}| > 1$: {a.cell} {a.exceeds_one.text()} > {b.cell} "
        f"{b.exceeds_one.text()}",
    )
    rec.summary = (
        f"spread {_fmt(a.spread.value, 3)} vs {_fmt(b.spread.value, 3)}; "
        f"$P(|\\text{{derivative}}| > 1)$ {a.exceeds_one.value:.3f} vs "
        f"{b.exceeds_one.value:.3f}"
    )


def _vanish_text(r) -> str:
    return f"step {r.vanish_step}" if r.vanish_step is not None else "not within the run"


@evidence_function(
    "M",
    "exact state-Jacobian products along seeded trajectories (symgrad flow); Student-t "
    "interval on the mean log growth, Wilson intervals on fractions",
)
def long_horizon_monte_carlo(rec, given, ctx):
    from .flow import run_flow
    from .sampling import describe
    from .stats import wilson

    s = ctx.settings

    def run(name, forget_bias):
        return run_flow(
            name,
            steps=ctx.steps,
            samples=ctx.flow_samples,
            seed=s.seed,
            init=s.init,
            forget_bias=forget_bias,
        )

    def fraction(x: float):
        n = ctx.flow_samples
        return wilson(round(x * n), n, s.confidence)

    rec.figures["cells"] = {}
    rates, exploding = [], []
    for name in given["cells"]:
        r = run(name, s.forget_bias)
        rec.figures["cells"][name] = r.to_json()
        last = r.checkpoints[-1]
        median = r.median_at(last)
        gone, blown = fraction(r.vanish_fraction), fraction(r.explode_fraction)
        zero = fraction(r.zero_fraction)
        figures = (
            f"median $\\log_{{10}} |\\partial s_{{{last}}}/\\partial s_0|$ = "
            f"{_fmt(median, 3)}; median below $10^{{-8}}$ from {_vanish_text(r)}; below "
            f"$10^{{-8}}$ at $T$ in {gone.text()} of samples"
            + (f" (exactly 0 in {zero.text()})" if zero.k else "")
            + f", above $10^8$ in {blown.text()}"
        )
        lo, hi = r.lyapunov_ci
        defined = r.zero_fraction == 0 and math.isfinite(r.lyapunov)
        if not defined:
            rate = (
                f"no Lyapunov exponent: the gradient is exactly 0 in {zero.text()} of samples, "
                "so the mean of $\\ln|\\text{gradient}|$ is $-\\infty$ and no interval means "
                "anything; median "
                f"rate {_fmt(r.lyapunov_median, 3)} per step"
            )
        else:
            rate = (
                f"Lyapunov exponent {_fmt(r.lyapunov, 3)} [{_fmt(lo, 3)}, {_fmt(hi, 3)}] per step"
            )
        rec.require(
            (hi if defined else r.lyapunov_median) < given["rate_below"],
            f"`{name}`: {rate} (below {given['rate_below']:g}); {figures}",
        )
        if r.explode_fraction > 0:
            exploding.append(f"`{name}` in {blown.text()}")
        if r.article is not None:
            a = r.article
            rec.note(
                f"`{name}`: the article's product of one-step "
                f"${_derivative_tex(name, a.target, a.source)}$ decays at "
                f"{_fmt(a.lyapunov_article, 3)} per step, the exact entry at "
                f"{_fmt(a.lyapunov_exact, 3)} (means over samples)"
            )
        rates.append((name, r.lyapunov_median, r.vanish_step))
    rec.note(
        f"{ctx.flow_samples} trajectories of {ctx.steps} steps per cell, seed {s.seed}; "
        f"{describe(s.init, s.forget_bias, dim=1)}; the exact product of state "
        "Jacobians, in log space"
    )
    for bias in given["lstm_forget_biases"]:
        # A forget bias b pushes f_t towards sigma(b): the regime where the
        # article says the LSTM keeps its gradient longest.
        r = run("lstm", bias)
        rec.figures["cells"][f"lstm, forget bias {bias:g}"] = r.to_json()
        lo, hi = r.lyapunov_ci
        rec.require(
            hi < given["rate_below"],
            f"`lstm` with $b_f = {bias:g}$: Lyapunov exponent {_fmt(r.lyapunov, 3)} "
            f"[{_fmt(lo, 3)}, {_fmt(hi, 3)}] per step; median below $10^{{-8}}$ from "
            f"{_vanish_text(r)}",
        )
        rates.append((f"`lstm` ($b_f = {bias:g}$)", r.lyapunov_median, r.vanish_step))
    if exploding:
        rec.qualify(
            "the gradient decays in the typical (median) trajectory of every cell, not in "
            "every trajectory: above $10^8$ at the last step for " + "; ".join(exploding),
            "every cell's median rate is negative, but some trajectories explode: above $10^8$ "
            "at the last step for " + "; ".join(exploding) + " of trajectories",
        )
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
    rec.summary = (
        "median rate per step: "
        + "; ".join(f"{n if n.startswith('`') else f'`{n}`'} {_fmt(x, 2)}" for n, x, _ in rates)
        + ("; explode: " + ", ".join(e.split(" in ")[0] for e in exploding) if exploding else "")
    )


# ---------------------------------------------------------------- P: finite differences


def _certified_mismatch(d, stated, comparison):
    """Finite differences are no proof: a term (or total) they find off is certified
    off at their worst point, in ball arithmetic, against the raw derivative
    (SymPy's diff of the cell's composed definitions: for a term through v,
    d target/d v times d v/d source), or not at all (None)."""
    cell, source = d.cell, d.cell.symbol(d.source)
    target = cell.equation(d.target).rhs
    if comparison.quantity == "total":
        claimed = sympy.Add(*(t.expr for t in stated.terms))
        raw = sympy.diff(compose(cell, d.carry, cell.symbol(d.target)), source)
    else:
        via = cell.symbol(comparison.quantity)
        claimed = next(t.expr for t in stated.terms if t.via == comparison.quantity)
        path = 1 if via == source else sympy.diff(compose(cell, d.carry, via), source)
        raw = compose(cell, d.carry, sympy.diff(target, via)) * path
    return separating_point(
        cell,
        d.carry,
        claimed,
        raw,
        points=[comparison.worst_point] if comparison.worst_point else (),
        labels=("the statement", "the raw derivative"),
    )


@evidence_function(
    "P", "the article's terms against finite differences of the forward pass (symgrad check)"
)
def decomposition_finite_differences(rec, given, ctx):
    from .check import compare_derivatives

    cell = get_cell(given["cell"])
    d = derive(cell)
    # The statement as a derivation: the engine's term split and chain-rule
    # pieces, each term's expression replaced by the article's (0 where the
    # article has no such term), so finite differences judge the article.
    claimed = {via: parse_stated(cell, text) for via, text in given["terms"].items()}
    stated = replace(
        d, terms=tuple(replace(t, expr=claimed.get(t.via, sympy.Integer(0))) for t in d.terms)
    )
    s = ctx.settings
    points = CHECK_SAMPLES
    report = compare_derivatives(
        stated, samples=points, seed=s.seed, init=s.init, forget_bias=s.forget_bias
    )
    missing = sorted(set(claimed) - {t.via for t in d.terms})
    rec.require(
        not missing,
        "every stated term has a chain-rule path"
        + (f" (none for {', '.join(missing)})" if missing else ""),
    )
    for c in report.comparisons:
        rec.claim(
            c.passed,
            f"{_quantity_tex(cell, c.quantity)}: largest relative error "
            f"{_within(c.max_rel_error, c.tolerance)}",
            lambda c=c: _certified_mismatch(d, stated, c),
        )
    rec.note(f"{points} points, seed {s.seed}; {report.distribution}")
    rec.note(f"tolerance: {report.tolerance_reason}")
    rec.figures = {
        "method": report.method,
        "points": points,
        "seed": s.seed,
        "max_rel_error": report.max_rel_error,
        "tolerance": report.tolerance,
        "passed": report.passed,
    }
    rec.summary = f"{report.method}: every term within tolerance at {points} points"
    if not report.passed:
        rec.summary = f"{report.method}: a term is off ({report.max_rel_error:.1e})"
