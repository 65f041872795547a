"""The K-step derivative in matrix form (``derive CELL --vector --steps K``).

Oracles, each independent of the engine: forward passes of the LSTM, the GRU,
the SimpleRNN and the peephole LSTM of examples/ written out here in NumPy and
differentiated by central differences over the unrolled K steps; torch's
autograd Jacobian of K steps of nn.LSTMCell / nn.GRUCell / nn.RNNCell; the
missed path of the LSTM at K = 2 multiplied out by hand; the scalar engine's
K-step derivative at n = 1; and the one-step vector derivation (K = 1, and the
article's product as a product of its one-step values).
"""

import dataclasses
import io
import json
import re

import numpy as np
import pytest
import sympy

from symgrad.cellfile import load_cell
from symgrad.cells import get_cell
from symgrad.cli import main
from symgrad.linear import Chain, read_vector
from symgrad.multistep import MAX_STEPS, derive_steps
from symgrad.texwidth import ARTICLE_TEXTWIDTH, align_width
from symgrad.vecsteps import check_steps
from symgrad.vector import derive_vector, derive_vector_steps, vector_steps
from tests.latex import ARTICLE, compile_latex, needs_pdflatex, overfull
from tests.tolerances import (
    FLOAT64_DERIVATIVE_REL,
    OVERFULL_PT,
    TORCH_REL,
    VECTOR_FD_REL,
    VECTOR_FD_STEP,
    VECTOR_N1_REL,
)

SEED = 20201113
PEEPHOLE = "examples/peephole-lstm.toml"
CELLS = ("lstm", "gru", "rnn", PEEPHOLE)
STEPS = (1, 2, 3)


def _cell(name):
    return load_cell(PEEPHOLE) if name == PEEPHOLE else get_cell(name)


def _sigmoid(u):
    return 1.0 / (1.0 + np.exp(-u))


# ---------------------------------------------------------------- the oracle's forward passes


def _lstm(p, x, c, h):
    f = _sigmoid(p["W_f"] @ x + p["U_f"] @ h + p["b_f"])
    i = _sigmoid(p["W_i"] @ x + p["U_i"] @ h + p["b_i"])
    o = _sigmoid(p["W_o"] @ x + p["U_o"] @ h + p["b_o"])
    c_hat = np.tanh(p["W_c"] @ x + p["U_c"] @ h + p["b_c"])
    c = f * c + i * c_hat
    return {"c": c, "h": o * np.tanh(c), "o": o}


def _peephole(p, x, c, h):
    f = _sigmoid(p["W_f"] @ x + p["U_f"] @ h + p["p_f"] * c + p["b_f"])
    i = _sigmoid(p["W_i"] @ x + p["U_i"] @ h + p["p_i"] * c + p["b_i"])
    c_hat = np.tanh(p["W_c"] @ x + p["U_c"] @ h + p["b_c"])
    c = f * c + i * c_hat
    o = _sigmoid(p["W_o"] @ x + p["U_o"] @ h + p["p_o"] * c + p["b_o"])
    return {"c": c, "h": o * np.tanh(c), "o": o}


def _gru(p, x, h):
    z = _sigmoid(p["W_z"] @ x + p["U_z"] @ h + p["b_z"])
    r = _sigmoid(p["W_r"] @ x + p["U_r"] @ h + p["b_r"])
    h_hat = np.tanh(p["W_h"] @ x + p["U_h"] @ (r * h) + p["b_h"])
    return {"h": (1 - z) * h + z * h_hat}


def _rnn(p, x, h):
    return {"h": np.tanh(p["W"] @ x + p["U"] @ h + p["b"])}


