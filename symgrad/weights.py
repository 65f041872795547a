"""A trained single-layer PyTorch recurrent network, read into symgrad's names.

``load_weights(path, cell=None)`` reads the ``state_dict`` of one
``nn.LSTM``/``nn.GRU``/``nn.RNN`` (one layer, one direction, no projection) or
one ``nn.LSTMCell``/``nn.GRUCell``/``nn.RNNCell`` and returns its parameters
under the ASCII names of the built-in cells (SPEC section 1) as float64 NumPy
arrays: weights ``W_g`` of shape (n, m), recurrent weights ``U_g`` of shape
(n, n), biases ``b_g`` of shape (n,), n the hidden size and m the input size.

The mapping, :data:`TORCH_LAYOUT` (one table; nothing else knows torch's order).
torch stacks a module's gates as row blocks of n rows each, in this order:

======  =============  ==================  ==================  ===========================
module  cell           weight_ih blocks    weight_hh blocks    bias_ih, bias_hh blocks
======  =============  ==================  ==================  ===========================
LSTM    ``lstm``       W_i, W_f, W_c, W_o  U_i, U_f, U_c, U_o  both b_i, b_f, b_c, b_o (sum)
GRU     ``gru-torch``  W_r, W_z, W_n       U_r, U_z, U_n       b_ir, b_iz, b_in; b_hr, b_hz,
                                                               b_hn (kept apart)
RNN     ``rnn``        W                   U                   both b (sum)
======  =============  ==================  ==================  ===========================

torch calls the LSTM's candidate g (rows i, f, g, o); symgrad calls it
``c_hat`` with parameters ``W_c, U_c, b_c``. The GRU keeps its six biases
apart because ``b_hn`` sits inside the reset, r_t (U_n h_{t-1} + b_hn), where
no single bias can stand for it. A module saved with ``bias=False`` has no
bias tensors; its biases are zeros.

The file does not say which module wrote it: the kind is read from the shape
of ``weight_hh`` ((G n, n) with G = 4 gates for an LSTM, 3 for a GRU, 1 for an
RNN) and the form from the key names (``weight_ih_l0`` for a layer,
``weight_ih`` for a cell). A state_dict records no nonlinearity, so an
``nn.RNN(nonlinearity="relu")`` reads as ``rnn`` unless the caller names
``cell="rnn-relu"``. A ``cell`` that contradicts the file is an error.

Formats, by extension: ``.pt``/``.pth`` through ``torch.load(weights_only=True)``
(a pickle that asks for anything but tensors and plain containers is refused
before it can run; torch is imported only here); ``.safetensors`` through
``safetensors.numpy`` and ``.npz`` through ``numpy.load(allow_pickle=False)``,
neither needing torch. A checkpoint may nest the module's tensors under a
prefix (``lstm.weight_ih_l0`` beside ``fc.weight``, or a dict inside a dict)
as long as exactly one recurrent module is in it. Every refusal is one
:class:`WeightsError` line that names the file, the key and what to do.
"""

from __future__ import annotations

import re
import warnings
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "MAX_BYTES",
    "TORCH_LAYOUT",
    "Weights",
    "WeightsError",
    "from_state_dict",
    "load_weights",
]

#: torch's row blocks -> symgrad's parameter names, per module family. ``cells``
#: lists the built-in cells the family can be read as, the default first. A
#: name listed under both ``bias_ih`` and ``bias_hh`` is the sum of the two.
TORCH_LAYOUT = {
    "LSTM": {
        "cells": ("lstm",),
        "weight_ih": ("W_i", "W_f", "W_c", "W_o"),
        "weight_hh": ("U_i", "U_f", "U_c", "U_o"),
        "bias_ih": ("b_i", "b_f", "b_c", "b_o"),
        "bias_hh": ("b_i", "b_f", "b_c", "b_o"),
    },
    "GRU": {
        "cells": ("gru-torch",),
        "weight_ih": ("W_r", "W_z", "W_n"),
        "weight_hh": ("U_r", "U_z", "U_n"),
        "bias_ih": ("b_ir", "b_iz", "b_in"),
        "bias_hh": ("b_hr", "b_hz", "b_hn"),
    },
    "RNN": {
        "cells": ("rnn", "rnn-relu"),
        "weight_ih": ("W",),
        "weight_hh": ("U",),
        "bias_ih": ("b",),
        "bias_hh": ("b",),
    },
}

