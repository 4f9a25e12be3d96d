"""The rule for names that become file names (assets, recipes, jobs, tags): one function, used wherever a
user gives one, so a name accepted at one edge is never refused at another."""

from __future__ import annotations

import re

from .errors import InputError

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
RULE = "use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit, without '..'"


def name_problem(name: object) -> str | None:
    """Why `name` is not a file-safe name (None when it is): it must be 1-128 letters, digits, '.', '_' or
    '-', start with a letter or digit and hold no '..', so it never leaves a folder, hides a file or
    carries a path separator, NUL or control character."""
    if isinstance(name, str) and NAME_RE.fullmatch(name) and ".." not in name:
        return None
    return RULE


def check_name(name: object, what: str = "asset name") -> str:
    """`name` if it is file-safe (see name_problem), else InputError naming `what` and the rule."""
    problem = name_problem(name)
    if problem is not None:
        raise InputError(f"{what} {name!r} is not allowed: {problem}")
    return name  # type: ignore[return-value]
