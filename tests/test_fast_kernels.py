"""The compiled kernels (wekawbc.cells._kernels) and the fast paths built on them give the library's numbers.

Each is compared with the call it stands for (numpy's histogram, scikit-image's watershed and
multi-Otsu) on real crops of the three labs and on inputs built to break it: values on and beside
bin edges, plateaus, ties between markers of different labels, negative zeros.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from scipy import ndimage as ndi
from scipy.stats import trim_mean
from skimage.filters import threshold_multiotsu
from skimage.measure import points_in_poly
from skimage.morphology import convex_hull_image
from skimage.segmentation import watershed

from wekawbc.cells._kernels import (bin_counts, distances_to, distances_to_outside, fill_small_holes, flood_from_markers, label_minima, label_shape, label_sums,
                                    masked_histograms, region_statistics, stain_planes, three_class_otsu,
                                    to_unit_float, unit_planes)
from wekawbc.cells.dataset import load_dataset, read_image
from wekawbc.cells.scale import _interquartile_mean, _stain_channels
from wekawbc.cells.segmentation import _bin_edges, _distance, fill_holes, three_class_thresholds

LABS = (("pbc", 10), ("jtsc", 6), ("bccd", 4))


@pytest.fixture(scope="module")
def channels(datasets):
    """The darkness and nucleus-score channels of a few images of each lab (every n-th), full size."""
    found = []
    for name, count in LABS:
        records = list(load_dataset(datasets / name))
        for record in records[:: max(len(records) // count, 1)][:count]:
            found += list(_stain_channels(read_image(record.image))[:2])
    return found


def test_bin_counts_are_numpys_histogram(channels):
    rng = np.random.default_rng(0)
    arrays = list(channels)
    for _ in range(300):
        values = rng.random(int(rng.integers(1, 400))).astype(np.float32)
        if rng.random() < 0.5:  # few distinct values: many land on edges
            values = (np.round(values * rng.integers(2, 40)) / 7).astype(np.float32)
        arrays.append(values)
    for steps in (140, 300, 1000):  # a range of a few float32 steps per bin: the edges drift far from the estimates
        arrays.append(np.float32(1) + np.arange(steps, dtype=np.float32) * np.float32(2.0 ** -23))
    for values in arrays:
        low, high = values.min(), values.max()
        edges = np.histogram_bin_edges(values, 128, range=(low, high))
        beside = np.concatenate([values.ravel(), edges, np.nextafter(edges, np.float32(-1)),
                                 np.nextafter(edges, np.float32(2)), [low - 1, high + 1, np.nan, np.inf, -np.inf]]).astype(np.float32)
        for sample in (values, beside):
            assert np.array_equal(bin_counts(sample, edges), np.histogram(sample, 128, range=(low, high))[0])


def test_three_class_thresholds_are_multiotsus(channels):
    for channel in channels + [channel[5:60, 7:90] for channel in channels]:  # whole and windows (not contiguous)
        assert np.array_equal(three_class_thresholds(channel), threshold_multiotsu(channel, classes=3, nbins=128))
    for channel in channels + channels[:4]:  # remembered: the same image again, then a different one
        expected = threshold_multiotsu(channel, classes=3, nbins=128)
        assert np.array_equal(three_class_thresholds(channel, remember=True), expected)
        assert np.array_equal(three_class_thresholds(channel.copy(), remember=True), expected)
    changed = channels[0].copy()
    three_class_thresholds(changed, remember=True)
    changed[3, 3] += 0.25  # changed in place: a new image
    assert np.array_equal(three_class_thresholds(changed, remember=True), threshold_multiotsu(changed, classes=3, nbins=128))
    for flat in (np.zeros((20, 20), np.float32), np.array([[0.0, 1.0]], np.float32)):
        with pytest.raises(ValueError):
            threshold_multiotsu(flat, classes=3, nbins=128)
        with pytest.raises(ValueError):
            three_class_thresholds(flat)


def test_bin_edges_are_numpys(channels):
    """Edges (or the error) of ``np.histogram_bin_edges`` over the values' range: crops, flat, narrow, integer, NaN."""
    rng = np.random.default_rng(11)
    arrays = [channel for channel in channels[:6]] + [rng.random(50), np.zeros(10, np.float32), np.array([1, 2, 3]),
                                                      np.array([5, 5], np.uint8), np.array([1e-30, 1e-30], np.float32),
                                                      np.array([3.0, np.nan], np.float32), np.array([0.0, np.inf])]
    arrays += [np.float32(1) + np.arange(steps, dtype=np.float32) * np.float32(2.0 ** -23) for steps in (30, 127, 128, 129, 140)]
    for values in arrays:
        try:
            expected = np.histogram_bin_edges(values, 128, range=(values.min(), values.max()))
        except ValueError:
            with pytest.raises(ValueError):
                _bin_edges(values, 128)
            continue
        found = _bin_edges(values, 128)
        assert found.dtype == expected.dtype and np.array_equal(found, expected)


