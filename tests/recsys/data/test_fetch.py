"""Fetching from folders, zips, the mirror setting and a real local HTTP server (with resume)."""

from __future__ import annotations

import hashlib
import random
import re
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from fixtures import build_zip, write_release

from recsys.data.fetch import fetch
from recsys.data.manifest import read_manifest, verify_manifest
from recsys.data.releases import RELEASES
from recsys.errors import ChecksumError, DataError
from recsys.io import sha256_file
from recsys.settings import Settings


@dataclass
class Server:
    """A real HTTP server on 127.0.0.1 that honours ``Range: bytes=N-``."""

    url: str = ""
    files: dict[str, bytes] = field(default_factory=dict)
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    cut_next: bool = False  # send half of the next body, then drop the connection


class _Handler(BaseHTTPRequestHandler):
    state: Server

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        body = self.state.files.get(self.path)
        asked = self.headers.get("Range")
        self.state.requests.append((self.path, asked))
        if body is None:
            self.send_error(404)
            return
        start = int(re.fullmatch(r"bytes=(\d+)-", asked).group(1)) if asked else 0  # type: ignore[union-attr]
        if start >= len(body):
            self.send_error(416)
            return
        self.send_response(206 if asked else 200)
        if asked:
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        payload = body[start:]
        if self.state.cut_next:
            self.state.cut_next = False
            payload = payload[: len(payload) // 2]
            self.close_connection = True
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[Server]:
    state = Server()
    handler = type("Handler", (_Handler,), {"state": state})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


def _serve_release(
    name: str,
    tmp_path: Path,
    server: Server,
    monkeypatch: pytest.MonkeyPatch,
    padding: int = 0,
) -> bytes:
    """Serve a fixture zip of ``name`` and point the registry at it, with its true sha256.

    ``padding`` adds an incompressible README of that many bytes (a download of several chunks).
    """
    folder = write_release(name, tmp_path / "src")
    (folder / "README").write_bytes(random.Random(0).randbytes(padding))
    archive = build_zip(folder, tmp_path / f"{name}.zip")
    body = archive.read_bytes()
    server.files[f"/{name}.zip"] = body
    facts = {"url": f"{server.url}/{name}.zip", "size": len(body)}
    if RELEASES[name].sha256 is not None:
        facts["sha256"] = hashlib.sha256(body).hexdigest()
    else:
        facts["md5_url"] = f"{server.url}/{name}.zip.md5"
        server.files[f"/{name}.zip.md5"] = (
            f"MD5 ({name}.zip) = {hashlib.md5(body).hexdigest()}\n".encode()
        )
    monkeypatch.setitem(RELEASES, name, replace(RELEASES[name], **facts))
    return body


def test_real_mirror_folder_is_verified_against_the_reference(
    mirror_dir: Path, settings: Settings
) -> None:
    target = fetch("ml-latest-small", source=mirror_dir, settings=settings)
    manifest = read_manifest(target)
    assert manifest.verified
    assert manifest.files["ratings.csv"].size == 2_483_723
    assert manifest.source == f"folder:{mirror_dir / 'ml-latest-small'}"


@pytest.mark.parametrize("inside", ["", "movielens/"])
def test_rezipped_official_files_are_verified(
    mirror_dir: Path, settings: Settings, tmp_path: Path, inside: str
) -> None:
    """A zip made from the official files, at its top level or under another folder name, is
    verified file by file against the official table, as the extracted folder is."""
    archive = tmp_path / "mine.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for path in sorted((mirror_dir / "ml-latest-small").iterdir()):
            bundle.write(path, inside + path.name)
    manifest = read_manifest(fetch("ml-latest-small", source=archive, settings=settings))
    assert manifest.verified
    assert manifest.files["ratings.csv"].size == 2_483_723


def test_rezipped_altered_files_are_refused(tmp_path: Path, settings: Settings) -> None:
    archive = tmp_path / "ml-latest-small.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for path in sorted(write_release("ml-latest-small", tmp_path / "src").iterdir()):
            bundle.write(path, path.name)
    with pytest.raises(ChecksumError, match=r"zip/README\.txt was altered or is from another"):
        fetch("ml-latest-small", source=archive, settings=settings)
    assert not (settings.data_dir / "raw" / "ml-latest-small").exists()
    target = fetch("ml-latest-small", source=archive, allow_unverified=True, settings=settings)
    assert not read_manifest(target).verified


def test_extracted_folder_is_copied_and_hashed(tmp_path: Path, settings: Settings) -> None:
    source = write_release("ml-20m", tmp_path / "src")
    target = fetch("ml-20m", source=source, settings=settings)
    manifest = read_manifest(target)
    assert target == settings.data_dir / "raw" / "ml-20m"
    assert set(manifest.files) == {p.name for p in source.iterdir()}
    for name, entry in manifest.files.items():
        assert entry.sha256 == sha256_file(source / name)
        assert entry.size == (source / name).stat().st_size
    assert not manifest.verified  # no official per-file table for ml-20m: honestly unverified


def test_zip_with_md5_beside_it_is_verified(tmp_path: Path, settings: Settings) -> None:
    archive = build_zip(write_release("ml-10m", tmp_path / "src"), tmp_path / "ml-10m.zip")
    (tmp_path / "ml-10m.zip.md5").write_text(
        f"{hashlib.md5(archive.read_bytes()).hexdigest()}  ml-10m.zip\n"
    )
    target = fetch("ml-10m", source=archive, settings=settings)
    assert read_manifest(target).verified
    assert (target / "tags.dat").exists()  # members of ml-10M100K/ land in raw/ml-10m/


def test_already_fetched_is_a_noop_unless_forced(tmp_path: Path, settings: Settings) -> None:
    source = write_release("ml-25m", tmp_path / "src")
    target = fetch("ml-25m", source=source, settings=settings)
    inode = (target / "ratings.csv").stat().st_ino
    fetch("ml-25m", source=source, settings=settings)
    assert (target / "ratings.csv").stat().st_ino == inode
    fetch("ml-25m", source=source, force=True, settings=settings)
    assert (target / "ratings.csv").stat().st_ino != inode
    verify_manifest(target)


def test_mirror_setting_is_used_without_a_source(tmp_path: Path) -> None:
    write_release("ml-32m", tmp_path / "mirror")
    settings = Settings(data_dir=tmp_path / "data", data_mirror=tmp_path / "mirror")
    target = fetch("ml-32m", settings=settings)
    assert read_manifest(target).source == f"folder:{tmp_path / 'mirror' / 'ml-32m'}"


def test_download_over_http(
    tmp_path: Path, server: Server, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    _serve_release("ml-1m", tmp_path, server, monkeypatch)
    target = fetch("ml-1m", settings=settings)
    assert read_manifest(target).verified
    assert server.requests == [("/ml-1m.zip", None)]
    assert not (settings.data_dir / "downloads" / "ml-1m.zip.part").exists()


def test_download_resumes_a_partial_file(
    tmp_path: Path, server: Server, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = _serve_release("ml-1m", tmp_path, server, monkeypatch)
    part = settings.data_dir / "downloads" / "ml-1m.zip.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(body[:100])
    target = fetch("ml-1m", settings=settings)
    assert server.requests == [("/ml-1m.zip", "bytes=100-")]
    assert read_manifest(target).verified


def test_dropped_connection_keeps_the_part_and_resumes(
    tmp_path: Path, server: Server, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = _serve_release("ml-1m", tmp_path, server, monkeypatch, padding=300_000)
    server.cut_next = True
    with pytest.raises(DataError, match="again to resume"):
        fetch("ml-1m", settings=settings)
    part = settings.data_dir / "downloads" / "ml-1m.zip.part"
    kept = part.stat().st_size
    assert 0 < kept < len(body)
    assert not (settings.data_dir / "raw" / "ml-1m").exists()
    fetch("ml-1m", settings=settings)
    assert server.requests[-1] == ("/ml-1m.zip", f"bytes={kept}-")
    verify_manifest(settings.data_dir / "raw" / "ml-1m")


def test_unreadable_download_is_discarded(
    tmp_path: Path, server: Server, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A download that is not a zip is deleted, so that the next fetch downloads it again,
    also for a release whose files could be verified one by one."""
    body = _serve_release("ml-latest-small", tmp_path, server, monkeypatch)
    server.files["/ml-latest-small.zip"] = b"\0" * len(body)  # the right size, not a zip
    with pytest.raises(DataError, match="not a readable zip archive"):
        fetch("ml-latest-small", allow_unverified=True, settings=settings)
    assert not (settings.data_dir / "downloads" / "ml-latest-small.zip").exists()


def test_md5_is_fetched_beside_the_archive(
    tmp_path: Path, server: Server, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    _serve_release("ml-32m", tmp_path, server, monkeypatch)
    assert read_manifest(fetch("ml-32m", settings=settings)).verified
    assert ("/ml-32m.zip.md5", None) in server.requests


def test_wrong_md5_refuses_and_discards_the_download(
    tmp_path: Path, server: Server, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    _serve_release("ml-32m", tmp_path, server, monkeypatch)
    server.files["/ml-32m.zip.md5"] = b"0123456789abcdef0123456789abcdef  ml-32m.zip\n"
    with pytest.raises(ChecksumError, match="md5 .* expected 0123456789abcdef"):
        fetch("ml-32m", settings=settings)
    assert not (settings.data_dir / "downloads" / "ml-32m.zip").exists()
    assert not (settings.data_dir / "raw" / "ml-32m").exists()
