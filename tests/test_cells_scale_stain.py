"""Physical scale from red cells (images rescaled by known factors) and stain/illumination normalisation."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from wekawbc.cells.dataset import load_dataset, read_image
from wekawbc.cells.scale import LEUKOCYTE_DIAMETER_UM, RED_CELL_DIAMETER_UM, estimate_scale
from wekawbc.cells.segmentation import segment_cell
from wekawbc.cells.stain import background_colour, normalise_stain, optical_density, white_balance

FACTORS = (0.7, 1.4)


def _records(datasets, name, step):
    return list(load_dataset(datasets / name))[::step]


def _rescaled(rgb, factor):
    return cv2.resize(rgb, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR)


@pytest.mark.parametrize("name,step", [("pbc", 500), ("bccd", 25)])
def test_red_cell_scale_follows_a_known_rescaling_within_5_percent(datasets, name, step):
    checked = 0
    for record in _records(datasets, name, step):
        rgb = read_image(record.image)
        base = estimate_scale(rgb, segment_cell(rgb).cell_mask)
        if base.source != "red cells":
            continue
        assert 0.03 < base.um_per_pixel < 0.3  # a light microscope's oil-immersion range
        for factor in FACTORS:
            image = _rescaled(rgb, factor)
            scaled = estimate_scale(image, segment_cell(image).cell_mask)
            assert scaled.source == "red cells", (record.image, factor, scaled.note)
            # Magnified by `factor`, each pixel covers 1/factor as much: µm/px must follow.
            assert scaled.um_per_pixel * factor == pytest.approx(base.um_per_pixel, rel=0.05), (record.image, factor)
        checked += 1
    assert checked >= 4


def test_pbc_red_cells_give_one_consistent_scale(datasets):
    scales = []
    for record in _records(datasets, "pbc", 250):
        rgb = read_image(record.image)
        scale = estimate_scale(rgb, segment_cell(rgb).cell_mask)
        assert scale.source == "red cells" and scale.red_cells >= 1, scale.note
        scales.append(scale.um_per_pixel)
    # One microscope (CellaVision DM96): three in four images within 15 % of the median (a per-image
    # estimate rests on a few red cells, some overlapping: it scatters by about that much).
    assert np.mean(np.abs(np.array(scales) / np.median(scales) - 1) < 0.15) >= 0.75


def test_no_red_cell_falls_back_to_the_leukocyte_then_to_none_and_says_so(datasets):
    rgb = read_image(datasets / "jtsc" / "images" / "001.bmp")  # a tight crop: red cells cut off
    cell = segment_cell(rgb).cell_mask
    scale = estimate_scale(rgb, cell)
    assert scale.source == "leukocyte" and "no whole red cell" in scale.note
    diameter = 2 * math.sqrt(cell.sum() / math.pi)
    assert scale.um_per_pixel == pytest.approx(LEUKOCYTE_DIAMETER_UM / diameter)
    flat = np.full((64, 64, 3), 200, np.uint8)
    none = estimate_scale(flat)
    assert none.source == "none" and not none.known and math.isnan(none.um_per_pixel) and "--pixel-size" in none.note
    user = estimate_scale(flat, pixel_size=0.1)
    assert user.source == "user" and user.um_per_pixel == 0.1
    with pytest.raises(ValueError, match="positive"):
        estimate_scale(flat, pixel_size=-1.0)


def test_synthetic_red_cells_of_known_size_give_the_scale():
    image = np.full((300, 300, 3), (235, 225, 215), np.uint8)
    for centre in ((60, 60), (60, 200), (220, 90), (210, 230)):
        cv2.circle(image, centre, 25, (200, 150, 160), -1)
        cv2.circle(image, centre, 10, (220, 190, 190), -1)  # central pallor
    scale = estimate_scale(image)
    assert scale.source == "red cells" and scale.red_cells == 4
    assert scale.um_per_pixel == pytest.approx(RED_CELL_DIAMETER_UM / 51, rel=0.03)


def _illumination_shift(rgb, gains=(0.85, 1.0, 1.12)):
    return np.clip(rgb.astype(np.float64) * gains, 0, 255).astype(np.uint8)


def test_white_balance_undoes_a_lamp_colour_change(datasets):
    for record in _records(datasets, "pbc", 700) + _records(datasets, "bccd", 120):
        rgb = read_image(record.image)
        shifted = _illumination_shift(rgb)
        before = np.abs(shifted.astype(float) - rgb).mean()
        first = normalise_stain(rgb, "white-balance").rgb.astype(float)
        second = normalise_stain(shifted, "white-balance").rgb.astype(float)
        # Tolerance: 2 grey levels mean absolute difference (rounding, clipping, a moved plasma threshold).
        assert np.abs(first - second).mean() < 2.0 < before, record.image


def test_optical_density_relative_to_plasma_ignores_the_lamp(datasets):
    rgb = read_image(next(iter(load_dataset(datasets / "pbc"))).image)
    cell = segment_cell(rgb)
    for image in (rgb, _illumination_shift(rgb)):
        background, _ = background_colour(image, cell.cell_mask)
        density = optical_density(image[cell.nucleus_mask].mean(axis=0), background)
        if image is rgb:
            reference = density
    assert np.allclose(density, reference, atol=0.02)
    assert (reference > 0.1).all()  # a nucleus absorbs in every channel


def test_reinhard_brings_a_stain_shift_back_towards_the_reference(datasets):
    rgb = read_image(next(iter(load_dataset(datasets / "pbc"))).image)
    lab_shift = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
    lab_shift[..., 0] = (lab_shift[..., 0].astype(int) + 8) % 180  # hue turned by 16°
    shifted = cv2.cvtColor(lab_shift, cv2.COLOR_HSV2RGB)
    first = normalise_stain(rgb, "reinhard").rgb.astype(float)
    second = normalise_stain(shifted, "reinhard").rgb.astype(float)
    assert np.abs(first - second).mean() < 0.5 * np.abs(shifted.astype(float) - rgb).mean()


def test_bad_stain_method_and_flat_images():
    flat = np.full((32, 32, 3), 180, np.uint8)
    with pytest.raises(ValueError, match="stain method"):
        normalise_stain(flat, "macenko")
    result = normalise_stain(flat, "white-balance")
    assert result.background == (180.0, 180.0, 180.0)
    assert (white_balance(flat, np.array(result.background)) == 240).all()


def test_dataset_scale_prefers_the_user_then_red_cells_then_leukocytes():
    from wekawbc.cells.scale import MIN_RED_CELL_IMAGES, Scale, dataset_scale

    red = [Scale(0.1 + 0.01 * i, "red cells", "", 3) for i in range(MIN_RED_CELL_IMAGES)]
    leukocyte = [Scale(0.3, "leukocyte", "")] * 10
    assert dataset_scale(red + leukocyte).um_per_pixel == pytest.approx(0.11)
    assert dataset_scale(red + leukocyte).source == "red cells"
    few = dataset_scale(red[:1] + leukocyte)
    assert few.source == "leukocyte" and few.um_per_pixel == 0.3 and "fewer than" in few.note
    assert dataset_scale([Scale(0.2, "user", "")] + red).source == "user"
    assert dataset_scale([Scale(math.nan, "none", "")]).source == "none"


def test_size_features_are_moved_to_the_data_set_scale(datasets):
    import pandas as pd

    from wekawbc.features import extract_features, feature_names
    from wekawbc.features.batch import SCALE_COLUMNS, rescale_to_dataset

    rows = []
    for record in _records(datasets, "pbc", 900):
        cell = extract_features(read_image(record.image), mode="crop")[0]
        rows.append({"image": str(record.image), **cell.values,
                     **dict(zip(SCALE_COLUMNS, (cell.scale.um_per_pixel, cell.scale.source, cell.scale.note)))})
    table = pd.DataFrame(rows)
    moved, common = rescale_to_dataset(table)
    assert common.source == "red cells" and (moved["um_per_pixel"] == common.um_per_pixel).all()
    ratio = common.um_per_pixel / table["um_per_pixel"]
    assert np.allclose(moved["Cell_Size_Area_um2"], table["Cell_Size_Area_um2"] * ratio ** 2)
    assert np.allclose(moved["Nucleus_Size_MaxFeret_um"], table["Nucleus_Size_MaxFeret_um"] * ratio)
    unchanged = [n for n in feature_names() if "_Size_" not in n]
    assert moved[unchanged].equals(table[unchanged])
