"""Every tolerance the tests use, with the reason for its size.

float64 has unit roundoff EPS = 2^-53 ~ 1.1e-16.
"""

EPS = 2.0**-53

#: A float64 value of a handful of operations (a library exp, tanh or cosh
#: within 1 ulp, a few roundings of EPS each) against its exact value or the
#: same operations in another order: at most ~9 EPS = 1e-15, relative, or
#: absolute where the values are of order one.
FEW_OPS = 1e-15
#: The same for a few dozen operations (a derivative kernel, the sum of its
#: terms, a hand computation of a dozen steps, a Student-t interval): ~90 EPS.
DOZENS_OPS = 1e-14

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
#: A ball that must hold the exact value of a 30-digit mpmath result of a few
#: operations (error below 1e-28 relative); the floor keeps a radius positive at 0.
MPMATH30_RADIUS_REL = 1e-27
RADIUS_FLOOR = 1e-300
#: mpmath at 50 digits: identities of a few operations, and mpmath.diff (which
#: raises its working precision for the quotient), agree to ~1e-50 absolute on
#: values of size <= 1 (measured 4e-51 over u in [-30, 30]); 1e-45 leaves 10^5.
DIGITS50 = 1e-45


def scale(point: dict) -> float:
    """The size of the unbounded factors a term can multiply: (1 + max |value|)^3."""
    return (1.0 + max(abs(float(v)) for v in point.values())) ** 3


#: symgrad's kernels against torch.autograd, both float64: each derivative is a
#: few dozen operations on either side (~1e-15 apart); 1e-12 is the issue's bar
#: and leaves a factor 1000 for torch's vectorised exp and tanh (a few ulp each).
TORCH_REL = 1e-12

#: A step's values against torch (symgrad's equations, or NumPy on torch's
#: weights): sums of parts of size O(1) (|h| < 1, |c| a few) carry ~EPS
#: absolute, not relative, error where the parts nearly cancel.
STEP_VALUE_ABS = 1e-14
#: A one-step Jacobian (n = 3) from the matrix-form program against
#: torch.autograd, both float64: entries of order one, each a few dozen
#: operations on either side (~1e-15); 1e-13 leaves 100x.
TORCH_JACOBIAN_ABS = 1e-13

#: The stable primitives sigmoid_pair and tanh_sech2: the worst error measured
#: is 5.2 ulp (tanh near |u| = 1/8, where 1 - e^{-2|u|} loses two bits).
PRIMITIVE_REL = 8 * EPS
#: sigmoid_pair alone within |u| <= 30: one exp (1 ulp), 1/(1 + e) and e g
#: (a rounding each): measured 3.0 EPS, under 4e-16 = 3.6 EPS.
SIGMOID_PAIR_REL = 4e-16
#: sech^2 u is subnormal beyond |u| ~ 355 (below 2.2e-308): spacing 4.9e-324,
#: so only an absolute error means anything there; 1e-320 is ~2,000 spacings.
SUBNORMAL_ABS = 1e-320

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
#: The four Richardson weights (rationals below 1.5 in size) rounded to
#: float64 sum to 1 within a few ulp each.
RICHARDSON_WEIGHTS_ABS = 16 * EPS

# ---------------------------------------------------------------- symgrad check's own tolerances

#: The largest tolerance `symgrad check` may allow itself: it must fail a term
#: off by 1e-3 (the planted error), so its tolerance sits 1000x below that.
CHECK_TOLERANCE_MAX = 1e-6
#: The complex step's tolerance is rounding only: 4 (safety) x ~30 operations x
#: condition (15 to 60) x EPS, at most 9e-13 on the LSTM; above 1e-11 it would
#: allow more than rounding.
COMPLEX_STEP_TOLERANCE_MAX = 1e-11
#: What the complex step achieves on the LSTM: rounding of ~30 operations,
#: measured ~10 EPS.
COMPLEX_STEP_ERROR_MAX = 100 * EPS
#: An exactly zero derivative gets no finite-difference allowance (|f|/|f'| is
#: infinite there), only the symbolic side's rounding (measured 3e-14).
EXACT_ZERO_TOLERANCE_MAX = 1e-12

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
#: The width a certified interval reaches at the default setting
#: (symgrad.defaults.BOUND_TOLERANCE), unless its float64 ends are already
#: neighbours: two spacings (2 x 2^-52 relative) around a sup that is no float.
BOUND_WIDTH = 1e-9
FLOAT64_ENDS_REL = 4 * EPS
#: A closed form typed by hand, evaluated in float64 against a certified end:
#: a few roundings of values up to ~200 here, ~1e-13; 1e-12 leaves 10x.
HAND_FORMULA_ABS = 1e-12

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
#: relative) against the engine's 30-digit value, or two float64 routes to the
#: same derivative or product (flow's log-scale product and the one-step
#: kernels, matrix form at n = 1 and scalar form, two kernel compilers):
#: 1e-12 leaves a factor 1000; absolute where values are of order one.
FLOAT64_DERIVATIVE_REL = 1e-12
#: An exponent (the mean of T <= 5,000 float64 log-steps of size < 1), a short
#: run's log10 quantiles (t <= a few hundred, |q| a few tens) or their gap,
#: computed two ways or against the exact value: the running sum errs by at
#: most T EPS relative, ~4e-13 at T = 5,000.
LOG_GROWTH_ABS = 1e-12
#: log10 of a product of t <= 5,000 Jacobians, accumulated as a float64 sum:
#: at most t EPS relative of |log10| <= 1,505, ~8e-10.
LOG_PRODUCT_ABS = 1e-9
#: Householder QR in float64 (LAPACK): Q is orthogonal, and column j depends
#: only on columns 1..j, each up to ~n EPS ~ 1e-15; 1e-12 leaves 1000x.
HOUSEHOLDER_ABS = 1e-12
#: Lyapunov spectra, ours against torch's: two float64 QR runs on the same
#: Jacobians; each log|R_jj| carries ~1e-15 relative error and its mean over T
#: steps no more; 1e-8 is the issue's bar, far above what is reached (~1e-13).
TORCH_SPECTRUM_ABS = 1e-8

