"""The front door: what the app (and any other client) asks of the library, in one package.

- :mod:`~recsys.service.catalog`: datasets, movie search and titles, bounded histories;
- :mod:`~recsys.service.personas`: ready-made personas, real users, taste profiles;
- :mod:`~recsys.service.recommend`: :class:`RecommenderService`, recommendations with the
  model's own reasons, written by :mod:`~recsys.service.explanations`;
- :mod:`~recsys.service.live`: the live A/B experiment of the Persona view;
- :mod:`~recsys.service.explore`: the similarity explorer and the catalogue map;
- :mod:`~recsys.service.firststart`: the first start of a dataset, one background job each;
- :mod:`~recsys.service.lab`: small benchmarks run in the background;
- :mod:`~recsys.service.champion`: the model the retraining pipeline promoted.

Nothing below imports this package; clients import it and never reach around it for rules.
"""

from recsys.service.catalog import (
    DEMO_DATASET,
    MAX_K,
    MAX_QUERY_CHARS,
    MAX_RATINGS,
    MovieCatalog,
    dataset_label,
    has_genome,
    normalise_titles,
    prepare_dataset,
    servable_datasets,
)
from recsys.service.champion import registry_champion
from recsys.service.firststart import FirstStart, FirstStarts
from recsys.service.lab import LabJob, LabRunner
from recsys.service.personas import (
    Persona,
    RealUsers,
    history_frame,
    load_personas,
    resolve_titles,
    taste_profile,
)
from recsys.service.recommend import Comparison, RecommenderService, jaccard

__all__ = [
    "DEMO_DATASET",
    "MAX_K",
    "MAX_QUERY_CHARS",
    "MAX_RATINGS",
    "Comparison",
    "FirstStart",
    "FirstStarts",
    "LabJob",
    "LabRunner",
    "MovieCatalog",
    "Persona",
    "RealUsers",
    "RecommenderService",
    "dataset_label",
    "has_genome",
    "history_frame",
    "jaccard",
    "load_personas",
    "normalise_titles",
    "prepare_dataset",
    "registry_champion",
    "resolve_titles",
    "servable_datasets",
    "taste_profile",
]
