"""The full Lyapunov spectrum of an nn.LSTM's (c, h) state, two ways, side by side.

An nn.LSTM with n = 64 hidden units and m = 16 inputs (float64, torch's
default initialisation, seeded) runs T = 1,000 steps from c = h = 0 on fixed
seeded inputs x_t ~ N(0, 1); one sample. The state (c, h) has d = 2n = 128
dimensions and all 128 exponents are computed by QR re-orthonormalisation:

(a) torch: ``torch.autograd.functional.jacobian(step, s, vectorize=True)`` of
    the (c, h) -> (c', h') step, written with torch ops on the module's own
    tensors (checked equal to ``nn.LSTM``'s forward), then ``torch.linalg.qr``;
(b) NumPy (the baseline): the step's Jacobian written out analytically
    (:func:`lstm_step_jacobian`), then :func:`symgrad.lyapunov.spectrum`
    (``np.linalg.qr``) on weights read by :mod:`symgrad.weights`;
(c) symgrad: what ``symgrad flow --weights`` runs, the state Jacobian of the
    engine's matrix-form derivation (:func:`symgrad.network.network_spectrum`).

Both run on one thread (``threadpoolctl.threadpool_limits(1)`` and
``torch.set_num_threads(1)``; ``--threads 2`` shows what not pinning costs),
alternately when repeated, and must give the same
spectrum to 1e-8 (printed; exit 1 if not). ``--busy`` starts one other process
that keeps a core busy while timing, to see oversubscription. The SPEC's bar
(section 6): (c) at least 3x faster than (a) and within 1.5x of (b). Prints,
does not assert.

Usage: python benchmarks/lyapunov.py [--steps T] [--repeats R] [--busy] [--threads K]
Needs torch==2.13.0 and threadpoolctl. Default run: 20-35 s on 2 cores.
"""

import argparse
import functools
import os
import statistics
import subprocess
import sys
import time

import numpy as np

from symgrad.lyapunov import spectrum
from symgrad.weights import from_state_dict

HIDDEN, INPUTS, SEED = 64, 16, 0

#: The spectra of (a) and (b) must agree to this (natural log per step): both
#: are float64 with ~1e-16 relative error per step, averaged over T steps.
AGREE = 1e-8


# ---------------------------------------------------------------- (b) NumPy, by hand


def _sigmoid(u):
    # sigma(u) = (1 + tanh(u/2))/2: no exp to overflow at large |u|.
    return 0.5 * (1.0 + np.tanh(0.5 * u))


def lstm_step_jacobian(p, x, c, h):
    r"""One step of torch's LSTM and its exact (c, h) state Jacobian, by hand.

    ``p``: :attr:`symgrad.weights.Weights.params` of an ``lstm`` (W_g (n, m),
    U_g (n, n), b_g (n,)); ``x`` (N, m), ``c`` and ``h`` (N, n). Returns
    ``(c_t, h_t, J)`` with J (N, 2n, 2n), rows (c_t, h_t), columns (c_{t-1},
    h_{t-1}):

    .. math::

        \partial c_t/\partial c_{t-1} = \mathrm{diag}(f_t), \quad
        \partial c_t/\partial h_{t-1} = \mathrm{diag}(c_{t-1} f_t(1-f_t)) U_f
            + \mathrm{diag}(\hat c_t i_t(1-i_t)) U_i + \mathrm{diag}(i_t(1-\hat c_t^2)) U_c,

        \partial h_t/\partial s = \mathrm{diag}(o_t(1-\tanh^2 c_t))\,\partial c_t/\partial s
            + [0,\ \mathrm{diag}(\tanh c_t\, o_t(1-o_t)) U_o].
    """
    samples, n = h.shape

    def pre(g):
        return x @ p[f"W_{g}"].T + h @ p[f"U_{g}"].T + p[f"b_{g}"]

    f, i, o = _sigmoid(pre("f")), _sigmoid(pre("i")), _sigmoid(pre("o"))
    c_hat = np.tanh(pre("c"))
    c_t = f * c + i * c_hat
    tanh_c = np.tanh(c_t)
    h_t = o * tanh_c
    dc_dh = (
        (c * f * (1 - f))[:, :, None] * p["U_f"]
        + (c_hat * i * (1 - i))[:, :, None] * p["U_i"]
        + (i * (1 - c_hat * c_hat))[:, :, None] * p["U_c"]
    )
    carry = o * (1 - tanh_c * tanh_c)  # dh_t/dc_t
    jac = np.zeros((samples, 2 * n, 2 * n))
    diagonal = np.arange(n)
    jac[:, diagonal, diagonal] = f
    jac[:, :n, n:] = dc_dh
    jac[:, n + diagonal, diagonal] = carry * f
    jac[:, n:, n:] = (tanh_c * o * (1 - o))[:, :, None] * p["U_o"] + carry[:, :, None] * dc_dh
    return c_t, h_t, jac


