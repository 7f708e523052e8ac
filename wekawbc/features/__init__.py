"""Features of segmented leukocytes: one registry of CellProfiler-style names, one computation.

>>> from wekawbc.features import extract_features, feature_names
>>> cells = extract_features(rgb)          # doctest: +SKIP
>>> cells[0].box, cells[0].values["Nucleus_Lobes_Count"]  # doctest: +SKIP
"""

from wekawbc.features.compute import compute_features
from wekawbc.features.extract import CellFeatures, extract_features
from wekawbc.features.registry import FEATURES, Feature, feature_names, feature_table_markdown

__all__ = ["FEATURES", "CellFeatures", "Feature", "compute_features", "extract_features", "feature_names",
           "feature_table_markdown"]
