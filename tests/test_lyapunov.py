"""symgrad.lyapunov: Lyapunov spectra by QR, against exact and independent values.

- Constant diagonal Jacobians: the exponents are exactly the logs of the
  diagonal's absolute values (QR of a diagonal matrix is itself, bit for bit).
- Products of Gaussian matrices: Newman's closed form (1986).
- A saved nn.LSTM and nn.GRU (read by symgrad.weights), NumPy Jacobians written
  out by hand here, against torch.autograd.functional.jacobian of the modules'
  own forward pass and torch.linalg.qr in a loop written here (skipped without
  torch).
"""

import math
import tracemalloc
import warnings
from functools import partial

import numpy as np
import pytest
from scipy import special, stats

from symgrad.lyapunov import CONFIDENCE, spectrum
from symgrad.weights import load_weights

SEED = 20201113

#: Two float64 QR runs on the same Jacobians (LAPACK in NumPy and in torch):
#: each log|R_jj| carries ~1e-15 relative error and its mean over T steps no
#: more; 1e-8 is the issue's bar, far above what is reached (~1e-13).
TORCH_SPECTRUM_ABS = 1e-8

#: The same Jacobians with k < d columns and with all d: Householder's column j
#: depends only on columns 1..j, up to blocked LAPACK's rounding (~1e-15).
LEADING_COLUMNS_ABS = 1e-12


def _constant(jac, steps):
    for _ in range(steps):
        yield jac


# ---------------------------------------------------------------- exact values


def test_a_constant_diagonal_jacobian_gives_exactly_its_log_eigenvalues():
    diagonal = np.array([[0.5, 2.0, -3.0, 1.0, -0.25], [1.0, 1.0, 0.125, 4.0, -1.0]])
    jac = np.stack([np.diag(d) for d in diagonal])  # N = 2 samples, d = 5
    s = spectrum(_constant(jac, 7), k=5)
    expected = np.sort(np.log(np.abs(diagonal)), axis=1)[:, ::-1]
    assert np.array_equal(s.exponents, expected)
    assert np.array_equal(s.mean, expected.mean(axis=0))
    assert (s.steps, s.warmup) == (7, 0)


def test_warmup_steps_turn_q_but_are_not_averaged():
    warm = np.diag([3.0, 0.5, 7.0])[None]
    then = np.diag([0.5, 2.0, 0.25])[None]
    steps = [warm] * 4 + [then] * 6
    s = spectrum(iter(steps), k=3, warmup=4)
    assert np.array_equal(s.exponents[0], np.log([2.0, 0.5, 0.25]))
    assert (s.steps, s.warmup) == (6, 4)


def test_a_zero_jacobian_gives_minus_infinity_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = spectrum(_constant(np.zeros((3, 4, 4)), 5), k=2)
    assert np.all(s.exponents == -np.inf)
    assert np.all(s.mean == -np.inf) and np.all(s.ci == -np.inf)


def test_a_direction_sent_to_zero_leaves_the_others_exact():
    # Sample 0 loses its second direction; sample 1 keeps all three.
    jac = np.stack([np.diag([2.0, 0.0, 0.5]), np.diag([2.0, 0.25, 0.5])])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = spectrum(_constant(jac, 3), k=3)
    assert np.array_equal(s.exponents[0], [math.log(2.0), math.log(0.5), -np.inf])
    assert np.array_equal(s.exponents[1], np.log([2.0, 0.5, 0.25]))
    assert s.mean[0] == math.log(2.0) and s.mean[2] == -np.inf
    assert np.array_equal(s.ci[2], [-np.inf, -np.inf])
    assert not np.isnan(s.exponents).any() and not np.isnan(s.ci).any()


def test_one_sample_has_no_interval():
    s = spectrum(_constant(np.diag([2.0, 0.5])[None], 3), k=2)
    assert np.all(np.isnan(s.ci)) and np.array_equal(s.mean, np.log([2.0, 0.5]))


# ---------------------------------------------------------------- random products


