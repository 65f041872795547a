"""The language of cell equations: primitives in gate form, and a safe parser.

Every equation of a cell, built-in or from a user's file, is text such as
``sigmoid(W_f*x + U_f*h_prev + b_f)``. It is parsed here with :mod:`ast`
against a whitelist and turned into SymPy objects by this module's own code;
the text is never handed to ``eval``, ``exec`` or SymPy's string parsers, so a
cell file can never run code.

The activation functions are SymPy ``Function`` subclasses whose derivative is
written through the function itself, so that every derivative comes out in
*gate form* with no rewriting pass:

.. math::  \\sigma'(u) = \\sigma(u)\\,(1 - \\sigma(u)), \\qquad
           \\tanh'(u) = 1 - \\tanh^2 u .
"""

from __future__ import annotations

import ast
import fractions
import math
import operator

import sympy
from mpmath.libmp import prec_to_dps
from sympy.core.parameters import evaluate as sympy_evaluate

__all__ = [
    "FUNCTIONS",
    "ExprError",
    "parse_equation",
    "relu",
    "sigmoid",
    "softplus",
    "tanh",
]

# ---------------------------------------------------------------- primitives


class sigmoid(sympy.Function):  # noqa: N801  (named like SymPy's tanh)
    """The logistic sigmoid :math:`\\sigma(u) = 1/(1 + e^{-u})`, u in R, value in (0, 1)."""

    nargs = 1

    def fdiff(self, argindex=1):
        # sigma' = sigma (1 - sigma): the derivative stays in gate form.
        return self * (1 - self)

    @classmethod
    def eval(cls, arg):
        # Only a literal 0: asking arg.is_zero would run SymPy's assumption
        # system on every gate, a third of derive's start-up time.
        if arg.is_Number and arg == 0:
            return sympy.Rational(1, 2)
        return None

    def _eval_rewrite_as_exp(self, arg, **kwargs):
        return 1 / (1 + sympy.exp(-arg))

    def _eval_rewrite_as_tanh(self, arg, **kwargs):
        return (sympy.tanh(arg / 2) + 1) / 2

    def _eval_evalf(self, prec):
        return (1 / (1 + sympy.exp(-self.args[0]))).evalf(prec_to_dps(prec))

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_is_positive(self):
        return self.args[0].is_real

    def _latex(self, printer):
        return rf"\sigma\left({printer._print(self.args[0])}\right)"

    def _numpycode(self, printer):
        # exp(-log(1 + e^{-u})): no overflow for any u, relative error of a
        # few ulp on both tails (1/(1+exp(-u)) overflows for u < -709).
        arg = printer._print(self.args[0])
        np = printer._module_format(printer._module + ".exp")
        lae = printer._module_format(printer._module + ".logaddexp")
        return f"{np}(-{lae}(0, -({arg})))"

    def _mpmathcode(self, printer):
        arg = printer._print(self.args[0])
        return f"1/(1 + mpmath.exp(-({arg})))"


class tanh(sympy.tanh):  # noqa: N801
    """:math:`\\tanh u`, value in (-1, 1); derivative :math:`1 - \\tanh^2 u` in (0, 1].

    SymPy's ``tanh`` with a cheap ``eval``: SymPy's own consults the assumption
    system for the sign of every argument (to pull out minus signs), which
    cost 40 ms of ``symgrad derive lstm``'s start-up and rewrote equations
    away from how they were written.
    """

    @classmethod
    def eval(cls, arg):
        if arg.is_Number and arg == 0:
            return sympy.Integer(0)
        return None

    def fdiff(self, argindex=1):
        return 1 - self**2


class relu(sympy.Function):  # noqa: N801
    """The rectifier :math:`\\max(0, u)`; derivative the indicator :math:`[u > 0]`."""

    nargs = 1

    def fdiff(self, argindex=1):
        # relu'(0) taken as 0 (the convention of PyTorch and NumPy code alike).
        return sympy.Heaviside(self.args[0], 0)

    @classmethod
    def eval(cls, arg):
        if arg.is_Number:
            return sympy.Max(0, arg)
        return None

    def _eval_rewrite_as_Max(self, arg, **kwargs):  # noqa: N802 (SymPy's rewrite protocol)
        return sympy.Max(0, arg)

    def _eval_evalf(self, prec):
        return sympy.Max(0, self.args[0]).evalf(prec_to_dps(prec))

    def _latex(self, printer):
        return rf"\operatorname{{relu}}\left({printer._print(self.args[0])}\right)"

    def _numpycode(self, printer):
        mx = printer._module_format(printer._module + ".maximum")
        return f"{mx}(0, {printer._print(self.args[0])})"

    def _mpmathcode(self, printer):
        return f"max(0, {printer._print(self.args[0])})"