def _unrolled(name, p, xs, source):
    """The cell's default target after len(xs) steps as a function of its source
    at step t - 1; for the LSTMs h_{t-1} = o_{t-1} ⊙ tanh c_{t-1} (the
    article's convention), o_{t-1} from ``p``."""
    if name in ("lstm", PEEPHOLE):
        step = _lstm if name == "lstm" else _peephole
        c, h = source, p["o_prev"] * np.tanh(source)
        for x in xs:
            out = step(p, x, c, h)
            c, h = out["c"], out["h"]
        return c
    h = source
    for x in xs:
        h = (_gru if name == "gru" else _rnn)(p, x, h)["h"]
    return h


def _central_differences(name, p, xs, source):
    h = VECTOR_FD_STEP
    columns = []
    for j in range(source.size):
        e = np.eye(source.size)[j] * h
        up = _unrolled(name, p, xs, source + e)
        down = _unrolled(name, p, xs, source - e)
        columns.append((up - down) / (2 * h))
    return np.stack(columns, axis=-1)


def _point(cell, n, m, steps, rng, inputs="per step"):
    """Arrays for every name the K-step derivative reads (weights scaled by
    1/sqrt(columns), as initialisations are), and the inputs as a list."""
    columns = read_vector(cell).columns
    p = {}
    for name in cell.params:
        if name in columns:
            k = m if columns[name] == "m" else n
            p[name] = rng.normal(size=(n, k)) / np.sqrt(k)
        else:
            p[name] = rng.normal(size=n)
    p["c_prev"] = rng.uniform(-1.5, 1.5, size=n)
    p["h_prev"] = rng.uniform(-1.0, 1.0, size=n)
    p["o_prev"] = rng.uniform(0.0, 1.0, size=n)
    xs = [rng.normal(size=m) for _ in range(steps)]
    if inputs == "shared":
        xs = [xs[0]] * steps
    return p, xs


def _arrays(ms, p, xs):
    arrays = {k: v for k, v in p.items() if k in ms.free_names}
    if ms.inputs == "per step":
        arrays.update({f"x_{k + 1}": x for k, x in enumerate(xs)})
    else:
        arrays["x"] = xs[0]
    return arrays


def _close(ours, reference, rtol):
    return np.max(np.abs(ours - reference)) <= rtol * (1.0 + np.max(np.abs(reference)))


# ---------------------------------------------------------------- finite differences


@pytest.mark.parametrize("steps", STEPS)
@pytest.mark.parametrize("name", CELLS)
def test_the_printed_exact_form_equals_finite_differences_of_the_unrolled_pass(name, steps):
    ms = derive_vector_steps(_cell(name), steps, "per step")
    assert ms.check.passed, ms.check.detail
    rng = np.random.default_rng([SEED, steps, CELLS.index(name)])
    for n, m in ((3, 2), (4, 5)):
        p, xs = _point(ms.cell, n, m, steps, rng)
        values = ms.evaluate(_arrays(ms, p, xs))
        source = p[ms.source]
        assert values["exact"].shape == (n, n)
        assert _close(values["exact"], _central_differences(name, p, xs, source), VECTOR_FD_REL)
        # The split is exact: the product plus the paths it leaves out.
        split = values["product"] + sum(values["paths"], np.zeros((n, n)))
        assert _close(split, values["exact"], FLOAT64_DERIVATIVE_REL)


@pytest.mark.parametrize("name", CELLS)
def test_a_shared_input_and_a_batch_axis(name):
    ms = derive_vector_steps(_cell(name), 2)
    assert ms.inputs == "shared" and "x" in ms.free_names
    rng = np.random.default_rng([SEED, 9])
    points = [_point(ms.cell, 3, 2, 2, rng, "shared") for _ in range(3)]
    batch = {k: np.stack([_arrays(ms, p, xs)[k] for p, xs in points]) for k in ms.free_names}
    values = ms.evaluate(batch)
    assert values["exact"].shape == (3, 3, 3)
    for b, (p, xs) in enumerate(points):
        fd = _central_differences(name, p, xs, p[ms.source])
        assert _close(values["exact"][b], fd, VECTOR_FD_REL)


# ---------------------------------------------------------------- the one-step engine


