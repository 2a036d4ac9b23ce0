"""The live experiment of the Persona view: deterministic arms, each shown list logged once."""

from __future__ import annotations

from pathlib import Path

from recsys.ab.events import EventStore
from recsys.ab.experiment import load_experiment
from recsys.service.live import LiveSession, arm_models, can_run

EXPERIMENT = load_experiment(Path(__file__).resolve().parents[3] / "app" / "experiment.yaml")


def test_arms_serve_their_models_and_need_them_trained() -> None:
    assert arm_models(EXPERIMENT) == {"control": "most_popular", "treatment": "item_knn"}
    assert can_run(EXPERIMENT, ["content", "item_knn", "most_popular"])
    assert not can_run(EXPERIMENT, ["most_popular", "content"])


def test_a_subject_keeps_its_arm() -> None:
    first, again = (LiveSession.start(EXPERIMENT, "subject-1") for _ in range(2))
    assert first == again and first.model == arm_models(EXPERIMENT)[first.arm]


def test_each_distinct_list_is_logged_once(tmp_path: Path) -> None:
    store = EventStore(f"sqlite:///{tmp_path / 'events.db'}")
    session = LiveSession.start(EXPERIMENT, "subject-1")
    shown = session.log_exposures(store, [1, 2, 3], None)
    assert session.log_exposures(store, [1, 2, 3], shown) == shown  # a rerun: nothing logged
    session.log_exposures(store, [3, 2, 1], shown)
    exposures = store.events(EXPERIMENT.id, "exposures")
    assert exposures.height == 6 and set(exposures["arm"]) == {session.arm}
    session.log_feedback(store, 2, 2, "thumbs_up")
    feedback = store.events(EXPERIMENT.id, "feedback")
    assert feedback["item_id"].to_list() == [2] and feedback["model_version"][0] == session.model
