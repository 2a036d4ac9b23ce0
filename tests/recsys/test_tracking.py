"""The MLflow read side never creates a store."""

from __future__ import annotations

from pathlib import Path

import pytest

from recsys.errors import ArgumentError, ConfigError, DataError
from recsys.settings import Settings
from recsys.tracking import Tracker, mlflow_runs, open_tracker, registered_versions, store_exists


def test_mlflow_readers_do_not_create_a_store(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert mlflow_runs(settings).is_empty()
    assert registered_versions(settings, "recsys-ml-100k").is_empty()
    assert not (tmp_path / "mlflow.db").exists()


def test_registered_versions_show_their_aliases(tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    settings = Settings(data_dir=tmp_path, mlflow_tracking_uri=f"sqlite:///{tmp_path / 'm.db'}")
    client = MlflowClient(tracking_uri=settings.tracking_uri)
    run = client.create_run(client.create_experiment("retrain"))
    client.create_registered_model("recsys-ml-100k")
    for _ in range(2):
        client.create_model_version("recsys-ml-100k", f"runs:/{run.info.run_id}/model",
                                    run.info.run_id)
    client.set_registered_model_alias("recsys-ml-100k", "champion", "1")
    versions = registered_versions(settings, "recsys-ml-100k")
    assert versions.select("version", "aliases").rows() == [(2, ""), (1, "champion")]


def test_a_learning_curve_is_logged_one_step_per_epoch(tmp_path: Path) -> None:
    tracker = Tracker(f"sqlite:///{tmp_path / 'm.db'}", "curves")
    run = tracker.start_run("vae")
    tracker.log_curve(run, [{"loss": 3.0, "valid_ndcg@10": 0.1}, {"loss": 2.0,
                                                                  "valid_ndcg@10": 0.2}])
    history = tracker.client.get_metric_history(run, "loss")
    assert [(m.step, m.value) for m in history] == [(1, 3.0), (2, 2.0)]
    assert [m.value for m in tracker.client.get_metric_history(run, "valid_ndcg_at_10")] == [
        0.1, 0.2]


def _store_uris(tmp_path: Path) -> dict[str, object]:
    text = tmp_path / "notes.txt"
    text.write_text("not a database")
    return {"folder": f"sqlite:///{tmp_path}", "text file": f"sqlite:///{text}",
            "under a file": f"sqlite:///{text}/mlflow.db", "none": None, "path": tmp_path,
            "empty": ""}


@pytest.mark.parametrize(("case", "error", "message"), [
    ("folder", ConfigError, "is a folder; expected a SQLite database file"),
    ("text file", ConfigError, "is not a SQLite database"),
    ("under a file", ConfigError, "a parent of the database is a file"),
    ("none", ArgumentError, "tracking_uri must be a non-empty"),
    ("path", ArgumentError, "tracking_uri must be a non-empty"),
    ("empty", ArgumentError, "tracking_uri must be a non-empty"),
])
def test_a_tracking_uri_no_store_can_be_at_is_refused_at_once(
        tmp_path: Path, case: str, error: type[Exception], message: str) -> None:
    uri = _store_uris(tmp_path)[case]
    with pytest.raises(error, match=message):
        Tracker(uri, "e")  # a folder used to be retried for ~100 s, then a raw SQLAlchemy error
    with pytest.raises(error, match=message):
        store_exists(uri)


@pytest.mark.parametrize("limit", ["5", 0, -1, 1.5, True, None, 10**9])
def test_mlflow_runs_checks_its_limit(tmp_path: Path, limit: object) -> None:
    with pytest.raises(ArgumentError, match="limit must be"):
        mlflow_runs(Settings(data_dir=tmp_path), limit=limit)


def test_open_tracker_reads_only_a_bool_as_enabled(tmp_path: Path) -> None:
    with pytest.raises(ArgumentError, match="enabled must be True or False"):
        open_tracker("e", Settings(data_dir=tmp_path), enabled="no")


@pytest.fixture(scope="module")
def tracker(tmp_path_factory: pytest.TempPathFactory) -> Tracker:
    return Tracker(f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'm.db'}", "careless")


@pytest.mark.parametrize(("paths", "error", "message"), [
    ("notes.txt", ArgumentError, "paths must be a list of file paths"),  # was read per character
    (Path("notes.txt"), ArgumentError, "paths must be a list of file paths"),
    (["missing.txt"], DataError, r"cannot attach \['missing.txt'\] as artifacts"),
    (["."], DataError, "not a file"),
])
def test_log_files_attaches_files_only(tracker: Tracker, paths: object, error: type[Exception],
                                       message: str) -> None:
    run = tracker.start_run("files")
    with pytest.raises(error, match=message):
        tracker.log_files(run, paths)
    assert not tracker.client.list_artifacts(run)


@pytest.mark.parametrize("metrics", [{"ndcg": "high"}, {"ndcg": True}, {"ndcg": [0.1]}])
def test_log_refuses_metrics_that_are_not_numbers(tracker: Tracker, metrics: dict) -> None:
    with pytest.raises(ArgumentError, match="metric 'ndcg' must be a finite number"):
        tracker.log(tracker.start_run("metrics"), metrics=metrics)


def test_log_leaves_out_missing_and_non_finite_metrics(tracker: Tracker) -> None:
    run = tracker.start_run("finite")
    tracker.log(run, metrics={"a": None, "b": float("nan"), "c": float("inf"), "d": 0.5})
    assert tracker.client.get_run(run).data.metrics == {"d": 0.5}


@pytest.mark.parametrize("name", ["it's", "", None])
def test_registered_versions_need_a_searchable_name(tracker: Tracker, name: object) -> None:
    settings = Settings(data_dir=Path("."), mlflow_tracking_uri=tracker.tracking_uri)
    with pytest.raises(ArgumentError, match="registered model name must be non-empty text"):
        registered_versions(settings, name)  # a quote was a raw MLflow filter error
