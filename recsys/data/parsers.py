"""Parsers from every MovieLens file format into canonical, typed polars frames.

Formats: comma-separated CSV with a header (ml-latest*, ml-20m/25m/32m), ``::``-separated
``.dat`` files without a header (ml-1m, ml-10m; Latin-1 in ml-1m) and the ml-100k files
(tab-separated ``u.data``, ``|``-separated Latin-1 ``u.item`` with 19 genre flags named by
``u.genre``, ``u.user``). Parsers never drop a row: bad values stay as nulls/NaN for the
quality report to count; a file whose columns differ from the format raises ``DataError``.
Empty trailing columns (older ml-latest-small editions end every line with ``,,,,``) are
accepted, dropped and counted per file for the quality report. Blank lines are not rows:
they are skipped and logged.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import NamedTuple

import polars as pl

from recsys.data.releases import Layout, Release
from recsys.errors import DataError

__all__ = ["SCHEMAS", "parse_table", "parse_release", "split_title"]

log = logging.getLogger(__name__)

I32, I64, F32, STR = pl.Int32(), pl.Int64(), pl.Float32(), pl.String()

# Canonical output schema of every table (ratings and movies match recsys.data.types).
SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "ratings": {"user_id": I32, "item_id": I32, "rating": F32, "timestamp": I64},
    "movies": {"item_id": I32, "title": STR, "year": I32, "genres": pl.List(STR)},
    "tags": {"user_id": I32, "item_id": I32, "tag": STR, "timestamp": I64},
    "links": {"item_id": I32, "imdb_id": I32, "tmdb_id": I32},
    "users": {"user_id": I32, "age": I32, "gender": STR, "occupation": STR, "zip_code": STR},
    "genome_scores": {"item_id": I32, "tag_id": I32, "relevance": F32},
    "genome_tags": {"tag_id": I32, "tag": STR},
}


class Column(NamedTuple):
    """A column as the raw file names it, its canonical name and its type."""

    source: str
    name: str
    dtype: pl.DataType


def _cols(*spec: tuple[str, str, pl.DataType]) -> tuple[Column, ...]:
    return tuple(Column(*c) for c in spec)


_CSV = {
    "ratings": _cols(
        ("userId", "user_id", I32),
        ("movieId", "item_id", I32),
        ("rating", "rating", F32),
        ("timestamp", "timestamp", I64),
    ),
    "movies": _cols(
        ("movieId", "item_id", I32), ("title", "title", STR), ("genres", "genres", STR)
    ),
    "tags": _cols(
        ("userId", "user_id", I32),
        ("movieId", "item_id", I32),
        ("tag", "tag", STR),
        ("timestamp", "timestamp", I64),
    ),
    "links": _cols(
        ("movieId", "item_id", I32), ("imdbId", "imdb_id", I32), ("tmdbId", "tmdb_id", I32)
    ),
    "genome_scores": _cols(
        ("movieId", "item_id", I32), ("tagId", "tag_id", I32), ("relevance", "relevance", F32)
    ),
    "genome_tags": _cols(("tagId", "tag_id", I32), ("tag", "tag", STR)),
}
_DAT = {
    "ratings": _cols(
        ("UserID", "user_id", I32),
        ("MovieID", "item_id", I32),
        ("Rating", "rating", F32),
        ("Timestamp", "timestamp", I64),
    ),
    "movies": _cols(
        ("MovieID", "item_id", I32), ("Title", "title", STR), ("Genres", "genres", STR)
    ),
    "tags": _cols(
        ("UserID", "user_id", I32),
        ("MovieID", "item_id", I32),
        ("Tag", "tag", STR),
        ("Timestamp", "timestamp", I64),
    ),
    "users": _cols(
        ("UserID", "user_id", I32),
        ("Gender", "gender", STR),
        ("Age", "age", I32),
        ("Occupation", "occupation", I32),
        ("Zip-code", "zip_code", STR),
    ),
}
_ML100K = {
    "ratings": _cols(
        ("user id", "user_id", I32),
        ("item id", "item_id", I32),
        ("rating", "rating", F32),
        ("timestamp", "timestamp", I64),
    ),
    "users": _cols(
        ("user id", "user_id", I32),
        ("age", "age", I32),
        ("gender", "gender", STR),
        ("occupation", "occupation", STR),
        ("zip code", "zip_code", STR),
    ),
    "genres": _cols(("genre", "genre", STR), ("genre id", "genre_id", I32)),
    "movies": _cols(
        ("movie id", "item_id", I32),
        ("movie title", "title", STR),
        ("release date", "release_date", STR),
        ("video release date", "video_date", STR),
        ("IMDb URL", "imdb_url", STR),
    ),
}
_ML100K_SEPARATORS = {"ratings": "\t", "users": "|", "genres": "|", "movies": "|"}

# ml-1m users.dat codes occupations (README of ml-1m); ages stay the README's bucket codes.
ML1M_OCCUPATIONS = (
    "other",
    "academic/educator",
    "artist",
    "clerical/admin",
    "college/grad student",
    "customer service",
    "doctor/health care",
    "executive/managerial",
    "farmer",
    "homemaker",
    "K-12 student",
    "lawyer",
    "programmer",
    "retired",
    "sales/marketing",
    "scientist",
    "self-employed",
    "technician/engineer",
    "tradesman/craftsman",
    "unemployed",
    "writer",
)
NO_GENRES = ("(no genres listed)", "unknown", "")
_YEAR = r"\s*\((\d{4})(?:\s*[-\u2013]\s*\d{0,4})?\)\s*$"


def split_title(title: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """``"Toy Story (1995)"`` -> (``"Toy Story"``, 1995); no trailing year gives a null year."""
    clean = title.str.replace(_YEAR, "").str.strip_chars().alias("title")
    year = title.str.extract(_YEAR, 1).cast(I32).alias("year")
    return clean, year


def _error_summary(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def _source(path: Path, encodings: tuple[str, ...]) -> Path | io.BytesIO:
    """The file as UTF-8 for polars: the path itself when already UTF-8, else re-encoded bytes."""
    if encodings == ("utf-8",):
        return path
    raw = path.read_bytes()
    if raw.isascii():
        return io.BytesIO(raw)
    text, encoding = _decode(raw, path, encodings)
    return io.BytesIO(raw if encoding == "utf-8" else text.encode("utf-8"))


def _decode(raw: bytes, path: Path, encodings: tuple[str, ...]) -> tuple[str, str]:
    """``raw`` as text in the first of ``encodings`` that decodes it, and that encoding."""
    for encoding in encodings:
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise DataError(f"Cannot decode {path}: not valid {' or '.join(encodings)}")


def _header(path: Path) -> list[str]:
    with open(path, "rb") as handle:
        line = handle.readline(1 << 16)
    try:
        text = line.decode("utf-8").lstrip("\ufeff").rstrip("\r\n")
    except UnicodeDecodeError as error:
        raise DataError(f"Cannot decode the header of {path}: not valid UTF-8") from error
    return text.split(",")


def _trailing_empty(found: list[str], expected: int) -> int:
    """How many empty fields follow the ``expected`` ones (0 when there are none)."""
    extra = found[expected:]
    return len(extra) if extra and all(f.strip() == "" for f in extra) else 0


def _check_columns(path: Path, columns: tuple[Column, ...], found: list[str]) -> int:
    """Number of unnamed trailing columns after the expected header; DataError when names differ.

    Older ml-latest-small editions end every line with empty fields
    (``userId,movieId,rating,timestamp,,,,``): those columns are accepted and dropped.
    """
    expected = [c.source for c in columns]
    if found == [""]:
        raise DataError(f"{path} is empty: expected a header line with columns {expected}")
    trailing = _trailing_empty(found, len(expected))
    if found[: len(found) - trailing] != expected:
        raise DataError(f"{path}: expected columns {expected}, found {found}"
                        f"{_header_hint(found, expected)}")
    return trailing


def _header_hint(found: list[str], expected: list[str]) -> str:
    """Why a header differs, when it is a common slip: another separator, order or case."""
    plain = [name.strip() for name in found]
    for separator in (";", "\t", "|"):
        if len(found) == 1 and [n.strip() for n in found[0].split(separator)] == expected:
            return f" (the file is separated by {separator!r}; MovieLens CSV files use commas)"
    if [name.lower() for name in plain] == [name.lower() for name in expected]:
        return " (the names differ in case or spaces; MovieLens spells them as expected)"
    if sorted(plain) == sorted(expected):
        return " (the same columns in another order)"
    return ""


def _first_record(path: Path, separator: str, encodings: tuple[str, ...]) -> list[str]:
    """The fields of the first non-blank line of a headerless file."""
    with open(path, "rb") as handle:
        for raw in handle:
            line = raw.rstrip(b"\r\n")
            if line.strip():
                return _decode(line, path, encodings)[0].split(separator)
    return []


def _drop_trailing(path: Path, frame: pl.DataFrame, names: list[str]) -> pl.DataFrame:
    """Drop unnamed trailing columns, which must be empty on every line."""
    filled = [n for n in names if frame[n].drop_nulls().str.strip_chars().str.len_chars().sum()]
    if filled:
        raise DataError(
            f"{path}: {len(filled)} unnamed trailing column(s) hold values; expected them empty"
        )
    return frame.drop(names)


def _check_last_column(path: Path, frame: pl.DataFrame, columns: tuple[Column, ...]) -> None:
    last = columns[-1].name
    if frame.height and frame[last].null_count() == frame.height:
        expected = [c.source for c in columns]
        raise DataError(
            f"{path}: expected {len(expected)} columns {expected}, found fewer "
            f"(column {columns[-1].source!r} is empty on every line)"
        )


def read_delimited(
    path: Path,
    columns: tuple[Column, ...],
    *,
    separator: str = ",",
    header: bool = True,
    encodings: tuple[str, ...] = ("utf-8",),
    notes: dict[str, int] | None = None,
) -> pl.DataFrame:
    """Read a single-character-separated file with explicit dtypes into canonical column names.

    Empty trailing columns are dropped; their number is recorded in ``notes[path.name]``.
    """
    schema = {c.name: c.dtype for c in columns}
    if header:
        trailing = _check_columns(path, columns, _header(path))
    else:
        trailing = _trailing_empty(_first_record(path, separator, encodings), len(columns))
    extra = [f"_trailing{i}" for i in range(trailing)]
    schema.update(dict.fromkeys(extra, STR))
    try:
        frame = pl.read_csv(
            _source(path, encodings),
            has_header=header,
            new_columns=list(schema) if header else None,
            schema=None if header else schema,
            schema_overrides=schema if header else None,
            separator=separator,
            quote_char='"' if separator == "," else None,
            encoding="utf8",
        )
    except pl.exceptions.PolarsError as error:
        raise DataError(_parse_error(path, columns, error)) from error
    if extra:
        frame = _drop_trailing(path, frame, extra)
        _note(notes, path, trailing)
    return _drop_blank_lines(path, frame)


def _note(notes: dict[str, int] | None, path: Path, trailing: int) -> None:
    log.info("%s: dropped %d empty trailing column(s)", path, trailing)
    if notes is not None:
        notes[path.name] = trailing


def _parse_error(path: Path, columns: tuple[Column, ...], error: Exception) -> str:
    expected = f"expected {len(columns)} columns {[c.source for c in columns]}"
    if "invalid utf-8" in str(error).lower():
        return _not_utf8(path)
    if "n_missing" in str(error):
        return f"{path}: {expected}, found fewer"
    if "more fields" in str(error) or "n_extra" in str(error):
        return f"{path}: {expected}, found more on at least one line"
    ending = (" (a field ends with a carriage return: the line endings are doubled, CR CR "
              "LF, or mixed)") if "\r" in str(error) else ""
    return f"Cannot parse {path} ({expected}): {_error_summary(error)}{ending}"


def _not_utf8(path: Path) -> str:
    """Where ``path`` stops being UTF-8 (line and byte), and how to convert it."""
    raw = path.read_bytes()
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        return (
            f"{path} is not UTF-8: line {line:,} holds byte 0x{raw[error.start]:02X}, which "
            "UTF-8 does not allow there. MovieLens CSV files are UTF-8; a copy saved in "
            f"another encoding must be converted back, e.g. `iconv -f latin1 -t utf-8 "
            f"{path.name} > {path.stem}-utf8{path.suffix}`"
        )
    return f"{path} is not UTF-8"


def _drop_blank_lines(path: Path, frame: pl.DataFrame) -> pl.DataFrame:
    """Blank lines read as all-null rows; they are not records (u.genre ends with one, and an
    edited CSV often ends with a few)."""
    blank = pl.all_horizontal(pl.all().is_null())
    n_blank = int(frame.select(blank.sum()).item())
    if n_blank:
        log.info("%s: skipped %d blank line(s)", path, n_blank)
    return frame.filter(~blank) if n_blank else frame


def read_double_colon(
    path: Path,
    columns: tuple[Column, ...],
    encodings: tuple[str, ...],
    notes: dict[str, int] | None = None,
) -> pl.DataFrame:
    """Read a ``::``-separated ``.dat`` file (no header, no quoting) into canonical columns.

    Empty fields after the last expected one (``1::31::2.5::1260759144::``) are dropped and
    counted in ``notes[path.name]``; a non-empty extra field is an error.
    """
    try:
        lines = pl.read_csv(
            _source(path, encodings),
            has_header=False,
            separator="\x1f",
            quote_char=None,
            schema={"line": STR},
            encoding="utf8",
        )
    except pl.exceptions.PolarsError as error:
        raise DataError(f"Cannot read {path}: {_error_summary(error)}") from error
    lines = _drop_blank_lines(path, lines.with_columns(pl.col("line").replace("", None)))
    parts = lines["line"].str.split("::")
    extra = parts.list.slice(len(columns)).list.eval(pl.element().str.strip_chars() != "")
    too_many = extra.list.any().fill_null(False).arg_true()
    if len(too_many):
        row = int(too_many[0])
        raise DataError(
            f"{path}: expected {len(columns)} columns {[c.source for c in columns]}, "
            f"found {int(parts.list.len()[row])} on line {row + 1}"
        )
    trailing = int(parts.list.len().max() or 0) - len(columns)
    if trailing > 0:
        _note(notes, path, trailing)
    fields = parts.to_frame("parts").select(
        pl.col("parts").list.get(i, null_on_oob=True).alias(c.name) for i, c in enumerate(columns)
    )
    try:
        frame = fields.select(pl.col(c.name).cast(c.dtype, strict=True) for c in columns)
    except pl.exceptions.PolarsError as error:
        raise DataError(f"Cannot parse {path}: {_error_summary(error)}") from error
    _check_last_column(path, frame, columns)
    return frame


def _finish_movies(frame: pl.DataFrame) -> pl.DataFrame:
    title, year = split_title(pl.col("title"))
    genres = pl.col("genres").str.split("|").list.filter(~pl.element().is_in(NO_GENRES))
    return frame.select(pl.col("item_id"), title, year, genres.alias("genres"))


def _finish(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Bring a raw-typed frame to the canonical schema of ``table``."""
    if table == "movies" and frame.schema["genres"] == STR:
        frame = _finish_movies(frame)
    return frame.select(pl.col(n).cast(t) for n, t in SCHEMAS[table].items())


