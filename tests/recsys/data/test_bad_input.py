"""Every bad input of issue 2 gets a clear RecsysError, and nothing half-written stays."""

from __future__ import annotations

import errno
from pathlib import Path

import polars as pl
import pytest
from fixtures import RATINGS, build_zip, write_release

import recsys.data.fetch as fetch_module
from recsys.cli import main
from recsys.data.fetch import fetch
from recsys.data.load import ingest, load_dataset
from recsys.data.manifest import read_manifest, verify_manifest
from recsys.data.validate import validate_dataset
from recsys.errors import ArgumentError, ChecksumError, DataError, UnknownDatasetError
from recsys.settings import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


def _leftovers(settings: Settings) -> list[str]:
    raw = settings.data_dir / "raw"
    return sorted(p.name for p in raw.iterdir()) if raw.exists() else []


# --- wrong checksum, truncated archive or file -------------------------------------------


def test_wrong_checksum_zip_is_refused(tmp_path: Path, settings: Settings) -> None:
    archive = build_zip(write_release("ml-1m", tmp_path / "src"), tmp_path / "ml-1m.zip")
    with pytest.raises(ChecksumError) as raised:
        fetch("ml-1m", source=archive, settings=settings)
    message = str(raised.value)
    assert "expected a6898adb50b9ca05aa231689da44c217cb524e7ebd39d264c56e2832f2c54e20" in message
    assert "expected 5,917,549" in message and "--allow-unverified" in message
    assert _leftovers(settings) == []


def test_wrong_checksum_allowed_is_recorded_unverified(tmp_path: Path, settings: Settings) -> None:
    archive = build_zip(write_release("ml-1m", tmp_path / "src"), tmp_path / "ml-1m.zip")
    target = fetch("ml-1m", source=archive, allow_unverified=True, settings=settings)
    assert read_manifest(target).verified is False
    assert '"verified": false' in (target / "manifest.json").read_text()


def test_folder_differing_from_the_official_files_is_refused(
    tmp_path: Path, settings: Settings
) -> None:
    source = write_release("ml-latest-small", tmp_path / "src")
    with pytest.raises(ChecksumError, match=r"ml-latest-small/README\.txt was altered"):
        fetch("ml-latest-small", source=source, settings=settings)
    target = fetch("ml-latest-small", source=source, allow_unverified=True, settings=settings)
    assert not read_manifest(target).verified


def test_truncated_zip(tmp_path: Path, settings: Settings) -> None:
    archive = build_zip(write_release("ml-1m", tmp_path / "src"), tmp_path / "ml-1m.zip")
    archive.write_bytes(archive.read_bytes()[:-200])
    with pytest.raises(DataError, match="not a readable zip archive"):
        fetch("ml-1m", source=archive, allow_unverified=True, settings=settings)
    assert _leftovers(settings) == []


def test_truncated_raw_file_is_refused_on_load(tmp_path: Path, settings: Settings) -> None:
    ingest("ml-32m", source=write_release("ml-32m", tmp_path / "src"), settings=settings)
    ratings = settings.data_dir / "raw" / "ml-32m" / "ratings.csv"
    ratings.write_bytes(ratings.read_bytes()[:-10])
    with pytest.raises(ChecksumError, match=r"ratings\.csv was altered or truncated: expected"):
        load_dataset("ml-32m", settings)


def test_truncated_line_is_kept_and_counted(tmp_path: Path, settings: Settings) -> None:
    source = write_release("ml-20m", tmp_path / "src")
    text = (source / "ratings.csv").read_text()
    (source / "ratings.csv").write_text(text[: text.rindex(",")])  # cut inside the last row
    dataset = ingest("ml-20m", source=source, settings=settings)
    assert dataset.ratings.height == len(RATINGS)
    report = validate_dataset(dataset)
    assert ("missing_values", 1) in {(f.check, f.count) for f in report.findings}
    assert not report.ok


def test_blank_lines_of_a_csv_are_not_ratings(tmp_path: Path, settings: Settings) -> None:
    source = write_release("ml-25m", tmp_path / "src")
    ratings = source / "ratings.csv"
    ratings.write_text(ratings.read_text() + "\n\n \n")  # an edited file ending in blank lines
    dataset = ingest("ml-25m", source=source, allow_unverified=True, settings=settings)
    assert dataset.ratings.height == len(RATINGS)
    assert dataset.ratings.null_count().sum_horizontal().item() == 0
    assert validate_dataset(dataset).ok


def test_empty_file_is_named(tmp_path: Path, settings: Settings) -> None:
    source = write_release("ml-25m", tmp_path / "src")
    (source / "ratings.csv").write_bytes(b"")
    with pytest.raises(DataError, match=r"ratings\.csv is empty: expected a header line"):
        ingest("ml-25m", source=source, settings=settings)


def test_ratings_with_a_header_and_no_rows_fail_validation(
    tmp_path: Path, settings: Settings
) -> None:
    source = write_release("ml-25m", tmp_path / "src")
    ratings = source / "ratings.csv"
    ratings.write_text(ratings.read_text().splitlines()[0] + "\n")
    report = validate_dataset(ingest("ml-25m", source=source, settings=settings))
    assert not report.ok
    assert ("empty_tables", 1) in {(f.check, f.count) for f in report.findings}
    assert "no rows in ratings" in report.to_markdown()


