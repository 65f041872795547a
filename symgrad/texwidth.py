r"""How wide LaTeX math comes out, without TeX; and rows broken to fit a page.

:func:`math_width` sets a math-mode string the way TeX does (The TeXbook,
Appendix G, "Generating boxes from formulas"), keeping only the box
dimensions: the glyph widths, heights, depths and italic corrections of the
fonts a default ``\documentclass{article}`` with amsmath and amssymb uses at
10pt (cmr, cmmi, cmsy, cmex at 10/7/5pt and the math alphabets' fonts:
:mod:`symgrad.texfonts`, read from the package data file generated from
their TFM files by tools/make_texwidth_table.py), TeX's spacing between atoms (thin 3mu,
medium 4mu, thick 5mu; 1mu is 1/18 of cmsy's quad at the current size), its
rules for scripts, fractions, accents, radicals, big operators and
``\left``/``\right`` delimiter sizes, and amsmath's versions of ``\frac``,
``\text``, ``\operatorname``, ``\cdots``, ``\boldsymbol`` and the
``matrix`` environments. Glue counts at its natural width, as an overfull
check does.

It knows the subset of LaTeX symgrad prints (proofs/ and the names a cell
file may give included): letters, digits, ``+ - = < > ( ) [ ] | , . / : ;
! '``, Greek letters, the symbols of :data:`SYMBOLS`, accents (``\hat``,
``\widehat`` ...), ``\overline``, ``\underline``, ``\frac``, ``\sqrt``,
``\left``/``\right``, ``\big`` to ``\Bigg``, ``\sum``/``\prod``/``\int``,
named operators (``\tanh``, ``\operatorname{...}``, ``\lim`` ...),
``\text``, the math alphabets (``\mathrm``, ``\mathbf``, ``\mathit``,
``\mathsf``, ``\mathtt``, ``\mathcal``, ``\mathbb``, ``\mathfrak``) and
``\boldsymbol``, spacing commands, style switches and the
``matrix``/``pmatrix``/``bmatrix``/``vmatrix`` environments. **Anything
else raises** :class:`TexWidthError` rather than being guessed: a width is
used as a guarantee that a row fits, so a caller printing something new
should catch the error and treat the row as too wide.

Accuracy: against pdfTeX (TeX Live 2022) on every align* cell symgrad derive
prints, every formula of proofs/ and a string for each construct
(tests/test_texwidth.py), the estimate is TeX's width within 0.01pt. Where
the result depends on what follows the string, the wider case is taken:
``\cdots`` at the end of the string gets amsmath's thin space after it (as
before ``$``); ligatures TeX would make between roman letters of an operator
name are not made, and ``\text`` puts the extra space after every
sentence-ending mark, even after a capital letter.

Breaking: :func:`align_width` measures an ``align*`` block (columns shared,
\minalignsep between column pairs); :func:`break_lines` and
:func:`break_sum` fill ``lhs &= t1 + t2`` / ``&\quad + t3`` rows within a
width, :func:`top_level_terms` splits a printed sum into its terms,
:func:`matrix_or_entries` prints a matrix whole or entry by entry, and
:func:`fit_rows` does all of it to rows given as LaTeX strings. The
widths to fill are :data:`ARTICLE_TEXTWIDTH` (a default article at 10pt)
and :data:`STANDALONE_TEXTWIDTH` (``--standalone`` documents and
proofs/claims.tex: geometry's 2cm margins on the default letter paper).
"""

from __future__ import annotations

import functools
import re

from .texfonts import font_metrics
from .texlayout import (
    BIG_SIZE,
    char_box,
    left_right_size,
    mlist_box,
    symbol_params,
    text_box,
    variant,
)
from .texparse import BIG_SIZES, BIN, REL, SYMBOLS, Parser, TexWidthError, tokens

__all__ = [
    "ARTICLE_TEXTWIDTH",
    "MIN_ALIGN_SEP",
    "STANDALONE_TEXTWIDTH",
    "TexWidthError",
    "align_width",
    "break_lines",
    "break_sum",
    "fit_rows",
    "fits",
    "font_metrics",
    "math_width",
    "matrix_or_entries",
    "text_width",
    "top_level_factors",
    "top_level_terms",
]

# ---------------------------------------------------------------- page

