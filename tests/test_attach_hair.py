"""Procedural grooms: roots on the scalp, strands outside the head, determinism, what each style family
claims, pigment colours, the parameter sampler, ribbons."""

from __future__ import annotations

import numpy as np
import pytest

from assetgen.attach.hair import (
    BEARD_STYLES,
    SCALP_STYLES,
    GroomPriors,
    absorption,
    absorption_to_color,
    concentrations,
    make_groom,
    pigment_color,
    sample_groom_params,
)
from assetgen.attach.hair.color import strand_melanin
from assetgen.attach.hair.params import ColorParams
from assetgen.attach.hair.ribbons import build_ribbons
from assetgen.attach.hair.strands import mean_curvature, polyline_lengths
from assetgen.attach.hair.zones import Landmarks
from assetgen.attach.head import head_geometry, skin_triangles
from assetgen.errors import ConfigError, InputError
from assetgen.face import ict

# a fixed set of test expressions (ARKit names of the model), weights inside [0, 1]
EXPRESSIONS = (
    {},
    {"jawOpen": 0.8},
    {"mouthSmile_L": 0.7, "mouthSmile_R": 0.7, "browInnerUp_L": 0.6, "browInnerUp_R": 0.6},
    {"eyeBlink_L": 0.6, "eyeBlink_R": 0.6, "cheekPuff_L": 0.5},
    {"browDown_L": 0.8, "browDown_R": 0.8, "mouthFunnel": 0.6, "noseSneer_L": 0.5},
)


@pytest.fixture(scope="module")
def geo(face_model):
    return head_geometry(face_model)


@pytest.fixture(scope="module")
def grooms(face_model):
    """groom(style, beard=..., seed=..., **scalp) made once per module."""
    cache = {}

    def get(style, beard="none", seed=3, **scalp):
        key = (style, beard, seed, tuple(sorted(scalp.items())))
        if key not in cache:
            params = sample_groom_params(np.random.default_rng(seed), style=style, beard_style=beard, scalp=scalp)
            cache[key] = make_groom(face_model, params, np.random.default_rng(seed + 1000))
        return cache[key]

    return get


def _scene(geo, vertices):
    import open3d as o3d

    v, t = geo.capped(vertices)
    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(o3d.core.Tensor(np.ascontiguousarray(v, np.float32)), o3d.core.Tensor(t.astype(np.uint32)))
    return scene


def _signed_distance(scene, points):
    import open3d as o3d

    return scene.compute_signed_distance(o3d.core.Tensor(np.ascontiguousarray(points, np.float32).reshape(-1, 3))).numpy()


def _skin_distance(face_model, skin, vertices, points):
    import open3d as o3d

    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(o3d.core.Tensor(np.ascontiguousarray(vertices, np.float32)),
                        o3d.core.Tensor(face_model.triangles[skin].astype(np.uint32)))
    return scene.compute_distance(o3d.core.Tensor(np.ascontiguousarray(points, np.float32))).numpy()


# ---- roots -----------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_roots_stay_on_the_skin_for_50_identities_x_5_expressions(face_model, grooms):
    """Every group's roots, evaluated on 250 shapes, lie on the evaluated skin within 0.05 mm."""
    g = grooms("long_straight", beard="full")
    skin = skin_triangles(face_model)
    rng = np.random.default_rng(2024)
    ident = face_model.identity_weights(rng, n=50, truncation=2.5)
    expr = np.stack([face_model.expression_weights(e) for e in EXPRESSIONS])
    groups = [(gr, rng.choice(gr.n_strands, min(gr.n_strands, 400), replace=False)) for gr in g.groups]
    worst = 0.0
    for i in range(0, 50, 10):
        verts = face_model.vertices(np.repeat(ident[i:i + 10], 5, axis=0), np.tile(expr, (10, 1)))  # (50, V, 3)
        roots = [gr.root_binding.subset(idx).evaluate(verts) for gr, idx in groups]  # each (50, n, 3)
        for b in range(len(verts)):
            pts = np.concatenate([r[b] for r in roots])
            worst = max(worst, float(_skin_distance(face_model, skin, verts[b], pts).max()))
    assert worst < 0.005, f"a root is {worst * 10:.4f} mm off the skin"


def test_scalp_roots_lie_in_the_scalp_zone(face_model, geo, grooms):
    lm = Landmarks(geo)
    for style in ("long_straight", "crew", "receding", "balding"):
        gr = grooms(style).group("scalp_hair")
        theta, phi = geo.chart(gr.points[:, 0])
        front = np.abs(theta) < 25
        assert (phi[front] > lm.brow_top + 10).all()  # nothing on the forehead
        assert not geo.ear_vertex_mask[face_model.triangles[gr.root_tri]].any()  # nothing on the ears
        assert (phi > -50).all()  # nothing on the lower neck


