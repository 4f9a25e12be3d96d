"""Hair in the GT renderer: alpha-tested ribbons (glTF MASK, effective alpha = fibre texture x COLOR_0)
checked against the independent ray caster, the hair GLB encoding read back, the coverage layer, landmark
visibility behind hair, the ribbons' level of detail and the renderer's occlusion culling of hair."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from assetgen.errors import InputError
from assetgen.render import (
    Camera,
    Renderer,
    RenderMesh,
    intrinsics,
    look_at,
    mesh_from_asset,
    read_glb,
)
from assetgen.render.hair import HAIR_REGIONS, fibre_texture, with_hair_regions
from assetgen.render.mesh import Primitive
from assetgen.render.raycast import Raycaster
from tests.test_render import reference

SIZE = 128


@pytest.fixture(scope="module")
def hairy(asset, face_model):
    """The shared test asset with a full groom: medium scalp hair, full beard (+ moustache), brows, lashes."""
    from assetgen.attach.hair import make_groom, sample_groom_params

    params = sample_groom_params(np.random.default_rng(3), style="medium", beard_style="full")
    out = copy.copy(asset)
    out.groom = make_groom(face_model, params, np.random.default_rng(3), rest_vertices=asset.vertices)
    return out


@pytest.fixture(scope="module")
def hairy_renderer(hairy):
    r = Renderer(hairy)
    yield r
    r.release()


def _cameras(mesh) -> list[Camera]:
    lo, hi = mesh.bounds()
    c = (lo + hi) / 2
    K2 = np.array([[150.0, 2.0, 60.0], [0, 155.0, 66.0], [0, 0, 1]])
    return [
        Camera(intrinsics(SIZE, SIZE, 280.0), look_at(c + [0.0, 0.02, 0.6], c), (SIZE, SIZE)),
        Camera(K2, look_at(c + [0.45, 0.08, 0.3], c + [0.02, 0.0, 0.0]), (SIZE, SIZE - 8)),
        Camera(intrinsics(SIZE, SIZE, 200.0), look_at(c + [-0.25, 0.3, -0.45], c), (SIZE, SIZE)),
    ]


def test_mesh_regions_and_hair_primitives(asset, hairy):
    bald = mesh_from_asset(asset)
    mesh = mesh_from_asset(hairy)
    assert bald.regions == tuple(asset.model.region_names)  # no hair: the face list, unchanged
    assert mesh.regions == with_hair_regions(bald.regions)
    assert len(set(mesh.regions)) == len(mesh.regions)
    assert mesh.regions.index("eyelashes") == bald.regions.index("eyelashes")  # lashes keep the face's id
    hair = mesh.primitives[len(bald.primitives):]
    assert [p.material for p in hair] == [f"Hair_{r}" for r in HAIR_REGIONS]
    for p, q in zip(bald.primitives, mesh.primitives):
        assert p.material == q.material and np.array_equal(p.positions, q.positions)
    for p in hair:
        region = p.material[len("Hair_"):]
        assert p.alpha_mode == "MASK" and p.alpha_cutoff == 0.5 and p.base_color.shape[2] == 4
        assert set(np.unique(p.regions)) == {mesh.regions.index(region)}
        assert p.colors.shape == (len(p.positions), 4) and p.colors.dtype == np.float32
        assert ((p.colors >= 0) & (p.colors <= 1)).all()
        assert np.allclose(np.linalg.norm(p.tangents[:, :3], axis=1), 1, atol=1e-4) and (p.tangents[:, 3] == 1).all()
        # metres, around the head (the face model is in cm)
        assert np.abs(p.positions).max() < 1.0
    # the fibre texture: white, soft edges across u, the same in every row
    tex = fibre_texture()
    assert (tex[..., :3] == 255).all() and (tex[..., 3] == tex[:1, :, 3]).all()
    assert tex[0, 0, 3] < 20 and tex[0, 31:33, 3].min() >= 250


def test_hair_depth_and_segmentation_match_ray_casting(hairy_renderer):
    """GL layers = ray casting with the MASK rule (texture alpha x COLOR_0 alpha >= 0.5, rays continue past
    rejected hits) at >= 99.9 % of the non-fragile pixels, hair pixels included."""
    r = hairy_renderer
    rc = Raycaster(r.mesh)
    hair_ids = [r.mesh.regions.index(n) for n in r.hair_regions]
    report = []
    for cam in _cameras(r.mesh):
        res = r.render(cam, ["depth", "segmentation"])
        z, reg, fragile = reference(rc, cam)
        ok = ~fragile
        hair_px = ok & np.isin(reg, hair_ids)
        assert hair_px.sum() > 0.05 * z.size  # the views do see hair
        same = (res.segmentation == reg) & (np.isfinite(res.depth) == np.isfinite(z))
        both = np.isfinite(z) & np.isfinite(res.depth)
        same &= ~both | (np.abs(np.where(both, res.depth, 0) - np.where(both, z, 0)) < 1e-4)
        agree = same[ok].mean()
        agree_hair = same[hair_px].mean()
        report.append((round(float(agree), 5), round(float(agree_hair), 5), round(float(fragile.mean()), 3)))
        assert agree >= 0.999 and agree_hair >= 0.999, report
    print(f"agreement (all, hair), fragile share per view: {report}")


def test_hair_normals_face_the_camera_and_albedo_is_the_strand_colour(hairy_renderer):
    r = hairy_renderer
    cam = _cameras(r.mesh)[1]
    res = r.render(cam, ["normal", "segmentation", "albedo", "uv"])
    hair_prims = [k for k, p in enumerate(r.mesh.primitives) if p.material.startswith("Hair_")]
    hair = np.isin(res.material, hair_prims)  # (the face model's own eyelash cards are region eyelashes too)
    assert np.isin(res.segmentation[hair], [r.mesh.regions.index(n) for n in r.hair_regions]).all()
    w, h = cam.size
    j, i = np.mgrid[0:h, 0:w]
    _, d = cam.pixel_rays(np.column_stack([i.ravel() + 0.5, j.ravel() + 0.5]))
    d_cam = (d @ cam.R.T).reshape(h, w, 3)
    assert hair.sum() > 100
    facing = (res.normal[hair] * d_cam[hair]).sum(-1)
    assert (facing < 1e-6).all(), (np.sort(facing)[-5:], (facing > 0).sum())  # towards the camera
    assert np.allclose(np.linalg.norm(res.normal[hair], axis=1), 1, atol=1e-4)
    # albedo of hair = sRGB(COLOR_0 rgb) of the strand (texture RGB is white): dark hair here
    assert res.albedo[hair].mean() < res.albedo[res.segmentation == r.mesh.regions.index("face_skin")].mean()


def test_hair_coverage_layer(asset, hairy_renderer):
    r = hairy_renderer
    cam = _cameras(r.mesh)[0]
    res = r.render(cam, ["segmentation", "uv", "hair_coverage"], supersample=1)
    cov = res.hair_coverage
    hair_prim = np.isin(res.material, [k for k, p in enumerate(r.mesh.primitives) if p.colors is not None])
    assert res.hair_regions == HAIR_REGIONS and cov.shape == (SIZE, SIZE, len(HAIR_REGIONS)) and cov.dtype == np.float32
    assert ((cov >= 0) & (cov <= 1)).all()
    for k, name in enumerate(res.hair_regions):
        mine = (res.segmentation == r.mesh.regions.index(name)) & hair_prim  # (not the face's eyelash cards)
        assert mine.any()
        # at the pixel centre (supersample 1) a GT hair pixel has a ribbon of effective alpha >= 0.5: c >= 0.5
        assert (cov[mine, k] >= 0.5 - 1e-5).all(), (name, np.sort(cov[mine, k])[:5], mine.sum())
    # where the GT is empty every ribbon failed the alpha test: mostly faint wisps (c < 0.5), nothing fully covered
    empty = cov[res.segmentation == 0].max(-1)
    assert (empty < 0.5).mean() > 0.99 and empty.max() < 1
    soft = r.render(cam, ["hair_coverage"], supersample=2).hair_coverage
    assert 0 < np.abs(soft - cov).mean() < 0.2  # averaged over 2 x 2 samples: close, softer
    bald = Renderer(asset)
    try:
        out = bald.render(cam, ["segmentation", "hair_coverage"])
        assert out.hair_coverage is None and out.hair_regions == ()
    finally:
        bald.release()


def test_rgb_draws_hair_softly(asset, hairy_renderer):
    r = hairy_renderer
    cam = _cameras(r.mesh)[0]
    # over grey: hair in the shade (render.hair_occlusion) may be as black as an empty background
    grey = np.full((cam.size[1], cam.size[0], 3), 0.2, np.float32)
    res = r.render(cam, ["rgb", "segmentation", "hair_coverage"], background=grey)
    bald = Renderer(asset)
    try:
        base = bald.render(cam, ["rgb"], background=grey).rgb
    finally:
        bald.release()
    scalp = res.segmentation == r.mesh.regions.index("scalp_hair")
    changed = np.abs(res.rgb.astype(int) - base.astype(int)).sum(-1) > 0
    assert changed[scalp].mean() > 0.95
    # soft: pixels only partly covered by hair (0.1 < c < 0.9) take in-between values
    part = (res.hair_coverage.max(-1) > 0.1) & (res.hair_coverage.max(-1) < 0.9)
    assert part.sum() > 50


# ---- landmarks behind hair ----------------------------------------------------------------------
def _fringe(asset, region: str, alpha: float) -> Primitive:
    """A curtain of ribbons 1.5 cm in front of the brows, from the forehead down to the eyes, of one
    hair region and ribbon alpha."""
    from assetgen.attach.hair.ribbons import ribbon_strips

    lm = np.asarray(asset.vertices, np.float64)[np.asarray(asset.model.landmarks_68)]
    brows = lm[17:27]
    xs = np.linspace(brows[:, 0].min() - 1.0, brows[:, 0].max() + 1.0, 120)
    top, bottom, z = brows[:, 1].max() + 2.0, lm[36:48, 1].max() + 0.2, brows[:, 2].max() + 1.5
    ys = np.linspace(top, bottom, 6)
    # staggered in depth: coplanar overlapping cut-outs would leave the nearest hit to chance
    pts = np.stack([np.stack([np.full_like(ys, x), ys, np.full_like(ys, z + 0.1 * (k % 3))], 1) for k, x in enumerate(xs)])
    s = len(xs)
    rib = ribbon_strips(pts, np.tile([1.0, 0.0, 0.0], (s, 1)), np.full(s, 0.25), np.zeros(s), np.full(s, alpha),
                        np.full((s, 3), 0.05), "scalp_hair")
    colors = np.concatenate([rib.color, rib.alpha[:, None]], 1).astype(np.float32)
    tangents = np.concatenate([rib.tangents, np.ones((len(rib.positions), 1), np.float32)], 1)
    regions = with_hair_regions(tuple(asset.model.region_names))
    return Primitive(
        material=f"Hair_{region}", positions=(rib.positions * 0.01).astype(np.float32), normals=rib.normals,
        texcoords=rib.uv, indices=rib.triangles, regions=np.full(len(rib.triangles), regions.index(region), np.uint8),
        base_color=fibre_texture(), alpha_mode="MASK", alpha_cutoff=0.5, tangents=tangents, colors=colors)


@pytest.mark.parametrize("region, alpha, hides", [("scalp_hair", 0.9, True), ("scalp_hair", 0.4, False), ("eyelashes", 0.9, False)])
def test_fringe_hides_brow_landmarks_but_lashes_never_do(asset, region, alpha, hides):
    bald = mesh_from_asset(asset)
    mesh = RenderMesh(bald.name, bald.primitives + [_fringe(asset, region, alpha)], bald.landmarks_world,
                      with_hair_regions(bald.regions))
    lo, hi = bald.bounds()
    c = (lo + hi) / 2
    cam = Camera(intrinsics(256, 256, 560.0), look_at(c + [0.0, 0.03, 0.6], c), (256, 256))
    before = Renderer(bald)
    after = Renderer(mesh)
    try:
        v0 = before.landmarks(cam)["visible"]
        v1 = after.landmarks(cam)["visible"]
        seg = after.render(cam, ["segmentation"]).segmentation
    finally:
        before.release()
        after.release()
    assert v0[17:27].all()
    assert (seg == mesh.regions.index(region)).any() == (alpha >= 0.5)  # the curtain is in the GT only when alpha-tested in
    assert (~v1[17:27]).all() == hides and v1[17:27].any() == (not hides)
    others = np.r_[0:17, 27:68]
    assert np.array_equal(v1[others] | v0[others], v0[others])  # nothing else becomes visible


# ---- the GLB encoding ----------------------------------------------------------------------------
def _append_hair(glb, gt_path, mesh, color_0=None):
    """Add the hair primitives of `mesh` to an assetgen GLB and its sidecar as the contract encodes them
    (what the exporter writes). color_0: optional (array, componentType, normalized) replacing COLOR_0."""
    import pygltflib

    from assetgen.png import encode_png

    doc = pygltflib.GLTF2().load_binary(str(glb))
    blob = bytearray(doc.binary_blob())

    def view(data: bytes) -> int:
        blob.extend(b"\0" * (-len(blob) % 4))
        doc.bufferViews.append(pygltflib.BufferView(buffer=0, byteOffset=len(blob), byteLength=len(data)))
        blob.extend(data)
        return len(doc.bufferViews) - 1

    def accessor(arr, kind, ctype=pygltflib.FLOAT, normalized=None, minmax=False) -> int:
        arr = np.ascontiguousarray(arr)
        acc = pygltflib.Accessor(bufferView=view(arr.tobytes()), componentType=ctype, count=len(arr), type=kind,
                                 normalized=normalized)
        if minmax:
            acc.min, acc.max = arr.min(0).tolist(), arr.max(0).tolist()
        doc.accessors.append(acc)
        return len(doc.accessors) - 1

    doc.images.append(pygltflib.Image(bufferView=view(encode_png(fibre_texture())), mimeType="image/png"))
    doc.textures.append(pygltflib.Texture(source=len(doc.images) - 1))
    tex = len(doc.textures) - 1
    gt = json.loads(gt_path.read_text())
    gt["regions"] = list(mesh.regions)
    hair = [p for p in mesh.primitives if p.material.startswith("Hair_")]
    for p in hair:
        region = p.material[len("Hair_"):]
        doc.materials.append(pygltflib.Material(
            name=p.material, alphaMode="MASK", alphaCutoff=0.5, doubleSided=True,
            pbrMetallicRoughness=pygltflib.PbrMetallicRoughness(baseColorTexture=pygltflib.TextureInfo(index=tex),
                                                                metallicFactor=0.0, roughnessFactor=0.4)))
        col = accessor(p.colors, "VEC4") if color_0 is None else accessor(color_0[0], "VEC4", color_0[1], color_0[2])
        attrs = pygltflib.Attributes(POSITION=accessor(p.positions, "VEC3", minmax=True), NORMAL=accessor(p.normals, "VEC3"),
                                     TANGENT=accessor(p.tangents, "VEC4"), TEXCOORD_0=accessor(p.texcoords, "VEC2"),
                                     COLOR_0=col)
        idx = accessor(p.indices.reshape(-1).astype(np.uint32), "SCALAR", pygltflib.UNSIGNED_INT)
        doc.meshes[0].primitives.append(pygltflib.Primitive(attributes=attrs, indices=idx, material=len(doc.materials) - 1,
                                                            extras={"assetgen_region": region}))
        gt["triangle_regions"] += [region] * p.n_triangles
        if "primitives" in gt:
            gt["primitives"].append({"material": p.material, "triangles": p.n_triangles, "vertices": len(p.positions)})
    doc.buffers[0].byteLength = len(blob)
    doc.set_binary_blob(bytes(blob))
    doc.save_binary(str(glb))
    gt_path.write_text(json.dumps(gt))


@pytest.fixture(scope="module")
def hairy_glb(tmp_path_factory, hairy):
    """The exporter's GLB of the hairy asset; where the exporter writes no hair yet, its face-only GLB with
    the hair primitives added here as the contract encodes them."""
    from assetgen.export.asset_files import write_asset

    written = write_asset(hairy, tmp_path_factory.mktemp("hairglb"))
    gt = json.loads(written.ground_truth.read_text())
    if not any(r.startswith("Hair_") or r in HAIR_REGIONS[:-1] for r in gt.get("regions", [])):
        _append_hair(written.glb, written.ground_truth, mesh_from_asset(hairy))
    return written


def test_glb_with_hair_reads_back_and_renders_the_same(hairy_glb, hairy_renderer):
    mesh = read_glb(hairy_glb.glb)
    ref = hairy_renderer.mesh
    assert mesh.regions == ref.regions
    assert [p.material for p in mesh.primitives] == [p.material for p in ref.primitives]
    for p, q in zip(mesh.primitives, ref.primitives):
        if q.colors is not None:
            assert p.alpha_mode == "MASK" and np.array_equal(p.colors, q.colors) and np.array_equal(p.regions, q.regions)
            assert np.array_equal(p.base_color, q.base_color) and np.array_equal(p.tangents, q.tangents)
    from_glb = Renderer(mesh)
    try:
        assert from_glb.hair_regions == hairy_renderer.hair_regions
        for cam in _cameras(ref)[:2]:
            layers = ["depth", "segmentation", "albedo", "normal", "uv", "landmarks", "hair_coverage"]
            a, b = hairy_renderer.render(cam, layers), from_glb.render(cam, layers)
            for layer in ("segmentation", "depth", "albedo", "material", "hair_coverage"):
                assert np.array_equal(getattr(a, layer), getattr(b, layer)), layer
            hair = np.isin(a.material, [k for k, p in enumerate(ref.primitives) if p.colors is not None])
            assert hair.any() and np.array_equal(a.normal[hair], b.normal[hair])
            assert np.array_equal(a.landmarks["visible"], b.landmarks["visible"])
        # and the ray caster, reading only the GLB, agrees with the GL layers of it
        cam = _cameras(ref)[0]
        _, reg, fragile = reference(Raycaster(mesh), cam)
        res = from_glb.render(cam, ["segmentation"])
        assert (res.segmentation == reg)[~fragile].mean() >= 0.999
    finally:
        from_glb.release()


def _glb_with_color_0(folder, hairy, values, ctype, normalized):
    """An assetgen GLB of `hairy` whose only hair primitive (scalp) carries COLOR_0 = values(n) stored as
    componentType ctype (normalized or not)."""
    from assetgen.export.asset_files import write_asset

    folder.mkdir()
    bald = copy.copy(hairy)
    bald.groom = None
    w = write_asset(bald, folder)
    mesh = mesh_from_asset(hairy)
    scalp = mesh.material("Hair_scalp_hair")
    one = RenderMesh(mesh.name, [p for p in mesh.primitives if p.colors is None] + [scalp], mesh.landmarks_world, mesh.regions)
    _append_hair(w.glb, w.ground_truth, one, color_0=(values(len(scalp.positions)), ctype, normalized))
    return w


def test_glb_color_0_forms_and_bad_values(tmp_path, hairy):
    import pygltflib

    ref = mesh_from_asset(hairy).material("Hair_scalp_hair").colors
    # normalized unsigned bytes are read as value / 255
    as_u8 = np.round(ref * 255).astype(np.uint8)
    w = _glb_with_color_0(tmp_path / "u8", hairy, lambda n: as_u8, pygltflib.UNSIGNED_BYTE, True)
    assert np.allclose(read_glb(w.glb).material("Hair_scalp_hair").colors, as_u8 / 255.0, atol=1e-7)
    with_nan = ref.copy()
    with_nan[7, 1] = np.nan
    cases = [
        ("nan", with_nan, pygltflib.FLOAT, None, "COLOR_0 is NaN or infinite at 1 vertices"),
        ("range", ref * 3, pygltflib.FLOAT, None, "outside 0..1"),
        ("plain_u8", as_u8, pygltflib.UNSIGNED_BYTE, None, "not normalized"),
        ("norm_float", ref, pygltflib.FLOAT, True, "is normalized"),
    ]
    for name, values, ctype, normalized, message in cases:
        w = _glb_with_color_0(tmp_path / name, hairy, lambda n, v=values: v, ctype, normalized)
        with pytest.raises(InputError, match=message):
            read_glb(w.glb)


def test_glb_region_extras_must_match_the_sidecar(tmp_path, hairy_glb):
    import shutil

    import pygltflib

    glb = tmp_path / "t.glb"
    shutil.copy(hairy_glb.glb, glb)
    shutil.copy(hairy_glb.ground_truth, tmp_path / "t.gt.json")
    doc = pygltflib.GLTF2().load_binary(str(glb))
    doc.meshes[0].primitives[-1].extras = {"assetgen_region": "beard"}  # the eyelashes primitive
    doc.save_binary(str(glb))
    with pytest.raises(InputError, match="extras.assetgen_region"):
        read_glb(glb)


def test_view_files_write_hair_coverage(tmp_path, hairy_renderer):
    from assetgen.views.files import write_view

    cam = _cameras(hairy_renderer.mesh)[0]
    layers = ["segmentation", "hair_coverage"]
    res = hairy_renderer.render(cam, layers + ["landmarks"])
    rec = json.loads(write_view(tmp_path, 0, res, layers).read_text())
    cov = np.load(tmp_path / "view_000.hair_coverage.npy")
    assert cov.dtype == np.float32 and np.array_equal(cov, res.hair_coverage)
    assert rec["hair"]["regions"] == list(HAIR_REGIONS) and "nearest surface" in rec["hair"]["gt_rule"]
    assert rec["segmentation"][str(hairy_renderer.mesh.regions.index("beard"))] == "beard"
    # a mesh without hair writes no coverage file and no hair record
    res.hair_coverage, res.hair_regions = None, ()
    rec = json.loads(write_view(tmp_path, 1, res, layers).read_text())
    assert not (tmp_path / "view_001.hair_coverage.npy").exists() and "hair" not in rec


# ---- level of detail and occlusion culling -------------------------------------------------------------
def test_ribbon_level_of_detail_stays_within_its_tolerance(hairy):
    """build_ribbons(lod=True) (what the renderer and every exporter use) keeps a subset of the full
    ribbon's vertices, roots and tips included, and every vertex it leaves out lies within
    LOD_TOLERANCE_M of the simplified strip at the same arc length (alpha within LOD_ALPHA_TOLERANCE)."""
    from assetgen.attach.hair import ribbons

    full = ribbons.build_ribbons(hairy.groom, hairy.model, hairy.vertices)
    lod = ribbons.build_ribbons(hairy.groom, hairy.model, hairy.vertices, lod=True)
    assert lod.n_triangles < 0.9 * full.n_triangles, (lod.triangle_counts(), full.triangle_counts())
    assert sum(p.n_triangles for p in mesh_from_asset(hairy).primitives if p.colors is not None) == lod.n_triangles
    tol = ribbons.lod_tolerance(hairy.model)
    for rid, region in enumerate(full.region_names):
        f, k = full.vertex_region == rid, lod.vertex_region == rid
        if not f.any():
            continue
        # (strand, arc fraction) of every vertex pair: kept pairs are a subset of the full ones, bit for bit
        key_f = full.strand[f][::2] * 2.0 + full.uv[f][::2, 1]
        key_k = lod.strand[k][::2] * 2.0 + lod.uv[k][::2, 1]
        at = np.searchsorted(key_f, key_k)
        assert np.array_equal(key_f[at], key_k)
        pos_f, pos_k = full.positions[f].reshape(-1, 2, 3), lod.positions[k].reshape(-1, 2, 3)
        assert np.array_equal(pos_f[at], pos_k)
        assert np.isin(key_f[full.uv[f][::2, 1] == 0], key_k).all() and np.isin(key_f[full.uv[f][::2, 1] == 1], key_k).all()
        # every left-out pair against the kept strip around it, interpolated in arc length
        out = np.setdiff1d(np.arange(len(key_f)), at)
        if not len(out):
            continue
        hi = np.searchsorted(key_k, key_f[out])
        lo = hi - 1
        assert (lod.strand[k][::2][lo] == full.strand[f][::2][out]).all()
        v = lod.uv[k][::2, 1].astype(np.float64)
        lam = ((full.uv[f][::2, 1][out] - v[lo]) / (v[hi] - v[lo]))[:, None, None]
        strip = pos_k[lo] + (pos_k[hi].astype(np.float64) - pos_k[lo]) * lam
        err = np.linalg.norm(strip - pos_f[out], axis=-1).max()
        assert err <= tol * 1.01 + 1e-5, (region, err, tol)
        a_k, a_f = lod.alpha[k][::2].astype(np.float64), full.alpha[f][::2]
        a_err = np.abs(a_k[lo] + (a_k[hi] - a_k[lo]) * lam[:, 0, 0] - a_f[out]).max()
        assert a_err <= ribbons.LOD_ALPHA_TOLERANCE + 1e-6, (region, a_err)


def test_hair_occlusion_culling_changes_no_layer(hairy_renderer, monkeypatch):
    """Every layer with hair left out where it is hidden behind the head (or off-screen) equals the render
    drawing all of it, byte for byte; the views do leave hair out."""
    r = hairy_renderer
    lo, hi = r.mesh.bounds()
    c = (lo + hi) / 2
    close = Camera(intrinsics(96, 80, 300.0), look_at(c + [0.02, 0.0, 0.2], c + [0.0, -0.03, 0.0]), (96, 80))
    cams = _cameras(r.mesh) + [close]
    layers = ["albedo", "depth", "normal", "segmentation", "uv", "hair_coverage", "rgb"]
    culled = [r.render(cam, layers) for cam in cams]
    total = culled[0].extra["hair_triangles"]
    drawn = [res.extra["hair_triangles_drawn"] for res in culled]
    assert total == sum(p.n_triangles for p in r.mesh.primitives if p.colors is not None)
    assert all(set(d) == {"gt", "rgb", "hair_coverage"} for d in drawn)
    assert drawn[0]["gt"] < 0.9 * total and drawn[-1]["gt"] < 0.5 * total, drawn
    # every chunk kept, in the same nearest-first order (the depth test's tie-break is the draw order)
    import assetgen.render.cull as cull

    visible = cull.visible_chunks
    monkeypatch.setattr(cull, "visible_chunks", lambda *a, **k: (lambda keep, z: (np.ones_like(keep), z))(*visible(*a, **k)))
    for cam, a in zip(cams, culled):
        b = r.render(cam, layers)
        assert b.extra["hair_triangles_drawn"]["gt"] == total
        for layer in layers + ["material", "triangle"]:
            assert getattr(a, layer).tobytes() == getattr(b, layer).tobytes(), layer


def test_culling_hides_a_chunk_only_behind_every_pixel_it_covers():
    """render.cull without GL: on a wavy depth buffer and small chunks of triangles placed at about the
    depth stored where they are, a chunk left out covers no pixel centre whose stored depth is not in front
    of the chunk's triangles (and many are left out)."""
    from assetgen.render.cull import CHUNK, HairChunks, max_pyramid, visible_chunks

    rng = np.random.default_rng(7)
    w, h = 80, 60
    K = np.array([[90.0, 15.0, 41.0], [0.0, 85.0, 29.0], [0.0, 0.0, 1.0]])
    cam = Camera(K, np.eye(4), (w, h))  # world = camera
    near, far = 0.2, 1.0
    a_, b_ = (far + near) / (far - near), 2 * far * near / (far - near)

    def window(z):
        return 0.5 * (a_ - b_ / z) + 0.5

    j, i = np.mgrid[0:h, 0:w]
    depth = (0.8 + 0.04 * np.sin(i / 5.0 + 1.0) * np.cos(j / 4.0) + 0.01 * np.sin(i * j / 60.0)).astype(np.float32)
    # chunks of fronto-parallel triangles a few pixels wide around random pixels (some off the image), at
    # window depth = the stored depth there +- 0.03
    n_chunks = 1500
    u, v = rng.uniform(-6, w + 6, n_chunks), rng.uniform(-6, h + 6, n_chunks)
    d = depth[np.clip(v.astype(int), 0, h - 1), np.clip(u.astype(int), 0, w - 1)] + rng.uniform(-0.03, 0.03, n_chunks)
    z = b_ / (a_ - (2 * d - 1))  # window depth -> camera z
    uv = np.stack([u, v], 1)[:, None, None, :] + rng.uniform(-1.5, 1.5, (n_chunks, CHUNK, 3, 2))
    zz = np.broadcast_to(z[:, None, None], uv.shape[:3])
    x = (uv[..., 0] - K[0, 2] - K[0, 1] * (uv[..., 1] - K[1, 2]) / K[1, 1]) / K[0, 0] * zz
    y = (uv[..., 1] - K[1, 2]) / K[1, 1] * zz
    positions = np.stack([x, y, zz], -1).reshape(-1, 3)
    chunks = HairChunks(positions, np.arange(len(positions)).reshape(-1, 3))
    keep, z_near = visible_chunks(chunks.centre, chunks.half, cam, (near, far), max_pyramid(depth))
    assert 0.05 < keep.mean() < 0.95, keep.mean()

    # brute force: the pixel centres each triangle covers (in an 8 x 8 window around it: the triangles are
    # at most 3 px wide) and whether the depth test could pass there
    px = cam.project(positions).reshape(-1, 3, 2)
    tri_depth = window(positions[:, 2].reshape(-1, 3).min(1))
    oy, ox = np.mgrid[0:8, 0:8]
    gx = np.floor(px[:, :, 0].min(1))[:, None] - 1 + ox.ravel()[None, :]  # (triangles, 64) pixel columns
    gy = np.floor(px[:, :, 1].min(1))[:, None] - 1 + oy.ravel()[None, :]
    cx_, cy_ = gx + 0.5, gy + 0.5
    a, b, c = (px[:, k, None, :] for k in range(3))

    def edge(p, q):
        return (q[..., 0] - p[..., 0]) * (cy_ - p[..., 1]) - (q[..., 1] - p[..., 1]) * (cx_ - p[..., 0])

    e0, e1, e2 = edge(a, b), edge(b, c), edge(c, a)
    inside = (gx >= 0) & (gx < w) & (gy >= 0) & (gy < h)
    covers = inside & (((e0 >= 0) & (e1 >= 0) & (e2 >= 0)) | ((e0 <= 0) & (e1 <= 0) & (e2 <= 0)))
    stored = depth[np.clip(gy, 0, h - 1).astype(int), np.clip(gx, 0, w - 1).astype(int)]
    seen = covers & (stored >= tri_depth[:, None])
    chunk_of = chunks.order.argsort() // CHUNK  # triangle -> its chunk (chunks hold the spatial order)
    exposed = np.zeros(chunks.n_chunks, bool)
    np.logical_or.at(exposed, chunk_of, seen.any(1))
    assert exposed.any() and not (exposed & ~keep).any(), np.flatnonzero(exposed & ~keep)
    chunk_z = positions[:, 2].reshape(-1, 3).min(1)[chunks.order[: chunks.n_triangles]]
    assert (z_near <= np.minimum.reduceat(chunk_z, np.arange(0, len(chunk_z), CHUNK)) + 1e-12).all()


