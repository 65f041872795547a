"""The claims catalog and `symgrad verify`: every claim passes, and every kind of
evidence fails when the statement it checks is planted wrong."""

import dataclasses
import io
import json
from types import MappingProxyType

import pytest

from symgrad import claims
from symgrad.cli import main

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
]

#: Small Monte Carlo runs for the planted-failure tests (the verdicts there do
#: not depend on the sample size: each plants a statement far from the truth).
FAST = ("--samples", "2000", "--steps", "300", "--flow-samples", "20")


def run(*argv):
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def plant(monkeypatch, claim_id, **given):
    """Replace part of what ``claim_id`` states by a wrong statement."""
    old = claims.get_claim(claim_id)
    new = dataclasses.replace(old, given=MappingProxyType({**old.given, **given}))
    monkeypatch.setattr(
        claims, "CLAIMS", tuple(new if c.id == claim_id else c for c in claims.CLAIMS)
    )


def verdicts(claim_id, *extra):
    code, out = run("verify", claim_id, *FAST, "--format", "json", *extra)
    (result,) = json.loads(out)["claims"]
    kinds = {}
    for e in result["evidence"]:  # a kind fails if any of its evidence fails
        kinds[e["kind"]] = "fail" if "fail" in (kinds.get(e["kind"]), e["status"]) else "pass"
    return code, result, kinds


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


def test_every_claim_passes_with_the_evidence_it_declares(catalog):
    results, _ = catalog
    failed = {r.claim.id: r.key_figure for r in results if not r.passed}
    assert not failed
    for r in results:
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
    # Computed from the engine, not typed: the exact gate counts behind "one fewer".
    assert "z vs f: 2 fewer" in caveats["gru-fewer-gates"]
    assert "h_hat vs c_hat: 1 fewer" in caveats["gru-fewer-gates"]
    assert "r_t" in caveats["late-reset-decomposition"]


def test_bound_evidence_carries_optimum_maximiser_and_interval():
    code, out = run("verify", "lstm-saturation-045", "--format", "json")
    assert code == 0
    (claim,) = json.loads(out)["claims"]
    assert claim["id"] == "lstm-saturation-045" and claim["status"] == "pass"
    for e in claim["evidence"]:
        lo, hi = e["interval"]
        # The article's constant and its maximiser, typed from the article.
        assert lo <= 0.4477432047 <= hi < 0.45
        assert abs(abs(e["argmax"]["c_prev"]) - 0.7717) < 5e-5
        assert lo <= e["value"] <= hi


def test_monte_carlo_evidence_names_seed_size_and_distribution():
    code, out = run("verify", "lstm-forget-dominant", "--seed", "7", "--samples", "3000")
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


def test_symbolic_evidence_fails_on_a_wrong_term(monkeypatch):
    wrong = dict(claims.get_claim("lstm-decomposition").given["terms"])
    wrong["f"] = wrong["f"].replace("U_f", "U_i")
    plant(monkeypatch, "lstm-decomposition", terms=wrong)
    code, result, kinds = verdicts("lstm-decomposition")
    assert code == 1 and result["status"] == "fail" and kinds["S"] == "fail"


def test_symbolic_evidence_fails_on_a_wrong_identity(monkeypatch):
    plant(
        monkeypatch,
        "identities",
        derivatives=(("sigmoid(x)", "sigmoid(x)*(1 + sigmoid(x))"),),
    )
    code, _, kinds = verdicts("identities")
    assert code == 1 and kinds == {"S": "fail"}


def test_symbolic_evidence_fails_on_a_wrong_recursion(monkeypatch):
    plant(monkeypatch, "recursion", recursion="a*g", T=3)
    code, _, kinds = verdicts("recursion")
    assert code == 1 and kinds["S"] == "fail"


def test_symbolic_evidence_fails_on_a_wrong_gate_count(monkeypatch):
    plant(monkeypatch, "gru-fewer-gates", fewer=2)  # the candidate term has only one fewer
    code, _, kinds = verdicts("gru-fewer-gates")
    assert code == 1 and kinds == {"S": "fail"}


