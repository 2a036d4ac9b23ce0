"""Loading: parquet once, reuse by manifest hash, re-verification, synthetic, real mirror."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from fixtures import RATINGS, write_release

from recsys.cli import main
from recsys.data.load import ingest, load_dataset
from recsys.data.manifest import read_manifest
from recsys.data.synth import write_synthetic_release
from recsys.errors import ChecksumError, DataError
from recsys.settings import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


def test_ingest_writes_parquet_once_and_reuses_it(tmp_path: Path, settings: Settings) -> None:
    source = write_release("ml-20m", tmp_path / "src")
    dataset = ingest("ml-20m", source=source, settings=settings)
    processed = settings.data_dir / "processed" / "ml-20m"
    assert sorted(p.name for p in processed.glob("*.parquet")) == [
        "genome_scores.parquet", "genome_tags.parquet", "links.parquet",
        "movies.parquet", "ratings.parquet", "tags.parquet",
    ]  # fmt: skip
    meta = json.loads((processed / "_meta.json").read_text())
    manifest = read_manifest(settings.data_dir / "raw" / "ml-20m")
    assert meta["manifest_hash"] == manifest.hash == dataset.manifest_hash
    assert dataset.ratings.rows() == [tuple(r) for r in RATINGS]
    assert dataset.genome_scores is not None and not dataset.synthetic
    written = (processed / "ratings.parquet").stat().st_mtime_ns
    again = load_dataset("ml-20m", settings)
    assert (processed / "ratings.parquet").stat().st_mtime_ns == written
    assert again.ratings.equals(dataset.ratings)
    assert again.movies.equals(dataset.movies)


def test_load_refuses_an_altered_raw_file(tmp_path: Path, settings: Settings) -> None:
    ingest("ml-25m", source=write_release("ml-25m", tmp_path / "src"), settings=settings)
    raw = settings.data_dir / "raw" / "ml-25m"
    expected = read_manifest(raw).files["ratings.csv"].sha256
    with open(raw / "ratings.csv", "a") as handle:
        handle.write("3,4,4.0,1230000001\n")
    with pytest.raises(ChecksumError) as raised:
        load_dataset("ml-25m", settings)
    message = str(raised.value)
    assert str(raw / "ratings.csv") in message and expected in message
    assert "recsys data fetch ml-25m --force" in message


def test_load_before_fetch_says_what_to_run(settings: Settings) -> None:
    with pytest.raises(DataError, match="recsys data fetch ml-1m"):
        load_dataset("ml-1m", settings)


def test_synthetic_release_goes_through_the_same_loader(settings: Settings) -> None:
    folder = settings.data_dir / "raw" / "synthetic-tiny"
    write_synthetic_release(folder, n_users=50, n_items=40, n_ratings=600, seed=3)
    dataset = ingest("synthetic-tiny", settings=settings)
    assert dataset.synthetic and dataset.ratings.height == 600
    manifest = read_manifest(folder)
    assert manifest.synthetic and "SYNTHETIC.json" in manifest.files
    assert load_dataset("synthetic-tiny", settings).manifest_hash == manifest.hash


def test_synthetic_name_without_marker_is_refused(settings: Settings) -> None:
    with pytest.raises(DataError, match="recsys data synth --name synthetic-x"):
        ingest("synthetic-x", settings=settings)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_acceptance_ml_latest_small(
    mirror_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("RECSYS_DATA_DIR", str(tmp_path))
    code, out = _run(capsys, "data", "fetch", "ml-latest-small", "--from", str(mirror_dir))
    assert code == 0
    assert "100,836 ratings, 610 users, 9,742 movies, 3,683 tags" in out
    code, out = _run(capsys, "data", "validate", "ml-latest-small")
    assert code == 0
    for row in ("| ratings | 100,836 |", "| users | 610 |", "| movies | 9,742 |",
                "| tags | 3,683 |"):  # fmt: skip
        assert row in out
    report = json.loads((tmp_path / "reports" / "ml-latest-small" / "quality.json").read_text())
    assert report["ok"] and report["stats"]["counts"]["ratings"] == 100_836
    assert (tmp_path / "reports" / "ml-latest-small" / "quality.md").read_text() == out


def test_acceptance_ml_100k(
    mirror_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("RECSYS_DATA_DIR", str(tmp_path))
    assert _run(capsys, "data", "fetch", "ml-100k", "--from", str(mirror_dir))[0] == 0
    code, out = _run(capsys, "data", "validate", "ml-100k", "--format", "json")
    counts = json.loads(out)["stats"]["counts"]
    assert code == 0
    assert (counts["ratings"], counts["users"], counts["movies"]) == (100_000, 943, 1_682)
    assert counts["users_with_demographics"] == 943


def test_ml_100k_fixture_is_the_real_release(ml_100k) -> None:
    movies = ml_100k.movies
    toy = movies.filter(pl.col("item_id") == 1).row(0)
    assert toy == (1, "Toy Story", 1995, ["Animation", "Children's", "Comedy"])
    assert ml_100k.users is not None and ml_100k.users.height == 943
    assert ml_100k.rating_scale == (1.0, 5.0)
