"""The ``symgrad`` command line.

argparse rather than click: ``symgrad derive lstm`` must start within 1.25x of
``import sympy`` and click's import alone costs a tenth of that margin.
Every user error is one line on stderr and exit code 2; a failed check or
claim exits 1. Heavy modules (NumPy, SciPy, ...) are imported inside the
commands that use them.
"""

from __future__ import annotations

import argparse
import contextlib
import fractions
import os
import re
import sys

from . import defaults

__all__ = ["main"]


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
            "  symgrad derive rnn --at x=1,W=0.5,U=2,b=0,h_prev=0.3"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_cell_arguments(p)
    p.add_argument(
        "--wrt",
        metavar="SOURCE",
        help="'state' for the exact state Jacobian, or a previous-step state such as "
        "h_prev (default: c_prev for lstm, h_prev otherwise)",
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
        "--standalone",
        action="store_true",
        help="with --format latex: a complete document that compiles with pdflatex",
    )
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
            "  symgrad bound lstm-saturation --below 0.44     (refused: exit 1)"
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
        help=f"largest width of the certified interval (default: {defaults.BOUND_TOLERANCE:g})",
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
        "or a previous-step state such as h_prev (that derivative only)",
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
        help="also draw log10 |d s_t/d s_0| against t (median, 10-90%% band) to FILE.png "
        "or FILE.svg (needs matplotlib: pip install 'symgrad[plot]')",
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


# ---------------------------------------------------------------- commands


def cmd_list(args, out) -> int:
    from .cells import cells
    from .claims import CLAIMS  # claims need no NumPy until they are checked
    from .report.listing import listing

    out.write(listing(cells(), CLAIMS, args.format))
    return 0


def cmd_show(args, out) -> int:
    from .render import cell_document, cell_json, dumps, render

    cell = get_cell_arg(args)
    if args.format == "json":
        out.write(dumps(cell_json(cell)))
    else:
        out.write(render(cell_document(cell), args.format, cell))
    return 0


def cmd_derive(args, out) -> int:
    from .derive import StateJacobian, derive
    from .render import (
        derivation_document,
        derivation_json,
        dumps,
        jacobian_document,
        render,
    )

    cell = get_cell_arg(args)
    try:
        result = derive(cell, wrt=args.wrt, of=args.of)
    except ValueError as err:
        raise UsageError(f"symgrad derive: {err}") from None
    if args.standalone and args.format != "latex":
        raise UsageError("symgrad derive: --standalone needs --format latex")
    if isinstance(result, StateJacobian):
        if args.at:
            raise UsageError("symgrad derive: --at is not supported with --wrt state")
        entries = [d for row in result.entries for d in row]
        ranges = entries[0].ranges
        if args.format == "json":
            out.write(
                dumps(
                    {
                        "cell": cell.name,
                        "wrt": "state",
                        "state": list(cell.state),
                        "entries": [[derivation_json(d) for d in row] for row in result.entries],
                        "check": {"method": result.check.method, "passed": result.check.passed},
                    }
                )
            )
        else:
            out.write(render(jacobian_document(result), args.format, cell, ranges, args.standalone))
        return _check_status(result.check)
    values = None
    if args.at:
        point = parse_point(args.at)
        try:
            total, per_term = result.evaluate(point)
        except ValueError as err:
            raise UsageError(f"symgrad derive --at: {err}") from None
        values = (total, per_term, point)
    if args.format == "json":
        out.write(dumps(derivation_json(result, values)))
    else:
        blocks = derivation_document(result, values)
        out.write(render(blocks, args.format, cell, result.ranges, args.standalone))
    return _check_status(result.check)


