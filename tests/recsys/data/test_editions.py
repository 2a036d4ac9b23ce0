"""MovieLens files as found in the wild: older editions, trailing empty columns, unverified copies.

The generated files are shaped like the 2016-10 edition of ml-latest-small (100,004 ratings,
671 users, 9,125 movies), whose CSV lines end with empty columns
(``userId,movieId,rating,timestamp,,,,`` / ``1,31,2.5,1260759144,,,,``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fixtures import write_release

from recsys.cli import main
from recsys.data.load import ingest
from recsys.data.parsers import parse_release
from recsys.data.releases import RELEASES, closest_edition, get_release
from recsys.data.types import Dataset
from recsys.data.validate import validate_dataset
from recsys.errors import ChecksumError, DataError
from recsys.settings import Settings

EDITION_2016 = {"ratings": 100_004, "users": 671, "movies": 9_125}
PAD = ",,,,"


def write_2016_edition(root: Path) -> Path:
    """A copy shaped like ml-latest-small's 2016-10 edition, every CSV line padded with ``,,,,``."""
    folder = root / "ml-latest-small"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(2016)
    n_users, n_movies = EDITION_2016["users"], EDITION_2016["movies"]
    keys = np.sort(rng.choice(n_users * n_movies, EDITION_2016["ratings"], replace=False))
    users, movies = keys // n_movies + 1, keys % n_movies + 1
    stars = rng.integers(1, 11, len(keys)) / 2
    stamps = rng.integers(828_124_615, 1_476_640_644, len(keys))
    ratings = [
        f"{u},{m},{s:g},{t}{PAD}" for u, m, s, t in zip(users, movies, stars, stamps, strict=True)
    ]
    _write(folder / "ratings.csv", f"userId,movieId,rating,timestamp{PAD}", ratings)
    titles = [
        f'{m},"Movie {m}, The ({1900 + m % 117})",Drama|Comedy{PAD}' for m in range(1, n_movies + 1)
    ]
    _write(folder / "movies.csv", f"movieId,title,genres{PAD}", titles)
    tags = [
        f"{u},{m},tag {u},{t}{PAD}"
        for u, m, t in zip(users[:1296], movies[:1296], stamps[:1296], strict=True)
    ]
    _write(folder / "tags.csv", f"userId,movieId,tag,timestamp{PAD}", tags)
    links = [f"{m},{100000 + m},{m}{PAD}" for m in range(1, n_movies + 1)]
    _write(folder / "links.csv", f"movieId,imdbId,tmdbId{PAD}", links)
    assert len(np.unique(users)) == n_users
    return folder


def _write(path: Path, header: str, lines: list[str]) -> None:
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def old_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_2016_edition(tmp_path_factory.mktemp("wild"))


def test_old_edition_is_refused_without_allow_unverified(old_copy: Path, tmp_path: Path) -> None:
    with pytest.raises(ChecksumError, match="--allow-unverified"):
        ingest("ml-latest-small", source=old_copy, settings=Settings(data_dir=tmp_path))


def test_old_edition_loads_unverified_and_the_report_names_its_edition(
    old_copy: Path, tmp_path: Path
) -> None:
    dataset = ingest(
        "ml-latest-small",
        source=old_copy,
        allow_unverified=True,
        settings=Settings(data_dir=tmp_path),
    )
    assert dataset.ratings.height == EDITION_2016["ratings"]
    assert dataset.ratings.columns == ["user_id", "item_id", "rating", "timestamp"]
    assert dataset.provenance.verified is False
    assert dataset.provenance.trailing_empty_columns == {
        "ratings.csv": 4,
        "movies.csv": 4,
        "tags.csv": 4,
        "links.csv": 4,
    }
    report = validate_dataset(dataset)
    assert report.ok  # warnings only
    findings = {f.check: f for f in report.findings}
    assert findings["unverified"].level == "warning"
    assert "UNVERIFIED" in findings["unverified"].message
    assert "2016-10 edition (exactly" in findings["unverified"].message
    assert findings["trailing_columns"].count == 16
    resembles = report.stats["provenance"]["resembles"]
    assert resembles["edition"] == "2016-10" and resembles["exact"]
    assert "UNVERIFIED" in report.to_markdown()


