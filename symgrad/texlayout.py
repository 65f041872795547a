r"""How TeX sets a math list: the box dimensions of Appendix G.

:func:`mlist_box` sets a math list (from :class:`symgrad.texparse.Parser`)
the way TeX does (The TeXbook, Appendix G, "Generating boxes from
formulas"), keeping only the box dimensions: glyph widths, heights, depths
and italic corrections from :mod:`symgrad.texfonts`, TeX's spacing between
atoms (thin 3mu, medium 4mu, thick 5mu; 1mu is 1/18 of cmsy's quad at the
current size), its rules for scripts, fractions, accents, radicals, big
operators and ``\left``/``\right`` delimiter sizes, and amsmath's matrices
and ``\text``. Glue counts at its natural width, as an overfull check does.
"""

from __future__ import annotations

from .texfonts import FAMILIES, family_font
from .texparse import (
    BIN,
    CLOSE,
    OP,
    OPEN,
    ORD,
    PUNCT,
    RADICAL,
    REL,
    Noad,
    Parser,
    TexWidthError,
)

__all__ = [
    "ARRAY_COL_SEP",
    "BASELINE_SKIP",
    "BIG_SIZE",
    "DELIMITER_FACTOR",
    "DELIMITER_SHORTFALL",
    "LINE_SKIP",
    "NULL_DELIMITER_SPACE",
    "SCRIPT_SPACE",
    "char_box",
    "left_right_size",
    "mlist_box",
    "symbol_params",
    "text_box",
    "variant",
]

# ---------------------------------------------------------------- TeX parameters

#: TeX and LaTeX parameters at their LaTeX defaults (pt unless stated).
NULL_DELIMITER_SPACE = 1.2
SCRIPT_SPACE = 0.5
DELIMITER_FACTOR = 901  # per mille of the height to cover
DELIMITER_SHORTFALL = 5.0
ARRAY_COL_SEP = 5.0  # \arraycolsep: matrix columns are separated by twice this
BASELINE_SKIP = 12.0  # \baselineskip at 10pt; array rows hold a strut of 0.7/0.3 of it
LINE_SKIP = 1.0  # \lineskip: rows closer than \lineskiplimit (0pt) get this instead
#: amsmath's \big@size: 1.2 x the height plus depth of a 10pt parenthesis; \big,
#: \Big, \bigg, \Bigg are 1, 1.5, 2, 2.5 times it.
BIG_SIZE = 12.0

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


def symbol_params(style: int) -> dict:
    """The parameters of the symbol font (cmsy, or cmbsy in \\boldsymbol) of ``style``."""
    return family_font("bsy" if style & BOLD else "sy", _size(style))["params"]


def _mu(style: int) -> float:
    return symbol_params(style)["quad"] / 18.0


def _glue(amount: float, unit: str, style: int) -> float:
    """Glue in pt: "mu" scales with the style; "em" and "space" are the text
    font's quad and interword space whatever the style."""
    if unit == "mu":
        return amount * _mu(style)
    return amount * family_font("rm", 0)["params"]["quad" if unit == "em" else "space"]


def _rule(style: int) -> float:
    return family_font("ex", _size(style))["params"]["default_rule_thickness"]


def char_box(fam: str, size: int, code: int) -> tuple:
    chars = family_font(fam, size)["chars"]
    if code not in chars:
        raise TexWidthError(f"no character {code:#x} in {FAMILIES[fam][size]}")
    return chars[code]


