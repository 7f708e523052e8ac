"""Shared fixtures: the real JVM (once per test process) and the shared public data sets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from weka_corpus import corpus_inputs, oracle, weka_text  # noqa: F401 (Weka's text corpus, cached per session)

REPO_ROOT = Path(__file__).resolve().parent.parent
DATASETS = Path(os.environ.get("WEKAWBC_DATASETS", REPO_ROOT.parent / "shared" / "datasets"))
DATASETS_MISSING = (
    f"shared data sets not found at {DATASETS} (set WEKAWBC_DATASETS, or lay ../shared/datasets beside the checkout)"
)


@pytest.fixture(scope="session", autouse=True)
def _private_weka_home(tmp_path_factory: pytest.TempPathFactory) -> None:
    # Tests never touch the user's Weka package folder.
    os.environ.setdefault("WEKAWBC_WEKA_HOME", str(tmp_path_factory.mktemp("weka_home")))


@pytest.fixture(scope="session")
def jvm(_private_weka_home: None):
    """The running JVM with Weka (started once; JPype cannot restart it in the same process)."""
    from wekawbc.weka import jvm as weka_jvm

    return weka_jvm.start()


@pytest.fixture(scope="session")
def datasets() -> Path:
    """Root of the shared data sets; tests needing them are skipped, saying why, when absent."""
    if not DATASETS.is_dir():
        pytest.skip(DATASETS_MISSING)
    return DATASETS


@pytest.fixture(scope="session")
def weka_jar() -> Path:
    from wekawbc.provenance import weka_jar_path

    return weka_jar_path()
