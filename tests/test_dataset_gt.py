"""`assetgen dataset` phase-2 ground truth: the gaze (eyeballs turned about their centres, lids following,
the per-eye record), the 2D-contour landmarks (jaw points on the silhouette when the head is turned), the
dense landmarks, the albedo layer, and that same seed, shards, resume and validate hold with them."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from assetgen.dataset import job_from_dict, run_dataset
from assetgen.errors import ConfigError

# A camera straight in front of the eyes (aimed 3.5 cm above the landmarks' centre), the face filling the image.
FRONT = {"yaw": {"limit": 0}, "pitch": {"limit": 0}, "roll": {"limit": 0}, "principal_point_jitter": 0,
         "distance_m": [0.35, 0.35], "focal_mm": [150, 150], "supersample": 1, "target_offset_m": [0, 0.035, 0]}
NEUTRAL = {"neutral": 1.0, "preset": 0.0, "random": 0.0}
BASE = {"name": "g", "count": 4, "seed": 11, "resolution": 96, "images_per_subject": 2,
        "subjects": {"recipe": "demo", "texture_resolution": 64, "hair": False}, "camera": {"supersample": 1},
        "layers": ["regions", "albedo", "dense"], "dense_landmarks": {"count": 300}}


def job(**over):
    data = json.loads(json.dumps(BASE))
    data.update(over)
    return job_from_dict(data, source="job.yaml")


def record(folder: Path, i: int) -> dict:
    return json.loads((folder / f"{i:06d}.json").read_text())


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def regions(folder: Path, i: int) -> tuple[np.ndarray, list]:
    from PIL import Image

    with Image.open(folder / f"{i:06d}_regions.png") as im:
        return np.asarray(im), record(folder, i)["regions"]


@pytest.fixture(scope="module")
def whole(tmp_path_factory, face_model):
    out = tmp_path_factory.mktemp("gt-whole")
    result = run_dataset(job(), out)
    assert result.complete and result.made == [0, 1, 2, 3]
    return out


@pytest.fixture(scope="module")
def gaze_grid(tmp_path_factory, face_model):
    """A front camera on a neutral face, the eyes swept over yaw x pitch (far target: nearly parallel)."""
    out = tmp_path_factory.mktemp("gaze-grid")
    spec = job(count=9, resolution=128, camera=FRONT, expression=NEUTRAL, images_per_subject=None, layers=["regions"],
               gaze={"distance_m": [100, 100], "at_camera": 0},
               sweep={"gaze_yaw": [-20, 0, 20], "gaze_pitch": [-12, 0, 12]})
    run_dataset(spec, out)
    return out


# ---- gaze: geometry ----------------------------------------------------------------------------------

def test_rest_gaze_leaves_the_vertices_byte_for_byte(face_model):
    from assetgen.face import gaze

    v = face_model.vertices(face_model.identity_weights(np.random.default_rng(1)))
    assert gaze.apply_gaze(face_model, v, gaze.Gaze()) is v
    assert gaze.lid_weights(face_model, v, gaze.Gaze()) == {}
    turned = gaze.apply_gaze(face_model, v, gaze.Gaze(20.0, -10.0, 50.0))
    changed = np.flatnonzero(np.any(turned != v, axis=1))
    eyeball = np.concatenate([e.eyeball for e in gaze.eyes(face_model)])
    assert len(changed) and set(changed) <= set(eyeball)  # only the eyeballs move...
    for e in gaze.eyes(face_model):  # ...rigidly about their centres
        c = e.centre(v)
        before = np.linalg.norm(v[e.eyeball].astype(np.float64) - c, axis=1)
        after = np.linalg.norm(turned[e.eyeball].astype(np.float64) - c, axis=1)
        assert np.allclose(before, after, atol=1e-4)


def test_a_rest_gaze_image_is_the_image_without_gaze(tmp_path, face_model):
    """Gaze 0 (straight ahead, parallel eyes) renders the bytes of a job without gaze."""
    from dataclasses import replace

    from assetgen.dataset.gt import pose
    from assetgen.dataset.sampling import GazeDraw, Sampler
    from assetgen.dataset.subjects import Subjects
    from assetgen.render.mesh import mesh_from_asset
    from assetgen.render.renderer import Renderer

    spec = job(count=1, camera=FRONT)
    params = Sampler(spec, face_model).params(0)
    subject = Subjects(spec, face_model).get(0)
    camera = params.camera(subject.target, 96)
    without, _ = pose(subject, face_model, replace(params, gaze=None), camera, None)
    rest, posed = pose(subject, face_model, replace(params, gaze=GazeDraw()), camera, spec.spec.gaze)
    assert posed.gaze.is_rest and posed.lids == {}
    assert without.vertices.tobytes() == rest.vertices.tobytes() == subject.posed(face_model, params.expression.weights).vertices.tobytes()
    images = []
    for asset in (without, rest):
        r = Renderer(mesh_from_asset(asset))
        images.append(r.render(camera, ("rgb", "segmentation"), supersample=1))
        r.release()
    assert images[0].rgb.tobytes() == images[1].rgb.tobytes()


def _iris_centroids(folder: Path, i: int) -> np.ndarray:
    reg, names = regions(folder, i)
    out = []
    for side in ("right", "left"):
        ys, xs = np.nonzero(reg == names.index(f"iris_{side}"))
        assert len(xs) > 5, f"image {i}: the {side} iris is not seen"
        out.append((xs.mean(), ys.mean()))
    return np.array(out)


def test_the_rendered_iris_and_the_pupils_follow_the_gaze(gaze_grid):
    # cells: gaze_yaw [-20, 0, 20] x gaze_pitch [-12, 0, 12]; a front camera sees the subject's left (+x) on the
    # image's right and up as up.
    centroids = {i: _iris_centroids(gaze_grid, i) for i in range(9)}
    pupils = {i: np.array(record(gaze_grid, i)["landmarks"]["pixels"][68:]) for i in range(9)}
    for pitch_cell in range(3):
        left, mid, right = (3 * y + pitch_cell for y in range(3))
        for pts in (centroids, pupils):
            assert np.all(pts[left][:, 0] < pts[mid][:, 0] - 1) and np.all(pts[mid][:, 0] < pts[right][:, 0] - 1)
    for yaw_cell in range(3):
        down, mid, up = (3 * yaw_cell + p for p in range(3))
        for pts in (centroids, pupils):
            assert np.all(pts[down][:, 1] > pts[mid][:, 1] + 0.5) and np.all(pts[mid][:, 1] > pts[up][:, 1] + 0.5)


def test_the_gaze_record_matches_the_geometry(gaze_grid):
    for i in range(9):
        rec = record(gaze_grid, i)
        g = rec["gaze"]
        sweep = rec["sweep"]
        assert g["kind"] == "sweep" and g["head_frame"]["yaw_deg"] == sweep["gaze_yaw"]
        K = np.array(rec["camera"]["K"])
        for k, (side, eye) in enumerate(sorted(g["eyes"].items(), key=lambda kv: kv[0] != "right")):
            centre = np.array(eye["eyeball_centre"]["camera"])
            pupil = np.array(eye["pupil_centre"]["camera"])
            assert np.allclose(pupil, rec["landmarks"]["camera"][68 + k])  # the pupil landmark is the eye's
            optical = np.array(eye["optical_axis"]["camera"])
            assert np.allclose(optical, (pupil - centre) / np.linalg.norm(pupil - centre), atol=1e-9)
            sight = np.array(eye["line_of_sight"]["camera"])
            assert abs(np.linalg.norm(sight) - 1) < 1e-9
            # The front camera's axes are the head's with y and z flipped: the angles carry over, yaw mirrored.
            assert eye["line_of_sight"]["yaw_deg"] == pytest.approx(-sweep["gaze_yaw"], abs=0.2)
            assert eye["line_of_sight"]["pitch_deg"] == pytest.approx(sweep["gaze_pitch"], abs=0.2)
            assert math.degrees(math.asin(-sight[1])) == pytest.approx(eye["line_of_sight"]["pitch_deg"])
            # pixels are the camera points projected; the iris contour rings the pupil
            px = (K @ centre)[:2] / centre[2]
            assert np.allclose(px, eye["eyeball_centre"]["pixels"])
            iris = np.array(eye["iris_contour"]["camera"])
            radius = np.linalg.norm(iris - pupil, axis=1) * 1e3
            assert len(iris) >= 12 and 4.0 < radius.min() and radius.max() < 8.0  # an iris is ~6 mm in radius
            assert sum(eye["iris_contour"]["visible"]) > 0


def test_looking_at_the_camera_aims_the_line_of_sight_at_it(tmp_path, face_model):
    out = tmp_path / "contact"
    run_dataset(job(count=2, camera={**FRONT, "yaw": {"limit": 10}, "pitch": {"limit": 8}}, layers=[],
                    gaze={"at_camera": 1.0}), out)
    for i in range(2):
        g = record(out, i)["gaze"]
        assert g["kind"] == "camera" and np.linalg.norm(g["target_camera"]) < 1e-9
        for eye in g["eyes"].values():
            c = np.array(eye["eyeball_centre"]["camera"])
            assert np.allclose(eye["line_of_sight"]["camera"], -c / np.linalg.norm(c), atol=1e-6)


@pytest.mark.parametrize("subject", [0, 1])
def test_the_iris_stays_inside_the_eye_opening_over_the_default_range(face_model, subject):
    """At a neutral expression, seen from the front, the pupils stay visible at the edge of the default range
    (its axes and diagonals), and the iris shows only inside the lids' opening."""
    from dataclasses import replace

    from assetgen.dataset.gt import pose
    from assetgen.dataset.job import GazeSpec
    from assetgen.dataset.landmarks import landmarks_70, pupil_vertex_sets, pupils_world
    from assetgen.dataset.sampling import GazeDraw, Sampler
    from assetgen.dataset.subjects import Subjects
    from assetgen.render.mesh import mesh_from_asset
    from assetgen.render.renderer import Renderer

    g = GazeSpec()
    d = 1 / math.sqrt(2)
    edge = [(g.yaw_limit, 0), (-g.yaw_limit, 0), (0, g.up), (0, -g.down), (g.yaw_limit * d, g.up * d),
            (-g.yaw_limit * d, g.up * d), (g.yaw_limit * d, -g.down * d), (-g.yaw_limit * d, -g.down * d)]
    spec = job(count=2, images_per_subject=1, camera=FRONT, expression=NEUTRAL)
    params = Sampler(spec, face_model).params(subject)
    person = Subjects(spec, face_model).get(subject)
    camera = params.camera(person.target, 128)
    for yaw, pitch in edge:
        posed, _ = pose(person, face_model, replace(params, gaze=GazeDraw(yaw, pitch, 100.0)), camera, spec.spec.gaze)
        r = Renderer(mesh_from_asset(posed))
        try:
            res = r.render(camera, ("segmentation", "landmarks"), supersample=1)
            lm = landmarks_70(r, res, pupils_world(posed.vertices, face_model.units, pupil_vertex_sets(face_model)))
        finally:
            r.release()
        assert lm["visible"][68:].tolist() == [True, True], (yaw, pitch)
        for side, lids in (("right", lm["pixels"][36:42]), ("left", lm["pixels"][42:48])):
            ys, xs = np.nonzero(res.segmentation == res.regions.index(f"iris_{side}"))
            lo, hi = lids.min(0) - 2, lids.max(0) + 2
            inside = (xs + 0.5 >= lo[0]) & (xs + 0.5 <= hi[0]) & (ys + 0.5 >= lo[1]) & (ys + 0.5 <= hi[1])
            assert len(xs) > 5 and inside.all(), (side, yaw, pitch)


