"""The Gradio authoring app: author a face asset, preview it in 3D, compare, save and browse the library.

Layout and event wiring only: every callback calls assetgen.app.actions (editor, textures, despecularize,
export) or assetgen.app.library (the library tab, mesh import), which drive the same stages as the CLI.
The diffusion backend runs assetgen.diffusion.text_to_uv with the registry the app was given
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
import threading  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import gradio as gr  # noqa: E402

from assetgen.app import actions as A  # noqa: E402
from assetgen.app import library as L  # noqa: E402
from assetgen.errors import AssetgenError  # noqa: E402

MAX_UPLOAD = "20mb"
PARAM_KEYS = (
    "skin_tone", "hemoglobin", "freckles", "moles", "stubble", "brow_density", "age", "eye_color", "hair_color",
    *[f"{layer}_{part}" for layer in A.MAKEUP_LAYERS for part in ("color", "opacity")],
)
EYE_COLORS = ["blue", "gray", "green", "hazel", "brown", "dark_brown"]
HAIR_COLORS = ["auto", "black", "dark_brown", "brown", "light_brown", "blond", "red", "gray"]
SYSTEM_FONTS = ["ui-sans-serif", "system-ui", "sans-serif"]
MONO_FONTS = ["ui-monospace", "monospace"]

# Per-session cancel flags: the Cancel button sets its session's flag, the running job's progress
# callback sees it and stops at the next step (Gradio's `cancels` only drops the waiting client).
_cancel: dict[str, threading.Event] = {}


def _flag(request: gr.Request | None) -> threading.Event:
    key = getattr(request, "session_hash", None) or "anonymous"
    return _cancel.setdefault(key, threading.Event())


def guarded(fn):
    """AssetgenError (and bad values) -> gr.Error: a clear message in the UI and in gradio_client."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except (AssetgenError, ValueError) as exc:
            raise gr.Error(str(exc), duration=None) from None

    return wrapper


def named_parameters(fn, names: list[str]):
    """Give a *values callback named parameters, so gradio_client can pass them by keyword
    (client.predict(identity_1=0.5, jawOpen=0.3, skin_tone=8, api_name="/generate_texture"))."""
    import inspect

    import typing

    hints = typing.get_type_hints(fn)  # resolved: Gradio finds gr.Request / gr.Progress by type
    sig = inspect.signature(fn)
    params = [p.replace(annotation=hints.get(p.name, p.annotation)) for p in sig.parameters.values()]
    fixed = [p for p in params if p.kind is p.POSITIONAL_OR_KEYWORD]
    extra = [p for p in params if p.kind is p.KEYWORD_ONLY]
    made = [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in names]
    # Gradio passes the special arguments (Progress, Request) positionally, after the named values.
    extra = [p.replace(kind=inspect.Parameter.POSITIONAL_OR_KEYWORD) for p in extra]
    fn.__signature__ = sig.replace(parameters=[*fixed, *made, *extra])
    return fn


