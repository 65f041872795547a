"""``symgrad check``'s report: every comparison of symbolic derivatives with finite
differences, with its tolerance and the reason for it."""

from __future__ import annotations

from ..check import CheckReport
from ..text import dumps, md_cell, plain, tex_inline

__all__ = ["check_report"]


def check_report(report: CheckReport, fmt: str = "text") -> str:
    """The report as ``text``, ``markdown``, ``latex`` or ``json``."""
    if fmt == "json":
        return dumps(report.to_json())
    if fmt not in ("text", "markdown", "latex"):
        raise ValueError(f"unknown format {fmt!r}. Valid formats: text, markdown, latex, json")
    typeset = fmt != "text"

    def label(derivative: str) -> str:
        # Text keeps the ASCII label; Markdown and LaTeX write it as math.
        return report.labels.get(derivative, f"`{derivative}`") if typeset else derivative

    def quantity(name: str) -> str:
        if not typeset or name == "total":
            return name
        return f"${report.names[name]}$" if name in report.names else f"`{name}`"

    rows = [
        (
            label(c.derivative),
            quantity(c.quantity),
            c.method,
            f"{c.step:g}",
            f"{c.max_rel_error:.1e}",
            f"{c.tolerance:.1e}",
            ("ok" if c.passed else "FAILED") + (f" ({c.excluded} left out)" if c.excluded else ""),
        )
        for c in report.comparisons
    ]
    header = ("derivative", "term (via)", "method", "step", "max rel error", "tolerance", "result")
    seed = "given points" if report.seed is None else f"seed {report.seed}"
    points = f"{report.samples} point" + ("" if report.samples == 1 else "s")
    intro = f"{points}, {seed}, init {report.init}: {report.distribution}."
    conventions = []
    for name, carry in report.conventions.items():
        if typeset and name in report.convention_math:
            carried = report.convention_math[name]
        else:
            carried = ", ".join(f"{p} = {e}" for p, e in carry.items())
        conventions.append(
            f"{label(name)}: the article's one-step convention, {carried} differentiated too "
            "(the other derivatives are entries of the exact state Jacobian)."
        )
    worst = report.worst
    verdict = (
        f"PASSED: {len(report.comparisons)} comparisons within tolerance"
        if report.passed
        else f"FAILED: {sum(not c.passed for c in report.comparisons)} of "
        f"{len(report.comparisons)} comparisons outside tolerance"
    )
    if worst is not None and not report.passed:
        verdict += (
            f" (largest error relative to tolerance: {label(worst.derivative)} "
            f"{quantity(worst.quantity)}, {worst.max_rel_error:.2g} against {worst.tolerance:.2g})"
        )
    # A check that passes names no largest error: every error is then rounding,
    # and which is largest depends on the last bit of the CPU's exp and tanh.
    reasons = []
    for method in dict.fromkeys(c.method for c in report.comparisons):
        example = max(
            (c for c in report.comparisons if c.method == method), key=lambda c: c.tolerance
        )
        reasons.append(f"{method}: {example.tolerance_reason} (the loosest row)")
    title = f"symgrad check {report.cell}: symbolic derivatives against finite differences"
    if fmt == "text":
        widths = [max(len(r[k]) for r in [header, *rows]) for k in range(len(header))]
        lines = [title, "", plain(intro), *conventions, ""]
        for r in [header, *rows]:
            lines.append(
                "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip()
            )
        lines += ["", "Tolerances:", *(f"  {plain(r)}" for r in reasons), "", verdict]
        return "\n".join(lines) + "\n"
    if fmt == "markdown":
        lines = [f"## {title}", "", intro, ""]
        lines += [f"- {c}" for c in conventions] + ([""] if conventions else [])
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "---|" * len(header))
        lines += ["| " + " | ".join(md_cell(x) for x in r) + " |" for r in rows]
        lines += ["", "Tolerances:", "", *(f"- {r}" for r in reasons), "", f"**{verdict}**"]
        return "\n".join(lines) + "\n"
    body = [
        f"% {title}",
        tex_inline(intro) + "\n",
        *[tex_inline(c) + "\n" for c in conventions],
        "\\begin{tabular}{llllrrl}",
        " & ".join(header) + " \\\\",
        "\\hline",
        *[" & ".join(tex_inline(x) for x in r) + " \\\\" for r in rows],
        "\\end{tabular}\n",
        *[tex_inline(r) + "\n" for r in reasons],
        tex_inline(verdict),
    ]
    return "\n".join(body) + "\n"
