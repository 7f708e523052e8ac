"""Run a configured experiment: cells → features (cached) → ARFF → grid on Weka's folds → evaluation → reports.

Layout of ``<reports>/<name>/``::

    config.json                       resolved configuration, seeds, versions, command, data fingerprints
    grid/<dataset>/<task>/<scheme>/rep01/
        predictions.csv, train_counts.csv, unit.json   one finished repetition (unit.json written last)
    <dataset>-<task>/
        experiment.json, experiment.md    Experimenter summary: mean/std per metric, t-tests vs the baseline
        runs/<scheme>/                    the run folder of repetition 1 (Weka text, report, predictions)
    experiment.html, experiment.md        every data set and task on one page

A unit (data set × task × scheme × repetition) whose ``unit.json`` exists with the same key (the
data fingerprint, the scheme and the folds) is not run again, so an interrupted run resumes where
it stopped. Every file is written atomically.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from wekawbc._io import WekawbcError, atomic_write_text
from wekawbc._json import json_ready
from wekawbc._progress import progress_bar
from wekawbc.paths import inside, slug
from wekawbc.experiment.config import ClassifierSpec, ExperimentConfig, validate_weka_classifiers
from wekawbc.experiment.crosslab import (CrossLabResult, cross_lab_markdown, group_plans, group_values,
                                         robust_standardise, shared_class_rows)
from wekawbc.experiment.data import FeatureTable, extract_table, load_cnn_crops, read_feature_file, select_cells
from wekawbc.experiment.scaleout import in_flight_window
from wekawbc.experiment.grid import FoldPlan, assemble_predictions, cnn_fold, cnn_fold_settings, plan_folds, weka_fold
from wekawbc.experiment.stats import ExperimentTable, experimenter_table, summarise_runs
from wekawbc.protocol.folds import small_class_notes
from wekawbc.predictions import Predictions, read_predictions, write_predictions_csv, write_train_counts_csv
from wekawbc.report.experiment import ExperimentSection, experiment_table_markdown, render_experiment_html
from wekawbc.report.render import markdown_text

_ROWS_PER_BLOCK = 4096
"""Rows of the feature table written to the ARFF (and Parquet) at a time."""

__all__ = ["METRICS", "ExperimentOutcome", "run_experiment", "fold_metrics"]

METRICS: tuple[str, ...] = (
    "pct_correct", "kappa", "mean_absolute_error", "root_mean_squared_error", "relative_absolute_error",
    "root_relative_squared_error", "weighted_precision", "weighted_recall", "weighted_f_measure",
    "weighted_roc_area", "weighted_prc_area", "unweighted_macro_f_measure",
)
"""Metrics of every fold (attributes of :class:`wekawbc.evaluation.EvaluationResult`), as Weka's Experimenter keeps them."""


@dataclass(frozen=True, eq=False)  # hashed by identity: its classifier may hold a dict of CNN settings
class _Unit:
    dataset: str
    task: str
    classifier: ClassifierSpec
    strategy: str
    repetition: int
    seed: int

    @property
    def scheme(self) -> str:
        return ExperimentConfig.scheme_name(self.classifier, self.strategy)

    def folder(self, run_dir: Path) -> Path:
        return inside(run_dir, Path("grid", slug(self.dataset), self.task, slug(self.scheme),
                                    f"rep{self.repetition:02d}"))


@dataclass
class ExperimentOutcome:
    """What a run produced."""

    run_dir: Path
    report_html: Path
    report_md: Path
    arff_files: list[Path] = field(default_factory=list)
    tables: dict[str, list[ExperimentTable]] = field(default_factory=dict)
    """Per ``<dataset>-<task>``, one Experimenter table per metric."""
    units_run: int = 0
    units_reused: int = 0
    features_reused: bool = False
    run_folders: list[Path] = field(default_factory=list)
    skipped: dict[str, list[str]] = field(default_factory=dict)
    """Per data set, one line per index row or image left out (or kept incomplete), with its reason."""
    cells_used: dict[str, int] = field(default_factory=dict)
    """Per data set, the cells whose features were measured."""
    warnings: list[str] = field(default_factory=list)
    """What ``wekawbc weka`` warns of on the same data (a class with fewer instances than folds), per data set and task."""

    @property
    def skipped_file(self) -> Path:
        """``<run>/skipped.txt``: every line of :attr:`skipped`, prefixed by its data set."""
        return self.run_dir / "skipped.txt"


