"""Label-free prior-shift adaptation across labs: each classifier's predictions scored as they are and
after the EM of Saerens, Latinne & Decaestecker 2002 (``wekawbc.predictions.adjust_priors``).

Two parts, each writing one JSON document (every run with its bootstrap intervals, the estimated priors,
the EM iterations, the neutrophil/eosinophil confusion, the code commit and the command):

``weka``  the Weka pipeline of docs/cross_lab.md round 3 (feature tables of ``benchmarks.cross_lab``:
          the set, the prior-balanced per-lab standardisation and the classifier as named), trained on
          pbc and tested on bccd (the tuning direction) and jtsc (the reported one)::

              python -m benchmarks.cross_lab_priors weka FEATURE_DIR OUT.json

          ``--sets S ... --classifiers C ...`` run every named set with every named classifier instead
          (sets and classifiers of ``benchmarks.cross_lab``, its stability-selected sets included:
          ``stable<T without LAB: BASE`` keeps the columns of BASE that :func:`benchmarks.cross_lab.stable_columns`
          finds stable on the two labs other than LAB), e.g. round 4's candidates for ``jtsc``.

``cnn``   predictions CSVs of ``wekawbc cnn predict`` (one per test set and setting, named
          ``<test>_<setting>.csv``), of a network trained at an equal class mix (balanced sampler)::

              python -m benchmarks.cross_lab_priors cnn PREDICTIONS_DIR OUT.json

The choice (EM or not, and for the CNN AdaBN or not) is made on ``pbc → bccd`` accuracy only
(``chosen`` in the JSON); ``pbc → jtsc`` is reported for every setting and for the chosen one.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

import numpy as np

from wekawbc.predictions import Predictions, adjust_priors, read_predictions_csv

#: (feature set of benchmarks.cross_lab, classifier) of round 3: the row chosen for pbc -> jtsc, and the best on bccd.
WEKA_PIPELINES = (("relative only without texture, prior-balanced (8 rounds)", "Logistic (ridge 1)"),
                  ("relative only without texture + invariant colour, prior-balanced (4 rounds)",
                   "Logistic (ridge 1)"))
TESTS = ("bccd", "jtsc")
TUNING = "bccd"


def score(predictions: Predictions, bootstrap: int) -> dict:
    """Accuracy, macro-F1 and kappa with the engine's stratified bootstrap, and the confusion matrix."""
    from wekawbc.evaluation import evaluate

    result = evaluate(predictions)
    metrics = result.bootstrap(bootstrap, seed=1)["metrics"]
    labels = list(predictions.labels)
    matrix = np.asarray(result.confusion_matrix)
    n, e = labels.index("neutrophil"), labels.index("eosinophil")
    return {**{name: {k: metrics[name][k] for k in ("estimate", "low", "high")}
               for name in ("accuracy", "macro_f1", "kappa")},
            "labels": labels, "confusion_matrix": matrix.tolist(),
            "neutrophils": {"n": float(matrix[n].sum()), "right": float(matrix[n, n]),
                            "called_eosinophil": float(matrix[n, e])},
            "true_priors": (matrix.sum(axis=1) / matrix.sum()).tolist(), "n": int(predictions.n_instances)}


def both(predictions: Predictions, train_priors, bootstrap: int) -> list[dict]:
    """The run as it is, and after prior adjustment (the estimate and its iterations recorded)."""
    adjusted = adjust_priors(predictions, train_priors)
    return [{"em": False, **score(predictions, bootstrap)},
            {"em": True, **score(adjusted.predictions, bootstrap), "prior_adjustment": adjusted.to_dict()}]


def choose(runs: list[dict], keys: tuple[str, ...]) -> dict:
    """The setting (values of ``keys``) best on the tuning test set, and its result on each test set."""
    tuning = [r for r in runs if r["test"] == TUNING]
    best = max(tuning, key=lambda r: r["accuracy"]["estimate"])
    setting = {k: best[k] for k in keys}
    return {"rule": f"best accuracy on pbc -> {TUNING}", "setting": setting,
            "results": {r["test"]: {k: r[k] for k in ("accuracy", "macro_f1")}
                        for r in runs if all(r[k] == v for k, v in setting.items())}}


def _weka_run(train, test, columns: list[str], scheme: str, rounds: int):
    """Round 3's pipeline on one direction: prior-balanced per-lab standardisation, then one Weka run."""
    import pandas as pd

    from wekawbc.cells.dataset import CLASSES
    from wekawbc.experiment.crosslab import prior_balanced_standardise
    from wekawbc.weka import run_classifier

    def frame(values: np.ndarray, classes) -> pd.DataFrame:
        table = pd.DataFrame(values, columns=columns)
        table["class"] = pd.Categorical(np.asarray(classes), categories=list(CLASSES))
        return table

    def fit_predict(X_train, y_train, X_test):  # the test classes are carried along, never read
        run = run_classifier(frame(X_train, train["class"]), scheme, test=frame(X_test, test["class"]))
        return np.asarray(run.predictions.distribution).argmax(axis=1)

    X_train, X_test, counts = prior_balanced_standardise(
        [train[columns].to_numpy(np.float64)], [np.asarray(train["class"].cat.codes)],
        test[columns].to_numpy(np.float64), fit_predict, rounds)
    return run_classifier(frame(X_train, train["class"]), scheme, test=frame(X_test, test["class"])), counts


