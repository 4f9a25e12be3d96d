"""Accessories and clothing (assetgen.attach.items): the seeded sampler and its compatibility rules, the fit
of every item to many identities and expressions (clearance measured on the posed closed skin, printed),
same seed -> same bytes, the ground truth (GL layers = ray casting of the exported GLB, FaceSynthetics
classes, clear lenses take the class behind, sunglasses hide the eyes' landmarks), exports, the library
round trip and `--where`, and the distribution keys realised at N = 1,000."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from assetgen.attach.items import (
    FRAMES,
    GARMENTS,
    OutfitParams,
    compatible_hair,
    item_labels,
    make_outfit,
    sample_outfit_params,
)
from assetgen.attach.items.fit import CLEARANCE
from assetgen.errors import ConfigError
from assetgen.face import labels as fs

SIZE = 128
# the expressions every item is checked under: the neutral, single extremes at full weight, combinations
EXPRESSIONS = (
    {}, {"jawOpen": 1.0}, {"mouthSmile_L": 1.0, "mouthSmile_R": 1.0}, {"browDown_L": 1.0, "browDown_R": 1.0},
    {"noseSneer_L": 1.0, "noseSneer_R": 1.0}, {"cheekSquint_L": 1.0, "cheekSquint_R": 1.0},
    {"eyeBlink_L": 1.0, "eyeBlink_R": 1.0}, {"eyeWide_L": 1.0, "eyeWide_R": 1.0, "browInnerUp_L": 1.0},
    {"jawOpen": 0.7, "mouthFunnel": 0.7, "cheekPuff_L": 0.7}, {"mouthLeft": 1.0, "mouthUpperUp_R": 1.0},
)


def _scene(geo, vertices):
    import open3d as o3d

    v, t = geo.capped(vertices)
    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(o3d.core.Tensor(np.ascontiguousarray(v, np.float32)), o3d.core.Tensor(t.astype(np.uint32)))
    return scene, np.asarray(v, np.float64), t


def signed_distance(geo, vertices, points) -> np.ndarray:
    """(n,) signed distance (cm, negative inside) of points to the closed skin of posed `vertices`."""
    import open3d as o3d

    scene, v, t = _scene(geo, vertices)
    res = scene.compute_closest_points(o3d.core.Tensor(np.asarray(points, np.float32)))
    dist = np.linalg.norm(np.asarray(points, np.float64) - res["points"].numpy(), axis=1)
    inside = scene.compute_occupancy(o3d.core.Tensor(np.asarray(points, np.float32)), nsamples=3).numpy() > 0.5
    return np.where(inside, -dist, dist)


# ---- sampling -------------------------------------------------------------------------------------------
def test_sampler_is_seeded_and_fixing_one_item_keeps_the_others():
    a = sample_outfit_params(np.random.default_rng(4))
    b = sample_outfit_params(np.random.default_rng(4))
    assert a == b and a.as_dict() == b.as_dict()
    c = sample_outfit_params(np.random.default_rng(4), glasses="aviator", lens="sunglasses", headwear="none")
    assert c.glasses.frame == "aviator" and c.glasses.lens == "sunglasses" and c.glasses.lens_alpha == 1.0
    assert c.clothing == a.clothing and c.facewear == a.facewear and c.swap == a.swap
    d = sample_outfit_params(np.random.default_rng(4), glasses="none", clothing="hoodie",
                             clothing_params={"thickness": 0.5})
    assert d.glasses is None and d.clothing.style == "hoodie" and d.clothing.thickness == 0.5
    for bad in (dict(glasses="monocle"), dict(lens="mirror"), dict(hat="x"),
                dict(glasses="any", glasses_params={"lens_width": 99}), dict(clothing_params={"sleeves": 2})):
        with pytest.raises(ConfigError):
            sample_outfit_params(np.random.default_rng(0), **bad)


def test_priors_are_realised_and_labels_name_the_variants():
    n = 2000
    worn = {k: 0 for k in ("glasses", "clothing", "headwear", "facewear")}
    for i in range(n):
        o = sample_outfit_params(np.random.default_rng([7, i]))
        lab = item_labels(o)
        for k in worn:
            worn[k] += lab[k] != "none"
        if o.glasses is not None:
            assert lab["glasses"] == o.glasses.lens and lab["glasses_frame"] == o.glasses.frame
    share = {k: v / n for k, v in worn.items()}
    print(f"worn shares over {n} independent draws: {share}")
    assert abs(share["glasses"] - 0.15) < 0.03 and abs(share["headwear"] - 0.15) < 0.03
    assert share["facewear"] < 0.03 and share["clothing"] == 1.0
    assert item_labels(None) == {"glasses": "none", "glasses_frame": "none", "clothing": "none",
                                 "headwear": "none", "facewear": "none", "earrings": "none", "piercings": "none"}


def test_compatibility_swaps_hair_that_does_not_fit():
    hat = OutfitParams(headwear={"kind": "helmet"}, swap=0.3)
    style, beard = compatible_hair(hat, "bun", "full")
    assert style != "bun" and style in ("buzz", "crew", "medium", "receding", "balding") and beard == "full"
    assert compatible_hair(hat, "crew", "none") == ("crew", "none")
    mask = OutfitParams(facewear={"kind": "surgical"}, swap=0.9)
    assert compatible_hair(mask, "coily", "full") == ("coily", "short")
    assert compatible_hair(OutfitParams(), "bun", "full") == ("bun", "full")


def test_distribution_keys_are_realised_within_two_percent():
    """The shipped items distribution over N = 1,000 batch positions: the targets' shares, and the outfits the
    recipe's items section then draws carry exactly those labels."""
    from assetgen.library.sample import (
        TargetSequence,
        item_overrides,
        load_distribution,
    )
    from assetgen.recipe import ItemsSpec, sample_items_params
    from assetgen.resources import find

    spec = load_distribution(find("distribution", "items"))
    assert spec.glasses == 0.15 and spec.headwear == 0.15 and spec.facewear == 0.01
    seq = TargetSequence(spec, seed=11)
    n = 1000
    got = {"glasses": 0, "headwear": 0, "facewear": 0}
    garments = {g: 0 for g in GARMENTS}
    for j in range(n):
        targets = {k: (v if isinstance(v, str) else bool(v)) for k, v in seq.targets(j).items()}
        items = ItemsSpec().model_copy(update=item_overrides(targets))
        lab = item_labels(sample_items_params(items, np.random.default_rng([3, j])))
        for k in got:
            assert (lab[k] != "none") == targets[k]
            got[k] += lab[k] != "none"
        assert lab["clothing"] == targets["clothing"]
        garments[lab["clothing"]] += 1
    print(f"realised at N = {n}: {got}, garments {garments}")
    for k, want in (("glasses", 0.15), ("headwear", 0.15), ("facewear", 0.01)):
        assert abs(got[k] / n - want) <= 0.02
    for g, want in spec.clothing.items():
        assert abs(garments[g] / n - want) <= 0.02


