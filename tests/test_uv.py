"""UV space: rasterization against an independent point-in-triangle footprint, cache, maps, padding."""

from __future__ import annotations

import numpy as np
import pytest

from assetgen.errors import InputError
from assetgen.face import ict
from assetgen.uv import dilate, fill_background, normal_map, position_map, rasterize_uv, region_map, unwrap
from assetgen.uv.raster import material_tiles


def _footprint(model, raster, m):
    """Independent coverage: for every texel centre, is it inside one of the material's UV triangles,
    and how far (in barycentric terms) from the nearest edge. Returns (inside, near_edge)."""
    h, w = raster.shape
    u0, tiles = material_tiles(model, m)
    tris = np.flatnonzero(model.triangle_material == m)
    uv = model.mesh.uvs.astype(np.float64)[model.triangle_uv_index[tris]]
    px = np.stack([(uv[..., 0] - u0) / tiles * w, (1 - uv[..., 1]) * h], -1)  # (n, 3, 2)
    inside = np.zeros((h, w), bool)
    near = np.zeros((h, w), bool)
    for a, b, c in px:
        x0, y0 = np.floor(np.minimum(np.minimum(a, b), c) - 0.5).astype(int)
        x1, y1 = np.ceil(np.maximum(np.maximum(a, b), c) + 0.5).astype(int)
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        if x1 <= x0 or y1 <= y0:
            continue
        ys, xs = np.mgrid[y0:y1, x0:x1]
        p = np.stack([xs + 0.5, ys + 0.5], -1)
        d = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
        if abs(d) < 1e-12:
            continue
        l1 = ((p[..., 0] - a[0]) * (c[1] - a[1]) - (p[..., 1] - a[1]) * (c[0] - a[0])) / d
        l2 = ((b[0] - a[0]) * (p[..., 1] - a[1]) - (b[1] - a[1]) * (p[..., 0] - a[0])) / d
        l0 = 1 - l1 - l2
        lo = np.minimum(np.minimum(l0, l1), l2)
        # Distance to the nearest edge in pixels ~ barycentric * (twice area / edge length); use a
        # conservative absolute band of 1e-3 texel.
        edge_len = max(np.linalg.norm(b - a), np.linalg.norm(c - b), np.linalg.norm(a - c))
        band = 1e-3 * edge_len / abs(d) * 2
        inside[y0:y1, x0:x1] |= lo > band
        near[y0:y1, x0:x1] |= np.abs(lo) <= band
    return inside, near


@pytest.mark.parametrize("material", ["M_Face", "M_Teeth", "M_EyeLashes"])
def test_coverage_mask_equals_the_triangles_footprint(face_model, layout256, material):
    m = face_model.material_names.index(material)
    raster = layout256[material]
    inside, near = _footprint(face_model, raster, m)
    decided = ~near
    assert np.array_equal(raster.mask[decided], inside[decided])
    assert near.sum() < 0.01 * near.size  # the ignored edge band (1e-3 texel) is small
    assert raster.mask.sum() > 0.3 * raster.mask.size


def test_barycentrics_reconstruct_texel_centres(face_model, layout256):
    raster = layout256["M_Face"]
    m = face_model.material_names.index("M_Face")
    u0, tiles = material_tiles(face_model, m)
    h, w = raster.shape
    idx, tri, b = raster.covered()
    uv = face_model.mesh.uvs.astype(np.float64)[face_model.triangle_uv_index[tri]]  # (N, 3, 2)
    p = (b[..., None] * uv).sum(1)
    x = (p[:, 0] - u0) / tiles * w
    y = (1 - p[:, 1]) * h
    rows, cols = np.divmod(idx, w)
    assert np.abs(x - (cols + 0.5)).max() < 1e-2
    assert np.abs(y - (rows + 0.5)).max() < 1e-2
    # GL snaps vertices to 1/256 texel, so texels on an edge can read barycentrics a hair below 0.
    assert (b > -5e-3).all() and np.allclose(b.sum(1), 1, atol=1e-5)
    assert (face_model.triangle_material[tri] == m).all()


def test_gl_and_ray_casting_agree(face_model):
    gl = rasterize_uv(face_model, 64, use_cache=False, method="gl")
    rays = rasterize_uv(face_model, 64, use_cache=False, method="rays")
    for name in ("M_Face", "M_BackHead", "M_Teeth"):
        differ = np.asarray(gl[name].triangle) != np.asarray(rays[name].triangle)
        assert differ.mean() < 0.005, name  # only texel centres on shared edges may differ


