"""The experiment configuration: a TOML file read strictly into frozen dataclasses.

A complete example (every key shown; only ``[[datasets]]`` and ``[[classifiers]]`` are required)::

    name = "pbc-paper-mix"            # run name: reports/<name>/
    seed = 1                          # subsampling seed

    [[datasets]]
    name = "pbc"                      # default: the folder's name
    path = "../shared/datasets/pbc"   # relative paths are relative to this file's folder
    class_counts = "paper"            # or {neutrophil = 556, lymphocyte = 228, ...} or proportions
    # image_column = "file"           # an index with other column names (path may name the index CSV)
    # label_column = "cell_type"
    # label_map = {seg = "neutrophil"} # or "seg=neutrophil,..." or a file of such pairs
    # features = "cells.arff"         # instead of path: a feature file (ARFF or CSV, as Weka's Experimenter
                                      # takes); a path ending in .arff is one too

    [task]
    tasks = ["five", "binary"]        # or "five", "binary", "both"

    [features]                        # keyword arguments of wekawbc.features.extract_features
    [imbalance]
    strategies = ["none"]             # default strategies of every classifier

    [evaluation]
    folds = 10                        # k-fold cross-validation (Weka's folds) ...
    # split = 66                      # ... or a percentage split (not both)
    repetitions = 10                  # repetition r (from 1) uses seed + r - 1, as Weka's Experimenter
    seed = 1
    baseline = "J48"                  # the scheme the t-test compares against (default: the first)
    alpha = 0.05
    # groups = "lab"                  # leave-one-group-out on a labels.csv column instead of folds

    [cross_lab]                       # optional: train on some data sets, test on others
    train = ["pbc"]                   # names of [[datasets]]; trained on together
    test = ["jtsc"]                   # external test sets (never trained on)
    bootstrap = 1000                  # stratified bootstrap resamples of every interval
    standardise = false               # standardise each data set's features on their own first;
                                      # "prior-balanced": at an equal class mix (docs/cross_lab.md, round 3)
    adapt_priors = false              # re-weight the probabilities to each test set's class mix, estimated
                                      # without labels (EM of Saerens et al. 2002; docs/cross_lab.md)
    coral = false                     # re-colour the training rows to each test set's feature covariance
                                      # (CORAL); "class-balanced": both at an equal class mix (docs/cross_lab.md)

    [[classifiers]]
    name = "J48"
    weka = "weka.classifiers.trees.J48 -C 0.25 -M 2"
    strategies = ["none", "class_balancer"]

    [[classifiers]]
    name = "MLP"
    weka = "weka.classifiers.functions.MultilayerPerceptron"
    repetitions = 1                   # fewer repetitions for a slow classifier; paired on the common ones

    [[classifiers]]
    name = "CNN"
    cnn = { epochs = 15, image_size = 64 }
    strategies = ["weights"]

    [output]
    reports = "reports"               # relative to the current folder
    arff = "arff_exports"
    cache = "reports/.cache"          # extracted features, keyed by data fingerprint and parameters
    compare = "alkrimi2023"           # published results to compare with ("" for none)
    overlays = 0                      # images per class drawn with boxes, outlines, lobes (<run>/<dataset>-overlays/)
    # run = "reports/mine"            # the run folder itself, instead of <reports>/<name>

Unknown keys, values of the wrong type, a missing data folder, a classifier with neither ``weka``
nor ``cnn``, and duplicate scheme names are refused with a :class:`~wekawbc.WekawbcError` naming the key.
Weka class names are checked against the JVM by :func:`validate_weka_classifiers` before any work.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from wekawbc._io import WekawbcError, not_utf8
from wekawbc.paths import inside, slug

if TYPE_CHECKING:
    from wekawbc.cells.dataset import IndexFormat

__all__ = ["ClassifierSpec", "CrossLabSpec", "DatasetSpec", "EvaluationSpec", "ExperimentConfig", "OutputSpec", "load_config",
           "parse_config", "validate_weka_classifiers"]

TASKS = ("five", "binary")
MAX_REPETITIONS = 1000
"""Most repetitions of a cross-validation or split (each is a full run of every classifier)."""
_JAVA_LONG = (-2**63, 2**63 - 1)
# Weka classifiers (and their options) that deserialize a file: Java deserialization of an
# untrusted file can run arbitrary code, so a configuration must allow it in so many words.
_LOADS_MODEL_FILE = (
    re.compile(r"\bSerializedClassifier\b"),                 # -model FILE
    re.compile(r"\bInputMappedClassifier\b.*\s-L\s"),       # -L FILE: a serialized model
    re.compile(r"\bVote\b.*\s-P\s"),                        # -P FILE: a pre-built serialized model
)
_TOP_KEYS = {"name", "seed", "datasets", "task", "features", "imbalance", "evaluation", "classifiers", "output",
             "cross_lab"}


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    path: Path
    class_counts: dict[str, float] | None = None
    """Wanted cells per type (or proportions); None keeps every labelled cell."""
    allow_outside: bool = False
    """Read images the data set's index names outside its folder (``allow_outside = true``, as
    ``--allow-outside`` on the commands): an index that pools other data sets' images."""
    index: "IndexFormat | None" = None
    """The index's column names and label map (``image_column``, ``label_column``, ``label_map``)."""
    features: bool = False
    """``path`` is a feature file (ARFF or CSV: Weka's Experimenter's data sets), not images."""