def _claim_context(args):
    import math

    from .claims import Context
    from .montecarlo import Settings

    if args.forget_bias is not None and not math.isfinite(args.forget_bias):
        raise UsageError(f"symgrad {args.command}: --forget-bias must be a finite number")
    if args.steps < 1 or args.flow_samples < 2:
        raise UsageError(
            f"symgrad {args.command}: --steps must be at least 1 and --flow-samples at least 2"
        )
    try:
        settings = Settings(
            seed=args.seed,
            samples=args.samples,
            init=args.init,
            forget_bias=args.forget_bias,
        )
    except ValueError as err:
        raise UsageError(f"symgrad {args.command}: {err}") from None
    if settings.seed < 0:
        raise UsageError(f"symgrad {args.command}: --seed must be a non-negative integer")
    return Context(settings, steps=args.steps, flow_samples=args.flow_samples)


def _claim_status(k, n, claim_id) -> str:
    return f"[{k + 1}/{n}] {claim_id} ..."


def _run_claims(args, ids):
    from .claims import ClaimError, verify

    ctx = _claim_context(args)
    progress = _progress(args.command, _claim_status)
    try:
        results = verify(ids, ctx, progress=progress)
    except ClaimError as err:
        raise UsageError(f"symgrad {args.command}: {err}") from None
    finally:
        _progress_done(progress)
    return results, ctx


def cmd_verify(args, out) -> int:
    from .claims import claim_ids
    from .report.claims import proofs_latex, verify_json, verify_markdown, verify_text

    unknown = [c for c in args.claims if c not in claim_ids()]
    if unknown:
        raise UsageError(
            f"symgrad verify: unknown claim {unknown[0]!r}. Valid claims: {', '.join(claim_ids())}"
        )
    results, ctx = _run_claims(args, args.claims)
    if args.format == "json":
        from .render import dumps

        out.write(dumps(verify_json(results, ctx)))
    elif args.format == "markdown":
        out.write(verify_markdown(results, ctx))
    elif args.format == "latex":
        out.write(proofs_latex(results, ctx))
    else:
        out.write(verify_text(results, ctx))
    return 0 if all(r.passed for r in results) else 1


def cmd_prove(args, out) -> int:
    from .report.claims import write_proofs

    results, ctx = _run_claims(args, None)
    try:
        written = write_proofs(results, ctx, args.out)
    except OSError as err:
        raise UsageError(f"symgrad prove: cannot write to {args.out}: {err.strerror}") from None
    failed = [r.claim.id for r in results if not r.passed]
    out.write(f"wrote {len(written)} files to {args.out}/\n")
    if failed:
        out.write(f"FAILED: {', '.join(failed)}\n")
        return 1
    out.write(f"all {len(results)} claims pass\n")
    return 0


def cmd_bound(args, out) -> int:
    from .bounds import BoundError, check_params, compute_bound, format_catalog, format_result

    if args.name is None:
        out.write(format_catalog(args.format))
        return 0
    params = {}
    for item in args.param:
        for part in item.split(","):
            name, eq, value = (x.strip() for x in part.partition("="))
            if not eq or not _IDENT.match(name):
                raise UsageError(f"symgrad bound: --param expects NAME=VALUE, got {part!r}")
            if name in params:
                raise UsageError(f"symgrad bound: --param gives {name} twice")
            params[name] = _fraction(f"--param {name}", value)
    below = None if args.below is None else _fraction("--below", args.below)
    tolerance = _fraction("--tolerance", args.tolerance)
    try:
        check_params(args.name, params)
        result = compute_bound(args.name, below=below, tolerance=tolerance, **params)
    except BoundError as err:
        raise UsageError(f"symgrad bound: {err}") from None
    out.write(format_result(result, args.format))
    return 0 if result.passed else 1


def _fraction(what: str, value: str) -> fractions.Fraction:
    """A plain number or fraction (``0.5``, ``1e-3``, ``1/3``), never evaluated."""
    value = value.strip()
    try:
        if _NUMBER.match(value):
            return fractions.Fraction(value)
    except ZeroDivisionError:
        pass
    raise UsageError(f"symgrad: {what}: {value!r} is not a number (write e.g. 0.5, 1e-3, 1/3)")


