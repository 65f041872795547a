r"""symgrad.texwidth: widths of LaTeX math without TeX, and rows broken to fit.

Three kinds of test. Against TeX (skipped without pdflatex): every align*
cell symgrad derive prints for the built-in cells and the example cell files,
every formula of proofs/ (LaTeX and Markdown) and a synthetic string for each
construct, measured in one document with \sbox; and the over-wide blocks of
derive's output, rebuilt with break_lines, compiled in a default article and
in a --standalone document without an Overfull \hbox. Without TeX: widths worked out by hand
from the font table, widths pdfTeX measured (pinned), the issue's overflows
reproduced from the estimates, and the line-breaking helpers' contracts.
"""

import functools
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from symgrad.texwidth import (
    ARTICLE_TEXTWIDTH,
    MIN_ALIGN_SEP,
    STANDALONE_TEXTWIDTH,
    TexWidthError,
    align_width,
    break_lines,
    break_sum,
    fit_rows,
    fits,
    font_metrics,
    math_width,
    matrix_or_entries,
    text_width,
    top_level_factors,
    top_level_terms,
)
from tests.cli_runner import cli_output
from tests.latex import ARTICLE, compile_latex, needs_pdflatex, overfull
from tests.tolerances import MEASURED_PT, OVER_TEX_PT, OVER_TEX_REL, OVERFULL_PT, UNDER_TEX_PT

ROOT = Path(__file__).resolve().parents[1]

CELLS = ("rnn", "rnn-relu", "lstm", "gru", "gru-merged", "gru-late-reset", "gru-torch")
ALIGN = re.compile(r"\\begin\{align\*\}\n(.*?)\n\\end\{align\*\}", re.S)


def derive(*argv) -> str:
    return cli_output("derive", *argv)


@functools.cache
def derive_outputs() -> tuple[str, ...]:
    """symgrad derive's LaTeX for every built-in cell and every example cell
    file, with and without --wrt state."""
    cells = [[cell] for cell in CELLS]
    cells += [["--cell-file", str(p)] for p in sorted((ROOT / "examples").glob("*.toml"))]
    return tuple(derive(*cell, *wrt) for cell in cells for wrt in ((), ("--wrt", "state")))


def align_rows(block: str) -> list[str]:
    return [row.strip() for row in block.split(" \\\\\n")]


def align_cells(latex: str) -> list[str]:
    """Each align* cell as amsmath sets it: odd columns after ``{}``."""
    cells = []
    for block in ALIGN.findall(latex):
        for row in align_rows(block):
            parts = _columns(row)
            cells += [p if k % 2 == 0 else "{}" + p for k, p in enumerate(parts)]
    return cells


def _columns(row: str) -> list[str]:
    """``row`` split at its top-level ``&`` (none inside braces or a matrix)."""
    parts, depth, start = [], 0, 0
    for m in re.finditer(r"\\begin|\\end|\\.|[{}&]", row):
        tok = m.group()
        if tok in ("\\begin", "{"):
            depth += 1
        elif tok in ("\\end", "}"):
            depth -= 1
        elif tok == "&" and depth == 0:
            parts.append(row[start : m.start()])
            start = m.end()
    return [*parts, row[start:]]


def proofs_formulas() -> list[tuple[str, bool]]:
    """The math of proofs/: align* and aligned cells (display), $...$ (text style)."""
    formulas = set()
    for path in sorted((ROOT / "proofs").glob("*.*")):
        text = path.read_text().replace("\\begin{aligned}\n", "\\begin{align*}\n")
        text = text.replace("\n\\end{aligned}", "\n\\end{align*}")
        formulas |= {(cell, True) for cell in align_cells(text)}
        formulas |= {(m, False) for m in re.findall(r"(?<![\\$])\$([^$\n]+)\$(?!\$)", text)}
    return sorted(formulas)


