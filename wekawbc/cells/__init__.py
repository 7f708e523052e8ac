"""Cells: data sets of leukocyte images, leukocyte isolation, nucleus/cytoplasm segmentation, lobes.

>>> from wekawbc.cells import read_image, segment_cell, count_lobes, find_leukocytes
>>> cell = segment_cell(read_image("crop.bmp"))      # doctest: +SKIP
>>> count_lobes(cell.nucleus_mask)                   # doctest: +SKIP

Names are imported on first use, so ``wekawbc --help`` (which imports ``wekawbc.cells.cli``) does
not load scikit-image and OpenCV.
"""

from __future__ import annotations

from wekawbc._lazy import lazy_exports

_PUBLIC = {
    "wekawbc.cells.dataset": ("BINARY_CLASSES", "CLASSES", "CellDataset", "CellRecord", "class_values",
                              "load_dataset", "read_image"),
    "wekawbc.cells.detection": ("DetectionParams", "Leukocyte", "box_iou", "find_leukocytes", "isolate_leukocytes"),
    "wekawbc.cells.lobes": ("count_lobes",),
    "wekawbc.cells.scale": ("Scale", "estimate_scale", "find_red_cells"),
    "wekawbc.cells.stain": ("StainResult", "normalise_stain", "optical_density"),
    "wekawbc.cells.segmentation": ("CellSegmentation", "SegmentationParams", "label_image", "naive_nucleus_mask",
                                   "segment_cell"),
}
__all__, __getattr__ = lazy_exports(__name__, _PUBLIC)
