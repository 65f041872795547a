"""Issue 12: every sentence verify and bound print is true. One test per defect
the issue lists (each fails on the text printed before the fix), with oracles
written here by hand: mpmath at 30 digits, SymPy from the raw definitions."""

import json
import math
import re
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import mpmath
import pytest
from flint import arb, ctx
from hypothesis import given
from hypothesis import strategies as st
from strategies import reals

from symgrad import extrema, lemmas
from symgrad.bounds import compute_bound
from symgrad.cellfile import load_cell
from symgrad.certify import PREC, scientific
from symgrad.claims import Context, evaluate_claim, get_claim
from symgrad.derivation import derive
from symgrad.montecarlo import Settings
from symgrad.suprema import ClosedForm, _closed_form_check, scipy_check
from symgrad.text import plain
from tests.tolerances import ARGMAX_ABS, last_place

EXAMPLES = Path(__file__).parent.parent / "examples"
mpmath.mp.dps = 30

#: Small Monte Carlo runs: the statements tested here do not depend on the sample size.
SMALL = Context(Settings(samples=2000), steps=300, flow_samples=20)


@lru_cache
def checked(claim_id):
    return evaluate_claim(get_claim(claim_id), SMALL)


def evidence(claim_id, kind):
    (e,) = [e for e in checked(claim_id).evidence if e.kind == kind][:1]
    return e


def text_of(e) -> str:
    return "\n".join(plain(d) for d in (e.summary, *e.details))


@lru_cache
def bound(name, **params):
    return compute_bound(name, **params)


def _sig(u):
    return 1 / (1 + mpmath.exp(-u))


# ---------------------------------------------------------------- 1. the two-step LSTM derivative

#: The issue's example: x = 0, W = 0, b = 0 but b_f = 1, U = 2, c_{t-1} = 1, o_{t-1} = 1/2.
P = {"U": 2, "b_f": 1, "c0": 1, "o0": mpmath.mpf(1) / 2}


def _step(c, h):
    """One LSTM step at the example (W x = 0): (c_t, o_t), by hand."""
    f, i, o = _sig(P["U"] * h + P["b_f"]), _sig(P["U"] * h), _sig(P["U"] * h)
    return f * c + i * mpmath.tanh(P["U"] * h), o


def test_the_two_step_gap_carries_d_and_matches_mpmath_of_the_unrolled_map():
    e = evidence("lstm-state-jacobian", "S")
    text = text_of(e)
    # The exact two-step formula, D_{t+1} = dc_{t+1}/dh_t printed, no "per step" miss.
    assert "dc_{t+1}/dc_{t-1} = A_{t+1} A_t + D_{t+1} · m_t exactly" in text
    assert "D_{t+1} = ∂c_{t+1}/∂h_t times" in text and "per step" not in text
    (line,) = [d for d in e.details if d.startswith("holds: `lstm` at ")]
    numbers = re.findall(r"(?:product|path|exact) ([0-9.]+)", line)
    product, missed, exact = (float(x) for x in numbers)
    with mpmath.workdps(40):

        def two_steps(c0):
            c1, o1 = _step(c0, P["o0"] * mpmath.tanh(c0))
            return _step(c1, o1 * mpmath.tanh(c1))[0]

        c1, o1 = _step(P["c0"], P["o0"] * mpmath.tanh(P["c0"]))
        # The article's factors: each step with its o held fixed (h = o tanh c).
        a_t = mpmath.diff(lambda c: _step(c, P["o0"] * mpmath.tanh(c))[0], P["c0"])
        a_next = mpmath.diff(lambda c: _step(c, o1 * mpmath.tanh(c))[0], c1)
        hand = mpmath.diff(two_steps, P["c0"])
    assert exact == pytest.approx(float(hand), abs=last_place(7))
    assert product == pytest.approx(float(a_t * a_next), abs=last_place(6))
    # The missed path is the whole gap (0.0801323), not 0.078316 (the old expression).
    assert missed == pytest.approx(float(hand - a_t * a_next), abs=last_place(7))
    assert abs(missed - 0.078316) > 1e-3


# ---------------------------------------------------------------- 2. the minor terms' factors


def test_the_forget_term_is_three_gates_and_one_signed_factor():
    e = evidence("lstm-minor-terms", "S")
    text = text_of(e)
    assert e.status == "qualified"
    assert (
        "U_f times 3 gates in (0, 1) and the signed factor (1 - tanh² c_{t-1}) c_{t-1} ∈ "
        "[-S(0), S(0)]" in text
    )
    assert "c_{t-1} alone is unbounded" in text
    assert "4 gates and factors bounded by 1" not in text
    # By hand: f, 1 - f, o_{t-1} | i, 1 - i, o_{t-1}, 1 - tanh^2 | i, 1 - c_hat^2, o, 1 - tanh^2.
    assert e.figures["gates"] == {"f": 3, "i": 4, "c_hat": 4}
    assert e.figures["signed"] == {"f": 1, "i": 1, "c_hat": 0}


