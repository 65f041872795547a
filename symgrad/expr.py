"""The language of cell equations: a safe parser and its growth limits.

Every equation of a cell, built-in or from a user's file, is text such as
``sigmoid(W_f*x + U_f*h_prev + b_f)``. It is parsed here with :mod:`ast`
against a whitelist and turned into SymPy objects by this module's own code;
the text is never handed to ``eval``, ``exec`` or SymPy's string parsers, so a
cell file can never run code. The functions it may call are those of
:data:`symgrad.primitives.PRIMITIVES`.
"""

from __future__ import annotations

import ast
import contextlib
import contextvars
import fractions
import math
import operator

import sympy
from sympy.core.parameters import evaluate as sympy_evaluate

from .defaults import MAX_DEGREE, MAX_TERMS
from .primitives import PRIMITIVES, primitive_of

__all__ = ["FUNCTIONS", "ExprError", "check_growth", "growth_limits", "parse_equation"]

#: Functions an equation may call, by the name it is called with.
FUNCTIONS = {name: p.function for name, p in PRIMITIVES.items()}


# ---------------------------------------------------------------- safe parser

#: Limits that keep a hostile equation from costing time or memory.
MAX_EQUATION_CHARS = 2_000
MAX_DEPTH = 40  # nesting of operators and calls
MAX_EXPONENT = 8  # a literal power above this is refused (10**10**10 would hang)
MAX_CONSTANT = 1e6  # constants are weights' scale, not astronomy
# Smallest nonzero literal: epsilons such as 1e-8 fit; 1e-400 (a float 0) and
# 1e-99999 (an exact rational with 99,999 digits) do not.
MIN_CONSTANT = 1e-12
# The limits in force: raised for one load by growth_limits (the command line's
# --max-terms and --max-degree).
_LIMITS = contextvars.ContextVar("growth limits", default=(MAX_TERMS, MAX_DEGREE))
# A number's share of the degree budget: a literal up to MAX_CONSTANT (20 bits)
# counts as one factor, so 10**48 (160 bits) counts as eight.
_BITS_PER_FACTOR = 20

_NOT_FINITE = (sympy.zoo, sympy.nan, sympy.oo, -sympy.oo, sympy.I)


class ExprError(ValueError):
    """A malformed equation; ``col`` is the 0-based character index in the equation text
    (its column, for one-line text), or None where no single place is at fault."""

    def __init__(self, message: str, col: int | None = None):
        super().__init__(message)
        self.col = col


_BINOPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
_ADDITIVE = (ast.Add, ast.Sub)
_MULTIPLICATIVE = (ast.Mult, ast.Div)


def parse_equation(text: str, names: dict[str, sympy.Symbol], evaluate: bool = True) -> sympy.Expr:
    """Parse the right-hand side of an equation into a SymPy expression.

    ``names`` maps every name the equation may use to its symbol. Allowed:
    ``+ - * /``, integer powers up to :data:`MAX_EXPONENT`, unary minus, finite
    numbers (magnitude in [:data:`MIN_CONSTANT`, :data:`MAX_CONSTANT`] or 0),
    names from ``names`` and one-argument calls of :data:`FUNCTIONS`; printable
    ASCII only, newlines allowed inside brackets. Anything else raises
    :class:`ExprError` naming what was found and where. The result is a real,
    finite expression within the growth limits of :func:`check_growth`.
    """
    if not isinstance(text, str):
        raise ExprError(f"an equation must be text, not {type(text).__name__}")
    if len(text) > MAX_EQUATION_CHARS:
        raise ExprError(f"equation longer than {MAX_EQUATION_CHARS} characters")
    if not text.strip():
        raise ExprError("empty equation")
    # Python's own parser recurses on nesting; refuse deep nesting before it
    # does. Non-ASCII is refused too: Python folds look-alike letters (NFKC:
    # a fullwidth x is x), so the text would not mean what it shows.
    depth = 0
    for col, ch in enumerate(text):
        if not (" " <= ch <= "~" or ch in "\t\n"):
            what = "non-ASCII character" if ord(ch) > 127 else "control character"
            raise ExprError(f"{what} {ch!r} (equations are ASCII: sigmoid, tanh, W_f, ...)", col)
        depth += ch in "([{"
        depth -= ch in ")]}"
        if depth > MAX_DEPTH:
            raise ExprError(f"brackets nested deeper than {MAX_DEPTH}", col)
    lead = len(text) - len(text.lstrip())
    body = text[lead:].rstrip()
    try:
        tree = ast.parse(body, mode="eval")
    except SyntaxError as err:
        col = _index(body, err.lineno, (err.offset or 0) - 1)
        raise ExprError(f"syntax error: {err.msg}", lead + col) from None
    except (RecursionError, MemoryError, ValueError):
        raise ExprError("equation too complex to parse") from None
    builder = _Builder(body, names, lead, checks=evaluate)
    if evaluate:
        expr = builder.build(tree.body, 0)
        if expr.has(*_NOT_FINITE):
            raise ExprError("the equation is not a finite real number (a division by zero?)")
        check_growth(expr)
        return expr
    with sympy_evaluate(False):
        return builder.build(tree.body, 0)


