"""Attachment bindings: exact round trips at rest, following deformations, batches, rigid items."""

from __future__ import annotations

import numpy as np
import pytest

from assetgen.attach.binding import (
    Binding,
    RigidBinding,
    anchor_frames,
    bind,
    bind_at,
    bind_polylines,
    closest_on_triangles,
    evaluate,
    fit_rigid,
    vertex_normals64,
)
from assetgen.attach.head import skin_triangles
from assetgen.errors import InputError


@pytest.fixture(scope="module")
def skin(face_model):
    return skin_triangles(face_model)


@pytest.fixture(scope="module")
def deformed(face_model):
    rng = np.random.default_rng(7)
    ident = face_model.identity_weights(rng, n=3, truncation=2.5)
    expr = np.stack([face_model.expression_weights(e) for e in
                     ({"jawOpen": 0.7}, {"mouthSmile_L": 0.8, "browInnerUp_R": 0.5}, {"eyeBlink_L": 1.0, "cheekPuff_R": 0.6})])
    return face_model.vertices(ident, expr)  # (3, V, 3)


def _points_near_skin(model, skin, n, spread, seed=0):
    rng = np.random.default_rng(seed)
    tri = skin[rng.integers(0, len(skin), n)]
    v = model.neutral.astype(np.float64)
    centre = v[model.triangles[tri]].mean(1)
    return centre + rng.normal(0, spread, (n, 3)), tri


@pytest.mark.parametrize("normals", ["face", "smooth"])
def test_round_trip_at_rest_is_exact(face_model, skin, normals):
    pts, _ = _points_near_skin(face_model, skin, 3000, 1.0)
    b = bind(face_model.neutral, face_model.triangles, pts, normals=normals, candidates=skin)
    out = b.evaluate(face_model.neutral)
    assert out.shape == (3000, 3) and out.dtype == np.float32
    assert np.abs(out - pts).max() < 1e-5  # cm
    assert len(b) == 3000 and b.n_anchors == 1
    assert np.allclose(b.bary.sum(-1), 1, atol=1e-6) and (b.bary >= -1e-6).all()


def test_given_triangles_and_far_points_round_trip(face_model, skin):
    pts, tri = _points_near_skin(face_model, skin, 500, 8.0, seed=1)  # offsets of many cm
    b = bind(face_model.neutral, face_model.triangles, pts, tri_ids=tri, normals="smooth")
    assert (b.tri[:, 0] == tri).all()
    assert np.abs(b.evaluate(face_model.neutral) - pts).max() < 1e-5


def test_nearest_triangle_is_the_closest(face_model, skin):
    pts, _ = _points_near_skin(face_model, skin, 200, 0.3, seed=2)
    b = bind(face_model.neutral, face_model.triangles, pts, candidates=skin)
    # the anchor is the closest skin point: no skin vertex is closer than it (up to the triangle size)
    v = face_model.neutral.astype(np.float64)
    anchor = Binding(b.tri, b.bary, np.zeros_like(b.offset), b.weight, b.triangles).evaluate(v)
    d_anchor = np.linalg.norm(anchor - pts, axis=1)
    skin_v = np.unique(face_model.triangles[skin])
    d_vert = np.min(np.linalg.norm(v[skin_v][None, :, :] - pts[:, None, :], axis=2), axis=1)
    assert (d_anchor <= d_vert + 1e-5).all()


def test_surface_points_follow_the_skin_exactly(face_model, skin, deformed):
    rng = np.random.default_rng(3)
    tri = skin[rng.integers(0, len(skin), 1000)]
    bary = rng.dirichlet([1, 1, 1], 1000)
    rest = (face_model.neutral[face_model.triangles[tri]] * bary[..., None]).sum(1)
    b = bind_at(face_model.neutral, face_model.triangles, rest, tri, bary, normals="smooth")
    assert np.abs(b.offset).max() < 1e-5
    for v in deformed:
        want = (v[face_model.triangles[tri]].astype(np.float64) * bary[..., None]).sum(1)
        assert np.abs(b.evaluate(v) - want).max() < 1e-5


@pytest.mark.parametrize("normals", ["face", "smooth"])
def test_offsets_move_rigidly_with_their_frame(face_model, skin, deformed, normals):
    pts, tri = _points_near_skin(face_model, skin, 800, 0.8, seed=4)
    b = bind(face_model.neutral, face_model.triangles, pts, tri_ids=tri, normals=normals)
    for v in deformed:
        out = b.evaluate(v).astype(np.float64)
        origin, rot = b.frames(v)
        # same distance from the anchor, same components in the (orthonormal) frame
        assert np.allclose(np.linalg.norm(out - origin[:, 0], axis=1), np.linalg.norm(b.offset[:, 0], axis=1), atol=2e-5)
        assert np.allclose(np.einsum("nji,nj->ni", rot[:, 0], out - origin[:, 0]), b.offset[:, 0], atol=2e-5)
        eye = np.einsum("nji,njk->nik", rot[:, 0], rot[:, 0])
        assert np.allclose(eye, np.eye(3), atol=1e-9)
        assert (np.abs(out - pts).max() > 0.01)  # it did move


def test_batch_equals_one_by_one(face_model, skin, deformed):
    pts, _ = _points_near_skin(face_model, skin, 400, 1.0, seed=5)
    for normals in ("face", "smooth"):
        b = bind(face_model.neutral, face_model.triangles, pts, normals=normals, candidates=skin)
        batch = evaluate(b, deformed)
        assert batch.shape == (3, 400, 3)
        for i in range(3):
            assert np.abs(batch[i] - b.evaluate(deformed[i])).max() < 1e-5