# ---------------------------------------------------------------- 3. the GRU candidate term


@pytest.mark.parametrize(("u_r", "value"), [(Fraction(1, 2), 1.0), (1, 1.0), (2, 1.125)])
def test_gru_candidate_closed_form_is_piecewise_and_inside_the_certificate(u_r, value):
    r = bound("gru-candidate-term", U_r=u_r)
    lo, hi = r.interval
    c_lo, c_hi = r.closed_form["interval"]
    # By hand: sup over r in (0, 1) of r (1 + (1 - r) k) is 1 for k <= 1, (1 + k)^2/(4k) above.
    assert lo <= c_lo <= value <= c_hi <= hi
    assert r.closed_form["agrees"] and "max(1" not in r.closed_form["text"]
    assert plain(r.closed_form["text"]).startswith("piecewise, 1 for |U_r| ≤ 1")


def test_gru_candidate_closed_form_divides_by_nothing_at_zero():
    r = bound("gru-candidate-term", U_r=0)
    assert "above: 1 (|U_r| ≤ 1), approached as r_t → 1" in plain(r.closed_form["text"])
    assert "4|U_r|) = " not in plain(r.closed_form["text"])


def test_a_closed_form_that_only_overlaps_the_interval_disagrees():
    def wide():
        return arb("0.4477432", "1e-3")  # holds S(0), and much more

    with ctx.workprec(PREC):
        certified = (arb("0.44774320468"), arb("0.44774320470"))
        check = _closed_form_check(ClosedForm("wide", wide), certified, {})[1]
    assert check.verdict == "disagrees"


# ---------------------------------------------------------------- 4. "proved" only for every value


def test_s_a_bounds_are_proved_for_every_a_and_checked_at_three():
    s, c = evidence("rnn-tanh-bounded", "S"), evidence("rnn-tanh-bounded", "C")
    assert "for every a: proved" in plain(s.summary)
    assert "certified at a = 0.5, 2 and 5 (for every a: the S evidence)" in plain(c.summary)
    assert all(lemma.proved for lemma in (lemmas.triangle_bound(), lemmas.sharp_bound()))


def test_a_lemma_with_a_failing_step_proves_nothing(run, monkeypatch):
    broken = lemmas.Lemma("S(a) <= |a| + S(0)", (lemmas.Step("a step", False),))
    monkeypatch.setattr(lemmas, "triangle_bound", lambda: broken)
    r = compute_bound("rnn-tanh", a=0)  # an equality at a = 0: only the lemma decides it
    (loose, _) = [c for c in r.checks if c.kind == "claim"]
    assert loose.verdict == "undecided" and r.status == "fail"
    assert run("bound", "rnn-tanh").code == 1


def test_the_geometric_limits_are_proved_for_symbolic_rho():
    text = text_of(evidence("vanish-explode", "S"))
    assert "for every 0 < \u03c1 < 1" in text and "for symbolic d > 0" in text
    assert "(9/10)" not in text and "(11/10)" not in text


def test_the_relu_bound_is_proved_at_its_l_and_for_every_l_symbolically():
    r = bound("rnn-relu", L=10)
    (claim,) = [c for c in r.checks if c.kind == "claim"]
    assert plain(claim.statement) == "sup ≥ L = 10 (at this L)"
    notes = [plain(n) for n in r.notes]
    assert any(n.startswith("for every L > 0: sup_{|U| ≤ L}") and "proved" in n for n in notes)


# ---------------------------------------------------------------- 5. fewer gates


def test_gru_fewer_gates_is_qualified_with_the_engines_counts():
    r = checked("gru-fewer-gates")
    assert r.status == "qualified" and r.holds == ("fewer gates: 2, 2 and 1 fewer",)


# ---------------------------------------------------------------- 6. the reset factor's range


def _reset(a, v):
    """R(v) = sigma(a + v)(1 + sigma(-(a + v)) v), typed from the issue."""
    return _sig(a + v) * (1 + _sig(-(a + v)) * v)


def _extremum(a, sign):
    """mpmath's extremum of R: the best grid point, then a root of R'."""
    grid = [mpmath.mpf(k) / 20 for k in range(-40 * 20, 40 * 20)]
    start = max(grid, key=lambda v: sign * _reset(a, v))
    v = mpmath.findroot(lambda v: mpmath.diff(lambda w: _reset(a, w), v), start)
    return _reset(a, v), v


