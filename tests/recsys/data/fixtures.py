"""Tiny files shaped exactly like each MovieLens release, with hand-known contents.

Every release gets the same logical data (3 users, 4 movies, 6 ratings) written in its own
format and quirks: header or none, ``,`` / ``::`` / tab / ``|`` separators, quoted titles with
commas, Latin-1 text, genre flags, ``(no genres listed)``, titles without a year.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from recsys.data.releases import get_release

# (user, movie, rating, timestamp); ratings are whole stars so every scale accepts them.
RATINGS = [
    (1, 1, 4.0, 964982703),
    (1, 2, 3.0, 964981247),
    (1, 3, 5.0, 964982224),
    (2, 1, 5.0, 1445714994),
    (2, 4, 1.0, 1445714996),
    (3, 2, 2.0, 1230000000),
]
# (movie, title, year, genres)
MOVIES = [
    (1, "Toy Story", 1995, ["Adventure", "Animation", "Comedy"]),
    (2, "City of Lost Children, The (Cité des enfants perdus, La)", 1995, ["Drama", "Sci-Fi"]),
    (3, "Hyena Road", None, []),
    (4, 'Dr. Strangelove or: How I Learned to Stop Worrying, "Bomb"', 1964, ["Comedy", "War"]),
]
TAGS = [(2, 1, "funny", 1445714994), (2, 4, "dark comedy, satire", 1445714996)]
LINKS = [(1, "0114709", "862"), (2, "0112682", "902"), (3, "5047494", ""), (4, "0057012", "935")]
GENOME_TAGS = [(1, "007"), (2, "action, cool")]
# (user, gender, ml-1m age code, ml-1m occupation code, ml-100k age, ml-100k occupation, zip)
USERS = [
    (1, "F", 1, 10, 17, "student", "48067"),
    (2, "M", 56, 16, 61, "retired", "70072"),
    (3, "M", 25, 15, 33, "scientist", "T8H1N"),
]
ML100K_GENRES = [
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance",
    "Sci-Fi", "Thriller", "War", "Western",
]  # fmt: skip


def _title(movie: tuple) -> str:
    _, title, year, _ = movie
    return title if year is None else f"{title} ({year})"


def _genres(movie: tuple) -> str:
    return "|".join(movie[3]) or "(no genres listed)"


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"') else text


def _write(path: Path, lines: list[str], encoding: str = "utf-8") -> None:
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))


def _csv_release(folder: Path, genome: bool) -> None:
    _write(
        folder / "ratings.csv",
        ["userId,movieId,rating,timestamp"] + [f"{u},{m},{r},{t}" for u, m, r, t in RATINGS],
    )
    _write(
        folder / "movies.csv",
        ["movieId,title,genres"] + [f"{m[0]},{_quote(_title(m))},{_genres(m)}" for m in MOVIES],
    )
    _write(
        folder / "tags.csv",
        ["userId,movieId,tag,timestamp"] + [f"{u},{m},{_quote(t)},{s}" for u, m, t, s in TAGS],
    )
    _write(
        folder / "links.csv",
        ["movieId,imdbId,tmdbId"]
        + [",".join(row) for row in [(str(a), b, c) for a, b, c in LINKS]],
    )
    (folder / "README.txt").write_text("Summary\n=======\nA tiny fixture.\n")
    if genome:
        _write(
            folder / "genome-scores.csv",
            ["movieId,tagId,relevance"]
            + [f"{m},{t},{0.025 * m * t}" for m in range(1, 5) for t, _ in GENOME_TAGS],
        )
        _write(
            folder / "genome-tags.csv",
            ["tagId,tag"] + [f"{t},{_quote(tag)}" for t, tag in GENOME_TAGS],
        )


def _dat_release(folder: Path, encoding: str, with_tags: bool, with_users: bool) -> None:
    _write(folder / "ratings.dat", [f"{u}::{m}::{r:g}::{t}" for u, m, r, t in RATINGS])
    _write(folder / "movies.dat", [f"{m[0]}::{_title(m)}::{_genres(m)}" for m in MOVIES], encoding)
    if with_tags:
        _write(folder / "tags.dat", [f"{u}::{m}::{t}::{s}" for u, m, t, s in TAGS], encoding)
    if with_users:
        _write(
            folder / "users.dat",
            [f"{u}::{g}::{age}::{occ}::{z}" for u, g, age, occ, _, _, z in USERS],
        )


def _ml100k_release(folder: Path) -> None:
    _write(folder / "u.data", [f"{u}\t{m}\t{r:g}\t{t}" for u, m, r, t in RATINGS])
    _write(folder / "u.genre", [f"{g}|{i}" for i, g in enumerate(ML100K_GENRES)] + [""])
    items = []
    for movie in MOVIES:
        flags = ["1" if g in movie[3] else "0" for g in ML100K_GENRES]
        flags[0] = "0" if movie[3] else "1"
        date = f"01-Jan-{movie[2]}" if movie[2] else ""
        url = f"http://us.imdb.com/M/title-exact?{_title(movie).replace(' ', '%20')}"
        items.append("|".join([str(movie[0]), _title(movie), date, "", url, *flags]))
    _write(folder / "u.item", items, "latin-1")
    _write(folder / "u.user", [f"{u}|{age}|{g}|{occ}|{z}" for u, g, _, _, age, occ, z in USERS])
    _write(
        folder / "u.info",
        [f"{len(USERS)} users", f"{len(MOVIES)} items", f"{len(RATINGS)} ratings"],
    )


def write_release(name: str, root: Path) -> Path:
    """Write a tiny copy of release ``name`` into ``root/<its zip folder>/``; return that folder."""
    release = get_release(name)
    folder = root / release.folder
    folder.mkdir(parents=True, exist_ok=True)
    if name == "ml-100k":
        _ml100k_release(folder)
    elif name == "ml-1m":
        _dat_release(folder, "latin-1", with_tags=False, with_users=True)
    elif name == "ml-10m":
        _dat_release(folder, "utf-8", with_tags=True, with_users=False)
    else:
        _csv_release(folder, genome=release.has_genome)
        if name == "ml-32m":
            (folder / "checksums.txt").write_text("fixture checksums\n")
    return folder


def build_zip(folder: Path, archive: Path) -> Path:
    """Zip ``folder`` the way GroupLens does: every file under the folder's own name."""
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr(f"{folder.name}/", "")
        for path in sorted(folder.rglob("*")):
            bundle.write(path, f"{folder.name}/{path.relative_to(folder).as_posix()}")
    return archive
