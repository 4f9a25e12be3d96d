"""The Gradio authoring app: author a face asset, preview it in 3D, compare, save and browse the library.

Layout and event wiring only, one function per tab or panel with its events wired beside it; every
callback calls assetgen.app (editor, hair, items, building, preview, texturing, uploads, exports, runs,
library), which drives the same stages as the CLI. The Author tab grows a groom from its hair controls (a
recipe's `hair:` section: style, length, density, curl, parting, fringe, pigment, grey, beard, brows) and
fits the items its item controls choose (a recipe's `items:` section: glasses frame and lens, headwear,
facewear, clothing, jewellery; the dropdowns list the item sampler's own tables); after each generation the renderer
draws a front view and its segmentation overlay (render_preview). The diffusion
backend runs assetgen.diffusion.text_to_uv with the registry the app was given
(build_app(models_config=...), `assetgen ui --model-config FILE`); without its models it says why.

    build_app(library=Path("library")) -> gr.Blocks      # build_app(...).queue(); then launch it yourself
    launch(port=7860, host="127.0.0.1", library=Path("library"))

Rules kept here: binds 127.0.0.1 unless told otherwise; GRADIO_ANALYTICS_ENABLED=False before Gradio is
imported; only the library and the app's temporary folder are served (allowed_paths); uploads are limited
in size (max_file_size) and type (checked on decode); long operations run in a queue with a concurrency
limit, are cancellable, and never hold up the light requests of other sessions; every operation has an
api_name, so gradio_client can do what the browser does. No remote fonts: the page loads nothing but
the app's own server.
"""

from __future__ import annotations

import os

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio is imported

import functools  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import gradio as gr  # noqa: E402

from assetgen.app import editor as E  # noqa: E402
from assetgen.app import exports as X  # noqa: E402
from assetgen.app import hair as H  # noqa: E402
from assetgen.app import items as I  # noqa: E402
from assetgen.app import library as L  # noqa: E402
from assetgen.app import uploads as U  # noqa: E402
from assetgen.app.building import build_asset  # noqa: E402
from assetgen.app.preview import app_preview  # noqa: E402
from assetgen.app.runs import Cancelled, RunFlags  # noqa: E402
from assetgen.app.texturing import DiffusionTexturing, diffusion_models  # noqa: E402
from assetgen.errors import AssetgenError, InputError  # noqa: E402

MAX_UPLOAD = "20mb"
PARAM_KEYS = (
    "skin_tone", "hemoglobin", "freckles", "moles", "stubble", "brow_density", "age", "eye_color", "hair_color",
    *[f"{layer}_{part}" for layer in E.MAKEUP_LAYERS for part in ("color", "opacity")],
)
EYE_COLORS = ["blue", "gray", "green", "hazel", "brown", "dark_brown"]
HAIR_COLORS = ["auto", "black", "dark_brown", "brown", "light_brown", "blond", "red", "gray"]
SYSTEM_FONTS = ["ui-sans-serif", "system-ui", "sans-serif"]
MONO_FONTS = ["ui-monospace", "monospace"]


