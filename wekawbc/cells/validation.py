"""Scoring segmentation, detection and lobe counts against a data set's ground truth.

Ground truth read from the shared data sets' layout: ``mask`` images (nucleus above 205, cell above
80: both the ``jtsc/`` 0/128/255 and the ``bccd/`` 0/~155/255 encodings, JPEG noise included),
``wbc_boxes_xyxy`` boxes (``x0,y0,x1,y1;...``) and the WBCAtt ``nucleus_shape`` attribute
(``segmented-*`` means two lobes or more, ``unsegmented-*`` one; ``irregular`` is left out).

Stain shifts (:data:`STAIN_SHIFTS`): a field recoloured as another stain would show it. Hue and
saturation (HSV) of the red cells and plasma change; the annotated leukocytes (the ground-truth cell
mask and the ellipse inscribed in each VOC box) keep their colours, with a soft 3-pixel edge.

False detections are typed against the VOC annotation (``annotations/NAME.xml`` beside ``images/``):
``poor box`` (overlaps an annotated leukocyte, IoU under the threshold), ``platelet clump`` (holds
an annotated platelet's centre), ``edge`` (touches the field border), ``red-cell cluster`` (the rest).

Shares: a record is *held out* when the number in its file name is a multiple of 4 (``jtsc``
images 112 and 139 are pixel-identical, so both are held out); the others are the development
share on which the fixed parameters were chosen.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Literal

import numpy as np

from wekawbc.cells.dataset import CLASSES, CellRecord, read_image
from wekawbc.cells.detection import DetectionParams, box_iou, isolate_leukocytes
from wekawbc.cells.granules import granule_calls, granule_measures
from wekawbc.cells.lobes import LobeCount, assess_lobes
from wekawbc.cells.segmentation import naive_nucleus_mask, segment_cell
from wekawbc.cells.stain import background_colour

__all__ = ["FALSE_TYPES", "STAIN_SHIFTS", "DetectionReport", "LobeReport", "SegmentationReport", "Share",
           "GranuleReport", "cell_lobes", "check_boxes", "dice", "field_image", "in_share", "recolour_field",
           "truth_boxes", "truth_masks", "validate_detection", "validate_granules", "validate_lobes",
           "validate_segmentation", "voc_boxes"]

Share = Literal["all", "development", "held-out"]
_HELD_OUT_TWINS = {"139"}  # jtsc: identical to 112, which the rule already holds out


def in_share(record: CellRecord, share: Share) -> bool:
    """Whether ``record`` belongs to ``share`` (see the module notes for the rule)."""
    if share == "all":
        return True
    digits = re.findall(r"\d+", record.image.stem)
    held = record.image.stem in _HELD_OUT_TWINS or (bool(digits) and int(digits[-1]) % 4 == 0)
    return held if share == "held-out" else not held


def dice(found: np.ndarray, truth: np.ndarray) -> float:
    """Dice coefficient 2|A∩B| / (|A| + |B|) (1 when both are empty)."""
    total = int(found.sum()) + int(truth.sum())
    return 1.0 if total == 0 else 2.0 * float((found & truth).sum()) / total


def truth_masks(record: CellRecord) -> tuple[np.ndarray, np.ndarray]:
    """Nucleus and whole-cell masks of the record's ground-truth mask image."""
    grey = read_image(record.mask)[..., 0]
    return grey > 205, grey > 80


def truth_boxes(record: CellRecord) -> list[tuple[int, int, int, int]]:
    """The record's ``wbc_boxes_xyxy`` boxes."""
    text = record.extra.get("wbc_boxes_xyxy", "") or ""
    return [tuple(int(float(v)) for v in box.split(",")) for box in text.split(";") if box.strip()]


def _class_order(name: str) -> tuple[int, str]:
    return (CLASSES.index(name) if name in CLASSES else len(CLASSES), name)


def _mean(values: Iterable[float]) -> float:
    values = list(values)
    return float(np.mean(values)) if values else float("nan")


def _check_mask_size(record: CellRecord, mask_shape: tuple[int, ...], image_shape: tuple[int, ...]) -> None:
    """Raise ``WekawbcError`` naming the mask when it is not the image's size."""
    from wekawbc._io import WekawbcError

    if tuple(mask_shape[:2]) != tuple(image_shape[:2]):
        raise WekawbcError(f"{record.mask}: mask of {mask_shape[1]}x{mask_shape[0]} pixels does not match its image "
                           f"{record.image.name} ({image_shape[1]}x{image_shape[0]}); masks must be the image's size")


