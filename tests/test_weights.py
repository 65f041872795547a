"""symgrad.weights: torch state_dicts read into the built-in cells' names.

The first half needs no torch: state_dicts built in NumPy in torch's documented
layout, saved as .npz, and every refusal. The second half (skipped without
torch) saves real nn modules in every format and checks the mapped parameters
against the modules' own tensors and against their forward pass, recomputed
in NumPy from the mapped parameters by the cells' equations (SPEC section 1).
"""

import builtins
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from symgrad.cells import get_cell
from symgrad.weights import TORCH_LAYOUT, WeightsError, from_state_dict, load_weights
from tests.tolerances import STEP_VALUE_ABS

SEED = 20201113
N, M = 5, 3  # hidden and input sizes: distinct, so a transposed block cannot pass

# Row blocks of torch's stacked tensors, written out by hand from torch's
# documentation (independent of symgrad.weights.TORCH_LAYOUT): LSTM rows i, f,
# g, o; GRU rows r, z, n.
LSTM_BLOCKS = {"i": 0, "f": 1, "c": 2, "o": 3}
GRU_BLOCKS = {"r": 0, "z": 1, "n": 2}
GATES = {"lstm": 4, "gru-torch": 3, "rnn": 1}


def _state_dict(family, rng, n=N, m=M, bias=True, suffix="_l0", prefix=""):
    """A state_dict in torch's layout, random float32 values, built in NumPy."""
    g = GATES[family]
    sd = {
        f"{prefix}weight_ih{suffix}": rng.standard_normal((g * n, m)).astype(np.float32),
        f"{prefix}weight_hh{suffix}": rng.standard_normal((g * n, n)).astype(np.float32),
    }
    if bias:
        sd[f"{prefix}bias_ih{suffix}"] = rng.standard_normal(g * n).astype(np.float32)
        sd[f"{prefix}bias_hh{suffix}"] = rng.standard_normal(g * n).astype(np.float32)
    return sd


def _expected(family, sd, n=N, suffix="_l0", prefix=""):
    """The parameters a state_dict must map to, from the hand-written blocks above."""

    def block(name, k):
        key = f"{prefix}{name}{suffix}"
        if key not in sd:
            return np.zeros(n)
        return np.asarray(sd[key], dtype=np.float64)[k * n : (k + 1) * n]

    out = {}
    if family == "lstm":
        for gate, k in LSTM_BLOCKS.items():
            out[f"W_{gate}"], out[f"U_{gate}"] = block("weight_ih", k), block("weight_hh", k)
            out[f"b_{gate}"] = block("bias_ih", k) + block("bias_hh", k)
    elif family == "gru-torch":
        for gate, k in GRU_BLOCKS.items():
            out[f"W_{gate}"], out[f"U_{gate}"] = block("weight_ih", k), block("weight_hh", k)
            out[f"b_i{gate}"], out[f"b_h{gate}"] = block("bias_ih", k), block("bias_hh", k)
    else:
        out = {
            "W": block("weight_ih", 0),
            "U": block("weight_hh", 0),
            "b": block("bias_ih", 0) + block("bias_hh", 0),
        }
    return out


def _assert_params(weights, expected):
    assert sorted(weights.params) == sorted(expected)
    for name, value in expected.items():
        got = weights.params[name]
        assert got.dtype == np.float64, name
        np.testing.assert_array_equal(got, value, err_msg=name)


def _save_npz(path, sd):
    np.savez(path, **sd)
    return path


# ---------------------------------------------------------------- the table


def test_table_names_are_the_cells_parameters():
    for family, layout in TORCH_LAYOUT.items():
        names = {n for t in ("weight_ih", "weight_hh", "bias_ih", "bias_hh") for n in layout[t]}
        for cell in layout["cells"]:
            assert names == set(get_cell(cell).params), (family, cell)


# ---------------------------------------------------------------- .npz, no torch


