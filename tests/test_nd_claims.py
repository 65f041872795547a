"""The n-D claims (`<id>-nd`): each verdict re-checked independently of the engine.

Every re-check below is plain NumPy or mpmath: central differences of the raw
cell step (never the derived formulas), hand-written closed forms, seeded
random draws. Then: the tool's verdicts are what the re-checks say; the
counterexample points the tool certified are counterexamples here too; a
statement planted wrong is refuted, and a wrong witness gives no verdict; the
README's section "What changes in n dimensions" is what `symgrad prove` writes.
"""

import dataclasses
import os
import re
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType

import mpmath as mp
import numpy as np
import pytest

from symgrad import claims
from symgrad.evidence import Context
from tests.tolerances import ND_FD_REL, ND_FD_STEP, ND_NORM_REL

ROOT = Path(__file__).parent.parent
#: S(0) = sup_c |c| (1 - tanh^2 c), to 10 digits (re-derived in test_lstm_saturation_nd).
S0 = 0.4477432048


def sig(x):
    return 1 / (1 + np.exp(-x))


def norm(m):
    return np.linalg.norm(np.asarray(m, dtype=float), 2)


def fd_jac(step, v):
    """Central differences of ``step`` at ``v``: error ~h^2 |f'''| + EPS |f| / h."""
    v = np.asarray(v, dtype=float)
    h = ND_FD_STEP
    cols = [(step(v + h * e) - step(v - h * e)) / (2 * h) for e in np.eye(len(v))]
    return np.array(cols).T


def exact(point):
    """A point the tool printed (fractions as text) as float arrays."""
    return {k: np.array(_floats(v)) for k, v in point.items()}


def _floats(v):
    return [_floats(x) for x in v] if isinstance(v, list) else float(Fraction(v))


# ---------------------------------------------------------------- re-checks


def test_vanish_explode_nd():
    s = 5.0
    j = np.array([[0, s], [0, 0]])
    assert np.isclose(norm(j), s) and not (j @ j).any()  # ||J|| = s > 1, J^2 = 0
    rng = np.random.default_rng(0)
    for _ in range(200):
        a, b = rng.normal(size=(2, 3, 3))

        def smin(m):
            return np.linalg.svd(m, compute_uv=False)[-1]

        assert smin(a @ b) >= smin(a) * smin(b) * (1 - ND_NORM_REL)  # sigma_min survives
        assert norm(a @ b) <= norm(a) * norm(b) * (1 + ND_NORM_REL)  # submultiplicative


def test_rnn_tanh_bounded_nd():
    a, h, w = np.array([0.5, -2.0]), np.array([0.6, 0.8]), np.array([-0.8, 0.6])
    for s in (10.0, 1e3):
        u = s * np.outer([1, 0], w)  # U h = 0
        j = fd_jac(lambda v, u=u: np.tanh(a + u @ v), h)
        assert np.isclose(norm(j), s / np.cosh(0.5) ** 2, rtol=ND_FD_REL)
    rng = np.random.default_rng(1)  # the gain along h stays bounded
    bound = np.linalg.norm((np.abs(a) + np.sqrt(1 + a * a)) / 2)
    for _ in range(2000):
        u = rng.normal(scale=rng.uniform(0.1, 20), size=(2, 2))
        j = (1 / np.cosh(a + u @ h) ** 2)[:, None] * u
        assert np.linalg.norm(j @ h) <= bound


def test_rnn_relu_unbounded_nd():
    s, h = 1e4, np.ones(3)
    j = fd_jac(lambda v: np.maximum(s * np.eye(3) @ v, 0), h)
    assert np.isclose(norm(j), s)


def test_clipping_nd():
    for n in (2, 3, 8):
        u = np.ones((n, n))  # |U_ij| <= 1
        j = fd_jac(lambda v, u=u: np.tanh(u @ v), np.zeros(n))  # a = 0, h = 0
        assert np.isclose(norm(j), n, rtol=ND_FD_REL)
        assert np.isclose(norm(np.linalg.matrix_power(j, 5)), n**5, rtol=5 * ND_FD_REL)
        assert norm(u / norm(u)) <= 1 + ND_NORM_REL  # spectral clipping


def _c_next(u_f, o, ic):
    def c_next(c):  # U_i = U_c = 0, W_f x + b_f = 0
        return sig(u_f @ (o * np.tanh(c))) * c + ic

    return c_next


