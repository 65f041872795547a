r"""How wide LaTeX math comes out, without TeX; and rows broken to fit a page.

:func:`math_width` sets a math-mode string the way TeX does (The TeXbook,
Appendix G, "Generating boxes from formulas"), keeping only the box
dimensions: the glyph widths, heights, depths and italic corrections of the
fonts a default ``\documentclass{article}`` with amsmath and amssymb uses at
10pt (cmr, cmmi, cmsy, cmex at 10/7/5pt and the math alphabets' fonts:
:mod:`symgrad.texfonts`, generated from their TFM files by
tools/make_texwidth_table.py), TeX's spacing between atoms (thin 3mu,
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
:func:`matrix_or_entries` prints a matrix whole or entry by entry. The
widths to fill are :data:`ARTICLE_TEXTWIDTH` (a default article at 10pt)
and :data:`STANDALONE_TEXTWIDTH` (``--standalone`` documents and
proofs/claims.tex: geometry's 2cm margins on the default letter paper).
"""

from __future__ import annotations

import functools
import re

from .texfonts import FONTS

__all__ = [
    "ARTICLE_TEXTWIDTH",
    "STANDALONE_TEXTWIDTH",
    "TexWidthError",
    "align_width",
    "break_lines",
    "break_sum",
    "fits",
    "font_metrics",
    "math_width",
    "matrix_or_entries",
    "text_width",
    "top_level_terms",
]

# ---------------------------------------------------------------- page and TeX parameters

#: \textwidth of ``\documentclass{article}`` at 10pt (size10.clo), in pt.
ARTICLE_TEXTWIDTH = 345.0
#: \textwidth with ``\usepackage[margin=2cm]{geometry}`` on article's default
#: letter paper: 614.295pt - 2 x 56.9055pt (TeX's own rounding: 500.484pt).
STANDALONE_TEXTWIDTH = 500.484

#: TeX and LaTeX parameters at their LaTeX defaults (pt unless stated).
NULL_DELIMITER_SPACE = 1.2
SCRIPT_SPACE = 0.5
DELIMITER_FACTOR = 901  # per mille of the height to cover
DELIMITER_SHORTFALL = 5.0
ARRAY_COL_SEP = 5.0  # \arraycolsep: matrix columns are separated by twice this
MIN_ALIGN_SEP = 10.0  # amsmath's \minalignsep, between the column pairs of align
BASELINE_SKIP = 12.0  # \baselineskip at 10pt; array rows hold a strut of 0.7/0.3 of it
LINE_SKIP = 1.0  # \lineskip: rows closer than \lineskiplimit (0pt) get this instead
#: amsmath's \big@size: 1.2 x the height plus depth of a 10pt parenthesis; \big,
#: \Big, \bigg, \Bigg are 1, 1.5, 2, 2.5 times it.
BIG_SIZE = 12.0


class TexWidthError(ValueError):
    """The string holds LaTeX this module does not know how to measure."""


# ---------------------------------------------------------------- fonts

#: Font of each math family at text, script and scriptscript size ("cmex7@5":
#: cmex7 loaded at 5pt, as LaTeX's font definitions do where no design exists).
FAMILIES = {
    "rm": ("cmr10", "cmr7", "cmr5"),
    "mi": ("cmmi10", "cmmi7", "cmmi5"),
    "sy": ("cmsy10", "cmsy7", "cmsy5"),
    "ex": ("cmex10", "cmex7", "cmex7@5"),
    "bf": ("cmbx10", "cmbx7", "cmbx5"),
    "bb": ("msbm10", "msbm7", "msbm5"),
    "it": ("cmti10", "cmti7", "cmti7@5"),
    "sf": ("cmss10", "cmss8@7", "cmss8@5"),
    "tt": ("cmtt10", "cmtt8@7", "cmtt8@5"),
    "frak": ("eufm10", "eufm7", "eufm5"),
    "bmi": ("cmmib10", "cmmib7", "cmmib5"),
    "bsy": ("cmbsy10", "cmbsy7", "cmbsy5"),
}
#: The families \boldsymbol (amsbsy: \mathversion{bold}) takes instead.
BOLD_FAMILIES = {"rm": "bf", "mi": "bmi", "sy": "bsy"}


_LOADED: dict[str, dict] = {}


def font_metrics(name: str) -> dict:
    """The metrics of font ``name`` (a key of :data:`FAMILIES`' tuples, e.g.
    "cmmi7"): ``size`` and ``params`` as in :mod:`symgrad.texfonts`, and
    ``chars`` {code: (width, height, depth, italic correction)},
    ``kerns`` {left: {right: kern}}, ``ligatures`` {left: {right: code}},
    ``next`` {code: code}, ``extensible`` {code: (top, middle, bottom,
    repeat)}, all in pt. Each font's text tables are read on first use."""
    if name not in _LOADED:
        _LOADED[name] = _read(FONTS[name])
    return _LOADED[name]


def _read(raw: dict) -> dict:
    def rows(text):
        return [line.split() for line in text.splitlines() if line]

    pairs: dict[str, dict] = {"kerns": {}, "ligatures": {}}
    for table, convert in (("kerns", float), ("ligatures", int)):
        for left, right, value in rows(raw[table]):
            pairs[table].setdefault(int(left), {})[int(right)] = convert(value)
    return {
        "size": raw["size"],
        "params": raw["params"],
        "chars": {int(c): tuple(map(float, m)) for c, *m in rows(raw["chars"])},
        **pairs,
        "next": {int(c): int(n) for c, n in rows(raw["next"])},
        "extensible": {int(c): tuple(map(int, r)) for c, *r in rows(raw["extensible"])},
    }


def _fam(fam: str, size: int) -> dict:
    return font_metrics(FAMILIES[fam][size])


# ---------------------------------------------------------------- math codes

# Atom classes, in the order of TeX's spacing table.
ORD, OP, BIN, REL, OPEN, CLOSE, PUNCT, INNER = range(8)

#: Mathcodes of the ASCII characters that are not letters or digits (plain
#: TeX and LaTeX's fontmath.ltx): class, family, code.
CHARS = {
    "+": (BIN, "rm", 0x2B),
    "-": (BIN, "sy", 0x00),
    "*": (BIN, "sy", 0x03),
    "=": (REL, "rm", 0x3D),
    "<": (REL, "mi", 0x3C),
    ">": (REL, "mi", 0x3E),
    ":": (REL, "rm", 0x3A),
    "(": (OPEN, "rm", 0x28),
    "[": (OPEN, "rm", 0x5B),
    ")": (CLOSE, "rm", 0x29),
    "]": (CLOSE, "rm", 0x5D),
    "!": (CLOSE, "rm", 0x21),
    "?": (CLOSE, "rm", 0x3F),
    ",": (PUNCT, "mi", 0x3B),
    ";": (PUNCT, "rm", 0x3B),
    ".": (ORD, "mi", 0x3A),
    "/": (ORD, "mi", 0x3D),
    "|": (ORD, "sy", 0x6A),
}

