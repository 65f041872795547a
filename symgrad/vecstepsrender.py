r"""The K-step derivative in matrix form as a document, and as JSON.

The n-dimensional counterpart of :func:`symgrad.documents.multistep_document`,
section for section: the cell and its convention, the article's product
:math:`P = A_{t+K-1} \cdots A_t`, the exact derivative
:math:`[J_{t+K-1} \cdots J_t\, e_{t-1}]_c` with the state Jacobian's blocks,
the paths the product leaves out (:math:`M_k`, each a product of the engine's
blocks with the change :math:`\delta` through the value the convention holds
fixed), the gates of each path term by term where they are explicit, the sum
and the check. Printed by :func:`symgrad.render.render` (rows too wide for the
page broken at their sums) with the matrix-form printers
:class:`~symgrad.linear.VectorLatex` and :class:`~symgrad.linear.VectorText`.
Works on a :class:`symgrad.vecsteps.VectorMultiStep`, read by attribute.
"""

from __future__ import annotations

from .documents import (
    a_name,
    article_product_blocks,
    convention_blocks,
    delta_name,
    m_name,
    step_index,
)
from .linear import VectorLatex, VectorText
from .render import AsWritten, Block, D, Line, Matrix, Name, Prod, Sum, Total, render, text_name
from .text import Code, Math, Prose, plain
from .text import prose as read_prose
from .vecrender import notation, prose

__all__ = ["steps_document", "steps_json", "steps_render"]


def _printers(ms) -> tuple:
    columns = ms.vcell.columns
    return (
        VectorLatex(ms.cell, ms.ranges, columns, ms.names),
        VectorText(ms.cell, ms.ranges, columns, ms.names),
    )


def _j(k: int) -> tuple[str, str]:
    return f"J_{{{step_index(k)}}}", f"J_{{{step_index(k)}}}" if k else "J_t"


def _product(last: int, sub: str) -> Name:
    """``[J_{t+last} ... J_t e_{t-1}]_sub``."""
    pairs = [_j(k) for k in range(last, -1, -1)]
    latex = " ".join(p[0] for p in pairs)
    text = " ".join(p[1] for p in pairs)
    return Name(rf"\Big[{latex}\, e_{{t-1}}\Big]_{{{sub}}}", f"[{text} e_{{t-1}}]_{text_name(sub)}")


def _state_tangent(ms) -> Name:
    """ds_{t-1}/dc_{t-1}: the whole previous state's derivative in the source."""
    source = ms.names[ms.source]
    return Name(rf"\frac{{d s_{{t-1}}}}{{d {source}}}", f"ds_{{t-1}}/d{text_name(source)}")


def _math(ms, name: str) -> Math:
    return Math(ms.names[name], text_name(ms.names[name]))


def _inline(printers, item) -> Math:
    return Math(printers[0].item(item), printers[1].item(item))


def _notation(ms, printers) -> Prose:
    return prose(notation(ms.one_step), printers) + Prose(
        " Matrices multiply in order: in a product over steps the later steps stand on the left."
    )


def _gate_note(ms, segments, weights) -> Prose:
    """``6 gates: 2 | 2 | 2 around U_f, U_o; 1-D: 6``."""
    total = sum(len(s) for s in segments)
    gates = f"{total} gate" + ("" if total == 1 else "s")
    if not weights:
        return Prose(f"{gates}, all on one diagonal: as in 1-D")
    counts = " | ".join(str(len(s)) for s in segments)
    names = Prose.join(", ", [_math(ms, w) for w in weights])
    return Prose(f"{gates}: {counts} around ", names, f"; 1-D: {total}")


def _check_prose(check) -> Prose:
    """The check's method and detail (prose with ``$math$`` and code)."""
    return Prose(f"{check.method}: ", read_prose(check.detail), ".")


def _entry_path(ms, p, coefficient, via):
    """A term of the entry's chain rule at step t+k+1: diag(c_t) ∂f_{t+1}/∂h_t."""
    if via is None:
        return coefficient
    return Prod((coefficient, D(via, f"{p.state}@{p.step}")))


