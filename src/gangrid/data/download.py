"""The `download` stage: fetch a dataset's raw files into data/raw/<dataset>/ with a manifest."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from gangrid.data import get_source
from gangrid.data.store import RAW_DIR
from gangrid.errors import DataError
from gangrid.io import read_json, sha256_file, write_json

MANIFEST = "manifest.json"


def file_checksums(root: Path) -> dict[str, str]:
    """sha256 of every file under `root` except the manifest, keyed by relative POSIX path."""
    return {
        p.relative_to(root).as_posix(): sha256_file(p)
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != MANIFEST
    }


def verify_raw(raw_dir: Path) -> dict[str, Any]:
    """Check every file listed in raw_dir/manifest.json; a missing or changed file is a DataError."""
    manifest = read_json(raw_dir / MANIFEST)
    for rel, expected in manifest["files"].items():
        path = raw_dir / rel
        if not path.exists():
            raise DataError(f"{path}: listed in {raw_dir / MANIFEST} but missing; delete {raw_dir} to fetch again")
        actual = sha256_file(path)
        if actual != expected:
            raise DataError(
                f"{path}: sha256 {actual[:16]}... does not match the manifest's {expected[:16]}...; "
                f"delete {raw_dir} to fetch again"
            )
    return manifest


def download(name: str, cfg: dict[str, Any], root: Path = RAW_DIR) -> Path:
    """Fetch dataset `name` (params `datasets.<name>`) once; verify it against its manifest on re-runs."""
    raw_dir = root / name
    if (raw_dir / MANIFEST).exists():
        verify_raw(raw_dir)
        return raw_dir
    source = get_source(cfg["source"], f"datasets.{name}.source")
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=root))
    try:
        provenance = source.fetch(cfg, tmp)
        write_json(tmp / MANIFEST, {"dataset": name, "source": cfg["source"], "provenance": provenance, "files": file_checksums(tmp)})
        if raw_dir.exists():
            shutil.rmtree(raw_dir)
        tmp.rename(raw_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return raw_dir
