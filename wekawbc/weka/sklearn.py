"""Weka classifiers as scikit-learn estimators, and cross-validation of them on Weka's folds.

:class:`WekaClassifier` wraps any Weka classifier, given as Weka's own command line
(``"weka.classifiers.trees.J48 -C 0.25"``), so it works wherever a scikit-learn classifier does:
``cross_val_score`` (stratified folds, accuracy), ``GridSearchCV``, an imbalanced-learn ``Pipeline``
behind SMOTE, ``clone``, pickle and process-based ``n_jobs`` (each worker starts its own JVM on
first use). Data cross the boundary in bulk: the feature matrix becomes one Java ``double[][]``,
and each batch of predictions is one call to Weka's ``distributionsForInstances``.

:func:`cross_validate_predictions` trains any such estimator (or pipeline) on given folds -- Weka's
own, with Weka's training order, from :func:`wekawbc.protocol.folds.cv_train_test_indices` -- and
returns the project's :class:`~wekawbc.predictions.Predictions`; for a plain Weka classifier these
equal Weka's ``crossValidateModel`` bit for bit, so the one evaluation engine prints Weka's text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from wekawbc._io import WekawbcError
from wekawbc.predictions import Predictions, fold_train_counts
from wekawbc.protocol.weights import balanced_sample_weights
from wekawbc.weka.classifiers import new_classifier, split_classifier_command
from wekawbc.weka.jvm import java_message, start

__all__ = ["WekaClassifier", "WekaTrainingError", "cross_validate_predictions", "split_command"]

# Rows per call to distributionsForInstances: bounds the Java memory one call needs.
_PREDICT_BATCH_ROWS = 8192


class WekaTrainingError(WekawbcError, ValueError):
    """Weka refused to train on the data given (e.g. a class or attribute type the classifier cannot handle).

    A :class:`~wekawbc.WekawbcError` carrying Weka's message, and a ``ValueError`` as scikit-learn
    expects of an estimator given data it cannot use.
    """


split_command = split_classifier_command
"""Public alias of :func:`wekawbc.weka.classifiers.split_classifier_command`: a Weka command line
(plus optional more ``options``) split into its class name and options, as Weka's ``Utils.splitOptions`` does."""


def _header(feature_names: Sequence[str], class_values: Sequence[str]):
    """An empty Weka data set: numeric attributes, then a nominal class (the last attribute)."""
    from jpype import JClass

    array_list = JClass("java.util.ArrayList")
    attribute = JClass("weka.core.Attribute")
    attributes = array_list()
    for name in feature_names:
        attributes.add(attribute(str(name)))
    values = array_list()
    for value in class_values:
        values.add(str(value))
    class_name = "class"
    while class_name in feature_names:
        class_name += "_"
    attributes.add(attribute(class_name, values))
    header = JClass("weka.core.Instances")("data", attributes, 0)
    header.setClassIndex(len(feature_names))
    return header


def _instances(header, X: np.ndarray, codes: np.ndarray | None, weights: np.ndarray | None):
    """Fill a copy of ``header`` with the rows of ``X`` (NaN = Weka's missing value).

    The whole matrix goes to Java as one ``double[][]``; only the row objects are made one by one.
    ``codes`` are class indices (None: class missing, as for prediction); ``weights`` instance weights.
    """
    from jpype import JArray, JClass, JDouble

    n = X.shape[0]
    class_column = np.full((n, 1), np.nan) if codes is None else codes.astype(np.float64).reshape(-1, 1)
    rows = JArray(JDouble, 2)(np.ascontiguousarray(np.hstack([X, class_column]), dtype=np.float64))
    weights = np.ones(n) if weights is None else weights
    data = JClass("weka.core.Instances")(header, n)
    dense = JClass("weka.core.DenseInstance")
    for row, weight in zip(rows, weights.tolist()):
        data.add(dense(weight, row))
    return data


