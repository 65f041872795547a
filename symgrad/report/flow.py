"""``symgrad flow`` and ``symgrad compare``: their results as text, Markdown and JSON.

The CLI's LaTeX is the Markdown converted (:func:`symgrad.text.markdown_to_latex`).
"""

from __future__ import annotations

import math

from ..flow import EXPLODE, LEVELS, VANISH, CompareRow, FlowResult
from ..stats import CONFIDENCE
from ..text import dumps, json_ready, plain, table

__all__ = ["format_compare", "format_flow"]


def _power(x: float) -> str:
    """``x`` (``1e-08``) as LaTeX: ``10^{-8}``, ``2.5 \\times 10^{3}``."""
    mantissa, e, exponent = f"{x:g}".partition("e")
    if not e:
        return mantissa
    power = f"10^{{{int(exponent)}}}"
    return power if mantissa == "1" else rf"{mantissa} \times {power}"


def _math(md: bool, latex: str, text: str) -> str:
    """Inline math: ``$latex$`` in Markdown (and the LaTeX made from it), ``text`` in text."""
    return f"${latex}$" if md else text


def _number(x, digits=4, md=False) -> str:
    if x is None or math.isnan(x):  # nothing defined to report
        return "-"
    if not math.isfinite(x):
        return str(x)
    if abs(x) >= 1e6:  # a run that exploded: its digits, not 90 of them
        text = f"{x:.{digits}e}"
        mantissa, _, exponent = text.partition("e")
        return _math(md, rf"{mantissa} \times 10^{{{int(exponent)}}}", text)
    return f"{x:.{digits}f}"


def _percent(x) -> str:
    return "n/a" if x is None or math.isnan(x) else f"{100 * x:.1f}%"


def _lyapunov_text(r: FlowResult, md: bool) -> str:
    lo, hi = r.lyapunov_ci
    if math.isnan(r.lyapunov):
        return (
            "undefined: the state overflowed float64 and took the gradient with it in "
            f"{_percent(r.undefined_fraction)} of samples"
        )
    if r.lyapunov == math.inf:
        return (
            "inf (the gradient overflows float64 in some samples; it is above "
            f"{_math(md, _power(EXPLODE), f'{EXPLODE:g}')} in {_percent(r.explode_fraction)})"
        )
    if not math.isfinite(r.lyapunov):
        return (
            f"{r.lyapunov} (the gradient is exactly 0 in {_percent(r.zero_fraction)} of "
            f"samples; median {_number(r.lyapunov_median, md=md)})"
        )
    return (
        f"{_number(r.lyapunov, md=md)} per step ({100 * CONFIDENCE:g}% CI "
        f"{_number(lo, md=md)} to {_number(hi, md=md)}; median "
        f"{_number(r.lyapunov_median, md=md)})"
    )


def _ci_text(mean, ci, md=False) -> str:
    if not math.isfinite(mean):
        return "-"
    return f"{_number(ci[0], md=md)} to {_number(ci[1], md=md)}"


def _vanish_text(r: FlowResult, md: bool) -> str:
    vanish = _math(md, _power(VANISH), f"{VANISH:g}")
    if r.undefined_fraction == 1.0:
        return "is undefined (no sample left)"
    if r.vanish_step is None:
        return f"stays above {vanish} for all {r.settings['steps']:,} steps"
    return f"below {vanish} from step {r.vanish_step:,}"


#: |d s_t/d s_0| and the Lyapunov exponent's formula, as LaTeX and as text.
_GRADIENT = (r"|\partial s_t/\partial s_0|", "|d s_t/d s_0|")
_LOG_GRADIENT = (r"\log_{10} |\partial s_t/\partial s_0|", "log10 |d s_t/d s_0|")
_DERIVATIVE = (r"\partial s_t/\partial s_0", "d s_t/d s_0")
_LOG10 = (r"\log_{10}", "log10")
_AT_LEAST_1 = (r"\ge 1", ">= 1")


