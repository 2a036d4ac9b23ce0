"""Data insights: the quality report, distributions, long tails, time, genres, tags."""

from __future__ import annotations

import polars as pl
import streamlit as st

from app import charts, state, widgets
from app.charts import field
from recsys.data.stats import movie_tags
from recsys.service import RecommenderService

_LOG = {"scale": {"type": "log"}}
# The page's charts, one per frame of ``state.data_insights``.
CHARTS = {
    "ratings": charts.spec("bar", "Rating distribution", x=field("rating", "o"),
                           y=field("count", title="ratings")),
    "time": charts.spec("line", "Ratings per month", x=field("period", "t", title="month"),
                        y=field("ratings")),
    "popularity": charts.spec("line", "Popularity long tail: ratings per movie",
                              x=field("rank", title="movie rank"),
                              y=field("count", title="ratings (log)", **_LOG)),
    "activity": charts.spec("line", "Activity long tail: ratings per user",
                            x=field("rank", title="user rank"),
                            y=field("count", title="ratings (log)", **_LOG)),
    "genres": charts.spec({"type": "line", "point": True},
                          "Genre trends: share of each year's ratings", height=380,
                          x=field("year", "o"), color=field("genre", "n"),
                          y=field("share", title="share of the year's ratings",
                                  axis={"format": "%"})),
}


def chart_pair(frames: dict[str, pl.DataFrame], names: tuple[str, str]) -> None:
    """Two of the page's charts side by side."""
    for column, name in zip(st.columns(2), names, strict=True):
        charts.draw(frames[name], CHARTS[name], column)


def tag_explorer(dataset: str, svc: RecommenderService) -> None:
    """One movie's tags: the users' (or the genome's) weights."""
    picked = widgets.pick_movie(svc.catalog, "Movie", "Pick one", "tags",
                                default="pulp fiction")
    if picked is None:
        return
    item_id, movie_label = picked
    tags = movie_tags(svc.dataset, item_id)
    if tags.is_empty():
        st.info(f"Nobody tagged {movie_label} in {dataset}"
                + (" (this release has no tags)." if svc.dataset.tags is None else "."))
        return
    source = tags["source"][0]
    charts.draw(tags, charts.spec("bar", f"Tags of {movie_label} ({source})",
                                  x=field("weight", title=source),
                                  y=field("tag", "n", sort=None)))


dataset = st.session_state["dataset"]
svc = state.get_service(dataset)
report = state.quality_report(dataset, svc.dataset.manifest_hash)

st.title(":material/bar_chart: Data insights")
verdict = "PASS" if report["ok"] else "FAIL"
st.subheader(f"Quality report: {verdict}")
stats = report["stats"]
cols = st.columns(4)
cols[0].metric("Sparsity", f"{stats['sparsity']:.2%}")
cols[1].metric("Mean rating", f"{stats['rating']['mean']:.2f}")
cols[2].metric("Ratings on top 20% movies", f"{stats['top20_share']:.0%}")
cols[3].metric("Duplicate pairs", f"{stats['duplicate_pairs']:,}")
if report["findings"]:
    st.dataframe(pl.DataFrame(report["findings"]), hide_index=True, width="stretch")
else:
    st.caption("Every check passed.")

frames = state.data_insights(dataset, svc.dataset.manifest_hash)
# Lazy tabs: only the open one runs and draws (each chart adds to a fresh session's paint).
panels = {
    "Ratings": lambda: chart_pair(frames, ("ratings", "time")),
    "Long tails": lambda: chart_pair(frames, ("popularity", "activity")),
    "Genre trends": lambda: charts.draw(frames["genres"], CHARTS["genres"]),
    "Tag explorer": lambda: tag_explorer(dataset, svc),
}
widgets.lazy_tabs(panels, key="insights_tab")
