"""Morphable face models: loading, evaluation, topology, landmarks and regions."""

from .model import FaceModel, load_face_model, triangulate, vertex_normals

__all__ = ["FaceModel", "load_face_model", "triangulate", "vertex_normals"]
