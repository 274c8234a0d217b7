"""The `download` stage: fetch a dataset's raw files into data/raw/<dataset>/ with a manifest.

The manifest records the source, its provenance (where each file came from and
the published checksum it passed), the sha256 of every raw file, and the
identity of the fetch (the dataset's params minus preprocessing-only keys, plus
the source's fingerprint of outside inputs). A re-run with the same identity
verifies every file and fails with one line on a mismatch; a changed identity
fetches again. Files are fetched into a temp folder renamed into place, so a
failure leaves no partial output.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from gangrid.data import PREPROCESS_KEYS, Source, check_dataset_cfg, dataset_key, get_source, key_of
from gangrid.data.store import RAW_DIR
from gangrid.errors import DataError
from gangrid.io import read_json, sha256_file, sha256_json, write_json

MANIFEST = "manifest.json"


def file_checksums(root: Path) -> dict[str, str]:
    """sha256 of every file under `root` except the manifest, keyed by relative POSIX path."""
    return {
        p.relative_to(root).as_posix(): sha256_file(p)
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.relative_to(root).as_posix() != MANIFEST
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


def fetch_params(cfg: dict[str, Any], source: Source | None = None) -> dict[str, Any]:
    """The params that determine a dataset's raw files.

    Preprocessing keys (resolution, split, ...) and the source's `read_only`
    options (e.g. a folder's `labels`) are dropped, also in a derived set's `base`.
    """
    skip = set(PREPROCESS_KEYS) | set(getattr(source, "read_only", ()))
    out = {k: v for k, v in cfg.items() if k not in skip}
    if isinstance(out.get("base"), dict) and "source" in out["base"]:
        out["base"] = fetch_params(out["base"], get_source(out["base"]["source"], key_of("base.source")))
    return out


def fetch_identity(cfg: dict[str, Any], source: Source) -> str:
    """Hash of what a fetch depends on: its params and the source's fingerprint of outside inputs."""
    fingerprint = getattr(source, "fingerprint", None)
    return sha256_json({"params": fetch_params(cfg, source), "fingerprint": fingerprint(cfg) if fingerprint else None})


def check_identity(name: str, manifest: dict[str, Any], cfg: dict[str, Any], source: Source) -> None:
    """A DataError if the raw files were fetched with other params than `cfg` (rerun download)."""
    recorded = manifest.get("params")
    if recorded is not None and recorded != fetch_params(cfg, source):
        raise DataError(f"data/raw/{name} was fetched with other params than datasets.{name}: run `gangrid download {name}`")


def download(name: str, cfg: dict[str, Any], root: Path = RAW_DIR) -> Path:
    """Fetch dataset `name` (params `datasets.<name>`) once; verify it against its manifest on re-runs."""
    with dataset_key(f"datasets.{name}"):
        source = check_dataset_cfg(name, cfg)
        raw_dir = root / name
        identity = fetch_identity(cfg, source)
        if (raw_dir / MANIFEST).exists() and read_json(raw_dir / MANIFEST).get("identity") == identity:
            verify_raw(raw_dir)
            return raw_dir
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=root))
        try:
            provenance = source.fetch(cfg, tmp)
            write_json(tmp / MANIFEST, {
                "dataset": name,
                "source": cfg["source"],
                "params": fetch_params(cfg, source),
                "identity": identity,
                "provenance": provenance,
                "files": file_checksums(tmp),
            })
            if raw_dir.exists():
                shutil.rmtree(raw_dir)
            tmp.rename(raw_dir)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        return raw_dir