# ---- gaze: sampling and the job ------------------------------------------------------------------------

def test_gaze_draws_stay_in_the_range_and_leave_the_other_draws_alone(face_model):
    from assetgen.dataset.sampling import Sampler

    with_gaze, without = Sampler(job(count=400), face_model), Sampler(job(count=400, gaze=None), face_model)
    g = job().spec.gaze
    draws = []
    for i in range(400):
        a, b = with_gaze.params(i), without.params(i)
        assert b.gaze is None and (a.yaw, a.pitch, a.expression, a.distance_m) == (b.yaw, b.pitch, b.expression, b.distance_m)
        draws.append((a.gaze.yaw, a.gaze.pitch, a.gaze.distance_m, a.gaze.at_camera))
    yaw, pitch, dist, cam = (np.array(x) for x in zip(*draws))
    reach = np.hypot(yaw / g.yaw_limit, np.where(pitch > 0, pitch / g.up, pitch / g.down))
    assert reach.max() <= 1 + 1e-9 and yaw.std() > 7 and pitch.std() > 4 and (pitch > 5).any() and (pitch < -5).any()
    assert dist.min() >= 0.3 and 0.02 < cam.mean() < 0.2
    assert Sampler(job(count=5), face_model).params(3) == with_gaze.params(3)  # (seed, index) only