@dataclass(frozen=True)
class ClassifierSpec:
    name: str
    weka: str | None = None
    """Weka's command line (class name and options); None for the CNN."""
    cnn: dict[str, Any] | None = None
    """Settings of the CNN (``wekawbc.cnn.TrainSettings`` fields)."""
    strategies: tuple[str, ...] = ("none",)
    repetitions: int | None = None
    """Repetitions of this classifier when it differs from ``[evaluation] repetitions`` (a slow one run fewer times)."""

    @property
    def kind(self) -> str:
        return "cnn" if self.cnn is not None else "weka"


@dataclass(frozen=True)
class EvaluationSpec:
    folds: int | None = 10
    split: float | None = None
    repetitions: int = 1
    seed: int = 1
    baseline: str | None = None
    alpha: float = 0.05
    groups: str | None = None
    """A ``labels.csv`` column: leave-one-group-out folds instead of ``folds`` (one fold per value)."""

    def seeds(self, repetitions: int | None = None) -> list[int]:
        """The seed of each repetition: ``seed, seed + 1, ...`` (Weka's Experimenter uses the run number)."""
        return [self.seed + r for r in range(repetitions or self.repetitions)]


@dataclass(frozen=True)
class CrossLabSpec:
    """Train on the ``train`` data sets together, test on each ``test`` data set."""

    train: tuple[str, ...]
    test: tuple[str, ...]
    bootstrap: int = 1000
    standardise: bool | str = False
    """Standardise each data set's features on their own (median, interquartile range) first; ``"prior-balanced"``:
    at an equal class mix (:func:`wekawbc.experiment.crosslab.prior_balanced_standardise`)."""
    adapt_priors: bool = False
    """Re-weight each test set's predicted probabilities to its class mix estimated without labels
    (:func:`wekawbc.predictions.adjust_priors`)."""
    coral: bool | str = False
    """Re-colour the training rows to each test set's covariance (:func:`wekawbc.experiment.crosslab.coral_align`),
    after any standardisation; ``"class-balanced"``: both covariances at an equal class mix (the test set's by
    the scheme's own predictions)."""


@dataclass(frozen=True)
class OutputSpec:
    reports: Path = Path("reports")
    arff: Path = Path("arff_exports")
    cache: Path | None = None
    compare: str = "alkrimi2023"
    overlays: int = 0
    """Images of each class drawn with what was measured (<run>/<dataset>-overlays/index.html); 0: none."""
    run: Path | None = None
    """The run folder itself, when given (``wekawbc demo --out DIR``); else ``<reports>/<name>``."""

    @property
    def cache_dir(self) -> Path:
        return self.cache if self.cache is not None else self.reports / ".cache"


