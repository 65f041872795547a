r"""Math items, the printers that print them, and documents in every format.

A document is a list of :class:`Block` s (a title, headings, paragraphs of
:class:`~symgrad.text.Prose`, blocks of aligned :class:`Line` s) whose math
is SymPy expressions and the items below (partial-derivative symbols, sums,
products in a fixed order); :mod:`symgrad.documents` builds them and
:func:`render` prints them as LaTeX, Unicode text, Markdown or MathJax (for
notebooks). The printers keep the gate form the engine produced: no
``simplify``; products in one order everywhere (numbers, gates with their
complements, other factors, parameters; see :func:`product_order`), a
function factor parenthesised when another factor follows
(:math:`o_t (1 - o_t) (\tanh c_t) U_o`), a sum the cell's equations write
printed as they write it (:math:`U_n h_{t-1} + b_{hn}`); :math:`\sigma` for
the sigmoid, :math:`[u > 0]` for relu's derivative and
:math:`\tanh^2 c_{t-1}` rather than a call.

Aligned blocks wider than the page (a default article, or a standalone
document's) are broken at their top-level ``+`` and ``-``, and matrices too
wide printed entry by entry, by :mod:`symgrad.texwidth`, imported only when
LaTeX is printed.
"""

from __future__ import annotations

import functools
import re

import sympy
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.str import StrPrinter

from .cells import Cell, prev_name
from .ranges import factor_rank
from .text import Math, Prose
from .text import dumps as dumps

__all__ = [
    "DOCUMENT_FORMATS",
    "FORMATS",
    "AsWritten",
    "Block",
    "D",
    "Factors",
    "LatexMath",
    "Line",
    "Matrix",
    "Name",
    "Prod",
    "Sum",
    "TextMath",
    "Total",
    "inline_math",
    "jacobian_entries_latex",
    "jacobian_matrix_latex",
    "latex_document",
    "product_key",
    "product_order",
    "render",
    "text_name",
]

FORMATS = ("latex", "text", "markdown", "json")
#: The formats :func:`render` prints a document in ("mathjax": Jupyter's
#: ``text/latex``, plain text with ``$...$`` and ``$$...$$`` that MathJax sets).
DOCUMENT_FORMATS = ("latex", "text", "markdown", "mathjax")

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


class Matrix(_Item):
    """A matrix of items, row by row; ``names``: the entries' names in the
    same shape (items), used when it is printed entry by entry."""

    __slots__ = _fields = ("rows", "names")

    def __init__(self, rows, names=None):
        super().__init__(tuple(tuple(r) for r in rows), names)


class Line(_Item):
    """``lhs = rhs[0] = rhs[1] ...``, with a note (text or Prose) beside it."""

    __slots__ = _fields = ("lhs", "rhs", "note")

    def __init__(self, lhs, rhs, note=""):
        super().__init__(lhs, rhs, note)


class Block(_Item):
    """``kind``: "title", "heading", "para" (``content``: Prose or text) or
    "lines" (``content``: a list of :class:`Line`)."""

    __slots__ = _fields = ("kind", "content")


def text_name(latex: str) -> str:
    """``\\hat{c}_t`` -> ``ĉ_t``; ``W_{hn}`` -> ``W_hn``; ``c_{t-1}`` stays."""
    out = re.sub(r"\\(hat|tilde|bar)\{(\w)\}", _accent, latex)
    return re.sub(r"_\{([A-Za-z0-9]+)\}", r"_\1", out)


def _accent(match):
    mark = {"hat": "\u0302", "tilde": "\u0303", "bar": "\u0304"}[match.group(1)]
    return match.group(2) + mark


# ---------------------------------------------------------------- the order of a product


@functools.lru_cache(maxsize=64)
def _places(cell: Cell) -> dict:
    """Value name -> its place among a product's factors: the values of step
    t outermost first, as the chain rule meets them (breadth first from the
    values no other value reads, down the equations), then the previous
    step's in the order the cell computes them."""
    values = list(cell.values)
    read = {s.name for eq in cell.equations for s in eq.rhs.free_symbols}
    order, todo = [], [v for v in reversed(values) if v not in read]
    while todo:
        name = todo.pop(0)
        if name in order:
            continue
        order.append(name)
        operands = {s.name for s in cell.equation(name).rhs.free_symbols}
        todo += [v for v in values if v in operands]
    order += [prev_name(v) for v in values]
    return {name: k for k, name in enumerate(order)}


