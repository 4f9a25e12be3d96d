"""A subject's groom in the library: every array of every strand group as a content-addressed .npy blob
(role groom/<region>/<array>), the parameters, strand counts and digest in the asset's record.

Loading rebuilds the Groom from exactly those bytes, so the loaded groom's digest equals the stored one
(`library check` recomputes it).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .common import LibraryError, npy_bytes, npy_load

GROUP_ARRAYS = ("points", "root_tri", "root_bary", "root_radius", "tip_taper", "width", "coverage", "side",
                "melanin", "redness", "grey", "absorption", "color")
BINDING_ARRAYS = ("tri", "bary", "offset", "weight", "triangles")
PREFIX = "groom/"


def groom_payload(groom) -> tuple[dict[str, bytes], dict[str, Any]]:
    """(role -> .npy bytes, the record's "groom" entry) of a Groom."""
    payload = {f"{PREFIX}rest_vertices": npy_bytes(groom.rest_vertices)}
    groups = []
    for g in groom.groups:
        base = f"{PREFIX}{g.region}/"
        for name in GROUP_ARRAYS:
            payload[base + name] = npy_bytes(getattr(g, name))
        for name in BINDING_ARRAYS:
            payload[base + "binding." + name] = npy_bytes(getattr(g.binding, name))
        for key, arr in sorted(g.labels.items()):
            payload[base + "labels." + key] = npy_bytes(np.asarray(arr))
        groups.append({"region": g.region, "normals": g.binding.normals, "labels": sorted(g.labels)})
    record = {"params": groom.params.as_dict(), "digest": groom.digest(), "groups": groups,
              "n_strands": groom.n_strands()}
    return payload, record


def groom_from_blobs(record: dict[str, Any], blobs: dict[str, str], read: Callable[[str], bytes]):
    """The Groom a record's "groom" entry and its blobs describe (read: blob sha -> bytes)."""
    from ..attach.binding import Binding
    from ..attach.hair import GroomParams, StrandGroup
    from ..attach.hair.strands import Groom

    def arr(role: str) -> np.ndarray:
        if role not in blobs:
            raise LibraryError(f"the groom's blob {role} is not in the asset's record; run `assetgen library check`")
        return npy_load(read(blobs[role]))

    groups = []
    for spec in record.get("groups", []):
        base = f"{PREFIX}{spec['region']}/"
        b = {name: arr(base + "binding." + name) for name in BINDING_ARRAYS}
        binding = Binding(b["tri"], b["bary"], b["offset"], b["weight"], b["triangles"], spec["normals"])
        labels = {k: arr(base + "labels." + k) for k in spec.get("labels", [])}
        groups.append(StrandGroup(region=spec["region"], binding=binding, labels=labels,
                                  **{name: arr(base + name) for name in GROUP_ARRAYS}))
    params = GroomParams.model_validate(record["params"])
    return Groom(tuple(groups), params, arr(f"{PREFIX}rest_vertices"), {"n_strands": record.get("n_strands", {})})