@dataclass(frozen=True)
class ExperimentConfig:
    name: str
    datasets: tuple[DatasetSpec, ...]
    classifiers: tuple[ClassifierSpec, ...]
    tasks: tuple[str, ...] = ("five",)
    seed: int = 1
    features: dict[str, Any] = field(default_factory=dict)
    evaluation: EvaluationSpec = field(default_factory=EvaluationSpec)
    output: OutputSpec = field(default_factory=OutputSpec)
    source: str = "<dict>"
    cross_lab: CrossLabSpec | None = None

    @property
    def run_dir(self) -> Path:
        """``[output] run``, or ``<reports>/<name>`` with the name made a file name (:func:`wekawbc.paths.slug`)."""
        if self.output.run is not None:
            return self.output.run
        return inside(self.output.reports, slug(self.name, f"{self.source}: 'name'"))

    def schemes(self) -> list[tuple[ClassifierSpec, str]]:
        """Every (classifier, imbalance strategy) pair, in configuration order."""
        return [(c, s) for c in self.classifiers for s in c.strategies]

    @staticmethod
    def scheme_name(classifier: ClassifierSpec, strategy: str) -> str:
        return classifier.name if strategy == "none" else f"{classifier.name}+{strategy}"

    def to_dict(self) -> dict[str, Any]:
        """The resolved configuration, JSON-able (paths as strings)."""
        def plain(value: Any) -> Any:
            if isinstance(value, Path):
                return str(value)
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            if isinstance(value, (list, tuple)):
                return [plain(v) for v in value]
            return value

        return plain(asdict(self))


def _fail(where: str, key: str, problem: str) -> WekawbcError:
    return WekawbcError(f"{where}: '{key}' {problem}")


