r"""What symgrad prints about a cell and its derivatives, written once.

Each function here builds a document, a list of :class:`~symgrad.render.Block`
s (title, headings, paragraphs of :class:`~symgrad.text.Prose`, aligned
equations), that :func:`symgrad.render.render` prints as LaTeX, Markdown,
MathJax (notebooks) or Unicode text: a cell (:func:`cell_document`), a
one-step derivative (:func:`derivation_document`), the exact state Jacobian
(:func:`jacobian_document`), the K-step derivative
(:func:`multistep_document`). Beside them the JSON data of the same objects,
whose ``*_latex`` fields are single unbroken formulas.
"""

from __future__ import annotations

import re

from .cells import Cell, prev_name
from .render import (
    AsWritten,
    Block,
    D,
    Factors,
    LatexMath,
    Line,
    Matrix,
    Name,
    Prod,
    Sum,
    TextMath,
    Total,
    inline_math,
    render,
    text_name,
)
from .text import Code, Math, Prose, ascii_prose, plain, prose, typed_number

__all__ = [
    "ALL_PARTS",
    "cell_document",
    "cell_json",
    "cell_prose_names",
    "derivation_document",
    "derivation_json",
    "derivation_latex",
    "jacobian_document",
    "jacobian_json",
    "jacobian_latex",
    "multistep_document",
    "multistep_json",
    "notebook",
    "point_prose",
]

ALL_PARTS = ("cell", "convention", "chain", "partials", "terms", "sum", "check")

# ---------------------------------------------------------------- prose about a cell


def cell_prose_names(cell: Cell) -> dict:
    """ASCII -> LaTeX of every name a cell's prose may use: the cell's own
    names (``c_prev`` -> ``c_{t-1}``), each value at step t and t-1 as
    formulas write it (``z_t``, ``h_{t-1}``) and a value's bare name without
    its time index (``z``, ``c_hat`` -> ``\\hat{c}``)."""
    names = dict(cell.latex)
    for v in cell.values:
        names[f"{v}_t"] = cell.latex[v]
        names[f"{v}_{{t-1}}"] = cell.latex[prev_name(v)]
        names[v] = re.sub(r"_(?:t|\{t\})$", "", cell.latex[v])
    return names


def _m(cell: Cell, name: str) -> Math:
    """One name of the cell as inline math."""
    return Math(cell.latex[name], text_name(cell.latex[name]))


def partial_math(cell: Cell, num: str, den: str) -> Math:
    """The partial derivative of value ``num`` in ``den``, inline: ∂c_t/∂c_{t-1}."""
    a, b = cell.latex[num], cell.latex[den]
    return Math(rf"\partial {a}/\partial {b}", f"∂{text_name(a)}/∂{text_name(b)}")


def convention_blocks(carry: dict, source: str, name) -> list[Block]:
    """The "Convention" heading, sentence and equations of a derivative that
    differentiates the previous step's closing equation too (``carry``: the
    previous value -> its expression); ``name(n)``: a name held fixed as
    :class:`~symgrad.text.Math`."""
    held = sorted({s.name for e in carry.values() for s in e.free_symbols} - {source})
    return [
        Block("heading", "Convention"),
        Block(
            "para",
            Prose(
                "The previous step's closing equation is differentiated too, with ",
                Prose.join(", ", [name(n) for n in held]),
                " held fixed (the article's one-step convention):",
            ),
        ),
        Block("lines", [Line(p, (e,)) for p, e in carry.items()]),
    ]


def _names_list(cell: Cell, names) -> Prose:
    return Prose.join(", ", [_m(cell, n) for n in names])


def document_title(cell: Cell, *rest) -> Prose:
    return Prose(Code(cell.name), ": ", *rest)


