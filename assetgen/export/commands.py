"""`assetgen export`: any selection of a library to glb | usd | usdz | obj | blend-script, each asset with
its ground-truth sidecar STEM.gt.json. STEM is the asset's name (name_ID8 where names repeat)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Iterator, List, Optional

import typer

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


def export(
    out: Path = typer.Option(..., "--out", help="Output folder."),
    fmt: str = typer.Option("glb", "--format", help="glb, usd (usda), usdc, usdz, obj or blend-script."),
    library: Path = typer.Option(Path("library"), "--library", help="Library folder."),
    where: Optional[List[str]] = typer.Option(None, "--where", help="KEY=VALUE filter; repeatable (AND)."),
    ids: Optional[Path] = typer.Option(None, "--ids", help="File of asset ids, one a line (e.g. from `library sample --out`)."),
    all_versions: bool = typer.Option(False, "--all-versions", help="Also superseded versions."),
    face_model: Optional[Path] = typer.Option(None, "--face-model", help="Face-model folder."),
):
    """Export library assets to renderer formats, each with its ground-truth sidecar."""
    id_list = None
    if ids is not None:
        try:
            id_list = [line.strip() for line in ids.read_text().splitlines() if line.strip()]
        except OSError as exc:
            raise InputError(f"cannot read --ids {ids}: {exc.strerror or exc}") from exc
        id_list = list(dict.fromkeys(id_list))  # a sample may repeat an asset; export it once
    files = export_library(library, fmt, out, where=where or [], ids=id_list, all_versions=all_versions,
                           face_model=face_model)
    for f in files:
        typer.echo(str(f))
