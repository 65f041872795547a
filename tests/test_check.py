"""The finite-difference checker (symgrad.check, ``symgrad check``), and checks of the checker.

Every built-in cell passes; every kind of planted error fails, through the
library and through the command line; the finite-difference machinery itself
is tested on functions whose derivatives are known in closed form.
"""

import dataclasses
import json
import math
import re

import mpmath
import numpy as np
import pytest
import sympy

from symgrad import check as checker
from symgrad.cells import BUILTIN, make_cell
from symgrad.check import compare_at_points, compare_derivatives
from symgrad.derivation import clear_cache, derive
from symgrad.primitives import sigmoid, tanh
from symgrad.report.check import check_report
from tests.latex import compile_latex, needs_pdflatex
from tests.tolerances import (
    CHECK_TOLERANCE_MAX,
    COMPLEX_STEP_ERROR_MAX,
    COMPLEX_STEP_REL,
    COMPLEX_STEP_TOLERANCE_MAX,
    EXACT_ZERO_TOLERANCE_MAX,
    RICHARDSON_POLY_ABS,
    RICHARDSON_WEIGHTS_ABS,
)

#: Few points: every comparison is vectorised, the count only has to be above
#: one for the seed to matter.
SAMPLES = 48

#: A planted relative error of 0.1% (autograd's test_tests.py uses the same size).
PLANTED = sympy.Rational(1001, 1000)


def _plant(d, index, factor=PLANTED):
    """``d`` with its term ``index`` multiplied by ``factor``: a wrong derivation."""
    terms = list(d.terms)
    terms[index] = dataclasses.replace(terms[index], expr=terms[index].expr * factor)
    return dataclasses.replace(d, terms=tuple(terms))


# ---------------------------------------------------------------- every cell passes


@pytest.mark.parametrize("name", BUILTIN)
def test_every_builtin_cell_passes(name):
    report = compare_derivatives(name, wrt="all", samples=SAMPLES, seed=1)
    assert report.passed, check_report(report)
    d = derive(name)
    jacobian = derive(name, "state")
    # Every term of the default derivative and every Jacobian entry was compared.
    labels = {(c.derivative, c.quantity) for c in report.comparisons}
    assert {(checker.derivative_label(d), t.via) for t in d.terms} <= labels
    for row in jacobian.entries:
        for entry in row:
            assert (checker.derivative_label(entry), "total") in labels
    expected = "central-richardson" if name == "rnn-relu" else "complex-step"
    assert report.method == expected
    for c in report.comparisons:
        assert c.points > 0
        assert c.max_rel_error <= c.tolerance
        # A tolerance that could hide a 0.1% error would make the check worthless.
        assert c.tolerance < CHECK_TOLERANCE_MAX
    assert report.seed == 1 and report.samples == SAMPLES


def test_complex_step_tolerances_are_near_machine_precision():
    report = compare_derivatives("lstm", wrt="all", samples=SAMPLES)
    assert max(c.tolerance for c in report.comparisons) < COMPLEX_STEP_TOLERANCE_MAX
    assert report.max_rel_error < COMPLEX_STEP_ERROR_MAX
    assert "complex step" in report.tolerance_reason
    assert "2^{-53}" in report.tolerance_reason


def test_same_seed_same_report_and_other_seeds_differ():
    a = compare_derivatives("gru", samples=SAMPLES, seed=5)
    b = compare_derivatives("gru", samples=SAMPLES, seed=5)
    c = compare_derivatives("gru", samples=SAMPLES, seed=6)
    assert a.to_json() == b.to_json()
    assert a.comparisons[0].worst_point != c.comparisons[0].worst_point


def test_wrt_selects_the_derivatives():
    default = compare_derivatives("lstm", samples=8)
    assert {c.derivative for c in default.comparisons} == {"dc/dc_prev (one-step)"}
    assert default.conventions == {"dc/dc_prev (one-step)": {"h_prev": "o_prev*tanh(c_prev)"}}
    state = compare_derivatives("lstm", wrt="state", samples=8)
    assert {c.derivative for c in state.comparisons} == {
        "dc/dc_prev",
        "dc/dh_prev",
        "dh/dc_prev",
        "dh/dh_prev",
    }
    one = compare_derivatives("lstm", wrt="h_prev", samples=8)
    assert {c.derivative for c in one.comparisons} == {"dc/dh_prev"}
    # Without a carry the default derivative is the Jacobian entry: checked once.
    everything = compare_derivatives("gru", wrt="all", samples=8)
    assert [c.derivative for c in everything.comparisons].count("dh/dh_prev") == 4