def point_prose(cell: Cell, point: dict, typed: dict | None = None, names=None) -> Prose:
    """ "At x_t = 0.5, W_f = 1, ...:", every number as the user typed it
    (``typed``: name -> text) or, failing that, as the exact number it is."""
    latex = cell.latex if names is None else names
    typed = typed or {}
    parts = []
    for name, value in point.items():
        number = typed_number(typed.get(name, str(value)))
        tex = latex.get(name, name)
        parts.append(Math(f"{tex} = {number.latex}", f"{text_name(tex)} = {number.text}"))
    return Prose("At ", Prose.join(", ", parts), ":")


_SYMBOLIC = "expand(sum of terms - d raw/d source) = 0, "
_NUMERIC = "sum of terms = d raw/d source "


def _check_prose(check, lhs: Math) -> Prose:
    """A check's method and the engine's detail, its "d raw/d source" said
    as the derivative it is."""
    detail = check.detail
    if detail.startswith(_SYMBOLIC):
        said = Prose(
            "with every value replaced by its definition, the sum of the terms minus ",
            lhs,
            " of the raw target expands to ",
            Math("0"),
            " (",
            prose(detail[len(_SYMBOLIC) :]),
            ")",
        )
    elif detail.startswith(_NUMERIC):
        said = Prose("the sum of the terms equals ", lhs, " of the raw target ")
        said += prose(detail[len(_NUMERIC) :])
    else:
        said = prose(detail)
    return Prose(f"{check.method}: ", said, ".")


def _lines(*lines) -> Block:
    return Block("lines", list(lines))


def _equations(cell: Cell, notes: bool = False) -> Block:
    return Block(
        "lines",
        [
            Line(eq.symbol, (AsWritten(eq.display),), (eq.kind or "") if notes else "")
            for eq in cell.equations
        ],
    )


# ---------------------------------------------------------------- a cell


def cell_document(cell: Cell) -> list[Block]:
    """The cell's docstring (its formulas as mathematics), equations and names."""
    names = cell_prose_names(cell)
    paragraphs = [p for p in re.split(r"\n\s*\n", cell.doc) if p.strip()]
    state = [f"{s}" for s in cell.state]
    return [
        Block("title", Prose("Cell ", Code(cell.name))),
        *(Block("para", ascii_prose(p.strip(), names)) for p in paragraphs),
        _equations(cell, notes=True),
        Block(
            "para",
            Prose(
                "State: ",
                _names_list(cell, state),
                ". Inputs: ",
                _names_list(cell, cell.inputs),
                ". Parameters: ",
                _names_list(cell, cell.params),
                ".",
            ),
        ),
    ]


def cell_json(cell: Cell) -> dict:
    return {
        "name": cell.name,
        "doc": cell.doc,
        "inputs": list(cell.inputs),
        "params": list(cell.params),
        "state": list(cell.state),
        "default": {"target": cell.target, "source": cell.source},
        "equations": [
            {"name": eq.name, "latex": eq.latex, "text": eq.text, "kind": eq.kind}
            for eq in cell.equations
        ],
    }


# ---------------------------------------------------------------- a one-step derivative


def _term_path(d, term) -> object:
    """The article's name of a term: c_{t-1} ∂f_t/∂c_{t-1}, or f_t for the direct one."""
    if term.via == d.source:
        return term.coefficient
    return Prod((term.coefficient, D(term.via, d.source)))


def _gate_note(term) -> str:
    gates = f"{term.gate_count} gate" + ("" if term.gate_count == 1 else "s")
    return f"dominant, {gates}" if term.dominant else gates


def _sum(d) -> Sum:
    return Sum(tuple(Factors(t.factors) for t in d.terms))


def _terms_block(d) -> Block:
    terms = [
        Line(Factors(t.factors), (), _gate_note(t))
        if t.via == d.source
        else Line(_term_path(d, t), (Factors(t.factors),), _gate_note(t))
        for t in d.terms
    ]
    if terms:
        return Block("lines", terms)
    # An entry with no path from source to target (a lower layer's state
    # Jacobian entry) has no terms: an empty align* would not compile.
    cell = d.cell
    return Block(
        "para",
        Prose(
            "None: ",
            _m(cell, d.target),
            " does not depend on ",
            _m(cell, d.source),
            " within one step.",
        ),
    )


