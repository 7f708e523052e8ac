"""The features classifier teaches the CNN on the unlabelled test lab (label-free co-training / distillation).

Teacher: round 4's Weka pipeline with class-balanced CORAL and EM, the setting ``coral_round4.json`` chose on
``pbc → bccd`` (``benchmarks.cross_lab_coral.aligned_runs``, then ``wekawbc.predictions.adjust_priors``), trained on
``pbc``; its probabilities on the test lab's cells. Student: the ``pbc``-trained CNN of the cross-lab recipe with
balanced AdaBN on the test lab (``adapt_batch_norm``, ``BALANCED_ROUNDS``), fine-tuned on the test lab's images
with the teacher's confident predictions as classes (:func:`wekawbc.cnn.adapt.fine_tune_on_pseudo_labels`); and
the fused prediction ``w · student + (1 − w) · teacher``. No test-lab label is read except to score.

Every candidate (threshold × per-class cap × epochs × w) is scored on ``pbc → bccd`` (its labelled single-leukocyte
crops); two settings are chosen there — the best with ``w = 1`` (the CNN alone) and the best over all ``w`` —
and each is scored once on ``pbc → jtsc``, beside the teacher alone and the CNN before fine-tuning on the same
cells; then the two chosen settings again with fine-tuning seeds 2-5 on both labs (the spread, not a choice)::

    python -m benchmarks.cross_lab_distill MODEL.pt FEATURE_DIR BCCD_CROPS JTSC OUT.json

The teacher's predictions are written beside OUT.json (OUT/teacher_LAB.csv, with image paths as ids): the
``--pseudo-labels`` input of ``wekawbc cnn adapt``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import shlex
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

CORAL_SETTING = {"feature_set": "stable<0.75 without jtsc: relative only without texture + invariant colour, "
                                "prior-balanced (8 rounds)",
                 "classifier": "Vote (Logistic, RandomForest)", "coral": "class-balanced, ridge 0.1", "em": True}
THRESHOLDS = (0.6, 0.8, 0.9)
PER_CLASS = (None, 40)
EPOCHS = (3, 10)
WEIGHTS = (1.0, 0.75, 0.5, 0.25)
TUNING, REPORTED = "bccd", "jtsc"
SPREAD_SEEDS = (2, 3, 4, 5)


def teacher(tables: dict, lab: str):
    """The CORAL + EM feature model's predictions on ``lab`` (rows of its table) and the table's image paths."""
    from benchmarks.cross_lab_coral import aligned_runs
    from benchmarks.cross_lab_priors import set_columns
    from wekawbc.predictions import adjust_priors

    columns, _, std_rounds, _ = set_columns(CORAL_SETTING["feature_set"], tables)
    runs = aligned_runs(tables["pbc"], tables[lab], columns, CORAL_SETTING["classifier"], [CORAL_SETTING["coral"]],
                        std_rounds)
    predictions, _ = runs[CORAL_SETTING["coral"]]
    return adjust_priors(predictions).predictions, lab_ids(tables, lab)


def lab_data(model, source: str, tables: dict, lab: str):
    """The cells both the CNN's crops and the feature table hold: images, classes, ids, teacher probabilities."""
    from wekawbc.cnn.images import load_crops

    crops = load_crops(source, task="five", **model.preprocessing.input_options(), allow_outside=True)
    taught, table_ids = teacher(tables, lab)
    row = {str(Path(path).resolve()): i for i, path in enumerate(table_ids)}
    resolved = [str(Path(path).resolve()) for path in crops.ids]
    keep = [i for i, path in enumerate(resolved) if path in row]
    rows = [row[resolved[i]] for i in keep]
    order = [list(taught.labels).index(name) for name in model.labels]
    distribution = np.asarray(taught.distribution)[rows][:, order]
    named = [taught.labels[c] for c in np.asarray(taught.actual)[rows]]
    if named != [model.labels[c] for c in crops.y[keep]]:  # the two files must be the same cells
        raise SystemExit(f"cross_lab_distill: error: {lab}: the crops' and the table's classes differ")
    return {"images": crops.images[keep], "y": crops.y[keep], "ids": [crops.ids[i] for i in keep],
            "teacher": distribution, "teacher_predictions": taught, "n_crops": len(crops), "n_table": len(table_ids)}


