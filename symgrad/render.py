"""Derivations and cells as LaTeX, Unicode text, Markdown and JSON.

A document is built once as a list of blocks (headings, paragraphs, aligned
equations) whose math is SymPy expressions and partial-derivative symbols;
each format then prints the same blocks. The printers keep the gate form the
engine produced: no ``simplify``, factors in the paper's order (gates, other
factors, parameters), :math:`\\sigma` for the sigmoid, :math:`[u > 0]` for
relu's derivative and :math:`\\tanh^2 c_{t-1}` rather than a call.
"""

from __future__ import annotations

import re

import sympy
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.str import StrPrinter

from .cells import Cell
from .ranges import factor_rank
from .text import dumps as dumps

__all__ = [
    "FORMATS",
    "cell_document",
    "derivation_document",
    "derivation_latex",
    "jacobian_latex",
    "render",
    "text_name",
]

FORMATS = ("latex", "text", "markdown", "json")

# ---------------------------------------------------------------- math items


class _Item:
    """A small immutable record; plain classes, as dataclasses would cost
    ``symgrad derive`` a few milliseconds of its start-up budget each."""

    __slots__ = ()

    _fields: tuple = ()

    def __init__(self, *values):
        for name, value in zip(self._fields, values, strict=True):
            object.__setattr__(self, name, value)

    def __setattr__(self, name, value):
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __repr__(self):
        args = ", ".join(repr(getattr(self, n)) for n in self._fields)
        return f"{type(self).__name__}({args})"


class D(_Item):
    """The symbol :math:`\\partial a / \\partial b` (a, b: names of the cell)."""

    __slots__ = _fields = ("num", "den")


class Total(_Item):
    """The total derivative :math:`d a / d b` (a, b: names of the cell)."""

    __slots__ = _fields = ("num", "den")


class Name(_Item):
    """A name that is not a symbol of the cell: ``A_{t+1}``, ``\\delta``."""

    __slots__ = _fields = ("latex", "text")


class Prod(_Item):
    """Juxtaposed factors, e.g. ``c_{t-1} \\partial f_t/\\partial c_{t-1}``."""

    __slots__ = _fields = ("items",)


class Sum(_Item):
    __slots__ = _fields = ("items",)


class Factors(_Item):
    """A product printed in exactly this order (the engine's paper order)."""

    __slots__ = _fields = ("items",)


class AsWritten(_Item):
    """An expression printed in the order it was written (sums and products)."""

    __slots__ = _fields = ("expr",)


class Line(_Item):
    """``lhs = rhs[0] = rhs[1] ...``, with a note printed beside it."""

    __slots__ = _fields = ("lhs", "rhs", "note")

    def __init__(self, lhs, rhs, note=""):
        super().__init__(lhs, rhs, note)


class Block(_Item):
    """``kind``: "title", "heading", "para" or "lines"."""

    __slots__ = _fields = ("kind", "content")


def text_name(latex: str) -> str:
    """``\\hat{c}_t`` -> ``ĉ_t``; ``W_{hn}`` -> ``W_hn``; ``c_{t-1}`` stays."""
    out = re.sub(r"\\(hat|tilde|bar)\{(\w)\}", _accent, latex)
    return re.sub(r"_\{([A-Za-z0-9]+)\}", r"_\1", out)


def _accent(match):
    mark = {"hat": "\u0302", "tilde": "\u0303", "bar": "\u0304"}[match.group(1)]
    return match.group(2) + mark


# ---------------------------------------------------------------- printers


class _Ordering:
    """Shared by both printers: products in paper order, tanh^2 c without a call."""

    def __init__(self, cell: Cell, ranges: dict | None):
        self.cell = cell
        self.ranges = ranges or {}

    def ordered(self, expr, as_written=False):
        if as_written:
            args = expr.args
            if args[0] == -1:
                return sympy.Integer(-1), args[1:]
            return sympy.Integer(1), args
        coeff, factors = expr.as_coeff_mul()
        factors = sorted(factors, key=lambda f: factor_rank(_base(f), self.ranges, self.cell))
        return coeff, factors


def _base(factor):
    return factor.base if factor.is_Pow else factor