def derivation_document(d, values=None, parts=ALL_PARTS, typed: dict | None = None) -> list[Block]:
    """Definition, convention, chain rule, partials, terms, sum, check (and,
    with ``values`` = (total, per-term values, point), the values; ``typed``:
    the point's numbers as the user typed them)."""
    cell = d.cell
    lhs = D(d.target, d.source)
    blocks = [
        Block(
            "title", document_title(cell, partial_math(cell, d.target, d.source), " in gate form")
        )
    ]
    if "cell" in parts:
        blocks += [Block("heading", "Cell"), _equations(cell)]
    if d.carry and "convention" in parts:
        blocks += convention_blocks(d.carry, d.source, lambda n: _m(cell, n))
    if d.source in cell.params and "convention" in parts:
        # The article's recursion (the gradient of an RNN is an RNN), of which
        # this derivative is the explicit part.
        through = tuple(Prod((D(d.target, prev), Total(prev, d.source))) for prev in cell.prevs)
        blocks += [
            Block("heading", "Recursion"),
            Block(
                "para",
                Prose(
                    "The explicit part of the recursion below: every previous-step value is "
                    "held fixed, the rest of ",
                    inline_math(Total(d.target, d.source), cell),
                    " flows through the previous state.",
                ),
            ),
            _lines(Line(Total(d.target, d.source), (Sum((*through, lhs)),))),
        ]
    if "chain" in parts:
        blocks += [
            Block("heading", "Chain rule"),
            _lines(Line(lhs, (Sum(tuple(_term_path(d, t) for t in d.terms)),))),
        ]
    partials = []
    for v, chain in d.steps.items():
        if v.name == d.target:
            continue  # spelled out below, term by term
        gate = Factors(d.links[v])
        spelled = Sum(
            tuple(
                step if w.name == d.source else Prod((step, D(w.name, d.source)))
                for w, step in chain
            )
        )
        direct = len(chain) == 1 and chain[0][0].name == d.source
        partials.append(Line(D(v.name, d.source), (gate,) if direct else (spelled, gate)))
    if partials and "partials" in parts:
        blocks += [Block("heading", "Partials in gate form"), Block("lines", partials)]
    if "terms" in parts:
        blocks += [Block("heading", "Terms"), _terms_block(d)]
    if "sum" in parts:
        blocks += [Block("heading", "Sum"), _lines(Line(lhs, (_sum(d),)))]
    if "check" in parts:
        blocks += [
            Block("heading", "Check"),
            Block("para", _check_prose(d.check, partial_math(cell, d.target, d.source))),
        ]
    if values is not None:
        value, per_term, point = values
        rows = [Line(_term_path(d, t), (_num(v),)) for t, v in zip(d.terms, per_term, strict=True)]
        blocks += _value_blocks(cell, point, typed, [*rows, Line(lhs, (_num(value),), "total")])
    return blocks


def _value_blocks(cell: Cell, point: dict, typed, lines, names=None) -> list[Block]:
    """The Value section: the point (as typed), then ``lines`` of numbers."""
    return [
        Block("heading", "Value"),
        Block("para", point_prose(cell, point, typed, names)),
        Block("lines", lines),
    ]


def _num(value):
    import sympy

    return sympy.Float(value, 15)


def derivation_latex(d, standalone=False, environment=None, steps=True) -> str:
    """The derivation as LaTeX; ``steps=False`` gives only the terms' sum, in
    ``environment`` (default ``equation*``; ``aligned`` for MathJax)."""
    printer = LatexMath(d.cell, d.ranges)
    if not steps:
        lhs = printer.item(D(d.target, d.source))
        rhs = printer.item(_sum(d))
        env = environment or "equation*"
        if env == "aligned":
            return f"\\begin{{aligned}} {lhs} &= {rhs} \\end{{aligned}}"
        return f"\\begin{{{env}}}\n  {lhs} = {rhs}\n\\end{{{env}}}\n"
    return render(derivation_document(d), "latex", d.cell, d.ranges, standalone)