def _anchor(factor):
    """(symbol name, 0) for a value itself, (its name, 1) for a factor made
    from one value alone (1 - f_t, 1 - tanh^2 c_{t-1}), (None, 0) otherwise."""
    if factor.is_Symbol:
        return factor.name, 0
    symbols = factor.free_symbols
    if len(symbols) == 1:
        return next(iter(symbols)).name, 1
    return None, 0


def product_order(factors, cell: Cell, ranges: dict | None = None) -> list:
    """``factors`` (SymPy factors of one product) in the order symgrad prints
    every product: numbers, then gates (values in [0, 1]: f_t, 1 - f_t,
    o_{t-1}, 1 - tanh^2 c_{t-1}), then other factors, then parameters; within
    each group, each value followed by the factors made from it alone, the
    values outermost first (:func:`_places`), so that a product the engine did
    not order reads as one it did: f_t (1 - f_t) o_{t-1} (1 - tanh^2 c_{t-1})
    c_{t-1} U_f."""
    ranges = ranges or {}
    return sorted(factors, key=lambda f: product_key(f, cell, ranges))


def product_key(factor, cell: Cell, ranges: dict) -> tuple:
    """Where ``factor`` goes in a product (:func:`product_order`)."""
    base = factor.base if factor.is_Pow and factor.exp.is_Integer and factor.exp > 0 else factor
    name, derived = _anchor(base)
    places = _places(cell)
    n = len(places)
    if name is not None and "@" in name:  # v@k, the value v of step t+k: later steps outer
        value, _, k = name.partition("@")
        return (factor_rank(base, ranges, cell), places.get(value, n) - n * (int(k) + 1), derived)
    return (factor_rank(base, ranges, cell), places.get(name, n), derived)


@functools.lru_cache(maxsize=64)
def _written_sums(cell: Cell) -> dict:
    """Every sum the cell's equations write, evaluated -> as written, so that a
    derivative's factor U_n h_{t-1} + b_hn prints as the cell writes it."""
    out = {}
    for eq in cell.equations:
        if eq.display is None:
            continue
        for node in sympy.preorder_traversal(eq.display):
            if node.is_Add:
                out.setdefault(_evaluated(node), node)
    return out


def _evaluated(expr):
    """An expression written with ``evaluate(False)``, evaluated."""
    if not expr.args:
        return expr
    return expr.func(*(_evaluated(a) for a in expr.args))


def _bare_function(factor) -> bool:
    """A factor printed as a function without parentheses: tanh c_t, tanh^2 c_t."""
    if factor.is_Pow and factor.exp.is_Integer and factor.exp > 0:
        factor = factor.base
    return isinstance(factor, sympy.tanh) and factor.args[0].is_Symbol


# ---------------------------------------------------------------- printers


class _Ordering:
    """A printer's products: in :func:`product_order`, or as written."""

    def __init__(self, printer, cell: Cell, ranges):
        self.printer = printer
        self.cell = cell
        self.ranges = ranges or {}

    def ordered(self, expr):
        """(number, factors) of the product ``expr``, in the order printed."""
        if self.printer.as_written:
            args = expr.args
            if args[0] == -1:
                return sympy.Integer(-1), args[1:]
            return sympy.Integer(1), args
        coeff, factors = expr.as_coeff_mul()
        return coeff, product_order(factors, self.cell, self.ranges)


class _Printing:
    """What both printers share: products in :func:`product_order`, sums as
    the cell writes them, function factors parenthesised before another."""

    as_written = False
    minus = "-"  # before a product whose number is -1

    def _setup(self, cell: Cell, ranges):
        self.ordering = _Ordering(self, cell, ranges)
        self.cell = cell
        self.ranges = self.ordering.ranges
        self.written = _written_sums(cell)

    def _product(self, factors, parenthesize) -> str:
        parts = []
        for k, f in enumerate(factors):
            text = parenthesize(f)
            if k + 1 < len(factors) and isinstance(f, sympy.Basic) and _bare_function(f):
                text = self._paren(text)
            parts.append(text)
        return " ".join(parts)

    def _print_Mul(self, expr):
        # SymPy prints 1/u through _print_Mul(Pow): ordering that Pow as a product
        # of itself would recurse forever.
        if expr.is_Pow or any(f.is_Pow and f.exp.is_negative for f in expr.args):
            return super()._print_Mul(expr)
        coeff, factors = self.ordering.ordered(expr)
        body = self._product(
            factors, lambda f: self.parenthesize(f, PRECEDENCE["Mul"], strict=False)
        )
        if coeff == 1:
            return body
        if coeff == -1:
            return self.minus + body
        return self._print(coeff) + " " + body

    def _print_sum(self, expr) -> str:
        """The printed sum: as written if the cell writes it; else, if no term
        is negative, its terms in the order of their factors (the forget
        gate's term before the input gate's, as the article lists them)."""
        if self.as_written:
            return _join_sum([self._print(a) for a in expr.args])
        written = self.written.get(expr)
        if written is not None:
            self.as_written = True
            try:
                return self._print(written)
            finally:
                self.as_written = False
        terms = expr.args
        if not any(t.could_extract_minus_sign() for t in terms):
            terms = sorted(terms, key=self._term_key)
        return _join_sum([self._print(t) for t in terms])

    def _term_key(self, term) -> tuple:
        """A sum's term placed by its factors, each where a product puts it;
        a term of constants and parameters alone first, as 1 in 1 + x."""
        keys = sorted(product_key(f, self.cell, self.ranges) for f in term.as_coeff_mul()[1])
        return (any(k[0] < 3 for k in keys), keys)


