"""UV space: rasterized layouts, per-texel maps, island padding and unwrapping."""

from .maps import interpolate, normal_map, position_map, region_map
from .padding import dilate, fill_background
from .raster import MaterialRaster, UVLayout, rasterize_uv
from .unwrap import UnwrappedMesh, unwrap

__all__ = [
    "MaterialRaster",
    "UVLayout",
    "dilate",
    "fill_background",
    "interpolate",
    "normal_map",
    "position_map",
    "rasterize_uv",
    "region_map",
    "UnwrappedMesh",
    "unwrap",
]
