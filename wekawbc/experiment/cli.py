"""``wekawbc run CONFIG.toml`` and ``wekawbc demo --out DIR``: the whole pipeline as one command."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

__all__ = ["register", "DEMO_CLASSIFIERS", "demo_config"]

DATA_ENV = "WEKAWBC_DATA"

#: The classifiers ``wekawbc demo`` can run, by the name given to ``--classifiers``.
DEMO_CLASSIFIERS: dict[str, dict] = {
    "J48": {"weka": "weka.classifiers.trees.J48 -C 0.25 -M 2"},
    "RandomForest": {"weka": "weka.classifiers.trees.RandomForest -P 100 -I 100 -num-slots 1 -K 0 -M 1.0 -V 0.001 -S 1"},
    "SMO": {"weka": "weka.classifiers.functions.SMO"},
    "Logistic": {"weka": "weka.classifiers.functions.Logistic -R 1.0E-8 -M -1"},
    "MultilayerPerceptron": {"weka": "weka.classifiers.functions.MultilayerPerceptron"},
    "NaiveBayes": {"weka": "weka.classifiers.bayes.NaiveBayes"},
    "CNN": {"cnn": {"epochs": 6, "image_size": 32, "patience": 3}},
}
_DEFAULT_DEMO = "J48,RandomForest,SMO,Logistic,CNN"


def _add_scaleout(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--scheduler", metavar="ADDRESS",
                       help="run feature extraction and the grid on this Dask scheduler (tcp://host:8786)")
    group.add_argument("--workers", type=int, metavar="N",
                       help="start a local Dask cluster of N worker processes (one JVM each)")
    parser.add_argument("--retries", type=int, default=2, help="retries of a Dask task whose worker failed (2)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def register(subparsers) -> None:
    run = subparsers.add_parser(
        "run", help="run an experiment from a TOML configuration (features, Weka classifiers, CNN, reports)",
        description="Extract features (cached), export the ARFF, run every classifier x imbalance strategy x "
                    "repetition on Weka's folds, evaluate with the one engine and write the reports. An "
                    "interrupted run resumes without redoing finished work.")
    run.add_argument("config", type=Path, help="the experiment's TOML file (see docs/experiment.md)")
    _add_scaleout(run)
    run.set_defaults(handler=_run)

    demo = subparsers.add_parser(
        "demo", help="the whole pipeline on a generated synthetic data set (or --data PATH), ending in an HTML report",
        description="Generates a seeded synthetic blood-smear data set with the paper's class counts (or uses "
                    f"--data / ${DATA_ENV}), then runs the experiment of 'wekawbc run' on it.")
    demo.add_argument("--out", type=Path, required=True, help="folder for the data, features, ARFF and reports")
    demo.add_argument("--data", type=Path, default=None,
                      help=f"a real data set instead of the synthetic one (also ${DATA_ENV})")
    demo.add_argument("--scale", type=float, default=1.0,
                      help="synthetic class counts as a multiple of the paper's 556/228/153/38/25 (1.0)")
    demo.add_argument("--class-counts", default=None,
                      help="subsample --data to this mix, e.g. 'paper' or neutrophil=556,lymphocyte=228,...")
    demo.add_argument("--classifiers", default=_DEFAULT_DEMO,
                      help=f"comma-separated, from {', '.join(DEMO_CLASSIFIERS)} ({_DEFAULT_DEMO})")
    demo.add_argument("--strategies", default="none", help="imbalance strategies of every classifier (none)")
    demo.add_argument("--folds", type=int, default=10, help="cross-validation folds (10)")
    demo.add_argument("--repetitions", type=int, default=1, help="repetitions of the cross-validation (1)")
    demo.add_argument("--seed", type=int, default=1, help="seed of the data, the subsample and the folds (1)")
    from wekawbc.cells.options import add_index_options

    add_index_options(demo)
    _add_scaleout(demo)
    demo.set_defaults(handler=_demo)


def _execute(config, args) -> int:
    from wekawbc.experiment.runner import run_experiment
    from wekawbc.experiment.scaleout import make_executor

    from wekawbc._io import WekawbcError

    try:
        with make_executor(args.scheduler, args.workers, args.retries) as executor:
            outcome = run_experiment(config, executor, progress=not args.no_progress)
    except OSError as error:
        where = f" ({error.filename})" if error.filename else ""
        raise WekawbcError(f"writing the outputs failed{where}: {error.strerror or error}; finished units and "
                           "the files written before are kept") from None
    import sys

    for warning in outcome.warnings:  # as 'wekawbc weka' warns on the same data
        print(f"wekawbc: warning: {warning}", file=sys.stderr)
    print(f"units run: {outcome.units_run}, reused from an earlier run: {outcome.units_reused}; "
          f"features {'reused from the cache' if outcome.features_reused else 'extracted'}")
    for path in outcome.arff_files:
        print(f"ARFF: {path}")
    for name, tables in outcome.tables.items():
        print(f"\n{name}:\n{tables[0].text(name)}")
    print(f"report: {outcome.report_html.resolve()}")
    return _report_skipped(outcome)


def _report_skipped(outcome) -> int:
    """Each left-out row or image on stderr (the first few), a count per data set; 3 when any."""
    import sys

    from wekawbc.features.cli import EXIT_SOME_FAILED

    shown = 10
    for name, lines in outcome.skipped.items():
        for line in lines[:shown]:
            print(f"wekawbc: skipped: {name}: {line}", file=sys.stderr)
        if len(lines) > shown:
            print(f"wekawbc: skipped: {name}: ... and {len(lines) - shown} more", file=sys.stderr)
        if lines:
            print(f"wekawbc: data set '{name}': {len(lines)} labels.csv rows or images left out or incomplete, "
                  f"{outcome.cells_used[name]} cells used; list in {outcome.skipped_file}", file=sys.stderr)
    return EXIT_SOME_FAILED if any(outcome.skipped.values()) else 0


def _run(args: argparse.Namespace) -> int:
    from wekawbc.experiment.config import load_config

    return _execute(load_config(args.config), args)


def demo_config(out: Path, data: Path, classifiers: list[str], strategies: list[str], folds: int, repetitions: int,
                seed: int, class_counts: dict | str | None = None, index: dict[str, str] | None = None) -> dict:
    """The experiment configuration (as a TOML-shaped dict) that ``wekawbc demo`` runs (``index``: the
    data set's ``image_column``, ``label_column`` and ``label_map``, as given)."""
    from wekawbc._io import WekawbcError

    unknown = [c for c in classifiers if c not in DEMO_CLASSIFIERS]
    if unknown:
        raise WekawbcError(f"--classifiers: unknown {unknown}; choose from {list(DEMO_CLASSIFIERS)}")
    entries = []
    for name in classifiers:
        entry = {"name": name, **DEMO_CLASSIFIERS[name]}
        if "cnn" in entry:
            # The CNN's own strategies; 'none' maps to itself, feature-only ones to class weights.
            entry["strategies"] = list(dict.fromkeys(s if s in ("none", "weights", "sampler") else "weights"
                                                     for s in strategies))
        entries.append(entry)
    named = data.resolve().parent if data.is_file() else data.resolve()  # an index CSV: its folder's name
    dataset: dict = {"name": named.name, "path": str(data.resolve())}
    if class_counts is not None:
        dataset["class_counts"] = class_counts
    dataset.update({key: value for key, value in (index or {}).items() if value is not None})
    return {
        "name": "demo", "seed": seed, "datasets": [dataset],
        "imbalance": {"strategies": strategies},
        "evaluation": {"folds": folds, "repetitions": repetitions, "seed": seed},
        "classifiers": entries,
        "output": {"run": str(out), "arff": str(out / "arff_exports"), "cache": str(out / "cache")},
    }


def _toml(document: dict) -> str:
    """A small TOML writer for the demo's own configuration (strings, numbers, lists, tables)."""
    import json

    def value(v) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{" + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + "}"
        raise TypeError(type(v))

    lines = [f"{k} = {value(v)}" for k, v in document.items() if not isinstance(v, (dict, list)) or
             (isinstance(v, list) and not (v and isinstance(v[0], dict)))]
    for key, v in document.items():
        if isinstance(v, dict):
            lines += ["", f"[{key}]", *(f"{k} = {value(x)}" for k, x in v.items())]
        elif isinstance(v, list) and v and isinstance(v[0], dict):
            for item in v:
                lines += ["", f"[[{key}]]", *(f"{k} = {value(x)}" for k, x in item.items())]
    return "\n".join(lines) + "\n"


def _demo(args: argparse.Namespace) -> int:
    from wekawbc._io import WekawbcError, atomic_write_text
    from wekawbc.experiment.config import load_config

    out: Path = args.out
    data = args.data or (Path(os.environ[DATA_ENV]) if os.environ.get(DATA_ENV) else None)
    source = "--data" if args.data else f"${DATA_ENV}"
    if data is None and (args.image_column or args.label_column or args.label_map):
        raise WekawbcError("--image-column, --label-column and --label-map apply to --data (a data set of your own)")
    from wekawbc.cells.options import index_format

    index_format(args)  # a bad --label-map stops here, before anything is written
    class_counts = args.class_counts
    if class_counts is not None and class_counts != "paper":
        from wekawbc.protocol.subsample import parse_cell_counts

        try:
            class_counts = parse_cell_counts(class_counts)
        except ValueError as error:
            raise WekawbcError(f"--class-counts: {error}") from None
    if data is None:
        from wekawbc.synthetic import scaled_counts, write_dataset

        data = out / "synthetic"
        if not (data / "labels.csv").is_file():
            print(f"generating the synthetic data set in {data} ...", flush=True)
            write_dataset(data, scaled_counts(args.scale), seed=args.seed, progress=not args.no_progress)
    elif not data.exists():
        raise WekawbcError(f"{source}: {data} does not exist")

    document = demo_config(out, data, [c.strip() for c in args.classifiers.split(",") if c.strip()],
                           [s.strip() for s in args.strategies.split(",") if s.strip()], args.folds,
                           args.repetitions, args.seed, class_counts,
                           {"image_column": args.image_column, "label_column": args.label_column,
                            "label_map": args.label_map})
    config_path = atomic_write_text(out / "demo.toml", _toml(document))
    print(f"configuration: {config_path} (rerun it with: wekawbc run {config_path})", flush=True)
    return _execute(load_config(config_path), args)
