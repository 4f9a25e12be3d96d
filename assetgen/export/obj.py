"""Wavefront OBJ + MTL + PNG textures.

STEM.obj: one group (`o`/`g` + `usemtl`) per material with triangles, in the GLB's primitive order and
vertex order (so the sidecar's [primitive, vertex] indices hold: vertex v of group p is the v-th `v` line
after the group's start); metres, +Y up; v, vt (v up), vn per vertex. STEM.mtl: per material map_Kd
(base colour), map_Pr (roughness, PBR extension), norm (tangent-space normal map), map_d (alpha) when
blended, Pc/Pcr (clear coat, PBR extension) on the irises: the clear cornea (face.ict). Textures in
STEM_textures/.
Hair (assets with a groom): after the face groups, one group `Hair_<region>` per hair region present with
the ribbons of export/hair.py (vt: u across, v up = 1 - along); its material has Kd = the region's mean
strand colour (linear RGB) and map_d = the alpha of the shared fibre texture (Hair_fibre.png), and the
sidecar's primitives continue through these groups.
Items: then one group per item part (export/items.py), material Item_<kind>_<part> with map_Kd.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from ..face import ict
from ..io import atomic_write_bytes
from ..png import encode_png
from .groundtruth import write_sidecar
from .hair import fibre_texture, hair_primitives
from .items import item_primitives, obj_items
from .parts import mesh_parts, texture_files


def _rows(fmt: str, a: np.ndarray) -> str:
    buf = io.StringIO()
    np.savetxt(buf, a, fmt=fmt)
    return buf.getvalue()


def export_obj(asset, out_dir: str | Path, stem: str) -> list[Path]:
    out_dir = Path(out_dir)
    parts = mesh_parts(asset)
    tex_rel = f"{stem}_textures"
    textures = texture_files(asset, out_dir / tex_rel)
    obj = [f"# assetgen OBJ export of {asset.name} (metres, +Y up)\n", f"mtllib {stem}.mtl\n"]
    mtl = [f"# assetgen materials of {asset.name}\n"]
    offset = 1
    for part in parts:
        n = len(part.positions)
        obj.append(f"o {part.material}\ng {part.material}\nusemtl {part.material}\n")
        obj.append(_rows("v %.7g %.7g %.7g", part.positions))
        obj.append(_rows("vt %.7g %.7g", part.st))
        obj.append(_rows("vn %.6g %.6g %.6g", part.normals))
        idx = part.indices + offset
        obj.append(_rows("f %d/%d/%d %d/%d/%d %d/%d/%d", np.repeat(idx, 3, axis=1)))
        offset += n
        tex = asset.textures.materials[part.material]
        files = textures[part.material]
        mtl.append(f"\nnewmtl {part.material}\nKa 0 0 0\nKd 1 1 1\nKs 0.04 0.04 0.04\nNs 50\nillum 2\nPm 0\n")
        mtl.append(f"map_Kd {tex_rel}/{files['base_color'].name}\n")
        mtl.append(f"map_Pr {tex_rel}/{files['roughness'].name}\n")
        mtl.append(f"norm {tex_rel}/{files['normal'].name}\n")
        if part.material in ict.CORNEA_COATED:  # the clear cornea's reflection (face.ict)
            mtl.append(f"Pc {ict.CORNEA_COAT_WEIGHT:g}\nPcr {ict.CORNEA_ROUGHNESS:g}\n")
        if tex.alpha_mode != "OPAQUE" and tex.base_color.shape[2] == 4:
            mtl.append(f"map_d -imfchan m {tex_rel}/{files['base_color'].name}\n")
    hair = hair_primitives(asset)
    hair_files = []
    if hair:
        fibre = out_dir / tex_rel / "Hair_fibre.png"
        atomic_write_bytes(fibre, encode_png(fibre_texture()))
        hair_files.append(fibre)
    for h in hair:
        obj.append(f"o {h.material}\ng {h.material}\nusemtl {h.material}\n")
        obj.append(_rows("v %.7g %.7g %.7g", h.positions))
        st = np.stack([h.texcoords[:, 0], 1.0 - h.texcoords[:, 1]], axis=1)
        obj.append(_rows("vt %.7g %.7g", st))
        obj.append(_rows("vn %.6g %.6g %.6g", h.normals))
        obj.append(_rows("f %d/%d/%d %d/%d/%d %d/%d/%d", np.repeat(h.indices + offset, 3, axis=1)))
        offset += h.n_vertices
        kd = " ".join(f"{c:.6g}" for c in h.strand_color.astype(np.float64).mean(axis=0))
        mtl.append(f"\nnewmtl {h.material}\nKa 0 0 0\nKd {kd}\nKs 0.04 0.04 0.04\nNs 50\nillum 2\nPm 0\nPr 0.4\n")
        mtl.append(f"map_d -imfchan m {tex_rel}/Hair_fibre.png\n")
    items = item_primitives(asset)
    item_obj, item_mtl, item_files, offset = obj_items(items, out_dir / tex_rel, tex_rel, offset, _rows)
    obj += item_obj
    mtl += item_mtl
    obj_path = out_dir / f"{stem}.obj"
    mtl_path = out_dir / f"{stem}.mtl"
    atomic_write_bytes(mtl_path, "".join(mtl).encode())
    atomic_write_bytes(obj_path, "".join(obj).encode())
    files = [obj_path, mtl_path] + [p for m in textures.values() for p in m.values()] + hair_files + item_files
    return files + [write_sidecar(asset, obj_path, [p.primitive for p in parts], "obj", hair, items)]