# ---- strands outside the head -------------------------------------------------------------------------------
@pytest.mark.slow
def test_strands_stay_outside_the_head_for_every_style(face_model, geo, grooms):
    """>= 99.9 % of strand points (roots excluded) outside the closed skin, for every style family with a beard,
    on the neutral and on random identities with expressions."""
    rng = np.random.default_rng(5)
    ident = face_model.identity_weights(rng, n=2, truncation=2.5)
    shapes = [face_model.neutral, face_model.vertices(ident[0], EXPRESSIONS[1]), face_model.vertices(ident[1], EXPRESSIONS[3]),
              face_model.vertices(None, EXPRESSIONS[2])]
    scenes = [_scene(geo, v) for v in shapes]
    beards = [b for b in BEARD_STYLES if b != "none"]
    report = {}
    for k, style in enumerate(SCALP_STYLES):
        g = grooms(style, beard=beards[k % len(beards)])
        for v, scene in zip(shapes, scenes):
            posed = g.evaluate(v)
            pts = np.concatenate([p[:, 1:].reshape(-1, 3) for p in posed.values()])
            sub = rng.choice(len(pts), min(len(pts), 25000), replace=False)
            inside = float((_signed_distance(scene, pts[sub]) < 0).mean())
            report[style] = max(report.get(style, 0.0), inside)
    bad = {k: v for k, v in report.items() if v > 0.001}
    assert not bad, f"share of strand points inside the head: {bad}"


def test_rest_strands_are_outside_with_clearance(geo, grooms):
    scene = _scene(geo, geo.rest)
    g = grooms("medium", beard="short")
    for gr in g.groups:
        d = _signed_distance(scene, gr.points[:, 1:])
        assert (d > 0).mean() >= 0.999, gr.region
        assert np.median(d) > 0.015, gr.region


# ---- the face stays clear ----------------------------------------------------------------------------------------
def _in_keep_clear_zone(face_model, geo, vertices, points, tol: float = 0.2):
    """(n,) bool: points in the face's keep-clear zone on the shape `vertices`: seen along the face's forward
    axis (head frame) they fall inside the convex hull of the eye, nose and mouth landmarks and of the jaw
    line below the cheekbones (Multi-PIE 27-59 and 3-13: the lower cheeks and the chin) and they lie in
    front of the face surface there (no deeper than `tol` cm behind it)."""
    import open3d as o3d
    from scipy.spatial import ConvexHull

    from assetgen.attach.head import head_frame

    origin, axes = head_frame(face_model, vertices)
    lm = (np.asarray(vertices, np.float64)[face_model.landmarks_68] - origin) @ axes.T
    hull = ConvexHull(lm[np.r_[3:14, 27:60], :2])
    q = (np.asarray(points, np.float64).reshape(-1, 3) - origin) @ axes.T
    inside = (q[:, :2] @ hull.equations[:, :2].T + hull.equations[:, 2] <= 0).all(1)
    idx = np.flatnonzero(inside)
    if len(idx):
        start = q[idx].copy()
        start[:, 2] = 50.0  # well in front of the face, on the point's line along the forward axis
        rays = np.concatenate([start @ axes + origin, np.broadcast_to(-axes[2], (len(idx), 3))], 1)
        surface_z = 50.0 - _scene(geo, vertices).cast_rays(o3d.core.Tensor(rays.astype(np.float32)))["t_hit"].numpy()
        inside[idx] = q[idx, 2] > surface_z - tol
    return inside


@pytest.mark.slow
def test_scalp_hair_keeps_the_face_clear(face_model, geo):
    """Over 12 random identities x every scalp style (3 random grooms each, fringes and all partings
    included): no scalp-hair strand point in front of the eyes, nose, mouth, lower cheeks or chin (the
    keep-clear zone; hair falls behind and beside the face, a fringe ends above the eyes)."""
    rng = np.random.default_rng(11)
    shapes = face_model.vertices(face_model.identity_weights(rng, n=12, truncation=2.5))
    total, inside, worst = 0, 0, {}
    for k, style in enumerate(s for s in SCALP_STYLES if s != "bald"):
        for j in range(3):
            params = sample_groom_params(np.random.default_rng(100 * k + j), style=style)
            group = make_groom(face_model, params, np.random.default_rng(j), parts=("scalp",)).group("scalp_hair")
            for i in ((3 * k + j) % 12, (3 * k + j + 5) % 12):
                pts = group.evaluate(shapes[i])
                bad = int(_in_keep_clear_zone(face_model, geo, shapes[i], pts).sum())
                total, inside = total + pts.shape[0] * pts.shape[1], inside + bad
                if bad:
                    worst[style, j, i] = bad
    print(f"scalp-hair points in the face's keep-clear zone: {inside} of {total} ({inside / total:.1e})")
    assert inside == 0, f"{inside} of {total} points in front of the face: {worst}"


