"""Features of segmented leukocytes: one registry of CellProfiler-style names, one computation.

>>> from wekawbc.features import extract_features, feature_names
>>> cells = extract_features(rgb)          # doctest: +SKIP
>>> cells[0].box, cells[0].values["Nucleus_Lobes_Count"]  # doctest: +SKIP

Names are imported on first use, so ``wekawbc --help`` (which imports ``wekawbc.features.cli``)
does not load scikit-image and OpenCV.
"""

from __future__ import annotations

from wekawbc._lazy import lazy_exports

_PUBLIC = {
    "wekawbc.features.compute": ("compute_features",),
    "wekawbc.features.extract": ("CellFeatures", "extract_features"),
    "wekawbc.features.registry": ("FEATURES", "Feature", "feature_names", "feature_table_markdown"),
}
__all__, __getattr__ = lazy_exports(__name__, _PUBLIC)
