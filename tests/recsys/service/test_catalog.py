"""The catalogue: title normalisation and bounded, ranked search."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from recsys.data.load import ingest
from recsys.data.synth import write_synthetic_release
from recsys.data.types import Dataset, Interactions
from recsys.errors import ConfigError, RecsysError
from recsys.models import create_model
from recsys.service import (
    DEMO_DATASET,
    MAX_QUERY_CHARS,
    RecommenderService,
    dataset_label,
    has_genome,
    normalise_titles,
    prepare_dataset,
    servable_datasets,
)
from recsys.settings import Settings
from recsys.tracking import registered_model_name


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


def test_search_takes_odd_text_literally(service: RecommenderService) -> None:
    catalog = service.catalog
    assert catalog.search("amélie")["title"][0].startswith("Amelie")  # accents fold
    assert catalog.search("AMELIE")["title"][0] == catalog.search("amélie")["title"][0]
    assert catalog.search('"toy story"')["title"][0] == "Toy Story"  # quotes are punctuation
    assert catalog.search("star wars: episode [iv]")["title"].str.contains("Episode IV").all()
    for odd in (".*", "(", "\\", "%", "_", "?", "'"):  # no regex, no SQL wildcard
        assert catalog.search(odd).is_empty(), odd
    assert catalog.search("[a-z]+").equals(catalog.search("a z"))  # words, not a pattern
    assert catalog.search("x" * MAX_QUERY_CHARS).is_empty()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.search("star", -1), r"limit must be a positive integer, got -1"),
        (lambda c: c.search("star", "5"), r"limit must be a positive integer .*got '5'"),
        (lambda c: c.movie("1"), r"item_id must be integer ids .*got '1'"),
        (lambda c: c.movie(1.5), r"item_id must be integer ids .*got 1\.5"),
        (lambda c: c.label(["x"]), r"item_ids must be integer ids .*got \['x'\]"),
        (lambda c: c.label(None), r"item_ids must be integer ids .*got None"),
        (lambda c: c.with_titles(pl.DataFrame({"a": [1]})), r"movies frame lacks .*'item_id'"),
    ],
)  # fmt: skip
def test_careless_catalogue_calls_are_named(service: RecommenderService, call, message) -> None:
    with pytest.raises(RecsysError, match=message):
        call(service.catalog)


def test_labels_keep_order_and_repeats(service: RecommenderService) -> None:
    catalog = service.catalog
    assert catalog.label([]) == []
    assert catalog.label(pl.Series([1, 1])) == ["Toy Story (1995)"] * 2
    assert catalog.label([999_999_999]) == ["movie 999999999"]


def test_datasets_are_the_demo_one_and_every_trained_release(
    mirror_dir: Path, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path, data_mirror=mirror_dir)
    assert servable_datasets(settings) == [DEMO_DATASET]
    write_synthetic_release(tmp_path / "raw" / "synthetic-tiny", 40, 60, 800, seed=1, genome=True)
    prepare_dataset("synthetic-tiny", settings, {"most_popular": {}})
    ingest("ml-100k", settings=settings)  # fetched but not trained: not servable
    assert servable_datasets(settings) == [DEMO_DATASET, "synthetic-tiny"]
    assert dataset_label("synthetic-tiny") == "synthetic-tiny (synthetic)"
    assert dataset_label("ml-100k") == "ml-100k"
    assert has_genome("synthetic-tiny", settings) and not has_genome("ml-100k", settings)


def test_a_release_the_pipeline_promoted_is_servable(
    ml_100k: Dataset, mirror_dir: Path, tmp_path: Path
) -> None:
    from recsys.registry_gate import ModelRegistry

    settings = Settings(data_dir=tmp_path, data_mirror=mirror_dir,
                        mlflow_tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    ingest("ml-100k", settings=settings)
    assert servable_datasets(settings) == [DEMO_DATASET]  # no registry yet: nothing created
    assert not (tmp_path / "mlflow.db").exists()
    model = create_model("most_popular").fit(Interactions.from_frame(ml_100k.ratings))
    model.save(tmp_path / "popular")
    registry = ModelRegistry(settings.tracking_uri, registered_model_name("ml-100k"))
    version = registry.register(tmp_path / "popular", "test", metrics={}, params={}, tags={})
    assert servable_datasets(settings) == [DEMO_DATASET]  # registered, not promoted
    registry.promote(version)
    assert servable_datasets(settings) == [DEMO_DATASET, "ml-100k"]
