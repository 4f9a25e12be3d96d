"""The FaceSynthetics label map: the region -> class table, renders of subjects in which every class the
head and hair can produce occurs, where the classes sit in the image, and the files that carry the map."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest

from assetgen.errors import InputError
from assetgen.face import ict
from assetgen.face import labels as L
from assetgen.render import Camera, Renderer, intrinsics, look_at

SIZE = 160
HEAD_AND_HAIR = set(range(15))  # BACKGROUND .. BEARD; CLOTHING and later come with the accessories


def _subject(asset, identity_seed: int | None, jaw_open: float, groom: dict | None):
    """The shared test asset with another identity (None: its own), the jaw opened, and a groom grown on
    the identity's neutral shape (None: no hair at all, not even brows)."""
    from assetgen.attach.hair import make_groom, sample_groom_params

    model = asset.model
    out = copy.copy(asset)
    if identity_seed is not None:
        out.identity_weights = model.identity_weights(np.random.default_rng(identity_seed), truncation=2.0)
    rest = model.vertices(out.identity_weights).astype(np.float32)
    expression = model.expression_weights({"jawOpen": jaw_open})
    out.expression_weights = expression
    out.vertices = model.vertices(out.identity_weights, expression).astype(np.float32)
    out.groom = None
    if groom is not None:
        params = sample_groom_params(np.random.default_rng(5), **groom)
        out.groom = make_groom(model, params, np.random.default_rng(5), rest_vertices=rest)
    return out


@pytest.fixture(scope="module")
def subjects(asset):
    """A: short scalp hair and a full beard (with moustache, brows, lashes); B: another identity, no hair."""
    return {
        "A": _subject(asset, None, 0.3, {"style": "crew", "beard_style": "full"}),
        "B": _subject(asset, 11, 0.4, None),
    }


def _cameras(mesh) -> dict[str, Camera]:
    """Front, both profiles (from the subject's left = +x and right) and a view from behind-left."""
    lo, hi = mesh.bounds()
    c = (lo + hi) / 2 + [0.0, 0.02, 0.0]
    k = intrinsics(SIZE, SIZE, 2.0 * SIZE)
    eyes = {"front": [0.0, 0.0, 0.5], "left": [0.5, 0.0, 0.0], "right": [-0.5, 0.0, 0.0], "back": [0.3, 0.1, -0.4]}
    return {name: Camera(k, look_at(c + np.array(e), c), (SIZE, SIZE)) for name, e in eyes.items()}


@pytest.fixture(scope="module")
def renders(subjects):
    """{(subject, view): (RenderResult, FaceSynthetics labels)}."""
    out = {}
    for name, subject in subjects.items():
        r = Renderer(subject)
        try:
            for view, cam in _cameras(r.mesh).items():
                res = r.render(cam, ["segmentation", "landmarks"])
                out[name, view] = res, L.facesynthetics_labels(res.segmentation, res.regions)
        finally:
            r.release()
    return out


def _centre(fs: np.ndarray, cls: int) -> np.ndarray:
    rows, cols = np.nonzero(fs == cls)
    assert len(rows), f"no {L.CLASSES[cls]} pixels"
    return np.array([rows.mean(), cols.mean()])


def test_every_region_has_a_class_and_the_ids_are_the_data_sets():
    from assetgen.render.hair import HAIR_REGIONS

    assert L.CLASSES == {0: "BACKGROUND", 1: "SKIN", 2: "NOSE", 3: "RIGHT_EYE", 4: "LEFT_EYE", 5: "RIGHT_BROW",
                         6: "LEFT_BROW", 7: "RIGHT_EAR", 8: "LEFT_EAR", 9: "MOUTH_INTERIOR", 10: "TOP_LIP",
                         11: "BOTTOM_LIP", 12: "NECK", 13: "HAIR", 14: "BEARD", 15: "CLOTHING", 16: "GLASSES",
                         17: "HEADWEAR", 18: "FACEWEAR", 255: "IGNORE"}
    names = (*ict.REGIONS, *HAIR_REGIONS, *L.RESERVED_REGIONS)
    assert set(names) <= set(L.REGION_CLASS)
    classes = {L.region_class(n) for n in names}
    assert classes == set(range(19)) | {255}  # every class can be produced by some region
    assert all(why for _, why in L.REGION_CLASS.values())
    # sided regions go to their own side's class
    for n in names:
        c = L.CLASSES[L.region_class(n)]
        if n.endswith("_left"):
            assert c.startswith("LEFT_"), n
        if n.endswith("_right"):
            assert c.startswith("RIGHT_"), n
    with pytest.raises(InputError, match="region 'elbow' has no FaceSynthetics class.*REGION_CLASS"):
        L.lookup_table(["background", "elbow"])


def test_the_readme_table_is_the_mapping():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert L.markdown_table() in readme


