"""The FaceSynthetics label map: one table from every assetgen region to a class of Microsoft's Face
Synthetics data set, and the function that turns a region-id image into a FaceSynthetics label image.

Classes and ids are the data set's own (github.com/microsoft/FaceSynthetics, README): 0 BACKGROUND ...
18 FACEWEAR, 255 IGNORE. assetgen's regions are finer; REGION_CLASS says where each one goes and why.

Left and right are the subject's own (anatomical) sides, as in assetgen's region names: LEFT_EYE is the
subject's left eye, at +x in the model frame, on the image's right in a frontal view. The data set's README
lists the ids without stating which side it means; FLIP_PAIRS swaps the sided classes, for the image-side
convention or after flipping an image horizontally.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from ..errors import InputError
from . import ict

SOURCE = "https://github.com/microsoft/FaceSynthetics (README: semantic segmentation classes)"

BACKGROUND, SKIN, NOSE, RIGHT_EYE, LEFT_EYE, RIGHT_BROW, LEFT_BROW, RIGHT_EAR, LEFT_EAR = range(9)
MOUTH_INTERIOR, TOP_LIP, BOTTOM_LIP, NECK, HAIR, BEARD, CLOTHING, GLASSES, HEADWEAR, FACEWEAR = range(9, 19)
IGNORE = 255

CLASSES: dict[int, str] = {
    BACKGROUND: "BACKGROUND", SKIN: "SKIN", NOSE: "NOSE", RIGHT_EYE: "RIGHT_EYE", LEFT_EYE: "LEFT_EYE",
    RIGHT_BROW: "RIGHT_BROW", LEFT_BROW: "LEFT_BROW", RIGHT_EAR: "RIGHT_EAR", LEFT_EAR: "LEFT_EAR",
    MOUTH_INTERIOR: "MOUTH_INTERIOR", TOP_LIP: "TOP_LIP", BOTTOM_LIP: "BOTTOM_LIP", NECK: "NECK", HAIR: "HAIR",
    BEARD: "BEARD", CLOTHING: "CLOTHING", GLASSES: "GLASSES", HEADWEAR: "HEADWEAR", FACEWEAR: "FACEWEAR",
    IGNORE: "IGNORE",
}

LEFT_RIGHT_CONVENTION = (
    "LEFT/RIGHT are the subject's own sides: LEFT_* is the subject's left (+x in the model frame), on the "
    "image's right in a frontal view. FaceSynthetics' README does not state its side convention; swap 3<->4, "
    "5<->6 and 7<->8 for the image-side one, and whenever an image is flipped horizontally."
)
FLIP_PAIRS = ((RIGHT_EYE, LEFT_EYE), (RIGHT_BROW, LEFT_BROW), (RIGHT_EAR, LEFT_EAR))

# Every assetgen region -> (class, why). The README's mapping table is markdown_table() of this one.
REGION_CLASS: dict[str, tuple[int, str]] = {
    "background": (BACKGROUND, "no surface"),
    # face model: skin
    "face_skin": (SKIN, "face, forehead and temples, eyelids, the skin under strand brows"),
    "back_of_head": (SKIN, "back and crown of the head above the neck (scalp skin where no hair covers it)"),
    "nose": (NOSE, "external nose from the nasion (landmark 27) to the alae and nostrils"),
    "upper_lip": (TOP_LIP, "lip tissue above the mouth line"),
    "lower_lip": (BOTTOM_LIP, "lip tissue below the mouth line"),
    "ear_left": (LEFT_EAR, "the subject's left auricle, front and back"),
    "ear_right": (RIGHT_EAR, "the subject's right auricle, front and back"),
    "neck": (NECK, ("skin below the jaw line and below the plane through the jaw angles that rises "
                    f"{ict.NECK_PLANE_TILT_DEG:g} deg towards the back")),
    # face model: mouth
    "mouth_socket": (MOUTH_INTERIOR, "inside of the mouth"),
    "gums_and_tongue": (MOUTH_INTERIOR, "inside of the mouth"),
    "teeth": (MOUTH_INTERIOR, "inside of the mouth"),
    # face model: eyes
    "sclera_left": (LEFT_EYE, "eyeball"),
    "iris_left": (LEFT_EYE, "eyeball"),
    "eye_socket_left": (LEFT_EYE, "the socket's inside, seen in the eye opening"),
    "sclera_right": (RIGHT_EYE, "eyeball"),
    "iris_right": (RIGHT_EYE, "eyeball"),
    "eye_socket_right": (RIGHT_EYE, "the socket's inside, seen in the eye opening"),
    "lacrimal_fluid": (IGNORE, "blended overlay, never in the segmentation layer; one region for both sides"),
    "eye_blend": (IGNORE, "blended overlay, never in the segmentation layer; one region for both sides"),
    "eye_occlusion": (IGNORE, "blended overlay, never in the segmentation layer; one region for both sides"),
    "eyelashes": (IGNORE, ("thin strands over both lid skin and eye, one region for both sides; FaceSynthetics "
                           "names no class for them, so they are left out rather than guessed")),
    # hair (attach.hair regions)
    "scalp_hair": (HAIR, "scalp hair strands"),
    "eyebrow_left": (LEFT_BROW, "the subject's left eyebrow strands"),
    "eyebrow_right": (RIGHT_BROW, "the subject's right eyebrow strands"),
    "beard": (BEARD, "beard strands"),
    "moustache": (BEARD, "moustache strands (facial hair; the data set has no class of its own for it)"),
    # accessories (names reserved for the items still to come)
    "clothing": (CLOTHING, "garments"),
    "glasses": (GLASSES, ("frames and opaque lenses; clear lenses are not drawn into the layer, so the pixel "
                          "takes the class of the surface behind (the data set's rule)")),
    "headwear": (HEADWEAR, "hats, caps, scarves, helmets"),
    "facewear": (FACEWEAR, "masks"),
    "earrings": (IGNORE, ("ear-lobe studs, hoops and drops: the data set has no jewellery class, and the metal is "
                          "neither ear nor the background or neck it hangs over, so it is left out, not guessed")),
    "piercings": (IGNORE, ("nose and brow piercings: no jewellery class in the data set; metal is not nose, skin "
                           "or brow, so it is left out, not guessed")),
    # older files and other meshes
    "lips": (IGNORE, "a sidecar written before the upper/lower lip split: which lip is unknown"),
    "head_and_neck": (IGNORE, "a sidecar written before the neck split: neck or head is unknown"),
    "mesh": (IGNORE, "an imported mesh (library import) with no parts"),
}

# The item regions named in REGION_CLASS ahead of the items that will carry them.
RESERVED_REGIONS = ("clothing", "glasses", "headwear", "facewear", "earrings", "piercings")


def region_class(name: str) -> int:
    """The FaceSynthetics class id of region `name`; an InputError for a region the table lacks."""
    try:
        return REGION_CLASS[name][0]
    except KeyError:
        raise InputError(f"region {name!r} has no FaceSynthetics class; add it to REGION_CLASS in "
                         "assetgen/face/labels.py") from None


def lookup_table(regions: Sequence[str]) -> np.ndarray:
    """(len(regions),) uint8: the class of each region id."""
    return np.array([region_class(n) for n in regions], np.uint8)


def facesynthetics_labels(segmentation: np.ndarray, regions: Sequence[str]) -> np.ndarray:
    """(H, W) uint8 FaceSynthetics label image of an (H, W) image of ids into `regions` (the renderer's
    segmentation layer and RenderResult.regions, or a view's seg.png and its JSON's segmentation)."""
    seg = np.asarray(segmentation)
    lut = lookup_table(regions)
    if seg.size and (int(seg.min()) < 0 or int(seg.max()) >= len(lut)):
        raise InputError(f"segmentation ids must lie in 0..{len(lut) - 1} (one per region), got "
                         f"{int(seg.min())}..{int(seg.max())}")
    return lut[seg]


def mapping_record(regions: Iterable[str]) -> dict:
    """JSON-ready description of the map for `regions`: the class names by id, each region's class id,
    the side convention and the source of the ids."""
    regions = list(regions)
    return {
        "classes": {str(k): v for k, v in CLASSES.items()},
        "region_class": {n: region_class(n) for n in regions},
        "ignore": IGNORE,
        "left_right": LEFT_RIGHT_CONVENTION,
        "source": SOURCE,
    }


def markdown_table() -> str:
    """The README's mapping table (assetgen region | FaceSynthetics class | notes), from REGION_CLASS."""
    rows = ["| assetgen region | FaceSynthetics class | notes |", "|---|---|---|"]
    rows += [f"| `{n}` | {CLASSES[c]} ({c}) | {why} |" for n, (c, why) in REGION_CLASS.items()]
    return "\n".join(rows)
