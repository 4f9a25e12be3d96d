"""Issue 13's must-show: a 200-image set of 20 subjects at 512² renders, validates and reproduces byte for
byte from its seed: made once by two worker processes, then again into another folder in two shards (each
by two worker processes, which deal out the shard's subjects differently from the first run)."""

from __future__ import annotations

from pathlib import Path

import pytest

from assetgen.dataset import job_from_dict, run_dataset
from assetgen.dataset.validate import validate
from assetgen.dataset.writer import file_names

JOB = {
    "name": "two-hundred",
    "count": 200,
    "seed": 13,
    "resolution": 512,
    "images_per_subject": 10,
    "subjects": {"recipe": "demo", "texture_resolution": 128, "hair": ["brows", "lashes"]},
    "camera": {"supersample": 2},
    "layers": ["regions", "depth", "normal"],
}


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.mark.slow
def test_200_images_of_20_subjects_at_512_validate_and_reproduce_from_the_seed(tmp_path, face_model):
    job = job_from_dict(JOB, source="job.yaml")
    first = run_dataset(job, tmp_path / "one", workers=2)
    assert first.complete and first.made == list(range(200))
    assert validate(tmp_path / "one") == []
    made = files(tmp_path / "one")
    for i in (0, 57, 199):
        assert set(file_names(i, job.spec.layers).values()) <= set(made)
    assert len({p for p in made if p.endswith("_seg.png")}) == 200

    again = tmp_path / "two"
    assert run_dataset(job, again, shard=(1, 2), workers=2).made == [i for i in range(200) if (i // 10) % 2 == 1]
    assert run_dataset(job, again, shard=(0, 2), workers=2).complete
    second = files(again)
    assert sorted(second) == sorted(made)
    assert [name for name in made if made[name] != second[name]] == []