def _unit_key(unit: _Unit, features: FeatureTable, config: ExperimentConfig) -> str:
    evaluation = config.evaluation
    spec = {"classifier": unit.classifier.weka, "cnn": unit.classifier.cnn, "strategy": unit.strategy,
            "task": unit.task, "seed": unit.seed, "folds": evaluation.folds, "split": evaluation.split,
            **({"groups": evaluation.groups} if evaluation.groups else {}),
            "data": features.fingerprint, "features": list(features.names), "rows": len(features.ids)}
    return hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()


def _unit_done(unit: _Unit, key: str, run_dir: Path) -> bool:
    marker = unit.folder(run_dir) / "unit.json"
    try:
        return json.loads(marker.read_text())["key"] == key
    except (OSError, ValueError, KeyError):
        return False


def _write_unit(unit: _Unit, key: str, predictions: Predictions, seconds: float, run_dir: Path) -> None:
    folder = unit.folder(run_dir)
    write_predictions_csv(predictions, folder / "predictions.csv")
    write_train_counts_csv(predictions.labels, predictions.train_counts, folder / "train_counts.csv")
    # Written last: its presence (with this key) marks the unit finished.
    atomic_write_text(folder / "unit.json", json.dumps({
        "key": key, "dataset": unit.dataset, "task": unit.task, "scheme": unit.scheme,
        "classifier": unit.classifier.weka or "cnn", "cnn": unit.classifier.cnn, "strategy": unit.strategy,
        "repetition": unit.repetition, "seed": unit.seed, "seconds": round(seconds, 3)}, indent=2))


def _read_unit(unit: _Unit, run_dir: Path) -> Predictions:
    folder = unit.folder(run_dir)
    return read_predictions(folder / "predictions.csv", folder / "train_counts.csv")


def fold_metrics(predictions: Predictions) -> list[dict[str, float]]:
    """:data:`METRICS` of each fold on its own (its test rows, its training priors), as the Experimenter rows."""
    from wekawbc.evaluation import evaluate

    rows = []
    for fold in range(predictions.n_folds):
        mask = predictions.fold == fold
        part = Predictions(predictions.labels, predictions.actual[mask], predictions.distribution[mask],
                           predictions.weight[mask], np.zeros(int(mask.sum()), dtype=np.int64),
                           predictions.train_counts[fold:fold + 1])
        result = evaluate(part)
        row = {"fold": fold + 1, "n_test": float(predictions.weight[mask].sum()),
               "n_train": float(predictions.train_counts[fold].sum())}
        row.update({metric: float(getattr(result, metric)) for metric in METRICS})
        rows.append(row)
    return rows


def _submit_unit(unit: _Unit, plans: list[FoldPlan], inputs: dict[str, Any], labels: tuple[str, ...], executor):
    handles = []
    for plan in plans:
        key = f"{unit.dataset}-{unit.task}-{slug(unit.scheme)}-r{unit.repetition}-f{plan.fold}"
        if unit.classifier.kind == "cnn":
            handles.append(executor.submit(key, cnn_fold, unit.classifier.cnn, unit.strategy, inputs["crops"],
                                           inputs["codes"], labels, plan.train, plan.test, plan.seed))
        else:
            handles.append(executor.submit(key, weka_fold, unit.classifier.weka, unit.strategy, inputs["X"],
                                           inputs["codes"], labels, plan.train, plan.test, plan.seed))
    return handles


