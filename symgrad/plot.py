"""Pictures: the gradient flow over many steps, a network's Lyapunov
spectrum, and a bound's supremum.

matplotlib is the optional extra ``symgrad[plot]``; it is imported when a
plot is drawn, never at start-up, and drawn on a bare ``Figure`` (no pyplot,
no global backend switch). Files are reproducible byte for byte on one
matplotlib version: SVG with a fixed hash salt for its ids and no date, PNG
with no software stamp.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

from .text import plain

__all__ = ["PLOT_FORMATS", "PlotError", "plot_bound", "plot_flow", "plot_spectrum"]

#: Formats a plot can be written in, by file suffix.
PLOT_FORMATS = (".png", ".svg")
#: The salt of the ids matplotlib writes into an SVG (random by default).
SVG_HASH_SALT = "symgrad"


class PlotError(ValueError):
    """The plot cannot be drawn: matplotlib missing, or an unknown file suffix."""


def _figure(path, size):
    """A bare matplotlib Figure for ``path``; PlotError for a suffix other than
    .png or .svg, or when matplotlib is missing."""
    suffix = Path(path).suffix.lower()
    if suffix not in PLOT_FORMATS:
        raise PlotError(f"cannot plot to {str(path)!r}: the file must end in .png or .svg")
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise PlotError(
            "plotting needs matplotlib, which is not installed: pip install 'symgrad[plot]'"
        ) from None
    return Figure(figsize=size, layout="constrained")


def _save(figure, path) -> None:
    """Write ``figure`` so that the same figure gives the same bytes: no date
    or software stamp, the SVG's ids salted with a constant."""
    import matplotlib

    suffix = Path(path).suffix.lower()
    metadata = {"Date": None} if suffix == ".svg" else {"Software": None}
    with matplotlib.rc_context({"svg.hashsalt": SVG_HASH_SALT}):
        figure.savefig(path, format=suffix[1:], metadata=metadata)


# ---------------------------------------------------------------- gradient flow