def test_cache_round_trip_and_repair(face_model, tmp_path):
    first = rasterize_uv(face_model, 32, cache_dir=tmp_path)
    again = rasterize_uv(face_model, 32, cache_dir=tmp_path)
    assert isinstance(again["M_Face"].triangle, np.memmap)
    for name in first.materials:
        assert np.array_equal(first[name].triangle, again[name].triangle)
        assert np.array_equal(first[name].bary12, again[name].bary12)
    # A damaged cache is rebuilt, not trusted.
    folder = next((tmp_path / "uv").iterdir())
    (folder / "00.triangle.npy").write_bytes(b"garbage")
    repaired = rasterize_uv(face_model, 32, cache_dir=tmp_path)
    assert np.array_equal(repaired["M_Face"].triangle, first["M_Face"].triangle)
    # ... and the damaged copy on disk was replaced, so the next call reads the cache again.
    reread = rasterize_uv(face_model, 32, cache_dir=tmp_path)
    assert isinstance(reread["M_Face"].triangle, np.memmap)
    assert [p.name for p in (tmp_path / "uv").iterdir()] == [folder.name]


def test_bad_resolution_is_refused(face_model):
    with pytest.raises(InputError, match="resolution"):
        rasterize_uv(face_model, 3)
    with pytest.raises(InputError, match="method"):
        rasterize_uv(face_model, 64, method="magic")


def test_position_and_normal_maps_follow_the_identity(face_model, layout64):
    raster = layout64["M_Face"]
    rng = np.random.default_rng(3)
    v = face_model.vertices(face_model.identity_weights(rng))
    pos = position_map(raster, face_model, v)
    idx, tri, b = raster.covered()
    want = (v[face_model.triangles[tri]] * b[..., None]).sum(1)
    assert np.allclose(pos.reshape(-1, 3)[idx], want, atol=1e-4)
    assert (pos[~raster.mask] == 0).all()
    nrm = normal_map(raster, face_model, v)
    assert np.allclose(np.linalg.norm(nrm[raster.mask], axis=-1), 1, atol=1e-4)
    # A different identity moves the surface: the maps are per identity, the raster is shared.
    pos0 = position_map(raster, face_model, face_model.neutral)
    assert np.abs(pos0 - pos)[raster.mask].max() > 0.1


def test_region_map_matches_triangle_regions(face_model, layout64):
    raster = layout64["M_Face"]
    regions = region_map(raster, face_model)
    tri = np.asarray(raster.triangle)
    assert (regions[~raster.mask] == 0).all()
    assert np.array_equal(regions[raster.mask], face_model.triangle_region[tri[raster.mask]])
    assert {ict.REGIONS.index(n) for n in ict.LIP_REGIONS} <= set(np.unique(regions).tolist())


def test_dilation_grows_islands_without_touching_them():
    img = np.zeros((32, 32, 3), np.uint8)
    mask = np.zeros((32, 32), bool)
    mask[10:20, 10:20] = True
    img[mask] = (200, 100, 50)
    out = dilate(img, mask, pixels=3)
    assert np.array_equal(out[mask], img[mask])
    grown = (out != 0).any(-1)
    assert grown[7:23, 7:23].all() and not grown[:6].any() and not grown[:, 24:].any()
    assert (out[grown] == (200, 100, 50)).all()  # a uniform island pads with its own colour


def test_fill_background_leaves_no_hole():
    rng = np.random.default_rng(0)
    img = rng.uniform(0.2, 0.8, (64, 48)).astype(np.float32)
    mask = np.zeros((64, 48), bool)
    mask[5:20, 5:15] = True
    mask[40:60, 30:45] = True
    out = fill_background(np.where(mask, img, 0), mask)
    assert np.array_equal(out[mask], img[mask])
    assert (out[~mask] >= 0.2).all() and (out[~mask] <= 0.8).all()


def test_unwrap_maps_back_to_source_vertices():
    import trimesh

    mesh = trimesh.creation.icosphere(subdivisions=2)
    u = unwrap(mesh.vertices, mesh.faces)
    assert u.uvs.min() >= 0 and u.uvs.max() <= 1
    assert np.allclose(u.vertices, mesh.vertices[u.source_vertex], atol=1e-6)
    assert np.array_equal(u.source_vertex[u.triangles], mesh.faces)
    with pytest.raises(InputError, match="indices"):
        unwrap(mesh.vertices, mesh.faces + 10_000)
    with pytest.raises(InputError, match="NaN"):
        unwrap(np.full((4, 3), np.nan), [[0, 1, 2]])


def test_rasterization_works_from_another_thread(face_model):
    """GL contexts are per thread: a worker thread (a UI or batch worker) gets its own."""
    import threading

    results = {}

    def work():
        results["layout"] = rasterize_uv(face_model, 32, use_cache=False, method="gl")

    rasterize_uv(face_model, 32, use_cache=False, method="gl")  # this thread's context exists first
    t = threading.Thread(target=work)
    t.start()
    t.join()
    main = rasterize_uv(face_model, 32, use_cache=False, method="gl")
    assert np.array_equal(results["layout"]["M_Face"].triangle, main["M_Face"].triangle)
