"""Cell crops for the CNN: read once, framed, downsized and held as one ``uint8`` array.

Two framings (``Preprocessing.framing``):

``cell`` (for data from other labs: docs/cross_lab.md)
    The leukocyte that :func:`wekawbc.cells.segmentation.segment_cell` finds, centred on its
    centroid, in a square of ``cell_context`` times its equivalent diameter: every lab's cell then
    fills the input the same way, whatever the crop's size, margin or magnification. Where no
    nucleus is found, the image's centre is used and the crop set says so.
``cell-masked``
    The ``cell`` framing with every pixel outside the segmented cell set to :data:`MASK_FILL`
    (after the colour normalisation): plasma and red cells no longer reach the network.
``centre`` (the default: the best in-lab accuracy)
    The centre of each crop (``crop_fraction`` of its shorter side, where the leukocyte sits in
    single-cell crops such as ``pbc/``); the file's own margins and magnification decide the scale.

In either framing, a smear field whose ``labels.csv`` row holds one ``wbc_boxes_xyxy`` box
(``bccd/``) is first cut around that box; a row naming several boxes is skipped and reported.
The square is resized to ``image_size`` pixels with ``cv2.INTER_AREA`` (the anti-aliased
downsizing). Images are read through :func:`wekawbc.cells.dataset.read_image`; one that cannot be
read is skipped and reported, and the batch goes on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import numpy as np

from wekawbc._io import WekawbcError
from wekawbc.cells.dataset import CellDataset, CellRecord, IndexFormat, class_values, load_dataset, read_image
from wekawbc.cnn.settings import FRAMINGS, STAINS
from wekawbc.protocol.subsample import subsample_counts

__all__ = ["CropSet", "FramedSquare", "Preprocessing", "frame_image", "load_crops", "normalise_square",
           "nucleus_relative", "pool_crops", "rbc_relative", "red_cells", "prepare_crop", "prepare_input"]

#: A labelled smear field is cut around its one leukocyte box, this many times the box's longer side.
FIELD_BOX_MARGIN = 1.5
#: ``reinhard-square``: the CIE Lab mean and standard deviation every framed square is moved to
#: (``((L, a, b), (L, a, b))``; plasma, red cells and leukocyte together, so close to but not the
#: stained-pixel reference of :data:`wekawbc.cells.stain.REFERENCE_LAB`). The values are the target
#: the exploration in docs/cross_lab.md used; any fixed target of this order serves, since the
#: network's input is standardised again with the training crops' channel statistics.
SQUARE_LAB_REFERENCE: tuple[tuple[float, float, float], tuple[float, float, float]] = (
    (70.6, 12.0, -8.0), (15.7, 12.0, 10.0))
#: Stains that need the segmented leukocyte (its plasma kept apart, or its own pixels as the reference).
CELL_STAINS: tuple[str, ...] = ("white-balance", "reinhard", "reinhard-cell", "nucleus-relative", "rbc-relative")
#: ``reinhard-cell``: the CIE Lab mean and standard deviation the segmented cell's pixels are moved to
#: (the medians over every 70th ``pbc/`` image, cell framing at 96 px; docs/cross_lab.md section 9).
CELL_LAB_REFERENCE: tuple[tuple[float, float, float], tuple[float, float, float]] = (
    (47.9, 31.4, -23.6), (18.3, 12.8, 20.3))
#: ``nucleus-relative``: the optical density (RGB, log10) the nucleus's median is moved to (the median
#: of the nucleus medians over the same ``pbc/`` images).
NUCLEUS_OD_REFERENCE: tuple[float, float, float] = (0.43, 0.71, 0.16)
#: ``rbc-relative``: the optical density (RGB, log10) the red cells' median is moved to (the median of
#: the red-cell medians over every 70th ``pbc/`` image, cell framing at 96 px).
RBC_OD_REFERENCE: tuple[float, float, float] = (0.082, 0.12, 0.072)
#: ``rbc-relative``: fewest red-cell pixels (in the square at twice the input side) to take their colour.
MIN_RBC_PIXELS = 50
#: ``cell-masked`` framing: the colour of every pixel outside the segmented cell (white, as plasma
#: after white balance).
MASK_FILL: tuple[int, int, int] = (255, 255, 255)


@dataclass(frozen=True)
class Preprocessing:
    """How an image becomes the network's input (stored in the model file).

    Attributes
    ----------
    image_size : int
        Side of the square input, in pixels.
    crop_fraction : float
        ``centre`` framing: fraction of the image's shorter side kept around its centre.
    mean, std : tuple of float
        Per-channel (RGB) mean and standard deviation of the training crops, on the 0-1 scale,
        used to standardise the input.
    framing : {"cell", "centre", "cell-masked"}
        How the square is chosen (see the module notes). Model files written before the cell
        framing existed read as ``centre``.
    cell_context : float
        ``cell`` framing: side of the square in equivalent diameters of the segmented cell.
    stain : str
        One of :data:`wekawbc.cnn.settings.STAINS`.
        Colour normalisation of the framed square: :func:`wekawbc.cells.stain.normalise_stain`
        (the segmented leukocyte kept out of the plasma), or ``reinhard-square``: every pixel's CIE
        Lab moved so that the square's mean and standard deviation become
        :data:`SQUARE_LAB_REFERENCE` (:func:`wekawbc.cells.stain.reinhard_normalise` on the whole
        square; no plasma estimate needed, so it also holds for tight crops with little plasma);
        ``reinhard-cell``: the same fitted on the segmented cell's pixels (to
        :data:`CELL_LAB_REFERENCE`); ``nucleus-relative`` / ``rbc-relative``: optical density
        relative to the cell's nucleus / the red cells around it (:func:`nucleus_relative`,
        :func:`rbc_relative`). Measured in docs/cross_lab.md section 9.
    """

    image_size: int = 48
    crop_fraction: float = 0.7
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.25, 0.25, 0.25)
    framing: str = "centre"
    cell_context: float = 1.6
    stain: str = "none"

    def input_options(self) -> dict:
        """The keyword arguments of :func:`load_crops` that reproduce this input."""
        return {"image_size": self.image_size, "crop_fraction": self.crop_fraction, "framing": self.framing,
                "cell_context": self.cell_context, "stain": self.stain}


def prepare_crop(image: np.ndarray, image_size: int, crop_fraction: float) -> np.ndarray:
    """Centre-crop ``crop_fraction`` of the shorter side and resize to ``image_size`` (``uint8`` RGB)."""
    import cv2

    rows, cols = image.shape[:2]
    side = max(1, int(round(min(rows, cols) * crop_fraction)))
    top, left = (rows - side) // 2, (cols - side) // 2
    square = image[top:top + side, left:left + side]
    interpolation = cv2.INTER_AREA if side >= image_size else cv2.INTER_LINEAR
    return cv2.resize(square, (image_size, image_size), interpolation=interpolation)


def _square(image: np.ndarray, cx: float, cy: float, side: float, image_size: int) -> np.ndarray:
    """The ``side``-pixel square centred on (cx, cy), resized to ``image_size``; the border replicated."""
    import cv2

    side_px = max(int(round(side)), 1)
    x0, y0 = int(round(cx - side_px / 2.0)), int(round(cy - side_px / 2.0))
    rows, cols = image.shape[:2]
    pad = max(0, -x0, -y0, x0 + side_px - cols, y0 + side_px - rows)
    if pad:
        image = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    square = image[y0 + pad:y0 + pad + side_px, x0 + pad:x0 + pad + side_px]
    if side_px == image_size:
        return np.ascontiguousarray(square)
    interpolation = cv2.INTER_AREA if side_px > image_size else cv2.INTER_LINEAR
    return cv2.resize(square, (image_size, image_size), interpolation=interpolation)


def _around_box(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """A field cut to a square of :data:`FIELD_BOX_MARGIN` times ``box``'s longer side around its centre."""
    x0, y0, x1, y1 = box
    side = max(int(round(FIELD_BOX_MARGIN * max(x1 - x0, y1 - y0))), 8)
    return _square(image, (x0 + x1) / 2.0, (y0 + y1) / 2.0, side, side)


