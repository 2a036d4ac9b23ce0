"""The MLflow read side never creates a store."""

from __future__ import annotations

from pathlib import Path

from recsys.settings import Settings
from recsys.tracking import mlflow_runs, registered_versions


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
    from recsys.tracking import Tracker

    tracker = Tracker(f"sqlite:///{tmp_path / 'm.db'}", "curves")
    run = tracker.start_run("vae")
    tracker.log_curve(run, [{"loss": 3.0, "valid_ndcg@10": 0.1}, {"loss": 2.0,
                                                                  "valid_ndcg@10": 0.2}])
    history = tracker.client.get_metric_history(run, "loss")
    assert [(m.step, m.value) for m in history] == [(1, 3.0), (2, 2.0)]
    assert [m.value for m in tracker.client.get_metric_history(run, "valid_ndcg_at_10")] == [
        0.1, 0.2]
