"""Monitoring: Prometheus metrics of the app, pipeline metrics pushed to a Pushgateway, drift.

Import the submodules directly (``recsys.monitoring.metrics`` registers the app's collectors
on import; ``drift`` and ``push`` are pure and side-effect free).
"""

__all__ = ["drift", "metrics", "push"]