#: Largest file read (bytes), checked before anything is loaded: a single-layer
#: network of hidden size 8,192 in float32 is ~1 GB, so 2 GB leaves room.
MAX_BYTES = 2 * 1024**3

_EXTENSIONS = (".pt", ".pth", ".safetensors", ".npz")
_TENSORS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
_GATES = {len(layout["weight_hh"]): family for family, layout in TORCH_LAYOUT.items()}
_CELLS = {cell: family for family, layout in TORCH_LAYOUT.items() for cell in layout["cells"]}

# A recurrent module's tensor: optional dotted prefix, torch's name, optional
# layer index and direction. weight_hr is the LSTM's projection (proj_size > 0).
_KEY = re.compile(
    r"(?P<prefix>(?:.+\.)?)(?P<tensor>weight_ih|weight_hh|bias_ih|bias_hh|weight_hr)"
    r"(?P<layer>_l\d+)?(?P<reverse>_reverse)?\Z"
)


class WeightsError(ValueError):
    """A weights file that cannot be read as one single-layer recurrent network."""


@dataclass(frozen=True, eq=False)
class Weights:
    """The parameters of one recurrent network under a built-in cell's names.

    ``cell``: the built-in cell (``lstm``, ``gru-torch``, ``rnn``, ``rnn-relu``).
    ``source_kind``: the torch module the tensors fit (``"nn.LSTM"``,
    ``"nn.GRUCell"``, ...). ``input_size`` m and ``hidden_size`` n. ``params``:
    the cell's parameter names -> read-only float64 arrays, ``W_g`` (n, m),
    ``U_g`` (n, n), biases (n,). ``prefix``: where in the file the module sat
    (``"lstm."``; ``""`` for a bare state_dict). ``source_dtype``: the file's
    floating-point type (values are widened to float64 exactly).
    """

    cell: str
    source_kind: str
    input_size: int
    hidden_size: int
    params: dict
    prefix: str = ""
    source_dtype: str = "float64"


def load_weights(path, cell: str | None = None, *, max_bytes: int = MAX_BYTES) -> Weights:
    """Read a single-layer torch recurrent network's state_dict from ``path``.

    ``path``: a ``.pt``/``.pth`` (``torch.save``), ``.safetensors`` or ``.npz``
    file of at most ``max_bytes`` bytes holding the state_dict of one
    ``nn.LSTM``/``GRU``/``RNN`` (``num_layers=1``, not bidirectional, no
    ``proj_size``) or ``nn.LSTMCell``/``GRUCell``/``RNNCell``, possibly under a
    prefix. ``cell``: the built-in cell to read it as; ``None`` infers it
    (``rnn`` for an RNN, since the file cannot tell tanh from relu).

    Returns a :class:`Weights`. Raises :class:`WeightsError` (one line) on an
    unknown extension, an unreadable or oversized file, a pickle that would
    run code, and every way the tensors can fail to be one such network.
    """
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in _EXTENSIONS:
        raise WeightsError(
            f"{path}: unknown extension {ext or '(none)'!r}; expected one of "
            f"{', '.join(_EXTENSIONS)} (a torch state_dict saved by torch.save, "
            "safetensors or numpy.savez)"
        )
    try:
        size = path.stat().st_size
    except OSError as err:
        raise WeightsError(f"{path}: cannot read the file: {err.strerror}") from None
    if not path.is_file():
        raise WeightsError(f"{path}: cannot read the file: not a regular file")
    _check_budget(path, size, max_bytes, "file")
    if ext == ".npz":
        state = _read_npz(path, max_bytes)
    elif ext == ".safetensors":
        state = _read_safetensors(path)
    else:
        state = _read_torch(path, max_bytes)
    return from_state_dict(state, cell, source=str(path))