class LatexMath(LatexPrinter):
    as_written = False

    def __init__(self, cell: Cell, ranges=None, names=None):
        self.latex_names = cell.latex if names is None else names
        symbols = {sympy.Symbol(n, real=True): tex for n, tex in self.latex_names.items()}
        super().__init__({"symbol_names": symbols, "order": "none"})
        self.ordering = _Ordering(cell, ranges)

    def _print_Mul(self, expr):
        # SymPy prints 1/u through _print_Mul(Pow): ordering that Pow as a product
        # of itself would recurse forever.
        if expr.is_Pow or any(f.is_Pow and f.exp.is_negative for f in expr.args):
            return super()._print_Mul(expr)
        coeff, factors = self.ordering.ordered(expr, self.as_written)
        parts = [self.parenthesize(f, PRECEDENCE["Mul"], strict=False) for f in factors]
        body = " ".join(parts)
        if coeff == 1:
            return body
        if coeff == -1:
            return "- " + body
        return self._print(coeff) + " " + body

    def _print_Heaviside(self, expr):
        return rf"\left[{self._print(expr.args[0])} > 0\right]"

    def _print_tanh(self, expr, exp=None):
        arg = expr.args[0]
        power = "" if exp is None else f"^{{{exp}}}"
        if arg.is_Symbol:
            return rf"\tanh{power} {self._print(arg)}"
        return rf"\tanh{power}\left({self._print(arg)}\right)"

    def _print_Pow(self, expr):
        if isinstance(expr.base, sympy.tanh) and expr.exp.is_Integer and expr.exp > 0:
            return self._print_tanh(expr.base, exp=self._print(expr.exp))
        return super()._print_Pow(expr)

    def item(self, it) -> str:
        if isinstance(it, D):
            lat = self.latex_names
            return rf"\frac{{\partial {lat[it.num]}}}{{\partial {lat[it.den]}}}"
        if isinstance(it, Total):
            lat = self.latex_names
            return rf"\frac{{d {lat[it.num]}}}{{d {lat[it.den]}}}"
        return _item(self, it)

    def _factor(self, it):
        if isinstance(it, sympy.Basic) and it.is_Add:
            return rf"\left({self.doprint(it)}\right)"
        return self.item(it)

    def _print_Add(self, expr, order=None):
        if self.as_written:
            return _join_sum([self._print(a) for a in expr.args])
        return super()._print_Add(expr, order)


_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


class TextMath(StrPrinter):
    as_written = False

    def __init__(self, cell: Cell, ranges=None, names=None):
        super().__init__({"order": "none"})
        self.ordering = _Ordering(cell, ranges)
        latex = cell.latex if names is None else names
        self.names = {n: text_name(tex) for n, tex in latex.items()}

    def _print_Symbol(self, expr):
        return self.names.get(expr.name, expr.name)

    def _print_sigmoid(self, expr):
        return f"σ({self._print(expr.args[0])})"

    def _print_Heaviside(self, expr):
        return f"[{self._print(expr.args[0])} > 0]"

    def _print_tanh(self, expr, exp=""):
        arg = expr.args[0]
        if arg.is_Symbol:
            return f"tanh{exp} {self._print(arg)}"
        return f"tanh{exp}({self._print(arg)})"

    def _print_Pow(self, expr, rational=False):
        if expr.exp.is_Integer and 1 < expr.exp < 10:
            sup = str(expr.exp).translate(_SUPERSCRIPT)
            if isinstance(expr.base, sympy.tanh):
                return self._print_tanh(expr.base, exp=sup)
            return self.parenthesize(expr.base, PRECEDENCE["Pow"], strict=False) + sup
        return super()._print_Pow(expr, rational)

    def _print_Mul(self, expr):
        if any(f.is_Pow and f.exp.is_negative for f in expr.args):
            return super()._print_Mul(expr)
        coeff, factors = self.ordering.ordered(expr, self.as_written)
        body = " ".join(self.parenthesize(f, PRECEDENCE["Mul"], strict=False) for f in factors)
        if coeff == 1:
            return body
        if coeff == -1:
            return "-" + body
        return self._print(coeff) + " " + body

    def item(self, it) -> str:
        if isinstance(it, D):
            return f"∂{self.names[it.num]}/∂{self.names[it.den]}"
        if isinstance(it, Total):
            return f"d{self.names[it.num]}/d{self.names[it.den]}"
        return _item(self, it)

    def _factor(self, it):
        if isinstance(it, sympy.Basic) and it.is_Add:
            return f"({self.doprint(it)})"
        return self.item(it)

    def _print_Add(self, expr, order=None):
        if self.as_written:
            return _join_sum([self._print(a) for a in expr.args])
        return super()._print_Add(expr, order)