def build_app(library: Path = Path("library"), *, workdir: Path | None = None, default_resolution: int = 512,
              models_config: Path | None = None, generate_concurrency: int = 1, diffusion_recipe: Path | None = None,
              diffusion_overrides: dict[str, Any] | None = None, model_config: Path | None = None) -> gr.Blocks:
    """The Blocks app (not queued or launched). library: the asset-library folder; workdir: where GLBs,
    previews and exports are written (a fresh temporary folder by default); models_config (alias
    model_config, as `--model-config`): the diffusion model registry (default: ASSETGEN_MODELS or
    configs/models.yaml); diffusion_recipe / diffusion_overrides: the text -> UV recipe YAML (default
    pipelines/text_to_uv.yaml) and fields to override in it (view_size, views, ...);
    generate_concurrency: how many texture generations run at once (the rest wait in the queue and see
    their position; diffusion generations share one set of loaded models and run one at a time)."""
    library = Path(library).resolve()
    workdir = Path(workdir or tempfile.mkdtemp(prefix="assetgen-ui-")).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    thumbs = workdir / "thumbs"
    model = A.face_model()
    expr_names = A.editor_expressions(model)
    defaults = A.default_params_ui()
    library_problem = L.library_available()
    models_config = models_config if models_config is not None else model_config
    diffusion_models = A.diffusion_models(models_config)
    diffusion = A.DiffusionTexturing(models_config, diffusion_recipe, diffusion_overrides)
    recipe_defaults = diffusion.defaults
    theme = gr.themes.Default(font=SYSTEM_FONTS, font_mono=MONO_FONTS)

    with gr.Blocks(title="assetgen authoring") as app:
        app.assetgen_paths = [str(library), str(workdir)]  # what launch() serves (allowed_paths)
        app.assetgen_theme = theme
        state = gr.State(None)
        gr.Markdown("## assetgen: author a face asset")
        with gr.Tabs():
            # ---- author -------------------------------------------------------------------------
            with gr.Tab("Author", id="author"):
                with gr.Row():
                    with gr.Column(scale=2):
                        with gr.Row():
                            name = gr.Textbox("asset", label="Asset name", elem_id="asset-name")
                            seed = gr.Number(0, label="Seed", precision=0, minimum=0, elem_id="seed")
                            random_btn = gr.Button("Random", elem_id="random")
                        with gr.Accordion("Identity (leading modes)", open=True):
                            ident = [gr.Slider(-A.IDENTITY_RANGE, A.IDENTITY_RANGE, value=0.0, step=0.01, label=lab,
                                               elem_id=f"identity-{i}")
                                     for i, lab in enumerate(A.identity_labels(model))]
                        with gr.Accordion("Expressions", open=False):
                            expr = [gr.Slider(0.0, 1.0, value=0.0, step=0.01, label=n, elem_id=f"expr-{n}")
                                    for n in expr_names]
                        with gr.Accordion("Texture", open=True):
                            backend = gr.Radio(["procedural", "diffusion"], value="procedural", label="Backend",
                                               elem_id="backend")
                            with gr.Group(visible=False) as diff_box:
                                gr.Markdown("**Diffusion models in the registry:** "
                                            + (", ".join(f"`{m}`" for m in diffusion_models) or "none configured"))
                                diff_msg = gr.Markdown("", elem_id="diffusion-message")
                                prompt = gr.Textbox("", label="Prompt", elem_id="prompt",
                                                    placeholder=recipe_defaults.prompt)
                                negative = gr.Textbox(recipe_defaults.negative_prompt or "", label="Negative prompt",
                                                      elem_id="negative-prompt")
                                with gr.Row():
                                    steps = gr.Slider(1, 100, value=min(int(recipe_defaults.steps), 100), step=1,
                                                      label="Steps", elem_id="steps")
                                    noise_seed = gr.Number(-1, label="Noise seed (-1: from the asset seed)",
                                                           precision=0, minimum=-1, elem_id="noise-seed")
                            with gr.Group() as proc_box:
                                with gr.Row():
                                    p_skin = gr.Slider(1, 10, value=defaults["skin_tone"], step=1,
                                                       label="Skin tone (Monk 1-10)", elem_id="skin-tone")
                                    p_hemo = gr.Slider(0.001, 0.1, value=defaults["hemoglobin"], step=0.001,
                                                       label="Redness (hemoglobin)")
                                    p_age = gr.Slider(12, 95, value=defaults["age"], step=1, label="Age")
                                with gr.Row():
                                    p_freck = gr.Slider(0, 1, value=defaults["freckles"], step=0.01, label="Freckles")
                                    p_moles = gr.Slider(0, 60, value=defaults["moles"], step=1, label="Moles")
                                    p_stub = gr.Slider(0, 1, value=defaults["stubble"], step=0.01, label="Stubble")
                                    p_brow = gr.Slider(0, 1, value=defaults["brow_density"], step=0.01,
                                                       label="Brow density")
                                with gr.Row():
                                    p_eye = gr.Dropdown(EYE_COLORS, value=defaults["eye_color"], label="Eye colour")
                                    p_hair = gr.Dropdown(HAIR_COLORS, value=defaults["hair_color"], label="Hair colour")
                                makeup = []
                                with gr.Row():
                                    for layer in A.MAKEUP_LAYERS:
                                        with gr.Column(min_width=120):
                                            makeup.append(gr.ColorPicker(defaults[f"{layer}_color"],
                                                                         label=f"{layer.capitalize()} colour"))
                                            makeup.append(gr.Slider(0, 1, value=defaults[f"{layer}_opacity"],
                                                                    step=0.01, label=f"{layer.capitalize()} opacity"))
                            resolution = gr.Dropdown([int(r) for r in A.RESOLUTIONS], value=int(default_resolution),
                                                     label="UV resolution (texels per tile)", elem_id="resolution")
                        with gr.Row():
                            gen_btn = gr.Button("Generate texture", variant="primary", elem_id="generate")
                            cancel_btn = gr.Button("Cancel", variant="stop", elem_id="cancel")
                    with gr.Column(scale=3):
                        status = gr.Markdown("Move the sliders, then press **Generate texture**.", elem_id="status")
                        viewer = gr.Model3D(label="Textured head", height=420, clear_color=(0.2, 0.2, 0.22, 1.0),
                                            elem_id="viewer")
                        uv = gr.Image(label="UV texture (face albedo)", type="numpy", interactive=False, format="png",
                                      height=320, elem_id="uv")
                        labels_json = gr.JSON(label="Labels", elem_id="labels")
            # ---- despecularize / clean ------------------------------------------------------------
            with gr.Tab("Despecularize / clean", id="despec"):
                gr.Markdown("Classical dichromatic despecularization of the current face texture or of an "
                            f"uploaded image (PNG/JPEG/WebP, at most {MAX_UPLOAD}, 4096x4096).")
                with gr.Row():
                    upload = gr.File(label="Image to despecularize (optional)", file_count="single",
                                     file_types=list(A.UPLOAD_SUFFIXES), elem_id="upload")
                    with gr.Column():
                        despec_btn = gr.Button("Despecularize current texture", elem_id="despec-current")
                        despec_up_btn = gr.Button("Despecularize upload", elem_id="despec-upload")
                        clean_btn = gr.Button("Clean holes (classical inpaint)", elem_id="clean")
                compare = gr.ImageSlider(label="Before / after", type="numpy", elem_id="compare")
                with gr.Row():
                    residual = gr.Image(label="Removed residual (x4)", type="numpy", interactive=False)
                    despec_info = gr.JSON(label="Method")
            # ---- library --------------------------------------------------------------------------
            with gr.Tab("Library", id="library"):
                lib_msg = gr.Markdown(library_problem or f"Library: `{library}`", elem_id="library-status")
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
                with gr.Accordion("Import a mesh (an accessory, another head)", open=False):
                    gr.Markdown(f"OBJ, PLY or GLB, at most {MAX_UPLOAD}; UVs are made when the file has none. "
                                "The labels and tags above are applied.")
                    with gr.Row():
                        mesh_upload = gr.File(label="Mesh file", file_count="single",
                                              file_types=list(L.MESH_SUFFIXES), elem_id="mesh-upload")
                        with gr.Column():
                            mesh_name = gr.Textbox("", label="Mesh asset name (default: the file name)",
                                                   elem_id="mesh-name")
                            import_btn = gr.Button("Import mesh into library", elem_id="import-mesh")
            # ---- export ---------------------------------------------------------------------------
            with gr.Tab("Export", id="export"):
                formats = gr.CheckboxGroup(list(A.EXPORT_FORMATS), value=["glb", "gt.json"], label="Formats",
                                           elem_id="formats")
                export_btn = gr.Button("Export", elem_id="export-btn")
                files = gr.File(label="Download", file_count="multiple", interactive=False, elem_id="files")

        params = [p_skin, p_hemo, p_freck, p_moles, p_stub, p_brow, p_age, p_eye, p_hair, *makeup]
        params_by_key = dict(zip(("skin_tone", "hemoglobin", "freckles", "moles", "stubble", "brow_density", "age",
                                  "eye_color", "hair_color",
                                  *[f"{la}_{pa}" for la in A.MAKEUP_LAYERS for pa in ("color", "opacity")]), params))
        param_order = list(params_by_key)
        n_id, n_ex = len(ident), len(expr)
        n_values = n_id + n_ex + len(params)

        def split(values):
            ids = list(values[:n_id])
            exs = dict(zip(expr_names, values[n_id:n_id + n_ex]))
            ps = dict(zip(param_order, values[n_id + n_ex:]))
            return ids, exs, ps

        # ---- callbacks (thin) -----------------------------------------------------------------------
        def on_backend(b):
            diff = b == "diffusion"
            return (gr.update(visible=diff), gr.update(visible=not diff), diffusion.message() if diff else "")

        @guarded
        def on_random(seed_value):
            r = A.random_editor(int(seed_value or 0) + 1)
            ps = [r["params"][k] for k in param_order]
            return [r["seed"], *r["identity"], *([0.0] * n_ex), *ps]

        @guarded
        def on_generate(st, name_v, seed_v, res_v, backend_v, prompt_v, negative_v, steps_v, noise_seed_v, *values,
                        progress=gr.Progress(), request: gr.Request = None):
            if len(values) == n_values + 2:  # Progress and Request, appended by Gradio (named_parameters)
                values, progress, request = values[:-2], values[-2], values[-1]
            if len(values) != n_values:
                raise gr.Error(f"expected {n_values} editor values, got {len(values)}")
            flag = _flag(request)
            flag.clear()
            if backend_v not in ("procedural", "diffusion"):
                raise gr.Error(f"unknown texture backend {backend_v!r}; use procedural or diffusion")
            texture = None
            if backend_v == "diffusion":  # a clear message (no model, missing model, bad values) before any work
                texture = diffusion.backend(prompt_v, negative_v, steps_v, noise_seed_v)
            ids, exs, ps = split(values)
            st = st or A.EditorState()

            def report(done, total, what):
                if flag.is_set():
                    raise A.Cancelled("cancelled: texture generation stopped")
                progress((done, total), desc=f"texturing {what}")

            progress(0, desc="geometry")
            if texture is None:
                asset = A.build_asset(name_v, seed_v, int(res_v), ids, exs, ps, state=st, progress=report)
            else:  # on the diffusion worker thread: shared loaded models, one GL thread
                progress(0, desc="diffusion: loading models, rendering the views")
                asset = diffusion.run(A.build_asset, name_v, seed_v, int(res_v), ids, exs, ps, backend="diffusion",
                                      state=st, progress=report, texture=texture)
            progress(1.0, desc="exporting GLB")
            old = st.workdir
            out = A.new_workdir(workdir / "gen")
            glb = A.export_for_viewer(asset, out)
            if old and Path(old).parent == workdir / "gen":
                shutil.rmtree(old, ignore_errors=True)
            new = A.EditorState(asset=asset, glb=str(glb), base_identity=st.base_identity,
                                base_expression=st.base_expression, parent=st.parent, workdir=str(out))
            how, note = "", ""
            if texture is None:
                note = " (the prompt is not used by the procedural backend)" if (prompt_v or "").strip() else ""
            else:
                tp = asset.provenance["texture"]["params"]
                how = f", diffusion: \"{tp.get('prompt')}\", {tp.get('steps')} steps, noise seed {tp.get('seed')}"
            msg = f"Generated **{asset.name}** (seed {asset.provenance['seed']}, {int(res_v)} px{how}){note}."
            return new, A.uv_image(asset), str(glb), A.summary(asset), msg

        def on_cancel(request: gr.Request = None):
            _flag(request).set()
            return "Cancelled."

        @guarded
        def on_despec_current(st):
            if st is None or st.asset is None:
                raise gr.Error("nothing to despecularize yet: press \"Generate texture\" first")
            before, after, res, info = A.despecularize_asset(st.asset)
            return (before, after), res, info

        @guarded
        def on_despec_upload(path):
            if not path:
                raise gr.Error("upload an image first (PNG, JPEG or WebP)")
            before, after, res, info = A.despecularize_image(A.read_upload(path))
            return (before, after), res, info

        @guarded
        def on_clean(st, path):
            img = A.read_upload(path) if path else (A.uv_image(st.asset) if st and st.asset else None)
            if img is None:
                raise gr.Error("nothing to clean: generate a texture or upload an image first")
            cleaned, mask = A.clean_image(img)
            return (img, cleaned), (mask[..., None].repeat(3, -1) * 255).astype("uint8"), {
                "method": "opencv-telea", "texels_filled": int(mask.sum())}

        def _gallery(filters_v):
            if library_problem:
                raise gr.Error(library_problem)
            ents = L.listing(library, filters_v)
            return L.gallery_items(library, ents, thumbs), ents, ents

        @guarded
        def on_save(st, labels_v, tags_v, filters_v):
            if library_problem:
                raise gr.Error(library_problem)
            if st is None or st.asset is None:
                raise gr.Error("nothing to save yet: press \"Generate texture\" first")
            asset_id = L.save(library, st.asset, labels_v, tags_v)
            g, ents, lst = _gallery(filters_v)
            return f"Saved **{st.asset.name}** as `{asset_id}`.", asset_id, g, ents, lst

        @guarded
        def on_new_version(st, labels_v, tags_v, filters_v):
            if library_problem:
                raise gr.Error(library_problem)
            if st is None or st.asset is None:
                raise gr.Error("nothing to save yet: open an asset, edit it and press \"Generate texture\"")
            if not st.parent:
                raise gr.Error("a new version needs a parent: open an asset from the library first")
            asset_id = L.save(library, st.asset, labels_v, tags_v, parent=st.parent)
            g, ents, lst = _gallery(filters_v)
            return f"Saved **{st.asset.name}** as `{asset_id}`, a new version of `{st.parent}`.", asset_id, g, ents, lst

        @guarded
        def on_import_mesh(path, name_v, labels_v, tags_v, filters_v):
            if library_problem:
                raise gr.Error(library_problem)
            if not path:
                raise gr.Error("upload a mesh first (OBJ, PLY or GLB)")
            asset_id, asset_name = L.import_mesh(library, path, name_v, labels_v, tags_v)
            g, ents, lst = _gallery(filters_v)
            return f"Imported **{asset_name}** ({Path(path).name}) as `{asset_id}`.", asset_id, g, ents, lst

        @guarded
        def on_refresh(filters_v):
            return _gallery(filters_v)

        def on_select(ents, evt: gr.SelectData):
            if ents and evt is not None and 0 <= evt.index < len(ents):
                return ents[evt.index]["id"]
            return gr.update()

        @guarded
        def on_open(st, asset_id):
            if library_problem:
                raise gr.Error(library_problem)
            asset = L.load(library, asset_id)
            if L.is_mesh(asset):
                raise gr.Error(f"`{asset_id}` is an imported mesh ({asset.name}); the editor opens face assets only")
            lib_id = asset.provenance.get("library", {}).get("id") or asset_id
            out = A.new_workdir(workdir / "gen")
            glb = A.export_for_viewer(asset, out)
            ps_ui = A.params_to_ui(asset.textures.params or {})
            named = asset.expression_named
            ident_v = [float(x) for x in asset.identity_weights[:n_id]] if len(asset.identity_weights) else [0.0] * n_id
            new = A.EditorState(asset=asset, glb=str(glb), base_identity=asset.identity_weights.copy(),
                                base_expression=asset.expression_weights.copy(), parent=lib_id, workdir=str(out))
            seed_v = asset.provenance.get("seed") or 0
            return [new, asset.name, seed_v, *ident_v, *[named.get(n, 0.0) for n in expr_names],
                    *[ps_ui[k] for k in param_order], A.uv_image(asset), str(glb), A.summary(asset),
                    f"Opened `{lib_id}` ({asset.name}); edit it, generate, then **Save as new version**."]

        @guarded
        def on_export(st, formats_v):
            paths = A.export_files(st.asset if st else None, formats_v, workdir)
            return [str(p) for p in paths]

        # ---- wiring -------------------------------------------------------------------------------
        backend.change(on_backend, backend, [diff_box, proc_box, diff_msg], api_name=False, queue=False)
        random_btn.click(on_random, seed, [seed, *ident, *expr, *params], api_name="random",
                         concurrency_id="light", concurrency_limit=8)
        named_parameters(on_generate, [f"identity_{i + 1}" for i in range(n_id)] + list(expr_names) + param_order)
        gen_inputs = [state, name, seed, resolution, backend, prompt, negative, steps, noise_seed, *ident, *expr,
                      *params]
        gen = gen_btn.click(on_generate, gen_inputs, [state, uv, viewer, labels_json, status],
                            api_name="generate_texture", concurrency_id="generate",
                            concurrency_limit=generate_concurrency)
        # Queued (so it knows its session) but in its own unlimited lane: it never waits behind a generation.
        cancel_btn.click(on_cancel, None, status, api_name="cancel", cancels=[gen], concurrency_id="cancel",
                         concurrency_limit=None)
        despec_btn.click(on_despec_current, state, [compare, residual, despec_info], api_name="despecularize",
                         concurrency_id="light", concurrency_limit=4)
        despec_up_btn.click(on_despec_upload, upload, [compare, residual, despec_info],
                            api_name="despecularize_upload", concurrency_id="light", concurrency_limit=4)
        clean_btn.click(on_clean, [state, upload], [compare, residual, despec_info], api_name="clean",
                        concurrency_id="light", concurrency_limit=4)
        lib_outputs = [lib_msg, picked, gallery, entries, listing]
        save_btn.click(on_save, [state, save_labels, save_tags, filters], lib_outputs, api_name="save_to_library",
                       concurrency_id="library", concurrency_limit=1)
        version_btn.click(on_new_version, [state, save_labels, save_tags, filters], lib_outputs,
                          api_name="new_version", concurrency_id="library", concurrency_limit=1)
        import_btn.click(on_import_mesh, [mesh_upload, mesh_name, save_labels, save_tags, filters], lib_outputs,
                         api_name="import_mesh", concurrency_id="library", concurrency_limit=1)
        refresh_btn.click(on_refresh, filters, [gallery, entries, listing], api_name="list_library",
                          concurrency_id="light", concurrency_limit=8)
        filters.submit(on_refresh, filters, [gallery, entries, listing], api_name=False,
                       concurrency_id="light", concurrency_limit=8)
        gallery.select(on_select, entries, picked, api_name=False, queue=False)
        open_btn.click(on_open, [state, picked],
                       [state, name, seed, *ident, *expr, *params, uv, viewer, labels_json, status],
                       api_name="open_asset", concurrency_id="light", concurrency_limit=4)
        export_btn.click(on_export, [state, formats], files, api_name="export", concurrency_id="light",
                         concurrency_limit=4)
        if not library_problem:
            app.load(on_refresh, filters, [gallery, entries, listing], api_name=False)
    return app


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
