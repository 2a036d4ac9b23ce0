"""Grafana dashboards: generated, round-trip through the SDK's schema, provisioned uid, PromQL."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import Dashboard

from recsys.monitoring.metrics import REGISTRY
from recsys.monitoring.push import PipelineMetrics, build_registry

GRAFANA = Path(__file__).resolve().parents[2] / "ops" / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
METRIC_NAME = re.compile(r"\b(recsys_[a-z0-9_]+)")


def provisioned_uid() -> str:
    config = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml")
                            .read_text())
    (datasource,) = config["datasources"]
    assert datasource["type"] == "prometheus"
    return datasource["uid"]


def exported_metric_names() -> set[str]:
    """Every sample name the app serves or a pipeline run pushes."""
    full_run = PipelineMetrics(
        status=True, duration_seconds=1, data_rows=1, eval_metrics={"m": {"ndcg@10": 0.1}},
        drift_scores={"c": 0.1}, drift_thresholds={"c": 0.2}, champion_metrics={"ndcg@10": 0.1},
    )
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum")}
    names = set()
    for registry in (REGISTRY, build_registry(full_run)):
        for family in registry.collect():  # families without samples yet still count
            names.add(family.name)
            names.update(family.name + suffix for suffix in suffixes.get(family.type, ()))
    return names


def test_committed_dashboards_match_the_builder(run_cmd: Callable) -> None:
    result = run_cmd([sys.executable, "ops/grafana/build_dashboards.py", "--check"])
    assert result.returncode == 0, result.stderr
    assert {p.stem for p in DASHBOARDS} == {"model_quality", "drift", "pipeline_health",
                                            "app_traffic"}


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_dashboard_round_trips_through_the_sdk_schema(path: Path) -> None:
    data = json.loads(path.read_text())
    again = json.loads(json.dumps(Dashboard.from_json(data), cls=JSONEncoder))
    assert again == data  # an unknown or misspelt key would be dropped


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_every_panel_queries_the_provisioned_datasource(path: Path) -> None:
    uid = provisioned_uid()
    panels = json.loads(path.read_text())["panels"]
    assert panels
    for panel in panels:
        assert panel["datasource"]["uid"] == uid, panel["title"]
        assert panel["targets"], f"panel {panel['title']!r} has no query"
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == uid
            assert target["expr"].strip(), f"panel {panel['title']!r} has an empty query"


def test_dashboards_and_rules_use_only_exported_metrics(
    panel_queries: list[tuple[str, str, str]],
) -> None:
    rules = yaml.safe_load((GRAFANA.parent / "prometheus" / "rules" / "recsys.yml").read_text())
    used = {name for group in rules["groups"] for rule in group["rules"]
            for name in METRIC_NAME.findall(rule["expr"])}
    for _, _, expr in panel_queries:
        used.update(METRIC_NAME.findall(expr))
    assert used - exported_metric_names() == set()
    assert len(used) >= 12