def numpy_spectrum(weights, xs):
    """(b): the analytic Jacobians of every step, fed one at a time to spectrum()."""
    n = weights.hidden_size

    def jacobians():
        c = h = np.zeros((1, n))
        for x in xs:
            c, h, jac = lstm_step_jacobian(weights.params, x[None, :], c, h)
            yield jac

    return spectrum(jacobians(), 2 * n).exponents[0]


def symgrad_spectrum(weights, xs):
    """(c): symgrad's own kernel, as ``symgrad flow --weights`` runs it: the state
    Jacobian of the engine's matrix-form derivation, on the forward pass's values."""
    from symgrad.cells import get_cell
    from symgrad.network import network_spectrum

    cell = get_cell(weights.cell)
    return network_spectrum(cell, weights.params, {"x": xs[:, None, :]}).spectrum.exponents[0]


# ---------------------------------------------------------------- (a) torch autograd


def make_torch_step(torch, lstm):
    """The (c, h) -> (c', h') step of ``lstm`` as a function of s = (c, h) and x."""
    n = lstm.hidden_size
    w_ih, w_hh = lstm.weight_ih_l0.detach(), lstm.weight_hh_l0.detach()
    bias = (lstm.bias_ih_l0 + lstm.bias_hh_l0).detach()

    def step(s, x):
        c, h = s[:n], s[n:]
        gate_i, gate_f, gate_g, gate_o = (w_ih @ x + w_hh @ h + bias).split(n)  # torch's order
        c_t = torch.sigmoid(gate_f) * c + torch.sigmoid(gate_i) * torch.tanh(gate_g)
        return torch.cat([c_t, torch.sigmoid(gate_o) * torch.tanh(c_t)])

    return step


def torch_spectrum(torch, lstm, xs):
    """(a): autograd's Jacobian of every step, then torch.linalg.qr, sign-fixed."""
    step = make_torch_step(torch, lstm)
    d = 2 * lstm.hidden_size
    s = torch.zeros(d, dtype=torch.float64)
    q = torch.eye(d, dtype=torch.float64)
    total = torch.zeros(d, dtype=torch.float64)
    for x in torch.from_numpy(xs):
        jac = torch.autograd.functional.jacobian(functools.partial(step, x=x), s, vectorize=True)
        with torch.no_grad():
            s = step(s, x)
            q, r = torch.linalg.qr(jac @ q)
            diag = torch.diagonal(r)
            q = q * torch.where(diag < 0, -1.0, 1.0)
            total += torch.log(diag.abs())
    return np.sort((total / len(xs)).numpy())[::-1]


def check_step_is_nn_lstm(torch, lstm, xs):
    """Largest difference over 5 steps between make_torch_step and nn.LSTM's forward."""
    step = make_torch_step(torch, lstm)
    n = lstm.hidden_size
    s = torch.zeros(2 * n, dtype=torch.float64)
    hc = None
    worst = 0.0
    with torch.no_grad():
        for x in torch.from_numpy(xs[:5]):
            s = step(s, x)
            _, hc = lstm(x.view(1, 1, -1), hc)
            theirs = torch.cat([hc[1].view(-1), hc[0].view(-1)])
            worst = max(worst, float((s - theirs).abs().max()))
    return worst


# ---------------------------------------------------------------- the run

