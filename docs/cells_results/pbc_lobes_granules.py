"""Lobes and granules on every pbc crop: WBCAtt agreement per share, and J48 on those features alone.

Run: PYTHONPATH=. python3 docs/cells_results/pbc_lobes_granules.py ../shared/datasets/pbc docs/cells_results/pbc_lobes_granules.json

One pass over the crops computes :func:`wekawbc.cells.validation.cell_lobes` (segmentation, lobe
count with confidence, granule measures); the agreement tables are the ones
``wekawbc validate-cells DIR --check lobes|granules --share SHARE`` prints (same report classes).
Then ``weka.classifiers.trees.J48 -C 0.25 -M 2``, Weka's stratified 10-fold CV with seed 1, on the
lobe and granule features only (every registry feature of the ``lobes`` and ``granule`` groups but
``Nucleus_Parts_Count``), granulocyte vs agranulocyte: on all crops, and on the held-out share
alone (the lobe and granule models were fitted on the development share, whose labels they saw);
the same for the nine features of the first version (``before``), and the misclassified crops.

Classes: ``pbc/`` holds the five WBCAtt types only (neutrophil, eosinophil, basophil: granulocytes;
lymphocyte, monocyte: agranulocytes; :func:`wekawbc.cells.dataset.binary_label`). The source data
set's other classes (immature granulocytes, erythroblasts, platelets) are not in it; any other
label stops this script (``binary_label`` raises) rather than being guessed.
"""
import json
import subprocess
import sys
import time
from collections import Counter

import numpy as np

from wekawbc.cells.dataset import BINARY_CLASSES, CLASSES, binary_label, load_dataset, read_image
from wekawbc.cells.granules import granule_calls
from wekawbc.cells.validation import GranuleReport, LobeReport, cell_lobes, in_share
from wekawbc.evaluation import evaluate
from wekawbc.features.registry import FEATURES
from wekawbc.protocol.folds import cv_train_test_indices
from wekawbc.weka.sklearn import WekaClassifier, cross_validate_predictions

source, out = sys.argv[1], sys.argv[2]
dataset = load_dataset(source)
shares = ("development", "held-out")
lobes = {share: LobeReport() for share in shares}
granules = {share: GranuleReport() for share in shares}
features = [f for f in FEATURES if f.group in ("lobes", "granule") and f.name != "Nucleus_Parts_Count"]
names = [f.name for f in features]
before = names.index("Granule_Colour_Strength") + 1  # the first version's nine features come first
rows, y, ids, held, labels = [], [], [], [], []
start = time.perf_counter()
for record in dataset:
    share = "held-out" if in_share(record, "held-out") else "development"
    count, measures = cell_lobes(read_image(record.image))
    lobe = {"Count": count.count, "Confidence": count.confidence, "BorderTouch": float(count.touches_border),
            "Probability": count.probability}
    rows.append([lobe[f.measure] if f.group == "lobes" else measures[f.measure] for f in features])
    y.append(binary_label(record.label))
    labels.append((record.label, record.extra.get("nucleus_shape", "")))
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


def j48(rows: np.ndarray, columns: int = len(names)) -> dict:
    """Weka's J48, stratified 10-fold CV with seed 1, on the chosen rows and the first ``columns`` features."""
    chosen = np.nonzero(rows)[0]
    predictions = cross_validate_predictions(WekaClassifier(classifier), X[rows][:, :columns], y[rows],
                                             cv_train_test_indices(y[rows], 10, 1), BINARY_CLASSES,
                                             ids=[ids[i] for i in chosen])
    summary = evaluate(predictions).summary()
    wrong = chosen[np.argmax(predictions.distribution, axis=1) != np.asarray(predictions.actual, int)]
    errors = Counter(labels[i][0] for i in wrong)
    return {"pct_correct": summary["correct_pct"], "kappa": summary["kappa"], "instances": summary["total_instances"],
            "errors_per_class": {name: errors[name] for name in CLASSES},
            "misclassified": [{"image": ids[i], "class": labels[i][0], "nucleus_shape": labels[i][1],
                               **{n: round(float(v), 4) for n, v in zip(names[:columns], X[i])}} for i in wrong]}


result = {"command": " ".join(sys.argv), "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"],
          capture_output=True, text=True).stdout.strip(), "images": len(rows), "seconds": round(seconds, 1),
          "lobes": {share: report.summary() for share, report in lobes.items()},
          "granules": {share: report.summary() for share, report in granules.items()},
          "j48": {"classifier": classifier, "folds": 10, "seed": 1, "features": names,
                  **j48(np.ones(len(y), bool)), "held_out_only": j48(held)},
          "j48_before": {"features": names[:before], **j48(np.ones(len(y), bool), before),
                         "held_out_only": j48(held, before)}}
json.dump(result, open(out, "w"), indent=2, default=float)
print(json.dumps({part: {k: v for k, v in result[part].items() if k not in ("misclassified", "held_out_only")}
                  for part in ("j48", "j48_before")}, indent=2, default=float))