# ---- fitting -------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def identities(face_model):
    return face_model.identity_weights(np.random.default_rng(2026), n=200, truncation=2.5)


def _posed_heads(face_model, identity, deltas) -> tuple[np.ndarray, np.ndarray]:
    """The rest (V, 3) and posed (E, V, 3) float32 heads of one identity, summed as FaceModel.vertices sums
    them (neutral + identity modes + expression modes, float64); `deltas` (E, V, 3) the expression modes'
    sum per expression, shared by every identity (the model is linear), so it is blended once."""
    from assetgen.face.model import blend_modes

    base = face_model.neutral.astype(np.float64) + blend_modes(identity, face_model.identity_basis)
    return base.astype(np.float32), (base[None] + deltas).astype(np.float32)


def _signed(scene, points: np.ndarray) -> np.ndarray:
    import open3d as o3d

    q = o3d.core.Tensor(np.asarray(points, np.float32))
    dist = np.linalg.norm(points - scene.compute_closest_points(q)["points"].numpy(), axis=1)
    return np.where(scene.compute_occupancy(q, nsamples=3).numpy() > 0.5, -dist, dist)


CELL = 1.0  # cm: the grid that localizes the skin's motion for the clearance bounds
RINGS = (1, 2, 4, 8)  # cells: the neighbourhoods (Chebyshev half-widths) whose motion bounds a vertex


