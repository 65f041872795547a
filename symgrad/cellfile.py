"""Cell files: a user's own cell in TOML, loaded safely, and any cell written back out.

A cell file maps one to one onto :func:`symgrad.cells.make_cell`, the form the
built-in cells are written in (:data:`symgrad.cells.BUILTIN_SPECS`), so a cell
from a file gets the same derivation, checks and output as a built-in one::

    name = "gru"                         # letters, digits, - _ . +
    description = "The article's GRU."   # optional, plain text
    inputs = ["x"]                       # optional
    parameters = ["W_z", "U_z", "b_z"]   # optional
    state = ["h"]                        # values carried to the next step (h -> h_prev)
    gates = ["z"]                        # optional: sigmoid-valued values
    candidates = ["h_hat"]               # optional: tanh-valued values
    target = "h"                         # optional: derive's d target/d source,
    source = "h_prev"                    #   by default the first state and its _prev

    [equations]                          # value = "definition", in any order
    z = "sigmoid(W_z*x + U_z*h_prev + b_z)"

    [latex]                              # optional: LaTeX names (default: W_z, z_t, \\hat{h}_t)
    h_hat = '\\hat{h}_t'

The file is data: equations are parsed by :func:`symgrad.expr.parse_equation`
(an :mod:`ast` whitelist, never ``eval``), LaTeX names by a whitelist of
commands, and every refusal is a :class:`CellFileError` whose message is one
line, ``FILE:LINE:COLUMN: what is wrong (what was expected)``.
"""

from __future__ import annotations

import os
import re
import select
import stat
import sys
import time
import tomllib
from bisect import bisect_right

from .cells import Cell, CellError, default_latex, make_cell, prev_name
from .expr import FUNCTIONS, ExprError, check_growth

__all__ = [
    "MAX_FILE_BYTES",
    "CellFileError",
    "dumps_cell",
    "load_cell",
    "loads_cell",
]

#: Limits on a file and its parts (a built-in cell written out is under 2 kB).
MAX_FILE_BYTES = 100_000
MAX_NAMES = 200  # inputs, parameters and values together
MAX_NAME_CHARS = 40
MAX_LATEX_CHARS = 80
MAX_DESCRIPTION_CHARS = 4_000

_KEYS = {
    # key: (required, expected type, what it holds)
    "name": (True, str, 'the cell\'s name, e.g. name = "my-gru"'),
    "description": (False, str, "a plain-text description"),
    "inputs": (False, list, 'a list of input names, e.g. inputs = ["x"]'),
    "parameters": (False, list, 'a list of parameter names, e.g. parameters = ["W", "U", "b"]'),
    "state": (True, list, 'the values carried to the next step, e.g. state = ["h"]'),
    "gates": (False, list, 'the sigmoid-valued values, e.g. gates = ["z", "r"]'),
    "candidates": (False, list, 'the tanh-valued values, e.g. candidates = ["h_hat"]'),
    "target": (False, str, 'the value derive differentiates, e.g. target = "h"'),
    "source": (False, str, 'the previous-step state it is differentiated by, e.g. "h_prev"'),
    "equations": (True, dict, 'a table [equations] of lines value = "definition"'),
    "latex": (False, dict, "a table [latex] of lines name = 'LaTeX'"),
}
_ORDER = tuple(_KEYS)

_CELL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]*\Z")
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
# LaTeX names are pasted into documents: read as a whitelist of tokens (commands
# from a list, single characters that mean nothing else to TeX), so a shared cell
# file cannot \input or \write18 through them. "^^" is not two tokens but one
# character code to TeX (^^5c is a backslash), so a "^" must not follow a "^".
_LATEX_TOKEN = re.compile(r"\\([A-Za-z]+)|[A-Za-z0-9_{}()',.+\- ]|\^(?!\^)")
_LATEX_COMMANDS = frozenset(
    """alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa
    lambda mu nu xi pi varpi rho varrho sigma varsigma tau upsilon phi varphi chi
    psi omega Gamma Delta Theta Lambda Xi Pi Sigma Upsilon Phi Psi Omega ell
    hat tilde bar vec dot ddot check breve widehat widetilde overline underline
    mathbf mathrm mathit mathsf mathtt mathcal mathbb mathfrak boldsymbol
    operatorname prime""".split()
)
_KINDS = {"input": "an input", "parameter": "a parameter", "value": "a value"}