@pytest.mark.parametrize("over, key", [
    ({"gaze": {"yaw_limit": 70}}, "gaze.yaw_limit"),
    ({"gaze": {"up": 60}}, "gaze.up"),
    ({"gaze": {"distance_m": [0.01, 1]}}, "gaze.distance_m"),
    ({"sweep": {"gaze_pitch": [-80]}}, "sweep.gaze_pitch"),
    ({"sweep": {"gaze_yaw": [10]}, "gaze": None, "images_per_subject": None}, "sweep"),
    ({"dense_landmarks": {"vertices": [1, 1]}}, "dense_landmarks.vertices"),
])
def test_bad_gaze_and_dense_settings_are_one_line_naming_the_key(over, key):
    with pytest.raises(ConfigError) as err:
        job(**over)
    assert "\n" not in str(err.value) and key in str(err.value), str(err.value)


def test_dense_vertex_ids_beyond_the_model_are_refused(tmp_path, face_model):
    with pytest.raises(ConfigError, match="dense_landmarks.vertices.*vertex id 99999999"):
        run_dataset(job(dense_landmarks={"vertices": [0, 99999999]}), tmp_path / "out")
    assert not (tmp_path / "out").exists()


# ---- 2D-contour landmarks ------------------------------------------------------------------------------

FACE = ("face_skin", "nose", "upper_lip", "lower_lip")