# ---------------------------------------------------------------- Monte Carlo

#: The exact one-step derivative against the article's one-step product: two
#: float64 routes (~1e-15 each), the largest relative gap over 2,000 samples,
#: where |exact| can be small. Measured 6e-15: looser than this needs.
ONE_STEP_GAP_REL = 1e-10
#: The library's finite-difference check of the exact T-step product (h = 1e-5,
#: T <= 10): truncation and rounding balance near 1e-10, measured 2e-8; 1e-6
#: is symgrad.montecarlo.FD_TOLERANCE, four orders for the third derivative.
FD_TRAJECTORY_REL = 1e-6

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

# ---------------------------------------------------------------- printed numbers


def last_place(decimals: int) -> float:
    """One unit in the last place of a number printed with ``decimals`` decimals.

    A number rounded to that many decimals is within half of it of the value it
    stands for (a constant typed from the article or from a printout); a printed
    number against an independent computation of the value is allowed a whole
    unit (the rounding, and the other side's error at a rounding boundary).
    """
    return 10.0**-decimals


#: Golden outputs on another CPU, whose exp and tanh round differently in the
#: last bit: a full-precision float (JSON, repr) may differ in its last ~8 of
#: 17 digits. An optimiser's result is fixed only to its stopping rule:
#: L-BFGS-B (SciPy's default) stops once a step improves f by less than
#: ftol = 1e7 eps = 2.2e-9 relative, and two runs whose paths part at a
#: rounding difference stop within a few such steps of each other: 4 ftol ...
GOLDEN_FLOAT_REL = 4 * 1e7 * 2.0**-52
#: ... and a rounding-level residual (complex-step residuals ~1e-16, central
#: differences' ~1e-8 = EPS/h) may differ in any digit below this.
GOLDEN_RESIDUAL = 1e-6

# ---------------------------------------------------------------- typesetting (points)

#: The issue's bar: an estimate may exceed TeX's width by 5% + 2pt, and fall
#: short of it by at most 0.5pt (a line judged to fit must fit).
UNDER_TEX_PT = 0.5
OVER_TEX_REL = 1.05
OVER_TEX_PT = 2.0
#: What the estimate achieves (pdfTeX 1.40.24, TeX Live 2022): the table keeps
#: 6 decimals of a point per glyph and TeX rounds every step to 1sp (1.5e-5pt),
#: which over the few hundred boxes of the widest formula stays below 0.01pt.
MEASURED_PT = 0.01
#: The issue's bar for a line that fits ("no Overfull \hbox over 1pt"); TeX
#: itself reports overfull boxes from \hfuzz = 0.1pt.
OVERFULL_PT = 1.0

# ---------------------------------------------------------------- n-D claims

#: Central differences of an n-D step in float64 with h = 1e-6: rounding ~EPS |f|/h
#: ~ 1e-10 and truncation ~h^2 |f'''|, |f'''| up to |U|^3 ~ 1e6 where |U| ~ 100:
#: ~1e-6 absolute on entries of size up to ~200; 1e-5 relative to 1 + |J| leaves 10x.
ND_FD_STEP = 1e-6
ND_FD_REL = 1e-5
#: A norm computed in float64 (an SVD: a few ulp of the largest singular value).
ND_NORM_REL = 1e-12
