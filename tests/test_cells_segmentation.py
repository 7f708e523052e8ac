"""Segmentation, leukocyte detection and lobe counting, checked on synthetic shapes and real images."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from wekawbc.cells.dataset import load_dataset, read_image
from wekawbc.cells.detection import box_iou, find_leukocytes
from wekawbc.cells.lobes import count_lobes
from wekawbc.cells.segmentation import label_image, naive_nucleus_mask, segment_cell
from wekawbc.cells.validation import dice


def _disc(shape, centre, radius):
    rows, cols = np.ogrid[: shape[0], : shape[1]]
    return (rows - centre[0]) ** 2 + (cols - centre[1]) ** 2 <= radius ** 2


def _synthetic_cell(shape=(120, 120), centre=(60, 60)):
    """Pale plasma, a pink cytoplasm disc and a purple nucleus disc (RGB, uint8)."""
    image = np.empty(shape + (3,), np.uint8)
    image[:] = (240, 230, 215)
    image[_disc(shape, centre, 35)] = (205, 160, 175)
    image[_disc(shape, centre, 18)] = (90, 40, 140)
    return image


def test_synthetic_cell_is_segmented():
    image = _synthetic_cell()
    cell = segment_cell(image)
    assert dice(cell.nucleus_mask, _disc(image.shape[:2], (60, 60), 18)) > 0.95
    assert dice(cell.cell_mask, _disc(image.shape[:2], (60, 60), 35)) > 0.95
    assert not (cell.nucleus_mask & cell.cytoplasm_mask).any()
    labels = label_image(cell)
    assert labels.dtype == np.uint8 and set(np.unique(labels)) == {0, 128, 255}
    assert 20 <= cell.box[0] <= 27 and 93 <= cell.box[2] <= 100


def test_blank_image_has_no_cell():
    assert not segment_cell(np.full((64, 64, 3), 230, np.uint8)).found
    assert find_leukocytes(np.full((480, 640, 3), 230, np.uint8)) == []


def test_two_leukocytes_in_a_field_are_both_found():
    field = np.empty((480, 640, 3), np.uint8)
    field[:] = (235, 225, 220)
    for centre in ((120, 150), (330, 470)):
        field[_disc(field.shape[:2], centre, 70)] = (215, 190, 210)
        field[_disc(field.shape[:2], centre, 40)] = (110, 80, 190)
    field[_disc(field.shape[:2], (400, 100), 6)] = (110, 80, 190)  # a platelet: too small
    boxes = sorted(find_leukocytes(field))
    truth = [(80, 50, 221, 191), (400, 260, 541, 401)]
    assert len(boxes) == 2
    assert all(box_iou(box, expected) > 0.8 for box, expected in zip(boxes, truth))


def test_box_iou():
    assert box_iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert box_iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(1 / 3)
    assert box_iou((0, 0, 10, 10), (20, 20, 30, 30)) == 0.0


def _lobed(centres, radius, bridge=0):
    mask = np.zeros((100, 140), np.uint8)
    for centre in centres:
        mask |= _disc(mask.shape, centre, radius).astype(np.uint8)
    for first, second in zip(centres, centres[1:]):
        if bridge:
            cv2.line(mask, first[::-1], second[::-1], 1, bridge)
    return mask.astype(bool)


def test_count_lobes_on_shapes():
    assert count_lobes(np.zeros((10, 10), bool)) == 0
    assert count_lobes(_disc((100, 100), (50, 50), 30)) == 1
    band = np.zeros((100, 140), np.uint8)
    cv2.ellipse(band, (70, 50), (50, 30), 0, 180, 360, 1, 14)  # a horseshoe of even width
    assert count_lobes(band.astype(bool)) == 1
    assert count_lobes(_lobed([(50, 30), (50, 75)], 18)) == 2             # apart
    assert count_lobes(_lobed([(50, 30), (50, 70)], 18, bridge=4)) == 2   # touching by a thin bridge
    assert count_lobes(_lobed([(30, 25), (70, 60), (30, 105)], 17, bridge=5)) == 3


@pytest.fixture(scope="module")
def jtsc_sample(datasets):
    # Every 12th image of jtsc (25 crops of all classes): a quick, representative sample.
    return [r for r in load_dataset(datasets / "jtsc")][::12]


def test_jtsc_nucleus_beats_naive_otsu_and_cells_are_accurate(jtsc_sample):
    ours, naive, cells = [], [], []
    for record in jtsc_sample:
        image, truth = read_image(record.image), read_image(record.mask)[..., 0]
        cell = segment_cell(image)
        ours.append(dice(cell.nucleus_mask, truth > 200))
        naive.append(dice(naive_nucleus_mask(image), truth > 200))
        cells.append(dice(cell.cell_mask, truth > 64))
    assert np.mean(ours) >= 0.90 and np.mean(ours) > np.mean(naive) + 0.05
    assert np.mean(cells) >= 0.90


def test_bccd_fields_find_annotated_leukocytes(datasets):
    records = [r for r in load_dataset(datasets / "bccd")][::30]
    found = matched = annotated = 0
    for record in records:
        boxes = find_leukocytes(read_image(record.image))
        truth = [tuple(int(v) for v in box.split(",")) for box in record.extra["wbc_boxes_xyxy"].split(";") if box]
        annotated += len(truth)
        found += len(boxes)
        matched += sum(any(box_iou(box, t) >= 0.5 for box in boxes) for t in truth)
    assert matched / annotated >= 0.85 and matched / found >= 0.8
