"""Exporters: assets to renderer formats, each with its ground-truth sidecar.

glb (the GLB document), materials (its images), groundtruth (the NAME.gt.json sidecar of any format),
asset_files (an asset's NAME.glb + NAME.gt.json), parts (the mesh and texture files OBJ and USD share),
hair (an asset's hair ribbons and strands, as every format writes them), obj, usd, blender (a Blender
scene script), formats (format name -> writer), selection (library selections), validate (the Khronos
validator)."""

from ..uv.topology import GlbPrimitive
from .asset_files import WrittenAsset, write_asset
from .glb import GlbExport, build_glb, export_glb
from .groundtruth import ground_truth, write_ground_truth
from .validate import ValidatorUnavailable, validate_glb

__all__ = [
    "GlbExport",
    "GlbPrimitive",
    "ValidatorUnavailable",
    "WrittenAsset",
    "build_glb",
    "export_glb",
    "ground_truth",
    "validate_glb",
    "write_asset",
    "write_ground_truth",
]