def test_lstm_minor_terms_nd():
    u_f = np.array([[0.0, 1.0], [0.0, 0.0]])
    c_next = _c_next(u_f, np.array([0.7, 1.0]), np.array([0.3, -0.2]))
    for s in (1.0, 10.0, 100.0):
        j = fd_jac(c_next, np.array([s, 0.0]))
        assert np.allclose(j, [[0.5, s / 4], [0, 0.5]], atol=ND_FD_REL)  # ||T_f|| = s/4
    assert norm(fd_jac(c_next, np.array([10.0, 0.0]))) > 1
    assert norm(fd_jac(c_next, np.array([3.0, 0.0]))) < 1 + ND_FD_REL  # > 1 iff s > 3


def test_lstm_montecarlo_nd():
    rng, n, big_n = np.random.default_rng(20201113), 64, 200
    u = {g: rng.normal(scale=n**-0.5, size=(big_n, n, n)) for g in "fic"}
    a = {
        g: rng.normal(size=(big_n, n))
        + np.einsum(
            "bij,bj->bi", rng.normal(scale=n**-0.5, size=(big_n, n, n)), rng.normal(size=(big_n, n))
        )
        for g in "fic"
    }
    c, o = rng.normal(size=(big_n, n)), rng.uniform(size=(big_n, n))
    h = o * np.tanh(c)
    p = {g: a[g] + np.einsum("bij,bj->bi", u[g], h) for g in "fic"}
    f, i, ch = sig(p["f"]), sig(p["i"]), np.tanh(p["c"])
    col = (o / np.cosh(c) ** 2)[:, None, :]
    minor = (
        (c * f * (1 - f))[:, :, None] * u["f"]
        + (ch * i * (1 - i))[:, :, None] * u["i"]
        + (i * (1 - ch**2))[:, :, None] * u["c"]
    ) * col
    j = minor + np.einsum("bi,ij->bij", f, np.eye(n))
    norms = np.linalg.norm(j, 2, axis=(1, 2))
    assert np.mean(norms > 1) > 0.7  # the tool: 0.863 [0.820, 0.898] at N = 300
    assert np.mean(np.linalg.norm(minor, 2, axis=(1, 2)) < f.max(1)) > 0.95


def test_gru_bounded_state_nd():
    q = 0.9
    h1 = sig(np.log(q / (1 - q))) * np.tanh(np.arctanh(q)) * np.ones(2)  # z = h_hat = 9/10
    assert np.isclose(h1[0], 0.81) and np.linalg.norm(h1, np.inf) < 1 < np.linalg.norm(h1)
    rng = np.random.default_rng(2)
    for _ in range(200):
        uz, ur, uh = rng.normal(scale=3, size=(3, 4, 4))
        h = np.zeros(4)
        for _t in range(20):
            az, ar, ah = rng.normal(scale=3, size=(3, 4))
            z, r = sig(az + uz @ h), sig(ar + ur @ h)
            h = (1 - z) * h + z * np.tanh(ah + uh @ (r * h))
            assert np.abs(h).max() <= 1 and np.linalg.norm(h) <= 2  # float: <= 1; sqrt(n) = 2
    mp.mp.dps = 40
    assert 1 - mp.tanh(20) / (1 + mp.exp(-40)) > 0  # exact: < 1 where float64 gives 1.0


def test_lstm_saturation_nd():
    mp.mp.dps = 30
    cs = mp.findroot(lambda c: 2 * c * mp.tanh(c) - 1, 0.77)
    s0 = cs * mp.sech(cs) ** 2
    assert abs(s0 - mp.mpf("0.4477432047")) < 1e-9 and abs(s0 - S0) < 1e-9
    c = np.random.default_rng(3).normal(scale=2, size=(1000, 16))
    assert (np.abs(c / np.cosh(c) ** 2).max(axis=1) <= float(s0) + ND_NORM_REL).all()


def test_gru_reset_nd():
    h = np.array([0.5, 0.5])
    for s in (10.0, 100.0, 1000.0):
        ur = s * np.outer([1, 0], [1, -1])  # U_r h = 0: r = 1/2 fixed
        r = fd_jac(lambda v, ur=ur: sig(ur @ v) * v, h)
        # R(s) = R(0) + s B with ||B|| = sqrt(2)/8 and ||R(0)|| = 1/2: the triangle inequality.
        assert norm(r) >= s * np.sqrt(2) / 8 - 0.5


