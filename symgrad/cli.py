"""The ``symgrad`` command line: what each command does, and the one boundary
where every expected failure becomes one line on stderr and an exit code.

Every user error is one line on stderr and exit code 2; a failed check or
claim exits 1. Heavy modules (NumPy, SciPy, ...) are imported inside the
commands that use them. The flags themselves are :mod:`symgrad.arguments`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys

from . import defaults
from .arguments import (
    UsageError,
    attach_negative_numbers,
    build_parser,
    check_values,
    parse_assignments,
    parse_number,
    parse_point,
    typed_point,
)
from .text import plain

__all__ = ["main"]


# ---------------------------------------------------------------- commands


def cmd_list(args, out) -> int:
    from .cells import builtin_cells
    from .claims import CLAIMS  # claims need no NumPy until they are checked
    from .report.listing import listing

    out.write(listing(builtin_cells(), CLAIMS, args.format))
    return 0


def cmd_show(args, out) -> int:
    from .documents import cell_document, cell_json
    from .render import dumps, render

    cell = get_cell_arg(args)
    if args.format == "json":
        out.write(dumps(cell_json(cell)))
    else:
        out.write(render(cell_document(cell), args.format, cell, standalone=args.standalone))
    return 0


def cmd_derive(args, out) -> int:
    from .derivation import StateJacobian, derive
    from .documents import (
        derivation_document,
        derivation_json,
        jacobian_document,
        jacobian_json,
    )
    from .primitives import DomainError
    from .render import dumps, render

    cell = get_cell_arg(args)
    if args.vector:
        return _derive_vector(args, cell, out)
    if args.steps is not None:
        return _derive_steps(args, cell, out)
    try:
        result = derive(cell, wrt=args.wrt, of=args.of)
    except ValueError as err:
        raise UsageError(f"symgrad derive: {err}") from None
    values, typed = None, None
    if args.at:
        point, typed = parse_point(args.at), typed_point(args.at)
        try:
            values = (*result.evaluate(point), point)
        except (ValueError, DomainError) as err:
            raise UsageError(f"symgrad derive --at: {err}") from None
    if isinstance(result, StateJacobian):
        if args.format == "json":
            out.write(dumps(jacobian_json(result, values)))
        else:
            blocks = jacobian_document(result, result.article, values, typed)
            ranges = result.entries[0][0].ranges
            out.write(render(blocks, args.format, cell, ranges, args.standalone))
        return _check_status(result.check)
    if args.format == "json":
        out.write(dumps(derivation_json(result, values)))
    else:
        blocks = derivation_document(result, values, typed=typed)
        out.write(render(blocks, args.format, cell, result.ranges, args.standalone))
    return _check_status(result.check)


def _derive_vector(args, cell, out) -> int:
    """``derive --vector``: hidden size n, the matrix form."""
    from .text import dumps
    from .vector import VectorError, derive_vector, derive_vector_steps

    if args.at:
        raise UsageError(
            "symgrad derive --vector: --at takes scalars and a matrix-form derivative has no "
            "scalar point; evaluate it at arrays with the Python API (symgrad.derive(cell, "
            "vector=True).numeric(), or symgrad.vector.derive_vector_steps(cell, K)"
            ".evaluate(arrays) with --steps)"
        )
    if args.steps is not None and (args.wrt is not None or args.of is not None):
        raise UsageError(
            "symgrad derive --vector --steps: derives the cell's own derivative over K steps "
            "(dc_{t+K-1}/dc_{t-1} for lstm); drop --wrt and --of"
        )
    try:
        if args.steps is not None:
            d = derive_vector_steps(cell, args.steps)
        else:
            d = derive_vector(cell, wrt=args.wrt, of=args.of)
    except (VectorError, ValueError) as err:
        raise UsageError(f"symgrad derive --vector: {err}") from None
    out.write(dumps(d.json()) if args.format == "json" else d.render(args.format, args.standalone))
    return _check_status(d.check)


def _derive_steps(args, cell, out) -> int:
    """``derive --steps K``: the exact K-step derivative beside the article's product."""
    from .documents import multistep_document, multistep_json
    from .multistep import derive_steps
    from .primitives import DomainError
    from .render import dumps, render

    if args.wrt is not None or args.of is not None:
        raise UsageError(
            "symgrad derive: --steps derives the cell's own derivative over K steps; "
            "drop --wrt and --of"
        )
    point = parse_point(args.at) if args.at else {}
    per_step = any(f"{x}_1" in point for x in cell.inputs)
    try:
        ms = derive_steps(cell, args.steps, "per step" if per_step else "shared")
        values = (ms.evaluate(point), point) if args.at else None
    except (ValueError, DomainError) as err:
        raise UsageError(f"symgrad derive --steps: {err}") from None
    if args.format == "json":
        out.write(dumps(multistep_json(ms, values)))
    else:
        typed = typed_point(args.at) if args.at else None
        blocks = multistep_document(ms, values, typed)
        out.write(render(blocks, args.format, cell, ms.ranges, args.standalone, ms.names))
    return _check_status(ms.check)


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
    from .cells import builtin_cells
    from .flow import FlowError, check_budget

    try:  # the long-horizon runs: every cell, and the LSTM twice more
        runs = [*builtin_cells(), *[c for c in builtin_cells() if c.name == "lstm"] * 2]
        check_budget(runs, args.steps, args.flow_samples, 1, defaults.FLOW_MINUTES)
    except FlowError as err:
        raise UsageError(f"symgrad {args.command}: {err}") from None
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
    return 0 if all(r.established for r in results) else 1