# ---------------------------------------------------------------- planted errors fail


@pytest.mark.parametrize("name", BUILTIN)
def test_a_term_off_by_a_tenth_of_a_percent_fails(name):
    d = derive(name)
    for index, term in enumerate(d.terms):
        report = compare_derivatives(_plant(d, index), samples=SAMPLES)
        assert not report.passed
        failed = {c.quantity for c in report.comparisons if not c.passed}
        # The planted term and the total fail; every other term still passes.
        assert failed == {term.via, "total"}, check_report(report)
        # Relative to the term's magnitude with its sums in absolute value (GRU's
        # h_hat - h_prev counts as |h_hat| + |h_prev|): at most the planted 1e-3.
        assert 1e-4 < report.max_rel_error <= 1.0001e-3


def test_a_planted_error_of_one_part_in_a_billion_fails_the_complex_step():
    report = compare_derivatives(_plant(derive("lstm"), 2, 1 + sympy.Rational(1, 10**9)))
    assert not report.passed
    assert report.worst.quantity == "i"
    assert 0.9e-9 < report.max_rel_error < 1.1e-9


def test_a_planted_error_fails_a_state_jacobian_entry():
    jacobian = derive("gru-late-reset", "state")
    entries = [[d for d in row] for row in jacobian.entries]
    entries[1][0] = _plant(entries[1][0], 0)
    planted = dataclasses.replace(jacobian, entries=tuple(tuple(row) for row in entries))
    report = compare_derivatives(planted, samples=SAMPLES)
    assert not report.passed
    assert {c.derivative for c in report.comparisons if not c.passed} == {"do/dh_prev"}


def test_a_missing_term_fails_the_total_only():
    d = derive("lstm")
    short = dataclasses.replace(d, terms=d.terms[:-1])
    report = compare_derivatives(short, samples=SAMPLES)
    assert [c.quantity for c in report.comparisons if not c.passed] == ["total"]


def _wrong_sigmoid_derivative(self, argindex=1):
    return self * (1 - self) * PLANTED


@pytest.fixture
def monkeypatch(monkeypatch):
    """monkeypatch, with the engine's derivations forgotten before and after:
    a planted rule must reach the engine, and must not outlive the test."""
    clear_cache()
    yield monkeypatch
    monkeypatch.undo()
    clear_cache()


def test_a_wrong_sigmoid_rule_passes_the_engines_self_check_but_not_this_one(monkeypatch):
    # The engine's self-check differentiates the raw definition with the same
    # rule, so it cannot see a wrong rule; the finite differences can.
    monkeypatch.setattr(sigmoid, "fdiff", _wrong_sigmoid_derivative)
    d = derive("gru")
    assert d.check.passed
    report = compare_derivatives(d, samples=SAMPLES)
    assert not report.passed
    assert {c.quantity for c in report.comparisons if not c.passed} >= {"z", "total"}


def test_a_wrong_tanh_rule_fails(monkeypatch):
    monkeypatch.setattr(
        tanh, "fdiff", lambda self, argindex=1: 1 - self**2 + sympy.Rational(1, 1000)
    )
    report = compare_derivatives("rnn", samples=SAMPLES)
    assert not report.passed


def test_a_planted_error_fails_the_central_differences_too():
    d = derive("rnn-relu")
    report = compare_derivatives(_plant(d, 0), samples=SAMPLES)
    assert report.method == "central-richardson"
    assert not report.passed


def test_a_wrong_convention_fails():
    # Dropping the carry h_prev = o_prev tanh(c_prev) from the forward pass while
    # keeping the terms derived under it: the paths through h_prev disagree.
    d = derive("lstm")
    assert d.carry
    report = compare_derivatives(dataclasses.replace(d, carry={}), samples=SAMPLES)
    assert not report.passed
    assert not next(c for c in report.comparisons if c.quantity == "total").passed


# ---------------------------------------------------------------- the command line


def test_cli_passes_with_exit_0(run):
    code, out, err = run("check", "gru", "--samples", "16", "--seed", "3")
    assert code == 0
    assert "PASSED" in out
    assert "seed 3" in out and "16 points" in out
    assert "complex step (h = 10^{-20})" in out
    assert err == ""  # no progress when stderr is not a terminal


