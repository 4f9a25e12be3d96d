"""`assetgen export`: any selection of a library to glb | usd | usdz | obj | blend-script, each asset with
its ground-truth sidecar STEM.gt.json. STEM is the asset's name (name_ID8 where names repeat)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from ..export.selection import export_library
from ._app import read_ids, writes_output


@writes_output
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
    id_list = read_ids(ids) if ids is not None else None
    files = export_library(library, fmt, out, where=where or [], ids=id_list, all_versions=all_versions,
                           face_model=face_model)
    for f in files:
        typer.echo(str(f))
