"""A corpus of real Weka evaluation output, made by Weka itself, and the ways people paste it.

Weka 3.9.7 (python-weka-wrapper3's weka.jar) runs in the test process's JVM through its command-line
entry point ``Evaluation.evaluateModel(classifier, options)`` (the very text ``java weka.classifiers...``
prints), under ``Locale.setDefault`` for en/de/fr; Weka 3.6.14 (Debian's ``weka`` package,
``/usr/share/java/weka.jar``) runs as ``java -cp weka.jar`` with ``-Duser.language``/``-Duser.country``.
The oracle for every number is Weka's own ``Evaluation`` object, rebuilt in the JVM for the same
classifier, data, folds and seed (:func:`oracle_evaluations`).

The transforms turn one text into what a reader meets in papers' supplements and READMEs: a Markdown
quote, R/knitr ``## `` comments, ``//`` and ``%`` comments, an indented code block, a fenced block with
more Markdown after it, blank lines inside blocks, CRLF line ends, fragments without their ``===``
titles, and a Jupyter notebook holding the output.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

from wekawbc.evaluation.metrics import class_metrics, summary_metrics, weighted_metrics

J48 = "weka.classifiers.trees.J48"
NAIVE_BAYES = "weka.classifiers.bayes.NaiveBayes"
ZERO_R = "weka.classifiers.rules.ZeroR"
LINEAR_REGRESSION = "weka.classifiers.functions.LinearRegression"
CSV_OUT = "weka.classifiers.evaluation.output.prediction.CSV"
PLAIN_OUT = "weka.classifiers.evaluation.output.prediction.PlainText"
LOCALES = {"en": ("en", "US"), "de": ("de", "DE"), "fr": ("fr", "FR")}
WEKA36_JAR = Path(os.environ.get("WEKAWBC_WEKA36_JAR", "/usr/share/java/weka.jar"))
CLASSES5 = ("neutrophil", "lymphocyte", "monocyte", "eosinophil", "basophil")


@dataclass(frozen=True)
class Run:
    """One Weka command: classifier, its options, evaluation options; files named by role."""

    name: str
    classifier: str
    options: tuple[str, ...]
    evaluation: tuple[str, ...]  # with {train}, {test}, {cost} placeholders
    train: str = "train3"
    test: str | None = None
    folds: int = 10  # for the oracle: 0 = no cross-validation (test set or split)
    cost: str | None = None
    regression: bool = False


# Weka 3.9.7 runs (the command line's options; -k adds the K&B and complexity lines).
RUNS39 = (
    Run("cv_k", J48, (), ("-t", "{train}", "-k")),
    Run("cv5_cost", NAIVE_BAYES, (), ("-t", "{train}", "-m", "{cost}", "-k"), train="train5", cost="cost5"),
    Run("test_set", NAIVE_BAYES, (), ("-t", "{train}", "-T", "{test}", "-o"), test="test3", folds=0),
    Run("toggle", J48, (), ("-t", "{train}", "-x", "5", "-o", "-v", "-toggle", "MCC,PRC area,Coverage,Region size"),
        train="train5", folds=5),
    Run("split", ZERO_R, (), ("-t", "{train}", "-split-percentage", "66", "-o", "-v"), folds=0),
    Run("regression", LINEAR_REGRESSION, (), ("-t", "{train}", "-k", "-o"), train="reg", regression=True),
    Run("plain_pred", J48, (), ("-t", "{train}", "-x", "3", "-classifications", f"{PLAIN_OUT} -distribution"),
        folds=3),
    Run("csv_pred", J48, (), ("-t", "{train}", "-T", "{test}", "-classifications", f"{CSV_OUT} -distribution"),
        test="test3", folds=0),
    Run("html_pred", J48, (), ("-t", "{train}", "-T", "{test}", "-classifications",
                               "weka.classifiers.evaluation.output.prediction.HTML -distribution"),
        test="test3", folds=0),
    Run("xml_pred", J48, (), ("-t", "{train}", "-T", "{test}", "-classifications",
                              "weka.classifiers.evaluation.output.prediction.XML -distribution"),
        test="test3", folds=0),
    Run("xml_reg", LINEAR_REGRESSION, (), ("-t", "{train}", "-x", "3", "-classifications",
                                           "weka.classifiers.evaluation.output.prediction.XML"),
        train="reg", folds=3, regression=True),
    Run("reg_pred", LINEAR_REGRESSION, (), ("-t", "{train}", "-x", "3", "-classifications", PLAIN_OUT),
        train="reg", folds=3, regression=True),
)
# Weka 3.6.14: -i prints the class details, -p the predictions.
RUNS36 = (
    Run("cv_k", J48, (), ("-t", "{train}", "-k", "-i")),
    Run("cv5_cost", NAIVE_BAYES, (), ("-t", "{train}", "-m", "{cost}", "-i"), train="train5", cost="cost5"),
    Run("test_set", NAIVE_BAYES, (), ("-t", "{train}", "-T", "{test}", "-o", "-i"), test="test3", folds=0),
    Run("regression", LINEAR_REGRESSION, (), ("-t", "{train}", "-k", "-o"), train="reg", regression=True),
    Run("pred", J48, (), ("-t", "{train}", "-x", "3", "-p", "0", "-distribution"), folds=3),
)


@dataclass
class Case:
    """One text Weka printed."""

    version: str
    locale: str
    run: Run
    text: str
    files: dict[str, Path] = field(repr=False, default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.version}-{self.locale}-{self.run.name}"


def write_inputs(folder: Path, seed: int = 0) -> dict[str, Path]:
    """The ARFFs (3 and 5 classes with instance weights, a numeric class) and a 5x5 cost matrix."""
    rng = np.random.default_rng(seed)
    files = {}

    def nominal(name: str, labels: tuple[str, ...], n: int, shares: list[float], weights: bool) -> None:
        quoted = [f"'{label}'" if " " in label else label for label in labels]
        lines = [f"@relation {name}", "@attribute x1 numeric", "@attribute x2 numeric",
                 f"@attribute cls {{{','.join(quoted)}}}", "@data"]
        for _ in range(n):
            c = rng.choice(len(labels), p=shares)
            x = rng.normal(c, 1.2, 2)
            weight = f",{{{rng.choice([0.5, 1, 1.5, 2.25])}}}" if weights else ""
            lines.append(f"{x[0]:.3f},{x[1]:.3f},{quoted[c]}{weight}")
        files[name] = folder / f"{name}.arff"
        files[name].write_text("\n".join(lines) + "\n")

    nominal("train3", ("alpha", "beta", "gamma ray"), 90, [0.6, 0.3, 0.1], True)
    nominal("test3", ("alpha", "beta", "gamma ray"), 40, [0.6, 0.3, 0.1], True)
    nominal("train5", CLASSES5, 120, [0.5, 0.25, 0.12, 0.08, 0.05], False)
    lines = ["@relation reg", "@attribute x1 numeric", "@attribute x2 numeric", "@attribute y numeric", "@data"]
    for _ in range(60):
        x = rng.normal(0, 1, 2)
        lines.append(f"{x[0]:.3f},{x[1]:.3f},{1.5 * x[0] - 0.7 * x[1] + rng.normal(0, 0.5):.3f}")
    files["reg"] = folder / "reg.arff"
    files["reg"].write_text("\n".join(lines) + "\n")
    cost = np.ones((5, 5)) - np.eye(5)
    cost[4, :4] = 5  # missing a basophil costs five times as much
    files["cost5"] = folder / "cost5.cost"
    files["cost5"].write_text("% Rows\tColumns\n5\t5\n% Matrix elements\n"
                              + "\n".join("\t".join(f"{v:.1f}" for v in row) for row in cost) + "\n")
    return files


def _arguments(run: Run, files: dict[str, Path]) -> list[str]:
    names = {"train": run.train, "test": run.test, "cost": run.cost}
    return [re.sub(r"\{(\w+)\}", lambda m: str(files[names[m.group(1)]]), a) for a in run.evaluation]


def run39(run: Run, files: dict[str, Path], locale: str) -> str:
    """Weka 3.9.7's command-line text, in this process's JVM, under the given default locale."""
    from jpype import JArray, JClass, JString

    from weka.classifiers import Classifier

    Locale = JClass("java.util.Locale")
    previous = Locale.getDefault()
    Locale.setDefault(Locale(*LOCALES[locale]))
    try:
        classifier = Classifier(classname=run.classifier, options=list(run.options)).jobject
        options = JArray(JString)(_arguments(run, files))
        return str(JClass("weka.classifiers.Evaluation").evaluateModel(classifier, options))
    finally:
        Locale.setDefault(previous)


def run36(run: Run, files: dict[str, Path], locale: str) -> str:
    """Weka 3.6.14's command-line text (``java -cp /usr/share/java/weka.jar``)."""
    from wekawbc.weka.jvm import find_java

    language, country = LOCALES[locale]
    command = [str(find_java().home / "bin" / "java"), f"-Duser.language={language}", f"-Duser.country={country}",
               "-cp", str(WEKA36_JAR), run.classifier, *run.options, *_arguments(run, files)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"Weka 3.6 failed: {' '.join(command)}\n{done.stderr}")
    return done.stdout


