"""Certified ranges over the whole real line: the infimum and the supremum of
a function of one variable that tends to limits at both ends without decaying.

:class:`symgrad.certify.Supremum` encloses :math:`\\sup |g|` and cuts an
unbounded variable by a tail lemma for a *decaying* :math:`|g|`. The GRU's
reset factor :math:`R(v) = \\sigma(a + v)(1 + \\sigma(-(a + v))\\, v)` with
:math:`v = U_r h_{t-1}` tends to 1 as :math:`v \\to +\\infty`, to 0 as
:math:`v \\to -\\infty`, and changes sign: neither. Its range is found by a
split of the line (:func:`solve_line`):

- beyond :math:`|v| = V` a :class:`Tail` bounds :math:`|g - \\text{limit}|` by an
  envelope that decreases in V; its reasons are stated, its value computed in
  ball arithmetic;
- on :math:`[-V, V]` the *signed* suprema (branch and bound on arb) of
  :math:`g - c` and :math:`c' - g`, written in forms that keep their relative
  precision (each checked equal to the engine's expression);
- V doubles until both suprema certainly exceed what the tails allow, so each
  extremum lies in :math:`[-V, V]` and the enclosures hold over all of R.

SciPy's extrema of the same forms stand beside the certificate, as for every
bound (:mod:`symgrad.suprema`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import sympy
from flint import ctx

from .cells import Cell
from .certify import PREC, CertificateError, Supremum, ball, decide, down, scientific, up
from .suprema import (
    BoundResult,
    Extremum,
    Inequality,
    Verdict,
    compare_text,
    make_result,
    printers,
    scipy_check,
    scipy_sup,
    show_exact,
    tex_scientific,
)
from .text import plain

__all__ = ["LineProblem", "Tail", "solve_line"]

#: The cut-off V doubles at most this many times before the certificate gives up.
MAX_DOUBLINGS = 12


@dataclass(frozen=True)
class Tail:
    """For :math:`\\pm v \\ge V` (``side`` +1 or -1) and every V >= 1:
    :math:`|g(v) - \\text{limit}| \\le` ``envelope(V)`` (a ball), justified by
    ``reasons`` (prose with ``$math$``); ``text`` is the envelope in V (math-mode LaTeX)."""

    side: int
    limit: Fraction
    envelope: Callable
    text: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class LineProblem:
    """The range of ``expr`` (in ``variable``, over all of R).

    ``upper`` = (c, u) with u = g - c and ``lower`` = (c', l) with l = c' - g:
    sup g = c + sup u, inf g = c' - sup l; ``identities``: the
    :class:`~symgrad.suprema.Verdict` of the exact check that they equal
    ``expr``. ``claims``: (``"sup"`` or ``"inf"``, an
    :class:`~symgrad.suprema.Inequality` about that end); ``start``: the first
    cut-off V; ``back(v)``: the maximiser in the bound's own variables;
    ``names``: LaTeX of the variables the cell does not know; ``label``: the
    function's name in the notes.
    """

    quantity: str
    quantity_latex: str
    cell: Cell
    variable: sympy.Symbol
    expr: sympy.Expr
    upper: tuple
    lower: tuple
    identities: Verdict
    tails: tuple[Tail, ...]
    source: str
    claims: tuple = ()
    start: int = 8
    back: Callable | None = None
    names: dict | None = None
    notes: tuple[str, ...] = ()
    label: str = "g"


def solve_line(
    problem: LineProblem, tolerance: float, *, name: str, params: dict, start: float
) -> BoundResult:
    """The certified range of ``problem``: a :class:`~symgrad.suprema.BoundResult`
    whose ``value``/``interval`` are the supremum's and whose ``infimum`` the
    infimum's. Raises :class:`~symgrad.certify.CertificateError` if no cut-off
    up to 2^MAX_DOUBLINGS times the first confines both extrema."""
    v = problem.variable
    cert_seconds, scipy_seconds = 0.0, 0.0
    cut = problem.start
    for _ in range(MAX_DOUBLINGS):
        t = time.perf_counter()
        ends = [_end(problem, form, cut, tolerance) for form in (problem.upper, problem.lower)]
        cert_seconds += time.perf_counter() - t
        if all(end is not None for end in ends):
            break
        cut *= 2
    else:
        raise CertificateError(f"no cut-off up to {cut} confines the extrema of {problem.expr}")
    (sup_u, tail_u), (sup_l, tail_l) = ends
    (c_hi, u), (c_lo, low) = problem.upper, problem.lower
    t = time.perf_counter()
    box = [(-float(cut), float(cut))]
    u_value, (u_arg,), _ = scipy_sup(u, (v,), box, signed=True)
    l_value, (l_arg,), _ = scipy_sup(low, (v,), box, signed=True)
    scipy_seconds += time.perf_counter() - t
    with ctx.workprec(PREC):
        sup = (ball(c_hi) + sup_u.lo).lower(), (ball(c_hi) + sup_u.hi).upper()
        inf = (ball(c_lo) - sup_l.hi).lower(), (ball(c_lo) - sup_l.lo).upper()
    value, low_value = float(c_hi) + u_value, float(c_lo) - l_value
    checks = [
        _claim(problem, end, c, sup_u if end == "sup" else sup_l) for end, c in problem.claims
    ]
    checks.append(problem.identities)
    checks.append(scipy_check(value, down(sup[0]), up(sup[1]), "supremum"))
    checks.append(scipy_check(low_value, down(inf[0]), up(inf[1]), "infimum"))
    argmax, argmin = _back(problem, u_arg), _back(problem, l_arg)
    where, where_latex = _where(problem, argmax)
    tails = [_tail_note(problem, tail, cut) for tail in problem.tails]
    g = problem.label
    above = f"\\sup {g} - {show_exact(c_hi)}" if c_hi else f"\\sup {g}"
    below = f"{show_exact(c_lo)} - \\inf {g}" if c_lo else f"-\\inf {g}"
    offsets = (
        f"certified: ${above} \\in [{down(sup_u.lo)!r}, {up(sup_u.hi)!r}]$ and "
        f"${below} \\in [{down(sup_l.lo)!r}, {up(sup_l.hi)!r}]$, each computed in the "
        "product forms checked above, so an end within $10^{-16}$ of its offset is still "
        "resolved"
    )
    confined = (
        f"with $V = {cut}$ the tails allow at most ${tex_scientific(scientific(tail_u, 3, 'up'))}$ "
        f"for ${g} - {show_exact(c_hi)}$ and ${tex_scientific(scientific(tail_l, 3, 'up'))}$ for "
        f"${show_exact(c_lo)} - {g}$, below the lower ends certified on $[-V, V]$: both extrema "
        "lie in $[-V, V]$"
    )
    return make_result(
        problem,
        name=name,
        params=params,
        start=start,
        ends=sup,
        value=value,
        argmax=argmax,
        where=where,
        where_latex=where_latex,
        subdivisions=sup_u.subdivisions + sup_l.subdivisions,
        scipy_seconds=scipy_seconds,
        certificate_seconds=cert_seconds,
        claim=" and ".join(plain(c.statement) for _, c in problem.claims) or None,
        proved=all(c.verdict == "proved" for c in checks if c.kind == "claim")
        if problem.claims
        else None,
        checks=tuple(checks),
        factors=(),
        closed_form=None,
        notes=(*problem.notes, offsets, *tails, confined),
        infimum=Extremum(
            value=low_value,
            argmax=argmin,
            where=_where(problem, argmin)[0],
            where_latex=_where(problem, argmin)[1],
            interval=(down(inf[0]), up(inf[1])),
        ),
    )


def _end(problem: LineProblem, form: tuple, cut: int, tolerance: float):
    """(the certified signed supremum of the form on [-cut, cut], the most the tails
    allow it), or None if the tails may hold more than the middle's lower end."""
    offset, expr = form
    sign = 1 if form is problem.upper else -1
    v = problem.variable
    with ctx.workprec(PREC):
        # On a tail, g lies within envelope of its limit: g - c <= limit + e - c,
        # c' - g <= c' - limit + e.
        allowed = max(
            (sign * (ball(tail.limit) - ball(offset)) + tail.envelope(cut)).upper()
            for tail in problem.tails
        )
        middle = Supremum(expr, (v,), {v: (Fraction(-cut), Fraction(cut))}, signed=True)
        middle.refine(tolerance / 2)
        if not middle.lo > allowed:
            return None
    return middle, up(allowed)


#: c - g op x is g op' c - x.
_FLIPPED = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}


