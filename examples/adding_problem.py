"""Train an nn.LSTM on the adding problem, save it, and compare its Lyapunov spectra.

The adding problem (Hochreiter & Schmidhuber 1997): each sequence is T pairs
(value, marker), values ~ U(0, 1), the marker 1 at two positions (one in each
half) and 0 elsewhere; the target is the sum of the two marked values. Always
answering 1 scores MSE Var(u_1 + u_2) = 2/12 = 0.167, the trivial baseline;
beating it means the network carried a value across up to T steps.

This script trains a one-layer nn.LSTM (hidden size 32) with a linear read-out
for about 10 s on one CPU thread (seeded), prints the loss sparsely and the test
MSE against the baseline, and saves the model's state_dict before and after
training to ``--out`` as ``initial.pt``, ``trained.pt`` and ``.safetensors``
copies. Then it reads them back with ``symgrad.weights.load_weights`` and
computes the full Lyapunov spectrum of the LSTM's (c, h) state on adding-problem
inputs with ``symgrad.lyapunov.spectrum`` (and plots it if matplotlib is
installed): the exponents say how fast gradients vanish through the network,
before and after it learned to carry information.

    python examples/adding_problem.py --out /tmp/adding      # ~15 s on 2 cores
    python examples/adding_problem.py --tiny --out /tmp/a    # a few seconds (CI)
    symgrad flow --weights /tmp/adding/trained.pt            # (once wired: issue 15)

Needs torch (``pip install torch==2.13.0 safetensors``); matplotlib is optional.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from symgrad.lyapunov import spectrum
from symgrad.weights import load_weights

BASELINE_MSE = 2 / 12  # Var(u_1 + u_2), u ~ U(0, 1): answering the mean, 1, every time

#: (sequence length T, training steps, batch, Lyapunov steps, Lyapunov samples)
SIZES = {"full": (50, 1200, 64, 500, 8), "tiny": (10, 150, 32, 60, 2)}


def adding_batch(rng, batch, length):
    """``batch`` adding-problem sequences: inputs (batch, T, 2) float32 and targets (batch,)."""
    values = rng.random((batch, length))
    markers = np.zeros((batch, length))
    rows = np.arange(batch)
    markers[rows, rng.integers(0, length // 2, batch)] = 1.0
    markers[rows, rng.integers(length // 2, length, batch)] = 1.0
    inputs = np.stack([values, markers], axis=-1).astype(np.float32)
    return inputs, (values * markers).sum(axis=1).astype(np.float32)


def make_model(torch, hidden):
    class AddingModel(torch.nn.Module):
        """nn.LSTM(2, hidden) and a linear read-out of the last hidden state."""

        def __init__(self):
            super().__init__()
            self.lstm = torch.nn.LSTM(2, hidden, batch_first=True)
            self.head = torch.nn.Linear(hidden, 1)

        def forward(self, x):
            out, _ = self.lstm(x)
            return self.head(out[:, -1]).squeeze(-1)

    return AddingModel()


def train(torch, model, rng, length, steps, batch, test):
    """Adam on fresh batches; prints the loss every tenth of the run; returns test MSE."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    x_test, y_test = (torch.from_numpy(a) for a in test)
    start = time.perf_counter()
    print(f"training: T = {length}, {steps} steps of batch {batch}, Adam lr 1e-2")
    for step in range(steps + 1):
        x, y = (torch.from_numpy(a) for a in adding_batch(rng, batch, length))
        loss = torch.mean((model(x) - y) ** 2)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % max(1, steps // 10) == 0:
            elapsed = time.perf_counter() - start
            print(f"  step {step:5d}  batch MSE {loss.item():.4f}  ({elapsed:.1f} s)")
    with torch.no_grad():
        return torch.mean((model(x_test) - y_test) ** 2).item()


def save(torch, model, out, name):
    """state_dict as ``name.pt`` and, if safetensors is installed, ``name.safetensors``."""
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    torch.save(state, out / f"{name}.pt")
    try:
        from safetensors.torch import save_file
    except ImportError:
        print(f"  safetensors is not installed: {name}.safetensors skipped")
        return
    save_file(state, str(out / f"{name}.safetensors"))


# ---------------------------------------------------------------- Lyapunov spectra
#
# To be replaced by `symgrad flow --weights FILE` (issue 15) once it is wired:
# the Jacobian below is written by hand only so that the example runs before.


def _sigmoid(u):
    return 0.5 * (1.0 + np.tanh(0.5 * u))  # sigma(u) = (1 + tanh(u/2))/2: nothing overflows


def lstm_state_jacobians(p, inputs):
    r"""Per step, the (c, h) state Jacobians of torch's LSTM, written out by hand.

    ``p``: ``Weights.params`` of an ``lstm``; ``inputs`` (N, T, m). Yields, per
    step, (N, 2n, 2n) with rows (c_t, h_t) and columns (c_{t-1}, h_{t-1}):
    dc_t/dc_{t-1} = diag(f_t); dc_t/dh_{t-1} = diag(c_{t-1} f_t(1 - f_t)) U_f
    + diag(\hat c_t i_t(1 - i_t)) U_i + diag(i_t(1 - \hat c_t^2)) U_c;
    dh_t/ds = diag(o_t(1 - tanh^2 c_t)) dc_t/ds, plus diag(tanh c_t o_t(1 - o_t)) U_o
    in the h_{t-1} columns.
    """
    samples, steps, _ = inputs.shape
    n = p["U_f"].shape[0]
    c = h = np.zeros((samples, n))
    eye = np.eye(n)
    for t in range(steps):
        x = inputs[:, t]
        pre = {g: x @ p[f"W_{g}"].T + h @ p[f"U_{g}"].T + p[f"b_{g}"] for g in "fioc"}
        f, i, o, c_hat = (
            _sigmoid(pre["f"]),
            _sigmoid(pre["i"]),
            _sigmoid(pre["o"]),
            np.tanh(pre["c"]),
        )
        dc_dh = (
            (c * f * (1 - f))[..., None] * p["U_f"]
            + (c_hat * i * (1 - i))[..., None] * p["U_i"]
            + (i * (1 - c_hat**2))[..., None] * p["U_c"]
        )
        c = f * c + i * c_hat
        tanh_c = np.tanh(c)
        top = np.concatenate([f[..., None] * eye, dc_dh], axis=2)
        bottom = (o * (1 - tanh_c**2))[..., None] * top
        bottom[:, :, n:] += (tanh_c * o * (1 - o))[..., None] * p["U_o"]
        h = o * tanh_c
        yield np.concatenate([top, bottom], axis=1)


def lyapunov_spectra(out, rng, length, steps, samples):
    """Spectra of the saved initial and trained networks on the same inputs."""
    # Adding-problem sequences end to end: the inputs the network was trained on,
    # long enough for the exponents to settle; the first sequence is warm-up.
    blocks = [adding_batch(rng, samples, length)[0] for _ in range(max(2, steps // length))]
    inputs = np.concatenate(blocks, axis=1).astype(np.float64)
    results = {}
    for name in ("initial", "trained"):
        weights = load_weights(out / f"{name}.pt")
        d = 2 * weights.hidden_size
        results[name] = spectrum(lstm_state_jacobians(weights.params, inputs), d, warmup=length)
    s = results["initial"]
    print(
        f"Lyapunov spectra of the (c, h) state, d = {s.exponents.shape[1]}: {s.steps} steps "
        f"after {s.warmup} of warm-up, {samples} input sequences; mean and "
        f"{100 * s.confidence:g}% interval, natural log per step"
    )
    for name, s in results.items():
        lo, hi = s.ci[0]
        print(
            f"  {name:<8} largest {s.mean[0]:+.4f} [{lo:+.4f}, {hi:+.4f}]  "
            f"5th {s.mean[4]:+.4f}  smallest {s.mean[-1]:+.3f}  sum {s.mean.sum():+.2f}"
        )
    return results


def plot(results, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: plot skipped (pip install 'symgrad[plot]')")
        return
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, s in results.items():
        index = np.arange(1, len(s.mean) + 1)
        ax.plot(index, s.mean, marker=".", label=name)
        if np.all(np.isfinite(s.ci)):
            ax.fill_between(index, s.ci[:, 0], s.ci[:, 1], alpha=0.3)
    ax.axhline(0.0, color="grey", linewidth=0.5)
    ax.set_xlabel("exponent index j")
    ax.set_ylabel(r"$\lambda_j$ (natural log per step)")
    ax.set_title("LSTM on the adding problem: Lyapunov spectrum of (c, h)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    print(f"plot: {path}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, help="directory for the weights (default: a temp dir)")
    parser.add_argument("--tiny", action="store_true", help="a few seconds, for CI")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hidden", type=int, default=32)
    # One thread: at hidden size 32, a second one only adds synchronisation; on a
    # loaded 2-core machine it made each training step 17x slower (7 ms -> 123 ms).
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        print("this example needs PyTorch: pip install torch==2.13.0 safetensors")
        return 2
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    length, steps, batch, lyap_steps, lyap_samples = SIZES["tiny" if args.tiny else "full"]
    out = args.out or Path(tempfile.mkdtemp(prefix="adding-problem-"))
    out.mkdir(parents=True, exist_ok=True)

    model = make_model(torch, args.hidden)
    save(torch, model, out, "initial")
    test = adding_batch(rng, 1000, length)
    mse = train(torch, model, rng, length, steps, batch, test)
    verdict = "beats" if mse < BASELINE_MSE else "does not beat"
    print(f"test MSE {mse:.4f} on 1000 sequences: {verdict} the baseline {BASELINE_MSE:.3f}")
    save(torch, model, out, "trained")
    print(f"saved: {', '.join(sorted(p.name for p in out.iterdir()))} in {out}")

    results = lyapunov_spectra(out, rng, length, lyap_steps, lyap_samples)
    plot(results, out / "lyapunov.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