# One string per construct the module claims to know, each in the style noted.
SYNTHETIC = [
    (r"\sum_{k=1}^{T} a_k", True),
    (r"\sum_{k=1}^{T} a_k", False),
    (r"\prod_{j=k+1}^{T} \frac{\partial h_j}{\partial h_{j-1}}", True),
    (r"\int_0^1 f(x)\,dx", True),
    (r"\int_0^1 f(x)\,dx", False),
    (r"\operatorname{diag}\left(f_t\right) \odot c_{t-1} \circ x", True),
    (r"\mathbf{W}_f \mathbf{h}_{t-1} + \mathbf{b}_f", True),
    (r"\bar{x} + \tilde{h}_{t-1}^{2} + \hat{\theta}_t + \vec{v} + \dot{x}", True),
    (r"a \quad b \qquad c \, d \ e \! f \; g \: h", True),
    (r"\big( \Big( \bigg( \Bigg( x \Bigg) \bigg) \Big) \big)", True),
    (r"\bigl[ x \bigr] + \Bigl| y \Bigr|", True),
    (r"\left[ x^2 \right] + \left| \frac{a}{b} \right| + \left\| v \right\|", True),
    (r"\left. \frac{\partial f}{\partial x} \right|_{x=0}", True),
    (r"\sqrt{1 + a^2} + \sqrt{\frac{1}{2}}", True),
    (r"\sqrt{1 + a^2} + \sqrt{\frac{1}{2}}", False),
    (r"\frac{\frac{a}{b}}{c} + \frac{1}{\frac{1}{x}}", True),
    (r"\frac{1}{n^{2}} + \frac{d}{dx}", False),
    (r"x^{\frac{1}{2}} + e^{-\frac{t}{\tau}}", True),
    (r"x_{\text{max}} + y^{\text{new value}}", True),
    (r"\text{the fixed point, e.g. here: ok. Next} + \text{``quoted''---and -- dash}", True),
    (r"\begin{pmatrix} a & b & c \\ d & e & f \\ g & h & i \end{pmatrix}", True),
    (r"\begin{bmatrix} 1 & 0 \\ 0 & 1 \end{bmatrix} \begin{vmatrix} a & b \end{vmatrix}", True),
    (
        r"\begin{pmatrix} \frac{1}{2} & x^2 \\ "
        r"\sum_k a_k & \left(1 - \tanh^{2} c_t\right) \end{pmatrix}",
        True,
    ),
    (r"\begin{pmatrix} 1 \\ 2 \\ 3 \\ 4 \\ 5 \\ 6 \end{pmatrix}", True),
    (r"\begin{pmatrix} a & b \\ c & d \end{pmatrix}", False),
    (r"x \begin{matrix} a & b \end{matrix} y", True),
    (r"\left( \sum_{k=1}^{T} \frac{a_k}{b_k} \right)", True),
    (r"\left( \prod_{n=2}^{N} \left(1 - \frac{1}{n^{2}}\right) \right)", True),
    (r"\lim_{t\to\infty} x_t + \max_{k} y_k + \sup_{|U| \le 1} z", True),
    (r"\lim_{t\to\infty} x_t + \max_{k} y_k + \sup_{|U| \le 1} z", False),
    (r"\log_{10} x + \ln y + \exp(z) + \tanh^{2}\left(u\right)", True),
    (r"\mathbb{E}\left[X\right] + \mathbb{R}^n", True),
    (r"f'(x) + g''(x) + \sigma'(u)", True),
    (r"x^{y^{z}} + x_{i_{j}} + x_i^2 + x^2_i", True),
    (r"{a}^{b}_{c} + {(a+b)}^2 + \left(a+b\right)^{2}", True),
    (r"\hat{xy} + \hat{c}_t^{2} + \hat{h}_{t-1}", True),
    (r"\operatorname{leaky-relu}(x) + \operatorname*{argmax}_x f(x)", True),
    (r"a \cdot b \times c \pm d \mp e \le f \ge g \ne h \approx i \sim j \to k \in l", True),
    (r"\mathrm{d}x + \mathrm{ReLU}(x) + \Gamma + \mathbf{\Sigma}", True),
    (r"-x + (-y) + [+z] + a = -b", True),
    (r"a, b; c: d! e? f/g . h", True),
    (r"\alpha\beta\gamma\delta\epsilon\zeta\eta\theta\iota\kappa\lambda\mu\nu\xi\pi\rho", True),
    (r"\sigma\tau\upsilon\phi\chi\psi\omega\varepsilon\vartheta\varphi", True),
    (r"\Gamma\Delta\Theta\Lambda\Xi\Pi\Sigma\Upsilon\Phi\Psi\Omega", True),
    (r"\left\{ x \right\} + \left\langle x, y \right\rangle + \left\lfloor x \right\rfloor", True),
    (r"\cdots + x \cdots y, \ldots, z \cdots)", True),
    (r"\displaystyle x + \textstyle \frac{a}{b} + \scriptstyle y + \scriptscriptstyle z", True),
    (r"\dfrac{1}{2} + \tfrac{1}{2}", False),
    (r"\frac{\partial^{2} L}{\partial \theta_{i} \partial \theta_{j}}", True),
    (r"\infty + \partial + \nabla f + \forall x \exists y", True),
    (r"\text{WAVE AVATAR To Ty fi ff ffi VA}", True),
    (r"\mathop{\mathrm{lim\,sup}}_{n} a_n + \mathrel{\sim} x \mathbin{\#} y", True),
    # What a cell file's [latex] names may use (symgrad.cellfile allows these).
    (r"\mathit{var} + \mathit{diff} + \mathit{W}_1 + \mathsf{W}_{hh} + \mathtt{h}_t", True),
    (r"\mathcal{L} + \mathcal{O}(n) + \mathfrak{g} + \mathfrak{A}_t", True),
    (
        r"\boldsymbol{h}_t + \boldsymbol{\theta} + \boldsymbol{W}^{2} + \boldsymbol{\alpha}_{t-1}",
        True,
    ),
    (r"\boldsymbol{x + y} + a \boldsymbol{+} b \boldsymbol{=} c", True),
    (r"\widehat{h}_t + \widehat{xyz} + \widetilde{c}_t + \widetilde{W_{hh}}", True),
    (r"\overline{h}_t + \underline{x} + \overline{x + y}^2 + \left(\overline{a}\right)", True),
    (r"\hat{\boldsymbol{h}}_t + \boldsymbol{\hat{h}}_t + \mathit{\Gamma} + \mathsf{\Delta}", True),
    (r"\boldsymbol{h}_t + \widehat{xyz} + \overline{x} + h'_t + h''_{t-1} + W^{(1)}_{h,x}", False),
    (r"\frac{\partial c_t}{\partial c_{t-1}}", False),
    (r"{}= f_t \left(1 - f_t\right) o_{t-1} \left(1 - \tanh^{2} c_{t-1}\right) c_{t-1} U_f", False),
]


