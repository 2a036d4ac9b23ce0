"""Pipeline metrics: the registry a run pushes, and loud failures on bad input."""

from __future__ import annotations

import socket

import pytest

from recsys.errors import ConfigError, RecsysError
from recsys.monitoring.push import PipelineMetrics, build_registry, push_pipeline_metrics


def test_registry_holds_every_pipeline_metric() -> None:
    run = PipelineMetrics.from_mapping({
        "status": True, "duration_seconds": 12.5, "data_rows": 100_000, "finished_at": 1e9,
        "eval_metrics": {"ease": {"ndcg@10": 0.31, "recall@10": 0.2}},
        "drift_scores": {"rating_psi": 0.4}, "drift_thresholds": {"rating_psi": 0.2},
        "champion_metrics": {"ndcg@10": 0.31},
    })
    registry = build_registry(run)
    value = registry.get_sample_value
    assert value("recsys_pipeline_duration_seconds") == 12.5
    assert value("recsys_pipeline_status") == 1
    assert value("recsys_pipeline_last_success_timestamp_seconds") == 1e9
    assert value("recsys_pipeline_data_rows") == 100_000
    assert value("recsys_eval_metric", {"model": "ease", "metric": "recall@10"}) == 0.2
    assert value("recsys_drift_score", {"check": "rating_psi"}) == 0.4
    assert value("recsys_drift_threshold", {"check": "rating_psi"}) == 0.2
    assert value("recsys_champion_metric", {"metric": "ndcg@10"}) == 0.31


def test_failed_run_has_no_success_timestamp() -> None:
    registry = build_registry(PipelineMetrics(status=False, duration_seconds=3.0))
    assert registry.get_sample_value("recsys_pipeline_status") == 0
    assert registry.get_sample_value("recsys_pipeline_last_success_timestamp_seconds") is None


def test_bad_input_fails_loudly() -> None:
    with pytest.raises(ConfigError, match="unknown pipeline metric"):
        PipelineMetrics.from_mapping({"status": True, "duration_seconds": 1, "rows": 3})
    with pytest.raises(ConfigError, match="RECSYS_PUSHGATEWAY_URL"):
        push_pipeline_metrics("", "retrain", {"status": True, "duration_seconds": 1})


def test_unreachable_gateway_is_a_recsys_error() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(RecsysError, match="could not push"):
        push_pipeline_metrics(f"127.0.0.1:{port}", "retrain",
                              {"status": True, "duration_seconds": 1}, timeout=2)
