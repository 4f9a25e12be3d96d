"""json_safe (assetgen.jsonsafe): plain, sorted, finite JSON values of every record assetgen writes or hashes."""

from __future__ import annotations

import collections
import json
from pathlib import Path

import numpy as np

from assetgen.jsonsafe import json_safe


def test_json_safe_gives_plain_sorted_finite_values():
    value = {"b": (1, 2.5, True, None), 3: np.arange(3, dtype=np.int64), "a": {"z": np.float32(0.5), "y": float("nan")},
             "o": collections.OrderedDict([("q", np.bool_(False)), ("p", [np.inf, -0.0])]), "s": Path("x")}
    out = json_safe(value)
    assert out == {"3": [0, 1, 2], "a": {"y": None, "z": 0.5}, "b": [1, 2.5, True, None],
                   "o": {"p": [None, -0.0], "q": False}, "s": "x"}
    assert list(out) == ["3", "a", "b", "o", "s"] and list(out["o"]) == ["p", "q"]
    assert type(out["b"][2]) is bool and type(out["3"][0]) is int and type(out["o"]["q"]) is bool
    json.dumps(out, allow_nan=False)  # every value is plain JSON
