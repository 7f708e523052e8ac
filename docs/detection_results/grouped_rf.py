"""RandomForest on bccd field features: Weka-stratified 10-fold CV against folds grouped by image.

Run: PYTHONPATH=. python3 docs/detection_results/grouped_rf.py ../shared/datasets/bccd docs/detection_results/grouped_rf.json
"""
import json
import subprocess
import sys

from wekawbc.cells.dataset import CLASSES, CellDataset, load_dataset
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
dataset = load_dataset(source)
labelled = CellDataset([r for r in dataset if r.label], layout="labels.csv")
table = extract_dataset(labelled, mode="field").table
X, y, images = table[list(feature_names())].to_numpy(float), table["class"].to_numpy(), table["image"]
classifier = "weka.classifiers.trees.RandomForest"
result = {"command": " ".join(sys.argv), "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"],
          capture_output=True, text=True).stdout.strip(), "classifier": classifier, "folds": 10, "seed": 1,
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