def _gaussian_steps(rng, samples, d, steps):
    for _ in range(steps):
        yield rng.standard_normal((samples, d, d))


def test_gaussian_products_match_newmans_closed_form():
    # For J_t with independent N(0, 1) entries, lambda_j = (ln 2 + psi((d - j + 1)/2))/2
    # (Newman 1986, Commun. Math. Phys. 103, 121-126), exactly, for every j.
    d, samples = 4, 40
    s = spectrum(_gaussian_steps(np.random.default_rng(SEED), samples, d, 400), k=d, warmup=20)
    exact = (math.log(2.0) + special.digamma((d - np.arange(1, d + 1) + 1) / 2)) / 2
    half = (s.ci[:, 1] - s.ci[:, 0]) / 2
    assert np.all(np.abs(s.mean - exact) < 2 * half), (s.mean, exact, half)
    assert np.all(half < 0.02)  # the comparison has teeth: exponents differ by > 0.2


def test_the_interval_is_students_t_over_samples():
    s = spectrum(_gaussian_steps(np.random.default_rng(SEED), 6, 3, 50), k=3)
    for j in range(3):
        values = s.exponents[:, j]
        lo, hi = stats.t.interval(CONFIDENCE, len(values) - 1, np.mean(values), stats.sem(values))
        np.testing.assert_allclose(s.ci[j], [lo, hi], rtol=1e-14)


def test_k_exponents_are_the_leading_columns_of_the_full_run():
    steps = list(_gaussian_steps(np.random.default_rng(SEED), 3, 6, 100))
    full = spectrum(iter(steps), k=6)
    two = spectrum(iter(steps), k=2)
    np.testing.assert_allclose(two.exponents, full.exponents[:, :2], atol=LEADING_COLUMNS_ABS)


def test_memory_does_not_grow_with_the_number_of_steps():
    def peak(steps):
        rng = np.random.default_rng(SEED)
        tracemalloc.start()
        spectrum(_gaussian_steps(rng, 8, 16, steps), k=16)
        top = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return top

    short, long = peak(20), peak(2_000)
    assert long < 1.2 * short + 16_384, (short, long)


@pytest.mark.parametrize(
    ("steps", "k", "warmup", "match"),
    [
        ([np.eye(3)[None]], 4, 0, r"k = 4 exponents asked of a state of dimension d = 3; k <= d"),
        ([np.eye(3)[None]], 0, 0, r"k must be a positive integer \(the number of exponents\)"),
        ([np.eye(3)[None]], 2, -1, r"warmup must be a non-negative integer of steps, not -1"),
        ([np.eye(3)], 2, 0, r"Jacobians must be an array of shape \(N, d, d\) per step"),
        ([np.eye(3)[None], np.eye(4)[None]], 2, 0, r"step 1: Jacobians of shape \(1, 4, 4\)"),
        ([np.eye(2)[None], np.full((1, 2, 2), np.nan)], 1, 0, r"step 1: the Jacobian holds NaN"),
        ([np.eye(2)[None]] * 3, 1, 3, r"no steps to average: 3 Jacobians for a warm-up of 3"),
        ([], 1, 0, r"no steps to average: 0 Jacobians"),
        # |J e_1| = sqrt(2) 1.5e308, past float64's largest, 1.8e308.
        ([np.full((1, 2, 2), 1.5e308)], 1, 0, r"step 0: J Q overflowed float64 \(\|J\| up to 1.5e"),
    ],
)
def test_refusals(steps, k, warmup, match):
    with pytest.raises(ValueError, match=match):
        spectrum(iter(steps), k=k, warmup=warmup)


# ---------------------------------------------------------------- against torch

HIDDEN, INPUTS, STEPS, WARMUP, SAMPLES = 8, 3, 150, 10, 2


def _sigmoid(u):
    return 0.5 * (1.0 + np.tanh(0.5 * u))


