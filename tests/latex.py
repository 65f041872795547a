"""pdflatex for the tests that compile symgrad's LaTeX output."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

needs_pdflatex = pytest.mark.skipif(
    shutil.which("pdflatex") is None, reason="pdflatex is not installed"
)


def compile_latex(directory: Path, name: str, text: str | None = None) -> Path:
    """Compile ``directory/name`` (written from ``text`` when given) and return the
    PDF's path; fails the test with the end of pdflatex's log if it does not compile."""
    if text is not None:
        (directory / name).write_text(text)
    done = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", name],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-2000:]
    return directory / Path(name).with_suffix(".pdf")


#: The preamble a reader pastes a fragment into: a default article, 10pt.
ARTICLE = "\\documentclass{article}\n\\usepackage{amsmath}\n\\usepackage{amssymb}\n"


def overfull(log: str) -> list[tuple[float, int]]:
    """(amount in pt, source line) of every Overfull \\hbox in a pdflatex log."""
    pattern = r"Overfull \\hbox \(([\d.]+)pt too wide\) (?:in \w+ |detected )at lines? (\d+)"
    return [(float(a), int(line)) for a, line in re.findall(pattern, log)]


# ASCII mathematics in prose: what a formula looks like when it was not
# written as one (h_{t-1}, x^2, <=, ->, sqrt(...), oo, Python's 1e+03 and 5e-03).
_ASCII_MATH = re.compile(r"[_^]|<\s?=|>\s?=|->|!=|\bsqrt\(|\boo\b|\de\+\d|\de-0\d")


def ascii_math(text: str, latex: bool) -> list[str]:
    """The lines of a LaTeX or Markdown document with ASCII mathematics outside
    math and code."""
    if latex:
        text = re.sub(r"\\begin\{(verbatim|align\*)\}.*?\\end\{\1\}", "", text, flags=re.S)
        text = re.sub(r"\\texttt\{(?:[^{}]|\{\})*\}", "", text)
        text = re.sub(r"\$([<>|])\$", r"\1", text)  # tex_text's escapes of ASCII < > |
        text = re.sub(r"(?m)^%.*$", "", text)  # comments are not typeset
    else:
        text = re.sub(r"```.*?```|\$\$.*?\$\$", "", text, flags=re.S)
        text = re.sub(r"`[^`\n]*`", "", text)
    text = re.sub(r"\$[^$\n]*\$", "", text)
    return [line for line in text.splitlines() if _ASCII_MATH.search(line)]
