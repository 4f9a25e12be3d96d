"""The GT renderer checked against an independent ray caster (open3d/Embree), plus conventions and bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from assetgen.errors import InputError
from assetgen.render import Camera, Renderer, intrinsics, look_at, read_glb
from assetgen.render.conditioning import conditioning
from assetgen.render.raycast import Raycaster

SIZE = 128


def face_centre(renderer) -> np.ndarray:
    lo, hi = renderer.mesh.bounds()
    return (lo + hi) / 2


def cameras(renderer) -> list[Camera]:
    """A frontal view, a profile-ish view with off-centre principal point and skew, a view from below."""
    c = face_centre(renderer)
    K2 = np.array([[300.0, 4.0, 50.0], [0, 310.0, 70.0], [0, 0, 1]])
    return [
        Camera(intrinsics(SIZE, SIZE, 260.0), look_at(c + [0.0, 0.02, 0.55], c), (SIZE, SIZE)),
        Camera(K2, look_at(c + [0.45, 0.05, 0.3], c + [0.02, 0.0, 0.0]), (SIZE, SIZE - 16)),
        Camera(intrinsics(SIZE, SIZE, 200.0), look_at(c + [-0.1, -0.35, 0.4], c), (SIZE, SIZE)),
    ]


def pixel_grid(w: int, h: int, offset=(0.0, 0.0)) -> np.ndarray:
    j, i = np.mgrid[0:h, 0:w]
    return np.column_stack([i.ravel() + 0.5 + offset[0], j.ravel() + 0.5 + offset[1]])


def test_landmarks_project_and_visibility_follows_the_rule(renderer):
    """2D = projection of 3D; and, cast independently from the camera through each landmark's pixel
    (not the renderer's way, from the landmark's end): a visible landmark's first surface lies within
    LANDMARK_CLEARANCE_M before it, an invisible in-image one's farther than that."""
    from assetgen.render.raycast import LANDMARK_CLEARANCE_M, LANDMARK_SEE_THROUGH_REGIONS, LANDMARK_VISIBILITY_RULE

    rc = Raycaster(renderer.mesh, skip_regions=LANDMARK_SEE_THROUGH_REGIONS)
    n_visible = n_hidden = 0
    for cam in cameras(renderer):
        lm = renderer.render(cam, ["landmarks"]).landmarks
        assert lm["rule"] == LANDMARK_VISIBILITY_RULE
        # 2D = projection of 3D, recomputed here from K and world_to_camera directly.
        xc = lm["world"] @ cam.world_to_camera[:3, :3].T + cam.world_to_camera[:3, 3]
        assert np.allclose(xc, lm["camera"], atol=1e-12)
        uvw = xc @ cam.K.T
        assert np.abs(uvw[:, :2] / uvw[:, 2:] - lm["pixels"]).max() < 1e-3
        w, h = cam.size
        px = lm["pixels"]
        inside = (xc[:, 2] > 0) & (px[:, 0] >= 0) & (px[:, 0] < w) & (px[:, 1] >= 0) & (px[:, 1] < h)
        assert not lm["visible"][~inside].any()
        o, d = cam.pixel_rays(px[inside])
        gap = np.linalg.norm(lm["world"][inside] - o, axis=1) - rc.cast(o, d)["t"]  # first surface before the landmark
        vis = lm["visible"][inside]
        assert (gap[vis] < LANDMARK_CLEARANCE_M + 1e-6).all() and (gap[~vis] > LANDMARK_CLEARANCE_M - 1e-6).all()
        n_visible += vis.sum()
        n_hidden += (~vis).sum()
    assert n_visible > 60 and n_hidden > 10  # the frontal view alone sees most of them; the profile hides some


def _landmark_cameras(renderer, size=256) -> list[Camera]:
    """Cameras orbiting the face 0.5 m away: yaws -80..80, pitches -25..25 (profiles, views from below)."""
    c = face_centre(renderer)
    cams = []
    for yaw in range(-80, 81, 20):
        for pitch in (-25, 0, 25):
            y, p = np.radians(yaw), np.radians(pitch)
            eye = c + 0.5 * np.array([np.sin(y) * np.cos(p), np.sin(p), np.cos(y) * np.cos(p)])
            cams.append(Camera(intrinsics(size, size, 2.0 * size), look_at(eye, c), (size, size)))
    return cams