@pytest.mark.parametrize("name", CELLS)
def test_one_step_is_the_one_step_vector_derivation(name):
    cell = _cell(name)
    ms, d = derive_vector_steps(cell, 1), derive_vector(cell)
    assert ms.paths == () and len(ms.factors) == 1
    f = d.numeric()
    p, xs = _point(cell, 3, 2, 1, np.random.default_rng([SEED, 1]), "shared")
    values = ms.evaluate(_arrays(ms, p, xs))
    one, _ = f(**{k: p[k] if k != "x" else xs[0] for k in f.names})
    assert np.allclose(values["exact"], one, rtol=0, atol=FLOAT64_DERIVATIVE_REL)
    assert _close(values["product"], values["exact"], FLOAT64_DERIVATIVE_REL)
    assert ms.text().count("A_t = ") == 1 and "P = A_t" in ms.text()


@pytest.mark.parametrize("steps", STEPS)
@pytest.mark.parametrize("name", CELLS)
def test_the_product_is_the_product_of_one_step_values(name, steps):
    # A_{t+k} is numeric() of the one-step derivation at step k's own values,
    # taken from the oracle's forward pass; later steps multiply on the left.
    cell = _cell(name)
    ms, f = derive_vector_steps(cell, steps, "per step"), derive_vector(cell).numeric()
    p, xs = _point(cell, 3, 2, steps, np.random.default_rng([SEED, 2, steps]))
    values = ms.evaluate(_arrays(ms, p, xs))
    lstm = name in ("lstm", PEEPHOLE)
    state = {"c_prev": p["c_prev"], "o_prev": p["o_prev"]} if lstm else {"h_prev": p["h_prev"]}
    product = np.eye(3)
    for x in xs:
        a, _ = f(**{k: {**p, **state, "x": x}[k] for k in f.names})
        product = a @ product
        if lstm:
            h = state["o_prev"] * np.tanh(state["c_prev"])
            out = (_lstm if name == "lstm" else _peephole)(p, x, state["c_prev"], h)
            state = {"c_prev": out["c"], "o_prev": out["o"]}
        else:
            state = {"h_prev": (_gru if name == "gru" else _rnn)(p, x, state["h_prev"])["h"]}
    assert _close(values["product"], product, FLOAT64_DERIVATIVE_REL)
    if len(cell.state) == 1:  # one state, no convention: the product is exact
        assert ms.paths == () and _close(values["gap"], 0 * product, FLOAT64_DERIVATIVE_REL)


@pytest.mark.parametrize("name", ["lstm", "gru", "gru-late-reset", PEEPHOLE])
def test_vector_steps_stays_and_agrees(name):
    cell = _cell(name)
    ms = derive_vector_steps(cell, 3, "per step")
    rng = np.random.default_rng([SEED, 3])
    arrays = {}
    for k in ms.free_names:
        kind = ms.vcell.columns.get(k)
        shape = (3, 2 if kind == "m" else 3) if kind else (2 if k.startswith("x_") else 3,)
        arrays[k] = rng.uniform(-1, 1, shape)
    ours, theirs = ms.evaluate(arrays), vector_steps(cell, 3, arrays)
    for key in ("exact", "product", "states"):
        assert _close(ours[key], getattr(theirs, key), FLOAT64_DERIVATIVE_REL), key


def test_at_n_1_it_is_the_scalar_k_step_derivative():
    for steps in STEPS:
        ms = derive_vector_steps("lstm", steps, "per step")
        scalar = derive_steps("lstm", steps, "per step")
        rng = np.random.default_rng([SEED, 4, steps])
        point = {k: round(float(rng.uniform(-1, 1)), 3) for k in scalar.free_names}
        expected = scalar.evaluate(point)
        columns = ms.vcell.columns
        arrays = {k: np.full((1, 1) if k in columns else (1,), v) for k, v in point.items()}
        values = ms.evaluate(arrays)
        for key in ("exact", "product"):
            want = float(expected[key])
            assert abs(values[key][0, 0] - want) <= VECTOR_N1_REL * (1 + abs(want))
        assert len(values["paths"]) == len(expected["paths"]) == steps - 1
        for ours, theirs in zip(values["paths"], expected["paths"], strict=True):
            assert abs(ours[0, 0] - float(theirs)) <= VECTOR_N1_REL * (1 + abs(float(theirs)))