def test_cli_fails_with_exit_1_on_a_planted_error(run, monkeypatch):
    monkeypatch.setattr(sigmoid, "fdiff", _wrong_sigmoid_derivative)
    code, out, err = run("check", "lstm", "--samples", "16")
    assert code == 1
    assert "FAILED" in out
    assert err.strip() == "symgrad: check FAILED for lstm"


def test_cli_json(run):
    code, out, _ = run("check", "lstm", "--samples", "8", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["passed"] is True
    assert data["seed"] == 0 and data["samples"] == 8 and data["cell"] == "lstm"
    assert data["method"] == "complex-step" and data["step"] == 1e-20
    assert data["max_rel_error"] <= data["tolerance"]
    assert "2^{-53}" in data["tolerance_reason"]
    assert len(data["comparisons"]) == 16
    for c in data["comparisons"]:
        assert set(c) >= {"derivative", "quantity", "max_rel_error", "tolerance", "passed"}
        assert c["passed"] is True
        if c["derivative"] == "dc/dc_prev (one-step)":
            assert set(c["worst_point"]) >= set(derive("lstm").free_names)


@pytest.mark.parametrize("fmt", ["text", "markdown", "latex"])
def test_cli_formats_list_every_comparison(run, fmt):
    code, out, _ = run("check", "gru", "--samples", "8", "--format", fmt)
    assert code == 0
    report = compare_derivatives("gru", wrt="all", samples=8)
    assert "complex step" in out and "PASSED" in out
    assert len(report.comparisons) == 4
    for c in report.comparisons:
        assert f"{c.max_rel_error:.1e}" in out
        assert f"{c.tolerance:.1e}" in out


@needs_pdflatex
def test_cli_latex_compiles(run, tmp_path):
    code, body, _ = run("check", "gru-late-reset", "--samples", "8", "--format", "latex")
    assert code == 0
    document = "\\documentclass{article}\\begin{document}\n" + body + "\\end{document}\n"
    compile_latex(tmp_path, "check.tex", document)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["check", "lstmm"], r"unknown cell 'lstmm'\. Valid cells: rnn, rnn-relu, lstm"),
        (["check", "lstm", "--wrt", "x"], r"Valid choices: all, state, c_prev, h_prev"),
        (["check", "lstm", "--samples", "0"], r"samples must be an integer from 1"),
        (["check", "lstm", "--samples", "ten"], r"invalid int value: 'ten'"),
        (["check", "lstm", "--seed", "-1"], r"seed must be a non-negative integer"),
        (["check", "lstm", "--init", "he"], r"Valid choices: normal, xavier, orthogonal"),
        (["check", "lstm", "--format", "pdf"], r"invalid choice: 'pdf'"),
    ],
)
def test_cli_usage_errors_are_one_line_exit_2(run, argv, message):
    code, out, err = run(*argv)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert re.search(message, err), err


def test_cli_init_changes_the_points(run):
    xavier = json.loads(
        run("check", "gru", "--samples", "8", "--init", "xavier", "--format", "json").out
    )
    assert xavier["init"] == "xavier" and "Glorot" in xavier["distribution"]
    assert xavier["passed"] is True
    # Glorot's biases are 0.
    assert all(c["worst_point"]["b_z"] == 0.0 for c in xavier["comparisons"])


# ---------------------------------------------------------------- the machinery itself


def test_complex_step_is_exact_for_known_functions():
    # Down to sigma'(-600) = 2.7e-261: h sigma' is still a normal number (TINY / h = 2e-288).
    y = np.array([-600.0, -40.0, -3.0, -0.5, 0.0, 1e-9, 0.5, 3.0, 40.0])
    assert np.allclose(checker._complex_step(np.sin, y), np.cos(y), rtol=COMPLEX_STEP_REL, atol=0)
    # sigma'(y) = e^{-|y|}/(1 + e^{-|y|})^2, in deep saturation too: no overflow.
    with mpmath.workdps(30):
        expected = [float(mpmath.exp(-abs(v)) / (1 + mpmath.exp(-abs(v))) ** 2) for v in y]
    derivative = checker._complex_step(checker._sigmoid, y)
    assert np.allclose(derivative, expected, rtol=COMPLEX_STEP_REL, atol=0)


def test_richardson_is_exact_for_a_degree_seven_polynomial():
    # Central differences of y^7 err by h^2, h^4 and h^6 terms only, all removed.
    y = np.linspace(-2, 2, 9)
    value, _, _, usable = checker._central(lambda v: v**7, y, lambda v: [])
    assert np.allclose(value, 7 * y**6, rtol=0, atol=RICHARDSON_POLY_ABS)
    assert usable.all()
    weights = checker._richardson_weights(checker.RICHARDSON_LEVELS)
    assert weights.sum() == pytest.approx(1.0, abs=RICHARDSON_WEIGHTS_ABS)


