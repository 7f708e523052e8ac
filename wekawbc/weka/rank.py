"""Attribute ranking with Weka's own attribute evaluators: "which of the features matter".

:func:`rank_attributes` runs a Weka ``ASEvaluation`` (InfoGain, GainRatio, ReliefF, Correlation, ...)
with Weka's ``Ranker`` over a data set, as Weka's ``AttributeSelection`` does on the command line
(``java weka.attributeSelection.InfoGainAttributeEval -i DATA.arff -s weka.attributeSelection.Ranker``),
and returns the ranking as data beside Weka's own text, byte for byte.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from wekawbc._io import WekawbcError
from wekawbc.weka.classifiers import new_weka_object, split_classifier_command
from wekawbc.weka.data import load_instances
from wekawbc.weka.jvm import java_error, start

__all__ = ["AttributeRanking", "RankedAttribute", "rank_attributes", "EVALUATORS", "DEFAULT_EVALUATOR"]

DEFAULT_EVALUATOR = "weka.attributeSelection.InfoGainAttributeEval"
#: Short names accepted for the evaluators a ranking usually needs.
EVALUATORS: dict[str, str] = {
    "infogain": "weka.attributeSelection.InfoGainAttributeEval",
    "gainratio": "weka.attributeSelection.GainRatioAttributeEval",
    "relieff": "weka.attributeSelection.ReliefFAttributeEval",
    "correlation": "weka.attributeSelection.CorrelationAttributeEval",
    "symmetricaluncertainty": "weka.attributeSelection.SymmetricalUncertAttributeEval",
    "oner": "weka.attributeSelection.OneRAttributeEval",
}


@dataclass(frozen=True)
class RankedAttribute:
    """One attribute of a ranking: its place (1 = best), name, 1-based column in the data, and merit."""

    rank: int
    attribute: str
    index: int
    merit: float


@dataclass(frozen=True)
class AttributeRanking:
    """Weka's ranking of a data set's attributes by one evaluator."""

    evaluator: str
    """The evaluator's full command line as Weka reports it (every option, defaults included)."""
    search: str
    relation: str
    class_attribute: str
    attributes: tuple[RankedAttribute, ...]
    weka_text: str = field(repr=False)
    """Weka's ``AttributeSelection.toResultsString()``: what Weka's command line prints (before its final
    line break)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data: settings and one record per ranked attribute."""
        return {"evaluator": self.evaluator, "search": self.search, "relation": self.relation,
                "class": self.class_attribute,
                "ranking": [{"rank": a.rank, "attribute": a.attribute, "index": a.index, "merit": a.merit}
                            for a in self.attributes]}


def _command_line(handler) -> str:
    """A Weka object's class name and options, as Weka prints a scheme."""
    from jpype import JClass

    return f"{handler.getClass().getName()} {JClass('weka.core.Utils').joinOptions(handler.getOptions())}".strip()


def _new_evaluator(command: str):
    from jpype import JClass

    classname, options = split_classifier_command(EVALUATORS.get(command.strip().lower(), command))
    evaluator = new_weka_object("weka.attributeSelection.ASEvaluation", classname, options,
                                f"attribute evaluator '{command}'",
                                not_found=f"Weka can't find class with name {classname} "
                                          f"(short names: {', '.join(EVALUATORS)})")
    if not JClass("weka.attributeSelection.AttributeEvaluator").class_.isInstance(evaluator):
        raise WekawbcError(f"attribute evaluator '{command}': {classname} evaluates subsets, not single "
                           "attributes, so it cannot rank them")
    return evaluator


def rank_attributes(data: str | os.PathLike | Any, evaluator: str = DEFAULT_EVALUATOR, *,
                    top: int | None = None, class_name: str | None = None) -> AttributeRanking:
    """Rank the attributes of ``data`` with a Weka attribute evaluator and Weka's ``Ranker``.

    Parameters
    ----------
    data : path, DataFrame or Instances
        The data set (ARFF or CSV path, as :func:`wekawbc.weka.load_instances` reads it).
    evaluator : str, default="weka.attributeSelection.InfoGainAttributeEval"
        A Weka attribute evaluator with its options, or a short name of :data:`EVALUATORS`
        (``infogain``, ``relieff``, ...).
    top : int, optional
        Keep the ``top`` best attributes (Weka's ``Ranker -N``); default: all.
    class_name : str, optional
        The class attribute (default: the last).

    Raises
    ------
    WekawbcError
        An unknown evaluator or bad options (Weka's message), a subset evaluator, ``top`` below 1,
        or data Weka cannot use with the evaluator.
    """
    if top is not None and top < 1:
        raise WekawbcError(f"--top must be at least 1, got {top}")
    start()
    from jpype import JClass, JException

    instances = load_instances(data, class_name=class_name).jobject
    attribute_evaluator = _new_evaluator(evaluator)
    ranker = JClass("weka.attributeSelection.Ranker")()
    if top is not None:
        ranker.setNumToSelect(int(top))
    selection = JClass("weka.attributeSelection.AttributeSelection")()
    selection.setEvaluator(attribute_evaluator)
    selection.setSearch(ranker)
    try:
        selection.SelectAttributes(instances)
        ranked = selection.rankedAttributes()
        text = str(selection.toResultsString())
    except JException as error:
        raise java_error(error, f"attribute evaluator '{evaluator}' on {instances.relationName()}") from None
    attributes = tuple(
        RankedAttribute(rank=place + 1, attribute=str(instances.attribute(int(row[0])).name()), index=int(row[0]) + 1,
                        merit=float(row[1]))
        for place, row in enumerate(list(ranked)[:top]))
    return AttributeRanking(evaluator=_command_line(attribute_evaluator), search=_command_line(ranker),
                            relation=str(instances.relationName()),
                            class_attribute=str(instances.classAttribute().name()), attributes=attributes,
                            weka_text=text)