@pytest.mark.parametrize(
    ("rename", "hint"),
    [
        (lambda p: p.rename(p.with_name("Ratings.csv")),
         r"found Ratings\.csv: file names are case-sensitive, rename it to ratings\.csv"),
        (lambda p: p.rename(p.with_name("ratings.csv.gz")),
         r"found ratings\.csv\.gz: decompress it to ratings\.csv first"),
    ],
)  # fmt: skip
def test_a_required_file_under_another_name_is_pointed_at(
    tmp_path: Path, settings: Settings, rename, hint: str
) -> None:
    source = write_release("ml-25m", tmp_path / "src")
    rename(source / "ratings.csv")
    with pytest.raises(DataError, match=r"is missing ratings\.csv, required by ml-25m .*" + hint):
        fetch("ml-25m", source=source, settings=settings)


# --- columns -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "filename", "edit", "expected"),
    [
        ("ml-25m", "ratings.csv", lambda t: t.replace("timestamp", "timestamp,source", 1),
         r"expected columns \['userId', 'movieId', 'rating', 'timestamp'\], found .*'source'"),
        ("ml-25m", "ratings.csv", lambda t: t.replace(",", ";"),
         r"found \['userId;movieId;rating;timestamp'\] \(the file is separated by ';'"),
        ("ml-25m", "ratings.csv", lambda t: t.replace("userId,movieId", "movieId,userId", 1),
         r"found \['movieId', 'userId', 'rating', 'timestamp'\] \(the same columns in another"),
        ("ml-25m", "ratings.csv", lambda t: t.replace("userId,movieId", "UserId, movieId", 1),
         r"found \['UserId', ' movieId', 'rating', 'timestamp'\] \(the names differ in case"),
        ("ml-25m", "movies.csv", lambda t: t.replace(",genres", "", 1),
         r"expected columns \['movieId', 'title', 'genres'\], found \['movieId', 'title'\]"),
        ("ml-25m", "ratings.csv", lambda t: t + "3,3,4.0,1230000000,extra\n",
         r"ratings\.csv: expected 4 columns .* found more"),
        ("ml-1m", "ratings.dat", lambda t: t + "3::3::4::1230000000::9\n",
         r"ratings\.dat: expected 4 columns .* found 5 on line 7"),
        ("ml-1m", "users.dat", lambda t: "\n".join(x.rsplit("::", 1)[0] for x in t.splitlines()),
         r"users\.dat: expected 5 columns .*found fewer"),
        ("ml-100k", "u.data", lambda t: t.replace("\t", "\t9\t", 1),
         r"u\.data: expected 4 columns .* found more"),
        ("ml-100k", "u.user", lambda t: "\n".join(x.rsplit("|", 1)[0] for x in t.splitlines()),
         r"u\.user: expected 5 columns .* found fewer"),
    ],
)  # fmt: skip
def test_extra_or_missing_column(
    tmp_path: Path, settings: Settings, name: str, filename: str, edit, expected: str
) -> None:
    source = write_release(name, tmp_path / "src")
    path = source / filename
    path.write_bytes(edit(path.read_bytes().decode("latin-1")).encode("latin-1"))
    with pytest.raises(DataError, match=expected):
        ingest(name, source=source, allow_unverified=True, settings=settings)


# --- values ------------------------------------------------------------------------------


def _with_extra_ratings(tmp_path: Path, settings: Settings, rows: str):
    source = write_release("ml-20m", tmp_path / "src")
    with open(source / "ratings.csv", "a") as handle:
        handle.write(rows)
    return validate_dataset(ingest("ml-20m", source=source, settings=settings))


def test_nan_and_out_of_range_ratings(tmp_path: Path, settings: Settings) -> None:
    report = _with_extra_ratings(tmp_path, settings, "3,3,NaN,1230000000\n3,4,7.5,1230000000\n")
    assert not report.ok
    assert ("error", "rating_scale", 2) in {(f.level, f.check, f.count) for f in report.findings}
    assert report.stats["rating"]["nan"] == 1 and report.stats["rating"]["off_scale"] == 1


def test_duplicate_rows_keep_the_latest_and_fail_validation(
    tmp_path: Path, settings: Settings
) -> None:
    u, m, _, t = RATINGS[0]
    report = _with_extra_ratings(
        tmp_path, settings, f"{u},{m},1.5,{t + 10}\n{u},{m},2.5,{t - 10}\n"
    )
    assert report.stats["counts"]["ratings"] == len(RATINGS)  # one rating per pair is loaded
    assert report.stats["provenance"]["duplicate_ratings_dropped"] == 2
    assert ("error", "duplicate_pairs", 2) in {(f.level, f.check, f.count) for f in report.findings}
    ratings = ingest("ml-20m", settings=settings).ratings
    kept = ratings.filter((pl.col("user_id") == u) & (pl.col("item_id") == m))
    assert kept.rows() == [(u, m, 1.5, t + 10)]  # the latest, not a sum


