"""The fast paths of the feature computation give what the straightforward computations give, on real cells.

Each replaced step (numpy reductions by OpenCV's, ``np.quantile`` from one partition, SciPy's labelling
by OpenCV's, the lobe counts' shortcuts, the forest walked level by level) is compared with the plain
computation it stands for, exactly, on cells of the three labs and on random masks.
"""

from __future__ import annotations

import csv
import math

import cv2
import numpy as np
import pytest
from scipy import ndimage as ndi

from wekawbc.cells import lobes
from wekawbc.cells.dataset import load_dataset, read_image
from wekawbc.cells.granules import (_density_table, column_sums, compartment_pixels, granule_measures, level_values,
                                    pixel_totals)
from wekawbc.cells.segmentation import _distance, segment_cell
from wekawbc.cells.stain import background_colour, optical_density
from wekawbc.features.compute import _quantiles, colour_channels


def _bccd_crops(root, count):
    """The first ``count`` single-box bccd fields, cut around the box (as benchmarks/bccd_crops.py cuts them)."""
    crops = []
    with open(root / "labels.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["label"] and row["n_wbc_boxes"] == "1" and len(crops) < count:
                x0, y0, x1, y1 = map(int, row["wbc_boxes_xyxy"].split(","))
                field = read_image(root / "images" / row["image"])
                w, h = x1 - x0, y1 - y0
                crops.append(np.ascontiguousarray(field[max(int(y0 - 0.3 * h), 0):int(y1 + 0.3 * h),
                                                        max(int(x0 - 0.3 * w), 0):int(x1 + 0.3 * w)]))
    return crops


@pytest.fixture(scope="module")
def cells(datasets):
    """Crops of the three labs (every class of pbc, eosinophils and basophils among them) with their
    nucleus and cell masks and plasma colour."""
    crops = []
    pbc = list(load_dataset(datasets / "pbc"))
    crops += [read_image(r.image) for r in pbc[::250]]
    jtsc = list(load_dataset(datasets / "jtsc"))
    crops += [read_image(r.image) for r in jtsc[::60]]
    crops += _bccd_crops(datasets / "bccd", 3)
    found = []
    for rgb in crops:
        cell = segment_cell(rgb)
        if cell.found:
            background, _ = background_colour(rgb, cell.cell_mask)
            found.append((rgb, cell.nucleus_mask & cell.cell_mask, cell.cell_mask, background))
    assert len(found) >= 15
    return found


def _masks(cells):
    """Nuclei, cytoplasms, chromatin cores and random masks."""
    rng = np.random.default_rng(0)
    masks = []
    for rgb, nucleus, cell, _ in cells:
        masks += [nucleus, cell & ~nucleus, lobes._chromatin_core(rgb, nucleus, 0.5)]
    masks += [ndi.binary_opening(rng.random((60, 70)) < 0.7) for _ in range(10)]
    return masks


def test_column_sums_are_numpys_running_sums(cells):
    for rgb, nucleus, cell, background in cells:
        channels = colour_channels(rgb)
        for mask in (nucleus, cell & ~nucleus, cell):
            pixels = compartment_pixels(channels, mask)
            assert np.array_equal(pixels, channels[mask])
            assert np.array_equal(column_sums(pixels), np.add.reduce(pixels, axis=0))
            mean = column_sums(pixels)
            np.true_divide(mean, np.intp(len(pixels)), out=mean, casting="unsafe")
            assert np.array_equal(mean, pixels.mean(axis=0))
        table = optical_density(np.repeat(np.arange(256, dtype=np.float64)[:, None], 3, axis=1), background)
        levels = compartment_pixels(rgb, nucleus)
        density = level_values(table, levels)
        assert np.array_equal(density, table[rgb[nucleus], np.arange(3)])
        assert np.array_equal(column_sums(density) / len(density), density.mean(axis=0))
        assert np.array_equal(pixel_totals(density), density.sum(axis=1))
        assert np.array_equal(cv2.reduce(levels, 0, cv2.REDUCE_SUM, dtype=cv2.CV_32S).ravel(),
                              levels.sum(axis=0, dtype=np.int64))
        # granule_measures' colour: the clipped density of every level looked up, not computed per pixel
        per_pixel = np.maximum(-np.log10(np.maximum(levels.astype(np.float64), 1.0)
                                         / np.maximum(np.asarray(background, np.float64), 1.0)), 0.0)
        assert np.array_equal(level_values(_density_table(background), levels), per_pixel)


def test_granule_colours_from_the_shared_densities_are_their_own(cells):
    # compute_features looks the compartments' densities up once for the density group and the granule colours
    from wekawbc.cells.granules import compartment_densities

    for rgb, nucleus, cell, background in cells:
        masks = {"Nucleus": nucleus & cell, "Cytoplasm": cell & ~nucleus}
        pixels = {name: compartment_densities(rgb, mask, background) for name, mask in masks.items()}
        for name, (levels, density) in pixels.items():
            assert np.array_equal(levels, rgb[masks[name]])
            assert np.array_equal(density, optical_density(levels, background))
        shared = granule_measures(rgb, nucleus, cell, background,
                                  densities={name: density for name, (_, density) in pixels.items()})
        plain = granule_measures(rgb, nucleus, cell, background)
        assert _same_measures(shared, plain)
        # negative densities (pixels brighter than the plasma) are clipped as the table's levels are
        brighter = {name: density - 0.05 for name, (_, density) in pixels.items()}
        clipped = {name: np.maximum(density, 0.0) for name, density in brighter.items()}
        assert _same_measures(granule_measures(rgb, nucleus, cell, background, densities=brighter),
                              granule_measures(rgb, nucleus, cell, background, densities=clipped))


def _same_measures(first, second):
    """The same keys and numbers (NaN where the other is NaN)."""
    return first.keys() == second.keys() and all(
        first[key] == second[key] or (math.isnan(first[key]) and math.isnan(second[key])) for key in first)


def test_granule_grey_level_is_numpys_mean(cells):
    # granule_measures' grey: the three levels added in turn and divided as numpy's mean divides.
    for rgb, *_ in cells:
        levels = rgb.astype(np.float32)
        grey = levels[..., 0] + levels[..., 1]
        grey += levels[..., 2]
        np.true_divide(grey, np.intp(3), out=grey, casting="unsafe")
        assert np.array_equal(grey / np.float32(255.0), levels.mean(axis=2) / 255.0)


def test_quantiles_are_numpys(cells):
    rng = np.random.default_rng(3)
    samples = [rng.random(int(n)).astype(np.float32) for n in rng.integers(1, 3000, 200)]
    samples += [np.round(s * 8).astype(np.float32) for s in samples[:50]]  # ties
    for rgb, nucleus, cell, _ in cells:
        lightness = colour_channels(rgb)[..., 8]
        samples += [lightness[nucleus], lightness[cell & ~nucleus]]
    for values in samples:
        for fraction in (0.1, 0.2, 0.5):
            expected = np.quantile(values, fraction)
            found = lobes._quantile(values.copy(), fraction)
            assert found == expected and found.dtype == expected.dtype
        assert np.array_equal(_quantiles(values, (0.01, 0.99)), np.percentile(values, [1, 99]))
        assert lobes._quantile(values.copy(), 0.1) == np.percentile(values, 10)  # shape_inputs' neck width
        fractions = (0.1, 0.2, 0.5, 0.0, 1.0)  # several from one partition, as the chromatin cores take them
        found = lobes._quantiles_of(values.copy(), fractions)
        assert [(value, value.dtype) for value in found] == [
            (expected, expected.dtype) for expected in (np.quantile(values, fraction) for fraction in fractions)]


def test_mask_box_is_the_projections_box(cells):
    """The box the feature functions cut (segmentation's mask_box) on real masks and strided views of them."""
    from wekawbc.cells.segmentation import mask_box

    for mask in _masks(cells):
        for part in (mask, mask[1:, 2:]):  # a strided view too
            if part.any():
                rows, cols = np.nonzero(part)
                assert mask_box(part) == (cols.min(), rows.min(), cols.max() + 1, rows.max() + 1)


def test_opencv_components_are_scipys(cells):
    for mask in _masks(cells):
        labels, count = ndi.label(mask)
        assert lobes._count(mask) == count
        assert lobes._Landscape(mask).parts() == count  # the padded mask's parts, counted once

def test_large_components_are_scipys_labelling(cells):
    from wekawbc.features._kernels import large_components

    edge_cases = [np.zeros((4, 5), bool), np.ones((4, 5), bool), np.eye(6, dtype=bool)]  # empty, all, diagonal
    for mask in _masks(cells) + edge_cases:
        labels, count = ndi.label(mask)
        areas = np.bincount(labels.ravel())[1:]
        for least in (0.0, 0.08 * mask.sum(), float(areas.max()) if count else 1.0, mask.sum() + 1.0):
            assert large_components(mask.astype(np.uint8), least) == (count, int((areas >= least).sum()))
        assert large_components(mask[1:, 2:].view(np.uint8), 0.0)[0] == ndi.label(mask[1:, 2:])[1]  # a strided view


def _plain_opened_pieces(depth, size, least):
    """The pieces of at least ``least`` pixels (at least 1) of the opening (pixels within ``size`` of the erosion
    ``depth > size``), by SciPy, with the shortcut of an erosion in one piece or none."""
    inner = depth > size
    if ndi.label(inner)[1] <= 1:
        return 1
    labels, _ = ndi.label(ndi.distance_transform_edt(~inner).astype(np.float32) <= size)
    return max(int((np.bincount(labels.ravel())[1:] >= least).sum()), 1)


def test_opened_pieces_are_the_plain_openings_pieces(cells):
    from wekawbc.features._kernels import _disc_dilation, opened_pieces

    rng = np.random.default_rng(1)
    dumbbell = np.zeros((30, 50), bool)  # two discs and a bridge: ties of the distances at the bridge
    rows, cols = np.ogrid[:30, :50]
    dumbbell |= ((rows - 15) ** 2 + (cols - 12) ** 2 <= 81) | ((rows - 15) ** 2 + (cols - 37) ** 2 <= 81)
    dumbbell[13:18, 12:38] = True
    masks = _masks(cells) + [dumbbell, np.zeros((6, 6), bool), rng.random((40, 40)) < 0.9]
    checked = 0
    for mask in masks:
        if not mask.any():
            assert opened_pieces(np.zeros((8, 8), np.float32), np.array([1, 2], np.int64), 0.0).tolist() == [1, 1]
            continue
        depth = _distance(np.pad(mask, 2))
        radius = float(depth.max())
        sizes = np.array(sorted({max(int(round(r * radius)), 1) for r in (0.1, 0.3, 0.4, 0.5, 0.6, 0.8)}), np.int64)
        for size in range(1, int(radius) + 2):  # the disc's dilation of each erosion, pixel for pixel
            inner = depth > size
            if inner.any():
                opened = np.empty(depth.shape, np.uint8)
                _disc_dilation(depth, size, opened)
                assert np.array_equal(opened.view(bool), ndi.distance_transform_edt(~inner).astype(np.float32) <= size)
        for least in (0.0, 0.08 * mask.sum()):
            found = opened_pieces(depth, sizes, least).tolist()
            assert found == [_plain_opened_pieces(depth, int(size), least) for size in sizes]
            checked += sum(count >= 2 for count in found)
    assert checked > 0  # some openings split


def test_parts_are_the_labelled_parts_in_their_boxes(cells):
    for mask in _masks(cells):
        labels, count = ndi.label(mask)
        for least in (0.08 * mask.sum(), 0.0, mask.sum() + 1.0):
            plain = [labels[found] == index for index, found in enumerate(ndi.find_objects(labels), start=1)
                     if (labels[found] == index).sum() >= least]
            parts, fast = lobes._parts(np.ascontiguousarray(mask, dtype=np.uint8), least)
            assert parts == count
            assert sorted((part.shape, part.astype(bool).tobytes()) for part in fast) == sorted(
                (part.shape, part.tobytes()) for part in plain)


def test_component_boxes_are_scipys_labels_and_boxes(cells):
    from wekawbc.features._kernels import component_boxes

    edge_cases = [np.zeros((4, 5), bool), np.ones((4, 5), bool), np.eye(6, dtype=bool), np.ones((1, 7), bool)]
    for mask in _masks(cells) + edge_cases:
        labels, count = ndi.label(mask)
        found, fast, areas, boxes = component_boxes(np.ascontiguousarray(mask, dtype=np.uint8))
        assert found == count
        assert np.array_equal(fast, labels)  # the same numbering
        assert areas[1:].tolist() == np.bincount(labels.ravel(), minlength=count + 1)[1:].tolist()
        assert [(slice(top, bottom), slice(left, right)) for top, bottom, left, right in boxes.tolist()] == ndi.find_objects(labels)


def test_lobe_count_parts_are_the_labelled_parts(cells):
    """assess_lobes' parts (from the lobe count's own labelling) are ndi.label's number, on every path."""
    for rgb, nucleus, cell, background in cells:
        granules = granule_measures(rgb, nucleus, cell, background)
        count = ndi.label(nucleus)[1]
        for core in (None, True, False):
            assert lobes.assess_lobes(nucleus, rgb, granules, core=core, cell_mask=cell).parts == count
            assert lobes.assess_lobes(nucleus, rgb, core=core).parts == count
        assert lobes.assess_lobes(nucleus).parts == count
        assert lobes.assess_lobes(np.zeros_like(nucleus)).parts == 0


def _plain_lobe_counts(mask, necks, least_fraction=0.08):
    """The lobe counts without shortcuts: every part opened at every neck, labelled by SciPy."""
    total = int(mask.sum())
    labels, _ = ndi.label(mask)
    counts = [0] * len(necks)
    for index, found in enumerate(ndi.find_objects(labels), start=1):
        part = np.pad((labels[found] == index).astype(np.uint8), 2)
        if part.sum() < least_fraction * total:
            continue
        depth = _distance(part)
        for which, neck in enumerate(necks):
            size = max(int(round(neck * float(depth.max()))), 1)
            inner = depth > size
            opened = _distance(~inner) <= size if inner.any() else inner
            areas = np.bincount(ndi.label(opened)[0].ravel())[1:]
            counts[which] += max(int((areas >= least_fraction * total).sum()), 1)
    return counts


def _plain_split_neck(mask, least_fraction=0.08):
    part = np.pad(mask.astype(np.uint8), 1)
    least = least_fraction * float(part.sum())
    if (np.bincount(ndi.label(part)[0].ravel())[1:] >= least).sum() >= 2:
        return 0.0
    depth = cv2.distanceTransform(part, cv2.DIST_L2, 5)
    radius = float(depth.max())
    for neck in lobes.SPLIT_NECKS:
        inner = depth > neck * radius
        if not inner.any():
            break
        opened = cv2.distanceTransform((~inner).astype(np.uint8), cv2.DIST_L2, 5) <= neck * radius
        if (np.bincount(ndi.label(opened)[0].ravel())[1:] >= least).sum() >= 2:
            return neck
    return 1.0


def _plain_saddles(mask):
    if mask.sum() < 10:
        return 1.0, 1.0, 0
    depth = cv2.distanceTransform(np.pad(mask.astype(np.uint8), 1), cv2.DIST_L2, 5)
    radius = float(depth.max())
    saddle, over_lobe, third = 1.0, 1.0, 0
    for level in lobes.SADDLE_LEVELS:
        if saddle < 1.0 and level > lobes.THIRD_LEVEL:
            break
        labels, count = ndi.label(depth > level * radius)
        peaks = np.array(ndi.maximum(depth, labels, np.arange(1, count + 1)), np.float32).reshape(-1)
        found = np.sort(peaks[(peaks >= lobes.LOBE_PEAK * radius) & (peaks - level * radius >= 0.5)])[::-1]
        if len(found) < 2:
            continue
        if saddle == 1.0:
            saddle, over_lobe = level, level * radius / float(found[1])
        if level == lobes.THIRD_LEVEL:
            third = len(found) - 1
    return saddle, over_lobe, third


def test_lobe_counts_split_ratios_and_saddles_are_the_plain_computations(cells):
    necks = (0.4, 0.3, 0.4, 0.5, 0.6)
    for mask in _masks(cells):
        if not mask.any():
            continue
        assert lobes._lobe_counts(mask, necks) == _plain_lobe_counts(mask, necks)
        small = cv2.resize(mask.astype(np.uint8), None, fx=0.5, fy=0.5, interpolation=cv2.INTER_NEAREST).astype(bool)
        for shape in (mask, small):
            landscape = lobes._Landscape(shape)
            assert lobes._split_neck(shape, landscape=landscape) == _plain_split_neck(shape)
            assert lobes._saddles(shape, landscape) == _plain_saddles(shape)
            assert lobes._split_neck(shape) == _plain_split_neck(shape)


def test_skeleton_neighbours_by_box_filter_are_the_convolution(cells):
    from skimage.morphology import skeletonize

    for mask in _masks(cells):
        skeleton = skeletonize(mask)
        neighbours = cv2.boxFilter(skeleton.view(np.uint8), -1, (3, 3), normalize=False, borderType=cv2.BORDER_CONSTANT)
        assert np.array_equal(neighbours, ndi.convolve(skeleton.astype(np.uint8), np.ones((3, 3), np.uint8),
                                                       mode="constant"))


def test_forest_walk_is_the_tree_by_tree_walk(cells):
    model = lobes._lobe_model()

    def tree_by_tree(inputs):
        values = np.where(np.isfinite(inputs), inputs, np.asarray(model["median"])).astype(np.float32)
        leaves = []
        for tree in model["trees"]:
            node = 0
            while tree["left"][node] >= 0:
                node = (tree["left"][node] if values[tree["feature"][node]] <= tree["threshold"][node]
                        else tree["right"][node])
            leaves.append(float(tree["value"][node]))
        return float(np.mean(leaves))

    rng = np.random.default_rng(5)
    rows = []
    for rgb, nucleus, cell, background in cells:
        granules = granule_measures(rgb, nucleus, cell, background)
        rows.append(lobes.lobe_model_inputs(nucleus, rgb, granules, cell))
    rows += [row * rng.uniform(0.5, 1.5, row.shape) for row in rows for _ in range(5)]
    rows.append(np.full(len(lobes.LOBE_MODEL_INPUTS), np.nan))
    for row in rows:
        assert lobes.segmented_probability(row) == tree_by_tree(row)
    assert not math.isnan(lobes.segmented_probability(rows[0]))


def test_haralick_sums_are_graycoprops(cells):
    from skimage.feature import graycoprops

    from wekawbc.features.compute import _haralick, quantised_glcm
    from wekawbc.features.registry import GLCM_LEVELS

    checked = 0
    for rgb, nucleus, cell, _ in cells:
        lightness = colour_channels(rgb)[..., 8]
        for mask in (nucleus, cell & ~nucleus):
            matrix = quantised_glcm(lightness, mask, GLCM_LEVELS)
            if matrix is None:
                continue
            found = _haralick(matrix)
            for name in ("Contrast", "Dissimilarity", "Homogeneity", "ASM", "Correlation"):
                expected = float(graycoprops(matrix, name.lower() if name != "ASM" else name).mean())
                assert found[name] == pytest.approx(expected, rel=1e-12, abs=1e-15), name
            checked += 1
    assert checked >= 20


def test_cooccurrences_are_graycomatrix_counts(cells):
    """The compiled co-occurrence counts are skimage's symmetric graycomatrix without level 0, on the cells'
    quantised lightness (as quantised_glcm quantises it, at two level counts) and on random maps."""
    from skimage.feature import graycomatrix

    from wekawbc.features._kernels import cooccurrences

    def plain(levels_map, levels):
        return graycomatrix(levels_map, [1], [0, np.pi / 4, np.pi / 2, 3 * np.pi / 4], levels=levels + 1,
                            symmetric=True)[1:, 1:]

    maps = []
    for rgb, nucleus, cell, _ in cells:
        lightness = colour_channels(rgb)[..., 8]
        for mask in (nucleus, cell & ~nucleus, cell):
            for levels in (8, 16):
                low, high = _quantiles(lightness[mask], (0.01, 0.99))
                quantised = np.clip((lightness - low) / max(high - low, 1e-6) * levels, 0, levels - 1).astype(
                    np.uint8) + 1
                quantised[~mask] = 0
                maps.append((quantised, levels))
    generator = np.random.default_rng(0)
    maps += [(generator.integers(0, levels + 1, shape).astype(np.uint8), levels)
             for levels, shape in ((4, (1, 7)), (8, (9, 1)), (8, (2, 2)), (16, (40, 33)))]
    for levels_map, levels in maps:
        found = cooccurrences(levels_map, levels)
        assert found.shape == (levels, levels, 1, 4)
        assert np.array_equal(found, plain(levels_map, levels))


def test_colour_channels_are_the_three_conversions_side_by_side(cells):
    for rgb, *_ in cells:
        levels = rgb.astype(np.float32)
        unit = levels / 255.0
        expected = np.concatenate([levels, cv2.cvtColor(unit, cv2.COLOR_RGB2HSV), cv2.cvtColor(unit, cv2.COLOR_RGB2Lab)],
                                  axis=2)
        assert np.array_equal(colour_channels(rgb), expected)


def test_level_regions_count_what_labelling_each_level_counts(cells):
    from wekawbc.features._kernels import level_regions

    for mask in _masks(cells):
        if mask.sum() < 10:
            continue
        landscape = lobes._Landscape(mask)
        depth, radius = landscape.depth, landscape.radius
        thresholds = np.array([level * radius for level in lobes._LEVELS], np.float32)
        counts, found, second = level_regions(depth, thresholds, np.float32(lobes.LOBE_PEAK * radius))
        for index, level in enumerate(lobes._LEVELS):
            labels, count = ndi.label(depth > level * radius)
            assert counts[index] == count
            peaks = np.array(ndi.maximum(depth, labels, np.arange(1, count + 1)), np.float32).reshape(-1)
            peaks = np.sort(peaks[(peaks >= lobes.LOBE_PEAK * radius) & (peaks - level * radius >= 0.5)])[::-1]
            assert found[index] == len(peaks)
            assert second[index] == (peaks[1] if len(peaks) >= 2 else 0.0)
    with pytest.raises(ValueError):
        level_regions(np.ones((5, 5), np.float32), np.array([0.5], np.float32), np.float32(1.0))


def _assert_statistics_are_numpys(rgb, nucleus, cell):
    from wekawbc.features.compute import _intensities, colour_planes

    channels = colour_channels(rgb)
    found = _intensities(colour_planes(rgb), nucleus, cell)
    for name, mask in (("Nucleus", nucleus), ("Cytoplasm", cell & ~nucleus), ("Cell", cell)):
        pixels = channels[mask]
        if len(pixels) == 0:
            assert found[name] == {}
            continue
        assert np.array_equal(found[name]["Mean"], pixels.mean(axis=0))
        assert np.array_equal(found[name]["Std"], pixels.std(axis=0))
        quartiles = np.percentile(pixels[::max(len(pixels) // 2048, 1)], [25, 50, 75], axis=0)
        for index, measure in enumerate(("Quantile25", "Median", "Quantile75")):
            assert np.array_equal(found[name][measure], quartiles[index])


def test_compartment_statistics_are_numpys(cells):
    for rgb, nucleus, cell, _ in cells:
        _assert_statistics_are_numpys(rgb, nucleus, cell)


def test_compartment_statistics_edge_cases_are_numpys(cells):
    """Empty compartments, masks touching the border, one pixel, ties (a flat image) and samples of
    every length around the sampling step."""
    rgb, nucleus, cell, _ = cells[0]
    empty = np.zeros_like(cell)
    _assert_statistics_are_numpys(rgb, empty, cell)  # no nucleus
    _assert_statistics_are_numpys(rgb, cell, cell)  # no cytoplasm
    _assert_statistics_are_numpys(rgb, empty, empty)  # no cell
    whole = np.ones_like(cell)
    _assert_statistics_are_numpys(rgb, nucleus, whole)  # the cell on every border
    one = empty.copy()
    one[0, -1] = True
    _assert_statistics_are_numpys(rgb, one, whole)
    flat = np.full((70, 80, 3), 128, np.uint8)
    _assert_statistics_are_numpys(flat, whole[:70, :80] & (np.arange(80) < 30), whole[:70, :80])
    rng = np.random.default_rng(1)
    noisy = rng.integers(0, 256, (100, 100, 3), dtype=np.uint8)
    for count in (1, 2, 3, 2047, 2048, 2049, 4095, 4096, 4097, 6200):
        mask = np.zeros(10000, bool)
        mask[rng.choice(10000, count, replace=False)] = True
        mask = mask.reshape(100, 100)
        _assert_statistics_are_numpys(noisy, mask & (rng.random((100, 100)) < 0.5), mask)


def test_lbp_counts_are_the_codes_of_uniform_lbp(cells):
    from wekawbc.features._stat_kernels import lbp_counts as counts
    from wekawbc.features.compute import _LBP_STEP_ARRAY, _UNIFORM_CODES, uniform_lbp
    from wekawbc.features.registry import LBP_BINS

    def histogram(grey, mask):
        return counts(grey, mask, _LBP_STEP_ARRAY, _UNIFORM_CODES, LBP_BINS)

    rng = np.random.default_rng(3)
    for rgb, nucleus, cell, _ in cells:
        grey = np.round(colour_channels(rgb)[..., 6] * 2.55).astype(np.uint8)
        codes = uniform_lbp(grey)
        for mask in (nucleus, cell, np.ones_like(cell), rng.random(cell.shape) < 0.3):
            assert np.array_equal(histogram(grey, mask), np.bincount(codes[mask].astype(np.int64), minlength=LBP_BINS))
    # ties everywhere (every neighbour equal to its centre) and few levels
    # and images of one pixel, one row, one column
    for grey in (np.full((7, 9), 100, np.uint8), rng.integers(0, 3, (15, 12)).astype(np.uint8),
                 np.full((1, 1), 9, np.uint8), rng.integers(0, 256, (1, 6)).astype(np.uint8),
                 rng.integers(0, 256, (5, 1)).astype(np.uint8)):
        expected = np.bincount(uniform_lbp(grey).ravel().astype(np.int64), minlength=LBP_BINS)
        assert np.array_equal(histogram(grey, np.ones(grey.shape, bool)), expected)


def test_colour_sums_are_numpys(cells):
    """The compartments' level sums (exact) and density sums (running, in the densities' type) on real cells,
    in float32 and float64, and with no pixel."""
    from wekawbc.cells.granules import compartment_densities
    from wekawbc.features._stat_kernels import colour_sums

    for rgb, nucleus, cell, background in cells:
        for mask in (nucleus, cell & ~nucleus, np.zeros_like(cell)):
            levels, density = compartment_densities(rgb, mask, background)
            for values in (density, density.astype(np.float32)):
                level_sums, sums = colour_sums(levels, values)
                assert np.array_equal(level_sums, levels.sum(axis=0, dtype=np.int64))
                assert sums.dtype == values.dtype and np.array_equal(sums, np.add.reduce(values, axis=0))


def test_quantised_glcm_is_the_plain_computation(cells):
    """quantised_glcm (one compiled call after the percentiles) gives numpy's quantisation, skimage's counts and
    their normalisation exactly: float32 lightness and float64 values, two level counts, and None where an
    angle has no pair of inside pixels."""
    from skimage.feature import graycomatrix

    from wekawbc.features.compute import quantised_glcm

    def plain(values, inside, levels):
        low, high = np.percentile(values[inside], [1, 99])
        quantised = np.clip((values - low) / max(high - low, 1e-6) * levels, 0, levels - 1).astype(np.uint8) + 1
        quantised[~inside] = 0
        matrix = graycomatrix(quantised, [1], [0, np.pi / 4, np.pi / 2, 3 * np.pi / 4], levels=levels + 1,
                              symmetric=True)[1:, 1:].astype(np.float64)
        totals = matrix.sum(axis=(0, 1), keepdims=True)
        return matrix / totals if totals.all() else None

    cases = []
    for rgb, nucleus, cell, _ in cells:
        lightness = colour_channels(rgb)[..., 6]
        for mask in (nucleus, cell & ~nucleus, cell):
            cases += [(lightness, mask), (lightness.astype(np.float64) / 7.0, mask)]
    diagonal = np.eye(6, dtype=bool)  # no horizontal or vertical pair
    cases += [(np.arange(36, dtype=np.float32).reshape(6, 6), diagonal),
              (np.full((5, 5), 3.0, np.float32), np.ones((5, 5), bool))]  # one value: the span's floor
    for values, inside in cases:
        for levels in (8, 16):
            found, expected = quantised_glcm(values, inside, levels), plain(values, inside, levels)
            assert (found is None) == (expected is None)
            assert found is None or np.array_equal(found, expected)


def test_density_spread_is_numpys_mean_and_std(cells):
    """The summed densities' mean and std from the compiled pass (numpy's pairwise sums walked with a stack) are
    numpy's exactly: real compartments, and every size around numpy's blocks of 8 and 128 values and their halves."""
    from wekawbc.cells.granules import compartment_densities
    from wekawbc.features._stat_kernels import density_spread

    arrays = []
    for rgb, nucleus, cell, background in cells:
        for mask in (nucleus, cell & ~nucleus):
            arrays.append(compartment_densities(rgb, mask, background)[1])
    rng = np.random.default_rng(5)
    sizes = [*range(1, 300), 1023, 1024, 1025, 4095, 4096, 4097, 20001]
    arrays += [rng.random((size, 3)) * rng.choice([1e-3, 1.0, 50.0]) - rng.choice([0.0, 0.5]) for size in sizes]
    for densities in arrays:
        if len(densities) == 0:
            continue
        summed = pixel_totals(densities)
        assert density_spread(densities) == (summed.mean(), summed.std())


def test_chord_share_samples_what_linspace_samples():
    from wekawbc.features._kernels import chord_share

    rng = np.random.default_rng(2)
    mask = rng.random((40, 50)) < 0.7
    ends = [(0, 0, 0, 0), (3, 5, 3, 5), (0, 0, 49, 39), (49, 0, 0, 39), (2, 7, 2, 30), (1, 10, 40, 10), (5, 5, 6, 8)]
    ends += [tuple(int(v) for v in rng.integers(0, (50, 40, 50, 40))) for _ in range(300)]  # ties at .5 among them
    for x0, y0, x1, y1 in ends:
        a, b = np.array([x0, y0], np.int32), np.array([x1, y1], np.int32)
        steps = int(np.hypot(*(a - b))) + 1
        for count in (steps, 1, 2, 2 * steps + 1):
            xs = np.linspace(a[0], b[0], count).round().astype(int)
            ys = np.linspace(a[1], b[1], count).round().astype(int)
            assert chord_share(mask, x0, y0, x1, y1, count) == mask[ys, xs].mean()
