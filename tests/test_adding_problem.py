"""examples/adding_problem.py --tiny runs, and what it saves reads back the same
from .pt and .safetensors: the files `symgrad flow --weights` will be shown on."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from symgrad.weights import load_weights

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "adding_problem.py"


def test_tiny_run_saves_weights_that_read_back_alike(tmp_path, torch):
    pytest.importorskip("safetensors", reason="safetensors is not installed")
    run = subprocess.run(
        [sys.executable, str(EXAMPLE), "--tiny", "--out", str(tmp_path), "--seed", "3"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "beat" in run.stdout and "Lyapunov spectra" in run.stdout, run.stdout + run.stderr

    for name in ("initial", "trained"):
        pt, st = (
            load_weights(tmp_path / f"{name}.pt"),
            load_weights(tmp_path / f"{name}.safetensors"),
        )
        assert (pt.cell, pt.source_kind, pt.prefix, pt.hidden_size) == (
            "lstm",
            "nn.LSTM",
            "lstm.",
            32,
        )
        for key, value in pt.params.items():
            np.testing.assert_array_equal(value, st.params[key])

    # initial.pt is torch's initialisation under the seed; training moved it.
    spec = importlib.util.spec_from_file_location("adding_problem", EXAMPLE)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    torch.manual_seed(3)
    fresh = example.make_model(torch, 32).lstm.weight_hh_l0.detach().double().numpy()
    initial = load_weights(tmp_path / "initial.pt").params
    trained = load_weights(tmp_path / "trained.pt").params
    np.testing.assert_array_equal(initial["U_f"], fresh[32:64])
    assert np.max(np.abs(trained["U_f"] - initial["U_f"])) > 1e-3
