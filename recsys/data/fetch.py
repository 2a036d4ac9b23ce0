"""Bring a release's raw files to ``<data_dir>/raw/<name>/``: from a zip, a folder or GroupLens.

Sources, in order: an explicit ``source`` (the official zip, an extracted folder or a mirror
folder holding ``<name>/`` or ``<name>.zip``), then ``settings.data_mirror``, then an HTTP
download with a progress bar that resumes a ``.part`` file. Archives are checked against the
official size and checksum; extracted folders against the reference tables in
``data/manifests/``. Extraction and copying go through :func:`recsys.io.atomic_dir`, so a
failure (full disk, Ctrl-C, corrupt zip) leaves nothing half-written behind.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import zipfile
import zlib
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import BinaryIO

import requests
from tqdm import tqdm

from recsys.arguments import check_flag, check_path
from recsys.data.manifest import (
    MANIFEST_NAME,
    FileEntry,
    Manifest,
    raw_files,
    verify_manifest,
    write_manifest,
)
from recsys.data.releases import Release, get_release
from recsys.errors import ChecksumError, DataError
from recsys.io import atomic_dir
from recsys.settings import Settings, get_settings

__all__ = ["fetch", "download", "raw_dir", "processed_dir", "reports_dir", "REFERENCE_DIR"]

log = logging.getLogger(__name__)

CHUNK = 1 << 20
DOWNLOAD_CHUNK = 1 << 16  # small enough that a dropped connection loses little of the .part
# Per-file SHA-256 of official extracted releases, used to verify folder sources.
REFERENCE_DIR = Path(__file__).resolve().parents[2] / "data" / "manifests"


def raw_dir(name: str, settings: Settings) -> Path:
    """Where the raw files of ``name`` live."""
    return settings.data_dir / "raw" / name


def processed_dir(name: str, settings: Settings) -> Path:
    """Where the canonical parquet tables of ``name`` live."""
    return settings.data_dir / "processed" / name


def reports_dir(name: str, settings: Settings) -> Path:
    """Where the quality reports of ``name`` live."""
    return settings.data_dir / "reports" / name


def fetch(
    name: str,
    source: Path | str | None = None,
    force: bool = False,
    allow_unverified: bool = False,
    settings: Settings | None = None,
) -> Path:
    """Make ``<data_dir>/raw/<name>/`` hold the release with a manifest; return that folder.

    Already fetched and still matching its manifest is a no-op unless ``force``. A checksum
    that differs from the official one raises ChecksumError unless ``allow_unverified``.
    """
    release = get_release(name)
    force, allow_unverified = check_flag(force, "force"), check_flag(allow_unverified,
                                                                     "allow_unverified")
    if source is not None:
        check_path(source, "source", "a path to a zip or a folder")
    settings = settings or get_settings()
    target = raw_dir(name, settings)
    if release.synthetic:
        return _synthetic_folder(release, target)
    if not force and _still_valid(target):
        log.info("%s already fetched at %s (files match its manifest)", name, target)
        if source is not None:
            log.warning("%s is already fetched, so %s was not read: pass --force (force=True) "
                        "to fetch from it instead", name, source)
        return target
    origin = _locate(release, source, settings)
    if origin is None:
        origin = download(release, settings)
        try:
            _ingest_zip(release, origin, target, allow_unverified)
        except DataError:  # a wrong checksum or an unreadable archive
            origin.unlink(missing_ok=True)  # a bad download must not be reused
            raise
    elif origin.is_dir():
        _ingest_folder(release, origin, target, allow_unverified)
    else:
        _ingest_zip(release, origin, target, allow_unverified)
    return target


def _synthetic_folder(release: Release, target: Path) -> Path:
    if not (target / MANIFEST_NAME).exists():
        raise DataError(
            f"{release.name} is a synthetic release: it is generated, not fetched. "
            f"Run `recsys data synth --name {release.name} ...`"
        )
    verify_manifest(target)
    return target


def _still_valid(target: Path) -> bool:
    if not (target / MANIFEST_NAME).exists():
        return False
    try:
        verify_manifest(target)
    except DataError as error:
        log.warning("re-fetching: %s", error)
        return False
    return True


def _locate(release: Release, source: Path | str | None, settings: Settings) -> Path | None:
    """The zip or folder to ingest from, or None when it must be downloaded."""
    if source is not None:
        base = Path(source)
        if not base.exists():
            raise DataError(f"Source {base} does not exist: expected a zip or a folder")
        if base.is_file() and base.suffix.lower() != ".zip" and not zipfile.is_zipfile(base):
            raise DataError(
                f"Source {base} is a single file, not a zip archive: pass the release's zip, "
                f"or the folder that holds its files ({', '.join(release.required_files)})"
            )
        return _in_mirror(release, base) or base
    if settings.data_mirror is not None:
        found = _in_mirror(release, settings.data_mirror)
        if found is not None:
            return found
        log.info("mirror %s has no %s; downloading", settings.data_mirror, release.name)
    return None


def _in_mirror(release: Release, base: Path) -> Path | None:
    if not base.is_dir():
        return None
    candidates = (base / f"{release.name}.zip", base / release.name, base / release.folder)
    return next((c for c in candidates if c.exists()), None)


def _copy_stream(src: BinaryIO, dst: BinaryIO) -> FileEntry:
    """Copy ``src`` into ``dst`` in chunks, hashing on the way (one read of each byte)."""
    digest = hashlib.sha256()
    size = 0
    while chunk := src.read(CHUNK):
        digest.update(chunk)
        dst.write(chunk)
        size += len(chunk)
    return FileEntry(size, digest.hexdigest())


def _require(release: Release, present: set[str], where: Path) -> None:
    for filename in release.required_files:
        if filename not in present:
            raise DataError(
                f"{where} is missing {filename}, required by {release.name} "
                f"(expected {', '.join(release.required_files)}){_near_miss(filename, present)}"
            )


def _near_miss(filename: str, present: set[str]) -> str:
    """A hint when ``filename`` is there under another case or compressed (``ratings.csv.gz``)."""
    lowered = filename.lower()
    for name in sorted(present):
        if name.lower() == lowered:
            return f"; found {name}: file names are case-sensitive, rename it to {filename}"
        if name.lower().startswith(lowered + "."):
            return f"; found {name}: decompress it to {filename} first"
    return ""


def _zip_root(release: Release, names: list[str]) -> str:
    """The folder inside an archive that holds the release: the official one
    (``ml-latest-small/``), the top level, or the archive's only top-level folder."""
    official = f"{release.folder}/"
    if any(name.startswith(official) for name in names):
        return official
    tops = {name.split("/", 1)[0] for name in names}
    if len(tops) == 1 and all("/" in name for name in names):
        return f"{tops.pop()}/"
    return ""