# ---- helpers ---------------------------------------------------------------------------------------
def guarded(fn):
    """AssetgenError (and bad values) -> gr.Error: a clear one-line message in the UI and in gradio_client."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except (AssetgenError, ValueError) as exc:
            raise gr.Error((str(exc).strip().splitlines() or [type(exc).__name__])[0], duration=None) from None

    return wrapper


def named_parameters(fn, names: list[str], defaults: dict[str, Any] | None = None):
    """Give a *values callback named parameters, so gradio_client can pass them by keyword
    (client.predict(identity_1=0.5, jawOpen=0.3, skin_tone=8, api_name="/generate_texture")). defaults: the
    named parameters' defaults, which make them optional for gradio_client even where the component starts
    empty; the parameters that have one must come last."""
    import inspect

    import typing

    hints = typing.get_type_hints(fn)  # resolved: Gradio finds gr.Request / gr.Progress by type
    sig = inspect.signature(fn)
    params = [p.replace(annotation=hints.get(p.name, p.annotation)) for p in sig.parameters.values()]
    fixed = [p for p in params if p.kind is p.POSITIONAL_OR_KEYWORD]
    extra = [p for p in params if p.kind is p.KEYWORD_ONLY]
    defaults = defaults or {}
    made = [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                              **({"default": defaults[n]} if n in defaults else {})) for n in names]
    # Gradio passes the special arguments (Progress, Request) positionally, after the named values.
    extra = [p.replace(kind=inspect.Parameter.POSITIONAL_OR_KEYWORD) for p in extra]
    fn.__signature__ = sig.replace(parameters=[*fixed, *made, *extra])
    return fn


class WholeNumber(gr.Number):
    """A gr.Number whose value must be a whole number: anything else (text from an API caller) is one
    clear message naming the field, where gr.Number would fail comparing it with its minimum."""

    is_template = True  # rendered by the frontend's Number component

    def preprocess(self, payload: Any) -> int | None:
        if payload is None:
            return None
        try:
            value = E.whole_number(payload, self.label or "the value")
        except InputError as exc:
            raise gr.Error(str(exc), duration=None) from None
        return super().preprocess(value)


class Choice(gr.Dropdown):
    """A gr.Dropdown whose unknown values (from an API caller) are one clear message naming the field and
    the choices."""

    is_template = True  # rendered by the frontend's Dropdown component

    def preprocess(self, payload: Any) -> Any:
        known = [value for _, value in self.choices]
        if payload is not None and payload not in known:
            shown = repr(payload) if len(repr(payload)) <= 40 else repr(payload)[:37] + "..."
            what = (self.label or "choice").lower()
            raise gr.Error(f"unknown {what} {shown}; use one of {', '.join(map(str, known))}", duration=None)
        return super().preprocess(payload)


def session_of(request: gr.Request | None) -> str:
    return getattr(request, "session_hash", None) or "anonymous"


@dataclass
class Context:
    """What every panel shares: folders, the face model's editor names and defaults, the diffusion
    backend, and the cancel flags of the runs in progress."""

    library: Path
    workdir: Path
    default_resolution: int
    generate_concurrency: int
    expr_names: list[str]
    identity_labels: list[str]
    defaults: dict[str, Any]
    library_problem: str | None
    diffusion: DiffusionTexturing
    diffusion_models: list[str]
    runs: RunFlags

    @property
    def thumbs(self) -> Path:
        return self.workdir / "thumbs"


@dataclass
class Editor:
    """The Author tab's components that other tabs read or fill (opening an asset fills the editor)."""

    state: gr.State
    name: gr.Textbox
    seed: gr.Number
    ident: list[gr.Slider]
    expr: list[gr.Slider]
    params: list[gr.components.Component]
    hair: list[gr.components.Component]
    items: list[gr.components.Component]
    status: gr.Markdown
    viewer: gr.Model3D
    uv: gr.Image
    labels_json: gr.JSON
    preview: gr.Image
    overlay: gr.Image
    legend: gr.HTML

    @property
    def values(self) -> list:
        """The slider/parameter components in the order callbacks receive and return them."""
        return [*self.ident, *self.expr, *self.params, *self.hair, *self.items]

    @property
    def pictures(self) -> list:
        """What render_preview fills: the rendered front view, its segmentation overlay and the legend."""
        return [self.preview, self.overlay, self.legend]

    def split(self, ctx: Context, values) -> tuple[list, dict, dict, dict, dict]:
        """Editor values -> (identity list, {expression: weight}, {parameter: value}, {hair control: value},
        {item control: value})."""
        n_id, n_ex, n_p, n_h = len(self.ident), len(self.expr), len(self.params), len(self.hair)
        at = n_id + n_ex + n_p
        return (list(values[:n_id]), dict(zip(ctx.expr_names, values[n_id:n_id + n_ex])),
                dict(zip(PARAM_KEYS, values[n_id + n_ex:at])), dict(zip(H.HAIR_KEYS, values[at:at + n_h])),
                dict(zip(I.item_keys(), values[at + n_h:])))


# ---- the app ----------------------------------------------------------------------------------------
def build_app(library: Path = Path("library"), *, workdir: Path | None = None, default_resolution: int = 512,
              models_config: Path | None = None, generate_concurrency: int = 1, diffusion_recipe: Path | None = None,
              diffusion_overrides: dict[str, Any] | None = None, model_config: Path | None = None) -> gr.Blocks:
    """The Blocks app (not queued or launched). library: the asset-library folder; workdir: where GLBs,
    previews and exports are written (a fresh temporary folder by default); models_config (alias
    model_config, as `--model-config`): the diffusion model registry (default: ASSETGEN_MODELS or
    configs/models.yaml); diffusion_recipe / diffusion_overrides: the text -> UV recipe YAML (default
    pipelines/text_to_uv.yaml) and fields to override in it (view_size, views, ...);
    generate_concurrency: how many texture generations run at once (the rest wait in the queue and see
    their position; diffusion generations share one set of loaded models and run one at a time).
    The built app's `assetgen_runs` holds the cancel flags of the runs in progress."""
    workdir = Path(workdir or tempfile.mkdtemp(prefix="assetgen-ui-")).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    models_config = models_config if models_config is not None else model_config
    model = E.face_model()
    ctx = Context(library=Path(library).resolve(), workdir=workdir, default_resolution=int(default_resolution),
                  generate_concurrency=generate_concurrency, expr_names=E.editor_expressions(model),
                  identity_labels=E.identity_labels(model), defaults=E.default_params_ui(),
                  library_problem=L.library_available(), diffusion_models=diffusion_models(models_config),
                  diffusion=DiffusionTexturing(models_config, diffusion_recipe, diffusion_overrides),
                  runs=RunFlags())

    with gr.Blocks(title="assetgen authoring") as app:
        app.assetgen_paths = [str(ctx.library), str(ctx.workdir)]  # what launch() serves (allowed_paths)
        app.assetgen_theme = gr.themes.Default(font=SYSTEM_FONTS, font_mono=MONO_FONTS)
        app.assetgen_runs = ctx.runs
        state = gr.State(None)
        gr.Markdown("## assetgen: author a face asset")
        with gr.Tabs():
            editor = author_tab(ctx, state)
            despecularize_tab(state)
            library_tab(app, ctx, editor)
            export_tab(ctx, state)

        def on_close(request: gr.Request = None):
            ctx.runs.close(session_of(request))  # the tab closed: stop its runs, forget its flags

        app.unload(on_close)
    return app