def _outline_distance(face: np.ndarray, p: np.ndarray) -> float:
    """Distance (px) from p to the nearest pixel edge between a face and a non-face pixel."""
    segs = []
    ys, xs = np.nonzero(face[:-1] != face[1:])
    segs.append(np.c_[xs, ys + 1, xs + 1, ys + 1])
    ys, xs = np.nonzero(face[:, :-1] != face[:, 1:])
    segs.append(np.c_[xs + 1, ys, xs + 1, ys + 1])
    s = np.concatenate(segs).astype(np.float64)
    a, b = s[:, :2], s[:, 2:]
    t = np.clip(((p - a) * (b - a)).sum(1) / ((b - a) ** 2).sum(1), 0, 1)
    return float(np.min(np.linalg.norm(a + t[:, None] * (b - a) - p, axis=1)))


@pytest.fixture(scope="module")
def turned(tmp_path_factory, face_model):
    out = tmp_path_factory.mktemp("turned")
    spec = job(count=14, seed=3, resolution=256, images_per_subject=None, layers=["regions"],
               sweep={"yaw": [-55, -35, -20, -4, 0, 4, 45]})
    run_dataset(spec, out)
    return out


def test_contour_landmarks_differ_only_on_the_jaw_and_only_when_the_head_is_turned(turned):
    from assetgen.dataset.contour import CONTOUR_MIN_YAW_DEG

    for i in range(14):
        rec = record(turned, i)
        yaw = rec["head_pose"]["euler_deg"]["yaw"]
        fixed, contour = rec["landmarks"], rec["landmarks_2d_contour"]
        differ = [k for k in range(70) if fixed["pixels"][k] != contour["pixels"][k]]
        assert differ == [k for k in range(70) if contour["moved"][k]]
        assert set(differ) <= set(range(17)) - {8}
        if abs(yaw) <= CONTOUR_MIN_YAW_DEG:
            assert differ == [] and contour["visible"] == fixed["visible"]
        if abs(yaw) >= 20:
            far = range(8) if yaw > 0 else range(9, 17)
            assert set(differ) <= set(far) and len(differ) >= 4
            # the far side's 3D points hide behind the cheek; on the silhouette they are seen
            assert sum(contour["visible"][k] for k in far) > sum(fixed["visible"][k] for k in far)


