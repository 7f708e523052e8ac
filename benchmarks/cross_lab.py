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
``relative only`` ``+relative`` without the absolute colour features (intensity, RGB/HSV/Lab ratios);
``..., per-lab standardised``  each lab's table standardised on its own (median, interquartile range);
``relative only without texture, ...``  also without the GLCM and LBP texture features;
``... + invariant``  plus the features of :mod:`wekawbc.features.invariant` (colour relative to the
                 cell's own nucleus, HED shares, granularity at a cell-relative size), read from
                 ``LAB_invariant.csv`` beside the tables (``python -m benchmarks.cross_lab_invariant``);
``... + speckle``, ``... + red cells``  plus its ``REFERENCE_FEATURES`` (the cytoplasm's speckle
                 against its smooth background; colour relative to the red cells of the image);
``stable<T without LAB: SET``  the columns of SET whose class medians agree between the two labs
                 other than LAB (:func:`stable_columns`, threshold T); run only on the direction
                 reported for LAB and its tuning directions, and chosen only for LAB.

The chosen set and classifier for each left-out lab are those with the best accuracy on the
tuning directions of :data:`TUNING` (never the lab reported).
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
from wekawbc.experiment.crosslab import class_balance_weights
from wekawbc.features.batch import rescale_to_dataset
from wekawbc.features.invariant import INVARIANT_FEATURES, REFERENCE_FEATURES
from wekawbc.features.registry import FEATURES
from wekawbc.provenance import library_versions

LABS = ("pbc", "jtsc", "bccd")
DIRECTIONS = ((("pbc",), "jtsc"), (("pbc",), "bccd"), (("jtsc", "bccd"), "pbc"))
CLASSIFIERS = {
    "SMO": "weka.classifiers.functions.SMO",
    "Logistic": "weka.classifiers.functions.Logistic -R 1.0E-8 -M -1",
    "RandomForest": "weka.classifiers.trees.RandomForest -I 100 -S 1",
    "Logistic (ridge 1)": "weka.classifiers.functions.Logistic -R 1.0 -M -1",
    "Vote (Logistic, RandomForest)": 'weka.classifiers.meta.Vote -S 1 -B "weka.classifiers.functions.Logistic -R 1.0 -M -1" '
                                     '-B "weka.classifiers.trees.RandomForest -I 100 -S 1" -R AVG',
    "Vote (Logistic, RandomForest, SMO)": 'weka.classifiers.meta.Vote -S 1 '
                                          '-B "weka.classifiers.functions.Logistic -R 1.0 -M -1" '
                                          '-B "weka.classifiers.trees.RandomForest -I 100 -S 1" '
                                          '-B "weka.classifiers.functions.SMO -M" -R AVG',
    "Stacking (Logistic, RandomForest)": 'weka.classifiers.meta.Stacking -X 10 -S 1 '
                                         '-M "weka.classifiers.functions.Logistic -R 1.0 -M -1" '
                                         '-B "weka.classifiers.functions.Logistic -R 1.0 -M -1" '
                                         '-B "weka.classifiers.trees.RandomForest -I 100 -S 1"',
}
#: Shape measures counted in pixels (replaced by their µm versions from ``+scale`` on).
PIXEL_SIZES = ("Area", "Perimeter", "MajorAxisLength", "MinorAxisLength", "MaxFeretDiameter", "MinFeretDiameter")
ORIGINAL = [f.name for f in FEATURES if f.group not in ("size", "density")]
SIZE = [f.name for f in FEATURES if f.group == "size"]
DENSITY = [f.name for f in FEATURES if f.group == "density"]
ABSOLUTE_COLOUR = [f.name for f in FEATURES if f.group == "intensity"
                   or (f.group == "ratio" and f.measure in ("MeanRatio", "MeanDifference"))]
SCALED = [n for n in ORIGINAL if not (n.split("_AreaShape_")[-1] in PIXEL_SIZES and "_AreaShape_" in n)] + SIZE

RELATIVE_ONLY = [n for n in SCALED if n not in ABSOLUTE_COLOUR] + DENSITY
#: Texture (GLCM, LBP) depends on the optics' sharpness and the pixel size, which differ between labs.
TEXTURE = [f.name for f in FEATURES if f.group in ("texture", "lbp")]
RELATIVE_NO_TEXTURE = [n for n in RELATIVE_ONLY if n not in TEXTURE]
#: The stain- and scale-invariant features (wekawbc.features.invariant), and those of them without texture.
INVARIANT = list(INVARIANT_FEATURES)
INVARIANT_COLOUR = [n for n in INVARIANT if "_Granularity_" not in n]
#: The cytoplasm's speckle against its background, and colour relative to the image's red cells (round 4).
SPECKLE = [n for n in REFERENCE_FEATURES if n.startswith("Speckle_") and "_RedCell_" not in n]
RED_CELL = [n for n in REFERENCE_FEATURES if "_RedCell_" in n]
#: Shape, µm sizes and lobes: what carries no colour at all.
SHAPE_ONLY = [n for n in RELATIVE_NO_TEXTURE if n not in DENSITY]
#: Hue-free evidence (issue 12's named error: a rapid stain's pink neutrophil cytoplasm read as eosinophil
#: granules): shape, µm sizes, lobes, granule presence/size/strength (not their colour), stain strength and
#: its spread relative to the plasma and between nucleus and cytoplasm, the speckle's density contrast and
#: the granularity at a cell-relative size; no channel fraction, hue or chroma.
HUE_FREE = ([n for n in SHAPE_ONLY if not n.startswith("Granule_Colour_") or n == "Granule_Colour_Strength"]
            + [n for n in DENSITY if n.endswith("_Std") or n.endswith("_Mean_L") or n.endswith("Density_Ratio")]
            + ["Speckle_DensityRatio"] + [n for n in INVARIANT if "_Granularity_" in n])

#: name → (stain setting of the tables, feature columns, standardise each lab's table on its own)
FEATURE_SETS = {
    "pixels": ("none", ORIGINAL, False),
    "all 237 (wekawbc extract's default)": ("none", ORIGINAL + SIZE + DENSITY, False),
    "+scale": ("none", SCALED, False),
    "+stain (white balance)": ("white-balance", SCALED, False),
    "+relative (white balance)": ("white-balance", SCALED + DENSITY, False),
    "relative only": ("none", RELATIVE_ONLY, False),
    "+relative (white balance), per-lab standardised": ("white-balance", SCALED + DENSITY, True),
    "relative only, per-lab standardised": ("none", RELATIVE_ONLY, True),
    "relative only without texture, per-lab standardised": ("none", RELATIVE_NO_TEXTURE, True),
    "relative only without texture + invariant, per-lab standardised": ("none", RELATIVE_NO_TEXTURE + INVARIANT, True),
    "relative only without texture + invariant colour, per-lab standardised": ("none", RELATIVE_NO_TEXTURE
                                                                               + INVARIANT_COLOUR, True),
    "shape + invariant, per-lab standardised": ("none", SHAPE_ONLY + INVARIANT, True),
    "relative only without texture + invariant": ("none", RELATIVE_NO_TEXTURE + INVARIANT, False),
    "shape + invariant": ("none", SHAPE_ONLY + INVARIANT, False),
    "relative only without texture, prior-balanced": ("none", RELATIVE_NO_TEXTURE, "balanced"),
    "relative only without texture + invariant colour, prior-balanced": ("none", RELATIVE_NO_TEXTURE + INVARIANT_COLOUR,
                                                                         "balanced"),
    "relative only without texture + invariant, prior-balanced": ("none", RELATIVE_NO_TEXTURE + INVARIANT, "balanced"),
    "relative only, prior-balanced": ("none", RELATIVE_ONLY, "balanced"),
    "relative only without texture, prior-balanced (4 rounds)": ("none", RELATIVE_NO_TEXTURE, "balanced4"),
    "relative only without texture, prior-balanced (8 rounds)": ("none", RELATIVE_NO_TEXTURE, "balanced8"),
    "relative only without texture + invariant colour, prior-balanced (4 rounds)": ("none", RELATIVE_NO_TEXTURE
                                                                                    + INVARIANT_COLOUR, "balanced4"),
    "relative only without texture + invariant colour, prior-balanced (8 rounds)": (
        "none", RELATIVE_NO_TEXTURE + INVARIANT_COLOUR, "balanced8"),
    "relative only without texture + invariant colour + speckle, prior-balanced (8 rounds)": (
        "none", RELATIVE_NO_TEXTURE + INVARIANT_COLOUR + SPECKLE, "balanced8"),
    "relative only without texture + invariant colour + red cells, prior-balanced (8 rounds)": (
        "none", RELATIVE_NO_TEXTURE + INVARIANT_COLOUR + RED_CELL, "balanced8"),
    "relative only without texture + invariant colour + speckle + red cells, prior-balanced (8 rounds)": (
        "none", RELATIVE_NO_TEXTURE + INVARIANT_COLOUR + SPECKLE + RED_CELL, "balanced8"),
    "relative only without texture + invariant + speckle + red cells, prior-balanced (8 rounds)": (
        "none", RELATIVE_NO_TEXTURE + INVARIANT + SPECKLE + RED_CELL, "balanced8"),
    "hue-free (shape, size, lobes, granule strength, speckle contrast), prior-balanced (8 rounds)": (
        "none", HUE_FREE, "balanced8"),
}
#: The bases and thresholds of the stability-selected sets (:func:`stable_columns`), for each left-out lab.
STABLE_BASES = ("relative only without texture + invariant colour, prior-balanced (8 rounds)",
                "relative only without texture + invariant + speckle + red cells, prior-balanced (8 rounds)",
                "hue-free (shape, size, lobes, granule strength, speckle contrast), prior-balanced (8 rounds)")
STABLE_THRESHOLDS = (0.75, 1.0)
#: name → (base set, threshold, the lab left out of the selection)
STABLE_SETS = {f"stable<{tau:g} without {lab}: {base}": (base, tau, lab)
               for base in STABLE_BASES for tau in STABLE_THRESHOLDS for lab in ("jtsc", "bccd", "pbc")}
#: Classes with fewer cells than this in a lab are left out of the stability criterion.
STABLE_MIN_CELLS = 5
#: Directions used only to choose a feature set and classifier for the left-out lab (never reported as its result).
TUNING = {"jtsc": [(("pbc",), "bccd")], "bccd": [(("pbc",), "jtsc")],
          "pbc": [(("jtsc",), "bccd"), (("bccd",), "jtsc")]}


def standardise(table: pd.DataFrame, columns: list[str], weights: np.ndarray | None = None) -> pd.DataFrame:
    """The lab's table with ``columns`` standardised on their own (``wekawbc.experiment.crosslab.robust_standardise``,
    rows weighted by ``weights`` if given)."""
    from wekawbc.experiment.crosslab import robust_standardise

    table = table.copy()
    table[columns] = robust_standardise(table[columns].to_numpy(dtype=np.float64), weights)
    return table


def stable_columns(tables: list[pd.DataFrame], columns: list[str], threshold: float) -> list[str]:
    """The columns whose per-class medians agree across labs (a stability criterion on labelled labs).

    Each lab's table is standardised at an equal class mix by its own labels
    (:func:`wekawbc.experiment.crosslab.robust_standardise` with :func:`class_balance_weights`);
    for every class with at least :data:`STABLE_MIN_CELLS` cells in every lab, the median of each
    column is taken per lab; a column is kept when no class's medians differ between two labs by
    ``threshold`` interquartile ranges or more (a column undefined for a class in a lab is dropped).
    """
    from wekawbc.experiment.crosslab import robust_standardise

    medians, counts = [], []
    for table in tables:
        codes = table["class"].cat.codes.to_numpy()
        standard = pd.DataFrame(robust_standardise(table[columns].to_numpy(np.float64), class_balance_weights(codes)),
                                columns=columns)
        standard["class"] = table["class"].to_numpy()
        medians.append(standard.groupby("class", observed=True)[columns].median())
        counts.append(table["class"].value_counts())
    shared = [c for c in medians[0].index if all(n.get(c, 0) >= STABLE_MIN_CELLS for n in counts)]
    stacked = np.stack([m.loc[shared, columns].to_numpy() for m in medians])  # labs × classes × columns
    spread = np.nanmax(stacked, axis=0) - np.nanmin(stacked, axis=0)
    worst = np.where(np.isnan(stacked).any(axis=0).any(axis=0), np.inf, spread.max(axis=0))
    return [c for c, w in zip(columns, worst) if w < threshold]


def run_prior_balanced(train_tables: list[pd.DataFrame], test: pd.DataFrame, columns: list[str], classifier: str,
                       bootstrap: int, rounds: int = 2) -> dict:
    """Per-lab standardisation at an equal class mix on both sides, unsupervised on the test lab
    (:func:`wekawbc.experiment.crosslab.prior_balanced_standardise`, the Weka classifier refitted
    each round), then one scored run on the result."""
    from wekawbc.experiment.crosslab import prior_balanced_standardise
    from wekawbc.weka import run_classifier

    def frame(values: np.ndarray, classes) -> pd.DataFrame:
        table = pd.DataFrame(values, columns=columns)
        table["class"] = pd.Categorical(np.asarray(classes), categories=list(CLASSES))
        return table

    train_classes = np.concatenate([t["class"].to_numpy() for t in train_tables])

    def fit_predict(X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray) -> np.ndarray:
        run = run_classifier(frame(X_train, train_classes), classifier, test=frame(X_test, test["class"].to_numpy()))
        return np.asarray(run.predictions.distribution).argmax(axis=1)

    codes = [np.asarray(t["class"].cat.codes) for t in train_tables]
    X_train, X_test, counts = prior_balanced_standardise([t[columns].to_numpy(np.float64) for t in train_tables],
                                                         codes, test[columns].to_numpy(np.float64), fit_predict,
                                                         rounds)
    result = run_one(frame(X_train, train_classes), frame(X_test, test["class"].to_numpy()), columns, classifier,
                     bootstrap)
    result["predicted_counts_per_round"] = counts
    return result


def load_tables(folder: Path, stain: str) -> dict[str, pd.DataFrame]:
    """Each lab's table for one stain setting, sizes at the data set's scale, class categorical."""
    tables = {}
    for lab in LABS:
        table, _ = rescale_to_dataset(pd.read_csv(folder / f"{lab}_{stain}.csv"))
        extra = folder / f"{lab}_{stain}_invariant.csv"  # invariant features of the normalised images, if made
        extra = extra if extra.exists() else folder / f"{lab}_invariant.csv"
        if extra.exists():
            table = table.merge(pd.read_csv(extra), on="image", how="left", validate="many_to_one")
        table["class"] = pd.Categorical(table["class"], categories=list(CLASSES))
        table["lab"] = lab
        tables[lab] = table
    return tables


def paper_mix(table: pd.DataFrame, seed: int = 1) -> pd.DataFrame:
    """The rows of ``pbc`` in the paper's class mix, the cells ``wekawbc run`` picks with class_counts = "paper"."""
    from wekawbc.protocol.subsample import PAPER_TABLE2_COUNTS
    from wekawbc.experiment.data import select_cells

    folder = Path(table["image"].iloc[0]).parents[2]  # pbc/images/<type>/<file>
    chosen = select_cells("pbc", folder, {k: float(v) for k, v in PAPER_TABLE2_COUNTS.items()}, seed)
    order = {str(r.image): i for i, r in enumerate(chosen.records)}
    rows = table[table["image"].isin(order)].copy()
    return rows.iloc[np.argsort(rows["image"].map(order).to_numpy())].reset_index(drop=True)


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


def markdown_table(document: dict, metric: str = "accuracy") -> str:
    """The runs of a results document as a Markdown table: feature set × classifier rows, direction columns."""
    runs = document["runs"]
    columns = list(dict.fromkeys(f"{'+'.join(r['train'])} → {r['test']}" for r in runs))
    lines = ["| feature set | classifier | " + " | ".join(columns) + " |", "|---|---|" + "---|" * len(columns)]
    rows = list(dict.fromkeys((r["feature_set"], r["classifier"]) for r in runs))
    by_key = {(r["feature_set"], r["classifier"], f"{'+'.join(r['train'])} → {r['test']}"): r for r in runs}
    for feature_set, classifier in rows:
        cells = []
        for column in columns:
            run = by_key.get((feature_set, classifier, column))
            if run is None:
                cells.append("–")
            elif run.get("bootstrap"):
                b = run["bootstrap"][metric]
                scale = 100 if metric == "accuracy" else 1
                digits = 1 if metric == "accuracy" else 3
                cells.append(f"{scale * b['estimate']:.{digits}f} [{scale * b['low']:.{digits}f}, "
                             f"{scale * b['high']:.{digits}f}]")
            else:
                cells.append(f"{100 * run['accuracy']:.1f}")
        lines.append(f"| {feature_set} | {classifier} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def selected(document: dict) -> list[dict]:
    """For each reported direction: the set and classifier best on its tuning directions, and its result there."""
    runs = document["runs"]
    chosen = []
    for train, test in DIRECTIONS:
        tuning = TUNING[test]
        scores: dict[tuple[str, str], list[float]] = {}
        for run in runs:
            if run["feature_set"] in STABLE_SETS and STABLE_SETS[run["feature_set"]][2] != test:
                continue  # selected with this lab's labels: never chosen for it
            if (tuple(run["train"]), run["test"]) in tuning:
                scores.setdefault((run["feature_set"], run["classifier"]), []).append(run["accuracy"])
        complete = {key: float(np.mean(v)) for key, v in scores.items() if len(v) == len(tuning)}
        if not complete:
            continue
        best = max(complete, key=complete.get)
        result = next((r for r in runs if (r["feature_set"], r["classifier"]) == best
                       and tuple(r["train"]) == train and r["test"] == test), None)
        chosen.append({"direction": f"{'+'.join(train)} → {test}", "tuned_on": [f"{'+'.join(t)} → {s}" for t, s in tuning],
                       "feature_set": best[0], "classifier": best[1], "tuning_accuracy": complete[best],
                       "result": result and result.get("bootstrap")})
    return chosen


def merge(parts: list[Path], output: Path) -> None:
    """One results document from several made apart (e.g. one process per classifier), ``selected`` recomputed."""
    documents = [json.loads(p.read_text()) for p in parts]
    commits = sorted({d["code_commit"] for d in documents})
    if len(commits) != 1:
        raise SystemExit(f"cross_lab: error: the parts come from different code commits: {', '.join(commits)}")
    document = {**documents[0], "command": [d["command"] for d in documents],
                "merged_by": f"python -m benchmarks.cross_lab x {output} --merge {' '.join(map(str, parts))}",
                "classifiers": {k: v for d in documents for k, v in d["classifiers"].items()},
                "feature_sets": {k: v for d in documents for k, v in d["feature_sets"].items()},
                "runs": [r for d in documents for r in d["runs"]]}
    document["selected"] = selected(document)
    output.write_text(json.dumps(document, indent=1, default=float))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("features", type=Path, help="folder of LAB_STAIN.csv tables")
    parser.add_argument("output", type=Path)
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--sets", nargs="*", default=list(FEATURE_SETS), choices=[*FEATURE_SETS, *STABLE_SETS],
                        metavar="SET")
    parser.add_argument("--classifiers", nargs="*", default=list(CLASSIFIERS))
    parser.add_argument("--in-lab", action="store_true", help="also 10-fold CV on pbc in the paper's class mix (the 1,000 cells of "
                             "class_counts = \"paper\", seed 1) for every set and classifier")
    parser.add_argument("--in-lab-table", action="store_true",
                        help="with --in-lab: 10-fold CV on the whole pbc table instead of the paper mix (for a table "
                             "extracted from a subsample of pbc that lacks the paper mix's cells)")
    tuning = [d for plans in TUNING.values() for d in plans]
    parser.add_argument("--directions", nargs="*", default=list(dict.fromkeys(f"{'+'.join(t)}>{s}" for t, s in (*DIRECTIONS, *tuning))),
                        help="TRAIN[+TRAIN]>TEST, e.g. pbc>jtsc")
    parser.add_argument("--markdown", action="store_true", help="print the tables of OUT.json (no runs)")
    parser.add_argument("--merge", nargs="+", type=Path, metavar="JSON",
                        help="write OUT.json from these results files of runs made apart (no runs; FEATURE_DIR unused)")
    args = parser.parse_args(argv)
    if args.merge:
        merge(args.merge, args.output)
        return 0
    if args.markdown:
        document = json.loads(args.output.read_text())
        print(f"code commit {document['code_commit']}\n\naccuracy (%):\n\n{markdown_table(document)}\n"
              f"macro-F1:\n\n{markdown_table(document, 'macro_f1')}\nselected:\n")
        for choice in selected(document):
            print(json.dumps(choice))
        return 0
    directions = [(tuple(d.split(">")[0].split("+")), d.split(">")[1]) for d in args.directions]
    document = {"code_commit": _commit(), "versions": library_versions(), "seed": 1,
                "bootstrap": {"n_resamples": args.bootstrap, "seed": 1, "confidence": 0.95, "stratified": True},
                "classifiers": {k: CLASSIFIERS[k] for k in args.classifiers},
                "feature_sets": {k: {"stain": FEATURE_SETS[k][0], "n_features": len(FEATURE_SETS[k][1]),
                                     "per_lab_standardised": FEATURE_SETS[k][2]} for k in args.sets
                                 if k in FEATURE_SETS},
                "pbc_table": "the cells of the pbc table in FEATURE_DIR (see docs/cross_lab.md for which)",
                "command": " ".join(["python -m benchmarks.cross_lab", *(argv or sys.argv[1:])]),
                "runs": []}
    cache: dict[str, dict[str, pd.DataFrame]] = {}
    for set_name in args.sets:
        base, threshold, left_out = STABLE_SETS.get(set_name, (set_name, None, None))
        stain, columns, per_lab = FEATURE_SETS[base]
        if stain not in cache:
            cache[stain] = load_tables(args.features, stain)
        plans: list = list(directions)
        if left_out is not None:
            columns = stable_columns([cache[stain][lab] for lab in LABS if lab != left_out], columns, threshold)
            document["feature_sets"][set_name] = {"stain": stain, "n_features": len(columns), "columns": columns,
                                                  "per_lab_standardised": per_lab, "selected_on": [
                                                      lab for lab in LABS if lab != left_out]}
            plans = [d for d in plans if d[1] == left_out or d in TUNING[left_out]]
        tables = {lab: standardise(t, columns) if per_lab is True else t for lab, t in cache[stain].items()}
        rounds = int(per_lab[len("balanced"):] or 2) if isinstance(per_lab, str) else 0
        document["scales"] = document.get("scales", {})
        for lab, table in tables.items():
            document["scales"][f"{lab} ({stain})"] = {"um_per_pixel": float(table["um_per_pixel"].iloc[0]),
                                                      "source": str(table["scale_source"].iloc[0]),
                                                      "note": str(table["scale_note"].iloc[0])}
        if args.in_lab:
            plans.append((("pbc",), None))
        for classifier in args.classifiers:
            for train_labs, test_lab in plans:
                train = pd.concat([tables[lab] for lab in train_labs], ignore_index=True)
                if test_lab is None:
                    train = tables["pbc"] if args.in_lab_table else paper_mix(tables["pbc"])
                test = tables[test_lab] if test_lab else None
                if rounds and test is not None:
                    result = run_prior_balanced([tables[lab] for lab in train_labs], test, columns,
                                                CLASSIFIERS[classifier], args.bootstrap, rounds)
                else:
                    if rounds:  # in-lab CV: one lab, standardised at an equal class mix
                        train = standardise(train, columns, class_balance_weights(train["class"].cat.codes))
                    result = run_one(train, test, columns, CLASSIFIERS[classifier], args.bootstrap)
                result.update({"feature_set": set_name, "classifier": classifier, "train": list(train_labs),
                               "test": test_lab or ("10-fold CV (pbc table)" if args.in_lab_table
                                                    else "10-fold CV (paper mix)")})
                document["runs"].append(result)
                print(f"{set_name:28s} {classifier:13s} {'+'.join(train_labs):10s} -> {test_lab or 'CV':5s} "
                      f"acc {result['accuracy']:.3f} ({result['seconds']} s)", flush=True)
                document["selected"] = selected(document)
                args.output.write_text(json.dumps(document, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
