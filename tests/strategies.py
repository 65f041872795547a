"""Hypothesis strategies, with finite, named bounds.

Pre-activations of real networks rarely leave |u| < 30; at |u| = 30 the
sigmoid is 1 - 9e-14, deep in saturation, which is where naive exp-form
evaluation overflows or loses every digit.
"""

from hypothesis import strategies as st

#: Largest pre-activation magnitude a "saturated" point may reach.
SATURATION = 30.0
#: Weights, biases and inputs of ordinary (unsaturated) points.
ORDINARY = 3.0


def reals(bound: float = ORDINARY):
    return st.floats(-bound, bound, allow_nan=False, allow_infinity=False, width=64)


def point(names, bound: float = ORDINARY):
    """A dict name -> float for every name, each in [-bound, bound]."""
    return st.fixed_dictionaries({n: reals(bound) for n in names})


def cell_point(cell, names, bound: float = ORDINARY, bias_bound: float | None = None):
    """A dict name -> float for ``names`` of ``cell``, each value in its own range.

    Previous-step values take the range the cell proves for them (gates of the
    previous step in [0, 1], GRU states in [-1, 1], relu states in [0, bound]);
    biases lie in [-bias_bound, bias_bound] (default ``bound``), so that
    ``bias_bound=SATURATION`` drives pre-activations into saturation; every
    other name lies in [-bound, bound].
    """
    from symgrad.ranges import value_ranges

    ranges = {symbol.name: r for symbol, r in value_ranges(cell).items()}
    params = set(cell.params)
    chosen = {}
    for name in names:
        lo, hi = ranges.get(name, (-float("inf"), float("inf")))
        if name in ranges and lo >= 0.0 and hi <= 1.0:
            chosen[name] = st.floats(0.0, 1.0)
        elif name in ranges and lo >= -1.0 and hi <= 1.0:
            chosen[name] = st.floats(-1.0, 1.0)
        elif name in ranges and lo >= 0.0:
            chosen[name] = st.floats(0.0, bound)
        elif name in params and name.split("_")[0] == "b":
            chosen[name] = reals(bias_bound or bound)
        else:
            chosen[name] = reals(bound)
    return st.fixed_dictionaries(chosen)


# ---------------------------------------------------------------- cell files

#: Pieces of TOML and of equations, hostile ones among them, from which random
#: cell files are assembled: random text alone would rarely get past TOML.
CELL_FILE_TOKENS = (
    'name = "c"\n',
    'state = ["h"]\n',
    'state = ["h", "c"]\n',
    'inputs = ["x"]\n',
    'parameters = ["W", "U", "b"]\n',
    'gates = ["h"]\n',
    'target = "h"\n',
    'source = "h_prev"\n',
    "[equations]\n",
    "[latex]\n",
    'h = "',
    'c = "',
    '"\n',
    "'",
    '"""',
    "tanh(",
    "sigmoid(",
    "relu(",
    "exp(",
    "log(",
    "sqrt(",
    ")",
    "W*x",
    " + ",
    " - ",
    "*",
    "/",
    "**",
    "**8",
    "h_prev",
    "c_prev",
    "U*h_prev",
    "1e6",
    "1e-13",
    "0",
    "__import__('os')",
    ".system",
    "().__class__",
    "lambda: 1",
    "[",
    "]",
    "{",
    "}",
    ",",
    "=",
    "#",
    "\\",
    "\\u0041",
    "\n",
    " ",
    "\t",
    "\x00",
    "\u03c3",  # a Greek sigma: equations are ASCII
)


def cell_file_texts():
    """Random sequences of :data:`CELL_FILE_TOKENS`."""
    return st.lists(st.sampled_from(CELL_FILE_TOKENS), max_size=40).map("".join)


def mutated(texts):
    """One of ``texts`` with 1 to 4 random edits: a span deleted, a token or a
    random character inserted or substituted, a line duplicated or moved."""
    edit = st.tuples(
        st.sampled_from(("delete", "insert", "replace", "duplicate", "move")),
        st.floats(0, 1),
        st.floats(0, 1),
        st.one_of(st.sampled_from(CELL_FILE_TOKENS), st.characters(), st.text(max_size=5)),
    )
    return st.tuples(st.sampled_from(texts), st.lists(edit, min_size=1, max_size=4)).map(
        _apply_edits
    )


def _apply_edits(base_and_edits):
    text, edits = base_and_edits
    for kind, a, b, token in edits:
        i, j = sorted((int(a * len(text)), int(b * len(text))))
        j = min(j, i + 20)
        if kind == "delete":
            text = text[:i] + text[j:]
        elif kind == "insert":
            text = text[:i] + token + text[i:]
        elif kind == "replace":
            text = text[:i] + token + text[j:]
        else:
            lines = text.split("\n")
            k, m = int(a * (len(lines) - 1)), int(b * (len(lines) - 1))
            line = lines[k] if kind == "duplicate" else lines.pop(k)
            lines.insert(m, line)
            text = "\n".join(lines)
    return text


def equation_texts(names=("x", "W", "U", "b", "h_prev")):
    """Random well-formed equation text: names, small numbers, + - * /, powers up
    to the limit and beyond, calls of the eight functions, nested at random."""
    atoms = st.one_of(
        st.sampled_from(names),
        st.integers(0, 9).map(str),
        st.sampled_from(("0.5", "1e-3", "2.5e2")),
    )

    def grow(inner):
        return st.one_of(
            st.tuples(inner, st.sampled_from(("+", "-", "*", "/")), inner).map(
                lambda t: f"({t[0]} {t[1]} {t[2]})"
            ),
            st.tuples(inner, st.integers(-9, 9)).map(lambda t: f"{t[0]}**{t[1]}"),
            st.tuples(
                st.sampled_from(
                    ("sigmoid", "tanh", "relu", "softplus", "exp", "log", "sqrt", "abs")
                ),
                inner,
            ).map(lambda t: f"{t[0]}({t[1]})"),
            inner.map(lambda e: f"-{e}"),
        )

    return st.recursive(atoms, grow, max_leaves=12)