def cmd_prove(args, out) -> int:
    from .report.claims import write_proofs

    results, ctx = _run_claims(args, None)
    try:
        written = write_proofs(results, ctx, args.out)
    except OSError as err:
        raise UsageError(f"symgrad prove: cannot write to {args.out}: {err.strerror}") from None
    from .report.claims import verdict_line

    out.write(f"wrote {len(written)} files to {args.out}/\n")
    out.write(verdict_line(results) + "\n")
    return 0 if all(r.established for r in results) else 1


def cmd_bound(args, out) -> int:
    from .bounds import BoundError, check_params, compute_bound
    from .report.bounds import format_catalog, format_result

    if args.name is None:
        out.write(format_catalog(args.format))
        return 0
    params = parse_assignments(args.param, "--param", "symgrad bound")
    below = None if args.below is None else parse_number("--below", args.below)
    tolerance = parse_number("--tolerance", args.tolerance)
    if args.plot:
        _check_plot_target(args.plot, "bound")
    try:
        check_params(args.name, params)
        result = compute_bound(args.name, below=below, tolerance=tolerance, **params)
    except BoundError as err:
        raise UsageError(f"symgrad bound: {err}") from None
    out.write(format_result(result, args.format))
    _plot("plot_bound", result, args)
    return 1 if result.status == "fail" else 0


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
    print(f"symgrad: check FAILED: {plain(check.detail)}", file=sys.stderr)
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
            from .expr import growth_limits

            terms = getattr(args, "max_terms", None) or defaults.MAX_TERMS
            degree = getattr(args, "max_degree", None) or defaults.MAX_DEGREE
            with growth_limits(terms, degree):
                return load_cell(cell_file)
        if args.cell is None:
            raise UsageError(
                f"symgrad {args.command}: the following arguments are required: CELL "
                f"(one of: {', '.join(BUILTIN)}) or --cell-file FILE"
            )
        return get_cell(args.cell)
    except CellError as err:
        raise UsageError(f"symgrad {args.command}: {err}") from None


def cmd_flow(args, out) -> int:
    from .cells import BUILTIN

    if args.weights or args.spectrum or args.inputs:
        return _flow_spectrum(args, out)
    cells = _flow_cells(args)
    if not cells:
        raise UsageError(
            f"symgrad flow: give one or more cells (one of: {', '.join(BUILTIN)}, or all) "
            "or --cell-file FILE"
        )
    _check_forget_bias(args, cells)
    if args.plot:
        _check_plot_target(args.plot)
    from .flow import FlowError, check_budget, run_flow
    from .report.flow import format_flow

    # All the runs' budget first: no run starts that the others would push over it.
    samples = args.samples or (
        defaults.FLOW_SAMPLES_1D if args.dim == 1 else defaults.FLOW_SAMPLES_ND
    )
    try:
        check_budget(cells, args.steps, samples, args.dim, args.max_minutes)
    except FlowError as err:
        raise UsageError(f"symgrad flow: {err}") from None
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
                minutes=args.max_minutes,
            )
            for cell in cells
        ]
    except FlowError as err:
        raise UsageError(f"symgrad flow: {err}") from None
    finally:
        _progress_done(progress)
    out.write(_report(format_flow, results, args.format))
    _plot("plot_flow", results, args)
    return 0


def _plot(draw: str, results, args) -> None:
    """``--plot FILE``: ``symgrad.plot.<draw>(results, FILE)``; an unwritable file
    is a usage error naming it."""
    if not args.plot:
        return
    from . import plot

    try:
        getattr(plot, draw)(results, args.plot)
    except OSError as err:
        raise UsageError(
            f"symgrad {args.command} --plot: cannot write {args.plot}: {err}"
        ) from None


def _flow_cells(args) -> list:
    """The cells a flow command names: built-ins (``all`` for every one) and cell files."""
    from .cells import BUILTIN

    names = []
    for name in args.cells:
        for n in BUILTIN if name == "all" else (name,):
            if n not in names:
                names.append(n)
    given = [dict(cell=n, cell_file=None) for n in names]
    given += [dict(cell=None, cell_file=f) for f in args.cell_file]
    return [get_cell_arg(argparse.Namespace(**{**vars(args), **g})) for g in given]