# ---- author tab --------------------------------------------------------------------------------------
def author_tab(ctx: Context, state: gr.State) -> Editor:
    """Name, seed, shape sliders and texture parameters on the left; the 3D viewer and UV texture on the right."""
    with gr.Tab("Author", id="author"):
        with gr.Row():
            with gr.Column(scale=2):
                with gr.Row():
                    name = gr.Textbox("asset", label="Asset name", elem_id="asset-name")
                    seed = WholeNumber(0, label="Seed", precision=0, minimum=0, elem_id="seed")
                    random_btn = gr.Button("Random", elem_id="random")
                ident, expr = shape_sliders(ctx)
                texture = texture_panel(ctx)
                hair = hair_panel()
                items = items_panel()
                with gr.Row():
                    gen_btn = gr.Button("Generate texture", variant="primary", elem_id="generate")
                    cancel_btn = gr.Button("Cancel", variant="stop", elem_id="cancel")
            with gr.Column(scale=3):
                status = gr.Markdown("Move the sliders, then press **Generate texture**.", elem_id="status")
                viewer = gr.Model3D(label="Textured head", height=420, clear_color=(0.2, 0.2, 0.22, 1.0),
                                    elem_id="viewer")
                with gr.Row():
                    preview = gr.Image(label="Rendered preview (front)", type="numpy", interactive=False,
                                       format="png", height=360, elem_id="preview")
                    overlay = gr.Image(label="Segmentation overlay", type="numpy", interactive=False, format="png",
                                       height=360, elem_id="overlay")
                legend = gr.HTML("", elem_id="legend")
                uv = gr.Image(label="UV texture (face albedo)", type="numpy", interactive=False, format="png",
                              height=320, elem_id="uv")
                labels_json = gr.JSON(label="Labels", elem_id="labels")
    ed = Editor(state=state, name=name, seed=seed, ident=ident, expr=expr, params=texture["params"], hair=hair,
                items=items, status=status, viewer=viewer, uv=uv, labels_json=labels_json, preview=preview,
                overlay=overlay, legend=legend)

    @guarded
    def on_random(seed_value):
        r = E.random_editor(E.check_seed(0 if seed_value is None else seed_value) + 1)
        h = H.random_hair(r["seed"])
        it = I.random_items(r["seed"])
        return [r["seed"], *r["identity"], *([0.0] * len(expr)), *[r["params"][k] for k in PARAM_KEYS],
                *[h[k] for k in H.HAIR_KEYS], *[it[k] for k in I.item_keys()]]

    def on_cancel(request: gr.Request = None):
        ctx.runs.cancel(session_of(request))
        return "Cancelled."

    random_btn.click(on_random, seed, [seed, *ed.values], api_name="random", concurrency_id="light",
                     concurrency_limit=8)
    on_generate = named_parameters(generate_handler(ctx, ed), [f"identity_{i + 1}" for i in range(len(ident))]
                                   + ctx.expr_names + list(PARAM_KEYS) + list(H.HAIR_KEYS) + list(I.item_keys()),
                                   {**H.DEFAULTS, **I.defaults()})
    gen_inputs = [state, name, seed, texture["resolution"], texture["backend"], texture["prompt"],
                  texture["negative"], texture["steps"], texture["noise_seed"], *ed.values]
    gen = gen_btn.click(on_generate, gen_inputs, [state, uv, viewer, labels_json, status],
                        api_name="generate_texture", concurrency_id="generate",
                        concurrency_limit=ctx.generate_concurrency)
    # The browser renders the preview after each generation; API callers call /render_preview themselves.
    gen.success(on_preview, state, ed.pictures, api_name="render_preview", concurrency_id="render",
                concurrency_limit=1)
    # Queued (so it knows its session) but in its own unlimited lane: it never waits behind a generation.
    cancel_btn.click(on_cancel, None, status, api_name="cancel", cancels=[gen], concurrency_id="cancel",
                     concurrency_limit=None)
    return ed


