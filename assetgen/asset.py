"""An asset: a mesh of the face model (with its identity and expression weights), a texture set, its groom
(hair strands bound to the model), labels and provenance. Plain data; exporters and the library consume it."""

from __future__ import annotations

import platform
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import numpy as np

from . import __version__
from .codeid import code_digest
from .face import FaceModel
from .texture.base import TextureSet

if TYPE_CHECKING:
    from .attach.hair import Groom
    from .attach.items import Outfit


@dataclass(eq=False)
class Asset:
    """name: file-safe asset name; vertices: (V, 3) float32 in the model's units (cm for ICT);
    identity_weights: (I,) float; expression_weights: (E,) float in [0, 1];
    labels: attribute -> value (texture labels plus geometry and hair ones); provenance: how it was made;
    groom: the hair (assetgen.attach.hair.Groom) grown on the identity's neutral shape, or None (no hair).
    Its renderable ribbons: build_ribbons(asset.groom, asset.model, asset.vertices) (cm).
    items: the outfit (assetgen.attach.items.Outfit: glasses, clothing, headwear, facewear) fitted to the
    identity and bound to the model, or None (nothing worn). Posed: asset.items.evaluate(asset.vertices)."""

    name: str
    model: FaceModel
    vertices: np.ndarray
    identity_weights: np.ndarray
    expression_weights: np.ndarray
    textures: TextureSet
    labels: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    groom: Groom | None = None
    items: Outfit | None = None

    @property
    def expression_named(self) -> dict[str, float]:
        """The non-zero expression weights by name."""
        return {
            n: float(w) for n, w in zip(self.model.expression_names, self.expression_weights) if w != 0
        }


def code_provenance() -> dict[str, Any]:
    """What produced an asset, without wall-clock time (so identical runs give identical bytes)."""
    import importlib.metadata as md

    def version(pkg: str) -> str | None:
        try:
            return md.version(pkg)
        except md.PackageNotFoundError:
            return None

    return {
        "assetgen": __version__,
        "assetgen_code": code_digest(),  # (the version does not change with every change of the code)
        "python": platform.python_version(),
        "numpy": np.__version__,
        "opencv": version("opencv-python-headless"),
        "platform": sys.platform,
    }


def utc_timestamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
