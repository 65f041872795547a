"""The house keeps its shape: imports point one way, modules stay small.

:data:`LAYERS` is the architecture, bottom first; a module may import only
modules listed before it, at module level or inside a function (an import
inside a function may delay a heavy module, never point up). Read from the
source with :mod:`ast`, so nothing is imported to check it.
"""

import ast
from pathlib import Path

PACKAGE = Path(__file__).parent.parent / "symgrad"

#: Every module of the package, bottom layer first.
LAYERS = (
    "defaults",
    "threads",
    "text",
    "texfonts",
    "texparse",
    "texlayout",
    "texwidth",
    "primitives",
    "expr",
    "cells",
    "cellfile",
    "ranges",
    "render",
    "documents",
    "linear",
    "vecrender",
    "vecstepsrender",
    "numeric",
    "vecnumeric",
    "derivation",
    "multistep",
    "lemmas",
    "veccheck",
    "vecsteps",
    "vector",
    "vecexact",
    "veckernel",
    "stats",
    "sampling",
    "lyapunov",
    "weights",
    "network",
    "check",
    "certify",
    "suprema",
    "extrema",
    "bounds",
    "montecarlo",
    "trajectory",
    "flow",
    "ndsearch",
    "evidence",
    "evidence_symbolic",
    "evidence_numeric",
    "evidence_nd",
    "evidence_nd_lstm",
    "evidence_nd_gru",
    "claims",
    "report",
    "report.bounds",
    "report.check",
    "report.claims",
    "report.flow",
    "report.spectrum",
    "report.listing",
    "plot",
    "arguments",
    "cli",
    "__init__",
    "__main__",
)
MAX_LINES = 900


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        name = ".".join(parts)
        out[
            name.removesuffix(".__init__") if parts[-1] == "__init__" and len(parts) > 1 else name
        ] = path
    return out


def _imports(name: str, path: Path):
    """(imported symgrad module, imported names, line) for every import in the file."""
    package = name.split(".")[:-1] if path.name != "__init__.py" else name.split(".")
    if name == "__init__":
        package = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = ".".join([*base, *(node.module.split(".") if node.module else [])])
            elif node.module and node.module.split(".")[0] == "symgrad":
                target = node.module.removeprefix("symgrad").lstrip(".")
            else:
                continue
            names = [a.name for a in node.names]
            if not target:  # from . import x: the modules x
                for a in names:
                    yield a, [], node.lineno
            else:
                yield target, names, node.lineno
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "symgrad":
                    yield a.name.removeprefix("symgrad").lstrip(".") or "__init__", [], node.lineno


def test_every_module_has_a_layer():
    assert sorted(_modules()) == sorted(LAYERS)


def test_imports_point_down():
    modules = _modules()
    rank = {name: k for k, name in enumerate(LAYERS)}
    upward = []
    for name, path in modules.items():
        for target, _, line in _imports(name, path):
            if target not in rank:  # an attribute of the package, e.g. __version__
                assert target in ("__version__",), f"{name}:{line} imports unknown {target}"
                continue
            if rank[target] >= rank[name] and name not in ("__init__", "__main__"):
                upward.append(f"{name}:{line} imports {target}")
    assert not upward, "imports that point up (or sideways):\n" + "\n".join(upward)


def test_no_private_name_crosses_a_module():
    crossing = [
        f"{name}:{line} imports {target}.{n}"
        for name, path in _modules().items()
        for target, names, line in _imports(name, path)
        for n in names
        if n.startswith("_") and not n.startswith("__")
    ]
    assert not crossing, "\n".join(crossing)


def test_no_module_is_over_the_limit():
    long = {
        name: n
        for name, path in _modules().items()
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_the_readme_layout_names_every_module():
    readme = (PACKAGE.parent / "README.md").read_text()
    layout = readme[readme.index("## Layout") :]
    named = {
        name: f"`{name}/`" if (PACKAGE / name).is_dir() else f"`{name.split('.')[-1]}.py`"
        for name in LAYERS
        if not name.startswith("__")
    }
    missing = [name for name, text in named.items() if text not in layout]
    assert not missing, f"README's Layout does not name {missing}"
