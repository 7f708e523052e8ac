"""Weka classifiers as scikit-learn estimators: wekawbc's WekaClassifier against python-weka-wrapper3's
own cross-validation and against the anchor, sklearn-weka-plugin 0.1.0.

Run: ``python3 -m benchmarks estimator``. J48 (``-C 0.25``), 1,000 x 30, three classes, 10-fold
cross-validation; every variant runs in the same process on the same warm JVM, interleaved
(A B C A B C ...) so a busy machine slows each alike; medians of ``REPEATS`` runs are reported.

The anchor is not a dependency of wekawbc; install it for this benchmark only with
``pip install --no-deps sklearn-weka-plugin==0.1.0``. Without it, its rows say so.
The second table re-checks, live, what the issue reports about the anchor, beside wekawbc.
"""

from __future__ import annotations

import os
import pickle
import platform
import statistics
import time
import warnings
from collections.abc import Callable

import numpy as np

REPEATS = 5
CLASSIFIER = "weka.classifiers.trees.J48 -C 0.25"
ANCHOR = "sklearn-weka-plugin 0.1.0"


def _data() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import make_classification

    X, codes = make_classification(n_samples=1000, n_features=30, n_informative=10, n_classes=3,
                                   weights=[0.5, 0.3, 0.2], random_state=0)
    return X, np.array(["neutrophil", "lymphocyte", "monocyte"])[codes]


def _anchor():
    """The anchor's estimator class, or None when it is not installed."""
    try:
        from sklweka.classifiers import WekaEstimator
    except ImportError:
        return None
    return WekaEstimator


def _anchor_estimator(classname: str = "weka.classifiers.trees.J48", options=("-C", "0.25")):
    return _anchor()(classname=classname, options=list(options))


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"[:110]


