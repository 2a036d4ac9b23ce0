"""The manifest of a raw release: SHA-256 and size of every file, where it came from, when.

Written once on ingest (``<data_dir>/raw/<name>/manifest.json``) and re-checked on every later
use, so that an altered or truncated raw file is refused instead of silently parsed. The hash
of the manifest's file table identifies the data in processed caches, reports and model runs.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from recsys.errors import ChecksumError, DataError
from recsys.io import sha256_file, write_json

__all__ = [
    "MANIFEST_NAME",
    "FileEntry",
    "Manifest",
    "hash_files",
    "raw_files",
    "read_manifest",
    "write_manifest",
    "check_files",
    "verify_manifest",
]

MANIFEST_NAME = "manifest.json"


@dataclass(frozen=True)
class FileEntry:
    """Size in bytes and hex SHA-256 of one raw file."""

    size: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    """What was ingested, from where, and whether it matched the official checksum."""

    name: str
    files: dict[str, FileEntry]
    source: str
    verified: bool
    synthetic: bool = False
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    @property
    def hash(self) -> str:
        """SHA-256 of the file table (names and hashes): the identity of the data."""
        table = {name: entry.sha256 for name, entry in sorted(self.files.items())}
        return hashlib.sha256(json.dumps(table, sort_keys=True).encode()).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, with the manifest hash included for readers."""
        return {
            "name": self.name,
            "source": self.source,
            "verified": self.verified,
            "synthetic": self.synthetic,
            "created": self.created,
            "manifest_hash": self.hash,
            "files": {n: {"size": e.size, "sha256": e.sha256} for n, e in self.files.items()},
        }

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> Manifest:
        """Inverse of :meth:`to_dict` (the stored hash is recomputed, not trusted)."""
        files = {
            n: FileEntry(int(e["size"]), str(e["sha256"])) for n, e in payload["files"].items()
        }
        return cls(
            name=str(payload["name"]),
            files=files,
            source=str(payload["source"]),
            verified=bool(payload["verified"]),
            synthetic=bool(payload.get("synthetic", False)),
            created=str(payload["created"]),
        )


def raw_files(folder: Path) -> list[str]:
    """Relative paths of every raw file under ``folder`` (the manifest itself excluded)."""
    return sorted(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and p.name != MANIFEST_NAME
    )


def hash_files(folder: Path, names: list[str] | None = None) -> dict[str, FileEntry]:
    """Size and SHA-256 of ``names`` (default: every raw file) under ``folder``."""
    names = raw_files(folder) if names is None else names
    return {n: FileEntry((folder / n).stat().st_size, sha256_file(folder / n)) for n in names}


def write_manifest(folder: Path, manifest: Manifest) -> Path:
    """Write ``manifest.json`` into ``folder`` atomically."""
    return write_json(folder / MANIFEST_NAME, manifest.to_dict())


def read_manifest(folder: Path) -> Manifest:
    """Read ``folder/manifest.json``; DataError when it is missing or unreadable."""
    path = folder / MANIFEST_NAME
    if not path.exists():
        raise DataError(
            f"No manifest at {path}: the release was never ingested. "
            f"Run `recsys data fetch {folder.name}` first"
        )
    try:
        return Manifest.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, KeyError, TypeError) as error:
        raise DataError(
            f"Manifest {path} is corrupt ({error}); re-fetch with "
            f"`recsys data fetch {folder.name} --force`"
        ) from error


def check_files(
    folder: Path, expected: dict[str, FileEntry], actual: dict[str, FileEntry], name: str
) -> None:
    """Raise ChecksumError naming the first file whose hash differs from the expected one."""
    refetch = f"re-fetch with `recsys data fetch {name} --force`"
    for filename, want in sorted(expected.items()):
        got = actual.get(filename)
        if got is None:
            raise ChecksumError(f"Raw file {folder / filename} is missing; {refetch}")
        if got != want:
            raise ChecksumError(
                f"Raw file {folder / filename} was altered or truncated: expected sha256 "
                f"{want.sha256} ({want.size:,} bytes), found {got.sha256} ({got.size:,} bytes); "
                f"{refetch}"
            )


def verify_manifest(folder: Path) -> Manifest:
    """Re-hash every file listed in ``folder``'s manifest; ChecksumError on any difference."""
    manifest = read_manifest(folder)
    present = [n for n in manifest.files if (folder / n).is_file()]
    check_files(folder, manifest.files, hash_files(folder, present), manifest.name)
    return manifest
