"""The live A/B experiment as the Persona view runs it: who sees which model, what is logged.

A visitor's session id is hashed into an arm of the experiment (:meth:`LiveSession.start`);
each distinct list shown is logged once as exposures (a page rerun that shows the same list
again logs nothing), and thumbs up/down are logged as feedback of the same arm. Every event is
also counted in the Prometheus metrics.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from recsys.ab.events import EventStore
from recsys.ab.experiment import Experiment
from recsys.monitoring.metrics import record_feedback

__all__ = ["LiveSession", "arm_models", "can_run"]

ShownList = tuple[str, str, str, tuple[int, ...]]  # experiment, arm, model, item ids


def arm_models(experiment: Experiment) -> dict[str, str]:
    """The model each arm serves: ``{arm: model}``."""
    return {arm.name: arm.model for arm in experiment.arms}


def can_run(experiment: Experiment, trained: Sequence[str]) -> bool:
    """True when every arm's model is trained (else the experiment cannot serve)."""
    return set(arm_models(experiment).values()) <= set(trained)


@dataclass(frozen=True)
class LiveSession:
    """One subject of the live experiment: their arm and the model that arm serves."""

    experiment: Experiment
    subject_id: str
    arm: str
    model: str

    @classmethod
    def start(cls, experiment: Experiment, subject_id: str) -> LiveSession:
        """The subject's deterministic arm (a hash of experiment, salt and subject)."""
        arm = experiment.assign([subject_id])[0]
        return cls(experiment, subject_id, arm, arm_models(experiment)[arm])

    def log_exposures(self, store: EventStore, item_ids: Sequence[int],
                      last_shown: ShownList | None) -> ShownList:
        """Log the list ``item_ids`` unless it is ``last_shown``; returns what is shown now."""
        shown = (self.experiment.id, self.arm, self.model, tuple(int(i) for i in item_ids))
        if shown != last_shown:
            store.log_exposures(self.experiment.id, self.subject_id, self.arm, list(shown[3]),
                                model_version=self.model)
            record_feedback(self.experiment.id, self.arm, "exposure")
        return shown

    def log_feedback(self, store: EventStore, item_id: int, position: int, event: str) -> None:
        """Log a thumbs up/down (``event``) on the item shown at ``position``."""
        store.log_feedback(self.experiment.id, self.subject_id, self.arm, item_id, event,
                           position, model_version=self.model)
        record_feedback(self.experiment.id, self.arm, event)
