"""Helpers of the ops tests: venv tools, commands, dashboard queries (services: plugin)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
OPS = REPO_ROOT / "ops"
VENV_BIN = Path(sys.executable).parent


def _venv_tool(name: str) -> str:
    """A tool installed from requirements-dev.txt into the venv (hadolint, actionlint)."""
    found = shutil.which(name, path=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if not found:
        pytest.fail(f"{name} missing: pip install -r requirements-dev.txt")
    return found


def _run(
    args: list[str], cwd: Path = REPO_ROOT, timeout: float = 120
) -> subprocess.CompletedProcess:
    """Run a command, capturing text output (the caller asserts on the return code)."""
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          check=False)


@pytest.fixture(scope="session")
def venv_tool() -> Callable[[str], str]:
    """``venv_tool("hadolint")``: a tool from requirements-dev.txt; missing is a failure."""
    return _venv_tool


@pytest.fixture(scope="session")
def run_cmd() -> Callable[..., subprocess.CompletedProcess]:
    """``run_cmd([...])``: run a command in the repo root and capture its output."""
    return _run


def _panel_queries() -> list[tuple[str, str, str]]:
    dashboards = sorted((OPS / "grafana" / "dashboards").glob("*.json"))
    if not dashboards:
        pytest.fail("no dashboards in ops/grafana/dashboards: run ops/grafana/build_dashboards.py")
    queries = []
    for path in dashboards:
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel.get("targets", []):
                queries.append((path.stem, panel["title"], target.get("expr", "")))
    return queries


@pytest.fixture(scope="session")
def panel_queries() -> list[tuple[str, str, str]]:
    """``(dashboard, panel title, PromQL)`` of every target of every committed dashboard."""
    return _panel_queries()