def plot_flow(results, path) -> list[str]:
    """Draw ``results`` (:class:`symgrad.flow.FlowResult` s) to ``path`` (.png or .svg).

    Per cell: the median of log10 |d s_t/d s_0| over samples as a line and the
    10-90% band shaded, in the cell's own colour; axes labelled, a legend
    naming each cell with its Lyapunov exponent. A quantile that is exactly
    0 (log -inf: a ReLU gone silent) is drawn at the bottom of the plot, the
    median's steps marked there with triangles. Each median line carries the
    SVG id ``median-CELL``. Returns the cell names in drawing order. Raises
    :class:`PlotError` if matplotlib is missing or the suffix is not .png/.svg.
    """
    figure = _figure(path, (8, 5))
    axes = figure.subplots()
    finite = [
        v
        for r in results
        for key in ("low", "median", "high")
        for v in r.curve[key]
        if math.isfinite(v)
    ]
    # Where "exactly 0" is drawn: a margin below every finite value.
    floor = (min(finite) - 0.05 * (max(finite) - min(finite) or 1.0)) if finite else -1.0
    for k, r in enumerate(results):
        colour = f"C{k % 10}"
        steps = r.curve["steps"]
        low, median, high = (_floored(r.curve[key], floor) for key in ("low", "median", "high"))
        axes.fill_between(steps, low, high, color=colour, alpha=0.2, linewidth=0)
        label = f"{r.cell} (λ = {r.lyapunov:.3g} per step)"
        zeros = [t for t, m in zip(steps, r.curve["median"], strict=True) if m == -math.inf]
        if zeros:
            label = f"{r.cell} (median exactly 0 from step {zeros[0]:,}, drawn at the bottom)"
        (line,) = axes.plot(
            steps, median, color=colour, label=label, marker="" if len(steps) > 1 else "o"
        )
        line.set_gid(f"median-{r.cell}")
        if zeros:
            (marks,) = axes.plot(
                zeros,
                [floor] * len(zeros),
                linestyle="",
                marker="v",
                color=colour,
                markersize=4,
                markevery=max(1, len(zeros) // 40),
            )
            marks.set_gid(f"zero-{r.cell}")
    settings = results[0].settings
    axes.set_xlabel("step t")
    axes.set_ylabel("log10 |d s_t / d s_0|  (median, 10-90% band)")
    axes.set_title(
        f"Gradient flow: {settings['samples']:,} samples, hidden size {settings['dim']}, "
        f"seed {settings['seed']}, init {settings['init']}"
    )
    axes.grid(True, alpha=0.3)
    axes.legend(loc="best")
    _save(figure, path)
    return [r.cell for r in results]


def _floored(values, floor: float) -> list[float]:
    """An exactly zero gradient (log -inf) at ``floor``; nan (undefined) left out."""
    return [floor if v == -math.inf else v for v in values]


# ---------------------------------------------------------------- a Lyapunov spectrum


def plot_spectrum(results, path) -> list[str]:
    """Draw the Lyapunov spectra ``results`` (:class:`symgrad.network.NetworkSpectrum`
    s) to ``path`` (.png or .svg): each exponent against its index, one line per
    cell with its confidence band, and 0 (neither growth nor decay) as a line.
    Raises :class:`PlotError` as :func:`plot_flow`."""
    figure = _figure(path, (8, 5))
    axes = figure.subplots()
    for r in results:
        index = list(range(1, len(r.spectrum.mean) + 1))
        axes.plot(
            index, _finite(r.spectrum.mean), marker=".", label=f"{r.cell.name} (n = {r.hidden})"
        )
        low, high = (_finite(r.spectrum.ci[:, j]) for j in (0, 1))
        if all(math.isfinite(v) for v in low + high):
            axes.fill_between(index, low, high, alpha=0.2, linewidth=0)
    axes.axhline(0.0, color="grey", linewidth=0.8)
    axes.set_xlabel("exponent index k")
    axes.set_ylabel("Lyapunov exponent (natural log of growth per step)")
    axes.grid(True, alpha=0.3)
    axes.legend(loc="best")
    _save(figure, path)
    return [r.cell.name for r in results]


def _finite(values) -> list[float]:
    # An undefined exponent (nan, inf) is left out of the line rather than drawn.
    return [v if math.isfinite(v) else math.nan for v in values]


# ---------------------------------------------------------------- a bound

#: Points along each variable of a bound's plot.
BOUND_POINTS = 801


def plot_bound(result, path) -> list[str]:
    """Draw the bound ``result`` (a :class:`symgrad.suprema.BoundResult` of
    :func:`symgrad.bounds.compute_bound`) to ``path`` (.png or .svg): the
    function whose supremum it is, against each of its variables in turn
    (the others held at the maximiser: a slice through it), the SciPy
    maximiser marked, the certified supremum [lo, hi] as a band and each
    claimed bound on the supremum as a dashed line. Byte for byte the same
    file for the same result. Returns the variables plotted, in order;
    raises :class:`PlotError` if matplotlib is missing or the suffix is not
    .png/.svg."""
    figure = _figure(path, (8, 5))
    import numpy as np

    from .bounds import BOUNDS, check_params
    from .text import interval_text

    problem = BOUNDS[result.name].build(check_params(result.name, result.params))
    if result.infimum is not None:  # a range (symgrad.extrema): both ends
        return _plot_range(figure, problem, result, path, np)
    part = max(problem.parts, key=lambda p: _grid_max(p, result, np))
    variables = sorted(part.domains, key=lambda v: v.name)
    panels = figure.subplots(1, len(variables), squeeze=False, sharey=True)[0]
    lo, hi = result.interval
    shown_lo, shown_hi = interval_text(lo, hi)
    claims = _claims(problem, part, result)
    for k, (axes, v) in enumerate(zip(panels, variables, strict=True)):
        xs, ys = _slice(part, v, result, np)
        axes.plot(xs, ys, color="C0", label=_function_label(problem, part) if k == 0 else None)
        axes.axhspan(lo, hi, color="C2", alpha=0.35, linewidth=0)
        axes.axhline(
            result.value,
            color="C2",
            linewidth=1.0,
            label=f"certified sup in [{shown_lo}, {shown_hi}]" if k == 0 else None,
        )
        at = _at(part, result)
        if v.name in at:
            axes.plot([at[v.name]], [result.value], "o", color="C2", markersize=4)
        for n, (value, statement) in enumerate(claims):
            axes.axhline(
                value,
                color=f"C{3 + n}",
                linestyle="--",
                linewidth=1.2,
                label=f"claimed: {statement}" if k == 0 else None,
            )
        axes.set_xlabel(_variable_name(problem, part, v))
        axes.grid(True, alpha=0.3)
    panels[0].set_ylabel("value")
    title = textwrap.fill(f"symgrad bound {result.name}: {plain(result.quantity)}", 100)
    figure.suptitle(title, fontsize=9)
    figure.legend(loc="outside lower center", ncols=1, fontsize=8)
    _save(figure, path)
    return [v.name for v in variables]


def _plot_range(figure, problem, result, path, np) -> list[str]:
    """A range's function (signed) over its variable, each certified end a
    band, each claim about an end a dashed line."""
    from .primitives import NUMPY, evaluate
    from .text import interval_text

    v = problem.variable
    axes = figure.subplots()
    ends = [(result.value, result.interval, result.argmax, "sup")]
    ends.append((result.infimum.value, result.infimum.interval, result.infimum.argmax, "inf"))
    centre = max(abs(at.get(v.name, 0.0)) for _, _, at, _ in ends)
    reach = max(4.0, 1.5 * centre + 1.0)
    xs = np.linspace(-reach, reach, BOUND_POINTS)
    with np.errstate(all="ignore"):
        ys = evaluate(problem.expr, {v: xs}, NUMPY) * np.ones_like(xs)
    axes.plot(xs, ys, color="C0", label=_mathtext(*_printed(problem, problem.expr)))
    for k, (value, (lo, hi), at, end) in enumerate(ends):
        shown = interval_text(lo, hi)
        colour = f"C{2 + k}"
        axes.axhspan(lo, hi, color=colour, alpha=0.35, linewidth=0)
        axes.axhline(
            value, color=colour, linewidth=1.0, label=f"certified {end} in [{shown[0]}, {shown[1]}]"
        )
        if v.name in at:
            axes.plot([at[v.name]], [value], "o", color=colour, markersize=4)
    for n, (_, ineq) in enumerate(problem.claims):
        check = next((c for c in result.checks if c.statement.startswith(ineq.statement)), None)
        verdict = f" ({check.verdict})" if check else ""
        axes.axhline(
            float(ineq.rhs),
            color=f"C{4 + n}",
            linestyle="--",
            linewidth=1.2,
            label=f"claimed: {plain(ineq.statement)}{verdict}",
        )
    axes.set_xlabel(_mathtext(*_printed(problem, v)))
    axes.set_ylabel("value")
    axes.grid(True, alpha=0.3)
    title = textwrap.fill(f"symgrad bound {result.name}: {plain(result.quantity)}", 100)
    figure.suptitle(title, fontsize=9)
    figure.legend(loc="outside lower center", ncols=1, fontsize=8)
    _save(figure, path)
    return [v.name]


def _printed(problem, expr, names=None) -> tuple[str, str]:
    """(LaTeX, text) of ``expr`` with the cell's names and ``names`` (default:
    the problem's own)."""
    from .suprema import printers

    text, latex = printers(problem.cell, problem.names if names is None else names)
    return latex.doprint(expr), text.doprint(expr)


def _at(part, result) -> dict:
    """The maximiser in the part's own variables (before any change of variable)."""
    return {k: float(x) for k, x in result.argmax.items()}


def _function(part, np):
    """|scale * expr| of ``part`` as a NumPy function of its variables."""
    from .primitives import NUMPY, evaluate

    variables = sorted(part.domains, key=lambda v: v.name)
    scale = float(abs(part.scale))

    def f(**values):
        env = {v: np.asarray(values[v.name], dtype=float) for v in variables}
        with np.errstate(all="ignore"):
            return scale * np.abs(evaluate(part.expr, env, NUMPY))

    return f


def _range(domain, centre: float) -> tuple[float, float]:
    """Where to draw a variable: its domain where finite, else out to 4 or
    beyond the maximiser ``centre``, either side of 0."""
    lo = None if domain.lo is None else float(domain.lo)
    hi = None if domain.hi is None else float(domain.hi)
    reach = max(4.0, 1.5 * abs(centre) + 1.0)
    return (-reach if lo is None else lo, reach if hi is None else hi)


def _slice(part, v, result, np):
    at = _at(part, result)
    centre = at.get(v.name, 0.0)
    a, b = _range(part.domains[v], centre)
    xs = np.linspace(a, b, BOUND_POINTS)
    point = {
        w.name: np.full_like(xs, at.get(w.name, _middle(part.domains[w]))) for w in part.domains
    }
    point[v.name] = xs
    return xs, _function(part, np)(**point)


def _middle(domain) -> float:
    lo = 0.0 if domain.lo is None else float(domain.lo)
    hi = lo if domain.hi is None else float(domain.hi)
    return (lo + hi) / 2


def _grid_max(part, result, np) -> float:
    """The part's largest value along its slices: which part attains the sup."""
    return max(float(np.nanmax(_slice(part, v, result, np)[1])) for v in part.domains)


def _claims(problem, part, result) -> list[tuple[float, str]]:
    """(value, statement) of each claimed bound on the plotted supremum: the
    numbers the result's inequalities compare it with."""
    from fractions import Fraction

    out = []
    for ineq, check in zip(problem.inequalities, result.checks, strict=False):
        if ineq.lhs is not None and ineq.lhs.expr != part.expr:
            continue  # a bound on another quantity
        exact = isinstance(ineq.rhs, Fraction)
        value = float(ineq.rhs) if exact else _rhs_value(problem, ineq)
        if ineq.lhs is not None:
            value *= float(abs(part.scale)) / float(abs(ineq.lhs.scale))
        out.append((value, f"{plain(check.statement)} ({check.verdict})"))
    return out


def _rhs_value(problem, ineq) -> float:
    """An inequality's bound that is a formula in other suprema (S(0) ...):
    each supremum certified, the formula evaluated in ball arithmetic."""
    from dataclasses import replace

    from flint import arb

    from .suprema import solve

    def enclose(part):
        r = solve(replace(problem, parts=(part,), inequalities=()), 1e-9, name="", params={})
        lo, hi = r.interval
        return arb(lo).union(arb(hi))

    return float(ineq.rhs(enclose).mid())


def _mathtext(latex: str, text: str) -> str:
    """``$latex$`` where matplotlib's mathtext can set it, else ``text``."""
    from matplotlib.mathtext import MathTextParser

    try:
        MathTextParser("path").parse(f"${latex}$")
    except ValueError:
        return text
    return f"${latex}$"


def _function_label(problem, part) -> str:
    latex, text = _printed(problem, part.expr, part.names)
    scale = "" if part.scale == 1 else f"{part.scale}"
    return _mathtext(rf"{scale}\left|{latex}\right|", f"{scale + ' ' if scale else ''}|{text}|")


def _variable_name(problem, part, v) -> str:
    return _mathtext(*_printed(problem, v, part.names))
