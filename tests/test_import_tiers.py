"""The package's imports point down only (docs/design.md, "The Python tiers").

Every module of python/densekit is read with `ast` (no import runs) and each of its imports —
at module level or deferred into a function — is resolved to a module of the package. The test
fails on:
- a module missing from the tier table below (a new module must be placed in a tier);
- an import of a module in a higher tier, or of the package facade (`densekit/__init__.py`,
  which imports everything), from anywhere below it;
- any import cycle, even within one tier;
- a deferred import (inside a function or class body) of anything but an optional dependency:
  deferring an import must never be the way a cycle is hidden.
It also times `import densekit` in a fresh interpreter (the facade imports every tier).
"""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

import densekit

PACKAGE = Path(densekit.__file__).parent

# Tier of every module, lowest first; a module imports only modules of its own tier or below
# (and, within a tier, without cycles). One line of the design notes each.
TIERS = {
    0: ["_version", "_native", "_pyplot", "_features", "_checks", "_config", "_files",
        "model_file", "_arguments", "utils"],
    1: ["activations", "initializers", "regularizers", "constraints", "losses", "optimizers",
        "learning_rate_schedule"],
    2: ["layers", "layers.base", "layers.core", "layers.dropout", "layers.normalization",
        "layers.quantized"],
    3: ["_data", "datasets", "layer_statistics", "pruning", "callbacks", "progress"],
    4: ["training", "saving", "folding", "sparsity", "pickling", "quantization"],
    5: ["models"],
    6: ["diagnostics", "learning_rate_finder", "cloning", "pretrain", "presets", "schedules",
        "threadpool", "sklearn", "sklearn._base", "sklearn._stopping", "sklearn.classifier",
        "sklearn.regressor", "integrations", "integrations._metrics", "integrations.optuna",
        "integrations.ray", "export", "export.onnx_activations", "export.onnx_graph",
        "export.onnx_layers", "export.onnx_quantized", "export.onnx_model", "distributed", "distributed.sharding",
        "distributed.mpi_runtime", "distributed.sharded_network", "distributed.strategy"],
    7: ["cli", "cli.columns", "cli.data", "cli.demo", "cli.describe", "cli.errors", "cli.export",
        "cli.inference", "cli.quantize", "cli.train", "__main__"],
    8: [""],  # the package facade, densekit/__init__.py
}
TIER_OF = {name: tier for tier, names in TIERS.items() for name in names}

# Third-party packages a deferred import may name: optional extras, imported where used so that
# the core install neither needs nor loads them.
OPTIONAL = {"matplotlib", "sklearn", "pandas", "torch", "onnx", "onnxruntime", "mpi4py", "ray",
            "optuna", "tensorboardX", "threadpoolctl"}


def module_names():
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = module_names()


def _resolve(module, node, level_base):
    """Package-relative names an ImportFrom / Import node refers to (submodules included)."""
    if isinstance(node, ast.Import):
        names = []
        for alias in node.names:
            if alias.name == "densekit" or alias.name.startswith("densekit."):
                names.append(alias.name[len("densekit."):] if "." in alias.name else "")
        return names
    if node.level == 0:
        if node.module == "densekit" or (node.module or "").startswith("densekit."):
            base = node.module[len("densekit."):] if "." in node.module else ""
        else:
            return []
    else:
        parts = level_base.split(".") if level_base else []
        parts = parts[:len(parts) - (node.level - 1)] if node.level > 1 else parts
        base = ".".join(parts + ([node.module] if node.module else []))
    targets = []
    for alias in node.names:
        sub = f"{base}.{alias.name}" if base else alias.name
        targets.append(sub if sub in MODULES else base)
    return targets