def _item(printer, it) -> str:
    if isinstance(it, Name):
        return it.text if isinstance(printer, TextMath) else it.latex
    if isinstance(it, (Prod, Factors)):
        if isinstance(it, Factors) and it.items and it.items[0] == -1:
            return "-" + _item(printer, Factors(it.items[1:]))
        if len(it.items) == 1:
            return printer.item(it.items[0])
        return " ".join(printer._factor(x) for x in it.items) or "1"
    if isinstance(it, Sum):
        return _join_sum([printer.item(x) for x in it.items])
    if isinstance(it, AsWritten):
        printer.as_written = True
        try:
            return printer.doprint(it.expr)
        except RecursionError:
            # SymPy's LaTeX printer loops on a few unevaluated forms such as
            # (W/W)**-8: print the expression as SymPy evaluates it instead.
            printer.as_written = False
            return printer.doprint(it.expr.doit())
        finally:
            printer.as_written = False
    return printer.doprint(it)


def _join_sum(parts):
    out = parts[0] if parts else "0"
    for p in parts[1:]:
        out += (" - " + p[1:].lstrip()) if p.startswith("-") else (" + " + p)
    return out


# ---------------------------------------------------------------- documents


def cell_document(cell: Cell) -> list[Block]:
    """The cell's equations, with its docstring."""
    lines = [Line(eq.symbol, (AsWritten(eq.display),), eq.kind or "") for eq in cell.equations]
    return [
        Block("title", f"Cell {cell.name}"),
        Block("para", cell.doc),
        Block("lines", lines),
        Block(
            "para",
            f"State: {', '.join(cell.state)}. Inputs: {', '.join(cell.inputs)}. "
            f"Parameters: {', '.join(cell.params)}.",
        ),
    ]


def _term_path(d, term) -> object:
    """The article's name of a term: c_{t-1} ∂f_t/∂c_{t-1}, or f_t for the direct one."""
    if term.via == d.source:
        return term.coefficient
    return Prod((term.coefficient, D(term.via, d.source)))


def _gate_note(term) -> str:
    gates = f"{term.gate_count} gate" + ("" if term.gate_count == 1 else "s")
    return f"dominant, {gates}" if term.dominant else gates


ALL_PARTS = ("cell", "convention", "chain", "partials", "terms", "sum", "check")