@pytest.mark.parametrize("family", ["lstm", "gru-torch", "rnn"])
@pytest.mark.parametrize("layer", [True, False])
@pytest.mark.parametrize("bias", [True, False])
def test_npz_maps_each_block_to_its_name(tmp_path, family, layer, bias):
    suffix = "_l0" if layer else ""
    sd = _state_dict(family, np.random.default_rng(SEED), bias=bias, suffix=suffix)
    w = load_weights(_save_npz(tmp_path / "w.npz", sd))
    torch_name = {"lstm": "LSTM", "gru-torch": "GRU", "rnn": "RNN"}[family]
    assert w.cell == family
    assert w.source_kind == f"nn.{torch_name}" + ("" if layer else "Cell")
    assert (w.input_size, w.hidden_size, w.prefix, w.source_dtype) == (M, N, "", "float32")
    _assert_params(w, _expected(family, sd, suffix=suffix))
    assert w.params[
        "W" if family == "rnn" else "W_r" if family == "gru-torch" else "W_i"
    ].shape == (
        N,
        M,
    )


def test_params_are_read_only(tmp_path):
    w = load_weights(_save_npz(tmp_path / "w.npz", _state_dict("lstm", np.random.default_rng(0))))
    with pytest.raises(ValueError, match="read-only"):
        w.params["U_f"][0, 0] = 1.0


def test_rnn_relu_is_named_by_the_caller(tmp_path):
    path = _save_npz(tmp_path / "w.npz", _state_dict("rnn", np.random.default_rng(0)))
    assert load_weights(path).cell == "rnn"
    assert load_weights(path, cell="rnn-relu").cell == "rnn-relu"


def test_a_module_under_a_prefix_beside_other_tensors(tmp_path):
    rng = np.random.default_rng(SEED)
    sd = _state_dict("gru-torch", rng, prefix="encoder.rnn.")
    sd["fc.weight"] = rng.standard_normal((1, N)).astype(np.float32)
    sd["fc.bias"] = np.zeros(1, np.float32)
    w = load_weights(_save_npz(tmp_path / "w.npz", sd))
    assert (w.cell, w.source_kind, w.prefix) == ("gru-torch", "nn.GRU", "encoder.rnn.")
    _assert_params(w, _expected("gru-torch", sd, prefix="encoder.rnn."))


def test_a_nested_mapping_reads_as_a_prefix():
    rng = np.random.default_rng(SEED)
    sd = _state_dict("lstm", rng)
    w = from_state_dict({"model": {"lstm": sd}, "epoch": np.array(3)})
    assert w.prefix == "model.lstm."
    _assert_params(w, _expected("lstm", sd))


def test_float16_and_float64_widen_exactly():
    sd = _state_dict("rnn", np.random.default_rng(0))
    half = {k: v.astype(np.float16) for k, v in sd.items()}
    w = from_state_dict(half)
    assert w.source_dtype == "float16"
    _assert_params(w, _expected("rnn", half))