def _claim(problem: LineProblem, end: str, c: Inequality, middle: Supremum) -> Verdict:
    """``end op c.rhs`` decided on the form's own supremum, so that a supremum
    1 + 1e-45 is still told from 1: sup g op x iff sup u op x - c; inf g op x
    iff sup l op' c' - x."""
    offset = problem.upper[0] if end == "sup" else problem.lower[0]
    op = c.op if end == "sup" else _FLIPPED[c.op]
    rhs = c.rhs - offset if end == "sup" else offset - c.rhs
    form = f"\\{end} - {show_exact(offset)}" if end == "sup" else f"{show_exact(offset)} - \\{end}"
    form = f"\\{end}" if offset == 0 and end == "sup" else form
    form = f"-\\{end}" if offset == 0 and end == "inf" else form
    with ctx.workprec(PREC):
        interval = (middle.lo, middle.hi)
        verdict = decide(interval, op, ball(rhs))
        detail = compare_text(
            interval, op, ball(rhs), show_exact(rhs), (f"{form} \\ge", f"{form} \\le")
        )
    statement = c.statement + (f" ({c.meaning})" if c.meaning else "")
    return Verdict("claim", statement, verdict, detail)


def _back(problem: LineProblem, x: float) -> dict:
    found = {problem.variable.name: x}
    return problem.back(found) if problem.back is not None else found


def _where(problem: LineProblem, argmax: dict) -> tuple[str, str]:
    text, latex = printers(problem.cell, problem.names)
    words, tex = [], []
    for name, x in argmax.items():
        symbol = sympy.Symbol(name, real=True)
        words.append(f"{text.doprint(symbol)} = {x:.12g}")
        tex.append(f"{latex.doprint(symbol)} = {x:.12g}")
    return ", ".join(words), ", ".join(tex)


def _tail_note(problem: LineProblem, tail: Tail, cut: int) -> str:
    """The tail lemma, as prose with ``$math$`` (``tail.text`` and its reasons are)."""
    _, latex = printers(problem.cell, problem.names)
    x = latex.doprint(problem.variable)
    with ctx.workprec(PREC):
        bound = up(tail.envelope(cut))
    side = f"{x} \\ge V" if tail.side > 0 else f"{x} \\le -V"
    return (
        f"tail lemma: for ${side}$, $V \\ge 1$: "
        f"$|{problem.label} - {show_exact(tail.limit)}| \\le {tail.text}$ "
        f"(at $V = {cut}$: $\\le {tex_scientific(scientific(bound, 3, 'up'))}$), since "
        + "; ".join(tail.reasons)
    )