def mlist_box(items: list, style: int) -> tuple[float, float, float]:
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
                atoms.append(("glue", _glue(it[1], it[2], style)))
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
        w, h, d, italic = char_box(fam, size, code)
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
            kern = family_font(fam, size)["kerns"].get(code, {}).get(following.nucleus[2], 0.0)
        if text_char and family_font(fam, size)["params"]["space"] != 0:
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
        return mlist_box(nucleus[1], style)
    if what == "text":
        return text_box(nucleus[1], size, style)
    if what == "frac":
        return _fraction(nucleus[1], nucleus[2], style)
    if what == "left":
        _, left, body, right = nucleus
        return _left_right(left, mlist_box(body, style), right, style, body)
    if what == "matrix":
        _, rows, left, right = nucleus
        if left is None and right is None:
            return _matrix(rows)  # a bare matrix has no \left. \right.
        return _left_right(left, _matrix(rows), right, style, None)
    if what == "big":
        _, delim, multiple = nucleus
        need = multiple * BIG_SIZE
        # A \vcenter that tall: half above and half below the axis (rule 19).
        axis = symbol_params(2)["axis_height"]
        return _delimiter(delim, 0, left_right_size(need / 2 + axis, need / 2 - axis, 2), axis)
    if what == "radical":
        return _radical(nucleus[1], style)
    if what == "bold":
        return mlist_box(nucleus[1], style | BOLD)
    if what in ("over", "under"):
        # Rules 9 and 10: a rule of the default thickness 3 thicknesses away,
        # and one more thickness of space beyond it.
        w, h, d = mlist_box(nucleus[1], _cramped(style) if what == "over" else style)
        theta = _rule(style)
        return (w, h + 5 * theta, d) if what == "over" else (w, h, d + 5 * theta)
    if what == "accent":
        return _accent(noad, style)
    raise TexWidthError(f"cannot set {what}")


def _scripts(box, delta: float, is_char: bool, noad: Noad, style: int):
    """Rule 18: the nucleus ``box`` followed by its scripts."""
    w, h, d = box
    sy = symbol_params(style)
    x_height = sy["x_height"]
    if is_char:
        up = down = 0.0
    else:
        t = symbol_params((6 if _script(style) else 4) | (style & BOLD))
        up, down = h - t["sup_drop"], d + t["sub_drop"]
    if noad.sup is None:
        sw, sh, sd = mlist_box(noad.sub, _sub_style(style))
        sw += SCRIPT_SPACE
        down = max(down, sy["sub1"], sh - 4 * x_height / 5)
        return w + sw, max(h, sh - down), max(d, sd + down)
    xw, xh, xd = mlist_box(noad.sup, _sup_style(style))
    xw += SCRIPT_SPACE
    clr = sy["sup3"] if style % 2 else sy["sup1"] if _display(style) else sy["sup2"]
    up = max(up, clr, xd + x_height / 4)
    if noad.sub is None:
        return w + xw, max(h, xh + up), max(d, xd - up)
    yw, yh, yd = mlist_box(noad.sub, _sub_style(style))
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
    font = family_font(fam, size)
    if _display(style) and code in font["next"]:
        code = font["next"][code]
    w, h, d, delta = char_box(fam, size, code)
    w += delta
    if noad.sub is not None and not limits:
        w -= delta
    shift = (h - d) / 2 - symbol_params(style)["axis_height"]
    box = (w, h - shift, d + shift)
    if limits:
        return _limits(box, delta, noad, style)
    if noad.sup is None and noad.sub is None:
        return box
    return _scripts(box, delta, False, noad, style)


def _limits(box, delta: float, noad: Noad, style: int):
    """Rule 13a: scripts set above and below an operator."""
    w, h, d = box
    ex = family_font("ex", _size(style))["params"]
    width = w
    if noad.sup is not None:
        xw, xh, xd = mlist_box(noad.sup, _sup_style(style))
        width = max(width, xw)
        up = max(ex["big_op_spacing1"], ex["big_op_spacing3"] - xd)
        h += ex["big_op_spacing5"] + xh + xd + up
    if noad.sub is not None:
        zw, zh, zd = mlist_box(noad.sub, _sub_style(style))
        width = max(width, zw)
        down = max(ex["big_op_spacing2"], ex["big_op_spacing4"] - zh)
        d += ex["big_op_spacing5"] + zh + zd + down
    return width + (delta / 2 if noad.sup is not None else 0.0), h, d


def _fraction(num: list, den: list, style: int):
    """Rule 15: a fraction with a rule, and null delimiters either side."""
    xw, xh, xd = mlist_box(num, _num_style(style))
    zw, zh, zd = mlist_box(den, _den_style(style))
    sy = symbol_params(style)
    theta = _rule(style)
    display = _display(style)
    up, down = (sy["num1"], sy["denom1"]) if display else (sy["num2"], sy["denom2"])
    clr = 3 * theta if display else theta
    axis = sy["axis_height"]
    up += max(0.0, clr - ((up - xd) - (axis + theta / 2)))
    down += max(0.0, clr - ((axis - theta / 2) - (zh - down)))
    return max(xw, zw) + 2 * NULL_DELIMITER_SPACE, up + xh, down + zd