def test_importing_and_reading_npz_needs_neither_torch_nor_safetensors_nor_scipy(tmp_path):
    path = _save_npz(tmp_path / "w.npz", _state_dict("lstm", np.random.default_rng(0)))
    code = textwrap.dedent(
        f"""
        import sys
        import symgrad.lyapunov, symgrad.weights
        w = symgrad.weights.load_weights({str(path)!r})
        print(w.cell, *sorted(m for m in ("torch", "safetensors", "scipy") if m in sys.modules))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["lstm"], out.stdout + out.stderr


# ---------------------------------------------------------------- refusals, no torch


def _refused(tmp_path, sd, match, cell=None, name="w.npz", **kwargs):
    path = _save_npz(tmp_path / name, sd)
    with pytest.raises(WeightsError, match=match) as info:
        load_weights(path, cell=cell, **kwargs)
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(path))
    return message


def test_refuses_a_multi_layer_network(tmp_path):
    rng = np.random.default_rng(0)
    sd = _state_dict("lstm", rng) | _state_dict("lstm", rng, m=N, suffix="_l1")
    _refused(tmp_path, sd, r"a 2-layer network \('weight_ih_l1'\).*num_layers=1")


def test_refuses_a_bidirectional_network(tmp_path):
    rng = np.random.default_rng(0)
    sd = _state_dict("gru-torch", rng) | _state_dict("gru-torch", rng, suffix="_l0_reverse")
    _refused(
        tmp_path, sd, r"'weight_ih_l0_reverse' belongs to a bidirectional .*bidirectional=False"
    )


def test_refuses_an_lstm_projection(tmp_path):
    sd = _state_dict("lstm", np.random.default_rng(0))
    sd["weight_hr_l0"] = np.zeros((2, N), np.float32)
    _refused(tmp_path, sd, r"'weight_hr_l0' is an LSTM projection \(proj_size > 0\)")


def test_refuses_a_missing_weight(tmp_path):
    sd = _state_dict("lstm", np.random.default_rng(0), prefix="lstm.")
    del sd["lstm.weight_hh_l0"]
    _refused(tmp_path, sd, r"missing key 'lstm.weight_hh_l0'; expected weight_ih_l0")


def test_refuses_one_bias_without_the_other(tmp_path):
    sd = _state_dict("rnn", np.random.default_rng(0), suffix="")
    del sd["bias_ih"]
    _refused(tmp_path, sd, r"missing key 'bias_ih' \('bias_hh' is present; torch saves both")


@pytest.mark.parametrize(
    ("key", "shape", "match"),
    [
        ("weight_ih_l0", (4 * N - 1, M), r"'weight_ih_l0' is \(19, 3\), expected \(20, m\)"),
        ("weight_ih_l0", (4 * N * M,), r"'weight_ih_l0' is \(60,\), expected \(20, m\)"),
        ("bias_hh_l0", (N,), r"'bias_hh_l0' is \(5,\), expected \(20,\) = \(4\*n,\)"),
        ("weight_hh_l0", (4 * N + 1, N), r"'weight_hh_l0' has shape \(21, 5\); expected \(G\*n"),
        ("weight_hh_l0", (2 * N, N), r"\(10, 5\), 2 blocks of n = 5 rows; expected 4 \(LSTM\)"),
    ],
)
def test_refuses_a_shape_mismatch(tmp_path, key, shape, match):
    sd = _state_dict("lstm", np.random.default_rng(0))
    sd[key] = np.zeros(shape, np.float32)
    _refused(tmp_path, sd, match)


@pytest.mark.parametrize("dtype", [np.int64, np.bool_, np.complex128])
def test_refuses_a_non_float_dtype(tmp_path, dtype):
    sd = _state_dict("gru-torch", np.random.default_rng(0))
    sd["weight_hh_l0"] = sd["weight_hh_l0"].astype(dtype)
    _refused(tmp_path, sd, rf"'weight_hh_l0' has dtype {np.dtype(dtype)}, not floating point")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_refuses_nan_and_inf(tmp_path, bad):
    sd = _state_dict("lstm", np.random.default_rng(0))
    sd["bias_ih_l0"][[3, 7]] = bad
    _refused(tmp_path, sd, r"'bias_ih_l0' holds 2 NaN or infinite values; the network diverged")


def test_refuses_two_recurrent_modules(tmp_path):
    rng = np.random.default_rng(0)
    sd = _state_dict("lstm", rng, prefix="enc.") | _state_dict("gru-torch", rng, prefix="dec.")
    _refused(tmp_path, sd, r"2 recurrent modules \('enc.', 'dec.'\); symgrad reads one")


def test_refuses_a_file_without_recurrent_weights(tmp_path):
    sd = {"fc.weight": np.zeros((2, 2), np.float32)}
    _refused(tmp_path, sd, r"no recurrent weights found; expected weight_ih_l0.*found 'fc.weight'")


def test_refuses_a_cell_that_contradicts_the_file(tmp_path):
    sd = _state_dict("gru-torch", np.random.default_rng(0))
    _refused(
        tmp_path,
        sd,
        r"cell 'lstm' contradicts the file: 'weight_hh_l0' has 3n rows \(n = 5\), an nn.GRU, "
        r"read as cell 'gru-torch'",
        cell="lstm",
    )
    _refused(tmp_path, sd, r"cell 'rnn-relu' contradicts the file", cell="rnn-relu")


def test_refuses_a_cell_torch_weights_cannot_be(tmp_path):
    sd = _state_dict("gru-torch", np.random.default_rng(0))
    _refused(
        tmp_path,
        sd,
        r"cell 'gru' cannot be read from torch weights \(torch's nn.GRU is the cell gru-torch\); "
        r"valid cells: lstm, gru-torch, rnn, rnn-relu",
        cell="gru",
    )


def test_refuses_an_unknown_extension(tmp_path):
    path = tmp_path / "w.h5"
    path.write_bytes(b"")
    with pytest.raises(WeightsError, match=r"unknown extension '.h5'; expected one of .pt, .pth"):
        load_weights(path)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (None, r"cannot read the file: No such file or directory"),
        ("dir", r"cannot read the file: not a regular file"),
        (b"not a zip archive", r"cannot read the file: not a valid archive"),
    ],
)
def test_refuses_an_unreadable_file(tmp_path, make, match):
    path = tmp_path / "w.npz"
    if make == "dir":
        path.mkdir()
    elif make is not None:
        path.write_bytes(make)
    with pytest.raises(WeightsError, match=match):
        load_weights(path)


def test_refuses_a_file_over_the_budget_before_reading_it(tmp_path):
    sd = _state_dict("lstm", np.random.default_rng(0))
    size = _save_npz(tmp_path / "w.npz", sd).stat().st_size
    _refused(tmp_path, sd, rf"file is {size:,} bytes, over the 1,000-byte budget", max_bytes=1000)


def test_refuses_a_compressed_archive_that_unpacks_past_the_budget(tmp_path):
    sd = _state_dict("lstm", np.random.default_rng(0))
    sd["padding"] = np.zeros(10**6)  # 8 MB unpacked, a few kB compressed
    path = tmp_path / "w.npz"
    np.savez_compressed(path, **sd)
    assert path.stat().st_size < 10**5
    with pytest.raises(WeightsError, match=r"its unpacked content is 8,00\d,\d{3} bytes, over"):
        load_weights(path, max_bytes=10**6)


class _WritesAFile:
    """Unpickled, this calls open(path, "w"): the file's existence is the evidence."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return builtins.open, (self.path, "w")


def test_a_pickled_object_in_an_npz_is_refused_and_runs_nothing(tmp_path):
    evidence = tmp_path / "pwned"
    sd = _state_dict("lstm", np.random.default_rng(0))
    sd["weight_hh_l0"] = np.array([_WritesAFile(evidence)], dtype=object)
    _refused(tmp_path, sd, r"refused: an array holds pickled Python objects")
    assert not evidence.exists()


def test_from_state_dict_refuses_what_is_not_a_mapping():
    with pytest.raises(WeightsError, match=r"^state_dict: holds a list, not a state_dict"):
        from_state_dict([1, 2])


# ---------------------------------------------------------------- torch modules


def _sigmoid(u):
    return 1.0 / (1.0 + np.exp(-u))


def _numpy_step(cell, p, x, h, c):
    """One step of the built-in cell ``cell`` from mapped parameters (SPEC section 1)."""

    def pre(name):
        return p[f"W{name}"] @ x + p[f"U{name}"] @ h

    if cell == "lstm":
        f, i, o = (_sigmoid(pre(f"_{g}") + p[f"b_{g}"]) for g in "fio")
        c_t = f * c + i * np.tanh(pre("_c") + p["b_c"])
        return o * np.tanh(c_t), c_t
    if cell == "gru-torch":
        r = _sigmoid(p["W_r"] @ x + p["b_ir"] + p["U_r"] @ h + p["b_hr"])
        z = _sigmoid(p["W_z"] @ x + p["b_iz"] + p["U_z"] @ h + p["b_hz"])
        n = np.tanh(p["W_n"] @ x + p["b_in"] + r * (p["U_n"] @ h + p["b_hn"]))
        return (1 - z) * n + z * h, None
    u = pre("") + p["b"]
    return (np.tanh(u) if cell == "rnn" else np.maximum(u, 0.0)), None


# (module class, constructor keywords, cell passed to load_weights, expected cell, kind)
MODULES = {
    "LSTM": ("LSTM", {}, None, "lstm", "nn.LSTM"),
    "GRU": ("GRU", {}, None, "gru-torch", "nn.GRU"),
    "RNN": ("RNN", {}, None, "rnn", "nn.RNN"),
    "RNN-relu": ("RNN", {"nonlinearity": "relu"}, "rnn-relu", "rnn-relu", "nn.RNN"),
    "LSTMCell": ("LSTMCell", {}, None, "lstm", "nn.LSTMCell"),
    "GRUCell": ("GRUCell", {}, None, "gru-torch", "nn.GRUCell"),
    "RNNCell": ("RNNCell", {}, "rnn", "rnn", "nn.RNNCell"),
    "RNNCell-relu": ("RNNCell", {"nonlinearity": "relu"}, "rnn-relu", "rnn-relu", "nn.RNNCell"),
    "LSTM-nobias": ("LSTM", {"bias": False}, None, "lstm", "nn.LSTM"),
    "GRUCell-nobias": ("GRUCell", {"bias": False}, None, "gru-torch", "nn.GRUCell"),
}


def _module(torch, which, dtype):
    cls, kwargs, _, _, _ = MODULES[which]
    torch.manual_seed(SEED)
    module = getattr(torch.nn, cls)(M, N, dtype=dtype, **kwargs)
    with torch.no_grad():  # larger than the default init, so every gate matters
        for param in module.parameters():
            param.normal_(0.0, 0.8)
    return module


def _save(torch, module_state, path):
    """Save a state_dict in the format ``path``'s extension names."""
    if path.suffix in (".pt", ".pth"):
        torch.save(module_state, path)
    elif path.suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file(module_state, str(path))
    else:
        np.savez(path, **{k: v.numpy() for k, v in module_state.items()})
    return path


def _forward(torch, module, x, h, c):
    """One step of ``module`` (a layer or a cell) in torch, as float64 NumPy (h_t, c_t)."""
    x, h = torch.from_numpy(x), torch.from_numpy(h)
    c = None if c is None else torch.from_numpy(c)
    with torch.no_grad():
        if type(module).__name__.endswith("Cell"):
            out = module(x[None], (h[None], c[None])) if c is not None else module(x[None], h[None])
        else:
            state = (h.view(1, 1, -1), c.view(1, 1, -1)) if c is not None else h.view(1, 1, -1)
            _, out = module(x.view(1, 1, -1), state)
    if isinstance(out, tuple):
        return out[0].numpy().ravel(), out[1].numpy().ravel()
    return out.numpy().ravel(), None


@pytest.mark.parametrize("ext", [".pt", ".pth", ".safetensors", ".npz"])
@pytest.mark.parametrize("which", list(MODULES))
def test_each_module_and_format_round_trips_and_steps_as_torch(tmp_path, torch, which, ext):
    if ext == ".safetensors":
        pytest.importorskip("safetensors", reason="safetensors is not installed")
    _, _, cell, expected_cell, kind = MODULES[which]
    module = _module(torch, which, torch.float64)
    state = module.state_dict()
    w = load_weights(_save(torch, state, tmp_path / f"w{ext}"), cell=cell)
    assert (w.cell, w.source_kind, w.input_size, w.hidden_size) == (expected_cell, kind, M, N)
    suffix = "" if kind.endswith("Cell") else "_l0"
    family = {"lstm": "lstm", "gru-torch": "gru-torch"}.get(expected_cell, "rnn")
    _assert_params(w, _expected(family, {k: v.numpy() for k, v in state.items()}, suffix=suffix))

    # The gate order, by the module's own forward pass against the cell's equations.
    rng = np.random.default_rng(SEED)
    x, h = rng.standard_normal(M), rng.standard_normal(N)
    c = rng.standard_normal(N) if family == "lstm" else None
    theirs = _forward(torch, module, x, h, c)
    ours = _numpy_step(w.cell, w.params, x, h, c)
    for a, b in zip(ours, theirs, strict=True):
        if b is not None:
            np.testing.assert_allclose(a, b, rtol=0, atol=STEP_VALUE_ABS)


def test_gate_order_is_not_vacuous(torch):
    # A swapped pair of blocks must break the forward comparison the test above makes.
    module = _module(torch, "LSTMCell", torch.float64)
    w = from_state_dict({k: v.numpy() for k, v in module.state_dict().items()})
    swapped = dict(w.params) | {"W_f": w.params["W_i"], "W_i": w.params["W_f"]}
    rng = np.random.default_rng(SEED)
    x, h, c = rng.standard_normal(M), rng.standard_normal(N), rng.standard_normal(N)
    theirs = _forward(torch, module, x, h, c)[0]
    assert np.max(np.abs(_numpy_step("lstm", w.params, x, h, c)[0] - theirs)) < STEP_VALUE_ABS
    assert np.max(np.abs(_numpy_step("lstm", swapped, x, h, c)[0] - theirs)) > 1e-3


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_pt_widens_torch_float_types_exactly(tmp_path, torch, dtype):
    module = _module(torch, "GRU", getattr(torch, dtype))
    w = load_weights(_save(torch, module.state_dict(), tmp_path / "w.pt"))
    assert w.source_dtype == ("float32" if dtype == "bfloat16" else dtype)
    expected = module.weight_hh_l0.detach().to(torch.float64).numpy()
    np.testing.assert_array_equal(w.params["U_z"], expected[N : 2 * N])


def test_a_trained_model_checkpoint_with_optimizer_state(tmp_path, torch):
    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = torch.nn.LSTM(M, N)
            self.fc = torch.nn.Linear(N, 1)

    torch.manual_seed(SEED)
    model = Model()
    optimizer = torch.optim.Adam(model.parameters())
    out, _ = model.lstm(torch.randn(4, 2, M))
    model.fc(out).sum().backward()
    optimizer.step()
    path = tmp_path / "checkpoint.pt"
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": 1}, path)
    w = load_weights(path)
    assert (w.cell, w.source_kind, w.prefix) == ("lstm", "nn.LSTM", "model.lstm.")
    np.testing.assert_array_equal(
        w.params["U_o"], model.lstm.weight_hh_l0.detach().double().numpy()[3 * N :]
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"num_layers": 2}, r"a 2-layer network \('lstm.weight_ih_l1'\)"),
        ({"bidirectional": True}, r"'lstm.weight_ih_l0_reverse' belongs to a bidirectional"),
        ({"proj_size": 2}, r"'lstm.weight_hr_l0' is an LSTM projection"),
    ],
)
def test_refuses_real_modules_it_cannot_read(tmp_path, torch, kwargs, match):
    module = torch.nn.ModuleDict({"lstm": torch.nn.LSTM(M, N, **kwargs)})
    path = _save(torch, module.state_dict(), tmp_path / "w.pt")
    with pytest.raises(WeightsError, match=match):
        load_weights(path)


