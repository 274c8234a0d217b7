"""The package's imports point down the data flow and form no cycle (read from the source, AST).

Layers, lowest first: base (paths, params, registries, runtime state) <- data <- models
(nets, losses, tricks, metrics, the domain classifier) <- training (the trainers, the loop,
the study kinds) <- stages (and the pipeline files, validation) <- report <- cli. A module
may import from its own layer or any lower one; imports inside functions count too, imports
under `if TYPE_CHECKING:` (annotations only) do not.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "gangrid"
LAYERS: dict[str, tuple[str, ...]] = {
    "base": ("gangrid", "gangrid.errors", "gangrid.registry", "gangrid.io", "gangrid.config", "gangrid.runtime",
             "gangrid.artifacts", "gangrid.stagetable", "gangrid.timings", "gangrid.plotting", "gangrid.yaml12",
             "gangrid.resources"),
    "data": ("gangrid.data",),
    "models": ("gangrid.nets", "gangrid.losses", "gangrid.tricks", "gangrid.metrics", "gangrid.classifier"),
    "training": ("gangrid.training", "gangrid.kinds"),
    "stages": ("gangrid.stages", "gangrid.pipelines", "gangrid.validate", "gangrid.memory", "gangrid.buildcheck",
               "gangrid.repro"),
    "report": ("gangrid.report",),
    "cli": ("gangrid.cli", "gangrid.worker", "gangrid.presets", "gangrid.preflight"),
}
ORDER = list(LAYERS)


def modules(src: Path = SRC, package: str = PACKAGE) -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its own name)."""
    out = {}
    for path in sorted((src / package).rglob("*.py")):
        name = ".".join(path.relative_to(src).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = path
    return out


def imports(path: Path, name: str, known: dict[str, Path]) -> set[str]:
    """The package modules `path` imports (anywhere but under `if TYPE_CHECKING:`)."""
    tree = ast.parse(path.read_text())
    skipped = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
               for n in ast.walk(node)}
    base = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                prefix = base
                for _ in range(node.level - 1):
                    prefix = prefix.rpartition(".")[0]
                module = f"{prefix}.{module}" if module else prefix
            targets = [f"{module}.{a.name}" for a in node.names] + [module]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name and target.startswith(PACKAGE):
                found.add(target)
    return found


def layer_of(module: str) -> str:
    """The layer of a module: the one whose prefix matches it most specifically."""
    best, length = None, -1
    for layer, prefixes in LAYERS.items():
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and len(p) > length:
                best, length = layer, len(p)
    if best is None:
        raise AssertionError(f"module {module} is in no layer: add it to LAYERS in {__file__}")
    return best


def import_graph() -> dict[str, set[str]]:
    """module -> the package modules it imports."""
    known = modules()
    return {name: imports(path, name, known) for name, path in known.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected sets of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """`a (layer) -> b (layer)` for every import of a higher layer's module."""
    bad = []
    for module, targets in sorted(graph.items()):
        mine = ORDER.index(layer_of(module))
        for target in sorted(targets):
            if ORDER.index(layer_of(target)) > mine:
                bad.append(f"{module} ({layer_of(module)}) -> {target} ({layer_of(target)})")
    return bad


def test_imports_point_down_the_layers():
    assert upward_imports(import_graph()) == []


def test_no_import_cycles():
    assert cycles(import_graph()) == []


def test_every_module_has_a_layer():
    for module in modules():
        layer_of(module)


def test_the_checks_catch_what_they_are_for(tmp_path):
    """The graph, the cycle finder and the layer check on a toy package (so the tests above can fail)."""
    pkg = tmp_path / PACKAGE
    (pkg / "data").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "data" / "__init__.py").write_text("def f():\n    from gangrid.report import x\n")
    (pkg / "report.py").write_text("from gangrid.data import y\nif TYPE_CHECKING:\n    from gangrid.cli import z\n")
    (pkg / "cli.py").write_text("")
    known = modules(tmp_path)
    graph = {name: imports(path, name, known) for name, path in known.items()}
    assert graph["gangrid.data"] == {"gangrid.report"}  # an import inside a function counts
    assert graph["gangrid.report"] == {"gangrid.data"}  # a TYPE_CHECKING import does not
    assert cycles(graph) == [["gangrid.data", "gangrid.report"]]
    assert upward_imports(graph) == ["gangrid.data (data) -> gangrid.report (report)"]
    with pytest.raises(AssertionError, match="in no layer"):
        layer_of("elsewhere.module")
