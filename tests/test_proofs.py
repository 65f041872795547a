"""proofs/ is what `symgrad prove` writes today, and its LaTeX compiles."""

import dataclasses
import os
import re
import shlex
import shutil
from pathlib import Path
from types import MappingProxyType

import pytest

from symgrad.claims import CLAIMS
from symgrad.report.claims import COMBINED, write_proofs
from symgrad.text import plain, tex_inline
from tests.cli_runner import run_console
from tests.latex import ascii_math, compile_latex, needs_pdflatex, overfull
from tests.tolerances import OVERFULL_PT

ROOT = Path(__file__).parent.parent
PROOFS = ROOT / "proofs"


def test_proofs_are_up_to_date(catalog, tmp_path):
    results, ctx = catalog
    write_proofs(results, ctx, tmp_path)
    fresh = {p.name: p.read_text() for p in tmp_path.iterdir()}
    committed = {p.name: p.read_text() for p in PROOFS.iterdir()}
    assert sorted(committed) == sorted(fresh), "files added or removed: run `symgrad prove`"
    stale = [name for name in fresh if fresh[name] != committed[name]]
    assert not stale, f"proofs/ is out of date ({', '.join(stale)}): run `symgrad prove`"


def _simd_dispatched() -> list[str]:
    """NumPy's SIMD dispatch targets this CPU has: those the exp/tanh loops may use."""
    try:
        from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    except ImportError:  # NumPy 1.x
        from numpy.core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    return [f for f in __cpu_dispatch__ if __cpu_features__.get(f)]


def test_proofs_do_not_depend_on_the_cpus_simd(tmp_path):
    # Another CPU rounds exp and tanh differently in the last bit (NumPy picks
    # SIMD loops by CPU): regenerated with every dispatched loop disabled, so
    # with the baseline loops an older CPU would run, proofs/ must not change.
    features = _simd_dispatched()
    if not features:
        pytest.skip("NumPy dispatches no SIMD loop beyond its baseline on this CPU")
    env = {**os.environ, "NPY_DISABLE_CPU_FEATURES": " ".join(features)}
    run_console("prove", "--out", str(tmp_path), env=env)
    fresh = {p.name: p.read_text() for p in tmp_path.iterdir()}
    changed = [p.name for p in PROOFS.iterdir() if fresh.get(p.name) != p.read_text()]
    assert not changed, f"with {features} disabled, these differ: {changed}"


def test_one_document_per_claim_with_statement_math_and_command():
    for c in CLAIMS:
        text = (PROOFS / f"{c.id}.md").read_text()
        assert c.statement in text
        assert "## Evidence" in text and f"symgrad verify {c.id}" in text
        if "S" in c.kinds:
            assert "$$\n\\begin{aligned}" in text, c.id


def test_documents_carry_no_timings():
    for path in PROOFS.iterdir():
        assert not re.search(r"\d\.\d\d ?s\b", path.read_text()), path.name


def test_the_reproduce_commands_run(run):
    # Each document's commands exist and parse; the verify line is run for a
    # cheap claim (the whole catalog runs in test_proofs_are_up_to_date).
    text = (PROOFS / "gru-fewer-gates.md").read_text()
    block = text.split("```sh\n")[1].split("```")[0]
    for line in block.splitlines():
        argv = shlex.split(line)[1:]
        assert run(*argv).code == 0, line


@needs_pdflatex
def test_the_combined_latex_compiles_and_fits_its_page(tmp_path):
    source = PROOFS / COMBINED
    shutil.copy(source, tmp_path / COMBINED)
    assert compile_latex(tmp_path, COMBINED).stat().st_size > 10_000
    log = (tmp_path / "claims.log").read_text()
    assert "Missing character" not in log
    assert [box for box in overfull(log) if box[0] > OVERFULL_PT] == []


def test_the_ascii_math_checker_sees_it():
    assert ascii_math("holds: h_prev <= 1", latex=False)
    assert ascii_math("at $|U| \\le 1$ and `h_prev`, 0.5 of $10^{8}$", latex=False) == []
    assert ascii_math("r\\_\\{t-1\\} $\\sim$ U(0,1)", latex=True)
    assert ascii_math("sup $>$= L", latex=True) and ascii_math("= -3.78e+03", latex=True)
    assert ascii_math("$r_{t-1} \\sim U(0, 1)$ in \\texttt{h\\_prev}", latex=True) == []


