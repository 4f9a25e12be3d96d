"""The ICT face model: loading, evaluation, topology, landmarks, regions, and bad input."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from assetgen.errors import FaceModelError, InputError
from assetgen.face import ict, load_face_model

from .conftest import face_model_dir


def test_sizes_match_the_published_model(face_model):
    assert face_model.n_vertices == 26719
    assert face_model.identity_basis.shape == (100, 26719, 3)
    assert face_model.expression_basis.shape[1:] == (26719, 3)
    assert len(face_model.expression_names) == face_model.expression_basis.shape[0]
    assert len(face_model.material_names) == 12
    assert face_model.mesh.uvs.shape == (28911, 2)


def test_triangulation_keeps_a_map_to_polygons(face_model):
    mesh = face_model.mesh
    counts = np.diff(mesh.poly_offset)
    assert len(face_model.triangles) == int((counts - 2).sum())
    # Every triangle's corners are corners of its source polygon, and every polygon is covered.
    for t in np.random.default_rng(0).choice(len(face_model.triangles), 500, replace=False):
        p = face_model.triangle_polygon[t]
        corners = set(mesh.poly_vertex[mesh.poly_offset[p] : mesh.poly_offset[p + 1]])
        assert set(face_model.triangles[t]) <= corners
    assert np.array_equal(np.unique(face_model.triangle_polygon), np.arange(mesh.n_polygons))
    # A quad's two triangles cover its area: their areas add up to the polygon's (planar-ish quads).
    assert (face_model.triangles[:, 0] != face_model.triangles[:, 1]).all()


def test_evaluation_is_the_linear_model(face_model):
    rng = np.random.default_rng(1)
    wid = face_model.identity_weights(rng)
    wex = np.zeros(len(face_model.expression_names))
    wex[face_model.expression_names.index("jawOpen")] = 0.8
    wex[face_model.expression_names.index("eyeBlink_L")] = 0.3
    got = face_model.vertices(wid, wex)
    want = (
        face_model.neutral.astype(np.float64)
        + np.einsum("i,ivc->vc", wid, face_model.identity_basis.astype(np.float64))
        + np.einsum("j,jvc->vc", wex, face_model.expression_basis.astype(np.float64))
    )
    assert got.dtype == np.float32 and got.shape == (26719, 3)
    assert np.abs(got - want).max() < 1e-3
    # Named weights mean the same thing as a vector.
    named = face_model.vertices(wid, {"jawOpen": 0.8, "eyeBlink_L": 0.3})
    assert np.array_equal(named, got)


def test_a_kept_identity_sum_gives_the_bytes_of_summing_anew(face_model):
    """vertices() keeps the last identities' neutral + identity sums; each evaluation is still exactly
    (neutral + identity modes) + expression modes in float64, mode by mode, for any order of subjects."""
    from assetgen.face.model import blend_modes

    rng = np.random.default_rng(3)
    ids = list(face_model.identity_weights(rng, n=12)) + [None]
    names = face_model.expression_names
    for k in [0, 1, 2, 12, 3, 11, 4, 5, 6, 7, 8, 9, 10, 0, 12, 1]:  # more subjects than are kept, and back
        wid = ids[k]
        wex = np.where(rng.random(len(names)) < 0.1, rng.random(len(names)), 0.0)
        acc = face_model.neutral.astype(np.float64)
        if wid is not None:
            acc = acc + blend_modes(wid, face_model.identity_basis)
        want = (acc + blend_modes(wex, face_model.expression_basis)).astype(np.float32)
        assert np.array_equal(face_model.vertices(wid, wex), want)
        assert np.array_equal(face_model.vertices(wid), acc.astype(np.float32))


def test_evaluation_is_vectorized_over_a_batch(face_model):
    rng = np.random.default_rng(2)
    wid = face_model.identity_weights(rng, n=3)
    batch = face_model.vertices(wid)
    assert batch.shape == (3, 26719, 3)
    for i in range(3):
        assert np.allclose(batch[i], face_model.vertices(wid[i]), atol=1e-4)
    assert not np.allclose(batch[0], batch[1])


def test_identity_sampling_is_seeded_and_truncated(face_model):
    a = face_model.identity_weights(np.random.default_rng(5), n=200, truncation=1.5)
    b = face_model.identity_weights(np.random.default_rng(5), n=200, truncation=1.5)
    assert np.array_equal(a, b)
    assert np.abs(a).max() <= 1.5
    assert 0.5 < a.std() < 1.0  # truncated standard normal at 1.5 has std ~0.74
    with pytest.raises(InputError, match="truncation"):
        face_model.identity_weights(np.random.default_rng(0), truncation=0)


@pytest.mark.parametrize(
    "identity, expression, message",
    [
        (np.zeros(99), None, "identity weights must have shape"),
        (np.full(100, np.nan), None, "NaN"),
        (None, {"notAnExpression": 0.5}, "unknown expression name 'notAnExpression'"),
        (None, {"jawOpen": 1.5}, r"\[0, 1\]"),
        (None, {"jawOpen": -0.1}, r"\[0, 1\]"),
        (np.zeros((2, 100)), np.zeros((3, 57)), "batches differ"),
    ],
)
def test_bad_weights_fail_clearly(face_model, identity, expression, message):
    if isinstance(expression, np.ndarray) and expression.shape[-1] != len(face_model.expression_names):
        expression = np.zeros(expression.shape[:-1] + (len(face_model.expression_names),))
    with pytest.raises(InputError, match=message):
        face_model.vertices(identity, expression)


def test_normals_are_unit_agree_with_winding_and_face_forward(face_model):
    v = face_model.neutral.astype(np.float64)
    n = face_model.vertex_normals(face_model.neutral)
    assert np.allclose(np.linalg.norm(n, axis=1), 1.0, atol=1e-5)
    t = face_model.triangles
    fn = np.cross(v[t[:, 1]] - v[t[:, 0]], v[t[:, 2]] - v[t[:, 0]])
    agree = np.einsum("ij,ij->i", np.repeat(fn, 3, axis=0), n[t.ravel()]) > 0
    assert agree.mean() > 0.99
    # Forehead-to-chin landmarks on the front of the face look towards +z (the model faces +z).
    front = face_model.landmarks_68[[8, 27, 28, 29, 30]]
    assert (n[front, 2] > 0.5).all()


def _vertex_normals_reference(vertices, triangles):
    """The original formula: float64 face normals summed per vertex by np.add.at, corner by corner."""
    v = np.asarray(vertices, dtype=np.float64)
    fn = np.cross(v[triangles[:, 1]] - v[triangles[:, 0]], v[triangles[:, 2]] - v[triangles[:, 0]])
    n = np.zeros_like(v)
    for c in range(3):
        np.add.at(n, triangles[:, c], fn)
    length = np.linalg.norm(n, axis=1, keepdims=True)
    n = np.divide(n, length, out=np.zeros_like(n), where=length > 0)
    return n.astype(np.float32)


def test_vertex_normals_are_the_add_at_formula_bit_for_bit(face_model):
    """vertex_normals sums by bincount in np.add.at's order: the same bits, on the model's shapes, on
    degenerate triangles and unused vertices, NaNs, negative (wrapped) ids and no triangles at all."""
    from assetgen.face import vertex_normals

    rng = np.random.default_rng(7)
    t = face_model.triangles
    shapes = [face_model.neutral, face_model.vertices(rng.standard_normal(face_model.n_identity))]
    noisy = (face_model.neutral + rng.normal(0, 0.3, face_model.neutral.shape)).astype(np.float32)
    noisy[t[:200, 1]] = noisy[t[:200, 0]]  # zero-area triangles
    shapes += [noisy, noisy.astype(np.float64), np.vstack([noisy, noisy[:7]])]  # float64; unused vertices
    for v in shapes:
        assert face_model.vertex_normals(v).tobytes() == _vertex_normals_reference(v, t).tobytes()
    small = rng.normal(size=(40, 3))
    small[5] = np.nan
    tri = rng.integers(0, 40, (150, 3))
    tri[:9, 2] = tri[:9, 0]
    tri[::11, 1] -= 40
    for v, tt in ((small, tri), (np.zeros((4, 3)), tri[:0] % 4), (np.zeros((3, 3)), np.array([[0, 1, 2]]))):
        assert vertex_normals(v, tt).tobytes() == _vertex_normals_reference(v, tt).tobytes()
    with pytest.raises(IndexError):
        vertex_normals(small, np.array([[0, 1, 40]]))


def test_landmarks_are_68_points_on_the_face(face_model):
    lm = face_model.landmarks_68
    assert lm.shape == (68,)
    face_end = face_model.segments["geometry"]["Face"]["vertices"][1]
    assert lm.max() <= face_end
    p = face_model.neutral[lm]
    # Anatomy in the model frame (+y up, looking down +z): the nose tip (30) is the most forward of the
    # inner points, the chin (8) below the nose, the right-eye corner (36) to the -x side of the left (45).
    assert p[30, 2] > p[[36, 45, 48, 54], 2].max()
    assert p[8, 1] < p[33, 1] < p[27, 1]
    assert p[36, 0] < p[45, 0]


def test_every_triangle_has_a_region_and_lips_sit_at_the_mouth(face_model):
    r = face_model.triangle_region
    assert r.shape == (len(face_model.triangles),)
    assert r.min() >= 1
    assert set(np.unique(r)) == set(range(1, len(ict.REGIONS)))
    lips = face_model.triangles[np.isin(r, [ict.REGIONS.index(n) for n in ict.LIP_REGIONS])]
    mouth = face_model.neutral[face_model.landmarks_68[48:68]]
    lip_pts = face_model.neutral[np.unique(lips)]
    d = np.linalg.norm(lip_pts[:, None] - mouth[None], axis=-1).min(1)
    assert d.max() < 1.5  # every lip vertex within 1.5 cm of a lip landmark
    assert 500 < len(lips) < 5000
    # Regions follow material groups: teeth triangles are exactly the M_Teeth material.
    teeth_m = face_model.material_names.index("M_Teeth")
    assert np.array_equal(r == ict.REGIONS.index("teeth"), face_model.triangle_material == teeth_m)


def _region_centroids(face_model, name):
    r = face_model.triangle_region
    return face_model.neutral[face_model.triangles[r == ict.REGIONS.index(name)]].mean(axis=1)


def _touches(face_model, name, landmark):
    """Whether landmark `landmark`'s vertex is a corner of a triangle of region `name`."""
    tri = face_model.triangles[face_model.triangle_region == ict.REGIONS.index(name)]
    return bool(np.isin(face_model.landmarks_68[landmark], tri))


