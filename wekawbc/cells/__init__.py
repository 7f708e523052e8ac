"""Cells: data sets of leukocyte images, leukocyte isolation, nucleus/cytoplasm segmentation, lobes."""

from wekawbc.cells.dataset import (
    BINARY_CLASSES, CLASSES, CellDataset, CellRecord, load_dataset, read_image,
)

__all__ = ["BINARY_CLASSES", "CLASSES", "CellDataset", "CellRecord", "load_dataset", "read_image"]
