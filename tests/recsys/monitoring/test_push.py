"""Pipeline metrics: the registry a run pushes, and loud failures on bad input."""

from __future__ import annotations

import re
import socket

import pytest

from recsys.errors import ArgumentError, ConfigError, RecsysError
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


OK = {"status": True, "duration_seconds": 1.0}


@pytest.mark.parametrize(("change", "name"), [
    ({"status": "no"}, "status"),
    ({"status": None}, "status"),
    ({"duration_seconds": float("nan")}, "duration_seconds"),
    ({"duration_seconds": -5}, "duration_seconds"),
    ({"duration_seconds": "12"}, "duration_seconds"),
    ({"data_rows": -3}, "data_rows"),
    ({"data_rows": 1.5}, "data_rows"),
    ({"data_rows": True}, "data_rows"),
    ({"finished_at": float("inf")}, "finished_at"),
    ({"eval_metrics": {"ease": 0.3}}, "eval_metrics['ease']"),
    ({"eval_metrics": {"ease": {"ndcg@10": "x"}}}, "eval_metrics['ease']['ndcg@10']"),
    ({"eval_metrics": [1]}, "eval_metrics"),
    ({"drift_scores": [0.1]}, "drift_scores"),
    ({"champion_metrics": {"ndcg@10": None}}, "champion_metrics['ndcg@10']"),
])
def test_a_careless_metric_value_is_refused(change: dict, name: str) -> None:
    with pytest.raises(ArgumentError, match=re.escape(name)):
        PipelineMetrics.from_mapping({**OK, **change})


def test_a_nan_score_is_left_out_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    registry = build_registry(PipelineMetrics.from_mapping({
        **OK, "drift_scores": {"psi": float("nan"), "churn": 0.2},
        "eval_metrics": {"ease": {"ndcg@10": float("inf")}}}))
    assert registry.get_sample_value("recsys_drift_score", {"check": "psi"}) is None
    assert registry.get_sample_value("recsys_drift_score", {"check": "churn"}) == 0.2
    assert registry.get_sample_value("recsys_eval_metric",
                                     {"model": "ease", "metric": "ndcg@10"}) is None
    assert "recsys_drift_score['psi'] is nan: not pushed" in caplog.text


@pytest.mark.parametrize(("url", "job", "timeout", "error", "expected"), [
    ("http://[::1", "retrain", 1, ConfigError, "is malformed"),
    ("localhost:notaport", "retrain", 1, ConfigError, "is malformed"),
    ("localhost:99999", "retrain", 1, ConfigError, "is malformed"),
    ("ht!tp://x y", "retrain", 1, ConfigError, "is malformed"),
    ("ftp://host:21", "retrain", 1, ConfigError, "is malformed"),
    (9091, "retrain", 1, ArgumentError, "gateway_url must be a string"),
    ("127.0.0.1:1", None, 1, ArgumentError, "job must be a string"),
    ("127.0.0.1:1", "retrain", -1, ArgumentError, "timeout must be in (0, inf)"),
    ("127.0.0.1:1", "retrain", float("nan"), ArgumentError, "timeout must be a finite number"),
])
def test_a_careless_push_is_a_clear_error(url: object, job: object, timeout: float,
                                          error: type, expected: str) -> None:
    with pytest.raises(error, match=re.escape(expected)):
        push_pipeline_metrics(url, job, OK, timeout=timeout)