class LatexMath(_Printing, LatexPrinter):
    """LaTeX of SymPy expressions and the items above, with the cell's LaTeX
    names (``names``: a mapping to use instead, e.g. the values of later
    steps); ``inline``: derivatives as ``\\partial a/\\partial b``, for text."""

    def __init__(self, cell: Cell, ranges=None, names=None, inline=False):
        self.latex_names = cell.latex if names is None else names
        symbols = {sympy.Symbol(n, real=True): tex for n, tex in self.latex_names.items()}
        super().__init__({"symbol_names": symbols, "order": "none"})
        self._setup(cell, ranges)
        self.inline = inline
        self.frac = r"\frac"

    minus = "- "

    def _paren(self, text: str) -> str:
        return rf"\left({text}\right)"

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

    def _print_Add(self, expr, order=None):
        return self._print_sum(expr)

    def item(self, it) -> str:
        if isinstance(it, (D, Total)):
            lat = self.latex_names
            d = r"\partial " if isinstance(it, D) else "d "
            if self.inline:
                return rf"{d}{lat[it.num]}/{d}{lat[it.den]}"
            return rf"{self.frac}{{{d}{lat[it.num]}}}{{{d}{lat[it.den]}}}"
        if isinstance(it, Matrix):
            # A matrix's entries are set in text style: derivatives at display size.
            self.frac = r"\dfrac"
            try:
                rows = [" & ".join(self.item(x) for x in row) for row in it.rows]
            finally:
                self.frac = r"\frac"
            return r"\begin{pmatrix} " + r" \\ ".join(rows) + r" \end{pmatrix}"
        return _item(self, it)

    def _factor(self, it):
        if isinstance(it, sympy.Basic) and it.is_Add:
            return rf"\left({self.doprint(it)}\right)"
        return self.item(it)


_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


class TextMath(_Printing, StrPrinter):
    """Unicode text of SymPy expressions and the items above."""

    def __init__(self, cell: Cell, ranges=None, names=None):
        super().__init__({"order": "none"})
        self._setup(cell, ranges)
        latex = cell.latex if names is None else names
        self.names = {n: text_name(tex) for n, tex in latex.items()}

    def _paren(self, text: str) -> str:
        return f"({text})"

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

    def _print_Add(self, expr, order=None):
        return self._print_sum(expr)

    def item(self, it) -> str:
        if isinstance(it, D):
            return f"∂{self.names[it.num]}/∂{self.names[it.den]}"
        if isinstance(it, Total):
            return f"d{self.names[it.num]}/d{self.names[it.den]}"
        if isinstance(it, Matrix):
            return "[" + "; ".join(", ".join(self.item(x) for x in row) for row in it.rows) + "]"
        return _item(self, it)

    def _factor(self, it):
        if isinstance(it, sympy.Basic) and it.is_Add:
            return f"({self.doprint(it)})"
        return self.item(it)


def _item(printer, it) -> str:
    if isinstance(it, Name):
        return it.text if isinstance(printer, TextMath) else it.latex
    if isinstance(it, (Prod, Factors)):
        if isinstance(it, Factors) and it.items and it.items[0] == -1:
            return "-" + _item(printer, Factors(it.items[1:]))
        if len(it.items) == 1:
            return printer.item(it.items[0])
        return printer._product(it.items, printer._factor) or "1"
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


