"""End to end: a tiny benchmark on a slice of ml-latest-small, with MLflow read back."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from mlflow.tracking import MlflowClient

from recsys.bench import report
from recsys.bench.runner import run_benchmark
from recsys.bench.spec import BenchmarkSpec
from recsys.data.types import Dataset
from recsys.errors import ConfigError
from recsys.evaluation.protocol import make_splits
from recsys.settings import Settings

TINY_SPEC = {
    "name": "tiny",
    "description": "Two-fold smoke benchmark on 120 users of ml-latest-small.",
    "dataset": "ml-latest-small",
    "protocol": {"kind": "kfold", "params": {"k": 2, "by": "rating"}},
    "seeds": [0],
    "k": [10],
    "metrics": ["ndcg@10", "precision@10", "rmse"],
    "models": [
        {"name": "most_popular", "label": "Popular"},
        {
            "name": "ease", "label": "EASE",
            "tune": {"grid": {"reg": [50.0, 500.0]}, "metric": "ndcg@10",
                     "validation": {"kind": "random_holdout",
                                    "params": {"test_fraction": 0.2}}},
        },
        {"name": "bias", "label": "Bias", "published": "Baseline"},
    ],
    "published": {
        "source": "made up for the test", "protocol": "same",
        "rows": [{"label": "Baseline", "metrics": {"rmse": 0.9}}],
    },
    "goals": [{"metric": "ndcg@10", "op": ">=", "value": 0.0},
              {"metric": "rmse", "op": "<=", "value": 0.01, "model": "Bias"}],
}


@pytest.fixture(scope="module")
def tiny(ml_small: Dataset) -> Dataset:
    """The first 120 users' ratings of the 400 most rated movies (small enough for EASE)."""
    top = ml_small.ratings.group_by("item_id").len().sort("len", "item_id", descending=True)
    ratings = ml_small.ratings.filter(
        pl.col("user_id") <= 120, pl.col("item_id").is_in(top["item_id"][:400].to_list())
    )
    return Dataset(name="ml-latest-small-slice", ratings=ratings, movies=ml_small.movies)


