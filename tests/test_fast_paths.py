"""The fast paths of extraction give what the straightforward computations give, on real images.

Each replaced primitive is compared with the library call it stands for (SciPy, scikit-image, numpy),
and the red-cell finder with the regionprops version it replaced, on crops and fields of the three labs.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from scipy import ndimage as ndi
from skimage.filters import threshold_multiotsu
from skimage.measure import regionprops
from skimage.morphology import convex_hull_image

from wekawbc.cells.dataset import load_dataset, read_image
from wekawbc.cells._kernels import label_shape
from wekawbc.cells.scale import RedCellParams, _eccentricity, _stain_channels, _too_eccentric, convex_area, find_red_cells
from wekawbc.cells.segmentation import _distance, dilated, fill_holes, mask_box, segment_cell, three_class_thresholds
from wekawbc.cells.stain import channel_medians

LABS = (("pbc", 12), ("jtsc", 6), ("bccd", 4))


@pytest.fixture(scope="module")
def images(datasets):
    """A few images of each lab (every n-th), with their leukocyte's cell mask."""
    found = []
    for name, count in LABS:
        records = list(load_dataset(datasets / name))
        for record in records[:: max(len(records) // count, 1)][:count]:
            rgb = read_image(record.image)
            found.append((rgb, segment_cell(rgb).cell_mask))
    return found


def _foreground(rgb):
    darkness = _stain_channels(rgb)[0]
    low, _ = threshold_multiotsu(darkness, classes=3, nbins=128)
    return darkness > low


def test_fill_holes_is_scipys_binary_fill_holes(images):
    rng = np.random.default_rng(0)
    masks = [_foreground(rgb) for rgb, _ in images] + [rng.random((40, 50)) < 0.6 for _ in range(20)]
    for mask in masks:
        assert np.array_equal(fill_holes(mask), ndi.binary_fill_holes(mask))


def test_convex_area_counts_scikit_images_convex_hull_image(images):
    regions = []
    for rgb, _ in images:
        labels, count = ndi.label(_foreground(rgb))
        regions += [labels[box] == label for label, box in enumerate(ndi.find_objects(labels), 1)][:40]
    rng = np.random.default_rng(1)
    for _ in range(100):  # blobs and scattered points, where the hull's edges pass through pixel centres
        blob = np.zeros(tuple(rng.integers(2, 30, 2)), np.uint8)
        for _ in range(3):
            centre = (int(rng.integers(0, blob.shape[1])), int(rng.integers(0, blob.shape[0])))
            cv2.ellipse(blob, centre, (int(rng.integers(1, 12)), int(rng.integers(1, 12))),
                        float(rng.integers(0, 180)), 0, 360, 1, -1)
        regions += [blob.astype(bool), rng.random(blob.shape) < 0.2]
    regions = [region for region in regions if region.any()]
    assert len(regions) > 300
    for region in regions:
        assert convex_area(region) == np.count_nonzero(convex_hull_image(region))


def test_box_is_the_masks_extent(images):
    rng = np.random.default_rng(3)
    masks = [cell for _, cell in images] + [rng.random(tuple(rng.integers(1, 30, 2))) < rng.random() * 0.05 for _ in range(300)]
    for mask in masks:
        if not mask.any():
            with pytest.raises(IndexError):
                mask_box(mask)
            continue
        rows, cols = np.nonzero(mask)
        assert mask_box(mask) == (cols.min(), rows.min(), cols.max() + 1, rows.max() + 1)


def test_dilated_is_opencvs_dilation_of_the_whole_mask(images):
    rng = np.random.default_rng(4)
    masks = [cell for _, cell in images] + [np.zeros((9, 12), bool), np.ones((3, 4), bool)]
    masks += [rng.random(tuple(rng.integers(1, 40, 2))) < rng.random() * 0.03 for _ in range(300)]  # specks, at the border too
    for mask in masks:
        for size in (3, 5, 11):
            assert np.array_equal(dilated(mask, size), cv2.dilate(mask.astype(np.uint8), np.ones((size, size), np.uint8)).astype(bool))


def test_channel_medians_is_numpys_median(images):
    rng = np.random.default_rng(2)
    for rgb, cell in images:
        for mask in (~cell, cell, rng.random(cell.shape) < 0.001):
            assert np.array_equal(channel_medians(rgb, mask), np.median(rgb[mask].astype(np.float64), axis=0))


def _reference_red_cells(rgb, leukocyte, params=RedCellParams()):
    """The red-cell finder before the fast path: SciPy labels and hole filling, scikit-image regionprops."""
    darkness, score, bluish = _stain_channels(rgb)
    low, _ = threshold_multiotsu(darkness, classes=3, nbins=128)
    _, high = threshold_multiotsu(score, classes=3, nbins=128)
    foreground = ndi.binary_fill_holes(cv2.morphologyEx((darkness > low).astype(np.uint8), cv2.MORPH_OPEN,
                                                        np.ones((3, 3), np.uint8)).astype(bool))
    nucleus = (score > high) & bluish
    if leukocyte.any():
        foreground &= ~cv2.dilate(leukocyte.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    labels, _ = ndi.label(foreground)
    rows, cols = rgb.shape[:2]
    low_d, high_d = params.min_diameter * max(rows, cols), params.max_diameter * max(rows, cols)
    if leukocyte.any():
        reference = 2.0 * math.sqrt(leukocyte.sum() / math.pi)
        low_d, high_d = (max(low_d, params.leukocyte_ratio[0] * reference),
                         min(high_d, params.leukocyte_ratio[1] * reference))
    found = []
    for region in regionprops(labels):
        y0, x0, y1, x1 = region.bbox
        if y0 < params.border or x0 < params.border or y1 > rows - params.border or x1 > cols - params.border:
            continue
        if not low_d <= region.equivalent_diameter_area <= high_d or region.eccentricity > params.max_eccentricity:
            continue
        if nucleus[region.coords[:, 0], region.coords[:, 1]].mean() > params.nucleus_fraction:
            continue
        if region.solidity >= params.min_solidity:
            found.append(labels == region.label)
    return found


def test_red_cells_are_those_regionprops_finds(images):
    measured = 0
    for rgb, cell in images:
        fast, reference = find_red_cells(rgb, cell), _reference_red_cells(rgb, cell)
        assert len(fast) == len(reference)
        assert all(np.array_equal(a, b) for a, b in zip(fast, reference))  # same cells, same order
        measured += len(fast)
    assert measured > 20  # the comparison covered red cells, not only empty lists


def test_too_eccentric_is_the_eccentricity_above_the_limit(images):
    rng = np.random.default_rng(4)
    moments = []
    for rgb, _ in images:  # every object of the red-cell finder's foreground, and random ellipses, lines, single pixels
        labels, count = ndi.label(_stain_channels(rgb)[0] > three_class_thresholds(_stain_channels(rgb)[0])[0])
        for label, box in enumerate(ndi.find_objects(labels), start=1):
            moments.append(label_shape(labels.astype(np.int32), label, (box[0].start, box[0].stop, box[1].start, box[1].stop))[0])
    for _ in range(300):
        region = np.zeros((40, 40), np.uint8)
        axes = (int(rng.integers(0, 18)), int(rng.integers(0, 18)))
        cv2.ellipse(region, (20, 20), axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
        moments.append(label_shape(region.astype(np.int32), 1, (0, 40, 0, 40))[0])
    assert len(moments) > 500
    for moment in moments:
        exact = _eccentricity(moment)
        for limit in (0.75, 0.5, 0.9, 0.0, -0.1, exact, np.nextafter(exact, 0), np.nextafter(exact, 2), exact + 1e-12, exact - 1e-12):
            assert _too_eccentric(moment, float(limit)) == (exact > limit)
    regions = [region for rgb, _ in images[:5] for region in regionprops(ndi.label(_stain_channels(rgb)[0] > 0.5)[0])]
    for region in regions:  # scikit-image's own number, as _eccentricity says
        moment = label_shape(region.image.astype(np.int32), 1, (0, *region.image.shape[:1], 0, region.image.shape[1]))[0]
        assert _too_eccentric(moment, 0.75) == (region.eccentricity > 0.75)


def _reference_density(rgb, masks, background):
    """The density group as first written: whole (N, 3) arrays, numpy's mean and sum over them."""
    from wekawbc.cells.stain import WHITE, optical_density

    background = np.asarray(background, np.float64)
    table = optical_density(np.repeat(np.arange(256, dtype=np.float64)[:, None], 3, axis=1), background)
    values = {}
    for compartment in ("Nucleus", "Cytoplasm"):
        levels = rgb[masks[compartment]]
        density = table[levels, np.arange(3)]
        mean, summed = density.mean(axis=0), density.sum(axis=1)
        values[compartment] = (mean, summed.std() / summed.mean(),
                               np.clip(levels.astype(np.float64).mean(axis=0) * WHITE / np.maximum(background, 1.0),
                                       0, 255) / 255.0)
    return values


def test_density_features_are_the_straightforward_numbers(images):
    from wekawbc.cells.stain import background_colour
    from wekawbc.cells.granules import compartment_densities
    from wekawbc.features.compute import _density

    for rgb, cell in images[:12]:
        nucleus = segment_cell(rgb).nucleus_mask
        masks = {"Nucleus": nucleus & cell, "Cytoplasm": cell & ~nucleus}
        background, _ = background_colour(rgb, cell)
        pixels = {name: compartment_densities(rgb, mask, background) for name, mask in masks.items()}
        fast, reference = _density(pixels, background), _reference_density(rgb, masks, background)
        for compartment, (mean, spread, balanced) in reference.items():
            assert [fast[(compartment, "Mean", channel)] for channel in "RGB"] == mean.tolist()
            assert fast[(compartment, "Std", None)] == spread
            lab = cv2.cvtColor(balanced.astype(np.float32).reshape(1, 1, 3), cv2.COLOR_RGB2Lab).ravel()
            assert [fast[(compartment, "Balanced", channel)] for channel in "Lab"] == lab.tolist()


def test_distance_is_scipys_exact_transform(images):
    rng = np.random.default_rng(4)
    masks = [_foreground(rgb) for rgb, _ in images] + [~cell for _, cell in images]
    masks += [cv2.GaussianBlur(rng.random((int(rng.integers(2, 140)), int(rng.integers(2, 140)))).astype(np.float32),
                               (0, 0), float(rng.uniform(0.5, 10))) > rng.uniform(0.2, 0.8) for _ in range(300)]
    masks += [np.ones((5, 7), bool), np.zeros((5, 7), bool)]
    for mask in masks:
        assert np.array_equal(_distance(mask), ndi.distance_transform_edt(mask).astype(np.float32))


def test_three_class_thresholds_are_multiotsus_whatever_was_asked_before(images):
    channels = [channel for rgb, _ in images for channel in _stain_channels(rgb)[:2]]
    for channel in channels + channels[::-1] + channels[:3] * 2:  # new images, then ones remembered
        expected = threshold_multiotsu(channel, classes=3, nbins=128)
        assert np.array_equal(three_class_thresholds(channel), expected)
    first = channels[0].copy()
    three_class_thresholds(first)
    first[0, 0] += 0.5  # the same array changed in place is a new image
    assert np.array_equal(three_class_thresholds(first), threshold_multiotsu(first, classes=3, nbins=128))
    with pytest.raises(ValueError):
        three_class_thresholds(np.zeros((20, 20), np.float32))