def inline_math(item, cell: Cell, ranges=None, names=None) -> Math:
    """``item`` (a SymPy expression of the cell's names, or an item above) as
    :class:`~symgrad.text.Math` for :class:`~symgrad.text.Prose`: its LaTeX
    (derivatives with a slash) and its Unicode text."""
    latex = LatexMath(cell, ranges, names, inline=True).item(item)
    return Math(latex, TextMath(cell, ranges, names).item(item))


# ---------------------------------------------------------------- aligned rows, broken to fit


def _prose(content) -> Prose:
    return content if isinstance(content, Prose) else Prose(content)


def _line_rows(printer, line) -> list[str]:
    """The rows of one :class:`Line`: ``lhs &= rhs0``, ``&= rhs1`` ..., the
    note (``&& \\text{...}``) on the last."""
    if not line.rhs:
        rows = [f"& {printer.item(line.lhs)}"]
    else:
        rows = [f"{printer.item(line.lhs)} &= {printer.item(line.rhs[0])}"]
        rows += [f"&= {printer.item(r)}" for r in line.rhs[1:]]
    if line.note:
        rows[-1] += rf" && \text{{{_prose(line.note).latex()}}}"
    return rows


def _terms(printer, it, texwidth) -> list[str]:
    """The summands of ``it`` as printed: a Sum's own items, else the
    top-level terms of the printed expression."""
    if isinstance(it, Sum) and it.items:
        return [printer.item(x) for x in it.items]
    return texwidth.top_level_terms(printer.item(it))


def _break_spec(printer, line, texwidth) -> list[tuple]:
    """``line`` as texwidth.break_lines' (lhs, terms, note) equations."""
    note = _prose(line.note).latex() if line.note else None
    if not line.rhs:
        return [(None, _terms(printer, line.lhs, texwidth), note)]
    out = []
    for k, r in enumerate(line.rhs):
        last = k == len(line.rhs) - 1
        lhs = printer.item(line.lhs) if k == 0 else ""
        out.append((lhs, _terms(printer, r, texwidth), note if last else None))
    return out


def _fitted_rows(printer, lines, page) -> list[str]:
    """The rows of a block of ``lines``, broken to fit ``page`` ("article",
    "standalone", or None: as they come). A block that fits is left as it is;
    one too wide is printed again by texwidth.break_lines, a lone matrix entry
    by entry (texwidth.matrix_or_entries). LaTeX the width estimator does not
    know is left unbroken."""
    rows = [row for line in lines for row in _line_rows(printer, line)]
    if page is None:
        return rows
    from . import texwidth  # measuring costs what only LaTeX output needs

    width = texwidth.STANDALONE_TEXTWIDTH if page == "standalone" else texwidth.ARTICLE_TEXTWIDTH
    try:
        if texwidth.align_width(rows) <= width:
            return rows
        if len(lines) == 1 and len(lines[0].rhs) == 1 and isinstance(lines[0].rhs[0], Matrix):
            m = lines[0].rhs[0]
            entries = [[printer.item(x) for x in row] for row in m.rows]
            names = m.names and [[printer.item(x) for x in row] for row in m.names]
            return texwidth.matrix_or_entries(printer.item(lines[0].lhs), entries, width, names)
        spec = [eq for line in lines for eq in _break_spec(printer, line, texwidth)]
        return texwidth.break_lines(spec, width)
    except texwidth.TexWidthError:
        return rows


# ---------------------------------------------------------------- formats


def _heading(content, fmt: str) -> str:
    """A heading's text, a full stop after it unless it ends in mathematics."""
    heading = _prose(content)
    stop = "" if heading.pieces and isinstance(heading.pieces[-1], Math) else "."
    return heading.render(fmt) + stop


def _latex_blocks(blocks, printer, page) -> str:
    out = []
    for k, b in enumerate(blocks):
        if b.kind == "title":
            out.append(f"% {_prose(b.content).latex()}")
        elif b.kind == "heading":
            out.append(rf"\paragraph{{{_heading(b.content, 'latex')}}}")
        elif b.kind == "para":
            if k and blocks[k - 1].kind == "para":
                out.append("")  # a new paragraph
            out.append(_prose(b.content).latex())
        else:
            rows = _fitted_rows(printer, b.content, page)
            out.append("\\begin{align*}\n  " + " \\\\\n  ".join(rows) + "\n\\end{align*}")
    return "\n".join(out) + "\n"