#: \textwidth of ``\documentclass{article}`` at 10pt (size10.clo), in pt.
ARTICLE_TEXTWIDTH = 345.0
#: \textwidth with ``\usepackage[margin=2cm]{geometry}`` on article's default
#: letter paper: 614.295pt - 2 x 56.9055pt (TeX's own rounding: 500.484pt).
STANDALONE_TEXTWIDTH = 500.484
#: amsmath's \minalignsep, between the column pairs of align.
MIN_ALIGN_SEP = 10.0

# ---------------------------------------------------------------- measuring


def math_width(latex: str, *, display: bool = True) -> float:
    r"""The natural width, in pt, of ``latex`` set in math mode at 10pt.

    ``latex``: math-mode LaTeX of the subset the module docstring lists,
    without ``&`` or ``\\`` outside a matrix (measure ``align*`` rows with
    :func:`align_width`). ``display``: display style, as in ``align*`` and
    ``equation*`` (the default); False for text style, as in ``$...$`` and
    matrix cells. Raises :class:`TexWidthError` on anything it does not know.
    """
    return _width(latex, display)


# Breaking a block measures the same left-hand sides and rows again and again.
@functools.lru_cache(maxsize=2048)
def _width(latex: str, display: bool) -> float:
    parser = Parser(latex)
    items = parser.mlist()
    if parser.peek() is not None:
        raise parser.error(f"unexpected {parser.peek()[1]!r}")
    return mlist_box(items, 0 if display else 2)[0]


def text_width(text: str) -> float:
    """The natural width, in pt, of ``text`` set as a 10pt roman paragraph
    line (or ``\\text{...}`` in display math): spaces included."""
    return text_box(tokens(text), 0, 0)[0]


def fits(latex: str, width: float, *, display: bool = True) -> bool:
    """Whether the math-mode string ``latex`` is at most ``width`` pt wide."""
    return math_width(latex, display=display) <= width


#: What _split_top looks at: group and environment delimiters, the two
#: separators, and any other control sequence (skipped whole, as \& is).
_SPLIT_TOKEN = re.compile(r"\\begin|\\end|\\\\|\\.|[{}&]")


def _split_top(row: str, sep: str) -> list[str]:
    """``row`` split at ``sep`` ("&" or "\\\\") outside braces and environments."""
    if sep not in row:
        return [row]
    parts, depth, start = [], 0, 0
    for m in _SPLIT_TOKEN.finditer(row):
        tok = m.group()
        if tok in ("{", "\\begin"):
            depth += 1
        elif tok in ("}", "\\end"):
            depth -= 1
        elif tok == sep and depth == 0:
            parts.append(row[start : m.start()])
            start = m.end()
    parts.append(row[start:])
    return parts


def align_width(rows: list[str]) -> float:
    r"""The natural width, in pt, of an ``align*`` block with these rows.

    ``rows``: the rows without their ``\\`` separators, each
    ``lhs &= rhs && \text{note}`` or similar. amsmath sets column 1, 3, ...
    right-aligned, column 2, 4, ... left-aligned after an empty ``{}`` (so a
    leading ``=`` or ``+`` is a relation or binary operator), every column as
    wide as its widest entry, and at least \minalignsep (10pt) between
    column pairs: the block overflows a page when this exceeds \textwidth.
    """
    columns: list[float] = []
    for row in rows:
        for k, cell in enumerate(_split_top(row, "&")):
            w = math_width(cell if k % 2 == 0 else "{}" + cell)
            if k == len(columns):
                columns.append(0.0)
            columns[k] = max(columns[k], w)
    pairs = (len(columns) + 1) // 2
    return sum(columns) + MIN_ALIGN_SEP * max(0, pairs - 1)


# ---------------------------------------------------------------- line breaking

#: A parenthesised sum narrower than this, such as (1 - f_t), is never split
#: over two rows: the rows would be hardly shorter, and hard to read.
MIN_SPLIT_WIDTH = 40.0

_TERM_TOKEN = re.compile(r"\\[A-Za-z]+|\\.|.", re.S)
#: After these a + or - is a sign, not a binary operator.
_BEFORE_SIGN = frozenset(
    [
        *"+-=<>([,;:&",
        *("\\" + name for name in ("left", "bigl", "Bigl", "biggl", "Biggl", "quad", "qquad")),
        *("\\" + name for name, (cls, _, _) in SYMBOLS.items() if cls in (BIN, REL)),
    ]
)
_OPENING = frozenset(("{", r"\left", r"\begin"))
_CLOSING_GROUP = frozenset(("}", r"\right", r"\end"))


