"""The exact K-step derivative against an independent derivative of the unrolled map."""

import json

import mpmath
import pytest
import sympy

from symgrad.cells import BUILTIN
from symgrad.multistep import derive_steps
from tests.tolerances import DIGITS30, last_place

#: The issue's worked example: x = 0, W = 0, b = 0 but b_f = 1, U = 2, c_{t-1} = 1, o_{t-1} = 1/2.
EXAMPLE = {
    **{f"W_{g}": 0 for g in "fico"},
    **{f"b_{g}": 0 for g in "ico"},
    **{f"U_{g}": 2 for g in "fico"},
    "b_f": 1,
    "x": 0,
    "c_prev": 1,
    "o_prev": sympy.Rational(1, 2),
}


def _lstm_two_steps(c0, p):
    """c_{t+1} from c_{t-1}, written out by hand (h_{t-1} = o_{t-1} tanh c_{t-1})."""

    def sig(u):
        return 1 / (1 + mpmath.exp(-u))

    def step(c, h):
        f = sig(p["W_f"] * p["x"] + p["U_f"] * h + p["b_f"])
        i = sig(p["W_i"] * p["x"] + p["U_i"] * h + p["b_i"])
        o = sig(p["W_o"] * p["x"] + p["U_o"] * h + p["b_o"])
        c_hat = mpmath.tanh(p["W_c"] * p["x"] + p["U_c"] * h + p["b_c"])
        c = f * c + i * c_hat
        return c, o * mpmath.tanh(c)

    c, h = step(c0, p["o_prev"] * mpmath.tanh(c0))
    return step(c, h)[0]


def test_two_lstm_steps_equal_mpmaths_derivative_of_the_unrolled_map():
    ms = derive_steps("lstm", 2)
    values = ms.evaluate(EXAMPLE)
    with mpmath.workdps(40):
        p = {k: mpmath.mpf(sympy.Rational(v).p) / sympy.Rational(v).q for k, v in EXAMPLE.items()}
        exact = mpmath.diff(lambda c: _lstm_two_steps(c, p), p["c_prev"])
        assert abs(mpmath.mpf(str(values["exact"])) - exact) < DIGITS30
    # The gap to the article's product is the path through o_t, factor D_{t+1} included:
    # 0.0801323, where the per-step expression without D_{t+1} gives 0.078316.
    assert float(values["gap"]) == pytest.approx(0.0801323, abs=last_place(7) / 2)
    assert float(values["paths"][0]) == pytest.approx(float(values["gap"]), rel=DIGITS30)
    assert ms.paths[0].held == ("o",) and ms.paths[0].state == "h"


@pytest.mark.parametrize("name", ["rnn", "gru", "gru-merged", "gru-torch"])
def test_single_state_cells_have_no_missed_path(name):
    ms = derive_steps(name, 3)
    assert ms.paths == () and sympy.expand(ms.exact - ms.product) == 0 and ms.check.passed


@pytest.mark.parametrize("name", ["lstm", "gru-late-reset"])
@pytest.mark.parametrize("steps", [1, 2, 3])
def test_one_path_per_step_after_the_first(name, steps):
    ms = derive_steps(name, steps)
    assert ms.check.passed, ms.check.detail
    assert len(ms.paths) == steps - 1


def test_one_step_is_the_article_derivative():
    ms = derive_steps("lstm", 1)
    assert ms.exact.equals(ms.product) and ms.paths == ()


def test_per_step_inputs_and_the_cli_json(run):
    at = ",".join(f"{k}={v}" for k, v in {**EXAMPLE, "o_prev": "1/2"}.items() if k != "x")
    code, out, _ = run(
        "derive", "lstm", "--steps", "2", "--at", at + ",x_1=0,x_2=0", "--format", "json"
    )
    data = json.loads(out)
    assert code == 0 and data["inputs"] == "per step" and data["steps"] == 2
    assert data["total_value"] - data["product_value"] == pytest.approx(
        0.0801323, abs=last_place(7) / 2
    )
    assert [p["through"] for p in data["paths"]] == [["o"]]


@pytest.mark.parametrize("name", BUILTIN)
def test_every_cell_prints_its_two_steps(run, name):
    for fmt in ("text", "latex", "markdown"):
        code, out, _ = run("derive", name, "--steps", "2", "--format", fmt)
        assert code == 0
        assert "P" in out
