"""``wekawbc weka`` (run a Weka classifier with Weka's evaluation), ``wekawbc rank`` and ``wekawbc packages``."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import sys
import warnings
from pathlib import Path

from wekawbc._io import WekawbcError

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``weka``, ``packages`` and ``rank`` sub-commands."""
    weka = subparsers.add_parser(
        "weka", help="run a Weka classifier with Weka's own cross-validation / split / test evaluation",
        description="Train and evaluate a Weka classifier exactly as Weka's Explorer and command line do, "
                    "printing Weka's evaluation text.")
    weka.add_argument("data", metavar="DATA", nargs="?",
                      help="training data: ARFF (.arff, .arff.gz) or CSV (its identifier columns, such as those of "
                           "extract's --csv, are left out); not with --load-model")
    weka.add_argument("--classifier", metavar="CLASSIFIER",
                      help='Weka class name and options in one string, e.g. "weka.classifiers.trees.J48 -C 0.25 -M 2"')
    mode = weka.add_mutually_exclusive_group()
    mode.add_argument("--folds", type=int, metavar="N", help="stratified N-fold cross-validation (default: 10)")
    mode.add_argument("--split", type=float, metavar="PCT", help="percentage split: PCT %% train, the rest test")
    mode.add_argument("--test", metavar="TEST", help="evaluate on this supplied test set (ARFF or CSV)")
    weka.add_argument("--adapt-priors", action="store_true",
                      help="with --test: re-weight the class probabilities to the test set's class mix, estimated "
                           "without its labels (EM of Saerens et al. 2002); prints both evaluations, and the "
                           "predictions, JSON and run folder hold the adjusted ones (see docs/cross_lab.md)")
    weka.add_argument("--preserve-order", action="store_true", help="with --split: do not randomize first")
    weka.add_argument("--seed", type=int, default=1, help="random seed for the folds or split (default: 1)")
    weka.add_argument("--groups", metavar="CELLS.csv[:COLUMN]",
                      help="cross-validation with folds grouped: a CSV with one row per instance (in order), e.g. "
                           "the --csv of 'wekawbc extract'; instances sharing its COLUMN (default: image) always "
                           "fall in the same fold (Weka's stratification applied to the groups)")
    weka.add_argument("--class", dest="class_name", metavar="NAME", help="class attribute (default: the last)")
    weka.add_argument("--json", metavar="OUT.json", help="write every number, the settings and versions as JSON")
    weka.add_argument("--predictions", metavar="OUT.csv",
                      help="write the predictions CSV (fold,actual,weight,p_<label>...) and, beside it, "
                           "OUT.train_counts.csv (training class weights per fold)")
    weka.add_argument("--out", metavar="DIR",
                      help="write a run folder (Weka's text, predictions, training counts, report.json/.md/.html) "
                           "that 'wekawbc report' and 'wekawbc compare' read")
    weka.add_argument("--no-run-information", dest="run_information", action="store_false",
                      help="omit the '=== Run information ===' block")
    models = weka.add_argument_group("models (Weka's -d, -l and -o)")
    models.add_argument("--save-model", metavar="MODEL",
                        help="also train on all of DATA and save that model as Weka's -d does (Weka's own "
                             "serialisation: 'java ... -l MODEL -T TEST' reads it)")
    models.add_argument("--load-model", metavar="MODEL",
                        help="apply a saved Weka model to --test instead of training (as Weka's -l; only load files "
                             "you trust: a model file is Java objects)")
    models.add_argument("-o", "--no-model-text", dest="model_text", action="store_false",
                        help="do not print the '=== Classifier model (full training set) ===' block (Weka's -o)")
    _add_jvm_options(weka)
    weka.set_defaults(handler=_run_weka)

    packages = subparsers.add_parser("packages", help="list or install Weka packages (offline)",
                                     description="Manage the Weka packages in wekawbc's WEKA_HOME.")
    actions = packages.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("list", help="list installed packages").set_defaults(handler=_list_packages)
    install = actions.add_parser("install", help="install a package from a local zip")
    install.add_argument("archive", metavar="FILE.zip", help="a Weka package zip (with Description.props)")
    install.set_defaults(handler=_install_package)

    rank = subparsers.add_parser(
        "rank", help="rank the attributes of a data set with a Weka attribute evaluator (InfoGain, ReliefF, ...)",
        description="Weka's attribute selection with the Ranker: which features matter. Prints Weka's own text.")
    rank.add_argument("data", metavar="DATA", help="data set: ARFF (.arff, .arff.gz) or CSV")
    rank.add_argument("--evaluator", default="weka.attributeSelection.InfoGainAttributeEval", metavar="EVALUATOR",
                      help="Weka attribute evaluator with its options, or a short name: infogain, gainratio, relieff, "
                           "correlation, symmetricaluncertainty, oner (default: InfoGainAttributeEval)")
    rank.add_argument("--top", type=int, metavar="N", help="keep the N best attributes (Ranker -N; default: all)")
    rank.add_argument("--class", dest="class_name", metavar="NAME", help="class attribute (default: the last)")
    rank.add_argument("--json", metavar="OUT.json", help="write the ranking, the settings and versions as JSON")
    _add_jvm_options(rank)
    rank.set_defaults(handler=_rank)


