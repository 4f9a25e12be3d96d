"""The command line's edges: usage errors are a usage line and one message (exit 2), wrong arguments one
line (exit 2) before any work, and a failed command leaves no output folder behind."""

from __future__ import annotations

import ast
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from assetgen.cli import main

REPO = Path(__file__).resolve().parents[1]
CLI_DIR = REPO / "assetgen" / "cli"
TEXT_LAYERS = "rgb,albedo,depth,normal,segmentation"


def run(args: list[str], capsys) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_line_error(args: list[str], capsys, *fragments: str) -> str:
    """Run a command that must fail with exit 2 and exactly one line on stderr holding `fragments`."""
    code, _, err = run(args, capsys)
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for f in fragments:
        assert f in lines[0], err
    return lines[0]


# --- usage errors ---------------------------------------------------------------------------------------

USAGE_ERRORS = [
    (["demo", "--bogus"], "assetgen demo", "--bogus"),
    (["demo", "--n", "abc"], "assetgen demo", "--n"),
    (["demo", "--n", "0"], "assetgen demo", "--n"),
    (["demo", "--n", "1001"], "assetgen demo", "--n"),
    (["demo", "--resolution", "8"], "assetgen demo", "--resolution"),
    (["render"], "assetgen render", "glb"),
    (["render", "x.glb", "--out", "o", "--views", "0"], "assetgen render", "--views"),
    (["render", "x.glb", "--out", "o", "--views", "10001"], "assetgen render", "--views"),
    (["render", "x.glb", "--out", "o", "--size", "9000"], "assetgen render", "--size"),
    (["bake", "x.glb", "--out", "o"], "assetgen bake", "--views"),
    (["batch"], "assetgen batch", "job"),
    (["batch", "demo", "--limit", "-1"], "assetgen batch", "--limit"),
    (["export", "--library", "lib"], "assetgen export", "--out"),
    (["texture", "--resolution", "99999"], "assetgen texture", "--resolution"),
    (["texture", "--steps", "201"], "assetgen texture", "--steps"),
    (["despecularize"], "assetgen despecularize", "image"),
    (["despecularize", "x.png", "--steps", "0"], "assetgen despecularize", "--steps"),
    (["library", "ls", "--limit", "0"], "assetgen library ls", "--limit"),
    (["library", "show"], "assetgen library show", "asset_id"),
    (["library", "sample", "--spec", "balanced", "--n", "0"], "assetgen library sample", "--n"),
    (["library", "sample", "--spec", "balanced", "--n", "1000001"], "assetgen library sample", "--n"),
    (["library", "nope"], "assetgen library", "nope"),
    (["face-model", "fetch", "--timeout", "soon"], "assetgen face-model fetch", "--timeout"),
    (["face-model", "where", "--bogus"], "assetgen face-model where", "--bogus"),
    (["ui", "--port", "0"], "assetgen ui", "--port"),
    (["ui", "--resolution", "4"], "assetgen ui", "--resolution"),
    (["frobnicate"], "assetgen", "frobnicate"),
]