def test_gates_on_both_sides_do_not_compound():
    alpha, beta = np.array([0.99, 0.01]), np.array([0.01, 0.99])
    term = np.diag(alpha) @ np.array([[0.0, 1.0], [0.0, 0.0]]) @ np.diag(beta)
    assert np.isclose(norm(term), 0.9801) and np.max(alpha * beta) == pytest.approx(0.0099)


# ---------------------------------------------------------------- the tool's verdicts

#: What the re-checks above say, claim by claim.
EXPECTED = {
    "vanish-explode-nd": "refuted",
    "rnn-tanh-bounded-nd": "refuted",
    "rnn-relu-unbounded-nd": "pass",
    "clipping-nd": "refuted",
    "lstm-minor-terms-nd": "refuted",
    "lstm-forget-dominant-nd": "qualified",
    "gru-bounded-state-nd": "pass",
    "lstm-saturation-045-nd": "pass",
    "gru-reset-factor-nd": "refuted",
    "gru-fewer-gates-nd": "qualified",
}


def _nd(catalog):
    results, ctx = catalog
    return {r.claim.id: r for r in results if r.claim.id.endswith("-nd")}, ctx


def test_the_verdicts_are_what_the_rechecks_say(catalog):
    results, _ = _nd(catalog)
    assert {k: r.status for k, r in results.items()} == EXPECTED
    for r in results.values():
        # A refutation carries its counterexample, a qualification its form; the
        # surviving forms of a refuted claim are printed too.
        assert bool(r.counterexamples) == (r.status == "refuted"), r.claim.id
        assert r.holds or r.status == "pass", r.claim.id
        for e in r.evidence:  # every search and sample names its seed
            assert e.kind not in "NM" or re.search(r"seed \d+", " ".join(e.details)), r.claim.id


def _figures(r, kind):
    (e,) = [e for e in r.evidence if e.kind == kind]
    return e.figures


def test_the_certified_counterexamples_are_counterexamples_here(catalog):
    results, _ = _nd(catalog)
    # vanish-explode-nd: every factor above 1, the product of three near 0.
    for n, f in _figures(results["vanish-explode-nd"], "N")["n"].items():
        p = exact(f["point"])
        h, product, smallest = p["h_prev"], np.eye(n), np.inf
        for _ in range(3):
            j = fd_jac(lambda v, p=p: np.tanh(p["b"] + p["U"] @ v), h)
            smallest, product = min(smallest, norm(j)), j @ product
            h = np.tanh(p["b"] + p["U"] @ h)
        assert smallest > 1 and norm(product) < smallest**3, n
    # rnn-tanh-bounded-nd: far above the along-h bound (|a| + sqrt(1 + a^2))/2.
    points = claims.get_claim("rnn-tanh-bounded-nd").given["points"]
    for n, f in _figures(results["rnn-tanh-bounded-nd"], "N")["n"].items():
        p = exact(f["point"])
        a, h = np.array(_floats(list(points[n]["a"]))), p["h_prev"]
        j = fd_jac(lambda v, p=p, a=a: np.tanh(a + p["U"] @ v), h)
        along = np.linalg.norm((np.abs(a) + np.sqrt(1 + a * a)) / 2) / np.linalg.norm(h)
        assert norm(j) >= f["certified_at_largest_L"] * (1 - ND_FD_REL) > 10 * along
    # clipping-nd: entries within [-1, 1], norm close to n.
    for key, f in _figures(results["clipping-nd"], "N").items():
        p, n = exact(f["point"]), int(key[-2])
        act = np.tanh if key.startswith("rnn (") else (lambda x: np.maximum(x, 0))
        j = fd_jac(lambda v, p=p, act=act: act(p["b"] + p["U"] @ v), p["h_prev"])
        assert np.abs(p["U"]).max() <= 1 and norm(j) > n - 0.01, key
    # lstm-minor-terms-nd: the forget term over ||U_f|| above S(0)/4.
    for key, f in _figures(results["lstm-minor-terms-nd"], "N").items():
        if "point" not in f or not key.startswith("f,"):
            continue
        p = exact(f["point"])

        def forget(c, p=p):  # f_t(c) = sigma(b_f + U_f (o tanh c)); U_i = U_c = 0, W = 0
            return sig(p["b_f"] + p["U_f"] @ (p["o_prev"] * np.tanh(c)))

        # c_t = f_t(c) c + (a constant): its Jacobian is diag(f_t) + T_f.
        j = fd_jac(lambda c, forget=forget: forget(c) * c, p["c_prev"])
        t_f = j - np.diag(forget(p["c_prev"]))
        assert norm(t_f) / norm(p["U_f"]) > S0 / 4, key
    # gru-reset-factor-nd: R = d(sigma(U_r v) v)/dv at h, far above the 1-D bound 1.0999.
    for n, f in _figures(results["gru-reset-factor-nd"], "N")["n"].items():
        p = exact(f["point"])
        r = fd_jac(lambda v, p=p: sig(p["U_r"] @ v) * v, p["h_prev"])
        assert norm(r) >= f["certified"] * (1 - ND_FD_REL) > 10, n