def within_bar(estimate: float, tex: float) -> bool:
    """The issue's bar for one width: at most 0.5pt under TeX, 5% + 2pt over."""
    return tex - UNDER_TEX_PT <= estimate <= OVER_TEX_REL * tex + OVER_TEX_PT


def tex_widths(tmp_path: Path, formulas: list[tuple[str, bool]]) -> tuple[list[float], float]:
    """pdfTeX's widths of ``formulas`` ((latex, display style?)) in one default
    article at 10pt, and that article's \\textwidth."""
    lines = [ARTICLE, "\\begin{document}", "\\typeout{TEXTWIDTH \\the\\textwidth}"]
    for k, (latex, display) in enumerate(formulas):
        style = "\\displaystyle" if display else "\\textstyle"
        lines.append(f"\\sbox0{{${style} {latex}$}}\\typeout{{WIDTH {k} \\the\\wd0}}")
    lines.append("\\end{document}")
    compile_latex(tmp_path, "widths.tex", "\n".join(lines))
    log = (tmp_path / "widths.log").read_text()
    found = {int(k): float(w) for k, w in re.findall(r"WIDTH (\d+) ([\d.]+)pt", log)}
    assert sorted(found) == list(range(len(formulas))), "a measurement is missing from the log"
    textwidth = float(re.search(r"TEXTWIDTH ([\d.]+)pt", log).group(1))
    return [found[k] for k in range(len(formulas))], textwidth


# ---------------------------------------------------------------- against TeX


@needs_pdflatex
def test_estimates_match_tex(tmp_path):
    derived = sorted({cell for out in derive_outputs() for cell in align_cells(out)})
    formulas = [(c, True) for c in derived] + proofs_formulas() + SYNTHETIC
    widths, textwidth = tex_widths(tmp_path, formulas)
    assert textwidth == ARTICLE_TEXTWIDTH
    outside, inexact = [], []
    for (latex, display), tex in zip(formulas, widths, strict=True):
        estimate = math_width(latex, display=display)
        if not within_bar(estimate, tex):
            outside.append(f"{estimate:.3f} for TeX's {tex:.3f}: {latex}")
        if abs(estimate - tex) > MEASURED_PT:
            inexact.append(f"{estimate - tex:+.3f}pt: {latex}")
    assert not outside, "outside the issue's bar:\n" + "\n".join(outside)
    assert not inexact, f"more than {MEASURED_PT}pt from TeX:\n" + "\n".join(inexact)


def test_the_bar_rejects_what_it_should():
    # The checker itself: 0.6pt under TeX fails, 5% + 2.1pt over fails.
    assert within_bar(100.0, 100.0) and within_bar(99.6, 100.0) and within_bar(107.0, 100.0)
    assert not within_bar(99.4, 100.0)
    assert not within_bar(107.1, 100.0)


