"""`symgrad flow`, `symgrad compare` and the plot: output against the Python API."""

import json
import re
import struct
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest
import sympy

from symgrad.arguments import build_parser
from symgrad.cells import BUILTIN
from symgrad.defaults import INITS
from symgrad.derivation import derive
from symgrad.flow import LEVELS, compare_cells, run_flow
from symgrad.text import plain
from tests.tolerances import FLOAT64_DERIVATIVE_REL


def test_flow_json_is_what_the_api_computes(run):
    code, text, _ = run(
        "flow", "lstm", "rnn", "--steps", "40", "--samples", "20", "--seed", "3", "--format", "json"
    )
    assert code == 0
    data = json.loads(text)
    assert [c["cell"] for c in data["cells"]] == ["lstm", "rnn"]
    assert data["settings"]["seed"] == 3
    for entry in data["cells"]:
        r = run_flow(entry["cell"], steps=40, samples=20, seed=3)
        assert entry["lyapunov"] == r.lyapunov
        assert entry["lyapunov_ci"] == list(r.lyapunov_ci)
        assert entry["vanish_step"] == r.vanish_step
        assert entry["quantiles"]["levels"] == list(LEVELS)
        rows = entry["quantiles"]["rows"]
        assert [row["t"] for row in rows] == list(r.checkpoints)
        assert [row["values"] for row in rows] == [list(q) for q in r.quantiles]
        assert entry["settings"]["steps"] == 40 and entry["settings"]["samples"] == 20
        assert entry["settings"]["seed"] == 3
    assert "article" in data["cells"][0] and "article" not in data["cells"][1]


def test_flow_text_names_seed_distribution_and_every_cell(run):
    code, text, _ = run("flow", "gru", "lstm", "--steps", "30", "--samples", "10", "--seed", "8")
    assert code == 0
    assert "seed 8" in text
    assert plain(INITS["normal"]) in text and "the state starts at 0" in text
    r = run_flow("gru", steps=30, samples=10, seed=8)
    assert f"{r.lyapunov:.4f} per step" in text
    summary = text.split("summary")[-1]
    assert re.search(r"^\s+gru\s", summary, re.M) and re.search(r"^\s+lstm\s", summary, re.M)
    assert "the article's product of one-step dc/dc_prev" in text


def test_flow_markdown_tables_and_all(run):
    code, text, _ = run("flow", "all", "--steps", "10", "--samples", "5", "--format", "markdown")
    assert code == 0
    for name in BUILTIN:
        assert f"## {name} (state" in text
    assert "| t | 10% | 25% | median | 75% | 90% |" in text


def test_flow_dim_reports_the_classical_condition(run):
    code, text, _ = run(
        "flow", "rnn", "--dim", "3", "--steps", "30", "--samples", "8", "--format", "json"
    )
    assert code == 0
    cell = json.loads(text)["cells"][0]
    assert cell["settings"]["dim"] == 3
    assert cell["classical"]["matrix"] == "U"
    assert cell["classical"]["bound_holds_fraction"] == 1.0
    assert "N(0, 1/3)" in cell["settings"]["distribution"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["flow", "lstmm"], "unknown cell 'lstmm'. Valid cells: rnn, rnn-relu, lstm"),
        (["flow", "rnn", "--steps", "0"], "--steps: 0 is below the minimum 1"),
        (["flow", "rnn", "--samples", "x"], "--samples: 'x' is not an integer"),
        (["flow", "rnn", "--init", "he"], "invalid choice: 'he'"),
        (["flow", "rnn", "--forget-bias", "nan"], "'nan' is not a finite number"),
        (["flow", "gru", "--forget-bias", "1"], "which none of gru has (cells with b_f: lstm)"),
        (["flow", "rnn", "--plot", "out.pdf"], "must end in .png or .svg"),
        (["flow", "rnn", "--plot", "no/such/dir/out.png"], "does not exist"),
        (["compare", "--format", "pdf"], "invalid choice: 'pdf'"),
    ],
)
def test_usage_errors_are_one_line(run, argv, message):
    code, out, err = run(*argv)
    assert code == 2 and out == ""
    assert message in err
    assert err.count("\n") == 1


