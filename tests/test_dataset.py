"""`assetgen dataset`: the job's one-line errors, the camera sampler's truncated normal, determinism (same seed,
same bytes; shards and resumed runs give the whole run's bytes, kill -9 included), the FaceSynthetics files,
the COCO JSON, the head pose and pupil ground truth, sweeps, preview and validate. Small images (64-96 px)."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from assetgen.cli import main
from assetgen.dataset import job_from_dict, run_dataset
from assetgen.errors import ConfigError, OutputError

REPO = Path(__file__).resolve().parents[1]

# Two bald subjects of two images each, 64 px: every test's base job.
BASE = {
    "name": "t",
    "count": 4,
    "seed": 7,
    "resolution": 64,
    "images_per_subject": 2,
    "subjects": {"recipe": "demo", "texture_resolution": 64, "hair": False},
    "camera": {"supersample": 1},
}


def job(**over):
    data = json.loads(json.dumps(BASE))
    for k, v in over.items():
        data[k] = v
    return job_from_dict(data, source="job.yaml")


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file() and p.name != "preview.png"}


@pytest.fixture(scope="module")
def whole(tmp_path_factory, face_model):
    """The base job made in one uninterrupted run."""
    out = tmp_path_factory.mktemp("whole")
    result = run_dataset(job(), out)
    assert result.complete and result.made == [0, 1, 2, 3]
    return out


# ---- the job -------------------------------------------------------------------------------------------

BAD_JOBS = [
    ({"count": 0}, "count"),
    ({"resolution": 4096}, "resolution"),
    ({"bogus": 1}, "bogus"),
    ({"subjects": {"recipe": "demo", "library": "lib"}}, "subjects"),
    ({"subjects": {"library": "lib", "hair": False}}, "subjects"),
    ({"camera": {"yaw": {"limit": 90, "edge_density": 2}}}, "camera.yaw.edge_density"),
    ({"camera": {"distance_m": [0.5, 0.3]}}, "camera.distance_m"),
    ({"camera": {"pitch": {"limit": 89}}}, "camera.pitch"),
    ({"expression": {"neutral": 0.5, "preset": 0.5, "random": 0.5}}, "expression"),
    ({"expression": {"define": {"x": {"jawOpen": 2}}}}, "expression.define"),
    ({"sweep": {"yaw": [0, 400]}}, "sweep.yaw"),
    ({"sweep": {"yaw": [0, 30]}, "images_per_subject": 3}, "images_per_subject"),
    ({"lighting": {"type": "hdri"}}, "lighting.type"),
    ({"layers": ["depth", "specular"]}, "layers"),
    ({"shadows": "sometimes"}, "shadows"),
    ({"renderer": "cycles", "shadows": False}, "shadows"),
]


@pytest.mark.parametrize("over, key", BAD_JOBS)
def test_a_bad_job_is_one_line_naming_the_key(over, key):
    with pytest.raises(ConfigError) as err:
        job(**over)
    message = str(err.value)
    assert "\n" not in message and key in message and "job.yaml" in message, message


def test_a_bad_job_on_the_command_line_is_one_line_and_exit_2(tmp_path, capsys):
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump({**BASE, "resolution": 5}))
    out = tmp_path / "out"
    code = main(["dataset", str(path), "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "resolution" in err[0], err
    assert not out.exists()  # a failed command leaves no folder behind


def test_an_unknown_key_lists_the_keys_of_its_own_section():
    """A misspelt key inside a section lists that section's keys, not the job's top-level ones."""
    with pytest.raises(ConfigError, match=r"unknown key 'camera.auto_exposure.strenght' \(known: target, strength,"):
        job_from_dict({**BASE, "camera": {"auto_exposure": {"strenght": 0.5}}})
    with pytest.raises(ConfigError, match=r"unknown key 'camera.yaw.edge' \(known: limit, edge_density"):
        job_from_dict({**BASE, "camera": {"yaw": {"edge": 0.01}}})
    with pytest.raises(ConfigError, match=r"unknown key 'nam' \(known: name, count"):
        job_from_dict({**{k: v for k, v in BASE.items() if k != "name"}, "nam": "x"})


def test_blendshape_names_are_checked_against_the_face_model(tmp_path, face_model):
    bad = job(expression={"mix": {"names": ["jawOpen", "notAShape"]}})
    with pytest.raises(ConfigError, match="expression.mix.names.*notAShape"):
        run_dataset(bad, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_the_shipped_demo_job_resolves_by_name_and_is_valid(face_model, tmp_path, monkeypatch):
    from assetgen.dataset import load_job
    from assetgen.dataset.job import check_against_model
    from assetgen.dataset.subjects import Subjects

    monkeypatch.chdir(tmp_path)  # from any folder
    demo = load_job("demo")
    assert (demo.spec.count, demo.spec.resolution, demo.spec.per_subject) == (100, 512, 10)
    check_against_model(demo, face_model)
    assert Subjects(demo, face_model).batch_job.recipe.name == "demo"
    with pytest.raises(ConfigError, match="shipped: demo"):
        load_job("no-such-job")


def test_a_folder_of_another_job_is_refused(whole, tmp_path):
    with pytest.raises(OutputError, match="another job"):
        run_dataset(job(seed=8), whole)


def _begun_by_other_code(whole: Path, out: Path, made_by) -> None:
    """`out`: the whole set with images 2 and 3 taken out and its manifest's made_by replaced (None: removed,
    as sets made before it was recorded)."""
    out.mkdir()
    for name, data in files(whole).items():
        if not name.startswith(("000002", "000003", "coco")):
            (out / name).write_bytes(data)
    manifest = json.loads((out / "dataset.json").read_text())
    manifest.pop("made_by")
    if made_by is not None:
        manifest["made_by"] = made_by
    (out / "dataset.json").write_text(json.dumps(manifest))


def test_the_set_and_each_image_record_the_code_that_made_them(whole):
    from assetgen import __version__
    from assetgen.codeid import code_digest

    made_by = {"version": __version__, "code": code_digest()}
    assert len(made_by["code"]) == 16 and int(made_by["code"], 16) >= 0
    assert json.loads((whole / "dataset.json").read_text())["made_by"] == made_by
    assert all(json.loads((whole / f"00000{i}.json").read_text())["made_by"] == made_by for i in range(4))


@pytest.mark.parametrize("made_by", [{"version": "0.1.0", "code": "0123456789abcdef"}, None])
def test_a_set_begun_by_other_code_is_refused_unless_allowed(whole, tmp_path, capsys, made_by):
    out = tmp_path / "other"
    _begun_by_other_code(whole, out, made_by)
    before = files(out)
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(BASE))
    code = main(["dataset", str(path), "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and len(err) == 1, err
    assert ("0123456789abcdef" if made_by else "did not record its code") in err[0] and "--allow-other-code" in err[0]
    assert files(out) == before  # nothing written or removed
    code = main(["dataset", str(path), "--out", str(out), "--allow-other-code"])
    assert code == 0
    made = files(out)
    assert {n: made[n] for n in files(whole) if n.startswith(("000002", "000003"))} == {
        n: d for n, d in files(whole).items() if n.startswith(("000002", "000003"))}


def test_the_code_digest_counts_modules_and_data_not_caches_or_the_wheels_copies(tmp_path, monkeypatch):
    from assetgen import codeid

    pkg = tmp_path / "pkg"
    for rel, text in {"a.py": "x = 1", "data/m.json": "{}", "notes.txt": "n", "__pycache__/a.pyc": "c",
                      "_data/configs/j.yaml": "y: 1", "sub/b.py": "y = 2"}.items():
        (pkg / rel).parent.mkdir(parents=True, exist_ok=True)
        (pkg / rel).write_text(text)
    monkeypatch.setattr(codeid, "PACKAGE", pkg)

    def digest():
        codeid.code_digest.cache_clear()
        return codeid.code_digest()

    base = digest()
    for rel, counted in (("notes.txt", False), ("__pycache__/a.pyc", False), ("_data/configs/j.yaml", False),
                         ("a.py", True), ("data/m.json", True), ("sub/b.py", True)):
        (pkg / rel).write_text((pkg / rel).read_text() + " ")
        assert (digest() != base) == counted, rel
        base = digest()
    codeid.code_digest.cache_clear()


# ---- sampling ------------------------------------------------------------------------------------------

def test_the_default_yaw_is_a_truncated_normal_whose_edge_density_is_a_thousandth():
    from scipy.special import ndtr

    from assetgen.dataset.job import AngleSpec
    from assetgen.dataset.sampling import truncated_normal

    spec = AngleSpec(limit=90.0)
    assert spec.sd == pytest.approx(90.0 / math.sqrt(2 * math.log(1000.0)))
    x = np.abs(truncated_normal(np.random.default_rng(0), spec.sd, spec.limit, 1_000_000))
    assert x.max() <= 90.0
    # Density ratio between a band at the edge and one at 0, from counts, against the truncated normal's
    # own band masses; the edge band holds ~300 draws, so 5 standard errors is ~30 %.
    centre, edge = np.count_nonzero(x < 6.0), np.count_nonzero(x >= 84.0)
    expected = (ndtr(90.0 / spec.sd) - ndtr(84.0 / spec.sd)) / (ndtr(6.0 / spec.sd) - ndtr(0.0))
    assert abs(edge / centre - expected) < 5 * expected / math.sqrt(edge)
    # ...and that ratio is the density ratio 1/1000 at the band's ends: exp(-x^2 / 2 sigma^2) at 90 is 1e-3.
    assert math.exp(-0.5 * (90.0 / spec.sd) ** 2) == pytest.approx(1e-3)
    assert np.mean(x >= 60.0) == pytest.approx(2 * (ndtr(-60 / spec.sd) - ndtr(-90 / spec.sd)) / (1 - 2 * ndtr(-90 / spec.sd)),
                                               rel=0.05)


def test_image_parameters_depend_on_the_seed_and_index_only(face_model):
    from assetgen.dataset.sampling import Sampler

    a, b = Sampler(job(count=4), face_model), Sampler(job(count=1000), face_model)
    assert a.params(3) == b.params(3)
    assert Sampler(job(seed=8), face_model).params(3) != a.params(3)


def test_sweep_holds_everything_but_the_grid_per_subject(tmp_path, face_model):
    from assetgen.dataset.sampling import Sampler

    spec = job(count=12, sweep={"yaw": [-60, 0, 60], "intensity": [0.0, 1.0]}, images_per_subject=None)
    s = Sampler(spec, face_model)
    ps = [s.params(i) for i in range(12)]
    assert spec.spec.per_subject == 6 and [p.subject for p in ps] == [0] * 6 + [1] * 6
    assert [(p.sweep["intensity"], p.yaw) for p in ps[:6]] == [(0.0, -60), (0.0, 0), (0.0, 60), (1.0, -60), (1.0, 0), (1.0, 60)]
    first = ps[:6]
    assert len({(p.distance_m, p.focal_mm, p.pitch, p.principal_jitter, p.expression.base) for p in first}) == 1
    assert first[0].expression.weights == {} and first[3].expression.weights  # a non-neutral expression, swept
    assert ps[6].distance_m != ps[0].distance_m


def test_a_sweep_holds_lighting_and_background_per_subject_and_sweeps_exposure(tmp_path, face_model):
    """Within a subject only the grid changes: the environment (map, rotation, white balance) and the
    background crop are the subject's; a swept exposure sets exposure_ev and brightens the face."""
    from assetgen.dataset.sampling import Sampler
    from assetgen.dataset.scene import Scenes
    from assetgen.images import read_image

    lighting = {"sources": [{"shipped": "all"}], "resolution": 64}
    spec = job(count=6, sweep={"exposure": [-1.5, 0.0, 1.5]}, images_per_subject=None, lighting=lighting,
               background={"type": "environment"})
    sampler, scenes = Sampler(spec, face_model), Scenes(spec)
    cams = [sampler.params(i).camera(np.zeros(3), 64) for i in range(6)]
    recs = [scenes.image(i, cams[i], sampler.params(i)).record["spec"] for i in range(6)]
    assert [r["exposure_ev"] for r in recs] == [-1.5, 0.0, 1.5] * 2
    held = [{k: v for k, v in r.items() if k != "exposure_ev"} for r in recs]
    assert held[0] == held[1] == held[2] and held[3] == held[4] == held[5] and held[0] != held[3]
    # a yaw sweep holds the whole environment per subject too
    yaw = job(count=4, sweep={"yaw": [-20, 20]}, images_per_subject=None, lighting=lighting)
    ys, yc = Sampler(yaw, face_model), Scenes(yaw)
    specs = [yc.image(i, cams[i], ys.params(i)).record["spec"] for i in range(4)]
    assert specs[0] == specs[1] and specs[2] == specs[3] and specs[0] != specs[2]
    # and the background picture with its crop
    from assetgen.png import encode_png

    (tmp_path / "bg").mkdir()
    for k in range(5):
        (tmp_path / "bg" / f"b{k}.png").write_bytes(encode_png(np.full((8, 8, 3), 40 * k, np.uint8)))
    pics = job(count=4, sweep={"yaw": [-20, 20]}, images_per_subject=None,
               background={"type": "folder", "folder": str(tmp_path / "bg")})
    ps, pc = Sampler(pics, face_model), Scenes(pics)
    bgs = [pc.image(i, cams[i], ps.params(i)).record["background"] for i in range(4)]
    assert bgs[0] == bgs[1] and bgs[2] == bgs[3] and bgs[0] != bgs[2]
    with pytest.raises(ConfigError, match="sweep.exposure"):
        job(sweep={"exposure": [0.0]}, images_per_subject=None)  # the fixed lights have no exposure
    with pytest.raises(ConfigError, match="EV"):
        job(sweep={"exposure": [12.0]}, images_per_subject=None, lighting=lighting)
    # rendered: the same subject and camera, brighter with each stop
    out = tmp_path / "exposure"
    run_dataset(job(count=3, sweep={"exposure": [-1.5, 0.0, 1.5]}, images_per_subject=None, lighting=lighting),
                out)
    seg = read_image(out / "000000_seg.png")
    face = (seg > 0) & (seg != 255)
    means = [read_image(out / f"{i:06d}.png")[face].astype(float).mean() for i in range(3)]
    assert np.array_equal(seg, read_image(out / "000002_seg.png"))
    assert means[0] < means[1] < means[2]


