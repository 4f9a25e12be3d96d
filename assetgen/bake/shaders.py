"""GLSL of the projection baker.

Per view: VIS renders the mesh from the camera (camera z and primitive index per pixel, the renderer's GT
alpha test), EDGE marks depth edges and material boundaries of that image. Per material: BAKE draws the
material's triangles in UV space (one fragment per texel centre, the same rasterization rule as
uv/raster.py), projects each texel's surface point into every view and adds its weighted colour into
float accumulators (additive blending); RESOLVE turns the sums into the 8-bit texture and coverage.
"""

# ---- per view: visibility ------------------------------------------------------------------------
VIS_VERTEX = """
#version 330
in vec3 in_pos;
in vec2 in_uv;
uniform mat4 w2c;
uniform mat4 proj;
out float v_z;
out vec2 v_uv;
void main() {
    vec4 cam = w2c * vec4(in_pos, 1.0);
    v_z = cam.z;
    v_uv = in_uv;
    gl_Position = proj * cam;
}
"""

VIS_FRAGMENT = """
#version 330
in float v_z;
in vec2 v_uv;
uniform sampler2D base;     // the material's base colour (bilinear, as the renderer samples it)
uniform float cutoff;       // alpha cutoff, -1 for none
uniform float prim;
layout(location = 0) out vec2 o_vis;   // camera z (metres), primitive index
void main() {
    if (cutoff >= 0.0 && texture(base, v_uv).a < cutoff) discard;   // same test as the GT layers
    o_vis = vec2(v_z, prim);
}
"""

FULLSCREEN_VERTEX = """
#version 330
void main() {
    vec2 p = vec2((gl_VertexID << 1) & 2, gl_VertexID & 2);   // one triangle covering the viewport
    gl_Position = vec4(p * 2.0 - 1.0, 0.0, 1.0);
}
"""

# A pixel is on an edge when it is empty or a 4-neighbour inside the image is empty, lies more than 1 %
# of the depth nearer or farther, or shows another primitive (what baker.edge_weight computes in numpy).
EDGE_FRAGMENT = """
#version 330
uniform sampler2D vis;   // camera z (1e30 empty), primitive index (-1 empty)
layout(location = 0) out vec4 o_edge;   // r: 1 on edges; g: (primitive + 1) / 255
bool jump(vec2 a, ivec2 q, ivec2 size) {
    if (q.x < 0 || q.y < 0 || q.x >= size.x || q.y >= size.y) return false;
    vec2 b = texelFetch(vis, q, 0).rg;
    if (b.y < 0.0) return true;
    return abs(a.x - b.x) > 0.01 * min(a.x, b.x) || abs(a.y - b.y) > 0.5;
}
void main() {
    ivec2 ij = ivec2(gl_FragCoord.xy);
    ivec2 size = textureSize(vis, 0);
    vec2 a = texelFetch(vis, ij, 0).rg;
    bool e = a.y < 0.0 || jump(a, ij + ivec2(1, 0), size) || jump(a, ij - ivec2(1, 0), size)
             || jump(a, ij + ivec2(0, 1), size) || jump(a, ij - ivec2(0, 1), size);
    o_edge = vec4(e ? 1.0 : 0.0, (a.y + 1.0) / 255.0, 0.0, 0.0);
}
"""

