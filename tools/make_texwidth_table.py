"""Write symgrad/data/texfonts.txt: the font metrics symgrad.texwidth measures with.

Reads the TFM files of the Computer Modern fonts a default LaTeX document
uses for math at 10pt (and of msbm for amssymb's \\mathbb), found with
``kpsewhich``, and prints their metrics as a compact text table (seven
lines a font, read by :mod:`symgrad.texfonts` one font at a time, as it is
needed), so that the package measures LaTeX without TeX installed. Run from
the repository root:

    python3 tools/make_texwidth_table.py > symgrad/data/texfonts.txt

The TFM format (TeX: The Program, part 30; Knuth's TFtoPL documents it too):
a 24-byte header of twelve 16-bit counts, then 4-byte words: the header
(word 1: the design size), one char_info word per character, then the
width, height, depth and italic-correction tables, the lig/kern program, the
kern table, the extensible recipes and the parameters. Every dimension is a
fix_word, a signed 32-bit number with 20 fraction bits, in units of the
design size.
"""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

#: The fonts a default LaTeX document (with amsmath and amssymb) uses for math
#: at 10pt, at text, script and scriptscript size: the name symgrad.texwidth
#: uses, the TFM file and the size it is loaded at (pt). Where no design of
#: that size exists, LaTeX's font definitions (omxcmex.fd, ot1cmr.fd,
#: ot1cmss.fd, ot1cmtt.fd) load a nearby one scaled: "cmex7@5" is cmex7 at 5pt.
_SIZES = {
    "cmr": ("cmr10", "cmr7", "cmr5"),  # \mathrm, digits, operators, \text
    "cmmi": ("cmmi10", "cmmi7", "cmmi5"),  # letters, Greek
    "cmsy": ("cmsy10", "cmsy7", "cmsy5"),  # symbols, \mathcal
    "cmex": ("cmex10", "cmex7", "cmex7@5"),  # big delimiters and operators
    "cmbx": ("cmbx10", "cmbx7", "cmbx5"),  # \mathbf
    "msbm": ("msbm10", "msbm7", "msbm5"),  # \mathbb (amssymb)
    "cmti": ("cmti10", "cmti7", "cmti7@5"),  # \mathit
    "cmss": ("cmss10", "cmss8@7", "cmss8@5"),  # \mathsf
    "cmtt": ("cmtt10", "cmtt8@7", "cmtt8@5"),  # \mathtt
    "eufm": ("eufm10", "eufm7", "eufm5"),  # \mathfrak (amssymb)
    "cmmib": ("cmmib10", "cmmib7", "cmmib5"),  # \boldsymbol: letters
    "cmbsy": ("cmbsy10", "cmbsy7", "cmbsy5"),  # \boldsymbol: symbols
}
FONTS = {
    name: (name.split("@")[0], float(name.split("@")[1]) if "@" in name else size)
    for names in _SIZES.values()
    for name, size in zip(names, (10.0, 7.0, 5.0), strict=True)
}

#: \skewchar of the math fonts (plain TeX and LaTeX's fontmath.ltx).
SKEW_CHAR = {"cmmi": 127, "cmsy": 48, "cmmib": 127, "cmbsy": 48}

#: TFM parameter names (TeX: The Program, section 545 and 700-701): the
#: first seven in every font, then the math symbol font's and the math
#: extension font's own.
TEXT_PARAMS = ("slant", "space", "space_stretch", "space_shrink", "x_height", "quad", "extra_space")
SYMBOL_PARAMS = (
    "num1",
    "num2",
    "num3",
    "denom1",
    "denom2",
    "sup1",
    "sup2",
    "sup3",
    "sub1",
    "sub2",
    "sup_drop",
    "sub_drop",
    "delim1",
    "delim2",
    "axis_height",
)
EXTENSION_PARAMS = (
    "default_rule_thickness",
    "big_op_spacing1",
    "big_op_spacing2",
    "big_op_spacing3",
    "big_op_spacing4",
    "big_op_spacing5",
)

# Digits kept: a TeX dimension is an integer number of sp (2^-16 pt, about
# 1.5e-5 pt); six decimals of a point are exact enough and keep the table short.
DIGITS = 6


def fix_word(raw: int) -> float:
    """A TFM fix_word (signed, 20 fraction bits) as a float."""
    return raw / 2**20


