"""A subject's outfit in the library: every array of every item (mesh, binding, hair clip) as a
content-addressed .npy blob (role items/<kind>/<array>), the params, materials, fit records and digest in
the asset's record ("items"). A material with a stored image (e.g. diffusion-made) keeps its pixels as one
more blob, items/<kind>/image.<material name> ((size, size, 3) uint8), its SHA-256 in the material's entry.

Loading rebuilds the Outfit from exactly those bytes, so the loaded outfit's digest equals the stored one
(`library check` recomputes it).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .common import LibraryError, npy_bytes, npy_load

MESH_ARRAYS = ("positions", "normals", "uv", "triangles", "part", "region")
BINDING_ARRAYS = ("tri", "bary", "offset", "weight", "triangles")
PREFIX = "items/"


def items_payload(outfit) -> tuple[dict[str, bytes], dict[str, Any]]:
    """(role -> .npy bytes, the record's "items" entry) of an Outfit."""
    payload: dict[str, bytes] = {}
    entries = []
    for it in outfit.items:
        base = f"{PREFIX}{it.kind}/"
        for name in MESH_ARRAYS:
            payload[base + "mesh." + name] = npy_bytes(getattr(it.mesh, name))
        binding = it.binding.anchors if it.rigid else it.binding
        for name in BINDING_ARRAYS:
            payload[base + "binding." + name] = npy_bytes(getattr(binding, name))
        if it.rigid:
            payload[base + "rigid.rest"] = npy_bytes(it.binding.rest)
            payload[base + "rigid.weights"] = npy_bytes(it.binding.weights)
        if it.hair_clip is not None:
            payload[base + "clip.triangles"] = npy_bytes(it.hair_clip.triangles)
            payload[base + "clip.clearance"] = npy_bytes(it.hair_clip.clearance)
        for m in it.mesh.materials:
            if m.image is not None:
                payload[base + "image." + m.name] = npy_bytes(m.image_array())
        entries.append({"kind": it.kind, "variant": it.variant, "rigid": it.rigid, "normals": binding.normals,
                        "parts": list(it.mesh.parts), "regions": list(it.mesh.regions),
                        "materials": [m.as_dict() for m in it.mesh.materials], "clip": it.hair_clip is not None,
                        "info": dict(it.info)})
    record = {"params": outfit.params.as_dict(), "digest": outfit.digest(), "items": entries}
    return payload, record


def items_from_blobs(record: dict[str, Any], blobs: dict[str, str], read: Callable[[str], bytes]):
    """The Outfit a record's "items" entry and its blobs describe (read: blob sha -> bytes)."""
    from ..attach.binding import Binding, RigidBinding
    from ..attach.items import (
        HairClip,
        Item,
        ItemMaterial,
        ItemMesh,
        Outfit,
        OutfitParams,
    )

    def arr(role: str) -> np.ndarray:
        if role not in blobs:
            raise LibraryError(f"the outfit's blob {role} is not in the asset's record; run `assetgen library check`")
        return npy_load(read(blobs[role]))

    params = OutfitParams.model_validate(record["params"])
    items = []
    for spec in record.get("items", []):
        base = f"{PREFIX}{spec['kind']}/"
        m = {name: arr(base + "mesh." + name) for name in MESH_ARRAYS}
        mats = tuple(ItemMaterial.from_dict(d, arr(base + "image." + d["name"]) if d.get("image") else None)
                     for d in spec["materials"])
        mesh = ItemMesh(**m, parts=tuple(spec["parts"]), regions=tuple(spec["regions"]), materials=mats)
        b = {name: arr(base + "binding." + name) for name in BINDING_ARRAYS}
        binding = Binding(b["tri"], b["bary"], b["offset"], b["weight"], b["triangles"], spec["normals"])
        if spec["rigid"]:
            binding = RigidBinding(binding, arr(base + "rigid.rest"), arr(base + "rigid.weights"))
        clip = HairClip(arr(base + "clip.triangles"), arr(base + "clip.clearance")) if spec.get("clip") else None
        items.append(Item(spec["kind"], spec["variant"], getattr(params, spec["kind"]), mesh, binding, clip,
                          spec.get("info", {})))
    return Outfit(tuple(items), params, {})


def check_items(library, ids: list[str]) -> list[str]:
    """Problems of stored outfits: each rebuilt from its blobs must have the digest its record names."""
    problems = []
    for aid in ids:
        r = library.record(aid).record
        if "items" not in r:
            continue
        try:
            digest = items_from_blobs(r["items"], r.get("blobs", {}), library.read_blob).digest()
        except Exception as exc:  # a missing or damaged blob is reported by the blob check; name the asset here
            problems.append(f"asset {aid}: its outfit does not load ({str(exc).splitlines()[0]})")
            continue
        if digest != r["items"].get("digest"):
            problems.append(f"asset {aid}: its outfit's digest {digest} differs from the recorded "
                            f"{r['items'].get('digest')}")
    return problems
