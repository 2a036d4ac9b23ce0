"""Push the metrics of one pipeline run to a Prometheus Pushgateway.

Each call builds a fresh registry, so runs never leak values into each other. The push uses
the Pushgateway's POST semantics (``pushadd``): metrics of this run replace those of the same
name in the group, and a failed run, which has no success timestamp, leaves the previous
``recsys_pipeline_last_success_timestamp_seconds`` in place for the staleness alert.
"""

from __future__ import annotations

import logging
import math
import numbers
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.client import HTTPException
from typing import Any
from urllib.parse import urlsplit

from prometheus_client import CollectorRegistry, Gauge, pushadd_to_gateway

from recsys.arguments import check_count, check_flag, check_number, check_text
from recsys.config import check_keys
from recsys.errors import ArgumentError, ConfigError, RecsysError

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

    def __post_init__(self) -> None:
        check_flag(self.status, "status")
        if check_number(self.duration_seconds, "duration_seconds") < 0:
            raise ArgumentError(f"duration_seconds must be >= 0, got {self.duration_seconds!r}")
        if self.data_rows is not None:
            check_count(self.data_rows, "data_rows")
        if self.finished_at is not None:
            check_number(self.finished_at, "finished_at")
        if not isinstance(self.eval_metrics, Mapping):
            raise ArgumentError(f"eval_metrics must map model -> {{metric: value}}, got "
                                f"{self.eval_metrics!r}")
        for model, values in self.eval_metrics.items():
            _check_values(values, f"eval_metrics[{model!r}]")
        for name in ("drift_scores", "drift_thresholds", "champion_metrics"):
            _check_values(getattr(self, name), name)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> PipelineMetrics:
        """Build from a plain dict, failing loudly on a misspelt key."""
        return cls(**check_keys(values, cls, "pipeline metrics", noun="pipeline metric key"))


def _check_values(values: Any, name: str) -> None:
    """A ``label -> value`` mapping of numbers (NaN allowed: it is left out when pushed)."""
    if not isinstance(values, Mapping):
        raise ArgumentError(f"{name} must map label -> number, got {values!r}")
    for label, value in values.items():
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ArgumentError(f"{name}[{label!r}] must be a number, got {value!r}")


def _gauge(registry: CollectorRegistry, name: str, doc: str, labels: tuple[str, ...] = ()) -> Gauge:
    return Gauge(name, doc, list(labels), registry=registry)


def _set(gauge: Gauge, name: str, labels: tuple[str, ...], value: float) -> None:
    """One labelled sample; a NaN or infinite value is left out with a warning (a NaN sample
    would silently keep its alert from firing)."""
    if not math.isfinite(value):
        log.warning("%s%s is %s: not pushed", name, list(labels), value)
        return
    gauge.labels(*labels).set(float(value))


def _labelled(gauge: Gauge, name: str, label_values: Mapping[str, float]) -> None:
    for label, value in label_values.items():
        _set(gauge, name, (label,), value)


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
                _set(gauge, "recsys_eval_metric", (model, metric), value)
    for name, label, doc, values in (
        ("recsys_drift_score", "check", "Drift score per check (recsys.monitoring.drift).",
         metrics.drift_scores),
        ("recsys_drift_threshold", "check", "Alert threshold per drift check.",
         metrics.drift_thresholds),
        ("recsys_champion_metric", "metric", "Evaluation metric of the serving champion.",
         metrics.champion_metrics),
    ):
        if values:
            _labelled(_gauge(registry, name, doc, (label,)), name, values)
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
    registry that was pushed. A missing or malformed URL is a ConfigError, a gateway that
    cannot be reached or refuses the push a RecsysError.
    """
    if not gateway_url:
        raise ConfigError("no Pushgateway URL given: set RECSYS_PUSHGATEWAY_URL (host:port)")
    _check_gateway(check_text(gateway_url, "gateway_url", 2000))
    check_text(job, "job", 200)
    timeout = check_number(timeout, "timeout", low=0)
    if not isinstance(metrics, PipelineMetrics):
        metrics = PipelineMetrics.from_mapping(metrics)
    registry = build_registry(metrics)
    try:
        pushadd_to_gateway(
            gateway_url, job=job, registry=registry, grouping_key=dict(grouping or {}),
            timeout=timeout,
        )
    except (OSError, HTTPException) as error:
        raise RecsysError(
            f"could not push metrics of job {job!r} to the Pushgateway at {gateway_url}: {error}"
        ) from error
    log.info("pushed %s metrics to %s (status=%s)", job, gateway_url, metrics.status)
    return registry


def _check_gateway(url: str) -> None:
    """ConfigError unless ``url`` reads as ``[http(s)://]host[:port][/path]``."""
    try:
        parsed = urlsplit(url if "://" in url else f"http://{url}")
        port_ok = parsed.port is None or parsed.port > 0
    except ValueError:  # an unclosed [IPv6] host, a port that is not a number or out of range
        parsed, port_ok = urlsplit("x:"), False
    if parsed.scheme not in ("http", "https") or not parsed.hostname or not port_ok or any(
            c.isspace() or not c.isprintable() for c in url):
        raise ConfigError(f"Pushgateway URL {url!r} is malformed: expected host:port or "
                          "http(s)://host:port (RECSYS_PUSHGATEWAY_URL)")
