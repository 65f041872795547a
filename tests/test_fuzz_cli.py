"""Fuzzing the command line in-process: every argument list a user can type ends
in exit 0, 1 or 2; a usage error is one line on stderr; no traceback; no nan
printed as a result.

The argument grammar below draws commands with flags from their real set and
values from a mix of valid ones, malformed ones (empty, words, non-ASCII
digits, huge or negative numbers) and hostile ones. Work is kept small by
the values drawn (few samples and steps) and by ``--max-minutes`` where a
command has it; what a drawn value would make expensive is refused by the
budgets before any work.
"""

import contextlib
import io
import re
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symgrad.cellfile import dumps_cell
from symgrad.cells import BUILTIN, get_cell
from symgrad.cli import main
from tests.strategies import cell_file_texts, mutated

#: Cell files to mutate: every built-in one, written out.
VALID = tuple(dumps_cell(get_cell(name)) for name in BUILTIN)
#: A hang guard per example, not a performance bar.
EXAMPLE_SECONDS = 60.0

NUMBERS = st.sampled_from(
    ["0", "1", "2", "3", "-1", "0.5", "1e-3", "-1e3", "1/3", "7", "12", "1e400", "nan", "inf"]
)
GARBAGE = st.sampled_from(
    ["", " ", "abc", "\u0661", "1_000", "10" * 12, "__import__('os')", "$(touch x)", "\\input", "∞"]
)
VALUES = st.one_of(NUMBERS, GARBAGE)
CELLS = st.sampled_from([*BUILTIN, "all", "lstmm", ""])
FORMATS = st.sampled_from(["text", "markdown", "json", "latex", "pdf"])


def _flags(draw, options: dict) -> list:
    argv = []
    for flag in draw(st.lists(st.sampled_from(sorted(options)), max_size=4, unique=True)):
        values = options[flag]
        if values is None:
            argv.append(flag)
        else:
            argv += [flag, draw(st.one_of(values, VALUES))]
    return argv


@st.composite
def command_lines(draw):
    command = draw(
        st.sampled_from(
            ["list", "show", "derive", "bound", "check", "export", "flow", "compare", "verify"]
        )
    )
    small = st.sampled_from(["2", "3", "5", "12"])
    if command == "list":
        return [command, *_flags(draw, {"--format": FORMATS})]
    if command in ("show", "export"):
        return [command, draw(CELLS), *_flags(draw, {"--format": FORMATS})]
    if command == "derive":
        at = st.sampled_from(["x=1,W=0.5,U=2,b=0,h_prev=0.3", "x=0.5", "x=", "=1", "x=1,x=2"])
        options = {
            "--wrt": st.sampled_from(["state", "h_prev", "c_prev", "U", "U_f", "x"]),
            "--of": st.sampled_from(["h", "c", "f", "z"]),
            "--at": at,
            "--steps": small,
            "--standalone": None,
            "--format": FORMATS,
        }
        return [command, draw(CELLS), *_flags(draw, options)]
    if command == "bound":
        names = st.sampled_from(["lstm-saturation", "rnn-tanh", "sigmoid-slope", "nope", ""])
        params = st.sampled_from(["a=1", "h=1/2", "h=0", "L=3", "a=1e99", "x", "a=1,a=2"])
        options = {"--param": params, "--below": NUMBERS, "--format": FORMATS}
        return [command, draw(names), *_flags(draw, options)]
    if command == "check":
        options = {
            "--samples": small,
            "--seed": NUMBERS,
            "--wrt": st.sampled_from(["all", "state", "h_prev", "U"]),
            "--init": st.sampled_from(["normal", "xavier", "he"]),
            "--format": FORMATS,
        }
        return [command, draw(CELLS), *_flags(draw, options)]
    run = {
        "--steps": small,
        "--samples": small,
        "--seed": NUMBERS,
        "--init": st.sampled_from(["normal", "xavier", "orthogonal", "he"]),
        "--forget-bias": NUMBERS,
        "--format": FORMATS,
    }
    if command == "verify":
        claims = st.sampled_from(["gru-fewer-gates", "identities", "nope"])
        flags = _flags(draw, {"--seed": NUMBERS, "--format": FORMATS})
        return [command, draw(claims), *flags]
    run["--max-minutes"] = st.just("0.05")
    if command == "flow":
        run["--dim"] = st.sampled_from(["1", "2", "3", "0", "513"])
        return [command, draw(CELLS), "--steps", "5", "--samples", "4", *_flags(draw, run)]
    return [command, "--steps", "5", "--samples", "4", *_flags(draw, run)]


def run_in_process(argv: list) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stderr(err):
        try:
            code = main(argv, out=out)
        except SystemExit as done:  # --help
            code = int(done.code or 0)
    assert time.perf_counter() - start < EXAMPLE_SECONDS, argv
    return code, out.getvalue(), err.getvalue()


_NAN = re.compile(r"\bnan\b", re.IGNORECASE)


def assert_clean(argv, code, out, err):
    assert code in (0, 1, 2), (argv, code, err)
    assert "Traceback" not in err and "internal error" not in err, (argv, err)
    if code == 2:
        assert out == "" or argv[:1] == [] or "usage:" in out, (argv, out[:200])
        assert len(err.strip().splitlines()) == 1, (argv, err)
    if code == 0:
        assert not _NAN.search(out), (argv, out[:500])


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(command_lines())
def test_every_command_line_ends_cleanly(argv):
    assert_clean(argv, *run_in_process(argv))


@settings(max_examples=25, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    text=st.one_of(cell_file_texts(), mutated(VALID)),
    command=st.sampled_from(
        [
            ["derive"],
            ["derive", "--wrt", "state"],
            ["show"],
            ["export"],
            ["check", "--samples", "3"],
            ["flow", "--steps", "5", "--samples", "3", "--max-minutes", "0.05"],
            ["derive", "--steps", "2"],
        ]
    ),
)
def test_every_cell_file_works_in_every_command_or_is_refused(text, command, tmp_path_factory):
    path = tmp_path_factory.mktemp("cells") / "cell.toml"
    path.write_text(text)
    argv = [*command, "--cell-file", str(path)]
    assert_clean(argv, *run_in_process(argv))
