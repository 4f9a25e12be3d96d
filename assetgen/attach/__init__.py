"""Things attached to the face model's surface.

binding: Binding (points relative to the skin: triangle + barycentric + offset in the local frame, K anchors
         per point), bind / bind_at / bind_polylines / evaluate, RigidBinding for rigid items (glasses, hats).
head:    HeadGeometry (closed skin, head frame and chart, signed distance grid, ears, anchors) per rest shape.
hair:    procedural grooms (scalp, brows, beard, lashes), pigment colours, ribbons (assetgen.attach.hair).
"""

from .binding import (
    Binding,
    RigidBinding,
    bind,
    bind_at,
    bind_polylines,
    evaluate,
    fit_rigid,
)
from .head import HeadGeometry, head_geometry

__all__ = ["Binding", "HeadGeometry", "RigidBinding", "bind", "bind_at", "bind_polylines", "evaluate", "fit_rigid",
           "head_geometry"]
