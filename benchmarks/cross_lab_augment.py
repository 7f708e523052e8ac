"""Domain randomisation before extraction: augmented copies of the ``pbc`` training crops (stain, hue, white
point, blur, rescale, JPEG), their features extracted as ``extract`` does, and round 4's Weka pipeline trained
on originals + copies — one figure, chosen on its tuning direction and scored once.

Each ``pbc`` crop gets ``--copies`` copies per augmentation setting (:data:`SETTINGS`): rescaled by a factor
drawn from the setting's range (the cell's µm scale then re-estimated from the copy, as for any image), the
CNN's training transforms (:func:`wekawbc.cnn.augment.augment_batch`: haematoxylin/eosin/DAB
densities, stain vectors, hue, Gaussian blur, brightness, contrast, saturation, per-channel gains: a lamp's
white point; no quarter turns, the crops are not square), then JPEG re-compression at a drawn quality. The registry and invariant features of every copy
come from :func:`benchmarks.cross_lab_invariant.table_rows` (one segmentation, ``extract --mode crop``)::

    python -m benchmarks.cross_lab_augment make /tmp/i12aug pbc=/work/cache-i12/pbc_bal --setting mild --copies 4

Then round 5's harness (:mod:`benchmarks.cross_lab_quantile`) with ``pbc``'s table replaced by originals +
copies: round 4's prior-balanced median/IQR standardisation (predicted classes), Logistic or Vote, CORAL none
/ class-balanced λ 1 / λ 0.1, EM or not; the augmentation setting (none, mild, strong) is a candidate too.
``--report jtsc``: chosen on ``pbc → bccd``, ``pbc → jtsc`` scored once; ``--report bccd`` the other way::

    python -m benchmarks.cross_lab_augment score FEATURE_DIR /tmp/i12aug OUT.json --report jtsc [--in-lab]

Beside the chosen setting on the reported lab, the same without augmentation (the ablation, not a candidate
of the choice). ``--in-lab``: Weka's 10-fold CV inside ``pbc`` with a crop's copies in its fold
(``run_classifier(groups=)``), scored on the originals only, with and without the chosen augmentation.
"""

from __future__ import annotations

import argparse
import io
import shlex
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from wekawbc.cnn.settings import Augmentation

CLASSIFIERS = ("Logistic (ridge 1)", "Vote (Logistic, RandomForest)")
TUNING = {"jtsc": "bccd", "bccd": "jtsc"}


@dataclass(frozen=True)
class Setting:
    """One strength of the domain randomisation: the CNN's transforms, a rescale range and a JPEG quality range."""

    transforms: Augmentation
    rescale: tuple[float, float]
    jpeg_quality: tuple[int, int]


#: The augmentation strengths compared (fixed before any run). ``mild``: about the CNN's ``cross-lab`` preset;
#: ``strong``: the ranges of the brief (rescale 0.6-1.4, heavy stain and hue changes, blur, JPEG down to 40).
SETTINGS: dict[str, Setting] = {
    "mild": Setting(Augmentation(dihedral=False, brightness=0.1, contrast=0.1, saturation=0.1, channel_gain=0.05,
                                 hue=0.03, stain=0.15, stain_vectors=0.05, blur=0.8), (0.8, 1.25), (70, 95)),
    "strong": Setting(Augmentation(dihedral=False, brightness=0.2, contrast=0.2, saturation=0.3, channel_gain=0.1,
                                   hue=0.08, stain=0.35, stain_vectors=0.15, blur=1.5), (0.6, 1.4), (40, 95)),
}
AUGMENTATIONS = ("none", *SETTINGS)


def augment_image(rgb: np.ndarray, setting: Setting, rng: np.random.Generator) -> np.ndarray:
    """One randomised copy of an RGB ``uint8`` crop (every draw from ``rng``: a seeded copy repeats)."""
    import torch
    from PIL import Image
    from skimage.transform import rescale

    from wekawbc.cnn.augment import augment_batch

    factor = rng.uniform(*setting.rescale)
    image = rescale(rgb, factor, channel_axis=2, anti_aliasing=factor < 1, preserve_range=True) / 255.0
    batch = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32).transpose(2, 0, 1))[None]
    generator = torch.Generator().manual_seed(int(rng.integers(2**62)))
    out = augment_batch(batch, setting.transforms, generator)[0].numpy().transpose(1, 2, 0)
    buffer = io.BytesIO()
    Image.fromarray(np.round(out * 255.0).astype(np.uint8)).save(buffer, "JPEG",
                                                                 quality=int(rng.integers(*setting.jpeg_quality, endpoint=True)))
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))