def test_sight_line_casts_give_the_whole_sets_answers(hairy_renderer):
    """Raycaster.cast / line_of_sight_clear with camera= (only the triangles whose pixel box holds a ray's
    pixel) answer as the caster of all triangles does: hit distances and triangles of rays from points all
    over the head (hair included, cut-outs crossed) towards each camera, and the visibility flags."""
    from assetgen.render.raycast import LANDMARK_CLEARANCE_M, LANDMARK_SEE_THROUGH_REGIONS

    mesh = hairy_renderer.mesh
    pos = np.concatenate([p.positions for p in mesh.primitives]).astype(np.float64)
    points = pos[np.random.default_rng(5).choice(len(pos), 1500, replace=False)]
    whole = Raycaster(mesh, skip_regions=LANDMARK_SEE_THROUGH_REGIONS)
    sight = Raycaster(mesh, skip_regions=LANDMARK_SEE_THROUGH_REGIONS)
    n_hidden = n_selected = 0
    for cam in _cameras(mesh):
        cc = cam.to_camera(points)
        px = cam.project(cc)
        w, h = cam.size
        pts = points[(cc[:, 2] > 0) & (px[:, 0] >= 0) & (px[:, 0] < w) & (px[:, 1] >= 0) & (px[:, 1] < h)]
        d = cam.centre - pts
        d /= np.linalg.norm(d, axis=1)[:, None]
        a, b = whole.cast(pts + 1e-4 * d, d), sight.cast(pts + 1e-4 * d, d, cam)
        assert np.array_equal(a["t"], b["t"]) and np.array_equal(a["triangle"], b["triangle"])
        clear = whole.line_of_sight_clear(pts, cam.centre, LANDMARK_CLEARANCE_M)
        assert np.array_equal(clear, sight.line_of_sight_clear(pts, cam.centre, LANDMARK_CLEARANCE_M, cam))
        n_hidden += int((~clear).sum())
        few = Raycaster(mesh, skip_regions=LANDMARK_SEE_THROUGH_REGIONS)._sight_scene(cam, pts[:20])
        n_selected += few is not None and len(few[1]) < 0.1 * len(whole.triangle_ids)
    assert n_hidden > 100  # the far side and what hair covers: the comparison is not vacuous
    assert n_selected == 3  # a few points' lines meet a small share of the triangles
