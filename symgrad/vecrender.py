"""Vector derivations as LaTeX, Unicode text, Markdown and JSON.

A :class:`~symgrad.vector.VectorDerivation` (or state Jacobian) is written out
as blocks, as :mod:`symgrad.render` does for one dimension: the notation,
the cell in vector form, the convention, the chain rule, the partials, each
term with its gate counts (row and column), the sum, what n dimensions change
for the gates, and the check. Paragraphs mix prose and math (``$...$`` in
LaTeX and Markdown), so the notes can name their factors. Printers:
:class:`~symgrad.linear.VectorLatex`, :class:`~symgrad.linear.VectorText`.
"""

from __future__ import annotations

import sympy

from .documents import convention_blocks, document_title, partial_math
from .linear import VectorLatex, VectorText, Weight, bases
from .ranges import value_ranges
from .render import AsWritten, Block, D, Line, Prod, Sum, render, text_name
from .text import Math, Prose, plain
from .text import prose as read_prose

__all__ = [
    "derivation_document",
    "derivation_json",
    "jacobian_document",
    "jacobian_json",
    "notation",
    "prose",
    "render_blocks",
    "sum_latex",
    "term_notes",
]


def _printer(d, fmt: str):
    cls = VectorText if fmt == "text" else VectorLatex
    return cls(d.cell, value_ranges(d.cell), d.vcell.columns)


def _gate_note(t) -> str:
    n = t.gate_count
    note = f"{n} gate" + ("" if n == 1 else "s")
    if t.weight is not None:
        note += f": {len(t.row_gates)} row, {len(t.column_gates)} column"
    if t.gate_count_1d is not None and t.gate_count_1d != n:
        note += f"; 1-D: {t.gate_count_1d}"
    elif t.gate_count_1d is not None:
        note += "; as in 1-D"
    return f"dominant, {note}" if t.dominant else note


def _term_path(d, t):
    return t.coefficient if t.via == d.source else Prod((t.coefficient, D(t.via, d.source)))


def _name(cell, name: str) -> Math:
    return Math(cell.latex[name], text_name(cell.latex[name]))


def _listing(factors) -> list:
    parts = []
    for k, f in enumerate(factors):
        parts += ([", "] if k else []) + [f]
    return parts


def _weight_name(t) -> list:
    """The weight a term's row and column factors are on either side of."""
    if isinstance(t.weight, Weight):
        return [t.weight]
    return ["its first weight"]


def term_notes(d, t) -> list[list]:
    """What n dimensions change for a term: each note a list of prose (str) and math."""
    notes = []
    if t.row_gates and t.column_gates:
        notes.append(
            ["row gates ", *_listing(bases(t.row_gates)), "; column gates ",
             *_listing(bases(t.column_gates)), ": on opposite sides of ", *_weight_name(t),
             ", they no longer compound"]
        )  # fmt: skip
    for a, b in t.pairs:
        notes.append(
            [a, " (row) and ", b, " (column) read the same value: in 1-D they multiply one "
             "coordinate and bound each other, in n-D coordinate i of one meets coordinate "
             "j of the other, so they no longer pair"]
        )  # fmt: skip
    if t.lost:
        notes.append(
            ["gates of the 1-D term that are no diag factor here (they sit inside a sum "
             "with a weight): ", *_listing(bases(t.lost))]
        )  # fmt: skip
    return notes


def notation(d) -> list:
    """The notation paragraph of a matrix-form document: what lives in R^n and
    R^m, which weights are n x m and n x n, what ⊙ and diag mean (prose, :class:`~symgrad.text.Math`
    math, symbols and weights)."""
    cell, vcell = d.cell, d.vcell
    states = [cell.latex[s] for s in cell.state]
    m_cols = [w for w, k in vcell.columns.items() if k == "m"]
    n_cols = [w for w, k in vcell.columns.items() if k == "n"]
    rn, rm = Math(r"\mathbf{R}^n", "R^n"), Math(r"\mathbf{R}^m", "R^m")
    parts: list = ["Hidden size n, input size m. In ", rn, ": the states "]
    parts += _listing([Math(s, s) for s in states])
    parts += [", every value (gates included), bias and elementwise parameter"]
    if cell.inputs:
        parts += ["; in ", rm, ": the input" + ("s " if len(cell.inputs) > 1 else " ")]
        parts += _listing([sympy.Symbol(x, real=True) for x in cell.inputs])
    for names, kind in ((m_cols, "n x m"), (n_cols, "n x n")):
        if names:
            parts += ["; " + kind + ": "]
            parts += _listing([Weight(w) for w in names])
    parts += [
        ". ",
        Math(r"\odot", "⊙"),
        " is the elementwise product, ",
        Math(r"\operatorname{diag}(v)", "diag(v)"),
        " the diagonal matrix of v; activations, 1 - v and squares act elementwise.",
    ]
    if d.source_kind:
        parts += [
            " The derivative with respect to a weight W is with respect to vec W (its "
            "columns stacked): ",
            Math(r"d(W v) = (v^{\top} \otimes I_n)\, d \operatorname{vec} W", "d(W v) = "
                "(vᵀ ⊗ I_n) d vec W"),
            ".",
        ]  # fmt: skip
    return parts


