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