def test_skin_is_split_where_the_anatomy_is(face_model):
    """The FaceSynthetics split of the skin, on the neutral (+y up, facing +z, +x = the subject's left)."""
    lm = face_model.neutral[face_model.landmarks_68]
    # Ears: on their own side, beside the head (beyond the jaw's top corners 0/16), between the jaw's
    # angle (4) and above landmark 1 in height, behind the jaw.
    for name, side in (("ear_left", 1), ("ear_right", -1)):
        c = _region_centroids(face_model, name)
        assert len(c) > 500 and (side * c[:, 0] > 6.0).all() and (side * c[:, 0]).max() > abs(lm[0, 0]) + 1.0
        assert c[:, 1].min() > lm[4, 1] and c[:, 1].max() > lm[1, 1] + 1.0 and (c[:, 2] < lm[0, 2]).all()
    # Nose: the bridge (28, 29) and the tip (30), between the eyes' inner corners, above the mouth.
    assert all(_touches(face_model, "nose", k) for k in (28, 29, 30))
    c = _region_centroids(face_model, "nose")
    assert (np.abs(c[:, 0]) < lm[42, 0] + 0.5).all() and c[:, 1].min() > lm[51, 1] and c[:, 1].max() < lm[27, 1] + 0.5
    # Lips: the upper lip carries the top of the outer contour (49-53) and the upper inner lip (61-63),
    # the lower lip the bottom (55-59, 65-67); the corners (48, 54, 60, 64) are shared.
    for k in (*range(49, 54), 61, 62, 63):
        assert _touches(face_model, "upper_lip", k) and not _touches(face_model, "lower_lip", k), k
    for k in (*range(55, 60), 65, 66, 67):
        assert _touches(face_model, "lower_lip", k) and not _touches(face_model, "upper_lip", k), k
    upper, lower = _region_centroids(face_model, "upper_lip"), _region_centroids(face_model, "lower_lip")
    assert upper[:, 1].mean() > lower[:, 1].mean()
    # Neck apart from the head: under the chin (which stays face skin) in front, below the earlobes'
    # height at the back; the crown and the back of the head above it are back_of_head.
    neck, back = _region_centroids(face_model, "neck"), _region_centroids(face_model, "back_of_head")
    assert _touches(face_model, "face_skin", 8) and neck[:, 1].max() < lm[2, 1] - 1.0
    assert neck[neck[:, 2] > lm[4, 2], 1].max() < lm[57, 1]  # in front of the jaw angles: below the mouth
    assert (neck[:, 2] < -4).any() and (neck[:, 2] > lm[8, 2] - 2).any()  # the nape and the throat
    assert back[:, 1].max() > lm[19, 1] + 3 and back[:, 1].min() > neck[:, 1].min() + 10


