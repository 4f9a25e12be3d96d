"""`assetgen library ...`: list, show, check, gc, import and sample a library.

Every command takes --library PATH (default ./library). Errors are assetgen.errors.* (the main CLI prints
them as one line and exits 2); `check` exits 1 when it finds problems. ls, show, check and sample only
read: they work on a library that cannot be written (a read-only mount).
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Iterator, List, Optional

import typer

from ._app import asset_name

app = typer.Typer(help="The asset library: list, show, check, gc, import, sample.", no_args_is_help=True,
                  add_completion=False)

LIBRARY_OPT = typer.Option(Path("library"), "--library", help="Library folder.")
WHERE_OPT = typer.Option(None, "--where", help="KEY=VALUE filter (also != > < >= <=); repeat to AND them.")
LS_LABELS = ("skin_tone", "lipstick", "freckles", "expression", "hair_style", "beard_style")


@contextlib.contextmanager
def _open(path: Path, create: bool = False, readonly: bool | None = True) -> Iterator:
    """The library at `path` (read-only unless told otherwise); a catalogue that fails to read midway
    is a one-line LibraryError naming it, not a traceback."""
    import sqlite3

    from ..library.store import CATALOG, Library, LibraryError

    with Library.open(path, create=create, readonly=readonly) as lib:
        try:
            yield lib
        except sqlite3.DatabaseError as exc:
            raise LibraryError(f"the catalogue {path / CATALOG} cannot be read ({exc}); run `assetgen library "
                               "check` and restore it from a backup") from exc


@app.command("ls")
def ls(
    library: Path = LIBRARY_OPT,
    where: Optional[List[str]] = WHERE_OPT,
    all_versions: bool = typer.Option(False, "--all-versions", help="Also assets superseded by a newer version."),
    limit: Optional[int] = typer.Option(None, "--limit", min=1),
):
    """One asset a line: its hex id first, then name and a few labels."""
    with _open(library) as lib:
        for aid in lib.query(where or [], latest=not all_versions, limit=limit):
            rec = lib.record(aid)
            shown = " ".join(f"{k}={json.dumps(rec.labels[k])}" for k in LS_LABELS if k in rec.labels)
            typer.echo(f"{rec.id}  {rec.name}  {rec.kind}  {shown}".rstrip())


@app.command("show")
def show(asset_id: str = typer.Argument(..., help="Asset id (or a unique prefix)."), library: Path = LIBRARY_OPT):
    """Everything the catalogue holds on one asset, as JSON."""
    with _open(library) as lib:
        typer.echo(json.dumps(lib.record(asset_id).as_dict(), indent=1, sort_keys=True))


@app.command("check")
def check(
    library: Path = LIBRARY_OPT,
    quick: bool = typer.Option(False, "--quick", help="Check blobs exist without re-hashing them."),
):
    """Verify the catalogue's integrity and that every referenced blob exists and matches its hash."""
    with _open(library) as lib:
        problems = lib.check(verify_hashes=not quick)
        stats = lib.stats()
    for p in problems:
        typer.echo(p)
    if problems:
        typer.echo(f"{len(problems)} problem(s) in {library}", err=True)
        # SystemExit, not typer.Exit: the main CLI runs typer with standalone_mode=False, where a
        # typer.Exit's status is returned to it and lost.
        raise SystemExit(1)
    typer.echo(f"ok: {stats['assets']} assets, {stats['blobs_referenced']} blobs", err=True)


@app.command("gc")
def gc(
    library: Path = LIBRARY_OPT,
    dry_run: bool = typer.Option(False, "--dry-run", help="Only report what would be removed."),
):
    """Remove blobs no asset references (left by killed writers) and stale temporary files."""
    with _open(library, readonly=False) as lib:
        files, size = lib.gc(dry_run=dry_run)
    verb = "would remove" if dry_run else "removed"
    typer.echo(f"{verb} {files} unreferenced file(s), {size / 1e6:.2f} MB", err=True)


@app.command("import")
def import_cmd(
    mesh: Path = typer.Argument(..., help="OBJ, PLY or GLB/glTF file (UVs are made with xatlas when missing)."),
    name: Optional[str] = typer.Option(None, "--name", callback=asset_name, help="Asset name (default: the file's stem)."),
    library: Path = LIBRARY_OPT,
    units: str = typer.Option("m", "--units", help="Units of the file's coordinates: m, cm or mm."),
    resolution: int = typer.Option(512, "--resolution", min=16, max=8192, help="Texture size."),
    label: Optional[List[str]] = typer.Option(None, "--label", help="KEY=VALUE label; repeatable."),
    tag: Optional[List[str]] = typer.Option(None, "--tag", help="Tag; repeatable."),
    parent: Optional[str] = typer.Option(None, "--parent", help="Make this a new version of that asset."),
):
    """Import a mesh as a library asset (an accessory, another head). Prints the new id."""
    from ..library.mesh import import_mesh, parse_labels

    asset = import_mesh(mesh, name or mesh.stem, resolution=resolution, units=units,
                        labels=parse_labels(label or []))
    dropped = asset.provenance["imported"].get("dropped_degenerate_faces")
    if dropped:
        lines = ", ".join(str(x) for x in dropped[:10]) + (", ..." if len(dropped) > 10 else "")
        typer.echo(f"note: dropped {len(dropped)} face(s) that repeat a vertex (no area): {mesh} line(s) {lines}",
                   err=True)
    with _open(library, create=True, readonly=False) as lib:
        res = lib.put(asset, tags=tag or [], parent=parent)
    typer.echo(res.id)


@app.command("sample")
def sample(
    spec: Path = typer.Option(..., "--spec", help="Distribution YAML, or a shipped one's name (balanced)."),
    n: int = typer.Option(..., "--n", min=1, max=1_000_000, help="How many assets to draw."),
    seed: int = typer.Option(0, "--seed", min=0, help="Same library + seed -> same draw."),
    library: Path = LIBRARY_OPT,
    where: Optional[List[str]] = WHERE_OPT,
    out: Optional[Path] = typer.Option(None, "--out", help="Also write the ids to this file (one a line)."),
):
    """Draw N assets whose attributes follow a distribution; ids on stdout, achieved ratios on stderr."""
    from ..io import atomic_write_bytes
    from ..library.sample import load_distribution, sample_assets

    from ..resources import yaml_or_name

    dist = load_distribution(yaml_or_name(spec, "distribution"))
    with _open(library) as lib:
        res = sample_assets(lib, dist, n, seed, where=where or [])
    for aid in res.ids:
        typer.echo(aid)
    if out is not None:
        atomic_write_bytes(out, ("\n".join(res.ids) + "\n").encode())
    typer.echo(json.dumps({"requested": res.requested, "achieved": res.achieved, "candidates": res.candidates,
                           "notes": res.notes}, sort_keys=True), err=True)
