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

# The materials under the clear cornea, in drawing order: the sclera (its alpha-tested cut-out over the iris,
# texture.parts.eyes) and the iris (its front dome). The renderer draws the cornea's reflection on them
# (render.shaders CORNEA_PASS).
CORNEA_MATERIALS = ("M_ScleraLeft", "M_ScleraRight", "M_IrisLeft", "M_IrisRight")
# The cornea's optics (tear film on the cornea): refractive index and roughness.
CORNEA_IOR = 1.376
CORNEA_ROUGHNESS = 0.05
# Formats without a cornea pass (glTF, USD, OBJ) carry the cornea as a clear coat on the iris (its front dome
# stands where the cornea is). Their coats have IOR 1.5 (4 % reflectance at normal incidence): the coat's
# weight scales that to the cornea's ((n - 1) / (n + 1))^2.
CORNEA_F0 = ((CORNEA_IOR - 1.0) / (CORNEA_IOR + 1.0)) ** 2  # reflectance at normal incidence
CORNEA_COATED = ("M_IrisLeft", "M_IrisRight")
CORNEA_COAT_WEIGHT = round(CORNEA_F0 / 0.04, 4)

# Region names, in id order; id 0 is reserved for "background" in images and label maps. Ids are stable:
# new regions are appended, and a region that was split keeps its id on its larger part ("lips" ->
# upper_lip + lower_lip, "head_and_neck" -> back_of_head + neck), so region maps cached by the texture
# stage (which use the lips' union) stay valid. regions.py says how each region is found; face/labels.py
# maps every region to a FaceSynthetics class.
REGIONS = (
    "background",
    "face_skin",
    "upper_lip",
    "back_of_head",
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
    "lower_lip",
    "nose",
    "ear_left",
    "ear_right",
    "neck",
)

# Groups of regions by what they were before the split, for code that needs the whole part.
LIP_REGIONS = ("upper_lip", "lower_lip")
# The closed skin surface: every region of the segments "Face" and "Head and Neck" parts.
SKIN_REGIONS = ("face_skin", "upper_lip", "lower_lip", "nose", "ear_left", "ear_right", "back_of_head", "neck")

# segments.json geometry part -> region name (face skin, head and neck and the eyeballs are refined further).
GEOMETRY_PART_REGION = {
    "Face": "face_skin",
    "Head and Neck": "back_of_head",
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

# Multi-PIE 68 landmark indices (0-based) of the outer lip contour (48..59), of the mouth line between the
# lips (the corners 48/54 and the inner corners 60/64, with the middle of each facing inner pair 61/67,
# 62/66, 63/65 in between) and of the jaw line (0..16, ear to ear through the chin 8).
OUTER_LIP_LANDMARKS = tuple(range(48, 60))
MOUTH_LINE_LANDMARKS = ((48,), (60,), (61, 67), (62, 66), (63, 65), (64,), (54,))
JAW_LANDMARKS = tuple(range(17))
NASION_LANDMARK = 27  # top of the nose bridge, between the eyes
JAW_ANGLE_LANDMARKS = (4, 12)  # the jaw's angles: the subject's right, left

# Parts of the face mesh that segments.json does not name, as inclusive polygon index ranges of the ICT
# Face Model Light neutral OBJ, whose "Face" polygons come in runs by part. Each auricle is one run (found
# on the neutral: the one run of face polygons more than 6 cm from the mid-sagittal plane, split where x
# changes sign; left = the subject's left = +x); the external nose from the bridge at landmark 29 down to
# the nostrils and alae is one run. regions.py checks each against the neutral before using it, so a
# different topology is an error, not a wrong label.
EAR_POLYGONS = {"ear_left": (6560, 7272), "ear_right": (7273, 7990)}
NOSE_POLYGONS = (4371, 5365)
# The neck begins below the plane through the jaw angles (JAW_ANGLE_LANDMARKS) that rises this many degrees
# towards the back of the head: it passes under the earlobes and meets the back of the neck at the nape.
NECK_PLANE_TILT_DEG = 9.0

# Where users get the model from: the public repository and its archive (fetched when online).
PUBLIC_REPOSITORY = "https://github.com/ICT-VGL/ICT-FaceKit"
PUBLIC_ARCHIVE_URL = "https://github.com/ICT-VGL/ICT-FaceKit/archive/da5f95a.zip"
