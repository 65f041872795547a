"""The claims catalog and `symgrad verify`: every claim reaches the verdict the
SPEC's caveats call for, and every kind of evidence turns against a statement
planted wrong: refuted with a counterexample where the evidence is exact or
certified, no verdict (fail) where it is not."""

import dataclasses
import json
import math
from types import MappingProxyType

import pytest
import sympy

from symgrad import claims
from symgrad.text import plain, tex_inline
from tests.cli_runner import run_cli
from tests.test_proofs import ascii_math
from tests.tolerances import last_place

# SPEC section 3's table, typed from the SPEC: the registry must match it exactly.
SPEC_TABLE = [
    ("identities", "S"),
    ("recursion", "S"),
    ("vanish-explode", "SM"),
    ("rnn-jacobian", "SP"),
    ("rnn-tanh-bounded", "SNC"),
    ("rnn-relu-unbounded", "SN"),
    ("clipping", "SC"),
    ("lstm-decomposition", "SP"),
    ("lstm-saturation-045", "NC"),
    ("lstm-minor-terms", "SCM"),
    ("lstm-forget-dominant", "SM"),
    ("lstm-state-jacobian", "SM"),
    ("gru-bounded-state", "SC"),
    ("gru-decomposition", "SP"),
    ("gru-fewer-gates", "S"),
    ("gru-less-stable", "M"),
    ("gru-merged-decomposition", "SP"),
    ("late-reset-decomposition", "SP"),
    ("long-horizon", "M"),
    # SPEC section 3, "n dimensions": the counterparts <id>-nd.
    ("vanish-explode-nd", "SN"),
    ("rnn-tanh-bounded-nd", "SN"),
    ("rnn-relu-unbounded-nd", "SN"),
    ("clipping-nd", "SN"),
    ("lstm-minor-terms-nd", "SNM"),
    ("lstm-forget-dominant-nd", "SM"),
    ("gru-bounded-state-nd", "SN"),
    ("lstm-saturation-045-nd", "SNC"),
    ("gru-reset-factor-nd", "SN"),
    ("gru-fewer-gates-nd", "SN"),
]

#: Small Monte Carlo runs for the planted-failure tests (the verdicts there do
#: not depend on the sample size: each plants a statement far from the truth).
FAST = ("--samples", "2000", "--steps", "300", "--flow-samples", "20")


def plant(monkeypatch, claim_id, **given):
    """Replace part of what ``claim_id`` states by a wrong statement."""
    old = claims.get_claim(claim_id)
    new = dataclasses.replace(old, given=MappingProxyType({**old.given, **given}))
    monkeypatch.setattr(
        claims, "CLAIMS", tuple(new if c.id == claim_id else c for c in claims.CLAIMS)
    )


#: Verdicts from the best to the worst (a kind's is the worst of its evidence's).
ORDER = ("pass", "qualified", "refuted", "fail")


def verdicts(claim_id, *extra):
    code, out, _ = run_cli("verify", claim_id, *FAST, "--format", "json", *extra)
    (result,) = json.loads(out)["claims"]
    kinds = {}
    for e in result["evidence"]:
        kinds[e["kind"]] = max(kinds.get(e["kind"], "pass"), e["status"], key=ORDER.index)
    return code, result, kinds