def _settings_lines(settings, md: bool) -> list[str]:
    lines = [
        f"{settings['steps']:,} steps, {settings['samples']:,} samples, hidden size "
        f"{settings['dim']}, seed {settings['seed']}, init {settings['init']}",
        f"distribution: {settings['distribution'] if md else plain(settings['distribution'])}",
        f"{_math(md, *_GRADIENT)}: Frobenius norm of the product of exact state Jacobians; "
        "Lyapunov exponent: mean over samples of "
        + _math(md, r"\ln|\partial s_T/\partial s_0|/T", "ln|d s_T/d s_0| / T")
        + f" ({100 * CONFIDENCE:g}% Student-t interval)",
    ]
    if settings.get("fixed"):
        fixed = [
            _math(md, f"{_tex_name(k)} = {v:g}", f"{k} = {v:g}")
            for k, v in settings["fixed"].items()
        ]
        lines.append("fixed: " + ", ".join(fixed))
    return lines


def _tex_name(name: str) -> str:
    """An ASCII name as LaTeX: ``b_f`` -> ``b_{f}``, ``W`` -> ``W``."""
    base, _, sub = name.partition("_")
    return f"{base}_{{{sub.replace('_', ',')}}}" if sub else name


def format_flow(results: list[FlowResult], fmt: str = "text") -> str:
    """``results`` (:class:`FlowResult` s of one run) as ``text``, ``markdown`` or ``json``."""
    if fmt == "json":
        settings = {
            **results[0].settings,
            "distribution": plain(results[0].settings["distribution"]),
        }
        return dumps({"settings": json_ready(settings), "cells": [r.to_json() for r in results]})
    md = fmt == "markdown"
    levels = [f"{100 * q:g}%" if q != 0.5 else "median" for q in LEVELS]
    out = ["# symgrad flow" if md else "symgrad flow", ""]
    out += [("- " if md else "") + line for line in _settings_lines(results[0].settings, md)]
    for r in results:
        out += ["", (f"## {r.cell}" if md else r.cell) + f" (state {', '.join(r.state)})", ""]
        bullet = "- " if md else "  "
        out.append(f"{bullet}Lyapunov exponent: {_lyapunov_text(r, md)}")
        out.append(
            f"{bullet}median gradient {_vanish_text(r, md)}; at "
            f"{_math(md, 'T', 'T')}: exploded "
            f"({_math(md, f'> {_power(EXPLODE)}', f'> {EXPLODE:g}')}) "
            f"{_percent(r.explode_fraction)}, vanished "
            f"({_math(md, f'< {_power(VANISH)}', f'< {VANISH:g}')}) "
            f"{_percent(r.vanish_fraction)}, exactly 0 {_percent(r.zero_fraction)}"
        )
        if r.nonfinite_fraction:
            lost = (
                f"the gradient became undefined in {_percent(r.undefined_fraction)}, left out "
                "of every figure"
                if r.undefined_fraction
                else "the gradient stays defined there"
            )
            out.append(
                f"{bullet}the state overflowed float64 in {_percent(r.nonfinite_fraction)} of "
                f"samples ({lost})"
            )
        spectral = r.one_step.get("spectral_norm")
        if spectral:
            out.append(
                f"{bullet}one-step Jacobian, spectral norm over samples and checkpoint steps: "
                f"median {_number(spectral[2], 3)}, 90% {_number(spectral[4], 3)}, "
                f"{_math(md, *_AT_LEAST_1)} in "
                f"{_percent(r.one_step.get('fraction_at_least_1'))}"
            )
        if r.classical:
            c = r.classical
            condition = _math(
                md,
                rf"\sigma_{{\max}}({_tex_name(c['matrix'])}) < 1/\gamma = {1 / c['gamma']:g}",
                c["condition"],
            )
            sigma_max = _math(md, r"\sigma_{\max}", "sigma_max")
            bound = _math(
                md,
                _GRADIENT[0].replace("s_t", "s_T") + r" \le \sqrt{n}\,(\gamma\,\sigma_{\max})^T",
                "|d s_T/d s_0| <= sqrt(n) (gamma sigma_max)^T",
            )
            out.append(
                f"{bullet}classical sufficient condition {condition}: holds in "
                f"{_percent(c['fraction_condition_holds'])} of samples (median {sigma_max} = "
                f"{_number(c['sigma_max_quantiles'][2], 3)}); vanished with it "
                f"{_percent(c['fraction_vanished_given_condition'])}, without it "
                f"{_percent(c['fraction_vanished_without_condition'])}; bound {bound} holds in "
                f"{_percent(c['bound_holds_fraction'])}"
            )
        out.append("")
        header = ["t", *levels]
        rows = [
            [f"{t:,}", *(_number(v, 2, md) for v in q)]
            for t, q in zip(r.checkpoints, r.quantiles, strict=True)
        ]
        out.append(("" if md else "  ") + f"{_math(md, *_LOG_GRADIENT)} over samples:")
        out += ([""] if md else []) + [
            ("" if md else "  ") + line for line in table(header, rows, md)
        ]
        if r.article is not None:
            a = r.article
            convention = ", ".join(f"{k} = {v}" for k, v in a.convention.items())
            derivative = a.derivative
            if md and a.derivative_latex:
                derivative, convention = a.derivative_latex, a.convention_latex
            out += [
                "",
                ("" if md else "  ")
                + f"the article's product of one-step {derivative} ({convention}) against "
                f"the exact entry of {_math(md, *_DERIVATIVE)}, {_math(md, *_LOG10)} over samples:",
            ]
            header = ["t", "article median", "exact median", "gap 10%", "gap median", "gap 90%"]
            mid = LEVELS.index(0.5)
            rows = [
                [
                    f"{t:,}",
                    _number(p[mid], 2, md),
                    _number(e[mid], 2, md),
                    _number(g[0], 2, md),
                    _number(g[mid], 2, md),
                    _number(g[-1], 2, md),
                ]
                for t, p, e, g in zip(r.checkpoints, a.article, a.exact, a.gap, strict=True)
            ]
            out += ([""] if md else []) + [
                ("" if md else "  ") + line for line in table(header, rows, md)
            ]
            out.append(
                ("" if md else "  ") + "Lyapunov exponent of the article's product "
                f"{_number(a.lyapunov_article, md=md)}, of the exact entry "
                f"{_number(a.lyapunov_exact, md=md)} per step"
            )
    out += ["", "## Summary" if md else "summary", ""]
    header = ["cell", "Lyapunov per step", f"{100 * CONFIDENCE:g}% CI", "vanish step", "exploded"]
    rows = [
        [
            r.cell,
            _number(r.lyapunov, md=md),
            _ci_text(r.lyapunov, r.lyapunov_ci, md),
            "-" if r.vanish_step is None else f"{r.vanish_step:,}",
            _percent(r.explode_fraction),
        ]
        for r in results
    ]
    out += [("" if md else "  ") + line for line in table(header, rows, md)]
    return "\n".join(out) + "\n"


