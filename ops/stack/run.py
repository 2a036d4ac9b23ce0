"""``python -m ops.stack``: build, start, check and tear down the whole stack; print a report."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ops.stack import images
from ops.stack.checks import CHECKS, Check, Stack
from ops.stack.commands import Compose, StackError, ensure_daemon
from ops.stack.probes import SlackStandIn

__all__ = ["main", "Result", "STACK_PORTS"]

log = logging.getLogger("ops.stack")

REPO = Path(__file__).resolve().parents[2]
PROJECT = "recsys-stack-test"
APP_IMAGE = "recsys:stack-test"
SPARK_IMAGE = "recsys-spark:stack-test"
# Host ports the stack binds (network_mode: host): app, app metrics, MLflow, PostgreSQL,
# Prometheus, Pushgateway, Alertmanager, the Spark master (RPC, UI) and worker (UI).
STACK_PORTS = (8501, 8000, 5000, 5432, 9090, 9091, 9093, 7077, 8088, 8089)


@dataclass(frozen=True)
class Result:
    """Outcome of one check."""

    name: str
    status: str  # PASS, FAIL or SKIP
    detail: str
    seconds: float


def _mirror() -> Path:
    raw = os.environ.get("RECSYS_DATA_MIRROR", "")
    mirror = Path(raw).resolve() if raw else None
    if mirror is None or not (mirror / "ml-100k").is_dir():
        raise StackError(f"RECSYS_DATA_MIRROR={raw!r} must name a folder holding ml-100k and "
                         "ml-latest-small (e.g. ../shared/data/movielens)")
    return mirror


def _ports_free() -> None:
    taken = []
    for port in STACK_PORTS:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                taken.append(port)
    if taken:
        raise StackError(f"ports {taken} are in use on this machine; the stack needs "
                         f"{list(STACK_PORTS)} (host network): stop what listens there")


def build(figures: dict[str, str], tag: str, cold: bool) -> None:
    """Base images (bootstrap once), then our image ``tag`` cold (optional) and with the cache."""
    bookworm, bootstrap_s = images.bookworm_image()
    figures["bookworm rootfs"] = (f"bootstrapped in {bootstrap_s:.0f} s" if bootstrap_s
                                  else "cached")
    local = images.build_local_images(bookworm)
    figures["local base images build"] = ", ".join(f"{k} {v:.0f} s" for k, v in local.items())
    base = images.TARGETS["python"]
    if cold:
        cold_s = images.build_app_image(tag, base, cached=False)
        figures["app image build, cold"] = f"{cold_s:.0f} s"
    cached_s = images.build_app_image(tag, base, cached=True)
    figures["app image build, cached"] = f"{cached_s:.1f} s"
    spark_s = images.build_app_image(SPARK_IMAGE, base, cached=True, target="spark")
    figures["Spark image build (on the app's layers)"] = f"{spark_s:.0f} s"
    sizes = {name: images.image_size(name)
             for name in (tag, SPARK_IMAGE, *images.TARGETS.values())}
    figures["image sizes"] = ", ".join(f"{name} {size / 1e6:.0f} MB"
                                       for name, size in sizes.items())


def run_checks(stack: Stack, checks: tuple[Check, ...] = CHECKS) -> list[Result]:
    """Run the checks in order; after a failed fatal check the rest are skipped."""
    results: list[Result] = []
    blocked = ""
    for check in checks:
        if blocked:
            results.append(Result(check.name, "SKIP", f"needs: {blocked}", 0.0))
            continue
        log.info("check: %s", check.name)
        start = time.monotonic()
        try:
            detail, status = check.run(stack), "PASS"
        except Exception as error:  # reported; the other checks still run
            detail, status = _explain(error), "FAIL"
            blocked = check.name if check.fatal else ""
        results.append(Result(check.name, status, detail, time.monotonic() - start))
        log.info("%s %s: %s", status, check.name, detail.splitlines()[0] if detail else "")
    return results


def _explain(error: Exception) -> str:
    """A StackError's message; any other error with its type (a library error, a bug)."""
    return str(error) if isinstance(error, StackError) else f"{type(error).__name__}: {error}"


