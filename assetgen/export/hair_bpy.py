"""bpy source shared by the generated Blender scripts (export.blender's scene.py, dataset.cycles's render.py):
an asset's hair as Blender hair curves with a Principled Hair BSDF instead of the GLB's ribbon cards, from the
STEM.hair.npz that export.blender.write_hair_curves writes (its module docstring: K fibres spread across each
clump's width, radius fill * width / (2 K), each fibre's absorption coefficient)."""

HAIR_BPY = r'''

def hair_curves(path, objects, mats, stem, offset_x=0.0, pass_index=0, keep_cards=False):
    """Hair curves objects (STEM_hair_<region>) from the STEM.hair.npz at `path` for the imported mesh
    `objects` (their materials by name in `mats`). keep_cards False: the hair cards' faces are deleted and the
    GLB's Hair_<region> material becomes the curves' Principled Hair BSDF; True: the cards' faces move to mesh
    objects of their own (for a render that needs them, e.g. an index pass) keeping that material, and the
    curves get a converted copy. Returns ([(region, curves object)], [card objects]); ([], []) without the
    file."""
    if not os.path.isfile(path):
        return [], []
    import numpy as np

    data = np.load(path, allow_pickle=False)
    cards = []
    for o in list(objects):
        if o.type == "MESH":
            if keep_cards:
                c = split_hair_cards(o)
                if c is not None:
                    cards.append(c)
            else:
                drop_hair_cards(o)
    made = []
    for region in [str(r) for r in data["regions"]]:
        pts = np.asarray(data["points_" + region], np.float32)  # (S, P, 3) in the GLB's frame (+y up)
        widths = np.asarray(data["widths_" + region], np.float32)  # (S, P) clump widths
        k = int(data["fibres_" + region])
        across = ((np.arange(k, dtype=np.float32) + 0.5) / k - 0.5)[None, :, None, None]
        fibres = pts[:, None] + across * widths[:, None, :, None] * np.asarray(data["sides_" + region])[:, None]
        radius_of = 0.5 * np.asarray(data["fill_" + region], np.float32)[:, None, None] * widths[:, None] / k
        s, p = pts.shape[0] * k, pts.shape[1]
        fibres = fibres.reshape(s, p, 3)
        curves = bpy.data.hair_curves.new("Hair_" + region)
        curves.add_curves([p] * s)
        curves.set_types(type="POLY")
        # glTF (x, y, z) -> Blender (x, -z, y), as the glTF importer turns the meshes
        curves.position_data.foreach_set("vector", np.stack([fibres[..., 0], -fibres[..., 2], fibres[..., 1]],
                                                            -1).ravel())
        radius = curves.attributes.get("radius") or curves.attributes.new("radius", "FLOAT", "POINT")
        radius.data.foreach_set("value", np.broadcast_to(radius_of, (pts.shape[0], k, p)).ravel())
        absorption = curves.attributes.new("assetgen_absorption", "FLOAT_VECTOR", "CURVE")
        absorption.data.foreach_set("vector", np.asarray(data["absorption_" + region], np.float32).ravel())
        obj = bpy.data.objects.new(stem + "_hair_" + region, curves)
        obj.location.x += offset_x
        obj.pass_index = pass_index
        bpy.context.scene.collection.objects.link(obj)
        base = "Hair_" + region
        mat = next((m for name, m in sorted(mats.items()) if name == base or
                    (name.startswith(base + ".") and name[len(base) + 1:].isdigit())), None)
        if mat is None:
            mat = mats[base] = bpy.data.materials.new(base)
        elif keep_cards:
            mat = mat.copy()
            mat.name = base + "_curves"
        hair_material(mat, data)
        curves.materials.append(mat)
        made.append((region, obj))
    return made, cards


def _hair_slots(obj):
    return {k for k, m in enumerate(obj.data.materials) if m is not None and m.name.startswith("Hair_")}


def _delete_faces(obj, keep_hair):
    """Delete the faces of obj whose material is (keep_hair False) or is not (True) a Hair_* one."""
    import bmesh

    slots = _hair_slots(obj)
    bm = bmesh.new()
    bm.from_mesh(obj.data)
    bmesh.ops.delete(bm, geom=[f for f in bm.faces if (f.material_index in slots) != keep_hair], context="FACES")
    bm.to_mesh(obj.data)
    bm.free()


def drop_hair_cards(obj):
    """Delete the faces of the Hair_* materials from an imported mesh (the curves stand for them)."""
    if _hair_slots(obj):
        _delete_faces(obj, keep_hair=False)


def split_hair_cards(obj):
    """Move the faces of the Hair_* materials of an imported mesh to a new object (returned; None without
    any): the same materials, transform and pass index."""
    if not _hair_slots(obj):
        return None
    cards = obj.copy()
    cards.data = obj.data.copy()
    cards.name = obj.name + "_hair_cards"
    for c in obj.users_collection:
        c.objects.link(cards)
    _delete_faces(cards, keep_hair=True)
    _delete_faces(obj, keep_hair=False)
    return cards


def hair_material(mat, data):
    """mat becomes a Principled Hair BSDF (absorption coefficient) driven by the per-fibre curve attribute."""
    if mat.node_tree is None:
        mat.use_nodes = True
    nt = mat.node_tree
    nt.nodes.clear()
    out = nt.nodes.new("ShaderNodeOutputMaterial")
    bsdf = nt.nodes.new("ShaderNodeBsdfHairPrincipled")
    bsdf.parametrization = "ABSORPTION"
    attr = nt.nodes.new("ShaderNodeAttribute")
    attr.attribute_type = "GEOMETRY"
    attr.attribute_name = "assetgen_absorption"
    nt.links.new(attr.outputs["Vector"], bsdf.inputs["Absorption Coefficient"])
    bsdf.inputs["Roughness"].default_value = float(data["roughness"])
    bsdf.inputs["Radial Roughness"].default_value = float(data["radial_roughness"])
    nt.links.new(bsdf.outputs[0], out.inputs["Surface"])
'''