def imports_of(module):
    """[(target module, deferred, line, third-party top name or None)] of a module."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(), filename=str(path))
    is_package = path.name == "__init__.py"
    level_base = module if is_package else module.rpartition(".")[0]
    found = []

    def visit(node, deferred):
        for child in ast.iter_child_nodes(node):
            inner = deferred or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                   ast.Lambda, ast.ClassDef))
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                internal = _resolve(module, child, level_base)
                for target in internal:
                    found.append((target, inner, child.lineno, None))
                if not internal:
                    tops = ([a.name.split(".")[0] for a in child.names] if isinstance(child, ast.Import)
                            else [(child.module or "").split(".")[0]])
                    for top in tops:
                        found.append((None, inner, child.lineno, top))
            visit(child, inner)

    visit(tree, False)
    return found


def test_every_module_has_a_tier():
    missing = sorted(set(MODULES) - set(TIER_OF))
    stale = sorted(set(TIER_OF) - set(MODULES))
    assert not missing, f"modules without a tier in TIERS (and in docs/design.md): {missing}"
    assert not stale, f"TIERS names modules that do not exist: {stale}"


def test_imports_point_down_only():
    bad = []
    for module in MODULES:
        for target, _, line, _ in imports_of(module):
            if target is None or target == module:
                continue
            if TIER_OF[target] > TIER_OF[module]:
                bad.append(f"{module or '__init__'}:{line} imports {target or 'densekit (the facade)'} "
                           f"(tier {TIER_OF[target]} > {TIER_OF[module]})")
    assert not bad, "imports pointing up a tier:\n" + "\n".join(bad)


def test_no_import_cycles():
    graph = {m: sorted({t for t, _, _, _ in imports_of(m) if t is not None and t != m})
             for m in MODULES}
    # A package's submodules import their package's __init__ implicitly; layers/__init__ only
    # re-exports its submodules, so that edge is not a cycle of our making.
    graph["layers"] = [t for t in graph["layers"] if not t.startswith("layers.")]
    state, stack, cycles = {}, [], []

    def dfs(node):
        state[node] = 1
        stack.append(node)
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                dfs(nxt)
        stack.pop()
        state[node] = 2

    for m in graph:
        if m not in state:
            dfs(m)
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def _modules_needing_an_optional_dependency():
    """Package modules that import an optional dependency at their top, directly or through
    another such module (e.g. the ONNX converters import onnx): deferring the import of such a
    module is deferring that dependency."""
    needs = set()
    while True:
        more = {m for m in MODULES if m not in needs and any(
            not deferred and (top in OPTIONAL if target is None else target in needs)
            for target, deferred, _, top in imports_of(m))}
        if not more:
            return needs
        needs |= more


def test_deferred_imports_are_only_for_optional_dependencies():
    optional_modules = _modules_needing_an_optional_dependency()
    bad = []
    for module in MODULES:
        for target, deferred, line, top in imports_of(module):
            allowed = top in OPTIONAL if target is None else target in optional_modules
            if deferred and not allowed:
                bad.append(f"{module or '__init__'}:{line} defers importing "
                           f"{target if target is not None else top}")
    assert not bad, ("deferred imports of non-optional modules (import them at the top; if that "
                     "makes a cycle, the design is wrong):\n" + "\n".join(bad))


def test_the_table_is_what_the_test_reads():
    """The tier test guards itself: it sees deferred imports and upward edges when they exist."""
    code = "def f():\n    from .models import Sequential\n"
    tree = ast.parse(code)
    node = tree.body[0].body[0]
    assert _resolve("folding", node, "") == ["models"]


IMPORT_BUDGET_SECONDS = 0.3


def test_import_is_fast():
    """`import densekit` (NumPy and the C++ core included) in a fresh interpreter costs at most
    0.3 s. Measured as the process's CPU time, best of five: on a machine shared with builds the
    wall time swings several-fold with the load, the CPU time does not (on a quiet machine the two
    agree within a few tens of ms; NumPy alone is ~0.1-0.15 s of it)."""
    code = ("import time; w = time.perf_counter(); c = time.process_time(); import densekit; "
            "print(time.process_time() - c, time.perf_counter() - w)")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(PACKAGE.parent),
                                                                     os.environ.get("PYTHONPATH")])))
    cpu, wall = [], []
    for _ in range(5):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                             check=True)
        c, w = map(float, out.stdout.strip().splitlines()[-1].split())
        cpu.append(c)
        wall.append(w)
    print(f"import densekit: CPU {min(cpu):.3f} s, wall {min(wall):.3f} s (best of 5)")
    if min(cpu) > IMPORT_BUDGET_SECONDS:
        pytest.fail(f"import densekit took {min(cpu):.3f} s of CPU at best of 5 "
                    f"(budget {IMPORT_BUDGET_SECONDS} s): {cpu}; wall {wall}")
