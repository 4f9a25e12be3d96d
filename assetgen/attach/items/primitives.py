"""An asset's items as the renderer and every exporter see them: one triangle primitive per item part,
posed on the asset's vertices, in metres in the GLB's frame, with its own material and region.

Encoding (the shared item contract; export/items.py writes it, render/mesh.py reads it back from a GLB as
ordinary primitives): after the face primitives (and the hair primitives, if any), one primitive per part of
each worn item, items in KINDS order (glasses, clothing, headwear, facewear), parts in the item's order;
material `Item_<kind>_<part>`: metallic-roughness PBR with baseColorTexture (the part's procedural or stored
image, ItemMaterial.texture()), metallicRoughnessTexture (a constant image of the part's roughness and metallic,
the base colour's size), alphaMode OPAQUE or BLEND (clear and tinted lenses), doubleSided; attributes
POSITION, NORMAL, TEXCOORD_0; primitive extras {"assetgen_region": region, "assetgen_item": kind,
"assetgen_part": part}. Regions: glasses, clothing, headwear, facewear (face.labels: FaceSynthetics 15-18).
BLEND parts are overlays: never in the GT layers, so a clear lens's pixel takes the class behind it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...geometry import ITEM_MATERIAL_PREFIX, UNIT_SCALE
from .params import KINDS


@dataclass(frozen=True, eq=False)
class ItemPrimitive:
    """One part of one item, posed, in metres. positions, normals (n, 3) float32; texcoords (n, 2) float32
    glTF (v = 0 at the image's top row); indices (t, 3) int32; base_color (H, W, 3|4) uint8 sRGB;
    roughness, metallic: factors; alpha_mode OPAQUE|BLEND; alpha: BLEND opacity (1 otherwise)."""

    kind: str
    part: str
    region: str
    positions: np.ndarray
    normals: np.ndarray
    texcoords: np.ndarray
    indices: np.ndarray
    base_color: np.ndarray
    roughness: float
    metallic: float
    alpha_mode: str
    alpha: float
    double_sided: bool = True

    @property
    def material(self) -> str:
        return f"{ITEM_MATERIAL_PREFIX}{self.kind}_{self.part}"

    @property
    def n_triangles(self) -> int:
        return len(self.indices)

    @property
    def n_vertices(self) -> int:
        return len(self.positions)

    def metallic_roughness(self) -> np.ndarray:
        """(H, W, 3) uint8 glTF metallicRoughness image (G roughness, B metallic), the base colour's size."""
        img = np.zeros(self.base_color.shape[:2] + (3,), np.uint8)
        img[..., 1] = int(round(self.roughness * 255))
        img[..., 2] = int(round(self.metallic * 255))
        return img


def has_items(asset) -> bool:
    outfit = getattr(asset, "items", None)
    return outfit is not None and any(it.mesh.n_triangles for it in outfit.items)


def item_regions(asset) -> tuple[str, ...]:
    """The regions of the asset's item parts, in KINDS order (empty without items)."""
    if not has_items(asset):
        return ()
    present = {it.mesh.part_region(k) for it in asset.items.items for k in range(len(it.mesh.parts))
               if len(it.mesh.part_triangles(k))}
    return tuple(r for r in KINDS if r in present)


def with_item_regions(base: tuple[str, ...], asset) -> tuple[str, ...]:
    """The GT region list of an asset with items: `base` then the item regions it lacks."""
    return tuple(base) + tuple(r for r in item_regions(asset) if r not in base)


def item_primitives(asset) -> tuple[ItemPrimitive, ...]:
    """The asset's item parts posed on asset.vertices (module docstring for the order); () without items."""
    if not has_items(asset):
        return ()
    scale = UNIT_SCALE[getattr(asset.model, "units", "cm")]
    vertices = np.asarray(asset.vertices)
    out = []
    for it in asset.items.items:
        pos_cm = it.evaluate(vertices)
        nrm = it.normals(vertices, pos_cm)
        pos = (pos_cm.astype(np.float64) * scale).astype(np.float32)
        mesh = it.mesh
        for k, part in enumerate(mesh.parts):
            tri = mesh.part_triangles(k)
            if not len(tri):
                continue
            corners = mesh.triangles[tri]
            used, inverse = np.unique(corners, return_inverse=True)
            mat = mesh.materials[k]
            out.append(ItemPrimitive(
                kind=it.kind, part=part, region=mesh.part_region(k), positions=np.ascontiguousarray(pos[used]),
                normals=np.ascontiguousarray(nrm[used], np.float32),
                texcoords=np.ascontiguousarray(mesh.uv[used], np.float32),
                indices=inverse.reshape(-1, 3).astype(np.int32), base_color=mat.texture(),
                roughness=float(mat.roughness), metallic=float(mat.metallic), alpha_mode=mat.alpha_mode,
                alpha=float(mat.alpha) if mat.alpha_mode == "BLEND" else 1.0, double_sided=bool(mat.double_sided)))
    return tuple(out)