@pytest.mark.parametrize("args,command,fragment", USAGE_ERRORS, ids=[" ".join(a) for a, _, _ in USAGE_ERRORS])
def test_usage_error_is_the_usage_line_and_one_message(args, command, fragment, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(args, capsys)
    lines = err.strip().splitlines()
    assert code == 2, err
    assert "Traceback" not in err
    assert len(lines) == 2, err
    assert lines[0].startswith(f"Usage: {command} "), err
    assert lines[1].startswith("error: ") and fragment in lines[1], err
    assert out == "" and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args", [[], ["library"], ["face-model"]])
def test_no_arguments_prints_the_help(args, capsys):
    code, out, err = run(args, capsys)
    assert code == 0, err
    assert " ".join(["Usage: assetgen", *args]) + " [OPTIONS] COMMAND" in out
    commands = {(): ("demo", "batch", "export", "render", "library"), ("library",): ("ls", "sample"),
                ("face-model",): ("fetch", "import", "where")}[tuple(args)]
    for c in commands:
        assert c in out


def test_usage_error_in_a_real_process_has_no_traceback(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    for args in (["demo", "--bogus"], ["library", "ls", "--limit", "0"], ["face-model", "fetch", "--timeout", "-1"]):
        proc = subprocess.run([sys.executable, "-m", "assetgen", *args], capture_output=True, text=True,
                              cwd=tmp_path, env=env, timeout=120)
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr and "error:" in proc.stderr, proc.stderr
        assert 1 <= len(proc.stderr.strip().splitlines()) <= 2, proc.stderr
    proc = subprocess.run([sys.executable, "-m", "assetgen"], capture_output=True, text=True, cwd=tmp_path, env=env,
                          timeout=120)
    assert proc.returncode == 0 and "Usage: assetgen" in proc.stdout and "Traceback" not in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_no_command_import_is_guarded_by_an_import_error_handler():
    guarded = []
    for path in sorted(CLI_DIR.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Try):
                continue
            caught = set()
            for h in node.handlers:
                types = h.type.elts if isinstance(h.type, ast.Tuple) else [h.type]
                caught |= {getattr(t, "id", getattr(t, "attr", "")) for t in types if t is not None}
                if h.type is None:
                    caught.add("(bare)")
            imports = any(isinstance(n, (ast.Import, ast.ImportFrom)) for b in node.body for n in ast.walk(b))
            if imports and caught & {"ImportError", "ModuleNotFoundError", "Exception", "BaseException", "(bare)"}:
                guarded.append(f"{path.name}:{node.lineno}")
    assert guarded == []
    # ... and the face commands are there.
    from assetgen.cli import app

    groups = {g.name for g in app.registered_groups}
    assert {"face-model", "library"} <= groups


# --- arguments that are wrong ---------------------------------------------------------------------------

@pytest.mark.parametrize("content", [b"", b"\n\n  \n", b"\t\n \r\n"], ids=["empty", "blank-lines", "whitespace"])
def test_ids_file_with_no_ids_is_an_error(content, tmp_path, capsys):
    ids = tmp_path / "ids.txt"
    ids.write_bytes(content)
    out = tmp_path / "export"
    one_line_error(["export", "--out", str(out), "--library", str(tmp_path / "lib"), "--ids", str(ids)], capsys,
                   "lists no asset ids", str(ids))
    assert not out.exists() and not (tmp_path / "lib").exists()


@pytest.mark.parametrize("content", [b"\xff\xfe\x00a\x00b", b"abc\x00def\n", bytes(range(256))],
                         ids=["utf16", "nul", "binary"])
def test_ids_file_that_is_not_text_is_an_error(content, tmp_path, capsys):
    ids = tmp_path / "ids.bin"
    ids.write_bytes(content)
    out = tmp_path / "export"
    one_line_error(["export", "--out", str(out), "--ids", str(ids)], capsys, "not a text file", str(ids))
    assert not out.exists()


def test_ids_file_that_is_missing_is_an_error(tmp_path, capsys):
    one_line_error(["export", "--out", str(tmp_path / "o"), "--ids", str(tmp_path / "none.txt")], capsys,
                   "cannot read --ids")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("layers", ["", ",", " , ,"])
def test_render_with_no_layers_names_the_known_ones(layers, tmp_path, capsys):
    out = tmp_path / "views"
    one_line_error(["render", str(tmp_path / "a.glb"), "--out", str(out), "--layers", layers], capsys,
                   "--layers", TEXT_LAYERS)
    assert not out.exists()


BAD_NAMES = ["", "a/b", "a\\b", "..", "a..b", "../up", ".hidden", "a\x00b", "a\nb", "tab\there", "a\x7fb", "-a"]


@pytest.mark.parametrize("name", BAD_NAMES, ids=[repr(n) for n in BAD_NAMES])
def test_texture_refuses_an_unsafe_name(name, tmp_path, capsys):
    out = tmp_path / "tex"
    one_line_error(["texture", "--name", name, "--out", str(out), "--resolution", "16"], capsys, "--name")
    assert not out.exists()


@pytest.mark.parametrize("name", BAD_NAMES, ids=[repr(n) for n in BAD_NAMES])
def test_library_import_refuses_an_unsafe_name(name, tmp_path, capsys):
    mesh = tmp_path / "tri.obj"
    mesh.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    lib = tmp_path / "lib"
    one_line_error(["library", "import", str(mesh), "--name", name, "--library", str(lib)], capsys, "--name")
    assert not lib.exists()


@pytest.mark.parametrize("name", ["a/b", "..", "../x", "", "a\x01", "x" * 65])
def test_batch_refuses_an_unsafe_job_name(name, tmp_path, capsys):
    job = tmp_path / "job.yaml"
    job.write_text(yaml.safe_dump({"name": name, "n": 1, "recipe": "demo", "resolution": 64}))
    lib = tmp_path / "lib"
    one_line_error(["batch", str(job), "--library", str(lib)], capsys, "job name", str(job))
    assert not lib.exists()


def test_recipe_names_follow_the_same_rule(tmp_path, capsys):
    from assetgen.recipe import Recipe

    bad = tmp_path / "bad.yaml"
    bad.write_text("name: ../escape\n")
    one_line_error(["demo", "--recipe", str(bad), "--out", str(tmp_path / "o")], capsys, "recipe name", "name")
    assert not (tmp_path / "o").exists()
    assert Recipe(name="a.b-c_1").name == "a.b-c_1"  # what texture --name accepts, a recipe accepts


def test_texture_name_with_a_dot_writes_that_asset(tmp_path, capsys):
    out = tmp_path / "tex"
    code, _, err = run(["texture", "--name", "head.v2", "--out", str(out), "--resolution", "16"], capsys)
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["head.v2.glb", "head.v2.gt.json"]


BAD_URLS = ["ftp://example.com/a.zip", "http:///a.zip", "https://", "example.com/a.zip", "https://exa mple.com/a.zip",
            "https://example.com/a b.zip", "file://host/a.zip", "javascript:alert(1)", ""]


@pytest.fixture
def no_network(monkeypatch, tmp_path):
    """Any connection attempt fails the test; the cache is a fresh folder that must stay absent."""

    def refuse(*args, **kwargs):
        raise AssertionError("network used")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    cache = tmp_path / "cache"
    monkeypatch.setenv("ASSETGEN_CACHE", str(cache))
    return cache


@pytest.mark.parametrize("url", BAD_URLS)
def test_fetch_refuses_a_bad_url_before_any_work(url, no_network, tmp_path, capsys):
    out = tmp_path / "model"
    one_line_error(["face-model", "fetch", "--url", url, "--out", str(out), "--trust-on-first-use"], capsys, "--url")
    assert not out.exists() and not no_network.exists()


@pytest.mark.parametrize("timeout", ["-1", "0", "nan", "inf", "-inf", "0.0"])
def test_fetch_refuses_a_bad_timeout_before_any_work(timeout, no_network, tmp_path, capsys):
    out = tmp_path / "model"
    one_line_error(["face-model", "fetch", "--timeout", timeout, "--out", str(out), "--trust-on-first-use"], capsys,
                   "--timeout", "seconds > 0")
    assert not out.exists() and not no_network.exists()


def test_fetch_refuses_a_bad_checksum_before_any_work(no_network, tmp_path, capsys):
    one_line_error(["face-model", "fetch", "--sha256", "xyz", "--out", str(tmp_path / "m")], capsys, "--sha256")
    assert not (tmp_path / "m").exists() and not no_network.exists()


# --- failed commands leave nothing behind ---------------------------------------------------------------

def test_output_dir_removes_only_what_it_created_and_only_when_empty(tmp_path):
    from assetgen.io import output_dir

    target = tmp_path / "a" / "b" / "c"
    with pytest.raises(RuntimeError):
        with output_dir(target) as d:
            assert d == target and d.is_dir()
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
    # A parent that gains a file meanwhile stays, with what it holds.
    with pytest.raises(RuntimeError):
        with output_dir(target):
            (tmp_path / "a" / "keep.txt").write_text("x")
            raise RuntimeError("boom")
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["keep.txt"]
    # A folder that existed before is never removed; written files stay.
    existing = tmp_path / "existing"
    existing.mkdir()
    with pytest.raises(RuntimeError):
        with output_dir(existing / "new"):
            raise RuntimeError("boom")
    assert existing.is_dir() and list(existing.iterdir()) == []
    with pytest.raises(RuntimeError):
        with output_dir(existing / "new") as d:
            (d / "part.txt").write_text("x")
            raise RuntimeError("boom")
    assert (existing / "new" / "part.txt").read_text() == "x"
    # Success keeps the (empty) folder.
    with output_dir(tmp_path / "ok") as d:
        pass
    assert d.is_dir()


def test_failed_commands_leave_no_output_folder(tmp_path, capsys):
    broken_glb = tmp_path / "broken.glb"
    broken_glb.write_bytes(b"glTF\x02\x00\x00\x00garbage")
    broken_png = tmp_path / "broken.png"
    broken_png.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    views = tmp_path / "views"
    views.mkdir()
    from assetgen.library import Library

    Library.open(tmp_path / "lib", create=True).close()
    cases = {
        "render": ["render", str(broken_glb), "--out", "{out}", "--views", "2", "--size", "32"],
        "bake": ["bake", str(broken_glb), "--views", str(views), "--out", "{out}"],
        "despecularize": ["despecularize", str(broken_png), "--out", "{out}"],
        "export": ["export", "--library", str(tmp_path / "lib"), "--out", "{out}", "--where", "name=nobody"],
        "texture": ["texture", "--face-model", str(tmp_path / "no-model"), "--out", "{out}", "--resolution", "16"],
        "demo": ["demo", "--face-model", str(tmp_path / "no-model"), "--out", "{out}", "--n", "1"],
    }
    for name, args in cases.items():
        out = tmp_path / "outs" / name / "deeper"
        code, _, err = run([a.replace("{out}", str(out)) for a in args], capsys)
        assert code == 2 and "Traceback" not in err, (name, err)
        assert len(err.strip().splitlines()) == 1, (name, err)
        assert not (tmp_path / "outs").exists(), name


# --- shipped jobs, recipes and distributions by name ------------------------------------------------------

def test_shipped_job_resolves_from_any_folder(tmp_path, monkeypatch, capsys):
    from assetgen import resources
    from assetgen.batch import job_path, load_job

    monkeypatch.chdir(tmp_path)
    path = job_path("demo")
    assert path == resources.config_path("jobs/demo.yaml") and path.is_file()
    job = load_job(path)
    assert job.recipe.name == "demo" and not job.distribution.empty
    assert "demo" in resources.names("job") and {"demo", "text_to_uv"} <= set(resources.names("recipe"))
    one_line_error(["batch", "nonesuch", "--library", str(tmp_path / "lib")], capsys, "nonesuch", "shipped: demo")
    one_line_error(["batch", "missing.yaml", "--library", str(tmp_path / "lib")], capsys, "missing.yaml",
                   "not found")
    one_line_error(["demo", "--recipe", "nonesuch", "--out", str(tmp_path / "o")], capsys, "no recipe 'nonesuch'")
    assert list(tmp_path.iterdir()) == []


def test_job_recipe_by_name_is_shipped_and_by_path_is_beside_the_job(tmp_path, monkeypatch):
    from assetgen.batch import load_job

    monkeypatch.chdir(tmp_path)
    # A pipelines/ folder in the working folder does not change what a name means.
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "pipelines" / "demo.yaml").write_text("name: impostor\n")
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    (jobs / "mine.yaml").write_text("name: mine\nidentity: {scale: 0.5}\n")
    (jobs / "by_name.yaml").write_text("n: 1\nrecipe: demo\ndistribution: balanced\n")
    (jobs / "by_path.yaml").write_text("n: 1\nrecipe: ./mine.yaml\n")
    by_name = load_job(jobs / "by_name.yaml")
    assert by_name.recipe.name == "demo" and by_name.distribution.skin_tone == "uniform"
    assert load_job(jobs / "by_path.yaml").recipe.identity.scale == 0.5