def _cell_square(cell: np.ndarray, cell_context: float) -> tuple[float, float, float]:
    """Centre and side of the square framing the cell (mask ``cell``): ``cell_context`` equivalent diameters.

    Without a cell, the image's centre and 0.6 of its shorter side stand in for its centroid and
    diameter.
    """
    if cell.any():
        ys, xs = np.nonzero(cell)
        cx, cy, diameter = float(xs.mean()), float(ys.mean()), 2.0 * np.sqrt(cell.sum() / np.pi)
    else:
        rows, cols = cell.shape
        cx, cy, diameter = (cols - 1) / 2.0, (rows - 1) / 2.0, 0.6 * min(rows, cols)
    return cx, cy, max(cell_context * diameter, 2.0)


def _field_box(record: CellRecord) -> tuple[int, int, int, int] | None:
    """The one leukocyte box of a labelled field's row; a ``WekawbcError`` when it names several."""
    from wekawbc.cells.validation import truth_boxes

    if not record.extra.get("wbc_boxes_xyxy"):
        return None
    boxes = truth_boxes(record)
    if len(boxes) != 1:
        raise WekawbcError(f"{record.image}: {len(boxes)} leukocyte boxes in wbc_boxes_xyxy; "
                           "the CNN takes images of one leukocyte")
    return boxes[0]


