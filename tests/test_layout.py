"""The package's layout: a light command line, no import cycles, public APIs of other libraries, lint."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "wekawbc"
HEAVY = ("numpy", "jpype", "torch", "pandas", "scipy", "sklearn", "skimage", "cv2", "weka")


def _imported_modules(importtime_log: str) -> set[str]:
    # ``-X importtime`` prints one "import time: self | cumulative | name" line per module imported.
    return {line.rsplit("|", 1)[-1].strip() for line in importtime_log.splitlines() if line.startswith("import time:")}


def test_help_imports_no_heavy_library():
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "wekawbc", "--help"],
                          capture_output=True, text=True, check=True)
    assert "COMMAND" in done.stdout
    heavy = sorted(name for name in _imported_modules(done.stderr) if name.split(".")[0] in HEAVY)
    assert heavy == []


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _lazy_exports(tree: ast.Module) -> dict[str, str]:
    # A package ``__init__`` built on ``wekawbc._lazy.lazy_exports`` maps each public name to its module
    # in a dict literal ``{module: (name, ...)}``; an import of such a name depends on that module.
    where: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict) and all(isinstance(key, ast.Constant) for key in node.keys):
            for key, value in zip(node.keys, node.values):
                if isinstance(value, (ast.Tuple, ast.List)):
                    where.update({element.value: key.value for element in value.elts
                                  if isinstance(element, ast.Constant)})
    return where


def _is_type_checking_block(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imports(tree: ast.AST):
    """Every import statement, at module level or deferred inside a function, outside TYPE_CHECKING."""
    for node in ast.iter_child_nodes(tree):
        if _is_type_checking_block(node):
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        yield from _imports(node)


def _import_graph() -> dict[str, set[str]]:
    trees = {_module_name(path): ast.parse(path.read_text(encoding="utf-8")) for path in PACKAGE.rglob("*.py")}
    lazy = {name: _lazy_exports(tree) for name, tree in trees.items()}
    graph: dict[str, set[str]] = {name: set() for name in trees}
    for name, tree in trees.items():
        for node in _imports(tree):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:  # relative import
                    package = name if (PACKAGE.parent / name.replace(".", "/") / "__init__.py").exists() else \
                        name.rpartition(".")[0]
                    for _ in range(node.level - 1):
                        package = package.rpartition(".")[0]
                    base = f"{package}.{base}".rstrip(".")
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in trees
                           else lazy.get(base, {}).get(alias.name, base) for alias in node.names]
            graph[name].update(target for target in targets if target in trees and target != name)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_in_the_package():
    # Deferred imports inside functions count: a cycle hidden in a function is still two modules
    # that cannot be understood (or moved) one without the other.
    assert _cycles(_import_graph()) == []


def test_no_private_api_of_another_library():
    private = []
    for path in PACKAGE.rglob("*.py"):
        for node in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            modules = [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            names = [] if isinstance(node, ast.Import) else [alias.name for alias in node.names]
            if (getattr(node, "level", 0) == 0 and not any(module.startswith("wekawbc") for module in modules)
                    and (any(part.startswith("_") and not part.startswith("__") for module in modules
                             for part in module.split("."))
                         or any(name.startswith("_") for name in names))):
                private.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {ast.unparse(node)}")
    assert private == []


def test_ruff_finds_nothing():
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.fail("ruff is not installed: it comes with the project's [test] extra")
    done = subprocess.run([ruff, "check", "--no-cache", str(PACKAGE), str(PACKAGE.parent / "tests"),
                           str(PACKAGE.parent / "benchmarks")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


#: Modules whose types mypy checks (the public API's core; more join as they are typed through).
TYPED_MODULES = (
    "_io.py", "_json.py", "_lazy.py", "_cores.py", "provenance.py", "protocol", "evaluation/metrics.py", "evaluation/_engine.py",
    "evaluation/_result.py", "evaluation/_imbalance.py", "evaluation/_format.py", "evaluation/_curves.py",
    "experiment/stats.py", "weka/classifiers.py", "weka/rank.py", "cells/lobes.py",
    "features/registry.py", "report/text.py", "evaluation/_text.py", "evaluation/_experimenter.py",
    "weka/model.py", "cells/options.py",
)


def test_mypy_finds_nothing_in_the_typed_modules(tmp_path):
    mypy = shutil.which("mypy")
    if mypy is None:
        pytest.fail("mypy is not installed: it comes with the project's [test] extra")
    done = subprocess.run([mypy, "--ignore-missing-imports", "--follow-imports=silent", "--cache-dir",
                           str(tmp_path / "mypy_cache"), *(str(PACKAGE / module) for module in TYPED_MODULES)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