#: The verdicts the SPEC's caveats call for (section 3): QUALIFIED where the
#: article needs an assumption, holds only typically or in a weaker form.
EXPECTED = {
    "identities": "pass",
    "recursion": "pass",
    "vanish-explode": "qualified",  # needs a uniform rho
    "rnn-jacobian": "pass",
    "rnn-tanh-bounded": "qualified",  # fixed h_{t-1} != 0 only
    "rnn-relu-unbounded": "pass",
    "clipping": "pass",
    "lstm-decomposition": "pass",
    "lstm-saturation-045": "pass",
    "lstm-minor-terms": "qualified",  # typical case; 3 gates and a signed factor
    "lstm-forget-dominant": "pass",
    "lstm-state-jacobian": "pass",
    "gru-bounded-state": "qualified",  # exact arithmetic; float64 reaches 1
    "gru-decomposition": "pass",
    "gru-fewer-gates": "qualified",  # 2, 2 and 1 fewer
    "gru-less-stable": "pass",
    "gru-merged-decomposition": "pass",
    "late-reset-decomposition": "qualified",  # in SPEC section 1's reading only
    "long-horizon": "qualified",  # rnn-relu explodes in some trajectories
    # n dimensions (re-checked independently in test_nd_claims.py)
    "vanish-explode-nd": "refuted",  # J = s E_12: ||J|| = s, J^2 = 0
    "rnn-tanh-bounded-nd": "refuted",  # U orthogonal to h_{t-1}
    "rnn-relu-unbounded-nd": "pass",
    "clipping-nd": "refuted",  # U = 11^T: ||J|| = n
    "lstm-minor-terms-nd": "refuted",  # ||T_f|| = s/4 at ||U_f|| = 1
    "lstm-forget-dominant-nd": "qualified",  # not with N(0, 1) weights at n = 64
    "gru-bounded-state-nd": "pass",  # coordinatewise
    "lstm-saturation-045-nd": "pass",
    "gru-reset-factor-nd": "refuted",  # U_r orthogonal to h_{t-1}
    "gru-fewer-gates-nd": "qualified",  # gates on both sides of U do not compound
}


# ---------------------------------------------------------------- the catalog


def test_registry_is_spec_section_3():
    assert [(c.id, c.kinds) for c in claims.CLAIMS] == SPEC_TABLE


def test_a_claim_states_its_kinds_only_through_its_evidence():
    from symgrad.evidence import evidence_function

    old = claims.get_claim("lstm-saturation-045")
    with pytest.raises(ValueError, match="has no evidence"):
        dataclasses.replace(old, evidence=())
    with pytest.raises(ValueError, match="key 'M' is not one of 'NC'"):
        dataclasses.replace(old, key="M")
    with pytest.raises(ValueError, match=r"unknown evidence kind 'X'\. Valid kinds: S, N, C, M, P"):
        evidence_function("X", "a method")


def test_the_catalog_writes_mathematics_as_mathematics():
    # Titles, statements, the article's quotes and the caveats are prose with
    # inline math ($...$) and code (backquotes): no ASCII math in Markdown,
    # LaTeX or the text form.
    for c in claims.CLAIMS:
        for text in (c.title, c.statement, c.article, *c.caveats):
            assert text.count("$") % 2 == 0 and text.count("`") % 2 == 0, (c.id, text)
            assert ascii_math(text, latex=False) == [], (c.id, text)
            assert ascii_math(tex_inline(text), latex=True) == [], (c.id, text)
        for text in (c.title, *c.caveats):  # what `symgrad verify` prints as text
            assert not any(mark in plain(text) for mark in ("$", "`", "\\")), (c.id, text)


def test_every_claim_reaches_the_verdict_its_caveats_call_for(catalog):
    results, _ = catalog
    assert {r.claim.id: r.status for r in results} == EXPECTED
    for r in results:
        assert r.established
        # A qualified claim prints the form that holds; only a refuted one a
        # counterexample (beside what survives, which it prints too).
        assert bool(r.holds) == (r.status == "qualified") or r.status == "refuted", r.claim.id
        assert bool(r.counterexamples) == (r.status == "refuted"), r.claim.id
        assert "".join(dict.fromkeys(e.kind for e in r.evidence)) == r.claim.kinds, r.claim.id
        assert all(e.seconds >= 0 for e in r.evidence)


def test_the_assumptions_are_printed_beside_the_verdicts(catalog):
    results, _ = catalog
    caveats = {r.claim.id: " ".join(r.caveats) for r in results}
    assert "1/n^2" in caveats["vanish-explode"] and "1/2" in caveats["vanish-explode"]
    assert "h_{t-1} \\to 0" in caveats["rnn-tanh-bounded"]
    assert "(|a| + \\sqrt{1 + a^2})/2" in caveats["rnn-tanh-bounded"]
    assert "typical-case" in caveats["lstm-minor-terms"]
    assert "can exceed 1" in caveats["lstm-minor-terms"]
    assert "float64" in caveats["gru-bounded-state"]
    assert "gru-torch" in caveats["gru-decomposition"]
    assert "r_t" in caveats["late-reset-decomposition"]
    # Computed from the engine, not typed: the exact gate counts behind "one fewer".
    holds = {r.claim.id: r.holds for r in results}
    assert holds["gru-fewer-gates"] == ("fewer gates: 2, 2 and 1 fewer",)