def _write_arff(config: ExperimentConfig, dataset: str, task: str, features: FeatureTable,
                labels: tuple[str, ...], classes: list[str]) -> Path:
    """The data set's ARFF, written in blocks of rows; the same table as Parquet beside it when pyarrow is installed."""
    import importlib.util

    from wekawbc.arff import arff_writer, parquet_writer

    path = inside(config.output.arff, f"{slug(config.name)}-{slug(dataset)}-{task}.arff")
    writers = [arff_writer(path, features.names, labels, relation=f"{config.name}-{dataset}-{task}",
                           comments=[f"wekawbc experiment '{config.name}', data set {dataset}, task {task}",
                                     f"data fingerprint sha256:{features.fingerprint}"])]
    if importlib.util.find_spec("pyarrow") is not None:
        writers.append(parquet_writer(path.with_suffix(".parquet"), features.names))
    with contextlib.ExitStack() as stack:
        writes = [stack.enter_context(writer) for writer in writers]
        for start in range(0, len(classes), _ROWS_PER_BLOCK):
            block = slice(start, start + _ROWS_PER_BLOCK)
            for write in writes:
                write(features.values[block], classes[block])
    return path


def _run_grid(config: ExperimentConfig, dataset: str, task: str, features: FeatureTable, codes: np.ndarray,
              labels: tuple[str, ...], executor, outcome: ExperimentOutcome, progress: bool,
              groups: np.ndarray | None = None) -> list[_Unit]:
    evaluation = config.evaluation
    units = [_Unit(dataset, task, classifier, strategy, r + 1, seed)
             for classifier, strategy in config.schemes()
             for r, seed in enumerate(evaluation.seeds(classifier.repetitions))]
    keys = {unit: _unit_key(unit, features, config) for unit in units}
    pending = [u for u in units if not _unit_done(u, keys[u], config.run_dir)]
    outcome.units_reused += len(units) - len(pending)
    if not pending:
        return units
    inputs: dict[str, Any] = {"codes": codes}
    if any(u.classifier.kind == "weka" for u in pending):
        inputs["X"] = executor.scatter(features.values)
    cnn_specs = {json.dumps(u.classifier.cnn, sort_keys=True) for u in pending if u.classifier.kind == "cnn"}
    if len(cnn_specs) > 1:
        raise WekawbcError("several CNN classifiers with different image settings in one run are not supported; "
                           "give them the same image_size, crop_fraction, framing, cell_context and stain")

    def unit_inputs(unit: _Unit) -> dict[str, Any]:
        # The CNN's crops are read when its first unit starts, not beside the Weka units before it; the
        # heap Java grew for those is given back first (a JVM cannot be stopped, its heap can shrink).
        if unit.classifier.kind == "cnn" and "crops" not in inputs:
            from wekawbc.cnn.training import TrainSettings
            from wekawbc.weka.jvm import release_heap

            release_heap()
            settings = TrainSettings.from_dict(json.loads(next(iter(cnn_specs))))
            inputs["crops"] = executor.scatter(load_cnn_crops(features.ids, settings.input_options()))
        return inputs
    plans = {u.repetition: (group_plans(groups, u.seed, u.repetition) if groups is not None
                            else plan_folds(codes, u.seed, evaluation.folds, evaluation.split, u.repetition))
             for u in pending}
    # Units finish (and are written, hence resumable) in configuration order.
    sent = ((unit, _submit_unit(unit, plans[unit.repetition], unit_inputs(unit), labels, executor), time.perf_counter())
            for unit in pending)
    with progress_bar(total=len(pending), desc=f"{dataset}/{task}", unit="run", enabled=progress) as bar:
        for done, handles, started in in_flight_window(sent, executor.window):
            bar.set_postfix_str(f"{done.scheme} rep {done.repetition}")
            distributions = executor.results(handles, f"{done.scheme} folds", progress)
            predictions = assemble_predictions(labels, codes, plans[done.repetition], distributions, features.ids)
            _write_unit(done, keys[done], predictions, time.perf_counter() - started, config.run_dir)
            outcome.units_run += 1
            bar.update()
    return units


