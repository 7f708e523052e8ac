"""Cells: data sets of leukocyte images, leukocyte isolation, nucleus/cytoplasm segmentation, lobes.

>>> from wekawbc.cells import read_image, segment_cell, count_lobes, find_leukocytes
>>> cell = segment_cell(read_image("crop.bmp"))      # doctest: +SKIP
>>> count_lobes(cell.nucleus_mask)                   # doctest: +SKIP
"""

from wekawbc.cells.dataset import (
    BINARY_CLASSES, CLASSES, CellDataset, CellRecord, class_values, load_dataset, read_image,
)
from wekawbc.cells.detection import DetectionParams, Leukocyte, box_iou, find_leukocytes, isolate_leukocytes
from wekawbc.cells.lobes import count_lobes
from wekawbc.cells.segmentation import (
    CellSegmentation, SegmentationParams, label_image, naive_nucleus_mask, segment_cell,
)

__all__ = [
    "BINARY_CLASSES", "CLASSES", "CellDataset", "CellRecord", "CellSegmentation", "DetectionParams", "Leukocyte",
    "SegmentationParams", "box_iou", "class_values", "count_lobes", "find_leukocytes", "isolate_leukocytes",
    "label_image", "load_dataset", "naive_nucleus_mask", "read_image", "segment_cell",
]