def _index(text: str, lineno: int | None, col: int) -> int:
    """Character index in ``text`` of a 1-based line and 0-based column (clamped);
    the end of the text where Python gives no position (an unfinished expression)."""
    if not lineno or col < 0:
        return len(text)
    starts = [0] + [k + 1 for k, ch in enumerate(text) if ch == "\n"]
    line = min(lineno, len(starts)) - 1
    return min(starts[line] + col, len(text))


class _Builder:
    """SymPy objects from a whitelisted :mod:`ast` tree; every refusal names its place."""

    def __init__(self, text, names, offset, checks=True):
        self.text = text
        self.names = names
        self.offset = offset
        # Value checks need SymPy's evaluation (exp(0) is 1); unevaluated, the
        # text is only rebuilt as written, after an evaluated parse passed.
        self.checks = checks

    def fail(self, node, message):
        # ASCII only (checked above), so ast's byte offsets are character offsets.
        col = _index(self.text, getattr(node, "lineno", None), getattr(node, "col_offset", 0))
        raise ExprError(message, col + self.offset)

    def build(self, node, depth):
        if depth > MAX_DEPTH:
            self.fail(node, f"expression nested deeper than {MAX_DEPTH}")
        if isinstance(node, ast.BinOp):
            return self.binop(node, depth)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            operand = self.build(node.operand, depth + 1)
            return -operand if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.Constant):
            return self.constant(node)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.Call):
            return self.call(node, depth)
        self.fail(node, f"{_describe(node)} is not allowed in an equation")

    def binop(self, node, depth):
        if isinstance(node.op, ast.Pow):
            return self.power(node, depth)
        if type(node.op) not in _BINOPS:
            self.fail(
                node,
                f"operator {_OPERATORS.get(type(node.op), '?')} is not allowed "
                "(use + - * / and ** for powers)",
            )
        # A chain a + b - c + ... is one level however long (Python nests it to
        # the left), so the depth limit counts brackets and calls, not terms.
        kind = _ADDITIVE if isinstance(node.op, _ADDITIVE) else _MULTIPLICATIVE
        chain = []
        while isinstance(node, ast.BinOp) and isinstance(node.op, kind):
            chain.append(node)
            node = node.left
        result = self.build(node, depth + 1)
        for link in reversed(chain):
            right = self.build(link.right, depth + 1)
            if isinstance(link.op, ast.Div) and right == 0:
                self.fail(link.right, "division by zero")
            result = _BINOPS[type(link.op)](result, right)
        return result

    def power(self, node, depth):
        base = self.build(node.left, depth + 1)
        exponent = node.right
        negative = False
        if isinstance(exponent, ast.UnaryOp) and isinstance(exponent.op, ast.USub):
            negative, exponent = True, exponent.operand
        if not (
            isinstance(exponent, ast.Constant)
            and type(exponent.value) is int
            and exponent.value <= MAX_EXPONENT
        ):
            self.fail(
                node.right,
                f"exponents must be integer literals from -{MAX_EXPONENT} to {MAX_EXPONENT}",
            )
        n = exponent.value
        if negative and base == 0:
            self.fail(node, "division by zero (0 to a negative power)")
        # Decide before SymPy multiplies out: (1e6**8)**8 would already be 384 digits.
        if self.checks:
            try:
                check_growth(base, power=n)
            except ExprError as err:
                self.fail(node, str(err))
        return base ** (-n if negative else n)

    def constant(self, node):
        value = node.value
        if type(value) not in (int, float):
            self.fail(node, f"{_describe(node)} is not allowed in an equation")
        # Magnitude first: isfinite() of a 1,500-digit integer overflows.
        if abs(value) > MAX_CONSTANT or not math.isfinite(value):
            self.fail(node, f"constant {value!r} is not finite or exceeds {MAX_CONSTANT:g}")
        if type(value) is int:
            return sympy.Integer(value)
        # The literal's own digits, so 0.1 is exactly 1/10 and not the nearest double.
        source = (ast.get_source_segment(self.text, node) or "").replace("_", "")
        mantissa = source.lower().partition("e")[0]
        underflow = value == 0 and any(d in mantissa for d in "123456789")
        if underflow or 0 < abs(value) < MIN_CONSTANT:
            self.fail(node, f"constant {source} is below {MIN_CONSTANT:g} (write 0 for zero)")
        try:
            exact = fractions.Fraction(source)
        except ValueError:
            exact = fractions.Fraction(value)
        return sympy.Rational(exact.numerator, exact.denominator)

    def name(self, node):
        if node.id.startswith("__"):
            self.fail(node, f"name {node.id!r} is not allowed")
        if node.id in FUNCTIONS:
            self.fail(node, f"function {node.id!r} must be called with one argument")
        symbol = self.names.get(node.id)
        if symbol is None:
            known = ", ".join(sorted(self.names)) or "none"
            self.fail(node, f"undefined name {node.id!r} (known names: {known})")
        return symbol

    def call(self, node, depth):
        if not isinstance(node.func, ast.Name):
            self.fail(node, f"only the functions {', '.join(FUNCTIONS)} may be called")
        function = FUNCTIONS.get(node.func.id)
        if function is None:
            self.fail(
                node,
                f"unknown function {node.func.id!r} (allowed: {', '.join(FUNCTIONS)})",
            )
        if node.keywords or len(node.args) != 1 or isinstance(node.args[0], ast.Starred):
            self.fail(node, f"{node.func.id}() takes exactly one argument")
        result = function(self.build(node.args[0], depth + 1))
        if not self.checks:
            return result
        if result.has(*_NOT_FINITE):
            self.fail(node, f"{node.func.id}() of this argument is not a finite real number")
        try:
            check_growth(result)
        except ExprError as err:
            self.fail(node, str(err))
        return result


