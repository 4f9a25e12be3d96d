"""Categorical priors shared by the procedural attachments (hair, items): checking {choice: weight} tables
and drawing from them with one uniform, so every sampler lays out its CDF the same way."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


def check_choice_tables(rows: Iterable[tuple[str, dict[str, float], tuple[str, ...]]]) -> None:
    """ValueError (one line, naming the table) for a (name, table, known choices) row whose table names an
    unknown choice, has a negative weight or sums to nothing."""
    for name, table, known in rows:
        bad = [k for k in table if k not in known]
        if bad:
            raise ValueError(f"{name}: unknown choice(s) {bad}; known: {', '.join(known)}")
        if any(v < 0 for v in table.values()) or sum(table.values()) <= 0:
            raise ValueError(f"{name}: probabilities must be >= 0 with a positive sum")


def choice(u: float, table: dict[str, float], order: tuple[str, ...]) -> str:
    """Inverse-CDF categorical choice from one uniform (order fixes the layout of the CDF)."""
    keys = [k for k in order if table.get(k, 0) > 0]
    p = np.array([table[k] for k in keys], np.float64)
    c = np.cumsum(p / p.sum())
    return keys[min(int(np.searchsorted(c, u, side="right")), len(keys) - 1)]
