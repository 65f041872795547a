r"""Every LaTeX output compiles in a default article and fits its page.

The issue's test, as a user would run it: each LaTeX output of ``show``,
``bound`` and ``derive`` (every built-in cell, its state Jacobian and two-step derivative,
rnn's dh_t/dU, the example cell files, a point given with ``--at``) pasted
into a default ``\documentclass{article}`` with amsmath and amssymb, and
each ``--standalone`` document as it is, compiled by pdflatex: no error, no
overfull box wider than 1pt (read from the log), and no ``\_`` outside
``\texttt``. Without pdflatex the compiling tests skip; the Markdown and
notebook outputs are measured with symgrad.texwidth, which matches TeX
within 0.01pt (tests/test_texwidth.py).
"""

import functools
import json
import re
from pathlib import Path

import pytest

import symgrad
from symgrad.bounds import BOUNDS
from symgrad.cells import BUILTIN
from symgrad.texwidth import ARTICLE_TEXTWIDTH, align_width
from tests.cli_runner import cli_output
from tests.latex import ARTICLE, compile_latex, needs_pdflatex, overfull
from tests.tolerances import MEASURED_PT, OVERFULL_PT

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.toml"))
LSTM_AT = (
    "x=0.5,W_f=1,U_f=2,b_f=1,W_i=0.5,U_i=-1,b_i=0,W_c=1,U_c=1,b_c=0,W_o=0.5,U_o=1,b_o=0,"
    "c_prev=0.3,h_prev=1e-3,o_prev=1/2"
)


def commands() -> dict[str, list[str]]:
    """Every LaTeX output, by name: argv without --format and --standalone."""
    out = {}
    for cell in BUILTIN:
        out[f"show {cell}"] = ["show", cell]
        out[f"derive {cell}"] = ["derive", cell]
        out[f"derive {cell} --wrt state"] = ["derive", cell, "--wrt", "state"]
        out[f"derive {cell} --steps 2"] = ["derive", cell, "--steps", "2"]
    out["derive rnn --wrt U"] = ["derive", "rnn", "--wrt", "U"]
    out["derive lstm --wrt U_f"] = ["derive", "lstm", "--wrt", "U_f"]
    out["derive lstm --at"] = ["derive", "lstm", "--at", LSTM_AT]
    out["derive lstm --wrt state --at"] = ["derive", "lstm", "--wrt", "state", "--at", LSTM_AT]
    for path in EXAMPLES:
        out[f"derive {path.stem}"] = ["derive", "--cell-file", str(path)]
        out[f"derive {path.stem} --wrt state"] = [
            "derive",
            "--cell-file",
            str(path),
            "--wrt",
            "state",
        ]
        out[f"show {path.stem}"] = ["show", "--cell-file", str(path)]
    return out


COMMANDS = commands()


@functools.cache
def output(name: str, *extra: str) -> str:
    return cli_output(*COMMANDS[name], *extra)


def derive_json(cell: str) -> dict:
    return json.loads(cli_output("derive", cell, "--format", "json"))


def outside_texttt(latex: str) -> str:
    return re.sub(r"\\texttt\{(?:[^{}]|\{\})*\}", "", latex)


@pytest.mark.parametrize("name", COMMANDS)
def test_no_escaped_ascii_outside_typewriter(name):
    for extra in ((), ("--standalone",)):
        latex = output(name, *extra)
        assert "\\_" not in outside_texttt(latex), name
        assert "\\$" not in latex


def test_the_checker_sees_escaped_ascii():
    assert "\\_" in outside_texttt(r"z\_t keeps \texttt{h\_prev}")
    assert "\\_" not in outside_texttt(r"$z_t$ keeps \texttt{h\_prev}")


@needs_pdflatex
def test_fragments_compile_in_a_default_article(tmp_path):
    names = list(COMMANDS)
    body, starts = [], []
    line = ARTICLE.count("\n") + 2  # \begin{document} on the line after the preamble
    for name in names:
        starts.append(line)
        # Pasted one after another as a reader would: a blank line between, so
        # that the last paragraph of one does not run into the first of the next.
        fragment = output(name) + "\n"
        body.append(fragment)
        line += fragment.count("\n")
    text = ARTICLE + "\\begin{document}\n" + "".join(body) + "\\end{document}\n"
    compile_latex(tmp_path, "fragments.tex", text)
    boxes = overfull((tmp_path / "fragments.log").read_text())

    def source(at: int) -> str:
        return next(n for n, s in zip(names[::-1], starts[::-1], strict=True) if s <= at)

    wide = [(pt, source(at)) for pt, at in boxes if pt > OVERFULL_PT]
    assert not wide, wide


@needs_pdflatex
@pytest.mark.parametrize("name", [n for n in COMMANDS if "--cell-file" not in COMMANDS[n]])
def test_standalone_documents_compile_titled(tmp_path, name):
    latex = output(name, "--standalone")
    assert "\\title{" in latex and "\\maketitle" in latex
    compile_latex(tmp_path, "doc.tex", latex)
    boxes = overfull((tmp_path / "doc.log").read_text())
    assert [pt for pt, _ in boxes if pt > OVERFULL_PT] == []


@needs_pdflatex
def test_bound_reports_compile_in_a_default_article(tmp_path):
    # Each bound's LaTeX report and the catalog, pasted one after another.
    reports = [cli_output("bound", name, "--format", "latex") for name in BOUNDS]
    reports.append(cli_output("bound", "--format", "latex"))
    text = ARTICLE + "\\begin{document}\n" + "\n".join(reports) + "\\end{document}\n"
    compile_latex(tmp_path, "bounds.tex", text)
    boxes = overfull((tmp_path / "bounds.log").read_text())
    assert [pt for pt, _ in boxes if pt > OVERFULL_PT] == []


@needs_pdflatex
def test_the_log_reader_sees_an_overfull_box(tmp_path):
    # The checker itself: the LSTM's sum on one line overflows by the 209pt.
    data = derive_json("lstm")
    row = f"{data['derivative']} &= {data['total_latex']}"
    text = (
        ARTICLE
        + f"\\begin{{document}}\n\\begin{{align*}}\n{row}\n\\end{{align*}}\n\\end{{document}}\n"
    )
    compile_latex(tmp_path, "wide.tex", text)
    (box,) = overfull((tmp_path / "wide.log").read_text())
    assert box[0] == pytest.approx(align_width([row]) - ARTICLE_TEXTWIDTH, abs=MEASURED_PT)
    assert box[0] > OVERFULL_PT


# ---------------------------------------------------------------- Markdown and notebooks

DISPLAY = re.compile(r"\$\$\n\\begin\{aligned\}\n(.*?)\n\\end\{aligned\}\n\$\$", re.S)


def display_widths(text: str) -> list[float]:
    blocks = DISPLAY.findall(text)
    assert blocks, "no display math found"
    return [align_width([r.strip() for r in b.split(" \\\\\n")]) for b in blocks]


@pytest.mark.parametrize("name", [n for n in COMMANDS if n.startswith("derive")])
def test_markdown_displays_fit_a_default_article(name):
    widths = display_widths(output(name, "--format", "markdown"))
    assert max(widths) <= ARTICLE_TEXTWIDTH


@pytest.mark.parametrize("cell", BUILTIN)
def test_notebook_displays_fit_and_use_what_mathjax_knows(cell):
    for obj in (symgrad.derive(cell), symgrad.derive(cell, "state")):
        for text in (obj._repr_latex_(), obj._repr_markdown_()):
            assert max(display_widths(text)) <= ARTICLE_TEXTWIDTH
            assert "align*" not in text and "\\paragraph" not in text and "\\texttt" not in text