_GREEK = [
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "zeta",
    "eta",
    "theta",
    "iota",
    "kappa",
    "lambda",
    "mu",
    "nu",
    "xi",
    "pi",
    "rho",
    "sigma",
    "tau",
    "upsilon",
    "phi",
    "chi",
    "psi",
    "omega",
    "varepsilon",
    "vartheta",
    "varpi",
    "varrho",
    "varsigma",
    "varphi",
]
_CAPITAL_GREEK = [
    "Gamma",
    "Delta",
    "Theta",
    "Lambda",
    "Xi",
    "Pi",
    "Sigma",
    "Upsilon",
    "Phi",
    "Psi",
    "Omega",
]

#: Math symbols by command name: class, family, code (fontmath.ltx).
SYMBOLS = {
    **{name: (ORD, "mi", 0x0B + k) for k, name in enumerate(_GREEK)},
    **{name: (ORD, "rm", k) for k, name in enumerate(_CAPITAL_GREEK)},
    "partial": (ORD, "mi", 0x40),
    "ell": (ORD, "mi", 0x60),
    "imath": (ORD, "mi", 0x7B),
    "jmath": (ORD, "mi", 0x7C),
    "infty": (ORD, "sy", 0x31),
    "prime": (ORD, "sy", 0x30),
    "nabla": (ORD, "sy", 0x72),
    "forall": (ORD, "sy", 0x38),
    "exists": (ORD, "sy", 0x39),
    "emptyset": (ORD, "sy", 0x3B),
    "|": (ORD, "sy", 0x6B),
    "Vert": (ORD, "sy", 0x6B),
    "vert": (ORD, "sy", 0x6A),
    "cdot": (BIN, "sy", 0x01),
    "times": (BIN, "sy", 0x02),
    "ast": (BIN, "sy", 0x03),
    "div": (BIN, "sy", 0x04),
    "pm": (BIN, "sy", 0x06),
    "mp": (BIN, "sy", 0x07),
    "oplus": (BIN, "sy", 0x08),
    "ominus": (BIN, "sy", 0x09),
    "otimes": (BIN, "sy", 0x0A),
    "odot": (BIN, "sy", 0x0C),
    "circ": (BIN, "sy", 0x0E),
    "bullet": (BIN, "sy", 0x0F),
    "cup": (BIN, "sy", 0x5B),
    "cap": (BIN, "sy", 0x5C),
    "wedge": (BIN, "sy", 0x5E),
    "vee": (BIN, "sy", 0x5F),
    "setminus": (BIN, "sy", 0x6E),
    "equiv": (REL, "sy", 0x11),
    "subseteq": (REL, "sy", 0x12),
    "supseteq": (REL, "sy", 0x13),
    "le": (REL, "sy", 0x14),
    "leq": (REL, "sy", 0x14),
    "ge": (REL, "sy", 0x15),
    "geq": (REL, "sy", 0x15),
    "sim": (REL, "sy", 0x18),
    "approx": (REL, "sy", 0x19),
    "subset": (REL, "sy", 0x1A),
    "supset": (REL, "sy", 0x1B),
    "ll": (REL, "sy", 0x1C),
    "gg": (REL, "sy", 0x1D),
    "leftarrow": (REL, "sy", 0x20),
    "gets": (REL, "sy", 0x20),
    "rightarrow": (REL, "sy", 0x21),
    "to": (REL, "sy", 0x21),
    "leftrightarrow": (REL, "sy", 0x24),
    "simeq": (REL, "sy", 0x27),
    "Leftarrow": (REL, "sy", 0x28),
    "Rightarrow": (REL, "sy", 0x29),
    "Leftrightarrow": (REL, "sy", 0x2C),
    "propto": (REL, "sy", 0x2F),
    "in": (REL, "sy", 0x32),
    "ni": (REL, "sy", 0x33),
    "not": (REL, "sy", 0x36),
    "mid": (REL, "sy", 0x6A),
    "parallel": (REL, "sy", 0x6B),
    "perp": (REL, "sy", 0x3F),
    "cdotp": (PUNCT, "sy", 0x01),
    "ldotp": (PUNCT, "mi", 0x3A),
    "colon": (PUNCT, "rm", 0x3A),
    "#": (ORD, "rm", 0x23),
    "$": (ORD, "rm", 0x24),
    "%": (ORD, "rm", 0x25),
    "&": (ORD, "rm", 0x26),
    "{": (OPEN, "sy", 0x66),
    "}": (CLOSE, "sy", 0x67),
    "lbrace": (OPEN, "sy", 0x66),
    "rbrace": (CLOSE, "sy", 0x67),
    "langle": (OPEN, "sy", 0x68),
    "rangle": (CLOSE, "sy", 0x69),
    "lfloor": (OPEN, "sy", 0x62),
    "rfloor": (CLOSE, "sy", 0x63),
    "lceil": (OPEN, "sy", 0x64),
    "rceil": (CLOSE, "sy", 0x65),
    "sum": (OP, "ex", 0x50),
    "prod": (OP, "ex", 0x51),
    "int": (OP, "ex", 0x52),
    "bigcup": (OP, "ex", 0x53),
    "bigcap": (OP, "ex", 0x54),
}

#: Commands that stand for a short formula (fontmath.ltx, amsmath): ``\ne``
#: is ``\not=``, ``\cdots`` an Inner atom of three centred dots (to which
#: amsmath adds a thin space before punctuation, a closing delimiter or the end,
#: see _Parser.command). amsmath's ``\dots`` guesses its form from what
#: follows; write ``\cdots`` or ``\ldots``.
MACROS = {
    "ne": r"\not=",
    "neq": r"\not=",
    "cdots": r"\mathinner{\cdotp\cdotp\cdotp}",
    "ldots": r"\mathinner{\ldotp\ldotp\ldotp}",
    "lvert": r"\mathopen|",
    "rvert": r"\mathclose|",
    "lVert": r"\mathopen\|",
    "rVert": r"\mathclose\|",
}

#: Named operators: the name, and whether limits go below in display style
#: (amsopn.sty's \qopname with "m") or always to the side ("o").
OPERATORS = {
    **{
        name: False
        for name in [
            "arccos",
            "arcsin",
            "arctan",
            "arg",
            "cos",
            "cosh",
            "cot",
            "coth",
            "csc",
            "deg",
            "dim",
            "exp",
            "hom",
            "ker",
            "lg",
            "ln",
            "log",
            "sec",
            "sin",
            "sinh",
            "tan",
            "tanh",
        ]
    },
    **{
        name: True
        for name in ["det", "gcd", "inf", "lim", "liminf", "limsup", "max", "min", "Pr", "sup"]
    },
}