def format_compare(rows: list[CompareRow], fmt: str = "text") -> str:
    """``rows`` (:class:`CompareRow` s) as one table in ``text``, ``markdown`` or ``json``."""
    first = rows[0]
    s = first.flow.settings
    if fmt == "json":
        return dumps(
            {
                "settings": json_ready({**s, "distribution": plain(s["distribution"])}),
                "one_step_distribution": plain(first.one_step["distribution"]),
                "cells": [row.to_json() for row in rows],
            }
        )
    md = fmt == "markdown"
    shown = (lambda text: text) if md else plain
    out = ["# symgrad compare" if md else "symgrad compare", ""]
    lead = "- " if md else ""
    out += [
        f"{lead}one-step derivative: Monte Carlo over {s['samples']:,} samples of "
        f"{shown(first.one_step['distribution'])}",
        f"{lead}Lyapunov exponent: {s['steps']:,} steps; {shown(s['distribution'])}",
        f"{lead}seed {s['seed']}",
        "",
    ]
    header = [
        "cell",
        "derivative",
        "dominant",
        "minor terms' gates",
        "median [10%, 90%]",
        "sd",
        "P(|D| > 1)",
        "Lyapunov per step",
        f"{100 * CONFIDENCE:g}% CI",
    ]
    body = []
    for row in rows:
        o, f = row.one_step, row.flow
        dominant = f"${row.dominant['latex']}$" if md else row.dominant["text"]
        body.append(
            [
                row.cell,
                (row.derivative_latex or row.derivative) if md else row.derivative,
                dominant,
                ", ".join(map(str, row.minor_gates)) or "none",
                f"{o['median']:.3f} [{o['q10']:.3f}, {o['q90']:.3f}]",
                f"{o['sd']:.3f}",
                _percent(o["fraction_above_1"]),
                _number(f.lyapunov, md=md),
                _ci_text(f.lyapunov, f.lyapunov_ci, md),
            ]
        )
    out += table(header, body, md)
    return "\n".join(out) + "\n"