def test_contour_landmarks_sit_on_the_silhouette(turned):
    """Each moved, visible jaw point lies within 1 px of the outline between the face and what is behind
    it (background, neck), where no other part (ear, eyelashes, eyes) crosses the outline there."""
    checked = 0
    for i in range(14):
        rec = record(turned, i)
        reg, names = regions(turned, i)
        face = np.isin(reg, [names.index(n) for n in FACE])
        other = ~face & (reg != 0) & (reg != names.index("neck"))
        c = rec["landmarks_2d_contour"]
        for k in range(17):
            if not (c["moved"][k] and c["visible"][k]):
                continue
            p = np.array(c["pixels"][k])
            x, y = int(p[0]), int(p[1])
            if other[max(y - 3, 0) : y + 4, max(x - 3, 0) : x + 4].any():
                continue
            assert _outline_distance(face, p) <= 1.0, (i, k)
            checked += 1
    assert checked >= 30


# ---- dense landmarks, albedo ---------------------------------------------------------------------------

def test_the_dense_set_is_fixed_spread_over_the_face_and_documented(whole, face_model):
    from scipy.spatial import cKDTree

    from assetgen.face.dense import DENSE_REGIONS, dense_vertex_ids, face_vertices

    ids = dense_vertex_ids(face_model, 300)
    assert len(set(ids.tolist())) == 300 and set(ids.tolist()) <= set(face_vertices(face_model).tolist())
    assert np.array_equal(dense_vertex_ids(face_model, 100), ids[:100])
    p = np.asarray(face_model.neutral, np.float64)[ids]
    spacing = cKDTree(p).query(p, k=2)[0][:, 1]
    assert spacing.min() > 0.5 * np.median(spacing)  # farthest-point sampling: no clumps
    manifest = json.loads((whole / "dataset.json").read_text())["dense_landmarks"]
    assert manifest["vertex_ids"] == ids.tolist() and "farthest-point" in manifest["rule"]
    assert DENSE_REGIONS[0] == "face_skin"


def test_dense_landmarks_project_onto_the_face_and_hide_when_turned_away(turned_dense):
    """Pixels are the camera points projected; a visible point is what its pixel sees (the depth there is
    the point's, within the 5 mm the landmark rule allows), a hidden one lies behind what its pixel sees."""
    for folder in turned_dense:
        rec = record(folder, 0)
        arr = np.load(folder / "000000_dense.npy")
        assert arr.dtype == np.float32 and arr.shape == (300, 6) and set(np.unique(arr[:, 5])) <= {0.0, 1.0}
        K = np.array(rec["camera"]["K"])
        proj = (arr[:, 2:5] @ K.T)[:, :2] / arr[:, 4:5]
        assert np.allclose(proj, arr[:, :2], atol=1e-2)
        depth = np.load(folder / "000000_depth.npy")
        inside = np.all((arr[:, :2] >= 0) & (arr[:, :2] < 128), axis=1)
        seen = depth[arr[inside, 1].astype(int), arr[inside, 0].astype(int)]
        z, vis = arr[inside, 4], arr[inside, 5] == 1
        assert np.mean(seen[vis] > z[vis] - 0.006) > 0.95
        assert np.mean(seen[~vis] < z[~vis] - 0.004) > 0.9
    frac = [float(np.load(f / "000000_dense.npy")[:, 5].mean()) for f in turned_dense]
    assert frac[0] > 0.75 and frac[1] < frac[0] - 0.2