def _add_jvm_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--max-heap", metavar="SIZE", help="Java's maximum heap, e.g. 4g (default: Java's own)")
    parser.add_argument("--packages", action="store_true",
                        help="load the Weka packages installed in WEKA_HOME (see 'wekawbc packages list')")


def _rank(args: argparse.Namespace) -> int:
    from wekawbc._io import atomic_write_text
    from wekawbc._json import json_ready
    from wekawbc.provenance import command_line, library_versions
    from wekawbc.weka.jvm import start
    from wekawbc.weka.rank import rank_attributes

    _check_inputs(args.data)
    start(max_heap=args.max_heap, packages=args.packages)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ranking = rank_attributes(args.data, args.evaluator, top=args.top, class_name=args.class_name)
    _print_warnings(caught)
    print(ranking.weka_text)
    if args.json:
        document = {"command": command_line(), "data": str(args.data), **ranking.to_dict(),
                    "versions": library_versions()}
        atomic_write_text(args.json, json.dumps(json_ready(document), indent=2) + "\n")
    return 0


def _print_warnings(caught) -> None:
    """Caught warnings, one line each: an identifier column left out is a note, anything else a warning."""
    from wekawbc.weka.data import IdentifierColumnsNote

    for category, message in dict.fromkeys((w.category, str(w.message)) for w in caught):  # once each
        kind = "note" if issubclass(category, IdentifierColumnsNote) else "warning"
        print(f"wekawbc: {kind}: {message}", file=sys.stderr)


def _train_counts_path(predictions_path: Path) -> Path:
    return predictions_path.with_name(predictions_path.stem + ".train_counts.csv")


def _check_inputs(*paths: str | None) -> None:
    """A missing input file is reported at once, before Java starts (seconds)."""
    for path in paths:
        if path is not None and not Path(path).exists():
            raise WekawbcError(f"{path}: no such file")


