"""USD export (usda, usdc, usdz) with usd-core: UsdPreviewSurface materials bound to their textures.

Stage: metres (metersPerUnit 1), +Y up, default prim /<Asset> (Xform) holding Geom/<material> meshes
(one per material with triangles, in the GLB's primitive order and vertex order) and
Materials/<material>. Each material: UsdPreviewSurface with diffuseColor <- base colour texture (sRGB),
roughness <- roughness texture (raw, r), normal <- normal map (raw, scale 2 / bias -1), opacity <- base
colour alpha for blended/masked materials, clearcoat on the irises (the clear cornea, face.ict); texture
coordinates from primvars:st (v up).
Textures: PNGs in STEM_textures/ beside the layer (usda/usdc), packed into the archive for usdz.
Labels and provenance are kept as JSON in the root prim's customData (assetgen:labels, assetgen:provenance).
Hair (assets with a groom): /<Asset>/Hair (Scope) holds one UsdGeomBasisCurves per hair region present
(export/hair.py), type linear, one curve per strand through its posed points (metres), per-vertex widths =
the ribbon width (metres; one curve stands for a clump of fibres, as one GLB ribbon does), displayColor
(linear RGB) and displayOpacity (the ribbon fill) per curve, and primvars:assetgen:region (constant string).
Items: /<Asset>/Items (Scope) with one Mesh per item part (export/items.py).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from ..errors import InputError, OutputError
from ..face import ict
from ..jsonsafe import json_safe
from .groundtruth import write_sidecar
from .hair import hair_primitives
from .items import item_primitives, usd_items
from .parts import mesh_parts, texture_files


def _pxr():
    try:
        from pxr import Gf, Sdf, Usd, UsdGeom, UsdShade, UsdUtils, Vt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise InputError("USD export needs usd-core: pip install usd-core") from exc
    return Gf, Sdf, Usd, UsdGeom, UsdShade, UsdUtils, Vt


def _prim_name(name: str) -> str:
    out = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in name)
    return out if out and not out[0].isdigit() else f"_{out}"


def build_stage(asset, layer_path: Path, tex_dir_rel: str, textures: dict, parts, hair=(), items=()) -> None:
    Gf, Sdf, Usd, UsdGeom, UsdShade, UsdUtils, Vt = _pxr()
    stage = Usd.Stage.CreateNew(str(layer_path))
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.y)
    root_path = f"/{_prim_name(asset.name)}"
    root = UsdGeom.Xform.Define(stage, root_path).GetPrim()
    stage.SetDefaultPrim(root)
    root.SetCustomDataByKey("assetgen:labels", json.dumps(json_safe(asset.labels), sort_keys=True))
    root.SetCustomDataByKey("assetgen:provenance", json.dumps(json_safe(asset.provenance), sort_keys=True))
    UsdGeom.Scope.Define(stage, f"{root_path}/Geom")
    UsdGeom.Scope.Define(stage, f"{root_path}/Materials")
    for part in parts:
        name = _prim_name(part.material)
        tex = asset.textures.materials[part.material]
        files = textures[part.material]
        material = UsdShade.Material.Define(stage, f"{root_path}/Materials/{name}")
        surface = UsdShade.Shader.Define(stage, f"{material.GetPath()}/PreviewSurface")
        surface.CreateIdAttr("UsdPreviewSurface")
        surface.CreateInput("metallic", Sdf.ValueTypeNames.Float).Set(0.0)
        surface.CreateInput("ior", Sdf.ValueTypeNames.Float).Set(1.5)  # 4 % reflectance, the specular default
        if part.material in ict.CORNEA_COATED:  # the clear cornea's reflection (face.ict)
            surface.CreateInput("clearcoat", Sdf.ValueTypeNames.Float).Set(ict.CORNEA_COAT_WEIGHT)
            surface.CreateInput("clearcoatRoughness", Sdf.ValueTypeNames.Float).Set(ict.CORNEA_ROUGHNESS)
        material.CreateSurfaceOutput().ConnectToSource(surface.ConnectableAPI(), "surface")
        reader = UsdShade.Shader.Define(stage, f"{material.GetPath()}/stReader")
        reader.CreateIdAttr("UsdPrimvarReader_float2")
        st_input = material.CreateInput("frame:stPrimvarName", Sdf.ValueTypeNames.Token)
        st_input.Set("st")
        reader.CreateInput("varname", Sdf.ValueTypeNames.Token).ConnectToSource(st_input)

        def texture(kind: str, color_space: str):
            shader = UsdShade.Shader.Define(stage, f"{material.GetPath()}/{kind}_texture")
            shader.CreateIdAttr("UsdUVTexture")
            shader.CreateInput("file", Sdf.ValueTypeNames.Asset).Set(f"./{tex_dir_rel}/{files[kind].name}")
            shader.CreateInput("st", Sdf.ValueTypeNames.Float2).ConnectToSource(reader.ConnectableAPI(), "result")
            shader.CreateInput("sourceColorSpace", Sdf.ValueTypeNames.Token).Set(color_space)
            shader.CreateInput("wrapS", Sdf.ValueTypeNames.Token).Set("clamp")
            shader.CreateInput("wrapT", Sdf.ValueTypeNames.Token).Set("clamp")
            return shader

        base = texture("base_color", "sRGB")
        base.CreateOutput("rgb", Sdf.ValueTypeNames.Float3)
        surface.CreateInput("diffuseColor", Sdf.ValueTypeNames.Color3f).ConnectToSource(base.ConnectableAPI(), "rgb")
        if tex.alpha_mode != "OPAQUE" and tex.base_color.shape[2] == 4:
            base.CreateOutput("a", Sdf.ValueTypeNames.Float)
            surface.CreateInput("opacity", Sdf.ValueTypeNames.Float).ConnectToSource(base.ConnectableAPI(), "a")
            if tex.alpha_mode == "MASK":
                surface.CreateInput("opacityThreshold", Sdf.ValueTypeNames.Float).Set(float(tex.alpha_cutoff))
        rough = texture("roughness", "raw")
        rough.CreateOutput("r", Sdf.ValueTypeNames.Float)
        surface.CreateInput("roughness", Sdf.ValueTypeNames.Float).ConnectToSource(rough.ConnectableAPI(), "r")
        normal = texture("normal", "raw")
        normal.CreateInput("scale", Sdf.ValueTypeNames.Float4).Set(Gf.Vec4f(2, 2, 2, 1))
        normal.CreateInput("bias", Sdf.ValueTypeNames.Float4).Set(Gf.Vec4f(-1, -1, -1, 0))
        normal.CreateOutput("rgb", Sdf.ValueTypeNames.Float3)
        surface.CreateInput("normal", Sdf.ValueTypeNames.Normal3f).ConnectToSource(normal.ConnectableAPI(), "rgb")

        mesh = UsdGeom.Mesh.Define(stage, f"{root_path}/Geom/{name}")
        mesh.CreatePointsAttr(Vt.Vec3fArray.FromNumpy(np.ascontiguousarray(part.positions, dtype=np.float32)))
        mesh.CreateFaceVertexCountsAttr(Vt.IntArray.FromNumpy(np.full(len(part.indices), 3, dtype=np.int32)))
        mesh.CreateFaceVertexIndicesAttr(Vt.IntArray.FromNumpy(part.indices.astype(np.int32).ravel()))
        mesh.CreateNormalsAttr(Vt.Vec3fArray.FromNumpy(np.ascontiguousarray(part.normals, dtype=np.float32)))
        mesh.SetNormalsInterpolation(UsdGeom.Tokens.vertex)
        mesh.CreateSubdivisionSchemeAttr(UsdGeom.Tokens.none)
        mesh.CreateOrientationAttr(UsdGeom.Tokens.rightHanded)
        mesh.CreateDoubleSidedAttr(bool(tex.double_sided))
        lo, hi = part.positions.min(axis=0), part.positions.max(axis=0)
        mesh.CreateExtentAttr(Vt.Vec3fArray([Gf.Vec3f(*map(float, lo)), Gf.Vec3f(*map(float, hi))]))
        st = UsdGeom.PrimvarsAPI(mesh).CreatePrimvar("st", Sdf.ValueTypeNames.TexCoord2fArray,
                                                     UsdGeom.Tokens.vertex)
        st.Set(Vt.Vec2fArray.FromNumpy(np.ascontiguousarray(part.st, dtype=np.float32)))
        UsdShade.MaterialBindingAPI.Apply(mesh.GetPrim()).Bind(material)
    if hair:
        _hair_curves(stage, f"{root_path}/Hair", hair)
    usd_items(stage, root_path, items, layer_path.parent / tex_dir_rel, tex_dir_rel)
    stage.GetRootLayer().Save()


def _hair_curves(stage, scope_path: str, hair) -> None:
    """One linear BasisCurves per hair region under the Hair scope (see the module docstring)."""
    Gf, Sdf, _, UsdGeom, _, _, Vt = _pxr()
    UsdGeom.Scope.Define(stage, scope_path)
    for h in hair:
        s, p = h.strand_points.shape[:2]
        curves = UsdGeom.BasisCurves.Define(stage, f"{scope_path}/{_prim_name(h.region)}")
        curves.CreateTypeAttr(UsdGeom.Tokens.linear)
        curves.CreateWrapAttr(UsdGeom.Tokens.nonperiodic)
        curves.CreateCurveVertexCountsAttr(Vt.IntArray.FromNumpy(np.full(s, p, dtype=np.int32)))
        pts = np.ascontiguousarray(h.strand_points.reshape(-1, 3), dtype=np.float32)
        curves.CreatePointsAttr(Vt.Vec3fArray.FromNumpy(pts))
        curves.CreateWidthsAttr(Vt.FloatArray.FromNumpy(np.ascontiguousarray(h.strand_widths.ravel(), np.float32)))
        curves.SetWidthsInterpolation(UsdGeom.Tokens.vertex)
        half = float(h.strand_widths.max()) / 2
        lo, hi = pts.min(axis=0) - half, pts.max(axis=0) + half
        curves.CreateExtentAttr(Vt.Vec3fArray([Gf.Vec3f(*map(float, lo)), Gf.Vec3f(*map(float, hi))]))
        color = curves.CreateDisplayColorPrimvar(UsdGeom.Tokens.uniform)
        color.Set(Vt.Vec3fArray.FromNumpy(np.ascontiguousarray(h.strand_color, np.float32)))
        opacity = curves.CreateDisplayOpacityPrimvar(UsdGeom.Tokens.uniform)
        opacity.Set(Vt.FloatArray.FromNumpy(np.ascontiguousarray(h.strand_alpha, np.float32)))
        region = UsdGeom.PrimvarsAPI(curves).CreatePrimvar("assetgen:region", Sdf.ValueTypeNames.String,
                                                           UsdGeom.Tokens.constant)
        region.Set(h.region)


def export_usd(asset, out_dir: str | Path, stem: str, fmt: str = "usda") -> list[Path]:
    """Write STEM.usda/.usdc (+ STEM_textures/) or a self-contained STEM.usdz, and STEM.gt.json."""
    if fmt not in ("usda", "usdc", "usdz"):
        raise InputError(f"USD flavour must be usda, usdc or usdz, not {fmt!r}")
    _, _, _, _, _, UsdUtils, _ = _pxr()
    out_dir = Path(out_dir)
    parts = mesh_parts(asset)
    final = out_dir / f"{stem}.{fmt}"
    # Build in a private folder, then move into place: a failure leaves nothing half-written behind.
    work = Path(tempfile.mkdtemp(prefix=f".{stem}.", dir=out_dir))
    try:
        tex_rel = f"{stem}_textures"
        textures = texture_files(asset, work / tex_rel)
        layer = work / f"{stem}.{'usdc' if fmt == 'usdz' else fmt}"
        items = item_primitives(asset)
        build_stage(asset, layer, tex_rel, textures, parts, hair_primitives(asset), items)
        written = []
        if fmt == "usdz":
            pkg = work / f"{stem}.usdz"
            if not UsdUtils.CreateNewUsdzPackage(str(layer), str(pkg)):
                raise OutputError(f"cannot package {final}")
            os.replace(pkg, final)
        else:
            target_tex = out_dir / tex_rel
            if target_tex.exists():
                shutil.rmtree(target_tex)
            os.replace(work / tex_rel, target_tex)
            os.replace(layer, final)
            written += sorted(target_tex.iterdir())
        written.insert(0, final)
    except OSError as exc:
        raise OutputError(f"cannot write {final}: {exc.strerror or exc}") from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)
    written.append(write_sidecar(asset, final, [p.primitive for p in parts], fmt, (), items))
    return written