def derivation_json(d, values=None) -> dict:
    """The derivation as JSON data: per term ``name``, ``path``, ``latex``,
    ``text``, ``gate_count``, ``dominant`` (and ``value`` with ``values``)."""
    latex, text = LatexMath(d.cell, d.ranges), TextMath(d.cell, d.ranges)
    terms = []
    per_term = values[1] if values else [None] * len(d.terms)
    for t, v in zip(d.terms, per_term, strict=True):
        entry = {
            "name": t.via,
            "path": latex.item(_term_path(d, t)),
            "latex": latex.item(Factors(t.factors)),
            "text": text.item(Factors(t.factors)),
            "gate_count": t.gate_count,
            "dominant": t.dominant,
        }
        if values is not None:
            entry["value"] = float(v)
        terms.append(entry)
    out = {
        "cell": d.cell.name,
        "target": d.target,
        "source": d.source,
        "derivative": latex.item(D(d.target, d.source)),
        "convention": {p.name: latex.doprint(e) for p, e in d.carry.items()},
        "terms": terms,
        "total_latex": latex.item(_sum(d)),
        "check": {
            "method": d.check.method,
            "passed": d.check.passed,
            "detail": plain(d.check.detail),
        },
    }
    if values is not None:
        out["point"] = {k: float(v) for k, v in values[2].items()}
        out["total_value"] = float(values[0])
    return out


# ---------------------------------------------------------------- the exact state Jacobian


def _state_tuple(cell: Cell, suffix: str = "") -> Prose:
    """(c_t, h_t) with each name as math, so that a line may break after a comma."""
    names = [cell.latex[prev_name(s) if suffix else s] for s in cell.state]
    return Prose("(", Prose.join(", ", [Math(n, text_name(n)) for n in names]), ")")


def _tangent(cell: Cell, article) -> list:
    """The convention's tangent d s_{t-1}/d source, state by state: 1 for the
    source, the carried values' path derivatives, 0 for states held fixed."""
    out = []
    for s in cell.state:
        prev = cell.symbol(prev_name(s))
        if prev.name == article.source:
            out.append(1)
        elif prev in article.carry:
            out.append(Factors(article.links[prev]))
        else:
            out.append(0)
    return out


def _article_term(j, article) -> list[Block]:
    """A_t = [J_t e_{t-1}]_c: the article's one-step derivative as the row of
    the state Jacobian for the target applied to the convention's tangent."""
    cell = j.cell
    target, source = article.target, article.source
    tangent = _tangent(cell, article)
    row = next(r for r in j.entries if r[0].target == target)
    through = []
    for entry, e in zip(row, tangent, strict=True):
        if e == 1:
            through.append(D(target, entry.source))
        elif e != 0:
            through.append(Prod((D(target, entry.source), e)))
    base = re.sub(r"_(?:t|\{t\})$", "", cell.latex[target])
    e_name = Name("e_{t-1}", "e_{t-1}")
    product = Name(rf"\left[J_t e_{{t-1}}\right]_{{{base}}}", f"[J_t e_{{t-1}}]_{text_name(base)}")
    held = sorted({s.name for e in article.carry.values() for s in e.free_symbols} - {source})
    because = (
        Prose(" with ", _names_list(cell, held), " held fixed") if held else Prose(" as it stands")
    )
    return [
        Block("heading", "The article's term"),
        Block(
            "para",
            Prose(
                "The article's one-step derivative ",
                Math("A_t"),
                " is ",
                partial_math(cell, target, source),
                " under its convention: the state of step ",
                Math("t-1"),
                " moves along the tangent ",
                Math("e_{t-1}"),
                " of ",
                _m(cell, source),
                because,
                ", and ",
                Math("A_t"),
                " is the ",
                _m(cell, target),
                " entry of ",
                Math("J_t e_{t-1}"),
                ":",
            ),
        ),
        _lines(Line(e_name, (Matrix([[x] for x in tangent]),))),
        _lines(Line(Name("A_t", "A_t"), (product, Sum(tuple(through)), _sum(article)))),
    ]


