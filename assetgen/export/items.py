"""An asset's items (glasses, clothing, headwear, facewear) in every export format.

The primitives are attach.items.primitives.item_primitives(asset): one per item part, posed, in metres,
with its region, material and procedural texture (the contract is written there). Here:
  GLB   one triangle primitive per part after the face (and hair) primitives, material Item_<kind>_<part>
        (baseColorTexture + metallicRoughnessTexture, alphaMode OPAQUE or BLEND, doubleSided), extras
        {assetgen_region, assetgen_item, assetgen_part}; the asset extras carry the outfit record.
  USD   /<Asset>/Items (Scope) with one Mesh per part (Items/<material>) bound to a UsdPreviewSurface
        (diffuse texture, roughness, metallic, opacity for BLEND parts), primvars:assetgen:region.
  OBJ   one group per part after the face and hair groups, its material with map_Kd (and d for BLEND).
  Blender through the GLB.
gt.json: "regions" continues with the item regions, "primitives" and "triangle_regions" through the item
primitives, and "items" records the rule, the outfit's params and digest, the fit record per item, the
item primitives' indices and the triangle count per item region.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..attach.items.primitives import (
    ItemPrimitive,
    has_items,
    item_primitives,
    with_item_regions,
)
from ..io import atomic_write_bytes
from ..png import encode_png

__all__ = ["ITEMS_RULE", "ItemPrimitive", "has_items", "item_primitives", "items_record", "with_item_regions"]

ITEMS_RULE = (
    "Item parts are ordinary triangle primitives with the region of their item (glasses, clothing, headwear, "
    "facewear). OPAQUE parts are surfaces like the skin: a pixel takes an item's region where that part is the "
    "nearest surface at the pixel centre. BLEND parts (clear and tinted lenses) are overlays, left out of every "
    "GT layer and of landmark visibility, so their pixels take the class of the surface behind them; opaque "
    "(sunglasses) lenses are glasses."
)


def items_record(asset, prims: tuple[ItemPrimitive, ...], first_primitive: int) -> dict:
    """The outfit as gt.json records it (module docstring); first_primitive: the file index of prims[0]."""
    outfit = asset.items
    counts: dict[str, int] = {}
    for p in prims:
        counts[p.region] = counts.get(p.region, 0) + p.n_triangles
    return {
        "rule": ITEMS_RULE,
        "params": outfit.params.as_dict(),
        "digest": outfit.digest(),
        "items": [{"kind": it.kind, "variant": it.variant, "rigid": it.rigid, "fit": dict(it.info),
                   "parts": [f"Item_{it.kind}_{part}" for part in it.mesh.parts]} for it in outfit.items],
        "materials": {p.material: {"region": p.region, "alpha_mode": p.alpha_mode, "alpha": p.alpha,
                                   "roughness": p.roughness, "metallic": p.metallic} for p in prims},
        "primitives": list(range(first_primitive, first_primitive + len(prims))),
        "triangles": counts,
    }


# ---- GLB ---------------------------------------------------------------------------------------------------
def write_glb_items(doc, prims: tuple[ItemPrimitive, ...]) -> list:
    """Add the item primitives to a glb._Document; returns their gl.Primitive objects (file order)."""
    import pygltflib as gl

    out = []
    for p in prims:
        base = doc.add_texture(encode_png(p.base_color), f"{p.material}_baseColor")
        mr = doc.add_texture(encode_png(p.metallic_roughness()), f"{p.material}_metallicRoughness")
        doc.gltf.materials.append(gl.Material(
            name=p.material,
            pbrMetallicRoughness=gl.PbrMetallicRoughness(
                baseColorFactor=[1.0, 1.0, 1.0, 1.0], baseColorTexture=gl.TextureInfo(index=base),
                metallicFactor=1.0, roughnessFactor=1.0, metallicRoughnessTexture=gl.TextureInfo(index=mr)),
            emissiveFactor=None, alphaMode=p.alpha_mode, alphaCutoff=None, doubleSided=bool(p.double_sided)))
        attrs = gl.Attributes(
            POSITION=doc.add_accessor(p.positions, "VEC3", with_bounds=True),
            NORMAL=doc.add_accessor(p.normals, "VEC3"),
            TEXCOORD_0=doc.add_accessor(p.texcoords, "VEC2"),
        )
        out.append(gl.Primitive(attributes=attrs, indices=doc.add_indices(p.indices, p.n_vertices),
                                material=len(doc.gltf.materials) - 1, mode=gl.TRIANGLES,
                                extras={"assetgen_region": p.region, "assetgen_item": p.kind, "assetgen_part": p.part}))
    return out


# ---- OBJ -------------------------------------------------------------------------------------------------------
def obj_items(prims: tuple[ItemPrimitive, ...], tex_dir: Path, tex_rel: str, offset: int, rows) -> tuple[list, list, list, int]:
    """(obj lines, mtl lines, written texture files, next vertex offset) of the item groups. rows: the OBJ
    writer's row formatter (fmt, array) -> str."""
    obj, mtl, files = [], [], []
    for p in prims:
        png = Path(tex_dir) / f"{p.material}_base_color.png"
        atomic_write_bytes(png, encode_png(p.base_color))
        files.append(png)
        obj.append(f"o {p.material}\ng {p.material}\nusemtl {p.material}\n")
        obj.append(rows("v %.7g %.7g %.7g", p.positions))
        obj.append(rows("vt %.7g %.7g", np.stack([p.texcoords[:, 0], 1.0 - p.texcoords[:, 1]], 1)))
        obj.append(rows("vn %.6g %.6g %.6g", p.normals))
        obj.append(rows("f %d/%d/%d %d/%d/%d %d/%d/%d", np.repeat(p.indices.astype(np.int64) + offset, 3, axis=1)))
        offset += p.n_vertices
        mtl.append(f"\nnewmtl {p.material}\nKa 0 0 0\nKd 1 1 1\nKs 0.04 0.04 0.04\nNs 50\nillum 2\n"
                   f"Pm {p.metallic:.4g}\nPr {p.roughness:.4g}\nmap_Kd {tex_rel}/{png.name}\n")
        if p.alpha_mode == "BLEND":
            mtl.append(f"d {p.alpha:.4g}\n")
    return obj, mtl, files, offset