def test_keep_clear_zone_measure_sees_hair_over_the_face(face_model, geo, grooms):
    """The zone test above can fail: strands moved in front of the face are found, hair beside it is not."""
    g = grooms("long_straight", fringe=False).group("scalp_hair")
    v = face_model.neutral
    assert not _in_keep_clear_zone(face_model, geo, v, g.points).any()
    nose = v[face_model.landmarks_68[30]]
    moved = g.points[:5] + (nose + [0.0, 0.0, 1.0] - g.points[:5, -1])[:, None, :]  # tips 1 cm before the nose
    assert _in_keep_clear_zone(face_model, geo, v, moved[:, -1]).all()
    behind = moved[:, -1] - [0.0, 0.0, 25.0]  # the same spot behind the head
    assert not _in_keep_clear_zone(face_model, geo, v, behind).any()
    lm = v[face_model.landmarks_68]
    cheeks = np.stack([0.5 * (lm[4] + lm[48]), 0.5 * (lm[12] + lm[54])]) + [0.0, 0.0, 1.5]  # over the lower cheeks
    assert _in_keep_clear_zone(face_model, geo, v, cheeks).all()


# ---- determinism -----------------------------------------------------------------------------------------------
def test_same_seed_same_bytes(face_model):
    p1 = sample_groom_params(np.random.default_rng(42))
    p2 = sample_groom_params(np.random.default_rng(42))
    assert p1 == p2
    params = sample_groom_params(np.random.default_rng(42), style="wavy", beard_style="goatee")
    a = make_groom(face_model, params, np.random.default_rng(7))
    b = make_groom(face_model, params, np.random.default_rng(7))
    c = make_groom(face_model, params, np.random.default_rng(8))
    assert a.digest() == b.digest()
    for ga, gb in zip(a.groups, b.groups):
        assert ga.points.tobytes() == gb.points.tobytes() and ga.binding.offset.tobytes() == gb.binding.offset.tobytes()
    assert a.digest() != c.digest()


def test_threads_and_split_binding_give_the_same_bytes(face_model, monkeypatch):
    """make_groom binds the scalp in two halves on two threads: the same bytes as one binding on one."""
    from assetgen.attach.hair import groom as groom_module

    params = sample_groom_params(np.random.default_rng(8), style="medium", beard_style="full")
    split = make_groom(face_model, params, np.random.default_rng(3))
    assert split.group("scalp_hair").n_strands >= groom_module.SPLIT_BINDING
    monkeypatch.setattr(groom_module, "SPLIT_BINDING", 10**9)
    whole = make_groom(face_model, params, np.random.default_rng(3))
    assert split.digest() == whole.digest() and split.regions == whole.regions


def test_parts_draw_from_their_own_streams(face_model):
    """Changing the beard leaves the scalp and the brows byte-identical; fixing the style keeps the colour."""
    pa = sample_groom_params(np.random.default_rng(9), style="bob", beard_style="none")
    pb = sample_groom_params(np.random.default_rng(9), style="bob", beard_style="full")
    assert pa.scalp == pb.scalp and pa.color == pb.color and pa.brows == pb.brows
    a = make_groom(face_model, pa, np.random.default_rng(1), parts=("scalp", "brows", "beard"))
    b = make_groom(face_model, pb, np.random.default_rng(1), parts=("scalp", "brows", "beard"))
    for region in ("scalp_hair", "eyebrow_left"):
        assert a.group(region).points.tobytes() == b.group(region).points.tobytes()
    assert a.group("beard") is None and b.group("beard") is not None


# ---- what each style family claims ----------------------------------------------------------------------------
def _mean_length(g):
    return float(polyline_lengths(g.group("scalp_hair").points).mean())


def test_bald_has_no_scalp_hair(grooms):
    g = grooms("bald", beard="full")
    assert g.group("scalp_hair") is None
    assert g.group("beard") is not None and g.group("eyebrow_left") is not None


