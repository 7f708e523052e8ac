"""The model shipped with wekawbc: the CNN trained on the three shared data sets (``pbc``, ``jtsc``, ``bccd``).

``python -m wekawbc.cnn.box_model DATASETS_DIR [--out FILE] [--epochs N] [--threads T]`` trains it
with the cross-lab input of docs/cross_lab.md (cell framing, ``reinhard-square`` stain, the
``cross-lab`` augmentation preset; it is meant for labs it has not seen), other settings default, on every labelled cell of the three folders
and writes it (by default into the package, where ``wekawbc cnn predict`` finds it when no model
file is given). Its metadata hold the command, the data sets, their sources and licences. Its
leave-one-lab-out accuracies are in ``docs/cross_lab.md``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["SHIPPED_DATASETS", "build_box_model"]

#: The data sets the shipped model learns from, with where they come from and their licences.
SHIPPED_DATASETS: tuple[dict[str, str], ...] = (
    {"name": "pbc", "licence": "CC BY 4.0",
     "source": "Acevedo et al., Data in Brief 30:105474, 2020 (doi:10.17632/snkd93bnjr.1); CellaVision DM96, "
               "May-Gruenwald-Giemsa"},
    {"name": "jtsc", "licence": "GPL-3.0",
     "source": "Zheng et al., Micron 107:55-71, 2018, Dataset 1 (Jiangxi Tecom; zxaoyou/segmentation_WBC); "
               "rapid stain"},
    {"name": "bccd", "licence": "MIT",
     "source": "BCCD (Shenggan/BCCD_Dataset), type labels of the 'blood-cells' data set; fields with one "
               "labelled WBC box, cut around it"},
)


def build_box_model(datasets: Path, out: Path, *, epochs: int | None = None, threads: int | None = None,
                    progress: bool = False) -> Path:
    """Train the shipped model on ``datasets/{pbc,jtsc,bccd}`` (the cross-lab input and augmentation;
    ``epochs`` if given) and write it to ``out``."""
    from dataclasses import replace

    from wekawbc.cnn.images import load_crops, pool_crops
    from wekawbc.cnn.model_file import save_model
    from wekawbc.cnn.settings import AUGMENTATIONS, TrainSettings
    from wekawbc.cnn.training import train_cnn
    from wekawbc.provenance import command_line

    settings = replace(TrainSettings(), framing="cell", stain="reinhard-square",
                       augmentation=AUGMENTATIONS["cross-lab"], threads=threads,
                       **({"epochs": epochs} if epochs else {}))
    crops = pool_crops([load_crops(datasets / entry["name"], **settings.input_options(), progress=progress)
                        for entry in SHIPPED_DATASETS])
    keep = crops.y >= 0
    model = train_cnn(crops.images[keep], crops.y[keep], crops.labels, settings,
                      ids=[i for i, k in zip(crops.ids, keep) if k], progress=progress)
    counts = ", ".join(f"{name} {n}" for name, n in crops.class_counts().items())
    summary = (f"CNN trained on {int(keep.sum())} cells of pbc, jtsc and bccd ({counts}); "
               "leave-one-lab-out results in docs/cross_lab.md")
    extra = {"summary": summary, "command": command_line(), "datasets": list(SHIPPED_DATASETS),
             "class_counts": crops.class_counts(), "skipped": crops.skipped, "unsegmented": crops.unsegmented}
    return save_model(model, out, extra=extra)


def main(argv: list[str] | None = None) -> int:
    from wekawbc.cnn.model_file import DEFAULT_MODEL

    parser = argparse.ArgumentParser(prog="python -m wekawbc.cnn.box_model", description=__doc__.splitlines()[0])
    parser.add_argument("datasets", type=Path, metavar="DATASETS_DIR", help="folder holding pbc/, jtsc/ and bccd/")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / DEFAULT_MODEL, metavar="FILE",
                        help="model file to write (default: the package's shipped model)")
    parser.add_argument("--epochs", type=int, metavar="N", help="most epochs (default: the training default)")
    parser.add_argument("--threads", type=int, metavar="T", help="torch CPU threads")
    args = parser.parse_args(argv)
    path = build_box_model(args.datasets, args.out, epochs=args.epochs, threads=args.threads,
                           progress=sys.stderr.isatty())
    print(f"model written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
