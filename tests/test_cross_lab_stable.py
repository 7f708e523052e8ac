"""The stability criterion of the cross-lab benchmark (benchmarks.cross_lab.stable_columns): a column
whose class medians agree between two labs after each lab's class-balanced standardisation is kept,
whatever the labs' offset, scale and class mix; one that moves a class between labs is dropped, and
a class too rare in a lab does not count."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.cross_lab import STABLE_MIN_CELLS, stable_columns  # noqa: E402
from wekawbc.cells.dataset import CLASSES  # noqa: E402


def _lab(counts: dict[str, int], offset: float, scale: float, moved: dict[str, float], seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for k, (name, n) in enumerate(counts.items()):
        base = float(k) + rng.normal(0, 0.2, n)
        rows.append(pd.DataFrame({"same": offset + scale * base, "moved": offset + scale * (base + moved.get(name, 0.0)),
                                  "class": name}))
    table = pd.concat(rows, ignore_index=True)
    table["class"] = pd.Categorical(table["class"], categories=list(CLASSES))
    return table


def test_stable_columns_keep_agreeing_medians_and_drop_a_moved_class():
    a = _lab({c: 60 for c in CLASSES}, 0.0, 1.0, {}, 1)
    mix = {"neutrophil": 200, "eosinophil": 30, "basophil": STABLE_MIN_CELLS - 1, "lymphocyte": 40, "monocyte": 25}
    b = _lab(mix, 5.0, 3.0, {"eosinophil": 2.0}, 2)
    assert stable_columns([a, b], ["same", "moved"], 0.75) == ["same"]
    rare = _lab(mix, 5.0, 3.0, {"basophil": 2.0}, 2)  # the moved class has too few cells in one lab to count
    assert stable_columns([a, rare], ["same", "moved"], 0.75) == ["same", "moved"]
