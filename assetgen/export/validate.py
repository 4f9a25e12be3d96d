"""Check a GLB with the Khronos glTF-Validator (the npm package, run by node).

The validator is found, in order, at $ASSETGEN_GLTF_VALIDATOR_DIR, at <repo>/.venv/node/node_modules/
gltf-validator (where .ci/setup.sh installs it), or as gltf-validator under a folder on $NODE_PATH.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from ..errors import AssetgenError, InputError

SCRIPT = Path(__file__).resolve().parents[1] / "data" / "validate_gltf.mjs"
PACKAGE = "gltf-validator"
REPO_VALIDATOR = Path(__file__).resolve().parents[2] / ".venv" / "node" / "node_modules" / PACKAGE


class ValidatorUnavailable(AssetgenError):
    """node or the gltf-validator package is missing."""


def find_node() -> str:
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        raise ValidatorUnavailable(
            "node is not on PATH; install Node.js (e.g. `apt-get install nodejs npm`, or run .ci/setup.sh)"
        )
    return node


def find_validator() -> Path:
    """The gltf-validator package folder (the one holding its package.json)."""
    candidates = []
    env = os.environ.get("ASSETGEN_GLTF_VALIDATOR_DIR")
    if env:
        candidates.append(Path(env))
    candidates.append(REPO_VALIDATOR)
    candidates += [Path(p) / PACKAGE for p in os.environ.get("NODE_PATH", "").split(os.pathsep) if p]
    for folder in candidates:
        if (folder / "package.json").is_file():
            return folder.resolve()
    tried = ", ".join(str(c) for c in candidates)
    raise ValidatorUnavailable(
        f"the {PACKAGE} npm package was not found (tried {tried}); run .ci/setup.sh, or "
        f"`npm install --prefix DIR {PACKAGE}` and set ASSETGEN_GLTF_VALIDATOR_DIR=DIR/node_modules/{PACKAGE}"
    )


def validate_glb(path: str | Path, *, max_issues: int = 0, timeout: float = 300.0) -> dict:
    """Validate a glTF/GLB file and return the validator's report (its JSON as a dict).

    For convenience the counts and messages of report["issues"] are also copied to the top level:
    numErrors, numWarnings, numInfos, numHints, messages (each message: code, message, severity
    0 error .. 3 hint, pointer or offset). max_issues: 0 = all.
    Raises InputError for a missing file, ValidatorUnavailable when node or the package is missing,
    AssetgenError when the validator fails to run.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"cannot validate {path}: no such file")
    node = find_node()
    env = dict(os.environ, ASSETGEN_GLTF_VALIDATOR_DIR=str(find_validator()))
    try:
        proc = subprocess.run(
            [node, str(SCRIPT), str(path), str(int(max_issues))],
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise AssetgenError(f"the glTF validator took longer than {timeout:.0f} s on {path}") from exc
    if proc.returncode == 3:
        raise ValidatorUnavailable(proc.stderr.strip())
    if proc.returncode != 0:
        raise AssetgenError(f"the glTF validator failed on {path} (exit {proc.returncode}): {proc.stderr.strip()}")
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise AssetgenError(f"the glTF validator printed no JSON report for {path}: {proc.stdout[:200]!r}") from exc
    issues = report.get("issues", {})
    for key in ("numErrors", "numWarnings", "numInfos", "numHints"):
        report[key] = int(issues.get(key, 0))
    report["messages"] = list(issues.get("messages", []))
    return report
