"""GLSL of the renderer. Positions arrive in world metres; `w2c` is world_to_camera (OpenCV axes) and
`proj` the exact clip-from-camera matrix of camera.Camera.gl_projection."""

from ..color import SRGB_GLSL
from ..face import ict
from . import eye_visibility, shadows
from .cull import CHUNK_SHIFT, MAP_ROW_SHIFT

_VERTEX_BODY = """
in vec3 in_pos;
in vec3 in_nrm;
in vec2 in_uv;
uniform mat4 w2c;
uniform mat4 proj;
out vec3 v_cam;
out vec3 v_nrm;
out vec3 v_world;
out vec3 v_wnrm;
out vec2 v_uv;
#ifdef WITH_TANGENT
in vec4 in_tan;
out vec4 v_tan;
#endif
#ifdef VERTEX_COLOR
in vec4 in_col;
out vec4 v_col;
#endif
#ifdef WITH_OCCLUSION
in float in_ao;
in vec3 in_bent;
out float v_ao;
out vec3 v_bent;
#endif
void main() {
    vec4 cam = w2c * vec4(in_pos, 1.0);
    v_cam = cam.xyz;
    v_nrm = mat3(w2c) * in_nrm;
    v_world = in_pos;
    v_wnrm = in_nrm;
    v_uv = in_uv;
#ifdef WITH_TANGENT
    v_tan = in_tan;
#endif
#ifdef VERTEX_COLOR
    v_col = in_col;
#endif
#ifdef WITH_OCCLUSION
    v_ao = in_ao;
    v_bent = in_bent;
#endif
    gl_Position = proj * cam;
}
"""

VERTEX = "#version 330\n" + _VERTEX_BODY
# The rgb pass adds the glTF tangent (xyz world, w handedness) for normal mapping; the GT pass compiles
# the same source without it, so its layers cannot change when rgb shading does.
RGB_VERTEX = "#version 330\n#define WITH_TANGENT\n#define WITH_OCCLUSION\n" + _VERTEX_BODY
# Hair (render.hair): the glTF COLOR_0 as well.
HAIR_VERTEX = "#version 330\n#define VERTEX_COLOR\n" + _VERTEX_BODY
HAIR_RGB_VERTEX = "#version 330\n#define WITH_TANGENT\n#define VERTEX_COLOR\n#define WITH_OCCLUSION\n" + _VERTEX_BODY

