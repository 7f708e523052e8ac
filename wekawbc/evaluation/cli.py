"""``wekawbc evaluate`` (Weka's evaluation of a predictions CSV) and ``wekawbc parse`` (Weka text → data)."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from wekawbc._io import WekawbcError, atomic_write_text

if TYPE_CHECKING:
    import numpy as np

__all__ = ["register", "check_finite", "check_predictions"]

_SUM_TOLERANCE = 1e-3
_ABOVE_ONE = 1e-9  # float rounding: how far one probability may exceed 1


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``evaluate`` and ``parse`` sub-commands."""
    evaluate = subparsers.add_parser(
        "evaluate", help="Weka's evaluation (summary, per-class details, confusion matrix) of a predictions CSV",
        description="Compute what Weka's Evaluation computes and prints, byte for byte, from predictions "
                    "alone (no JVM), plus metrics for imbalanced data.")
    evaluate.add_argument("predictions", metavar="PREDS.csv",
                          help="predictions: fold,actual,weight,p_<label1>,...,p_<labelK> (fold, weight optional)")
    evaluate.add_argument("--train-counts", metavar="COUNTS.csv",
                          help="fold,<label1>,...,<labelK>: summed training weights per class and fold, for "
                               "Weka's priors (default: a cross-validation's other folds; none for one fold)")
    evaluate.add_argument("--json", metavar="OUT.json",
                          help="write every number (per class, weighted, macro, imbalance extras) as JSON")
    evaluate.add_argument("--out", metavar="DIR",
                          help="write a run folder (Weka's text, predictions, report.json/.md/.html) that "
                               "'wekawbc report' and 'wekawbc compare' read")
    evaluate.add_argument("--complexity", action="store_true",
                          help="also print the K&B information and complexity lines (Weka's -k)")
    evaluate.add_argument("--imbalance", action="store_true",
                          help="also print the imbalance metrics (specificity, G-mean, IBA, balanced accuracy, ...)")
    evaluate.add_argument("--bootstrap", type=int, default=0, metavar="N",
                          help="print and store stratified bootstrap confidence intervals from N resamples")
    evaluate.add_argument("--seed", type=int, default=1, help="bootstrap seed (default: 1)")
    evaluate.add_argument("--tolerance", type=float, default=_SUM_TOLERANCE,
                          help=f"how far a row's probabilities may sum from 1 (default: {_SUM_TOLERANCE})")
    evaluate.set_defaults(handler=_evaluate)

    parse = subparsers.add_parser(
        "parse", help="read Weka's evaluation text (Explorer, command line, pww3) into numbers",
        description="Find every evaluation block in a Weka text output and print it as data.")
    parse.add_argument("file", metavar="FILE", help="Weka output text")
    parse.add_argument("--json", nargs="?", const="-", metavar="OUT.json",
                       help="JSON of every block: to stdout, or to OUT.json when given")
    parse.add_argument("--strict", action="store_true",
                       help="exit 4 when anything was skipped or inconsistent (the warnings)")
    parse.set_defaults(handler=_parse)


def _rows(path: Path, index: np.ndarray) -> str:
    lines = (index + 2).tolist()  # file line numbers: the header is line 1
    return ", ".join(map(str, lines[:10])) + (f" and {len(lines) - 10} more" if len(lines) > 10 else "")


def check_predictions(predictions, path: str | Path, tolerance: float = _SUM_TOLERANCE) -> None:
    """Refuse probabilities Weka would silently mis-score, naming the file and rows.

    NaN or negative probabilities, probabilities above 1 by more than float rounding (1e-9), rows
    that neither sum to 1 within ``tolerance`` nor are all zero (all zero is Weka's "unclassified"),
    and NaN, infinite or negative weights raise :class:`WekawbcError`.
    """
    import numpy as np  # here, not at module level: ``wekawbc --help`` imports this module

    path = Path(path)
    dist, weight = predictions.distribution, predictions.weight
    checks = (
        (np.isnan(dist).any(axis=1), "probabilities are NaN"),
        ((dist < 0).any(axis=1), "probabilities are negative"),
        ((dist > 1 + _ABOVE_ONE).any(axis=1), "probabilities above 1"),
        (~np.isfinite(weight) | (weight < 0), "weights are NaN, infinite or negative"),
    )
    for bad, problem in checks:
        if bad.any():
            raise WekawbcError(f"{path}: {problem} in rows {_rows(path, np.flatnonzero(bad))}")
    sums = dist.sum(axis=1)
    off = (np.abs(sums - 1) > tolerance) & (sums != 0)
    if off.any():
        first = int(np.flatnonzero(off)[0])
        raise WekawbcError(f"{path}: probabilities do not sum to 1 (±{tolerance}) in rows "
                           f"{_rows(path, np.flatnonzero(off))} (row {first + 2} sums to {float(sums[first]):.6g}); "
                           "Weka normalises nothing, so fix the classifier's output")