def top_level_terms(latex: str) -> list[str]:
    r"""The summands of ``latex`` (math-mode LaTeX of a sum), split at each
    binary ``+`` or ``-`` outside braces, ``\left ... \right`` and
    environments. Each term keeps its sign (``"a - b"`` gives ``["a", "- b"]``);
    a leading sign, or one after a relation, an opening delimiter or another
    operator, is part of its term."""
    terms, start, depth, prev = [], 0, 0, None
    for m in _TERM_TOKEN.finditer(latex):
        tok = m.group()
        if tok.isspace():
            continue
        if tok in _OPENING:
            depth += 1
        elif tok in _CLOSING_GROUP:
            depth -= 1
        elif depth == 0 and tok in "+-" and prev is not None and prev not in _BEFORE_SIGN:
            terms.append(latex[start : m.start()].strip())
            start = m.start() if tok == "-" else m.end()
        prev = tok
    terms.append(latex[start:].strip())
    return terms


def _join(terms: list[str]) -> str:
    """``terms`` as a sum: `` + t``, or `` - t`` for a term written ``-t``."""
    out = ""
    for k, term in enumerate(terms):
        t = term.strip()
        if k == 0:
            out = t
        elif t.startswith("-"):
            out += " - " + t[1:].lstrip()
        else:
            out += " + " + (t[1:].lstrip() if t.startswith("+") else t)
    return out


def _signed(indent: str, terms: list[str]) -> str:
    r"""A continuation: ``\quad + t1 + t2``, the first term's sign kept."""
    t = terms[0].strip()
    sign, first = ("-", t[1:].lstrip()) if t.startswith("-") else ("+", t.lstrip("+").lstrip())
    return f"{indent} {sign} {_join([first, *terms[1:]])}"


def _fill(pieces: list[str], render, budget: float) -> list[list[str]]:
    """``pieces`` grouped greedily into rows, ``render(k, group)`` being row
    k's math (measured after amsmath's ``{}``) and at most ``budget`` wide;
    a piece too wide even alone gets a row of its own."""
    rows = [[pieces[0]]]
    for piece in pieces[1:]:
        trial = rows[-1] + [piece]
        if math_width("{}" + render(len(rows) - 1, trial)) <= budget:
            rows[-1] = trial
        else:
            rows.append([piece])
    return rows


def _last_parenthesised(term: str, pieces_of):
    r"""``term`` as (head, delimiter, inner pieces, delimiter, tail) around its
    last top-level ``\left ... \right`` pair whose content ``pieces_of`` cuts
    into at least two pieces and is at least MIN_SPLIT_WIDTH wide; None if
    there is none."""
    depth, found, opened = 0, None, None
    tokens = list(_TERM_TOKEN.finditer(term))
    for k, m in enumerate(tokens):
        tok = m.group()
        if tok in _OPENING:
            if depth == 0 and tok == r"\left":
                opened = (m.start(), k)
            depth += 1
        elif tok in _CLOSING_GROUP:
            depth -= 1
            if depth == 0 and tok == r"\right" and opened is not None:
                left_tok, right_tok = tokens[opened[1] + 1], tokens[k + 1]
                inner = term[left_tok.end() : m.start()]
                if len(pieces_of(inner)) >= 2 and math_width(inner) >= MIN_SPLIT_WIDTH:
                    found = (opened[0], left_tok.group(), inner, right_tok.group(), right_tok.end())
    if found is None:
        return None
    start, left, inner, right, end = found
    return term[:start].rstrip(), left, pieces_of(inner), right, term[end:].lstrip()


def _last_parenthesised_sum(term: str):
    r"""``term`` around its last top-level ``\left ... \right`` pair holding a
    sum of at least two terms (see :func:`_last_parenthesised`)."""
    return _last_parenthesised(term, top_level_terms)