def _materialise(
    target: Path,
    sources: dict[str, Callable[[], BinaryIO]],
    make_manifest: Callable[[dict[str, FileEntry]], Manifest],
) -> Manifest:
    """Copy every source into ``target`` atomically, hashing on the way; write the manifest."""
    try:
        with atomic_dir(target) as tmp:
            files = {}
            for rel, open_source in sources.items():
                (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
                with open_source() as src, open(tmp / rel, "wb") as dst:
                    files[rel] = _copy_stream(src, dst)
            manifest = make_manifest(files)
            write_manifest(tmp, manifest)
    except OSError as error:
        raise DataError(
            f"Could not write {target} ({error.strerror or error}); nothing was kept. "
            "Free some disk space and run the command again"
        ) from error
    log.info(
        "%s: %d files from %s (verified=%s)",
        manifest.name,
        len(files),
        manifest.source,
        manifest.verified,
    )
    return manifest


def _ingest_folder(release: Release, origin: Path, target: Path, allow_unverified: bool) -> None:
    root = origin / release.folder if (origin / release.folder).is_dir() else origin
    names = raw_files(root)
    _require(release, set(names), root)
    _materialise(
        target,
        {rel: partial(open, root / rel, "rb") for rel in names},
        lambda files: Manifest(
            release.name,
            files,
            f"folder:{root}",
            _check_reference(release, root, files, allow_unverified),
        ),
    )


def _check_reference(
    release: Release, root: Path, files: dict[str, FileEntry], allow_unverified: bool
) -> bool:
    reference = reference_files(release.name)
    if reference is None:
        log.warning(
            "%s: no reference manifest in %s; recorded as unverified", release.name, REFERENCE_DIR
        )
        return False
    differences = _differences(root, reference, files)
    if not differences:
        return True
    return _unverified(
        f"{root} is not the official {release.name} release: {'; '.join(differences)}. "
        "Pass --allow-unverified to load it anyway (recorded as unverified)",
        allow_unverified,
    )


def _unverified(message: str, allow_unverified: bool) -> bool:
    """False, with ``message`` logged, under ``--allow-unverified``; else ChecksumError."""
    if not allow_unverified:
        raise ChecksumError(message)
    log.warning("%s; kept as unverified (--allow-unverified)", message)
    return False


def _differences(
    root: Path, reference: dict[str, FileEntry], files: dict[str, FileEntry]
) -> list[str]:
    """What differs between the official file table and ``files`` (first three problems)."""
    problems = [
        f"{root / name} is missing"
        if name not in files
        else f"{root / name} was altered or is from another edition: sha256 "
        f"{files[name].sha256[:12]}… ({files[name].size:,} bytes), expected "
        f"{want.sha256[:12]}… ({want.size:,} bytes)"
        for name, want in sorted(reference.items())
        if files.get(name) != want
    ]
    return problems[:3] + ([f"{len(problems) - 3} more"] if len(problems) > 3 else [])


def reference_files(name: str) -> dict[str, FileEntry] | None:
    """Official size and SHA-256 of each file of an extracted release (``data/manifests``)."""
    path = REFERENCE_DIR / f"{name}.json"
    if not path.exists():
        return None
    payload = json.loads(path.read_text(encoding="utf-8"))
    return {n: FileEntry(int(e["size"]), e["sha256"]) for n, e in payload["files"].items()}


def _ingest_zip(release: Release, archive: Path, target: Path, allow_unverified: bool) -> None:
    """Extract the release from ``archive``. The official archive is verified by its checksum;
    another archive (re-zipped, say) is verified when every file it holds matches the official
    file table (``data/manifests``), as an extracted folder is."""
    problems = _archive_problems(release, archive)
    has_reference = reference_files(release.name) is not None
    if problems and not has_reference:
        _unverified(_not_official(release, archive, problems), allow_unverified)

    def verified(files: dict[str, FileEntry]) -> bool:
        if problems == []:
            return True
        if has_reference and _check_reference(release, archive, files, allow_unverified):
            log.info("%s: not the official archive, but its files are the official ones",
                     archive)
            return True
        return False

    try:
        with zipfile.ZipFile(archive) as bundle:
            files = [info for info in bundle.infolist() if not info.is_dir()]
            prefix = _zip_root(release, [info.filename for info in files])
            members = {
                info.filename[len(prefix) :]: info
                for info in files
                if info.filename.startswith(prefix)
            }
            _require(release, set(members), archive)
            _materialise(
                target,
                {rel: partial(bundle.open, info) for rel, info in members.items()},
                lambda files: Manifest(release.name, files, f"zip:{archive}", verified(files)),
            )
    except (zipfile.BadZipFile, EOFError, zlib.error) as error:
        raise DataError(
            f"{archive} is not a readable zip archive ({error}); it may be truncated: "
            f"fetch it again with `recsys data fetch {release.name} --force`"
        ) from error


def _file_digest(path: Path, algorithm: str) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, algorithm).hexdigest()