class CellFileError(CellError):
    """A cell file that cannot be read or built.

    ``str(error)`` is one line: ``FILE:LINE:COLUMN: message`` (line and column
    1-based, in characters; either left out where no single place is at fault).
    ``path``, ``line``, ``column`` and ``message`` hold the parts.
    """

    def __init__(self, message: str, path: str, line: int | None = None, column=None):
        message = " ".join(str(message).split("\n"))
        where = ":".join(str(p) for p in (path, line, column) if p is not None)
        super().__init__(f"{where}: {message}")
        self.path, self.line, self.column, self.message = path, line, column, message


# ---------------------------------------------------------------- reading


def load_cell(path) -> Cell:
    """The cell defined by the TOML file at ``path`` (``"-"``: standard input).

    Refuses files above :data:`MAX_FILE_BYTES` before reading them. Raises
    :class:`CellFileError` for every problem, from a missing file to an
    equation that names an undefined value.
    """
    name = os.fsdecode(path)
    shown = name if name.isprintable() else repr(name)
    data = _read(name, shown)
    if len(data) > MAX_FILE_BYTES:
        raise CellFileError(_too_big(len(data), known=False), shown)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        raise CellFileError("not UTF-8 text (a cell file is TOML)", shown, line, column) from None
    return loads_cell(text, shown)


#: Seconds to wait for a pipe, a FIFO or standard input to deliver the file:
#: a writer that never comes must not hang the command.
READ_TIMEOUT = 10.0


def _read(name: str, shown: str) -> bytes:
    """At most MAX_FILE_BYTES + 1 bytes of the file ``name`` (``-``: standard
    input), refused before reading when its size is known to be too large, and
    within :data:`READ_TIMEOUT` seconds when it is a pipe or a FIFO."""
    if name == "-":
        if sys.stdin is None:
            raise CellFileError("standard input is closed", shown)
        try:
            fd, own = sys.stdin.fileno(), False
        except (OSError, ValueError):  # replaced by a non-file (a test's StringIO)
            return sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
    else:
        try:
            # Non-blocking: opening a FIFO with no writer would wait forever.
            fd, own = os.open(name, os.O_RDONLY | os.O_NONBLOCK), True
        except OSError as err:
            raise CellFileError(f"cannot read the cell file: {err.strerror}", shown) from None
    try:
        status = os.fstat(fd)
        if stat.S_ISREG(status.st_mode) and status.st_size > MAX_FILE_BYTES:
            raise CellFileError(_too_big(status.st_size), shown)
        streamed = stat.S_ISFIFO(status.st_mode) or stat.S_ISSOCK(status.st_mode)
        deadline = time.monotonic() + READ_TIMEOUT
        chunks, size = [], 0
        while size <= MAX_FILE_BYTES:
            if streamed:
                waiting = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))[0]
                if not waiting:
                    raise CellFileError(
                        f"no end of input within {READ_TIMEOUT:g} s (a pipe or FIFO with "
                        "no writer, or a writer that does not close it)",
                        shown,
                    )
            try:
                # A device reports no size either: read one byte past the limit.
                chunk = os.read(fd, MAX_FILE_BYTES + 1 - size)
            except BlockingIOError:
                continue
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    except OSError as err:
        raise CellFileError(f"cannot read the cell file: {err.strerror}", shown) from None
    finally:
        if own:
            os.close(fd)


def _too_big(size, known=True) -> str:
    found = f"{size:,} bytes" if known else f"more than {MAX_FILE_BYTES:,} bytes"
    return f"file too large ({found}; a cell file is at most {MAX_FILE_BYTES:,} bytes)"


def loads_cell(text: str, source: str = "<string>") -> Cell:
    """The cell defined by the TOML ``text``; ``source`` names it in error messages."""
    if len(text) > MAX_FILE_BYTES:
        raise CellFileError(_too_big(len(text)), source)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        message, line, column = _toml_position(str(err))
        raise CellFileError(f"invalid TOML: {message}", source, line, column) from None
    except (RecursionError, MemoryError, ValueError) as err:
        # tomllib's recursion on nested arrays, or Python's limit on integer digits.
        raise CellFileError(f"invalid TOML: {_first_line(err)}", source) from None
    return _Reader(text, data, source).cell()


