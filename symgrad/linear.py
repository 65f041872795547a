"""Linear maps in gate form: a cell read with vectors, and the algebra of its derivatives.

*The vector reading* (SPEC section 1 with hidden size n and input size m, the
reading of :class:`symgrad.trajectory.VectorProgram`): inputs x_t are in R^m;
previous-step values, values, biases (``b*``) and every other parameter that
is not a weight (an elementwise weight: IndRNN's u, a peephole p) are in R^n;
the weights ``W*`` and ``U*`` (:func:`symgrad.cells.param_kind`) are matrices
with n rows and as many columns as the vector they multiply (W_g: n x m on
x_t, U_g: n x n on h_{t-1}). A product containing one weight is the weight
times the elementwise product of its other factors, written :class:`MatVec`
(``U_h*(r*h_prev)`` reads :math:`U_h (r_t \\odot h_{t-1})`); every other
product, power and function acts elementwise.

*The derivative* of a vector with respect to another is a linear map, written
as a :class:`Chain`: a number times a product of factors, outermost first:

- :class:`Diag`, :math:`\\operatorname{diag}(a \\odot b \\odot \\cdots)`: the
  derivative of an elementwise product, or of an activation through its own
  ``fdiff`` in gate form (:math:`\\operatorname{diag}(f_t \\odot (1 - f_t))`);
- :class:`Weight`: a weight U, the derivative of U v with respect to v;
- :class:`Kron`, :math:`(v^\\top \\otimes I_n)`: the derivative of W v with
  respect to vec(W) (W's columns stacked);
- :class:`Paren`: a sum of chains that share no factor on either side.

A product merges neighbouring diagonal factors (diag(a) diag(b) = diag(a ⊙ b));
a sum pulls out the factors its chains share on the left and on the right and
adds its diagonal chains into one (diag(a) + diag(b) = diag(a + b)), so the
GRU's reset path reads :math:`\\operatorname{diag}(r_t)(I +
\\operatorname{diag}((1 - r_t) \\odot h_{t-1}) U_r)`. Factors of a diag are in
the paper's order (gates first, then other factors; chain order within each),
as the scalar engine orders a product.

:class:`VectorLatex` and :class:`VectorText` print all of it: ⊙ for
elementwise products, ``diag``, weights left of what they multiply.

SymPy only.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from types import MappingProxyType

import sympy
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE

from .cells import Cell, param_kind, prev_name
from .primitives import sigmoid
from .ranges import factor_rank, is_gate, value_ranges
from .render import D, LatexMath, TextMath

__all__ = [
    "IDENTITY",
    "ZERO",
    "Algebra",
    "Chain",
    "Diag",
    "Kron",
    "MatVec",
    "Paren",
    "VectorCell",
    "VectorError",
    "VectorLatex",
    "VectorText",
    "Weight",
    "bases",
    "matrix_bearing",
    "read_vector",
    "sides",
    "substitute",
]


class VectorError(ValueError):
    """A cell that cannot be read with vectors; the message names the equation."""


class MatVec(sympy.Function):
    """``MatVec(U, v)``: the weight matrix U times the vector v, never elementwise.

    A function of its own so that SymPy's flattening of products can never
    move an elementwise factor into a matrix product: ``a * MatVec(U, h)`` is
    :math:`a \\odot (U h)`, not :math:`U (a \\odot h)`."""

    nargs = 2


# ---------------------------------------------------------------- the vector reading


@dataclass(frozen=True, eq=False)
class VectorCell:
    """A cell read with vectors (see the module docstring).

    ``rhs``: value symbol -> its equation in vector form (:class:`MatVec` for
    every weight times a vector), in dependency order; ``display``: the same
    for the equations as written; ``columns``: weight name -> ``"m"`` or
    ``"n"``, the size of the vectors it multiplies; ``sizes``: every other
    name the equations read -> ``"m"`` (inputs) or ``"n"``.
    """

    cell: Cell
    rhs: MappingProxyType
    display: MappingProxyType
    columns: MappingProxyType
    sizes: MappingProxyType

    def vector(self, expr, where: str = "carry"):
        """``expr`` (a scalar expression of the cell's names) in vector form."""
        return _vector_form(expr, self.cell, where, evaluate=True)


@functools.cache
def read_vector(cell: Cell) -> VectorCell:
    """The vector reading of ``cell``; :class:`VectorError` names the equation
    that cannot be read (two weights in one product, a weight on no vector, an
    input combined elementwise with a vector of size n)."""
    rhs, display = {}, {}
    columns: dict = {}
    sizes = {name: "m" for name in cell.inputs}
    for name in cell.params:
        if param_kind(name) != "matrix":
            sizes[name] = "n"
    for s in cell.state:
        sizes[prev_name(s)] = "n"
    for eq in cell.equations:
        rhs[eq.symbol] = _vector_form(eq.rhs, cell, eq.name, evaluate=True)
        display[eq.symbol] = _vector_form(eq.display, cell, eq.name, evaluate=False)
        size = _size(rhs[eq.symbol], cell, eq.name, sizes, columns)
        if size == "m":
            raise VectorError(
                f"{cell.name}: equation {eq.name!r} gives a vector of the input's size m; "
                "every value must have the hidden size n (multiply the input by a weight W*)"
            )
        sizes[eq.name] = sizes[prev_name(eq.name)] = "n"
    return VectorCell(
        cell,
        MappingProxyType(rhs),
        MappingProxyType(display),
        MappingProxyType(columns),
        MappingProxyType(sizes),
    )


def _is_weight(expr, cell: Cell) -> bool:
    return expr.is_Symbol and expr.name in cell.params and param_kind(expr.name) == "matrix"


def _vector_form(expr, cell: Cell, where: str, evaluate: bool):
    if expr.is_Atom:
        return expr
    args = [_vector_form(a, cell, where, evaluate) for a in expr.args]
    if expr.is_Mul:
        weights = [k for k, a in enumerate(args) if _is_weight(a, cell)]
        if len(weights) > 1:
            names = " * ".join(args[k].name for k in weights)
            raise VectorError(
                f"{cell.name}: equation {where!r}: {names} multiplies weight matrices; "
                "write one weight per product"
            )
        if weights:
            weight = args[weights[0]]
            rest = [a for k, a in enumerate(args) if k != weights[0]]
            if all(a.is_Number for a in rest):
                raise VectorError(
                    f"{cell.name}: equation {where!r}: the weight {weight.name} "
                    "must multiply a vector"
                )
            operand = rest[0] if len(rest) == 1 else sympy.Mul(*rest, evaluate=evaluate)
            return MatVec(weight, operand)
        return sympy.Mul(*args, evaluate=evaluate)
    if expr.is_Add or expr.is_Pow:
        return expr.func(*args, evaluate=evaluate)
    return expr.func(*args)


def _size(expr, cell, where, sizes, columns):
    """``"m"``, ``"n"`` or None (a number) for a vector-form expression."""
    if expr.is_Number:
        return None
    if expr.is_Symbol:
        if _is_weight(expr, cell):
            raise VectorError(
                f"{cell.name}: equation {where!r}: the weight {expr.name} must multiply a vector"
            )
        return sizes.get(expr.name, "n")
    if isinstance(expr, MatVec):
        weight, operand = expr.args
        size = _size(operand, cell, where, sizes, columns)
        if columns.setdefault(weight.name, size) != size:
            raise VectorError(
                f"{cell.name}: equation {where!r}: the weight {weight.name} multiplies vectors "
                f"of sizes {columns[weight.name]} and {size}; use one weight per size"
            )
        return "n"
    found = None
    for arg in expr.args:
        size = _size(arg, cell, where, sizes, columns)
        if size is not None and found is not None and size != found:
            raise VectorError(
                f"{cell.name}: equation {where!r}: a vector of the input's size m and one of "
                "the hidden size n are combined elementwise; an input enters through a "
                "weight matrix (W*)"
            )
        found = found or size
    return found


# ---------------------------------------------------------------- linear maps


@dataclass(frozen=True)
class Diag:
    """:math:`\\operatorname{diag}(a \\odot b \\odot \\cdots)`: ``factors`` are vector
    expressions multiplied elementwise, in the paper's order."""

    factors: tuple


@dataclass(frozen=True)
class Weight:
    """The weight matrix ``name``."""

    name: str


@dataclass(frozen=True)
class Kron:
    """:math:`(v^\\top \\otimes I_n)`: d(W v)/d vec(W), for the vector ``vector`` = v."""

    vector: sympy.Expr


@dataclass(frozen=True)
class Paren:
    """A sum of :class:`Chain` s in parentheses."""

    chains: tuple


@dataclass(frozen=True)
class Chain:
    """``coeff`` (a number) times the product of ``factors``, outermost first;
    no factors is the identity."""

    coeff: sympy.Expr
    factors: tuple = ()

    @property
    def is_zero(self) -> bool:
        return self.coeff == 0


ONE = sympy.Integer(1)
IDENTITY = Chain(ONE, ())
ZERO = Chain(sympy.Integer(0), ())


def matrix_bearing(factor) -> bool:
    """Whether a factor of a chain contains a weight (is not diagonal)."""
    if isinstance(factor, (Weight, Kron)):
        return True
    if isinstance(factor, Paren):
        return any(matrix_bearing(f) for c in factor.chains for f in c.factors)
    return False


def sides(chain: Chain) -> tuple[tuple, tuple, object]:
    """``(row, column, weight)``: the diagonal factors left of the chain's first
    factor with a weight (they scale its rows), those right of it (they scale
    its columns, or the next weight's rows), and that factor (None: the chain
    is diagonal and every factor is a row factor)."""
    row, column, weight = [], [], None
    for f in chain.factors:
        if weight is None and matrix_bearing(f):
            weight = f
        elif isinstance(f, Diag):
            (row if weight is None else column).extend(f.factors)
    return tuple(row), tuple(column), weight


def substitute(chain: Chain, mapping: dict) -> Chain:
    """``chain`` with ``mapping`` (symbol -> symbol, an ``xreplace``) applied to
    every vector it reads: the same linear map of other values (the K-step
    derivative's step t + k). Weights are not vectors: they stay."""
    return Chain(chain.coeff, tuple(_substitute(f, mapping) for f in chain.factors))


def _substitute(factor, mapping: dict):
    if isinstance(factor, Diag):
        return Diag(tuple(x.xreplace(mapping) for x in factor.factors))
    if isinstance(factor, Kron):
        return Kron(factor.vector.xreplace(mapping))
    if isinstance(factor, Paren):
        return Paren(tuple(substitute(c, mapping) for c in factor.chains))
    return factor


def bases(factors) -> list:
    """The distinct bases of ``factors`` (f for f**2), in order."""
    out = []
    for f in factors:
        base = f.base if f.is_Pow and f.exp.is_Integer and f.exp > 0 else f
        if base not in out:
            out.append(base)
    return out


class Algebra:
    """Products, sums and partial derivatives of linear maps for one cell.

    ``rules``: activation calls -> the values they define (vector form), so
    every derivative comes out in gate form; ``ranges`` (default: the cell's
    value ranges; the K-step derivative adds the values of later steps) order
    the factors of a diag as the paper does and say which are gates.
    """

    def __init__(self, vcell: VectorCell, rules: dict, ranges: dict | None = None):
        self.cell = vcell.cell
        self.rules = rules
        self.ranges = value_ranges(vcell.cell) if ranges is None else ranges

    # -- normal form

    def rank(self, factor) -> int:
        base = factor.base if factor.is_Pow else factor
        return factor_rank(base, self.ranges, self.cell)

    def merge(self, factors) -> tuple:
        """Repeated factors as powers, in paper order (a stable sort: chain order kept)."""
        powers = _powers(factors)
        return tuple(sorted((b**k for b, k in powers.items()), key=self.rank))

    def chain(self, coeff, factors) -> Chain:
        """The normal form of ``coeff`` times ``factors``: chains spliced in,
        neighbouring diags merged, numbers pulled out in front."""
        coeff = sympy.Integer(coeff) if isinstance(coeff, int) else coeff
        out: list = []
        todo = list(factors)
        while todo:
            f = todo.pop(0)
            if isinstance(f, Chain):
                coeff, todo[:0] = coeff * f.coeff, f.factors
            elif isinstance(f, Paren) and len(f.chains) == 1:
                todo.insert(0, f.chains[0])
            elif isinstance(f, Diag):
                number, rest = ONE, []
                for x in f.factors:
                    for a in sympy.Mul.make_args(x):
                        if a.is_Number:
                            number *= a
                        else:
                            rest.append(a)
                coeff *= number
                if out and isinstance(out[-1], Diag):
                    rest = [*out.pop().factors, *rest]
                if rest:
                    out.append(Diag(self.merge(rest)))
            else:
                out.append(f)
        return ZERO if coeff == 0 else Chain(coeff, tuple(out))

    def diag(self, factors) -> Chain:
        """diag of the elementwise product of ``factors``, in gate form (the rules
        applied to the whole product, so f (1 - f) keeps SymPy's order of f, 1 - f)."""
        product = sympy.Mul(*factors).xreplace(self.rules)
        return self.chain(ONE, (Diag(sympy.Mul.make_args(product)),))

    def compose(self, a: Chain, b: Chain) -> Chain:
        """The product a b (a after b)."""
        if a.is_zero or b.is_zero:
            return ZERO
        return self.chain(a.coeff * b.coeff, a.factors + b.factors)

    def add(self, chains) -> Chain:
        """The sum of ``chains`` as one chain, shared factors pulled out."""
        merged: dict = {}
        for c in chains:
            if not c.is_zero:
                merged[c.factors] = merged.get(c.factors, 0) + c.coeff
        chains = [Chain(k, f) for f, k in merged.items() if k != 0]
        if len(chains) <= 1:
            return chains[0] if chains else ZERO
        coeff = ONE
        if all(c.coeff == chains[0].coeff for c in chains):
            coeff = chains[0].coeff
            chains = [Chain(ONE, c.factors) for c in chains]
        left, chains = self._pull(chains, 0)
        right, chains = self._pull(chains, -1)
        chains = self._diagonal_sum(chains)
        if not chains:
            return ZERO
        inner = chains[0] if len(chains) == 1 else Paren(tuple(chains))
        return self.chain(coeff, (*left, inner, *reversed(right)))

    def _pull(self, chains, end):
        """The factors every chain has at ``end`` (0: left, -1: right), pulled
        out: equal factors, and the common elementwise factors of end diags."""
        pulled = []
        while all(c.factors for c in chains):
            ends = [c.factors[end] for c in chains]
            if all(e == ends[0] for e in ends):
                pulled.append(ends[0])
                chains = [_strip(c, end, None) for c in chains]
                continue
            if not all(isinstance(e, Diag) for e in ends):
                break
            counts = [_powers(e.factors) for e in ends]
            common = {b: min(c.get(b, 0) for c in counts) for b in counts[0]}
            common = {b: k for b, k in common.items() if k > 0}
            if not common:
                break
            pulled.append(Diag(self.merge([b**k for b, k in common.items()])))
            chains = [
                _strip(c, end, _without(e.factors, common))
                for c, e in zip(chains, ends, strict=True)
            ]
        return pulled, chains

    def _diagonal_sum(self, chains):
        """diag(a) + diag(b) -> diag(a + b): the diagonal chains of a sum as one."""
        diagonal = [c for c in chains if all(isinstance(f, Diag) for f in c.factors)]
        if len(diagonal) < 2:
            return chains
        total = sympy.Add(
            *(c.coeff * sympy.Mul(*(x for f in c.factors for x in f.factors)) for c in diagonal)
        )
        out, placed = [], False
        for c in chains:
            if c not in diagonal:
                out.append(c)
            elif not placed and total != 0:
                out.append(self.chain(ONE, (Diag((total,)),)))
                placed = True
        return out

    # -- the chain rule

    def partial(self, expr, w) -> Chain:
        """:math:`\\partial\\,\\text{expr}/\\partial w` as a linear map (every other
        symbol held fixed), for a vector-form ``expr`` and a symbol ``w``: a
        vector, or a weight (then with respect to vec(w))."""
        if expr == w:
            return IDENTITY
        if not expr.has(w):
            return ZERO
        if expr.is_Add:
            return self.add([self.partial(a, w) for a in expr.args])
        if expr.is_Mul:
            args = expr.args
            return self.add(
                [
                    self.compose(self.diag(args[:k] + args[k + 1 :]), self.partial(a, w))
                    for k, a in enumerate(args)
                    if a.has(w)
                ]
            )
        if isinstance(expr, MatVec):
            weight, operand = expr.args
            parts = []
            if weight == w:
                parts.append(Chain(ONE, (Kron(operand.xreplace(self.rules)),)))
            if operand.has(w):
                parts.append(
                    self.compose(Chain(ONE, (Weight(weight.name),)), self.partial(operand, w))
                )
            return self.add(parts)
        if expr.is_Pow and not expr.exp.has(w):
            step = self.diag((expr.exp, expr.base ** (expr.exp - 1)))
            return self.compose(step, self.partial(expr.base, w))
        if isinstance(expr, sympy.Function) and len(expr.args) == 1:
            step = self.diag(sympy.Mul.make_args(expr.fdiff(1)))
            return self.compose(step, self.partial(expr.args[0], w))
        raise VectorError(f"{self.cell.name}: cannot differentiate {expr} as a vector expression")

    def gates(self, factors) -> tuple:
        """The factors that lie in [0, 1] (a power counted as often as its exponent)."""
        out = []
        for f in factors:
            base, k = f, 1
            if f.is_Pow and f.exp.is_Integer and f.exp > 0:
                base, k = f.base, int(f.exp)
            if not base.is_Number and is_gate(base, self.ranges):
                out += [base] * k
        return tuple(out)


def _powers(factors) -> dict:
    powers: dict = {}
    for f in factors:
        base, k = (f.base, f.exp) if f.is_Pow and f.exp.is_Integer and f.exp > 0 else (f, ONE)
        powers[base] = powers.get(base, 0) + k
    return powers


def _without(factors, common: dict) -> tuple:
    left = _powers(factors)
    return tuple(b ** (k - common.get(b, 0)) for b, k in left.items() if k - common.get(b, 0))


def _strip(chain: Chain, end, replacement) -> Chain:
    """``chain`` without its factor at ``end``, or with it replaced by a diag
    of ``replacement`` (dropped when empty)."""
    factors = list(chain.factors)
    k = 0 if end == 0 else len(factors) - 1
    if replacement:
        factors[k] = Diag(replacement)
    else:
        del factors[k]
    return Chain(chain.coeff, tuple(factors))


# ---------------------------------------------------------------- printers


def _bare_sum(chain: Chain) -> bool:
    """A chain that is only a sum (printed without parentheses where it stands alone)."""
    return chain.coeff == 1 and len(chain.factors) == 1 and isinstance(chain.factors[0], Paren)


class _VectorPrinting:
    """What both printers share: ⊙ for elementwise products, weights left of
    the vector they multiply, squares of a vector as v ⊙ v, linear maps.
    ``matrices``: weight names (a derivative with respect to one is with
    respect to vec(W))."""

    odot = ""
    identity = "I"

    def _paren(self, text: str) -> str:
        raise NotImplementedError

    def _elementwise(self, factor) -> str:
        """A factor of an elementwise product, parenthesised where ⊙ would bind
        wrongly (a sum, a matrix-vector product; ⊙ itself is associative)."""
        text = self.parenthesize(factor, PRECEDENCE["Mul"], strict=False)
        return self._paren(text) if isinstance(factor, MatVec) else text

    def _hadamard(self, expr) -> bool:
        """A power printed with ⊙ (not a function's own power, tanh^2 c)."""
        return (
            expr.exp.is_Integer
            and expr.exp > 1
            and not isinstance(expr.base, (sympy.tanh, sigmoid))
        )

    def _print_MatVec(self, expr):
        weight, operand = expr.args
        inner = self._print(operand)
        return f"{self._print(weight)} {inner if operand.is_Symbol else self._paren(inner)}"

    def _print_Mul(self, expr):
        if any(f.is_Pow and f.exp.is_negative for f in expr.args):
            return self._quotient(expr)
        if self.as_written:
            coeff, factors = ONE, list(expr.args)
            while factors and factors[0].is_Number:
                coeff *= factors.pop(0)
        else:
            coeff, factors = self.ordering.ordered(expr)
        body = f" {self.odot} ".join(self._elementwise(f) for f in factors)
        return self._scaled(coeff, body)

    def _scaled(self, coeff, body: str) -> str:
        if coeff == 1:
            return body
        if coeff == -1:
            return "-" + body
        return self._print(coeff) + " " + body

    def _print_Pow(self, expr, rational=False):
        if self._hadamard(expr):
            base = self._elementwise(expr.base)
            if expr.exp == 2:
                return f"{base} {self.odot} {base}"
            return self._power(base, int(expr.exp))
        return super()._print_Pow(expr)

    # -- linear maps

    def _print_Diag(self, d):
        if len(d.factors) == 1:
            return self._diag(self._print(d.factors[0]))
        return self._diag(f" {self.odot} ".join(self._elementwise(f) for f in d.factors))

    def _print_Weight(self, w):
        return self._print(sympy.Symbol(w.name, real=True))

    def _print_Paren(self, p):
        return self._paren(self._sum(p.chains))

    def _print_Chain(self, c):
        if _bare_sum(c):
            return self._sum(c.factors[0].chains)
        body = " ".join(self._print(f) for f in c.factors) or self.identity
        return self._scaled(c.coeff, body)

    def _factor(self, it):
        """A factor of a juxtaposed product (``A ∂f_t/∂c_{t-1}``): a sum in parentheses."""
        if isinstance(it, Chain) and _bare_sum(it):
            return self._paren(self._print(it))
        return super()._factor(it)

    def _sum(self, chains) -> str:
        out = ""
        for c in chains:
            text = self._print(c)
            if not out:
                out = text
            elif text.startswith("-"):
                out += " - " + text[1:].lstrip()
            else:
                out += " + " + text
        return out or "0"

    def item(self, it) -> str:
        if isinstance(it, D) and it.den in self.matrices:
            return self._vec_partial(it)
        return super().item(it)


class VectorLatex(_VectorPrinting, LatexMath):
    """LaTeX of vector expressions and linear maps: ``\\operatorname{diag}\\left(1 - h_t
    \\odot h_t\\right) U``; plain italic vectors, names from ``cell.latex`` (or
    ``names``: the values of later steps too)."""

    odot = r"\odot"

    def __init__(self, cell: Cell, ranges=None, matrices=(), names=None):
        super().__init__(cell, ranges, names)
        self.matrices = frozenset(matrices)

    def _paren(self, text):
        return rf"\left({text}\right)"

    def _quotient(self, expr):
        return LatexPrinter._print_Mul(self, expr)

    def _scaled(self, coeff, body):
        return "- " + body if coeff == -1 else super()._scaled(coeff, body)

    def _power(self, base, k):
        return rf"{base}^{{\odot {k}}}"

    def _diag(self, inner):
        return rf"\operatorname{{diag}}\left({inner}\right)"

    def _print_Kron(self, k):
        v = self._print(k.vector)
        v = v if k.vector.is_Symbol else self._paren(v)
        return rf"\left({v}^{{\top}} \otimes I_n\right)"

    def _vec_partial(self, it):
        lat = self.ordering.cell.latex
        return rf"\frac{{\partial {lat[it.num]}}}{{\partial \operatorname{{vec}} {lat[it.den]}}}"


class VectorText(_VectorPrinting, TextMath):
    """Unicode text of vector expressions and linear maps: ``diag(1 - h_t ⊙ h_t) U``."""

    odot = "⊙"

    def __init__(self, cell: Cell, ranges=None, matrices=(), names=None):
        super().__init__(cell, ranges, names)
        self.matrices = frozenset(matrices)

    def _paren(self, text):
        return f"({text})"

    def _quotient(self, expr):
        return TextMath._print_Mul(self, expr)

    def _power(self, base, k):
        return f"{base}^(⊙{k})"

    def _diag(self, inner):
        return f"diag({inner})"

    def _print_Kron(self, k):
        v = self._print(k.vector)
        v = v if k.vector.is_Symbol else self._paren(v)
        return f"({v}ᵀ ⊗ I_n)"

    def _vec_partial(self, it):
        return f"∂{self.names[it.num]}/∂vec {self.names[it.den]}"
