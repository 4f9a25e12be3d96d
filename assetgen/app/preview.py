"""The editor's rendered preview: a front view of the asset by the ground-truth renderer (rgb, hair and items
shaded) and its segmentation overlay (region colours blended over the rgb, hair and item regions in strong
distinct colours) with a legend of the regions in view.

The camera frames the head without its hair and items (the same framing for every groom and outfit, so
they compare side by side); hair or items that reach beyond the frame are cut off. Rendering runs on the
app's one GL thread (exports.on_gl_thread).
"""

from __future__ import annotations

import colorsys
import html
from dataclasses import dataclass

import numpy as np

PREVIEW_SIZE = 512
SUPERSAMPLE = 2
FOCAL_MM = 85.0  # on a 36 mm wide sensor: a portrait lens
FRAME = 1.3  # the frame's height over the head's (head and neck, no hair)
# Hair regions: saturated, far apart in hue from skin and from one another, blended strongly.
HAIR_COLORS = {
    "scalp_hair": (235, 20, 210),  # magenta
    "eyebrow_left": (255, 150, 0),  # orange
    "eyebrow_right": (255, 230, 0),  # yellow
    "beard": (0, 210, 255),  # cyan
    "moustache": (40, 80, 255),  # blue
    "eyelashes": (120, 255, 40),  # lime
}
# Item regions (FaceSynthetics' glasses, clothing, headwear, facewear; jewellery): strong hues, apart from
# the hair's.
ITEM_COLORS = {
    "glasses": (255, 30, 30),  # red
    "clothing": (0, 150, 90),  # green
    "headwear": (150, 60, 255),  # violet
    "facewear": (0, 95, 110),  # dark teal (masks are often white)
    "earrings": (255, 105, 180),  # pink
    "piercings": (0, 255, 170),  # spring green
}
STRONG_COLORS = {**HAIR_COLORS, **ITEM_COLORS}
HAIR_ALPHA = 0.7  # hair and item regions
OTHER_ALPHA = 0.35


@dataclass
class Preview:
    """rgb, overlay: (S, S, 3) uint8; segmentation: (S, S) uint8 ids into `regions` (0 = background);
    colors: {region: (r, g, b)} of the overlay; legend: [(region, (r, g, b), share of the image)] of the
    regions in view, hair first, then items."""

    rgb: np.ndarray
    overlay: np.ndarray
    segmentation: np.ndarray
    regions: tuple[str, ...]
    colors: dict[str, tuple[int, int, int]]
    legend: list[tuple[str, tuple[int, int, int], float]]

    def mask(self, region: str) -> np.ndarray:
        """(S, S) bool: the pixels of `region` (all False when the asset has no such region)."""
        if region not in self.regions:
            return np.zeros(self.segmentation.shape, bool)
        return self.segmentation == self.regions.index(region)


def region_colors(regions: tuple[str, ...]) -> dict[str, tuple[int, int, int]]:
    """An overlay colour per region (not the background): STRONG_COLORS for hair and items, muted hues spread
    around the colour wheel (golden-angle steps, by position in `regions`) for the rest."""
    out = {}
    for i, name in enumerate(regions[1:], start=1):
        if name in STRONG_COLORS:
            out[name] = STRONG_COLORS[name]
        else:
            r, g, b = colorsys.hsv_to_rgb((0.58 + i * 0.381966) % 1.0, 0.45, 0.85)
            out[name] = (round(r * 255), round(g * 255), round(b * 255))
    return out


def overlay(rgb: np.ndarray, segmentation: np.ndarray, regions: tuple[str, ...],
            colors: dict[str, tuple[int, int, int]] | None = None) -> np.ndarray:
    """(H, W, 3) uint8: each region's colour blended over `rgb` (HAIR_ALPHA for hair and item regions,
    OTHER_ALPHA for the rest; the background as it is)."""
    colors = colors or region_colors(regions)
    lut = np.zeros((256, 3), np.float32)
    alpha = np.zeros(256, np.float32)
    for i, name in enumerate(regions[1:], start=1):
        lut[i] = colors[name]
        alpha[i] = HAIR_ALPHA if name in STRONG_COLORS else OTHER_ALPHA
    a = alpha[segmentation][..., None]
    out = rgb.astype(np.float32) * (1.0 - a) + lut[segmentation] * a
    return np.rint(out).astype(np.uint8)


