"""Atomic file writing, hashing and safe loading: every stage output goes through here."""

from __future__ import annotations

import collections
import contextlib
import hashlib
import json
import os
import secrets
import sys
import zipfile
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from gangrid.errors import CheckpointError, UserError


TEMP_SUFFIX = ".tmp"
_transactions: list[list[Path]] = []  # files written by the open `transaction` blocks, innermost last
_untracked = [0]  # > 0 inside `untracked()` blocks


@contextlib.contextmanager
def transaction() -> Iterator[list[Path]]:
    """All-or-nothing outputs: files written through this module inside the block are deleted
    again if the block raises (a stage leaves all of its outputs or none).

    Files written inside `untracked()` (resumable state such as training
    checkpoints) are kept, so a failed or interrupted run can resume.
    """
    written: list[Path] = []
    _transactions.append(written)
    try:
        yield written
    except BaseException:
        for path in reversed(written):
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)
        raise
    finally:
        _transactions.remove(written)


@contextlib.contextmanager
def untracked() -> Iterator[None]:
    """Files written inside the block survive a failing `transaction` (resumable state)."""
    _untracked[0] += 1
    try:
        yield
    finally:
        _untracked[0] -= 1


def _new_temp(path: Path) -> Path:
    """Create an empty, uniquely named temp file beside `path` (mode 0666 minus the umask)."""
    while True:
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}{TEMP_SUFFIX}")
        try:
            os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
            return tmp
        except FileExistsError:
            continue


def _fsync(path: Path, directory: bool = False) -> None:
    """Flush a file (or a directory entry) to stable storage; best effort for directories."""
    try:
        fd = os.open(path, os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0))
    except OSError:
        if directory:
            return
        raise
    try:
        os.fsync(fd)
    except OSError:
        if not directory:
            raise
    finally:
        os.close(fd)


def _cannot_write(path: Path, exc: BaseException) -> UserError:
    """A one-line UserError for a failed write of `path` (full disk, permission denied, ...)."""
    text = str(exc).strip()
    reason = getattr(exc, "strerror", None) or (text.splitlines()[0] if text else type(exc).__name__)
    return UserError(f"cannot write {path}: {reason}")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temp path beside `path`; move it onto `path` (fsynced) only if the block succeeds.

    A failed block, a full disk or an unwritable directory leaves no file behind
    (neither `path` nor the temp file); OS errors become a one-line UserError.
    A process killed mid-write leaves at most a hidden `.<name>.<pid>.<hex>.tmp`
    (see `remove_stale_temps`), never a half-written `path`.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp_path = _new_temp(path)
    except OSError as exc:
        raise _cannot_write(path, exc) from None
    try:
        yield tmp_path
        _fsync(tmp_path)
        os.replace(tmp_path, path)
    except OSError as exc:
        tmp_path.unlink(missing_ok=True)
        raise _cannot_write(path, exc) from None
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    if _transactions and not _untracked[0]:
        _transactions[-1].append(path)
    _fsync(path.parent, directory=True)


def ensure_writable(directory: str | os.PathLike[str]) -> Path:
    """Create `directory` if needed and check that files can be created in it; UserError naming it otherwise."""
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        _new_temp(directory / "write-check").unlink()
    except OSError as exc:
        raise UserError(f"cannot write to {directory}: {exc.strerror or exc}") from None
    return directory


def remove_stale_temps(directory: str | os.PathLike[str]) -> list[Path]:
    """Delete the temp files that killed writers left in `directory` (only call where no one else writes)."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    stale = [p for p in directory.glob(f".*{TEMP_SUFFIX}") if p.is_file()]
    for p in stale:
        p.unlink(missing_ok=True)
    return stale


def write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Write `obj` as sorted, indented JSON (deterministic bytes), atomically."""
    text = json.dumps(obj, indent=2, sort_keys=True, allow_nan=False) + "\n"
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def read_json(path: str | os.PathLike[str]) -> Any:
    """Read a JSON file; a missing or malformed file is a UserError naming it."""
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise UserError(f"missing file {path}") from None
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write a text file atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def save_npz(path: str | os.PathLike[str], **arrays: np.ndarray) -> None:
    """Save arrays to an uncompressed .npz atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)


def canonical(obj: Any) -> Any:
    """A copy of the containers (dict, OrderedDict, list, tuple) of `obj` with every string interned.

    Pickle memoises objects by identity, so the bytes of a saved state depend
    on which of its strings happen to be the same object: a key such as
    'step' is one interned object in a live optimiser but a fresh string in
    one loaded from a checkpoint. Rebuilding the containers and interning the
    strings makes the bytes a function of the values only. Other leaves
    (tensors, numbers) are kept as they are.
    """
    kind = type(obj)
    if kind is str:
        return sys.intern(obj)
    if kind is dict or kind is collections.OrderedDict:
        out = kind((canonical(k), canonical(v)) for k, v in obj.items())
        for name, value in vars(obj).items() if kind is collections.OrderedDict else ():
            setattr(out, name, canonical(value))  # e.g. nn.Module.state_dict()._metadata
        return out
    if kind is list:
        return [canonical(v) for v in obj]
    if kind is tuple:
        return tuple(canonical(v) for v in obj)
    return obj


def save_torch(path: str | os.PathLike[str], obj: Any) -> None:
    """torch.save atomically, with bytes that depend only on the values in `obj`.

    torch.save names the records of its zip archive after the file it is given;
    we hand it an open file instead of the (random) temp path, so the archive
    prefix is always `archive/`; and we save the `canonical` copy of `obj`, so
    equal states give byte-identical files however they came about (e.g. a
    resumed run and an uninterrupted one).
    """
    import torch

    obj = canonical(obj)
    with atomic_path(path) as tmp:
        try:
            with open(tmp, "wb") as fh:
                torch.save(obj, fh)
        except RuntimeError as exc:  # PytorchStreamWriter failed writing file ... (disk full)
            raise _cannot_write(Path(path), exc) from None


def check_zip(path: Path) -> None:
    """Raise CheckpointError unless `path` is a complete zip archive whose records pass their CRC-32.

    torch.load itself does not verify the CRCs, so a flipped bit in a tensor
    would otherwise load silently.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            bad = zf.testzip()
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise CheckpointError(f"refusing checkpoint {path}: not a complete torch zip archive ({exc}); the file is truncated or corrupt") from None
    if bad is not None:
        raise CheckpointError(f"refusing checkpoint {path}: record '{bad}' fails its CRC-32 check; the file is corrupt")


def _load_failure(exc: BaseException) -> str:
    text = str(exc).strip()
    for line in text.splitlines():  # torch's weights_only refusal names the offending global on a later line
        if "Unsupported global" in line or "Unsupported operand" in line:
            detail = line.split("WeightsUnpickler error:")[-1].strip().split(". Please use")[0]
            return f"it holds a pickled object that could run code when loaded ({detail}); only tensors and plain containers are accepted"
    first = text.splitlines()[0] if text else type(exc).__name__
    return first[:200]


def load_torch(path: str | os.PathLike[str]) -> Any:
    """Load a torch file with weights_only=True after checking its zip CRCs; CheckpointError if unsafe or corrupt."""
    import torch

    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"missing checkpoint {path}")
    check_zip(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle.UnpicklingError, RuntimeError, EOFError, ...
        raise CheckpointError(f"refusing checkpoint {path}: {_load_failure(exc)}") from None


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_json(obj: Any) -> str:
    """Hex sha256 of the canonical JSON of `obj` (sorted keys)."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()