def _toml_position(message: str):
    match = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
    if match:
        line, column = int(match.group(1)), int(match.group(2))
        message = message[: match.start()]
    else:
        line = column = None
        message = re.sub(r"\s*\(at end of document\)$", " at the end of the file", message)
    for phrase, hint in _TOML_HINTS.items():
        if message.startswith(phrase):
            message += f" ({hint})"
    return message, line, column


_TOML_HINTS = {
    "Cannot overwrite a value": "this key is already defined",
    "Cannot declare": "this table is already defined",
    "Invalid value": "text goes in quotes, lists in [...]",
    "Expected '=' after a key": 'write key = "value"',
}


def _first_line(err) -> str:
    return (str(err).splitlines() or [type(err).__name__])[0][:200]


class _Reader:
    """Checks parsed TOML against the format, then builds the cell with make_cell."""

    def __init__(self, text, data, source):
        self.text, self.data, self.source = text, data, source
        self._locator = None

    def fail(self, message, path=(), col=None, key=False):
        line = column = None
        if path:
            line, column = self.locator().position(path, col, key)
        raise CellFileError(message, self.source, line, column)

    def locator(self):
        if self._locator is None:
            self._locator = _Locator(self.text)
        return self._locator

    def cell(self) -> Cell:
        data = self.data
        for key in data:
            if key not in _KEYS:
                self.fail(f"unknown key {key!r}{_suggest(key, _ORDER)}", (key,), key=True)
        for key, (required, kind, what) in _KEYS.items():
            if key not in data:
                if required:
                    self.fail(f"missing key {key!r}: {what}")
                continue
            if not isinstance(data[key], kind):
                self.fail(f"{key!r} must be {_TYPES[kind]}, not {_type(data[key])}: {what}", (key,))

        name = data["name"]
        if not _CELL_NAME.match(name) or len(name) > MAX_NAME_CHARS:
            self.fail(
                f"cell name {name!r} must be letters, digits, - _ . + (a letter or digit "
                f"first, at most {MAX_NAME_CHARS} characters)",
                ("name",),
            )
        doc = data.get("description", "")
        self.check_description(doc)

        declared: dict[str, tuple] = {}  # name -> (kind, path), in file order
        for key, kind in (("inputs", "input"), ("parameters", "parameter")):
            for k, n in enumerate(self.names(key)):
                self.declare(declared, n, kind, (key, k))
        equations = data["equations"]
        if not equations:
            self.fail("the [equations] table is empty: a cell needs at least one", ("equations",))
        for n, text in equations.items():
            if n in _KEYS:
                self.fail(
                    f"{n!r} is read as an equation: TOML puts every key after [equations] "
                    "in that table; move it above the first [table] line",
                    ("equations", n),
                    key=True,
                )
            self.check_name(n, ("equations", n), "value")
            if not isinstance(text, str):
                self.fail(
                    f"equation {n!r} must be text in quotes, not {_type(text)}", ("equations", n)
                )
            self.declare(declared, n, "value", ("equations", n))
        if len(declared) > MAX_NAMES:
            self.fail(f"more than {MAX_NAMES} names (inputs, parameters and values)")
        values = list(equations)

        state = self.names("state")
        if not state:
            self.fail("state is empty: name the values carried to the next step", ("state",))
        kinds = {}
        for key in ("state", "gates", "candidates"):
            self.check_unique(key)
            for k, n in enumerate(self.names(key)):
                if n not in equations:
                    role = {
                        "state": f"state variable {n!r} is never updated",
                        "gates": f"gate {n!r} is never defined",
                        "candidates": f"candidate {n!r} is never defined",
                    }[key]
                    self.fail(
                        f"{role}: no equation defines it (values: {', '.join(values)})", (key, k)
                    )
                if key != "state":
                    if n in kinds:
                        self.fail(f"{n!r} is listed both as a gate and as a candidate", (key, k))
                    kinds[n] = "gate" if key == "gates" else "candidate"

        target = data.get("target", state[0])
        if target not in equations:
            self.fail(
                f"target {target!r} is not a value of the cell (values: {', '.join(values)})",
                ("target",),
            )
        prevs = [prev_name(s) for s in state]
        default_source = prev_name(target) if target in state else prevs[0]
        source = data.get("source", default_source)
        if source not in prevs:
            self.fail(
                f"source {source!r} is not a previous-step state (choices: {', '.join(prevs)})",
                ("source",),
            )

        latex = self.latex_names(declared)
        spec = dict(
            inputs={n: latex.get(n) for n in self.names("inputs")},
            params={n: latex.get(n) for n in self.names("parameters")},
            state=state,
            equations=[(n, latex.get(n), text, kinds.get(n)) for n, text in equations.items()],
            wrt=(target, source),
        )
        try:
            cell = make_cell(name, doc, **spec)
        except CellError as err:
            self.fail_built(err, declared)
        self.check_composed(cell)
        return cell

    # -- parts

    def names(self, key) -> list:
        names = self.data.get(key, [])
        for k, n in enumerate(names):
            if not isinstance(n, str):
                self.fail(f"{key} must list names in quotes; item {k + 1} is {_type(n)}", (key, k))
            self.check_name(n, (key, k), {"inputs": "input", "parameters": "parameter"}.get(key))
        return names

    def check_name(self, n, path, kind):
        # key=True: an equation's or LaTeX entry's name is its key (list items have none).
        what = f"{kind} name" if kind else "name"
        if not _NAME.match(n) or len(n) > MAX_NAME_CHARS:
            self.fail(
                f"{what} {n!r} is not a plain name (letters, digits and _, a letter first, "
                f"at most {MAX_NAME_CHARS} characters)",
                path,
                key=True,
            )
        if n in FUNCTIONS:
            self.fail(f"{what} {n!r} is the name of a function; choose another", path, key=True)
        if n.endswith("_prev"):
            self.fail(
                f"{what} {n!r}: names ending in _prev are the previous step's values "
                f"(of the state variable {n.removesuffix('_prev')!r}, listed under state)",
                path,
                key=True,
            )

    def declare(self, declared, n, kind, path):
        if n in declared:
            first_kind, first_path = declared[n]
            line, _ = self.locator().position(first_path, key=True)
            at = f" on line {line}" if line else ""
            self.fail(
                f"{n!r} is defined twice: as {_KINDS[kind]} here and as {_KINDS[first_kind]}{at}",
                path,
                key=True,
            )
        declared[n] = (kind, path)

    def check_unique(self, key):
        seen = set()
        for k, n in enumerate(self.data.get(key, [])):
            if not isinstance(n, str):  # the type first: a list cannot be compared
                self.fail(f"{key} must list names in quotes; item {k + 1} is {_type(n)}", (key, k))
            if n in seen:
                self.fail(f"{key} lists {n!r} twice", (key, k))
            seen.add(n)

    def check_description(self, doc):
        if len(doc) > MAX_DESCRIPTION_CHARS:
            self.fail(
                f"description longer than {MAX_DESCRIPTION_CHARS} characters", ("description",)
            )
        # Printed as plain text in LaTeX documents, which pdflatex must compile:
        # a backslash would start a command, ^ needs math mode, and pdflatex
        # knows no Greek or other non-Latin letters in text.
        for ch in doc:
            if not (" " <= ch <= "~" or ch in "\n\t") or ch in "\\^":
                what = {"\\": "a backslash", "^": "'^'"}.get(ch, repr(ch))
                self.fail(
                    f"description contains {what}: it is plain ASCII text without \\ or ^, "
                    "printed as is in LaTeX documents (write sigma, tanh**2, ...)",
                    ("description",),
                )
        depth = 0
        for ch in doc:
            depth += {"{": 1, "}": -1}.get(ch, 0)
            if depth < 0:
                break
        if depth:
            self.fail("description has unbalanced braces { }", ("description",))

    def latex_names(self, declared) -> dict:
        table = self.data.get("latex", {})
        for n, tex in table.items():
            path = ("latex", n)
            if n in _KEYS and n not in declared:
                self.fail(
                    f"{n!r} is read as a LaTeX name: TOML puts every key after [latex] "
                    "in that table; move it above the first [table] line",
                    path,
                    key=True,
                )
            if n not in declared:
                base = n.removesuffix("_prev")
                hint = (
                    f" (the LaTeX of {n} follows from that of {base})"
                    if n.endswith("_prev") and base in declared
                    else f"{_suggest(n, list(declared))}"
                )
                self.fail(
                    f"[latex] names {n!r}, which the cell does not define{hint}", path, key=True
                )
            if not isinstance(tex, str):
                self.fail(f"the LaTeX of {n!r} must be text in quotes, not {_type(tex)}", path)
            problem = _latex_problem(tex)
            if problem:
                self.fail(f"LaTeX name '{tex}' of {n!r}: {problem}", path)
            if tex and declared[n][0] == "value" and not re.search(r"_(t|\{t\})$", tex):
                self.fail(
                    f"LaTeX name '{tex}' of value {n!r} must end in _t (its previous-step "
                    "value then reads _{t-1})",
                    path,
                )
        return {n: tex or None for n, tex in table.items()}

    def fail_built(self, err: CellError, declared):
        """Place make_cell's error in the file: the equation, key or name it names."""
        where, message = err.where, str(err)
        if "undefined name" in message and "_prev'" not in message:
            message += "; declare it under inputs or parameters"
        if where in self.data["equations"]:
            self.fail(message, ("equations", where), err.col)
        if where in ("target", "source"):
            self.fail(message, (where,))
        if where in declared:
            self.fail(message, declared[where][1])
        self.fail(message)

    def check_composed(self, cell: Cell):
        """The growth limits on each value with the values it reads substituted:
        the expression the engine differentiates and expands."""
        known = {}
        for eq in cell.equations:
            try:
                known[eq.symbol] = check_growth(eq.rhs, known)
            except ExprError as err:
                self.fail(
                    f"equation {eq.name!r}, with the values it uses substituted: {err}",
                    ("equations", eq.name),
                )