def jacobian_document(j, article=None, values=None, typed: dict | None = None) -> list[Block]:
    """The exact one-step state Jacobian ``j``: the cell, the matrix of
    partials, each entry's chain rule, sum and terms, and (``article``: the
    cell's default derivative, under the article's convention) the
    article's term A_t = [J_t e_{t-1}]_c. ``values``: (matrix of totals, per
    entry (total, per-term values), point) from :meth:`StateJacobian.evaluate`."""
    cell = j.cell
    labels = Matrix([[D(d.target, d.source) for d in row] for row in j.entries])
    blocks = [
        Block(
            "title",
            document_title(cell, "the exact one-step state Jacobian of ", _state_tuple(cell)),
        ),
        Block("heading", "Cell"),
        _equations(cell),
        Block("heading", "State Jacobian"),
        Block(
            "para",
            Prose(
                "The partials of the state ",
                _state_tuple(cell),
                " in the previous state ",
                _state_tuple(cell, "prev"),
                ", each with the other previous-step state held fixed (no one-step convention):",
            ),
        ),
        _lines(Line(Name("J_t", "J_t"), (labels,))),
    ]
    for row in j.entries:
        for d in row:
            lhs = D(d.target, d.source)
            paths = Sum(tuple(_term_path(d, t) for t in d.terms))
            rhs = (paths, _sum(d)) if any(t.via != d.source for t in d.terms) else (_sum(d),)
            blocks += [Block("heading", Prose(partial_math(cell, d.target, d.source)))]
            if len(d.terms) == 1:  # its one term: the chain rule and the gate count
                blocks.append(_lines(Line(lhs, rhs, _gate_note(d.terms[0]))))
                continue
            if d.terms:
                blocks.append(_lines(Line(lhs, rhs)))
            blocks.append(_terms_block(d))
    if article is not None and len(cell.state) > 1:
        blocks += _article_term(j, article)
    blocks += [
        Block("heading", "Check"),
        Block("para", Prose(f"{j.check.method}: ", prose(j.check.detail), ".")),
    ]
    if values is not None:
        matrix, _, point = values
        numbers = Matrix([[_num(v) for v in r] for r in matrix.tolist()])
        blocks += _value_blocks(cell, point, typed, [Line(Name("J_t", "J_t"), (numbers,))])
    return blocks


def jacobian_latex(j, standalone=False, article=None) -> str:
    ranges = j.entries[0][0].ranges
    return render(jacobian_document(j, article), "latex", j.cell, ranges, standalone)


def jacobian_json(j, values=None) -> dict:
    """The state Jacobian as JSON: every entry's :func:`derivation_json` (with
    its values, given ``values`` from :meth:`StateJacobian.evaluate`), and
    ``matrix_value``."""
    cell = j.cell
    per_entry = values[1] if values else [[None] * len(r) for r in j.entries]
    entries = []
    for row, row_values in zip(j.entries, per_entry, strict=True):
        out_row = []
        for d, v in zip(row, row_values, strict=True):
            point = values and {k: p for k, p in values[2].items() if k in d.free_names}
            out_row.append(derivation_json(d, v and (v[0], v[1], point)))
        entries.append(out_row)
    out = {
        "cell": cell.name,
        "wrt": "state",
        "state": list(cell.state),
        "entries": entries,
        "check": {"method": j.check.method, "passed": j.check.passed},
    }
    if values is not None:
        out["point"] = {k: float(v) for k, v in values[2].items()}
        out["matrix_value"] = [[float(v) for v in r] for r in values[0].tolist()]
    return out


# ---------------------------------------------------------------- the K-step derivative


# The K-step notation, shared with the matrix form (vecstepsrender): A_{t+k}
# the article's one-step derivative at step t+k, delta_{t+k} a missed path's
# entry tangent, M_k the k-th missed path, P the article's product.