def test_a_sweep_takes_an_item_off_and_holds_the_rest(tmp_path, face_model):
    from assetgen.face.labels import GLASSES
    from assetgen.images import read_image

    subjects = {"recipe": "demo", "texture_resolution": 64, "hair": False,
                "distribution": {"glasses": {"sunglasses": 1.0}, "headwear": 0.0, "facewear": 0.0}}
    out = tmp_path / "off"
    run_dataset(job(count=4, subjects=subjects, sweep={"items_off": ["none", "glasses"]}, images_per_subject=None),
                out)
    recs = [json.loads((out / f"{i:06d}.json").read_text()) for i in range(4)]
    assert [r["sweep"]["items_off"] for r in recs] == ["none", "glasses"] * 2
    for on, off in ((0, 1), (2, 3)):
        assert recs[on]["camera"] == recs[off]["camera"] and recs[on]["expression"] == recs[off]["expression"]
        seg_on, seg_off = (read_image(out / f"{i:06d}_seg.png") for i in (on, off))
        assert (seg_on == GLASSES).any() and not (seg_off == GLASSES).any()
        assert "glasses" in recs[on]["regions"] and "glasses" not in recs[off]["regions"]
        # the labels say what each image shows; the other items' labels are the subject's own
        on_labels, off_labels = recs[on]["subject"]["labels"], recs[off]["subject"]["labels"]
        assert on_labels["glasses"] == "sunglasses" and on_labels["glasses_frame"] != "none"
        assert off_labels["glasses"] == "none" and off_labels["glasses_frame"] == "none"
        assert {k: v for k, v in off_labels.items() if not k.startswith("glasses")} == \
            {k: v for k, v in on_labels.items() if not k.startswith("glasses")}
    with pytest.raises(ConfigError, match="sweep.items_off"):
        job(sweep={"items_off": ["none", "headwear"]}, images_per_subject=None)