#: Delimiters after \left, \right, \big...: small variant (family, code),
#: large variant (family, code) (fontmath.ltx's \delcode and \delimiter).
DELIMITERS = {
    "(": (("rm", 0x28), ("ex", 0x00)),
    ")": (("rm", 0x29), ("ex", 0x01)),
    "[": (("rm", 0x5B), ("ex", 0x02)),
    "]": (("rm", 0x5D), ("ex", 0x03)),
    "lbrack": (("rm", 0x5B), ("ex", 0x02)),
    "rbrack": (("rm", 0x5D), ("ex", 0x03)),
    "lfloor": (("sy", 0x62), ("ex", 0x04)),
    "rfloor": (("sy", 0x63), ("ex", 0x05)),
    "lceil": (("sy", 0x64), ("ex", 0x06)),
    "rceil": (("sy", 0x65), ("ex", 0x07)),
    "{": (("sy", 0x66), ("ex", 0x08)),
    "}": (("sy", 0x67), ("ex", 0x09)),
    "lbrace": (("sy", 0x66), ("ex", 0x08)),
    "rbrace": (("sy", 0x67), ("ex", 0x09)),
    "langle": (("sy", 0x68), ("ex", 0x0A)),
    "rangle": (("sy", 0x69), ("ex", 0x0B)),
    "|": (("sy", 0x6A), ("ex", 0x0C)),
    "vert": (("sy", 0x6A), ("ex", 0x0C)),
    "lvert": (("sy", 0x6A), ("ex", 0x0C)),
    "rvert": (("sy", 0x6A), ("ex", 0x0C)),
    "\\|": (("sy", 0x6B), ("ex", 0x0D)),
    "Vert": (("sy", 0x6B), ("ex", 0x0D)),
    "lVert": (("sy", 0x6B), ("ex", 0x0D)),
    "rVert": (("sy", 0x6B), ("ex", 0x0D)),
    "/": (("mi", 0x3D), ("ex", 0x0E)),
    ".": None,
}
_RADICAL = (("sy", 0x70), ("ex", 0x70))

#: \big and friends: the class of the result and the multiple of BIG_SIZE.
_BIG_SIZES = {"big": 1.0, "Big": 1.5, "bigg": 2.0, "Bigg": 2.5}
BIG = {
    name + suffix: (cls, multiple)
    for name, multiple in _BIG_SIZES.items()
    for suffix, cls in (("", ORD), ("l", OPEN), ("r", CLOSE), ("m", REL))
}

#: \mathord{...} ... \mathinner{...}, by class.
CLASS_COMMANDS = (
    "mathord",
    "mathop",
    "mathbin",
    "mathrel",
    "mathopen",
    "mathclose",
    "mathpunct",
    "mathinner",
)

#: Math accents: family and code of the accent character.
ACCENTS = {
    "hat": ("rm", 0x5E),
    "tilde": ("rm", 0x7E),
    "bar": ("rm", 0x16),
    "dot": ("rm", 0x5F),
    "ddot": ("rm", 0x7F),
    "check": ("rm", 0x14),
    "breve": ("rm", 0x15),
    "acute": ("rm", 0x13),
    "grave": ("rm", 0x12),
    "vec": ("mi", 0x7E),
    "widehat": ("ex", 0x62),
    "widetilde": ("ex", 0x65),
}

#: Font-changing commands: the family letters and digits are taken from.
#: ("cal": the capitals of the symbol font.)
FAMILY_COMMANDS = {
    "mathrm": "rm",
    "mathbf": "bf",
    "mathbb": "bb",
    "mathit": "it",
    "mathsf": "sf",
    "mathtt": "tt",
    "mathfrak": "frak",
    "mathcal": "cal",
}

#: Spacing commands: amount and unit ("mu", or "pt": \quad is 1em of the
#: text font, cmr10, whatever the style; "\ " its interword space).
SPACES = {
    ",": (3.0, "mu"),
    "thinspace": (3.0, "mu"),
    ":": (4.0, "mu"),
    ">": (4.0, "mu"),
    "medspace": (4.0, "mu"),
    ";": (5.0, "mu"),
    "thickspace": (5.0, "mu"),
    "!": (-3.0, "mu"),
    "negthinspace": (-3.0, "mu"),
    "quad": (FONTS["cmr10"]["params"]["quad"], "pt"),
    "qquad": (2 * FONTS["cmr10"]["params"]["quad"], "pt"),
    " ": (FONTS["cmr10"]["params"]["space"], "pt"),
    "enspace": (FONTS["cmr10"]["params"]["quad"] / 2, "pt"),
}

#: Style switches (TeX's numbering: display 0, text 2, script 4,
#: scriptscript 6; plus one when cramped).
STYLES = {"displaystyle": 0, "textstyle": 2, "scriptstyle": 4, "scriptscriptstyle": 6}

#: Matrix environments and their delimiters.
MATRICES = {
    "matrix": (".", "."),
    "pmatrix": ("(", ")"),
    "bmatrix": ("[", "]"),
    "vmatrix": ("|", "|"),
    "Vmatrix": ("\\|", "\\|"),
}

#: Space between atoms (The TeXbook, chapter 18): 0 none, 1 thin, 2 medium,
#: 3 thick; negative: only in display and text style; None cannot happen.
_SPACING = (
    # Ord  Op    Bin   Rel   Open  Close Punct Inner
    (0, 1, -2, -3, 0, 0, 0, -1),  # Ord
    (1, 1, None, -3, 0, 0, 0, -1),  # Op
    (-2, -2, None, None, -2, None, None, -2),  # Bin
    (-3, -3, None, 0, -3, 0, 0, -3),  # Rel
    (0, 0, None, 0, 0, 0, 0, 0),  # Open
    (0, 1, -2, -3, 0, 0, 0, -1),  # Close
    (-1, -1, None, -1, -1, -1, -1, -1),  # Punct
    (-1, 1, -2, -3, -1, 0, -1, -1),  # Inner
)
_MU = {1: 3.0, 2: 4.0, 3: 5.0}  # \thinmuskip, \medmuskip, \thickmuskip (natural)

# ---------------------------------------------------------------- parsing

_TOKEN = re.compile(r"\\([A-Za-z]+)[ \t\n]*|\\(.)|([ \t\n]+)|(.)", re.S)


def _tokens(latex: str) -> list[tuple[str, str]]:
    """("cs", name), ("space", " ") or ("char", c) for each token of ``latex``."""
    out = []
    for m in _TOKEN.finditer(latex):
        if m.group(1) is not None:
            out.append(("cs", m.group(1)))
        elif m.group(2) is not None:
            out.append(("cs", m.group(2)))
        elif m.group(3) is not None:
            out.append(("space", " "))
        else:
            out.append(("char", m.group(4)))
    return out


#: What amsmath's \extra@ takes for a closing delimiter after \cdots.
_CLOSING = frozenset(
    [
        "}",
        "rbrack",
        "rbrace",
        "rangle",
        "rceil",
        "rfloor",
        "rgroup",
        "rmoustache",
        "right",
        "bigr",
        "Bigr",
        "biggr",
        "Biggr",
    ]
)


class Noad:
    """An atom: its class, nucleus, scripts and (for operators) limits.

    The nucleus is one of ("char", family, code), ("list", items),
    ("frac", num, den), ("accent", family, code, nucleus),
    ("radical", items), ("text", tokens), ("left", delim, items, delim),
    ("matrix", rows, delim, delim) or ("big", delim, multiple)."""

    __slots__ = ("kind", "limits", "nucleus", "sub", "sup")

    def __init__(self, kind, nucleus, limits=None):
        self.kind, self.nucleus, self.limits = kind, nucleus, limits
        self.sup = self.sub = None