def step_index(k: int) -> str:
    return "t" if k == 0 else f"t+{k}"


def _indexed(latex: str, text: str, k: int) -> Name:
    index = step_index(k)
    return Name(f"{latex}_{{{index}}}", f"{text}_{{{index}}}" if k else f"{text}_t")


def a_name(k: int) -> Name:
    return _indexed("A", "A", k)


def delta_name(k: int) -> Name:
    return _indexed("\\delta", "δ", k)


def m_name(k: int) -> Name:
    return Name(f"M_{{{k}}}", f"M_{k}")


def article_product_blocks(one_step: Line, steps: int, what: str) -> list[Block]:
    """The article's K-step derivative: ``one_step`` (A_t's line), then
    A_{t+K-1} ... A_t, each A ``what`` ("expression", "n x n matrix") at its step."""
    return [
        Block("heading", "The article's product"),
        _lines(one_step),
        Block(
            "para",
            Prose(
                Math("A"),
                " at step ",
                Math("t+k"),
                f" is the same {what} with every index moved on by ",
                Math("k"),
                f"; the article's {steps}-step derivative is the product of the one-step ones:",
            ),
        ),
        _lines(Line(Name("P", "P"), (Prod(tuple(a_name(k) for k in range(steps - 1, -1, -1))),))),
    ]


def _exact_latex(ms) -> str:
    jacobians = " ".join(f"J_{{{step_index(k)}}}" for k in range(ms.steps - 1, -1, -1))
    source = ms.cell.latex[ms.source]
    return rf"\Big[{jacobians}\, \frac{{d s_{{t-1}}}}{{d {source}}}\Big]_{{{ms.target}}}"


def _exact_text(ms) -> str:
    jacobians = " ".join(
        f"J_{{{step_index(k)}}}" if k else "J_t" for k in range(ms.steps - 1, -1, -1)
    )
    return f"[{jacobians} ds_{{t-1}}/d{text_name(ms.cell.latex[ms.source])}]_{ms.target}"


def _ordered(expr, ms) -> tuple:
    """A product's factors in the paper's order, for printing."""
    from .render import product_order

    coeff, factors = expr.as_coeff_mul()
    ordered = tuple(product_order(factors, ms.cell, ms.ranges))
    return ordered if coeff == 1 else (coeff, *ordered)


