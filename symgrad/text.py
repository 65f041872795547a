"""Text in every format symgrad prints: escapers, tables, JSON.

One place for what every report needs: prose with inline ``$math$`` as
Unicode (:func:`plain`) or LaTeX (:func:`tex_inline`, :func:`tex_text`), cells
of Markdown tables (:func:`md_cell`), aligned tables (:func:`table`), simple
Markdown reports turned into LaTeX (:func:`markdown_to_latex`) and JSON with
non-finite numbers spelled out (:func:`dumps`). The standard library only.
"""

from __future__ import annotations

import json
import math
import re

__all__ = [
    "dumps",
    "json_ready",
    "markdown_to_latex",
    "md_cell",
    "plain",
    "table",
    "tex_inline",
    "tex_text",
]

# ---------------------------------------------------------------- prose with inline math

_MACROS = [
    (r"\\left|\\right|\\Big|\\big", ""),
    (r"\\partial\s*", "∂"),
    (r"\\sigma", "σ"),
    (r"\\theta", "θ"),
    (r"\\rho", "ρ"),
    (r"\\infty", "∞"),
    (r"\\approx", "≈"),
    (r"\\cdots", "⋯"),
    (r"\\cdot", "·"),
    (r"\\le(?![a-z])", "≤"),
    (r"\\ge(?![a-z])", "≥"),
    (r"\\ne(?![a-z])", "≠"),
    (r"\\to(?![a-z])", "→"),
    (r"\\in(?![a-z])", "∈"),
    (r"\\sqrt\{([^{}]*)\}", r"√(\1)"),
    (r"\\sqrt", "√"),
    (r"\\prod", "∏"),
    (r"\\sum", "Σ"),
    (r"\\(tanh|lim|sup|log|exp)", r"\1"),
    (r"\\hat\{(\w)\}", "\\1\u0302"),
    (r"\\text\{([^{}]*)\}", r"\1"),
    (r"\\(quad|qquad)", "  "),
    (r"\\[,;: ]", " "),
    (r"\^\{?2\}?", "²"),
    (r"\^\{(t-1)\}", r"^(\1)"),
    (r"_\{([A-Za-z0-9]+)\}", r"_\1"),
]


def _fraction(match) -> str:
    num, den = match.group(1), match.group(2)
    if re.search(r"[+-]", num.strip().lstrip("-")):
        num = f"({num})"
    if re.search(r"[+\- ]", den.strip()):
        den = f"({den})"
    return f"{num}/{den}"


def plain(text: str) -> str:
    """Inline LaTeX (between ``$``) and Markdown code marks as Unicode text."""
    out = text.replace("`", "")
    for pattern, repl in _MACROS:
        out = re.sub(pattern, repl, out)
    for _ in range(3):  # nested up to three deep
        out = re.sub(r"\{\(([^{}]*?)\s*\)\}", r"(\1)", out)  # SymPy's \tanh{\left(x \right)}
        out = re.sub(r"\\frac\{([^{}]*)\}\{([^{}]*)\}", _fraction, out)
    out = out.replace("$", "")
    return re.sub(r"(?<=[(\s])\{([^{}]*)\}", r"\1", out)


_TEX_TEXT = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"$\sim$",
    "^": r"\^{}",
    "|": r"$|$",
    "<": r"$<$",
    ">": r"$>$",
}


#: Unicode that plain text from other modules may carry, as LaTeX math.
_TEX_UNICODE = {
    "²": "^2",
    "³": "^3",
    "λ": "\\lambda",
    "σ": "\\sigma",
    "θ": "\\theta",
    "ρ": "\\rho",
    "∂": "\\partial ",
    "≤": "\\le",
    "≥": "\\ge",
    "≠": "\\ne",
    "±": "\\pm",
    "∈": "\\in",
    "→": "\\to",
    "∞": "\\infty",
    "≈": "\\approx",
    "·": "\\cdot",
    "√": "\\sqrt{}",
    "ĉ": "\\hat{c}",
    "ĥ": "\\hat{h}",
    "∏": "\\prod",
    "Σ": "\\Sigma",
    "…": "\\dots",
    "⋯": "\\cdots",
    "\u2212": "-",  # minus sign
}


def _tex_char(ch: str) -> str:
    if ch in _TEX_TEXT:
        return _TEX_TEXT[ch]
    if ch in _TEX_UNICODE:
        return f"${_TEX_UNICODE[ch]}$"
    if ord(ch) > 127:  # pdflatex has no glyph for it: name it rather than fail
        return f"[U+{ord(ch):04X}]"
    return ch


def tex_text(text: str) -> str:
    """Plain text for LaTeX: specials escaped (OT1 encoding: | < > need math
    mode), Unicode symbols as math, backquoted code as typewriter."""
    out = "".join(_tex_char(ch) for ch in text)
    return re.sub(r"`([^`]*)`", r"\\texttt{\1}", out)