@guarded
def on_preview(st):
    """The current asset's rendered front view, segmentation overlay and legend."""
    return app_preview(st.asset if st is not None else None)


def shape_sliders(ctx: Context) -> tuple[list[gr.Slider], list[gr.Slider]]:
    """The leading identity modes and the named expressions."""
    with gr.Accordion("Identity (leading modes)", open=True):
        ident = [gr.Slider(-E.IDENTITY_RANGE, E.IDENTITY_RANGE, value=0.0, step=0.01, label=lab,
                           elem_id=f"identity-{i}") for i, lab in enumerate(ctx.identity_labels)]
    with gr.Accordion("Expressions", open=False):
        expr = [gr.Slider(0.0, 1.0, value=0.0, step=0.01, label=n, elem_id=f"expr-{n}") for n in ctx.expr_names]
    return ident, expr


def texture_panel(ctx: Context) -> dict[str, Any]:
    """Backend choice; the diffusion prompt box or the procedural parameters; the UV resolution."""
    recipe = ctx.diffusion.defaults
    with gr.Accordion("Texture", open=True):
        backend = gr.Radio(["procedural", "diffusion"], value="procedural", label="Backend", elem_id="backend")
        with gr.Group(visible=False) as diff_box:
            gr.Markdown("**Diffusion models in the registry:** "
                        + (", ".join(f"`{m}`" for m in ctx.diffusion_models) or "none configured"))
            diff_msg = gr.Markdown("", elem_id="diffusion-message")
            prompt = gr.Textbox("", label="Prompt", elem_id="prompt", placeholder=recipe.prompt)
            negative = gr.Textbox(recipe.negative_prompt or "", label="Negative prompt", elem_id="negative-prompt")
            with gr.Row():
                steps = gr.Slider(1, 100, value=min(int(recipe.steps), 100), step=1, label="Steps", elem_id="steps")
                noise_seed = WholeNumber(-1, label="Noise seed (-1: from the asset seed)", precision=0, minimum=-1,
                                         elem_id="noise-seed")
        with gr.Group() as proc_box:
            params = procedural_parameters(ctx.defaults)
        resolution = gr.Dropdown([int(r) for r in E.RESOLUTIONS], value=ctx.default_resolution,
                                 label="UV resolution (texels per tile)", elem_id="resolution")

    def on_backend(b):
        diff = b == "diffusion"
        return gr.update(visible=diff), gr.update(visible=not diff), ctx.diffusion.message() if diff else ""

    backend.change(on_backend, backend, [diff_box, proc_box, diff_msg], api_name=False, queue=False)
    return {"backend": backend, "prompt": prompt, "negative": negative, "steps": steps, "noise_seed": noise_seed,
            "params": params, "resolution": resolution}


def procedural_parameters(defaults: dict[str, Any]) -> list[gr.components.Component]:
    """The procedural texture's sliders, in PARAM_KEYS order."""
    with gr.Row():
        skin = gr.Slider(1, 10, value=defaults["skin_tone"], step=1, label="Skin tone (Monk 1-10)",
                         elem_id="skin-tone")
        hemo = gr.Slider(0.001, 0.1, value=defaults["hemoglobin"], step=0.001, label="Redness (hemoglobin)")
        age = gr.Slider(12, 95, value=defaults["age"], step=1, label="Age")
    with gr.Row():
        freck = gr.Slider(0, 1, value=defaults["freckles"], step=0.01, label="Freckles")
        moles = gr.Slider(0, 60, value=defaults["moles"], step=1, label="Moles")
        stub = gr.Slider(0, 1, value=defaults["stubble"], step=0.01, label="Painted stubble")
        brow = gr.Slider(0, 1, value=defaults["brow_density"], step=0.01, label="Painted brow density")
    with gr.Row():
        eye = gr.Dropdown(EYE_COLORS, value=defaults["eye_color"], label="Eye colour")
        hair = gr.Dropdown(HAIR_COLORS, value=defaults["hair_color"], elem_id="painted-hair-color",
                           label="Painted brow / stubble colour (auto: match the strands)")
    makeup = []
    with gr.Row():
        for layer in E.MAKEUP_LAYERS:
            with gr.Column(min_width=120):
                makeup.append(gr.ColorPicker(defaults[f"{layer}_color"], label=f"{layer.capitalize()} colour"))
                makeup.append(gr.Slider(0, 1, value=defaults[f"{layer}_opacity"], step=0.01,
                                        label=f"{layer.capitalize()} opacity"))
    return [skin, hemo, freck, moles, stub, brow, age, eye, hair, *makeup]


