"""The serving front door: one dataset, its trained models, recommendations with reasons.

:class:`RecommenderService` loads a dataset and every model trained on it once (plus the
registry champion) and answers the pages: top-k for a real user or for a history folded in at
query time (personas), each with the model's own reason in words, and two models side by side.
Inputs are bounded (k, history length) so nothing a visitor types makes a request expensive,
and every recommendation is timed into the Prometheus metrics.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import polars as pl

from recsys.arguments import check_cutoff, check_id, check_ids
from recsys.data.types import Dataset
from recsys.errors import ConfigError, RecsysError
from recsys.models import Capability, Recommender
from recsys.monitoring.metrics import set_model_info, timed
from recsys.service.catalog import MAX_K, MovieCatalog
from recsys.service.champion import registry_champion
from recsys.service.explanations import cannot_explain, describe
from recsys.service.explore import Explorer
from recsys.service.personas import RealUsers
from recsys.settings import Settings, get_settings
from recsys.tracking import CHAMPION_ALIAS
from recsys.training import TrainedModel, load_trained_model, trained_models

__all__ = ["RECOMMENDATION_COLUMNS", "Comparison", "RecommenderService", "jaccard"]

RECOMMENDATION_COLUMNS = ["rank", "item_id", "title", "year", "genres", "score", "why"]


def jaccard(a: Sequence[int], b: Sequence[int]) -> float:
    """Overlap of two recommendation lists: |A ∩ B| / |A ∪ B| (0 for two empty lists)."""
    first, second = set(check_ids(a, "a").tolist()), set(check_ids(b, "b").tolist())
    union = first | second
    return len(first & second) / len(union) if union else 0.0


class Comparison(NamedTuple):
    """Two models' lists for the same visitor (each with an ``in_both`` column), and their
    Jaccard overlap."""

    first: pl.DataFrame
    second: pl.DataFrame
    overlap: float


class RecommenderService:
    """A dataset plus its trained models, answering the app's questions."""

    def __init__(self, dataset: Dataset, models: Mapping[str, Recommender],
                 cards: Mapping[str, TrainedModel] | None = None) -> None:
        self.dataset = dataset
        self.models = dict(models)
        self.cards = dict(cards or {})
        self.catalog = MovieCatalog(dataset)
        self.users = RealUsers(self.catalog)
        self.explorer = Explorer(self.catalog)

    @classmethod
    def open(cls, dataset_name: str, settings: Settings | None = None) -> RecommenderService:
        """Load ``dataset_name`` and every model trained on it (none trained is an error)."""
        from recsys.data.load import load_dataset

        settings = settings or get_settings()
        dataset = load_dataset(dataset_name, settings)
        cards = {card.name: card for card in trained_models(dataset_name, settings)}
        if not cards:
            raise RecsysError(f"No model is trained on {dataset_name} yet: run "
                              f"`recsys train {dataset_name}` (or start the app to train them)")
        models = {name: load_trained_model(dataset_name, name, settings) for name in cards}
        champion = registry_champion(dataset_name, settings)
        if champion is not None:
            models[CHAMPION_ALIAS], cards[CHAMPION_ALIAS] = champion
        for name, card in cards.items():  # Grafana's "Served model versions" panel
            set_model_info(name, card.served_version, dataset_name)
        return cls(dataset, models, cards)

    @property
    def model_names(self) -> list[str]:
        """Names of the loaded models."""
        return sorted(self.models)

    def model(self, name: str) -> Recommender:
        """The loaded model ``name``; a clear error lists what is loaded."""
        if not isinstance(name, str) or name not in self.models:
            raise ConfigError(f"Model {name!r} is not trained on {self.dataset.name}; trained "
                              f"models: {self.model_names}. Run `recsys train {self.dataset.name}`")
        return self.models[name]

    def recommend(
        self, model_name: str, user_id: int | None = None, history: pl.DataFrame | None = None,
        k: int = 10,
    ) -> pl.DataFrame:
        """Top-``k`` for a real user or a folded-in history, with titles and the model's reason.

        Returns :data:`RECOMMENDATION_COLUMNS` ``[rank, item_id, title, year, genres, score,
        why]``; ``why`` is the model's own explanation in words (or that it has none). Timed
        into Prometheus.
        """
        k = check_cutoff(k, "k", MAX_K)
        if (user_id is None) == (history is None):
            raise ConfigError("recommend needs exactly one of user_id or history")
        model = self.model(model_name)
        with timed(model_name):
            if history is None:
                recs = model.recommend([user_id], k=k)
            else:
                history = self.catalog.check_history(history)
                recs = model.recommend_for_history(history, k=k)
            why = self.reasons(model, recs["item_id"].to_list(), user_id, history)
        return (
            self.catalog.with_titles(recs.select("rank", "item_id", "score"))
            .with_columns(pl.Series("why", why, dtype=pl.String))
            .select(RECOMMENDATION_COLUMNS)
        )

    def reasons(self, model: Recommender, item_ids: Sequence[int], user_id: int | None = None,
                history: pl.DataFrame | None = None) -> list[str]:
        """The model's own explanation of each item for the user or history, in words."""
        if not model.supports(Capability.EXPLAIN):
            return [cannot_explain(model.name)] * len(item_ids)
        if history is None:
            user_id = check_id(user_id, "user_id")  # neither a user nor a history: None
            explanations = [model.explain(user_id, item) for item in item_ids]
        else:
            explanations = model.explain_items_for_history(history, item_ids)
        return [describe(e, self.catalog.label) for e in explanations]

    def compare(
        self, model_a: str, model_b: str, user_id: int | None = None,
        history: pl.DataFrame | None = None, k: int = 10,
    ) -> Comparison:
        """Two models' lists for the same user or persona and their Jaccard overlap."""
        first = self.recommend(model_a, user_id, history, k)
        second = self.recommend(model_b, user_id, history, k)
        both = set(first["item_id"]) & set(second["item_id"])
        mark = pl.col("item_id").is_in(list(both)).alias("in_both")
        return Comparison(first.with_columns(mark), second.with_columns(mark),
                          jaccard(first["item_id"].to_list(), second["item_id"].to_list()))
