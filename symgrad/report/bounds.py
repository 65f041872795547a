"""``symgrad bound``'s reports: a bound's result, and the catalog of bounds, as
text, Markdown, LaTeX and JSON."""

from __future__ import annotations

from ..bounds import BOUNDS
from ..suprema import BoundResult, FactorResult, show_exact
from ..text import dumps, md_cell, plain, tex_inline

__all__ = ["format_catalog", "format_result"]


def format_result(result: BoundResult, fmt: str) -> str:
    """``result`` as ``text`` (Unicode), ``markdown``, ``latex`` or ``json``."""
    if fmt == "json":
        return dumps(result.to_json())
    rows = _rows(result)
    if fmt == "text":
        return _text(result, rows)
    if fmt == "markdown":
        return _markdown(result, rows)
    if fmt == "latex":
        return _latex(result, rows)
    raise ValueError(f"unknown format {fmt!r}. Valid formats: text, markdown, latex, json")


def _rows(r: BoundResult) -> list[tuple[str, str, str, str]]:
    """(label, text, LaTeX, Markdown) of the summary table."""
    lo, hi = r.interval
    seconds = (
        f"{r.seconds:.2f} s (SciPy {r.scipy_seconds:.2f} s, "
        f"certificate {r.certificate_seconds:.2f} s)"
    )
    rows = []
    if r.params:
        params = ", ".join(f"{k} = {v:g}" for k, v in r.params.items())
        rows.append(("parameters", params, f"${params}$"))
    ends = ("SciPy optimum", "certified") if r.infimum is None else ("SciPy sup", "certified sup")
    rows += [
        (ends[0], f"{r.value!r} at {r.where}", f"${r.value!r}$ at ${r.where_latex}$"),
        (ends[1], f"[{lo!r}, {hi!r}]", f"$[{lo!r}, {hi!r}]$"),
    ]
    if r.infimum is not None:
        m = r.infimum
        a, b = m.interval
        rows += [
            ("SciPy inf", f"{m.value!r} at {m.where}", f"${m.value!r}$ at ${m.where_latex}$"),
            ("certified inf", f"[{a!r}, {b!r}]", f"$[{a!r}, {b!r}]$"),
        ]
    rows += [
        (
            "width",
            f"{r.width:.2e}, {r.subdivisions} subdivisions",
            f"${_tex_float(r.width)}$, {r.subdivisions} subdivisions",
        ),
        ("time", seconds, seconds),
    ]
    rows = [(*row, row[2]) for row in rows]  # Markdown: the LaTeX column's $math$
    for c in r.checks:
        label = {
            "claim": "claim",
            "closed form": "closed form",
            "scipy": "SciPy check",
            "identity": "identity",
        }[c.kind]
        body = (
            f"{c.statement}: {c.verdict.upper()}, {c.detail}"
            if c.kind == "claim"
            else f"{c.verdict}: {c.detail}"
        )
        rows.append((label, plain(body), tex_inline(body), body))
    return rows


def _text(r: BoundResult, rows) -> str:
    out = [f"{r.name}: {plain(r.quantity)}", f"  from: {plain(r.source)}"]
    width = max(len(label) for label, *_ in rows)
    out += [f"  {label:<{width}}  {body}" for label, body, *_ in rows]
    if len(r.factors) > 1:
        out.append("  worst case, factor by factor:")
        fw = max(len(_factor_name(f)) for f in r.factors)
        for f in r.factors:
            out.append(
                f"    {_factor_name(f):<{fw}}  {f.value:.12g} at {f.where}"
                f"  certified [{f.interval[0]!r}, {f.interval[1]!r}]"
            )
    out += [f"  - {plain(note)}" for note in r.notes]
    out.append(f"  {STATUS_LINES[r.status]}")
    return "\n".join(out) + "\n"


#: The last line of a bound's text report, by its status (the exit code: 1 on "fail").
STATUS_LINES = {
    "pass": "PASS: every claim proved, every check agrees",
    "refuted": "REFUTED: a claim is false, by the certified end of the interval named "
    "above; every check agrees",
    "fail": "FAIL: no verdict: a claim is undecided or a check disagrees",
}


def _factor_name(f: FactorResult) -> str:
    return f"{f.label}: |{f.text}|" if f.label else f"|{f.text}|"