def test_rigid_motion_of_the_mesh_moves_points_rigidly(face_model, skin):
    pts, _ = _points_near_skin(face_model, skin, 300, 2.0, seed=6)
    a = np.radians(30)
    r = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    t = np.array([1.0, -2.0, 3.0])
    moved = face_model.neutral.astype(np.float64) @ r.T + t
    for normals in ("face", "smooth"):
        b = bind(face_model.neutral, face_model.triangles, pts, normals=normals, candidates=skin)
        assert np.abs(b.evaluate(moved) - (pts @ r.T + t)).max() < 1e-4


def test_blend_and_polylines(face_model, skin, deformed):
    rng = np.random.default_rng(8)
    s, p = 50, 6
    tri = skin[rng.integers(0, len(skin), s)]
    bary = rng.dirichlet([2, 2, 2], s)
    v = face_model.neutral.astype(np.float64)
    root = (v[face_model.triangles[tri]] * bary[..., None]).sum(1)
    n = vertex_normals64(v, face_model.triangles)
    rn = (n[face_model.triangles[tri]] * bary[..., None]).sum(1)
    lines = root[:, None, :] + np.linspace(0, 3, p)[None, :, None] * rn[:, None, :] + \
        np.linspace(0, 1, p)[None, :, None] ** 2 * np.array([0, -2.0, 0])
    for mode in ("root", "surface", "blend"):
        kw = {}
        if mode != "root":
            st, sb = bind(v, face_model.triangles, lines.reshape(-1, 3), candidates=skin).tri[:, 0], None
            sb = bind(v, face_model.triangles, lines.reshape(-1, 3), tri_ids=st).bary[:, 0]
            kw = dict(surface_tri=st.reshape(s, p), surface_bary=sb.reshape(s, p, 3))
        b = bind_polylines(v, face_model.triangles, lines, tri, bary, mode=mode, **kw)
        assert len(b) == s * p
        assert np.abs(b.evaluate(v).reshape(s, p, 3) - lines).max() < 1e-5
        roots = b.subset(slice(0, None, p))
        assert np.abs(roots.offset).max() == 0 and (roots.weight[:, 0] == 1).all()
        for d in deformed:  # roots stay on the skin of every shape
            want = (d[face_model.triangles[tri]].astype(np.float64) * bary[..., None]).sum(1)
            assert np.abs(roots.evaluate(d) - want).max() < 1e-5
    assert b.n_anchors == 2 and np.allclose(b.weight.sum(1), 1, atol=1e-6)
    with pytest.raises(InputError):
        bind_polylines(v, face_model.triangles, lines, tri, bary, mode="surface")
    with pytest.raises(InputError):
        bind_polylines(v, face_model.triangles, lines, tri, bary, mode="sideways", surface_tri=tri, surface_bary=bary)


def test_subset_concat_and_validation(face_model, skin):
    pts, _ = _points_near_skin(face_model, skin, 100, 0.5, seed=9)
    b = bind(face_model.neutral, face_model.triangles, pts, candidates=skin)
    both = Binding.concat([b.subset(slice(0, 40)), b.subset(slice(40, None))])
    assert np.array_equal(both.evaluate(face_model.neutral), b.evaluate(face_model.neutral))
    with pytest.raises(InputError):
        Binding(b.tri, b.bary[:5], b.offset, b.weight, b.triangles)
    with pytest.raises(InputError):
        Binding(b.tri, b.bary, b.offset, b.weight, b.triangles, normals="flat")
    with pytest.raises(InputError):
        b.evaluate(np.zeros((10, 2)))
    with pytest.raises(InputError):
        bind(face_model.neutral, face_model.triangles, np.zeros((5, 2)))


def test_closest_on_triangles_regions():
    a, b, c = np.zeros(3), np.array([1.0, 0, 0]), np.array([0, 1.0, 0])
    pts = np.array([[0.2, 0.2, 1.0], [-1, -1, 0], [2, -0.5, 0], [0.5, -1, 0], [-1, 0.5, 0], [1, 1, 0]])
    bary = closest_on_triangles(pts, *(np.tile(x, (len(pts), 1)) for x in (a, b, c)))
    want = np.array([[0.6, 0.2, 0.2], [1, 0, 0], [0, 1, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    assert np.allclose(bary, want)


def test_fit_rigid_and_rigid_binding(face_model, skin):
    rng = np.random.default_rng(10)
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    q *= np.sign(np.linalg.det(q))
    src = rng.normal(size=(20, 3))
    r, t = fit_rigid(src, src @ q.T + [1, 2, 3])
    assert np.allclose(r, q) and np.allclose(t, [1, 2, 3])
    # glasses resting on the nose bridge and the ears follow a rigidly moved head exactly
    lm = face_model.neutral[face_model.landmarks_68[[27, 0, 16]]].astype(np.float64)
    rb = RigidBinding.from_points(face_model.neutral, face_model.triangles, lm, candidates=skin)
    item = lm.mean(0) + rng.normal(0, 2, (50, 3))
    moved = face_model.neutral.astype(np.float64) @ q.T + [0.5, 0, -1]
    assert np.abs(rb.apply(moved, item) - (item @ q.T + [0.5, 0, -1])).max() < 1e-4
    batch = rb.apply(np.stack([face_model.neutral, moved]), item)
    assert batch.shape == (2, 50, 3) and np.abs(batch[0] - item).max() < 1e-4


def test_frames_are_right_handed(face_model, skin):
    tri = skin[:100].reshape(-1, 1)
    bary = np.full((100, 1, 3), 1 / 3)
    for normals in ("face", "smooth"):
        _, rot = anchor_frames(face_model.neutral, face_model.triangles, tri, bary, normals)
        assert np.allclose(np.linalg.det(rot[:, 0]), 1.0)
