"""Textures of the non-skin materials: eyes (sclera, iris: eyes.py), the mouth (gums and tongue, teeth:
mouth.py) and the layers over the eyes (lacrimal fluid, occlusion, blend, lashes: eye_layers.py).

Layout-only data (eye polar maps, iris remap tables, lash card coordinates, noise positions) are computed
up front by precompute() into LayoutFields.extra, which fields_store caches in process and on disk; what is
derived from them (masks, weights, the seed-independent parts of textures) is kept in process on the fields
object (fields.derived). The seeded work left per asset is mostly drawing noise lattices (lowfreq.py).
Colours come from the chromophore model where a pigment model applies (iris melanin, mucosa blood, lash
hair); enamel and the sclera use measured-looking constant albedos, which is fine for these small parts.
"""

from __future__ import annotations

from ..base import MaterialTextures
from ..context import AssetContext
from ..fields import SKIN_MATERIALS, LayoutContext, texels_per_cm
from .common import const, flat_normal
from .eye_layers import blend_alpha, eye_blend, eye_occlusion, eyelashes, lacrimal_fluid, lash_coords, occlusion_distance
from .eyes import iris, iris_maps, sclera
from .geometry import eye_polar, limbus_radius, noise_positions
from .lowfreq import noise_materials
from .mouth import gums_tongue, teeth


def material(ctx: AssetContext, name: str) -> MaterialTextures:
    """The maps of one non-skin material of an asset (an unknown material gets flat mid-grey maps)."""
    if name.startswith("M_Sclera"):
        return sclera(ctx, name)
    if name.startswith("M_Iris"):
        return iris(ctx, name)
    return {
        "M_GumsTongue": gums_tongue,
        "M_Teeth": teeth,
        "M_LacrimalFluid": lacrimal_fluid,
        "M_EyeOcclusion": eye_occlusion,
        "M_EyeBlend": eye_blend,
        "M_EyeLashes": eyelashes,
    }.get(name, generic)(ctx, name)


def generic(ctx, name: str) -> MaterialTextures:
    """Flat mid-grey maps, for materials this backend has no model of."""
    shape = ctx.layout[name].shape
    return MaterialTextures(const(shape + (3,), 0.5), const(shape, 0.5), const(shape, 0.5), flat_normal(shape))


def expected_keys(layout) -> set[tuple[str, str]]:
    """The `extra` keys precompute() produces for a layout (a stored cache must hold exactly these)."""
    keys = {("density", n) for n in SKIN_MATERIALS if n in layout.materials}
    keys |= {("noise_pos", n) for n in noise_materials(layout)}
    for n in layout.materials:
        side = "Left" if n.endswith("Left") else "Right"
        if n.startswith("M_Sclera"):
            keys |= {("polar", n), ("limbus", side)}
        elif n.startswith("M_Iris"):
            keys |= {("iris_maps", n), ("limbus", side)}
        elif n == "M_EyeOcclusion":
            keys.add(("occl_dist", n))
        elif n == "M_EyeBlend":
            keys.add(("blend_alpha", n))
        elif n == "M_EyeLashes":
            keys.add(("lash", n))
    return keys


def precompute(model, layout, fields) -> None:
    """Fill fields.extra with every layout-only map the materials read (see expected_keys); transient
    full-resolution positions are dropped afterwards."""
    ctx = LayoutContext(model, layout, fields)
    for n in layout.materials:
        if n in SKIN_MATERIALS:
            texels_per_cm(ctx, n, fields.skin[n])
        side = "Left" if n.endswith("Left") else "Right"
        if n.startswith("M_Sclera"):
            eye_polar(ctx, n, side)
            limbus_radius(ctx, side)
        elif n.startswith("M_Iris"):
            iris_maps(ctx, n, side)
        elif n == "M_EyeOcclusion":
            occlusion_distance(ctx, n)
        elif n == "M_EyeBlend":
            blend_alpha(ctx, n)
        elif n == "M_EyeLashes":
            lash_coords(ctx, n)
    for n in noise_materials(layout):
        noise_positions(ctx, n)
    keep = expected_keys(layout)
    for k in [k for k in fields.extra if k not in keep]:
        del fields.extra[k]
