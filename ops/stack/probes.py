"""HTTP probes of the running stack (all on 127.0.0.1) and the local Slack stand-in."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

from prometheus_client.parser import text_string_to_metric_families

from ops.stack.commands import StackError

__all__ = [
    "MLFLOW",
    "APP",
    "APP_METRICS",
    "PROMETHEUS",
    "PUSHGATEWAY",
    "http_get",
    "wait_until",
    "prometheus_query",
    "champion_version",
    "app_samples",
    "SlackStandIn",
]

T = TypeVar("T")

MLFLOW = "http://127.0.0.1:5000"
APP = "http://127.0.0.1:8501"
APP_METRICS = "http://127.0.0.1:8000/metrics"
PROMETHEUS = "http://127.0.0.1:9090"
PUSHGATEWAY = "127.0.0.1:9091"


def http_get(url: str, timeout: float = 10) -> str:
    """The body of a GET; any HTTP or connection failure is a StackError naming the URL."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.read().decode()
    except (urllib.error.URLError, OSError) as error:
        raise StackError(f"GET {url} failed: {error}") from error


def wait_until(probe: Callable[[], T | None], timeout: float, what: str,
               interval: float = 1.0) -> T:
    """Call ``probe`` until it returns a truthy value; the last StackError explains a timeout."""
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while True:
        try:
            value = probe()
            if value:
                return value
        except StackError as error:
            last = str(error)
        if time.monotonic() >= deadline:
            raise StackError(f"{what}: not within {timeout:.0f} s (last: {last})")
        time.sleep(interval)


def prometheus_query(promql: str, at: float | None = None) -> list[dict[str, Any]]:
    """``/api/v1/query`` of the Prometheus container (optionally at a past time)."""
    params = {"query": promql} | ({"time": f"{at:.3f}"} if at is not None else {})
    payload = json.loads(http_get(f"{PROMETHEUS}/api/v1/query?{urllib.parse.urlencode(params)}"))
    if payload.get("status") != "success":
        raise StackError(f"Prometheus refused {promql!r}: {payload}")
    return payload["data"]["result"]


def champion_version(model: str) -> int | None:
    """The version behind ``model``'s ``champion`` alias in the MLflow container, or None."""
    query = urllib.parse.urlencode({"name": model, "alias": "champion"})
    url = f"{MLFLOW}/api/2.0/mlflow/registered-models/alias?{query}"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(json.load(response)["model_version"]["version"])
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return None
        raise StackError(f"GET {url} failed: {error}") from error
    except (urllib.error.URLError, OSError) as error:
        raise StackError(f"GET {url} failed: {error}") from error


def app_samples(name: str) -> list[tuple[dict[str, str], float]]:
    """``(labels, value)`` of every sample called ``name`` on the app's metrics endpoint."""
    families = text_string_to_metric_families(http_get(APP_METRICS))
    return [(s.labels, s.value) for family in families for s in family.samples if s.name == name]


@dataclass
class SlackStandIn:
    """A local HTTP server receiving Slack's incoming-webhook payloads (JSON bodies)."""

    received: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        """The webhook URL Alertmanager posts to (it runs on the host network too)."""
        if self.server is None:
            raise StackError("the Slack stand-in is not started")
        return f"http://127.0.0.1:{self.server.server_port}/services/T0/B0/stack-test"

    def messages(self, alertname: str) -> list[tuple[float, dict[str, Any]]]:
        """``(arrival time, attachment)`` of every message so far about ``alertname``."""
        return [(at, attachment) for at, payload in list(self.received)
                for attachment in payload.get("attachments", [])
                if alertname in attachment.get("title", "")]

    def __enter__(self) -> SlackStandIn:
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received.append((time.time(), json.loads(body or b"{}")))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
