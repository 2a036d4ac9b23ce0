"""Tag Genome explorer: genome neighbours, genome tags beside user tags, genome vs ratings."""

from __future__ import annotations

import polars as pl
import streamlit as st

from app import charts, state, widgets
from app.charts import field
from recsys.data.stats import genome_tags, user_tags

dataset = st.session_state["dataset"]
explorer = state.get_service(dataset).explorer
covered = explorer.genome_movies()

st.title(":material/genetics: Tag Genome explorer")
st.caption(f"The Tag Genome of {dataset} scores {covered.height:,} movies against "
           f"{len(explorer.features('genome').feature_names):,} tags (relevance 0–1).")
picked = widgets.pick_movie(explorer.catalog, "Find a movie", "Movie", "genome",
                            default=covered["title"][0] if covered.height else "")
if picked is None:
    st.stop()
item_id, movie_label = picked
if item_id not in set(covered["item_id"].to_list()):
    st.info(f"{movie_label} has no genome scores: the genome covers the {covered.height:,} "
            "most-rated movies of this release. Try another movie.")
    st.stop()

neighbours_col, genome_col, users_col = st.columns(3)
neighbours = explorer.similar(item_id, ["genome"], 10)
neighbours_col.markdown("**Genome neighbours**")
neighbours_col.dataframe(neighbours.select("title", pl.col("score").round(2)), hide_index=True,
                         width="stretch")
genome_col.markdown("**Top genome tags**")
genome_col.dataframe(genome_tags(explorer.dataset, item_id).select("tag", "weight"),
                     hide_index=True, width="stretch",
                     column_config={"weight": st.column_config.NumberColumn("relevance",
                                                                            format="%.2f")})
users_col.markdown("**Tags users applied**")
applied = user_tags(explorer.dataset, item_id)
if applied.is_empty():
    users_col.caption("Nobody tagged this movie.")
else:
    users_col.dataframe(applied.select("tag", "weight"), hide_index=True, width="stretch",
                        column_config={"weight": st.column_config.NumberColumn("users")})

st.subheader("Genome similarity vs rating similarity")
comparison = explorer.genome_vs_rating(item_id)
if comparison.spearman is None:
    st.info(f"Fewer than 3 genome movies share raters with {movie_label}.")
    st.stop()
st.caption(f"Each point is a genome movie sharing raters with {movie_label}; Spearman rank "
           f"correlation {comparison.spearman:.2f} over {comparison.pairs.height:,} movies.")
charts.draw(comparison.pairs, charts.spec(
    {"type": "circle", "opacity": 0.5}, f"Genome vs rating similarity to {movie_label}",
    x=field("genome", title="genome cosine"), y=field("rating", title="rating cosine"),
    tooltip=[field("title", "n"), field("genome"), field("rating")]))
