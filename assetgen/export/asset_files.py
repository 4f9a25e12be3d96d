"""An asset's own files: NAME.glb and its ground-truth sidecar NAME.gt.json, side by side.

What `assetgen demo`, `assetgen texture`, the app and the benchmarks write for each asset they make.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .glb import export_glb
from .groundtruth import ground_truth, write_ground_truth


@dataclass
class WrittenAsset:
    name: str
    glb: Path
    ground_truth: Path


def write_asset(asset, out_dir: Path) -> WrittenAsset:
    """Write NAME.glb and NAME.gt.json into out_dir, each atomically."""
    glb_path = Path(out_dir) / f"{asset.name}.glb"
    gt_path = Path(out_dir) / f"{asset.name}.gt.json"
    glb = export_glb(asset, glb_path)
    write_ground_truth(gt_path, ground_truth(asset, glb))
    return WrittenAsset(asset.name, glb_path, gt_path)
