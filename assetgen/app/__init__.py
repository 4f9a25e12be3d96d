"""What the Gradio authoring UI (ui/app.py) calls: plain inputs -> plain outputs, no Gradio imports.

actions: editor state, texture generation, despecularization, export; library: the asset-library tab.
Every function here drives the same stages as the CLI (face model, UV layout, texture backend, exporters)."""