def test_refuses_two_real_recurrent_modules(tmp_path, torch):
    module = torch.nn.ModuleDict({"enc": torch.nn.GRU(M, N), "dec": torch.nn.LSTMCell(N, N)})
    path = _save(torch, module.state_dict(), tmp_path / "w.pt")
    with pytest.raises(WeightsError, match=r"2 recurrent modules \('enc.', 'dec.'\)"):
        load_weights(path)


def test_refuses_integer_tensors_in_a_pt(tmp_path, torch):
    state = _module(torch, "RNNCell", torch.float32).state_dict()
    state["weight_ih"] = state["weight_ih"].to(torch.int32)
    with pytest.raises(WeightsError, match=r"'weight_ih' has dtype int32, not floating point"):
        load_weights(_save(torch, state, tmp_path / "w.pt"))


def test_refuses_a_pt_that_holds_a_tensor_not_a_state_dict(tmp_path, torch):
    path = tmp_path / "w.pt"
    torch.save(torch.zeros(3), path)
    with pytest.raises(WeightsError, match=r"w.pt: holds a Tensor, not a state_dict"):
        load_weights(path)


def test_refuses_a_whole_pickled_module(tmp_path, torch):
    path = tmp_path / "model.pt"
    torch.save(torch.nn.LSTM(M, N), path)
    with pytest.raises(
        WeightsError, match=r"refused: unpickling it needs the global torch.nn.modules.rnn.LSTM"
    ) as info:
        load_weights(path)
    assert "weights_only" not in str(info.value)  # torch's advice to turn it off is not passed on