# ---- determinism, shards, resume -----------------------------------------------------------------------

def test_same_seed_same_bytes(whole, tmp_path):
    out = tmp_path / "again"
    run_dataset(job(), out)
    assert files(out) == files(whole)


def test_shadows_off_changes_the_rgb_alone_and_on_keeps_the_job_id(whole, tmp_path):
    assert job(shadows=True).id == job().id and job(shadows=False).id != job().id
    out = tmp_path / "flat"
    run_dataset(job(shadows=False), out)
    flat, shaded = files(out), files(whole)
    rgb = [n for n in shaded if len(n) == len("000000.png") and n.endswith(".png")]
    gt = [n for n in shaded if n.endswith(("_seg.png", "_ldmks.txt"))]
    assert len(rgb) == 4 and len(gt) == 8
    assert all(flat[n] == shaded[n] for n in gt)
    assert any(flat[n] != shaded[n] for n in rgb)  # the nose's and the jaw's shadows under the fixed lights


def test_two_shards_make_the_whole_set(whole, tmp_path):
    out = tmp_path / "sharded"
    first = run_dataset(job(), out, shard=(1, 2))
    assert first.made == [2, 3] and not first.complete and not (out / "coco_keypoints.json").exists()
    second = run_dataset(job(), out, shard=(0, 2))
    assert second.made == [0, 1] and second.complete
    assert files(out) == files(whole)


