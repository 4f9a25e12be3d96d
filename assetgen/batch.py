"""`assetgen batch JOB.yaml`: fill a library with a job's assets, resumable and shardable.

A job (YAML, every key validated, unknown keys are errors):
    name: demo-job          # optional; asset names are NAME_INDEX (default: the recipe's name)
    n: 24                   # how many assets
    recipe: demo            # a shipped recipe by name (pipelines/) or a path to a recipe YAML
    seed: 0                 # the job seed: asset i's seed is asset_seed(seed, i)
    resolution: 512         # texture resolution (texels per UV tile of the skin)
    distribution:           # attribute ratios (see assetgen.library.sample), a path to such a YAML or
                            # a shipped one by name (configs/distributions/)
      lipstick: 0.2
      freckles: 0.1
      skin_tone: uniform
      hair_style: uniform   # hair keys (hair_style, beard_style, hair_color, grey) need a recipe with hair
    tags: [demo]            # optional tags on every asset

Paths in a job are relative to the job file (else to the current folder). `assetgen batch demo` runs
the shipped job configs/jobs/demo.yaml (assetgen.resources finds the shipped files from any folder).

The job id is a hash of everything that determines the assets except n (so raising n extends a job).
Each asset is catalogued with (job id, index), unique in the library: a rerun after a crash or kill makes
exactly the missing indices, and concurrent shards (`--shard i/n` takes the indices with index % n == i)
or even two processes on the same shard never store an index twice.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from . import resources
from .errors import ConfigError, InputError, validation_problems
from .names import name_problem
from .yamlio import load_yaml


class JobSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Optional[str] = None
    n: int = Field(ge=1, le=10_000_000)
    recipe: str = "demo"
    seed: int = Field(0, ge=0)
    resolution: int = Field(512, ge=16, le=8192)
    distribution: Union[dict[str, Any], str, None] = None
    tags: list[str] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _file_safe_name(cls, v: Optional[str]) -> Optional[str]:
        problem = None if v is None else name_problem(v) or (None if len(v) <= 64 else "use at most 64 characters")
        if problem is not None:  # asset files are named NAME_SEED_INDEX
            raise ValueError(f"job name {v!r} is not allowed: {problem}")
        return v


@dataclass
class Job:
    spec: JobSpec
    recipe: Any  # Recipe
    distribution: Any  # DistributionSpec
    id: str
    source: str = "job"

    @property
    def name(self) -> str:
        return self.spec.name or self.recipe.name

    def asset_name(self, index: int) -> str:
        return f"{self.name}_{self.spec.seed}_{index:06d}"


def _resolve_recipe(ref: str, base: Path):
    """A job's recipe: a bare name is a shipped recipe, anything else a path (job file's folder first)."""
    from .recipe import load_recipe

    if resources.is_name(ref):
        return load_recipe(resources.find("recipe", ref))
    for p in (base / ref, Path(ref)):
        if p.is_file():
            return load_recipe(p)
    raise ConfigError(f"recipe file {ref} not found (looked beside the job file and in the current folder)")


def _resolve_distribution(ref: str, base: Path) -> Path:
    """A job's distribution YAML: a path (job file's folder first), else a shipped distribution's name."""
    for p in (base / ref, Path(ref)):
        if p.is_file():
            return p
    return resources.find("distribution", ref) if resources.is_name(ref) else base / ref


def job_path(ref: str | Path) -> Path:
    """The job file `assetgen batch REF` means: REF if it is a file, else the shipped job of that name."""
    path = Path(ref)
    if path.is_file() or not resources.is_name(ref):
        if not path.is_file():
            raise ConfigError(f"job file {path} not found (shipped jobs, by name: "
                              f"{', '.join(resources.names('job')) or 'none'})")
        return path
    return resources.find("job", str(ref))


def load_job(path: str | Path) -> Job:
    """Read and validate a job file; every problem becomes one ConfigError naming the file and key."""
    path = Path(path)
    data = load_yaml(path, "job")
    return job_from_dict(data, base=path.parent, source=str(path))


def job_from_dict(data: Any, base: Path = Path("."), source: str = "job") -> Job:
    from .library.sample import distribution_from_dict, load_distribution
    from .library.store import canonical_json

    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping of job settings")
    try:
        spec = JobSpec.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{source} is invalid: {validation_problems(exc, JobSpec.model_fields)}") from exc
    recipe = _resolve_recipe(spec.recipe, base)
    if isinstance(spec.distribution, str):
        dist = load_distribution(_resolve_distribution(spec.distribution, base))
    else:
        dist = distribution_from_dict(spec.distribution, source=f"{source}: distribution")
    hair = dist.hair()
    if hair and recipe.hair is None:
        raise ConfigError(f"{source}: the distribution controls {', '.join(sorted(hair))}, but recipe "
                          f"{recipe.name!r} has no hair section; add `hair: {{}}` to the recipe")
    if hair:
        fixed = {"hair_style": recipe.hair.style, "beard_style": recipe.hair.beard_style,
                 "hair_color": recipe.hair.color}
        hclash = sorted(k for k in hair if fixed.get(k, "sample") != "sample")
        if "grey" in recipe.hair.color_params or recipe.hair.grey != "sample":
            hclash += sorted({"grey", "hair_color"} & hair)
        if hclash:
            raise ConfigError(f"{source}: the distribution controls {', '.join(hclash)}, which recipe "
                              f"{recipe.name!r} fixes in its hair section; drop one of them")
    items = dist.items()
    if items and recipe.items is None:
        raise ConfigError(f"{source}: the distribution controls {', '.join(sorted(items))}, but recipe "
                          f"{recipe.name!r} has no items section; add `items: {{}}` to the recipe")
    if items:
        iclash = sorted(k for k in items if getattr(recipe.items, k) != "sample"
                        or (k == "glasses" and recipe.items.lens != "sample" and not isinstance(dist.glasses, float)))
        if iclash:
            raise ConfigError(f"{source}: the distribution controls {', '.join(iclash)}, which recipe "
                              f"{recipe.name!r} fixes in its items section; drop one of them")
    controlled = set(dist.as_dict()) - hair - items
    if "skin_tone" in controlled:
        controlled.add("melanin")
    clash = sorted(controlled & set(recipe.texture.params))
    if clash:
        raise ConfigError(f"{source}: the distribution controls {', '.join(clash)}, which recipe "
                          f"{recipe.name!r} fixes; drop one of them")
    from .names import check_name

    for t in spec.tags:
        try:
            check_name(t, "tag")
        except InputError as exc:
            raise ConfigError(f"{source}: {exc}") from exc
    identity = {"format": "assetgen-job/1", "name": spec.name, "recipe": recipe.as_dict(), "seed": spec.seed,
                "resolution": spec.resolution, "distribution": dist.as_dict(), "tags": sorted(spec.tags)}
    job_id = hashlib.sha256(canonical_json(identity).encode()).hexdigest()[:16]
    return Job(spec=spec, recipe=recipe, distribution=dist, id=job_id, source=source)


