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
    from symgrad.derive import value_ranges

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