@pytest.mark.slow
def test_lengths_order_by_style(grooms):
    lengths = {s: _mean_length(grooms(s)) for s in ("buzz", "crew", "medium", "long_straight")}
    assert lengths["buzz"] < 0.8
    assert lengths["buzz"] < lengths["crew"] < lengths["medium"] < lengths["long_straight"], lengths
    assert lengths["long_straight"] > 2 * lengths["medium"] or lengths["long_straight"] > 15


def test_length_parameter_is_measured_length(face_model, grooms):
    short = grooms("medium", length=8.0, length_jitter=0.0, curl_radius=0.0, clumping=0.0, frizz=0.0, fringe=False)
    long = grooms("medium", length=16.0, length_jitter=0.0, curl_radius=0.0, clumping=0.0, frizz=0.0, fringe=False)
    ls, ll = _mean_length(short), _mean_length(long)
    assert 7.0 < ls < 9.0 and ll > 1.6 * ls


@pytest.mark.slow
def test_curl_raises_curvature(grooms):
    curv = {s: float(mean_curvature(grooms(s).group("scalp_hair").points).mean()) for s in
            ("long_straight", "wavy", "curly", "coily")}
    assert curv["long_straight"] < curv["wavy"] < curv["curly"] < curv["coily"], curv
    assert curv["curly"] > 3 * curv["long_straight"]


@pytest.mark.slow
def test_curls_are_sampled_finely(face_model):
    """Curled and waved strands have >= 8 points per curl period: consecutive segments turn by <= 45
    degrees (2 pi / 8) but for a few, so ribbons are smooth, not zig-zags; the scalp stays in its budget."""
    from assetgen.attach.hair.scalp import SCALP_TRIANGLE_BUDGET

    report = {}
    for style in ("wavy", "curly", "coily"):
        for seed in range(3):
            params = sample_groom_params(np.random.default_rng(seed), style=style)
            group = make_groom(face_model, params, np.random.default_rng(seed), parts=("scalp",)).group("scalp_hair")
            d = np.diff(group.points.astype(np.float64), axis=1)
            u = d / np.maximum(np.linalg.norm(d, axis=2, keepdims=True), 1e-12)
            turn = np.degrees(np.arccos(np.clip((u[:, 1:] * u[:, :-1]).sum(2), -1, 1)))
            report[style, seed] = (group.n_points, round(float(np.percentile(turn, 95)), 1))
            assert 2 * group.n_strands * (group.n_points - 1) <= SCALP_TRIANGLE_BUDGET
    assert all(p95 <= 50.0 for _, p95 in report.values()), report


def test_receding_hairline_sits_higher(geo, grooms):
    lm = Landmarks(geo)

    def temple_hairline(g):
        theta, phi = geo.chart(g.group("scalp_hair").points[:, 0])
        sel = (np.abs(theta) > lm.temple) & (np.abs(theta) < lm.temple + 12)
        return float(np.percentile(phi[sel], 2))

    full = grooms("crew", recession=0.0)
    receding = grooms("receding")
    assert receding.params.scalp.recession > 0.4
    assert temple_hairline(receding) > temple_hairline(full) + 5  # degrees of elevation


def test_balding_leaves_the_top_bare(geo, grooms):
    def top_share(g):
        _, phi = geo.chart(g.group("scalp_hair").points[:, 0])
        return float((phi > 60).mean())

    assert top_share(grooms("balding")) < 0.2 * top_share(grooms("crew"))


def test_ponytail_and_bun_gather_the_hair(geo, grooms):
    pony = grooms("ponytail", fringe=False).group("scalp_hair").points
    q_root, q_tip = geo.to_head(pony[:, 0]), geo.to_head(pony[:, -1])
    assert np.std(q_tip[:, 0]) < 0.5 * np.std(q_root[:, 0])  # tips bundled in a tail
    assert np.median(q_tip[:, 2]) < -5  # behind the head
    bun = grooms("bun", fringe=False).group("scalp_hair").points
    tips = bun[:, -1]
    assert np.percentile(np.linalg.norm(tips - np.median(tips, 0), axis=1), 90) < 4.5


def test_bob_is_cut_below_the_mouth(geo, grooms):
    g = grooms("bob", fringe=False)
    mouth_y = geo.to_head(geo.rest[geo.model.landmarks_68[[48, 54]]]).mean(0)[1]
    y = geo.to_head(g.group("scalp_hair").points)[..., 1]
    assert y.min() > mouth_y - g.params.scalp.cut_drop - 2.5


