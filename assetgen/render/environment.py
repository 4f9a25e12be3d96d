"""Image-based lighting and backgrounds for the renderer's rgb layer (the GT layers never see either).

Shading (`Renderer.render(..., environment=ShadingInputs)`, lighting.shade's model): the rgb programs are
compiled a second time with IBL defined (PROGRAM_SOURCES) and read
    diffuse  = albedo / pi * (min(ao E_sh(b), E_sh(n)) + ao pi ambient + sum_i light_rgb_i max(0, n . l_i) open_i)
    specular = textureLod(env, uv(R), roughness * (L - 1)) * (F0 A + B)         (the prefiltered mip chain)
with (A, B) Karis' split-sum fit (lighting.prefilter.env_brdf), ao and the bent normal b the skin's occlusion
(render.occlusion; the specular is scaled by ao too) and open_i the share of light i past the shadow casters
(render.shadows). The environment's lights go into the renderer's light uniforms (their highlights are
already in the prefiltered maps, so they add diffuse only); hair keeps its Kajiya-Kay highlights from those
lights and takes its diffuse from the SH. The prefiltered levels go up as the mip levels of one RGB32F
texture (texture unit 2, the renderer's `env` sampler), kept per GL context and rewritten when another
ShadingInputs arrives.

Backgrounds (`Renderer.render(..., background=(h, w, 3) float32 linear RGB)`): the rgb pass clears alpha
to 0, so after the supersampling box filter its alpha is each pixel's coverage by the mesh, and the image
is rgb + background * (1 - alpha) in linear light (the edges blend as the black background does today).
`environment_background` is the map seen along each pixel's camera ray; `image_background` a picture
scaled to cover the frame and cropped; `color_background` one colour.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from ..errors import InputError
from . import shaders
from .camera import Camera

ENV_UNIT = 2  # the renderer's texture unit for `env`

IBL_GLSL = """
uniform vec3 ibl_sh[9];            // SH irradiance coefficients C_k (lighting.sh's basis order)
const float IBL_PI = 3.14159265358979;
vec3 ibl_irradiance(vec3 n) {
    return ibl_sh[0] * 0.282095 + ibl_sh[1] * (0.488603 * n.y) + ibl_sh[2] * (0.488603 * n.z)
         + ibl_sh[3] * (0.488603 * n.x) + ibl_sh[4] * (1.092548 * n.x * n.y) + ibl_sh[5] * (1.092548 * n.y * n.z)
         + ibl_sh[6] * (0.315392 * (3.0 * n.z * n.z - 1.0)) + ibl_sh[7] * (1.092548 * n.x * n.z)
         + ibl_sh[8] * (0.546274 * (n.x * n.x - n.y * n.y));
}
// lighting.envmap's orientation: u = 0.5 + atan2(z, x) / 2 pi, v = acos(y) / pi (row 0 straight up)
vec3 ibl_env(sampler2D env, vec3 d, float lod) {
    vec2 uv = vec2(0.5 + atan(d.z, d.x) / (2.0 * IBL_PI), acos(clamp(d.y, -1.0, 1.0)) / IBL_PI);
    return textureLod(env, uv, lod).rgb;
}
vec2 ibl_env_brdf(float nv, float r) {
    vec4 c0 = vec4(-1.0, -0.0275, -0.572, 0.022);
    vec4 c1 = vec4(1.0, 0.0425, 1.04, -0.04);
    vec4 rr = r * c0 + c1;
    float a004 = min(rr.x * rr.x, exp2(-9.28 * nv)) * rr.x + rr.y;
    return max(vec2(-1.04, 1.04) * a004 + rr.zw, 0.0);
}
vec3 ibl_diffuse(vec3 n, vec3 ambient, int n_lights, vec3 light_dir[4], vec3 light_rgb[4], float ao, vec3 bent,
                 float lit[4]) {
    // what the open sky sends along the bent normal, never more than the whole sky would (hiding adds no light)
    vec3 e = min(ao * ibl_irradiance(bent), max(ibl_irradiance(n), 0.0)) + ao * IBL_PI * ambient;
    for (int i = 0; i < n_lights; ++i) e += light_rgb[i] * max(dot(n, normalize(light_dir[i])), 0.0) * lit[i];
    return max(e, 0.0) / IBL_PI;
}
// Surfaces: diffuse (SH + the lights) and the prefiltered specular.
// ao, bent: ambient occlusion and bent normal (render.occlusion): the SH along the bent normal, it, the
// ambient and the specular scaled by ao; lit: the share of each light past its shadow casters (render.shadows)
vec3 ibl_rgb(sampler2D env, float lod_max, int use_spec, vec3 albedo, vec3 n, vec3 v, float rough, vec3 f0,
             vec3 ambient, int n_lights, vec3 light_dir[4], vec3 light_rgb[4], float ao, vec3 bent, float lit[4]) {
    vec3 col = albedo * ibl_diffuse(n, ambient, n_lights, light_dir, light_rgb, ao, bent, lit);
    if (use_spec == 1) {
        float nv = max(dot(n, v), 1e-4);
        vec2 ab = ibl_env_brdf(nv, rough);
        col += ao * ibl_env(env, reflect(-v, n), rough * lod_max) * (f0 * ab.x + ab.y);
    }
    return col;
}
// Hair: the SH diffuse in place of the fixed ambient, and a faint rough sheen of the environment.
vec3 ibl_hair(sampler2D env, float lod_max, int use_spec, vec3 albedo, vec3 n, vec3 v, vec3 ambient) {
    vec3 col = albedo * (max(ibl_irradiance(n), 0.0) / IBL_PI + ambient);
    if (use_spec == 1) col += 0.02 * ibl_env(env, reflect(-v, n), 0.6 * lod_max);
    return col;
}
"""


def ibl_variant(source: str) -> str:
    """`source` (a shaders.py fragment shader) with IBL defined and the functions above after #version."""
    head = "#version 330\n"
    if head not in source:
        raise ValueError("shader source lacks '#version 330'")
    return source.replace(head, head + "#define IBL\n" + IBL_GLSL, 1)