# ---- per material: accumulate views in UV space ----------------------------------------------------
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
uniform float power;    // weight = cos(view angle)^power * edge weight * resolution weight
uniform float abs_tol;  // depth-test slack (metres)
uniform float min_area; // texels spanning fewer view pixels than this (area) are not taken from the view
uniform sampler2D image;
uniform sampler2D vis;      // camera z (1e30 empty), primitive index (-1 empty) per pixel (nearest)
uniform float prim;         // the primitive being baked
uniform sampler2D own;      // the material's own base colour: its alpha cuts texels out (MASK)
uniform float cutoff;       // alpha cutoff, -1 for none
uniform sampler2D edge;     // 0 at depth edges rising to 1 away from them (bilinear)
uniform int single;         // 1: the only view, drawn straight into the 8-bit texture + coverage target
layout(location = 0) out vec4 o_sum;   // sum w * colour, sum w (single: colour, coverage)
layout(location = 1) out float o_sq;   // sum w * |colour|^2
void main() {
    vec3 c = (w2c * vec4(v_pos, 1.0)).xyz;
    float iz = 1.0 / max(c.z, 1e-6);
    vec2 pix = vec2(kf.x * c.x * iz + skew * c.y * iz + kf.z, kf.y * c.y * iz + kf.w);
    // Derivatives first, in uniform control flow: the texel's footprint in view pixels.
    float texel_area = abs(determinant(mat2(dFdx(pix), dFdy(pix))));
    o_sum = vec4(0.0);
    o_sq = 0.0;
    vec3 n = normalize(v_nrm);
    float cosang = dot(n, normalize(eye - v_pos));
    // Nothing to add: the accumulators (blended) get zeros, the single-view target keeps its clear value.
    if (c.z <= 1e-6 || cosang <= 0.0 || texel_area < min_area) { if (single == 1) discard; return; }
    if (pix.x < 0.0 || pix.y < 0.0 || pix.x >= size.x || pix.y >= size.y) { if (single == 1) discard; return; }
    // A cut-out texel is never what a view shows (the surface behind it is).
    if (cutoff >= 0.0 && texelFetch(own, ivec2(gl_FragCoord.xy), 0).a < cutoff) { if (single == 1) discard; return; }
    vec2 v = texelFetch(vis, ivec2(floor(pix)), 0).rg;
    // Another material at this pixel hides the texel (layers a few mm apart: iris under sclera, teeth
    // behind lips, skin behind eyelashes) whatever the depths say.
    if (abs(v.y - prim) > 0.5) { if (single == 1) discard; return; }
    // The pixel centre is up to ~0.7 px from the texel's projection: allow the surface's slope over it.
    float footprint = c.z / kf.x;
    float tol = abs_tol + footprint * sqrt(max(1.0 - cosang * cosang, 0.0)) / max(cosang, 0.05);
    if (c.z > v.x + tol) { if (single == 1) discard; return; }   // something nearer hides this texel
    // Resolution: a texel spanning less than a pixel of the view is not resolved by it (the view's
    // pixel averages several texels); weight by the texel's on-screen area, capped at 1.
    float w = pow(cosang, power) * texture(edge, pix / size).r * min(texel_area, 1.0);
    if (w <= 0.0) { if (single == 1) discard; return; }
    vec3 col = texture(image, pix / size).rgb;
    if (single == 1) {
        // What RESOLVE gives for one view: its colour, confidence min(w, 1) (one view always agrees).
        o_sum = vec4(col, max(min(w, 1.0), 1.0 / 255.0));
        return;
    }
    o_sum = vec4(col * w, w);
    o_sq = dot(col, col) * w;
}
"""

# The UV footprint of a material (texels its triangles cover), drawn once per material and size.
MASK_FRAGMENT = """
#version 330
in vec3 v_pos;
in vec3 v_nrm;
layout(location = 0) out float o_mask;
void main() { o_mask = 1.0; }
"""

# The surface point of each texel (what BAKE projects), for checks against uv/maps.position_map.
POSITION_FRAGMENT = """
#version 330
in vec3 v_pos;
in vec3 v_nrm;
layout(location = 0) out vec4 o_pos;
void main() { o_pos = vec4(v_pos, 1.0); }
"""

# Resolve the accumulators into the 8-bit texture and coverage on the GPU (reading back 4 bytes per
# texel instead of 20, and no full-size float work in numpy).
RESOLVE_FRAGMENT = """
#version 330
uniform sampler2D acc;   // sum w * colour, sum w
uniform sampler2D sq;    // sum w * |colour|^2
uniform float disagreement;
layout(location = 0) out vec4 o_tex;   // texture rgb, coverage (0 unseen, 1..255 confidence)
void main() {
    ivec2 ij = ivec2(gl_FragCoord.xy);
    vec4 s = texelFetch(acc, ij, 0);
    if (s.a <= 0.0) { o_tex = vec4(0.0); return; }
    vec3 mean = s.rgb / s.a;
    // RMS over the channels of the weighted standard deviation across views.
    float sd = sqrt(max((texelFetch(sq, ij, 0).r / s.a - dot(mean, mean)) / 3.0, 0.0));
    float agreement = clamp(1.0 - sd / disagreement, 0.0, 1.0);
    float conf = min(s.a, 1.0) * agreement;
    // Seen texels keep coverage >= 1/255 so that 0 means exactly "no view saw it".
    o_tex = vec4(clamp(mean, 0.0, 1.0), max(conf, 1.0 / 255.0));
}
"""
