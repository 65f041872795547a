"""symgrad: derive and check the gradient flow of recurrent cells.

>>> import symgrad
>>> d = symgrad.derive("lstm")          # dc_t/dc_{t-1}, in gate form
>>> [t.name for t in d.terms]
['c_prev', 'f', 'i', 'c_hat']
>>> d.dominant.expr
f
"""

from . import derive as _engine
from .cells import Cell, CellError, get_cell, make_cell
from .cells import cells as cells
from .derive import Check, Derivation, StateJacobian, Term


def derive(cell, wrt=None, of=None, vector=False):
    """A cell's derivative in gate form: :func:`symgrad.derive.derive` (one
    dimension), or with ``vector=True`` :func:`symgrad.vector.derive_vector`
    (hidden size n, matrix form: diag(.), weight matrices, elementwise products).
    ``wrt``: a previous state (default: the cell's), ``"state"`` for the state
    Jacobian, or a parameter; ``of``: the value differentiated."""
    if vector:
        from .vector import derive_vector  # the matrix-form engine, on first use

        return derive_vector(cell, wrt=wrt, of=of)
    return _engine.derive(cell, wrt=wrt, of=of)


def __getattr__(name):
    # The version comes from the installed metadata, read on first use:
    # importlib.metadata costs ~25 ms, a sixth of derive's start-up budget.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("symgrad")
        except PackageNotFoundError:  # a source tree that was never installed
            return "0+unknown"
    raise AttributeError(f"module 'symgrad' has no attribute {name!r}")


__all__ = [
    "Cell",
    "CellError",
    "Check",
    "Derivation",
    "StateJacobian",
    "Term",
    "__version__",
    "cells",
    "derive",
    "get_cell",
    "make_cell",
]