# Ground truth: alpha test only (MASK materials), no blending, no filtering tricks; one pass, four targets.
# Compiled twice from this one source: with ALPHA_TEST for the alpha-tested (MASK) materials, without it
# for the rest, whose fragments then never discard, so the rasterizer can depth-test them before shading.
_GT_FRAGMENT_BODY = """
in vec3 v_cam;
in vec3 v_nrm;
in vec3 v_world;
in vec3 v_wnrm;
in vec2 v_uv;
uniform int tri_offset;
uniform sampler2D base;
#ifdef ALPHA_TEST
uniform float cutoff;
#endif
#ifdef VERTEX_COLOR
in vec4 v_col;
#endif
#ifdef CHUNK_MAP
uniform isampler2D chunk_map;       // render.cull: drawn chunk -> chunk
uniform isampler2D triangle_order;  // render.cull: drawn position -> triangle of the primitive
#endif
layout(location = 0) out vec4 o_geom;    // camera-space unit normal, camera z (metres)
layout(location = 1) out int o_tri;      // global triangle id + 1 (0 = background)
layout(location = 2) out vec2 o_uv;      // glTF UV of the material's image
layout(location = 3) out vec4 o_albedo;  // the texture's stored (sRGB-encoded) value, unlit (nearest texel)
void main() {
#ifdef ALPHA_TEST
    vec4 a = texture(base, v_uv);
#ifdef VERTEX_COLOR
    a.a *= v_col.a;              // glTF: effective alpha = texture alpha x COLOR_0 alpha
    if (!(a.a >= cutoff)) discard;   // (NaN too: a sliver's interpolation can give one)
#endif
    if (a.a < cutoff) discard;   // MASK materials (sclera over the iris, eyelash cards, hair): alpha test
#endif
#ifdef VERTEX_COLOR
    // Hair ribbons are two-sided cards: their normal is the one facing the camera.
    vec3 n = normalize(v_nrm);
    o_geom = vec4(dot(n, v_cam) > 0.0 ? -n : n, v_cam.z);
#else
    o_geom = vec4(normalize(v_nrm), v_cam.z);
#endif
#ifdef CHUNK_MAP
    const int row = (1 << MAP_ROW_SHIFT) - 1;
    int k = gl_PrimitiveID >> CHUNK_SHIFT;
    int at = (texelFetch(chunk_map, ivec2(k & row, k >> MAP_ROW_SHIFT), 0).r << CHUNK_SHIFT)
           + (gl_PrimitiveID & ((1 << CHUNK_SHIFT) - 1));
    o_tri = texelFetch(triangle_order, ivec2(at & row, at >> MAP_ROW_SHIFT), 0).r + tri_offset + 1;
#else
    o_tri = gl_PrimitiveID + tri_offset + 1;
#endif
    o_uv = v_uv;
    // The stored value of the texel the pixel centre falls in (nearest, no filtering): albedo pixels are
    // exactly texture values, so baking them back can reproduce the texture.
    ivec2 ts = textureSize(base, 0);
    vec3 texel = texelFetch(base, clamp(ivec2(floor(v_uv * vec2(ts))), ivec2(0), ts - 1), 0).rgb;
#ifdef VERTEX_COLOR
    texel = to_srgb(clamp(to_linear(texel) * v_col.rgb, 0.0, 1.0));   // hair: texel x COLOR_0, sRGB-encoded
#endif
    o_albedo = vec4(texel, 1.0);
}
"""
GT_FRAGMENT = "#version 330\n#define ALPHA_TEST\n" + _GT_FRAGMENT_BODY
GT_OPAQUE_FRAGMENT = "#version 330\n" + _GT_FRAGMENT_BODY
# Hair: drawn occlusion-culled (render.cull), its triangle ids through the chunk map.
GT_HAIR_FRAGMENT = (
    f"#version 330\n#define ALPHA_TEST\n#define VERTEX_COLOR\n#define CHUNK_MAP\n#define CHUNK_SHIFT {CHUNK_SHIFT}\n"
    f"#define MAP_ROW_SHIFT {MAP_ROW_SHIFT}\n" + SRGB_GLSL + _GT_FRAGMENT_BODY
)

# Hair coverage: one region per draw into channel `channel` of two RGBA float targets (regions 0-3, 4-7),
# blended multiplicatively (dst * (1 - src)) onto a clear value of 1: the targets end up holding
# prod(1 - effective alpha) per region, the transmittance; coverage = 1 - it.
HAIR_COVERAGE_FRAGMENT = """
#version 330
in vec3 v_nrm;
in vec2 v_uv;
in vec4 v_col;
uniform sampler2D base;
uniform int channel;
layout(location = 0) out vec4 o_c0;
layout(location = 1) out vec4 o_c1;
void main() {
    float a = texture(base, v_uv).a * v_col.a;
    if (!(a > 0.0) || v_nrm.x > 1e30) discard;  // nothing to add (or NaN from a sliver's interpolation)
    a = min(a, 1.0);
    vec4 lo = vec4(0.0), hi = vec4(0.0);
    if (channel < 4) lo[channel] = a; else hi[channel - 4] = a;
    o_c0 = lo;
    o_c1 = hi;
}
"""
# Depth only (what hides hair in the coverage layer), with the MASK materials' alpha test (cutoff < 0: none).
_DEPTH_FRAGMENT_BODY = """
in vec3 v_nrm;
in vec2 v_uv;
#ifdef VERTEX_COLOR
in vec4 v_col;
#endif
uniform sampler2D base;
uniform float cutoff;
void main() {
    float a = texture(base, v_uv).a;
#ifdef VERTEX_COLOR
    a *= v_col.a;
#endif
    // (v_nrm is read so that the program takes the same vertex layout as the others)
    if ((cutoff >= 0.0 && a < cutoff) || v_nrm.x > 1e30) discard;
}
"""
DEPTH_FRAGMENT = "#version 330\n" + _DEPTH_FRAGMENT_BODY
# Hair's alpha-tested part (its GT surface) in a light's depth map: hair casts shadows (render.shadows).
HAIR_DEPTH_FRAGMENT = "#version 330\n#define VERTEX_COLOR\n" + _DEPTH_FRAGMENT_BODY