_TYPES = {str: "text in quotes", list: "a list [...]", dict: "a table"}


def _type(value) -> str:
    if isinstance(value, bool):
        return "true/false"
    return {
        str: "text",
        int: "a number",
        float: "a number",
        list: "a list",
        dict: "a table",
    }.get(type(value), "a date or time")


def _suggest(word, choices) -> str:
    import difflib

    close = difflib.get_close_matches(word, choices, n=1)
    if close:
        return f" (did you mean {close[0]!r}?)"
    return f" (expected one of: {', '.join(choices)})" if len(choices) <= 12 else ""


def _latex_problem(tex: str) -> str | None:
    if not tex:
        return None
    if len(tex) > MAX_LATEX_CHARS:
        return f"longer than {MAX_LATEX_CHARS} characters"
    pos = depth = 0
    while pos < len(tex):
        match = _LATEX_TOKEN.match(tex, pos)
        if match is None and tex.startswith("^^", pos):
            return "'^^' is not allowed (TeX reads it as a character code: ^^5c is a backslash)"
        if match is None:
            return f"character {tex[pos]!r} is not allowed"
        command = match.group(1)
        if command is not None and command not in _LATEX_COMMANDS:
            return (
                f"command \\{command} is not allowed (allowed: Greek letters, \\hat, \\tilde, "
                "\\bar, \\vec, \\mathbf, \\mathrm, \\operatorname, ...)"
            )
        if match.group() in ("^", "_") and match.end() == len(tex):
            return f"'{match.group()}' at the end has nothing to apply to"
        depth += {"{": 1, "}": -1}.get(match.group(), 0)
        if depth < 0:
            return "a '}' closes no '{'"
        pos = match.end()
    return "a '{' is never closed" if depth else None


