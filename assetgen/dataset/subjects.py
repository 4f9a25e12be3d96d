"""The subjects of a data set: made on the fly by `assetgen batch`'s own code (subject s is asset s of a batch
job with the data set's recipe, seed, texture resolution and distribution) or loaded from a library (a query,
or a sample with a distribution's attribute ratios). Each image re-poses its subject with its expression."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from ..geometry import world_positions
from .job import DatasetJob


@dataclass
class Subject:
    """index: the subject's number in the job; asset: its Asset (identity, textures, groom, labels);
    info: what the image records say about it; target: (3,) world point the cameras look at (the centre
    of its 68 landmarks at neutral expression plus the job's target offset, metres)."""

    index: int
    asset: object
    info: dict
    target: np.ndarray

    def posed(self, model, weights: dict[str, float]):
        """The subject's asset with these expression weights (identity, textures and groom kept)."""
        ex = model.expression_weights(weights)
        return replace(self.asset, vertices=model.vertices(self.asset.identity_weights, ex), expression_weights=ex)

    def info_wearing(self, outfit) -> dict:
        """info with the item labels of what an image shows: `outfit` (an Outfit, None: nothing worn) in place
        of the subject's own (a sweep's cell may take an item off)."""
        from ..attach.items import item_labels

        labels = dict(self.info.get("labels", {}))
        labels.update(item_labels(None if outfit is None else outfit.params))
        return {**self.info, "labels": labels}


def _labels(asset) -> dict:
    """The subject's labels without its stored expression (each image records the one it shows)."""
    return {k: v for k, v in asset.labels.items() if k != "expression"}


class Subjects:
    """Subject s of the job, made or loaded on first use (the last one is kept)."""

    def __init__(self, job: DatasetJob, model, library_ids: list[str] | None = None):
        self.job = job
        self.model = model
        self.spec = job.spec.subjects
        self._last: Subject | None = None
        self._layout = None
        self._library = None
        self.batch_job = None
        self.library_ids: list[str] | None = None
        if self.spec.recipe is not None:
            self.batch_job = self._make_batch_job()
        else:
            self.library_ids = library_ids if library_ids is not None else self._select()

    # ---- subjects made on the fly --------------------------------------------------------------------
    def _make_batch_job(self):
        """The `assetgen batch` job whose asset s is subject s (its recipe and distribution checked there)."""
        from ..batch import job_from_dict
        from ..library.sample import HAIR_KEYS
        from ..recipe import check_recipe

        spec = self.job.spec
        data = {"name": self.job.name, "n": spec.n_subjects, "recipe": self.spec.recipe, "seed": spec.seed,
                "resolution": self.spec.texture_resolution, "distribution": self.spec.distribution}
        batch = job_from_dict(data, base=self.job.base, source=f"{self.job.source}: subjects")
        hair = self.spec.hair
        if hair is not True:
            recipe = batch.recipe
            parts = () if hair is False else tuple(hair)
            if parts and recipe.hair is None:
                raise ConfigError(f"{self.job.source}: subjects.hair lists {', '.join(parts)} but recipe "
                                  f"{recipe.name!r} has no hair section; add `hair: {{}}` to it or drop subjects.hair")
            # What is not grown is labelled so: no scalp part means bald, no beard part no beard.
            lost = {"hair_style": "scalp", "beard_style": "beard"}
            keys = set(HAIR_KEYS) if not parts else {k for k, part in lost.items() if part not in parts}
            clash = sorted(set(batch.distribution.as_dict()) & keys)
            if clash:
                raise ConfigError(f"{self.job.source}: subjects.distribution controls {', '.join(clash)}, but "
                                  f"subjects.hair is {hair!r}; drop one of them")
            if not parts:
                recipe = recipe.model_copy(update={"hair": None})
            else:
                fixed = {"parts": parts}
                if "scalp" not in parts:
                    fixed["style"] = "bald"
                if "beard" not in parts:
                    fixed["beard_style"] = "none"
                recipe = recipe.model_copy(update={"hair": recipe.hair.model_copy(update=fixed)})
            batch = replace(batch, recipe=recipe)
        check_recipe(self.model, batch.recipe)
        return batch

    def _recipe_subject(self, s: int):
        from ..batch import make_job_asset
        from ..uv import rasterize_uv

        if self._layout is None:
            self._layout = rasterize_uv(self.model, self.spec.texture_resolution)
        asset = make_job_asset(self.batch_job, self.model, self._layout, s)
        return asset, {"index": s, "name": asset.name, "seed": asset.provenance.get("seed"),
                       "recipe": self.batch_job.recipe.name, "labels": _labels(asset)}

    # ---- library subjects ----------------------------------------------------------------------------
    def _library_path(self) -> Path:
        ref = Path(self.spec.library)
        return ref if ref.is_absolute() else self.job.base / ref

    def _open_library(self):
        if self._library is None:
            from ..library.store import Library

            self._library = Library.open(self._library_path(), create=False, readonly=True)
        return self._library

    def _select(self) -> list[str]:
        """The library assets subject 0, 1, ... are (cycled when there are fewer than subjects)."""
        from .. import resources
        from ..library.sample import distribution_from_dict, load_distribution, sample_assets

        lib = self._open_library()
        n = self.job.spec.n_subjects
        dist = self.spec.distribution
        if dist is None:
            ids = lib.query(list(self.spec.where))
            if not ids:
                raise ConfigError(f"{self.job.source}: no library asset in {self._library_path()} matches "
                                  f"subjects.where {list(self.spec.where)}; loosen the filters or fill the library")
        else:
            if isinstance(dist, str):
                path = self.job.base / dist
                spec = load_distribution(path if path.is_file() else resources.find("distribution", dist))
            else:
                spec = distribution_from_dict(dist, source=f"{self.job.source}: subjects.distribution")
            ids = sample_assets(lib, spec, n, self.job.spec.seed, where=list(self.spec.where)).ids
        if any(lib.record(i).kind != "face" for i in dict.fromkeys(ids[:n])):
            raise ConfigError(f"{self.job.source}: subjects.library selects imported meshes; data-set subjects must "
                              "be face-model assets (each image re-poses them); add the filter kind=face to where")
        return ids

    def _library_subject(self, s: int):
        asset_id = self.library_ids[s % len(self.library_ids)]
        asset = self._open_library().load(asset_id, self.model)
        return asset, {"index": s, "name": asset.name, "library_id": asset_id, "labels": _labels(asset)}

    def close(self) -> None:
        if self._library is not None:
            self._library.close()
            self._library = None

    # ---- either ----------------------------------------------------------------------------------------
    def get(self, s: int) -> Subject:
        if self._last is not None and self._last.index == s:
            return self._last
        self._last = None  # free the previous subject before making the next
        asset, info = self._recipe_subject(s) if self.batch_job is not None else self._library_subject(s)
        neutral = replace(asset, vertices=self.model.vertices(asset.identity_weights, None))
        lm = world_positions(neutral)[np.asarray(self.model.landmarks_68)].astype(np.float64)
        target = lm.mean(0) + np.asarray(self.job.spec.camera.target_offset_m, np.float64)
        self._last = Subject(s, asset, info, target)
        return self._last