# ---------------------------------------------------------------- planted statements


def _planted(claim_id, **given):
    old = claims.get_claim(claim_id)
    return dataclasses.replace(old, given=MappingProxyType({**old.given, **given}))


def _run(claim, function):
    return function(claim, Context())


def test_a_planted_false_constant_is_found_by_the_search_and_certified():
    from symgrad import evidence_nd_lstm

    old = claims.get_claim("lstm-minor-terms-nd").given["stated"]
    claim = _planted("lstm-minor-terms-nd", stated={**old, "i": "1/8"})
    e = _run(claim, evidence_nd_lstm.minor_terms_nd_search)
    assert e.status == "refuted"
    assert any("U_i" in c and "$>$ 0.125" in c for c in e.counterexamples)


def test_a_planted_larger_clipping_bound_still_fails_for_larger_n():
    from symgrad import evidence_nd

    e = _run(_planted("clipping-nd", bound=4.0), evidence_nd.clipping_nd_exact)
    assert e.status == "refuted" and "from n = 5 on" in e.counterexamples[0]
    # The search at n = 2, 3 finds nothing above 4: it says so, and refutes nothing.
    e = _run(_planted("clipping-nd", bound=4.0), evidence_nd.clipping_nd_search)
    assert e.status == "pass"


@pytest.mark.parametrize(
    ("claim_id", "given", "function"),
    [
        # U(s) = s I is no counterexample to growth: the family does not check.
        (
            "vanish-explode-nd",
            {"family": {"U": (("s", "0"), ("0", "s")), "b": ("0", "0"), "h_prev": ("0", "0")}},
            "vanish_explode_nd_exact",
        ),
        # A U(s) that moves the pre-activation (not orthogonal to h_{t-1}).
        (
            "rnn-tanh-bounded-nd",
            {"family": {2: {"U": (("s", "0"), ("0", "0"))}, 3: {"U": (("s", "0", "0"),) * 3}}},
            "tanh_nd_exact",
        ),
    ],
)
def test_a_wrong_witness_gives_no_verdict(claim_id, given, function):
    from symgrad import evidence_nd

    e = _run(_planted(claim_id, **given), getattr(evidence_nd, function))
    assert e.status == "fail" and not e.counterexamples


# ---------------------------------------------------------------- README


BEGIN = "<!-- n-D section: written by symgrad prove (proofs/n-dimensions.md); do not edit -->"
END = "<!-- end of the n-D section -->"


def test_the_readme_section_is_what_prove_writes(catalog):
    from symgrad.report.claims import nd_section

    results, _ = catalog
    fresh = nd_section(results, base="proofs/")
    readme = (ROOT / "README.md").read_text()
    if os.environ.get("SYMGRAD_REGEN_README") == "1":
        head, _, rest = readme.partition(BEGIN)
        _, _, tail = rest.partition(END)
        (ROOT / "README.md").write_text(f"{head}{BEGIN}\n{fresh}{END}{tail}")
        return
    section = readme.partition(BEGIN)[2].partition(END)[0]
    assert section == "\n" + fresh, "README's n-D section is stale: SYMGRAD_REGEN_README=1"
    # The same text, with links relative to proofs/, is proofs/n-dimensions.md.
    assert (ROOT / "proofs" / "n-dimensions.md").read_text() == nd_section(results)
