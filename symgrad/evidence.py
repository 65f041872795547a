"""Evidence: what a check of a claim yields, and what the checks of one run share.

An evidence function confronts a claim's statement (its ``given``: the
article's formulas as text, its numbers, its thresholds) with the derivation
engine, the bounds, finite differences or seeded Monte Carlo, and returns one
:class:`Evidence` record of one kind:

===  =======================================================================
S    symbolic identity (SymPy: exact ``expand``/``cancel`` to zero)
N    numerical optimisation (SciPy, global)
C    certified enclosure by interval/ball arithmetic (a proof, not a sample)
M    seeded Monte Carlo with confidence intervals
P    property check against finite differences
===  =======================================================================

Each is a named function decorated with :func:`evidence_function`, which
states its kind and method; :mod:`symgrad.evidence_symbolic` holds the S
functions, :mod:`symgrad.evidence_numeric` the N, C, M and P ones, and the
catalog (:mod:`symgrad.claims`) lists them per claim, so a claim's evidence
list is its kinds. A :class:`Context` carries what a run of claims shares:
Monte Carlo settings, and one Monte Carlo run and one bound per question.

NumPy, SciPy and flint are imported inside the evidence functions that use
them: the catalog is read by ``symgrad list`` without them.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction

from .defaults import CLAIM_SAMPLES, CLAIM_SEED, LONG_HORIZON_SAMPLES, LONG_HORIZON_STEPS
from .derivation import compose
from .expr import parse_equation

__all__ = [
    "KINDS",
    "STATUSES",
    "Context",
    "Evidence",
    "EvidenceFunction",
    "Record",
    "evidence_function",
    "parse_stated",
    "separating_point",
    "worst_status",
]

#: Evidence kinds, in the order they are listed.
KINDS = {
    "S": "symbolic identity",
    "N": "numerical optimisation",
    "C": "certified enclosure",
    "M": "seeded Monte Carlo",
    "P": "property check against finite differences",
}

#: Verdicts, from the best to the worst: a claim's is the worst of its evidence's.
#: pass: holds as stated; qualified: holds only under a stated assumption, in
#: the typical case or in a weaker form (printed); refuted: false as stated,
#: with an exact or certified counterexample (printed); fail: no verdict (a
#: check errs, or the evidence disagrees with itself or with another kind).
STATUSES = ("pass", "qualified", "refuted", "fail")


def worst_status(statuses) -> str:
    """The worst of ``statuses`` in the order of :data:`STATUSES` (pass if none)."""
    return max(statuses, key=STATUSES.index, default="pass")


# ---------------------------------------------------------------- records


@dataclass(frozen=True)
class Evidence:
    """One check of a claim.

    ``kind``: a key of :data:`KINDS`; ``status``: one of :data:`STATUSES`;
    ``summary``: the key figure in one line; ``method``: how it was checked;
    ``details``: lines of numbers and sub-checks (inline LaTeX between ``$``);
    ``figures``: the same numbers for JSON; ``seconds``: time taken; ``math``:
    LaTeX rows (``lhs &= rhs``) of the derivation behind it, for the proof
    documents; ``caveats``: caveats the check computed; ``holds``: for a
    qualified verdict, the forms that hold; ``counterexamples``: for a refuted
    one, the counterexamples.
    """

    kind: str
    status: str
    summary: str
    method: str
    details: tuple = ()
    figures: dict = field(default_factory=dict)
    seconds: float = 0.0
    math: tuple = ()
    caveats: tuple = ()
    holds: tuple = ()
    counterexamples: tuple = ()

    @property
    def established(self) -> bool:
        """A verdict was reached (any status but fail)."""
        return self.status != "fail"


class Record:
    """What an evidence function fills in: sub-checks, numbers, LaTeX rows.

    Each sub-check is one of: :meth:`require` (a check of the tool's own work, or
    a statement only a certificate could refute: failing it leaves no verdict),
    :meth:`claim` (a statement of the claim: holds, or refuted by a certified
    counterexample), :meth:`qualify` (holds only in the form printed)."""

    def __init__(self):
        self.failed = False
        self.summary = ""
        self.details: list = []
        self.figures: dict = {}
        self.math: list = []
        self.caveats: list = []
        self.holds: list = []
        self.counterexamples: list = []
        self.seconds: float | None = None  # set where the work was done elsewhere (cached)

    @property
    def status(self) -> str:
        if self.failed:
            return "fail"
        if self.counterexamples:
            return "refuted"
        return "qualified" if self.holds else "pass"

    def require(self, ok: bool, text: str) -> bool:
        """A sub-check that must hold for any verdict: failing, the evidence is fail."""
        ok = bool(ok)
        self.failed = self.failed or not ok
        self.details.append(("holds: " if ok else "FAILS: ") + text)
        return ok

    def claim(self, ok: bool, text: str, counterexample: Callable | None = None) -> bool:
        """A statement of the claim, decided exactly or by a certificate: holds, or is
        refuted by ``counterexample()`` (its text; None if none can be certified,
        and the evidence is then fail: a verdict without a counterexample is none)."""
        if ok:
            self.details.append("holds: " + text)
            return True
        found = counterexample() if counterexample is not None else None
        if found is None:
            self.failed = True
            self.details.append("FAILS: " + text + " (no certified counterexample)")
        else:
            self.counterexamples.append(found)
            self.details.append(f"refuted: {text}; counterexample: {found}")
        return False

    def qualify(self, form: str, text: str) -> None:
        """The statement holds only in ``form`` (printed beside the verdict);
        ``text`` says why, with the numbers."""
        self.holds.append(form)
        self.details.append(f"qualified: {text}")

    def note(self, text: str) -> None:
        self.details.append(text)


@dataclass(frozen=True)
class EvidenceFunction:
    """A check of one kind: ``body(record, given, ctx)`` fills a :class:`Record`
    from a claim's ``given`` under the run's :class:`Context`.

    Called with ``(claim, ctx)``, it runs the body, times it and returns an
    :class:`Evidence`; a body that raises has not passed (the error is its
    summary).
    """

    kind: str
    method: str
    body: Callable

    def __call__(self, claim, ctx: Context) -> Evidence:
        record = Record()
        start = time.perf_counter()
        try:
            self.body(record, claim.given, ctx)
        except Exception as err:  # a crashed check is reported as a failed one, with why
            record.failed = True
            record.summary = f"error: {type(err).__name__}: {err}"
        seconds = time.perf_counter() - start if record.seconds is None else record.seconds
        if not record.summary:
            record.summary = "checked" if not record.failed else "failed"
        return Evidence(
            self.kind,
            record.status,
            record.summary,
            self.method,
            tuple(record.details),
            record.figures,
            seconds,
            tuple(record.math),
            tuple(record.caveats),
            tuple(record.holds),
            tuple(record.counterexamples),
        )


def evidence_function(kind: str, method: str):
    """Decorator: ``body(record, given, ctx)`` as an :class:`EvidenceFunction` of
    ``kind`` (a key of :data:`KINDS`) checked by ``method`` (one line)."""
    if kind not in KINDS:
        raise ValueError(f"unknown evidence kind {kind!r}. Valid kinds: {', '.join(KINDS)}")

    def make(body: Callable) -> EvidenceFunction:
        return EvidenceFunction(kind, method, body)

    return make


# ---------------------------------------------------------------- the run


class Context:
    """What a run of claims shares: Monte Carlo settings, flow settings, caches.

    ``settings``: :class:`symgrad.montecarlo.Settings`; ``steps`` and
    ``flow_samples``: the long-horizon run (trajectories of ``steps`` steps).
    """

    def __init__(
        self,
        settings=None,
        steps: int = LONG_HORIZON_STEPS,
        flow_samples: int = LONG_HORIZON_SAMPLES,
    ):
        from .montecarlo import Settings

        self.settings = settings or Settings()
        self.steps = steps
        self.flow_samples = flow_samples
        self._one_step: dict = {}
        self._bounds: dict = {}

    def one_step(self, cell: str, forget_bias=...):
        """The cached :func:`symgrad.montecarlo.one_step` of ``cell``."""
        from .montecarlo import one_step

        bias = self.settings.forget_bias if forget_bias is ... else forget_bias
        key = (cell, bias)
        if key not in self._one_step:
            self._one_step[key] = one_step(cell, self.settings, forget_bias=bias)
        return self._one_step[key]

    def bound(self, name: str, **params):
        """The cached :func:`symgrad.bounds.compute_bound` of ``name``."""
        from .bounds import compute_bound

        key = (name, tuple(sorted(params.items())))
        if key not in self._bounds:
            self._bounds[key] = compute_bound(name, **params)
        return self._bounds[key]

    def command(self, claim_id: str) -> str:
        """The command that reproduces ``claim_id`` under these settings."""
        s = self.settings
        parts = ["symgrad verify", claim_id]
        if s.seed != CLAIM_SEED:
            parts.append(f"--seed {s.seed}")
        if s.samples != CLAIM_SAMPLES:
            parts.append(f"--samples {s.samples}")
        if s.init != "normal":
            parts.append(f"--init {s.init}")
        if s.forget_bias is not None:
            parts.append(f"--forget-bias {s.forget_bias:g}")
        if self.steps != LONG_HORIZON_STEPS:
            parts.append(f"--steps {self.steps}")
        if self.flow_samples != LONG_HORIZON_SAMPLES:
            parts.append(f"--flow-samples {self.flow_samples}")
        return " ".join(parts)


# ---------------------------------------------------------------- shared by the kinds


def parse_stated(cell, text: str):
    """A formula a claim states, as text in the cell's ASCII names (``f*(1 - f)``),
    parsed to a SymPy expression in the :class:`~symgrad.cells.Cell`'s symbols."""
    return parse_equation(text, {n: cell.symbol(n) for n in cell.latex})


