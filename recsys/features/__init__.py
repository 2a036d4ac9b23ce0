"""Item representations behind one interface (``ItemFeatures``) and a faiss index over them.

- ``genome``: the Tag Genome relevance matrix (ml-20m, ml-25m);
- ``tfidf``: TF-IDF over user tags, genres and decade (any release);
- ``embedding``: sentence-transformer vectors of a text document per movie (cached on disk).
"""

from __future__ import annotations

from recsys.data.types import Catalog, Dataset
from recsys.errors import ConfigError
from recsys.features.base import ItemFeatures
from recsys.features.embeddings import movie_embeddings
from recsys.features.genome import genome_features, read_genome
from recsys.features.index import ItemIndex
from recsys.features.tfidf import tfidf_features
from recsys.settings import Settings

__all__ = [
    "REPRESENTATIONS",
    "ItemFeatures",
    "ItemIndex",
    "genome_features",
    "item_features",
    "movie_embeddings",
    "read_genome",
    "tfidf_features",
]

REPRESENTATIONS = ("tfidf", "genome", "embedding")


def item_features(
    dataset: Catalog | Dataset, representation: str = "tfidf", min_df: int = 2,
    settings: Settings | None = None,
) -> ItemFeatures:
    """The catalogue's ``representation`` (one of :data:`REPRESENTATIONS`).

    For an evaluation, pass the :class:`Catalog` known at training time (its tags are only
    the training side's); a whole ``Dataset`` is the serving view, where everything is known.
    """
    if representation == "tfidf":
        return tfidf_features(dataset, min_df=min_df)
    if representation == "genome":
        return genome_features(dataset)
    if representation == "embedding":
        return movie_embeddings(dataset, settings=settings)
    raise ConfigError(f"representation={representation!r}; expected one of {REPRESENTATIONS}")
