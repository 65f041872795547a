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
