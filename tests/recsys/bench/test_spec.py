"""Benchmark specs: strict loading (unknown keys fail with their name), exact round trips."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from recsys.bench.spec import BenchmarkSpec, TuneSpec, load_spec, lower_is_better
from recsys.errors import ConfigError
from recsys.models import available_models

SPEC_DIR = Path(__file__).resolve().parents[3] / "benchmarks" / "specs"

MINIMAL = {
    "name": "mini",
    "dataset": "ml-100k",
    "protocol": {"kind": "stratified_split", "params": {"ratio": 0.75, "by": "item"}},
    "metrics": ["ndcg@10", "rmse"],
    "models": [
        {"name": "most_popular"},
        {"name": "ease", "label": "EASE",
         "tune": {"grid": {"reg": [100, 500]}, "metric": "ndcg@10",
                  "validation": {"kind": "stratified_split", "params": {"ratio": 0.8}}}},
    ],
    "published": {"source": "paper", "protocol": "same",
                  "rows": [{"label": "SVD", "metrics": {"rmse": 0.938681}}]},
    "goals": [{"metric": "ndcg@10", "op": ">=", "value": 0.5, "stretch": 0.51}],
}


def _with(path: list, value: object) -> dict:
    data = copy.deepcopy(MINIMAL)
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return data


def test_round_trip_is_exact() -> None:
    spec = BenchmarkSpec.from_dict(MINIMAL)
    assert BenchmarkSpec.from_dict(spec.to_dict()) == spec
    assert BenchmarkSpec.from_dict(yaml.safe_load(spec.to_yaml())) == spec
    assert spec.to_dict()["models"][1]["tune"]["grid"] == {"reg": [100, 500]}
    assert spec.to_dict()["seeds"] == [42]  # defaults are written out


@pytest.mark.parametrize(
    ("path", "key"),
    [
        (["colour"], "colour"),
        (["protocol", "kind_"], "kind_"),
        (["models", 1, "tune", "n_iters"], "n_iters"),
        (["published", "rows", 0, "value"], "value"),
        (["goals", 0, "target"], "target"),
    ],
)
def test_unknown_key_is_named(path: list, key: str) -> None:
    with pytest.raises(ConfigError, match=rf"unknown key\(s\) \['{key}'\]"):
        BenchmarkSpec.from_dict(_with(path, 1))


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (["protocol", "kind"], "bootstrap", "not one of"),
        (["seeds"], 3, "expected a list"),
        (["k"], [0], "k must be >= 1"),
        (["metrics"], ["ndcg"], "unknown metric 'ndcg'"),
        (["metrics"], ["rmse@10"], "unknown metric"),
        (["models"], [{"name": "ease"}, {"name": "ease"}], "labels must be unique"),
        (["models", 0, "published"], "BPR", "not in `published.rows`"),
        (["goals", 0, "model"], "ALS", "not a model label"),
        (["goals", 0, "compare"], "ratio", "needs a reference"),
        (["relevance_threshold"], "high", "expected float"),
        (["k"], [True], "expected int"),
    ],
)
def test_invalid_values_fail_loudly(path: list, value: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        BenchmarkSpec.from_dict(_with(path, value))


def test_missing_required_key() -> None:
    data = copy.deepcopy(MINIMAL)
    del data["protocol"]
    with pytest.raises(ConfigError, match=r"missing required key\(s\) \['protocol'\]"):
        BenchmarkSpec.from_dict(data)


def test_derived_needs() -> None:
    spec = BenchmarkSpec.from_dict(MINIMAL)
    assert spec.needs_ranking and spec.needs_rating and spec.ranking_ks == [10]
    rating_only = BenchmarkSpec.from_dict(
        _with(["metrics"], ["rmse", "mae"]) | {"goals": [], "models": [{"name": "bias"}]}
    )
    assert not rating_only.needs_ranking and rating_only.needs_rating


def test_select_models() -> None:
    spec = BenchmarkSpec.from_dict(MINIMAL)
    assert [m.display for m in spec.select(["EASE"]).models] == ["EASE"]
    with pytest.raises(ConfigError, match="no model"):
        spec.select(["SVD"])


def test_select_drops_the_goals_of_models_left_out() -> None:
    data = _with(["goals"], [{"metric": "ndcg@10", "op": ">=", "value": 0.5},
                             {"metric": "ndcg@10", "op": ">=", "value": 0.5, "model": "EASE"}])
    spec = BenchmarkSpec.from_dict(data)
    assert len(spec.select(["EASE"]).goals) == 2
    assert len(spec.select(["most_popular"]).goals) == 1


def test_random_search_draws_a_seeded_subset_of_the_grid() -> None:
    tune = TuneSpec(grid={"a": [1, 2, 3], "b": [10, 20]}, metric="rmse",
                    validation=BenchmarkSpec.from_dict(MINIMAL).protocol, n_iter=3)
    draws = tune.candidates(seed=7)
    assert len(draws) == 3 and draws == tune.candidates(seed=7)
    full = TuneSpec(tune.grid, tune.metric, tune.validation).candidates(seed=7)
    assert len(full) == 6 and all(d in full for d in draws)


def test_metric_direction() -> None:
    assert lower_is_better("rmse") and lower_is_better("fit_s") and lower_is_better("gini@10")
    assert not lower_is_better("ndcg@10") and not lower_is_better("coverage@10")


def test_load_spec_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_spec(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_spec(bad)


OUR_SPECS = ["surprise-ml100k", "recommenders-ml100k", "similarity-ml100k",
             "similarity-ml-latest-small", "peers-ml100k", "peers-ml-latest-small", "spark-ml100k",
             "deep-ml100k", "liang-ml100k", "liang-ml-latest-small", "liang-ml20m",
             "liang-synthetic-ml20m",
             "recommenders-2020-ml100k"]


def test_engine_is_local_by_default_and_checked() -> None:
    spec = load_spec(SPEC_DIR / "recommenders-ml100k.yaml")
    assert spec.engine == "local" and load_spec(SPEC_DIR / "spark-ml100k.yaml").engine == "spark"
    with pytest.raises(ConfigError, match="engine"):
        BenchmarkSpec.from_dict(spec.to_dict() | {"engine": "dask"})


@pytest.mark.parametrize("name", OUR_SPECS)
def test_committed_specs_load_and_name_registered_models(name: str) -> None:
    path = SPEC_DIR / f"{name}.yaml"
    spec = load_spec(path)
    assert spec.name == path.stem
    unknown = {m.name for m in spec.models} - set(available_models())
    assert not unknown, f"{path.name} uses unregistered models {unknown}"
    assert all(load_spec(path.parent / extra).name for extra in spec.also)


def test_selecting_models_drops_the_goals_of_the_others() -> None:
    """`recsys bench run SPEC --models X` on a spec with goals about other models runs X."""
    spec = load_spec(SPEC_DIR / "recommenders-ml100k.yaml")
    picked = spec.select(["ALS tuned"])
    assert [m.display for m in picked.models] == ["ALS tuned"]
    assert all(g.model in ("ALS tuned", "best") for g in picked.goals)


def test_beyond_accuracy_metrics_are_computed_at_the_cut_off_they_name() -> None:
    """coverage@100 in a spec with k [20, 50, 100] is measured at 100 (it was at 20: a blank)."""
    from recsys.bench.runner import plan_for

    named = BenchmarkSpec.from_dict(MINIMAL | {"k": [20, 50, 100],
                                               "metrics": ["recall@20", "coverage@100"]})
    assert plan_for(named).beyond_k == 100
    assert plan_for(load_spec(SPEC_DIR / "liang-ml100k.yaml")).beyond_k == 100
    assert BenchmarkSpec.from_dict(MINIMAL | {"k": [10, 20]}).beyond_k == 10  # none named
    rating_only = MINIMAL | {"metrics": ["rmse"], "goals": [], "models": [{"name": "bias"}]}
    assert BenchmarkSpec.from_dict(rating_only).beyond_k is None
    with pytest.raises(ConfigError, match=r"one cut-off; these name several: \[10, 100\]"):
        BenchmarkSpec.from_dict(MINIMAL | {"metrics": ["coverage@10", "novelty@100"]})