def _delta_value(ms, p):
    if len(p.delta) == 1 and p.delta[0][1] is None:
        return p.delta[0][0]
    return Sum(
        tuple(
            c if t is None else Prod((c, Total(f"{ms.cell.state[t[0]]}@{t[1]}", ms.source)))
            for c, t in p.delta
        )
    )


def _delta_spelled(ms, p):
    """δ by the chain rule: ∂h_t/∂o_t do_t/dc_{t-1}, or the state's own tangent."""
    at = f"@{p.step}"
    if p.held == (p.state,):
        return Total(f"{p.state}{at}", ms.source)
    return Sum(
        tuple(Prod((D(f"{p.state}{at}", f"{w}{at}"), Total(f"{w}{at}", ms.source))) for w in p.held)
    )


def steps_document(ms) -> list[Block]:
    """The blocks of the document (see the module docstring)."""
    cell, d = ms.cell, ms.one_step
    printers = _printers(ms)
    k_steps = f"{ms.steps}-step"
    lhs = Total(f"{ms.target}@{ms.steps - 1}", d.source)
    product = Name("P", "P")
    blocks = [
        Block(
            "title",
            Prose(
                Code(cell.name),
                f": the {k_steps} derivative in matrix form (hidden size n), exact and the "
                "article's product",
            ),
        ),
        Block("heading", "Notation"),
        Block("para", _notation(ms, printers)),
        Block("heading", "Cell"),
        Block("lines", [Line(s, (AsWritten(e),)) for s, e in ms.vcell.display.items()]),
    ]
    if d.carry:
        blocks += convention_blocks(d.carry, d.source, lambda n: _math(ms, n))
    blocks += article_product_blocks(
        Line(a_name(0), (D(d.target, d.source), Sum(d.operators))), ms.steps, "n x n matrix"
    )
    blocks += _exact_blocks(ms, lhs)
    blocks += _path_blocks(ms)
    blocks += _gate_blocks(ms, printers)
    total = Sum((product, *(m_name(k + 1) for k in range(len(ms.paths)))))
    blocks += [
        Block("heading", "Sum"),
        Block("lines", [Line(lhs, (total,))]),
        Block("heading", "Check"),
        Block("para", _check_prose(ms.check)),
    ]
    return blocks


def _exact_blocks(ms, lhs) -> list[Block]:
    cell = ms.cell
    entries = ms.jacobian.entries
    labels = Matrix([[D(e.target, e.source) for e in row] for row in entries])
    lines = [
        Line(D(e.target, e.source), (Sum(e.operators) if e.terms else 0,))
        for row in entries
        for e in row
    ]
    tangent = Matrix([[0 if c is None else c] for c in ms.tangent])
    states = Prose.join(", ", [_math(ms, s) for s in cell.state])
    blocks = [
        Block("heading", "The exact derivative"),
        Block(
            "para",
            Prose(
                "The exact one-step state Jacobian of (",
                states,
                "): every state, no convention; each entry an n x n block, the other "
                "previous-step states held fixed:",
            ),
        ),
        Block("lines", [Line(Name("J_t", "J_t"), (labels,)), *lines]),
        Block(
            "para",
            Prose(
                Math("J_{t+k}"),
                " is the same with every index moved on by ",
                Math("k"),
                ". The exact derivative is the product of the state Jacobians applied to the "
                "convention's tangent of the state at step ",
                Math("t-1"),
                ":",
            ),
        ),
        Block(
            "lines",
            [
                Line(Name("e_{t-1}", "e_{t-1}"), (_state_tangent(ms), tangent)),
                Line(lhs, (_product(ms.steps - 1, ms.target),)),
            ],
        ),
    ]
    if ms.tangents:
        blocks += [
            Block(
                "para",
                Prose(
                    "The paths below read the exact tangents of earlier steps (n x n blocks "
                    "of the same product, named rather than expanded):"
                ),
            ),
            Block(
                "lines",
                [
                    Line(Total(f"{cell.state[j]}@{m}", ms.source), (_product(m, cell.state[j]),))
                    for j, m in ms.tangents
                ],
            ),
        ]
    return blocks