def _lstm_jacobians(p, xs, planted=1.0):
    """(c, h) state Jacobians of torch's LSTM, by hand: rows (c_t, h_t), columns
    (c_{t-1}, h_{t-1}); xs (T, N, m). Yields (N, 2n, 2n) per step. ``planted``
    scales the output gate's term, to plant an error."""
    n = p["U_f"].shape[0]
    c = h = np.zeros((xs.shape[1], n))
    eye = np.eye(n)
    for x in xs:
        f, i, o = (_sigmoid(x @ p[f"W_{g}"].T + h @ p[f"U_{g}"].T + p[f"b_{g}"]) for g in "fio")
        c_hat = np.tanh(x @ p["W_c"].T + h @ p["U_c"].T + p["b_c"])
        dc_dh = (
            (c * f * (1 - f))[..., None] * p["U_f"]
            + (c_hat * i * (1 - i))[..., None] * p["U_i"]
            + (i * (1 - c_hat**2))[..., None] * p["U_c"]
        )
        c = f * c + i * c_hat
        tanh_c = np.tanh(c)
        dh_dc_t = o * (1 - tanh_c**2)
        dc_dc = f[..., None] * eye
        top = np.concatenate([dc_dc, dc_dh], axis=2)
        bottom = dh_dc_t[..., None] * top
        bottom[:, :, n:] += planted * (tanh_c * o * (1 - o))[..., None] * p["U_o"]
        h = o * tanh_c
        yield np.concatenate([top, bottom], axis=1)


def _gru_jacobians(p, xs):
    """h_t/h_{t-1} Jacobians of torch's GRU (cell gru-torch), by hand; xs (T, N, m)."""
    n = p["U_r"].shape[0]
    h = np.zeros((xs.shape[1], n))
    eye = np.eye(n)
    for x in xs:
        r = _sigmoid(x @ p["W_r"].T + p["b_ir"] + h @ p["U_r"].T + p["b_hr"])
        z = _sigmoid(x @ p["W_z"].T + p["b_iz"] + h @ p["U_z"].T + p["b_hz"])
        recurrent = h @ p["U_n"].T + p["b_hn"]
        new = np.tanh(x @ p["W_n"].T + p["b_in"] + r * recurrent)
        dr = (r * (1 - r))[..., None] * p["U_r"]
        dn = (1 - new**2)[..., None] * (r[..., None] * p["U_n"] + recurrent[..., None] * dr)
        dz = (z * (1 - z))[..., None] * p["U_z"]
        yield z[..., None] * eye + (h - new)[..., None] * dz + (1 - z)[..., None] * dn
        h = (1 - z) * new + z * h


def _torch_spectrum(torch, module, xs, k):
    """Per sample: autograd Jacobians of the module's own forward step, QR in torch."""
    n = module.hidden_size
    lstm = isinstance(module, torch.nn.LSTM)
    d = 2 * n if lstm else n

    def step(s, x):
        x = x.view(1, 1, -1)
        if lstm:
            _, (h, c) = module(x, (s[n:].view(1, 1, n), s[:n].view(1, 1, n)))
            return torch.cat([c.view(-1), h.view(-1)])
        _, h = module(x, s.view(1, 1, n))
        return h.view(-1)

    rows = []
    for sample in range(xs.shape[1]):
        s = torch.zeros(d, dtype=torch.float64)
        q = torch.eye(d, dtype=torch.float64)[:, :k]
        total = torch.zeros(k, dtype=torch.float64)
        for t, x in enumerate(torch.from_numpy(xs[:, sample])):
            jac = torch.autograd.functional.jacobian(partial(step, x=x), s, vectorize=True)
            with torch.no_grad():
                s = step(s, x)
                q, r = torch.linalg.qr(jac @ q)
                signs = torch.sign(torch.diagonal(r))
                q = q * signs
                if t >= WARMUP:
                    total += torch.log(torch.diagonal(r) * signs)
        rows.append(np.sort(total.numpy() / (len(xs) - WARMUP))[::-1])
    return np.array(rows)


@pytest.fixture(scope="module")
def torch():
    torch = pytest.importorskip(
        "torch", reason="PyTorch is not installed (pip install 'symgrad[torch]')"
    )
    torch.set_num_threads(1)  # tiny matrices: threads only add overhead
    return torch


