"""Hair as the renderer and the GLB see it: the regions, the shared fibre texture and the hair primitives
of an asset (its groom's ribbons in metres, one alpha-tested primitive per hair region).

The GLB writer encodes exactly these arrays (material Hair_<region>, alphaMode MASK, alphaCutoff 0.5,
base colour texture = fibre_texture(), COLOR_0 = linear RGB fibre colour + ribbon alpha, TANGENT = root ->
tip, w = 1, _OCCLUSION = render.hair_occlusion's bent direction and share, as the face's primitives carry
render.occlusion's), so an asset and its GLB render the same.

The GT rule: the effective alpha of a hair fragment is fibre-texture alpha x COLOR_0 alpha (both
interpolated/filtered like any glTF MASK material); a pixel belongs to a hair region when that hair's
alpha-tested surface (effective alpha >= 0.5) is the nearest surface at the pixel centre.
"""

from __future__ import annotations

import numpy as np

from ..geometry import UNIT_SCALE

# The hair regions (assetgen.attach.hair.REGIONS; repeated here so that reading a GLB does not import the
# groom code). Names already in the face model's list (eyelashes) keep their face id: the GT region list
# is the face list followed by the hair names it does not have yet.
HAIR_REGIONS = ("scalp_hair", "eyebrow_left", "eyebrow_right", "beard", "moustache", "eyelashes")
HAIR_MATERIAL_PREFIX = "Hair_"
HAIR_ALPHA_CUTOFF = 0.5
HAIR_ROUGHNESS = 0.4
FIBRE_TEXTURE_SIZE = (4, 64)  # rows (along the strand, v), columns (across the ribbon, u)
HAIR_GT_RULE = (
    "a pixel belongs to a hair region when that hair's alpha-tested surface is the nearest surface at the pixel "
    "centre: effective alpha = fibre texture alpha (bilinear) x COLOR_0 alpha (interpolated), kept where >= 0.5 "
    "(glTF MASK, alphaCutoff 0.5); hair normals in the normal layer face the camera"
)
HAIR_COVERAGE_RULE = (
    "hair_coverage[..., k] (float32, channel k = hair region k of hair_regions): the mean over the pixel's "
    "supersample grid of c = 1 - prod(1 - a_i), a_i the effective alpha of each ribbon of that region at the "
    "sample (no alpha test), over the ribbons in front of the non-hair surfaces; 0 where no such ribbon"
)


def with_hair_regions(base: tuple[str, ...]) -> tuple[str, ...]:
    """The GT region list of a mesh with hair: `base` (the face model's) then the hair names it lacks."""
    return tuple(base) + tuple(r for r in HAIR_REGIONS if r not in base)


def is_hair(prim) -> bool:
    return prim.material.startswith(HAIR_MATERIAL_PREFIX) and prim.colors is not None


def fibre_texture() -> np.ndarray:
    """(4, 64, 4) uint8 RGBA: RGB white (the colour comes from COLOR_0), alpha = the fibre coverage across
    the ribbon (u = column): soft edges (smoothstep over the outer 15 % of each side) times three fibre
    bundles (0.8 + 0.2 cos), constant along the strand (the fade towards the tip is COLOR_0's alpha)."""
    rows, cols = FIBRE_TEXTURE_SIZE
    u = (np.arange(cols) + 0.5) / cols

    def smooth(x):
        x = np.clip(x, 0.0, 1.0)
        return x * x * (3 - 2 * x)

    alpha = smooth(u / 0.15) * smooth((1 - u) / 0.15) * (0.8 + 0.2 * np.cos(6 * np.pi * (u - 0.5)))
    img = np.full((rows, cols, 4), 255, np.uint8)
    img[..., 3] = np.round(alpha * 255).astype(np.uint8)[None, :]
    return img


def hair_primitive_arrays(asset, ribbon_cache=None, occlusion=None) -> list[tuple[str, dict]]:
    """[(region, arrays)] for each hair region the asset's groom has, in HAIR_REGIONS order: the groom's
    ribbons with their level of detail (attach.hair.ribbons, build_ribbons(lod=True)). arrays:
    positions (n, 3) float32 metres (the face's conversion: float64 multiply, then float32), normals (n, 3),
    tangents (n, 4) (xyz root -> tip, w = 1), texcoords (n, 2) (RibbonMesh uv: u across, v root -> tip),
    colors (n, 4) float32 (linear RGB, alpha), indices (t, 3) int32; occlusion (n,) and bent_normals (n, 3)
    float32 looked up in `occlusion` (the subject's render.hair_occlusion.HairOcclusion) where given. Empty
    when there is no groom.

    ribbon_cache: the subject's RibbonCache (attach.hair.ribbon_cache) when it is posed again and again:
    the same bytes, and a region whose ribbons did not change gets the very arrays dict of the last call
    (so a renderer can tell by identity that this hair primitive is unchanged; treat them as read-only)."""
    groom = getattr(asset, "groom", None)
    if groom is None or not getattr(groom, "groups", ()):
        return []
    from ..attach.hair.ribbons import RibbonMesh, posed_group_ribbons
    from ..attach.hair.strands import REGIONS as GROOM_REGIONS

    built = posed_group_ribbons(groom, asset.model, np.asarray(asset.vertices), lod=True, cache=ribbon_cache)
    scale = UNIT_SCALE[getattr(asset.model, "units", "cm")]
    out = []
    for region in GROOM_REGIONS:
        meshes = [m for g, m in built if g.region == region and m.n_vertices]
        if not sum(m.n_triangles for m in meshes):
            continue
        if ribbon_cache is not None:
            held = ribbon_cache.regions.get(region)
            if held is not None and len(held[0]) == len(meshes) and all(a is b for a, b in zip(held[0], meshes)):
                out.append((region, held[1]))
                continue
        rib = RibbonMesh.concat(meshes) if len(meshes) > 1 else meshes[0]
        n = rib.n_vertices
        tangents = np.ones((n, 4), np.float32)
        tangents[:, :3] = rib.tangents
        colors = np.empty((n, 4), np.float32)
        colors[:, :3] = rib.color
        colors[:, 3] = rib.alpha
        arrays = {
            "positions": (rib.positions.astype(np.float64) * scale).astype(np.float32),
            "normals": np.array(rib.normals, np.float32),
            "tangents": tangents,
            "texcoords": np.array(rib.uv, np.float32),
            "colors": colors,
            "indices": np.array(rib.triangles, np.int32),
        }
        if occlusion is not None:
            arrays["occlusion"], arrays["bent_normals"] = _ribbon_occlusion(occlusion, rib)
        if ribbon_cache is not None:
            ribbon_cache.regions[region] = (tuple(meshes), arrays)
        out.append((region, arrays))
    return out


def _ribbon_occlusion(occlusion, rib) -> tuple[np.ndarray, np.ndarray]:
    """(share (n,), bent (n, 3)) float32 of a RibbonMesh's vertices from a HairOcclusion: looked up once a strand
    point, between its pair of edge vertices (vertices 2 g and 2 g + 1: ribbons.strip_mesh), which share it."""
    pos = np.asarray(rib.positions, np.float64)
    if len(pos) % 2:
        return occlusion.at(pos, rib.normals)
    share, bent = occlusion.at(pos.reshape(-1, 2, 3).mean(1), rib.normals[::2])
    return np.repeat(share, 2), np.repeat(bent, 2, axis=0)