@dataclass
class SegmentationReport:
    """Per-image Dice scores, grouped by class (``nucleus``, ``cytoplasm``, ``cell``, ``naive_nucleus``)."""

    scores: dict[str, list[dict[str, float]]] = field(default_factory=lambda: defaultdict(list))

    def summary(self) -> dict[str, dict[str, float]]:
        """Mean Dice per class and over all images (key ``all``), with image counts ``n``."""
        groups = {name: self.scores[name] for name in sorted(self.scores, key=_class_order)}
        groups["all"] = [row for rows in self.scores.values() for row in rows]
        return {name: {"n": len(rows), **{key: _mean(row[key] for row in rows) for key in
                                         ("nucleus", "cytoplasm", "cell", "naive_nucleus")}}
                for name, rows in groups.items()}


def validate_segmentation(records: Iterable[CellRecord], *, fields: bool = False,
                          progress: Callable[[Iterator], Iterator] | None = None) -> SegmentationReport:
    """Dice of nucleus, cytoplasm and cell against each record's mask, beside the naive Otsu nucleus.

    ``fields=True`` segments every leukocyte found in a smear field (union of their masks).
    """
    report = SegmentationReport()
    items = [record for record in records if record.mask is not None]
    for record in progress(items) if progress else items:
        rgb = read_image(record.image)
        nucleus_truth, cell_truth = truth_masks(record)
        _check_mask_size(record, nucleus_truth.shape, rgb.shape)
        if fields:
            nucleus, cell = np.zeros(rgb.shape[:2], bool), np.zeros(rgb.shape[:2], bool)
            for leukocyte in isolate_leukocytes(rgb):
                x0, y0, x1, y1 = leukocyte.box
                nucleus[y0:y1, x0:x1] |= leukocyte.segmentation.nucleus_mask
                cell[y0:y1, x0:x1] |= leukocyte.segmentation.cell_mask
        else:
            found = segment_cell(rgb)
            nucleus, cell = found.nucleus_mask, found.cell_mask
        report.scores[record.label or "unlabelled"].append({
            "nucleus": dice(nucleus, nucleus_truth), "cell": dice(cell, cell_truth),
            "cytoplasm": dice(cell & ~nucleus, cell_truth & ~nucleus_truth),
            "naive_nucleus": dice(naive_nucleus_mask(rgb), nucleus_truth),
        })
    return report


#: Named stain shifts of red cells and plasma: (hue rotation in degrees, saturation factor).
STAIN_SHIFTS: dict[str, tuple[float, float]] = {
    "bluish": (-90.0, 1.5),   # red cells staining blue-violet (the case of issue 13)
    "violet": (-50.0, 1.5),   # magenta-violet red cells
    "orange": (25.0, 1.2),    # orange-red (eosin-heavy) red cells
    "pale": (0.0, 0.5),       # washed-out red cells and plasma
}
FALSE_TYPES = ("red-cell cluster", "platelet clump", "edge", "poor box")


def voc_boxes(record: CellRecord, name: str) -> list[tuple[int, int, int, int]]:
    """Boxes of the VOC objects called ``name`` (``RBC``, ``WBC``, ``Platelets``) of a ``bccd``-style record."""
    path = record.image.parent.parent / "annotations" / f"{record.image.stem}.xml"
    if not path.is_file():
        return []
    boxes = []
    for item in ElementTree.parse(path).getroot().iter("object"):
        box = item.find("bndbox")
        if item.findtext("name", "").strip() == name and box is not None:
            boxes.append(tuple(int(float(box.findtext(key, "0"))) for key in ("xmin", "ymin", "xmax", "ymax")))
    return boxes


