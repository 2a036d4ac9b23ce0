"""The benchmark lab: YAML specs, a runner with MLflow tracking, and reports with figures."""

from recsys.bench.report import evaluate_goals, render_markdown, write_results
from recsys.bench.runner import BenchmarkResult, run_benchmark
from recsys.bench.spec import BenchmarkSpec, load_spec

__all__ = [
    "BenchmarkResult",
    "BenchmarkSpec",
    "evaluate_goals",
    "load_spec",
    "render_markdown",
    "run_benchmark",
    "write_results",
]