# ---------------------------------------------------------------- positions


class _Locator:
    """Where keys and values sit in TOML text that tomllib has accepted.

    A small scanner of TOML's lexical structure (tables, dotted keys, strings,
    arrays, comments), enough to point an error message at a line and column.
    It never recurses, so no nesting tomllib accepts can exhaust the stack.
    """

    def __init__(self, text: str):
        self.text = text
        self.keys: dict[tuple, int] = {}
        self.values: dict[tuple, int] = {}
        self.starts = [0] + [k + 1 for k, ch in enumerate(text) if ch == "\n"]
        self._scan()

    def position(self, path: tuple, col: int | None = None, key: bool = False):
        """1-based (line, column) of ``path``'s value (its key where the value is a
        table, or with ``key``) or, with ``col``, of that character of its string value."""
        offset = self.keys.get(path) if key else None
        if offset is None:
            offset = self.values.get(path, self.keys.get(path))
        if offset is None:
            return None, None
        if col is not None and not key and path in self.values:
            offset = self._string_char(offset, path, col)
        line = bisect_right(self.starts, offset)
        return line, offset - self.starts[line - 1] + 1

    # -- scanning

    def _scan(self):
        text, n = self.text, len(self.text)
        pos, table = 0, ()
        while True:
            pos = self._blank(pos, newlines=True)
            if pos >= n:
                return
            start = pos
            if text[pos] == "[":
                double = text.startswith("[[", pos)
                keys, pos = self._key(pos + 1 + double)
                table = tuple(keys)
                self.keys.setdefault(table, start)
                pos = self._blank(pos, newlines=False) + 1 + double
                continue
            keys, pos = self._key(pos)
            path = table + tuple(keys)
            self.keys.setdefault(path, start)
            pos = self._blank(self._blank(pos, newlines=False) + 1, newlines=False)
            self.values.setdefault(path, pos)
            pos = self._value(pos, path)

    def _blank(self, pos, newlines):
        text, n = self.text, len(self.text)
        while pos < n:
            ch = text[pos]
            if ch in " \t" or (newlines and ch in "\r\n"):
                pos += 1
            elif ch == "#":
                end = text.find("\n", pos)
                pos = n if end < 0 else (end + 1 if newlines else end)
            else:
                break
        return pos

    def _key(self, pos):
        text, keys = self.text, []
        while True:
            pos = self._blank(pos, newlines=False)
            if text[pos] in "\"'":
                end = self._string_end(pos)
                decoded = self._decode(pos)
                keys.append(decoded[0] if decoded else text[pos + 1 : end - 1])
                pos = end
            else:
                match = _BARE_KEY.match(text, pos)
                keys.append(match.group())
                pos = match.end()
            pos = self._blank(pos, newlines=False)
            if pos < len(text) and text[pos] == ".":
                pos += 1
                continue
            return keys, pos

    def _value(self, pos, path):
        text, n = self.text, len(self.text)
        if text[pos] in "\"'":
            return self._string_end(pos)
        if text[pos] not in "[{":
            while pos < n and text[pos] not in "\n#":
                pos += 1
            return pos
        # A container: match brackets with a counter, recording the items of a
        # top-level array as (path..., index).
        array = text[pos] == "["
        depth, index, expect = 0, 0, True
        while True:
            ch = text[pos]
            top = depth == 1 and array
            if top and expect and ch not in " \t\r\n,#]":
                self.values.setdefault((*path, index), pos)
                index, expect = index + 1, False
            if ch in "[{":
                depth += 1
                pos += 1
            elif ch in "]}":
                depth -= 1
                pos += 1
                if depth == 0:
                    return pos
            elif ch in "\"'":
                pos = self._string_end(pos)
            elif ch == "#":
                pos = self._blank(pos, newlines=False)
            else:
                if ch == "," and top:
                    expect = True
                pos += 1

    def _string_end(self, pos) -> int:
        text = self.text
        quote = text[pos]
        if text.startswith(quote * 3, pos):
            pos += 3
            while True:
                if quote == '"' and text[pos] == "\\":
                    pos += 2
                elif text.startswith(quote * 3, pos):
                    run = 3
                    while run < 5 and pos + run < len(text) and text[pos + run] == quote:
                        run += 1
                    return pos + run
                else:
                    pos += 1
        pos += 1
        while text[pos] != quote:
            pos += 2 if (quote == '"' and text[pos] == "\\") else 1
        return pos + 1

    def _decode(self, pos):
        """The string starting at ``pos`` and the offset of each of its characters."""
        text = self.text
        quote = text[pos]
        multi = text.startswith(quote * 3, pos)
        end = self._string_end(pos)
        if multi:
            pos, stop = pos + 3, end - 3
            if text.startswith("\r\n", pos):
                pos += 2
            elif text.startswith("\n", pos):
                pos += 1
        else:
            pos, stop = pos + 1, end - 1
        chars, offsets = [], []
        while pos < stop:
            ch = text[pos]
            if quote == '"' and ch == "\\":
                code = text[pos + 1]
                if code in _ESCAPES:
                    chars.append(_ESCAPES[code])
                    offsets.append(pos)
                    pos += 2
                elif code in "uU":
                    width = 4 if code == "u" else 8
                    chars.append(chr(int(text[pos + 2 : pos + 2 + width], 16)))
                    offsets.append(pos)
                    pos += 2 + width
                else:  # a line-ending backslash: the line break and following blanks vanish
                    pos += 1
                    while pos < stop and text[pos] in " \t\r\n":
                        pos += 1
            elif multi and text.startswith("\r\n", pos):
                chars.append("\n")
                offsets.append(pos)
                pos += 2
            else:
                chars.append(ch)
                offsets.append(pos)
                pos += 1
        return "".join(chars), offsets, stop

    def _string_char(self, offset, path, col) -> int:
        if self.text[offset] not in "\"'":
            return offset
        decoded, offsets, stop = self._decode(offset)
        data = _lookup(self.text, path)
        if decoded != data:  # the scanner disagrees with tomllib: the string's start will do
            return offset
        return offsets[col] if 0 <= col < len(offsets) else stop


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\"}


