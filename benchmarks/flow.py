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

# Peak RSS of one run of each method in a fresh interpreter, over its RSS just
# before the run: Linux resets the high-water mark VmHWM when "5" is written
# to /proc/self/clear_refs, so import-time peaks do not hide the run's own.
PEAK = """
import sys
import numpy as np

def status(key):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(key + ":"))

T, N = int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(0)
if sys.argv[1] == "torch":
    import torch
    torch.set_num_threads(1)
    cell = torch.nn.LSTMCell(1, 1, dtype=torch.float64)
    x = torch.randn(T, N, 1, dtype=torch.float64)

    def run():
        h0 = torch.zeros(N, 1, dtype=torch.float64, requires_grad=True)
        h, c = h0, torch.zeros(N, 1, dtype=torch.float64)
        for t in range(T):
            h, c = cell(x[t], (h, c))
        h.sum().backward()
else:
    from symgrad.cells import get_cell
    from symgrad.flow import run_flow
    from symgrad.sampling import sample
    from symgrad.trajectory import state_jacobian_product
    cell = get_cell("lstm")
    params = sample(cell, cell.params, N, rng)
    x = {"x": rng.standard_normal((T, N))}
    state_jacobian_product(cell, params, {"x": x["x"][:1]})  # compile (derive, lambdify)
    run_flow("lstm", steps=1, samples=N)
    if sys.argv[1] == "product":
        def run():
            state_jacobian_product(cell, params, x)
    else:
        def run():
            run_flow("lstm", steps=T, samples=N)
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
base = status("VmRSS")
run()
print(status("VmHWM") - base)
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


def _torch_gradient(torch, cell, x):
    """d h_T/d h_0 per sample through torch's autograd of the unrolled sequence."""
    steps, samples = x.shape[:2]
    h0 = torch.zeros(samples, 1, dtype=torch.float64, requires_grad=True)
    h, c = h0, torch.zeros(samples, 1, dtype=torch.float64)
    for t in range(steps):
        h, c = cell(x[t], (h, c))
    h.sum().backward()  # samples are independent: the sum's gradient is d h_T/d h_0 per sample
    return h0.grad[:, 0].numpy()


def _symgrad_params(cell, samples):
    """torch's LSTMCell weights as symgrad's lstm parameters (one set for all samples)."""
    import numpy as np

    w = {k: v.detach().numpy() for k, v in cell.named_parameters()}
    params = {}
    for g, k in {"i": 0, "f": 1, "c": 2, "o": 3}.items():  # torch's row order: i, f, g, o
        params[f"W_{g}"] = np.full(samples, w["weight_ih"][k, 0])
        params[f"U_{g}"] = np.full(samples, w["weight_hh"][k, 0])
        params[f"b_{g}"] = np.full(samples, w["bias_ih"][k] + w["bias_hh"][k])
    return params


def against_torch(runs):
    import numpy as np

    from symgrad.flow import run_flow
    from symgrad.trajectory import state_jacobian_product

    try:
        import torch
    except ImportError:
        print("3. PyTorch is not installed: skipped (pip install 'symgrad[torch]')")
        return
    torch.set_num_threads(1)  # symgrad runs on one core too
    steps, samples = 1_000, 1_000
    print(f"3. against PyTorch autograd: LSTM, hidden size 1, T = {steps:,}, N = {samples:,}")
    torch.manual_seed(0)
    cell = torch.nn.LSTMCell(1, 1, dtype=torch.float64)
    x = torch.randn(steps, samples, 1, dtype=torch.float64)
    params = _symgrad_params(cell, samples)
    inputs = {"x": x[:, :, 0].numpy()}
    _torch_gradient(torch, cell, x[:10])
    state_jacobian_product("lstm", params, {"x": inputs["x"][:10]})
    run_flow("lstm", steps=10, samples=samples)
    # Interleaved, so that the machine's load falls on all three alike.
    times = {"torch": [], "product": [], "flow": []}
    for _ in range(runs):
        for name, fn in (
            ("torch", lambda: _torch_gradient(torch, cell, x)),
            ("product", lambda: state_jacobian_product("lstm", params, inputs)),
            ("flow", lambda: run_flow("lstm", steps=steps, samples=samples)),
        ):
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    med = {k: statistics.median(v) for k, v in times.items()}
    peak = {k: int(python(PEAK, k, steps, samples)[0]) for k in ("torch", "product", "flow")}
    print(
        f"   torch forward + backward (1 thread):         median {med['torch']:.3f} s, "
        f"peak RSS +{peak['torch'] / 1024:.1f} MiB"
    )
    print(
        f"   symgrad state_jacobian_product (same weights, full 2x2 d s_T/d s_0): median "
        f"{med['product']:.3f} s, peak RSS +{peak['product'] / 1024:.1f} MiB"
    )
    print(
        f"   symgrad run_flow (own draws per sample, quantiles, article product): median "
        f"{med['flow']:.3f} s, peak RSS +{peak['flow'] / 1024:.1f} MiB"
    )
    print(
        f"   speed-up over torch: {med['torch'] / med['product']:.1f}x (product), "
        f"{med['torch'] / med['flow']:.1f}x (run_flow)  (bar: >= 5x; {runs} interleaved runs)"
    )
    # Agreement: the same weights and inputs, d h_T/d h_0 = entry (h, h) of the
    # (c, h) product. At T = 1,000 torch's float64 gradient underflows to 0.
    log_scale, direction = state_jacobian_product("lstm", params, inputs)
    with np.errstate(divide="ignore"):
        ours_log = log_scale + np.log(np.abs(direction[:, 1, 1]))
    torch_grad = _torch_gradient(torch, cell, x)
    underflow = float(np.mean((torch_grad == 0) & np.isfinite(ours_log)))
    short = 100
    ls, d = state_jacobian_product("lstm", params, {"x": inputs["x"][:short]})
    ours = np.exp(ls) * d[:, 1, 1]
    theirs = _torch_gradient(torch, cell, x[:short])
    worst = float(np.max(np.abs(ours - theirs) / np.maximum(np.abs(theirs), 1e-300)))
    print(
        f"   agreement: at T = {short}, largest relative difference of d h_T/d h_0 "
        f"{worst:.1e}; at T = {steps:,} torch's gradient is 0.0 (underflow) in "
        f"{100 * underflow:.0f}% of samples, symgrad's median is "
        f"10^{np.median(ours_log) / np.log(10):.0f}"
    )


def main(runs: int = 3) -> None:
    memory()
    speed(runs)
    against_torch(runs)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
