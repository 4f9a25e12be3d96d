"""Reading YAML files (recipes, jobs, distributions, model registries, render configs) with one loader.

`load_yaml` has yaml.safe_load's semantics (plain YAML types, no Python tags) and turns every way a file
can be bad into one ConfigError line naming the file: not UTF-8 text, a syntax error (line and column),
a key given twice in one mapping (at any depth), aliases that expand past a node budget ("billion
laughs": the loaded object shares the aliased parts, but whatever walks it later, validation or JSON,
walks the whole expansion), a recursive alias, or a top level that is not a mapping.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, SequenceNode

from .errors import ConfigError

MAX_BYTES = 4 << 20  # configs are a few kB; anything this large is not one
MAX_NODES = 100_000  # what aliases may expand a document to (counting every scalar, list and mapping)
_MERGE_TAG = "tag:yaml.org,2002:merge"


class _DuplicateKey(Exception):
    def __init__(self, key, mark, first_mark):
        super().__init__(key)
        self.key, self.mark, self.first_mark = key, mark, first_mark


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (merge keys `<<` may still override)."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, MappingNode):
            seen: dict = {}
            for key_node, _ in node.value:
                if key_node.tag == _MERGE_TAG:
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                except TypeError:  # an unhashable key: SafeConstructor reports it
                    break
                if first is not None:
                    raise _DuplicateKey(key, key_node.start_mark, first)
                seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


def _children(node) -> list:
    if isinstance(node, SequenceNode):
        return node.value
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _expanded_size(root) -> tuple[int, int]:
    """(nodes once every alias is expanded, distinct nodes) of a composed document; ValueError on a
    recursive alias. Linear in the distinct nodes: each node's expanded size is computed once."""
    size: dict[int, int] = {}
    open_: set[int] = set()  # nodes on the current path
    stack = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            size[key] = 1 + sum(size[id(c)] for c in _children(node))
            open_.discard(key)
            continue
        if key in size:
            continue
        open_.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in open_:
                raise ValueError(f"line {child.start_mark.line + 1}")
            if id(child) not in size:
                stack.append((child, False))
    return size[id(root)], len(size)


def _where(mark) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "somewhere"


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def load_yaml(path: str | Path, what: str = "", *, mapping: bool = True) -> Any:
    """The document in the YAML file `path` (None when it is empty).

    what: what the file is ("recipe", "job", ...), to start error messages with; mapping: the top level
    must be a mapping (key: value). Every problem is one ConfigError naming the file."""
    path = Path(path)
    label = f"{what} {path}" if what else str(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read {label}: {exc.strerror or exc}") from exc
    if len(raw) > MAX_BYTES:
        raise ConfigError(f"{label} is over {MAX_BYTES >> 20} MB; a YAML config is a few kB (is it the right file?)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{label} is not a UTF-8 text YAML file (byte {exc.start} is not UTF-8); save it as UTF-8 text"
        ) from exc
    if "\x00" in text:
        raise ConfigError(f"{label} is not a UTF-8 text YAML file (it holds NUL bytes: binary data?)")
    loader = None
    try:
        loader = _Loader(text)
        node = loader.get_single_node()
        if node is None:
            return None
        try:
            total, distinct = _expanded_size(node)
        except ValueError as exc:
            raise ConfigError(f"{label}: an alias refers to its own anchor ({exc}); YAML configs cannot be recursive") from exc
        if total > max(MAX_NODES, distinct):
            raise ConfigError(
                f"{label}: aliases expand the document to {total:,} values, over the {MAX_NODES:,} limit; "
                "write the values out instead of nesting aliases"
            )
        data = loader.construct_document(node)
    except _DuplicateKey as dup:
        raise ConfigError(
            f"{label}, {_where(dup.mark)}: key {dup.key!r} is given twice in one mapping "
            f"(first at line {dup.first_mark.line + 1}); keep one"
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = _one_line(exc.problem or exc.context or "invalid YAML")
        context = f" ({_one_line(exc.context)})" if exc.context and exc.problem else ""
        raise ConfigError(f"{label}, {_where(mark)}: invalid YAML: {problem}{context}") from exc
    except yaml.reader.ReaderError as exc:  # a control character YAML does not allow
        line = text.count("\n", 0, max(exc.position, 0)) + 1
        raise ConfigError(
            f"{label} is not a UTF-8 text YAML file (control character #x{exc.character:02x} on line {line})"
        ) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{label}: invalid YAML: {_one_line(exc)}") from exc
    except RecursionError as exc:
        raise ConfigError(f"{label} nests lists or mappings too deeply to be a config") from exc
    finally:
        if loader is not None:
            loader.dispose()
    if mapping and data is not None and not isinstance(data, dict):
        raise ConfigError(
            f"{label}: the top level must be a mapping of key: value, not a {type(data).__name__}"
        )
    return data