def test_a_topology_that_is_not_ict_fails_clearly(face_model):
    from assetgen.face.regions import triangle_regions

    moved = face_model.neutral.copy()
    moved[:, 0] *= -1  # the mirror image: the ears' polygon runs lie on the wrong sides
    with pytest.raises(FaceModelError, match="polygons 6560-7272 are not the ear left.*ICT Face Model Light"):
        triangle_regions(face_model.mesh, face_model.segments, face_model.triangles, face_model.triangle_uv_index,
                         face_model.triangle_polygon, face_model.landmarks_68, moved)


def _copy_model(tmp_path: Path) -> Path:
    dst = tmp_path / "model"
    shutil.copytree(face_model_dir(), dst)
    for p in dst.iterdir():
        p.chmod(0o644)
    dst.chmod(0o755)
    return dst


def test_missing_folder_names_the_path_and_the_fix(tmp_path):
    with pytest.raises(FaceModelError, match="does not exist.*ASSETGEN_FACE_MODEL"):
        load_face_model(tmp_path / "nowhere")


def test_missing_file_is_named(tmp_path):
    folder = _copy_model(tmp_path)
    (folder / "landmarks.json").unlink()
    with pytest.raises(FaceModelError, match="missing landmarks.json"):
        load_face_model(folder)


def test_truncated_shape_modes_fail_clearly(tmp_path):
    folder = _copy_model(tmp_path)
    data = (folder / "shape_modes.npz").read_bytes()
    (folder / "shape_modes.npz").write_bytes(data[: len(data) // 3])
    with pytest.raises(FaceModelError, match="shape_modes.npz"):
        load_face_model(folder)


def test_shape_modes_of_the_wrong_shape_fail_clearly(tmp_path):
    folder = _copy_model(tmp_path)
    np.savez(
        folder / "shape_modes.npz",
        identity=np.zeros((3, 10, 3), np.float32),
        expression=np.zeros((2, 10, 3), np.float32),
        identity_names=np.array(["a", "b", "c"]),
        expression_names=np.array(["x", "y"]),
    )
    with pytest.raises(FaceModelError, match=r"expected \(k, 26719, 3\)"):
        load_face_model(folder)


def test_corrupt_obj_fails_clearly(tmp_path):
    folder = _copy_model(tmp_path)
    (folder / "generic_neutral_mesh.obj").write_text("v 0 0 0\nf 1 2 3\n")
    with pytest.raises(FaceModelError, match="generic_neutral_mesh.obj"):
        load_face_model(folder)