def rebreak(latex: str, width: float) -> str:
    """``latex`` with each align* block wider than ``width`` printed again by
    break_lines: what the printers will do."""

    def block(match):
        rows = align_rows(match.group(1))
        if align_width(rows) <= width:
            return match.group(0)
        lines = []
        for row in rows:
            cols = [c.strip() for c in _columns(row)]
            lhs, rhs = cols[0] or None, cols[1]
            if rhs.startswith("="):
                lhs, rhs = lhs or "", rhs[1:].strip()
            note = re.fullmatch(r"\\text\{(.*)\}", cols[3]).group(1) if len(cols) > 3 else None
            lines.append((lhs, top_level_terms(rhs), note))
        rows = break_lines(lines, width)
        assert align_width(rows) <= width, rows
        return align(rows)

    return ALIGN.sub(block, latex)


def align(rows: list[str]) -> str:
    return "\\begin{align*}\n  " + " \\\\\n  ".join(rows) + "\n\\end{align*}"


LSTM_SUM_CONTROL = "% the LSTM's Sum line as printed today: the one overfull box"


def lstm_sum() -> tuple[str, str]:
    """The LSTM's Sum line, unbroken (derive's JSON keeps formulas whole)."""
    data = json.loads(derive("lstm", "--format", "json"))
    return data["derivative"], "= " + data["total_latex"]


@needs_pdflatex
def test_broken_rows_fit_a_default_article(tmp_path):
    d_lhs, d_rhs = lstm_sum()
    terms = top_level_terms(d_rhs.strip()[1:].strip())
    body = [
        align(break_sum(d_lhs, terms, ARTICLE_TEXTWIDTH)),
        align(break_sum(d_lhs, terms, ARTICLE_TEXTWIDTH, note="dominant, 1 gate")),
        *(rebreak(out, ARTICLE_TEXTWIDTH) for out in derive_outputs()),
        LSTM_SUM_CONTROL,
        align([f"{d_lhs}&{d_rhs}"]),
    ]
    text = ARTICLE + "\\begin{document}\n" + "\n".join(body) + "\n\\end{document}\n"
    compile_latex(tmp_path, "article.tex", text)
    boxes = overfull((tmp_path / "article.log").read_text())
    control = text.splitlines().index(LSTM_SUM_CONTROL) + 1
    # The control line overflows by what the estimate says (the issue's 209pt),
    # which shows the log is read right; nothing else overflows.
    assert len(boxes) == 1 and boxes[0][1] > control, boxes
    expected = align_width([f"{d_lhs}&{d_rhs}"]) - ARTICLE_TEXTWIDTH
    assert abs(boxes[0][0] - expected) <= MEASURED_PT


@needs_pdflatex
def test_broken_rows_fit_standalone_documents_and_proofs(tmp_path):
    standalone = derive("lstm", "--wrt", "state", "--standalone")
    preamble, _, _ = standalone.partition("\\begin{document}")
    claims = (ROOT / "proofs" / "claims.tex").read_text()
    # The LSTM's J was 85pt too wide in proofs/claims.tex: now entry by entry
    # (test_proofs compiles claims.tex and finds no overfull box).
    assert "\\text{lstm: } J_{11} &= f_t" in claims and "\\text{lstm: } J &=" not in claims
    body = [
        "\\typeout{TEXTWIDTH \\the\\textwidth}",
        *(rebreak(out, STANDALONE_TEXTWIDTH) for out in derive_outputs()),
    ]
    text = preamble + "\\begin{document}\n" + "\n".join(body) + "\n\\end{document}\n"
    compile_latex(tmp_path, "standalone.tex", text)
    log = (tmp_path / "standalone.log").read_text()
    assert float(re.search(r"TEXTWIDTH ([\d.]+)pt", log).group(1)) == STANDALONE_TEXTWIDTH
    assert [a for a, _ in overfull(log) if a > OVERFULL_PT] == []


@pytest.mark.skipif(shutil.which("kpsewhich") is None, reason="TeX's kpsewhich is not installed")
def test_font_table_is_what_the_generator_writes():
    made = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "make_texwidth_table.py")],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert made.stdout == (ROOT / "symgrad" / "data" / "texfonts.txt").read_text()


# ---------------------------------------------------------------- widths by hand

MU = font_metrics("cmsy10")["params"]["quad"] / 18  # 1mu at text size: 10pt/18


def glyph(font: str, char: str | int) -> float:
    """Width plus italic correction, as TeX sets a lone math character."""
    w, _, _, italic = font_metrics(font)["chars"][char if isinstance(char, int) else ord(char)]
    return w + italic


