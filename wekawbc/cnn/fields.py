"""The CNN on whole smear fields: one crop, and one prediction, per leukocyte the detector finds.

A field is never classified by its centre: every leukocyte found by
:func:`wekawbc.cells.detection.isolate_leukocytes` (or only the main one, under the
``one_per_image`` rule of :mod:`wekawbc.cells.fields`) becomes a square crop centred on its box,
``margin`` times the box's longer side across, so that after the model's own centre crop
(``crop_fraction``) the cell fills the input as a single-cell crop's leukocyte does. A field with no
leukocyte gives a row saying so (``status`` ``no leukocyte``) and no prediction.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from wekawbc._io import WekawbcError, atomic_write
from wekawbc.cells.dataset import IndexFormat, class_values, load_dataset, read_image
from wekawbc.cells.fields import FieldCell, field_cells
from wekawbc.cnn.images import prepare_crop

__all__ = ["FieldCrops", "cell_crop", "load_field_crops", "write_field_predictions_csv"]

#: How a field cell is named where one identifier per instance is needed (``IMAGE#cell``).
CELL_ID = "{image}#{cell}"

#: A field's box becomes a square of this many times its longer side before the model's centre crop.
CROP_MARGIN = 1.1


def cell_crop(rgb: np.ndarray, box: tuple[int, int, int, int], image_size: int, crop_fraction: float,
              margin: float = CROP_MARGIN) -> np.ndarray:
    """The network input of the leukocyte in ``box``: a square around it (edges replicated), prepared."""
    import cv2

    x0, y0, x1, y1 = box
    side = max(int(round(max(x1 - x0, y1 - y0) * margin / crop_fraction)), 1)
    left, top = (x0 + x1 - side) // 2, (y0 + y1 - side) // 2
    rows, cols = rgb.shape[:2]
    pad = max(0, -left, -top, left + side - cols, top + side - rows)
    padded = cv2.copyMakeBorder(rgb, pad, pad, pad, pad, cv2.BORDER_REPLICATE) if pad else rgb
    square = padded[top + pad:top + pad + side, left + pad:left + pad + side]
    return prepare_crop(square, image_size, crop_fraction)


@dataclass
class FieldCrops:
    """The crops of every leukocyte of a data set's fields, with their class and where they come from.

    ``cells[i]`` names crop ``i`` (image, cell number, box, confidence); ``empty`` lists the images
    where no leukocyte was found; ``skipped`` the images that could not be read (and index problems).
    """

    images: np.ndarray
    labels: tuple[str, ...]
    y: np.ndarray
    cells: list[FieldCell]
    empty: list[tuple[str, str]] = field(default_factory=list)  # (image, actual label or "")
    skipped: list[str] = field(default_factory=list)

    def crop_set(self):
        """The crops as a :class:`~wekawbc.cnn.images.CropSet` (ids ``IMAGE#cell``; fields without a
        leukocyte listed as skipped), for training and evaluation."""
        from wekawbc.cnn.images import CropSet

        ids = tuple(CELL_ID.format(image=cell.image, cell=cell.cell) for cell in self.cells)
        skipped = self.skipped + [f"{image}: no leukocyte found" for image, _ in self.empty]
        return CropSet(self.images, self.labels, self.y, ids, skipped)

    @property
    def groups(self) -> list[str]:
        """The image of every crop: the group that keeps a field's cells in one fold."""
        return [cell.image for cell in self.cells]


def load_field_crops(source, *, task: str, image_size: int, crop_fraction: float, one_per_image: bool = False,
                     progress: bool = False, allow_outside: bool = False,
                     index: IndexFormat | None = None) -> FieldCrops:
    """Detect the leukocytes of every field of ``source`` and prepare one crop per leukocyte."""
    from wekawbc._progress import progress_bar

    labels = class_values(task)
    dataset = load_dataset(source, allow_outside=allow_outside, index=index)
    crops, y, cells, empty = [], [], [], []
    skipped = [str(problem) for problem in dataset.problems]
    for record in progress_bar(dataset.records, desc="detecting", unit="field", enabled=progress, leave=False):
        try:
            rgb = read_image(record.image)
            found = field_cells(str(record.image), rgb, one_per_image)
        except WekawbcError as error:
            skipped.append(str(error))
            continue
        label = record.task_label(task)
        if not found:
            empty.append((str(record.image), label or ""))
        for cell in found:
            crops.append(cell_crop(rgb, cell.box, image_size, crop_fraction))
            y.append(labels.index(label) if label is not None else -1)
            cells.append(cell)
    images = np.stack(crops) if crops else np.zeros((0, image_size, image_size, 3), np.uint8)
    return FieldCrops(images, tuple(labels), np.asarray(y, dtype=np.int64), cells, empty, skipped)


def write_field_predictions_csv(path: str | os.PathLike, crops: FieldCrops, distribution: np.ndarray) -> Path:
    """One row per leukocyte (image, cell, box, confidence, status ``ok``, actual, predicted, p_<label>...),
    then one ``no leukocyte`` row per empty field; written atomically."""
    header = ["image", "cell", "x0", "y0", "x1", "y1", "confidence", "status", "actual", "predicted",
              *(f"p_{label}" for label in crops.labels)]
    with atomic_write(path) as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        for cell, actual, row in zip(crops.cells, crops.y, distribution):
            writer.writerow([cell.image, cell.cell, *cell.box, cell.confidence, "ok",
                             crops.labels[actual] if actual >= 0 else "", crops.labels[int(np.argmax(row))],
                             *(repr(float(p)) for p in row)])
        for image, actual in crops.empty:
            writer.writerow([image, "", "", "", "", "", "", "no leukocyte", actual, "", *([""] * len(crops.labels))])
    return Path(path)
