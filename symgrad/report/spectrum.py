"""Lyapunov spectra (``flow --weights``, ``flow --spectrum``) as text, Markdown, JSON."""

from __future__ import annotations

import math

from ..network import NetworkSpectrum
from ..text import dumps, json_ready, table

__all__ = ["format_spectrum"]


def _number(x: float) -> str:
    if math.isnan(x):
        return "-"  # no interval from one sample
    return str(x) if math.isinf(x) else f"{x:.4f}"


def format_spectrum(results: list[NetworkSpectrum], fmt: str = "text") -> str:
    """``results`` as ``text``, ``markdown`` or ``json``: per cell, every exponent's
    mean over samples with its confidence interval, and the settings."""
    if fmt == "json":
        return dumps({"cells": [_json(r) for r in results]})
    md = fmt == "markdown"
    out = ["# symgrad flow: Lyapunov spectrum" if md else "symgrad flow: Lyapunov spectrum", ""]
    lead = "- " if md else ""
    out.append(
        f"{lead}exponents: natural log of the growth per step, by QR re-orthonormalisation "
        "of the products of exact state Jacobians (analytic, from the matrix-form "
        "derivation); a 95% Student-t interval over the samples"
    )
    for r in results:
        s = r.spectrum
        out += ["", (f"## {r.cell.name}" if md else r.cell.name), ""]
        out.append(
            f"{lead}hidden size {r.hidden}, input size {r.inputs}, state "
            f"({', '.join(r.cell.state)}) of dimension {r.dimension}; {r.steps:,} steps "
            f"after a warm-up of {r.warmup:,}; inputs: {r.source}"
        )
        leading = s.mean[0]
        rate = _number(leading)
        growth = (
            (rf"$\exp({rate}\,t)$", "$T$", rf"$e^{{{rate}\,T}}$")
            if md
            else (f"exp({rate} t)", "T", f"e^({rate} T)")
        )
        out.append(
            f"{lead}largest exponent {rate}: perturbations "
            + ("grow" if leading > 0 else "shrink")
            + f" like {growth[0]}, gradients over {growth[1]} steps by about {growth[2]}"
        )
        out.append("")
        if r.samples < 2:  # one sequence: its exponents, no interval
            rows = [[str(k + 1), _number(s.mean[k])] for k in range(len(s.mean))]
            out += table(["k", "exponent (one sequence)"], rows, md)
            continue
        rows = [
            [str(k + 1), _number(s.mean[k]), f"{_number(s.ci[k][0])} to {_number(s.ci[k][1])}"]
            for k in range(len(s.mean))
        ]
        out += table(["k", "exponent", f"{100 * s.confidence:g}% CI"], rows, md)
    return "\n".join(out) + "\n"


def _json(r: NetworkSpectrum) -> dict:
    s = r.spectrum
    return json_ready(
        {
            "cell": r.cell.name,
            "hidden_size": r.hidden,
            "input_size": r.inputs,
            "state": list(r.cell.state),
            "steps": r.steps,
            "warmup": r.warmup,
            "samples": r.samples,
            "inputs": r.source,
            "units": "natural log of the growth per step",
            "lyapunov_spectrum": [float(x) for x in s.mean],
            # One sample has no interval: null, not nan.
            "lyapunov_spectrum_ci": (
                [[float(lo), float(hi)] for lo, hi in s.ci] if r.samples > 1 else None
            ),
            "confidence": s.confidence,
        }
    )
