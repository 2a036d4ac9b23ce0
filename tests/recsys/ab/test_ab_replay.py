"""Offline replay on small generated data: popularity vs random, end to end."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from recsys.ab.replay import (
    ReplaySpec,
    load_replay_spec,
    render_report,
    run_replay,
    saved_replays,
    sensitivity_curve,
)
from recsys.bench.results import RESULTS_DIR
from recsys.data.types import Dataset
from recsys.errors import ConfigError, RecsysError

SPEC = {
    "dataset": "generated",
    "split": {"protocol": "leave_last_n", "n": 3},
    "k": 10,
    "n_boot": 200,
    "sensitivity_users": [50, 400],
    "sensitivity_reps": 200,
    "experiment": {
        "id": "replay-test", "salt": "s",
        "arms": [{"name": "random", "model": "random", "params": {"seed": 1}},
                 {"name": "popular", "model": "most_popular"}],
        "traffic": [0.5, 0.5],
        "primary_metric": "hit_rate@10",
        "guardrails": [{"metric": "novelty@10", "direction": "higher_is_better",
                        "tolerance": 0.1}],
    },
}


@pytest.fixture(scope="module")
def ratings() -> pl.DataFrame:
    """400 users x 300 items, long-tailed popularity, 25 time-ordered ratings per user."""
    rng = np.random.default_rng(0)
    weights = 1 / np.arange(1, 301) ** 1.1
    rows = []
    for user in range(400):
        items = rng.choice(300, 25, replace=False, p=weights / weights.sum())
        rows += [(user, int(i), 4.0, 1_000 * user + t) for t, i in enumerate(items)]
    return pl.DataFrame(rows, schema={"user_id": pl.Int32, "item_id": pl.Int32,
                                      "rating": pl.Float32, "timestamp": pl.Int64}, orient="row")


def test_replay_end_to_end(ratings: pl.DataFrame) -> None:
    spec = ReplaySpec.from_dict(SPEC)
    movies = pl.DataFrame({"item_id": np.arange(300, dtype=np.int32)}).with_columns(
        title=pl.format("Movie {}", "item_id"), year=pl.lit(2000, pl.Int32),
        genres=pl.lit(["Drama"], pl.List(pl.String)))
    result = run_replay(Dataset("synthetic-replay", ratings, movies, synthetic=True), spec)
    ab = result.ab
    assert result.split_info["replayed_users"] == 400
    assert sum(ab.srm.observed.values()) == 400 and not ab.srm.flagged
    assert ab.primary.n_control + ab.primary.n_treatment == 400
    assert ab.primary.kind == "proportion" and ab.primary.significant
    assert ab.conclusion.startswith("popular beats random on hit_rate@10")
    assert ab.regressed == ["novelty@10"]  # popularity is less novel than random: caught
    assert result.paired.height == len(spec.metrics)
    assert result.interleaving.wins_treatment > result.interleaving.wins_control
    assert result.interleaving.significant
    power = result.sensitivity
    assert power["n_users"].to_list() == [50, 400]
    assert (power["paired_power"].diff().drop_nulls() >= 0).all()
    payload = json.loads(json.dumps(result.to_dict(), default=str))
    assert payload["ab"]["primary"]["significant"] is True
    report = render_report(result, {"manifest_hash": "abc", "git_commit": "123"})
    assert ab.conclusion in report and "| hit_rate@10 | two-proportion z-test |" in report


def test_spec_round_trip_and_strictness() -> None:
    spec = ReplaySpec.from_dict(SPEC)
    assert ReplaySpec.from_dict(spec.to_dict()) == spec
    with pytest.raises(ConfigError, match="unknown key"):
        ReplaySpec.from_dict({**SPEC, "kk": 5})
    bad_metric = {**SPEC, "experiment": {**SPEC["experiment"], "primary_metric": "ctr"}}
    with pytest.raises(ConfigError, match="asks for"):
        ReplaySpec.from_dict(bad_metric)
    with pytest.raises(ConfigError, match="protocol"):
        ReplaySpec.from_dict({**SPEC, "split": {"protocol": "random"}})


def _arm(**changes: object) -> dict:
    arms = [dict(SPEC["experiment"]["arms"][0], **changes), SPEC["experiment"]["arms"][1]]
    return {**SPEC, "experiment": {**SPEC["experiment"], "arms": arms}}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({**SPEC, "k": "10"}, r"replay spec: k: expected int, got str '10'"),
        ({**SPEC, "n_boot": -1}, r"must be >= 1 .* got \{'n_boot': -1\}"),
        ({**SPEC, "relevance_threshold": "x"}, r"relevance_threshold: expected float"),
        ({**SPEC, "sensitivity_users": ["a"]}, r"sensitivity_users\[0\]: expected int"),
        ({**SPEC, "split": [1]}, r"split must be a mapping"),
        (_arm(model="alss"), r"Unknown model 'alss'"),
        (_arm(params={"seed": "x"}), r"parameter seed: expected int, got str 'x'"),
    ],
)  # fmt: skip
def test_careless_specs_fail_before_any_fit(spec: dict, message: str) -> None:
    with pytest.raises(RecsysError, match=message):
        ReplaySpec.from_dict(spec)


def test_a_missing_or_broken_spec_file_is_named(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match=r"nope.yaml not found: expected a YAML file"):
        load_replay_spec(tmp_path / "nope.yaml")
    (tmp_path / "bad.yaml").write_text("k: [1\n")
    with pytest.raises(ConfigError, match=r"bad.yaml is not valid YAML"):
        load_replay_spec(tmp_path / "bad.yaml")


def test_sensitivity_curve_without_effect_stays_near_alpha() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.binomial(1, 0.3, 2000).astype(float), rng.binomial(1, 0.3, 2000).astype(float)
    preference = np.sign(b - a)
    curve = sensitivity_curve(a, b, preference, (200,), reps=2000, seed=2)
    assert curve.row(0)[1:] == pytest.approx((0.05, 0.05, 0.05), abs=0.02)


def test_saved_replays_read_the_repo_results() -> None:
    replays = saved_replays(RESULTS_DIR)
    assert "ab-replay-ml-latest-small" in replays
    replay = replays["ab-replay-ml-latest-small"]
    assert replay.dataset == "ml-latest-small" and replay.replayed_users > 0
    assert replay.srm.flagged == (replay.srm.p_value < replay.srm.threshold)
    assert set(replay.power.columns) == {"n_users", "design", "power"}