def _leukocyte_region(record: CellRecord, shape: tuple[int, int]) -> np.ndarray:
    """The annotated leukocytes: the ground-truth cell mask and the ellipse inscribed in each box."""
    import cv2

    region = np.zeros(shape, np.uint8)
    for x0, y0, x1, y1 in truth_boxes(record):
        cv2.ellipse(region, ((x0 + x1) // 2, (y0 + y1) // 2), ((x1 - x0) // 2, (y1 - y0) // 2), 0, 0, 360, 1, -1)
    if record.mask is not None:
        cell = truth_masks(record)[1]
        if cell.shape == shape:
            region |= cell.astype(np.uint8)
    return region.astype(bool)


def recolour_field(rgb: np.ndarray, keep: np.ndarray, hue_shift: float, saturation: float) -> np.ndarray:
    """``rgb`` with hue rotated by ``hue_shift`` degrees and saturation scaled outside ``keep`` (soft edge)."""
    import cv2

    weight = 1.0 - cv2.GaussianBlur(keep.astype(np.float32), (0, 0), 3.0)
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV_FULL).astype(np.float32)  # hue in 0..255
    hsv[..., 0] = np.mod(hsv[..., 0] + weight * hue_shift * 256.0 / 360.0, 256.0)
    hsv[..., 1] = np.clip(hsv[..., 1] * (1.0 + weight * (saturation - 1.0)), 0, 255)
    return cv2.cvtColor((np.round(hsv) % 256).astype(np.uint8), cv2.COLOR_HSV2RGB_FULL)


def field_image(record: CellRecord, stain: str | None = None, rgb: np.ndarray | None = None) -> np.ndarray:
    """The record's field (``rgb`` when already read), recoloured by the named :data:`STAIN_SHIFTS` entry
    when ``stain`` is given."""
    rgb = read_image(record.image) if rgb is None else rgb
    if stain is None:
        return rgb
    hue, saturation = STAIN_SHIFTS[stain]
    return recolour_field(rgb, _leukocyte_region(record, rgb.shape[:2]), hue, saturation)


@dataclass
class DetectionReport:
    """Leukocyte detection against annotated boxes (greedy one-to-one matching at IoU ≥ ``iou``)."""

    fields: int = 0
    annotated: int = 0
    found: int = 0
    matched: int = 0
    fields_without_detection: int = 0
    iou: float = 0.5
    false_by_type: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FALSE_TYPES, 0))

    @property
    def recall(self) -> float:
        return self.matched / self.annotated if self.annotated else float("nan")

    @property
    def precision(self) -> float:
        return self.matched / self.found if self.found else float("nan")

    @property
    def false_per_field(self) -> float:
        return (self.found - self.matched) / self.fields if self.fields else float("nan")

    def summary(self) -> dict[str, float]:
        """Counts, recall, precision, and false detections per field, in total and by type."""
        per_field = {f"false_per_field_{name.replace(' ', '_').replace('-', '_')}":
                     (count / self.fields if self.fields else float("nan"))
                     for name, count in self.false_by_type.items()}
        return {"fields": self.fields, "annotated": self.annotated, "found": self.found, "matched": self.matched,
                "recall": self.recall, "precision": self.precision, "false_per_field": self.false_per_field,
                **per_field, "fields_without_detection": self.fields_without_detection}


def check_boxes(record: CellRecord, boxes, shape: tuple[int, int]) -> None:
    """Raise ``WekawbcError`` when a ground-truth box is empty or lies outside the ``shape`` image."""
    from wekawbc._io import WekawbcError

    rows, cols = shape[:2]
    for x0, y0, x1, y1 in boxes:
        if not (0 <= x0 < x1 <= cols and 0 <= y0 < y1 <= rows):
            raise WekawbcError(f"{record.image}: box {x0},{y0},{x1},{y1} does not fit the {cols}x{rows} image "
                               "(boxes are x0,y0,x1,y1 in its pixels)")


def _false_type(box, record: CellRecord, truth, shape: tuple[int, int]) -> str:
    if any(box_iou(box, other) > 0.1 for other in truth):
        return "poor box"
    x0, y0, x1, y1 = box
    if any(x0 <= (a + c) / 2 < x1 and y0 <= (b + d) / 2 < y1 for a, b, c, d in voc_boxes(record, "Platelets")):
        return "platelet clump"
    if x0 <= 1 or y0 <= 1 or x1 >= shape[1] - 1 or y1 >= shape[0] - 1:
        return "edge"
    return "red-cell cluster"


def validate_detection(records: Iterable[CellRecord], *, iou: float = 0.5, stain: str | None = None,
                       params: DetectionParams = DetectionParams(),
                       progress: Callable[[Iterator], Iterator] | None = None) -> DetectionReport:
    """Recall, precision and typed false detections of :func:`isolate_leukocytes`.

    ``stain`` names a :data:`STAIN_SHIFTS` entry: every field is recoloured that way first.
    """
    report = DetectionReport(iou=iou)
    items = list(records)
    for record in progress(items) if progress else items:
        truth = truth_boxes(record)
        rgb = read_image(record.image)
        check_boxes(record, truth, rgb.shape)
        rgb = field_image(record, stain, rgb)
        boxes = [leukocyte.box for leukocyte in isolate_leukocytes(rgb, params)]
        report.fields += 1
        report.annotated += len(truth)
        report.found += len(boxes)
        report.fields_without_detection += not boxes
        free = list(truth)
        for box in boxes:
            scores = [box_iou(box, other) for other in free]
            if scores and max(scores) >= iou:
                free.pop(int(np.argmax(scores)))
                report.matched += 1
            else:
                report.false_by_type[_false_type(box, record, truth, rgb.shape[:2])] += 1
    return report