def hair_panel() -> list[gr.components.Component]:
    """The groom's controls, in H.HAIR_KEYS order. An empty number is drawn from the seed (the style's own
    range), as `sample` in a recipe's hair section."""
    d = H.DEFAULTS

    def number(key: str, label: str, placeholder: str) -> gr.Textbox:
        # A text box: empty means "drawn from the seed" (a number box would send 0).
        return gr.Textbox(d[key], label=label, placeholder=placeholder, max_lines=1, elem_id=key.replace("_", "-"),
                          min_width=120)

    with gr.Accordion("Hair (strands)", open=True):
        gr.Markdown("Style **off** grows no strands; **sample** draws from the seed. Empty numbers are drawn "
                    "from the seed within the style's range.")
        with gr.Row():
            style = Choice(list(H.style_choices()), value=d["hair_style"], label="Hair style", elem_id="hair-style")
            beard = Choice(list(H.beard_choices()), value=d["beard_style"], label="Beard style", elem_id="beard-style")
            pigment = Choice(list(H.pigment_choices()), value=d["hair_pigment"], label="Hair colour",
                             elem_id="hair-pigment")
        with gr.Row():
            length = number("hair_length", "Length (cm)", "the style's")
            density = number("hair_density", "Density (strands/cm²)", "the style's")
            curl = number("hair_curl", "Curl radius (cm)", "the style's")
            parting = Choice(list(H.PARTINGS), value=d["hair_parting"], label="Parting", elem_id="hair-parting",
                             min_width=120)
            fringe = Choice(list(H.FRINGES), value=d["hair_fringe"], label="Fringe", elem_id="hair-fringe",
                            min_width=100)
        with gr.Row():
            melanin = number("hair_melanin", "Melanin 0-1 (eu- + pheomelanin)", "the colour's")
            redness = number("hair_redness", "Redness 0-1 (pheomelanin share)", "the colour's")
            grey = number("hair_grey", "Grey share 0-1", "from the age")
            brow_density = number("brow_hair_density", "Brow density (strands/cm²)", "from the seed")
            brow_thickness = number("brow_hair_thickness", "Brow thickness (cm)", "from the seed")
    return [style, length, density, curl, parting, fringe, pigment, melanin, redness, grey, beard, brow_density,
            brow_thickness]


def items_panel() -> list[gr.components.Component]:
    """The item controls, in I.item_keys() order, their choices from the item sampler's tables."""
    labels = {"glasses": "Glasses", "lens": "Lens", "headwear": "Headwear", "facewear": "Facewear",
              "clothing": "Clothing"}
    d = I.defaults()
    with gr.Accordion("Items (accessories and clothing)", open=True):
        gr.Markdown("**none**: not worn; **any**: worn, the kind drawn from the seed; **sample**: worn as often "
                    "as in a data set (the shipped priors). Glasses take a frame family and a lens kind.")
        with gr.Row():
            controls = [Choice(list(I.choices(k)), value=d[k], label=labels.get(k, k.replace("_", " ").capitalize()),
                               elem_id=f"item-{k.replace('_', '-')}", min_width=140) for k in I.item_keys()]
    return controls


