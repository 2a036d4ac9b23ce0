"""Similarity explorer: one movie's neighbours by several measures, their overlap, a map."""

from __future__ import annotations

import polars as pl
import streamlit as st

from app import charts, state, widgets
from app.charts import field
from recsys.service.explore import list_overlap

LABELS = {"rating_cosine": "Rating cosine", "rating_pearson": "Pearson",
          "adjusted_cosine": "Adjusted cosine", "tfidf": "Tags (TF-IDF)",
          "genome": "Tag Genome", "embedding": "Text embedding"}
# The catalogue map: every movie by its first genre, the chosen movie's neighbours ringed, the
# movie itself a labelled star (layers of one frame, told apart by its ``role`` column).
_MAP_XY = {"x": field("x", title="component 1"), "y": field("y", title="component 2")}
CATALOG_MAP = {
    "title": "Movies projected from their tags and genres (truncated SVD)", "height": 560,
    "layer": [
        {"mark": {"type": "circle", "opacity": 0.35, "size": 18},
         "encoding": {**_MAP_XY, "color": field("genre", "n", title="first genre"),
                      "tooltip": [field("title", "n"), field("n_ratings")]}},
        {"transform": [{"filter": "datum.role == 'neighbour'"}],
         "mark": {"type": "point", "size": 120, "strokeWidth": 2, "color": "black"},
         "encoding": {**_MAP_XY, "tooltip": [field("title", "n")]}},
        {"transform": [{"filter": "datum.role == 'chosen'"}],
         "mark": {"type": "point", "shape": "diamond", "size": 320, "filled": True,
                  "color": "#d6336c"},
         "encoding": {**_MAP_XY, "tooltip": [field("title", "n")]}},
        {"transform": [{"filter": "datum.role == 'chosen'"}],
         "mark": {"type": "text", "dy": -16, "fontWeight": "bold", "color": "#d6336c"},
         "encoding": {**_MAP_XY, "text": field("title", "n")}},
    ],
}


def map_frame(dataset: str, item_id: int, neighbours: list[int]) -> pl.DataFrame:
    """The catalogue map's points with their ``role``: ``chosen``, ``neighbour`` or ``movie``."""
    points = state.get_service(dataset).explorer.catalog_map("tfidf")
    return points.select("x", "y", "title", "n_ratings", "genre", role=pl.when(
        pl.col("item_id") == item_id).then(pl.lit("chosen")).when(
        pl.col("item_id").is_in(neighbours)).then(pl.lit("neighbour")).otherwise(pl.lit("movie")))


dataset = st.session_state["dataset"]
explorer = state.get_service(dataset).explorer

st.title(":material/hub: Similarity explorer")
picked = widgets.pick_movie(explorer.catalog, "Find a movie", "Movie", "similar",
                            default="toy story")
if picked is None:
    st.stop()
item_id, movie_label = picked
available = explorer.methods()
default = [m for m in ("rating_cosine", "rating_pearson", "adjusted_cosine", "tfidf")
           if m in available]
methods = st.multiselect("Similarity measures", available, default=default,
                         format_func=LABELS.get, key="similar_methods",
                         help="Text embeddings are computed once per catalogue (slow first time)")
k = st.slider("Neighbours per measure", 5, 20, 10, key="similar_k")
if not methods:
    st.info("Pick at least one similarity measure.")
    st.stop()

with st.spinner("Finding neighbours…"):
    neighbours = state.similar_movies(dataset, item_id, methods, k)
st.subheader(f"Neighbours of {movie_label}")
columns = st.columns(len(methods))
for column, method in zip(columns, methods, strict=True):
    part = neighbours.filter(pl.col("method") == method)
    column.markdown(f"**{LABELS[method]}**")
    if part.is_empty():
        column.caption("No positive similarity")
    else:
        column.dataframe(part.select("title", pl.col("score").round(2)), hide_index=True,
                         width="stretch",
                         column_config={"title": st.column_config.TextColumn(width="medium"),
                                        "score": st.column_config.NumberColumn(width="small")})

if len(methods) > 1:
    overlap = list_overlap(neighbours).with_columns(pl.col("method").replace_strict(LABELS))
    cells = overlap.rename(LABELS, strict=False).unpivot(
        index="method", variable_name="other", value_name="jaccard")
    axis = {"sort": overlap["method"].to_list(), "title": ""}
    cell = {"x": field("other", "n", **axis), "y": field("method", "n", **axis)}
    charts.draw(cells, {
        "title": f"Overlap of the top-{k} lists (Jaccard)", "height": 300,
        "layer": [
            {"mark": "rect", "encoding": {**cell, "color": field(
                "jaccard", title="Jaccard", scale={"domain": [0, 1], "scheme": "blues"})}},
            {"mark": "text", "encoding": {**cell, "text": field("jaccard", format=".2f")}},
        ]})

# Lazy: the map's 9,742 points take ~0.6 s to draw in a fresh browser session; they are
# computed and sent only while the expander is open (its state is kept per session).
catalogue = st.expander("Catalogue map: where the neighbours lie among every movie",
                        icon=":material/scatter_plot:", key="similar_map", on_change="rerun")
if catalogue.open:
    with catalogue:
        charts.draw(map_frame(dataset, item_id, neighbours["item_id"].to_list()), CATALOG_MAP)
