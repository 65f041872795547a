"""Recurrent cells as data.

A cell is an ordered list of named equations over inputs (``x``), the values
of the previous step (``h_prev``, ``c_prev``, ...) and parameters (``W_f``,
``U_f``, ``b_f``, ...). It is written once, in :data:`BUILTIN`, in the same
form a user's cell file takes; derivations, LaTeX, numeric kernels and checks
are all derived from it by one engine (:mod:`symgrad.derive`).

Naming (SPEC section 1): a value ``v`` of step t has LaTeX ``v_t``; its value of
the previous step is ``v_prev`` with LaTeX ``v_{t-1}``. Parameters have no time
index. ``sigmoid`` is the logistic sigmoid.
"""

from __future__ import annotations

import functools
import keyword
import re
from dataclasses import dataclass, field
from types import MappingProxyType

import sympy

from .expr import ExprError, parse_equation
from .primitives import sigmoid

__all__ = [
    "BUILTIN",
    "Cell",
    "CellError",
    "Equation",
    "cells",
    "default_latex",
    "get_cell",
    "make_cell",
    "param_kind",
    "prev_latex",
    "prev_name",
]


class CellError(ValueError):
    """A cell that cannot be built; ``where`` names the field or equation at fault."""

    def __init__(self, message: str, where: str | None = None, col: int | None = None):
        super().__init__(message)
        self.where = where
        self.col = col


@dataclass(frozen=True)
class Equation:
    """One equation ``name = text`` of a cell; ``rhs`` is ``text`` parsed into SymPy."""

    name: str
    latex: str
    text: str
    rhs: sympy.Expr
    kind: str | None  # "gate" (sigmoid-valued), "candidate" (tanh-valued) or None
    display: sympy.Expr = None  # rhs unevaluated: sums and products as written

    @property
    def symbol(self) -> sympy.Symbol:
        return sympy.Symbol(self.name, real=True)


@dataclass(frozen=True)
class Cell:
    """A recurrent cell: equations in dependency order, state, default derivative.

    ``latex`` maps every name the cell knows (inputs, parameters, values and the
    previous-step value of every value) to its LaTeX. ``target``/``source`` are
    the default derivative d target / d source, e.g. ``c``/``c_prev``.

    Immutable and hashable, so everything derived from a cell is cached by the
    cell itself (equal cells, built-in or read from a file, share the cache).
    """

    name: str
    doc: str
    inputs: tuple[str, ...]
    params: tuple[str, ...]
    state: tuple[str, ...]
    equations: tuple[Equation, ...]
    target: str
    source: str
    latex: MappingProxyType = field(repr=False)

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(eq.name for eq in self.equations)

    @property
    def prevs(self) -> tuple[str, ...]:
        """Previous-step values the equations read (the state, as ``s_prev``)."""
        return tuple(prev_name(s) for s in self.state)

    def equation(self, name: str) -> Equation:
        for eq in self.equations:
            if eq.name == name:
                return eq
        raise KeyError(name)

    @property
    def gates(self) -> tuple[str, ...]:
        return tuple(eq.name for eq in self.equations if eq.kind == "gate")

    @property
    def candidates(self) -> tuple[str, ...]:
        return tuple(eq.name for eq in self.equations if eq.kind == "candidate")

    def symbol(self, name: str) -> sympy.Symbol:
        return sympy.Symbol(name, real=True)

    def __hash__(self) -> int:
        return hash((self.name, self.equations, self.state, self.target, self.source))


def param_kind(name: str) -> str:
    """A parameter's role by the naming convention of SPEC section 1: ``matrix``
    (``W*`` input and ``U*`` recurrent weights), ``bias`` (``b*``: a vector
    in R^n) or ``elementwise`` (any other name: a vector in R^n acting unit by
    unit, as IndRNN's u or a peephole weight)."""
    kind = name.split("_")[0]
    if kind in ("W", "U"):
        return "matrix"
    return "bias" if kind == "b" else "elementwise"


def prev_name(name: str) -> str:
    return f"{name}_prev"


def prev_latex(latex: str) -> str:
    """``f_t`` -> ``f_{t-1}``; ``\\hat{c}_t`` -> ``\\hat{c}_{t-1}``."""
    return re.sub(r"_(?:t|\{t\})$", "_{t-1}", latex)


def default_latex(name: str, timed: bool) -> str:
    """The LaTeX of an ASCII name: ``W_hn`` -> ``W_{hn}``; a value of step t
    (``timed``) gets its time index: ``c_hat`` -> ``\\hat{c}_t``, ``f`` -> ``f_t``."""
    base, _, sub = name.partition("_")
    if timed:
        if sub in ("hat", "tilde", "bar"):
            return rf"\{sub}{{{base}}}_t"
        return f"{base}_{{{sub},t}}" if sub else f"{base}_t"
    if not sub:
        return base
    return f"{base}_{sub}" if len(sub) == 1 else f"{base}_{{{sub}}}"