def test_plot_without_matplotlib_is_a_one_line_error(run, monkeypatch, tmp_path):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "matplotlib" else real(name)
    )
    code, _, err = run("flow", "rnn", "--steps", "5", "--plot", str(tmp_path / "f.png"))
    assert code == 2
    assert err == (
        "symgrad flow --plot needs matplotlib, which is not installed: "
        "pip install 'symgrad[plot]'\n"
    )


def test_plot_function_without_matplotlib(monkeypatch, tmp_path):
    from symgrad.plot import PlotError, plot_flow

    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(PlotError, match=r"pip install 'symgrad\[plot\]'"):
        plot_flow([run_flow("rnn", steps=5, samples=5)], tmp_path / "f.png")


def test_progress_only_on_a_terminal(run):
    assert run("flow", "rnn", "--steps", "20", "--samples", "5").err == ""
    err = run("flow", "rnn", "--steps", "20", "--samples", "5", tty=True).err
    assert "\rsymgrad flow: rnn 20/20 steps" in err
    assert err.endswith("\r")


def test_compare_json_against_derive_and_flow(run):
    code, text, _ = run("compare", "--steps", "30", "--samples", "50", "--format", "json")
    assert code == 0
    data = json.loads(text)
    assert [c["cell"] for c in data["cells"]] == list(BUILTIN)
    for entry in data["cells"]:
        d = derive(entry["cell"])
        assert entry["dominant"]["gate_count"] == d.dominant.gate_count
        assert entry["minor_gate_counts"] == [t.gate_count for t in d.terms if not t.dominant]
        r = run_flow(entry["cell"], steps=30, samples=50)
        assert entry["lyapunov"] == (r.lyapunov if r.lyapunov > -1e300 else "-inf")
        spread = entry["one_step"]
        assert spread["q10"] <= spread["median"] <= spread["q90"]
    lstm = data["cells"][BUILTIN.index("lstm")]
    assert lstm["dominant"]["text"] == "f_t" and lstm["minor_gate_counts"] == [4, 4, 4]


def test_compare_text_is_one_table(run):
    rows = compare_cells(steps=20, samples=30)
    code, text, _ = run("compare", "--steps", "20", "--samples", "30")
    assert code == 0
    for row in rows:
        line = next(ln for ln in text.splitlines() if ln.startswith(row.cell + " "))
        assert row.dominant["text"] in line
        assert f"{row.one_step['sd']:.3f}" in line


def test_init_choices_are_the_sampling_ones():
    parser = build_parser()
    flow = parser._subparsers._group_actions[0].choices["flow"]
    (init,) = [a for a in flow._actions if a.dest == "init"]
    assert tuple(INITS) == tuple(init.choices)


# ---------------------------------------------------------------- the plot


def _png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def _colour_pixels(path, colour):
    from matplotlib.colors import to_rgb
    from matplotlib.image import imread

    image = imread(path)[:, :, :3]
    target = to_rgb(colour)
    close = abs(image - target).max(axis=2) < 0.02
    return int(close.sum())


def test_plot_png_has_one_line_per_cell(run, tmp_path, matplotlib):
    path = tmp_path / "flow.png"
    code, _, _ = run(
        "flow", "lstm", "gru", "rnn", "--steps", "200", "--samples", "20", "--plot", str(path)
    )
    assert code == 0
    assert _png_size(path) == (800, 500)
    for k in range(3):
        assert _colour_pixels(path, f"C{k}") > 100, k
    # The checker itself: a colour no cell was drawn in is (nearly) absent.
    assert _colour_pixels(path, "C5") < 20


def test_plot_svg_has_one_median_line_per_cell(tmp_path, matplotlib):
    from symgrad.plot import plot_flow

    path = tmp_path / "flow.svg"
    cells = ["lstm", "rnn-relu"]
    assert plot_flow([run_flow(c, steps=100, samples=20) for c in cells], path) == cells
    root = ElementTree.parse(path).getroot()
    ids = [e.get("id") for e in root.iter() if (e.get("id") or "").startswith("median-")]
    assert ids == [f"median-{c}" for c in cells]
    text = path.read_text()
    assert "step t" in text and "lstm" in text  # labelled axis, legend


# ---------------------------------------------------------------- start-up