def test_fringe_covers_the_forehead(geo, grooms):
    def forehead_tips(g):
        q = geo.to_head(g.group("scalp_hair").points[:, -1])
        brow = geo.to_head(geo.rest[geo.model.landmarks_68[17:27]])[:, 1].max()
        return int(((np.abs(q[:, 0]) < 4) & (q[:, 1] > brow) & (q[:, 1] < brow + 4) & (q[:, 2] > 5)).sum())

    assert forehead_tips(grooms("medium", fringe=True)) > 50
    assert forehead_tips(grooms("medium", fringe=False)) < 5


def test_parting_combs_away_from_the_part(geo, grooms):
    g = grooms("medium", parting="centre", fringe=False)
    pts = g.group("scalp_hair").points
    q0, q1 = geo.to_head(pts[:, 0]), geo.to_head(pts[:, 3])
    top = q0[:, 1] > 6
    left, right = top & (q0[:, 0] > 1), top & (q0[:, 0] < -1)
    assert np.median(q1[left, 0] - q0[left, 0]) > 0 and np.median(q1[right, 0] - q0[right, 0]) < 0


def test_face_hair_groups(face_model, geo, grooms):
    g = grooms("crew", beard="full")
    left, right = g.group("eyebrow_left"), g.group("eyebrow_right")
    assert (left.points[:, 0, 0] > 0).all() and (right.points[:, 0, 0] < 0).all()  # subject's left is +x
    lm = face_model.neutral[face_model.landmarks_68]
    assert np.linalg.norm(left.points[:, 0] - lm[22:27].mean(0), axis=1).max() < 4
    assert polyline_lengths(left.points).max() < 2 * g.params.brows.length
    lashes = g.group("eyelashes")
    assert set(np.unique(lashes.labels["eye"])) == {-1, 1}
    upper = lashes.labels["upper"]
    rise = geo.to_head(lashes.points[:, -1])[:, 1] - geo.to_head(lashes.points[:, 0])[:, 1]
    assert np.median(rise[upper]) > 0 and np.median(rise[~upper]) < 0  # curl away from the eye
    beard = g.group("beard")
    assert np.linalg.norm(beard.points[:, 0] - lm[8], axis=1).min() < 1.0  # covers the chin
    assert g.group("moustache") is not None
    for region in ("beard", "moustache"):
        assert not np.isin(face_model.triangle_region[g.group(region).root_tri],
                           [face_model.region_names.index(r) for r in ict.LIP_REGIONS]).any()


def test_lower_lashes_are_fine_and_point_down(face_model, geo):
    """Lower lashes are sparser, shorter and finer than the upper ones and point down more than forward, so
    a front view shows thin lines, not dots."""
    params = sample_groom_params(np.random.default_rng(6), style="bald", lashes={"lower": True})
    lashes = make_groom(face_model, params, np.random.default_rng(6), parts=("lashes",)).group("eyelashes")
    upper = lashes.labels["upper"]
    assert 0 < (~upper).sum() < 0.5 * upper.sum()
    length = polyline_lengths(lashes.points)
    assert np.median(length[~upper]) < 0.6 * np.median(length[upper])
    assert lashes.width[~upper].max() < lashes.width[upper].min()
    reach = geo.to_head(lashes.points[:, -1]) - geo.to_head(lashes.points[:, 0])
    assert np.median(-reach[~upper, 1]) > np.median(reach[~upper, 2]) > 0  # down more than forward


def test_beard_styles(face_model, grooms):
    lm = face_model.neutral[face_model.landmarks_68].astype(np.float64)
    mous = grooms("bald", beard="moustache")
    assert mous.group("beard") is None and mous.group("moustache").n_strands > 50
    stubble = grooms("bald", beard="stubble").group("beard")
    assert polyline_lengths(stubble.points).max() < 0.3
    strap = grooms("bald", beard="chin_strap").group("beard").points[:, 0]
    jaw = lm[0:17]
    d_jaw = np.min(np.linalg.norm(strap[:, None] - jaw[None], axis=2), axis=1)
    assert np.percentile(d_jaw, 90) < 2.0
    goatee = grooms("bald", beard="goatee").group("beard").points[:, 0]
    assert np.abs(goatee[:, 0]).max() < np.abs(lm[[48, 54], 0]).max() + 1.5
    full = grooms("bald", beard="full").group("beard")
    short = grooms("bald", beard="short").group("beard")
    assert polyline_lengths(full.points).mean() > 2 * polyline_lengths(short.points).mean()


