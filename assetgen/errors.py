"""Errors that reach users. Each message names the thing that is wrong and how to fix it."""


class AssetgenError(Exception):
    """Base class: the CLI prints these as one clear line and exits non-zero."""


class FaceModelError(AssetgenError):
    """A face-model folder is missing, incomplete or corrupt."""


class InputError(AssetgenError, ValueError):
    """An argument has the wrong shape, type or range."""


class ConfigError(AssetgenError):
    """A configuration file or value is invalid."""


class OutputError(AssetgenError):
    """An output location cannot be written."""


class DownloadError(AssetgenError):
    """A download failed or did not match its checksum."""
