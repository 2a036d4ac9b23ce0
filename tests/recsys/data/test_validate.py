"""The quality report: hand-computed answers on a small dataset, thresholds, formats."""

from __future__ import annotations

import json
import math

import polars as pl
import pytest

from recsys.data.parsers import SCHEMAS
from recsys.data.types import Dataset
from recsys.data.validate import Thresholds, validate_dataset
from recsys.errors import ConfigError

T0 = 1_000_000_000  # 2001-09-09


@pytest.fixture
def dirty() -> Dataset:
    ratings = pl.DataFrame(
        {
            "user_id": [1, 1, 1, 2, 2, 3],
            "item_id": [10, 11, 10, 10, 12, 99],  # (1, 10) twice; 99 is not in the catalogue
            "rating": [4.0, 5.0, 3.0, math.nan, 6.0, 2.0],  # one NaN, one above 5
            "timestamp": [T0, T0 + 1, T0 + 2, T0 + 3, T0 + 4, 1_000],  # 1970: too early
        },
        schema=SCHEMAS["ratings"],
    )
    movies = pl.DataFrame(
        {
            "item_id": [10, 11, 12, 13],
            "title": ["a", "b", "c", "d"],
            "year": [1, 2, 3, 4],
            "genres": [[], [], [], []],
        },  # fmt: skip
        schema=SCHEMAS["movies"],
    )
    tags = pl.DataFrame(
        {"user_id": [1], "item_id": [98], "tag": ["x"], "timestamp": [T0]}, schema=SCHEMAS["tags"]
    )
    return Dataset(name="dirty", ratings=ratings, movies=movies, tags=tags)


def test_known_answers(dirty: Dataset) -> None:
    report = validate_dataset(dirty)
    stats = report.stats
    assert stats["counts"]["users"] == 3 and stats["counts"]["rated_movies"] == 4
    assert stats["duplicate_pairs"] == 1
    assert (stats["rating"]["nan"], stats["rating"]["off_scale"]) == (1, 1)
    assert stats["orphan_ratings"] == 1 and stats["orphan_tags"] == 1
    assert stats["unrated_movies"] == 1  # movie 13
    assert stats["sparsity"] == pytest.approx(1 - 6 / (3 * 4))
    assert stats["ratings_per_user"] == {"min": 1, "median": 2.0, "mean": 2.0, "max": 3}
    assert stats["ratings_per_movie"] == {"min": 1, "median": 1.0, "mean": 1.5, "max": 3}
    assert stats["top20_share"] == pytest.approx(3 / 6)  # top 20% of 4 movies = movie 10
    assert stats["rating"]["distribution"] == {"2.0": 1, "3.0": 1, "4.0": 1, "5.0": 1, "6.0": 1}
    assert stats["timestamp"]["outside_range"] == 1
    found = {(f.level, f.check, f.count) for f in report.findings}
    assert found == {
        ("error", "rating_scale", 2),
        ("error", "duplicate_pairs", 1),
        ("error", "orphan_ratings", 1),
        ("warning", "orphan_tags", 1),
        ("warning", "unrated_movies", 1),
        ("warning", "timestamp_range", 1),
    }
    assert not report.ok


def test_thresholds_turn_errors_into_passes(dirty: Dataset) -> None:
    limits = Thresholds.from_dict(
        {"max_duplicate_pairs": 1, "max_off_scale": 2, "max_orphan_ratings": 1}
    )
    report = validate_dataset(dirty, limits)
    assert report.ok
    assert {f.level for f in report.findings} == {"warning"}


def test_missing_values_are_errors(dirty: Dataset) -> None:
    ratings = dirty.ratings.with_columns(pl.lit(None, pl.Int64).alias("timestamp"))
    report = validate_dataset(Dataset(name="x", ratings=ratings, movies=dirty.movies))
    assert ("error", "missing_values", 6) in {(f.level, f.check, f.count) for f in report.findings}
    assert report.stats["missing"]["ratings"]["timestamp"] == 6


@pytest.mark.parametrize(
    "values", [{"max_dupes": 1}, {"max_missing": "many"}, {"max_sparsity": True}]
)
def test_bad_thresholds_raise_config_error(values: dict) -> None:
    with pytest.raises(ConfigError, match="threshold"):
        Thresholds.from_dict(values)


def test_formats(dirty: Dataset) -> None:
    report = validate_dataset(dirty)
    payload = json.loads(report.to_json())
    assert payload["ok"] is False and len(payload["findings"]) == 6
    markdown = report.to_markdown()
    assert markdown.startswith("# Data quality: dirty — FAIL")
    assert "| ratings | 6 |" in markdown
    assert "- **error** `duplicate_pairs`: 1 (user, movie) pairs rated more than once" in markdown


def test_real_release_passes_with_one_warning(ml_small: Dataset) -> None:
    report = validate_dataset(ml_small)
    assert report.ok
    assert [(f.check, f.count) for f in report.findings] == [("unrated_movies", 18)]
    assert report.stats["counts"]["tags"] == 3_683
    assert sum(report.stats["rating"]["distribution"].values()) == 100_836


def test_synthetic_is_labelled(dirty: Dataset) -> None:
    synthetic = Dataset(name="synthetic-x", ratings=dirty.ratings, movies=dirty.movies,
                        synthetic=True)  # fmt: skip
    assert "(SYNTHETIC data)" in validate_dataset(synthetic).to_markdown()
