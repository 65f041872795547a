"""The command line: every command and format, exit codes, one-line errors."""

import json
import re
import subprocess
import sys

import pytest
import sympy

import symgrad
from symgrad.arguments import parse_point
from symgrad.cells import BUILTIN
from tests.cli_runner import run_console
from tests.latex import compile_latex, needs_pdflatex

# An exponential in printed math: exp(...), \exp, e^{...}. ("expand" is prose.)
EXPONENTIAL = re.compile(r"\bexp\s*[({\\]|\\exp\b|e\^\{")


# ---------------------------------------------------------------- every command, every format


@pytest.mark.parametrize("fmt", ["text", "markdown", "latex", "json"])
def test_list(run, fmt):
    code, out, _ = run("list", "--format", fmt)
    assert code == 0
    for name in BUILTIN:
        assert name in out
    if fmt == "json":
        assert [c["name"] for c in json.loads(out)["cells"]] == list(BUILTIN)


@pytest.mark.parametrize("name", BUILTIN)
@pytest.mark.parametrize("fmt", ["latex", "text", "markdown"])
def test_show(run, name, fmt):
    code, out, _ = run("show", name, "--format", fmt)
    assert code == 0
    cell = symgrad.get_cell(name)
    marker = {"latex": "\\begin{align*}", "markdown": "$$", "text": "="}[fmt]
    assert marker in out and len(cell.equations) <= out.count("=")


def test_show_json_is_the_cell(run):
    code, out, _ = run("show", "lstm", "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["state"] == ["c", "h"]
    assert [e["name"] for e in data["equations"]] == ["f", "i", "o", "c_hat", "c", "h"]
    assert data["default"] == {"target": "c", "source": "c_prev"}


@pytest.mark.parametrize("name", BUILTIN)
def test_derive_json_carries_the_terms(run, name):
    code, out, _ = run("derive", name, "--format", "json")
    data = json.loads(out)
    d = symgrad.derive(name)
    assert code == 0
    assert [t["name"] for t in data["terms"]] == [t.name for t in d.terms]
    assert [t["gate_count"] for t in data["terms"]] == [t.gate_count for t in d.terms]
    assert [t["dominant"] for t in data["terms"]] == [t.dominant for t in d.terms]
    assert data["check"]["passed"] is True and data["check"]["method"] == d.check.method
    assert not EXPONENTIAL.search(out)


@pytest.mark.parametrize("fmt", ["latex", "text", "markdown"])
def test_derive_prints_the_steps(run, fmt):
    code, out, _ = run("derive", "lstm", "--format", fmt)
    assert code == 0
    for heading in ["Cell", "Convention", "Chain rule", "Partials", "Terms", "Sum", "Check"]:
        assert heading in out
    assert "dominant" in out and "4 gates" in out and not EXPONENTIAL.search(out)
    assert EXPONENTIAL.search("1/(1 + exp(-u))") and EXPONENTIAL.search(r"e^{-u}")


def test_derive_latex_is_the_articles_forget_term(run):
    code, out, _ = run("derive", "lstm")
    assert code == 0
    assert r"f_t \left(1 - f_t\right) o_{t-1} \left(1 - \tanh^{2} c_{t-1}\right) c_{t-1} U_f" in out


def test_derive_state_jacobian(run):
    code, out, _ = run("derive", "lstm", "--wrt", "state", "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["state"] == ["c", "h"]
    assert [[e["source"] for e in row] for row in data["entries"]] == [["c_prev", "h_prev"]] * 2
    assert data["entries"][0][0]["terms"][0]["latex"] == "f_t"


def test_derive_at_equals_evaluate(run):
    at = "x=1,W=1/2,U=2,b=0,h_prev=0.3"
    code, out, _ = run("derive", "rnn", "--at", at, "--format", "json")
    data = json.loads(out)
    expected, _ = symgrad.derive("rnn").evaluate(parse_point([at]))
    assert code == 0 and data["total_value"] == float(expected)
    assert data["terms"][0]["value"] == float(expected)
    assert data["point"]["W"] == 0.5


def test_at_values_are_exact_rationals():
    assert parse_point(["a=0.1, b=-3/4", "c=1e-3"]) == {
        "a": sympy.Rational(1, 10),
        "b": sympy.Rational(-3, 4),
        "c": sympy.Rational(1, 1000),
    }


# ---------------------------------------------------------------- user errors: exit 2, one line


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["derive", "lstmm"], "unknown cell 'lstmm'. Valid cells: rnn, rnn-relu, lstm"),
        (["show", "gruu"], "Valid cells:"),
        (["derive", "lstm", "--format", "pdf"], "invalid choice: 'pdf'"),
        (["derive", "lstm", "--wrt", "x"], "Valid choices: c_prev, h_prev, state"),
        (["derive", "lstm", "--of", "q"], "Valid targets:"),
        (["derive", "rnn", "--at", "x=1,W=0.5"], "missing values for U, b, h_prev"),
        (["derive", "rnn", "--at", "x=1,W=1,U=1,b=1,h_prev=1,q=2"], "unknown names q"),
        (["derive", "rnn", "--at", "x=__import__('os')"], "is not a number"),
        (["derive", "rnn", "--at", "x=inf"], "is not a number"),
        (["derive", "rnn", "--at", "x=nan"], "is not a number"),
        (["derive", "rnn", "--at", "x"], "expects NAME=VALUE"),
        (["derive", "rnn", "--at", "x=1,x=2"], "gives x twice"),
        (["derive", "rnn", "--at", "x=1/0"], "is not a number"),
        (["derive", "rnn", "--standalone", "--format", "text"], "--standalone needs"),
        (["derive", "lstm", "--wrt", "state", "--at", "x=1"], "missing values for U_c"),
        (["derive", "rnn", "--at", "x=1,W=1,U=1,b=1,h_prev=1,U_o=2"], "unknown names U_o"),
        (["show", "rnn", "--standalone", "--format", "markdown"], "--standalone needs"),
        (["bound", "lstm-saturation", "--plot", "out.pdf"], "must end in .png or .svg"),
        (["bound", "lstm-saturation", "--plot", "no/such/dir/b.svg"], "does not exist"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["derive"], "required: CELL"),
    ],
)
def test_user_errors_are_one_line_with_exit_2(run, argv, message):
    code, _out, err = run(*argv)
    assert code == 2
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_no_command_prints_help_and_exits_2(run):
    code, out, _ = run()
    assert code == 2 and "derive" in out