def parse_shard(text: str | None) -> tuple[int, int]:
    if not text:
        return 0, 1
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise InputError(f"--shard {text!r}: expected I/N, e.g. 0/4") from None
    if n < 1 or not 0 <= i < n:
        raise InputError(f"--shard {text!r}: need 0 <= I < N")
    return i, n


@dataclass
class BatchResult:
    job_id: str
    made: list[str] = field(default_factory=list)
    skipped: int = 0  # indices already in the library
    lost_race: int = 0  # indices another process stored while this one made them
    seconds: float = 0.0


def make_job_asset(job: Job, model, layout, index: int):
    """Asset `index` of `job` (without storing it)."""
    from .generate import AssetRequest, asset_seed, make_asset
    from .library.sample import HAIR_KEYS, TargetSequence, texture_overrides
    from .recipe import TextureSpec

    seed = asset_seed(job.spec.seed, index)
    recipe = job.recipe
    targets: dict[str, Any] = {}
    if not job.distribution.empty:
        targets = TargetSequence(job.distribution, job.spec.seed).targets(index)
        targets = {k: (v if isinstance(v, str) else bool(v)) for k, v in targets.items()}
        overrides = texture_overrides(targets, seed)
        recipe = recipe.model_copy(update={"texture": TextureSpec(
            backend=recipe.texture.backend, params={**recipe.texture.params, **overrides})})
        if recipe.hair is not None and any(k in targets for k in HAIR_KEYS):
            recipe = recipe.model_copy(update={"hair": job_hair(recipe.hair, targets, seed)})
        if recipe.items is not None:
            from .library.sample import item_overrides

            upd = item_overrides(targets)
            if upd:
                recipe = recipe.model_copy(update={"items": recipe.items.model_copy(update=upd)})
    request = AssetRequest(name=job.asset_name(index), seed=seed, recipe=recipe, job_seed=job.spec.seed, index=index)
    asset = make_asset(model, layout, request)
    asset.provenance["job"] = {"id": job.id, "name": job.name, "index": index,
                               "distribution": job.distribution.as_dict(),
                               "targets": targets}
    return asset


def job_hair(spec, targets: dict[str, Any], seed: int):
    """The recipe's HairSpec with the values that realize a batch asset's hair targets."""
    from .library.sample import hair_overrides

    upd = hair_overrides(targets, seed)
    if "color_params" in upd:
        upd["color_params"] = {**spec.color_params, **upd["color_params"]}
    return spec.model_copy(update=upd)


def run_batch(job: Job | str | Path, library: str | Path = "library", shard: tuple[int, int] = (0, 1),
              face_model: Path | None = None, console=None, limit: int | None = None) -> BatchResult:
    """Make the job's missing assets of this shard and store each in the library as it is made."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from .face.locate import get_face_model
    from .library.store import Library
    from .recipe import check_recipe
    from .uv import rasterize_uv

    if not isinstance(job, Job):
        job = load_job(job)
    i_shard, n_shard = shard
    model = get_face_model(face_model)
    check_recipe(model, job.recipe)
    t0 = time.perf_counter()
    lib = Library.open(library, create=True)
    result = BatchResult(job_id=job.id)
    try:
        done = lib.job_indices(job.id)
        mine = [i for i in range(i_shard, job.spec.n, n_shard)]
        todo = [i for i in mine if i not in done]
        result.skipped = len(mine) - len(todo)
        if limit is not None:
            todo = todo[:limit]
        with Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TimeRemainingColumn(), console=console, transient=False, disable=console is None,
        ) as progress:
            task = progress.add_task(f"job {job.name} ({job.id[:8]}) shard {i_shard}/{n_shard}",
                                     total=len(mine), completed=result.skipped)
            layout = rasterize_uv(model, job.spec.resolution) if todo else None
            for index in todo:
                if lib.has_job_index(job.id, index):  # a concurrent process made it meanwhile
                    result.lost_race += 1
                    progress.advance(task)
                    continue
                asset = make_job_asset(job, model, layout, index)
                put = lib.put(asset, job_id=job.id, job_index=index, tags=job.spec.tags)
                if put.created:
                    result.made.append(put.id)
                else:
                    result.lost_race += 1
                del asset
                progress.advance(task)
    finally:
        lib.close()
    result.seconds = time.perf_counter() - t0
    return result