@pytest.mark.parametrize("a", [0, -2, 3, Fraction(1, 2)])
def test_the_reset_factor_range_contains_mpmaths_extrema(a):
    r = bound("gru-reset-factor", a_r=a)
    exact = mpmath.mpf(Fraction(a).numerator) / Fraction(a).denominator
    sup, v_sup = _extremum(exact, 1)
    inf, v_inf = _extremum(exact, -1)
    lo, hi = r.interval
    i_lo, i_hi = r.infimum.interval
    assert lo <= sup <= hi and i_lo <= inf <= i_hi
    assert inf < 0 < 1 < sup and r.status == "pass"
    assert r.argmax["v"] == pytest.approx(float(v_sup), abs=ARGMAX_ABS)
    assert r.infimum.argmax["v"] == pytest.approx(float(v_inf), abs=ARGMAX_ABS)
    # The same function at -a, mirrored: inf at a = 1 - sup at -a.
    mirror = bound("gru-reset-factor", a_r=-a)
    assert i_lo <= 1 - mirror.value <= i_hi


@given(a=st.sampled_from([0, -2, 3]), u_r=reals(50), h=st.floats(-1, 1).filter(bool))
def test_no_coupled_value_leaves_the_certified_range(a, u_r, h):
    r = bound("gru-reset-factor", a_r=a)
    r_t = _sig(a + u_r * h)
    value = r_t * (1 + (1 - r_t) * h * u_r)  # the engine's form, typed by hand
    assert r.infimum.interval[0] <= value <= r.interval[1]


def test_the_gate_free_bound_is_the_coupled_factor_at_its_a_r():
    # gru-candidate-term at U_r = 100 gives 25.5025 = 101^2/400: the coupled factor at
    # v = U_r h -> 100 and a_r = ln(101/99) - 100, as both outputs say.
    k = mpmath.mpf(100)
    assert _reset(mpmath.log((k + 1) / (k - 1)) - k, k) == pytest.approx((1 + k) ** 2 / (4 * k))
    free = bound("gru-candidate-term", U_r=100)
    assert free.interval[0] <= 25.5025 <= free.interval[1]
    assert any("gru-reset-factor" in n and "a_r ≈ -99.98" in plain(n) for n in free.notes)
    assert any("gru-candidate-term" in n for n in bound("gru-reset-factor").notes)


def test_the_reset_factor_on_the_command_line(run):
    code, out, _ = run("bound", "gru-reset-factor", "--param", "a_r=0")
    assert code == 0 and "certified inf" in out and "sup > 1" in out and "inf < 0" in out
    data = json.loads(run("bound", "gru-reset-factor", "--format", "json").out)
    assert data["status"] == "pass" and set(data["infimum"]) == {
        "value",
        "argmin",
        "where",
        "interval",
    }
    assert run("bound", "gru-reset-factor", "--below", "2").code == 2


def test_a_planted_scipy_disagreement_on_the_range_is_fail(run, monkeypatch):
    real = extrema.scipy_sup

    def off(expr, variables, box, signed=False):
        value, argmax, symmetric = real(expr, variables, box, signed)
        return value + 0.01, argmax, symmetric

    monkeypatch.setattr(extrema, "scipy_sup", off)
    r = compute_bound("gru-reset-factor", a_r=1)
    assert r.status == "fail" and {c.verdict for c in r.checks if c.kind == "scipy"} == {
        "disagrees"
    }
    assert run("bound", "gru-reset-factor", "--param", "a_r=1").code == 1


# ---------------------------------------------------------------- 7. Monte Carlo lines


def test_distribution_lines_list_only_what_the_derivative_reads():
    text = text_of(evidence("lstm-forget-dominant", "M"))
    (line,) = [x for x in text.split("\n") if x.startswith("lstm, ∂c_t/∂c_{t-1}")]
    assert line.endswith("c_{t-1} ~ N(0,1); o_{t-1} ~ U(0,1)") and "h_{t-1}" not in line


def test_relus_indicator_says_how_the_kink_is_taken():
    text = text_of(evidence("vanish-explode", "M"))
    assert "relu'(0) is taken as 0: a set of probability 0 under the sampled distributions" in text


# ---------------------------------------------------------------- the reviewers' list


def test_tail_constants_and_lower_ends_are_rounded_the_safe_way():
    r = bound("sigmoid-slope")  # tail: sigma(1 - sigma) <= e^-|u|, cut at 4: e^-4 = 0.0183156
    (tail,) = [n for n in r.notes if n.startswith("tail lemma")]
    mantissa, exponent = re.search(
        r"\\le ([0-9.]+) \\cdot 10\^\{(-?\d+)\} < \\text\{lo\}", tail
    ).groups()
    assert float(f"{mantissa}e{exponent}") >= math.exp(-4) and "1.84 \\cdot 10^{-2}" in tail
    saturation = bound("lstm-saturation")
    (tail,) = [n for n in saturation.notes if n.startswith("tail lemma")]
    assert float(re.search(r"\\text\{lo\} = ([0-9.]+)", tail)[1]) <= saturation.interval[0]
    assert scientific(math.exp(-4), 3, "up") == "1.84e-02"