def _summarise(config: ExperimentConfig, units: list[_Unit]) -> tuple[pd.DataFrame, list[ExperimentTable]]:
    rows = []
    for unit in units:
        for row in fold_metrics(_read_unit(unit, config.run_dir)):
            rows.append({"scheme": unit.scheme, "repetition": unit.repetition, **row})
    results = pd.DataFrame(rows)
    schemes = list(dict.fromkeys(results["scheme"]))
    baseline = config.evaluation.baseline or schemes[0]
    tables = [experimenter_table(results, metric, baseline, config.evaluation.alpha) for metric in METRICS]
    return results, tables


def _mode(config: ExperimentConfig) -> str:
    evaluation = config.evaluation
    if evaluation.groups:
        return f"{evaluation.repetitions} × leave-one-group-out on '{evaluation.groups}'"
    if evaluation.folds:
        return f"{evaluation.repetitions} × {evaluation.folds}-fold cross-validation"
    return f"{evaluation.repetitions} × {evaluation.split:g} % split"


def _write_summary(config: ExperimentConfig, dataset: str, task: str, results: pd.DataFrame,
                   tables: list[ExperimentTable], folder: Path) -> None:
    summary = summarise_runs(results, list(METRICS))
    evaluation = config.evaluation
    mode = _mode(config)
    document = {
        "dataset": dataset, "task": task, "evaluation": mode, "seeds": evaluation.seeds(),
        "baseline": tables[0].baseline, "alpha": evaluation.alpha,
        "summary": json_ready(summary.to_dict(orient="records")),
        "tests": [table.to_dict() for table in tables],
        "folds": json_ready(results.to_dict(orient="records")),
    }
    atomic_write_text(folder / "experiment.json", json.dumps(document, indent=2))
    text = "".join(table.text(f"{dataset}-{task}") + "\n" for table in tables)
    atomic_write_text(folder / "experiment.txt", text)
    markdown = (f"## {markdown_text(dataset)}, {task}-class task\n\n"
                + experiment_table_markdown(tables, f"{mode} (seeds {evaluation.seeds()})"))
    atomic_write_text(folder / "experiment.md", markdown)


def _write_run_folders(config: ExperimentConfig, units: list[_Unit], folder: Path, source: Path) -> list[Path]:
    """The run folder (report of the evaluation engine) of each scheme's first repetition."""
    from wekawbc.evaluation import evaluate
    from wekawbc.report.runfolder import write_run_folder

    written = []
    for unit in units:
        if unit.repetition != 1:
            continue
        predictions = _read_unit(unit, config.run_dir)
        # The CNN's settings as trained (its defaults filled in), not only those the configuration names.
        cnn = (cnn_fold_settings(unit.classifier.cnn, unit.strategy, unit.seed).to_dict()
               if unit.classifier.kind == "cnn" else None)
        settings = {"experiment": config.name, "dataset": unit.dataset, "task": unit.task, "scheme": unit.scheme,
                    "classifier": unit.classifier.weka or "cnn", "cnn": cnn,
                    "strategy": unit.strategy, "seed": unit.seed, "folds": config.evaluation.folds,
                    "split": config.evaluation.split}
        target = inside(folder, Path("runs", slug(unit.scheme)))
        write_run_folder(target, evaluate(predictions), settings=settings, seed=unit.seed, dataset=source,
                         title=f"{unit.scheme} on {unit.dataset} ({unit.task}-class)")
        written.append(target)
    return written


def _write_comparison(config: ExperimentConfig, run_folders: list[Path], folder: Path) -> Path | None:
    """The run folders beside the published values (``[output] compare``), as Markdown, HTML and JSON."""
    from wekawbc.papers import load_paper
    from wekawbc.report import compare_with_paper, comparison_html, comparison_markdown, load_run
    from wekawbc.report.render import write_report_files

    if not config.output.compare:
        return None
    paper = load_paper(config.output.compare)
    table = compare_with_paper(paper, [load_run(path) for path in run_folders])
    return write_report_files(folder / f"compare_{paper.key}", comparison_markdown(table), comparison_html(table),
                              table)