def _check_keys(table: Mapping[str, Any], allowed: set[str], where: str, context: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise WekawbcError(f"{where}: unknown key(s) {unknown} in {context}; allowed: {sorted(allowed)}")


def _typed(table: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str, default: Any) -> Any:
    if key not in table:
        return default
    value = table[key]
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise _fail(where, key, f"must be {_kind_name(kind)}, got {value!r}")
    if not isinstance(value, kind):
        raise _fail(where, key, f"must be {_kind_name(kind)}, got {value!r}")
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join({int: "an integer", float: "a number", str: "a string", bool: "true/false",
                        list: "a list", dict: "a table"}.get(k, k.__name__) for k in kinds)


def _class_counts(value: Any, where: str, key: str) -> dict[str, float] | None:
    from wekawbc.protocol.subsample import PAPER_TABLE2_COUNTS

    if value is None:
        return None
    if isinstance(value, str):
        if value != "paper":
            raise _fail(where, key, f"must be \"paper\" or a table of counts per type, got {value!r}")
        return {k: float(v) for k, v in PAPER_TABLE2_COUNTS.items()}
    if not isinstance(value, dict):
        raise _fail(where, key, f"must be \"paper\" or a table of counts per type, got {value!r}")
    from wekawbc.cells.dataset import CLASSES, normalise_label

    def cell_type(name: str) -> str | None:  # any spelling of a type: eos = 10
        try:
            return normalise_label(name)
        except ValueError:
            return None

    unknown = sorted(name for name in value if cell_type(name) is None)
    if unknown:
        raise _fail(where, key, f"names unknown cell type(s) {unknown}; expected {list(CLASSES)}")
    for name, count in value.items():
        if isinstance(count, bool) or not isinstance(count, (int, float)) or not 0 <= count < math.inf:
            raise _fail(where, f"{key}.{name}", f"must be a finite non-negative number, got {count!r}")
    counts = {str(cell_type(k)): float(v) for k, v in value.items()}
    if len(counts) != len(value):
        raise _fail(where, key, f"names a type twice in {sorted(value)}")
    return counts


def _array_of_tables(raw: Any, key: str, what: str, allowed: set[str], where: str) -> list[dict[str, Any]]:
    """The tables of ``[[key]]``, each checked for unknown keys."""
    if not isinstance(raw, list) or not raw:
        raise _fail(where, key, f"must be a non-empty array of tables ([[{key}]] with {what})")
    for i, table in enumerate(raw):
        if not isinstance(table, dict):
            raise _fail(where, key, f"entry #{i + 1} must be a table")
        _check_keys(table, allowed, where, f"[[{key}]] #{i + 1}")
    return raw


def _datasets(raw: Any, base: Path, where: str) -> tuple[DatasetSpec, ...]:
    specs = []
    keys = {"name", "path", "features", "class_counts", "allow_outside", "image_column", "label_column", "label_map"}
    for i, table in enumerate(_array_of_tables(raw, "datasets", "a 'path'", keys, where)):
        if ("path" in table) == ("features" in table):
            raise _fail(where, f"datasets[{i}].path", "is missing; give 'path' (images) or 'features' (an ARFF or "
                        "CSV file), one of them")
        key = "path" if "path" in table else "features"
        path = Path(os.path.expanduser(_typed(table, key, str, where, "")))
        path = (path if path.is_absolute() else base / path).resolve()
        if not path.exists():
            raise _fail(where, f"datasets[{i}].{key}", f"names {path}, which does not exist")
        features = key == "features" or path.name.lower().endswith((".arff", ".arff.gz"))
        if features and not path.name.lower().endswith((".arff", ".arff.gz", ".csv")):
            raise _fail(where, f"datasets[{i}].{key}", f"names {path}, which is not an ARFF or CSV file")
        name = _typed(table, "name", str, where, path.name.split(".")[0] if features else path.name)
        slug(name, f"{where}: 'datasets[{i}].name'")  # it names output folders and files
        if features and {"class_counts", "image_column", "label_column", "label_map"} & set(table):
            raise _fail(where, f"datasets[{i}]", "is a feature file; class_counts, image_column, label_column and "
                        "label_map apply to images")
        specs.append(DatasetSpec(name, path, _class_counts(table.get("class_counts"), where,
                                                          f"datasets[{i}].class_counts"),
                                 _typed(table, "allow_outside", bool, where, False),
                                 _index_format(table, where, i), features))
    _distinct_file_names([s.name for s in specs], where, "datasets", "give each a distinct 'name'")
    return tuple(specs)


def _index_format(table: Mapping[str, Any], where: str, i: int) -> "IndexFormat":
    from wekawbc.cells.dataset import IndexFormat

    label_map = table.get("label_map")
    if label_map is not None and not isinstance(label_map, (str, dict)):
        raise _fail(where, f"datasets[{i}].label_map", f"must be a table or a string, got {label_map!r}")
    try:
        return IndexFormat.from_options(_typed(table, "image_column", str, where, None),
                                        _typed(table, "label_column", str, where, None), label_map)
    except WekawbcError as error:
        raise WekawbcError(f"{where}: 'datasets[{i}].label_map': {error}") from None


def _distinct_file_names(names: list[str], where: str, key: str, advice: str) -> None:
    """Refuse names that repeat, or that become the same file name once slugged."""
    if len(set(names)) != len(names):
        raise _fail(where, key, f"names repeat: {names}; {advice}")
    slugs = [slug(name, f"{where}: '{key}'") for name in names]
    if len(set(slugs)) != len(slugs):
        raise _fail(where, key, f"names repeat after making file names of them: {slugs}; {advice}")


def _tasks(raw: Any, where: str) -> tuple[str, ...]:
    if raw is None:
        return ("five",)
    if not isinstance(raw, dict):
        raise _fail(where, "task", "must be a table with 'tasks'")
    _check_keys(raw, {"tasks"}, where, "[task]")
    value = raw.get("tasks", "five")
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values:
        raise _fail(where, "task.tasks", "must be \"five\", \"binary\", \"both\" or a list of them")
    resolved: list[str] = []
    for v in values:
        if v == "both":
            resolved += list(TASKS)
        elif v in TASKS:
            resolved.append(v)
        else:
            raise _fail(where, "task.tasks", f"holds {v!r}; expected \"five\", \"binary\" or \"both\"")
    return tuple(dict.fromkeys(resolved))


def _strategies(raw: Any, where: str, key: str) -> tuple[str, ...]:
    from wekawbc.experiment.grid import STRATEGIES

    values = [raw] if isinstance(raw, str) else raw
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        raise _fail(where, key, f"must be a list of strategy names from {sorted(STRATEGIES)}")
    unknown = sorted(set(values) - set(STRATEGIES))
    if unknown:
        raise _fail(where, key, f"names unknown imbalance strategy(ies) {unknown}; expected {sorted(STRATEGIES)}")
    return tuple(dict.fromkeys(values))


def _classifiers(raw: Any, default_strategies: tuple[str, ...], where: str) -> tuple[ClassifierSpec, ...]:
    from wekawbc.experiment.grid import CNN_STRATEGIES, WEKA_STRATEGIES

    specs = []
    tables = _array_of_tables(raw, "classifiers", "'weka' or 'cnn'",
                              {"name", "weka", "cnn", "strategies", "repetitions", "allow_model_files"}, where)
    for i, table in enumerate(tables):
        key = f"classifiers[{i}]"
        repetitions = _typed(table, "repetitions", int, where, None)
        if repetitions is not None:
            _check_repetitions(repetitions, where, f"{key}.repetitions")
        weka = _typed(table, "weka", str, where, None)
        cnn = _typed(table, "cnn", dict, where, None)
        if (weka is None) == (cnn is None):
            raise _fail(where, key, "needs exactly one of 'weka' (a Weka class name with options) or 'cnn' (a table)")
        if weka is not None and not weka.strip():
            raise _fail(where, f"{key}.weka", "is empty")
        if weka is not None and not _typed(table, "allow_model_files", bool, where, False):
            if any(pattern.search(f" {weka} ") for pattern in _LOADS_MODEL_FILE):
                raise _fail(where, f"{key}.weka", "makes Weka deserialize a file (a serialized model), which can run "
                            "any code the file holds; if you trust the file, set allow_model_files = true in "
                            "this [[classifiers]] table")
        default_name = "CNN" if cnn is not None else weka.split()[0].rsplit(".", 1)[-1]
        name = _typed(table, "name", str, where, default_name)
        strategies = (_strategies(table["strategies"], where, f"{key}.strategies") if "strategies" in table
                      else default_strategies)
        allowed = CNN_STRATEGIES if cnn is not None else WEKA_STRATEGIES
        wrong = [s for s in strategies if s not in allowed]
        if wrong:
            raise _fail(where, f"{key}.strategies", f"holds {wrong}, which do not apply to a "
                        f"{'CNN' if cnn is not None else 'Weka classifier'}; use {sorted(allowed)}")
        if cnn is not None:
            _check_cnn_settings(cnn, strategies, where, f"{key}.cnn")
        specs.append(ClassifierSpec(name, weka.strip() if weka else None, dict(cnn) if cnn is not None else None,
                                    strategies, repetitions))
    _distinct_file_names([ExperimentConfig.scheme_name(c, s) for c in specs for s in c.strategies], where,
                         "classifiers", "give each classifier a distinct 'name'")
    return tuple(specs)


def _check_repetitions(repetitions: int, where: str, key: str) -> None:
    if not 1 <= repetitions <= MAX_REPETITIONS:
        raise _fail(where, key, f"must be between 1 and {MAX_REPETITIONS}, got {repetitions}")


def _check_cnn_settings(cnn: dict[str, Any], strategies: tuple[str, ...], where: str, key: str) -> None:
    """The CNN table builds valid training settings with each strategy (no torch needed)."""
    from wekawbc.cnn.settings import TrainSettings

    for strategy in strategies:
        try:
            TrainSettings.from_dict({**cnn, "balance": strategy})
        except (TypeError, ValueError) as error:
            raise _fail(where, key, str(error)) from None


def _evaluation(raw: Any, where: str) -> EvaluationSpec:
    if raw is None:
        return EvaluationSpec()
    if not isinstance(raw, dict):
        raise _fail(where, "evaluation", "must be a table")
    _check_keys(raw, {"folds", "split", "repetitions", "seed", "baseline", "alpha", "groups"}, where, "[evaluation]")
    split = _typed(raw, "split", (int, float), where, None)
    groups = _typed(raw, "groups", str, where, None)
    if groups is not None and ("folds" in raw or split is not None):
        raise _fail(where, "evaluation.groups", "makes one fold per group; do not set 'folds' or 'split' with it")
    if groups is not None and not groups.strip():
        raise _fail(where, "evaluation.groups", "is empty; name a labels.csv column")
    folds = _typed(raw, "folds", int, where, None if split is not None else 10)
    if folds is not None and split is not None:
        raise _fail(where, "evaluation", "sets both 'folds' and 'split'; choose one")
    if folds is not None and folds < 2:
        raise _fail(where, "evaluation.folds", f"must be 2 or more, got {folds}")
    if split is not None and not 0 < split < 100:
        raise _fail(where, "evaluation.split", f"must be a percentage between 0 and 100, got {split}")
    repetitions = _typed(raw, "repetitions", int, where, 1)
    _check_repetitions(repetitions, where, "evaluation.repetitions")
    alpha = float(_typed(raw, "alpha", (int, float), where, 0.05))
    if not 0 < alpha < 1:
        raise _fail(where, "evaluation.alpha", f"must lie between 0 and 1, got {alpha}")
    seed = _typed(raw, "seed", int, where, 1)
    if not _JAVA_LONG[0] <= seed <= _JAVA_LONG[1] - MAX_REPETITIONS:
        raise _fail(where, "evaluation.seed", f"is {seed}; the seeds of the repetitions must fit a Java long "
                    f"(from {_JAVA_LONG[0]} to {_JAVA_LONG[1] - MAX_REPETITIONS})")
    return EvaluationSpec(folds, None if split is None else float(split), repetitions,
                          seed, _typed(raw, "baseline", str, where, None), alpha, groups)



def _cross_lab(raw: Any, datasets: tuple[DatasetSpec, ...], where: str) -> CrossLabSpec | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise _fail(where, "cross_lab", "must be a table with 'train' and 'test'")
    _check_keys(raw, {"train", "test", "bootstrap", "standardise", "adapt_priors", "coral"}, where, "[cross_lab]")
    names = [d.name for d in datasets]
    parts = {}
    for key in ("train", "test"):
        value = raw.get(key)
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
            raise _fail(where, f"cross_lab.{key}", f"must name one or more of the [[datasets]] {names}")
        unknown = [v for v in values if v not in names]
        if unknown:
            raise _fail(where, f"cross_lab.{key}", f"names {unknown}, not among the [[datasets]] {names}")
        parts[key] = tuple(dict.fromkeys(values))
    both = sorted(set(parts["train"]) & set(parts["test"]))
    if both:
        raise _fail(where, "cross_lab", f"uses {both} for training and testing; a cross-lab test set is never "
                    "trained on (its in-lab cross-validation is in the main report)")
    bootstrap = _typed(raw, "bootstrap", int, where, 1000)
    if bootstrap < 1:
        raise _fail(where, "cross_lab.bootstrap", f"must be 1 or more, got {bootstrap}")
    standardise = _typed(raw, "standardise", (bool, str), where, False)
    if isinstance(standardise, str) and standardise != "prior-balanced":
        raise _fail(where, "cross_lab.standardise", f"must be true, false or \"prior-balanced\", got {standardise!r}")
    adapt_priors = _typed(raw, "adapt_priors", bool, where, False)
    coral = _typed(raw, "coral", (bool, str), where, False)
    if isinstance(coral, str) and coral != "class-balanced":
        raise _fail(where, "cross_lab.coral", f"must be true, false or \"class-balanced\", got {coral!r}")
    return CrossLabSpec(parts["train"], parts["test"], bootstrap, standardise, adapt_priors, coral)


def _output(raw: Any, where: str) -> OutputSpec:
    if raw is None:
        return OutputSpec()
    if not isinstance(raw, dict):
        raise _fail(where, "output", "must be a table")
    _check_keys(raw, {"reports", "arff", "cache", "compare", "overlays", "run"}, where, "[output]")
    overlays = _typed(raw, "overlays", int, where, 0)
    if overlays < 0:
        raise _fail(where, "output.overlays", f"must be 0 (none) or a number of images per class, got {overlays}")
    cache = _typed(raw, "cache", str, where, None)
    run = _typed(raw, "run", str, where, None)
    compare = _typed(raw, "compare", str, where, "alkrimi2023")
    if compare:
        from wekawbc.papers import load_paper

        try:
            load_paper(compare)
        except WekawbcError as error:
            raise _fail(where, "output.compare", f"is {compare!r}: {error}") from None
    return OutputSpec(Path(_typed(raw, "reports", str, where, "reports")), Path(_typed(raw, "arff", str, where,
                                                                                        "arff_exports")),
                      None if cache is None else Path(cache), compare, overlays, None if run is None else Path(run))


def parse_config(raw: Mapping[str, Any], base: Path = Path("."), source: str = "<dict>") -> ExperimentConfig:
    """Validate a parsed TOML document (``base``: folder that relative data paths start from)."""
    _check_keys(raw, _TOP_KEYS, source, "the top level")
    imbalance = raw.get("imbalance", {})
    if not isinstance(imbalance, dict):
        raise _fail(source, "imbalance", "must be a table")
    _check_keys(imbalance, {"strategies"}, source, "[imbalance]")
    default_strategies = _strategies(imbalance.get("strategies", ["none"]), source, "imbalance.strategies")
    features = raw.get("features", {})
    if not isinstance(features, dict):
        raise _fail(source, "features", "must be a table")
    from wekawbc.experiment.data import extraction_options

    try:
        extraction_options(features)
    except WekawbcError as error:
        raise WekawbcError(f"{source}: {error}") from None
    classifiers = _classifiers(raw.get("classifiers"), default_strategies, source)
    evaluation = _evaluation(raw.get("evaluation"), source)
    schemes = [ExperimentConfig.scheme_name(c, s) for c in classifiers for s in c.strategies]
    if evaluation.baseline is not None and evaluation.baseline not in schemes:
        raise _fail(source, "evaluation.baseline", f"is {evaluation.baseline!r}, not one of the schemes {schemes}")
    name = _typed(raw, "name", str, source, "experiment")
    seed = _typed(raw, "seed", int, source, 1)
    if not 0 <= seed < 2**63:
        raise _fail(source, "seed", f"must be from 0 to {2**63 - 1}, got {seed}")
    slug(name, f"{source}: 'name'")  # the run folder's name; '..' and the like are refused
    datasets = _datasets(raw.get("datasets"), base, source)
    feature_files = [d.name for d in datasets if d.features]
    if feature_files and any(c.kind == "cnn" for c in classifiers):
        raise _fail(source, "classifiers", f"holds a CNN, which needs images; {feature_files} are feature files")
    if feature_files and evaluation.groups:
        raise _fail(source, "evaluation.groups", f"names a labels.csv column; {feature_files} are feature files")
    return ExperimentConfig(
        name=name,
        datasets=datasets,
        classifiers=classifiers,
        tasks=_tasks(raw.get("task"), source),
        seed=seed,
        features=dict(features),
        evaluation=evaluation,
        output=_output(raw.get("output"), source),
        source=source,
        cross_lab=_cross_lab(raw.get("cross_lab"), datasets, source),
    )


def load_config(path: str | os.PathLike) -> ExperimentConfig:
    """Read and validate a TOML configuration file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise WekawbcError(f"{path}: cannot read the configuration: {error.strerror or error}") from None
    except UnicodeDecodeError as error:
        raise WekawbcError(not_utf8(path, error)) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise WekawbcError(f"{path}: not valid TOML: {error}") from None
    return parse_config(raw, path.resolve().parent, str(path))


def validate_weka_classifiers(config: ExperimentConfig) -> None:
    """Create each Weka classifier through the JVM, so a misspelt class or option fails before any work."""
    from wekawbc.weka.classifiers import new_classifier, split_classifier_command

    for i, spec in enumerate(config.classifiers):
        if spec.weka is None:
            continue
        classname, options = split_classifier_command(spec.weka)
        new_classifier(classname, options,
                       context=f"{config.source}: 'classifiers[{i}].weka' = {spec.weka!r}: Weka cannot create it")
