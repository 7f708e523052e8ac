"""Weka classifiers from command lines: the one place that splits and creates them.

Both :func:`wekawbc.weka.run.make_classifier` (Weka's own evaluation) and
:class:`wekawbc.weka.sklearn.WekaClassifier` (the scikit-learn estimator) create their Java
classifiers here, so a command line means the same thing and fails with the same Weka message in both.
"""

from __future__ import annotations

from collections.abc import Sequence

from wekawbc._io import WekawbcError
from wekawbc.weka.jvm import java_error, start

__all__ = ["split_classifier_command", "new_classifier", "new_weka_object"]

_MISSING_CLASS_HINT = "(misspelt, or in a Weka package that is not installed or not loaded: see --packages)"


def split_classifier_command(command: str, options: str | Sequence[str] | None = None) -> tuple[str, list[str]]:
    """Split a Weka command line into its class name and options, as Weka's ``Utils.splitOptions`` does.

    Parameters
    ----------
    command : str
        A class name optionally followed by its options, e.g. ``"weka.classifiers.trees.J48 -C 0.25"``.
    options : str or sequence of str, optional
        More options, appended after those in ``command`` (a string is split the same way).

    Raises
    ------
    WekawbcError
        For an empty command or unbalanced quotes (Weka's message).
    """
    start()
    from jpype import JClass, JException

    utils = JClass("weka.core.Utils")
    try:
        parts = [str(p) for p in utils.splitOptions(command or "")]
        if isinstance(options, str):
            parts += [str(p) for p in utils.splitOptions(options)]
        elif options is not None:
            parts += [str(p) for p in options]
    except JException as error:
        extra = "" if options is None else " " + (options if isinstance(options, str) else " ".join(map(str, options)))
        raise java_error(error, f"classifier '{command}{extra}'", "cannot split its options") from None
    if not parts:
        raise WekawbcError("no classifier given; name a Weka class, e.g. 'weka.classifiers.trees.J48 -C 0.25'")
    return parts[0], parts[1:]


def new_weka_object(base_class: str, classname: str, options: Sequence[str], context: str, *,
                    not_found: str, problem: str | None = "Weka rejects the options", kind: bool = False):
    """A fresh, configured Java object of a Weka scheme: ``base_class.forName(classname, options)``.

    Weka's ``Utils.checkForRemainingOptions`` rejects options the object left unused, as Weka's
    command line does. ``not_found`` is the message for an unknown class; ``problem`` and ``kind``
    word the rest as :func:`wekawbc.weka.jvm.java_error` does.
    """
    start()
    from jpype import JArray, JClass, JException, JString

    array = JArray(JString)([str(o) for o in options])
    try:
        built = JClass(base_class).forName(classname, array)
        JClass("weka.core.Utils").checkForRemainingOptions(array)
    except JException as error:
        if "ClassNotFoundException" in str(error.getClass().getName()):
            raise WekawbcError(f"{context}: {not_found}") from None
        raise java_error(error, context, problem, kind=kind) from None
    return built


def new_classifier(classname: str, options: Sequence[str], context: str | None = None, *, kind: bool = False):
    """A fresh, configured (untrained) Java ``weka.classifiers.Classifier``.

    Weka's ``AbstractClassifier.forName`` creates it and ``Utils.checkForRemainingOptions`` rejects
    options it left unused, as Weka's command line does.

    Parameters
    ----------
    classname : str
        The classifier's Weka class name.
    options : sequence of str
        Its options, already split (:func:`split_classifier_command`).
    context : str, optional
        What the error message starts with; default ``"classifier '<classname> <options>'"``.
    kind : bool, default=False
        Word Weka's complaint as :class:`~wekawbc.weka.sklearn.WekaClassifier` does: after the Java
        exception's kind (``"NumberFormatException: ..."``, ``"no such class: ..."``) instead of
        after ``"Weka rejects the options"``.

    Raises
    ------
    WekawbcError
        With Weka's own message: an unknown class, a class that is not a classifier, bad options.
    """
    options = [str(o) for o in options]
    if context is None:
        context = f"classifier '{' '.join([classname, *options])}'"
    found = f"no such class: {classname}" if kind else f"Weka can't find class with name {classname}"
    return new_weka_object("weka.classifiers.AbstractClassifier", classname, options, context,
                           not_found=f"{found} {_MISSING_CLASS_HINT}",
                           problem=None if kind else "Weka rejects the options", kind=kind)