def cmd_check(args, out) -> int:
    from .check import compare_derivatives
    from .report.check import check_report

    cell = get_cell_arg(args)
    progress = _progress("check", str)
    try:
        report = compare_derivatives(
            cell,
            wrt=args.wrt,
            samples=args.samples,
            seed=args.seed,
            init=args.init,
            progress=progress,
        )
    except ValueError as err:
        raise UsageError(f"symgrad check: {err}") from None
    finally:
        _progress_done(progress)
    out.write(check_report(report, args.format))
    if not report.passed:
        print(f"symgrad: check FAILED for {cell.name}", file=sys.stderr)
        return 1
    return 0


def cmd_export(args, out) -> int:
    from .cellfile import dumps_cell

    out.write(dumps_cell(get_cell_arg(args)))
    return 0


def _check_status(check) -> int:
    if check.passed:
        return 0
    print(f"symgrad: check FAILED: {check.detail}", file=sys.stderr)
    return 1


def get_cell_arg(args):
    """The cell given by :func:`add_cell_arguments`' arguments: a built-in CELL or
    a ``--cell-file``; UsageError (one line, naming the choices or the place in
    the file) unless exactly one of them names a valid cell."""
    from .cells import BUILTIN, CellError, get_cell

    cell_file = getattr(args, "cell_file", None)
    try:
        if cell_file is not None:
            if args.cell is not None:
                raise UsageError(
                    f"symgrad {args.command}: give a CELL or --cell-file FILE, not both"
                )
            from .cellfile import load_cell

            return load_cell(cell_file)
        if args.cell is None:
            raise UsageError(
                f"symgrad {args.command}: the following arguments are required: CELL "
                f"(one of: {', '.join(BUILTIN)}) or --cell-file FILE"
            )
        return get_cell(args.cell)
    except CellError as err:
        raise UsageError(f"symgrad {args.command}: {err}") from None


# ASCII digits only: an Arabic-Indic one (U+0661) is a digit to \d and to int().
_NUMBER = re.compile(
    r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?(?:/[0-9]+)?\Z", re.ASCII
)
_IDENT = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")


def parse_point(items) -> dict:
    """``["x=1,W=0.5", "U=1/3"]`` -> ``{"x": 1, "W": 1/2, "U": 1/3}`` as exact rationals.

    Values are numbers only (decimal, exponent, or p/q), parsed by a regular
    expression and :class:`fractions.Fraction`; nothing is evaluated.
    """
    import sympy

    point = {}
    for item in items:
        for part in item.split(","):
            part = part.strip()
            if not part:
                continue
            name, eq, value = part.partition("=")
            name, value = name.strip(), value.strip()
            if not eq or not _IDENT.match(name):
                raise UsageError(f"symgrad: --at expects NAME=VALUE, got {part!r}")
            if not _NUMBER.match(value):
                raise UsageError(f"symgrad: --at {name}: {value!r} is not a number")
            if name in point:
                raise UsageError(f"symgrad: --at gives {name} twice")
            try:
                exact = fractions.Fraction(value)
            except (ValueError, ZeroDivisionError):
                raise UsageError(f"symgrad: --at {name}: {value!r} is not a number") from None
            point[name] = sympy.Rational(exact.numerator, exact.denominator)
    return point


def cmd_flow(args, out) -> int:
    from .cells import BUILTIN

    names = []
    for name in args.cells:
        for n in BUILTIN if name == "all" else (name,):
            if n not in names:
                names.append(n)
    if not names and not args.cell_file:
        raise UsageError(
            f"symgrad flow: give one or more cells (one of: {', '.join(BUILTIN)}, or all) "
            "or --cell-file FILE"
        )
    given = [argparse.Namespace(cell=n, cell_file=None) for n in names]
    given += [argparse.Namespace(cell=None, cell_file=f) for f in args.cell_file]
    cells = [get_cell_arg(argparse.Namespace(**vars(g), command="flow")) for g in given]
    _check_forget_bias(args, cells)
    if args.plot:
        _check_plot_target(args.plot)
    from .flow import FlowError, format_flow, run_flow

    progress = _progress("flow")
    try:
        results = [
            run_flow(
                cell,
                steps=args.steps,
                samples=args.samples,
                dim=args.dim,
                seed=args.seed,
                init=args.init,
                forget_bias=args.forget_bias,
                progress=progress,
            )
            for cell in cells
        ]
    except FlowError as err:
        raise UsageError(f"symgrad flow: {err}") from None
    finally:
        _progress_done(progress)
    out.write(_report(format_flow, results, args.format))
    if args.plot:
        from .plot import plot_flow

        try:
            plot_flow(results, args.plot)
        except OSError as err:
            raise UsageError(f"symgrad flow --plot: cannot write {args.plot}: {err}") from None
    return 0