def derivation_document(d, values=None, head=True) -> list:
    cell, vcell = d.cell, d.vcell
    lhs = D(d.target, d.source)
    blocks = []
    if head:
        blocks += [
            ("title", document_title(cell, partial_math(cell, d.target, d.source),
                                     " in matrix form (hidden size n, input size m), "
                                     "in gate form")),
            ("heading", "Notation"),
            ("para", notation(d)),
            ("heading", "Cell"),
            ("lines", [Line(s, (AsWritten(e),)) for s, e in vcell.display.items()]),
        ]  # fmt: skip
    if d.carry and head:
        blocks += convention_blocks(d.carry, d.source, lambda n: _name(d.cell, n))
    blocks += [
        ("heading", "Chain rule"),
        ("lines", [Line(lhs, (Sum(tuple(_term_path(d, t) for t in d.terms)),))]),
    ]
    partials = []
    for v, chain in d.steps.items():
        if v.name == d.target:
            continue
        spelled = Sum(tuple(step if w.name == d.source else Prod((step, D(w.name, d.source)))
                            for w, step in chain))  # fmt: skip
        direct = len(chain) == 1 and chain[0][0].name == d.source
        rhs = (d.links[v],) if direct else (spelled, d.links[v])
        partials.append(Line(D(v.name, d.source), rhs))
    if partials:
        blocks += [("heading", "Partials in gate form"), ("lines", partials)]
    terms = [
        Line(t.operator, (), _gate_note(t))
        if t.via == d.source
        else Line(_term_path(d, t), (t.operator,), _gate_note(t))
        for t in d.terms
    ]
    none = f"None: {d.target} does not depend on {d.source} within one step."
    blocks += [
        ("heading", "Terms"),
        ("lines", terms) if terms else ("para", [none]),
        ("heading", "Sum"),
        ("lines", [Line(lhs, (Sum(d.operators),))]),
    ]
    notes = [(t, note) for t in d.terms for note in term_notes(d, t)]
    if notes:
        blocks += [
            ("heading", "Gates in n dimensions"),
            ("para", ["A gate is a diag factor with values in [0, 1]. Row gates stand left "
                      "of a term's first weight and scale its rows, column gates stand right "
                      "of it and scale its columns. In 1-D all the factors of a term multiply "
                      "one number, so its gates compound; in n-D a row gate a and a column "
                      "gate b multiply different coordinates: ",
                      Math(r"\operatorname{diag}(a)\, U \operatorname{diag}(b)",
                          "diag(a) U diag(b)"),
                      " can have norm ",
                      Math(r"\max_i a_i \max_j b_j \|U\|", "max_i a_i · max_j b_j · ‖U‖"),
                      " while every coordinatewise product ", Math("a_i b_i", "a_i b_i"),
                      " is small."]),
        ]  # fmt: skip
        blocks += [("para", ["Term ", _term_path(d, t), ": ", *note, "."]) for t, note in notes]
    if head:
        blocks += [("heading", "Check"), ("para", _check_parts(d.check))]
    if values is not None:
        total, per_term = values
        blocks += [
            ("heading", "Value"),
            ("para", [f"{d.label} = {_matrix_text(total)}"]),
        ]
        blocks += [("para", [t.via + ": " + _matrix_text(v)])
                   for t, v in zip(d.terms, per_term, strict=True)]  # fmt: skip
    return blocks


def _matrix_text(a) -> str:
    import numpy as np

    return np.array2string(np.asarray(a), precision=6, separator=", ", max_line_width=1000)