def test_bound_evidence_carries_optimum_maximiser_and_interval(run):
    code, out, _ = run("verify", "lstm-saturation-045", "--format", "json")
    assert code == 0
    (claim,) = json.loads(out)["claims"]
    assert claim["id"] == "lstm-saturation-045" and claim["status"] == "pass"
    for e in claim["evidence"]:
        lo, hi = e["interval"]
        # The article's constant and its maximiser, typed from the article.
        assert lo <= 0.4477432047 <= hi < 0.45
        assert abs(abs(e["argmax"]["c_prev"]) - 0.7717) < last_place(4) / 2
        assert lo <= e["value"] <= hi


def test_monte_carlo_evidence_names_seed_size_and_distribution(run):
    code, out, _ = run("verify", "lstm-forget-dominant", "--seed", "7", "--samples", "3000")
    assert code == 0
    assert "seed 7" in out and "3000 samples" in out
    assert "N(0, 1)" in out and "forget bias b_f = 1" in out
    assert "[" in out.split("fraction |minor terms| < f_t:")[1].split("\n")[0]


def test_forget_bias_one_raises_the_forget_dominance_fraction():
    _, plain_run, _ = verdicts("lstm-forget-dominant")
    _, biased, _ = verdicts("lstm-forget-dominant", "--forget-bias", "1")
    m0 = next(e for e in plain_run["evidence"] if e["kind"] == "M")
    m1 = next(e for e in biased["evidence"] if e["kind"] == "M")
    assert m1["minor_smaller_than_f"]["ci"][0] > m0["minor_smaller_than_f"]["ci"][1]
    # The default run reports the b_f = 1 figure beside its own: the same number.
    assert m0["forget_bias_1"]["minor_smaller_than_f"]["value"] == pytest.approx(
        m1["minor_smaller_than_f"]["value"]
    )


# ---------------------------------------------------------------- each kind of evidence can fail


def test_symbolic_evidence_refutes_a_wrong_term_with_a_counterexample(monkeypatch):
    wrong = dict(claims.get_claim("lstm-decomposition").given["terms"])
    wrong["f"] = wrong["f"].replace("U_f", "U_i")
    plant(monkeypatch, "lstm-decomposition", terms=wrong)
    code, result, kinds = verdicts("lstm-decomposition")
    # A refutation is a result: exit 0, the counterexample printed, certified by balls.
    assert code == 0 and result["status"] == "refuted" and kinds == {"S": "refuted", "P": "refuted"}
    (first, *_) = result["counterexamples"]
    assert first.startswith("at ") and "U_f = " in first and "(disjoint balls)" in first


def test_symbolic_evidence_refutes_a_wrong_identity(monkeypatch):
    plant(
        monkeypatch,
        "identities",
        derivatives=(("sigmoid(x)", "sigmoid(x)*(1 + sigmoid(x))"),),
    )
    code, result, kinds = verdicts("identities")
    assert code == 0 and kinds == {"S": "refuted"}
    # At the printed x the two sides really differ (mpmath, by hand).
    x = float(sympy.Rational(result["counterexamples"][0].split("x = ")[1].split(":")[0]))
    sig = 1 / (1 + math.exp(-x))
    assert abs(sig * (1 - sig) - sig * (1 + sig)) > 1e-3


def test_symbolic_evidence_fails_on_a_wrong_recursion(monkeypatch):
    plant(monkeypatch, "recursion", recursion="a*g", T=3)
    code, _, kinds = verdicts("recursion")
    assert code == 1 and kinds["S"] == "fail"


def test_symbolic_evidence_refutes_a_wrong_gate_count(monkeypatch):
    plant(monkeypatch, "gru-fewer-gates", fewer=2)  # the candidate term has only one fewer
    code, result, kinds = verdicts("gru-fewer-gates")
    assert code == 0 and kinds == {"S": "refuted"}
    assert result["counterexamples"] == [
        "the engine's exact counts: GRU term through h\u0302: 3 gates; LSTM term through "
        "c\u0302: 4 (1 fewer), not 2 fewer"
    ]