def weka36_problem() -> str | None:
    """Why Weka 3.6 cannot run here, or None."""
    if not WEKA36_JAR.is_file():
        return f"Weka 3.6 not found at {WEKA36_JAR} (apt-get install weka, or set WEKAWBC_WEKA36_JAR)"
    from wekawbc.weka.jvm import find_java

    done = subprocess.run([str(find_java().home / "bin" / "java"), "-cp", str(WEKA36_JAR), "weka.core.Version"],
                          capture_output=True, text=True, timeout=60)
    if done.returncode != 0 or not done.stdout.startswith("3.6"):
        return f"{WEKA36_JAR} does not run as Weka 3.6: {done.stdout.strip()} {done.stderr.strip()[:200]}"
    return None


def oracle_evaluations(run: Run, files: dict[str, Path]) -> list[Any]:
    """Weka 3.9.7's ``Evaluation`` objects (Java) for the blocks the run prints, in their order.

    As ``Evaluation.evaluateModel`` does: training error (unless ``-v``) on the classifier built on
    all training data, then the cross-validation with ``new Random(1)``, the supplied test set, or the
    percentage split (the data randomised with ``new Random(1)``, the first 66% to train).
    """
    from jpype import JClass

    from weka.core.converters import Loader

    loader = Loader(classname="weka.core.converters.ArffLoader")
    train = loader.load_file(str(files[run.train])).jobject
    train.setClassIndex(train.numAttributes() - 1)
    Evaluation, Random = JClass("weka.classifiers.Evaluation"), JClass("java.util.Random")
    AbstractClassifier = JClass("weka.classifiers.AbstractClassifier")
    cost = None
    if run.cost:
        CostMatrix, Reader = JClass("weka.classifiers.CostMatrix"), JClass("java.io.FileReader")
        cost = CostMatrix(Reader(str(files[run.cost])))

    def new_evaluation(data: Any) -> Any:
        return Evaluation(data) if cost is None else Evaluation(data, cost)

    def built(data: Any) -> Any:
        classifier = AbstractClassifier.forName(run.classifier, list(run.options))
        classifier.buildClassifier(data)
        return classifier

    out = []
    if "-v" not in run.evaluation and "-classifications" not in run.evaluation and "-p" not in run.evaluation:
        evaluation = new_evaluation(train)
        evaluation.evaluateModel(built(train), train)
        out.append(evaluation)
    if run.test:
        test = loader.load_file(str(files[run.test])).jobject
        test.setClassIndex(test.numAttributes() - 1)
        evaluation = new_evaluation(train)
        evaluation.evaluateModel(built(train), test)
    elif "-split-percentage" in run.evaluation:
        data = JClass("weka.core.Instances")(train)
        data.randomize(Random(1))
        size = int(round(data.numInstances() * 66 / 100.0))
        part_train = JClass("weka.core.Instances")(data, 0, size)
        part_test = JClass("weka.core.Instances")(data, size, data.numInstances() - size)
        evaluation = new_evaluation(part_train)
        evaluation.evaluateModel(built(part_train), part_test)
    else:
        evaluation = new_evaluation(train)
        classifier = AbstractClassifier.forName(run.classifier, list(run.options))
        evaluation.crossValidateModel(classifier, train, run.folds, Random(1), [])
    out.append(evaluation)
    return out


