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


def validation_problems(exc, known=None, noun: str = "key", show_input: bool = False) -> str:
    """The problems of a pydantic ValidationError as one line: 'a.b: message' each, '; '-joined
    ('(top)' for the whole document). known: the model's field names, to list after an
    'unknown NOUN' problem; show_input: add the offending value."""
    parts = []
    for e in exc.errors():
        where = ".".join(str(x) for x in e["loc"]) or "(top)"
        if known is not None and e["type"] == "extra_forbidden":
            parts.append(f"unknown {noun} {where!r} (known: {', '.join(known)})")
        else:
            parts.append(f"{where}: {e['msg']}" + (f" (got {e.get('input')!r})" if show_input else ""))
    return "; ".join(parts)