def test_two_worker_processes_write_the_bytes_of_one(whole, tmp_path):
    out = tmp_path / "two_workers"
    notes = []
    result = run_dataset(job(), out, workers=2, progress=lambda done, total, note: notes.append((done, total)))
    assert result.made == [0, 1, 2, 3] and result.complete
    assert notes[0] == (0, 4) and notes[-1] == (4, 4) and len(notes) == 5
    assert files(out) == files(whole)


def test_the_command_with_two_workers_writes_the_bytes_of_one(whole, tmp_path):
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(BASE))
    out = tmp_path / "cli_two_workers"
    assert main(["dataset", str(path), "--out", str(out), "--workers", "2"]) == 0
    assert files(out) == files(whole)


def test_workers_with_ray_is_one_line_and_exit_2(tmp_path, capsys):
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(BASE))
    out = tmp_path / "out"
    code = main(["dataset", str(path), "--out", str(out), "--workers", "2", "--ray"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "--workers" in err[0], err
    assert not out.exists()


def test_a_rerun_writes_exactly_the_missing_and_partial_images(whole, tmp_path):
    out = tmp_path / "resumed"
    out.mkdir()
    for name, data in files(whole).items():
        (out / name).write_bytes(data)
    (out / "000001.json").unlink()  # image 1 cut before its record: partial
    (out / "000001.png").write_bytes(b"half a png")
    (out / "000003_depth.npy").unlink()  # image 3 missing a file
    (out / ".000002.png.abc123.tmp").write_bytes(b"a cut write")
    (out / "coco_keypoints.json").unlink()
    result = run_dataset(job(), out)
    assert result.made == [1, 3] and result.skipped == 2 and result.complete
    assert files(out) == files(whole)
    assert not list(out.glob(".*.tmp"))


def test_kill_9_mid_run_then_rerun_gives_the_uninterrupted_bytes(whole, tmp_path):
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(BASE))
    out = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "assetgen", "dataset", str(path), "--out", str(out)], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy())
    try:
        while not (out / "000000.png").exists():  # the first image file: the run is under way
            assert proc.poll() is None, "the data-set process ended before writing an image"
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (out / "000003.json").exists()  # killed before the end
    code = main(["dataset", str(path), "--out", str(out)])
    assert code == 0
    assert files(out) == files(whole)


