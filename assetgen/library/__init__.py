"""The asset library: content-addressed blobs + a SQLite catalogue of immutable, versioned assets.

    from assetgen.library import Library
    lib = Library.open("./library")
    asset_id = lib.put(asset, job_id=..., job_index=..., tags=["demo"])
    asset = lib.load(asset_id)             # an assetgen.asset.Asset again
    ids = lib.query(["skin_tone=monk_03", "lipstick=true"])
    Library.open("./library", readonly=True)   # never writes (also opened so when the folder is read-only)
"""

from .sample import DistributionSpec, load_distribution, sample_assets
from .store import AssetRecord, Library, LibraryError, PutResult

__all__ = [
    "AssetRecord",
    "DistributionSpec",
    "Library",
    "LibraryError",
    "PutResult",
    "load_distribution",
    "sample_assets",
]