def test_refuses_a_damaged_pt(tmp_path, torch):
    path = _save(torch, _module(torch, "GRUCell", torch.float32).state_dict(), tmp_path / "w.pt")
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(WeightsError, match=r"w.pt: cannot read the file"):
        load_weights(path)


@pytest.mark.parametrize(
    ("writer", "needs"),
    [
        ("pickle-2", r"the global io\.open"),  # builtins.open is io.open
        ("torch.save", r"the global io\.open"),
        # Protocol 5's opcodes stop torch's unpickler before it reaches the global.
        ("pickle-5", "more than tensors and plain containers"),
    ],
)
def test_a_hostile_pickle_is_refused_and_runs_nothing(tmp_path, torch, writer, needs):
    evidence = tmp_path / "pwned"
    payload = {"weight_ih": _WritesAFile(evidence), "weight_hh": torch.zeros(N, N)}
    path = tmp_path / "w.pt"
    if writer.startswith("pickle"):
        path.write_bytes(pickle.dumps(payload, protocol=int(writer[-1])))
    else:
        torch.save(payload, path)
    with pytest.raises(
        WeightsError, match=rf"refused: unpickling it needs {needs}, so it could run code; save"
    ):
        load_weights(path)
    assert not evidence.exists()

    # The payload is live: an ordinary unpickler does write the file.
    if writer.startswith("pickle"):
        pickle.loads(path.read_bytes())["weight_ih"].close()
        assert evidence.exists()