def test_three_class_otsu_is_multiotsus_search(channels):
    """The compiled search on histograms of crops, and on ones built to break it: sparse, ties, empty ends, three values."""
    rng = np.random.default_rng(9)
    histograms = []
    for channel in channels:
        edges = np.histogram_bin_edges(channel, 128, range=(channel.min(), channel.max()))
        histograms.append(bin_counts(channel, edges))
    for _ in range(300):
        counts = rng.integers(0, 1000, int(rng.integers(3, 200)))
        counts[rng.random(counts.size) < rng.random()] = 0  # sparse ones, empty ends among them
        if counts.any():
            histograms.append(counts)
    histograms += [np.ones(128, np.int64), np.r_[0, 5, 0, 0, 7, 9, 0], np.r_[3, 0, 0, 3, 3], np.r_[1, 2, 3, 4]]
    for counts in histograms:
        centres = np.arange(len(counts), dtype=float)
        try:
            expected = threshold_multiotsu(hist=(counts / np.sum(counts), centres), classes=3)
        except ValueError:
            with pytest.raises(ValueError):
                three_class_otsu(counts)
            continue
        assert np.array_equal(centres[list(three_class_otsu(counts))], expected)


def test_remembered_thresholds_are_per_thread(channels):
    from concurrent.futures import ThreadPoolExecutor

    expected = [threshold_multiotsu(channel, classes=3, nbins=128) for channel in channels]

    def asked(index):
        return three_class_thresholds(channels[index % len(channels)], remember=True)

    with ThreadPoolExecutor(4) as pool:
        found = list(pool.map(asked, range(8 * len(channels))))
    for index, thresholds in enumerate(found):
        assert np.array_equal(thresholds, expected[index % len(channels)])


def test_flood_from_markers_is_scikit_images_watershed(channels):
    rng = np.random.default_rng(1)
    cases = []
    for channel in channels:  # segmentation's use: -distance of a stained mask, nucleus and peak markers
        low, high = three_class_thresholds(channel)
        foreground, seeds = channel > low, channel > high
        distance = _distance(foreground)
        markers = np.where(foreground, 0, 2).astype(np.int32)
        markers[(distance >= np.max(distance) * 0.8) & foreground] = 2
        markers[seeds & foreground] = 1
        cases.append((-distance, markers))
    for _ in range(3000):  # plateaus and ties: integer levels, markers of up to four labels side by side
        shape = tuple(int(n) for n in rng.integers(1, 30, 2))
        image = (rng.integers(0, int(rng.integers(1, 5)), shape) * rng.choice([1.0, -1.0, 0.5, -0.7])).astype(np.float32)
        if rng.random() < 0.3:
            image = (rng.random(shape) * 3 - 1).astype(np.float32)
        markers = np.where(rng.random(shape) < rng.uniform(0.01, 0.5),
                           rng.integers(1, int(rng.integers(2, 6)), shape), 0).astype(np.int32)
        cases.append((image, markers))
    for shape in [(254, 254), (255, 254), (300, 200)]:  # at the most pixels a heap item names, and past it
        image = (rng.integers(0, 6, shape) * -0.5).astype(np.float32)
        markers = np.where(rng.random(shape) < 0.01, rng.integers(1, 4, shape), 0).astype(np.int32)
        cases.append((image, markers))
    for image, markers in cases:
        assert np.array_equal(flood_from_markers(image, markers), watershed(image, markers))
    with pytest.raises(TypeError):
        flood_from_markers(np.zeros((3, 3)), np.ones((3, 3), np.int32))