def _diagnose(compose: Compose) -> None:
    """Print the state and recent logs of every service (before the teardown removes them)."""
    print(compose("ps", "-a", timeout=60, check=False).stdout)
    print(compose("logs", "--no-color", "--tail", "60", timeout=120, check=False).stdout)


def exercise(figures: dict[str, str]) -> list[Result]:
    """Start the stack, run every check, and always tear it down (volumes included)."""
    with SlackStandIn() as slack:
        env = {"RECSYS_IMAGE": APP_IMAGE, "RECSYS_SPARK_IMAGE": SPARK_IMAGE,
               "RECSYS_DATA_MIRROR": str(_mirror()),
               "SLACK_WEBHOOK_URL": slack.url, "COMPOSE_PROGRESS": "plain"}
        compose = Compose(PROJECT, (REPO / "docker-compose.yml", REPO / "docker-compose.ci.yml"),
                          env)
        compose("down", "--volumes", "--remove-orphans", timeout=300)  # an aborted earlier run
        stack = Stack(compose, slack, REPO / "test-output" / "stack", figures)
        results: list[Result] = []
        try:
            results = run_checks(stack)
            if any(r.status == "FAIL" for r in results):
                _diagnose(compose)
        finally:
            results += _teardown(compose)
        return results


def _teardown(compose: Compose) -> list[Result]:
    """``down --volumes``; a failure is a failed result (the next run would find ports taken)."""
    start = time.monotonic()
    try:
        compose("down", "--volumes", "--remove-orphans", timeout=300)
    except StackError as error:
        log.error("teardown failed: %s", error)
        return [Result("teardown (compose down --volumes)", "FAIL", str(error),
                       time.monotonic() - start)]
    return []


def report(results: list[Result], figures: dict[str, str]) -> str:
    """The results table and the measured figures, as printed at the end."""
    lines = ["", "== stack test: checks =="]
    for r in results:
        first, *rest = r.detail.splitlines() or [""]
        lines.append(f"{r.status:4s}  {r.name:62s} {r.seconds:6.1f} s  {first}")
        lines += [f"      {line}" for line in rest[:40]]
    lines += ["", "== stack test: figures =="]
    lines += [f"{name:34s} {value}" for name, value in figures.items()]
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ops.stack", description=__doc__)
    parser.add_argument("command", nargs="?", choices=("test", "build"), default="test",
                        help="test: the whole stack test (default); build: only the images, "
                             "ours tagged --tag, for `docker compose -f docker-compose.yml -f "
                             "docker-compose.ci.yml up -d` by hand")
    parser.add_argument("--tag", default="recsys:latest", help="our image's tag (build)")
    parser.add_argument("--no-cold-build", action="store_true",
                        help="test: skip the cold (--no-cache) build of our image")
    return parser


def _test(cold: bool) -> int:
    start = time.monotonic()
    figures: dict[str, str] = {}
    try:
        _mirror()
        _ports_free()
        ensure_daemon()
        build(figures, APP_IMAGE, cold)
        results = exercise(figures)
    except StackError as error:
        results = [Result("build and start", "FAIL", str(error), time.monotonic() - start)]
    figures["stack test wall time"] = f"{(time.monotonic() - start) / 60:.1f} min"
    print(report(results, figures))
    failed = [r.name for r in results if r.status != "PASS"]
    print(f"\n{len(results) - len(failed)}/{len(results)} checks passed"
          + (f"; not passed: {failed}" if failed else ""))
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    """Run the stack test (or only build its images); 0 on success."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    # A CI timeout sends SIGTERM: exit through the `finally` blocks, which tear the stack down.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    if args.command == "test":
        return _test(cold=not args.no_cold_build)
    figures: dict[str, str] = {}
    try:
        ensure_daemon()
        build(figures, args.tag, cold=False)
    except StackError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print("\n".join(f"{name}: {value}" for name, value in figures.items()))
    return 0
