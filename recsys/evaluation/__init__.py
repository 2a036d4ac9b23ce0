"""The evaluation engine: metrics, significance tests, segments and cost measurements.

Everything here is a pure function over polars frames (or NumPy arrays) returning frames,
dicts or small dataclasses; the benchmark lab, the pipelines and the app build on it.
"""

from recsys.evaluation.cost import Cost, measure, model_size_on_disk, recommend_latency
from recsys.evaluation.metrics import (
    ItemFeatures,
    aggregate,
    average_popularity,
    beyond_accuracy,
    catalog_coverage,
    gini_index,
    intra_list_diversity,
    item_popularity,
    metric_columns,
    novelty,
    ranking_metrics,
    rating_metrics,
    rating_summary,
)
from recsys.evaluation.segments import (
    item_popularity_segments,
    metrics_by_segment,
    tail_share,
    user_activity_segments,
)
from recsys.evaluation.stats import bootstrap_ci, compare_models, holm, significance_matrix

__all__ = [
    "Cost",
    "ItemFeatures",
    "aggregate",
    "average_popularity",
    "beyond_accuracy",
    "bootstrap_ci",
    "catalog_coverage",
    "compare_models",
    "gini_index",
    "holm",
    "intra_list_diversity",
    "item_popularity",
    "item_popularity_segments",
    "measure",
    "metric_columns",
    "metrics_by_segment",
    "model_size_on_disk",
    "novelty",
    "ranking_metrics",
    "rating_metrics",
    "rating_summary",
    "recommend_latency",
    "significance_matrix",
    "tail_share",
    "user_activity_segments",
]