@pytest.fixture(scope="module")
def turned_dense(tmp_path_factory, face_model):
    outs = []
    for yaw in (0, 70):
        out = tmp_path_factory.mktemp(f"dense{yaw}")
        run_dataset(job(count=1, resolution=128, layers=["depth", "dense"], expression=NEUTRAL,
                        camera={**FRONT, "focal_mm": [50, 50], "yaw": {"limit": 0}},
                        sweep={"yaw": [yaw]}, images_per_subject=None), out)
        outs.append(out)
    return outs


def test_a_user_vertex_list_is_written_as_given(tmp_path, face_model):
    ids = [int(face_model.landmarks_68[30]), 10, 20]
    out = tmp_path / "user"
    run_dataset(job(count=1, layers=["dense"], dense_landmarks={"vertices": ids}), out)
    arr = np.load(out / "000000_dense.npy")
    rec = record(out, 0)
    assert arr.shape == (3, 6)
    assert np.allclose(arr[0, :2], rec["landmarks"]["pixels"][30], atol=1e-3)  # the nose tip is iBUG 30
    assert json.loads((out / "dataset.json").read_text())["dense_landmarks"]["vertex_ids"] == ids


def test_albedo_layer_is_written_where_the_face_is(whole):
    from PIL import Image

    for i in range(4):
        with Image.open(whole / f"{i:06d}_albedo.png") as im:
            assert im.mode == "RGB" and im.size == (96, 96)
            albedo = np.asarray(im)
        reg, _ = regions(whole, i)
        assert not albedo[reg == 0].any() and (albedo[reg > 0].sum(-1) > 0).mean() > 0.95


# ---- phase 1's guarantees with the new files -----------------------------------------------------------

def test_same_seed_shards_and_resume_give_the_same_bytes(whole, tmp_path):
    again = tmp_path / "again"
    run_dataset(job(), again, shard=(1, 2))
    run_dataset(job(), again, shard=(0, 2))
    assert files(again) == files(whole)
    (again / "000002_dense.npy").unlink()
    (again / "000001_albedo.png").write_bytes(b"")
    (again / "000001.json").unlink()
    result = run_dataset(job(), again)
    assert result.made == [1, 2] and files(again) == files(whole)


def test_validate_knows_the_new_files(whole, tmp_path):
    from assetgen.dataset.validate import validate

    assert validate(whole) == []
    broken = tmp_path / "broken"
    broken.mkdir()
    for name, data in files(whole).items():
        (broken / name).write_bytes(data)
    np.save(broken / "000000_dense.npy", np.zeros((5, 6), np.float32))
    (broken / "000001_albedo.png").unlink()
    rec = record(broken, 2)
    del rec["gaze"]["eyes"]["left"]
    (broken / "000002.json").write_text(json.dumps(rec))
    problems = validate(broken)
    assert any("000000_dense.npy" in p and "(300, 6)" in p for p in problems), problems
    assert any("image 1" in p and "000001_albedo.png" in p for p in problems), problems
    assert any("000002.json" in p and "gaze" in p for p in problems), problems


def test_preview_draws_the_gaze_and_the_contour(turned, tmp_path):
    from assetgen.dataset.preview import preview
    from assetgen.images import read_image

    sheet = read_image(preview(turned, tmp_path / "sheet.png", n=4, tile=256))
    yellow = np.all(np.abs(sheet.astype(int) - [255, 230, 0]) < 20, axis=-1)
    blue = np.all(np.abs(sheet.astype(int) - [40, 90, 255]) < 20, axis=-1)
    assert yellow.sum() > 20 and blue.sum() > 20