def test_evaluate_batch_matches_single(face_model, grooms):
    g = grooms("crew", beard="short")
    rng = np.random.default_rng(3)
    verts = face_model.vertices(face_model.identity_weights(rng, n=2), np.stack(
        [face_model.expression_weights(EXPRESSIONS[1]), face_model.expression_weights(EXPRESSIONS[2])]))
    batch = g.evaluate(verts)
    for region, arr in batch.items():
        gr = g.group(region)
        assert arr.shape == (2, gr.n_strands, gr.n_points, 3)
        assert np.abs(arr[1] - gr.evaluate(verts[1])).max() < 1e-4
    rest = g.evaluate(g.rest_vertices)
    for gr in g.groups:
        assert np.abs(rest[gr.region] - gr.points).max() < 1e-5


# ---- colour -------------------------------------------------------------------------------------------------------
def test_pigment_colour_is_monotone_in_eumelanin():
    eu = np.linspace(0, 8, 50)
    col = pigment_color(eu, np.zeros_like(eu))
    assert col.shape == (50, 3)
    assert (np.diff(col, axis=0) < 0).all()  # every channel darkens
    assert col[0].min() > 0.9 and col[-1].max() < 0.05
    # pheomelanin makes hair redder (R/B grows)
    red = pigment_color(np.full(20, 0.3), np.linspace(0, 2, 20))
    assert (np.diff(red[:, 0] / red[:, 2]) > 0).all()
    # Blender's melanin knobs: more melanin -> more eumelanin; redness splits it
    e1, p1 = concentrations(0.5, 0.0)
    e2, p2 = concentrations(0.9, 0.0)
    assert e2 > e1 and p1 == p2 == 0
    # a dye pulls the colour towards it; absorption and colour invert each other
    plain = pigment_color(0.05, 0.02)
    dyed = pigment_color(0.05, 0.02, dye=(0.1, 0.3, 0.9), dye_strength=1.0)
    assert dyed[2] / dyed[0] > 2 * plain[2] / plain[0] and (dyed <= plain + 1e-12).all()
    c = np.array([0.2, 0.5, 0.8])
    assert np.allclose(absorption_to_color(absorption(0, 0, dye=c)), c)


def test_grey_rises_with_age():
    fr = [ColorParams(age=a).grey_fraction for a in (20, 35, 50, 65, 80)]
    assert all(np.diff(fr) > 0) and fr[0] < 0.05 and fr[-1] > 0.95
    _, _, grey = strand_melanin(np.random.default_rng(0), 20000, 0.8, 0.1, 0.3, 0.1)
    assert abs(grey.mean() - 0.3) < 0.02


def _chroma(linear_rgb):
    """CIELAB chroma C*ab (D65) of linear sRGB colours (..., 3)."""
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = np.asarray(linear_rgb, np.float64) @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.hypot(500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2]))


def test_grey_hair_is_neutral(face_model):
    """Grey (unpigmented) fibres are a neutral grey-white whatever the pigment of the others: a head of 95 %
    grey hair has chroma < 3 (CIELAB), an all-grey head's every clump is neutral with no melanin, the same
    head young keeps its colour."""
    report = {}
    for category in ("blond", "red", "light_brown", "platinum"):
        for grey in (1.0, 0.95, 0.0):
            params = sample_groom_params(np.random.default_rng(4), style="crew",
                                         color={"category": category, "grey": grey, "dye": None})
            g = make_groom(face_model, params, np.random.default_rng(4), parts=("scalp", "brows"))
            scalp = g.group("scalp_hair")
            report[category, grey] = round(float(_chroma(scalp.color.mean(0))), 2)
            assert abs(float(scalp.grey.mean()) - grey) < 0.01
            if grey == 1.0:
                assert (scalp.grey == 1).all() and _chroma(scalp.color).max() < 0.5
                assert (scalp.melanin == 0).all() and (scalp.redness == 0).all()
            if grey == 0.95:  # the pigment knobs are diluted by the clump's grey share
                assert scalp.grey.min() >= 0.92 and scalp.melanin.max() < 0.08 and scalp.redness.max() < 0.08
    assert all(c < 3.0 for (_, grey), c in report.items() if grey > 0), report
    assert all(c > 10.0 for (_, grey), c in report.items() if grey == 0), report