#: name -> label; main() runs each by name (symgrad's kernel will be a third).
METHODS = {
    "torch": "(a) torch autograd jacobian(vectorize=True) + torch.linalg.qr",
    "numpy": "(b) analytic NumPy Jacobian + np.linalg.qr (baseline)",
    "symgrad": "(c) symgrad flow --weights: the engine's derived Jacobian + QR",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=1000, help="T (default 1000)")
    parser.add_argument("--repeats", type=int, default=2, help="runs per method (median; 2)")
    parser.add_argument("--busy", action="store_true", help="keep one core busy meanwhile")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="BLAS and torch threads (default 1; 2 shows the cost of not pinning them)",
    )
    args = parser.parse_args()
    try:
        import torch
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError as err:
        print(f"needs torch and threadpoolctl ({err}): pip install torch==2.13.0 threadpoolctl")
        return 2

    torch.manual_seed(SEED)
    lstm = torch.nn.LSTM(INPUTS, HIDDEN, dtype=torch.float64)
    xs = np.random.default_rng(SEED).standard_normal((args.steps, INPUTS))
    state = {k: v.detach().numpy() for k, v in lstm.state_dict().items()}
    weights = from_state_dict(state)
    runs = {
        "torch": functools.partial(torch_spectrum, torch, lstm, xs),
        "numpy": functools.partial(numpy_spectrum, weights, xs),
        "symgrad": functools.partial(symgrad_spectrum, weights, xs),
    }

    print(
        f"Lyapunov spectrum of nn.LSTM({INPUTS}, {HIDDEN}), state (c, h), d = {2 * HIDDEN}, "
        f"all {2 * HIDDEN} exponents, T = {args.steps:,}, 1 sample, float64"
    )
    print(
        f"machine: {os.cpu_count()} cores; numpy {np.__version__}, torch {torch.__version__}; "
        f"{'one other process keeps a core busy' if args.busy else 'no extra load (--busy adds)'}"
    )
    busy = None
    if args.busy:
        busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        torch.set_num_threads(args.threads)
        with threadpool_limits(limits=args.threads):
            pools = sorted({f"{p['internal_api']} x{p['num_threads']}" for p in threadpool_info()})
            print(f"threads: torch {torch.get_num_threads()}, pools {', '.join(pools)}")
            numpy_spectrum(weights, xs[:5])  # warm up: first calls allocate and load
            torch_spectrum(torch, lstm, xs[:5])
            symgrad_spectrum(weights, xs[:5])  # and derives the cell once
            walls = {name: [] for name in runs}
            cpus = {name: [] for name in runs}
            spectra = {}
            for _ in range(args.repeats):
                for name, run in runs.items():
                    wall, cpu = time.perf_counter(), time.process_time()
                    spectra[name] = run()
                    walls[name].append(time.perf_counter() - wall)
                    cpus[name].append(time.process_time() - cpu)
    finally:
        if busy is not None:
            busy.terminate()
            busy.wait()

    per_step = {name: statistics.median(ts) / args.steps for name, ts in walls.items()}
    cpu_step = {name: statistics.median(ts) / args.steps for name, ts in cpus.items()}
    base, cpu_base = per_step["numpy"], cpu_step["numpy"]
    print()
    # Wall time is what a user waits; CPU time shows what other load on a shared
    # machine took from it. Both as ratios to the baseline (b).
    print(f"{'method':<64} {'ms/step':>8} {'ratio':>6} {'CPU ms':>7} {'ratio':>6}")
    for name, label in METHODS.items():
        print(
            f"{label:<64} {per_step[name] * 1e3:8.3f} {per_step[name] / base:6.2f} "
            f"{cpu_step[name] * 1e3:7.3f} {cpu_step[name] / cpu_base:6.2f}"
        )
    print(
        f"(a)/(c): {per_step['torch'] / per_step['symgrad']:.1f}x wall (bar: >= 3); "
        f"(c)/(b): {per_step['symgrad'] / base:.2f}x wall (bar: <= 1.5); "
        f"median of {args.repeats} run(s)"
    )

    gap = max(
        float(np.max(np.abs(spectra[name] - spectra["numpy"]))) for name in ("torch", "symgrad")
    )
    step_gap = check_step_is_nn_lstm(torch, lstm, xs)
    top = spectra["numpy"]
    print(
        f"spectra (a) vs (b): max |difference| {gap:.1e} (bar {AGREE:g}): "
        f"{'agree' if gap <= AGREE else 'DISAGREE'}; the torch step vs nn.LSTM's forward: "
        f"{step_gap:.1e}"
    )
    print(
        f"exponents (per step): largest {top[0]:.6f}, smallest {top[-1]:.6f}, sum {top.sum():.6f}"
    )
    return 0 if gap <= AGREE and step_gap <= AGREE else 1


if __name__ == "__main__":
    sys.exit(main())
