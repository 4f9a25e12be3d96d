"""assetgen installed from its wheel works from any folder: the default recipes, configs, the shipped job
and the UI app travel with the package (assetgen.resources), and nothing is read from the checkout.

The slow tests build the wheel from a copy of the checkout without network (setuptools from .venv, no
build isolation), install it with --no-deps into a fresh virtual environment that sees .venv's
site-packages through a .pth file (torch & co. are not downloaded again), and run the commands there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHIPPED = ("pipelines", "configs", "ui")
SOURCES = ("pyproject.toml", "setup.py", "README.md", "assetgen", *SHIPPED)
SHIPPED_FILES = ("configs/default.yaml", "configs/models.yaml", "configs/render.yaml",
                 "configs/distributions/balanced.yaml", "configs/jobs/demo.yaml", "pipelines/demo.yaml",
                 "pipelines/text_to_uv.yaml", "ui/app.py")


def _data_files(root: Path) -> dict[str, Path]:
    """Every file of the shipped folders under `root` (READMEs and caches excepted), by its path in the wheel."""
    files = {}
    for kind in SHIPPED:
        for p in sorted((root / kind).rglob("*")):
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc" and p.name != "README.md":
                files[f"assetgen/_data/{p.relative_to(root).as_posix()}"] = p
    return files


def test_resources_in_the_checkout_are_the_top_level_folders(tmp_path, monkeypatch):
    from assetgen import resources

    monkeypatch.chdir(tmp_path)
    for kind in SHIPPED:
        assert resources.data_dir(kind) == REPO / kind
    assert not (REPO / "assetgen" / "_data").exists()  # one copy of each file: the top-level folders
    for rel in SHIPPED_FILES:
        assert (REPO / rel).is_file(), rel
    assert resources.ui_app_path() == REPO / "ui" / "app.py"
    assert resources.recipe_path("demo") == REPO / "pipelines" / "demo.yaml"
    assert resources.config_path("jobs/demo.yaml") == REPO / "configs" / "jobs" / "demo.yaml"
    from assetgen.diffusion.registry import default_registry_path
    from assetgen.diffusion.text_to_uv import DEFAULT_RECIPE
    from assetgen.views.cameras import DEFAULT_CONFIG

    monkeypatch.delenv("ASSETGEN_MODELS", raising=False)
    assert default_registry_path() == REPO / "configs" / "models.yaml"
    assert DEFAULT_RECIPE == REPO / "pipelines" / "text_to_uv.yaml"
    assert DEFAULT_CONFIG == REPO / "configs" / "render.yaml"


# --- the wheel, installed ----------------------------------------------------------------------------------

def _copy_sources(dest: Path) -> Path:
    """What a wheel is built from, copied (so the build writes nothing into the checkout)."""
    dest.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in SOURCES:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=ignore)
        else:
            shutil.copy2(src, dest / name)
    return dest


def _venv(root: Path) -> Path:
    """A fresh virtual environment (without pip: .venv's pip installs into it)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True, timeout=120)
    return root


def _pip(venv: Path, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q",
                    "--no-deps", "--no-index", *args], check=True, timeout=300)


