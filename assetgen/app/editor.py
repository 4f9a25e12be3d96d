"""The editor's values: the face model and UV layouts it edits on, slider and texture parameters, seeds,
and the state one browser session edits (EditorState)."""

from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from ..errors import InputError

# The editor shows the leading identity modes and these named expressions (those the model has).
N_IDENTITY_SLIDERS = 10
IDENTITY_RANGE = 3.0
EDITOR_EXPRESSIONS = (
    "jawOpen", "mouthSmile_L", "mouthSmile_R", "eyeBlink_L", "eyeBlink_R", "browInnerUp_L", "browInnerUp_R",
    "browDown_L", "browDown_R", "mouthFunnel", "mouthPucker", "cheekPuff_L", "cheekPuff_R", "noseSneer_L",
    "noseSneer_R",
)
MAKEUP_LAYERS = ("lipstick", "blush", "eyeshadow", "eyeliner")
MAKEUP_DEFAULT_COLORS = {"lipstick": "#a0223a", "blush": "#e58f8f", "eyeshadow": "#6b4f3a", "eyeliner": "#1a1410"}
RESOLUTIONS = (128, 256, 512, 1024, 2048)
MAX_SEED = 2**63 - 1


# ---- the face model and layouts -------------------------------------------------------------------
def face_model():
    from ..face.locate import get_face_model

    return get_face_model()


_layout_lock = threading.Lock()


def check_resolution(resolution: Any) -> int:
    res = whole_number(resolution, "UV resolution")
    if res not in RESOLUTIONS:
        raise InputError(f"UV resolution must be one of {', '.join(map(str, RESOLUTIONS))}, got {res}")
    return res


def uv_layout(resolution: Any):
    from ..uv import rasterize_uv

    resolution = check_resolution(resolution)
    with _layout_lock:  # two sessions asking for a new resolution rasterize it once
        return rasterize_uv(face_model(), resolution)


def editor_expressions(model=None) -> list[str]:
    model = model or face_model()
    return [n for n in EDITOR_EXPRESSIONS if n in model.expression_names]


def identity_labels(model=None, n: int = N_IDENTITY_SLIDERS) -> list[str]:
    model = model or face_model()
    names = list(model.identity_names[:n])
    return [f"identity {i + 1}" + (f" ({nm})" if nm and not nm.isdigit() else "") for i, nm in enumerate(names)]


# ---- plain values ---------------------------------------------------------------------------------
def whole_number(value: Any, what: str) -> int:
    """A whole number from a number box or an API caller (int, integral float or digits); anything else
    is an InputError naming `what` (a bare int() would raise ValueError/OverflowError with no context)."""
    original = value
    if isinstance(value, bool):
        value = None
    if isinstance(value, str):
        text = value.strip()
        try:
            value = int(text)
        except ValueError:
            try:
                value = float(text)
            except ValueError:
                value = None
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if not isinstance(value, (int, np.integer)):
        shown = repr(original) if len(repr(original)) <= 40 else repr(original)[:37] + "..."
        raise InputError(f"{what} must be a whole number, got {shown}")
    return int(value)


def check_seed(seed: Any, what: str = "seed") -> int:
    s = whole_number(seed, what)
    if s < 0 or s > MAX_SEED:
        raise InputError(f"{what} must be between 0 and 2^63 - 1, got {s}")
    return s


def normalize_color(value: Any) -> str:
    """A colour picker's value (#rgb, #rrggbb, #rrggbbaa, rgb(...)/rgba(...)) -> #rrggbb."""
    s = str(value or "").strip().lower()
    m = re.fullmatch(r"#([0-9a-f]{3})", s)
    if m:
        return "#" + "".join(ch * 2 for ch in m.group(1))
    m = re.fullmatch(r"#([0-9a-f]{6})([0-9a-f]{2})?", s)
    if m:
        return "#" + m.group(1)
    m = re.fullmatch(r"rgba?\(\s*([\d.]+)\s*,\s*([\d.]+)\s*,\s*([\d.]+)\s*(?:,\s*[\d.]+\s*)?\)", s)
    if m:
        return "#" + "".join(f"{max(0, min(255, round(float(x)))):02x}" for x in m.groups())
    raise InputError(f"{value!r} is not a colour (use #rrggbb)")


# ---- texture parameters ---------------------------------------------------------------------------
def _number(value: Any, key: str) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise InputError(f"texture parameter {key} must be a number") from None
    if not math.isfinite(x):
        raise InputError(f"texture parameter {key} must be a finite number")
    return x