def test_a_letter_is_its_math_italic_glyph_with_italic_correction():
    # cmmi10 f: 4.89pt wide with a 1.08pt italic correction, added with no subscript.
    assert math_width("f") == pytest.approx(glyph("cmmi10", "f"))


def test_a_subscript_is_seven_point_with_script_space_and_no_italic_correction():
    # f_t: f without its italic correction, t from cmmi7, then \scriptspace 0.5pt.
    expected = font_metrics("cmmi10")["chars"][ord("f")][0] + glyph("cmmi7", "t") + 0.5
    assert math_width("f_t") == pytest.approx(expected)


def test_binary_operators_get_medium_space_unless_unary():
    # a + b: 4mu either side of +; -b: a sign, no space.
    assert math_width("a+b") == pytest.approx(
        glyph("cmmi10", "a") + glyph("cmr10", "+") + glyph("cmmi10", "b") + 8 * MU
    )
    assert math_width("-b") == pytest.approx(glyph("cmsy10", 0) + glyph("cmmi10", "b"))


def test_relations_get_thick_space_after_amsmaths_empty_group():
    # align*'s right column starts with {}: {}= b is Ord Rel Ord, 5mu either side.
    assert math_width("{}= b") == pytest.approx(
        glyph("cmr10", "=") + glyph("cmmi10", "b") + 10 * MU
    )


def test_quad_is_one_em_of_the_text_font_whatever_the_style():
    assert math_width(r"\quad") == pytest.approx(font_metrics("cmr10")["params"]["quad"])
    assert math_width(r"x_{\quad}") == pytest.approx(glyph("cmmi10", "x") + 10.000029 + 0.5)


def test_fraction_is_the_wider_part_plus_null_delimiters():
    # Display: numerator and denominator in text style (10pt); \nulldelimiterspace
    # 1.2pt either side. Text style: both at 7pt.
    assert math_width(r"\frac{a}{bb}") == pytest.approx(2 * glyph("cmmi10", "b") + 2.4)
    assert math_width(r"\frac{a}{bb}", display=False) == pytest.approx(
        2 * glyph("cmmi7", "b") + 2.4
    )


def test_left_right_around_a_letter_uses_the_normal_parentheses():
    # x is 4.3pt high: the 10pt parentheses of cmr10 are tall enough.
    expected = glyph("cmr10", "(") + glyph("cmmi10", "x") + glyph("cmr10", ")")
    assert math_width(r"\left(x\right)") == pytest.approx(expected)


def test_one_row_matrix_has_column_separation_and_big_parentheses():
    # A row holds a 12pt strut; \left( over 12pt needs 10.8pt: cmex10's first
    # larger parentheses (codes 0 and 1). Columns: 2 x \arraycolsep between.
    expected = glyph("cmex10", 0) + glyph("cmmi10", "a") + 10.0 + glyph("cmmi10", "b")
    expected += glyph("cmex10", 1)
    assert math_width(r"\begin{pmatrix} a & b \end{pmatrix}") == pytest.approx(expected)


def test_text_is_roman_with_interword_space():
    # No kern between a, b or c, d in cmr10; one space of 3.33pt.
    assert ord("b") not in font_metrics("cmr10")["kerns"].get(ord("a"), {})
    expected = sum(font_metrics("cmr10")["chars"][ord(c)][0] for c in "abcd")
    assert text_width("ab cd") == pytest.approx(expected + font_metrics("cmr10")["params"]["space"])
    assert math_width(r"\text{ab cd}") == pytest.approx(text_width("ab cd"))


# Widths pdfTeX 1.40.24 (TeX Live 2022, amsmath 2.17) measured with \sbox, in
# display style unless marked: regression values that need no TeX.
TEX_MEASURED = [
    (r"\frac{\partial c_t}{\partial c_{t-1}}", True, 26.349),
    (
        r"{}= f_t + f_t \left(1 - f_t\right) o_{t-1} \left(1 - \tanh^{2} c_{t-1}\right) "
        r"c_{t-1} U_f + i_t \left(1 - i_t\right) o_{t-1} \left(1 - \tanh^{2} c_{t-1}\right) "
        r"\hat{c}_t U_i + i_t \left(1 - \hat{c}_t^{2}\right) o_{t-1} "
        r"\left(1 - \tanh^{2} c_{t-1}\right) U_c",
        True,
        528.044,
    ),
    (r"\sum_{k=1}^{T} a_k", True, 26.418),
    (r"\sum_{k=1}^{T} a_k", False, 37.473),
    (r"\begin{pmatrix} a & b & c \\ d & e & f \\ g & h & i \end{pmatrix}", True, 54.520),
    (r"\sqrt{1 + a^2} + \sqrt{\frac{1}{2}}", True, 66.616),
    (r"h_T = F(\cdots F(h_0, x_1, \theta)\cdots, x_T, \theta)", False, 146.775),
    (r"\int_0^1 f(x)\,dx", True, 48.205),
    (r"\text{WAVE AVATAR To Ty fi ff ffi VA}", True, 151.111),
    (r"\lim_{t\to\infty} x_t + \max_{k} y_k + \sup_{|U| \le 1} z", False, 147.219),
]


