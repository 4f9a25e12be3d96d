"""The package's plan is the data flow: no module imports from a later stage, and no import cycles.

Every `import` counts, at module level or inside a function (lazy), so a knot cannot hide behind a
deferred import. Stages, earliest first (a module's stage is its longest listed prefix):
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "assetgen"

STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    # Shared plumbing that every stage may use: errors, atomic files, paths, colour, GL context, config and
    # image readers, mesh geometry helpers, shipped resources, file-safe names, the PNG writer, JSON-safe values,
    # the code's digest (what stored files record of the code that made them).
    ("base", ("assetgen", "assetgen.errors", "assetgen.io", "assetgen.paths", "assetgen.resources",
              "assetgen.color", "assetgen.gl", "assetgen.yamlio", "assetgen.images", "assetgen.geometry",
              "assetgen.names", "assetgen.png", "assetgen.jsonsafe", "assetgen.codeid")),
    # Lighting environments as data (HDRIs, studios, SH, prefiltered maps): base modules only.
    ("lighting", ("assetgen.lighting",)),
    ("face", ("assetgen.face",)),
    ("attach", ("assetgen.attach",)),
    ("uv", ("assetgen.uv",)),
    # The rasteriser/ray caster and camera model: bake and the diffusion stage's conditioning use it too.
    ("render", ("assetgen.render",)),
    ("texture", ("assetgen.texture", "assetgen.despecular")),
    ("bake", ("assetgen.bake",)),
    ("diffusion", ("assetgen.diffusion",)),
    ("asset", ("assetgen.asset", "assetgen.recipe", "assetgen.generate", "assetgen.preview")),
    ("library", ("assetgen.library",)),
    # Rendering stored assets: views with ground truth.
    ("views", ("assetgen.views",)),
    ("export", ("assetgen.export",)),
    # Jobs that make assets (assetgen.generate, whose texture backends include diffusion): batch, the demo and
    # data sets (subjects made on the fly as batch makes them, or taken from a library, then rendered).
    ("jobs", ("assetgen.batch", "assetgen.demo", "assetgen.dataset", "assetgen.scale")),
    ("app", ("assetgen.app",)),
    ("cli", ("assetgen.cli", "assetgen.__main__")),
)

# Stages after baking never import the diffusion code, not even indirectly.
DIFFUSION_FREE = ("export", "library", "views")


def _modules() -> dict[str, Path]:
    mods = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        mods[name.removesuffix(".__init__")] = path
    return mods


def _imports(name: str, path: Path, mods: dict[str, Path]) -> set[str]:
    """Every assetgen module that `name` imports (a `from X import y` of a submodule y counts as X.y)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.split(".")[0] == "assetgen")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            if base.split(".")[0] != "assetgen":
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                out.add(sub if sub in mods else base)
    out.discard(name)
    return out


def _placement(name: str) -> tuple[int | None, str]:
    """(stage index, the listed prefix that places `name`); the bare package places only itself."""
    best, best_prefix = None, ""
    for i, (_, prefixes) in enumerate(STAGES):
        for p in prefixes:
            if (name == p or (p != "assetgen" and name.startswith(p + "."))) and len(p) > len(best_prefix):
                best, best_prefix = i, p
    return best, best_prefix


def _stage(name: str) -> int:
    return _placement(name)[0]


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    mods = _modules()
    return {name: _imports(name, path, mods) for name, path in mods.items()}


def test_every_module_has_a_stage(graph):
    unplaced = sorted(m for m in graph if _stage(m) is None)
    assert not unplaced, f"modules outside the stage plan: {unplaced}"


def test_no_import_from_a_later_stage(graph):
    bad = sorted(f"{a} ({STAGES[_stage(a)][0]}) -> {b} ({STAGES[_stage(b)][0]})"
                 for a, targets in graph.items() for b in targets if _stage(b) > _stage(a))
    assert not bad, "imports against the data flow:\n" + "\n".join(bad)


def test_no_import_cycles(graph):
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_no_diffusion_after_baking(graph):
    def reach(start):
        seen, todo = set(), [start]
        while todo:
            for w in graph.get(todo.pop(), ()):
                if w not in seen:
                    seen.add(w)
                    todo.append(w)
        return seen

    later = {i for i, (name, _) in enumerate(STAGES) if name in DIFFUSION_FREE}
    bad = sorted(f"{m} -> {d}" for m in graph if _stage(m) in later
                 for d in reach(m) if d.startswith("assetgen.diffusion"))
    assert not bad, "stages after baking reach the diffusion code:\n" + "\n".join(bad)


def test_stage_packages_hold_no_command_line(graph):
    cli = [i for i, (name, _) in enumerate(STAGES) if name == "cli"][0]
    offenders = sorted(m for m, p in _modules().items() if _stage(m) != cli
                       and any(line.startswith(("import typer", "from typer")) for line in
                               p.read_text(encoding="utf-8").splitlines()))
    assert not offenders, f"typer outside assetgen/cli/: {offenders}"