def cmd_compare(args, out) -> int:
    from .cells import cells

    _check_forget_bias(args, cells())
    from .flow import compare_cells, format_compare

    progress = _progress("compare")
    try:
        rows = compare_cells(
            steps=args.steps,
            samples=args.samples or defaults.FLOW_SAMPLES_1D,
            seed=args.seed,
            init=args.init,
            forget_bias=args.forget_bias,
            progress=progress,
        )
    finally:
        _progress_done(progress)
    out.write(_report(format_compare, rows, args.format))
    return 0


def _report(formatter, results, fmt: str) -> str:
    """flow and compare write Markdown; their LaTeX is that Markdown converted."""
    if fmt != "latex":
        return formatter(results, fmt)
    from .text import markdown_to_latex

    return markdown_to_latex(formatter(results, "markdown"))


def _check_forget_bias(args, cells) -> None:
    if args.forget_bias is not None and not any("b_f" in c.params for c in cells):
        from .cells import cells as builtin

        having = [c.name for c in builtin() if "b_f" in c.params]
        raise UsageError(
            f"symgrad {args.command}: --forget-bias sets b_f, which none of "
            f"{', '.join(c.name for c in cells)} has (cells with b_f: {', '.join(having)})"
        )


def _check_plot_target(path) -> None:
    import importlib.util
    from pathlib import Path

    target = Path(path)
    if target.suffix.lower() not in (".png", ".svg"):
        raise UsageError(f"symgrad flow --plot: {path!r} must end in .png or .svg")
    if not target.parent.is_dir():
        raise UsageError(f"symgrad flow --plot: directory {str(target.parent)!r} does not exist")
    if importlib.util.find_spec("matplotlib") is None:
        raise UsageError(
            "symgrad flow --plot needs matplotlib, which is not installed: "
            "pip install 'symgrad[plot]'"
        )


def _flow_status(cell, step, steps) -> str:
    return f"{cell} {step:,}/{steps:,} steps"


def _progress(command, status=_flow_status):
    """The progress callback of every long command: one self-overwriting line on
    stderr, ``status(*args)`` after the command's name; None when stderr is not
    a terminal (then nothing extra is printed)."""
    if not sys.stderr.isatty():
        return None

    def report(*args):
        sys.stderr.write(f"\rsymgrad {command}: {status(*args)}\033[K")
        sys.stderr.flush()

    return report


def _progress_done(progress) -> None:
    if progress is not None:
        sys.stderr.write("\033[2K\r")  # erase the line, back to its start
        sys.stderr.flush()


COMMANDS = {
    "list": cmd_list,
    "show": cmd_show,
    "derive": cmd_derive,
    "bound": cmd_bound,
    "check": cmd_check,
    "export": cmd_export,
    "verify": cmd_verify,
    "prove": cmd_prove,
}
COMMANDS["flow"] = cmd_flow
COMMANDS["compare"] = cmd_compare


class OutputError(Exception):
    """The output cannot be written (a closed stdout, a full disk): exit 1."""


class _Output:
    """Where a command writes: any failure to write becomes :class:`OutputError`
    (a broken pipe stays a BrokenPipeError: the reader left, nothing to say)."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, text: str) -> None:
        if self.stream is None:
            raise OutputError("standard output is closed")
        try:
            self.stream.write(text)
        except BrokenPipeError:
            raise
        except (OSError, ValueError) as err:  # ValueError: a closed file object
            raise OutputError(getattr(err, "strerror", None) or str(err)) from None

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if self.stream is None:
            return
        try:
            self.stream.flush()
        except BrokenPipeError:
            raise
        except (OSError, ValueError) as err:
            raise OutputError(getattr(err, "strerror", None) or str(err)) from None


def _silence_stdout() -> None:
    """Point standard output at /dev/null, so the interpreter's own flush at exit
    does not print a second error about output already reported as lost."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


