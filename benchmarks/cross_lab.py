"""Cross-lab ablation of the features for Weka classifiers: pbc → jtsc, pbc → bccd, jtsc+bccd → pbc.

Reads feature tables written by ``wekawbc extract --csv`` (one per data set and stain setting, see
``docs/cross_lab.md``), builds the feature sets of the ablation, trains each Weka classifier on
the training labs and tests it on the left-out lab (Weka's supplied-test-set evaluation, through
``wekawbc.weka.run_classifier``), with stratified bootstrap intervals from the evaluation engine.
Writes one JSON document with every run, the code commit, versions and the tables' sources.

    python -m benchmarks.cross_lab FEATURE_DIR OUT.json [--bootstrap 1000] [--in-lab]

Feature sets (cumulative, as the ablation reads):

``pixels``       the 206 original features (sizes in pixels, absolute colour), raw images;
``+scale``       pixel sizes replaced by µm at the data set's scale (``rescale_to_dataset``);
``+stain``       ``+scale`` on images colour-normalised first (``--stain white-balance`` / ``reinhard``);
``+relative``    ``+stain`` plus the colour relative to the plasma (``density`` group);
``relative only`` ``+relative`` without the absolute colour features (intensity, RGB/HSV/Lab ratios).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from wekawbc.cells.dataset import CLASSES
from wekawbc.features.batch import rescale_to_dataset
from wekawbc.features.registry import FEATURES
from wekawbc.provenance import library_versions

LABS = ("pbc", "jtsc", "bccd")
DIRECTIONS = ((("pbc",), "jtsc"), (("pbc",), "bccd"), (("jtsc", "bccd"), "pbc"))
CLASSIFIERS = {
    "SMO": "weka.classifiers.functions.SMO",
    "Logistic": "weka.classifiers.functions.Logistic -R 1.0E-8 -M -1",
    "RandomForest": "weka.classifiers.trees.RandomForest -I 100 -S 1",
}
#: Shape measures counted in pixels (replaced by their µm versions from ``+scale`` on).
PIXEL_SIZES = ("Area", "Perimeter", "MajorAxisLength", "MinorAxisLength", "MaxFeretDiameter", "MinFeretDiameter")
ORIGINAL = [f.name for f in FEATURES if f.group not in ("size", "density")]
SIZE = [f.name for f in FEATURES if f.group == "size"]
DENSITY = [f.name for f in FEATURES if f.group == "density"]
ABSOLUTE_COLOUR = [f.name for f in FEATURES if f.group == "intensity"
                   or (f.group == "ratio" and f.measure in ("MeanRatio", "MeanDifference"))]
SCALED = [n for n in ORIGINAL if not (n.split("_AreaShape_")[-1] in PIXEL_SIZES and "_AreaShape_" in n)] + SIZE

#: name → (stain setting of the tables, feature columns)
FEATURE_SETS = {
    "pixels": ("none", ORIGINAL),
    "+scale": ("none", SCALED),
    "+stain (white balance)": ("white-balance", SCALED),
    "+stain (Reinhard)": ("reinhard", SCALED),
    "+relative (white balance)": ("white-balance", SCALED + DENSITY),
    "+relative (Reinhard)": ("reinhard", SCALED + DENSITY),
    "relative only": ("none", [n for n in SCALED if n not in ABSOLUTE_COLOUR] + DENSITY),
}


def load_tables(folder: Path, stain: str) -> dict[str, pd.DataFrame]:
    """Each lab's table for one stain setting, sizes at the data set's scale, class categorical."""
    tables = {}
    for lab in LABS:
        table, _ = rescale_to_dataset(pd.read_csv(folder / f"{lab}_{stain}.csv"))
        table["class"] = pd.Categorical(table["class"], categories=list(CLASSES))
        table["lab"] = lab
        tables[lab] = table
    return tables


def run_one(train: pd.DataFrame, test: pd.DataFrame | None, columns: list[str], classifier: str,
            bootstrap: int) -> dict:
    """One Weka run (supplied test set, or 10-fold CV of ``train`` when ``test`` is None)."""
    from wekawbc.weka import run_classifier

    started = time.perf_counter()
    frame = train[columns + ["class"]].reset_index(drop=True)
    if test is None:
        run = run_classifier(frame, classifier, folds=10, seed=1)
    else:
        run = run_classifier(frame, classifier, test=test[columns + ["class"]].reset_index(drop=True))
    result = run.evaluation
    intervals = result.bootstrap(bootstrap, seed=1) if bootstrap else None
    metrics = intervals["metrics"] if intervals else {}
    return {
        "accuracy": run.statistics["pct_correct"] / 100,
        "bootstrap": {name: {k: metrics[name][k] for k in ("estimate", "low", "high")}
                      for name in ("accuracy", "macro_f1", "kappa")} if metrics else None,
        "confusion_matrix": run.confusion_matrix.tolist(),
        "labels": list(run.labels),
        "n_train": int(len(train)), "n_test": int(len(test) if test is not None else len(train)),
        "seconds": round(time.perf_counter() - started, 1),
    }


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("features", type=Path, help="folder of LAB_STAIN.csv tables")
    parser.add_argument("output", type=Path)
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--sets", nargs="*", default=list(FEATURE_SETS))
    parser.add_argument("--classifiers", nargs="*", default=list(CLASSIFIERS))
    parser.add_argument("--in-lab", action="store_true", help="also pbc 10-fold CV for every set and classifier")
    args = parser.parse_args(argv)
    document = {"code_commit": _commit(), "versions": library_versions(), "seed": 1,
                "bootstrap": {"n_resamples": args.bootstrap, "seed": 1, "confidence": 0.95, "stratified": True},
                "classifiers": {k: CLASSIFIERS[k] for k in args.classifiers},
                "feature_sets": {k: {"stain": FEATURE_SETS[k][0], "n_features": len(FEATURE_SETS[k][1])}
                                 for k in args.sets},
                "command": " ".join(["python -m benchmarks.cross_lab", *(argv or sys.argv[1:])]),
                "runs": []}
    cache: dict[str, dict[str, pd.DataFrame]] = {}
    for set_name in args.sets:
        stain, columns = FEATURE_SETS[set_name]
        tables = cache.setdefault(stain, load_tables(args.features, stain))
        document["scales"] = document.get("scales", {})
        for lab, table in tables.items():
            document["scales"][f"{lab} ({stain})"] = {"um_per_pixel": float(table["um_per_pixel"].iloc[0]),
                                                      "source": str(table["scale_source"].iloc[0]),
                                                      "note": str(table["scale_note"].iloc[0])}
        plans = [(train, test) for train, test in DIRECTIONS]
        if args.in_lab:
            plans.append((("pbc",), None))
        for classifier in args.classifiers:
            for train_labs, test_lab in plans:
                train = pd.concat([tables[lab] for lab in train_labs], ignore_index=True)
                test = tables[test_lab] if test_lab else None
                result = run_one(train, test, columns, CLASSIFIERS[classifier], args.bootstrap)
                result.update({"feature_set": set_name, "classifier": classifier, "train": list(train_labs),
                               "test": test_lab or "10-fold CV"})
                document["runs"].append(result)
                print(f"{set_name:28s} {classifier:13s} {'+'.join(train_labs):10s} -> {test_lab or 'CV':5s} "
                      f"acc {result['accuracy']:.3f} ({result['seconds']} s)", flush=True)
                args.output.write_text(json.dumps(document, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
