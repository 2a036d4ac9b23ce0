"""promtool and amtool validate the Prometheus config, the alert rules and Alertmanager."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import yaml

OPS = Path(__file__).resolve().parents[2] / "ops"
RULES = OPS / "prometheus" / "rules" / "recsys.yml"
RULE_TESTS = OPS / "prometheus" / "tests" / "recsys_test.yml"
ALERTMANAGER = OPS / "alertmanager" / "alertmanager.yml"
REQUIRED_ALERTS = {
    "DriftAboveThreshold", "RetrainingFailed", "RetrainingStale", "ChampionMetricRegression",
    "AppLatencyP95High", "AppDown",
}


def test_promtool_checks_config_and_rules(tool: Callable, run_cmd: Callable) -> None:
    promtool = tool("promtool")
    config = run_cmd([promtool, "check", "config", str(OPS / "prometheus" / "prometheus.yml")])
    assert config.returncode == 0, config.stdout + config.stderr
    assert "1 rule files found" in config.stdout + config.stderr
    rules = run_cmd([promtool, "check", "rules", str(RULES)])
    assert rules.returncode == 0, rules.stdout + rules.stderr
    assert f"{len(REQUIRED_ALERTS)} rules found" in rules.stdout + rules.stderr


def test_promtool_unit_tests_of_every_rule_pass(tool: Callable, run_cmd: Callable) -> None:
    result = run_cmd([tool("promtool"), "test", "rules", str(RULE_TESTS)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_rule_has_a_firing_unit_test() -> None:
    rules = yaml.safe_load(RULES.read_text())
    defined = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}
    assert defined == REQUIRED_ALERTS
    tests = yaml.safe_load(RULE_TESTS.read_text())["tests"]
    fired = {case["alertname"] for test in tests for case in test["alert_rule_test"]
             if case["exp_alerts"]}
    quiet = {case["alertname"] for test in tests for case in test["alert_rule_test"]
             if not case["exp_alerts"]}
    assert fired == REQUIRED_ALERTS
    assert quiet == REQUIRED_ALERTS


def test_broken_rule_expectation_fails_promtool(
    tool: Callable, run_cmd: Callable, tmp_path: Path
) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "recsys.yml").write_text(RULES.read_text())
    (tmp_path / "tests").mkdir()
    suite = yaml.safe_load(RULE_TESTS.read_text())
    suite["tests"] = suite["tests"][:1]  # the drift case, with a wrong expected summary
    annotations = suite["tests"][0]["alert_rule_test"][1]["exp_alerts"][0]["exp_annotations"]
    annotations["summary"] = "Data drift on rating_psi: score 0.499"
    (tmp_path / "tests" / "t.yml").write_text(yaml.safe_dump(suite))
    result = run_cmd([tool("promtool"), "test", "rules", str(tmp_path / "tests" / "t.yml")])
    assert result.returncode == 1
    assert "0.499" in result.stdout + result.stderr


def test_amtool_checks_alertmanager_config(tool: Callable, run_cmd: Callable) -> None:
    result = run_cmd([tool("amtool"), "check-config", str(ALERTMANAGER)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 templates" in result.stdout


def test_slack_webhook_is_never_in_the_repo() -> None:
    config = yaml.safe_load(ALERTMANAGER.read_text())
    assert config["global"]["slack_api_url_file"] == "/run/secrets/slack_webhook_url"
    for receiver in config["receivers"]:
        for slack in receiver.get("slack_configs", []):
            assert "api_url" not in slack and "api_url_file" not in slack
    assert "hooks.slack.com" not in ALERTMANAGER.read_text()
