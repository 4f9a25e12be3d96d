"""Quick front previews of assets (for contact sheets and the UI), drawn with OpenGL.

Not the ground-truth renderer: one camera in front of the face, Lambert shading of the sRGB-decoded
albedo under a key and a fill light, 2x supersampling; the groom's ribbons alpha-tested with a
Kajiya-Kay hair term (framing widens a little for heads with hair). Blended helper materials (eye occlusion, eye
blend, lacrimal fluid) are skipped: they only darken or wet the eyes.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

from .asset import Asset
from .color import SRGB_GLSL
from .uv.raster import material_tiles, udim_texcoords

_VS = """
#version 330
in vec3 in_pos;
in vec3 in_nrm;
in vec2 in_uv;
uniform mat4 mvp;
out vec3 v_nrm;
out vec2 v_uv;
void main() { v_nrm = in_nrm; v_uv = in_uv; gl_Position = mvp * vec4(in_pos, 1.0); }
"""
_FS = """
#version 330
in vec3 v_nrm;
in vec2 v_uv;
uniform sampler2D albedo;
uniform float cutoff;
out vec4 color;
""" + SRGB_GLSL + """
void main() {
    vec4 a = texture(albedo, v_uv);
    if (a.a < cutoff) discard;
    vec3 n = normalize(v_nrm);
    vec3 key = normalize(vec3(0.4, 0.5, 1.0));
    vec3 fill = normalize(vec3(-0.6, 0.1, 0.6));
    float light = 0.25 + 0.85 * max(dot(n, key), 0.0) + 0.25 * max(dot(n, fill), 0.0);
    color = vec4(to_srgb(clamp(to_linear(a.rgb) * light, 0.0, 1.0)), a.a);
}
"""
_SKIP = {"M_EyeOcclusion", "M_EyeBlend", "M_LacrimalFluid"}

# Hair ribbons: alpha-tested (effective alpha = ribbon alpha x a fibre profile across the ribbon >= 0.5,
# the GT's MASK rule) and shaded with a Kajiya-Kay term (diffuse sin(T, L), specular sin(T, H)^p).
_HAIR_VS = """
#version 330
in vec3 in_pos;
in vec3 in_tan;
in vec3 in_col;
in vec2 in_ua;
uniform mat4 mvp;
out vec3 v_tan;
out vec3 v_col;
out vec2 v_ua;
void main() { v_tan = in_tan; v_col = in_col; v_ua = in_ua; gl_Position = mvp * vec4(in_pos, 1.0); }
"""
_HAIR_FS = """
#version 330
in vec3 v_tan;
in vec3 v_col;
in vec2 v_ua;
out vec4 color;
""" + SRGB_GLSL + """
float kk(vec3 t, vec3 l) { float c = dot(t, l); return sqrt(max(1.0 - c * c, 0.0)); }
void main() {
    float fibre = 1.0 - pow(abs(2.0 * v_ua.x - 1.0), 6.0);
    if (v_ua.y * fibre < 0.5) discard;
    vec3 t = normalize(v_tan);
    vec3 view = vec3(0.0, 0.0, 1.0);
    vec3 key = normalize(vec3(0.4, 0.5, 1.0));
    vec3 fill = normalize(vec3(-0.6, 0.1, 0.6));
    float diff = 0.3 + 0.75 * kk(t, key) + 0.2 * kk(t, fill);
    float spec = pow(kk(t, normalize(key + view)), 40.0);
    float strand = 0.85 + 0.3 * fract(sin(dot(v_col, vec3(12.9898, 78.233, 37.719))) * 43758.5453);
    vec3 c = v_col * diff * strand + 0.12 * spec * mix(vec3(1.0), v_col, 0.5);
    color = vec4(to_srgb(clamp(c, 0.0, 1.0)), 1.0);
}
"""


def _hair_vertices(asset: Asset, pixel_cm: float) -> np.ndarray | None:
    """Interleaved triangle vertices of the asset's posed hair ribbons (None: no hair), each ribbon at
    least about a pixel wide so sub-pixel brows and lashes still show in a small preview."""
    groom = getattr(asset, "groom", None)
    if groom is None or not groom.groups:
        return None
    from .attach.hair.ribbons import build_ribbons

    r = build_ribbons(groom, asset.model, np.asarray(asset.vertices))
    if not r.n_triangles:
        return None
    pos = r.positions.astype(np.float64).reshape(-1, 2, 3)  # (left, right) pairs along each strip
    mid = pos.mean(1, keepdims=True)
    half = pos - mid
    length = np.linalg.norm(half, axis=2, keepdims=True)
    scale = np.maximum(length, 0.5 * pixel_cm) / np.maximum(length, 1e-9)
    pos = (mid + half * scale).reshape(-1, 3)
    idx = r.triangles.ravel()
    data = np.empty(len(idx), dtype=[("p", "f4", 3), ("t", "f4", 3), ("c", "f4", 3), ("ua", "f4", 2)])
    data["p"] = pos[idx]
    data["t"] = r.tangents[idx]
    data["c"] = r.color[idx]
    data["ua"] = np.stack([r.uv[idx, 0], r.alpha[idx]], 1)
    return data


def _perspective(fov_y_deg: float, aspect: float, near: float, far: float) -> np.ndarray:
    f = 1.0 / math.tan(math.radians(fov_y_deg) / 2)
    return np.array(
        [[f / aspect, 0, 0, 0], [0, f, 0, 0], [0, 0, (far + near) / (near - far), 2 * far * near / (near - far)], [0, 0, -1, 0]],
        np.float64,
    )


def render_front(asset: Asset, size: int = 256, supersample: int = 2) -> np.ndarray:
    """(size, size, 3) uint8 sRGB front view of the asset on a grey background."""
    from .gl import context

    model = asset.model
    ctx = context()
    s = size * supersample
    v = np.asarray(asset.vertices, np.float64)
    n = model.vertex_normals(asset.vertices)
    # Frame the head: look down -z at the centre of the face's bounding box from 70 cm away.
    face = v[model.triangles[model.triangle_material == 0].ravel()] if len(model.material_names) else v
    centre = (face.min(0) + face.max(0)) / 2
    extent = float(np.max(face.max(0) - face.min(0)))
    hair = None
    if getattr(asset, "groom", None) is not None:
        # Leave room for the hair above and beside the head.
        centre = centre + np.array([0.0, 0.06 * extent, 0.0])
        extent *= 1.25
        hair = _hair_vertices(asset, pixel_cm=extent / (s * 0.75))
    dist = 70.0 * max(extent, 1e-6) / 25.0
    view = np.eye(4)
    view[:3, 3] = -(centre + np.array([0.0, 0.0, dist]))
    mvp = (_perspective(24.0, 1.0, dist * 0.2, dist * 3.0) @ view).astype("f4")
    prog = ctx.program(vertex_shader=_VS, fragment_shader=_FS)
    prog["mvp"].write(mvp.T.tobytes())
    color_rb = ctx.renderbuffer((s, s), components=4)
    depth_rb = ctx.depth_renderbuffer((s, s))
    fbo = ctx.framebuffer(color_attachments=[color_rb], depth_attachment=depth_rb)
    released = [fbo, color_rb, depth_rb, prog]
    try:
        fbo.use()
        ctx.viewport = (0, 0, s, s)
        ctx.enable(ctx.DEPTH_TEST)
        ctx.disable(ctx.CULL_FACE | ctx.BLEND)
        fbo.clear(0.32, 0.33, 0.35, 1.0, depth=1.0)
        for m, name in enumerate(model.material_names):
            tex = asset.textures.materials.get(name)
            if name in _SKIP or tex is None:
                continue
            sel = model.triangle_material == m
            tri_v = model.triangles[sel].ravel()
            tri_t = model.triangle_uv_index[sel].ravel()
            data = np.empty(len(tri_v), dtype=[("p", "f4", 3), ("n", "f4", 3), ("t", "f4", 2)])
            data["p"] = v[tri_v]
            data["n"] = n[tri_v]
            data["t"] = udim_texcoords(model.mesh.uvs[tri_t], *material_tiles(model, m))
            img = tex.base_color
            if img.shape[2] == 3:
                img = np.concatenate([img, np.full(img.shape[:2] + (1,), 255, np.uint8)], axis=2)
            # Texture rows are top-first and UV v' = 0 is the top row: upload as is, sample at v'.
            texture = ctx.texture((img.shape[1], img.shape[0]), 4, np.ascontiguousarray(img).tobytes())
            texture.build_mipmaps()
            vbo = ctx.buffer(data.tobytes())
            vao = ctx.vertex_array(prog, [(vbo, "3f 3f 2f", "in_pos", "in_nrm", "in_uv")])
            texture.use(0)
            prog["albedo"].value = 0
            prog["cutoff"].value = float(tex.alpha_cutoff) if tex.alpha_mode == "MASK" else -1.0
            vao.render()
            released += [texture, vbo, vao]
        blend_parts = _draw_items(ctx, prog, asset, v, released, blend=False)
        if hair is not None:
            hprog = ctx.program(vertex_shader=_HAIR_VS, fragment_shader=_HAIR_FS)
            hprog["mvp"].write(mvp.T.tobytes())
            hvbo = ctx.buffer(hair.tobytes())
            hvao = ctx.vertex_array(hprog, [(hvbo, "3f 3f 3f 2f", "in_pos", "in_tan", "in_col", "in_ua")])
            released += [hprog, hvbo, hvao]
            hvao.render()
        if blend_parts:
            ctx.enable(ctx.BLEND)
            ctx.blend_func = ctx.SRC_ALPHA, ctx.ONE_MINUS_SRC_ALPHA
            _draw_items(ctx, prog, asset, v, released, blend=True)
            ctx.disable(ctx.BLEND)
        rgba = np.frombuffer(fbo.read(components=4), np.uint8).reshape(s, s, 4)
    finally:
        for obj in released:
            obj.release()
    img = Image.fromarray(np.ascontiguousarray(rgba[::-1, :, :3]))  # GL rows are bottom-up
    if supersample > 1:
        img = img.resize((size, size), Image.Resampling.BOX)
    return np.asarray(img)


def _draw_items(ctx, prog, asset: Asset, v: np.ndarray, released: list, blend: bool) -> bool:
    """Draw the asset's worn items (asset.items, posed on vertices v) with their materials' textures: the
    opaque parts (blend False) or the see-through ones (lenses; blend True). Returns whether any part is
    see-through."""
    outfit = getattr(asset, "items", None)
    if outfit is None:
        return False
    any_blend = False
    for it in outfit.items:
        mesh = it.mesh
        pos = np.asarray(it.evaluate(v), np.float32)
        nrm = it.normals(v, pos)
        for k, mat in enumerate(mesh.materials):
            is_blend = mat.alpha_mode == "BLEND"
            any_blend |= is_blend
            sel = mesh.part == k
            if is_blend != blend or not sel.any():
                continue
            idx = mesh.triangles[sel].ravel()
            data = np.empty(len(idx), dtype=[("p", "f4", 3), ("n", "f4", 3), ("t", "f4", 2)])
            data["p"], data["n"], data["t"] = pos[idx], nrm[idx], mesh.uv[idx]
            img = mat.texture()
            if img.shape[2] == 3:
                img = np.concatenate([img, np.full(img.shape[:2] + (1,), 255, np.uint8)], axis=2)
            texture = ctx.texture((img.shape[1], img.shape[0]), 4, np.ascontiguousarray(img).tobytes())
            texture.repeat_x = texture.repeat_y = True
            vbo = ctx.buffer(data.tobytes())
            vao = ctx.vertex_array(prog, [(vbo, "3f 3f 2f", "in_pos", "in_nrm", "in_uv")])
            texture.use(0)
            prog["albedo"].value = 0
            prog["cutoff"].value = -1.0
            vao.render()
            released += [texture, vbo, vao]
    return any_blend


def contact_sheet(images: list[np.ndarray], names: list[str] | None = None, columns: int | None = None) -> np.ndarray:
    """Tile equally sized (h, w, 3) uint8 images into one grid image (h * rows, w * columns, 3)."""
    if not images:
        raise ValueError("contact_sheet needs at least one image")
    h, w = images[0].shape[:2]
    columns = columns or min(len(images), max(1, math.ceil(math.sqrt(len(images)))))
    rows = math.ceil(len(images) / columns)
    sheet = np.full((rows * h, columns * w, 3), 24, np.uint8)
    for i, im in enumerate(images):
        r, c = divmod(i, columns)
        sheet[r * h : (r + 1) * h, c * w : (c + 1) * w] = im[..., :3]
    return sheet
