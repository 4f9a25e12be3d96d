"""RibbonCache (attach.hair.ribbon_cache): a subject's hair ribbons reused across its poses, bitwise equal to
building them from scratch, hitting for groups whose vertices a pose leaves alone and missing for the others."""

from __future__ import annotations

import copy
from dataclasses import replace

import numpy as np
import pytest

from assetgen.attach.hair import make_groom, sample_groom_params
from assetgen.attach.hair.ribbon_cache import RibbonCache, _Plan
from assetgen.attach.hair.ribbons import build_ribbons
from assetgen.attach.head import head_frame
from assetgen.render.hair import hair_primitive_arrays
from assetgen.render.mesh import mesh_from_asset

BROW_RAISE = {"browInnerUp_L": 1.0, "browInnerUp_R": 1.0, "browOuterUp_L": 0.8, "browOuterUp_R": 0.8}
EXPRESSIONS = [{}, {"jawOpen": 1.0}, BROW_RAISE, {"mouthSmile_L": 0.7, "eyeBlink_R": 0.6}, {"jawOpen": 1.0}, {},
               {"jawOpen": 0.4, "browDown_L": 0.5}]


@pytest.fixture(scope="module")
def hairy(asset, face_model):
    """The shared test asset with every hair region: medium scalp hair, a full beard with moustache, brows,
    lashes."""
    params = sample_groom_params(np.random.default_rng(3), style="medium", beard_style="full")
    out = copy.copy(asset)
    out.groom = make_groom(face_model, params, np.random.default_rng(3), rest_vertices=asset.vertices)
    return out


def _posed(asset, model, weights):
    return replace(asset, vertices=model.vertices(asset.identity_weights, model.expression_weights(weights)))


def _assert_same_arrays(got, want):
    assert [r for r, _ in got] == [r for r, _ in want]
    for (region, a), (_, b) in zip(got, want):
        assert a.keys() == b.keys(), region
        for k in a:
            assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape, (region, k)
            assert a[k].tobytes() == b[k].tobytes(), (region, k)


def test_cached_arrays_are_bytes_of_a_fresh_build(hairy, face_model):
    """Pose after pose (jaw open and brow raise move the beard, moustache and brows; repeats hit), the
    cached primitive arrays and ribbons are byte for byte those built without a cache."""
    cache = RibbonCache()
    regions = set()
    for weights in EXPRESSIONS:
        posed = _posed(hairy, face_model, weights)
        want = hair_primitive_arrays(posed)
        _assert_same_arrays(hair_primitive_arrays(posed, ribbon_cache=cache), want)
        regions |= {r for r, _ in want}
    assert regions == {"scalp_hair", "eyebrow_left", "eyebrow_right", "beard", "moustache", "eyelashes"}
    # one build per group and call; consecutive poses differ, so the moving groups missed every time
    assert all(cache.hits[r] + cache.misses[r] == len(EXPRESSIONS) for r in regions)
    assert cache.misses["beard"] == cache.misses["eyelashes"] == len(EXPRESSIONS)
    assert cache.misses["eyebrow_left"] >= 4
    # build_ribbons with the same cache: the same RibbonMesh bytes as without
    posed = _posed(hairy, face_model, BROW_RAISE)
    a = build_ribbons(hairy.groom, face_model, posed.vertices, lod=True)
    b = build_ribbons(hairy.groom, face_model, posed.vertices, lod=True, cache=cache)
    for k in ("positions", "normals", "tangents", "uv", "width", "alpha", "color", "strand", "vertex_region",
              "triangles", "region"):
        assert getattr(a, k).tobytes() == getattr(b, k).tobytes(), k


def test_binding_frames_each_distinct_anchor_once_with_the_same_bytes(hairy, face_model):
    """Binding.frames frames each distinct anchor once (a strand's points share its root anchor) and gathers:
    bitwise what framing every anchor gives, for one mesh and for a batch of meshes."""
    from assetgen.attach.binding import anchor_frames

    v = np.asarray(_posed(hairy, face_model, {"jawOpen": 0.8, "browInnerUp_L": 0.5}).vertices)
    batch = np.stack([v, np.asarray(_posed(hairy, face_model, BROW_RAISE).vertices)])
    for g in hairy.groom.groups:
        b = g.binding
        assert len(b._distinct_anchors[0]) < b.tri.size, g.region  # roots are shared by their strand's points
        for verts in (v, batch):
            got = b.frames(verts)
            want = anchor_frames(verts, b.triangles, b.tri, b.bary, b.normals, b._normal_support)
            for x, y in zip(got, want):
                assert x.shape == y.shape and x.tobytes() == y.tobytes(), g.region