def _see_dependencies(venv: Path) -> None:
    """Let the new environment import .venv's packages (torch, open3d, ...), after its own."""
    purelib = Path(subprocess.run([str(venv / "bin" / "python"), "-c",
                                   "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                  capture_output=True, text=True, check=True).stdout.strip())
    (purelib / "zz_assetgen_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")


def _env() -> dict[str, str]:
    """This environment without any path into the checkout (the face model may stay)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV") and not (k.startswith("ASSETGEN_") and str(REPO) in v)}
    env["ASSETGEN_FACE_MODEL"] = os.environ.get("ASSETGEN_FACE_MODEL", str(REPO.parent / "shared" / "face-models"
                                                                          / "ict-facekit"))
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if str(REPO) not in p)
    return env


def _run(cmd: list[str], cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(cmd)} -> {proc.returncode}\n{proc.stderr[-3000:]}"
    assert "Traceback" not in proc.stderr
    return proc


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path]:
    """(the wheel, the copy of the checkout it was built from)."""
    root = tmp_path_factory.mktemp("wheel")
    src = _copy_sources(root / "src")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index",
                    "-w", str(root / "dist"), str(src)], check=True, timeout=300, capture_output=True)
    (whl,) = (root / "dist").glob("assetgen-*.whl")
    return whl, src


@pytest.mark.slow
def test_wheel_holds_the_package_and_the_shipped_files(built):
    wheel, src = built
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        modules = {n for n in names if n.startswith("assetgen/") and n.endswith(".py") and "/_data/" not in n}
        want = {p.relative_to(src).as_posix() for p in (src / "assetgen").rglob("*.py") if "__pycache__" not in p.parts}
        assert modules == want
        data = _data_files(src)
        assert {n for n in names if "/_data/" in n} == set(data)
        for arc, path in data.items():
            assert zf.read(arc) == path.read_bytes(), arc
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        assert "assetgen = assetgen.cli:main" in zf.read(entry_points).decode()


@pytest.mark.slow
def test_installed_wheel_runs_from_another_folder(built, tmp_path):
    venv = _venv(tmp_path / "venv")
    _pip(venv, str(built[0]))
    _see_dependencies(venv)
    work = tmp_path / "work"
    work.mkdir()
    py, exe = str(venv / "bin" / "python"), str(venv / "bin" / "assetgen")

    where = _run([py, "-c", "import assetgen, assetgen.resources as r; print(assetgen.__file__); "
                            "print(r.data_dir('pipelines')); print(r.config_path('jobs/demo.yaml'))"], work)
    package_file, pipelines, job = (Path(line) for line in where.stdout.split("\n")[:3])
    for p in (package_file, pipelines, job):
        assert p.is_relative_to(venv) and not p.is_relative_to(REPO), p
    assert job.is_file() and (pipelines / "demo.yaml").is_file()
    # the same code: the digest data sets record (a set begun in the checkout resumes from the wheel)
    from assetgen.codeid import code_digest

    assert _run([py, "-c", "from assetgen.codeid import code_digest; print(code_digest())"],
                work).stdout.strip() == code_digest()

    _run([exe, "demo", "--n", "1", "--resolution", "64", "--preview-size", "32", "--out", "demo"], work)
    assert sorted(p.name for p in (work / "demo").iterdir()) == [
        "contact_sheet.png", "demo_0_0000.glb", "demo_0_0000.gt.json"]

    batch = _run([exe, "batch", "demo", "--library", "lib", "--limit", "1"], work)
    assert len(batch.stdout.strip()) == 16  # the job id
    listed = _run([exe, "library", "ls", "--library", "lib"], work).stdout.strip().splitlines()
    assert len(listed) == 1 and "demo-job_0_000000" in listed[0]

    _run([exe, "render", "demo/demo_0_0000.glb", "--out", "views", "--views", "2", "--size", "32"], work)
    assert {"view_000.json", "view_001.json", "view_000.png", "view_001.png"} <= {p.name for p in (work / "views").iterdir()}

    _run([exe, "export", "--library", "lib", "--out", "exported", "--format", "glb"], work)
    exported = sorted(p.name for p in (work / "exported").iterdir())
    assert exported == ["demo-job_0_000000.glb", "demo-job_0_000000.gt.json"]

    sample = _run([exe, "library", "sample", "--spec", "balanced", "--n", "1", "--library", "lib"], work)
    assert sample.stdout.strip() and sample.stdout.split()[0] == listed[0].split()[0]

    ui = _run([py, "-c", "from assetgen.cli.ui import load_ui_module; m = load_ui_module(); "
                         "print(m.__file__); assert callable(m.launch)"], work)
    ui_file = Path(ui.stdout.strip().splitlines()[-1])
    assert ui_file.is_relative_to(venv) and ui_file.name == "app.py"
    # Nothing was written into the checkout's shipped folders.
    assert not (REPO / "assetgen" / "_data").exists()


@pytest.mark.slow
def test_editable_install_reads_the_checkouts_own_folders(tmp_path):
    src = _copy_sources(tmp_path / "src")
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-c", f"import setuptools.build_meta as b; b.build_editable({str(dist)!r})"],
                   cwd=src, check=True, timeout=300, capture_output=True)
    (whl,) = dist.glob("assetgen-*.whl")
    venv = _venv(tmp_path / "venv")
    _pip(venv, str(whl))
    _see_dependencies(venv)
    work = tmp_path / "work"
    work.mkdir()
    where = _run([str(venv / "bin" / "python"), "-c",
                  "import assetgen, assetgen.resources as r; print(assetgen.__file__); print(r.data_dir('configs')); "
                  "print(r.ui_app_path())"], work)
    package_file, configs, ui_app = (Path(line) for line in where.stdout.split("\n")[:3])
    assert package_file == src / "assetgen" / "__init__.py"
    assert configs == src / "configs" and ui_app == src / "ui" / "app.py"
    job = _run([str(venv / "bin" / "assetgen"), "batch", "demo", "--library", "lib", "--limit", "0"], work)
    assert len(job.stdout.strip()) == 16