_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_RESERVED = {"t", "pi", "E", "I", "oo", "nan", "zoo", "S", "N", "O", "Q"}


def make_cell(
    name: str,
    doc: str,
    inputs,
    params,
    state,
    equations,
    wrt,
) -> Cell:
    """Build and validate a :class:`Cell`.

    ``inputs`` and ``params``: names, or a mapping name -> LaTeX (a missing LaTeX
    name is made from the ASCII one: ``W_hn`` -> ``W_{hn}``). ``state``: names of
    values carried to the next step. ``equations``: ``(name, latex or None,
    text, kind)`` with kind ``"gate"``, ``"candidate"`` or ``None``, in any order
    without cycles. ``wrt``: the default ``(target, source)``.

    Raises :class:`CellError` naming what is wrong and where.
    """
    inputs = _as_latex_map(inputs, timed=True, where="inputs")
    params = _as_latex_map(params, timed=False, where="parameters")
    state = tuple(state)
    latex: dict[str, str] = {}
    kinds: dict[str, str] = {}
    for kind, names in (("input", inputs), ("parameter", params)):
        for n, tex in names.items():
            _check_name(n, kind)
            if n in latex:
                raise CellError(f"{kind} {n!r} is defined twice", where=n)
            latex[n], kinds[n] = tex, kind

    raw = []
    for item in equations:
        eq_name, eq_latex, text, eq_kind = item
        _check_name(eq_name, "value")
        if eq_name in latex:
            raise CellError(f"value {eq_name!r} is defined twice", where=eq_name)
        if eq_name.endswith("_prev"):
            raise CellError(f"value {eq_name!r}: names ending in _prev are reserved", eq_name)
        if eq_kind not in (None, "gate", "candidate"):
            raise CellError(
                f"value {eq_name!r}: kind must be 'gate' or 'candidate', not {eq_kind!r}",
                where=eq_name,
            )
        eq_latex = eq_latex or default_latex(eq_name, timed=True)
        if prev_latex(eq_latex) == eq_latex:
            raise CellError(
                f"value {eq_name!r}: LaTeX name {eq_latex!r} must end in _t", where=eq_name
            )
        latex[eq_name], kinds[eq_name] = eq_latex, "value"
        raw.append((eq_name, eq_latex, text, eq_kind))
    if not raw:
        raise CellError("a cell needs at least one equation", where="equations")

    for s in state:
        if kinds.get(s) != "value":
            raise CellError(f"state variable {s!r} is never updated by an equation", where=s)
    # Every value has a previous-step name, so the engine can speak of o_{t-1}.
    for n, _, _, _ in raw:
        latex[prev_name(n)] = prev_latex(latex[n])

    readable = {n for n, k in kinds.items() if k in ("input", "parameter", "value")}
    readable |= {prev_name(s) for s in state}
    symbols = {n: sympy.Symbol(n, real=True) for n in readable}
    parsed = {}
    for eq_name, eq_latex, text, eq_kind in raw:
        try:
            rhs = parse_equation(text, symbols)
        except ExprError as err:
            hint = ""
            if "undefined name" in str(err) and str(err).split("'")[1].endswith("_prev"):
                hint = " (only state variables have a _prev value)"
            raise CellError(
                f"equation {eq_name!r}: {err}{hint}", where=eq_name, col=err.col
            ) from None
        if rhs.has(symbols[eq_name]):
            raise CellError(
                f"equation {eq_name!r} refers to itself (use {prev_name(eq_name)} for the "
                "previous step's value)",
                where=eq_name,
            )
        _check_kind(eq_name, eq_kind, rhs)
        display = parse_equation(text, symbols, evaluate=False)
        parsed[eq_name] = Equation(eq_name, eq_latex, text, rhs, eq_kind, display)

    ordered = _topological(parsed, set(parsed))
    target, source = wrt
    if kinds.get(target) != "value":
        raise CellError(
            f"derivative target {target!r} is not a value of the cell "
            f"(values: {', '.join(parsed)})",
            where="target",
        )
    if source not in {prev_name(s) for s in state}:
        raise CellError(
            f"derivative source {source!r} is not a previous-step state "
            f"(choices: {', '.join(prev_name(s) for s in state)})",
            where="source",
        )
    return Cell(
        name=name,
        doc=doc.strip(),
        inputs=tuple(inputs),
        params=tuple(params),
        state=state,
        equations=tuple(ordered),
        target=target,
        source=source,
        latex=MappingProxyType(latex),
    )


