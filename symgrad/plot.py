"""The gradient-flow plot: log10 |d s_t/d s_0| against t, one colour per cell.

matplotlib is the optional extra ``symgrad[plot]``; it is imported when a
plot is drawn, never at start-up, and drawn on a bare ``Figure`` (no pyplot,
no global backend switch).
"""

from __future__ import annotations

import math
from pathlib import Path

__all__ = ["PlotError", "plot_flow", "plot_spectrum"]

#: Formats a plot can be written in, by file suffix.
PLOT_FORMATS = (".png", ".svg")


class PlotError(ValueError):
    """The plot cannot be drawn: matplotlib missing, or an unknown file suffix."""


def plot_flow(results, path) -> list[str]:
    """Draw ``results`` (:class:`symgrad.flow.FlowResult` s) to ``path`` (.png or .svg).

    Per cell: the median of log10 |d s_t/d s_0| over samples as a line and the
    10-90% band shaded, in the cell's own colour; axes labelled, a legend
    naming each cell with its Lyapunov exponent. Each median line carries the
    SVG id ``median-CELL``. Returns the cell names in drawing order. Raises
    :class:`PlotError` if matplotlib is missing or the suffix is not .png/.svg.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in PLOT_FORMATS:
        raise PlotError(f"cannot plot to {str(path)!r}: the file must end in .png or .svg")
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise PlotError(
            "plotting needs matplotlib, which is not installed: pip install 'symgrad[plot]'"
        ) from None

    figure = Figure(figsize=(8, 5), layout="constrained")
    axes = figure.subplots()
    for k, r in enumerate(results):
        colour = f"C{k % 10}"
        steps = r.curve["steps"]
        low, median, high = (_finite(r.curve[key]) for key in ("low", "median", "high"))
        axes.fill_between(steps, low, high, color=colour, alpha=0.2, linewidth=0)
        label = f"{r.cell} (λ = {r.lyapunov:.3g} per step)"
        zero = next(
            (t for t, m in zip(steps, r.curve["median"], strict=True) if m == -math.inf), None
        )
        if zero is not None:
            label = f"{r.cell} (median exactly 0 from step {zero:,})"
        (line,) = axes.plot(
            steps, median, color=colour, label=label, marker="" if len(steps) > 1 else "o"
        )
        line.set_gid(f"median-{r.cell}")
    settings = results[0].settings
    axes.set_xlabel("step t")
    axes.set_ylabel("log10 |d s_t / d s_0|  (median, 10-90% band)")
    axes.set_title(
        f"Gradient flow: {settings['samples']:,} samples, hidden size {settings['dim']}, "
        f"seed {settings['seed']}, init {settings['init']}"
    )
    axes.grid(True, alpha=0.3)
    axes.legend(loc="best")
    # No date or software stamp, so the same run writes the same file.
    metadata = {"Date": None} if suffix == ".svg" else {"Software": None}
    figure.savefig(path, format=suffix[1:], metadata=metadata)
    return [r.cell for r in results]


def _finite(values) -> list[float]:
    # An exactly zero gradient has log -inf: left out of the line (nan) rather than drawn.
    return [v if math.isfinite(v) else math.nan for v in values]


def plot_spectrum(results, path) -> list[str]:
    """Draw the Lyapunov spectra ``results`` (:class:`symgrad.network.NetworkSpectrum`
    s) to ``path`` (.png or .svg): each exponent against its index, one line per
    cell with its confidence band, and 0 (neither growth nor decay) as a line.
    Raises :class:`PlotError` as :func:`plot_flow`."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in PLOT_FORMATS:
        raise PlotError(f"cannot plot to {str(path)!r}: the file must end in .png or .svg")
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise PlotError(
            "plotting needs matplotlib, which is not installed: pip install 'symgrad[plot]'"
        ) from None

    figure = Figure(figsize=(8, 5), layout="constrained")
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
    metadata = {"Date": None} if suffix == ".svg" else {"Software": None}
    figure.savefig(path, format=suffix[1:], metadata=metadata)
    return [r.cell.name for r in results]