def read_tfm(path: Path, size: float, skew: int | None = None) -> dict:
    """The metrics of the TFM file ``path`` loaded at ``size`` pt: a dict with
    ``chars`` {code: (width, height, depth, italic)} in pt, ``params``,
    ``kerns`` {left: {right: kern pt}}, ``ligatures`` {left: {right: code}}
    (only the plain ``=:`` kind, which is all the Computer Modern text fonts
    use), ``next`` {code: larger variant} and ``extensible`` {code: (top,
    mid, bottom, repeat)} with 0 for an absent piece."""
    data = path.read_bytes()
    lf, lh, bc, ec, nw, nh, nd, ni, nl, nk, ne, np_ = struct.unpack(">12H", data[:24])
    if lf * 4 != len(data):
        raise ValueError(f"{path}: length field {lf} words, file {len(data)} bytes")
    words = struct.unpack(f">{lf - 6}I", data[24:])
    pos = lh
    char_info = words[pos : pos + ec - bc + 1]
    pos += ec - bc + 1

    def table(count):
        nonlocal pos
        raw = words[pos : pos + count]
        pos += count
        return raw

    def signed(w):
        return w - 2**32 if w >= 2**31 else w

    widths = [fix_word(signed(w)) * size for w in table(nw)]
    heights = [fix_word(signed(w)) * size for w in table(nh)]
    depths = [fix_word(signed(w)) * size for w in table(nd)]
    italics = [fix_word(signed(w)) * size for w in table(ni)]
    lig_kern = table(nl)
    kern_table = [fix_word(signed(w)) * size for w in table(nk)]
    exten = table(ne)
    params_raw = table(np_)

    # Parameter 1 (slant) is a pure number; the others are dimensions.
    names = TEXT_PARAMS + (SYMBOL_PARAMS if np_ >= 22 else EXTENSION_PARAMS if np_ >= 13 else ())
    params = {}
    for k, name in enumerate(names[:np_]):
        value = fix_word(signed(params_raw[k]))
        params[name] = round(value if k == 0 else value * size, DIGITS)

    chars, kerns, ligatures, larger, extensible = {}, {}, {}, {}, {}
    for offset, info in enumerate(char_info):
        code = bc + offset
        wi, hd, it, rem = info >> 24, (info >> 16) & 0xFF, (info >> 8) & 0xFF, info & 0xFF
        if wi == 0:
            continue  # no such character
        hi, di, ii, tag = hd >> 4, hd & 0xF, it >> 2, it & 0x3
        chars[code] = tuple(
            round(v, DIGITS) for v in (widths[wi], heights[hi], depths[di], italics[ii])
        )
        if tag == 1:
            k_left, l_left = _lig_kern_program(lig_kern, rem, kern_table, skew)
            if k_left:
                kerns[code] = k_left
            if l_left:
                ligatures[code] = l_left
        elif tag == 2:
            larger[code] = rem
        elif tag == 3:
            extensible[code] = tuple((exten[rem] >> s) & 0xFF for s in (24, 16, 8, 0))
    return {
        "size": size,
        "params": params,
        "chars": chars,
        "kerns": kerns,
        "ligatures": ligatures,
        "next": larger,
        "extensible": extensible,
    }


def _lig_kern_program(lig_kern, start, kern_table, skew):
    """The kerns and ligatures of the lig/kern program starting at ``start``."""
    word = lig_kern[start]
    if word >> 24 > 128:  # the first instruction points to the real start
        start = 256 * ((word >> 8) & 0xFF) + (word & 0xFF)
    kerns, ligatures = {}, {}
    k = start
    while True:
        word = lig_kern[k]
        skip, nxt, op, rem = word >> 24, (word >> 16) & 0xFF, (word >> 8) & 0xFF, word & 0xFF
        # Kerns with the skew character (127 in cmmi, 48 in cmsy) place
        # accents; they never come between two characters of a formula.
        known = nxt in kerns or nxt in ligatures
        if skip <= 128 and not known and nxt != skew:
            if op >= 128:
                kerns[nxt] = round(kern_table[256 * (op - 128) + rem], DIGITS)
            elif op == 0:
                ligatures[nxt] = rem
            else:
                # Ligatures that keep a character (|=: and friends): CM text
                # fonts have none; refuse rather than model them wrongly.
                raise ValueError(f"unsupported ligature op {op} after a character")
        if skip >= 128:
            return kerns, ligatures
        k += skip + 1


def locate(name: str) -> Path:
    found = subprocess.run(["kpsewhich", f"{name}.tfm"], capture_output=True, text=True)
    if found.returncode != 0 or not found.stdout.strip():
        raise SystemExit(f"kpsewhich cannot find {name}.tfm: install TeX Live's fonts")
    return Path(found.stdout.strip())


def _number(value: float) -> str:
    return repr(round(value, DIGITS))


def _line(key: str, rows) -> str:
    """One line of the table: ``key`` then every row's numbers, flattened."""
    return " ".join([key, *(x for row in rows for x in row)])


def font_lines(name: str, font: dict) -> list[str]:
    """The seven lines of one font in symgrad/data/texfonts.txt."""
    pairs = [(a, b, v) for a, row in font["kerns"].items() for b, v in row.items()]
    ligs = [(a, b, c) for a, row in font["ligatures"].items() for b, c in row.items()]
    return [
        f"@{name} {_number(font['size'])}",
        _line("params", ((k, _number(v)) for k, v in font["params"].items())),
        _line("chars", ((str(c), *map(_number, m)) for c, m in font["chars"].items())),
        _line("kerns", ((str(a), str(b), _number(k)) for a, b, k in pairs)),
        _line("ligatures", ((str(a), str(b), str(c)) for a, b, c in ligs)),
        _line("next", ((str(c), str(n)) for c, n in font["next"].items())),
        _line("extensible", ((str(c), *map(str, r)) for c, r in font["extensible"].items())),
    ]


HEADER = """\
# Font metrics of the Computer Modern and AMS fonts LaTeX uses for math at
# 10pt, read from their TFM files by tools/make_texwidth_table.py: do not edit.
# symgrad.texfonts reads it. Per font, seven lines: "@name size" (pt, the size
# it is loaded at); "params" name value pairs (pt, slant excepted); "chars"
# code width height depth italic-correction (pt); "kerns" left right kern;
# "ligatures" left right ligature; "next" code next-larger-variant;
# "extensible" code top middle bottom repeat (0: absent).
"""


def main() -> None:
    fonts = {
        name: read_tfm(locate(tfm), size, SKEW_CHAR.get(tfm.rstrip("0123456789")))
        for name, (tfm, size) in FONTS.items()
    }
    lines = [line for name, font in fonts.items() for line in font_lines(name, font)]
    sys.stdout.write(HEADER + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
