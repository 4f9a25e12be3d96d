"""An asset's hair as every exporter writes it: per hair region, the posed ribbons (hair cards) as a
triangle primitive and the posed strands as curves, in metres in the GLB's frame.

The hair of an asset is attach.hair.ribbons.build_ribbons(asset.groom, asset.model, asset.vertices)
(attach/hair/ribbons.py defines width, alpha and coverage); assets without a groom, or with a groom
without groups, have no hair and export exactly as before.

GLB encoding (the shared hair contract): after the face primitives, one primitive per hair region
present, in attach.hair.REGIONS order, material `Hair_<region>` (alphaMode MASK, alphaCutoff 0.5,
doubleSided, roughness 0.4, metallic 0), base colour texture = the shared fibre texture (fibre_texture,
sampled bilinearly without mipmaps, clamped) times COLOR_0 (linear RGB of the strand, alpha = the
ribbon's per-vertex alpha); attributes POSITION, NORMAL, TANGENT (xyz root -> tip, w 1), TEXCOORD_0
(the ribbon uv: u across 0..1, v along 0 root .. 1 tip), COLOR_0; primitive extras
{"assetgen_region": region}. The ribbon arrays, the fibre texture and the region list are the renderer's
(render/hair.py), so an asset and its GLB render the same.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..attach.hair.ribbons import ribbon_widths
from ..errors import InputError
from ..geometry import UNIT_SCALE
from ..render.hair import (
    HAIR_ALPHA_CUTOFF,
    HAIR_COVERAGE_RULE,
    HAIR_MATERIAL_PREFIX,
    HAIR_ROUGHNESS,
    fibre_texture,
    hair_primitive_arrays,
    with_hair_regions,
)
from ..render.hair_occlusion import asset_hair_occlusion

ALPHA_CUTOFF = HAIR_ALPHA_CUTOFF
ROUGHNESS = HAIR_ROUGHNESS
# The ground-truth rule of the shared hair contract, written into every gt.json with hair.
HAIR_RULE = (
    "A pixel belongs to a hair region when that hair's alpha-tested surface (effective alpha >= 0.5) is the "
    "nearest surface at the pixel centre, i.e. MASK semantics exactly as glTF defines them: the effective "
    "alpha of a hair fragment = base colour texture alpha (the fibre texture, sampled bilinearly without "
    "mipmaps at TEXCOORD_0) x COLOR_0.a (interpolated); a ray that hits a hair triangle where the effective "
    "alpha is below 0.5 continues past it. The rgb layer may blend (coverage-weighted)."
)
COVERAGE_RULE = HAIR_COVERAGE_RULE


@dataclass(frozen=True, eq=False)
class HairPrimitive:
    """One hair region of an asset, posed, in metres (the GLB's frame).

    Ribbons (n vertices, t triangles): positions, normals (n, 3) float32; tangents (n, 4) float32 (xyz
    root -> tip, w 1); texcoords (n, 2) float32 (u across, v root -> tip; glTF's and the RibbonMesh's);
    colors (n, 4) float32 (linear RGB, ribbon alpha); indices (t, 3) int64.
    Strands (S strands of P points): strand_points (S, P, 3) float32; strand_widths (S, P) float32 (the
    ribbon width, metres); strand_color (S, 3) float32 linear RGB; strand_alpha (S,) float32 (the
    ribbon fill); melanin, redness (S,) float32 (Blender's Principled Hair BSDF melanin knobs, the pigment
    diluted by the clump's grey fibres); grey (S,) float32 (the clump's share of grey fibres). occlusion (n,),
    bent_normals (n, 3) float32: render.hair_occlusion's, or None (a subject without an identity)."""

    region: str
    positions: np.ndarray
    normals: np.ndarray
    tangents: np.ndarray
    texcoords: np.ndarray
    colors: np.ndarray
    indices: np.ndarray
    strand_points: np.ndarray
    strand_widths: np.ndarray
    strand_color: np.ndarray
    strand_alpha: np.ndarray
    melanin: np.ndarray
    redness: np.ndarray
    grey: np.ndarray
    occlusion: np.ndarray | None = None
    bent_normals: np.ndarray | None = None

    @property
    def material(self) -> str:
        return HAIR_MATERIAL_PREFIX + self.region

    @property
    def n_triangles(self) -> int:
        return len(self.indices)

    @property
    def n_vertices(self) -> int:
        return len(self.positions)

    @property
    def n_strands(self) -> int:
        return self.strand_points.shape[0]


def has_hair(asset) -> bool:
    groom = getattr(asset, "groom", None)
    return groom is not None and any(g.n_strands for g in groom.groups)


def hair_region_names(face_regions) -> tuple[str, ...]:
    """The region list of an asset with hair: the face model's, then the hair regions it lacks (a hair
    region the face model already has, ICT's eyelashes, keeps the face's id: render.hair.with_hair_regions)."""
    return with_hair_regions(tuple(face_regions))


def hair_primitives(asset) -> tuple[HairPrimitive, ...]:
    """The asset's hair regions (attach.hair.REGIONS order, regions without strands left out); () without
    hair. Ribbons: render.hair.hair_primitive_arrays; strands: the groom's groups posed on asset.vertices."""
    if not has_hair(asset):
        return ()
    units = getattr(asset.model, "units", "cm")
    if units not in UNIT_SCALE:
        raise InputError(f"face model units {units!r} unknown; expected one of {', '.join(UNIT_SCALE)}")
    scale = UNIT_SCALE[units]
    vertices = np.asarray(asset.vertices)
    groups = {g.region: g for g in asset.groom.groups if g.n_strands}

    def metres(a):
        return (np.asarray(a, np.float64) * scale).astype(np.float32)

    out = []
    for region, arrays in hair_primitive_arrays(asset, occlusion=asset_hair_occlusion(asset)):
        group = groups[region]
        points = group.evaluate(vertices)
        out.append(HairPrimitive(
            region=region,
            positions=arrays["positions"],
            normals=arrays["normals"],
            tangents=arrays["tangents"],
            texcoords=arrays["texcoords"],
            colors=arrays["colors"],
            indices=np.asarray(arrays["indices"], np.int64),
            strand_points=metres(points),
            strand_widths=metres(ribbon_widths(points, group.width, group.tip_taper)),  # the ribbons' widths
            strand_color=np.clip(np.asarray(group.color, np.float32), 0, 1),
            strand_alpha=np.asarray(group.coverage, np.float32),
            melanin=np.asarray(group.melanin, np.float32),
            redness=np.asarray(group.redness, np.float32),
            grey=np.asarray(group.grey, np.float32),
            occlusion=arrays.get("occlusion"),
            bent_normals=arrays.get("bent_normals"),
        ))
    return tuple(out)


def groom_record(asset) -> dict:
    """The groom as gt.json records it: the rule, params, per-region strand and point counts, digest."""
    groom = asset.groom
    params = groom.params.as_dict() if hasattr(groom.params, "as_dict") else groom.params
    groups = [g for g in groom.groups if g.n_strands]
    return {
        "rule": HAIR_RULE,
        "coverage": COVERAGE_RULE,
        "alpha_cutoff": ALPHA_CUTOFF,
        "fibre_texture": {"shape": list(fibre_texture().shape[:2]), "sampler": "bilinear, no mipmaps, clamp to edge",
                          "alpha": "across the ribbon (u = column) only; see assetgen.render.hair.fibre_texture"},
        "regions": [g.region for g in groups],
        "materials": {g.region: HAIR_MATERIAL_PREFIX + g.region for g in groups},
        "n_strands": {g.region: g.n_strands for g in groups},
        "points_per_strand": {g.region: g.n_points for g in groups},
        "digest": groom.digest(),
        "params": params,
    }
