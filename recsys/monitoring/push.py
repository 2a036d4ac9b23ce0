"""Push the metrics of one pipeline run to a Prometheus Pushgateway.

Each call builds a fresh registry, so runs never leak values into each other. The push uses
the Pushgateway's POST semantics (``pushadd``): metrics of this run replace those of the same
name in the group, and a failed run, which has no success timestamp, leaves the previous
``recsys_pipeline_last_success_timestamp_seconds`` in place for the staleness alert.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Gauge, pushadd_to_gateway

from recsys.config import check_keys
from recsys.errors import ConfigError, RecsysError

__all__ = ["PipelineMetrics", "build_registry", "push_pipeline_metrics"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PipelineMetrics:
    """What one pipeline run reports; nested mappings are ``label -> value``."""

    status: bool
    duration_seconds: float
    data_rows: int | None = None
    finished_at: float | None = None
    eval_metrics: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    drift_scores: Mapping[str, float] = field(default_factory=dict)
    drift_thresholds: Mapping[str, float] = field(default_factory=dict)
    champion_metrics: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> PipelineMetrics:
        """Build from a plain dict, failing loudly on a misspelt key."""
        return cls(**check_keys(values, cls, "pipeline metrics", noun="pipeline metric key"))


def _gauge(registry: CollectorRegistry, name: str, doc: str, labels: tuple[str, ...] = ()) -> Gauge:
    return Gauge(name, doc, list(labels), registry=registry)


def _labelled(gauge: Gauge, label_values: Mapping[str, float]) -> None:
    for label, value in label_values.items():
        gauge.labels(label).set(float(value))


def build_registry(metrics: PipelineMetrics) -> CollectorRegistry:
    """A fresh registry holding the ``recsys_pipeline_*``, eval, drift and champion gauges."""
    registry = CollectorRegistry()
    _gauge(registry, "recsys_pipeline_duration_seconds", "Wall time of the last run.").set(
        metrics.duration_seconds
    )
    _gauge(registry, "recsys_pipeline_status", "1 if the last run succeeded, 0 if it failed.").set(
        1.0 if metrics.status else 0.0
    )
    if metrics.status:
        _gauge(
            registry,
            "recsys_pipeline_last_success_timestamp_seconds",
            "Unix time at which the last successful run finished.",
        ).set(metrics.finished_at if metrics.finished_at is not None else time.time())
    if metrics.data_rows is not None:
        _gauge(registry, "recsys_pipeline_data_rows", "Ratings ingested by the last run.").set(
            metrics.data_rows
        )
    if metrics.eval_metrics:
        gauge = _gauge(
            registry, "recsys_eval_metric", "Offline evaluation metric per model.",
            ("model", "metric"),
        )
        for model, values in metrics.eval_metrics.items():
            for metric, value in values.items():
                gauge.labels(model, metric).set(float(value))
    for name, label, doc, values in (
        ("recsys_drift_score", "check", "Drift score per check (recsys.monitoring.drift).",
         metrics.drift_scores),
        ("recsys_drift_threshold", "check", "Alert threshold per drift check.",
         metrics.drift_thresholds),
        ("recsys_champion_metric", "metric", "Evaluation metric of the serving champion.",
         metrics.champion_metrics),
    ):
        if values:
            _labelled(_gauge(registry, name, doc, (label,)), values)
    return registry


def push_pipeline_metrics(
    gateway_url: str,
    job: str,
    metrics: PipelineMetrics | Mapping[str, Any],
    grouping: Mapping[str, str] | None = None,
    timeout: float = 10.0,
) -> CollectorRegistry:
    """Push one run's metrics to the Pushgateway at ``gateway_url`` under ``job``/``grouping``.

    ``metrics`` is a :class:`PipelineMetrics` or a dict with its field names. Returns the
    registry that was pushed.
    """
    if not gateway_url:
        raise ConfigError("no Pushgateway URL given: set RECSYS_PUSHGATEWAY_URL (host:port)")
    if not isinstance(metrics, PipelineMetrics):
        metrics = PipelineMetrics.from_mapping(metrics)
    registry = build_registry(metrics)
    try:
        pushadd_to_gateway(
            gateway_url, job=job, registry=registry, grouping_key=dict(grouping or {}),
            timeout=timeout,
        )
    except OSError as error:
        raise RecsysError(
            f"could not push metrics of job {job!r} to the Pushgateway at {gateway_url}: {error}"
        ) from error
    log.info("pushed %s metrics to %s (status=%s)", job, gateway_url, metrics.status)
    return registry