#: Seeded points tried to separate two expressions, and their seed.
SEPARATING_TRIES = 64
SEPARATING_SEED = 20201113


def separating_point(cell, carry: dict, a, b, points=(), labels=("the statement", "the engine")):
    """A certified counterexample to ``a == b`` (expressions in ``cell``'s names,
    or in free symbols if ``cell`` is None): a point where the two, composed down
    to the free names (with the one-step convention ``carry``), are enclosed by
    disjoint balls (arb, 128 bits).
    ``points`` (name -> float, each exactly a binary rational) are tried first,
    then seeded rational points in [-2, 2]. Returns the point and both
    enclosures (named by ``labels``) as text, or None if none separates them."""
    from flint import arb, ctx, fmpq

    from .certify import down, significant, up
    from .primitives import ARB, evaluate

    ea, eb = (a, b) if cell is None else (compose(cell, carry, a), compose(cell, carry, b))
    names = sorted(ea.free_symbols | eb.free_symbols, key=lambda s: s.name)
    rng = random.Random(SEPARATING_SEED)
    tries = [{s: Fraction(p[s.name]) for s in names} for p in points]
    tries += [
        {s: Fraction(rng.randint(-2000, 2000), 1000) for s in names}
        for _ in range(SEPARATING_TRIES)
    ]
    with ctx.workprec(128):
        for point in tries:
            env = {s: arb(fmpq(q.numerator, q.denominator)) for s, q in point.items()}
            try:
                x, y = evaluate(ea, env, ARB), evaluate(eb, env, ARB)
            except (ArithmeticError, ValueError, TypeError):
                continue
            if x.upper() < y.lower() or y.upper() < x.lower():
                at = ", ".join(f"{s.name} = {q}" for s, q in point.items())
                enclosures = [
                    f"{label} [{significant(down(z), 8, 'down')}, {significant(up(z), 8, 'up')}]"
                    for label, z in zip(labels, (x, y), strict=True)
                ]
                return f"at {at}: " + ", ".join(enclosures) + " (disjoint balls)"
    return None