_OPERATORS = {
    ast.Mod: "%",
    ast.FloorDiv: "//",
    ast.MatMult: "@",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitAnd: "&",
    ast.BitXor: "^",
}


def _describe(node) -> str:
    if isinstance(node, ast.Constant):
        return f"constant {node.value!r}"[:60]
    if isinstance(node, ast.Attribute):
        return f"attribute access '.{node.attr}'"
    if isinstance(node, ast.UnaryOp):
        return {ast.Not: "operator 'not'", ast.Invert: "operator '~'"}.get(type(node.op), "?")
    return {
        ast.Subscript: "subscript",
        ast.Lambda: "lambda",
        ast.ListComp: "comprehension",
        ast.GeneratorExp: "comprehension",
        ast.SetComp: "comprehension",
        ast.DictComp: "comprehension",
        ast.Compare: "comparison",
        ast.BoolOp: "boolean operator",
        ast.IfExp: "conditional expression",
        ast.NamedExpr: "assignment",
        ast.Await: "await",
        ast.Yield: "yield",
        ast.YieldFrom: "yield",
        ast.Starred: "starred expression",
        ast.JoinedStr: "string",
        ast.Tuple: "tuple",
        ast.List: "list",
        ast.Set: "set",
        ast.Dict: "dict",
        ast.Slice: "slice",
    }.get(type(node), type(node).__name__)


