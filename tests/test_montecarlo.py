"""Monte Carlo evidence: seeded, reproducible, and its intervals cover what they claim."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from symgrad.cells import make_cell
from symgrad.montecarlo import Settings, _fd_check, one_step, state_gap
from symgrad.stats import _binomial_ppf, mean_ci, quantile_ci, rng_for, wilson
from tests.tolerances import FD_TRAJECTORY_REL, ONE_STEP_GAP_REL

# ---------------------------------------------------------------- the intervals


def test_wilson_against_hand_computed_values():
    # Wilson (1927), z = 1.959964: k = 5 of n = 10 -> 0.2366 .. 0.7634;
    # k = 0 of 10 -> 0 .. z^2/(n + z^2) = 3.8415/13.8415 = 0.2775.
    f = wilson(5, 10)
    assert (round(f.lo, 4), round(f.hi, 4)) == (0.2366, 0.7634)
    f = wilson(0, 10)
    assert f.lo == 0 and round(f.hi, 4) == 0.2775


@given(st.integers(1, 10_000), st.data())
def test_wilson_contains_the_estimate_and_stays_in_unit_interval(n, data):
    k = data.draw(st.integers(0, n))
    f = wilson(k, n)
    assert 0 <= f.lo <= k / n <= f.hi <= 1


@pytest.mark.parametrize("n", [10, 97, 1000, 100_000])
@pytest.mark.parametrize("q", [0.01, 0.5, 0.9, 0.99])
def test_binomial_ranks_against_scipy(n, q):
    from scipy.stats import binom

    for level in (0.025, 0.975):
        assert _binomial_ppf(level, n, q) == int(binom.ppf(level, n, q))


@given(st.lists(st.floats(-1e6, 1e6), min_size=20, max_size=300), st.sampled_from([0.5, 0.9]))
def test_quantile_interval_brackets_the_estimate(xs, q):
    e = quantile_ci(xs, q)
    assert e.lo <= e.value <= e.hi


def test_intervals_cover_at_their_level():
    # 400 repeated experiments from distributions whose truth is known: the 95%
    # intervals must cover the truth in about 95% of them (binomial sd ~1.1%).
    rng = np.random.default_rng(1)
    trials, n = 400, 300
    fraction = mean = median = 0
    for _ in range(trials):
        x = rng.standard_normal(n)
        fraction += wilson(int(np.count_nonzero(x > 1)), n).covers(0.15865525393145707)
        mean += mean_ci(x).covers(0.0)
        median += quantile_ci(x, 0.5).covers(0.0)
    for hits in (fraction, mean, median):
        assert 0.91 <= hits / trials <= 0.99


# ---------------------------------------------------------------- seeded runs


def test_same_seed_same_figures_other_seed_other_figures():
    s = Settings(seed=11, samples=2000)
    a, b = one_step("gru", s).as_json(), one_step("gru", s).as_json()
    assert a == b
    c = one_step("gru", Settings(seed=12, samples=2000)).as_json()
    assert c["abs_dominant"]["mean"] != a["abs_dominant"]["mean"]


def _estimates(report: dict, prefix=""):
    """Every (name, value, [lo, hi]) in a figures dict."""
    for key, value in report.items():
        if isinstance(value, dict) and "ci" in value:
            yield prefix + key, value["value"], value["ci"]
        elif isinstance(value, dict):
            yield from _estimates(value, prefix + key + ".")


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_intervals_cover_a_ten_times_larger_run(cell):
    small = one_step(cell, Settings(seed=3, samples=4000)).as_json()
    large = one_step(cell, Settings(seed=4, samples=40_000)).as_json()
    big = {name: value for name, value, _ in _estimates(large)}
    checked = missed = 0
    for name, _, (lo, hi) in _estimates(small):
        if name.startswith(("p1", "p99", "spread")) or "p99" in name:
            continue  # tail order statistics of 4000 points: a few samples each
        checked += 1
        missed += not lo <= big[name] <= hi
    # Each 95% interval misses the larger run's estimate (itself noisy, sd
    # ~1/sqrt(10) of the small run's) with probability ~6%.
    assert checked >= 25 and missed <= 0.15 * checked


def test_state_gap_is_exact_at_one_step_and_checked_by_finite_differences():
    g = state_gap("lstm", Settings(seed=2, samples=2000))
    assert g.t1_gap < ONE_STEP_GAP_REL and g.fd_error < FD_TRAJECTORY_REL
    assert g.off[2].lo > 0  # the missed path shows from two steps on
    assert g.gap[50].percentiles[50].value > g.gap[2].percentiles[50].value


def test_the_finite_difference_check_catches_a_wrong_product():
    # Rerun the internal check with the exact product scaled by 1.001.
    from symgrad.derivation import derive
    from symgrad.montecarlo import make_step
    from symgrad.sampling import sample

    cell = derive("lstm").cell
    d = derive(cell)
    rng = rng_for(Settings().seed, "test")
    n, steps = 50, 3
    params = sample(cell, cell.params, n, rng)
    initial = sample(cell, ["c_prev", "o_prev"], n, rng)
    xs = rng.standard_normal((steps, n))
    step = make_step(cell)
    fd = _fd_check(cell, d, step, initial, ["o_prev"], params, xs, steps, np.ones(n))
    assert fd > 1e-3  # the all-ones "product" is far from the true derivative


def test_one_step_figures_against_direct_evaluation():
    # The LSTM's dominant term is f = sigmoid(W_f x + U_f h_prev + b_f): its mean
    # under the default distribution is E[sigmoid(Z)] with Z ~ N(0, 1 + 1 + E h^2),
    # symmetric about 0, so exactly 1/2 whatever the variance.
    r = one_step("lstm", Settings(seed=5, samples=20_000))
    assert r.dominant.mean.covers(0.5)
    # A one-term cell has no minor terms.
    rnn = one_step("rnn", Settings(seed=5, samples=2000))
    assert rnn.minor is None and rnn.minor_outweighs is None


def test_a_cell_that_leaves_the_unit_interval_is_not_certified():
    from symgrad.evidence_numeric import _certify_run

    cell = make_cell(
        "wide",
        "h_t = 2 tanh(U h_{t-1} + W x_t + b), not bounded by 1",
        "x",
        "W U b",
        ["h"],
        [("h", None, "2*tanh(W*x + U*h_prev + b)", None)],
        ("h", "h_prev"),
    )
    margin, _ = _certify_run(cell, {"W": 3.0, "U": 0.5, "b": 1.0}, [1.0, 1.0, 1.0])
    assert margin is None
    gru = derive_gru_margin()
    assert gru is not None and 0 < gru < 1


def derive_gru_margin():
    from symgrad.cells import get_cell
    from symgrad.evidence_numeric import _certify_run

    cell = get_cell("gru")
    params = {p: 25.0 for p in cell.params}
    margin, bits = _certify_run(cell, params, [1.0] * 5)
    assert bits > 53 and math.tanh(25.0 * 3) == 1.0  # float64 would say |h| = 1
    return margin