def _distributions(model, data) -> np.ndarray:
    """Class distributions for every row of ``data``: one Java call per batch of rows."""
    from jpype import JClass

    if not isinstance(model, JClass("weka.core.BatchPredictor")):
        # Only classifiers outside AbstractClassifier lack the batch interface.
        return np.array([np.asarray(model.distributionForInstance(data.instance(i)))
                         for i in range(data.numInstances())], dtype=np.float64)
    instances = JClass("weka.core.Instances")
    n = data.numInstances()
    parts = [np.asarray(model.distributionsForInstances(instances(data, begin, min(_PREDICT_BATCH_ROWS, n - begin))),
                        dtype=np.float64)
             for begin in range(0, n, _PREDICT_BATCH_ROWS)]
    return np.vstack(parts) if parts else np.empty((0, data.numClasses()))


def _to_bytes(*objects) -> bytes:
    """Java serialization of ``objects`` (Weka's SerializationHelper), as Python bytes."""
    from jpype import JArray, JClass, JObject

    stream = JClass("java.io.ByteArrayOutputStream")()
    JClass("weka.core.SerializationHelper").writeAll(stream, JArray(JObject)(list(objects)))
    return bytes(stream.toByteArray())


def _from_bytes(data: bytes) -> list:
    from jpype import JArray, JByte, JClass

    stream = JClass("java.io.ByteArrayInputStream")(JArray(JByte)(data))
    return list(JClass("weka.core.SerializationHelper").readAll(stream))


def _sample_weight(sample_weight, n_samples: int) -> np.ndarray:
    """``sample_weight`` as finite float64 weights of shape ``(n_samples,)``, not all zero; ones when None."""
    if sample_weight is None:
        return np.ones(n_samples)
    weights = np.asarray(sample_weight, dtype=np.float64)
    if weights.ndim == 0:
        weights = np.full(n_samples, float(weights))
    if weights.shape != (n_samples,):
        raise ValueError(f"sample_weight has shape {weights.shape}; expected ({n_samples},)")
    if not np.isfinite(weights).all():
        raise ValueError("sample_weight must be finite (no NaN or infinity)")
    if n_samples and not weights.any():
        raise ValueError("sample_weight is zero for every sample: there is nothing to learn from")
    return weights


