"""A MovieLens-shaped synthetic release, for scale tests and offline demos.

The output has the ml-latest / ml-20m CSV layout (``ratings.csv``, ``movies.csv``, ``tags.csv``,
``links.csv``) plus ``SYNTHETIC.json``, so it goes through the same loader as a real release.
What makes it MovieLens-like:

- long-tailed item popularity (Zipf-like ranks with log-normal jitter) and user activity
  (log-normal above a floor of 20 ratings per user when ``n_ratings`` allows);
- no duplicate (user, movie) pair; half-star ratings 0.5–5 (some users use whole stars only);
- timestamps spread over the 20 years of ml-20m (1995–2015), each user active for a while;
- a latent taste structure that models can learn: rating = mean + user bias + item bias
  + user factors · item factors + noise, where item factors derive from the movie's genres
  (so content models learn too) and tags follow the genres.

Everything is vectorised NumPy; the full ml-20m shape takes seconds and well under 2 GB.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from recsys.arguments import check_count, check_flag, check_path
from recsys.errors import ConfigError
from recsys.io import atomic_dir, write_json

__all__ = ["GENRES", "OFFICIAL_SHAPES", "generate_synthetic", "is_generated",
           "write_synthetic_release"]

log = logging.getLogger(__name__)

# The official large releases' users, movies (ml-25m: 62,423 of which 59,047 rated) and
# ratings: what `recsys data synth --like NAME` generates.
OFFICIAL_SHAPES: dict[str, dict[str, int]] = {
    "ml-20m": {"n_users": 138_493, "n_items": 26_744, "n_ratings": 20_000_263},
    "ml-25m": {"n_users": 162_541, "n_items": 62_423, "n_ratings": 25_000_095},
    "ml-32m": {"n_users": 200_948, "n_items": 87_585, "n_ratings": 32_000_204},
}
# The 19 MovieLens genres with their number of movies in ml-20m (used as prevalence weights).
GENRE_WEIGHTS: dict[str, int] = {
    "Action": 3520, "Adventure": 2329, "Animation": 1027, "Children": 1139, "Comedy": 8374,
    "Crime": 2939, "Documentary": 2471, "Drama": 13344, "Fantasy": 1412, "Film-Noir": 330,
    "Horror": 2611, "IMAX": 196, "Musical": 1036, "Mystery": 1514, "Romance": 4127,
    "Sci-Fi": 1743, "Thriller": 4178, "War": 1194, "Western": 676,
}  # fmt: skip
GENRES: tuple[str, ...] = tuple(GENRE_WEIGHTS)
GENRE_TAGS: dict[str, tuple[str, ...]] = {
    "Action": ("action", "explosions", "car chase"), "Adventure": ("adventure", "epic", "quest"),
    "Animation": ("animation", "pixar", "stop motion"), "Children": ("family", "kids", "disney"),
    "Comedy": ("funny", "hilarious", "satire"), "Crime": ("heist", "mafia", "gangsters"),
    "Documentary": ("documentary", "true story", "history"),
    "Drama": ("emotional", "character study", "bittersweet"),
    "Fantasy": ("magic", "fairy tale", "dragons"), "Film-Noir": ("noir", "femme fatale", "1940s"),
    "Horror": ("scary", "gore", "creepy"), "IMAX": ("imax", "visually stunning", "3d"),
    "Musical": ("musical", "great soundtrack", "dancing"), "Mystery": ("twist ending", "whodunit",
    "suspense"), "Romance": ("romantic", "love story", "chick flick"),
    "Sci-Fi": ("sci-fi", "space", "dystopia"), "Thriller": ("tense", "psychological", "thriller"),
    "War": ("war", "world war ii", "anti-war"), "Western": ("western", "cowboys", "wild west"),
}  # fmt: skip
GENERIC_TAGS = ("classic", "overrated", "must see", "boring", "based on a book", "dvd")
NO_GENRES = "(no genres listed)"

FIRST_TIMESTAMP, LAST_TIMESTAMP = 789_652_009, 1_427_784_002  # ml-20m: 1995-01-09 .. 2015-03-31
MIN_USER_RATINGS = 20  # like ml-20m: every user rated at least 20 movies
MAX_USER_SHARE = 0.35  # ml-20m's heaviest user rated 9,254 of 26,744 movies
N_FACTORS = 8
GLOBAL_MEAN = 3.55
GENOME_SHARE = 0.4  # ml-20m: 10,381 of its 27,278 movies have genome scores (the rated ones)
TAG_SHARE, TAGGER_SHARE = 0.023, 0.056  # ml-20m: 465k tags / 20M ratings, 7.8k of 138k users tag
SAMPLING_ROUNDS = 60
GUIDE_TABLE = 1 << 22
CHUNK = 1_000_000


def generate_synthetic(
    n_users: int, n_items: int, n_ratings: int, seed: int = 42, genome: bool = False
) -> dict[str, pl.DataFrame]:
    """Frames ``ratings``, ``movies``, ``tags``, ``links`` in the ml-latest CSV column layout
    (``userId``, ``movieId``, ...), plus ``genome_scores`` and ``genome_tags`` (the ml-20m /
    ml-25m Tag Genome layout) when ``genome``. Deterministic for a seed; the genome does not
    change the other frames."""
    n_users, n_items, n_ratings = (check_count(value, name) for value, name in (
        (n_users, "n_users"), (n_items, "n_items"), (n_ratings, "n_ratings")))
    seed, genome = check_count(seed, "seed"), check_flag(genome, "genome")
    _check_shape(n_users, n_items, n_ratings)
    rng = np.random.default_rng(seed)
    movie_ids = np.sort(rng.choice(5 * n_items, size=n_items, replace=False) + 1).astype(np.int32)
    genre_matrix = _genre_matrix(rng, n_items)
    popularity = _item_popularity(rng, n_items)
    counts = _user_activity(rng, n_users, n_items, n_ratings)
    users, items = _sample_pairs(rng, counts, popularity)
    ratings = pl.DataFrame(
        {
            "userId": (users + 1).astype(np.int32),
            "movieId": movie_ids[items],
            "rating": _ratings(rng, users, items, genre_matrix, popularity, n_users),
            "timestamp": _timestamps(rng, users, n_users),
        }
    )
    frames = {
        "ratings": ratings,
        "movies": _movies(rng, movie_ids, genre_matrix),
        "tags": _tags(rng, ratings, genre_matrix, movie_ids),
        "links": _links(rng, movie_ids),
    }
    if genome:
        frames |= _genome(rng, movie_ids, genre_matrix, popularity)
    return frames


def is_generated(folder: Path | str, n_users: int, n_items: int, n_ratings: int,
                 seed: int) -> bool:
    """Whether ``folder`` holds a synthetic release of exactly this shape and seed (so that a
    benchmark can reuse it instead of generating it again)."""
    card = Path(folder) / "SYNTHETIC.json"
    if not card.exists():
        return False
    meta = json.loads(card.read_text(encoding="utf-8"))
    wanted = {"n_users": n_users, "n_items": n_items, "n_ratings": n_ratings}
    return meta.get("params") == wanted and meta.get("seed") == seed


def write_synthetic_release(
    target_dir: Path | str, n_users: int, n_items: int, n_ratings: int, seed: int = 42,
    genome: bool = False,
) -> Path:
    """Generate and write a synthetic release folder atomically; return its path.

    Files: ``ratings.csv``, ``movies.csv``, ``tags.csv``, ``links.csv`` (ml-latest layout),
    ``genome-scores.csv`` and ``genome-tags.csv`` when ``genome``, and ``SYNTHETIC.json``
    (generator params and seed, ``"synthetic": true``). An existing folder is replaced; an
    existing file is refused.
    """
    target = check_path(target_dir, "target_dir", "a folder path")
    frames = generate_synthetic(n_users, n_items, n_ratings, seed, genome)
    with atomic_dir(target) as tmp:
        for name, frame in frames.items():
            frame.write_csv(tmp / f"{name.replace('_', '-')}.csv")
        write_json(tmp / "SYNTHETIC.json", _card(frames, n_users, n_items, n_ratings, seed))
    log.info("wrote synthetic release %s (%d ratings)", target, n_ratings)
    return target


def _card(
    frames: dict[str, pl.DataFrame], n_users: int, n_items: int, n_ratings: int, seed: int
) -> dict[str, Any]:
    return {
        "synthetic": True,
        "generator": "recsys.data.synth.generate_synthetic",
        "seed": seed,
        "params": {"n_users": n_users, "n_items": n_items, "n_ratings": n_ratings},
        "rows": {name: frame.height for name, frame in frames.items()},
        "layout": "ml-latest",
    }


def _check_shape(n_users: int, n_items: int, n_ratings: int) -> None:
    if min(n_users, n_items) < 1 or n_ratings < n_users:
        raise ConfigError(
            f"synthetic shape users={n_users}, items={n_items}, ratings={n_ratings}: expected "
            "at least one user and one item, and at least one rating per user"
        )
    capacity = n_users * _max_per_user(n_items)
    if n_ratings > capacity:
        raise ConfigError(
            f"synthetic shape: {n_ratings:,} ratings exceed {capacity:,} ({n_users:,} users × "
            f"at most {MAX_USER_SHARE:.0%} of {n_items:,} items); expected a sparse, "
            "MovieLens-like density"
        )


def _max_per_user(n_items: int) -> int:
    return max(1, int(MAX_USER_SHARE * n_items))


# --------------------------------------------------------------------------- catalogue


def _genre_matrix(rng: np.random.Generator, n_items: int) -> np.ndarray:
    """Boolean items × genres: 1–3 distinct genres per movie, by ml-20m prevalence; ~1% none."""
    weights = np.array(list(GENRE_WEIGHTS.values()), dtype=np.float64)
    keys = np.log(rng.random((n_items, len(GENRES)))) / weights  # Efraimidis–Spirakis
    rank = np.argsort(np.argsort(-keys, axis=1), axis=1)
    n_genres = rng.choice([0, 1, 2, 3], size=n_items, p=[0.01, 0.39, 0.35, 0.25])
    return rank < n_genres[:, None]


def _movies(rng: np.random.Generator, movie_ids: np.ndarray, genres: np.ndarray) -> pl.DataFrame:
    years = np.clip(2015 - rng.exponential(18.0, size=len(movie_ids)).astype(np.int64), 1902, 2015)
    item_idx, genre_idx = np.nonzero(genres)  # row-major: genres alphabetical within a movie
    genre_lists = (
        pl.DataFrame({"i": item_idx, "genre": np.array(GENRES)[genre_idx]})
        .group_by("i", maintain_order=True)
        .agg(pl.col("genre").str.join("|"))
    )
    return (
        pl.DataFrame({"i": np.arange(len(movie_ids)), "movieId": movie_ids, "year": years})
        .join(genre_lists, on="i", how="left")
        .sort("i")
        .select(
            "movieId",
            pl.format("Synthetic Movie {} ({})", "movieId", "year").alias("title"),
            pl.col("genre").fill_null(NO_GENRES).alias("genres"),
        )
    )


def _links(rng: np.random.Generator, movie_ids: np.ndarray) -> pl.DataFrame:
    n = len(movie_ids)
    imdb = rng.choice(9_000_000, size=n, replace=False) + 100_000
    tmdb = rng.choice(900_000, size=n, replace=False) + 1
    return pl.DataFrame({"movieId": movie_ids, "imdb": imdb, "tmdbId": tmdb}).select(
        "movieId",
        pl.col("imdb").cast(pl.String).str.pad_start(7, "0").alias("imdbId"),
        pl.when(pl.Series(rng.random(n) < 0.01)).then(None).otherwise(pl.col("tmdbId"))
        .alias("tmdbId"),
    )  # fmt: skip


# --------------------------------------------------------------------------- interactions


def _item_popularity(rng: np.random.Generator, n_items: int) -> np.ndarray:
    """Zipf-like sampling weights (rank^-2 with an offset, log-normal jitter), random item order."""
    ranks = np.arange(1, n_items + 1, dtype=np.float64)
    weights = (ranks + 0.004 * n_items) ** -2.0 * np.exp(1.0 * rng.standard_normal(n_items))
    weights = np.minimum(weights / weights.sum(), 0.0035)  # the top ml-20m movie has 0.34%
    return rng.permutation(weights / weights.sum())


def _user_activity(
    rng: np.random.Generator, n_users: int, n_items: int, n_ratings: int
) -> np.ndarray:
    """Ratings per user: a floor of 20 (or what ``n_ratings`` allows) plus a log-normal tail
    (ml-20m: median 68, mean 144), capped, summing exactly to ``n_ratings``."""
    cap = _max_per_user(n_items)
    floor = min(MIN_USER_RATINGS, n_ratings // n_users, cap)
    weights = rng.lognormal(np.log(48.0), 1.38, size=n_users)
    counts = np.full(n_users, floor, dtype=np.int64)
    while (left := n_ratings - counts.sum()) > 0:
        room = cap - counts
        share = np.where(room > 0, weights, 0.0)
        extra = np.minimum(np.floor(left * share / share.sum()).astype(np.int64), room)
        if extra.sum() == 0:  # hand out the last few one by one to random users with room
            extra[rng.choice(np.flatnonzero(room > 0), size=left, replace=False)] = 1
        counts += extra
    return counts


def _sample_pairs(
    rng: np.random.Generator, counts: np.ndarray, popularity: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (user, item) index pairs, ``counts[u]`` per user, items drawn by popularity.

    Each round draws the missing items of every user and drops pairs already taken; later
    rounds flatten the popularity (p^(0.9^r)) so that heavy users reach the tail in a few
    rounds. Returns the pairs sorted by user, then item.
    """
    n_users, n_items = len(counts), len(popularity)
    blocks: list[np.ndarray] = []  # disjoint sorted blocks of keys user * n_items + item
    deficit = counts.copy()
    for round_ in range(SAMPLING_ROUNDS):
        users = np.repeat(np.arange(n_users, dtype=np.int64), deficit)
        items = _draw(rng, popularity ** (0.9**round_), len(users))
        keys = _sorted_unique(users * n_items + items)
        for block in blocks:
            keys = keys[~_contains(block, keys)]
        if keys.size:
            blocks.append(keys)
        deficit -= np.bincount(keys // n_items, minlength=n_users)
        if not deficit.any():
            log.debug("sampled %d pairs in %d rounds", counts.sum(), round_ + 1)
            taken = _sorted_unique(np.concatenate(blocks))
            return taken // n_items, taken % n_items
    raise RuntimeError(f"pair sampling left {deficit.sum()} ratings unplaced")  # pragma: no cover


def _draw(rng: np.random.Generator, weights: np.ndarray, size: int) -> np.ndarray:
    """``size`` item indices drawn with replacement in proportion to ``weights``.

    Inverse-CDF sampling; for big batches with a guide table (Chen & Asau) that jumps to within
    a step or two of the answer, several times faster than a binary search per draw.
    """
    cdf = np.cumsum(weights)
    cdf /= cdf[-1]
    cdf[-1] = 1.0
    uniform = rng.random(size)
    if size < GUIDE_TABLE:  # building the table would cost more than it saves
        return np.searchsorted(cdf, uniform, side="right")
    table = np.searchsorted(cdf, np.arange(GUIDE_TABLE) / GUIDE_TABLE, side="right")
    index = table[(uniform * GUIDE_TABLE).astype(np.int64)]
    pending = np.flatnonzero(cdf[index] <= uniform)
    while pending.size:
        index[pending] += 1
        pending = pending[cdf[index[pending]] <= uniform[pending]]
    return index


def _sorted_unique(keys: np.ndarray) -> np.ndarray:
    keys.sort()  # np.unique's hash path is several times slower on 20M int64 keys
    return keys[np.r_[True, keys[1:] != keys[:-1]]]


def _contains(sorted_keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    pos = np.minimum(np.searchsorted(sorted_keys, values), len(sorted_keys) - 1)
    return sorted_keys[pos] == values


def _ratings(
    rng: np.random.Generator,
    users: np.ndarray,
    items: np.ndarray,
    genres: np.ndarray,
    popularity: np.ndarray,
    n_users: int,
) -> np.ndarray:
    """Latent-factor ratings, rounded to half stars (whole stars for 45% of users)."""
    n_items = len(popularity)
    genre_vectors = rng.standard_normal((len(GENRES), N_FACTORS))
    n_genres = np.maximum(genres.sum(axis=1, keepdims=True), 1)
    item_factors = 0.8 * (genres @ genre_vectors) / np.sqrt(n_genres)
    item_factors += 0.4 * rng.standard_normal((n_items, N_FACTORS))
    user_factors = rng.standard_normal((n_users, N_FACTORS)) * (0.75 / np.sqrt(N_FACTORS))
    item_factors, user_factors = item_factors.astype(np.float32), user_factors.astype(np.float32)
    log_pop = np.log(popularity)
    item_bias = 0.35 * rng.standard_normal(n_items)
    item_bias += 0.25 * (log_pop - log_pop.mean()) / max(float(log_pop.std()), 1e-9)
    item_bias -= np.bincount(items, minlength=n_items) @ item_bias / len(items)  # mean stays
    user_bias = 0.45 * rng.standard_normal(n_users)
    half_stars = rng.random(n_users) < 0.55
    out = np.empty(len(users), dtype=np.float32)
    for start in range(0, len(users), CHUNK):
        u, i = users[start : start + CHUNK], items[start : start + CHUNK]
        taste = np.einsum("ij,ij->i", user_factors[u], item_factors[i])
        raw = GLOBAL_MEAN + user_bias[u] + item_bias[i] + taste
        raw += 0.6 * rng.standard_normal(len(u), dtype=np.float32)
        step = np.where(half_stars[u], 2.0, 1.0)
        out[start : start + CHUNK] = np.clip(np.round(raw * step) / step, 1.0 / step, 5.0)
    return out


def _timestamps(rng: np.random.Generator, users: np.ndarray, n_users: int) -> np.ndarray:
    """Each user is active from a random start for a log-normal while (median a day, some for
    years), inside the ml-20m window; ratings fall uniformly in that period."""
    start = rng.integers(FIRST_TIMESTAMP, LAST_TIMESTAMP, size=n_users)
    span = np.minimum(rng.lognormal(np.log(86_400.0), 3.0, size=n_users), LAST_TIMESTAMP - start)
    return start[users] + (rng.random(len(users)) * span[users]).astype(np.int64)


def _tags(
    rng: np.random.Generator, ratings: pl.DataFrame, genres: np.ndarray, movie_ids: np.ndarray
) -> pl.DataFrame:
    """Free-text tags by a few users on movies they rated; words follow the movie's genres."""
    user_ids = ratings["userId"].unique().to_numpy()
    taggers = rng.choice(user_ids, size=max(1, int(TAGGER_SHARE * len(user_ids))), replace=False)
    pool = ratings.filter(pl.col("userId").is_in(taggers.tolist()))
    picked = pool[rng.integers(0, pool.height, size=max(1, int(TAG_SHARE * ratings.height)))]
    items = np.searchsorted(movie_ids, picked["movieId"].to_numpy())
    item_genres = genres[items]
    genre = np.argmax(np.where(item_genres, rng.random(item_genres.shape), -1.0), axis=1)
    per_genre = len(GENRE_TAGS[GENRES[0]])
    word = genre * per_genre + rng.integers(0, per_genre, size=len(items))
    generic = (rng.random(len(items)) < 0.2) | ~item_genres.any(axis=1)
    n_generic = int(generic.sum())
    word[generic] = len(GENRES) * per_genre + rng.integers(0, len(GENERIC_TAGS), n_generic)
    vocabulary = pl.Series("tag", [w for g in GENRES for w in GENRE_TAGS[g]] + [*GENERIC_TAGS])
    return (
        picked.select("userId", "movieId", "timestamp")
        .with_columns(
            vocabulary.gather(word),
            pl.col("timestamp") + pl.Series(rng.integers(0, 3600, size=len(items))),
        )
        .select("userId", "movieId", "tag", "timestamp")
        .unique(subset=["userId", "movieId", "tag"], maintain_order=True)
        .sort("userId", "movieId", "timestamp", maintain_order=True)
    )


def _genome(
    rng: np.random.Generator, movie_ids: np.ndarray, genres: np.ndarray, popularity: np.ndarray
) -> dict[str, pl.DataFrame]:
    """The Tag Genome of the most popular movies: a relevance in [0, 1] of every tag of the
    tags vocabulary to each of them (high for the tags of the movie's genres), dense like
    GroupLens' ``genome-scores.csv``."""
    vocabulary = [w for g in GENRES for w in GENRE_TAGS[g]] + [*GENERIC_TAGS]
    per_genre = len(GENRE_TAGS[GENRES[0]])
    movies = np.sort(np.argsort(-popularity)[: max(1, int(GENOME_SHARE * len(movie_ids)))])
    member = np.repeat(genres[movies], per_genre, axis=1)  # movies × genre tags
    member = np.hstack([member, np.zeros((len(movies), len(GENERIC_TAGS)), dtype=bool)])
    relevance = np.where(member, rng.beta(5.0, 2.0, member.shape), rng.beta(1.0, 8.0, member.shape))
    tag_ids = np.arange(1, len(vocabulary) + 1, dtype=np.int32)
    return {
        "genome_scores": pl.DataFrame({
            "movieId": np.repeat(movie_ids[movies], len(vocabulary)),
            "tagId": np.tile(tag_ids, len(movies)),
            "relevance": relevance.ravel().round(5),
        }),
        "genome_tags": pl.DataFrame({"tagId": tag_ids, "tag": vocabulary}),
    }