PROGRAM_SOURCES = {
    "rgb_ibl": (shaders.RGB_VERTEX, ibl_variant(shaders.RGB_FRAGMENT)),
    "rgb_hair_ibl": (shaders.HAIR_RGB_VERTEX, ibl_variant(shaders.HAIR_RGB_FRAGMENT)),
}


def program_kind(kind: str, environment) -> str:
    """The rgb program to draw with: `kind`, or its IBL variant when an environment is given."""
    return kind if environment is None else kind + "_ibl"


def check_inputs(environment):
    """The ShadingInputs, or one InputError line."""
    from ..lighting.shade import ShadingInputs

    if environment is not None and not isinstance(environment, ShadingInputs):
        raise InputError("environment must be an assetgen.lighting.ShadingInputs (lighting.shading_inputs(map) or "
                         f"Lighting.shading_inputs()), got {type(environment).__name__}")
    return environment


_shared = threading.local()


def _texture(ctx, inputs):
    """The context's environment texture holding `inputs`' levels as its mip chain."""
    held = getattr(_shared, "held", None)
    if held is not None and held["ctx"] is ctx and held["inputs"] is inputs:
        return held["tex"]
    levels = [np.ascontiguousarray(l, np.float32) for l in inputs.levels]
    h, w = levels[0].shape[:2]
    for k, l in enumerate(levels):
        if l.shape != (h >> k, w >> k, 3):
            raise InputError(f"environment level {k} has shape {l.shape}; expected {(h >> k, w >> k, 3)} (halving)")
    tex = held["tex"] if held is not None and held["ctx"] is ctx and held["size"] == (w, h, len(levels)) else None
    if tex is None:
        if held is not None and held["ctx"] is ctx:
            held["tex"].release()
        tex = ctx.texture((w, h), 3, levels[0], dtype="f4")
        tex.build_mipmaps(0, len(levels) - 1)  # allocates the chain; its contents are written below
        tex.filter = (ctx.LINEAR_MIPMAP_LINEAR, ctx.LINEAR)
        tex.repeat_x, tex.repeat_y = True, False
    else:
        tex.write(levels[0], level=0)
    for k in range(1, len(levels)):
        tex.write(levels[k], level=k)
    _shared.held = {"ctx": ctx, "inputs": inputs, "tex": tex, "size": (w, h, len(levels))}
    return tex


def bind(ctx, program, inputs) -> None:
    """Point an IBL program at `inputs`: the texture on unit ENV_UNIT, SH, the dominant lights (diffuse),
    no extra ambient."""
    tex = _texture(ctx, inputs)
    tex.use(ENV_UNIT)
    k = min(len(inputs.light_dir), 4)
    dirs = np.zeros((4, 3), np.float32)
    rgbs = np.zeros((4, 3), np.float32)
    dirs[:, 2] = 1.0
    dirs[:k], rgbs[:k] = inputs.light_dir[:k], inputs.light_rgb[:k]
    program["env"].value = ENV_UNIT
    program["env_lod"].value = float(len(inputs.levels) - 1)
    program["use_env"].value = 1
    program["ambient"].value = (0.0, 0.0, 0.0)
    program["n_lights"].value = k
    program["light_dir"].write(dirs.tobytes())
    program["light_rgb"].write(rgbs.tobytes())
    program["ibl_sh"].write(np.ascontiguousarray(inputs.sh, np.float32).tobytes())


# ---- backgrounds ---------------------------------------------------------------------------------------