def generate_handler(ctx: Context, ed: Editor):
    """The "Generate texture" callback: the editor's values -> a new EditorState, UV picture, GLB, labels,
    status. Its run's cancel flag lives in ctx.runs exactly as long as the run."""
    n_values = len(ed.values)
    gen_root = ctx.workdir / "gen"

    @guarded
    def on_generate(st, name_v, seed_v, res_v, backend_v, prompt_v, negative_v, steps_v, noise_seed_v, *values,
                    progress=gr.Progress(), request: gr.Request = None):
        if len(values) == n_values + 2:  # Progress and Request, appended by Gradio (named_parameters)
            values, progress, request = values[:-2], values[-2], values[-1]
        if len(values) != n_values:
            raise gr.Error(f"expected {n_values} editor values, got {len(values)}")
        if backend_v not in ("procedural", "diffusion"):
            raise gr.Error(f"unknown texture backend {backend_v!r}; use procedural or diffusion")
        with ctx.runs.run(session_of(request)) as flag:
            texture = None
            if backend_v == "diffusion":  # a clear message (no model, missing model, bad values) before any work
                texture = ctx.diffusion.backend(prompt_v, negative_v, steps_v, noise_seed_v)
            ids, exs, ps, hs, its = ed.split(ctx, values)
            hair = H.hair_spec(hs)  # bad values: one line before any work
            items = I.items_spec(its)
            st = st or E.EditorState()

            def report(done, total, what):
                if flag.is_set():
                    raise Cancelled("cancelled: texture generation stopped")
                progress((done, total), desc=f"texturing {what}")

            progress(0, desc="geometry" + (", growing the hair" if hair is not None else "")
                     + (", fitting the items" if items is not None else ""))
            if texture is None:
                asset = build_asset(name_v, seed_v, res_v, ids, exs, ps, state=st, progress=report, hair=hair,
                                    items=items)
            else:  # on the diffusion worker thread: shared loaded models, one GL thread
                progress(0, desc="diffusion: loading models, rendering the views")
                asset = ctx.diffusion.run(build_asset, name_v, seed_v, res_v, ids, exs, ps, backend="diffusion",
                                          state=st, progress=report, texture=texture, hair=hair, items=items)
        progress(1.0, desc="exporting GLB")
        out = X.new_workdir(gen_root)
        glb = X.export_for_viewer(asset, out)
        if st.workdir and Path(st.workdir).parent == gen_root:
            shutil.rmtree(st.workdir, ignore_errors=True)
        new = E.EditorState(asset=asset, glb=str(glb), base_identity=st.base_identity,
                            base_expression=st.base_expression, parent=st.parent, workdir=str(out))
        how, note = "", ""
        if texture is None:
            note = " (the prompt is not used by the procedural backend)" if (prompt_v or "").strip() else ""
        else:
            tp = asset.provenance["texture"]["params"]
            how = f", diffusion: \"{tp.get('prompt')}\", {tp.get('steps')} steps, noise seed {tp.get('seed')}"
        res = asset.provenance["uv_resolution"]
        msg = (f"Generated **{asset.name}** (seed {asset.provenance['seed']}, {res} px{how}){note}. "
               f"Hair: {H.hair_summary(asset)}. Items: {I.items_summary(asset)}.")
        return new, X.uv_image(asset), str(glb), X.summary(asset), msg

    return on_generate


# ---- despecularize / clean tab ---------------------------------------------------------------------
def despecularize_tab(state: gr.State) -> None:
    """Despecularize the current texture or an upload; clean holes by classical inpainting."""
    with gr.Tab("Despecularize / clean", id="despec"):
        gr.Markdown("Classical dichromatic despecularization of the current face texture or of an "
                    f"uploaded image (PNG/JPEG/WebP, at most {MAX_UPLOAD}, 4096x4096).")
        with gr.Row():
            upload = gr.File(label="Image to despecularize (optional)", file_count="single",
                             file_types=list(U.UPLOAD_SUFFIXES), elem_id="upload")
            with gr.Column():
                despec_btn = gr.Button("Despecularize current texture", elem_id="despec-current")
                despec_up_btn = gr.Button("Despecularize upload", elem_id="despec-upload")
                clean_btn = gr.Button("Clean holes (classical inpaint)", elem_id="clean")
        compare = gr.ImageSlider(label="Before / after", type="numpy", elem_id="compare")
        with gr.Row():
            residual = gr.Image(label="Removed residual (x4)", type="numpy", interactive=False)
            despec_info = gr.JSON(label="Method")

    @guarded
    def on_despec_current(st):
        if st is None or st.asset is None:
            raise gr.Error("nothing to despecularize yet: press \"Generate texture\" first")
        before, after, res, info = U.despecularize_asset(st.asset)
        return (before, after), res, info

    @guarded
    def on_despec_upload(path):
        if not path:
            raise gr.Error("upload an image first (PNG, JPEG or WebP)")
        before, after, res, info = U.despecularize_image(U.read_upload(path))
        return (before, after), res, info

    @guarded
    def on_clean(st, path):
        img = U.read_upload(path) if path else (X.uv_image(st.asset) if st and st.asset else None)
        if img is None:
            raise gr.Error("nothing to clean: generate a texture or upload an image first")
        cleaned, mask = U.clean_image(img)
        return (img, cleaned), (mask[..., None].repeat(3, -1) * 255).astype("uint8"), {
            "method": "opencv-telea", "texels_filled": int(mask.sum())}

    outputs = [compare, residual, despec_info]
    despec_btn.click(on_despec_current, state, outputs, api_name="despecularize", concurrency_id="light",
                     concurrency_limit=4)
    despec_up_btn.click(on_despec_upload, upload, outputs, api_name="despecularize_upload", concurrency_id="light",
                        concurrency_limit=4)
    clean_btn.click(on_clean, [state, upload], outputs, api_name="clean", concurrency_id="light", concurrency_limit=4)


