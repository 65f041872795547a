"""Every default setting, in one table: the command line and the library read it.

The standard library only, so that building the command-line parser costs
nothing (NumPy is imported by the commands that draw numbers).
"""

from __future__ import annotations

__all__ = [
    "BOUND_TOLERANCE",
    "CHECK_SAMPLES",
    "CHECK_SEED",
    "CLAIM_SAMPLES",
    "CLAIM_SEED",
    "FLOW_MINUTES",
    "FLOW_SAMPLES_1D",
    "FLOW_SAMPLES_ND",
    "FLOW_SEED",
    "FLOW_STEPS",
    "INITS",
    "LONG_HORIZON_SAMPLES",
    "LONG_HORIZON_STEPS",
    "MAX_CHECK_SAMPLES",
    "MAX_CLAIM_SAMPLES",
    "MAX_DIM",
    "MAX_FLOW_SAMPLES",
    "MAX_STEPS",
    "MEMORY_BUDGET",
]

#: Weight initialisations: name -> one-line description (prose with $math$).
INITS = {
    "normal": "weights, biases, inputs $\\sim N(0, 1)$",
    "xavier": "weights $\\sim N(0, 2/(n_{in} + n_{out}))$ (Glorot), biases 0, "
    "inputs $\\sim N(0, 1)$",
    "orthogonal": "recurrent weights orthogonal ($\\pm 1$ in one dimension), input weights "
    "Glorot, biases 0, inputs $\\sim N(0, 1)$",
}

#: ``symgrad check``: random points and their seed.
CHECK_SAMPLES = 200
CHECK_SEED = 0

#: ``symgrad verify``/``prove``: Monte Carlo points per cell for the one-step
#: claims, and the seed of every draw (the article's date).
CLAIM_SAMPLES = 100_000
CLAIM_SEED = 20201113
#: The long-horizon claim: steps and trajectories per cell.
LONG_HORIZON_STEPS = 10_000
LONG_HORIZON_SAMPLES = 200

#: ``symgrad flow``/``compare``: steps, samples (one-dimensional cells, and
#: hidden size n > 1, where every step multiplies a (2n x 2n) matrix per
#: sample) and seed.
FLOW_STEPS = 10_000
FLOW_SAMPLES_1D = 1_000
FLOW_SAMPLES_ND = 100
FLOW_SEED = 0
#: Largest hidden size accepted (a 512 x 512 product per sample per step is already slow).
MAX_DIM = 512

#: Budgets, checked before work starts: the most points ``check`` evaluates
#: (a few kilobytes each), Monte Carlo points per cell ``verify`` keeps in
#: memory (~0.3 kB each), trajectories and steps of a run.
MAX_CHECK_SAMPLES = 1_000_000
MAX_CLAIM_SAMPLES = 2_000_000
MAX_FLOW_SAMPLES = 1_000_000
MAX_STEPS = 10_000_000
#: Bounds on an equation written out in full (``expand``, which the engine's
#: self-check does), the values it reads substituted: (x + y)**8 is 9 terms of
#: degree 8; nested powers multiply. A cell file may raise them
#: (``--max-terms``, ``--max-degree``; :func:`symgrad.expr.growth_limits`).
MAX_TERMS = 5_000
MAX_DEGREE = 64
#: Longest number on the command line, in characters: float64 carries 17
#: significant digits, and a longer string only costs big-integer arithmetic.
MAX_NUMBER_CHARS = 100

#: What a flow run may take, estimated before it starts (:func:`symgrad.flow.estimate`):
#: memory (every sample's state Jacobians and tangents live at once) and time.
MEMORY_BUDGET = 2 * 2**30
FLOW_MINUTES = 30

#: ``symgrad bound``: largest width of a certified interval (relative to the
#: supremum where it exceeds 1).
BOUND_TOLERANCE = 1e-9