def _markdown(r: BoundResult, rows) -> str:
    out = [
        f"### `symgrad bound {r.name}`",
        "",
        f"${r.quantity_latex}$: {r.quantity}.",
        "",
        f"From {r.source}.",
        "",
        "| | |",
        "|---|---|",
    ]
    out += [f"| {label} | {md_cell(md)} |" for label, _, _, md in rows]
    if len(r.factors) > 1:
        out += ["", "Worst case, factor by factor:", "", "| factor | sup | at | certified |"]
        out.append("|---|---|---|---|")
        out += [
            f"| {f.label + ': ' if f.label else ''}$\\lvert {f.latex} \\rvert$ | {f.value:.12g} "
            f"| ${f.where_latex}$ | [{f.interval[0]!r}, {f.interval[1]!r}] |"
            for f in r.factors
        ]
    out += [""] + [f"- {note}" for note in r.notes]
    return "\n".join(out) + "\n"


def _latex(r: BoundResult, rows) -> str:
    out = [
        f"% symgrad bound {r.name}",
        rf"\paragraph{{\texttt{{{tex_inline(r.name)}}}.}} ${r.quantity_latex}$",
        # sloppypar: 17-digit numbers and intervals leave few places to break a
        # line; wider spaces rather than a line into the margin.
        r"\begin{sloppypar}",
        r"\begin{description}",
    ]
    out += [rf"  \item[{label}] {tex}" for label, _, tex, _ in rows]
    if len(r.factors) > 1:
        out.append(r"  \item[worst case] factor by factor:")
        out.append(r"  \begin{itemize}")
        out += [
            rf"    \item {tex_inline(f.label + ': ') if f.label else ''}"
            rf"$\left|{f.latex}\right| \le {f.value:.12g}$ at ${f.where_latex}$, "
            rf"certified $[{f.interval[0]!r}, {f.interval[1]!r}]$"
            for f in r.factors
        ]
        out.append(r"  \end{itemize}")
    out += [rf"  \item[note] {tex_inline(note)}" for note in r.notes]
    out += [r"\end{description}", r"\end{sloppypar}"]
    return "\n".join(out) + "\n"


def _tex_float(x: float) -> str:
    if x == 0:
        return "0"
    mantissa, _, exponent = f"{x:.2e}".partition("e")
    return rf"{mantissa} \times 10^{{{int(exponent)}}}"


def format_catalog(fmt: str) -> str:
    """The table of :data:`BOUNDS` (names, summaries, parameters) in ``fmt``."""
    entries = [
        (
            spec.name,
            spec.summary,
            [(p.name, p.default, p.doc, p.lo, p.hi) for p in spec.params],
        )
        for spec in BOUNDS.values()
    ]
    if fmt == "json":
        return dumps(
            {
                "bounds": [
                    {
                        "name": name,
                        "summary": plain(summary),
                        "params": [
                            {
                                "name": p,
                                "default": float(d),
                                "doc": plain(doc),
                                "range": [float(lo), float(hi)],
                            }
                            for p, d, doc, lo, hi in params
                        ],
                    }
                    for name, summary, params in entries
                ]
            }
        )

    def params_text(params):
        """The defaults as a user types them: code."""
        return ", ".join(f"`{p}={show_exact(d)}`" for p, d, *_ in params)

    if fmt == "markdown":
        out = ["| bound | quantity | parameters (default) |", "|---|---|---|"]
        out += [f"| `{n}` | {md_cell(s)} | {params_text(p) or '-'} |" for n, s, p in entries]
    elif fmt == "latex":
        # Two columns, the second wrapped: a default article's text block holds
        # the longest name and 0.6 of its width.
        out = [r"\begin{tabular}{@{}lp{0.6\textwidth}@{}}"]
        out += [
            rf"\texttt{{{tex_inline(n)}}} & {tex_inline(s)}"
            + (f" (defaults {tex_inline(params_text(p))})" if p else "")
            + r" \\"
            for n, s, p in entries
        ]
        out.append(r"\end{tabular}")
    else:
        width = max(len(n) for n, _, _ in entries)
        out = ["Bounds (symgrad bound NAME [--param NAME=VALUE ...]):"]
        for n, s, p in entries:
            extra = f"  [{plain(params_text(p))}]" if p else ""
            out.append(f"  {n:<{width}}  {plain(s)}{extra}")
    return "\n".join(out) + "\n"