# ---------------------------------------------------------------- the LSTM's path, by hand


def test_the_lstms_missed_path_at_two_steps_multiplied_out_by_hand():
    ms = derive_vector_steps("lstm", 2, "per step")
    (path,) = ms.paths
    assert (path.step, path.state, path.held, path.later) == (0, "h", ("o",), ())
    p, xs = _point(ms.cell, 3, 2, 2, np.random.default_rng([SEED, 5]))
    values = ms.evaluate(_arrays(ms, p, xs))
    # Step t from c_{t-1}, h_{t-1} = o_{t-1} tanh c_{t-1}; then step t+1's gates.
    c0, h0 = p["c_prev"], p["o_prev"] * np.tanh(p["c_prev"])
    t = _lstm(p, xs[0], c0, h0)
    x1, h1 = xs[1], t["h"]
    f1 = _sigmoid(p["W_f"] @ x1 + p["U_f"] @ h1 + p["b_f"])
    i1 = _sigmoid(p["W_i"] @ x1 + p["U_i"] @ h1 + p["b_i"])
    c_hat1 = np.tanh(p["W_c"] @ x1 + p["U_c"] @ h1 + p["b_c"])
    # dc_{t+1}/dh_t (h_t enters f, i and c_hat) and the change of h_t through o_t.
    entry = (
        np.diag(f1 * (1 - f1) * t["c"]) @ p["U_f"]
        + np.diag(i1 * (1 - i1) * c_hat1) @ p["U_i"]
        + np.diag(i1 * (1 - c_hat1**2)) @ p["U_c"]
    )
    o = t["o"]
    delta = (
        np.diag(o * (1 - o) * np.tanh(t["c"]))
        @ p["U_o"]
        @ np.diag(p["o_prev"] * (1 - np.tanh(c0) ** 2))
    )
    assert _close(values["paths"][0], entry @ delta, FLOAT64_DERIVATIVE_REL)
    assert _close(values["gap"], entry @ delta, FLOAT64_DERIVATIVE_REL)
    assert np.max(np.abs(values["gap"])) > 1e-3  # the path is not negligible here
    # Its gates: 2 left of U_f, 2 between U_f and U_o, 2 right of U_o (6 in 1-D).
    gates = [segments_and_weights for _, segments_and_weights in path.gates]
    assert [w for _, w in gates] == [("U_f", "U_o"), ("U_i", "U_o"), ("U_c", "U_o")]
    assert [tuple(len(s) for s in segments) for segments, _ in gates] == [(2, 2, 2)] * 3


def test_later_paths_read_the_named_exact_tangent():
    ms = derive_vector_steps("lstm", 3)
    first, second = ms.paths
    assert first.later == (2,) and second.later == () and second.tangents == ((1, 0),)
    assert ms.tangents == ((1, 0),) and first.gates and not second.gates
    text = ms.text()
    assert "dh_t/dc_{t-1} = [J_t e_{t-1}]_h" in text
    assert "δ_{t+1} = ∂h_{t+1}/∂o_{t+1} do_{t+1}/dc_{t-1} = " in text
    assert "U_o dh_t/dc_{t-1}" in text and "M_1 = A_{t+2} ∂c_{t+1}/∂h_t δ_t" in text
    assert "dc_{t+2}/dc_{t-1} = P + M_1 + M_2" in text


# ---------------------------------------------------------------- PyTorch


def _t(torch, a):
    return torch.tensor(np.asarray(a), dtype=torch.float64)