@dataclass
class LobeReport:
    """Counts of (class, truth segmented?, found ≥ 2 lobes?) triples."""

    counts: dict[tuple[str, bool, bool], int] = field(default_factory=lambda: defaultdict(int))

    def summary(self) -> dict[str, dict[str, float]]:
        """Per class and ``all``: n, agreement, and the share found lobed among truly segmented/unsegmented."""
        classes = sorted({label for label, _, _ in self.counts}, key=_class_order) + ["all"]
        result = {}
        for name in classes:
            cells = {(t, f): sum(v for (label, tt, ff), v in self.counts.items()
                                 if (name == "all" or label == name) and tt == t and ff == f)
                     for t in (True, False) for f in (True, False)}
            n = sum(cells.values())
            segmented, unsegmented = cells[True, True] + cells[True, False], cells[False, True] + cells[False, False]
            result[name] = {
                "n": n, "agreement": (cells[True, True] + cells[False, False]) / n if n else float("nan"),
                "segmented": segmented, "found_lobed_if_segmented":
                    cells[True, True] / segmented if segmented else float("nan"),
                "unsegmented": unsegmented, "found_lobed_if_unsegmented":
                    cells[False, True] / unsegmented if unsegmented else float("nan"),
            }
        return result


def cell_lobes(rgb: np.ndarray) -> tuple[LobeCount, dict[str, float]]:
    """Segment a single-cell crop; its lobe count (:func:`assess_lobes`) and granule measures."""
    found = segment_cell(rgb)
    if not found.found:
        return assess_lobes(found.nucleus_mask), granule_measures(rgb, found.nucleus_mask, found.cell_mask)
    background, _ = background_colour(rgb, found.cell_mask)
    granules = granule_measures(rgb, found.nucleus_mask, found.cell_mask, background)
    return assess_lobes(found.nucleus_mask, rgb, granules, cell_mask=found.cell_mask), granules


def validate_lobes(records: Iterable[CellRecord], *,
                   progress: Callable[[Iterator], Iterator] | None = None) -> LobeReport:
    """Agreement of a count of 2 or more (:func:`cell_lobes`) with WBCAtt's segmented/unsegmented ``nucleus_shape``.

    ``unsegmented-band`` counts as one lobe, as WBCAtt has it.
    """
    report = LobeReport()
    items = [r for r in records if r.extra.get("nucleus_shape", "").startswith(("segmented", "unsegmented"))]
    for record in progress(items) if progress else items:
        lobed = cell_lobes(read_image(record.image))[0].count >= 2
        report.counts[record.label or "unlabelled", record.extra["nucleus_shape"].startswith("segmented"), lobed] += 1
    return report


@dataclass
class GranuleReport:
    """Per class: WBCAtt ``granularity`` and ``granule_colour`` against :func:`granule_calls`."""

    rows: dict[str, list[tuple[bool, bool]]] = field(default_factory=lambda: defaultdict(list))

    def summary(self) -> dict[str, dict[str, float]]:
        """Per class and ``all``: n, agreement with granularity, agreement with granule_colour."""
        groups = {name: self.rows[name] for name in sorted(self.rows, key=_class_order)}
        groups["all"] = [row for rows in self.rows.values() for row in rows]
        return {name: {"n": len(rows), "granularity": _mean(a for a, _ in rows),
                       "granule_colour": _mean(b for _, b in rows)} for name, rows in groups.items()}


def validate_granules(records: Iterable[CellRecord], *,
                      progress: Callable[[Iterator], Iterator] | None = None) -> GranuleReport:
    """Agreement of :func:`granule_calls` with WBCAtt's ``granularity`` and ``granule_colour``."""
    report = GranuleReport()
    items = [r for r in records if r.extra.get("granularity") and r.extra.get("granule_colour")]
    for record in progress(items) if progress else items:
        calls = granule_calls(cell_lobes(read_image(record.image))[1])
        report.rows[record.label or "unlabelled"].append(
            (calls.granularity == record.extra["granularity"], calls.granule_colour == record.extra["granule_colour"]))
    return report