@dataclass(frozen=True)
class FramedSquare:
    """The framed square of one image before colour normalisation, with its masks framed alike.

    Attributes
    ----------
    rgb : ndarray of uint8, shape (size, size, 3)
    cell, nucleus : ndarray of bool, shape (size, size) or None
        The segmented leukocyte and its nucleus in the square; None when nothing needed them.
    found : bool
        Whether a leukocyte was segmented (True when nothing needed one).
    """

    rgb: np.ndarray
    cell: np.ndarray | None
    nucleus: np.ndarray | None
    found: bool


def frame_image(image: np.ndarray, *, size: int, crop_fraction: float = 0.7, framing: str = "centre",
                cell_context: float = 1.6, stain: str = "none",
                box: tuple[int, int, int, int] | None = None) -> FramedSquare:
    """The ``size``-pixel square of one image that :func:`prepare_input` normalises (see :class:`Preprocessing`)."""
    from wekawbc.cells.segmentation import segment_cell

    if box is not None:
        image = _around_box(image, box)
    needs_cell = framing in ("cell", "cell-masked") or stain in CELL_STAINS
    segmentation = segment_cell(image) if needs_cell else None
    if segmentation is None:
        return FramedSquare(prepare_crop(image, size, crop_fraction), None, None, True)
    if framing == "centre":
        frame = lambda picture: prepare_crop(picture, size, crop_fraction)  # noqa: E731
    else:
        cx, cy, side = _cell_square(segmentation.cell_mask, cell_context)
        frame = lambda picture: _square(picture, cx, cy, side, size)  # noqa: E731
    cell = frame(segmentation.cell_mask.astype(np.uint8) * 255) > 127
    nucleus = frame(segmentation.nucleus_mask.astype(np.uint8) * 255) > 127
    return FramedSquare(frame(image), cell, nucleus, bool(segmentation.cell_mask.any()))


def nucleus_relative(rgb: np.ndarray, nucleus: np.ndarray, background: np.ndarray,
                     reference: tuple[float, float, float] | None = None) -> np.ndarray:
    """Optical density per channel scaled so that the nucleus's median becomes ``reference``.

    Each channel's absorbance ``-log10(I / I_plasma)`` (:func:`wekawbc.cells.stain.optical_density`)
    is multiplied by one gain, ``reference / median(nucleus)``, and turned back into intensity on a
    white plasma: the plasma's colour and the stain's strength and hue in each channel drop out,
    and every colour reads relative to the cell's own nucleus. With fewer than 16 nucleus pixels only
    the white balance is applied (gain 1).
    """
    reference = NUCLEUS_OD_REFERENCE if reference is None else reference
    return _density_matched(rgb, background, nucleus, reference, min_pixels=16, floor=0.02)