def run_experiment(files: dict[str, Path], folder: Path) -> tuple[str, list[Any]]:
    """A Weka Experimenter run (J48, NaiveBayes, ZeroR; 3 x 5-fold CV on two data sets) and the Analyse
    panel's texts: percent correct with the panel's default matrix (names, no standard deviations), and
    the ROC area with standard deviations and the ranking. Returns (text, [(measure, matrix numbers)])."""
    from weka.classifiers import Classifier
    from weka.core.converters import Loader
    from weka.experiments import ResultMatrix, SimpleCrossValidationExperiment, Tester

    result = folder / "experiment.arff"
    experiment = SimpleCrossValidationExperiment(
        classification=True, runs=3, folds=5, datasets=[str(files["train3"]), str(files["train5"])],
        classifiers=[Classifier(classname=J48), Classifier(classname=NAIVE_BAYES), Classifier(classname=ZERO_R)],
        result=str(result))
    experiment.setup()
    experiment.run()
    data = Loader(classname="weka.core.converters.ArffLoader").load_file(str(result))
    texts, matrices = [], []
    for measure, options in (("Percent_correct", ["-print-col-names", "-print-row-names"]),
                             ("Area_under_ROC", ["-show-stddev", "-enum-col-names", "-enum-row-names"])):
        tester = Tester(classname="weka.experiment.PairedCorrectedTTester")
        tester.resultmatrix = ResultMatrix(classname="weka.experiment.ResultMatrixPlainText", options=options)
        tester.jobject.setShowStdDevs("-show-stddev" in options)
        tester.instances = data
        column = data.attribute_by_name(measure).index
        texts.append(tester.header(column) + "\n" + tester.multi_resultset_full(0, column))
        matrices.append((measure, _matrix_numbers(tester.jobject.getResultMatrix())))
        if measure == "Area_under_ROC":  # (the ranking re-initialises the matrix: read it first)
            texts.append(tester.multi_resultset_ranking(column))
    return "\n".join(texts), matrices