class WekaClassifier(ClassifierMixin, BaseEstimator):
    """A Weka classifier as a scikit-learn classifier.

    Parameters
    ----------
    classifier : str, default="weka.classifiers.trees.J48"
        Weka's command line for the classifier: class name, then options, exactly as in the
        Explorer or ``java weka.classifiers...`` (``"weka.classifiers.functions.SMO -C 2.0"``).
    options : str or list of str, optional
        More options, appended after those in ``classifier``; handy for a ``GridSearchCV`` over
        options of one class (``{"options": ["-C 0.1", "-C 0.25"]}``).
    class_weight : dict, "balanced" or None, default=None
        Multiplies each training instance's Weka weight: ``{label: factor}``, or ``"balanced"``, which
        gives every class the same total weight, ``W / (K * W_c)`` for class total ``W_c`` of all
        ``W`` (what Weka's ``ClassBalancer`` does; sklearn's ``n / (K * n_c)`` for unit weights).
    classes : sequence of labels, optional
        The values of Weka's nominal class, in order (e.g. the ARFF's ``@attribute class {...}``);
        default: the sorted labels of ``y``. The order matters to Weka (Logistic's reference class;
        RandomForest seeds itself from an instance's text), and declared classes absent from a
        training set stay in Weka's header, as in Weka's own cross-validation. Compared as text.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels: ``classes`` when given, else the sorted labels of ``y``; Weka's nominal
        class has their ``str`` values in this order, and ``predict_proba``'s columns follow it.
    n_features_in_ : int
        Number of features seen in ``fit``; Weka sees them as numeric attributes ``x1..xn`` (or the
        column names of a DataFrame, ``feature_names_in_``).
    weka_model_ : Java ``weka.classifiers.Classifier``
        The trained Weka model; ``str(weka_model_)`` is Weka's model text (e.g. J48's tree).

    Notes
    -----
    ``NaN`` in ``X`` is Weka's missing value, handled by the classifier as in Weka. ``sample_weight``
    becomes Weka's instance weights (whether integer weights equal repeated rows is the
    classifier's affair: true for NaiveBayes and Logistic, not for J48). ``predict`` takes the most probable class of ``predict_proba``
    (Weka's ``classifyInstance``; where Weka gives an all-zero distribution, "unclassified", it
    returns ``classes_[0]``). Pickling stores the model with Weka's ``SerializationHelper``; a
    process that unpickles it starts its own JVM. Weka raises for bad input: an unknown class, bad
    options or data the classifier cannot handle become :class:`~wekawbc.WekawbcError` with Weka's message.

    Examples
    --------
    >>> from sklearn.model_selection import cross_val_score
    >>> scores = cross_val_score(WekaClassifier("weka.classifiers.trees.J48 -C 0.25"), X, y, cv=10)  # doctest: +SKIP
    """

    def __init__(self, classifier: str = "weka.classifiers.trees.J48", options: str | Sequence[str] | None = None,
                 class_weight: dict | str | None = None, classes: Sequence | None = None) -> None:
        self.classifier = classifier
        self.options = options
        self.class_weight = class_weight
        self.classes = classes

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.non_deterministic = False
        return tags

    # -- training -------------------------------------------------------------------------------

    def _training_weights(self, codes: np.ndarray, sample_weight: np.ndarray) -> np.ndarray:
        """Instance weights for Weka: ``sample_weight`` times the class weight of each row."""
        if self.class_weight is None:
            return sample_weight
        if isinstance(self.class_weight, str):
            if self.class_weight != "balanced":
                raise ValueError(f"class_weight must be None, 'balanced' or a dict; got '{self.class_weight}'")
            return balanced_sample_weights(codes, len(self.classes_), sample_weight)
        unknown = set(self.class_weight) - set(self.classes_.tolist())
        if unknown:
            raise ValueError(f"class_weight names labels {sorted(map(str, unknown))} not among classes_ "
                             f"{self.classes_.tolist()}")
        per_class = np.array([float(self.class_weight.get(c, 1.0)) for c in self.classes_.tolist()])
        return sample_weight * per_class[codes]

    def _encode_classes(self, y: np.ndarray) -> np.ndarray:
        """Set ``classes_`` (declared or sorted) and return each row's index into it."""
        if self.classes is None:
            self.classes_, codes = np.unique(y, return_inverse=True)
        else:
            self.classes_ = np.asarray(list(self.classes))
            index = {str(c): k for k, c in enumerate(self.classes_.tolist())}
            text = [str(v) for v in y.tolist()]
            unknown = sorted(set(text) - set(index))
            if unknown:
                raise ValueError(f"y holds labels {unknown} that are not among classes {list(index)}")
            codes = np.array([index[t] for t in text], dtype=np.int64)
        if len({str(c) for c in self.classes_}) != len(self.classes_):
            raise ValueError(f"class labels {self.classes_.tolist()} are not distinct as text, as Weka needs")
        return codes

    def _training_command(self, codes: np.ndarray, weights: np.ndarray) -> tuple[str, list[str]]:
        """The Weka class name and options to train on these data (subclasses may adapt them to the data)."""
        return split_command(self.classifier, self.options)

    def fit(self, X, y, sample_weight=None) -> "WekaClassifier":
        """Train the Weka classifier on ``X`` (numeric, NaN = missing) and labels ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), optional
            Weka instance weights (default 1).

        Returns
        -------
        self
        """
        start()
        from jpype import JException

        X, y = validate_data(self, X, y, dtype=np.float64, ensure_all_finite="allow-nan")
        check_classification_targets(y)
        codes = self._encode_classes(y)
        class_values = [str(c) for c in self.classes_]
        weights = self._training_weights(codes, _sample_weight(sample_weight, X.shape[0]))
        classname, options = self._training_command(codes, weights)
        command = " ".join([classname, *options])
        model = new_classifier(classname, options, f"cannot create Weka classifier '{command}'", kind=True)
        feature_names = getattr(self, "feature_names_in_", None)
        if feature_names is None:
            feature_names = [f"x{j + 1}" for j in range(X.shape[1])]
        self._header = _header(list(map(str, feature_names)), class_values)
        data = _instances(self._header, X, codes, weights)
        try:
            model.buildClassifier(data)
        except JException as error:
            single = f" on one class ('{class_values[0]}')" if len(class_values) == 1 else ""
            raise WekaTrainingError(f"Weka could not train '{command}'{single}: {java_message(error, kind=True)}") from None
        self.weka_model_ = model
        return self

    # -- prediction -----------------------------------------------------------------------------

    def predict_proba(self, X) -> np.ndarray:
        """Weka's class distribution for each row: shape (n_samples, n_classes), columns in ``classes_`` order."""
        check_is_fitted(self, "weka_model_")
        X = validate_data(self, X, reset=False, dtype=np.float64, ensure_all_finite="allow-nan")
        from jpype import JException

        try:
            return _distributions(self.weka_model_, _instances(self._header, X, None, None))
        except JException as error:
            raise WekawbcError(f"Weka could not predict with '{self.classifier}': {java_message(error, kind=True)}") from None

    def predict(self, X) -> np.ndarray:
        """The most probable class of each row (the first one on ties, as Weka's ``Utils.maxIndex``)."""
        distribution = self.predict_proba(X)  # checks fitting first
        return self.classes_[np.argmax(distribution, axis=1)]

    # -- pickling: the Java model travels as Weka's own serialization -----------------------------

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())  # object.__getstate__ returns __dict__ itself
        if "weka_model_" in state:
            state["weka_model_"] = _to_bytes(state["weka_model_"], state.pop("_header"))
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        if "weka_model_" in state:
            start()
            state = dict(state)
            state["weka_model_"], state["_header"] = _from_bytes(state["weka_model_"])
        super().__setstate__(state)