def _archive_problems(release: Release, archive: Path) -> list[str] | None:
    """How ``archive`` differs from the official one in size and checksum ([] when it is the
    official archive); None when no official checksum is known."""
    problems = []
    size = archive.stat().st_size
    if release.size is not None and size != release.size:
        problems.append(f"size {size:,} bytes, expected {release.size:,}")
    algorithm, expected = _official_checksum(release, archive)
    if expected is None:
        log.warning(
            "%s: no official checksum available for %s; recorded as unverified",
            release.name,
            archive,
        )
        return None
    actual = _file_digest(archive, algorithm)
    if actual != expected:
        problems.append(f"{algorithm} {actual}, expected {expected}")
    return problems


def _not_official(release: Release, archive: Path, problems: list[str]) -> str:
    return (
        f"{archive} is not the official {release.name} archive: {'; '.join(problems)}. "
        f"Fetch it again with `recsys data fetch {release.name} --force`, "
        "or pass --allow-unverified to use it anyway"
    )


def _official_checksum(release: Release, archive: Path) -> tuple[str, str | None]:
    if release.sha256 is not None:
        return "sha256", release.sha256
    md5_file = archive.with_name(archive.name + ".md5")
    if not md5_file.exists():
        return "md5", None
    found = re.search(
        r"\b([0-9a-fA-F]{32})\b", md5_file.read_text(encoding="utf-8", errors="replace")
    )
    if found is None:
        raise DataError(f"{md5_file} holds no MD5 checksum")
    return "md5", found.group(1).lower()


def download(release: Release, settings: Settings) -> Path:
    """Download the official zip (and its ``.md5`` where needed) into ``<data_dir>/downloads``."""
    dest = settings.data_dir / "downloads" / f"{release.name}.zip"
    dest.parent.mkdir(parents=True, exist_ok=True)
    if release.md5_url:
        _http_get(release.md5_url, dest.with_name(dest.name + ".md5"))
    if not dest.exists():
        _http_get(release.url, dest, release.size)
    return dest


def _http_get(url: str, dest: Path, expected_size: int | None = None) -> None:
    """GET ``url`` into ``dest`` via ``dest.part``, resuming a partial file with HTTP Range."""
    part = dest.with_name(dest.name + ".part")
    offset = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    try:
        with requests.get(url, headers=headers, stream=True, timeout=60) as response:
            if not (offset and response.status_code == 416):  # 416: the .part is complete
                response.raise_for_status()
                _stream(response, part, offset, dest.name)
    except requests.RequestException as error:
        raise DataError(
            f"Download of {url} failed ({error}); run the same command again to resume from {part}"
        ) from error
    size = part.stat().st_size
    if expected_size is not None and size < expected_size:
        raise DataError(
            f"Download of {url} stopped at {size:,} of {expected_size:,} bytes; run the same "
            "command again to resume"
        )
    os.replace(part, dest)


def _stream(response: requests.Response, part: Path, offset: int, label: str) -> None:
    resumed = response.status_code == 206 and response.headers.get("Content-Range", "").startswith(
        f"bytes {offset}-"
    )
    start = offset if resumed else 0
    length = int(response.headers.get("Content-Length", 0))
    with (
        open(part, "ab" if resumed else "wb") as out,
        tqdm(
            total=start + length or None,
            initial=start,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=label,
            disable=None,
        ) as bar,
    ):
        for chunk in response.iter_content(DOWNLOAD_CHUNK):
            out.write(chunk)
            bar.update(len(chunk))
