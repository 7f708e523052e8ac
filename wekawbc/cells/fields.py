"""One rule for smear fields, used by ``extract``, ``run``, ``cnn predict`` and the estimator's data.

A field holds zero, one or several leukocytes. Either every leukocyte found is an instance
(``one_per_image=False``: each row names its image, its cell number and its box), or the field
is one instance: the leukocyte a field labelled with one type is about -- the largest, most
central one (:func:`main_cell`; area weighted by ``exp(-4 d²)``, ``d`` the distance of the box
centre from the field centre over the field's longer side, as the crop segmentation picks its
nucleus). Cell numbers are the detector's reading order and stay the same under both rules, so
``cell`` 2 of an image is the same leukocyte in every output.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence, TypeVar

import numpy as np

__all__ = ["FieldCell", "choose_cells", "main_cell", "field_cells"]

Item = TypeVar("Item")
Box = tuple[int, int, int, int]


def main_cell(boxes: Sequence[Box], shape: tuple[int, int]) -> int:
    """Index of the largest, most central box (the leukocyte a one-type field label is about)."""
    rows, cols = shape[:2]
    best, best_score = 0, -1.0
    for index, (x0, y0, x1, y1) in enumerate(boxes):
        distance = np.hypot((x0 + x1) / 2 - cols / 2, (y0 + y1) / 2 - rows / 2) / max(rows, cols)
        score = (x1 - x0) * (y1 - y0) * float(np.exp(-4.0 * distance ** 2))
        if score > best_score:
            best, best_score = index, score
    return best


def choose_cells(items: Sequence[Item], shape: tuple[int, int], one_per_image: bool,
                 box: Callable[[Item], Box] = lambda item: item.box) -> list[tuple[int, Item]]:
    """``(cell number, item)`` of every item, or of the main one only when ``one_per_image``."""
    numbered = list(enumerate(items))
    if not one_per_image or len(numbered) <= 1:
        return numbered
    return [numbered[main_cell([box(item) for item in items], shape)]]


@dataclass(frozen=True)
class FieldCell:
    """One leukocyte of an image as every output names it: image, cell number, box, detector confidence."""

    image: str
    cell: int
    box: Box
    confidence: float = 1.0


def field_cells(image: str, rgb: np.ndarray, one_per_image: bool = False) -> list[FieldCell]:
    """The leukocytes of a smear field under the rule (detection only; empty when there is none)."""
    from wekawbc.cells.detection import isolate_leukocytes

    found = isolate_leukocytes(rgb)
    return [FieldCell(image, number, leukocyte.box, leukocyte.confidence)
            for number, leukocyte in choose_cells(found, rgb.shape[:2], one_per_image)]