def _label_codes(y: np.ndarray, labels: Sequence[str]) -> np.ndarray:
    index = {label: k for k, label in enumerate(labels)}
    text = [str(v) for v in np.asarray(y).tolist()]
    missing = sorted(set(text) - set(index))
    if missing:
        raise WekawbcError(f"labels {missing} of y are not among the class labels {list(labels)}")
    return np.array([index[t] for t in text], dtype=np.int64)


def _fold_splits(folds, n: int) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    """The fold of every instance and, per fold, (training rows, test rows) in the order to use."""
    if len(folds) and np.isscalar(folds[0]):
        fold_of = np.asarray(folds, dtype=np.int64).reshape(-1)
        if fold_of.shape[0] != n:
            raise WekawbcError(f"folds names {fold_of.shape[0]} instances, X has {n} rows")
        if n and fold_of.min() < 0:
            raise WekawbcError("fold numbers must be 0 or more")
        n_folds = int(fold_of.max()) + 1 if n else 0
        return fold_of, [(np.flatnonzero(fold_of != f), np.flatnonzero(fold_of == f)) for f in range(n_folds)]
    splits = [(np.asarray(train, dtype=np.int64), np.asarray(test, dtype=np.int64)) for train, test in folds]
    fold_of = np.full(n, -1, dtype=np.int64)
    for fold, (train, test) in enumerate(splits):
        if np.any(fold_of[test] >= 0) or np.intersect1d(train, test).size:
            raise WekawbcError(f"fold {fold}: an instance is tested twice, or both trained and tested on")
        fold_of[test] = fold
    if np.any(fold_of < 0):
        raise WekawbcError(f"{int(np.sum(fold_of < 0))} instances are in no test fold")
    return fold_of, splits


