"""How many threads symgrad's numeric work uses, set once for BLAS and for symgrad.

symgrad's numbers come in batches of small pieces: thousands of samples of
an n x n product (n <= 512), chunks of 8,192 points of a kernel. BLAS's own
threads help little there and, beside symgrad's chunk threads or another
process, oversubscribe the cores: on 2 shared cores an n = 64 Lyapunov run
was 27 times slower with OpenBLAS's default threads than with one. So BLAS
runs single-threaded inside :func:`numeric_threads` and symgrad's own pool
takes the cores the process may use (its CPU affinity, not the machine's
count), at most :data:`MAX_WORKERS`.
"""

from __future__ import annotations

import contextlib
import os

__all__ = ["MAX_WORKERS", "numeric_threads", "workers"]

#: symgrad's own threads at most: the kernels are memory-bound beyond this.
MAX_WORKERS = 8


def workers() -> int:
    """Threads symgrad's own pool may use: the cores this process may run on."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_WORKERS))


@contextlib.contextmanager
def numeric_threads():
    """BLAS (and OpenMP) limited to one thread for the duration: symgrad
    parallelises over samples and chunks itself (:func:`workers`)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield
