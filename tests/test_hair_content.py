"""Hair in assets, recipes, batch distributions and the library: the recipe's hair section is validated,
same seed gives the same bytes (asset and groom), distributions of hair attributes are realized, the library
stores and restores a groom exactly and filters on hair labels, and a recipe without hair changes nothing."""

from __future__ import annotations

import collections

import numpy as np
import pytest

from assetgen.cli import main
from assetgen.errors import ConfigError
from assetgen.generate import STREAMS, AssetRequest, asset_seed, asset_streams, make_asset
from assetgen.library import Library
from assetgen.recipe import HairSpec, Recipe, hair_labels, recipe_from_dict, sample_hair_params

HAIR = {"style": "buzz", "beard_style": "goatee", "parts": ["scalp", "brows", "beard"]}
HAIR_LABELS = {"hair_style", "hair_length_cm", "hair_color", "beard_style", "hair_brow_density", "grey_fraction"}


def hair_recipe(**hair) -> Recipe:
    return recipe_from_dict({"name": "hairy", "hair": {**HAIR, **hair}})


@pytest.fixture(scope="module")
def hairy(face_model, layout64):
    return make_asset(face_model, layout64, AssetRequest("hairy_0", asset_seed(4, 0), hair_recipe(), 4, 0))


@pytest.mark.parametrize("hair, needle", [
    ({"wobble": 1}, "hair.wobble"),
    ({"style": "mohawk"}, "unknown style 'mohawk'"),
    ({"beard_style": "walrus"}, "unknown beard_style 'walrus'"),
    ({"scalp": {"lenght": 3}}, "unknown scalp parameter(s) ['lenght']"),
    ({"scalp": {"length": -1}}, "hair.scalp"),
    ({"grey": 1.5}, "hair.grey"),
    ({"priors": {"style": {"mohawk": 1.0}}}, "mohawk"),
    ({"parts": ["scalp", "toes"]}, "hair.parts"),
])
def test_recipe_hair_section_errors_are_one_line(hair, needle):
    with pytest.raises(ConfigError) as exc:
        recipe_from_dict({"hair": hair}, source="r.yaml")
    msg = str(exc.value)
    assert needle in msg and "r.yaml" in msg and "\n" not in msg


def test_recipe_without_hair_records_as_before():
    assert "hair" not in Recipe().as_dict()
    assert recipe_from_dict({"hair": {}}).as_dict()["hair"]["style"] == "sample"
    assert HairSpec(style="bob", age=70).fixed() == {"style": "bob", "age": 70.0}


def test_hair_stream_leaves_the_other_streams_unchanged():
    seed = asset_seed(3, 1)
    old = [np.random.default_rng(c) for c in np.random.SeedSequence(seed).spawn(3)]  # before hair existed
    new = asset_streams(seed)
    assert STREAMS[:3] == ("identity", "expression", "texture") and STREAMS[3] == "hair"
    for name, rng in zip(STREAMS[:3], old):
        assert np.array_equal(new[name].random(8), rng.random(8))


def test_recipe_without_hair_gives_no_groom_and_the_old_provenance(face_model, layout64, hairy):
    plain = make_asset(face_model, layout64, AssetRequest("hairy_0", asset_seed(4, 0), Recipe(name="hairy"), 4, 0))
    assert plain.groom is None
    assert plain.provenance["streams"] == ["identity", "expression", "texture"]
    assert "hair" not in plain.provenance and "hair" not in plain.provenance["recipe"]
    assert not HAIR_LABELS & set(plain.labels) - {"hair_color"}  # hair_color: the skin's painted brows
    # the hair stream did not move the geometry
    assert np.array_equal(plain.vertices, hairy.vertices)
    assert np.array_equal(plain.identity_weights, hairy.identity_weights)


def test_same_seed_same_bytes_with_hair(face_model, layout64, hairy):
    again = make_asset(face_model, layout64, AssetRequest("hairy_0", asset_seed(4, 0), hair_recipe(), 4, 0))
    assert again.groom.digest() == hairy.groom.digest()
    assert again.vertices.tobytes() == hairy.vertices.tobytes()
    for mat, tex in hairy.textures.materials.items():
        assert again.textures.materials[mat].base_color.tobytes() == tex.base_color.tobytes()
    assert again.labels == hairy.labels and again.provenance == hairy.provenance
    other = make_asset(face_model, layout64, AssetRequest("hairy_1", asset_seed(4, 1), hair_recipe(), 4, 1))
    assert other.groom.digest() != hairy.groom.digest()


def test_strand_lashes_replace_the_lash_cards(face_model, layout64, hairy):
    """A groom that grows lashes leaves the face model's lash cards transparent (no second, blockier set of
    lashes); without strand lashes the cards carry them as before, and nothing else of the texture changes."""
    lashed = make_asset(face_model, layout64, AssetRequest("hairy_0", asset_seed(4, 0),
                                                          hair_recipe(parts=["scalp", "brows", "beard", "lashes"]), 4, 0))
    assert "eyelashes" in lashed.groom.regions and "eyelashes" not in hairy.groom.regions
    cards = [m for m in lashed.textures.materials if "Lash" in m]
    assert cards
    for m in cards:
        assert not lashed.textures.materials[m].base_color[..., 3].any()
        assert hairy.textures.materials[m].base_color[..., 3].any()
    same = [m for m in hairy.textures.materials if m not in cards]
    assert all(np.array_equal(lashed.textures.materials[m].base_color, hairy.textures.materials[m].base_color)
               for m in same)
    assert lashed.textures.params["lash_cards"] is False and hairy.textures.params["lash_cards"] is True


def test_asset_groom_labels_and_provenance(hairy):
    g = hairy.groom
    assert set(g.regions) >= {"scalp_hair", "eyebrow_left", "eyebrow_right", "beard"} and "eyelashes" not in g.regions
    assert HAIR_LABELS <= set(hairy.labels)
    assert hairy.labels["hair_style"] == "buzz" and hairy.labels["beard_style"] == "goatee"
    assert hairy.labels["hair_length_cm"] == round(g.params.scalp.length, 2) > 0
    hp = hairy.provenance["hair"]
    assert hp["digest"] == g.digest() and hp["params"] == g.params.as_dict()
    assert hp["n_strands"] == g.n_strands() and hairy.provenance["streams"][-1] == "hair"
    # grown on the model's neutral head and bound to it; the asset's vertices pose it
    assert np.array_equal(g.rest_vertices, hairy.model.neutral.astype(np.float32))
    assert g.params.color.age == hairy.labels["age"]  # the groom greys with the skin's age


def test_hair_distribution_is_realized_within_2_percent():
    from assetgen.attach.hair import BEARD_STYLES, SCALP_STYLES
    from assetgen.batch import job_hair
    from assetgen.library.sample import HAIR_CATEGORIES, TargetSequence, distribution_from_dict

    assert HAIR_CATEGORIES["hair_style"] == SCALP_STYLES and HAIR_CATEGORIES["beard_style"] == BEARD_STYLES
    style = {"curly": 0.1, "long_straight": 0.3, "buzz": 0.2, "bald": 0.15, "coily": 0.25}
    color = {"black": 0.3, "blond": 0.2, "red": 0.1, "grey": 0.2, "white": 0.1, "dyed": 0.1}
    specs = [{"hair_style": style, "beard_style": "uniform", "hair_color": color}, {"grey": 0.3}]
    for d in specs:
        dist = distribution_from_dict(d)
        seq = TargetSequence(dist, 7)
        counts, n = collections.Counter(), 1000
        for j in range(n):
            seed = asset_seed(7, j)
            targets = {k: (v if isinstance(v, str) else bool(v)) for k, v in seq.targets(j).items()}
            labels = hair_labels(sample_hair_params(job_hair(HairSpec(), targets, seed), asset_streams(seed)["hair"]))
            for k in ("hair_style", "beard_style", "hair_color"):
                counts[k, labels[k]] += 1
            counts["grey", labels["grey_fraction"] >= 0.5] += 1
        if "hair_style" in d:
            for k, p in style.items():
                assert abs(counts["hair_style", k] / n - p) <= 0.02, (k, counts)
            for k in BEARD_STYLES:
                assert abs(counts["beard_style", k] / n - 1 / 7) <= 0.02, (k, counts)
            for k, p in color.items():
                assert abs(counts["hair_color", k] / n - p) <= 0.02, (k, counts)
        else:
            assert abs(counts["grey", True] / n - 0.3) <= 0.02