def tex_inline(text: str) -> str:
    """Text with inline ``$math$`` for LaTeX: the text escaped, the math kept."""
    parts = text.split("$")
    return "".join(tex_text(p) if k % 2 == 0 else f"${p}$" for k, p in enumerate(parts))


def md_cell(text: str) -> str:
    """Text for a Markdown table cell: a pipe would end the cell."""
    return text.replace("|", "\\|")


# ---------------------------------------------------------------- Markdown reports as LaTeX

_MARKDOWN_UNICODE = {
    "\u2265": r"$\geq$",  # greater-than or equal
    "\u2264": r"$\leq$",
    "\u2192": r"$\to$",
    "\u00d7": r"$\times$",
    "\u03c3": r"$\sigma$",
    "\u2202": r"$\partial$",
    "\u00b2": r"$^2$",
    "\u2212": "-",  # minus sign
    "\u2013": "--",  # en dash
    # OT1 text fonts print | < > as an em dash and inverted marks.
    "|": "$|$",
    "<": "$<$",
    ">": "$>$",
}


def markdown_to_latex(markdown: str) -> str:
    """A report written as simple Markdown (``#`` headings, ``-`` bullets, pipe
    tables, ``$...$`` math, ``**bold**``) as a LaTeX fragment that pdflatex
    compiles: sections, itemize, tabular. Math passes through untouched."""
    out, items, table = [], [], []

    def flush():
        if items:
            out.extend(["\\begin{itemize}", *(f"  \\item {i}" for i in items), "\\end{itemize}"])
            items.clear()
        if table:
            cols = len(table[0])
            rows = [" & ".join(r) + " \\\\" for r in table]
            out.extend(
                [
                    "\\begin{tabular}{" + "l" * cols + "}",
                    rows[0],
                    "\\hline",
                    *rows[1:],
                    "\\end{tabular}",
                ]
            )
            table.clear()

    for line in markdown.splitlines():
        stripped = line.strip()
        if stripped.startswith("|"):
            inner = stripped.strip("|")
            cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", inner)]
            if not all(set(c) <= set("-: ") for c in cells):
                table.append([_markdown_tex(c) for c in cells])
            continue
        if stripped.startswith("- "):
            items.append(_markdown_tex(stripped[2:]))
            continue
        flush()
        if stripped.startswith("#"):
            level, _, title = stripped.partition(" ")
            command = "section*" if len(level) == 1 else "subsection*"
            out.append(f"\\{command}{{{_markdown_tex(title)}}}")
        elif stripped:
            out.append(_markdown_tex(stripped))
        else:
            out.append("")
    flush()
    return "\n".join(out).strip() + "\n"


def _markdown_tex(text: str) -> str:
    """Prose escaped for LaTeX, ``$...$`` kept as math, ``**x**`` as bold."""
    pieces = re.split(r"(\$[^$]*\$)", text)
    out = []
    for k, piece in enumerate(pieces):
        if k % 2:
            out.append(piece)
            continue
        piece = re.sub(r"([\\{}])", r"\\\1", piece)
        piece = re.sub(r"([_%&#])", r"\\\1", piece)
        piece = (
            piece.replace("^", r"\^{}").replace("~", r"\~{}").replace("\\\\", r"\textbackslash{}")
        )
        piece = re.sub(r"\*\*(.+?)\*\*", r"\\textbf{\1}", piece)
        piece = piece.replace("`", "")
        out.append("".join(_MARKDOWN_UNICODE.get(ch, ch) for ch in piece))
    return "".join(out)


# ---------------------------------------------------------------- tables and JSON


def table(header, rows, markdown: bool) -> list[str]:
    """``rows`` under ``header`` as lines: a Markdown pipe table (pipes inside a
    cell escaped), or aligned text with the first column left-aligned and the
    others right-aligned."""
    if markdown:

        def line(cells):
            return "| " + " | ".join(md_cell(str(c)) for c in cells) + " |"

        return [line(header), "|" + "---|" * len(header), *(line(row) for row in rows)]
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=True)]
    return [
        "  ".join(
            (c.ljust(w) if k == 0 else c.rjust(w))
            for k, (c, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in (header, *rows)
    ]


def json_ready(value):
    """``value`` with every non-finite float replaced by a string JSON can carry
    (``"-inf"``, ``"inf"``), nan (an undefined figure) by ``None``, and NumPy
    scalars by Python numbers."""
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, float) or type(value).__name__.startswith("float"):
        value = float(value)
        if math.isnan(value):
            return None  # undefined (no sample left): null, not a number
        return value if math.isfinite(value) else str(value)
    if type(value).__name__.startswith(("int", "uint")) and not isinstance(value, bool):
        return int(value)
    return value


def dumps(data) -> str:
    """``data`` as indented JSON (UTF-8 text kept), with a final newline."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
