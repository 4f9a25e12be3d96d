"""Regenerate assetgen/data/hdri/*.exr from the npm package @pmndrs/assets 1.7.0 (CC0 HDRIs from Poly Haven).

The package holds each HDRI as a base64 `data:application/exr` URL in hdri/NAME.exr.js; this writes the
decoded bytes, exactly as in the URL, to assetgen/data/hdri/NAME.exr and checks them against the SHA-256
list in assetgen/lighting/shipped.py (--update rewrites nothing but reports new checksums to paste there).

    npm pack @pmndrs/assets@1.7.0 && tar xzf pmndrs-assets-1.7.0.tgz    # -> ./package
    .venv/bin/python docs/make_hdri_data.py package [--out assetgen/data/hdri] [--update]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PREFIX = "export default 'data:application/exr;base64,"
VERSION = "1.7.0"


def decode(js: Path) -> bytes:
    """The EXR bytes of one hdri/NAME.exr.js module."""
    text = js.read_text(encoding="ascii").strip()
    m = re.fullmatch(re.escape(PREFIX) + r"([A-Za-z0-9+/=]+)'", text)
    if not m:
        raise SystemExit(f"{js}: not a base64 EXR data-URL module")
    data = base64.b64decode(m.group(1), validate=True)
    if data[:4] != b"\x76\x2f\x31\x01":
        raise SystemExit(f"{js}: decoded bytes are not an OpenEXR file")
    return data


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("package", type=Path, help="the unpacked npm package folder (holding package.json, hdri/)")
    ap.add_argument("--out", type=Path, default=REPO / "assetgen" / "data" / "hdri")
    ap.add_argument("--update", action="store_true", help="print the checksums instead of checking them")
    args = ap.parse_args()

    meta = json.loads((args.package / "package.json").read_text(encoding="utf-8"))
    if meta.get("name") != "@pmndrs/assets" or meta.get("version") != VERSION:
        raise SystemExit(f"expected @pmndrs/assets {VERSION}, got {meta.get('name')} {meta.get('version')}")
    sys.path.insert(0, str(REPO))
    from assetgen.lighting.shipped import SHIPPED

    sums = {}
    for js in sorted((args.package / "hdri").glob("*.exr.js")):
        name = js.name.removesuffix(".exr.js")
        data = decode(js)
        sums[name] = hashlib.sha256(data).hexdigest()
        if not args.update and SHIPPED.get(name) != sums[name]:
            raise SystemExit(f"{name}: checksum {sums[name]} is not the one in assetgen/lighting/shipped.py")
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / f"{name}.exr").write_bytes(data)
        print(f"{name}.exr  {len(data):8d} bytes  {sums[name]}")
    if args.update:
        print(json.dumps(sums, indent=4))
    elif set(sums) != set(SHIPPED):
        raise SystemExit(f"the package's HDRIs {sorted(sums)} differ from shipped.py's {sorted(SHIPPED)}")


if __name__ == "__main__":
    main()
