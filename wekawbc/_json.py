"""JSON for numbers: NaN and infinities (undefined statistics) as null, numpy values as Python values."""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np

__all__ = ["json_number", "json_ready"]


def json_number(value: Any) -> float | None:
    """``value`` as a float, or None where it is NaN or infinite (JSON has neither)."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def json_ready(value: Any) -> Any:
    """``value`` with every NaN or infinity as None and numpy scalars and arrays as Python values, recursively."""
    if isinstance(value, Mapping):
        return {str(key): json_ready(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [json_ready(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
