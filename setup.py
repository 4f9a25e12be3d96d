"""Packaging beside pyproject.toml (which holds the metadata): the packages are found automatically, and
the checkout's top-level pipelines/, configs/ and ui/ folders ship inside the package as
assetgen/_data/{pipelines,configs,ui} (one copy of each file in the repository; see assetgen/resources.py)."""

from setuptools import find_packages, setup

SHIPPED = {f"assetgen._data.{folder}": folder for folder in ("pipelines", "configs", "ui")}

setup(packages=[*find_packages(include=["assetgen", "assetgen.*"]), *SHIPPED], package_dir=SHIPPED)
