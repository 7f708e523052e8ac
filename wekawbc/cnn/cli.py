"""``wekawbc cnn train | predict | evaluate``: the CNN from the command line.

Torch is imported inside the handlers only, so ``wekawbc --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from wekawbc._io import WekawbcError
from wekawbc.cells.options import add_dataset_options, index_format

__all__ = ["register"]

def _class_counts(text: str) -> dict[str, float]:
    from wekawbc.protocol.cli import class_counts_argument

    return class_counts_argument(text)


def _counts_list(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected counts like 0,5,10,20, got {text!r}") from None
    if not values or min(values) < 0:
        raise argparse.ArgumentTypeError(f"expected non-negative counts, got {text!r}")
    return values


def _add_data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dataset", metavar="DATASET_DIR", nargs="+",
                        help="a data set folder (labels.csv, or one sub-folder per class); several are pooled "
                             "(e.g. two labs' data to train on)")
    parser.add_argument("--task", choices=("five", "binary"), default="five",
                        help="five leukocyte types, or granulocyte/agranulocyte (default: five)")
    parser.add_argument("--class-counts", type=_class_counts, metavar="NAME=N,...",
                        help="subsample to this class mix (five-type names; counts, or proportions summing to 1; "
                             "'paper' = the paper's Table 2: neutrophil=556,lymphocyte=228,eosinophil=153,"
                             "monocyte=38,basophil=25); the subset keeps the data set's record order")
    parser.add_argument("--subsample-seed", type=int, default=1, metavar="S",
                        help="seed of the --class-counts draw (default: 1)")
    parser.add_argument("--mode", choices=("auto", "crop", "field"), default="auto",
                        help="crop: each image is one cell (its centre); field: every leukocyte the detector finds "
                             "is an instance, and cross-validation keeps a field's cells in one fold; auto: field "
                             "when any image is at least 480 px on its longer side (default: auto)")
    parser.add_argument("--one-cell-per-image", action="store_true",
                        help="fields: only the largest, most central leukocyte of each")
    add_dataset_options(parser)


def _add_adapt_bn(parser: argparse.ArgumentParser, images: str) -> None:
    parser.add_argument("--adapt-bn", nargs="?", const="all", choices=("all", "balanced"), metavar="{all,balanced}",
                        help=f"re-estimate the network's batch-norm statistics on {images} before predicting "
                             "(AdaBN: unsupervised adaptation to another lab, no labels used): on all of them "
                             "(the default of the flag), or 'balanced': on a resample at an equal class mix by the "
                             "model's own predictions (2 rounds); see docs/cross_lab.md")


def _add_adapt_priors(parser: argparse.ArgumentParser, images: str) -> None:
    parser.add_argument("--adapt-priors", action="store_true",
                        help=f"re-weight the class probabilities of {images} to their class mix, estimated without "
                             "labels (EM of Saerens et al. 2002; the network's own priors: equal with a balanced "
                             "sampler or loss, else its training counts); see docs/cross_lab.md")


def _trained_priors(model) -> list[float]:
    """The class priors the network's outputs carry: equal when trained with a balanced sampler or loss."""
    if model.settings.balance in ("sampler", "weights"):
        return [1.0] * len(model.labels)
    return [float(c) for c in model.train_counts]


def _adjusted(predictions, model, where: str):
    """``--adapt-priors``: ``predictions`` re-weighted to the estimated class mix (said on stderr)."""
    from wekawbc.predictions import adjust_priors

    adjustment = adjust_priors(predictions, _trained_priors(model), where=where)
    print(f"wekawbc: {adjustment.describe()}", file=sys.stderr)
    return adjustment