# ---- library tab -----------------------------------------------------------------------------------
def library_tab(app: gr.Blocks, ctx: Context, ed: Editor) -> None:
    """Save (or save a new version), filter and browse the gallery, open an asset in the editor, import a mesh."""
    lib_problem, library = ctx.library_problem, ctx.library
    with gr.Tab("Library", id="library"):
        lib_msg = gr.Markdown(lib_problem or f"Library: `{library}`", elem_id="library-status")
        with gr.Row():
            save_labels = gr.Textbox("", label="Labels (key=value, comma separated)", elem_id="save-labels")
            save_tags = gr.Textbox("", label="Tags (comma separated)", elem_id="save-tags")
        with gr.Row():
            save_btn = gr.Button("Save to library", variant="primary", elem_id="save")
            version_btn = gr.Button("Save as new version", elem_id="new-version")
        with gr.Row():
            filters = gr.Textbox("", label="Filters (e.g. skin_tone=monk_03, lipstick=true, tag=hero)",
                                 elem_id="filters")
            refresh_btn = gr.Button("Refresh", elem_id="refresh")
        gallery = gr.Gallery(label="Library", columns=6, height=360, allow_preview=False, elem_id="gallery")
        entries = gr.State([])
        with gr.Row():
            picked = gr.Textbox("", label="Asset id", elem_id="asset-id")
            open_btn = gr.Button("Open in editor", elem_id="open")
        listing = gr.JSON(label="Assets", elem_id="listing")
        mesh_upload, mesh_name, import_btn = mesh_import_panel()

    def usable():
        if lib_problem:
            raise gr.Error(lib_problem)

    def shown(filters_v):
        usable()
        ents = L.listing(library, filters_v)
        return L.gallery_items(library, ents, ctx.thumbs), ents, ents

    @guarded
    def on_save(st, labels_v, tags_v, filters_v):
        usable()
        if st is None or st.asset is None:
            raise gr.Error("nothing to save yet: press \"Generate texture\" first")
        asset_id = L.save(library, st.asset, labels_v, tags_v)
        return f"Saved **{st.asset.name}** as `{asset_id}`.", asset_id, *shown(filters_v)

    @guarded
    def on_new_version(st, labels_v, tags_v, filters_v):
        usable()
        if st is None or st.asset is None:
            raise gr.Error("nothing to save yet: open an asset, edit it and press \"Generate texture\"")
        if not st.parent:
            raise gr.Error("a new version needs a parent: open an asset from the library first")
        asset_id = L.save(library, st.asset, labels_v, tags_v, parent=st.parent)
        return (f"Saved **{st.asset.name}** as `{asset_id}`, a new version of `{st.parent}`.", asset_id,
                *shown(filters_v))

    @guarded
    def on_import_mesh(path, name_v, labels_v, tags_v, filters_v):
        usable()
        if not path:
            raise gr.Error("upload a mesh first (OBJ, PLY or GLB)")
        asset_id, asset_name = L.import_mesh(library, path, name_v, labels_v, tags_v)
        return f"Imported **{asset_name}** ({Path(path).name}) as `{asset_id}`.", asset_id, *shown(filters_v)

    @guarded
    def on_refresh(filters_v):
        return shown(filters_v)

    def on_select(ents, evt: gr.SelectData):
        if ents and evt is not None and 0 <= evt.index < len(ents):
            return ents[evt.index]["id"]
        return gr.update()

    on_open = open_handler(ctx, ed)
    lib_outputs = [lib_msg, picked, gallery, entries, listing]
    listed = [gallery, entries, listing]
    save_btn.click(on_save, [ed.state, save_labels, save_tags, filters], lib_outputs, api_name="save_to_library",
                   concurrency_id="library", concurrency_limit=1)
    version_btn.click(on_new_version, [ed.state, save_labels, save_tags, filters], lib_outputs,
                      api_name="new_version", concurrency_id="library", concurrency_limit=1)
    import_btn.click(on_import_mesh, [mesh_upload, mesh_name, save_labels, save_tags, filters], lib_outputs,
                     api_name="import_mesh", concurrency_id="library", concurrency_limit=1)
    refresh_btn.click(on_refresh, filters, listed, api_name="list_library", concurrency_id="light",
                      concurrency_limit=8)
    filters.submit(on_refresh, filters, listed, api_name=False, concurrency_id="light", concurrency_limit=8)
    gallery.select(on_select, entries, picked, api_name=False, queue=False)
    opened = open_btn.click(on_open, [ed.state, picked],
                            [ed.state, ed.name, ed.seed, *ed.values, ed.uv, ed.viewer, ed.labels_json, ed.status],
                            api_name="open_asset", concurrency_id="light", concurrency_limit=4)
    opened.success(on_preview, ed.state, ed.pictures, api_name=False, concurrency_id="render", concurrency_limit=1)
    if not lib_problem:
        app.load(on_refresh, filters, listed, api_name=False)


