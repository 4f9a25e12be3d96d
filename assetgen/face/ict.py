"""Facts about the ICT Face Model Light topology: its files, materials, UV tiles and region names."""

from __future__ import annotations

# Files of the compact folder (see the folder's README).
NEUTRAL_OBJ = "generic_neutral_mesh.obj"
MATERIAL_MTL = "ICTFaceModelMaterial.mtl"
SHAPE_MODES = "shape_modes.npz"
LANDMARKS = "landmarks.json"
SEGMENTS = "segments.json"
LICENSE = "LICENSE"
REQUIRED_FILES = (NEUTRAL_OBJ, SHAPE_MODES, LANDMARKS, SEGMENTS)

# Relative texture resolution per material (1 = the requested resolution). The skin carries the
# detail; small parts get smaller maps. Materials not listed get 0.25.
MATERIAL_RESOLUTION_SCALE = {
    "M_Face": 1.0,
    "M_BackHead": 1.0,
    "M_GumsTongue": 0.5,
    "M_Teeth": 0.5,
    "M_ScleraLeft": 0.5,
    "M_ScleraRight": 0.5,
    "M_IrisLeft": 0.5,
    "M_IrisRight": 0.5,
}

# Region names, in id order; id 0 is reserved for "background" in images and label maps.
REGIONS = (
    "background",
    "face_skin",
    "lips",
    "head_and_neck",
    "mouth_socket",
    "eye_socket_left",
    "eye_socket_right",
    "gums_and_tongue",
    "teeth",
    "sclera_left",
    "iris_left",
    "sclera_right",
    "iris_right",
    "lacrimal_fluid",
    "eye_blend",
    "eye_occlusion",
    "eyelashes",
)

# segments.json geometry part -> region name (lips and eyeballs are refined further).
GEOMETRY_PART_REGION = {
    "Face": "face_skin",
    "Head and Neck": "head_and_neck",
    "Mouth socket": "mouth_socket",
    "Eye socket left": "eye_socket_left",
    "Eye socket right": "eye_socket_right",
    "Gums and tongue": "gums_and_tongue",
    "Teeth": "teeth",
    "Eyeball left": "sclera_left",
    "Eyeball right": "sclera_right",
    "Lacrimal fluid left": "lacrimal_fluid",
    "Lacrimal fluid right": "lacrimal_fluid",
    "Eye blend left": "eye_blend",
    "Eye blend right": "eye_blend",
    "Eye occlusion left": "eye_occlusion",
    "Eye occlusion right": "eye_occlusion",
    "Eyelashes left": "eyelashes",
    "Eyelashes right": "eyelashes",
}
EYEBALL_PART_REGION = {
    "Sclera left": "sclera_left",
    "Iris left": "iris_left",
    "Sclera right": "sclera_right",
    "Iris right": "iris_right",
}

# Multi-PIE 68 landmark indices of the outer lip contour (0-based): 48..59.
OUTER_LIP_LANDMARKS = tuple(range(48, 60))

# Where users get the model from: the public repository and its archive (fetched when online).
PUBLIC_REPOSITORY = "https://github.com/ICT-VGL/ICT-FaceKit"
PUBLIC_ARCHIVE_URL = "https://github.com/ICT-VGL/ICT-FaceKit/archive/da5f95a.zip"