def test_announced_sight_lines_give_the_same_records_from_one_scene(face_model, monkeypatch):
    """The data-set loop announces every point its ground truth casts from (gt.sight_points): the records
    are those of casting without the announcement, and the image's casts share one ray-casting scene."""
    from assetgen.dataset.gt import image_gt, pose, sight_points
    from assetgen.dataset.landmarks import landmarks_70, pupil_vertex_sets, pupils_world
    from assetgen.dataset.sampling import Sampler
    from assetgen.dataset.subjects import Subjects
    from assetgen.render import Renderer, mesh_from_asset
    from assetgen.render.raycast import Raycaster

    spec = job(count=2, images_per_subject=2, camera={"yaw": {"limit": 60}, "supersample": 1})
    subject = Subjects(spec, face_model).get(0)
    sampler = Sampler(spec, face_model)
    built = []
    make = Raycaster._make_scene
    monkeypatch.setattr(Raycaster, "_make_scene", lambda self, idx: built.append(len(idx)) or make(self, idx))
    for i in range(2):
        params = sampler.params(i)
        camera = params.camera(subject.target, spec.spec.resolution)
        posed, eyes = pose(subject, face_model, params, camera, spec.spec.gaze)
        pupils = pupils_world(posed.vertices, face_model.units, pupil_vertex_sets(face_model))
        records = []
        for announce in (False, True):
            r = Renderer(mesh_from_asset(posed))
            try:
                points, contour = sight_points(spec, face_model, posed, camera, pupils)
                built.clear()
                if announce:
                    r.landmark_raycaster.expect_sight_lines(camera, points)
                res = r.render(camera, ("landmarks",))
                lm70 = landmarks_70(r, res, pupils)
                gt = image_gt(spec, face_model, posed, eyes, camera, r, lm70, contour)
                records.append((lm70["visible"], gt["gaze"], gt["contour"], gt["dense"], len(built)))
            finally:
                r.release()
        (v0, g0, c0, d0, n0), (v1, g1, c1, d1, n1) = records
        assert np.array_equal(v0, v1) and g0 == g1 and c0 == c1 and np.array_equal(d0, d1)
        assert n1 == 1 and n0 > 1


def test_seg_bare_shows_the_head_under_hair_and_items(tmp_path, face_model):
    """Layer seg_bare: the FaceSynthetics classes of the face model's own surfaces alone. It has no hair,
    brow, beard or item class; where the visible segmentation shows the head, both agree pixel for pixel;
    under sunglasses it shows the eyes, under the beard and brows skin; validate checks it."""
    from assetgen.dataset.validate import validate
    from assetgen.face.labels import (BEARD, CLOTHING, FACEWEAR, GLASSES, HAIR, HEADWEAR, LEFT_BROW, LEFT_EYE,
                                      RIGHT_BROW, RIGHT_EYE, SKIN)
    from assetgen.images import read_image

    front = {**FRONT, "distance_m": [0.8, 0.8], "target_offset_m": [0, 0.0, 0]}
    subjects = {"recipe": "demo", "texture_resolution": 64, "hair": True,
                "distribution": {"glasses": {"sunglasses": 1.0}, "headwear": 0.0, "facewear": 0.0}}
    out = tmp_path / "bare"
    spec = job(count=2, seed=5, resolution=128, images_per_subject=1, subjects=subjects, camera=front,
               expression=NEUTRAL, layers=["seg_bare"])
    assert run_dataset(spec, out).complete
    assert validate(out) == []
    covering = [HAIR, BEARD, LEFT_BROW, RIGHT_BROW, CLOTHING, GLASSES, HEADWEAR, FACEWEAR]
    for i in range(2):
        seg, bare = read_image(out / f"{i:06d}_seg.png"), read_image(out / f"{i:06d}_seg_bare.png")
        assert record(out, i)["files"]["seg_bare"] == f"{i:06d}_seg_bare.png"
        assert not np.isin(bare, covering).any()
        head = (seg != 0) & ~np.isin(seg, covering)
        assert head.sum() > 1000 and np.array_equal(bare[head], seg[head])
        glasses = seg == GLASSES
        assert glasses.any() and np.isin(bare[glasses], [LEFT_EYE, RIGHT_EYE]).sum() > 20
        brows = np.isin(seg, [LEFT_BROW, RIGHT_BROW])
        assert brows.any() and (bare[brows] == SKIN).mean() > 0.9
        assert not np.isin(seg, [LEFT_EYE, RIGHT_EYE]).any()  # sunglasses hide the eyes in the image itself
    (out / "000001_seg_bare.png").write_bytes((out / "000001_seg_bare.png").read_bytes()[:40])
    assert any("000001_seg_bare.png" in p for p in validate(out))


