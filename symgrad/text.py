"""Text in every format symgrad prints: prose with mathematics, tables, JSON.

One place for what every report needs. Prose with inline mathematics is
written once, as a :class:`Prose` of plain text, :class:`Math` and
:class:`Code` pieces, and printed as LaTeX (``$...$``), Markdown (``$...$``,
which GitHub and Jupyter render), MathJax text for notebooks, or Unicode
(:meth:`Prose.render`); :func:`prose` reads it from a string with ``$math$``
and :func:`ascii_prose` from ASCII such as a cell's docstring
("z_t keeps h_{t-1}"). Numbers: :func:`typed_number` (as the user typed
them), :func:`interval_text` (enough digits that the ends differ). Lower
level: Unicode from inline LaTeX (:func:`plain`), LaTeX escapes
(:func:`tex_inline`, :func:`tex_text`), cells of Markdown tables
(:func:`md_cell`), aligned tables (:func:`table`), simple Markdown reports
turned into LaTeX (:func:`markdown_to_latex`) and JSON with non-finite
numbers spelled out (:func:`dumps`). The standard library only.
"""

from __future__ import annotations

import functools
import math
import re

__all__ = [
    "GREEK",
    "PROSE_FORMATS",
    "Code",
    "Math",
    "Prose",
    "ascii_prose",
    "dumps",
    "interval_text",
    "json_ready",
    "markdown_to_latex",
    "md_cell",
    "md_text",
    "plain",
    "prose",
    "scientific_math",
    "table",
    "tex_inline",
    "tex_text",
    "typed_number",
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
    (r"\\sim(?![a-z])", "~"),
    (r"\\cdots", "⋯"),
    (r"\\cdot", "·"),
    (r"\\le(?![a-z])", "≤"),
    (r"\\ge(?![a-z])", "≥"),
    (r"\\ne(?![a-z])", "≠"),
    (r"\\to(?![a-z])", "→"),
    (r"\\Rightarrow", "⇒"),
    (r"\\in(?![a-z])", "∈"),
    (r"\\times(?![a-z])", "×"),
    (r"\\pm(?![a-z])\s*", "±"),
    (r"\\sqrt\{([^{}]*)\}", r"√(\1)"),
    (r"\\sqrt", "√"),
    (r"\\prod", "∏"),
    (r"\\sum", "Σ"),
    (r"\\(tanh|cosh|lim|sup|inf|log|exp|max|min|ln)(?![a-z])", r"\1"),
    (r"\\mathbb\{([^{}]*)\}", r"\1"),
    (r"\\operatorname\{([^{}]*)\}", r"\1"),
    (r"\\hat\{(\w)\}", "\\1\u0302"),
    (r"\\text\{([^{}]*)\}", r"\1"),
    (r"\\(quad|qquad)", "  "),
    (r"\\[,;: ]", " "),
    (r"\^\{?2\}?", "²"),
    (r"\^\{?\*\}?", "*"),
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


#: The Greek letters LaTeX names, lowercase in cmmi's order then capitals in
#: cmr's (symgrad.texparse reads their math codes from these positions),
#: with their Unicode.
GREEK = {
    "alpha": "α",
    "beta": "β",
    "gamma": "γ",
    "delta": "δ",
    "epsilon": "ε",
    "zeta": "ζ",
    "eta": "η",
    "theta": "θ",
    "iota": "ι",
    "kappa": "κ",
    "lambda": "λ",
    "mu": "μ",
    "nu": "ν",
    "xi": "ξ",
    "pi": "π",
    "rho": "ρ",
    "sigma": "σ",
    "tau": "τ",
    "upsilon": "υ",
    "phi": "φ",
    "chi": "χ",
    "psi": "ψ",
    "omega": "ω",
    "Gamma": "Γ",
    "Delta": "Δ",
    "Theta": "Θ",
    "Lambda": "Λ",
    "Xi": "Ξ",
    "Pi": "Π",
    "Sigma": "Σ",
    "Upsilon": "Υ",
    "Phi": "Φ",
    "Psi": "Ψ",
    "Omega": "Ω",
}


def plain(text: str) -> str:
    """Inline LaTeX (between ``$``) and Markdown code marks as Unicode text."""
    out = text.replace("`", "")
    for pattern, repl in _MACROS:
        out = re.sub(pattern, repl, out)
    out = re.sub(r"\\([A-Za-z]+)(?![A-Za-z])\s?", lambda m: GREEK.get(m.group(1), m.group(0)), out)
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
    "⇒": "\\Rightarrow",
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


# ---------------------------------------------------------------- prose: text with mathematics

#: The formats a :class:`Prose` prints in (:meth:`Prose.render`).
PROSE_FORMATS = ("latex", "markdown", "mathjax", "text")


class Math:
    r"""Inline mathematics: ``latex`` is math-mode LaTeX (``h_{t-1}``,
    ``\partial c_t/\partial c_{t-1}``), ``text`` its Unicode form (default:
    :func:`plain` of the LaTeX, ``∂c_t/∂c_{t-1}``)."""

    __slots__ = ("_text", "latex")

    def __init__(self, latex: str, text: str | None = None):
        self.latex = latex.strip()
        self._text = text

    @property
    def text(self) -> str:
        # Made when asked for: LaTeX output never needs plain()'s patterns.
        if self._text is None:
            self._text = plain(self.latex)
        return self._text

    def __eq__(self, other):
        return isinstance(other, Math) and (self.latex, self.text) == (other.latex, other.text)

    def __hash__(self):
        return hash((Math, self.latex, self.text))

    def __repr__(self):
        return f"Math({self.latex!r})"


class Code:
    """A name from code (``reset_after=True``, ``torch.nn.GRUCell``): typewriter
    in LaTeX, backquoted in Markdown, as is in text."""

    __slots__ = ("code",)

    def __init__(self, code: str):
        self.code = code

    def __eq__(self, other):
        return isinstance(other, Code) and self.code == other.code

    def __hash__(self):
        return hash((Code, self.code))

    def __repr__(self):
        return f"Code({self.code!r})"


class Prose:
    r"""Text with inline mathematics, written once and printed in every format.

    ``pieces``: plain text (``str``, printed escaped as each format needs),
    :class:`Math` and :class:`Code`; a :class:`Prose` among them is spliced
    in. ``Prose("with ", Math("o_{t-1}"), " held fixed")`` prints as

    - ``latex``: ``with $o_{t-1}$ held fixed`` (text escaped: never ``\_``
      outside ``\texttt``);
    - ``markdown``: ``with $o_{t-1}$ held fixed`` (Markdown's specials
      escaped in the text; ``$...$`` is what GitHub and Jupyter render);
    - ``mathjax``: the same with the text left as it is, for Jupyter's
      ``text/latex`` output, which MathJax typesets;
    - ``text``: ``with o_{t-1} held fixed`` (each Math's Unicode).

    Prose is immutable; ``+`` joins it with text, Math or other prose;
    :meth:`join` puts a separator between items. :func:`prose` reads a
    string whose ``$...$`` spans are math, :func:`ascii_prose` ASCII prose
    such as a cell's docstring.
    """

    __slots__ = ("pieces",)

    def __init__(self, *pieces):
        flat: list = []
        for p in pieces:
            for q in p.pieces if isinstance(p, Prose) else (p,):
                if not isinstance(q, (str, Math, Code)):
                    raise TypeError(f"prose pieces are str, Math, Code or Prose, not {q!r}")
                if isinstance(q, str) and flat and isinstance(flat[-1], str):
                    flat[-1] += q
                elif q != "":
                    flat.append(q)
        object.__setattr__(self, "pieces", tuple(flat))

    def __setattr__(self, name, value):
        raise AttributeError("Prose is immutable")

    def __add__(self, other):
        return Prose(self, other)

    def __radd__(self, other):
        return Prose(other, self)

    def __eq__(self, other):
        return isinstance(other, Prose) and self.pieces == other.pieces

    def __hash__(self):
        return hash(self.pieces)

    def __bool__(self):
        return bool(self.pieces)

    def __repr__(self):
        return f"Prose({', '.join(map(repr, self.pieces))})"

    def __str__(self):
        return self.text()

    @staticmethod
    def join(separator, items) -> Prose:
        """``items`` (text, Math, Code or Prose) with ``separator`` between them."""
        out: list = []
        for k, item in enumerate(items):
            if k:
                out.append(separator)
            out.append(item)
        return Prose(*out)

    def render(self, fmt: str) -> str:
        """The prose in ``fmt``, one of :data:`PROSE_FORMATS`."""
        if fmt not in PROSE_FORMATS:
            raise ValueError(f"unknown format {fmt!r}. Valid formats: {', '.join(PROSE_FORMATS)}")
        out = []
        for p in self.pieces:
            if isinstance(p, Math):
                out.append(p.text if fmt == "text" else f"${p.latex}$")
            elif isinstance(p, Code):
                out.append(_CODE[fmt](p.code))
            else:
                out.append(_TEXT[fmt](p))
        return "".join(out)

    def latex(self) -> str:
        return self.render("latex")

    def markdown(self) -> str:
        return self.render("markdown")

    def mathjax(self) -> str:
        return self.render("mathjax")

    def text(self) -> str:
        return self.render("text")


def md_text(text: str) -> str:
    """Plain text for Markdown: the characters that would start emphasis,
    code, links, HTML or math escaped."""
    return re.sub(r"([\\`*_\[\]<>$#|~])", r"\\\1", text)


def _mathjax_text(text: str) -> str:
    return text.replace("$", r"\$")


def _tex_code(code: str) -> str:
    return r"\texttt{" + "".join(_tex_char(ch) for ch in code) + "}"


_TEXT = {"latex": tex_text, "markdown": md_text, "mathjax": _mathjax_text, "text": str}
_CODE = {
    "latex": _tex_code,
    "markdown": lambda code: f"`{code}`",
    "mathjax": str,
    "text": str,
}


def prose(text: str) -> Prose:
    r"""``text`` with ``$...$`` spans as :class:`Math` (their LaTeX as
    written; their Unicode from :func:`plain`) and backquoted spans as
    :class:`Code`: ``prose(r"with $o_{t-1}$ held fixed")``."""
    pieces: list = []
    for k, part in enumerate(re.split(r"(\$[^$]*\$|`[^`]*`)", text)):
        if k % 2 == 0:
            pieces.append(part)
        elif part.startswith("$"):
            pieces.append(Math(part[1:-1]))
        else:
            pieces.append(Code(part[1:-1]))
    return Prose(*pieces)


# ---------------------------------------------------------------- ASCII prose with math

# A name with a subscript: one letter (and digits), then _t, _hn, _{t-1}.
_SUBSCRIPTED = r"[A-Za-z][0-9]*_(?:\{[^{}\s]*\}|[A-Za-z0-9]{1,3}(?![A-Za-z0-9]))"


@functools.cache
def _ascii_token() -> re.Pattern:
    """The tokens of ASCII prose (compiled on first use: a verbose pattern
    costs start-up time that derive's LaTeX does not need)."""
    return re.compile(
        rf"""
    (?P<deriv>(?<![\w.\\])d(?P<num>{_SUBSCRIPTED})/d(?P<den>{_SUBSCRIPTED}))
  | (?P<accent>(?<![\w.\\])(?P<mark>hat|tilde|bar)\ (?P<accented>{_SUBSCRIPTED}))
  | (?P<name>(?<![\w.\\]){_SUBSCRIPTED}(?![\w]))
  | (?P<code>[A-Za-z_]\w*(?:[./=]\w+)+|[A-Za-z]\w*_\w+)
  | (?P<word>[A-Za-z]+[0-9]*(?:['-][A-Za-z0-9]+)*)
  | (?P<number>[0-9]+(?:\.[0-9]+)?)
  | (?P<op><=|>=|!=|[-+*/=<>^|])
  | (?P<open>\()
  | (?P<close>\))
  | (?P<space>\s+)
  | (?P<other>.)
    """,
        re.X | re.S,
    )


#: Words that are functions when they stand in a formula.
_FUNCTIONS = {
    "tanh": r"\tanh",
    "sigma": r"\sigma",
    "sigmoid": r"\sigma",
    "exp": r"\exp",
    "log": r"\log",
    "relu": r"\operatorname{relu}",
    "softplus": r"\operatorname{softplus}",
    "sqrt": r"\sqrt",
    "abs": r"\operatorname{abs}",
}
_OPERATORS = {"<=": r"\le", ">=": r"\ge", "!=": r"\ne", "*": r"\,"}
_NOT_MATH_WORDS = frozenset("aAI")


def ascii_prose(text: str, names: dict | None = None) -> Prose:
    r"""ASCII prose with formulas in it, such as a cell's docstring, as
    :class:`Prose`. The rule, meant to be the least surprising one:

    - a name with a subscript (``h_{t-1}``, ``z_t``, ``b_hn``, ``h1_t``: one
      letter, digits, ``_`` and a subscript of up to three characters or in
      braces), ``hat h_t`` and ``dc_t/dc_{t-1}`` (a derivative: written with
      ``\partial``) are mathematics, and so is a word of ``names`` of one
      letter (and digits) except ``a``, ``A`` and ``I``;
    - numbers, ``+ - * / = < > <= >= ^ |``, parentheses and the functions
      ``tanh``, ``sigma``, ``relu``, ... next to them join the formula
      (``h_t = (1 - z_t) n_t + z_t h_{t-1}``), a formula's own outer
      parentheses and an enumeration ``(1)`` staying prose;
    - an ASCII name of ``names`` is mathematics (``c_prev`` -> ``c_{t-1}``);
      other words with ``_``, ``.`` or ``/`` inside are code
      (``reset_after=True``, ``torch.nn.GRUCell``, ``tests/test_torch.py``).

    ``names``: ASCII name -> LaTeX of the names the text may use (a cell's
    ``latex`` mapping, with ``v_t`` and ``v_{t-1}`` for each value ``v``);
    other names keep their spelling, a subscript of two or three characters
    braced (``b_hn`` -> ``b_{hn}``).
    """
    names = names or {}
    tokens = [(m.lastgroup, m) for m in _ascii_token().finditer(text)]
    pieces: list = []
    k = 0
    while k < len(tokens):
        end = _formula_end(tokens, k, names)
        if end == k:
            kind, m = tokens[k]
            pieces.append(Code(m.group()) if kind == "code" and _is_code(m.group()) else m.group())
            k += 1
            continue
        first, last = _trim(tokens, k, end, names)
        pieces.append("".join(m.group() for _, m in tokens[k:first]))
        if first < last:
            pieces.append(_formula(tokens[first:last], names))
        pieces.append("".join(m.group() for _, m in tokens[last:end]))
        k = end
    return Prose(*pieces)


def _is_code(word: str) -> bool:
    # e.g. and i.e. are abbreviations, not code: every part one letter.
    return "_" in word or "/" in word or "=" in word or any(len(p) > 1 for p in word.split("."))


def _math_name(kind: str, m, names: dict) -> bool:
    if kind in ("deriv", "accent", "name"):
        return True
    word = m.group()
    if kind == "code":  # an ASCII name the cell declares: c_prev, W_hn
        return word in names
    return kind == "word" and word in names and re.fullmatch(r"[A-Za-z][0-9]*", word) is not None


def _formula_end(tokens, k: int, names: dict) -> int:
    """The end of the formula starting at token ``k`` (``k`` itself if none
    does): formula tokens, single spaces between them, at least one name."""
    end, named, j = k, False, k
    while j < len(tokens):
        kind, m = tokens[j]
        if kind == "space":
            j += 1
            continue
        word = m.group()
        if kind == "open" and j > k and _equation_inside(tokens, j):
            break  # "z_t keeps h_{t-1} (h_t = ...)": a parenthetical of the prose
        if _math_name(kind, m, names):
            named = True
        elif not (
            kind in ("number", "op", "open", "close")
            or (kind == "word" and word in _FUNCTIONS)
            or (kind == "word" and word in names and word not in _NOT_MATH_WORDS)
        ):
            break
        j += 1
        end = j
    return end if named else k


def _equation_inside(tokens, j: int) -> bool:
    """Whether the parentheses opening at token ``j`` hold an ``=`` of their own."""
    depth = 0
    for kind, m in tokens[j:]:
        depth += (kind == "open") - (kind == "close")
        if depth == 0:
            return False
        if depth == 1 and kind == "op" and m.group() == "=":
            return True
        if kind in ("other", "code"):
            return False
    return False


def _trim(tokens, start: int, end: int, names: dict) -> tuple[int, int]:
    """The part of a formula that is mathematics: dangling operators,
    unmatched parentheses, an enumeration ``(1)`` and outer parentheses
    around an equation left as prose."""
    kinds = [kind if kind != "space" else None for kind, _ in tokens]
    text = [m.group() for _, m in tokens]

    def strip_spaces(a, b):
        while a < b and kinds[a] is None:
            a += 1
        while b > a and kinds[b - 1] is None:
            b -= 1
        return a, b

    a, b = strip_spaces(start, end)
    changed = True
    while changed and a < b:
        changed = False
        depth, lowest = 0, 0
        for j in range(a, b):
            depth += (kinds[j] == "open") - (kinds[j] == "close")
            lowest = min(lowest, depth)
        if kinds[a] == "open" and depth > 0:  # "(" never closed
            a, changed = a + 1, True
        elif kinds[b - 1] == "close" and lowest < 0:  # ")" never opened
            b, changed = b - 1, True
        elif kinds[a] == "op" and text[a] not in "-|":
            a, changed = a + 1, True
        elif kinds[b - 1] == "op" and text[b - 1] != "|":
            b, changed = b - 1, True
        elif b - a >= 3 and kinds[a : a + 3] == ["open", "number", "close"]:
            a, changed = a + 3, True  # an enumeration: (1) z and ...
        elif kinds[a] == "open" and _wraps(kinds, a, b) and "=" in text[a:b]:
            a, b, changed = a + 1, b - 1, True  # (h_t = ...): the prose's parentheses
        a, b = strip_spaces(a, b)
    if not any(_math_name(kinds[j], tokens[j][1], names) for j in range(a, b) if kinds[j]):
        return start, start
    return a, b


def _wraps(kinds, a: int, b: int) -> bool:
    """Whether the parenthesis at ``a`` closes at ``b - 1``."""
    depth = 0
    for j in range(a, b):
        depth += (kinds[j] == "open") - (kinds[j] == "close")
        if depth == 0 and j < b - 1:
            return False
    return True


def _ascii_name(name: str, names: dict) -> str:
    if name in names:
        return names[name]
    base, _, sub = name.partition("_")
    if not sub.startswith("{") and len(sub) > 1:
        sub = "{" + sub + "}"
    return f"{base}_{sub}"


def _formula(tokens, names: dict) -> Math:
    out = []
    for kind, m in tokens:
        word = m.group()
        if kind == "deriv":
            num, den = _ascii_name(m.group("num"), names), _ascii_name(m.group("den"), names)
            out.append(rf"\partial {num}/\partial {den}")
        elif kind == "accent":
            base, _, sub = m.group("accented").partition("_")
            sub = _ascii_name(f"x_{sub}", {}).partition("_")[2]
            out.append(rf"\{m.group('mark')}{{{base}}}_{sub}")
        elif kind in ("name", "code"):
            out.append(_ascii_name(word, names))
        elif kind == "word":
            out.append(_FUNCTIONS.get(word) or names.get(word, word))
        elif kind == "space":
            out.append(" ")
        else:
            out.append(_OPERATORS.get(word, word))
    return Math("".join(out))


# ---------------------------------------------------------------- numbers


def typed_number(text: str) -> Math:
    r"""A number as the user typed it (``0.5``, ``-3/4``, ``1e-3``), as
    :class:`Math`: the text as typed; in LaTeX ``1e-3`` as
    ``1 \times 10^{-3}``."""
    typed = text.strip()
    mantissa, e, exponent = typed.lower().partition("e")
    if e and exponent:
        return Math(rf"{mantissa} \times 10^{{{int(exponent)}}}", typed)
    return Math(typed, typed)


def scientific_math(x: float, digits: int = 1) -> str:
    """``x`` for prose with ``$math$``: "0", or Python's 2.0e-16 as a reader
    writes it, "$2.0 \\cdot 10^{-16}$"."""
    if x == 0:
        return "0"
    if not math.isfinite(x):
        return "$\\infty$" if x > 0 else ("$-\\infty$" if x < 0 else "NaN")
    mantissa, exponent = f"{x:.{digits}e}".split("e")
    return f"${mantissa} \\cdot 10^{{{int(exponent)}}}$"


def interval_text(lo: float, hi: float, digits: int = 4) -> tuple[str, str]:
    """``[lo, hi]`` printed with at least ``digits`` significant digits and as
    many more as it takes for the two ends to differ, rounded outward (lo
    down, hi up) so that the printed interval still contains the true one."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo == hi:
        return repr(lo), repr(hi)
    for d in range(digits, 18):
        a, b = f"{lo:.{d}g}", f"{hi:.{d}g}"
        if a != b:
            return _outward(lo, d, -1), _outward(hi, d, 1)
    return repr(lo), repr(hi)


def _outward(x: float, digits: int, direction: int) -> str:
    """``x`` to ``digits`` significant digits, rounded towards ``direction``,
    trailing zeros kept (they are digits that agree)."""
    from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

    exact = Decimal(repr(x))  # the shortest decimal that is x: -2e-9 stays -2e-9
    if exact == 0:
        return "0"
    quantum = Decimal(1).scaleb(exact.adjusted() - digits + 1)
    rounded = exact.quantize(quantum, rounding=ROUND_CEILING if direction > 0 else ROUND_FLOOR)
    if 1e-4 <= abs(x) < 1e15:
        return format(rounded, "f")
    return format(rounded, f".{digits - 1}e")


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
    import json  # only the JSON format pays for it: derive's start-up budget

    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