def _write_overlays(config: ExperimentConfig, dataset: str, selection) -> ExperimentSection | None:
    """``[output] overlays = N``: the first N images of each class drawn with their boxes, outlines and lobe
    counts (:func:`wekawbc.report.overlays.sample_overlays`), and the page's link to them."""
    from wekawbc.experiment.data import extraction_options
    from wekawbc.report.overlays import sample_overlays

    count = config.output.overlays
    if not count:
        return None
    folder = inside(config.run_dir, f"{slug(dataset)}-overlays")
    page = sample_overlays(folder, selection.records, count, extraction_options(config.features), "five",
                           f"{dataset}: what was measured")
    text = f"boxes, cell and nucleus outlines and lobe counts on the first {count} images of each class"
    return ExperimentSection(f"{dataset}: what was measured", links=[(page.relative_to(config.run_dir).as_posix(), text)])


def _section(config: ExperimentConfig, title: str, tables: list[ExperimentTable], run_folders: list[Path],
             comparison: Path | None) -> ExperimentSection:
    """What the experiment page shows of one data set and task (links relative to the run folder)."""
    links = [(f"{folder.relative_to(config.run_dir).as_posix()}/report.html", folder.name) for folder in run_folders]
    if comparison is not None:
        links.append((comparison.relative_to(config.run_dir).as_posix(), f"comparison with {config.output.compare}"))
    return ExperimentSection(title, tables, _mode(config), links)


def _provenance(config: ExperimentConfig, fingerprints: dict[str, str], executor) -> dict[str, Any]:
    from wekawbc.provenance import command_line, library_versions

    return {"config": config.to_dict(), "seeds": {"subsample": config.seed, "repetitions": config.evaluation.seeds()},
            "data_fingerprints": fingerprints, "versions": library_versions(), "command": command_line(),
            "executor": executor.description}


def _remove_empty_folders(top: Path, stop: Path) -> None:
    """Remove ``top``'s empty sub-folders and then ``top`` and its parents up to ``stop`` while they are empty."""
    import os

    if not top.is_dir():
        return
    for folder, _, _ in sorted(os.walk(top), key=lambda entry: -len(entry[0])):
        with contextlib.suppress(OSError):
            os.rmdir(folder)  # fails, as wanted, on a folder that holds anything
    for folder in (top, *top.parents):
        if folder == stop or not folder.is_relative_to(stop):
            break
        with contextlib.suppress(OSError):
            folder.rmdir()


def run_experiment(config: ExperimentConfig, executor, progress: bool = True) -> ExperimentOutcome:
    """Run every stage of ``config`` and write its outputs (see the module docstring).

    A run that fails leaves no empty folder behind: the folders it created and left empty are removed
    (finished units and written files are kept, so a rerun resumes).
    """
    validate_weka_classifiers(config)
    run_dir = config.run_dir
    existing = next(folder for folder in (run_dir, *run_dir.parents) if folder.exists())
    run_dir.mkdir(parents=True, exist_ok=True)
    try:
        return _run_experiment(config, executor, progress)
    except BaseException:
        _remove_empty_folders(run_dir, existing)
        raise


