"""The LSTM's dc_t/dc_{t-1} on 10^6 float64 points, three ways, side by side.

- symgrad: the kernel of ``derive("lstm").numeric()`` (generated once, gates
  computed once, stable in saturation, chunked over threads);
- torch autograd: the cell's forward pass on the batch and ``autograd.grad``
  of c_t with respect to c_{t-1} (forward and backward on the same batch);
- hand-written NumPy: the four terms typed out with 1/(1 + exp(-u)) and
  1 - f, as one would write them.

Bars (SPEC section 6): symgrad no slower than torch autograd and within
1.5x of hand-written NumPy. Runs alternate between the three so that machine
load affects all alike; medians are printed, with the machine's core count.

Usage: python benchmarks/kernel.py [runs] [points]
"""

import os
import statistics
import sys
import time

import numpy as np

from symgrad.cells import get_cell
from symgrad.derivation import derive
from symgrad.sampling import sample

SEED = 0


def hand_written(x, W_f, U_f, b_f, W_i, U_i, b_i, W_c, U_c, b_c, c_prev, o_prev):
    """dc_t/dc_{t-1} as a person would type it (SPEC section 2)."""
    tanh_c = np.tanh(c_prev)
    h_prev = o_prev * tanh_c
    f = 1 / (1 + np.exp(-(W_f * x + U_f * h_prev + b_f)))
    i = 1 / (1 + np.exp(-(W_i * x + U_i * h_prev + b_i)))
    c_hat = np.tanh(W_c * x + U_c * h_prev + b_c)
    carry = o_prev * (1 - tanh_c**2)
    return f + carry * (
        c_prev * f * (1 - f) * U_f + c_hat * i * (1 - i) * U_i + i * (1 - c_hat**2) * U_c
    )


def torch_autograd(torch, p):
    """Forward pass of c_t from c_{t-1} (h_{t-1} = o_{t-1} tanh c_{t-1}), then backward."""
    c_prev = p["c_prev"].detach().requires_grad_(True)
    h_prev = p["o_prev"] * torch.tanh(c_prev)
    f = torch.sigmoid(p["W_f"] * p["x"] + p["U_f"] * h_prev + p["b_f"])
    i = torch.sigmoid(p["W_i"] * p["x"] + p["U_i"] * h_prev + p["b_i"])
    c_hat = torch.tanh(p["W_c"] * p["x"] + p["U_c"] * h_prev + p["b_c"])
    c = f * c_prev + i * c_hat
    (grad,) = torch.autograd.grad(c.sum(), c_prev)
    return grad


def main(runs: int = 11, n: int = 10**6) -> None:
    d = derive("lstm")
    start = time.perf_counter()
    kernel = d.numeric()
    generated = time.perf_counter() - start
    points = sample(get_cell("lstm"), kernel.names, n, np.random.default_rng(SEED))

    contenders = {
        "symgrad kernel": lambda: kernel(**points)[0],
        "hand-written NumPy": lambda: hand_written(**points),
    }
    try:
        import torch
    except ImportError:
        torch = None
        print("torch is not installed: pip install 'symgrad[torch]' to compare with autograd")
    if torch is not None:
        batch = {k: torch.from_numpy(v) for k, v in points.items()}
        contenders["torch autograd"] = lambda: torch_autograd(torch, batch).numpy()

    results = {name: np.asarray(run()) for name, run in contenders.items()}  # warm up
    # Differences relative to the sum of the terms' magnitudes: where f_t and the
    # minor terms nearly cancel, the total itself has no relative accuracy to compare.
    scale = sum(np.abs(t) for t in kernel(**points)[1])
    reference = results["symgrad kernel"]
    times = {name: [] for name in contenders}
    for _ in range(runs):
        for name, run in contenders.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)

    print(f"LSTM dc_t/dc_(t-1) on {n:,} float64 points, seed {SEED}, {runs} alternating runs")
    print(
        f"machine: {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}"
        + (f"; torch {torch.__version__}, {torch.get_num_threads()} threads" if torch else "")
    )
    print(f"symgrad kernel generated once in {generated * 1000:.0f} ms (not timed below)")
    median = {name: statistics.median(ts) for name, ts in times.items()}
    for name, ts in times.items():
        spread = np.max(np.abs(results[name] - reference) / scale)
        print(
            f"  {name:<20} median {median[name] * 1000:7.1f} ms  (min {min(ts) * 1000:6.1f})"
            f"  max |difference| / sum|terms| {spread:.1e}"
        )
    hand = median["symgrad kernel"] / median["hand-written NumPy"]
    print(f"symgrad / hand-written NumPy: {hand:.2f}  (bar: <= 1.5)")
    if torch is not None:
        ratio = median["torch autograd"] / median["symgrad kernel"]
        print(f"torch autograd / symgrad:     {ratio:.2f}  (bar: >= 1)")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