def _lookup(text, path):
    node = tomllib.loads(text)
    for key in path:
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            return None
    return node


# ---------------------------------------------------------------- writing


def dumps_cell(cell: Cell) -> str:
    """``cell`` as the text of a cell file; :func:`loads_cell` of it gives an equal cell.

    LaTeX names are written only where they differ from the default ones.
    The name and description must satisfy the format (every built-in does).
    """

    def default(n, timed):
        return cell.latex[n] == default_latex(n, timed)

    gates, candidates = list(cell.gates), list(cell.candidates)
    lines = [
        f"# symgrad cell file (symgrad export {cell.name}); the format is in the README.",
        f"name = {_string(cell.name)}",
        f"description = {_string(cell.doc, multiline=True)}",
        _array("inputs", cell.inputs),
        _array("parameters", cell.params),
        _array("state", cell.state),
        *([_array("gates", gates)] if gates else []),
        *([_array("candidates", candidates)] if candidates else []),
        f"target = {_string(cell.target)}",
        f"source = {_string(cell.source)}",
        "",
        "[equations]",
        *(f"{eq.name} = {_string(eq.text)}" for eq in cell.equations),
    ]
    custom = [
        (n, cell.latex[n])
        for n, timed in [
            *((n, True) for n in cell.inputs),
            *((n, False) for n in cell.params),
            *((n, True) for n in cell.values),
        ]
        if not default(n, timed)
    ]
    if custom:
        lines += ["", "[latex]", *(f"{n} = {_string(tex)}" for n, tex in custom)]
    return "\n".join(lines) + "\n"


def _array(key, names) -> str:
    items = [_string(n) for n in names]
    line = f"{key} = [{', '.join(items)}]"
    if len(line) <= 100:
        return line
    return f"{key} = [\n" + "".join(f"    {item},\n" for item in items) + "]"


def _plain_lines(text: str) -> bool:
    return all(ch.isprintable() or ch in "\t\n" for ch in text)


def _string(text: str, multiline: bool = False) -> str:
    """A TOML string for ``text``: literal where it can be (LaTeX reads best
    without escapes), else a basic string with every special character escaped."""
    plain = all(ch.isprintable() or ch in "\t" for ch in text)
    literal_block = "'''" not in text and not text.endswith("'")
    if multiline and "\n" in text and literal_block and _plain_lines(text):
        return "'''\n" + text + "'''"
    if plain and "'" not in text and "\\" in text:
        return f"'{text}'"
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t" or ch.isprintable():
            out.append(ch)
        else:
            out.append(f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}")
    return '"' + "".join(out) + '"'