def _apply_saved_model(args: argparse.Namespace) -> int:
    """``--load-model M --test T``: Weka's ``-l M -T T``."""
    from wekawbc.weka.jvm import start
    from wekawbc.weka.model import load_model, model_text, test_model

    if args.test is None:
        raise WekawbcError("--load-model needs --test TEST: the data set to apply the model to")
    given = [name for name, value in (("DATA", args.data), ("--classifier", args.classifier),
                                      ("--folds", args.folds), ("--split", args.split), ("--groups", args.groups),
                                      ("--save-model", args.save_model), ("--predictions", args.predictions),
                                      ("--json", args.json), ("--out", args.out)) if value is not None]
    if args.adapt_priors:
        given.append("--adapt-priors")
    if given:
        raise WekawbcError(f"--load-model applies a saved model to --test only; leave out {', '.join(given)}")
    _check_inputs(args.load_model, args.test)
    start(max_heap=args.max_heap, packages=args.packages)
    model, header = load_model(args.load_model)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = test_model(model, header, args.test, args.class_name)
    _print_warnings(caught)
    if args.run_information:
        print(f"=== Run information ===\n\nScheme:       {result.scheme}\nModel:        {args.load_model}\n"
              f"Relation:     {result.relation}\nInstances:    {result.n_instances}\n"
              f"Test mode:    user supplied test set: {result.n_instances} instances\n")
    if args.model_text:
        print(model_text(model))
    print(f"=== Evaluation on test set ===\n{result.weka_text()}", end="")
    return 0


def _run_weka(args: argparse.Namespace) -> int:
    from wekawbc.predictions import write_predictions_csv, write_train_counts_csv
    from wekawbc.weka.jvm import start
    from wekawbc.weka.model import build_model, model_text, save_model
    from wekawbc.weka.run import run_classifier

    if args.load_model is not None:
        return _apply_saved_model(args)
    if args.data is None or args.classifier is None:
        raise WekawbcError("give DATA and --classifier (or --load-model MODEL --test TEST)")
    if args.preserve_order and args.split is None:
        raise WekawbcError("--preserve-order applies to --split only")
    if args.adapt_priors and args.test is None:
        raise WekawbcError("--adapt-priors applies to --test only (a test set whose class mix may differ)")
    _check_inputs(args.data, args.test)
    runtime = start(max_heap=args.max_heap, packages=args.packages)
    data = _checked_for_predictions(args) if args.predictions else args.data
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = run_classifier(data, args.classifier, folds=args.folds, split=args.split, test=args.test,
                             preserve_order=args.preserve_order, seed=args.seed, class_name=args.class_name,
                             groups=_read_groups(args.groups) if args.groups else None)
        model = build_model(data, args.classifier, args.class_name) if args.model_text or args.save_model else None
    _print_warnings(caught)
    if run.grouping:
        print(f"wekawbc: note: {run.grouping}", file=sys.stderr)
    # The Explorer's order: run information, the model, the evaluation (the run folder keeps it as printed).
    model_block = model_text(model[0]) + "\n" if model is not None and args.model_text else ""

    adjustment = _adjusted(run, args) if args.adapt_priors else None

    def printed(run_information: bool) -> str:
        return ((run.run_information() + "\n" if run_information else "") + model_block
                + run.explorer_text(run_information=False) + (_adjusted_text(adjustment) if adjustment else ""))

    print(printed(args.run_information), end="")
    written: list[Path] = []
    try:
        if model is not None and args.save_model:
            written.append(save_model(args.save_model, *model))
            print(f"\nmodel written to {args.save_model}")
        if args.predictions:
            path = Path(args.predictions)
            # The interchange header is exactly fold,actual,weight,p_...: row ids stay in the Python API.
            chosen = adjustment.predictions if adjustment else run.predictions
            written.append(write_predictions_csv(dataclasses.replace(chosen, ids=None), path))
            written.append(write_train_counts_csv(run.labels, run.predictions.train_counts, _train_counts_path(path)))
        if args.json:
            written.append(_write_json(run, args, runtime.describe(), adjustment))
        if args.out:
            written.append(_write_run_folder(run, args, runtime.describe(), printed(True), adjustment))
    except (OSError, WekawbcError) as error:  # the atomic writers name the file in a WekawbcError
        for path in written:  # all outputs or none
            with contextlib.suppress(OSError):
                path.unlink()
        if isinstance(error, WekawbcError):
            raise
        raise WekawbcError(f"{error.filename or 'output'}: cannot write: {error.strerror or error}") from None
    return 0