def _jittered(cam: Camera, rng, scale=1e-6) -> Camera:
    """The camera turned by a ~1e-6 rad rotation and moved by ~1e-6 m: the same view for any purpose."""
    from scipy.spatial.transform import Rotation

    R = Rotation.from_rotvec(rng.normal(0, scale, 3)).as_matrix()
    T = cam.world_to_camera.copy()
    T[:3, :3] = R @ T[:3, :3]
    T[:3, 3] = R @ T[:3, 3] + rng.normal(0, scale, 3)
    return Camera(cam.K, T, cam.size)


def test_landmark_visibility_is_the_same_from_equivalent_cameras(renderer):
    """All 68 flags (lower eyelids 40, 41, 46, 47 included) are identical under a 1e-6 jitter of the
    camera, from 27 views around the face; a ray aimed exactly at the landmark's vertex flipped them."""
    rng = np.random.default_rng(11)
    changed, n_visible = [], 0
    for k, cam in enumerate(_landmark_cameras(renderer)):
        base = renderer.landmarks(cam)["visible"]  # the landmarks layer of render(), without the GL pass
        n_visible += base.sum()
        for _ in range(3):
            again = renderer.landmarks(_jittered(cam, rng))["visible"]
            if not np.array_equal(again, base):
                changed.append((k, np.flatnonzero(again != base).tolist()))
    assert not changed, changed
    assert 0.3 * 27 * 68 < n_visible < 0.95 * 27 * 68  # the views see some landmarks and hide others


def test_frontal_view_sees_every_interior_landmark_and_the_back_view_none(renderer):
    """From the front every landmark but the jaw line (17..67: brows, nose, eyes with their lower lids,
    lips with the inner mouth) is visible; from behind the head none is, though all are in the image."""
    c = face_centre(renderer)
    front = Camera(intrinsics(256, 256, 500.0), look_at(c + [0.0, 0.0, 0.6], c), (256, 256))
    back = Camera(intrinsics(256, 256, 500.0), look_at(c + [0.0, 0.0, -0.6], c), (256, 256))
    lm = renderer.render(front, ["landmarks"]).landmarks
    assert lm["visible"][17:].all(), np.flatnonzero(~lm["visible"][17:]) + 17
    behind = renderer.render(back, ["landmarks"]).landmarks
    px = behind["pixels"]
    assert ((px >= 0) & (px < 256)).all() and (behind["camera"][:, 2] > 0).all()  # in the image: x-ray
    assert not behind["visible"].any()


def reference(rc: Raycaster, cam: Camera):
    """Ray cast through every pixel centre, and the pixels whose outcome is fragile: the ray grazes a
    region boundary, a silhouette or an alpha cut-out boundary, i.e. the hit region/coverage changes
    under a 0.1 px nudge. (Embree is not watertight: a ray exactly along a shared edge can slip through
    the crack between two triangles; those pixels are fragile by this test too.)"""
    w, h = cam.size
    o, d = cam.pixel_rays(pixel_grid(w, h))
    centre = rc.cast(o, d)
    fragile = centre["alpha_margin"] < 0.03
    tri_c = centre["triangle"]
    region = rc.mesh.triangle_region
    reg_c = np.where(tri_c >= 0, region[np.maximum(tri_c, 0)], 0)
    for off in ((0.1, 0), (-0.1, 0), (0, 0.1), (0, -0.1)):
        oo, dd = cam.pixel_rays(pixel_grid(w, h, off))
        hit = rc.cast(oo, dd)
        reg = np.where(hit["triangle"] >= 0, region[np.maximum(hit["triangle"], 0)], 0)
        fragile |= (reg != reg_c) | (hit["alpha_margin"] < 0.03)
    z = centre["t"] * (d @ cam.R.T)[:, 2]  # distance along a unit ray -> camera z
    return z.reshape(h, w), reg_c.reshape(h, w), fragile.reshape(h, w)