def mesh_import_panel() -> tuple[gr.File, gr.Textbox, gr.Button]:
    """The mesh upload (wired by the library tab: it shares the labels, tags and gallery)."""
    with gr.Accordion("Import a mesh (an accessory, another head)", open=False):
        gr.Markdown(f"OBJ, PLY or GLB, at most {MAX_UPLOAD}; UVs are made when the file has none. "
                    "The labels and tags above are applied.")
        with gr.Row():
            mesh_upload = gr.File(label="Mesh file", file_count="single", file_types=list(L.MESH_SUFFIXES),
                                  elem_id="mesh-upload")
            with gr.Column():
                mesh_name = gr.Textbox("", label="Mesh asset name (default: the file name)", elem_id="mesh-name")
                import_btn = gr.Button("Import mesh into library", elem_id="import-mesh")
    return mesh_upload, mesh_name, import_btn


def open_handler(ctx: Context, ed: Editor):
    """The "Open in editor" callback: a stored face asset -> the editor's state, fields and pictures."""
    n_id = len(ed.ident)

    @guarded
    def on_open(st, asset_id):
        if ctx.library_problem:
            raise gr.Error(ctx.library_problem)
        asset = L.load(ctx.library, asset_id)
        if L.is_mesh(asset):
            raise gr.Error(f"`{asset_id}` is an imported mesh ({asset.name}); the editor opens face assets only")
        lib_id = asset.provenance.get("library", {}).get("id") or asset_id
        out = X.new_workdir(ctx.workdir / "gen")
        glb = X.export_for_viewer(asset, out)
        ps_ui = E.params_to_ui(asset.textures.params or {})
        groom = getattr(asset, "groom", None)
        hair_ui = H.groom_to_ui(groom.params if groom is not None else None)
        outfit = getattr(asset, "items", None)
        items_ui = I.outfit_to_ui(outfit.params if outfit is not None else None)
        named = asset.expression_named
        ident_v = [float(x) for x in asset.identity_weights[:n_id]] if len(asset.identity_weights) else [0.0] * n_id
        new = E.EditorState(asset=asset, glb=str(glb), base_identity=asset.identity_weights.copy(),
                            base_expression=asset.expression_weights.copy(), parent=lib_id, workdir=str(out))
        seed_v = asset.provenance.get("seed") or 0
        return [new, asset.name, seed_v, *ident_v, *[named.get(n, 0.0) for n in ctx.expr_names],
                *[ps_ui[k] for k in PARAM_KEYS], *[hair_ui[k] for k in H.HAIR_KEYS],
                *[items_ui[k] for k in I.item_keys()], X.uv_image(asset), str(glb),
                X.summary(asset),
                f"Opened `{lib_id}` ({asset.name}); edit it, generate, then **Save as new version**."]

    return on_open


# ---- export tab ------------------------------------------------------------------------------------
def export_tab(ctx: Context, state: gr.State) -> None:
    """The chosen formats of the current asset as downloads."""
    with gr.Tab("Export", id="export"):
        formats = gr.CheckboxGroup(list(X.EXPORT_FORMATS), value=["glb", "gt.json"], label="Formats",
                                   elem_id="formats")
        export_btn = gr.Button("Export", elem_id="export-btn")
        files = gr.File(label="Download", file_count="multiple", interactive=False, elem_id="files")

    @guarded
    def on_export(st, formats_v):
        return [str(p) for p in X.export_files(st.asset if st else None, formats_v, ctx.workdir)]

    export_btn.click(on_export, [state, formats], files, api_name="export", concurrency_id="light",
                     concurrency_limit=4)


# ---- serving ---------------------------------------------------------------------------------------
def serve(app: gr.Blocks, *, host: str = "127.0.0.1", port: int | None = 7860,
          block: bool = True, queue_size: int = 16):
    """Queue and launch a built app with the rules above; returns (fastapi app, local url, share url)."""
    app.queue(max_size=queue_size, default_concurrency_limit=2)
    return app.launch(
        server_name=host, server_port=port, share=False,  # never a public tunnel
        prevent_thread_lock=not block, quiet=True,
        allowed_paths=list(getattr(app, "assetgen_paths", [])), max_file_size=MAX_UPLOAD, ssr_mode=False,
        mcp_server=False, show_error=True, theme=getattr(app, "assetgen_theme", None), inbrowser=False,
    )


def launch(port: int = 7860, host: str = "127.0.0.1", library: Path = Path("library"),
           *, block: bool = True, **build_kw: Any):
    """Build and serve the app (see build_app for build_kw)."""
    return serve(build_app(library, **build_kw), host=host, port=port, block=block)


if __name__ == "__main__":  # pragma: no cover
    launch()