def test_symbolic_evidence_fails_on_a_wrong_limit(monkeypatch):
    plant(monkeypatch, "vanish-explode", counterexample=("1 - 1/n**2", "0"))
    code, _, kinds = verdicts("vanish-explode")
    assert code == 1 and kinds["S"] == "fail" and kinds["M"] == "pass"


def test_numerical_evidence_fails_on_a_wrong_optimum(monkeypatch):
    plant(monkeypatch, "lstm-saturation-045", argmax="0.7500")
    code, _, kinds = verdicts("lstm-saturation-045")
    assert code == 1 and kinds == {"N": "fail", "C": "pass"}


def test_a_planted_false_bound_is_refuted_with_a_certified_counterexample(run, monkeypatch):
    plant(monkeypatch, "lstm-saturation-045", bound=0.44)  # the supremum is 0.4477
    code, out, _ = run("verify", "lstm-saturation-045")
    assert code == 0 and "REFUTED" in out and "1 REFUTED" in out
    _, result, kinds = verdicts("lstm-saturation-045")
    assert kinds == {"N": "pass", "C": "refuted"}
    (counter,) = result["counterexamples"]
    # The certified lower end, rounded down, and where |g| reaches it.
    assert plain(counter).startswith("lo = 0.4477432046 ≥ 0.44, at c_{t-1} = ±0.7717")


def test_a_planted_disagreement_of_scipy_and_the_certificate_is_fail(run, monkeypatch):
    from symgrad import suprema

    real = suprema.scipy_sup

    def stalled(expr, variables, box, signed=False):
        value, argmax, symmetric = real(expr, variables, box, signed)
        return 0.9 * value, argmax, symmetric  # a local search stalled 10% low

    monkeypatch.setattr(suprema, "scipy_sup", stalled)
    code, out, _ = run("verify", "lstm-saturation-045")
    assert code == 1 and "1 FAIL" in out and "no verdict for: lstm-saturation-045" in out
    code, _, _ = run("bound", "lstm-saturation")
    assert code == 1


def test_certified_evidence_refutes_a_wrong_worst_case(monkeypatch):
    worst = dict(claims.get_claim("lstm-minor-terms").given["worst"])
    worst["lstm-candidate-term"] = "0.5000"  # the article's "compressed": not in the worst case
    plant(monkeypatch, "lstm-minor-terms", worst=worst)
    code, result, kinds = verdicts("lstm-minor-terms")
    assert code == 0 and kinds["C"] == "refuted" and kinds["S"] == "qualified"
    assert any("[1.0000000, 1.0000000] (certified)" in c for c in result["counterexamples"])


def test_monte_carlo_evidence_fails_on_a_wrong_fraction(run, monkeypatch):
    plant(monkeypatch, "lstm-forget-dominant", most=0.99)
    code, out, _ = run("verify", "lstm-forget-dominant", *FAST)
    assert code == 1 and "FAIL" in out
    _, _, kinds = verdicts("lstm-forget-dominant")
    assert kinds == {"S": "pass", "M": "fail"}


def test_monte_carlo_evidence_fails_on_a_reversed_comparison(monkeypatch):
    plant(monkeypatch, "gru-less-stable", cell="lstm", than="gru")
    code, _, kinds = verdicts("gru-less-stable")
    assert code == 1 and kinds == {"M": "fail"}


def test_finite_difference_evidence_refutes_a_wrong_term_at_its_worst_point(monkeypatch):
    wrong = dict(claims.get_claim("gru-decomposition").given["terms"])
    wrong["z"] = "z*(1 - z)*(h_hat + h_prev)*U_z"  # a sign flipped
    plant(monkeypatch, "gru-decomposition", terms=wrong)
    code, result, kinds = verdicts("gru-decomposition")
    assert code == 0 and kinds == {"S": "refuted", "P": "refuted"}
    (p,) = [e for e in result["evidence"] if e["kind"] == "P"]
    assert all("the raw derivative" in c for c in p["counterexamples"])