def test_symbolic_evidence_fails_on_a_wrong_limit(monkeypatch):
    plant(monkeypatch, "vanish-explode", counterexample=("1 - 1/n**2", "0"))
    code, _, kinds = verdicts("vanish-explode")
    assert code == 1 and kinds["S"] == "fail" and kinds["M"] == "pass"


def test_numerical_evidence_fails_on_a_wrong_optimum(monkeypatch):
    plant(monkeypatch, "lstm-saturation-045", argmax="0.7500")
    code, _, kinds = verdicts("lstm-saturation-045")
    assert code == 1 and kinds == {"N": "fail", "C": "pass"}


def test_certified_evidence_fails_on_a_too_small_bound(monkeypatch):
    plant(monkeypatch, "lstm-saturation-045", bound=0.44)
    code, out = run("verify", "lstm-saturation-045")
    assert code == 1 and "FAIL" in out
    _, _, kinds = verdicts("lstm-saturation-045")
    assert kinds == {"N": "pass", "C": "fail"}


def test_certified_evidence_fails_on_a_wrong_worst_case(monkeypatch):
    worst = dict(claims.get_claim("lstm-minor-terms").given["worst"])
    worst["lstm-candidate-term"] = "0.5000"  # the article's "compressed": not in the worst case
    plant(monkeypatch, "lstm-minor-terms", worst=worst)
    code, _, kinds = verdicts("lstm-minor-terms")
    assert code == 1 and kinds["C"] == "fail" and kinds["S"] == "pass"


def test_monte_carlo_evidence_fails_on_a_wrong_fraction(monkeypatch):
    plant(monkeypatch, "lstm-forget-dominant", most=0.99)
    code, out = run("verify", "lstm-forget-dominant", *FAST)
    assert code == 1 and "FAIL" in out
    _, _, kinds = verdicts("lstm-forget-dominant")
    assert kinds == {"S": "pass", "M": "fail"}


def test_monte_carlo_evidence_fails_on_a_reversed_comparison(monkeypatch):
    plant(monkeypatch, "gru-less-stable", cell="lstm", than="gru")
    code, _, kinds = verdicts("gru-less-stable")
    assert code == 1 and kinds == {"M": "fail"}


def test_finite_difference_evidence_fails_on_a_wrong_term(monkeypatch):
    wrong = dict(claims.get_claim("gru-decomposition").given["terms"])
    wrong["z"] = "z*(1 - z)*(h_hat + h_prev)*U_z"  # a sign flipped
    plant(monkeypatch, "gru-decomposition", terms=wrong)
    code, _, kinds = verdicts("gru-decomposition")
    assert code == 1 and kinds == {"S": "fail", "P": "fail"}


# ---------------------------------------------------------------- the command line


def test_unknown_claim_is_a_usage_error(capsys):
    code, out = run("verify", "lstm-saturation-45")
    err = capsys.readouterr().err
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
def test_bad_settings_are_usage_errors(capsys, argv):
    code, _ = run("verify", "gru-fewer-gates", *argv)
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1


def test_help_names_every_initialisation(capsys):
    from symgrad.defaults import INITS

    with pytest.raises(SystemExit):
        main(["verify", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert all(name in text for name in INITS)


def test_no_progress_when_stderr_is_not_a_terminal(capsys):
    code, _ = run("verify", "gru-fewer-gates")
    assert code == 0 and capsys.readouterr().err == ""


def test_progress_on_a_terminal(monkeypatch, capsys):
    import sys

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    code, out = run("verify", "gru-fewer-gates", "clipping")
    err = capsys.readouterr().err
    assert code == 0 and "[1/2] gru-fewer-gates" in err and "[2/2] clipping" in err
    assert "[1/2]" not in out


@pytest.mark.parametrize("fmt", ["text", "markdown", "latex"])
def test_formats(fmt):
    code, out = run("verify", "gru-fewer-gates", "clipping", "--format", fmt)
    assert code == 0
    assert "gru-fewer-gates" in out and "clipping" in out
    marker = {"text": "PASS", "markdown": "| `clipping` |", "latex": "\\section*"}[fmt]
    assert marker in out


def test_list_shows_claims_beside_cells():
    code, out = run("list", "--format", "json")
    data = json.loads(out)
    assert code == 0 and [c["id"] for c in data["claims"]] == [i for i, _ in SPEC_TABLE]
    code, out = run("list")
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