#: A factor that is only a function's name (with a power), \tanh^{2}: its
#: argument follows after a space and is never cut from it (compiled and
#: cached by re when first used).
_FUNCTION_NAME = r"[+-]?\s*\\(?:[A-Za-z]+|operatorname\{[^{}]*\})(?:\^(?:\{[^{}]*\}|\S))?"
#: Tokens a factor cannot begin with: scripts, operators, closing delimiters.
_NOT_A_START = frozenset(["^", "_", "}", ")", "]", r"\right", r"\end", r"\\", *_BEFORE_SIGN])


def top_level_factors(latex: str) -> list[str]:
    r"""The factors of ``latex`` (math-mode LaTeX of a product written by
    juxtaposition, ``\operatorname{diag}\left(a\right) U_o B``), split at the
    spaces outside braces, ``\left ... \right`` and environments that stand
    between two whole factors: never after an operator, a relation or an
    opening delimiter, never before a script or an operator, and never between a
    function's name and its argument (``\tanh^{2} c_t`` stays whole)."""
    tokens = [m for m in _TERM_TOKEN.finditer(latex) if not m.group().isspace()]
    factors, start, depth = [], 0, 0
    for k, m in enumerate(tokens):
        tok = m.group()
        if tok in _OPENING:
            depth += 1
        elif tok in _CLOSING_GROUP:
            depth -= 1
        if depth or k + 1 == len(tokens):
            continue
        after = tokens[k + 1]
        gap = latex[m.end() : after.start()]
        current = latex[start : m.end()].strip()
        if (
            gap.isspace()
            and gap
            and tok not in _BEFORE_SIGN
            and after.group() not in _NOT_A_START
            and not re.fullmatch(_FUNCTION_NAME, current)
        ):
            factors.append(current)
            start = after.start()
    factors.append(latex[start:].strip())
    return factors


def _odot_pieces(latex: str) -> list[str]:
    r"""``latex`` cut at its top-level ``\odot`` (an elementwise product)."""
    pieces, start, depth = [], 0, 0
    for m in _TERM_TOKEN.finditer(latex):
        tok = m.group()
        if tok in _OPENING:
            depth += 1
        elif tok in _CLOSING_GROUP:
            depth -= 1
        elif depth == 0 and tok == r"\odot":
            pieces.append(latex[start : m.start()].strip())
            start = m.end()
    pieces.append(latex[start:].strip())
    return pieces


def _split(term: str, budget: float):
    r"""How to cut a term too wide for a row: ``(head, delimiter, pieces,
    delimiter, tail, join, continue)`` with ``join(pieces)`` the pieces'
    LaTeX on one row and ``continue(indent, pieces)`` on a continuation row.
    In order: inside its last parenthesised sum (at ``+`` and ``-``) unless
    what follows the sum would take more than a third of every row's
    ``budget`` (it is reserved on each), between its factors, inside its last
    delimiters holding an elementwise product (at ``\odot``: a diag's
    argument); None if none applies."""
    found = _last_parenthesised_sum(term)
    factors = top_level_factors(term)
    if found is not None and (len(factors) < 2 or 3 * math_width(found[-1]) <= budget):
        return (*found, _join, _signed)
    if len(factors) >= 2:
        return ("", "", factors, "", "", " ".join, _juxtaposed)
    found = _last_parenthesised(term, _odot_pieces)
    if found is not None:
        return (*found, r" \odot ".join, _elementwise)
    return None


def _juxtaposed(indent: str, factors: list[str]) -> str:
    return f"{indent} {' '.join(factors)}"


def _elementwise(indent: str, pieces: list[str]) -> str:
    return indent + r" \odot " + r" \odot ".join(pieces)


def _fixed_size(left: str, inner: str) -> str:
    r"""The ``\big``-family size (``""`` for the normal one) whose ``left``
    delimiter is at least as tall as ``\left`` would make it around ``inner``:
    a sum split over rows needs one fixed size on both of them."""
    delim = Parser(left).delimiter()
    if delim is None:
        return ""
    _, h, d = mlist_box(Parser(inner).mlist(), 0)
    _, th, td = variant(delim, 0, left_right_size(h, d, 0))
    fam, code = delim[0]
    _, sh, sd, _ = char_box(fam, 0, code)
    if sh + sd >= th + td:
        return ""
    axis = symbol_params(2)["axis_height"]
    for name, multiple in BIG_SIZES.items():
        reach = multiple * BIG_SIZE / 2
        _, bh, bd = variant(delim, 0, left_right_size(reach + axis, reach - axis, 2))
        if bh + bd >= th + td:
            return name
    return "Bigg"  # taller than \Bigg: the closest fixed size


