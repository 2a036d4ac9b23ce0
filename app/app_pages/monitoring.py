"""Monitoring: model versions, retraining runs, drift over time, live latency."""

from __future__ import annotations

import streamlit as st

from app import charts, state
from app.charts import field
from recsys.monitoring.metrics import LATENCY_METRIC, REGISTRY, latency_summary
from recsys.runs import drift_history, pipeline_runs, runs_root
from recsys.tracking import mlflow_runs, registered_model_name, registered_versions

dataset = st.session_state["dataset"]
settings = state.settings()
svc = state.get_service(dataset)

st.title(":material/monitoring: Monitoring")

st.subheader("Live recommendation latency")
latency = latency_summary(REGISTRY)
port = state.metrics_port(settings.metrics_port)
st.caption(f"From the Prometheus histogram `{LATENCY_METRIC}` of this process"
           + (f", scraped at :{port}/metrics." if port else " (metrics endpoint not started)."))
if latency.is_empty():
    st.info("No recommendation served yet in this process: open the Persona view.")
else:
    st.dataframe(latency, hide_index=True, width="stretch",
                 column_config={c: st.column_config.NumberColumn(format="%.1f")
                                for c in ("mean_ms", "p50_ms", "p95_ms")})
    long = latency.unpivot(index="model", on=["p50_ms", "p95_ms"], variable_name="quantile",
                           value_name="ms")
    charts.draw(long, charts.spec(
        "bar", "Latency per model (interpolated from histogram buckets)",
        x=field("model", "n"), y=field("ms", title="milliseconds"),
        color=field("quantile", "n"), xOffset=field("quantile", "n")))

st.subheader("Model versions")
st.caption("Served by this app (trained artifacts):")
st.dataframe([{"model": c.name, "trained": c.trained_at, "data": c.manifest_hash[:12]}
              for c in svc.cards.values()], hide_index=True, width="stretch")
registered = registered_model_name(dataset)
versions = registered_versions(settings, registered)
if versions.is_empty():
    st.info(f"No version of `{registered}` in the MLflow registry yet: run the retraining "
            f"pipeline (`python -m pipelines.retrain --dataset {dataset}`).")
else:
    st.dataframe(versions, hide_index=True, width="stretch")

st.subheader("Retraining runs")
runs = pipeline_runs(dataset, settings)
if runs.is_empty():
    st.info(f"No retraining run of {dataset} under {runs_root(settings, dataset)} yet.")
else:
    st.dataframe(runs, hide_index=True, width="stretch")
tracked = mlflow_runs(settings)
if not tracked.is_empty():
    st.caption("Latest runs of the MLflow experiment `retrain`:")
    st.dataframe(tracked, hide_index=True, width="stretch")

st.subheader("Drift over time")
drift = drift_history(dataset, settings)
if drift.is_empty():
    st.info("No drift report yet: each retraining run writes one (step `drift`).")
else:
    charts.draw(drift, charts.spec(
        {"type": "line", "point": True}, "Drift score per check and retraining run",
        x=field("run", "o", title="retraining run"), color=field("check", "n"),
        y=field("score", title="score (higher = more drift)")))
    latest = drift.filter(drift["run"] == drift["run"].max())
    st.dataframe(latest, hide_index=True, width="stretch")
