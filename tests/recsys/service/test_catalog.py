"""The catalogue: title normalisation and bounded, ranked search."""

from __future__ import annotations

import polars as pl
import pytest

from recsys.errors import ConfigError
from recsys.service import MAX_QUERY_CHARS, RecommenderService, normalise_titles


def test_normalise_titles_moves_articles_and_drops_punctuation() -> None:
    titles = pl.Series(["Godfather, The", "Godfather: Part II, The", "E.T. the Extra-Terrestrial"])
    assert normalise_titles(titles).to_list() == [
        "the godfather", "the godfather part ii", "e t the extra terrestrial"]


def test_search_is_bounded_and_ranked(service: RecommenderService) -> None:
    found = service.catalog.search("star wars")
    assert found["n_ratings"].is_sorted(descending=True)
    assert all("Star Wars" in t for t in found["title"])
    with pytest.raises(ConfigError, match="at most 100"):
        service.catalog.search("x" * (MAX_QUERY_CHARS + 1))
    assert service.catalog.search("  ").is_empty()
