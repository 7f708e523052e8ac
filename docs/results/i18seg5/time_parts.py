"""CPU ms per cell of segment_cell, estimate_scale and background_colour on the extract benchmark's 200 pbc crops.

Best of 5 rounds in one process (time.process_time). Run from the tree measured, with that tree first on the path:
    cd TREE && PYTHONPATH=TREE OMP_NUM_THREADS=1 WEKAWBC_DATASETS=/work/shared/datasets python3 time_parts.py TREE
(``TREE`` is checked against where ``wekawbc`` was imported from).
"""
import sys
import time

import cv2

import wekawbc
from benchmarks.bench_extract import _images
from wekawbc.cells.dataset import read_image
from wekawbc.cells.scale import estimate_scale
from wekawbc.cells.segmentation import segment_cell
from wekawbc.cells.stain import background_colour

cv2.setNumThreads(1)
assert wekawbc.__file__.startswith(sys.argv[1]), wekawbc.__file__
images = [read_image(path) for path in _images()]
cells = [segment_cell(image).cell_mask for image in images]


def best(run) -> float:
    fastest = float("inf")
    for _ in range(5):
        start = time.process_time()
        run()
        fastest = min(fastest, time.process_time() - start)
    return fastest / len(images) * 1000


segment = best(lambda: [segment_cell(image) for image in images])
scale = best(lambda: [estimate_scale(image, cell) for image, cell in zip(images, cells)])
plasma = best(lambda: [background_colour(image, cell) for image, cell in zip(images, cells)])
print(f"{sys.argv[1]:24s} segment {segment:.3f} scale {scale:.3f} plasma {plasma:.3f} ms/cell")
