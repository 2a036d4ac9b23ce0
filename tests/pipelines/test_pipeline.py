"""The pipeline in-process on ml-100k with a SQLite MLflow registry: gate, resume, failures."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from pipelines.config import PipelineConfig, RunContext
from pipelines.retrain import build_parser, run_dir_for
from pipelines.runner import STEPS, run_pipeline, run_step
from recsys.errors import ConfigError, DataError, RecsysError
from recsys.registry_gate import CHAMPION
from recsys.settings import Settings


def finished(ctx: RunContext) -> dict[str, float]:
    return {step: ctx.marker(step)["finished_at"] for step in STEPS if ctx.marker(step)}


def test_champion_challenger_sequence(make_context: Callable[..., RunContext]) -> None:
    """random becomes champion; ease beats it and is promoted; most_popular does not beat ease."""
    first = make_context("r1", {"random": {}})
    run_pipeline(first)
    assert first.summary("register") == {
        "registered_model": "recsys-ml-100k", "version": "1", "promoted": True,
        "run_id": first.summary("register")["run_id"],
    }

    better = make_context("r2", {"ease": {"reg": 500.0}})
    run_pipeline(better)
    gate = better.summary("gate")
    assert (gate["challenger"], gate["champion_model"], gate["promote"]) == ("ease", "random", True)
    decision = json.loads((better.run_dir / "gate" / "decision.json").read_text())
    assert decision["p_value"] < 0.05 and decision["mean_diff"] > 0.05
    assert better.summary("register")["version"] == "2"

    worse = make_context("r3", {"most_popular": {}})
    results = run_pipeline(worse)
    assert results["gate"]["champion_model"] == "ease"
    assert not results["gate"]["promote"]
    assert "not significantly better" in results["gate"]["reason"]
    assert results["register"] == {**results["register"], "version": "3", "promoted": False}

    registry = worse.registry()
    champion = registry.champion()
    assert str(champion.version) == "2" and champion.tags["model"] == "ease"
    kept = registry.client.get_model_version("recsys-ml-100k", "3")
    assert kept.tags["gate.promote"] == "False" and kept.aliases == []
    assert registry.load_champion().name == "ease"
    run = registry.client.get_run(kept.run_id)
    assert run.data.tags["gate.reason"].startswith("not significantly better")
    assert {a.path for a in registry.client.list_artifacts(kept.run_id)} >= {
        "model", "decision.json", "drift.json"}

    published = json.loads((worse.run_dir / "publish" / "metrics.json").read_text())
    assert published["status"] and published["data_rows"] == 100_000
    assert set(published["eval_metrics"]) == {"most_popular", CHAMPION}
    assert published["champion_metrics"] == published["eval_metrics"][CHAMPION]
    assert {"topn_churn", "rating_psi"} <= set(published["drift_scores"])


def test_rerun_skips_completed_steps_and_redoes_changed_ones(
    make_context: Callable[..., RunContext],
) -> None:
    ctx = make_context("resume", {"most_popular": {}})
    run_pipeline(ctx, ["ingest", "validate", "split"])
    before = finished(ctx)
    (ctx.run_dir / ".train.abc.tmp").mkdir()  # what a killed attempt leaves behind
    run_pipeline(ctx, ["ingest", "validate", "split", "select", "train"])
    after = finished(ctx)
    after_train_hash = ctx.marker("train")["input_hash"]
    assert {s: after[s] for s in before} == before  # skipped, not redone
    assert not (ctx.run_dir / ".train.abc.tmp").exists()

    changed = RunContext(ctx.run_dir, PipelineConfig.from_mapping(
        ctx.config.to_dict() | {"split": {"test_fraction": 0.3}}), ctx.settings)
    run_step(changed, "split")
    assert finished(changed)["split"] > after["split"]
    with pytest.raises(RecsysError, match="'train' .* is out of date"):
        run_step(changed, "evaluate")
    run_step(changed, "train")
    assert changed.marker("train")["input_hash"] != after_train_hash


def test_validation_errors_fail_the_run_and_keep_the_report(
    make_context: Callable[..., RunContext],
) -> None:
    ctx = make_context("invalid", {"most_popular": {}},
                       validate={"thresholds": {"max_duplicate_pairs": -1}})
    with pytest.raises(DataError, match="fails validation: duplicate_pairs"):
        run_pipeline(ctx)
    assert ctx.marker("validate") is None and ctx.marker("ingest") is not None
    assert "duplicate" in (ctx.run_dir / "validate.failed" / "report.md").read_text()
    with pytest.raises(RecsysError, match="step 'validate' has not completed"):
        run_step(ctx, "split")


def test_config_fails_loudly_on_unknown_keys() -> None:
    with pytest.raises(ConfigError, match="unknown section"):
        PipelineConfig.from_mapping({"dataset": "ml-100k", "models": {"ease": {}}, "gates": {}})
    with pytest.raises(ConfigError, match=r"split: unknown option\(s\) \['test_frac'\] .*valid "
                                          r"options are \['test_fraction', 'valid_fraction'\]"):
        PipelineConfig.from_mapping({"dataset": "x", "models": {"ease": {}},
                                     "split": {"test_frac": 0.1}})
    with pytest.raises(ConfigError, match="at least one model"):
        PipelineConfig.from_mapping({"dataset": "ml-100k"})


@pytest.mark.parametrize(
    ("section", "value", "message"),
    [
        ("split", {"test_fraction": "0.2x"}, r"split.test_fraction: expected float, got str"),
        ("split", {"valid_fraction": 1.5}, r"split.valid_fraction must be in \(0, 1\), got 1.5"),
        ("ingest", {"allow_unverified": "yes"}, r"ingest.allow_unverified: expected bool"),
        ("evaluate", {"relevance_threshold": "four"}, r"relevance_threshold: expected float"),
        ("gate", {"alpha": 2}, r"gate alpha must be in \(0, 1\), got 2"),
        ("gate", {"primary_metric": "ndgc@10"}, r"primary metric must look like 'ndcg@10'"),
        ("validate", {"thresholds": {"max_missing": "x"}}, r"max_missing: expected int"),
        ("drift", {"thresholds": {"nope": 1}}, r"drift.thresholds: unknown key\(s\) \['nope'\]"),
        ("drift", {"thresholds": {"rating_psi": -1}}, r"drift thresholds must be >= 0"),
        ("registry", {"model_name": "recsys-{data}"}, r"the only field it may name is \{dataset\}"),
        ("models", {"eas": {}}, r"Unknown model 'eas'; available models: als"),
        ("models", {"ease": {"reg": "x"}}, r"EASE: parameter reg: expected float, got str 'x'"),
        ("models", ["ease"], r"'models' must be a mapping \(key: value lines\), got list"),
        ("dataset", 5, r"name must be a release name such as 'ml-latest-small', got int 5"),
    ],
)  # fmt: skip
def test_config_values_are_checked_before_any_step(section: str, value: object,
                                                   message: str) -> None:
    base = {"dataset": "ml-100k", "models": {"ease": {}}}
    with pytest.raises(RecsysError, match=message):
        PipelineConfig.from_mapping(base | {section: value}, where="cfg.yaml")


def test_a_missing_or_broken_config_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope.yaml not found: expected a YAML file"):
        PipelineConfig.load(tmp_path / "nope.yaml")
    (tmp_path / "bad.yaml").write_text("a: [b\n")
    with pytest.raises(ConfigError, match=r"bad.yaml is not valid YAML"):
        PipelineConfig.load(tmp_path / "bad.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n")
    with pytest.raises(ConfigError, match=r"list.yaml: the config must be a mapping"):
        PipelineConfig.load(tmp_path / "list.yaml", dataset="ml-100k")


def test_options_before_the_step_are_kept() -> None:
    """``--config X step gate`` used to run with the default config: the subcommand's copy of
    the options reset the ones given before it."""
    args = build_parser().parse_args(["--config", "x.yaml", "--run-dir", "/r", "step", "gate"])
    assert (args.config, args.run_dir, args.name) == (Path("x.yaml"), Path("/r"), "gate")
    args = build_parser().parse_args(["step", "gate", "--config", "y.yaml"])
    assert args.config == Path("y.yaml") and args.run_dir is None


def test_run_dir_is_per_day_and_path_safe() -> None:
    settings = Settings(data_dir=Path("/d"))
    path = run_dir_for(settings, "ml-100k", "manual__2025-01-02T03:04:05+00:00")
    assert path == Path("/d/runs/ml-100k/manual__2025-01-02T03_04_05_00_00")
    assert run_dir_for(settings, "ml-100k", None).parent == Path("/d/runs/ml-100k")


def test_selection_never_reads_the_test_period(make_context: Callable[..., RunContext]) -> None:
    """The challenger is chosen on validation: with the test file gone, select still runs and
    picks the same model; only evaluate (after the choice) needs the test period."""
    ctx = make_context("select", {"most_popular": {}, "ease": {"reg": 500.0}})
    run_pipeline(ctx, ["ingest", "validate", "split"])
    split = ctx.output("split")
    valid_cut = ctx.summary("split")["valid_cut_timestamp"]
    assert valid_cut < ctx.summary("split")["cut_timestamp"]
    (split / "test.parquet").rename(split / "test.parquet.hidden")
    chosen = run_step(ctx, "select")
    assert chosen["challenger"] == "ease"
    assert set(chosen["validation_metrics"]) == {"most_popular", "ease"}
    (split / "test.parquet.hidden").rename(split / "test.parquet")
    run_step(ctx, "train")
    evaluated = run_step(ctx, "evaluate")
    assert evaluated["challenger"] == "ease" and evaluated["selected_on"] == "validation"


def test_engine_setting_is_checked() -> None:
    base = {"dataset": "ml-100k", "models": {"ease": {}}}
    assert PipelineConfig.from_mapping(base).engine == "local"
    assert PipelineConfig.from_mapping(base | {"evaluate": {"engine": "spark"}}).engine == "spark"
    with pytest.raises(ConfigError, match=r"evaluate.engine must be one of \('local', 'spark'\)"):
        PipelineConfig.from_mapping(base | {"evaluate": {"engine": "dask"}})


@pytest.mark.slow
def test_selection_on_spark_scores_as_in_process(make_context: Callable[..., RunContext]) -> None:
    """``evaluate.engine: spark`` selects on metrics computed by Spark: the same numbers."""
    pytest.importorskip("pyspark")
    models = {"most_popular": {}, "peer:spark.als": {"rank": 8, "maxIter": 5,
                                                      "implicitPrefs": True}}
    local = make_context("select-local", models)
    run_pipeline(local, ["ingest", "validate", "split", "select"])
    spark = make_context("select-spark", models, evaluate={"engine": "spark"})
    run_pipeline(spark, ["ingest", "validate", "split", "select"])
    for name in models:
        expected = local.summary("select")["validation_metrics"][name]
        measured = spark.summary("select")["validation_metrics"][name]
        for metric in ("ndcg@10", "precision@10", "recall@10"):
            assert measured[metric] == pytest.approx(expected[metric], abs=1e-9), (name, metric)
