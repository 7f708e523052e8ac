"""The speckle and red-cell features (wekawbc.features.invariant.reference_features) on real cells:
the same image under a lamp-colour change, a 1.2 times stronger stain and a rescaling by 0.7 and
1.4 (masks carried along) keeps them within the stated tolerances (set from these five cells, whose
worst cases reach up to about 80 % of each: rescaling moves the speckle and the red-cell borders
most); a tight crop without red cells gives missing red-cell values
and still gives the speckle ones."""

from __future__ import annotations

import math

import numpy as np

from test_features_invariant import _rescaled, _segmented, _stronger_stain
from wekawbc.cells.stain import background_colour
from wekawbc.features.invariant import REFERENCE_FEATURES, reference_features

#: Tolerance per kind of feature under a colour change / a rescaling: absolute for shares, fraction
#: differences and basic-dye ratio, degrees for the hue, relative (a fraction of the value) for the density ratios.
COLOUR = {"FractionDifference": 0.01, "EosinShare": 0.05, "EosinShareDifference": 0.05, "BasicRatio": 0.02,
          "HueDifference": 2.0, "DensityRatio": 0.05, "EosinRatio": 0.08}
SCALE = {"FractionDifference": 0.03, "EosinShare": 0.15, "EosinShareDifference": 0.15, "BasicRatio": 0.03,
         "HueDifference": 10.0, "DensityRatio": 0.12, "EosinRatio": 0.12}
RELATIVE = ("DensityRatio", "EosinRatio")


def _features(rgb, nucleus, cell):
    background, _ = background_colour(rgb, cell)
    return reference_features(rgb, nucleus, cell, background)


def _check(base, other, what, tolerances):
    for name, value in base.items():
        parts = name.split("_")
        kind = parts[-2] if parts[-1] in ("R", "G", "B") else parts[-1]
        tolerance = tolerances[kind] * (abs(value) if kind in RELATIVE else 1.0)
        assert abs(other[name] - value) <= tolerance, f"{what}: {name} {value:.3f} -> {other[name]:.3f}"


def test_reference_features_hold_under_lamp_stain_and_scale_changes(datasets):
    for index in (0, 800, 1500, 2500, 3100):
        image, rgb, nucleus, cell = _segmented(datasets, "pbc", index)
        base = _features(rgb, nucleus, cell)
        assert list(base) == list(REFERENCE_FEATURES)
        assert all(math.isfinite(v) for v in base.values()), f"{image.name}: undefined with red cells in view"
        lamp = np.clip(rgb.astype(np.float64) * (0.85, 1.0, 1.12), 0, 255).astype(np.uint8)
        _check(base, _features(lamp, nucleus, cell), f"{image.name} lamp", COLOUR)
        _check(base, _features(_stronger_stain(rgb, cell), nucleus, cell), f"{image.name} stain x1.2", COLOUR)
        for factor in (0.7, 1.4):
            _check(base, _features(*_rescaled(rgb, nucleus, cell, factor)), f"{image.name} x{factor}", SCALE)


def test_tight_crop_without_red_cells_gives_missing_red_cell_values(datasets):
    _, rgb, nucleus, cell = _segmented(datasets, "jtsc", 3)
    values = _features(rgb, nucleus, cell)
    assert all(math.isnan(v) for k, v in values.items() if "_RedCell_" in k)
    assert all(math.isfinite(v) for k, v in values.items() if "_RedCell_" not in k)
    assert all(math.isnan(v) for v in reference_features(rgb, nucleus, cell, None).values())