def test_distribution_hair_keys_are_validated(tmp_path):
    from assetgen.batch import job_from_dict
    from assetgen.library.sample import distribution_from_dict

    with pytest.raises(ConfigError, match="hair_style"):
        distribution_from_dict({"hair_style": ["mullet"]})
    with pytest.raises(ConfigError, match="grey and hair_color"):
        distribution_from_dict({"grey": 0.2, "hair_color": "uniform"})
    recipe = tmp_path / "bald.yaml"
    recipe.write_text("name: bald\n")
    with pytest.raises(ConfigError, match="no hair section"):
        job_from_dict({"n": 2, "recipe": str(recipe), "distribution": {"hair_style": "uniform"}})
    recipe.write_text("name: bob\nhair: {style: bob}\n")
    with pytest.raises(ConfigError, match="fixes in its hair section"):
        job_from_dict({"n": 2, "recipe": str(recipe), "distribution": {"hair_style": "uniform"}})


def test_library_round_trip_restores_the_groom(tmp_path, face_model, hairy):
    root = tmp_path / "lib"
    with Library.open(root) as lib:
        aid = lib.put(hairy).id
        back = lib.load(aid, model=face_model)
        assert lib.check() == []
        rec = lib.record(aid)
    g, h = hairy.groom, back.groom
    assert h is not None and h.digest() == g.digest() == rec.record["groom"]["digest"]
    assert h.params == g.params and h.regions == g.regions
    assert np.array_equal(h.rest_vertices, g.rest_vertices)
    for a, b in zip(g.groups, h.groups):
        assert np.array_equal(a.evaluate(hairy.vertices), b.evaluate(back.vertices))
        assert a.binding.normals == b.binding.normals
        assert (a.collider is None) == (b.collider is None)  # eyelashes' pose-time collider is restored
    assert any(k.startswith("groom/scalp_hair/") for k in rec.blobs)
    # a damaged groom blob is found by check
    sha = rec.blobs["groom/scalp_hair/points"]
    path = root / "blobs" / sha[:2] / sha
    if not path.exists():
        path = next(root.rglob(sha))
    path.chmod(0o644)
    path.write_bytes(path.read_bytes()[:-4] + b"\0\0\0\1")
    with Library.open(root) as lib:
        problems = lib.check()
    assert any(sha in p for p in problems)


def test_where_hair_style_filters_ls_and_sample(tmp_path, capsys, hairy):
    from assetgen.library.sample import distribution_from_dict, sample_assets

    root = tmp_path / "lib"
    styles = ["curly"] * 6 + ["bald"] * 6 + ["bob"] * 4
    with Library.open(root) as lib:
        hid = lib.put(hairy).id
        with lib.writing():
            sha = lib.put_blob(b"x")
            for i, st in enumerate(styles):
                lib.put_record(f"r{i}", {"hair_style": st, "grey_fraction": 0.8 if i % 2 else 0.1},
                               {"identity": sha}, job_id="j", job_index=i)
        assert lib.query(["hair_style=buzz"]) == [hid]
        assert len(lib.query(["hair_style=curly"])) == 6 and len(lib.query(["hair_style!=curly"])) == 11
        res = sample_assets(lib, distribution_from_dict({"hair_style": {"curly": 0.3, "bald": 0.7}}), 200, seed=1,
                            where=["hair_style!=buzz"])
        drawn = collections.Counter(lib.record(i).labels["hair_style"] for i in res.ids)
        assert set(drawn) == {"curly", "bald"} and res.relaxed == 0 and abs(drawn["curly"] / 200 - 0.3) <= 0.02
        assert res.achieved["hair_style"] == {"curly": drawn["curly"] / 200, "bald": drawn["bald"] / 200}
        res = sample_assets(lib, distribution_from_dict({"grey": 0.25}), 200, seed=1, where=["job=j"])
        grey = sum(lib.record(i).labels["grey_fraction"] >= 0.5 for i in res.ids) / 200
        assert abs(grey - 0.25) <= 0.02 and res.achieved["grey"] == grey
    capsys.readouterr()
    assert main(["library", "ls", "--library", str(root), "--where", "hair_style=buzz"]) in (0, None)
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].startswith(hid) and 'hair_style="buzz"' in out[0]


def test_preview_draws_the_hair(hairy):
    from dataclasses import replace

    from assetgen.preview import render_front

    with_hair = render_front(hairy, size=64)
    without = render_front(replace(hairy, groom=None), size=64)
    assert with_hair.shape == (64, 64, 3)
    assert np.mean(np.any(with_hair != render_front(hairy, size=64), axis=2)) == 0  # deterministic
    assert without.shape == with_hair.shape and with_hair.tobytes() != without.tobytes()
