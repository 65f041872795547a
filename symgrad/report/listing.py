"""``symgrad list``: the built-in cells and the claims, one line each."""

from __future__ import annotations

from ..text import ascii_prose, dumps, md_cell, plain, tex_inline

__all__ = ["listing"]


def listing(cells, claims, fmt: str) -> str:
    """Each cell's name and one-line summary, each claim's id, evidence kinds and
    title, as ``text``, ``markdown``, ``latex`` or ``json``."""
    rows = [(c.name, c.doc.splitlines()[0]) for c in cells]
    claims = [(c.id, c.kinds, c.title) for c in claims]
    if fmt == "json":
        return dumps(
            {
                "cells": [{"name": n, "summary": s} for n, s in rows],
                "claims": [{"id": i, "evidence": list(k), "title": plain(t)} for i, k, t in claims],
            }
        )
    if fmt in ("markdown", "latex"):
        # The docstring's formulas as mathematics (as derive and show write them).
        from ..documents import cell_prose_names

        summaries = [
            ascii_prose(c.doc.splitlines()[0], cell_prose_names(c)).render(fmt) for c in cells
        ]
    if fmt == "markdown":
        out = ["| cell | summary |", "|---|---|"]
        out += [f"| `{n}` | {md_cell(s)} |" for (n, _), s in zip(rows, summaries, strict=True)]
        out += ["", "| claim | evidence | claim |", "|---|---|---|"]
        out += [f"| `{i}` | {', '.join(k)} | {md_cell(t)} |" for i, k, t in claims]
        return "\n".join(out) + "\n"
    if fmt == "latex":
        out = ["\\begin{tabular}{ll}"]
        out += [f"\\texttt{{{n}}} & {s} \\\\" for (n, _), s in zip(rows, summaries, strict=True)]
        out += ["\\end{tabular}", "", "\\begin{tabular}{lll}"]
        out += [f"\\texttt{{{i}}} & {k} & {tex_inline(t)} \\\\" for i, k, t in claims]
        return "\n".join([*out, "\\end{tabular}"]) + "\n"
    width = max(len(n) for n, _ in rows)
    out = ["Cells:", *(f"  {n:<{width}}  {s}" for n, s in rows), ""]
    width = max(len(i) for i, _, _ in claims)
    out.append(
        "Claims (symgrad verify CLAIM; evidence S symbolic, N numerical, "
        "C certified, M Monte Carlo, P finite differences):"
    )
    out += [f"  {i:<{width}}  {k:<3}  {plain(t)}" for i, k, t in claims]
    return "\n".join(out) + "\n"
