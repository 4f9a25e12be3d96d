"""Ground-truth rendering of assets from OpenCV cameras (see camera.py for conventions)."""

from .camera import Camera, intrinsics, look_at
from .mesh import Primitive, RenderMesh, as_mesh, mesh_from_asset, read_glb
from .renderer import GT_LAYERS, LAYERS, Light, Renderer, RenderResult, render

__all__ = [
    "Camera", "GT_LAYERS", "LAYERS", "Light", "Primitive", "RenderMesh", "RenderResult", "Renderer",
    "as_mesh", "intrinsics", "look_at", "mesh_from_asset", "read_glb", "render",
]
