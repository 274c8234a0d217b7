"""Getting raw files into a raw folder: copied from a repository folder or downloaded from mirrors.

Every file is checked against a published checksum (md5 or sha256, as the
dataset's authors or torchvision publish it); params may override checksums
(`checksums: {file: hex}`) and mirrors (`mirrors: [base URL, ...]`), which is how
tests serve small files in the original formats from `file://` URLs. A mirror
without a URL scheme is a folder relative to the repository.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Callable, Sequence

from gangrid.config import safe_relpath
from gangrid.data import key_of
from gangrid.errors import ConfigError, DataError

DEFAULT_TIMEOUT = 60.0
USER_AGENT = "gangrid-data/0.1"
REMOTE_OPTIONS = {
    "path": "folder (relative to the repository) holding the published files; used instead of downloading",
    "mirrors": "list of base URLs (http, https, file://) or repository folders tried in order",
    "checksums": "{file name: md5 or sha256 hex}: overrides the published checksums (custom mirrors, tests)",
    "timeout": "seconds before a download attempt is abandoned (default 60)",
}


def digest_algorithm(expected: str) -> str:
    """'md5' for a 32-hex-digit checksum, 'sha256' for 64 digits; a ConfigError otherwise."""
    n = len(expected)
    if n == 32:
        return "md5"
    if n == 64:
        return "sha256"
    raise ConfigError(f"{key_of('checksums')}: '{expected}' is neither an md5 (32 hex digits) nor a sha256 (64)")


def file_digest(path: Path, algorithm: str, chunk: int = 1 << 20) -> str:
    """Hex digest of a file with the named hashlib algorithm."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_file(path: Path, expected: str, origin: str) -> str:
    """Check `path` against `expected` (md5 or sha256); a one-line DataError naming `origin` on mismatch."""
    algorithm = digest_algorithm(expected)
    actual = file_digest(path, algorithm)
    if actual != expected.lower():
        raise DataError(
            f"{origin}: {algorithm} {actual} does not match the expected {expected.lower()}; "
            "the file is corrupt or not the published one"
        )
    return f"{algorithm}:{actual}"


def expected_checksum(cfg: dict[str, Any], filename: str, published: str | None) -> str:
    """The checksum a file must have: params `checksums.<file>` if set, else the published one."""
    override = (cfg.get("checksums") or {}).get(filename)
    expected = override or published
    if not expected:
        raise ConfigError(f"{key_of('checksums')}: no published checksum for '{filename}'; set its md5 or sha256")
    digest_algorithm(expected)
    return expected


def repo_dir(value: str, option: str) -> Path:
    """A folder named in params, relative to the repository; a DataError if it is missing."""
    path = Path(safe_relpath(str(value), key_of(option)))
    if not path.is_dir():
        raise DataError(f"{key_of(option)}: folder '{value}' does not exist (relative to {Path.cwd()})")
    return path


def _url_for(base: str, filename: str) -> str:
    if "://" in base:
        return base.rstrip("/") + "/" + urllib.parse.quote(filename)
    return str(Path(safe_relpath(base, key_of("mirrors"))) / filename)


def download_url(url: str, dest: Path, timeout: float) -> None:
    """Copy `url` (http, https, file:// or a local path) to `dest`, via a `.part` file renamed on success."""
    part = dest.with_name(dest.name + ".part")
    try:
        if "://" not in url:
            shutil.copyfile(url, part)
        else:
            request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
            with urllib.request.urlopen(request, timeout=timeout) as response, open(part, "wb") as out:
                shutil.copyfileobj(response, out, length=1 << 20)
        part.replace(dest)
    finally:
        part.unlink(missing_ok=True)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return str(exc.reason)
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc)


Verifier = Callable[[Path, str], str]


def checksum_verifier(cfg: dict[str, Any], filename: str, published: str | None) -> Verifier:
    """A check of one file against params `checksums.<file>` or its published checksum."""
    expected = expected_checksum(cfg, filename, published)
    return lambda path, origin: verify_file(path, expected, origin)


def fetch_file(
    cfg: dict[str, Any],
    filename: str,
    dest_dir: Path,
    mirrors: Sequence[str],
    published: str | None = None,
    verify: Verifier | None = None,
) -> dict[str, str]:
    """Put `filename` into `dest_dir`: from params `path` if set, else from the first mirror that works.

    The file must pass `verify` (default: its checksum from params `checksums` or
    `published`); returns provenance (where it came from and its verified digest).
    """
    verify = verify or checksum_verifier(cfg, filename, published)
    dest = dest_dir / filename
    if cfg.get("path"):
        src = repo_dir(cfg["path"], "path") / filename
        if not src.is_file():
            raise DataError(f"{key_of('path')}: '{src}' is missing (expected the published file {filename})")
        shutil.copyfile(src, dest)
        return {"file": filename, "from": str(src), "checksum": verify(dest, str(src))}
    bases = list(cfg.get("mirrors") or mirrors)
    if not bases:
        raise ConfigError(f"{key_of('mirrors')}: no mirror to download '{filename}' from")
    timeout = float(cfg.get("timeout", DEFAULT_TIMEOUT))
    errors = []
    for base in bases:
        url = _url_for(str(base), filename)
        try:
            print(f"downloading {url}", file=sys.stderr)
            download_url(url, dest, timeout)
            return {"file": filename, "from": url, "checksum": verify(dest, url)}
        except DataError as exc:
            errors.append(str(exc))
        except (OSError, urllib.error.URLError, ValueError) as exc:
            errors.append(f"{url}: {_reason(exc)}")
        dest.unlink(missing_ok=True)
    raise DataError(f"could not fetch {filename}: " + "; ".join(errors))