def test_points_whose_step_crosses_a_relu_kink_are_left_out():
    d = derive("rnn-relu")
    points = {"x": [1.0, 1.0], "W": [1.0, 1.0], "U": [1.0, 1.0], "b": [-1.0, -0.5]}
    # h_prev = 1e-6: pre-activation 1e-6 for the first point, within a step of 0.
    points["h_prev"] = [1e-6, 0.3]
    report = compare_at_points(d, points)
    assert report.passed
    assert all(c.points == 1 and c.excluded == 1 for c in report.comparisons)
    assert "left out" in report.tolerance_reason


def test_no_usable_point_is_a_failure():
    d = derive("rnn-relu")
    report = compare_at_points(d, {"x": 1.0, "W": 1.0, "U": 1.0, "b": -1.0, "h_prev": 0.0})
    assert not report.passed
    assert math.isnan(report.max_rel_error)


def test_a_derivative_with_no_terms_is_checked_as_zero():
    # g does not depend on h_prev: dg/dh_prev has no terms and must be 0.
    cell = make_cell(
        "two",
        "A state g that ignores h.",
        inputs="x",
        params="W U V",
        state=["h", "g"],
        equations=[
            ("h", None, "tanh(W*x + U*h_prev + V*g_prev)", None),
            ("g", None, "tanh(V*x)", None),
        ],
        wrt=("h", "h_prev"),
    )
    report = compare_derivatives(cell, wrt="state", samples=8)
    assert report.passed
    zero = [c for c in report.comparisons if c.derivative == "dg/dh_prev"]
    assert [c.quantity for c in zero] == ["total"]
    assert zero[0].max_rel_error == 0.0


def test_an_exact_zero_gets_no_allowance_from_central_differences():
    # dh1/dh2_prev of two stacked relu layers has no terms: the quotient must be
    # exactly 0, and a tolerance scaled by |f| / |f'| = |f| / 0 must not appear.
    cell = make_cell(
        "stacked",
        "Two relu layers.",
        inputs="x",
        params="W V U b",
        state=["h1", "h2"],
        equations=[
            ("h1", None, "relu(W*x + U*h1_prev + b)", None),
            ("h2", None, "relu(V*h1 + U*h2_prev + b)", None),
        ],
        wrt=("h2", "h2_prev"),
    )
    report = compare_derivatives(cell, wrt="state", samples=SAMPLES)
    assert report.passed and report.method == "central-richardson"
    (zero,) = [c for c in report.comparisons if c.derivative == "dh1/dh2_prev"]
    assert zero.max_rel_error == 0.0
    assert zero.tolerance < EXACT_ZERO_TOLERANCE_MAX
    assert all(c.tolerance < CHECK_TOLERANCE_MAX for c in report.comparisons)


def test_compare_at_points_names_what_is_missing():
    with pytest.raises(ValueError, match=r"points lack U, W, b"):
        compare_at_points(derive("rnn"), {"x": 1.0, "h_prev": 0.5})


def test_bad_arguments_raise_value_errors_naming_the_choices():
    with pytest.raises(ValueError, match="Valid choices: all, state, h_prev"):
        compare_derivatives("gru", wrt="c_prev")
    with pytest.raises(ValueError, match="samples must be"):
        compare_derivatives("gru", samples=0)
    with pytest.raises(ValueError, match="unknown init 'he'"):
        compare_derivatives("gru", init="he")


def test_points_outside_the_cells_domain_are_left_out_not_failed(tmp_path):
    # log(1 + U h^2) is undefined where U h^2 <= -1: those seeded points (and
    # those whose difference steps reach there) are counted, not judged.
    from symgrad.cellfile import loads_cell

    cell = loads_cell(
        'name = "logs"\ninputs = ["x"]\nparameters = ["U"]\nstate = ["h"]\n[equations]\n'
        'h = "log(1 + U*h_prev**2) + sqrt(abs(x)) + relu(x)*h_prev"\n'
    )
    report = compare_derivatives(cell, samples=64, seed=1)
    assert report.passed
    assert all(0 < c.excluded < 64 for c in report.comparisons)
    assert "outside its domain" in report.comparisons[0].tolerance_reason
