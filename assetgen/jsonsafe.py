"""json_safe: plain JSON values of labels, provenance and records, the same bytes for equal content.

Every JSON record assetgen writes or hashes (GLB extras, ground-truth sidecars, USD custom data,
library records) goes through json_safe first.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np


def json_safe(value: Any) -> Any:
    """A JSON-serialisable copy of `value`: numpy scalars/arrays to Python numbers/lists, tuples to lists,
    dict keys to strings (sorted, so equal content gives equal bytes), non-finite floats to None
    (JSON has no NaN), anything else unknown to its str()."""
    # the plain types first, by exact type (dict, list and tuple before their ABC checks): a data-set record
    # holds tens of thousands of numbers, and an ABC check per value costs more than the rest
    t = type(value)
    if t is float:
        return value if math.isfinite(value) else None
    if t is str or t is int or t is bool or value is None:
        return value
    if t is dict or isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if t is list or t is tuple or isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return f if math.isfinite(f) else None
    if value is None or isinstance(value, str):
        return value
    return str(value)
