"""Lobes and granules on every pbc crop: WBCAtt agreement per share, and J48 on those features alone.

Run: PYTHONPATH=. python3 docs/cells_results/pbc_lobes_granules.py ../shared/datasets/pbc docs/cells_results/pbc_lobes_granules.json

One pass over the crops computes :func:`wekawbc.cells.validation.cell_lobes` (segmentation, lobe
count with confidence, granule measures); the agreement tables are the ones
``wekawbc validate-cells DIR --check lobes|granules --share SHARE`` prints (same report classes).
Then ``weka.classifiers.trees.J48 -C 0.25 -M 2``, Weka's stratified 10-fold CV with seed 1, on the
lobe and granule features only, granulocyte vs agranulocyte: on all crops, and on the held-out share
alone (the lobe and granule models were fitted on the development share, whose labels they saw).
"""
import json
import subprocess
import sys
import time

import numpy as np

from wekawbc.cells.dataset import BINARY_CLASSES, binary_label, load_dataset, read_image
from wekawbc.cells.granules import GRANULE_MEASURES, granule_calls
from wekawbc.cells.validation import GranuleReport, LobeReport, cell_lobes, in_share
from wekawbc.evaluation import evaluate
from wekawbc.protocol.folds import cv_train_test_indices
from wekawbc.weka.sklearn import WekaClassifier, cross_validate_predictions

source, out = sys.argv[1], sys.argv[2]
dataset = load_dataset(source)
shares = ("development", "held-out")
lobes = {share: LobeReport() for share in shares}
granules = {share: GranuleReport() for share in shares}
names = ["Nucleus_Lobes_Count", "Nucleus_Lobes_Confidence", "Nucleus_Lobes_BorderTouch"] + [
    f"Granule_{m}" for m in GRANULE_MEASURES]
rows, y, ids, held = [], [], [], []
start = time.perf_counter()
for record in dataset:
    share = "held-out" if in_share(record, "held-out") else "development"
    count, measures = cell_lobes(read_image(record.image))
    rows.append([count.count, count.confidence, float(count.touches_border)] + [measures[m] for m in GRANULE_MEASURES])
    y.append(binary_label(record.label))
    ids.append(record.image.name)
    held.append(share == "held-out")
    shape = record.extra.get("nucleus_shape", "")
    if shape.startswith(("segmented", "unsegmented")):
        lobes[share].counts[record.label, shape.startswith("segmented"), count.count >= 2] += 1
    if record.extra.get("granularity") and record.extra.get("granule_colour"):
        calls = granule_calls(measures)
        granules[share].rows[record.label].append((calls.granularity == record.extra["granularity"],
                                                   calls.granule_colour == record.extra["granule_colour"]))
seconds = time.perf_counter() - start
X = np.array(rows, float)
y = np.array(y)
held = np.array(held)
classifier = "weka.classifiers.trees.J48 -C 0.25 -M 2"


def j48(rows: np.ndarray) -> dict:
    """Weka's J48, stratified 10-fold CV with seed 1, on the chosen rows."""
    predictions = cross_validate_predictions(WekaClassifier(classifier), X[rows], y[rows],
                                             cv_train_test_indices(y[rows], 10, 1), BINARY_CLASSES,
                                             ids=[ids[i] for i in np.nonzero(rows)[0]])
    summary = evaluate(predictions).summary()
    return {"pct_correct": summary["correct_pct"], "kappa": summary["kappa"], "instances": summary["total_instances"]}


result = {"command": " ".join(sys.argv), "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"],
          capture_output=True, text=True).stdout.strip(), "images": len(rows), "seconds": round(seconds, 1),
          "lobes": {share: report.summary() for share, report in lobes.items()},
          "granules": {share: report.summary() for share, report in granules.items()},
          "j48": {"classifier": classifier, "folds": 10, "seed": 1, "features": names,
                  **j48(np.ones(len(y), bool)), "held_out_only": j48(held)}}
json.dump(result, open(out, "w"), indent=2, default=float)
print(json.dumps(result, indent=2, default=float))
