"""Exporters: assets to renderer formats, each with its ground-truth sidecar."""

from .glb import GlbExport, GlbPrimitive, build_glb, export_glb, world_positions
from .groundtruth import ground_truth, write_ground_truth
from .validate import ValidatorUnavailable, validate_glb

__all__ = [
    "GlbExport",
    "GlbPrimitive",
    "ValidatorUnavailable",
    "build_glb",
    "export_glb",
    "ground_truth",
    "validate_glb",
    "world_positions",
    "write_ground_truth",
]
