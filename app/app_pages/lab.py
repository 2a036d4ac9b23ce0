"""Benchmark lab: browse benchmark results and launch a small benchmark in the background."""

from __future__ import annotations

from functools import partial
from typing import Any

import polars as pl
import streamlit as st

from app import charts, state, widgets
from app.charts import field
from recsys.bench.plots import pareto_points
from recsys.bench.results import BenchmarkRun, load_benchmark
from recsys.errors import RecsysError
from recsys.evaluation.stats import significance_matrix
from recsys.models.registry import installed_models
from recsys.service.lab import LAB_PROTOCOL
from recsys.settings import Settings


def _shade_peers(row: Any) -> list[str]:
    """A background for the cells of a peer row, none for ours."""
    shade = "background-color: rgba(128, 128, 128, 0.15)" if row["side"] != "ours" else ""
    return [shade] * len(row)


def pareto_chart(summary: pl.DataFrame, metric: str) -> None:
    """``metric`` against mean fit seconds per model (log), the Pareto front dashed; a colour
    per model (legend), names written beside the front's points only, alternately above and
    below them."""
    std = f"{metric}_std"
    frame = pareto_points(summary, metric).select(
        "model", "fit_s", "front", value=pl.col(metric),
        std=pl.col(std).cast(pl.Float64, strict=False).fill_null(0.0)
        if std in summary.columns else pl.lit(0.0))
    xy = {"x": field("fit_s", title="fit seconds (log)", scale={"type": "log"}),
          "y": field("value", title=metric, scale={"zero": False})}
    # neighbours on the front take turns above and below their point, so that two models
    # fitted in about the same time do not write their names over each other
    below = pl.col("fit_s").rank("ordinal").over("front").cast(pl.Int64) % 2
    charts.draw(frame.with_columns(low=pl.col("value") - pl.col("std"),
                                   high=pl.col("value") + pl.col("std"), below=below), {
        "title": f"{metric} vs fit time (mean over splits)", "height": 380,
        "layer": [
            {"mark": {"type": "point", "filled": True, "size": 70},
             "encoding": {**xy, "color": field("model", "n", scale={"scheme": "tableau20"}),
                          "tooltip": [field("model", "n"), field("value", title=metric),
                                      field("fit_s")]}},
            *({"transform": [{"filter": f"datum.front && datum.below == {below}"}],
               "mark": {"type": "text", "dy": 16 if below else -12},
               "encoding": {**xy, "text": field("model", "n")}} for below in (0, 1)),
            {"mark": "rule",
             "encoding": {"x": xy["x"], "y": field("low"), "y2": {"field": "high"}}},
            {"transform": [{"filter": "datum.front"}],
             "mark": {"type": "line", "strokeDash": [6, 4]}, "encoding": xy},
        ]})


def segment_chart(segments: pl.DataFrame, metric: str) -> None:
    """Grouped bars: ``metric`` per user-activity segment, one bar group per model."""
    users = segments.group_by("segment").agg(pl.col("n_users").mean().round().cast(pl.Int64))
    frame = segments.join(users, on="segment", suffix="_mean").select(
        "model", value=pl.col(metric), segment=pl.format("{} (~{} users)", "segment",
                                                          "n_users_mean"))
    charts.draw(frame, charts.spec(
        "bar", f"{metric} by user activity segment", x=field("model", "n"),
        y=field("value", title=metric), color=field("segment", "n"),
        xOffset=field("segment", "n")))


def significance_chart(comparisons: pl.DataFrame, metric: str) -> None:
    """Heat map of Holm-adjusted paired t-test p-values between every pair of models."""
    matrix = significance_matrix(comparisons)
    models = matrix["model"].to_list()
    cells = matrix.unpivot(index="model", variable_name="other", value_name="p").drop_nulls()
    cells = cells.with_columns(log_p=pl.col("p").clip(1e-12, 1.0).log10())
    axis = {"sort": models, "title": ""}
    cell = {"x": field("other", "n", **axis), "y": field("model", "n", **axis)}
    charts.draw(cells, {
        "title": f"Paired t-test on per-user {metric}, Holm-adjusted p (red: significant)",
        "height": max(300, 40 * len(models)),
        "layer": [
            {"mark": "rect", "encoding": {**cell, "color": field(
                "log_p", title="log10 p (Holm)",
                scale={"domain": [-6, 0], "scheme": "redblue"})}},
            {"mark": "text", "encoding": {**cell, "text": field("p", format=".2g")}},
        ]})


