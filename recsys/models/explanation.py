"""Why a model scored an item: a kind and typed evidence, never words.

A model's ``explain`` returns an :class:`Explanation`: what kind of reason it is and the facts
behind the score (the rated movies that lead to the item and how much each adds, the similar
users who rated it, the features it shares with a taste profile, how many users rated it, the
components of a hybrid with their own explanations). Ids stay raw ids and nothing is phrased
here: :mod:`recsys.service.explanations` writes the sentence, with titles, for the app
(Surprise's ``Prediction.details``: facts from the model, words from the caller).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = [
    "Component",
    "Explanation",
    "ExplanationKind",
    "Feature",
    "Neighbourhood",
    "Popularity",
    "RatedItem",
    "SimilarUser",
    "Switch",
    "SwitchRule",
]


class ExplanationKind(enum.StrEnum):
    """Which evidence of an :class:`Explanation` carries the reason."""

    RATED_ITEMS = "rated_items"  # movies of the history that lead to the item
    SIMILAR_USERS = "similar_users"  # users like this one who rated the item
    FEATURES = "features"  # tags/genres the item shares with the taste profile
    POPULARITY = "popularity"  # how many users rated the item
    BLEND = "blend"  # a weighted sum of components
    SWITCH = "switch"  # one component, chosen by a rule


@dataclass(frozen=True)
class RatedItem:
    """A movie of the history and what it adds to the item's score."""

    item_id: int
    rating: float
    contribution: float


@dataclass(frozen=True)
class SimilarUser:
    """A neighbour of the user who rated the item."""

    user_id: int
    similarity: float
    rating: float


@dataclass(frozen=True)
class Neighbourhood:
    """The similar users who rated the item: how many, their mean rating, the closest ones."""

    size: int
    mean_rating: float
    closest: tuple[SimilarUser, ...]


@dataclass(frozen=True)
class Feature:
    """A named feature (a tag, a genre, a decade) and what it adds to the item's score."""

    name: str
    contribution: float


@dataclass(frozen=True)
class Popularity:
    """How many training users rated the item (above ``min_rating``)."""

    raters: int
    min_rating: float


class SwitchRule(enum.StrEnum):
    """Why a switching hybrid handed the item to one component."""

    COLD_ITEM = "cold_item"  # nobody rated the item: the content model scores it
    FEW_RATINGS = "few_ratings"  # the user rated fewer than ``min_ratings`` movies
    ENOUGH_RATINGS = "enough_ratings"  # the collaborative model scores everyone else


@dataclass(frozen=True)
class Switch:
    """The rule a switching hybrid applied and its threshold."""

    rule: SwitchRule
    min_ratings: int


@dataclass(frozen=True)
class Component:
    """One sub-model of a hybrid: its weight, its part of the score, its own explanation.

    ``explanation`` is None when the component cannot explain itself.
    """

    model: str
    weight: float
    contribution: float
    explanation: Explanation | None


@dataclass(frozen=True)
class Explanation:
    """Why ``item_id`` scores ``score``: a kind and the evidence that kind reads.

    Evidence lists are ordered by contribution, largest first, and hold at most the ``top``
    entries asked for.
    """

    kind: ExplanationKind
    item_id: int
    score: float
    rated_items: tuple[RatedItem, ...] = ()
    neighbourhood: Neighbourhood | None = None
    features: tuple[Feature, ...] = ()
    popularity: Popularity | None = None
    components: tuple[Component, ...] = ()
    switch: Switch | None = None