def test_the_official_copy_is_verified_and_exact(ml_small: Dataset) -> None:
    report = validate_dataset(ml_small)
    provenance = report.stats["provenance"]
    assert provenance["verified"] is True
    assert provenance["resembles"] == {
        "edition": "2018-09",
        "published": {"ratings": 100_836, "users": 610, "movies": 9_742},
        "found": {"ratings": 100_836, "users": 610, "movies": 9_742},
        "exact": True,
    }
    assert "unverified" not in {f.check for f in report.findings}


def test_cli_fetch_and_validate_an_old_copy(
    old_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("RECSYS_DATA_DIR", str(tmp_path / "data"))
    assert main(["data", "fetch", "ml-latest-small", "--from", str(old_copy)]) == 2
    assert "--allow-unverified" in capsys.readouterr().err
    args = ["data", "fetch", "ml-latest-small", "--from", str(old_copy), "--allow-unverified"]
    assert main(args) == 0
    assert "100,004 ratings" in capsys.readouterr().out
    assert main(["data", "validate", "ml-latest-small"]) == 0
    assert "resembles the 2016-10 edition" in capsys.readouterr().out


def test_closest_edition_by_counts() -> None:
    small = RELEASES["ml-latest-small"]
    assert closest_edition(small, {"ratings": 105_000, "users": 668, "movies": 10_000}).label == (
        "2016-01"
    )
    assert closest_edition(small, {"ratings": 100_836, "users": 610, "movies": 9_742}).label == (
        "2018-09"
    )
    assert all(r.editions for r in RELEASES.values())


# Every parser: the same data with empty fields after the last column parses identically.
PADDED_FILES = {  # release: (file, what each line gets appended, empty columns it adds)
    "ml-latest-small": ("ratings.csv", ",,", 2),
    "ml-20m": ("genome-scores.csv", ",", 1),
    "ml-1m": ("ratings.dat", "::::", 2),
    "ml-10m": ("movies.dat", "::", 1),
    "ml-100k": ("u.data", "\t\t", 2),
}


@pytest.mark.parametrize("name", sorted(PADDED_FILES))
def test_every_parser_drops_trailing_empty_columns(name: str, tmp_path: Path) -> None:
    release = get_release(name)
    clean = parse_release(release, write_release(name, tmp_path / "clean"))
    folder = write_release(name, tmp_path / "padded")
    filename, pad, added = PADDED_FILES[name]
    path = folder / filename
    lines = path.read_bytes().decode("latin-1").splitlines()
    path.write_bytes("".join(line + pad + "\n" for line in lines).encode("latin-1"))
    notes: dict[str, int] = {}
    padded = parse_release(release, folder, notes)
    assert notes == {filename: added}
    for table, frame in clean.items():
        assert padded[table].equals(frame), table


def test_ml100k_item_file_with_trailing_separator(tmp_path: Path) -> None:
    release = get_release("ml-100k")
    clean = parse_release(release, write_release("ml-100k", tmp_path / "clean"))
    folder = write_release("ml-100k", tmp_path / "padded")
    lines = (folder / "u.item").read_bytes().decode("latin-1").splitlines()
    (folder / "u.item").write_bytes("".join(f"{line}|\n" for line in lines).encode("latin-1"))
    assert parse_release(release, folder)["movies"].equals(clean["movies"])


def test_a_trailing_column_with_values_is_refused(tmp_path: Path) -> None:
    folder = write_release("ml-latest-small", tmp_path)
    lines = (folder / "ratings.csv").read_text().splitlines()
    body = [lines[0] + ","] + [f"{line},x" for line in lines[1:]]
    (folder / "ratings.csv").write_text("\n".join(body) + "\n")
    with pytest.raises(DataError, match="trailing column"):
        parse_release(get_release("ml-latest-small"), folder)
