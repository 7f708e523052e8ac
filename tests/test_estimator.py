"""WekaClassifier as a scikit-learn estimator, and cross-validation on Weka's folds, against Weka itself.

Reference values come from Weka 3.9.7 through the JVM in the same test: python-weka-wrapper3's
``Classifier`` on the same rows, and Weka's own ``Evaluation.crossValidateModel``.
"""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import Pipeline
from sklearn.base import clone, is_classifier
from sklearn.datasets import make_classification
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, StratifiedKFold, check_cv, cross_val_score, cross_validate
from sklearn.utils.estimator_checks import parametrize_with_checks

from wekawbc._io import WekawbcError
from wekawbc.imbalance import ClassBalancedWekaClassifier, CostSensitiveWekaClassifier
from wekawbc.weka.sklearn import WekaClassifier, WekaTrainingError, cross_validate_predictions

LABELS = ("band", "lymph", "mono")


@pytest.fixture(scope="module")
def data():
    """200 x 10, three imbalanced classes with text labels."""
    X, codes = make_classification(n_samples=200, n_features=10, n_informative=5, n_classes=3,
                                   weights=[0.6, 0.3, 0.1], random_state=7)
    return X, np.array(LABELS)[codes]


def _weka_instances(X, y, labels):
    """The same rows as Weka Instances, built row by row by python-weka-wrapper3 (an independent path)."""
    from weka.core.dataset import Attribute, Instance, Instances

    attributes = [Attribute.create_numeric(f"x{j + 1}") for j in range(X.shape[1])]
    attributes.append(Attribute.create_nominal("class", list(labels)))
    data = Instances.create_instances("data", attributes, X.shape[0])
    index = {label: k for k, label in enumerate(labels)}
    for row, label in zip(X, y):
        data.add_instance(Instance.create_instance([*row.tolist(), index[label]]))
    data.class_is_last()
    return data


def _weka_distributions(command, X_train, y_train, X_test, labels):
    from weka.classifiers import Classifier

    classname, *options = command.split()
    model = Classifier(classname=classname, options=options)
    model.build_classifier(_weka_instances(X_train, y_train, labels))
    test = _weka_instances(X_test, np.full(len(X_test), labels[0]), labels)
    return np.array([model.distribution_for_instance(inst) for inst in test])


def test_recognised_as_classifier_with_stratified_folds_and_accuracy(jvm, data):
    X, y = data
    estimator = WekaClassifier("weka.classifiers.trees.J48 -C 0.25")
    assert is_classifier(estimator)
    assert isinstance(check_cv(5, y, classifier=is_classifier(estimator)), StratifiedKFold)
    scores = cross_val_score(estimator, X, y)
    assert not np.isnan(scores).any()
    expected = [np.mean(clone(estimator).fit(X[tr], y[tr]).predict(X[te]) == y[te])
                for tr, te in StratifiedKFold(5).split(X, y)]
    np.testing.assert_allclose(scores, expected)
    assert 0.5 < scores.mean() < 1.0


@parametrize_with_checks([WekaClassifier(), WekaClassifier(class_weight="balanced"), ClassBalancedWekaClassifier(),
                          CostSensitiveWekaClassifier()])
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize("command", ["weka.classifiers.trees.J48 -C 0.25", "weka.classifiers.bayes.NaiveBayes",
                                     "weka.classifiers.functions.Logistic", "weka.classifiers.trees.RandomForest -I 10 -S 3"])
def test_predictions_equal_wekas_own(jvm, data, command):
    X, y = data
    model = WekaClassifier(command).fit(X[:150], y[:150])
    np.testing.assert_array_equal(model.classes_, np.array(LABELS))
    np.testing.assert_array_equal(model.predict_proba(X[150:]), _weka_distributions(command, X[:150], y[:150], X[150:], LABELS))
    np.testing.assert_array_equal(model.predict(X[150:]), model.classes_[model.predict_proba(X[150:]).argmax(axis=1)])


def test_missing_values_are_wekas(jvm, data):
    X, y = data
    X = X.copy()
    X[::7, 2] = np.nan
    model = WekaClassifier("weka.classifiers.trees.J48").fit(X[:150], y[:150])
    np.testing.assert_array_equal(model.predict_proba(X[150:]),
                                  _weka_distributions("weka.classifiers.trees.J48", X[:150], y[:150], X[150:], LABELS))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.FitFailedWarning", "ignore:One or more of the test scores")