def check_finite(result, path: str | Path) -> None:
    """Refuse an evaluation in which Weka's double arithmetic reached an infinity.

    With finite, bounded weights that happens only when the positive weights span so many orders of
    magnitude that a difference of sums cancels to 0 (the classified weight, say, when one tiny
    weight sits beside large unclassified ones): Weka would print ``Infinity``; wekawbc says why.
    """
    import dataclasses

    import numpy as np  # here, not at module level: ``wekawbc --help`` imports this module

    for item in dataclasses.fields(result):
        value = getattr(result, item.name)
        if isinstance(value, (float, np.ndarray)) and np.isinf(value).any():
            raise WekawbcError(f"{path}: the weights span too many orders of magnitude for double precision: "
                               f"Weka's arithmetic gives an infinite {item.name.replace('_', ' ')}")


def _evaluate(args: argparse.Namespace) -> int:
    from wekawbc.evaluation import evaluate
    from wekawbc.report.text import bootstrap_text, imbalance_text
    from wekawbc._json import json_ready
    from wekawbc.predictions import read_predictions
    from wekawbc.provenance import command_line, library_versions

    predictions = read_predictions(args.predictions, args.train_counts)
    check_predictions(predictions, args.predictions, args.tolerance)
    result = evaluate(predictions)
    check_finite(result, args.predictions)
    print(result.weka_text(complexity=args.complexity), end="")
    if args.imbalance:
        metrics = result.imbalance_metrics()
        infinite = [name for name, value in metrics.items() if isinstance(value, float) and math.isinf(value)]
        if infinite:
            raise WekawbcError(f"{args.predictions}: the weights span too many orders of magnitude for double "
                               f"precision: the {infinite[0].replace('_', ' ')} is infinite")
        print("\n" + imbalance_text(metrics, result.labels), end="")
    intervals = result.bootstrap(args.bootstrap, seed=args.seed) if args.bootstrap else None
    if intervals is not None:
        print("\n" + bootstrap_text(intervals), end="")
    if args.json:
        document = {
            "evaluation": result.to_dict(),
            "priors": ("train counts file" if args.train_counts else
                       "other folds" if result.has_priors else "none (single fold without counts)"),
            "input": {"predictions": str(args.predictions), "train_counts": args.train_counts},
            "parameters": {"complexity": args.complexity, "bootstrap": args.bootstrap, "seed": args.seed,
                           "tolerance": args.tolerance},
            "versions": library_versions(),
            "command": command_line(),
        }
        if intervals is not None:
            document["bootstrap"] = json_ready(intervals)
        atomic_write_text(args.json, json.dumps(document, indent=2, allow_nan=False) + "\n")
    if args.out:
        from wekawbc.report.runfolder import write_run_folder

        settings = {"producer": "wekawbc evaluate", "predictions": str(args.predictions),
                    "train_counts": args.train_counts, "complexity": args.complexity, "seed": args.seed}
        # The run folder's text is the engine's Weka block (report.json says so: weka_text_source).
        write_run_folder(args.out, result, settings=settings, seed=args.seed, dataset=args.predictions,
                         title=Path(args.out).name, n_bootstrap=args.bootstrap or 1000)
    return 0


def _describe(number: int, block: dict) -> str:
    summary = block["summary"] or {}
    parts = [f"#{number} {block['title'] or '(untitled)'} (line {block['line']})"]
    if block["confusion_matrix"]:
        parts.append(f"{len(block['confusion_matrix']['labels'])} classes")
    if block.get("class_type") == "numeric":
        parts.append("numeric class")
    for key, name in (("correct_pct", "correct %"), ("kappa", "kappa"), ("correlation_coefficient", "correlation"),
                      ("total_instances", "instances")):
        if summary.get(key) is not None:
            parts.append(f"{name} {summary[key]:g}")
    if block["weighted_avg"] and block["weighted_avg"].get("roc_area") is not None:
        parts.append(f"weighted ROC {block['weighted_avg']['roc_area']:g}")
    if block["predictions"]:
        parts.append(f"{len(block['predictions'])} predictions")
    return ", ".join(parts)


def _parse(args: argparse.Namespace) -> int:
    from wekawbc.evaluation.parse import parse_file

    parsed = parse_file(args.file)
    if args.json is None:
        for number, block in enumerate(parsed["evaluations"], start=1):
            print(_describe(number, block))
        for number, experiment in enumerate(parsed["experiments"], start=1):
            print(f"Experimenter #{number} (line {experiment['line']}): {experiment['measure']}, "
                  f"{len(experiment['rows'])} data sets x {len(experiment['rows'][0]['means']) if experiment['rows'] else 0}"
                  f" result sets, (v/ /*) {experiment['counts']}")
    elif args.json == "-":
        print(json.dumps(parsed, indent=2, allow_nan=False))
    else:
        atomic_write_text(args.json, json.dumps(parsed, indent=2, allow_nan=False) + "\n")
    for warning in parsed["warnings"]:
        where = f"line {warning['line']}: " if warning["line"] else ""
        print(f"wekawbc: warning: {args.file}: {where}{warning['message']}", file=sys.stderr)
    return 4 if args.strict and parsed["warnings"] else 0
