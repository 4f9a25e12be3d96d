"""Pinhole cameras in OpenCV's convention and their exact OpenGL projection.

Convention (OpenCV): camera coordinates x_c = R @ x_w + t with `world_to_camera` = [[R, t], [0, 1]];
+x right, +y down, the camera looks along +z. Pixels: (0, 0) is the top-left corner of the top-left
pixel, so pixel (i, j) (column i, row j) has its centre at (i + 0.5, j + 0.5), and
    u = fx * x/z + s * y/z + cx,   v = fy * y/z + cy      with K = [[fx, s, cx], [0, fy, cy], [0, 0, 1]].
World: metres, +y up (the GLB's frame).

From K to a GL projection (derivation). GL maps clip (X, Y, Z, W) to NDC by dividing by W and NDC x in
[-1, 1] to window x in [0, W_px] by x_win = (x_ndc + 1) / 2 * W_px; it samples pixel column i at
x_win = i + 0.5. Choosing W = z and X = (2 fx x + 2 s y) / W_px + (2 cx / W_px - 1) z gives
x_win = fx x/z + s y/z + cx = u exactly, so GL samples each pixel at the same centre as OpenCV.
Likewise Y = 2 fy y / H_px + (2 cy / H_px - 1) z gives y_win = v: window row 0 is then image row 0, and
since glReadPixels returns window row 0 first, buffers read back are already top-first images (the
flip reverses triangle winding, which does not matter as nothing is culled). Depth:
Z = (f + n)/(f - n) z - 2 f n / (f - n) maps z in [n, f] to NDC [-1, 1] (only used for the depth test;
the depth layer is the interpolated camera z itself).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import InputError


@dataclass(frozen=True, eq=False)
class Camera:
    """K: (3, 3) float64 intrinsics; world_to_camera: (4, 4) float64 rigid transform (OpenCV axes);
    size: (width, height) in pixels."""

    K: np.ndarray
    world_to_camera: np.ndarray
    size: tuple[int, int]

    def __post_init__(self):
        K = np.asarray(self.K, dtype=np.float64)
        T = np.asarray(self.world_to_camera, dtype=np.float64)
        if K.shape != (3, 3) or T.shape != (4, 4):
            raise InputError(f"camera K must be 3x3 and world_to_camera 4x4, got {K.shape} and {T.shape}")
        if not (np.isfinite(K).all() and np.isfinite(T).all()):
            raise InputError("camera K or world_to_camera holds NaN or infinity; pass finite matrices")
        if not (K[0, 0] > 0 and K[1, 1] > 0) or K[1, 0] != 0 or K[2, 0] != 0 or K[2, 1] != 0 or K[2, 2] != 1:
            raise InputError(
                "camera K must be upper triangular [[fx, s, cx], [0, fy, cy], [0, 0, 1]] with fx, fy > 0 "
                f"(a singular or non-pinhole K cannot project), got {K.tolist()}"
            )
        R = T[:3, :3]
        if not np.allclose(T[3], [0, 0, 0, 1]) or not np.allclose(R @ R.T, np.eye(3), atol=1e-5) or np.linalg.det(R) < 0:
            raise InputError(
                "world_to_camera must be a rigid transform [[R, t], [0, 0, 0, 1]] with R a rotation "
                f"(orthonormal, det +1); got det(R) = {np.linalg.det(R):.4g}. Singular or scaled matrices are refused"
            )
        w, h = (int(x) for x in self.size)
        if w < 1 or h < 1 or w > 16384 or h > 16384:
            raise InputError(f"image size must be 1..16384 pixels a side, got {self.size}")
        object.__setattr__(self, "K", K)
        object.__setattr__(self, "world_to_camera", T)
        object.__setattr__(self, "size", (w, h))

    @property
    def R(self) -> np.ndarray:
        return self.world_to_camera[:3, :3]

    @property
    def t(self) -> np.ndarray:
        return self.world_to_camera[:3, 3]

    @property
    def centre(self) -> np.ndarray:
        """(3,) camera centre in world coordinates."""
        return -self.R.T @ self.t

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        """World points (n, 3) -> camera coordinates (n, 3) float64."""
        return np.asarray(points, np.float64) @ self.R.T + self.t

    def project(self, points_camera: np.ndarray) -> np.ndarray:
        """Camera points (n, 3) -> pixel coordinates (n, 2) float64 (NaN where z <= 0)."""
        p = np.asarray(points_camera, np.float64)
        z = np.where(p[:, 2] > 0, p[:, 2], np.nan)
        uvw = p @ self.K.T
        return uvw[:, :2] / z[:, None]

    def pixel_directions(self, pixels: np.ndarray) -> np.ndarray:
        """(n, 3) unit directions of the rays through pixel positions (n, 2), camera frame."""
        px = np.asarray(pixels, np.float64)
        d = np.linalg.solve(self.K, np.column_stack([px, np.ones(len(px))]).T).T
        return d / np.linalg.norm(d, axis=1, keepdims=True)

    def pixel_rays(self, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rays through pixel positions (n, 2): origins (n, 3) and unit directions (n, 3), world frame."""
        d = self.pixel_directions(pixels) @ self.R  # R^T d for each row
        return np.broadcast_to(self.centre, d.shape).copy(), d

    def gl_projection(self, near: float, far: float) -> np.ndarray:
        """(4, 4) float64 clip-from-camera matrix (see the module docstring)."""
        if not (0 < near < far and math.isfinite(far)):
            raise InputError(f"near/far planes must satisfy 0 < near < far, got {near}, {far}")
        (fx, s, cx), (_, fy, cy) = self.K[0], self.K[1]
        w, h = self.size
        return np.array(
            [
                [2 * fx / w, 2 * s / w, 2 * cx / w - 1, 0],
                [0, 2 * fy / h, 2 * cy / h - 1, 0],
                [0, 0, (far + near) / (far - near), -2 * far * near / (far - near)],
                [0, 0, 1, 0],
            ]
        )

    def to_json(self) -> dict:
        return {"K": self.K.tolist(), "world_to_camera": self.world_to_camera.tolist(), "image_size": list(self.size)}

    @classmethod
    def from_json(cls, data: dict) -> "Camera":
        try:
            return cls(np.asarray(data["K"], float), np.asarray(data["world_to_camera"], float), tuple(data["image_size"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"camera record needs K (3x3), world_to_camera (4x4) and image_size [w, h]: {exc}") from exc


def look_at(eye, target, up=(0.0, 1.0, 0.0)) -> np.ndarray:
    """(4, 4) world_to_camera (OpenCV axes) of a camera at `eye` looking at `target`, world `up` kept up."""
    eye, target, up = (np.asarray(a, np.float64) for a in (eye, target, up))
    z = target - eye
    if not np.linalg.norm(z) > 0:
        raise InputError("look_at: eye and target coincide")
    z /= np.linalg.norm(z)
    x = np.cross(z, up)  # image right; world up maps to image -y (down is +y)
    if not np.linalg.norm(x) > 1e-9:
        raise InputError("look_at: viewing direction is parallel to the up vector")
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    T = np.eye(4)
    T[:3, :3] = np.stack([x, y, z])
    T[:3, 3] = -T[:3, :3] @ eye
    return T


def intrinsics(width: int, height: int, focal_px: float) -> np.ndarray:
    """(3, 3) K with square pixels and the principal point at the image centre."""
    return np.array([[focal_px, 0, width / 2], [0, focal_px, height / 2], [0, 0, 1]], np.float64)
