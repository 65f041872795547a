"""NumPy kernels of derivations: vectorised, gate values computed once.

NumPy is imported here and only here among the symbolic layers, so that
``symgrad derive`` never pays for it.
"""

from __future__ import annotations

import numpy as np
import sympy

from .derive import Derivation, _compose

__all__ = ["make_numeric"]


def make_numeric(d: Derivation):
    """A function ``f(**arrays) -> (total, terms)`` evaluating ``d`` elementwise.

    Keyword arguments are :attr:`Derivation.free_names` (ASCII names), arrays or
    scalars that broadcast together; ``terms`` is a tuple in the order of
    ``d.terms``. Common subexpressions (each gate's pre-activation and value)
    are computed once and shared by all terms.
    """
    names = d.free_names
    symbols = [d.cell.symbol(n) for n in names]
    exprs = [_compose(d.cell, d.carry, t.expr) for t in d.terms]
    kernel = sympy.lambdify(symbols, exprs, modules="numpy", cse=True)

    def numeric(**arrays):
        missing = [n for n in names if n not in arrays]
        unknown = [n for n in arrays if n not in names]
        if missing or unknown:
            raise TypeError(
                f"numeric() of {d.cell.name} needs exactly {', '.join(names)}"
                + (f"; missing {', '.join(missing)}" if missing else "")
                + (f"; unknown {', '.join(unknown)}" if unknown else "")
            )
        args = np.broadcast_arrays(*(np.asarray(arrays[n], dtype=float) for n in names))
        terms = tuple(np.broadcast_to(v, args[0].shape) * 1.0 for v in kernel(*args))
        return sum(terms[1:], terms[0]), terms

    numeric.names = names
    return numeric
