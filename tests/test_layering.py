"""The import graph flows one way (command → config → run → trainer → methods → building
blocks), has no cycles, and the light modules import nothing heavy."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "unshift"

# Lower ranks sit below higher ones; a module may import its own rank or lower.
RANKS = {
    "errors": 0,
    "log_keys": 0,
    "registry": 0,
    "plugins": 0,
    "schedules": 0,
    "specs": 1,
    "losses": 1,
    "nn": 1,
    "runs": 1,
    "checkpoints": 2,
    "keras": 2,
    "data": 2,
    "models": 3,
    "eval": 3,
    "methods": 4,
    "watchdog": 4,
    "validators": 5,
    "config": 5,
    "trainer": 5,
    "build": 6,
    "sklearn": 6,
    "sklearn_rows": 6,
    "sklearn_base": 6,
    "report": 7,
    "run": 8,
    "predict": 8,
    "selection": 9,
    "cli": 10,
    "cli_args": 10,
    "__main__": 11,
}
# unshift.losses re-exports unshift.nn.AdversarialLoss lazily, for the public name.
ALLOWED_UPWARD = {("losses", "nn")}


def modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts == ("__init__",):
            continue
        name = ".".join(("unshift", *parts)).removesuffix(".__init__")
        yield name, parts[0], ast.parse(path.read_text())


def imports(tree, top_level_only):
    nodes = tree.body if top_level_only else ast.walk(tree)
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("unshift"):
            yield node.module
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.startswith("unshift"))


def component(module):
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def test_every_module_has_a_rank():
    assert {top for _, top, _ in modules()} <= set(RANKS)


def test_imports_flow_one_way():
    upward = []
    for name, top, tree in modules():
        for target in imports(tree, top_level_only=False):
            other = component(target)
            if other is None or (top, other) in ALLOWED_UPWARD:
                continue
            if RANKS[other] > RANKS[top]:
                upward.append(f"{name} imports {target}")
    assert upward == []


def test_no_import_cycles():
    graph = {name: set(imports(tree, top_level_only=True)) for name, _, tree in modules()}

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
heavy = sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r} or m == 'unshift.trainer')
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
            "unshift.cli, unshift.config, unshift.registry, unshift.specs, unshift.log_keys",
            ("torch", "lightning_fabric", "matplotlib", "sklearn", "scipy"),
        ),
    ],
)
def test_light_modules_import_nothing_heavy(light, heavy):
    code = CHECK.format(modules=light, heavy=heavy)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
