"""Pictures: a bound's supremum, and the flow plot's exactly-zero samples.

SVG files must be the same bytes every time (the verdicts' figures in
proofs/ are committed), and say what they show: the function, the certified
band, the claimed bound, the maximiser.
"""

import sys
from xml.etree import ElementTree

import pytest

from symgrad.bounds import compute_bound
from symgrad.flow import run_flow
from symgrad.plot import PlotError, plot_bound, plot_flow

needs_matplotlib = pytest.mark.usefixtures("matplotlib")


@needs_matplotlib
def test_plot_bound_is_reproducible_byte_for_byte(tmp_path):
    result = compute_bound("lstm-saturation")
    first, second = tmp_path / "a.svg", tmp_path / "b.svg"
    assert plot_bound(result, first) == ["c_prev"]
    plot_bound(compute_bound("lstm-saturation"), second)
    assert first.read_bytes() == second.read_bytes()
    text = first.read_text()
    assert "Date" not in text and "certified sup in [0.4477432046, 0.4477432049]" in text
    assert "claimed: sup &lt; 0.45" in text


@needs_matplotlib
def test_plot_bound_draws_each_variable_and_a_formula_bound(tmp_path):
    path = tmp_path / "forget.svg"
    assert plot_bound(compute_bound("lstm-forget-term"), path) == ["c_prev", "f", "o_prev"]
    path = tmp_path / "rnn.png"
    plot_bound(compute_bound("rnn-tanh", a=1), path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@needs_matplotlib
def test_bound_plot_on_the_command_line(run, tmp_path):
    path = tmp_path / "s.svg"
    code, out, _ = run("bound", "lstm-saturation", "--plot", str(path))
    assert code == 0
    assert "certified" in out and ElementTree.parse(path).getroot() is not None


def test_plot_bound_without_matplotlib(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(PlotError, match=r"pip install 'symgrad\[plot\]'"):
        plot_bound(compute_bound("tanh-slope"), tmp_path / "x.svg")


@needs_matplotlib
def test_flow_plot_marks_samples_that_are_exactly_zero(tmp_path):
    # rnn-relu's median gradient is exactly 0 (a unit gone silent): log -inf,
    # drawn at the bottom of the plot and marked, where it was not drawn at all.
    results = [run_flow(c, steps=60, samples=16) for c in ("rnn-relu", "lstm")]
    assert results[0].curve["median"][-1] == float("-inf")
    path = tmp_path / "flow.svg"
    plot_flow(results, path)
    root = ElementTree.parse(path).getroot()
    ids = {e.get("id") for e in root.iter()}
    assert {"median-rnn-relu", "zero-rnn-relu", "median-lstm"} <= ids and "zero-lstm" not in ids
    assert "median exactly 0 from step" in path.read_text()
    again = tmp_path / "again.svg"
    plot_flow(results, again)
    assert again.read_bytes() == path.read_bytes()


@needs_matplotlib
def test_plot_bound_draws_a_range_with_both_ends(tmp_path):
    path = tmp_path / "reset.svg"
    assert plot_bound(compute_bound("gru-reset-factor"), path) == ["v"]
    text = path.read_text()
    assert "certified sup in [1.0998393201, 1.0998393205]" in text
    assert "certified inf in [-0.0998393205, -0.0998393201]" in text
    assert "claimed: sup &gt; 1 (proved)" in text and "claimed: inf &lt; 0 (proved)" in text