def test_grid_search_over_classifier_and_options(jvm, data):
    X, y = data
    search = GridSearchCV(WekaClassifier(), {"classifier": ["weka.classifiers.trees.J48 -C 0.25",
                                                            "weka.classifiers.bayes.NaiveBayes"],
                                             "options": [None, "-M 20"]}, cv=3, error_score=np.nan)
    search.fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    params = search.cv_results_["params"]
    by_params = {(p["classifier"].split()[0], p["options"]): score for p, score in zip(params, scores)}
    assert not np.isnan(by_params["weka.classifiers.trees.J48", None])
    assert by_params["weka.classifiers.trees.J48", None] != by_params["weka.classifiers.trees.J48", "-M 20"]
    assert np.isnan(by_params["weka.classifiers.bayes.NaiveBayes", "-M 20"])  # NaiveBayes has no -M
    assert search.best_estimator_.get_params() == {**WekaClassifier().get_params(), **search.best_params_}
    with pytest.raises(WekawbcError, match="Illegal options: -M 20"):
        GridSearchCV(WekaClassifier("weka.classifiers.bayes.NaiveBayes"), {"options": ["-M 20"]}, cv=3,
                     error_score="raise").fit(X, y)


def test_set_params_returns_self_and_changes_model(jvm, data):
    X, y = data
    estimator = WekaClassifier("weka.classifiers.trees.J48")
    assert estimator.set_params(options="-M 30") is estimator
    assert estimator.get_params() == {"classifier": "weka.classifiers.trees.J48", "options": "-M 30", "class_weight": None,
                                      "classes": None}
    small = str(estimator.fit(X, y).weka_model_)
    large = str(estimator.set_params(options="-M 1").fit(X, y).weka_model_)
    assert small.count("\n") < large.count("\n")  # fewer leaves with 30 instances per leaf


def test_smote_pipeline(jvm, data):
    X, y = data
    pipeline = Pipeline([("smote", SMOTE(random_state=1)), ("weka", WekaClassifier("weka.classifiers.trees.J48"))])
    scores = cross_val_score(pipeline, X, y, cv=3)
    assert not np.isnan(scores).any()
    fitted = pipeline.fit(X, y)
    assert fitted.predict_proba(X).shape == (200, 3)
    assert fitted.predict(X).shape == (200,)


class _PidRecordingClassifier(WekaClassifier):
    """Records the process that trained it, to prove the work ran in other processes."""

    def fit(self, X, y, sample_weight=None):
        super().fit(X, y, sample_weight)
        self.fit_pid_ = os.getpid()
        return self


def test_n_jobs_2_uses_worker_processes_with_their_own_jvm(jvm, data):
    X, y = data
    estimator = _PidRecordingClassifier("weka.classifiers.trees.J48")
    parallel = cross_validate(estimator, X, y, cv=4, n_jobs=2, return_estimator=True)
    serial = cross_val_score(estimator, X, y, cv=4)
    np.testing.assert_array_equal(parallel["test_score"], serial)
    pids = {model.fit_pid_ for model in parallel["estimator"]}
    assert os.getpid() not in pids
    # Each model came back pickled from its worker and predicts here as one trained here does.
    first_train, _ = next(StratifiedKFold(4).split(X, y))
    np.testing.assert_array_equal(parallel["estimator"][0].predict_proba(X),
                                  clone(estimator).fit(X[first_train], y[first_train]).predict_proba(X))


def test_sample_weight_reaches_weka(jvm):
    X = np.arange(10, dtype=float).reshape(-1, 1)
    y = np.array(["a"] * 6 + ["b"] * 4)
    assert WekaClassifier("weka.classifiers.rules.ZeroR").fit(X, y).predict([[0.0]])[0] == "a"
    weights = np.where(y == "b", 2.0, 1.0)
    flipped = WekaClassifier("weka.classifiers.rules.ZeroR").fit(X, y, sample_weight=weights)
    assert flipped.predict([[0.0]])[0] == "b"
    np.testing.assert_allclose(flipped.predict_proba([[0.0]]), [[7 / 16, 9 / 16]])  # Weka's Laplace-smoothed counts


@pytest.mark.parametrize("command", ["weka.classifiers.bayes.NaiveBayes", "weka.classifiers.functions.Logistic"])
def test_integer_weights_equal_repeated_rows(jvm, data, command):
    X, y = data
    weights = np.random.default_rng(0).integers(1, 4, size=len(y))
    weighted = WekaClassifier(command).fit(X, y, sample_weight=weights)
    repeated = WekaClassifier(command).fit(np.repeat(X, weights, axis=0), np.repeat(y, weights))
    # Logistic's optimiser stops at a tolerance, so the two fits agree to about 1e-6.
    np.testing.assert_allclose(weighted.predict_proba(X), repeated.predict_proba(X), rtol=0, atol=1e-5)
    unweighted = WekaClassifier(command).fit(X, y)
    assert np.abs(weighted.predict_proba(X) - unweighted.predict_proba(X)).max() > 1e-3