#: Set to 1 to see a Python traceback for an internal error (a bug in symgrad).
DEBUG = "SYMGRAD_DEBUG"


def main(argv=None, out=None) -> int:
    """Run the command line; returns the exit code.

    0 success; 1 a check failed, the output could not be written or symgrad
    met an internal error; 2 bad usage (one line on stderr naming the valid
    choices); 130 interrupted (Ctrl-C). Nothing a user can cause ends in a
    traceback; ``SYMGRAD_DEBUG=1`` shows one for an internal error.
    """
    to_stdout = out is None
    output = _Output(sys.stdout if to_stdout else out)
    try:
        code = _dispatch(sys.argv[1:] if argv is None else list(argv), output)
        output.flush()
        return code
    except UsageError as err:
        print(str(err).splitlines()[0], file=sys.stderr)
        return 2
    except OutputError as err:
        print(f"symgrad: cannot write output: {err}", file=sys.stderr)
        if to_stdout:
            _silence_stdout()
        return 1
    except BrokenPipeError:
        if to_stdout:
            _silence_stdout()
        return 0
    except KeyboardInterrupt:
        print("symgrad: interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        print(
            "symgrad: out of memory: ask for fewer samples, steps or a smaller --dim",
            file=sys.stderr,
        )
        return 2
    except RecursionError:
        print("symgrad: an expression is nested too deeply to process", file=sys.stderr)
        return 2
    except Exception as err:
        if os.environ.get(DEBUG) == "1":
            raise
        what = (str(err).splitlines() or [""])[0]
        print(
            f"symgrad: internal error ({type(err).__name__}: {what}); this is a bug in "
            f"symgrad: please report it (set {DEBUG}=1 for a traceback)",
            file=sys.stderr,
        )
        return 1


def _dispatch(argv: list, out) -> int:
    """Parse ``argv`` and run its command, writing to ``out``."""
    parser = build_parser()
    with contextlib.redirect_stdout(out):  # --help and --version go where the output goes
        try:
            args = parser.parse_args(_attach_negative_numbers(argv))
        except SystemExit:  # --help printed: argparse's own exit, once the help is out
            out.flush()
            raise
    if args.version:
        from . import __version__

        out.write(f"symgrad {__version__}\n")
        return 0
    if args.command is None:
        parser.print_help(out)
        raise UsageError(
            f"symgrad: give a command: {', '.join(COMMANDS)} (symgrad --help describes each)"
        )
    _check_values(args)
    return COMMANDS[args.command](args, out)


#: A negative number as an option's value: argparse takes "-1e3" for an option.
_NEGATIVE = re.compile(r"-(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?(?:/[0-9]+)?\Z")


def _attach_negative_numbers(argv: list) -> list:
    """``--forget-bias -1e3`` as ``--forget-bias=-1e3``, which argparse reads."""
    out: list = []
    for token in argv:
        if out and _NEGATIVE.match(token) and out[-1].startswith("--") and "=" not in out[-1]:
            out[-1] = f"{out[-1]}={token}"
        else:
            out.append(token)
    return out


def _check_values(args) -> None:
    """Flags validated at the edge: no empty value, no conflicting pair."""
    command = f"symgrad {args.command}"
    for flag in ("wrt", "of", "plot", "out", "cell_file", "cell", "below", "tolerance"):
        value = getattr(args, flag, None)
        if isinstance(value, str) and not value.strip():
            raise UsageError(f"{command}: --{flag.replace('_', '-')} needs a value, not ''")
    if args.command == "derive" and args.wrt == "state" and args.of is not None:
        raise UsageError(
            f"{command}: --of names one value; --wrt state derives every state (drop one)"
        )