# ---- what each image carries ---------------------------------------------------------------------------

def test_facesynthetics_files_parse(whole):
    from PIL import Image

    for i in range(4):
        lines = (whole / f"{i:06d}_ldmks.txt").read_text().splitlines()
        pts = np.array([[float(v) for v in line.split()] for line in lines])
        assert pts.shape == (70, 2) and np.isfinite(pts).all()
        with Image.open(whole / f"{i:06d}_seg.png") as im:
            assert im.mode == "L" and im.size == (64, 64)
            seg = np.asarray(im)
        assert set(np.unique(seg)) <= set(range(19)) | {255} and (seg == 1).any() and (seg == 0).any()
        with Image.open(whole / f"{i:06d}.png") as im:
            assert im.mode == "RGB" and im.size == (64, 64)
        rec = json.loads((whole / f"{i:06d}.json").read_text())
        assert np.allclose(np.array(rec["landmarks"]["pixels"]), pts, atol=1e-3)
        depth = np.load(whole / f"{i:06d}_depth.npy")
        assert depth.dtype == np.float32 and depth.shape == (64, 64) and np.isfinite(depth).any()
        assert np.load(whole / f"{i:06d}_normal.npy").shape == (64, 64, 3)
    assert json.loads((whole / "dataset.json").read_text())["count"] == 4