def _cell_pairs(points_lo, points_hi, origin, shape) -> tuple[np.ndarray, np.ndarray]:
    """(box ids, flat cell ids): every grid cell each bounding box (lo, hi) overlaps."""
    lo = np.floor((points_lo - origin) / CELL).astype(np.int64)
    hi = np.floor((points_hi - origin) / CELL).astype(np.int64)
    tri, cell = [], []
    span = hi - lo
    small = (span <= 2).all(1)
    for off in np.ndindex(3, 3, 3):  # the small ones together, offset by offset
        ok = small & (span >= off).all(1)
        tri.append(np.flatnonzero(ok))
        cell.append(np.ravel_multi_index((lo[ok] + off).T, shape))
    for t in np.flatnonzero(~small):  # a few large ones one by one
        box = np.stack(np.meshgrid(*[np.arange(a, b + 1) for a, b in zip(lo[t], hi[t])], indexing="ij"), -1)
        tri.append(np.full(box.size // 3, t))
        cell.append(np.ravel_multi_index(box.reshape(-1, 3).T, shape))
    return np.concatenate(tri), np.concatenate(cell)


def _clearances(geo, rest, poses, items, floors=None) -> list[np.ndarray]:
    """Per item, (E,) the least signed distance (cm) of its vertices to the closed skin of each posed head
    (E, V, 3), the items posed by their bindings (inf where a pose cannot beat the neutral, or the item's
    floor: the least already found elsewhere, which a caller keeping the least over many calls need not
    see beaten). A vertex need not be measured where a lower bound proves it: a vertex that moved by m
    and lay d0 off the neutral skin is, posed, at least min over skin triangles T of (its neutral distance
    to T - m - T's motion) away. The motion is localized on a grid of CELL cm: each triangle's motion goes
    to the cells its bounding box overlaps (a hole's cap: its fastest triangle's, over the cap's box); a triangle outside the n-cell neighbourhood of a vertex's cell
    lies >= n CELL from it, so with M_n the largest motion in that neighbourhood the bound is
    min(d0 - m - M_n1, n_i CELL - m - M_n(i+1), n_last CELL - m - the largest motion). Vertices are
    measured exactly (open3d, one scene per posed head serving every item), lowest bound first, until no
    unmeasured bound is below the least measured (or the neutral's least, or the floor), so the least
    clearance is exact; the neutral pose itself is the neutral's measurement."""
    from scipy import ndimage

    rest_c, tris = geo.capped(rest)
    rest_c = np.asarray(rest_c, np.float64)
    rest_pos = [it.evaluate(rest).astype(np.float64) for it in items]
    posed_pos = [it.evaluate(poses).astype(np.float64) for it in items]
    everything = np.concatenate([rest_c] + rest_pos)
    origin = everything.min(0) - CELL
    shape = tuple(np.floor((everything.max(0) - origin) / CELL).astype(np.int64) + 2)
    # boxes: each skin triangle's, and one per hole for all of its cap triangles (moving as its fastest)
    n_skin = len(geo.skin)
    hole = np.repeat(np.arange(len(geo.holes)), [len(h.edges) for h in geo.holes])
    corners = rest_c[tris]
    box_lo = np.concatenate([corners[:n_skin].min(1)] + [corners[n_skin:][hole == h].min((0, 1))[None]
                                                         for h in range(len(geo.holes))])
    box_hi = np.concatenate([corners[:n_skin].max(1)] + [corners[n_skin:][hole == h].max((0, 1))[None]
                                                         for h in range(len(geo.holes))])
    pair_box, pair_cell = _cell_pairs(box_lo, box_hi, origin, shape)
    cells = [np.ravel_multi_index(np.floor((p - origin) / CELL).astype(np.int64).T, shape) for p in rest_pos]
    scene0 = _scene(geo, rest)[0]
    d0 = [_signed(scene0, p) for p in rest_pos]
    out = [np.full(len(poses), np.inf) for _ in items]
    for k in range(len(poses)):
        tri_move = np.linalg.norm(np.asarray(geo.capped_vertices(poses[k]), np.float64) - rest_c, axis=1)[tris].max(1)
        m = [np.linalg.norm(posed_pos[j][k] - rest_pos[j], axis=1) for j in range(len(items))]
        if not tri_move.any() and not any(x.any() for x in m):  # the neutral pose: measured above
            for j in range(len(items)):
                out[j][k] = d0[j].min()
            continue
        grid = np.zeros(int(np.prod(shape)))
        cap_move = np.zeros(len(geo.holes))
        np.maximum.at(cap_move, hole, tri_move[n_skin:])
        np.maximum.at(grid, pair_cell, np.concatenate([tri_move[:n_skin], cap_move])[pair_box])
        grid = grid.reshape(shape)
        ring = [ndimage.maximum_filter(grid, size=2 * n + 1, mode="constant").reshape(-1) for n in RINGS]
        dmax = float(tri_move.max(initial=0.0))
        scene = None
        for j in range(len(items)):
            bound = d0[j] - ring[0][cells[j]]
            for i in range(1, len(RINGS)):
                bound = np.minimum(bound, RINGS[i - 1] * CELL - ring[i][cells[j]])
            bound = np.minimum(bound, RINGS[-1] * CELL - dmax) - m[j]
            # exact distances, lowest bounds first, until no unmeasured bound is below the least measured
            order = np.argsort(bound, kind="stable")
            ranked = bound[order]
            beat = min(out[j][0] if k else np.inf, np.inf if floors is None else floors[j])
            least, start = np.inf, 0
            while start < len(order) and ranked[start] < min(least, beat):
                stop = int(np.searchsorted(ranked, min(least, beat)))
                stop = max(start + 256, min(stop, 2 * start))
                if scene is None:
                    scene = _scene(geo, poses[k])[0]
                pts = np.unique(posed_pos[j][k][order[start:stop]], axis=0)
                least, start = min(least, float(_signed(scene, pts).min())), stop
            out[j][k] = least
    return out


def test_every_item_clears_the_posed_head_200_identities_x_10_expressions(face_model, identities):
    """The must-show fit check: 200 identities, each wearing glasses, a garment, headwear and a mask (the
    variants cycled so every one is worn by >= 33 identities), posed in 10 expressions (neutral, jaw open,
    smiles, sneers, blinks, combinations): every vertex of every item lies >= CLEARANCE (0.5 mm) outside the
    closed skin of the posed head (exact open3d signed distances); the glasses rest on the nose (pads
    0.5..2.5 mm off it) and their temples reach behind and down the ears. Prints the least clearance per
    kind and variant (and writes it to $ASSETGEN_TEST_ARTIFACTS/item_clearance.txt when set)."""
    import os
    from pathlib import Path

    from scipy.spatial import cKDTree

    from assetgen.attach.head import head_geometry
    from assetgen.attach.items import HATS, MASKS
    from assetgen.face.model import blend_modes

    geo = head_geometry(face_model)
    weights = np.stack([face_model.expression_weights(e) for e in EXPRESSIONS])
    deltas = blend_modes(weights, face_model.expression_basis)
    least, where, count = {}, {}, {}
    pads, temples = [], []
    ears = [np.unique(face_model.triangles[np.asarray(face_model.triangle_region) == face_model.region_names.index(r)])
            for r in ("ear_left", "ear_right")]
    for i, w in enumerate(identities):
        params = sample_outfit_params(np.random.default_rng([5, i]), glasses=FRAMES[i % len(FRAMES)],
                                      clothing=GARMENTS[i % len(GARMENTS)], headwear=HATS[(i // 2) % len(HATS)],
                                      facewear=MASKS[(i // 3) % len(MASKS)], earrings="none", piercings="none")
        outfit = make_outfit(face_model, params, np.random.default_rng(i), identity=w)  # jewellery: its own test
        assert outfit.kinds == ("glasses", "clothing", "headwear", "facewear")
        rest, poses = _posed_heads(face_model, w, deltas)
        if i == 0:  # the shortcut sums what the model sums
            assert np.array_equal(poses, face_model.vertices(np.tile(w, (len(EXPRESSIONS), 1)), weights))
            assert np.array_equal(rest, face_model.vertices(w))
        floors = [least.get((it.kind, it.variant), np.inf) for it in outfit.items]
        for it, c in zip(outfit.items, _clearances(geo, rest, poses, outfit.items, floors)):
            key = (it.kind, it.variant)
            count[key] = count.get(key, 0) + 1
            if c.min() < least.get(key, np.inf):
                least[key], where[key] = float(c.min()), (i, int(np.argmin(c)))
        glasses = outfit.item("glasses")
        pos = glasses.evaluate(rest)
        pad = np.unique(glasses.mesh.triangles[glasses.mesh.part == glasses.mesh.parts.index("pads")])
        pads.append(float(signed_distance(geo, rest, pos[pad]).min()))
        for ear in ears:
            q = rest[ear]
            top = q[np.argmax(q[:, 1])]
            mine = pos[np.sign(pos[:, 0]) == np.sign(top[0])]
            temples.append(float(cKDTree(q).query(mine)[0].min()))
            assert mine[:, 2].min() < top[2] - 0.5 and mine[:, 1].min() < top[1] - 1.0  # behind and down
    head = (f"least clearance of every item vertex to the posed closed skin, {len(identities)} identities x "
            f"{len(EXPRESSIONS)} expressions (tolerance >= {CLEARANCE * 10:.1f} mm for every kind)")
    lines = [head,
             f"{'kind':<10} {'variant':<14} {'identities':>10} {'least mm':>9}  at (identity, expression)"]
    for key in sorted(least):
        lines.append(f"{key[0]:<10} {key[1]:<14} {count[key]:>10} {least[key] * 10:>9.3f}  {where[key]}")
    lines.append(f"glasses pads to the nose at rest: {min(pads) * 10:.2f}..{max(pads) * 10:.2f} mm; temples to the "
                 f"ears: {min(temples) * 10:.2f}..{max(temples) * 10:.2f} mm")
    table = "\n".join(lines)
    print("\n" + table)
    if os.environ.get("ASSETGEN_TEST_ARTIFACTS"):
        folder = Path(os.environ["ASSETGEN_TEST_ARTIFACTS"])
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "item_clearance.txt").write_text(table + "\n")
    assert {k for k, _ in least} == {"glasses", "clothing", "headwear", "facewear"}
    assert {v for k, v in least if k == "glasses"} == set(FRAMES)
    assert {v for k, v in least if k == "clothing"} == set(GARMENTS)
    assert {v for k, v in least if k == "headwear"} == set(HATS)
    assert {v for k, v in least if k == "facewear"} == set(MASKS)
    bad = {k: round(v * 10, 3) for k, v in least.items() if v < CLEARANCE - 1e-4}
    assert not bad, f"items closer than {CLEARANCE * 10} mm to the posed head: {bad}"
    assert max(pads) <= 0.25 and min(pads) >= CLEARANCE - 1e-4
    assert max(temples) <= 0.7


def test_headscarf_under_the_chin_clears_the_open_jaw(face_model, identities):
    """A headscarf's vertices under the chin hang off the jaw's ray hit; bound there, their offsets turn into
    the neck when the jaw opens (identity 138 ended 14 mm inside). Exact posed vertices of the identities
    with the closest scarves, in the jaw-open expressions, all clear the posed closed skin."""
    from assetgen.attach.head import head_geometry
    from assetgen.attach.items import HATS, MASKS

    geo = head_geometry(face_model)
    jaw = [e for e in EXPRESSIONS if "jawOpen" in e]
    for i in (79, 138, 150):
        w = identities[i]
        params = sample_outfit_params(np.random.default_rng([5, i]), glasses=FRAMES[i % len(FRAMES)],
                                      clothing=GARMENTS[i % len(GARMENTS)], headwear="headscarf",
                                      facewear=MASKS[(i // 3) % len(MASKS)], earrings="none", piercings="none")
        assert params.headwear.kind == "headscarf" and HATS[(i // 2) % len(HATS)] == "headscarf"
        scarf = make_outfit(face_model, params, np.random.default_rng(i), identity=w).item("headwear")
        for e in jaw:
            posed = face_model.vertices(w, e)
            least = float(signed_distance(geo, posed, scarf.evaluate(posed)).min())
            assert least >= CLEARANCE - 1e-4, (i, e, round(least * 10, 3))


def test_vector_helpers_are_numpys_arithmetic():
    """The fitters' cross and norm give np.cross's and np.linalg.norm's bytes (outfits keep their digests)."""
    from assetgen.attach.vectors import cross, norm

    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(257, 3)), rng.normal(size=(257, 3))
    for x, y in ((a, b), (a[0], b[0]), (a, b[0]), (a.astype(np.float32), b.astype(np.float32)), (a[:5], [0.0, 1.0, 0.0])):
        assert cross(x, y).tobytes() == np.cross(x, y).tobytes()
        assert cross(x, y).dtype == np.cross(x, y).dtype
    for x, kw in ((a, {"axis": 1}), (a, {"axis": -1, "keepdims": True}), (a.astype(np.float32), {"axis": 1}),
                  (np.arange(12).reshape(4, 3), {"axis": 1})):
        assert norm(x, **kw).tobytes() == np.linalg.norm(x, **kw).tobytes()


def test_anchor_frames_move_points_as_their_binding_does(face_model):
    """AnchorFrames.motion (the fitters' envelope and exact-pose motions of soft items) is what the item's
    Binding does to the same points: under an exact pose and under envelope poses, and one anchor carrying
    many points (jewellery)."""
    from assetgen.attach.binding import bind_at
    from assetgen.attach.items.fit import AnchorFrames, FitContext

    ctx = FitContext(face_model, face_model.neutral)
    rng = np.random.default_rng(4)
    tri = rng.choice(ctx.geo.skin, 300)
    tri = np.concatenate([tri, tri[:40]])  # shared anchors
    bary = rng.dirichlet(np.ones(3), len(tri))
    bary[300:] = bary[:40]
    corners = ctx.rest[ctx.triangles[tri]]
    points = np.einsum("nc,nci->ni", bary, corners) + ctx.binding_normals[ctx.triangles[tri, 0]] * 0.6
    points += rng.normal(0, 0.2, points.shape)
    binding = bind_at(ctx.rest, ctx.triangles, points, tri, bary, "smooth", ctx.binding_normals)
    frames = AnchorFrames(ctx, tri, bary)
    assert len(frames.bary) == 300
    posed = ctx.posed_at({"jawOpen": 1.0, "mouthSmile_L": 1.0})
    want = binding.evaluate(posed).astype(np.float64) - points
    got = frames.motion(points, posed[None])[0]
    assert np.abs(want).max() > 0.5 and np.abs(got - want).max() < 1e-4
    env = frames.motion(points)
    assert env.shape == (len(ctx.deltas), len(points), 3)
    for k in (0, len(ctx.deltas) // 2, len(ctx.deltas) - 1):
        v = ctx.rest.astype(np.float32) + ctx.deltas[k]
        assert np.abs(env[k] - (binding.evaluate(v).astype(np.float64) - points)).max() < 1e-4
    one = AnchorFrames(ctx, tri[:1], bary[:1])
    cloud = points[0] + rng.normal(0, 0.3, (20, 3))
    each = np.stack([AnchorFrames(ctx, tri[:1], bary[:1]).motion(c[None], posed[None])[0, 0] for c in cloud])
    assert np.array_equal(one.motion(cloud, posed[None])[0], each)


def test_screened_closest_is_exact_where_it_matters_and_certifies_the_rest(face_model):
    """fit.screened_closest (the exact-pose checks' distances): every point it leaves unqueried lies outside
    and at least `floor` from the closed skin (checked against a plain query of every point); every queried
    point's answer is the plain one; and most points far from the skin are not queried."""
    import open3d as o3d

    from assetgen.attach.items.fit import FitContext, screened_closest

    ctx = FitContext(face_model, face_model.neutral)
    scene = ctx.pose_scene({"jawOpen": 1.0})
    # a dense garment-like sheet: every skin vertex moved along its normal by -0.3 (inside) to 2.5 cm
    sv = np.unique(ctx.triangles[ctx.geo.skin])
    y = ctx.rest_head[sv, 1]
    offset = -0.3 + 2.8 * (y - y.min()) / np.ptp(y)
    x = ctx.rest[sv] + ctx.binding_normals[sv] * offset[:, None]
    floor = 0.15
    delta, inside, exact = screened_closest(scene, x, floor)
    q = o3d.core.Tensor(x.astype(np.float32))
    true_delta = x - scene.compute_closest_points(q)["points"].numpy().astype(np.float64)
    true_inside = scene.compute_occupancy(q, nsamples=3).numpy() > 0.5
    signed = np.where(true_inside, -1.0, 1.0) * np.linalg.norm(true_delta, axis=1)
    assert np.array_equal(delta[exact], true_delta[exact]) and np.array_equal(inside[exact], true_inside[exact])
    assert (signed[~exact] >= floor).all()
    assert (signed < floor).sum() > 200 and exact[signed < floor].all()
    far = signed > 2.0
    print(f"screened_closest: {exact.sum()} of {len(x)} points queried; {exact[far].mean():.2f} of those "
          f"over 2 cm away")
    assert far.sum() > 500 and exact[far].mean() < 0.4


def test_same_seed_same_outfit_bytes(face_model, identities):
    params = sample_outfit_params(np.random.default_rng(8), glasses="cat_eye", clothing="collared")
    a = make_outfit(face_model, params, np.random.default_rng(1), identity=identities[3])
    b = make_outfit(face_model, params, np.random.default_rng(1), identity=identities[3])
    assert a.digest() == b.digest()
    for x, y in zip(a.items, b.items):
        assert x.mesh.positions.tobytes() == y.mesh.positions.tobytes()
    c = make_outfit(face_model, params, np.random.default_rng(1), identity=identities[4])
    assert c.digest() != a.digest()
    seconds = a.info["seconds"]
    assert set(seconds) >= {"glasses", "clothing", "total"}


# ---- assets: ground truth, exports, library --------------------------------------------------------------------
@pytest.fixture(scope="module")
def dressed(asset, face_model):
    """The shared test asset wearing clear rectangular glasses and a crew neck; and one with sunglasses."""
    out = {}
    for lens in ("clear", "sunglasses"):
        params = sample_outfit_params(np.random.default_rng(2), glasses="rectangular", lens=lens,
                                      clothing="crew_neck", headwear="none", facewear="none")
        a = copy.copy(asset)
        a.items = make_outfit(face_model, params, np.random.default_rng(2), identity=asset.identity_weights)
        a.labels = {**asset.labels, **item_labels(params)}
        out[lens] = a
    return out


def _cameras(mesh):
    from assetgen.render import Camera, intrinsics, look_at

    lo, hi = mesh.bounds()
    c = (lo + hi) / 2 + np.array([0, 0.03, 0])
    return [Camera(intrinsics(SIZE, SIZE, 230.0), look_at(c + [0.0, 0.0, 0.6], c), (SIZE, SIZE)),
            Camera(intrinsics(SIZE, SIZE, 230.0), look_at(c + [0.4, 0.05, 0.4], c), (SIZE, SIZE)),
            Camera(intrinsics(SIZE, SIZE, 200.0), look_at(c + [-0.5, 0.1, -0.2], c), (SIZE, SIZE))]


def test_item_primitives_and_regions(dressed):
    from assetgen.render import mesh_from_asset

    mesh = mesh_from_asset(dressed["clear"])
    names = [p.material for p in mesh.primitives]
    assert names[-5:] == ["Item_glasses_frame", "Item_glasses_lenses", "Item_glasses_pads", "Item_clothing_body",
                          "Item_clothing_trim"]
    assert mesh.regions[-2:] == ("glasses", "clothing")
    lens = mesh.material("Item_glasses_lenses")
    assert lens.alpha_mode == "BLEND" and lens.base_color.shape[2] == 4
    assert mesh_from_asset(dressed["sunglasses"]).material("Item_glasses_lenses").alpha_mode == "OPAQUE"
    for p in mesh.primitives[-5:]:
        assert set(np.unique(p.regions)) == {mesh.regions.index("clothing" if "clothing" in p.material else "glasses")}
        assert np.abs(p.positions).max() < 1.0 and np.allclose(np.linalg.norm(p.normals, axis=1), 1, atol=1e-3)


def test_gt_layers_match_ray_casting_and_classes_occur(dressed):
    """GL depth and segmentation = ray casting (open3d) at >= 99.9 % of the non-fragile pixels, item pixels
    included; FaceSynthetics CLOTHING (15) and GLASSES (16) occur; a clear lens's pixels take the class
    behind it (the eyes), sunglasses are GLASSES and hide the eye landmarks."""
    from assetgen.render import Renderer
    from assetgen.render.raycast import Raycaster
    from tests.test_render import reference

    report = []
    for lens, a in dressed.items():
        r = Renderer(a)
        try:
            rc = Raycaster(r.mesh)
            item_ids = [r.mesh.regions.index(n) for n in ("glasses", "clothing")]
            for k, cam in enumerate(_cameras(r.mesh)):
                res = r.render(cam, ["depth", "segmentation", "landmarks"])
                z, reg, fragile = reference(rc, cam)
                ok = ~fragile
                same = (res.segmentation == reg) & (np.isfinite(res.depth) == np.isfinite(z))
                both = np.isfinite(z) & np.isfinite(res.depth)
                same &= ~both | (np.abs(np.where(both, res.depth, 0) - np.where(both, z, 0)) < 1e-4)
                items = ok & np.isin(reg, item_ids)
                report.append((lens, k, round(float(same[ok].mean()), 5), int(items.sum())))
                assert same[ok].mean() >= 0.999 and same[items].mean() >= 0.999, report
                classes = set(np.unique(fs.facesynthetics_labels(res.segmentation, res.regions)).tolist())
                if k == 0:
                    assert {fs.CLOTHING, fs.GLASSES} <= classes
                    eyes = fs.facesynthetics_labels(res.segmentation, res.regions)
                    eye_px = np.isin(eyes, (fs.LEFT_EYE, fs.RIGHT_EYE)).sum()
                    eye_lm = res.landmarks["visible"][36:48]
                    if lens == "clear":
                        assert eye_px > 20 and eye_lm.sum() >= 10
                    else:
                        assert eye_px == 0 and not eye_lm.any()
        finally:
            r.release()
    print(f"agreement (lens, view, share, item pixels): {report}")


def test_glb_is_validator_clean_and_reads_back(dressed, tmp_path):
    from assetgen.export.asset_files import write_asset
    from assetgen.export.validate import ValidatorUnavailable, validate_glb
    from assetgen.render import Renderer, read_glb

    a = dressed["clear"]
    w = write_asset(a, tmp_path)
    (tmp_path / "again").mkdir()
    again = write_asset(a, tmp_path / "again")
    assert w.glb.read_bytes() == again.glb.read_bytes() and w.ground_truth.read_bytes() == again.ground_truth.read_bytes()
    try:
        report = validate_glb(w.glb)
    except ValidatorUnavailable as exc:
        pytest.fail(f"glTF validator not installed ({exc})")
    assert report["numErrors"] == 0 and report["numWarnings"] == 0, report["messages"][:5]
    gt = json.loads(w.ground_truth.read_text())
    assert gt["regions"][-2:] == ["glasses", "clothing"]
    assert gt["facesynthetics"]["region_class"]["glasses"] == fs.GLASSES
    assert gt["facesynthetics"]["region_class"]["clothing"] == fs.CLOTHING
    n_face = len(gt["primitives"]) - 5
    assert gt["items"]["primitives"] == list(range(n_face, n_face + 5))
    assert gt["items"]["materials"]["Item_glasses_lenses"]["alpha_mode"] == "BLEND"
    assert sum(gt["items"]["triangles"].values()) == sum(
        1 for r in gt["triangle_regions"] if r in ("glasses", "clothing"))
    mesh = read_glb(w.glb)
    r1, r2 = Renderer(a), Renderer(mesh)
    try:
        assert mesh.regions == r1.mesh.regions
        for cam in _cameras(mesh)[:2]:
            x, y = r1.render(cam, ["depth", "segmentation", "albedo", "landmarks"]), r2.render(
                cam, ["depth", "segmentation", "albedo", "landmarks"])
            for layer in ("segmentation", "depth", "albedo"):
                assert np.array_equal(getattr(x, layer), getattr(y, layer)), layer
            assert np.array_equal(x.landmarks["visible"], y.landmarks["visible"])
    finally:
        r1.release()
        r2.release()


def test_usd_and_obj_carry_the_items(dressed, tmp_path):
    from assetgen.export.formats import FORMATS

    a = dressed["sunglasses"]
    (tmp_path / "obj").mkdir()
    files = FORMATS["obj"](a, tmp_path / "obj", "s")
    obj = next(f for f in files if f.suffix == ".obj").read_text()
    for part in ("Item_glasses_frame", "Item_glasses_lenses", "Item_clothing_body"):
        assert f"g {part}\n" in obj
    gt = json.loads(next(f for f in files if f.name.endswith(".gt.json")).read_text())
    assert gt["regions"][-2:] == ["glasses", "clothing"] and gt["items"]["primitives"]
    pytest.importorskip("pxr")
    from pxr import Usd, UsdGeom

    (tmp_path / "usd").mkdir()
    files = FORMATS["usda"](a, tmp_path / "usd", "s")
    stage = Usd.Stage.Open(str(files[0]))
    meshes = [p for p in stage.Traverse() if p.GetPath().pathString.startswith("/t/Items/")]
    assert {p.GetName() for p in meshes} >= {"Item_glasses_frame", "Item_glasses_lenses", "Item_clothing_body"}
    lens = UsdGeom.Mesh(stage.GetPrimAtPath("/t/Items/Item_glasses_lenses"))
    assert len(lens.GetPointsAttr().Get()) > 0
    assert UsdGeom.PrimvarsAPI(lens).GetPrimvar("assetgen:region").Get() == "glasses"


def test_library_round_trip_check_and_where(dressed, tmp_path, monkeypatch, capsys):
    from assetgen.cli import main
    from assetgen.library import Library

    root = tmp_path / "lib"
    with Library.open(root, create=True) as lib:
        ids = {lens: lib.put(a).id for lens, a in dressed.items()}
        back = lib.load(ids["sunglasses"], model=dressed["sunglasses"].model)
        assert back.items.digest() == dressed["sunglasses"].items.digest()
        assert lib.check() == []
    assert main(["library", "ls", "--library", str(root), "--where", "glasses=sunglasses"]) == 0
    out = capsys.readouterr().out
    assert ids["sunglasses"][:8] in out and ids["clear"][:8] not in out


def test_recipe_items_section_and_assets_without_items_unchanged(face_model, layout64):
    from assetgen.generate import AssetRequest, make_asset
    from assetgen.recipe import Recipe, recipe_from_dict

    r = recipe_from_dict({"items": {"glasses": "round", "lens": "tinted", "clothing": "turtleneck",
                                    "headwear": "none", "facewear": "none"}})
    assert "items" not in Recipe().as_dict() and r.as_dict()["items"]["glasses"] == "round"
    with pytest.raises(ConfigError, match="glasses"):
        recipe_from_dict({"items": {"glasses": "monocle"}})
    with pytest.raises(ConfigError, match="lens_size"):
        recipe_from_dict({"items": {"glasses_params": {"lens_size": 3}}})
    plain = make_asset(face_model, layout64, AssetRequest("p", 5, Recipe()))
    dressed = make_asset(face_model, layout64, AssetRequest("p", 5, r))
    assert np.array_equal(plain.vertices, dressed.vertices) and plain.items is None
    assert plain.provenance["streams"] == ["identity", "expression", "texture"]
    assert dressed.provenance["streams"] == ["identity", "expression", "texture", "items"]
    assert dressed.labels["glasses"] == "tinted" and dressed.labels["glasses_frame"] == "round"
    assert dressed.labels["clothing"] == "turtleneck" and dressed.items.kinds == ("glasses", "clothing")
    assert dressed.provenance["items"]["digest"] == dressed.items.digest()
    assert {k: v for k, v in dressed.labels.items() if k not in item_labels(None)} == plain.labels


def test_masks_are_smooth_sheets(face_model, identities):
    """Every mask kind over 16 identities: the clearance pushes (envelope and exact jaw-open) leave no spike
    or dent in the outer sheet: its discrete Laplacian (a grid point against the mean of its 4 neighbours)
    stays under 7 mm (pushing single vertices gave 7.5 to 11 mm at the lips and the chin)."""
    from assetgen.attach.items import MASKS
    from assetgen.attach.items.facewear import GRID

    R, C = GRID
    worst = {}
    for i, w in enumerate(identities[:16]):
        params = sample_outfit_params(np.random.default_rng([9, i]), glasses="none", clothing="none",
                                      headwear="none", facewear=MASKS[i % len(MASKS)])
        item = make_outfit(face_model, params, np.random.default_rng(i), identity=w).item("facewear")
        g = item.mesh.positions[:R * C].reshape(R, C, 3).astype(np.float64)
        lap = g[1:-1, 1:-1] - 0.25 * (g[:-2, 1:-1] + g[2:, 1:-1] + g[1:-1, :-2] + g[1:-1, 2:])
        worst[item.variant] = max(worst.get(item.variant, 0.0), float(np.linalg.norm(lap, axis=-1).max()))
    print("masks, largest Laplacian of the outer sheet (mm): " + ", ".join(f"{k} {v * 10:.2f}" for k, v in worst.items()))
    assert set(worst) == set(MASKS)
    assert max(worst.values()) < 0.7


def test_preview_draws_the_items(dressed):
    """render_front (the demo's contact sheet, the app's preview) draws the worn items: the garment and the
    sunglasses change the picture, and the dark lenses darken the eyes."""
    from assetgen.preview import render_front

    worn = dressed["sunglasses"]
    bare = copy.copy(worn)
    bare.items = None
    a = render_front(worn, size=128).astype(np.int32)
    b = render_front(bare, size=128).astype(np.int32)
    changed = np.abs(a - b).sum(-1) > 30
    print(f"preview pixels changed by the items: {changed.mean():.3f}")
    assert changed.mean() > 0.05
    eyes = changed[40:70, 30:98]
    assert eyes.mean() > 0.2 and a[40:70, 30:98][eyes].mean() < b[40:70, 30:98][eyes].mean()


def test_hair_under_headwear_and_masks_never_pokes_through(face_model, layout64):
    """Subjects with hair and a hat (and a mask over a beard): styles that do not fit are swapped, and no
    remaining strand segment crosses the posed item (ray casts along every segment)."""
    import open3d as o3d

    from assetgen.demo import default_recipe_path
    from assetgen.generate import AssetRequest, make_asset
    from assetgen.recipe import ItemsSpec, load_recipe

    base = load_recipe(default_recipe_path())
    report = []
    for i, (hat, style, mask, beard) in enumerate((("beanie", "long_straight", "none", "none"),
                                                   ("helmet", "bun", "none", "none"),
                                                   ("brimmed_hat", "medium", "surgical", "full"),
                                                   ("headscarf", "curly", "kn95", "goatee"),
                                                   ("baseball_cap", "ponytail", "none", "none"))):
        recipe = base.model_copy(update={
            "items": ItemsSpec(headwear=hat, facewear=mask, glasses="none"),
            "hair": base.hair.model_copy(update={"style": style, "beard_style": beard})})
        a = make_asset(face_model, layout64, AssetRequest(f"h{i}", 300 + i, recipe))
        if hat in ("helmet", "headscarf"):
            assert a.labels["hair_style"] != style  # swapped for one that fits
        if mask != "none":
            assert a.labels["beard_style"] in ("none", "stubble", "moustache", "short")
        strands = a.groom.evaluate(a.vertices)
        for it in a.items.items:
            if it.kind not in ("headwear", "facewear"):
                continue
            pos = it.evaluate(a.vertices)
            scene = o3d.t.geometry.RaycastingScene()
            scene.add_triangles(o3d.core.Tensor(pos.astype(np.float32)),
                                o3d.core.Tensor(it.mesh.triangles.astype(np.uint32)))
            regions = ("scalp_hair",) if it.kind == "headwear" else ("beard", "moustache")
            for region in regions:
                if region not in strands:
                    continue
                s = strands[region].astype(np.float64)
                o, d = s[:, :-1].reshape(-1, 3), np.diff(s, axis=1).reshape(-1, 3)
                length = np.linalg.norm(d, axis=1)
                ok = length > 1e-6
                rays = np.concatenate([o[ok], d[ok] / length[ok, None]], 1).astype(np.float32)
                t = scene.cast_rays(o3d.core.Tensor(rays))["t_hit"].numpy()
                crossing = (t < length[ok]).reshape(-1) if ok.all() else (t < length[ok])
                hit_strands = len(np.unique(np.flatnonzero(ok)[crossing] // (s.shape[1] - 1)))
                report.append((hat if it.kind == "headwear" else mask, region, len(s), hit_strands,
                               a.groom.info.get("clipped", {}).get(region, 0)))
    print(f"(item, region, strands kept, strands crossing the item, strands dropped): {report}")
    for item, region, kept, crossing, dropped in report:
        assert crossing == 0, (item, region, crossing, kept)


def test_headwear_and_mask_classes_and_landmarks_under_the_mask(asset, face_model):
    """A subject with a beanie and a surgical mask: HEADWEAR (17) and FACEWEAR (18) occur, GL layers = ray
    casting, the mouth's landmarks are hidden by the mask and the eyes' are not."""
    from assetgen.render import Renderer
    from assetgen.render.raycast import Raycaster
    from tests.test_render import reference

    params = sample_outfit_params(np.random.default_rng(3), glasses="none", clothing="hoodie", headwear="beanie",
                                  facewear="surgical")
    a = copy.copy(asset)
    a.items = make_outfit(face_model, params, np.random.default_rng(3), identity=asset.identity_weights)
    r = Renderer(a)
    try:
        cam = _cameras(r.mesh)[0]
        res = r.render(cam, ["depth", "segmentation", "landmarks"])
        _, reg, fragile = reference(Raycaster(r.mesh), cam)
        assert (res.segmentation == reg)[~fragile].mean() >= 0.999
        classes = set(np.unique(fs.facesynthetics_labels(res.segmentation, res.regions)).tolist())
        assert {fs.CLOTHING, fs.HEADWEAR, fs.FACEWEAR} <= classes and fs.TOP_LIP not in classes
        visible = res.landmarks["visible"]
        assert not visible[48:68].any() and visible[36:48].sum() >= 10
    finally:
        r.release()