def multistep_document(ms, values=None, typed: dict | None = None) -> list[Block]:
    """The exact K-step derivative, the article's product of one-step
    derivatives, and the paths between them (a :class:`symgrad.multistep.MultiStep`);
    ``values``: (its :meth:`evaluate` result, point)."""
    d, cell = ms.one_step, ms.cell
    lhs = Total(f"{ms.target}@{ms.steps - 1}", d.source)
    product = Name("P", "P")
    k_steps = f"{ms.steps}-step"
    blocks = [
        Block(
            "title",
            document_title(cell, f"the {k_steps} derivative, exact and the article's product"),
        ),
        Block("heading", "Cell"),
        _equations(cell),
    ]
    blocks += derivation_document(d, parts=("convention",))[1:]
    blocks += article_product_blocks(
        Line(a_name(0), (D(d.target, d.source), _sum(d))), ms.steps, "expression"
    )
    blocks += [
        Block("heading", "The exact derivative"),
        Block(
            "para",
            Prose(
                "The product of the exact state Jacobians (every state, no convention) "
                "applied to the convention's tangent of the state at step ",
                Math("t-1"),
                ":",
            ),
        ),
        _lines(Line(lhs, (Name(_exact_latex(ms), _exact_text(ms)),))),
    ]
    missed = []
    for k, path in enumerate(ms.paths):
        at = f"@{path.step}"
        delta = delta_name(path.step)
        entry = D(f"{ms.target}@{path.step + 1}", f"{path.state}{at}")
        held = Prose.join(
            ", ", [Math(ms.names[f"{w}{at}"], text_name(ms.names[f"{w}{at}"])) for w in path.held]
        )
        through = tuple(
            Prod((D(f"{path.state}{at}", f"{w}{at}"), Total(f"{w}{at}", d.source)))
            for w in path.held
            if w != path.state
        )
        name = m_name(k + 1)
        missed += [
            Line(entry, (Factors(_ordered(path.entry, ms)),)),
            Line(delta, (*((Sum(through),) if through else ()), Factors(_ordered(path.delta, ms)))),
            Line(
                name,
                (Prod((*(a_name(j) for j in path.later[::-1]), entry, delta)),),
                Prose("through ", held),
            ),
        ]
    if missed:
        blocks += [
            Block("heading", "The paths the product leaves out"),
            Block(
                "para",
                Prose(
                    "The exact derivative minus the product: each path runs through a value "
                    "the one-step convention holds fixed (",
                    Math(r"\delta"),
                    ": the change it brings to the state):",
                ),
            ),
            Block("lines", missed),
        ]
    total = Sum((product, *(m_name(k + 1) for k in range(len(ms.paths)))))
    blocks += [
        Block("heading", "Sum"),
        _lines(Line(lhs, (total,))),
        Block("heading", "Check"),
        Block("para", Prose(f"{ms.check.method}: ", prose(ms.check.detail), ".")),
    ]
    if values is not None:
        result, point = values
        rows = [Line(product, (_num(result["product"]),), "the article's product")]
        rows += [Line(m_name(k + 1), (_num(v),)) for k, v in enumerate(result["paths"])]
        rows.append(Line(lhs, (_num(result["exact"]),), "exact"))
        blocks += _value_blocks(cell, point, typed, rows, ms.names)
    return blocks


def multistep_json(ms, values=None) -> dict:
    """A :class:`symgrad.multistep.MultiStep` as JSON data: the article's factor,
    product and exact derivative in LaTeX, each missed path, and with ``values``
    (from ``--at``) ``total_value`` (exact) and ``product_value``."""
    latex = LatexMath(ms.cell, ms.ranges, ms.names)
    d = ms.one_step
    out = {
        "cell": ms.cell.name,
        "steps": ms.steps,
        "target": ms.target,
        "source": ms.source,
        "inputs": ms.inputs,
        "convention": {p.name: latex.doprint(e) for p, e in d.carry.items()},
        "one_step_latex": latex.item(_sum(d)),
        "exact_latex": _exact_latex(ms),
        "paths": [
            {
                "step": p.step,
                "state": p.state,
                "through": list(p.held),
                "latex": latex.item(Factors(_ordered(p.expr, ms))),
            }
            for p in ms.paths
        ],
        "check": {"method": ms.check.method, "passed": ms.check.passed, "detail": ms.check.detail},
    }
    if values is not None:
        result, point = values
        out["point"] = {k: float(v) for k, v in point.items()}
        out["total_value"] = float(result["exact"])
        out["product_value"] = float(result["product"])
        for entry, value in zip(out["paths"], result["paths"], strict=True):
            entry["value"] = float(value)
    return out


# ---------------------------------------------------------------- notebooks


def notebook(obj, fmt: str, article=None) -> str:
    """``obj`` (a Derivation, StateJacobian or MultiStep) whole, as Jupyter
    shows it: ``fmt`` "markdown" (``text/markdown``) or "mathjax"
    (``text/latex``: text with ``$...$`` and ``$$\\begin{aligned}...$$``,
    which MathJax sets; no ``align*``, no ``\\paragraph``). ``article``: a
    state Jacobian's cell's default derivative, for its term A_t."""
    if hasattr(obj, "entries"):
        blocks = jacobian_document(obj, article)
        return render(blocks, fmt, obj.cell, obj.entries[0][0].ranges)
    if hasattr(obj, "paths"):
        return render(multistep_document(obj), fmt, obj.cell, obj.ranges, names=obj.names)
    return render(derivation_document(obj), fmt, obj.cell, obj.ranges)