def test_greying_clumps_mix_instead_of_striping(face_model):
    """A strand is a clump of fibres: a half-grey head of black hair has clumps of mixed grey share (0.25 to
    0.75), so their luminance varies far less than whole grey and whole black clumps would (0 or 1 shares:
    a coefficient of variation near 0.9), and their mean colour is the mix of the two fibre colours."""
    from assetgen.attach.hair.color import absorption_to_color, keratin_absorption

    params = sample_groom_params(np.random.default_rng(2), style="crew",
                                 color={"category": "black", "grey": 0.5, "dye": None})
    scalp = make_groom(face_model, params, np.random.default_rng(2), parts=("scalp",)).group("scalp_hair")
    assert 0.25 <= scalp.grey.min() and scalp.grey.max() <= 0.75 and abs(float(scalp.grey.mean()) - 0.5) < 0.01
    lum = scalp.color @ np.array([0.2126, 0.7152, 0.0722])
    assert lum.std() / lum.mean() < 0.45, lum.std() / lum.mean()
    white = float(absorption_to_color(keratin_absorption(params.color.radial_roughness),
                                      params.color.radial_roughness))
    assert 0.35 * white < lum.mean() < 0.65 * white  # about half the fibres' white, black adding little



def test_face_hair_colour_tied_to_scalp_by_default(face_model):
    p = sample_groom_params(np.random.default_rng(1), style="crew", beard_style="short",
                            color={"face_independent": False, "grey": 0.0, "random_color": 0.0})
    g = make_groom(face_model, p, np.random.default_rng(2), parts=("scalp", "brows", "beard"))
    assert np.allclose(g.group("beard").color.mean(0), g.group("scalp_hair").color.mean(0), atol=1e-5)
    q = sample_groom_params(np.random.default_rng(1), style="crew", beard_style="short",
                            color={"face_independent": True, "face_melanin": 0.1, "melanin": 0.95, "grey": 0.0})
    h = make_groom(face_model, q, np.random.default_rng(2), parts=("scalp", "beard"))
    assert h.group("beard").color.mean() > 3 * h.group("scalp_hair").color.mean()


# ---- sampler ------------------------------------------------------------------------------------------------------
def test_sampler_frequencies_match_the_priors():
    """N = 1000 draws: each categorical frequency within +-2 % of its probability (and a chi-square test)."""
    from scipy.stats import chisquare

    pri = GroomPriors(style={"buzz": 0.5, "bob": 0.3, "bald": 0.2},
                      beard={"none": 0.6, "full": 0.25, "stubble": 0.15},
                      parting={"side": 0.5, "centre": 0.3, "none": 0.2},
                      hair_color={"black": 0.4, "blond": 0.35, "red": 0.25}, dye=0.1, lower_lashes=0.9)
    rng = np.random.default_rng(12345)
    draws = [sample_groom_params(rng, pri) for _ in range(1000)]
    checks = {
        "style": ([d.scalp.style for d in draws], pri.style),
        "beard": ([d.beard.style for d in draws], pri.beard),
        "parting": ([d.scalp.parting for d in draws], pri.parting),
        "hair_color": ([d.color.category for d in draws], pri.hair_color),
        "dye": ([d.color.dye is not None for d in draws], {True: 0.1, False: 0.9}),
        "lower_lashes": ([d.lashes.lower for d in draws], {True: 0.9, False: 0.1}),
    }
    for name, (values, probs) in checks.items():
        keys = list(probs)
        freq = np.array([sum(v == k for v in values) for k in keys]) / len(values)
        p = np.array([probs[k] for k in keys])
        assert np.abs(freq - p).max() <= 0.02, (name, dict(zip(keys, freq)))
        assert chisquare(freq * len(values), p * len(values)).pvalue > 0.001, name


def test_sampler_fixed_values_and_errors():
    rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
    a = sample_groom_params(rng_a, style="curly")
    b = sample_groom_params(rng_b, style="bun", scalp={"length": 33.0})
    assert a.scalp.style == "curly" and b.scalp.style == "bun" and b.scalp.length == 33.0
    assert a.brows == b.brows and a.lashes == b.lashes and a.color == b.color and a.beard == b.beard
    assert sample_groom_params(np.random.default_rng(1), age=70).color.age == 70
    with pytest.raises(ConfigError):
        sample_groom_params(np.random.default_rng(1), style="mohawk")
    with pytest.raises(ConfigError):
        sample_groom_params(np.random.default_rng(1), scalp={"length": -3})
    with pytest.raises(ConfigError):
        sample_groom_params(np.random.default_rng(1), colour={"age": 3})
    with pytest.raises(ValueError):  # pydantic's ValidationError is a ValueError
        GroomPriors(style={"mohawk": 1.0})
    for style in SCALP_STYLES:
        p = sample_groom_params(np.random.default_rng(0), style=style)
        assert p.scalp.style == style


def test_make_groom_input_errors(face_model):
    with pytest.raises(InputError):
        make_groom(face_model, {"style": "bob"}, np.random.default_rng(0))
    with pytest.raises(InputError):
        make_groom(face_model, sample_groom_params(np.random.default_rng(0)), np.random.default_rng(0), parts=("hat",))


