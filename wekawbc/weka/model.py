"""Weka models as Weka users keep them: trained on all the data, shown, saved and applied later.

* :func:`build_model`: the classifier trained on the full training set, as Weka's command line and
  Explorer build it before they evaluate;
* :func:`model_text`: the ``=== Classifier model (full training set) ===`` block, byte for byte as
  Weka prints it (the heading, a blank line, the classifier's ``toString()``);
* :func:`save_model` / :func:`load_model`: Weka's own serialisation, the file Weka's ``-d`` writes
  and ``-l`` reads (the classifier, then the training data's header, through
  ``weka.core.SerializationHelper``);
* :func:`test_model`: a saved model on a test set, as ``java ... -l MODEL -T TEST`` evaluates it
  (Weka's header check first; no priors, hence no relative errors, as Weka has no training data).

Loading a model deserialises Java objects: only load files you trust.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wekawbc._io import WekawbcError, atomic_write_bytes
from wekawbc.weka.jvm import java_error

__all__ = ["MODEL_HEADING", "ModelTest", "build_model", "load_model", "model_text", "save_model", "test_model"]

MODEL_HEADING = "=== Classifier model (full training set) ==="


def build_model(data, classifier: str, class_name: str | None = None) -> tuple[Any, Any]:
    """``(model, header)``: ``classifier`` (Weka's command line) trained on all of ``data``.

    ``data`` is anything :func:`wekawbc.weka.load_instances` reads; ``header`` is the training
    data without instances, which :func:`save_model` stores beside the model.
    """
    from jpype import JClass, JException

    from wekawbc.weka.data import load_instances
    from wekawbc.weka.run import make_classifier

    train = load_instances(data, class_name).jobject
    model = make_classifier(classifier)
    try:
        model.buildClassifier(train)
    except JException as error:
        raise java_error(error, f"{classifier} on '{train.relationName()}'") from None
    return model, JClass("weka.core.Instances")(train, 0)


def model_text(model) -> str:
    """Weka's ``=== Classifier model (full training set) ===`` block for a trained ``model``."""
    return f"{MODEL_HEADING}\n\n{model.toString()}\n"


def save_model(path: str | os.PathLike, model, header) -> Path:
    """Write ``model`` and its training ``header`` as Weka's ``-d`` does (atomically)."""
    from jpype import JArray, JClass, JObject

    stream = JClass("java.io.ByteArrayOutputStream")()
    JClass("weka.core.SerializationHelper").writeAll(stream, JArray(JObject)([model, header]))
    return atomic_write_bytes(path, bytes(stream.toByteArray()))


def load_model(path: str | os.PathLike) -> tuple[Any, Any]:
    """``(model, header)`` from a file Weka's ``-d`` (or :func:`save_model`) wrote; header None if absent."""
    from jpype import JClass, JException

    path = Path(path)
    if not path.is_file():
        raise WekawbcError(f"{path}: no such model file")
    try:
        objects = list(JClass("weka.core.SerializationHelper").readAll(str(path)))
    except JException as error:
        raise java_error(error, str(path), "not a Weka model file") from None
    Classifier, Instances = JClass("weka.classifiers.Classifier"), JClass("weka.core.Instances")
    if not objects or not isinstance(objects[0], Classifier):
        raise WekawbcError(f"{path}: not a Weka model file (no classifier in it)")
    header = objects[1] if len(objects) > 1 and isinstance(objects[1], Instances) else None
    return objects[0], header


@dataclass(frozen=True)
class ModelTest:
    """A saved model evaluated on a test set: Weka's blocks, as its command line prints them."""

    scheme: str
    relation: str
    n_instances: int
    summary_text: str
    class_details_text: str
    matrix_text: str

    def weka_text(self) -> str:
        return f"{self.summary_text}\n{self.class_details_text}\n{self.matrix_text}"


def test_model(model, header, test, class_name: str | None = None) -> ModelTest:
    """Evaluate a loaded ``model`` on ``test`` as ``java <classifier> -l MODEL -T TEST`` does.

    Raises
    ------
    WekawbcError
        The test set does not have the model's header (Weka's "training and test set are not
        compatible" with its reason, on one line), or Weka fails while testing.
    """
    from jpype import JClass, JException

    from wekawbc.weka.data import load_instances

    default_class = str(header.classAttribute().name()) if header is not None and header.classIndex() >= 0 else None
    data = load_instances(test, class_name or default_class).jobject
    origin = str(test) if isinstance(test, (str, os.PathLike)) else f"'{data.relationName()}'"
    if header is not None and not header.equalHeaders(data):
        reason = " ".join(str(data.equalHeadersMsg(header)).split())  # in Weka's order: test, then model
        raise WekawbcError(f"{origin}: training and test set are not compatible: {reason}")
    scheme = str(JClass("weka.core.Utils").toCommandLine(model))
    try:
        evaluation = JClass("weka.classifiers.evaluation.Evaluation")(JClass("weka.core.Instances")(data, 0))
        evaluation.useNoPriors()  # no training data: no relative errors, as Weka's -l without -t
        evaluation.evaluateModel(model, data)
        return ModelTest(scheme, str(data.relationName()), int(data.numInstances()),
                         str(evaluation.toSummaryString("=== Summary ===\n", False)),
                         str(evaluation.toClassDetailsString()), str(evaluation.toMatrixString()))
    except JException as error:
        raise java_error(error, f"{scheme} on {origin}") from None
