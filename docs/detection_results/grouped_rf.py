"""RandomForest on bccd field features: Weka-stratified 10-fold CV against folds grouped by image.

Run: PYTHONPATH=. python3 docs/detection_results/grouped_rf.py ../shared/datasets/bccd docs/detection_results/grouped_rf.json [STAIN]

With STAIN (a wekawbc.cells.validation.STAIN_SHIFTS name), every field is recoloured that way first
(written to a temporary folder with the same labels), as in the issue-13 case of bluish red cells.
"""
import json
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import cv2

from wekawbc.cells.dataset import CLASSES, CellDataset, load_dataset
from wekawbc.cells.validation import field_image
from wekawbc.evaluation import evaluate
from wekawbc.features.batch import extract_dataset
from wekawbc.features.registry import feature_names
from wekawbc.protocol.folds import (
    cv_train_test_indices,
    grouped_cv_train_test_indices,
    grouping_note,
)
from wekawbc.weka.sklearn import WekaClassifier, cross_validate_predictions

source, out = sys.argv[1], sys.argv[2]
stain = sys.argv[3] if len(sys.argv) > 3 else None
dataset = load_dataset(source)
labelled = CellDataset([r for r in dataset if r.label], layout="labels.csv")
with tempfile.TemporaryDirectory() as folder:
    if stain:
        records = []
        for record in labelled:
            path = Path(folder) / f"{record.image.stem}.png"
            cv2.imwrite(str(path), field_image(record, stain)[..., ::-1])
            records.append(replace(record, image=path))
        labelled = CellDataset(records, layout="labels.csv")
    table = extract_dataset(labelled, mode="field").table
table["image"] = table["image"].map(lambda image: Path(image).stem)
X, y, images = table[list(feature_names())].to_numpy(float), table["class"].to_numpy(), table["image"]
classifier = "weka.classifiers.trees.RandomForest"
result = {"command": " ".join(sys.argv), "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"],
          capture_output=True, text=True).stdout.strip(), "stain": stain, "classifier": classifier, "folds": 10, "seed": 1,
          "images": int(images.nunique()), "cells": len(table), "note": grouping_note(images, 10)}
for name, folds in (("stratified", cv_train_test_indices(y, 10, 1)),
                    ("grouped_by_image", grouped_cv_train_test_indices(y, images, 10, 1))):
    predictions = cross_validate_predictions(WekaClassifier(classifier), X, y, folds, CLASSES, ids=list(images))
    evaluation = evaluate(predictions)
    summary = evaluation.summary()
    result[name] = {"pct_correct": summary["correct_pct"], "kappa": summary["kappa"],
                    "instances": summary["total_instances"]}
json.dump(result, open(out, "w"), indent=2, default=str)
print(json.dumps(result, indent=2, default=str))