def set_columns(set_name: str, tables: dict) -> tuple[list[str], list[str], int, dict]:
    """The columns of a prior-balanced set of ``benchmarks.cross_lab`` (stability-selected sets on the labs
    they name), those of it the tables lack, its standardisation rounds, and how a stable set was selected."""
    from benchmarks.cross_lab import FEATURE_SETS, LABS, STABLE_SETS, stable_columns

    base, threshold, left_out = STABLE_SETS.get(set_name, (set_name, None, None))
    _, wanted, per_lab = FEATURE_SETS[base]
    if not (isinstance(per_lab, str) and per_lab.startswith("balanced")):
        raise SystemExit(f"cross_lab_priors: error: {set_name}: not a prior-balanced set")
    # Tables extracted before later registry additions lack those columns: the set is what every lab holds.
    columns = [c for c in wanted if all(c in tables[lab].columns for lab in LABS)]
    missing = [c for c in wanted if c not in columns]
    selection: dict = {}
    if left_out is not None:  # selected on the two other labs' labels, never on those of the lab left out
        labs = [lab for lab in LABS if lab != left_out]
        columns = stable_columns([tables[lab] for lab in labs], columns, threshold)
        selection = {"selected_on": labs, "threshold": threshold, "columns": columns}
    return columns, missing, int(per_lab[len("balanced"):] or 2), selection


def weka_part(features: Path, bootstrap: int, pipelines=WEKA_PIPELINES) -> dict:
    from benchmarks.cross_lab import CLASSIFIERS, load_tables

    tables = load_tables(features, "none")
    runs, selections = [], {}
    for set_name, classifier in pipelines:
        columns, missing, rounds, selection = set_columns(set_name, tables)
        if selection:
            selections[set_name] = selection
        for test_lab in TESTS:
            run, counts = _weka_run(tables["pbc"], tables[test_lab], columns, CLASSIFIERS[classifier], rounds)
            for entry in both(run.predictions, None, bootstrap):  # Weka's training counts: the priors trained at
                runs.append({"feature_set": set_name, "classifier": classifier, "scheme": CLASSIFIERS[classifier],
                             "train": "pbc", "test": test_lab, "n_features": len(columns),
                             "features_not_in_tables": missing, "predicted_counts_per_round": counts, **entry})
                print(f"{set_name[:40]:40s} {test_lab:5s} em={entry['em']!s:5s} acc {entry['accuracy']['estimate']:.3f}",
                      flush=True)
    return {"runs": runs, "chosen": choose(runs, ("feature_set", "classifier", "em")), "stable_sets": selections,
            "pbc_table": "pbc_none.csv of FEATURE_DIR: the class-balanced 1000 of docs/cross_lab.md round 3"}


def cnn_part(folder: Path, bootstrap: int) -> dict:
    runs = []
    for path in sorted(folder.glob("*_*.csv")):
        test, setting = path.stem.split("_", 1)
        if test not in TESTS or setting.endswith(".priors"):
            continue
        predictions = read_predictions_csv(path)
        # The network was trained with a class-balanced sampler: its outputs carry equal priors.
        for entry in both(predictions, [1.0] * predictions.n_classes, bootstrap):
            runs.append({"setting": setting, "train": "pbc", "test": test, "predictions": path.name, **entry})
            print(f"{setting:10s} {test:5s} em={entry['em']!s:5s} acc {entry['accuracy']['estimate']:.3f}", flush=True)
    return {"runs": runs, "chosen": choose(runs, ("setting", "em"))}


def main(argv: list[str] | None = None) -> int:
    from benchmarks.cross_lab import CLASSIFIERS, FEATURE_SETS, STABLE_SETS, _commit
    from wekawbc.provenance import library_versions

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", choices=("weka", "cnn"))
    parser.add_argument("input", type=Path, help="feature tables (weka) or predictions CSVs (cnn)")
    parser.add_argument("output", type=Path)
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--sets", nargs="+", metavar="SET", choices=[*FEATURE_SETS, *STABLE_SETS],
                        help="weka: prior-balanced sets of benchmarks.cross_lab (default: round 3's pipelines)")
    parser.add_argument("--classifiers", nargs="+", metavar="NAME", default=["Logistic (ridge 1)"], choices=list(CLASSIFIERS),
                        help="weka, with --sets: classifiers of benchmarks.cross_lab, each run on every set")
    args = parser.parse_args(argv)
    pipelines = [(s, c) for s in args.sets for c in args.classifiers] if args.sets else WEKA_PIPELINES
    body = (weka_part(args.input, args.bootstrap, pipelines) if args.part == "weka"
            else cnn_part(args.input, args.bootstrap))
    document = {"code_commit": _commit(), "versions": library_versions(),
                "command": shlex.join(["python", "-m", "benchmarks.cross_lab_priors", *(argv or sys.argv[1:])]),
                "bootstrap": {"n_resamples": args.bootstrap, "seed": 1, "confidence": 0.95, "stratified": True},
                "method": "EM of Saerens, Latinne & Decaestecker 2002 (wekawbc.predictions.adjust_priors)", **body}
    args.output.write_text(json.dumps(document, indent=1, default=float) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