class _Parser:
    """Reads LaTeX math into a list of items: Noad atoms, ("glue", amount,
    unit) and ("style", style). ``whole``: the tokens are a whole formula
    (their end is its closing ``$``), not a braced group's."""

    def __init__(self, latex: str, toks: list | None = None, whole: bool = True):
        self.toks = _tokens(latex) if toks is None else toks
        self.pos = 0
        self.source = latex
        self.whole = whole

    def before_closing(self) -> bool:
        r"""Whether punctuation, a closing delimiter or the formula's end comes
        next: amsmath's \extrap@ then puts a thin space after \cdots."""
        tok = self.peek()
        if tok is None:
            return self.whole
        return tok in (
            ("char", ")"),
            ("char", "]"),
            ("char", ","),
            ("char", ";"),
            ("char", "."),
        ) or (tok[0] == "cs" and tok[1] in _CLOSING)

    def error(self, what: str) -> TexWidthError:
        return TexWidthError(f"{what} in {self.source!r}")

    def peek(self):
        while self.pos < len(self.toks) and self.toks[self.pos][0] == "space":
            self.pos += 1
        return self.toks[self.pos] if self.pos < len(self.toks) else None

    def next(self):
        tok = self.peek()
        if tok is None:
            raise self.error("unexpected end")
        self.pos += 1
        return tok

    def group_tokens(self) -> list:
        """The tokens of a braced argument (or the single next token), spaces kept."""
        tok = self.next()
        if tok != ("char", "{"):
            return [tok]
        depth, start = 1, self.pos
        while self.pos < len(self.toks):
            kind, value = self.toks[self.pos]
            self.pos += 1
            if kind == "char" and value == "{":
                depth += 1
            elif kind == "char" and value == "}":
                depth -= 1
                if depth == 0:
                    return self.toks[start : self.pos - 1]
        raise self.error("unbalanced braces")

    def argument(self, fam=None) -> list:
        """A math argument: a braced group or a single token, as a list of items."""
        sub = _Parser(self.source, self.group_tokens(), whole=False)
        items = sub.mlist(fam=fam)
        if sub.peek() is not None:
            raise self.error(f"unexpected {sub.peek()[1]!r}")
        return items

    def mlist(self, stop=(), fam=None) -> list:
        """Items up to the end, a closing brace, or a token in ``stop``."""
        items: list = []
        while True:
            tok = self.peek()
            if tok is None or tok == ("char", "}") or tok in stop:
                return items
            self.pos += 1
            self.item(tok, items, fam)

    def item(self, tok, items: list, fam) -> None:
        kind, value = tok
        if kind == "char":
            if value == "{":
                self.pos -= 1
                items.append(_group_noad(self.argument(fam)))
            elif value in "^_":
                self.script(items, value, self.argument(fam))
            elif value == "'":
                primes = [Noad(ORD, ("char", "sy", 0x30))]
                while self.peek() == ("char", "'"):
                    self.pos += 1
                    primes.append(Noad(ORD, ("char", "sy", 0x30)))
                self.script(items, "^", primes)
            elif value == "&" or value == "~" or value == "#" or value == "$":
                raise self.error(f"{value!r} outside an environment")
            else:
                items.append(_char_noad(value, fam, self))
            return
        if value == "\\":
            raise self.error("'\\\\' outside an environment")
        self.command(value, items, fam)

    def script(self, items: list, which: str, content: list) -> None:
        if not items or not isinstance(items[-1], Noad):
            items.append(Noad(ORD, ("list", [])))
        noad = items[-1]
        attr = "sup" if which == "^" else "sub"
        if getattr(noad, attr) is not None:
            raise self.error(f"double {'superscript' if which == '^' else 'subscript'}")
        setattr(noad, attr, content)

    def command(self, name: str, items: list, fam) -> None:
        if name in MACROS:
            items.extend(_Parser(MACROS[name]).mlist(fam=fam))
            if name == "cdots" and self.before_closing():
                items.append(("glue",) + SPACES[","])
        elif name in SYMBOLS:
            cls, f, code = SYMBOLS[name]
            if fam not in (None, "op", "cal") and f == "rm" and cls == ORD:
                f = fam  # capital Greek letters are "variable family" characters
            # amsmath sets integrals \nolimits; other operators \displaylimits.
            items.append(Noad(cls, ("char", f, code), False if name == "int" else None))
        elif name in SPACES:
            items.append(("glue",) + SPACES[name])
        elif name in STYLES:
            items.append(("style", STYLES[name]))
        elif name in OPERATORS:
            items.append(_operator(_Parser(name).mlist(fam="rm"), OPERATORS[name]))
        elif name == "operatorname":
            star = self.peek() == ("char", "*")
            if star:
                self.pos += 1
            items.append(_operator(self.argument(fam="op"), star))
        elif name in ("limits", "nolimits", "displaylimits"):
            if not items or not isinstance(items[-1], Noad) or items[-1].kind != OP:
                raise self.error(f"\\{name} not after an operator")
            items[-1].limits = {"limits": True, "nolimits": False}.get(name)
        elif name in FAMILY_COMMANDS:
            items.append(_group_noad(self.argument(fam=FAMILY_COMMANDS[name])))
        elif name in ("text", "textrm"):
            items.append(Noad(ORD, ("text", self.group_tokens())))
        elif name in ("frac", "dfrac", "tfrac"):
            num, den = self.argument(fam), self.argument(fam)
            frac = [Noad(INNER, ("frac", num, den))]
            if name != "frac":
                frac.insert(0, ("style", 0 if name == "dfrac" else 2))
            items.append(Noad(ORD, ("list", frac)))
        elif name == "sqrt":
            items.append(Noad(ORD, ("radical", self.argument(fam))))
        elif name in ("overline", "underline"):
            items.append(Noad(ORD, (name[:-4], self.argument(fam))))
        elif name == "boldsymbol":
            # amsbsy: the argument set alone in the bold fonts, an atom of its
            # own class if it is a single binary operator or relation.
            content = _embolden(self.argument(fam))
            single = len(content) == 1 and isinstance(content[0], Noad)
            cls = content[0].kind if single and content[0].kind in (BIN, REL) else ORD
            items.append(Noad(cls, ("bold", content)))
        elif name in ACCENTS:
            f, code = ACCENTS[name]
            nucleus = _group_noad(self.argument(fam))
            if nucleus.sup is None and nucleus.sub is None and nucleus.kind == ORD:
                inner = nucleus.nucleus
            else:
                inner = ("list", [nucleus])
            items.append(Noad(ORD, ("accent", f, code, inner)))
        elif name == "left":
            left = self.delimiter()
            body = self.mlist(stop=(("cs", "right"),), fam=fam)
            if self.next() != ("cs", "right"):
                raise self.error("\\left without \\right")
            items.append(Noad(INNER, ("left", left, body, self.delimiter())))
        elif name == "right":
            raise self.error("\\right without \\left")
        elif name in BIG:
            cls, multiple = BIG[name]
            items.append(Noad(cls, ("big", self.delimiter(), multiple)))
        elif name in CLASS_COMMANDS:
            cls = CLASS_COMMANDS.index(name)
            content = self.argument(fam)
            if len(content) == 1 and isinstance(content[0], Noad) and _is_plain(content[0]):
                noad = Noad(cls, content[0].nucleus)
            else:
                noad = Noad(cls, ("list", content))
            items.append(noad)
        elif name == "begin":
            items.append(self.matrix())
        else:
            raise self.error(f"unknown command \\{name}")

    def delimiter(self):
        kind, value = self.next()
        key = "\\|" if (kind, value) == ("cs", "|") else value
        if key not in DELIMITERS:
            raise self.error(f"unknown delimiter {value!r}")
        return DELIMITERS[key]

    def matrix(self) -> Noad:
        env = "".join(v for _, v in self.group_tokens())
        if env not in MATRICES:
            raise self.error(f"unknown environment {env!r}")
        rows, row = [], []
        while True:
            row.append(self.mlist(stop=(("char", "&"), ("cs", "\\"), ("cs", "end"))))
            tok = self.next()
            if tok == ("char", "&"):
                continue
            rows.append(row)
            row = []
            if tok == ("cs", "end"):
                if "".join(v for _, v in self.group_tokens()) != env:
                    raise self.error(f"\\begin{{{env}}} ended by another environment")
                break
        if rows and rows[-1] == [[]] and len(rows) > 1:
            rows.pop()  # a trailing \\ makes no row
        left, right = MATRICES[env]
        # \left( array \right) is an Inner atom; a bare array (\vcenter) an Ord.
        kind = ORD if env == "matrix" else INNER
        return Noad(kind, ("matrix", rows, DELIMITERS[left], DELIMITERS[right]))