@pytest.fixture(scope="module")
def outcome(tiny: Dataset, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    tmp = tmp_path_factory.mktemp("bench")
    settings = Settings(data_dir=tmp, mlflow_tracking_uri=f"sqlite:///{tmp / 'mlflow.db'}")
    spec = BenchmarkSpec.from_dict(TINY_SPEC)
    result = run_benchmark(spec, settings=settings, progress=False, dataset=tiny, threads=1)
    folder = report.write_results(result, tmp / "results" / "tiny")
    return result, folder, settings


def test_every_model_ran_on_the_same_splits(outcome: tuple) -> None:
    result, _, _ = outcome
    assert result.errors == {}
    assert result.summary["model"].to_list() == ["Popular", "EASE", "Bias"]
    assert result.summary["n_splits"].to_list() == [2, 2, 2]
    # Same test users for every model on each split.
    users = result.per_user.group_by("model", "split").agg(pl.col("user_id").sort())
    by_split = users.group_by("split").agg(pl.col("user_id").n_unique())
    assert by_split["user_id"].to_list() == [1, 1]


def test_metrics_are_sane(outcome: tuple) -> None:
    result, _, _ = outcome
    summary = {r["model"]: r for r in result.summary.iter_rows(named=True)}
    assert summary["EASE"]["ndcg@10"] > summary["Popular"]["ndcg@10"] > 0
    assert 0.6 < summary["Bias"]["rmse"] < 1.2
    assert summary["Popular"]["rmse"] is None  # most_popular predicts no ratings
    assert all(summary[m]["fit_s"] > 0 for m in summary)
    assert summary["EASE"]["size_mb"] > 0


def test_tuning_used_the_grid_on_each_split(outcome: tuple) -> None:
    result, _, _ = outcome
    assert result.tuning.height == 4  # 2 candidates x 2 splits
    chosen = result.splits.filter(pl.col("model") == "EASE")["params"]
    assert all(json.loads(p)["reg"] in (50.0, 500.0) for p in chosen)


def test_significance_and_goals(outcome: tuple) -> None:
    result, _, _ = outcome
    assert set(result.significance) == {"ndcg@10", "precision@10"}  # rmse: only one model
    assert result.significance["ndcg@10"].height == 3
    goals = report.evaluate_goals(result.spec, result.summary)
    assert [g.met for g in goals] == [True, False]
    assert goals[0].model == "EASE"


def test_results_folder(outcome: tuple) -> None:
    _, folder, _ = outcome
    names = {p.name for p in folder.iterdir()}
    assert {"results.csv", "per_user.parquet", "report.md", "splits.csv", "pareto.html",
            "significance.html", "segments.html", "context.json", "tuning.csv"} <= names
    assert pl.read_csv(folder / "results.csv").height == 3
    html = (folder / "pareto.html").read_text()
    assert 'src="../plotly.min.js"' in html and len(html) < 100_000
    assert (folder.parent / "plotly.min.js").stat().st_size > 1_000_000
    text = (folder / "report.md").read_text()
    assert "rmse published" in text and "rmse Δ" in text
    assert "| Bias |" in text and "0.9000" in text
    assert "MISSED" in text and "MET" in text
    assert "Hardware" in text and "git commit" in text
    assert "## Fairness" in text and "| EASE | ours | searched on validation" in text
    assert json.loads((folder / "context.json").read_text())["metrics"] == TINY_SPEC["metrics"]


def test_mlflow_runs_read_back(outcome: tuple) -> None:
    result, _, settings = outcome
    client = MlflowClient(tracking_uri=settings.tracking_uri)
    experiment = client.get_experiment_by_name("bench/tiny")
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(parents) == 3 and len(children) == 6
    ease = next(r for r in parents if r.data.tags["model_label"] == "EASE")
    assert ease.data.metrics["ndcg_at_10"] == pytest.approx(
        result.summary.filter(pl.col("model") == "EASE")["ndcg@10"][0])
    assert ease.data.tags["git_commit"]
    child = next(r for r in children if r.data.tags["mlflow.parentRunId"] == ease.info.run_id)
    artifacts = {a.path for a in client.list_artifacts(child.info.run_id)}
    assert "per_user.parquet" in artifacts
    assert "spec.yaml" in {a.path for a in client.list_artifacts(ease.info.run_id)}


def test_make_splits_rejects_unknown_protocol_params(tiny: Dataset) -> None:
    with pytest.raises(ConfigError, match="ratio_typo"):
        make_splits("stratified_split", {"ratio_typo": 0.5}, tiny.ratings, 0)


def test_make_splits_passes_the_seed(tiny: Dataset) -> None:
    first = make_splits("random_holdout", {}, tiny.ratings, 1)[0]
    again = make_splits("random_holdout", {}, tiny.ratings, 1)[0]
    other = make_splits("random_holdout", {}, tiny.ratings, 2)[0]
    assert first.test.equals(again.test) and not first.test.equals(other.test)


@pytest.mark.parametrize("model", [
    {"name": "mult_vae", "params": {"epochs": "5"}},
    {"name": "ease", "tune": {"grid": {"reg": [100.0, -1.0]}, "metric": "ndcg@10",
                              "validation": {"kind": "random_holdout", "params": {}}}},
])
def test_a_model_the_spec_cannot_create_fails_before_any_data_is_read(
    model: dict, tmp_path: Path
) -> None:
    spec = BenchmarkSpec.from_dict(TINY_SPEC | {"dataset": "ml-20m", "models": [model],
                                                "goals": []})
    settings = Settings(data_dir=tmp_path, mlflow_tracking_uri=f"sqlite:///{tmp_path / 'm.db'}")
    with pytest.raises(ConfigError, match=rf"model '{model['name']}' of the spec"):
        run_benchmark(spec, settings=settings, progress=False, tracking=False)
    assert not any(tmp_path.iterdir())  # nothing fetched, nothing written


def test_a_model_that_cannot_fold_in_is_not_fitted_under_strong_generalisation(
    tiny: Dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from recsys.models.sampled import UniformBPR

    def never(*_: object) -> None:
        raise AssertionError("fitted a model that cannot be scored under this protocol")

    monkeypatch.setattr(UniformBPR, "_fit", never)
    spec = BenchmarkSpec.from_dict(TINY_SPEC | {
        "protocol": {"kind": "strong_generalization", "params": {"n_test": 10, "n_valid": 10}},
        "metrics": ["ndcg@10"], "goals": [], "published": None,
        "models": [{"name": "bpr_uniform", "params": {"epochs": 1}}, {"name": "most_popular"}]})
    settings = Settings(data_dir=tmp_path, mlflow_tracking_uri=f"sqlite:///{tmp_path / 'm.db'}")
    result = run_benchmark(spec, settings=settings, progress=False, tracking=False, dataset=tiny)
    assert "cannot fold in a new user" in result.errors["bpr_uniform"]
    assert result.summary["model"].to_list() == ["most_popular"]