def _ml100k_movies(
    path: Path, genre_path: Path, encodings: tuple[str, ...], notes: dict[str, int] | None
) -> pl.DataFrame:
    genres = (
        read_delimited(
            genre_path, _ML100K["genres"], separator="|", header=False, encodings=encodings
        )
        .sort("genre_id")["genre"]
        .to_list()
    )
    flags = tuple(Column(g, f"g{i}", pl.Int8()) for i, g in enumerate(genres))
    columns = _ML100K["movies"] + flags
    frame = read_delimited(
        path, columns, separator="|", header=False, encodings=encodings, notes=notes
    )
    title, year = split_title(pl.col("title"))
    release_year = pl.col("release_date").str.extract(r"(\d{4})\s*$", 1).cast(I32)
    names = pl.concat_list(
        pl.when(pl.col(f.name) == 1).then(pl.lit(f.source)).otherwise(None) for f in flags
    )
    genre_list = names.list.drop_nulls().list.filter(~pl.element().is_in(NO_GENRES))
    return frame.select(
        pl.col("item_id"),
        title,
        year.fill_null(release_year),
        genre_list.alias("genres"),
    )


def _filename(release: Release, table: str) -> str:
    spec = release.table_file(table)
    if spec is None:
        raise DataError(f"Release {release.name} has no {table!r} file")
    return spec.filename


