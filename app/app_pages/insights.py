"""Data insights: the quality report, distributions, long tails, time, genres, tags."""

from __future__ import annotations

import plotly.express as px
import plotly.graph_objects as go
import polars as pl
import streamlit as st

from app import state, widgets
from recsys.data.stats import movie_tags


@st.cache_resource(show_spinner=False, max_entries=8)
def charts(dataset: str, manifest_hash: str) -> dict[str, go.Figure]:
    """The page's five charts of one data version, built once and shared by every session
    (plotly express takes 0.1-0.2 s a chart)."""
    frames = state.data_insights(dataset, manifest_hash)
    return {
        "ratings": px.bar(frames["ratings"], x="rating", y="count", title="Rating distribution",
                          labels={"rating": "rating", "count": "ratings"}),
        "time": px.line(frames["time"], x="period", y="ratings", title="Ratings per month",
                        labels={"period": "month", "ratings": "ratings"}),
        "popularity": px.line(frames["popularity"], x="rank", y="count", log_y=True,
                              title="Popularity long tail: ratings per movie",
                              labels={"rank": "movie rank", "count": "ratings (log)"}),
        "activity": px.line(frames["activity"], x="rank", y="count", log_y=True,
                            title="Activity long tail: ratings per user",
                            labels={"rank": "user rank", "count": "ratings (log)"}),
        "genres": px.line(frames["genres"], x="year", y="share", color="genre", markers=True,
                          title="Genre trends: share of each year's ratings",
                          labels={"share": "share of the year's ratings", "year": "year"})
                  .update_xaxes(dtick=1, tickformat="d"),
    }


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

left, right = st.columns(2)
figures = charts(dataset, svc.dataset.manifest_hash)
left.plotly_chart(figures["ratings"], width="stretch")
right.plotly_chart(figures["time"], width="stretch")
left, right = st.columns(2)
left.plotly_chart(figures["popularity"], width="stretch")
right.plotly_chart(figures["activity"], width="stretch")
st.plotly_chart(figures["genres"], width="stretch")

st.subheader("Tag explorer")
picked = widgets.pick_movie(svc.catalog, "Movie", "Pick one", "tags", default="pulp fiction")
if picked is None:
    st.stop()
item_id, movie_label = picked
tags = movie_tags(svc.dataset, item_id)
if tags.is_empty():
    st.info(f"Nobody tagged {movie_label} in {dataset}"
            + (" (this release has no tags)." if svc.dataset.tags is None else "."))
else:
    source = tags["source"][0]
    st.plotly_chart(go.Figure(
        go.Bar(x=tags["weight"], y=tags["tag"], orientation="h"),
        layout={"title": f"Tags of {movie_label} ({source})", "xaxis": {"title": source},
                "yaxis": {"title": "tag", "autorange": "reversed"}}), width="stretch")