def from_state_dict(
    state: Mapping, cell: str | None = None, *, source: str = "state_dict"
) -> Weights:
    """Map an in-memory state_dict to a :class:`Weights`, as :func:`load_weights` does.

    ``state``: key -> array-like (NumPy arrays; nested mappings are read as
    dotted prefixes). ``cell`` as in :func:`load_weights`. ``source`` names the
    state in error messages. Returns a :class:`Weights`; raises
    :class:`WeightsError`.
    """
    if not isinstance(state, Mapping):
        raise WeightsError(
            f"{source}: holds a {type(state).__name__}, not a state_dict (a mapping of "
            "names to tensors); save module.state_dict()"
        )
    if cell is not None and cell not in _CELLS:
        hint = " (torch's nn.GRU is the cell gru-torch)" if cell.startswith("gru") else ""
        raise WeightsError(
            f"{source}: cell {cell!r} cannot be read from torch weights{hint}; "
            f"valid cells: {', '.join(_CELLS)}"
        )
    flat = _flatten(state)
    prefix, keys = _find_module(flat, source)
    layered = _check_structure(prefix, keys, source)
    suffix = "_l0" if layered else ""

    def key(tensor):
        return f"{prefix}{tensor}{suffix}"

    for tensor in ("weight_ih", "weight_hh"):
        if key(tensor) not in flat:
            raise WeightsError(f"{source}: missing key {key(tensor)!r}; {_EXPECTED}")
    has_ih, has_hh = key("bias_ih") in flat, key("bias_hh") in flat
    if has_ih != has_hh:
        present, absent = (key("bias_ih"), key("bias_hh"))[:: 1 if has_ih else -1]
        raise WeightsError(
            f"{source}: missing key {absent!r} ({present!r} is present; torch saves both "
            "biases or, with bias=False, neither)"
        )
    names = [t for t in _TENSORS if key(t) in flat]
    arrays = {t: _as_float_array(flat[key(t)], key(t), source) for t in names}

    w_hh = arrays["weight_hh"]
    if w_hh.ndim != 2 or w_hh.shape[1] == 0 or w_hh.shape[0] % w_hh.shape[1]:
        raise WeightsError(
            f"{source}: {key('weight_hh')!r} has shape {_shape(w_hh)}; expected (G*n, n) with "
            "G = 4 (LSTM), 3 (GRU) or 1 (RNN), n the hidden size"
        )
    n = w_hh.shape[1]
    gates = w_hh.shape[0] // n
    if gates not in _GATES:
        raise WeightsError(
            f"{source}: {key('weight_hh')!r} has shape {_shape(w_hh)}, {gates} blocks of n = {n} "
            "rows; expected 4 (LSTM), 3 (GRU) or 1 (RNN)"
        )
    family = _GATES[gates]
    if cell is not None and _CELLS[cell] != family:
        default = TORCH_LAYOUT[family]["cells"][0]
        raise WeightsError(
            f"{source}: cell {cell!r} contradicts the file: {key('weight_hh')!r} has "
            f"{gates}n rows (n = {n}), an nn.{family}, read as cell {default!r}; "
            f"leave the cell out or name {default!r}"
        )
    cell = cell or TORCH_LAYOUT[family]["cells"][0]

    w_ih = arrays["weight_ih"]
    if w_ih.ndim != 2 or w_ih.shape[0] != gates * n:
        raise WeightsError(
            f"{source}: shape mismatch: {key('weight_ih')!r} is {_shape(w_ih)}, expected "
            f"({gates * n}, m) = ({gates}*n, m) for an nn.{family} with n = {n}"
        )
    m = w_ih.shape[1]
    for t in ("bias_ih", "bias_hh"):
        if t in arrays and arrays[t].shape != (gates * n,):
            raise WeightsError(
                f"{source}: shape mismatch: {key(t)!r} is {_shape(arrays[t])}, expected "
                f"({gates * n},) = ({gates}*n,) for an nn.{family} with n = {n}"
            )
    for t, a in arrays.items():
        bad = int(a.size - np.count_nonzero(np.isfinite(a)))
        if bad:
            raise WeightsError(
                f"{source}: {key(t)!r} holds {bad} NaN or infinite value{'s' * (bad > 1)}; "
                "the network diverged in training or the file is damaged"
            )

    layout = TORCH_LAYOUT[family]
    params: dict[str, np.ndarray] = {}
    for t in _TENSORS:
        # bias=False leaves no bias tensors: zeros are the same network.
        a = arrays.get(t, np.zeros(gates * n))
        for k, name in enumerate(layout[t]):
            block = a[k * n : (k + 1) * n]
            params[name] = params[name] + block if name in params else block.copy()
    for a in params.values():
        a.setflags(write=False)
    dtypes = sorted({str(np.asarray(flat[key(t)]).dtype) for t in names})
    return Weights(
        cell=cell,
        source_kind=f"nn.{family}" if layered else f"nn.{family}Cell",
        input_size=m,
        hidden_size=n,
        params=params,
        prefix=prefix,
        source_dtype=", ".join(dtypes),
    )