def test_an_evidence_that_errs_is_fail(monkeypatch):
    plant(monkeypatch, "gru-fewer-gates", match={"nope": ("f",)})
    code, result, kinds = verdicts("gru-fewer-gates")
    assert code == 1 and kinds == {"S": "fail"} and "KeyError" in result["key_figure"]


# ---------------------------------------------------------------- the command line


def test_unknown_claim_is_a_usage_error(run):
    code, out, err = run("verify", "lstm-saturation-45")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "lstm-saturation-045" in err and "Valid claims" in err


@pytest.mark.parametrize(
    "argv",
    [
        ("--init", "he"),
        ("--samples", "10"),
        ("--seed", "-1"),
        ("--forget-bias", "nan"),
        ("--steps", "0"),
        ("--format", "yaml"),
    ],
)
def test_bad_settings_are_usage_errors(run, argv):
    code, _, err = run("verify", "gru-fewer-gates", *argv)
    assert code == 2 and err.count("\n") == 1


def test_help_names_every_initialisation(run):
    from symgrad.defaults import INITS

    code, out, _ = run("verify", "--help")  # argparse's SystemExit, as an exit code
    assert code == 0
    text = " ".join(out.split())
    assert all(name in text for name in INITS)


def test_no_progress_when_stderr_is_not_a_terminal(run):
    code, _, err = run("verify", "gru-fewer-gates")
    assert code == 0 and err == ""


def test_progress_on_a_terminal(run):
    code, out, err = run("verify", "gru-fewer-gates", "clipping", tty=True)
    assert code == 0 and "[1/2] gru-fewer-gates" in err and "[2/2] clipping" in err
    assert "[1/2]" not in out


@pytest.mark.parametrize("fmt", ["text", "markdown", "latex"])
def test_formats(run, fmt):
    code, out, _ = run("verify", "gru-fewer-gates", "clipping", "--format", fmt)
    assert code == 0
    assert "gru-fewer-gates" in out and "clipping" in out
    marker = {"text": "PASS", "markdown": "| `clipping` |", "latex": "\\section*"}[fmt]
    assert marker in out


def test_list_shows_claims_beside_cells(run):
    code, out, _ = run("list", "--format", "json")
    data = json.loads(out)
    assert code == 0 and [c["id"] for c in data["claims"]] == [i for i, _ in SPEC_TABLE]
    code, out, _ = run("list")
    assert code == 0 and "Claims" in out and "lstm-saturation-045" in out


def test_json_is_strict_and_carries_the_required_figures(catalog):
    from symgrad.report.claims import verify_json

    results, ctx = catalog
    data = json.loads(json.dumps(verify_json(results, ctx), allow_nan=False))
    by_id = {c["id"]: c for c in data["claims"]}
    required = {
        "vanish-explode": ["rnn", "lstm", "gru"],
        "gru-less-stable": ["gru", "lstm"],
        "lstm-minor-terms": None,
        "lstm-forget-dominant": None,
        "lstm-state-jacobian": ["lstm", "gru-late-reset"],
    }
    for claim_id, cells in required.items():
        (m,) = [e for e in by_id[claim_id]["evidence"] if e["kind"] == "M"]
        reports = [m] if cells is None else [m["cells"][c] for c in cells]
        for r in reports:
            r = r.get("one_step", r)
            assert r["seed"] == ctx.settings.seed and r["samples"] == ctx.settings.samples
            for key in ("abs_dominant", "abs_minor_sum"):
                if r[key] is None:  # a one-term cell
                    continue
                assert set(r[key]) == {"mean", "p50", "p90", "p99"}
                assert all(len(v["ci"]) == 2 for v in r[key].values())
            assert 0 <= r["abs_derivative_exceeds_1"]["value"] <= 1
            assert "minor_outweighs_dominant" in r and "distribution" in r


def test_seeded_json_is_the_same_run_after_run(run):
    # Wall-clock seconds stay in the tables; JSON carries only what the seed decides.
    first = run("verify", "identities", "lstm-saturation-045", "--format", "json")
    second = run("verify", "identities", "lstm-saturation-045", "--format", "json")
    assert first[:2] == second[:2] and '"seconds"' not in first.out
