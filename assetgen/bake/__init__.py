"""Projection baking of images from known cameras into UV textures."""

from .baker import BakeResult, Baker, View, edge_weight, pad_nearest, visibility_of

__all__ = ["BakeResult", "Baker", "View", "edge_weight", "pad_nearest", "visibility_of"]