def test_distances_to_are_the_transform_read_at_the_pixels_asked(channels):
    rng = np.random.default_rng(10)
    targets = [channel > three_class_thresholds(channel)[1] for channel in channels]
    for _ in range(1500):  # speckle, blobs, single pixels, targets touching the border or filling the image
        shape = (int(rng.integers(1, 50)), int(rng.integers(1, 50)))
        kind = rng.random()
        if kind < 0.4:
            targets.append(rng.random(shape) < rng.uniform(0.001, 1.0))
        elif kind < 0.8:
            blurred = cv2.GaussianBlur(rng.random(shape).astype(np.float32), (0, 0), float(rng.uniform(0.5, 6)))
            targets.append(blurred > rng.uniform(0.2, 0.8))
        else:
            target = np.zeros(shape, bool)
            target[int(rng.integers(shape[0])), int(rng.integers(shape[1]))] = True
            targets.append(target)
    targets = [target for target in targets if target.any()]
    assert len(targets) > 1000
    for target in targets:
        expected = distances_to_outside(~target) if not target.all() else np.zeros(target.shape, np.float32)
        assert np.array_equal(expected, ndi.distance_transform_edt(~target).astype(np.float32))
        for asked in (0.01, 0.1, 1.0):  # a few pixels (each against the target's edge) or all (the whole transform)
            rows, cols = np.nonzero(rng.random(target.shape) < asked)
            assert np.array_equal(distances_to(target, rows, cols), expected[rows, cols])
    with pytest.raises(ValueError):
        distances_to(np.zeros((3, 3), bool), np.array([1]), np.array([1]))


def test_region_statistics_are_bincount_and_find_objects(channels):
    rng = np.random.default_rng(2)
    masks = [channel > three_class_thresholds(channel)[0] for channel in channels]
    masks += [rng.random(tuple(int(n) for n in rng.integers(1, 60, 2))) < 0.5 for _ in range(300)]
    for mask in masks:
        count, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=4)
        marked = rng.random(mask.shape) < 0.3
        areas, hits, boxes = region_statistics(labels, count, marked)
        assert np.array_equal(areas, np.bincount(labels.ravel(), minlength=count))
        assert np.array_equal(hits, np.bincount(labels[marked], minlength=count))
        found = [(box[0].start, box[0].stop, box[1].start, box[1].stop) for box in ndi.find_objects(labels)]
        assert [tuple(box) for box in boxes[1:].tolist()] == found
        rows, cols = np.nonzero(labels == 0)  # the background's box too, and labels without pixels
        if len(rows):
            assert tuple(boxes[0]) == (rows.min(), rows.max() + 1, cols.min(), cols.max() + 1)
        empty = region_statistics(labels, count + 2, marked)[2][count:]
        assert np.all(empty[:, 0] > empty[:, 1]) and np.all(empty[:, 2] > empty[:, 3])


def test_interquartile_mean_is_scipys_trim_mean():
    rng = np.random.default_rng(3)
    for _ in range(2000):
        values = rng.random(int(rng.integers(1, 40))) * float(rng.integers(1, 100))
        if rng.random() < 0.3:
            values = np.round(values)  # ties
        assert _interquartile_mean(values) == float(trim_mean(values, 0.25))


def _small_holes_by_scipy(mask, max_area):
    """The holes up to ``max_area`` pixels, straightforwardly: SciPy's 4-connected labels of the background."""
    labels, count = ndi.label(~mask)
    areas = np.bincount(labels.ravel(), minlength=count + 1)
    small = areas <= max_area
    small[np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))] = False
    small[0] = False
    return mask | small[labels]


def test_fill_holes_are_scipys(channels):
    rng = np.random.default_rng(4)
    masks = [channel > three_class_thresholds(channel)[0] for channel in channels]
    masks += [rng.random(tuple(int(n) for n in rng.integers(1, 40, 2))) < rng.uniform(0.2, 0.9) for _ in range(1000)]
    masks += [np.zeros((3, 4), bool), np.ones((3, 4), bool), np.ones((1, 1), bool)]
    for mask in masks:
        assert np.array_equal(fill_holes(mask), ndi.binary_fill_holes(mask))
        for max_area in (0, 1, 5, 300, mask.size):
            expected = _small_holes_by_scipy(mask, max_area)
            assert np.array_equal(fill_small_holes(mask, max_area), expected)
            assert np.array_equal(fill_holes(mask, max_area), expected)