def lab_ids(tables: dict, lab: str) -> list[str]:
    return [str(p) for p in tables[lab]["image"]]


def scored(model, data: dict, distribution: np.ndarray, bootstrap: int) -> dict:
    from benchmarks.cross_lab_priors import score
    from wekawbc.predictions import Predictions

    predictions = Predictions(tuple(model.labels), data["y"], distribution,
                              train_counts=np.asarray(model.train_counts, dtype=np.float64)[None, :],
                              ids=tuple(data["ids"]))
    return score(predictions, bootstrap)


def candidates(model, data: dict, settings: list[tuple], bootstrap: int, threads: int, seed: int = 1) -> list[dict]:
    """One fine-tuning per (threshold, per_class, epochs), each fused at every w of the setting list."""
    from wekawbc.cnn.adapt import fine_tune_on_pseudo_labels
    from wekawbc.cnn.training import predict_proba

    runs = []
    for (threshold, per_class, epochs), group in itertools.groupby(settings, key=lambda s: s[:3]):
        start = time.time()
        tuned, chosen = fine_tune_on_pseudo_labels(model, data["images"], data["teacher"], threshold=threshold,
                                                   per_class=per_class, epochs=epochs, seed=seed, threads=threads)
        student = predict_proba(tuned, data["images"], threads=threads)
        pseudo = data["teacher"].argmax(axis=1)[chosen]
        for *_, w in group:
            entry = {"seed": seed, "threshold": threshold, "per_class": per_class, "epochs": epochs, "weight": w,
                     "n_pseudo": int(chosen.size),
                     "pseudo_counts": np.bincount(pseudo, minlength=len(model.labels)).tolist(),
                     "pseudo_label_accuracy": float((pseudo == data["y"][chosen]).mean()),
                     "seconds": round(time.time() - start, 1),
                     **scored(model, data, w * student + (1 - w) * data["teacher"], bootstrap)}
            runs.append(entry)
            print(f"thr {threshold} cap {per_class} ep {epochs} w {w}: n {chosen.size} "
                  f"acc {entry['accuracy']['estimate']:.3f} f1 {entry['macro_f1']['estimate']:.3f}", flush=True)
    return runs


def references(model, data: dict, bootstrap: int) -> dict:
    from wekawbc.cnn.training import predict_proba

    cnn = predict_proba(model, data["images"], threads=1)
    return {"teacher (features, CORAL + EM)": scored(model, data, data["teacher"], bootstrap),
            "CNN, balanced AdaBN (not fine-tuned)": scored(model, data, cnn, bootstrap),
            "average of the two (w 0.5, not fine-tuned)": scored(model, data, 0.5 * cnn + 0.5 * data["teacher"],
                                                                 bootstrap)}