def test_head_and_hair_classes_all_occur(renders):
    seen = set()
    for (subject, view), (res, fs) in renders.items():
        seen |= set(np.unique(fs).tolist())
        # ignored pixels are exactly those of regions without a class (here: eyelashes)
        lut = L.lookup_table(res.regions)
        assert np.array_equal(fs == L.IGNORE, lut[res.segmentation] == L.IGNORE)
    assert HEAD_AND_HAIR <= seen, sorted(HEAD_AND_HAIR - seen)
    # the bald subject has no hair classes; the bearded one shows beard and hair from every side
    for view in ("front", "left", "right", "back"):
        assert not np.isin(renders["B", view][1], [L.HAIR, L.BEARD, L.LEFT_BROW, L.RIGHT_BROW]).any()
    assert all((renders["A", v][1] == L.HAIR).any() for v in ("front", "left", "right", "back"))
    assert (renders["A", "front"][1] == L.BEARD).any() and (renders["B", "back"][1] == L.NECK).any()


def test_upper_lip_is_above_the_lower_lip_with_the_mouth_between(renders):
    for subject in ("A", "B"):
        fs = renders[subject, "front"][1]
        top, bottom, mouth = (_centre(fs, c) for c in (L.TOP_LIP, L.BOTTOM_LIP, L.MOUTH_INTERIOR))
        assert top[0] < mouth[0] < bottom[0], subject  # rows grow downwards
        nose, neck = _centre(fs, L.NOSE), _centre(fs, L.NECK)
        assert nose[0] < top[0] and bottom[0] < neck[0], subject


def test_left_and_right_are_the_subjects(renders):
    """Frontal view: the subject's left eye, brow and ear are on the image's right (larger column); each
    profile shows its own side's ear and not the other."""
    fs = renders["A", "front"][1]
    for left, right in ((L.LEFT_EYE, L.RIGHT_EYE), (L.LEFT_BROW, L.RIGHT_BROW), (L.LEFT_EAR, L.RIGHT_EAR)):
        assert _centre(fs, left)[1] > _centre(fs, right)[1] + SIZE / 10, L.CLASSES[left]
    for subject in ("A", "B"):
        left, right = renders[subject, "left"][1], renders[subject, "right"][1]
        assert (left == L.LEFT_EAR).sum() > 50 and not (left == L.RIGHT_EAR).any()
        assert (right == L.RIGHT_EAR).sum() > 50 and not (right == L.LEFT_EAR).any()
        assert not np.isin(left, [L.RIGHT_EYE, L.RIGHT_BROW]).any()
        assert not np.isin(right, [L.LEFT_EYE, L.LEFT_BROW]).any()


def test_the_nose_tip_is_nose(renders):
    for subject in ("A", "B"):
        res, fs = renders[subject, "front"]
        assert res.landmarks["visible"][30]
        x, y = np.floor(res.landmarks["pixels"][30]).astype(int)
        assert fs[y, x] == L.NOSE
        assert res.regions[res.segmentation[y, x]] == "nose"


def test_bad_segmentation_ids_are_an_input_error():
    with pytest.raises(InputError, match=r"segmentation ids must lie in 0\.\.1"):
        L.facesynthetics_labels(np.array([[0, 2]], np.uint8), ["background", "face_skin"])


def test_render_writes_the_map_beside_the_region_map(tmp_path, asset):
    """`assetgen render` writes view_XXX.seg_fs.png = the class of every seg.png pixel, the view JSON and
    gt.json carry the mapping; asked for alone, the map comes without seg.png."""
    from PIL import Image

    from assetgen.export.asset_files import write_asset
    from assetgen.views import render_views

    written = write_asset(asset, tmp_path)
    gt = json.loads(Path(written.ground_truth).read_text())
    assert gt["facesynthetics"]["region_class"] == {n: L.region_class(n) for n in gt["regions"]}
    assert gt["facesynthetics"]["ignore"] == 255 and "subject's" in gt["facesynthetics"]["left_right"]

    out = tmp_path / "views"
    render_views(written.glb, out, 64, 2, 3, ["segmentation", "seg_facesynthetics"])
    for i in range(2):
        rec = json.loads((out / f"view_{i:03d}.json").read_text())
        seg = np.asarray(Image.open(out / f"view_{i:03d}.seg.png"))
        fs = np.asarray(Image.open(out / f"view_{i:03d}.seg_fs.png"))
        regions = [rec["segmentation"][str(k)] for k in range(len(rec["segmentation"]))]
        lut = np.array([rec["seg_facesynthetics"]["region_class"][n] for n in regions], np.uint8)
        assert fs.dtype == np.uint8 and np.array_equal(fs, lut[seg]) and (fs == L.SKIN).any()
        assert rec["layers"] == ["segmentation", "seg_facesynthetics"]
        assert rec["seg_facesynthetics"]["classes"]["12"] == "NECK"

    bare = tmp_path / "bare"  # nothing worn: the bare head's regions are the regions
    render_views(written.glb, bare, 64, 1, 3, ["segmentation", "bare_segmentation"])
    assert np.array_equal(np.asarray(Image.open(bare / "view_000.seg_bare.png")),
                          np.asarray(Image.open(out / "view_000.seg.png")))

    alone = tmp_path / "alone"
    render_views(written.glb, alone, 64, 1, 3, ["seg_facesynthetics"])
    assert not (alone / "view_000.seg.png").exists()
    assert np.array_equal(np.asarray(Image.open(alone / "view_000.seg_fs.png")),
                          np.asarray(Image.open(out / "view_000.seg_fs.png")))