_EXPECTED = (
    "expected weight_ih_l0, weight_hh_l0[, bias_ih_l0, bias_hh_l0] (nn.LSTM/GRU/RNN) or "
    "weight_ih, weight_hh[, bias_ih, bias_hh] (nn.LSTMCell/GRUCell/RNNCell)"
)


# ---------------------------------------------------------------- structure


def _flatten(state: Mapping, prefix: str = "") -> dict:
    flat = {}
    for k, v in state.items():
        name = f"{prefix}{k}"
        if isinstance(v, Mapping):
            flat.update(_flatten(v, name + "."))
        else:
            flat[name] = v
    return flat


def _find_module(flat: dict, source: str) -> tuple[str, list]:
    """The one prefix holding recurrent tensors, and its parsed keys."""
    modules: dict[str, list] = {}
    for k in flat:
        match = _KEY.match(str(k))
        if match:
            modules.setdefault(match["prefix"], []).append(match)
    if not modules:
        found = ", ".join(repr(str(k)) for k in list(flat)[:8])
        more = f" and {len(flat) - 8} more" if len(flat) > 8 else ""
        raise WeightsError(
            f"{source}: no recurrent weights found; {_EXPECTED}; found {found or 'no keys'}{more}"
        )
    if len(modules) > 1:
        where = ", ".join(repr(p or "(top level)") for p in modules)
        raise WeightsError(
            f"{source}: {len(modules)} recurrent modules ({where}); symgrad reads one: save "
            "that module's state_dict alone (e.g. model.lstm.state_dict())"
        )
    ((prefix, keys),) = modules.items()
    return prefix, keys


def _check_structure(prefix: str, keys: list, source: str) -> bool:
    """Refuse what a single-layer, one-way, unprojected module cannot hold; True
    if the keys are a layer's (``_l0``), False if a cell's."""
    for match in keys:
        if match["tensor"] == "weight_hr":
            raise WeightsError(
                f"{source}: {match.string!r} is an LSTM projection (proj_size > 0), which "
                "symgrad does not support; use an nn.LSTM without proj_size"
            )
    for match in keys:
        if match["reverse"]:
            raise WeightsError(
                f"{source}: {match.string!r} belongs to a bidirectional network, which symgrad "
                "does not support; use bidirectional=False"
            )
    layers = {match["layer"] for match in keys}
    deeper = [k for k in keys if k["layer"] not in (None, "_l0")]
    if deeper:
        depth = 1 + max(int(k["layer"][2:]) for k in deeper)
        first = min(deeper, key=lambda k: (int(k["layer"][2:]), k["tensor"] != "weight_ih"))
        raise WeightsError(
            f"{source}: a {depth}-layer network ({first.string!r}); symgrad reads a single "
            "layer: use num_layers=1"
        )
    if len(layers) > 1:
        raise WeightsError(
            f"{source}: keys under {prefix or 'the top level'!r} mix a cell's names "
            f"(weight_ih) and a layer's (weight_ih_l0); {_EXPECTED}"
        )
    return layers == {"_l0"}


def _as_float_array(value, key: str, source: str) -> np.ndarray:
    array = np.asarray(value) if not isinstance(value, np.ndarray) else value
    if array.dtype.kind != "f":
        raise WeightsError(
            f"{source}: {key!r} has dtype {array.dtype}, not floating point; save the "
            "module's float weights (float16, float32 or float64)"
        )
    return array.astype(np.float64)


def _shape(array: np.ndarray) -> str:
    return "(" + ", ".join(map(str, array.shape)) + ("," if array.ndim == 1 else "") + ")"


# ---------------------------------------------------------------- file formats


def _check_budget(path: Path, size: int, max_bytes: int, what: str) -> None:
    if size > max_bytes:
        raise WeightsError(
            f"{path}: {what} is {size:,} bytes, over the {max_bytes:,}-byte budget; "
            "a single-layer network's state_dict is far smaller: save only that module"
        )