def test_safetensors_reads_without_torch(tmp_path, torch):
    pytest.importorskip("safetensors", reason="safetensors is not installed")
    state = _module(torch, "LSTM", torch.float32).state_dict()
    path = _save(torch, state, tmp_path / "w.safetensors")
    code = f"import sys, symgrad.weights as w; w.load_weights({str(path)!r}); print(*sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "torch" not in out.stdout.split(), out.stderr


def test_refuses_bfloat16_safetensors_with_what_to_do(tmp_path, torch):
    pytest.importorskip("safetensors", reason="safetensors is not installed")
    state = _module(torch, "GRUCell", torch.bfloat16).state_dict()
    path = _save(torch, state, tmp_path / "w.safetensors")
    with pytest.raises(WeightsError, match=r"a tensor type NumPy cannot read .*convert the"):
        load_weights(path)


def test_refuses_a_damaged_safetensors(tmp_path):
    pytest.importorskip("safetensors", reason="safetensors is not installed")
    path = tmp_path / "w.safetensors"
    path.write_bytes(b"\xff" * 64)
    with pytest.raises(WeightsError, match=r"w.safetensors: cannot read the file"):
        load_weights(path)


@pytest.mark.parametrize(
    ("ext", "missing", "match"),
    [
        (".pt", "torch", r"reading .pt/.pth needs PyTorch: pip install torch \(or save"),
        (".safetensors", "safetensors", r"reading .safetensors needs the safetensors package"),
    ],
)
def test_a_missing_reader_says_what_to_install(tmp_path, monkeypatch, ext, missing, match):
    path = tmp_path / f"w{ext}"
    path.write_bytes(b"\0" * 16)
    monkeypatch.setitem(sys.modules, missing, None)  # import of it raises ImportError
    monkeypatch.setitem(sys.modules, f"{missing}.numpy", None)
    with pytest.raises(WeightsError, match=match):
        load_weights(path)
