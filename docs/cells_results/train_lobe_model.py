"""Fit the lobe model of wekawbc.cells.lobes (segmented or not) on the pbc development share.

Run: PYTHONPATH=. python3 docs/cells_results/train_lobe_model.py ../shared/datasets/pbc wekawbc/cells/lobe_model.json

For every development-share crop (file-name number not a multiple of 4) whose WBCAtt
``nucleus_shape`` is ``segmented-*`` or ``unsegmented-*`` (``irregular`` left out): segment it,
measure its granules, then :func:`wekawbc.cells.lobes.lobe_model_inputs` (nucleus shape at a fixed
size, split ratios of the mask and of its chromatin cores, lobe counts, granule measures and
compartment colours; never the cell type). A random forest (scikit-learn, 100 trees of depth 12 at
most, 2 cells per leaf at least, a quarter of the inputs tried at each split, seed 1; chosen by
5-fold cross-validation within the development share; missing inputs set to the development
median) is fitted to
segmented (1) against unsegmented (0). The held-out share is never read. The trees are stored as
plain numbers (JSON) with this command, the commit, the training size and the 5-fold
cross-validated accuracy on the development share, overall and per cell type (agreement, and the
share called segmented among WBCAtt's segmented and among its unsegmented cells: the figures the
inputs were chosen by); the script checks that the package's reading of the stored trees gives
scikit-learn's probabilities.
"""
import json
import subprocess
import sys

import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from wekawbc._io import atomic_write_text
from wekawbc.cells.dataset import load_dataset, read_image
from wekawbc.cells.granules import granule_measures
import wekawbc.cells.lobes as lobes
from wekawbc.cells.lobes import LOBE_MODEL_INPUTS, lobe_model_inputs
from wekawbc.cells.segmentation import segment_cell
from wekawbc.cells.stain import background_colour
from wekawbc.cells.validation import in_share

SETTINGS = {"n_estimators": 100, "max_depth": 12, "min_samples_leaf": 2, "max_features": 0.25, "random_state": 1}


def development_cells(source: str):
    """``(record, rgb, segmentation, lobe-model inputs, segmented)`` of each development-share crop of
    ``source`` whose WBCAtt ``nucleus_shape`` is ``segmented-*`` (1) or ``unsegmented-*`` (0) and whose
    segmentation found a nucleus, in the data set's order."""
    for record in load_dataset(source):
        shape = record.extra.get("nucleus_shape", "")
        if not in_share(record, "development") or not shape.startswith(("segmented", "unsegmented")):
            continue
        rgb = read_image(record.image)
        found = segment_cell(rgb)
        if not found.found or not found.nucleus_mask.any():
            continue
        background, _ = background_colour(rgb, found.cell_mask)
        granules = granule_measures(rgb, found.nucleus_mask, found.cell_mask, background)
        yield (record, rgb, found, lobe_model_inputs(found.nucleus_mask, rgb, granules, found.cell_mask),
               int(shape.startswith("segmented")))


def stored(tree) -> dict:
    """One fitted tree as lists (leaf ``value``: share of segmented nuclei)."""
    shares = tree.value[:, 0, 1] / tree.value[:, 0, :].sum(axis=1)
    return {"left": tree.children_left.tolist(), "right": tree.children_right.tolist(),
            "feature": tree.feature.tolist(), "threshold": [round(float(t), 9) for t in tree.threshold],
            "value": [round(float(v), 6) for v in shares]}


def main() -> None:
    source, out = sys.argv[1], sys.argv[2]
    rows, segmented, types = [], [], []
    for record, _, _, inputs, label in development_cells(source):
        rows.append(inputs)
        segmented.append(label)
        types.append(record.label)
    X, y = np.array(rows), np.array(segmented)
    median = np.nanmedian(X, axis=0)
    X = np.where(np.isfinite(X), X, median)
    forest = RandomForestClassifier(**SETTINGS)
    called = cross_val_predict(forest, X, y, cv=StratifiedKFold(5, shuffle=True, random_state=1))
    types = np.array(types)

    def cv_by_type(which: np.ndarray) -> dict:
        """Cross-validated agreement and share called segmented among WBCAtt's segmented/unsegmented cells."""
        seg, unseg = which & (y == 1), which & (y == 0)
        return {"n": int(which.sum()), "agreement": float((called[which] == y[which]).mean()),
                "called_segmented_if_segmented": float(called[seg].mean()) if seg.any() else None,
                "called_segmented_if_unsegmented": float(called[unseg].mean()) if unseg.any() else None}

    forest.fit(X, y)
    result = {"inputs": list(LOBE_MODEL_INPUTS), "target": "WBCAtt nucleus_shape segmented-* (1) vs unsegmented-* (0)",
              "median": median.tolist(), "trees": [stored(tree.tree_) for tree in forest.estimators_],
              "trained": {"command": " ".join(sys.argv), "commit": subprocess.run(
                  ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip(),
                  "share": "pbc development", "n": len(y), "segmented": int(y.sum()), "settings": SETTINGS,
                  "cv5_accuracy_development": float((called == y).mean()),
                  "cv5_by_type_development": {name: cv_by_type(types == name) for name in sorted(set(types))}}}
    atomic_write_text(out, json.dumps(result, separators=(",", ":")) + "\n")
    lobes._lobe_model.cache_clear()
    mine = np.array([lobes.segmented_probability(row) for row in X[:200]])
    assert np.allclose(mine, forest.predict_proba(X[:200])[:, 1], atol=1e-5), "stored trees disagree with scikit-learn"
    print(json.dumps(result["trained"], indent=1))


if __name__ == "__main__":
    main()