def _timed(function: Callable[[], object]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def _variants(X: np.ndarray, y: np.ndarray) -> dict[str, Callable[[], object]]:
    """Name -> one 10-fold cross-validation of J48 on the data."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    from wekawbc.protocol.folds import cv_train_test_indices
    from wekawbc.weka.sklearn import WekaClassifier, cross_validate_predictions
    from weka.classifiers import Classifier, Evaluation
    from weka.core.classes import Random
    from weka.core.dataset import create_instances_from_matrices

    instances = create_instances_from_matrices(X, y, nominal_y=True)
    instances.class_is_last()
    classname, *options = CLASSIFIER.split()
    labels = sorted(set(y.tolist()))
    splits = cv_train_test_indices(y, 10, 1)
    folds = StratifiedKFold(10)

    def pww3_cv():
        evaluation = Evaluation(instances)
        evaluation.crossvalidate_model(Classifier(classname=classname, options=options), instances, 10, Random(1))

    variants = {
        "python-weka-wrapper3 `Evaluation.crossvalidate_model` (Weka's own CV on prebuilt Instances)": pww3_cv,
        "wekawbc `cross_val_score(WekaClassifier(...), X, y, cv=10)`":
            lambda: cross_val_score(WekaClassifier(CLASSIFIER), X, y, cv=folds),
        "wekawbc `cross_validate_predictions` on Weka's folds (same numbers as Weka's CV)":
            lambda: cross_validate_predictions(WekaClassifier(CLASSIFIER), X, y, splits, labels),
    }
    if _anchor() is not None:
        variants[f"{ANCHOR} `cross_val_score(WekaEstimator(...), X, y, cv=10, scoring='accuracy')`"] = (
            lambda: cross_val_score(_anchor_estimator(), X, y, cv=folds, scoring="accuracy", error_score="raise"))
    return variants


def _conversions(X: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Median seconds to turn the numpy data into Weka Instances, and to predict 1,000 rows."""
    from weka.core.dataset import create_instances_from_matrices

    from wekawbc.weka.sklearn import WekaClassifier, _header, _instances

    header = _header([f"x{j + 1}" for j in range(X.shape[1])], sorted(set(y.tolist())))
    codes = np.searchsorted(sorted(set(y.tolist())), y)
    ours = WekaClassifier(CLASSIFIER).fit(X, y)
    tasks = {
        "numpy -> Instances, wekawbc (one `double[][]`)": lambda: _instances(header, X, codes, None),
        "numpy -> Instances, python-weka-wrapper3 `create_instances_from_matrices`":
            lambda: create_instances_from_matrices(X, y, nominal_y=True),
        "predict_proba 1,000 rows, wekawbc (one `distributionsForInstances` call)": lambda: ours.predict_proba(X),
    }
    if _anchor() is not None:
        anchor = _anchor_estimator().fit(X, y)
        tasks[f"predict_proba 1,000 rows, {ANCHOR} (row by row)"] = lambda: anchor.predict_proba(X)
    times = {name: [] for name in tasks}
    for _ in range(REPEATS):
        for name, task in tasks.items():
            times[name].append(_timed(task))
    return {name: statistics.median(values) for name, values in times.items()}


# -- behaviour checks, each returning a short outcome -----------------------------------------------

def _check_classifier(make) -> str:
    from sklearn.base import is_classifier

    return "yes (stratified folds)" if is_classifier(make()) else "no: plain KFold, regression scoring"


def _check_default_scoring(make, X, y) -> str:
    from sklearn.model_selection import cross_val_score

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = cross_val_score(make(), X, y, cv=3)
    return "NaN" if np.isnan(scores).any() else f"accuracy {scores.mean():.3f}"


def _check_grid_search(make, X, y, grid) -> str:
    from sklearn.model_selection import GridSearchCV

    try:
        search = GridSearchCV(make(), grid, cv=3, error_score="raise").fit(X, y)
    except Exception as error:  # the outcome is what is being measured
        return f"fails: {_first_line(error)}"
    return f"works, best {search.best_params_}"


def _check_set_params(make, params) -> str:
    estimator = make()
    returned = estimator.set_params(**params)
    return "returns self" if returned is estimator else f"returns {returned!r}"


def _check_n_jobs(make, X, y) -> str:
    from sklearn.model_selection import cross_val_score

    from joblib.externals.loky import get_reusable_executor

    # Fresh worker processes, so no JVM is left in them by an earlier check.
    get_reusable_executor().shutdown(wait=True)
    try:
        parallel = cross_val_score(make(), X, y, cv=4, n_jobs=2, scoring="accuracy", error_score="raise")
    except Exception as error:
        return f"fails: {_first_line(error)}"
    serial = cross_val_score(make(), X, y, cv=4, scoring="accuracy")
    return "works, equal to n_jobs=1" if np.array_equal(parallel, serial) else "works, but differs from n_jobs=1"


def _check_sample_weight(make_zero_r) -> str:
    X = np.arange(10, dtype=float).reshape(-1, 1)
    y = np.array(["a"] * 6 + ["b"] * 4)
    weights = np.where(y == "b", 2.0, 1.0)  # class b now outweighs a: ZeroR must predict b
    try:
        predicted = make_zero_r().fit(X, y, sample_weight=weights).predict(X[:1])[0]
    except Exception as error:
        return f"fails: {_first_line(error)}"
    return "used (ZeroR flips to the heavier class)" if predicted == "b" else "ignored (ZeroR keeps the lighter class)"


def _check_pickle(make, X, y) -> str:
    fitted = make().fit(X, y)
    try:
        back = pickle.loads(pickle.dumps(fitted))
        same = np.array_equal(back.predict_proba(X), fitted.predict_proba(X))
    except Exception as error:
        return f"fails: {_first_line(error)}"
    return "round trip, same predictions" if same else "round trip, different predictions"


def _checks(X: np.ndarray, y: np.ndarray) -> list[tuple[str, str, str]]:
    from wekawbc.weka.sklearn import WekaClassifier

    small_X, small_y = X[:300], y[:300]
    ours = lambda: WekaClassifier(CLASSIFIER)  # noqa: E731
    rows = [
        ("recognised as a classifier", _check_classifier(ours)),
        ("`cross_val_score` default scoring", _check_default_scoring(ours, small_X, small_y)),
        ("`set_params`", _check_set_params(ours, {"options": "-M 5"})),
        ("`GridSearchCV` over options", _check_grid_search(lambda: WekaClassifier("weka.classifiers.trees.J48"),
                                                           small_X, small_y, {"options": ["-C 0.1", "-C 0.25"]})),
        ("`n_jobs=2` (process workers)", _check_n_jobs(ours, small_X, small_y)),
        ("`sample_weight`", _check_sample_weight(lambda: WekaClassifier("weka.classifiers.rules.ZeroR"))),
        ("pickle a fitted model", _check_pickle(ours, small_X, small_y)),
    ]
    if _anchor() is None:
        return [(name, mine, f"{ANCHOR} not installed") for name, mine in rows]
    anchor = _anchor_estimator
    theirs = [
        _check_classifier(anchor),
        _check_default_scoring(anchor, small_X, small_y),
        _check_set_params(anchor, {"classname": "weka.classifiers.trees.J48", "options": ["-M", "5"]}),
        _check_grid_search(anchor, small_X, small_y, {"options": [["-C", "0.1"], ["-C", "0.25"]]}),
        _check_n_jobs(anchor, small_X, small_y),
        _check_sample_weight(lambda: _anchor_estimator("weka.classifiers.rules.ZeroR", ())),
        _check_pickle(anchor, small_X, small_y),
    ]
    return [(name, mine, other) for (name, mine), other in zip(rows, theirs)]


def main() -> str:
    from wekawbc.provenance import library_versions
    from wekawbc.weka.jvm import start

    start()
    load_before = os.getloadavg()[0]
    X, y = _data()
    variants = _variants(X, y)
    for run in variants.values():  # warm-up: class loading and JIT, not measured
        run()
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(REPEATS):
        for name, run in variants.items():
            times[name].append(_timed(run))
    medians = {name: statistics.median(values) for name, values in times.items()}
    baseline = next(iter(medians.values()))
    conversions = _conversions(X, y)
    checks = _checks(X, y)

    versions = library_versions()
    lines = [
        "## Weka classifiers as scikit-learn estimators (bench_estimator)",
        "",
        f"Command: `python3 -m benchmarks estimator`. J48 `-C 0.25`, 1,000 x 30, three classes (500/300/200), "
        f"10-fold CV; one warm JVM, variants interleaved, median of {REPEATS} runs (all runs listed). "
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, shared; Python {platform.python_version()}, "
        f"Weka {versions.get('weka', '?')}, scikit-learn {versions.get('scikit-learn', '?')}, "
        f"python-weka-wrapper3 {versions.get('python-weka-wrapper3', '?')}. "
        f"Load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after (other jobs share the cores).",
        "",
        "| 10-fold CV of J48 | median s | runs s | vs pww3's own CV |",
        "| --- | ---: | --- | ---: |",
    ]
    for name, median in medians.items():
        runs = ", ".join(f"{t:.2f}" for t in times[name])
        lines.append(f"| {name} | {median:.2f} | {runs} | {median / baseline:.2f}x |")
    names = list(medians)
    if _anchor() is None:
        lines.append(f"| {ANCHOR} | not installed (`pip install --no-deps sklearn-weka-plugin==0.1.0`) | | |")
    else:
        ours, anchor = medians[names[1]], medians[names[-1]]
        lines += ["", f"`WekaClassifier` in `cross_val_score` takes {ours / baseline:.2f}x the time of Weka's own CV "
                      f"through python-weka-wrapper3; {ANCHOR} takes {anchor / baseline:.2f}x, "
                      f"{anchor / ours:.1f}x as long as `WekaClassifier` (it converts and predicts row by row)."]
    lines += ["", "| step | median ms |", "| --- | ---: |"]
    lines += [f"| {name} | {seconds * 1000:.1f} |" for name, seconds in conversions.items()]
    lines += ["", f"| behaviour (checked live) | wekawbc `WekaClassifier` | {ANCHOR} |", "| --- | --- | --- |"]
    lines += [f"| {name} | {mine} | {theirs} |" for name, mine, theirs in checks]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(main())
