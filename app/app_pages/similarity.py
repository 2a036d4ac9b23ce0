"""Similarity explorer: one movie's neighbours by several measures, their overlap, a map."""

from __future__ import annotations

import plotly.express as px
import plotly.graph_objects as go
import polars as pl
import streamlit as st

from app import state, widgets
from recsys.service.explore import list_overlap

LABELS = {"rating_cosine": "Rating cosine", "rating_pearson": "Pearson",
          "adjusted_cosine": "Adjusted cosine", "tfidf": "Tags (TF-IDF)",
          "genome": "Tag Genome", "embedding": "Text embedding"}

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
    neighbours = explorer.similar(item_id, methods, k)
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
    overlap = list_overlap(neighbours)
    names = [LABELS[m] for m in overlap["method"]]
    figure = go.Figure(go.Heatmap(
        z=overlap.drop("method").to_numpy(), x=names, y=names, zmin=0, zmax=1,
        colorscale="Blues", text=overlap.drop("method").to_numpy().round(2),
        texttemplate="%{text}", colorbar={"title": "Jaccard"}))
    figure.update_layout(title=f"Overlap of the top-{k} lists (Jaccard)", height=360)
    st.plotly_chart(figure, width="stretch")

st.subheader("Catalogue map")
points = explorer.catalog_map("tfidf")
chosen = set(neighbours["item_id"].to_list())
figure = px.scatter(points, x="x", y="y", color="genre", hover_name="title",
                    hover_data={"x": False, "y": False, "n_ratings": True},
                    render_mode="svg", opacity=0.35,
                    labels={"x": "component 1", "y": "component 2", "genre": "first genre"},
                    title="Movies projected from their tags and genres (truncated SVD)")
highlight = points.filter(pl.col("item_id").is_in(list(chosen)))
target = points.filter(pl.col("item_id") == item_id)
figure.add_trace(go.Scatter(x=highlight["x"], y=highlight["y"], mode="markers",
                            marker={"size": 11, "symbol": "circle-open", "color": "black",
                                    "line": {"width": 2}},
                            text=highlight["title"], name="neighbours", hoverinfo="text"))
figure.add_trace(go.Scatter(x=target["x"], y=target["y"], mode="markers+text",
                            marker={"size": 18, "symbol": "star", "color": "#d6336c"},
                            text=target["title"], textposition="top center",
                            name="chosen movie", hoverinfo="text"))
figure.update_layout(height=560)
st.plotly_chart(figure, width="stretch")
