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

``self-training``  class-balanced self-training on the unlabelled test lab
          (:func:`wekawbc.experiment.crosslab.self_train`) after round 4's pipeline (the stable set chosen
          for ``jtsc``, prior-balanced standardisation), with and without EM, for each classifier, balance
          (equal or proportional), share per round (``--fractions``) and number of rounds
          (0 … ``--max-rounds``); every candidate is scored on
          ``pbc → bccd`` only, and ``pbc → jtsc`` is run once, with the one chosen there::

              python -m benchmarks.cross_lab_priors self-training FEATURE_DIR OUT.json

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
#: Self-training's candidates: round 4's set for jtsc (selected on pbc and bccd) and its two classifiers.
SELF_TRAINING_SET = ("stable<0.75 without jtsc: relative only without texture + invariant colour, "
                     "prior-balanced (8 rounds)")
SELF_TRAINING_CLASSIFIERS = ("Logistic (ridge 1)", "Vote (Logistic, RandomForest)")
BALANCES = ("equal", "proportional")
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


def score_with_em(predictions: Predictions, em: bool, bootstrap: int) -> dict:
    """:func:`score` of ``predictions``, first EM-adjusted when ``em`` (Weka's training counts as the
    training priors: pbc's equal mix), then with the adjustment's record as ``prior_adjustment``."""
    if not em:
        return score(predictions, bootstrap)
    adjusted = adjust_priors(predictions)
    return {**score(adjusted.predictions, bootstrap), "prior_adjustment": adjusted.to_dict()}


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


def _frame(values: np.ndarray, codes: np.ndarray, columns: list[str]):
    """A Weka-ready table: the feature matrix and the class column from class codes."""
    import pandas as pd

    from wekawbc.cells.dataset import CLASSES

    table = pd.DataFrame(values, columns=columns)
    table["class"] = pd.Categorical.from_codes(np.asarray(codes, dtype=np.int64), categories=list(CLASSES))
    return table


def _standardised(train, test, columns: list[str], scheme: str, rounds: int):
    """Prior-balanced per-lab standardisation of pbc and one test lab (round 3's pipeline, before its last run)."""
    from wekawbc.experiment.crosslab import prior_balanced_standardise
    from wekawbc.weka import run_classifier

    test_codes = np.asarray(test["class"].cat.codes)

    def fit_predict(X_train, y_train, X_test):  # the test classes are carried along, never read
        run = run_classifier(_frame(X_train, y_train, columns), scheme, test=_frame(X_test, test_codes, columns))
        return np.asarray(run.predictions.distribution).argmax(axis=1)

    return prior_balanced_standardise(
        [train[columns].to_numpy(np.float64)], [np.asarray(train["class"].cat.codes)],
        test[columns].to_numpy(np.float64), fit_predict, rounds)


def _weka_run(train, test, columns: list[str], scheme: str, rounds: int):
    """Round 3's pipeline on one direction: prior-balanced per-lab standardisation, then one Weka run."""
    from wekawbc.weka import run_classifier

    X_train, X_test, counts = _standardised(train, test, columns, scheme, rounds)
    return run_classifier(_frame(X_train, train["class"].cat.codes, columns), scheme,
                          test=_frame(X_test, test["class"].cat.codes, columns)), counts


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


def _self_trained(train, test, columns: list[str], classifier: str, std_rounds: int, rounds: int, em: bool,
                  fraction: float, balance: str, standardised=None):
    """Round 4's pipeline on one direction (``std_rounds`` of prior-balanced standardisation), then
    ``rounds`` of :func:`self_train` (EM inside each fit when ``em``).

    Returns the self-training result, the standardised tables (to reuse) and the EM estimate of each fit."""
    from benchmarks.cross_lab import CLASSIFIERS
    from wekawbc.experiment.crosslab import self_train
    from wekawbc.weka import run_classifier

    scheme = CLASSIFIERS[classifier]
    X_train, X_test, counts = standardised or _standardised(train, test, columns, scheme, std_rounds)
    test_codes = np.asarray(test["class"].cat.codes)
    estimates: list[dict] = []

    def fit_predict_proba(X, y, Z):  # the test classes are carried along for Weka's evaluation, never read
        predictions = run_classifier(_frame(X, y, columns), scheme, test=_frame(Z, test_codes, columns)).predictions
        if em:
            adjusted = adjust_priors(predictions)  # Weka's training counts: pbc's equal mix plus the pseudo rows
            estimates.append(adjusted.to_dict())
            predictions = adjusted.predictions
        return predictions.distribution

    result = self_train(X_train, np.asarray(train["class"].cat.codes), X_test, fit_predict_proba, rounds=rounds,
                        fraction=fraction, balance=balance)
    return result, (X_train, X_test, counts), estimates


def _self_training_entry(result, r: int, test, estimates: list[dict], bootstrap: int) -> dict:
    """The scores of ``result`` after ``r`` rounds; how many pseudo-labels were right is counted afterwards."""
    from wekawbc.cells.dataset import CLASSES

    actual = np.asarray(test["class"].cat.codes)
    entry = score(Predictions(tuple(CLASSES), actual, result.history[r]), bootstrap)
    entry["pseudo"] = [{"per_class": result.pseudo_counts[i], "n": int(len(rows)),
                        "right_afterwards": int((result.history[i].argmax(axis=1)[rows] == actual[rows]).sum())}
                       for i, rows in enumerate(result.pseudo_rows[:r])]
    entry["predicted_counts"] = result.predicted_counts[:r] + [np.bincount(result.history[r].argmax(axis=1),
                                                                            minlength=len(CLASSES)).tolist()]
    if estimates:
        entry["prior_adjustment"] = estimates[r]
    return entry


