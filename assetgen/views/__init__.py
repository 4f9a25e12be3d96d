"""Views of stored assets: camera sampling from a render config, rendering a GLB's views with their
ground truth into view files (`assetgen render`), reading view folders back and baking them into the
GLB's UV textures (`assetgen bake`). Uses the render engine (assetgen.render) and the baker
(assetgen.bake); nothing there imports this package."""

from .cameras import CameraRanges, load_ranges, sample_cameras
from .files import FILE_LAYERS, read_views, write_view
from .run import bake_views, render_views

__all__ = ["CameraRanges", "FILE_LAYERS", "bake_views", "load_ranges", "read_views", "render_views", "sample_cameras",
           "write_view"]
