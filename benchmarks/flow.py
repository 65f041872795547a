"""Figures of `symgrad flow` against its bars (issue 6). Prints, does not assert.

1. Memory does not grow with T: peak traced memory (tracemalloc, which sees
   NumPy's buffers) and peak RSS of run_flow("lstm") at T = 20,000 against
   T = 1,000, N = 1,000, each in a fresh interpreter. Bar: ratio <= 1.2.
2. Speed: every built-in cell, one-dimensional, T = 10,000, N = 1,000, in one
   process with the cells compiled (median of RUNS), and the whole command
   `symgrad flow all` from a cold start. Bar: under 10 s on 2 cores.
3. Against PyTorch autograd through an unrolled sequence: d h_T/d h_0 of an
   nn.LSTMCell of hidden size 1, T = 1,000, N = 1,000 as one batch (float64,
   forward and backward), against run_flow("lstm") at the same T and N (which
   draws parameters per sample and multiplies the full 2x2 state Jacobian).
   Bar: at least 5x faster. Also checks the two agree on the same weights.

Wall times on a shared machine are noisy: CPU times are printed beside them.
Usage: python benchmarks/flow.py [runs]
"""

import os
import statistics
import subprocess
import sys
import time

ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}

MEMORY = """
import resource, sys, tracemalloc
from symgrad.flow import run_flow
run_flow("lstm", steps=1, samples=1000)  # compile the cell: not part of the run's memory
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
tracemalloc.start()
run_flow("lstm", steps=int(sys.argv[1]), samples=1000)
peak = tracemalloc.get_traced_memory()[1]
print(peak, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, base)
"""

TORCH = """
import resource, sys, time
import numpy as np, torch
torch.set_num_threads(int(sys.argv[3]))
T, N = int(sys.argv[1]), int(sys.argv[2])
torch.manual_seed(0)
cell = torch.nn.LSTMCell(1, 1, dtype=torch.float64)
x = torch.randn(T, N, 1, dtype=torch.float64)

def grad():
    h0 = torch.zeros(N, 1, dtype=torch.float64, requires_grad=True)
    h, c = h0, torch.zeros(N, 1, dtype=torch.float64)
    for t in range(T):
        h, c = cell(x[t], (h, c))
    h.sum().backward()  # samples are independent: the sum's gradient is d h_T/d h_0 per sample
    return h0.grad[:, 0].numpy()

grad()  # warm up
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
times = []
for _ in range(int(sys.argv[4])):
    start = time.perf_counter()
    g = grad()
    times.append(time.perf_counter() - start)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
np.save(sys.argv[5], g)
w = {k: v.detach().numpy() for k, v in cell.named_parameters()}
np.savez(sys.argv[6], x=x[:, :, 0].numpy(), **w)
print(sorted(times)[len(times) // 2], peak, base)
"""


def python(code, *args):
    result = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        check=True,
        capture_output=True,
        text=True,
        env=ENV,
    )
    return result.stdout.split()


def memory():
    print("1. memory: run_flow('lstm', samples=1000), fresh interpreter per T")
    rows = {}
    for steps in (1_000, 20_000):
        traced, rss, base = map(int, python(MEMORY, steps))
        rows[steps] = (traced, rss, base)
        print(
            f"   T = {steps:>6,}: peak traced {traced / 2**20:6.2f} MiB, "
            f"peak RSS {rss / 1024:6.1f} MiB (before the run {base / 1024:6.1f} MiB)"
        )
    ratio = rows[20_000][0] / rows[1_000][0]
    rss_ratio = rows[20_000][1] / rows[1_000][1]
    print(f"   ratio T=20,000 / T=1,000: traced {ratio:.3f}, RSS {rss_ratio:.3f}  (bar: <= 1.2)")