def _as_latex_map(names, timed, where):
    if isinstance(names, str):
        names = names.split()
    if isinstance(names, dict):
        return {n: (tex or default_latex(n, timed)) for n, tex in names.items()}
    try:
        names = list(names)
        latex = {n: default_latex(n, timed) for n in names}
    except (TypeError, AttributeError):
        raise CellError(f"{where} must be a list of names", where=where) from None
    if len(latex) < len(names):
        twice = next(n for k, n in enumerate(names) if n in names[:k])
        raise CellError(f"{where}: {twice!r} is listed twice", where=twice)
    return latex


def _check_name(name, kind):
    if not isinstance(name, str) or not _NAME.match(name):
        raise CellError(
            f"{kind} name {name!r} is not a plain name (letters, digits, _; a letter first)",
            where=str(name),
        )
    if name in _RESERVED or name.startswith("__") or keyword.iskeyword(name):
        raise CellError(f"{kind} name {name!r} is reserved", where=name)


def _check_kind(name, kind, rhs):
    if kind == "gate" and not isinstance(rhs, sigmoid):
        raise CellError(f"value {name!r} is declared a gate but is not sigmoid(...)", where=name)
    if kind == "candidate" and not isinstance(rhs, sympy.tanh):
        raise CellError(f"value {name!r} is declared a candidate but is not tanh(...)", where=name)


def _topological(parsed, values):
    """Equations in dependency order (stable: the written order where it is free)."""
    done, order, visiting = set(), [], []

    def visit(n):
        if n in done:
            return
        if n in visiting:
            cycle = [*visiting[visiting.index(n) :], n]
            raise CellError("the equations form a cycle: " + " -> ".join(cycle), where=cycle[0])
        visiting.append(n)
        eq = parsed[n]
        for s in sorted(eq.rhs.free_symbols, key=str):
            if s.name in values:
                visit(s.name)
        visiting.pop()
        done.add(n)
        order.append(eq)

    for n in parsed:
        visit(n)
    return order


# ---------------------------------------------------------------- built-in cells
#
# One entry per cell. Conventions are stated in each docstring because the
# literature disagrees (which of z and 1 - z keeps h_{t-1}; where r_t sits).

_LSTM_PARAMS = "W_f U_f b_f W_i U_i b_i W_o U_o b_o W_c U_c b_c"