class softplus(sympy.Function):  # noqa: N801
    """:math:`\\log(1 + e^u)`, whose derivative is :math:`\\sigma(u)`."""

    nargs = 1

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0])

    def _eval_rewrite_as_exp(self, arg, **kwargs):
        return sympy.log(1 + sympy.exp(arg))

    def _eval_evalf(self, prec):
        return sympy.log(1 + sympy.exp(self.args[0])).evalf(prec_to_dps(prec))

    def _latex(self, printer):
        return rf"\operatorname{{softplus}}\left({printer._print(self.args[0])}\right)"

    def _numpycode(self, printer):
        lae = printer._module_format(printer._module + ".logaddexp")
        return f"{lae}(0, {printer._print(self.args[0])})"

    def _mpmathcode(self, printer):
        return f"mpmath.log(1 + mpmath.exp({printer._print(self.args[0])}))"


#: Functions an equation may call, by the name it is called with.
FUNCTIONS = {
    "sigmoid": sigmoid,
    "tanh": tanh,
    "relu": relu,
    "softplus": softplus,
    "exp": sympy.exp,
    "log": sympy.log,
    "sqrt": sympy.sqrt,
    "abs": sympy.Abs,
}

# ---------------------------------------------------------------- safe parser

#: Limits that keep a hostile equation from costing time or memory.
MAX_EQUATION_CHARS = 2_000
MAX_DEPTH = 40  # nesting of operators and calls
MAX_EXPONENT = 8  # a literal power above this is refused (10**10**10 would hang)
MAX_CONSTANT = 1e6  # constants are weights' scale, not astronomy


class ExprError(ValueError):
    """A malformed equation; ``col`` is the 0-based column within the equation text."""

    def __init__(self, message: str, col: int | None = None):
        super().__init__(message)
        self.col = col


_BINOPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


def parse_equation(text: str, names: dict[str, sympy.Symbol], evaluate: bool = True) -> sympy.Expr:
    """Parse the right-hand side of an equation into a SymPy expression.

    ``names`` maps every name the equation may use to its symbol. Allowed:
    ``+ - * /``, integer powers up to :data:`MAX_EXPONENT`, unary minus, finite
    numbers, names from ``names`` and one-argument calls of :data:`FUNCTIONS`.
    Anything else raises :class:`ExprError` naming what was found.
    """
    if not isinstance(text, str):
        raise ExprError(f"an equation must be text, not {type(text).__name__}")
    if len(text) > MAX_EQUATION_CHARS:
        raise ExprError(f"equation longer than {MAX_EQUATION_CHARS} characters")
    if not text.strip():
        raise ExprError("empty equation")
    # Python's own parser recurses on nesting; refuse deep nesting before it does.
    depth = 0
    for col, ch in enumerate(text):
        depth += ch in "([{"
        depth -= ch in ")]}"
        if depth > MAX_DEPTH:
            raise ExprError(f"brackets nested deeper than {MAX_DEPTH}", col)
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as err:
        col = (err.offset - 1) if err.offset else None
        raise ExprError(f"syntax error: {err.msg}", col) from None
    except (RecursionError, MemoryError, ValueError):
        raise ExprError("equation too complex to parse") from None
    offset = len(text) - len(text.lstrip())
    builder = _Builder(text.strip(), names, offset)
    if evaluate:
        return builder.build(tree.body, 0)
    with sympy_evaluate(False):
        return builder.build(tree.body, 0)


class _Builder:
    def __init__(self, text, names, offset):
        self.text = text
        self.names = names
        self.offset = offset

    def fail(self, node, message):
        raise ExprError(message, getattr(node, "col_offset", 0) + self.offset)

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
            return base ** (-exponent.value if negative else exponent.value)
        rule = _BINOPS.get(type(node.op))
        if rule is None:
            self.fail(node, f"operator {type(node.op).__name__} is not allowed (use + - * / **)")
        left = self.build(node.left, depth + 1)
        right = self.build(node.right, depth + 1)
        if isinstance(node.op, ast.Div) and right == 0:
            self.fail(node.right, "division by zero")
        return rule(left, right)

    def constant(self, node):
        value = node.value
        if type(value) not in (int, float):
            self.fail(node, f"{_describe(node)} is not allowed in an equation")
        if not math.isfinite(value) or abs(value) > MAX_CONSTANT:
            self.fail(node, f"constant {value!r} is not finite or exceeds {MAX_CONSTANT:g}")
        if type(value) is int:
            return sympy.Integer(value)
        # The literal's own digits, so 0.1 is exactly 1/10 and not the nearest double.
        source = (ast.get_source_segment(self.text, node) or "").replace("_", "")
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
        return function(self.build(node.args[0], depth + 1))


def _describe(node) -> str:
    if isinstance(node, ast.Constant):
        return f"constant {node.value!r}"
    if isinstance(node, ast.Attribute):
        return f"attribute access '.{node.attr}'"
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
        ast.Starred: "starred expression",
    }.get(type(node), type(node).__name__)