def _torch_module(torch, name, p, m, n, rng):
    """nn.LSTMCell / nn.GRUCell / nn.RNNCell with the cell's weights (each bias
    split in two at random: torch adds b_ih and b_hh)."""
    if name == "lstm":
        module = torch.nn.LSTMCell(m, n, dtype=torch.float64)
        gates = ["i", "f", "c", "o"]  # torch's order: input, forget, cell, output
        w = [p[f"W_{g}"] for g in gates], [p[f"U_{g}"] for g in gates]
        extra = [rng.normal(size=n) for _ in gates]
        b = [p[f"b_{g}"] - e for g, e in zip(gates, extra, strict=True)], extra
    elif name == "gru-torch":
        module = torch.nn.GRUCell(m, n, dtype=torch.float64)
        gates = ["r", "z", "n"]
        w = [p[f"W_{g}"] for g in gates], [p[f"U_{g}"] for g in gates]
        b = [p[f"b_i{g}"] for g in gates], [p[f"b_h{g}"] for g in gates]
    else:
        module = torch.nn.RNNCell(m, n, nonlinearity="tanh", dtype=torch.float64)
        extra = rng.normal(size=n)
        w, b = ([p["W"]], [p["U"]]), ([p["b"] - extra], [extra])
    with torch.no_grad():
        module.weight_ih.copy_(_t(torch, np.concatenate(w[0])))
        module.weight_hh.copy_(_t(torch, np.concatenate(w[1])))
        module.bias_ih.copy_(_t(torch, np.concatenate(b[0])))
        module.bias_hh.copy_(_t(torch, np.concatenate(b[1])))
    return module


@pytest.mark.parametrize("steps", STEPS)
@pytest.mark.parametrize("name", ["lstm", "gru-torch", "rnn"])
def test_the_product_of_state_jacobians_equals_autograd_of_k_torch_steps(torch, name, steps):
    # torch has no o_{t-1} convention: compare the exact product of the state
    # Jacobians, J_{t+K-1} ... J_t, at h_{t-1} = o_{t-1} tanh c_{t-1}, and the
    # exact derivative as that product applied to e_{t-1} = (I; diag(o (1 - tanh^2 c))).
    cell = get_cell(name)
    ms = derive_vector_steps(cell, steps, "per step")
    n, m = 3, 2
    rng = np.random.default_rng([SEED, 6, steps])
    p, xs = _point(cell, n, m, steps, rng)
    values = ms.evaluate(_arrays(ms, p, xs))
    module = _torch_module(torch, name, p, m, n, rng)
    inputs = [_t(torch, x) for x in xs]
    if name == "lstm":
        c0 = p["c_prev"]
        h0 = p["o_prev"] * np.tanh(c0)

        def unrolled(c, h):
            for x in inputs:
                h, c = module(x, (h, c))
            return c, h

        blocks = torch.autograd.functional.jacobian(unrolled, (_t(torch, c0), _t(torch, h0)))
        reference = np.block([[b.numpy() for b in row] for row in blocks])
        tangent = np.vstack([np.eye(n), np.diag(p["o_prev"] * (1 - np.tanh(c0) ** 2))])
        exact = (reference @ tangent)[:n]
    else:

        def unrolled(h):
            for x in inputs:
                h = module(x, h)
            return h

        reference = torch.autograd.functional.jacobian(unrolled, _t(torch, p["h_prev"])).numpy()
        exact = reference
    scale = np.max(np.abs(reference))
    assert np.max(np.abs(values["states"] - reference)) <= TORCH_REL * scale
    assert np.max(np.abs(values["exact"] - exact)) <= TORCH_REL * (1 + np.max(np.abs(exact)))


# ---------------------------------------------------------------- the self-check can fail