def _display_blocks(blocks, printer, fmt) -> str:
    """Markdown (GitHub's and Jupyter's: ``$...$``, ``$$...$$``), or the same
    without Markdown's markup for MathJax alone (``fmt`` "mathjax")."""
    out = []
    for b in blocks:
        if b.kind == "lines":
            rows = " \\\\\n  ".join(_fitted_rows(printer, b.content, "article"))
            out.append("$$\n\\begin{aligned}\n  " + rows + "\n\\end{aligned}\n$$\n")
            continue
        if b.kind == "heading":
            text = _heading(b.content, fmt)
            out.append((f"**{text}**" if fmt == "markdown" else text) + "\n")
            continue
        text = _prose(b.content).render(fmt)
        out.append((f"## {text}" if fmt == "markdown" and b.kind == "title" else text) + "\n")
    return "\n".join(out)


def _text_blocks(blocks, printer) -> str:
    out = []
    for k, b in enumerate(blocks):
        if b.kind == "title":
            title = _prose(b.content).text()
            out += [title, "=" * len(title)]
        elif b.kind == "heading":
            out.append("\n" + _prose(b.content).text())
        elif b.kind == "para":
            if k and blocks[k - 1].kind == "para":
                out.append("")  # a new paragraph
            out.append(_prose(b.content).text())
        else:
            for line in b.content:
                text = "  " + printer.item(line.lhs)
                for r in line.rhs:
                    text += " = " + printer.item(r)
                if line.note:
                    text += f"    [{_prose(line.note).text()}]"
                out.append(text)
    return "\n".join(out) + "\n"


def render(
    blocks,
    fmt: str,
    cell: Cell,
    ranges=None,
    standalone: bool = False,
    names=None,
    printers=None,
) -> str:
    """Print ``blocks`` in ``fmt`` (one of :data:`DOCUMENT_FORMATS`); ``names``:
    the LaTeX of symbols beyond the cell's own (the values of later steps);
    ``printers``: a (LaTeX, text) pair of printers to use instead of
    :class:`LatexMath` and :class:`TextMath` (the matrix form's).
    LaTeX, Markdown and MathJax blocks too wide for a default article (with
    ``standalone``, for the standalone document's page) are broken to fit."""
    if fmt == "text":
        return _text_blocks(blocks, printers[1] if printers else TextMath(cell, ranges, names))
    if fmt not in DOCUMENT_FORMATS:
        raise ValueError(f"unknown format {fmt!r}. Valid formats: {', '.join(DOCUMENT_FORMATS)}")
    printer = printers[0] if printers else LatexMath(cell, ranges, names)
    if fmt != "latex":
        return _display_blocks(blocks, printer, fmt)
    if not standalone:
        return _latex_blocks(blocks, printer, "article")
    titles = [b for b in blocks if b.kind == "title"]
    body = _latex_blocks([b for b in blocks if b.kind != "title"], printer, "standalone")
    return latex_document(body, _prose(titles[0].content) if titles else None)


def latex_document(body: str, title: Prose | str | None = None) -> str:
    """A complete document around ``body`` that compiles with pdflatex: an
    article with amsmath and amssymb on 2cm margins, titled ``title`` (no
    author, no date: the same input gives the same document)."""
    head = (
        "\\documentclass{article}\n\\usepackage{amsmath}\n\\usepackage{amssymb}\n"
        "\\usepackage[margin=2cm]{geometry}\n"
    )
    if title is None:
        return head + "\\begin{document}\n" + body + "\\end{document}\n"
    head += f"\\title{{{_prose(title).latex()}}}\n\\author{{}}\n\\date{{}}\n"
    return head + "\\begin{document}\n\\maketitle\n" + body + "\\end{document}\n"


def jacobian_entries_latex(j) -> list[list[str]]:
    """The state Jacobian ``j``'s entries (their sums, in gate form) as LaTeX,
    row by row: for ``texwidth.matrix_or_entries``."""
    printer = LatexMath(j.cell, j.entries[0][0].ranges)
    return [
        [printer.item(Sum(tuple(Factors(t.factors) for t in d.terms))) for d in row]
        for row in j.entries
    ]


def jacobian_matrix_latex(j) -> str:
    """The Jacobian as one ``pmatrix`` of the entries' sums, in gate form
    (unbroken: see :func:`jacobian_entries_latex` to break it)."""
    rows = jacobian_entries_latex(j)
    return "\\begin{pmatrix} " + " \\\\ ".join(" & ".join(r) for r in rows) + " \\end{pmatrix}"