def self_training_part(features: Path, bootstrap: int, set_name: str, classifiers, fractions, max_rounds: int) -> dict:
    from benchmarks.cross_lab import load_tables

    tables = load_tables(features, "none")
    columns, missing, std_rounds, selection = set_columns(set_name, tables)
    common = {"feature_set": set_name, "train": "pbc", "n_features": len(columns), "features_not_in_tables": missing}
    runs = []
    for classifier in classifiers:  # every candidate on the tuning direction only
        standardised = None
        for em in (False, True):
            for balance in BALANCES:
                for fraction in fractions:
                    result, standardised, estimates = _self_trained(
                        tables["pbc"], tables[TUNING], columns, classifier, std_rounds, max_rounds, em, fraction,
                        balance, standardised)
                    first = balance == BALANCES[0] and fraction == fractions[0]
                    for r in range(0 if first else 1, max_rounds + 1):  # rounds 0: once per (classifier, em)
                        entry = _self_training_entry(result, r, tables[TUNING], estimates, bootstrap)
                        runs.append({**common, "classifier": classifier, "em": em, "rounds": r,
                                     "balance": balance if r else None, "fraction": fraction if r else None,
                                     "test": TUNING, **entry})
                        print(f"{classifier[:20]:20s} em={em!s:5s} {balance:12s} fraction={fraction} rounds={r} "
                              f"acc {entry['accuracy']['estimate']:.3f}", flush=True)
    runs.sort(key=lambda run: run["rounds"] > 0)  # ties go to no self-training (stable sort keeps the rest)
    chosen = choose(runs, ("classifier", "em", "balance", "fraction", "rounds"))
    setting = chosen["setting"]
    # The reported direction, once, with the chosen setting.
    result, _, estimates = _self_trained(tables["pbc"], tables["jtsc"], columns, setting["classifier"], std_rounds,
                                         setting["rounds"], setting["em"], setting["fraction"] or fractions[0],
                                         setting["balance"] or BALANCES[0])
    entry = _self_training_entry(result, setting["rounds"], tables["jtsc"], estimates, bootstrap)
    runs.append({**common, **setting, "test": "jtsc", **entry})
    print(f"chosen {setting}: jtsc acc {entry['accuracy']['estimate']:.3f}", flush=True)
    chosen["results"]["jtsc"] = {k: entry[k] for k in ("accuracy", "macro_f1")}
    return {"runs": runs, "chosen": chosen, "stable_sets": {set_name: selection} if selection else {},
            "prior_balanced_rounds": std_rounds,
            "self_training": "wekawbc.experiment.crosslab.self_train: in round r the most confident test rows of each "
                             "predicted class join pbc with their predicted class, ceil(r * fraction * n / 5) per "
                             "class (equal) or ceil(r * fraction * rows predicted in it) (proportional); "
                             "'right_afterwards' is counted from the labels after the run, for the report only",
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
    parser.add_argument("part", choices=("weka", "self-training", "cnn"))
    parser.add_argument("input", type=Path, help="feature tables (weka) or predictions CSVs (cnn)")
    parser.add_argument("output", type=Path)
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--sets", nargs="+", metavar="SET", choices=[*FEATURE_SETS, *STABLE_SETS],
                        help="weka: prior-balanced sets of benchmarks.cross_lab (default: round 3's pipelines)")
    parser.add_argument("--classifiers", nargs="+", metavar="NAME", choices=list(CLASSIFIERS),
                        help="weka, with --sets: classifiers of benchmarks.cross_lab, each run on every set "
                             "(default: Logistic (ridge 1)); self-training: the candidates (default: Logistic "
                             "(ridge 1) and Vote (Logistic, RandomForest))")
    parser.add_argument("--fractions", nargs="+", type=float, default=[0.1, 0.2, 0.3],
                        help="self-training: share of n_test / n_classes pseudo-labelled per class in round 1")
    parser.add_argument("--max-rounds", type=int, default=3, help="self-training: rounds 0 … this are candidates")
    args = parser.parse_args(argv)
    pipelines = ([(s, c) for s in args.sets for c in args.classifiers or ["Logistic (ridge 1)"]] if args.sets
                 else WEKA_PIPELINES)
    if args.part == "weka":
        body = weka_part(args.input, args.bootstrap, pipelines)
    elif args.part == "self-training":
        body = self_training_part(args.input, args.bootstrap, (args.sets or [SELF_TRAINING_SET])[0],
                                  args.classifiers or SELF_TRAINING_CLASSIFIERS, args.fractions, args.max_rounds)
    else:
        body = cnn_part(args.input, args.bootstrap)
    document = {"code_commit": _commit(), "versions": library_versions(),
                "command": shlex.join(["python", "-m", "benchmarks.cross_lab_priors", *(argv or sys.argv[1:])]),
                "bootstrap": {"n_resamples": args.bootstrap, "seed": 1, "confidence": 0.95, "stratified": True},
                "method": ("class-balanced self-training (Zou et al. 2018; wekawbc.experiment.crosslab.self_train), "
                           "optionally with " if args.part == "self-training" else "")
                + "EM of Saerens, Latinne & Decaestecker 2002 (wekawbc.predictions.adjust_priors)", **body}
    args.output.write_text(json.dumps(document, indent=1, default=float) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