def _flow_spectrum(args, out) -> int:
    """``flow --weights`` / ``--spectrum``: Lyapunov spectra from analytic Jacobians."""
    import numpy as np

    from .flow import FlowError, check_budget
    from .network import network_spectrum
    from .report.spectrum import format_spectrum
    from .sampling import draw_vector_params
    from .stats import cell_rng
    from .weights import WeightsError, load_weights

    if args.inputs and not args.weights:
        raise UsageError("symgrad flow: --inputs drives the network of --weights; give both")
    if args.plot:
        _check_plot_target(args.plot)
    samples = args.samples or defaults.FLOW_SAMPLES_ND
    runs = []  # (cell, params, inputs, source)
    if args.weights:
        if len(args.cells) > 1 or args.cell_file or "all" in args.cells:
            raise UsageError("symgrad flow --weights: name at most one built-in CELL")
        try:
            w = load_weights(args.weights, cell=args.cells[0] if args.cells else None)
        except WeightsError as err:
            raise UsageError(f"symgrad flow --weights: {err}") from None
        cell = get_cell_arg(argparse.Namespace(cell=w.cell, cell_file=None, command="flow"))
        if args.inputs:
            xs = _read_inputs(args.inputs, w.input_size)[:, None, :]
            source = f"the sequence of {args.inputs} ({len(xs)} steps)"
        else:
            rng = cell_rng(args.seed, cell.name, 2)
            xs = rng.standard_normal((args.warmup + args.steps, samples, w.input_size))
            source = f"{samples} seeded N(0, 1) input sequences (seed {args.seed})"
        runs.append((cell, w.params, {cell.inputs[0]: xs}, f"{args.weights}: {source}"))
    else:
        for cell in _flow_cells(args):
            if len(cell.inputs) != 1:
                raise UsageError(f"symgrad flow --spectrum: {cell.name} must read one input")
            rng = cell_rng(args.seed, cell.name, 2)
            params = draw_vector_params(
                cell, samples, args.dim, rng, args.init, args.forget_bias, {}
            )
            xs = rng.standard_normal((args.warmup + args.steps, samples, args.dim))
            source = f"{samples} seeded random cells and input sequences (seed {args.seed})"
            runs.append((cell, params, {cell.inputs[0]: xs}, source))
    if not runs:
        raise UsageError("symgrad flow --spectrum: give one or more cells or --cell-file FILE")
    try:
        n = len(next(iter(runs[0][2].values())))
        for cell, params, xs, _ in runs:
            batch = next(iter(xs.values())).shape[1]
            dim = np.asarray(params[cell.params[-1]]).shape[-1]
            check_budget([cell], n, batch, dim, args.max_minutes / len(runs))
        results = [
            network_spectrum(cell, params, xs, args.spectrum, args.warmup, source)
            for cell, params, xs, source in runs
        ]
    except (FlowError, ValueError) as err:
        raise UsageError(f"symgrad flow: {err}") from None
    out.write(_report(format_spectrum, results, args.format))
    _plot("plot_spectrum", results, args)
    return 0


def _read_inputs(path: str, size: int):
    """A (T, m) float array from a .npy file, never unpickled."""
    import numpy as np

    try:
        xs = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise UsageError(f"symgrad flow --inputs: cannot read {path}: {err}") from None
    if xs.ndim != 2 or xs.shape[1] != size or not np.issubdtype(xs.dtype, np.number):
        raise UsageError(
            f"symgrad flow --inputs: {path} must hold a (T, {size}) array of numbers "
            f"(steps x input size), not {xs.dtype} {xs.shape}"
        )
    if not np.all(np.isfinite(xs)):
        raise UsageError(f"symgrad flow --inputs: {path} holds a value that is not finite")
    return xs.astype(float)


def cmd_compare(args, out) -> int:
    from .cells import builtin_cells

    _check_forget_bias(args, builtin_cells())
    from .flow import FlowError, compare_cells
    from .report.flow import format_compare

    progress = _progress("compare")
    try:
        rows = compare_cells(
            steps=args.steps,
            samples=args.samples or defaults.FLOW_SAMPLES_1D,
            seed=args.seed,
            init=args.init,
            forget_bias=args.forget_bias,
            progress=progress,
            minutes=args.max_minutes,
        )
    except FlowError as err:
        raise UsageError(f"symgrad compare: {err}") from None
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
        from .cells import builtin_cells

        having = [c.name for c in builtin_cells() if "b_f" in c.params]
        raise UsageError(
            f"symgrad {args.command}: --forget-bias sets b_f, which none of "
            f"{', '.join(c.name for c in cells)} has (cells with b_f: {', '.join(having)})"
        )


def _check_plot_target(path, command: str = "flow") -> None:
    """A --plot FILE that can be written, before the work: .png or .svg, in an
    existing directory, with matplotlib installed; else one line, exit 2."""
    import importlib.util
    from pathlib import Path

    target = Path(path)
    if target.suffix.lower() not in (".png", ".svg"):
        raise UsageError(f"symgrad {command} --plot: {path!r} must end in .png or .svg")
    if not target.parent.is_dir():
        raise UsageError(
            f"symgrad {command} --plot: directory {str(target.parent)!r} does not exist"
        )
    if importlib.util.find_spec("matplotlib") is None:
        raise UsageError(
            f"symgrad {command} --plot needs matplotlib, which is not installed: "
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
            args = parser.parse_args(attach_negative_numbers(argv))
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
    check_values(args)
    return COMMANDS[args.command](args, out)
