"""The article's claims: the catalog, one entry per claim, and how a run checks them.

:data:`CLAIMS` is SPEC section 3's catalog, in the article's order. A claim
holds what it states as data (``given``: the article's formulas as text, its
numbers, its thresholds) and the evidence functions that confront that
statement with the derivation engine, the bounds, finite differences and
seeded Monte Carlo (:mod:`symgrad.evidence_symbolic`,
:mod:`symgrad.evidence_numeric`); the kinds of its evidence are its kinds
(:data:`symgrad.evidence.KINDS`).

A claim passes only when every piece of its evidence passes; each prints the
caveats under which it holds (SPEC section 3: "a verifier that only confirms
is not one"). :func:`verify` checks claims under a :class:`Context` (the
Monte Carlo settings and what the claims share) and returns
:class:`ClaimResult` records; :mod:`symgrad.report.claims` prints them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from types import MappingProxyType

from . import evidence_nd as nd
from . import evidence_nd_gru as gru_nd
from . import evidence_nd_lstm as lstm_nd
from . import evidence_numeric as numeric
from . import evidence_symbolic as symbolic
from .evidence import Context, worst_status

__all__ = [
    "CLAIMS",
    "Claim",
    "ClaimError",
    "ClaimResult",
    "Context",
    "claim_ids",
    "evaluate_claim",
    "get_claim",
    "verify",
]


class ClaimError(ValueError):
    """An unknown claim id; the message lists the valid ones."""


# ---------------------------------------------------------------- records


@dataclass(frozen=True)
class Claim:
    """A claim of the article: what it states and how it is checked.

    ``id``: SPEC section 3's id; ``title``: one line; ``statement``: the claim
    in the article's terms; ``article``: the article's own words, its formulas
    as math (these three, the caveats and every evidence text: prose with
    inline LaTeX between ``$`` and typed names in backquotes, no ASCII math
    outside them); ``given``: the statement as data the evidence
    confronts (formulas as text in the cells' ASCII names, numbers,
    thresholds); ``evidence``: its evidence functions
    (:class:`symgrad.evidence.EvidenceFunction`), in the order they run;
    ``caveats``: where the article needs an assumption or holds only in the
    typical case; ``commands``: other commands that show the pieces; ``key``:
    the evidence kind whose summary is the claim's key figure (default: the
    last kind).
    """

    id: str
    title: str
    statement: str
    article: str
    given: MappingProxyType
    evidence: tuple
    caveats: tuple = ()
    commands: tuple = ()
    key: str = ""

    def __post_init__(self):
        if not self.evidence:
            raise ValueError(f"claim {self.id!r} has no evidence")
        if self.key and self.key not in self.kinds:
            raise ValueError(f"claim {self.id!r}: key {self.key!r} is not one of {self.kinds!r}")

    @property
    def kinds(self) -> str:
        """Its evidence kinds, each once, in order: ``"SP"``."""
        return "".join(dict.fromkeys(e.kind for e in self.evidence))


@dataclass(frozen=True)
class ClaimResult:
    """A checked claim: its evidence, caveats (static and computed) and time."""

    claim: Claim
    evidence: tuple
    caveats: tuple
    seconds: float

    @property
    def status(self) -> str:
        """The worst of its evidence's statuses (:data:`symgrad.evidence.STATUSES`):
        a claim holds as stated only if every piece of evidence says so."""
        return worst_status(e.status for e in self.evidence) if self.evidence else "fail"

    @property
    def established(self) -> bool:
        """A verdict was reached: pass, qualified or refuted (a refutation is a result)."""
        return self.status != "fail"

    @property
    def holds(self) -> tuple:
        """For a qualified claim, the forms that hold, from every piece of evidence."""
        return tuple(form for e in self.evidence for form in e.holds)

    @property
    def counterexamples(self) -> tuple:
        return tuple(c for e in self.evidence for c in e.counterexamples)

    @property
    def key_figure(self) -> str:
        """The verdict's reason: the forms that hold (qualified), the counterexample
        (refuted), the failing evidence's summary (fail), else the summary of the
        claim's key kind."""
        if self.status == "qualified":
            return "; ".join(self.holds)
        if self.status == "refuted":
            return "counterexample: " + self.counterexamples[0]
        if self.status == "fail":
            decisive = next(e for e in self.evidence if e.status == "fail")
            return f"{decisive.kind}: {decisive.summary}"
        key = self.claim.key or self.claim.kinds[-1]
        chosen = next((e for e in self.evidence if e.kind == key), self.evidence[-1])
        return chosen.summary


# ---------------------------------------------------------------- checking


def claim_ids() -> tuple:
    return tuple(c.id for c in CLAIMS)


def get_claim(claim_id: str) -> Claim:
    """The claim ``claim_id``; :class:`ClaimError` lists the valid ids."""
    for c in CLAIMS:
        if c.id == claim_id:
            return c
    raise ClaimError(f"unknown claim {claim_id!r}. Valid claims: {', '.join(claim_ids())}")


def evaluate_claim(claim: Claim, ctx: Context | None = None) -> ClaimResult:
    """Run every evidence function of ``claim`` under ``ctx`` (default: the
    default settings); returns its :class:`ClaimResult`, evidence and caveats."""
    ctx = ctx or Context()
    start = time.perf_counter()
    evidence = tuple(check(claim, ctx) for check in claim.evidence)
    caveats = list(claim.caveats)
    for e in evidence:
        caveats += e.caveats
    return ClaimResult(claim, evidence, tuple(caveats), time.perf_counter() - start)