# ---- USD -------------------------------------------------------------------------------------------------------
def usd_items(stage, root_path: str, prims: tuple[ItemPrimitive, ...], tex_dir: Path, tex_rel: str) -> list[Path]:
    """Define /<root>/Items/<material> meshes with UsdPreviewSurface materials; returns the texture files."""
    from pxr import Gf, Sdf, UsdGeom, UsdShade, Vt

    files = []
    if not prims:
        return files
    UsdGeom.Scope.Define(stage, f"{root_path}/Items")
    for p in prims:
        png = Path(tex_dir) / f"{p.material}_base_color.png"
        atomic_write_bytes(png, encode_png(p.base_color))
        files.append(png)
        material = UsdShade.Material.Define(stage, f"{root_path}/Materials/{p.material}")
        surface = UsdShade.Shader.Define(stage, f"{material.GetPath()}/PreviewSurface")
        surface.CreateIdAttr("UsdPreviewSurface")
        surface.CreateInput("metallic", Sdf.ValueTypeNames.Float).Set(float(p.metallic))
        surface.CreateInput("roughness", Sdf.ValueTypeNames.Float).Set(float(p.roughness))
        material.CreateSurfaceOutput().ConnectToSource(surface.ConnectableAPI(), "surface")
        reader = UsdShade.Shader.Define(stage, f"{material.GetPath()}/stReader")
        reader.CreateIdAttr("UsdPrimvarReader_float2")
        reader.CreateInput("varname", Sdf.ValueTypeNames.Token).Set("st")
        tex = UsdShade.Shader.Define(stage, f"{material.GetPath()}/base_color_texture")
        tex.CreateIdAttr("UsdUVTexture")
        tex.CreateInput("file", Sdf.ValueTypeNames.Asset).Set(f"./{tex_rel}/{png.name}")
        tex.CreateInput("st", Sdf.ValueTypeNames.Float2).ConnectToSource(reader.ConnectableAPI(), "result")
        tex.CreateInput("sourceColorSpace", Sdf.ValueTypeNames.Token).Set("sRGB")
        tex.CreateOutput("rgb", Sdf.ValueTypeNames.Float3)
        surface.CreateInput("diffuseColor", Sdf.ValueTypeNames.Color3f).ConnectToSource(tex.ConnectableAPI(), "rgb")
        if p.alpha_mode == "BLEND":
            surface.CreateInput("opacity", Sdf.ValueTypeNames.Float).Set(float(p.alpha))
        mesh = UsdGeom.Mesh.Define(stage, f"{root_path}/Items/{p.material}")
        mesh.CreatePointsAttr(Vt.Vec3fArray.FromNumpy(np.ascontiguousarray(p.positions, np.float32)))
        mesh.CreateFaceVertexCountsAttr(Vt.IntArray.FromNumpy(np.full(p.n_triangles, 3, np.int32)))
        mesh.CreateFaceVertexIndicesAttr(Vt.IntArray.FromNumpy(p.indices.astype(np.int32).ravel()))
        mesh.CreateNormalsAttr(Vt.Vec3fArray.FromNumpy(np.ascontiguousarray(p.normals, np.float32)))
        mesh.SetNormalsInterpolation(UsdGeom.Tokens.vertex)
        mesh.CreateSubdivisionSchemeAttr(UsdGeom.Tokens.none)
        mesh.CreateDoubleSidedAttr(bool(p.double_sided))
        lo, hi = p.positions.min(0), p.positions.max(0)
        mesh.CreateExtentAttr(Vt.Vec3fArray([Gf.Vec3f(*map(float, lo)), Gf.Vec3f(*map(float, hi))]))
        st = UsdGeom.PrimvarsAPI(mesh).CreatePrimvar("st", Sdf.ValueTypeNames.TexCoord2fArray, UsdGeom.Tokens.vertex)
        st.Set(Vt.Vec2fArray.FromNumpy(np.ascontiguousarray(np.stack([p.texcoords[:, 0], 1.0 - p.texcoords[:, 1]], 1),
                                                            np.float32)))
        region = UsdGeom.PrimvarsAPI(mesh).CreatePrimvar("assetgen:region", Sdf.ValueTypeNames.String,
                                                         UsdGeom.Tokens.constant)
        region.Set(p.region)
        UsdShade.MaterialBindingAPI.Apply(mesh.GetPrim()).Bind(material)
    return files