@pytest.mark.parametrize("name", sorted(p.name for p in PROOFS.iterdir()))
def test_proofs_write_mathematics_as_mathematics(name):
    # Every formula of symgrad's own prose and of the article's quotes is math
    # ($...$), every name to type is code: no ASCII math in LaTeX or Markdown.
    lines = ascii_math((PROOFS / name).read_text(), latex=name.endswith(".tex"))
    assert lines == [], "\n".join(lines[:5])


def test_latex_source_is_ascii():
    # pdflatex without extra packages has no glyphs for Greek or math Unicode.
    text = (PROOFS / COMBINED).read_text()
    assert text.isascii()
    assert "[U+" not in text, "a Unicode character had no LaTeX spelling"


def test_text_conversions():
    assert plain("$\\partial c_t/\\partial c_{t-1} \\le 0.45$") == "∂c_t/∂c_{t-1} ≤ 0.45"
    assert plain("$\\frac{\\tanh{\\left(x \\right)} + 1}{2}$") == "(tanh(x) + 1)/2"
    assert tex_inline("50% of `h_prev` < 1, $h_{t-1}$") == (
        "50\\% of \\texttt{h\\_prev} $<$ 1, $h_{t-1}$"
    )
    assert tex_inline("λ ≤ 1") == "$\\lambda$ $\\le$ 1"
    assert plain("$|x| \\le \\rho < 1 \\Rightarrow$ vanishing") == "|x| ≤ \u03c1 < 1 ⇒ vanishing"
    assert plain("$o_{t-1} \\sim U(0, 1)$, $\\simeq$") == "o_{t-1} ~ U(0, 1), \\simeq"
    assert plain("$S(0) = c^* - 1/(4c^{*})$") == "S(0) = c* - 1/(4c*)"


def test_prove_command_writes_and_reports(run, monkeypatch, tmp_path):
    from symgrad import claims

    cheap = tuple(c for c in claims.CLAIMS if c.id in ("gru-fewer-gates", "clipping"))
    monkeypatch.setattr(claims, "CLAIMS", cheap)
    code, out, _ = run("prove", "--out", str(tmp_path / "p"))
    assert code == 0
    assert "wrote 4 files" in out
    names = sorted(p.name for p in (tmp_path / "p").iterdir())
    assert names == ["README.md", "claims.tex", "clipping.md", "gru-fewer-gates.md"]
    assert "2 claims: 1 PASS, 1 QUALIFIED, 0 REFUTED, 0 FAIL" in out
    # A refuted claim is written with its counterexample: a result, exit 0.
    wrong = dataclasses.replace(cheap[1], given=MappingProxyType({**cheap[1].given, "fewer": 3}))
    monkeypatch.setattr(claims, "CLAIMS", (cheap[0], wrong))
    code, out, _ = run("prove", "--out", str(tmp_path / "q"))
    assert code == 0
    assert "1 REFUTED" in out
    document = (tmp_path / "q" / "gru-fewer-gates.md").read_text()
    assert "**Verdict: REFUTED.**" in document and "- counterexample: the engine's" in document
    # A claim without a verdict is written as such, and the command exits 1.
    broken = dataclasses.replace(cheap[1], given=MappingProxyType({**cheap[1].given, "match": 0}))
    monkeypatch.setattr(claims, "CLAIMS", (cheap[0], broken))
    code, out, _ = run("prove", "--out", str(tmp_path / "r"))
    assert code == 1
    assert "no verdict for: gru-fewer-gates" in out
    assert "**Verdict: FAIL.**" in (tmp_path / "r" / "gru-fewer-gates.md").read_text()
    # An unwritable directory is a usage error.
    (tmp_path / "file").write_text("")
    code, _, err = run("prove", "--out", str(tmp_path / "file" / "x"))
    assert code == 2
    assert err.count("\n") == 1


def test_readme_shows_the_prove_command_the_test_above_checks():
    readme = (ROOT / "README.md").read_text()
    assert "symgrad prove --out proofs" in readme and "symgrad verify " in readme
