"""Exact and ball evaluation of a cell read with vectors, and certified operator norms.

:mod:`symgrad.vecnumeric` evaluates the matrix-form derivatives of
:mod:`symgrad.vector` in float64; this module evaluates the same linear maps
(:class:`~symgrad.linear.Chain`) at the same kind of point in two other
arithmetics, so that a point a numerical search found can be made exact or
certified:

- :data:`EXACT`: SymPy numbers and symbols (a family of points with a
  symbolic parameter s, rational entries, ``tanh(1/2)`` kept exact);
- :data:`BALL`: python-flint arb balls, each enclosing the exact value at the
  (exact, rational) point.

Vectors are lists of length n and matrices lists of rows, so any arithmetic
whose numbers add and multiply works; nothing here differentiates: the linear
maps are the engine's.

Operator 2-norms: :func:`exact_norm` (a matrix with SymPy entries whose norm
has a closed form: rank one, a multiple of an orthogonal matrix, or 2 x 2),
:func:`norm_lower` (``||M v|| / ||v||`` in balls: a certified lower bound) and
:func:`norm_below` (``t^2 I - M^T M`` positive definite by its leading
minors, in balls: a certified upper bound). :func:`rational` rounds a float
point to a dyadic grid, so that it is exact in every arithmetic.

SymPy only at import; flint is imported by the ball arithmetic on first use.
"""

from __future__ import annotations

from fractions import Fraction

import sympy

from .linear import Chain, Diag, Kron, MatVec, Paren, Weight
from .primitives import PRIMITIVES, primitive_of

__all__ = [
    "BALL",
    "EXACT",
    "VectorValues",
    "chain_matrix",
    "exact_norm",
    "matmul",
    "norm_below",
    "norm_lower",
    "rational",
    "to_ball",
    "to_exact",
]

# ---------------------------------------------------------------- arithmetics


class _Exact:
    """SymPy: sums and products stay exact; sigma(u) is 1/(1 + e^{-u}) and tanh
    SymPy's own (which simplifies tanh(atanh q) to q)."""

    name = "exact"

    def number(self, q):
        return sympy.Rational(q) if not isinstance(q, sympy.Basic) else q

    def call(self, name: str, x):
        if name == "sigmoid":
            return 1 / (1 + sympy.exp(-x))
        if name == "tanh":
            return sympy.tanh(x)
        if name == "relu":
            return sympy.Max(0, x)
        return PRIMITIVES[name].function(x)

    def heaviside(self, x, at_zero):
        if x.is_positive:
            return sympy.Integer(1)
        if x.is_negative or (x.is_zero and at_zero == 0):
            return sympy.Integer(0)
        raise ValueError(f"the sign of {x} is not decided: relu' is not known there")

    def sqrt(self, x):
        return sympy.sqrt(x)


class _Ball:
    """arb balls at flint's working precision: every result encloses the exact value."""

    name = "ball"

    def number(self, q):
        from flint import arb, fmpq

        q = Fraction(str(q)) if isinstance(q, sympy.Basic) else Fraction(q)
        return arb(fmpq(q.numerator, q.denominator))

    def call(self, name: str, x):
        p = PRIMITIVES[name]
        if p.arb is None:
            raise TypeError(f"no ball arithmetic for {name}")
        return p.arb(x)

    def heaviside(self, x, at_zero):
        if x > 0:
            return self.number(1)
        if x < 0:
            return self.number(0)
        raise ValueError("the ball contains 0: relu' is not decided there")

    def sqrt(self, x):
        return x.sqrt()


EXACT = _Exact()
BALL = _Ball()


def rational(x: float, bits: int = 6) -> Fraction:
    """``x`` rounded to the nearest multiple of 2^-bits: a short exact number."""
    return Fraction(round(float(x) * 2**bits), 2**bits)


def to_exact(array):
    """A float or Fraction array (nested lists or NumPy) as SymPy Rationals, nested lists."""
    if hasattr(array, "tolist"):
        array = array.tolist()
    if isinstance(array, list | tuple):
        return [to_exact(a) for a in array]
    return sympy.Rational(Fraction(array)) if not isinstance(array, sympy.Basic) else array


