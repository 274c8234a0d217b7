"""The `fetch-inception` stage: clean-fid's Inception weight file, fetched once and checked against a pinned sha256.

With `eval.extractor: inception` the file `inception-2015-12-05.pt` (the TorchScript
translation of TensorFlow's 2015 Inception-V3 that stylegan2-ada publishes and
clean-fid downloads) must have sha256 `WEIGHTS_SHA256` (`eval.inception.sha256`
overrides it, e.g. for a stand-in network in tests). It is taken from, in order:
`eval.inception.weights` when set (never downloaded over), the cache file
`<eval.inception.cache>/inception-2015-12-05.pt`, clean-fid's own cache (copied), or
downloaded from `eval.inception.url` (default: the published URL). Copies and
downloads go to a temp file beside the cache file, renamed into place once the
checksum passes: a failure leaves no partial file. A file with another checksum is
refused, in one line. Offline, the line says where to put the file.

The stage writes `models/inception.json` (which file, its sha256, the mode), which the
evaluate stages depend on. With any other extractor it records that no Inception
network is used and touches neither the network nor the cache.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from gangrid.data.remote import DEFAULT_TIMEOUT, download_url, file_digest
from gangrid.errors import DataError
from gangrid.io import write_json
from gangrid.metrics.inception import WEIGHTS_FILE, cache_path, cleanfid_cache_dir, configured_weights, inception_mode

WEIGHTS_URL = "https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/metrics/inception-2015-12-05.pt"
WEIGHTS_SHA256 = "f58cb9b6ec323ed63459aa4fb441fe750cfe39fafad6da5cb504a16f19e958f4"  # the published file (95.6 MB)
MANIFEST = Path("models/inception.json")


def expected_sha256(ev: dict[str, Any]) -> str:
    """The sha256 the weight file must have: eval.inception.sha256, else the published file's."""
    return str((ev.get("inception") or {}).get("sha256") or WEIGHTS_SHA256).lower()


def check_file(path: Path, expected: str) -> str:
    """`expected` if the file at `path` has that sha256; a one-line DataError refusing it otherwise."""
    actual = file_digest(path, "sha256")
    if actual != expected:
        raise DataError(f"{path}: sha256 {actual} is not the expected {expected} (eval.inception.sha256): "
                        f"not the published {WEIGHTS_FILE}; delete or replace it")
    return actual


def place(source: str, dest: Path, expected: str, timeout: float) -> None:
    """Copy or download `source` (a path or URL) to `dest` through a temp file renamed only once its sha256 passes."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    try:
        download_url(source, tmp, timeout)
        check_file(tmp, expected)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def obtain_weights(ev: dict[str, Any]) -> tuple[Path, str]:
    """(path of a verified weight file, where it came from): configured, cached, copied or downloaded."""
    expected = expected_sha256(ev)
    configured = configured_weights(ev)
    if configured is not None:
        if not configured.is_file():
            raise DataError(f"eval.inception.weights: {configured} does not exist (put {WEIGHTS_FILE} there, "
                            f"sha256 {expected}, or unset the key to download it into eval.inception.cache)")
        check_file(configured, expected)
        return configured, "eval.inception.weights"
    target = cache_path(ev)
    if target.is_file():
        check_file(target, expected)
        return target, "cache"
    cleanfid = cleanfid_cache_dir() / WEIGHTS_FILE
    if cleanfid.is_file() and file_digest(cleanfid, "sha256") == expected:
        place(str(cleanfid), target, expected, DEFAULT_TIMEOUT)
        return target, f"copied from {cleanfid}"
    url = str((ev.get("inception") or {}).get("url") or WEIGHTS_URL)
    print(f"downloading {url} -> {target}", file=sys.stderr)
    try:
        place(url, target, expected, float((ev.get("inception") or {}).get("timeout", DEFAULT_TIMEOUT)))
    except (OSError, ValueError) as exc:  # a DataError (wrong checksum) is not one of these: it goes up as it is
        reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or str(exc)
        raise DataError(f"cannot download {url} ({reason}): offline? put {WEIGHTS_FILE} (sha256 {expected}) at "
                        f"{target} or set eval.inception.weights") from None
    return target, url


def fetch_inception(params: dict[str, Any], manifest: Path = MANIFEST) -> dict[str, Any]:
    """Make sure the Inception weights `eval` asks for are present and verified; write and return the manifest."""
    ev = params["eval"]
    if str(ev.get("extractor", "classifier")) != "inception":
        record: dict[str, Any] = {"extractor": str(ev.get("extractor", "classifier")), "weights": None}
    else:
        path, origin = obtain_weights(ev)
        record = {"extractor": "inception", "weights": path.as_posix(), "sha256": expected_sha256(ev),
                  "size": path.stat().st_size, "from": origin, "mode": inception_mode(ev)}
    write_json(manifest, record)
    return record