# The lights' shadows (render.shadows), for the rgb programs: the first n_shadows lights cast them, each
# light's depth map a tile of one atlas; shadow_seen(i, p) is the share of light i reaching world point p (the
# caller lifts p off its surface): one bilinear comparison, offset by 0.75 texel diagonally by the fragment's
# place in its 2 x 2 block, so that a supersampled pixel (ss 2) averages four comparisons 1.5 texels apart at
# the cost of one: an edge soft over about three texels (a single comparison shows the map's texels as steps
# where the light grazes the surface).
SHADOW_GLSL = """uniform int n_shadows;
uniform mat4 light_vp[4];       // world -> each light's map (x, y in -1..1, depth in -1..1)
uniform float shadow_texel[4];  // a map texel's size (world units): the lift off the surface
uniform sampler2DShadow shadow_atlas;  // the maps side by side: light i's the i-th tile
const int SHADOW_TILES = """ + f"{shadows.MAX_SHADOWED};" + """
const float SHADOW_SIZE = """ + f"{float(shadows.SIZE)!r};" + """
float shadow_seen(int i, vec3 p) {
    if (i >= n_shadows) return 1.0;
    vec4 q = light_vp[i] * vec4(p, 1.0);
    vec3 c = q.xyz * 0.5 + 0.5;
    vec2 o = (mod(floor(gl_FragCoord.xy), 2.0) - 0.5) * (1.5 / SHADOW_SIZE);
    vec2 at = vec2((float(i) + clamp(c.x + o.x, 0.0, 1.0)) / float(SHADOW_TILES), clamp(c.y + o.y, 0.0, 1.0));
    return texture(shadow_atlas, vec3(at, c.z));
}
"""

# CORNEA_PASS: the clear cornea is what lies in front of the iris: the sclera's alpha-tested cut-out and, where
# the ICT iris's front dome stands in front of that, the dome. Both are drawn a second time with cornea = 1
# (premultiplied blending, depth test <= and depth written, the sclera first, after the opaque surfaces and
# before the overlays and hair's soft part): their fragments (the sclera's only where its alpha test dropped
# them) add the cornea's specular reflection alone (no diffuse; f0 and roughness of a cornea, the geometric
# normal), the catchlights of the lights and the environment, over the iris and the pupil seen through it,
# times what the nearer eye's cornea sees in the reflected direction (render.eye_visibility's maps).