def test_console_script_and_module_run_without_traceback():
    result = run_console("derive", "nope")
    assert result.code == 2
    assert result.err.strip().startswith("symgrad derive: unknown cell 'nope'")
    result = run_console("--version")
    assert result.code == 0 and result.out.startswith("symgrad ")


def test_derive_does_not_import_numeric_libraries():
    # The start-up bar: derive pays for SymPy and nothing heavier.
    code = (
        "import sys, io; from symgrad.cli import main; main(['derive', 'lstm'], out=io.StringIO());"
        "heavy = [m for m in ('numpy', 'scipy', 'matplotlib', 'torch') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == ""


def test_symbolic_core_works_without_numpy():
    code = (
        "import sys; sys.modules['numpy'] = None;"
        "import symgrad; d = symgrad.derive('gru'); assert d.check.passed;"
        "j = symgrad.derive('lstm', 'state'); assert j.check.passed; print(d.latex()[:1])"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# ---------------------------------------------------------------- LaTeX that compiles


@needs_pdflatex
@pytest.mark.parametrize("argv", [["derive", "lstm"], ["derive", "gru-torch", "--wrt", "state"]])
def test_standalone_latex_compiles(run, tmp_path, argv):
    code, out, _ = run(*argv, "--standalone")
    assert code == 0 and out.startswith("\\documentclass")
    assert compile_latex(tmp_path, "doc.tex", out).stat().st_size > 1000


def test_markdown_reports_convert_to_latex():
    from symgrad.text import markdown_to_latex

    tex = markdown_to_latex(
        "# Title\n\n- a_b ~ 50% **bold** $f_t$ \u03c3\n\n"
        "| t | P(\\|D\\| > 1) |\n|---|---|\n| 1 | 2% |\n"
    )
    assert "\\section*{Title}" in tex
    assert "\\item a\\_b \\~{} 50\\% \\textbf{bold} $f_t$ $\\sigma$" in tex
    assert "t & P($|$D$|$ $>$ 1) \\\\" in tex and "1 & 2\\% \\\\" in tex


@needs_pdflatex
@pytest.mark.parametrize(
    "argv",
    [
        ["flow", "lstm", "gru-torch", "--steps", "30", "--samples", "20"],
        ["compare", "--steps", "30", "--samples", "20"],
    ],
)
def test_run_reports_in_latex_compile(run, tmp_path, argv):
    from symgrad.render import latex_document

    code, out, _ = run(*argv, "--format", "latex")
    assert code == 0 and "\\begin{tabular}" in out
    compile_latex(tmp_path, "doc.tex", latex_document(out))


# ---------------------------------------------------------------- evaluation outside a domain

DOMAIN_CELL = """\
name = "domains"
inputs = ["x"]
parameters = ["U"]
state = ["h"]
[equations]
h = "log(1 + U*h_prev**2) + tanh(abs(U*h_prev) + 1/x) + sqrt(1 + U*x)"
"""


@pytest.mark.parametrize(
    ("at", "message"),
    [
        ("x=0.25,U=-2,h_prev=1", r"log of -1\.0 is not a real number"),
        ("x=1,U=1,h_prev=0", r"abs is not differentiable at 0"),
        ("x=0,U=1,h_prev=1", r"division by zero"),
        ("x=1,U=-3,h_prev=0.1", r"-2\.0 to the power 1/2 is not a real number"),
    ],
)
def test_at_outside_a_domain_is_one_line_naming_it(run, at, message, tmp_path):
    path = tmp_path / "domains.toml"
    path.write_text(DOMAIN_CELL)
    code, out, err = run("derive", "--cell-file", str(path), "--at", at)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and re.search(message, err), err


def test_a_cell_with_domains_still_checks_itself(tmp_path):
    from symgrad.cellfile import loads_cell
    from symgrad.derivation import derive

    assert derive(loads_cell(DOMAIN_CELL)).check.passed


def test_bound_plot_without_matplotlib_is_a_one_line_error(run, monkeypatch, tmp_path):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "matplotlib" else real(name)
    )
    code, _out, err = run("bound", "tanh-slope", "--plot", str(tmp_path / "b.svg"))
    assert code == 2 and not (tmp_path / "b.svg").exists()
    assert err == (
        "symgrad bound --plot needs matplotlib, which is not installed: "
        "pip install 'symgrad[plot]'\n"
    )


@needs_pdflatex
def test_standalone_show_compiles(run, tmp_path):
    code, out, _ = run("show", "gru-torch", "--standalone")
    assert code == 0 and "\\title{Cell \\texttt{gru-torch}}" in out
    compile_latex(tmp_path, "show.tex", out)