BUILTIN_SPECS = {
    "rnn": dict(
        doc="""SimpleRNN (Elman): h_t = tanh(W x_t + U h_{t-1} + b).""",
        inputs="x",
        params="W U b",
        state=["h"],
        equations=[("h", None, "tanh(W*x + U*h_prev + b)", None)],
        wrt=("h", "h_prev"),
    ),
    "rnn-relu": dict(
        doc="""SimpleRNN with ReLU: h_t = relu(W x_t + U h_{t-1} + b).""",
        inputs="x",
        params="W U b",
        state=["h"],
        equations=[("h", None, "relu(W*x + U*h_prev + b)", None)],
        wrt=("h", "h_prev"),
    ),
    "lstm": dict(
        doc="""LSTM with forget gate; the article's derivative is dc_t/dc_{t-1}.

Hochreiter & Schmidhuber 1997 with the forget gate of Gers et al. 2000, no
peepholes, as torch.nn.LSTMCell with one bias per gate. State (c, h); the
derivative is taken through h_{t-1} = o_{t-1} tanh c_{t-1} with o_{t-1} held
fixed.""",
        inputs="x",
        params=_LSTM_PARAMS,
        state=["c", "h"],
        equations=[
            ("f", None, "sigmoid(W_f*x + U_f*h_prev + b_f)", "gate"),
            ("i", None, "sigmoid(W_i*x + U_i*h_prev + b_i)", "gate"),
            ("o", None, "sigmoid(W_o*x + U_o*h_prev + b_o)", "gate"),
            ("c_hat", None, "tanh(W_c*x + U_c*h_prev + b_c)", "candidate"),
            ("c", None, "f*c_prev + i*c_hat", None),
            ("h", None, "o*tanh(c)", None),
        ],
        wrt=("c", "c_prev"),
    ),
    "gru": dict(
        doc="""GRU as in the article: z_t weighs the candidate, r_t resets before U_h.

Cho et al. 2014 with z and 1 - z swapped:
h_t = (1 - z_t) h_{t-1} + z_t hat h_t, the reset gate applied before the
recurrent weight: hat h_t = tanh(W_h x_t + U_h (r_t h_{t-1}) + b_h).""",
        inputs="x",
        params="W_z U_z b_z W_r U_r b_r W_h U_h b_h",
        state=["h"],
        equations=[
            ("z", None, "sigmoid(W_z*x + U_z*h_prev + b_z)", "gate"),
            ("r", None, "sigmoid(W_r*x + U_r*h_prev + b_r)", "gate"),
            ("h_hat", None, "tanh(W_h*x + U_h*(r*h_prev) + b_h)", "candidate"),
            ("h", None, "(1 - z)*h_prev + z*h_hat", None),
        ],
        wrt=("h", "h_prev"),
    ),
    "gru-merged": dict(
        doc="""The article's "more extreme" GRU: one gate r_t for update and reset.

One gate r_t serves as both update and reset gate:
h_t = (1 - r_t) h_{t-1} + r_t hat h_t, hat h_t = tanh(W_h x_t + U_h (r_t h_{t-1}) + b_h).""",
        inputs="x",
        params="W_r U_r b_r W_h U_h b_h",
        state=["h"],
        equations=[
            ("r", None, "sigmoid(W_r*x + U_r*h_prev + b_r)", "gate"),
            ("h_hat", None, "tanh(W_h*x + U_h*(r*h_prev) + b_h)", "candidate"),
            ("h", None, "(1 - r)*h_prev + r*h_hat", None),
        ],
        wrt=("h", "h_prev"),
    ),
    "gru-late-reset": dict(
        doc="""The article's proposal: r_t h_{t-1} moved to the end, o_t = r_t h_t cached.

"Put r_t h_{t-1} at the very end": gates and candidate read o_{t-1};
h_t = (1 - z_t) h_{t-1} + z_t hat h_t; the output o_t = r_t h_t is cached as a
second state variable. The derivative dh_t/dh_{t-1} goes through
o_{t-1} = r_{t-1} h_{t-1} with r_{t-1} held fixed.""",
        inputs="x",
        params="W_z U_z b_z W_r U_r b_r W_h U_h b_h",
        state=["h", "o"],
        equations=[
            ("z", None, "sigmoid(W_z*x + U_z*o_prev + b_z)", "gate"),
            ("r", None, "sigmoid(W_r*x + U_r*o_prev + b_r)", "gate"),
            ("h_hat", None, "tanh(W_h*x + U_h*o_prev + b_h)", "candidate"),
            ("h", None, "(1 - z)*h_prev + z*h_hat", None),
            ("o", None, "r*h", None),
        ],
        wrt=("h", "h_prev"),
    ),
    "gru-torch": dict(
        doc="""torch.nn.GRUCell (also cuDNN, Keras reset_after=True): not the article's GRU.

z_t keeps h_{t-1} (h_t = (1 - z_t) n_t + z_t h_{t-1}) and the reset gate
multiplies U_n h_{t-1} + b_hn after the matrix product. Parameters are named
after torch's: weight_ih rows (W_r, W_z, W_n), weight_hh rows (U_r, U_z, U_n),
bias_ih (b_ir, b_iz, b_in), bias_hh (b_hr, b_hz, b_hn).
Where it differs from gru: (1) z and 1 - z swap roles, a reparametrisation (gru's
z_t is 1 - z_t here, with W_z, U_z and the bias negated); (2) r_t multiplies
U_n h_{t-1} after the matrix product, gru's r_t multiplies h_{t-1} before U_h, the
same only in one dimension; (3) the bias b_hn sits inside the reset, r_t b_hn,
which no bias of gru can match: dh_t/dh_{t-1} gains r_t (1 - r_t) U_r b_hn in its
n_t term. In one dimension with b_hn = 0 the two cells coincide
(tests/test_torch.py checks all three against GRUCell).""",
        inputs="x",
        params="W_r W_z W_n U_r U_z U_n b_ir b_iz b_in b_hr b_hz b_hn",
        state=["h"],
        equations=[
            ("r", None, "sigmoid(W_r*x + b_ir + U_r*h_prev + b_hr)", "gate"),
            ("z", None, "sigmoid(W_z*x + b_iz + U_z*h_prev + b_hz)", "gate"),
            ("n", None, "tanh(W_n*x + b_in + r*(U_n*h_prev + b_hn))", "candidate"),
            ("h", None, "(1 - z)*n + z*h_prev", None),
        ],
        wrt=("h", "h_prev"),
    ),
}

#: Names of the built-in cells, in the order they are listed.
BUILTIN = tuple(BUILTIN_SPECS)


def get_cell(name: str) -> Cell:
    """The built-in cell ``name``; :class:`CellError` lists the valid names."""
    if name not in BUILTIN_SPECS:
        raise CellError(f"unknown cell {name!r}. Valid cells: {', '.join(BUILTIN)}")
    return _builtin(name)


@functools.cache
def _builtin(name: str) -> Cell:
    return make_cell(name, **BUILTIN_SPECS[name])


def cells() -> tuple[Cell, ...]:
    """All built-in cells, in listing order."""
    return tuple(get_cell(n) for n in BUILTIN)