def parse_table(
    release: Release, table: str, folder: Path, notes: dict[str, int] | None = None
) -> pl.DataFrame:
    """Parse one canonical ``table`` of ``release`` from its raw file under ``folder``.

    ``notes`` collects, per raw file name, the number of empty trailing columns dropped.
    """
    if table not in SCHEMAS:
        raise DataError(f"Unknown table {table!r}: expected one of {', '.join(SCHEMAS)}")
    path = folder / _filename(release, table)
    if not path.is_file():
        raise DataError(f"{release.name}: required file {path} is missing")
    if release.layout is Layout.CSV:
        frame = read_delimited(path, _CSV[table], encodings=release.encodings, notes=notes)
    elif release.layout is Layout.DAT:
        frame = read_double_colon(path, _DAT[table], release.encodings, notes)
        if table == "users":
            frame = frame.with_columns(
                pl.col("occupation").replace_strict(
                    list(range(len(ML1M_OCCUPATIONS))),
                    ML1M_OCCUPATIONS,
                    default=None,
                    return_dtype=STR,
                )
            )
    elif table == "movies":
        genre_path = folder / _filename(release, "genres")
        frame = _ml100k_movies(path, genre_path, release.encodings, notes)
    else:
        frame = read_delimited(
            path,
            _ML100K[table],
            separator=_ML100K_SEPARATORS[table],
            header=False,
            encodings=release.encodings,
            notes=notes,
        )
    return _finish(table, frame)


def parse_release(
    release: Release, folder: Path, notes: dict[str, int] | None = None
) -> dict[str, pl.DataFrame]:
    """Every canonical table the release has (optional files that are absent are skipped).

    ``notes`` collects, per raw file name, the number of empty trailing columns dropped.
    """
    tables = {}
    for spec in release.tables:
        if spec.table not in SCHEMAS or not (spec.required or (folder / spec.filename).exists()):
            continue
        tables[spec.table] = parse_table(release, spec.table, folder, notes)
        log.debug("parsed %s/%s: %d rows", release.name, spec.filename, tables[spec.table].height)
    return tables