def speed(runs):
    from symgrad.cells import BUILTIN
    from symgrad.flow import run_flow

    print("2. speed: all built-in cells, dim 1, T = 10,000, N = 1,000")
    for name in BUILTIN:
        run_flow(name, steps=1, samples=1_000)  # compile: derive, lambdify
    walls, cpus, per_cell = [], [], {n: [] for n in BUILTIN}
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        for name in BUILTIN:
            start = time.perf_counter()
            run_flow(name, steps=10_000, samples=1_000)
            per_cell[name].append(time.perf_counter() - start)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    for name, ts in per_cell.items():
        print(f"   {name:<15} median {statistics.median(ts):6.2f} s")
    print(
        f"   all cells, compiled: median wall {statistics.median(walls):.2f} s, "
        f"CPU {statistics.median(cpus):.2f} s ({runs} runs; bar: < 10 s)"
    )
    symgrad = os.path.join(os.path.dirname(sys.executable), "symgrad")
    cold = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([symgrad, "flow", "all"], check=True, stdout=subprocess.DEVNULL, env=ENV)
        cold.append(time.perf_counter() - start)
    print(
        "   `symgrad flow all` from a cold start (imports, derive, compile): "
        f"median {statistics.median(cold):.2f} s"
    )


def against_torch(runs):
    import resource
    import tempfile

    import numpy as np

    from symgrad.flow import run_flow, state_jacobian_product

    try:
        import torch  # noqa: F401
    except ImportError:
        print("3. PyTorch is not installed: skipped (pip install 'symgrad[torch]')")
        return
    steps, samples = 1_000, 1_000
    print(f"3. against PyTorch autograd: LSTM, hidden size 1, T = {steps:,}, N = {samples:,}")
    with tempfile.TemporaryDirectory() as tmp:
        grad_file, weights_file = f"{tmp}/grad.npy", f"{tmp}/weights.npz"
        torch_time, torch_peak, torch_base = map(
            float, python(TORCH, steps, samples, 1, runs, grad_file, weights_file)
        )
        torch_grad = np.load(grad_file)
        w = dict(np.load(weights_file))
    run_flow("lstm", steps=1, samples=samples)  # compile
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run_flow("lstm", steps=steps, samples=samples)
        times.append(time.perf_counter() - start)
    ours = statistics.median(times)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        f"   torch forward + backward (1 thread): median {torch_time:.3f} s, "
        f"peak RSS +{(torch_peak - torch_base) / 1024:.1f} MiB over its warm-up"
    )
    print(
        f"   symgrad run_flow (full 2x2 product, statistics): median {ours:.3f} s, "
        f"peak RSS +{max(peak - base, 0) / 1024:.1f} MiB over its warm-up"
    )
    print(f"   speed-up: {torch_time / ours:.1f}x  (bar: >= 5x)")
    # The same weights and inputs through state_jacobian_product: d h_T/d h_0.
    gates = {"i": 0, "f": 1, "c": 2, "o": 3}  # torch's row order: input, forget, cell, output
    params = {}
    for g, k in gates.items():
        params[f"W_{g}"] = np.full(samples, w["weight_ih"][k, 0])
        params[f"U_{g}"] = np.full(samples, w["weight_hh"][k, 0])
        params[f"b_{g}"] = np.full(samples, w["bias_ih"][k] + w["bias_hh"][k])
    log_scale, direction = state_jacobian_product("lstm", params, {"x": w["x"]})
    with np.errstate(divide="ignore"):
        # state (c, h): the entry d h_T/d h_0, compared in log space
        ours_log = log_scale + np.log(np.abs(direction[:, 1, 1]))
        torch_log = np.log(np.abs(torch_grad))
    both = np.isfinite(torch_log) & np.isfinite(ours_log)
    worst = float(np.max(np.abs(np.expm1(ours_log[both] - torch_log[both])))) if both.any() else 0.0
    underflow = np.mean((torch_grad == 0) & np.isfinite(ours_log))
    print(
        f"   agreement on torch's weights and inputs: largest relative difference of "
        f"d h_T/d h_0 {worst:.1e} over {both.sum()} samples; torch's gradient underflowed to 0 "
        f"in {100 * underflow:.1f}% (median log10 |d h_T/d h_0| = "
        f"{np.median(ours_log) / np.log(10):.1f})"
    )


def main(runs: int = 3) -> None:
    memory()
    speed(runs)
    against_torch(runs)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