def verify(ids=None, ctx: Context | None = None, progress=None) -> list:
    """Check the claims ``ids`` (default: all, in catalog order).

    ``progress(k, n, claim_id)`` is called before each claim. Returns a list of
    :class:`ClaimResult`. Raises :class:`ClaimError` for an unknown id.
    """
    ctx = ctx or Context()
    chosen = [get_claim(i) for i in ids] if ids else list(CLAIMS)
    results = []
    for k, claim in enumerate(chosen):
        if progress:
            progress(k, len(chosen), claim.id)
        results.append(evaluate_claim(claim, ctx))
    return results


# ---------------------------------------------------------------- the catalog
#
# One entry per claim of SPEC section 3, in the article's order. ``given`` is
# what the article states, as data; the evidence functions confront it.


def _given(**kwargs) -> MappingProxyType:
    return MappingProxyType(kwargs)


#: A decomposition claim: its terms exactly equal to the engine's (S), and
#: against finite differences of the forward pass (P).
DECOMPOSITION = (symbolic.decomposition_terms, numeric.decomposition_finite_differences)

_LSTM_TERMS = {
    "c_prev": "f",
    "f": "f*(1 - f)*o_prev*(1 - tanh(c_prev)**2)*c_prev*U_f",
    "i": "i*(1 - i)*o_prev*(1 - tanh(c_prev)**2)*c_hat*U_i",
    "c_hat": "i*(1 - c_hat**2)*o_prev*(1 - tanh(c_prev)**2)*U_c",
}

_GRU_TERMS = {
    "h_prev": "1 - z",
    "z": "z*(1 - z)*(h_hat - h_prev)*U_z",
    "h_hat": "z*(1 - h_hat**2)*r*(1 + (1 - r)*h_prev*U_r)*U_h",
}