def skin_params(values: dict[str, Any]):
    """UI values -> validated SkinParams. Makeup: <layer>_color + <layer>_opacity (0 = none);
    hair_color 'auto' = chosen from skin tone and age. Errors: ConfigError naming the field."""
    from ..texture.params import SkinParams

    v = dict(values)
    params: dict[str, Any] = {}
    for key in ("skin_tone", "moles"):
        if key in v:
            params[key] = int(round(_number(v.pop(key), key)))
    for key in ("hemoglobin", "freckles", "stubble", "brow_density", "age"):
        if key in v:
            params[key] = _number(v.pop(key), key)
    if "eye_color" in v:
        params["eye_color"] = v.pop("eye_color")
    hair = v.pop("hair_color", "auto")
    params["hair_color"] = None if hair in (None, "", "auto") else hair
    for layer in MAKEUP_LAYERS:
        color = v.pop(f"{layer}_color", None)
        opacity = v.pop(f"{layer}_opacity", None)
        opacity = 0.0 if opacity in (None, "") else _number(opacity, f"{layer}_opacity")
        params[layer] = {"color": normalize_color(color), "opacity": opacity} if opacity > 0 else None
    if v:
        raise InputError(f"unknown texture parameters: {', '.join(sorted(v))}")
    return SkinParams.parse(params)


def params_to_ui(params: dict[str, Any]) -> dict[str, Any]:
    """SkinParams (as a dict) -> the UI's flat values (inverse of skin_params)."""
    from ..texture.params import SkinParams

    p = SkinParams.parse(params or {})
    out: dict[str, Any] = {
        "skin_tone": p.monk_category, "hemoglobin": p.hemoglobin, "freckles": p.freckles, "moles": p.moles,
        "stubble": p.stubble, "brow_density": p.brow_density, "age": p.age, "eye_color": p.eye_color,
        "hair_color": p.hair_color or "auto",
    }
    for layer in MAKEUP_LAYERS:
        lay = getattr(p, layer)
        out[f"{layer}_color"] = lay.color if lay is not None else MAKEUP_DEFAULT_COLORS[layer]
        out[f"{layer}_opacity"] = lay.opacity if lay is not None else 0.0
    return out


def default_params_ui() -> dict[str, Any]:
    from ..texture.params import SkinParams

    return params_to_ui(SkinParams().model_dump())


def random_editor(seed: Any, n_identity: int = N_IDENTITY_SLIDERS) -> dict[str, Any]:
    """Random identity (truncated normal, as recipes draw it) and texture parameters from `seed`."""
    from ..generate import asset_streams
    from ..texture.params import SkinParams

    seed = check_seed(seed)
    model = face_model()
    rng = asset_streams(seed)
    w = model.identity_weights(rng["identity"], truncation=2.5)[:n_identity]
    w = np.clip(np.round(w, 2), -IDENTITY_RANGE, IDENTITY_RANGE)
    params = SkinParams.sample(rng["texture"])
    return {"identity": [float(x) for x in w], "params": params_to_ui(params.model_dump()), "seed": seed}


# ---- the editor's asset ---------------------------------------------------------------------------
@dataclass
class EditorState:
    """What one browser session is editing. base_identity / base_expression: weights of an asset opened
    from the library (the sliders override their leading modes / named expressions); parent: its id."""

    asset: Any = None
    glb: str | None = None
    base_identity: np.ndarray | None = None
    base_expression: np.ndarray | None = None
    parent: str | None = None
    workdir: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def weights(model, identity: Sequence[float], expressions: dict[str, float], state: EditorState | None = None):
    """Slider values (+ the opened asset's other weights) -> (identity (I,), expression (E,))."""
    ident = np.zeros(model.n_identity) if state is None or state.base_identity is None else state.base_identity.copy()
    try:
        vals = np.asarray([float(x) for x in identity], np.float64)
        named_in = {k: float(v) for k, v in expressions.items()}
    except (TypeError, ValueError):
        raise InputError("identity and expression values must be numbers") from None
    if len(vals) > model.n_identity:
        raise InputError(f"the model has {model.n_identity} identity modes, got {len(vals)} values")
    if not np.isfinite(vals).all():
        raise InputError("identity values must be finite numbers")
    ident[: len(vals)] = vals
    expr = (np.zeros(len(model.expression_names)) if state is None or state.base_expression is None
            else state.base_expression.copy())
    named = model.expression_weights(named_in)
    for k in expressions:
        expr[model.expression_names.index(k)] = named[model.expression_names.index(k)]
    if not np.isfinite(expr).all() or (expr < 0).any() or (expr > 1).any():
        raise InputError("expression weights must lie in [0, 1]")
    return ident, expr