def test_sample_weight_equals_wekas_instance_weights(jvm, data):
    # J48 is not invariant to repeating rows in Weka itself (its numeric splits count instances),
    # so the reference here is Weka's J48 on the same rows carrying the same instance weights.
    from weka.classifiers import Classifier

    X, y = data
    weights = np.random.default_rng(1).uniform(0.2, 3.0, size=len(y))
    weighted = _weka_instances(X, y, LABELS)
    for instance, weight in zip(weighted, weights):
        instance.weight = float(weight)
    reference = Classifier(classname="weka.classifiers.trees.J48")
    reference.build_classifier(weighted)
    expected = np.array([reference.distribution_for_instance(inst) for inst in _weka_instances(X, y, LABELS)])
    np.testing.assert_array_equal(WekaClassifier().fit(X, y, sample_weight=weights).predict_proba(X), expected)


def test_class_weight_dict_and_balanced(jvm, data):
    X, y = data
    balanced = WekaClassifier("weka.classifiers.rules.ZeroR", class_weight="balanced").fit(X, y)
    np.testing.assert_allclose(balanced.predict_proba(X[:1]), [[1 / 3, 1 / 3, 1 / 3]], rtol=1e-3)
    heavy = WekaClassifier("weka.classifiers.rules.ZeroR", class_weight={"mono": 100.0}).fit(X, y)
    assert heavy.predict(X[:1])[0] == "mono"
    with pytest.raises(ValueError, match="not among classes_"):
        WekaClassifier(class_weight={"eos": 2.0}).fit(X, y)


def test_clone_and_pickle_round_trip(jvm, data):
    X, y = data
    fitted = WekaClassifier("weka.classifiers.trees.J48 -C 0.1").fit(X, y)
    fresh = clone(fitted)
    assert fresh.get_params() == fitted.get_params() and not hasattr(fresh, "weka_model_")
    with pytest.raises(NotFittedError):
        fresh.predict(X)
    back = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(back.predict_proba(X), fitted.predict_proba(X))
    assert str(back.weka_model_) == str(fitted.weka_model_)
    np.testing.assert_array_equal(back.classes_, fitted.classes_)
    assert pickle.loads(pickle.dumps(fresh)).get_params() == fresh.get_params()


@pytest.mark.parametrize(("command", "message"), [
    ("weka.classifiers.trees.J4", "no such class: weka.classifiers.trees.J4"),
    ("weka.classifiers.trees.J48 -Z", "Illegal options: -Z"),
    ("weka.classifiers.trees.J48 -C abc", 'NumberFormatException: For input string: "abc"'),
    ("weka.filters.unsupervised.attribute.Normalize", "Can't find a permissible class"),
    ("weka.classifiers.trees.J48 -C \"0.25", "Quote parse error"),
])
def test_bad_classifier_gives_wekas_message(jvm, data, command, message):
    X, y = data
    with pytest.raises(WekawbcError, match=message.replace("(", r"\(")):
        WekaClassifier(command).fit(X, y)


def test_data_weka_cannot_handle_and_wrong_shapes(jvm, data):
    X, y = data
    with pytest.raises(WekaTrainingError, match=r"could not train 'weka.classifiers.trees.J48' on one class \('band'\)"
                                                r": .*Cannot handle unary class"):
        WekaClassifier("weka.classifiers.trees.J48").fit(X, np.full(len(y), "band"))
    assert issubclass(WekaTrainingError, WekawbcError) and issubclass(WekaTrainingError, ValueError)
    model = WekaClassifier().fit(X, y)
    with pytest.raises(ValueError, match="10 features"):
        model.predict(X[:, :5])


def _weka_cross_validation(command, X, y, labels, folds, seed):
    from weka.classifiers import Classifier, Evaluation
    from weka.core.classes import Random

    classname, *options = command.split()
    data = _weka_instances(X, y, labels)
    evaluation = Evaluation(data)
    evaluation.crossvalidate_model(Classifier(classname=classname, options=options), data, folds, Random(seed))
    return evaluation


@pytest.mark.parametrize(("command", "seed"), [("weka.classifiers.trees.J48 -C 0.25", 1),
                                               ("weka.classifiers.trees.RandomForest -I 10", 7)])
