"""The other tree a benchmark compares this one with: where it is, which commit it holds, its modules.

``WEKAWBC_BASE_TREE`` names the tree (default ``/tmp/base``): a git worktree of the base commit
(``git worktree add --detach /tmp/base COMMIT``) or an exported copy (``git archive COMMIT | tar -x -C
/tmp/base``), which ``WEKAWBC_BASE_COMMIT`` then names.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

__all__ = ["base_tree", "load_module"]


def base_tree() -> tuple[Path, str]:
    """The base tree's folder and its commit (``"?"`` when neither git nor ``WEKAWBC_BASE_COMMIT`` says)."""
    tree = Path(os.environ.get("WEKAWBC_BASE_TREE", "/tmp/base"))
    commit = os.environ.get("WEKAWBC_BASE_COMMIT") or subprocess.run(
        ["git", "-C", str(tree), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip() or "?"
    return tree, commit


def load_module(name: str, path: Path) -> ModuleType:
    """The module in the file ``path``, imported as ``name`` beside this tree's own (registered in ``sys.modules``,
    where dataclasses look their module up)."""
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"{path}: not a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