def _density_matched(rgb: np.ndarray, background: np.ndarray, region: np.ndarray,
                     reference: tuple[float, float, float], min_pixels: int, floor: float) -> np.ndarray:
    """The image on a white plasma, each channel's optical density scaled by ``reference / median(region)``
    (the median at least ``floor``); gain 1 (white balance only) when ``region`` has under ``min_pixels``."""
    from wekawbc.cells.stain import optical_density

    density = optical_density(rgb, background)
    gain = np.ones(3)
    if region.sum() >= min_pixels:
        gain = np.asarray(reference, np.float64) / np.maximum(np.median(density[region], axis=0), floor)
    return np.clip(255.0 * 10.0 ** (-np.maximum(density, 0.0) * gain) + 0.5, 0, 255).astype(np.uint8)


def red_cells(rgb: np.ndarray, cell: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The plasma's colour and the red cells' pixels of a framed square: what is neither plasma
    (:func:`wekawbc.cells.stain.background_mask`) nor within 5 pixels of the leukocyte."""
    import cv2

    from wekawbc.cells.stain import background_mask

    leukocyte = cell if cell.any() else None
    plasma, _ = background_mask(rgb, leukocyte)
    near = cv2.dilate(cell.astype(np.uint8), np.ones((11, 11), np.uint8)).astype(bool)
    background = np.maximum(np.median(rgb[plasma].astype(np.float64), axis=0), 1.0)
    return background, ~plasma & ~near


def rbc_relative(rgb: np.ndarray, cell: np.ndarray,
                 reference: tuple[float, float, float] = RBC_OD_REFERENCE) -> np.ndarray:
    """Optical density per channel scaled so that the red cells' median becomes ``reference``.

    Red cells take eosin alone and look alike in every lab's smear, so one gain per channel that
    gives them the reference colour calibrates the eosin (and the lamp) of the image; the
    leukocyte's colours are then read against them. With fewer than :data:`MIN_RBC_PIXELS` red-cell
    pixels (tight crops) only the white balance is applied.
    """
    background, rbc = red_cells(rgb, cell)
    return _density_matched(rgb, background, rbc, reference, min_pixels=MIN_RBC_PIXELS, floor=0.01)


def normalise_square(framed: FramedSquare, stain: str, masked: bool) -> np.ndarray:
    """Colour normalisation of a framed square (``stain``, see :class:`Preprocessing`), then the mask.

    ``masked``: every pixel outside the segmented cell becomes :data:`MASK_FILL` (after the colour
    normalisation), so that plasma and red cells, which carry the lab, no longer reach the network.
    """
    from wekawbc.cells.stain import background_colour, normalise_stain, reinhard_normalise

    square, cell = framed.rgb, framed.cell
    if stain == "reinhard-square":
        square = reinhard_normalise(square, np.ones(square.shape[:2], bool), SQUARE_LAB_REFERENCE)
    elif stain == "reinhard-cell":
        square = reinhard_normalise(square, cell, CELL_LAB_REFERENCE)
    elif stain == "nucleus-relative":
        background, _ = background_colour(square, cell if cell.any() else None)
        square = nucleus_relative(square, framed.nucleus, background)
    elif stain == "rbc-relative":
        square = rbc_relative(square, cell)
    elif stain != "none":
        square = normalise_stain(square, stain, cell if cell.any() else None).rgb
    if masked and cell.any():
        square = np.where(cell[..., None], square, np.asarray(MASK_FILL, np.uint8))
    return square


def prepare_input(image: np.ndarray, *, image_size: int = 48, crop_fraction: float = 0.7, framing: str = "centre",
                  cell_context: float = 1.6, stain: str = "none",
                  box: tuple[int, int, int, int] | None = None) -> tuple[np.ndarray, bool]:
    """The network's ``uint8`` input square of one image (see :class:`Preprocessing`).

    ``box``: the leukocyte's box in a smear field, cut out first (either framing). The stain is
    normalised (and the ``cell-masked`` mask applied) on the framed square at twice ``image_size``
    (its plasma and the leukocyte's masks framed alike; far cheaper than on the whole image), then
    the square is resized. Returns the square and whether a leukocyte was segmented (always True
    when nothing needed one).
    """
    import cv2

    plain = stain == "none" and framing != "cell-masked"
    framed = frame_image(image, size=image_size if plain else 2 * image_size, crop_fraction=crop_fraction,
                         framing=framing, cell_context=cell_context, stain=stain, box=box)
    if plain:
        return framed.rgb, framed.found
    square = normalise_square(framed, stain, framing == "cell-masked")
    return cv2.resize(square, (image_size, image_size), interpolation=cv2.INTER_AREA), framed.found


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
    unsegmented : list of str
        ``cell`` framing: the images in which no leukocyte was segmented (framed on their centre).
    """

    images: np.ndarray
    labels: tuple[str, ...]
    y: np.ndarray
    ids: tuple[str, ...]
    skipped: list[str] = field(default_factory=list)
    unsegmented: list[str] = field(default_factory=list)

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
               framing: str = "centre", cell_context: float = 1.6, stain: str = "none",
               class_counts: dict[str, float] | None = None, subsample_seed: int = 1,
               progress: bool = False, allow_outside: bool = False, index: IndexFormat | None = None) -> CropSet:
    """Read a data set (any layout :func:`~wekawbc.cells.dataset.load_dataset` knows) into a :class:`CropSet`.

    Parameters
    ----------
    source : path or sequence of paths
        The data set folder, an image or a list of images.
    task : {"five", "binary"}
        The class values: the five types or granulocyte/agranulocyte.
    image_size, crop_fraction, framing, cell_context, stain :
        See :class:`Preprocessing`.
    class_counts : dict, optional
        Subsample to this class mix (five-type names; counts or proportions), seeded by
        ``subsample_seed``; the subset keeps the record order.
    progress : bool
        Show a tqdm bar while reading.
    allow_outside : bool
        Read images the data set's index names outside its folder (see
        :func:`~wekawbc.cells.dataset.load_dataset`).
    index : IndexFormat, optional
        The index's column names and label map (:func:`~wekawbc.cells.dataset.load_dataset`).

    Returns
    -------
    CropSet
        Readable images only; the others are listed in ``skipped`` (the data set's index problems
        too).
    """
    from wekawbc._progress import progress_bar

    labels = class_values(task)  # ValueError for an unknown task
    if framing not in FRAMINGS:
        raise ValueError(f"framing must be one of {FRAMINGS}, got {framing!r}")
    if stain not in STAINS:
        raise ValueError(f"stain must be one of {STAINS}, got {stain!r}")
    options = {"image_size": image_size, "crop_fraction": crop_fraction, "framing": framing,
               "cell_context": cell_context, "stain": stain}
    dataset = load_dataset(source, allow_outside=allow_outside, index=index)
    skipped = [str(problem) for problem in dataset.problems]
    records = _select_records(dataset, class_counts, subsample_seed)
    crops, y, ids, unsegmented = [], [], [], []
    for record in progress_bar(records, desc="reading images", unit="image", enabled=progress, leave=False):
        try:
            box = _field_box(record)
            crop, found = prepare_input(read_image(record.image), **options, box=box)
        except WekawbcError as error:
            skipped.append(str(error))
            continue
        crops.append(crop)
        if not found:
            unsegmented.append(str(record.image))
        label = record.task_label(task)
        y.append(labels.index(label) if label is not None else -1)
        ids.append(str(record.image))
    if not crops:
        raise WekawbcError(f"{source}: none of the {len(records)} images could be read")
    return CropSet(np.stack(crops), tuple(labels), np.asarray(y, dtype=np.int64), tuple(ids), skipped, unsegmented)


def pool_crops(sets: list[CropSet]) -> CropSet:
    """Several crop sets of one task as one (in the order given): data of several labs to train on."""
    if len({crop_set.labels for crop_set in sets}) != 1:
        raise ValueError("crop sets of different tasks cannot be pooled")
    if len({crop_set.images.shape[1:] for crop_set in sets}) != 1:
        raise ValueError("crop sets of different input sizes cannot be pooled")
    if len(sets) == 1:
        return sets[0]
    return CropSet(np.concatenate([s.images for s in sets]), sets[0].labels, np.concatenate([s.y for s in sets]),
                   tuple(i for s in sets for i in s.ids), [line for s in sets for line in s.skipped],
                   [line for s in sets for line in s.unsegmented])