def _matrix_numbers(matrix: Any) -> dict[str, Any]:
    """A Java ``ResultMatrix``'s numbers: means, standard deviations, runs, marks, (v/ /*) counts."""
    rows, cols = matrix.getRowCount(), matrix.getColCount()
    marks = {0: "", 1: "v", 2: "*"}
    return {"rows": rows, "cols": cols,
            "means": [[float(matrix.getMean(c, r)) for c in range(cols)] for r in range(rows)],
            "stddevs": [[float(matrix.getStdDev(c, r)) for c in range(cols)] for r in range(rows)],
            "runs": [int(matrix.getCount(r)) for r in range(rows)],
            "marks": [[None] + [marks[int(matrix.getSignificance(c, r))] for c in range(1, cols)] for r in range(rows)],
            "counts": [[int(matrix.getSignificanceCount(c, kind)) for kind in (1, 0, 2)] for c in range(1, cols)]}


def oracle_predictions(evaluation: Any, regression: bool) -> list[dict[str, Any]]:
    """Weka's recorded predictions: actual and predicted (0-based index or value), distribution or error."""
    out = []
    for prediction in evaluation.predictions():
        actual, predicted = float(prediction.actual()), float(prediction.predicted())
        if regression:
            out.append({"actual": actual, "predicted": predicted, "error": predicted - actual})
        else:
            out.append({"actual_index": int(actual), "predicted_index": int(predicted),
                        "distribution": [float(p) for p in prediction.distribution()]})
    return out


# Weka's getter of every number the parser keys, from the metric registry (its text keys and getters).
_CLASS_METHODS = {m.text_key: m.weka_getter for m in class_metrics() if m.text_key}
_WEIGHTED_METHODS = {m.text_key: m.weka_getter for m in weighted_metrics(engine=True)}
# weka.classifiers.Evaluation (the command line's class, used here) names withClass() numInstances().
_SUMMARY_METHODS = {**{m.text_key: m.weka_getter for m in summary_metrics(nominal=None) if m.text_key},
                    "total_instances": "numInstances"}