@pytest.mark.parametrize(("latex", "display", "tex"), TEX_MEASURED)
def test_widths_pdftex_measured(latex, display, tex):
    assert math_width(latex, display=display) == pytest.approx(tex, abs=MEASURED_PT)


def test_the_issues_overflow_follows_from_the_estimates():
    # The issue's number, from the Overfull \hbox message of a default article:
    # the LSTM's Sum line printed whole was 209.394pt too wide.
    d_lhs, d_rhs = lstm_sum()
    assert align_width([f"{d_lhs} &{d_rhs}"]) - ARTICLE_TEXTWIDTH == pytest.approx(
        209.394, abs=MEASURED_PT
    )


@pytest.mark.parametrize(
    ("cell", "wrt"),
    [("lstm", ()), ("gru-torch", ()), ("lstm", ("--wrt", "state")), ("gru", ())],
)
def test_the_issues_overflows_are_broken_now(cell, wrt):
    # Each overflowed a default article (by 21 to 209pt); derive breaks them.
    blocks = [align_rows(b) for b in ALIGN.findall(derive(cell, *wrt))]
    assert max(align_width(rows) for rows in blocks) <= ARTICLE_TEXTWIDTH


def test_unknown_latex_is_an_error_not_a_guess():
    with pytest.raises(TexWidthError, match=r"unknown command \\foo"):
        math_width(r"x + \foo{y}")
    with pytest.raises(TexWidthError, match="unknown environment 'cases'"):
        math_width(r"\begin{cases} a \end{cases}")
    with pytest.raises(TexWidthError, match="unbalanced braces"):
        math_width(r"\frac{a}{b")
    with pytest.raises(TexWidthError, match=r"'&' outside an environment"):
        math_width("a & b")


def test_fits_compares_with_the_width():
    w = math_width("a+b")
    assert fits("a+b", w) and not fits("a+b", w - 0.01)


def test_align_width_shares_columns_and_separates_notes():
    rows = [r"a &= b", r"ccc &= d && \text{note}"]
    expected = 3 * glyph("cmmi10", "c") + math_width("{}= d") + MIN_ALIGN_SEP
    assert align_width(rows) == pytest.approx(expected + text_width("note"))
    # & inside a matrix is not a column of the alignment.
    matrix = r"J &= \begin{pmatrix} a & b \end{pmatrix}"
    assert align_width([matrix]) == pytest.approx(
        math_width("J") + math_width(r"{}= \begin{pmatrix} a & b \end{pmatrix}")
    )


# ---------------------------------------------------------------- breaking


def test_top_level_terms_split_binary_signs_only():
    assert top_level_terms("a - b + c") == ["a", "- b", "c"]
    assert top_level_terms(r"-a + \left(x - y\right) - \frac{a-b}{c}") == [
        "-a",
        r"\left(x - y\right)",
        r"- \frac{a-b}{c}",
    ]
    assert top_level_terms(r"x \cdot -y + \begin{pmatrix} a - b \end{pmatrix}") == [
        r"x \cdot -y",
        r"\begin{pmatrix} a - b \end{pmatrix}",
    ]


def unbroken(rows: list[str]) -> str:
    """The sum break_lines' rows print, with the breaks and delimiter sizes
    taken out: to compare with the sum before breaking."""
    text = " ".join(_columns(r)[1] for r in rows)
    text = re.sub(r"\\(left|right|bigl|bigr|Bigl|Bigr|biggl|biggr|Biggl|Biggr|q?quad)\b", "", text)
    return re.sub(r"\s+", "", text.lstrip().lstrip("="))


def real_sums() -> list[tuple[str, list[str]]]:
    """(lhs, terms) of every Sum line symgrad derive prints."""
    sums = []
    for out in derive_outputs():
        for block in ALIGN.findall(out):
            rows = align_rows(block)
            if len(rows) == 1 and "&=" in rows[0]:
                lhs, rhs = _columns(rows[0])[:2]
                sums.append((lhs.strip(), top_level_terms(rhs.strip()[1:].strip())))
    return sums