def front_camera(mesh, size: int = PREVIEW_SIZE):
    """A camera in front of the face (+z), looking at the head's centre, the head (no hair, no items) filling
    1/FRAME of the image height."""
    from ..attach.items.primitives import ITEM_MATERIAL_PREFIX
    from ..render.camera import Camera, intrinsics, look_at
    from ..render.hair import is_hair

    pos = np.concatenate([p.positions for p in mesh.primitives
                          if not is_hair(p) and not p.material.startswith(ITEM_MATERIAL_PREFIX)]).astype(np.float64)
    lo, hi = pos.min(0), pos.max(0)
    centre = (lo + hi) / 2
    height = float(max(hi[1] - lo[1], hi[0] - lo[0]))
    focal = FOCAL_MM / 36.0 * size
    dist = focal * FRAME * height / size  # the frame's height at the head's centre is FRAME * height
    target = centre + np.array([0.0, 0.04 * height, 0.0])  # a little room for hair above the head
    eye = target + np.array([0.0, 0.0, dist])
    return Camera(intrinsics(size, size, focal), look_at(eye, target), (size, size))


def render_preview(asset, size: int = PREVIEW_SIZE, supersample: int = SUPERSAMPLE) -> Preview:
    """The asset's front rgb and segmentation (one render) and their overlay. Call on a GL thread (every
    GL object is made and released here)."""
    from ..render import Renderer

    renderer = Renderer(asset)
    try:
        res = renderer.render(front_camera(renderer.mesh, size), ("rgb", "segmentation"), supersample=supersample)
    finally:
        renderer.release()
    regions = tuple(res.regions)
    colors = region_colors(regions)
    counts = np.bincount(res.segmentation.ravel(), minlength=len(regions))
    shown = [i for i in range(1, len(regions)) if counts[i]]
    shown.sort(key=lambda i: (regions[i] not in HAIR_COLORS, regions[i] not in ITEM_COLORS, i))
    legend = [(regions[i], colors[regions[i]], float(counts[i]) / res.segmentation.size) for i in shown]
    return Preview(rgb=res.rgb, overlay=overlay(res.rgb, res.segmentation, regions, colors),
                   segmentation=res.segmentation, regions=regions, colors=colors, legend=legend)


def legend_html(preview: Preview, pigment: str | None = None) -> str:
    """The overlay's legend as HTML: a swatch, the region and its share of the image per region in view (hair
    then item regions first, in bold), and the hair's pigment colour when there is a groom."""

    def swatch(rgb) -> str:
        return (f'<span style="display:inline-block;width:0.9em;height:0.9em;vertical-align:middle;'
                f'border:1px solid #0006;background:rgb{tuple(int(c) for c in rgb)}"></span>')

    items = []
    for name, rgb, share in preview.legend:
        label = html.escape(name.replace("_", " "))
        share_text = f"{share:.1%}" if share >= 0.001 else "&lt;0.1%"  # in view, however small (jewellery)
        if name in STRONG_COLORS:
            label = f"<b>{label}</b>"
        items.append(f'<span class="legend-item" data-region="{html.escape(name)}" style="margin-right:1em;'
                     f'white-space:nowrap">{swatch(rgb)} {label} {share_text}</span>')
    head = ""
    if pigment:
        head = (f'<div class="legend-pigment">hair pigment <span style="display:inline-block;width:2.2em;'
                f'height:0.9em;vertical-align:middle;border:1px solid #0006;background:{html.escape(pigment)}">'
                f'</span> <code>{html.escape(pigment)}</code></div>')
    hair = [n for n, _, _ in preview.legend if n in HAIR_COLORS]
    note = "" if hair else "<div><i>no hair in view</i></div>"
    return f'<div class="segmentation-legend">{head}{note}<div>{"".join(items)}</div></div>'


def app_preview(asset, size: int = PREVIEW_SIZE) -> tuple[np.ndarray, np.ndarray, str]:
    """(rgb, overlay, legend HTML) of the asset for the editor, rendered on the app's GL thread."""
    from .exports import on_gl_thread
    from .hair import pigment_hex

    if asset is None:
        from ..errors import InputError

        raise InputError("nothing to preview yet: press \"Generate texture\" first")
    pv = on_gl_thread(render_preview, asset, size)
    return pv.rgb, pv.overlay, legend_html(pv, pigment_hex(asset))