CLAIMS = (
    Claim(
        id="identities",
        title="the four $\\sigma$/$\\tanh$ identities",
        statement="$\\tanh x = 2\\sigma(2x) - 1$, $\\sigma(x) = (\\tanh(x/2) + 1)/2$, "
        "$\\tanh' = 1 - \\tanh^2$, $\\sigma' = \\sigma(1 - \\sigma)$: the derivatives of "
        "$\\sigma$ and $\\tanh$ are written through themselves (gate form).",
        article="These formulas essentially state one thing: $\\tanh x$ and $\\sigma(x)$ are "
        "basically equivalent, and their derivatives can be expressed in terms of themselves.",
        given=_given(
            identities=(("tanh(x)", "2*sigmoid(2*x) - 1"), ("sigmoid(x)", "(tanh(x/2) + 1)/2")),
            derivatives=(
                ("tanh(x)", "1 - tanh(x)**2"),
                ("sigmoid(x)", "sigmoid(x)*(1 - sigmoid(x))"),
            ),
        ),
        evidence=(symbolic.identities_exact,),
        commands=("symgrad derive rnn",),
    ),
    Claim(
        id="recursion",
        title="$dh_t/d\\theta$ recursion and its unrolled product form ($T$ from 1 to 6)",
        statement="For $h_t = f(x_t, h_{t-1}; \\theta)$: $\\frac{dh_t}{d\\theta} = "
        "\\frac{\\partial h_t}{\\partial h_{t-1}} \\frac{dh_{t-1}}{d\\theta} + "
        "\\frac{\\partial h_t}{\\partial \\theta}$ (the gradient of an RNN is an RNN); unrolled, "
        "the coefficient of $\\partial h_1/\\partial\\theta$ is the product of the $t-1$ one-step "
        "partials.",
        article="As we can see, the gradient of an RNN is also an RNN. [...] the coefficient in "
        "front of the term $\\partial h_1/\\partial\\theta$ is the product of $t-1$ terms.",
        given=_given(recursion="a*g + b", coefficient_factors="T - 1", T=6, cells=("rnn",)),
        evidence=(symbolic.recursion_abstract, symbolic.recursion_unrolled_cells),
    ),
    Claim(
        id="vanish-explode",
        title="$|\\partial h_t/\\partial h_{t-1}| \\le \\rho < 1 \\Rightarrow$ vanishing; "
        "$\\ge \\rho > 1 \\Rightarrow$ exploding",
        statement="If $|\\partial h_t/\\partial h_{t-1}| \\le \\rho < 1$ for all $t$, the "
        "coefficient of $\\partial h_1/\\partial\\theta$ is at most $\\rho^{t-1} \\to 0$; if it "
        "is $\\ge \\rho > 1$, it grows without bound. A one-step derivative equal to 1 at every "
        "step is improbable.",
        article="when $|\\partial h_t/\\partial h_{t-1}| < 1$ [...] the gradient will inevitably "
        "vanish [...] (similar to $0.9^n \\to 0$); when $> 1$ [...] explode (similar to "
        "$1.1^n \\to \\infty$). It is impossible for $|\\partial h_t/\\partial h_{t-1}| = 1$ to "
        "hold all the time, right?",
        given=_given(
            counterexample=("1 - 1/n**2", "1/2"),
            cells=("rnn", "rnn-relu", "lstm", "gru", "gru-merged", "gru-late-reset", "gru-torch"),
            near_one_at_most=0.05,
        ),
        evidence=(symbolic.vanish_explode_limits, numeric.vanish_explode_monte_carlo),
        caveats=(
            'Needs a uniform bound $\\rho < 1$: "every factor below 1" alone is not enough '
            "($\\prod_{n \\ge 2} (1 - 1/n^2) = 1/2$, not 0).",
            "The Monte Carlo treats steps as independent draws; along a real trajectory the "
            "one-step derivatives are correlated (see `long-horizon`).",
        ),
        key="M",
    ),
    Claim(
        id="rnn-jacobian",
        title="SimpleRNN: $\\partial h_t/\\partial h_{t-1} = (1 - h_t^2) U$",
        statement="For $h_t = \\tanh(W x_t + U h_{t-1} + b)$: "
        "$\\partial h_t/\\partial h_{t-1} = (1 - h_t^2) U$.",
        article="From the previous discussion, we know that gradient vanishing or explosion "
        "mainly depends on $|\\partial h_t/\\partial h_{t-1}|$, so we calculate: [...]",
        given=_given(cell="rnn", terms={"h_prev": "(1 - h**2)*U"}, dominant="h_prev"),
        evidence=DECOMPOSITION,
        commands=("symgrad derive rnn", "symgrad check rnn"),
    ),
    Claim(
        id="rnn-tanh-bounded",
        title="$\\sup_U |(1 - h_t^2) U| = S(a)/|h_{t-1}|$, $S(0) \\approx 0.4477$, "
        "$S(a) \\le |a| + S(0)$",
        statement="For fixed $a = W x_t + b$ and $h_{t-1} \\ne 0$, "
        "$\\sup_U |(1 - h_t^2) U| = S(a)/|h_{t-1}|$ with "
        "$S(a) = \\sup_v |v - a| (1 - \\tanh^2 v)$ finite; $S(0) \\approx 0.4477$; "
        "$S(a) \\le |a| + S(0)$.",
        article="it can be strictly proven that if we fix $h_{t-1} \\ne 0$, then $(1-h_t^2)U$ is "
        "bounded as a function of $U$.",
        given=_given(
            substituted="(1 - tanh(v)**2)*(v - a)/h_prev",
            S0="0.4477",
            a=(0.5, 2.0, 5.0),
            h=(1.0, 0.5, 0.1),
        ),
        evidence=(
            symbolic.rnn_tanh_substitution,
            numeric.rnn_tanh_optimum,
            numeric.rnn_tanh_certified,
        ),
        caveats=(
            "Holds for fixed $h_{t-1} \\ne 0$ only: the bound $S(a)/|h_{t-1}|$ blows up as "
            "$h_{t-1} \\to 0$ (the first step from $h_0 = 0$ is unbounded in $U$) and grows "
            "like $|W x_t + b|$.",
            "A sharper bound than $|a| + S(0)$ exists: $S(a) \\le (|a| + \\sqrt{1 + a^2})/2$ "
            "(proved for every $a$ by the S evidence).",
        ),
        commands=("symgrad bound rnn-tanh --param a=0 --param h=1",),
        key="C",
    ),
    Claim(
        id="rnn-relu-unbounded",
        title="ReLU: $\\partial h_t/\\partial h_{t-1} = U$ on the active side, unbounded in $U$",
        statement="With ReLU, $\\partial h_t/\\partial h_{t-1} = U$ where $h_t > 0$ (and 0 "
        "elsewhere): unbounded in $U$.",
        article="if ReLU activation is used, its derivative on the positive axis is always 1, "
        "and at this time $\\partial h_t/\\partial h_{t-1} = U$ is unbounded",
        given=_given(active="U", L=(1.0, 10.0, 100.0, 1000.0)),
        evidence=(symbolic.relu_active_side, numeric.relu_optimum),
        commands=("symgrad derive rnn-relu", "symgrad bound rnn-relu --param L=100"),
        key="N",
    ),
    Claim(
        id="clipping",
        title="clipping $U$ into $[-1, 1]$ gives $|\\partial h_t/\\partial h_{t-1}| \\le 1$ "
        "(tanh and ReLU)",
        statement="If $U$ is clipped into $[-1, 1]$, then $|\\partial h_t/\\partial h_{t-1}| "
        "\\le 1$ for the tanh and the ReLU SimpleRNN.",
        article="if I artificially clip $U$ into the range $[-1, 1]$, can't I guarantee that the "
        "gradient won't explode?",
        given=_given(cells=("rnn", "rnn-relu"), bound=1.0),
        evidence=(symbolic.clipping_factors, numeric.clipping_certified),
        commands=("symgrad bound clipping",),
        key="C",
    ),
    Claim(
        id="lstm-decomposition",
        title="LSTM: $\\partial c_t/\\partial c_{t-1} = f_t$ + three minor terms",
        statement="$\\frac{\\partial c_t}{\\partial c_{t-1}} = f_t + c_{t-1} "
        "\\frac{\\partial f_t}{\\partial c_{t-1}} + \\hat{c}_t \\frac{\\partial i_t}{\\partial "
        "c_{t-1}} + i_t \\frac{\\partial \\hat{c}_t}{\\partial c_{t-1}}$ with "
        "$h_{t-1} = o_{t-1} \\tanh c_{t-1}$, $o_{t-1}$ held fixed; dominant term $f_t$.",
        article='The first term on the right, $f_t$, is what we call the "forget gate." [...] the '
        'other three terms are generally minor, so $f_t$ is the "main term."',
        given=_given(cell="lstm", terms=_LSTM_TERMS, dominant="c_prev"),
        evidence=DECOMPOSITION,
        caveats=(
            "Exact for one step only: the LSTM's state is $(c, h)$ and the product of one-step "
            "terms misses a path through $o_t$ (see `lstm-state-jacobian`).",
        ),
        commands=("symgrad derive lstm", "symgrad check lstm"),
    ),
    Claim(
        id="lstm-saturation-045",
        title="$\\sup_c |(1 - \\tanh^2 c)\\,c| < 0.45$",
        statement="$\\sup_c |(1 - \\tanh^2 c)\\,c| < 0.45$; the value is $\\approx 0.44774$ "
        "at $c \\approx 0.7717$, the root of $2 c \\tanh c = 1$.",
        article="it can also be proven that $|(1 - \\tanh^2 c_{t-1}) c_{t-1}| < 0.45$",
        given=_given(bound=0.45, value="0.44774", argmax="0.7717"),
        evidence=(numeric.lstm_saturation_optimum, numeric.lstm_saturation_certified),
        commands=("symgrad bound lstm-saturation",),
        key="C",
    ),
    Claim(
        id="lstm-minor-terms",
        title="each minor LSTM term is $|U_g|$ times gates: bounds and typical sizes",
        statement="Each minor term of $\\partial c_t/\\partial c_{t-1}$ is $|U_g|$ times a "
        "product of gates and factors bounded by 1, e.g. $|c_{t-1} \\partial f_t/\\partial "
        "c_{t-1}| \\le S(0)/4 \\cdot |U_f| \\approx 0.1119 |U_f|$; under standard "
        "initialisation each is typically smaller than $f_t$.",
        article="$c_{t-1} \\partial f_t/\\partial c_{t-1}$ is equivalent to one $U_f$ multiplied "
        'by four "gates," '
        "and the result will be compressed even smaller. [...] Compared with the simple RNN "
        "gradient, it has three more gates.",
        given=_given(
            terms={"f": ("U_f", 4), "i": ("U_i", 4), "c_hat": ("U_c", 4)},
            more_than_rnn=3,
            most=0.5,
            worst={
                "lstm-forget-term": "0.1119",
                "lstm-input-term": "0.2500",
                "lstm-candidate-term": "1.0000",
            },
        ),
        evidence=(
            symbolic.minor_term_factors,
            numeric.minor_term_worst_cases,
            numeric.minor_terms_monte_carlo,
        ),
        caveats=(
            "A typical-case statement: in the worst case the $U_c$ term is not compressed at "
            "all (it reaches $|U_c|$), and $\\partial c_t/\\partial c_{t-1}$ can exceed 1.",
            "The factor $(1 - \\tanh^2 c_{t-1})\\,c_{t-1}$ is signed, in $[-S(0), S(0)]$: not a "
            "gate.",
        ),
        commands=("symgrad bound lstm-forget-term", "symgrad bound lstm-candidate-term"),
        key="M",
    ),
    Claim(
        id="lstm-forget-dominant",
        title="$f_t \\in (0, 1)$ dominates: minor terms smaller than $f_t$ in most samples",
        statement="$f_t \\in (0, 1)$, so the dominant term alone cannot exceed 1; under the "
        "initialisation drawn (by default SPEC's, and again with forget bias 1) the sum of the "
        "minor terms is smaller than $f_t$ in most samples.",
        article="Since $f_t$ is between 0 and 1, this means the risk of gradient explosion will be "
        "very small. [...] Thus, the dominant term is still $f_t$.",
        given=_given(dominant="f", most=0.5),
        evidence=(symbolic.forget_gate_range, numeric.forget_dominance_monte_carlo),
        caveats=('"Most samples" depends on the distribution: see `--init` and `--forget-bias`.',),
        key="M",
    ),
    Claim(
        id="lstm-state-jacobian",
        title="the exact $(c, h)$ state Jacobian; gap to the article's product",
        statement="The LSTM's state is $(c_t, h_t)$; the article's $\\partial c_t/\\partial "
        "c_{t-1}$ is exact for one step, but over several steps the product of one-step terms "
        "misses the path $c_{t-1} \\to h_{t-1} \\to o_t \\to h_t \\to c_{t+1}$.",
        article="We could calculate $\\partial h_t/\\partial h_{t-1}$ as we did before, but as "
        "$h_t = o_t \\tanh(c_t)$, analyzing $c_t$ is equivalent to analyzing $h_t$",
        given=_given(
            cells={"lstm": "o", "gru-late-reset": "r"},
            # The worked example: x = 0, W = 0, b = 0 but b_f = 1, U = 2,
            # c_{t-1} = 1, o_{t-1} = 1/2.
            example={
                "lstm": {
                    **{f"W_{g}": 0 for g in "fico"},
                    **{f"b_{g}": 0 for g in "ico"},
                    **{f"U_{g}": 2 for g in "fico"},
                    "b_f": 1,
                    "x": 0,
                    "c_prev": 1,
                    "o_prev": "1/2",
                }
            },
        ),
        evidence=(symbolic.state_jacobian_rows, numeric.state_gap_monte_carlo),
        caveats=(
            "The article's product of one-step $\\partial c/\\partial c$ terms misses the path "
            "through $o_t$; `gru-late-reset` has the same kind of miss, through $r_t$.",
        ),
        commands=("symgrad derive lstm --wrt state",),
        key="M",
    ),
    Claim(
        id="gru-bounded-state",
        title="GRU: with $h_0 = 0$, $|h_t| < 1$ for all $t$",
        statement="With $h_0 = 0$, $|h_t| < 1$ for all $t$: $h_t$ is a convex combination of "
        "$h_{t-1}$ and $\\hat{h}_t \\in (-1, 1)$.",
        article="$h_t$, as a weighted average of $h_{t-1}$ and $\\hat{h}_t$, also remains between "
        "$-1$ and $1$. Thus, $h_t$ itself has a function similar to a gate.",
        given=_given(
            cells={
                "gru": "z*(h_hat - h_prev)",
                "gru-merged": "r*(h_hat - h_prev)",
                "gru-torch": "(1 - z)*(n - h_prev)",
            },
            certify="gru",
            runs=8,
            steps=40,
            scales=(1, 30),
        ),
        evidence=(symbolic.gru_convex_update, numeric.gru_state_certified),
        caveats=(
            "Exact arithmetic: in float64 tanh saturates to exactly 1, so only "
            "$|h_t| \\le 1$ holds there.",
        ),
        key="C",
    ),
    Claim(
        id="gru-decomposition",
        title="GRU: $\\partial h_t/\\partial h_{t-1} = (1 - z_t)$ + two minor terms",
        statement="$\\frac{\\partial h_t}{\\partial h_{t-1}} = (1 - z_t) + z_t (1 - z_t)"
        "(\\hat{h}_t - h_{t-1}) U_z + z_t (1 - \\hat{h}_t^2) r_t (1 + (1 - r_t) h_{t-1} U_r) "
        "U_h$; dominant term $1 - z_t$.",
        article="The dominant term should be $1 - z_t$ [...] it also introduces an additional "
        "term $1 + (1 - r_t) h_{t-1} U_r$.",
        given=_given(cell="gru", terms=_GRU_TERMS, dominant="h_prev"),
        evidence=DECOMPOSITION,
        caveats=(
            "$\\hat{h}_t - h_{t-1}$ lies in $(-2, 2)$, and the reset factor "
            "$r_t (1 + (1 - r_t) h_{t-1} U_r)$ is bounded in $U_r$ for fixed $a_r = W_r x_t + b_r$ "
            "(its range, certified: `symgrad bound gru-reset-factor --param a_r=A`) but can exceed "
            "1: the reset gate does not always shrink the $U_h$ term.",
            "`gru-torch` (PyTorch's `GRUCell`) is not the article's GRU: $z$ and $1 - z$ swap "
            "roles and the reset after the matrix product adds a term in $b_{hn}$ "
            "(`symgrad derive gru-torch`).",
        ),
        commands=(
            "symgrad derive gru",
            "symgrad check gru",
            "symgrad derive gru-torch",
            "symgrad bound gru-reset-factor --param a_r=0",
        ),
    ),
    Claim(
        id="gru-fewer-gates",
        title="every minor GRU term has one gate fewer than the matching LSTM term",
        statement="Each minor term of the GRU's $\\partial h_t/\\partial h_{t-1}$ has fewer "
        "gates (the article: one fewer) than the matching term of the LSTM's "
        "$\\partial c_t/\\partial c_{t-1}$: the update-gate term against the forget- and "
        "input-gate terms, the candidate term against the candidate term.",
        article="the remaining terms have one fewer gate than the corresponding terms in LSTM, "
        "so their magnitudes could be larger.",
        given=_given(cell="gru", match={"z": ("f", "i"), "h_hat": ("c_hat",)}, fewer=1),
        evidence=(symbolic.gate_counts,),
        commands=("symgrad derive gru --format text", "symgrad derive lstm --format text"),
    ),
    Claim(
        id="gru-less-stable",
        title="GRU's one-step derivative is more spread out than the LSTM's",
        statement="Under the same initialisation, the GRU's $\\partial h_t/\\partial h_{t-1}$ "
        "is more spread out than the LSTM's $\\partial c_t/\\partial c_{t-1}$: wider 1st-99th "
        "percentile range, more often above 1 in magnitude.",
        article="Compared to the LSTM gradient, it is inherently more unstable [...] it feels "
        "that GRU should be more unstable and more dependent on good initialization than LSTM.",
        given=_given(
            cell="gru", than="lstm", context=("gru-merged", "gru-late-reset", "gru-torch")
        ),
        evidence=(numeric.gru_spread_monte_carlo,),
        caveats=(
            "Compares one-step derivatives at independent random points, not trained networks.",
        ),
    ),
    Claim(
        id="gru-merged-decomposition",
        title="merged GRU (one gate $r_t$): its derivative",
        statement="With one gate $r_t$ as update and reset gate: "
        "$\\frac{\\partial h_t}{\\partial h_{t-1}} = (1 - r_t) + r_t (1 - r_t)"
        "(\\hat{h}_t - h_{t-1}) U_r + r_t^2 (1 - \\hat{h}_t^2)(1 + (1 - r_t) h_{t-1} U_r) U_h$; "
        "dominant term $1 - r_t$.",
        article="There is an even more extreme version where $r_t$ and $z_t$ are merged into one",
        given=_given(
            cell="gru-merged",
            terms={
                "h_prev": "1 - r",
                "r": "r*(1 - r)*(h_hat - h_prev)*U_r",
                "h_hat": "r*(1 - h_hat**2)*r*(1 + (1 - r)*h_prev*U_r)*U_h",
            },
            dominant="h_prev",
        ),
        evidence=DECOMPOSITION,
        commands=("symgrad derive gru-merged",),
    ),
    Claim(
        id="late-reset-decomposition",
        title="the article's proposal ($r_t h_{t-1}$ at the end): each minor term gains $r_{t-1}$",
        statement="With $z_t, r_t, \\hat{h}_t$ computed from $o_{t-1} = r_{t-1} h_{t-1}$: "
        "$\\frac{\\partial h_t}{\\partial h_{t-1}} = (1 - z_t) + z_t (1 - z_t) r_{t-1}"
        "(\\hat{h}_t - h_{t-1}) U_z + z_t (1 - \\hat{h}_t^2) r_{t-1} U_h$: each minor term "
        "gains the gate $r_{t-1}$, as the LSTM's carry $o_{t-1}$.",
        article="a better approach would be to put $r_t h_{t-1}$ at the very end [...] this would "
        "require caching an extra variable",
        given=_given(
            cell="gru-late-reset",
            terms={
                "h_prev": "1 - z",
                "z": "z*(1 - z)*r_prev*(h_hat - h_prev)*U_z",
                "h_hat": "z*(1 - h_hat**2)*r_prev*U_h",
            },
            dominant="h_prev",
        ),
        evidence=(
            symbolic.decomposition_terms,
            symbolic.late_reset_readings,
            numeric.decomposition_finite_differences,
        ),
        caveats=(
            "Over two steps it misses a path through $r_t$, as the LSTM through $o_t$ (see "
            "`lstm-state-jacobian`).",
        ),
        commands=("symgrad derive gru-late-reset", "symgrad derive gru-late-reset --wrt state"),
    ),
    Claim(
        id="long-horizon",
        title="over thousands of steps even the LSTM's gradient vanishes",
        statement="Over thousands of steps the gradient of every cell, the LSTM's included, "
        "decays: the Lyapunov exponent (mean log growth per step) of the exact state "
        "Jacobian product is negative.",
        article="If your sequence is very long, such as thousands or tens of thousands of steps, "
        "whatever should vanish will still vanish.",
        given=_given(
            cells=("rnn", "rnn-relu", "lstm", "gru", "gru-merged", "gru-late-reset", "gru-torch"),
            lstm_forget_biases=(1.0, 5.0),
            rate_below=0.0,
        ),
        evidence=(numeric.long_horizon_monte_carlo,),
        commands=("symgrad flow lstm --steps 10000",),
    ),
    # ------------------------------------------------------------ n dimensions
    #
    # SPEC section 3, "n dimensions": hidden size n, ||.|| the operator 2-norm for
    # |.|, elementwise clipping for "clip U"; each verdict from the tool's own
    # search, certificates, exact families and proofs.
    Claim(
        id="vanish-explode-nd",
        title="n-D: $||\\partial h_t/\\partial h_{t-1}|| \\le \\rho < 1 \\Rightarrow$ vanishing; "
        "$\\ge \\rho > 1 \\Rightarrow$ exploding",
        statement="For hidden size n, with $||\\cdot||$ the operator 2-norm: if "
        "$||\\partial h_k/\\partial h_{k-1}|| \\le \\rho < 1$ for all $k$, then "
        "$||\\partial h_t/\\partial h_1|| \\le \\rho^{t-1} \\to 0$; if $\\ge \\rho > 1$ "
        "for all $k$, it grows without bound.",
        article="when $|\\partial h_t/\\partial h_{t-1}| < 1$ [...] the gradient will inevitably "
        "vanish [...]; when $> 1$ [...] explode. [...] the results still have reference value "
        "for high-dimensional situations.",
        given=_given(
            cell="rnn",
            n=(2, 3),
            T=3,
            rho=2.0,
            L=3.0,
            family={"U": (("0", "s"), ("0", "0")), "b": ("0", "0"), "h_prev": ("0", "0")},
            steps=4,
        ),
        evidence=(nd.vanish_explode_nd_exact, nd.vanish_explode_nd_search),
        caveats=(
            "The one-step norm is not the quantity that decides growth in n-D: for a constant "
            "Jacobian it is the spectral radius, for varying ones the Lyapunov exponent "
            "(`long-horizon`).",
        ),
        key="S",
    ),
    Claim(
        id="rnn-tanh-bounded-nd",
        title="n-D: for fixed $a$ and $h_{t-1} \\ne 0$, $||\\text{diag}(1 - h_t^2) U||$ is bounded "
        "in $U$",
        statement="For fixed $a = W x_t + b$ and $h_{t-1} \\ne 0$ in $R^n$, "
        "$||\\text{diag}(1 - h_t^2) U||$ is bounded as a function of $U$; the 1-D supremum "
        "$S(a)/|h_{t-1}|$ reads $\\sqrt{\\sum_k S(a_k)^2}/||h_{t-1}||$ coordinate by coordinate.",
        article="it can be strictly proven that if we fix $h_{t-1} \\ne 0$, then $(1-h_t^2)U$ is "
        "bounded as a function of $U$.",
        given=_given(
            cell="rnn",
            n=(2, 3),
            points={
                2: {"a": ("1/2", "-2"), "h": ("3/5", "4/5")},
                3: {"a": ("1/2", "-2", "0"), "h": ("1/3", "-2/3", "2/3")},
            },
            L=(1.0, 10.0, 100.0),
            L_h=10.0,
            # U(s) h_{t-1} = 0: a row times a vector orthogonal to h_{t-1}.
            family={
                2: {"U": (("-4*s/5", "3*s/5"), ("0", "0"))},
                3: {"U": (("0", "0", "0"), ("0", "0", "0"), ("2*s/3", "2*s/3", "s/3"))},
            },
        ),
        evidence=(nd.tanh_nd_exact, nd.tanh_nd_search),
        caveats=(
            "As in 1-D the bounds along $h_{t-1}$ grow like $1/||h_{t-1}||$ as "
            "$h_{t-1} \\to 0$; in n-D any component of $U$ orthogonal to $h_{t-1}$ leaves the "
            "pre-activation unchanged and enters $J$ unbounded.",
        ),
        commands=("symgrad derive rnn --vector",),
        key="S",
    ),
    Claim(
        id="rnn-relu-unbounded-nd",
        title="n-D ReLU: $\\partial h_t/\\partial h_{t-1} = \\text{diag}([h_t > 0]) U$, unbounded "
        "in $U$",
        statement="With ReLU and hidden size n, $\\partial h_t/\\partial h_{t-1} = "
        "\\text{diag}([h_t > 0]) U$ is unbounded in $U$.",
        article="if ReLU activation is used, its derivative on the positive axis is always 1, "
        "and at this time $\\partial h_t/\\partial h_{t-1} = U$ is unbounded",
        given=_given(
            cell="rnn-relu",
            n=(2, 3),
            h={2: ("3/10", "9/10"), 3: ("3/10", "3/5", "9/10")},
            L=(1.0, 10.0, 100.0),
        ),
        evidence=(nd.relu_nd_exact, nd.relu_nd_search),
        commands=("symgrad derive rnn-relu --vector",),
        key="S",
    ),
    Claim(
        id="clipping-nd",
        title="n-D: clipping every entry of $U$ into $[-1, 1]$ gives "
        "$||\\partial h_t/\\partial h_{t-1}|| \\le 1$",
        statement="If every entry of $U$ is clipped into $[-1, 1]$, then "
        "$||\\partial h_t/\\partial h_{t-1}|| \\le 1$ for the tanh and the ReLU SimpleRNN "
        "of hidden size n.",
        article="if I artificially clip $U$ into the range $[-1, 1]$, can't I guarantee that the "
        "gradient won't explode?",
        given=_given(
            cells=("rnn", "rnn-relu"), n=(2, 3), a=3.0, bound=1.0, family_n=(2, 3, 4, 8), steps=4
        ),
        evidence=(nd.clipping_nd_exact, nd.clipping_nd_search),
        key="S",
    ),
    Claim(
        id="lstm-minor-terms-nd",
        title="n-D: each minor LSTM term is $||U_g||$ times gates; the 1-D constants",
        statement="In n-D each minor term of $\\partial c_t/\\partial c_{t-1}$ is "
        "$\\text{diag}(p) U_g \\text{diag}(q)$ and keeps its 1-D constant: "
        "$||T_f|| \\le S(0)/4 \\cdot ||U_f||$, $||T_i|| \\le ||U_i||/4$, "
        "$||T_c|| \\le ||U_c||$.",
        article="$c_{t-1} \\partial f_t/\\partial c_{t-1}$ is equivalent to one $U_f$ multiplied "
        'by four "gates," '
        "and the result will be compressed even smaller.",
        given=_given(
            cell="lstm",
            n=(2, 3),
            C=(1.0, 5.0),
            U=1.0,
            b=3.0,
            weights={"f": "U_f", "i": "U_i", "c_hat": "U_c"},
            stated={"f": "S(0)/4", "i": "1/4", "c_hat": "1"},
            family={"U_f": (("0", "1"), ("0", "0")), "c_prev": ("s", "0"), "o_prev": ("o_1", "1")},
            distributions=("scaled", "unscaled"),
            sizes={2: 4000, 8: 2000, 64: 300},
        ),
        evidence=(
            lstm_nd.minor_terms_nd_exact,
            lstm_nd.minor_terms_nd_search,
            lstm_nd.minor_terms_nd_monte_carlo,
        ),
        caveats=(
            "$c_{t-1}$ is a row factor and $1 - \\tanh^2 c_{t-1}$ a column factor of the "
            "forget term: the pair bounded by $S(0)$ in 1-D no longer multiplies one coordinate.",
        ),
        commands=("symgrad derive lstm --vector",),
        key="S",
    ),
    Claim(
        id="lstm-forget-dominant-nd",
        title="n-D: $||\\text{diag}(f_t)|| < 1$ dominates: minor terms smaller in most samples",
        statement="In n-D $||\\text{diag}(f_t)|| = \\text{max}_k f_{t,k} < 1$, so the "
        "dominant term cannot explode; under common initialisations the minor terms together "
        "are smaller than it in most samples.",
        article="Since $f_t$ is between 0 and 1, this means the risk of gradient explosion will be "
        "very small. [...] Thus, the dominant term is still $f_t$.",
        given=_given(
            cell="lstm",
            most=0.5,
            distributions=("scaled", "unscaled"),
            sizes={2: 4000, 8: 2000, 64: 300},
        ),
        evidence=(lstm_nd.forget_dominant_nd_exact, lstm_nd.forget_dominant_nd_monte_carlo),
        key="M",
    ),
    Claim(
        id="gru-bounded-state-nd",
        title="n-D GRU: with $h_0 = 0$, every coordinate of $h_t$ stays in $(-1, 1)$",
        statement="With $h_0 = 0$ and hidden size n, $||h_t||_\\infty < 1$ for all t (exact "
        "arithmetic): each coordinate is a convex combination of $h_{t-1,k}$ and "
        "$\\hat{h}_{t,k} \\in (-1, 1)$.",
        article="$h_t$, as a weighted average of $h_{t-1}$ and $\\hat{h}_t$, also remains between "
        "$-1$ and $1$. Thus, $h_t$ itself has a function similar to a gate.",
        given=_given(
            cells=("gru", "gru-torch"),
            lemma_cells=("gru", "gru-merged", "gru-torch"),
            n=(2, 3),
            T=3,
            box=6.0,
            family={"b_z": "log(9)", "b_h": "log(19)/2"},
        ),
        evidence=(gru_nd.gru_state_nd_exact, gru_nd.gru_state_nd_search),
        caveats=(
            "In float64 tanh saturates to exactly 1, so only $||h_t||_\\infty \\le 1$ holds "
            "there; the 2-norm reading $||h_t||_2 < 1$ is false for $n \\ge 2$ (sharp bound "
            "$\\sqrt{n}$).",
        ),
        key="S",
    ),
    Claim(
        id="lstm-saturation-045-nd",
        title="n-D: $||\\text{diag}((1 - \\tanh^2 c)\\,c)|| < 0.45$",
        statement="For $c \\in R^n$, $||\\text{diag}((1 - \\tanh^2 c)\\, c)|| < 0.45$, the "
        "1-D value $\\approx 0.44774$.",
        article="it can also be proven that $|(1 - \\tanh^2 c_{t-1}) c_{t-1}| < 0.45$",
        given=_given(bound=0.45, value="0.44774", n=(2, 3), box=6.0),
        evidence=(
            lstm_nd.saturation_nd_exact,
            lstm_nd.saturation_nd_search,
            lstm_nd.saturation_nd_certified,
        ),
        key="C",
    ),
    Claim(
        id="gru-reset-factor-nd",
        title="n-D GRU: the reset factor $\\partial(r_t h_{t-1})/\\partial h_{t-1}$ is bounded in "
        "$U_r$",
        statement="For fixed $a_r = W_r x_t + b_r$ and $h_{t-1} \\ne 0$, the GRU's reset "
        "factor $R = \\text{diag}(r_t)(I + \\text{diag}((1 - r_t) h_{t-1}) U_r)$ is bounded in "
        "$U_r$, as its 1-D form $r_t (1 + (1 - r_t) h_{t-1} U_r)$ is (`symgrad bound "
        "gru-reset-factor`).",
        article="it also introduces an additional term $1 + (1 - r_t) h_{t-1} U_r$",
        given=_given(
            n=(2, 3),
            h={2: ("1/2", "1/2"), 3: ("3/10", "1/2", "7/10")},
            L=(1.0, 10.0, 100.0),
            family={"U_r": (("s", "-s"), ("0", "0")), "h_prev": ("1/2", "1/2")},
        ),
        evidence=(gru_nd.reset_nd_exact, gru_nd.reset_nd_search),
        commands=("symgrad bound gru-reset-factor --param a_r=0", "symgrad derive gru --vector"),
        key="S",
    ),
    Claim(
        id="gru-fewer-gates-nd",
        title="n-D: every minor GRU term has fewer gates than the matching LSTM term",
        statement="In n-D each minor term of the GRU's $\\partial h_t/\\partial h_{t-1}$ has "
        "fewer gates than the matching term of the LSTM's $\\partial c_t/\\partial c_{t-1}$, "
        "so its magnitude could be larger.",
        article="the remaining terms have one fewer gate than the corresponding terms in LSTM, "
        "so their magnitudes could be larger.",
        given=_given(
            cell="gru",
            than="lstm",
            match={"z": ("f", "i"), "h_hat": ("c_hat",)},
            alpha=("99/100", "1/100"),
            beta=("1/100", "99/100"),
            n=(2, 3),
        ),
        evidence=(gru_nd.fewer_gates_nd_exact, gru_nd.fewer_gates_nd_search),
        commands=("symgrad derive gru --vector --format text",),
    ),
)