def jacobian_document(j) -> list:
    first = j.entries[0][0]
    names = Prose.join(
        ", ", [Math(j.cell.latex[s], text_name(j.cell.latex[s])) for s in j.cell.state]
    )
    blocks = [
        ("title", document_title(j.cell, "exact one-step state Jacobian of (", names,
                                 ") in matrix form")),
        ("heading", "Notation"),
        ("para", notation(first)),
        ("heading", "Cell"),
        ("lines", [Line(s, (AsWritten(e),)) for s, e in first.vcell.display.items()]),
        ("para", ["Each entry is an n x n block and holds the other previous-step states "
                  "fixed; no one-step convention is applied."]),
    ]  # fmt: skip
    for row in j.entries:
        for d in row:
            blocks.append(("heading", Prose(partial_math(d.cell, d.target, d.source))))
            blocks += derivation_document(d, head=False)
    blocks += [("heading", "Check"), ("para", _check_parts(j.check))]
    return blocks


def _check_parts(check) -> list:
    """A check's method and detail (prose with ``$math$``) as a paragraph's parts."""
    return [f"{check.method}: ", read_prose(check.detail), "."]


# ---------------------------------------------------------------- formats


def prose(parts, printers) -> Prose:
    """A paragraph's parts (text, :class:`~symgrad.text.Math`, or items the
    (LaTeX, text) ``printers`` print) as prose."""
    latex, text = printers
    return Prose(
        *(
            p if isinstance(p, str | Math | Prose) else Math(latex.item(p), text.item(p))
            for p in parts
        )
    )


def render_blocks(blocks, fmt: str, d, standalone: bool = False) -> str:
    """``blocks`` of :func:`derivation_document` or :func:`jacobian_document` in
    ``fmt``, by :func:`symgrad.render.render` (too-wide rows broken to fit)."""
    printers = (_printer(d, "latex"), _printer(d, "text"))
    items = [
        b
        if isinstance(b, Block)
        else Block(b[0], prose(b[1], printers) if b[0] == "para" else b[1])
        for b in blocks
    ]
    return render(items, fmt, d.cell, standalone=standalone, printers=printers)


def _check_json(check) -> dict:
    return {"method": check.method, "passed": check.passed, "detail": plain(check.detail)}


def derivation_json(d, values=None) -> dict:
    latex, text = _printer(d, "latex"), _printer(d, "text")
    per_term = values[1] if values is not None else [None] * len(d.terms)
    terms = []
    for t, v in zip(d.terms, per_term, strict=True):
        entry = {
            "name": t.via,
            "path": latex.item(_term_path(d, t)),
            "latex": latex.item(t.operator),
            "text": text.item(t.operator),
            "gate_count": t.gate_count,
            "row_gates": [latex.doprint(g) for g in t.row_gates],
            "column_gates": [latex.doprint(g) for g in t.column_gates],
            "gate_count_1d": t.gate_count_1d,
            "dominant": t.dominant,
            "notes": [prose(n, (latex, text)).text() for n in term_notes(d, t)],
        }
        if v is not None:
            entry["value"] = _as_lists(v)
        terms.append(entry)
    out = {
        "cell": d.cell.name,
        "form": "matrix",
        "target": d.target,
        "source": d.source,
        "derivative": latex.item(D(d.target, d.source)),
        "convention": {p.name: latex.doprint(e) for p, e in d.carry.items()},
        "terms": terms,
        "total_latex": latex.item(Sum(d.operators)),
        "total_text": text.item(Sum(d.operators)),
        "check": _check_json(d.check),
    }
    if values is not None:
        out["total_value"] = _as_lists(values[0])
    return out


def _as_lists(a):
    import numpy as np

    return np.asarray(a, dtype=float).tolist()


def jacobian_json(j) -> dict:
    return {
        "cell": j.cell.name,
        "form": "matrix",
        "wrt": "state",
        "state": list(j.cell.state),
        "entries": [[derivation_json(d) for d in row] for row in j.entries],
        "check": _check_json(j.check),
    }


def sum_latex(d) -> str:
    """``\\begin{aligned} lhs &= sum of terms \\end{aligned}`` (for Jupyter)."""
    p = _printer(d, "latex")
    lhs, rhs = p.item(D(d.target, d.source)), p.item(Sum(d.operators))
    return f"\\begin{{aligned}} {lhs} &= {rhs} \\end{{aligned}}"