@pytest.fixture(scope="module")
def saved(torch, tmp_path_factory):
    """kind -> (path of the saved state_dict, inputs, torch's spectrum, k)."""
    out = {}
    for kind, k in (("LSTM", 2 * HIDDEN), ("GRU", 5)):
        torch.manual_seed(SEED)
        module = getattr(torch.nn, kind)(INPUTS, HIDDEN, dtype=torch.float64)
        with torch.no_grad():  # N(0, 1/n) weights: gates far from saturation and from 1/2
            for param in module.parameters():
                param.normal_(0.0, 1.0 / math.sqrt(HIDDEN))
        path = tmp_path_factory.mktemp(kind) / "net.pt"
        torch.save(module.state_dict(), path)
        xs = np.random.default_rng(SEED).standard_normal((STEPS, SAMPLES, INPUTS))
        out[kind] = path, xs, _torch_spectrum(torch, module, xs, k), k
    return out


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_spectrum_of_a_saved_network_equals_torch_autograd_and_qr(saved, kind):
    path, xs, theirs, k = saved[kind]
    w = load_weights(path)
    jacobians = _lstm_jacobians if kind == "LSTM" else _gru_jacobians
    ours = spectrum(jacobians(w.params, xs), k=k, warmup=WARMUP)
    assert ours.exponents.shape == theirs.shape == (SAMPLES, k)
    np.testing.assert_allclose(ours.exponents, theirs, rtol=0, atol=TORCH_SPECTRUM_ABS)
    # Not a vacuous agreement: the exponents are spread out and the samples differ.
    assert np.ptp(theirs[0]) > 0.2 and np.max(np.abs(theirs[0] - theirs[1])) > 1e-3


def test_a_planted_error_of_a_tenth_of_a_percent_is_caught(saved):
    path, xs, theirs, k = saved["LSTM"]
    planted = spectrum(_lstm_jacobians(load_weights(path).params, xs, 1.001), k, WARMUP)
    assert np.max(np.abs(planted.exponents - theirs)) > 100 * TORCH_SPECTRUM_ABS


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_the_engines_spectrum_of_a_saved_network_equals_torch(saved, kind):
    # The same, with the per-step Jacobian from symgrad's matrix-form derivation
    # (flow --weights), not a hand-written one.
    from symgrad.cells import get_cell
    from symgrad.network import network_spectrum

    path, xs, theirs, k = saved[kind]
    w = load_weights(path)
    ours = network_spectrum(get_cell(w.cell), w.params, {"x": xs}, k, WARMUP).spectrum
    np.testing.assert_allclose(ours.exponents, theirs, rtol=0, atol=TORCH_SPECTRUM_ABS)


def test_flow_weights_on_the_command_line(saved, tmp_path, capsys):
    import json

    from symgrad.cli import main

    path, xs, theirs, k = saved["LSTM"]
    inputs = tmp_path / "x.npy"
    np.save(inputs, xs[:, 0])
    argv = ["flow", "--weights", str(path), "--inputs", str(inputs), "--warmup", str(WARMUP)]
    assert main([*argv, "--spectrum", str(k), "--format", "json"]) == 0
    (cell,) = json.loads(capsys.readouterr().out)["cells"]
    assert cell["cell"] == "lstm" and cell["lyapunov_spectrum_ci"] is None  # one sequence
    np.testing.assert_allclose(cell["lyapunov_spectrum"], theirs[0], atol=TORCH_SPECTRUM_ABS)


def test_a_hostile_pickle_is_refused_by_flow(tmp_path, capsys):
    import pickle

    from symgrad.cli import main

    class Payload:
        def __reduce__(self):
            return (open, (str(tmp_path / "pwned"), "w"))

    path = tmp_path / "net.pt"
    path.write_bytes(pickle.dumps({"weight_ih_l0": Payload()}))
    assert main(["flow", "--weights", str(path)]) == 2
    assert not (tmp_path / "pwned").exists()
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
