"""Every tolerance the tests use, with the reason for its size.

float64 has unit roundoff EPS = 2^-53 ~ 1.1e-16.
"""

EPS = 2.0**-53

#: A gate-form term is a product of at most ~8 factors, each computed with a
#: few ulp of relative error, except complements (1 - f_t, 1 - c_hat^2) whose
#: error is absolute (~EPS) when the gate saturates; so the error is at most
#: ~32 EPS relative plus ~32 EPS times the size of the unbounded factors
#: (at most three of them: U_h U_r h_{t-1} in the GRU): see ``scale``.
FLOAT64_TERM_REL = 32 * EPS
FLOAT64_TERM_ABS = 32 * EPS

#: SymPy's evalf at 30 digits against mpmath at 30 digits: both exact to
#: ~1e-30 relative; 1e-25 leaves room for cancellation in sums.
DIGITS30 = 1e-25


def scale(point: dict) -> float:
    """The size of the unbounded factors a term can multiply: (1 + max |value|)^3."""
    return (1.0 + max(abs(float(v)) for v in point.values())) ** 3
