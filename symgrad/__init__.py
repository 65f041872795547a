"""symgrad: derive and check the gradient flow of recurrent cells.

>>> import symgrad
>>> d = symgrad.derive("lstm")          # dc_t/dc_{t-1}, in gate form
>>> [t.name for t in d.terms]
['c_prev', 'f', 'i', 'c_hat']
>>> d.dominant.expr
f

Importing the package imports nothing else: its names load on first use, so
the command line's own error handling (a Ctrl-C while SymPy loads is exit 130,
not a traceback) covers every import but Python's.
"""

import importlib

#: Each public name and the module that defines it.
_HOMES = {
    "Cell": "cells",
    "CellError": "cells",
    "builtin_cells": "cells",
    "get_cell": "cells",
    "make_cell": "cells",
    "Check": "derivation",
    "Derivation": "derivation",
    "StateJacobian": "derivation",
    "Term": "derivation",
}


def derive(cell, wrt=None, of=None, vector=False):
    """A cell's derivative in gate form: :func:`symgrad.derivation.derive` (one
    dimension), or with ``vector=True`` :func:`symgrad.vector.derive_vector`
    (hidden size n, matrix form: diag(.), weight matrices, elementwise products).
    ``wrt``: a previous state (default: the cell's), ``"state"`` for the state
    Jacobian, or a parameter; ``of``: the value differentiated."""
    if vector:
        from .vector import derive_vector

        return derive_vector(cell, wrt=wrt, of=of)
    from .derivation import derive as derive_scalar

    return derive_scalar(cell, wrt=wrt, of=of)


def __getattr__(name):
    if name in _HOMES:
        value = getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)
        globals()[name] = value
        return value
    # The version comes from the installed metadata, read on first use:
    # importlib.metadata costs ~25 ms, a sixth of derive's start-up budget.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("symgrad")
        except PackageNotFoundError:  # a source tree that was never installed
            return "0+unknown"
    raise AttributeError(f"module 'symgrad' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)


__all__ = ["__version__", "derive", *_HOMES]
