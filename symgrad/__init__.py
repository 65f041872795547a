"""symgrad: derive and check the gradient flow of recurrent cells.

>>> import symgrad
>>> d = symgrad.derive("lstm")          # dc_t/dc_{t-1}, in gate form
>>> [t.name for t in d.terms]
['c_prev', 'f', 'i', 'c_hat']
>>> d.dominant.expr
f
"""

from .cells import Cell, CellError, get_cell, make_cell
from .cells import cells as cells
from .derive import Check, Derivation, StateJacobian, Term, derive


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
