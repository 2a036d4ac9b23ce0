"""The one place where a model's evidence becomes words: :func:`describe`.

Models return typed :class:`~recsys.models.explanation.Explanation` values (raw ids, numbers,
feature names); this module writes the sentence a visitor reads, with movie titles from a
``label`` function (:meth:`recsys.service.catalog.MovieCatalog.label`) so that no raw id ever
reaches the UI. One phrase per kind of evidence:

* popularity: "Popular with everyone: rated by 329 users";
* rated items: "Because you liked Alien (1979) 5★, Aliens (1986) 4.5★" ("rated" when a cited
  rating is below :data:`LIKED_RATING`);
* similar users: "12 users with tastes like yours rated it (4.2★ on average)";
* features: the rated movies, then "matches your taste for: space, sci-fi";
* blend and switch: the component's share or rule, then the component's own sentence.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from recsys.models.explanation import Component, Explanation, ExplanationKind, SwitchRule

__all__ = ["LIKED_RATING", "Labeller", "cannot_explain", "describe"]

LIKED_RATING = 4.0  # a cited movie rated at least this is one the user "liked"
Labeller = Callable[[Sequence[int]], list[str]]


def describe(explanation: Explanation, label: Labeller) -> str:
    """The sentence for ``explanation``, movies named by ``label(item_ids)``."""
    return _WRITERS[explanation.kind](explanation, label)


def cannot_explain(model: str) -> str:
    """What a model without the EXPLAIN capability says about its recommendations."""
    return f"{model} does not explain its recommendations"


def _popularity(explanation: Explanation, label: Labeller) -> str:
    popularity = explanation.popularity
    above = f" above {popularity.min_rating:g}" if popularity.min_rating > 0 else ""
    return f"Popular with everyone: rated{above} by {popularity.raters:,} users"


def _rated_phrase(explanation: Explanation, label: Labeller) -> str:
    """"Because you liked/rated A 5★, B 4★", or "" when no rated movie adds to the score."""
    rated = explanation.rated_items
    if not rated:
        return ""
    names = label([r.item_id for r in rated])
    verb = "liked" if min(r.rating for r in rated) >= LIKED_RATING else "rated"
    return f"Because you {verb} " + ", ".join(
        f"{name} {r.rating:g}★" for name, r in zip(names, rated, strict=True))


def _rated_items(explanation: Explanation, label: Labeller) -> str:
    return _rated_phrase(explanation, label) or "None of the movies you rated points to this one"


def _similar_users(explanation: Explanation, label: Labeller) -> str:
    neighbours = explanation.neighbourhood
    if neighbours is None or not neighbours.size:
        return "No user with tastes like yours rated it"
    people = "1 user" if neighbours.size == 1 else f"{neighbours.size} users"
    return (f"{people} with tastes like yours rated it "
            f"({neighbours.mean_rating:.1f}★ on average)")


def _features(explanation: Explanation, label: Labeller) -> str:
    rated = _rated_phrase(explanation, label)
    shared = ", ".join(f.name for f in explanation.features)
    if rated and shared:
        return f"{rated} · matches your taste for: {shared}"
    if shared:
        return f"Matches your taste for: {shared}"
    return rated or "Shares little with the movies you rated highly"


def _component(component: Component, label: Labeller) -> str:
    if component.explanation is None:
        return cannot_explain(component.model)
    return describe(component.explanation, label)


def _blend(explanation: Explanation, label: Labeller) -> str:
    shares = ", ".join(f"{c.model} {c.weight:.0%}" for c in explanation.components)
    lead = max(explanation.components, key=lambda c: c.contribution)
    return f"Blend of {shares}; mostly {lead.model}: {_component(lead, label)}"


_SWITCH_REASONS = {
    SwitchRule.COLD_ITEM: "nobody has rated this movie yet",
    SwitchRule.FEW_RATINGS: "you have rated fewer than {min_ratings} movies",
    SwitchRule.ENOUGH_RATINGS: "you have rated enough movies",
}


def _switch(explanation: Explanation, label: Labeller) -> str:
    (chosen,) = explanation.components
    why = _SWITCH_REASONS[explanation.switch.rule].format(
        min_ratings=explanation.switch.min_ratings)
    return f"{chosen.model} (because {why}): {_component(chosen, label)}"


_WRITERS: dict[ExplanationKind, Callable[[Explanation, Labeller], str]] = {
    ExplanationKind.POPULARITY: _popularity,
    ExplanationKind.RATED_ITEMS: _rated_items,
    ExplanationKind.SIMILAR_USERS: _similar_users,
    ExplanationKind.FEATURES: _features,
    ExplanationKind.BLEND: _blend,
    ExplanationKind.SWITCH: _switch,
}
