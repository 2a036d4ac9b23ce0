"""Helpers of the ops tests: locating the tools, free ports and real service processes."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
OPS = REPO_ROOT / "ops"
VENV_BIN = Path(sys.executable).parent

# Debian names first (apt packages prometheus, prometheus-pushgateway, prometheus-alertmanager).
BINARIES = {
    "prometheus": ("prometheus",),
    "promtool": ("promtool",),
    "pushgateway": ("prometheus-pushgateway", "pushgateway"),
    "alertmanager": ("prometheus-alertmanager", "alertmanager"),
    "amtool": ("amtool",),
}
APT_HINT = ("apt-get install --no-install-recommends prometheus prometheus-pushgateway "
            "prometheus-alertmanager (.ci/run does)")


def _tool(name: str) -> str:
    """Path of a Prometheus-stack binary; skip the test (only) when it is not installed."""
    for candidate in BINARIES[name]:
        found = shutil.which(candidate)
        if found:
            return found
    pytest.skip(f"{'/'.join(BINARIES[name])} not installed: {APT_HINT}")


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


def _free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Service:
    """A real server process with its log file; :meth:`wait_ready` polls a readiness URL."""

    def __init__(self, name: str, args: list[str], log_dir: Path) -> None:
        self.name = name
        self.log = log_dir / f"{name}.log"
        with open(self.log, "wb") as handle:
            self.process = subprocess.Popen(args, stdout=handle, stderr=subprocess.STDOUT)

    def wait_ready(self, url: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                with urllib.request.urlopen(url, timeout=1):
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.05)
        pytest.fail(f"{self.name} not ready at {url}; log:\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture(scope="session")
def tool() -> Callable[[str], str]:
    """``tool("promtool")``: path of a Prometheus-stack binary, or skip when not installed."""
    return _tool


@pytest.fixture(scope="session")
def venv_tool() -> Callable[[str], str]:
    """``venv_tool("hadolint")``: a tool from requirements-dev.txt; missing is a failure."""
    return _venv_tool


@pytest.fixture(scope="session")
def run_cmd() -> Callable[..., subprocess.CompletedProcess]:
    """``run_cmd([...])``: run a command in the repo root and capture its output."""
    return _run


@pytest.fixture(scope="session")
def free_port() -> Callable[[], int]:
    """``free_port()``: a currently unused TCP port on 127.0.0.1."""
    return _free_port


@pytest.fixture(scope="module")
def start_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Service]]:
    """``start_service(name, args)``: start a server process, stopped at module teardown."""
    log_dir = tmp_path_factory.mktemp("service-logs")
    started: list[Service] = []

    def start(name: str, args: list[str]) -> Service:
        service = Service(name, args, log_dir)
        started.append(service)
        return service

    yield start
    for service in reversed(started):
        service.stop()


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