# Shaded colour in linear light: Lambert diffuse + GGX specular (Smith-Schlick G, Schlick F) under
# directional lights, plus an optional equirectangular environment (prefiltered by mip level). The
# shading normal is the geometric one bent by the material's tangent-space normal map (glTF: n = texel * 2 - 1,
# xy times the normal scale, N' = normalize(T n.x + B n.y + N n.z), B = cross(N, T) * w), flipped as a whole
# for surfaces seen from behind.
RGB_FRAGMENT = """
#version 330
in vec3 v_cam;
in vec3 v_nrm;
in vec3 v_world;
in vec3 v_wnrm;
in vec2 v_uv;
in vec4 v_tan;
in float v_ao;                  // ambient occlusion (render.occlusion)
in vec3 v_bent;                 // and the bent normal
uniform sampler2D base;
uniform sampler2D normal_map;   // tangent-space normal map (linear RGB, 0.5 = 0)
uniform int use_normal_map;
uniform float normal_scale;
uniform sampler2D rough_spec;   // R = roughness, G = specular (both linear, 0..1)
uniform sampler2D env;
uniform int use_env;
uniform float env_lod;
uniform vec3 ambient;
uniform vec3 eye;
uniform int n_lights;
uniform vec3 light_dir[4];      // world direction towards the light
uniform vec3 light_rgb[4];      // irradiance (linear)
""" + SHADOW_GLSL + """uniform float cutoff;
uniform int blended;
uniform int cornea;             // 1: the clear cornea's reflection only (CORNEA_PASS)
uniform int eyeball;            // 1 iris, 2 sclera: shaded by their socket (render.eye_visibility)
uniform sampler2D cornea_sight0;  // what each eye sees of its surroundings (render.eye_visibility)
uniform sampler2D cornea_sight1;
uniform vec3 eye_centre[2];
out vec4 color;
const float PI = 3.14159265358979;
const float CORNEA_F0 = """ + f"{round(ict.CORNEA_F0, 4)!r};" + """   // face.ict.CORNEA_F0
const float EYE_BOUNCE = """ + f"{eye_visibility.BOUNCE!r};" + """  // render.eye_visibility.BOUNCE
const float CORNEA_ROUGHNESS = """ + f"{ict.CORNEA_ROUGHNESS!r};" + """  // wet and smooth: sharp catchlights
""" + SRGB_GLSL + """vec2 equirect(vec3 d) {   // a world direction's place in the environment's (and the eye maps') image
    return vec2(atan(d.z, d.x) / (2.0 * PI) + 0.5, acos(clamp(d.y, -1.0, 1.0)) / PI);
}
vec3 env_at(vec3 d, float lod) {
    return textureLod(env, equirect(d), lod).rgb;
}
float light_seen(int i) {   // the share of light i that reaches this point past the shadow casters
    // looked up from a point lifted off the surface by two texels (no self-shadowing "acne")
    return shadow_seen(i, v_world + normalize(v_wnrm) * (2.0 * shadow_texel[i]));
}
vec3 eye_sight(vec3 d) {   // the nearer eye's (visibility, iris shade, sclera shade) in direction d
    vec2 uv = equirect(d);
    vec3 first = texture(cornea_sight0, uv).rgb;
    vec3 second = texture(cornea_sight1, uv).rgb;
    vec3 seen = distance(v_world, eye_centre[0]) <= distance(v_world, eye_centre[1]) ? first : second;
    return mix(vec3(EYE_BOUNCE), vec3(1.0), seen);   // hidden directions send back the skin's bounce
}
void main() {
    vec4 a = texture(base, v_uv);
    if (cornea == 1 ? cutoff >= 0.0 && !(a.a < cutoff) : blended == 0 && a.a < cutoff) discard;
    vec3 albedo = cornea == 1 ? vec3(0.0) : to_linear(a.rgb);
    vec2 rs = cornea == 1 ? vec2(CORNEA_ROUGHNESS, 1.0) : texture(rough_spec, v_uv).rg;
    float alpha = max(rs.r * rs.r, 0.002);
    vec3 f0 = vec3(cornea == 1 ? CORNEA_F0 : 0.04 * rs.g);
    vec3 n = normalize(v_wnrm);
    vec3 v = normalize(eye - v_world);
    float side = dot(n, v) < 0.0 ? -1.0 : 1.0;   // two-sided shading for cards seen from behind
    if (use_normal_map == 1) {
        vec3 t = v_tan.xyz - n * dot(n, v_tan.xyz);   // re-orthogonalized after interpolation
        float tl = length(t);
        if (tl > 1e-8) {
            t /= tl;
            vec3 b = cross(n, t) * (v_tan.w < 0.0 ? -1.0 : 1.0);
            vec3 tn = texture(normal_map, v_uv).rgb * 2.0 - 1.0;
            tn.xy *= normal_scale;
            n = normalize(t * tn.x + b * tn.y + n * tn.z);
        }
    }
    n *= side;
    // the open sky's direction: the bent normal's turn from the vertex normal, applied to the shading normal
    vec3 bent = normalize(n + side * (normalize(v_bent) - normalize(v_wnrm)));
    float nv = max(dot(n, v), 1e-4);
    vec3 col = vec3(0.0);
    // specular 0 is no reflection at all (an opening, the inside of the eye, a shadow layer): Fresnel's
    // grazing term would still mirror the surroundings there
    float reflects = rs.g > 0.0 ? 1.0 : 0.0;
#ifdef IBL
    float lit[4];
    for (int i = 0; i < 4; ++i) lit[i] = light_seen(i);   // (1 past the first n_shadows)
    col = ibl_rgb(env, env_lod, use_env * int(reflects), albedo, n, v, rs.r, f0, ambient, n_lights, light_dir,
                  light_rgb, v_ao, bent, lit);
#else
    for (int i = 0; i < n_lights; ++i) {
        vec3 l = normalize(light_dir[i]);
        float nl = max(dot(n, l), 0.0);
        if (nl <= 0.0) continue;
        vec3 h = normalize(l + v);
        float nh = max(dot(n, h), 0.0);
        float d = alpha * alpha / (PI * pow(nh * nh * (alpha * alpha - 1.0) + 1.0, 2.0));
        float k = alpha / 2.0;
        float g = (nl / (nl * (1.0 - k) + k)) * (nv / (nv * (1.0 - k) + k));
        // clamped: dot(h, v) of unit vectors can round above 1 (h = v), and pow of a negative base is NaN
        vec3 f = f0 + (1.0 - f0) * pow(clamp(1.0 - dot(h, v), 0.0, 1.0), 5.0);
        vec3 spec = reflects * d * g * f / (4.0 * nl * nv);
        col += (albedo / PI * (1.0 - f) + spec) * light_rgb[i] * nl * light_seen(i);
    }
    if (use_env == 1) {
        vec3 r = reflect(-v, n);
        vec3 f = f0 + (1.0 - f0) * pow(max(1.0 - nv, 0.0), 5.0);   // (nv can round above 1 too)
        col += albedo * min(v_ao * env_at(bent, env_lod), env_at(n, env_lod)) + v_ao * reflects * f * env_at(r, rs.r * env_lod);
    } else {
        col += albedo * ambient * v_ao;
    }
#endif
    if (cornea == 1) {
        // the brow, lids, nose and cheeks stop part of what the cornea would mirror
        color = vec4(col * eye_sight(reflect(-v, n)).r, 0.0);   // added over what lies behind, unchanged
        return;
    }
    if (eyeball > 0) col *= eye_sight(n)[eyeball];   // the lids, brow and nose shade the eyeball in its socket
    color = vec4(col * (blended == 1 ? a.a : 1.0), blended == 1 ? a.a : 1.0);
}
"""