def _face_luminance(folder: Path, i: int) -> float:
    """Mean linear luminance of image i's skin and nose pixels (FaceSynthetics SKIN, NOSE)."""
    from assetgen.color import srgb_to_linear
    from assetgen.face.labels import NOSE, SKIN
    from assetgen.images import read_image

    seg = read_image(folder / f"{i:06d}_seg.png")[..., 0]
    lin = srgb_to_linear(read_image(folder / f"{i:06d}.png")[..., :3].astype(np.float32) / 255.0)
    face = np.isin(seg, [SKIN, NOSE])
    return float((lin[face] @ np.array([0.2126, 0.7152, 0.0722])).mean())


def test_auto_exposure_meters_the_face_and_leaves_the_ground_truth(tmp_path, face_model):
    """camera.auto_exposure: a pale and a very dark subject, metered at full strength without jitter, both
    show the face at the target luminance (without it the dark face is several times darker); partial
    strength moves the dark face part of the way; the record says the stops applied; every GT file is the
    job's without auto exposure byte for byte; jobs without the key keep their spec JSON."""
    def subjects(tone):
        return {"recipe": "demo", "texture_resolution": 64, "hair": False,
                "distribution": {"skin_tone": {tone: 1.0}, "glasses": 0.0, "headwear": 0.0, "facewear": 0.0}}

    cam = {**FRONT, "distance_m": [0.6, 0.6], "target_offset_m": [0, 0.0, 0]}
    full = {"target": 0.2, "strength": 1.0, "max_ev": 4.0, "jitter_ev": [0, 0]}
    lum = {}
    for tone in ("monk_01", "monk_10"):
        for name, ae in (("off", None), ("full", full), ("half", {**full, "strength": 0.5})):
            out = tmp_path / f"{tone}-{name}"
            camera = cam if ae is None else {**cam, "auto_exposure": ae}
            spec = job(count=1, resolution=128, images_per_subject=1, subjects=subjects(tone), camera=camera,
                       expression=NEUTRAL, layers=["regions", "depth"])
            assert run_dataset(spec, out).complete
            lum[tone, name] = _face_luminance(out, 0)
            rec = record(out, 0)
            assert ("exposure_ev" in rec["camera"]) == (ae is not None)
            if ae is not None:  # the GT is the same with and without the camera's exposure
                off = tmp_path / f"{tone}-off"
                for f in ("000000_seg.png", "000000_regions.png", "000000_depth.npy", "000000_ldmks.txt"):
                    assert (out / f).read_bytes() == (off / f).read_bytes(), f
    assert lum["monk_10", "off"] < 0.25 * lum["monk_01", "off"]
    for tone in ("monk_01", "monk_10"):
        assert abs(math.log2(lum[tone, "full"] / 0.2)) < 0.15, lum
    half_gain = math.log2(lum["monk_10", "half"] / lum["monk_10", "off"])
    full_gain = math.log2(lum["monk_10", "full"] / lum["monk_10", "off"])
    assert full_gain > 1.5 and abs(half_gain - 0.5 * full_gain) < 0.15, (half_gain, full_gain)
    assert "auto_exposure" not in job().spec.as_json()["camera"]
    with pytest.raises(ConfigError, match="auto_exposure"):
        job(camera={**cam, "auto_exposure": {}}, sweep={"exposure": [-1, 0, 1]}, images_per_subject=None,
            lighting={"sources": [{"shipped": "all"}]})
    with pytest.raises(ConfigError, match="strength"):
        job(camera={**cam, "auto_exposure": {"strength": 2}})
