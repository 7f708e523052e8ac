"""Cell crops for the CNN: read once, centre-cropped, downsized and held as one ``uint8`` array.

The network sees the centre of each crop (``crop_fraction`` of its shorter side, where the
leukocyte sits in single-cell crops such as ``pbc/`` and ``jtsc/``), resized to ``image_size``
pixels with ``cv2.INTER_AREA`` (the anti-aliased downsizing). Images are read through
:func:`wekawbc.cells.dataset.read_image`; one that cannot be read is skipped and reported, and the
batch goes on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import numpy as np

from wekawbc._io import WekawbcError
from wekawbc.cells.dataset import CellDataset, CellRecord, class_values, load_dataset, read_image
from wekawbc.cnn.subsample import subsample_counts

__all__ = ["CropSet", "Preprocessing", "load_crops", "prepare_crop"]


@dataclass(frozen=True)
class Preprocessing:
    """How an image becomes the network's input (stored in the model file).

    Attributes
    ----------
    image_size : int
        Side of the square input, in pixels.
    crop_fraction : float
        Fraction of the image's shorter side kept around its centre before resizing.
    mean, std : tuple of float
        Per-channel (RGB) mean and standard deviation of the training crops, on the 0-1 scale,
        used to standardise the input.
    """

    image_size: int = 48
    crop_fraction: float = 0.7
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.25, 0.25, 0.25)


def prepare_crop(image: np.ndarray, image_size: int, crop_fraction: float) -> np.ndarray:
    """Centre-crop ``crop_fraction`` of the shorter side and resize to ``image_size`` (``uint8`` RGB)."""
    import cv2

    rows, cols = image.shape[:2]
    side = max(1, int(round(min(rows, cols) * crop_fraction)))
    top, left = (rows - side) // 2, (cols - side) // 2
    square = image[top:top + side, left:left + side]
    interpolation = cv2.INTER_AREA if side >= image_size else cv2.INTER_LINEAR
    return cv2.resize(square, (image_size, image_size), interpolation=interpolation)


@dataclass
class CropSet:
    """Preloaded crops with their classes and identifiers, in the data set's record order.

    Attributes
    ----------
    images : ndarray of uint8, shape (n, image_size, image_size, 3)
    labels : tuple of str
        The task's class values (the columns of every distribution).
    y : ndarray of int, shape (n,)
        Class index into ``labels``; -1 for an unlabelled image.
    ids : tuple of str
        The image path of each crop.
    skipped : list of str
        One line per image that could not be read or was left out (file and reason).
    """

    images: np.ndarray
    labels: tuple[str, ...]
    y: np.ndarray
    ids: tuple[str, ...]
    skipped: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def class_counts(self) -> dict[str, int]:
        counts = np.bincount(self.y[self.y >= 0], minlength=len(self.labels))
        return dict(zip(self.labels, counts.tolist()))


def _select_records(dataset: CellDataset, class_counts: dict[str, float] | None,
                    subsample_seed: int) -> list[CellRecord]:
    records = list(dataset.records)
    if class_counts is None:
        return records
    # Subsampling works on the five types; the binary task's classes follow from them.
    try:
        chosen = subsample_counts([record.label for record in records], class_counts, subsample_seed)
    except ValueError as error:
        raise WekawbcError(f"--class-counts: {error}") from None
    return [records[i] for i in chosen]


def load_crops(source, *, task: str = "five", image_size: int = 48, crop_fraction: float = 0.7,
               class_counts: dict[str, float] | None = None, subsample_seed: int = 1,
               progress: bool = False, allow_outside: bool = False) -> CropSet:
    """Read a data set (any layout :func:`~wekawbc.cells.dataset.load_dataset` knows) into a :class:`CropSet`.

    Parameters
    ----------
    source : path or sequence of paths
        The data set folder, an image or a list of images.
    task : {"five", "binary"}
        The class values: the five types or granulocyte/agranulocyte.
    image_size, crop_fraction :
        See :class:`Preprocessing`.
    class_counts : dict, optional
        Subsample to this class mix (five-type names; counts or proportions), seeded by
        ``subsample_seed``; the subset keeps the record order.
    progress : bool
        Show a tqdm bar while reading.
    allow_outside : bool
        Read images the data set's index names outside its folder (see
        :func:`~wekawbc.cells.dataset.load_dataset`).

    Returns
    -------
    CropSet
        Readable images only; the others are listed in ``skipped`` (the data set's index problems
        too).
    """
    from wekawbc._progress import progress_bar

    labels = class_values(task)  # ValueError for an unknown task
    dataset = load_dataset(source, allow_outside=allow_outside)
    skipped = [str(problem) for problem in dataset.problems]
    records = _select_records(dataset, class_counts, subsample_seed)
    crops, y, ids = [], [], []
    for record in progress_bar(records, desc="reading images", unit="image", enabled=progress, leave=False):
        try:
            image = read_image(record.image)
        except WekawbcError as error:
            skipped.append(str(error))
            continue
        crops.append(prepare_crop(image, image_size, crop_fraction))
        label = record.task_label(task)
        y.append(labels.index(label) if label is not None else -1)
        ids.append(str(record.image))
    if not crops:
        raise WekawbcError(f"{source}: none of the {len(records)} images could be read")
    return CropSet(np.stack(crops), tuple(labels), np.asarray(y, dtype=np.int64), tuple(ids), skipped)