def test_depth_and_segmentation_match_ray_casting(renderer):
    rc = Raycaster(renderer.mesh)
    report = []
    for cam in cameras(renderer):
        res = renderer.render(cam, ["depth", "segmentation"])
        z, reg, fragile = reference(rc, cam)
        ok = ~fragile
        assert np.array_equal(np.isfinite(res.depth)[ok], np.isfinite(z)[ok])
        both = ok & np.isfinite(z)
        assert both.sum() > 0.2 * z.size
        assert np.abs(res.depth[both] - z[both]).max() < 1e-4  # 0.1 mm
        assert np.array_equal(res.segmentation[ok], reg[ok])
        report.append(int(fragile.sum()))
    print(f"grazing pixels set aside per view: {report} of {SIZE * SIZE}")
    assert max(report) < 0.05 * SIZE * SIZE


def test_gl_projection_centres_pixels_exactly(renderer):
    """A vertex projected to pixel (u, v) lands in pixel (floor u, floor v) of the triangle-id layer."""
    cam = cameras(renderer)[1]
    res = renderer.render(cam, ["uv", "landmarks"])
    px = res.landmarks["pixels"][res.landmarks["visible"]]
    assert len(px)
    assert (res.triangle[np.floor(px[:, 1]).astype(int), np.floor(px[:, 0]).astype(int)] >= 0).all()
    assert res.uv.shape == (cam.size[1], cam.size[0], 2)
    assert np.isnan(res.uv[~res.mask]).all() and (res.material[res.mask] >= 0).all()