def test_validate_passes_a_whole_set_and_names_a_broken_file(whole, tmp_path, capsys):
    from assetgen.dataset.validate import validate

    assert validate(whole) == []
    broken = tmp_path / "broken"
    broken.mkdir()
    for name, data in files(whole).items():
        (broken / name).write_bytes(data)
    (broken / "000002_ldmks.txt").write_text("1 2\n3 4\n")
    (broken / "000001_seg.png").unlink()
    problems = validate(broken)
    assert any("000002_ldmks.txt" in p and "70 lines" in p for p in problems), problems
    assert any("image 1" in p and "000001_seg.png" in p for p in problems), problems
    with pytest.raises(SystemExit) as exit_:
        main(["dataset", "validate", str(broken)])
    assert exit_.value.code == 1


def test_head_pose_matches_the_sampled_camera(whole):
    from assetgen.dataset.sampling import euler_from_rotation

    for i in range(4):
        rec = json.loads((whole / f"{i:06d}.json").read_text())
        cam, pose = rec["camera"], rec["head_pose"]
        assert pose["euler_deg"]["yaw"] == pytest.approx(cam["yaw_deg"], abs=1e-9)
        assert pose["euler_deg"]["pitch"] == pytest.approx(cam["pitch_deg"], abs=1e-9)
        R, t = np.array(pose["rotation"]), np.array(pose["translation"])
        assert np.allclose(np.array(cam["world_to_camera"])[:3], np.c_[R, t])
        # The camera looks at the face: the landmarks' centre projects near the principal point.
        world = np.array(rec["landmarks"]["world"])[:68]
        centre = R @ world.mean(0) + t
        K = np.array(cam["K"])
        assert np.allclose((K @ centre)[:2] / centre[2], K[:2, 2], atol=64 * 0.05)
    assert euler_from_rotation(np.diag([1.0, -1.0, -1.0])) == pytest.approx({"yaw": 0, "pitch": 0, "roll": 0})


def test_pupils_are_hidden_by_closed_lids_and_seen_when_open(tmp_path, face_model):
    front = {"yaw": {"limit": 0}, "pitch": {"limit": 0}, "supersample": 1}
    closed = {"neutral": 0.0, "preset": 1.0, "random": 0.0, "presets": ["eyes_closed"], "intensity": [1.0, 1.0]}
    for expression, seen in (({"neutral": 1.0, "preset": 0.0, "random": 0.0}, True), (closed, False)):
        out = tmp_path / str(seen)
        run_dataset(job(count=2, camera=front, expression=expression), out)
        for i in range(2):
            lm = json.loads((out / f"{i:06d}.json").read_text())["landmarks"]
            assert lm["visible"][68:] == [seen, seen]
            px = np.array(lm["pixels"])
            # pupil 68 belongs to the eye of points 36-41, pupil 69 to 42-47
            assert np.linalg.norm(px[68] - px[36:42].mean(0)) < np.linalg.norm(px[68] - px[42:48].mean(0))
            assert np.linalg.norm(px[69] - px[42:48].mean(0)) < np.linalg.norm(px[69] - px[36:42].mean(0))


def test_coco_keypoints_json_has_the_coco_structure(whole):
    coco = json.loads((whole / "coco_keypoints.json").read_text())
    assert {"images", "annotations", "categories", "info", "licenses"} <= set(coco)
    assert [im["file_name"] for im in coco["images"]] == [f"{i:06d}.png" for i in range(4)]
    assert all(set(im) >= {"id", "file_name", "width", "height"} for im in coco["images"])
    cat = coco["categories"][0]
    assert cat["id"] == 1 and len(cat["keypoints"]) == 70
    assert all(1 <= a <= 70 and 1 <= b <= 70 for a, b in cat["skeleton"])
    ids = {im["id"] for im in coco["images"]}
    for ann in coco["annotations"]:
        assert set(ann) >= {"id", "image_id", "category_id", "keypoints", "num_keypoints", "bbox", "area", "iscrowd"}
        assert ann["image_id"] in ids and ann["category_id"] == 1 and len(ann["keypoints"]) == 210
        v = ann["keypoints"][2::3]
        assert set(v) <= {0, 1, 2} and ann["num_keypoints"] == sum(x > 0 for x in v) > 0
        w, h = ann["bbox"][2:]
        assert w > 0 and h > 0 and ann["area"] == pytest.approx(w * h)


