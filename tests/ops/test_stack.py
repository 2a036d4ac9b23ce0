"""The stack test's files without Docker: local images, the CI override, the runner's logic.

The stack itself runs in ``make stack-test`` (``python -m ops.stack``), a stage of ``.ci/run``.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from ops.stack import images
from ops.stack.checks import CHECKS, SERVICES, Check
from ops.stack.commands import COMPOSE, StackError
from ops.stack.run import STACK_PORTS, Result, _teardown, report, run_checks

REPO_ROOT = Path(__file__).resolve().parents[2]
LOCAL_DOCKERFILE = REPO_ROOT / "ops" / "images" / "Dockerfile"
COMPOSE_FILES = ["-f", "docker-compose.yml", "-f", "docker-compose.ci.yml"]


@pytest.fixture(scope="module")
def ci_config(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The merged default + CI configuration of every service (all profiles), as JSON."""
    mirror = tmp_path_factory.mktemp("mirror")
    result = subprocess.run(
        [str(COMPOSE), *COMPOSE_FILES, "--profile", "grafana", "--profile", "airflow", "config",
         "--format", "json"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
        env={"RECSYS_DATA_MIRROR": str(mirror), "PATH": "/usr/bin:/bin"}, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) | {"mirror": str(mirror)}


def test_local_images_dockerfile_passes_hadolint(venv_tool: Callable, run_cmd: Callable) -> None:
    result = run_cmd([venv_tool("hadolint"), "--config", str(REPO_ROOT / ".hadolint.yaml"),
                      str(LOCAL_DOCKERFILE)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_local_image_is_a_target_and_a_service_image(ci_config: dict) -> None:
    stages = set(re.findall(r"^FROM \S+ AS (\S+)$", LOCAL_DOCKERFILE.read_text(), re.MULTILINE))
    assert set(images.TARGETS) <= stages
    services = ci_config["services"]
    for service in ("postgres", "prometheus", "pushgateway", "alertmanager"):
        assert services[service]["image"] == images.TARGETS[service]
    assert "# syntax=" not in LOCAL_DOCKERFILE.read_text()  # would pull a frontend from Hub


def test_ci_override_puts_every_service_on_the_host_network(ci_config: dict) -> None:
    services = ci_config["services"]
    assert set(SERVICES) | {"grafana", "airflow"} == set(services)
    for name, service in services.items():
        assert service["network_mode"] == "host", name
        assert not service.get("ports") and not service.get("expose"), name
        assert service["healthcheck"]["interval"] == "2s", name


HOST_PORT = re.compile(r"(?:^|//|@)([A-Za-z][\w.-]*):\d+", re.MULTILINE)


def test_every_service_name_in_use_resolves_to_loopback(ci_config: dict) -> None:
    prometheus = yaml.safe_load((REPO_ROOT / "ops" / "prometheus" / "prometheus.yml").read_text())
    targets = [t for job in prometheus["scrape_configs"] for c in job["static_configs"]
               for t in c["targets"]]
    targets += prometheus["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    in_prometheus = set(HOST_PORT.findall("\n".join(targets))) - {"localhost"}
    assert in_prometheus == {"app", "pushgateway", "alertmanager"}
    for name, service in ci_config["services"].items():
        hosts = dict(entry.split("=") for entry in service["extra_hosts"])
        assert set(hosts.values()) == {"127.0.0.1"}, name
        environment = "\n".join(map(str, service.get("environment", {}).values()))
        in_env = set(HOST_PORT.findall(environment))
        assert in_env | in_prometheus <= set(hosts), name


def test_ci_override_mounts_the_mirror_read_only(ci_config: dict) -> None:
    for name in ("app", "trainer", "airflow"):
        service = ci_config["services"][name]
        (mount,) = [v for v in service["volumes"] if v["target"] == "/mirror"]
        assert mount["source"] == ci_config["mirror"] and mount["read_only"] is True
        assert service["environment"]["RECSYS_DATA_MIRROR"] == "/mirror"


def test_ci_override_refuses_to_start_without_a_mirror() -> None:
    result = subprocess.run([str(COMPOSE), *COMPOSE_FILES, "config", "-q"], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=60,
                            env={"PATH": "/usr/bin:/bin"}, check=False)
    assert result.returncode != 0
    assert "set RECSYS_DATA_MIRROR to the MovieLens mirror" in result.stderr


def test_stack_ports_cover_every_published_port() -> None:
    base = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    published = {int(p.split(":")[0]) for name, s in base["services"].items()
                 if name not in ("grafana", "airflow")  # profiles the stack test leaves off
                 for p in s.get("ports", [])}  # the spark profile is its last check
    assert published | {8000, 5432} == set(STACK_PORTS)


def test_postgres_entrypoint_is_valid_sh(run_cmd: Callable) -> None:
    script = REPO_ROOT / "ops" / "images" / "postgres-entrypoint.sh"
    assert script.stat().st_mode & 0o111, "the entrypoint must be executable"
    result = run_cmd(["sh", "-n", str(script)])
    assert result.returncode == 0, result.stderr


def test_pip_setting_reads_the_environment_first() -> None:
    listing = ("global.cert='/etc/ssl/ca.pem'\n:env:.find-links='/opt/wheels /srv/more'\n"
               "global.find-links='/opt/other'\n")
    assert images.pip_setting("find-links", listing) == ["/opt/wheels", "/srv/more", "/opt/other"]
    assert images.pip_setting("cert", listing) == ["/etc/ssl/ca.pem"]
    assert images.pip_setting("index-url", listing) == []


def test_bootstrap_recipe_keeps_security_updates() -> None:
    assert any("bookworm-security" in source for source in images.BOOKWORM_SOURCES)
    assert "--variant=minbase" in images.MMDEBSTRAP_OPTIONS


def _check(name: str, outcome: str | None, fatal: bool = False) -> Check:
    def run(stack: object) -> str:
        if outcome is None:
            raise StackError(f"{name} broke")
        return outcome

    return Check(name, run, fatal)


def test_a_failed_check_is_reported_and_the_next_ones_still_run() -> None:
    results = run_checks(None, (_check("a", None), _check("b", "fine")))  # type: ignore[arg-type]
    assert [(r.name, r.status, r.detail) for r in results] == [
        ("a", "FAIL", "a broke"), ("b", "PASS", "fine")]


def test_a_crashing_check_is_a_failure_with_its_error_type() -> None:
    def crash(stack: object) -> str:
        raise KeyError("champion")

    (result,) = run_checks(None, (Check("crash", crash),))  # type: ignore[arg-type]
    assert (result.status, result.detail) == ("FAIL", "KeyError: 'champion'")


def test_a_failed_fatal_check_skips_the_rest() -> None:
    checks = (_check("up", None, fatal=True), _check("b", "fine"), _check("c", "fine"))
    results = run_checks(None, checks)  # type: ignore[arg-type]
    assert [r.status for r in results] == ["FAIL", "SKIP", "SKIP"]
    assert results[1].detail == "needs: up"


def test_a_failed_teardown_is_a_failed_result() -> None:
    def down(*args: str, **kwargs: object) -> None:
        raise StackError("`docker-compose down` did not finish within 300 s")

    (result,) = _teardown(down)  # type: ignore[arg-type]
    assert result.status == "FAIL" and "did not finish" in result.detail
    assert _teardown(lambda *args, **kwargs: None) == []  # type: ignore[arg-type]


def test_report_lists_every_check_and_figure() -> None:
    results = [Result("up", "PASS", "7 services healthy", 40.0),
               Result("retrain", "FAIL", "exited 2\nerror: boom", 9.5)]
    text = report(results, {"time to healthy (cold volumes)": "40.0 s"})
    assert re.search(r"PASS  up\s+40.0 s  7 services healthy", text)
    assert "      error: boom" in text
    assert "time to healthy (cold volumes)" in text


def test_the_first_check_is_fatal_and_every_issue_check_is_there() -> None:
    assert CHECKS[0].fatal and not any(check.fatal for check in CHECKS[1:])
    names = " ".join(check.name for check in CHECKS)
    for words in ("healthy", "/_stcore/health", "retraining", "MLflow", "champion", "Prometheus",
                  "Slack", "killed trainer", "down + up"):
        assert words in names


def test_ci_runs_the_stack_stage_after_the_tests() -> None:
    ci = (REPO_ROOT / ".ci" / "run").read_text()
    assert ci.index("make test\n") < ci.index("make test-slow") < ci.index("make stack-test")
    assert "docker.io mmdebstrap" in ci
    assert re.search(r"^stack-test: install.*\n\t\$\(PY\) -m ops\.stack$",
                     (REPO_ROOT / "Makefile").read_text(), re.MULTILINE)
