"""The package's import structure: no cycle between modules, arrows only run down the layers, and
`import genie_exp` (the Python API) pulls in neither Hydra nor a stage."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PKG = "genie_exp"
# Layers, bottom up. A module may import its own package and anything of a LOWER layer, never a
# package of its own layer or above (stages do not import each other; quant/ never imports recon/).
LAYERS = [
    ["choices"],
    ["core"],
    ["config"],
    ["data", "models", "partition", "top1", "hydra_config"],
    ["quant", "distillation", "teachers"],
    ["recon", "validate", "tracking", "artifact", "run_record"],
    ["api_run", "pipeline", "sweep"],
    ["api", "bench", "report", "cli", "export"],  # export/: its __main__ and the API's calls
    ["__main__", "train", "train.__main__", "export.__main__", "bench.__main__", "report.__main__"],
]
RANK = {name: i for i, layer in enumerate(LAYERS) for name in layer}


def _modules() -> dict[str, Path]:
    out = {}
    for path in (SRC / PKG).rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Every genie_exp module `name` imports, at any depth of its code (function bodies included)."""
    is_pkg = path.name == "__init__.py"
    here = name.split(".") if is_pkg else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        targets = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = here[: len(here) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
        for t in targets:
            while t and t not in modules:
                t = t.rpartition(".")[0]
            if t.startswith(PKG + ".") and t != name:
                found.add(t)
    return found


def _layer_key(module: str) -> str:
    rest = module[len(PKG) + 1:]
    for key in (rest, rest.split(".")[0]):
        if key in RANK:
            return key
    raise AssertionError(f"{module} is in no layer of tests/test_imports.py: place it")


def test_every_module_has_a_layer_and_arrows_only_run_down():
    modules = _modules()
    bad = []
    for name, path in modules.items():
        if name == PKG:
            continue
        mine = _layer_key(name)
        for dep in _imports(name, path, modules):
            theirs = _layer_key(dep)
            same_package = mine.split(".")[0] == theirs.split(".")[0]
            if not same_package and RANK[theirs] >= RANK[mine]:
                bad.append(f"{name} -> {dep}")
    assert not bad, "imports that do not run down the layers:\n" + "\n".join(sorted(bad))


# Below the entry points the stages take the settings dataclasses and the RunContext: Hydra's config
# tree ends at pipeline.run, the bench and the command lines (hydra_config.to_config).
TYPED = ("choices", "core", "config", "data", "models", "partition", "top1", "quant", "distillation", "teachers",
         "recon")


def _third_party_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_no_stage_below_the_entry_points_reads_the_config_tree():
    bad = []
    for name, path in _modules().items():
        key = _layer_key(name) if name != PKG else None
        if key is None or key.split(".")[0] not in TYPED:
            continue
        tree_libs = _third_party_imports(path) & {"omegaconf", "hydra"}
        bad += [f"{name} imports {lib}" for lib in sorted(tree_libs)]
    assert not bad, "\n".join(bad)


def test_no_import_cycle():
    modules = _modules()
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> None:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                cycle = stack[stack.index(m):] + [m]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if m not in state:
                visit(m)
        stack.pop()
        state[n] = 2

    for n in sorted(graph):
        if n not in state:
            visit(n)


def _last_line_of(code: str) -> str:
    """`code` in a fresh interpreter (nothing imported yet); the last line it printed."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip().splitlines()[-1]


def test_the_api_needs_no_hydra():
    """distill + quantize + evaluate on a tiny model, in a fresh process: Hydra is never imported."""
    code = ("import sys, torch, genie_exp\n"
            "from genie_exp.models import create_model\n"
            "m = create_model('resnet20', width=4).eval()\n"
            "x = genie_exp.distill(m, samples=8, batch_size=8, iters=2, progress=False, image_size=16)\n"
            "q = genie_exp.quantize(m, x, w_bits=4, a_bits=4, iters=2, batch_size=4, progress=False)\n"
            "genie_exp.evaluate(q, x, torch.zeros(8, dtype=torch.long))\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'hydra'))")
    assert _last_line_of(code) == "[]"


def test_importing_the_package_imports_no_stage():
    code = ("import sys, genie_exp\n"
            "print(sorted(m for m in sys.modules if m.startswith('genie_exp.')))")
    assert _last_line_of(code) == "[]"


def test_the_api_names_stay_callable_after_every_module_is_imported():
    """A submodule named like an API function would replace it on the package once imported."""
    code = ("import importlib, pkgutil, genie_exp\n"
            "for m in pkgutil.walk_packages(genie_exp.__path__, 'genie_exp.'):\n"
            "    if not m.name.endswith('__main__'):\n"
            "        importlib.import_module(m.name)\n"
            "print([n for n in ('distill', 'quantize', 'evaluate', 'load_quantized', 'save_quantized')\n"
            "       if not callable(getattr(genie_exp, n))])")
    assert _last_line_of(code) == "[]"