def test_cross_validation_on_wekas_folds_equals_weka(jvm, data, command, seed):
    from wekawbc.evaluation import evaluate
    from wekawbc.protocol.folds import cv_train_test_indices

    X, y = data
    splits = cv_train_test_indices(y, 10, seed)
    predictions = cross_validate_predictions(WekaClassifier(command), X, y, splits, LABELS,
                                             ids=[f"row{i}" for i in range(len(y))])
    weka = _weka_cross_validation(command, X, y, LABELS, 10, seed)
    in_weka_order = np.concatenate([test for _, test in splits])
    np.testing.assert_array_equal(predictions.distribution[in_weka_order],
                                  np.array([p.distribution for p in weka.predictions]))
    result = evaluate(predictions)
    assert result.summary_text() == weka.summary("=== Summary ===\n")
    assert result.class_details_text() == weka.class_details()
    assert result.matrix_text() == weka.matrix()
    assert predictions.ids[5] == "row5"


@pytest.mark.parametrize("command", ["weka.classifiers.functions.Logistic", "weka.classifiers.trees.RandomForest -I 5"])
def test_cross_validation_keeps_the_data_sets_class_order(jvm, data, command):
    # Weka's class order matters (Logistic's reference class; RandomForest's seed comes from an
    # instance's text): the driver declares ``labels`` as the classes, like the ARFF's header.
    from wekawbc.protocol.folds import cv_train_test_indices

    X, y = data
    order = ("mono", "band", "lymph")
    splits = cv_train_test_indices(y, 5, 3)
    predictions = cross_validate_predictions(WekaClassifier(command), X, y, splits, order)
    weka = _weka_cross_validation(command, X, y, order, 5, 3)
    in_weka_order = np.concatenate([test for _, test in splits])
    np.testing.assert_array_equal(predictions.distribution[in_weka_order],
                                  np.array([p.distribution for p in weka.predictions]))


def test_declared_classes_keep_absent_ones_in_wekas_header(jvm, data):
    X, y = data
    present = y != "mono"
    order = ("mono", "band", "lymph")
    model = WekaClassifier("weka.classifiers.bayes.NaiveBayes", classes=order).fit(X[present], y[present])
    np.testing.assert_array_equal(model.classes_, order)
    np.testing.assert_array_equal(model.predict_proba(X), _weka_distributions(
        "weka.classifiers.bayes.NaiveBayes", X[present], y[present], X, order))
    zero_r = WekaClassifier("weka.classifiers.rules.ZeroR", classes=order).fit(X[present], y[present])
    assert (zero_r.predict_proba(X)[:, 0] > 0).all()  # Weka's Laplace count for the absent class
    with pytest.raises(ValueError, match=r"y holds labels \['mono'\] that are not among classes"):
        WekaClassifier(classes=("band", "lymph")).fit(X, y)


def test_cross_validation_with_fold_numbers_and_train_counts(jvm, data):
    from wekawbc.protocol.folds import stratified_fold_assignment

    X, y = data
    folds = stratified_fold_assignment(y, 5, 1)
    smote = Pipeline([("smote", SMOTE(random_state=1)), ("weka", WekaClassifier())])
    predictions = cross_validate_predictions(smote, X, y, folds, LABELS)
    np.testing.assert_array_equal(predictions.fold, folds)
    codes = np.searchsorted(LABELS, y)
    for fold in range(5):  # the untouched training fold's class counts, not SMOTE's balanced ones
        np.testing.assert_array_equal(predictions.train_counts[fold],
                                      np.bincount(codes[folds != fold], minlength=3))
    np.testing.assert_allclose(predictions.distribution.sum(axis=1), 1.0)


def test_cross_validation_bad_input(jvm, data):
    X, y = data
    with pytest.raises(WekawbcError, match=r"labels \['eos'\] of y are not among"):
        cross_validate_predictions(WekaClassifier(), X, np.where(y == "mono", "eos", y), np.arange(200) % 5, LABELS)
    with pytest.raises(WekawbcError, match="folds names 199 instances"):
        cross_validate_predictions(WekaClassifier(), X, y, np.arange(199) % 5, LABELS)
    overlapping = [(np.arange(100), np.arange(100, 200)), (np.arange(50, 150), np.arange(100))]
    with pytest.raises(WekawbcError, match="fold 1: an instance is tested twice"):
        cross_validate_predictions(WekaClassifier(), X, y, overlapping, LABELS)