def derivation_document(d, values=None, parts=ALL_PARTS) -> list[Block]:
    """Definition, convention, chain rule, partials, terms, sum, check (and values)."""
    cell = d.cell
    lhs = D(d.target, d.source)
    total = Sum(tuple(Factors(t.factors) for t in d.terms))
    blocks = [Block("title", f"{cell.name}: d{d.target}/d{d.source} in gate form")]
    if "cell" in parts:
        blocks += [
            Block("heading", "Cell"),
            Block("lines", [Line(eq.symbol, (AsWritten(eq.display),)) for eq in cell.equations]),
        ]
    if d.carry and "convention" in parts:
        held = sorted({s.name for e in d.carry.values() for s in e.free_symbols} - {d.source})
        blocks += [
            Block("heading", "Convention"),
            Block(
                "para",
                "The previous step's closing equation is differentiated too, with "
                + ", ".join(text_name(cell.latex[n]) for n in held)
                + " held fixed (the article's one-step convention):",
            ),
            Block("lines", [Line(p, (e,)) for p, e in d.carry.items()]),
        ]
    if d.source in cell.params and "convention" in parts:
        # The article's recursion (the gradient of an RNN is an RNN), of which
        # this derivative is the explicit part.
        through = tuple(Prod((D(d.target, prev), Total(prev, d.source))) for prev in cell.prevs)
        blocks += [
            Block("heading", "Recursion"),
            Block(
                "para",
                f"The explicit part of the recursion below: every previous-step value is "
                f"held fixed, the rest of d{d.target}/d{d.source} flows through the "
                "previous state.",
            ),
            Block(
                "lines",
                [Line(Total(d.target, d.source), (Sum((*through, D(d.target, d.source))),))],
            ),
        ]
    if "chain" in parts:
        blocks += [
            Block("heading", "Chain rule"),
            Block("lines", [Line(lhs, (Sum(tuple(_term_path(d, t) for t in d.terms)),))]),
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
        terms = [
            Line(Factors(t.factors), (), _gate_note(t))
            if t.via == d.source
            else Line(_term_path(d, t), (Factors(t.factors),), _gate_note(t))
            for t in d.terms
        ]
        # An entry with no path from source to target (a lower layer's state
        # Jacobian entry) has no terms: an empty align* would not compile.
        none = f"None: {d.target} does not depend on {d.source} within one step."
        listed = Block("lines", terms) if terms else Block("para", none)
        blocks += [Block("heading", "Terms"), listed]
    if "sum" in parts:
        blocks += [Block("heading", "Sum"), Block("lines", [Line(lhs, (total,))])]
    if "check" in parts:
        blocks += [Block("heading", "Check"), Block("para", f"{d.check.method}: {d.check.detail}.")]
    if values is not None:
        value, per_term, point = values
        blocks += [
            Block("heading", "Value"),
            Block("para", "At " + ", ".join(f"{k} = {v}" for k, v in point.items()) + ":"),
            Block(
                "lines",
                [Line(_term_path(d, t), (_num(v),)) for t, v in zip(d.terms, per_term, strict=True)]
                + [Line(lhs, (_num(value),), "total")],
            ),
        ]
    return blocks


def _num(value) -> sympy.Float:
    return sympy.Float(value, 15)


def multistep_document(ms, values=None) -> list[Block]:
    """The exact K-step derivative, the article's product of one-step
    derivatives, and the paths between them (a :class:`symgrad.multistep.MultiStep`)."""
    d, cell = ms.one_step, ms.cell
    lhs = Total(f"{ms.target}@{ms.steps - 1}", d.source)
    product = Name("P", "P")
    blocks = [
        Block("title", f"{cell.name}: {ms.steps}-step derivative, exact and the article's product"),
        Block("heading", "Cell"),
        Block("lines", [Line(eq.symbol, (AsWritten(eq.display),)) for eq in cell.equations]),
    ]
    blocks += derivation_document(d, parts=("convention",))[1:]
    one_step = Sum(tuple(Factors(t.factors) for t in d.terms))
    factors = tuple(_a(k) for k in range(ms.steps - 1, -1, -1))
    blocks += [
        Block("heading", "The article's product"),
        Block("lines", [Line(_a(0), (D(d.target, d.source), one_step))]),
        Block(
            "para",
            "A at step t+k is the same expression with every index moved on by k; the "
            f"article's {ms.steps}-step derivative is the product of the one-step ones:",
        ),
        Block("lines", [Line(product, (Prod(factors),))]),
        Block("heading", "The exact derivative"),
        Block(
            "para",
            "The product of the exact state Jacobians (every state, no convention) "
            "applied to the convention's tangent of the state at step t-1:",
        ),
        Block("lines", [Line(lhs, (Name(_exact_latex(ms), _exact_text(ms)),))]),
    ]
    missed = []
    for k, path in enumerate(ms.paths):
        at = f"@{path.step}"
        delta = Name(
            f"\\delta_{{{_step(path.step)}}}",
            f"δ_{{{_step(path.step)}}}" if path.step else "δ_t",
        )
        entry = D(f"{ms.target}@{path.step + 1}", f"{path.state}{at}")
        held = ", ".join(text_name(ms.names[f"{w}{at}"]) for w in path.held)
        through = tuple(
            Prod((D(f"{path.state}{at}", f"{w}{at}"), Total(f"{w}{at}", d.source)))
            for w in path.held
            if w != path.state
        )
        name = Name(f"M_{{{k + 1}}}", f"M_{k + 1}")
        missed += [
            Line(entry, (Factors(_ordered(path.entry, ms)),)),
            Line(delta, (*((Sum(through),) if through else ()), Factors(_ordered(path.delta, ms)))),
            Line(
                name, (Prod((*(_a(j) for j in path.later[::-1]), entry, delta)),), f"through {held}"
            ),
        ]
    if missed:
        blocks += [
            Block("heading", "The paths the product leaves out"),
            Block(
                "para",
                "The exact derivative minus the product: each path runs through a value the "
                "one-step convention holds fixed (delta: the change it brings to the state):",
            ),
            Block("lines", missed),
        ]
    total = Sum((product, *(Name(f"M_{{{k + 1}}}", f"M_{k + 1}") for k in range(len(ms.paths)))))
    blocks += [
        Block("heading", "Sum"),
        Block("lines", [Line(lhs, (total,))]),
        Block("heading", "Check"),
        Block("para", f"{ms.check.method}: {ms.check.detail}."),
    ]
    if values is not None:
        result, point = values
        rows = [Line(product, (_num(result["product"]),), "the article's product")]
        rows += [
            Line(Name(f"M_{{{k + 1}}}", f"M_{k + 1}"), (_num(v),))
            for k, v in enumerate(result["paths"])
        ]
        rows.append(Line(lhs, (_num(result["exact"]),), "exact"))
        blocks += [
            Block("heading", "Value"),
            Block("para", "At " + ", ".join(f"{k} = {v}" for k, v in point.items()) + ":"),
            Block("lines", rows),
        ]
    return blocks


def _a(k: int) -> Name:
    return Name(f"A_{{{_step(k)}}}", f"A_{{{_step(k)}}}" if k else "A_t")


def _step(k: int) -> str:
    return "t" if k == 0 else f"t+{k}"


def _exact_latex(ms) -> str:
    jacobians = " ".join(f"J_{{{_step(k)}}}" for k in range(ms.steps - 1, -1, -1))
    source = ms.cell.latex[ms.source]
    return rf"\Big[{jacobians}\, \frac{{d s_{{t-1}}}}{{d {source}}}\Big]_{{{ms.target}}}"


def _exact_text(ms) -> str:
    jacobians = " ".join(f"J_{{{_step(k)}}}" if k else "J_t" for k in range(ms.steps - 1, -1, -1))
    return f"[{jacobians} ds_{{t-1}}/d{text_name(ms.cell.latex[ms.source])}]_{ms.target}"


def _ordered(expr, ms) -> tuple:
    """A product's factors in the paper's order, for printing."""
    coeff, factors = expr.as_coeff_mul()
    ordered = sorted(factors, key=lambda f: factor_rank(_base(f), ms.ranges, ms.cell))
    return tuple(ordered) if coeff == 1 else (coeff, *ordered)


def jacobian_document(j) -> list[Block]:
    """Each entry's chain rule, terms and sum; the cell once."""
    cell = j.cell
    names = ", ".join(text_name(cell.latex[s]) for s in cell.state)
    blocks = [
        Block("title", f"{cell.name}: exact one-step state Jacobian of ({names})"),
        Block("heading", "Cell"),
        Block("lines", [Line(eq.symbol, (AsWritten(eq.display),)) for eq in cell.equations]),
        Block(
            "para",
            "Each entry holds the other previous-step state fixed; no one-step "
            "convention is applied.",
        ),
    ]
    for row in j.entries:
        for d in row:
            blocks.append(Block("heading", f"d{d.target}/d{d.source}"))
            blocks += derivation_document(d, parts=("chain", "terms", "sum"))[1:]
    blocks.append(Block("heading", "Check"))
    blocks.append(Block("para", f"{j.check.method}: {j.check.detail}."))
    return blocks


# ---------------------------------------------------------------- formats


def _latex_blocks(blocks, printer) -> str:
    out = []
    for b in blocks:
        if b.kind == "title":
            out.append(f"% {b.content}")
        elif b.kind == "heading":
            out.append(rf"\paragraph{{{_tex_escape(b.content)}.}}")
        elif b.kind == "para":
            out.append(_tex_escape(b.content))
        else:
            rows = []
            for line in b.content:
                note = rf" && \text{{{_tex_escape(line.note)}}}" if line.note else ""
                rows.append(f"  {_aligned(printer, line)}{note}")
            out.append("\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}")
    return "\n".join(out) + "\n"


def _aligned(printer, line) -> str:
    lhs = printer.item(line.lhs)
    if not line.rhs:
        return f"& {lhs}"
    return lhs + " &= " + " \\\\\n  &= ".join(printer.item(r) for r in line.rhs)


def _tex_escape(text: str) -> str:
    text = re.sub(r"([_%&#$])", r"\\\1", text)
    return text.replace("∂", r"$\partial$")


def _text_blocks(blocks, printer) -> str:
    out = []
    for b in blocks:
        if b.kind == "title":
            out.append(b.content)
            out.append("=" * len(b.content))
        elif b.kind == "heading":
            out.append(f"\n{b.content}")
        elif b.kind == "para":
            out.append(b.content)
        else:
            for line in b.content:
                text = "  " + printer.item(line.lhs)
                for r in line.rhs:
                    text += " = " + printer.item(r)
                if line.note:
                    text += f"    [{line.note}]"
                out.append(text)
    return "\n".join(out) + "\n"


def _markdown_blocks(blocks, printer) -> str:
    out = []
    for b in blocks:
        if b.kind == "title":
            out.append(f"## {b.content}\n")
        elif b.kind == "heading":
            out.append(f"**{b.content}.**\n")
        elif b.kind == "para":
            out.append(b.content + "\n")
        else:
            rows = []
            for line in b.content:
                note = rf" &&\text{{{line.note}}}" if line.note else ""
                rows.append(f"  {_aligned(printer, line)}{note}")
            out.append("$$\n\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}\n$$\n")
    return "\n".join(out)


def render(blocks, fmt: str, cell: Cell, ranges=None, standalone: bool = False, names=None) -> str:
    """Print ``blocks`` in ``fmt`` (latex, text or markdown); ``names``: the
    LaTeX of symbols beyond the cell's own (the values of later steps)."""
    if fmt == "latex":
        body = _latex_blocks(blocks, LatexMath(cell, ranges, names))
        return latex_document(body) if standalone else body
    if fmt == "text":
        return _text_blocks(blocks, TextMath(cell, ranges, names))
    if fmt == "markdown":
        return _markdown_blocks(blocks, LatexMath(cell, ranges, names))
    raise ValueError(f"unknown format {fmt!r}. Valid formats: {', '.join(FORMATS)}")


def latex_document(body: str) -> str:
    """A complete document around ``body`` that compiles with pdflatex."""
    return (
        "\\documentclass{article}\n\\usepackage{amsmath}\n\\usepackage[margin=2cm]{geometry}\n"
        "\\begin{document}\n" + body + "\\end{document}\n"
    )


def derivation_latex(d, standalone=False, environment=None, steps=True) -> str:
    """The derivation as LaTeX; ``steps=False`` gives only the terms' sum."""
    printer = LatexMath(d.cell, d.ranges)
    if not steps:
        lhs = printer.item(D(d.target, d.source))
        rhs = printer.item(Sum(tuple(Factors(t.factors) for t in d.terms)))
        env = environment or "equation*"
        if env == "aligned":
            return f"\\begin{{aligned}} {lhs} &= {rhs} \\end{{aligned}}"
        return f"\\begin{{{env}}}\n  {lhs} = {rhs}\n\\end{{{env}}}\n"
    return render(derivation_document(d), "latex", d.cell, d.ranges, standalone)


def jacobian_matrix_latex(j) -> str:
    """The Jacobian as one ``pmatrix`` of the entries' sums, in gate form."""
    cell, ranges = j.cell, j.entries[0][0].ranges
    printer = LatexMath(cell, ranges)
    rows = [
        " & ".join(printer.item(Sum(tuple(Factors(t.factors) for t in d.terms))) for d in row)
        for row in j.entries
    ]
    return "\\begin{pmatrix} " + " \\\\ ".join(rows) + " \\end{pmatrix}"


def jacobian_latex(j, standalone=False) -> str:
    ranges = j.entries[0][0].ranges
    return render(jacobian_document(j), "latex", j.cell, ranges, standalone)


# ---------------------------------------------------------------- JSON


def derivation_json(d, values=None) -> dict:
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
        "total_latex": latex.item(Sum(tuple(Factors(t.factors) for t in d.terms))),
        "check": {
            "method": d.check.method,
            "passed": d.check.passed,
            "detail": d.check.detail,
        },
    }
    if values is not None:
        out["point"] = {k: float(v) for k, v in values[2].items()}
        out["total_value"] = float(values[0])
    return out


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
        "one_step_latex": latex.item(Sum(tuple(Factors(t.factors) for t in d.terms))),
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