def _path_blocks(ms) -> list[Block]:
    if not ms.paths:
        return []
    lines = []
    for k, p in enumerate(ms.paths):
        entry = D(f"{ms.target}@{p.step + 1}", f"{p.state}@{p.step}")
        spelled = _delta_spelled(ms, p)
        lines += [
            Line(entry, (Sum(tuple(op for _, _, op in p.entry)),)),
            Line(delta_name(p.step), (spelled, _delta_value(ms, p))),
            Line(
                m_name(k + 1),
                (Prod((*(a_name(j) for j in p.later[::-1]), entry, delta_name(p.step))),),
                Prose("through ", Prose.join(", ", [_math(ms, f"{w}@{p.step}") for w in p.held])),
            ),
        ]
    return [
        Block("heading", "The paths the product leaves out"),
        Block(
            "para",
            Prose(
                "The exact derivative minus the product: each path runs through a value the "
                "one-step convention holds fixed (",
                Math(r"\delta", "δ"),
                ": the change it brings to the state, an n x n matrix):",
            ),
        ),
        Block("lines", lines),
    ]


def _gate_blocks(ms, printers) -> list[Block]:
    lines = []
    for p in ms.paths:
        for (coefficient, via, _), (_, (segments, weights)) in zip(p.entry, p.gates, strict=False):
            term = Prod((_entry_path(ms, p, coefficient, via), delta_name(p.step)))
            lines.append(Line(term, (), _gate_note(ms, segments, weights)))
    if not lines:
        return []
    return [
        Block("heading", "Gates in n dimensions"),
        Block(
            "para",
            Prose(
                "Each term of a path whose ",
                Math(r"\delta", "δ"),
                " is explicit, multiplied out, is a product of diagonal factors and weights. "
                "In 1-D all its gates multiply one number and compound; in n-D only the gates "
                "between two weights scale the same coordinates, so a gate on one side of a "
                "weight does not damp a coordinate the gate on the other side leaves large. "
                "The gates of each stretch, left to right:",
            ),
        ),
        Block("lines", lines),
    ]


def steps_render(ms, fmt: str = "latex", standalone: bool = False) -> str:
    """The document in ``fmt`` ("latex", "text", "markdown" or "mathjax")."""
    printers = _printers(ms)
    return render(
        steps_document(ms), fmt, ms.cell, ms.ranges, standalone, ms.names, printers=printers
    )


def steps_json(ms) -> dict:
    """The K-step derivative as JSON data: the article's factor, the state
    Jacobian's blocks and the convention's tangent (LaTeX and text), the exact
    form, each missed path (its entry, delta and gates) and the check."""
    latex, text = _printers(ms)
    d = ms.one_step

    def both(item) -> dict:
        return {"latex": latex.item(item), "text": text.item(item)}

    paths = []
    for p in ms.paths:
        entry = Sum(tuple(op for _, _, op in p.entry))
        paths.append(
            {
                "step": p.step,
                "state": p.state,
                "through": list(p.held),
                "later": list(p.later),
                "entry": both(entry),
                "delta": both(_delta_value(ms, p)),
                "reads": [{"state": ms.cell.state[j], "step": m} for j, m in p.tangents],
                "gates": [
                    {
                        "term": both(_entry_path(ms, p, coefficient, via)),
                        "segments": [len(s) for s in segments],
                        "weights": list(weights),
                        "gate_count_1d": sum(len(s) for s in segments),
                    }
                    for (coefficient, via, _), (_, (segments, weights)) in zip(
                        p.entry, p.gates, strict=False
                    )
                ],
            }
        )
    return {
        "cell": ms.cell.name,
        "form": "matrix",
        "steps": ms.steps,
        "target": ms.target,
        "source": ms.source,
        "inputs": ms.inputs,
        "convention": {p.name: latex.doprint(e) for p, e in d.carry.items()},
        "one_step": both(Sum(d.operators)),
        "state": list(ms.cell.state),
        "state_jacobian": [
            [both(Sum(e.operators)) if e.terms else {"latex": "0", "text": "0"} for e in row]
            for row in ms.jacobian.entries
        ],
        "tangent": [{"latex": "0", "text": "0"} if c is None else both(c) for c in ms.tangent],
        "exact_latex": latex.item(_product(ms.steps - 1, ms.target)),
        "paths": paths,
        "check": {
            "method": ms.check.method,
            "passed": ms.check.passed,
            "detail": plain(ms.check.detail),
            "max_error": ms.check.max_error,
        },
    }