def to_ball(array):
    """An exact array (Fractions, SymPy Rationals or floats, which are dyadic) as arb balls."""
    if hasattr(array, "tolist"):
        array = array.tolist()
    if isinstance(array, list | tuple):
        return [to_ball(a) for a in array]
    return BALL.number(array)


# ---------------------------------------------------------------- the forward pass


class VectorValues:
    """Every vector expression of a cell read with vectors, at one point.

    ``vcell``: :func:`symgrad.linear.read_vector`'s reading; ``carry``: the
    one-step convention (previous-step symbol -> vector expression);
    ``arrays``: ASCII name -> list (vector) or list of rows (matrix) of numbers
    of ``arith`` (:data:`EXACT` or :data:`BALL`); ``n``: the hidden size.
    """

    def __init__(self, vcell, carry: dict, arrays: dict, arith, n: int):
        self.env = {vcell.cell.symbol(k): v for k, v in arrays.items()}
        self.definitions = {**carry, **vcell.rhs}
        self.arith = arith
        self.n = n
        self.memo: dict = {}

    def value(self, e) -> list:
        """``e``'s value: a list of n numbers (a matrix: list of rows, for a weight)."""
        out = self.memo.get(e)
        if out is None:
            out = self.memo[e] = self._value(e)
        return out

    def _value(self, e):
        arith, n = self.arith, self.n
        if e.is_Symbol:
            if e in self.env:
                return self.env[e]
            return self.value(self.definitions[e])
        if e.is_Number:
            return [arith.number(e)] * n
        if e.is_Add or e.is_Mul:
            parts = [self.value(a) for a in e.args]
            out = list(parts[0])
            for p in parts[1:]:
                out = [x + y if e.is_Add else x * y for x, y in zip(out, p, strict=True)]
            return out
        if isinstance(e, MatVec):
            weight, operand = (self.value(a) for a in e.args)
            return [_dot(row, operand) for row in weight]
        if e.is_Pow:
            base = self.value(e.base)
            if e.exp == sympy.Rational(1, 2):
                return [arith.sqrt(x) for x in base]
            if not e.exp.is_Integer:
                raise TypeError(f"no exact power {e.exp}")
            k = int(e.exp)
            return [_power(x, k) if k > 0 else 1 / _power(x, -k) for x in base]
        if isinstance(e, sympy.Heaviside):
            at_zero = e.args[1] if len(e.args) > 1 else sympy.Rational(1, 2)
            return [arith.heaviside(x, at_zero) for x in self.value(e.args[0])]
        p = primitive_of(e)
        if p is None:
            raise TypeError(f"cannot evaluate {type(e).__name__}")
        return [arith.call(p.name, x) for x in self.value(e.args[0])]


def _power(x, k: int):
    """x^k by products: arb's ``**`` of a ball that contains 0 is nan."""
    out = x
    for _ in range(k - 1):
        out = out * x
    return out


def _dot(row, vector):
    out = row[0] * vector[0]
    for x, y in zip(row[1:], vector[1:], strict=True):
        out = out + x * y
    return out


# ---------------------------------------------------------------- linear maps


def matmul(a: list, b: list) -> list:
    """The product of two matrices given as lists of rows."""
    columns = list(zip(*b, strict=True))
    return [[_dot(row, col) for col in columns] for row in a]


def _identity(n: int, arith) -> list:
    one, zero = arith.number(1), arith.number(0)
    return [[one if i == j else zero for j in range(n)] for i in range(n)]


