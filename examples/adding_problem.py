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
inputs as ``symgrad flow --weights`` does (:func:`symgrad.network.network_spectrum`:
analytic Jacobians from the engine, QR), and plots both if matplotlib is
installed: the exponents say how fast gradients vanish through the network,
before and after it learned to carry information.

    python examples/adding_problem.py --out /tmp/adding      # ~15 s on 2 cores
    python examples/adding_problem.py --tiny --out /tmp/a    # a few seconds (CI)
    symgrad flow --weights /tmp/adding/trained.pt --plot spectrum.svg

Needs torch (``pip install torch==2.13.0 safetensors``); matplotlib is optional.
"""

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from symgrad.cells import get_cell
from symgrad.network import network_spectrum
from symgrad.plot import plot_spectrum
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


def lyapunov_spectra(out, rng, length, steps, samples):
    """Spectra of the saved initial and trained networks on the same inputs, as
    ``symgrad flow --weights`` computes them: the state Jacobian of the engine's
    matrix-form derivation of the lstm cell, QR over the steps."""
    # Adding-problem sequences end to end: the inputs the network was trained on,
    # long enough for the exponents to settle; the first sequence is warm-up.
    blocks = [adding_batch(rng, samples, length)[0] for _ in range(max(2, steps // length))]
    inputs = np.concatenate(blocks, axis=1).astype(np.float64).transpose(1, 0, 2)  # (T, N, m)
    results = {}
    for name in ("initial", "trained"):
        weights = load_weights(out / f"{name}.pt")
        cell = get_cell(weights.cell)
        results[name] = network_spectrum(
            cell, weights.params, {"x": inputs}, warmup=length, source=f"{name}.pt"
        )
    s = results["initial"].spectrum
    print(
        f"Lyapunov spectra of the (c, h) state, d = {s.exponents.shape[1]}: {s.steps} steps "
        f"after {s.warmup} of warm-up, {samples} input sequences; mean and "
        f"{100 * s.confidence:g}% interval, natural log per step"
    )
    for name, r in results.items():
        s = r.spectrum
        lo, hi = s.ci[0]
        print(
            f"  {name:<8} largest {s.mean[0]:+.4f} [{lo:+.4f}, {hi:+.4f}]  "
            f"5th {s.mean[4]:+.4f}  smallest {s.mean[-1]:+.3f}  sum {s.mean.sum():+.2f}"
        )
    return results


def plot(results, path):
    """Both spectra in one figure (symgrad.plot.plot_spectrum), if matplotlib is here."""
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        print("matplotlib is not installed: plot skipped (pip install 'symgrad[plot]')")
        return
    renamed = [replace(r, cell=replace(r.cell, name=name)) for name, r in results.items()]
    plot_spectrum(renamed, path)
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
    plot(results, out / "lyapunov.svg")
    return 0


if __name__ == "__main__":
    sys.exit(main())
