"""What the Gradio authoring UI (ui/app.py) calls: plain inputs -> plain outputs, no Gradio imports.

One module per job: editor (face model, layouts, slider and texture parameters, seeds, EditorState), hair
(the hair controls -> a recipe hair section, a groom -> the controls), building (the editor's values -> an
Asset, with its groom), preview (the rendered front view and its segmentation overlay), texturing (the
diffusion backend as the app offers it), uploads (reading uploads, despecularize, clean), exports (viewer
GLB, UV picture, preview, export formats, the GL thread), runs (per-session cancel flags), library (the
asset-library tab). Every function drives the same stages as the CLI; errors are AssetgenError subclasses
with one line a person can act on."""