def _indent(quads: int) -> str:
    return " ".join([r"\qquad"] * (quads // 2) + [r"\quad"] * (quads % 2))


def _layout(terms: list[str], render, budget: float, closing: str, depth: int) -> list[str]:
    """The rows printing ``terms`` (``render(k, group)`` gives row k), each at
    most ``budget`` wide, ``closing`` appended to the last. A row holding one
    term too wide is cut (:func:`_split`: inside its last parenthesised sum,
    between its factors, or inside a diag's elementwise product), one level
    deeper, recursively."""
    reserve = math_width(closing) if closing else 0.0
    groups = _fill(terms, render, budget - reserve)
    out = []
    for k, group in enumerate(groups):
        text = render(k, group)
        split = _split(group[0], budget - reserve) if len(group) == 1 else None
        if split is None or math_width("{}" + text) <= budget - reserve:
            out.append(text)
            continue
        # Delimiters of one fixed size (the one \left would choose) on both
        # rows; the rows inside indented one quad further.
        head, left, inner, right, tail, join, continued = split
        size = _fixed_size(left, join(inner)) if left else ""
        opening = (rf"\{size}l" if size else "") + left
        inner_closing = ((rf"\{size}r" if size else "") + f"{right} {tail}").rstrip()

        def inner_render(j, part, k=k, head=head, opening=opening, join=join, continued=continued):
            if j == 0:
                return render(k, [f"{head} {opening}{join(part)}".strip()])
            return continued(_indent(depth + 2), part)

        out += _layout(inner, inner_render, budget - reserve, inner_closing, depth + 1)
    if closing:
        out[-1] += closing
    return out


def _rows_of_line(lhs, terms: list[str], budget: float) -> list[tuple[str, str]]:
    """(left column, right column) rows for ``lhs = terms`` with right
    columns at most ``budget`` wide (see break_lines)."""

    def render(k, group):
        if k == 0:
            return (" " if lhs is None else "= ") + _join(group)
        return _signed(_indent(1), group)

    rows = _layout(terms, render, budget, "", 0)
    return [("" if k or lhs is None else lhs, row) for k, row in enumerate(rows)]


def break_lines(lines: list[tuple[str | None, list[str], str | None]], width: float) -> list[str]:
    r"""The rows of one ``align*`` (or ``aligned``) block printing each
    ``lhs = terms[0] + terms[1] + ...`` within ``width`` pt.

    ``lines``: (lhs, terms, note) for each equation: ``lhs`` math-mode LaTeX
    (None: no left-hand side and no ``=``, as in ``& f_t``); ``terms`` the
    summands, each keeping its sign (a term written ``- x`` is joined as
    `` - x``; :func:`top_level_terms` splits a printed sum); ``note`` text for
    ``&& \text{note}`` on the equation's last row, or None.

    Returns the rows without ``\\``: ``lhs &= t1 + t2 ...`` and then
    ``&\quad + tk ...``, each filled greedily. The columns are shared by the
    whole block: every right-hand side gets the width left by the widest
    left-hand side and, when any line has a note, \minalignsep and the widest
    note. A term too wide for a row alone is broken inside its last
    ``\left( ... \right)`` holding a sum: ``\bigl( ...`` (the size ``\left``
    would choose) on one row, ``&\qquad + ... \bigr)`` on the next, and so
    on inside that sum if need be. What still does not fit (a wide term with
    no such sum) is left on a row of its own: ``align_width(rows) > width``
    then tells the caller. Notes that leave the right-hand sides too little
    room go on rows of their own, ``&\quad \text{(note)}``, below their
    equations.
    """
    rows = _break_lines(lines, width, notes_apart=False)
    if any(note is not None for _, _, note in lines) and align_width(rows) > width:
        return _break_lines(lines, width, notes_apart=True)
    return rows


def _break_lines(lines, width: float, notes_apart: bool) -> list[str]:
    lhs_w = max((math_width(lhs) for lhs, _, _ in lines if lhs is not None), default=0.0)
    notes = [note for _, _, note in lines if note is not None]
    note_w = MIN_ALIGN_SEP + max(text_width(n) for n in notes) if notes and not notes_apart else 0.0
    budget = width - lhs_w - note_w
    out = []
    for lhs, terms, note in lines:
        if not terms:
            raise ValueError(f"no terms to print for {lhs!r}")
        rows = [f"{left} &{right}".lstrip() for left, right in _rows_of_line(lhs, terms, budget)]
        if note is not None and notes_apart:
            rows.append(rf"&\quad \text{{({note})}}")
        elif note is not None:
            rows[-1] += rf" && \text{{{note}}}"
        out += rows
    return out


def break_sum(lhs: str, terms: list[str], width: float, note: str | None = None) -> list[str]:
    r"""The rows of an ``align*`` block printing ``lhs = terms[0] + ...``
    within ``width`` pt: :func:`break_lines` for one equation. Every row's
    estimated width (:func:`align_width` of the rows) is at most ``width``
    unless a term cannot be broken, which is then left on a row of its own."""
    return break_lines([(lhs, terms, note)], width)


def matrix_or_entries(
    name_latex: str,
    rows: list[list[str]],
    width: float,
    names: list[list[str]] | None = None,
) -> list[str]:
    r"""Rows of an ``align*`` block printing the matrix ``name = (rows)``:
    one row ``name &= \begin{pmatrix} ... \end{pmatrix}`` if that is at most
    ``width`` pt wide, else the entries one by one, ``name_{ij} &= entry``,
    each broken as :func:`break_lines` does when it is itself too wide.

    ``rows``: the entries, math-mode LaTeX, row by row. ``names``: the
    entries' names in the same shape (default ``name_{11}``, ``name_{12}``,
    ...: 1-based, as in papers). Other rows of the same ``align*`` block share
    its columns: measure the whole block with :func:`align_width`.
    """
    body = r" \\ ".join(" & ".join(row) for row in rows)
    whole = rf"{name_latex} &= \begin{{pmatrix}} {body} \end{{pmatrix}}"
    if align_width([whole]) <= width:
        return [whole]
    lines = [
        (names[i][j] if names else f"{name_latex}_{{{i + 1}{j + 1}}}", top_level_terms(entry), None)
        for i, row in enumerate(rows)
        for j, entry in enumerate(row)
    ]
    return break_lines(lines, width)


# Patterns of fit_rows, compiled (and cached by re) when it is first called.
_MATRIX_ROW = r"(?s)(.*?)&=\s*\\begin\{pmatrix\}(.*)\\end\{pmatrix\}\s*"
_NOTE = r"(?s)\\text\{(.*)\}"


def fit_rows(rows: list[str], width: float) -> list[str]:
    r"""The rows of an ``align*`` (or ``aligned``) block, as they are if they
    fit ``width`` pt, else printed again to fit: for a caller that has the
    rows as LaTeX strings (a document built from the structure should break
    its sums itself, :func:`break_lines` with the terms it knows).

    ``rows``: without their ``\\`` separators, each ``lhs &= rhs``,
    ``&= rhs`` (a continued equation) or ``& rhs``, optionally followed by
    ``&& \text{note}``. A block of one row ``name &= \begin{pmatrix} ...
    \end{pmatrix}`` goes :func:`matrix_or_entries`; any other is broken at the
    top-level ``+`` and ``-`` of each right-hand side (:func:`break_lines`).
    Rows with LaTeX the estimator does not know are returned as they are."""
    try:
        if align_width(rows) <= width:
            return rows
        matrix = re.fullmatch(_MATRIX_ROW, rows[0]) if len(rows) == 1 else None
        if matrix is not None:
            entries = [
                [c.strip() for c in _split_top(r, "&")] for r in _split_top(matrix.group(2), "\\\\")
            ]
            return matrix_or_entries(matrix.group(1).strip(), entries, width)
        lines = []
        for row in rows:
            cols = [c.strip() for c in _split_top(row, "&")]
            lhs, rhs = cols[0], cols[1] if len(cols) > 1 else ""
            if rhs.startswith("="):
                rhs = rhs[1:].strip()
            elif lhs:
                return rows  # "a & b": no equation to continue
            else:
                lhs = None
            note = re.fullmatch(_NOTE, cols[3]) if len(cols) > 3 else None
            lines.append((lhs, top_level_terms(rhs), note and note.group(1)))
        return break_lines(lines, width)
    except TexWidthError:
        return rows