def _embolden(items: list) -> list:
    """``items`` with every character taken from its family's bold font."""
    for it in items:
        if not isinstance(it, Noad):
            continue
        nucleus = it.nucleus
        if nucleus[0] == "char":
            it.nucleus = ("char", BOLD_FAMILIES.get(nucleus[1], nucleus[1]), nucleus[2])
        elif nucleus[0] in ("list", "radical", "over", "under", "bold"):
            _embolden(nucleus[1])
        elif nucleus[0] == "frac":
            _embolden(nucleus[1])
            _embolden(nucleus[2])
        elif nucleus[0] == "accent":
            _, fam, code, inner = nucleus
            if inner[0] == "char":
                inner = ("char", BOLD_FAMILIES.get(inner[1], inner[1]), inner[2])
            else:
                _embolden(inner[1])
            it.nucleus = ("accent", BOLD_FAMILIES.get(fam, fam), code, inner)
        elif nucleus[0] == "left":
            _embolden(nucleus[2])
        elif nucleus[0] == "matrix":
            for row in nucleus[1]:
                for cell in row:
                    _embolden(cell)
        for script in (it.sup, it.sub):
            if script is not None:
                _embolden(script)
    return items


def _is_plain(noad: Noad) -> bool:
    return noad.kind == ORD and noad.sup is None and noad.sub is None


def _group_noad(items: list) -> Noad:
    """A braced group: an Ord atom, or the single plain character it holds
    (TeX puts ``{c}`` back into the nucleus as the character itself)."""
    single = len(items) == 1 and isinstance(items[0], Noad) and _is_plain(items[0])
    if single and items[0].nucleus[0] == "char":
        return Noad(ORD, items[0].nucleus)
    return Noad(ORD, ("list", items))


def _operator(items: list, limits: bool) -> Noad:
    """``\\mathop{\\kern0pt name}``: an Op atom whose nucleus is a list, so it
    is neither centred nor given an italic correction."""
    return Noad(OP, ("list", items), None if limits else False)


def _char_noad(c: str, fam, parser) -> Noad:
    if c.isascii() and c.isalnum():
        # Letters and digits take the family a font command selects.
        default = "mi" if c.isalpha() else "rm"
        f = {None: default, "op": "rm", "cal": "sy"}.get(fam, fam)
        return Noad(ORD, ("char", f, ord(c)))
    if fam == "op" and c in "-*/.'":
        return Noad(ORD, ("char", "rm", ord(c)))  # \newmcodes@: text characters
    if c not in CHARS:
        raise parser.error(f"unknown character {c!r}")
    cls, f, code = CHARS[c]
    return Noad(cls, ("char", f, code))


# ---------------------------------------------------------------- typesetting

# A box is (width, height, depth).


# A style is TeX's number (display 0, text 2, script 4, scriptscript 6, plus
# one when cramped) plus BOLD inside \boldsymbol, whose symbol font (cmbsy,
# with its own spacing parameters) replaces cmsy.
BOLD = 8


def _base(style: int) -> int:
    return style & 7


def _display(style: int) -> bool:
    return _base(style) < 2


def _script(style: int) -> bool:
    return _base(style) >= 4


def _size(style: int) -> int:
    s = _base(style)
    return 0 if s < 4 else 1 if s < 6 else 2