# ---------------------------------------------------------------- growth limits


@contextlib.contextmanager
def growth_limits(terms: int = MAX_TERMS, degree: int = MAX_DEGREE):
    """Within the block, :func:`check_growth` allows ``terms`` terms and degree
    ``degree`` (for a cell file that needs more than the defaults)."""
    token = _LIMITS.set((terms, degree))
    try:
        yield
    finally:
        _LIMITS.reset(token)


def check_growth(expr: sympy.Expr, known: dict | None = None, power: int = 1) -> tuple:
    """Check that ``expr`` (raised to ``power``) stays small when written out in full.

    Returns ``(terms, degree, exponential)``: upper bounds on the number of
    terms and the polynomial degree of ``expr`` expanded, function calls
    counted as atoms (their arguments are checked on their own), and whether
    its value can grow exponentially (an ``exp`` outside any bounded
    function). ``known`` maps symbols standing for other expressions (a cell's
    values) to their own triple, so a chain of equations is checked as the
    composed expression the engine differentiates. Raises :class:`ExprError`
    where a bound exceeds :data:`MAX_TERMS` or :data:`MAX_DEGREE`, or where
    ``exp`` appears inside a function that exponentiates (:attr:`Primitive.exponential`).
    """
    terms, degree, exponential = _growth(expr, known or {})
    if power != 1:
        terms, degree = math.comb(terms + power - 1, power), degree * power
    _check_bounds(terms, degree)
    return terms, degree, exponential


def _check_bounds(terms, degree):
    max_terms, max_degree = _LIMITS.get()
    if degree > max_degree:
        raise ExprError(
            f"polynomial degree {_size(degree)} when multiplied out, over the limit of "
            f"{max_degree:,} (--max-degree raises it)"
        )
    if terms > max_terms:
        raise ExprError(
            f"{_size(terms)} terms when multiplied out, over the limit of {max_terms:,} "
            "(--max-terms raises it)"
        )


def _size(count: int) -> str:
    """A bound on a size, exact while it reads easily (it can be astronomical)."""
    if count < 10**9:
        return f"up to {count:,}"
    return f"up to about 10^{int(count.bit_length() * math.log10(2))}"


def _growth(expr, known):
    if expr in known:
        return known[expr]
    if expr.is_Rational:
        bits = max(abs(expr.p).bit_length(), expr.q.bit_length())
        return 1, max(1, -(-bits // _BITS_PER_FACTOR)), False
    if expr.is_Atom:
        return 1, 1, False
    if expr.is_Pow and expr.exp.is_Integer:
        terms, degree, exponential = _growth(expr.base, known)
        n = abs(int(expr.exp))
        # Multinomial bound: terms^n products, of which C(terms + n - 1, n) are distinct.
        if degree * n > _LIMITS.get()[1]:
            _check_bounds(1, degree * n)
        terms, degree = math.comb(terms + n - 1, n), degree * n
        _check_bounds(terms, degree)
        return terms, degree, exponential
    parts = [_growth(arg, known) for arg in expr.args]
    if expr.is_Add:
        terms, degree = sum(p[0] for p in parts), max(p[1] for p in parts)
    elif expr.is_Mul:
        terms, degree = math.prod(p[0] for p in parts), sum(p[1] for p in parts)
    else:  # a function call (sqrt is a fractional Pow): an atom outside, its argument inside
        p = primitive_of(expr)
        inner = any(part[2] for part in parts)
        # A function that exponentiates its argument (exp, sigmoid, softplus):
        # exp inside one (exp(exp(u)), sigmoid(-exp(u))) overflows or stalls
        # 30-digit evaluation for moderate u.
        if inner and p is not None and p.exponential:
            raise ExprError(
                f"exp(...) inside {p.name}(...): values like exp(exp(u)) overflow every "
                "floating-point format"
            )
        grows = (p is not None and p.name == "exp") or inner
        return 1, 1, grows and not (p is not None and p.bounded)
    _check_bounds(terms, degree)
    return terms, degree, any(p[2] for p in parts)
