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
    'unknown NOUN' problem (its model_fields: a nested section's own names for a key inside it);
    show_input: add the offending value."""
    parts = []
    for e in exc.errors():
        where = ".".join(str(x) for x in e["loc"]) or "(top)"
        names = _names_at(known, e["loc"][:-1]) if known is not None else None
        if names is not None and e["type"] == "extra_forbidden":
            parts.append(f"unknown {noun} {where!r} (known: {', '.join(names)})")
        else:
            parts.append(f"{where}: {e['msg']}" + (f" (got {e.get('input')!r})" if show_input else ""))
    return "; ".join(parts)


def _names_at(known, path) -> list[str] | None:
    """The field names of the section at `path` (a location's keys and list indices) of the model whose
    fields are `known` (model_fields, or plain names for the top level alone); None where unknown."""
    if not path:
        return list(known)
    fields = known if isinstance(known, dict) else None
    for key in path:
        if isinstance(key, int):  # a list item: its model came with the list's annotation
            continue
        info = fields.get(key) if fields is not None else None
        model = _model_in(getattr(info, "annotation", None))
        if model is None:
            return None
        fields = model.model_fields
    return list(fields)


def _model_in(annotation):
    """The pydantic model class an annotation holds (itself, or inside Optional/Union/list), or None."""
    import typing

    from pydantic import BaseModel

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None
