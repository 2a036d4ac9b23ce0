"""Benchmark lab: browse benchmark results and launch a small benchmark in the background."""

from __future__ import annotations

from typing import Any

import plotly.express as px
import polars as pl
import streamlit as st

from app import state
from recsys.bench.plots import pareto_figure, segment_figure, significance_figure
from recsys.bench.results import load_benchmark
from recsys.models import available_models
from recsys.service.lab import LAB_PROTOCOL


def _shade_peers(row: Any) -> list[str]:
    """A background for the cells of a peer row, none for ours."""
    shade = "background-color: rgba(128, 128, 128, 0.15)" if row["side"] != "ours" else ""
    return [shade] * len(row)


dataset = st.session_state["dataset"]
settings = state.settings()

st.title(":material/science: Benchmark lab")
browse, launch = st.tabs(["Browse results", "Launch a benchmark"])

with launch:
    runner = state.lab_runner()
    if settings.public_demo:
        st.info("Launching benchmarks is disabled in the public demo; browse the results instead.")
    models = st.multiselect("Models", available_models(), default=["most_popular", "content"],
                            max_selections=runner.max_models, key="lab_models",
                            disabled=settings.public_demo)
    st.caption(f"{LAB_PROTOCOL} of {dataset}; runs in a background thread, so the app stays "
               "responsive for everyone.")
    start = st.button("Run benchmark", type="primary", key="lab_run",
                      disabled=settings.public_demo or runner.busy() or not models)
    if start:
        st.session_state["lab_job"] = runner.submit(dataset, models).id

    @st.fragment(run_every=1.0)
    def progress() -> None:
        """Poll the background job once a second (only this fragment reruns)."""
        job = runner.job(st.session_state.get("lab_job", ""))
        if job is None:
            return
        if job.state in ("queued", "running"):
            st.progress(job.progress, text=job.message)
        elif job.state == "done":
            st.success(f"Benchmark of {', '.join(job.models)} finished: pick "
                       f"“{job.folder.name}” under Browse results.")
        else:
            st.error(f"The benchmark failed: {job.error}")

    progress()

with browse:
    folders = state.benchmark_folders()
    if not folders:
        st.info("No benchmark results yet: launch one or run `recsys bench run <spec>`.")
        st.stop()
    folder = st.selectbox("Benchmark", folders, format_func=lambda p: p.name, key="lab_folder")
    run = load_benchmark(folder)
    st.caption(f"Dataset {run.dataset} · folder `{folder}`")
    if not run.metrics:
        st.info("This benchmark has no accuracy metric to show.")
        st.stop()
    metric = st.selectbox("Metric", run.metrics, index=run.metrics.index("ndcg@10")
                          if "ndcg@10" in run.metrics else 0, key="lab_metric")
    ranked = run.leaderboard(metric)
    sides = [run.side(model) for model in ranked["model"]]
    ranked = ranked.insert_column(1, pl.Series("side", sides))
    if any(side != "ours" for side in sides):
        st.caption("Peer rows (shaded) are other toolkits run by the lab on the same split and "
                   "scored by the same evaluator; the report's Fairness section says how each "
                   "side was tuned.")
    table = ranked.to_pandas().style.format(precision=4).apply(_shade_peers, axis=1)
    st.dataframe(table, hide_index=True, width="stretch")
    st.plotly_chart(pareto_figure(run.summary, metric), width="stretch")
    if run.segments is not None and metric in run.segments.columns:
        st.plotly_chart(segment_figure(run.segments, metric), width="stretch")
    if run.significance is not None and metric in run.significance["metric"].to_list():
        comparisons = run.significance.filter(pl.col("metric") == metric)
        st.plotly_chart(significance_figure(comparisons, metric), width="stretch")
    per_user = run.per_user()
    if per_user is not None and metric in per_user.columns:
        figure = px.box(per_user.select("model", metric).drop_nulls(), x="model", y=metric,
                        title=f"Per-user {metric}", points=False,
                        labels={"model": "model", metric: metric})
        st.plotly_chart(figure, width="stretch")
