"""Export a library selection: pick the assets, name them (STEM = name, or name_ID8 where names repeat) and
hand them to the format writers, each with its ground-truth sidecar STEM.gt.json."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Iterator

from ..errors import InputError


def stems(records) -> list[str]:
    counts = Counter(r.name for r in records)
    return [r.name if counts[r.name] == 1 else f"{r.name}_{r.id[:8]}" for r in records]


def export_library(library: Path, fmt: str, out: Path, where=(), ids: list[str] | None = None,
                   all_versions: bool = False, face_model: Path | None = None) -> list[Path]:
    """Export the assets matching `where` (or the listed ids) in `fmt` into `out`; returns the files."""
    from ..library.store import Library
    from .formats import export_selection

    with Library.open(library, create=False) as lib:
        selected = [lib.resolve(i) for i in ids] if ids else lib.query(list(where), latest=not all_versions)
        if not selected:
            raise InputError("the selection is empty; nothing to export")
        records = [lib.record(i) for i in selected]
        model = None
        if any(r.kind == "face" for r in records):
            from ..face.locate import get_face_model

            model = get_face_model(face_model)

        def assets() -> Iterator:
            for stem, rec in zip(stems(records), records):
                yield stem, lib.load(rec.id, model=model if rec.kind == "face" else None)

        return export_selection(assets(), fmt, out)
