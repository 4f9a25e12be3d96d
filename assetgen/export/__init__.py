"""Exporters: assets to renderer formats, each with its ground-truth sidecar."""