def test_a_path_off_by_a_thousandth_fails_the_self_check():
    ms = derive_vector_steps("lstm", 2)
    (path,) = ms.paths
    ((chain, tangent),) = path.delta
    off = Chain(chain.coeff * sympy.Rational(1001, 1000), chain.factors)
    planted = dataclasses.replace(ms, paths=(dataclasses.replace(path, delta=((off, tangent),)),))
    check = check_steps(planted)
    assert not check.passed and check.max_error > 1e-5


@pytest.mark.parametrize("steps", [2, 3])
def test_a_state_jacobian_block_at_the_wrong_step_fails_the_self_check(steps):
    # J_{t+1}'s dh/dh_prev block read at step t's values. At K = 2 it does not
    # reach dc_{t+1}/dc_{t-1}; the printed product of the state Jacobians shows it.
    ms = derive_vector_steps("lstm", steps)
    blocks = [list(map(list, step)) for step in ms.blocks]
    blocks[1][1][1] = ms.blocks[0][1][1]
    planted = dataclasses.replace(
        ms, blocks=tuple(tuple(tuple(row) for row in step) for step in blocks)
    )
    assert not check_steps(planted).passed


# ---------------------------------------------------------------- mistakes, by name


def test_steps_out_of_range_and_missing_arrays_are_refused_by_name():
    with pytest.raises(ValueError, match=f"steps must be an integer from 1 to {MAX_STEPS}, not 0"):
        derive_vector_steps("lstm", 0)
    with pytest.raises(ValueError, match="from 1 to 8, not 9"):
        derive_vector_steps("lstm", MAX_STEPS + 1)
    with pytest.raises(ValueError, match="inputs must be 'shared' or 'per step'"):
        derive_vector_steps("lstm", 2, "each")
    ms = derive_vector_steps("lstm", 2)
    p, xs = _point(ms.cell, 3, 2, 2, np.random.default_rng(SEED), "shared")
    arrays = _arrays(ms, p, xs)
    with pytest.raises(ValueError, match=r"missing o_prev; unknown h_prev \(over 2 steps: U_c"):
        ms.evaluate({**{k: v for k, v in arrays.items() if k != "o_prev"}, "h_prev": p["h_prev"]})
    with pytest.raises(ValueError, match=r"U_f must have shape \(\.\.\., 3, 3\)"):
        ms.evaluate({**arrays, "U_f": np.eye(2)})


# ---------------------------------------------------------------- the command line


def _run(*argv):
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


@pytest.mark.parametrize("fmt", ["text", "latex", "markdown", "json"])
def test_derive_vector_steps_in_every_format(fmt):
    code, out = _run("derive", "lstm", "--vector", "--steps", "2", "--format", fmt)
    assert code == 0
    if fmt == "json":
        data = json.loads(out)
        assert (data["steps"], data["form"], data["target"], data["source"]) == (
            2,
            "matrix",
            "c",
            "c_prev",
        )
        assert data["check"]["passed"] and data["check"]["max_error"] < 1e-11
        (path,) = data["paths"]
        assert path["through"] == ["o"] and path["state"] == "h"
        assert [g["segments"] for g in path["gates"]] == [[2, 2, 2]] * 3
        assert path["delta"]["text"] == (
            "diag(o_t ⊙ (1 - o_t) ⊙ tanh c_t) U_o diag(o_{t-1} ⊙ (1 - tanh² c_{t-1}))"
        )
        assert data["exact_latex"] == r"\Big[J_{t+1} J_{t}\, e_{t-1}\Big]_{c}"
        return
    ms = derive_vector_steps("lstm", 2)
    assert out == ms.render(fmt)
    if fmt == "text":
        assert "P = A_{t+1} A_t" in out and "M_1 = ∂c_{t+1}/∂h_t δ_t    [through o_t]" in out
        assert "e_{t-1} = ds_{t-1}/dc_{t-1} = [I; diag(o_{t-1} ⊙ (1 - tanh² c_{t-1}))]" in out
        assert "[6 gates: 2 | 2 | 2 around U_f, U_o; 1-D: 6]" in out
        assert re.search(r"at 24 random points \(seed 20201113, n = 3, m = 2", out)
    else:
        assert r"\operatorname{diag}" in out and r"\delta_{t}" in out


