"""Domain randomisation of crops before extraction (benchmarks/cross_lab_augment.py), on real pbc crops."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")


@pytest.fixture(scope="module")
def crop(datasets):
    from wekawbc.cells.dataset import read_image

    return read_image(sorted((datasets / "pbc" / "images" / "neutrophil").glob("*.jpg"))[0])


def test_seeded_copies_repeat_and_differ(crop):
    from benchmarks.cross_lab_augment import SETTINGS, augment_image

    first = augment_image(crop, SETTINGS["strong"], np.random.default_rng([1, 0, 0]))
    again = augment_image(crop, SETTINGS["strong"], np.random.default_rng([1, 0, 0]))
    other = augment_image(crop, SETTINGS["strong"], np.random.default_rng([1, 0, 1]))
    assert first.dtype == np.uint8 and first.ndim == 3 and first.shape[2] == 3
    assert np.array_equal(first, again)
    assert not (first.shape == other.shape and np.array_equal(first, other))


@pytest.mark.parametrize("name", ["mild", "strong"])
def test_copies_extract(crop, name):
    from benchmarks.cross_lab_augment import SETTINGS, augment_image
    from benchmarks.cross_lab_invariant import table_rows

    for k in range(2):
        rows = table_rows(augment_image(crop, SETTINGS[name], np.random.default_rng([1, 0, k])), "copy", "neutrophil")
        assert rows is not None
        registry, invariant = rows
        assert registry["class"] == "neutrophil" and np.isfinite(registry["um_per_pixel"])
        assert np.isfinite(registry["Cell_Size_Diameter_um"])


def test_rescaled_copy_scale_is_re_estimated(crop):
    """A copy shrunk by 0.7 with no other change: the re-estimated µm per pixel follows 1/0.7 within 5 %,
    so the cell's µm diameter stays within 6 % (the tolerances of tests/test_cells_scale_stain.py)."""
    from benchmarks.cross_lab_augment import Setting, augment_image
    from benchmarks.cross_lab_invariant import table_rows
    from wekawbc.cnn.settings import Augmentation

    still = Augmentation(dihedral=False, brightness=0.0, contrast=0.0, saturation=0.0, channel_gain=0.0)
    setting = Setting(still, (0.7, 0.7), (95, 95))
    original, _ = table_rows(crop, "original", "neutrophil")
    copy, _ = table_rows(augment_image(crop, setting, np.random.default_rng(1)), "copy", "neutrophil")
    assert original["scale_source"] == copy["scale_source"] == "red cells"
    assert copy["um_per_pixel"] == pytest.approx(original["um_per_pixel"] / 0.7, rel=0.05)
    assert copy["Cell_Size_Diameter_um"] == pytest.approx(original["Cell_Size_Diameter_um"], rel=0.06)
