"""A/B testing: assignment, design, analysis, sequential tests, offline replay, event store.

Import from the submodules (``recsys.ab.analysis``, ``recsys.ab.events``...); this package
re-exports the names the app and the pipelines use most.
"""

from recsys.ab.analysis import AbResult, MetricResult, SrmResult, analyze, conclusion, srm_test
from recsys.ab.assignment import assign, assign_frame
from recsys.ab.design import (
    mde_means,
    mde_proportions,
    plan_proportions,
    power_means,
    power_proportions,
    sample_size_means,
    sample_size_proportions,
)
from recsys.ab.experiment import Arm, Experiment, Guardrail, load_experiment
from recsys.ab.sequential import SequentialResult, msprt_means, msprt_proportions

__all__ = [
    "AbResult",
    "Arm",
    "Experiment",
    "Guardrail",
    "MetricResult",
    "SequentialResult",
    "SrmResult",
    "analyze",
    "assign",
    "assign_frame",
    "conclusion",
    "load_experiment",
    "mde_means",
    "mde_proportions",
    "msprt_means",
    "msprt_proportions",
    "plan_proportions",
    "power_means",
    "power_proportions",
    "sample_size_means",
    "sample_size_proportions",
    "srm_test",
]
