"""The package is layered, one folder per layer (the interfaces: one per interface), and the
import graph flows one way, down the layers: no upward import, no cycle, and the light modules
import nothing heavy. docs/ARCHITECTURE.md draws the same layers."""

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "unshift"

# Bottom to top: a layer's folders may import their own layer and the ones below it.
LAYERS = [
    ("foundations: errors, registries, plugins, run directories", ["core"]),
    ("building blocks on torch alone", ["nn"]),
    ("domains and datasets", ["data"]),
    ("networks", ["models"]),
    ("evaluation", ["eval"]),
    ("methods: one training step each", ["methods"]),
    ("the training loop, its config and builders", ["training"]),
    ("reports", ["report"]),
    ("runs: train, predict, select", ["runs"]),
    ("interfaces", ["cli", "sklearn", "keras"]),
]
RANKS = {folder: rank for rank, (_, folders) in enumerate(LAYERS) for folder in folders}
TOP_LEVEL = {"__init__", "__main__"}  # the package itself: imports any layer, lazily


def modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts == ("__init__",):
            continue
        name = ".".join(("unshift", *parts)).removesuffix(".__init__")
        yield name, parts[0], ast.parse(path.read_text())


def runtime_nodes(tree):
    """Every node but those under ``if TYPE_CHECKING:`` (read by type checkers only)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


def imports(tree, scope):
    """Modules of ``unshift`` imported at ``scope``: ``module`` level, at ``runtime`` (in
    functions too) or ``all`` (with those for type checkers)."""
    nodes = {"module": tree.body, "runtime": runtime_nodes(tree), "all": ast.walk(tree)}[scope]
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("unshift"):
            yield node.module
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.startswith("unshift"))


def component(module):
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def test_the_folders_are_the_layers():
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    modules_ = {p.stem for p in PACKAGE.glob("*.py")}
    assert folders == set(RANKS)
    assert modules_ == TOP_LEVEL, "a module outside the layer folders"


def test_imports_flow_one_way():
    upward = []
    for name, top, tree in modules():
        for target in imports(tree, "all"):
            other = component(target)
            if other is None or top in TOP_LEVEL:
                continue
            if RANKS[other] > RANKS[top]:
                upward.append(f"{name} imports {target}")
    assert upward == []


@pytest.mark.parametrize("scope", ["module", "runtime"])
def test_no_import_cycles(scope):
    graph = {name: set(imports(tree, scope)) for name, _, tree in modules()}

    def visit(node, path, done):
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done or node not in graph:
            return None
        done.add(node)
        for nxt in graph[node]:
            cycle = visit(nxt, [*path, node], done)
            if cycle:
                return cycle
        return None

    done: set[str] = set()
    for start in graph:
        cycle = visit(start, [], done)
        assert cycle is None, " → ".join(cycle)


def test_no_source_file_over_300_lines():
    long = {
        str(p.relative_to(PACKAGE)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 300
    }
    assert long == {}


CHECK = """
import sys
import {modules}
trainer = 'unshift.training.trainer'
heavy = sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r} or m == trainer)
print(heavy)
"""


@pytest.mark.parametrize(
    "light, heavy",
    [
        (
            "unshift, unshift.nn, unshift.losses, unshift.schedules",
            ("lightning_fabric", "omegaconf", "matplotlib", "sklearn"),
        ),
        (
            "unshift.cli, unshift.training.config, unshift.core.registry, "
            "unshift.training.specs, unshift.core.log_keys",
            ("torch", "lightning_fabric", "matplotlib", "sklearn", "scipy"),
        ),
    ],
)
def test_light_modules_import_nothing_heavy(light, heavy):
    code = CHECK.format(modules=light, heavy=heavy)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("old", sorted(importlib.import_module("unshift.core.moved").MOVED))
def test_a_module_path_of_version_01_imports_the_module_it_became(old):
    from unshift.core.moved import MOVED

    module = importlib.import_module(old)
    assert module is importlib.import_module(MOVED[old])
    assert module.__spec__.name == MOVED[old]  # its own spec, not the old name's
