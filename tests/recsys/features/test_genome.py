"""The Tag Genome loader on generated files shaped exactly like ml-25m's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from recsys.errors import DataError
from recsys.features import read_genome
from recsys.features.genome import genome_features

N_TAGS = 1128
MOVIES = [1, 2, 5, 260]


def write_genome(folder: Path, drop_last: bool = False) -> np.ndarray:
    """genome-scores.csv (movieId,tagId,relevance: every movie × every tag) and genome-tags.csv."""
    rng = np.random.default_rng(0)
    relevance = rng.uniform(0.0, 0.5, size=(len(MOVIES), N_TAGS)).round(5)
    relevance[0, 6] = 0.99  # movie 1: tag 7 is its most relevant, tag 3 second
    relevance[0, 2] = 0.9
    scores = pl.DataFrame({
        "movieId": np.repeat(MOVIES, N_TAGS),
        "tagId": np.tile(np.arange(1, N_TAGS + 1), len(MOVIES)),
        "relevance": relevance.ravel(),
    })
    (scores.head(scores.height - 1) if drop_last else scores).write_csv(
        folder / "genome-scores.csv")
    tags = pl.DataFrame({"tagId": np.arange(1, N_TAGS + 1),
                         "tag": [f"tag {i}" for i in range(1, N_TAGS + 1)]})
    tags.write_csv(folder / "genome-tags.csv")
    return relevance


def test_reads_every_movie_by_every_tag(tmp_path: Path) -> None:
    relevance = write_genome(tmp_path)
    genome = read_genome(tmp_path, "ml-25m")
    assert genome.kind == "genome" and genome.matrix.shape == (len(MOVIES), N_TAGS)
    assert genome.item_ids.tolist() == MOVIES
    expected = relevance[3] / np.linalg.norm(relevance[3])
    np.testing.assert_allclose(genome.vector(260), expected, rtol=1e-5)
    assert [name for name, _ in genome.top_features(1, 2)] == ["tag 7", "tag 3"]


def test_incomplete_scores_are_rejected(tmp_path: Path) -> None:
    write_genome(tmp_path, drop_last=True)
    with pytest.raises(DataError, match="every movie × every tag"):
        read_genome(tmp_path, "ml-20m")


def test_release_without_genome(ml_small) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DataError, match="no Tag Genome"):
        genome_features(ml_small)


@pytest.mark.parametrize("value", ["", "NaN", "1.7", "-0.2"])
def test_a_missing_or_impossible_relevance_is_named(tmp_path: Path, value: str) -> None:
    write_genome(tmp_path)
    path = tmp_path / "genome-scores.csv"
    lines = path.read_text().splitlines()
    lines[5] = lines[5].rsplit(",", 1)[0] + "," + value  # movie 1, tag 5
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"1 relevance value\(s\) missing or outside \[0, 1\], "
                                        r"the first for movie 1 and tag 5"):
        read_genome(tmp_path, "ml-25m")


def test_a_repeated_pair_is_refused(tmp_path: Path) -> None:
    write_genome(tmp_path)
    path = tmp_path / "genome-scores.csv"
    lines = path.read_text().splitlines()
    lines[-1] = lines[1]  # the count still matches: one pair twice, another missing
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"some \(movie, tag\) pairs more than once"):
        read_genome(tmp_path, "ml-25m")