@pytest.mark.parametrize("width", [150.0, 200.0, 260.0, ARTICLE_TEXTWIDTH, 420.0, 600.0])
def test_break_sum_keeps_every_term_and_fits_when_it_can(width):
    for lhs, terms in real_sums():
        rows = break_sum(lhs, terms, width)
        sum_before = re.sub(r"\s+", "", re.sub(r"\\(left|right)\b", "", _plain_join(terms)))
        assert unbroken(rows) == sum_before
        widest = max(math_width(t) for t in terms)
        if math_width(lhs) + math_width(r"{}\quad +") + widest <= width:
            assert align_width(rows) <= width, rows


def _plain_join(terms):
    out = terms[0]
    for t in terms[1:]:
        out += (" - " + t[1:]) if t.startswith("-") else (" + " + t)
    return out


def test_break_sum_rows_keep_signs_and_put_the_note_last():
    a, b, c = "a_1 a_2 a_3 a_4 a_5", "- b_1 b_2 b_3 b_4 b_5", "c_1 c_2 c_3 c_4 c_5"
    # Room for the lhs, any one term and the note's column, not for two terms.
    one = max(math_width("{}= " + a), math_width(r"{}\quad " + b), math_width(r"{}\quad + " + c))
    width = math_width("y") + one + 1.0 + MIN_ALIGN_SEP + text_width("n")
    rows = break_sum("y", [a, b, c], width, note="n")
    assert rows == [f"y &= {a}", rf"&\quad - {b[2:]}", rf"&\quad + {c} && \text{{n}}"]
    assert align_width(rows) <= width


def test_break_sum_puts_everything_on_one_row_when_it_fits():
    assert break_sum("y", ["a", "-b", "c"], ARTICLE_TEXTWIDTH) == ["y &= a - b + c"]


def test_a_term_that_cannot_be_broken_is_left_alone_on_its_row():
    # One factor (no space between the symbols), no sum, no delimiters.
    wide = "".join(f"x_{{{k}}}" for k in range(40))
    rows = break_sum("y", ["a", wide, "b"], 100.0)
    assert rows == ["y &= a", rf"&\quad + {wide}", r"&\quad + b"]
    assert align_width(rows) > 100.0


def test_top_level_factors_cut_between_whole_factors_only():
    diag = r"\operatorname{diag}\left(o_t \odot \left(1 - o_t\right)\right)"
    assert top_level_factors(rf"{diag} U_o \frac{{d h_t}}{{d c_{{t-1}}}}") == [
        diag,
        "U_o",
        r"\frac{d h_t}{d c_{t-1}}",
    ]
    # Never a function from its argument, an operand from its operator, a base
    # from its script; a leading sign stays with its factor.
    assert top_level_factors(r"\tanh^{2} c_t \tanh x") == [r"\tanh^{2} c_t", r"\tanh x"]
    assert top_level_factors(r"a \odot b + c") == [r"a \odot b + c"]
    assert top_level_factors(r"- A_{t+2} \delta_{t}") == ["- A_{t+2}", r"\delta_{t}"]


def test_a_wide_product_is_broken_between_its_factors():
    factors = [
        rf"\operatorname{{diag}}\left(a_{{{k}}} \odot b_{{{k}}}\right) U_{{{k}}}" for k in range(6)
    ]
    term = " ".join(factors)
    rows = break_sum("y", [term], 200.0)
    assert len(rows) > 1 and align_width(rows) <= 200.0
    # Whole factors on each row, the later rows indented, with no operator: a product.
    assert rows[0].startswith(r"y &= \operatorname{diag}") and rows[0].endswith("U_{1}")
    assert all(r.startswith(r"&\qquad ") and r.split()[1][0] in r"\U" for r in rows[1:])
    assert unbroken(rows) == re.sub(r"\\(left|right)\b|\s+", "", term)


def test_a_wide_diag_is_broken_at_its_elementwise_products():
    pieces = [rf"\left(1 - a_{{{k}}} \odot b_{{{k}}}\right)" for k in range(8)]
    term = r"\operatorname{diag}\left(" + r" \odot ".join(pieces) + r"\right)"
    rows = break_sum("y", [term], 200.0)
    assert len(rows) > 1 and align_width(rows) <= 200.0
    assert rows[0].startswith(r"y &= \operatorname{diag} (\left(1 - a_{0}")
    assert all(r.startswith(r"&\qquad \odot ") for r in rows[1:]) and rows[-1].endswith(")")
    assert unbroken(rows) == re.sub(r"\\(left|right)\b|\s+", "", term)


