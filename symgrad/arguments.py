"""The command line's flags: every command, its arguments, their types and help.

argparse rather than click: ``symgrad derive lstm`` must start within 1.25x of
``import sympy`` and click's import alone costs a tenth of that margin. Every
value is validated here, at the edge: ASCII digits only, finite numbers,
budgets from :mod:`symgrad.defaults`, no empty value, no conflicting pair.
Numbers given by the user are parsed by regular expressions and
:class:`fractions.Fraction`, never evaluated.
"""

from __future__ import annotations

import argparse
import fractions
import re

from . import defaults

__all__ = [
    "FORMATS",
    "UsageError",
    "add_cell_arguments",
    "attach_negative_numbers",
    "build_parser",
    "check_values",
    "parse_assignments",
    "parse_number",
    "parse_point",
    "typed_point",
]


class UsageError(Exception):
    """A user error: printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(f"{self.prog}: {message}")


FORMATS = ("latex", "text", "markdown", "json")


def _add_format(parser, default):
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default=default,
        help=f"output format (default: {default})",
    )


def _add_standalone(parser) -> None:
    parser.add_argument(
        "--standalone",
        action="store_true",
        help="with --format latex: a complete, titled document that compiles with pdflatex",
    )


def add_cell_arguments(parser) -> None:
    """The CELL argument every cell command takes, or ``--cell-file FILE`` in its
    place; resolve them with :func:`get_cell_arg`."""
    from .cells import BUILTIN

    parser.add_argument(
        "cell", metavar="CELL", nargs="?", help=f"a built-in cell, one of: {', '.join(BUILTIN)}"
    )
    parser.add_argument(
        "--cell-file",
        metavar="FILE",
        help="your own cell, from a TOML cell file, instead of CELL ('-': standard input; "
        "the format is in the README; 'symgrad export CELL' writes a built-in one to start from)",
    )
    add_growth_arguments(parser)


def add_growth_arguments(parser) -> None:
    """``--max-terms`` and ``--max-degree``: the growth limits a cell file is held to."""
    parser.add_argument(
        "--max-terms",
        type=_int_from(1, 10**7),
        metavar="N",
        help="with --cell-file: most terms an equation may have multiplied out, the values "
        f"it reads substituted (default: {defaults.MAX_TERMS:,}; more costs time in the "
        "self-check)",
    )
    parser.add_argument(
        "--max-degree",
        type=_int_from(1, 10**4),
        metavar="N",
        help="with --cell-file: highest polynomial degree likewise "
        f"(default: {defaults.MAX_DEGREE})",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="symgrad",
        description="Derive and check the gradient flow of recurrent cells.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("list", help="the built-in cells", description="List the built-in cells.")
    _add_format(p, "text")

    p = sub.add_parser(
        "show",
        help="a cell's equations",
        description="Print a cell's equations and conventions.",
    )
    add_cell_arguments(p)
    _add_standalone(p)
    _add_format(p, "latex")

    p = sub.add_parser(
        "derive",
        help="a cell's one-step derivative in gate form",
        description=(
            "Derive a cell's one-step derivative by the chain rule, split into the "
            "article's terms, in gate form (sigma' = sigma(1 - sigma), "
            "tanh' = 1 - tanh^2), each term's gate count given and the dominant "
            "term marked; the terms are checked to add up to the raw derivative."
        ),
        epilog=(
            "examples:\n  symgrad derive lstm\n  symgrad derive gru --format text\n"
            "  symgrad derive lstm --wrt state --standalone > lstm.tex\n"
            "  symgrad derive rnn --at x=1,W=0.5,U=2,b=0,h_prev=0.3\n"
            "  symgrad derive lstm --steps 2 --format text\n"
            "  symgrad derive lstm --vector --steps 2 --format text"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_cell_arguments(p)
    p.add_argument(
        "--wrt",
        metavar="SOURCE",
        help="'state' for the exact state Jacobian, a previous-step state such as "
        "h_prev (default: c_prev for lstm, h_prev otherwise), or a parameter such as U_f "
        "for the explicit part dh_t/dtheta of the article's recursion",
    )
    p.add_argument(
        "--of", metavar="VALUE", help="the value differentiated (default: c for lstm, h otherwise)"
    )
    p.add_argument(
        "--at",
        metavar="NAME=VALUE,...",
        action="append",
        help="evaluate every term at this point (repeatable); names in ASCII "
        "(x, W_f, c_prev, o_prev, ...), values plain numbers or fractions",
    )
    p.add_argument(
        "--vector",
        action="store_true",
        help="hidden size n: the derivative in matrix form (diag(.), weight matrices, "
        "elementwise products), every gate counted on its side of the weights; with --wrt "
        "state the n x n blocks of the state Jacobian, with --steps K the K-step derivative "
        "(no --at: evaluate at arrays from Python)",
    )
    p.add_argument(
        "--steps",
        type=_int_from(1, 8),
        metavar="K",
        help="the exact K-step derivative of the cell's own target (dc_{t+K-1}/dc_{t-1} for "
        "lstm) beside the article's product of K one-step derivatives, and the paths the "
        "product leaves out (K from 1 to 8; --at takes x_1..x_K for one input per step); "
        "with --vector in matrix form: the product A_{t+K-1}...A_t of n x n matrices, the "
        "exact [J_{t+K-1}...J_t e_{t-1}]_c from the state Jacobian's blocks",
    )
    _add_standalone(p)
    _add_format(p, "latex")

    p = sub.add_parser(
        "bound",
        help="a supremum: SciPy optimum and certified enclosure",
        description=(
            "Compute a named supremum two ways: SciPy's global optimum and maximiser "
            "(dense grid, then L-BFGS-B), and an interval [lo, hi] certified by interval "
            "arithmetic on python-flint's arb with branch and bound (an unbounded tail cut "
            "off by a stated, checked lemma). A claimed inequality is proved only by the "
            "certificate; exit 1 if it fails. Without NAME: the list of bounds."
        ),
        epilog=(
            "examples:\n  symgrad bound\n  symgrad bound lstm-saturation\n"
            "  symgrad bound rnn-tanh --param a=2 --param h=0.5 --format json\n"
            "  symgrad bound lstm-saturation --below 0.44     (refused: exit 1)\n"
            "  symgrad bound lstm-saturation --plot saturation.svg"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("name", metavar="NAME", nargs="?", help="a bound (omit to list them)")
    p.add_argument(
        "--param",
        metavar="NAME=VALUE",
        action="append",
        default=[],
        help="a parameter of the bound (repeatable; e.g. a=1, h=1/2); values are plain "
        "numbers or fractions",
    )
    p.add_argument(
        "--below",
        metavar="VALUE",
        help="claim sup < VALUE instead of the bound's own claim, and try to prove it",
    )
    p.add_argument(
        "--tolerance",
        metavar="WIDTH",
        default=f"{defaults.BOUND_TOLERANCE:g}",
        help="largest width of the certified interval, relative to the supremum where it "
        f"exceeds 1 (default: {defaults.BOUND_TOLERANCE:g})",
    )
    p.add_argument(
        "--plot",
        metavar="FILE",
        help="also draw the function, its certified supremum (a band) and the claimed bound "
        "(a line) to FILE.png or FILE.svg (needs matplotlib: pip install 'symgrad[plot]')",
    )
    _add_format(p, "text")

    p = sub.add_parser(
        "check",
        help="symbolic derivatives against finite differences",
        description=(
            "Compare every derivative the engine derives for a cell (the default one, "
            "under the article's one-step convention, and every entry of the exact state "
            "Jacobian), term by term and in total, with finite differences of the cell's "
            "raw forward pass at seeded random points: the complex step where the cell is "
            "analytic, central differences with Richardson extrapolation where it is not "
            "(relu). Each tolerance is derived from its method and printed with it. Exit "
            "code 1 if any comparison fails."
        ),
        epilog=(
            "examples:\n  symgrad check lstm\n  symgrad check gru --samples 1000 --seed 7\n"
            "  symgrad check lstm --wrt state --format json\n"
            "  symgrad check rnn-relu --init xavier"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_cell_arguments(p)
    p.add_argument(
        "--samples",
        type=_ascii_int,
        default=defaults.CHECK_SAMPLES,
        metavar="N",
        help=f"random points (default: {defaults.CHECK_SAMPLES})",
    )
    p.add_argument(
        "--seed",
        type=_ascii_int,
        default=defaults.CHECK_SEED,
        metavar="S",
        help=f"seed of the points (default: {defaults.CHECK_SEED})",
    )
    p.add_argument(
        "--wrt",
        metavar="SOURCE",
        default="all",
        help="'all' (default: the default derivative and the state Jacobian), 'state', "
        "a previous-step state such as h_prev, or a parameter such as U_f (that "
        "derivative only)",
    )
    p.add_argument(
        "--init",
        metavar="INIT",
        default="normal",
        help=f"distribution of the weights: {', '.join(defaults.INITS)} (default: normal, N(0,1))",
    )
    _add_format(p, "text")

    p = sub.add_parser(
        "export",
        help="a cell as a TOML cell file, to start your own from",
        description=(
            "Write a cell as a TOML cell file on standard output: a built-in cell to "
            "start a cell of your own from, or a --cell-file normalised. Loading the "
            "file back gives the same cell, so the same derivation."
        ),
        epilog="examples:\n  symgrad export gru > my-gru.toml\n"
        "  symgrad derive --cell-file my-gru.toml",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_cell_arguments(p)

    p = sub.add_parser(
        "flow",
        help="the gradient over many steps: quantiles, Lyapunov exponents, plots",
        description=(
            "Run each cell forward on seeded random parameters and inputs (state 0 at\n"
            "step 0) and multiply its exact one-step state Jacobians (the full (c, h)\n"
            "state for lstm) from step 0 to T, in log space so that 10,000 steps neither\n"
            "underflow nor overflow. Prints quantiles over samples of log10 |d s_t/d s_0|\n"
            "at log-spaced t, the Lyapunov exponent (mean log growth per step) with a 95%\n"
            "confidence interval, the step where the median falls below 1e-8 and the\n"
            "fraction that explodes; for lstm also the article's product of one-step\n"
            "dc_t/dc_{t-1} beside the exact value. With --dim n the cells are\n"
            "n-dimensional (weight matrices n x n) and the classical condition\n"
            "sigma_max(U) < 1/gamma is checked where it applies."
        ),
        epilog=(
            "examples:\n  symgrad flow lstm\n  symgrad flow all --steps 2000 --samples 200\n"
            "  symgrad flow lstm gru --forget-bias 1 --plot flow.png\n"
            "  symgrad flow rnn lstm --dim 8 --steps 1000 --format json\n"
            "  symgrad flow lstm --cell-file my-cell.toml"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "cells",
        metavar="CELL",
        nargs="*",
        help="one or more built-in cells (symgrad list), or 'all'",
    )
    p.add_argument(
        "--cell-file",
        metavar="FILE",
        action="append",
        default=[],
        help="your own cell from a TOML cell file, beside or instead of CELL (repeatable)",
    )
    add_growth_arguments(p)
    _add_run_arguments(p)
    p.add_argument(
        "--dim",
        type=_int_from(1),
        default=1,
        metavar="n",
        help="hidden size n: values in R^n, weights n x n matrices (default: 1)",
    )
    p.add_argument(
        "--plot",
        metavar="FILE",
        help="also draw log10 |d s_t/d s_0| against t (median, 10-90%% band), or the "
        "spectrum with --spectrum or --weights, to FILE.png or FILE.svg (needs matplotlib: "
        "pip install 'symgrad[plot]')",
    )
    p.add_argument(
        "--weights",
        metavar="FILE",
        help="a trained single-layer torch nn.LSTM/GRU/RNN (or its Cell): its state_dict "
        "saved by torch.save (.pt, loaded with weights_only=True), .safetensors or .npz; "
        "prints its Lyapunov spectrum (the cell is inferred; name rnn-relu yourself)",
    )
    p.add_argument(
        "--inputs",
        metavar="FILE.npy",
        help="with --weights: drive the network with this input sequence (T x m) from "
        "state 0 (default: --samples seeded N(0, 1) sequences of --steps steps)",
    )
    p.add_argument(
        "--spectrum",
        type=_int_from(1),
        metavar="K",
        help="the K largest Lyapunov exponents (natural log per step) by QR "
        "re-orthonormalisation of the Jacobian products, instead of the gradient-norm "
        "quantiles (K up to the state's dimension: 2n for lstm)",
    )
    p.add_argument(
        "--warmup",
        type=_int_from(0),
        default=0,
        metavar="W",
        help="with --spectrum or --weights: run W steps first, left out of the exponents "
        "(default: 0)",
    )
    p.add_argument("--format", choices=_RUN_FORMATS, default="text", help="output format")

    p = sub.add_parser(
        "compare",
        help="one table over all built-in cells",
        description=(
            "One row per built-in cell: the dominant term of its one-step derivative,\n"
            "the gate counts of the minor terms, the Monte Carlo spread of the one-step\n"
            "derivative (SPEC section 3's distribution) and the Lyapunov exponent of\n"
            "symgrad flow."
        ),
        epilog="example:\n  symgrad compare --steps 2000 --samples 500 --format markdown",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_run_arguments(p)
    p.add_argument("--format", choices=_RUN_FORMATS, default="text", help="output format")

    p = sub.add_parser(
        "verify",
        help="check every claim of the article, a table; exit 1 if any fails",
        description=(
            "Check the article's claims (SPEC section 3) by symbolic algebra (S), SciPy "
            "optimisation (N), certified interval arithmetic (C), seeded Monte Carlo with "
            "confidence intervals (M) and finite differences (P); print a table (claim, "
            "evidence, status, key figure, time), then each claim's numbers and caveats."
        ),
        epilog=(
            "examples:\n  symgrad verify\n  symgrad verify lstm-saturation-045 gru-fewer-gates\n"
            "  symgrad verify lstm-forget-dominant --forget-bias 1\n"
            "  symgrad verify gru-less-stable --init orthogonal --format json"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("claims", nargs="*", metavar="CLAIM", help="claim ids (default: all)")
    _add_claim_run_arguments(p)
    p.add_argument(
        "--format",
        choices=("text", "markdown", "json", "latex"),
        default="text",
        help="output format (default: text; latex: the combined proof document)",
    )

    p = sub.add_parser(
        "prove",
        help="regenerate the proof documents in proofs/",
        description=(
            "Check every claim and write one Markdown document per claim (statement, "
            "derivation in $$ math, numbers, how each was checked, the command that "
            "reproduces it) plus one combined LaTeX document (claims.tex) that compiles "
            "with pdflatex. Exit 1 if any claim fails (the documents say which)."
        ),
    )
    p.add_argument("--out", metavar="DIR", default="proofs", help="directory (default: proofs)")
    _add_claim_run_arguments(p)
    return parser


def _add_claim_run_arguments(parser) -> None:
    """The Monte Carlo and long-horizon settings of verify and prove."""
    parser.add_argument(
        "--seed",
        type=_int_from(0),
        default=defaults.CLAIM_SEED,
        help=f"seed of every random draw (default: {defaults.CLAIM_SEED})",
    )
    parser.add_argument(
        "--samples",
        type=_int_from(100, defaults.MAX_CLAIM_SAMPLES),
        default=defaults.CLAIM_SAMPLES,
        help="Monte Carlo points per cell for the one-step claims "
        f"(default: {defaults.CLAIM_SAMPLES})",
    )
    _add_distribution(parser, "normal: N(0,1), SPEC section 3's")
    parser.add_argument(
        "--steps",
        type=_int_from(1, defaults.MAX_STEPS),
        default=defaults.LONG_HORIZON_STEPS,
        help=f"long-horizon steps (default: {defaults.LONG_HORIZON_STEPS})",
    )
    parser.add_argument(
        "--flow-samples",
        type=_int_from(2, defaults.MAX_FLOW_SAMPLES),
        default=defaults.LONG_HORIZON_SAMPLES,
        metavar="N",
        help=f"long-horizon trajectories per cell (default: {defaults.LONG_HORIZON_SAMPLES})",
    )


# ---------------------------------------------------------------- flow and compare arguments

_RUN_FORMATS = ("text", "markdown", "json", "latex")


_INTEGER = re.compile(r"[+-]?[0-9]{1,18}\Z", re.ASCII)
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?\Z", re.ASCII)


def _int_from(low, high=None):
    """An argparse type: an integer in ASCII digits, from ``low`` to ``high``."""

    def parse(text):
        if not _INTEGER.match(text.strip()):
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer (ASCII digits)")
        value = int(text)
        if value < low:
            raise argparse.ArgumentTypeError(f"{value} is below the minimum {low}")
        if high is not None and value > high:
            raise argparse.ArgumentTypeError(f"{value:,} is above the maximum {high:,}")
        return value

    parse.__name__ = f"integer >= {low}"
    return parse


def _ascii_int(text):
    """An argparse type: an integer in ASCII digits (``int()`` also takes an
    Arabic-Indic one); its range is checked by the command."""
    if not _INTEGER.match(text.strip()):
        raise ValueError(text)
    return int(text)


_ascii_int.__name__ = "int"  # argparse's message: "invalid int value: 'ten'"


def _finite_float(text):
    """An argparse type: a finite decimal number in ASCII digits (1, -0.5, 1e-3)."""
    if text.strip().lower().lstrip("+-") in ("nan", "inf", "infinity"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    if not _DECIMAL.match(text.strip()):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number (e.g. 1, -0.5, 1e-3)")
    value = float(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def _add_run_arguments(p) -> None:
    p.add_argument(
        "--steps",
        type=_int_from(1, defaults.MAX_STEPS),
        default=defaults.FLOW_STEPS,
        metavar="T",
        help=f"steps (default: {defaults.FLOW_STEPS})",
    )
    p.add_argument(
        "--samples",
        type=_int_from(2, defaults.MAX_FLOW_SAMPLES),
        metavar="N",
        help=f"random cells (default: {defaults.FLOW_SAMPLES_1D}; "
        f"{defaults.FLOW_SAMPLES_ND} with --dim > 1)",
    )
    p.add_argument(
        "--seed",
        type=_int_from(0),
        default=defaults.FLOW_SEED,
        metavar="S",
        help=f"random seed (default: {defaults.FLOW_SEED})",
    )
    _add_distribution(p, "normal: N(0,1), or N(0,1/n) for n x n matrices")
    p.add_argument(
        "--max-minutes",
        type=_positive_float,
        default=defaults.FLOW_MINUTES,
        metavar="M",
        help="refuse a run estimated to take longer (default: "
        f"{defaults.FLOW_MINUTES}; memory is capped at {defaults.MEMORY_BUDGET / 2**30:g} GB)",
    )


def _positive_float(text):
    """An argparse type: a finite number above 0."""
    value = _finite_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not above 0")
    return value


def _add_distribution(p, normal: str) -> None:
    """--init and --forget-bias, the distribution of every seeded run."""
    p.add_argument(
        "--init",
        choices=tuple(defaults.INITS),
        default="normal",
        help=f"weight distribution: normal ({normal}; the default), xavier (Glorot, biases 0) "
        "or orthogonal recurrent weights",
    )
    p.add_argument(
        "--forget-bias",
        type=_finite_float,
        metavar="B",
        help="set the forget gate's bias b_f to B, in cells that have one (common practice: 1)",
    )


# ---------------------------------------------------------------- values

_NUMBER = re.compile(
    r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?(?:/[0-9]+)?\Z", re.ASCII
)
_IDENT = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")


def parse_assignments(items, flag: str, prefix: str = "symgrad") -> dict:
    """``["x=1,W=0.5", "U=1/3"]`` -> ``{"x": 1, "W": 1/2, "U": 1/3}`` as exact Fractions.

    Values are numbers only (decimal, exponent, or p/q), parsed by a regular
    expression and :class:`fractions.Fraction`; nothing is evaluated. A
    malformed item, a name given twice or a value that is not a number is a
    :class:`UsageError` naming ``flag``.
    """
    return {name: q for name, (q, _) in _assignments(items, flag, prefix).items()}


def _assignments(items, flag: str, prefix: str) -> dict:
    """name -> (exact Fraction, the value as typed)."""
    assigned = {}
    for item in items:
        for part in item.split(","):
            part = part.strip()
            if not part:
                continue
            name, eq, value = (x.strip() for x in part.partition("="))
            if not eq or not _IDENT.match(name):
                raise UsageError(f"{prefix}: {flag} expects NAME=VALUE, got {part!r}")
            if name in assigned:
                raise UsageError(f"{prefix}: {flag} gives {name} twice")
            assigned[name] = (parse_number(f"{flag} {name}", value), value)
    return assigned


def parse_point(items) -> dict:
    """``derive --at``: :func:`parse_assignments` as exact SymPy rationals."""
    import sympy

    return {
        name: sympy.Rational(q.numerator, q.denominator)
        for name, q in parse_assignments(items, "--at").items()
    }


def typed_point(items) -> dict:
    """``derive --at``: every value as the user typed it (``0.5`` stays
    ``0.5``, not 1/2), for printing."""
    return {name: text for name, (_, text) in _assignments(items, "--at", "symgrad").items()}


def parse_number(what: str, value: str) -> fractions.Fraction:
    """A plain number or fraction (``0.5``, ``1e-3``, ``1/3``), never evaluated,
    within the range of float64 (no value of symgrad's reaches past it)."""
    value = value.strip()
    if len(value) > defaults.MAX_NUMBER_CHARS:
        raise UsageError(
            f"symgrad: {what}: a number of {len(value)} characters is too long "
            f"(at most {defaults.MAX_NUMBER_CHARS})"
        )
    try:
        if _NUMBER.match(value):
            number = fractions.Fraction(value)
            if number and not LOWEST <= abs(number) <= HIGHEST:
                raise UsageError(
                    f"symgrad: {what}: {value!r} is out of range (a magnitude from "
                    f"{float(LOWEST):g} to {float(HIGHEST):g}, or 0)"
                )
            return number
    except ZeroDivisionError:
        pass
    raise UsageError(f"symgrad: {what}: {value!r} is not a number (write e.g. 0.5, 1e-3, 1/3)")


#: The magnitudes a number on the command line may have: float64's normal range.
LOWEST, HIGHEST = fractions.Fraction(1, 10**307), fractions.Fraction(10**308)


#: A negative number as an option's value: argparse takes "-1e3" for an option.
_NEGATIVE = re.compile(r"-(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?(?:/[0-9]+)?\Z")


def attach_negative_numbers(argv: list) -> list:
    """``--forget-bias -1e3`` as ``--forget-bias=-1e3``, which argparse reads."""
    out: list = []
    for token in argv:
        if out and _NEGATIVE.match(token) and out[-1].startswith("--") and "=" not in out[-1]:
            out[-1] = f"{out[-1]}={token}"
        else:
            out.append(token)
    return out


def check_values(args) -> None:
    """Flags validated at the edge: no empty value, no conflicting pair."""
    command = f"symgrad {args.command}"
    for flag in ("wrt", "of", "plot", "out", "cell_file", "cell", "below", "tolerance"):
        value = getattr(args, flag, None)
        if isinstance(value, str) and not value.strip():
            raise UsageError(f"{command}: --{flag.replace('_', '-')} needs a value, not ''")
    if getattr(args, "standalone", False) and args.format != "latex":
        raise UsageError(f"{command}: --standalone needs --format latex")
    for flag in ("max_terms", "max_degree"):
        if getattr(args, flag, None) is not None and not getattr(args, "cell_file", None):
            raise UsageError(
                f"{command}: --{flag.replace('_', '-')} applies to a --cell-file; a built-in "
                "cell is within the limits"
            )
    if args.command == "derive" and args.wrt == "state" and args.of is not None:
        raise UsageError(
            f"{command}: --of names one value; --wrt state derives every state (drop one)"
        )
