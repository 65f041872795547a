r"""LaTeX math read the way TeX reads it: tokens, math codes, atoms.

:class:`Parser` turns a math-mode string into TeX's math list (The TeXbook,
chapters 17 and 26, and Appendix G's noads): :class:`Noad` atoms of the eight
classes, with their nuclei, scripts and limits, glue and style changes. What
each command means comes from the tables below, the values plain TeX,
LaTeX's fontmath.ltx and amsmath give them: the mathcodes of characters
(:data:`CHARS`), symbols (:data:`SYMBOLS`), named operators, delimiters,
accents, font and spacing commands, matrix environments. Anything else
raises :class:`TexWidthError`: :mod:`symgrad.texlayout` sets the list,
:mod:`symgrad.texwidth` measures and breaks with it.
"""

from __future__ import annotations

import re

from .texfonts import BOLD_FAMILIES
from .text import GREEK

__all__ = [
    "ACCENTS",
    "BIG",
    "BIG_SIZES",
    "BIN",
    "CHARS",
    "CLOSE",
    "DELIMITERS",
    "INNER",
    "MATRICES",
    "OP",
    "OPEN",
    "ORD",
    "PUNCT",
    "RADICAL",
    "REL",
    "SPACES",
    "SYMBOLS",
    "Noad",
    "Parser",
    "TexWidthError",
    "tokens",
]


class TexWidthError(ValueError):
    """The string holds LaTeX this module does not know how to measure."""


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

# Lowercase Greek in cmmi from 0x0B, then its variants; capitals in cmr from 0.
_GREEK = [
    *(name for name in GREEK if name.islower()),
    *("varepsilon", "vartheta", "varpi", "varrho", "varsigma", "varphi"),
]
_CAPITAL_GREEK = [name for name in GREEK if name[0].isupper()]

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
    "top": (ORD, "sy", 0x3E),
    "bot": (ORD, "sy", 0x3F),
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
RADICAL = (("sy", 0x70), ("ex", 0x70))

#: \big and friends: the class of the result and the multiple of BIG_SIZE.
BIG_SIZES = {"big": 1.0, "Big": 1.5, "bigg": 2.0, "Bigg": 2.5}
BIG = {
    name + suffix: (cls, multiple)
    for name, multiple in BIG_SIZES.items()
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

#: Spacing commands: amount and unit ("mu"; "em": \quad is 1em of the text
#: font, cmr10, whatever the style; "space": "\ " is its interword space).
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
    "quad": (1.0, "em"),
    "qquad": (2.0, "em"),
    " ": (1.0, "space"),
    "enspace": (0.5, "em"),
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


# ---------------------------------------------------------------- parsing

_TOKEN = re.compile(r"\\([A-Za-z]+)[ \t\n]*|\\(.)|([ \t\n]+)|(.)", re.S)


def tokens(latex: str) -> list[tuple[str, str]]:
    """("cs", name), ("space", " ") or ("char", c) for each token of ``latex``."""
    # findall gives "" for the groups that did not match: one empty test each.
    return [
        ("cs", word or symbol) if word or symbol else ("space", " ") if space else ("char", char)
        for word, symbol, space, char in _TOKEN.findall(latex)
    ]


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


class Parser:
    """Reads LaTeX math into a list of items: Noad atoms, ("glue", amount,
    unit) and ("style", style). ``whole``: the tokens are a whole formula
    (their end is its closing ``$``), not a braced group's."""

    def __init__(self, latex: str, toks: list | None = None, whole: bool = True):
        self.toks = tokens(latex) if toks is None else toks
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
        toks, pos = self.toks, self.pos
        while pos < len(toks) and toks[pos][0] == "space":
            pos += 1
        self.pos = pos
        return toks[pos] if pos < len(toks) else None

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
        sub = Parser(self.source, self.group_tokens(), whole=False)
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
            items.extend(Parser(MACROS[name]).mlist(fam=fam))
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
            items.append(_operator(Parser(name).mlist(fam="rm"), OPERATORS[name]))
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