def _adjusted(run, args: argparse.Namespace):
    """``--adapt-priors``: the run's predictions re-weighted to the test set's estimated class mix."""
    from wekawbc.predictions import adjust_priors

    return adjust_priors(run.predictions, where=str(args.test))


def _adjusted_text(adjustment) -> str:
    from wekawbc.evaluation import evaluate

    return (f"\n=== Evaluation on test set, class priors adjusted ===\n\n{adjustment.describe()}\n\n"
            + evaluate(adjustment.predictions).weka_text())


def _write_run_folder(run, args: argparse.Namespace, java: str, weka_text: str, adjustment=None) -> Path:
    from wekawbc.evaluation import evaluate
    from wekawbc.report.runfolder import write_run_folder

    settings = {"producer": "wekawbc weka", "classifier": run.classifier, "mode": run.mode, "folds": run.folds,
                "split_percentage": run.split_percentage, "preserve_order": run.preserve_order, "seed": run.seed,
                "data": str(args.data), "test": args.test, "class": args.class_name, "java": java,
                "prior_adjustment": adjustment.to_dict() if adjustment else None}
    predictions = adjustment.predictions if adjustment else run.predictions
    return write_run_folder(args.out, evaluate(predictions), settings=settings,
                            weka_text=weka_text, seed=run.seed, dataset=args.data,
                            title=Path(args.out).name)


def _checked_for_predictions(args: argparse.Namespace):
    """The training data, loaded once, after checking its class values fit the predictions CSV.

    That CSV's reader strips spaces around cells (``fold, actual`` is fine), so a class value
    that begins or ends with a space would not read back: refused before any work.
    """
    from wekawbc.weka.data import load_instances

    data = load_instances(args.data, args.class_name)
    for value in data.jobject.classAttribute().enumerateValues():
        if str(value) != str(value).strip():
            raise WekawbcError(f"{args.data}: class value '{value}' begins or ends with a space, which the "
                               "predictions CSV cannot keep; rename it, or leave out --predictions")
    return data


def _read_groups(spec: str) -> list[str]:
    """The group key of every row of ``FILE.csv[:COLUMN]`` (default column: ``image``)."""
    import csv

    path, _, column = spec.rpartition(":") if spec.rpartition(":")[2] and not Path(spec).is_file() else (spec, "", "")
    column = column or "image"
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise WekawbcError(f"{path}: cannot read groups ({error})") from None
    if not rows or column not in rows[0]:
        raise WekawbcError(f"{path}: no '{column}' column to group by")
    return [row[column] for row in rows]


def _write_json(run, args: argparse.Namespace, java: str, adjustment=None) -> Path:
    from wekawbc._io import atomic_write_text
    from wekawbc._json import json_ready
    from wekawbc.evaluation import evaluate
    from wekawbc.provenance import command_line, library_versions

    document = {
        "data": str(args.data), "test": args.test, "class": args.class_name,
        **run.to_dict(),
        **({"prior_adjustment": {**adjustment.to_dict(),
                                 "evaluation": json_ready(evaluate(adjustment.predictions).to_dict(extras=False))}}
           if adjustment else {}),
        "provenance": {"command": command_line(), "versions": library_versions(), "java": java},
    }
    return atomic_write_text(args.json, json.dumps(document, indent=2, allow_nan=False) + "\n")


def _list_packages(args: argparse.Namespace) -> int:
    from wekawbc.weka.jvm import weka_home
    from wekawbc.weka.packages import installed_packages

    packages = installed_packages()
    if not packages:
        print(f"no Weka packages installed in {weka_home() / 'packages'}")
    for package in packages:
        print(f"{package.name:<28}{package.version:<12}{package.title}")
    return 0


def _install_package(args: argparse.Namespace) -> int:
    from wekawbc.weka.packages import install_package

    package = install_package(args.archive)
    print(f"installed {package.name} {package.version} into {package.path}; use it with --packages")
    return 0