def main(argv: list[str] | None = None) -> int:
    from benchmarks.cross_lab import _commit, load_tables
    from wekawbc.cnn.evaluate import BALANCED_ROUNDS
    from wekawbc.cnn.model_file import load_model
    from wekawbc.cnn.training import adapt_batch_norm
    from wekawbc.predictions import write_predictions_csv
    from wekawbc.provenance import library_versions

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("features", type=Path, help="folder of LAB_none.csv tables (round 4)")
    parser.add_argument("bccd", help="bccd's single-leukocyte crops (benchmarks/bccd_crops.py)")
    parser.add_argument("jtsc")
    parser.add_argument("output", type=Path)
    parser.add_argument("--bootstrap", type=int, default=1000)
    args = parser.parse_args(argv)
    base, _ = load_model(args.model)
    tables = load_tables(args.features, "none")
    settings = list(itertools.product(THRESHOLDS, PER_CLASS, EPOCHS, WEIGHTS))
    document: dict = {"code_commit": _commit(), "versions": library_versions(), "seed": 1,
                      "command": shlex.join(["python", "-m", "benchmarks.cross_lab_distill", *(argv or sys.argv[1:])]),
                      "model": str(args.model), "teacher": CORAL_SETTING,
                      "bootstrap": {"n_resamples": args.bootstrap, "seed": 1, "confidence": 0.95, "stratified": True},
                      "student": {"start": f"the model with balanced AdaBN on the test lab ({BALANCED_ROUNDS} rounds)",
                                  "fine_tuning": "wekawbc.cnn.adapt.fine_tune_on_pseudo_labels: the teacher's top class "
                                                 "where its probability >= threshold, at most per_class per class, "
                                                 "class-balanced sampler, AdamW lr 1e-3, batch 16, seed 1, one thread"},
                      "grid": {"threshold": THRESHOLDS, "per_class": PER_CLASS, "epochs": EPOCHS, "weight": WEIGHTS},
                      "labs": {}, "runs": [], "references": {}, "seed_spread": []}
    data, models = {}, {}
    for lab, source in ((TUNING, args.bccd), (REPORTED, args.jtsc)):
        data[lab] = lab_data(base, source, tables, lab)
        write_predictions_csv(replace(data[lab].pop("teacher_predictions"), ids=tuple(lab_ids(tables, lab))),
                              args.output.with_suffix("") / f"teacher_{lab}.csv")
        models[lab] = adapt_batch_norm(base, data[lab]["images"], balanced_rounds=BALANCED_ROUNDS, threads=1)
        document["labs"][lab] = {"source": source, "cells": len(data[lab]["y"]), "crops": data[lab]["n_crops"],
                                 "table_rows": data[lab]["n_table"]}
        document["references"][lab] = references(models[lab], data[lab], args.bootstrap)
        print(lab, {k: round(v["accuracy"]["estimate"], 3) for k, v in document["references"][lab].items()},
              flush=True)
    tuning = candidates(models[TUNING], data[TUNING], settings, args.bootstrap, 1)
    document["runs"] += [{"test": TUNING, **r} for r in tuning]
    keys = ("threshold", "per_class", "epochs", "weight")
    chosen = {"CNN alone (w 1)": max((r for r in tuning if r["weight"] == 1.0), key=lambda r: r["accuracy"]["estimate"]),
              "fused (any w)": max(tuning, key=lambda r: r["accuracy"]["estimate"])}  # max keeps the first of equals
    document["chosen"] = {"rule": f"best accuracy on pbc -> {TUNING}; pbc -> {REPORTED} scored once", "settings": {}}
    for name, best in chosen.items():
        setting = {k: best[k] for k in keys}
        print(f"chosen on pbc -> {TUNING} ({name}): {setting}", flush=True)
        report = candidates(models[REPORTED], data[REPORTED], [tuple(setting[k] for k in keys)], args.bootstrap, 1)[0]
        document["runs"].append({"test": REPORTED, "row": name, **report})
        document["chosen"]["settings"][name] = {"setting": setting, "results": {
            TUNING: {k: best[k] for k in ("accuracy", "macro_f1")},
            REPORTED: {k: report[k] for k in ("accuracy", "macro_f1")}}}
        # The chosen setting's spread over fine-tuning seeds (recorded after the choice, never used for it).
        for lab in (TUNING, REPORTED):
            for seed in SPREAD_SEEDS:
                again = candidates(models[lab], data[lab], [tuple(setting[k] for k in keys)], args.bootstrap, 1, seed)
                document["seed_spread"].append({"row": name, "test": lab, **again[0]})
    args.output.write_text(json.dumps(document, indent=1, default=float) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