def test_a_wide_term_is_broken_inside_its_parenthesised_sum():
    inner = [f"a_{{{k}}} b_{{{k}}} c_{{{k}}}" for k in range(8)]
    term = r"p \left(" + " + ".join(inner) + r"\right) q"
    rows = break_sum("y", [term], 200.0)
    assert len(rows) > 1 and align_width(rows) <= 200.0
    # Letters with subscripts need no taller parentheses: plain ( and ).
    assert rows[0].startswith("y &= p (a_{0}") and rows[-1].endswith(") q")
    assert all(r.startswith(r"&\qquad + ") for r in rows[1:])
    tall = r"p \left(" + " + ".join(f"{t} \\left(1 - x^{{2}}\\right)" for t in inner) + r"\right)"
    rows = break_sum("y", [tall], 200.0)
    assert r"\bigl(" in rows[0] and rows[-1].endswith(r"\bigr)")


def test_nested_sums_are_broken_level_by_level():
    # The peephole LSTM's dh_t/dh_{t-1} term: a sum inside a sum; at 250pt the
    # inner one needs rows of its own, indented one quad further.
    inner = r"i_t \left(1 - \tilde{c}_t^{2}\right) U_c + f_t \left(1 - f_t\right) c_{t-1} U_f"
    term = rf"o_t \tanh c_t \left(U_o + \left({inner} + i_t \tilde{{c}}_t U_i\right) p_o\right)"
    rows = break_lines([(r"\tanh c_t", [term], "2 gates")], 250.0)
    assert align_width(rows) <= 250.0
    assert rows[0].endswith(r"\bigl(U_o") and rows[1].startswith(r"&\qquad + \bigl(i_t")
    assert rows[-1].startswith(r"&\qquad \quad + ")
    assert rows[-1].endswith(r"\bigr) p_o\bigr) && \text{2 gates}")
    # (1 - f_t) is narrower than MIN_SPLIT_WIDTH: never split, even when too wide.
    assert all(r"(1 - f_t" not in row or r"1 - f_t\right)" in row for row in rows)


def test_break_lines_share_the_blocks_columns():
    lines = [("y", ["a"], "n"), ("a_{long} b_{long} c_{long}", ["b", "c"], None)]
    rows = break_lines(lines, ARTICLE_TEXTWIDTH)
    assert rows == [r"y &= a && \text{n}", "a_{long} b_{long} c_{long} &= b + c"]
    assert break_lines([(None, ["f_t"], "dominant")], 100.0) == [r"& f_t && \text{dominant}"]
    with pytest.raises(ValueError, match="no terms"):
        break_lines([("y", [], None)], 100.0)


def test_matrix_or_entries():
    rows = [["a", "b"], ["c", "d"]]
    assert matrix_or_entries("J", rows, 100.0) == [
        r"J &= \begin{pmatrix} a & b \\ c & d \end{pmatrix}"
    ]
    assert matrix_or_entries("J", rows, 20.0) == [
        "J_{11} &= a",
        "J_{12} &= b",
        "J_{21} &= c",
        "J_{22} &= d",
    ]
    names = [[r"\partial c/\partial c", "x"], ["y", "z"]]
    assert matrix_or_entries("J", rows, 20.0, names)[0] == r"\partial c/\partial c &= a"


def test_fit_rows_breaks_rows_given_as_strings():
    lhs, rhs = lstm_sum()
    rows = [f"{lhs} &{rhs} && \\text{{4 terms}}", "& f_t && \\text{dominant}"]
    fitted = fit_rows(rows, ARTICLE_TEXTWIDTH)
    assert align_width(rows) > ARTICLE_TEXTWIDTH >= align_width(fitted) and len(fitted) > 2
    assert fitted[-1] == "& f_t && \\text{dominant}" and unbroken(fitted[:-1]) == unbroken(rows[:1])
    assert fit_rows(["a &= b"], 100.0) == ["a &= b"]
    matrix = r"J &= \begin{pmatrix} a_1a_2a_3 & b \\ c & d \end{pmatrix}"
    assert fit_rows([matrix], 40.0) == [
        "J_{11} &= a_1a_2a_3",
        "J_{12} &= b",
        "J_{21} &= c",
        "J_{22} &= d",
    ]
    assert fit_rows([r"x &= \foo{y}"], 1.0) == [r"x &= \foo{y}"]  # unknown LaTeX: as it is