def test_cache_hits_unmoved_groups_and_misses_moved_ones(hairy, face_model):
    """A pose moving only vertices the scalp hair and the head frame do not read (the jaw-open shape outside
    them): the scalp group hits (same RibbonMesh object, same primitive arrays object); the beard and
    moustache, whose roots the jaw carries, miss; all bytes as without a cache."""
    model = face_model
    neutral = _posed(hairy, model, {})
    jaw = _posed(hairy, model, {"jawOpen": 1.0})
    keep = np.union1d(_Plan(hairy.groom.group("scalp_hair")).reads, np.asarray(model.landmarks_68))
    v = np.array(jaw.vertices)
    v[keep] = np.asarray(neutral.vertices)[keep]  # jaw open everywhere the scalp hair and the frame do not read
    partial = replace(hairy, vertices=v)

    cache = RibbonCache()
    first = hair_primitive_arrays(neutral, ribbon_cache=cache)
    assert dict(cache.hits) == {} and cache.misses["scalp_hair"] == 1 and cache.misses["beard"] == 1
    second = hair_primitive_arrays(partial, ribbon_cache=cache)
    _assert_same_arrays(second, hair_primitive_arrays(partial))
    assert cache.hits["scalp_hair"] == 1 and cache.misses["scalp_hair"] == 1
    assert cache.misses["beard"] == 2 and cache.misses["moustache"] == 2 and cache.hits["beard"] == 0
    before, after = dict(first), dict(second)
    assert after["scalp_hair"] is before["scalp_hair"]  # unchanged region: the very same arrays
    assert after["beard"] is not before["beard"]
    assert after["beard"]["positions"].tobytes() != before["beard"]["positions"].tobytes()

    # the same pose again: every group hits, every region keeps its arrays
    third = hair_primitive_arrays(partial, ribbon_cache=cache)
    assert all(a is b for (_, a), (_, b) in zip(third, second))
    assert cache.hits["beard"] == 1 and cache.misses["beard"] == 2


def test_moved_head_centre_misses_only_where_normals_turn_over(hairy, face_model):
    """Same vertices, another head centre: a hit while no ribbon normal turns over, else a rebuild equal to
    group_ribbons with that centre."""
    from assetgen.attach.hair.ribbons import (
        group_ribbons,
        lod_tolerance,
        strip_flip,
        strip_geometry,
    )

    g = hairy.groom.group("scalp_hair")
    v = np.asarray(hairy.vertices)
    tol = lod_tolerance(face_model)
    centre = head_frame(face_model, v)[0]
    geo = strip_geometry(g.evaluate(v).astype(np.float64), g.sides(v), g.width, g.tip_taper, g.coverage)
    near, far = centre + [0.0, 0.0, 1e-9], centre + [0.0, 3.0, -4.0]
    assert np.array_equal(strip_flip(geo, near), strip_flip(geo, centre))
    assert not np.array_equal(strip_flip(geo, far), strip_flip(geo, centre))
    cache = RibbonCache()
    first = cache.group_ribbons(g, v, centre, tol)
    assert cache.group_ribbons(g, v, near, tol) is first and cache.hits["scalp_hair"] == 1
    moved = cache.group_ribbons(g, v, far, tol)
    assert cache.misses["scalp_hair"] == 2
    want = group_ribbons(g, v, far, tol)
    assert moved.normals.tobytes() == want.normals.tobytes() != first.normals.tobytes()
    assert moved.triangles.tobytes() == want.triangles.tobytes()


def test_mesh_from_asset_with_cache(hairy, face_model):
    """mesh_from_asset(ribbon_cache=...): the same hair primitives as without; a repeated pose keeps them."""
    posed = _posed(hairy, face_model, BROW_RAISE)
    cache = RibbonCache()
    plain = mesh_from_asset(posed)
    cached = mesh_from_asset(posed, ribbon_cache=cache)
    again = mesh_from_asset(posed, ribbon_cache=cache)
    hair = [p for p in plain.primitives if p.material.startswith("Hair_")]
    assert len(hair) == 6
    for p in hair:
        q, r = cached.material(p.material), again.material(p.material)
        for k in ("positions", "normals", "texcoords", "colors", "indices"):
            assert getattr(p, k).tobytes() == getattr(q, k).tobytes(), (p.material, k)
        assert r.positions is q.positions and r.indices is q.indices
    assert cache.hits["scalp_hair"] == 1 and cache.misses["scalp_hair"] == 1