def _sup_style(style: int) -> int:
    s = _base(style)
    return (2 * (s // 4) + 4 + s % 2) | (style & BOLD)


def _sub_style(style: int) -> int:
    return (2 * (_base(style) // 4) + 5) | (style & BOLD)


def _num_style(style: int) -> int:
    s = _base(style)
    return (s + 2 - 2 * (s // 6)) | (style & BOLD)


def _den_style(style: int) -> int:
    s = _base(style)
    return (2 * (s // 2) + 3 - 2 * (s // 6)) | (style & BOLD)


def _cramped(style: int) -> int:
    return style | 1


def _sy(style: int) -> dict:
    return _fam("bsy" if style & BOLD else "sy", _size(style))["params"]


def _mu(style: int) -> float:
    return _sy(style)["quad"] / 18.0


def _rule(style: int) -> float:
    return _fam("ex", _size(style))["params"]["default_rule_thickness"]


def _char(fam: str, size: int, code: int) -> tuple:
    chars = _fam(fam, size)["chars"]
    if code not in chars:
        raise TexWidthError(f"no character {code:#x} in {FAMILIES[fam][size]}")
    return chars[code]


def _mlist(items: list, style: int) -> tuple[float, float, float]:
    """The box (width, height, depth) of a math list set in ``style``
    (Appendix G, rules 1-20)."""
    # First pass: each atom's box and final class; Bin atoms in the wrong
    # place become Ord (rules 5 and 6).
    atoms = []  # [class, box, style] for atoms, ("glue", width) otherwise
    prev = None  # index into atoms of the previous atom
    kinds = []
    for k, it in enumerate(items):
        if not isinstance(it, Noad):
            if it[0] == "style":
                style = it[1] | (style & BOLD)
                atoms.append(("style", style))
            elif it[0] == "glue":
                amount, unit = it[1], it[2]
                atoms.append(("glue", amount * _mu(style) if unit == "mu" else amount))
            continue
        kind = it.kind
        prev_kind = kinds[-1] if kinds else None
        if kind == BIN and prev_kind in (None, BIN, OP, REL, OPEN, PUNCT):
            kind = ORD
        if kind in (REL, CLOSE, PUNCT) and prev_kind == BIN:
            atoms[prev][0] = ORD
            kinds[-1] = ORD
        following = items[k + 1] if k + 1 < len(items) else None
        box = _atom(it, style, following if isinstance(following, Noad) else None, kind == ORD)
        kinds.append(kind)
        atoms.append([kind, box, style])
        prev = len(atoms) - 1
    if kinds and kinds[-1] == BIN:
        atoms[prev][0] = ORD
    # Second pass: spacing between atoms (rule 20).
    width = height = depth = 0.0
    last = None
    for atom in atoms:
        if atom[0] == "style":
            continue
        if atom[0] == "glue":
            width += atom[1]
            continue
        kind, (w, h, d), at_style = atom
        if last is not None:
            space = _SPACING[last][kind]
            if space is None:
                raise TexWidthError("impossible atom sequence")
            if space > 0 or (space < 0 and not _script(at_style)):
                width += _MU[abs(space)] * _mu(at_style)
        width += w
        height, depth = max(height, h), max(depth, d)
        last = kind
    return width, height, depth


def _atom(noad: Noad, style: int, following, ordinary: bool = True) -> tuple:
    """The box of one atom, scripts included. ``following``: the next atom
    if it comes right after; ``ordinary``: whether this is (now) an Ord atom,
    the only kind TeX kerns against the next character."""
    nucleus = noad.nucleus
    size = _size(style)
    is_char = nucleus[0] == "char"
    delta = 0.0
    limits = noad.limits is True or (noad.limits is None and _display(style))
    if noad.kind == OP and is_char:
        return _big_operator(noad, style, limits)
    if nucleus[0] == "accent" and nucleus[3][0] == "char" and (noad.sup or noad.sub):
        return _accent(noad, style)
    if is_char:
        _, fam, code = nucleus
        w, h, d, italic = _char(fam, size, code)
        kern, text_char = 0.0, False
        if (
            ordinary
            and noad.sup is None
            and noad.sub is None
            and following is not None
            and following.kind <= PUNCT
            and following.nucleus[0] == "char"
            and following.nucleus[1] == fam
        ):
            # make_ord: adjacent characters of one font are kerned as in text
            # (ligatures are not made: with CM fonts they only make it narrower).
            text_char = True
            kern = _fam(fam, size)["kerns"].get(code, {}).get(following.nucleus[2], 0.0)
        if text_char and _fam(fam, size)["params"]["space"] != 0:
            italic = 0.0  # no italic correction inside a word of a text font
        if noad.sub is None:
            w += italic
            italic = 0.0
        delta = italic
        box = (w + kern, h, d)
    else:
        box = _nucleus(noad, style)
        if noad.kind == OP and limits:
            return _limits(box, 0.0, noad, style)
    if noad.sup is None and noad.sub is None:
        return box
    return _scripts(box, delta, is_char, noad, style)


def _nucleus(noad: Noad, style: int) -> tuple[float, float, float]:
    nucleus = noad.nucleus
    what = nucleus[0]
    size = _size(style)
    if what == "list":
        return _mlist(nucleus[1], style)
    if what == "text":
        return _text(nucleus[1], size, style)
    if what == "frac":
        return _fraction(nucleus[1], nucleus[2], style)
    if what == "left":
        _, left, body, right = nucleus
        return _left_right(left, _mlist(body, style), right, style, body)
    if what == "matrix":
        _, rows, left, right = nucleus
        if left is None and right is None:
            return _matrix(rows)  # a bare matrix has no \left. \right.
        return _left_right(left, _matrix(rows), right, style, None)
    if what == "big":
        _, delim, multiple = nucleus
        need = multiple * BIG_SIZE
        # A \vcenter that tall: half above and half below the axis (rule 19).
        axis = _sy(2)["axis_height"]
        return _delimiter(delim, 0, _left_right_size(need / 2 + axis, need / 2 - axis, 2), axis)
    if what == "radical":
        return _radical(nucleus[1], style)
    if what == "bold":
        return _mlist(nucleus[1], style | BOLD)
    if what in ("over", "under"):
        # Rules 9 and 10: a rule of the default thickness 3 thicknesses away,
        # and one more thickness of space beyond it.
        w, h, d = _mlist(nucleus[1], _cramped(style) if what == "over" else style)
        theta = _rule(style)
        return (w, h + 5 * theta, d) if what == "over" else (w, h, d + 5 * theta)
    if what == "accent":
        return _accent(noad, style)
    raise TexWidthError(f"cannot set {what}")


def _scripts(box, delta: float, is_char: bool, noad: Noad, style: int):
    """Rule 18: the nucleus ``box`` followed by its scripts."""
    w, h, d = box
    sy = _sy(style)
    x_height = sy["x_height"]
    if is_char:
        up = down = 0.0
    else:
        t = _sy((6 if _script(style) else 4) | (style & BOLD))
        up, down = h - t["sup_drop"], d + t["sub_drop"]
    if noad.sup is None:
        sw, sh, sd = _mlist(noad.sub, _sub_style(style))
        sw += SCRIPT_SPACE
        down = max(down, sy["sub1"], sh - 4 * x_height / 5)
        return w + sw, max(h, sh - down), max(d, sd + down)
    xw, xh, xd = _mlist(noad.sup, _sup_style(style))
    xw += SCRIPT_SPACE
    clr = sy["sup3"] if style % 2 else sy["sup1"] if _display(style) else sy["sup2"]
    up = max(up, clr, xd + x_height / 4)
    if noad.sub is None:
        return w + xw, max(h, xh + up), max(d, xd - up)
    yw, yh, yd = _mlist(noad.sub, _sub_style(style))
    yw += SCRIPT_SPACE
    down = max(down, sy["sub2"])
    clr = 4 * _rule(style) - ((up - xd) - (yh - down))
    if clr > 0:
        down += clr
        clr = 4 * x_height / 5 - (up - xd)
        if clr > 0:
            up += clr
            down -= clr
    return w + max(xw + delta, yw), max(h, up + xh), max(d, down + yd)


def _big_operator(noad: Noad, style: int, limits: bool):
    """Rule 13: a large operator character, bigger in display style,
    centred on the axis; limits above and below in display style."""
    _, fam, code = noad.nucleus
    size = _size(style)
    font = _fam(fam, size)
    if _display(style) and code in font["next"]:
        code = font["next"][code]
    w, h, d, delta = _char(fam, size, code)
    w += delta
    if noad.sub is not None and not limits:
        w -= delta
    shift = (h - d) / 2 - _sy(style)["axis_height"]
    box = (w, h - shift, d + shift)
    if limits:
        return _limits(box, delta, noad, style)
    if noad.sup is None and noad.sub is None:
        return box
    return _scripts(box, delta, False, noad, style)


def _limits(box, delta: float, noad: Noad, style: int):
    """Rule 13a: scripts set above and below an operator."""
    w, h, d = box
    ex = _fam("ex", _size(style))["params"]
    width = w
    if noad.sup is not None:
        xw, xh, xd = _mlist(noad.sup, _sup_style(style))
        width = max(width, xw)
        up = max(ex["big_op_spacing1"], ex["big_op_spacing3"] - xd)
        h += ex["big_op_spacing5"] + xh + xd + up
    if noad.sub is not None:
        zw, zh, zd = _mlist(noad.sub, _sub_style(style))
        width = max(width, zw)
        down = max(ex["big_op_spacing2"], ex["big_op_spacing4"] - zh)
        d += ex["big_op_spacing5"] + zh + zd + down
    return width + (delta / 2 if noad.sup is not None else 0.0), h, d


def _fraction(num: list, den: list, style: int):
    """Rule 15: a fraction with a rule, and null delimiters either side."""
    xw, xh, xd = _mlist(num, _num_style(style))
    zw, zh, zd = _mlist(den, _den_style(style))
    sy = _sy(style)
    theta = _rule(style)
    display = _display(style)
    up, down = (sy["num1"], sy["denom1"]) if display else (sy["num2"], sy["denom2"])
    clr = 3 * theta if display else theta
    axis = sy["axis_height"]
    up += max(0.0, clr - ((up - xd) - (axis + theta / 2)))
    down += max(0.0, clr - ((axis - theta / 2) - (zh - down)))
    return max(xw, zw) + 2 * NULL_DELIMITER_SPACE, up + xh, down + zd


def _left_right_size(height: float, depth: float, style: int) -> float:
    """Rule 19: the least size of the delimiters around a list of this height
    and depth."""
    axis = _sy(style)["axis_height"]
    reach = max(height - axis, depth + axis)
    return max(reach / 500 * DELIMITER_FACTOR, 2 * reach - DELIMITER_SHORTFALL)


def _left_right(left, inner, right, style: int, body):
    w, h, d = inner
    need = _left_right_size(h, d, style)
    lw, lh, ld = _delimiter(left, _size(style), need, _sy(style)["axis_height"])
    rw, rh, rd = _delimiter(right, _size(style), need, _sy(style)["axis_height"])
    # The delimiters act as Open and Close atoms: spacing against them is
    # none, except a Punct atom before the closing one (thin, in D and T).
    if body and not _script(style):
        last = [it for it in body if isinstance(it, Noad)]
        if last and last[-1].kind == PUNCT:
            w += _MU[1] * _mu(style)
    return lw + w + rw, max(lh, h, rh), max(ld, d, rd)


def _delimiter(delim, size: int, need: float, axis: float):
    """The box of a delimiter at least ``need`` tall (see :func:`_variant`),
    centred on the axis."""
    w, h, d = _variant(delim, size, need)
    return w, (h + d) / 2 + axis, (h + d) / 2 - axis


def _variant(delim, size: int, need: float):
    """TeX's var_delimiter: the first variant, small then large, at this
    size or larger, at least ``need`` tall; or the tallest there is; or an
    extensible one built tall enough. Returns its box (width: the glyph's
    plus its italic correction) before centring."""
    if delim is None:
        return NULL_DELIMITER_SPACE, 0.0, 0.0
    best, best_hd = None, 0.0
    for fam, code in delim:
        for z in range(size, -1, -1):
            font = _fam(fam, z)
            c = code
            while c in font["chars"]:
                cw, ch, cd, ci = font["chars"][c]
                if c in font["extensible"]:
                    return _extensible(font, font["extensible"][c], need)
                if ch + cd > best_hd:
                    best, best_hd = (cw + ci, ch, cd), ch + cd
                    if best_hd >= need:
                        return best
                if c not in font["next"]:
                    break
                c = font["next"][c]
    if best is None:
        return NULL_DELIMITER_SPACE, 0.0, 0.0
    return best


def _extensible(font: dict, recipe: tuple, need: float):
    top, mid, bot, rep = recipe
    chars = font["chars"]

    def hd(c):
        return chars[c][1] + chars[c][2]

    total = sum(hd(c) for c in (top, mid, bot) if c)
    step = hd(rep)
    while step > 0 and total < need:
        total += step * (2 if mid else 1)
    # Stacked bottom to top: the box is as high as the top piece.
    height = chars[top or rep][1]
    return chars[rep][0] + chars[rep][3], height, total - height


def _radical(body: list, style: int):
    """Rule 11: the radical sign sized to the body, then the body under a rule."""
    w, h, d = _mlist(body, _cramped(style))
    theta = _rule(style)
    clr = theta + (_sy(style)["x_height"] / 4 if _display(style) else theta / 4)
    rw, rh, rd = _variant(_RADICAL, _size(style), h + d + clr + theta)
    clr += max(0.0, rd - (h + d + clr)) / 2
    return rw + w, h + clr + 2 * rh, max(d, rd - (h + clr))


def _accent(noad: Noad, style: int):
    """Rule 12: the accented nucleus, as wide as the nucleus alone. The
    scripts of an accented character are moved onto the character first, so
    the result is then as wide as the character with its scripts."""
    _, fam, code, nucleus = noad.nucleus
    w, h, d = w0, h0, _ = _atom(Noad(ORD, nucleus), _cramped(style), None)
    if nucleus[0] == "char" and (noad.sup is not None or noad.sub is not None):
        scripted = Noad(ORD, nucleus)
        scripted.sup, scripted.sub = noad.sup, noad.sub
        w, h, d = _atom(scripted, style, None)
    font = _fam(fam, _size(style))
    # A wide accent takes the widest variant no wider than the nucleus.
    while code in font["next"] and font["chars"].get(font["next"][code], (w0 + 1,))[0] <= w0:
        code = font["next"][code]
    _, ah, ad, _ = _char(fam, _size(style), code)
    drop = min(h0, font["params"]["x_height"])
    return w, max(h, ah + ad - drop + h0), d


def _matrix(rows: list) -> tuple[float, float, float]:
    """An amsmath matrix without its delimiters: centred columns set in text
    style, \\arraycolsep either side inside, struts in every row, centred on
    the axis."""
    ncols = max(len(r) for r in rows)
    widths = [0.0] * ncols
    heights, depths = [], []
    for row in rows:
        rh, rd = 0.7 * BASELINE_SKIP, 0.3 * BASELINE_SKIP
        for k, cell in enumerate(row):
            w, h, d = _mlist(cell, 2)
            widths[k] = max(widths[k], w)
            rh, rd = max(rh, h), max(rd, d)
        heights.append(rh)
        depths.append(rd)
    total = heights[0] + depths[0]
    for k in range(1, len(rows)):
        gap = BASELINE_SKIP - depths[k - 1] - heights[k]
        total += (gap if gap >= 0 else LINE_SKIP) + heights[k] + depths[k]
    axis = _sy(2)["axis_height"]
    width = sum(widths) + 2 * ARRAY_COL_SEP * (ncols - 1)
    return width, total / 2 + axis, total / 2 - axis


# ---------------------------------------------------------------- text


def _text(tokens: list, size: int, style: int) -> tuple[float, float, float]:
    """\\text{...}: roman text at the size of the style (10, 7 or 5pt), with
    the font's ligatures and kerns, spaces at their natural width (plus the
    extra space after a sentence-ending mark, counted even after a capital
    letter, where TeX omits it), and $...$ inside set in the text's style."""
    font = _fam("rm", size)
    params = font["params"]
    chars = font["chars"]
    runs: list = []  # lists of character codes, spaces and math boxes
    k = 0
    while k < len(tokens):
        kind, value = tokens[k]
        k += 1
        if kind == "space":
            runs.append(("space",))
        elif kind == "char" and value == "$":
            end = k
            while end < len(tokens) and tokens[end] != ("char", "$"):
                end += 1
            # amstext: math inside \text is in display style in a display,
            # else in the style of the text's size.
            inner_style = 0 if _display(style) else (2, 4, 6)[size]
            parser = _Parser("$...$ in \\text", tokens[k:end])
            runs.append(("box", _mlist(parser.mlist(), inner_style)))
            k = end + 1
        elif kind == "char" and value in "{}":
            continue
        elif (kind, value) in (("char", "~"), ("cs", " ")):
            runs.append(("hard space",))
        elif kind == "cs" and value in "%&#$_{}":
            if value == "_":
                runs.append(("box", (0.36 * params["quad"], 0.0, 0.0)))
            elif value in "{}":
                raise TexWidthError("\\{ and \\} in \\text are not supported")
            else:
                runs.append(ord(value))
        elif kind == "cs" and value == ",":
            runs.append(("box", (params["quad"] / 6, 0.0, 0.0)))
        elif kind == "char":
            if ord(value) not in chars:
                raise TexWidthError(f"no character {value!r} in the text font")
            runs.append(ord(value))
        else:
            raise TexWidthError(f"unknown command \\{value} in \\text")
    # Ligatures, then kerns, between adjacent characters.
    out: list = []
    for item in runs:
        if isinstance(item, int) and out and isinstance(out[-1], int):
            lig = font["ligatures"].get(out[-1], {}).get(item)
            if lig is not None:
                out[-1] = lig
                continue
        if item == ("space",) and out and out[-1] in (("space",), ("hard space",)):
            continue  # spaces collapse
        out.append(item)
    width = height = depth = 0.0
    for k, item in enumerate(out):
        if isinstance(item, int):
            w, h, d, _ = chars[item]
            if k + 1 < len(out) and isinstance(out[k + 1], int):
                w += font["kerns"].get(item, {}).get(out[k + 1], 0.0)
            width += w
            height, depth = max(height, h), max(depth, d)
        elif item[0] == "box":
            w, h, d = item[1]
            width += w
            height, depth = max(height, h), max(depth, d)
        else:
            width += params["space"]
            if item == ("space",) and k > 0 and out[k - 1] in (0x2E, 0x3F, 0x21, 0x3A):
                width += params["extra_space"]
    return width, height, depth


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
    parser = _Parser(latex)
    items = parser.mlist()
    if parser.peek() is not None:
        raise parser.error(f"unexpected {parser.peek()[1]!r}")
    return _mlist(items, 0 if display else 2)[0]


def text_width(text: str) -> float:
    """The natural width, in pt, of ``text`` set as a 10pt roman paragraph
    line (or ``\\text{...}`` in display math): spaces included."""
    return _text(_tokens(text), 0, 0)[0]


def fits(latex: str, width: float, *, display: bool = True) -> bool:
    """Whether the math-mode string ``latex`` is at most ``width`` pt wide."""
    return math_width(latex, display=display) <= width


def _split_top(row: str, sep: str) -> list[str]:
    """``row`` split at ``sep`` ("&" or "\\\\") outside braces and environments."""
    parts, depth, start, k = [], 0, 0, 0
    while k < len(row):
        if depth == 0 and row.startswith(sep, k):
            parts.append(row[start:k])
            k = start = k + len(sep)
            continue
        c = row[k]
        if c == "\\":
            if row.startswith("\\begin", k):
                depth += 1
            elif row.startswith("\\end", k):
                depth -= 1
            k += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        k += 1
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


def _last_parenthesised_sum(term: str):
    r"""``term`` as (head, delimiter, inner terms, delimiter, tail) around its
    last top-level ``\left ... \right`` pair whose content is a sum of at
    least two terms and at least MIN_SPLIT_WIDTH wide; None if there is none."""
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
                if len(top_level_terms(inner)) >= 2 and math_width(inner) >= MIN_SPLIT_WIDTH:
                    found = (opened[0], left_tok.group(), inner, right_tok.group(), right_tok.end())
    if found is None:
        return None
    start, left, inner, right, end = found
    return term[:start].rstrip(), left, top_level_terms(inner), right, term[end:].lstrip()


def _fixed_size(left: str, inner: str) -> str:
    r"""The ``\big``-family size (``""`` for the normal one) whose ``left``
    delimiter is at least as tall as ``\left`` would make it around ``inner``:
    a sum split over rows needs one fixed size on both of them."""
    delim = _Parser(left).delimiter()
    if delim is None:
        return ""
    _, h, d = _mlist(_Parser(inner).mlist(), 0)
    _, th, td = _variant(delim, 0, _left_right_size(h, d, 0))
    fam, code = delim[0]
    _, sh, sd, _ = _char(fam, 0, code)
    if sh + sd >= th + td:
        return ""
    axis = _sy(2)["axis_height"]
    for name, multiple in _BIG_SIZES.items():
        reach = multiple * BIG_SIZE / 2
        _, bh, bd = _variant(delim, 0, _left_right_size(reach + axis, reach - axis, 2))
        if bh + bd >= th + td:
            return name
    return "Bigg"  # taller than \Bigg: the closest fixed size


def _indent(quads: int) -> str:
    return " ".join([r"\qquad"] * (quads // 2) + [r"\quad"] * (quads % 2))


def _layout(terms: list[str], render, budget: float, closing: str, depth: int) -> list[str]:
    """The rows printing ``terms`` (``render(k, group)`` gives row k), each at
    most ``budget`` wide, ``closing`` appended to the last. A row holding one
    term too wide is broken inside the term's last parenthesised sum, one
    level deeper, recursively."""
    reserve = math_width(closing) if closing else 0.0
    groups = _fill(terms, render, budget - reserve)
    out = []
    for k, group in enumerate(groups):
        text = render(k, group)
        split = _last_parenthesised_sum(group[0]) if len(group) == 1 else None
        if split is None or math_width("{}" + text) <= budget - reserve:
            out.append(text)
            continue
        # Delimiters of one fixed size (the one \left would choose) on both
        # rows; the rows inside indented one quad further.
        head, left, inner, right, tail = split
        size = _fixed_size(left, _join(inner))
        opening = (rf"\{size}l" if size else "") + left
        inner_closing = ((rf"\{size}r" if size else "") + f"{right} {tail}").rstrip()

        def inner_render(j, part, k=k, head=head, opening=opening):
            if j == 0:
                return render(k, [f"{head} {opening}{_join(part)}".strip()])
            return _signed(_indent(depth + 2), part)

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
    then tells the caller.
    """
    lhs_w = max((math_width(lhs) for lhs, _, _ in lines if lhs is not None), default=0.0)
    notes = [note for _, _, note in lines if note is not None]
    note_w = MIN_ALIGN_SEP + max(text_width(n) for n in notes) if notes else 0.0
    budget = width - lhs_w - note_w
    out = []
    for lhs, terms, note in lines:
        if not terms:
            raise ValueError(f"no terms to print for {lhs!r}")
        rows = [f"{left} &{right}".lstrip() for left, right in _rows_of_line(lhs, terms, budget)]
        if note is not None:
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