def test_the_check_line_says_what_it_checked():
    detail = derive_vector_steps("gru", 3).check.detail
    assert detail.startswith(
        "the printed exact form = the Jacobian of the unrolled 3-step forward pass by the "
        "complex step ($h = 10^{-20}$) ("
    )
    assert "the product + the missed paths = the exact form" in detail
    assert "at 24 random points (seed 20201113, n = 3, m = 2" in detail
    assert "central differences" in derive_vector_steps("rnn-relu", 2).check.detail


def test_every_cell_file_example_derives_over_steps():
    for path in ("examples/peephole-lstm.toml", "examples/indrnn.toml",
                 "examples/gru-late-reset-output.toml"):  # fmt: skip
        code, out = _run("derive", "--cell-file", path, "--vector", "--steps", "3", "--format",
                         "json")  # fmt: skip
        assert code == 0 and json.loads(out)["check"]["passed"], path


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--steps", "9"], "--steps: 9 is above the maximum 8"),
        (["--steps", "0"], "--steps: 0 is below the minimum 1"),
        (["--steps", "2", "--at", "x=1"], "a matrix-form derivative has no scalar point"),
        (["--at", "x=1"], "Python API"),
        (["--steps", "2", "--wrt", "state"], "--steps: derives the cell's own derivative"),
        (["--steps", "2", "--wrt", "U_f"], "drop --wrt and --of"),
        (["--steps", "2", "--of", "h"], "drop --wrt and --of"),
    ],
)
def test_refusals_are_one_line_with_exit_2(capsys, extra, message):
    assert main(["derive", "lstm", "--vector", *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


# ---------------------------------------------------------------- LaTeX that fits


def _display_rows(markdown: str) -> list[list[str]]:
    blocks = re.findall(r"\\begin\{aligned\}\n(.*?)\n\\end\{aligned\}", markdown, re.S)
    return [[r.strip() for r in b.split(" \\\\\n")] for b in blocks]


@pytest.mark.parametrize("name", CELLS)
def test_markdown_blocks_fit_a_default_article(name):
    for steps in STEPS:
        markdown = derive_vector_steps(_cell(name), steps).render("markdown")
        for rows in _display_rows(markdown):
            assert align_width(rows) <= ARTICLE_TEXTWIDTH, (name, steps, rows)


@needs_pdflatex
def test_latex_compiles_in_a_default_article_with_no_overfull_box(tmp_path):
    names, starts, body = [], [], []
    line = ARTICLE.count("\n") + 2
    for name in [*CELLS, "gru-late-reset", "gru-torch"]:
        for steps in (*STEPS, MAX_STEPS):
            fragment = derive_vector_steps(_cell(name), steps).latex()
            names.append((name, steps))
            starts.append(line)
            body.append(fragment)
            line += fragment.count("\n")
    text = ARTICLE + "\\begin{document}\n" + "".join(body) + "\\end{document}\n"
    compile_latex(tmp_path, "steps.tex", text)
    boxes = overfull((tmp_path / "steps.log").read_text())

    def source(at):
        return next(n for n, s in zip(names[::-1], starts[::-1], strict=True) if s <= at)

    assert [(pt, source(at)) for pt, at in boxes if pt > OVERFULL_PT] == []


@needs_pdflatex
def test_standalone_document_compiles(tmp_path):
    code, out = _run("derive", "lstm", "--vector", "--steps", "2", "--standalone")
    assert code == 0 and out.startswith("\\documentclass") and "\\maketitle" in out
    compile_latex(tmp_path, "doc.tex", out)
    assert [pt for pt, _ in overfull((tmp_path / "doc.log").read_text()) if pt > OVERFULL_PT] == []
