"""Real services for integration tests: Prometheus-stack binaries, server processes, a fake Slack.

A pytest plugin (registered in ``tests/conftest.py``), shared by ``tests/ops`` and
``tests/pipelines``. ``launch_monitoring`` starts Pushgateway, Alertmanager and Prometheus with
the repo's own configs, rewritten only for 127.0.0.1 ports, 1 s intervals and the webhook file
of a local HTTP server that stands in for Slack.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

OPS = Path(__file__).resolve().parents[1] / "ops"
MONITORING = ("pushgateway", "alertmanager", "prometheus")

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


@dataclass
class FakeSlack:
    """Records every JSON body POSTed to it, with the arrival time."""

    server: ThreadingHTTPServer
    received: list[tuple[float, dict]] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/services/T000/B000/XXXX"


def fake_slack() -> FakeSlack:
    slack: FakeSlack

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            slack.received.append((time.time(), json.loads(body)))
            slack.arrived.set()
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            return

    slack = FakeSlack(ThreadingHTTPServer(("127.0.0.1", 0), Handler))
    threading.Thread(target=slack.server.serve_forever, daemon=True).start()
    return slack


@dataclass
class Stack:
    prometheus: str
    pushgateway: str
    slack: FakeSlack

    def query(self, promql: str) -> list[dict]:
        url = f"{self.prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        with urllib.request.urlopen(url, timeout=5) as response:
            payload = json.load(response)
        assert payload["status"] == "success", payload
        return payload["data"]["result"]

    def wait_for(self, promql: str, timeout: float = 30.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = self.query(promql)
            if result:
                return result
            time.sleep(0.2)
        pytest.fail(f"no data for {promql!r} within {timeout} s")


def alertmanager_config(tmp: Path, slack: FakeSlack) -> Path:
    config = yaml.safe_load((OPS / "alertmanager" / "alertmanager.yml").read_text())
    webhook_file = tmp / "slack_webhook_url"
    webhook_file.write_text(slack.url)
    config["global"]["slack_api_url_file"] = str(webhook_file)
    config["templates"] = [str(OPS / "alertmanager" / "templates" / "*.tmpl")]
    config["route"].update(group_wait="1s", group_interval="1s")
    path = tmp / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def prometheus_config(tmp: Path, ports: dict[str, int]) -> Path:
    config = yaml.safe_load((OPS / "prometheus" / "prometheus.yml").read_text())
    config["global"].update(scrape_interval="1s", evaluation_interval="1s")
    config["rule_files"] = [str(OPS / "prometheus" / "rules" / "*.yml")]
    config["alerting"]["alertmanagers"][0]["static_configs"] = [
        {"targets": [f"127.0.0.1:{ports['alertmanager']}"]}
    ]
    for job in config["scrape_configs"]:
        job["scrape_interval"] = "1s"
        job["static_configs"] = [{"targets": [f"127.0.0.1:{ports[job['job_name']]}"]}]
    path = tmp / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def launch_monitoring(
    start: Callable[[str, list[str]], Service], tmp: Path, slack: FakeSlack, ports: dict[str, int]
) -> Stack:
    """Start Pushgateway, Alertmanager and Prometheus (ports by name, plus every scrape job's)."""
    launches = {
        "pushgateway": [  # Debian's default persists to /var/lib/prometheus: keep it private
            f"--web.listen-address=127.0.0.1:{ports['pushgateway']}",
            f"--persistence.file={tmp / 'pushgateway.data'}",
        ],
        "alertmanager": [
            f"--config.file={alertmanager_config(tmp, slack)}",
            f"--storage.path={tmp / 'alertmanager-data'}",
            f"--web.listen-address=127.0.0.1:{ports['alertmanager']}",
            "--cluster.listen-address=",
        ],
        "prometheus": [
            f"--config.file={prometheus_config(tmp, ports)}",
            f"--storage.tsdb.path={tmp / 'prometheus-data'}",
            f"--web.listen-address=127.0.0.1:{ports['prometheus']}",
        ],
    }
    for name, args in launches.items():
        service = start(name, [_tool(name), *args])
        service.wait_ready(f"http://127.0.0.1:{ports[name]}/-/ready")
    return Stack(f"http://127.0.0.1:{ports['prometheus']}", f"127.0.0.1:{ports['pushgateway']}",
                 slack)