def _declare_classes(model, labels: tuple[str, ...]):
    """Give each WekaClassifier in ``model`` (itself, or a pipeline step) that declares no ``classes``
    the data set's labels, so Weka's header has every class in the data set's order, as in Weka's CV."""
    if isinstance(model, WekaClassifier) and model.classes is None:
        return model.set_params(classes=labels)
    nested = {f"{name}__classes": labels for name, value in model.get_params(deep=True).items()
              if isinstance(value, WekaClassifier) and value.classes is None}
    return model.set_params(**nested) if nested else model


def cross_validate_predictions(estimator, X, y, folds, labels: Sequence[str], ids: Sequence[str] | None = None, *,
                               sample_weight=None) -> Predictions:
    """Cross-validate ``estimator`` on the given folds; every instance is predicted once, by the model
    trained on all the other folds.

    Everything the estimator does to its training data (SMOTE, reweighting, Weka's ClassBalancer)
    happens inside ``fit`` on that fold's training rows only; the test fold is predicted untouched.

    Parameters
    ----------
    estimator : scikit-learn classifier or pipeline
        Cloned afresh for each fold (a :class:`WekaClassifier`, or an imbalanced-learn Pipeline ending
        in one). A WekaClassifier in it that declares no ``classes`` gets ``labels``.
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
        Class labels; their ``str`` must be among ``labels``.
    folds : array-like of int, shape (n_samples,), or sequence of (train, test) index arrays
        Either the test fold of each instance, numbered from 0 (training rows then keep the data's
        order), e.g. Weka's ``wekawbc.protocol.folds.stratified_fold_assignment(y, n_folds, seed)``; or,
        per fold, the training and test row indices in the order to train on, e.g.
        ``wekawbc.protocol.folds.cv_train_test_indices(y, n_folds, seed)``, whose training order is
        Weka's own ``trainCV`` order -- needed to reproduce order-sensitive classifiers such as
        RandomForest exactly.
    labels : sequence of str
        The class labels in the data set's order (Weka's class attribute order, e.g. the ARFF's).
    ids : sequence of str, optional
        An identifier per instance, carried into the predictions.
    sample_weight : array-like of shape (n_samples,), optional
        Instance weights, used for training (passed to ``fit``) and recorded for scoring.

    Returns
    -------
    Predictions
        In the rows' own order, with ``fold`` and ``train_counts`` (class weight sums of each
        untouched training fold, from which Weka's priors follow).

    Raises
    ------
    WekawbcError
        For labels not in ``labels``, mismatched lengths, overlapping folds, or a fold without training data.
    """
    labels = tuple(str(label) for label in labels)
    X = np.asarray(X)
    y = np.asarray(y)
    n = X.shape[0]
    if y.shape[0] != n:
        raise WekawbcError(f"X has {n} rows but y has {y.shape[0]} labels")
    fold_of, splits = _fold_splits(folds, n)
    actual = _label_codes(y, labels)
    weight = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64).reshape(-1)
    distribution = np.zeros((n, len(labels)))
    for fold, (train, test) in enumerate(splits):
        if not train.size:
            raise WekawbcError(f"fold {fold} holds every instance; nothing is left to train on")
        if not test.size:
            continue
        model = _declare_classes(clone(estimator), labels)
        fit_params = {} if sample_weight is None else {"sample_weight": weight[train]}
        model.fit(X[train], y[train], **fit_params)
        columns = _label_codes(model.classes_, labels)
        distribution[np.ix_(test, columns)] = model.predict_proba(X[test])
    train_counts = fold_train_counts(actual, [train for train, _ in splits], len(labels), weight)
    return Predictions(labels, actual, distribution, weight, fold_of, train_counts,
                       None if ids is None else tuple(ids))
