"""Plotly figures of a benchmark: Pareto (metric vs fit time), segments, significance matrix.

Figures are standalone HTML files that load one shared ``plotly.min.js`` from the parent
folder (``benchmarks/results/plotly.min.js``), so they work offline and each stays small.
PNG export needs kaleido, which is not installed; only HTML is written.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import polars as pl
from plotly.offline import get_plotlyjs

from recsys.arguments import check_path
from recsys.bench.spec import lower_is_better
from recsys.errors import ArgumentError
from recsys.evaluation.stats import significance_matrix
from recsys.io import write_text

__all__ = ["PLOTLY_JS", "ensure_plotly_js", "pareto_figure", "pareto_points", "segment_figure",
           "significance_figure", "step_cost_figure", "write_figure"]

log = logging.getLogger(__name__)
PLOTLY_JS = "plotly.min.js"


def ensure_plotly_js(folder: Path | str) -> Path:
    """Write the bundled plotly.js into ``folder`` once (again only when its version changed)."""
    target = check_path(folder, "folder") / PLOTLY_JS
    script = get_plotlyjs()
    if not target.exists() or target.stat().st_size != len(script.encode("utf-8")):
        write_text(target, script)
        target.chmod(0o644)
    return target


def write_figure(figure: go.Figure, path: Path) -> Path:
    """Standalone HTML that loads ``../plotly.min.js`` (see :func:`ensure_plotly_js`)."""
    html = figure.to_html(include_plotlyjs=f"../{PLOTLY_JS}", full_html=True)
    return write_text(path, html)


def pareto_figure(summary: pl.DataFrame, metric: str) -> go.Figure:
    """``metric`` against mean fit seconds per model, with the Pareto front drawn."""
    frame = pareto_points(summary, metric)
    front = frame["front"].to_numpy()
    figure = go.Figure()
    figure.add_trace(go.Scatter(
        x=frame["fit_s"], y=frame[metric], mode="markers+text", text=frame["model"],
        textposition="top center", name="models",
        error_y={"type": "data", "array": frame[f"{metric}_std"]}
        if f"{metric}_std" in frame.columns else None,
    ))
    ordered = np.argsort(frame["fit_s"].to_numpy()[front])
    figure.add_trace(go.Scatter(
        x=frame["fit_s"].to_numpy()[front][ordered], y=frame[metric].to_numpy()[front][ordered],
        mode="lines", name="Pareto front", line={"dash": "dash"},
    ))
    figure.update_layout(
        title=f"{metric} vs fit time (mean over splits)", xaxis_title="fit seconds (log)",
        yaxis_title=metric, xaxis_type="log", template="plotly_white",
    )
    return figure


def pareto_points(summary: pl.DataFrame, metric: str) -> pl.DataFrame:
    """The models with both ``metric`` and mean fit seconds (neither missing nor NaN), and
    ``front``: True for those no other model beats on both (lower fit time, better
    ``metric``); ArgumentError unless ``summary`` is a polars frame with both columns."""
    if not isinstance(summary, pl.DataFrame):
        raise ArgumentError(f"summary must be a polars DataFrame, got {type(summary).__name__}")
    missing = [c for c in ("model", metric, "fit_s") if c not in summary.columns]
    if missing:
        raise ArgumentError(f"summary lacks column(s) {missing} (metric={metric!r}): expected "
                            f"model, the metric and fit_s, got {summary.columns[:8]}")
    text = [c for c in (metric, "fit_s") if not summary[c].dtype.is_numeric()]
    if text:
        raise ArgumentError(f"summary column(s) {text} must hold numbers, got "
                            f"{[str(summary[c].dtype) for c in text]}")
    frame = summary.filter(*[pl.col(c).is_not_null() & pl.col(c).is_not_nan()
                             for c in (metric, "fit_s")])
    return frame.with_columns(front=pl.Series(_pareto_front(
        frame["fit_s"].to_numpy(), frame[metric].to_numpy(), lower_is_better(metric))))


def _pareto_front(cost: np.ndarray, value: np.ndarray, lower: bool) -> np.ndarray:
    """Mask of points no other point beats on both cost (lower) and value."""
    goodness = -value if lower else value
    beaten = (cost[None, :] <= cost[:, None]) & (goodness[None, :] >= goodness[:, None]) & (
        (cost[None, :] < cost[:, None]) | (goodness[None, :] > goodness[:, None])
    )
    return ~beaten.any(axis=1)


def step_cost_figure(steps: pl.DataFrame, order: list[str]) -> go.Figure:
    """Wall seconds (log) and peak RSS of each step, one bar group per run, one colour per run.

    ``steps``: one row per run and step, ``[run, step, wall_s, peak_rss_gib]``; ``order``: the
    steps along the x axis.
    """
    import plotly.express as px
    from plotly.subplots import make_subplots

    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                           subplot_titles=("wall time (s, log)", "peak RSS (GiB)"))
    runs = steps["run"].unique(maintain_order=True).to_list()
    for run, colour in zip(runs, px.colors.qualitative.Plotly, strict=False):
        part = steps.filter(pl.col("run") == run)
        for row, column in ((1, "wall_s"), (2, "peak_rss_gib")):
            figure.add_trace(go.Bar(x=part["step"], y=part[column], name=run, legendgroup=run,
                                    marker_color=colour, showlegend=row == 1), row=row, col=1)
    figure.update_yaxes(type="log", row=1, col=1)
    figure.update_xaxes(categoryorder="array", categoryarray=order)
    figure.update_layout(barmode="group", template="plotly_white", height=700,
                         title="Scale benchmark: each step of each synthetic shape")
    return figure


def segment_figure(segments: pl.DataFrame, metric: str) -> go.Figure:
    """Grouped bars: ``metric`` per user-activity segment, one bar group per model."""
    figure = go.Figure()
    for segment in ("cold", "medium", "heavy", "unknown"):
        part = segments.filter(pl.col("segment") == segment)
        if part.is_empty() or metric not in part.columns:
            continue
        figure.add_trace(go.Bar(x=part["model"], y=part[metric],
                                name=f"{segment} (~{part['n_users'].mean():.0f} users)"))
    figure.update_layout(
        barmode="group", title=f"{metric} by user activity segment", yaxis_title=metric,
        template="plotly_white",
    )
    return figure


def significance_figure(comparisons: pl.DataFrame, metric: str) -> go.Figure:
    """Heat map of Holm-adjusted paired t-test p-values between every pair of models."""
    matrix = significance_matrix(comparisons)
    models = matrix["model"].to_list()
    values = matrix.select(models).to_numpy().astype(float)
    text = np.where(np.isnan(values), "", np.vectorize(lambda p: f"{p:.2g}")(values))
    figure = go.Figure(go.Heatmap(
        z=np.log10(np.clip(values, 1e-12, 1.0)), x=models, y=models, text=text,
        texttemplate="%{text}", colorscale="RdBu", zmin=-6, zmax=0,
        colorbar={"title": "log10 p (Holm)"},
    ))
    figure.update_layout(
        title=f"Paired t-test on per-user {metric}, Holm-adjusted p (red: significant)",
        template="plotly_white", height=max(400, 40 * len(models)),
    )
    return figure
