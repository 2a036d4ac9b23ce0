"""Atomic writes: a reader never sees a half-written artifact, even after a crash or full disk.

:func:`read_json_object` is their read side for the JSON records the project writes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

from recsys.errors import DataError, WriteError

__all__ = ["atomic_path", "atomic_dir", "check_writable", "read_json_object", "write_text",
           "write_json", "sha256_file"]


@contextlib.contextmanager
def _writing(target: Path) -> Iterator[None]:
    """Turn an ``OSError`` while ``target`` is written into a :class:`WriteError` naming it."""
    try:
        yield
    except WriteError:
        raise
    except OSError as error:
        raise WriteError(f"cannot write {target}: {error.strerror or error}") from error


def check_writable(folder: Path | str) -> Path:
    """``folder``, once it is a writable folder or one that can be made there (nothing is
    made): a :class:`~recsys.errors.WriteError` before any work whose output would be lost."""
    folder = Path(folder)
    existing = folder.absolute()
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise WriteError(f"cannot write {folder}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise WriteError(f"cannot write {folder}: {existing} is not writable")
    return folder


@contextlib.contextmanager
def atomic_path(target: Path | str) -> Iterator[Path]:
    """Yield a temp path next to ``target``; rename it onto ``target`` only on success (an
    ``OSError`` on the way is a :class:`~recsys.errors.WriteError` naming ``target``)."""
    target = Path(target)
    with _writing(target):
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp",
                                        dir=target.parent)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            yield tmp
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_dir(target: Path | str) -> Iterator[Path]:
    """Yield a temp directory next to ``target``; swap it into place only on success (an
    ``OSError`` on the way, or a ``target`` that is a file, is a
    :class:`~recsys.errors.WriteError` naming ``target``)."""
    target = Path(target)
    if target.exists() and not target.is_dir():  # a folder replaces a folder, never a file
        raise WriteError(f"cannot write {target}: it is a file, not a folder (it is kept)")
    with _writing(target):
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp",
                                    dir=target.parent))
        try:
            yield tmp
            if target.exists():
                old = target.with_name(f".{target.name}.old")
                shutil.rmtree(old, ignore_errors=True)
                os.replace(target, old)
                os.replace(tmp, target)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(tmp, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def write_text(target: Path | str, text: str) -> Path:
    """Write ``text`` to ``target`` atomically and return the path."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(target)


def write_json(target: Path | str, payload: Any) -> Path:
    """Write ``payload`` as indented, key-sorted JSON atomically."""
    return write_text(target, json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")


def read_json_object(path: Path | str, keys: Collection[str] = ()) -> dict[str, Any]:
    """The JSON object in ``path``; DataError when the file is unreadable, is not JSON, holds
    something other than an object or lacks one of ``keys``."""
    try:
        content = json.loads(Path(path).read_text(encoding="utf-8"))
    except (ValueError, OSError) as error:
        raise DataError(f"{path} is not readable JSON ({error})") from error
    if not isinstance(content, dict):
        raise DataError(f"{path} holds {type(content).__name__}, not a JSON object")
    missing = [key for key in keys if key not in content]
    if missing:
        raise DataError(f"{path} lacks key(s) {missing}")
    return content


def sha256_file(path: Path | str, chunk_size: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks so that memory stays flat."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()