def test_layers_and_albedo_are_stored_values(renderer, asset):
    cam = cameras(renderer)[0]
    res = renderer.render(cam)
    h, w = SIZE, SIZE
    assert res.rgb.shape == (h, w, 3) and res.rgb.dtype == np.uint8
    assert res.depth.dtype == np.float32 and np.isinf(res.depth[~res.mask]).all()
    n = res.normal[res.mask]
    assert np.allclose(np.linalg.norm(n, axis=1), 1, atol=1e-3)
    assert (n[:, 2] < 0).mean() > 0.9  # most surfaces face the camera (OpenCV z points away)
    assert set(np.unique(res.segmentation)) <= set(range(len(res.regions)))
    assert res.rgb[res.mask].mean() > 20 and (res.albedo[~res.mask] == 0).all()
    cond = conditioning(res)
    assert cond["depth"][~res.mask].max() == 0 and cond["depth"][res.mask].min() > 0
    assert cond["normal"].shape == (h, w, 3)
    # normalbae: red = facing the image's left, green = facing up, blue = facing the camera (frontal view)
    c = face_centre(renderer)
    front = renderer.render(Camera(intrinsics(128, 128, 300), look_at(c + [0, 0, 0.6], c), (128, 128)), ["depth", "normal"])
    nb = conditioning(front)["normal"].astype(float)
    cols = np.nonzero(front.mask.any(axis=0))[0]
    rows = np.nonzero(front.mask.any(axis=1))[0]
    third_w, third_h = (cols[-1] - cols[0]) // 3, (rows[-1] - rows[0]) // 3
    left, right = front.mask.copy(), front.mask.copy()
    left[:, cols[0] + third_w:], right[:, : cols[-1] - third_w] = False, False
    crown = front.mask.copy()
    crown[rows[0] + third_h // 3:] = False  # the top of the head curves away upwards
    assert nb[left][:, 0].mean() > 140 and nb[right][:, 0].mean() < 116
    assert nb[crown][:, 1].mean() > 150
    assert nb[front.mask][:, 2].mean() > 200
    assert (cond["normal"][~res.mask] == (128, 128, 255)).all()


def test_camera_seeing_nothing_is_empty(renderer):
    c = face_centre(renderer)
    away = Camera(intrinsics(64, 64, 100), look_at(c + [0, 0, 0.5], c + [0, 0, 1.5]), (64, 64))
    res = renderer.render(away)
    assert not res.mask.any() and np.isinf(res.depth).all() and not res.landmarks["visible"].any()


@pytest.mark.parametrize(
    "K, T",
    [
        (np.zeros((3, 3)), np.eye(4)),
        (np.array([[100.0, 0, 32], [0, 100, 32], [0, 0, 1]]), np.diag([1.0, 1, 0, 1])),
        (np.array([[np.nan, 0, 32], [0, 100, 32], [0, 0, 1]]), np.eye(4)),
        (np.eye(3)[:2], np.eye(4)),
    ],
)
def test_bad_cameras_are_refused(K, T):
    with pytest.raises(InputError):
        Camera(K, T, (64, 64))


def test_glb_reads_back_and_renders_the_same(tmp_path, asset, renderer):
    from assetgen.export.asset_files import write_asset

    written = write_asset(asset, tmp_path)
    from_glb = Renderer(written.glb)
    try:
        cam = cameras(renderer)[0]
        a = renderer.render(cam, ["depth", "segmentation", "albedo", "landmarks"])
        b = from_glb.render(cam, ["depth", "segmentation", "albedo", "landmarks"])
        assert np.array_equal(a.segmentation, b.segmentation)
        assert np.array_equal(a.depth, b.depth)
        assert np.array_equal(a.albedo, b.albedo)
        assert np.array_equal(a.landmarks["visible"], b.landmarks["visible"])
    finally:
        from_glb.release()


def test_glb_without_uvs_is_refused(tmp_path, asset):
    import pygltflib

    from assetgen.export.asset_files import write_asset

    written = write_asset(asset, tmp_path)
    doc = pygltflib.GLTF2().load_binary(str(written.glb))
    doc.meshes[0].primitives[0].attributes.TEXCOORD_0 = None
    doc.save_binary(str(written.glb))
    with pytest.raises(InputError, match="UV"):
        read_glb(written.glb)
    json.loads(written.ground_truth.read_text())  # the sidecar itself was fine


# ---- normal maps (rgb only) ------------------------------------------------------------------
def _variant(mesh, **per_prim):
    """A copy of `mesh` whose primitives get the fields per_prim[name](primitive) returns."""
    import dataclasses

    from assetgen.render import RenderMesh

    prims = [dataclasses.replace(p, **{k: f(p) for k, f in per_prim.items()}) for p in mesh.primitives]
    return RenderMesh(mesh.name, prims, mesh.landmarks_world, mesh.regions)


def _render_variant(mesh, cam, shadows=True, **per_prim):
    r = Renderer(_variant(mesh, **per_prim), shadows=shadows)
    try:
        return r.render(cam)
    finally:
        r.release()


def _constant_map(p, n):
    return np.broadcast_to(np.asarray(n, np.uint8), p.base_color.shape[:2] + (3,)).copy()


def _bent_normals(p, tx, ty):
    """Per-vertex normals bent as a constant tangent-space normal (tx, ty, sqrt(1 - tx² - ty²)) bends them."""
    t = p.vertex_tangents().astype(np.float64)
    nrm = p.normals.astype(np.float64)
    b = np.cross(nrm, t[:, :3]) * t[:, 3:]
    n = nrm * np.sqrt(1 - tx * tx - ty * ty) + t[:, :3] * tx + b * ty
    return (n / np.linalg.norm(n, axis=1, keepdims=True)).astype(np.float32)


def _diff(a, b):
    return np.abs(a.rgb.astype(np.int16) - b.rgb.astype(np.int16))


def test_normal_maps_bend_rgb_only(renderer):
    mesh, cam = renderer.mesh, cameras(renderer)[0]
    assert all(p.normal is not None and p.vertex_tangents().shape == (len(p.positions), 4) for p in mesh.primitives)
    plain = _render_variant(mesh, cam, normal=lambda p: None)
    flat = _render_variant(mesh, cam, normal=lambda p: _constant_map(p, (128, 128, 255)))
    zero = _render_variant(mesh, cam, normal=lambda p: _constant_map(p, (200, 60, 150)), normal_scale=lambda p: 0.0)

    def bumps(p):  # a strong egg-crate bump pattern, 16-texel period
        h, w = p.base_color.shape[:2]
        j, i = np.mgrid[0:h, 0:w]
        n = np.stack([0.7 * np.sin(2 * np.pi * i / 16), 0.7 * np.cos(2 * np.pi * j / 16), np.ones((h, w))], -1)
        return np.floor(n / np.linalg.norm(n, axis=-1, keepdims=True) * 127.5 + 128).astype(np.uint8)

    bumped = _render_variant(mesh, cam, normal=bumps)
    own = renderer.render(cam)
    # glTF decodes 128 as +0.5/127.5 (a 0.3° tilt), so a flat map is the plain shading to 1/255 almost
    # everywhere, about 2/255 at worst (3 where the rounding of both falls apart: a lash's edge over the
    # cornea's reflection); with normal_scale 0 the map's xy vanish and the shading is exact.
    assert _diff(flat, plain).max() <= 3 and (_diff(flat, plain) > 1).mean() < 0.005
    assert np.array_equal(zero.rgb, plain.rgb)
    assert _diff(bumped, plain)[plain.mask].mean() > 5
    assert _diff(own, plain)[plain.mask].max() > 0  # the asset's own maps are used
    for res in (flat, zero, bumped, own):
        for layer in ("depth", "normal", "segmentation", "albedo", "uv", "material", "triangle"):
            assert np.array_equal(getattr(res, layer), getattr(plain, layer), equal_nan=True), layer


@pytest.mark.parametrize("tx, ty, mirrored", [(0.5, 0.0, False), (0.0, 0.5, False), (-0.3, -0.4, False), (0.0, 0.5, True), (-0.3, -0.4, True)])
def test_normal_map_follows_the_tangent_frame(renderer, tx, ty, mirrored):
    """A constant map (tx, ty, ·) shades like vertex normals bent by T tx + B ty with B = cross(N, T) w;
    the mirrored frame (wrong sign of u, v or handedness) does not. mirrored: u flipped, so the
    recomputed M_Face tangents all have w = -1 (its own UVs give w = +1 throughout)."""
    mesh, cam = renderer.mesh, cameras(renderer)[0]
    # bent normals (render.occlusion) are kept as given while `good` moves the normals: compare without them
    mesh = _variant(mesh, bent_normals=lambda p: None)
    if mirrored:
        mesh = _variant(mesh, texcoords=lambda p: np.column_stack([1 - p.texcoords[:, 0], p.texcoords[:, 1]]).astype(np.float32),
                        tangents=lambda p: None)
        assert (mesh.material("M_Face").vertex_tangents()[:, 3] < 0).all()
    nz = np.sqrt(1 - tx * tx - ty * ty)
    texel = np.floor(np.array([tx, ty, nz]) * 127.5 + 128).astype(np.uint8)
    # (without shadows: their lookup lifts each point along the vertex normal, which `good` moves)
    mapped = _render_variant(mesh, cam, False, normal=lambda p: _constant_map(p, texel))
    good = _render_variant(mesh, cam, False, normal=lambda p: None, normals=lambda p: _bent_normals(p, tx, ty))
    bad = _render_variant(mesh, cam, False, normal=lambda p: None, normals=lambda p: _bent_normals(p, -tx, -ty))
    m = mapped.mask
    err, wrong = _diff(mapped, good)[m].mean(), _diff(mapped, bad)[m].mean()
    assert err < 2.0 and wrong > 5 * err, (err, wrong)


def test_glb_normal_maps_and_tangents_render_like_the_asset(tmp_path, asset, renderer):
    from assetgen.export.asset_files import write_asset

    written = write_asset(asset, tmp_path)
    mesh = read_glb(written.glb)
    for p, q in zip(mesh.primitives, renderer.mesh.primitives):
        assert p.normal is not None and np.array_equal(p.normal, q.normal[..., :3])
        assert p.tangents is not None and p.tangents.shape == (len(p.positions), 4)
        assert np.array_equal(np.sign(p.tangents[:, 3]), np.sign(q.tangents[:, 3]))
    from_glb = Renderer(mesh)
    try:
        cam = cameras(renderer)[0]
        assert np.abs(from_glb.render(cam, ["rgb"]).rgb.astype(int) - renderer.render(cam, ["rgb"]).rgb.astype(int)).max() <= 2
    finally:
        from_glb.release()


# ---- lazy rgb resources, shared programs/framebuffers, layer subsets --------------------------
def test_rgb_after_gt_only_renders_matches_a_fresh_renderer(asset):
    """A Renderer uploads the rgb pass's resources on its first rgb render: rendering GT layers first
    changes nothing, and the GT layers are the same before and after the rgb pass."""
    fresh, gt_first = Renderer(asset), Renderer(asset)
    try:
        cams = cameras(fresh)
        gt = [gt_first.render(cam, ["albedo", "depth", "normal", "uv", "segmentation"]) for cam in cams]
        assert not gt_first._rgb_ready
        for cam, before in zip(cams, gt):
            a, b = fresh.render(cam), gt_first.render(cam)
            assert np.array_equal(a.rgb, b.rgb)
            for layer in ("albedo", "depth", "normal", "uv", "material", "triangle", "segmentation"):
                assert np.array_equal(getattr(a, layer), getattr(b, layer), equal_nan=True), layer
                assert np.array_equal(getattr(before, layer), getattr(b, layer), equal_nan=True), layer
    finally:
        fresh.release()
        gt_first.release()


def test_layer_subsets_and_lookups(renderer):
    """Each layer is the same whichever others are asked for; material/segmentation are the lookups of
    the triangle layer; empty pixels are -1 / 0 / NaN / inf / 0."""
    mesh = renderer.mesh
    for cam in cameras(renderer):
        full = renderer.render(cam, ["albedo", "depth", "normal", "uv", "segmentation"])
        t, empty = full.triangle, full.triangle < 0
        assert empty.any() and (~empty).any()
        assert np.array_equal(full.material, np.where(empty, -1, mesh.triangle_material[np.maximum(t, 0)]))
        assert full.material.dtype == np.int16 and full.segmentation.dtype == np.uint8
        assert np.array_equal(full.segmentation, np.where(empty, 0, mesh.triangle_region[np.maximum(t, 0)]))
        assert np.isnan(full.uv[empty]).all() and not np.isnan(full.uv[~empty]).any()
        assert np.isinf(full.depth[empty]).all() and (full.normal[empty] == 0).all() and (full.albedo[empty] == 0).all()
        for layer in ("albedo", "depth", "normal", "uv", "segmentation"):
            one = renderer.render(cam, [layer])
            assert np.array_equal(getattr(one, layer), getattr(full, layer), equal_nan=True), layer
            assert np.array_equal(one.triangle, full.triangle)
            assert all(getattr(one, o) is None for o in ("albedo", "depth", "normal", "uv", "segmentation") if o != layer)
            for arr in (getattr(one, layer), one.triangle):
                assert arr.flags.c_contiguous and arr.flags.writeable


def test_renderers_sharing_framebuffers_interleave(asset, renderer):
    """Renderers of one context share programs and framebuffers: interleaved renders of two meshes at
    the same size give what each gives alone, and releasing one leaves the other working."""
    from assetgen.render import mesh_from_asset

    cam = cameras(renderer)[0]
    alone = renderer.render(cam, ["depth", "uv", "rgb"])
    other = Renderer(mesh_from_asset(asset))
    try:
        cams = cameras(other)
        ref = other.render(cams[2], ["depth", "uv", "rgb"])
        mixed = renderer.render(cam, ["depth", "uv", "rgb"])
        again = other.render(cams[2], ["depth", "uv", "rgb"])
        for layer in ("depth", "uv", "rgb"):
            assert np.array_equal(getattr(mixed, layer), getattr(alone, layer), equal_nan=True)
            assert np.array_equal(getattr(again, layer), getattr(ref, layer), equal_nan=True)
    finally:
        other.release()
    assert np.array_equal(renderer.render(cam, ["depth", "rgb"]).rgb, alone.rgb)


# ---- mesh_from_asset: per-topology cache, exact normals, deferred tangents ---------------------
def test_mesh_from_asset_caches_topology_and_matches_the_exporter(asset, face_model):
    """The split/UVs come from the exporter's topology cache, shared (read-only) between meshes of one
    model; the normals are FaceModel.vertex_normals bit for bit; the deferred tangents are the exporter's."""
    import dataclasses
    import pickle

    from assetgen.geometry import split_corners, vertex_tangents, world_positions
    from assetgen.render import mesh_from_asset
    from assetgen.render.mesh import Deferred
    from assetgen.uv.topology import topology_of

    rng = np.random.default_rng(3)
    shape = dataclasses.replace(asset, vertices=asset.vertices + rng.normal(0, 0.2, asset.vertices.shape).astype(np.float32))
    a = mesh_from_asset(asset)
    assert isinstance(a.primitives[0].__dict__["_deferred_tangents"], Deferred)  # not computed yet
    b = mesh_from_asset(shape)
    nrm = face_model.vertex_normals(np.asarray(shape.vertices, np.float32))
    pos = world_positions(shape)
    parts = topology_of(face_model).parts  # one cache: the exporter's
    assert [q.material for q in b.primitives] == [part.name for part in parts]
    for p, q, part in zip(a.primitives, b.primitives, parts):
        assert q.texcoords is p.texcoords and q.indices is p.indices
        assert not p.texcoords.flags.writeable and not p.indices.flags.writeable
        assert q.texcoords is part.texcoords(part.model_tiles) and q.indices is part.indices_int32
        assert q.indices.dtype == np.int32
    uv = np.asarray(face_model.mesh.uvs, np.float64)
    tri_material = np.asarray(face_model.triangle_material)
    for q in b.primitives:
        m = face_model.material_names.index(q.material)
        tri = np.flatnonzero(tri_material == m)
        sv, su, ind = split_corners(face_model.triangles[tri], face_model.triangle_uv_index[tri], len(face_model.mesh.uvs))
        assert np.array_equal(q.indices, ind) and np.array_equal(q.positions, pos[sv])
        assert np.array_equal(q.normals, nrm[sv])  # bit for bit
        if q.normal is not None:
            assert np.array_equal(q.tangents, vertex_tangents(pos[sv], nrm[sv], uv[su], ind))
    # Pickling and dataclasses.replace carry the computed tangents.
    p = mesh_from_asset(asset).primitives[0]
    assert np.array_equal(pickle.loads(pickle.dumps(p)).tangents, a.primitives[0].tangents)
    assert np.array_equal(dataclasses.replace(mesh_from_asset(asset).primitives[0], normal=None).tangents, a.primitives[0].tangents)


# ---- conditioning: the plain float64 formulas, byte for byte ----------------------------------
def _depth_condition_reference(depth):
    z = np.asarray(depth, np.float64)
    fg = np.isfinite(z) & (z > 0)
    out = np.zeros(z.shape, np.float64)
    if fg.any():
        near, far = z[fg].min(), 2.0 * z[fg].max()
        inv = 1.0 / np.where(fg, z, far)
        out = np.where(fg, (inv - 1.0 / far) / (1.0 / near - 1.0 / far), 0.0)
    img = np.rint(np.clip(out, 0, 1) * 255).astype(np.uint8)
    return np.repeat(img[..., None], 3, axis=2)


def _normal_condition_reference(normal, mask):
    n = np.asarray(normal, np.float64)
    n = np.where(n[..., 2:3] > 0, -n, n)
    enc = np.stack([-n[..., 0], -n[..., 1], -n[..., 2]], axis=-1)  # x left, y up, z towards the camera
    with np.errstate(invalid="ignore"):
        img = np.rint((enc + 1.0) * 0.5 * 255).clip(0, 255).astype(np.uint8)
    img[~np.asarray(mask, bool)] = (128, 128, 255)
    return img


@pytest.mark.parametrize("coverage", [0.1, 0.6, 1.0])  # sparse (gathered) and dense (row-block) paths
def test_conditioning_is_the_float64_formula_exactly(coverage):
    from assetgen.render.conditioning import depth_condition, normal_condition

    rng = np.random.default_rng(int(coverage * 10))
    for h, w in ((1, 1), (37, 53), (200, 130)):
        n = rng.uniform(-1.1, 1.1, (h, w, 3)).astype(np.float32)
        k = rng.integers(0, 255, n.shape)
        edge = ((2 * k + 1) / 255 - 1).astype(np.float32)  # nearest float32s to the rounding boundaries
        edge = np.nextafter(edge, np.where(rng.random(n.shape) < 0.5, -2, 2).astype(np.float32))
        pick = rng.random(n.shape)
        n = np.where(pick < 0.4, edge, n)
        n = np.where(pick > 0.95, (rng.standard_normal(n.shape) * 2.0 ** rng.integers(-140, -10, n.shape)).astype(np.float32), n)
        n[..., 2] = np.where(rng.random((h, w)) < 0.2, np.abs(n[..., 2]), n[..., 2])  # some face away
        n[0, 0] = 0.0
        mask = rng.random((h, w)) < coverage
        for normal in (n, n.astype(np.float64), n[:, ::-1][:, ::-1].copy()):
            assert np.array_equal(normal_condition(normal, mask), _normal_condition_reference(normal, mask))
        z = rng.uniform(0.05, 3.0, (h, w)).astype(np.float32)
        z[rng.random((h, w)) > coverage] = np.inf
        assert np.array_equal(depth_condition(z), _depth_condition_reference(z))
        z[rng.random((h, w)) < 0.05] = np.nan
        z[rng.random((h, w)) < 0.05] = -1.0
        z[rng.random((h, w)) < 0.05] = 0.0
        with np.errstate(divide="ignore", invalid="ignore"):
            expected = _depth_condition_reference(z)
        assert np.array_equal(depth_condition(z), expected)
        assert np.array_equal(depth_condition(z.astype(np.float64)), expected)
    # Non-finite normals outside the mask still give the background, on both paths (1 of 10 rows valid, 7 of 10).
    for valid in (1, 7):
        bad = np.full((10, 4, 3), np.nan, np.float32)
        bad[0] = np.inf
        bad[10 - valid:] = (0.0, 0.0, -1.0)
        mask = np.zeros((10, 4), bool)
        mask[10 - valid:] = True
        img = normal_condition(bad, mask)
        assert (img == (128, 128, 255)).all()


def test_conditioning_of_renders_is_the_float64_formula(renderer):
    from assetgen.render.conditioning import depth_condition, normal_condition

    for cam in cameras(renderer):
        res = renderer.render(cam, ["depth", "normal"])
        assert np.array_equal(depth_condition(res.depth), _depth_condition_reference(res.depth))
        assert np.array_equal(normal_condition(res.normal, res.mask), _normal_condition_reference(res.normal, res.mask))
        full = np.ones_like(res.mask)
        assert np.array_equal(normal_condition(res.normal, full), _normal_condition_reference(res.normal, full))


# ---- the one sRGB transfer function -------------------------------------------------------------
def test_srgb_functions_are_the_plain_formulas_bit_for_bit():
    """assetgen.color computes the IEC 61966-2-1 formula as written, in float32 for float32 input (the
    renderer's rgb layer) and in float64 for float64 input; decoding bytes gives float32."""
    from assetgen.color import linear_to_srgb, linear_to_srgb8, srgb8_to_linear, srgb_to_linear

    x32 = np.arange(0, 0x3F800001, 997, dtype=np.uint32).view(np.float32)  # every 997th float in [0, 1]
    x32 = np.concatenate([x32, np.float32([-0.5, 0.0031308, 0.04045, 1.0, 1.5, np.inf, -np.inf])])
    c = np.clip(x32, 0.0, 1.0)
    enc32 = np.where(c <= 0.0031308, 12.92 * c, 1.055 * np.power(c, 1 / 2.4) - 0.055)
    assert enc32.dtype == np.float32 and np.array_equal(linear_to_srgb(x32), enc32)
    assert np.array_equal(linear_to_srgb8(x32), np.rint(enc32 * 255.0).astype(np.uint8))
    with np.errstate(invalid="ignore"):
        dec32 = np.where(x32 <= 0.04045, x32 / 12.92, ((x32 + 0.055) / 1.055) ** 2.4)
    assert np.array_equal(srgb_to_linear(x32), dec32, equal_nan=True)
    x64 = np.random.default_rng(5).uniform(-0.1, 1.1, 200_000)
    c64 = np.clip(x64, 0.0, 1.0)
    assert np.array_equal(linear_to_srgb(x64), np.where(c64 <= 0.0031308, 12.92 * c64, 1.055 * c64 ** (1 / 2.4) - 0.055))
    with np.errstate(invalid="ignore"):
        assert np.array_equal(srgb_to_linear(x64), np.where(x64 <= 0.04045, x64 / 12.92, ((x64 + 0.055) / 1.055) ** 2.4), equal_nan=True)
    assert linear_to_srgb(np.arange(3)).dtype == np.float64 and linear_to_srgb(x64, np.float32).dtype == np.float32
    codes = np.arange(256, dtype=np.uint8)
    lin = srgb8_to_linear(codes)
    c8 = codes.astype(np.float32) / 255.0
    assert lin.dtype == np.float32 and np.array_equal(lin, np.where(c8 <= 0.04045, c8 / 12.92, ((c8 + 0.055) / 1.055) ** 2.4))
    assert np.array_equal(linear_to_srgb8(lin), codes)  # every byte survives the round trip
    assert abs(float(linear_to_srgb(np.float64(0.5))) - 0.7353569830524495) < 1e-15  # the published value