def launch_benchmark(dataset: str, settings: Settings) -> None:
    """Pick models and run the lab's benchmark of ``dataset`` in the background; its
    progress."""
    runner = state.lab_runner()
    if settings.public_demo:
        st.info("Launching benchmarks is disabled in the public demo; browse the results instead.")
    models = st.multiselect("Models", installed_models(), default=["most_popular", "content"],
                            max_selections=runner.max_models, key="lab_models",
                            disabled=settings.public_demo)
    st.caption(f"{LAB_PROTOCOL} of {dataset}; runs in a background thread, so the app stays "
               "responsive for everyone.")

    def launch() -> None:
        """Submit the benchmark: a callback, so that the button is drawn after it (off)."""
        try:
            st.session_state["lab_job"] = runner.submit(dataset, models).id
        except RecsysError as error:  # another visitor's benchmark started meanwhile
            st.session_state["lab_refused"] = str(error)

    @st.fragment(run_every=1.0)
    def progress() -> None:
        """The run button and the background job, polled once a second (only this fragment
        reruns): the button is off while any visitor's benchmark runs, and back when it ends."""
        busy = runner.busy()
        st.button("Run benchmark", type="primary", key="lab_run", on_click=launch,
                  disabled=settings.public_demo or busy or not models,
                  help="One benchmark at a time" if busy else None)
        if refused := st.session_state.pop("lab_refused", None):
            st.error(refused)
        job = runner.job(st.session_state.get("lab_job", ""))
        running = job is not None and job.state in ("queued", "running")
        if busy and not running:
            st.caption("Another visitor's benchmark is running: the button comes back when it "
                       "ends (one benchmark at a time).")
        if job is None:
            return
        if running:
            st.progress(job.progress, text=job.message)
        elif job.state == "done":
            st.success(f"Benchmark of {', '.join(job.models)} finished: pick "
                       f"“{job.folder.name}” under Browse results.")
        else:
            st.error(f"The benchmark failed: {job.error}")

    progress()


def browse_results(dataset: str, settings: Settings) -> None:
    """One benchmark's leaderboard for a metric, with its charts."""
    folders = state.benchmark_folders()
    if not folders:
        st.info("No benchmark results yet: launch one or run `recsys bench run <spec>`.")
        return
    folder = st.selectbox("Benchmark", folders, format_func=lambda p: p.name, key="lab_folder")
    run = load_benchmark(folder)
    st.caption(f"Dataset {run.dataset} · folder `{folder}`")
    if not run.metrics:
        st.info("This benchmark has no accuracy metric to show.")
        return
    # one choice per benchmark, each opening on its spec's headline metric
    metric = st.selectbox("Metric", run.metrics, index=run.metrics.index(run.headline),
                          key=f"lab_metric_{folder.name}")
    ranked = run.leaderboard(metric)
    sides = [run.side(model) for model in ranked["model"]]
    ranked = ranked.insert_column(1, pl.Series("side", sides))
    if any(side != "ours" for side in sides):
        st.caption("Peer rows (shaded) are other toolkits run by the lab on the same split and "
                   "scored by the same evaluator; the report's Fairness section says how each "
                   "side was tuned.")
    table = ranked.to_pandas().style.format(precision=4).apply(_shade_peers, axis=1)
    st.dataframe(table, hide_index=True, width="stretch")
    details = {"Pareto front": lambda: pareto_chart(run.summary, metric)}
    if run.segments is not None and metric in run.segments.columns:
        details["By user activity"] = lambda: segment_chart(run.segments, metric)
    if run.significance is not None and metric in run.significance["metric"].to_list():
        details["Significance"] = lambda: significance_chart(
            run.significance.filter(pl.col("metric") == metric), metric)
    details["Per user"] = lambda: per_user_chart(run, metric)
    widgets.lazy_tabs(details, key="lab_chart")  # only the open chart is computed and drawn


def per_user_chart(run: BenchmarkRun, metric: str) -> None:
    """Box plot of each model's per-user ``metric`` (where the benchmark kept them)."""
    per_user = run.per_user()
    if per_user is None or metric not in per_user.columns:
        st.info(f"This benchmark kept no per-user {metric}.")
        return
    charts.draw(per_user.select("model", value=pl.col(metric)).drop_nulls(), charts.spec(
        {"type": "boxplot", "outliers": False}, f"Per-user {metric}",
        x=field("model", "n"), y=field("value", title=metric)))


TABS = {"Browse results": browse_results, "Launch a benchmark": launch_benchmark}

dataset = st.session_state["dataset"]
settings = state.settings()

st.title(":material/science: Benchmark lab")
# the launch tab polls its job once a second, only while it is open
widgets.lazy_tabs({name: partial(panel, dataset, settings) for name, panel in TABS.items()},
                  key="lab_tab")
