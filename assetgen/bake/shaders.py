"""GLSL of the projection baker: draw a material's triangles in UV space (one fragment per texel centre,
the same rasterization rule as uv/raster.py), project each texel's surface point into a view and add its
weighted colour into float accumulators (additive blending across views)."""

VERTEX = """
#version 330
in vec3 in_pos;
in vec3 in_nrm;
in vec2 in_uv;
out vec3 v_pos;
out vec3 v_nrm;
void main() {
    v_pos = in_pos;
    v_nrm = in_nrm;
    // glTF v' = 0 is the top row; GL window row 0 is read back first, so row 0 = v' in [0, 1/H).
    gl_Position = vec4(in_uv * 2.0 - 1.0, 0.0, 1.0);
}
"""

FRAGMENT = """
#version 330
in vec3 v_pos;
in vec3 v_nrm;
uniform mat4 w2c;
uniform vec4 kf;        // fx, fy, cx, cy
uniform float skew;
uniform vec2 size;      // image width, height (pixels)
uniform vec3 eye;       // camera centre (world)
uniform float power;    // weight = cos(view angle)^power * edge weight
uniform float abs_tol;  // depth-test slack (metres)
uniform sampler2D image;
uniform sampler2D depth;    // camera z per pixel, 1e30 where empty (nearest)
uniform sampler2D owner;    // primitive index seen per pixel, -1 where empty (nearest)
uniform float prim;         // the primitive being baked
uniform sampler2D own;      // the material's own base colour: its alpha cuts texels out (MASK)
uniform float cutoff;       // alpha cutoff, -1 for none
uniform sampler2D edge;     // 0 at depth edges rising to 1 away from them (bilinear)
layout(location = 0) out vec4 o_sum;   // sum w * colour, sum w
layout(location = 1) out vec4 o_sq;    // sum w * colour^2, number of views drawn (UV coverage)
void main() {
    o_sum = vec4(0.0);
    o_sq = vec4(0.0, 0.0, 0.0, 1.0);
    vec3 c = (w2c * vec4(v_pos, 1.0)).xyz;
    vec3 n = normalize(v_nrm);
    float cosang = dot(n, normalize(eye - v_pos));
    if (c.z <= 1e-6 || cosang <= 0.0) return;
    // A cut-out texel is never what a view shows (the surface behind it is).
    if (cutoff >= 0.0 && texelFetch(own, ivec2(gl_FragCoord.xy), 0).a < cutoff) return;
    vec2 pix = vec2(kf.x * c.x / c.z + skew * c.y / c.z + kf.z, kf.y * c.y / c.z + kf.w);
    if (pix.x < 0.0 || pix.y < 0.0 || pix.x >= size.x || pix.y >= size.y) return;
    ivec2 ip = ivec2(floor(pix));
    // Another material at this pixel hides the texel (layers a few mm apart: iris under sclera, teeth
    // behind lips, skin behind eyelashes) whatever the depths say.
    if (abs(texelFetch(owner, ip, 0).r - prim) > 0.5) return;
    float d = texelFetch(depth, ip, 0).r;
    // The pixel centre is up to ~0.7 px from the texel's projection: allow the surface's slope over it.
    float footprint = c.z / kf.x;
    float tol = abs_tol + footprint * sqrt(max(1.0 - cosang * cosang, 0.0)) / max(cosang, 0.05);
    if (c.z > d + tol) return;   // something nearer hides this texel
    // Resolution: a texel spanning less than a pixel of the view is not resolved by it (the view's
    // pixel averages several texels); weight by the texel's on-screen area, capped at 1.
    float texel_area = abs(determinant(mat2(dFdx(pix), dFdy(pix))));
    float w = pow(cosang, power) * texture(edge, pix / size).r * min(texel_area, 1.0);
    if (w <= 0.0) return;
    vec3 col = texture(image, pix / size).rgb;
    o_sum = vec4(col * w, w);
    o_sq = vec4(col * col * w, 1.0);
}
"""

# Resolve the accumulators into the 8-bit texture and coverage on the GPU (reading back 4 bytes per
# texel instead of 32, and no full-size float work in numpy).
RESOLVE_VERTEX = """
#version 330
void main() {
    vec2 p = vec2((gl_VertexID << 1) & 2, gl_VertexID & 2);   // one triangle covering the viewport
    gl_Position = vec4(p * 2.0 - 1.0, 0.0, 1.0);
}
"""

RESOLVE_FRAGMENT = """
#version 330
uniform sampler2D acc;   // sum w * colour, sum w
uniform sampler2D sq;    // sum w * colour^2, views drawn
uniform float disagreement;
layout(location = 0) out vec4 o_tex;   // texture rgb, coverage (0 unseen, 1..255 confidence)
layout(location = 1) out vec4 o_mask;  // r: 1 where the material's triangles cover the texel
void main() {
    ivec2 ij = ivec2(gl_FragCoord.xy);
    vec4 s = texelFetch(acc, ij, 0);
    vec4 q = texelFetch(sq, ij, 0);
    o_mask = vec4(q.a > 0.0 ? 1.0 : 0.0, 0.0, 0.0, 1.0);
    if (s.a <= 0.0) { o_tex = vec4(0.0); return; }
    vec3 mean = s.rgb / s.a;
    vec3 sd = sqrt(max(q.rgb / s.a - mean * mean, 0.0));
    float agreement = clamp(1.0 - (sd.r + sd.g + sd.b) / 3.0 / disagreement, 0.0, 1.0);
    float conf = min(s.a, 1.0) * agreement;
    // Seen texels keep coverage >= 1/255 so that 0 means exactly "no view saw it".
    o_tex = vec4(clamp(mean, 0.0, 1.0), max(conf, 1.0 / 255.0));
}
"""