# ---- ribbons ------------------------------------------------------------------------------------------------------
def test_ribbons_geometry_and_budget(face_model, grooms):
    g = grooms("long_straight", beard="full")
    mesh = build_ribbons(g, face_model)
    n_expected = sum(gr.n_strands * gr.n_points * 2 for gr in g.groups)
    t_expected = sum(gr.n_strands * (gr.n_points - 1) * 2 for gr in g.groups)
    assert mesh.n_vertices == n_expected and mesh.n_triangles == t_expected
    assert mesh.n_triangles <= 300_000, mesh.triangle_counts()
    assert set(mesh.triangle_counts()) == set(g.regions)
    # the strip is centred on the strand and as wide as the group says, tapering to the tip
    gr = g.groups[0]
    s, p = gr.n_strands, gr.n_points
    pos = mesh.positions[: s * p * 2].reshape(s, p, 2, 3).astype(np.float64)
    assert np.abs(pos.mean(2) - gr.points).max() < 1e-4
    w = np.linalg.norm(pos[:, :, 1] - pos[:, :, 0], axis=-1)
    assert np.allclose(w[:, 0], gr.width, rtol=1e-4)
    assert np.allclose(w[:, -1], gr.width * (1 - gr.tip_taper), rtol=1e-3, atol=1e-5)
    assert np.allclose(np.linalg.norm(mesh.normals, axis=1), 1, atol=1e-4)
    assert np.abs((mesh.normals * mesh.tangents).sum(1)).max() < 1e-3
    assert mesh.uv.min() >= 0 and mesh.uv.max() <= 1
    assert (mesh.alpha > 0).all() and (mesh.alpha <= 1).all()
    assert mesh.triangles.max() < mesh.n_vertices and mesh.region.shape == (mesh.n_triangles,)


def test_ribbons_follow_the_pose_and_can_be_ray_cast(face_model, grooms):
    import open3d as o3d

    g = grooms("crew")
    v = face_model.vertices(None, {"jawOpen": 0.5})
    mesh = build_ribbons(g, face_model, v, regions=("scalp_hair",))
    assert set(mesh.triangle_counts()) == {"scalp_hair"}
    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(o3d.core.Tensor(mesh.positions), o3d.core.Tensor(mesh.triangles.astype(np.uint32)))
    top = v[:, 1].max()
    rays = np.array([[0, top + 10, 0, 0, -1, 0]], np.float32)
    hit = scene.cast_rays(o3d.core.Tensor(rays))["t_hit"].numpy()
    assert np.isfinite(hit[0]) and hit[0] < 10.5  # the crown is covered by hair


def test_preview_renders(face_model, grooms, tmp_path):
    from assetgen.attach.hair.preview import preview_groom

    img = preview_groom(face_model, grooms("crew"), views=("front",), size=96, path=tmp_path / "p.png")
    assert img.shape == (96, 96, 3) and (tmp_path / "p.png").is_file()
    assert (img < 200).any()  # something was drawn


@pytest.mark.slow
def test_groom_grown_on_another_identity(face_model):
    """A groom can be grown on any rest shape; its bindings are relative to that shape."""
    rest = face_model.vertices(face_model.identity_weights(np.random.default_rng(11), truncation=2.0))
    params = sample_groom_params(np.random.default_rng(4), style="bob", beard_style="short")
    g = make_groom(face_model, params, np.random.default_rng(4), rest_vertices=rest)
    assert np.array_equal(g.rest_vertices, rest.astype(np.float32))
    for gr in g.groups:
        assert np.abs(gr.evaluate(rest) - gr.points).max() < 1e-4
    scene = _scene(head_geometry(face_model, rest), rest)
    pts = np.concatenate([gr.points[:, 1:].reshape(-1, 3) for gr in g.groups])
    assert (_signed_distance(scene, pts) < 0).mean() < 0.001


def test_big_batches_are_chunked(face_model, grooms, monkeypatch):
    from assetgen.attach import binding as binding_module

    b = grooms("crew").group("scalp_hair").binding.subset(slice(0, 3000))
    monkeypatch.setattr(binding_module, "BATCH_CHUNK", 2 * b.tri.size)  # two meshes per chunk
    verts = face_model.vertices(None, np.linspace(0, 1, 5)[:, None] * face_model.expression_weights({"jawOpen": 1.0})[None])
    out = b.evaluate(verts)
    assert out.shape == (len(verts), len(b), 3)
    assert np.abs(out[-1] - b.evaluate(verts[-1])).max() < 1e-5
