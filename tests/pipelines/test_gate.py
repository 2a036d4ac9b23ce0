"""The promotion gate on hand-made per-user values: significance first, then the guardrails."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from recsys.errors import ArgumentError, ConfigError, DataError, UnknownIdError
from recsys.registry_gate import (
    COVERAGE,
    LATENCY,
    GatePolicy,
    ModelEvaluation,
    ModelRegistry,
    decide,
)

USERS = np.arange(1, 41)


def evaluation(ndcg: np.ndarray, coverage: float = 0.3, latency: float = 5.0) -> ModelEvaluation:
    per_user = pl.DataFrame({"user_id": USERS, "ndcg@10": ndcg})
    summary = {"ndcg@10": float(ndcg.mean()), COVERAGE: coverage, LATENCY: latency}
    return ModelEvaluation(summary, per_user, pl.DataFrame())


BASE = np.tile([0.1, 0.2, 0.3, 0.4], 10)
GAIN = np.tile([0.05, 0.15], 20)  # a clear, significant gain (mean +0.1)
POLICY = GatePolicy()


def test_first_model_becomes_champion() -> None:
    decision = decide(evaluation(BASE), None, POLICY)
    assert decision.promote and decision.champion_mean is None
    assert decision.reason.startswith("no champion yet")


def test_significantly_better_challenger_is_promoted() -> None:
    better = BASE + np.tile([0.05, 0.1], 20)  # every user gains 0.05 or 0.1: mean +0.075
    decision = decide(evaluation(better), evaluation(BASE), POLICY)
    assert decision.promote
    assert decision.mean_diff == pytest.approx(0.075)
    assert decision.challenger_mean == pytest.approx(0.325)
    assert decision.champion_mean == pytest.approx(0.25)
    assert decision.p_value < 1e-10 and decision.n_users == 40
    assert 0.05 <= decision.ci_low < decision.ci_high <= 0.1
    assert all(g.ok for g in decision.guardrails)
    assert decision.tags()["gate.promote"] == "True"


def test_worse_or_equal_challenger_is_not_promoted() -> None:
    worse = decide(evaluation(BASE - np.tile([0.03, 0.07], 20)), evaluation(BASE), POLICY)
    assert not worse.promote and worse.mean_diff == pytest.approx(-0.05)
    same = decide(evaluation(BASE), evaluation(BASE), POLICY)
    assert not same.promote and same.p_value == 1.0
    assert "not significantly better" in same.reason


def test_tiny_noisy_gain_is_not_significant() -> None:
    noise = np.tile([0.2, -0.2], 20)
    noise[0] += 0.04  # mean +0.001 with sd 0.2: p ~ 0.97
    decision = decide(evaluation(BASE + noise), evaluation(BASE), POLICY)
    assert decision.mean_diff == pytest.approx(0.001)
    assert not decision.promote and decision.p_value > 0.5


@pytest.mark.parametrize(
    ("coverage", "latency", "regressed"),
    [(0.27, 5.0, [COVERAGE]),  # 0.27 < 0.30 - 0.02
     (0.29, 250.0, [LATENCY]),  # 250 > max(1.5 * 100, 100)
     (0.29, 140.0, [])],  # 140 <= 150
)
def test_guardrails_block_a_better_challenger(
    coverage: float, latency: float, regressed: list[str]
) -> None:
    champion = evaluation(BASE, coverage=0.30, latency=100.0)
    decision = decide(evaluation(BASE + GAIN, coverage, latency), champion, POLICY)
    assert [g.name for g in decision.guardrails if not g.ok] == regressed
    assert decision.promote is (not regressed)
    if regressed:
        assert "regresses guardrail" in decision.reason
        assert decision.tags()[f"gate.guardrail.{regressed[0]}"].startswith("regressed")


def test_fast_champion_does_not_make_a_small_latency_a_regression() -> None:
    champion = evaluation(BASE, latency=1.0)
    decision = decide(evaluation(BASE + GAIN, latency=60.0), champion, POLICY)  # within 100 ms
    assert decision.promote


def test_policy_rejects_unknown_keys_and_bad_metrics() -> None:
    with pytest.raises(ConfigError, match="unknown gate option"):
        GatePolicy.from_mapping({"primary_metrc": "ndcg@10"})
    with pytest.raises(ConfigError, match="alpha"):
        GatePolicy.from_mapping({"alpha": 1.5})
    assert GatePolicy.from_mapping({"primary_metric": "recall@20"}).k == 20
    with pytest.raises(ConfigError, match="ndcg@10"):
        _ = GatePolicy(primary_metric="ndcg").k


@pytest.mark.parametrize(("option", "value", "message"), [
    ("max_coverage_drop", -1.0, "gate max_coverage_drop must be >= 0"),
    ("max_coverage_drop", float("nan"), "gate max_coverage_drop must be a finite number"),
    ("latency_budget_ms", -5.0, "gate latency_budget_ms must be >= 0"),
    ("latency_budget_ms", float("nan"), "gate latency_budget_ms must be a finite number"),
    ("max_latency_ratio", float("inf"), "gate max_latency_ratio must be a finite number"),
    ("max_latency_ratio", 0.0, r"gate max_latency_ratio must be in \(0, inf\)"),
    ("alpha", float("nan"), "gate alpha must be a finite number"),
    ("alpha", "0.05", "alpha"), ("latency_users", 0, "gate latency_users must be a positive"),
    ("latency_users", True, "latency_users"), ("primary_metric", "ndcg@１", "ndcg@10"),
])
def test_policy_refuses_thresholds_of_the_wrong_type_or_range(
        option: str, value: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        GatePolicy.from_mapping({option: value})
    with pytest.raises(ConfigError, match=message):
        GatePolicy(**{option: value})  # built directly, without a config


@pytest.mark.parametrize("policy", [None, {"alpha": 0.05}])
def test_decide_needs_a_gate_policy(policy: object) -> None:
    with pytest.raises(ArgumentError, match="policy must be a GatePolicy"):
        decide(evaluation(BASE), evaluation(BASE), policy)


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> ModelRegistry:
    store = tmp_path_factory.mktemp("registry")
    return ModelRegistry(f"sqlite:///{store / 'm.db'}", "recsys-test")


@pytest.mark.parametrize(("folder", "files", "error", "message"), [
    ("missing", (), DataError, "cannot register .*missing: not a model folder"),
    ("model", "notes.txt", ArgumentError, "paths must be a list of file paths"),
    ("model", ["missing.json"], DataError, r"cannot attach \['missing.json'\]"),
])
def test_register_checks_its_folder_and_files_before_any_run(
        registry: ModelRegistry, tmp_path: Path, folder: str, files: object,
        error: type[Exception], message: str) -> None:
    (tmp_path / "model").mkdir()
    with pytest.raises(error, match=message):
        registry.register(tmp_path / folder, "r", {}, {}, {}, files=files)
    assert not registry.client.search_runs([registry.tracker.experiment_id])


def _with(per_user: pl.DataFrame | None = None, drop: str | None = None) -> ModelEvaluation:
    base = evaluation(BASE)
    summary = {k: v for k, v in base.summary.items() if k != drop}
    return ModelEvaluation(summary, base.per_user if per_user is None else per_user, base.recs)


@pytest.mark.parametrize(("challenger", "champion", "error", "message"), [
    (None, evaluation(BASE), ArgumentError, "challenger must be a ModelEvaluation"),
    (evaluation(BASE), "champion", ArgumentError, "champion must be a ModelEvaluation"),
    (_with(pl.DataFrame({"user_id": USERS, "ndcg@10": np.where(USERS == 3, np.nan, BASE)})),
     evaluation(BASE), ArgumentError, r"challenger per-user ndcg@10 must be finite, got \[nan\]"),
    (evaluation(BASE), _with(drop=COVERAGE), DataError, r"champion summary lacks \['coverage'\]"),
    (_with(drop="ndcg@10"), None, DataError, r"challenger summary lacks \['ndcg@10'\]"),
    (evaluation(BASE), _with(pl.DataFrame({"user_id": USERS + 100, "ndcg@10": BASE})),
     DataError, "share 0 evaluated user"),  # was "not significantly better: diff +nan, p=nan"
])
def test_decide_refuses_evaluations_it_cannot_compare(
        challenger: object, champion: object, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        decide(challenger, champion, POLICY)


class _Version:
    """A registered version that the store does not hold."""

    version, run_id = "99", "0" * 32


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda r: r.promote(None), ArgumentError, "version must be a registered ModelVersion"),
    (lambda r: r.promote(_Version()), UnknownIdError, "cannot promote version 99 of 'recsys-test'"),
    (lambda r: r.download(_Version(), Path("unused")), UnknownIdError,
     "cannot download version 99 of 'recsys-test'"),
    (lambda r: r.find("model", "it's"), ArgumentError, "tag and value must be text without quotes"),
])
def test_the_registry_names_unknown_versions(registry: ModelRegistry, call: Callable,
                                             error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        call(registry)


@pytest.mark.parametrize("name", [None, "", "it's", 7])
def test_a_registered_model_name_must_be_searchable(registry: ModelRegistry, name: object) -> None:
    with pytest.raises(ArgumentError, match="registered model name must be non-empty text"):
        ModelRegistry(registry.tracker.tracking_uri, name)  # None/'' used to read "no champion"