# Hair in the rgb layer: Kajiya-Kay strands with Scheuermann's two shifted specular lobes (a white primary
# towards the tip, a fibre-tinted secondary towards the root) around the strand tangent (root -> tip),
# wrapped diffuse on the card normal, darkening towards the roots (light blocked by the hair above them),
# fibre bundles across the ribbon, the lights' shadows (render.shadows). Two draws per hair primitive: `soft` 0
# keeps the fragments that pass the alpha test, opaque, writing depth (the GT surface); `soft` 1 keeps those
# that fail it (wispy tips, ribbon edges) and blends them over what is drawn, premultiplied by their effective
# alpha, without writing depth.
HAIR_RGB_FRAGMENT = """
#version 330
in vec3 v_cam;
in vec3 v_nrm;
in vec3 v_world;
in vec3 v_wnrm;
in vec2 v_uv;
in vec4 v_tan;
in vec4 v_col;
in float v_ao;                  // the share of its open half it sees past hair and head (render.hair_occlusion)
in vec3 v_bent;                 // towards its open side
uniform sampler2D base;
uniform sampler2D env;
uniform int use_env;
uniform float env_lod;
uniform vec3 ambient;
uniform vec3 eye;
uniform int n_lights;
uniform vec3 light_dir[4];
uniform vec3 light_rgb[4];
uniform float cutoff;
uniform int soft;
uniform float root_shadow;     // how dark the roots are (0: not at all)
out vec4 color;
const float PI = 3.14159265358979;
""" + SHADOW_GLSL + SRGB_GLSL + """vec3 env_at(vec3 d, float lod) {
    vec2 uv = vec2(atan(d.z, d.x) / (2.0 * PI) + 0.5, acos(clamp(d.y, -1.0, 1.0)) / PI);
    return textureLod(env, uv, lod).rgb;
}
float strand_spec(vec3 t, vec3 h, float e) {
    float th = dot(t, h);
    return smoothstep(-1.0, 0.0, th) * pow(sqrt(max(1.0 - th * th, 0.0)), e);
}
float hash(vec3 p) {
    return fract(sin(dot(p, vec3(12.9898, 78.233, 37.719))) * 43758.5453);
}
void main() {
    vec4 tex = texture(base, v_uv);
    float a = tex.a * v_col.a;
    if (!(a > 0.0) || (soft == 0) != (a >= cutoff)) discard;
    vec3 albedo = to_linear(tex.rgb) * v_col.rgb;
    vec3 v = normalize(eye - v_world);
    vec3 n = normalize(v_wnrm);
    if (dot(n, v) < 0.0) n = -n;
    vec3 t = normalize(v_tan.xyz - n * dot(n, v_tan.xyz) + 1e-6 * n);
    // per-strand variation: the strand colour (COLOR_0) differs strand to strand, so hash it
    float r = hash(v_col.rgb * 997.0);
    // fibres across the ribbon: bundles (as the fibre texture's alpha) and single fibres of their own shade
    float single = hash(vec3(floor(v_uv.x * 9.0), 13.0 * r, 0.37));
    float fibre = (0.88 + 0.12 * cos(6.0 * PI * (v_uv.x - 0.5) + 6.0 * r)) * (0.7 + 0.45 * single);
    float shade = fibre * mix(1.0 - root_shadow, 1.0, smoothstep(0.0, 0.55, v_uv.y)) * (0.9 + 0.2 * r);
    float shift = 0.12 * (r - 0.5) + 0.04 * sin(37.0 * v_uv.y + 11.0 * r);
    vec3 t1 = normalize(t + n * (shift - 0.08));
    vec3 t2 = normalize(t + n * (shift + 0.10));
    vec3 col = vec3(0.0);
    for (int i = 0; i < n_lights; ++i) {
        vec3 l = normalize(light_dir[i]);
        vec3 h = normalize(l + v);
        float wrap = clamp(mix(0.25, 1.0, dot(n, l)), 0.0, 1.0);
        vec3 diffuse = albedo / PI * wrap;
        float sparkle = 0.6 + 0.8 * hash(floor(v_world * 4000.0));
        vec3 spec = 0.06 * vec3(strand_spec(t1, h, 120.0))
                  + 0.6 * sqrt(albedo) * albedo * sparkle * strand_spec(t2, h, 18.0);
        // looked up from a point lifted towards the light by three texels: a ribbon does not shadow itself
        // (a card's normal says little), the hair above it and the hat's brim do
        col += (diffuse + spec * wrap) * light_rgb[i] * shadow_seen(i, v_world + l * (3.0 * shadow_texel[i]));
    }
    // the surroundings' light: what the fibre sees of them, from its open side the more it is hidden
    vec3 open_dir = normalize(mix(n, normalize(v_bent), clamp(2.0 * (1.0 - v_ao), 0.0, 1.0)) + 1e-6 * n);
#ifdef IBL
    col += v_ao * ibl_hair(env, env_lod, use_env, albedo, open_dir, v, ambient);
#else
    col += v_ao * albedo * (use_env == 1 ? env_at(open_dir, env_lod) : ambient);
#endif
    col *= shade;
    color = soft == 0 ? vec4(col, 1.0) : vec4(col * a, a);
}
"""