def left_right_size(height: float, depth: float, style: int) -> float:
    """Rule 19: the least size of the delimiters around a list of this height
    and depth."""
    axis = symbol_params(style)["axis_height"]
    reach = max(height - axis, depth + axis)
    return max(reach / 500 * DELIMITER_FACTOR, 2 * reach - DELIMITER_SHORTFALL)


def _left_right(left, inner, right, style: int, body):
    w, h, d = inner
    need = left_right_size(h, d, style)
    lw, lh, ld = _delimiter(left, _size(style), need, symbol_params(style)["axis_height"])
    rw, rh, rd = _delimiter(right, _size(style), need, symbol_params(style)["axis_height"])
    # The delimiters act as Open and Close atoms: spacing against them is
    # none, except a Punct atom before the closing one (thin, in D and T).
    if body and not _script(style):
        last = [it for it in body if isinstance(it, Noad)]
        if last and last[-1].kind == PUNCT:
            w += _MU[1] * _mu(style)
    return lw + w + rw, max(lh, h, rh), max(ld, d, rd)


def _delimiter(delim, size: int, need: float, axis: float):
    """The box of a delimiter at least ``need`` tall (see :func:`variant`),
    centred on the axis."""
    w, h, d = variant(delim, size, need)
    return w, (h + d) / 2 + axis, (h + d) / 2 - axis


def variant(delim, size: int, need: float):
    """TeX's var_delimiter: the first variant, small then large, at this
    size or larger, at least ``need`` tall; or the tallest there is; or an
    extensible one built tall enough. Returns its box (width: the glyph's
    plus its italic correction) before centring."""
    if delim is None:
        return NULL_DELIMITER_SPACE, 0.0, 0.0
    best, best_hd = None, 0.0
    for fam, code in delim:
        for z in range(size, -1, -1):
            font = family_font(fam, z)
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
    w, h, d = mlist_box(body, _cramped(style))
    theta = _rule(style)
    clr = theta + (symbol_params(style)["x_height"] / 4 if _display(style) else theta / 4)
    rw, rh, rd = variant(RADICAL, _size(style), h + d + clr + theta)
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
    font = family_font(fam, _size(style))
    # A wide accent takes the widest variant no wider than the nucleus.
    while code in font["next"] and font["chars"].get(font["next"][code], (w0 + 1,))[0] <= w0:
        code = font["next"][code]
    _, ah, ad, _ = char_box(fam, _size(style), code)
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
            w, h, d = mlist_box(cell, 2)
            widths[k] = max(widths[k], w)
            rh, rd = max(rh, h), max(rd, d)
        heights.append(rh)
        depths.append(rd)
    total = heights[0] + depths[0]
    for k in range(1, len(rows)):
        gap = BASELINE_SKIP - depths[k - 1] - heights[k]
        total += (gap if gap >= 0 else LINE_SKIP) + heights[k] + depths[k]
    axis = symbol_params(2)["axis_height"]
    width = sum(widths) + 2 * ARRAY_COL_SEP * (ncols - 1)
    return width, total / 2 + axis, total / 2 - axis


# ---------------------------------------------------------------- text


def text_box(toks: list, size: int, style: int) -> tuple[float, float, float]:
    """\\text{...}: roman text at the size of the style (10, 7 or 5pt), with
    the font's ligatures and kerns, spaces at their natural width (plus the
    extra space after a sentence-ending mark, counted even after a capital
    letter, where TeX omits it), and $...$ inside set in the text's style."""
    font = family_font("rm", size)
    params = font["params"]
    chars = font["chars"]
    runs: list = []  # lists of character codes, spaces and math boxes
    k = 0
    while k < len(toks):
        kind, value = toks[k]
        k += 1
        if kind == "space":
            runs.append(("space",))
        elif kind == "char" and value == "$":
            end = k
            while end < len(toks) and toks[end] != ("char", "$"):
                end += 1
            # amstext: math inside \text is in display style in a display,
            # else in the style of the text's size.
            inner_style = 0 if _display(style) else (2, 4, 6)[size]
            parser = Parser("$...$ in \\text", toks[k:end])
            runs.append(("box", mlist_box(parser.mlist(), inner_style)))
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