def test_preview_writes_a_contact_sheet(whole, tmp_path, capsys):
    from assetgen.images import read_image

    sheet = tmp_path / "sheet.png"
    assert main(["dataset", "preview", str(whole), "--out", str(sheet), "--tile", "64"]) == 0
    img = read_image(sheet)
    assert img.shape == (128, 128, 3)
    # the segmentation colours and landmark dots are drawn over the images
    assert (np.abs(img.astype(int) - [0, 230, 0]).sum(-1) < 30).any()
    # --no-gt: the images as rendered, each tile the box-filtered image
    assert main(["dataset", "preview", str(whole), "--out", str(sheet), "--tile", "64", "--no-gt"]) == 0
    bare = read_image(sheet)
    assert bare.shape == img.shape and not np.array_equal(bare, img)
    first = read_image(sorted(whole.glob("[0-9]*.png"))[0])
    assert first.shape[0] % 64 == 0
    k = first.shape[0] // 64
    box = first[..., :3].reshape(64, k, 64, k, 3).mean((1, 3))
    assert np.abs(bare[:64, :64].astype(float) - box).max() <= 1.0


# ---- subjects ------------------------------------------------------------------------------------------

def test_library_subjects_render_as_the_batch_that_stored_them(tmp_path, face_model):
    from assetgen.batch import job_from_dict as batch_job, run_batch

    (tmp_path / "bald.yaml").write_text("name: bald\n")
    run_batch(batch_job({"name": "t", "n": 2, "recipe": "bald.yaml", "seed": 7, "resolution": 64}, base=tmp_path),
              library=tmp_path / "lib")
    made = {**BASE, "subjects": {"recipe": "bald.yaml", "texture_resolution": 64}}
    stored = {**BASE, "subjects": {"library": "lib", "where": ["kind=face"]}}
    run_dataset(job_from_dict(made, base=tmp_path), tmp_path / "made")
    run_dataset(job_from_dict(stored, base=tmp_path), tmp_path / "stored")
    a, b = files(tmp_path / "made"), files(tmp_path / "stored")
    pixels = [n for n in a if not n.endswith(".json")]
    assert len(pixels) == 4 * 6 and all(a[n] == b[n] for n in pixels)
    for i in range(4):
        ra, rb = (json.loads(x[f"{i:06d}.json"]) for x in (a, b))
        assert ra["subject"]["name"] == rb["subject"]["name"] == f"t_7_{i // 2:06d}"
        assert ra["subject"]["labels"] == rb["subject"]["labels"] and "library_id" in rb["subject"]
        assert ra["landmarks"] == rb["landmarks"]


@pytest.mark.parametrize("hair, dist", [(False, {"hair_style": "uniform"}), (["brows", "lashes"], {"beard_style": "uniform"})])
def test_hair_parts_not_grown_cannot_take_a_distribution(hair, dist, tmp_path, face_model):
    bad = job(subjects={"recipe": "demo", "hair": hair, "distribution": dist})
    with pytest.raises(ConfigError, match=f"{next(iter(dist))}.*subjects.hair"):
        run_dataset(bad, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_hair_parts_grow_only_those_and_label_the_rest_absent(face_model):
    from assetgen.dataset.subjects import Subjects

    spec = job(subjects={"recipe": "demo", "texture_resolution": 64, "hair": ["brows", "lashes"]})
    subject = Subjects(spec, face_model).get(0)
    assert subject.asset.groom is not None
    assert {g.region for g in subject.asset.groom.groups} <= {"eyebrow_left", "eyebrow_right", "eyelashes"}
    assert subject.info["labels"]["hair_style"] == "bald" and subject.info["labels"]["beard_style"] == "none"