def _run_experiment(config: ExperimentConfig, executor, progress: bool) -> ExperimentOutcome:
    run_dir = config.run_dir
    outcome = ExperimentOutcome(run_dir, run_dir / "experiment.html", run_dir / "experiment.md")
    fingerprints: dict[str, str] = {}
    sections = []
    markdown = [f"# Experiment {config.name}\n\n"]
    prepared: dict[str, tuple[FeatureTable, dict]] = {}
    grids: dict[tuple[str, str], list[_Unit]] = {}
    for spec in config.datasets:
        if spec.features:
            selection, features = read_feature_file(spec.name, spec.path)
        else:
            selection = select_cells(spec.name, spec.path, spec.class_counts, config.seed,
                                     allow_outside=spec.allow_outside, index=spec.index)
            features = extract_table(selection, config.features, config.output.cache_dir, executor, progress)
        outcome.features_reused = outcome.features_reused or features.from_cache
        outcome.skipped[spec.name] = [*selection.problems, *features.failures]
        outcome.cells_used[spec.name] = len(features.ids)
        fingerprints[spec.name] = features.fingerprint
        by_id = {str(r.image): r for r in selection.records}
        prepared[spec.name] = (features, by_id)
        overlays = _write_overlays(config, spec.name, selection)
        groups = (group_values([by_id[i] for i in features.ids], config.evaluation.groups, str(spec.path))
                  if config.evaluation.groups else None)
        for task in config.tasks:
            labels = selection.labels(task)
            classes = [by_id[i].task_label(task) for i in features.ids]
            codes = np.array([labels.index(c) for c in classes], dtype=np.int64)
            if config.evaluation.folds and not config.evaluation.groups:
                outcome.warnings += [f"{spec.name}, {task}-class task: {note}"
                                     for note in small_class_notes(codes, labels, config.evaluation.folds)]
            outcome.arff_files.append(_write_arff(config, spec.name, task, features, labels, classes))
            units = _run_grid(config, spec.name, task, features, codes, labels, executor, outcome, progress, groups)
            grids[(spec.name, task)] = units
            results, tables = _summarise(config, units)
            folder = inside(run_dir, f"{slug(spec.name)}-{task}")
            _write_summary(config, spec.name, task, results, tables, folder)
            run_folders = _write_run_folders(config, units, folder, spec.path)
            outcome.run_folders += run_folders
            outcome.tables[f"{spec.name}-{task}"] = tables
            comparison = _write_comparison(config, run_folders, folder)
            sections.append(_section(config, f"{spec.name}, {task}-class task", tables, run_folders, comparison))
            markdown.append((folder / "experiment.md").read_text() + "\n")
        if overlays is not None:
            sections.append(overlays)
    if config.cross_lab is not None:
        cross = _run_cross_lab(config, prepared, grids, executor, progress)
        markdown.append(cross)
        sections.append(ExperimentSection("Cross-lab evaluation", text=cross))
    atomic_write_text(outcome.skipped_file, "".join(f"{name}: {line}\n" for name, lines in outcome.skipped.items()
                                                    for line in lines))
    atomic_write_text(run_dir / "config.json", json.dumps(_provenance(config, fingerprints, executor), indent=2,
                                                          default=str))
    atomic_write_text(outcome.report_md, "".join(markdown))
    atomic_write_text(outcome.report_html, render_experiment_html(config.name, sections))
    return outcome


def _cross_lab_task(config: ExperimentConfig, prepared: dict[str, tuple[FeatureTable, dict]], task: str,
                    test_name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, tuple[str, ...], str]:
    """The stacked feature matrix and codes of the training sets and one test set, with the rows of each."""
    from wekawbc.cells.dataset import class_values

    spec = config.cross_lab
    labels = tuple(class_values(task))
    names = prepared[spec.train[0]][0].names
    blocks, codes, sizes = [], [], []
    for name in (*spec.train, test_name):
        features, by_id = prepared[name]
        if features.names != names:
            raise WekawbcError(f"[cross_lab]: data set {name!r} has other features than {spec.train[0]!r}")
        blocks.append(robust_standardise(features.values) if spec.standardise is True else features.values)
        codes.append(np.array([labels.index(by_id[i].task_label(task)) for i in features.ids], dtype=np.int64))
        sizes.append(len(features.ids))
    X, y = np.vstack(blocks), np.concatenate(codes)
    n_train = sum(sizes[:-1])
    train, test = np.arange(n_train), np.arange(n_train, len(y))
    keep, note = shared_class_rows(y[train], y[test], labels)
    return X, y, train, test[keep], labels, note


#: Re-estimations of the test lab's statistics with ``standardise = "prior-balanced"`` (chosen on pbc -> bccd).
PRIOR_BALANCED_ROUNDS = 8