def test_cli_start_up_imports_no_numpy():
    code = (
        "import sys, symgrad.cli as c; c.build_parser(); "
        "print(sorted(m for m in ('numpy', 'scipy', 'matplotlib', 'torch') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_flow_takes_cell_files(run):
    examples = Path(__file__).resolve().parent.parent / "examples"
    peephole = str(examples / "peephole-lstm.toml")
    code, text, _ = run(
        "flow",
        "lstm",
        "--cell-file",
        peephole,
        "--steps",
        "30",
        "--samples",
        "10",
        "--format",
        "json",
    )
    assert code == 0
    assert [c["cell"] for c in json.loads(text)["cells"]] == ["lstm", "peephole-lstm"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["flow"], "give one or more cells"),
        (["flow", "--cell-file", "no-such-file.toml"], "no-such-file.toml"),
    ],
)
def test_flow_cell_file_errors(run, argv, message):
    code, _, err = run(*argv)
    assert code == 2 and message in err and err.count("\n") == 1


# ---------------------------------------------------------------- cells that once crashed

ODD_CELLS = {
    "activation inside": ('["x"]', '["U"]', "0.5*h_prev + tanh(U*h_prev + x)"),
    "input outside": ('["x"]', '["U"]', "tanh(U*h_prev) + x"),
    "gate times state": ('["x"]', '["U"]', "sigmoid(U*h_prev + x)*h_prev"),
    "no input": ("[]", '["U"]', "tanh(U*h_prev)"),
    "a parameter called expit": ('["x"]', '["expit"]', "sigmoid(expit*h_prev + x)"),
    "zero gradient then overflow": ('["x"]', '["U"]', "h_prev**2 + 2 + x"),
    "overflow": ('["x"]', '["U"]', "h_prev**2 + 2 + x + U*h_prev"),
}


@pytest.mark.parametrize("case", ODD_CELLS, ids=list(ODD_CELLS))
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_odd_cell_files_flow_without_nan(run, case, fmt, tmp_path):
    inputs, params, equation = ODD_CELLS[case]
    path = tmp_path / "cell.toml"
    path.write_text(
        f'name = "odd"\ninputs = {inputs}\nparameters = {params}\nstate = ["h"]\n'
        f'[equations]\nh = "{equation}"\n'
    )
    argv = ["flow", "--cell-file", str(path), "--steps", "40", "--samples", "8", "--format", fmt]
    code, out, _ = run(*argv)
    assert code == 0
    assert "nan" not in out.lower()
    if case == "zero gradient then overflow":
        # dh/dh_prev = 2 h_prev is exactly 0 at h_0 = 0: the gradient is 0 from
        # step 1 on, whatever the overflowing state does afterwards.
        assert ("exactly 0 100.0%" in out) if fmt == "text" else '"zero_fraction": 1.0' in out


WITH_INPUT = ["activation inside", "input outside", "gate times state", "a parameter called expit"]


@pytest.mark.parametrize("case", WITH_INPUT)
def test_odd_cells_one_step_jacobian_is_the_engines(case):
    # One step of the flow engine from h_0 against the engine's symbolic
    # dh/dh_prev evaluated at the same point (mpmath, 30 digits).
    import numpy as np

    from symgrad.cellfile import loads_cell
    from symgrad.derivation import derive
    from symgrad.trajectory import state_jacobian_product

    inputs, params, equation = ODD_CELLS[case]
    cell = loads_cell(
        f'name = "odd"\ninputs = {inputs}\nparameters = {params}\nstate = ["h"]\n'
        f'[equations]\nh = "{equation}"\n'
    )
    point = {p: 0.7 for p in cell.params} | {x: -0.3 for x in cell.inputs}
    log_scale, direction = state_jacobian_product(
        cell,
        {p: np.array([v]) for p, v in point.items() if p in cell.params},
        {x: np.array([[v]]) for x, v in point.items() if x in cell.inputs},
        initial={"h": np.array([0.4])},
    )
    d = derive(cell)
    total, _ = d.evaluate({n: sympy.Rational(str(point.get(n, 0.4))) for n in d.free_names})
    assert float(np.exp(log_scale[0]) * direction[0, 0, 0]) == pytest.approx(
        float(total), rel=FLOAT64_DERIVATIVE_REL
    )
