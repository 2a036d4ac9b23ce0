"""The GitHub Actions workflow passes actionlint and does what the release process needs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import yaml

WORKFLOW = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "ci.yml"


def test_actionlint_passes(venv_tool: Callable, run_cmd: Callable) -> None:
    result = run_cmd([venv_tool("actionlint"), str(WORKFLOW)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_broken_workflow(
    venv_tool: Callable, run_cmd: Callable, tmp_path: Path
) -> None:
    broken = tmp_path / ".github" / "workflows" / "ci.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(WORKFLOW.read_text().replace("needs: [test, lint]", "needs: [tests, lint]"))
    result = run_cmd([venv_tool("actionlint"), str(broken)])
    assert result.returncode == 1
    assert "tests" in result.stdout


def test_workflow_tests_lints_and_publishes_on_tags() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    triggers = workflow[True]  # YAML 1.1 reads the key "on" as a boolean
    assert triggers["push"]["tags"] == ["v*"]
    jobs = workflow["jobs"]
    test_steps = " ".join(step.get("run", "") for step in jobs["test"]["steps"])
    assert "bash .ci/run" in test_steps
    lint_steps = " ".join(step.get("run", "") for step in jobs["lint"]["steps"])
    for command in ("make lint", "hadolint Dockerfile", "config -q", "actionlint"):
        assert command in lint_steps
    image = jobs["image"]
    assert image["if"] == "startsWith(github.ref, 'refs/tags/v')"
    steps = {step.get("uses", "").split("@")[0]: step for step in image["steps"]}
    login = steps["docker/login-action"]["with"]
    assert login == {"username": "${{ secrets.DOCKERHUB_USERNAME }}",
                     "password": "${{ secrets.DOCKERHUB_TOKEN }}"}
    tags = steps["docker/metadata-action"]["with"]["tags"]
    assert "type=semver,pattern={{version}}" in tags and "type=sha" in tags
    assert steps["docker/build-push-action"]["with"]["push"] is True
