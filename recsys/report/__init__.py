"""The project logbook (``recsys report logbook``) and the step notebooks' runner.

- :mod:`recsys.report.entries`: the hand-written checklist, journal and decisions, typed;
- :mod:`recsys.report.sources`: readers of test results, quality reports, MLflow and git;
- :mod:`recsys.report.proofs`: a proof's status and a measurement's value from those sources;
- :mod:`recsys.report.logbook`: the sections, rendered to Markdown and HTML;
- :mod:`recsys.report.notebooks`: execute and render ``notebooks/*.py``.
"""

from pathlib import Path

__all__ = ["REPO_ROOT", "ENTRIES_DIR", "NOTEBOOKS_DIR"]

REPO_ROOT = Path(__file__).resolve().parents[2]
ENTRIES_DIR = REPO_ROOT / "docs" / "logbook"  # the hand-written sources, and the output
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