def augmented_tables(records, setting: str, copies: int, seed: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The registry and invariant tables of ``copies`` copies of each record's crop; a copy's ``image`` is
    ``PATH#setting-k`` (copy k of crop i drawn from the generator seeded ``[seed, i, k]``)."""
    from benchmarks.cross_lab_invariant import table_rows
    from wekawbc._progress import progress_bar
    from wekawbc.cells.dataset import read_image

    registry, invariant = [], []
    for i, record in enumerate(progress_bar(records, desc=f"copies ({setting})", unit="image")):
        rgb = read_image(record.image)
        for k in range(copies):
            copy = augment_image(rgb, SETTINGS[setting], np.random.default_rng([seed, i, k]))
            rows = table_rows(copy, f"{record.image}#{setting}-{k}", record.label)
            if rows is not None:
                registry.append(rows[0])
                invariant.append(rows[1])
    return pd.DataFrame(registry), pd.DataFrame(invariant)


def load_copies(folder: Path, setting: str) -> pd.DataFrame:
    """The copies' table as :func:`benchmarks.cross_lab.load_tables` gives ``pbc``'s, each copy's sizes at its
    own re-estimated scale (a copy is its own microscope)."""
    from wekawbc.cells.dataset import CLASSES

    table = pd.read_csv(folder / f"pbc_{setting}_none.csv").merge(
        pd.read_csv(folder / f"pbc_{setting}_invariant.csv"), on="image", how="left", validate="one_to_one")
    return table.assign(**{"class": pd.Categorical(table["class"], categories=list(CLASSES)), "lab": "pbc"})


def training_table(tables: dict, folder: Path, augmentation: str) -> pd.DataFrame:
    if augmentation == "none":
        return tables["pbc"]
    return pd.concat([tables["pbc"], load_copies(folder, augmentation)], ignore_index=True)


def candidates(tables, folder: Path, test_lab: str, columns: list[str], grid, bootstrap: int) -> list[dict]:
    """Round 5's candidates (median/IQR, predicted classes) for each (augmentation, classifier) of ``grid``."""
    from benchmarks import cross_lab_quantile as round5

    runs = []
    for (augmentation, classifier), corals in grid.items():
        train = {**tables, "pbc": training_table(tables, folder, augmentation)}
        print(f"augmentation {augmentation}: {len(train['pbc'])} training rows", flush=True)
        for entry in round5.candidates(train, test_lab, columns, {("robust", "predicted", classifier): corals},
                                       bootstrap):
            runs.append({"augmentation": augmentation, "training_rows": len(train["pbc"]), **entry})
    return runs


def in_lab(tables, folder: Path, columns: list[str], classifier: str, augmentation: str, bootstrap: int) -> dict:
    """Weka's 10-fold CV (seed 1) inside ``pbc``, a crop and its copies in one fold, scored on the originals;
    the table (originals + copies) standardised at an equal class mix."""
    from benchmarks.cross_lab import CLASSIFIERS as SCHEMES
    from benchmarks.cross_lab_priors import _frame, score
    from wekawbc.experiment.crosslab import class_balance_weights, robust_standardise
    from wekawbc.weka import run_classifier

    table = training_table(tables, folder, augmentation)
    codes = np.asarray(table["class"].cat.codes)
    X = robust_standardise(table[columns].to_numpy(np.float64), class_balance_weights(codes))
    groups = table["image"].str.split("#").str[0].to_numpy()
    run = run_classifier(_frame(X, codes, columns), SCHEMES[classifier], folds=10, seed=1, groups=groups)
    original = ~table["image"].str.contains("#").to_numpy()
    predictions = run.predictions.select(original[np.asarray(run.predictions.ids, dtype=np.int64)])
    entry = {"augmentation": augmentation, "classifier": classifier, "train": "pbc",
             "test": "10-fold CV (pbc originals; copies in their crop's fold)", **score(predictions, bootstrap)}
    print(f"{augmentation:7s} {classifier[:12]:12s} pbc 10-fold CV acc {entry['accuracy']['estimate']:.3f}", flush=True)
    return entry


SETTING_KEYS = ("augmentation", "classifier", "coral", "em")


def score_main(args) -> int:
    from benchmarks.cross_lab import _commit, load_tables
    from benchmarks.cross_lab_priors import set_columns
    from benchmarks.cross_lab_quantile import BASE, CORAL, chosen_record, write_results
    from wekawbc.provenance import library_versions

    tuning, reported = TUNING[args.report], args.report
    tables = load_tables(args.features, "none")
    set_name = f"stable<0.75 without {reported}: {BASE}"
    columns, missing, _, selection = set_columns(set_name, tables)  # on the original tables, as round 5
    grid = {(a, c): list(CORAL) for a in AUGMENTATIONS for c in CLASSIFIERS}
    runs = candidates(tables, args.augmented, tuning, columns, grid, args.bootstrap)
    best = max(runs, key=lambda r: r["accuracy"]["estimate"])  # max keeps the first of equals
    setting = {k: best[k] for k in SETTING_KEYS}
    print(f"chosen on pbc -> {tuning}: {setting}", flush=True)
    # The reported lab, once: the chosen setting, and beside it the same without augmentation (ablation).
    augmentations = list(dict.fromkeys([setting["augmentation"], "none"]))
    reported_runs = [r for r in candidates(tables, args.augmented, reported, columns,
                                           {(a, setting["classifier"]): [setting["coral"]] for a in augmentations},
                                           args.bootstrap) if r["em"] == setting["em"]]
    chosen = next(r for r in reported_runs if r["augmentation"] == setting["augmentation"])
    in_lab_runs = [in_lab(tables, args.augmented, columns, setting["classifier"], a, args.bootstrap)
                   for a in augmentations] if args.in_lab else []
    document = {"code_commit": _commit(), "versions": library_versions(),
                "command": shlex.join(["python", "-m", "benchmarks.cross_lab_augment", *sys.argv[1:]]),
                "tables": {"folder": str(args.features), "cells": {lab: int(len(t)) for lab, t in tables.items()},
                           "augmented_folder": str(args.augmented)},
                "augmentations": {name: asdict(s) for name, s in SETTINGS.items()},
                "bootstrap": {"n_resamples": args.bootstrap, "seed": 1, "confidence": 0.95, "stratified": True},
                "feature_set": set_name, "n_features": len(columns), "features_not_in_tables": missing,
                "stable_set": selection,
                "method": "pbc crops augmented before extraction (augment_image), originals + copies trained on; "
                          "prior-balanced per-lab median/IQR standardisation (predicted classes); class-balanced "
                          "CORAL (coral_align); EM of Saerens et al. 2002 (adjust_priors)",
                "n_candidates": len(runs),
                "chosen": chosen_record(tuning, reported, setting, best, chosen),
                "runs": runs + reported_runs, "in_lab": in_lab_runs}
    write_results(args.output, document)
    return 0


def make_main(args) -> int:
    from benchmarks.cross_lab_invariant import _write
    from wekawbc.cells.dataset import load_dataset

    lab, folder = args.lab.split("=", 1)
    records = [r for r in load_dataset(folder, allow_outside=True) if r.label]
    args.augmented.mkdir(parents=True, exist_ok=True)
    registry, invariant = augmented_tables(records, args.setting, args.copies, args.seed)
    _write(registry, args.augmented / f"{lab}_{args.setting}_none.csv")
    _write(invariant, args.augmented / f"{lab}_{args.setting}_invariant.csv")
    print(f"{lab} {args.setting}: {len(registry)} copies of {len(records)} crops -> {args.augmented}", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("make", help="augmented copies of a lab's crops and their feature tables")
    make.add_argument("augmented", type=Path, help="folder for LAB_SETTING_none.csv and LAB_SETTING_invariant.csv")
    make.add_argument("lab", help="LAB=DATASET_DIR (its labelled images)")
    make.add_argument("--setting", choices=list(SETTINGS), required=True)
    make.add_argument("--copies", type=int, default=4)
    make.add_argument("--seed", type=int, default=1)
    score = commands.add_parser("score", help="the candidates on the tuning direction, the chosen one scored once")
    score.add_argument("features", type=Path, help="folder of LAB_none.csv and LAB_invariant.csv tables")
    score.add_argument("augmented", type=Path, help="folder of pbc_SETTING_none.csv and pbc_SETTING_invariant.csv")
    score.add_argument("output", type=Path)
    score.add_argument("--report", choices=list(TUNING), required=True, help="the lab reported (scored once)")
    score.add_argument("--bootstrap", type=int, default=1000)
    score.add_argument("--in-lab", action="store_true", help="also 10-fold CV inside pbc, copies in their crop's fold")
    args = parser.parse_args(argv)
    return make_main(args) if args.command == "make" else score_main(args)


if __name__ == "__main__":
    sys.exit(main())