def test_validate_cli_exits_1_on_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("RECSYS_DATA_DIR", str(tmp_path / "data"))
    source = write_release("ml-20m", tmp_path / "src")
    with open(source / "ratings.csv", "a") as handle:
        handle.write("3,3,9.0,1230000000\n")
    assert main(["data", "fetch", "ml-20m", "--from", str(source)]) == 0
    assert main(["data", "validate", "ml-20m"]) == 1
    assert "`rating_scale`" in capsys.readouterr().out


# --- names and encodings -----------------------------------------------------------------


def test_unknown_dataset_name(settings: Settings, capsys) -> None:
    with pytest.raises(UnknownDatasetError, match="expected one of ml-latest-small"):
        fetch("movielens-2m", settings=settings)
    assert main(["data", "validate", "movielens-2m"]) == 2
    assert "Unknown dataset 'movielens-2m'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("name", "error", "message"),
    [
        (123, ArgumentError, r"name must be a release name such as 'ml-latest-small', got int"),
        (None, ArgumentError, r"got NoneType None"),
        ("ML-Latest-Small", UnknownDatasetError, r"did you mean 'ml-latest-small'\? release"),
        ("ml-lates-small", UnknownDatasetError, r"\(did you mean 'ml-latest-small'\?\)"),
        ("/data/ml-latest-small", UnknownDatasetError, r"a release name, not a path: .*--from"),
    ],
)  # fmt: skip
def test_a_wrong_release_name_is_explained(
    settings: Settings, name: object, error: type, message: str
) -> None:
    with pytest.raises(error, match=message):
        load_dataset(name, settings)  # type: ignore[arg-type]


def test_wrong_sources_and_flags_are_refused(tmp_path: Path, settings: Settings) -> None:
    source = write_release("ml-25m", tmp_path / "src")
    with pytest.raises(ArgumentError, match=r"source must be a path to a zip or a folder .*int"):
        fetch("ml-25m", source=5, settings=settings)  # type: ignore[arg-type]
    with pytest.raises(DataError, match=r"ratings\.csv is a single file, not a zip archive"):
        fetch("ml-25m", source=source / "ratings.csv", settings=settings)
    for flag in ("force", "allow_unverified"):
        with pytest.raises(ArgumentError, match=rf"{flag} must be True or False, got 'no'"):
            fetch("ml-25m", source=source, settings=settings, **{flag: "no"})
    assert _leftovers(settings) == []


def test_a_source_given_after_the_release_was_fetched_is_not_ignored_silently(
    tmp_path: Path, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    fetch("ml-25m", source=write_release("ml-25m", tmp_path / "first"), settings=settings)
    other = write_release("ml-25m", tmp_path / "second")
    fetch("ml-25m", source=other, settings=settings)
    assert f"so {other} was not read: pass --force" in caplog.text


def test_unreadable_encoding(tmp_path: Path, settings: Settings) -> None:
    source = write_release("ml-20m", tmp_path / "src")
    movies = source / "movies.csv"
    movies.write_bytes(movies.read_bytes().replace("Cité".encode(), "Cité".encode("latin-1")))
    with pytest.raises(DataError, match=r"movies\.csv is not UTF-8: line 3 holds byte 0xE9.*"
                       r"iconv -f latin1 -t utf-8 movies\.csv > movies-utf8\.csv"):
        ingest("ml-20m", source=source, settings=settings)


# --- interruption, full disk, incomplete mirror ------------------------------------------


def _fail_on_second_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    real = fetch_module._copy_stream
    calls = []

    def copy(src, dst):
        calls.append(1)
        if len(calls) == 2:
            dst.write(src.read(10))  # a partly written file, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(src, dst)

    monkeypatch.setattr(fetch_module, "_copy_stream", copy)


@pytest.mark.parametrize("kind", ["zip", "folder"])
def test_full_disk_during_extraction_leaves_nothing(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    folder = write_release("ml-1m", tmp_path / "src")
    source = build_zip(folder, tmp_path / "ml-1m.zip") if kind == "zip" else folder
    _fail_on_second_copy(monkeypatch)
    with pytest.raises(DataError, match="No space left on device.*nothing was kept"):
        fetch("ml-1m", source=source, allow_unverified=True, settings=settings)
    assert _leftovers(settings) == []


def test_interrupted_refetch_keeps_the_previous_good_copy(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write_release("ml-25m", tmp_path / "src")
    target = fetch("ml-25m", source=source, settings=settings)
    _fail_on_second_copy(monkeypatch)
    with pytest.raises(DataError, match="nothing was kept"):
        fetch("ml-25m", source=source, force=True, settings=settings)
    verify_manifest(target)
    assert _leftovers(settings) == ["ml-25m"]


def test_mirror_folder_missing_a_file(tmp_path: Path, settings: Settings) -> None:
    source = write_release("ml-20m", tmp_path / "mirror")
    (source / "genome-tags.csv").unlink()
    with pytest.raises(DataError, match=r"missing genome-tags\.csv, required by ml-20m"):
        fetch("ml-20m", source=tmp_path / "mirror", settings=settings)
    assert _leftovers(settings) == []
