#!/usr/bin/env bash
# One-shot, idempotent set-up for a fresh Debian 12 machine: system packages, a virtual environment in
# ./.venv with assetgen installed (editable), and the glTF validator for the tests.
# torch is pinned to the CPU wheel (2.13.0) when no CUDA is present: an unpinned torch pulls GBs of CUDA.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(libegl1 libgl1 libgl1-mesa-dri libegl-mesa0 libusb-1.0-0 libgomp1 chromium)
NODE_PACKAGES=(nodejs npm)

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for p in "${APT_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
command -v node >/dev/null 2>&1 || missing+=("${NODE_PACKAGES[@]}")
if [ "${#missing[@]}" -gt 0 ]; then
    echo "[setup] installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    echo "[setup] creating .venv"
    "$PY" -m venv .venv
fi
VPY=.venv/bin/python
stamp=.venv/.assetgen-installed
want="$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi >/dev/null 2>&1; then
        echo "[setup] no CUDA device: pinning the CPU torch wheel"
        "$VPY" -m pip install -q "torch==2.13.0" 2>&1 | grep -v "is ignored" || true
    fi
    echo "[setup] installing assetgen and its dependencies"
    "$VPY" -m pip install -q -e ".[test]" 2>&1 | grep -v "is ignored" || true
    "$VPY" -c "import assetgen, torch, open3d, xatlas" || { echo "[setup] install failed" >&2; exit 1; }
    echo "$want" > "$stamp"
fi

# Khronos glTF-Validator (npm), used by the tests to check every GLB we write.
GLTF_VALIDATOR_VERSION=2.0.0-dev.3.10
if [ ! -f .venv/node/node_modules/gltf-validator/package.json ]; then
    echo "[setup] installing gltf-validator $GLTF_VALIDATOR_VERSION (npm)"
    mkdir -p .venv/node
    npm install --silent --no-audit --no-fund --prefix .venv/node "gltf-validator@$GLTF_VALIDATOR_VERSION" >/dev/null 2>&1 \
        || npm install --no-audit --no-fund --prefix .venv/node "gltf-validator@$GLTF_VALIDATOR_VERSION"
fi
# The face model: ASSETGEN_FACE_MODEL or the user cache. If neither has one, use the compact folder beside
# the checkout when there is one (this workspace), else download the public ICT-FaceKit archive.
if ! .venv/bin/assetgen face-model where >/dev/null 2>&1; then
    shared="$(cd .. && pwd)/shared/face-models/ict-facekit"
    cache_root="${ASSETGEN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/assetgen}/face-models"
    if [ -z "${ASSETGEN_FACE_MODEL:-}" ] && [ -f "$shared/shape_modes.npz" ]; then
        echo "[setup] copying the face model from $shared into $cache_root"
        mkdir -p "$cache_root"
        tmp="$(mktemp -d "$cache_root/.ict-facekit.XXXXXX")"
        cp -r "$shared/." "$tmp/" && chmod -R u+w "$tmp" && mv "$tmp" "$cache_root/ict-facekit"
    elif [ -z "${ASSETGEN_FACE_MODEL:-}" ]; then
        echo "[setup] fetching the face model (public ICT-FaceKit archive)"
        .venv/bin/assetgen face-model fetch --trust-on-first-use \
            || echo "[setup] warning: no face model yet; see README (assetgen face-model import/fetch)" >&2
    fi
fi
# Optional: Blender as a module (bpy 5.0.1, Python 3.11 wheels, ~1 GB; pins numpy 1.26) in its own ./.venv-bpy,
# used by tests/test_blender_export.py to run the exported scene.py (skipped without it). ASSETGEN_WITH_BPY=0 skips.
BPY_VERSION=5.0.1
if [ "${ASSETGEN_WITH_BPY:-1}" != 0 ]; then
    bpy_stamp=.venv-bpy/.assetgen-bpy-installed
    if [ ! -f "$bpy_stamp" ] || [ "$(cat "$bpy_stamp")" != "$BPY_VERSION" ]; then
        echo "[setup] installing bpy==$BPY_VERSION into .venv-bpy (set ASSETGEN_WITH_BPY=0 to skip)"
        if { [ -x .venv-bpy/bin/python ] || "$PY" -m venv .venv-bpy; } \
            && { .venv-bpy/bin/python -m pip install -q "bpy==$BPY_VERSION" 2>&1 | grep -v "is ignored" || true; } \
            && .venv-bpy/bin/python -c "import bpy; assert bpy.app.version_string.startswith('$BPY_VERSION')" >/dev/null 2>&1
        then
            echo "$BPY_VERSION" > "$bpy_stamp"
        else
            echo "[setup] warning: could not install bpy==$BPY_VERSION into .venv-bpy (bpy wheels need Python 3.11);" \
                 "removed .venv-bpy: the Blender export test will be skipped" >&2
            rm -rf .venv-bpy
        fi
    fi
fi
echo "[setup] ready"