def oracle_numbers(evaluation: Any, regression: bool) -> dict[str, Any]:
    """Every number of an ``Evaluation`` object, keyed as the parser keys them (NaN as None)."""

    def number(value: Any) -> float | None:
        value = float(value)
        return None if np.isnan(value) or np.isinf(value) else value

    summary = {}
    for key, method in _SUMMARY_METHODS.items():
        try:
            summary[key] = number(getattr(evaluation, method)())
        except Exception:  # a statistic Weka refuses for this class type (K&B of a numeric class, ...)
            continue
    out: dict[str, Any] = {"summary": summary}
    if not regression:
        header = evaluation.getHeader()
        labels = [str(header.classAttribute().value(i)) for i in range(header.numClasses())]
        out["classes"] = [{"class": label, **{key: number(getattr(evaluation, m)(i)) for key, m in _CLASS_METHODS.items()}}
                          for i, label in enumerate(labels)]
        out["weighted_avg"] = {key: number(getattr(evaluation, m)()) for key, m in _WEIGHTED_METHODS.items()}
        out["confusion_matrix"] = {"labels": labels,
                                   "matrix": [[float(v) for v in row] for row in evaluation.confusionMatrix()]}
    return out


# ----- pasting transforms ----------------------------------------------------------------------
def _prefixed(prefix: str) -> Callable[[str], str]:
    return lambda text: "".join(prefix + line if line.strip() else prefix.rstrip() + line
                                for line in text.splitlines(keepends=True))


def _fenced(text: str) -> str:
    return "Results of the run:\n\n```\n" + text.rstrip("\n") + "\n```\n\nThe tree is pruned. | a | b |\n"


def _blank_lines_inside(text: str) -> str:
    """A blank line after every summary line and every table/matrix row (as some blogs and PDFs paste)."""
    out = []
    for line in text.splitlines(keepends=True):
        out.append(line)
        if re.match(r"^(Correctly|Kappa|Mean absolute|Weighted Avg\.|\s+\d.*\|)", line) or (
                re.match(r"^\s{10,}[\d?]", line) and "|" not in line):
            out.append("\n")
    return "".join(out)


def _untitled(text: str) -> str:
    """Fragments without their '===' titles."""
    return "".join(line for line in text.splitlines(keepends=True) if not line.startswith("==="))


def notebook(text: str) -> str:
    """An .ipynb notebook whose code cell's stream output holds the text (as Jupyter saves it)."""
    lines = text.splitlines(keepends=True)
    document = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": ["# Weka run\n"]},
                          {"cell_type": "code", "execution_count": 1, "metadata": {},
                           "source": ["!java weka.classifiers.trees.J48 -t train.arff"],
                           "outputs": [{"name": "stdout", "output_type": "stream", "text": lines}]}],
                "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(document, indent=1)


TRANSFORMS: dict[str, Callable[[str], str]] = {
    "markdown_quote": _prefixed("> "),
    "r_knitr": _prefixed("## "),
    "hash": _prefixed("#"),
    "java_comment": _prefixed("// "),
    "percent_comment": _prefixed("% "),
    "indented_code": _prefixed("    "),
    "fenced": _fenced,
    "blank_lines_inside": _blank_lines_inside,
    "crlf": lambda text: text.replace("\n", "\r\n"),
    "untitled": _untitled,
}


# ----- fixtures (imported by the test modules that use the corpus) -------------------------------
@pytest.fixture(scope="session")
def corpus_inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_inputs(tmp_path_factory.mktemp("weka_corpus"))


@pytest.fixture(scope="session")
def weka_text(jvm, corpus_inputs: dict[str, Path]):
    """The text of one run (cached for the session): Weka 3.9.7 in this JVM, 3.6.14 as a process."""
    cache: dict[tuple[str, str, str], str] = {}
    problem36: list[str | None] = []

    def text(version: str, locale: str, run: Run) -> str:
        key = (version, locale, run.name)
        if key not in cache:
            if version == "3.6":
                if not problem36:
                    problem36.append(weka36_problem())
                if problem36[0]:
                    pytest.skip(problem36[0])
                cache[key] = run36(run, corpus_inputs, locale)
            else:
                cache[key] = run39(run, corpus_inputs, locale)
        return cache[key]

    return text


@pytest.fixture(scope="session")
def oracle(jvm, corpus_inputs: dict[str, Path]):
    cache: dict[str, list[Any]] = {}

    def evaluations(run: Run) -> list[Any]:
        if run.name not in cache:
            cache[run.name] = oracle_evaluations(run, corpus_inputs)
        return cache[run.name]

    return evaluations