def _prior_balanced(X: np.ndarray, y: np.ndarray, n_train: int, command: str, strategy: str,
                    labels: tuple[str, ...], seed: int, sizes: list[int]) -> np.ndarray:
    """The rows of ``X`` (training labs of ``sizes`` rows, then the test lab) standardised per lab at an equal class
    mix (:func:`~wekawbc.experiment.crosslab.prior_balanced_standardise`, this Weka scheme refitted each round)."""
    from wekawbc.experiment.crosslab import prior_balanced_standardise

    def fit_predict(X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray) -> np.ndarray:
        rows = np.vstack([X_train, X_test])
        codes = np.concatenate([y_train, np.zeros(len(X_test), dtype=np.int64)])  # test classes are never read
        train, test = np.arange(len(X_train)), np.arange(len(X_train), len(rows))
        return weka_fold(command, strategy, rows, codes, labels, train, test, seed).argmax(axis=1)

    bounds = np.cumsum([0, *sizes])
    blocks = [X[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
    codes = [y[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
    X_train, X_test, _ = prior_balanced_standardise(blocks, codes, X[n_train:], fit_predict, PRIOR_BALANCED_ROUNDS)
    return np.vstack([X_train, X_test])


#: CORAL's ridge with ``coral``: chosen on pbc -> bccd among 1 and 0.1 with round 4's tables (docs/cross_lab.md;
#: with all 3,500 pbc cells 1 came out ahead, within the noise of that choice).
CORAL_RIDGE = 0.1


def _coral(X: np.ndarray, y: np.ndarray, n_train: int, command: str, strategy: str, labels: tuple[str, ...],
           seed: int, balanced: bool) -> np.ndarray:
    """``X`` with its training rows (the first ``n_train``) re-coloured to the test lab's covariance
    (:func:`~wekawbc.experiment.crosslab.coral_align`); the test rows as they are. For the alignment a missing
    value is put at its side's column median (0 after standardisation). ``balanced``: the training rows weighted
    to an equal class mix by their labels, the test lab's by this Weka scheme's predictions (never its labels)."""
    from wekawbc.experiment.crosslab import class_balance_weights, coral_align

    def filled(block: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            median = np.nan_to_num(np.nanmedian(block, axis=0), nan=0.0)
        return np.where(np.isnan(block), median, block)

    weights: tuple[np.ndarray | None, np.ndarray | None] = (None, None)
    if balanced:
        codes = np.concatenate([y[:n_train], np.zeros(len(X) - n_train, dtype=np.int64)])  # test classes never read
        predicted = weka_fold(command, strategy, X, codes, labels, np.arange(n_train), np.arange(n_train, len(X)),
                              seed).argmax(axis=1)
        weights = (class_balance_weights(y[:n_train]), class_balance_weights(predicted))
    aligned = X.copy()
    aligned[:n_train] = coral_align(filled(X[:n_train]), filled(X[n_train:]), *weights, ridge=CORAL_RIDGE)
    return aligned


def _adjusted_priors(predictions: Predictions, strategy: str, where: str):
    """``adapt_priors = true``: the predictions at the test set's estimated class mix. A scheme with an imbalance
    strategy was trained at an equal class mix; one without, at its training data's."""
    from wekawbc.predictions import adjust_priors

    return adjust_priors(predictions, None if strategy == "none" else [1.0] * predictions.n_classes, where=where)


def _run_cross_lab(config: ExperimentConfig, prepared: dict[str, tuple[FeatureTable, dict]],
                   grids: dict[tuple[str, str], list[_Unit]], executor, progress: bool) -> str:
    """Every Weka scheme trained on ``[cross_lab] train``, tested on each ``test``; in-lab CV beside it.

    Writes ``cross_lab.json`` and ``cross_lab.md`` in the run folder and returns the Markdown.
    """
    from wekawbc.evaluation import evaluate

    spec = config.cross_lab
    seed = config.evaluation.seed
    results: list[CrossLabResult] = []
    skipped = [config.scheme_name(c, s) for c, s in config.schemes() if c.kind != "weka"]
    markdown_parts = []
    for task in config.tasks:
        task_results: list[CrossLabResult] = []
        for name in spec.train:
            for unit in grids[(name, task)]:
                if unit.repetition == 1 and unit.classifier.kind == "weka":
                    predictions = _read_unit(unit, config.run_dir)
                    task_results.append(CrossLabResult(unit.scheme, (name,), None, predictions,
                                                       evaluate(predictions).bootstrap(spec.bootstrap, seed=seed),
                                                       n_train=len(predictions.actual), task=task))
        for test_name in spec.test:
            X, y, train, test, labels, note = _cross_lab_task(config, prepared, task, test_name)
            ids = prepared[test_name][0].ids
            plan = FoldPlan(1, seed, 0, train, test)
            for classifier, strategy in config.schemes():
                if classifier.kind != "weka":
                    continue
                X_run = X
                if spec.standardise == "prior-balanced":
                    X_run = _prior_balanced(X, y, len(train), classifier.weka, strategy, labels, seed,
                                            [len(prepared[name][0].ids) for name in spec.train])
                if spec.coral:
                    X_run = _coral(X_run, y, len(train), classifier.weka, strategy, labels, seed,
                                   spec.coral == "class-balanced")
                handle = executor.submit(f"cross-lab-{task}-{test_name}-{slug(classifier.name)}-{strategy}",
                                         weka_fold, classifier.weka, strategy, X_run, y, labels, train, test, seed)
                distribution = executor.results([handle], "cross-lab", progress)[0]
                row_ids = tuple(ids[i - len(train)] for i in test)
                predictions = assemble_predictions(labels, y, [plan], [distribution], None)
                predictions = Predictions(labels, predictions.actual, predictions.distribution, predictions.weight,
                                          predictions.fold, predictions.train_counts, row_ids)
                scheme = config.scheme_name(classifier, strategy)
                adjustment = None
                if spec.adapt_priors:
                    adjustment = _adjusted_priors(predictions, strategy, f"[cross_lab] {test_name}, {scheme}")
                    predictions = adjustment.predictions
                result = CrossLabResult(scheme, spec.train, test_name, predictions,
                                        evaluate(predictions).bootstrap(spec.bootstrap, seed=seed), note, len(train),
                                        task, adjustment.to_dict() if adjustment else None)
                write_predictions_csv(predictions, inside(config.run_dir, Path("cross_lab", task, slug(scheme),
                                                                               f"{slug(test_name)}.predictions.csv")))
                task_results.append(result)
        results.extend(task_results)
        markdown_parts.append(f"### {task}-class task\n\n" + cross_lab_markdown(task_results, spec.bootstrap))
    if spec.adapt_priors:
        markdown_parts.append("Cross-lab columns: probabilities re-weighted to each test set's class mix, estimated "
                              "without labels (EM, Saerens et al. 2002); the estimates are in cross_lab.json.\n")
    if spec.coral:
        markdown_parts.append(f"Cross-lab columns: training rows re-coloured to each test set's feature covariance "
                              f"(CORAL, ridge {CORAL_RIDGE:g}{', both at an equal class mix' if spec.coral == 'class-balanced' else ''}"
                              "), without its labels.\n")
    if skipped:
        markdown_parts.append(f"Not in the cross-lab table (Weka classifiers only here): {', '.join(skipped)}.\n")
    text = "\n".join(markdown_parts)
    document = {"train": list(spec.train), "test": list(spec.test), "seed": seed, "standardise": spec.standardise,
                "adapt_priors": spec.adapt_priors, "coral": spec.coral,
                **({"coral_ridge": CORAL_RIDGE} if spec.coral else {}),
                "bootstrap": {"n_resamples": spec.bootstrap, "confidence": 0.95, "stratified": True},
                "results": [r.to_dict() for r in results], "skipped": skipped}
    atomic_write_text(config.run_dir / "cross_lab.json", json.dumps(document, indent=2, default=float))
    atomic_write_text(config.run_dir / "cross_lab.md", text)
    return text
