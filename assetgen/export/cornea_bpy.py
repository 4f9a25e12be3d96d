"""bpy source shared by the generated Blender scripts (export.blender's scene.py, dataset.cycles's render.py):
the clear cornea's reflection over the materials of face.ict.CORNEA_MATERIALS, as the fast renderer draws
it (render.shaders CORNEA_PASS): a Glossy layer (roughness 0.05) weighted by a cornea's Fresnel (IOR 1.376)
added to the material's surface, on the sclera only where its alpha cuts it out."""

from __future__ import annotations

from ..face import ict

CORNEA_BPY = (f"CORNEA_MATERIALS = {tuple(ict.CORNEA_MATERIALS)!r}\nCORNEA_IOR = {ict.CORNEA_IOR!r}\n"
              f"CORNEA_ROUGHNESS = {ict.CORNEA_ROUGHNESS!r}\n") + r'''

def add_cornea(m):
    """The clear cornea's reflection added over material m: Glossy (roughness 0.05) times a cornea's
    Fresnel (IOR 1.376), times the cut-out (1 - alpha) where the alpha is an input (the sclera's)."""
    nt = m.node_tree
    out = next((n for n in nt.nodes if n.type == "OUTPUT_MATERIAL"), None)
    if out is None or not out.inputs["Surface"].is_linked:
        return
    surface = out.inputs["Surface"].links[0].from_socket
    bsdf = next((n for n in nt.nodes if n.type == "BSDF_PRINCIPLED"), None)
    # the GLB's irises carry the cornea as a clear coat (for other renderers); this layer replaces it
    coat = None if bsdf is None else bsdf.inputs.get("Coat Weight") or bsdf.inputs.get("Clearcoat")
    if coat is not None and not coat.is_linked:
        coat.default_value = 0.0
    glossy = nt.nodes.new("ShaderNodeBsdfGlossy")
    glossy.inputs["Roughness"].default_value = CORNEA_ROUGHNESS
    fresnel = nt.nodes.new("ShaderNodeFresnel")
    fresnel.inputs["IOR"].default_value = CORNEA_IOR
    weight = fresnel.outputs[0]
    if bsdf is not None and bsdf.inputs["Alpha"].is_linked:
        cut = nt.nodes.new("ShaderNodeMath")
        cut.operation = "SUBTRACT"
        cut.inputs[0].default_value = 1.0
        nt.links.new(bsdf.inputs["Alpha"].links[0].from_socket, cut.inputs[1])
        both = nt.nodes.new("ShaderNodeMath")
        both.operation = "MULTIPLY"
        nt.links.new(weight, both.inputs[0])
        nt.links.new(cut.outputs[0], both.inputs[1])
        weight = both.outputs[0]
    nothing = nt.nodes.new("ShaderNodeEmission")
    nothing.inputs["Strength"].default_value = 0.0
    layer = nt.nodes.new("ShaderNodeMixShader")
    nt.links.new(weight, layer.inputs[0])
    nt.links.new(nothing.outputs[0], layer.inputs[1])
    nt.links.new(glossy.outputs[0], layer.inputs[2])
    add = nt.nodes.new("ShaderNodeAddShader")
    add.name = "assetgen cornea"
    nt.links.new(surface, add.inputs[0])
    nt.links.new(layer.outputs[0], add.inputs[1])
    nt.links.new(add.outputs[0], out.inputs["Surface"])


def add_corneas(before):
    """add_cornea on each material imported since `before` (the set of materials then) that is one of
    CORNEA_MATERIALS (Blender suffixes a name taken before: .001)."""
    for m in list(bpy.data.materials):
        if m not in before and m.name.split(".")[0] in CORNEA_MATERIALS and m.node_tree is not None:
            add_cornea(m)
'''
