"""Imported meshes (OBJ, PLY, GLB; with or without UVs) as library assets: an accessory, another head.

A MeshModel quacks like the parts of FaceModel the exporters use (materials, triangles, UVs, normals,
units), with no morphable bases and no landmarks. Meshes without UVs are unwrapped with xatlas.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Iterable

import numpy as np

from ..errors import InputError
from .common import check_name, npy_bytes

MATERIAL = "M_Mesh"


@dataclass(eq=False)
class MeshModel:
    """triangles (T, 3) int64 into vertices; uvs (N, 2) float32 (v up); triangle_uv_index (T, 3) int64."""

    triangles: np.ndarray
    uvs: np.ndarray
    triangle_uv_index: np.ndarray
    units: str = "m"
    source: str = ""
    is_imported_mesh = True

    def __post_init__(self):
        self.mesh = SimpleNamespace(uvs=self.uvs)

    material_names = (MATERIAL,)
    region_names = ("mesh",)
    expression_names: tuple[str, ...] = ()
    identity_names: tuple[str, ...] = ()

    @property
    def triangle_material(self) -> np.ndarray:
        return np.zeros(len(self.triangles), dtype=np.int64)

    @property
    def triangle_region(self) -> np.ndarray:
        return np.zeros(len(self.triangles), dtype=np.int64)

    @property
    def landmarks_68(self) -> np.ndarray:
        return np.zeros(0, dtype=np.int64)

    @property
    def topology_hash(self) -> str:
        h = hashlib.sha256()
        for a in (self.triangles, self.triangle_uv_index, self.uvs):
            h.update(np.ascontiguousarray(a).tobytes())
        return h.hexdigest()[:16]

    def vertex_normals(self, vertices: np.ndarray) -> np.ndarray:
        from ..face.model import vertex_normals

        return vertex_normals(np.asarray(vertices, dtype=np.float32), self.triangles)

    def blobs(self, vertices: np.ndarray) -> dict[str, bytes]:
        return {
            "mesh/vertices": npy_bytes(np.asarray(vertices, dtype=np.float32)),
            "mesh/triangles": npy_bytes(self.triangles.astype(np.int64)),
            "mesh/uvs": npy_bytes(self.uvs.astype(np.float32)),
            "mesh/triangle_uv": npy_bytes(self.triangle_uv_index.astype(np.int64)),
        }

    def describe(self) -> dict[str, Any]:
        return {"units": self.units, "materials": list(self.material_names), "source": self.source,
                "triangles": int(len(self.triangles)), "uvs": int(len(self.uvs))}

    @classmethod
    def from_blobs(cls, desc: dict, arrays: dict[str, np.ndarray]) -> tuple["MeshModel", np.ndarray]:
        model = cls(triangles=arrays["mesh/triangles"], uvs=arrays["mesh/uvs"],
                    triangle_uv_index=arrays["mesh/triangle_uv"], units=desc.get("units", "m"),
                    source=desc.get("source", ""))
        return model, arrays["mesh/vertices"]


def _texture_from(visual, resolution: int):
    """(base_color RGB uint8 image or None, flat RGB colour)."""
    from PIL import Image

    image, color = None, np.array([180, 180, 180], np.uint8)
    material = getattr(visual, "material", None)
    if material is not None:
        img = getattr(material, "baseColorTexture", None) or getattr(material, "image", None)
        if img is not None:
            image = np.asarray(img.convert("RGB").resize((resolution, resolution), Image.Resampling.LANCZOS))
        c = getattr(material, "baseColorFactor", None)
        if c is None:
            c = getattr(material, "main_color", None)
        if c is not None:
            c = np.asarray(c, dtype=np.float64)[:3]
            color = (c if c.max() > 1.0 else c * 255).clip(0, 255).astype(np.uint8)
    vc = getattr(visual, "vertex_colors", None)
    if image is None and vc is not None and len(vc):
        color = np.asarray(vc)[:, :3].mean(axis=0).astype(np.uint8)
    return image, color


def _obj_geometry(path: Path):
    """(vertices, triangles, uvs or None, triangle uv ids or None, dropped) of an OBJ, read strictly
    (assetgen.face.obj): indices resolved per line, checked, faces fan-triangulated. Triangles that
    repeat a vertex (no area, nothing to texture) are dropped; `dropped` lists their OBJ lines."""
    from ..face.model import triangulate
    from ..face.obj import read_obj

    obj = read_obj(path, error=InputError)
    tri, tri_uv, poly = triangulate(obj)
    tri, tri_uv = tri.astype(np.int64), tri_uv.astype(np.int64)
    degenerate = (tri[:, 0] == tri[:, 1]) | (tri[:, 1] == tri[:, 2]) | (tri[:, 0] == tri[:, 2])
    dropped = sorted({int(x) for x in obj.poly_line[poly[degenerate]]})
    if degenerate.all():
        raise InputError(f"{path}: every face repeats a vertex (no area); nothing to import")
    tri, tri_uv = tri[~degenerate], tri_uv[~degenerate]
    if obj.has_uvs:
        return obj.vertices, tri, obj.uvs, tri_uv, dropped
    return obj.vertices, tri, None, None, dropped


def _trimesh_geometry(path: Path, mesh):
    """(vertices, triangles, per-vertex uvs or None, None, []) of a PLY/GLB loaded by trimesh, with
    every index and coordinate checked."""
    vertices = np.asarray(mesh.vertices, dtype=np.float64)
    faces = np.asarray(mesh.faces, dtype=np.int64)
    bad = ~np.isfinite(vertices).all(axis=1)
    if bad.any():
        i = int(np.argmax(bad))
        raise InputError(f"{path}: vertex {i} (0-based) is not finite ({' '.join(f'{x:g}' for x in vertices[i])}); "
                         "fix or remove it")
    if faces.size and (faces.min() < 0 or faces.max() >= len(vertices)):
        raise InputError(f"{path}: a face refers to vertex {int(faces.max())} but the file has {len(vertices)}")
    uv = getattr(mesh.visual, "uv", None)
    if uv is not None and len(uv) == len(vertices):
        uv = np.asarray(uv, dtype=np.float64)
        if not np.isfinite(uv).all():
            i = int(np.argmax(~np.isfinite(uv).all(axis=1)))
            raise InputError(f"{path}: the texture coordinate of vertex {i} (0-based) is not finite")
        return vertices, faces, uv, faces.copy(), []
    return vertices, faces, None, None, []


def _visual(path: Path, mesh=None):
    """trimesh's view of the file's material (texture image, colours); None when it has none."""
    if mesh is not None:
        return mesh.visual
    if path.suffix.lower() == ".obj" and "mtllib" not in path.read_text(encoding="utf-8-sig", errors="replace"):
        return None
    import trimesh

    try:
        return trimesh.load(str(path), force="mesh", process=False).visual
    except Exception:  # the material is optional: a flat colour stands in  # noqa: BLE001
        return None


def import_mesh(path: str | Path, name: str, *, resolution: int = 512, units: str = "m",
                labels: dict | None = None, provenance_extra: dict | None = None):
    """Read an OBJ, PLY or GLB/glTF file into an assetgen Asset of a MeshModel (xatlas when no UVs).

    OBJ files are read by assetgen's strict reader (errors name the line); triangles that repeat a vertex
    are dropped and their lines listed in provenance["imported"]["dropped_degenerate_faces"]."""
    import trimesh

    from ..asset import Asset, code_provenance
    from ..texture.base import MaterialTextures, TextureSet
    from ..uv.unwrap import check_triangle_mesh, unwrap

    check_name(name)
    path = Path(path)
    if path.suffix.lower() not in (".obj", ".ply", ".glb", ".gltf"):
        raise InputError(f"{path}: import reads .obj, .ply, .glb or .gltf files")
    if units not in ("m", "cm", "mm"):
        raise InputError(f"--units must be m, cm or mm, not {units!r}")
    if not path.is_file():
        raise InputError(f"{path} does not exist or is not a file")
    mesh = None
    if path.suffix.lower() == ".obj":
        vertices, faces, uvs, tri_uv, dropped = _obj_geometry(path)
    else:
        try:
            mesh = trimesh.load(str(path), force="mesh", process=False)
        except Exception as exc:  # trimesh raises many kinds  # noqa: BLE001
            raise InputError(f"cannot read mesh {path}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from exc
        if not isinstance(mesh, trimesh.Trimesh) or len(mesh.faces) == 0:
            raise InputError(f"{path} holds no triangles")
        vertices, faces, uvs, tri_uv, dropped = _trimesh_geometry(path, mesh)
    vertices, faces = check_triangle_mesh(vertices, faces)
    image, color = _texture_from(_visual(path, mesh), resolution)
    if uvs is not None:
        uvs = np.asarray(uvs, dtype=np.float32)
        tri = faces.astype(np.int64)
        unwrapped = False
    else:
        un = unwrap(vertices, faces, resolution=resolution)
        vertices, tri, uvs = un.vertices, un.triangles.astype(np.int64), un.uvs
        tri_uv = tri.copy()
        image = None  # an image for other UVs does not fit the new atlas
        unwrapped = True
    model = MeshModel(triangles=tri, uvs=uvs, triangle_uv_index=np.asarray(tri_uv, dtype=np.int64),
                      units=units, source=path.name)
    r = resolution
    base = image if image is not None else np.broadcast_to(color, (r, r, 3)).copy()
    tex = MaterialTextures(
        base_color=np.ascontiguousarray(base, dtype=np.uint8), roughness=np.full(base.shape[:2], 180, np.uint8),
        specular=np.full(base.shape[:2], 255, np.uint8),
        normal=np.broadcast_to(np.array([128, 128, 255], np.uint8), base.shape[:2] + (3,)).copy(),
    )
    textures = TextureSet({MATERIAL: tex}, labels={}, params={"source": "imported", "image": image is not None},
                          backend="imported")
    imported = {"file": path.name, "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                "unwrapped": unwrapped, "units": units}
    if dropped:
        imported["dropped_degenerate_faces"] = dropped
    provenance = {"imported": imported, "code": code_provenance(), **(provenance_extra or {})}
    return Asset(name=name, model=model, vertices=vertices.astype(np.float32), identity_weights=np.zeros(0),
                 expression_weights=np.zeros(0), textures=textures,
                 labels={"kind": "mesh", **(labels or {})}, provenance=provenance)


def parse_labels(items: Iterable[str]) -> dict[str, Any]:
    import json

    out = {}
    for item in items:
        if "=" not in item:
            raise InputError(f"--label {item!r}: expected KEY=VALUE")
        k, v = item.split("=", 1)
        try:
            out[k.strip()] = json.loads(v)
        except ValueError:
            out[k.strip()] = v
    return out