def _add_training_options(parser: argparse.ArgumentParser) -> None:
    from wekawbc.cnn.settings import AUGMENTATIONS, BALANCES, FRAMINGS, NORMS, STAINS, TrainSettings

    default = TrainSettings()
    group = parser.add_argument_group("training (defaults: the settings measured in docs/cnn.md)")
    group.add_argument("--epochs", type=int, metavar="N",
                       help=f"most epochs; early stopping may end sooner (default: {default.epochs})")
    group.add_argument("--image-size", type=int, metavar="PX",
                       help=f"network input side in pixels (default: {default.image_size})")
    group.add_argument("--balance", choices=BALANCES,
                       help="imbalance strategy: none, class-weighted loss, or class-balanced sampler "
                            f"(default: {default.balance})")
    group.add_argument("--framing", choices=FRAMINGS,
                       help="network input: the segmented cell centred and scaled by its size ('cell'; "
                            "'cell-masked': the same with everything outside the cell blanked), or the "
                            f"centre of the crop ('centre') (default: {default.framing})")
    group.add_argument("--stain", choices=STAINS,
                       help=f"colour normalisation before framing (default: {default.stain})")
    group.add_argument("--augment", choices=tuple(AUGMENTATIONS),
                       help="augmentation preset: 'basic' (quarter turns, mirroring, brightness/contrast/saturation/"
                            "channel gain) or 'cross-lab' (also stain, hue, blur and zoom jitter) (default: "
                            f"{next(k for k, v in AUGMENTATIONS.items() if v == default.augmentation)})")
    group.add_argument("--norm", choices=NORMS,
                       help=f"normalisation layer of the network (default: {default.norm})")
    group.add_argument("--threads", type=int, metavar="T",
                       help="torch CPU threads (default: torch's, at most the CPUs this process may use; results "
                            "repeat exactly for the same seed and thread count)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``cnn`` with its ``train``, ``predict``, ``evaluate``, ``adapt`` and ``subsample`` sub-commands."""
    cnn = subparsers.add_parser("cnn", help="train, apply and evaluate a CNN on cell crops (PyTorch, CPU)",
                                description="A small CNN trained from scratch on cell crops, scored with "
                                            "Weka's folds and Weka's evaluation.")
    actions = cnn.add_subparsers(dest="action", metavar="ACTION", required=True)

    train = actions.add_parser("train", help="train a model on a data set and save it as one file")
    _add_data_options(train)
    train.add_argument("--out", required=True, metavar="MODEL", help="model file to write (e.g. cnn.pt)")
    train.add_argument("--seed", type=int, default=1, metavar="S", help="training seed (default: 1)")
    _add_training_options(train)
    train.set_defaults(handler=_checked(_train))

    predict = actions.add_parser("predict", help="class distributions of a data set's images")
    predict.add_argument("model", metavar="MODEL", nargs="?",
                         help="a model file written by 'wekawbc cnn train' (default: the model shipped with "
                              "wekawbc, trained on pbc, jtsc and bccd: see docs/cross_lab.md)")
    predict.add_argument("dataset", metavar="DATASET_DIR", help="a data set folder, a folder of images or an image")
    predict.add_argument("-o", "--output", required=True, metavar="PREDS.csv",
                         help="predictions CSV: id,fold,actual,weight,p_<label>... ('actual' empty when unlabelled)")
    predict.add_argument("--mode", choices=("auto", "crop", "field"), default="auto",
                         help="crop: classify each image as one cell; field: classify every leukocyte the detector "
                              "finds (one row each: image, cell, box, confidence); auto: field when any image is at "
                              "least 480 px on its longer side (default: auto)")
    predict.add_argument("--one-cell-per-image", action="store_true",
                         help="fields: only the largest, most central leukocyte")
    predict.add_argument("--threads", type=int, metavar="T", help="torch CPU threads")
    predict.add_argument("--quiet", action="store_true", help="no progress bars")
    _add_adapt_bn(predict, "the images predicted (at least two)")
    _add_adapt_priors(predict, "the images predicted (crops; written to PREDS.priors.json)")
    add_dataset_options(predict)
    predict.set_defaults(handler=_checked(_predict))

    adapt = actions.add_parser(
        "adapt", help="fine-tune a model on K labelled cells per class of a new lab; the curve over K",
        description="For each K, draw K images of every class of NEW_DATA (seeded, nested draws, identical files "
                    "kept together), fine-tune MODEL on them and score it on the images not drawn for the largest K "
                    "(the same test set for every K; K = 0 is the model unchanged).")
    adapt.add_argument("model", metavar="MODEL", help="a model file written by 'wekawbc cnn train'")
    adapt.add_argument("dataset", metavar="NEW_DATA", help="the new lab's labelled data set folder")
    adapt.add_argument("--per-class", type=_counts_list, metavar="K[,K...]",
                       help="labelled images per class to fine-tune on (default: 0,5,10,20)")
    adapt.add_argument("--pseudo-labels", metavar="PREDS.csv",
                       help="label-free instead: fine-tune on NEW_DATA's images with another classifier's confident "
                            "predictions (a predictions CSV with an 'id' column of image paths) as classes; writes "
                            "adapt.json, predictions.csv (scored where NEW_DATA has labels) and model_pseudo.pt")
    adapt.add_argument("--confidence", type=float, metavar="P",
                       help="with --pseudo-labels: least probability of a pseudo-label (default: 0.6)")
    adapt.add_argument("--pseudo-per-class", type=int, metavar="N",
                       help="with --pseudo-labels: at most N images per pseudo-class, the most confident (default: 40)")
    _add_adapt_bn(adapt, "NEW_DATA's images, before fine-tuning on pseudo-labels")
    adapt.add_argument("--small-classes", choices=("error", "test"), default="error",
                       help="a class with K images or fewer: an error (default), or kept for testing only")
    adapt.add_argument("--out", required=True, metavar="DIR",
                       help="write adapt.json, predictions_k<K>.csv and the fine-tuned model_k<K>.pt here")
    adapt.add_argument("--seed", type=int, default=1, metavar="S", help="seed of the draw and fine-tuning (default: 1)")
    adapt.add_argument("--epochs", type=int, metavar="N",
                       help="fine-tuning epochs (default: 30; 10 with --pseudo-labels)")
    adapt.add_argument("--bootstrap", type=int, default=1000, metavar="N",
                       help="bootstrap resamples for the intervals (default: 1000; 0 for none)")
    adapt.add_argument("--threads", type=int, metavar="T", help="torch CPU threads")
    adapt.add_argument("--quiet", action="store_true", help="no progress bars")
    add_dataset_options(adapt)
    adapt.set_defaults(handler=_checked(_adapt))

    from wekawbc.protocol.cli import add_subsample_arguments

    add_subsample_arguments(actions.add_parser(
        "subsample", help="the same as 'wekawbc subsample' (its earlier name)",
        description="The same as 'wekawbc subsample': write the labels.csv of a seeded class-mix subset."))

    evaluate = actions.add_parser("evaluate", help="Weka-style cross-validation or split of the CNN",
                                  description="Train and test the CNN on Weka's folds (or split) and print Weka's "
                                              "evaluation text.")
    _add_data_options(evaluate)
    mode = evaluate.add_mutually_exclusive_group(required=True)
    mode.add_argument("--folds", type=int, metavar="N", help="Weka's stratified N-fold cross-validation")
    mode.add_argument("--split", type=float, metavar="PCT", help="Weka's percentage split: PCT %% train")
    mode.add_argument("--test", metavar="TEST_DIR", action="append",
                      help="train on DATASET_DIR, test on this other data set (another lab: the cross-lab mode); "
                           "repeat for several (one network, each scored; --out DIR/<test folder name>/)")
    evaluate.add_argument("--save-model", metavar="MODEL", help="with --test: also write the trained network")
    _add_adapt_bn(evaluate, "each --test set (the saved model keeps the training statistics)")
    _add_adapt_priors(evaluate, "each --test set (recorded in its run folder)")
    evaluate.add_argument("--preserve-order", action="store_true", help="with --split: do not randomize first")
    evaluate.add_argument("--seed", type=int, default=1, metavar="S",
                          help="seed of the folds or split, as Weka's -s (default: 1)")
    evaluate.add_argument("--train-seed", type=int, default=1, metavar="S", help="network training seed (default: 1)")
    evaluate.add_argument("--out", metavar="DIR",
                          help="write evaluation.json, predictions.csv and predictions.train_counts.csv here")
    evaluate.add_argument("--bootstrap", type=int, default=1000, metavar="N",
                          help="bootstrap resamples for the intervals (default: 1000; 0 for none)")
    _add_training_options(evaluate)
    evaluate.set_defaults(handler=_checked(_evaluate))


def _checked(handler):
    """``handler`` after a first check of its inputs: a typo in a path or a label map is reported at
    once, before torch loads (seconds)."""
    def run(args: argparse.Namespace) -> int:
        sources = args.dataset if isinstance(args.dataset, list) else [args.dataset]
        for path in [*sources, *(getattr(args, "test", None) or [])]:
            if not Path(path).exists():
                raise WekawbcError(f"{path}: no such file or folder")
        model = getattr(args, "model", None)
        if model is not None and not Path(model).is_file():
            raise WekawbcError(f"{model}: model file not found")
        index_format(args)  # a bad --label-map
        return handler(args)

    return run


def _settings(args: argparse.Namespace, seed: int):
    from dataclasses import replace

    from wekawbc.cnn.settings import AUGMENTATIONS, TrainSettings

    changes = {"epochs": args.epochs, "image_size": args.image_size, "balance": args.balance,
               "framing": args.framing, "stain": args.stain, "norm": args.norm, "threads": args.threads, "seed": seed,
               "augmentation": AUGMENTATIONS.get(args.augment)}
    try:
        return replace(TrainSettings(), **{name: value for name, value in changes.items() if value is not None})
    except ValueError as error:
        raise WekawbcError(str(error)) from None


def _load(args: argparse.Namespace, settings):
    """The crops of the data set, and the image of each crop when they come from fields (else None)."""
    from wekawbc.cnn.images import load_crops

    from wekawbc.cnn.images import pool_crops

    sources = list(args.dataset)
    if any(_is_field_data(source, args.mode, args.allow_outside, index_format(args)) for source in sources):
        from wekawbc.cnn.fields import load_field_crops

        if len(sources) > 1:
            raise WekawbcError("smear fields take one data set at a time; give several crop data sets, or one of fields")
        if args.class_counts:
            raise WekawbcError("--class-counts applies to single-cell crops, not to smear fields")
        fields = load_field_crops(sources[0], task=args.task, image_size=settings.image_size,
                                  crop_fraction=settings.crop_fraction, one_per_image=args.one_cell_per_image,
                                  progress=not args.quiet, allow_outside=args.allow_outside,
                                  index=index_format(args))
        crops = fields.crop_set()
        _report_skipped(crops.skipped)
        if not len(crops):
            raise WekawbcError(f"{sources[0]}: no leukocyte found in any field")
        return crops, fields.groups
    if args.class_counts and len(sources) > 1:
        raise WekawbcError("--class-counts takes one data set; give several without it")
    crops = pool_crops([load_crops(source, task=args.task, **settings.input_options(), class_counts=args.class_counts,
                                   subsample_seed=args.subsample_seed, progress=not args.quiet,
                                   allow_outside=args.allow_outside, index=index_format(args))
                        for source in sources])
    _report_skipped(crops.skipped)
    return crops, None


def _report_skipped(skipped: list[str]) -> None:
    if skipped:
        print(f"wekawbc: {len(skipped)} image(s) skipped:", file=sys.stderr)
        for line in skipped:
            print(f"  {line}", file=sys.stderr)


def _exit_code(skipped: list[str]) -> int:
    """0, or 3 (as ``extract``) when some images were skipped: the outputs hold the rest."""
    from wekawbc.features.cli import EXIT_SOME_FAILED

    return EXIT_SOME_FAILED if skipped else 0


def _labelled(crops):
    """The labelled crops only (an unlabelled image cannot train or be scored)."""
    keep = crops.y >= 0
    if not keep.all():
        print(f"wekawbc: {int((~keep).sum())} unlabelled image(s) left out", file=sys.stderr)
    return crops.images[keep], crops.y[keep], tuple(i for i, k in zip(crops.ids, keep) if k)


def _provenance(args: argparse.Namespace, crops, settings) -> dict:
    from wekawbc.provenance import command_line, library_versions

    return {"command": command_line(), "dataset": " ".join(map(str, args.dataset)), "task": args.task,
            "class_counts_requested": args.class_counts, "subsample_seed": args.subsample_seed,
            "class_counts": crops.class_counts(), "skipped": crops.skipped, "unsegmented": crops.unsegmented,
            "settings": settings.to_dict(),
            "versions": library_versions()}


def _train(args: argparse.Namespace) -> int:
    from wekawbc.cnn.model_file import save_model
    from wekawbc.cnn.training import train_cnn

    settings = _settings(args, args.seed)
    crops, _ = _load(args, settings)
    images, y, ids = _labelled(crops)
    model = train_cnn(images, y, crops.labels, settings, ids=ids, progress=not args.quiet)
    provenance = _provenance(args, crops, settings)
    path = save_model(model, args.out, task=args.task, extra={k: v for k, v in provenance.items() if k != "versions"})
    counts = ", ".join(f"{k} {v}" for k, v in crops.class_counts().items())
    print(f"trained on {len(y)} images ({counts}); {model.stop_reason}")
    print(f"model written to {path}")
    return _exit_code(crops.skipped)


def _predict(args: argparse.Namespace) -> int:
    import numpy as np

    from wekawbc.cells.dataset import class_values
    from wekawbc.cnn.images import load_crops
    from wekawbc.cnn.model_file import default_model_path, load_model
    from wekawbc.cnn.training import predict_proba
    from wekawbc.predictions import Predictions, write_predictions_csv

    model_path = args.model or default_model_path()
    model, payload = load_model(model_path)
    if args.model is None:
        print(f"wekawbc: using the shipped model {model_path} ({payload.get('extra', {}).get('summary', '')})",
              file=sys.stderr)
    task = payload.get("task", "five")
    if tuple(model.labels) != class_values(task):
        raise WekawbcError(f"{model_path}: classes {list(model.labels)} are not those of the '{task}' task")
    pre = model.preprocessing
    if _is_field_data(args.dataset, args.mode, args.allow_outside, index_format(args)):
        return _predict_fields(args, model, task)
    crops = load_crops(args.dataset, task=task, **pre.input_options(), progress=not args.quiet,
                       allow_outside=args.allow_outside, index=index_format(args))
    _report_skipped(crops.skipped)
    if args.adapt_bn:
        model = _adapted(model, crops.images, args)
        print(f"wekawbc: batch-norm statistics re-estimated on the {len(crops)} image(s) (--adapt-bn {args.adapt_bn})",
              file=sys.stderr)
    distribution = predict_proba(model, crops.images, threads=args.threads)
    if not np.isfinite(distribution).all():
        raise WekawbcError(f"{args.model}: the model gives non-finite probabilities (NaN or infinite); "
                           "it is damaged or was trained on diverging data")
    predictions = Predictions(model.labels, crops.y, distribution, ids=crops.ids)
    if args.adapt_priors:
        predictions = _write_adjusted(predictions, model, args)
    path = write_predictions_csv(predictions, args.output)
    print(f"{len(crops)} image(s) predicted; predictions written to {path}")
    return _exit_code(crops.skipped)


def _write_adjusted(predictions, model, args: argparse.Namespace):
    """``cnn predict --adapt-priors``: the adjusted predictions; the estimate in PREDS.priors.json."""
    import json

    from wekawbc._io import atomic_write_text
    from wekawbc.provenance import command_line

    adjustment = _adjusted(predictions, model, str(args.dataset))
    output = Path(args.output)
    document = {**adjustment.to_dict(), "model": str(args.model), "dataset": str(args.dataset),
                "adapt_bn": args.adapt_bn, "command": command_line()}
    atomic_write_text(output.with_name(output.stem + ".priors.json"), json.dumps(document, indent=2) + "\n")
    return adjustment.predictions


def _adapted(model, images, args: argparse.Namespace):
    """``--adapt-bn``: the model with the batch-norm statistics of ``images`` (AdaBN)."""
    from wekawbc.cnn.evaluate import BALANCED_ROUNDS
    from wekawbc.cnn.training import adapt_batch_norm

    rounds = BALANCED_ROUNDS if args.adapt_bn == "balanced" else 0
    return adapt_batch_norm(model, images, threads=args.threads, balanced_rounds=rounds)


def _is_field_data(source: str, mode: str, allow_outside: bool = False, index=None) -> bool:
    """``mode``, with ``auto`` resolved as ``extract`` does: fields when an image reaches FIELD_MIN_SIDE."""
    if mode != "auto":
        return mode == "field"
    from PIL import Image

    from wekawbc.cells.dataset import load_dataset
    from wekawbc.features.extract import FIELD_MIN_SIDE

    for record in load_dataset(source, allow_outside=allow_outside, index=index):
        try:
            with Image.open(record.image) as image:
                if max(image.size) >= FIELD_MIN_SIDE:
                    return True
        except (OSError, Image.DecompressionBombError):
            continue  # reported when the images are read
    return False


def _predict_fields(args: argparse.Namespace, model, task: str) -> int:
    """One prediction per leukocyte found in each field; exit 3 when a field has none (as ``extract``)."""
    import numpy as np

    from wekawbc.cnn.fields import load_field_crops, write_field_predictions_csv
    from wekawbc.cnn.training import predict_proba
    from wekawbc.features.cli import EXIT_SOME_FAILED

    pre = model.preprocessing
    crops = load_field_crops(args.dataset, task=task, image_size=pre.image_size, crop_fraction=pre.crop_fraction,
                             one_per_image=args.one_cell_per_image, progress=not args.quiet,
                             allow_outside=args.allow_outside, index=index_format(args))
    _report_skipped(crops.skipped)
    if args.adapt_bn and len(crops.cells) >= 2:
        model = _adapted(model, crops.images, args)
        print(f"wekawbc: batch-norm statistics re-estimated on the {len(crops.cells)} leukocyte(s) "
              f"(--adapt-bn {args.adapt_bn})", file=sys.stderr)
    distribution = (predict_proba(model, crops.images, threads=args.threads) if len(crops.cells)
                    else np.zeros((0, len(crops.labels))))
    if args.adapt_priors and len(crops.cells):
        from wekawbc.predictions import Predictions

        unlabelled = Predictions(model.labels, np.full(len(crops.cells), -1), distribution)
        distribution = _write_adjusted(unlabelled, model, args).distribution
    path = write_field_predictions_csv(args.output, crops, distribution)
    for image, _ in crops.empty:
        print(f"wekawbc: no cell: {image}: no leukocyte found", file=sys.stderr)
    fields = len({cell.image for cell in crops.cells}) + len(crops.empty)
    print(f"{fields} field(s): {len(crops.cells)} leukocyte(s) predicted, {len(crops.empty)} field(s) without a "
          f"leukocyte, {len(crops.skipped)} skipped; predictions written to {path}")
    return EXIT_SOME_FAILED if crops.empty or crops.skipped else 0


def _adapt(args: argparse.Namespace) -> int:
    import json

    from wekawbc._io import atomic_write_text
    from wekawbc._json import json_ready
    from wekawbc.cnn.adapt import ADAPT_EPOCHS, adapt_curve
    from wekawbc.cnn.images import load_crops
    from wekawbc.cnn.model_file import load_model, save_model
    from wekawbc.evaluation import evaluate
    from wekawbc.predictions import write_predictions_csv
    from wekawbc.provenance import command_line, library_versions

    model, payload = load_model(args.model)
    task = payload.get("task", "five")
    crops = load_crops(args.dataset, task=task, **model.preprocessing.input_options(), progress=not args.quiet,
                       allow_outside=args.allow_outside, index=index_format(args))
    _report_skipped(crops.skipped)
    if args.pseudo_labels:
        return _adapt_pseudo(args, model, payload, crops)
    if args.confidence is not None or args.pseudo_per_class is not None or args.adapt_bn:
        raise WekawbcError("--confidence, --pseudo-per-class and --adapt-bn apply to --pseudo-labels only")
    args.per_class = args.per_class or (0, 5, 10, 20)
    images, y, ids = _labelled(crops)
    points, notes = adapt_curve(model, images, y, ids, args.per_class, seed=args.seed,
                                small_classes=args.small_classes, epochs=args.epochs or ADAPT_EPOCHS,
                                threads=args.threads, progress=not args.quiet)
    for note in notes:
        print(f"wekawbc: note: {note}", file=sys.stderr)
    folder = Path(args.out)
    curve = []
    print(f"{'K':>4} {'trained on':>10} {'tested on':>9}  accuracy               macro-F1")
    for point in points:
        result = evaluate(point.predictions)
        intervals = result.bootstrap(args.bootstrap, seed=args.seed) if args.bootstrap > 0 else None
        write_predictions_csv(point.predictions, folder / f"predictions_k{point.per_class}.csv")
        if point.per_class > 0:
            save_model(point.model, folder / f"model_k{point.per_class}.pt", task=task,
                       extra={"adapted_from": str(args.model), "adapt_dataset": str(args.dataset),
                              "per_class": point.per_class, "seed": args.seed, "train_ids": list(point.train_ids),
                              "command": command_line(), "base_extra": payload.get("extra", {})})
        entry = {"per_class": point.per_class, "n_train": len(point.train_ids),
                 "n_test": point.predictions.n_instances, "accuracy": result.pct_correct / 100.0,
                 "stop_reason": point.stop_reason, "evaluation": result.to_dict(), "bootstrap": intervals,
                 "train_ids": list(point.train_ids)}
        curve.append(entry)
        print(f"{point.per_class:>4} {len(point.train_ids):>10} {point.predictions.n_instances:>9}  "
              + "  ".join(_interval_cell(intervals, name, result) for name in ("accuracy", "macro_f1")))
    document = {"model": str(args.model), "dataset": str(args.dataset), "seed": args.seed,
                "per_class": list(args.per_class), "small_classes": args.small_classes,
                "epochs": args.epochs or ADAPT_EPOCHS, "notes": notes, "skipped": crops.skipped,
                "unsegmented": crops.unsegmented, "class_counts": crops.class_counts(), "curve": curve,
                "command": command_line(), "versions": library_versions()}
    atomic_write_text(folder / "adapt.json", json.dumps(json_ready(document), indent=2, allow_nan=False) + "\n")
    print(f"written: {folder / 'adapt.json'}, predictions_k<K>.csv and model_k<K>.pt (K > 0)")
    return 0


def _adapt_pseudo(args: argparse.Namespace, model, payload: dict, crops) -> int:
    """``cnn adapt --pseudo-labels``: fine-tune on another classifier's confident predictions (no label read)."""
    import json

    import numpy as np

    from wekawbc._io import atomic_write_text
    from wekawbc._json import json_ready
    from wekawbc.cnn.adapt import (PSEUDO_EPOCHS, PSEUDO_PER_CLASS, PSEUDO_THRESHOLD, fine_tune_on_pseudo_labels,
                                   match_pseudo_labels)
    from wekawbc.cnn.model_file import save_model
    from wekawbc.cnn.training import predict_proba
    from wekawbc.evaluation import evaluate
    from wekawbc.predictions import Predictions, read_predictions_csv, write_predictions_csv
    from wekawbc.provenance import command_line, library_versions

    if args.per_class is not None:
        raise WekawbcError("--per-class and --pseudo-labels exclude each other (labelled or label-free)")
    confidence = PSEUDO_THRESHOLD if args.confidence is None else args.confidence
    cap = PSEUDO_PER_CLASS if args.pseudo_per_class is None else args.pseudo_per_class
    if not 0.0 <= confidence <= 1.0 or cap < 1:
        raise WekawbcError("--confidence takes a probability (0 to 1) and --pseudo-per-class a positive count")
    teacher = read_predictions_csv(args.pseudo_labels)
    positions, distribution = match_pseudo_labels(teacher, crops.ids, model.labels, str(args.pseudo_labels))
    if args.adapt_bn:
        model = _adapted(model, crops.images, args)
    epochs = args.epochs or PSEUDO_EPOCHS
    tuned, chosen = fine_tune_on_pseudo_labels(model, crops.images[positions], distribution, threshold=confidence,
                                               per_class=cap, epochs=epochs, seed=args.seed, threads=args.threads,
                                               progress=not args.quiet)
    trained = [crops.ids[i] for i in positions[chosen]]
    predictions = Predictions(model.labels, crops.y, predict_proba(tuned, crops.images, threads=args.threads),
                              train_counts=np.asarray(tuned.train_counts, dtype=np.float64)[None, :], ids=crops.ids)
    folder = Path(args.out)
    write_predictions_csv(predictions, folder / "predictions.csv")
    save_model(tuned, folder / "model_pseudo.pt", task=payload.get("task", "five"),
               extra={"adapted_from": str(args.model), "adapt_dataset": str(args.dataset),
                      "pseudo_labels": str(args.pseudo_labels), "confidence": confidence, "pseudo_per_class": cap,
                      "adapt_bn": args.adapt_bn, "seed": args.seed, "train_ids": trained, "command": command_line(),
                      "base_extra": payload.get("extra", {})})
    document = {"model": str(args.model), "dataset": str(args.dataset), "pseudo_labels": str(args.pseudo_labels),
                "confidence": confidence, "pseudo_per_class": cap, "adapt_bn": args.adapt_bn, "epochs": epochs,
                "seed": args.seed, "images": len(crops), "matched": int(positions.size),
                "pseudo_class_counts": dict(zip(model.labels, tuned.train_counts)), "train_ids": trained,
                "skipped": crops.skipped, "unsegmented": crops.unsegmented, "command": command_line(),
                "versions": library_versions()}
    print(f"{len(trained)} of {positions.size} matched image(s) fine-tuned on (confidence >= {confidence}, at most "
          f"{cap} per class); {len(crops)} predicted")
    labelled = crops.y >= 0
    if labelled.any():
        result = evaluate(predictions.select(labelled))
        intervals = result.bootstrap(args.bootstrap, seed=args.seed) if args.bootstrap > 0 else None
        document.update(evaluation=result.to_dict(), bootstrap=intervals)
        print(f"on the {int(labelled.sum())} labelled image(s): accuracy "
              + ", macro-F1 ".join(_interval_cell(intervals, name, result) for name in ("accuracy", "macro_f1")))
    atomic_write_text(folder / "adapt.json", json.dumps(json_ready(document), indent=2, allow_nan=False) + "\n")
    print(f"written: {folder / 'adapt.json'}, predictions.csv and model_pseudo.pt")
    return 0


def _interval_cell(intervals: dict | None, name: str, result) -> str:
    if intervals is None:
        value = result.pct_correct / 100.0 if name == "accuracy" else result.macro["f_measure"]
        return f"{value:.4f}{'':17}"
    entry = intervals["metrics"][name]
    return f"{entry['estimate']:.4f} [{entry['low']:.4f}, {entry['high']:.4f}]"


def _evaluate(args: argparse.Namespace) -> int:
    from wekawbc.cnn.evaluate import cross_validate_cnn, holdout_cnn

    if args.preserve_order and args.split is None:
        raise WekawbcError("--preserve-order applies to --split only")
    if args.adapt_bn and args.test is None:
        raise WekawbcError("--adapt-bn applies to --test only (another lab's images)")
    if args.adapt_priors and args.test is None:
        raise WekawbcError("--adapt-priors applies to --test only (another lab's images)")
    settings = _settings(args, args.train_seed)
    crops, groups = _load(args, settings)
    images, y, ids = _labelled(crops)
    if groups is not None:
        groups = [group for group, label in zip(groups, crops.y) if label >= 0]
    common = dict(settings=settings, progress=not args.quiet)
    if args.test is not None:
        return _evaluate_external(args, settings, crops, images, y, ids)
    if args.save_model:
        raise WekawbcError("--save-model applies to --test only")
    if args.folds is not None:
        run = cross_validate_cnn(images, y, crops.labels, ids, n_folds=args.folds, seed=args.seed, groups=groups,
                                 **common)
        title, mode = "=== Stratified cross-validation ===", f"{args.folds}-fold cross-validation"
    else:
        run = holdout_cnn(images, y, crops.labels, ids, percentage=args.split, seed=args.seed,
                          preserve_order=args.preserve_order, **common)
        title, mode = "=== Evaluation on test split ===", f"split {args.split!r}% train, remainder test"
    _report_evaluation(args, run, crops, y, settings, title, mode, None, Path(args.out) if args.out else None)
    return _exit_code(crops.skipped)


def _evaluate_external(args: argparse.Namespace, settings, crops, images, y, ids) -> int:
    """``--test``: one network trained on DATASET_DIR, scored on each test set (DIR/<test name>/ when several)."""
    from dataclasses import replace

    from wekawbc.cnn.evaluate import external_test_cnn
    from wekawbc.cnn.images import load_crops
    from wekawbc.cnn.model_file import save_model
    from wekawbc.paths import inside, slug

    tests = []
    for source in args.test:
        test_crops = load_crops(source, task=args.task, **settings.input_options(), progress=not args.quiet,
                                allow_outside=args.allow_outside, index=index_format(args))
        _report_skipped(test_crops.skipped)
        tests.append(test_crops)
    model, runs = external_test_cnn(images, y, crops.labels, ids, [_labelled(t) for t in tests], settings=settings,
                                    progress=not args.quiet, adapt_bn=args.adapt_bn)
    if args.save_model:
        extra = {k: v for k, v in _provenance(args, crops, settings).items() if k != "versions"}
        print(f"model written to {save_model(model, args.save_model, task=args.task, extra=extra)}")
    for source, test_crops, run in zip(args.test, tests, runs):
        folder = None
        if args.out:
            folder = (inside(args.out, slug(Path(source).resolve().name, "test set")) if len(args.test) > 1
                      else Path(args.out))
        test = {"dataset": str(source), "class_counts": test_crops.class_counts(), "skipped": test_crops.skipped,
                "unsegmented": test_crops.unsegmented, "adapt_bn": args.adapt_bn, "prior_adjustment": None}
        if args.adapt_priors:
            adjustment = _adjusted(run.predictions, model, str(source))
            run = replace(run, predictions=adjustment.predictions)
            test["prior_adjustment"] = adjustment.to_dict()
        _report_evaluation(args, run, crops, y, settings, "=== Evaluation on test set ===",
                           f"user supplied test set: {source}", test, folder)
    return _exit_code([*crops.skipped, *(line for t in tests for line in t.skipped)])


def _report_evaluation(args: argparse.Namespace, run, crops, y, settings, title: str, mode: str,
                       test: dict | None, folder: Path | None) -> None:
    """Print Weka's text and the bootstrap intervals of one evaluation; write its files to ``folder``."""
    from wekawbc.evaluation import evaluate

    for note in run.notes:
        print(f"wekawbc: note: {note}", file=sys.stderr)
    result = evaluate(run.predictions)
    print(_run_information(crops, y, settings, mode, args), end="")
    print(f"\n{title}\n{result.weka_text()}", end="")
    intervals = result.bootstrap(args.bootstrap, seed=args.seed) if args.bootstrap > 0 else None
    if intervals is not None:
        from wekawbc.report.text import bootstrap_text

        print("\n" + bootstrap_text(intervals), end="")
    if folder is not None:
        provenance = _provenance(args, crops, settings)
        if test is not None:
            provenance["test"] = test
        _write_outputs(folder, run, result, intervals, provenance, mode, args)


def _run_information(crops, y, settings, mode: str, args: argparse.Namespace) -> str:
    import numpy as np

    counts = np.bincount(y, minlength=len(crops.labels))
    lines = ["=== Run information ===", "",
             f"Scheme:       wekawbc CNN (CellNet {'-'.join(map(str, settings.channels))}, "
             f"{settings.norm} norm, {settings.image_size} px {settings.framing} framing, stain={settings.stain}, "
             f"balance={settings.balance}, epochs<={settings.epochs}, seed={settings.seed})",
             f"Data:         {' '.join(map(str, args.dataset))}" + (f" subsampled (seed {args.subsample_seed})" if args.class_counts else ""),
             f"Instances:    {len(y)} ({', '.join(f'{label} {c}' for label, c in zip(crops.labels, counts))})",
             f"Test mode:    {mode}" + ("" if args.test else f" (seed {args.seed})")]
    return "\n".join(lines) + "\n"


def _write_outputs(folder: Path, run, result, intervals, provenance: dict, mode: str,
                   args: argparse.Namespace) -> None:
    """The run folder every producer writes (``wekawbc report`` and ``compare`` read it)."""
    from wekawbc.report.runfolder import write_run_folder

    # The command and the versions have their own place in report.json.
    settings = {"producer": "wekawbc cnn evaluate", "mode": mode, "seed": args.seed, "notes": list(run.notes),
                "folds": run.fold_models,
                **{key: value for key, value in provenance.items() if key not in ("command", "versions")}}
    n_bootstrap = intervals["n_resamples"] if intervals else 0
    sources = list(args.dataset)  # several training sets are pooled: the one data set is fingerprinted
    write_run_folder(folder, result, predictions=run.predictions, settings=settings, seed=args.seed,
                     dataset=sources[0] if len(sources) == 1 else None, title=folder.name, n_bootstrap=n_bootstrap)
    print(f"\nwritten: run folder {folder} (report.json, report.html, predictions.csv, train_counts.csv)")
