"""Every parser on tiny files shaped exactly like each release, with hand-known answers."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from fixtures import GENOME_TAGS, LINKS, MOVIES, RATINGS, TAGS, USERS, write_release

from recsys.data.parsers import SCHEMAS, parse_release, split_title
from recsys.data.releases import RELEASES, get_release
from recsys.errors import DataError

ALL = list(RELEASES)


@pytest.fixture(params=ALL)
def parsed(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, dict[str, pl.DataFrame]]:
    name = request.param
    folder = write_release(name, tmp_path)
    return name, parse_release(get_release(name), folder)


def test_every_table_has_the_canonical_schema(parsed: tuple[str, dict]) -> None:
    _, tables = parsed
    for table, frame in tables.items():
        assert dict(frame.schema) == SCHEMAS[table], table


def test_ratings_known_answer(parsed: tuple[str, dict]) -> None:
    _, tables = parsed
    assert tables["ratings"].rows() == [tuple(r) for r in RATINGS]


def test_movies_title_year_genres_apart(parsed: tuple[str, dict]) -> None:
    _, tables = parsed
    assert tables["movies"].rows() == [(m, t, y, g) for m, t, y, g in MOVIES]


def test_optional_tables_per_release(parsed: tuple[str, dict]) -> None:
    name, tables = parsed
    release = get_release(name)
    assert ("users" in tables) == release.has_demographics
    assert ("genome_scores" in tables) == release.has_genome
    assert ("tags" in tables) == (name not in ("ml-100k", "ml-1m"))
    if "tags" in tables:
        assert tables["tags"].rows() == TAGS  # "dark comedy, satire" was quoted in CSV
    if "links" in tables:
        expected = [(m, int(i), int(t) if t else None) for m, i, t in LINKS]
        assert tables["links"].rows() == expected


def test_genome_tables(tmp_path: Path) -> None:
    tables = parse_release(get_release("ml-20m"), write_release("ml-20m", tmp_path))
    assert tables["genome_tags"].rows() == GENOME_TAGS
    scores = tables["genome_scores"]
    assert scores.height == 4 * len(GENOME_TAGS)
    row = scores.filter((pl.col("item_id") == 3) & (pl.col("tag_id") == 2)).row(0)
    assert row[2] == pytest.approx(0.15)


def test_ml1m_demographics_decode_codes(tmp_path: Path) -> None:
    users = parse_release(get_release("ml-1m"), write_release("ml-1m", tmp_path))["users"]
    assert users.rows() == [
        (1, 1, "F", "K-12 student", "48067"),
        (2, 56, "M", "self-employed", "70072"),
        (3, 25, "M", "scientist", "T8H1N"),
    ]


def test_ml100k_demographics(tmp_path: Path) -> None:
    users = parse_release(get_release("ml-100k"), write_release("ml-100k", tmp_path))["users"]
    assert users.rows() == [(u, age, g, occ, z) for u, g, _, _, age, occ, z in USERS]


def test_trailing_separator_is_an_empty_column(tmp_path: Path) -> None:
    folder = write_release("ml-latest-small", tmp_path)
    lines = (folder / "ratings.csv").read_text().splitlines()
    (folder / "ratings.csv").write_text("\n".join(line + "," for line in lines) + "\n")
    ratings = parse_release(get_release("ml-latest-small"), folder)["ratings"]
    assert ratings.rows() == [tuple(r) for r in RATINGS]


def test_dat_trailing_separator(tmp_path: Path) -> None:
    folder = write_release("ml-10m", tmp_path)
    lines = (folder / "ratings.dat").read_text().splitlines()
    (folder / "ratings.dat").write_text("\n".join(line + "::" for line in lines) + "\n")
    assert parse_release(get_release("ml-10m"), folder)["ratings"].height == len(RATINGS)


@pytest.mark.parametrize(
    ("raw", "title", "year"),
    [
        ("Toy Story (1995)", "Toy Story", 1995),
        (
            "City of Lost Children, The (Cité des enfants perdus, La) (1995)",
            "City of Lost Children, The (Cité des enfants perdus, La)",
            1995,
        ),
        ("Babylon 5 (1994-1998)", "Babylon 5", 1994),
        ("Hyena Road", "Hyena Road", None),
        ("Sorority House Massacre (1986) ", "Sorority House Massacre", 1986),
        ("1984 (1956)", "1984", 1956),
    ],
)
def test_split_title(raw: str, title: str, year: int | None) -> None:
    frame = pl.DataFrame({"title": [raw]}).select(*split_title(pl.col("title")))
    assert frame.row(0) == (title, year)


def _windows_endings(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))


@pytest.mark.parametrize("name", ALL)
def test_windows_line_endings_read_as_the_original(name: str, tmp_path: Path) -> None:
    # the official ml-latest-small files end their lines with CR LF; the other releases LF
    expected = parse_release(get_release(name), write_release(name, tmp_path / "unix"))
    folder = write_release(name, tmp_path / "windows")
    _windows_endings(folder)
    got = parse_release(get_release(name), folder)
    assert got.keys() == expected.keys()
    for table, frame in expected.items():
        assert got[table].equals(frame), table



@pytest.mark.parametrize("name", ["ml-100k", "ml-1m"])
def test_a_copy_converted_to_utf8_reads_as_the_original(name: str, tmp_path: Path) -> None:
    # ml-100k and ml-1m are Latin-1; read as Latin-1, a UTF-8 copy would turn "é" into "Ã©"
    expected = parse_release(get_release(name), write_release(name, tmp_path / "latin1"))
    folder = write_release(name, tmp_path / "utf8")
    for path in folder.rglob("*"):
        if path.is_file():
            path.write_bytes(path.read_bytes().decode("latin-1").encode("utf-8"))
    assert any("é" in title for title in expected["movies"]["title"])
    got = parse_release(get_release(name), folder)
    for table, frame in expected.items():
        assert got[table].equals(frame), table


def test_doubled_carriage_returns_are_named(tmp_path: Path) -> None:
    # CR LF turned into CR CR LF (a Windows file converted once more) leaves a CR in the
    # last field, which no parser can read as a number
    folder = write_release("ml-latest-small", tmp_path)
    _windows_endings(folder)
    _windows_endings(folder)
    with pytest.raises(DataError, match="line endings are doubled, CR CR LF"):
        parse_release(get_release("ml-latest-small"), folder)