def check_background(background, size) -> np.ndarray | None:
    """A (h, w, 3) float32 linear background for an image of `size` (w, h), or one InputError line."""
    if background is None:
        return None
    b = np.asarray(background, np.float32)
    w, h = size
    if b.shape != (h, w, 3) or not np.isfinite(b).all():
        raise InputError(f"background must be a finite ({h}, {w}, 3) linear RGB image for a {w}x{h} camera, "
                         f"got shape {b.shape}")
    return b


def box_filter(fine: np.ndarray, ss: int, channels: int) -> np.ndarray:
    """(h, w, channels) float32: the mean of each ss x ss block of the first `channels` channels of (h ss,
    w ss, c) samples, as a sum of ss^2 strided views in a fixed order (a reshape-mean over two axes is
    several times slower)."""
    if ss == 1:
        return fine[..., :channels]
    out = fine[::ss, ::ss, :channels].copy()
    for dy in range(ss):
        for dx in range(ss):
            if dy or dx:
                out += fine[dy::ss, dx::ss, :channels]
    out *= np.float32(1.0 / (ss * ss))
    return out


def composite(fine: np.ndarray, ss: int, background: np.ndarray) -> np.ndarray:
    """(h, w, 3) linear: the rgb pass's premultiplied (h ss, w ss, 4) samples box-filtered, over `background`."""
    fine = box_filter(fine, ss, 4)
    alpha = np.clip(fine[..., 3:4], 0.0, 1.0)
    out = background * (1.0 - alpha)
    out += fine[..., :3]
    return out


def pixel_directions_world(camera: Camera) -> np.ndarray:
    """(h, w, 3) float32 unit world directions of the rays through the pixel centres."""
    w, h = camera.size
    kinv = np.linalg.inv(camera.K)
    m = (camera.R.T @ kinv).astype(np.float32)  # pixel (x, y, 1) -> world direction (unnormalised)
    x = np.arange(w, dtype=np.float32) + 0.5
    y = np.arange(h, dtype=np.float32) + 0.5
    d = (x[None, :, None] * m[:, 0] + y[:, None, None] * m[:, 1]) + m[:, 2]
    d /= np.sqrt(np.einsum("ijk,ijk->ij", d, d))[..., None]
    return d


def environment_background(env: np.ndarray, camera: Camera) -> np.ndarray:
    """The environment map (lighting.envmap's orientation, linear radiance) seen along each camera ray:
    (h, w, 3) float32, bilinear (u wraps, v clamps at the poles, as lighting.envmap.sample)."""
    from ..lighting.envmap import check_env

    env = check_env(env)
    eh, ew = env.shape[:2]
    d = pixel_directions_world(camera)
    u = np.arctan2(d[..., 2], d[..., 0]) * np.float32(ew / (2 * np.pi)) + np.float32(ew / 2 - 0.5)
    v = np.clip(np.arccos(np.clip(d[..., 1], -1.0, 1.0)) * np.float32(eh / np.pi) - 0.5, 0.0, eh - 1.0)
    x0, y0 = np.floor(u), np.floor(v)
    fx, fy = (u - x0)[..., None], (v - y0)[..., None]
    x0 = x0.astype(np.int64) % ew
    x1 = (x0 + 1) % ew
    y0 = y0.astype(np.int64)
    y1 = np.minimum(y0 + 1, eh - 1)
    top = env[y0, x0] * (1 - fx) + env[y0, x1] * fx
    bottom = env[y1, x0] * (1 - fx) + env[y1, x1] * fx
    return top * (1 - fy) + bottom * fy


def color_background(rgb, size) -> np.ndarray:
    """One sRGB colour (3 values in 0..1) as a (h, w, 3) linear background."""
    from ..color import srgb_to_linear

    c = np.asarray(rgb, np.float64).reshape(3)
    w, h = size
    return np.broadcast_to(np.asarray(srgb_to_linear(c), np.float32), (h, w, 3)).copy()


def image_background(path: str | Path, size, offset: tuple[float, float] = (0.5, 0.5)) -> np.ndarray:
    """Picture `path` (sRGB) scaled to cover (w, h) and cropped (offset in [0, 1]: where the crop sits along
    the axis that overflows; 0.5 = centred), as a linear (h, w, 3) background."""
    from PIL import Image

    from ..color import srgb_to_linear

    w, h = size
    try:
        with Image.open(path) as im:
            im = im.convert("RGB")
            s = max(w / im.width, h / im.height)
            cw, ch = min(im.width, max(1, round(w / s))), min(im.height, max(1, round(h / s)))
            x0 = int(round((im.width - cw) * float(offset[0])))
            y0 = int(round((im.height - ch) * float(offset[1])))
            im = im.resize((w, h), Image.LANCZOS, box=(x0, y0, x0 + cw, y0 + ch))
            a = np.asarray(im, np.float32) / 255.0
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read background image {path}: {exc}; give a PNG or JPEG") from exc
    return np.asarray(srgb_to_linear(a), np.float32)