def chain_matrix(chain: Chain, values: VectorValues) -> list:
    """The matrix (list of rows, n x n) of a :class:`~symgrad.linear.Chain` at
    ``values``: the engine's linear map in ``values``' arithmetic."""
    n, arith = values.n, values.arith
    out = _identity(n, arith)
    for f in reversed(chain.factors):
        if isinstance(f, Diag):
            d = values.value(f.factors[0])
            for x in f.factors[1:]:
                d = [u * v for u, v in zip(d, values.value(x), strict=True)]
            out = [[d[i] * x for x in row] for i, row in enumerate(out)]
        elif isinstance(f, Weight):
            out = matmul(values.value(sympy.Symbol(f.name, real=True)), out)
        elif isinstance(f, Paren):
            parts = [matmul(chain_matrix(c, values), out) for c in f.chains]
            out = [
                [sum(col[1:], col[0]) for col in zip(*rows, strict=True)]
                for rows in zip(*parts, strict=True)
            ]
        elif isinstance(f, Kron):
            raise TypeError("a derivative with respect to a weight has no square matrix")
        else:
            raise TypeError(f"not a factor of a linear map: {f!r}")
    coeff = arith.number(chain.coeff)
    return [[coeff * x for x in row] for row in out]


# ---------------------------------------------------------------- operator norms


def exact_norm(matrix):
    """The operator 2-norm of a SymPy matrix (any symbols positive) in closed
    form, and how it was found; ``(None, why)`` when no closed form below applies.

    - rank one: M^T M has the one nonzero eigenvalue tr(M^T M);
    - M^T M = c I: every singular value is sqrt(c);
    - 2 x 2: the larger eigenvalue of M^T M, (tr + sqrt(tr^2 - 4 det))/2.
    """
    m = sympy.Matrix(matrix)
    gram = (m.T * m).applyfunc(sympy.simplify)
    rows, cols = m.shape
    minors = [
        m[i, p] * m[j, q] - m[i, q] * m[j, p]
        for i in range(rows)
        for j in range(i + 1, rows)
        for p in range(cols)
        for q in range(p + 1, cols)
    ]
    if all(sympy.simplify(x) == 0 for x in minors):
        return sympy.sqrt(
            sympy.simplify(gram.trace())
        ), "rank one: $||M||^2$ is the trace of $M^T M$"
    c = gram[0, 0]
    if all(
        sympy.simplify(gram[i, j] - (c if i == j else 0)) == 0
        for i in range(cols)
        for j in range(cols)
    ):
        return sympy.sqrt(c), "$M^T M = c I$"
    if gram.shape == (2, 2):
        tr, det = gram.trace(), gram.det()
        top = (tr + sympy.sqrt(tr**2 - 4 * det)) / 2
        return sympy.sqrt(
            sympy.simplify(top)
        ), "2 x 2: $||M||^2$ is the larger eigenvalue of $M^T M$"
    return None, "no closed form"


def norm_lower(matrix: list, vector: list):
    """``||M v|| / ||v||`` as an arb ball (M and v in balls): its lower end is a
    certified lower bound of the operator 2-norm of every matrix in M."""
    image = [_dot(row, vector) for row in matrix]
    num = _dot(image, image)
    den = _dot(vector, vector)
    return (num / den).sqrt()


def norm_below(matrix: list, t) -> bool:
    """Certified ``||M|| < t`` for every matrix in the balls ``matrix``: the
    leading principal minors of t^2 I - M^T M are all positive (Sylvester's
    criterion for a positive definite matrix), each ball's lower end > 0."""
    columns = list(zip(*matrix, strict=True))
    k = len(columns)
    gram = [[_dot(a, b) for b in columns] for a in columns]
    t2 = t * t
    shifted = [[(t2 if i == j else 0) - gram[i][j] for j in range(k)] for i in range(k)]
    return all(_det([row[:size] for row in shifted[:size]]) > 0 for size in range(1, k + 1))


def _det(m: list):
    """Determinant by cofactor expansion (k <= 4 here), in any arithmetic."""
    if len(m) == 1:
        return m[0][0]
    out = None
    for j, x in enumerate(m[0]):
        minor = [row[:j] + row[j + 1 :] for row in m[1:]]
        term = x * _det(minor)
        out = term if out is None else (out - term if j % 2 else out + term)
    return out
