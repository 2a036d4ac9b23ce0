"""Build the Grafana dashboards of the recommender as JSON, with grafana-foundation-sdk.

    python ops/grafana/build_dashboards.py          # (re)write ops/grafana/dashboards/*.json
    python ops/grafana/build_dashboards.py --check  # exit 1 if a committed file is stale

Every panel queries the provisioned Prometheus data source (uid ``recsys-prometheus``, see
``ops/grafana/provisioning/datasources/prometheus.yml``) with PromQL over the metrics that
``recsys.monitoring`` exports (app) and pushes (pipeline).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from grafana_foundation_sdk.builders import dashboard, prometheus, stat, table, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DataSourceRef
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

from recsys.io import write_text

DATASOURCE_UID = "recsys-prometheus"
DASHBOARD_DIR = Path(__file__).resolve().parent / "dashboards"
DATASOURCE = DataSourceRef(type_val="prometheus", uid=DATASOURCE_UID)

Query = tuple[str, str]  # (PromQL, legend)


def _targets(panel: timeseries.Panel | stat.Panel | table.Panel, queries: list[Query]) -> None:
    for ref, (expr, legend) in zip("ABCDEFGH", queries, strict=False):
        panel.with_target(
            prometheus.Dataquery().expr(expr).legend_format(legend).ref_id(ref).datasource(DATASOURCE)
        )


def graph(
    title: str, queries: list[Query], unit: str = "short", width: int = 12
) -> timeseries.Panel:
    """A time-series panel over the given PromQL queries."""
    panel = timeseries.Panel().title(title).datasource(DATASOURCE).unit(unit).height(8).span(width)
    _targets(panel, queries)
    return panel


def single(title: str, expr: str, unit: str = "short", width: int = 6) -> stat.Panel:
    """A stat panel showing the latest value of one query."""
    panel = stat.Panel().title(title).datasource(DATASOURCE).unit(unit).height(5).span(width)
    _targets(panel, [(expr, "")])
    return panel


def instant_table(title: str, expr: str, width: int = 12) -> table.Panel:
    """A table of the label sets a query returns now (e.g. served model versions)."""
    panel = table.Panel().title(title).datasource(DATASOURCE).height(8).span(width)
    panel.with_target(
        prometheus.Dataquery().expr(expr).instant().format(PromQueryFormat.TABLE)
        .ref_id("A").datasource(DATASOURCE)
    )
    return panel


def _dashboard(uid: str, title: str, description: str, panels: list) -> dict:
    builder = (
        dashboard.Dashboard(title).uid(uid).description(description).tags(["recsys"])
        .refresh("30s").time("now-7d", "now").timezone("browser")
    )
    for panel_id, panel in enumerate(panels, start=1):
        builder.with_panel(panel.id(panel_id))
    return json.loads(json.dumps(builder.build(), cls=JSONEncoder, sort_keys=True))


def model_quality() -> dict:
    """Offline metrics of every trained model and of the serving champion, run after run."""
    return _dashboard("recsys-model-quality", "RecSys / Model quality",
                      "Evaluation metrics pushed by each retraining run.", [
        graph("Evaluation metric per model", [("recsys_eval_metric", "{{model}} {{metric}}")],
              width=24),
        graph("Champion metrics", [("recsys_champion_metric", "{{metric}}")]),
        graph("Champion vs. its 7-day best (1 = best)", [
            ("recsys_champion_metric / max_over_time(recsys_champion_metric[7d])", "{{metric}}"),
        ], unit="percentunit"),
    ])


def drift() -> dict:
    """Data and model-output drift scores against their alert thresholds."""
    return _dashboard("recsys-drift", "RecSys / Drift",
                      "Drift checks of the newest data against the training snapshot.", [
        single("Checks above threshold",
               "count(recsys_drift_score > recsys_drift_threshold) or vector(0)"),
        single("Worst score / threshold", "max(recsys_drift_score / recsys_drift_threshold)",
               unit="percentunit"),
        graph("Drift score per check", [("recsys_drift_score", "{{check}}"),
                                        ("recsys_drift_threshold", "{{check}} threshold")],
              width=24),
        graph("Score relative to threshold (alert above 1)", [
            ("recsys_drift_score / recsys_drift_threshold", "{{check}}"),
        ], width=24),
    ])


def pipeline_health() -> dict:
    """Is retraining running, succeeding and fresh?"""
    return _dashboard("recsys-pipeline", "RecSys / Pipeline health",
                      "Status, freshness, duration and size of the retraining runs.", [
        single("Last run status (1 ok, 0 failed)", "min(recsys_pipeline_status)"),
        single("Hours since last success",
               "max(time() - recsys_pipeline_last_success_timestamp_seconds) / 3600", unit="h"),
        single("Last run duration", "max(recsys_pipeline_duration_seconds)", unit="s"),
        single("Ratings ingested", "max(recsys_pipeline_data_rows)"),
        graph("Run duration", [("recsys_pipeline_duration_seconds", "{{job}}")], unit="s"),
        graph("Ratings ingested per run", [("recsys_pipeline_data_rows", "{{job}}")]),
    ])


def app_traffic() -> dict:
    """Latency, traffic, errors and feedback of the serving app."""
    rate = "[$__rate_interval]"
    buckets = f"sum by (le, model) (rate(recsys_recommend_latency_seconds_bucket{rate}))"
    return _dashboard("recsys-app", "RecSys / App latency & traffic",
                      "Metrics exported by the Streamlit app (recsys.monitoring.metrics).", [
        single("App up", 'min(up{job="recsys-app"})'),
        single("Requests / s", f"sum(rate(recsys_requests_total{rate}))", unit="reqps"),
        single("Error ratio", f"sum(rate(recsys_errors_total{rate})) / "
               f"sum(rate(recsys_requests_total{rate}))", unit="percentunit"),
        single("p95 latency", f"histogram_quantile(0.95, sum by (le) "
               f"(rate(recsys_recommend_latency_seconds_bucket{rate})))", unit="s"),
        graph("Recommendation latency per model", [
            (f"histogram_quantile({q}, {buckets})", f"p{round(q * 100)} {{{{model}}}}")
            for q in (0.5, 0.95, 0.99)
        ], unit="s"),
        graph("Requests per model and endpoint", [
            (f"sum by (model, endpoint) (rate(recsys_requests_total{rate}))",
             "{{model}} {{endpoint}}"),
        ], unit="reqps"),
        graph("Errors per model and kind", [
            (f"sum by (model, kind) (rate(recsys_errors_total{rate}))", "{{model}} {{kind}}"),
        ], unit="reqps"),
        graph("A/B feedback events (1 h)", [
            ("sum by (experiment, arm, event) (increase(recsys_feedback_events_total[1h]))",
             "{{experiment}} {{arm}} {{event}}"),
        ]),
        instant_table("Served model versions", "recsys_model_info == 1", width=24),
    ])


DASHBOARDS: dict[str, Callable[[], dict]] = {
    "model_quality": model_quality,
    "drift": drift,
    "pipeline_health": pipeline_health,
    "app_traffic": app_traffic,
}


def render() -> dict[str, str]:
    """File name -> JSON text of every dashboard."""
    return {
        f"{name}.json": json.dumps(build(), indent=2, sort_keys=True) + "\n"
        for name, build in DASHBOARDS.items()
    }


def main(argv: list[str] | None = None) -> int:
    """Write the dashboards, or with ``--check`` report stale committed files (exit 1)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    stale = []
    for name, text in render().items():
        path = DASHBOARD_DIR / name
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
            continue
        write_text(path, text)
    if stale:
        sys.stderr.write(f"stale dashboards {stale}: run python ops/grafana/build_dashboards.py\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
