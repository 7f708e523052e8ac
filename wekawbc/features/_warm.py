"""Extraction made ready once in the fork server, so that ``extract_dataset(jobs=N)``'s workers start warm.

:func:`wekawbc.features.batch.iter_extract` names this module in the fork server's preload list:
the fork server imports it once, before it forks the workers. Importing it imports the extraction
modules and runs one extraction on a synthetic crop (numba loads its cached kernels at their first
call, scikit-image and OpenCV their lazy parts), so each worker forks from a process where this is
done instead of doing it again (about a second per worker, more on a busy machine).
"""

from __future__ import annotations

import cv2
import numpy as np

from wekawbc.features.extract import extract_features
from wekawbc.synthetic.generator import generate_cell


def warm() -> None:
    """One extraction of a synthetic neutrophil crop (256 pixels: resized to the working scale, as real crops are)."""
    cv2.setNumThreads(1)  # no OpenCV thread pool in the fork server: its children would inherit it half-made
    extract_features(generate_cell("neutrophil", np.random.default_rng(0), size=256).image, mode="crop")


try:
    warm()
except Exception:  # noqa: BLE001 - a head start only: a worker that starts cold extracts the same
    pass
