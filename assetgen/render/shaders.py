"""GLSL of the renderer. Positions arrive in world metres; `w2c` is world_to_camera (OpenCV axes) and
`proj` the exact clip-from-camera matrix of camera.Camera.gl_projection."""

from ..color import SRGB_GLSL

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
    gl_Position = proj * cam;
}
"""

VERTEX = "#version 330\n" + _VERTEX_BODY
# The rgb pass adds the glTF tangent (xyz world, w handedness) for normal mapping; the GT pass compiles
# the same source without it, so its layers cannot change when rgb shading does.
RGB_VERTEX = "#version 330\n#define WITH_TANGENT\n" + _VERTEX_BODY

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
layout(location = 0) out vec4 o_geom;    // camera-space unit normal, camera z (metres)
layout(location = 1) out int o_tri;      // global triangle id + 1 (0 = background)
layout(location = 2) out vec2 o_uv;      // glTF UV of the material's image
layout(location = 3) out vec4 o_albedo;  // the texture's stored (sRGB-encoded) value, unlit (nearest texel)
void main() {
#ifdef ALPHA_TEST
    vec4 a = texture(base, v_uv);
    if (a.a < cutoff) discard;   // MASK materials (sclera over the iris, eyelash cards): alpha test
#endif
    o_geom = vec4(normalize(v_nrm), v_cam.z);
    o_tri = gl_PrimitiveID + tri_offset + 1;
    o_uv = v_uv;
    // The stored value of the texel the pixel centre falls in (nearest, no filtering): albedo pixels are
    // exactly texture values, so baking them back can reproduce the texture.
    ivec2 ts = textureSize(base, 0);
    o_albedo = vec4(texelFetch(base, clamp(ivec2(floor(v_uv * vec2(ts))), ivec2(0), ts - 1), 0).rgb, 1.0);
}
"""
GT_FRAGMENT = "#version 330\n#define ALPHA_TEST\n" + _GT_FRAGMENT_BODY
GT_OPAQUE_FRAGMENT = "#version 330\n" + _GT_FRAGMENT_BODY

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
uniform float cutoff;
uniform int blended;
out vec4 color;
const float PI = 3.14159265358979;
""" + SRGB_GLSL + """vec3 env_at(vec3 d, float lod) {
    vec2 uv = vec2(atan(d.x, d.z) / (2.0 * PI) + 0.5, acos(clamp(d.y, -1.0, 1.0)) / PI);
    return textureLod(env, uv, lod).rgb;
}
void main() {
    vec4 a = texture(base, v_uv);
    if (blended == 0 && a.a < cutoff) discard;
    vec3 albedo = to_linear(a.rgb);
    vec2 rs = texture(rough_spec, v_uv).rg;
    float alpha = max(rs.r * rs.r, 0.002);
    vec3 f0 = vec3(0.04 * rs.g);
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
    float nv = max(dot(n, v), 1e-4);
    vec3 col = vec3(0.0);
    for (int i = 0; i < n_lights; ++i) {
        vec3 l = normalize(light_dir[i]);
        float nl = max(dot(n, l), 0.0);
        if (nl <= 0.0) continue;
        vec3 h = normalize(l + v);
        float nh = max(dot(n, h), 0.0);
        float d = alpha * alpha / (PI * pow(nh * nh * (alpha * alpha - 1.0) + 1.0, 2.0));
        float k = alpha / 2.0;
        float g = (nl / (nl * (1.0 - k) + k)) * (nv / (nv * (1.0 - k) + k));
        vec3 f = f0 + (1.0 - f0) * pow(1.0 - max(dot(h, v), 0.0), 5.0);
        vec3 spec = d * g * f / (4.0 * nl * nv);
        col += (albedo / PI * (1.0 - f) + spec) * light_rgb[i] * nl;
    }
    if (use_env == 1) {
        vec3 r = reflect(-v, n);
        vec3 f = f0 + (1.0 - f0) * pow(1.0 - nv, 5.0);
        col += albedo * env_at(n, env_lod) + f * env_at(r, rs.r * env_lod);
    } else {
        col += albedo * ambient;
    }
    color = vec4(col * (blended == 1 ? a.a : 1.0), blended == 1 ? a.a : 1.0);
}
"""
