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


#: symgrad's kernels against torch.autograd, both float64: each derivative is a
#: few dozen operations on either side (~1e-15 apart); 1e-12 is the issue's bar
#: and leaves a factor 1000 for torch's vectorised exp and tanh (a few ulp each).
TORCH_REL = 1e-12

#: A step's values against torch: sums of parts of size O(1) (|h| < 1, |c| a few)
#: carry ~EPS absolute, not relative, error where the parts nearly cancel.
STEP_VALUE_ABS = 1e-14

#: The stable primitives sigmoid_pair and tanh_sech2: the worst error measured
#: is 5.2 ulp (tanh near |u| = 1/8, where 1 - e^{-2|u|} loses two bits).
PRIMITIVE_REL = 8 * EPS

#: A product of gates (no sum inside) from the kernel against 60 digits, at
#: saturated points: up to ~8 factors of a few ulp each, and the relative
#: condition 2|u| <= 60 of sech^2 u on the pre-activation's rounding.
SATURATED_PRODUCT_REL = 1e-13

#: The complex step of one library function (sin, sigma) against its closed-form
#: derivative: a few ulp on either side.
COMPLEX_STEP_REL = 16 * EPS

#: Central differences of y^7 at |y| <= 2 with Richardson extrapolation: exact
#: but for rounding, 13.5 (the extrapolation's amplification) x EPS x |y^7| / H
#: with H = 2^-6 max(1, |y|): ~3e-12 at |y| = 2.
RICHARDSON_POLY_ABS = 1e-11

#: sigmoid_pair returns sigma(u) = 0 below u = -709, where the exact value is
#: under sigma(-709) = 1.2e-308 (subnormal: its relative error means nothing).
SIGMOID_FLUSH = 1.3e-308

# ---------------------------------------------------------------- bounds

#: The SciPy optimum of a bound against its certified [lo, hi]: float64
#: evaluation of a few dozen operations errs by ~1e-15 relative and the polish
#: stops ~1e-16 below the peak; 1e-12 leaves a margin of a thousand.
SCIPY_OPTIMUM_REL = 1e-12

#: A maximiser found by SciPy against the exact one: near a smooth maximum the
#: value is flat to second order, so float64 (~1e-16) pins the point only to
#: ~sqrt(1e-16) = 1e-8 relative; 1e-7 leaves a factor ten.
ARGMAX_ABS = 1e-7

# ---------------------------------------------------------------- flow

#: float64 product of T <= 50 Jacobians against a 40-digit oracle: each step
#: rounds a few times (~1e-16 relative), the norm of d s_T/d s_0 is the scale.
PRODUCT_TOLERANCE = 1e-11
#: Central differences in float64 with h = 1e-6: truncation ~h^2 |f'''| ~ 1e-12,
#: rounding ~eps/h ~ 1e-10, for entries of order one.
FD64_TOLERANCE = 1e-7
FD64_STEP = 1e-6
#: Central differences at D digits with h = 10^(-D/3): rounding 10^-D/h and
#: truncation h^2 (times derivatives of the gradient's own size 10^m) are both
#: ~10^(-2D/3); D = 30 + 2 (13 - m) keeps them below 10^(m - 13). A 50-step
#: gradient may be as small as 10^-90, so D is chosen per sample from m.
FD_RELATIVE = 13

#: A float64 evaluation of a derivative (a few dozen operations, ~1e-15
#: relative) against the engine's 30-digit value: 1e-12 leaves a factor 1000.
FLOAT64_VS_EXACT_REL = 1e-12

# ---------------------------------------------------------------- vector (matrix form)

#: The matrix-form kernels at n = m = 1 against the scalar kernels: the same
#: gate-form factors (stable complements on both sides) multiplied and summed
#: in another order, a few ulp per factor, relative to 1 + |value|.
VECTOR_N1_REL = 64 * EPS
#: Central differences in float64 of the n-dimensional forward pass, h = 1e-6:
#: truncation ~h^2 |f'''| ~ 1e-12, rounding ~EPS |f| / h ~ 1e-10 per entry, with
#: |f| a few at most; relative to 1 + max |J|, 1e-7 leaves 1000x.
VECTOR_FD_REL = 1e-7
VECTOR_FD_STEP = 1e-6

# ---------------------------------------------------------------- n-D claims

#: Central differences of an n-D step in float64 with h = 1e-6: rounding ~EPS |f|/h
#: ~ 1e-10 and truncation ~h^2 |f'''|, |f'''| up to |U|^3 ~ 1e6 where |U| ~ 100:
#: ~1e-6 absolute on entries of size up to ~200; 1e-5 relative to 1 + |J| leaves 10x.
ND_FD_STEP = 1e-6
ND_FD_REL = 1e-5
#: A norm computed in float64 (an SVD: a few ulp of the largest singular value).
ND_NORM_REL = 1e-12