def test_certified_intervals_in_verify_are_rounded_outward():
    r = bound("lstm-saturation")
    text = text_of(evidence("lstm-saturation-045", "C"))
    lo, hi = (float(x) for x in re.search(r"∈ \[([0-9.]+), ([0-9.]+)\]", text).groups())
    assert lo <= r.interval[0] and hi >= r.interval[1]


def test_the_lstm_candidate_term_is_refuted_as_uniform_compression_only(run):
    r = bound("lstm-candidate-term")
    (claim,) = [c for c in r.checks if c.kind == "claim"]
    assert claim.verdict == "refuted" and "compressed uniformly" in claim.statement
    assert r.status == "refuted" and run("bound", "lstm-candidate-term").code == 0
    qualified = [d for d in evidence("lstm-minor-terms", "C").details if d.startswith("qualified")]
    assert len(qualified) == 1 and "approached (not attained)" in qualified[0]


def test_clipping_is_attained_at_h_zero():
    assert any("attained at h_t = 0" in plain(n) for n in bound("clipping").notes)


def test_the_rnn_tanh_maximiser_is_plus_minus_in_u_only_where_symmetric():
    assert bound("rnn-tanh").where.startswith("U = ±0.7717")
    assert "±" not in bound("rnn-tanh", a=2).where


def test_scipy_just_outside_says_so():
    inside = scipy_check(1.0, 0.5, 1.0)
    near = scipy_check(1.0 + 1e-13, 0.5, 1.0)
    assert inside.detail == "1.0 in [0.5, 1.0]"
    assert near.verdict == "agrees"
    assert "within 10^{-12} (relative) of [0.5, 1.0]" in plain(near.detail)


def test_the_header_and_methods_say_what_is_done(run):
    code, out, _ = run(
        "verify", "long-horizon", "--samples", "2000", "--steps", "300", "--flow-samples", "20"
    )
    assert code == 0
    assert "a bound's SciPy (N) or certificate (C) time to every piece of evidence" in out
    assert "previous-step values as each figure says" in out
    assert "Student-t interval on the mean log growth" in out
    (relu,) = [x for x in out.split("\n") if x.strip().startswith("holds: rnn-relu:")]
    assert "no Lyapunov exponent" in relu and "[-inf" not in relu
    assert "1 claim: 0 PASS, 1 QUALIFIED, 0 REFUTED, 0 FAIL" in out


def test_summaries_carry_no_sympy_strings():
    for claim_id in ("rnn-jacobian", "rnn-relu-unbounded", "gru-decomposition"):
        summary = plain(evidence(claim_id, "S").summary)
        assert "**" not in summary and "*" not in summary and "1 terms" not in summary


def test_the_other_late_reset_reading_is_built_and_counted():
    e = next(x for x in checked("late-reset-decomposition").evidence if x.status == "qualified")
    counts = e.figures["gate_counts"]
    # The example file is that reading, written out: the engine counts the same gates.
    example = derive(load_cell(EXAMPLES / "gru-late-reset-output.toml"))
    assert counts["other"] == {t.via: t.gate_count for t in example.terms if not t.dominant}
    assert counts["SPEC"] == {"z": 3, "h_hat": 3} and counts["gru"] == {"z": 2, "h_hat": 3}


def test_the_gru_state_is_proved_below_one_for_every_t_and_certified_on_the_runs():
    s, c = evidence("gru-bounded-state", "S"), evidence("gru-bounded-state", "C")
    assert s.status == "pass" and "for every t from h_0 = 0, proved" in plain(s.summary)
    assert "at every step of these runs the ball certifies" in text_of(c)
    assert lemmas.convex_step("gru").proved and not lemmas.convex_step("rnn").proved


def test_minor_terms_are_compared_with_f_sample_by_sample():
    e = evidence("lstm-minor-terms", "M")
    assert "compared sample by sample" in e.method
    assert set(e.figures["fraction_abs_term_below_abs_dominant"]) == {"f", "i", "c_hat"}


@pytest.mark.parametrize("x", [0.5, 1.0, 3.0])
def test_sharp_bound_holds_at_sampled_points_by_hand(x):
    # The lemma's inequality, by hand: |v - a| sech^2 v <= (|a| + sqrt(1 + a^2))/2.
    for v in (mpmath.mpf(k) / 10 for k in range(-50, 51)):
        assert abs(v - x) / mpmath.cosh(v) ** 2 <= (abs(x) + mpmath.sqrt(1 + x * x)) / 2