def _check_zip(path: Path, max_bytes: int) -> None:
    """Refuse a zip whose members unpack past the budget (a zip bomb), unread."""
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError) as err:
        raise WeightsError(f"{path}: cannot read the file: not a valid archive ({err})") from None
    _check_budget(path, unpacked, max_bytes, "its unpacked content")


def _read_npz(path: Path, max_bytes: int) -> dict:
    _check_zip(path, max_bytes)
    state = {}
    try:
        with np.load(path, allow_pickle=False) as archive:
            for key in archive.files:
                state[key] = archive[key]
    except ValueError as err:
        if "allow_pickle" not in str(err):
            raise WeightsError(f"{path}: cannot read the file: {err}") from None
        # np.load says "Object arrays cannot be loaded when allow_pickle=False".
        raise WeightsError(
            f"{path}: refused: an array holds pickled Python objects ({err}); save plain "
            "numeric arrays (numpy.savez(path, **{k: v.numpy() for k, v in sd.items()}))"
        ) from None
    except (OSError, zipfile.BadZipFile, EOFError) as err:
        raise WeightsError(f"{path}: cannot read the file: {err}") from None
    return state


def _read_safetensors(path: Path) -> dict:
    try:
        from safetensors import SafetensorError
        from safetensors.numpy import load_file
    except ImportError:
        raise WeightsError(
            f"{path}: reading .safetensors needs the safetensors package: "
            "pip install safetensors (or save the state_dict as .npz)"
        ) from None
    try:
        return load_file(path)
    except TypeError as err:
        # NumPy has no bfloat16: safetensors.numpy refuses it with a TypeError.
        raise WeightsError(
            f"{path}: holds a tensor type NumPy cannot read ({err}); convert the "
            "state_dict to float32 before saving"
        ) from None
    except (SafetensorError, OSError, ValueError) as err:
        raise WeightsError(f"{path}: cannot read the file: {err}") from None


def _read_torch(path: Path, max_bytes: int) -> dict:
    try:
        import pickle

        import torch
    except ImportError:
        raise WeightsError(
            f"{path}: reading .pt/.pth needs PyTorch: pip install torch (or save the "
            "state_dict as .safetensors or .npz)"
        ) from None
    if zipfile.is_zipfile(path):
        _check_zip(path, max_bytes)
    try:
        # weights_only=True: an unpickler that builds tensors and plain
        # containers only and refuses every other global, so nothing runs.
        with warnings.catch_warnings():
            # torch warns of any pickle protocol but its own before reading or
            # refusing the file: noise beside the one line the caller gets.
            warnings.filterwarnings("ignore", "Detected pickle protocol", UserWarning)
            loaded = torch.load(path, weights_only=True, map_location="cpu")
    except pickle.UnpicklingError as err:
        # torch's message advises weights_only=False: never repeat that; name the global.
        found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", str(err))
        what = f"the global {found[1]}" if found else "more than tensors and plain containers"
        raise WeightsError(
            f"{path}: refused: unpickling it needs {what}, so it could run code; save "
            "module.state_dict() (not the module) with torch.save, or use .safetensors"
        ) from None
    except Exception as err:  # torch raises RuntimeError, EOFError, ... on a damaged file
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise WeightsError(f"{path}: cannot read the file: {first}") from None
    if not isinstance(loaded, Mapping):
        raise WeightsError(
            f"{path}: holds a {type(loaded).__name__}, not a state_dict (a mapping of names "
            "to tensors); save module.state_dict()"
        )
    return _tensors_to_numpy(torch, loaded, path)


def _tensors_to_numpy(torch, value, path):
    if isinstance(value, Mapping):
        return {k: _tensors_to_numpy(torch, v, path) for k, v in value.items()}
    if not isinstance(value, torch.Tensor):
        return value
    try:
        tensor = value.detach().cpu()
        if tensor.layout != torch.strided:
            tensor = tensor.to_dense()
        if tensor.dtype == torch.bfloat16:  # NumPy has no bfloat16; float32 holds it exactly
            tensor = tensor.to(torch.float32)
        return tensor.numpy()
    except (RuntimeError, TypeError) as err:
        raise WeightsError(
            f"{path}: a tensor of type {value.dtype} cannot be converted to NumPy ({err}); "
            "save plain float tensors"
        ) from None
