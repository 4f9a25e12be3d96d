"""The make-up distribution key (a look: a sampled combination of the lipstick, blush, eyeshadow and
eyeliner layers) and face tattoos as UV decals (assetgen.texture.tattoo)."""

from __future__ import annotations

import numpy as np
import pytest

from assetgen.errors import ConfigError
from assetgen.library.sample import (
    LOOKS,
    MAKEUP_LAYERS,
    TargetSequence,
    distribution_from_dict,
    texture_overrides,
)
from assetgen.texture.params import TATTOO_SHARE, SkinParams
from assetgen.texture.procedural import ProceduralSkinBackend
from assetgen.texture.tattoo import LOCATIONS, MOTIFS, TattooParams, decal_frame


def _realized(spec: dict, n: int, seed: int = 5) -> list[SkinParams]:
    seq = TargetSequence(distribution_from_dict(spec), seed)
    return [SkinParams.parse(texture_overrides(seq.targets(j), 1000 + j)) for j in range(n)]


def test_makeup_share_within_two_percent_at_n_1000():
    params = _realized({"makeup": 0.15}, 1000)
    share = np.mean([p.labels()["makeup"] for p in params])
    print(f"make-up share {share:.3f} (0.15) at N=1000")
    assert abs(share - 0.15) <= 0.02
    worn = [p for p in params if p.labels()["makeup"]]
    looks = {tuple(k for k in MAKEUP_LAYERS if getattr(p, k) is not None) for p in worn}
    assert looks == {tuple(k for k in MAKEUP_LAYERS if k in layers) for layers in LOOKS.values()}
    assert all(getattr(p, k) is None for p in params if not p.labels()["makeup"] for k in MAKEUP_LAYERS)


def test_per_layer_keys_decide_their_layer_over_the_look():
    params = _realized({"makeup": 0.15, "lipstick": 0.3}, 1000)
    lipstick = np.mean([p.lipstick is not None for p in params])
    eyes = np.mean([p.eyeliner is not None for p in params])
    print(f"lipstick {lipstick:.3f} (0.3), eyeliner from the looks {eyes:.3f}")
    assert abs(lipstick - 0.3) <= 0.02 and 0.0 < eyes < 0.15
    with pytest.raises(ConfigError, match="makeup"):
        distribution_from_dict({"makeup": 1.5})


def test_makeup_overrides_are_deterministic():
    seq = TargetSequence(distribution_from_dict({"makeup": 0.5}), 9)
    a = [texture_overrides(seq.targets(j), j) for j in range(50)]
    b = [texture_overrides(seq.targets(j), j) for j in range(50)]
    assert a == b


def test_tattoo_share_and_the_other_values_unchanged():
    n = 2000
    drawn = [SkinParams.sample(np.random.default_rng([21, i])) for i in range(n)]
    share = np.mean([p.tattoo is not None for p in drawn])
    print(f"tattoo share {share:.4f} ({TATTOO_SHARE}) at N={n}")
    assert abs(share - TATTOO_SHARE) <= 0.01
    assert len({p.labels()["tattoo"] for p in drawn} - {"none"}) >= 3
    # the tattoo's draws leave the stream: the next value of the generator is as it was without them
    r1, r2 = np.random.default_rng(3), np.random.default_rng(3)
    SkinParams.sample(r1)
    state = r1.bit_generator.state
    p = SkinParams.sample(r2)
    assert r2.bit_generator.state == state and p == SkinParams.sample(np.random.default_rng(3))


@pytest.mark.parametrize("location", LOCATIONS)
def test_tattoo_changes_the_albedo_only_near_its_location(face_model, layout256, location):
    from assetgen.texture.fields_store import layout_fields

    t = TattooParams(motif=MOTIFS[LOCATIONS.index(location)], location=location, side="right", size=1.8, opacity=0.9)
    gen = lambda **p: ProceduralSkinBackend().generate(face_model, layout256, p, np.random.default_rng(4))
    a, b, c = gen(tattoo=t.model_dump()), gen(), gen(tattoo=t.model_dump())
    assert a.labels["tattoo"] == t.motif and a.labels["tattoo_location"] == location
    assert b.labels["tattoo"] == "none"
    fields = layout_fields(face_model, layout256)
    centre, _ = decal_frame(face_model, fields.landmarks.p, t)
    changed = 0
    for name in a.materials:
        assert np.array_equal(a.materials[name].base_color, c.materials[name].base_color)  # deterministic
        for key in ("normal", "roughness", "specular"):
            assert np.array_equal(getattr(a.materials[name], key), getattr(b.materials[name], key))
        diff = np.abs(a.materials[name].base_color.astype(int) - b.materials[name].base_color.astype(int)).max(-1)
        if not diff.any():
            continue
        mf = fields.skin[name]
        pos = mf.pos.repeat(mf.factor, 0).repeat(mf.factor, 1)[: diff.shape[0], : diff.shape[1]]
        dist = np.linalg.norm(pos[diff > 0] - centre, axis=1)
        changed += int((diff > 0).sum())
        assert dist.max() <= t.size * 0.75 + 0.5, (name, float(dist.max()))
    print(f"{location}: {changed} texels changed within {t.size * 0.75 + 0.5:.2f} cm of the decal centre")
    assert changed > 20
