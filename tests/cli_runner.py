"""Running the ``symgrad`` command line from a test, the one way every test does.

``run_cli`` runs it in-process, as the console script would (the exit code of
``--help``'s SystemExit included); conftest.py's ``run`` fixture is this same
function, and tests that cannot take a fixture (module-level helpers, cached
outputs) import it from here. ``run_console`` starts ``python -m symgrad`` as a
separate process, for what only a process shows (start-up, exit status).
"""

import contextlib
import io
import subprocess
import sys
from typing import NamedTuple

from symgrad.cli import main


class Ran(NamedTuple):
    """What a command did: its exit code, standard output and standard error."""

    code: int
    out: str
    err: str


class _Stderr(io.StringIO):
    """Standard error that is a terminal or not, as a test asks: the progress
    line is printed only to a terminal."""

    def __init__(self, tty: bool):
        super().__init__()
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


def run_cli(*argv: str, stdin: str | None = None, tty: bool = False) -> Ran:
    """Run ``symgrad *argv`` in this process; ``stdin`` is standard input's text
    (for ``--cell-file -``), ``tty`` whether standard error is a terminal."""
    out, err = io.StringIO(), _Stderr(tty)
    saved = sys.stdin
    if stdin is not None:
        sys.stdin = io.TextIOWrapper(io.BytesIO(stdin.encode()))
    try:
        with contextlib.redirect_stderr(err):
            try:
                code = main(list(argv), out=out)
            except SystemExit as done:  # --help: argparse's exit once the help is out
                code = int(done.code or 0)
    finally:
        sys.stdin = saved
    return Ran(code, out.getvalue(), err.getvalue())


def cli_output(*argv: str) -> str:
    """The standard output of ``symgrad *argv``, which must succeed (exit 0)."""
    ran = run_cli(*argv)
    assert ran.code == 0, (argv, ran.err)
    return ran.out


def run_console(*argv: str, env: dict | None = None, timeout: float | None = None) -> Ran:
    """Run ``python -m symgrad *argv`` as a separate process."""
    done = subprocess.run(
        [sys.executable, "-m", "symgrad", *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )
    return Ran(done.returncode, done.stdout, done.stderr)