def test_label_sums_minima_and_opencv_labels_are_scipys(channels):
    rng = np.random.default_rng(5)
    masks = [channel > three_class_thresholds(channel)[1] for channel in channels]
    masks += [rng.random(tuple(int(n) for n in rng.integers(1, 50, 2))) < rng.uniform(0.1, 0.9) for _ in range(500)]
    for mask in masks:
        count, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=4)
        expected, found = ndi.label(mask)
        assert count - 1 == found and np.array_equal(labels, expected)  # the same numbering
        flat = labels.ravel()
        row, col = np.indices(labels.shape, dtype=float)
        sizes, rows, cols = label_sums(labels, count)
        assert np.array_equal(sizes, np.bincount(flat, minlength=count))
        assert np.array_equal(rows.astype(float), np.bincount(flat, row.ravel(), count))
        assert np.array_equal(cols.astype(float), np.bincount(flat, col.ravel(), count))
        values = _distance(~mask)
        minima = np.full(count, np.inf, np.float32)
        np.minimum.at(minima, flat, values.ravel())
        assert np.array_equal(label_minima(labels, count, values), minima)


def test_count_off_mask_in_polygon_is_points_in_poly():
    """label_shape's count of the pixels outside a region whose centres lie in its hull, on its own: exact
    integers against scikit-image's points_in_poly (a negative count where the polygon has no area)."""
    from wekawbc.cells._kernels import _count_off_mask_in_polygon

    def count(mask, corners):
        return int(_count_off_mask_in_polygon(np.ascontiguousarray(mask, dtype=bool), np.asarray(corners, np.int64)))

    rng = np.random.default_rng(6)
    for _ in range(2000):  # small integer hulls, either orientation, grid points on and beside their edges
        spots = rng.integers(-4, 44, (int(rng.integers(3, 30)), 2))
        if rng.random() < 0.3:  # on a coarse grid: edges along rows and columns
            spots = (spots // 8) * 8
        corners = cv2.convexHull(spots.astype(np.int32)).reshape(-1, 2)
        corners = corners[::-1] if rng.random() < 0.5 else corners
        mask = rng.random((int(rng.integers(1, 22)), int(rng.integers(1, 22)))) < rng.random()
        if cv2.contourArea(corners) == 0:
            assert count(mask, corners) < 0
            continue
        points = 2 * np.argwhere(~mask)
        expected = np.count_nonzero(points_in_poly(points.astype(float), corners.astype(float))) if len(points) else 0
        assert count(mask, corners) == expected


def test_label_shape_is_opencvs_moments_and_scikit_images_convex_hull(channels):
    """Raw moments and convex area of each region, in its box, among other labels: red cells, blobs, lines, single pixels."""
    cases = []
    for channel in channels[::2]:
        labels, _ = ndi.label(channel > three_class_thresholds(channel)[0])
        cases += [(labels, label, box) for label, box in enumerate(ndi.find_objects(labels), 1)][:30]
    rng = np.random.default_rng(8)
    for _ in range(150):  # blobs touching their box's edges, speckle (holes, diagonal neighbours), thin lines, one pixel
        labels = (rng.random(tuple(rng.integers(1, 25, 2))) < rng.random()).astype(np.int32)
        labels[rng.random(labels.shape) < 0.2] = 2
        if rng.random() < 0.5:
            cv2.ellipse(labels, (int(rng.integers(0, 25)), int(rng.integers(0, 25))), (int(rng.integers(0, 9)), int(rng.integers(0, 9))),
                        float(rng.integers(0, 180)), 0, 360, 3, -1)
        cases += [(labels, label, box) for label, box in enumerate(ndi.find_objects(labels), 1) if box is not None]
    assert len(cases) > 400
    for labels, label, box in cases:
        region = labels[box] == label
        moments, area = label_shape(labels, label, (box[0].start, box[0].stop, box[1].start, box[1].stop))
        expected = cv2.moments(region.astype(np.uint8), binaryImage=True)
        assert moments.tolist() == [expected[name] for name in ("m00", "m10", "m01", "m20", "m11", "m02")]
        assert area == np.count_nonzero(convex_hull_image(region))


def test_stain_planes_are_numpys(datasets):
    rng = np.random.default_rng(7)
    images = [read_image(record.image) for name, _ in LABS for record in list(load_dataset(datasets / name))[::150]]
    blurred = [cv2.GaussianBlur(rgb.astype(np.float32) / 255.0, (0, 0), 1.0) for rgb in images]
    blurred += [rng.random((int(rng.integers(1, 50)), int(rng.integers(1, 50)), 3)).astype(np.float32) for _ in range(200)]
    for data in blurred:
        darkness = 1.0 - data[..., 1]
        expected = (darkness, darkness + data[..., 2] - data[..., 0], data[..., 2] > data[..., 0])
        for found, wanted in zip(stain_planes(data), expected):
            assert found.dtype == wanted.dtype and np.array_equal(found, wanted)
    with pytest.raises(TypeError):
        stain_planes(np.zeros((4, 4, 3)))


def test_unit_planes_are_numpys(datasets):
    rng = np.random.default_rng(10)
    images = [read_image(record.image) for name, _ in LABS for record in list(load_dataset(datasets / name))[::150]]
    images += [rng.integers(0, 256, (int(rng.integers(1, 40)), int(rng.integers(1, 40)), 3), dtype=np.uint8) for _ in range(100)]
    for index, rgb in enumerate(images):
        for view in (rgb, rgb[3:-5, 7:]):  # whole, and a window (not contiguous)
            blue_weight = (1.0, 0.7, 1.3, 0.0)[index % 4]
            data = view.astype(np.float32) / 255.0
            darkness = 1.0 - data[..., 1]
            expected = (darkness, darkness + blue_weight * (data[..., 2] - data[..., 0]))
            for found, wanted in zip(unit_planes(view, blue_weight), expected):
                assert found.dtype == wanted.dtype and np.array_equal(found, wanted)
    with pytest.raises(TypeError):
        unit_planes(np.zeros((4, 4, 3)), 1.0)


def test_to_unit_float_is_numpys_division(datasets):
    """The compiled ``astype(np.float32) / 255.0`` of crops, their green plane (a view) and windows, and every level."""
    images = [read_image(record.image) for name, _ in LABS for record in list(load_dataset(datasets / name))[::150]]
    images.append(np.arange(256, dtype=np.uint8).reshape(16, 16, 1).repeat(3, axis=2))
    for rgb in images:
        for image in (rgb, rgb[..., 1], rgb[5:-3, 2:-7], rgb[5:-3, 2:-7, 0]):
            found = to_unit_float(image, np.empty(image.shape, np.float32))
            assert found.dtype == np.float32 and np.array_equal(found, image.astype(np.float32) / 255.0)
    with pytest.raises(TypeError):
        to_unit_float(np.zeros((4, 4), np.float32), np.empty((4, 4), np.float32))
    with pytest.raises(TypeError):
        to_unit_float(np.zeros((4, 4), np.uint8), np.empty((4, 5), np.float32))


def test_masked_histograms_are_bincounts(datasets):
    rng = np.random.default_rng(8)
    images = [read_image(record.image) for name, _ in LABS for record in list(load_dataset(datasets / name))[::200]]
    images += [rng.integers(0, 256, (int(rng.integers(1, 40)), int(rng.integers(1, 40)), 3), dtype=np.uint8)
               for _ in range(100)]
    images += [rng.integers(0, 256, (30, 20, channels), dtype=np.uint8) for channels in (1, 2, 4)]  # (not RGB)
    for rgb in images:
        for mask in (rng.random(rgb.shape[:2]) < 0.5, np.zeros(rgb.shape[:2], bool), np.ones(rgb.shape[:2], bool)):
            for window in ((slice(None), slice(None)), (slice(1, None), slice(0, -1))):  # whole, and a view
                found = masked_histograms(rgb[window], mask[window])
                assert found.shape == (rgb.shape[2], 256)
                for channel in range(rgb.shape[2]):
                    assert np.array_equal(found[channel], np.bincount(rgb[window][mask[window]][:, channel], minlength=256))


def test_distances_to_outside_are_scipys_exact_transform(channels):
    rng = np.random.default_rng(9)
    masks = [channel > three_class_thresholds(channel)[0] for channel in channels]
    for _ in range(1500):  # speckle and blobs, thin and single-row shapes
        shape = (int(rng.integers(1, 60)), int(rng.integers(1, 60)))
        if rng.random() < 0.5:
            masks.append(rng.random(shape) < rng.uniform(0.3, 0.999))
        else:
            blurred = cv2.GaussianBlur(rng.random(shape).astype(np.float32), (0, 0), float(rng.uniform(0.5, 6)))
            masks.append(blurred > rng.uniform(0.2, 0.8))
    for _ in range(200):  # a single pixel outside (columns and rows without one), or one row or column outside
        shape = (int(rng.integers(1, 40)), int(rng.integers(1, 40)))
        mask = np.ones(shape, bool)
        row, col = int(rng.integers(shape[0])), int(rng.integers(shape[1]))
        masks += [mask.copy() for _ in range(3)]
        masks[-3][row, col] = False
        masks[-2][row] = False
        masks[-1][:, col] = False
    masks = [mask for mask in masks if not mask.all()]
    assert len(masks) > 1000
    for mask in masks:
        assert np.array_equal(distances_to_outside(mask), ndi.distance_transform_edt(mask).astype(np.float32))
    with pytest.raises(ValueError):
        distances_to_outside(np.ones((3, 3), bool))


def _pillow_rgb(path) -> np.ndarray:
    """What read_image gave for every JPEG before OpenCV decoded complete ones: Pillow's pixels."""
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def test_jpeg_read_by_opencv_is_pillows(datasets, tmp_path):
    from PIL import Image

    paths = []
    for name in ("pbc", "jtsc", "bccd"):
        records = list(load_dataset(datasets / name))
        paths += [record.image for record in records[:: max(len(records) // 40, 1)]]
    assert sum(path.suffix.lower() in {".jpg", ".jpeg"} for path in paths) > 40
    for path in paths:
        assert np.array_equal(read_image(path), _pillow_rgb(path)), path
    # Encoder settings a lab's files may have: progressive, every chroma subsampling, odd sizes, low
    # and high quality, an EXIF orientation tag (ignored by both), bytes after the end marker.
    rng = np.random.default_rng(3)
    rgb = read_image(paths[0])
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90°": Pillow does not apply it, OpenCV is told not to
    for index in range(16):
        rows, cols = int(rng.integers(9, 200)), int(rng.integers(9, 200))
        crop = np.ascontiguousarray(rgb[:rows, :cols])
        if index % 4 == 3:  # noise: every coefficient busy
            crop = rng.integers(0, 256, crop.shape, dtype=np.uint8)
        path = tmp_path / f"{index}.jpg"
        Image.fromarray(crop).save(path, quality=int(rng.choice([30, 75, 95, 100])), subsampling=index % 3,
                                   progressive=index % 2 == 1, exif=exif if index % 5 == 0 else Image.Exif())
        if index % 7 == 6:
            path.write_bytes(path.read_bytes() + b"trailing bytes")  # Pillow decodes these
        assert np.array_equal(read_image(path), _pillow_rgb(path)), index


def test_kept_buffers_give_fresh_arrays_numbers(datasets):
    """The red cells' stain planes and the plasma's darkness computed in kept work arrays: the numbers of
    fresh arrays, whatever the image size before, and in several threads at once."""
    from concurrent.futures import ThreadPoolExecutor

    from wekawbc.cells.stain import _darkness

    images = []
    for name, count in LABS:
        records = list(load_dataset(datasets / name))
        images += [read_image(record.image) for record in records[:: max(len(records) // count, 1)][:count]]
    images += [np.ascontiguousarray(image[3:-5, 7:]) for image in images[::3]]  # other sizes in between

    def both(rgb):
        return _stain_channels(rgb), _darkness(rgb).copy()

    def expected(rgb):
        planes = stain_planes(cv2.GaussianBlur(rgb.astype(np.float32) / 255.0, (0, 0), 1.0))
        return planes, 1.0 - cv2.GaussianBlur(rgb[..., 1].astype(np.float32) / 255.0, (0, 0), 1.0)

    with ThreadPoolExecutor(4) as pool:
        found = list(pool.map(both, images * 2))
    for rgb, (planes, darkness) in zip(images * 2, found):
        want_planes, want_darkness = expected(rgb)
        assert all(np.array_equal(a, b) for a, b in zip(planes, want_planes))
        assert darkness.dtype == np.float32 and np.array_equal(darkness, want_darkness)


def test_pool_workers_start_from_the_warmed_fork_server(datasets):
    """The fork server's warm-up runs (a broken one would only leave workers cold, so it is called here),
    and workers forked from the warmed server extract what the serial run extracts."""
    import pandas as pd

    from wekawbc.cells.dataset import CellDataset
    from wekawbc.features._warm import warm
    from wekawbc.features.batch import extract_dataset

    warm()
    dataset = load_dataset(datasets / "pbc")
    four = CellDataset(records=list(dataset)[::900][:4], root=dataset.root, layout=dataset.layout)
    serial, parallel = extract_dataset(four, jobs=1), extract_dataset(four, jobs=2)
    assert len(serial.table) == 4 and [o.status for o in parallel.outcomes] == ["ok"] * 4
    pd.testing.assert_frame_equal(serial.table, parallel.table)
